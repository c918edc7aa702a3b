"""Import FlowJo 10 workspaces (``.wsp``): samples, gates, transforms, compensation, groups.

``read_workspace(path)`` parses the workspace with defusedxml into a :class:`Workspace`;
each :class:`WorkspaceSample` carries its own :class:`~preclin.flow.gates.GatingStrategy`
(FlowJo keeps the gates of every sample under its ``SampleNode``; group-level gates are
templates and are not used for counting), the counts FlowJo stored for it, its keywords
and the groups it belongs to. :func:`match_samples` pairs samples with the FCS files a user
gives (by file name, by the ``DataSet`` URI's file name, by the sample name or by
``$FIL``); samples without a file are skipped with a note.

What is read
------------
- Gates: ``RectangleGate`` (FlowJo quadrants are four rectangles), ``PolygonGate``,
  ``EllipsoidGate`` (``foci`` + four ``edge`` points), ``BooleanGate``-style
  ``AndNode``/``OrNode``/``NotNode`` populations (``Dependents``), ``eventsInside="0"``
  (exclusion gates).
- Gate coordinates are in data units (compensated where the dimension says ``Comp-``).
  Rectangles are tested on data values (``min <= x < max``); polygons and ellipses are
  tested in the display space of the parameter's transform (vertices transformed the same
  way), where FlowJo draws them.
- Transforms: ``linear``, ``log``, ``fasinh``, ``logicle``, ``hyperlog``, ``biex``
  (:class:`~preclin.flow.transforms.FlowJoBiex`).
- Compensation: the sample's ``transforms:spilloverMatrix`` (or the one it refers to in
  ``<Matrices>``) applies only to dimensions named with its prefix/suffix (``Comp-FITC-A``);
  dimensions without it are uncompensated, whatever the FCS file holds.
- Channel names the workspace rewrote (``/`` written as ``_`` and similar) are resolved by
  :meth:`preclin.flow.io.Sample.channel_index`.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlparse

import numpy as np

from ..errors import InputError
from .compensate import Spillover
from .gates import (
    UNCOMPENSATED,
    BooleanGate,
    Dimension,
    EllipsoidGate,
    EventData,
    Gate,
    GatingStrategy,
    PolygonGate,
    RectangleGate,
)
from .transforms import Asinh, FlowJoBiex, Hyperlog, Linear, Log, Logicle, Transform

__all__ = ["Workspace", "WorkspaceSample", "read_workspace", "match_samples",
           "override_compensation"]

_NS = {
    "gating": "http://www.isac-net.org/std/Gating-ML/v2.0/gating",
    "transforms": "http://www.isac-net.org/std/Gating-ML/v2.0/transformations",
    "data-type": "http://www.isac-net.org/std/Gating-ML/v2.0/datatypes",
}
_G, _T, _D = (f"{{{_NS[k]}}}" for k in ("gating", "transforms", "data-type"))
_GATES = ("RectangleGate", "PolygonGate", "EllipsoidGate", "BooleanGate")


@dataclass(frozen=True)
class _Excluded(Gate):
    """FlowJo ``eventsInside="0"``: the events outside an inner gate."""

    id: str
    inner: Gate

    def contains(self, data: EventData, strategy: GatingStrategy | None = None
                 ) -> np.ndarray:
        return ~self.inner.contains(data, strategy)


@dataclass(frozen=True)
class WorkspaceSample:
    """One sample of a workspace.

    Attributes
    ----------
    sample_id
        FlowJo's ``sampleID``.
    name
        The ``SampleNode`` name (usually the FCS file name).
    uri
        The ``DataSet`` URI as written (often another computer's path).
    keywords
        Keywords FlowJo stored (``$FIL``, ``$TOT``, ...).
    strategy
        The sample's gates, transforms and compensation.
    counts
        FlowJo's stored event count per population path (``/`` = the sample).
    groups
        Names of the groups holding the sample.
    notes
        What could not be imported (e.g. gates of unsupported types, left out).
    """

    sample_id: str
    name: str
    uri: str
    keywords: Mapping[str, str]
    strategy: GatingStrategy
    counts: Mapping[str, int]
    groups: tuple[str, ...] = ()
    notes: tuple[str, ...] = ()

    @property
    def uri_name(self) -> str:
        """File name of the ``DataSet`` URI (URL-decoded; Windows paths allowed)."""
        path = unquote(urlparse(self.uri).path if "://" in self.uri or
                       self.uri.startswith("file:") else self.uri)
        return path.replace("\\", "/").rsplit("/", 1)[-1]


@dataclass(frozen=True)
class Workspace:
    """A FlowJo workspace: its samples (in file order) and groups."""

    file: Path
    samples: tuple[WorkspaceSample, ...]
    groups: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    version: str = ""

    def sample(self, name: str) -> WorkspaceSample:
        """A sample by name, ``DataSet`` file name or sample id."""
        for s in self.samples:
            if name in (s.name, s.uri_name, s.sample_id):
                return s
        raise InputError(f"no sample {name!r} in the workspace "
                         f"({', '.join(s.name for s in self.samples)})", file=self.file)

    def in_group(self, group: str) -> tuple[WorkspaceSample, ...]:
        """The samples of one group (``All Samples`` holds every sample)."""
        if group not in self.groups:
            import difflib

            close = difflib.get_close_matches(group, list(self.groups), n=1)
            hint = f"; did you mean {close[0]!r}?" if close else ""
            raise InputError(f"no group {group!r} in the workspace{hint}", file=self.file)
        ids = set(self.groups[group])
        return tuple(s for s in self.samples if s.sample_id in ids)


# ------------------------------------------------------------------------------ reading


def read_workspace(path: str | os.PathLike[str]) -> Workspace:
    """Read a FlowJo 10 workspace.

    Raises
    ------
    InputError
        Not XML / not a workspace, or a gate, transform or matrix that cannot be read; the
        message names the file and the sample or population.
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
    if root.tag != "Workspace":
        raise InputError(f"not a FlowJo workspace (root element is {root.tag!r})", file=file)

    groups: dict[str, list[str]] = {}
    for gn in root.iter("GroupNode"):
        name = gn.get("name", "")
        refs = [r.get("sampleID", "") for r in gn.iter("SampleRef")]
        groups.setdefault(name, []).extend(refs)
    mats = root.find("Matrices")
    shared = {_tattr(m, "id") or "": m for m in
              (mats.findall(f"{_T}spilloverMatrix") if mats is not None else [])}

    samples = []
    sample_list = root.find("SampleList")
    for el in (sample_list if sample_list is not None else []):
        if el.tag != "Sample":
            continue
        samples.append(_sample(el, shared, groups, file))
    return Workspace(file=file, samples=tuple(samples),
                     groups={k: tuple(v) for k, v in groups.items()},
                     version=root.get("flowJoVersion", ""))


def _tattr(el: Any, name: str) -> str | None:
    for ns in (_T, _D, _G, ""):
        v = el.get(f"{ns}{name}")
        if v is not None:
            return str(v)
    return None


def _sample(el: Any, shared: Mapping[str, Any], groups: Mapping[str, list[str]],
            file: Path) -> WorkspaceSample:
    ds = el.find("DataSet")
    sid = ds.get("sampleID", "") if ds is not None else ""
    uri = ds.get("uri", "") if ds is not None else ""
    node = el.find("SampleNode")
    name = node.get("name", "") if node is not None else uri
    where = f"sample {name or sid}"
    keywords = {k.get("name", ""): k.get("value", "") for k in el.iter("Keyword")}

    strategy = GatingStrategy()
    prefix, suffix, comp_id = _compensation(el, shared, strategy, file, where)
    transforms = _transforms(el, file, where)
    counts: dict[str, int] = {}
    if node is not None:
        counts["/"] = _int(node.get("count"))
        _populations(node, None, "", strategy, counts, transforms,
                     (prefix, suffix, comp_id), file, where)
    member = tuple(g for g, ids in groups.items() if sid in ids)
    return WorkspaceSample(sample_id=sid, name=name, uri=uri, keywords=keywords,
                           strategy=strategy, counts=counts, groups=member)


def _int(v: str | None) -> int:
    try:
        return int(float(v)) if v not in (None, "") else -1
    except ValueError:
        return -1


def _compensation(el: Any, shared: Mapping[str, Any], strategy: GatingStrategy,
                  file: Path, where: str) -> tuple[str, str, str]:
    """Read the sample's matrix into ``strategy.matrices``; (prefix, suffix, id)."""
    sm = el.find(f"{_T}spilloverMatrix")
    if sm is None:
        return "", "", ""
    mid = _tattr(sm, "id") or "wsp"
    body = sm if sm.find(f"{_T}spillover") is not None else shared.get(
        sm.get("spillRefId", "") or mid, sm)
    prefix = sm.get("prefix", body.get("prefix", "Comp-")) or ""
    suffix = sm.get("suffix", body.get("suffix", "")) or ""
    params_el = body.find(f"{_D}parameters")
    params = [_tattr(p, "name") or "" for p in
              (params_el if params_el is not None else [])]
    rows = []
    for sp in body.findall(f"{_T}spillover"):
        coef = {(_tattr(c, "parameter") or ""): c.get(f"{_T}value", c.get("value"))
                for c in sp.findall(f"{_T}coefficient")}
        try:
            rows.append([float(coef[p]) if p in coef else 0.0 for p in params])
        except (TypeError, ValueError):
            raise InputError("a spillover coefficient is not a number", file=file,
                             location=f"{where}, matrix {mid}") from None
    if not params or not rows:
        return "", "", ""  # "uncompensated" placeholder
    try:
        strategy.matrices[mid] = Spillover(tuple(params), np.array(rows),
                                           source=f"{file.name}:{mid}")
    except InputError as exc:
        raise InputError(exc.problem, file=file, location=f"{where}, matrix {mid}") from None
    return prefix, suffix, mid


def _transforms(el: Any, file: Path, where: str) -> dict[str, Transform]:
    out: dict[str, Transform] = {}
    tr_el = el.find("Transformations")
    for t in (tr_el if tr_el is not None else []):
        if not isinstance(t.tag, str):
            continue
        kind = t.tag.split("}")[-1]
        par = t.find(f"{_D}parameter")
        pname = (_tattr(par, "name") or "") if par is not None else ""

        def p(n: str, default: float | None = None, _t: Any = t, _k: str = kind,
              _p: str = pname) -> float:
            return _tparam(_t, n, default, f"{_k} transform of {_p!r}", file, where)

        try:
            tr: Transform
            if kind == "linear":
                tr = Linear(p("maxRange", 262144.0), 0.0)
            elif kind == "log":
                off, dec = p("offset", 1.0), p("decades", 4.5)
                tr = Log(off * 10.0 ** dec, dec)
            elif kind == "fasinh":
                tr = Asinh(p("T"), p("M"), p("A", 0.0))
            elif kind == "logicle":
                tr = Logicle(p("T"), p("W"), p("M"), p("A", 0.0))
            elif kind == "hyperlog":
                tr = Hyperlog(p("T"), p("W"), p("M"), p("A", 0.0))
            elif kind == "biex":
                tr = FlowJoBiex(positive=p("pos", 4.418539922), negative=p("neg", 0.0),
                                width=p("width", -10.0), max_range=p("maxRange", 262144.0))
            else:
                raise InputError(f"unsupported FlowJo transform {kind!r} on {pname!r}",
                                 file=file, location=where)
        except InputError as exc:
            if exc.file is None:
                raise InputError(exc.problem, file=file, location=where) from None
            raise
        out[pname] = tr
    return out


def _tparam(t: Any, n: str, default: float | None, what: str, file: Path,
            where: str) -> float:
    v = _tattr(t, n)
    if v is None:
        if default is None:
            raise InputError(f"{what} has no {n}", file=file, location=where)
        return default
    try:
        return float(v)
    except ValueError:
        raise InputError(f"{what}: {n}={v!r} is not a number", file=file,
                         location=where) from None


def _populations(node: Any, parent_id: str | None, parent_path: str,
                 strategy: GatingStrategy, counts: dict[str, int],
                 transforms: Mapping[str, Transform], comp: tuple[str, str, str],
                 file: Path, where: str) -> None:
    subs = node.find("Subpopulations")
    if subs is None:
        return
    for pop in subs:
        if pop.tag not in {"Population", "AndNode", "OrNode", "NotNode"}:
            continue
        name = pop.get("name", "")
        path = f"{parent_path}/{name}"
        gid = path  # unique within the sample; the label keeps paths readable
        loc = f"{where}, population {path}"
        if pop.tag == "Population":
            gate_el = pop.find("Gate")
            inner = None
            if gate_el is not None:
                inner = next((c for c in gate_el if isinstance(c.tag, str)
                              and c.tag.split("}")[-1] in _GATES), None)
            if inner is None:
                raise InputError("population has no gate", file=file, location=loc)
            gate = _gate(inner, gid, transforms, comp, file, loc)
        else:
            deps = [d.get("name", "") for d in pop.iter("Dependent")]
            if not deps:
                raise InputError(f"{pop.tag} names no populations", file=file, location=loc)
            refs = tuple((_resolve(d, path, parent_path, strategy, file, loc), False)
                         for d in deps)
            op = {"AndNode": "and", "OrNode": "or", "NotNode": "not"}[pop.tag]
            if op == "not" and len(refs) > 1:
                # FlowJo's NOT of several populations: events in none of them
                op, refs = "and", tuple((r, True) for r, _ in refs)
                gate = BooleanGate(gid, op, refs)
            elif op == "not":
                gate = BooleanGate(gid, "not", refs)
            elif len(refs) == 1:
                gate = BooleanGate(gid, "and", refs * 2)
            else:
                gate = BooleanGate(gid, op, refs)
        strategy.add(gate, parent_id)
        strategy.labels[gid] = name
        counts[path] = _int(pop.get("count"))
        _populations(pop, gid, path, strategy, counts, transforms, comp, file, where)


def _resolve(dep: str, path: str, parent_path: str, strategy: GatingStrategy,
             file: Path, loc: str) -> str:
    """A ``Dependent`` name as a population path: relative to the boolean node (``..`` =
    its parent), to its parent, or from the sample root — the first that exists."""
    dep = dep.replace("\\", "/")
    tried = []
    for base in (path, parent_path, ""):
        parts = [p for p in base.split("/") if p] if not dep.startswith("/") else []
        for piece in dep.split("/"):
            if piece == "..":
                parts = parts[:-1]
            elif piece and piece != ".":
                parts.append(piece)
        cand = "/" + "/".join(parts)
        if cand in strategy.gates:
            return cand
        tried.append(cand)
    raise InputError(f"boolean population refers to unknown population {dep!r}",
                     file=file, location=loc)


def _dimension(name: str, transforms: Mapping[str, Transform],
               comp: tuple[str, str, str], *, transformed: bool) -> Dimension:
    prefix, suffix, mid = comp
    channel, compensation = name, UNCOMPENSATED
    if mid and (prefix or suffix) and name.startswith(prefix) and name.endswith(suffix) \
            and len(name) > len(prefix) + len(suffix):
        channel = name[len(prefix):len(name) - len(suffix) if suffix else None]
        compensation = mid
    tr = None
    if transformed:
        tr = transforms.get(name, transforms.get(channel))
    return Dimension(channel, compensation, tr)


def _num(v: str | None, what: str, file: Path, loc: str) -> float | None:
    if v is None or v == "":
        return None
    try:
        return float(v)
    except ValueError:
        raise InputError(f"{what}={v!r} is not a number", file=file, location=loc) from None


def _dim_names(gate: Any, file: Path, loc: str) -> list[str]:
    names = []
    for d in gate.findall(f"{_G}dimension"):
        fd = d.find(f"{_D}fcs-dimension")
        n = (_tattr(fd, "name") if fd is not None else None) or ""
        if not n:
            raise InputError("gate dimension without a channel name", file=file,
                             location=loc)
        names.append(n)
    return names


def _vertices(el: Any, file: Path, loc: str) -> list[tuple[float, float]]:
    out = []
    for v in el.findall(f"{_G}vertex"):
        c = [_num(x.get(f"{_D}value", x.get("value")), "coordinate", file, loc)
             for x in v.findall(f"{_G}coordinate")]
        if len(c) != 2 or c[0] is None or c[1] is None:
            raise InputError("a vertex needs 2 coordinates", file=file, location=loc)
        out.append((c[0], c[1]))
    return out


def _gate(el: Any, gid: str, transforms: Mapping[str, Transform],
          comp: tuple[str, str, str], file: Path, loc: str) -> Gate:
    kind = el.tag.split("}")[-1]
    names = _dim_names(el, file, loc) if kind != "BooleanGate" else []
    gate: Gate
    if kind == "RectangleGate":
        dims, mins, maxs = [], [], []
        for d, n in zip(el.findall(f"{_G}dimension"), names, strict=True):
            dims.append(_dimension(n, transforms, comp, transformed=False))
            mins.append(_num(d.get(f"{_G}min"), "min", file, loc))
            maxs.append(_num(d.get(f"{_G}max"), "max", file, loc))
        if not dims:
            raise InputError("rectangle gate without dimensions", file=file, location=loc)
        gate = RectangleGate(gid, tuple(dims), tuple(mins), tuple(maxs))
    elif kind in {"PolygonGate", "EllipsoidGate"}:
        if len(names) != 2:
            raise InputError(f"{kind} needs 2 dimensions", file=file, location=loc)
        dx, dy = (_dimension(n, transforms, comp, transformed=True) for n in names)

        def disp(pts: Sequence[tuple[float, float]]) -> np.ndarray:
            a = np.asarray(pts, dtype=np.float64)
            if dx.transform is not None:
                a[:, 0] = dx.transform.forward(a[:, 0])
            if dy.transform is not None:
                a[:, 1] = dy.transform.forward(a[:, 1])
            return a

        if kind == "PolygonGate":
            verts = disp(_vertices(el, file, loc))
            gate = PolygonGate(gid, (dx, dy), tuple(map(tuple, verts.tolist())))
        else:
            edge_el = el.find(f"{_G}edge")
            edge = _vertices(edge_el, file, loc) if edge_el is not None else []
            if len(edge) != 4:
                raise InputError("ellipse gate needs 4 edge points", file=file, location=loc)
            e = disp(edge)
            centre = (e[0] + e[1]) / 2.0
            major = (e[1] - e[0]) / 2.0
            minor = (e[3] - e[2]) / 2.0
            a, b = float(np.hypot(*major)), float(np.hypot(*minor))
            if a == 0 or b == 0:
                raise InputError("ellipse gate has a zero axis", file=file, location=loc)
            u = major / a
            v = np.array([-u[1], u[0]])
            cov = a * a * np.outer(u, u) + b * b * np.outer(v, v)
            gate = EllipsoidGate(gid, (dx, dy), (float(centre[0]), float(centre[1])),
                                 tuple(tuple(float(c) for c in r) for r in cov), 1.0)
    else:
        raise InputError(f"unsupported FlowJo gate {kind!r}", file=file, location=loc)
    if el.get("eventsInside", "1") == "0":
        return _Excluded(gid, gate)
    return gate


# ----------------------------------------------------------------------------- matching


def match_samples(workspace: Workspace, files: Iterable[str | os.PathLike[str]], *,
                  group: str | None = None
                  ) -> tuple[list[tuple[WorkspaceSample, Path]], list[str]]:
    """Pair workspace samples with FCS files.

    A file matches a sample when its name equals the sample's name or the file name of
    its ``DataSet`` URI, or when the file's ``$FIL`` equals the sample's ``$FIL`` keyword
    (case-insensitive if nothing matches exactly). Returns the pairs in the workspace's
    sample order and plain-language notes: samples skipped because their file was not
    given, files that belong to no sample.

    Parameters
    ----------
    group
        Only the samples of this group.
    """
    from .io import read_text

    paths = [Path(f) for f in files]
    pool = workspace.in_group(group) if group is not None else workspace.samples
    fil: dict[Path, str] = {}

    def file_fil(p: Path) -> str:
        if p not in fil:
            try:
                fil[p] = read_text(p)[0].get("$FIL", "")
            except InputError:
                fil[p] = ""
        return fil[p]

    pairs: list[tuple[WorkspaceSample, Path]] = []
    used: set[Path] = set()
    notes: list[str] = []
    for s in pool:
        keys = [k for k in (s.name, s.uri_name) if k]
        hit = next((p for p in paths if p.name in keys and p not in used), None)
        if hit is None:
            low = {k.lower() for k in keys}
            hit = next((p for p in paths if p.name.lower() in low and p not in used), None)
        if hit is None and s.keywords.get("$FIL"):
            hit = next((p for p in paths if p not in used
                        and file_fil(p) == s.keywords["$FIL"]), None)
        if hit is None:
            notes.append(f"sample {s.name!r} skipped: its FCS file was not given")
            continue
        used.add(hit)
        pairs.append((s, hit))
        notes.extend(s.notes)
    for p in paths:
        if p not in used:
            notes.append(f"file {p.name!r} matches no sample of the workspace; not analysed")
    return pairs, notes


def override_compensation(strategy: GatingStrategy, spill: Spillover | None, *,
                          only_fcs: bool = False) -> GatingStrategy:
    """A copy of ``strategy`` whose matrices are all ``spill`` (``None``: uncompensated).

    ``only_fcs``: replace only the file's own matrix (Gating-ML ``compensation-ref="FCS"``)
    and keep matrices defined in the gate file.
    """
    new = GatingStrategy(dict(strategy.gates), dict(strategy.parents),
                         dict(strategy.matrices), dict(strategy.labels))
    if spill is not None:
        if not only_fcs:
            new.matrices = {k: spill for k in new.matrices}
        new.matrices["FCS"] = spill
        return new
    for gid, g in list(new.gates.items()):
        target = g.inner if isinstance(g, _Excluded) else g
        if not hasattr(target, "dims"):
            continue
        dims = tuple(replace(d, compensation=UNCOMPENSATED) for d in target.dims)
        moved = replace(target, dims=dims)  # type: ignore[type-var]
        new.gates[gid] = _Excluded(gid, moved) if isinstance(g, _Excluded) else moved
    return new
