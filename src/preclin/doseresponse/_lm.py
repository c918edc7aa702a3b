"""Batched least-squares engine: starting values and Levenberg–Marquardt on many curves.

All curves of a table are packed into padded ``(m, n)`` arrays (``w = 0`` marks padding)
and fitted together; per-curve Python loops are avoided. The functions here are pure.

Starting values use variable projection: for a grid of ``(b, log e)`` the linear
parameters ``c`` and ``d`` are solved exactly by weighted least squares, and the grid
points with the lowest RSS seed Levenberg–Marquardt. This makes the fitter independent
of the self-starter heuristics that make drc fail on curves without a lower plateau.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from .models import Model

Array = NDArray[np.float64]

#: bounds kept on |b| and on log e relative to the tested range (in natural-log units)
MAX_ABS_B = 1000.0
LOG_E_MARGIN = 12.0
ASYMPTOTE_MARGIN = 100.0


@dataclass(frozen=True)
class Packed:
    """Curves packed into padded arrays."""

    logx: Array  # (m, n) log dose, -inf for dose 0, 0 for padding
    y: Array  # (m, n)
    w: Array  # (m, n) weights, 0 = padding
    n: NDArray[np.int64]  # points per curve


def pack(
    curve_index: NDArray[np.int64], dose: Array, response: Array, n_curves: int,
    weight: Array | None = None,
) -> Packed:
    """Pack long arrays (sorted or not) into padded per-curve arrays.

    Points keep their input order within each curve (stable).
    """
    order = np.argsort(curve_index, kind="stable")
    ci = curve_index[order]
    counts = np.bincount(ci, minlength=n_curves).astype(np.int64)
    nmax = int(counts.max()) if n_curves else 0
    starts = np.concatenate([[0], np.cumsum(counts)[:-1]])
    pos = np.arange(ci.size) - starts[ci]
    logx = np.zeros((n_curves, max(nmax, 1)))
    y = np.zeros_like(logx)
    w = np.zeros_like(logx)
    x = dose[order]
    with np.errstate(divide="ignore"):
        lx = np.where(x > 0, np.log(np.where(x > 0, x, 1.0)), -np.inf)
    logx[ci, pos] = lx
    y[ci, pos] = response[order]
    w[ci, pos] = 1.0 if weight is None else weight[order]
    return Packed(logx=logx, y=y, w=w, n=counts)


def rss_of(model: Model, theta: Array, p: Packed) -> Array:
    """Weighted residual sum of squares per curve."""
    r = p.y - model.response(theta, p.logx)
    r = np.where(p.w > 0, r, 0.0)
    return np.einsum("ij,ij->i", p.w * r, r)


def dose_range(p: Packed) -> tuple[Array, Array]:
    finite = np.isfinite(p.logx) & (p.w > 0)
    lo = np.where(finite, p.logx, np.inf).min(axis=1)
    hi = np.where(finite, p.logx, -np.inf).max(axis=1)
    lo = np.where(np.isfinite(lo), lo, 0.0)
    hi = np.where(np.isfinite(hi), hi, 0.0)
    return lo, hi


#: grid of log e, as fractions of the tested log-dose range
GRID_FRACTIONS = np.linspace(-0.25, 1.25, 13)
#: grid of slopes |b|
GRID_SLOPES = np.array([0.5, 1.0, 2.0, 4.0, 10.0, 40.0])


def grid_slopes(model: Model) -> tuple[Array, bool]:
    """Slopes of the starting grid and whether c > d solutions are allowed.

    Log-logistic models with free c and d are symmetric in the sign of b (swapping c and d),
    so only b > 0 is searched and either order of c, d is allowed; for the other models both
    signs are searched and, by convention, only top >= bottom.
    """
    both_free = not ({"c", "d"} & set(model.fixed))
    symmetric_cd = (both_free and model.family == "ll" and not model.five) or not both_free
    if "b" in model.fixed:
        return np.array([float(model.fixed["b"])]), symmetric_cd
    if both_free and model.family == "ll" and not model.five:
        return GRID_SLOPES.copy(), symmetric_cd
    return np.concatenate([GRID_SLOPES, -GRID_SLOPES]), symmetric_cd


def grid_starts(model: Model, p: Packed, n_best: int = 2) -> Array:
    """Starting values for every curve by a grid over ``(b, log e)`` with ``c, d`` profiled.

    Returns
    -------
    (n_best, m, 5) array of full theta.
    """
    m = p.y.shape[0]
    lo, hi = dose_range(p)
    ylo, yhi = _asymptote_bounds(p)
    span = np.maximum(hi - lo, 1e-6)
    fracs = GRID_FRACTIONS
    bvals, symmetric_cd = grid_slopes(model)
    if "e" in model.fixed:
        le_grid = np.full((m, 1), np.log(model.fixed["e"]))
    else:
        le_grid = lo[:, None] + fracs[None, :] * span[:, None]
    # best grid point for every slope, then the n_best slopes with the lowest RSS: the
    # starts differ in slope, so a step-like optimum cannot hide a smoother, better one
    per_b_rss = np.full((len(bvals), m), np.inf)
    per_b_theta = np.zeros((len(bvals), m, 5))
    f0 = model.fixed.get("f", 1.0)
    rows = np.arange(m)
    for ib, b in enumerate(bvals):
        u = p.logx[:, None, :] - le_grid[:, :, None]  # (m, L, n)
        with np.errstate(invalid="ignore"):
            z = b * u
        z = np.where(np.isnan(z), 0.0, z)
        g = model.g(z, f0)
        theta_cd, rss = _profile_cd(model, g, p)
        # starts must lie inside the bounds the optimiser keeps (clipping would move them)
        inside = ((theta_cd >= ylo[:, None, None]) & (theta_cd <= yhi[:, None, None])).all(-1)
        rss = np.where(inside, rss, np.inf)
        if not symmetric_cd:
            # by convention top >= bottom: the W1/W2/LL.5 shapes with c > d are other models
            rss = np.where(theta_cd[..., 0] > theta_cd[..., 1], np.inf, rss)
        j = np.argmin(rss, axis=1)  # first minimum: deterministic
        per_b_rss[ib] = rss[rows, j]
        per_b_theta[ib, :, 0] = b
        per_b_theta[ib, :, 1:3] = theta_cd[rows, j, :]
        per_b_theta[ib, :, 3] = le_grid[rows, j]
        per_b_theta[ib, :, 4] = f0
    order = np.argsort(per_b_rss, axis=0, kind="stable")[:n_best]  # (n_best, m)
    best_rss = np.take_along_axis(per_b_rss, order, axis=0)
    best_theta = per_b_theta[order, rows[None, :], :]
    if best_rss.shape[0] < n_best:  # fewer slopes than starts (fixed b): repeat the best
        reps = n_best - best_rss.shape[0]
        best_rss = np.concatenate([best_rss, np.repeat(best_rss[:1], reps, axis=0)])
        best_theta = np.concatenate([best_theta, np.repeat(best_theta[:1], reps, axis=0)])
    # curves where nothing was finite: fall back to a neutral start
    bad = ~np.isfinite(best_rss[0])
    if bad.any():
        best_theta[:, bad] = np.array([1.0, 0.0, 1.0, 0.0, 1.0])
        best_theta[:, bad, 3] = (lo[bad] + hi[bad]) / 2
    return best_theta


def _profile_cd(model: Model, g: Array, p: Packed) -> tuple[Array, Array]:
    """Least-squares ``c`` and ``d`` for fixed shape ``g`` of shape ``(m, L, n)``."""
    w = p.w[:, None, :]
    y = p.y[:, None, :]
    c_fixed = model.fixed.get("c")
    d_fixed = model.fixed.get("d")
    a1 = 1.0 - g  # column for c
    a2 = g  # column for d
    if c_fixed is None and d_fixed is None:
        s11 = np.sum(w * a1 * a1, axis=-1)
        s12 = np.sum(w * a1 * a2, axis=-1)
        s22 = np.sum(w * a2 * a2, axis=-1)
        t1 = np.sum(w * a1 * y, axis=-1)
        t2 = np.sum(w * a2 * y, axis=-1)
        det = s11 * s22 - s12 * s12
        ok = det > 1e-12 * np.maximum(s11 * s22, 1e-300)
        with np.errstate(divide="ignore", invalid="ignore"):
            c = np.where(ok, (s22 * t1 - s12 * t2) / det, np.nan)
            d = np.where(ok, (s11 * t2 - s12 * t1) / det, np.nan)
    elif c_fixed is not None and d_fixed is None:
        s22 = np.sum(w * a2 * a2, axis=-1)
        t2 = np.sum(w * a2 * (y - c_fixed * a1), axis=-1)
        c = np.full_like(s22, c_fixed)
        with np.errstate(divide="ignore", invalid="ignore"):
            d = np.where(s22 > 1e-300, t2 / s22, np.nan)
    elif d_fixed is not None and c_fixed is None:
        s11 = np.sum(w * a1 * a1, axis=-1)
        t1 = np.sum(w * a1 * (y - d_fixed * a2), axis=-1)
        d = np.full_like(s11, d_fixed)
        with np.errstate(divide="ignore", invalid="ignore"):
            c = np.where(s11 > 1e-300, t1 / s11, np.nan)
    else:
        c = np.full(g.shape[:2], float(c_fixed))  # type: ignore[arg-type]
        d = np.full(g.shape[:2], float(d_fixed))  # type: ignore[arg-type]
    fit = c[..., None] + (d - c)[..., None] * g
    r = np.where(w > 0, y - fit, 0.0)
    rss = np.sum(w * r * r, axis=-1)
    rss = np.where(np.isfinite(c) & np.isfinite(d), rss, np.inf)
    return np.stack([c, d], axis=-1), rss


@dataclass(frozen=True)
class LMResult:
    """Outcome of :func:`levenberg_marquardt`."""

    theta: Array  # (m, 5)
    rss: Array
    converged: NDArray[np.bool_]
    iterations: NDArray[np.int64]
    at_bound: NDArray[np.bool_]
    #: stopped on entering a run-off valley (``runoff_exit``; see :func:`runoff_side`)
    exited: NDArray[np.bool_] | None = None


def _asymptote_bounds(p: Packed) -> tuple[Array, Array]:
    """Asymptotes are kept within the observed responses ± ASYMPTOTE_MARGIN ranges."""
    ymax = np.where(p.w > 0, p.y, -np.inf).max(axis=1)
    ymin = np.where(p.w > 0, p.y, np.inf).min(axis=1)
    ok = np.isfinite(ymax) & np.isfinite(ymin)
    ymax = np.where(ok, ymax, 1.0)
    ymin = np.where(ok, ymin, 0.0)
    yr = np.maximum(ymax - ymin, 1e-12 * np.maximum(np.abs(ymax), 1.0))
    return ymin - ASYMPTOTE_MARGIN * yr, ymax + ASYMPTOTE_MARGIN * yr


def _at_bound(model: Model, theta: Array, lo: Array, hi: Array,
              ylo: Array, yhi: Array) -> NDArray[np.bool_]:
    """Curves whose slope, log e or an asymptote sits on the bound kept by :func:`_clip`."""
    hit = np.zeros(theta.shape[0], dtype=bool)
    for j, name in ((1, "c"), (2, "d")):
        if name not in model.fixed:
            span = yhi - ylo
            hit |= (theta[:, j] <= ylo + 1e-12 * span) | (theta[:, j] >= yhi - 1e-12 * span)
    if "b" not in model.fixed:
        hit |= np.abs(theta[:, 0]) >= MAX_ABS_B * (1 - 1e-12)
    if "e" not in model.fixed:
        hit |= (theta[:, 3] <= lo - LOG_E_MARGIN + 1e-9) | (theta[:, 3] >= hi + LOG_E_MARGIN - 1e-9)
    return hit


def _clip(model: Model, theta: Array, lo: Array, hi: Array, ylo: Array, yhi: Array) -> Array:
    out = theta.copy()
    for j, name in ((1, "c"), (2, "d")):
        if name not in model.fixed:
            out[:, j] = np.clip(out[:, j], ylo, yhi)
    if "b" not in model.fixed:
        out[:, 0] = np.clip(out[:, 0], -MAX_ABS_B, MAX_ABS_B)
    if "e" not in model.fixed:
        out[:, 3] = np.clip(out[:, 3], lo - LOG_E_MARGIN, hi + LOG_E_MARGIN)
    if model.five and "f" not in model.fixed:
        out[:, 4] = np.clip(out[:, 4], 1e-3, 1e3)
    return out


def levenberg_marquardt(
    model: Model,
    theta0: Array,
    p: Packed,
    *,
    max_iter: int | NDArray[np.int64] = 200,
    ftol: float = 1e-12,
    runoff_exit: bool = False,
) -> LMResult:
    """Minimise the weighted RSS of every curve from ``theta0`` (``(m, 5)``).

    Marquardt's scaling (damping proportional to ``diag(JᵀJ)``) with a per-curve damping
    factor updated by Nielsen's rule from the ratio ρ of the actual to the predicted RSS
    decrease (accepted: λ·max(1/3, 1 − (2ρ − 1)³); rejected: λ·ν with ν doubling); a step
    is accepted only when it lowers the RSS. A curve is converged when an
    accepted, nearly Gauss–Newton step lowers the RSS by less than ``ftol`` relative, when
    the relative step is below 1e-10, when the residuals are orthogonal to every Jacobian
    column (cosine below 1e-10), or when no step can lower the RSS any further (damping
    saturated), which happens only at a minimum or along a direction where the RSS keeps
    falling towards an asymptote (e.g. an infinitely steep curve).

    ``max_iter`` may differ by curve (an array). With ``runoff_exit`` (LL.4 with every
    parameter free) a curve stops, ``exited``, as soon
    as an accepted step (from the third on) enters a run-off valley (:func:`runoff_side`).
    """
    theta = theta0.copy()
    m = theta.shape[0]
    idx = model.free_index
    k = len(idx)
    lo, hi = dose_range(p)
    ylo, yhi = _asymptote_bounds(p)
    theta = _clip(model, theta, lo, hi, ylo, yhi)
    rss = rss_of(model, theta, p)
    lam = np.full(m, 1e-3)
    nu = np.full(m, 2.0)
    exited = np.zeros(m, dtype=bool)
    has_zero = has_zero_dose(p) if runoff_exit else None
    converged = np.zeros(m, dtype=bool)
    iters = np.zeros(m, dtype=np.int64)
    active = np.arange(m)
    eye = np.eye(k)
    window = 10
    hist = np.tile(rss[:, None], (1, window))
    drifting = np.zeros(m, dtype=bool)
    yrange = (yhi - ylo) / (1 + 2 * ASYMPTOTE_MARGIN)
    limit = np.broadcast_to(np.asarray(max_iter, dtype=np.int64), (m,))
    for it in range(int(limit.max()) if m else 0):
        if active.size == 0:
            break
        sub = Packed(p.logx[active], p.y[active], p.w[active], p.n[active])
        th = theta[active]
        yhat, jac = model.jacobian(th, sub.logx)
        sw = np.sqrt(sub.w)
        r = np.where(sub.w > 0, sub.y - yhat, 0.0) * sw
        jw = jac * sw[:, :, None]
        jtj = np.einsum("mnp,mnq->mpq", jw, jw)
        jtr = np.einsum("mnp,mn->mp", jw, r)
        diag = np.einsum("mpp->mp", jtj)
        scale = np.maximum(diag, 1e-12 * np.maximum(diag.max(axis=1, keepdims=True), 1e-300))
        lam_a = lam[active]
        a = jtj + (lam_a[:, None, None] * scale[:, :, None]) * eye[None]
        try:
            step = np.linalg.solve(a, jtr[:, :, None])[:, :, 0]
        except np.linalg.LinAlgError:
            step = np.stack([_safe_solve(a[i], jtr[i]) for i in range(a.shape[0])])
        # predicted RSS decrease of the damped Gauss–Newton model: hᵀ(Jᵀr + λ D h)
        pred = np.einsum("mp,mp->m", step, jtr + lam_a[:, None] * scale * step)
        new = th.copy()
        new[:, idx] = th[:, idx] + step
        new = _clip(model, new, lo[active], hi[active], ylo[active], yhi[active])
        new_rss = rss_of(model, new, sub)
        finite = np.isfinite(new_rss) & np.all(np.isfinite(new), axis=1)
        accept = finite & (new_rss <= rss[active])
        iters[active] += 1
        old_rss = rss[active]
        rel_change = np.abs(old_rss - new_rss) / np.maximum(old_rss, 1e-300)
        denom = np.maximum(np.abs(th[:, idx]), 1e-6)
        rel_step = np.max(np.abs(new[:, idx] - th[:, idx]) / denom, axis=1)
        theta[active[accept]] = new[accept]
        rss[active[accept]] = new_rss[accept]
        with np.errstate(invalid="ignore", divide="ignore"):
            # ρ >= 1 gives the same factor (1/3): capped, so that the cube cannot overflow
            rho = np.minimum(np.where(pred > 0, (old_rss - new_rss) / pred, 0.0), 1.0)
        q = 2.0 * rho - 1.0
        nu_a = nu[active]
        lam_new = np.where(accept, np.maximum(lam_a * np.maximum(1.0 / 3.0, 1.0 - q * q * q),
                                              1e-15), lam_a * nu_a)
        nu[active] = np.where(accept, 2.0, nu_a * 2.0)
        lam[active] = lam_new
        tiny = old_rss <= 1e-300  # exact fit
        # MINPACK-style tests: tiny relative RSS decrease on a near-Gauss-Newton step,
        # a tiny relative step, or residuals orthogonal to the Jacobian columns (gtol)
        with np.errstate(invalid="ignore", divide="ignore"):
            cosine = np.max(np.abs(jtr) / np.sqrt(np.maximum(diag, 1e-300) *
                                                 np.maximum(old_rss, 1e-300)[:, None]), axis=1)
        ftol_ok = accept & (rel_change <= ftol) & (lam_a <= 1e-2)
        xtol_ok = accept & (rel_step <= 1e-10)
        gtol_ok = cosine <= 1e-10
        # a slope or ec50 running to its bound: the infimum lies at infinity (a step
        # between two doses, or no response within the range); stop there
        bound = accept & _at_bound(model, new, lo[active], hi[active], ylo[active],
                                   yhi[active])
        # stalled drift: over the last `window` iterations the RSS fell by < 1e-6 relative
        # while a parameter is heading off (very steep, ec50 outside the range, or an
        # asymptote far beyond the data): the optimum lies at infinity
        cur = rss[active]
        slot = it % window
        oldest = hist[active, (slot + 1) % window]
        hist[active, slot] = cur
        heading_off = running_off(theta[active], lo[active], hi[active], yrange[active])
        slow = np.where(it >= limit[active] // 2, 1e-4, 1e-6)  # later, accept a slower crawl
        stalled = (it >= window) & (oldest - cur <= slow * cur) & heading_off & ~(
            ftol_ok | xtol_ok | gtol_ok)
        drifting[active[stalled | bound]] = True
        done = ftol_ok | xtol_ok | gtol_ok | (lam_new > 1e16) | tiny | bound | stalled
        converged[active[done]] = True
        if has_zero is not None and it >= 2:
            out = ~done & accept & (runoff_side(theta[active], has_zero[active], lo[active],
                                                hi[active], yrange[active]) > 0)
            exited[active[out]] = True
            done = done | out
        done = done | (it + 1 >= limit[active])  # budget spent (not converged)
        active = active[~done]
    return LMResult(theta=theta, rss=rss, converged=converged, iterations=iters,
                    at_bound=(_at_bound(model, theta, lo, hi, ylo, yhi) | drifting) & ~exited,
                    exited=exited)


def has_zero_dose(p: Packed) -> NDArray[np.bool_]:
    """Curves with a (used) point at dose 0."""
    return np.asarray(np.any(np.isneginf(p.logx) & (p.w > 0), axis=1), dtype=bool)


def runoff_side(theta: Array, has_zero: NDArray[np.bool_], lo: Array, hi: Array,
                yrange: Array) -> NDArray[np.int64]:
    """Which asymptote of an LL.4 fit runs off to infinity with log e (1: c, 2: d, 0: none).

    When log e lies beyond the tested doses by more than 0.3 slope units (``|b| (le − hi)``
    or ``|b| (lo − le)``), with 0.05 <= |b| <= 8, and the asymptotes are more than 1.5 times
    the response range apart, the curve over the doses is close to its limit
    ``a + B exp(±b u)``, reached only as log e and the far asymptote go to infinity together:
    LM crawls along that valley. A dose of 0 pins both asymptotes: such curves never run
    off this way.
    """
    b, c, d, le = theta[:, 0], theta[:, 1], theta[:, 2], theta[:, 3]
    ab = np.abs(b)
    ok = ~has_zero & (ab >= 0.05) & (ab <= 8.0) & (np.abs(d - c) > 1.5 * yrange)
    up = ok & (le > hi) & (ab * (le - hi) >= 0.3)
    down = ok & ~up & (le < lo) & (ab * (lo - le) >= 0.3)
    side = np.zeros(theta.shape[0], dtype=np.int64)
    side[up] = np.where(b[up] > 0, 1, 2)
    side[down] = np.where(b[down] > 0, 2, 1)
    return side


def running_off(theta: Array, lo: Array, hi: Array, yrange: Array) -> NDArray[np.bool_]:
    """Curves whose parameters head for an optimum at infinity.

    Very steep (|b| > 8), ec50 more than e times outside the tested range ``[lo, hi]``
    (log doses), or an amplitude larger than three times the observed response range.
    """
    return np.asarray(
        (np.abs(theta[:, 0]) > 8) | (theta[:, 3] < lo - 1) | (theta[:, 3] > hi + 1)
        | (np.abs(theta[:, 2] - theta[:, 1]) > 3 * yrange), dtype=bool)


def _safe_solve(a: Array, b: Array) -> Array:
    try:
        return np.asarray(np.linalg.solve(a, b), dtype=float)
    except np.linalg.LinAlgError:
        return np.asarray(np.linalg.lstsq(a, b, rcond=None)[0], dtype=float)


def rss_hessian(model: Model, theta: Array, p: Packed) -> tuple[Array, Array]:
    """Half the full Hessian of the RSS w.r.t. the free internal parameters, and ``JᵀJ``.

    ``M = JᵀWJ − Σ w r ∇²f``; the second derivatives come from central differences of
    the analytic Jacobian (relative step 1e-5), so ``M`` is accurate to ~1e-9 relative.
    drc's covariance is ``s² M⁻¹`` (it inverts the numerical Hessian of the RSS scaled by
    ``2 s²``), unlike the Gauss–Newton shortcut ``s² (JᵀWJ)⁻¹``.
    """
    idx = model.free_index
    k = len(idx)
    yhat, jac = model.jacobian(theta, p.logx)
    r = np.where(p.w > 0, p.y - yhat, 0.0) * p.w
    jtj = np.einsum("mnp,mnq,mn->mpq", jac, jac, p.w)
    second = np.zeros_like(jtj)
    for j in range(k):
        h = 1e-5 * np.maximum(np.abs(theta[:, idx[j]]), 1e-2)
        tp = theta.copy()
        tm = theta.copy()
        tp[:, idx[j]] += h
        tm[:, idx[j]] -= h
        _, jp = model.jacobian(tp, p.logx)
        _, jm = model.jacobian(tm, p.logx)
        djac = (jp - jm) / (2 * h[:, None, None])  # (m, n, k): d/dtheta_j of column q
        second[:, j, :] = np.einsum("mn,mnq->mq", r, djac)
    second = 0.5 * (second + np.swapaxes(second, 1, 2))
    return jtj - second, jtj


def _subset(p: Packed, rows: NDArray[np.integer]) -> Packed:
    return Packed(p.logx[rows], p.y[rows], p.w[rows], p.n[rows])


def face_jump(model: Model, theta: Array, p: Packed, j: NDArray[np.int64],
              budget: NDArray[np.int64]) -> tuple[Array, Array, NDArray[np.int64],
                                                  NDArray[np.bool_]]:
    """Best LL.4 fit on the far face of the box along each curve's run-off valley.

    Over the doses an LL.4 curve with log e beyond them is ``a + (r − a) exp(−|b| |u − le|)``
    nearly (``a`` the asymptote the data pin, ``r`` the runaway one, index ``j`` (1: c,
    2: d) as :func:`runoff_side` gives it);
    moving log e out by ``log(ratio) / |b|`` while ``r − a`` grows by ``ratio`` keeps that
    curve. The runaway asymptote is moved to its bound that way (or log e to its bound, if
    that comes first) and LM fits the other three parameters there (at most ``budget``
    iterations per curve).

    Returns
    -------
    The face points, their RSS, the iterations used and whether each is a minimum on the
    box (the RSS falls as the parameter at its bound moves outwards).
    """
    m = theta.shape[0]
    rows = np.arange(m)
    lo, hi = dose_range(p)
    ylo, yhi = _asymptote_bounds(p)
    o = 3 - j
    ab = np.abs(theta[:, 0])
    a, r, le = theta[rows, o], theta[rows, j], theta[:, 3]
    up = le > hi
    target = np.where(r < a, ylo, yhi)
    shift = np.log((target - a) / (r - a)) / ab
    le_bound = np.where(up, hi + LOG_E_MARGIN, lo - LOG_E_MARGIN)
    le_new = np.where(up, le + shift, le - shift)
    hit = np.where(up, le_new >= le_bound, le_new <= le_bound)
    out = theta.copy()
    out[rows, j] = np.where(hit, a + (r - a) * np.exp(ab * np.abs(le_bound - le)), target)
    out[:, 3] = np.where(hit, le_bound, le_new)
    at = np.where(hit, 3, j)
    outward = np.where(hit, np.where(up, 1.0, -1.0), np.where(target == yhi, 1.0, -1.0))
    rss = np.full(m, np.inf)
    iters = np.zeros(m, dtype=np.int64)
    for name, sel in (("e", hit), ("c", ~hit & (j == 1)), ("d", ~hit & (j == 2))):
        idx = np.nonzero(sel)[0]
        if idx.size:
            face = model.with_fixed({name: 1.0})
            res = levenberg_marquardt(face, out[idx], _subset(p, idx), max_iter=budget[idx])
            out[idx], rss[idx], iters[idx] = res.theta, res.rss, res.iterations
    yhat, jac = model.jacobian(out, p.logx)
    jtr = np.einsum("mnp,mn->mp", jac, np.where(p.w > 0, p.y - yhat, 0.0) * p.w)
    return out, rss, iters, jtr[rows, at] * outward > 0


def best_step(model: Model, p: Packed) -> tuple[Array, Array]:
    """Best step function among the model's limits as |b| → ∞, per curve (RSS, theta).

    A step between two adjacent distinct doses puts log e midway (1/2 below the lowest
    positive dose when the lower one is 0) with ``|b| = MAX_ABS_B``, so every point lies on
    one asymptote; a free asymptote is the weighted mean of its side. Both signs of b are
    tried when the grid has them; ``c <= d`` unless the model allows either order.
    """
    m, n = p.y.shape
    rows = np.arange(m)
    bvals, symmetric_cd = grid_slopes(model)
    fixed = np.array([model.fixed.get(name, np.nan) for name in ("b", "c", "d")])
    f0 = float(model.fixed.get("f", 1.0))
    key = np.where(p.w > 0, p.logx, np.inf)
    order = np.argsort(key, axis=1, kind="stable")
    lx = np.take_along_axis(key, order, axis=1)
    w = np.take_along_axis(p.w, order, axis=1)
    y = np.take_along_axis(np.where(p.w > 0, p.y, 0.0), order, axis=1)
    lw, ly, lyy = np.cumsum(w, axis=1), np.cumsum(w * y, axis=1), np.cumsum(w * y * y, axis=1)
    tw, ty, tyy = lw[:, -1:], ly[:, -1:], lyy[:, -1:]
    # split after sorted point i (left: 0..i) where the next point is another dose
    valid = (lx[:, :-1] < lx[:, 1:]) & np.isfinite(lx[:, 1:])
    lw, ly, lyy = lw[:, :-1], ly[:, :-1], lyy[:, :-1]
    rw, ry, ryy = tw - lw, ty - ly, tyy - lyy
    mid = np.where(np.isneginf(lx[:, :-1]), lx[:, 1:] - 0.5, 0.5 * (lx[:, :-1] + lx[:, 1:]))
    best = np.full(m, np.inf)
    theta = np.full((m, 5), np.nan)
    for sgn in (1.0, -1.0):
        if not np.any(bvals * sgn > 0):
            continue
        g_left = float(model.g(np.array(-np.inf * sgn), f0))
        p_left = 2 if g_left > 0.5 else 1
        p_right = 3 - p_left
        with np.errstate(invalid="ignore", divide="ignore"):
            v_left = ly / lw if np.isnan(fixed[p_left]) else np.full_like(ly, fixed[p_left])
            v_right = ry / rw if np.isnan(fixed[p_right]) else np.full_like(ry, fixed[p_right])
        c = v_left if p_left == 1 else v_right
        d = v_right if p_left == 1 else v_left
        ok = valid & (lw > 0) & (rw > 0)
        if not symmetric_cd:
            ok &= c <= d
        rss = (lyy - 2 * v_left * ly + v_left * v_left * lw
               + ryy - 2 * v_right * ry + v_right * v_right * rw)
        rss = np.where(ok, np.maximum(rss, 0.0), np.inf)
        i = np.argmin(rss, axis=1)
        r = rss[rows, i]
        better = r < best
        best = np.where(better, r, best)
        theta[better] = np.stack([np.full(m, sgn * MAX_ABS_B), c[rows, i], d[rows, i],
                                  mid[rows, i], np.full(m, f0)], axis=1)[better]
    return best, theta
