"""Compiled kernels of the minimum-hypergeometric test (numba).

Hypergeometric probabilities use Loader's (2000) saddle-point form (``stirlerr`` and the
deviance ``bd0``), accurate to a few ulps also for large populations; tails are summed
upward from the first term by the term ratio.
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit, prange
from numpy.typing import NDArray

__all__ = ["log_hgt", "mhg_stat", "mhg_pvalue", "mhg_many"]

_LN_SQRT_2PI = 0.5 * math.log(2.0 * math.pi)
_LN_2PI = math.log(2.0 * math.pi)


@njit(cache=True)
def _stirlerr(n: float) -> float:
    """log(n!) − [(n + 1/2) log n − n + log sqrt(2π)] (Stirling's error)."""
    if n <= 15.0:
        return math.lgamma(n + 1.0) - (n + 0.5) * math.log(n) + n - _LN_SQRT_2PI
    nn = n * n
    s0, s1, s2, s3, s4 = 1 / 12, 1 / 360, 1 / 1260, 1 / 1680, 1 / 1188
    return (s0 - (s1 - (s2 - (s3 - s4 / nn) / nn) / nn) / nn) / n


@njit(cache=True)
def _bd0(x: float, m: float) -> float:
    """Deviance term x log(x/m) + m − x, by a series when x is close to m."""
    if abs(x - m) < 0.1 * (x + m):
        v = (x - m) / (x + m)
        s = (x - m) * v
        ej = 2.0 * x * v
        v2 = v * v
        j = 1
        while j < 1000:
            ej *= v2
            s1 = s + ej / (2 * j + 1)
            if s1 == s:
                return s1
            s = s1
            j += 1
        return s
    return x * math.log(x / m) + m - x


@njit(cache=True)
def _log_dbinom(x: float, n: float, p: float, q: float) -> float:
    """log of the binomial probability of x successes in n trials (Loader 2000)."""
    if p == 0.0:
        return 0.0 if x == 0.0 else -np.inf
    if q == 0.0:
        return 0.0 if x == n else -np.inf
    if x == 0.0:
        if n == 0.0:
            return 0.0
        return -_bd0(n, n * q) - n * p if p < 0.1 else n * math.log(q)
    if x == n:
        return -_bd0(n, n * p) - n * q if q < 0.1 else n * math.log(p)
    if x < 0.0 or x > n:
        return -np.inf
    lc = _stirlerr(n) - _stirlerr(x) - _stirlerr(n - x) - _bd0(x, n * p) - _bd0(n - x, n * q)
    lf = _LN_2PI + math.log(x) + math.log1p(-x / n)
    return lc - 0.5 * lf


@njit(cache=True)
def _log_dhyper(k: int, n: int, big_n: int, big_k: int) -> float:
    """log P(Y = k), Y ~ Hypergeometric(population big_n, big_k successes, n draws)."""
    if n == 0:
        return 0.0 if k == 0 else -np.inf
    if n == big_n:
        return 0.0 if k == big_k else -np.inf
    p = n / big_n
    q = (big_n - n) / big_n
    return (_log_dbinom(k, big_k, p, q) + _log_dbinom(n - k, big_n - big_k, p, q)
            - _log_dbinom(n, big_n, p, q))


@njit(cache=True)
def log_hgt(k: int, n: int, big_n: int, big_k: int) -> float:
    """log P(Y ≥ k) for Y ~ Hypergeometric(big_n, big_k, n)."""
    kmax = min(n, big_k)
    kmin = max(0, n - (big_n - big_k))
    if k <= kmin:
        return 0.0
    if k > kmax:
        return -np.inf
    term = 1.0
    s = 1.0
    i = k
    while i < kmax:
        term *= (big_k - i) * (n - i) / ((i + 1.0) * (big_n - big_k - n + i + 1.0))
        s += term
        if term < s * 1e-17:
            break
        i += 1
    return _log_dhyper(k, n, big_n, big_k) + math.log(s)


@njit(cache=True)
def mhg_stat(pos: NDArray[np.int64], big_n: int, x: int, L: int) -> tuple[float, int]:
    """log of the XL-mHG statistic and its cutoff for the 1-based ranks ``pos`` (sorted)
    of the K ones: min over cutoffs n = pos[i] ≤ L with i + 1 ≥ x of HGT(i + 1; N, K, n).
    Returns (0.0, 0) when no cutoff qualifies (statistic 1)."""
    big_k = pos.size
    best = 0.0
    cut = 0
    for i in range(big_k):
        n = pos[i]
        if n > L:
            break
        if i + 1 < x:
            continue
        h = log_hgt(i + 1, n, big_n, big_k)
        if h < best:
            best = h
            cut = n
    return best, cut


@njit(cache=True)
def _region_bounds(thr: float, big_n: int, big_k: int, x: int,
                   last: int) -> NDArray[np.int64]:
    """nmax[k] = the largest n ≤ last with log HGT(k; n) ≤ thr (HGT = 0 for n < k), for
    k = max(x, 1)..K; non-decreasing in k, found by galloping search from nmax[k − 1]."""
    nmax = np.full(big_k + 1, -1, dtype=np.int64)
    k0 = max(x, 1)
    prev = 0
    for k in range(k0, big_k + 1):
        lo = max(prev, k - 1)  # known inside: HGT(k; lo) ≤ HGT(k − 1; lo) ≤ thr, or lo < k
        if lo >= last:
            nmax[k] = last
            prev = last
            continue
        step = 1
        hi = -1
        while True:
            cand = lo + step
            if cand > last:
                cand = last
            if log_hgt(k, cand, big_n, big_k) <= thr:
                lo = cand
                if cand == last:
                    break
                step *= 2
            else:
                hi = cand
                break
        if hi > 0:  # bisect in (lo, hi): lo inside, hi outside
            while hi - lo > 1:
                mid = (lo + hi) // 2
                if log_hgt(k, mid, big_n, big_k) <= thr:
                    lo = mid
                else:
                    hi = mid
        nmax[k] = lo
        prev = lo
    return nmax


@njit(cache=True)
def _log_add(log_p: float, mass: float, log_scale: float) -> float:
    """log(exp(log_p) + mass · exp(log_scale))."""
    if mass <= 0.0:
        return log_p
    la = math.log(mass) + log_scale
    if la > log_p:
        return la + math.log1p(math.exp(log_p - la))
    return log_p + math.log1p(math.exp(la - log_p))


@njit(cache=True)
def mhg_pvalue(log_stat: float, big_n: int, big_k: int, x: int, L: int,
               rel_tol: float) -> float:
    """log P(statistic ≤ observed) under random placement of the K ones.

    Walks the lattice (n, k) with the probability mass of paths that have not yet entered
    the rejection region R = {n ≤ L, k ≥ max(x, 1), HGT(k; n) ≤ stat·(1 + rel_tol)}; the
    mass entering R is summed directly (no 1 − q cancellation). The mass is rescaled
    when it gets small and the scale kept on the log axis, so tiny p values do not
    underflow. R's boundary comes from :func:`_region_bounds`.
    """
    if log_stat >= 0.0 or big_k == 0:
        return 0.0
    thr = log_stat + math.log1p(rel_tol)
    last = min(L, big_n)
    nmax = _region_bounds(thr, big_n, big_k, x, last)
    w = np.zeros(big_k + 2)
    w[0] = 1.0
    log_scale = 0.0  # true mass = w * exp(log_scale)
    log_p = -np.inf
    acc = 0.0  # absorbed mass not yet added to log_p, in the current scale
    kk = max(x, 1)  # k*(n): the smallest k in R at the current n
    hi = 0  # highest live k
    low = 0  # lowest live k (states far below the bulk are dropped, see below)
    n_neg = big_n - big_k
    mx = 1.0
    for n in range(last):  # step from n to n + 1
        m = n + 1
        while kk <= big_k and nmax[kk] < m:
            kk += 1
        if kk > big_k:
            break  # no point of R left at any later n
        # States whose mass is below 1e-30 of the largest are dropped: the chance of
        # reaching R grows with k, so the relative error of p is at most the dropped mass
        # over the mass kept (< 1e-25 over the whole walk).
        while low < hi and w[low] < 1e-30 * mx:
            w[low] = 0.0
            low += 1
        low = max(low, m - n_neg)
        top = min(hi + 1, big_k)
        inv = 1.0 / (big_n - n)
        absorbed = 0.0
        mx = 0.0
        for k in range(top, low - 1, -1):
            stay = w[k] * (n_neg - (n - k)) * inv if k <= hi and n - k < n_neg else 0.0
            up = w[k - 1] * (big_k - k + 1) * inv if k >= 1 and k - 1 >= low else 0.0
            v = stay + up
            if k >= kk:
                absorbed += v
                v = 0.0
            elif v > mx:
                mx = v
            w[k] = v
        if low > 0:
            w[low - 1] = 0.0
        hi = min(top, kk - 1)
        acc += absorbed  # in the current scale; moved to the log axis when it changes
        if mx == 0.0:
            break
        if mx < 1e-200:
            log_p = _log_add(log_p, acc, log_scale)
            acc = 0.0
            for k in range(low, hi + 1):
                w[k] *= 1e200
            mx *= 1e200
            log_scale -= 200.0 * math.log(10.0)
    log_p = _log_add(log_p, acc, log_scale)
    if log_p < log_stat:  # p ≥ stat always; guard against rounding
        log_p = log_stat
    return min(log_p, 0.0)


@njit(cache=True, parallel=True)
def mhg_many(positions: NDArray[np.int64], offsets: NDArray[np.int64], big_n: int, x: int,
             L: int, rel_tol: float) -> tuple[NDArray[np.float64], NDArray[np.int64],
                                              NDArray[np.float64]]:
    """Statistic, cutoff and p value (logs) for many sets: set j has the sorted ranks
    ``positions[offsets[j]:offsets[j + 1]]``."""
    m = offsets.size - 1
    stat = np.zeros(m)
    cut = np.zeros(m, dtype=np.int64)
    logp = np.zeros(m)
    for j in prange(m):
        pos = positions[offsets[j]:offsets[j + 1]]
        s, c = mhg_stat(pos, big_n, x, L)
        stat[j] = s
        cut[j] = c
        logp[j] = mhg_pvalue(s, big_n, pos.size, x, L, rel_tol)
    return stat, cut, logp
