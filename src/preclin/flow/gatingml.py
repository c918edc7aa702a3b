"""Import Gating-ML 2.0 documents (gates, transforms, spectrum matrices) with defusedxml.

``read_gatingml(path)`` returns a :class:`~preclin.flow.gates.GatingStrategy`. Supported:
``RectangleGate`` (ranges, open-ended), ``PolygonGate``, ``EllipsoidGate``,
``QuadrantGate``, ``BooleanGate`` (and/or/not, ``use-as-complement``), ``parent_id``;
transforms ``flin``, ``flog``, ``fasinh``, ``logicle``, ``hyperlog``, ``fratio``;
compensation ``FCS``, ``uncompensated`` and ``spectrumMatrix`` ids.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from ..errors import InputError
from .compensate import Spillover
from .gates import (
    UNCOMPENSATED,
    AnyDimension,
    BooleanGate,
    Dimension,
    EllipsoidGate,
    GatingStrategy,
    PolygonGate,
    QuadrantGate,
    RatioDimension,
    RectangleGate,
)
from .transforms import Asinh, Hyperlog, Linear, Log, Logicle, Transform

__all__ = ["read_gatingml"]

NS = {
    "gating": "http://www.isac-net.org/std/Gating-ML/v2.0/gating",
    "transforms": "http://www.isac-net.org/std/Gating-ML/v2.0/transformations",
    "data-type": "http://www.isac-net.org/std/Gating-ML/v2.0/datatypes",
}
_G, _T, _D = (f"{{{NS[k]}}}" for k in ("gating", "transforms", "data-type"))


def _attr(el: Any, ns: str, name: str, default: str | None = None) -> str | None:
    v = el.get(f"{ns}{name}")
    return v if v is not None else el.get(name, default)


def _num(el: Any, ns: str, name: str, file: Path, where: str,
         default: float | None = None) -> float:
    v = _attr(el, ns, name)
    if v is None:
        if default is not None:
            return default
        raise InputError(f"attribute {name} is missing", file=file, location=where)
    try:
        return float(v)
    except ValueError:
        raise InputError(f"attribute {name}={v!r} is not a number", file=file,
                         location=where) from None


def read_gatingml(path: str | os.PathLike[str]) -> GatingStrategy:
    """Read a Gating-ML 2.0 file into a gating strategy.

    Raises
    ------
    InputError
        Malformed XML, unknown references, unsupported elements; the message names the
        file and the gate or transform id.
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
    if root.tag != f"{_G}Gating-ML":
        raise InputError("not a Gating-ML 2.0 document (root element is "
                         f"{root.tag.split('}')[-1]!r})", file=file)

    transforms = _transforms(root, file)
    strategy = GatingStrategy()
    for sm in root.iter(f"{_T}spectrumMatrix"):
        sid = _attr(sm, _T, "id") or ""
        fl_el, det_el = sm.find(f"{_T}fluorochromes"), sm.find(f"{_T}detectors")
        fl = [_attr(d, _D, "name") or "" for d in (fl_el if fl_el is not None else [])]
        det = [_attr(d, _D, "name") or "" for d in (det_el if det_el is not None else [])]
        rows = [[_num(c, _T, "value", file, f"spectrumMatrix {sid}")
                 for c in sp.iter(f"{_T}coefficient")] for sp in sm.iter(f"{_T}spectrum")]
        try:
            strategy.matrices[sid] = Spillover(tuple(det), rows, source=sid,  # type: ignore[arg-type]
                                               fluorochromes=tuple(fl))
        except (ValueError, InputError) as exc:
            raise InputError(f"spectrumMatrix {sid!r} is malformed ({exc})",
                             file=file) from None

    for el in root.iter():  # gates may sit inside other (non-Gating-ML) elements
        tag = el.tag.split("}")[-1] if isinstance(el.tag, str) else ""
        if not str(el.tag).startswith(_G) or tag not in {
                "RectangleGate", "PolygonGate", "EllipsoidGate", "QuadrantGate",
                "BooleanGate"}:
            continue
        gid = _attr(el, _G, "id")
        if not gid:
            raise InputError(f"a {tag} has no id", file=file)
        parent = _attr(el, _G, "parent_id")
        where = f"gate {gid}"
        if tag == "QuadrantGate":
            strategy.add_quadrants(_quadrant(el, gid, transforms, file), parent)
            continue
        if tag == "RectangleGate":
            dims, mins, maxs = [], [], []
            for d in el.findall(f"{_G}dimension"):
                dims.append(_dimension(d, transforms, file, where))
                lo, hi = _attr(d, _G, "min"), _attr(d, _G, "max")
                mins.append(None if lo is None else _num(d, _G, "min", file, where))
                maxs.append(None if hi is None else _num(d, _G, "max", file, where))
            if not dims:
                raise InputError("rectangle gate without dimensions", file=file,
                                 location=where)
            gate: Any = RectangleGate(gid, tuple(dims), tuple(mins), tuple(maxs))
        elif tag == "PolygonGate":
            dims = [_dimension(d, transforms, file, where)
                    for d in el.findall(f"{_G}dimension")]
            if len(dims) != 2:
                raise InputError("polygon gate needs 2 dimensions", file=file, location=where)
            verts = []
            for v in el.findall(f"{_G}vertex"):
                c = [_num(x, _D, "value", file, where) for x in v.findall(f"{_G}coordinate")]
                if len(c) != 2:
                    raise InputError("vertex needs 2 coordinates", file=file, location=where)
                verts.append((c[0], c[1]))
            gate = PolygonGate(gid, (dims[0], dims[1]), tuple(verts))
        elif tag == "EllipsoidGate":
            dims = [_dimension(d, transforms, file, where)
                    for d in el.findall(f"{_G}dimension")]
            mean_el = el.find(f"{_G}mean")
            cov_el = el.find(f"{_G}covarianceMatrix")
            ds_el = el.find(f"{_G}distanceSquare")
            if mean_el is None or cov_el is None or ds_el is None:
                raise InputError("ellipsoid gate needs mean, covarianceMatrix and "
                                 "distanceSquare", file=file, location=where)
            mean = tuple(_num(c, _D, "value", file, where)
                         for c in mean_el.findall(f"{_G}coordinate"))
            cov = tuple(tuple(_num(e, _D, "value", file, where)
                              for e in r.findall(f"{_G}entry"))
                        for r in cov_el.findall(f"{_G}row"))
            k = len(dims)
            if len(mean) != k or len(cov) != k or any(len(r) != k for r in cov):
                raise InputError(f"ellipsoid gate: mean and covariance must match {k} "
                                 "dimensions", file=file, location=where)
            gate = EllipsoidGate(gid, tuple(dims), mean, cov,
                                 _num(ds_el, _D, "value", file, where))
        else:  # BooleanGate
            ops = [c for c in el if isinstance(c.tag, str) and c.tag in
                   (f"{_G}and", f"{_G}or", f"{_G}not")]
            if len(ops) != 1:
                raise InputError("boolean gate needs exactly one of and/or/not", file=file,
                                 location=where)
            refs = []
            for r in ops[0].findall(f"{_G}gateReference"):
                ref = _attr(r, _G, "ref")
                if not ref:
                    raise InputError("gateReference without ref", file=file, location=where)
                comp = (_attr(r, _G, "use-as-complement") or "false").lower() == "true"
                refs.append((ref, comp))
            gate = BooleanGate(gid, ops[0].tag.split("}")[-1], tuple(refs))
        strategy.add(gate, parent)

    for gid, parent in strategy.parents.items():
        if parent is not None and parent not in strategy.gates:
            raise InputError(f"gate {gid!r} has unknown parent {parent!r}", file=file)
        g = strategy.gates[gid]
        if isinstance(g, BooleanGate):
            for ref, _ in g.refs:
                if ref not in strategy.gates:
                    raise InputError(f"boolean gate {gid!r} refers to unknown gate {ref!r}",
                                     file=file)
    return strategy


def _transforms(root: Any, file: Path) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for tr in root.findall(f"{_T}transformation"):
        tid = _attr(tr, _T, "id")
        if not tid:
            raise InputError("a transformation has no id", file=file)
        where = f"transformation {tid}"
        kids = [k for k in tr if isinstance(k.tag, str)]
        if len(kids) != 1:
            raise InputError("transformation needs exactly one function", file=file,
                             location=where)
        k = kids[0]
        name = k.tag.split("}")[-1]

        def p(n: str, default: float | None = None, _k: Any = k, _w: str = where) -> float:
            return _num(_k, _T, n, file, _w, default)

        try:
            obj: Transform | tuple[str, str, float, float, float]
            if name == "flin":
                obj = Linear(p("T"), p("A"))
            elif name == "flog":
                obj = Log(p("T"), p("M"))
            elif name == "fasinh":
                obj = Asinh(p("T"), p("M"), p("A"))
            elif name == "logicle":
                obj = Logicle(p("T"), p("W"), p("M"), p("A"))
            elif name == "hyperlog":
                obj = Hyperlog(p("T"), p("W"), p("M"), p("A"))
            elif name == "fratio":
                dims = [_attr(d, _D, "name") or "" for d in k.findall(f"{_D}fcs-dimension")]
                if len(dims) != 2:
                    raise InputError("fratio needs two dimensions", file=file, location=where)
                obj = (dims[0], dims[1], p("A"), p("B"), p("C"))
            else:
                raise InputError(f"unsupported transformation {name!r}", file=file,
                                 location=where)
        except InputError as exc:
            if exc.file is None:
                raise InputError(exc.problem, file=file, location=where) from None
            raise
        out[tid] = obj
    return out


def _dimension(d: Any, transforms: dict[str, Any], file: Path, where: str) -> AnyDimension:
    comp = _attr(d, _G, "compensation-ref") or UNCOMPENSATED
    tref = _attr(d, _G, "transformation-ref")
    tr = None
    if tref is not None:
        if tref not in transforms or isinstance(transforms[tref], tuple):
            raise InputError(f"unknown transformation {tref!r}", file=file, location=where)
        tr = transforms[tref]
    fcs = d.find(f"{_D}fcs-dimension")
    if fcs is not None:
        name = _attr(fcs, _D, "name")
        if not name:
            raise InputError("fcs-dimension without a name", file=file, location=where)
        return Dimension(name, comp, tr)
    new = d.find(f"{_D}new-dimension")
    if new is not None:
        rref = _attr(new, _D, "transformation-ref")
        if rref not in transforms or not isinstance(transforms[rref], tuple):
            raise InputError(f"new-dimension refers to unknown ratio {rref!r}", file=file,
                             location=where)
        num, den, a, b, c = transforms[rref]
        return RatioDimension(num, den, a, b, c, comp, tr)
    raise InputError("dimension names no fcs-dimension or new-dimension", file=file,
                     location=where)


def _quadrant(el: Any, gid: str, transforms: dict[str, Any], file: Path) -> QuadrantGate:
    where = f"gate {gid}"
    dividers: dict[str, tuple[AnyDimension, list[float]]] = {}
    for dv in el.findall(f"{_G}divider"):
        did = _attr(dv, _G, "id")
        if not did:
            raise InputError("divider without id", file=file, location=where)
        dim = _dimension(dv, transforms, file, where)
        vals = []
        for v in dv.findall(f"{_G}value"):
            try:
                vals.append(float((v.text or "").strip()))
            except ValueError:
                raise InputError(f"divider {did!r} value {v.text!r} is not a number",
                                 file=file, location=where) from None
        dividers[did] = (dim, vals)
    positions: dict[str, dict[str, float]] = {}
    for q in el.findall(f"{_G}Quadrant"):
        qid = _attr(q, _G, "id")
        if not qid:
            raise InputError("quadrant without id", file=file, location=where)
        positions[qid] = {(_attr(pos, _G, "divider_ref") or ""):
                          _num(pos, _G, "location", file, where)
                          for pos in q.findall(f"{_G}position")}
    return QuadrantGate.build(gid, dividers, positions)
