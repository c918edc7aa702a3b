"""Group-comparison figures: points, mean ± SD/SEM/95 % CI, paired lines, brackets, stars.

:func:`group_plot` is the one figure helper every room uses for a group comparison
(Prism's "scatter dot plot" or "bar graph with points"):

* each value as a point (black on bars; coloured by group on scatter plots);
* the mean with error bars of ``error`` = ``"sd"`` (sample SD), ``"sem"`` (SD/√n) or
  ``"ci95"`` (mean ± t₀.₉₇₅,ₙ₋₁·SEM); with ``log=True`` they are computed on log10 values
  and drawn back-transformed (geometric mean × / ÷ the factor) on a log axis;
* ``kind="bar"``: a bar to the mean; ``kind="scatter"``: a horizontal line at the mean;
* ``subgroup``: a grouped graph (subgroups side by side within each group);
* ``pair``: lines join the values of the same subject/donor across the groups (or across
  the subgroups within a group when ``subgroup`` is given);
* ``comparisons``: significance brackets with :func:`preclin.stats.stars` decided on the
  full-precision p value, stacked so that no two overlap (:func:`add_brackets`).

The style is :func:`preclin.report.prism_style`. Artists carry labels (leading underscore:
never in legends) so tests and users can find them: :data:`POINTS_LABEL`,
:data:`ERROR_LABEL`, :data:`MEAN_LABEL`, :data:`BAR_LABEL`, :data:`PAIR_LABEL`,
:data:`BRACKET_LABEL`; bracket texts have the gid :data:`BRACKET_TEXT_GID`.
"""

from __future__ import annotations

import math
from collections.abc import Hashable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
import pandas as pd
from matplotlib.axes import Axes
from matplotlib.collections import LineCollection
from matplotlib.colors import to_rgba
from matplotlib.figure import Figure
from matplotlib.patches import Patch

from ..errors import InputError
from ..report.style import PALETTE, prism_style
from .display import stars

__all__ = [
    "group_plot",
    "group_summary",
    "add_brackets",
    "Bracket",
    "ERRORS",
    "POINTS_LABEL",
    "ERROR_LABEL",
    "MEAN_LABEL",
    "BAR_LABEL",
    "PAIR_LABEL",
    "BRACKET_LABEL",
    "BRACKET_TEXT_GID",
]

ErrorKind = Literal["sd", "sem", "ci95"]
PlotKind = Literal["scatter", "bar"]

#: error bars offered and what they show
ERRORS: dict[str, str] = {
    "sd": "mean ± SD (sample standard deviation, n − 1)",
    "sem": "mean ± SEM (SD/√n)",
    "ci95": "mean with its 95 % CI (t distribution, n − 1 df)",
}

POINTS_LABEL = "_preclin_group_points"
ERROR_LABEL = "_preclin_group_error"
MEAN_LABEL = "_preclin_group_mean"
BAR_LABEL = "_preclin_group_bar"
PAIR_LABEL = "_preclin_pair_lines"
#: label of bracket lines (the same label the factorial figures always used)
BRACKET_LABEL = "_preclin_bracket"
BRACKET_TEXT_GID = "preclin_bracket_text"

_SUBGROUP_FILLS = ("#FFFFFF", to_rgba(PALETTE[1], 0.45), to_rgba(PALETTE[2], 0.45),
                   to_rgba(PALETTE[3], 0.45), to_rgba(PALETTE[4], 0.45), "#BDBDBD")


# ----------------------------------------------------------------------------- numbers
def _center_and_bounds(values: np.ndarray, error: str, log: bool) -> tuple[float, float, float]:
    """Mean and the lower/upper ends of its error bar (on the data scale)."""
    x = np.log10(values) if log else values
    n = x.size
    if n == 0:
        return math.nan, math.nan, math.nan
    m = float(np.mean(x))
    if n < 2:
        half = 0.0
    else:
        sd = float(np.std(x, ddof=1))
        if error == "sd":
            half = sd
        elif error == "sem":
            half = sd / math.sqrt(n)
        else:
            from scipy import stats as st

            half = float(st.t.ppf(0.975, n - 1)) * sd / math.sqrt(n)
    if log:
        return 10.0 ** m, 10.0 ** (m - half), 10.0 ** (m + half)
    return m, m - half, m + half


def _check_error(error: str) -> None:
    if error not in ERRORS:
        raise InputError(f"unknown error bar '{error}'; choose from {', '.join(ERRORS)}")


def _clean(data: pd.DataFrame, value: str, log: bool) -> pd.DataFrame:
    vals = pd.to_numeric(data[value], errors="coerce").astype(float)
    keep = np.isfinite(vals) & ((vals > 0) if log else True)
    return data.loc[keep].assign(_v=vals[keep])


def group_summary(
    data: pd.DataFrame,
    *,
    value: str,
    group: str,
    subgroup: str | None = None,
    error: ErrorKind = "sd",
    log: bool = False,
) -> pd.DataFrame:
    """Mean and error-bar ends per group (and subgroup), as :func:`group_plot` draws them.

    Parameters
    ----------
    data
        Tidy table, one row per observation.
    value
        Numeric column; missing values (and values ≤ 0 with ``log``) are left out.
    group, subgroup
        Grouping columns (levels in order of first appearance).
    error
        One of :data:`ERRORS`.
    log
        Summaries of log10 values, back-transformed (geometric mean).

    Returns
    -------
    pandas.DataFrame
        ``group`` [, ``subgroup``], ``n``, ``mean``, ``lower``, ``upper``.
    """
    _check_error(error)
    cols = [group] + ([subgroup] if subgroup else [])
    for c in [value, *cols]:
        if c not in data.columns:
            raise InputError(f"column '{c}' is not in the table")
    d = _clean(data, value, log)
    rows = []
    for key, sub in d.groupby(cols, sort=False, dropna=False):
        k = key if isinstance(key, tuple) else (key,)
        m, lo, hi = _center_and_bounds(sub["_v"].to_numpy(float), error, log)
        row: dict[str, Any] = {"group": k[0]}
        if subgroup:
            row["subgroup"] = k[1]
        row.update(n=len(sub), mean=m, lower=lo, upper=hi)
        rows.append(row)
    return pd.DataFrame(rows)


# ---------------------------------------------------------------------------- brackets
@dataclass(frozen=True)
class Bracket:
    """A significance bracket from ``x1`` to ``x2`` with its text."""

    x1: float
    x2: float
    text: str


def _to_axis(y: float, log: bool) -> float:
    return math.log10(y) if log else y


def _from_axis(y: float, log: bool) -> float:
    return 10.0 ** y if log else y


def add_brackets(
    ax: Axes,
    brackets: Sequence[Bracket],
    tops: Sequence[tuple[float, float]],
    *,
    span: float | None = None,
    fontsize: float = 9,
) -> float:
    """Draw brackets above the data, stacked so that none overlaps another or the data.

    Brackets are placed narrowest first; each sits above the highest data top
    (``tops``: ``(x, y)`` pairs) between its ends and above every bracket already placed
    whose x-range touches its own. Works on linear and log y axes.

    Parameters
    ----------
    ax
        The axes.
    brackets
        What to draw.
    tops
        Highest point of the data (point, bar or error bar) at each x position.
    span
        Height of the data range used for spacing (axis units; log10 units on a log
        axis); default from ``tops`` and 0.
    fontsize
        Size of the bracket text.

    Returns
    -------
    float
        The y (data units) of the top of the highest bracket text, or the highest data
        top when there is no bracket.
    """
    log = ax.get_yscale() == "log"
    pts = [(float(x), _to_axis(float(y), log)) for x, y in tops if np.isfinite(y)
           and (not log or y > 0)]
    ys = [y for _, y in pts] or [0.0]
    if span is None:
        axis_lo = ax.get_ylim()[0]
        lo = (math.log10(axis_lo) if axis_lo > 0 else min(ys)) if log else min(0.0, axis_lo)
        lo = min(lo, min(ys))
        span = max(max(ys) - lo, 0.1 if log else 1e-9)
    gap, tick, text_h = 0.05 * span, 0.025 * span, 0.075 * span
    placed: list[tuple[float, float, float]] = []  # (x1, x2, top incl. text)
    highest = max(ys)
    eps = 1e-9
    for b in sorted(brackets, key=lambda b: (abs(b.x2 - b.x1), min(b.x1, b.x2))):
        x1, x2 = sorted((float(b.x1), float(b.x2)))
        inside = [y for x, y in pts if x1 - 0.3 <= x <= x2 + 0.3]
        y = (max(inside) if inside else max(ys)) + gap
        for p1, p2, ptop in placed:
            if p1 <= x2 + eps and x1 <= p2 + eps:
                y = max(y, ptop + gap / 2)
        xs = [x1, x1, x2, x2]
        yy = [_from_axis(v, log) for v in (y, y + tick, y + tick, y)]
        ax.plot(xs, yy, color="black", lw=1.0, label=BRACKET_LABEL, clip_on=False,
                zorder=6)
        ax.text((x1 + x2) / 2, _from_axis(y + tick, log), b.text, ha="center",
                va="bottom", fontsize=fontsize, gid=BRACKET_TEXT_GID, zorder=6)
        top = y + tick + text_h
        placed.append((x1, x2, top))
        highest = max(highest, top)
    return _from_axis(highest, log)


# -------------------------------------------------------------------------------- plot
def _levels(data: pd.DataFrame, col: str, order: Sequence[Hashable] | None) -> list[Any]:
    present = list(dict.fromkeys(data[col].dropna().tolist()))
    if order is None:
        return present
    missing = [o for o in order if o not in present]
    if missing:
        raise InputError(f"order names level(s) {missing} that are not in column '{col}'")
    return list(order) + [p for p in present if p not in order]


def _spread(n: int, width: float) -> np.ndarray:
    return np.linspace(-width / 2, width / 2, n) if n > 1 else np.zeros(n)


def _p_column(comparisons: pd.DataFrame, p_column: str | None) -> str:
    if p_column is not None:
        if p_column not in comparisons.columns:
            raise InputError(f"comparisons table has no column '{p_column}'")
        return p_column
    for c in ("p_adj", "p", "p_value"):
        if c in comparisons.columns:
            return c
    raise InputError("comparisons table needs a p column (p_adj, p or p_value)")


def _ends(comparisons: pd.DataFrame) -> tuple[str, str]:
    for a, b in (("group1", "group2"), ("group_a", "group_b")):
        if a in comparisons.columns and b in comparisons.columns:
            return a, b
    raise InputError("comparisons table needs columns group1/group2 (or group_a/group_b)")


def group_plot(
    data: pd.DataFrame,
    *,
    value: str,
    group: str,
    subgroup: str | None = None,
    pair: str | None = None,
    error: ErrorKind = "sd",
    kind: PlotKind = "scatter",
    comparisons: pd.DataFrame | None = None,
    p_column: str | None = None,
    show_ns: bool = True,
    log: bool = False,
    order: Sequence[Hashable] | None = None,
    subgroup_order: Sequence[Hashable] | None = None,
    colors: Mapping[Hashable, Any] | None = None,
    ylabel: str | None = None,
    title: str | None = None,
    legend: bool = True,
    ax: Axes | None = None,
    figsize: tuple[float, float] | None = None,
) -> Figure:
    """Points with mean ± SD/SEM/95 % CI per group, paired lines and significance brackets.

    Parameters
    ----------
    data
        Tidy table, one row per observation (missing values are left out).
    value
        Numeric column drawn on the y axis.
    group
        Column whose levels are the x positions (order of first appearance, or ``order``).
    subgroup
        Optional second factor drawn side by side within each group (a grouped graph);
        its levels get the fills of ``colors`` and a legend.
    pair
        Column identifying the subject/donor: its values are joined by lines across
        groups (across subgroups within each group when ``subgroup`` is given). Points
        are then not spread sideways, so the lines meet them.
    error
        ``"sd"``, ``"sem"`` or ``"ci95"`` (:data:`ERRORS`).
    kind
        ``"scatter"`` (points and a line at the mean) or ``"bar"`` (bars to the mean).
    comparisons
        Table with ``group1``/``group2`` (or ``group_a``/``group_b``) and a p column
        (``p_adj``, ``p`` or ``p_value``, or ``p_column``): one bracket per row with
        :func:`~preclin.stats.stars` of the full-precision p. With ``subgroup``, an end
        is a ``(group, subgroup)`` tuple (one bar) or a group level (the whole group).
        An optional ``label`` column formats the text, e.g. ``"Δ protection {stars}"``.
        Rows without a finite p are skipped.
    p_column
        The p column to use (default: the first of ``p_adj``, ``p``, ``p_value``).
    show_ns
        Draw brackets of non-significant comparisons (text ``ns``).
    log
        Log10 y axis; summaries on log10 values (geometric mean).
    order, subgroup_order
        Level orders (unlisted levels follow in order of appearance).
    colors
        Level → colour: subgroup levels when ``subgroup`` is given, else group levels.
    ylabel, title
        Axis label (default ``value``) and panel title.
    legend
        With ``subgroup``: a legend of the subgroup fills beside the axes.
    ax
        Draw into these axes (create them inside :func:`preclin.report.prism_style`);
        default a new figure.
    figsize
        Size of a new figure, inches.

    Returns
    -------
    matplotlib.figure.Figure
        The figure holding the axes.

    Examples
    --------
    >>> import pandas as pd
    >>> from preclin.stats import compare_table
    >>> d = pd.DataFrame({"arm": ["a"] * 3 + ["b"] * 3, "y": [1, 2, 3, 4, 5, 7]})
    >>> fig = group_plot(d, value="y", group="arm", error="sem",
    ...                  comparisons=compare_table(d, value="y", group="arm"))
    """
    _check_error(error)
    if kind not in ("scatter", "bar"):
        raise InputError(f"unknown kind '{kind}'; choose scatter or bar")
    cols = [value, group] + [c for c in (subgroup, pair) if c]
    for c in cols:
        if c not in data.columns:
            raise InputError(f"column '{c}' is not in the table")
    d = _clean(data, value, log)
    groups = _levels(d, group, order)
    subs: list[Any] = _levels(d, subgroup, subgroup_order) if subgroup else [None]
    m = len(subs)
    slot = 0.8 / m
    pos: dict[tuple[Any, Any], float] = {}
    for i, g in enumerate(groups):
        for j, s in enumerate(subs):
            pos[(g, s)] = i + (j - (m - 1) / 2) * slot
    new_fig = ax is None
    ctx = prism_style() if new_fig else _nullcontext()
    with ctx:
        if ax is None:
            k = len(groups) * m
            fig = Figure(figsize=figsize or (max(2.6, 0.9 * k + 1.4), 3.6),
                         layout="constrained")
            ax = fig.add_subplot()
        fig_out = ax.get_figure()
        if log:
            ax.set_yscale("log")
        _draw_groups(ax, d, group, subgroup, pair, groups, subs, pos, slot, error, kind,
                     log, colors)
        tops = _tops(d, group, subgroup, pos, error, log)
        if comparisons is not None and len(comparisons):
            brackets = _brackets(comparisons, pos, groups, subs, subgroup, p_column, show_ns)
            high = add_brackets(ax, brackets, tops)
        else:
            high = max((y for _, y in tops), default=1.0)
        _finish_axes(ax, d, groups, subs, subgroup if legend else None, kind, log, high,
                     colors, ylabel or value)
        if title:
            ax.set_title(title, loc="left")
        if new_fig:
            assert isinstance(fig_out, Figure)
            fig_out.draw_without_rendering()
            fig_out.set_layout_engine("none")
    assert isinstance(fig_out, Figure)
    return fig_out


class _nullcontext:
    def __enter__(self) -> None:
        return None

    def __exit__(self, *exc: object) -> None:
        return None


def _fill(colors: Mapping[Hashable, Any] | None, level: Any, index: int, kind: str,
          by_subgroup: bool) -> Any:
    if colors is not None and level in colors:
        return colors[level]
    if by_subgroup:
        return _SUBGROUP_FILLS[index % len(_SUBGROUP_FILLS)]
    if kind == "bar":
        return "#FFFFFF" if index == 0 else to_rgba(PALETTE[1 + (index - 1) % 11], 0.45)
    return PALETTE[index % len(PALETTE)]


def _draw_groups(ax: Axes, d: pd.DataFrame, group: str, subgroup: str | None,
                 pair: str | None, groups: list[Any], subs: list[Any],
                 pos: dict[tuple[Any, Any], float], slot: float, error: str, kind: str,
                 log: bool, colors: Mapping[Hashable, Any] | None) -> None:
    xs, centers, lows, highs, fills = [], [], [], [], []
    spread = 0.0 if pair else min(0.5 * slot, 0.3)
    for gi, g in enumerate(groups):
        for sj, s in enumerate(subs):
            mask = d[group] == g
            if subgroup:
                mask &= d[subgroup] == s
            sub = d.loc[mask]
            if not len(sub):
                continue
            v = sub["_v"].to_numpy(float)
            x = pos[(g, s)]
            c, lo, hi = _center_and_bounds(v, error, log)
            fill = _fill(colors, s if subgroup else g, sj if subgroup else gi, kind,
                         bool(subgroup))
            xs.append(x)
            centers.append(c)
            lows.append(c - lo)
            highs.append(hi - c)
            fills.append(fill)
            order = np.argsort(v, kind="stable")
            px = np.empty(v.size)
            px[order] = x + _spread(v.size, spread)
            point_color = "black" if kind == "bar" or subgroup else fill
            ax.scatter(px, v, s=16, color=point_color, zorder=4, label=POINTS_LABEL,
                       edgecolors="white" if kind == "bar" else "face", linewidths=0.4)
    if not xs:
        return
    if kind == "bar":
        base = None
        if log:
            base = 10.0 ** math.floor(math.log10(min(min(centers), float(d["_v"].min()))))
        ax.bar(xs, [c - (base or 0.0) for c in centers], bottom=base, width=0.9 * slot,
               color=fills, edgecolor="black", linewidth=1.2, zorder=1, label=BAR_LABEL)
    else:
        for x, c in zip(xs, centers, strict=True):
            ax.hlines(c, x - 0.3 * slot, x + 0.3 * slot, colors="black", lw=1.5, zorder=5,
                      label=MEAN_LABEL)
    ax.errorbar(xs, centers, yerr=[lows, highs], fmt="none", ecolor="black", capsize=3,
                lw=1.2, zorder=5, label=ERROR_LABEL)
    if pair:
        _pair_lines(ax, d, group, subgroup, pair, groups, subs, pos)


def _pair_lines(ax: Axes, d: pd.DataFrame, group: str, subgroup: str | None, pair: str,
                groups: list[Any], subs: list[Any],
                pos: dict[tuple[Any, Any], float]) -> None:
    segs: list[list[tuple[float, float]]] = []
    if subgroup:
        chains = [[(g, s) for s in subs] for g in groups]
    else:
        chains = [[(g, None) for g in groups]]
    for chain in chains:
        vals = []
        for g, s in chain:
            mask = d[group] == g
            if subgroup:
                mask &= d[subgroup] == s
            vals.append(dict(zip(d.loc[mask, pair], d.loc[mask, "_v"], strict=True)))
        for (k1, v1), (k2, v2) in zip(zip(chain, vals, strict=True),
                                      zip(chain[1:], vals[1:], strict=True), strict=False):
            for p, y1 in v1.items():
                if p in v2:
                    segs.append([(pos[k1], float(y1)), (pos[k2], float(v2[p]))])
    ax.add_collection(LineCollection(segs, colors="#777777", linewidths=0.8, zorder=2,
                                     label=PAIR_LABEL))


def _tops(d: pd.DataFrame, group: str, subgroup: str | None,
          pos: dict[tuple[Any, Any], float], error: str, log: bool
          ) -> list[tuple[float, float]]:
    out = []
    for (g, s), x in pos.items():
        mask = d[group] == g
        if subgroup:
            mask &= d[subgroup] == s
        v = d.loc[mask, "_v"].to_numpy(float)
        if v.size:
            _, _, hi = _center_and_bounds(v, error, log)
            out.append((x, max(float(v.max()), hi)))
    return out


def _brackets(comparisons: pd.DataFrame, pos: dict[tuple[Any, Any], float],
              groups: list[Any], subs: list[Any], subgroup: str | None,
              p_column: str | None, show_ns: bool) -> list[Bracket]:
    pc = _p_column(comparisons, p_column)
    a, b = _ends(comparisons)
    centers = {g: float(np.mean([pos[(g, s)] for s in subs])) for g in groups}

    def where(end: Any) -> float | None:
        if subgroup and isinstance(end, tuple) and len(end) == 2 and tuple(end) in pos:
            return pos[(end[0], end[1])]
        if end in centers:
            return centers[end]
        if not subgroup:
            key = str(end)
            for g in groups:
                if str(g) == key:
                    return centers[g]
        return None

    out = []
    for _, row in comparisons.iterrows():
        p = row[pc]
        try:
            pf = float(p)
        except (TypeError, ValueError):
            continue
        if not math.isfinite(pf):
            continue
        s = stars(pf)
        if s == "ns" and not show_ns:
            continue
        x1, x2 = where(row[a]), where(row[b])
        if x1 is None or x2 is None:
            raise InputError(f"comparison {row[a]!r} vs {row[b]!r}: not a group of the plot")
        label = row["label"] if "label" in comparisons.columns else None
        text = str(label).format(stars=s) if isinstance(label, str) and label else s
        out.append(Bracket(x1, x2, text))
    return out


def _finish_axes(ax: Axes, d: pd.DataFrame, groups: list[Any], subs: list[Any],
                 subgroup: str | None, kind: str, log: bool, high: float,
                 colors: Mapping[Hashable, Any] | None, ylabel: str) -> None:
    ax.set_xticks(range(len(groups)))
    ax.set_xticklabels([str(g) for g in groups])
    ax.set_xlim(-0.6, len(groups) - 0.4)
    ax.set_ylabel(ylabel)
    if log:
        lo, hi = ax.get_ylim()
        ax.set_ylim(lo, max(hi, high * 1.15))
    else:
        vmin = float(d["_v"].min()) if len(d) else 0.0
        lo = 0.0 if vmin >= 0 else ax.get_ylim()[0]
        ax.set_ylim(lo, max(ax.get_ylim()[1], high))
    if subgroup:
        handles = [Patch(facecolor=_fill(colors, s, j, kind, True), edgecolor="black",
                         label=str(s)) for j, s in enumerate(subs)]
        ax.legend(handles=handles, loc="upper left", bbox_to_anchor=(1.0, 1.0),
                  frameon=False)
