"""Fixed-dose factorial combination designs (2×2, 2×2×2, ... 2^k).

A fixed-dose experiment such as the seed study's "AraC 77 nM + idarubicin 7 nM ±
lenalidomide 10 µM" is a *factorial* design: every factor is either absent or present at
one concentration, and every combination of the factors is measured in each biological
replicate. It is not a dose matrix, so surface models (Loewe, ZIP) do not apply; the
questions are answered here by

* **Bliss independence** — expected fraction affected of a combination whose components
  act independently, ``E = 1 − Π(1 − E_i)`` (for two agents ``E_a + E_b − E_a·E_b``);
* **highest single agent (HSA)** — the best component, ``max(E_i)``;
* the **excess** ``observed − expected`` computed *within each biological replicate*, its
  mean ± SEM and 95 % t confidence interval, and a one-sample t test of the per-replicate
  excess against 0 (a paired design: observed and expected come from the same replicate);
* a **linear model** of the response with every factor, every interaction and a replicate
  block (ordinary least squares with numpy), whose interaction terms test non-additivity
  on the response scale (``scale="response"``) or — on the log surviving fraction
  (``scale="log_survival"``) — departure from Bliss independence.

Every output row has a ``question`` column saying, in words, which question the number
answers. Formulas and column definitions: ``docs/methods/factorial-and-chemoprotection.md``.

Effect scale (fraction affected, 0 = like the control, 1 = every cell affected):

* ``response_kind="viability"``: ``E = 1 − V / V0`` (``V0`` the all-absent control);
* ``response_kind="inhibition"``: ``E = (I − I0) / (100 − I0)`` (% inhibition);
* ``response_kind="apoptosis"``: ``E = (A − A0) / (100 − A0)``, the fraction of the cells
  that survive the control which the treatment kills (Abbott's correction).
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import numpy as np
import pandas as pd
from scipy import special

from ..errors import InputError
from ..stats import stars

__all__ = [
    "FactorialResult",
    "factorial_effects",
    "RESPONSE_KINDS",
    "EFFECT_COLUMNS",
    "ANOVA_COLUMNS",
    "expected_bliss",
    "expected_hsa",
]

ResponseKind = Literal["viability", "inhibition", "apoptosis"]
Scale = Literal["response", "log_survival"]
Coding = Literal["dummy", "effect"]

#: response kinds and how the fraction affected is computed from them
RESPONSE_KINDS: dict[str, str] = {
    "viability": "fraction affected E = 1 − V/V0 (V0 = all-absent control)",
    "inhibition": "fraction affected E = (I − I0)/(100 − I0) (I0 = all-absent control)",
    "apoptosis": "fraction affected beyond control E = (A − A0)/(100 − A0) "
    "(A0 = all-absent control; Abbott's correction)",
}

#: columns of :attr:`FactorialResult.table` (after the ``by`` columns), with their meaning
EFFECT_COLUMNS: dict[str, str] = {
    "combination": "the combination tested (factor labels joined by '+')",
    "n_factors": "number of factors present in the combination",
    "reference": "'bliss' (independence) or 'hsa' (highest single agent)",
    "components": "what the expectation is built from, separated by ' | '",
    "added": "for 'added' rows: the factor added to the rest of the combination, else ''",
    "question": "the question the row answers, in words",
    "n": "biological replicates used",
    "observed_mean": "mean observed fraction affected of the combination",
    "observed_sem": "its standard error across replicates",
    "expected_mean": "mean expected fraction affected (per-replicate expectation)",
    "expected_sem": "its standard error",
    "excess_mean": "mean of per-replicate (observed − expected); > 0: more than expected",
    "excess_sem": "its standard error",
    "ci_low": "lower bound of the 95 % (1 − alpha) t confidence interval of the excess",
    "ci_high": "upper bound",
    "t": "one-sample t statistic of the per-replicate excess against 0",
    "df": "degrees of freedom (n − 1)",
    "p": "two-sided p value",
    "stars": "ns, * ≤ 0.05, ** ≤ 0.01, *** ≤ 0.001, **** ≤ 0.0001 (of the full-precision p)",
    "verdict": "plain-language reading at level alpha",
    "observed_response": "mean observed response of the combination (response units)",
    "expected_response": "mean expected response on the response scale (e.g. % viability)",
    "effect_scale": "how the fraction affected was computed",
    "note": "warnings (e.g. fewer than 2 replicates: no test)",
}

#: columns of :attr:`FactorialResult.anova` (after the ``by`` columns)
ANOVA_COLUMNS: dict[str, str] = {
    "scale": "'response' (as measured) or 'log_survival' (natural log of surviving %)",
    "term": "model term: a factor or an interaction 'A × B'",
    "order": "1 for main effects, 2 for two-way interactions, ...",
    "question": "the question the row answers, in words",
    "estimate": "contrast. dummy coding: main effect = A − control, interaction = "
    "difference of differences (A×B: AB − A − B + control), with the other factors absent; "
    "effect coding: the same contrasts averaged over the other factors",
    "se": "standard error from the residual variance",
    "ci_low": "lower bound of the (1 − alpha) confidence interval",
    "ci_high": "upper bound",
    "t": "t statistic (estimate / se); F = t² with 1 and df_resid degrees of freedom",
    "df_resid": "residual degrees of freedom of the model",
    "p": "two-sided p value",
    "stars": "significance stars",
    "ratio": "log_survival scale only: exp(estimate), the ratio of surviving fractions "
    "(interaction: observed / Bliss-expected survival; < 1 = more killing than Bliss)",
    "model": "the model fitted",
    "note": "warnings",
}

_ABSENT_WORDS = frozenset(
    {"absent", "-", "−", "no", "none", "0", "false", "off", "without", "vehicle", "untreated",
     "minus", "n", "ctrl", "control", "dmso"}
)
_PRESENT_WORDS = frozenset({"present", "+", "yes", "true", "on", "with", "plus", "y"})
_UNIT_SUFFIX = re.compile(
    r"_(?:[pnuµμm]?M|(?:ng|ug|µg|mg)_?(?:per_)?ml|mg_kg|conc|dose|level)$", re.IGNORECASE
)
_MAX_FACTORS = 6
_ROW_OFFSET = 2  # 0-based position -> row number in a CSV with a header line


@dataclass
class FactorialResult:
    """What :func:`factorial_effects` found.

    Attributes
    ----------
    table
        Bliss and HSA excess, one row per group × combination × reference × added factor
        (columns: the ``by`` columns, then :data:`EFFECT_COLUMNS`).
    anova
        Linear-model terms, one row per group × scale × term (the ``by`` columns, then
        :data:`ANOVA_COLUMNS`).
    replicates
        Per-replicate observed, expected and excess fraction affected: ``by`` columns,
        ``replicate``, ``combination``, ``reference``, ``components``, ``added``,
        ``observed``, ``expected``, ``excess``.
    cells
        Cell means per replicate: ``by`` columns, ``replicate``, ``cell`` (combination
        label or ``"control"``), one presence column per factor (0/1, named after the
        factor column), ``response`` (mean of the rows), ``n_rows``, ``control``
        (the control response used) and ``effect`` (fraction affected).
    levels
        ``factor``, ``label``, ``absent``, ``present``: how each factor was read.
    excluded
        Rows left out, with ``row`` (row number in the file), ``reason``.
    factors, labels, response, response_kind, by, replicate, alpha
        The settings used.
    """

    table: pd.DataFrame
    anova: pd.DataFrame
    replicates: pd.DataFrame
    cells: pd.DataFrame
    levels: pd.DataFrame
    excluded: pd.DataFrame
    factors: list[str]
    labels: list[str]
    response: str
    response_kind: str
    by: list[str]
    replicate: str
    alpha: float = 0.05
    notes: list[str] = field(default_factory=list)

    def sentences(self, *, references: Sequence[str] = ("bliss", "hsa")) -> list[str]:
        """Plain-language answers, one per row of :attr:`table` (for reports).

        Parameters
        ----------
        references
            Which references to describe.

        Returns
        -------
        list of str
        """
        out: list[str] = []
        for _, r in self.table.iterrows():
            if r["reference"] not in references:
                continue
            group = _group_text(self.by, tuple(r[b] for b in self.by))
            prefix = f"{group}: " if group else ""
            ref = "Bliss" if r["reference"] == "bliss" else "HSA"
            test = (
                f"p = {_fmt_p(r['p'])} {r['stars']}" if np.isfinite(r["p"]) else "not tested"
            )
            out.append(
                f"{prefix}{r['question']} Cells affected: {100 * r['observed_mean']:.1f}% "
                f"observed vs {100 * r['expected_mean']:.1f}% expected ({ref}); excess "
                f"{100 * r['excess_mean']:+.1f} points (95% CI {100 * r['ci_low']:.1f} to "
                f"{100 * r['ci_high']:.1f}), {test}: {r['verdict']}."
            )
        return out


# --------------------------------------------------------------------------- helpers
def _fmt_p(p: float) -> str:
    if not np.isfinite(p):
        return "NA"
    return "<0.0001" if p < 1e-4 else f"{p:.2g}"


def _group_text(by: Sequence[str], key: tuple[Any, ...]) -> str:
    return ", ".join(f"{b}={v}" for b, v in zip(by, key, strict=True))


def _label_of(column: str) -> str:
    """Display label of a factor column: the name without a unit suffix (``AraC_nM``)."""
    lab = _UNIT_SUFFIX.sub("", column)
    return lab or column


def _where(by: Sequence[str], key: tuple[Any, ...]) -> str:
    text = _group_text(by, key)
    return f" ({text})" if text else ""


def t_summary(values: np.ndarray, alpha: float = 0.05) -> dict[str, Any]:
    """Mean, SEM, t confidence interval and one-sample t test against 0.

    Parameters
    ----------
    values
        Per-replicate values (non-finite values are left out).
    alpha
        1 − confidence level.

    Returns
    -------
    dict
        ``n``, ``mean``, ``sem``, ``ci_low``, ``ci_high``, ``t``, ``df``, ``p``, ``note``.
    """
    x = np.asarray(values, dtype=float)
    x = x[np.isfinite(x)]
    n = int(x.size)
    out: dict[str, Any] = {"n": n, "mean": float(np.mean(x)) if n else np.nan, "sem": np.nan,
                           "ci_low": np.nan, "ci_high": np.nan, "t": np.nan,
                           "df": max(n - 1, 0), "p": np.nan, "note": ""}
    if n < 2:
        out["note"] = f"fewer than 2 replicates (n = {n}): no SEM, CI or test"
        return out
    sem = float(np.std(x, ddof=1) / math.sqrt(n))
    out["sem"] = sem
    if sem == 0.0 or not np.isfinite(sem):
        out["ci_low"] = out["ci_high"] = out["mean"]
        out["note"] = "no variation across replicates: test undefined"
        return out
    q = float(special.stdtrit(n - 1, 1 - alpha / 2))
    t = out["mean"] / sem
    out.update(ci_low=out["mean"] - q * sem, ci_high=out["mean"] + q * sem, t=t,
               p=float(2 * special.stdtr(n - 1, -abs(t))))
    return out


def ols(y: np.ndarray, x: np.ndarray, alpha: float = 0.05) -> dict[str, Any]:
    """Ordinary least squares with t tests of every coefficient.

    Parameters
    ----------
    y
        Response, shape ``(n,)``.
    x
        Design matrix, shape ``(n, p)`` (include the intercept column).
    alpha
        1 − confidence level of the intervals.

    Returns
    -------
    dict
        ``beta``, ``se``, ``t``, ``p``, ``ci_low``, ``ci_high`` (arrays of length ``p``),
        ``df`` (residual degrees of freedom ``n − rank``), ``rss``, ``rank``. Standard
        errors, tests and intervals are NaN when ``df == 0`` or the design is rank
        deficient.
    """
    y = np.asarray(y, dtype=float)
    x = np.asarray(x, dtype=float)
    beta, _, rank, _ = np.linalg.lstsq(x, y, rcond=None)
    resid = y - x @ beta
    rss = float(resid @ resid)
    df = int(y.size - rank)
    nan = np.full(x.shape[1], np.nan)
    out: dict[str, Any] = {"beta": beta, "se": nan.copy(), "t": nan.copy(), "p": nan.copy(),
                           "ci_low": nan.copy(), "ci_high": nan.copy(), "df": df, "rss": rss,
                           "rank": int(rank)}
    if df <= 0 or rank < x.shape[1]:
        return out
    s2 = rss / df
    cov = s2 * np.linalg.inv(x.T @ x)
    se = np.sqrt(np.clip(np.diag(cov), 0.0, None))
    with np.errstate(divide="ignore", invalid="ignore"):
        t = np.where(se > 0, beta / se, np.nan)
    q = float(special.stdtrit(df, 1 - alpha / 2))
    out.update(se=se, t=t, p=2 * special.stdtr(df, -np.abs(t)), ci_low=beta - q * se,
               ci_high=beta + q * se)
    return out


def block_dummies(blocks: Sequence[Any]) -> np.ndarray:
    """Treatment-coded dummy columns for a block factor (first level = reference).

    Parameters
    ----------
    blocks
        Block label of every observation.

    Returns
    -------
    numpy.ndarray
        Shape ``(n, levels − 1)``.
    """
    levels = list(dict.fromkeys(blocks))
    col = {lv: i for i, lv in enumerate(levels)}
    out = np.zeros((len(blocks), max(len(levels) - 1, 0)))
    for i, b in enumerate(blocks):
        j = col[b]
        if j > 0:
            out[i, j - 1] = 1.0
    return out


def numeric_response(
    table: pd.DataFrame, column: str, *, file: str | Path | None
) -> tuple[pd.Series, pd.Series]:
    """The response as float, and a mask of blank (missing) cells.

    Raises :class:`InputError` naming the first row whose response is text that is not a
    number.
    """
    raw = table[column]
    values = pd.to_numeric(raw, errors="coerce").astype("float64")
    blank = raw.isna() | raw.astype("string").str.strip().fillna("").eq("")
    bad = values.isna() & ~blank
    if bad.any():
        pos = int(np.flatnonzero(bad.to_numpy())[0])
        raise InputError(
            f"response column '{column}' must be numeric but has {raw.iloc[pos]!r}",
            file=file, location=f"row {pos + _ROW_OFFSET}",
        )
    inf = ~np.isfinite(values) & ~blank
    if inf.any():
        pos = int(np.flatnonzero(np.asarray(inf))[0])
        raise InputError(f"response column '{column}' has a non-finite value",
                         file=file, location=f"row {pos + _ROW_OFFSET}")
    return values, blank


def check_range(
    values: pd.Series, ok: pd.Series, column: str, kind: str, *, file: str | Path | None
) -> None:
    """Percentages of apoptosis must lie within 0–100; raise naming the row."""
    if kind != "apoptosis":
        return
    out = ok & ((values < 0) | (values > 100))
    if out.any():
        pos = int(np.flatnonzero(out.to_numpy())[0])
        raise InputError(
            f"'{column}' is % apoptosis and must lie between 0 and 100, but is "
            f"{values.iloc[pos]:g}", file=file, location=f"row {pos + _ROW_OFFSET}",
        )


def require(table: pd.DataFrame, columns: Sequence[str], *, file: str | Path | None) -> None:
    """Raise :class:`InputError` naming every missing column."""
    if not isinstance(table, pd.DataFrame):
        raise InputError(f"expected a table (pandas DataFrame), got {type(table).__name__}",
                         file=file)
    if table.shape[0] == 0:
        raise InputError("the table has no rows", file=file)
    missing = [c for c in columns if c not in table.columns]
    if missing:
        have = ", ".join(map(str, table.columns[:20]))
        raise InputError(
            f"missing column(s) {', '.join(repr(m) for m in missing)}; the table has: {have}",
            file=file,
        )


def no_missing_keys(
    table: pd.DataFrame, columns: Sequence[str], *, file: str | Path | None
) -> None:
    """Grouping/replicate/factor columns must be filled in every row."""
    for c in columns:
        na = table[c].isna()
        if na.any():
            pos = int(np.flatnonzero(na.to_numpy())[0])
            raise InputError(f"column '{c}' is empty", file=file,
                             location=f"row {pos + _ROW_OFFSET}")


def _norm(v: Any) -> str:
    return str(v).strip().casefold()


def _read_factor(
    col: pd.Series, name: str, absent: Any, *, file: str | Path | None
) -> tuple[np.ndarray, Any, Any]:
    """Return (present flags 0/1, absent level, present level) of a two-level factor."""
    num = pd.to_numeric(col, errors="coerce")
    numeric = bool(num.notna().all())
    keys = num.astype(float) if numeric else col.map(_norm)
    levels = list(dict.fromkeys(keys))
    originals = [col.iloc[int(np.flatnonzero((keys == lv).to_numpy())[0])] for lv in levels]
    if len(levels) != 2:
        shown = ", ".join(repr(o) for o in originals[:8])
        raise InputError(
            f"factor '{name}' has {len(levels)} level(s) ({shown}); a 2^k factorial needs "
            "exactly 2 levels per factor (absent and present)",
            file=file, location=f"column '{name}'",
        )
    idx: int | None = None
    if absent is not None:
        want = float(absent) if numeric and _is_number(absent) else _norm(absent)
        matches = [i for i, lv in enumerate(levels) if lv == want]
        if not matches:
            raise InputError(
                f"absent level {absent!r} given for factor '{name}' is not one of its levels "
                f"({originals[0]!r}, {originals[1]!r})", file=file, location=f"column '{name}'",
            )
        idx = matches[0]
    elif numeric:
        zeros = [i for i, lv in enumerate(levels) if lv == 0]
        if len(zeros) == 1:
            idx = zeros[0]
            if levels[1 - idx] < 0:
                raise InputError(
                    f"factor '{name}' has a negative level ({originals[1 - idx]!r}); use 0 "
                    "for absent and the concentration for present",
                    file=file, location=f"column '{name}'",
                )
    else:
        a = [i for i, lv in enumerate(levels) if lv in _ABSENT_WORDS]
        p = [i for i, lv in enumerate(levels) if lv in _PRESENT_WORDS]
        if len(a) == 1:
            idx = a[0]
        elif len(p) == 1:
            idx = 1 - p[0]
    if idx is None:
        raise InputError(
            f"cannot tell which level of factor '{name}' means absent ({originals[0]!r} or "
            f"{originals[1]!r}); use 0 and the concentration, absent/present or -/+, or pass "
            f"absent={{'{name}': ...}}",
            file=file, location=f"column '{name}'",
        )
    flags = (keys != levels[idx]).to_numpy().astype(np.int8)
    return flags, originals[idx], originals[1 - idx]


def _is_number(v: Any) -> bool:
    try:
        float(v)
    except (TypeError, ValueError):
        return False
    return True


def _effect(y: np.ndarray, y0: np.ndarray, kind: str) -> np.ndarray:
    if kind == "viability":
        return 1.0 - y / y0
    return (y - y0) / (100.0 - y0)


def _to_response(e: np.ndarray, y0: np.ndarray, kind: str) -> np.ndarray:
    if kind == "viability":
        return y0 * (1.0 - e)
    return y0 + (100.0 - y0) * e


def _survival(y: np.ndarray, kind: str) -> np.ndarray:
    return y if kind == "viability" else 100.0 - y


def _verdict(reference: str, mean: float, p: float, alpha: float, note: str) -> str:
    if not np.isfinite(p):
        return "not tested" + (f" ({note})" if note else "")
    if p >= alpha:
        return ("consistent with Bliss independence (additive)" if reference == "bliss"
                else "not different from the best component")
    if reference == "bliss":
        return ("more than expected: synergy (Bliss)" if mean > 0
                else "less than expected: antagonism (Bliss)")
    return "better than the best component (HSA)" if mean > 0 else "worse than the best component"


def _join(labels: Sequence[str]) -> str:
    labels = list(labels)
    if len(labels) <= 1:
        return "".join(labels)
    return ", ".join(labels[:-1]) + " and " + labels[-1]


# --------------------------------------------------------------------------- main
def factorial_effects(
    table: pd.DataFrame,
    *,
    factors: Sequence[str],
    response: str = "viability",
    replicate: str = "replicate",
    response_kind: ResponseKind = "viability",
    control: float | None = None,
    by: Sequence[str] = (),
    labels: Mapping[str, str] | None = None,
    absent: Mapping[str, Any] | None = None,
    added: Sequence[str] | str | None = None,
    scales: Sequence[Scale] = ("response", "log_survival"),
    coding: Coding = "dummy",
    alpha: float = 0.05,
    file: str | Path | None = None,
) -> FactorialResult:
    """Bliss and HSA excess of a 2^k fixed-dose factorial, tested across replicates.

    Parameters
    ----------
    table
        Long table, one row per well (or per replicate): the factor columns, the response,
        the replicate column and the ``by`` columns. Rows of the same replicate and cell
        (technical wells) are averaged first.
    factors
        The two-level factor columns (2 to 6), e.g. ``("AraC_nM", "Ida_nM",
        "lenalidomide_uM")``. Levels are 0 / concentration, absent / present, - / +,
        no / yes, or as given in ``absent``.
    response
        The response column.
    replicate
        Biological replicate (experiment, donor): the unit of the tests; every replicate
        must contain every cell of the factorial.
    response_kind
        ``"viability"`` (% or any unit; higher = more alive), ``"inhibition"`` (% of
        cells inhibited) or ``"apoptosis"`` (% apoptotic, 0–100). Sets the fraction
        affected (see the module documentation).
    control
        ``None`` (default): the all-absent cell of each replicate is the control
        (``V0``, ``I0`` or ``A0``). A number: that fixed control value for every replicate
        (e.g. ``100`` for viability already expressed in % of vehicle).
    by
        Columns analysed separately (e.g. ``["cell_line"]``).
    labels
        Display names of the factors (default: the column name without a unit suffix such
        as ``_nM`` / ``_uM``).
    absent
        The absent level of factors whose levels are not self-explanatory.
    added
        Factor column(s) for which "added to the rest" rows are produced in combinations
        of 3 or more factors ("Does lenalidomide add more than expected (Bliss) to
        AraC+Ida?"). ``None``: every factor.
    scales
        Scales of the linear model: ``"response"`` (interaction = non-additivity on the
        measured scale) and/or ``"log_survival"`` (interaction = departure from Bliss).
    coding
        Coding of the linear model. ``"dummy"`` (0/1, default): every term is a *simple*
        contrast with the other factors absent (A × B = AB − A − B + control without C);
        ``"effect"`` (±1/2, classical ANOVA): terms are averaged over the other factors.
        The highest-order interaction is the same in both.
    alpha
        Significance level of the verdicts and 1 − confidence level of the intervals.
    file
        File name used in error messages.

    Returns
    -------
    FactorialResult
        ``table`` (Bliss/HSA excess), ``anova`` (linear-model terms), ``replicates``,
        ``cells``, ``levels``, ``excluded``.

    Raises
    ------
    InputError
        Missing columns; a factor with other than 2 levels or no recognisable absent
        level; non-numeric responses (row named); % apoptosis outside 0–100; a missing
        cell of the factorial (combination, replicate and group named); a control that
        makes the fraction affected undefined.

    Notes
    -----
    With fewer than 2 replicates (or no variation), the test columns are NaN and ``note``
    says why; nothing fails. p values are not adjusted for the number of rows.
    """
    if response_kind not in RESPONSE_KINDS:
        raise InputError(f"unknown response_kind '{response_kind}'; choose from "
                         f"{', '.join(RESPONSE_KINDS)}")
    if isinstance(factors, str):
        factors = [factors]
    factors = list(factors)
    by = [by] if isinstance(by, str) else list(by)
    if len(factors) < 2:
        raise InputError(f"a factorial needs at least 2 factors, got {len(factors)}")
    if len(factors) > _MAX_FACTORS:
        raise InputError(f"at most {_MAX_FACTORS} factors are supported, got {len(factors)}")
    if len(set(factors)) != len(factors):
        raise InputError("a factor is listed twice in 'factors'")
    for sc in scales:
        if sc not in ("response", "log_survival"):
            raise InputError(f"unknown scale '{sc}'; use 'response' or 'log_survival'")
    if coding not in ("dummy", "effect"):
        raise InputError(f"unknown coding '{coding}'; use 'dummy' or 'effect'")
    if not 0 < alpha < 1:
        raise InputError(f"alpha must be between 0 and 1, got {alpha}")
    require(table, [*factors, response, replicate, *by], file=file)
    overlap = set(factors) & ({response, replicate} | set(by))
    if overlap:
        raise InputError(f"column(s) {sorted(overlap)} used both as factor and as "
                         "response/replicate/by")
    labels_map = dict(labels or {})
    unknown = set(labels_map) - set(factors)
    if unknown:
        raise InputError(f"labels given for column(s) that are not factors: {sorted(unknown)}")
    labs = [str(labels_map.get(f, _label_of(f))) for f in factors]
    if len(set(labs)) != len(labs):
        raise InputError(f"factor labels must differ: {labs}")
    added_cols = (list(factors) if added is None
                  else [added] if isinstance(added, str) else list(added))
    bad_added = [a for a in added_cols if a not in factors]
    if bad_added:
        raise InputError(f"'added' names column(s) that are not factors: {bad_added}")

    data = table.reset_index(drop=True)
    no_missing_keys(data, [*factors, replicate, *by], file=file)
    values, blank = numeric_response(data, response, file=file)
    check_range(values, ~blank, response, response_kind, file=file)
    k = len(factors)
    flags = np.zeros((len(data), k), dtype=np.int8)
    level_rows = []
    absent_map = dict(absent or {})
    for j, f in enumerate(factors):
        fl, lo, hi = _read_factor(data[f], f, absent_map.get(f), file=file)
        flags[:, j] = fl
        level_rows.append({"factor": f, "label": labs[j], "absent": lo, "present": hi})
    levels = pd.DataFrame(level_rows)
    excluded = pd.DataFrame({"row": np.flatnonzero(blank.to_numpy()) + _ROW_OFFSET,
                             "reason": "missing response"})
    cell_index = flags.astype(np.int64) @ (1 << np.arange(k))
    work = data.loc[:, [*by, replicate]].copy()
    work["_cell"] = cell_index
    work["_y"] = values
    work = work.loc[~blank.to_numpy()]

    order = sorted(range(1 << k), key=lambda c: (bin(c).count("1"), [
        -((c >> j) & 1) for j in range(k)]))
    names = {c: "+".join(labs[j] for j in range(k) if (c >> j) & 1) or "control"
             for c in range(1 << k)}

    group_cols = [*by, replicate, "_cell"]
    means = (work.groupby(group_cols, sort=False, dropna=False)["_y"]
             .agg(["mean", "size"]).reset_index())
    groups = means.groupby(by, sort=False, dropna=False) if by else [((), means)]

    effect_rows: list[dict[str, Any]] = []
    rep_rows: list[dict[str, Any]] = []
    cell_rows: list[dict[str, Any]] = []
    anova_rows: list[dict[str, Any]] = []
    for gkey, sub in groups:
        key = gkey if isinstance(gkey, tuple) else (gkey,)
        reps = list(dict.fromkeys(sub[replicate]))
        ymat = np.full((len(reps), 1 << k), np.nan)
        nmat = np.zeros((len(reps), 1 << k), dtype=int)
        ri = {r: i for i, r in enumerate(reps)}
        for r, c, m, n in zip(sub[replicate], sub["_cell"], sub["mean"], sub["size"],
                              strict=True):
            ymat[ri[r], int(c)] = m
            nmat[ri[r], int(c)] = n
        _check_complete(ymat, reps, order, names, factors, levels, by, key, replicate, file)
        y0 = ymat[:, 0] if control is None else np.full(len(reps), float(control))
        _check_control(y0, reps, response_kind, by, key, replicate, control, file)
        emat = _effect(ymat, y0[:, None], response_kind)
        for i, r in enumerate(reps):
            for c in order:
                row = dict(zip(by, key, strict=True))
                row.update({"replicate": r, "cell": names[c]})
                row.update({f: int((c >> j) & 1) for j, f in enumerate(factors)})
                row.update(response=ymat[i, c], n_rows=int(nmat[i, c]), control=y0[i],
                           effect=emat[i, c])
                cell_rows.append(row)
        for c in order:
            members = [j for j in range(k) if (c >> j) & 1]
            if len(members) < 2:
                continue
            specs = _specs_for(c, members, labs, factors, added_cols, names)
            for ref, comp_cells, comps, added_lab, question in specs:
                obs = emat[:, c]
                comp_e = emat[:, comp_cells]
                if ref == "bliss":
                    exp = 1.0 - np.prod(1.0 - comp_e, axis=1)
                else:
                    exp = comp_e.max(axis=1)
                exc = obs - exp
                s = t_summary(exc, alpha)
                so, se_ = t_summary(obs, alpha), t_summary(exp, alpha)
                row = dict(zip(by, key, strict=True))
                row.update(
                    combination=names[c], n_factors=len(members), reference=ref,
                    components=comps, added=added_lab, question=question, n=s["n"],
                    observed_mean=so["mean"], observed_sem=so["sem"],
                    expected_mean=se_["mean"], expected_sem=se_["sem"],
                    excess_mean=s["mean"], excess_sem=s["sem"], ci_low=s["ci_low"],
                    ci_high=s["ci_high"], t=s["t"], df=s["df"], p=s["p"], stars=stars(s["p"]),
                    verdict=_verdict(ref, s["mean"], s["p"], alpha, s["note"]),
                    observed_response=float(np.mean(ymat[:, c])),
                    expected_response=float(np.mean(_to_response(exp, y0, response_kind))),
                    effect_scale=RESPONSE_KINDS[response_kind], note=s["note"],
                )
                effect_rows.append(row)
                for i, r in enumerate(reps):
                    rr = dict(zip(by, key, strict=True))
                    rr.update(replicate=r, combination=names[c], reference=ref,
                              components=comps, added=added_lab, observed=obs[i],
                              expected=exp[i], excess=exc[i])
                    rep_rows.append(rr)
        for scale in scales:
            anova_rows += _anova(ymat, reps, k, labs, order, scale, response, response_kind,
                                 coding, alpha, by, key)

    by_cols = list(by)
    table_out = pd.DataFrame(effect_rows, columns=[*by_cols, *EFFECT_COLUMNS])
    anova = pd.DataFrame(anova_rows, columns=[*by_cols, *ANOVA_COLUMNS])
    replicates = pd.DataFrame(rep_rows, columns=[*by_cols, "replicate", "combination",
                                                 "reference", "components", "added",
                                                 "observed", "expected", "excess"])
    cells = pd.DataFrame(cell_rows, columns=[*by_cols, "replicate", "cell", *factors,
                                             "response", "n_rows", "control", "effect"])
    notes = [RESPONSE_KINDS[response_kind]]
    if control is not None:
        notes.append(f"fixed control value {control:g} used for every replicate")
    return FactorialResult(
        table=table_out, anova=anova, replicates=replicates, cells=cells, levels=levels,
        excluded=excluded, factors=factors, labels=labs, response=response,
        response_kind=response_kind, by=by_cols, replicate=replicate, alpha=alpha,
        notes=notes,
    )


def _specs_for(
    c: int,
    members: list[int],
    labs: list[str],
    factors: list[str],
    added_cols: list[str],
    names: Mapping[int, str],
) -> list[tuple[str, list[int], str, str, str]]:
    """(reference, component cells, components text, added label, question) rows."""
    singles = [1 << j for j in members]
    single_labs = [labs[j] for j in members]
    combo = names[c]
    if len(members) == 2:
        bliss_q = (f"Do {single_labs[0]} and {single_labs[1]} together affect more cells "
                   "than expected if they acted independently (Bliss)?")
    else:
        bliss_q = (f"Do {_join(single_labs)} together affect more cells than expected if "
                   "all acted independently (Bliss)?")
    specs = [
        ("bliss", singles, " | ".join(single_labs), "", bliss_q),
        ("hsa", singles, " | ".join(single_labs), "",
         f"Is {combo} better than its best single component (HSA)?"),
    ]
    if len(members) >= 3:
        for j in members:
            if factors[j] not in added_cols:
                continue
            base = c & ~(1 << j)
            comps = f"{names[base]} | {labs[j]}"
            specs.append(("bliss", [base, 1 << j], comps, labs[j],
                          f"Does {labs[j]} add more than expected (Bliss) to {names[base]}?"))
            specs.append(("hsa", [base, 1 << j], comps, labs[j],
                          f"Is {combo} better than both {names[base]} and {labs[j]} alone "
                          "(HSA)?"))
    return specs


def _check_complete(
    ymat: np.ndarray,
    reps: list[Any],
    order: list[int],
    names: Mapping[int, str],
    factors: list[str],
    levels: pd.DataFrame,
    by: list[str],
    key: tuple[Any, ...],
    replicate: str,
    file: str | Path | None,
) -> None:
    missing = [(reps[i], c) for i in range(len(reps)) for c in order if np.isnan(ymat[i, c])]
    if not missing:
        return
    k = len(factors)
    shown = []
    for r, c in missing[:4]:
        setting = ", ".join(
            f"{f}={levels.loc[j, 'present'] if (c >> j) & 1 else levels.loc[j, 'absent']!s}"
            for j, f in enumerate(factors)
        )
        shown.append(f"'{names[c]}' ({setting}) in {replicate} {r}")
    more = f" and {len(missing) - 4} more" if len(missing) > 4 else ""
    where = _group_text(by, key)
    raise InputError(
        f"the 2^{k} factorial is incomplete: no response for {'; '.join(shown)}{more}; "
        "every replicate needs every combination",
        file=file, location=where or None,
    )


def _check_control(
    y0: np.ndarray,
    reps: list[Any],
    kind: str,
    by: list[str],
    key: tuple[Any, ...],
    replicate: str,
    control: float | None,
    file: str | Path | None,
) -> None:
    bad = (y0 <= 0) if kind == "viability" else (y0 >= 100)
    bad |= ~np.isfinite(y0)
    if bad.any():
        i = int(np.flatnonzero(bad)[0])
        what = "the fixed control" if control is not None else "the all-absent control"
        need = "above 0" if kind == "viability" else "below 100"
        raise InputError(
            f"{what} response is {y0[i]:g} in {replicate} {reps[i]}{_where(by, key)}; it must "
            f"be {need} to compute the fraction affected ({kind})", file=file,
        )


def _anova(
    ymat: np.ndarray,
    reps: list[Any],
    k: int,
    labs: list[str],
    order: list[int],
    scale: str,
    response: str,
    kind: str,
    coding: str,
    alpha: float,
    by: list[str],
    key: tuple[Any, ...],
) -> list[dict[str, Any]]:
    """Full-factorial OLS with a replicate block (dummy 0/1 or effect ±1/2 coding)."""
    n_rep, n_cell = ymat.shape
    y = ymat.reshape(-1)
    note = ""
    if scale == "log_survival":
        surv = _survival(y, kind)
        if np.any(surv <= 0):
            note = (f"log scale impossible: surviving % ≤ 0 in {int(np.sum(surv <= 0))} "
                    "cell(s)")
            y = np.full_like(y, np.nan)
        else:
            y = np.log(surv)
    cells = np.tile(np.arange(n_cell), n_rep)
    blocks = np.repeat(np.arange(n_rep), n_cell)
    terms = [c for c in order if c != 0]
    shift = 0.5 if coding == "effect" else 0.0
    code = np.stack([((cells >> j) & 1) - shift for j in range(k)], axis=1)
    cols = [np.ones(y.size)]
    for t in terms:
        cols.append(np.prod([code[:, j] for j in range(k) if (t >> j) & 1], axis=0))
    x = np.column_stack([*cols, block_dummies(list(blocks))]) if n_rep > 1 else \
        np.column_stack(cols)
    if note:
        fit: dict[str, Any] = {"beta": np.full(x.shape[1], np.nan), "df": 0}
        for name in ("se", "t", "p", "ci_low", "ci_high"):
            fit[name] = np.full(x.shape[1], np.nan)
    else:
        fit = ols(y, x, alpha)
        if fit["df"] <= 0:
            note = "no residual degrees of freedom (one replicate): no test"
    what = "surviving fraction (log)" if scale == "log_survival" else response
    model = (f"{'log(surviving %)' if scale == 'log_survival' else response} ~ "
             f"{' * '.join(labs)} + {'replicate' if n_rep > 1 else '1'} (OLS, "
             f"{'±1/2 effect' if coding == 'effect' else '0/1 dummy'} coding)")
    rows = []
    for ti, t in enumerate(terms, start=1):
        members = [labs[j] for j in range(k) if (t >> j) & 1]
        order_t = len(members)
        term = " × ".join(members)
        others = [labs[j] for j in range(k) if not (t >> j) & 1]
        if not others:
            avg = ""
        elif coding == "effect":
            avg = f", averaged over {_join(others)}"
        else:
            avg = f", without {_join(others)}"
        if order_t == 1:
            q = f"Does {members[0]} change the {what}{avg}?"
        elif order_t == 2 and scale == "log_survival":
            q = (f"Do {members[0]} and {members[1]} depart from Bliss independence "
                 f"(interaction on the log surviving fraction{avg})?")
        elif order_t == 2:
            q = (f"Is the effect of {members[0]} with {members[1]} different from the sum of "
                 f"their effects on {what} (non-additivity{avg})?")
        else:
            q = (f"Does the {' × '.join(members[:-1])} interaction change when "
                 f"{members[-1]} is added ({order_t}-way interaction on the {what})?")
        est = float(fit["beta"][ti])
        p = float(fit["p"][ti])
        row = dict(zip(by, key, strict=True))
        row.update(
            scale=scale, term=term, order=order_t, question=q, estimate=est,
            se=float(fit["se"][ti]), ci_low=float(fit["ci_low"][ti]),
            ci_high=float(fit["ci_high"][ti]), t=float(fit["t"][ti]), df_resid=int(fit["df"]),
            p=p, stars=stars(p), ratio=math.exp(est) if scale == "log_survival"
            and np.isfinite(est) else np.nan, model=model, note=note,
        )
        rows.append(row)
    return rows


def expected_bliss(effects: Sequence[float]) -> float:
    """Bliss-independence expected fraction affected ``1 − Π(1 − E_i)``.

    Parameters
    ----------
    effects
        Fractions affected of the components (0–1).

    Returns
    -------
    float
    """
    return float(1.0 - np.prod(1.0 - np.asarray(effects, dtype=float)))


def expected_hsa(effects: Sequence[float]) -> float:
    """Highest-single-agent expected fraction affected ``max(E_i)``."""
    return float(np.max(np.asarray(effects, dtype=float)))

