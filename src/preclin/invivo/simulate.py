"""A SIMULATED NSG xenograft experiment mirroring the seed study (OncoImmunology 2018).

40 NSG mice injected intra-bone-marrow with HL-60 cells and irradiated BM-MSCs in two
cohorts: ``tissues`` (sacrificed on day 15 for engraftment by tissue) and ``survival``
(followed to death, humane endpoint or day 60). Screening aspirate of the contralateral
marrow on day −1: mice with a graft > 1 % are enrolled and randomised (Pocock–Simon
minimisation on graft % and weight, cohort balanced) into vehicle, lenalidomide (LEN),
AraC + idarubicin (AI) and AI + LEN. The files written:

* ``animals.csv`` — ``animal, cohort, injected, weight_g, graft_pct, withdrawn``
* ``weights.csv`` — ``animal, date, weight_g`` (days 1, 4, 8, 11, 15, then every 3–4 days)
* ``engraftment.csv`` — ``animal, tissue, human_pct`` (tissues cohort, day 15)
* ``events.csv`` — ``animal, date, event, reason`` (event 1 = death or humane endpoint)

Everything is drawn from :func:`numpy.random.default_rng` with the given seed; the
treatment effects below are the simulation's truth, not measurements.
"""

from __future__ import annotations

import datetime as _dt
from pathlib import Path

import numpy as np
import pandas as pd

__all__ = ["write_xenograft_example", "EXAMPLE_ARMS", "EXAMPLE_DAY1", "EXAMPLE_BALANCE",
           "EXAMPLE_STRATA", "EXAMPLE_SEED", "TISSUES"]

EXAMPLE_ARMS = ("vehicle", "LEN", "AI", "AI+LEN")
EXAMPLE_DAY1 = _dt.date(2017, 3, 6)
TISSUES = ("injected tibia", "contralateral marrow", "spleen", "blood")
#: randomisation settings the example study file declares (the simulator needs the arms;
#: minimisation)
EXAMPLE_BALANCE = ("graft_pct", "weight_g")
EXAMPLE_STRATA = ("cohort",)
EXAMPLE_SEED = 2018

_VEHICLE_PCT = {"injected tibia": 60.0, "contralateral marrow": 30.0, "spleen": 10.0,
                "blood": 3.0}
#: arm → (multiplier of the graft at the injection site, extra multiplier elsewhere)
_ARM_EFFECT = {"vehicle": (1.0, 1.0), "LEN": (0.85, 0.6), "AI": (0.45, 1.0),
               "AI+LEN": (0.3, 0.55)}
_MEDIAN_SURVIVAL = {"vehicle": 27.0, "LEN": 31.0, "AI": 38.0, "AI+LEN": 50.0}
_END_DAY = 60
_SACRIFICE_DAY = 15


def _weigh_days(last: int) -> list[int]:
    days = [1, 4, 8, 11, 15]
    d = 18
    while d <= _END_DAY:
        days.append(d)
        d += 3 if len(days) % 2 else 4
    return [x for x in days if x <= last]


def _date(day: int) -> str:
    return (EXAMPLE_DAY1 + _dt.timedelta(days=int(day) - 1)).isoformat()


def write_xenograft_example(directory: str | Path, *, seed: int = 2018,
                            n_mice: int = 40) -> dict[str, Path]:
    """Write the simulated xenograft files into ``directory``.

    Parameters
    ----------
    directory
        Target folder (created).
    seed
        Seed of the simulation (the randomisation seed is :data:`EXAMPLE_SEED`).
    n_mice
        Mice injected (half per cohort).

    Returns
    -------
    dict
        ``{"animals": path, "weights": path, "engraftment": path, "events": path}``.
    """
    from .enrol import EnrolmentRule, enrol
    from .io import read_animals
    from .randomise import randomise

    root = Path(directory)
    root.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    ids = [f"M{i + 1:02d}" for i in range(n_mice)]
    cohort = np.where(np.arange(n_mice) < n_mice // 2, "tissues", "survival")
    injected = [_date(-20 if c == "tissues" else -19) for c in cohort]
    weight0 = np.round(rng.normal(22.0, 1.8, n_mice), 1)
    graft = np.round(np.exp(rng.normal(np.log(3.0), 0.9, n_mice)), 2)
    withdrawn = [""] * n_mice
    withdrawn[int(rng.integers(n_mice))] = "found dead on day -4, before screening"
    animals = pd.DataFrame({"animal": ids, "cohort": cohort, "injected": injected,
                            "weight_g": weight0, "graft_pct": graft, "withdrawn": withdrawn})
    for i, w in enumerate(withdrawn):
        if w:
            animals.loc[i, ["weight_g", "graft_pct"]] = np.nan
    animals.to_csv(root / "animals.csv", index=False, lineterminator="\n")

    checked = read_animals(animals, numeric=["weight_g", "graft_pct"])
    ok = enrol(checked, EnrolmentRule(column="graft_pct", above=1.0)).enrolled
    arms = randomise(ok, arms=EXAMPLE_ARMS, balance=EXAMPLE_BALANCE, strata=EXAMPLE_STRATA,
                     method="minimisation", seed=EXAMPLE_SEED).table
    arm_of = dict(zip(arms["animal"], arms["arm"], strict=True))

    weights: list[dict[str, object]] = []
    events: list[dict[str, object]] = []
    engraft: list[dict[str, object]] = []
    for i, a in enumerate(ids):
        if a not in arm_of:
            continue
        arm = arm_of[a]
        g_scale = graft[i] / 3.0
        median = _MEDIAN_SURVIVAL[arm] * (1.0 - 0.08 * np.log(g_scale))
        t_death = float(median * (-np.log(rng.uniform())) ** (1 / 4.0) / np.log(2) ** 0.25)
        death = int(np.ceil(t_death))
        planned = _SACRIFICE_DAY if cohort[i] == "tissues" else _END_DAY
        if death <= planned:
            end, event = death, 1
        else:
            end, event = planned, 0
        final_loss = float(rng.uniform(13.0, 23.0))
        chemo = arm in ("AI", "AI+LEN")
        dip_day = 6.0 if arm == "AI" else 8.0
        for d in _weigh_days(end) + ([end] if event and end not in _weigh_days(end) else []):
            change = -2.0 * (arm in ("LEN", "AI+LEN")) * np.exp(-((d - 5) / 4) ** 2)
            if chemo:
                change -= 7.0 * np.exp(-((d - dip_day) / 3.5) ** 2)
            if event:
                change -= final_loss * max(0.0, 1.0 - (end - d) / 10.0) ** 1.5
            change += 0.4 * d / 10.0 + rng.normal(0.0, 1.0)
            weights.append({"animal": a, "date": _date(d),
                            "weight_g": round(weight0[i] * (1 + change / 100.0), 1)})
        if event:
            last_loss = -((float(weights[-1]["weight_g"]) / weight0[i]) - 1) * 100  # type: ignore[arg-type]
            reason = ("humane endpoint: weight loss ≥ 20 %" if last_loss >= 20
                      else "humane endpoint: hind-limb paralysis" if rng.uniform() < 0.6
                      else "found dead")
        else:
            reason = "planned sacrifice (tissues)" if planned == _SACRIFICE_DAY \
                else "alive at end of study"
        events.append({"animal": a, "date": _date(end), "event": event, "reason": reason})
        if cohort[i] == "tissues" and not event:
            burden = np.exp(rng.normal(0.0, 0.35)) * g_scale ** 0.3
            site, elsewhere = _ARM_EFFECT[arm]
            for tis in TISSUES:
                mult = site if tis == "injected tibia" else site * elsewhere
                pct = _VEHICLE_PCT[tis] * mult * burden * np.exp(rng.normal(0.0, 0.3))
                engraft.append({"animal": a, "tissue": tis,
                                "human_pct": round(float(min(pct, 95.0)), 2)})
    paths = {"animals": root / "animals.csv", "weights": root / "weights.csv",
             "engraftment": root / "engraftment.csv", "events": root / "events.csv"}
    pd.DataFrame(weights).to_csv(paths["weights"], index=False, lineterminator="\n")
    pd.DataFrame(engraft).to_csv(paths["engraftment"], index=False, lineterminator="\n")
    pd.DataFrame(events).to_csv(paths["events"], index=False, lineterminator="\n")
    return paths
