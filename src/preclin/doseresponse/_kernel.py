"""Compiled (numba) fitting engine: the same algorithm as :mod:`._lm`, one curve per task.

Every curve is fitted independently inside a ``prange`` loop, so results do not depend on
the batch size or on the number of threads. The algorithm mirrors the numpy reference
engine in :mod:`._lm` step for step (grid starts with profiled asymptotes, slope-diverse
starts, Levenberg–Marquardt with the same acceptance and stopping rules, bounds and drift
detection, full-Hessian covariance); tests check that both engines agree.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from pathlib import Path

import numpy as np
from numba import njit, prange
from numpy.typing import NDArray

from . import _lm
from .models import PARAM_NAMES, Model

__all__ = ["fit_long", "kernels_cached", "group_rows", "first_rows", "rank_by_first",
           "distinct_and_pure_error", "row_sums", "response", "areas"]

Array = NDArray[np.float64]

_FAMILIES = {"ll": 0, "w1": 1, "w2": 2}


@njit(cache=True, inline="always", error_model="numpy")
def _softplus(z: float) -> float:
    if z > 0:
        return z + math.log1p(math.exp(-z))
    return math.log1p(math.exp(z))


@njit(cache=True, inline="always", error_model="numpy")
def _g(fam: int, five: bool, z: float, f: float) -> tuple[float, float, float]:
    """g(z), dg/dz and dg/df (0 where undefined at z = ±inf)."""
    if fam == 0:
        if five:
            sp = _softplus(z)
            g = math.exp(-f * sp)
            if z > 0:
                s = 1.0 / (1.0 + math.exp(-z))
            else:
                ez = math.exp(z)
                s = ez / (1.0 + ez)
            dg = -f * s * g
            dgf = -sp * g if g > 0 else 0.0
            return g, dg, dgf
        if z > 0:
            ez = math.exp(-z)
            g = ez / (1.0 + ez)
        else:
            g = 1.0 / (1.0 + math.exp(z))
        return g, -g * (1.0 - g), 0.0
    if z == math.inf:
        ez = math.inf
        d = 0.0
    else:
        ez = math.exp(z)
        d = math.exp(z - ez) if z != -math.inf else 0.0
    if fam == 1:
        return math.exp(-ez), -d, 0.0
    return -math.expm1(-ez), d, 0.0


@njit(cache=True, inline="always", error_model="numpy")
def _z(b: float, lx: float, le: float) -> tuple[float, float]:
    u = lx - le
    if lx == -math.inf:
        if b > 0:
            return -math.inf, u
        if b < 0:
            return math.inf, u
        return 0.0, u
    return b * u, u


@njit(cache=True, inline="always", error_model="numpy")
def _ll4_point(lx: float, b: float, le: float, zero_z: float) -> tuple[float, float, float, bool]:
    """Log-logistic g, dg/dz, u = lx − le and whether the dose is positive, at one point
    (``zero_z``: z at dose 0, ±inf by the sign of b)."""
    fin = lx != -math.inf
    u = lx - le
    z = b * u if fin else zero_z
    ez = math.exp(-abs(z))
    inv = 1.0 / (1.0 + ez)
    g = ez * inv if z > 0 else inv
    return g, -g * (1.0 - g), u, fin


@njit(cache=True, error_model="numpy")
def _jac_ll4(th: NDArray[np.float64], lx: NDArray[np.float64], n: int,
             out_y: NDArray[np.float64], out_j: NDArray[np.float64]) -> None:
    """LL.4 with b, c, d, log e free: straight-line code the compiler can vectorise.

    Same values as :func:`_jac` (dose 0, ``lx = -inf``, handled with selects).
    """
    b, c, d, le = th[0], th[1], th[2], th[3]
    amp = d - c
    zero_z = -math.inf if b > 0 else (math.inf if b < 0 else 0.0)
    for i in range(n):
        g, dg, u, fin = _ll4_point(lx[i], b, le, zero_z)
        out_y[i] = c + amp * g
        out_j[i, 0] = amp * dg * u if fin else 0.0
        out_j[i, 1] = 1.0 - g
        out_j[i, 2] = g
        out_j[i, 3] = -amp * dg * b


@njit(cache=True, error_model="numpy")
def _jac(fam: int, five: bool, th: NDArray[np.float64], lx: NDArray[np.float64], n: int,
         free: NDArray[np.int64], out_y: NDArray[np.float64], out_j: NDArray[np.float64]) -> None:
    """Response (out_y[:n]) and Jacobian w.r.t. the free parameters (out_j[:n, :k])."""
    k = free.shape[0]
    if fam == 0 and not five and k == 4 and free[0] == 0 and free[3] == 3:
        _jac_ll4(th, lx, n, out_y, out_j)
        return
    b, c, d, le, f = th[0], th[1], th[2], th[3], th[4]
    amp = d - c
    for i in range(n):
        z, u = _z(b, lx[i], le)
        g, dg, dgf = _g(fam, five, z, f)
        out_y[i] = c + amp * g
        for q in range(k):
            p = free[q]
            if p == 0:
                out_j[i, q] = amp * dg * u if lx[i] != -math.inf else 0.0
            elif p == 1:
                out_j[i, q] = 1.0 - g
            elif p == 2:
                out_j[i, q] = g
            elif p == 3:
                out_j[i, q] = -amp * dg * b
            else:
                out_j[i, q] = amp * dgf


@njit(cache=True, error_model="numpy")
def _solve(a: NDArray[np.float64], rhs: NDArray[np.float64], k: int,
           x: NDArray[np.float64]) -> bool:
    """Gaussian elimination with partial pivoting on a k×k system (a, rhs are overwritten)."""
    for col in range(k):
        piv = col
        best = abs(a[col, col])
        for r in range(col + 1, k):
            if abs(a[r, col]) > best:
                best = abs(a[r, col])
                piv = r
        if best == 0.0 or not math.isfinite(best):
            return False
        if piv != col:
            for cc in range(k):
                t = a[col, cc]
                a[col, cc] = a[piv, cc]
                a[piv, cc] = t
            t = rhs[col]
            rhs[col] = rhs[piv]
            rhs[piv] = t
        for r in range(col + 1, k):
            fac = a[r, col] / a[col, col]
            for cc in range(col, k):
                a[r, cc] -= fac * a[col, cc]
            rhs[r] -= fac * rhs[col]
    for r in range(k - 1, -1, -1):
        s = rhs[r]
        for cc in range(r + 1, k):
            s -= a[r, cc] * x[cc]
        x[r] = s / a[r, r]
    return True


@njit(cache=True, error_model="numpy")
def _clip(th: NDArray[np.float64], free_mask: NDArray[np.bool_], lo: float, hi: float,
          ylo: float, yhi: float, five: bool, max_b: float, margin: float) -> None:
    if free_mask[0]:
        th[0] = min(max(th[0], -max_b), max_b)
    for j in (1, 2):
        if free_mask[j]:
            th[j] = min(max(th[j], ylo), yhi)
    if free_mask[3]:
        th[3] = min(max(th[3], lo - margin), hi + margin)
    if five and free_mask[4]:
        th[4] = min(max(th[4], 1e-3), 1e3)


@njit(cache=True, error_model="numpy")
def _at_bound(th: NDArray[np.float64], free_mask: NDArray[np.bool_], lo: float, hi: float,
              ylo: float, yhi: float, max_b: float, margin: float) -> bool:
    span = yhi - ylo
    for j in (1, 2):
        if free_mask[j] and (th[j] <= ylo + 1e-12 * span or th[j] >= yhi - 1e-12 * span):
            return True
    if free_mask[0] and abs(th[0]) >= max_b * (1 - 1e-12):
        return True
    if free_mask[3] and (th[3] <= lo - margin + 1e-9 or th[3] >= hi + margin - 1e-9):
        return True
    return False


@njit(cache=True, inline="always", error_model="numpy")
def _running_off(th: NDArray[np.float64], lo: float, hi: float, yrange: float) -> bool:
    return (abs(th[0]) > 8 or th[3] < lo - 1 or th[3] > hi + 1
            or abs(th[2] - th[1]) > 3 * yrange)


@njit(cache=True, inline="always", error_model="numpy")
def _runoff_side(th: NDArray[np.float64], lx0: float, lo: float, hi: float,
                 yrange: float) -> int:
    """Which asymptote of an LL.4 fit runs off to infinity with log e (1: c, 2: d, 0: none).

    When log e lies beyond the tested doses by more than a fraction of a slope unit and the
    asymptote on that side lies well outside the responses, the curve over the doses is
    close to its limit ``a + B exp(±b u)`` reached only as log e and that asymptote go to
    infinity together: LM crawls along that valley (see :func:`_fit_one`). Doses of 0 pin
    both asymptotes, so curves with a dose of 0 (``lx0 = -inf``) never run off this way.
    """
    b, le = th[0], th[3]
    ab = abs(b)
    if lx0 == -math.inf or ab < 0.05 or ab > 8.0:
        return 0
    if abs(th[2] - th[1]) <= 1.5 * yrange:
        return 0
    if le > hi and ab * (le - hi) >= 0.3:
        return 1 if b > 0 else 2
    if le < lo and ab * (lo - le) >= 0.3:
        return 2 if b > 0 else 1
    return 0


#: reassociation and FMA contraction for the hot sums (vectorised, still deterministic);
#: no finite-math assumptions, as doses of 0 are log(0) = -inf
_FAST = {"reassoc", "contract"}


@njit(cache=True, inline="always", error_model="numpy")
def _put_sym4(m: NDArray[np.float64], a00: float, a10: float, a11: float, a20: float,
              a21: float, a22: float, a30: float, a31: float, a32: float, a33: float) -> None:
    """Fill a symmetric 4×4 matrix from its lower triangle."""
    m[0, 0], m[1, 1], m[2, 2], m[3, 3] = a00, a11, a22, a33
    m[1, 0] = m[0, 1] = a10
    m[2, 0] = m[0, 2] = a20
    m[2, 1] = m[1, 2] = a21
    m[3, 0] = m[0, 3] = a30
    m[3, 1] = m[1, 3] = a31
    m[3, 2] = m[2, 3] = a32


@njit(cache=True, inline="always", error_model="numpy", fastmath=_FAST)
def _eval_ll4(th: NDArray[np.float64], lx: NDArray[np.float64], y: NDArray[np.float64],
              w: NDArray[np.float64], n: int, jtj: NDArray[np.float64],
              jtr: NDArray[np.float64], diag: NDArray[np.float64]) -> tuple[float, float]:
    """:func:`_eval` for LL.4 with b, c, d, log e free, in one pass with scalar sums."""
    b, c, d, le = th[0], th[1], th[2], th[3]
    amp = d - c
    zero_z = -math.inf if b > 0 else (math.inf if b < 0 else 0.0)
    rss = 0.0
    t0 = t1 = t2 = t3 = 0.0
    a00 = a10 = a11 = a20 = a21 = a22 = a30 = a31 = a32 = a33 = 0.0
    for i in range(n):
        g, dg, u, fin = _ll4_point(lx[i], b, le, zero_z)
        j0 = amp * dg * u if fin else 0.0
        j1 = 1.0 - g
        j2 = g
        j3 = -amp * dg * b
        wi = w[i]
        r = y[i] - (c + amp * g)
        rss += wi * r * r
        p0 = j0 * wi
        p1 = j1 * wi
        p2 = j2 * wi
        p3 = j3 * wi
        t0 += p0 * r
        t1 += p1 * r
        t2 += p2 * r
        t3 += p3 * r
        a00 += p0 * j0
        a10 += p1 * j0
        a11 += p1 * j1
        a20 += p2 * j0
        a21 += p2 * j1
        a22 += p2 * j2
        a30 += p3 * j0
        a31 += p3 * j1
        a32 += p3 * j2
        a33 += p3 * j3
    jtr[0], jtr[1], jtr[2], jtr[3] = t0, t1, t2, t3
    _put_sym4(jtj, a00, a10, a11, a20, a21, a22, a30, a31, a32, a33)
    diag[0], diag[1], diag[2], diag[3] = a00, a11, a22, a33
    return rss, max(a00, a11, a22, a33, 0.0)


@njit(cache=True, error_model="numpy", fastmath=_FAST)
def _eval(fam: int, five: bool, th: NDArray[np.float64], lx: NDArray[np.float64],
          y: NDArray[np.float64], w: NDArray[np.float64], n: int, free: NDArray[np.int64],
          jtj: NDArray[np.float64], jtr: NDArray[np.float64],
          diag: NDArray[np.float64], jrow: NDArray[np.float64]) -> tuple[float, float]:
    """Weighted RSS at ``th`` and the normal equations JᵀWJ, JᵀWr and their diagonal, in one
    pass over the points; returns (rss, largest diagonal element)."""
    k = free.shape[0]
    if fam == 0 and not five and k == 4 and free[0] == 0 and free[3] == 3:
        return _eval_ll4(th, lx, y, w, n, jtj, jtr, diag)
    b, c, d, le, f = th[0], th[1], th[2], th[3], th[4]
    amp = d - c
    for p in range(k):
        jtr[p] = 0.0
        for q in range(k):
            jtj[p, q] = 0.0
    rss = 0.0
    for i in range(n):
        z, u = _z(b, lx[i], le)
        g, dg, dgf = _g(fam, five, z, f)
        for q in range(k):
            p = free[q]
            if p == 0:
                jrow[q] = amp * dg * u if lx[i] != -math.inf else 0.0
            elif p == 1:
                jrow[q] = 1.0 - g
            elif p == 2:
                jrow[q] = g
            elif p == 3:
                jrow[q] = -amp * dg * b
            else:
                jrow[q] = amp * dgf
        wi = w[i]
        r = y[i] - (c + amp * g)
        rss += wi * r * r
        for p in range(k):
            jp = jrow[p] * wi
            jtr[p] += jp * r
            for q in range(p + 1):
                jtj[p, q] += jp * jrow[q]
    maxd = 0.0
    for p in range(k):
        for q in range(p):
            jtj[q, p] = jtj[p, q]
        diag[p] = jtj[p, p]
        if diag[p] > maxd:
            maxd = diag[p]
    return rss, maxd


@njit(cache=True, error_model="numpy")
def _lm_curve(fam: int, five: bool, th: NDArray[np.float64], lx: NDArray[np.float64],
        y: NDArray[np.float64], w: NDArray[np.float64], n: int, free: NDArray[np.int64],
        free_mask: NDArray[np.bool_], lo: float, hi: float, ylo: float, yhi: float,
        max_iter: int, ftol: float, max_b: float, margin: float, asym_margin: float,
        wm: NDArray[np.float64], wv: NDArray[np.float64],
        offset: float = 0.0, runoff_exit: bool = False) -> tuple[float, bool, int, bool, bool]:
    """Levenberg–Marquardt on one curve, in place on ``th``; see ``_lm.levenberg_marquardt``.

    ``offset`` is added to the RSS of the points given (the pure-error sum of squares when
    replicates are given as weighted means): the stopping rules use the full RSS, and the
    full RSS is returned. ```wm`` (3, k, k) and ``wv`` (9, 10) are work arrays.

    With ``runoff_exit`` (LL.4, all parameters free), LM stops as soon as an accepted step
    lands in an asymptote-and-log-e run-off (:func:`_runoff_side`) and reports it (last
    value returned) instead of crawling there.
    """
    k = free.shape[0]
    jtj, jtj_t, a = wm[0], wm[1], wm[2]
    jtr, jtr_t, diag, diag_t = wv[0], wv[1], wv[2], wv[3]
    rhs, step, new, hist, jrow = wv[4], wv[5], wv[6], wv[7], wv[8]
    _clip(th, free_mask, lo, hi, ylo, yhi, five, max_b, margin)
    rss, maxd = _eval(fam, five, th, lx, y, w, n, free, jtj, jtr, diag, jrow)
    lam = 1e-3
    nu = 2.0
    window = 10
    for j in range(window):
        hist[j] = rss
    yrange = (yhi - ylo) / (1 + 2 * asym_margin)
    drifting = False
    converged = False
    iters = 0
    for it in range(max_iter):
        floor = 1e-12 * max(maxd, 1e-300)
        for p in range(k):
            for q in range(k):
                a[p, q] = jtj[p, q]
            a[p, p] += lam * max(diag[p], floor)
            rhs[p] = jtr[p]
        ok = _solve(a, rhs, k, step)
        pred = 0.0
        for p in range(k):
            pred += step[p] * (jtr[p] + lam * max(diag[p], floor) * step[p])
        for j in range(5):
            new[j] = th[j]
        if ok:
            for p in range(k):
                new[free[p]] = th[free[p]] + step[p]
        _clip(new, free_mask, lo, hi, ylo, yhi, five, max_b, margin)
        finite = ok
        for j in range(5):
            if not math.isfinite(new[j]):
                finite = False
        new_rss = math.inf
        maxd_t = 0.0
        if finite:
            # RSS and normal equations at the trial point in one pass: kept if accepted
            new_rss, maxd_t = _eval(fam, five, new, lx, y, w, n, free, jtj_t, jtr_t, diag_t,
                                    jrow)
        if not math.isfinite(new_rss):
            finite = False
        accept = finite and new_rss <= rss
        iters += 1
        old_rss = rss
        rel_change = (abs(old_rss - new_rss) / max(old_rss + offset, 1e-300) if finite
                      else math.inf)
        # relative step <= 1e-10 and gradient cosine <= 1e-10, without divisions
        small_step = finite
        small_grad = True
        scale = max(old_rss + offset, 1e-300)
        for p in range(k):
            j = free[p]
            if not abs(new[j] - th[j]) <= 1e-10 * max(abs(th[j]), 1e-6):
                small_step = False
            if not jtr[p] * jtr[p] <= 1e-20 * max(diag[p], 1e-300) * scale:
                small_grad = False
        lam_old = lam
        if accept:
            for j in range(5):
                th[j] = new[j]
            rss = new_rss
            rho = min((old_rss - new_rss) / pred, 1.0) if pred > 0 else 0.0  # ρ ≥ 1: 1/3
            r3 = 2.0 * rho - 1.0
            lam = max(lam * max(1.0 / 3.0, 1.0 - r3 * r3 * r3), 1e-15)
            nu = 2.0
            for p in range(k):
                jtr[p] = jtr_t[p]
                diag[p] = diag_t[p]
                for q in range(k):
                    jtj[p, q] = jtj_t[p, q]
            maxd = maxd_t
        else:
            lam = lam * nu
            nu *= 2.0
        ftol_ok = accept and rel_change <= ftol and lam_old <= 1e-2
        xtol_ok = accept and small_step
        gtol_ok = small_grad
        bound = accept and _at_bound(new, free_mask, lo, hi, ylo, yhi, max_b, margin)
        slot = it % window
        oldest = hist[(slot + 1) % window]
        hist[slot] = rss
        slow = 1e-4 if it >= max_iter // 2 else 1e-6
        stalled = (it >= window and oldest - rss <= slow * (rss + offset)
                   and _running_off(th, lo, hi, yrange)
                   and not (ftol_ok or xtol_ok or gtol_ok))
        if stalled or bound:
            drifting = True
        if (ftol_ok or xtol_ok or gtol_ok or lam > 1e16 or old_rss + offset <= 1e-300
                or bound or stalled):
            converged = True
            break
        if runoff_exit and accept and it >= 2 and _runoff_side(th, lx[0], lo, hi, yrange) != 0:
            return rss + offset, False, iters, False, True
    at_b = _at_bound(th, free_mask, lo, hi, ylo, yhi, max_b, margin) or drifting
    return rss + offset, converged, iters, at_b, False


@njit(cache=True, error_model="numpy")
def _fill_g(fam: int, five: bool, b: float, le: float, f0: float, lx: NDArray[np.float64],
            n: int, gbuf: NDArray[np.float64]) -> None:
    for i in range(n):
        z, _ = _z(b, lx[i], le)
        g, _, _ = _g(fam, five, z, f0)
        gbuf[i] = g


@njit(cache=True, inline="always", error_model="numpy", fastmath=_FAST)
def _fill_g_ll(ex: NDArray[np.float64], f_le: float, b: float, le: float,
               lx: NDArray[np.float64], n: int, gbuf: NDArray[np.float64]) -> None:
    """Log-logistic g = 1/(1 + exp(b·(lx − le))) as 1/(1 + ex_i·f_le) with
    ex_i = exp(b·(lx_i − mid)) and f_le = exp(−b·(le − mid)): one exp per point per slope
    instead of one per grid point. Falls back to the direct form where the product is
    not a number (0·inf)."""
    for i in range(n):
        q = ex[i] * f_le
        if q != q:
            z, _ = _z(b, lx[i], le)
            g, _, _ = _g(0, False, z, 1.0)
            gbuf[i] = g
        else:
            gbuf[i] = 1.0 / (1.0 + q)


@njit(cache=True, inline="always", error_model="numpy", fastmath=_FAST)
def _profile_cd(gbuf: NDArray[np.float64], y: NDArray[np.float64], w: NDArray[np.float64],
                n: int, c_fixed: float, d_fixed: float, c_free: bool,
                d_free: bool) -> tuple[float, float, float]:
    """Least-squares c, d for a fixed shape g (in gbuf) and the RSS (inf if singular)."""
    s11 = s12 = s22 = t1 = t2 = 0.0
    for i in range(n):
        g = gbuf[i]
        wi = w[i]
        a1 = 1.0 - g
        if c_free and d_free:
            s11 += wi * a1 * a1
            s12 += wi * a1 * g
            s22 += wi * g * g
            t1 += wi * a1 * y[i]
            t2 += wi * g * y[i]
        elif c_free:
            s11 += wi * a1 * a1
            t1 += wi * a1 * (y[i] - d_fixed * g)
        elif d_free:
            s22 += wi * g * g
            t2 += wi * g * (y[i] - c_fixed * a1)
    c = c_fixed
    d = d_fixed
    if c_free and d_free:
        det = s11 * s22 - s12 * s12
        if not det > 1e-12 * max(s11 * s22, 1e-300):
            return math.nan, math.nan, math.inf
        c = (s22 * t1 - s12 * t2) / det
        d = (s11 * t2 - s12 * t1) / det
    elif c_free:
        if not s11 > 1e-300:
            return math.nan, math.nan, math.inf
        c = t1 / s11
    elif d_free:
        if not s22 > 1e-300:
            return math.nan, math.nan, math.inf
        d = t2 / s22
    rss = 0.0
    for i in range(n):
        r = y[i] - (c + (d - c) * gbuf[i])
        rss += w[i] * r * r
    if not (math.isfinite(c) and math.isfinite(d)):
        return c, d, math.inf
    return c, d, rss


@njit(cache=True, error_model="numpy", fastmath=_FAST)
def _half_hessian_ll4(th: NDArray[np.float64], lx: NDArray[np.float64],
                      y: NDArray[np.float64], w: NDArray[np.float64], n: int,
                      m: NDArray[np.float64]) -> None:
    """M = JᵀWJ − Σ w r ∇²f for LL.4 (b, c, d, log e free) with exact second derivatives.

    With g = 1/(1 + e^z), z = b (u − log e), g' = −g (1 − g), g'' = g (1 − g)(1 − 2g) and
    v = u − log e: f_bb = A g'' v², f_bc = −g' v, f_bd = g' v, f_b,le = −A (g'' b v + g'),
    f_c,le = b g', f_d,le = −b g', f_le,le = A g'' b² (A = d − c); f_cc = f_cd = f_dd = 0.
    Doses of 0 (z = ±inf) have g' = g'' = 0.
    """
    b, c, d, le = th[0], th[1], th[2], th[3]
    amp = d - c
    zero_z = -math.inf if b > 0 else (math.inf if b < 0 else 0.0)
    a00 = a10 = a11 = a20 = a21 = a22 = a30 = a31 = a32 = a33 = 0.0
    for i in range(n):
        g, dg, v, fin = _ll4_point(lx[i], b, le, zero_z)
        if not fin:
            v = 0.0
        d2 = -dg * (1.0 - 2.0 * g)
        j0 = amp * dg * v
        j1 = 1.0 - g
        j2 = g
        j3 = -amp * dg * b
        wi = w[i]
        wr = wi * (y[i] - (c + amp * g)) if wi > 0 else 0.0
        a00 += wi * j0 * j0 - wr * amp * d2 * v * v
        a10 += wi * j1 * j0 + wr * dg * v
        a11 += wi * j1 * j1
        a20 += wi * j2 * j0 - wr * dg * v
        a21 += wi * j2 * j1
        a22 += wi * j2 * j2
        a30 += wi * j3 * j0 + wr * amp * (d2 * b * v + dg)
        a31 += wi * j3 * j1 - wr * b * dg
        a32 += wi * j3 * j2 + wr * b * dg
        a33 += wi * j3 * j3 - wr * amp * d2 * b * b
    _put_sym4(m, a00, a10, a11, a20, a21, a22, a30, a31, a32, a33)


@njit(cache=True, error_model="numpy")
def _half_hessian(fam: int, five: bool, th: NDArray[np.float64], lx: NDArray[np.float64],
                  y: NDArray[np.float64], w: NDArray[np.float64], n: int,
                  free: NDArray[np.int64], wy: NDArray[np.float64], wj: NDArray[np.float64],
                  wjp: NDArray[np.float64], wjm: NDArray[np.float64],
                  m: NDArray[np.float64], wr: NDArray[np.float64], tp: NDArray[np.float64],
                  second: NDArray[np.float64]) -> None:
    """M = JᵀWJ − Σ w r ∇²f (half the full Hessian of the RSS), as ``_lm.rss_hessian``.

    ``wr`` (n), ``tp`` (5) and ``second`` (k, k) are work arrays. LL.4 with every
    parameter free has exact second derivatives (:func:`_half_hessian_ll4`); the other
    models use central differences of the analytic Jacobian (relative step 1e-5).
    """
    k = free.shape[0]
    if fam == 0 and not five and k == 4 and free[0] == 0 and free[3] == 3:
        _half_hessian_ll4(th, lx, y, w, n, m)
        return
    _jac(fam, five, th, lx, n, free, wy, wj)
    for i in range(n):
        wr[i] = (y[i] - wy[i]) * w[i] if w[i] > 0 else 0.0
    for p in range(k):
        for q in range(k):
            s = 0.0
            for i in range(n):
                s += wj[i, p] * wj[i, q] * w[i]
            m[p, q] = s
    for jj in range(k):
        j = free[jj]
        h = 1e-5 * max(abs(th[j]), 1e-2)
        for t in range(5):
            tp[t] = th[t]
        tp[j] = th[j] + h
        _jac(fam, five, tp, lx, n, free, wy, wjp)
        tp[j] = th[j] - h
        _jac(fam, five, tp, lx, n, free, wy, wjm)
        for q in range(k):
            s = 0.0
            for i in range(n):
                s += wr[i] * (wjp[i, q] - wjm[i, q]) / (2 * h)
            second[jj, q] = s
    for p in range(k):
        for q in range(k):
            m[p, q] -= 0.5 * (second[p, q] + second[q, p])


@njit(cache=True, error_model="numpy")
def _inverse_pd(m: NDArray[np.float64], k: int, out: NDArray[np.float64],
                hs: NDArray[np.float64], chol: NDArray[np.float64], d: NDArray[np.float64],
                z: NDArray[np.float64], x: NDArray[np.float64]) -> bool:
    """Inverse of a symmetric positive-definite k×k matrix (as ``fit._inverse_pd``);
    ``hs``, ``chol`` (k, k) and ``d``, ``z``, ``x`` (k) are work arrays."""
    for p in range(k):
        if not math.isfinite(m[p, p]):
            return False
        d[p] = math.sqrt(abs(m[p, p]))
        if d[p] == 0:
            return False
    for p in range(k):
        for q in range(k):
            chol[p, q] = 0.0
            if not math.isfinite(m[p, q]):
                return False
            hs[p, q] = m[p, q] / (d[p] * d[q])
    for p in range(k):
        for q in range(p + 1):
            s = hs[p, q]
            for t in range(q):
                s -= chol[p, t] * chol[q, t]
            if p == q:
                if s <= 0:
                    return False
                chol[p, p] = math.sqrt(s)
            else:
                chol[p, q] = s / chol[q, q]
    for p in range(k):
        if chol[p, p] < 1e-7:
            return False
    # inverse via solves with the identity
    for col in range(k):
        for p in range(k):
            s = 1.0 if p == col else 0.0
            for t in range(p):
                s -= chol[p, t] * z[t]
            z[p] = s / chol[p, p]
        for p in range(k - 1, -1, -1):
            s = z[p]
            for t in range(p + 1, k):
                s -= chol[t, p] * x[t]
            x[p] = s / chol[p, p]
        for p in range(k):
            out[p, col] = x[p] / (d[p] * d[col])
    return True


@njit(cache=True, error_model="numpy", fastmath=_FAST)
def _grid_table(fam: int, five: bool, lx: NDArray[np.float64], w: NDArray[np.float64],
                n: int, lo: float, span: float, mid: float, fixed: NDArray[np.float64],
                bvals: NDArray[np.float64], fracs: NDArray[np.float64], nle: int,
                e_fixed: bool, ex: NDArray[np.float64], gtab: NDArray[np.float64],
                itab: NDArray[np.float64]) -> None:
    """g of every grid point at the given doses (rows of ``gtab``) and the inverse of its
    2×2 normal matrix for (c, d) with weights ``w`` (``itab``: i11, i12, i22, valid)."""
    fast_ll = fam == 0 and not five
    for ib in range(bvals.shape[0]):
        b = bvals[ib]
        if fast_ll:
            for i in range(n):
                ex[i] = math.exp(b * (lx[i] - mid))
        for jl in range(nle):
            le = fixed[3] if e_fixed else lo + fracs[jl] * span
            gi = ib * nle + jl
            g_row = gtab[gi]
            if fast_ll:
                _fill_g_ll(ex, math.exp(-b * (le - mid)), b, le, lx, n, g_row)
            else:
                _fill_g(fam, five, b, le, fixed[4], lx, n, g_row)
            s11 = s12 = s22 = 0.0
            for i in range(n):
                g = g_row[i]
                a1 = 1.0 - g
                s11 += w[i] * a1 * a1
                s12 += w[i] * a1 * g
                s22 += w[i] * g * g
            det = s11 * s22 - s12 * s12
            if det > 1e-12 * max(s11 * s22, 1e-300):
                itab[gi, 0] = s22 / det
                itab[gi, 1] = -s12 / det
                itab[gi, 2] = s11 / det
                itab[gi, 3] = 1.0
            else:
                itab[gi, 3] = 0.0


@njit(cache=True, error_model="numpy")
def _face_jump(th: NDArray[np.float64], j: int, lx: NDArray[np.float64],
               y: NDArray[np.float64], w: NDArray[np.float64], n: int, lo: float, hi: float,
               ylo: float, yhi: float, budget: int, ftol: float, max_b: float, margin: float,
               asym_margin: float,
               wm: NDArray[np.float64], wv: NDArray[np.float64],
               offset: float) -> tuple[float, int, bool]:
    """Best LL.4 fit on the far face of the box along a run-off valley (:func:`_runoff_side`).

    Over the doses an LL.4 curve with log e beyond them is ``a + (r − a) exp(−|b| |u − le|)``
    nearly (``a`` the asymptote the data pin, ``r`` the runaway one, index ``j`` (1: c,
    2: d) from :func:`_runoff_side`); moving log e out by ``log(ratio) / |b|`` while
    ``r − a`` grows by ``ratio`` keeps that curve. The runaway
    asymptote is moved to its bound that way (or log e to its bound, if that comes first),
    and LM fits the other three parameters there. The point goes to ``wv[9, :5]``; returns
    its full RSS, the iterations used and whether it is a minimum on the box (the RSS falls
    as the parameter at its bound moves outwards).
    """
    thf = wv[9]
    for t in range(5):
        thf[t] = th[t]
    o = 3 - j
    ab = abs(th[0])
    a, r = th[o], th[j]
    up = th[3] > hi  # log e beyond the highest dose (else below the lowest)
    target = ylo if r < a else yhi
    shift = math.log((target - a) / (r - a)) / ab
    le_bound = hi + margin if up else lo - margin
    le_new = th[3] + shift if up else th[3] - shift
    free3 = np.empty(3, dtype=np.int64)
    mask3 = np.zeros(5, dtype=np.bool_)
    free3[0] = 0
    if (up and le_new >= le_bound) or (not up and le_new <= le_bound):
        # log e reaches its bound first: fix it there, the runaway asymptote follows
        thf[j] = a + (r - a) * math.exp(ab * abs(le_bound - th[3]))
        thf[3] = le_bound
        free3[1], free3[2] = 1, 2
        at, outward = 3, 1.0 if up else -1.0
    else:
        thf[j] = target
        thf[3] = le_new
        free3[1], free3[2] = o, 3
        at, outward = j, 1.0 if target == yhi else -1.0
    for p in range(3):
        mask3[free3[p]] = True
    rss, _, it, _, _ = _lm_curve(0, False, thf, lx, y, w, n, free3, mask3, lo, hi, ylo, yhi,
                                 budget, ftol, max_b, margin, asym_margin, wm, wv, offset,
                                 False)
    # Jᵀr = −½ ∇RSS over all four parameters at that point
    free4 = np.arange(4)
    _eval(0, False, thf, lx, y, w, n, free4, wm[0], wv[0], wv[2], wv[8])
    return rss, it, wv[0, at] * outward > 0


@njit(cache=True, error_model="numpy")
def _best_step(fam: int, five: bool, lx: NDArray[np.float64], y: NDArray[np.float64],
               w: NDArray[np.float64], n: int, offset: float, free_mask: NDArray[np.bool_],
               fixed: NDArray[np.float64], bvals: NDArray[np.float64], symmetric_cd: bool,
               max_b: float, th: NDArray[np.float64]) -> float:
    """Best step function among the model's limits as |b| → ∞ (full RSS; ``th`` gets it).

    ``lx`` ascending. A step between doses j − 1 and j puts log e midway (1/2 below the
    lowest positive dose when the lower one is 0) with ``|b| = max_b``, so every point lies
    on one asymptote; a free asymptote is then the weighted mean of its side. Both signs
    of b are tried when the grid has them; ``c <= d`` unless ``symmetric_cd``.
    """
    best = math.inf
    tw = ty = tyy = 0.0
    for i in range(n):
        tw += w[i]
        ty += w[i] * y[i]
        tyy += w[i] * y[i] * y[i]
    for sgn in (1.0, -1.0):
        present = False
        for ib in range(bvals.shape[0]):
            if bvals[ib] * sgn > 0:
                present = True
        if not present:
            continue
        # g left of the step (1 for log-logistic b > 0: the left level is d)
        g_left = _g(fam, five, -math.inf if sgn > 0 else math.inf, fixed[4])[0]
        p_left = 2 if g_left > 0.5 else 1  # the level left of the step: c (1) or d (2)
        p_right = 3 - p_left
        lw = ly = lyy = 0.0
        for j in range(1, n):
            lw += w[j - 1]
            ly += w[j - 1] * y[j - 1]
            lyy += w[j - 1] * y[j - 1] * y[j - 1]
            rw, ry, ryy = tw - lw, ty - ly, tyy - lyy
            if not (lx[j - 1] < lx[j] and lw > 0 and rw > 0):
                continue
            # each level free (the mean of its side) or fixed
            v_left = ly / lw if free_mask[p_left] else fixed[p_left]
            v_right = ry / rw if free_mask[p_right] else fixed[p_right]
            c = v_left if p_left == 1 else v_right
            d = v_right if p_left == 1 else v_left
            if not symmetric_cd and c > d:
                continue
            rss = (lyy - 2 * v_left * ly + v_left * v_left * lw
                   + ryy - 2 * v_right * ry + v_right * v_right * rw)
            if rss + offset < best:
                best = max(rss, 0.0) + offset
                th[0] = sgn * max_b
                th[1] = c
                th[2] = d
                th[3] = (0.5 * (lx[j - 1] + lx[j]) if lx[j - 1] != -math.inf
                         else lx[j] - 0.5)
                th[4] = fixed[4]
    return best


@njit(cache=True, error_model="numpy", fastmath=_FAST)
def _fit_one(lx: NDArray[np.float64], y: NDArray[np.float64], w: NDArray[np.float64], n: int,
             offset: float, lo: float, hi: float, ymin: float, ymax: float, fam: int,
             five: bool, free: NDArray[np.int64], free_mask: NDArray[np.bool_],
             fixed: NDArray[np.float64], bvals: NDArray[np.float64],
             fracs: NDArray[np.float64], symmetric_cd: bool, n_starts: int, max_iter: int,
             ftol: float, max_b: float, margin: float, asym_margin: float,
             gbuf: NDArray[np.float64], ex: NDArray[np.float64], wy: NDArray[np.float64],
             wj: NDArray[np.float64], wjp: NDArray[np.float64], wjm: NDArray[np.float64],
             wm: NDArray[np.float64], wv: NDArray[np.float64], iw: NDArray[np.int64],
             gtab: NDArray[np.float64], itab: NDArray[np.float64], ckey: NDArray[np.float64],
             wy_i: NDArray[np.float64],
             per_rss: NDArray[np.float64], per_th: NDArray[np.float64],
             th_out: NDArray[np.float64],
             minv_out: NDArray[np.float64]) -> tuple[float, bool, int, bool, bool]:
    """Fit one curve: grid starts, multi-start LM (with the run-off face jump, see
    :func:`_face_jump`), the best step (:func:`_best_step`), half Hessian and its inverse.

    ``lx, y, w`` hold ``n`` points (or replicate means with summed weights, ``offset``
    then being the pure-error sum of squares); ``lo, hi`` is the tested log-dose range
    and ``ymin, ymax`` the observed response range. Work arrays have at least ``n``
    rows. Writes the estimate to ``th_out`` (5) and the inverse half Hessian to
    ``minv_out`` (k, k; untouched unless identifiable); returns rss, converged,
    iterations, at bound, identifiable.
    """
    k = free.shape[0]
    nb = bvals.shape[0]
    e_fixed = not free_mask[3]
    nle = 1 if e_fixed else fracs.shape[0]
    size_c = (ckey.shape[0] - 1) // 2
    yr = max(ymax - ymin, 1e-12 * max(abs(ymax), 1.0))
    ylo = ymin - asym_margin * yr
    yhi = ymax + asym_margin * yr
    span = max(hi - lo, 1e-6)
    mid = 0.5 * (lo + hi)
    fast_ll = fam == 0 and not five
    runoff = fast_ll and k == 4 and free[0] == 0 and free[3] == 3
    # with c and d free the grid's shapes g and their 2×2 normal matrices depend only on
    # the doses and weights, shared by most curves of a screen: they are kept in
    # gtab/itab and recomputed only when (doses, weights) differ from the last curve's
    cached = free_mask[1] and free_mask[2]
    if cached:
        same = ckey[0] == n
        if same:
            for i in range(n):
                if ckey[1 + i] != lx[i] or ckey[1 + size_c + i] != w[i]:
                    same = False
                    break
        if not same:
            _grid_table(fam, five, lx, w, n, lo, span, mid, fixed, bvals, fracs, nle,
                        e_fixed, ex, gtab, itab)
            ckey[0] = n
            for i in range(n):
                ckey[1 + i] = lx[i]
                ckey[1 + size_c + i] = w[i]
        swy = 0.0
        swyy = 0.0
        for i in range(n):
            wy_i[i] = w[i] * y[i]
            swy += wy_i[i]
            swyy += wy_i[i] * y[i]
    # grid: best point per slope
    for ib in range(nb):
        per_rss[ib] = math.inf
        for t in range(5):
            per_th[ib, t] = 0.0
        b = bvals[ib]
        best = math.inf
        if fast_ll and not cached:
            for i in range(n):
                ex[i] = math.exp(b * (lx[i] - mid))
        for jl in range(nle):
            le = fixed[3] if e_fixed else lo + fracs[jl] * span
            if cached:
                # c, d free: only Σ W g y depends on the responses
                gi = ib * nle + jl
                if itab[gi, 3] == 0.0:
                    c, d, r = math.nan, math.nan, math.inf
                else:
                    t2 = 0.0
                    for i in range(n):
                        t2 += gtab[gi, i] * wy_i[i]
                    t1 = swy - t2
                    c = itab[gi, 0] * t1 + itab[gi, 1] * t2
                    d = itab[gi, 1] * t1 + itab[gi, 2] * t2
                    r = swyy - c * t1 - d * t2
                    if not (math.isfinite(c) and math.isfinite(d)):
                        r = math.inf
            else:
                if fast_ll:
                    _fill_g_ll(ex, math.exp(-b * (le - mid)), b, le, lx, n, gbuf)
                else:
                    _fill_g(fam, five, b, le, fixed[4], lx, n, gbuf)
                c, d, r = _profile_cd(gbuf, y, w, n, fixed[1], fixed[2], free_mask[1],
                                      free_mask[2])
            if not (ylo <= c <= yhi and ylo <= d <= yhi):
                r = math.inf
            if not symmetric_cd and c > d:
                r = math.inf
            if r < best:
                best = r
                per_th[ib, 0] = b
                per_th[ib, 1] = c
                per_th[ib, 2] = d
                per_th[ib, 3] = le
                per_th[ib, 4] = fixed[4]
        per_rss[ib] = best
        if best == math.inf:  # no finite point: keep the first as numpy argmin does
            per_th[ib, 0] = b
            per_th[ib, 3] = fixed[3] if e_fixed else lo + fracs[0] * span
            per_th[ib, 4] = fixed[4]
            _fill_g(fam, five, b, per_th[ib, 3], fixed[4], lx, n, gbuf)
            c, d, _ = _profile_cd(gbuf, y, w, n, fixed[1], fixed[2], free_mask[1],
                                  free_mask[2])
            per_th[ib, 1] = c
            per_th[ib, 2] = d
    # slopes by their best grid RSS (stable insertion sort: nb is small)
    order = iw
    for ib in range(nb):
        order[ib] = ib
    for ib in range(1, nb):
        v = order[ib]
        j = ib - 1
        while j >= 0 and per_rss[order[j]] > per_rss[v]:
            order[j + 1] = order[j]
            j -= 1
        order[j + 1] = v
    best_rss = math.inf
    best_conv = False
    best_bound = False
    best_face = 0
    total_iter = 0
    th = wv[10]
    ns = min(n_starts, nb)
    for s in range(max(ns, 1)):
        if s > 0 and best_conv and not best_bound and abs(th_out[0]) <= 8.0:
            # the first start ended in a clean interior optimum: further starts are only
            # needed for steep or run-off fits (a step-like optimum can hide a better one)
            break
        src = order[s] if s < nb else order[0]
        if per_rss[order[0]] == math.inf:  # nothing finite: neutral start
            th[0] = 1.0
            th[1] = 0.0
            th[2] = 1.0
            th[3] = (lo + hi) / 2
            th[4] = 1.0
        else:
            for t in range(5):
                th[t] = per_th[src, t]
        for t in range(5):
            if not free_mask[t]:
                th[t] = fixed[t]
        # further starts look for a better basin with an eighth of the budget (more if
        # they find one, below)
        budget = max_iter if s == 0 else max(max_iter // 8, 1)
        r, cv, it, ab, off = _lm_curve(fam, five, th, lx, y, w, n, free, free_mask, lo, hi,
                                       ylo, yhi, budget, ftol, max_b, margin, asym_margin,
                                       wm, wv, offset, runoff)
        total_iter += it
        if off:
            # run-off: go to the far end of the valley at once (the face of the box where
            # the runaway asymptote, or log e, meets its bound); keep that point if it is a
            # minimum on the box (RSS falls outwards), else let LM go on from where it was
            side = _runoff_side(th, lx[0], lo, hi, yr)
            face_id = side * (2 if th[3] > hi else 1)
            if s > 0 and face_id == best_face:
                continue  # same valley as the best fit so far: same face optimum
            budget -= it
            r_f, it_f, kkt = _face_jump(th, side, lx, y, w, n, lo, hi, ylo, yhi,
                                        min(budget, 40), ftol, max_b, margin, asym_margin,
                                        wm, wv, offset)
            total_iter += it_f
            if kkt and r_f <= r:
                for t in range(5):
                    th[t] = wv[9, t]
                r, cv, ab = r_f, True, True
            else:
                face_id = 0
                r, cv, it, ab, _ = _lm_curve(fam, five, th, lx, y, w, n, free, free_mask, lo,
                                             hi, ylo, yhi, max(budget - it_f, 1), ftol, max_b,
                                             margin, asym_margin, wm, wv, offset, False)
                total_iter += it
        else:
            face_id = 0
        if s > 0 and not cv and r < best_rss * (1 - 1e-12):
            # a better basin: LM goes on there with the rest of a first start's budget
            r, cv, it, ab, _ = _lm_curve(fam, five, th, lx, y, w, n, free, free_mask, lo, hi,
                                         ylo, yhi, max(max_iter - max_iter // 8, 1), ftol,
                                         max_b, margin, asym_margin, wm, wv, offset, False)
            total_iter += it
        if s == 0 or r < best_rss * (1 - 1e-12):
            best_face = face_id
            best_rss = r
            for t in range(5):
                th_out[t] = th[t]
            best_conv = cv
            best_bound = ab
    if free_mask[0] and free_mask[3] and n >= 2:
        # the infinitely steep limit: a step between two adjacent doses, whose best levels
        # are the means on either side; LM only creeps towards it, so it is checked exactly
        th = wv[10]
        r = _best_step(fam, five, lx, y, w, n, offset, free_mask, fixed, bvals, symmetric_cd,
                       max_b, th)
        if r < best_rss * (1 - 1e-12):
            best_rss = r
            for t in range(5):
                th_out[t] = th[t]
            best_conv = True
            best_bound = True
    ident = False
    if best_conv and not best_bound:
        mm = wm[3]
        _half_hessian(fam, five, th_out, lx, y, w, n, free, wy, wj, wjp, wjm, mm, gbuf,
                      wv[11], wm[4])
        inv = wm[5]
        if _inverse_pd(mm, k, inv, wm[6], wm[7], wv[12], wv[13], wv[14]):
            ident = True
            for p in range(k):
                for q in range(k):
                    minv_out[p, q] = inv[p, q]
    return best_rss, best_conv, total_iter, best_bound, ident


@njit(cache=True, error_model="numpy")
def _argsort_small(key: NDArray[np.float64], key2: NDArray[np.float64], n: int,
                   idx: NDArray[np.int64]) -> None:
    """Order of ``(key, key2)[:n]``, lexicographic (insertion sort when short).

    Sorting by both keys makes everything summed in this order independent of the order
    of the input rows.
    """
    if n > 64:
        o2 = np.argsort(key2[:n], kind="mergesort")  # stable sorts: by key2, then key
        o1 = np.argsort(key[:n][o2], kind="mergesort")
        for i in range(n):
            idx[i] = o2[o1[i]]
        return
    for i in range(n):
        idx[i] = i
    for i in range(1, n):
        v = idx[i]
        kv = key[v]
        kv2 = key2[v]
        j = i - 1
        while j >= 0 and (key[idx[j]] > kv or (key[idx[j]] == kv and key2[idx[j]] > kv2)):
            idx[j + 1] = idx[j]
            j -= 1
        idx[j + 1] = v


@njit(cache=True, error_model="numpy")
def _median_small(vals: NDArray[np.float64], n: int) -> float:
    """Median of ``vals[:n]`` (sorted in place), the mean of the middle two when n is even."""
    if n > 64:
        vals[:n] = np.sort(vals[:n])
    else:
        for i in range(1, n):
            v = vals[i]
            j = i - 1
            while j >= 0 and vals[j] > v:
                vals[j + 1] = vals[j]
                j -= 1
            vals[j + 1] = v
    h = n // 2
    if n % 2 == 1:
        return vals[h]
    return (vals[h - 1] + vals[h]) / 2.0


#: columns of the float and integer outputs of :func:`fit_long`
LONG_FLOAT = ("b", "c", "d", "log_e", "f", "rss", "sspe", "rss0", "lo", "hi", "ymin", "ymax",
              "auc", "area")
LONG_INT = ("converged", "iterations", "at_bound", "identifiable", "n", "distinct", "df_pe",
            "n_outliers")
#: curves per parallel task (work arrays are allocated once per task)
_BLOCK = 64


@njit(cache=True, error_model="numpy")
def _group_rows(codes: NDArray[np.integer], used: NDArray[np.bool_], n_curves: int,
                offsets: NDArray[np.int64]) -> tuple[NDArray[np.int64], bool]:
    """Counting sort of the used rows by curve (stable): ``offsets`` (n_curves + 1) and the
    row order, or ``identity`` when the used rows are all rows and already grouped."""
    identity = True
    prev = -1
    for r in range(codes.shape[0]):
        if used[r]:
            c = codes[r]
            offsets[c + 1] += 1
            if c < prev:
                identity = False
            prev = c
        else:
            identity = False
    for c in range(n_curves):
        offsets[c + 1] += offsets[c]
    if identity:
        return np.empty(0, dtype=np.int64), True
    perm = np.empty(offsets[n_curves], dtype=np.int64)
    cursor = offsets[:n_curves].copy()
    for r in range(codes.shape[0]):
        if used[r]:
            c = codes[r]
            perm[cursor[c]] = r
            cursor[c] += 1
    return perm, False


@njit(cache=True, parallel=True, error_model="numpy")
def _fit_long(offsets: NDArray[np.int64], perm: NDArray[np.int64], identity: bool,
              x: NDArray[np.float64], y: NDArray[np.float64], w: NDArray[np.float64],
              has_w: bool, c0: int, c1: int, nmax: int, fam: int, five: bool,
              free: NDArray[np.int64], fixed: NDArray[np.float64],
              bvals: NDArray[np.float64], fracs: NDArray[np.float64], symmetric_cd: bool,
              n_starts: int, max_iter: int, ftol: float, max_b: float, margin: float,
              asym_margin: float, reference: float, nodes: int,
              out_f: NDArray[np.float64], out_i: NDArray[np.int64],
              minv_out: NDArray[np.float64]) -> None:
    m = c1 - c0
    k = free.shape[0]
    free_mask = np.zeros(5, dtype=np.bool_)
    for p in range(k):
        free_mask[free[p]] = True
    nb = bvals.shape[0]
    size = max(nmax, 1)
    for blk in prange((m + _BLOCK - 1) // _BLOCK):
        lxp = np.empty(size)
        yp = np.empty(size)
        wp = np.empty(size)
        idx = np.empty(size, dtype=np.int64)
        grp = np.empty(size, dtype=np.int64)
        lxa = np.empty(size)
        ya = np.empty(size)
        wa = np.empty(size)
        res = np.empty(size)
        gbuf = np.empty(size)
        ex = np.empty(size)
        wy = np.empty(size)
        wj = np.empty((size, k))
        wjp = np.empty((size, k))
        wjm = np.empty((size, k))
        wm = np.empty((8, k, k))  # LM (0-2), Hessian and its inverse (3-7)
        wv = np.empty((15, 10))  # LM (0-9), start, Hessian and inverse (10-14)
        iw = np.empty(nb, dtype=np.int64)
        n_grid = nb * (fracs.shape[0] if free_mask[3] else 1)
        gtab = np.empty((n_grid, size))  # grid cache (see _fit_one)
        itab = np.empty((n_grid, 4))
        ckey = np.full(2 * size + 1, np.nan)
        wy_i = np.empty(size)
        per_rss = np.empty(nb)
        per_th = np.empty((nb, 5))
        th = np.empty(5)
        minv = np.empty((k, k))
        for t in range(blk * _BLOCK, min(m, (blk + 1) * _BLOCK)):
            ci = c0 + t
            s0 = offsets[ci]
            n = offsets[ci + 1] - s0
            # the curve's points, then their order by dose and response: every sum below
            # runs in that order, so no result depends on the order of the input rows
            for j in range(n):
                r = s0 + j if identity else perm[s0 + j]
                xv = x[r]
                lxp[j] = math.log(xv) if xv > 0 else -math.inf
                yp[j] = y[r]
                wp[j] = w[r] if has_w else 1.0
            _argsort_small(lxp, yp, n, idx)
            sw = 0.0
            swy = 0.0
            ymin = math.inf
            ymax = -math.inf
            for j in range(n):
                q = idx[j]
                sw += wp[q]
                swy += wp[q] * yp[q]
                ymin = min(ymin, yp[q])
                ymax = max(ymax, yp[q])
            # replicates of a dose -> weighted mean and summed weight (exact for least
            # squares: RSS = pure-error SS + sum W (mean - f)^2)
            nd = 0
            lo = math.inf
            hi = -math.inf
            j = 0
            while j < n:
                v = lxp[idx[j]]
                sw_d = 0.0
                swy_d = 0.0
                jj = j
                while jj < n and lxp[idx[jj]] == v:
                    q = idx[jj]
                    sw_d += wp[q]
                    swy_d += wp[q] * yp[q]
                    grp[q] = nd
                    jj += 1
                lxa[nd] = v
                wa[nd] = sw_d
                ya[nd] = swy_d / sw_d
                if math.isfinite(v):
                    lo = min(lo, v)
                    hi = max(hi, v)
                nd += 1
                j = jj
            sspe = 0.0
            rss0 = 0.0
            mean = swy / sw if n > 0 else math.nan
            for j in range(n):
                q = idx[j]
                r1 = yp[q] - ya[grp[q]]
                sspe += wp[q] * r1 * r1
                r0 = yp[q] - mean
                rss0 += wp[q] * r0 * r0
            for q in range(5):
                th[q] = math.nan
            rss = math.nan
            cv = False
            it = 0
            ab = False
            ident = False
            lo0 = lo if math.isfinite(lo) else 0.0
            hi0 = hi if math.isfinite(hi) else 0.0
            lo_out = lo if math.isfinite(lo) else math.nan
            hi_out = hi if math.isfinite(hi) else math.nan
            if n > 0 and nd >= k and n > k:
                rss, cv, it, ab, ident = _fit_one(
                    lxa, ya, wa, nd, sspe, lo0, hi0, ymin, ymax, fam, five, free,
                    free_mask, fixed, bvals, fracs, symmetric_cd, n_starts, max_iter, ftol,
                    max_b, margin, asym_margin, gbuf, ex, wy, wj, wjp, wjm, wm, wv, iw,
                    gtab, itab, ckey, wy_i, per_rss, per_th, th, minv)
                if ident:
                    for p in range(k):
                        for q in range(k):
                            minv_out[t, p, q] = minv[p, q]
            # gross-outlier screen on the points (as fit._outliers)
            n_out = 0
            finite = math.isfinite(th[0]) and math.isfinite(th[1]) and \
                math.isfinite(th[2]) and math.isfinite(th[3])
            if finite and n > 0:
                for d in range(nd):
                    z, _ = _z(th[0], lxa[d], th[3])
                    g, _, _ = _g(fam, five, z, th[4])
                    gbuf[d] = th[1] + (th[2] - th[1]) * g
                sq = 0.0
                for j in range(n):
                    q = idx[j]
                    res[j] = yp[q] - gbuf[grp[q]]
                    sq += res[j] * res[j]
                    ex[j] = res[j]
                med = _median_small(ex, n)
                for q in range(n):
                    ex[q] = abs(res[q] - med)
                mad = 1.4826 * _median_small(ex, n)
                mad = max(mad, math.sqrt(sq / n))
                if mad > 0:
                    for q in range(n):
                        if abs(res[q] - med) / mad > 5.0:
                            n_out += 1
            auc = math.nan
            area = math.nan
            if finite and math.isfinite(lo) and hi > lo:
                auc, area = _area_one(fam, five, th, lo, hi, reference, nodes)
            for q in range(5):
                out_f[t, q] = th[q]
            out_f[t, 5] = rss
            out_f[t, 6] = sspe
            out_f[t, 7] = rss0
            out_f[t, 8] = lo_out
            out_f[t, 9] = hi_out
            out_f[t, 10] = ymin
            out_f[t, 11] = ymax
            out_f[t, 12] = auc
            out_f[t, 13] = area
            out_i[t, 0] = cv
            out_i[t, 1] = it
            out_i[t, 2] = ab
            out_i[t, 3] = ident
            out_i[t, 4] = n
            out_i[t, 5] = nd
            out_i[t, 6] = n - nd
            out_i[t, 7] = n_out


@njit(cache=True)
def _first_rows(codes: NDArray[np.integer], n_curves: int) -> NDArray[np.int64]:
    first = np.full(n_curves, -1, dtype=np.int64)
    for r in range(codes.shape[0]):
        if first[codes[r]] < 0:
            first[codes[r]] = r
    return first


def _codes(codes: NDArray[np.integer]) -> NDArray[np.integer]:
    """Curve codes as int32 (int64 beyond 2³¹ curves, compiled on demand)."""
    small = codes.size == 0 or int(codes.max()) < 2**31 - 1
    return np.ascontiguousarray(codes, dtype=np.int32 if small else np.int64)


@njit(cache=True)
def _rank_by_first(cat: NDArray[np.int32], n_values: int, out: NDArray[np.int32]) -> int:
    rank = np.full(n_values + 1, -1, dtype=np.int32)
    used = 0
    for r in range(cat.shape[0]):
        v = cat[r] + 1
        if rank[v] < 0:
            rank[v] = used
            used += 1
        out[r] = rank[v]
    return used


def rank_by_first(cat: NDArray[np.integer], n_values: int) -> tuple[NDArray[np.int32], int]:
    """Category codes (0 .. n_values − 1, −1 missing) renumbered in order of first
    appearance, missing values a code of their own; and the number of codes used."""
    cat32 = np.ascontiguousarray(cat, dtype=np.int32)
    out = np.empty(cat32.shape[0], dtype=np.int32)
    return out, int(_rank_by_first(cat32, int(n_values), out))


def first_rows(codes: NDArray[np.integer], n_curves: int) -> NDArray[np.int64]:
    """Row of the first appearance of every curve code (0 .. n_curves − 1)."""
    return _first_rows(_codes(codes), n_curves)


def group_rows(codes: NDArray[np.integer], used: NDArray[np.bool_],
               n_curves: int) -> tuple[NDArray[np.int64], NDArray[np.int64], bool]:
    """Offsets (n_curves + 1) of each curve's used rows, their row order, and whether that
    order is the identity (then the order array is empty)."""
    offsets = np.zeros(n_curves + 1, dtype=np.int64)
    perm, identity = _group_rows(_codes(codes),
                                 np.ascontiguousarray(used, dtype=np.bool_), n_curves, offsets)
    return offsets, perm, bool(identity)


def kernels_cached() -> bool | None:
    """Whether the compiled fitting kernel is in numba's on-disk cache (``None``: unknown).

    Reads numba's cache index file of the main kernel; a cached entry for another CPU or
    numba version still compiles, so this is a hint for messages, not a promise.
    """
    try:
        index = Path(_fit_long._cache._cache_file._index_path)  # type: ignore[attr-defined]
    except AttributeError:
        return None
    return index.is_file()


def fit_long(model: Model, codes: NDArray[np.integer], dose: Array, response: Array,
             weight: Array | None, used: NDArray[np.bool_], n_curves: int, n_starts: int = 3,
             reference: float = 100.0, max_iter: int = 200, ftol: float = 1e-12,
             nodes: int = 401, chunk: int = 100_000,
             progress: Callable[[int, int], None] | None = None,
             ) -> tuple[dict[str, Array], dict[str, NDArray[np.int64]], Array]:
    """Fit every curve of a long table in one compiled pass (no padded copies).

    Parameters
    ----------
    model
        The model to fit.
    codes
        Curve index (0 .. n_curves − 1) of every row.
    dose, response, weight
        Row values (``weight`` None: all 1); doses must be finite and >= 0.
    used
        Rows to use (the others are ignored).
    n_curves
        Number of curves; curves without used rows get ``n = 0`` and NaN estimates.
    n_starts, max_iter, ftol
        Optimiser settings (as the numpy reference engine).
    reference
        "No effect" level of the activity area.
    nodes
        Simpson nodes of the areas.
    chunk
        Curves per compiled call (drives ``progress(done, total)``; results do not
        depend on it).

    Returns
    -------
    Float columns (:data:`LONG_FLOAT`: theta, full RSS, pure-error SS, RSS of a flat
    line, tested log-dose range (NaN when no positive dose), response range, areas),
    integer columns (:data:`LONG_INT`) and the inverse half Hessian ``(n_curves, k, k)``
    (NaN where not positive definite).
    """
    k = model.n_free
    offsets, perm, identity = group_rows(codes, used, n_curves)
    counts = np.diff(offsets)
    nmax = int(counts.max()) if n_curves else 0
    free = np.array(model.free_index, dtype=np.int64)
    fixed = np.zeros(5)
    fixed[4] = 1.0
    for name, value in model.fixed.items():
        idx = PARAM_NAMES.index(name)
        fixed[idx] = np.log(value) if name == "e" else value
    bvals, symmetric_cd = _lm.grid_slopes(model)
    out_f = np.empty((n_curves, len(LONG_FLOAT)))
    out_i = np.empty((n_curves, len(LONG_INT)), dtype=np.int64)
    minv = np.full((n_curves, k, k), np.nan)
    x = np.ascontiguousarray(dose, dtype=np.float64)
    y = np.ascontiguousarray(response, dtype=np.float64)
    w = (np.empty(0) if weight is None
         else np.ascontiguousarray(weight, dtype=np.float64))
    for c0 in range(0, n_curves, max(chunk, 1)):
        c1 = min(n_curves, c0 + max(chunk, 1))
        _fit_long(offsets, perm, identity, x, y, w, weight is not None, c0, c1, nmax,
                  _FAMILIES[model.family], model.five, free, fixed, bvals,
                  _lm.GRID_FRACTIONS, symmetric_cd, max(1, n_starts), max_iter, ftol,
                  _lm.MAX_ABS_B, _lm.LOG_E_MARGIN, _lm.ASYMPTOTE_MARGIN, float(reference),
                  nodes, out_f[c0:c1], out_i[c0:c1], minv[c0:c1])
        if progress is not None:
            progress(c1, n_curves)
    floats = {name: out_f[:, j] for j, name in enumerate(LONG_FLOAT)}
    ints = {name: out_i[:, j] for j, name in enumerate(LONG_INT)}
    return floats, ints, minv


@njit(cache=True, parallel=True, error_model="numpy")
def _pure_error(lx2: NDArray[np.float64], y2: NDArray[np.float64], w2: NDArray[np.float64],
                counts: NDArray[np.int64], distinct: NDArray[np.int64],
                sspe: NDArray[np.float64], df_pe: NDArray[np.int64]) -> None:
    for ci in prange(lx2.shape[0]):
        n = counts[ci]
        idx = np.argsort(lx2[ci, :n], kind="mergesort")
        g = 0
        s = 0.0
        npts = 0
        i = 0
        while i < n:
            j = i
            sw = 0.0
            swy = 0.0
            while j < n and lx2[ci, idx[j]] == lx2[ci, idx[i]]:
                if w2[ci, idx[j]] > 0:
                    sw += w2[ci, idx[j]]
                    swy += w2[ci, idx[j]] * y2[ci, idx[j]]
                j += 1
            if sw > 0:
                g += 1
                mean = swy / sw
                for t in range(i, j):
                    q = idx[t]
                    if w2[ci, q] > 0:
                        r = y2[ci, q] - mean
                        s += w2[ci, q] * r * r
                        npts += 1
            i = j
        distinct[ci] = g
        sspe[ci] = s
        df_pe[ci] = npts - g


@njit(cache=True, error_model="numpy")
def _row_sums_kernel(values: NDArray[np.float64], counts: NDArray[np.int64],
                     out: NDArray[np.float64]) -> None:
    for ci in range(values.shape[0]):
        s = 0.0
        for i in range(counts[ci]):
            s += values[ci, i]
        out[ci] = s


def row_sums(values: Array, counts: NDArray[np.int64]) -> Array:
    """Sum of the first ``counts[i]`` entries of each row, left to right.

    Unlike ``values.sum(axis=1)`` the rounding does not depend on the padded row length,
    so per-curve results do not depend on which curves share a batch.
    """
    out = np.zeros(values.shape[0])
    if values.shape[0]:
        _row_sums_kernel(np.ascontiguousarray(values, dtype=np.float64),
                         counts.astype(np.int64), out)
    return out


@njit(cache=True, parallel=True, error_model="numpy")
def _response_kernel(fam: int, five: bool, theta: NDArray[np.float64],
                     lx: NDArray[np.float64], out: NDArray[np.float64]) -> None:
    for ci in prange(theta.shape[0]):
        b, c, d, le, f = theta[ci, 0], theta[ci, 1], theta[ci, 2], theta[ci, 3], theta[ci, 4]
        for i in range(lx.shape[1]):
            z, _ = _z(b, lx[ci, i], le)
            g, _, _ = _g(fam, five, z, f)
            out[ci, i] = c + (d - c) * g


def response(model: Model, theta: Array, logx: Array) -> Array:
    """Compiled :meth:`Model.response`: curve ``i`` (row of theta) at ``logx[i]``."""
    out = np.empty(logx.shape)
    if theta.shape[0]:
        _response_kernel(_FAMILIES[model.family], model.five,
                         np.ascontiguousarray(theta, dtype=np.float64),
                         np.ascontiguousarray(logx, dtype=np.float64), out)
    return out


@njit(cache=True, error_model="numpy")
def _simpson_g(fam: int, five: bool, f: float, za: float, zb: float, nodes: int) -> float:
    """Composite Simpson integral of g(z) over [za, zb] (``nodes`` odd)."""
    h = (zb - za) / (nodes - 1)
    s = 0.0
    for j in range(nodes):
        g, _, _ = _g(fam, five, za + h * j, f)
        s += g * (1.0 if (j == 0 or j == nodes - 1) else (4.0 if j % 2 == 1 else 2.0))
    return s * h / 3.0


@njit(cache=True, error_model="numpy")
def _int_gz(fam: int, five: bool, f: float, za: float, zb: float, nodes: int) -> float:
    """Integral of g(z) over [za, zb], za <= zb.

    Exact for the log-logistic g; otherwise g is taken at its limits outside the window
    where it moves (W1.x, W2.x: z in [−40, 4], where g is within 1e-16 of its limits;
    LL.5: z in [−40, 40/f + 5], the right part, a slow exponential tail when f is small,
    on its own Simpson grid) and integrated by Simpson's rule inside.
    """
    if fam == 0 and not five:
        return (zb - za) - (_softplus(zb) - _softplus(za))
    left = 0.0 if fam == 2 else 1.0  # g at z = −inf
    right = 1.0 if fam == 2 else 0.0  # g at z = +inf
    wl = -40.0
    wm = 4.0 if fam != 0 else 5.0
    wr = wm if fam != 0 else max(5.0, 40.0 / f + 5.0)
    total = 0.0
    if za < wl:
        total += left * (min(zb, wl) - za)
    if zb > wr:
        total += right * (zb - max(za, wr))
    a0 = max(za, wl)
    a1 = min(zb, wm)
    if a1 > a0:
        total += _simpson_g(fam, five, f, a0, a1, nodes)
    a0 = max(za, wm)
    a1 = min(zb, wr)
    if a1 > a0:
        total += _simpson_g(fam, five, f, a0, a1, nodes)
    return total


@njit(cache=True, error_model="numpy")
def _int_g(fam: int, five: bool, b: float, le: float, f: float, u0: float, u1: float,
           nodes: int) -> float:
    """Integral of g(b(u − le)) over u in [u0, u1]."""
    width = u1 - u0
    if b == 0.0:
        return width * _g(fam, five, 0.0, f)[0]
    if fam == 0 and not five and abs(b) * width < 1e-4:
        # nearly constant: g ≈ 1/2 − z/4 around the midpoint (error O(z³))
        return width * (0.5 - b * (0.5 * (u0 + u1) - le) / 4.0)
    z0 = b * (u0 - le)
    z1 = b * (u1 - le)
    return _int_gz(fam, five, f, min(z0, z1), max(z0, z1), nodes) / abs(b)


@njit(cache=True, error_model="numpy")
def _ginv(fam: int, five: bool, g: float, f: float) -> float:
    """z with g(z) = g, for g strictly between the limits of g."""
    if fam == 0:
        return math.log(g ** (-1.0 / f) - 1.0) if five else math.log(1.0 / g - 1.0)
    if fam == 1:
        return math.log(-math.log(g))
    return math.log(-math.log1p(-g))


@njit(cache=True, error_model="numpy")
def _area_one(fam: int, five: bool, th: NDArray[np.float64], lo: float, hi: float,
              reference: float, nodes: int) -> tuple[float, float]:
    """Mean fitted response over [lo, hi] and the activity area (log10-dose units).

    Exact for the log-logistic models (LL.2–LL.4); for LL.5 and the Weibull models g is
    integrated by Simpson's rule (``nodes`` per piece, odd) where it is not constant.
    The activity area integrates (reference − y)/reference where positive: y is monotone,
    so that is one interval ending at the crossing of the reference level.
    """
    b, c, d, le, f = th[0], th[1], th[2], th[3], th[4]
    width = hi - lo
    auc = c + (d - c) * _int_g(fam, five, b, le, f, lo, hi, nodes) / width
    if reference == 0:
        return auc, 0.0
    # v(u) = (reference − y)/reference = alpha + beta·g(u), monotone in u
    alpha = 1.0 - c / reference
    beta = -(d - c) / reference
    z_lo, _ = _z(b, lo, le)
    z_hi, _ = _z(b, hi, le)
    v_lo = alpha + beta * _g(fam, five, z_lo, f)[0]
    v_hi = alpha + beta * _g(fam, five, z_hi, f)[0]
    if v_lo <= 0 and v_hi <= 0:
        act = 0.0
    elif v_lo >= 0 and v_hi >= 0:
        act = alpha * width + beta * _int_g(fam, five, b, le, f, lo, hi, nodes)
    else:
        # the crossing: g = −alpha/beta, strictly inside the range of g
        us = min(max(le + _ginv(fam, five, -alpha / beta, f) / b, lo), hi)
        u0, u1 = (lo, us) if v_lo > 0 else (us, hi)
        act = alpha * (u1 - u0) + beta * _int_g(fam, five, b, le, f, u0, u1, nodes)
    return auc, max(act, 0.0) / math.log(10.0)


@njit(cache=True, parallel=True, error_model="numpy")
def _areas_kernel(fam: int, five: bool, theta: NDArray[np.float64], lo: NDArray[np.float64],
                  hi: NDArray[np.float64], reference: float, nodes: int,
                  auc: NDArray[np.float64], area: NDArray[np.float64]) -> None:
    for ci in prange(theta.shape[0]):
        auc[ci], area[ci] = _area_one(fam, five, theta[ci], lo[ci], hi[ci], reference, nodes)


def areas(model: Model, theta: Array, lo: Array, hi: Array, reference: float,
          nodes: int = 401) -> tuple[Array, Array]:
    """Mean fitted response and activity area of each curve (see :func:`_area_one`)."""
    m = theta.shape[0]
    auc = np.empty(m)
    area = np.empty(m)
    if m:
        _areas_kernel(_FAMILIES[model.family], model.five,
                      np.ascontiguousarray(theta, dtype=np.float64),
                      np.ascontiguousarray(lo, dtype=np.float64),
                      np.ascontiguousarray(hi, dtype=np.float64), float(reference), nodes,
                      auc, area)
    return auc, area


def distinct_and_pure_error(packed: _lm.Packed) -> tuple[NDArray[np.int64], Array,
                                                        NDArray[np.int64]]:
    """Distinct doses, pure-error sum of squares and its df, per curve (padding ignored)."""
    m = packed.y.shape[0]
    distinct = np.zeros(m, dtype=np.int64)
    sspe = np.zeros(m)
    df_pe = np.zeros(m, dtype=np.int64)
    if m:
        _pure_error(np.ascontiguousarray(packed.logx), np.ascontiguousarray(packed.y),
                    np.ascontiguousarray(packed.w), packed.n.astype(np.int64), distinct,
                    sspe, df_pe)
    return distinct, sspe, df_pe


@njit(cache=True, inline="always", error_model="numpy")
def _lentz(aa: float, c: float, d: float) -> tuple[float, float]:
    """One modified-Lentz update of a continued fraction with coefficient ``aa``."""
    tiny = 1e-300
    d = 1.0 + aa * d
    if abs(d) < tiny:
        d = tiny
    c = 1.0 + aa / c
    if abs(c) < tiny:
        c = tiny
    return c, 1.0 / d


@njit(cache=True, error_model="numpy")
def _betacf(a: float, b: float, x: float) -> float:
    """Continued fraction of the incomplete beta function (modified Lentz)."""
    tiny = 1e-300
    qab = a + b
    qap = a + 1.0
    qam = a - 1.0
    c = 1.0
    d = 1.0 - qab * x / qap
    if abs(d) < tiny:
        d = tiny
    d = 1.0 / d
    h = d
    for m in range(1, 1000):
        m2 = 2 * m
        c, d = _lentz(m * (b - m) * x / ((qam + m2) * (a + m2)), c, d)
        h *= d * c
        c, d = _lentz(-(a + m) * (qab + m) * x / ((a + m2) * (qap + m2)), c, d)
        de = d * c
        h *= de
        if abs(de - 1.0) < 1e-16:
            break
    return h


@njit(cache=True, error_model="numpy")
def _betai(a: float, b: float, x: float) -> float:
    """Regularised incomplete beta function I_x(a, b)."""
    if not x > 0.0:
        return 0.0
    if not x < 1.0:
        return 1.0
    lbt = (math.lgamma(a + b) - math.lgamma(a) - math.lgamma(b) + a * math.log(x)
           + b * math.log1p(-x))
    if x < (a + 1.0) / (a + b + 2.0):
        return math.exp(lbt) * _betacf(a, b, x) / a
    return 1.0 - math.exp(lbt) * _betacf(b, a, 1.0 - x) / b


@njit(cache=True, parallel=True, error_model="numpy")
def _f_sf_kernel(df1: NDArray[np.float64], df2: NDArray[np.float64],
                 f: NDArray[np.float64], out: NDArray[np.float64]) -> None:
    for i in prange(f.shape[0]):
        fi = f[i]
        if not (df1[i] > 0 and df2[i] > 0) or fi != fi:
            out[i] = math.nan
        elif fi <= 0:
            out[i] = 1.0
        elif fi == math.inf:
            out[i] = 0.0
        else:
            out[i] = _betai(0.5 * df2[i], 0.5 * df1[i], df2[i] / (df2[i] + df1[i] * fi))


def f_sf(df1: NDArray[np.number] | float, df2: NDArray[np.number] | float,
         f: NDArray[np.number]) -> Array:
    """Upper tail P(F > f) of the F distribution (as ``scipy.special.fdtrc``)."""
    fv = np.ascontiguousarray(f, dtype=np.float64)
    a = np.ascontiguousarray(np.broadcast_to(df1, fv.shape), dtype=np.float64)
    b = np.ascontiguousarray(np.broadcast_to(df2, fv.shape), dtype=np.float64)
    out = np.empty(fv.shape)
    if fv.size:
        _f_sf_kernel(a.ravel(), b.ravel(), fv.ravel(), out.reshape(-1))
    return out


@njit(cache=True, error_model="numpy")
def _t_quantile_one(df: float, p: float) -> float:
    """Quantile p > 1/2 of Student's t: bisection on x = df/(df + t²) for the upper tail
    (1 − p) = I_x(df/2, 1/2)/2, to the last bit of x."""
    target = 2.0 * (1.0 - p)
    lo = 0.0  # x = 0: t = inf, tail 0
    hi = 1.0  # x = 1: t = 0, tail 1
    for _ in range(200):
        mid = 0.5 * (lo + hi)
        if mid <= lo or mid >= hi:
            break
        if _betai(0.5 * df, 0.5, mid) < target:
            lo = mid
        else:
            hi = mid
    x = 0.5 * (lo + hi)
    return math.sqrt(df * (1.0 - x) / x)


def t_quantile(df: NDArray[np.number], p: float) -> Array:
    """Quantile ``p`` (> 0.5) of Student's t for each df > 0 (as ``scipy.special.stdtrit``)."""
    return np.array([_t_quantile_one(float(d), p) for d in np.asarray(df, dtype=float)])
