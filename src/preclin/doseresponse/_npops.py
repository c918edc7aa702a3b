"""NumPy twins of the compiled helpers in :mod:`._kernel` (no numba).

The numpy engine and small jobs use these so that a first fit never waits for numba to
compile (see ``docs/methods/doseresponse.md``, "Engines"). Each function has the name,
signature and result of its compiled twin; integer results are identical, floating ones
agree to rounding (the t and F distributions come from :mod:`scipy.special` here and from
a compiled incomplete beta in :mod:`._kernel`, tested against each other).
"""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

from . import _lm
from .models import Model

__all__ = ["rank_by_first", "first_rows", "row_sums", "response", "areas",
           "distinct_and_pure_error", "f_sf", "t_quantile"]

Array = NDArray[np.float64]


def rank_by_first(cat: NDArray[np.integer], n_values: int) -> tuple[NDArray[np.int32], int]:
    """Category codes (0 .. n_values − 1, −1 missing) renumbered in order of first
    appearance, missing values a code of their own; and the number of codes used."""
    cat64 = np.asarray(cat, dtype=np.int64) + 1
    if cat64.size == 0:
        return np.empty(0, dtype=np.int32), 0
    first = np.full(int(n_values) + 1, cat64.size, dtype=np.int64)
    np.minimum.at(first, cat64, np.arange(cat64.size, dtype=np.int64))
    present = np.nonzero(first < cat64.size)[0]
    order = present[np.argsort(first[present], kind="stable")]
    rank = np.full(int(n_values) + 1, -1, dtype=np.int32)
    rank[order] = np.arange(order.size, dtype=np.int32)
    return rank[cat64], int(order.size)


def first_rows(codes: NDArray[np.integer], n_curves: int) -> NDArray[np.int64]:
    """Row of the first appearance of every curve code (0 .. n_curves − 1)."""
    c = np.asarray(codes, dtype=np.int64)
    first = np.full(n_curves, c.size, dtype=np.int64)
    np.minimum.at(first, c, np.arange(c.size, dtype=np.int64))
    first[first == c.size] = -1
    return first


def row_sums(values: Array, counts: NDArray[np.int64]) -> Array:
    """Sum of the first ``counts[i]`` entries of each row, left to right (the rounding of
    :func:`._kernel.row_sums`: a sequential sum, independent of the padded width)."""
    v = np.asarray(values, dtype=np.float64)
    out = np.zeros(v.shape[0])
    if v.shape[0] == 0 or v.shape[1] == 0:
        return out
    keep = np.arange(v.shape[1])[None, :] < np.asarray(counts)[:, None]
    masked = np.where(keep, v, 0.0)
    # np.cumsum adds left to right one element at a time (no pairwise blocking)
    return np.cumsum(masked, axis=1)[:, -1] + 0.0


def response(model: Model, theta: Array, logx: Array) -> Array:
    """:meth:`Model.response` with the compiled twin's handling of dose 0 and ``b = 0``."""
    theta = np.asarray(theta, dtype=np.float64)
    logx = np.asarray(logx, dtype=np.float64)
    b = theta[:, 0:1]
    with np.errstate(invalid="ignore"):
        z = b * (logx - theta[:, 3:4])
    zero = np.isneginf(logx)
    z0 = np.where(b > 0, -np.inf, np.where(b < 0, np.inf, 0.0))
    z = np.where(zero, np.broadcast_to(z0, z.shape), z)
    c = theta[:, 1:2]
    d = theta[:, 2:3]
    return c + (d - c) * _g(model, z, theta[:, 4:5])


def _softplus(z: Array) -> Array:
    with np.errstate(over="ignore"):
        return np.where(z > 0, z + np.log1p(np.exp(-np.abs(z))), np.log1p(np.exp(np.minimum(z, 0))))


def _g(model: Model, z: Array, f: Array | float) -> Array:
    """g(z) as :func:`._kernel._g` computes it (same branches)."""
    z = np.asarray(z, dtype=np.float64)
    with np.errstate(over="ignore", invalid="ignore"):
        if model.family == "ll":
            if model.five:
                return np.exp(-np.asarray(f) * _softplus(z))
            ez = np.exp(-np.abs(z))
            return np.where(z > 0, ez / (1.0 + ez), 1.0 / (1.0 + ez))
        ez = np.exp(z)
        if model.family == "w1":
            return np.exp(-ez)
        return -np.expm1(-ez)


def _simpson(model: Model, f: Array, za: Array, zb: Array, nodes: int) -> Array:
    """Composite Simpson integral of g over [za, zb] per curve (0 where za >= zb)."""
    h = (zb - za) / (nodes - 1)
    j = np.arange(nodes)
    wts = np.where((j == 0) | (j == nodes - 1), 1.0, np.where(j % 2 == 1, 4.0, 2.0))
    zz = za[:, None] + h[:, None] * j[None, :]
    g = _g(model, zz, f[:, None])
    # left to right, as the compiled loop
    s = np.cumsum(g * wts[None, :], axis=1)[:, -1]
    return np.where(zb > za, s * h / 3.0, 0.0)


def _int_gz(model: Model, f: Array, za: Array, zb: Array, nodes: int) -> Array:
    """Integral of g(z) over [za, zb], za <= zb (see :func:`._kernel._int_gz`)."""
    if model.family == "ll" and not model.five:
        return (zb - za) - (_softplus(zb) - _softplus(za))
    left = 0.0 if model.family == "w2" else 1.0
    right = 1.0 if model.family == "w2" else 0.0
    wl = -40.0
    wm = 4.0 if model.family != "ll" else 5.0
    wr = (np.full(za.shape, wm) if model.family != "ll"
          else np.maximum(5.0, 40.0 / f + 5.0))
    total = np.zeros(za.shape)
    total += np.where(za < wl, left * (np.minimum(zb, wl) - za), 0.0)
    total += np.where(zb > wr, right * (zb - np.maximum(za, wr)), 0.0)
    a0 = np.maximum(za, wl)
    a1 = np.minimum(zb, wm)
    total += _simpson(model, f, a0, np.maximum(a1, a0), nodes)
    a0 = np.maximum(za, wm)
    a1 = np.minimum(zb, wr)
    total += _simpson(model, f, a0, np.maximum(a1, a0), nodes)
    return total


def _int_g(model: Model, b: Array, le: Array, f: Array, u0: Array, u1: Array,
           nodes: int) -> Array:
    """Integral of g(b(u − le)) over u in [u0, u1] per curve."""
    width = u1 - u0
    flat = b == 0.0
    ll4 = model.family == "ll" and not model.five
    lin = (~flat) & ll4 & (np.abs(b) * width < 1e-4)
    with np.errstate(invalid="ignore", divide="ignore"):
        z0 = b * (u0 - le)
        z1 = b * (u1 - le)
        za = np.where(flat | lin, 0.0, np.minimum(z0, z1))
        zb = np.where(flat | lin, 0.0, np.maximum(z0, z1))
        general = _int_gz(model, f, za, zb, nodes) / np.abs(b)
    out = np.where(lin, width * (0.5 - b * (0.5 * (u0 + u1) - le) / 4.0), general)
    return np.where(flat, width * _g(model, np.zeros_like(b), f), out)


def _ginv(model: Model, g: Array, f: Array) -> Array:
    with np.errstate(divide="ignore", invalid="ignore"):
        if model.family == "ll":
            if model.five:
                return np.log(g ** (-1.0 / f) - 1.0)
            return np.log(1.0 / g - 1.0)
        if model.family == "w1":
            return np.log(-np.log(g))
        return np.log(-np.log1p(-g))


def areas(model: Model, theta: Array, lo: Array, hi: Array, reference: float,
          nodes: int = 401) -> tuple[Array, Array]:
    """Mean fitted response and activity area of each curve (as :func:`._kernel.areas`)."""
    th = np.asarray(theta, dtype=np.float64)
    if th.shape[0] == 0:
        return np.empty(0), np.empty(0)
    b, c, d, le, f = (th[:, i] for i in range(5))
    lo = np.asarray(lo, dtype=np.float64)
    hi = np.asarray(hi, dtype=np.float64)
    width = hi - lo
    with np.errstate(invalid="ignore", divide="ignore"):
        auc = c + (d - c) * _int_g(model, b, le, f, lo, hi, nodes) / width
    if reference == 0:
        return auc, np.zeros_like(auc)
    alpha = 1.0 - c / reference
    beta = -(d - c) / reference
    # v(u) = (reference − y)/reference = alpha + beta·g(u), monotone in u
    g_lo = _g(model, b * (lo - le), f)
    g_hi = _g(model, b * (hi - le), f)
    v_lo = alpha + beta * g_lo
    v_hi = alpha + beta * g_hi
    below = (v_lo <= 0) & (v_hi <= 0)
    above = (v_lo >= 0) & (v_hi >= 0) & ~below
    cross = ~below & ~above
    with np.errstate(invalid="ignore", divide="ignore"):
        whole = alpha * width + beta * _int_g(model, b, le, f, lo, hi, nodes)
        us = np.clip(le + _ginv(model, -alpha / beta, f) / b, lo, hi)
    us = np.where(cross, us, lo)
    u0 = np.where(v_lo > 0, lo, us)
    u1 = np.where(v_lo > 0, us, hi)
    with np.errstate(invalid="ignore", divide="ignore"):
        part = alpha * (u1 - u0) + beta * _int_g(model, b, le, f, u0, u1, nodes)
    act = np.where(below, 0.0, np.where(above, whole, part))
    return auc, np.maximum(act, 0.0) / np.log(10.0)


def distinct_and_pure_error(packed: _lm.Packed) -> tuple[NDArray[np.int64], Array,
                                                        NDArray[np.int64]]:
    """Distinct doses, pure-error sum of squares and its df, per curve (padding ignored)."""
    m = packed.y.shape[0]
    distinct = np.zeros(m, dtype=np.int64)
    sspe = np.zeros(m)
    df_pe = np.zeros(m, dtype=np.int64)
    for ci in range(m):
        n = int(packed.n[ci])
        lx = packed.logx[ci, :n]
        w = packed.w[ci, :n]
        y = packed.y[ci, :n]
        pos = w > 0
        if not pos.any():
            continue
        levels, inv = np.unique(lx[pos], return_inverse=True)
        sw = np.bincount(inv, weights=w[pos])
        mean = np.bincount(inv, weights=w[pos] * y[pos]) / sw
        r = y[pos] - mean[inv]
        distinct[ci] = levels.size
        sspe[ci] = float(np.sum(w[pos] * r * r))
        df_pe[ci] = int(pos.sum()) - levels.size
    return distinct, sspe, df_pe


def f_sf(df1: NDArray[np.number] | float, df2: NDArray[np.number] | float,
         f: NDArray[np.number]) -> Array:
    """Upper tail P(F > f) of the F distribution."""
    from scipy.special import fdtrc

    fv = np.asarray(f, dtype=np.float64)
    a = np.broadcast_to(np.asarray(df1, dtype=np.float64), fv.shape)
    b = np.broadcast_to(np.asarray(df2, dtype=np.float64), fv.shape)
    valid = (a > 0) & (b > 0) & ~np.isnan(fv)
    with np.errstate(invalid="ignore"):
        out = np.where(valid, fdtrc(np.where(valid, a, 1.0), np.where(valid, b, 1.0),
                                    np.maximum(fv, 0.0)), np.nan)
    return np.asarray(out, dtype=np.float64)


def t_quantile(df: NDArray[np.number], p: float) -> Array:
    """Quantile ``p`` (> 0.5) of Student's t for each df > 0."""
    from scipy.special import stdtrit

    return np.asarray(stdtrit(np.asarray(df, dtype=np.float64), p), dtype=np.float64)
