"""qPCR figures (Prism-like): standard curves and relative quantities with error bars.

* :func:`plot_standard_curves` — Cq against log10 quantity per target, the fitted line,
  slope, R² and efficiency; standards left out (undetermined) drawn as open markers.
* :func:`plot_relative_quantities` — one panel per target: a bar per sample at its
  normalised relative quantity with the propagated error bar (``rq_lower``/``rq_upper``:
  ± 1 SD, ± 1 SEM or a CI, as the table's ``error_kind`` says) on a log2 axis.

Group comparisons with brackets and stars are drawn with
:func:`preclin.stats.plot.group_plot` (the house rule: every group comparison figure goes
through :mod:`preclin.stats`). Matplotlib is imported here only.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
import pandas as pd
from matplotlib.figure import Figure
from matplotlib.ticker import FuncFormatter, NullLocator

from ..report.style import PALETTE, prism_style

__all__ = ["plot_standard_curves", "plot_relative_quantities", "plain_log_label",
           "fixed_margins"]


def plain_log_label(value: float, _pos: object = None) -> str:
    """Tick label of a log axis: a plain number (``0.01``, ``1``, ``1000``), powers beyond
    that as ``10⁴``/``10⁻³`` in Unicode (cheaper to draw than mathtext)."""
    if value > 0:
        k = round(math.log10(value))
        if (k >= 4 or k <= -3) and abs(value / 10.0**k - 1) < 1e-9:
            sup = str(k).translate(str.maketrans("-0123456789", "⁻⁰¹²³⁴⁵⁶⁷⁸⁹"))
            return f"10{sup}"
    return f"{value:g}"


def fixed_margins(width: float, height: float, nrow: int, ncol: int, *, left: float = 0.8,
                  right: float = 0.2, top: float = 0.4, bottom: float = 0.65,
                  wgap: float = 0.85, hgap: float = 0.85) -> dict[str, float]:
    """``subplots_adjust`` arguments for margins and gaps given in inches.

    A fixed layout costs nothing to compute, where matplotlib's constrained layout measures
    every tick label of every panel (most of the drawing time of a many-panel figure).
    """
    cell_w = (width - left - right - wgap * (ncol - 1)) / ncol
    cell_h = (height - top - bottom - hgap * (nrow - 1)) / nrow
    return {"left": left / width, "right": 1 - right / width, "bottom": bottom / height,
            "top": 1 - top / height, "wspace": wgap / cell_w, "hspace": hgap / cell_h}


def _grid(n: int, ncols: int) -> tuple[int, int]:
    ncols = max(1, min(ncols, n))
    return math.ceil(n / ncols), ncols


def plot_standard_curves(wells: pd.DataFrame, curves: pd.DataFrame, *,
                         ncols: int = 4, unit: str = "ng") -> Figure:
    """Cq vs quantity (log axis) for every target with a standard curve.

    Parameters
    ----------
    wells
        Well table (:data:`preclin.qpcr.io.WELL_COLUMNS`); standard wells are drawn.
    curves
        :func:`preclin.qpcr.standard_curve` table.
    ncols
        Panels per row.
    unit
        Quantity unit for the x label.
    """
    ok = curves[curves["status"] == "ok"]
    targets = list(ok["target"])
    nrow, ncol = _grid(max(len(targets), 1), ncols)
    with prism_style():
        size = (3.0 * ncol, 2.7 * nrow)
        fig = Figure(figsize=size)
        axes = fig.subplots(nrow, ncol, squeeze=False)
        fig.subplots_adjust(**fixed_margins(*size, nrow, ncol, bottom=0.6))
        for i, ax in enumerate(axes.flat):
            if i >= len(targets):
                ax.set_visible(False)
                continue
            t = targets[i]
            c = ok[ok["target"] == t].iloc[0]
            std = wells[(wells["task"] == "standard") & (wells["target"] == t)
                        & (wells["quantity"] > 0)]
            used = std[std["cq"].notna()]
            color = PALETTE[i % len(PALETTE)]
            ax.scatter(used["quantity"], used["cq"], s=16, color=color, zorder=3)
            q = used["quantity"].to_numpy(float)
            xs = np.logspace(np.log10(q.min()), np.log10(q.max()), 50)
            ax.plot(xs, c["intercept"] + c["slope"] * np.log10(xs), color="black", lw=1.2)
            ax.set_xscale("log")
            ax.xaxis.set_major_formatter(FuncFormatter(plain_log_label))
            ax.set_title(str(t), loc="left")
            ax.set_xlabel(f"input ({unit})")
            ax.set_ylabel("Cq")
            ax.text(0.97, 0.95, f"slope {c['slope']:.3f}\nR² {c['r2']:.4f}\n"
                    f"E {c['efficiency']:.3f} ({c['efficiency_percent']:.1f} %)",
                    transform=ax.transAxes, ha="right", va="top", fontsize=8)
    return fig


def plot_relative_quantities(table: pd.DataFrame, *, targets: Sequence[str] | None = None,
                             label: str = "sample", ncols: int = 1) -> Figure:
    """Bars of the normalised relative quantity per sample with propagated error bars.

    Parameters
    ----------
    table
        :attr:`preclin.qpcr.RelQuantResult.table` (any extra columns are kept).
    targets
        Targets to draw (default: every non-reference target).
    label
        Column naming the bars.
    ncols
        Panels per row.
    """
    t = table if "role" not in table else table[table["role"] == "target"]
    names = list(targets) if targets is not None else list(dict.fromkeys(t["target"]))
    nrow, ncol = _grid(max(len(names), 1), ncols)
    width = max(4.0, 0.28 * t[label].nunique() + 1.5)
    with prism_style():
        longest = max((len(str(x)) for x in t[label]), default=4)
        below = 0.3 + 0.055 * longest  # rotated sample names
        size = (width * ncol, nrow * (1.9 + below + 0.35) + 0.05)
        fig = Figure(figsize=size)
        axes = fig.subplots(nrow, ncol, squeeze=False)
        fig.subplots_adjust(**fixed_margins(*size, nrow, ncol, bottom=below, hgap=below + 0.35))
        for i, ax in enumerate(axes.flat):
            if i >= len(names):
                ax.set_visible(False)
                continue
            g = t[t["target"] == names[i]]
            x = np.arange(len(g))
            rq = g["rq"].to_numpy(float)
            lo = np.clip(rq - g["rq_lower"].to_numpy(float), 0, None)
            hi = np.clip(g["rq_upper"].to_numpy(float) - rq, 0, None)
            ax.bar(x, rq, color=PALETTE[(i + 1) % len(PALETTE)], edgecolor="black",
                   linewidth=1.0, width=0.8)
            ax.errorbar(x, rq, yerr=[np.nan_to_num(lo), np.nan_to_num(hi)], fmt="none",
                        ecolor="black", capsize=2, lw=1.0)
            ax.set_yscale("log", base=2)
            ax.yaxis.set_major_formatter(FuncFormatter(plain_log_label))
            ax.yaxis.set_minor_locator(NullLocator())
            ax.axhline(1.0, color="#777777", lw=0.8, ls="--")
            ax.set_xticks(x, [str(s) for s in g[label]], rotation=60, ha="right",
                          fontsize=7)
            kind = str(g["error_kind"].iloc[0]) if "error_kind" in g and len(g) else ""
            ax.set_ylabel(f"RQ ({kind})" if kind else "RQ")
            ax.set_title(str(names[i]), loc="left")
    return fig
