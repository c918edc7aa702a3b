"""How many mice per arm? Power of the xenograft design, through :mod:`preclin.stats.power`.

* Engraftment: a two-sample t test on log10(% human cells) between an arm and the control
  (:func:`preclin.stats.power_t`); a ``fold`` change (0.5 = a halving) is a difference of
  ``|log10(fold)|`` on that scale, with the pooled within-arm SD of log10 values (from a
  pilot, e.g. this experiment). The answer is checked by simulating the Welch test
  (:func:`preclin.stats.simulate_two_group_power`).
* Survival: a log-rank test of two arms (:func:`preclin.stats.power_logrank`, Schoenfeld):
  events ``d = (z₁₋α/₂ + z_β)² / (p(1 − p) ln²HR)``, mice = d / P(event).
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
import pandas as pd

from ..errors import InputError

__all__ = ["pooled_sd_log10", "design_power", "POWER_COLUMNS"]

#: columns of :func:`design_power`
POWER_COLUMNS: dict[str, str] = {
    "question": "what is asked",
    "endpoint": "engraftment tissue, or survival",
    "test": "the test the power is for",
    "effect": "the effect to detect",
    "sd_log10": "SD of log10 values within an arm (engraftment)",
    "n_per_arm": "mice per arm",
    "power": "power at n_per_arm (analytical)",
    "n_exact": "exact (fractional) n per arm solving the target power (NaN on other rows)",
    "power_simulated": "power by simulation of the Welch test (NaN if not simulated)",
    "mc_se": "Monte Carlo SE of power_simulated",
    "alpha": "two-sided significance level",
    "source": "where the SD comes from",
}


def pooled_sd_log10(data: pd.DataFrame, *, value: str = "human_pct",
                    arm: str = "arm") -> float:
    """Pooled within-arm SD of ``log10(value)`` (values ≤ 0 left out).

    Raises
    ------
    InputError
        Fewer than two arms with two positive values.
    """
    x = data[data[value] > 0]
    ss = 0.0
    df = 0
    for _, sub in x.groupby(arm, sort=False):
        v = np.log10(sub[value].to_numpy(dtype=float))
        if len(v) > 1:
            ss += float(((v - v.mean()) ** 2).sum())
            df += len(v) - 1
    if df < 2:
        raise InputError("power: too few values to estimate the SD of log10 engraftment")
    return math.sqrt(ss / df)


def design_power(*, tissue: str, sd_log10: float, fold: float = 0.5,
                 n: Sequence[int] = (4, 6, 8, 10), power: float = 0.8, alpha: float = 0.05,
                 hr: float | None = None, p_event: float = 1.0, n_sim: int = 0,
                 seed: int = 0, source: str = "stated") -> pd.DataFrame:
    """Power table of a xenograft design (:data:`POWER_COLUMNS`).

    Parameters
    ----------
    tissue
        The engraftment endpoint (e.g. ``"contralateral marrow"``).
    sd_log10
        Within-arm SD of log10(% human cells) (:func:`pooled_sd_log10` of a pilot).
    fold
        Change to detect (0.5 = halving).
    n
        Mice per arm for the "power at n" rows.
    power
        Target power (the n per arm is solved for).
    alpha
        Two-sided level.
    hr
        Hazard ratio to detect in survival (``None``: no survival rows).
    p_event
        Share of mice that die or reach the endpoint during follow-up.
    n_sim
        Simulated experiments to check the engraftment answer (0 = none).
    seed
        Seed of the simulation.
    source
        Where ``sd_log10`` comes from (shown in the table).

    Returns
    -------
    pandas.DataFrame

    Examples
    --------
    >>> t = design_power(tissue="marrow", sd_log10=0.25, fold=0.5, n=[5])
    >>> int(t.loc[0, "n_per_arm"])
    13
    """
    from ..stats import power_logrank, power_t, simulate_two_group_power

    if not (fold > 0 and fold != 1):
        raise InputError(f"power: fold must be > 0 and ≠ 1, got {fold}")
    if not sd_log10 > 0:
        raise InputError(f"power: the SD of log10 engraftment must be > 0, got {sd_log10}")
    delta = abs(math.log10(fold))
    effect = f"{fold:g}-fold change (Δlog10 = {delta:.3f})"
    test = "two-sample t test on log10 % human cells"
    rows: list[dict[str, object]] = []
    solved = power_t(delta=delta, sd=sd_log10, power=power, alpha=alpha)
    base = {"endpoint": tissue, "test": test, "effect": effect, "sd_log10": sd_log10,
            "alpha": alpha, "source": source}
    sim = mc = math.nan
    if n_sim > 0:
        s = simulate_two_group_power(n=solved.n_required, delta=delta, sd=sd_log10,
                                     test="welch", n_sim=n_sim, seed=seed, alpha=alpha)
        sim, mc = s.power, s.mc_se
    rows.append({"question": f"mice per arm for {100 * power:.0f}% power", **base,
                 "n_per_arm": solved.n_required, "power": solved.achieved_power,
                 "n_exact": solved.n, "power_simulated": sim, "mc_se": mc})
    for m in n:
        r = power_t(delta=delta, sd=sd_log10, n=float(m), alpha=alpha)
        rows.append({"question": f"power with {m} mice per arm", **base, "n_per_arm": int(m),
                     "power": r.power, "n_exact": math.nan, "power_simulated": math.nan,
                     "mc_se": math.nan})
    if hr is not None:
        sbase = {"endpoint": "survival", "test": "log-rank (Schoenfeld)",
                 "effect": f"hazard ratio {hr:g}, P(event) = {p_event:g}",
                 "sd_log10": math.nan, "alpha": alpha, "source": "stated",
                 "power_simulated": math.nan, "mc_se": math.nan}
        s2 = power_logrank(hr=hr, power=power, alpha=alpha, p_event=p_event)
        per_arm = math.ceil(s2.n / 2 - 1e-9)
        at = power_logrank(hr=hr, n=2.0 * per_arm, alpha=alpha, p_event=p_event)
        rows.append({"question": f"mice per arm for {100 * power:.0f}% power", **sbase,
                     "n_per_arm": per_arm, "power": at.power, "n_exact": s2.n / 2})
        for m in n:
            r = power_logrank(hr=hr, n=2.0 * m, alpha=alpha, p_event=p_event)
            rows.append({"question": f"power with {m} mice per arm", **sbase,
                         "n_per_arm": int(m), "power": r.power, "n_exact": math.nan})
    return pd.DataFrame(rows, columns=list(POWER_COLUMNS))
