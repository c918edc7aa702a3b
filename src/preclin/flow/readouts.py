"""Bench readouts of flow cytometry, one call each, on long tables.

All functions take the long population table of :func:`preclin.flow.stats.flow_stats`
(``file``, ``population``, ``count``, ``parent_count``, ``percent_parent``,
``percent_total`` and optional ``STAT_MARKER`` columns) and return one long table with
``file``, any sample metadata columns, ``readout``, ``population``, ``statistic``,
``value`` — or, for :func:`mfi`, the MFI per file. Group comparisons go through
:func:`preclin.stats.compare_table` (:func:`compare_readout`). Definitions:
``docs/methods/flow.md``.

- :func:`apoptosis`: annexin-V / 7-AAD quadrants of a parent population as % of it:
  live (A−7−), early apoptotic (A+7−), late apoptotic (A+7+), necrotic (A−7+).
- :func:`mfi`: a marker statistic (median by default) in a population, raw and relative
  to a control (isotype/FMO/untreated) — ratio or difference.
- :func:`chimerism`: % human = 100 · human CD45+ / (human CD45+ + mouse CD45+).
- :func:`composition`: % of a parent for each lineage population.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING

import numpy as np

from ..errors import InputError

if TYPE_CHECKING:
    import pandas as pd

__all__ = ["READOUT_COLUMNS", "apoptosis", "mfi", "chimerism", "composition",
           "add_metadata", "compare_readout"]

READOUT_COLUMNS = ("file", "readout", "population", "statistic", "value")


def _need(table: pd.DataFrame, cols: Sequence[str]) -> None:
    missing = [c for c in cols if c not in table.columns]
    if missing:
        raise InputError(f"the population table lacks column(s) {', '.join(missing)}")


def _pop(table: pd.DataFrame, path: str) -> pd.DataFrame:
    rows = table[table["population"] == path]
    if rows.empty:
        import difflib

        close = difflib.get_close_matches(path, table["population"].unique().tolist(), n=1)
        hint = f"; did you mean {close[0]!r}?" if close else ""
        raise InputError(f"no population {path!r} in the table{hint}")
    return rows.set_index("file")


def apoptosis(table: pd.DataFrame, *, live: str, early: str, late: str, necrotic: str
              ) -> pd.DataFrame:
    """% live, early apoptotic, late apoptotic and necrotic cells per file.

    Parameters
    ----------
    table
        Population table.
    live, early, late, necrotic
        Paths of the four quadrant populations (annexin−7AAD−, annexin+7AAD−,
        annexin+7AAD+, annexin−7AAD+), siblings under one parent. Each percentage is of
        the four quadrants' sum (= the parent when the quadrants tile it); ``apoptotic``
        = early + late.
    """
    import pandas as pd

    _need(table, ("file", "population", "count"))
    parts = {k: _pop(table, p)["count"] for k, p in
             (("live", live), ("early apoptotic", early), ("late apoptotic", late),
              ("necrotic", necrotic))}
    counts = pd.DataFrame(parts)
    total = counts.sum(axis=1).astype(float)
    pct = counts.div(total.where(total > 0), axis=0) * 100.0
    pct["apoptotic"] = pct["early apoptotic"] + pct["late apoptotic"]
    paths = {"live": live, "early apoptotic": early, "late apoptotic": late,
             "necrotic": necrotic, "apoptotic": f"{early} | {late}"}
    values = pct.to_numpy(dtype=np.float64)
    rows = [{"file": f, "readout": "apoptosis", "population": paths[k],
             "statistic": f"percent_{k.replace(' ', '_')}", "value": float(values[i, j])}
            for i, f in enumerate(pct.index) for j, k in enumerate(pct.columns)]
    return pd.DataFrame(rows, columns=list(READOUT_COLUMNS))


def mfi(table: pd.DataFrame, *, population: str, marker: str, stat: str = "median",
        control: str | Mapping[str, str] | None = None, relative: str = "ratio"
        ) -> pd.DataFrame:
    """MFI of a marker in a population per file, raw and relative to a control.

    Parameters
    ----------
    population
        Population path (e.g. ``/Cells/CD45+/CD33+``).
    marker
        Marker or channel, as requested with ``--stat STAT:MARKER``.
    stat
        ``median`` (default), ``mean`` or ``gmean`` (the column ``STAT_MARKER``).
    control
        A control file (isotype, FMO or untreated) used for every file, or a mapping file
        -> its control file. ``None``: raw values only.
    relative
        ``"ratio"`` (MFI / control MFI, e.g. MFI ratio over isotype) or ``"difference"``
        (MFI − control MFI, e.g. ΔMFI over FMO).

    Returns
    -------
    DataFrame
        ``file``, ``readout`` (``mfi``), ``population``, ``statistic``
        (``{stat}_{marker}`` and ``{stat}_{marker}_{relative}``), ``value``.
    """
    import pandas as pd

    col = f"{stat}_{marker}"
    _need(table, ("file", "population", col))
    if relative not in {"ratio", "difference"}:
        raise InputError(f"relative must be 'ratio' or 'difference', got {relative!r}")
    vals = _pop(table, population)[col].astype(float)
    rows = [{"file": f, "readout": "mfi", "population": population, "statistic": col,
             "value": float(v)} for f, v in vals.items()]
    if control is not None:
        ctl = {f: control for f in vals.index} if isinstance(control, str) else dict(control)
        for f, v in vals.items():
            c = ctl.get(str(f))
            if c is None:
                continue
            if c not in vals.index:
                raise InputError(f"control file {c!r} has no {population!r} row")
            cv = float(vals[c])
            with np.errstate(divide="ignore", invalid="ignore"):
                r = v / cv if relative == "ratio" else v - cv
            rows.append({"file": f, "readout": "mfi", "population": population,
                         "statistic": f"{col}_{relative}", "value": float(r)})
    return pd.DataFrame(rows, columns=list(READOUT_COLUMNS))


def chimerism(table: pd.DataFrame, *, human: str, mouse: str) -> pd.DataFrame:
    """% human chimerism per file: ``100 · human / (human + mouse)`` CD45+ events.

    Parameters
    ----------
    human, mouse
        Paths of the human CD45+ (e.g. ``/Cells/hCD45+``) and mouse CD45+ populations.
    """
    import pandas as pd

    _need(table, ("file", "population", "count"))
    h = _pop(table, human)["count"].astype(float)
    m = _pop(table, mouse)["count"].astype(float)
    tot = h + m.reindex(h.index)
    pct = 100.0 * h / tot.where(tot > 0)
    return pd.DataFrame([{"file": f, "readout": "chimerism", "population": human,
                          "statistic": "percent_human_of_cd45", "value": float(v)}
                         for f, v in pct.items()], columns=list(READOUT_COLUMNS))


def composition(table: pd.DataFrame, *, populations: Sequence[str],
                parent: str | None = None) -> pd.DataFrame:
    """Lineage composition: each population as % of ``parent`` (default: its own parent).
    """
    import pandas as pd

    _need(table, ("file", "population", "count", "parent_count"))
    base = _pop(table, parent)["count"].astype(float) if parent is not None else None
    rows = []
    for p in populations:
        r = _pop(table, p)
        denom = base if base is not None else r["parent_count"].astype(float)
        pct = 100.0 * r["count"].astype(float) / denom.where(denom > 0)
        rows += [{"file": f, "readout": "composition", "population": p,
                  "statistic": "percent_of_parent" if parent is None else
                  f"percent_of {parent}", "value": float(v)} for f, v in pct.items()]
    return pd.DataFrame(rows, columns=list(READOUT_COLUMNS))


def add_metadata(readouts: pd.DataFrame, metadata: pd.DataFrame, *, on: str = "file"
                 ) -> pd.DataFrame:
    """Join sample metadata (one row per file, e.g. from the study file) to a readout
    table; columns: ``file``, the metadata columns, then ``readout`` … ``value``."""
    _need(readouts, (on,))
    if on not in metadata.columns:
        raise InputError(f"the metadata lack the column {on!r}")
    if metadata[on].duplicated().any():
        raise InputError(f"the metadata list a {on} twice")
    out = readouts.merge(metadata, on=on, how="left", validate="many_to_one")
    meta = [c for c in metadata.columns if c != on]
    rest = [c for c in readouts.columns if c != on]
    return out[[on, *meta, *rest]]


def compare_readout(readouts: pd.DataFrame, *, statistic: str, group: str,
                    control: str | None = None, **kwargs: object) -> pd.DataFrame:
    """Compare one readout statistic between groups with :func:`preclin.stats.compare_table`
    (Welch's t test by default, Holm–Šidák adjusted); extra keywords go to it."""
    from ..stats import compare_table

    _need(readouts, ("statistic", "value", group))
    sub = readouts[readouts["statistic"] == statistic]
    if sub.empty:
        raise InputError(f"no rows with statistic {statistic!r}")
    return compare_table(sub, value="value", group=group, control=control,
                         **kwargs)  # type: ignore[arg-type]
