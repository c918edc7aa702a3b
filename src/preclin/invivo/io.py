"""Reading and checking the tables of an in vivo study: animals, arms, weights, events.

Every reader takes a tidy table (a :class:`pandas.DataFrame`, e.g. from
:func:`preclin.tables.read_table`) and the file it came from, and returns a clean copy with
documented columns — or raises :class:`~preclin.errors.InputError` naming the file, the row
(header = row 1) and the problem in one line:

* an animal listed twice, or in two arms;
* a weight that is empty, not a number or ≤ 0, or two weights of one animal on one day;
* an event that is not 0/1, a time that is negative;
* dates out of order (a weight or an event before the animal was injected, an event
  before day 1, a weight after the animal's death).

Days
----
Day 1 is the first treatment day (the seed paper's "days 1–3"). A table may give a
``day`` column (integers; day 0 and negative days are before treatment) or a ``date``
column (ISO dates) together with the date of day 1 (``day1``); then
``day = (date − day1) + 1``.
"""

from __future__ import annotations

import datetime as _dt
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pandas as pd

from ..errors import InputError
from ..tables import require_columns, require_keys, require_numeric, shown_value

__all__ = [
    "read_animals",
    "read_assignment",
    "read_weights",
    "read_events",
    "read_engraftment",
    "to_days",
    "check_chronology",
    "ROW_OFFSET",
]

#: 0-based position → the row number a user sees in a file with a header line
ROW_OFFSET = 2

FileLike = str | Path | None


def _row(pos: int) -> str:
    return f"row {int(pos) + ROW_OFFSET}"


def _ids(table: pd.DataFrame, column: str, file: FileLike) -> pd.Series:
    require_columns(table, [column], file=file)
    require_keys(table, [column], file=file, allow_missing=False)
    return table[column].astype(str).str.strip()


def _unique(ids: pd.Series, what: str, file: FileLike) -> None:
    dup = ids.duplicated(keep="first").to_numpy()
    if dup.any():
        pos = int(np.flatnonzero(dup)[0])
        first = int(np.flatnonzero((ids == ids.iloc[pos]).to_numpy())[0])
        raise InputError(f"animal '{ids.iloc[pos]}' is listed twice in the {what} "
                         f"(also {_row(first)})", file=file, location=_row(pos))


def to_days(table: pd.DataFrame, *, file: FileLike = None, day: str = "day",
            date: str = "date", day1: _dt.date | None = None) -> pd.Series:
    """The study day of each row: the ``day`` column, or ``date`` counted from ``day1``.

    Parameters
    ----------
    table
        The table.
    file
        For messages.
    day, date
        Column names.
    day1
        Date of day 1 (needed when the table has dates only).

    Returns
    -------
    pandas.Series
        Integer days (day 1 = first treatment day).
    """
    if day in table.columns:
        values = require_numeric(table, day, file=file)
        frac = values != np.round(values)
        if frac.any():
            pos = int(np.flatnonzero(frac.to_numpy())[0])
            raise InputError(f"column '{day}' must hold whole days but has "
                             f"{shown_value(values.iloc[pos])}", file=file,
                             location=_row(pos))
        return values.astype("int64")
    if date not in table.columns:
        raise InputError(f"the table needs a '{day}' column (study day, day 1 = first "
                         f"treatment day) or a '{date}' column", file=file)
    if day1 is None:
        raise InputError(f"column '{date}' holds dates: give the date of day 1 "
                         "(day1 = YYYY-MM-DD in the study file)", file=file)
    return _dates_to_days(table[date], date, day1, file)


def _dates_to_days(raw: pd.Series, column: str, day1: _dt.date, file: FileLike) -> pd.Series:
    parsed = pd.to_datetime(raw, errors="coerce", format="mixed")
    bad = parsed.isna().to_numpy()
    if bad.any():
        pos = int(np.flatnonzero(bad)[0])
        raise InputError(f"column '{column}' must hold dates (YYYY-MM-DD) but has "
                         f"{shown_value(raw.iloc[pos])}", file=file, location=_row(pos))
    delta = (parsed.dt.normalize() - pd.Timestamp(day1)).dt.days
    return (delta + 1).astype("int64")


def read_animals(table: pd.DataFrame, *, file: FileLike = None, animal: str = "animal",
                 numeric: Sequence[str] = (), day1: _dt.date | None = None,
                 injected: str | None = None) -> pd.DataFrame:
    """Check the animals table: one row per animal, numeric covariates.

    Parameters
    ----------
    table
        One row per animal (``animal`` and covariates such as ``graft_pct``, ``weight_g``).
    file
        For messages.
    animal
        The animal-id column (renamed ``animal``).
    numeric
        Columns that must be numbers (empty cells allowed: they become NaN).
    day1
        Date of day 1, to convert the ``injected`` dates to days.
    injected
        Optional column with each animal's injection date (or day): kept as
        ``injected_day``, used by :func:`check_chronology`.

    Returns
    -------
    pandas.DataFrame
        The table with ``animal`` as text first, numeric columns as float.
    """
    ids = _ids(table, animal, file)
    _unique(ids, "animals table", file)
    out = table.drop(columns=[animal]).copy()
    out.insert(0, "animal", ids.to_numpy())
    for col in numeric:
        require_columns(table, [col], file=file)
        out[col] = require_numeric(table, col, file=file, allow_nan=True).to_numpy()
    if injected is not None and injected in table.columns:
        inj = table[injected]
        if pd.api.types.is_numeric_dtype(inj):
            out["injected_day"] = require_numeric(table, injected, file=file).to_numpy()
        else:
            if day1 is None:
                raise InputError(f"column '{injected}' holds dates: give the date of day 1 "
                                 "(day1 = YYYY-MM-DD in the study file)", file=file)
            out["injected_day"] = _dates_to_days(inj, injected, day1, file).to_numpy()
    return out.reset_index(drop=True)


def read_assignment(table: pd.DataFrame, *, file: FileLike = None, animal: str = "animal",
                    arm: str = "arm", arms: Sequence[str] | None = None) -> pd.DataFrame:
    """Check an assignment of animals to arms: every animal exactly once.

    Raises
    ------
    InputError
        An animal in two arms (or twice in one), an empty arm, an arm not declared.
    """
    ids = _ids(table, animal, file)
    require_columns(table, [arm], file=file)
    require_keys(table, [arm], file=file, allow_missing=False)
    arm_of = table[arm].astype(str).str.strip()
    seen: dict[str, int] = {}
    for pos, (a, g) in enumerate(zip(ids, arm_of, strict=True)):
        if a in seen:
            first = seen[a]
            other = arm_of.iloc[first]
            what = (f"in two arms ('{other}' on {_row(first)} and '{g}')" if other != g
                    else f"listed twice in arm '{g}' (also {_row(first)})")
            raise InputError(f"animal '{a}' is {what}; every animal belongs to exactly one "
                             "arm", file=file, location=_row(pos))
        seen[a] = pos
        if arms is not None and g not in arms:
            raise InputError(f"arm '{g}' is not one of the declared arms "
                             f"({', '.join(arms)})", file=file, location=_row(pos))
    out = table.drop(columns=[animal, arm]).copy()
    out.insert(0, "arm", arm_of.to_numpy())
    out.insert(0, "animal", ids.to_numpy())
    return out.reset_index(drop=True)


def read_weights(table: pd.DataFrame, *, file: FileLike = None, animal: str = "animal",
                 weight: str = "weight_g", day1: _dt.date | None = None) -> pd.DataFrame:
    """Check body weights: columns ``animal, day, weight_g`` (one row per weighing).

    Raises
    ------
    InputError
        An empty, non-numeric or non-positive weight; two weights of one animal on one day.
    """
    ids = _ids(table, animal, file)
    require_columns(table, [weight], file=file)
    days = to_days(table, file=file, day1=day1)
    raw = table[weight]
    empty = raw.isna().to_numpy() | (raw.astype(str).str.strip() == "").to_numpy()
    if empty.any():
        pos = int(np.flatnonzero(empty)[0])
        raise InputError(f"animal '{ids.iloc[pos]}' has no weight on day {days.iloc[pos]} "
                         f"(column '{weight}' is empty)", file=file, location=_row(pos))
    w = require_numeric(table, weight, file=file)
    bad = (w <= 0).to_numpy()
    if bad.any():
        pos = int(np.flatnonzero(bad)[0])
        raise InputError(f"weight must be > 0 g but has {shown_value(w.iloc[pos])}",
                         file=file, location=_row(pos))
    out = pd.DataFrame({"animal": ids.to_numpy(), "day": days.to_numpy(),
                        "weight_g": w.to_numpy(dtype=float), "row": np.arange(len(table))})
    dup = out.duplicated(["animal", "day"], keep="first").to_numpy()
    if dup.any():
        pos = int(np.flatnonzero(dup)[0])
        first = int(np.flatnonzero(((out["animal"] == out["animal"].iloc[pos])
                                    & (out["day"] == out["day"].iloc[pos])).to_numpy())[0])
        raise InputError(f"animal '{ids.iloc[pos]}' has two weights on day "
                         f"{days.iloc[pos]} (also {_row(first)})", file=file,
                         location=_row(pos))
    return out.sort_values(["animal", "day"], kind="stable").reset_index(drop=True)


def read_events(table: pd.DataFrame, *, file: FileLike = None, animal: str = "animal",
                event: str = "event", day1: _dt.date | None = None) -> pd.DataFrame:
    """Check death/endpoint records: ``animal, day, event`` (1 = death or humane endpoint,
    0 = censored: planned sacrifice, end of study, alive); other columns are kept.

    Raises
    ------
    InputError
        An animal listed twice, an event not 0/1, a missing day/date.
    """
    ids = _ids(table, animal, file)
    _unique(ids, "events table", file)
    days = to_days(table, file=file, day1=day1)
    require_columns(table, [event], file=file)
    e = require_numeric(table, event, file=file)
    bad = ~e.isin([0.0, 1.0]).to_numpy()
    if bad.any():
        pos = int(np.flatnonzero(bad)[0])
        raise InputError(f"column '{event}' must be 1 (death or endpoint) or 0 (censored) "
                         f"but has {shown_value(table[event].iloc[pos])}", file=file,
                         location=_row(pos))
    keep = [c for c in table.columns if c not in (animal, event, "day", "date")]
    out = pd.DataFrame({"animal": ids.to_numpy(), "day": days.to_numpy(),
                        "event": e.to_numpy().astype(int)})
    for c in keep:
        out[c] = table[c].to_numpy()
    out["row"] = np.arange(len(table))
    return out


def read_engraftment(table: pd.DataFrame, *, file: FileLike = None, animal: str = "animal",
                     tissue: str = "tissue", value: str = "human_pct") -> pd.DataFrame:
    """Check engraftment: one row per animal × tissue with the % of human cells.

    Returns
    -------
    pandas.DataFrame
        ``animal, tissue, human_pct`` (+ other columns).

    Raises
    ------
    InputError
        A value outside 0–100 %, a non-numeric value, an animal × tissue twice.
    """
    ids = _ids(table, animal, file)
    require_columns(table, [tissue, value], file=file)
    require_keys(table, [tissue], file=file, allow_missing=False)
    v = require_numeric(table, value, file=file, allow_nan=True)
    bad = ((v < 0) | (v > 100)).to_numpy()
    if bad.any():
        pos = int(np.flatnonzero(bad)[0])
        raise InputError(f"column '{value}' is a percentage (0–100) but has "
                         f"{shown_value(v.iloc[pos])}", file=file, location=_row(pos))
    tis = table[tissue].astype(str).str.strip()
    out = table.drop(columns=[animal, tissue, value]).copy()
    out.insert(0, "human_pct", v.to_numpy())
    out.insert(0, "tissue", tis.to_numpy())
    out.insert(0, "animal", ids.to_numpy())
    dup = out.duplicated(["animal", "tissue"]).to_numpy()
    if dup.any():
        pos = int(np.flatnonzero(dup)[0])
        raise InputError(f"animal '{ids.iloc[pos]}' has two values for tissue "
                         f"'{tis.iloc[pos]}'", file=file, location=_row(pos))
    return out.reset_index(drop=True)


def check_chronology(*, animals: pd.DataFrame | None = None,
                     weights: pd.DataFrame | None = None,
                     events: pd.DataFrame | None = None,
                     files: dict[str, FileLike] | None = None) -> None:
    """Refuse dates out of order, animal by animal.

    The order is: injection (``animals.injected_day``, optional) → weights → death or
    censoring (``events.day``, not before day 1). A weight before the injection or after
    the death, or an event before the injection or before day 1, is an error naming the
    file and row.

    Parameters
    ----------
    animals, weights, events
        Tables from :func:`read_animals`, :func:`read_weights`, :func:`read_events`
        (``weights`` and ``events`` carry the original ``row``).
    files
        ``{"animals": path, "weights": path, "events": path}`` for messages.
    """
    files = files or {}
    injected: dict[str, float] = {}
    if animals is not None and "injected_day" in animals.columns:
        injected = dict(zip(animals["animal"].astype(str).tolist(),
                            animals["injected_day"].astype(float).tolist(), strict=True))
    end: dict[str, int] = {}
    if events is not None:
        for animal, day, event, row in zip(events["animal"].astype(str).tolist(),
                                           events["day"].astype(int).tolist(),
                                           events["event"].astype(int).tolist(),
                                           events["row"].astype(int).tolist(), strict=True):
            inj = injected.get(animal)
            if day < 1:
                raise InputError(f"animal '{animal}': its death/censoring (day {day}) is "
                                 "before day 1, the first treatment day (dates out of order)",
                                 file=files.get("events"), location=_row(row))
            if inj is not None and day < inj:
                raise InputError(f"animal '{animal}': its death/censoring (day {day}) is "
                                 f"before its injection (day {inj:g}) (dates out of order)",
                                 file=files.get("events"), location=_row(row))
            if event == 1:
                end[animal] = day
    if weights is not None:
        for animal, day, row in zip(weights["animal"].astype(str).tolist(),
                                    weights["day"].astype(int).tolist(),
                                    weights["row"].astype(int).tolist(), strict=True):
            inj = injected.get(animal)
            if inj is not None and day < inj:
                raise InputError(f"animal '{animal}' is weighed on day {day}, before its "
                                 f"injection (day {inj:g}) (dates out of order)",
                                 file=files.get("weights"), location=_row(row))
            died = end.get(animal)
            if died is not None and day > died:
                raise InputError(f"animal '{animal}' is weighed on day {day}, after its "
                                 f"death or endpoint on day {died} (dates out of order)",
                                 file=files.get("weights"), location=_row(row))
