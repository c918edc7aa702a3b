"""Numerical helpers of the expression room: trigamma inverse, natural-spline basis, BH.

Written from the published methods (Smyth 2004, appendix; Hastie, Tibshirani & Friedman,
*Elements of Statistical Learning* §5.2.1; Benjamini & Hochberg 1995).
"""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike, NDArray

__all__ = ["trigamma_inverse", "natural_spline_basis", "bh_adjust"]


def trigamma_inverse(x: ArrayLike) -> NDArray[np.float64]:
    """Solve ``trigamma(y) = x`` for ``y > 0`` by Newton's method (Smyth 2004, appendix).

    Newton's method on ``1/trigamma(y)``, which is convex and close to linear, started at
    ``y = 0.5 + 1/x``; it converges monotonically. For ``x > 1e7`` the asymptote
    ``1/sqrt(x)`` is returned, for ``x < 1e-6`` the asymptote ``1/x``.
    """
    from scipy.special import polygamma

    xa = np.atleast_1d(np.asarray(x, dtype=float))
    out = np.full(xa.shape, np.nan)
    big = xa > 1e7
    small = xa < 1e-6
    out[big] = 1.0 / np.sqrt(xa[big])
    out[small] = 1.0 / xa[small]
    mid = ~big & ~small & (xa > 0)
    if mid.any():
        xm = xa[mid]
        y = 0.5 + 1.0 / xm
        for _ in range(50):
            tri = polygamma(1, y)
            dif = tri * (1.0 - tri / xm) / polygamma(2, y)
            y = y + dif
            if np.max(-dif / y) < 1e-8:
                break
        out[mid] = y
    return out


def natural_spline_basis(x: NDArray[np.float64], df: int) -> NDArray[np.float64]:
    """Natural cubic spline basis with intercept, ``df`` columns (R ``ns(x, df, intercept=TRUE)``).

    Knots: the boundary knots are ``min(x)`` and ``max(x)``; ``df - 2`` interior knots sit at
    the quantiles ``1/(df-1), ..., (df-2)/(df-1)`` of ``x`` (type-7 quantiles, R's default).
    The basis is the truncated-power form of ESL §5.2.1, which spans the same space as R's
    B-spline form; only the space matters for least-squares fitted values.
    """
    x = np.asarray(x, dtype=float)
    lo, hi = float(np.min(x)), float(np.max(x))
    span = hi - lo if hi > lo else 1.0
    u = (x - lo) / span  # rescaled to [0, 1]: same space, better conditioning
    if df <= 1:
        return np.ones((len(x), 1))
    if df == 2:
        return np.column_stack([np.ones_like(u), u])
    inner = (np.quantile(x, np.arange(1, df - 1) / (df - 1)) - lo) / span
    knots = np.concatenate([[0.0], inner, [1.0]])
    k_last = knots[-1]

    def d(k: float) -> NDArray[np.float64]:
        return (np.clip(u - k, 0, None) ** 3 - np.clip(u - k_last, 0, None) ** 3) / (k_last - k)

    d_prev = d(knots[-2])
    cols = [np.ones_like(u), u] + [d(knots[j]) - d_prev for j in range(len(knots) - 2)]
    return np.column_stack(cols)


def bh_adjust(p: ArrayLike) -> NDArray[np.float64]:
    """Benjamini–Hochberg adjusted p values (R ``p.adjust(p, "BH")``); NaN stays NaN and does
    not count in the number of tests (:func:`preclin.stats.adjust_p` with ``"bh"``)."""
    from ..stats.multiple import adjust_p

    return np.asarray(adjust_p(np.asarray(p, dtype=float), "bh"), dtype=np.float64)
