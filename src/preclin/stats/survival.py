"""Survival: Kaplan–Meier, median survival, log-rank, hazard ratios — equal to R ``survival``.

* :func:`kaplan_meier` — product-limit estimate with Greenwood standard errors and 95 %
  CIs of type ``"log"`` (R ``survfit`` default: ``S·exp(±z·se(H))``, upper bound capped at 1).
* :func:`median_survival` — median and its CI read off the estimate and the CI curves with
  R's ``quantile.survfit`` rule (the midpoint of a flat stretch at exactly 0.5).
* :func:`logrank` — ``survdiff`` (rho = 0), optionally stratified.
* :func:`hazard_ratio` — Cox model (Efron ties, R ``coxph`` default; Wald CI) or the
  Mantel–Haenszel log-rank estimate ``exp((O−E)/V)`` Prism reports.

Times must be ≥ 0, events 0 (censored) or 1 (event).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import stats as st

__all__ = [
    "kaplan_meier",
    "median_survival",
    "logrank",
    "LogRankResult",
    "hazard_ratio",
    "HazardRatio",
    "KM_COLUMNS",
    "MEDIAN_COLUMNS",
]

KM_COLUMNS = {
    "group": "group level",
    "time": "distinct time (events and censorings)",
    "n_risk": "number at risk just before the time",
    "n_event": "events at the time",
    "n_censor": "censored at the time",
    "surv": "Kaplan-Meier survival just after the time",
    "std_err": "Greenwood standard error of surv (R summary.survfit std.err)",
    "lower": "lower 95 % CI, conf.type 'log'",
    "upper": "upper 95 % CI, conf.type 'log' (capped at 1)",
}

MEDIAN_COLUMNS = {
    "group": "group level",
    "n": "subjects",
    "events": "events",
    "median": "median survival (NaN if survival never falls to 0.5)",
    "median_lower": "lower 95 % CI of the median (where the lower CI curve reaches 0.5)",
    "median_upper": "upper 95 % CI of the median (where the upper CI curve reaches 0.5; "
                    "NaN = not reached)",
}

ArrayLike = Sequence[float] | np.ndarray


def _check(time: ArrayLike, event: ArrayLike) -> tuple[np.ndarray, np.ndarray]:
    t = np.asarray(time, dtype=float)
    e = np.asarray(event, dtype=float)
    if t.shape != e.shape:
        raise ValueError("time and event must have the same length")
    if np.any(~np.isfinite(t)) or np.any(t < 0):
        raise ValueError("times must be finite and >= 0")
    if np.any((e != 0) & (e != 1)):
        raise ValueError("events must be 0 (censored) or 1 (event)")
    return t, e


def _groups(group: ArrayLike | None, n: int) -> tuple[np.ndarray, list[object]]:
    if group is None:
        g = np.zeros(n, dtype=object)
        g[:] = "all"
    else:
        g = np.asarray(group, dtype=object)
        if len(g) != n:
            raise ValueError("group must have the same length as time")
    levels = list(dict.fromkeys(g.tolist()))
    return g, levels


def _km_one(t: np.ndarray, e: np.ndarray, conf_level: float) -> pd.DataFrame:
    times = np.unique(t)
    n_event = np.array([e[t == u].sum() for u in times])
    n_total = np.array([(t == u).sum() for u in times])
    n_risk = np.array([(t >= u).sum() for u in times], dtype=float)
    surv = np.cumprod(1.0 - n_event / n_risk)
    with np.errstate(divide="ignore", invalid="ignore"):
        inc = np.where(n_event > 0, n_event / (n_risk * (n_risk - n_event)), 0.0)
        se_h = np.sqrt(np.cumsum(inc))  # se of the cumulative hazard (R fit$std.err)
        z = st.norm.ppf(1 - (1 - conf_level) / 2)
        lower = np.exp(np.log(surv) - z * se_h)
        upper = np.minimum(np.exp(np.log(surv) + z * se_h), 1.0)
    bad = (surv == 0) | ~np.isfinite(se_h)
    lower[bad] = np.nan
    upper[bad] = np.nan
    with np.errstate(invalid="ignore"):
        se_s = surv * se_h
    return pd.DataFrame({
        "time": times, "n_risk": n_risk.astype(int), "n_event": n_event.astype(int),
        "n_censor": (n_total - n_event).astype(int), "surv": surv,
        "std_err": se_s, "lower": lower, "upper": upper,
    })


def kaplan_meier(time: ArrayLike, event: ArrayLike, group: ArrayLike | None = None, *,
                 conf_level: float = 0.95) -> pd.DataFrame:
    """Kaplan–Meier estimate per group: one row per group and distinct time (:data:`KM_COLUMNS`).

    Equal to R ``summary(survfit(Surv(time, event) ~ group, conf.type = "log"),
    censored = TRUE)``.
    """
    t, e = _check(time, event)
    g, levels = _groups(group, len(t))
    parts = []
    for lev in levels:
        m = g == lev
        km = _km_one(t[m], e[m], conf_level)
        km.insert(0, "group", [lev] * len(km))
        parts.append(km)
    return pd.concat(parts, ignore_index=True)


def _findq(x: np.ndarray, y: np.ndarray, p: float, tol: float) -> float:
    """R survival:::findq for one probability: x times (first = 0), y = 1 − S."""
    ok = ~np.isnan(y)
    if not ok.any() or np.nanmax(y) < p:
        return math.nan
    xmax = x[-1]
    _, first = np.unique(y, return_index=True)  # drop duplicated y, keep the first
    keep = np.zeros(len(y), dtype=bool)
    keep[first] = True
    keep &= ok
    x, y = x[keep], y[keep]
    order = np.argsort(y, kind="stable")  # y is non-decreasing already
    x, y = x[order], y[order]

    def idx(shift: float) -> int | None:
        yy = y + shift
        if p < yy[0] or p > yy[-1]:
            return None
        return int(np.nonzero(yy >= p)[0][0])

    i1, i2 = idx(tol), idx(-tol)
    if abs(p - y[-1]) < tol and i1 is not None:
        return float((x[i1] + xmax) / 2)
    if i1 is None or i2 is None:
        return math.nan
    return float((x[i1] + x[i2]) / 2)


def median_survival(time: ArrayLike, event: ArrayLike, group: ArrayLike | None = None, *,
                    conf_level: float = 0.95) -> pd.DataFrame:
    """Median survival with its CI per group (:data:`MEDIAN_COLUMNS`).

    Equal to R ``quantile(survfit(...), 0.5)``: the first time the curve (or the lower /
    upper CI curve) is ≤ 0.5, the midpoint to the next time if it sits exactly at 0.5.
    """
    t, e = _check(time, event)
    g, levels = _groups(group, len(t))
    tol = math.sqrt(np.finfo(float).eps)
    rows = []
    for lev in levels:
        m = g == lev
        km = _km_one(t[m], e[m], conf_level)
        x = np.concatenate([[0.0], km["time"].to_numpy()])

        def q(col: str, km: pd.DataFrame = km, x: np.ndarray = x) -> float:
            y = np.concatenate([[0.0], 1.0 - km[col].to_numpy(dtype=float)])
            return _findq(x, y, 0.5, tol)

        rows.append({"group": lev, "n": int(m.sum()), "events": int(e[m].sum()),
                     "median": q("surv"), "median_lower": q("lower"),
                     "median_upper": q("upper")})
    return pd.DataFrame(rows, columns=list(MEDIAN_COLUMNS))


@dataclass(frozen=True)
class LogRankResult:
    """Log-rank test (R ``survdiff``, rho = 0).

    ``observed``/``expected`` per group level (summed over strata), ``chisq`` with
    ``df = groups − 1`` and its p value.
    """

    groups: tuple[object, ...]
    observed: tuple[float, ...]
    expected: tuple[float, ...]
    chisq: float
    df: int
    p_value: float
    variance: np.ndarray

    def as_frame(self) -> pd.DataFrame:
        """One row per group: group, observed, expected."""
        return pd.DataFrame({"group": list(self.groups), "observed": list(self.observed),
                             "expected": list(self.expected)})


def _logrank_parts(t: np.ndarray, e: np.ndarray, gi: np.ndarray,
                   k: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    obs = np.zeros(k)
    exp = np.zeros(k)
    var = np.zeros((k, k))
    for u in np.unique(t[e == 1]):
        at_risk = t >= u
        n_j = np.bincount(gi[at_risk], minlength=k).astype(float)
        d_j = np.bincount(gi[(t == u) & (e == 1)], minlength=k).astype(float)
        n = n_j.sum()
        d = d_j.sum()
        obs += d_j
        exp += d * n_j / n
        if n > 1:
            f = d * (n - d) / (n - 1) / n
            var += f * (np.diag(n_j) - np.outer(n_j, n_j) / n)
    return obs, exp, var


def logrank(time: ArrayLike, event: ArrayLike, group: ArrayLike,
            strata: ArrayLike | None = None) -> LogRankResult:
    """Log-rank test of equal survival across groups, stratified when ``strata`` is given.

    Equal to R ``survdiff(Surv(time, event) ~ group (+ strata(s)))``: the chi-square uses
    the first ``k − 1`` groups (the variance matrix is singular).
    """
    t, e = _check(time, event)
    g, levels = _groups(group, len(t))
    k = len(levels)
    if k < 2:
        raise ValueError("log-rank test needs at least 2 groups")
    gi = np.array([levels.index(v) for v in g.tolist()])
    s = np.zeros(len(t), dtype=object) if strata is None else np.asarray(strata, dtype=object)
    obs = np.zeros(k)
    exp = np.zeros(k)
    var = np.zeros((k, k))
    for lev in dict.fromkeys(s.tolist()):
        m = s == lev
        o, x, v = _logrank_parts(t[m], e[m], gi[m], k)
        obs += o
        exp += x
        var += v
    diff = (obs - exp)[: k - 1]
    v = var[: k - 1, : k - 1]
    chisq = float(diff @ np.linalg.solve(v, diff))
    p = float(st.chi2.sf(chisq, k - 1))
    return LogRankResult(tuple(levels), tuple(obs.tolist()), tuple(exp.tolist()), chisq,
                         k - 1, p, var)


@dataclass(frozen=True)
class HazardRatio:
    """Hazard ratio of ``group2`` relative to ``group1`` (reference) with its CI."""

    group1: object
    group2: object
    hr: float
    lower: float
    upper: float
    p_value: float
    method: str


#: |log hazard ratio| beyond which the Cox estimate is taken as infinite (HR e^±30)
_MAX_LOG_HR = 30.0


def _cox_efron(t: np.ndarray, e: np.ndarray, x: np.ndarray,
               s: np.ndarray) -> tuple[float, float, float]:
    """Newton–Raphson for one covariate, Efron ties, strata: (beta, information, loglik)."""
    blocks = []
    for lev in dict.fromkeys(s.tolist()):
        m = s == lev
        tt, ee, xx = t[m], e[m], x[m]
        for u in np.unique(tt[ee == 1]):
            risk = tt >= u
            dead = (tt == u) & (ee == 1)
            blocks.append((xx[risk], xx[dead]))

    def parts(beta: float) -> tuple[float, float, float]:
        ll = g = info = 0.0
        for xr, xd in blocks:
            wr = np.exp(beta * xr)
            wd = np.exp(beta * xd)
            s0, s1, s2 = wr.sum(), (wr * xr).sum(), (wr * xr * xr).sum()
            d0, d1, d2 = wd.sum(), (wd * xd).sum(), (wd * xd * xd).sum()
            d = len(xd)
            ll += beta * xd.sum()
            g += xd.sum()
            for j in range(d):
                f = j / d
                a0, a1, a2 = s0 - f * d0, s1 - f * d1, s2 - f * d2
                ll -= math.log(a0)
                g -= a1 / a0
                info += a2 / a0 - (a1 / a0) ** 2
        return ll, g, info

    beta = 0.0
    ll, g, info = parts(beta)
    for _ in range(100):
        if not info > 0:  # no information (e.g. no events at all): no estimate
            return math.nan, info, ll
        step = g / info
        new = beta + step
        if abs(new) > _MAX_LOG_HR:
            # monotone likelihood (one group has no events, or the groups' event times do
            # not overlap): the estimate runs off to ±infinity, as R's coxph warns
            return math.copysign(math.inf, new), info, ll
        ll_new, g_new, info_new = parts(new)
        while ll_new < ll - 1e-12 and abs(step) > 1e-12:  # step halving
            step /= 2
            new = beta + step
            ll_new, g_new, info_new = parts(new)
        beta, ll, g, info = new, ll_new, g_new, info_new
        if abs(step) < 1e-12:
            break
    return beta, info, ll


def hazard_ratio(time: ArrayLike, event: ArrayLike, group: ArrayLike,
                 strata: ArrayLike | None = None, *, reference: object | None = None,
                 method: str = "cox", conf_level: float = 0.95) -> HazardRatio:
    """Hazard ratio of the second group versus ``reference`` (default: the first level).

    ``method="cox"``: Cox proportional-hazards model with Efron's tie handling and a Wald
    CI (R ``coxph``; stratified baseline hazards with ``strata``).
    ``method="mantel-haenszel"``: ``exp((O−E)/V)`` from the log-rank O, E and V, CI
    ``exp((O−E)/V ± z/√V)`` (Prism's default "Mantel-Haenszel" hazard ratio).
    """
    t, e = _check(time, event)
    g, levels = _groups(group, len(t))
    if len(levels) != 2:
        raise ValueError("a hazard ratio needs exactly 2 groups")
    ref = levels[0] if reference is None else reference
    if ref not in levels:
        raise ValueError(f"reference group {ref!r} is not a group level")
    other = levels[1] if levels[0] == ref else levels[0]
    z = float(st.norm.ppf(1 - (1 - conf_level) / 2))
    x = (g == other).astype(float)
    s = np.zeros(len(t), dtype=object) if strata is None else np.asarray(strata, dtype=object)
    if method == "cox":
        beta, info, _ = _cox_efron(t, e, x, s)
        if not math.isfinite(beta):
            # no finite estimate: HR 0 or infinity (or undefined), no Wald CI or p
            hr = math.nan if math.isnan(beta) else math.exp(beta) if beta < 0 else math.inf
            return HazardRatio(ref, other, hr, math.nan, math.nan, math.nan,
                               "cox (Efron ties): no finite estimate (monotone likelihood: "
                               "one group has no events, or the groups do not overlap)")
        se = 1.0 / math.sqrt(info)
        p = float(2 * st.norm.sf(abs(beta / se)))
        return HazardRatio(ref, other, math.exp(beta), math.exp(beta - z * se),
                           math.exp(beta + z * se), p, "cox (Efron ties), Wald CI")
    if method in ("mantel-haenszel", "mh"):
        lr = logrank(t, e, np.where(x == 1, "b", "a"), strata=s)
        i = list(lr.groups).index("b")
        o, ex, v = lr.observed[i], lr.expected[i], float(lr.variance[i, i])
        lhr = (o - ex) / v
        return HazardRatio(ref, other, math.exp(lhr), math.exp(lhr - z / math.sqrt(v)),
                           math.exp(lhr + z / math.sqrt(v)), lr.p_value, "mantel-haenszel")
    raise ValueError(f"unknown hazard-ratio method '{method}'; use cox or mantel-haenszel")
