"""Robust estimation of the variance prior (Phipson, Lee, Majewski, Alexander & Smyth 2016).

An independent implementation of the published method (limma's own code is GPL and was not
used). The sample variances ``s²_g`` on ``d_g`` degrees of freedom are modelled, as in Smyth
(2004), as ``s0² F(d_g, d0)``; a few hypervariable features would inflate the spread of
``log s²`` and so shrink ``d0``. Phipson et al. (2016, §3) therefore

1. work with ``z = log s²`` (variances on fewer degrees of freedom are first mapped to the
   largest ``d`` by equal tail probability under the non-robust fit), and remove the trend of
   ``z`` (a mean trimmed by ``p_hi`` at each end, or a lowess curve of ``z`` on mean
   expression with ``trend=True``);
2. winsorise the residuals at their ``p_lo`` and ``1 − p_hi`` quantiles (defaults 0.05, 0.1),
   and match their variance to that of a winsorised ``log F(d, d0)`` variable, computed by
   Gauss–Legendre quadrature (128 nodes on ``u = F/(1 + F)``); ``d0`` solves the matching
   equation on ``[d0_nonrobust, ∞]`` (Brent's method on ``u = d0/(1 + d0)``);
3. correct the trend for the bias of the winsorised mean: ``s0² = exp(trend + mean_w −
   E_w[log F])``;
4. give each feature its own prior degrees of freedom: with ``p_g`` the upper tail
   probability of ``s²_g/s0²`` under ``F(d, d0)`` and ``(G − rank_g + 0.5)/G`` its empirical
   counterpart, ``P(not outlier) = min(1, p_g/empirical)``; outliers move towards
   ``d0_outlier``, the prior df at which the largest ratio sits at its median
   (``d0_g = P(not)·d0 + P(outlier)·d0_outlier``), made monotone in ``p_g``.

Formulas and measured agreement with R: ``docs/methods/expression.md``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike, NDArray

from ..errors import InputError

__all__ = ["RobustFDist", "fit_f_dist_robust", "squeeze_var_robust"]

#: number of Gauss–Legendre nodes of the winsorised moments
_N_NODES = 128
#: tolerance of the root finder on the u = d0/(1 + d0) scale. The root is only located to
#: about this tolerance, so d0 is uncertain by ~1e-8/(1 − u)² in absolute terms; Brent's
#: iterates are reproduced step by step (``_zeroin``), which makes the agreement with R much
#: closer (1e-14 relative on the stored cases), except when d0 is very large (u → 1), where
#: rounding differences in the F quantiles can change the last step (2.6e-8 relative seen at
#: d0 ≈ 13,000).
_ROOT_TOL = 1e-8


@dataclass(frozen=True)
class RobustFDist:
    """Robust fit of a scaled F distribution to sample variances.

    Attributes
    ----------
    scale
        Prior variance s0², per value (constant unless a covariate was given).
    df2
        Prior degrees of freedom of the non-outlying values (may be ``inf``).
    df2_shrunk
        Prior degrees of freedom per value: ``df2`` for typical values, smaller for outliers.
    tail_p
        Upper tail probability of ``x/s0²`` under ``F(df1, df2)`` per value.
    prob_outlier
        Estimated probability that a value is an outlier.
    df2_outlier
        Prior df given to a sure outlier.
    df2_nonrobust
        The non-robust (Smyth 2004) estimate, the lower bound of ``df2``.
    """

    scale: NDArray[np.float64]
    df2: float
    df2_shrunk: NDArray[np.float64]
    tail_p: NDArray[np.float64]
    prob_outlier: NDArray[np.float64]
    df2_outlier: float
    df2_nonrobust: float


def fit_f_dist_robust(x: ArrayLike, df1: ArrayLike, *, covariate: ArrayLike | None = None,
                      winsor_tail_p: tuple[float, float] = (0.05, 0.1)) -> RobustFDist:
    """Robust moment estimates of ``s0²`` and ``d0`` (Phipson et al. 2016; limma
    ``fitFDistRobustly``).

    Parameters
    ----------
    x
        Sample variances.
    df1
        Their degrees of freedom (a number or one per value).
    covariate
        Optional covariate of the prior variance (mean expression, for ``trend``).
    winsor_tail_p
        Proportions winsorised at the lower and upper tail.

    Returns
    -------
    RobustFDist
        Values that are missing or have no degrees of freedom get the common ``df2`` and the
        prior variance of their covariate (interpolated; the constant without covariate).
    """
    from .de import fit_f_dist

    xa = np.asarray(x, dtype=float)
    d = np.broadcast_to(np.asarray(df1, dtype=float), xa.shape).astype(float)
    cov = None if covariate is None else np.asarray(covariate, dtype=float)
    p_lo, p_hi = (float(v) for v in winsor_tail_p)
    if not (0 <= p_lo < 0.5 and 0 <= p_hi < 0.5):
        raise InputError(f"winsor_tail_p must be two proportions in [0, 0.5), got "
                         f"{winsor_tail_p}")
    ok = np.isfinite(xa) & np.isfinite(d) & (d > 1e-6)
    if cov is not None:
        ok &= np.isfinite(cov)
    n = int(ok.sum())
    if n < 2:
        raise InputError("fewer than two features with a residual variance: the variance "
                         "prior cannot be estimated")
    xs, ds = xa[ok], d[ok]
    cs = None if cov is None else cov[ok]
    med = float(np.median(xs))
    if med <= 0:
        raise InputError("most residual variances are zero or negative: the variance prior "
                         "cannot be estimated")
    xs = np.maximum(xs, 1e-12 * med)
    s20_nr, df2_nr = fit_f_dist(xs, ds, covariate=cs)
    if n == 2 or (p_lo < 1 / n and p_hi < 1 / n):
        res = _plain(s20_nr, df2_nr, n)
    else:
        res = _robust_core(xs, ds, cs, p_lo, p_hi, s20_nr, df2_nr)
    if n == xa.size:
        return res
    # values without a variance: common df2, prior variance at their covariate
    scale = np.full(xa.shape, np.nan)
    scale[ok] = res.scale
    if cs is None:
        scale[~ok] = res.scale[0]
    else:
        assert cov is not None
        bad = ~ok & np.isfinite(cov)
        if bad.any():
            srt = np.argsort(cs, kind="stable")
            scale[bad] = np.exp(np.interp(cov[bad], cs[srt], np.log(res.scale[srt])))
    shrunk = np.full(xa.shape, res.df2)
    shrunk[ok] = res.df2_shrunk
    tail = np.full(xa.shape, np.nan)
    tail[ok] = res.tail_p
    pout = np.zeros(xa.shape)
    pout[ok] = res.prob_outlier
    return RobustFDist(scale=scale, df2=res.df2, df2_shrunk=shrunk, tail_p=tail,
                       prob_outlier=pout, df2_outlier=res.df2_outlier,
                       df2_nonrobust=res.df2_nonrobust)


def _plain(s20: NDArray[np.float64], df2: float, n: int) -> RobustFDist:
    return RobustFDist(scale=s20, df2=df2, df2_shrunk=np.full(n, df2),
                       tail_p=np.full(n, np.nan), prob_outlier=np.zeros(n), df2_outlier=df2,
                       df2_nonrobust=df2)


def _f_isf(p: float, d1: float, d2: float) -> float:
    """Upper quantile of F(d1, d2); ``d2 = inf`` is chi-square/d1."""
    from scipy import stats

    if np.isinf(d2):
        return float(stats.chi2.isf(p, d1) / d1)
    return float(stats.f.isf(p, d1, d2))


def _f_sf(x: NDArray[np.float64] | float, d1: float, d2: float) -> NDArray[np.float64]:
    from scipy import stats

    if np.isinf(d2):
        return np.asarray(stats.chi2.sf(np.asarray(x) * d1, d1), dtype=float)
    return np.asarray(stats.f.sf(x, d1, d2), dtype=float)


class _WinsorizedLogF:
    """Mean and variance of ``log F(d1, d2)`` winsorised at tail proportions (p_lo, p_hi).

    ``E = p_lo·log q_lo + p_hi·log q_hi + ∫_{q_lo}^{q_hi} log f · dens(f) df`` (and the same
    for the variance around E). The integral is taken over ``u = f/(1 + f)`` with 128
    Gauss–Legendre nodes: ``df = du/(1 − u)²``.
    """

    def __init__(self, d1: float, p_lo: float, p_hi: float) -> None:
        nodes, weights = np.polynomial.legendre.leggauss(_N_NODES)
        self.nodes = (nodes + 1) / 2
        self.weights = weights / 2
        self.d1, self.p_lo, self.p_hi = d1, p_lo, p_hi

    def __call__(self, d2: float) -> tuple[float, float]:
        from scipy import stats

        d1 = self.d1
        if np.isinf(d2):
            q_lo = float(stats.chi2.ppf(self.p_lo, d1) / d1)
        else:
            q_lo = float(stats.f.ppf(self.p_lo, d1, d2))
        q_hi = _f_isf(self.p_hi, d1, d2)
        zq = np.log([q_lo, q_hi])
        u_lo, u_hi = q_lo / (1 + q_lo), q_hi / (1 + q_hi)
        u = u_lo + (u_hi - u_lo) * self.nodes
        f = u / (1 - u)
        zf = np.log(f)
        if np.isinf(d2):
            dens = d1 * stats.chi2.pdf(f * d1, d1)
        else:
            dens = stats.f.pdf(f, d1, d2)
        w = (u_hi - u_lo) * self.weights * dens / (1 - u) ** 2
        tails = np.array([self.p_lo, self.p_hi])
        mean = float(np.sum(w * zf) + np.sum(zq * tails))
        var = float(np.sum(w * (zf - mean) ** 2) + np.sum((zq - mean) ** 2 * tails))
        return mean, var


def _robust_core(x: NDArray[np.float64], d: NDArray[np.float64],
                 cov: NDArray[np.float64] | None, p_lo: float, p_hi: float,
                 s20_nr: NDArray[np.float64], df2_nr: float) -> RobustFDist:
    from scipy import stats

    n = x.size
    d1 = float(np.max(d))
    x = x.copy()
    low = d < d1
    if low.any():  # equal tail probability of x/s0² on the largest df (non-robust fit)
        f0 = x[low] / s20_nr[low]
        if np.isinf(df2_nr):
            f1 = stats.chi2.isf(stats.chi2.sf(f0 * d[low], d[low]), d1) / d1
        else:
            f1 = stats.f.isf(stats.f.sf(f0, d[low], df2_nr), d1, df2_nr)
        x[low] = f1 * s20_nr[low]
    z = np.log(x)
    if cov is None:
        ztrend: NDArray[np.float64] = np.full(n, _trimmed_mean(z, p_hi))
    else:
        ztrend = lowess(cov, z, frac=0.4, iterations=4)
    zres = z - ztrend
    q = np.quantile(zres, [p_lo, 1 - p_hi])
    zw = np.clip(zres, q[0], q[1])
    zw_mean = float(np.mean(zw))
    zw_var = float(np.sum((zw - zw_mean) ** 2) / (n - 1))
    moments = _WinsorizedLogF(d1, p_lo, p_hi)

    def gap(u: float) -> float:
        return float(np.log(zw_var / moments(u / (1 - u))[1]))

    gap_inf = float(np.log(zw_var / moments(np.inf)[1]))
    if gap_inf <= 0:
        df2 = np.inf
    elif np.isinf(df2_nr):
        # the non-robust fit already found no spread beyond sampling
        return _plain(s20_nr, df2_nr, n)
    else:
        u_nr = df2_nr / (1 + df2_nr)
        gap_nr = gap(u_nr)
        if gap_nr >= 0:
            df2 = df2_nr
        else:
            u = _zeroin(gap, u_nr, 1.0, gap_nr, gap_inf, _ROOT_TOL)
            df2 = u / (1 - u)
    zcorr = ztrend + zw_mean - moments(df2)[0]
    scale = np.exp(zcorr)
    fstat = np.exp(z - zcorr)
    tail_p = _f_sf(fstat, d1, df2)
    rank = stats.rankdata(fstat)
    p_not = np.minimum(tail_p / ((n - rank + 0.5) / n), 1.0)
    p_out = 1 - p_not
    if not (p_not < 1).any():
        return RobustFDist(scale=scale, df2=df2, df2_shrunk=np.full(n, df2), tail_p=tail_p,
                           prob_outlier=p_out, df2_outlier=df2, df2_nonrobust=df2_nr)
    if np.isinf(df2):
        # every typical value has infinite prior df; the outliers get a share of the
        # pooled residual df
        shrunk = np.full(n, np.inf)
        out = p_not < 1
        shrunk[out] = p_not[out] * float(np.sum(d))
        o = np.argsort(tail_p, kind="stable")
        shrunk[o] = np.maximum.accumulate(shrunk[o])
        return RobustFDist(scale=scale, df2=df2, df2_shrunk=shrunk, tail_p=tail_p,
                           prob_outlier=p_out, df2_outlier=float("nan"), df2_nonrobust=df2_nr)
    # prior df at which the largest ratio is the median: log P(F > max) is close to linear
    # in df2 through the origin, so two secant steps from df2 suffice
    df_out = np.log(0.5) / np.log(float(np.min(tail_p))) * df2
    new_tail = float(_f_sf(float(np.max(fstat)), d1, df_out))
    df_out = np.log(0.5) / np.log(new_tail) * df_out
    shrunk = p_not * df2 + p_out * df_out
    # monotone in the tail probability: the most outlying run takes the smallest running
    # mean, then the values never decrease as the tail probability grows
    o = np.argsort(tail_p, kind="stable")
    ordered = shrunk[o]
    run_mean = np.cumsum(ordered) / np.arange(1, n + 1)
    imin = int(np.argmin(run_mean))
    ordered[: imin + 1] = run_mean[imin]
    shrunk[o] = np.maximum.accumulate(ordered)
    return RobustFDist(scale=scale, df2=df2, df2_shrunk=shrunk, tail_p=tail_p,
                       prob_outlier=p_out, df2_outlier=float(df_out), df2_nonrobust=df2_nr)


def squeeze_var_robust(var: ArrayLike, df: ArrayLike, *, covariate: ArrayLike | None = None,
                       winsor_tail_p: tuple[float, float] = (0.05, 0.1)
                       ) -> tuple[RobustFDist, NDArray[np.float64]]:
    """Posterior variances with a robust prior (limma ``squeezeVar(robust=TRUE)``).

    ``s2_post = (d·s² + d0_g·s0²)/(d + d0_g)`` with the per-feature ``d0_g``; ``s0²`` where
    ``d0_g`` is infinite.

    Returns
    -------
    fit, s2_post
    """
    v = np.asarray(var, dtype=float)
    d = np.broadcast_to(np.asarray(df, dtype=float), v.shape)
    fit = fit_f_dist_robust(v, d, covariate=covariate, winsor_tail_p=winsor_tail_p)
    d0 = fit.df2_shrunk
    vz = np.where(d > 0, v, 0.0)
    fin = np.isfinite(d0)
    post = fit.scale.copy()
    with np.errstate(invalid="ignore"):
        post[fin] = (d[fin] * vz[fin] + d0[fin] * fit.scale[fin]) / (d[fin] + d0[fin])
    return fit, post


def _trimmed_mean(x: NDArray[np.float64], trim: float) -> float:
    """Mean after dropping ``floor(n·trim)`` values at each end (R ``mean(x, trim=)``)."""
    n = x.size
    k = int(np.floor(n * trim))
    if k == 0:
        return float(np.mean(x))
    if 2 * k >= n:
        return float(np.median(x))
    s = np.sort(x)
    return float(np.mean(s[k:n - k]))


def lowess(x: ArrayLike, y: ArrayLike, *, frac: float = 2 / 3, iterations: int = 4,
           delta: float | None = None) -> NDArray[np.float64]:
    """Cleveland's (1979) robust locally weighted linear regression; fitted values in the
    input order.

    Each fit uses the ``floor(frac·n)`` nearest x values with tricube weights; points closer
    than ``delta`` (default 1 % of the range of x) to the last fitted point are linearly
    interpolated; after each pass but the last the weights are multiplied by bisquare
    robustness weights of the residuals (scale 6 × median |residual|). ``iterations`` is the
    number of passes (R ``lowess(iter = iterations − 1)``; limma's ``loessFit`` default 4).
    """
    xa = np.asarray(x, dtype=float)
    ya = np.asarray(y, dtype=float)
    n = xa.size
    order = np.argsort(xa, kind="stable")
    xs, ys = xa[order], ya[order]
    if delta is None:
        delta = 0.01 * float(xs[-1] - xs[0])
    ns = max(2, min(n, int(frac * n + 1e-7)))
    fitted = np.empty(n)
    rw: NDArray[np.float64] | None = None
    for it in range(iterations):
        _lowess_pass(xs, ys, ns, float(delta), rw, fitted)
        if it == iterations - 1:
            break
        res = np.abs(ys - fitted)
        sc = float(np.sum(res)) / n
        m1 = n // 2
        part = np.partition(res, [m1 - 1, m1] if n > 1 else [0])
        cmad = 3.0 * (part[m1] + part[m1 - 1]) if n % 2 == 0 else 6.0 * part[m1]
        if cmad < 1e-7 * sc:
            break
        rw = np.where(res <= 0.001 * cmad, 1.0,
                      np.where(res <= 0.999 * cmad, (1 - (res / cmad) ** 2) ** 2, 0.0))
    out = np.empty(n)
    out[order] = fitted
    return out


def _lowess_pass(x: NDArray[np.float64], y: NDArray[np.float64], ns: int, delta: float,
                 rw: NDArray[np.float64] | None, ys: NDArray[np.float64]) -> None:
    n = x.size
    rng = float(x[-1] - x[0])
    nleft, nright = 0, ns - 1
    last = -1
    i = 0
    while True:
        while nright < n - 1 and x[i] - x[nleft] > x[nright + 1] - x[i]:
            nleft += 1
            nright += 1
        val = _local_fit(x, y, float(x[i]), nleft, nright, rw, rng)
        ys[i] = y[i] if val is None else val
        if last < i - 1:
            j = np.arange(last + 1, i)
            alpha = (x[j] - x[last]) / (x[i] - x[last])
            ys[j] = alpha * ys[i] + (1 - alpha) * ys[last]
        last = i
        # ties with x[last] share its fit; points within delta are interpolated later
        tie_end = int(np.searchsorted(x, x[last], side="right")) - 1
        if tie_end > last:
            ys[last + 1: tie_end + 1] = ys[last]
            last = tie_end
        nxt = int(np.searchsorted(x, x[last] + delta, side="right"))
        i = max(last + 1, nxt - 1)
        if last >= n - 1:
            break


def _local_fit(x: NDArray[np.float64], y: NDArray[np.float64], xs: float, nleft: int,
               nright: int, rw: NDArray[np.float64] | None, rng: float) -> float | None:
    h = max(xs - x[nleft], x[nright] - xs)
    seg = x[nleft:]
    r = np.abs(seg - xs)
    stop = np.flatnonzero((r > 0.999 * h) & (seg > xs))
    end = int(stop[0]) if stop.size else seg.size
    r, seg = r[:end], seg[:end]
    w = np.where(r <= 0.001 * h, 1.0, np.where(r <= 0.999 * h, (1 - (r / h) ** 3) ** 3, 0.0))
    if rw is not None:
        w = w * rw[nleft:nleft + end]
    a = float(np.sum(w))
    if a <= 0:
        return None
    w = w / a
    if h > 0:
        m = float(np.sum(w * seg))
        c = float(np.sum(w * (seg - m) ** 2))
        if np.sqrt(c) > 0.001 * rng:
            w = w * ((xs - m) / c * (seg - m) + 1.0)
    return float(np.sum(w * y[nleft:nleft + end]))


def _zeroin(f: Callable[[float], float], a: float, b: float, fa: float, fb: float,
            tol: float, maxiter: int = 1000) -> float:
    """Root of ``f`` in ``[a, b]`` (``fa``, ``fb`` of opposite sign) by Brent's (1973,
    ch. 4) method: inverse quadratic or secant steps when they stay well inside the
    bracket, bisection otherwise; stops when the bracket half-width is below
    ``2·eps·|b| + tol/2``."""
    eps = np.finfo(float).eps
    if fa == 0:
        return a
    if fb == 0:
        return b
    c, fc = a, fa
    for _ in range(maxiter + 1):
        prev = b - a
        if abs(fc) < abs(fb):
            a, b, c = b, c, b
            fa, fb, fc = fb, fc, fb
        tol_act = 2 * eps * abs(b) + tol / 2
        step = (c - b) / 2
        if abs(step) <= tol_act or fb == 0:
            return b
        if abs(prev) >= tol_act and abs(fa) > abs(fb):
            cb = c - b
            if a == c:
                t1 = fb / fa
                p = cb * t1
                q = 1.0 - t1
            else:
                q0, t1, t2 = fa / fc, fb / fc, fb / fa
                p = t2 * (cb * q0 * (q0 - t1) - (b - a) * (t1 - 1.0))
                q = (q0 - 1.0) * (t1 - 1.0) * (t2 - 1.0)
            if p > 0:
                q = -q
            else:
                p = -p
            if p < 0.75 * cb * q - abs(tol_act * q) / 2 and p < abs(prev * q / 2):
                step = p / q
        if abs(step) < tol_act:
            step = tol_act if step > 0 else -tol_act
        a, fa = b, fb
        b += step
        fb = f(b)
        if (fb > 0 and fc > 0) or (fb < 0 and fc < 0):
            c, fc = a, fa
    return b
