"""Small helpers shared by the enrichment modules."""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike, NDArray

__all__ = ["bh_adjust"]


def bh_adjust(p: ArrayLike) -> NDArray[np.float64]:
    """Benjamini–Hochberg adjusted p values (R ``p.adjust(p, "BH")``); NaN stays NaN.

    The same rule as ``preclin.expression``'s; kept here because rooms do not import each
    other (candidate for ``preclin.stats.adjust_p``).
    """
    pa = np.asarray(p, dtype=float)
    out = np.full(pa.shape, np.nan)
    ok = ~np.isnan(pa)
    q = pa[ok]
    n = q.size
    if n == 0:
        return out
    order = np.argsort(-q, kind="stable")
    adj = np.minimum.accumulate(n / np.arange(n, 0, -1, dtype=float) * q[order])
    res = np.empty(n)
    res[order] = np.minimum(adj, 1.0)
    out[ok] = res
    return out
