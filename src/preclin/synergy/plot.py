"""Figures of combination blocks: dose-response matrix and synergy maps per model.

Both take a :class:`~preclin.synergy.score.SynergyResult` (or its ``cells`` table) and a
block label and return a :class:`matplotlib.figure.Figure` (no pyplot state).

* :func:`plot_response_matrix` — heatmap of the mean % inhibition (or viability) with the
  value written in every cell; drug 1 concentrations on the rows, drug 2 on the columns,
  one column/row per tested concentration (categorical axes, lowest dose bottom-left).
* :func:`plot_synergy` — the synergy of one model as a heatmap (annotated), filled
  contour or 3-D surface over the dose grid, with a diverging colour map centred at 0
  (red = synergy, blue = antagonism) and the block mean in the title.

Annotation texts carry ``gid="preclin_cell"`` so tests and reports can find them.
"""

from __future__ import annotations

from typing import Literal

import numpy as np
import pandas as pd
from matplotlib import colormaps
from matplotlib.cm import ScalarMappable
from matplotlib.colors import Normalize
from matplotlib.figure import Figure

from ..errors import InputError

__all__ = ["plot_response_matrix", "plot_synergy", "CELL_GID"]

CELL_GID = "preclin_cell"
_SYNERGY_CMAP = "RdBu_r"
_RESPONSE_CMAP = "viridis"
Kind = Literal["heatmap", "contour", "surface"]


def _cells_of(result: object, block: object) -> pd.DataFrame:
    cells = result.cells if hasattr(result, "cells") else result
    if not isinstance(cells, pd.DataFrame):
        raise InputError("expected a SynergyResult or its cells table")
    sub = cells[cells["block"] == block]
    if sub.empty:
        have = ", ".join(map(repr, pd.unique(cells["block"])[:10]))
        raise InputError(f"block {block!r} not found; blocks: {have}")
    return sub


def _grid(sub: pd.DataFrame, column: str) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    if column not in sub.columns:
        raise InputError(f"column '{column}' not in the cell table (models scored: "
                         f"{', '.join(c[:-8] for c in sub.columns if c.endswith('_synergy'))})")
    mat = sub.pivot(index="conc1", columns="conc2", values=column).sort_index().sort_index(
        axis=1)
    return mat.index.to_numpy(float), mat.columns.to_numpy(float), mat.to_numpy(float)


def _fmt_conc(v: float) -> str:
    return "0" if v == 0 else f"{v:.3g}"


def _axes_labels(ax, c1: np.ndarray, c2: np.ndarray, sub: pd.DataFrame) -> None:
    ax.set_xticks(range(c2.size), [_fmt_conc(v) for v in c2], rotation=45, ha="right")
    ax.set_yticks(range(c1.size), [_fmt_conc(v) for v in c1])
    ax.set_xlabel(str(sub["drug2"].iloc[0]))
    ax.set_ylabel(str(sub["drug1"].iloc[0]))


def _annotate(ax, mat: np.ndarray, norm: Normalize, cmap_name: str, fmt: str) -> None:
    cm = colormaps[cmap_name]
    for i in range(mat.shape[0]):
        for j in range(mat.shape[1]):
            v = mat[i, j]
            if not np.isfinite(v):
                continue
            r, g, b, _ = cm(norm(v))
            dark = (0.299 * r + 0.587 * g + 0.114 * b) < 0.5
            ax.text(j, i, format(v, fmt), ha="center", va="center", fontsize=7,
                    color="white" if dark else "black", gid=CELL_GID)


def plot_response_matrix(result: object, block: object, *, value: str = "inhibition",
                         annotate: bool = True, fmt: str = ".1f") -> Figure:
    """Heatmap of the dose-response matrix of one block.

    Parameters
    ----------
    result
        :class:`~preclin.synergy.score.SynergyResult` or its ``cells`` table.
    block
        Block label.
    value
        Column to show: ``"inhibition"`` (default) or ``"response"``.
    annotate
        Write the value in every cell.
    fmt
        Number format of the annotations.
    """
    sub = _cells_of(result, block)
    c1, c2, mat = _grid(sub, value)
    fig = Figure(figsize=(1.2 + 0.75 * c2.size, 1.0 + 0.6 * c1.size), layout="constrained")
    ax = fig.add_subplot()
    lo, hi = (0.0, 100.0) if np.nanmin(mat) >= 0 and np.nanmax(mat) <= 100 else (
        float(np.nanmin(mat)), float(np.nanmax(mat)))
    norm = Normalize(lo, hi)
    im = ax.imshow(mat, origin="lower", cmap=_RESPONSE_CMAP, norm=norm, aspect="auto")
    _axes_labels(ax, c1, c2, sub)
    if annotate:
        _annotate(ax, mat, norm, _RESPONSE_CMAP, fmt)
    label = "% inhibition" if value == "inhibition" else value
    fig.colorbar(im, ax=ax, label=label)
    ax.set_title(f"Block {block}: {sub['drug1'].iloc[0]} + {sub['drug2'].iloc[0]}")
    return fig


def plot_synergy(result: object, block: object, model: str = "zip", *, kind: Kind = "heatmap",
                 annotate: bool = True, fmt: str = ".1f", limit: float | None = None) -> Figure:
    """Synergy map of one model for one block.

    Parameters
    ----------
    result
        :class:`~preclin.synergy.score.SynergyResult` (its ``blocks`` table gives the mean
        in the title) or the ``cells`` table.
    block
        Block label.
    model
        ``"bliss"``, ``"hsa"``, ``"loewe"`` or ``"zip"``.
    kind
        ``"heatmap"`` (annotated cells), ``"contour"`` (filled contours over the dose
        grid) or ``"surface"`` (3-D).
    annotate
        Write the synergy in every cell (heatmap only).
    fmt
        Number format of the annotations.
    limit
        Colour-scale half-range (default: the largest absolute synergy, at least 10).
    """
    sub = _cells_of(result, block)
    c1, c2, mat = _grid(sub, f"{model}_synergy")
    half = limit if limit is not None else max(10.0, float(np.nanmax(np.abs(mat))))
    norm = Normalize(-half, half)
    title = f"{model.upper() if model != 'bliss' else 'Bliss'} synergy, block {block}"
    blocks = getattr(result, "blocks", None)
    if isinstance(blocks, pd.DataFrame) and model in blocks.columns:
        row = blocks[blocks["block"] == block]
        if not row.empty:
            title += f": mean {float(row[model].iloc[0]):.2f}"
            p = row.get(f"{model}_p")
            if p is not None and np.isfinite(float(p.iloc[0])):
                title += f" (p = {float(p.iloc[0]):.2g})"
    if kind == "surface":
        fig = Figure(figsize=(6.0, 5.0), layout="constrained")
        ax = fig.add_subplot(projection="3d")
        xx, yy = np.meshgrid(np.arange(c2.size), np.arange(c1.size))
        surf = ax.plot_surface(xx, yy, mat, cmap=_SYNERGY_CMAP, norm=norm, linewidth=0.3,
                               edgecolor="grey")
        ax.set_xticks(range(c2.size), [_fmt_conc(v) for v in c2])
        ax.set_yticks(range(c1.size), [_fmt_conc(v) for v in c1])
        ax.set_xlabel(str(sub["drug2"].iloc[0]))
        ax.set_ylabel(str(sub["drug1"].iloc[0]))
        ax.set_zlabel("synergy")
        fig.colorbar(surf, ax=ax, shrink=0.6, label="synergy (% inhibition)")
        ax.set_title(title)
        return fig
    fig = Figure(figsize=(1.4 + 0.75 * c2.size, 1.0 + 0.6 * c1.size), layout="constrained")
    ax = fig.add_subplot()
    im: ScalarMappable
    if kind == "heatmap":
        im = ax.imshow(mat, origin="lower", cmap=_SYNERGY_CMAP, norm=norm, aspect="auto")
        if annotate:
            _annotate(ax, mat, norm, _SYNERGY_CMAP, fmt)
    elif kind == "contour":
        levels = np.linspace(-half, half, 21)
        xx, yy = np.meshgrid(np.arange(c2.size), np.arange(c1.size))
        im = ax.contourf(xx, yy, np.clip(mat, -half, half), levels=levels, cmap=_SYNERGY_CMAP,
                         norm=norm)
        ax.contour(xx, yy, mat, levels=[0.0], colors="k", linewidths=0.8)
    else:
        raise InputError(f"unknown plot kind {kind!r}; use 'heatmap', 'contour' or 'surface'")
    _axes_labels(ax, c1, c2, sub)
    fig.colorbar(im, ax=ax, label="synergy (% inhibition)")
    ax.set_title(title)
    return fig
