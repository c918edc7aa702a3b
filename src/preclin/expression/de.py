"""Differential expression: linear models and empirical-Bayes moderated statistics.

An independent implementation of the published methods (limma's own code is GPL and was not
used):

* linear model for every feature at once, by QR least squares (one decomposition per pattern
  of missing values; generalised least squares with a block correlation by whitening);
* empirical-Bayes variance prior (Smyth 2004): the log sample variances are matched to the
  moments of a scaled F distribution, ``df.prior = 2 trigamma^-1(var(e) - mean trigamma(d/2))``;
  with ``trend=True`` the prior mean depends on the average log expression through a natural
  cubic spline (Phipson et al. 2016; Sartor et al. 2006);
* moderated t, its p value on ``d + d0`` degrees of freedom, the B statistic (log posterior
  odds, Smyth 2004 §6) and Benjamini–Hochberg FDR;
* ``treat``: test against a fold-change threshold (McCarthy & Smyth 2009);
* ``robust=True``: per-feature prior degrees of freedom that protect against hypervariable
  features (Phipson et al. 2016; :mod:`preclin.expression.robust`);
* a block without a correlation: the consensus correlation is estimated by REML
  (Smyth, Michaud & Scott 2005; :mod:`preclin.expression.dupcor`).

Formulas and references: ``docs/methods/expression.md``.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
from numpy.typing import ArrayLike, NDArray

from ..errors import InputError
from ._numerics import bh_adjust, natural_spline_basis, trigamma_inverse
from .design import Design

__all__ = ["LinearFit", "ModeratedFit", "lm_fit", "fit_f_dist", "squeeze_var", "ebayes",
           "treat", "top_table", "block_correlation_matrix", "TOP_TABLE_COLUMNS"]

#: Columns of :func:`top_table`, with what they hold.
TOP_TABLE_COLUMNS: dict[str, str] = {
    "feature": "feature (probe or gene) ID",
    "logfc": "estimated coefficient (log2 fold change for a two-level factor)",
    "ave_expr": "mean log2 expression over all samples (limma AveExpr)",
    "t": "moderated t (treat: sign(logfc)·max((|logfc| − lfc)/se, 0))",
    "p_value": "two-sided p value (treat: p of |logfc| > lfc)",
    "adj_p_value": "Benjamini–Hochberg FDR over all features",
    "b": "log posterior odds of differential expression (NaN for treat)",
}


@dataclass(frozen=True)
class LinearFit:
    """Least-squares fit of one linear model per feature (limma's ``lmFit``).

    Attributes
    ----------
    features
        Feature IDs (rows).
    coef_names
        Coefficient names (design columns).
    coefficients, stdev_unscaled
        features x coefficients; ``stdev_unscaled`` = sqrt(diag((X'X)^-1)).
    sigma, df_residual, amean
        Residual standard deviation, its degrees of freedom and the mean expression of each
        feature (NaN-skipping mean).
    block, correlation, correlation_estimated
        The blocking factor and intra-block correlation of a GLS fit (``None`` otherwise),
        and whether the correlation was estimated by
        :func:`~preclin.expression.dupcor.duplicate_correlation`.
    """

    features: pd.Index
    coef_names: tuple[str, ...]
    coefficients: NDArray[np.float64]
    stdev_unscaled: NDArray[np.float64]
    sigma: NDArray[np.float64]
    df_residual: NDArray[np.float64]
    amean: NDArray[np.float64]
    design: NDArray[np.float64] = field(repr=False)
    block: tuple[str, ...] | None = None
    correlation: float | None = None
    correlation_estimated: bool = False

    def coef_index(self, coef: str | int) -> int:
        """Position of a coefficient given by name or index."""
        if isinstance(coef, (int, np.integer)):
            return int(coef)
        if coef not in self.coef_names:
            names = ", ".join(self.coef_names)
            raise InputError(f"coefficient '{coef}' is not in the fit ({names})")
        return self.coef_names.index(coef)


@dataclass(frozen=True)
class ModeratedFit:
    """Empirical-Bayes moderated statistics (limma's ``eBayes`` or ``treat``).

    Attributes
    ----------
    fit
        The :class:`LinearFit` moderated.
    df_prior
        Prior degrees of freedom d0 (a number; ``inf`` when the variances show no spread
        beyond sampling). With ``robust``, the prior df of the typical (non-outlying)
        features; the per-feature values are in ``df_prior_feature``.
    s2_prior
        Prior variance s0², per feature (constant unless ``trend``).
    s2_post, df_total
        Posterior variance and the t statistics' degrees of freedom per feature.
    t, p_value
        features x coefficients.
    lods
        B statistic, features x coefficients (``None`` for ``treat``).
    var_prior
        Prior variance of the non-zero coefficients per coefficient (``None`` for ``treat``).
    trend, treat_lfc, proportion
        Settings used.
    robust, winsor_tail_p
        Robust empirical Bayes (Phipson et al. 2016) and its winsorised tail proportions.
    df_prior_feature
        Prior degrees of freedom per feature (all equal to ``df_prior`` unless ``robust``).
    """

    fit: LinearFit
    df_prior: float
    s2_prior: NDArray[np.float64]
    s2_post: NDArray[np.float64]
    df_total: NDArray[np.float64]
    t: NDArray[np.float64]
    p_value: NDArray[np.float64]
    lods: NDArray[np.float64] | None
    var_prior: NDArray[np.float64] | None
    trend: bool
    treat_lfc: float | None
    proportion: float
    robust: bool = False
    winsor_tail_p: tuple[float, float] | None = None
    df_prior_feature: NDArray[np.float64] | None = field(default=None, repr=False)


def block_correlation_matrix(block: Sequence[object], correlation: float) -> NDArray[np.float64]:
    """Correlation matrix of samples: 1 on the diagonal, ``correlation`` between samples of the
    same block, 0 otherwise."""
    b = np.asarray([str(x) for x in block])
    same = b[:, None] == b[None, :]
    v = np.where(same, correlation, 0.0)
    np.fill_diagonal(v, 1.0)
    return v


def lm_fit(expr: pd.DataFrame | ArrayLike, design: Design | ArrayLike, *,
           coef_names: Sequence[str] | None = None,
           block: Sequence[object] | None = None,
           correlation: float | None = None, **dupcor_options: Any) -> LinearFit:
    """Fit ``expr[g, :] = design @ beta_g + error`` for every feature ``g`` at once.

    Parameters
    ----------
    expr
        features x samples, log2 expression (a DataFrame keeps its index as feature IDs).
    design
        A :class:`~preclin.expression.design.Design` or a samples x coefficients array.
    coef_names
        Names of the coefficients when ``design`` is an array.
    block, correlation
        Optional blocking factor (one value per sample) and the intra-block correlation:
        generalised least squares with that correlation matrix (limma ``lmFit(block=,
        correlation=)``). With a block and ``correlation=None`` the consensus correlation is
        estimated first by :func:`~preclin.expression.dupcor.duplicate_correlation` (on the
        same design; ``dupcor_options``: its ``trim``, ``tol``, ``maxit``) and recorded in the
        result.

    Returns
    -------
    LinearFit
        Features with missing values are fitted on their observed samples (one QR per
        pattern of missing values; with a block, the correlation matrix of those samples);
        a feature whose observed samples cannot estimate every coefficient gets NaN
        throughout.
    """
    if isinstance(design, Design):
        x = design.matrix
        names = design.columns
    else:
        x = np.asarray(design, dtype=float)
        if x.ndim != 2:
            raise InputError("design must be a samples x coefficients matrix")
        names = tuple(coef_names) if coef_names is not None else tuple(
            f"x{i}" for i in range(x.shape[1]))
    if isinstance(expr, pd.DataFrame):
        features = expr.index
        y = expr.to_numpy(dtype=float)
    else:
        y = np.asarray(expr, dtype=float)
        features = pd.RangeIndex(y.shape[0])
    if y.ndim != 2 or y.shape[1] != x.shape[0]:
        raise InputError(f"expression matrix has {y.shape[-1]} samples but the design "
                         f"{x.shape[0]} rows")
    amean = _row_means(y)
    vmat = None
    blk: tuple[str, ...] | None = None
    estimated = False
    if block is not None:
        if len(block) != x.shape[0]:
            raise InputError(f"block has {len(block)} values for {x.shape[0]} samples")
        blk = tuple(str(b) for b in block)
        if correlation is None:
            from .dupcor import duplicate_correlation

            correlation = duplicate_correlation(y, x, blk, **dupcor_options).consensus
            estimated = True
        correlation = float(correlation)
        if not -1 < correlation < 1:
            raise InputError(f"the intra-block correlation must be in (−1, 1), got "
                             f"{correlation}")
        vmat = block_correlation_matrix(blk, correlation)
        try:
            np.linalg.cholesky(vmat)
        except np.linalg.LinAlgError:
            raise InputError(f"an intra-block correlation of {correlation:.4g} is too "
                             "negative for blocks of this size (the correlation matrix is not "
                             "positive definite)") from None
    elif correlation is not None:
        raise InputError("an intra-block correlation needs a block")
    n_g, n_p = y.shape[0], x.shape[1]
    coef = np.full((n_g, n_p), np.nan)
    stdev = np.full((n_g, n_p), np.nan)
    sigma = np.full(n_g, np.nan)
    dfres = np.zeros(n_g)
    obs = ~np.isnan(y)
    if obs.all():
        groups: list[tuple[NDArray[np.bool_], NDArray[np.intp]]] = [
            (np.ones(y.shape[1], bool), np.arange(n_g))]
    else:
        pat, inv = np.unique(obs, axis=0, return_inverse=True)
        inv = inv.ravel()
        groups = [(pat[i], np.flatnonzero(inv == i)) for i in range(len(pat))]
    for cols, rows in groups:
        xs = x[cols]
        n_obs = int(cols.sum())
        if n_obs == 0 or np.linalg.matrix_rank(xs) < n_p:
            continue
        ys = y[np.ix_(rows, np.flatnonzero(cols))]
        if vmat is not None:  # whiten: L^-1 y, L^-1 X with V[obs, obs] = L L'
            chol = np.linalg.cholesky(vmat[np.ix_(cols, cols)])
            xs = np.linalg.solve(chol, xs)
            ys = np.linalg.solve(chol, ys.T).T
        q, r = np.linalg.qr(xs)
        rinv = np.linalg.inv(r)
        b = (ys @ q) @ rinv.T
        coef[rows] = b
        stdev[rows] = np.sqrt(np.sum(rinv**2, axis=1))
        d = n_obs - n_p
        dfres[rows] = d
        if d > 0:
            res = ys - b @ xs.T
            sigma[rows] = np.sqrt(np.einsum("ij,ij->i", res, res) / d)
    if vmat is not None:
        x = np.linalg.solve(np.linalg.cholesky(vmat), x)
    return LinearFit(features=features, coef_names=names, coefficients=coef,
                     stdev_unscaled=stdev, sigma=sigma, df_residual=dfres, amean=amean,
                     design=x, block=blk, correlation=correlation,
                     correlation_estimated=estimated)


def _row_means(y: NDArray[np.float64]) -> NDArray[np.float64]:
    n = np.sum(~np.isnan(y), axis=1)
    s = np.nansum(y, axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(n > 0, s / np.maximum(n, 1), np.nan)


def fit_f_dist(x: ArrayLike, df1: ArrayLike, *,
               covariate: ArrayLike | None = None) -> tuple[NDArray[np.float64], float]:
    """Moment estimates of a scaled F distribution for sample variances (Smyth 2004, §6.2).

    ``x`` are sample variances on ``df1`` degrees of freedom, assumed to be ``s0² F(df1,
    d0)``. With ``e = log x − digamma(df1/2) + log(df1/2)``: ``d0 = 2 trigamma^-1(var(e) −
    mean trigamma(df1/2))`` and ``s0² = exp(mean(e) + digamma(d0/2) − log(d0/2))``. With a
    covariate, ``mean(e)`` is replaced by a natural-spline regression of ``e`` on the
    covariate (4 df for ≥ 30 values) and ``var(e)`` by its residual mean square.

    Returns
    -------
    s2_prior, df_prior
        ``s2_prior`` per value (NaN where ``x`` was not usable and no covariate given:
        then the common value); ``df_prior`` a number, possibly ``inf``.
    """
    from scipy.special import digamma, polygamma

    xa = np.asarray(x, dtype=float)
    d = np.broadcast_to(np.asarray(df1, dtype=float), xa.shape)
    ok = np.isfinite(xa) & np.isfinite(d) & (d > 1e-15)
    n_ok = int(ok.sum())
    if n_ok < 2:
        raise InputError("fewer than two features with a residual variance: the variance "
                         "prior cannot be estimated")
    xs = np.maximum(xa[ok], 0.0)
    m = float(np.median(xs))
    if m == 0:
        m = 1.0
    xs = np.maximum(xs, 1e-5 * m)
    ds = d[ok]
    e = np.log(xs) - _on_unique(digamma, ds / 2) + np.log(ds / 2)
    cov = None if covariate is None else np.asarray(covariate, dtype=float)
    if cov is not None:
        cs = cov[ok]
        splinedf = 1 + (n_ok >= 3) + (n_ok >= 6) + (n_ok >= 30)
        splinedf = min(splinedf, len(np.unique(cs)))
        if splinedf < 2:
            cov = None
    if cov is None:
        emean_ok = np.full(n_ok, e.mean())
        evar = float(np.sum((e - e.mean()) ** 2) / (n_ok - 1))
    else:
        basis = natural_spline_basis(cs, splinedf)
        q, r = np.linalg.qr(basis)
        fitted = q @ (q.T @ e)
        rank = int(np.linalg.matrix_rank(r))
        evar = float(np.sum((e - fitted) ** 2) / (n_ok - rank))
        emean_ok = fitted
    evar -= float(np.mean(_on_unique(lambda v: polygamma(1, v), ds / 2)))
    if evar > 0:
        df2 = float(2 * trigamma_inverse(evar)[0])
        s20_ok = np.exp(emean_ok + digamma(df2 / 2) - np.log(df2 / 2))
    else:
        df2 = float("inf")
        s20_ok = np.exp(emean_ok) if cov is not None else np.full(n_ok, float(np.mean(xs)))
    s20 = np.full(xa.shape, np.nan)
    s20[ok] = s20_ok
    if cov is None:
        s20[~ok] = s20_ok[0]
    else:
        # features without a variance: prior at their covariate by interpolation
        bad = ~ok & np.isfinite(cov)
        if bad.any():
            srt = np.argsort(cs)
            s20[bad] = np.exp(np.interp(cov[bad], cs[srt], np.log(s20_ok[srt])))
    return s20, df2


def _on_unique(func: Callable[[NDArray[np.float64]], NDArray[np.float64]],
               values: NDArray[np.float64]) -> NDArray[np.float64]:
    """``func(values)``, evaluated once per distinct value (degrees of freedom repeat)."""
    uniq, inv = np.unique(values, return_inverse=True)
    if uniq.size * 4 > values.size:
        return np.asarray(func(values), dtype=float)
    return np.asarray(func(uniq), dtype=float)[inv.ravel()]


def squeeze_var(var: ArrayLike, df: ArrayLike, *, covariate: ArrayLike | None = None
                ) -> tuple[float, NDArray[np.float64], NDArray[np.float64]]:
    """Shrink sample variances towards the prior (Smyth 2004, eq. (2)).

    ``s2_post = (df·s² + d0·s0²)/(df + d0)``; with ``d0 = inf``, ``s2_post = s0²``.

    Returns
    -------
    df_prior, s2_prior, s2_post
    """
    v = np.asarray(var, dtype=float)
    d = np.broadcast_to(np.asarray(df, dtype=float), v.shape)
    s20, d0 = fit_f_dist(v, d, covariate=covariate)
    vz = np.where(d > 0, v, 0.0)
    if np.isfinite(d0):
        post = (d * vz + d0 * s20) / (d + d0)
    else:
        post = s20.copy()
    return d0, s20, post


@dataclass(frozen=True)
class _Prior:
    df_prior: float
    df_prior_feature: NDArray[np.float64]
    s2_prior: NDArray[np.float64]
    s2_post: NDArray[np.float64]
    df_total: NDArray[np.float64]


def _moderate(fit: LinearFit, trend: bool, robust: bool,
              winsor_tail_p: tuple[float, float]) -> _Prior:
    if trend and not np.isfinite(fit.amean).any():
        raise InputError("trend=True needs the mean expression of the features")
    cov = fit.amean if trend else None
    if robust:
        from .robust import squeeze_var_robust

        rfit, s2post = squeeze_var_robust(fit.sigma**2, fit.df_residual, covariate=cov,
                                          winsor_tail_p=winsor_tail_p)
        d0, d0_g, s20 = rfit.df2, rfit.df2_shrunk, rfit.scale
    else:
        d0, s20, s2post = squeeze_var(fit.sigma**2, fit.df_residual, covariate=cov)
        d0_g = np.full(fit.sigma.shape, d0)
    df_pooled = float(np.nansum(fit.df_residual))
    df_total = np.minimum(fit.df_residual + d0_g, df_pooled)
    return _Prior(df_prior=d0, df_prior_feature=d0_g, s2_prior=s20, s2_post=s2post,
                  df_total=df_total)


def ebayes(fit: LinearFit, *, proportion: float = 0.01,
           stdev_coef_lim: tuple[float, float] = (0.1, 4.0),
           trend: bool = False, coefs: Sequence[str | int] | None = None,
           robust: bool = False, winsor_tail_p: tuple[float, float] = (0.05, 0.1)
           ) -> ModeratedFit:
    """Moderated t statistics, p values and B statistics (limma's ``eBayes``).

    Parameters
    ----------
    fit
        Result of :func:`lm_fit`.
    proportion
        Assumed proportion of differentially expressed features (for B).
    stdev_coef_lim
        Limits of the prior standard deviation of non-zero coefficients, relative to the
        residual standard deviation (for B).
    trend
        Let the prior variance depend on mean expression (limma-trend).
    coefs
        Compute p values and B only for these coefficients (faster; the others are NaN).
        Default: all, as limma.
    robust
        Robust empirical Bayes (Phipson et al. 2016; limma ``eBayes(robust=TRUE)``): the
        prior is estimated from winsorised log variances and hypervariable features get
        fewer prior degrees of freedom (:func:`~preclin.expression.robust.fit_f_dist_robust`).
    winsor_tail_p
        With ``robust``: proportions winsorised at the lower and upper tail.

    Returns
    -------
    ModeratedFit
    """
    from scipy.special import stdtr

    if not 0 < proportion < 1:
        raise InputError(f"proportion must be between 0 and 1, got {proportion}")
    pri = _moderate(fit, trend, robust, winsor_tail_p)
    s20, s2post, df_total = pri.s2_prior, pri.s2_post, pri.df_total
    tstat = fit.coefficients / fit.stdev_unscaled / np.sqrt(s2post)[:, None]
    cols = _columns(fit, coefs)
    p = np.full(tstat.shape, np.nan)
    p[:, cols] = 2 * stdtr(df_total[:, None], -np.abs(tstat[:, cols]))
    lim = np.asarray(stdev_coef_lim, dtype=float) ** 2 / float(np.nanmedian(s20))
    var_prior = np.full(tstat.shape[1], np.nan)
    var_prior[cols] = _tmixture_matrix(tstat[:, cols], fit.stdev_unscaled[:, cols], df_total,
                                       proportion, lim)
    nan_vp = np.isnan(var_prior)
    nan_vp[[j for j in range(len(nan_vp)) if j not in cols]] = False
    if nan_vp.any():
        var_prior[nan_vp] = 1.0 / float(np.nanmedian(s20))
    v1 = fit.stdev_unscaled**2
    r = (v1 + var_prior[None, :]) / v1
    t2 = tstat**2
    # normal limit where the prior df is practically infinite, the t form elsewhere
    inf_df = (pri.df_prior_feature > 1e6)[:, None]
    dft = df_total[:, None]
    with np.errstate(invalid="ignore", divide="ignore", over="ignore"):
        kernel = np.where(inf_df, t2 * (1 - 1 / r) / 2,
                          (1 + dft) / 2 * np.log((t2 + dft) / (t2 / r + dft)))
    lods = np.log(proportion / (1 - proportion)) - np.log(r) / 2 + kernel
    lods[:, [j for j in range(lods.shape[1]) if j not in cols]] = np.nan
    return ModeratedFit(fit=fit, df_prior=pri.df_prior, s2_prior=s20, s2_post=s2post,
                        df_total=df_total, t=tstat, p_value=p, lods=lods, var_prior=var_prior,
                        trend=trend, treat_lfc=None, proportion=proportion, robust=robust,
                        winsor_tail_p=winsor_tail_p if robust else None,
                        df_prior_feature=pri.df_prior_feature)


def _columns(fit: LinearFit, coefs: Sequence[str | int] | None) -> list[int]:
    if coefs is None:
        return list(range(len(fit.coef_names)))
    return sorted({fit.coef_index(c) for c in coefs})


def _tmixture_matrix(tstat: NDArray[np.float64], stdev_unscaled: NDArray[np.float64],
                     df: NDArray[np.float64], proportion: float,
                     v0_lim: NDArray[np.float64]) -> NDArray[np.float64]:
    return np.array([_tmixture_vector(tstat[:, j], stdev_unscaled[:, j], df, proportion,
                                      v0_lim) for j in range(tstat.shape[1])])


def _tmixture_vector(tstat: NDArray[np.float64], stdev_unscaled: NDArray[np.float64],
                     df: NDArray[np.float64], proportion: float,
                     v0_lim: NDArray[np.float64]) -> float:
    """Prior variance v0 of the non-zero coefficients (Smyth 2004, §6.3).

    The ``ceil(proportion/2 · n)`` largest |t| are matched to the quantiles they would have
    under the mixture ``(1 − p)·t_d + p·sqrt(1 + v0/v1)·t_d``; each gives one v0, clamped to
    ``v0_lim``; the estimate is their mean.
    """
    from scipy.special import stdtr
    from scipy.stats import t as t_dist

    ok = ~np.isnan(tstat)
    ts, v1s, dfs = np.abs(tstat[ok]), stdev_unscaled[ok] ** 2, df[ok]
    n = ts.size
    ntarget = int(np.ceil(proportion / 2 * n))
    if ntarget < 1:
        return float("nan")
    p = max(ntarget / n, proportion)
    max_df = float(np.max(dfs))
    low = dfs < max_df
    if low.any():  # equivalent t on the largest df: same upper tail probability
        ts = ts.copy()
        ts[low] = t_dist.isf(t_dist.sf(ts[low], dfs[low]), max_df)
    if ntarget < n:  # the ntarget largest |t|, in decreasing order
        top = np.argpartition(-ts, ntarget - 1)[:ntarget]
        o = top[np.argsort(-ts[top], kind="stable")]
    else:
        o = np.argsort(-ts, kind="stable")
    ts, v1 = ts[o], v1s[o]
    r = np.arange(1, ntarget + 1)
    p0 = 2 * stdtr(max_df, -ts)
    ptarget = ((r - 0.5) / n - (1 - p) * p0) / p
    v0 = np.zeros(ntarget)
    pos = ptarget > p0
    if pos.any():
        qtarget = t_dist.isf(ptarget[pos] / 2, max_df)
        v0[pos] = v1[pos] * ((ts[pos] / qtarget) ** 2 - 1)
    v0 = np.clip(v0, v0_lim[0], v0_lim[1])
    return float(np.mean(v0))


def treat(fit: LinearFit, *, lfc: float, trend: bool = False, robust: bool = False,
          winsor_tail_p: tuple[float, float] = (0.05, 0.1)) -> ModeratedFit:
    """Moderated t test of ``|coefficient| > lfc`` (McCarthy & Smyth 2009; limma ``treat``).

    p = P(T > (|b| − lfc)/se) + P(T > (|b| + lfc)/se) on ``df_total`` degrees of freedom;
    the reported t is ``sign(b)·max((|b| − lfc)/se, 0)``. No B statistic.

    Parameters
    ----------
    fit
        Result of :func:`lm_fit`.
    lfc
        Threshold on the log2 fold change (e.g. ``log2(1.5)``).
    trend, robust, winsor_tail_p
        As in :func:`ebayes`.
    """
    from scipy.special import stdtr

    lfc = abs(float(lfc))
    pri = _moderate(fit, trend, robust, winsor_tail_p)
    s20, s2post, df_total = pri.s2_prior, pri.s2_post, pri.df_total
    se = fit.stdev_unscaled * np.sqrt(s2post)[:, None]
    acoef = np.abs(fit.coefficients)
    t_right = (acoef - lfc) / se
    t_left = (acoef + lfc) / se
    dft = df_total[:, None]
    p = stdtr(dft, -t_right) + stdtr(dft, -t_left)
    tstat = np.sign(fit.coefficients) * np.maximum(t_right, 0)
    return ModeratedFit(fit=fit, df_prior=pri.df_prior, s2_prior=s20, s2_post=s2post,
                        df_total=df_total, t=tstat, p_value=p, lods=None, var_prior=None,
                        trend=trend, treat_lfc=lfc, proportion=float("nan"), robust=robust,
                        winsor_tail_p=winsor_tail_p if robust else None,
                        df_prior_feature=pri.df_prior_feature)


def top_table(mfit: ModeratedFit, coef: str | int, *, extra: bool = False) -> pd.DataFrame:
    """One row per feature for one coefficient, sorted by p value (limma ``topTable`` /
    ``topTreat`` with ``number=Inf``; ties keep the input order).

    Columns: :data:`TOP_TABLE_COLUMNS`; with ``extra``, also ``sigma``, ``s2_prior``,
    ``s2_post``, ``df_residual``, ``df_total`` and, for a robust fit, ``df_prior`` (the
    per-feature prior degrees of freedom).
    """
    fit = mfit.fit
    j = fit.coef_index(coef)
    p = mfit.p_value[:, j]
    table = pd.DataFrame({
        "feature": np.asarray(fit.features).astype(str),
        "logfc": fit.coefficients[:, j],
        "ave_expr": fit.amean,
        "t": mfit.t[:, j],
        "p_value": p,
        "adj_p_value": bh_adjust(p),
        "b": mfit.lods[:, j] if mfit.lods is not None else np.full(len(p), np.nan),
    })
    if extra:
        table["sigma"] = fit.sigma
        table["s2_prior"] = mfit.s2_prior
        table["s2_post"] = mfit.s2_post
        table["df_residual"] = fit.df_residual
        table["df_total"] = mfit.df_total
        if mfit.robust and mfit.df_prior_feature is not None:
            table["df_prior"] = mfit.df_prior_feature
    order = np.argsort(np.where(np.isnan(p), np.inf, p), kind="stable")
    return table.iloc[order].reset_index(drop=True)
