"""Inference on fitted dose-response curves: profile CIs, model selection, nested F tests,
relative potency and shared-parameter (global) fits.

Every function works in drc's parameterisation (see :mod:`preclin.doseresponse.models`)
and, where drc has the same statistic, reproduces drc 3.0-1:

* :func:`model_select` — drc ``mselect`` (AIC ranking, lack-of-fit p, residual variance);
* :func:`f_test_nested`, :func:`compare_nested`, :func:`global_f_test` — drc ``anova`` for
  nested ``drm`` fits (extra-sum-of-squares F test);
* :func:`relative_potency` — drc ``EDcomp`` (ratio of effective doses with delta-method or
  Fieller CIs, t quantile on the residual df of the joint fit);
* :func:`global_fit` — drc ``drm(..., curveid, pmodels=...)`` with some parameters common
  to all curves.

:func:`profile_ci` gives profile-likelihood CIs as GraphPad Prism defines them (the
F-based threshold ``RSS_min·(1 + F(level; 1, df)/df)``) or the likelihood-ratio variant.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from numpy.typing import NDArray
from scipy import optimize
from scipy import stats as sps

from ..errors import InputError
from ..tables import column_list as _as_list
from . import _lm
from .fit import DoseResponseFit, fit
from .models import PARAM_NAMES, PUBLIC_NAMES, Model, get_model

__all__ = [
    "ProfileCI",
    "profile_ci",
    "profile_ci_table",
    "model_select",
    "FTestResult",
    "f_test_nested",
    "compare_nested",
    "effect_test",
    "RelativePotency",
    "relative_potency",
    "GlobalFit",
    "global_fit",
    "global_f_test",
    "ed_gradient",
]

Array = NDArray[np.float64]

_INTERNAL = {v: k for k, v in PUBLIC_NAMES.items()} | {k: k for k in PARAM_NAMES}

#: drc's model names, used in :func:`model_select` output
DEFAULT_SELECT_MODELS: tuple[str, ...] = ("ll4", "ll3", "ll5", "w14", "w24", "w13", "w23")


# ----------------------------------------------------------------------------- helpers


def _internal_name(parameter: str) -> str:
    key = _INTERNAL.get(str(parameter).strip().lower())
    if key is None:
        raise InputError(
            f"unknown parameter '{parameter}'; choose from hill, bottom, top, ec50, asym "
            "(or drc's b, c, d, e, f)"
        )
    return key


def _theta_row(row: pd.Series) -> Array:
    """Internal theta ``(b, c, d, log e, f)`` of one fit-table row."""
    f = float(row["asym"]) if "asym" in row.index else 1.0
    with np.errstate(divide="ignore", invalid="ignore"):
        le = np.log(float(row["ec50"]))
    return np.array([float(row["hill"]), float(row["bottom"]), float(row["top"]), le, f])


def _select_row(result: DoseResponseFit, curve: int | Mapping[str, object] | object) -> int:
    """Row position in ``result.table`` of a curve given by position, mapping or key.

    A value of the single grouping column takes precedence over a row position (so that
    ``curve=1`` selects ``type == 1`` when curves are identified by an integer column).
    """
    table = result.table
    is_key = len(result.by) == 1 and bool((table[result.by[0]] == curve).any()) if not (
        isinstance(curve, (Mapping, tuple))) else False
    if isinstance(curve, (int, np.integer)) and not isinstance(curve, bool) and not is_key:
        pos = int(curve)
        if not 0 <= pos < len(table):
            raise InputError(f"curve {pos} does not exist; the fit has {len(table)} curve(s)")
        return pos
    if not result.by:
        raise InputError("the fit has a single curve; select it with curve=0")
    if isinstance(curve, Mapping):
        key = dict(curve)
    elif isinstance(curve, tuple) and len(curve) == len(result.by):
        key = dict(zip(result.by, curve, strict=True))
    elif len(result.by) == 1:
        key = {result.by[0]: curve}
    else:
        raise InputError(
            f"select a curve with a mapping of {', '.join(result.by)} to values, got {curve!r}"
        )
    mask = np.ones(len(table), dtype=bool)
    for col, val in key.items():
        if col not in table.columns:
            raise InputError(f"'{col}' is not a grouping column of the fit ({result.by})")
        colv = table[col]
        mask &= (colv.astype(str) == str(val)).to_numpy() | (colv == val).to_numpy()
    hits = np.nonzero(mask)[0]
    if hits.size != 1:
        raise InputError(
            f"curve {key} matches {hits.size} curves of the fit; give every grouping column"
        )
    return int(hits[0])


def _curve_points(result: DoseResponseFit, pos: int) -> tuple[Array, Array]:
    """Doses and responses used for curve ``pos`` of ``result``."""
    pts = result.points
    mask = np.ones(len(pts), dtype=bool)
    row = result.table.iloc[pos]
    for col in result.by:
        val = row[col]
        colv = pts[col]
        if pd.isna(val):
            mask &= colv.isna().to_numpy()
        else:
            mask &= (colv == val).to_numpy()
    return (pts.loc[mask, "dose"].to_numpy(dtype=float),
            pts.loc[mask, "response"].to_numpy(dtype=float))


def _pack1(dose: Array, response: Array, copies: int = 1) -> _lm.Packed:
    p = _lm.pack(np.zeros(dose.size, dtype=np.int64), dose, response, 1)
    if copies == 1:
        return p
    return _lm.Packed(np.repeat(p.logx, copies, 0), np.repeat(p.y, copies, 0),
                      np.repeat(p.w, copies, 0), np.repeat(p.n, copies))


def ed_gradient(model: Model, theta: Array, level: float) -> tuple[float, Array]:
    """Relative ED at ``level`` % and its gradient (drc parameterisation, ``e`` in dose units).

    Parameters
    ----------
    model
        The fitted model (its free parameters define the gradient's order).
    theta
        Internal parameters ``(b, c, d, log e, f)`` of one curve.
    level
        Effect level X, 0 < X < 100: the dose at which the response has moved X % of the way
        from the zero-dose asymptote to the other one (drc ``ED(type = "relative")``).

    Returns
    -------
    estimate, gradient
        The ED and ``d ED / d (free parameters)``.
    """
    b, le, f = float(theta[0]), float(theta[3]), float(theta[4])
    g0 = float(model.g_at_zero_dose(np.array([b]))[0])
    target = g0 + (level / 100.0) * (1.0 - 2.0 * g0)
    zstar = float(model.ginv(np.array([target]), f)[0])
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        est = float(np.exp(le + zstar / b))
    grad = np.zeros(model.n_free)
    for j, p in enumerate(model.free):
        if p == "b":
            grad[j] = -est * zstar / b**2
        elif p == "e":
            grad[j] = est / np.exp(le)
        elif p == "f":
            h = 1e-6 * max(abs(f), 1e-3)
            zp = float(model.ginv(np.array([target]), f + h)[0])
            zm = float(model.ginv(np.array([target]), f - h)[0])
            grad[j] = est * (zp - zm) / (2 * h) / b
    return est, grad


# ----------------------------------------------------------------------------- profile CI
@dataclass(frozen=True)
class ProfileCI:
    """A profile-likelihood confidence interval of one parameter of one curve.

    Attributes
    ----------
    parameter
        Public name (``ec50``, ``hill``, ``bottom``, ``top``, ``asym``).
    estimate, lower, upper
        Estimate and CI bounds in the reported units (``ec50`` in dose units). A bound that
        is not reached within the search range is NaN (the CI is open on that side).
    level
        Confidence level.
    method
        ``"F"`` (Prism: ``RSS ≤ RSS_min·(1 + F(level; 1, df)/df)``) or ``"LR"``
        (likelihood ratio: ``RSS ≤ RSS_min·exp(χ²(level; 1)/n)``).
    threshold
        The RSS at the bounds.
    rss_min, df, n
        Least-squares RSS, residual df and number of points of the curve.
    scale
        ``"log"`` when the parameter is profiled on the log scale (``ec50``), else ``"linear"``.
    message
        Empty, or why a bound is missing.
    """

    parameter: str
    estimate: float
    lower: float
    upper: float
    level: float
    method: str
    threshold: float
    rss_min: float
    df: int
    n: int
    scale: str
    message: str = ""


class _Profiler:
    """RSS profile of one parameter of one curve, re-optimising the others."""

    def __init__(self, model: Model, dose: Array, response: Array, theta_hat: Array,
                 j: int) -> None:
        self.model = model
        self.j = j
        self.name = PARAM_NAMES[j]
        self.theta_hat = theta_hat
        self.p4 = _pack1(dose, response, 4)
        self.p1 = _pack1(dose, response, 1)
        self.cache: dict[float, tuple[float, Array]] = {}
        self.last = theta_hat.copy()

    def _fixed_model(self, v: float) -> Model:
        value = float(np.exp(v)) if self.name == "e" else float(v)
        return self.model.with_fixed({self.name: value})

    def __call__(self, v: float) -> float:
        v = float(v)
        if v in self.cache:
            return self.cache[v][0]
        mdl = self._fixed_model(v)
        starts = [self.last.copy(), self.theta_hat.copy()]
        grid = _lm.grid_starts(mdl, self.p1, n_best=2)[:, 0, :]
        starts += [grid[0], grid[1]]
        th0 = np.stack(starts)
        th0[:, self.j] = v
        res = _lm.levenberg_marquardt(mdl, th0, self.p4)
        k = int(np.nanargmin(np.where(np.isfinite(res.rss), res.rss, np.inf)))
        rss = float(res.rss[k])
        self.last = res.theta[k].copy()
        self.cache[v] = (rss, self.last)
        return rss


def profile_ci(
    source: DoseResponseFit | pd.DataFrame,
    *,
    parameter: str = "ec50",
    level: float = 0.95,
    curve: int | Mapping[str, object] | object = 0,
    method: str = "F",
    dose: str | None = None,
    response: str | None = None,
    model: str | Model = "ll4",
    fixed: Mapping[str, float] | None = None,
) -> ProfileCI:
    """Profile-likelihood confidence interval of a parameter of one fitted curve.

    The parameter is held at trial values while the others are re-optimised
    (Levenberg–Marquardt, warm-started); the bounds are where the profiled RSS crosses the
    threshold (Brent's root finder). ``ec50`` is profiled on the log scale, the others on
    their own scale. Unlike the delta-method CI (estimate ± t·SE), the profile CI follows
    the curvature of the RSS surface and is asymmetric.

    Parameters
    ----------
    source
        A :class:`~preclin.doseresponse.fit.DoseResponseFit`, or a long table to fit first
        (then ``dose`` and ``response`` are required, and ``model``/``fixed`` apply).
    parameter
        ``ec50`` (default), ``hill``, ``bottom``, ``top`` or ``asym`` (drc names work too).
    level
        Confidence level (0 < level < 1).
    curve
        Which curve of the fit: row position (default 0), a mapping of grouping columns to
        values, or the value of a single grouping column.
    method
        ``"F"`` (GraphPad Prism): ``RSS(θ) = RSS_min·(1 + F(level; 1, df)/df)``; or ``"LR"``:
        ``RSS(θ) = RSS_min·exp(χ²(level; 1)/n)`` (Gaussian likelihood ratio).
    dose, response, model, fixed
        Used only when ``source`` is a table.

    Returns
    -------
    ProfileCI

    Raises
    ------
    InputError
        Unknown parameter or method, a fixed parameter, a bad level, a missing curve.

    Notes
    -----
    The profile uses unweighted least squares on ``result.points`` (fits with case weights
    are not supported) and the curve's own RSS and df, also when the fit pooled variances.
    """
    if isinstance(source, pd.DataFrame):
        if dose is None or response is None:
            raise InputError("profile_ci on a table needs dose= and response= column names")
        result = fit(source, dose=dose, response=response, model=model, fixed=fixed)
    else:
        result = source
    if not 0 < level < 1:
        raise InputError(f"level must be between 0 and 1, got {level}")
    meth = str(method).upper()
    if meth not in ("F", "LR"):
        raise InputError(f"method must be 'F' or 'LR', got {method!r}")
    name = _internal_name(parameter)
    mdl = result.model
    public = PUBLIC_NAMES[name]
    if name not in mdl.free:
        raise InputError(f"parameter '{public}' is not estimated by model {mdl.name}")
    pos = _select_row(result, curve)
    row = result.table.iloc[pos]
    x, y = _curve_points(result, pos)
    theta = _theta_row(row)
    n = int(x.size)
    k = mdl.n_free
    df = n - k
    scale = "log" if name == "e" else "linear"
    est = float(row[public])
    nan = float("nan")
    if df <= 0 or not np.all(np.isfinite(theta[:4])) or not np.isfinite(row["rss"]):
        return ProfileCI(public, est, nan, nan, level, meth, nan, float(row["rss"]), df, n,
                         scale, "curve not fitted or no residual degrees of freedom")
    # refit at the reported optimum so that the profile and the minimum are consistent
    p1 = _pack1(x, y)
    res0 = _lm.levenberg_marquardt(mdl, theta[None, :], p1)
    if res0.rss[0] <= float(row["rss"]):
        theta = res0.theta[0]
    rss_min = float(_lm.rss_of(mdl, theta[None, :], p1)[0])
    if meth == "F":
        thr = rss_min * (1.0 + float(sps.f.ppf(level, 1, df)) / df)
    else:
        thr = rss_min * float(np.exp(sps.chi2.ppf(level, 1) / n))
    j = PARAM_NAMES.index(name)
    prof = _Profiler(mdl, x, y, theta, j)
    v0 = float(theta[j])
    prof.cache[v0] = (rss_min, theta.copy())
    se_col = f"{public}_se"
    se = float(row[se_col]) if se_col in row.index else nan
    if name == "e":
        se = se / est if np.isfinite(se) and est > 0 else nan
    if not np.isfinite(se) or se <= 0:
        se = 0.1 * max(abs(v0), 0.1)
    lo_lim, hi_lim = _profile_limits(mdl, name, v0, x, y)
    bounds: list[float] = []
    msgs: list[str] = []
    for direction, limit in ((-1.0, lo_lim), (1.0, hi_lim)):
        prof.last = theta.copy()
        inside = v0
        step = 0.5 * se
        found = False
        for _ in range(60):
            v = v0 + direction * step
            if (direction < 0 and v <= limit) or (direction > 0 and v >= limit):
                v = limit
            r = prof(v)
            if r >= thr:
                found = True
                break
            inside = v
            if v == limit:
                break
            step *= 1.5
        if not found:
            bounds.append(nan)
            side = "lower" if direction < 0 else "upper"
            msgs.append(f"{side} bound not reached within the search range (open CI)")
            continue
        # warm start from the inside point for the root finder
        prof.last = prof.cache[inside][1].copy()
        root = optimize.brentq(lambda t: prof(t) - thr, min(inside, v), max(inside, v),
                               xtol=1e-13, rtol=1e-13, maxiter=200)
        bounds.append(float(root))
    lower, upper = bounds
    if name == "e":
        lower, upper = float(np.exp(lower)), float(np.exp(upper))
    return ProfileCI(public, est, lower, upper, level, meth, float(thr), rss_min, df, n,
                     scale, "; ".join(msgs))


def _profile_limits(mdl: Model, name: str, v0: float, x: Array, y: Array) -> tuple[float, float]:
    """Search range of a profiled (internal) parameter, as kept by the fitter."""
    pos = x[x > 0]
    if name == "e":
        lo = float(np.log(pos.min())) if pos.size else v0 - 10
        hi = float(np.log(pos.max())) if pos.size else v0 + 10
        return lo - _lm.LOG_E_MARGIN, hi + _lm.LOG_E_MARGIN
    if name == "b":
        if v0 > 0:
            return 1e-8, _lm.MAX_ABS_B
        return -_lm.MAX_ABS_B, -1e-8
    if name == "f":
        return 1e-3, 1e3
    yr = float(np.ptp(y)) or 1.0
    return float(y.min() - _lm.ASYMPTOTE_MARGIN * yr), float(y.max() + _lm.ASYMPTOTE_MARGIN * yr)


def profile_ci_table(
    result: DoseResponseFit,
    *,
    parameters: Iterable[str] = ("ec50",),
    level: float = 0.95,
    method: str = "F",
) -> pd.DataFrame:
    """Profile-likelihood CIs of the given parameters for every curve of a fit.

    Returns one row per curve and parameter: the grouping columns, ``parameter``,
    ``estimate``, ``lower``, ``upper``, ``level``, ``method``, ``threshold``, ``rss_min``,
    ``df``, ``message`` (see :func:`profile_ci`).
    """
    rows: list[dict[str, object]] = []
    for pos in range(len(result.table)):
        keys = {c: result.table.iloc[pos][c] for c in result.by}
        for par in parameters:
            ci = profile_ci(result, parameter=par, level=level, curve=pos, method=method)
            rows.append(keys | {
                "parameter": ci.parameter, "estimate": ci.estimate, "lower": ci.lower,
                "upper": ci.upper, "level": ci.level, "method": ci.method,
                "threshold": ci.threshold, "rss_min": ci.rss_min, "df": ci.df,
                "message": ci.message,
            })
    return pd.DataFrame(rows)


# ----------------------------------------------------------------------------- selection
def model_select(
    data: pd.DataFrame,
    *,
    dose: str,
    response: str,
    models: Iterable[str | Model] = DEFAULT_SELECT_MODELS,
    by: str | Sequence[str] | None = None,
    fixed: Mapping[str, float] | None = None,
    weights: str | None = None,
) -> pd.DataFrame:
    """Fit several models to every curve and rank them by AIC, like drc ``mselect``.

    Parameters
    ----------
    data, dose, response, by, fixed, weights
        As for :func:`~preclin.doseresponse.fit.fit`.
    models
        Models to compare (default LL.4, LL.3, LL.5, W1.4, W2.4, W1.3, W2.3).

    Returns
    -------
    pandas.DataFrame
        One row per curve and model, sorted by curve and then AIC, with columns: the
        grouping columns, ``model``, ``drc_name``, ``status``, ``loglik``, ``aic``
        (drc's IC: −2ℓ + 2(k + 1)), ``bic``, ``rss``, ``df``, ``lack_of_fit_p`` (drc's
        "Lack of fit": F test against one mean per dose), ``residual_var`` (drc's
        "Res var" = RSS/df), ``rank`` (1 = lowest AIC within the curve; curves that could
        not be fitted get no rank).
    """
    by_cols = _as_list(by)
    tables: list[pd.DataFrame] = []
    order = 0
    for m in models:
        mdl = get_model(m, fixed)
        res = fit(data, dose=dose, response=response, by=by_cols or None, model=mdl, ed=None,
                  weights=weights)
        t = res.table
        out = t[by_cols].copy() if by_cols else pd.DataFrame(index=t.index)
        out["model"] = mdl.name
        out["drc_name"] = mdl.drc_name
        out["status"] = t["status"]
        out["loglik"] = t["loglik"]
        out["aic"] = t["aic"]
        out["bic"] = t["bic"]
        out["rss"] = t["rss"]
        out["df"] = t["df"]
        out["lack_of_fit_p"] = t["lof_p"]
        out["residual_var"] = t["rss"] / t["df"]
        out["_curve"] = np.arange(len(t))
        out["_order"] = order
        order += 1
        tables.append(out)
    allt = pd.concat(tables, ignore_index=True)
    usable = np.isfinite(allt["aic"].to_numpy(dtype=float)) & (allt["df"] > 0).to_numpy()
    aic_key = np.where(usable, allt["aic"].to_numpy(dtype=float), np.inf)
    allt["_aic"] = aic_key
    allt = allt.sort_values(["_curve", "_aic", "_order"], kind="stable")
    rank = allt.groupby("_curve").cumcount() + 1
    allt["rank"] = np.where(usable[allt.index], rank, np.nan)
    allt["rank"] = allt["rank"].astype("Int64")
    return allt.drop(columns=["_curve", "_order", "_aic"]).reset_index(drop=True)


# ----------------------------------------------------------------------------- F tests
@dataclass(frozen=True)
class FTestResult:
    """Extra-sum-of-squares F test of a reduced model against a fuller one.

    ``f = ((rss_reduced − rss_full)/(df_reduced − df_full)) / (rss_full/df_full)``,
    ``p = P(F(df_num, df_den) ≥ f)``.
    """

    rss_reduced: float
    df_reduced: float
    rss_full: float
    df_full: float
    f: float
    df_num: float
    df_den: float
    p: float


def f_test_nested(
    reduced_rss: float, reduced_df: float, full_rss: float, full_df: float
) -> FTestResult:
    """Extra-sum-of-squares F test (drc ``anova`` for two nested fits).

    Parameters
    ----------
    reduced_rss, reduced_df
        RSS and residual df of the model with fewer parameters.
    full_rss, full_df
        RSS and residual df of the fuller model (``full_df < reduced_df``).

    Returns
    -------
    FTestResult

    Raises
    ------
    InputError
        When the models are not nested by their degrees of freedom.
    """
    rr, dr, rf, dfull = float(reduced_rss), float(reduced_df), float(full_rss), float(full_df)
    if not dr > dfull:
        raise InputError(
            f"the reduced model must have more residual df than the full one ({dr:g} vs {dfull:g})"
        )
    if not dfull > 0:
        raise InputError("the full model has no residual degrees of freedom")
    num = dr - dfull
    if rf <= 0:
        fval = np.inf if rr > 0 else 0.0
    else:
        fval = ((rr - rf) / num) / (rf / dfull)
    p = float(sps.f.sf(max(fval, 0.0), num, dfull))
    return FTestResult(rr, dr, rf, dfull, float(fval), num, dfull, p)


def compare_nested(
    data: pd.DataFrame,
    *,
    dose: str,
    response: str,
    reduced: str | Model = "ll3",
    full: str | Model = "ll4",
    by: str | Sequence[str] | None = None,
    reduced_fixed: Mapping[str, float] | None = None,
    full_fixed: Mapping[str, float] | None = None,
    pooled: bool = False,
) -> pd.DataFrame:
    """F test of a reduced model against a fuller one for every curve (drc ``anova``).

    Parameters
    ----------
    data, dose, response, by
        As for :func:`~preclin.doseresponse.fit.fit`.
    reduced, full
        Models, the reduced one nested in the full one (e.g. ``ll3`` in ``ll4``, or ``ll4``
        with ``reduced_fixed={"bottom": 0}``).
    reduced_fixed, full_fixed
        Fixed parameters of either model.
    pooled
        Test all curves together (sum of RSS and df over curves, as drc does for a
        ``curveid`` fit) instead of one test per curve.

    Returns
    -------
    pandas.DataFrame
        Grouping columns (absent when pooled), ``reduced``, ``full``, ``rss_reduced``,
        ``df_reduced``, ``rss_full``, ``df_full``, ``f``, ``p``.
    """
    by_cols = _as_list(by)
    r_mdl = get_model(reduced, reduced_fixed)
    f_mdl = get_model(full, full_fixed)
    if r_mdl.n_free >= f_mdl.n_free:
        raise InputError(
            f"model {r_mdl.name} ({r_mdl.n_free} parameters) is not nested in "
            f"{f_mdl.name} ({f_mdl.n_free} parameters)"
        )
    rt = fit(data, dose=dose, response=response, by=by_cols or None, model=r_mdl, ed=None).table
    ft = fit(data, dose=dose, response=response, by=by_cols or None, model=f_mdl, ed=None).table
    if pooled:
        ok = np.isfinite(rt["rss"]) & np.isfinite(ft["rss"])
        res = f_test_nested(rt.loc[ok, "rss"].sum(), rt.loc[ok, "df"].sum(),
                            ft.loc[ok, "rss"].sum(), ft.loc[ok, "df"].sum())
        return pd.DataFrame([_ftest_row(r_mdl, f_mdl, res)])
    rows = []
    for i in range(len(rt)):
        keys = {c: rt.iloc[i][c] for c in by_cols}
        rr, dr, rf, dff = (rt.iloc[i]["rss"], rt.iloc[i]["df"], ft.iloc[i]["rss"],
                           ft.iloc[i]["df"])
        if np.all(np.isfinite([rr, dr, rf, dff])) and dff > 0:
            rows.append(keys | _ftest_row(r_mdl, f_mdl, f_test_nested(rr, dr, rf, dff)))
        else:
            rows.append(keys | {"reduced": r_mdl.name, "full": f_mdl.name,
                                "rss_reduced": rr, "df_reduced": dr, "rss_full": rf,
                                "df_full": dff, "f": np.nan, "p": np.nan})
    return pd.DataFrame(rows)


def _ftest_row(r: Model, f: Model, res: FTestResult) -> dict[str, object]:
    return {"reduced": r.name, "full": f.name, "rss_reduced": res.rss_reduced,
            "df_reduced": res.df_reduced, "rss_full": res.rss_full, "df_full": res.df_full,
            "f": res.f, "p": res.p}


def effect_test(result: DoseResponseFit) -> pd.DataFrame:
    """F test of every fitted curve against a flat line (any dose effect at all).

    The flat line is the mean response; ``f = ((RSS₀ − RSS)/(k − 1))/(RSS/(n − k))``. The
    same test gives the ``p_effect`` column of the fit table (unweighted here).

    Returns
    -------
    pandas.DataFrame
        Grouping columns, ``rss_flat``, ``rss``, ``df_num``, ``df_den``, ``f``, ``p``.
    """
    k = result.model.n_free
    rows = []
    for pos in range(len(result.table)):
        row = result.table.iloc[pos]
        keys = {c: row[c] for c in result.by}
        _, y = _curve_points(result, pos)
        rss = float(row["rss"])
        n = y.size
        rss0 = float(np.sum((y - y.mean()) ** 2)) if n else np.nan
        if n - k > 0 and np.isfinite(rss) and k > 1:
            res = f_test_nested(rss0, n - 1, rss, n - k)
            rows.append(keys | {"rss_flat": rss0, "rss": rss, "df_num": res.df_num,
                                "df_den": res.df_den, "f": res.f, "p": res.p})
        else:
            rows.append(keys | {"rss_flat": rss0, "rss": rss, "df_num": np.nan,
                                "df_den": np.nan, "f": np.nan, "p": np.nan})
    return pd.DataFrame(rows)


# ----------------------------------------------------------------------------- potency
@dataclass(frozen=True)
class RelativePotency:
    """Ratio of two effective doses, ``ED_num(level_num) / ED_den(level_den)`` (drc EDcomp).

    Attributes
    ----------
    numerator, denominator
        The curves (values of the grouping columns).
    levels
        Effect levels of the numerator and denominator EDs.
    ed_numerator, ed_denominator
        The two EDs.
    estimate, se
        The ratio and its delta-method standard error.
    lower, upper
        CI bounds (NaN for ``interval="none"``, or when Fieller's interval is unbounded).
    interval
        ``"delta"``, ``"fieller"`` or ``"none"``.
    level
        Confidence level.
    df
        Degrees of freedom of the t quantile (residual df of the joint fit).
    p_value
        Two-sided t test of ratio = 1 (delta method), as drc prints for ``interval="none"``.
    """

    numerator: object
    denominator: object
    levels: tuple[float, float]
    ed_numerator: float
    ed_denominator: float
    estimate: float
    se: float
    lower: float
    upper: float
    interval: str
    level: float
    df: float
    p_value: float


def relative_potency(
    result: DoseResponseFit,
    numerator: object,
    denominator: object,
    *,
    levels: tuple[float, float] | float = (50.0, 50.0),
    interval: str = "delta",
    level: float = 0.95,
    pool: bool = True,
) -> RelativePotency:
    """Relative potency ``ED_num / ED_den`` with a delta-method or Fieller CI (drc EDcomp).

    The curves of one fit are independent, so the joint covariance is block diagonal;
    with ``pool_variance=True`` in :func:`~preclin.doseresponse.fit.fit` (drc's single
    ``drm`` call with ``curveid``) both blocks share one residual variance and the t
    quantile uses the pooled residual df, which is what drc's EDcomp does.

    Parameters
    ----------
    result
        A fit with at least two curves (or one curve and two levels).
    numerator, denominator
        The curves: the value of the single grouping column, a tuple of values, a mapping
        of grouping columns to values, or a row position.
    levels
        ED levels of numerator and denominator (a single number for both).
    interval
        ``"delta"``: ratio ± t·SE (SE by the delta method); ``"fieller"``: Fieller's
        theorem for a ratio of two estimates; ``"none"``: no CI.
    level
        Confidence level.
    pool
        If the fit did not pool variances, pool them here over all fitted curves (RSS sum
        over df sum), rescaling the covariances, as drc would. ``False`` keeps each
        curve's own variance and uses the sum of the two curves' df.

    Returns
    -------
    RelativePotency
    """
    if isinstance(levels, (int, float)):
        lv = (float(levels), float(levels))
    else:
        lv = (float(levels[0]), float(levels[1]))
    for x in lv:
        if not 0 < x < 100:
            raise InputError(f"ED level {x:g} must be between 0 and 100 (exclusive)")
    if interval not in ("delta", "fieller", "none"):
        raise InputError(f"interval must be 'delta', 'fieller' or 'none', got {interval!r}")
    if not 0 < level < 1:
        raise InputError(f"level must be between 0 and 1, got {level}")
    i1 = _select_row(result, numerator)
    i2 = _select_row(result, denominator)
    if i1 == i2 and lv[0] == lv[1]:
        raise InputError("numerator and denominator are the same curve at the same level")
    table = result.table
    mdl = result.model
    vcov = result.vcov.copy()
    df_sigma = table["df_sigma"].to_numpy(dtype=float)
    df_res = table["df"].to_numpy(dtype=float)
    already = np.nanmax(df_sigma - df_res) > 0 if len(table) > 1 else False
    if pool and not already:
        ok = np.isfinite(table["rss"].to_numpy(dtype=float)) & (df_res > 0) & table[
            "converged"].to_numpy(dtype=bool)
        s2_pool = float(table.loc[ok, "rss"].sum() / df_res[ok].sum())
        s2_own = (table["rss"] / table["df"]).to_numpy(dtype=float)
        vcov = vcov * (s2_pool / s2_own)[:, None, None]
        df = float(df_res[ok].sum())
    elif already:
        df = float(df_sigma[i1])
    else:
        df = float(df_res[i1] + (df_res[i2] if i2 != i1 else 0.0))
    e1, g1 = ed_gradient(mdl, _theta_row(table.iloc[i1]), lv[0])
    e2, g2 = ed_gradient(mdl, _theta_row(table.iloc[i2]), lv[1])
    v11 = float(g1 @ vcov[i1] @ g1)
    v22 = float(g2 @ vcov[i2] @ g2)
    v12 = float(g1 @ vcov[i1] @ g2) if i1 == i2 else 0.0
    ratio = e1 / e2
    var = (v11 - 2 * ratio * v12 + ratio**2 * v22) / e2**2
    se = float(np.sqrt(var)) if var >= 0 else float("nan")
    tq = float(sps.t.ppf(1 - (1 - level) / 2, df))
    lower = upper = float("nan")
    if interval == "delta":
        lower, upper = ratio - tq * se, ratio + tq * se
    elif interval == "fieller":
        lower, upper = _fieller(e1, e2, v11, v22, v12, tq)
    tstat = (ratio - 1) / se if se > 0 else float("nan")
    pval = float(2 * sps.t.sf(abs(tstat), df)) if np.isfinite(tstat) else float("nan")
    name = [c for c in result.by]
    lab1 = _label(table.iloc[i1], name, i1)
    lab2 = _label(table.iloc[i2], name, i2)
    return RelativePotency(lab1, lab2, lv, e1, e2, float(ratio), se, float(lower),
                           float(upper), interval, level, df, pval)


def _label(row: pd.Series, by: list[str], pos: int) -> object:
    if not by:
        return pos
    if len(by) == 1:
        return row[by[0]]
    return tuple(row[c] for c in by)


def _fieller(m1: float, m2: float, v11: float, v22: float, v12: float,
             tq: float) -> tuple[float, float]:
    """Fieller CI of ``m1/m2`` (Encyclopedia of Statistical Sciences form, as drc)."""
    t2 = tq * tq
    a = m1 * m2 - t2 * v12
    den = m2 * m2 - t2 * v22
    disc = a * a - (m1 * m1 - t2 * v11) * den
    if den <= 0 or disc < 0:
        return float("nan"), float("nan")  # unbounded: the denominator is not significant
    root = float(np.sqrt(disc))
    return (a - root) / den, (a + root) / den


# ----------------------------------------------------------------------------- global fit
@dataclass(frozen=True)
class GlobalFit:
    """Result of :func:`global_fit`.

    Attributes
    ----------
    table
        One row per curve: the curve column, ``n``, the parameters (``bottom``, ``top``,
        ``ec50``, ``hill``, and ``asym`` for LL.5) and their standard errors ``*_se``.
    parameters
        One row per estimated parameter: ``name`` (``bottom`` for a shared one,
        ``hill[Glyphosate]`` for a per-curve one), ``parameter``, ``curve`` (empty when
        shared), ``estimate``, ``se`` (``ec50`` in dose units).
    rss, df, sigma, loglik, aic
        Goodness of fit of the joint model (one residual variance).
    vcov
        Covariance of the estimated parameters in the order of ``parameters``.
    model, curve, shared
        Model, curve column and shared parameters (public names).
    converged
        Whether the optimiser reported convergence.
    """

    table: pd.DataFrame
    parameters: pd.DataFrame
    rss: float
    df: int
    sigma: float
    loglik: float
    aic: float
    vcov: Array
    model: Model
    curve: str
    shared: tuple[str, ...]
    converged: bool
    n: int = 0
    extra: dict[str, object] = field(default_factory=dict)


def global_fit(
    data: pd.DataFrame,
    *,
    dose: str,
    response: str,
    curve: str,
    model: str | Model = "ll4",
    shared: Iterable[str] = ("bottom", "top"),
    fixed: Mapping[str, float] | None = None,
) -> GlobalFit:
    """Fit several curves at once with some parameters shared (drc ``pmodels``).

    Parameters named in ``shared`` take one value for all curves; the other free
    parameters get one value per curve. The stacked least-squares problem is solved with
    :func:`scipy.optimize.least_squares` (analytic Jacobian) from several starts built from
    the separate fits. Standard errors use drc's covariance ``σ²·M⁻¹`` (``M`` half the full
    Hessian of the RSS) with ``σ² = RSS/df`` of the joint model.

    Parameters
    ----------
    data, dose, response
        Long table and its dose/response columns.
    curve
        Column identifying the curves.
    model, fixed
        Model and fixed parameters, as for :func:`~preclin.doseresponse.fit.fit`.
    shared
        Public (or drc) names of the parameters common to all curves, e.g.
        ``("bottom", "top")`` or, for a parallel-line assay, ``("hill", "bottom", "top")``.

    Returns
    -------
    GlobalFit
    """
    mdl = get_model(model, fixed)
    shared_int = tuple(dict.fromkeys(_internal_name(s) for s in shared))
    for s in shared_int:
        if s not in mdl.free:
            raise InputError(f"shared parameter '{PUBLIC_NAMES[s]}' is not estimated by "
                             f"model {mdl.name}")
    sep = fit(data, dose=dose, response=response, by=curve, model=mdl, ed=None)
    table = sep.table
    n_c = len(table)
    if n_c < 1:
        raise InputError("no curves to fit")
    pts = sep.points
    codes = np.full(len(pts), -1, dtype=np.int64)
    for i in range(n_c):
        val = table.iloc[i][curve]
        m = pts[curve].isna().to_numpy() if pd.isna(val) else (pts[curve] == val).to_numpy()
        codes[m] = i
    keep = codes >= 0
    x = pts["dose"].to_numpy(dtype=float)[keep]
    y = pts["response"].to_numpy(dtype=float)[keep]
    codes = codes[keep]
    with np.errstate(divide="ignore"):
        logx = np.where(x > 0, np.log(np.where(x > 0, x, 1.0)), -np.inf)
    free = list(mdl.free)
    per = [p for p in free if p not in shared_int]
    n_glob = len(shared_int) + len(per) * n_c
    # index of each (curve, free param) in the global vector
    index = np.zeros((n_c, len(free)), dtype=np.int64)
    for jf, p in enumerate(free):
        if p in shared_int:
            index[:, jf] = shared_int.index(p)
        else:
            index[:, jf] = len(shared_int) + per.index(p) * n_c + np.arange(n_c)
    base = np.array([_theta_row(table.iloc[i]) for i in range(n_c)])
    fcols = [PARAM_NAMES.index(p) for p in free]
    theta_fixed = mdl.theta_full(np.zeros((1, len(free))))[0]

    def unpack(g: Array) -> Array:
        th = np.tile(theta_fixed, (n_c, 1))
        th[:, fcols] = g[index]
        return th

    def resid(g: Array) -> Array:
        th = unpack(g)
        return np.asarray(y - mdl.response(th[codes], logx[:, None])[:, 0])

    def jac(g: Array) -> Array:
        th = unpack(g)
        _, jj = mdl.jacobian(th[codes], logx[:, None])
        jj = jj[:, 0, :]
        out = np.zeros((y.size, n_glob))
        rows = np.arange(y.size)
        for jf in range(len(free)):
            np.add.at(out, (rows, index[codes, jf]), -jj[:, jf])
        return out

    starts = _global_starts(base, free, shared_int, per, n_c, fcols)
    best: optimize.OptimizeResult | None = None
    for g0 in starts:
        if not np.all(np.isfinite(g0)):
            continue
        try:
            res = optimize.least_squares(resid, g0, jac=jac, method="lm", xtol=1e-14,
                                         ftol=1e-14, gtol=1e-14, max_nfev=4000)
        except (ValueError, np.linalg.LinAlgError):
            continue
        if best is None or res.cost < best.cost * (1 - 1e-12):
            best = res
    if best is None:
        raise InputError("the shared-parameter model could not be fitted (no finite start)")
    g = np.asarray(best.x, dtype=float)
    r = resid(g)
    rss = float(r @ r)
    n = int(y.size)
    df = n - n_glob
    s2 = rss / df if df > 0 else float("nan")
    hess = _global_hessian(jac, resid, g)
    try:
        inv = np.linalg.inv(hess)
    except np.linalg.LinAlgError:
        inv = np.full_like(hess, np.nan)
    # covariance with e in dose units
    tr = np.ones(n_glob)
    th = unpack(g)
    for jf, p in enumerate(free):
        if p == "e":
            tr[index[:, jf]] = np.exp(th[:, 3])
    vcov = s2 * inv * np.outer(tr, tr)
    se_glob = np.sqrt(np.where(np.diag(vcov) >= 0, np.diag(vcov), np.nan))
    nat = th.copy()
    nat[:, 3] = np.exp(th[:, 3])
    out = pd.DataFrame({curve: table[curve].to_numpy()})
    out["n"] = np.bincount(codes, minlength=n_c)
    order = ["c", "d", "e", "b"] + (["f"] if mdl.five else [])
    for p in order:
        out[PUBLIC_NAMES[p]] = nat[:, PARAM_NAMES.index(p)]
    for p in order:
        if p in free:
            out[f"{PUBLIC_NAMES[p]}_se"] = se_glob[index[:, free.index(p)]]
        else:
            out[f"{PUBLIC_NAMES[p]}_se"] = np.nan
    prow = []
    for p in shared_int:
        k = shared_int.index(p)
        est = float(np.exp(g[k])) if p == "e" else float(g[k])
        prow.append({"name": PUBLIC_NAMES[p], "parameter": PUBLIC_NAMES[p], "curve": "",
                     "estimate": est, "se": se_glob[k]})
    for p in per:
        for i in range(n_c):
            k = len(shared_int) + per.index(p) * n_c + i
            est = float(np.exp(g[k])) if p == "e" else float(g[k])
            lab = table.iloc[i][curve]
            prow.append({"name": f"{PUBLIC_NAMES[p]}[{lab}]", "parameter": PUBLIC_NAMES[p],
                         "curve": lab, "estimate": est, "se": se_glob[k]})
    loglik = -n / 2 * (np.log(2 * np.pi) + np.log(rss / n) + 1) if rss > 0 else np.inf
    aic = -2 * loglik + 2 * (n_glob + 1)
    return GlobalFit(
        table=out, parameters=pd.DataFrame(prow), rss=rss, df=df,
        sigma=float(np.sqrt(s2)), loglik=float(loglik), aic=float(aic), vcov=vcov, model=mdl,
        curve=curve, shared=tuple(PUBLIC_NAMES[s] for s in shared_int),
        converged=bool(best.success), n=n,
        extra={"separate_rss": float(table["rss"].sum()),
               "separate_df": float(table["df"].sum())},
    )


def _global_starts(base: Array, free: list[str], shared: tuple[str, ...], per: list[str],
                   n_c: int, fcols: list[int]) -> list[Array]:
    """Starting vectors: shared values from each curve's separate fit and their median."""
    cands: list[Array] = []
    choices: list[Array] = []
    ok = np.all(np.isfinite(base[:, fcols]), axis=1)
    rows = base[ok] if ok.any() else np.nan_to_num(base, nan=1.0)
    choices.append(np.median(rows, axis=0))
    choices.extend(list(rows))
    per_vals = np.where(np.isfinite(base), base, np.median(rows, axis=0)[None, :])
    for ch in choices:
        g = [ch[PARAM_NAMES.index(p)] for p in shared]
        for p in per:
            g.extend(per_vals[:, PARAM_NAMES.index(p)])
        cands.append(np.array(g, dtype=float))
    uniq: list[Array] = []
    for c in cands:
        if not any(np.allclose(c, u) for u in uniq):
            uniq.append(c)
    return uniq


def _global_hessian(jac: Callable[[Array], Array], resid: Callable[[Array], Array],
                    g: Array) -> Array:
    """Half the full Hessian of the RSS: JᵀJ − Σ r ∇²f (central differences of J)."""
    jj = -jac(g)  # d f / d g
    r = resid(g)
    h = jj.T @ jj
    second = np.zeros_like(h)
    for k in range(g.size):
        step = 1e-5 * max(abs(g[k]), 1e-2)
        gp = g.copy()
        gm = g.copy()
        gp[k] += step
        gm[k] -= step
        dj = (-jac(gp) + jac(gm)) / (2 * step)
        second[k, :] = r @ dj
    second = 0.5 * (second + second.T)
    return np.asarray(h - second)


def global_f_test(
    data: pd.DataFrame,
    *,
    dose: str,
    response: str,
    curve: str,
    model: str | Model = "ll4",
    shared: Iterable[str] = ("bottom", "top"),
    fixed: Mapping[str, float] | None = None,
) -> FTestResult:
    """F test of the shared-parameter model against separate fits of every curve.

    Reduced model: :func:`global_fit` with ``shared`` parameters common to all curves;
    full model: every curve fitted on its own (sum of RSS and df). A small p means the
    curves do not share those parameters (drc: ``anova(reduced, full)``).
    """
    gf = global_fit(data, dose=dose, response=response, curve=curve, model=model,
                    shared=shared, fixed=fixed)
    full_rss = float(gf.extra["separate_rss"])  # type: ignore[arg-type]
    full_df = float(gf.extra["separate_df"])  # type: ignore[arg-type]
    return f_test_nested(gf.rss, gf.df, full_rss, full_df)
