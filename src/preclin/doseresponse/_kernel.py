"""Compiled (numba) fitting engine: the same algorithm as :mod:`._lm`, one curve per task.

Every curve is fitted independently inside a ``prange`` loop, so results do not depend on
the batch size or on the number of threads. The algorithm mirrors the numpy reference
engine in :mod:`._lm` step for step (grid starts with profiled asymptotes, slope-diverse
starts, Levenberg–Marquardt with the same acceptance and stopping rules, bounds and drift
detection, full-Hessian covariance); tests check that both engines agree.
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit, prange
from numpy.typing import NDArray

from . import _lm
from .models import PARAM_NAMES, Model

__all__ = ["fit_curves", "distinct_and_pure_error", "row_sums"]

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


@njit(cache=True, error_model="numpy")
def _rss(fam: int, five: bool, th: NDArray[np.float64], lx: NDArray[np.float64],
         y: NDArray[np.float64], w: NDArray[np.float64], n: int) -> float:
    s = 0.0
    b, c, d, le, f = th[0], th[1], th[2], th[3], th[4]
    for i in range(n):
        z, _ = _z(b, lx[i], le)
        g, _, _ = _g(fam, five, z, f)
        r = y[i] - (c + (d - c) * g)
        s += w[i] * r * r
    return s


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
        fin = lx[i] != -math.inf
        u = lx[i] - le
        z = b * u if fin else zero_z
        ez = math.exp(-abs(z))
        inv = 1.0 / (1.0 + ez)
        g = ez * inv if z > 0 else inv
        dg = -g * (1.0 - g)
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
def _normal(wy: NDArray[np.float64], wj: NDArray[np.float64], y: NDArray[np.float64],
            w: NDArray[np.float64], n: int, k: int, jtj: NDArray[np.float64],
            jtr: NDArray[np.float64], diag: NDArray[np.float64]) -> float:
    """Normal equations JᵀWJ, JᵀWr and diag; returns the largest diagonal element."""
    for p in range(k):
        jtr[p] = 0.0
        for q in range(k):
            jtj[p, q] = 0.0
    for i in range(n):
        wi = w[i]
        if wi <= 0:
            continue
        r = y[i] - wy[i]
        for p in range(k):
            jp = wj[i, p] * wi
            jtr[p] += jp * r
            for q in range(p + 1):
                jtj[p, q] += jp * wj[i, q]
    maxd = 0.0
    for p in range(k):
        for q in range(p):
            jtj[q, p] = jtj[p, q]
        diag[p] = jtj[p, p]
        if diag[p] > maxd:
            maxd = diag[p]
    return maxd


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


@njit(cache=True, error_model="numpy")
def _lm_curve(fam: int, five: bool, th: NDArray[np.float64], lx: NDArray[np.float64],
        y: NDArray[np.float64], w: NDArray[np.float64], n: int, free: NDArray[np.int64],
        free_mask: NDArray[np.bool_], lo: float, hi: float, ylo: float, yhi: float,
        max_iter: int, ftol: float, max_b: float, margin: float, asym_margin: float,
        wy: NDArray[np.float64], wj: NDArray[np.float64]) -> tuple[float, bool, int, bool]:
    """Levenberg–Marquardt on one curve, in place on ``th``; see ``_lm.levenberg_marquardt``."""
    k = free.shape[0]
    _clip(th, free_mask, lo, hi, ylo, yhi, five, max_b, margin)
    rss = _rss(fam, five, th, lx, y, w, n)
    lam = 1e-3
    window = 10
    hist = np.full(window, rss)
    yrange = (yhi - ylo) / (1 + 2 * asym_margin)
    drifting = False
    converged = False
    iters = 0
    jtj = np.empty((k, k))
    jtr = np.empty(k)
    a = np.empty((k, k))
    rhs = np.empty(k)
    step = np.empty(k)
    new = np.empty(5)
    diag = np.empty(k)
    wyt = np.empty(n)
    wjt = np.empty((n, k))
    _jac(fam, five, th, lx, n, free, wy, wj)
    maxd = _normal(wy, wj, y, w, n, k, jtj, jtr, diag)
    for it in range(max_iter):
        floor = 1e-12 * max(maxd, 1e-300)
        for p in range(k):
            for q in range(k):
                a[p, q] = jtj[p, q]
            a[p, p] += lam * max(diag[p], floor)
            rhs[p] = jtr[p]
        ok = _solve(a, rhs, k, step)
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
        if finite:
            # response and Jacobian at the trial point in one pass: reused if accepted
            _jac(fam, five, new, lx, n, free, wyt, wjt)
            new_rss = 0.0
            for i in range(n):
                r = y[i] - wyt[i]
                new_rss += w[i] * r * r
        if not math.isfinite(new_rss):
            finite = False
        accept = finite and new_rss <= rss
        iters += 1
        old_rss = rss
        rel_change = abs(old_rss - new_rss) / max(old_rss, 1e-300) if finite else math.inf
        rel_step = 0.0
        for p in range(k):
            j = free[p]
            den = max(abs(th[j]), 1e-6)
            v = abs(new[j] - th[j]) / den
            if not finite or not math.isfinite(v):
                v = math.inf
            if v > rel_step:
                rel_step = v
        cosine = 0.0
        for p in range(k):
            v = abs(jtr[p]) / math.sqrt(max(diag[p], 1e-300) * max(old_rss, 1e-300))
            if v > cosine:
                cosine = v
        lam_old = lam
        if accept:
            for j in range(5):
                th[j] = new[j]
            rss = new_rss
            lam = max(lam / 10.0, 1e-15)
            wy, wyt = wyt, wy
            wj, wjt = wjt, wj
            maxd = _normal(wy, wj, y, w, n, k, jtj, jtr, diag)
        else:
            lam = lam * 10.0
        ftol_ok = accept and rel_change <= ftol and lam_old <= 1e-2
        xtol_ok = accept and rel_step <= 1e-10
        gtol_ok = cosine <= 1e-10
        bound = accept and _at_bound(new, free_mask, lo, hi, ylo, yhi, max_b, margin)
        slot = it % window
        oldest = hist[(slot + 1) % window]
        hist[slot] = rss
        slow = 1e-4 if it >= max_iter // 2 else 1e-6
        stalled = (it >= window and oldest - rss <= slow * rss
                   and _running_off(th, lo, hi, yrange)
                   and not (ftol_ok or xtol_ok or gtol_ok))
        if stalled or bound:
            drifting = True
        if (ftol_ok or xtol_ok or gtol_ok or lam > 1e16 or old_rss <= 1e-300 or bound
                or stalled):
            converged = True
            break
    at_b = _at_bound(th, free_mask, lo, hi, ylo, yhi, max_b, margin) or drifting
    return rss, converged, iters, at_b


@njit(cache=True, error_model="numpy")
def _fill_g(fam: int, five: bool, b: float, le: float, f0: float, lx: NDArray[np.float64],
            n: int, gbuf: NDArray[np.float64]) -> None:
    for i in range(n):
        z, _ = _z(b, lx[i], le)
        g, _, _ = _g(fam, five, z, f0)
        gbuf[i] = g


@njit(cache=True, error_model="numpy")
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


@njit(cache=True, error_model="numpy")
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


@njit(cache=True, error_model="numpy")
def _half_hessian(fam: int, five: bool, th: NDArray[np.float64], lx: NDArray[np.float64],
                  y: NDArray[np.float64], w: NDArray[np.float64], n: int,
                  free: NDArray[np.int64], wy: NDArray[np.float64], wj: NDArray[np.float64],
                  wjp: NDArray[np.float64], wjm: NDArray[np.float64],
                  m: NDArray[np.float64]) -> None:
    """M = JᵀWJ − Σ w r ∇²f (half the full Hessian of the RSS), as ``_lm.rss_hessian``."""
    k = free.shape[0]
    _jac(fam, five, th, lx, n, free, wy, wj)
    wr = np.empty(n)
    for i in range(n):
        wr[i] = (y[i] - wy[i]) * w[i] if w[i] > 0 else 0.0
    for p in range(k):
        for q in range(k):
            s = 0.0
            for i in range(n):
                s += wj[i, p] * wj[i, q] * w[i]
            m[p, q] = s
    tp = np.empty(5)
    second = np.zeros((k, k))
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
def _inverse_pd(m: NDArray[np.float64], k: int, out: NDArray[np.float64]) -> bool:
    """Inverse of a symmetric positive-definite k×k matrix (as ``fit._inverse_pd``)."""
    d = np.empty(k)
    for p in range(k):
        if not math.isfinite(m[p, p]):
            return False
        d[p] = math.sqrt(abs(m[p, p]))
        if d[p] == 0:
            return False
    hs = np.empty((k, k))
    for p in range(k):
        for q in range(k):
            if not math.isfinite(m[p, q]):
                return False
            hs[p, q] = m[p, q] / (d[p] * d[q])
    chol = np.zeros((k, k))
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
        z = np.zeros(k)
        for p in range(k):
            s = 1.0 if p == col else 0.0
            for t in range(p):
                s -= chol[p, t] * z[t]
            z[p] = s / chol[p, p]
        x = np.zeros(k)
        for p in range(k - 1, -1, -1):
            s = z[p]
            for t in range(p + 1, k):
                s -= chol[t, p] * x[t]
            x[p] = s / chol[p, p]
        for p in range(k):
            out[p, col] = x[p] / (d[p] * d[col])
    return True


@njit(cache=True, parallel=True, error_model="numpy")
def _fit_all(lx2: NDArray[np.float64], y2: NDArray[np.float64], w2: NDArray[np.float64],
             counts: NDArray[np.int64], fam: int, five: bool, free: NDArray[np.int64],
             fixed: NDArray[np.float64], bvals: NDArray[np.float64], fracs: NDArray[np.float64],
             symmetric_cd: bool, n_starts: int, max_iter: int, ftol: float, max_b: float,
             margin: float, asym_margin: float,
             theta_out: NDArray[np.float64], rss_out: NDArray[np.float64],
             conv_out: NDArray[np.bool_], iter_out: NDArray[np.int64],
             bound_out: NDArray[np.bool_], minv_out: NDArray[np.float64],
             ident_out: NDArray[np.bool_]) -> None:
    m_curves = lx2.shape[0]
    k = free.shape[0]
    free_mask = np.zeros(5, dtype=np.bool_)
    for p in range(k):
        free_mask[free[p]] = True
    nb = bvals.shape[0]
    e_fixed = not free_mask[3]
    nle = 1 if e_fixed else fracs.shape[0]
    for ci in prange(m_curves):
        n = counts[ci]
        lx = lx2[ci, :n]
        y = y2[ci, :n]
        w = w2[ci, :n]
        # ranges
        lo = math.inf
        hi = -math.inf
        ymin = math.inf
        ymax = -math.inf
        for i in range(n):
            if w[i] > 0:
                if math.isfinite(lx[i]):
                    lo = min(lo, lx[i])
                    hi = max(hi, lx[i])
                ymin = min(ymin, y[i])
                ymax = max(ymax, y[i])
        if not math.isfinite(lo):
            lo = 0.0
            hi = 0.0
        if not (math.isfinite(ymin) and math.isfinite(ymax)):
            ymin = 0.0
            ymax = 1.0
        yr = max(ymax - ymin, 1e-12 * max(abs(ymax), 1.0))
        ylo = ymin - asym_margin * yr
        yhi = ymax + asym_margin * yr
        span = max(hi - lo, 1e-6)
        gbuf = np.empty(n)
        ex = np.empty(n)
        mid = 0.5 * (lo + hi)
        fast_ll = fam == 0 and not five
        # grid: best point per slope
        per_rss = np.full(nb, math.inf)
        per_th = np.zeros((nb, 5))
        for ib in range(nb):
            b = bvals[ib]
            best = math.inf
            if fast_ll:
                for i in range(n):
                    ex[i] = math.exp(b * (lx[i] - mid))
            for jl in range(nle):
                le = fixed[3] if e_fixed else lo + fracs[jl] * span
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
        order = np.argsort(per_rss, kind="mergesort")
        wy = np.empty(n)
        wj = np.empty((n, k))
        best_rss = math.inf
        best_th = np.zeros(5)
        best_conv = False
        best_bound = False
        total_iter = 0
        ns = min(n_starts, nb)
        for s in range(max(ns, 1)):
            if s > 0 and best_conv and not best_bound and abs(best_th[0]) <= 8.0:
                # the first start ended in a clean interior optimum: further starts are only
                # needed for steep or run-off fits (a step-like optimum can hide a better one)
                break
            src = order[s] if s < nb else order[0]
            th = np.empty(5)
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
            # further starts look for a better basin; they get a quarter of the budget
            budget = max_iter if s == 0 else max(max_iter // 4, 1)
            r, cv, it, ab = _lm_curve(fam, five, th, lx, y, w, n, free, free_mask, lo, hi,
                                      ylo, yhi, budget, ftol, max_b, margin, asym_margin, wy,
                                      wj)
            total_iter += it
            if s == 0 or r < best_rss * (1 - 1e-12):
                best_rss = r
                for t in range(5):
                    best_th[t] = th[t]
                best_conv = cv
                best_bound = ab
        for t in range(5):
            theta_out[ci, t] = best_th[t]
        rss_out[ci] = best_rss
        conv_out[ci] = best_conv
        iter_out[ci] = total_iter
        bound_out[ci] = best_bound
        ident_out[ci] = False
        if best_conv and not best_bound:
            mm = np.empty((k, k))
            wjp = np.empty((n, k))
            wjm = np.empty((n, k))
            _half_hessian(fam, five, best_th, lx, y, w, n, free, wy, wj, wjp, wjm, mm)
            inv = np.empty((k, k))
            if _inverse_pd(mm, k, inv):
                ident_out[ci] = True
                for p in range(k):
                    for q in range(k):
                        minv_out[ci, p, q] = inv[p, q]


def fit_curves(model: Model, packed: _lm.Packed, n_starts: int = 3, max_iter: int = 200,
               ftol: float = 1e-12) -> tuple[Array, Array, NDArray[np.bool_], NDArray[np.int64],
                                             NDArray[np.bool_], Array, NDArray[np.bool_]]:
    """Fit every curve of ``packed`` (curves with at least one point).

    Returns
    -------
    theta (m, 5), rss, converged, iterations, at_bound, minv (m, k, k) — the inverse of
    the half Hessian ``M`` (NaN where not positive definite) — and identifiable.
    """
    m = packed.y.shape[0]
    k = model.n_free
    free = np.array(model.free_index, dtype=np.int64)
    fixed = np.zeros(5)
    fixed[4] = 1.0
    for name, value in model.fixed.items():
        idx = PARAM_NAMES.index(name)
        fixed[idx] = np.log(value) if name == "e" else value
    bvals, symmetric_cd = _lm.grid_slopes(model)
    fracs = _lm.GRID_FRACTIONS
    theta = np.zeros((m, 5))
    rss = np.zeros(m)
    conv = np.zeros(m, dtype=np.bool_)
    iters = np.zeros(m, dtype=np.int64)
    bound = np.zeros(m, dtype=np.bool_)
    minv = np.full((m, k, k), np.nan)
    ident = np.zeros(m, dtype=np.bool_)
    if m:
        _fit_all(np.ascontiguousarray(packed.logx), np.ascontiguousarray(packed.y),
                 np.ascontiguousarray(packed.w), packed.n.astype(np.int64),
                 _FAMILIES[model.family], model.five, free, fixed, bvals, fracs,
                 symmetric_cd, n_starts, max_iter, ftol, _lm.MAX_ABS_B, _lm.LOG_E_MARGIN,
                 _lm.ASYMPTOTE_MARGIN, theta, rss, conv, iters, bound, minv, ident)
    return theta, rss, conv, iters, bound, minv, ident


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


@njit(cache=True, parallel=True, error_model="numpy")
def _areas_kernel(fam: int, five: bool, theta: NDArray[np.float64], lo: NDArray[np.float64],
                  hi: NDArray[np.float64], reference: float, nodes: int,
                  auc: NDArray[np.float64], area: NDArray[np.float64]) -> None:
    for ci in prange(theta.shape[0]):
        b, c, d, le, f = theta[ci, 0], theta[ci, 1], theta[ci, 2], theta[ci, 3], theta[ci, 4]
        s_auc = 0.0
        s_act = 0.0
        for j in range(nodes):
            x = lo[ci] + (hi[ci] - lo[ci]) * j / (nodes - 1)
            z, _ = _z(b, x, le)
            g, _, _ = _g(fam, five, z, f)
            yv = c + (d - c) * g
            wgt = 1.0 if (j == 0 or j == nodes - 1) else (4.0 if j % 2 == 1 else 2.0)
            s_auc += wgt * yv
            if reference != 0:
                s_act += wgt * max((reference - yv) / reference, 0.0)
        h = 1.0 / (nodes - 1)
        auc[ci] = s_auc * h / 3.0
        area[ci] = s_act * h / 3.0 * (hi[ci] - lo[ci]) / math.log(10.0)


def areas(model: Model, theta: Array, lo: Array, hi: Array, reference: float,
          nodes: int = 201) -> tuple[Array, Array]:
    """Composite Simpson (``nodes`` odd) mean response and activity area of each curve."""
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
