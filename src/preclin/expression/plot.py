"""Expression figures: volcano, MA plot and clustered heatmap with sample annotations."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from .cluster import HClust, hclust

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

__all__ = ["volcano", "ma_plot", "heatmap", "CALL_COLOURS"]

#: Colours of the DE calls.
CALL_COLOURS = {"up": "#c0392b", "down": "#2166ac", "": "#9e9e9e"}


def _calls(table: pd.DataFrame, call: str) -> np.ndarray:
    if call in table.columns:
        return table[call].fillna("").astype(str).to_numpy()
    return np.full(len(table), "", dtype=object)


def volcano(table: pd.DataFrame, *, call: str = "call", fc: float | None = 1.5,
            p: float | None = 0.05, label_top: int = 10, title: str | None = None) -> Figure:
    """Volcano plot: logFC against −log10 p, points coloured by ``call`` (up/down/''),
    threshold lines at ±log2(fc) and p, the ``label_top`` smallest p labelled."""
    from matplotlib.figure import Figure

    fig = Figure(figsize=(5.5, 4.5))
    ax = fig.add_subplot(1, 1, 1)
    x = table["logfc"].to_numpy(dtype=float)
    y = -np.log10(np.clip(table["p_value"].to_numpy(dtype=float), 1e-300, 1))
    calls = _calls(table, call)
    for key in ("", "down", "up"):
        sel = calls == key
        if sel.any():
            ax.scatter(x[sel], y[sel], s=6, c=CALL_COLOURS[key], alpha=0.7, linewidths=0,
                       label={"": "not called", "up": f"up ({int(sel.sum())})",
                              "down": f"down ({int(sel.sum())})"}[key], rasterized=True)
    if fc:
        for v in (-np.log2(fc), np.log2(fc)):
            ax.axvline(v, color="grey", lw=0.6, ls="--")
    if p:
        ax.axhline(-np.log10(p), color="grey", lw=0.6, ls="--")
    if label_top:
        top = np.argsort(table["p_value"].to_numpy(dtype=float), kind="stable")[:label_top]
        for i in top:
            ax.annotate(str(table["feature"].iloc[i]), (x[i], y[i]), fontsize=6,
                        xytext=(2, 2), textcoords="offset points")
    ax.set_xlabel("log2 fold change")
    ax.set_ylabel("−log10 p")
    ax.legend(fontsize=7, frameon=False)
    if title:
        ax.set_title(title)
    fig.tight_layout()
    return fig


def ma_plot(table: pd.DataFrame, *, call: str = "call", title: str | None = None) -> Figure:
    """MA plot: mean log2 expression (A) against logFC (M), coloured by ``call``."""
    from matplotlib.figure import Figure

    fig = Figure(figsize=(5.5, 4.5))
    ax = fig.add_subplot(1, 1, 1)
    a = table["ave_expr"].to_numpy(dtype=float)
    m = table["logfc"].to_numpy(dtype=float)
    calls = _calls(table, call)
    for key in ("", "down", "up"):
        sel = calls == key
        if sel.any():
            ax.scatter(a[sel], m[sel], s=6, c=CALL_COLOURS[key], alpha=0.7, linewidths=0,
                       rasterized=True)
    ax.axhline(0, color="black", lw=0.6)
    ax.set_xlabel("mean log2 expression (A)")
    ax.set_ylabel("log2 fold change (M)")
    if title:
        ax.set_title(title)
    fig.tight_layout()
    return fig


def _dendrogram(ax: Axes, tree: HClust, orientation: str) -> None:
    n = len(tree.labels)
    pos = np.empty(n)
    pos[tree.order] = np.arange(n)
    xy: dict[int, tuple[float, float]] = {}

    def coord(node: int) -> tuple[float, float]:
        return (float(pos[-node - 1]), 0.0) if node < 0 else xy[node]

    for step, (a, b) in enumerate(tree.merge, start=1):
        (xa, ha), (xb, hb) = coord(int(a)), coord(int(b))
        h = float(tree.height[step - 1])
        xs, ys = [xa, xa, xb, xb], [ha, h, h, hb]
        if orientation == "top":
            ax.plot(xs, ys, color="black", lw=0.6)
        else:
            ax.plot(ys, xs, color="black", lw=0.6)
        xy[step] = ((xa + xb) / 2, h)
    ax.set_axis_off()
    if orientation == "top":
        ax.set_xlim(-0.5, n - 0.5)
    else:
        ax.set_ylim(n - 0.5, -0.5)
        ax.invert_xaxis()


def heatmap(values: pd.DataFrame, *, annotations: pd.DataFrame | None = None,
            annotate: Sequence[str] = (), scale_rows: bool = True,
            cluster_rows: bool = True, cluster_columns: bool = True,
            max_labels: int = 60, title: str | None = None) -> Figure:
    """Clustered heatmap (1 − Pearson correlation, average linkage on rows and columns).

    Parameters
    ----------
    values
        Features x samples (log2).
    annotations, annotate
        Sample table indexed by sample ID and the columns to draw as colour bars above
        the heatmap.
    scale_rows
        Show row z-scores (clustering is unaffected: correlation is scale-free).
    """
    from matplotlib import colormaps
    from matplotlib.figure import Figure

    data = values.astype(float)
    rows = hclust(data) if cluster_rows and len(data) > 2 else None
    cols = hclust(data.T) if cluster_columns and data.shape[1] > 2 else None
    ro = rows.order if rows is not None else np.arange(len(data))
    co = cols.order if cols is not None else np.arange(data.shape[1])
    mat = data.to_numpy()
    if scale_rows:
        sd = mat.std(axis=1, ddof=1, keepdims=True)
        mat = (mat - mat.mean(axis=1, keepdims=True)) / np.where(sd > 0, sd, 1)
    mat = mat[np.ix_(ro, co)]
    n_ann = len(annotate)
    fig = Figure(figsize=(6.5, 7.0))
    gs = fig.add_gridspec(3, 3, width_ratios=[1.2, 6, 0.25],
                          height_ratios=[1.0, 0.22 * max(n_ann, 1), 6], wspace=0.02,
                          hspace=0.02)
    ax = fig.add_subplot(gs[2, 1])
    lim = float(np.nanmax(np.abs(mat))) if scale_rows and mat.size else None
    im = ax.imshow(mat, aspect="auto", cmap="RdBu_r", interpolation="nearest",
                   vmin=-lim if lim else None, vmax=lim)
    ax.set_xticks(np.arange(len(co)), [str(data.columns[i]) for i in co], rotation=90,
                  fontsize=6)
    if len(ro) <= max_labels:
        ax.set_yticks(np.arange(len(ro)), [str(data.index[i]) for i in ro], fontsize=5)
        ax.yaxis.tick_right()
    else:
        ax.set_yticks([])
    if cols is not None:
        _dendrogram(fig.add_subplot(gs[0, 1]), cols, "top")
    if rows is not None:
        _dendrogram(fig.add_subplot(gs[2, 0]), rows, "left")
    if n_ann and annotations is not None:
        axa = fig.add_subplot(gs[1, 1])
        palette = colormaps["tab10"]
        codes = np.zeros((n_ann, len(co)))
        for i, col in enumerate(annotate):
            vals = annotations.reindex([str(data.columns[j]) for j in co])[col].astype(str)
            levels = sorted(set(vals))
            codes[i] = [levels.index(v) % 10 for v in vals]
        axa.imshow(codes, aspect="auto", cmap=palette, vmin=0, vmax=9,
                   interpolation="nearest")
        axa.set_yticks(np.arange(n_ann), list(annotate), fontsize=6)
        axa.set_xticks([])
    fig.colorbar(im, cax=fig.add_subplot(gs[2, 2]), label="row z-score" if scale_rows
                 else "log2 expression")
    if title:
        fig.suptitle(title)
    return fig
