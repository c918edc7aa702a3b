"""Figures of an in vivo study: engraftment by tissue, Kaplan–Meier curves, weight course.

Engraftment panels are drawn by :func:`preclin.stats.plot.group_plot` (points, mean ± SD,
brackets with stars of the Holm–Šídák-adjusted p of each arm vs control). All figures use
:func:`preclin.report.prism_style`.
"""

from __future__ import annotations

import math
from collections.abc import Hashable, Sequence

import numpy as np
import pandas as pd
from matplotlib.figure import Figure
from matplotlib.ticker import FuncFormatter, NullFormatter

from ..report.style import MARKERS, PALETTE, prism_style
from .engraftment import Engraftment
from .survival import Survival

__all__ = ["plot_engraftment", "plot_survival", "plot_weights", "arm_colors"]


def arm_colors(arms: Sequence[str]) -> dict[Hashable, str]:
    """One colour per arm (the Prism-like palette, in arm order)."""
    return {a: PALETTE[i % len(PALETTE)] for i, a in enumerate(arms)}


def plot_engraftment(res: Engraftment, *, mobilisation: bool = False,
                     error: str = "sd") -> Figure:
    """One panel per tissue (or mobilisation ratio): each mouse, mean ± SD, brackets.

    Parameters
    ----------
    res
        From :func:`preclin.invivo.engraftment`.
    mobilisation
        Draw the mobilisation ratios instead of the tissues.
    error
        ``"sd"``, ``"sem"`` or ``"ci95"``.
    """
    from ..stats.plot import group_plot

    data = res.mobilisation if mobilisation else res.data
    value = "ratio" if mobilisation else "human_pct"
    comps = res.mobilisation_comparisons if mobilisation else res.comparisons
    panels = list(dict.fromkeys(data["tissue"]))
    k = max(len(panels), 1)
    with prism_style():
        fig = Figure(figsize=(k * (1.0 + 0.55 * len(res.arms)), 3.6), layout="constrained")
        axes = fig.subplots(1, k, squeeze=False)[0]
        for ax, tis in zip(axes, panels, strict=True):
            sub = data[data["tissue"] == tis]
            c = comps[comps["tissue"] == tis] if len(comps) else None
            group_plot(sub, value=value, group="arm", error=error,  # type: ignore[arg-type]
                       comparisons=c, log=res.log or mobilisation, order=list(res.arms),
                       colors=arm_colors(res.arms), ax=ax, title=str(tis),
                       ylabel="ratio" if mobilisation else "% human cells")
            ax.tick_params(axis="x", labelrotation=45)
            if res.log or mobilisation:  # plain numbers (0.1, 1, 10), no mathtext
                ax.yaxis.set_major_formatter(FuncFormatter(lambda v, _: f"{v:g}"))
                ax.yaxis.set_minor_formatter(NullFormatter())
    return fig


def plot_survival(res: Survival, *, arms: Sequence[str] | None = None) -> Figure:
    """Kaplan–Meier step curves per arm with censoring ticks (days from day 1)."""
    order = list(arms) if arms is not None else list(dict.fromkeys(res.km["arm"]))
    colors = arm_colors(order)
    with prism_style():
        fig = Figure(figsize=(4.8, 3.4), layout="constrained")
        ax = fig.add_subplot()
        for i, a in enumerate(order):
            km = res.km[res.km["arm"] == a]
            if not len(km):
                continue
            t = np.concatenate([[0.0], km["time"].to_numpy(dtype=float)])
            s = np.concatenate([[1.0], km["surv"].to_numpy(dtype=float)]) * 100
            ax.step(t, s, where="post", color=colors[a], label=str(a),
                    linestyle=("-", "--", "-.", ":")[i % 4])
            cens = km[km["n_censor"] > 0]
            idx = np.searchsorted(t, cens["time"].to_numpy(dtype=float), side="right") - 1
            cs = s[np.clip(idx, 0, len(s) - 1)]
            ax.plot(cens["time"], cs, linestyle="none", marker="|", markersize=8,
                    color=colors[a], label="_censored")
        ax.set_xlabel("day (day 1 = first treatment day)")
        ax.set_ylabel("% surviving")
        ax.set_ylim(-3, 105)
        ax.set_xlim(left=0)
        ax.legend(frameon=False, loc="lower left", fontsize=8)
        p = res.arms["p_logrank_all"].iloc[0] if len(res.arms) else math.nan
        if np.isfinite(p):
            from ..stats import format_p

            ax.set_title(f"log-rank p = {format_p(p)}", loc="right", fontsize=9)
    return fig


def plot_weights(course: pd.DataFrame, *, arms: Sequence[str],
                 endpoint_pct: float, treatment_days: Sequence[int] = ()) -> Figure:
    """Weight change (% of baseline) of every animal over days, coloured by arm, with the
    humane-endpoint line."""
    colors = arm_colors(arms)
    with prism_style():
        fig = Figure(figsize=(5.2, 3.4), layout="constrained")
        ax = fig.add_subplot()
        if len(treatment_days):
            ax.axvspan(min(treatment_days) - 0.5, max(treatment_days) + 0.5,
                       color="#EEEEEE", zorder=0, label="_treatment")
        for i, a in enumerate(arms):
            sub = course[course["arm"] == a]
            for j, (_, one) in enumerate(sub.groupby("animal", sort=True)):
                ax.plot(one["day"], one["change_pct"], color=colors[a], linewidth=0.9,
                        alpha=0.8, marker=MARKERS[i % len(MARKERS)], markersize=2.5,
                        label=str(a) if j == 0 else "_animal")
        ax.axhline(-endpoint_pct, color="#B22222", linestyle="--", linewidth=1,
                   label=f"humane endpoint (−{endpoint_pct:g} %)")
        ax.axhline(0, color="#777777", linewidth=0.6)
        ax.set_xlabel("day (day 1 = first treatment day)")
        ax.set_ylabel("weight change from baseline, %")
        ax.legend(frameon=False, fontsize=7, loc="lower left")
    return fig
