"""Quantal (binomial) dose-response data fitted by maximum likelihood (drc ``type = "binomial"``).

Each row holds ``events`` out of ``total`` subjects at a dose; the probability of an event
follows one of the models of :mod:`preclin.doseresponse.models` (``ll2`` by default: LL.4
with ``c = 0`` and ``d = 1``). The log-likelihood is

    ℓ(θ) = Σ log C(nᵢ, kᵢ) + kᵢ log pᵢ + (nᵢ − kᵢ) log(1 − pᵢ),

with ``pᵢ`` clipped to ``[1e-12, 1 − 1e-12]`` as drc does (so a dose-0 row whose model
probability is exactly 0 or 1 contributes a constant and does not stop the fit). Standard
errors come from the inverse observed information (the Hessian of −ℓ at the optimum, as
drc's ``vcov``), and ED confidence intervals use the normal quantile (drc for binomial data).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
from numpy.typing import NDArray
from scipy import stats as sps
from scipy.special import gammaln

from ..errors import InputError
from ..tables import column_list as _as_list
from ..tables import require_columns, require_numeric
from . import _lm
from .fit import curve_keys, ed_columns
from .models import PARAM_NAMES, PUBLIC_NAMES, Model, get_model
from .stats import ed_gradient

__all__ = ["BinomialFit", "fit_binomial", "ZERO_TOL"]

Array = NDArray[np.float64]

#: probabilities are clipped to [ZERO_TOL, 1 - ZERO_TOL] (drc's zeroTol)
ZERO_TOL = 1e-12


@dataclass(frozen=True)
class BinomialFit:
    """Result of :func:`fit_binomial`.

    Attributes
    ----------
    table
        One row per curve: grouping columns, ``model``, ``n`` (rows), ``n_doses``,
        ``total`` and ``events`` (sums), the parameters ``bottom``, ``top``, ``ec50``,
        ``hill`` (``asym`` for LL.5) with ``*_se``, ``loglik`` (with the binomial
        coefficients, as drc and ``glm``), ``aic``, ``df`` (rows − parameters),
        ``pearson_chisq``/``gof_p`` (Pearson goodness-of-fit test; rows where the model
        probability is exactly 0 or 1, e.g. dose 0 under LL.2, are left out of it and of its
        df),
        ``edX``/``edX_se``/``edX_lower``/``edX_upper`` (normal-quantile delta CIs),
        ``converged`` and ``message``.
    points
        Rows used: grouping columns, ``dose``, ``events``, ``total``, ``proportion``.
    model
        The fitted model.
    by
        Grouping columns.
    vcov
        ``(n_curves, k, k)`` covariance of the free parameters (``e`` in dose units).
    """

    table: pd.DataFrame
    points: pd.DataFrame
    model: Model
    by: list[str]
    ed: tuple[float, ...] = (50.0,)
    vcov: Array = field(default_factory=lambda: np.zeros((0, 0, 0)))




class _Curve:
    """Negative log-likelihood of one curve and its derivatives (internal theta, log e)."""

    def __init__(self, model: Model, logx: Array, k: Array, n: Array) -> None:
        self.model = model
        self.logx = logx[None, :]
        self.k = k
        self.n = n
        self.idx = model.free_index
        self.base = model.theta_full(np.zeros((1, model.n_free)))[0]

    def theta(self, free: Array) -> Array:
        th = self.base.copy()
        th[self.idx] = free
        return th[None, :]

    def _p(self, free: Array) -> tuple[Array, Array, Array]:
        p, jac = self.model.jacobian(self.theta(free), self.logx)
        p = p[0]
        jac = jac[0]
        clipped = (p <= ZERO_TOL) | (p >= 1 - ZERO_TOL) | ~np.isfinite(p)
        pc = np.clip(np.nan_to_num(p, nan=0.5), ZERO_TOL, 1 - ZERO_TOL)
        jac = np.where(clipped[:, None], 0.0, jac)
        return pc, jac, clipped

    def nll(self, free: Array) -> float:
        if not np.all(np.isfinite(free)):
            return float("inf")
        p, _, _ = self._p(free)
        return float(-np.sum(self.k * np.log(p) + (self.n - self.k) * np.log1p(-p)))

    def grad(self, free: Array) -> Array:
        p, jac, _ = self._p(free)
        score = self.k / p - (self.n - self.k) / (1 - p)
        return np.asarray(-(score @ jac))

    def hess(self, free: Array) -> Array:
        """Observed information: Hessian of −ℓ (second derivatives of p by differences)."""
        p, jac, clipped = self._p(free)
        wgt = self.k / p**2 + (self.n - self.k) / (1 - p) ** 2
        score = self.k / p - (self.n - self.k) / (1 - p)
        h = (jac * wgt[:, None]).T @ jac
        kf = free.size
        second = np.zeros((kf, kf))
        for j in range(kf):
            step = 1e-5 * max(abs(free[j]), 1e-2)
            fp = free.copy()
            fm = free.copy()
            fp[j] += step
            fm[j] -= step
            _, jp = self.model.jacobian(self.theta(fp), self.logx)
            _, jm = self.model.jacobian(self.theta(fm), self.logx)
            dj = (jp[0] - jm[0]) / (2 * step)
            dj = np.where(clipped[:, None], 0.0, dj)
            second[j] = score @ dj
        second = 0.5 * (second + second.T)
        return np.asarray(h - second)


def _bounds(model: Model, lo: float, hi: float) -> list[tuple[float, float]]:
    out: list[tuple[float, float]] = []
    for p in model.free:
        if p == "b":
            out.append((-_lm.MAX_ABS_B, _lm.MAX_ABS_B))
        elif p in ("c", "d"):
            out.append((0.0, 1.0))
        elif p == "e":
            out.append((lo - _lm.LOG_E_MARGIN, hi + _lm.LOG_E_MARGIN))
        else:
            out.append((1e-3, 1e3))
    return out


def _starts(model: Model, cur: _Curve, lo: float, hi: float, prop: Array,
            n_best: int = 3) -> list[Array]:
    """Grid over (b, log e) with c/d at the observed extremes; the best few points."""
    span = max(hi - lo, 1e-6)
    if "e" in model.fixed:
        les = np.array([np.log(model.fixed["e"])])
    else:
        les = lo + np.linspace(-0.25, 1.25, 13) * span
    slopes = np.array([0.5, 1.0, 2.0, 4.0, 10.0])
    bvals = (np.array([model.fixed["b"]]) if "b" in model.fixed
             else np.concatenate([slopes, -slopes]))
    cmin = float(np.clip(np.nanmin(prop), 0.001, 0.999)) if prop.size else 0.01
    cmax = float(np.clip(np.nanmax(prop), 0.001, 0.999)) if prop.size else 0.99
    bb, ll = np.meshgrid(bvals, les, indexing="ij")
    m = bb.size
    theta = np.tile(cur.base, (m, 1))
    for p in model.free:
        j = PARAM_NAMES.index(p)
        theta[:, j] = {"b": bb.ravel(), "c": cmin, "d": cmax, "e": ll.ravel(), "f": 1.0}[p]
    pr = model.response(theta, np.broadcast_to(cur.logx, (m, cur.logx.shape[1])))
    pr = np.clip(np.nan_to_num(pr, nan=0.5), ZERO_TOL, 1 - ZERO_TOL)
    nll = -(cur.k * np.log(pr) + (cur.n - cur.k) * np.log1p(-pr)).sum(axis=1)
    order = np.argsort(nll, kind="stable")[:n_best]
    return [theta[i, model.free_index].copy() for i in order]


def _inside(v: Array, bnds: list[tuple[float, float]]) -> Array:
    return np.array([min(max(x, b0), b1) for x, (b0, b1) in zip(v, bnds, strict=True)])


def _fit_curve(model: Model, cur: _Curve, lo: float, hi: float,
               prop: Array) -> tuple[Array, float, bool]:
    """Damped Fisher scoring from the best grid starts, then Newton on the observed info."""
    bnds = _bounds(model, lo, hi)
    best_v: Array | None = None
    best_f = np.inf
    best_ok = False
    for s in _starts(model, cur, lo, hi, prop):
        v = _inside(s, bnds)
        f = cur.nll(v)
        lam = 1e-3
        ok = False
        for _ in range(500):
            p, jac, _c = cur._p(v)
            g = cur.grad(v)
            info = (jac * (cur.n / (p * (1 - p)))[:, None]).T @ jac
            d = np.maximum(np.diag(info), 1e-12 * max(float(np.max(np.diag(info))), 1e-300))
            accepted = False
            while lam < 1e16:
                try:
                    step = np.linalg.solve(info + lam * np.diag(d), g)
                except np.linalg.LinAlgError:
                    lam *= 10
                    continue
                nv = _inside(v - step, bnds)
                nf = cur.nll(nv)
                if nf <= f:
                    accepted = True
                    break
                lam *= 10
            if not accepted:
                ok = True  # no descent direction left: a minimum (or a bound)
                break
            small = (abs(f - nf) <= 1e-12 * max(abs(f), 1.0)
                     or float(np.max(np.abs(nv - v))) <= 1e-10)
            v, f = nv, nf
            lam = max(lam / 10, 1e-12)
            if small and lam <= 1e-2:
                ok = True
                break
        if f < best_f:
            best_f, best_v, best_ok = f, v, ok
    assert best_v is not None
    v, f = best_v, best_f
    # Newton polish with the observed information (interior optimum)
    for _ in range(20):
        g = cur.grad(v)
        try:
            step = np.linalg.solve(cur.hess(v), g)
        except np.linalg.LinAlgError:
            break
        nv = v - step
        inside = all(b0 <= x <= b1 for x, (b0, b1) in zip(nv, bnds, strict=True))
        nf = cur.nll(nv)
        if not inside or not nf <= f + 1e-12 * max(abs(f), 1.0):
            break
        v, f = nv, min(nf, f)
        if np.max(np.abs(step)) < 1e-12:
            break
    gnorm = float(np.max(np.abs(cur.grad(v)))) if v.size else 0.0
    ok = best_ok or gnorm < 1e-6
    return v, cur.nll(v), ok


def fit_binomial(
    data: pd.DataFrame,
    *,
    dose: str,
    events: str,
    total: str,
    by: str | Sequence[str] | None = None,
    model: str | Model = "ll2",
    ed: Iterable[float] | float | None = (50,),
    level: float = 0.95,
    fixed: Mapping[str, float] | None = None,
    file: str | Path | None = None,
) -> BinomialFit:
    """Fit quantal dose-response curves by maximum likelihood (drc ``type = "binomial"``).

    Parameters
    ----------
    data
        Long table, one row per group of subjects.
    dose, events, total
        Columns: dose (>= 0), number of subjects with the event, number of subjects.
        Rows with ``total == 0`` carry no information and are ignored.
    by
        Column(s) identifying a curve; curves are fitted independently (the binomial
        likelihood has no shared variance, so drc's joint ``curveid`` fit is the same).
    model
        ``"ll2"`` (default; drc LL.2: ``c = 0``, ``d = 1``), ``"ll3"`` (upper limit free),
        ``"ll4"``, ``"w13"``/``"w23"`` or any model with ``fixed`` parameters; estimated
        ``c``/``d`` are kept within [0, 1].
    ed
        Effect levels X for ``edX`` (relative EDs, drc ``ED``), with delta-method CIs using
        the normal quantile.
    level
        Confidence level of the ED intervals.
    fixed
        Parameters to hold constant (``{"top": 1}``).
    file
        Name of the source file, for error messages.

    Returns
    -------
    BinomialFit

    Raises
    ------
    InputError
        Missing or non-numeric columns, negative doses or counts, events above total.
    """
    by_cols = _as_list(by)
    mdl = get_model(model, fixed)
    if isinstance(ed, (int, float)):
        levels: tuple[float, ...] = (float(ed),)
    else:
        levels = tuple(float(v) for v in (ed or ()))
    for lev in levels:
        if not 0 < lev < 100:
            raise InputError(f"ED level {lev:g} must be between 0 and 100 (exclusive)")
    if not 0 < level < 1:
        raise InputError(f"level must be between 0 and 1, got {level}")
    if not isinstance(data, pd.DataFrame) or len(data) == 0:
        raise InputError("expected a non-empty table", file=file)
    require_columns(data, [dose, events, total, *by_cols], file=file)
    df = data.reset_index(drop=True)
    x = require_numeric(df, dose, file=file, nonnegative=True).to_numpy()
    k = require_numeric(df, events, file=file, nonnegative=True).to_numpy()
    n = require_numeric(df, total, file=file, nonnegative=True).to_numpy()
    if not np.all(np.isfinite(x)):
        pos = int(np.nonzero(~np.isfinite(x))[0][0])
        raise InputError(f"column '{dose}' must be finite", file=file, location=f"row {pos + 2}")
    over = k > n
    if over.any():
        pos = int(np.nonzero(over)[0][0])
        raise InputError(f"'{events}' ({k[pos]:g}) exceeds '{total}' ({n[pos]:g})", file=file,
                         location=f"row {pos + 2}")
    for name in mdl.fixed:
        if name in ("c", "d") and not 0 <= mdl.fixed[name] <= 1:
            raise InputError(f"a fixed {PUBLIC_NAMES[name]} must lie in [0, 1] for "
                             "binomial data")
    codes, curves = curve_keys(df, by_cols)
    n_curves = len(curves)
    used = n > 0
    kf = mdl.n_free
    zq = float(sps.norm.ppf(1 - (1 - level) / 2))
    cols: dict[str, list[float]] = {c: [] for c in (
        "n", "n_doses", "total", "events", "bottom", "top", "ec50", "hill", "asym",
        "bottom_se", "top_se", "ec50_se", "hill_se", "asym_se", "loglik", "aic", "df",
        "pearson_chisq", "gof_p")}
    conv: list[bool] = []
    msgs: list[str] = []
    eds: dict[str, list[float]] = {}
    vcov = np.full((n_curves, kf, kf), np.nan)
    for lv in levels:
        name, lo_c, hi_c = ed_columns(lv)
        for c in (name, f"{name}_se", lo_c, hi_c):
            eds[c] = []
    for ci in range(n_curves):
        sel = used & (codes == ci)
        xs, ks, ns = x[sel], k[sel], n[sel]
        cols["n"].append(float(sel.sum()))
        cols["n_doses"].append(float(np.unique(xs).size))
        cols["total"].append(float(ns.sum()))
        cols["events"].append(float(ks.sum()))
        theta = np.full(5, np.nan)
        se = np.full(5, np.nan)
        cov = np.full((kf, kf), np.nan)
        loglik = np.nan
        msg = ""
        ok = False
        if np.unique(xs).size < kf:
            msg = "too few distinct doses for the model"
        else:
            with np.errstate(divide="ignore"):
                logx = np.where(xs > 0, np.log(np.where(xs > 0, xs, 1.0)), -np.inf)
            finite = logx[np.isfinite(logx)]
            lo = float(finite.min()) if finite.size else 0.0
            hi = float(finite.max()) if finite.size else 0.0
            cur = _Curve(mdl, logx, ks, ns)
            prop = ks / ns
            vopt, fval, ok = _fit_curve(mdl, cur, lo, hi, prop)
            theta = cur.theta(vopt)[0]
            loglik = float(np.sum(gammaln(ns + 1) - gammaln(ks + 1) - gammaln(ns - ks + 1))
                           - fval)
            h = cur.hess(vopt)
            try:
                inv = np.linalg.inv(h)
                if not np.all(np.linalg.eigvalsh(0.5 * (h + h.T)) > 0):
                    raise np.linalg.LinAlgError
            except np.linalg.LinAlgError:
                inv = np.full((kf, kf), np.nan)
                msg = "information matrix not positive definite: no standard errors"
            jt = np.ones(kf)
            if "e" in mdl.free:
                jt[mdl.free.index("e")] = np.exp(theta[3])
            cov = inv * np.outer(jt, jt)
            for j, p in enumerate(mdl.free):
                se[PARAM_NAMES.index(p)] = np.sqrt(cov[j, j]) if cov[j, j] >= 0 else np.nan
            if not ok:
                msg = msg or "the optimiser did not converge"
        vcov[ci] = cov
        nat = theta.copy()
        nat[3] = np.exp(theta[3])
        for p in ("b", "c", "d", "e", "f"):
            cols[PUBLIC_NAMES[p]].append(float(nat[PARAM_NAMES.index(p)]))
            cols[f"{PUBLIC_NAMES[p]}_se"].append(float(se[PARAM_NAMES.index(p)]))
        cols["loglik"].append(loglik)
        cols["aic"].append(-2 * loglik + 2 * kf)
        dfree = float(sel.sum() - kf)
        cols["df"].append(dfree)
        if np.all(np.isfinite(theta[:4])) and dfree > 0:
            with np.errstate(divide="ignore"):
                lx = np.where(xs > 0, np.log(np.where(xs > 0, xs, 1.0)), -np.inf)
            pr = mdl.response(theta[None, :], lx[None, :])[0]
            inner = (pr > ZERO_TOL) & (pr < 1 - ZERO_TOL)
            dgof = float(inner.sum() - kf)
            pi = pr[inner]
            chi = float(np.sum((ks[inner] - ns[inner] * pi) ** 2 / (ns[inner] * pi * (1 - pi))))
            cols["pearson_chisq"].append(chi if dgof > 0 else np.nan)
            cols["gof_p"].append(float(sps.chi2.sf(chi, dgof)) if dgof > 0 else np.nan)
        else:
            cols["pearson_chisq"].append(np.nan)
            cols["gof_p"].append(np.nan)
        conv.append(ok)
        msgs.append(msg)
        for lv in levels:
            name, lo_c, hi_c = ed_columns(lv)
            if np.all(np.isfinite(theta[:4])):
                est, grad = ed_gradient(mdl, theta, lv)
                var = float(grad @ cov @ grad)
                sed = np.sqrt(var) if var >= 0 else np.nan
            else:
                est, sed = np.nan, np.nan
            eds[name].append(est)
            eds[f"{name}_se"].append(sed)
            eds[lo_c].append(est - zq * sed)
            eds[hi_c].append(est + zq * sed)
    out = pd.DataFrame({"model": [mdl.name] * n_curves})
    for c in ("n", "n_doses", "df"):
        out[c] = np.asarray(cols[c], dtype=float).astype(np.int64)
    for c in ("total", "events"):
        out[c] = cols[c]
    order = ["bottom", "top", "ec50", "hill"] + (["asym"] if mdl.five else [])
    for c in order:
        out[c] = cols[c]
    for c in order:
        out[f"{c}_se"] = cols[f"{c}_se"]
    for c in ("loglik", "aic", "pearson_chisq", "gof_p"):
        out[c] = cols[c]
    for c, vals in eds.items():
        out[c] = vals
    out["converged"] = conv
    out["message"] = msgs
    table = pd.concat([curves.reset_index(drop=True), out], axis=1) if by_cols else out
    pts = df.loc[used, by_cols].copy() if by_cols else pd.DataFrame(index=df.index[used])
    pts["dose"] = x[used]
    pts["events"] = k[used]
    pts["total"] = n[used]
    pts["proportion"] = k[used] / n[used]
    return BinomialFit(table=table, points=pts.reset_index(drop=True), model=mdl, by=by_cols,
                       ed=levels, vcov=vcov)
