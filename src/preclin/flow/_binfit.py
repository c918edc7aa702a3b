"""Mixture fitting on binned counts, shared by the proliferation and cell-cycle models.

The expected count in bin ``k`` is ``mu_k = sum_j B_kj(theta) a_j``: a few nonlinear
parameters ``theta`` (peak positions, widths, decay lengths) shape the basis ``B`` (the
expected counts per unit amount of each component, integrated over the bin), and the
amounts ``a_j >= 0`` (events per component) enter linearly.

Two objectives:

* ``"ml"`` — Poisson maximum likelihood: minimises the deviance
  ``2 sum [y log(y/mu) - (y - mu)]`` through signed deviance residuals;
* ``"ls"`` — weighted least squares ``sum (y - mu)^2 / max(y, 1)`` (Neyman chi-square).

Amounts start from non-negative least squares at the starting ``theta``; then ``theta`` and
the amounts are refined together by :func:`scipy.optimize.least_squares` (trust-region
reflective, bounds), with the amount columns of the Jacobian exact and the ``theta`` columns
by central differences.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import ClassVar

import numpy as np
import pandas as pd

__all__ = ["BinnedFit", "FitStatus", "fit_binned", "gauss_bins", "pearson_chi2"]


class FitStatus:
    """``status``, ``message`` and ``trusted`` of a histogram-fit result read off its
    one-row ``summary``; ``_untrusted`` names the statuses whose numbers should not be used
    as they are."""

    summary: pd.DataFrame
    _untrusted: ClassVar[tuple[str, ...]] = ()

    @property
    def status(self) -> str:
        """The fit's status (see the module's ``STATUSES``)."""
        return str(self.summary["status"].iloc[0])

    @property
    def message(self) -> str:
        """Why the fit may not be trusted ("" when nothing was found)."""
        return str(self.summary["message"].iloc[0])

    @property
    def trusted(self) -> bool:
        """False when the status says the numbers should not be used as they are."""
        return self.status not in self._untrusted


@dataclass(frozen=True)
class BinnedFit:
    """Result of :func:`fit_binned` (all arrays over every bin, not only the fitted ones)."""

    theta: np.ndarray
    amounts: np.ndarray
    components: np.ndarray  #: (n_bins, n_components) expected counts of each component
    expected: np.ndarray  #: (n_bins,) total expected counts
    loglik: float
    n_params: int
    n_obs: float
    aic: float
    bic: float
    chi2_reduced: float
    success: bool
    message: str


def gauss_bins(edges: np.ndarray, mean: np.ndarray, sd: np.ndarray) -> np.ndarray:
    """Probability of each bin under normal distributions, ``(n_bins, n_components)``."""
    from scipy.special import ndtr

    z = (edges[:, None] - np.asarray(mean, dtype=float)[None, :]) / np.asarray(
        sd, dtype=float)[None, :]
    cdf = ndtr(z)
    return np.diff(cdf, axis=0)


def pearson_chi2(y: np.ndarray, mu: np.ndarray, n_params: int) -> float:
    """Reduced Pearson chi-square over the bins expecting at least one event (sparse
    tails, where the chi-square approximation fails, are left out)."""
    use = mu >= 1.0
    dof = int(use.sum()) - n_params
    if dof <= 0:
        return float("nan")
    return float(np.sum((y[use] - mu[use]) ** 2 / mu[use]) / dof)


def _deviance_residuals(y: np.ndarray, mu: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    mu = np.maximum(mu, 1e-12)
    with np.errstate(divide="ignore", invalid="ignore"):
        term = np.where(y > 0, y * np.log(np.where(y > 0, y, 1.0) / mu), 0.0) - (y - mu)
    dev = np.maximum(2.0 * term, 0.0)
    r = np.sign(y - mu) * np.sqrt(dev)
    small = np.abs(r) < 1e-8
    with np.errstate(divide="ignore", invalid="ignore"):
        drdmu = np.where(small, -1.0 / np.sqrt(mu), (mu - y) / (mu * np.where(small, 1.0, r)))
    return r, drdmu


def _ls_residuals(y: np.ndarray, mu: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    w = 1.0 / np.sqrt(np.maximum(y, 1.0))
    return (y - mu) * w, -w


def fit_binned(
    counts: np.ndarray,
    basis: Callable[[np.ndarray], np.ndarray],
    theta0: np.ndarray,
    lower: np.ndarray,
    upper: np.ndarray,
    *,
    method: str = "ml",
    mask: np.ndarray | None = None,
    max_nfev: int = 400,
    offset: np.ndarray | None = None,
) -> BinnedFit:
    """Fit non-negative amounts of components shaped by ``theta`` to binned counts.

    Parameters
    ----------
    counts
        Observed counts per bin.
    basis
        ``theta -> (n_bins, n_components)``: expected counts per unit amount.
    theta0, lower, upper
        Start and bounds of the nonlinear parameters (may be empty).
    method
        ``"ml"`` (Poisson likelihood) or ``"ls"`` (weighted least squares).
    mask
        Bins that enter the fit (default: all).
    offset
        Fixed expected counts per bin added to the model (default none).
    max_nfev
        Evaluation budget of the optimiser.

    Returns
    -------
    BinnedFit
        Parameters, components and criteria (AIC/BIC from the Poisson log-likelihood for
        ``"ml"``, from the Gaussian profile likelihood of the weighted residuals for
        ``"ls"``; BIC uses the number of events in the fitted bins for ``"ml"`` and the
        number of fitted bins for ``"ls"``).
    """
    from scipy.optimize import least_squares, nnls
    from scipy.special import gammaln

    y_all = np.asarray(counts, dtype=float)
    m = np.ones(y_all.size, dtype=bool) if mask is None else np.asarray(mask, dtype=bool)
    y = y_all[m]
    off_all = np.zeros(y_all.size) if offset is None else np.asarray(offset, dtype=float)
    off = off_all[m]
    theta0 = np.asarray(theta0, dtype=float)
    lower = np.asarray(lower, dtype=float)
    upper = np.asarray(upper, dtype=float)
    nt = theta0.size
    theta0 = np.clip(theta0, lower, upper)
    b0 = basis(theta0)
    nc = b0.shape[1]
    w = 1.0 / np.sqrt(np.maximum(y, 1.0))
    a0 = nnls(b0[m] * w[:, None], (y - off) * w, maxiter=50 * nc)[0]
    a0 = np.maximum(a0, 1e-3)
    resid = _deviance_residuals if method == "ml" else _ls_residuals

    def fun(p: np.ndarray) -> np.ndarray:
        mu = basis(p[:nt])[m] @ p[nt:] + off
        return resid(y, mu)[0]

    def jac(p: np.ndarray) -> np.ndarray:
        th, a = p[:nt], p[nt:]
        bm = basis(th)[m]
        mu = bm @ a + off
        drdmu = resid(y, mu)[1]
        jm = np.empty((y.size, p.size))
        for j in range(nt):
            h = 1e-6 * max(abs(th[j]), 1e-2)
            tp, tm = th.copy(), th.copy()
            tp[j] += h
            tm[j] -= h
            jm[:, j] = (basis(tp)[m] @ a - basis(tm)[m] @ a) / (2 * h)
        jm[:, nt:] = bm
        return drdmu[:, None] * jm

    p0 = np.concatenate([theta0, a0])
    lo = np.concatenate([lower, np.zeros(nc)])
    hi = np.concatenate([upper, np.full(nc, np.inf)])
    p0 = np.clip(p0, lo, hi)
    with np.errstate(all="ignore"):
        sol = least_squares(fun, p0, jac=jac, bounds=(lo, hi), method="trf",
                            x_scale="jac", max_nfev=max_nfev)
    theta, amounts = sol.x[:nt], sol.x[nt:]
    bfull = basis(theta)
    comps = bfull * amounts[None, :]
    mu_all = comps.sum(axis=1) + off_all
    mu = np.maximum(mu_all[m], 1e-12)
    k = nt + nc
    if method == "ml":
        loglik = float(np.sum(y * np.log(mu) - mu - gammaln(y + 1.0)))
        n_obs = float(y.sum())
    else:
        wrss = float(np.sum(((y - mu) * w) ** 2))
        n_obs = float(y.size)
        loglik = -0.5 * n_obs * (np.log(2 * np.pi * max(wrss, 1e-300) / n_obs) + 1.0)
    aic = -2.0 * loglik + 2.0 * k
    bic = -2.0 * loglik + np.log(max(n_obs, 1.0)) * k
    return BinnedFit(theta=theta, amounts=amounts, components=comps, expected=mu_all,
                     loglik=loglik, n_params=k, n_obs=n_obs, aic=float(aic), bic=float(bic),
                     chi2_reduced=pearson_chi2(y, mu, k), success=bool(sol.status > 0),
                     message=str(sol.message))
