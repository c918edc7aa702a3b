"""Treatment schedules, weight-based dosing sheets and weight-loss alerts.

A schedule is a list of :class:`Administration` (which arms get which drug, at what dose
in mg/kg, by which route, on which days, in what volume per gram) and a catalogue of
:class:`Drug` (stock concentration, declared safe dose range). :func:`dosing_sheet` turns
it into one row per animal × day × drug from the latest recorded body weight:

* ``dose_mg = dose_mg_per_kg × weight_g / 1000``
* ``volume_ul = volume_ul_per_g × weight_g`` (fixed dosing volume, e.g. 10 µL/g =
  10 mL/kg), or ``dose_mg / stock_mg_per_ml × 1000`` when no dosing volume is declared
* ``conc_mg_per_ml = dose_mg / volume_ul × 1000`` (working solution;
  = ``dose_mg_per_kg / volume_ul_per_g``)
* ``stock_ul = dose_mg / stock_mg_per_ml × 1000``, ``diluent_ul = volume_ul − stock_ul``

:func:`preparation` sums a day's doses per drug, route and working concentration and adds
the overage; :func:`weight_alerts` compares every weighing with the animal's baseline
(its last weight on or before day 1) against the declared humane-endpoint threshold.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from ..errors import InputError

__all__ = [
    "Drug",
    "Administration",
    "Schedule",
    "parse_days",
    "check_schedule",
    "dosing_sheet",
    "preparation",
    "weight_alerts",
    "DOSING_COLUMNS",
    "PREPARATION_COLUMNS",
    "ALERT_COLUMNS",
]

#: columns of :func:`dosing_sheet`
DOSING_COLUMNS: dict[str, str] = {
    "animal": "animal id",
    "arm": "arm",
    "day": "study day (day 1 = first treatment day)",
    "drug": "drug",
    "route": "route (i.v., i.p., p.o., ...)",
    "weight_g": "latest body weight on or before the day, g",
    "weight_day": "day that weight was recorded",
    "dose_mg_per_kg": "declared dose, mg/kg",
    "dose_mg": "dose for this animal, mg (dose_mg_per_kg × weight_g / 1000)",
    "volume_ul": "volume to inject, µL",
    "conc_mg_per_ml": "concentration of the working solution, mg/mL",
    "stock_ul": "stock solution in the volume, µL (NaN without a declared stock)",
    "diluent_ul": "diluent (vehicle) in the volume, µL",
    "alert": "weight-loss alert at the weight used ('' = none)",
}

#: columns of :func:`preparation`
PREPARATION_COLUMNS: dict[str, str] = {
    "day": "study day",
    "drug": "drug",
    "route": "route",
    "conc_mg_per_ml": "working concentration, mg/mL",
    "animals": "animals dosed",
    "dose_mg": "sum of the doses, mg",
    "volume_ul": "sum of the volumes, µL",
    "overage_pct": "extra prepared for dead volume and losses, %",
    "prepare_mg": "drug to prepare, mg (dose_mg × (1 + overage))",
    "prepare_ul": "working solution to prepare, µL (volume_ul × (1 + overage))",
    "stock_ul": "stock to take for it, µL (NaN without a declared stock)",
    "diluent_ul": "diluent to add, µL",
}

#: columns of :func:`weight_alerts`
ALERT_COLUMNS: dict[str, str] = {
    "animal": "animal id",
    "arm": "arm",
    "day": "day of the weighing",
    "weight_g": "weight, g",
    "baseline_g": "baseline weight (last on or before day 1), g",
    "loss_pct": "weight loss from baseline, %",
    "level": "'humane endpoint' (loss ≥ endpoint threshold) or 'warning'",
}


@dataclass(frozen=True)
class Drug:
    """A drug's preparation facts.

    Attributes
    ----------
    name
        Drug name as the schedule uses it.
    stock_mg_per_ml
        Concentration of the stock solution (``None``: prepared directly at the working
        concentration).
    safe_mg_per_kg
        Declared safe dose range ``(low, high)`` in mg/kg; a dose outside it is refused.
    """

    name: str
    stock_mg_per_ml: float | None = None
    safe_mg_per_kg: tuple[float, float] | None = None


@dataclass(frozen=True)
class Administration:
    """One line of a schedule: these arms get this drug at this dose on these days.

    Attributes
    ----------
    arms
        Arms treated.
    drug
        Drug name (a key of :attr:`Schedule.drugs`, or any name without preparation facts).
    dose_mg_per_kg
        Dose, mg per kg body weight (0 for a vehicle injection).
    route
        Route of administration.
    days
        Treatment days (day 1 = first treatment day).
    volume_ul_per_g
        Dosing volume, µL per g body weight (= mL/kg); ``None``: volume from the stock.
    label
        Where the line is declared (for messages), e.g. ``"key 'experiment[5].dose[2]'"``.
    """

    arms: tuple[str, ...]
    drug: str
    dose_mg_per_kg: float
    route: str
    days: tuple[int, ...]
    volume_ul_per_g: float | None = None
    label: str = ""


@dataclass(frozen=True)
class Schedule:
    """Administrations, drugs and the dosing rules of a study.

    Attributes
    ----------
    administrations
        The schedule lines.
    drugs
        Drug name → :class:`Drug`.
    overage_pct
        Extra working solution prepared per day, %.
    max_weight_age
        A dose may use a weight at most this many days old.
    humane_endpoint_pct
        Weight loss from baseline (%) at which an animal reaches its humane endpoint.
    warn_pct
        Weight loss (%) that raises a warning (``None``: only the endpoint).
    """

    administrations: tuple[Administration, ...]
    drugs: Mapping[str, Drug] = field(default_factory=dict)
    overage_pct: float = 10.0
    max_weight_age: int = 3
    humane_endpoint_pct: float = 20.0
    warn_pct: float | None = 15.0

    @property
    def days(self) -> list[int]:
        """All treatment days, sorted."""
        return sorted({d for a in self.administrations for d in a.days})


_RANGE = re.compile(r"^\s*(-?\d+)\s*(?:[-–]\s*(-?\d+))?\s*$")


def parse_days(value: str | int | Sequence[int | str]) -> tuple[int, ...]:
    """Days from ``"1-3, 9-10"``, ``[1, 2, 3]``, ``["1-3", 9]`` or ``5``: sorted, unique.

    Raises
    ------
    InputError
        Text that is not a day or a range ``a-b`` with ``a ≤ b``.

    Examples
    --------
    >>> parse_days("1-3, 9-10")
    (1, 2, 3, 9, 10)
    """
    items: list[int | str]
    if isinstance(value, (int, np.integer)) and not isinstance(value, bool):
        items = [int(value)]
    elif isinstance(value, str):
        items = [p for p in value.split(",") if p.strip()]
    else:
        items = list(value)  # type: ignore[arg-type]
    out: set[int] = set()
    for item in items:
        if isinstance(item, (int, np.integer)) and not isinstance(item, bool):
            out.add(int(item))
            continue
        m = _RANGE.match(str(item))
        if not m:
            raise InputError(f"days: {str(item)!r} is not a day or a range such as 1-3")
        lo = int(m.group(1))
        hi = int(m.group(2)) if m.group(2) is not None else lo
        if hi < lo:
            raise InputError(f"days: the range {str(item).strip()!r} runs backwards "
                             "(dates out of order)")
        out.update(range(lo, hi + 1))
    if not out:
        raise InputError("days: no treatment day given")
    return tuple(sorted(out))


def check_schedule(schedule: Schedule, *, arms: Sequence[str] | None = None,
                   file: str | Path | None = None) -> None:
    """Refuse a dose outside the drug's declared safe range, an undeclared arm, a line
    with neither dosing volume nor stock, a stock too dilute for the dosing volume.

    Raises
    ------
    InputError
        Naming ``file``, the line's ``label`` and the problem.
    """
    for j, adm in enumerate(schedule.administrations):
        where = adm.label or f"schedule line {j + 1}"
        drug = schedule.drugs.get(adm.drug)
        if not math.isfinite(adm.dose_mg_per_kg) or adm.dose_mg_per_kg < 0:
            raise InputError(f"{adm.drug}: dose must be a number ≥ 0 mg/kg, got "
                             f"{adm.dose_mg_per_kg:g}", file=file, location=where)
        if drug is not None and drug.safe_mg_per_kg is not None:
            lo, hi = drug.safe_mg_per_kg
            if not lo <= adm.dose_mg_per_kg <= hi:
                raise InputError(f"{adm.drug} at {adm.dose_mg_per_kg:g} mg/kg is outside its "
                                 f"declared safe range {lo:g}–{hi:g} mg/kg", file=file,
                                 location=where)
        if arms is not None:
            for a in adm.arms:
                if a not in arms:
                    raise InputError(f"arm '{a}' is not one of the declared arms "
                                     f"({', '.join(arms)})", file=file, location=where)
        stock = drug.stock_mg_per_ml if drug is not None else None
        if adm.volume_ul_per_g is None:
            if stock is None:
                raise InputError(f"{adm.drug}: give a dosing volume (volume_ul_per_g) or a "
                                 "stock concentration for the drug", file=file, location=where)
            if adm.dose_mg_per_kg == 0:
                raise InputError(f"{adm.drug}: a 0 mg/kg (vehicle) injection needs a dosing "
                                 "volume (volume_ul_per_g)", file=file, location=where)
        elif adm.volume_ul_per_g <= 0:
            raise InputError(f"{adm.drug}: volume_ul_per_g must be > 0", file=file,
                             location=where)
        elif stock is not None:
            need = adm.dose_mg_per_kg / adm.volume_ul_per_g
            if need > stock * (1 + 1e-12):
                raise InputError(f"{adm.drug}: {adm.dose_mg_per_kg:g} mg/kg in "
                                 f"{adm.volume_ul_per_g:g} µL/g needs {need:g} mg/mL but the "
                                 f"stock is only {stock:g} mg/mL", file=file, location=where)


def _latest_weight(w: pd.DataFrame, day: int) -> tuple[float, int] | None:
    before = w[w["day"] <= day]
    if not len(before):
        return None
    last = before.iloc[-1]
    return float(last["weight_g"]), int(last["day"])


def _baselines(weights: pd.DataFrame) -> dict[str, tuple[float, int]]:
    """Baseline per animal: last weight on or before day 1, else the first weight."""
    out: dict[str, tuple[float, int]] = {}
    for animal, w in weights.groupby("animal", sort=True):
        pre = w[w["day"] <= 1]
        row = pre.iloc[-1] if len(pre) else w.iloc[0]
        out[str(animal)] = (float(row["weight_g"]), int(row["day"]))
    return out


def _alert(loss: float, schedule: Schedule) -> str:
    if loss >= schedule.humane_endpoint_pct:
        return "humane endpoint"
    if schedule.warn_pct is not None and loss >= schedule.warn_pct:
        return "warning"
    return ""


def dosing_sheet(assignment: pd.DataFrame, weights: pd.DataFrame, schedule: Schedule, *,
                 ended: Mapping[str, int] | None = None, arms: Sequence[str] | None = None,
                 file: str | Path | None = None) -> tuple[pd.DataFrame, pd.DataFrame]:
    """One row per animal × day × drug, dosed from the latest recorded body weight.

    Parameters
    ----------
    assignment
        ``animal, arm`` (every animal exactly once).
    weights
        ``animal, day, weight_g`` (from :func:`preclin.invivo.io.read_weights`).
    schedule
        The schedule (checked with :func:`check_schedule` first).
    ended
        Animal → day of death or humane endpoint: no dose on or after it (listed in the
        second table with the reason).
    arms
        Arm order of the sheet (default: order of appearance in ``assignment``).
    file
        The weights file, for messages.

    Returns
    -------
    (pandas.DataFrame, pandas.DataFrame)
        The dosing sheet (:data:`DOSING_COLUMNS`, ordered by day, drug, arm, animal) and
        the doses not given (``animal, arm, day, drug, reason``).

    Raises
    ------
    InputError
        An animal without a weight on or before a dosing day, or whose latest weight is
        older than ``schedule.max_weight_age`` days.
    """
    check_schedule(schedule)
    ended = dict(ended or {})
    by_animal = {str(a): w.sort_values("day") for a, w in weights.groupby("animal")}
    base = _baselines(weights)
    rows: list[dict[str, Any]] = []
    skipped: list[dict[str, Any]] = []
    arm_of = dict(zip(assignment["animal"].astype(str), assignment["arm"], strict=True))
    for adm in schedule.administrations:
        drug = schedule.drugs.get(adm.drug)
        stock = drug.stock_mg_per_ml if drug is not None else None
        members = sorted(a for a, arm in arm_of.items() if arm in adm.arms)
        for day in adm.days:
            for animal in members:
                if animal in ended and ended[animal] <= day:
                    skipped.append({"animal": animal, "arm": arm_of[animal], "day": day,
                                    "drug": adm.drug, "reason": f"death or endpoint on day "
                                    f"{ended[animal]}"})
                    continue
                w = by_animal.get(animal)
                got = _latest_weight(w, day) if w is not None else None
                if got is None:
                    raise InputError(f"animal '{animal}' has no weight on or before dosing "
                                     f"day {day} ({adm.drug}); weigh it before dosing",
                                     file=file)
                weight, wday = got
                if day - wday > schedule.max_weight_age:
                    raise InputError(f"animal '{animal}' has no weight within "
                                     f"{schedule.max_weight_age} day(s) before dosing day "
                                     f"{day} ({adm.drug}; last weighed on day {wday})",
                                     file=file)
                dose_mg = adm.dose_mg_per_kg * weight / 1000.0
                if adm.volume_ul_per_g is not None:
                    volume = adm.volume_ul_per_g * weight
                else:
                    assert stock is not None
                    volume = dose_mg / stock * 1000.0
                stock_ul = dose_mg / stock * 1000.0 if stock is not None else math.nan
                b = base.get(animal)
                loss = 100.0 * (b[0] - weight) / b[0] if b else 0.0
                rows.append({
                    "animal": animal, "arm": arm_of[animal], "day": day, "drug": adm.drug,
                    "route": adm.route, "weight_g": weight, "weight_day": wday,
                    "dose_mg_per_kg": float(adm.dose_mg_per_kg), "dose_mg": dose_mg,
                    "volume_ul": volume,
                    "conc_mg_per_ml": dose_mg / volume * 1000.0 if volume > 0 else math.nan,
                    "stock_ul": stock_ul,
                    "diluent_ul": volume - (0.0 if math.isnan(stock_ul) else stock_ul)
                    if stock is not None else math.nan,
                    "alert": _alert(loss, schedule)})
    sheet = pd.DataFrame(rows, columns=list(DOSING_COLUMNS))
    order = [*(arms or []), *dict.fromkeys(assignment["arm"])]
    arm_rank = {a: i for i, a in reversed(list(enumerate(order)))}
    if len(sheet):
        sheet = (sheet.assign(_a=sheet["arm"].map(arm_rank))
                 .sort_values(["day", "drug", "_a", "animal"], kind="stable")
                 .drop(columns="_a").reset_index(drop=True))
    skip = pd.DataFrame(skipped, columns=["animal", "arm", "day", "drug", "reason"])
    return sheet, skip


def preparation(sheet: pd.DataFrame, schedule: Schedule) -> pd.DataFrame:
    """What to prepare each day: per drug, route and working concentration, with overage.

    Returns
    -------
    pandas.DataFrame
        :data:`PREPARATION_COLUMNS`, ordered by day, drug, route.
    """
    if not len(sheet):
        return pd.DataFrame(columns=list(PREPARATION_COLUMNS))
    f = 1.0 + schedule.overage_pct / 100.0
    conc = sheet["conc_mg_per_ml"].round(9)
    g = sheet.assign(conc_mg_per_ml=conc).groupby(
        ["day", "drug", "route", "conc_mg_per_ml"], sort=True, dropna=False)
    out = g.agg(animals=("animal", "count"), dose_mg=("dose_mg", "sum"),
                volume_ul=("volume_ul", "sum")).reset_index()
    out["overage_pct"] = float(schedule.overage_pct)
    out["prepare_mg"] = out["dose_mg"] * f
    out["prepare_ul"] = out["volume_ul"] * f
    stocks = {d: (schedule.drugs[d].stock_mg_per_ml if d in schedule.drugs else None)
              for d in out["drug"]}
    out["stock_ul"] = [p / s * 1000.0 if s else math.nan
                       for p, s in zip(out["prepare_mg"], out["drug"].map(stocks),
                                       strict=True)]
    out["diluent_ul"] = out["prepare_ul"] - out["stock_ul"].fillna(0.0)
    return out[list(PREPARATION_COLUMNS)]


def weight_alerts(weights: pd.DataFrame, assignment: pd.DataFrame,
                  schedule: Schedule) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Weight change of every animal and the weighings that cross the thresholds.

    Returns
    -------
    (pandas.DataFrame, pandas.DataFrame)
        Every weighing of an assigned animal (``animal, arm, day, weight_g, baseline_g,
        change_pct``) and the alerts (:data:`ALERT_COLUMNS`): one row per weighing with a
        loss ≥ ``warn_pct`` (or ≥ the humane endpoint).
    """
    arm_of = dict(zip(assignment["animal"].astype(str), assignment["arm"], strict=True))
    w = weights[weights["animal"].isin(list(arm_of))].copy()
    base = _baselines(w)
    w["arm"] = w["animal"].map(arm_of)
    w["baseline_g"] = w["animal"].map({a: b[0] for a, b in base.items()})
    w["change_pct"] = 100.0 * (w["weight_g"] - w["baseline_g"]) / w["baseline_g"]
    course = w[["animal", "arm", "day", "weight_g", "baseline_g", "change_pct"]]
    course = course.sort_values(["animal", "day"], kind="stable").reset_index(drop=True)
    loss = -course["change_pct"]
    level = [_alert(x, schedule) for x in loss]
    alerts = course.assign(loss_pct=loss, level=level)
    alerts = alerts[alerts["level"] != ""][list(ALERT_COLUMNS)].reset_index(drop=True)
    return course, alerts
