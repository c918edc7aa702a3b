"""Group comparisons shared by the per-sample assay kinds (``qpcr``, ``immunoassay``).

A study file may attach a sample table (``samples = "…csv"``: a ``sample`` column plus
any factors — cell line, treatment, donor) and ask for comparisons::

    [[experiment.compare]]
    group = "treatment"          # factor whose levels are compared
    pair = "cell_line"           # optional: the subject linking rows (paired tests)
    control = "control"          # optional: each level vs this one (else all pairs)
    test = "paired"              # auto | welch | student | paired | mannwhitney | wilcoxon
    log = false                  # test log10 values (ratios of geometric means)

Every comparison runs through :func:`preclin.stats.compare_table` once per measured item
(target gene, analyte) and is drawn with :func:`preclin.stats.plot.group_plot` (bars to
the mean with every value, paired lines, error bars, brackets with stars).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from pathlib import Path
from typing import Any, Literal

import numpy as np
import pandas as pd
from pydantic import Field

from ...errors import InputError
from .base import StrictModel

__all__ = ["AssayCompareSpec", "read_design", "attach_design", "complete_pairs",
           "run_comparisons", "percent_of_control", "comparison_figure",
           "comparison_sentences", "COMPARE_TABLE_DESCRIPTION",
           "PERCENT_TABLE_DESCRIPTION"]

COMPARE_TABLE_DESCRIPTION = (
    "one row per {item} × comparison: the two groups, n, test, statistic, df, p value, "
    "p adjusted within the {item}, stars and the effect (group1 − group2, or their ratio "
    "with log) with its 95 % CI (preclin.stats.compare_table)")
PERCENT_TABLE_DESCRIPTION = (
    "one row per {item} × pair × treated level: the value in the treated sample as % of "
    "the same pair's control (100 = no change)")


_TEST_NAMES = {"paired": "paired t", "welch": "Welch t", "student": "Student t",
               "mannwhitney": "Mann–Whitney", "wilcoxon": "Wilcoxon signed-rank"}


class AssayCompareSpec(StrictModel):
    """One ``[[experiment.compare]]`` table of an assay kind."""

    group: str
    pair: str | None = None
    control: str | None = None
    test: Literal["auto", "welch", "student", "paired", "mannwhitney", "wilcoxon"] = "auto"
    log: bool = False
    adjust: Literal["holm-sidak", "sidak", "bonferroni", "holm", "none"] = "holm-sidak"
    items: list[str] | None = Field(default=None, min_length=1)
    error: Literal["sd", "sem", "ci95"] = "sem"
    plot: Literal["bar", "scatter"] = "bar"


def read_design(path: Path) -> pd.DataFrame:
    """Read a sample table (``sample`` + factors; every column read as text)."""
    from ...tables import read_table, require_columns

    raw = read_table(path, keys=["sample"])
    require_columns(raw, ["sample"], file=path)
    design = raw.astype({c: str for c in raw.columns})
    dup = design["sample"].duplicated()
    if dup.any():
        i = int(np.nonzero(dup.to_numpy())[0][0])
        raise InputError(f"sample {design['sample'].iloc[i]!r} appears twice", file=path,
                         location=f"row {i + 2}")
    return design


def attach_design(table: pd.DataFrame, design: pd.DataFrame | None, *,
                  after: str = "sample") -> pd.DataFrame:
    """``table`` with the design's factor columns inserted after ``after``."""
    if design is None:
        return table
    factors = [c for c in design.columns if c != "sample" and c not in table.columns]
    out = table.merge(design[["sample", *factors]], on="sample", how="left", sort=False)
    cols = list(table.columns)
    k = cols.index(after) + 1
    return out[cols[:k] + factors + cols[k:]]


def _levels(values: pd.Series) -> list[Any]:
    return list(dict.fromkeys(values.dropna().tolist()))


def complete_pairs(data: pd.DataFrame, spec: AssayCompareSpec, value: str,
                   item: str) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Rows usable for ``spec``: a finite value, and with ``pair`` only the pairs measured
    in every group. Returns ``(used, dropped)``; ``dropped`` has a ``reason``."""
    ok = data[value].notna() & np.isfinite(data[value].astype(float))
    if spec.log:
        ok &= data[value].astype(float) > 0
    dropped = data[~ok].assign(reason=f"no usable {value} for the comparison")
    used = data[ok]
    if spec.pair:
        n_groups = data[spec.group].nunique()
        counts = used.groupby(spec.pair, sort=False)[spec.group].nunique()
        keep = counts[counts == n_groups].index
        lost = used[~used[spec.pair].isin(keep)]
        dropped = pd.concat([dropped, lost.assign(
            reason=f"{spec.pair} not measured in every {spec.group} (paired test)")])
        used = used[used[spec.pair].isin(keep)]
    del item
    return used, dropped


def run_comparisons(data: pd.DataFrame, specs: Sequence[AssayCompareSpec], *, value: str,
                    item: str, items: Sequence[str], file: Path | None = None
                    ) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Run every comparison for every item.

    Returns
    -------
    (table, dropped)
        ``table``: ``comparison`` (1-based), ``<item>``, ``value``, then
        :data:`preclin.stats.tables.COMPARE_COLUMNS`; ``dropped``: rows left out, with a
        ``reason``.
    """
    from ...stats import compare_table

    rows, dropped = [], []
    for k, spec in enumerate(specs, start=1):
        for col in (spec.group, spec.pair):
            if col is not None and col not in data.columns:
                raise InputError(f"compare: column {col!r} is not in the sample table "
                                 f"(it has: {', '.join(map(str, data.columns))}); give the "
                                 "factors in the experiment's samples table", file=file)
        for name in (spec.items or items):
            sub = data[data[item] == name]
            if sub.empty:
                raise InputError(f"compare: {item} {name!r} is not in the results "
                                 f"({', '.join(map(str, items))})", file=file)
            used, lost = complete_pairs(sub, spec, value, item)
            dropped.append(lost)
            if used[spec.group].nunique() < 2:
                continue
            res = compare_table(used, value=value, group=spec.group, pair=spec.pair,
                                control=spec.control, test=spec.test, log=spec.log,
                                adjust=spec.adjust, file=file)
            res.insert(0, "value", value + (" (log10)" if spec.log else ""))
            res.insert(0, item, name)
            res.insert(0, "comparison", k)
            rows.append(res)
    table = pd.concat(rows, ignore_index=True) if rows else pd.DataFrame()
    lost_all = pd.concat(dropped, ignore_index=True) if dropped else pd.DataFrame(
        {"reason": []})
    return table, lost_all


def percent_of_control(data: pd.DataFrame, specs: Sequence[AssayCompareSpec], *,
                       value: str, item: str) -> pd.DataFrame:
    """Treated as % of the same pair's control, for specs with ``pair`` and ``control``."""
    rows: list[dict[str, Any]] = []
    for spec in specs:
        if spec.pair is None or spec.control is None:
            continue
        for name, sub in data.groupby(item, sort=False):
            piv = sub.pivot_table(index=spec.pair, columns=spec.group, values=value,
                                  aggfunc="mean", sort=False)
            if spec.control not in piv.columns:
                continue
            for level in _levels(sub[spec.group]):
                if level == spec.control:
                    continue
                for p, r in piv.iterrows():
                    c, t = float(r[spec.control]), float(r[level])
                    pct = t / c * 100.0 if c > 0 and math.isfinite(c) else math.nan
                    rows.append({item: name, "pair_column": spec.pair, "pair": p,
                                 "group": level, "control": spec.control,
                                 f"{value}_control": c, f"{value}_treated": t,
                                 "percent_of_control": pct,
                                 "change": "" if not math.isfinite(pct) else
                                 ("up" if pct > 100 else "down" if pct < 100 else "none")})
    return pd.DataFrame(rows)


def comparison_figure(data: pd.DataFrame, spec: AssayCompareSpec, comparisons: pd.DataFrame,
                      *, value: str, item: str, items: Sequence[str], ylabel: str,
                      ncols: int = 3) -> Any:
    """One :func:`~preclin.stats.plot.group_plot` panel per item (bars, points, pairs,
    error bars, brackets with stars)."""
    from matplotlib.figure import Figure

    from ...qpcr.plot import fixed_margins
    from ...report.style import prism_style
    from ...stats.plot import group_plot

    names = [n for n in (spec.items or items) if (data[item] == n).any()]
    ncol = max(1, min(ncols, len(names)))
    nrow = math.ceil(len(names) / ncol) if names else 1
    n_levels = max(1, data[spec.group].nunique())
    with prism_style():
        longest = max((len(str(g)) for g in data[spec.group].unique()), default=0)
        rotate = longest > 13
        below = 0.45 + (0.05 * longest if rotate else 0.0)
        size = ((1.0 * n_levels + 1.6) * ncol, nrow * (2.9 + below) + 0.1)
        fig = Figure(figsize=size)
        axes = fig.subplots(nrow, ncol, squeeze=False)
        fig.subplots_adjust(**fixed_margins(*size, nrow, ncol, left=0.85, bottom=below,
                                            hgap=below + 0.45, wgap=1.0))
        for i, ax in enumerate(axes.flat):
            if i >= len(names):
                ax.set_visible(False)
                continue
            sub, _ = complete_pairs(data[data[item] == names[i]], spec, value, item)
            comp = comparisons[comparisons[item] == names[i]] if len(comparisons) else None
            group_plot(sub, value=value, group=spec.group, pair=spec.pair,
                       error=spec.error, kind=spec.plot, comparisons=comp, log=spec.log,
                       ylabel=ylabel, title=str(names[i]), ax=ax)
            if rotate:
                for lab in ax.get_xticklabels():
                    lab.set_rotation(30)
                    lab.set_horizontalalignment("right")
    return fig


def comparison_sentences(comparisons: pd.DataFrame, percent: pd.DataFrame, *,
                         item: str) -> list[str]:
    """Plain sentences: "TNF: lenalidomide vs control, paired t test, n = 12, p = …"."""
    from ...stats import format_p

    out = []
    for r in comparisons.to_dict("records"):
        name = r[item]
        extra = ""
        if len(percent):
            sel = percent[(percent[item] == name) & (percent["group"] == r["group2"])
                          & (percent["control"] == r["group1"])]
            pct = sel["percent_of_control"].dropna()
            if len(pct):
                n_up = int((pct > 100).sum())
                extra = (f"; higher than control in {n_up}/{len(pct)}, median "
                         f"{pct.median():.0f} % of control (range {pct.min():.0f}–"
                         f"{pct.max():.0f} %)")
        test = _TEST_NAMES.get(str(r["test"]), str(r["test"]))
        scale = " on log10 values" if str(r.get("value", "")).endswith("(log10)") else ""
        out.append(f"{name}: {r['group2']} vs {r['group1']} ({test} test{scale}, n = "
                   f"{int(r['n1'])}/{int(r['n2'])}{extra}): p = {format_p(r['p_value'])}"
                   + (f", adjusted {format_p(r['p_adj'])}"
                      if abs(r["p_adj"] - r["p_value"]) > 1e-9 * max(r["p_value"], 1e-300)
                      else "") + f" ({r['stars']}).")
    return out
