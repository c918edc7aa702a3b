"""Steps every plate-based experiment kind shares: read plates, normalise, plate QC, maps.

A plate-based kind derives its settings from :class:`PlateSettings` (the keys ``layout``,
``data``, ``reader``, ``[experiment.normalise]``, ``[experiment.qc]`` and
``plate_map_factors``) and calls, in its :meth:`~preclin.study.kinds.ExperimentKind.run`::

    plates_in = read_plates(spec, ctx)                       # layouts + reader files
    wells = normalise_plates(plates_in.raw, spec.normalise)  # % viability, excluded + reason
    qc = plate_qc(wells, spec.normalise)                     # one row per plate
    warnings = plate_qc_warnings(qc, spec.qc, spec.name)
    figures = plate_map_figures(plates_in.layouts, factors, ctx)
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from pydantic import Field

from ...errors import StudyError
from .base import ExperimentSettings, ResultFigure, RunContext, StrictModel

__all__ = [
    "NormaliseSpec",
    "QCSpec",
    "PlateSettings",
    "PlateData",
    "read_plates",
    "normalise_plates",
    "plate_qc",
    "plate_qc_warnings",
    "plate_map_figures",
    "plate_overview",
]


class NormaliseSpec(StrictModel):
    """How raw plate signal becomes % viability (see :func:`preclin.plates.normalise`)."""

    control_column: str = "control"
    blank: str | None = "blank"
    vehicle: str = "vehicle"
    positive: str | None = None
    #: None: per plate, and per read / kinetic time point when the data hold several
    by: list[str] | None = None
    vehicle_by: list[str] = Field(default_factory=list)


class QCSpec(StrictModel):
    """Plate acceptance criteria."""

    z_prime_min: float = 0.5
    cv_max: float = 20.0


class PlateSettings(ExperimentSettings):
    """Keys of a plate-based experiment: layouts, data files, reader, normalisation, QC."""

    layout: str | list[str]
    data: str | list[str] | None = None
    reader: str = "auto"
    #: which read(s) of a multi-read export to analyse (e.g. "450" of a 450/650 nm WST-8
    #: read); required when the data hold several
    read: str | list[str] | None = None
    #: which time point (cycle) of a kinetic read to analyse; required when there are several
    cycle: int | None = None
    normalise: NormaliseSpec = Field(default_factory=NormaliseSpec)
    qc: QCSpec = Field(default_factory=QCSpec)
    plate_map_factors: list[str] = Field(default_factory=list)


@dataclass(frozen=True)
class PlateData:
    """Raw wells of every plate of an experiment, the files read and the layouts."""

    raw: pd.DataFrame
    inputs: tuple[Path, ...]
    layouts: tuple[Any, ...]  # preclin.plates.Layout


def _as_list(value: str | list[str] | None) -> list[str]:
    if value is None:
        return []
    return [value] if isinstance(value, str) else list(value)


def read_plates(spec: PlateSettings, ctx: RunContext) -> PlateData:
    """Read the layouts and the plate-reader files of ``spec`` into one long table.

    Data files are either listed in the study file (``data``, one layout) or named by each
    layout's ``[meta] paths``.
    """
    from ... import plates

    layouts = [plates.read_layout(p) for pat in _as_list(spec.layout) for p in
               ctx.resolve(pat)]
    inputs: list[Path] = [lay.source for lay in layouts if lay.source is not None]
    frames = []
    data_files = [p for pat in _as_list(spec.data) for p in ctx.resolve(pat)]
    if data_files:
        if len(layouts) != 1:
            raise StudyError(f"experiment '{spec.name}': give one layout when data files are "
                             "listed in the study file")
        for f in data_files:
            frames.append(plates.read(f, layout=layouts[0], reader=spec.reader))
        inputs += data_files
    else:
        for lay in layouts:
            frames.append(plates.read(None, layout=lay, reader=spec.reader))
            inputs += [p for p in lay.paths.values() if p is not None]
    raw = _one_read(pd.concat(frames, ignore_index=True), spec)
    return PlateData(raw=raw, inputs=tuple(inputs), layouts=tuple(layouts))


def _one_read(raw: pd.DataFrame, spec: PlateSettings) -> pd.DataFrame:
    """The wells of the chosen read and time point. Several reads (wavelengths,
    calculations) or kinetic cycles would each give every well a point on the same curve:
    they are refused unless ``read`` / ``cycle`` says which one to analyse."""
    if "read" in raw.columns:
        have = [r for r in dict.fromkeys(raw["read"].astype(str)) if r != ""]
        want = _as_list(spec.read)
        if want:
            missing = [r for r in want if r not in have]
            if missing:
                raise StudyError(f"experiment '{spec.name}': read {missing[0]!r} is not in "
                                 f"the data (reads: {', '.join(have) or 'none named'})")
            raw = raw[raw["read"].astype(str).isin(want)].reset_index(drop=True)
        elif len(have) > 1:
            raise StudyError(f"experiment '{spec.name}': the data hold {len(have)} reads "
                             f"({', '.join(have)}); say which to analyse with read = "
                             f"\"{have[0]}\" in the experiment")
    elif spec.read is not None:
        raise StudyError(f"experiment '{spec.name}': read = {spec.read!r} was given but the "
                         "data files name no reads")
    if "cycle" in raw.columns:
        cycles = raw["cycle"].dropna().unique()
        if spec.cycle is not None:
            if spec.cycle not in set(int(c) for c in cycles):
                raise StudyError(f"experiment '{spec.name}': cycle {spec.cycle} is not in "
                                 f"the data (cycles {int(min(cycles))}–{int(max(cycles))})")
            raw = raw[raw["cycle"] == spec.cycle].reset_index(drop=True)
        elif len(cycles) > 1:
            raise StudyError(f"experiment '{spec.name}': the data are a kinetic read with "
                             f"{len(cycles)} time points; say which to analyse with cycle = "
                             "N in the experiment")
    elif spec.cycle is not None:
        raise StudyError(f"experiment '{spec.name}': cycle = {spec.cycle} was given but the "
                         "data are not a kinetic read")
    return raw


def normalise_plates(raw: pd.DataFrame, norm: NormaliseSpec) -> pd.DataFrame:
    """Blank subtraction and % of vehicle as ``norm`` says (every well kept)."""
    from ... import plates

    return plates.normalise(
        raw, blank=norm.blank, vehicle=norm.vehicle, positive=norm.positive,
        by=None if norm.by is None else tuple(norm.by), control_column=norm.control_column,
        vehicle_by=tuple(norm.vehicle_by),
    )


def plate_qc(wells: pd.DataFrame, norm: NormaliseSpec) -> pd.DataFrame:
    """One row per plate: control statistics, Z′-factor and trend flags."""
    from ... import plates

    return plates.plate_qc(wells, control_column=norm.control_column, vehicle=norm.vehicle,
                           positive=norm.positive if norm.positive else norm.blank)


def plate_qc_warnings(qc: pd.DataFrame, criteria: QCSpec, experiment: str) -> list[str]:
    """Warnings for plates with a QC flag or a Z′-factor below ``criteria.z_prime_min``."""
    out: list[str] = []
    for _, row in qc.iterrows():
        if str(row.get("flag", "")):
            out.append(f"{experiment}: plate {row['plate']}: QC flag {row['flag']}")
        zp = row.get("z_prime", np.nan)
        if np.isfinite(zp) and zp < criteria.z_prime_min:
            out.append(f"{experiment}: plate {row['plate']}: Z′ = {zp:.2f} below "
                       f"{criteria.z_prime_min}")
    return out


def plate_map_figures(layouts: Sequence[Any], factors: Sequence[str], ctx: RunContext, *,
                      log_factor: str | None = None) -> list[ResultFigure]:
    """Plate maps (role ``"plate_map"``) of the first plate of each layout, per factor.

    Factors a layout does not have are skipped; ``log_factor`` is drawn on a log scale.
    """
    from ... import plates

    figs: list[ResultFigure] = []
    for lay in layouts:
        for plate in lay.plates[:1]:
            for factor in factors:
                if factor not in lay.factors:
                    continue
                fig = plates.plot_layout(lay, factor=factor, plate=plate,
                                         log=factor == log_factor)
                figs.append(ctx.save_figure(
                    fig, f"map_{plate}_{factor}", role="plate_map",
                    caption=f"Plate map of plate {plate}, coloured by {factor}."))
    return figs


def plate_overview(wells: pd.DataFrame) -> dict[str, int]:
    """Plates, wells and excluded wells: the plate part of an overview row."""
    return {"plates": int(wells["plate"].nunique()), "wells": len(wells),
            "wells excluded": int(wells["excluded"].sum())}
