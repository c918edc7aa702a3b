"""Enrichment figures: dot plot of the top terms."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

if TYPE_CHECKING:
    from matplotlib.figure import Figure

__all__ = ["dot_plot"]


def dot_plot(table: pd.DataFrame, *, top: int = 20, size: str = "de",
             ratio: str | None = None, title: str | None = None) -> Figure:
    """Dot plot of the ``top`` terms by p value: x = −log10 FDR, dot size = ``size``
    genes, colour = ``ratio`` (default: de/n for ORA tables, ``enrichment`` for mHG).

    Parameters
    ----------
    table
        An ORA or mHG table (``name``, ``adj_p_value``, ``de``, ``n``).
    """
    from matplotlib.figure import Figure

    t = table.sort_values(["p_value", "term"], kind="stable").head(top).iloc[::-1]
    fig = Figure(figsize=(7.0, 0.32 * max(len(t), 3) + 1.2))
    ax = fig.add_subplot(1, 1, 1)
    if t.empty:
        ax.text(0.5, 0.5, "no term", ha="center", va="center", transform=ax.transAxes)
        return fig
    q = np.clip(t["adj_p_value"].to_numpy(dtype=float), 1e-300, 1)
    col = (t[ratio] if ratio else t["enrichment"] if "enrichment" in t.columns
           else t["de"] / t["n"]).to_numpy(dtype=float)
    sz = t[size].to_numpy(dtype=float)
    sc = ax.scatter(-np.log10(q), np.arange(len(t)), s=20 + 180 * sz / max(sz.max(), 1),
                    c=col, cmap="viridis", edgecolors="black", linewidths=0.4)
    labels = [f"{n[:50]}{'…' if len(n) > 50 else ''} ({tm})"
              for n, tm in zip(t["name"].astype(str), t["term"].astype(str), strict=True)]
    ax.set_yticks(np.arange(len(t)), labels, fontsize=7)
    ax.set_xlabel("−log10 FDR")
    ax.axvline(-np.log10(0.05), color="grey", lw=0.6, ls="--")
    fig.colorbar(sc, ax=ax, label="enrichment" if ratio is None and "enrichment" in t.columns
                 else (ratio or "de / n"))
    if title:
        ax.set_title(title)
    fig.tight_layout()
    return fig
