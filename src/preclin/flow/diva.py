"""Import BD FACSDiva experiment XML exports (gates per tube), parsed with defusedxml.

``read_diva(path)`` returns a :class:`~preclin.flow.flowjo.Workspace` whose samples are
the experiment's tubes (sample name = the tube's ``data_filename``; groups = specimens),
each with its own gating strategy and the counts FACSDiva stored (``num_events``), so
:func:`~preclin.flow.flowjo.match_samples` pairs tubes with FCS files and reports tubes
whose files were not given.

Coordinates. FACSDiva stores each region vertex in the units of its plot axis:

- linear axes: data units;
- log axes (``is_*_parameter_log`` and not scaled): log10 of the data value;
- biexponential axes (``is_*_parameter_scaled``): display channels 0-4095 of Diva's
  biexponential scale whose width is the axis' ``*_parameter_scale_value``. This display is
  reproduced with FlowJo's biex (:class:`~preclin.flow.transforms.FlowJoBiex`, 4096
  channels, top 262144, 4.5 positive decades, no extra negative decades,
  ``width = -scale``), which is the mapping of the RGLab/CytoML importer.

Polygons are tested in the plot's display space, rectangles and intervals on data values.
Fluorescence channels are compensated with the FCS file's ``$SPILL`` (what Diva applies
when compensation is on). Diva itself gates on its binned display: events within a bin of
a boundary can fall either side, so counts agree within a fraction of a percent, not
exactly (``docs/methods/flow.md``).
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import InputError
from .flowjo import Workspace, WorkspaceSample
from .gates import (
    UNCOMPENSATED,
    BooleanGate,
    Dimension,
    Gate,
    GatingStrategy,
    PolygonGate,
    RectangleGate,
)
from .transforms import FlowJoBiex, Log, Transform

__all__ = ["read_diva", "DIVA_BIEX"]

#: FlowJoBiex parameters used for Diva's biexponential display (width = -scale value)
DIVA_BIEX = {"positive": 4.5, "negative": 0.0, "max_range": 262144.0, "channels": 4096}
_LOG10 = Log(T=1.0, M=1.0)  # y = log10(x) + 1: Diva log axes (vertex stored as log10 x)


def read_diva(path: str | os.PathLike[str]) -> Workspace:
    """Read a FACSDiva experiment XML into a workspace of tubes.

    Raises
    ------
    InputError
        Not XML, not a FACSDiva export, or a gate that cannot be read (named by tube and
        gate path).
    """
    import defusedxml.ElementTree as ET
    from defusedxml import DefusedXmlException

    file = Path(path)
    try:
        root = ET.parse(file).getroot()
    except OSError as exc:
        raise InputError(f"cannot read: {exc.strerror or exc}", file=file) from None
    except (ET.ParseError, DefusedXmlException) as exc:
        raise InputError(f"not valid XML ({exc})", file=file) from None
    if root.tag != "bdfacs":
        raise InputError(f"not a FACSDiva export (root element is {root.tag!r})", file=file)
    samples: list[WorkspaceSample] = []
    groups: dict[str, list[str]] = {}
    for spec in root.iter("specimen"):
        sname = (spec.findtext("name") or "").strip()
        for tube in spec.findall("tube"):
            fname = (tube.findtext("data_filename") or "").strip()
            tname = tube.get("name", "")
            if not fname:
                continue
            sid = f"{sname}/{tname}"
            groups.setdefault(sname, []).append(sid)
            strategy, counts, notes = _tube(tube, file, f"tube {sid}")
            samples.append(WorkspaceSample(sample_id=sid, name=fname, uri=fname,
                                           keywords={"$FIL": fname}, strategy=strategy,
                                           counts=counts, groups=(sname,),
                                           notes=tuple(notes)))
    if not samples:
        raise InputError("the FACSDiva export holds no tube with a data file", file=file)
    return Workspace(file=file, samples=tuple(samples),
                     groups={k: tuple(v) for k, v in groups.items()},
                     version=root.get("version", ""))


def _axis(gate: Any, axis: str, param: str) -> tuple[Dimension, str]:
    scaled = (gate.findtext(f"is_{axis}_parameter_scaled") or "").strip() == "true"
    log = (gate.findtext(f"is_{axis}_parameter_log") or "").strip() == "true"
    tr: Transform | None = None
    unit = "linear"
    if scaled:
        scale = float(gate.findtext(f"{axis}_parameter_scale_value") or "0")
        if scale > 0:
            tr = FlowJoBiex(width=-scale, **DIVA_BIEX)  # type: ignore[arg-type]
            unit = "biex"
    elif log:
        tr, unit = _LOG10, "log"
    comp = "FCS" if not param.upper().startswith(("FSC", "SSC", "TIME")) else UNCOMPENSATED
    return Dimension(param, comp, tr), unit


def _data_value(v: float, unit: str, dim: Dimension) -> float:
    if unit == "log":
        return float(10.0 ** v)
    if unit == "biex" and dim.transform is not None:
        return float(dim.transform.inverse(np.array([v / 4096.0]))[0])
    return v


def _display(v: float, unit: str) -> float:
    return v / 4096.0 if unit == "biex" else v + 1.0 if unit == "log" else v


def _tube(tube: Any, file: Path, where: str
          ) -> tuple[GatingStrategy, dict[str, int], list[str]]:
    strategy = GatingStrategy()
    counts: dict[str, int] = {}
    notes: list[str] = []
    gates_el = tube.find("gates")
    entries: dict[str, Any] = {}
    for g in (gates_el if gates_el is not None else []):
        full = g.get("fullname", "")
        if g.get("type", "") == "EventSource_Classifier":
            counts["/"] = _count(g.findtext("num_events"))
        elif full:
            entries[full] = g
    composite = {f: (g.findtext("parent") or "").strip() for f, g in entries.items()
                 if g.get("type") == "Composite_Classifier"}
    done: set[str] = set()
    skipped: set[str] = set()

    def gid(full: str) -> str | None:
        while full in composite:  # quadrant binner: its bins hang off its parent
            full = composite[full]
        return None if full in ("", "All Events") else "/" + full.replace("\\", "/")

    def add(full: str) -> None:
        if full in done or full in skipped or full in composite:
            return
        g = entries[full]
        kind = g.get("type", "")
        loc = f"{where}, gate {full}"
        inp = (g.findtext("input") or "").strip()
        parent = (g.findtext("parent") or "").strip()
        deps = [d for d in (parent, inp) if d in entries]
        for d in deps:
            add(d)
        if any(d in skipped for d in deps):
            skipped.add(full)
            notes.append(f"{where}: gate {full!r} skipped (depends on a skipped gate)")
            return
        path = gid(full)
        assert path is not None
        gate: Gate
        if kind == "Region_Classifier":
            region = g.find("region")
            if region is None:
                raise InputError("gate has no region", file=file, location=loc)
            gate = _region(region, g, path, file, loc)
            parent_id = gid(inp or parent)
        elif kind == "RestOf_Classifier" and gid(inp) is not None:
            gate = BooleanGate(path, "not", ((str(gid(inp)), False),))
            parent_id = gid(parent)
        else:
            skipped.add(full)
            notes.append(f"{where}: gate {full!r} skipped (FACSDiva {kind or 'gate'} "
                         "is not supported)")
            return
        strategy.add(gate, parent_id)
        strategy.labels[path] = g.findtext("name") or full.rsplit("\\", 1)[-1]
        counts[strategy.path(path)] = _count(g.findtext("num_events"))
        done.add(full)

    for full in entries:
        add(full)
    return strategy, counts, notes


def _count(text: str | None) -> int:
    t = (text or "").strip()
    return int(t) if t.isdigit() else -1


def _region(region: Any, g: Any, gid: str, file: Path, loc: str) -> Gate:
    rtype = region.get("type", "")
    pts = []
    for p in region.iter("point"):
        try:
            pts.append((float(p.get("x", "nan")), float(p.get("y", "nan"))))
        except ValueError:
            raise InputError("a region point is not a number", file=file, location=loc) from None
    xparm, yparm = region.get("xparm"), region.get("yparm")
    if not xparm or not pts:
        raise InputError("region without parameter or points", file=file, location=loc)
    dx, ux = _axis(g, "x", xparm)
    if rtype == "INTERVAL_REGION":
        xs = sorted(_data_value(x, ux, dx) for x, _ in pts)
        return RectangleGate(gid, (Dimension(dx.channel, dx.compensation),),
                             (xs[0],), (xs[-1],))
    if not yparm:
        raise InputError(f"{rtype} needs two parameters", file=file, location=loc)
    dy, uy = _axis(g, "y", yparm)
    if rtype == "RECTANGLE_REGION":
        xs = [_data_value(x, ux, dx) for x, _ in pts]
        ys = [_data_value(y, uy, dy) for _, y in pts]
        return RectangleGate(gid, (Dimension(dx.channel, dx.compensation),
                                   Dimension(dy.channel, dy.compensation)),
                             (min(xs), min(ys)), (max(xs), max(ys)))
    if rtype == "POLYGON_REGION":
        verts = tuple((_display(x, ux), _display(y, uy)) for x, y in pts)
        return PolygonGate(gid, (dx, dy), verts)
    raise InputError(f"unsupported FACSDiva region type {rtype!r}", file=file, location=loc)
