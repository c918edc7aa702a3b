"""Prism-like figures and report sections for factorial and chemoprotection results.

* :func:`plot_factorial` — per group: bars of the response (mean ± SEM) for every cell of
  the factorial with each replicate's point, the Bliss-expected response of every
  combination as a dashed mark, stars of the Bliss test above the combination bars and
  brackets from "base" to "base + added drug" for the added-drug test; beside it, the
  Bliss excess (mean ± SEM, points per replicate, stars). Under the bars, a ± table says
  which factors each bar contains.
* :func:`plot_protection` — per group: alone vs on stroma bars (mean ± SEM) for every
  treatment, each replicate's pair joined by a line, brackets with stars of the paired
  test, and higher brackets for the interaction ("Δ protection") test.
* :func:`add_factorial_section`, :func:`add_protection_section` — write the answers
  (sentences), the figure and the tables into a :class:`preclin.report.Report`.

Figures are :class:`matplotlib.figure.Figure` objects built inside
:func:`preclin.report.prism_style`; nothing uses pyplot. Group comparisons (the protection
panels) are drawn by :func:`preclin.stats.plot.group_plot` and every significance bracket
by :func:`preclin.stats.plot.add_brackets`, with stars from :func:`preclin.stats.stars`.
"""

from __future__ import annotations

from collections.abc import Hashable, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from matplotlib.axes import Axes
from matplotlib.colors import to_rgba
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.patches import Patch

from ..errors import InputError
from ..report.style import PALETTE, prism_style
from ..stats import stars
from ..stats.plot import BRACKET_LABEL, Bracket, add_brackets, group_plot
from .coculture import ProtectionResult
from .factorial import FactorialResult

__all__ = [
    "plot_factorial",
    "plot_protection",
    "add_factorial_section",
    "add_protection_section",
    "BRACKET_LABEL",
    "EXPECTED_LABEL",
]

#: label of the Bliss-expected marks
EXPECTED_LABEL = "_preclin_bliss_expected"
_FILL_BY_ORDER = ("#FFFFFF", "#D9D9D9", "#9E9E9E", "#5A5A5A", "#2B2B2B")


# --------------------------------------------------------------------------- helpers
def _groups(table: pd.DataFrame, by: list[str], group: Any) -> list[tuple[Hashable, ...]]:
    if not by:
        return [()]
    keys = list(dict.fromkeys(tuple(r) for r in table[by].itertuples(index=False)))
    if group is None:
        return keys
    want = tuple(group[b] for b in by) if isinstance(group, dict) else (
        tuple(group) if isinstance(group, tuple) else (group,))
    if want not in keys:
        raise InputError(f"group {want!r} is not in the result (groups: {keys})")
    return [want]


def _select(df: pd.DataFrame, by: list[str], key: tuple[Hashable, ...]) -> pd.DataFrame:
    mask = np.ones(len(df), dtype=bool)
    for b, v in zip(by, key, strict=True):
        mask &= (df[b] == v).to_numpy()
    return df.loc[mask]


def _title(by: list[str], key: tuple[Hashable, ...]) -> str:
    return ", ".join(str(v) for v in key)


def _settle(fig: Figure) -> None:
    """Draw once inside the style, then freeze the constrained layout.

    Tick labels are created at draw time (so they must see the style) and each draw
    re-runs the constrained layout with tiny floating-point drift; freezing it makes every
    later save of the figure byte-identical.
    """
    fig.draw_without_rendering()
    fig.set_layout_engine("none")  # freeze the converged positions


def _offsets(n: int) -> np.ndarray:
    return np.linspace(-0.12, 0.12, n) if n > 1 else np.zeros(n)


def _wrap(name: str, width: int = 12) -> str:
    if len(name) <= width or "+" not in name:
        return name
    return "+\n".join(name.split("+"))


# --------------------------------------------------------------------------- factorial
def plot_factorial(
    result: FactorialResult,
    *,
    group: Any = None,
    highlight: str | None = None,
    ylabel: str | None = None,
    panel_size: tuple[float, float] = (4.6, 3.6),
) -> Figure:
    """Bars of every cell (mean ± SEM, replicate points) and the Bliss excess, per group.

    Parameters
    ----------
    result
        From :func:`preclin.synergy.factorial.factorial_effects`.
    group
        One group to draw (a value, a tuple of the ``by`` values or a dict); default all,
        one row of panels each.
    highlight
        Factor (column or label) whose "added to the rest" test is drawn as a bracket and
        shown in the excess panel; default the last factor (e.g. the IMiD).
    ylabel
        Label of the response axis (default from the response name and kind).
    panel_size
        Width and height of one panel, inches.

    Returns
    -------
    matplotlib.figure.Figure
    """
    by = result.by
    keys = _groups(result.cells, by, group)
    labs = result.labels
    if highlight is None:
        hl = labs[-1]
    elif highlight in result.factors:
        hl = labs[result.factors.index(highlight)]
    elif highlight in labs:
        hl = highlight
    else:
        raise InputError(f"highlight '{highlight}' is not a factor ({', '.join(labs)})")
    if ylabel is None:
        unit = "" if result.response_kind == "viability" else " (%)"
        ylabel = {"viability": "Viability", "inhibition": "Inhibition",
                  "apoptosis": "Apoptosis"}[result.response_kind] + unit
        if result.response_kind == "viability" and "pct" in result.response.lower():
            ylabel = "Viability (%)"
    with prism_style():
        fig = Figure(figsize=(panel_size[0] * 2.1, panel_size[1] * len(keys) + 0.6),
                     layout="constrained")
        axes = fig.subplots(len(keys), 2, squeeze=False,
                            gridspec_kw={"width_ratios": [1.35, 1.0]})
        for row, key in enumerate(keys):
            cells = _select(result.cells, by, key)
            eff = _select(result.table, by, key)
            reps = _select(result.replicates, by, key)
            _factorial_bars(axes[row, 0], result, cells, eff, hl, ylabel)
            _excess_panel(axes[row, 1], eff, reps, hl)
            title = _title(by, key)
            if title:
                axes[row, 0].set_title(title, loc="left")
        handles = [Line2D([], [], color=PALETTE[2], ls="--", lw=1.5, label="Bliss expected"),
                   Line2D([], [], color="black", marker="o", ls="none", ms=4,
                          label="replicate")]
        fig.legend(handles=handles, loc="outside lower center", ncols=2)
        _settle(fig)
    return fig


def _factorial_bars(
    ax: Axes,
    result: FactorialResult,
    cells: pd.DataFrame,
    eff: pd.DataFrame,
    hl: str,
    ylabel: str,
) -> None:
    order = list(dict.fromkeys(cells["cell"]))
    xs = {c: i for i, c in enumerate(order)}
    top = 0.0
    means, sems, fills, pts_x, pts_y = [], [], [], [], []
    for c in order:
        y = cells.loc[cells["cell"] == c, "response"].to_numpy(float)
        m = float(np.mean(y))
        sem = float(np.std(y, ddof=1) / np.sqrt(y.size)) if y.size > 1 else 0.0
        n_on = 0 if c == "control" else c.count("+") + 1
        means.append(m)
        sems.append(sem)
        fills.append(_FILL_BY_ORDER[min(n_on, len(_FILL_BY_ORDER) - 1)])
        pts_x += list(xs[c] + _offsets(y.size))
        pts_y += list(y)
        top = max(top, m + sem, float(np.max(y)))
    pos = list(range(len(order)))
    ax.bar(pos, means, width=0.7, color=fills, edgecolor="black", linewidth=1.2, zorder=1)
    ax.errorbar(pos, means, yerr=sems, fmt="none", ecolor="black", capsize=3, lw=1.2, zorder=3)
    ax.scatter(pts_x, pts_y, s=14, color="black", zorder=4, edgecolors="white",
               linewidths=0.4)
    span = max(top, 1.0)
    plain = eff[(eff["reference"] == "bliss") & (eff["added"] == "")]
    for _, r in plain.iterrows():
        x = xs[r["combination"]]
        ax.hlines(r["expected_response"], x - 0.38, x + 0.38, colors=PALETTE[2],
                  linestyles="--", lw=1.5, zorder=5, label=EXPECTED_LABEL)
        if r["stars"]:
            sub = cells[cells["cell"] == r["combination"]]["response"].to_numpy(float)
            ax.text(x, max(float(np.max(sub)), r["expected_response"]) + 0.02 * span,
                    r["stars"], ha="center", va="bottom", fontsize=9, color=PALETTE[2])
    added = eff[(eff["reference"] == "bliss") & (eff["added"] == hl)]
    brackets = [Bracket(xs[base], xs[r["combination"]], f"{stars(r['p'])} (+{hl} vs Bliss)")
                for _, r in added.iterrows()
                if (base := r["components"].split(" | ")[0]) in xs and np.isfinite(r["p"])]
    tops = [(xs[c], max(m + e, float(cells.loc[cells["cell"] == c, "response"].max())))
            for c, m, e in zip(order, means, sems, strict=True)]
    for _, r in plain.iterrows():  # the Bliss-expected marks and their stars
        sub = cells[cells["cell"] == r["combination"]]["response"].to_numpy(float)
        tops.append((xs[r["combination"]], max(float(np.max(sub)), r["expected_response"])
                     + (0.09 * span if r["stars"] else 0.0)))
    level = add_brackets(ax, brackets, tops, span=span) if brackets else top
    ax.set_ylim(0, max(level, top * 1.12))
    ax.set_xlim(-0.6, len(order) - 0.4)
    ax.set_ylabel(ylabel)
    ax.set_xticks(range(len(order)))
    present = [[("+" if (c != "control" and lab in c.split("+")) else "−")
                for lab in result.labels] for c in order]
    ax.set_xticklabels(["\n".join(p) for p in present])
    ax.annotate("\n".join(result.labels), xy=(0, 0), xycoords="axes fraction",
                xytext=(-6, -8.5), textcoords="offset points", ha="right", va="top",
                fontsize=10)


def _excess_panel(ax: Axes, eff: pd.DataFrame, reps: pd.DataFrame, hl: str) -> None:
    rows = eff[(eff["reference"] == "bliss") & ((eff["added"] == "") | (eff["added"] == hl))]
    labels = []
    lo_all, hi_all = 0.0, 0.0
    means, sems, colors, pts_x, pts_y = [], [], [], [], []
    for i, (_, r) in enumerate(rows.iterrows()):
        m = 100 * r["excess_mean"]
        sem = 100 * r["excess_sem"] if np.isfinite(r["excess_sem"]) else 0.0
        pts = 100 * reps[(reps["combination"] == r["combination"])
                         & (reps["reference"] == "bliss")
                         & (reps["added"] == r["added"])]["excess"].to_numpy(float)
        means.append(m)
        sems.append(sem)
        colors.append(to_rgba(PALETTE[1] if r["added"] else "#BDBDBD", 0.55))
        pts_x += list(i + _offsets(pts.size))
        pts_y += list(pts)
        hi = max(m + sem, float(np.max(pts)) if pts.size else m)
        lo = min(m - sem, float(np.min(pts)) if pts.size else m)
        lo_all, hi_all = min(lo_all, lo), max(hi_all, hi)
        if r["stars"]:
            y = hi if m >= 0 else lo
            ax.text(i, y + (1.0 if m >= 0 else -1.0), r["stars"], ha="center",
                    va="bottom" if m >= 0 else "top", fontsize=9)
        if r["added"]:
            base = r["components"].split(" | ")[0]
            labels.append(f"{base} + {r['added']}\n(added drug)")
        else:
            labels.append(r["combination"])
    pos = list(range(len(labels)))
    if pos:
        ax.bar(pos, means, width=0.65, color=colors, edgecolor="black", linewidth=1.2)
        ax.errorbar(pos, means, yerr=sems, fmt="none", ecolor="black", capsize=3, lw=1.2)
        ax.scatter(pts_x, pts_y, s=14, color="black", zorder=4, edgecolors="white",
                   linewidths=0.4)
    ax.axhline(0, color="black", lw=1.0)
    pad = 0.15 * max(hi_all - lo_all, 5.0)
    ax.set_ylim(lo_all - pad, hi_all + pad)
    ax.set_xticks(range(len(labels)))
    ax.set_xticklabels(labels, fontsize=8, rotation=30, ha="right", rotation_mode="anchor")
    ax.set_xlim(-0.6, max(len(labels), 1) - 0.4)
    ax.set_ylabel("Bliss excess (% of cells)")


# --------------------------------------------------------------------------- protection
def plot_protection(
    result: ProtectionResult,
    *,
    group: Any = None,
    ylabel: str | None = None,
    ncols: int = 3,
    panel_size: tuple[float, float] = (4.4, 3.8),
) -> Figure:
    """Alone vs on-stroma bars per treatment, paired replicate lines, stars, per group.

    Parameters
    ----------
    result
        From :func:`preclin.synergy.coculture.chemoprotection`.
    group
        One group to draw (a value, a tuple of the ``by`` values or a dict); default all.
    ylabel
        Response axis label (default "Apoptosis (%)" or "Viability (%)").
    ncols
        Panels per row.
    panel_size
        Width and height of one panel, inches.

    Returns
    -------
    matplotlib.figure.Figure
    """
    by = result.by
    keys = _groups(result.pairs, by, group) if len(result.pairs) else [()]
    if ylabel is None:
        ylabel = "Apoptosis (%)" if result.response_kind == "apoptosis" else "Viability (%)"
    nc = max(1, min(ncols, len(keys)))
    nr = int(np.ceil(len(keys) / nc))
    stroma_color = to_rgba(PALETTE[1], 0.45)
    with prism_style():
        fig = Figure(figsize=(panel_size[0] * nc, panel_size[1] * nr + 0.5),
                     layout="constrained")
        axes = fig.subplots(nr, nc, squeeze=False)
        for i, key in enumerate(keys):
            ax = axes[i // nc, i % nc]
            pairs = _select(result.pairs, by, key)
            prot = _select(result.table, by, key)
            inter = _select(result.interaction, by, key)
            _protection_panel(ax, pairs, prot, inter, result.treatments, stroma_color,
                              percent=result.response_kind == "apoptosis",
                              alone=result.alone, stroma=result.stroma)
            ax.set_ylabel(ylabel)
            title = _title(by, key)
            if title:
                ax.set_title(title, loc="left")
        for j in range(len(keys), nr * nc):
            axes[j // nc, j % nc].set_visible(False)
        handles = [Patch(facecolor="white", edgecolor="black", label=result.alone),
                   Patch(facecolor=stroma_color, edgecolor="black", label=f"{result.stroma}")]
        fig.legend(handles=handles, loc="outside lower center", ncols=2)
        _settle(fig)
    return fig


def _pair_order(present: list[str], inter: pd.DataFrame) -> list[str]:
    """Treatment order with each 'with' treatment right after its 'base' (no crossing)."""
    follow: dict[str, str] = {}
    for b, w in zip(inter["base"], inter["with"], strict=True):
        if b in present and w in present and b not in follow and w not in follow.values():
            follow[b] = w
    out: list[str] = []
    for t in present:
        if t in out or (t in follow.values() and any(follow[b] == t for b in follow
                                                       if b not in out)):
            continue
        out.append(t)
        nxt = follow.get(t)
        while nxt is not None and nxt not in out:
            out.append(nxt)
            nxt = follow.get(nxt)
    out += [t for t in present if t not in out]
    return out


def _protection_panel(
    ax: Axes,
    pairs: pd.DataFrame,
    prot: pd.DataFrame,
    inter: pd.DataFrame,
    treatments: Sequence[str],
    stroma_color: Any,
    percent: bool,
    alone: str = "alone",
    stroma: str = "stroma",
) -> None:
    """One group's panel, drawn by :func:`preclin.stats.plot.group_plot`."""
    present = _pair_order([t for t in treatments if t in set(pairs["treatment"])], inter)
    long = pd.concat([
        pd.DataFrame({"treatment": pairs["treatment"], "condition": alone,
                      "replicate": pairs["replicate"], "response": pairs["alone"]}),
        pd.DataFrame({"treatment": pairs["treatment"], "condition": stroma,
                      "replicate": pairs["replicate"], "response": pairs["stroma"]}),
    ], ignore_index=True)
    rows: list[dict[str, Any]] = []
    for t in present:
        r = prot[(prot["treatment"] == t) & (prot["measure"] == "difference")]
        if len(r):
            rows.append({"group1": (t, alone), "group2": (t, stroma),
                         "p": r["p"].iloc[0], "label": "{stars}"})
    for _, pair in inter.iterrows():
        if pair["base"] in present and pair["with"] in present:
            rows.append({"group1": pair["base"], "group2": pair["with"], "p": pair["p"],
                         "label": "Δ protection {stars}"})
    comparisons = pd.DataFrame(rows, columns=["group1", "group2", "p", "label"])
    group_plot(long, value="response", group="treatment", subgroup="condition",
               pair="replicate", error="sem", kind="bar", comparisons=comparisons,
               order=present, subgroup_order=[alone, stroma],
               colors={alone: "white", stroma: stroma_color}, legend=False, ax=ax)
    tops = float(np.nanmax(long["response"].to_numpy(float))) if len(long) else 0.0
    if percent and tops <= 100.0:
        ax.set_yticks([t for t in (0, 20, 40, 60, 80, 100) if t <= ax.get_ylim()[1]])
        ax.spines["left"].set_bounds(0, min(100.0, ax.get_ylim()[1]))
    ax.set_xticks(range(len(present)))
    ax.set_xticklabels([_wrap(t) for t in present], fontsize=8)
    ax.set_xlim(-0.6, len(present) - 0.4)


# --------------------------------------------------------------------------- report
_EFFECT_SHOW = ["combination", "reference", "components", "added", "question", "n",
                "observed_mean", "expected_mean", "excess_mean", "ci_low", "ci_high", "p",
                "stars", "verdict", "note"]
_ANOVA_SHOW = ["scale", "term", "question", "estimate", "se", "ci_low", "ci_high", "df_resid",
               "p", "stars", "note"]
_PROT_SHOW = ["treatment", "measure", "question", "n", "mean_alone", "mean_stroma", "estimate",
              "ci_low", "ci_high", "test", "p", "stars", "verdict", "note"]
_INTER_SHOW = ["base", "with", "added", "question", "n", "protection_base", "protection_with",
               "protection_change", "ci_low", "ci_high", "fraction_removed", "p", "stars",
               "verdict", "note"]


def add_factorial_section(
    report: Any,
    result: FactorialResult,
    *,
    title: str,
    level: int = 2,
    figure: bool | str | Path = True,
    simulated: bool = False,
) -> None:
    """Write the factorial answers into a :class:`preclin.report.Report`.

    Adds a section with the definitions, one sentence per Bliss/HSA question, the figure
    (:func:`plot_factorial`), the excess table and the linear-model table.

    Parameters
    ----------
    report
        A :class:`preclin.report.Report`.
    result
        From :func:`~preclin.synergy.factorial.factorial_effects`.
    title
        Section title.
    level
        Heading level.
    figure
        Include the figure: ``True`` draws it, a path embeds an already saved file.
    simulated
        Add a notice that the data are simulated.
    """
    factors = ", ".join(f"{lab} ({f})" for f, lab in zip(result.factors, result.labels,
                                                         strict=True))
    report.add_section(title, (
        f"Fixed-dose 2^{len(result.factors)} factorial of {factors}; response "
        f"'{result.response}' ({result.response_kind}); replicate unit '{result.replicate}'. "
        f"Effects are fractions of cells affected: {result.notes[0]}. Bliss expected = "
        "1 − Π(1 − E_i) of the components; HSA expected = the best component. Excess = "
        "observed − expected per replicate, mean with 95% t CI, one-sample t test against 0 "
        "(stars: * p ≤ 0.05, ** ≤ 0.01, *** ≤ 0.001, **** ≤ 0.0001; p not adjusted for the number "
        "of questions)."), level=level)
    if simulated:
        report.add_notice("These data are SIMULATED; they are not measurements.", "simulated")
    for s in result.sentences(references=("bliss",)):
        report.add_text(s)
    if figure:
        fig = plot_factorial(result) if figure is True else figure
        report.add_figure(fig, caption=(
            f"{title}: mean ± SEM of {result.response} with each replicate; dashed marks: "
            "Bliss-expected response; stars: Bliss excess tests; right: Bliss excess per "
            "combination."), name=f"{title}-factorial")
    by = list(result.by)
    report.add_table(result.table[[*by, *_EFFECT_SHOW]],
                     caption=f"{title}: Bliss and HSA excess (fractions of cells affected).",
                     highlight="note")
    report.add_table(result.anova[[*by, *_ANOVA_SHOW]],
                     caption=f"{title}: linear model with replicate block "
                     f"({result.anova['model'].iloc[0] if len(result.anova) else ''}).",
                     highlight="note")


def add_protection_section(
    report: Any,
    result: ProtectionResult,
    *,
    title: str,
    level: int = 2,
    figure: bool | str | Path = True,
    simulated: bool = False,
) -> None:
    """Write the chemoprotection answers into a :class:`preclin.report.Report`.

    Parameters
    ----------
    report
        A :class:`preclin.report.Report`.
    result
        From :func:`~preclin.synergy.coculture.chemoprotection`.
    title
        Section title.
    level
        Heading level.
    figure
        Include the figure (:func:`plot_protection`); a path embeds an already saved file.
    simulated
        Add a notice that the data are simulated.
    """
    report.add_section(title, (
        f"Response '{result.response}' ({result.response_kind}) of the same cells "
        f"{result.alone} vs {result.stroma}, paired by '{result.replicate}'. Protection = "
        "difference alone − stroma (paired test); protection index = fraction of the "
        "treatment-induced response prevented by stroma; Δ protection = interaction of "
        "response ~ treatment × stroma + replicate (does the added drug reduce protection?). "
        "Stars: * p ≤ 0.05, ** ≤ 0.01, *** ≤ 0.001, **** ≤ 0.0001."), level=level)
    if simulated:
        report.add_notice("These data are SIMULATED; they are not measurements.", "simulated")
    for s in result.sentences():
        report.add_text(s)
    if figure:
        fig = plot_protection(result) if figure is True else figure
        report.add_figure(fig, caption=(
            f"{title}: mean ± SEM with each replicate, lines join the same replicate alone "
            "and on stroma; brackets: paired test alone vs stroma and Δ protection "
            "(interaction) tests."), name=f"{title}-protection")
    by = list(result.by)
    report.add_table(result.table[[*by, *_PROT_SHOW]],
                     caption=f"{title}: protection by stroma per treatment.", highlight="note")
    report.add_table(result.interaction[[*by, *_INTER_SHOW]],
                     caption=f"{title}: does the added drug reduce stromal protection?",
                     highlight="note")
