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
    """Log-axis tick label: plain numbers, ``10⁵`` beyond (no mathtext: cheap to draw)."""
    if value > 0:
        k = round(math.log10(value))
        if (k >= 4 or k <= -3) and abs(value / 10.0**k - 1) < 1e-9:
            sup = str(k).translate(str.maketrans("-0123456789", "⁻⁰¹²³⁴⁵⁶⁷⁸⁹"))
            return f"10{sup}"
    return f"{value:g}"


def _fixed_margins(width: float, height: float, nrow: int, ncol: int) -> dict[str, float]:
    """``subplots_adjust`` arguments for fixed margins in inches (no layout engine: the
    constrained layout would measure every tick label, most of the drawing time)."""
    left, right, top, bottom, wgap, hgap = 0.8, 0.2, 0.4, 0.65, 0.85, 0.85
    cell_w = (width - left - right - wgap * (ncol - 1)) / ncol
    cell_h = (height - top - bottom - hgap * (nrow - 1)) / nrow
    return {"left": left / width, "right": 1 - right / width, "bottom": bottom / height,
            "top": 1 - top / height, "wspace": wgap / cell_w, "hspace": hgap / cell_h}


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
        size = (3.3 * ncol, 3.0 * nrow)
        fig = Figure(figsize=size)
        axes = fig.subplots(nrow, ncol, squeeze=False)
        fig.subplots_adjust(**_fixed_margins(*size, nrow, ncol))
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
    return fig
