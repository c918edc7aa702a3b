"""Channel values of one gated population of an FCS file, for the histogram models.

:func:`population_events` reads an FCS file, applies a gate file (Gating-ML 2.0 ``.xml``,
FACSDiva ``.xml``, FlowJo ``.wsp`` or a preclin ``.toml`` template, read by
:func:`preclin.flow.stats.load_gates`) and returns the values of the requested channels
for the events of one population, on the scale the gates see (compensated when the gate
file compensates; untransformed). Without a gate file every event is returned. The
proliferation (:mod:`~preclin.flow.proliferation`) and cell-cycle
(:mod:`~preclin.flow.cellcycle`) models take these arrays.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import InputError

__all__ = ["GatedEvents", "population_events"]


@dataclass(frozen=True)
class GatedEvents:
    """Channel values of the events of one population.

    Attributes
    ----------
    values
        Channel name as asked -> float64 values of the population's events.
    population
        Path of the population (``"/"`` for all events).
    events_total
        Events in the file.
    events
        Events in the population.
    """

    values: dict[str, np.ndarray]
    population: str
    events_total: int
    events: int

    def __getitem__(self, channel: str) -> np.ndarray:
        return self.values[channel]

    def excluded(self) -> list[tuple[str, int]]:
        """``(reason, events)`` for the events outside the population (empty without)."""
        out = self.events_total - self.events
        return [(f"outside the population {self.population}", out)] if out else []


def population_events(
    fcs: str | os.PathLike[str],
    channels: Sequence[str],
    *,
    gates: str | os.PathLike[str] | Any = None,
    population: str | None = None,
    comp: str = "auto",
) -> GatedEvents:
    """Values of ``channels`` for the events of one population of an FCS file.

    Parameters
    ----------
    fcs
        The FCS file.
    channels
        Channels by ``$PnN`` or ``$PnS`` (marker) name.
    gates
        Gate file (``.xml``, ``.wsp``, ``.toml``) or what
        :func:`~preclin.flow.stats.load_gates` returns; ``None``: all events.
    population
        The population by gate id, path (``/Cells/Live/CD3+``) or unique name; required
        with ``gates`` (``"/"`` = all events).
    comp
        ``"auto"`` (as the gate file says), ``"none"`` or a spillover matrix file.

    Returns
    -------
    GatedEvents

    Raises
    ------
    InputError
        Unknown channel or population, a workspace without this file's sample, or a
        population without ``gates``.
    """
    from .io import read_fcs

    path = Path(fcs)
    if gates is None:
        if population not in (None, "", "/"):
            raise InputError(f"population {population!r} needs a gate file (--gates)")
        sample = read_fcs(path)
        vals = {ch: np.asarray(sample.events[:, sample.channel_index(ch)], dtype=np.float64)
                for ch in channels}
        return GatedEvents(vals, "/", sample.n_events, sample.n_events)
    if population is None:
        raise InputError("a gate file needs the population to fit (--population PATH)")
    from .gates import UNCOMPENSATED
    from .plot import resolve_population
    from .stats import _gate_compensation, plan_files

    plan, _notes = plan_files([path], gates, comp=comp)
    _, strategy = plan[0]
    sample = read_fcs(path)
    gid = resolve_population(strategy, population)
    data = strategy.data(sample)
    if gid is None:
        mask = np.ones(sample.n_events, dtype=bool)
        label = "/"
    else:
        mask = strategy.evaluate(sample, [gid])[gid]
        label = strategy.path(gid)
    cmp = _gate_compensation(strategy)
    vals = {}
    for ch in channels:
        col = data.channel(ch, cmp) if cmp != UNCOMPENSATED else data.channel(ch)
        vals[ch] = np.asarray(col[mask], dtype=np.float64)
    return GatedEvents(vals, label, sample.n_events, int(mask.sum()))
