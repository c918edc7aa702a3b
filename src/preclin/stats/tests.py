"""Two-group comparisons on tidy tables, reported the way papers report them."""

from __future__ import annotations

from collections.abc import Sequence
from itertools import combinations

import numpy as np
import pandas as pd
from scipy import stats as st

from ..errors import InputError
from .display import stars

__all__ = ["compare_groups", "stars", "TESTS"]

#: tests offered by :func:`compare_groups`
TESTS = {
    "mann-whitney": "two-sided Mann-Whitney U test (exact for small samples without ties)",
    "welch": "two-sided Welch t test (unequal variances)",
    "t": "two-sided Student t test (pooled variance)",
}


def compare_groups(
    table: pd.DataFrame,
    *,
    value: str,
    group: str,
    test: str = "mann-whitney",
    log10: bool = False,
    within: Sequence[str] = (),
) -> pd.DataFrame:
    """Compare ``value`` between every pair of levels of ``group``.

    Parameters
    ----------
    table
        Tidy table, one row per observation (e.g. one row per curve).
    value
        Numeric column to compare (e.g. ``ec50``); missing values are left out and
        counted in ``n_missing``.
    group
        Column whose levels are compared pairwise (in order of first appearance).
    test
        One of :data:`TESTS`.
    log10
        Compare ``log10(value)`` (for potencies); non-positive values count as missing.
    within
        Strata: comparisons are made separately within each combination of these columns.

    Returns
    -------
    pandas.DataFrame
        One row per stratum and pair: strata columns, ``group_a``, ``group_b``, ``n_a``,
        ``n_b``, ``n_missing``, ``median_a``, ``median_b``, ``mean_a``, ``mean_b``
        (on the compared scale), ``statistic``, ``p``, ``stars``, ``test``, ``scale``.
    """
    if test not in TESTS:
        raise InputError(f"unknown test '{test}'; choose from {', '.join(TESTS)}")
    for col in [value, group, *within]:
        if col not in table.columns:
            raise InputError(f"cannot compare: column '{col}' is not in the results table")
    vals = pd.to_numeric(table[value], errors="coerce").astype(float)
    if log10:
        vals = np.log10(vals.where(vals > 0))  # type: ignore[assignment]
    data = table.assign(_v=vals)
    rows: list[dict[str, object]] = []
    strata = (
        data.groupby(list(within), sort=False, dropna=False) if within else [((), data)]
    )
    for key, sub in strata:
        key_t = key if isinstance(key, tuple) else (key,)
        levels = list(dict.fromkeys(sub[group].dropna()))
        for a, b in combinations(levels, 2):
            xa = sub.loc[sub[group] == a, "_v"]
            xb = sub.loc[sub[group] == b, "_v"]
            missing = int(xa.isna().sum() + xb.isna().sum())
            xa = xa.dropna().to_numpy()
            xb = xb.dropna().to_numpy()
            stat, p = np.nan, np.nan
            if len(xa) >= 2 and len(xb) >= 2 or (test == "mann-whitney" and len(xa) and len(xb)):
                if test == "mann-whitney":
                    r = st.mannwhitneyu(xa, xb, alternative="two-sided")
                else:
                    r = st.ttest_ind(xa, xb, equal_var=(test == "t"))
                stat, p = float(r.statistic), float(r.pvalue)
            row: dict[str, object] = dict(zip(within, key_t, strict=False))
            row.update(
                group_a=a, group_b=b, n_a=len(xa), n_b=len(xb), n_missing=missing,
                median_a=float(np.median(xa)) if len(xa) else np.nan,
                median_b=float(np.median(xb)) if len(xb) else np.nan,
                mean_a=float(np.mean(xa)) if len(xa) else np.nan,
                mean_b=float(np.mean(xb)) if len(xb) else np.nan,
                statistic=stat, p=p, stars=stars(p), test=test,
                scale=f"log10({value})" if log10 else value,
            )
            rows.append(row)
    return pd.DataFrame(rows)
