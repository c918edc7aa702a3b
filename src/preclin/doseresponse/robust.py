"""Robust dose-response fitting and ROUT outlier detection.

* :func:`fit_robust` — M-estimation (Huber, Tukey biweight or Cauchy loss) by iteratively
  reweighted least squares on all curves of a table at once, with a MAD scale.
* :func:`rout_outliers` — the ROUT method of Motulsky & Brown (2006, BMC Bioinformatics
  7:123), GraphPad Prism's outlier removal: a robust fit assuming Lorentzian (Cauchy)
  scatter, a false-discovery-rate test of the residuals, then an ordinary least-squares
  refit without the outliers.
* :func:`fit_hill_pgx` — PharmacoGx's 3-parameter Hill fit (``logLogisticRegression``) with
  its normal or Cauchy loss and truncation, to compare with PharmacoGx results.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd
from numpy.typing import NDArray
from scipy import optimize
from scipy import stats as sps

from ..errors import InputError
from ..tables import column_list as _as_list
from . import _lm
from .fit import DoseResponseFit, fit
from .models import PUBLIC_NAMES, Model, get_model

__all__ = [
    "LOSSES",
    "RobustFit",
    "fit_robust",
    "RoutResult",
    "rout_outliers",
    "PgxHillFit",
    "fit_hill_pgx",
]

Array = NDArray[np.float64]

#: tuning constants (95 % efficiency at the normal distribution) of the robust losses
LOSSES: dict[str, float] = {"huber": 1.345, "tukey": 4.685, "cauchy": 2.385}

_MAD = 1.482602218505602  # 1 / Phi^-1(3/4)
_MIN_WEIGHT = 1e-10




def _weights(loss: str, u: Array, c: float) -> Array:
    """IRLS weights ``psi(u)/u`` of a loss at standardised residuals ``u``."""
    a = np.abs(u)
    if loss == "huber":
        with np.errstate(divide="ignore"):
            w = np.where(a <= c, 1.0, c / np.where(a > 0, a, 1.0))
    elif loss == "tukey":
        w = np.where(a < c, (1.0 - (u / c) ** 2) ** 2, 0.0)
    else:  # cauchy / lorentzian
        w = 1.0 / (1.0 + (u / c) ** 2)
    return np.asarray(w, dtype=float)


def _rho(loss: str, u: Array, c: float) -> Array:
    a = np.abs(u)
    if loss == "huber":
        return np.where(a <= c, 0.5 * u * u, c * a - 0.5 * c * c)
    if loss == "tukey":
        return np.where(a < c, c * c / 6 * (1 - (1 - (u / c) ** 2) ** 3), c * c / 6)
    return 0.5 * c * c * np.log1p((u / c) ** 2)


def _residuals(model: Model, theta: Array, p: _lm.Packed) -> Array:
    r = p.y - model.response(np.nan_to_num(theta), p.logx)
    return np.where(p.w > 0, r, np.nan)


def _mad_scale(r: Array) -> Array:
    with np.errstate(invalid="ignore"), warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        med = np.nanmedian(r, axis=1, keepdims=True)
        return np.asarray(_MAD * np.nanmedian(np.abs(r - med), axis=1))


def _rsdr(r: Array, k: int) -> Array:
    """ROUT's robust SD of the residuals: 68.27th percentile of |r| times n/(n − k)."""
    n = np.sum(np.isfinite(r), axis=1)
    with np.errstate(invalid="ignore", divide="ignore"), warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        p68 = np.nanpercentile(np.abs(r), 68.27, axis=1)
        return np.asarray(p68 * n / np.maximum(n - k, 1))


def _irls(
    model: Model,
    theta0: Array,
    p: _lm.Packed,
    weight_fn: Callable[[Array, NDArray[np.int64]], Array],
    scale_fn: Callable[[Array, NDArray[np.int64]], Array],
    *,
    max_iter: int = 100,
    tol: float = 1e-9,
    inner: int = 100,
) -> tuple[Array, Array, Array, NDArray[np.bool_], NDArray[np.int64]]:
    """Iteratively reweighted least squares on padded curves.

    ``scale_fn(residuals, rows) -> scales`` gives the scale of the active curves ``rows``
    at each iteration and
    ``weight_fn(u, rows) -> weights`` the robust weights of standardised residuals ``u``.
    Returns theta, weights, scale, converged, iterations.
    """
    m = theta0.shape[0]
    theta = theta0.copy()
    mask = p.w > 0
    yr = np.where(mask, p.y, np.nan)
    with np.errstate(invalid="ignore"), warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        floor = 1e-9 * np.maximum(np.nan_to_num(np.nanmax(np.abs(yr), axis=1)), 1e-300)
    w = mask.astype(float)
    scale = np.ones(m)
    conv = np.zeros(m, dtype=bool)
    iters = np.zeros(m, dtype=np.int64)
    active = np.nonzero(np.all(np.isfinite(theta[:, :4]), axis=1))[0]
    idx = model.free_index
    for _ in range(max_iter):
        if active.size == 0:
            break
        sub = _lm.Packed(p.logx[active], p.y[active], p.w[active], p.n[active])
        r = _residuals(model, theta[active], sub)
        s = np.maximum(np.nan_to_num(scale_fn(r, active), nan=1.0), floor[active])
        scale[active] = s
        wa = np.where(mask[active], np.maximum(weight_fn(r / s[:, None], active),
                                               _MIN_WEIGHT), 0.0)
        w[active] = wa
        res = _lm.levenberg_marquardt(
            model, theta[active], _lm.Packed(sub.logx, sub.y, wa * sub.w, sub.n),
            max_iter=inner)
        new = res.theta
        old = theta[active]
        denom = np.maximum(np.abs(old[:, idx]), 1e-6)
        change = np.max(np.abs(new[:, idx] - old[:, idx]) / denom, axis=1)
        theta[active] = new
        iters[active] += 1
        done = change <= tol
        conv[active[done]] = True
        active = active[~done]
    return theta, w, scale, conv, iters


def _start(data: pd.DataFrame, dose: str, response: str, by_cols: list[str], mdl: Model,
           exclude_column: str | None) -> tuple[DoseResponseFit, _lm.Packed,
                                                NDArray[np.int64], pd.DataFrame]:
    """Least-squares fit (the starting point) and the packed points of every curve."""
    ls = fit(data, dose=dose, response=response, by=by_cols or None, model=mdl, ed=None,
             exclude_column=exclude_column)
    pts = ls.points
    if by_cols:
        keys = ls.table[by_cols].copy()
        keys["_row"] = np.arange(len(keys))
        codes = pts[by_cols].merge(keys, on=by_cols, how="left")["_row"].to_numpy()
    else:
        codes = np.zeros(len(pts), dtype=np.int64)
    codes = np.asarray(codes, dtype=np.int64)
    packed = _lm.pack(codes, pts["dose"].to_numpy(float), pts["response"].to_numpy(float),
                      len(ls.table))
    # position of every point inside the padded arrays (pack keeps the input order)
    order = np.argsort(codes, kind="stable")
    counts = np.bincount(codes, minlength=len(ls.table))
    starts = np.concatenate([[0], np.cumsum(counts)[:-1]])
    slot = np.empty(len(codes), dtype=np.int64)
    slot[order] = np.arange(len(codes)) - starts[codes[order]]
    where = pd.DataFrame({"row": codes, "slot": slot})
    return ls, packed, codes, where


def _theta_of(table: pd.DataFrame) -> Array:
    th = np.column_stack([
        table["hill"].to_numpy(float), table["bottom"].to_numpy(float),
        table["top"].to_numpy(float),
        np.log(table["ec50"].to_numpy(float).clip(min=1e-300)),
        table["asym"].to_numpy(float) if "asym" in table else np.ones(len(table)),
    ])
    return np.asarray(th)


def _param_table(mdl: Model, theta: Array) -> dict[str, Array]:
    nat = theta.copy()
    nat[:, 3] = np.exp(theta[:, 3])
    out: dict[str, Array] = {}
    for j, p in enumerate(("b", "c", "d", "e", "f")):
        if p == "f" and not mdl.five:
            continue
        out[PUBLIC_NAMES[p]] = nat[:, j]
    return {k: out[k] for k in ("bottom", "top", "ec50", "hill", "asym") if k in out}


# ----------------------------------------------------------------------------- M-estimation
@dataclass(frozen=True)
class RobustFit:
    """Result of :func:`fit_robust`.

    Attributes
    ----------
    table
        One row per curve: grouping columns, ``model``, ``loss``, ``tuning``, ``n``,
        ``bottom``, ``top``, ``ec50``, ``hill`` (``asym`` for LL.5), ``scale`` (the
        residual scale used), ``n_downweighted`` (points with weight < 0.5),
        ``objective`` (Σρ(r/scale)), ``rss`` (unweighted), ``ls_ec50`` and ``ls_status``
        (the least-squares start), ``converged``, ``iterations``.
    points
        Points used: grouping columns, ``dose``, ``response``, ``fitted``, ``residual``,
        ``weight`` (final IRLS weight, 1 = full influence).
    ls
        The ordinary least-squares fit the robust fit started from.
    """

    table: pd.DataFrame
    points: pd.DataFrame
    model: Model
    by: list[str]
    loss: str
    ls: DoseResponseFit


def fit_robust(
    data: pd.DataFrame,
    *,
    dose: str,
    response: str,
    by: str | Sequence[str] | None = None,
    model: str | Model = "ll4",
    loss: str = "tukey",
    scale: float | None = None,
    tuning: float | None = None,
    fixed: Mapping[str, float] | None = None,
    exclude_column: str | None = "excluded",
    max_iter: int = 100,
) -> RobustFit:
    """Fit dose-response curves with a robust loss (M-estimation by IRLS).

    Procedure (per curve, all curves batched): (1) ordinary least squares; (2) Huber IRLS
    with the scale re-estimated at every iteration as 1.4826·MAD of the residuals (a
    convex problem: a safe start); (3) for Tukey or Cauchy, IRLS with that loss and the
    scale fixed at the end of step 2 (an MM-type scheme; Tukey's redescending loss gives a
    gross outlier zero weight). Each reweighting step is solved by the batched
    Levenberg–Marquardt fitter with case weights.

    Parameters
    ----------
    data, dose, response, by, model, fixed, exclude_column
        As for :func:`~preclin.doseresponse.fit.fit`.
    loss
        ``"tukey"`` (biweight, c = 4.685), ``"huber"`` (c = 1.345) or ``"cauchy"``
        (c = 2.385); the constants give 95 % efficiency for Gaussian scatter.
    scale
        Fixed residual scale in response units (default: estimated robustly by MAD).
    tuning
        Override the tuning constant of the loss.
    max_iter
        Maximum number of reweighting iterations per stage.

    Returns
    -------
    RobustFit

    Notes
    -----
    No standard errors are reported: for inference, remove outliers with
    :func:`rout_outliers` and use the least-squares refit.
    """
    key = str(loss).strip().lower()
    if key not in LOSSES:
        raise InputError(f"unknown loss '{loss}'; choose from {', '.join(LOSSES)}")
    if scale is not None and not (np.isfinite(scale) and scale > 0):
        raise InputError(f"scale must be a positive number, got {scale!r}")
    c = float(tuning) if tuning is not None else LOSSES[key]
    if not c > 0:
        raise InputError(f"tuning constant must be positive, got {tuning!r}")
    by_cols = _as_list(by)
    mdl = get_model(model, fixed)
    ls, packed, codes, where = _start(data, dose, response, by_cols, mdl, exclude_column)
    theta = _theta_of(ls.table)
    m = theta.shape[0]
    fixed_scale = None if scale is None else np.full(m, float(scale))

    def mad_scale(r: Array, rows: NDArray[np.int64]) -> Array:
        return _mad_scale(r)

    c_huber = LOSSES["huber"] if key != "huber" else c
    theta, w, s, conv, iters = _irls(
        mdl, theta, packed, lambda u, rows: _weights("huber", u, c_huber),
        mad_scale if fixed_scale is None else _const_scale(fixed_scale), max_iter=max_iter)
    if key != "huber":
        s_fixed = s.copy() if fixed_scale is None else fixed_scale
        theta, w, s, conv, it2 = _irls(
            mdl, theta, packed, lambda u, rows: _weights(key, u, c), _const_scale(s_fixed),
            max_iter=max_iter)
        iters = iters + it2
    r = _residuals(mdl, theta, packed)
    u = r / s[:, None]
    obj = np.nansum(_rho(key, u, c), axis=1)
    rss = np.nansum(r * r, axis=1)
    ok_theta = np.all(np.isfinite(theta[:, :4]), axis=1)
    out = ls.table[by_cols].copy() if by_cols else pd.DataFrame(index=range(m))
    out["model"] = mdl.name
    out["loss"] = key
    out["tuning"] = c
    out["n"] = packed.n
    for name, vals in _param_table(mdl, theta).items():
        out[name] = np.where(ok_theta, vals, np.nan)
    out["scale"] = np.where(ok_theta, s, np.nan)
    out["n_downweighted"] = np.sum((w < 0.5) & (packed.w > 0), axis=1)
    out["objective"] = np.where(ok_theta, obj, np.nan)
    out["rss"] = np.where(ok_theta, rss, np.nan)
    out["ls_ec50"] = ls.table["ec50"].to_numpy()
    out["ls_status"] = ls.table["status"].to_numpy()
    out["converged"] = conv & ok_theta
    out["iterations"] = iters
    pts = ls.points.copy()
    rows = where["row"].to_numpy()
    slots = where["slot"].to_numpy()
    fitted = mdl.response(np.nan_to_num(theta), packed.logx)
    pts["fitted"] = fitted[rows, slots]
    pts["residual"] = pts["response"] - pts["fitted"]
    pts["weight"] = w[rows, slots]
    return RobustFit(table=out.reset_index(drop=True), points=pts, model=mdl, by=by_cols,
                     loss=key, ls=ls)


def _const_scale(s: Array) -> Callable[[Array, NDArray[np.int64]], Array]:
    """A scale function returning fixed per-curve values."""
    fixed = s.copy()

    def fn(r: Array, rows: NDArray[np.int64]) -> Array:
        return fixed[rows]

    return fn


# ----------------------------------------------------------------------------- ROUT
@dataclass(frozen=True)
class RoutResult:
    """Result of :func:`rout_outliers`.

    Attributes
    ----------
    points
        Every point used by the robust fit: grouping columns, ``dose``, ``response``,
        ``fitted`` (robust curve), ``residual``, ``t`` (= |residual|/RSDR), ``p`` (two-sided,
        t with n − k df), ``rank`` (1 = smallest |residual|), ``alpha``
        (Q·(n − (rank − 1))/n), ``outlier``.
    robust
        One row per curve: grouping columns, the robust (Lorentzian) parameters, ``rsdr``,
        ``n``, ``n_outliers``, ``converged``.
    fit
        Ordinary least-squares refit without the outliers (they are listed in
        ``fit.excluded`` with the reason ``"ROUT outlier (Q = …%)"``).
    q
        The false discovery rate Q.
    """

    points: pd.DataFrame
    robust: pd.DataFrame
    fit: DoseResponseFit
    q: float


def rout_outliers(
    data: pd.DataFrame,
    *,
    dose: str,
    response: str,
    by: str | Sequence[str] | None = None,
    model: str | Model = "ll4",
    q: float = 0.01,
    fixed: Mapping[str, float] | None = None,
    exclude_column: str | None = "excluded",
    reason_column: str = "reason",
    ed: Sequence[float] | float | None = (50,),
) -> RoutResult:
    """Identify outliers with the ROUT method (Motulsky & Brown 2006) and refit without them.

    1. **Robust fit**: starting from least squares, the curve is refitted by IRLS with
       Lorentzian (Cauchy) weights ``1/(1 + (r/RSDR)²)``, RSDR being re-estimated from the
       current residuals at every iteration, so the fit becomes more robust as the
       outliers lose weight (the adaptive idea of the paper).
    2. **RSDR** (robust SD of the residuals) = the 68.27th percentile of |residuals| times
       ``n/(n − k)``.
    3. **FDR test**: with the residuals ranked by size (rank 1 = smallest), each of the
       largest 30 % gets ``t = |r|/RSDR`` and a two-sided p-value from the t distribution
       with ``n − k`` df, compared with ``αᵢ = Q·(n − (i − 1))/n`` (Benjamini–Hochberg
       thresholds). The smallest rank with ``p < αᵢ`` and every larger residual are
       outliers.
    4. **Refit** by ordinary least squares without the outliers.

    Parameters
    ----------
    data, dose, response, by, model, fixed, ed
        As for :func:`~preclin.doseresponse.fit.fit`.
    q
        False discovery rate Q (Prism's default 1 % = 0.01).
    exclude_column, reason_column
        Upstream exclusions (as in :func:`~preclin.doseresponse.fit.fit`) are honoured and
        kept in the refit.

    Returns
    -------
    RoutResult

    Notes
    -----
    Prism's exact adaptive robust fit is not published in full; this implementation follows
    the paper's description and is not guaranteed to match Prism digit for digit.
    """
    if not 0 < q < 1:
        raise InputError(f"q must be between 0 and 1, got {q}")
    by_cols = _as_list(by)
    mdl = get_model(model, fixed)
    ls, packed, codes, where = _start(data, dose, response, by_cols, mdl, exclude_column)
    k = mdl.n_free
    theta0 = _theta_of(ls.table)
    theta, w, s, conv, _ = _lorentzian(mdl, theta0, packed, k)
    r = _residuals(mdl, theta, packed)
    n = packed.n
    df = n - k
    with np.errstate(invalid="ignore", divide="ignore"):
        t = np.abs(r) / s[:, None]
    pvals = np.where(np.isfinite(t), 2 * sps.t.sf(t, np.maximum(df, 1)[:, None]), np.nan)
    m = theta.shape[0]
    rank = np.zeros_like(r)
    alpha = np.full_like(r, np.nan)
    outlier = np.zeros(r.shape, dtype=bool)
    for i in range(m):
        sel = np.nonzero(np.isfinite(r[i]))[0]
        ni = sel.size
        if ni == 0 or df[i] <= 0 or not np.isfinite(s[i]) or s[i] <= 0:
            continue
        order = sel[np.argsort(np.abs(r[i, sel]), kind="stable")]
        ranks = np.arange(1, ni + 1)
        rank[i, order] = ranks
        a = q * (ni - (ranks - 1)) / ni
        alpha[i, order] = a
        tested = ranks >= int(np.ceil(0.7 * ni))
        hit = np.nonzero(tested & (pvals[i, order] < a))[0]
        if hit.size:
            outlier[i, order[hit[0]:]] = True
    rows = where["row"].to_numpy()
    slots = where["slot"].to_numpy()
    pts = ls.points.copy()
    fitted = mdl.response(np.nan_to_num(theta), packed.logx)
    pts["fitted"] = fitted[rows, slots]
    pts["residual"] = pts["response"] - pts["fitted"]
    pts["t"] = t[rows, slots]
    pts["p"] = pvals[rows, slots]
    pts["rank"] = rank[rows, slots].astype(np.int64)
    pts["alpha"] = alpha[rows, slots]
    pts["outlier"] = outlier[rows, slots]
    ok_theta = np.all(np.isfinite(theta[:, :4]), axis=1)
    rob = ls.table[by_cols].copy() if by_cols else pd.DataFrame(index=range(m))
    for name, vals in _param_table(mdl, theta).items():
        rob[name] = np.where(ok_theta, vals, np.nan)
    rob["rsdr"] = np.where(ok_theta, s, np.nan)
    rob["n"] = n
    rob["n_outliers"] = outlier.sum(axis=1)
    rob["converged"] = conv & ok_theta
    # refit without the outliers, keeping upstream exclusions
    df_in = data.reset_index(drop=True).copy()
    excl = np.zeros(len(df_in), dtype=bool)
    reasons = np.full(len(df_in), "", dtype=object)
    if exclude_column and exclude_column in df_in.columns:
        excl = np.array(df_in[exclude_column].fillna(False).astype(bool), dtype=bool)
        if reason_column in df_in.columns:
            reasons = np.array(df_in[reason_column].astype("string").fillna(""), dtype=object)
    used_idx = _used_rows(df_in, response, excl)
    flag = pts["outlier"].to_numpy(dtype=bool)
    out_rows = used_idx[flag]
    label = f"ROUT outlier (Q = {100 * q:g}%)"
    excl[out_rows] = True
    reasons[out_rows] = label
    col = exclude_column or "_rout_excluded"
    rcol = reason_column if exclude_column else "_rout_reason"
    df_in[col] = excl
    df_in[rcol] = reasons
    refit = fit(df_in, dose=dose, response=response, by=by_cols or None, model=mdl,
                ed=ed, exclude_column=col, reason_column=rcol)
    return RoutResult(points=pts, robust=rob.reset_index(drop=True), fit=refit, q=q)


def _used_rows(df: pd.DataFrame, response: str, excl: NDArray[np.bool_]) -> NDArray[np.int64]:
    """Input rows that fit() uses (same rule: not excluded, response present)."""
    y = pd.to_numeric(df[response], errors="coerce").to_numpy(dtype=float)
    return np.nonzero(~excl & np.isfinite(y))[0]


def _lorentzian(mdl: Model, theta0: Array, p: _lm.Packed, k: int,
                max_iter: int = 200) -> tuple[Array, Array, Array, NDArray[np.bool_],
                                               NDArray[np.int64]]:
    """Robust fit with Lorentzian weights and the adaptive RSDR scale (ROUT step 1)."""
    theta, w, _, conv, iters = _irls(mdl, theta0, p, lambda u, rows: _weights("cauchy", u, 1.0),
                                     lambda r, rows: _rsdr(r, k), max_iter=max_iter, tol=1e-10)
    r = _residuals(mdl, theta, p)
    s = _rsdr(r, k)
    return theta, w, s, conv, iters


# ----------------------------------------------------------------------------- PharmacoGx
@dataclass(frozen=True)
class PgxHillFit:
    """Result of :func:`fit_hill_pgx` in PharmacoGx's reporting units.

    ``hs`` Hill slope (> 0 for falling viability), ``e_inf`` bottom (percent when
    ``viability_as_pct``), ``ec50`` (concentration units, or log10 when ``conc_as_log``),
    ``rsquare`` (CoreGx: 1 − var(residuals)/var(viability)), ``objective`` (the minimised
    negative log-likelihood).
    """

    hs: float
    e_inf: float
    ec50: float
    rsquare: float
    objective: float


def _pgx_tail(d: Array, s: float) -> Array:
    """∫ f(t)² dt beyond |d| for the Cauchy density f with scale s (CoreGx's censored term)."""
    v = np.abs(d) / s
    return (np.pi / 4 - (v / (1 + v * v) + np.arctan(v)) / 2) / (np.pi**2 * s)


def _pgx_tail_normal(d: Array, s: float) -> Array:
    """∫ φ(t)² dt beyond |d| for the normal density φ with SD s."""
    return np.asarray(sps.norm.sf(np.sqrt(2) * np.abs(d) / s) / (2 * s * np.sqrt(np.pi)))


def fit_hill_pgx(
    conc: Sequence[float] | Array,
    viability: Sequence[float] | Array,
    *,
    family: str = "cauchy",
    trunc: bool = True,
    scale: float = 0.07,
    conc_as_log: bool = False,
    viability_as_pct: bool = True,
) -> PgxHillFit:
    """PharmacoGx's Hill fit: ``y = E_inf + (1 − E_inf)/(1 + (x/EC50)^HS)`` on log10 dose.

    Reproduces the objective of PharmacoGx ``logLogisticRegression`` (with CoreGx's
    residual function, single measurement per dose): viabilities as fractions, bounds
    ``HS ∈ [0, 4]``, ``E_inf ∈ [0, 1]``, ``log10 EC50 ∈ [−6, 6]``; ``family="cauchy"``
    minimises ``Σ −log f(dᵢ)`` with ``f`` the Cauchy density of scale ``scale``,
    ``family="normal"`` least squares. With ``trunc=True`` viabilities are clipped to
    [0, 1] and points at 0 or 1 are treated as censored: their term is ``−log ∫ f(t)² dt``
    over ``|t| ≥ |dᵢ|`` (CoreGx's definition). The optimum is found by bounded L-BFGS-B
    from a grid of starts (PharmacoGx uses a mesh and pattern search; both aim at the same
    optimum).

    Parameters
    ----------
    conc
        Concentrations (> 0), or log10 concentrations when ``conc_as_log``.
    viability
        Viabilities in percent (or fractions when ``viability_as_pct=False``).
    family
        ``"cauchy"`` or ``"normal"``.
    trunc
        Truncate viabilities to [0, 100] % and treat the truncated points as censored.
    scale
        Scale of the Cauchy (or normal) density, in fractions.
    conc_as_log, viability_as_pct
        Input (and output) units, as in PharmacoGx.

    Returns
    -------
    PgxHillFit
    """
    fam = str(family).strip().lower()
    if fam not in ("cauchy", "normal"):
        raise InputError(f"family must be 'cauchy' or 'normal', got {family!r}")
    x = np.asarray(conc, dtype=float)
    y = np.asarray(viability, dtype=float)
    if x.shape != y.shape or x.size < 3:
        raise InputError("conc and viability must have the same length (at least 3 points)")
    if not (np.all(np.isfinite(x)) and np.all(np.isfinite(y))):
        raise InputError("conc and viability must be finite")
    if not conc_as_log:
        if np.any(x <= 0):
            raise InputError("concentrations must be positive (they are log10-transformed)")
        x = np.log10(x)
    if viability_as_pct:
        y = y / 100.0
    if trunc:
        y = np.clip(y, 0.0, 1.0)
    cens = ((np.abs(y) >= 1) | (np.abs(y) <= 0)) if trunc else np.zeros(y.size, dtype=bool)

    def hill(p: Array) -> Array:
        return np.asarray(p[1] + (1 - p[1]) / (1 + 10.0 ** (p[0] * (x - p[2]))))

    def objective(p: Array) -> float:
        d = hill(p) - y
        di = d[~cens]
        if fam == "cauchy":
            val = float(np.sum(np.log(np.pi * scale * (1 + (di / scale) ** 2))))
            if cens.any():
                val += float(np.sum(-np.log(_pgx_tail(d[cens], scale))))
        else:
            val = float(np.sum(0.5 * (di / scale) ** 2 + np.log(scale * np.sqrt(2 * np.pi))))
            if cens.any():
                val += float(np.sum(-np.log(_pgx_tail_normal(d[cens], scale))))
        return val

    bounds = [(0.0, 4.0), (0.0, 1.0), (-6.0, 6.0)]
    grid = [np.array([hs, ei, ec]) for hs in (0.5, 1.0, 2.0, 3.5) for ei in (0.0, 0.3, 0.6)
            for ec in np.linspace(x.min(), x.max(), 5)]
    grid.sort(key=objective)
    best: optimize.OptimizeResult | None = None
    for g0 in grid[:4]:
        res = optimize.minimize(objective, g0, method="L-BFGS-B", bounds=bounds,
                                options={"ftol": 1e-15, "gtol": 1e-12, "maxiter": 5000})
        if best is None or res.fun < best.fun:
            best = res
    assert best is not None
    p = np.asarray(best.x, dtype=float)
    resid = y - hill(p)
    r2 = 1.0 - float(np.var(resid, ddof=1) / np.var(y, ddof=1)) if np.var(y) > 0 else np.nan
    e_inf = p[1] * 100.0 if viability_as_pct else p[1]
    ec50 = p[2] if conc_as_log else 10.0 ** p[2]
    return PgxHillFit(hs=float(p[0]), e_inf=float(e_inf), ec50=float(ec50), rsquare=r2,
                      objective=float(best.fun))
