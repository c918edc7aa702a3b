"""How many donors does a co-culture experiment need? Power by simulation.

:func:`protection_power` simulates the experiment "base vs base + added drug, each alone and
on stroma, in n replicates (donors)" many times from stated means, a stated change of
protection and stated variances, and analyses every simulated data set with the real
analysis, :func:`preclin.synergy.coculture.chemoprotection` (the interaction test
``response ~ treatment × stroma + replicate``). Power is the fraction of runs with
p ≤ alpha, with its Monte Carlo SE (:func:`preclin.stats.power.simulate_power`).

Simulation model, per replicate r and cell c (4 cells: base/with × alone/stroma):
``y = μ_c + b_r + e``, ``b_r ~ N(0, sd_replicate²)`` (a donor's shift shared by its four
cells), ``e ~ N(0, sd²)``, clipped to 0–100 (%) for apoptosis and to ≥ 0 for viability.
The means: ``μ(base, alone)``, ``μ(base, stroma)``, ``μ(with, alone)`` as given and
``μ(with, stroma) = μ(with, alone) − sign·(P + effect)`` with ``P`` = protection under base
(``sign·(alone − stroma)``; sign = +1 for apoptosis, −1 for viability): ``effect`` is the
change of protection the added drug causes (negative = it reduces protection).

:func:`pilot_estimates` takes the means and variances from a pilot
(:class:`~preclin.synergy.coculture.ProtectionResult`): per group an additive two-way fit
(cell + replicate) of the four cells; residual and replicate variances pooled over groups
(method of moments, replicate variance floored at 0), means averaged over groups.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from ..errors import InputError
from ..stats.power import simulate_power
from .coculture import ProtectionResult, chemoprotection

__all__ = ["ProtectionDesign", "pilot_estimates", "protection_power", "POWER_COLUMNS"]

#: columns of :func:`protection_power`
POWER_COLUMNS = {
    "base": "treatment without the added drug",
    "with": "the same treatment with the added drug",
    "question": "what the power is for, in words",
    "n": "replicates (donors) per simulated experiment",
    "effect": "true change of protection assumed (points; < 0: the drug reduces it)",
    "protection_base": "true protection under base (points)",
    "sd": "SD of a measurement around its replicate's level (points)",
    "sd_replicate": "SD of the replicates' (donors') shifts (points)",
    "source": "where means and SDs come from: 'stated' or 'pilot'",
    "n_sim": "simulated experiments",
    "rejections": "runs with interaction p ≤ alpha",
    "power": "rejections / n_sim",
    "mc_se": "Monte Carlo standard error √(power(1 − power)/n_sim)",
    "power_low": "power − 1.96 mc_se (≥ 0)",
    "power_high": "power + 1.96 mc_se (≤ 1)",
    "power_analytical": "the same power from the noncentral t of the block design "
    "(df = 3(n − 1), ncp = |effect|/(2 sd/√n); no clipping): a check on the simulation",
    "alpha": "significance level",
    "seed": "seed (the runs of each n use their own stream derived from [seed, n])",
}


@dataclass(frozen=True)
class ProtectionDesign:
    """True means and variances of a simulated co-culture experiment (points)."""

    base: str
    with_: str
    base_alone: float
    base_stroma: float
    with_alone: float
    sd: float
    sd_replicate: float
    effect: float
    response_kind: str = "apoptosis"
    source: str = "stated"

    @property
    def sign(self) -> float:
        """+1 for apoptosis, −1 for viability."""
        return 1.0 if self.response_kind == "apoptosis" else -1.0

    @property
    def protection_base(self) -> float:
        """Protection under ``base``."""
        return self.sign * (self.base_alone - self.base_stroma)

    @property
    def with_stroma(self) -> float:
        """Mean of ``with`` on stroma implied by ``effect``."""
        return self.with_alone - self.sign * (self.protection_base + self.effect)


def pilot_estimates(result: ProtectionResult, *, base: str, with_: str,
                    group: Mapping[str, Any] | None = None) -> dict[str, float]:
    """Means and variances of the four cells from a pilot's result.

    Parameters
    ----------
    result
        :func:`~preclin.synergy.coculture.chemoprotection` of the pilot.
    base, with_
        The treatment pair.
    group
        Use only this group (``by`` column → value); default all groups pooled.

    Returns
    -------
    dict
        ``base_alone``, ``base_stroma``, ``with_alone``, ``with_stroma``, ``sd``,
        ``sd_replicate``, ``effect`` (the pilot's mean change of protection), ``n_groups``.
    """
    cells = result.cells
    if group:
        for k, v in group.items():
            if k not in cells.columns:
                raise InputError(f"power: group column '{k}' is not a 'by' column "
                                 f"({', '.join(result.by) or 'none'})")
            cells = cells[cells[k].astype(str) == str(v)]
        if not len(cells):
            raise InputError(f"power: no data for group {dict(group)}")
    order = [(base, result.alone), (base, result.stroma), (with_, result.alone),
             (with_, result.stroma)]
    groups = cells.groupby(list(result.by), sort=False) if result.by else [((), cells)]
    means, ss_res, df_res, ss_rep, df_rep = [], 0.0, 0, 0.0, 0
    for _, sub in groups:
        wide = sub.pivot_table(index="replicate", columns=["treatment", "condition"],
                               values="response", aggfunc="mean")
        if not all(c in wide.columns for c in order):
            continue
        y = wide[order].dropna().to_numpy(float)
        n = y.shape[0]
        if n < 2:
            continue
        grand, col, row = y.mean(), y.mean(axis=0), y.mean(axis=1)
        resid = y - row[:, None] - col[None, :] + grand
        ss_res += float(np.sum(resid ** 2))
        df_res += (n - 1) * 3
        ss_rep += 4.0 * float(np.sum((row - grand) ** 2))
        df_rep += n - 1
        means.append(col)
    if not means:
        raise InputError(f"power: the pilot has no group with 2 or more replicates measured "
                         f"in all four cells of '{base}' / '{with_}' alone and on stroma")
    m = np.mean(np.vstack(means), axis=0)
    ms_res = ss_res / df_res
    ms_rep = ss_rep / df_rep
    sign = 1.0 if result.response_kind == "apoptosis" else -1.0
    return {"base_alone": float(m[0]), "base_stroma": float(m[1]), "with_alone": float(m[2]),
            "with_stroma": float(m[3]), "sd": math.sqrt(ms_res),
            "sd_replicate": math.sqrt(max(0.0, (ms_rep - ms_res) / 4.0)),
            "effect": float(sign * ((m[2] - m[3]) - (m[0] - m[1]))),
            "n_groups": float(len(means))}


def _simulate(design: ProtectionDesign, n: int, rng: np.random.Generator) -> pd.DataFrame:
    mu = np.array([design.base_alone, design.base_stroma, design.with_alone,
                   design.with_stroma])
    shift = rng.normal(0.0, design.sd_replicate, size=(n, 1))
    y = mu[None, :] + shift + rng.normal(0.0, design.sd, size=(n, 4))
    y = np.clip(y, 0.0, 100.0) if design.response_kind == "apoptosis" else np.maximum(y, 0.0)
    return pd.DataFrame({
        "treatment": np.tile([design.base, design.base, design.with_, design.with_], n),
        "condition": np.tile(["alone", "stroma", "alone", "stroma"], n),
        "replicate": np.repeat(np.arange(1, n + 1), 4),
        "response": y.reshape(-1),
    })


def protection_power(
    design: ProtectionDesign,
    *,
    n: int | Sequence[int],
    n_sim: int = 200,
    seed: int = 0,
    alpha: float = 0.05,
) -> pd.DataFrame:
    """Power of the "does the added drug change protection" test, by simulation.

    Parameters
    ----------
    design
        True means, change of protection and variances (:class:`ProtectionDesign`,
        e.g. from :func:`pilot_estimates`).
    n
        Replicates (donors) per experiment; one row per value.
    n_sim
        Simulated experiments per n.
    seed
        Seed; the runs of each n use their own stream derived from ``[seed, n]``.
    alpha
        Significance level (p ≤ alpha is a detection).

    Returns
    -------
    pandas.DataFrame
        :data:`POWER_COLUMNS`, one row per n.
    """
    ns = [n] if isinstance(n, int) else list(n)
    if not ns or any(int(k) < 2 for k in ns):
        raise InputError("power: n (replicates per experiment) must be at least 2")
    if not (design.sd > 0 and design.sd_replicate >= 0):
        raise InputError("power: sd must be > 0 and sd_replicate ≥ 0")
    rows = []
    for k in ns:
        k = int(k)

        def simulate(rng: np.random.Generator, k: int = k) -> pd.DataFrame:
            return _simulate(design, k, rng)

        def analyse(table: pd.DataFrame) -> float:
            res = chemoprotection(table, response="response", condition="condition",
                                  treatment="treatment", replicate="replicate",
                                  response_kind=design.response_kind,  # type: ignore[arg-type]
                                  vehicle=None, comparisons=[(design.base, design.with_)],
                                  alpha=alpha)
            return float(res.interaction["p"].iloc[0]) if len(res.interaction) else math.nan

        sp = simulate_power(simulate, analyse, n_sim=n_sim, seed=_seed(seed, k), alpha=alpha)
        lo, hi = sp.ci
        change = "drop" if design.effect < 0 else "rise"
        rows.append({
            "base": design.base, "with": design.with_,
            "question": f"How often does an experiment with {k} donors detect a {change} "
            f"of {abs(design.effect):.3g} points in stromal protection when "
            f"{design.with_} replaces {design.base}?",
            "n": k, "effect": design.effect, "protection_base": design.protection_base,
            "sd": design.sd, "sd_replicate": design.sd_replicate, "source": design.source,
            "n_sim": sp.n_sim, "rejections": sp.rejections, "power": sp.power,
            "mc_se": sp.mc_se, "power_low": lo, "power_high": hi,
            "power_analytical": _analytical(design, k, alpha), "alpha": alpha,
            "seed": seed,
        })
    return pd.DataFrame(rows, columns=list(POWER_COLUMNS))


def _seed(seed: int, n: int) -> int:
    """One integer seed per (seed, n) so each n has its own reproducible runs."""
    return int(np.random.SeedSequence([int(seed), int(n)]).generate_state(1)[0])


def _analytical(design: ProtectionDesign, n: int, alpha: float) -> float:
    """Noncentral-t power of the interaction contrast (variance 4 sd²/n, 3(n − 1) df)."""
    from scipy import stats as st

    df = 3 * (n - 1)
    ncp = abs(design.effect) / (2.0 * design.sd / math.sqrt(n))
    q = float(st.t.isf(alpha / 2, df))
    return float(st.nct.sf(q, df, ncp) + st.nct.cdf(-q, df, ncp))
