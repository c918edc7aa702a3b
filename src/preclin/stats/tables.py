"""Table-level entry points (used by ``preclin stats compare`` / ``preclin stats survival``).

Both validate a tidy table and raise :class:`~preclin.errors.InputError` naming the row
(as a user sees it: header = row 1) and the problem.
"""

from __future__ import annotations

from itertools import combinations
from pathlib import Path

import numpy as np
import pandas as pd

from ..errors import InputError
from .display import stars
from .multiple import ADJUST_METHODS, adjust_p
from .survival import logrank, median_survival
from .two_groups import TWO_GROUP_TESTS, two_group_test

__all__ = ["compare_table", "survival_table", "COMPARE_COLUMNS", "SURVIVAL_COLUMNS"]

COMPARE_COLUMNS = {
    "group1": "first group (the control with --control)",
    "group2": "second group",
    "n1": "values (pairs for paired tests) in group1",
    "n2": "values in group2",
    "test": "welch, student, paired, mannwhitney or wilcoxon",
    "statistic": "t, or R's W / V for rank tests",
    "df": "degrees of freedom (NaN for rank tests)",
    "p_value": "two-sided p value",
    "p_adj": "p adjusted over all comparisons of the table (Holm-Šídák by default)",
    "stars": "stars of p_adj: ns, * ≤ 0.05, ** ≤ 0.01, *** ≤ 0.001, **** ≤ 0.0001",
    "effect": "group1 − group2 (mean difference or Hodges-Lehmann shift); a ratio with log",
    "effect_lower": "lower 95 % CI of effect",
    "effect_upper": "upper 95 % CI of effect",
}

SURVIVAL_COLUMNS = {
    "group": "group level",
    "n": "subjects",
    "events": "events",
    "median": "median survival (NaN = not reached)",
    "median_lower": "lower 95 % CI of the median (log-type CI curves)",
    "median_upper": "upper 95 % CI of the median (NaN = not reached)",
    "p_value": "log-rank p value over all groups (same on every row)",
}

ROW_OFFSET = 2  # 0-based position -> row number in a file with a header line


def _where(pos: int) -> str:
    return f"row {pos + ROW_OFFSET}"


def _need_columns(table: pd.DataFrame, cols: list[str], file: str | Path | None) -> None:
    for c in cols:
        if c not in table.columns:
            have = ", ".join(map(str, table.columns[:20]))
            raise InputError(f"column '{c}' is not in the table (it has: {have})", file=file)


def _numeric(table: pd.DataFrame, col: str, file: str | Path | None) -> np.ndarray:
    raw = table[col]
    vals = pd.to_numeric(raw, errors="coerce").astype("float64").to_numpy()
    bad = np.isnan(vals) & raw.notna().to_numpy() | np.isinf(vals)
    if bad.any():
        pos = int(np.nonzero(bad)[0][0])
        raise InputError(f"column '{col}' must be numeric but has {raw.iloc[pos]!r}",
                         file=file, location=_where(pos))
    return vals


def _group_labels(table: pd.DataFrame, col: str, file: str | Path | None) -> np.ndarray:
    g = table[col]
    if g.isna().any():
        pos = int(np.nonzero(g.isna().to_numpy())[0][0])
        raise InputError(f"column '{col}' is empty", file=file, location=_where(pos))
    return g.astype(str).to_numpy(dtype=object)


def compare_table(table: pd.DataFrame, *, value: str, group: str, pair: str | None = None,
                  control: str | None = None, test: str = "auto", log: bool = False,
                  adjust: str = "holm-sidak", file: str | Path | None = None) -> pd.DataFrame:
    """Two-group tests between the levels of ``group`` (:data:`COMPARE_COLUMNS`).

    All pairs of levels (in order of first appearance), or each level against ``control``.
    ``test="auto"`` is Welch's t test, or the paired t test with ``pair`` (the column
    identifying the subject/donor that links rows across groups).  Rows with a missing
    value are left out (unpaired tests) or drop their pair (paired tests).
    """
    cols = [value, group] + ([pair] if pair else [])
    _need_columns(table, cols, file)
    if test == "auto":
        test = "paired" if pair else "welch"
    if test not in TWO_GROUP_TESTS:
        raise InputError(f"unknown test '{test}'; choose from auto, "
                         f"{', '.join(TWO_GROUP_TESTS)}")
    if adjust not in ADJUST_METHODS:
        raise InputError(f"unknown adjustment '{adjust}'; choose from "
                         f"{', '.join(ADJUST_METHODS)}")
    paired = TWO_GROUP_TESTS[test][1]
    if paired and not pair:
        raise InputError(f"the {test} test needs --pair (the column linking paired rows)")
    if pair and not paired:
        raise InputError(f"--pair was given but the {test} test is unpaired; use paired or "
                         "wilcoxon")
    vals = _numeric(table, value, file)
    groups = _group_labels(table, group, file)
    if log:
        bad = vals <= 0
        if bad.any():
            pos = int(np.nonzero(bad)[0][0])
            raise InputError(f"column '{value}' must be > 0 on a log scale but has "
                             f"{vals[pos]:g}", file=file, location=_where(pos))
    levels = list(dict.fromkeys(groups.tolist()))
    if len(levels) < 2:
        raise InputError(f"column '{group}' has only one group ({levels[0] if levels else ''})"
                         "; need at least two to compare", file=file)
    if control is not None and control not in levels:
        raise InputError(f"control '{control}' is not a level of column '{group}' "
                         f"({', '.join(levels)})", file=file)
    pairs = (list(combinations(levels, 2)) if control is None
             else [(control, lev) for lev in levels if lev != control])
    ids = None
    if pair:
        ids = _group_labels(table, pair, file)
        seen: dict[tuple[object, object], int] = {}
        for pos, key in enumerate(zip(groups.tolist(), ids.tolist(), strict=True)):
            if key in seen:
                raise InputError(f"pair '{key[1]}' appears twice in group '{key[0]}' "
                                 f"(also row {seen[key] + ROW_OFFSET})", file=file,
                                 location=_where(pos))
            seen[key] = pos
        for a, b in pairs:
            ia = {i: p for (g, i), p in seen.items() if g == a}
            ib = {i: p for (g, i), p in seen.items() if g == b}
            for i, pos in sorted({**{k: v for k, v in ia.items() if k not in ib},
                                  **{k: v for k, v in ib.items() if k not in ia}}.items(),
                                 key=lambda kv: kv[1])[:1]:
                other = b if i in ia else a
                raise InputError(f"pair '{i}' has no row in group '{other}' (unpaired row)",
                                 file=file, location=_where(pos))
    rows: list[dict[str, object]] = []
    for a, b in pairs:
        if ids is not None:
            ma = {i: p for p, (g, i) in enumerate(zip(groups, ids, strict=True)) if g == a}
            mb = {i: p for p, (g, i) in enumerate(zip(groups, ids, strict=True)) if g == b}
            order = list(ma)
            x = vals[[ma[i] for i in order]]
            y = vals[[mb[i] for i in order]]
        else:
            x = vals[groups == a]
            y = vals[groups == b]
            x, y = x[~np.isnan(x)], y[~np.isnan(y)]
        try:
            r = two_group_test(test, x, y, log=log)
        except ValueError as exc:
            raise InputError(f"cannot compare '{a}' with '{b}': {exc}", file=file) from None
        rows.append({"group1": a, "group2": b, "n1": r.n1, "n2": r.n2, "test": r.test,
                     "statistic": r.statistic, "df": r.df, "p_value": r.p_value,
                     "effect": r.effect, "effect_lower": r.effect_lower,
                     "effect_upper": r.effect_upper})
    out = pd.DataFrame(rows)
    out["p_adj"] = adjust_p(out["p_value"].to_numpy(), adjust)
    out["stars"] = [stars(p) for p in out["p_adj"]]
    return out[list(COMPARE_COLUMNS)]


def survival_table(table: pd.DataFrame, *, time: str, event: str, group: str,
                   file: str | Path | None = None) -> pd.DataFrame:
    """Median survival per group and the log-rank p value (:data:`SURVIVAL_COLUMNS`)."""
    _need_columns(table, [time, event, group], file)
    t = _numeric(table, time, file)
    e = _numeric(table, event, file)
    g = _group_labels(table, group, file)
    for col, v in ((time, t), (event, e)):
        if np.isnan(v).any():
            pos = int(np.nonzero(np.isnan(v))[0][0])
            raise InputError(f"column '{col}' is empty", file=file, location=_where(pos))
    if (t < 0).any():
        pos = int(np.nonzero(t < 0)[0][0])
        raise InputError(f"column '{time}' must be >= 0 but has {t[pos]:g}", file=file,
                         location=_where(pos))
    bad = (e != 0) & (e != 1)
    if bad.any():
        pos = int(np.nonzero(bad)[0][0])
        raise InputError(f"column '{event}' must be 0 (censored) or 1 (event) but has "
                         f"{e[pos]:g}", file=file, location=_where(pos))
    levels = list(dict.fromkeys(g.tolist()))
    if len(levels) < 2:
        raise InputError(f"column '{group}' has only one group ({levels[0] if levels else ''})"
                         "; need at least two for a log-rank test", file=file)
    med = median_survival(t, e, g)
    med["p_value"] = logrank(t, e, g).p_value
    return med[list(SURVIVAL_COLUMNS)]
