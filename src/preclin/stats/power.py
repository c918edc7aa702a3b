"""Power and sample size before the experiment: analytical formulas and simulation.

Analytical (each solves for power given n, or for n given power):

* :func:`power_t` — Student two-sample, paired and one-sample t tests, as R's
  ``power.t.test``: ``power = P(T'(df, ncp) > t₁₋α/₂(df))`` with
  ``ncp = √(n/k)·δ/σ`` (k = 2 for two samples, else 1), ``df = k(n − 1)``; with
  ``strict=True`` the other tail is added.
* :func:`power_welch` — Welch's t test with unequal SDs and/or group sizes:
  ``ncp = δ/√(σ₁²/n₁ + σ₂²/n₂)``, Welch–Satterthwaite df from the true SDs.
* :func:`power_anova` — one-way ANOVA, as R's ``power.anova.test``: noncentral F with
  ``λ = (k − 1)·n·σ²_between/σ²_within = n·Σ(μᵢ − μ̄)²/σ²`` (σ²_between = variance of
  the group means, k − 1 denominator), df = (k − 1, k(n − 1)).
* :func:`power_logrank` — log-rank test, number of events by Schoenfeld (1983)
  ``d = (z₁₋α/₂ + z_power)² / (p(1 − p)·ln²HR)`` (p = share allocated to one arm) or
  Freedman (1982) ``d = (z₁₋α/₂ + z_power)²·(1 + HR)²/(1 − HR)²`` (equal arms);
  subjects = events / probability of an event.

Simulation: :func:`simulate_power` runs any analysis on data simulated from a stated effect
and variance, ``n_sim`` times with the seeds ``[seed, i]``, and reports the fraction of
runs with p ≤ alpha and its Monte Carlo standard error ``√(p̂(1 − p̂)/n_sim)``;
:func:`simulate_two_group_power` does it for the two-group tests of
:mod:`preclin.stats.two_groups`. Experiment kinds use :func:`simulate_power` with their own
simulators and their real analysis (e.g. ``[experiment.power]`` of the co-culture kind).

Reference values: R 4.2 ``power.t.test``, ``power.anova.test`` and the log-rank formulas
computed in R (``tests/data/stats_reference/power_reference.R``).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any, Literal

import numpy as np
import pandas as pd

from ..errors import InputError

__all__ = [
    "PowerResult",
    "SimulatedPower",
    "power_t",
    "power_welch",
    "power_anova",
    "power_logrank",
    "simulate_power",
    "simulate_two_group_power",
    "power_table",
    "POWER_COLUMNS",
    "DESIGNS",
]

#: designs of :func:`power_table` (``preclin stats power --design``)
DESIGNS = {
    "two-sample": "Student two-sample t test (equal SDs): n per group",
    "welch": "Welch t test (SDs may differ; group 2 has ratio × n): n of group 1",
    "paired": "paired t test: n pairs; sd = SD of the within-pair differences",
    "one-sample": "one-sample t test: n values",
    "anova": "one-way ANOVA: n per group",
    "logrank": "log-rank test: events (Schoenfeld or Freedman) and subjects",
}

#: columns of :func:`power_table`
POWER_COLUMNS = {
    "design": "the test (see DESIGNS)",
    "solved_for": "'power' (n given) or 'n' (power given)",
    "n": "sample size: per group (two-sample, welch group 1, anova), pairs, or subjects "
    "(logrank); the exact solution when solved for n",
    "n_required": "n rounded up to a whole number (solved for n)",
    "power": "power at n (the target power when solved for n)",
    "achieved_power": "power at n_required",
    "alpha": "two-sided significance level",
    "effect": "the effect assumed, in words",
    "events": "log-rank: events needed / expected",
    "df": "degrees of freedom (t, F numerator,denominator)",
    "noncentrality": "noncentrality parameter at n",
    "method": "formula used",
}


@dataclass(frozen=True)
class PowerResult:
    """An analytical power / sample-size answer.

    Attributes
    ----------
    design
        Key of :data:`DESIGNS`.
    solved_for
        ``"power"`` or ``"n"``.
    n
        Sample size (see :data:`POWER_COLUMNS`); when solved for n, the exact (fractional)
        solution, as R prints it.
    power
        Power at ``n``.
    alpha
        Significance level.
    effect
        The effect, in words.
    n_required
        ``ceil(n)`` when solved for n (else ``n``).
    achieved_power
        Power at ``n_required``.
    details
        Degrees of freedom, noncentrality, events, method.
    """

    design: str
    solved_for: str
    n: float
    power: float
    alpha: float
    effect: str
    n_required: int
    achieved_power: float
    details: dict[str, Any] = field(default_factory=dict)

    def row(self) -> dict[str, Any]:
        """One row of :data:`POWER_COLUMNS`."""
        d = asdict(self)
        det = d.pop("details")
        out = {k: d.get(k, det.get(k, math.nan)) for k in POWER_COLUMNS}
        for k in ("events", "df", "noncentrality", "method"):
            out[k] = det.get(k, "" if k == "method" else math.nan)
        return out

    def sentence(self) -> str:
        """The answer in words."""
        name = _NAMES.get(self.design, self.design)
        if self.solved_for == "n":
            return (f"{name}: n = {self.n_required} ({self.n:.2f} exactly) gives "
                    f"{100 * self.power:.0f}% power to detect {self.effect} at α = "
                    f"{self.alpha:g} (power at n = {self.n_required}: "
                    f"{100 * self.achieved_power:.1f}%).")
        return (f"{name}: with n = {self.n:g}, power to detect {self.effect} at "
                f"α = {self.alpha:g} is {100 * self.power:.1f}%.")


_NAMES = {"two-sample": "two-sample t test", "welch": "Welch t test",
          "paired": "paired t test", "one-sample": "one-sample t test",
          "anova": "one-way ANOVA", "logrank": "log-rank test"}


def _check_alpha(alpha: float) -> None:
    if not 0 < alpha < 1:
        raise InputError(f"alpha must be between 0 and 1, got {alpha}")


def _one_of(n: float | None, power: float | None) -> str:
    if (n is None) == (power is None):
        raise InputError("give exactly one of n and power (the other is solved for)")
    if power is not None and not 0 < power < 1:
        raise InputError(f"power must be between 0 and 1, got {power}")
    return "n" if n is None else "power"


def _solve(fun: Callable[[float], float], target: float, lo: float, what: str) -> float:
    """Smallest n in [lo, 1e7] with fun(n) = target (fun increasing in n)."""
    from scipy.optimize import brentq

    hi = max(2.0 * lo, 4.0)
    while fun(hi) < target:
        hi *= 2.0
        if hi > 1e7:
            raise InputError(f"{what}: no sample size up to 10^7 reaches power {target}")
    if fun(lo) >= target:
        return lo
    return float(brentq(lambda n: fun(n) - target, lo, hi, xtol=1e-12, rtol=1e-14,
                        maxiter=500))


def _finish(design: str, solved: str, n: float, power: float, alpha: float, effect: str,
            at: Callable[[float], float], details: Callable[[float], dict[str, Any]],
            integer_n: bool = True) -> PowerResult:
    n_req = math.ceil(n - 1e-9) if solved == "n" and integer_n else n
    return PowerResult(design=design, solved_for=solved, n=float(n), power=float(power),
                       alpha=alpha, effect=effect, n_required=int(math.ceil(n_req - 1e-9)),
                       achieved_power=float(at(n_req)), details=details(n))


# ------------------------------------------------------------------------------ t tests
def _t_power(df: float, ncp: float, alpha: float, strict: bool) -> float:
    from scipy import stats as st

    q = st.t.isf(alpha / 2, df)
    p = float(st.nct.sf(q, df, ncp))
    if strict:
        p += float(st.nct.cdf(-q, df, ncp))
    return p


def power_t(
    *,
    delta: float,
    sd: float = 1.0,
    n: float | None = None,
    power: float | None = None,
    alpha: float = 0.05,
    design: Literal["two-sample", "paired", "one-sample"] = "two-sample",
    strict: bool = False,
) -> PowerResult:
    """Power or sample size of a two-sided t test (R ``power.t.test``).

    Parameters
    ----------
    delta
        True difference of means (two-sample), mean difference (paired) or mean (one-sample).
    sd
        SD of each group (two-sample) or of the differences (paired).
    n
        Per group (two-sample), pairs (paired) or values (one-sample); give ``n`` or
        ``power``.
    power
        Target power; ``n`` is then solved for (fractional, as R; see ``n_required``).
    alpha
        Two-sided significance level.
    design
        ``"two-sample"``, ``"paired"`` or ``"one-sample"``.
    strict
        Count rejections in the wrong tail too (R ``strict = TRUE``).

    Returns
    -------
    PowerResult

    Examples
    --------
    >>> round(power_t(n=5, delta=1, sd=1).power, 4)
    0.2859
    """
    if design not in ("two-sample", "paired", "one-sample"):
        raise InputError(f"unknown design '{design}'; choose two-sample, paired, one-sample")
    _check_alpha(alpha)
    if not (sd > 0 and math.isfinite(delta)):
        raise InputError("sd must be > 0 and delta a number")
    solved = _one_of(n, power)
    k = 2 if design == "two-sample" else 1

    def at(m: float) -> float:
        return _t_power(k * (m - 1), math.sqrt(m / k) * abs(delta) / sd, alpha, strict)

    if solved == "n":
        n = _solve(at, float(power), 2.0, f"{design} t test")  # type: ignore[arg-type]
    elif n is not None and n < 2:
        raise InputError(f"n must be at least 2, got {n}")
    assert n is not None
    m = float(n)
    return _finish(design, solved, m, at(m), alpha,
                   f"a difference of {delta:g} (SD {sd:g})", at,
                   lambda v: {"df": k * (v - 1), "noncentrality": math.sqrt(v / k) * delta / sd,
                              "method": "noncentral t (R power.t.test)"
                              + (", strict" if strict else "")})


def power_welch(
    *,
    delta: float,
    sd1: float,
    sd2: float,
    n: float | None = None,
    power: float | None = None,
    ratio: float = 1.0,
    alpha: float = 0.05,
    strict: bool = False,
) -> PowerResult:
    """Power or sample size of Welch's two-sided t test (unequal SDs and/or sizes).

    Group 1 has ``n`` values and group 2 ``ratio·n``; power is the noncentral t with
    ``ncp = δ/√(σ₁²/n₁ + σ₂²/n₂)`` and the Welch–Satterthwaite df of the true SDs
    (equal SDs and sizes give exactly :func:`power_t`).

    Parameters
    ----------
    delta
        True difference of means.
    sd1, sd2
        True SDs of the two groups.
    n
        Size of group 1 (give ``n`` or ``power``).
    power
        Target power.
    ratio
        n₂ / n₁.
    alpha
        Two-sided significance level.
    strict
        Count rejections in the wrong tail too.

    Returns
    -------
    PowerResult
    """
    _check_alpha(alpha)
    if not (sd1 > 0 and sd2 > 0 and ratio > 0):
        raise InputError("sd1, sd2 and ratio must be > 0")
    solved = _one_of(n, power)

    def parts(m: float) -> tuple[float, float]:
        v1, v2 = sd1 ** 2 / m, sd2 ** 2 / (ratio * m)
        df = (v1 + v2) ** 2 / (v1 ** 2 / (m - 1) + v2 ** 2 / (ratio * m - 1))
        return df, abs(delta) / math.sqrt(v1 + v2)

    def at(m: float) -> float:
        df, ncp = parts(m)
        return _t_power(df, ncp, alpha, strict)

    lo = max(2.0, 1.0 + 1.0 / ratio + 1e-9)
    if solved == "n":
        n = _solve(at, float(power), lo, "Welch t test")  # type: ignore[arg-type]
    elif n is not None and (n < 2 or ratio * n < 2):
        raise InputError("each group needs at least 2 values")
    assert n is not None
    m = float(n)
    return _finish("welch", solved, m, at(m), alpha,
                   f"a difference of {delta:g} (SDs {sd1:g} and {sd2:g}, n₂ = {ratio:g}·n₁)",
                   at, lambda v: {"df": parts(v)[0], "noncentrality": parts(v)[1],
                                  "method": "noncentral t, Welch-Satterthwaite df"})


# ---------------------------------------------------------------------------- ANOVA
def power_anova(
    *,
    groups: int,
    n: float | None = None,
    power: float | None = None,
    between_var: float | None = None,
    within_var: float | None = None,
    means: Sequence[float] | None = None,
    sd: float | None = None,
    alpha: float = 0.05,
) -> PowerResult:
    """Power or sample size (per group) of a one-way ANOVA (R ``power.anova.test``).

    Give the effect as ``between_var`` (variance of the true group means, k − 1
    denominator) and ``within_var``, or as the true ``means`` and the common ``sd``.

    Parameters
    ----------
    groups
        Number of groups k (≥ 2).
    n
        Per group (give ``n`` or ``power``).
    power
        Target power.
    between_var, within_var
        As R's arguments.
    means, sd
        Alternative to ``between_var``/``within_var``.
    alpha
        Significance level.

    Returns
    -------
    PowerResult
    """
    from scipy import stats as st

    _check_alpha(alpha)
    if means is not None:
        if len(means) != groups:
            raise InputError(f"means has {len(means)} values but groups = {groups}")
        if sd is None:
            raise InputError("give sd with means")
        between_var = float(np.var(np.asarray(means, dtype=float), ddof=1))
        within_var = float(sd) ** 2
    if groups < 2 or between_var is None or within_var is None or within_var <= 0 \
            or between_var < 0:
        raise InputError("one-way ANOVA power needs groups ≥ 2, between_var ≥ 0 and "
                         "within_var > 0 (or means and sd)")
    solved = _one_of(n, power)
    bv, wv = float(between_var), float(within_var)

    def at(m: float) -> float:
        lam = (groups - 1) * m * bv / wv
        df1, df2 = groups - 1, (m - 1) * groups
        return float(st.ncf.sf(st.f.isf(alpha, df1, df2), df1, df2, lam))

    if solved == "n":
        n = _solve(at, float(power), 2.0, "one-way ANOVA")  # type: ignore[arg-type]
    elif n is not None and n < 2:
        raise InputError(f"n must be at least 2, got {n}")
    assert n is not None
    m = float(n)
    return _finish("anova", solved, m, at(m), alpha,
                   f"group means with variance {bv:g} (within-group variance {wv:g}, "
                   f"{groups} groups)", at,
                   lambda v: {"df": f"{groups - 1},{(v - 1) * groups:g}",
                              "noncentrality": (groups - 1) * v * bv / wv,
                              "method": "noncentral F (R power.anova.test)"})


# -------------------------------------------------------------------------- log-rank
def power_logrank(
    *,
    hr: float,
    n: float | None = None,
    events: float | None = None,
    power: float | None = None,
    alpha: float = 0.05,
    allocation: float = 0.5,
    p_event: float = 1.0,
    method: Literal["schoenfeld", "freedman"] = "schoenfeld",
) -> PowerResult:
    """Power, events or subjects of a two-sided log-rank test of two arms.

    Parameters
    ----------
    hr
        Hazard ratio to detect (≠ 1).
    n
        Total subjects (events = ``n·p_event``); or give ``events`` or ``power``.
    events
        Total events.
    power
        Target power: events and subjects are solved for.
    alpha
        Two-sided significance level.
    allocation
        Share of subjects in one arm (Schoenfeld; Freedman needs 0.5).
    p_event
        Probability that a subject has the event during follow-up (e.g. 1 for mice
        followed until death).
    method
        ``"schoenfeld"`` or ``"freedman"``.

    Returns
    -------
    PowerResult
        ``n`` = subjects; ``details["events"]``.
    """
    from scipy import stats as st

    _check_alpha(alpha)
    if not (hr > 0 and hr != 1):
        raise InputError(f"hr must be > 0 and ≠ 1, got {hr}")
    if not 0 < allocation < 1:
        raise InputError(f"allocation must be between 0 and 1, got {allocation}")
    if not 0 < p_event <= 1:
        raise InputError(f"p_event must be in (0, 1], got {p_event}")
    if method not in ("schoenfeld", "freedman"):
        raise InputError(f"unknown method '{method}'; choose schoenfeld or freedman")
    if method == "freedman" and allocation != 0.5:
        raise InputError("Freedman's formula is for equal arms (allocation = 0.5)")
    given = [x is not None for x in (n, events, power)]
    if sum(given) != 1:
        raise InputError("give exactly one of n, events and power")
    za = float(st.norm.isf(alpha / 2))
    if method == "schoenfeld":
        scale = math.sqrt(allocation * (1 - allocation)) * abs(math.log(hr))
    else:
        scale = abs(1 - hr) / (1 + hr)

    def pw_events(d: float) -> float:
        return float(st.norm.cdf(math.sqrt(d) * scale - za))

    def at(m: float) -> float:
        return pw_events(m * p_event)

    if power is not None:
        if not 0 < power < 1:
            raise InputError(f"power must be between 0 and 1, got {power}")
        d = (za + float(st.norm.ppf(power))) ** 2 / scale ** 2
        m, solved = d / p_event, "n"
    else:
        d = float(events) if events is not None else float(n) * p_event  # type: ignore[arg-type]
        if d <= 0:
            raise InputError("n / events must be > 0")
        m, solved = d / p_event, "power"
    effect = f"a hazard ratio of {hr:g}"
    res = _finish("logrank", solved, m, at(m), alpha, effect, at,
                  lambda v: {"events": v * p_event, "df": 1,
                             "noncentrality": math.sqrt(v * p_event) * scale,
                             "method": f"{method.capitalize()} events formula"
                             + (f", P(event) = {p_event:g}" if p_event < 1 else "")})
    return res


# ----------------------------------------------------------------------- simulation
@dataclass(frozen=True)
class SimulatedPower:
    """Power estimated by simulation.

    Attributes
    ----------
    power
        Fraction of runs with p ≤ alpha.
    mc_se
        Monte Carlo standard error ``√(power(1 − power)/n_sim)``.
    n_sim, rejections, failures
        Runs, runs with p ≤ alpha, runs where the analysis gave no p (counted as not
        rejected).
    alpha, seed
        Level and seed (run i uses ``numpy.random.default_rng([seed, i])``).
    """

    power: float
    mc_se: float
    n_sim: int
    rejections: int
    failures: int
    alpha: float
    seed: int

    @property
    def ci(self) -> tuple[float, float]:
        """Power ± 1.96 Monte Carlo SE, clipped to [0, 1]."""
        return (max(0.0, self.power - 1.96 * self.mc_se),
                min(1.0, self.power + 1.96 * self.mc_se))


def simulate_power(
    simulate: Callable[[np.random.Generator], Any],
    analyse: Callable[[Any], float],
    *,
    n_sim: int = 200,
    seed: int = 0,
    alpha: float = 0.05,
) -> SimulatedPower:
    """Run ``analyse(simulate(rng))`` ``n_sim`` times; power = fraction with p ≤ alpha.

    Parameters
    ----------
    simulate
        Draws one data set from a generator (the stated effect and variance).
    analyse
        The real analysis of one data set, returning its p value (NaN: no test).
    n_sim
        Runs (≥ 1).
    seed
        Run i uses ``numpy.random.default_rng([seed, i])``: reproducible, and the same
        runs whatever is simulated before or after.
    alpha
        Significance level (p ≤ alpha counts, as the stars do).

    Returns
    -------
    SimulatedPower
    """
    _check_alpha(alpha)
    if n_sim < 1:
        raise InputError(f"n_sim must be at least 1, got {n_sim}")
    hits = fails = 0
    for i in range(int(n_sim)):
        p = analyse(simulate(np.random.default_rng([int(seed), i])))
        try:
            pf = float(p)
        except (TypeError, ValueError):
            pf = math.nan
        if not math.isfinite(pf):
            fails += 1
        elif pf <= alpha:
            hits += 1
    pw = hits / n_sim
    return SimulatedPower(power=pw, mc_se=math.sqrt(pw * (1 - pw) / n_sim), n_sim=int(n_sim),
                          rejections=hits, failures=fails, alpha=alpha, seed=int(seed))


def simulate_two_group_power(
    *,
    n: int,
    delta: float,
    sd: float = 1.0,
    sd2: float | None = None,
    n2: int | None = None,
    test: str = "welch",
    n_sim: int = 1000,
    seed: int = 0,
    alpha: float = 0.05,
) -> SimulatedPower:
    """Power of a two-group test of :mod:`preclin.stats.two_groups`, by simulation.

    Unpaired tests (``welch``, ``student``, ``mannwhitney``): group 1 ~ N(δ, sd²) with
    ``n`` values, group 2 ~ N(0, sd2²) with ``n2`` (default ``n``). Paired tests
    (``paired``, ``wilcoxon``): ``n`` pairs whose differences are N(δ, sd²).

    Returns
    -------
    SimulatedPower
    """
    from .two_groups import TWO_GROUP_TESTS, two_group_test

    if test not in TWO_GROUP_TESTS:
        raise InputError(f"unknown test '{test}'; choose from {', '.join(TWO_GROUP_TESTS)}")
    paired = TWO_GROUP_TESTS[test][1]
    m2 = n if n2 is None else n2
    s2 = sd if sd2 is None else sd2

    def simulate(rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
        if paired:
            base = rng.normal(0.0, 1.0, n)
            return base + rng.normal(delta, sd, n), base
        return rng.normal(delta, sd, n), rng.normal(0.0, s2, m2)

    def analyse(xy: tuple[np.ndarray, np.ndarray]) -> float:
        return two_group_test(test, xy[0], xy[1]).p_value

    return simulate_power(simulate, analyse, n_sim=n_sim, seed=seed, alpha=alpha)


# ---------------------------------------------------------------------------- table
def power_table(
    design: str,
    *,
    n: Sequence[float] | None = None,
    power: float | None = None,
    alpha: float = 0.05,
    **effect: Any,
) -> pd.DataFrame:
    """Analytical power for several n (or the n for a power) as a table (CLI).

    Parameters
    ----------
    design
        Key of :data:`DESIGNS`.
    n
        Sample sizes (one row each); or give ``power``.
    power
        Target power (one row).
    alpha
        Significance level.
    **effect
        The design's effect arguments (``delta``, ``sd``, ``sd1``, ``sd2``, ``ratio``,
        ``groups``, ``means``, ``between_var``, ``within_var``, ``hr``, ``allocation``,
        ``p_event``, ``method``).

    Returns
    -------
    pandas.DataFrame
        :data:`POWER_COLUMNS`, one row per n.
    """
    if design not in DESIGNS:
        raise InputError(f"unknown design '{design}'; choose from {', '.join(DESIGNS)}")
    if (n is None or not len(n)) == (power is None):
        raise InputError("give --n (one or more sample sizes) or --power, not both")
    effect = {k: v for k, v in effect.items() if v is not None}

    def one(m: float | None) -> PowerResult:
        kw: dict[str, Any] = dict(effect, alpha=alpha, power=power)
        try:
            if design in ("two-sample", "paired", "one-sample"):
                t_kw = _pick(kw, "delta", "sd", "alpha", "power", "strict")
                return power_t(design=design, n=m, **t_kw)  # type: ignore[arg-type]
            if design == "welch":
                return power_welch(n=m, **_pick(kw, "delta", "sd1", "sd2", "ratio", "alpha",
                                                "power", "strict"))
            if design == "anova":
                return power_anova(n=m, **_pick(kw, "groups", "between_var", "within_var",
                                                "means", "sd", "alpha", "power"))
            return power_logrank(n=m, **_pick(kw, "hr", "alpha", "power", "allocation",
                                              "p_event", "method"))
        except TypeError as exc:
            raise InputError(f"{design}: missing or unexpected effect setting ({exc})") \
                from None

    results = [one(float(m)) for m in n] if n is not None and len(n) else [one(None)]
    return pd.DataFrame([r.row() for r in results], columns=list(POWER_COLUMNS))


def _pick(kw: dict[str, Any], *names: str) -> dict[str, Any]:
    extra = sorted(set(kw) - set(names) - {"power"})
    extra = [e for e in extra if kw[e] is not None]
    if extra:
        raise InputError(f"setting(s) {', '.join(extra)} do not apply to this design")
    return {k: kw[k] for k in names if k in kw}
