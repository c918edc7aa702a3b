"""A plain TOML gate template for users without FlowJo.

Gates name channels by marker (``$PnS``, e.g. ``CD33``) or channel (``$PnN``, e.g.
``PE-A``); rewritten names (``/`` as ``_``, case) are accepted. Coordinates are in data
units (compensated when compensation is on). Polygons and ellipses are tested in the
display space of the channel's transform when ``[transforms]`` declares one (as FlowJo
does); ranges and rectangles do not depend on the transform. Example::

    [compensation]
    source = "auto"           # "auto" ($SPILLOVER when the file has one), "none", or a
                              # matrix file (CSV / FlowJo text), relative to this file

    [transforms]              # optional, per marker or channel
    CD33 = { kind = "logicle", T = 262144, W = 0.5, M = 4.5, A = 0 }

    [[gate]]
    name = "Cells"
    [gate.polygon]
    x = "FSC-A"
    y = "SSC-A"
    vertices = [[2e4, 1e4], [2.5e5, 1e4], [2.5e5, 2e5], [2e4, 2e5]]

    [[gate]]
    name = "CD33+"
    parent = "Cells"
    range = { channel = "CD33", min = 1000 }

    [[gate]]
    name = "apoptosis"         # a quadrant gate: four populations under the parent
    parent = "CD33+"
    [gate.quadrant]
    x = "Annexin V"
    y = "7-AAD"
    at = [500, 800]
    names = ["necrotic", "late apoptotic", "early apoptotic", "live"]

Quadrant ``names`` are in FlowJo's order Q1 (x−, y+), Q2 (x+, y+), Q3 (x+, y−),
Q4 (x−, y−). Other shapes: ``rectangle = {x, y, xmin, xmax, ymin, ymax}`` (missing bounds
open), ``ellipse = {x, y, center = [cx, cy], axes = [a, b], angle = degrees}`` and
``boolean = {op = "and" | "or" | "not", gates = ["A", "!B"]}`` (``!`` = complement).
Boundaries: ``min <= x < max`` (Gating-ML 2.0).
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import InputError
from .compensate import Spillover, read_spillover
from .gates import (
    UNCOMPENSATED,
    BooleanGate,
    Dimension,
    EllipsoidGate,
    Gate,
    GatingStrategy,
    PolygonGate,
    RectangleGate,
)
from .transforms import Asinh, FlowJoBiex, Hyperlog, Linear, Log, Logicle, Transform

__all__ = ["read_template", "parse_template", "QUADRANT_ORDER"]

QUADRANT_ORDER = ("x-y+", "x+y+", "x+y-", "x-y-")
_SHAPES = ("range", "rectangle", "polygon", "ellipse", "quadrant", "boolean")
_GATE_KEYS = {"name", "parent", *_SHAPES}
_TRANSFORMS: dict[str, type[Transform]] = {
    "linear": Linear, "log": Log, "asinh": Asinh, "logicle": Logicle,
    "hyperlog": Hyperlog, "biex": FlowJoBiex}


def read_template(path: str | os.PathLike[str]) -> GatingStrategy:
    """Read a TOML gate template into a gating strategy.

    Raises
    ------
    InputError
        Bad TOML, unknown keys (with the closest valid one), unknown parents, gates with
        no or two shapes; the message names the file and the gate.
    """
    try:
        import tomllib
    except ModuleNotFoundError:  # Python 3.10
        import tomli as tomllib  # type: ignore[no-redef]

    file = Path(path)
    try:
        doc = tomllib.loads(file.read_text(encoding="utf-8"))
    except OSError as exc:
        raise InputError(f"cannot read: {exc.strerror or exc}", file=file) from None
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise InputError(f"not valid TOML ({exc})", file=file) from None
    try:
        return parse_template(doc, base=file.parent)
    except InputError as exc:
        if exc.file is None:
            raise InputError(exc.problem, file=file, location=exc.location) from None
        raise


def _unknown(key: str, valid: set[str] | tuple[str, ...], where: str) -> InputError:
    import difflib

    close = difflib.get_close_matches(key, sorted(valid), n=1)
    hint = f"; did you mean {close[0]!r}?" if close else ""
    return InputError(f"unknown key {key!r}{hint}", location=where)


def parse_template(doc: Mapping[str, Any], *, base: Path | None = None) -> GatingStrategy:
    """Build a gating strategy from an already parsed template (see the module doc)."""
    for key in doc:
        if key not in {"compensation", "transforms", "gate"}:
            raise _unknown(key, {"compensation", "transforms", "gate"}, "top level")
    strategy = GatingStrategy()
    comp = _compensation(doc.get("compensation", {}), strategy, base)
    transforms = {str(k): _transform(k, v) for k, v in doc.get("transforms", {}).items()}
    gates = doc.get("gate", [])
    if not isinstance(gates, list) or not gates:
        raise InputError("the template defines no [[gate]]", location="gate")
    for i, g in enumerate(gates):
        where = f"gate[{i + 1}]"
        if not isinstance(g, Mapping):
            raise InputError("each [[gate]] must be a table", location=where)
        for key in g:
            if key not in _GATE_KEYS:
                raise _unknown(key, _GATE_KEYS, where)
        name = g.get("name")
        if not isinstance(name, str) or not name or "/" in name:
            raise InputError("a gate needs a name without '/'", location=where)
        where = f"gate {name!r}"
        shapes = [s for s in _SHAPES if s in g]
        if len(shapes) != 1:
            raise InputError(f"give exactly one shape ({', '.join(_SHAPES)})", location=where)
        parent = _find(g.get("parent"), strategy, where, "parent")
        shape, spec = shapes[0], g[shapes[0]]
        if not isinstance(spec, Mapping):
            raise InputError(f"{shape} must be a table", location=where)
        gid = f"{strategy.path(parent)}/{name}" if parent else f"/{name}"
        if shape == "quadrant":
            for qid, qname, gate in _quadrants(gid, spec, comp, transforms, where):
                strategy.add(gate, parent)
                strategy.labels[qid] = qname
            continue
        gate = _shape(shape, gid, spec, comp, transforms, strategy, where)
        strategy.add(gate, parent)
        strategy.labels[gid] = name
    return strategy


def _find(name: Any, strategy: GatingStrategy, where: str, what: str) -> str | None:
    """A gate defined above, by name or by path (``Cells/CD33+``)."""
    if name is None:
        return None
    if not isinstance(name, str) or not name:
        raise InputError(f"{what} must be a gate name", location=where)
    path = "/" + name.strip("/")
    if path in strategy.gates:
        return path
    hits = [g for g, lab in strategy.labels.items() if lab == name]
    if len(hits) == 1:
        return hits[0]
    if len(hits) > 1:
        raise InputError(f"{what} {name!r} is ambiguous; give its path "
                         f"({', '.join(h.lstrip('/') for h in hits)})", location=where)
    raise InputError(f"{what} {name!r} is not defined above", location=where)


def _compensation(spec: Any, strategy: GatingStrategy, base: Path | None) -> str:
    if not isinstance(spec, Mapping):
        raise InputError("[compensation] must be a table", location="compensation")
    for key in spec:
        if key != "source":
            raise _unknown(key, {"source"}, "compensation")
    src = spec.get("source", "auto")
    if src == "none":
        return UNCOMPENSATED
    if src == "auto":
        return "FCS"
    path = Path(src)
    if base is not None and not path.is_absolute():
        path = base / path
    strategy.matrices["template"] = read_spillover(path)
    return "template"


def _transform(name: str, spec: Any) -> Transform:
    where = f"transforms.{name}"
    if not isinstance(spec, Mapping) or "kind" not in spec:
        raise InputError("a transform is a table with a 'kind'", location=where)
    kind = str(spec["kind"]).lower()
    if kind not in _TRANSFORMS:
        raise _unknown(kind, tuple(_TRANSFORMS), where)
    params = {k: v for k, v in spec.items() if k != "kind"}
    try:
        return _TRANSFORMS[kind](**params)
    except TypeError as exc:
        raise InputError(f"bad parameters for {kind} ({exc})", location=where) from None


def _dim(channel: Any, comp: str, transforms: Mapping[str, Transform], where: str,
         *, transformed: bool) -> Dimension:
    if not isinstance(channel, str) or not channel:
        raise InputError("a channel or marker name is needed", location=where)
    return Dimension(channel, comp, transforms.get(channel) if transformed else None)


def _float(v: Any, what: str, where: str) -> float | None:
    if v is None:
        return None
    if isinstance(v, bool) or not isinstance(v, (int, float)):
        raise InputError(f"{what} must be a number, got {v!r}", location=where)
    return float(v)


def _check_keys(spec: Mapping[str, Any], valid: set[str], where: str) -> None:
    for key in spec:
        if key not in valid:
            raise _unknown(key, valid, where)


def _display(dim: Dimension, values: np.ndarray) -> np.ndarray:
    return dim.transform.forward(values) if dim.transform is not None else values


def _shape(shape: str, gid: str, spec: Mapping[str, Any], comp: str,
           transforms: Mapping[str, Transform], strategy: GatingStrategy,
           where: str) -> Gate:
    w = f"{where}.{shape}"
    if shape == "range":
        _check_keys(spec, {"channel", "min", "max"}, w)
        d = _dim(spec.get("channel"), comp, transforms, w, transformed=False)
        return RectangleGate(gid, (d,), (_float(spec.get("min"), "min", w),),
                             (_float(spec.get("max"), "max", w),))
    if shape == "rectangle":
        _check_keys(spec, {"x", "y", "xmin", "xmax", "ymin", "ymax"}, w)
        dx = _dim(spec.get("x"), comp, transforms, w, transformed=False)
        dy = _dim(spec.get("y"), comp, transforms, w, transformed=False)
        return RectangleGate(gid, (dx, dy),
                             (_float(spec.get("xmin"), "xmin", w),
                              _float(spec.get("ymin"), "ymin", w)),
                             (_float(spec.get("xmax"), "xmax", w),
                              _float(spec.get("ymax"), "ymax", w)))
    if shape == "polygon":
        _check_keys(spec, {"x", "y", "vertices"}, w)
        dx = _dim(spec.get("x"), comp, transforms, w, transformed=True)
        dy = _dim(spec.get("y"), comp, transforms, w, transformed=True)
        try:
            v = np.asarray(spec.get("vertices"), dtype=np.float64)
        except (TypeError, ValueError):
            raise InputError("vertices must be [[x, y], ...] numbers", location=w) from None
        if v.ndim != 2 or v.shape[1] != 2 or len(v) < 3:
            raise InputError("vertices must be at least 3 [x, y] pairs", location=w)
        v[:, 0], v[:, 1] = _display(dx, v[:, 0]), _display(dy, v[:, 1])
        return PolygonGate(gid, (dx, dy), tuple(map(tuple, v.tolist())))
    if shape == "ellipse":
        _check_keys(spec, {"x", "y", "center", "axes", "angle"}, w)
        dx = _dim(spec.get("x"), comp, transforms, w, transformed=True)
        dy = _dim(spec.get("y"), comp, transforms, w, transformed=True)
        try:
            c = np.asarray(spec["center"], dtype=np.float64).reshape(2)
            ax = np.asarray(spec["axes"], dtype=np.float64).reshape(2)
        except (KeyError, TypeError, ValueError):
            raise InputError("ellipse needs center = [x, y] and axes = [a, b]",
                             location=w) from None
        ang = np.deg2rad(_float(spec.get("angle", 0.0), "angle", w) or 0.0)
        u = np.array([np.cos(ang), np.sin(ang)])
        vv = np.array([-u[1], u[0]])
        pts = np.array([c - ax[0] * u, c + ax[0] * u, c - ax[1] * vv, c + ax[1] * vv])
        pts[:, 0], pts[:, 1] = _display(dx, pts[:, 0]), _display(dy, pts[:, 1])
        centre = (pts[0] + pts[1]) / 2
        major, minor = (pts[1] - pts[0]) / 2, (pts[3] - pts[2]) / 2
        a, b = float(np.hypot(*major)), float(np.hypot(*minor))
        if a <= 0 or b <= 0:
            raise InputError("ellipse axes must be > 0", location=w)
        u2 = major / a
        v2 = np.array([-u2[1], u2[0]])
        cov = a * a * np.outer(u2, u2) + b * b * np.outer(v2, v2)
        return EllipsoidGate(gid, (dx, dy), (float(centre[0]), float(centre[1])),
                             tuple(tuple(float(x) for x in r) for r in cov), 1.0)
    # boolean
    _check_keys(spec, {"op", "gates"}, w)
    op = spec.get("op")
    refs = spec.get("gates")
    if op not in {"and", "or", "not"} or not isinstance(refs, list) or not refs:
        raise InputError("boolean needs op = and|or|not and gates = [names]", location=w)
    resolved = []
    for r in refs:
        comp_ = isinstance(r, str) and r.startswith("!")
        target = _find(r[1:] if comp_ else r, strategy, w, "boolean gate")
        assert target is not None
        resolved.append((target, comp_))
    return BooleanGate(gid, op, tuple(resolved))


def _quadrants(gid: str, spec: Mapping[str, Any], comp: str,
               transforms: Mapping[str, Transform], where: str
               ) -> list[tuple[str, str, Gate]]:
    w = f"{where}.quadrant"
    _check_keys(spec, {"x", "y", "at", "names"}, w)
    dx = _dim(spec.get("x"), comp, transforms, w, transformed=False)
    dy = _dim(spec.get("y"), comp, transforms, w, transformed=False)
    at = spec.get("at")
    if not isinstance(at, list) or len(at) != 2:
        raise InputError("quadrant needs at = [x, y]", location=w)
    cx, cy = _float(at[0], "at[0]", w), _float(at[1], "at[1]", w)
    xs, ys = str(spec.get("x")), str(spec.get("y"))
    default = [f"{xs}- {ys}+", f"{xs}+ {ys}+", f"{xs}+ {ys}-", f"{xs}- {ys}-"]
    names = spec.get("names", default)
    if not isinstance(names, list) or len(names) != 4 or len(set(names)) != 4 or \
            any(not isinstance(n, str) or not n or "/" in n for n in names):
        raise InputError("quadrant names must be 4 different names without '/' "
                         "(order: x-y+, x+y+, x+y-, x-y-)", location=w)
    bounds = [((None, cx), (cy, None)), ((cx, None), (cy, None)),
              ((cx, None), (None, cy)), ((None, cx), (None, cy))]
    parent = gid.rsplit("/", 1)[0]
    out: list[tuple[str, str, Gate]] = []
    for n, ((x0, x1), (y0, y1)) in zip(names, bounds, strict=True):
        qid = f"{parent}/{n}"
        out.append((qid, n, RectangleGate(qid, (dx, dy), (x0, y0), (x1, y1))))
    return out


def template_matrix(strategy: GatingStrategy) -> Spillover | None:
    """The matrix a template names in ``[compensation] source`` (``None`` otherwise)."""
    return strategy.matrices.get("template")
