"""Stromal chemoprotection: the same cells treated alone and on stroma (co-culture).

The seed study measured apoptosis of CD33+ AML cells treated with AraC + idarubicin
alone (80–95 % death) and on bone-marrow stromal cells (BM-MSC; 40–50 %), and asked
whether lenalidomide weakens that protection. :func:`chemoprotection` answers, for every
treatment and group, with paired comparisons across biological replicates (donors):

* **difference** — percentage points of apoptosis prevented by stroma,
  ``D = A_alone − A_stroma`` (viability: ``V_stroma − V_alone``); paired t test (or
  Wilcoxon signed-rank) of alone vs stroma;
* **ratio** — ``A_stroma / A_alone`` (viability: ``V_stroma / V_alone``), geometric mean
  with a t interval on the log scale;
* **protection index** — the fraction of the *treatment-induced* apoptosis prevented by
  stroma, ``PI = 1 − (A_stroma − A0_stroma) / (A_alone − A0_alone)`` with ``A0`` the
  vehicle of the same replicate and condition (viability: induced death ``V0 − V``).
  ``PI = 0``: no protection; ``1``: complete protection; ``< 0``: stroma sensitises;

and, for pairs of treatments that differ by one added drug (AraC+Ida vs
AraC+Ida+lenalidomide), the **interaction** of an OLS model
``response ~ treatment × stroma + replicate`` (0/1 dummy coding, replicate as a block):
does the added drug reduce the protection? Every row carries its ``question``.
Formulas: ``docs/methods/factorial-and-chemoprotection.md``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import numpy as np
import pandas as pd
from scipy import stats as st

from ..errors import InputError
from ..stats import stars
from .factorial import (
    block_dummies,
    check_range,
    no_missing_keys,
    numeric_response,
    ols,
    require,
    t_summary,
)

__all__ = [
    "ProtectionResult",
    "chemoprotection",
    "PROTECTION_COLUMNS",
    "INTERACTION_COLUMNS",
    "MEASURES",
]

_ROW_OFFSET = 2

#: measures of protection and their definitions (apoptosis wording)
MEASURES: dict[str, str] = {
    "difference": "A_alone − A_stroma: percentage points of apoptosis prevented by stroma "
    "(viability: V_stroma − V_alone)",
    "ratio": "A_stroma / A_alone (viability: V_stroma / V_alone); geometric mean over "
    "replicates, CI and test on the log scale",
    "protection_index": "PI = 1 − (A_stroma − A0_stroma)/(A_alone − A0_alone), A0 = vehicle "
    "of the same replicate and condition: fraction of the treatment-induced apoptosis "
    "prevented by stroma (viability: induced death V0 − V)",
}

#: columns of :attr:`ProtectionResult.table` (after the ``by`` columns)
PROTECTION_COLUMNS: dict[str, str] = {
    "treatment": "the treatment",
    "measure": "'difference', 'ratio' or 'protection_index' (see MEASURES)",
    "definition": "formula of the measure",
    "question": "the question the row answers, in words",
    "n": "replicates with both conditions (and the vehicle for the protection index)",
    "mean_alone": "mean response alone",
    "sem_alone": "its standard error",
    "mean_stroma": "mean response on stroma",
    "sem_stroma": "its standard error",
    "estimate": "mean of the per-replicate measure (ratio: geometric mean)",
    "sem": "standard error of the per-replicate measure (ratio: of its log)",
    "ci_low": "lower bound of the (1 − alpha) confidence interval",
    "ci_high": "upper bound",
    "ci_method": "'t' or 'bootstrap (percentile, n_boot, seed)'",
    "test": "paired test used (t on differences, log ratios or PI against 0; or Wilcoxon)",
    "statistic": "test statistic",
    "p": "two-sided p value",
    "stars": "ns, * ≤ 0.05, ** ≤ 0.01, *** ≤ 0.001, **** ≤ 0.0001 (of the full-precision p)",
    "verdict": "plain-language reading at level alpha",
    "note": "warnings",
}

#: columns of :attr:`ProtectionResult.interaction` (after the ``by`` columns)
INTERACTION_COLUMNS: dict[str, str] = {
    "base": "treatment without the added drug (e.g. 'AraC+Ida' or the vehicle)",
    "with": "the same treatment with the added drug",
    "added": "the added drug",
    "question": "the question the row answers, in words",
    "n": "replicates with all four cells (base/with × alone/stroma)",
    "protection_base": "mean protection (difference) under 'base'",
    "protection_with": "mean protection (difference) under 'with'",
    "protection_change": "protection_with − protection_base (< 0: the drug reduces protection)",
    "ci_low": "lower bound of its (1 − alpha) confidence interval",
    "ci_high": "upper bound",
    "fraction_removed": "−protection_change / protection_base",
    "pi_base": "mean protection index under 'base'",
    "pi_with": "mean protection index under 'with'",
    "interaction": "OLS interaction coefficient (treatment × stroma) on the response scale",
    "se": "its standard error",
    "t": "t statistic",
    "df": "residual degrees of freedom",
    "p": "two-sided p value",
    "stars": "significance stars",
    "verdict": "plain-language reading at level alpha",
    "model": "the model fitted",
    "note": "warnings",
}

ResponseKind = Literal["apoptosis", "viability"]
TestName = Literal["t", "wilcoxon"]
CIMethod = Literal["t", "bootstrap"]


@dataclass
class ProtectionResult:
    """What :func:`chemoprotection` found.

    Attributes
    ----------
    table
        Protection per group × treatment × measure (:data:`PROTECTION_COLUMNS`).
    interaction
        Does an added drug change protection? One row per group × treatment pair
        (:data:`INTERACTION_COLUMNS`).
    pairs
        Per replicate: ``by`` columns, ``treatment``, ``replicate``, ``alone``, ``stroma``,
        ``vehicle_alone``, ``vehicle_stroma``, ``difference``, ``ratio``,
        ``protection_index``.
    cells
        Means per ``by`` × treatment × condition × replicate: ``response``, ``n_rows``.
    excluded
        Rows or replicates left out, with ``row`` / ``replicate`` and ``reason``.
    """

    table: pd.DataFrame
    interaction: pd.DataFrame
    pairs: pd.DataFrame
    cells: pd.DataFrame
    excluded: pd.DataFrame
    response: str
    response_kind: str
    by: list[str]
    replicate: str
    treatments: list[str]
    alone: str
    stroma: str
    vehicle: str | None
    alpha: float = 0.05
    notes: list[str] = field(default_factory=list)

    def sentences(self) -> list[str]:
        """Plain-language answers for reports: protection (difference) and interactions."""
        out: list[str] = []
        unit = "points of apoptosis" if self.response_kind == "apoptosis" else "points"
        for _, r in self.table.iterrows():
            if r["measure"] not in ("difference", "protection_index"):
                continue
            g = ", ".join(f"{b}={r[b]}" for b in self.by)
            prefix = f"{g}: " if g else ""
            ptxt = f"p = {_fmt_p(r['p'])} {r['stars']}" if np.isfinite(r["p"]) else "not tested"
            if r["measure"] == "difference":
                out.append(
                    f"{prefix}{r['treatment']}: {r['mean_alone']:.1f}% alone vs "
                    f"{r['mean_stroma']:.1f}% on stroma; protection {r['estimate']:.1f} {unit} "
                    f"(95% CI {r['ci_low']:.1f} to {r['ci_high']:.1f}), {ptxt}: {r['verdict']}."
                )
            elif np.isfinite(r["estimate"]):
                out.append(
                    f"{prefix}{r['treatment']}: stroma prevents {100 * r['estimate']:.0f}% "
                    f"(95% CI {100 * r['ci_low']:.0f} to {100 * r['ci_high']:.0f}%) of the "
                    f"response the treatment induces alone (protection index "
                    f"{r['estimate']:.2f})."
                )
        for _, r in self.interaction.iterrows():
            g = ", ".join(f"{b}={r[b]}" for b in self.by)
            prefix = f"{g}: " if g else ""
            ptxt = f"p = {_fmt_p(r['p'])} {r['stars']}" if np.isfinite(r["p"]) else "not tested"
            out.append(
                f"{prefix}{r['question']} Protection {r['protection_base']:.1f} → "
                f"{r['protection_with']:.1f} {unit} (change {r['protection_change']:+.1f}, 95% CI "
                f"{r['ci_low']:.1f} to {r['ci_high']:.1f}), interaction {ptxt}: {r['verdict']}."
            )
        return out


def _fmt_p(p: float) -> str:
    return "<0.0001" if p < 1e-4 else f"{p:.2g}"


def _components(name: str) -> frozenset[str]:
    return frozenset(p.strip().casefold() for p in str(name).split("+") if p.strip())


def _summarise(
    values: np.ndarray,
    *,
    log: bool,
    test: str,
    ci: str,
    n_boot: int,
    rng_seed: list[int],
    alpha: float,
) -> dict[str, Any]:
    """Estimate, SEM, CI and test (against 0; on the log scale for ratios)."""
    x = np.asarray(values, dtype=float)
    x = x[np.isfinite(x)]
    note = ""
    if log:
        if np.any(x <= 0):
            note = "ratio ≤ 0 in some replicate: left out"
        x = np.log(x[x > 0])
    s = t_summary(x, alpha)
    note = "; ".join(v for v in (note, s["note"]) if v)
    out = {"n": s["n"], "estimate": s["mean"], "sem": s["sem"], "ci_low": s["ci_low"],
           "ci_high": s["ci_high"], "statistic": s["t"], "p": s["p"],
           "ci_method": f"t ({100 * (1 - alpha):g}%)", "note": note}
    if test == "wilcoxon":
        out["statistic"], out["p"] = np.nan, np.nan
        if s["n"] >= 2 and np.any(x != 0):
            w = st.wilcoxon(x, alternative="two-sided")
            out["statistic"], out["p"] = float(w.statistic), float(w.pvalue)
            if s["n"] < 6:
                out["note"] = "; ".join(v for v in (
                    out["note"], f"Wilcoxon with n = {s['n']}: smallest possible p is "
                    f"{2 / 2 ** s['n']:.3g}") if v)
    if ci == "bootstrap" and s["n"] >= 2:
        rng = np.random.default_rng(rng_seed)
        idx = rng.integers(0, x.size, size=(n_boot, x.size))
        boot = x[idx].mean(axis=1)
        lo, hi = np.quantile(boot, [alpha / 2, 1 - alpha / 2])
        out.update(ci_low=float(lo), ci_high=float(hi),
                   ci_method=f"bootstrap (percentile, n_boot={n_boot}, seed={rng_seed[0]})")
    if log:
        for k in ("estimate", "ci_low", "ci_high"):
            out[k] = float(np.exp(out[k])) if np.isfinite(out[k]) else np.nan
    return out


def chemoprotection(
    table: pd.DataFrame,
    *,
    response: str = "apoptosis",
    condition: str = "stroma",
    treatment: str = "treatment",
    replicate: str = "donor",
    response_kind: ResponseKind = "apoptosis",
    by: Sequence[str] = (),
    alone: str = "alone",
    stroma: str = "stroma",
    vehicle: str | None = "vehicle",
    added: str | Sequence[str] | None = None,
    comparisons: Sequence[tuple[str, str]] | None = None,
    test: TestName = "t",
    ci: CIMethod = "t",
    min_induced: float = 5.0,
    n_boot: int = 2000,
    seed: int = 0,
    alpha: float = 0.05,
    file: str | Path | None = None,
) -> ProtectionResult:
    """Protection of cells by stroma, per treatment, and whether an added drug reduces it.

    Parameters
    ----------
    table
        Long table, one row per sample (well / tube): ``response``, ``condition``,
        ``treatment``, ``replicate`` and the ``by`` columns. Rows of the same group,
        treatment, condition and replicate (technical repeats) are averaged.
    response
        % apoptosis (0–100) or viability.
    condition
        Column saying whether the cells were alone or on stroma; its levels are ``alone``
        and ``stroma`` (matched ignoring case and surrounding spaces).
    treatment
        Treatment column. Combinations are written with ``+`` (``AraC+Ida+lenalidomide``).
    replicate
        Pairing unit (donor, biological replicate): alone and stroma measurements of the
        same replicate are compared.
    response_kind
        ``"apoptosis"`` (higher = more death) or ``"viability"`` (higher = more alive).
    by
        Columns analysed separately (e.g. ``["aml_sample"]``).
    alone, stroma
        The two levels of ``condition``.
    vehicle
        The control treatment (needed for the protection index); ``None`` if there is none.
    added
        Drug(s) whose effect on protection is tested. Each pair ``(T without drug, T)``
        present in the data is compared (the vehicle stands for "nothing"). ``None``: the
        last-written component of every combination whose remainder is itself a treatment
        (``AraC+Ida+lenalidomide`` with ``AraC+Ida`` present → lenalidomide), so name
        combinations "base+added".
    comparisons
        Explicit ``(base, with)`` treatment pairs instead of ``added``.
    test
        ``"t"`` (paired t test; default) or ``"wilcoxon"`` (signed-rank; with n = 3 the
        smallest two-sided p is 0.25).
    ci
        ``"t"`` (default) or ``"bootstrap"`` (percentile, resampling replicates).
    min_induced
        The protection index is only computed when the treatment, alone, induces at
        least this much response beyond the vehicle on average (percentage points);
        below it the index is NaN with a note (a ratio of two small numbers).
    n_boot, seed
        Bootstrap resamples and seed (each row uses the generator ``[seed, row index]``).
    alpha
        Significance level and 1 − confidence level.
    file
        File name used in error messages.

    Returns
    -------
    ProtectionResult
        ``table``, ``interaction``, ``pairs``, ``cells``, ``excluded``.

    Raises
    ------
    InputError
        Missing columns; non-numeric responses (row named); % apoptosis outside 0–100;
        a condition level other than ``alone``/``stroma`` (row named); treatments in
        ``comparisons`` or ``added`` that are not in the table; bad settings.
    """
    if response_kind not in ("apoptosis", "viability"):
        raise InputError(f"unknown response_kind '{response_kind}'; use 'apoptosis' or "
                         "'viability'")
    if test not in ("t", "wilcoxon"):
        raise InputError(f"unknown test '{test}'; use 't' or 'wilcoxon'")
    if ci not in ("t", "bootstrap"):
        raise InputError(f"unknown ci '{ci}'; use 't' or 'bootstrap'")
    if not 0 < alpha < 1:
        raise InputError(f"alpha must be between 0 and 1, got {alpha}")
    if not np.isfinite(min_induced) or min_induced < 0:
        raise InputError(f"min_induced must be a non-negative number, got {min_induced}")
    if ci == "bootstrap" and n_boot < 100:
        raise InputError(f"n_boot must be at least 100, got {n_boot}")
    by = [by] if isinstance(by, str) else list(by)
    require(table, [response, condition, treatment, replicate, *by], file=file)
    if _components(alone) == _components(stroma):
        raise InputError("'alone' and 'stroma' must be different condition levels")
    data = table.reset_index(drop=True)
    no_missing_keys(data, [condition, treatment, replicate, *by], file=file)
    values, blank = numeric_response(data, response, file=file)
    check_range(values, ~blank, response, response_kind, file=file)

    cond = data[condition].map(lambda v: str(v).strip().casefold())
    a_key, s_key = str(alone).strip().casefold(), str(stroma).strip().casefold()
    bad = ~cond.isin([a_key, s_key])
    if bad.any():
        pos = int(np.flatnonzero(bad.to_numpy())[0])
        raise InputError(
            f"condition {data[condition].iloc[pos]!r} in column '{condition}' is neither "
            f"{alone!r} nor {stroma!r} (set alone=/stroma= to your labels)",
            file=file, location=f"row {pos + _ROW_OFFSET}",
        )
    trt = data[treatment].map(lambda v: str(v).strip())
    work = data.loc[:, [*by, replicate]].copy()
    work["_trt"] = trt
    work["_on"] = cond.eq(s_key).astype(int)
    work["_y"] = values
    excluded_rows = [{"row": int(i) + _ROW_OFFSET, "replicate": data[replicate].iloc[i],
                      "reason": "missing response"}
                     for i in np.flatnonzero(blank.to_numpy())]
    work = work.loc[~blank.to_numpy()]

    treatments = list(dict.fromkeys(work["_trt"]))
    veh_name = None
    if vehicle is not None:
        matches = [t for t in treatments if t.casefold() == str(vehicle).strip().casefold()]
        veh_name = matches[0] if matches else None
        if veh_name is not None:
            treatments = [veh_name] + [t for t in treatments if t != veh_name]
    pairs_spec = _pairs(treatments, veh_name, added, comparisons)

    cells = (work.groupby([*by, "_trt", "_on", replicate], sort=False, dropna=False)["_y"]
             .agg(["mean", "size"]).reset_index())
    cells_out = cells.rename(columns={"_trt": "treatment", "mean": "response",
                                      "size": "n_rows"})
    cells_out.insert(len(by) + 1, "condition",
                     np.where(cells_out["_on"] == 1, stroma, alone))
    cells_out = cells_out.drop(columns="_on").rename(columns={replicate: "replicate"})
    cells_out = cells_out[[*by, "treatment", "condition", "replicate", "response", "n_rows"]]

    sign = 1.0 if response_kind == "apoptosis" else -1.0  # harm = sign * response
    groups = cells.groupby(by, sort=False, dropna=False) if by else [((), cells)]
    prot_rows: list[dict[str, Any]] = []
    int_rows: list[dict[str, Any]] = []
    pair_rows: list[dict[str, Any]] = []
    row_counter = 0
    for gkey, sub in groups:
        key = gkey if isinstance(gkey, tuple) else (gkey,)
        gdict = dict(zip(by, key, strict=True))
        group_start = len(prot_rows)
        wide = sub.set_index(["_trt", replicate, "_on"])["mean"].unstack("_on")
        wide = wide.reindex(columns=[0, 1])
        veh = (wide.loc[veh_name] if veh_name is not None and veh_name in
               wide.index.get_level_values(0) else None)
        present = [t for t in treatments if t in wide.index.get_level_values(0)]
        for t in present:
            w = wide.loc[t]
            full = w.dropna()
            for r in w.index[w.isna().any(axis=1)]:
                miss = alone if np.isnan(w.loc[r, 0]) else stroma
                excluded_rows.append({"row": np.nan, "replicate": r,
                                      "reason": f"{_gtxt(gdict)}{t}: no '{miss}' measurement "
                                      "for this replicate (left out of paired analyses)"})
            a = full[0].to_numpy(float)
            s = full[1].to_numpy(float)
            reps = list(full.index)
            if veh is not None:
                v = veh.reindex(reps)
                va, vs = v[0].to_numpy(float), v[1].to_numpy(float)
            else:
                va = vs = np.full(len(reps), np.nan)
            diff = sign * (a - s)
            with np.errstate(divide="ignore", invalid="ignore"):
                ratio = np.where((a > 0) & (s > 0), s / a, np.nan)
                induced_a = sign * (a - va)
                induced_s = sign * (s - vs)
                pi = np.where(induced_a > 0, 1.0 - induced_s / induced_a, np.nan)
            is_veh = t == veh_name
            if is_veh:
                pi = np.full(len(reps), np.nan)
            for i, r in enumerate(reps):
                pr = dict(gdict)
                pr.update(treatment=t, replicate=r, alone=a[i], stroma=s[i],
                          vehicle_alone=va[i], vehicle_stroma=vs[i], difference=diff[i],
                          ratio=ratio[i], protection_index=pi[i])
                pair_rows.append(pr)
            sa, ss = t_summary(a, alpha), t_summary(s, alpha)
            for measure, vals, log in (("difference", diff, False), ("ratio", ratio, True),
                                       ("protection_index", pi, False)):
                summ = _summarise(vals, log=log, test=test, ci=ci, n_boot=n_boot,
                                  rng_seed=[seed, row_counter], alpha=alpha)
                row_counter += 1
                note = summ["note"]
                if measure == "protection_index":
                    if is_veh:
                        note = "not defined for the vehicle"
                    elif veh is None:
                        note = "no vehicle in this group: protection index not computed"
                    else:
                        ind = (float(np.nanmean(induced_a)) if np.isfinite(induced_a).any()
                               else np.nan)
                        n_bad = int(np.sum(~(induced_a > 0)))
                        if not (np.isfinite(ind) and ind >= min_induced):
                            summ.update(n=0, estimate=np.nan, sem=np.nan, ci_low=np.nan,
                                        ci_high=np.nan, statistic=np.nan, p=np.nan)
                            note = (f"{t} alone induces only {ind:.1f} points beyond the "
                                    f"vehicle (< min_induced = {min_induced:g}): protection "
                                    "index not computed")
                        elif n_bad:
                            note = "; ".join(v for v in (
                                f"{n_bad} replicate(s) without treatment-induced effect "
                                "alone: left out", note) if v)
                row = dict(gdict)
                row.update(
                    treatment=t, measure=measure, definition=MEASURES[measure],
                    question=_question(measure, t, is_veh, response_kind),
                    n=summ["n"], mean_alone=sa["mean"], sem_alone=sa["sem"],
                    mean_stroma=ss["mean"], sem_stroma=ss["sem"], estimate=summ["estimate"],
                    sem=summ["sem"], ci_low=summ["ci_low"], ci_high=summ["ci_high"],
                    ci_method=summ["ci_method"], test=_test_name(test, measure),
                    statistic=summ["statistic"], p=summ["p"], stars=stars(summ["p"]),
                    verdict=_verdict(measure, summ["estimate"], summ["p"], alpha),
                    note=note,
                )
                prot_rows.append(row)
        pi_means = {r["treatment"]: r["estimate"] for r in prot_rows[group_start:]
                    if r["measure"] == "protection_index"}
        for base, with_, added_lab in pairs_spec:
            if base not in present or with_ not in present:
                continue
            int_rows.append(_interaction(wide, base, with_, added_lab, gdict, sign, alpha,
                                         response, replicate, veh_name, pi_means,
                                         excluded_rows))

    table_out = pd.DataFrame(prot_rows, columns=[*by, *PROTECTION_COLUMNS])
    inter = pd.DataFrame(int_rows, columns=[*by, *INTERACTION_COLUMNS])
    pairs = pd.DataFrame(pair_rows, columns=[*by, "treatment", "replicate", "alone", "stroma",
                                             "vehicle_alone", "vehicle_stroma", "difference",
                                             "ratio", "protection_index"])
    excluded = pd.DataFrame(excluded_rows, columns=["row", "replicate", "reason"])
    return ProtectionResult(
        table=table_out, interaction=inter, pairs=pairs, cells=cells_out, excluded=excluded,
        response=response, response_kind=response_kind, by=by, replicate=replicate,
        treatments=treatments, alone=alone, stroma=stroma, vehicle=veh_name, alpha=alpha,
        notes=[f"{k}: {v}" for k, v in MEASURES.items()],
    )


def _gtxt(g: dict[str, Any]) -> str:
    return (", ".join(f"{k}={v}" for k, v in g.items()) + ": ") if g else ""


def _test_name(test: str, measure: str) -> str:
    what = {"difference": "alone vs stroma (paired)", "ratio": "log(stroma/alone) vs 0",
            "protection_index": "PI vs 0"}[measure]
    return f"{'paired t' if test == 't' else 'Wilcoxon signed-rank'}: {what}"


def _question(measure: str, t: str, is_veh: bool, kind: str) -> str:
    what = "apoptosis" if kind == "apoptosis" else "death"
    if measure == "difference":
        if is_veh:
            return f"Does stroma change spontaneous {what} (vehicle, alone vs on stroma)?"
        if kind == "apoptosis":
            return f"Does stroma protect the cells from {t} (less apoptosis on stroma than alone)?"
        return f"Does stroma protect the cells from {t} (higher viability on stroma than alone)?"
    if measure == "ratio":
        return f"By what factor does stroma change the response under {t} (stroma / alone)?"
    if is_veh:
        return "Protection index: not defined for the vehicle."
    return f"What fraction of the {what} that {t} induces alone does stroma prevent?"


def _verdict(measure: str, est: float, p: float, alpha: float) -> str:
    if not np.isfinite(p):
        return "not tested"
    if p >= alpha:
        return "no significant difference between alone and stroma"
    if measure == "ratio":
        return ("stroma lowers the response (stroma/alone < 1)" if est < 1
                else "stroma raises the response (stroma/alone > 1)")
    return "stroma protects" if est > 0 else "stroma sensitises"


def _pairs(
    treatments: list[str],
    veh: str | None,
    added: str | Sequence[str] | None,
    comparisons: Sequence[tuple[str, str]] | None,
) -> list[tuple[str, str, str]]:
    """(base, with, added label) treatment pairs for the interaction test."""
    by_comp: dict[frozenset[str], str] = {}
    for t in treatments:
        by_comp.setdefault(frozenset() if t == veh else _components(t), t)
    if comparisons is not None:
        out = []
        for pair in comparisons:
            if len(pair) != 2:
                raise InputError(f"each comparison must be (base, with), got {pair!r}")
            b, w = (str(x).strip() for x in pair)
            for name in (b, w):
                if name not in treatments:
                    raise InputError(f"comparison names treatment '{name}', which is not in "
                                     f"the table (treatments: {', '.join(treatments)})")
            diff = _components(w) - (frozenset() if b == veh else _components(b))
            lab = "+".join(p for p in w.split("+") if p.strip().casefold() in diff) or w
            out.append((b, w, lab.strip()))
        return out
    if added is None:  # the last component of a combination whose rest is a treatment
        cand = []
        for t in treatments:
            parts = [p.strip() for p in t.split("+") if p.strip()]
            if t == veh or len(parts) < 2:
                continue
            last = frozenset([parts[-1].casefold()])
            name = by_comp.get(last, parts[-1])
            if _components(t) - last in by_comp and name not in cand:
                cand.append(name)
    else:
        cand = [added] if isinstance(added, str) else list(added)
        for a in cand:
            if _components(a) not in by_comp:
                raise InputError(f"added drug '{a}' is not a treatment of the table "
                                 f"(treatments: {', '.join(treatments)})")
        cand = [by_comp[_components(a)] for a in cand]
    out = []
    for d in cand:
        dc = _components(d)
        for comp, t in by_comp.items():
            if not dc <= comp:
                continue
            base_c = comp - dc
            if base_c in by_comp and by_comp[base_c] != t:
                out.append((by_comp[base_c], t, d))
    return out


def _interaction(
    wide: pd.DataFrame,
    base: str,
    with_: str,
    added_lab: str,
    gdict: dict[str, Any],
    sign: float,
    alpha: float,
    response: str,
    replicate: str,
    veh_name: str | None,
    pi_means: dict[str, float],
    excluded_rows: list[dict[str, Any]],
) -> dict[str, Any]:
    """OLS ``response ~ treatment * stroma + replicate`` for one (base, with) pair."""
    wb = pd.DataFrame(wide.loc[base])
    ww = pd.DataFrame(wide.loc[with_])
    both = wb.rename(columns={0: "a_b", 1: "s_b"}).join(
        ww.rename(columns={0: "a_w", 1: "s_w"}), how="outer")
    complete = both.notna().all(axis=1).to_numpy()
    reps = list(both.index[complete])
    for r in both.index[~complete]:
        excluded_rows.append({"row": np.nan, "replicate": r,
                              "reason": f"{_gtxt(gdict)}{base} vs {with_}: replicate lacks "
                              "one of the four cells (left out of the interaction model)"})
    vals = both.loc[complete, ["a_b", "s_b", "a_w", "s_w"]].to_numpy(float)  # (n, 4)
    y_a = vals.reshape(-1)
    d_a = np.tile([0.0, 0.0, 1.0, 1.0], len(reps))
    o_a = np.tile([0.0, 1.0, 0.0, 1.0], len(reps))
    blocks = np.repeat(np.arange(len(reps)), 4)
    x = np.column_stack([np.ones_like(y_a), d_a, o_a, d_a * o_a,
                         block_dummies(list(blocks))])
    n = len(reps)
    note = ""
    nan = np.full(4, np.nan)
    fit: dict[str, Any] = {"beta": nan, "se": nan, "t": nan, "p": nan, "ci_low": nan,
                           "ci_high": nan, "df": 0}
    if n >= 1:
        fit = ols(y_a, x, alpha)
    if n < 2 or fit["df"] <= 0:
        note = f"fewer than 2 complete replicates (n = {n}): no test"
    prot_b = sign * (vals[:, 0] - vals[:, 1])
    prot_w = sign * (vals[:, 2] - vals[:, 3])
    beta, se, t, p = (float(fit[k][3]) for k in ("beta", "se", "t", "p"))
    lo, hi = float(fit["ci_low"][3]), float(fit["ci_high"][3])
    df = int(fit["df"])
    # protection = sign * (alone − stroma); interaction = (with_s − with_a) − (base_s − base_a)
    change = -sign * beta
    c_lo, c_hi = sorted((-sign * lo, -sign * hi))
    pb = float(np.mean(prot_b)) if n else np.nan
    pw = float(np.mean(prot_w)) if n else np.nan
    if not np.isfinite(p):
        verdict = "not tested"
    elif p >= alpha:
        verdict = "no significant change in protection"
    else:
        verdict = f"{added_lab} reduces protection" if change < 0 else \
            f"{added_lab} increases protection"
    if base == veh_name:
        question = (f"Does {added_lab} alone (vs {base}) reduce the protection that stroma "
                    "gives (interaction treatment × stroma)?")
    else:
        question = (f"Does adding {added_lab} to {base} reduce the protection that stroma "
                    "gives (interaction treatment × stroma)?")
    row = dict(gdict)
    row.update(
        base=base, added=added_lab, question=question,
        n=n, protection_base=pb, protection_with=pw, protection_change=change,
        ci_low=c_lo, ci_high=c_hi,
        fraction_removed=(-change / pb) if np.isfinite(pb) and pb != 0 else np.nan,
        pi_base=pi_means.get(base, np.nan), pi_with=pi_means.get(with_, np.nan),
        interaction=beta, se=se, t=t, df=df, p=p,
        stars=stars(p), verdict=verdict,
        model=f"{response} ~ treatment * stroma + {replicate} (OLS, 0/1 dummy coding; "
        f"treatment: {base} = 0, {with_} = 1)", note=note,
    )
    row["with"] = with_
    return row
