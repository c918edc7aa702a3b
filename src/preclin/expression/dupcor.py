"""Intra-block correlation of repeated arrays (Smyth, Michaud & Scott 2005; limma's
``duplicateCorrelation``).

An independent implementation of the published method (limma's code is GPL and was not used).
Per feature ``g`` the model is ``y = Xβ + Zu + e`` with a random block intercept
``u ~ N(0, σ_b² I)`` and ``e ~ N(0, σ² I)``, so ``cov(y) = σ² I + σ_b² ZZᵀ``. REML works in
the residual space of X: with ``Q₂`` an orthonormal basis of the complement of the column
space of X and ``Q₂ᵀZZᵀQ₂ = U diag(λ) Uᵀ``, the rotated residuals ``r = UᵀQ₂ᵀy`` are
independent ``N(0, σ² + σ_b² λ_i)``. The REML likelihood is therefore that of a gamma GLM
with identity link for ``r_i²`` on ``(1, λ_i)`` with known dispersion 2, and Fisher scoring
is iteratively reweighted least squares with weights ``1/μ_i²`` (Smyth 2002, *J Comput Graph
Stat* 11:836; the same scoring as statmod's ``mixedModel2Fit``), vectorised here over
all features that share a pattern of observed samples.

The correlation ``ρ_g = σ_b²/(σ_b² + σ²)`` is clamped to ``[1/(1 − m) + 0.01, 0.99]``
(m = largest block size: the smallest correlation a positive-definite exchangeable block
allows, plus a margin) and the consensus is ``tanh`` of the 15 %-trimmed mean of
``atanh ρ_g`` (Smyth et al. 2005).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd
from numpy.typing import ArrayLike, NDArray

from ..errors import InputError
from .design import Design
from .robust import _trimmed_mean

__all__ = ["DuplicateCorrelation", "duplicate_correlation"]


@dataclass(frozen=True)
class DuplicateCorrelation:
    """Result of :func:`duplicate_correlation`.

    Attributes
    ----------
    consensus
        Consensus intra-block correlation (tanh of the trimmed mean of ``atanh_correlations``).
    atanh_correlations
        Per feature, atanh of the clamped REML correlation; NaN where it cannot be estimated
        (too few observed samples or blocks, or no variation).
    features
        Feature IDs.
    limits
        The clamp applied to each correlation.
    n_used
        Features that entered the consensus.
    """

    consensus: float
    atanh_correlations: NDArray[np.float64]
    features: pd.Index
    limits: tuple[float, float]
    n_used: int

    @property
    def correlations(self) -> NDArray[np.float64]:
        """Per-feature clamped correlations (tanh of ``atanh_correlations``)."""
        return np.tanh(self.atanh_correlations)


def duplicate_correlation(expr: pd.DataFrame | ArrayLike, design: Design | ArrayLike,
                          block: Sequence[object], *, trim: float = 0.15, tol: float = 1e-6,
                          maxit: int = 20) -> DuplicateCorrelation:
    """Consensus correlation between arrays of the same block (limma ``duplicateCorrelation``
    with ``block=``).

    Parameters
    ----------
    expr
        Features x samples, log2 expression. Missing values are allowed: each feature uses its
        observed samples (one decomposition per pattern of missing values); a feature needs
        more observed samples than the design's rank + 2, at least two blocks, and fewer
        blocks than observed samples − 1, otherwise its correlation is NaN and it is left out
        of the consensus.
    design
        A :class:`~preclin.expression.design.Design` or a samples x coefficients array (the
        fixed effects; the block is not in it).
    block
        Block of each sample (patient, donor, batch...).
    trim
        Proportion trimmed from each end of the atanh correlations for the consensus
        (``floor(trim·n)`` values each side, as R's ``mean(trim=)``).
    tol, maxit
        Convergence tolerance (relative change of the variance components) and the maximum
        number of Fisher-scoring iterations.

    Returns
    -------
    DuplicateCorrelation

    Raises
    ------
    InputError
        When every block has one sample (there is no within-block pair, the correlation is
        undefined), when there is a single block, or when no feature gives an estimate.
    """
    x = design.matrix if isinstance(design, Design) else np.asarray(design, dtype=float)
    if x.ndim != 2:
        raise InputError("design must be a samples x coefficients matrix")
    if isinstance(expr, pd.DataFrame):
        features = expr.index
        y = expr.to_numpy(dtype=float)
    else:
        y = np.atleast_2d(np.asarray(expr, dtype=float))
        features = pd.RangeIndex(y.shape[0])
    n_s = x.shape[0]
    if y.shape[1] != n_s:
        raise InputError(f"expression matrix has {y.shape[1]} samples but the design "
                         f"{n_s} rows")
    if len(block) != n_s:
        raise InputError(f"block has {len(block)} values for {n_s} samples")
    if not 0 <= trim < 0.5:
        raise InputError(f"trim must be in [0, 0.5), got {trim}")
    labels, codes = np.unique(np.asarray([str(b) for b in block]), return_inverse=True)
    codes = codes.ravel()
    sizes = np.bincount(codes)
    if len(labels) < 2:
        raise InputError("the block has a single level: the intra-block correlation cannot be "
                         "separated from the residual variance")
    if sizes.max() < 2:
        raise InputError("every block has one sample: there is no pair of samples in a block, "
                         "so the intra-block correlation is undefined")
    rho_lo = 1.0 / (1.0 - float(sizes.max())) + 0.01
    rho_hi = 0.99
    z = np.zeros((n_s, len(labels)))
    z[np.arange(n_s), codes] = 1.0
    rho = np.full(y.shape[0], np.nan)
    obs = np.isfinite(y)
    if obs.all():
        groups: list[tuple[NDArray[np.bool_], NDArray[np.intp]]] = [
            (np.ones(n_s, bool), np.arange(y.shape[0]))]
    else:
        pat, inv = np.unique(obs, axis=0, return_inverse=True)
        inv = inv.ravel()
        groups = [(pat[i], np.flatnonzero(inv == i)) for i in range(len(pat))]
    for cols, rows in groups:
        rho[rows] = _rho_pattern(y[np.ix_(rows, np.flatnonzero(cols))], x[cols], z[cols],
                                 tol, maxit)
    with np.errstate(invalid="ignore"):
        rho = np.clip(rho, rho_lo, rho_hi)
    arho = np.arctanh(rho)
    ok = np.isfinite(arho)
    if not ok.any():
        raise InputError("no feature has enough observed samples and blocks to estimate the "
                         "intra-block correlation")
    consensus = float(np.tanh(_trimmed_mean(arho[ok], trim)))
    return DuplicateCorrelation(consensus=consensus, atanh_correlations=arho,
                                features=features, limits=(rho_lo, rho_hi),
                                n_used=int(ok.sum()))


def _rho_pattern(y: NDArray[np.float64], x: NDArray[np.float64], z: NDArray[np.float64],
                 tol: float, maxit: int) -> NDArray[np.float64]:
    """REML correlations of the features (rows of y) observed on the same samples."""
    n_g, n_obs = y.shape
    out = np.full(n_g, np.nan)
    z = z[:, z.sum(axis=0) > 0]
    n_blocks = z.shape[1]
    rank = int(np.linalg.matrix_rank(x)) if x.size else 0
    if not (n_obs > rank + 2 and 1 < n_blocks < n_obs - 1):
        return out
    # orthonormal basis of the residual space: the last n - rank left singular vectors
    u_x = np.linalg.svd(x, full_matrices=True)[0] if rank else np.eye(n_obs)
    q2 = u_x[:, rank:]
    qz = q2.T @ z
    lam, vec = np.linalg.eigh(qz @ qz.T)
    lam = np.clip(lam, 0.0, None)
    if np.ptp(lam) <= 1e-8 * max(float(lam.max()), 1.0):
        return out  # block and residual variance not separable on these samples
    r2 = (y @ (q2 @ vec)) ** 2  # n_g x m rotated squared residuals
    # no residual variation beyond rounding (e.g. a constant feature): no estimate
    live = np.sum(r2, axis=1) > 1e-24 * np.sum(y**2, axis=1)
    phi = _fisher_scoring(r2[live], lam, tol, maxit)
    with np.errstate(invalid="ignore", divide="ignore"):
        out[live] = phi[:, 1] / (phi[:, 0] + phi[:, 1])
    return out


def _wls(r2: NDArray[np.float64], lam: NDArray[np.float64],
         w: NDArray[np.float64]) -> NDArray[np.float64]:
    """Weighted least squares of r² on (1, λ), one 2x2 system per row."""
    s0 = w.sum(axis=1)
    s1 = w @ lam
    s2 = w @ lam**2
    t0 = np.sum(w * r2, axis=1)
    t1 = np.sum(w * r2 * lam, axis=1)
    det = s0 * s2 - s1**2
    b = (s0 * t1 - s1 * t0) / det
    a = (t0 - s1 * b) / s0
    return np.column_stack([a, b])


def _fisher_scoring(r2: NDArray[np.float64], lam: NDArray[np.float64], tol: float,
                    maxit: int) -> NDArray[np.float64]:
    """Variance components (σ², σ_b²) per row: ``r²_i ~ (σ² + σ_b² λ_i)·χ²₁``.

    Fisher scoring with Levenberg–Marquardt damping (the constants are those that reproduce
    the trace output of statmod's ``glmgam.fit``): the step solves ``(I_F + κ·Id) δ = score``
    with the Fisher information
    ``I_F = Aᵀ diag(1/μ²) A`` (A = [1, λ]) and the score ``Aᵀ (r² − μ)/μ²``. The damping κ
    starts at the mean diagonal information / 2; a step is taken when every fitted variance
    stays positive and the deviance (−2 × REML log-likelihood) does not increase: κ is then
    divided by 10 if the first trial succeeded; otherwise κ is doubled and the step retried
    (a row stops when κ exceeds 1e15 × its largest information). A row has converged when
    ``score·δ < tol``; iteration stops after ``maxit + 1`` steps regardless, so slowly
    converging rows keep the value reached then (as limma, which calls the fit with
    ``maxit = 20``). The start is the unweighted least-squares fit, or ``(mean r², 0)`` when
    that gives a non-positive variance.
    """
    n_g = r2.shape[0]
    phi = _wls(r2, lam, np.ones_like(r2))
    mu = phi[:, :1] + phi[:, 1:] * lam
    bad = ~np.all(mu > 0, axis=1)
    phi[bad] = np.column_stack([r2[bad].mean(axis=1), np.zeros(int(bad.sum()))])
    lam2 = lam**2
    dev = _deviance(r2, phi[:, :1] + phi[:, 1:] * lam)
    kappa = np.zeros(n_g)
    active = np.ones(n_g, bool)
    with np.errstate(invalid="ignore", divide="ignore", over="ignore"):
        for it in range(1, maxit + 2):
            idx = np.flatnonzero(active)
            if idx.size == 0:
                break
            cur, r2a = phi[idx], r2[idx]
            mu = cur[:, :1] + cur[:, 1:] * lam
            w = 1.0 / mu**2
            i00, i01, i11 = w.sum(axis=1), w @ lam, w @ lam2
            maxinfo = np.maximum(i00, i11)
            if it == 1:
                kappa[idx] = (i00 + i11) / 4  # mean of the diagonal / number of parameters
            res = (r2a - mu) * w
            g0, g1 = res.sum(axis=1), res @ lam
            kap = kappa[idx]
            step = np.zeros_like(cur)
            first = np.ones(idx.size, bool)
            todo = np.ones(idx.size, bool)
            gave_up = np.zeros(idx.size, bool)
            while todo.any():
                t = np.flatnonzero(todo)
                a, b, c = i00[t] + kap[t], i01[t], i11[t] + kap[t]
                det = a * c - b * b
                step[t, 0] = (c * g0[t] - b * g1[t]) / det
                step[t, 1] = (a * g1[t] - b * g0[t]) / det
                cand = cur[t] + step[t]
                mu_c = cand[:, :1] + cand[:, 1:] * lam
                dev_c = _deviance(r2a[t], mu_c)
                good = np.all(mu_c > 0, axis=1) & np.isfinite(dev_c) & (dev_c <= dev[idx[t]])
                acc = t[good]
                kap[acc[first[acc]]] /= 10
                dev[idx[acc]] = dev_c[good]
                todo[acc] = False
                rej = t[~good]
                stop = kap[rej] / maxinfo[rej] > 1e15
                gave_up[rej[stop]] = True
                todo[rej[stop]] = False
                kap[rej[~stop]] *= 2
                first[rej] = False
            step[gave_up] = 0.0
            phi[idx] = cur + step
            kappa[idx] = kap
            decrement = g0 * step[:, 0] + g1 * step[:, 1]
            active[idx[gave_up | ~(decrement >= tol)]] = False
    return phi


def _deviance(r2: NDArray[np.float64], mu: NDArray[np.float64]) -> NDArray[np.float64]:
    """Gamma deviance up to a constant: 2 Σ (r²/μ + log μ) = −2 × REML log-likelihood."""
    return np.asarray(2.0 * np.sum(r2 / mu + np.log(mu), axis=1), dtype=float)


