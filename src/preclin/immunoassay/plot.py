"""Immunoassay figures (Prism-like): one standard-curve panel per analyte.

:func:`plot_standard_curves` draws, per analyte, the standards (filled circles at their
expected concentration), the fitted 4PL/5PL curve, every sample well back-calculated onto
the curve (open triangles at the in-well concentration, i.e. before the dilution factor),
the LLOQ/ULOQ (dashed) and the model, weights and R² in the title. Increasing curves (bead
MFI) get a log signal axis, decreasing ones (an MTT-read bioassay) a linear one.

Group comparisons are drawn with :func:`preclin.stats.plot.group_plot`.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np
from matplotlib.figure import Figure
from matplotlib.ticker import FuncFormatter

from ..report.style import PALETTE, prism_style
from .backcalc import ImmunoassayResult

__all__ = ["plot_standard_curves"]


def _plain(value: float, _pos: object = None) -> str:
    return f"{value:g}"  # plain numbers on log axes: cheaper than mathtext, easy to read


def plot_standard_curves(result: ImmunoassayResult, *, analytes: Sequence[str] | None = None,
                         ncols: int = 3, unit: str = "pg/ml",
                         signal_label: str | None = None) -> Figure:
    """Standards, fitted curve, back-calculated samples and LLOQ/ULOQ per analyte.

    Parameters
    ----------
    result
        :func:`preclin.immunoassay.fit_plate` result.
    analytes
        Analytes to draw (default: all, in order).
    ncols
        Panels per row.
    unit
        Concentration unit (x label).
    signal_label
        y label (default ``"MFI"`` for increasing curves, ``"signal"`` otherwise).
    """
    names = list(analytes) if analytes is not None else list(result.fits)
    ncol = max(1, min(ncols, len(names)))
    nrow = math.ceil(len(names) / ncol) if names else 1
    params = result.params.set_index("analyte")
    with prism_style():
        fig = Figure(figsize=(3.3 * ncol, 3.0 * nrow), layout="constrained")
        axes = fig.subplots(nrow, ncol, squeeze=False)
        for i, ax in enumerate(axes.flat):
            if i >= len(names):
                ax.set_visible(False)
                continue
            name = names[i]
            fit = result.fits[name]
            t = result.table[result.table["analyte"] == name]
            std = t[(t["type"] == "standard") & t["expected"].notna()]
            unk = t[t["type"].isin(["unknown", "control"]) & t["concentration"].notna()]
            color = PALETTE[(i + 1) % len(PALETTE)]
            x_std = std["expected"].to_numpy(float)
            lo = float(np.nanmin(x_std)) / 4
            hi = float(np.nanmax(x_std)) * 4
            xs = np.logspace(math.log10(lo), math.log10(hi), 200)
            ax.plot(xs, fit.predict(xs), color="black", lw=1.3, zorder=2)
            ax.scatter(x_std, std["signal"], s=18, color=color, zorder=3, label="standards")
            if len(unk):
                x_in = unk["concentration"].to_numpy(float) / unk["dilution"].to_numpy(float)
                ax.scatter(x_in, unk["signal"], s=22, marker="^", facecolors="white",
                           edgecolors="black", linewidths=0.8, zorder=4, label="samples")
            limits: Any = params.loc[name, ["lloq", "uloq"]]
            for q in (float(limits.iloc[0]), float(limits.iloc[1])):
                if math.isfinite(q):
                    ax.axvline(q, color="#777777", lw=0.8, ls="--", zorder=1)
            ax.set_xscale("log")
            ax.xaxis.set_major_formatter(FuncFormatter(_plain))
            increasing = fit.direction == "increasing"
            if increasing and (std["signal"] > 0).all():
                ax.set_yscale("log")
                ax.yaxis.set_major_formatter(FuncFormatter(_plain))
            ax.set_xlabel(f"concentration ({unit})")
            ax.set_ylabel(signal_label or ("MFI" if increasing else "signal"))
            ax.set_title(f"{name}", loc="left")
            ax.text(0.03 if increasing else 0.97, 0.97,
                    f"{fit.model.upper()}, w = {fit.weights}\nR² = {fit.r2:.4f}",
                    transform=ax.transAxes, ha="left" if increasing else "right",
                    va="top", fontsize=8)
            if i == 0:
                ax.legend(loc="lower right" if increasing else "lower left", fontsize=7)
        fig.draw_without_rendering()  # constrained layout once, kept for SVG and PNG
        fig.set_layout_engine("none")
    return fig
