"""Gates and gating hierarchies, evaluated on all events at once.

A gate tests events in the space of its *dimensions*. A dimension is a channel (by
``$PnN`` or marker), optionally compensated (``"FCS"`` = the file's ``$SPILLOVER``, or the
id of a matrix) and transformed (:mod:`preclin.flow.transforms`); :class:`RatioDimension`
is Gating-ML's ``fratio``. Boundaries follow Gating-ML 2.0: ranges include ``min`` and
exclude ``max``; a polygon contains a point by the even-odd rule; an ellipsoid contains
``x`` when ``(x - mean)^T C^-1 (x - mean) <= distance_square``.

:class:`GatingStrategy` holds gates by id with their parents; a population's path is the
chain of gate ids from the root, e.g. ``/Cells/Singlets/CD33+``, and its events are those
inside the gate **and** inside every ancestor.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np

from ..errors import InputError
from .compensate import Spillover
from .io import Sample, _match_channel
from .transforms import Transform, _Implicit

__all__ = [
    "Dimension",
    "RatioDimension",
    "Gate",
    "RectangleGate",
    "PolygonGate",
    "EllipsoidGate",
    "QuadrantGate",
    "Quadrant",
    "BooleanGate",
    "GatingStrategy",
    "EventData",
]

UNCOMPENSATED = "uncompensated"


@dataclass(frozen=True)
class Dimension:
    """A channel, its compensation and its transform."""

    channel: str
    compensation: str = UNCOMPENSATED
    transform: Transform | None = None


@dataclass(frozen=True)
class RatioDimension:
    """Gating-ML ``fratio``: ``A (x - B) / (y - C)`` of two channels, then a transform."""

    numerator: str
    denominator: str
    A: float = 1.0
    B: float = 0.0
    C: float = 0.0
    compensation: str = UNCOMPENSATED
    transform: Transform | None = None


AnyDimension = Dimension | RatioDimension


class EventData:
    """The events of one sample seen through compensations and transforms (cached).

    Parameters
    ----------
    sample
        The (preprocessed) sample.
    matrices
        Compensation id -> :class:`Spillover` (rows fluorochromes, columns detectors);
        ``"FCS"`` is added from the file's ``$SPILLOVER`` when present.
    """

    def __init__(self, sample: Sample, matrices: Mapping[str, Spillover] | None = None):
        self.sample = sample
        self.matrices = dict(matrices or {})
        self._comp: dict[str, tuple[tuple[str, ...], np.ndarray]] = {}
        self._cols: dict[object, np.ndarray] = {}

    @property
    def n_events(self) -> int:
        return self.sample.n_events

    def _compensated(self, comp: str) -> tuple[tuple[str, ...], np.ndarray]:
        if comp not in self._comp:
            if comp == "FCS" and comp not in self.matrices:
                found = self.sample.spillover()
                if found is None:  # Gating-ML: no matrix in the file = uncompensated
                    self._comp[comp] = ((), np.empty((self.n_events, 0)))
                    return self._comp[comp]
                self.matrices[comp] = Spillover(found[0], found[1], source="$SPILLOVER")
            if comp not in self.matrices:
                raise InputError(f"compensation {comp!r} is not defined")
            sp = self.matrices[comp]
            s = self.sample
            idx = [_match_channel(d, s.channels, s.markers, file=s.file)
                   for d in sp.channels]
            x = s.events[:, idx].astype(np.float64)
            names = getattr(sp, "fluorochromes", None) or sp.channels
            mat = sp.matrix
            comp_x = x @ (np.linalg.inv(mat) if mat.shape[0] == mat.shape[1]
                          else np.linalg.pinv(mat))
            self._comp[comp] = (tuple(names), comp_x)
        return self._comp[comp]

    def channel(self, name: str, comp: str = UNCOMPENSATED) -> np.ndarray:
        """One channel's values (float64) under a compensation."""
        key = ("ch", name, comp)
        if key not in self._cols:
            s = self.sample
            col: np.ndarray | None = None
            if comp != UNCOMPENSATED:
                names, cx = self._compensated(comp)
                if name in names:
                    col = cx[:, names.index(name)]
                elif names and comp in self.matrices and name in self.matrices[comp].channels:
                    col = cx[:, list(self.matrices[comp].channels).index(name)]
            if col is None:
                col = s.events[:, _match_channel(name, s.channels, s.markers,
                                                 file=s.file)].astype(np.float64)
            self._cols[key] = col
        return self._cols[key]

    def values(self, dim: AnyDimension) -> np.ndarray:
        """The values of a (possibly ratio, compensated, transformed) dimension."""
        if dim not in self._cols:
            if isinstance(dim, RatioDimension):
                x = self.channel(dim.numerator, dim.compensation)
                y = self.channel(dim.denominator, dim.compensation)
                with np.errstate(divide="ignore", invalid="ignore"):
                    v = dim.A * (x - dim.B) / (y - dim.C)
            else:
                v = self.channel(dim.channel, dim.compensation)
            if dim.transform is not None:
                tr = dim.transform
                v = tr._forward_block(v) if isinstance(tr, _Implicit) else tr.forward(v)
            self._cols[dim] = np.asarray(v)
        return self._cols[dim]

    def matrix(self, dims: Sequence[AnyDimension]) -> np.ndarray:
        return np.column_stack([self.values(d) for d in dims])


class Gate:
    """Base class of gates: ``contains(data) -> bool array`` (one flag per event)."""

    id: str

    def contains(self, data: EventData, strategy: GatingStrategy | None = None
                 ) -> np.ndarray:
        raise NotImplementedError


@dataclass(frozen=True)
class RectangleGate(Gate):
    """Range (1-D) or rectangle/hyper-rectangle gate; ``None`` bounds are open."""

    id: str
    dims: tuple[AnyDimension, ...]
    mins: tuple[float | None, ...]
    maxs: tuple[float | None, ...]

    def contains(self, data: EventData, strategy: GatingStrategy | None = None
                 ) -> np.ndarray:
        inside = np.ones(data.n_events, dtype=bool)
        for d, lo, hi in zip(self.dims, self.mins, self.maxs, strict=True):
            v = data.values(d)
            if lo is not None:
                inside &= v >= lo
            if hi is not None:
                inside &= v < hi
        return inside


@dataclass(frozen=True)
class PolygonGate(Gate):
    """2-D polygon (even-odd rule; the last vertex joins the first)."""

    id: str
    dims: tuple[AnyDimension, AnyDimension]
    vertices: tuple[tuple[float, float], ...]

    def __post_init__(self) -> None:
        if len(self.vertices) < 3:
            raise InputError(f"polygon gate {self.id!r} needs at least 3 vertices")

    def contains(self, data: EventData, strategy: GatingStrategy | None = None
                 ) -> np.ndarray:
        x = data.values(self.dims[0])
        y = data.values(self.dims[1])
        return points_in_polygon(x, y, np.asarray(self.vertices, dtype=np.float64))


def points_in_polygon(x: np.ndarray, y: np.ndarray, verts: np.ndarray) -> np.ndarray:
    """Even-odd (crossing number) test of many points against one polygon."""
    inside = np.zeros(x.shape, dtype=bool)
    xs, ys = verts[:, 0], verts[:, 1]
    n = len(verts)
    for i in range(n):
        x1, y1 = xs[i], ys[i]
        x2, y2 = xs[(i + 1) % n], ys[(i + 1) % n]
        if y1 == y2:
            continue
        crosses = (y1 > y) != (y2 > y)
        # the point is strictly left of the edge where it crosses the ray: sign of the
        # cross product, exact for points on the edge (no division), so points on a
        # left-hand edge are inside and on a right-hand edge outside
        cross = (x2 - x1) * (y - y1) - (x - x1) * (y2 - y1)
        left = cross > 0 if y2 > y1 else cross < 0
        inside ^= crosses & left
    return inside


@dataclass(frozen=True)
class EllipsoidGate(Gate):
    """Ellipse/ellipsoid: ``(x - mean)^T inv(cov) (x - mean) <= distance_square``."""

    id: str
    dims: tuple[AnyDimension, ...]
    mean: tuple[float, ...]
    covariance: tuple[tuple[float, ...], ...]
    distance_square: float

    def contains(self, data: EventData, strategy: GatingStrategy | None = None
                 ) -> np.ndarray:
        x = data.matrix(self.dims) - np.asarray(self.mean)
        try:
            inv = np.linalg.inv(np.asarray(self.covariance, dtype=np.float64))
        except np.linalg.LinAlgError:
            raise InputError(f"ellipsoid gate {self.id!r}: singular covariance") from None
        d2 = np.einsum("ij,jk,ik->i", x, inv, x)
        return np.asarray(d2 <= self.distance_square)


@dataclass(frozen=True)
class Quadrant(Gate):
    """One quadrant of a :class:`QuadrantGate`: an interval on some dividers."""

    id: str
    dims: tuple[AnyDimension, ...]
    mins: tuple[float | None, ...]
    maxs: tuple[float | None, ...]

    def contains(self, data: EventData, strategy: GatingStrategy | None = None
                 ) -> np.ndarray:
        return RectangleGate(self.id, self.dims, self.mins, self.maxs).contains(data)


@dataclass(frozen=True)
class QuadrantGate:
    """Dividers that split space into quadrants; each quadrant is a gate of its own."""

    id: str
    quadrants: tuple[Quadrant, ...]

    @staticmethod
    def build(id: str, dividers: Mapping[str, tuple[AnyDimension, Sequence[float]]],
              positions: Mapping[str, Mapping[str, float]]) -> QuadrantGate:
        """From dividers (id -> dimension, cut values) and quadrant positions
        (quadrant id -> {divider id: a location inside it})."""
        quads = []
        for qid, pos in positions.items():
            dims, mins, maxs = [], [], []
            for did, loc in pos.items():
                if did not in dividers:
                    raise InputError(f"quadrant {qid!r} refers to unknown divider {did!r}")
                dim, cuts = dividers[did]
                cs = sorted(cuts)
                k = int(np.searchsorted(cs, loc, side="right"))
                dims.append(dim)
                mins.append(cs[k - 1] if k > 0 else None)
                maxs.append(cs[k] if k < len(cs) else None)
            quads.append(Quadrant(qid, tuple(dims), tuple(mins), tuple(maxs)))
        return QuadrantGate(id, tuple(quads))


@dataclass(frozen=True)
class BooleanGate(Gate):
    """``and``/``or`` of gates, or ``not`` of one; each reference may be complemented."""

    id: str
    op: str
    refs: tuple[tuple[str, bool], ...]  # (gate id, use as complement)

    def __post_init__(self) -> None:
        if self.op not in {"and", "or", "not"}:
            raise InputError(f"boolean gate {self.id!r}: unknown operator {self.op!r}")
        if self.op == "not" and len(self.refs) != 1:
            raise InputError(f"boolean gate {self.id!r}: 'not' takes exactly one gate")
        if self.op != "not" and len(self.refs) < 2:
            raise InputError(f"boolean gate {self.id!r}: '{self.op}' needs two gates or more")

    def contains(self, data: EventData, strategy: GatingStrategy | None = None
                 ) -> np.ndarray:
        if strategy is None:
            raise InputError(f"boolean gate {self.id!r} needs its gating strategy")
        masks = []
        for ref, complement in self.refs:
            m = strategy.membership(ref, data)
            masks.append(~m if complement else m)
        if self.op == "not":
            return ~masks[0]
        out = masks[0].copy()
        for m in masks[1:]:
            if self.op == "and":
                out &= m
            else:
                out |= m
        return out


@dataclass
class GatingStrategy:
    """Gates by id with their parents; evaluates populations with caching per sample.

    A gate's *membership* (used by boolean gates) is the gate applied alone, inside its
    own parent chain; a population is the gate and all its ancestors.
    """

    gates: dict[str, Gate] = field(default_factory=dict)
    parents: dict[str, str | None] = field(default_factory=dict)
    matrices: dict[str, Spillover] = field(default_factory=dict)
    labels: dict[str, str] = field(default_factory=dict)  # gate id -> name in paths
    _cache: dict[tuple[int, str], np.ndarray] = field(default_factory=dict, repr=False)

    def add(self, gate: Gate, parent: str | None = None) -> None:
        """Add a gate under ``parent`` (a gate id, or ``None`` for the root)."""
        if gate.id in self.gates:
            raise InputError(f"gate id {gate.id!r} is defined twice")
        self.gates[gate.id] = gate
        self.parents[gate.id] = parent

    def add_quadrants(self, qgate: QuadrantGate, parent: str | None = None) -> None:
        for q in qgate.quadrants:
            self.add(q, parent)

    def path(self, gate_id: str) -> str:
        """``/A/B/gate_id`` from the root (a gate's label, when it has one, names it)."""
        chain = []
        cur: str | None = gate_id
        seen = set()
        while cur is not None:
            if cur in seen:
                raise InputError(f"gate {gate_id!r} is its own ancestor")
            seen.add(cur)
            chain.append(self.labels.get(cur, cur))
            if cur not in self.parents:
                raise InputError(f"unknown parent gate {cur!r}")
            cur = self.parents[cur]
        return "/" + "/".join(reversed(chain))

    def data(self, sample: Sample) -> EventData:
        return EventData(sample, self.matrices)

    def membership(self, gate_id: str, data: EventData) -> np.ndarray:
        """Events in the population ``gate_id`` (the gate and all its ancestors)."""
        key = (id(data), gate_id)
        if key not in self._cache:
            if gate_id not in self.gates:
                raise InputError(f"unknown gate {gate_id!r}")
            self._cache[key] = np.zeros(0, dtype=bool)  # cycle guard
            m = self.gates[gate_id].contains(data, self)
            parent = self.parents.get(gate_id)
            if parent is not None:
                m = m & self.membership(parent, data)
            self._cache[key] = m
        m = self._cache[key]
        if m.size != data.n_events:
            raise InputError(f"gate {gate_id!r} refers to itself through boolean gates")
        return m

    def populations(self) -> list[str]:
        """Gate ids in hierarchy order (parents before children, then by insertion)."""
        order: list[str] = []

        def visit(parent: str | None) -> None:
            for g, p in self.parents.items():
                if p == parent:
                    order.append(g)
                    visit(g)

        visit(None)
        return order

    def evaluate(self, sample: Sample, gate_ids: Iterable[str] | None = None
                 ) -> dict[str, np.ndarray]:
        """Membership of every population (or of ``gate_ids``) for one sample."""
        data = self.data(sample)
        try:
            ids = list(gate_ids) if gate_ids is not None else self.populations()
            return {g: self.membership(g, data) for g in ids}
        finally:
            for k in [k for k in self._cache if k[0] == id(data)]:
                del self._cache[k]
