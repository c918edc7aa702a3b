"""Relative quantification: ΔΔCq (Livak), Pfaffl and qbase+-style normalised quantities.

The recipe (:func:`relative_quantities`), each step one function:

1. :func:`replicate_summary` — technical replicates per sample × target: mean Cq, SD,
   spread, outlier flags; undetermined, NTC and omitted wells kept with a reason.
2. :func:`resolve_efficiencies` — one amplification factor per target (2 for ΔΔCq; a
   number, a table, or the target's standard curve for Pfaffl), with its standard error.
3. log2 relative quantity of each target vs the calibrator (a sample, or the mean of
   control samples): ``log2 RQ = log2(E)·(Cq_cal − Cq)``.
4. normalisation factor = geometric mean of the reference genes' RQ (mean of their log2 RQ);
   ``log2 NRQ = log2 RQ − log2 NF``.
5. error propagation on the log2 scale (Hellemans et al. 2007), including the efficiency
   uncertainty; the reported interval is ± 1 SD, ± 1 SEM or a t-based CI, as asked
   (``error``), and the table says which (``error_kind``).

With ``pairing="well"`` (duplex wells, both genes in the same tube) the difference is taken
per well first (QuantStudio's ΔEqCq; pcr's ``same_tube``). Formulas: ``docs/methods/qpcr.md``.
"""

from __future__ import annotations

import difflib
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from ..errors import InputError

__all__ = [
    "RESULT_COLUMNS",
    "RelQuantResult",
    "replicate_summary",
    "resolve_efficiencies",
    "relative_quantities",
    "delta_cq",
    "relative_standard_curve",
]

LN2 = math.log(2.0)

#: columns of :attr:`RelQuantResult.table`
RESULT_COLUMNS: dict[str, str] = {
    "sample": "sample",
    "target": "target (gene)",
    "role": "target or reference",
    "n": "technical replicates used (wells with a Cq)",
    "cq_mean": "mean Cq of the replicates used",
    "cq_sd": "SD of the replicates' Cq (n − 1)",
    "efficiency": "amplification factor used (2 = 100 %)",
    "log2_rq": "log2 of the normalised relative quantity vs the calibrator",
    "log2_error": "SD, SEM or SE of log2_rq (see error_kind), propagated",
    "df": "Welch–Satterthwaite degrees of freedom of log2_error",
    "rq": "normalised relative quantity (calibrator = 1)",
    "rq_lower": "lower bound: 2^(log2_rq − half-width)",
    "rq_upper": "upper bound: 2^(log2_rq + half-width)",
    "error_kind": "what the bounds are: sd (± 1 SD), sem (± 1 SEM) or ci95 (t interval)",
    "method": "ddct (E = 2) or pfaffl (per-target efficiency)",
    "status": "ok, undetermined, reference_undetermined, calibrator_undetermined",
}


@dataclass(frozen=True)
class RelQuantResult:
    """Result of :func:`relative_quantities`.

    Attributes
    ----------
    table
        One row per sample × target (:data:`RESULT_COLUMNS`), samples and targets in order
        of first appearance.
    replicates
        Per sample × target replicate statistics (:func:`replicate_summary`).
    wells
        Every input well with ``used`` and ``reason``.
    efficiencies
        Per target: ``efficiency``, ``efficiency_se``, ``df``, ``source``.
    excluded
        The wells not used, each with a ``reason``.
    settings
        The options used.
    """

    table: pd.DataFrame
    replicates: pd.DataFrame
    wells: pd.DataFrame
    efficiencies: pd.DataFrame
    excluded: pd.DataFrame
    settings: Mapping[str, object] = field(default_factory=dict)

    def tables(self) -> dict[str, pd.DataFrame]:
        """The result tables by name."""
        return {"relquant": self.table, "replicates": self.replicates,
                "efficiencies": self.efficiencies, "excluded": self.excluded}

    def __repr__(self) -> str:
        s = self.settings
        return (f"RelQuantResult(method={s.get('method')!r}, reference={s.get('reference')!r}, "
                f"calibrator={s.get('calibrator')!r}, {len(self.table)} rows, "
                f"{len(self.excluded)} wells excluded)")


# --------------------------------------------------------------------- 1. replicates
def replicate_summary(wells: pd.DataFrame, *, spread: float = 0.5,
                      drop_outliers: bool = False) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Summarise technical replicates and flag their outliers.

    A group (sample × target, unknown wells) whose Cq range exceeds ``spread`` cycles is
    flagged; with 3 or more replicates, the replicate farthest from the median is named an
    outlier when the others lie within ``spread`` of each other. Outliers are used unless
    ``drop_outliers``.

    Returns
    -------
    (summary, wells)
        ``summary``: ``sample, target, n_wells, n, n_undetermined, cq_mean, cq_sd,
        cq_sem, cq_range, replicate_flag``; ``wells``: the input with ``used``,
        ``outlier`` and ``reason`` ('' when used).
    """
    if not spread > 0:
        raise InputError(f"spread must be positive, got {spread}")
    w = wells.copy()
    task = w["task"] if "task" in w else pd.Series("unknown", index=w.index)
    reason = np.where(task == "ntc", "no-template control",
                      np.where(task == "nrt", "no-RT control",
                               np.where(task == "omit", "omitted in the file",
                                        np.where(task == "standard", "standard well", ""))))
    reason = np.where((reason == "") & w["cq"].isna().to_numpy(), "undetermined Cq", reason)
    w["reason"] = reason
    w["outlier"] = False
    rows = []
    unk = w[task.isin(["unknown"])] if "task" in w else w
    for (sample, target), g in unk.groupby(["sample", "target"], sort=False):
        cq = g["cq"].dropna()
        flag = ""
        rng = float(cq.max() - cq.min()) if len(cq) > 1 else 0.0
        if len(cq) >= 2 and rng > spread:
            flag = f"Cq spread {rng:.2f} > {spread:g} cycles"
            if len(cq) >= 3:
                med = cq.median()
                far: Any = (cq - med).abs().idxmax()
                rest = cq.drop(far)
                if float(rest.max() - rest.min()) <= spread:
                    w.loc[far, "outlier"] = True
                    flag += f"; outlier well {w.loc[far, 'well']} (Cq {cq[far]:.2f})"
                    if drop_outliers:
                        w.loc[far, "reason"] = "replicate outlier"
        n_und = int(g["cq"].isna().sum())
        if n_und and len(cq):
            flag = "; ".join(x for x in (flag, f"{n_und} of {len(g)} undetermined") if x)
        sub = w.loc[g.index]
        used = sub.loc[sub["reason"] == "", "cq"]
        n = len(used)
        sd = float(used.std(ddof=1)) if n > 1 else math.nan
        rows.append({"sample": sample, "target": target, "n_wells": len(g), "n": n,
                     "n_undetermined": n_und,
                     "cq_mean": float(used.mean()) if n else math.nan, "cq_sd": sd,
                     "cq_sem": sd / math.sqrt(n) if n > 1 else math.nan,
                     "cq_range": rng if len(cq) else math.nan, "replicate_flag": flag})
    w["used"] = w["reason"] == ""
    summary = pd.DataFrame(rows, columns=["sample", "target", "n_wells", "n", "n_undetermined",
                                          "cq_mean", "cq_sd", "cq_sem", "cq_range",
                                          "replicate_flag"])
    return summary, w


# --------------------------------------------------------------------- 2. efficiencies
def resolve_efficiencies(wells: pd.DataFrame, targets: Sequence[str], *,
                         efficiency: Any = None, method: str = "pfaffl") -> pd.DataFrame:
    """One amplification factor per target, with its SE and degrees of freedom.

    Parameters
    ----------
    efficiency
        ``None`` (ΔΔCq: 2; Pfaffl: ``"auto"``), a number (all targets), a mapping
        target → E or (E, SE), a table with ``target, efficiency`` [``efficiency_se``,
        ``n`` or ``df``, ``source``], ``"auto"`` (each target's standard curve in ``wells``;
        else the efficiency stored in the file) or ``"stored"`` (as the file says).
    method
        ``ddct`` forces E = 2 with no uncertainty; ``pfaffl`` uses ``efficiency``.

    Returns
    -------
    pandas.DataFrame
        Index ``target``; columns ``efficiency``, ``efficiency_se``, ``df``, ``source``.
    """
    if method not in ("ddct", "pfaffl"):
        raise InputError(f"unknown method {method!r}; use ddct or pfaffl")
    rows: dict[str, tuple[float, float, float, str]] = {}
    if method == "ddct":
        rows = {t: (2.0, 0.0, math.inf, "ddct: E = 2 assumed") for t in targets}
    elif efficiency is None or (isinstance(efficiency, str) and efficiency in ("auto",
                                                                               "stored")):
        mode = "auto" if efficiency is None else efficiency
        curves = None
        if mode == "auto":
            from .stdcurve import standard_curve

            curves = standard_curve(wells).set_index("target")
        stored = (wells.groupby("target", sort=False)["efficiency"].first()
                  if "efficiency" in wells else pd.Series(dtype=float))
        for t in targets:
            if curves is not None and t in curves.index and curves.loc[t, "status"] == "ok":
                c: Any = curves.loc[t]
                rows[t] = (float(c["efficiency"]), float(c["efficiency_se"]),
                           float(c["n"]) - 2, f"standard curve ({int(c['n'])} wells)")
            elif t in stored.index and not math.isnan(float(stored[t])):
                rows[t] = (float(stored[t]), 0.0, math.inf, "stored in the file")
            else:
                raise InputError(f"no efficiency for target {t!r}: the input has no standard "
                                 "curve (standard wells with a quantity) and no stored "
                                 "efficiency for it; give --efficiency 2 or a table")
    elif isinstance(efficiency, (int, float)) and not isinstance(efficiency, bool):
        e = _check_e(float(efficiency), "efficiency")
        rows = {t: (e, 0.0, math.inf, "given") for t in targets}
    elif isinstance(efficiency, pd.DataFrame):
        if "target" not in efficiency or "efficiency" not in efficiency:
            raise InputError("efficiency table needs columns 'target' and 'efficiency'")
        for _, r in efficiency.iterrows():
            se = float(r["efficiency_se"]) if "efficiency_se" in r and pd.notna(
                r["efficiency_se"]) else 0.0
            df = float(r["df"]) if "df" in r and pd.notna(r["df"]) else (
                float(r["n"]) - 2 if "n" in r and pd.notna(r["n"]) else math.inf)
            src = str(r["source"]) if "source" in r and pd.notna(r["source"]) and \
                str(r["source"]) else "given (table)"
            rows[str(r["target"])] = (_check_e(float(r["efficiency"]), f"target {r['target']}"),
                                      se, df, src)
    elif isinstance(efficiency, Mapping):
        for t, v in efficiency.items():
            e, se = (v if isinstance(v, tuple) else (v, 0.0))
            rows[str(t)] = (_check_e(float(e), f"target {t}"), float(se), math.inf, "given")
    else:
        raise InputError(f"efficiency must be 'auto', a number, a mapping or a table, got "
                         f"{efficiency!r}")
    missing = [t for t in targets if t not in rows]
    if missing:
        raise InputError(f"no efficiency given for target(s) {', '.join(map(repr, missing))}")
    out = pd.DataFrame.from_dict({t: rows[t] for t in targets}, orient="index",
                                 columns=["efficiency", "efficiency_se", "df", "source"])
    out.index.name = "target"
    return out


def _check_e(e: float, what: str) -> float:
    if not (1.0 < e <= 3.0) or math.isnan(e):
        raise InputError(f"{what}: efficiency must be an amplification factor between 1 and 3 "
                         f"(2 = 100 %), got {e:g}; percent efficiency p is E = 1 + p/100")
    return e


# --------------------------------------------------------------------- 3–5. the recipe
def relative_quantities(
    wells: pd.DataFrame,
    *,
    reference: str | Sequence[str] | None,
    calibrator: str | None = None,
    controls: Sequence[str] | None = None,
    method: str = "pfaffl",
    efficiency: Any = None,
    efficiency_error: bool = True,
    pairing: str = "separate",
    error: str = "ci",
    level: float = 0.95,
    calibrator_error: bool = True,
    spread: float = 0.5,
    drop_outliers: bool = False,
) -> RelQuantResult:
    """Relative quantities of every target in every sample (see module docstring).

    Parameters
    ----------
    wells
        Well table (:data:`preclin.qpcr.io.WELL_COLUMNS`).
    reference
        Reference gene(s); several are combined by their geometric mean. ``None`` or an
        empty list: no normalisation (ΔCq of each target alone).
    calibrator, controls
        One calibrator sample, or several control samples whose mean Cq (per target) is the
        calibrator. Exactly one of the two.
    method
        ``ddct`` (Livak 2^−ΔΔCq, E = 2) or ``pfaffl`` (per-target efficiency).
    efficiency
        See :func:`resolve_efficiencies`.
    efficiency_error
        Propagate the efficiencies' standard errors (Hellemans 2007).
    pairing
        ``separate`` (means per sample, then differences) or ``well`` (duplex: difference
        per well, then mean and SD over wells).
    error
        ``sd``, ``sem`` or ``ci`` (t interval at ``level`` with Welch–Satterthwaite df).
    calibrator_error
        Add the calibrator's own uncertainty to the other samples' errors (qbase+). pcr and
        QuantStudio leave it out (``False``).
    spread, drop_outliers
        Replicate outlier rule (:func:`replicate_summary`).
    """
    opts = _check_options(method, pairing, error, level)
    refs = [reference] if isinstance(reference, str) else list(reference or [])
    summary, w = replicate_summary(wells, spread=spread, drop_outliers=drop_outliers)
    samples = list(dict.fromkeys(summary["sample"]))
    targets = list(dict.fromkeys(summary["target"]))
    _require_names(refs, targets, "reference gene")
    cal_samples = _calibrator_samples(calibrator, controls, samples)
    eff = resolve_efficiencies(wells, targets, efficiency=efficiency, method=method)
    if not efficiency_error:
        eff = eff.assign(efficiency_se=0.0)
    key = summary.set_index(["sample", "target"])
    var_col = "cq_sd" if error == "sd" else "cq_sem"
    if pairing == "well":
        comp = _paired_components(w, samples, targets, refs, eff, error)
    else:
        comp = _separate_components(key, samples, targets, refs, eff, var_col)
    table = _assemble(comp, key, samples, targets, refs, cal_samples, eff, calibrator_error,
                      opts)
    used_w = w.drop(columns=["used"])
    excluded = used_w[used_w["reason"] != ""].reset_index(drop=True)
    settings = {"reference": refs, "calibrator": calibrator, "controls": list(controls or []),
                "method": method, "pairing": pairing, "error": error, "level": level,
                "calibrator_error": calibrator_error, "efficiency_error": efficiency_error,
                "spread": spread, "drop_outliers": drop_outliers}
    return RelQuantResult(table=table, replicates=summary, wells=w,
                          efficiencies=eff.reset_index(), excluded=excluded,
                          settings=settings)


def _check_options(method: str, pairing: str, error: str, level: float) -> dict[str, Any]:
    if method not in ("ddct", "pfaffl"):
        raise InputError(f"unknown method {method!r}; use ddct or pfaffl")
    if pairing not in ("separate", "well"):
        raise InputError(f"unknown pairing {pairing!r}; use separate or well")
    if error not in ("sd", "sem", "ci"):
        raise InputError(f"unknown error {error!r}; use sd, sem or ci")
    if not 0 < level < 1:
        raise InputError(f"level must be between 0 and 1, got {level}")
    return {"method": method, "error": error, "level": level}


def _require_names(names: Sequence[str], have: Sequence[str], what: str) -> None:
    for n in names:
        if n not in have:
            close = difflib.get_close_matches(n, list(have), n=1)
            hint = f"; did you mean {close[0]!r}?" if close else \
                f" (the data have: {', '.join(map(str, list(have)[:12]))})"
            raise InputError(f"{what} {n!r} is not in the data{hint}")


def _calibrator_samples(calibrator: str | None, controls: Sequence[str] | None,
                        samples: Sequence[str]) -> list[str]:
    if (calibrator is None) == (not controls):
        raise InputError("give either a calibrator sample or a list of control samples")
    cal = [calibrator] if calibrator is not None else list(controls or [])
    _require_names(cal, samples, "calibrator sample")
    return cal


@dataclass
class _Comp:
    """log2-scale building blocks per sample × target (separate) or per sample (paired)."""

    value: dict[tuple[str, str], float]      # b·Cq_mean (EqCq mean)
    var: dict[tuple[str, str], float]        # variance of value (sd² or sem²)
    df: dict[tuple[str, str], float]
    paired: bool


def _separate_components(key: pd.DataFrame, samples: list[str], targets: list[str],
                         refs: list[str], eff: pd.DataFrame, var_col: str) -> _Comp:
    val, var, dfs = {}, {}, {}
    for s in samples:
        for t in targets:
            if (s, t) not in key.index:
                continue
            r: Any = key.loc[(s, t)]
            b = math.log2(float(eff["efficiency"].to_dict()[t]))
            val[(s, t)] = b * float(r["cq_mean"])
            v = float(r[var_col])
            var[(s, t)] = b * b * v * v
            dfs[(s, t)] = float(r["n"]) - 1
    return _Comp(val, var, dfs, paired=False)


def _paired_components(w: pd.DataFrame, samples: list[str], targets: list[str],
                       refs: list[str], eff: pd.DataFrame, error: str) -> _Comp:
    """Per well: EqCq(target) − mean EqCq(references); then mean/SD per sample."""
    use = w[w["used"]]
    e_tab: dict[Any, Any] = eff.to_dict(orient="index")
    b = {t: math.log2(float(e_tab[t]["efficiency"])) for t in targets}
    piv = use.assign(eq=use["cq"] * use["target"].map(b)).pivot_table(
        index=["sample", "well"], columns="target", values="eq", aggfunc="mean", sort=False)
    val, var, dfs = {}, {}, {}
    ref_eq = piv[refs].mean(axis=1, skipna=False) if refs else 0.0
    for t in targets:
        if t not in piv:
            continue
        d = (piv[t] - ref_eq) if t not in refs else piv[t]
        for s in samples:
            if s not in d.index.get_level_values(0):
                continue
            x = d.loc[s].dropna()
            n = len(x)
            if n == 0:
                continue
            sd = float(x.std(ddof=1)) if n > 1 else math.nan
            v = sd if error == "sd" else sd / math.sqrt(n)
            val[(s, t)] = float(x.mean())
            var[(s, t)] = v * v
            dfs[(s, t)] = n - 1.0
    return _Comp(val, var, dfs, paired=True)


def _assemble(comp: _Comp, key: pd.DataFrame, samples: list[str], targets: list[str],
              refs: list[str], cal: list[str], eff: pd.DataFrame, calibrator_error: bool,
              opts: dict[str, Any]) -> pd.DataFrame:
    from scipy import stats

    rows = []
    e_tab: dict[Any, Any] = eff.to_dict(orient="index")
    b = {t: math.log2(float(e_tab[t]["efficiency"])) for t in targets}
    vb = {t: (float(e_tab[t]["efficiency_se"]) / (float(e_tab[t]["efficiency"]) * LN2)) ** 2
          for t in targets}
    dfb = {t: float(e_tab[t]["df"]) for t in targets}
    cq = {st: float(v) for st, v in key["cq_mean"].items()}

    def cal_value(t: str) -> tuple[float, float, float]:
        vals = [comp.value.get((c, t), math.nan) for c in cal]
        vs = [comp.var.get((c, t), math.nan) for c in cal]
        m = len(cal)
        v = float(np.sum(vs)) / (m * m)
        df = _satterthwaite([x / (m * m) for x in vs], [comp.df.get((c, t), 0) for c in cal])
        return float(np.mean(vals)), v, df

    def cal_cq(t: str) -> float:
        return float(np.mean([cq.get((c, t), math.nan) for c in cal]))

    for s in samples:
        is_cal = s in cal and len(cal) == 1
        for t in targets:
            if (s, t) not in key.index:
                continue
            role = "reference" if t in refs else "target"
            status = "ok"
            # log2 NRQ = −[(value_s − value_cal)] for the target, + mean over references
            val_s = comp.value.get((s, t), math.nan)
            c_val, c_var, c_df = cal_value(t)
            log2 = -(val_s - c_val)
            comps_v = [comp.var.get((s, t), math.nan)]
            comps_df = [comp.df.get((s, t), 0.0)]
            if calibrator_error and not is_cal:
                comps_v.append(c_var)
                comps_df.append(c_df)
            eff_terms: list[tuple[str, float]] = [(t, 1.0)]
            if refs and t not in refs:
                if not comp.paired:
                    rv, rvar, rdf = [], [], []
                    for r in refs:
                        v_sr = comp.value.get((s, r), math.nan)
                        rc, rcv, rcdf = cal_value(r)
                        rv.append(-(v_sr - rc))
                        rvar.append(comp.var.get((s, r), math.nan) / len(refs) ** 2)
                        rdf.append(comp.df.get((s, r), 0.0))
                        if calibrator_error and not is_cal:
                            rvar.append(rcv / len(refs) ** 2)
                            rdf.append(rcdf)
                    log2 -= float(np.mean(rv))
                    comps_v += rvar
                    comps_df += rdf
                eff_terms += [(r, -1.0 / len(refs)) for r in refs]
            # efficiency uncertainty: ∂log2/∂b_t = Cq_cal − Cq_s (per gene, weighted)
            for g, wgt in eff_terms:
                d = cal_cq(g) - cq.get((s, g), math.nan)
                if vb[g] > 0:
                    comps_v.append((wgt * d) ** 2 * vb[g])
                    comps_df.append(dfb[g])
            if math.isnan(cq.get((s, t), math.nan)):
                status = "undetermined"
            elif refs and t not in refs and any(math.isnan(cq.get((s, r), math.nan))
                                                for r in refs):
                status = "reference_undetermined"
            elif any(math.isnan(cq.get((c, t), math.nan)) for c in cal):
                status = "calibrator_undetermined"
            var = float(np.sum(comps_v))
            err = math.sqrt(var) if var >= 0 else math.nan
            df = _satterthwaite(comps_v, comps_df)
            if opts["error"] == "ci":
                half = float(stats.t.ppf(0.5 + opts["level"] / 2, df)) * err \
                    if df > 0 and not math.isnan(df) else math.nan
            else:
                half = err
            krow: Any = key.loc[(s, t)]
            rows.append({"sample": s, "target": t, "role": role, "n": int(krow["n"]),
                         "cq_mean": float(krow["cq_mean"]), "cq_sd": float(krow["cq_sd"]),
                         "efficiency": 2.0 ** b[t], "log2_rq": log2, "log2_error": err,
                         "df": df, "rq": 2.0**log2, "rq_lower": 2.0 ** (log2 - half),
                         "rq_upper": 2.0 ** (log2 + half),
                         "error_kind": {"sd": "sd", "sem": "sem",
                                        "ci": f"ci{round(opts['level'] * 100):d}"}[
                                            opts["error"]],
                         "method": opts["method"], "status": status})
    return pd.DataFrame(rows, columns=list(RESULT_COLUMNS))


def _satterthwaite(v: Sequence[float], df: Sequence[float]) -> float:
    """Welch–Satterthwaite df of a sum of variances (components with df ≤ 0 → NaN)."""
    v = [float(x) for x in v]
    if any(math.isnan(x) for x in v):
        return math.nan
    tot = sum(v)
    if tot == 0:
        return math.inf
    den = 0.0
    for x, d in zip(v, df, strict=True):
        if x == 0:
            continue
        if d <= 0 or math.isnan(d):
            return math.nan
        if math.isinf(d):
            continue
        den += x * x / d
    return math.inf if den == 0 else tot * tot / den


# --------------------------------------------------------------------- helpers for tests
def delta_cq(wells: pd.DataFrame, *, reference: str | Sequence[str],
             efficiency: Mapping[str, float] | float = 2.0, by: str = "well") -> pd.DataFrame:
    """ΔCq = log2(E_t)·Cq_t − mean_r log2(E_r)·Cq_r (in cycles at E = 2) per well or sample.

    ``by="well"`` pairs the genes within a well (duplex, or a row of a wide table turned
    long); ``by="sample"`` uses the mean Cq per sample and target. The result
    (``sample``, [``well``,] ``target``, ``delta_cq``) is what group comparisons take
    (e.g. ``preclin.stats.welch``); lower ΔCq = more expression.
    """
    refs = [reference] if isinstance(reference, str) else list(reference)
    use = wells[wells["cq"].notna() & (wells.get("task", "unknown") == "unknown")]
    targets = list(dict.fromkeys(use["target"]))
    _require_names(refs, targets, "reference gene")
    e = efficiency if isinstance(efficiency, Mapping) else {t: float(efficiency)
                                                            for t in targets}
    eq = use.assign(eq=use["cq"] * use["target"].map(lambda t: math.log2(e[t])))
    idx = ["sample", "well"] if by == "well" else ["sample"]
    if by not in ("well", "sample"):
        raise InputError(f"by must be 'well' or 'sample', got {by!r}")
    piv = eq.pivot_table(index=idx, columns="target", values="eq", aggfunc="mean", sort=False)
    ref = piv[refs].mean(axis=1, skipna=False)
    out = []
    for t in targets:
        if t in refs:
            continue
        d = (piv[t] - ref).rename("delta_cq").reset_index()
        out.append(d.assign(target=t))
    if not out:
        raise InputError("no target other than the reference gene(s)")
    res = pd.concat(out, ignore_index=True)
    return res[[*idx, "target", "delta_cq"]]


def relative_standard_curve(wells: pd.DataFrame, curves: pd.DataFrame, *, target: str,
                            reference: str, calibrator: str,
                            pairing: str = "separate") -> pd.DataFrame:
    """Relative standard-curve method: quantities off each gene's curve, target/reference.

    ``separate``: normalized = mean(target quantity)/mean(reference quantity) per sample,
    error = normalized·√(CV_t² + CV_r²); ``well``: the ratio per well, its mean and SD.
    ``calibrated`` = normalized / normalized(calibrator). Returns ``sample, normalized,
    error, calibrated``.
    """
    from .stdcurve import quantify

    q = quantify(wells[wells["cq"].notna()], curves)
    rows = []
    for s, g in q.groupby("sample", sort=False):
        a = g[g["target"] == target]
        r = g[g["target"] == reference]
        if pairing == "well":
            m = a.merge(r, on="well", suffixes=("_t", "_r"))
            ratio = m["quantity_estimate_t"] / m["quantity_estimate_r"]
            norm, err = float(ratio.mean()), float(ratio.std(ddof=1))
        else:
            qa, qr = a["quantity_estimate"], r["quantity_estimate"]
            norm = float(qa.mean() / qr.mean())
            cv = (qa.std(ddof=1) / qa.mean()) ** 2 + (qr.std(ddof=1) / qr.mean()) ** 2
            err = norm * math.sqrt(float(cv))
        rows.append({"sample": s, "normalized": norm, "error": err})
    out = pd.DataFrame(rows)
    _require_names([calibrator], list(out["sample"]), "calibrator sample")
    base = float(out.loc[out["sample"] == calibrator, "normalized"].iloc[0])
    return out.assign(calibrated=out["normalized"] / base)
