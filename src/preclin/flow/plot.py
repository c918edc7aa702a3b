"""Flow-cytometry figures: density dot plots with gates, overlay histograms, back-gating.

* :func:`density_plot` — one 2-D plot of a population's events (a dot plot coloured by
  the local event density, or a 2-D histogram) with the gates drawn on it: rectangles,
  polygons and ellipses as patches, quadrant gates as a cross, each with its name and
  % of parent;
* :func:`gating_plots` — the whole gating strategy of one sample, one panel per gating
  step (a parent population shown in the dimensions of its child gates);
* :func:`backgate_plots` — a population highlighted on the plots of its ancestors;
* :func:`overlay_histograms` — a marker's histograms of several samples overlaid
  (treated vs control), with the MFI of each marked.

Display space. Every axis shows its channel through a *display transform*: the one given
in ``transforms`` (by marker or channel), else the transform a gate of the strategy uses
on that channel (so polygons and ellipses drawn in their own, transformed space are drawn
as they are tested), else linear for scatter and time channels (``FSC``, ``SSC``,
``Time``) and a logicle (``T = max(262144, $PnR)``, ``W = 0.5``, ``M = 4.5``, ``A = 0``)
for fluorescence. Gate coordinates are mapped from their own dimension's space to the
axis' display space (data values through the inverse of the gate's transform, then the
axis' transform); rectangle and quadrant edges stay straight under any monotone
transform, polygon edges are drawn through 24 points each when the spaces differ.
Decade ticks (``0, 10², 10³ …``) label transformed axes.

Figures are built inside :func:`preclin.report.prism_style`. Artists carry labels
(leading underscore: never in legends) so tests and users can find them:
:data:`GATE_LABEL` (gate patches), :data:`QUADRANT_LABEL` (the two lines of a quadrant
cross), :data:`EVENTS_LABEL`, :data:`HIGHLIGHT_LABEL` (back-gated events),
:data:`MFI_LABEL`, :data:`FILL_LABEL`; the texts of an axes are the gate labels;
histogram lines carry their sample's legend text.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal

import numpy as np

from ..errors import InputError
from .gates import (
    UNCOMPENSATED,
    Dimension,
    EllipsoidGate,
    Gate,
    GatingStrategy,
    PolygonGate,
    Quadrant,
    RatioDimension,
    RectangleGate,
)
from .transforms import Logicle, Transform

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

    from .io import Sample

__all__ = [
    "GateStep",
    "gate_steps",
    "display_transform",
    "density_plot",
    "gating_plots",
    "backgate_plots",
    "overlay_histograms",
    "resolve_population",
    "GATE_LABEL",
    "QUADRANT_LABEL",
    "EVENTS_LABEL",
    "HIGHLIGHT_LABEL",
    "MFI_LABEL",
    "FILL_LABEL",
]

GATE_LABEL = "_preclin_gate"
QUADRANT_LABEL = "_preclin_quadrant"
EVENTS_LABEL = "_preclin_events"
HIGHLIGHT_LABEL = "_preclin_backgate"
MFI_LABEL = "_preclin_mfi"
FILL_LABEL = "_preclin_fill"

_SCATTER = re.compile(r"^(FSC|SSC|TIME)", re.IGNORECASE)
_GATE_COLOR = "#000000"
_BACK_COLOR = "#C8C8C8"
_EDGE_POINTS = 24
TransformSpec = Transform | Literal["linear", "logicle"] | None


# ------------------------------------------------------------------------------ axes
@dataclass(frozen=True)
class _Axis:
    index: int                  # column in the sample
    channel: str                # name used to fetch values
    label: str                  # "CD33 (APC-A)"
    comp: str
    transform: Transform | None


def display_transform(sample: Sample, channel: str, *,
                      strategy: GatingStrategy | None = None,
                      transforms: Mapping[str, TransformSpec] | None = None
                      ) -> Transform | None:
    """The transform a plot axis of ``channel`` shows (``None`` = linear data units).

    In order: ``transforms`` (keys are markers or channels; ``"linear"``, ``"logicle"``
    or a :class:`~preclin.flow.transforms.Transform`), the first transform a gate of
    ``strategy`` applies to that channel, linear for scatter/time channels, else the
    default logicle (module docstring).
    """
    idx = sample.channel_index(channel)
    given, tr = _user_transform(sample, idx, transforms)
    if given:
        return tr
    if strategy is not None:
        for gate in strategy.gates.values():
            for d in getattr(gate, "dims", ()):
                if isinstance(d, Dimension) and d.transform is not None \
                        and _index(sample, d.channel) == idx:
                    return d.transform
    if _SCATTER.match(sample.channels[idx]):
        return None
    return _default_logicle(sample, idx)


def _index(sample: Sample, name: str) -> int | None:
    try:
        return sample.channel_index(name)
    except InputError:
        return None


_INTERNED: dict[Transform, Transform] = {}


def _intern(tr: Transform | None) -> Transform | None:
    """One instance per distinct transform, so lookup tables are built once per process."""
    if tr is None:
        return None
    try:
        return _INTERNED.setdefault(tr, tr) if len(_INTERNED) < 64 else tr
    except TypeError:  # unhashable
        return tr


def _default_logicle(sample: Sample, idx: int) -> Transform:
    try:
        top = float(sample.metadata.get(f"P{idx + 1}R", "262144"))
    except ValueError:
        top = 262144.0
    return Logicle(T=max(262144.0, top), W=0.5, M=4.5, A=0.0)


def _transform_spec(spec: TransformSpec, sample: Sample, idx: int) -> Transform | None:
    if spec is None or spec == "linear":
        return None
    if spec == "logicle":
        return _default_logicle(sample, idx)
    if isinstance(spec, Transform):
        return spec
    raise InputError(f"a display transform is 'linear', 'logicle' or a Transform, "
                     f"got {spec!r}")


def _user_transform(sample: Sample, idx: int,
                    transforms: Mapping[str, TransformSpec] | None
                    ) -> tuple[bool, Transform | None]:
    for key, spec in (transforms or {}).items():
        if _index(sample, key) == idx:
            return True, _transform_spec(spec, sample, idx)
    return False, None


def _axis(sample: Sample, dim: Dimension | str, strategy: GatingStrategy | None,
          transforms: Mapping[str, TransformSpec] | None) -> _Axis:
    if isinstance(dim, str):
        dim = Dimension(dim, _majority_comp(strategy))
    idx = sample.channel_index(dim.channel)
    marker = sample.markers[idx] if idx < len(sample.markers) else ""
    ch = sample.channels[idx]
    label = f"{marker} ({ch})" if marker and marker != ch else ch
    given, tr = _user_transform(sample, idx, transforms)
    if not given:
        tr = dim.transform if dim.transform is not None else display_transform(
            sample, dim.channel, strategy=strategy)
    return _Axis(idx, dim.channel, label, dim.compensation, _intern(tr))


def _majority_comp(strategy: GatingStrategy | None) -> str:
    if strategy is None:
        return UNCOMPENSATED
    seen: dict[str, int] = {}
    for g in strategy.gates.values():
        for d in getattr(g, "dims", ()):
            seen[d.compensation] = seen.get(d.compensation, 0) + 1
    return max(seen, key=lambda k: seen[k]) if seen else UNCOMPENSATED


def _map(values: np.ndarray, src: Transform | None, dst: Transform | None) -> np.ndarray:
    """Coordinates in the space of ``src`` → display space of ``dst``."""
    v = np.asarray(values, dtype=np.float64)
    if src == dst:
        return v
    src, dst = _intern(src), _intern(dst)
    out = np.full(v.shape, np.nan)
    ok = np.isfinite(v)
    data = np.asarray(src.inverse(v[ok]), dtype=np.float64) if src is not None else v[ok]
    out[ok] = np.asarray(dst.forward(data), dtype=np.float64) if dst is not None else data
    return out


def _limits(values: np.ndarray, tr: Transform | None) -> tuple[float, float]:
    v = values[np.isfinite(values)]
    if tr is None:
        if v.size == 0:
            return 0.0, 1.0
        lo, hi = np.percentile(v, [0.1, 99.9])
        lo = min(0.0, float(lo))
        hi = float(hi) * 1.08 if hi > 0 else 1.0
        return lo, hi if hi > lo else lo + 1.0
    zero = float(np.asarray(tr.forward(np.array([0.0])))[0])
    if v.size == 0:
        return zero - 0.05, 1.0
    lo, hi = np.percentile(v, [0.2, 99.9])
    return min(float(lo), zero) - 0.03, min(max(float(hi) + 0.06, zero + 0.2), 1.02)


def _superscript(n: int) -> str:
    return str(n).translate(str.maketrans("-0123456789", "⁻⁰¹²³⁴⁵⁶⁷⁸⁹"))


def _decade_ticks(ax: Axes, which: str, tr: Transform | None, lim: tuple[float, float]
                  ) -> None:
    from matplotlib.ticker import FuncFormatter

    axis = ax.xaxis if which == "x" else ax.yaxis
    if tr is None:
        span = lim[1] - lim[0]
        if span >= 5000:
            axis.set_major_formatter(FuncFormatter(
                lambda v, _p: f"{v / 1000:.0f}K" if v else "0"))
        return
    vals = [-(10.0 ** k) for k in range(6, 1, -1)] + [0.0] + [10.0 ** k for k in range(2, 8)]
    pos = np.asarray(tr.forward(np.asarray(vals, dtype=np.float64)), dtype=np.float64)
    keep = [(p, v) for p, v in zip(pos.tolist(), vals, strict=True)
            if np.isfinite(p) and lim[0] <= p <= lim[1]]
    labels = ["0" if v == 0 else ("−" if v < 0 else "") + "10" + _superscript(
        round(np.log10(abs(v)))) for _, v in keep]
    axis.set_ticks([p for p, _ in keep], labels=labels)


# ---------------------------------------------------------------------- populations
def resolve_population(strategy: GatingStrategy, name: str | None) -> str | None:
    """The gate id of a population given by id, path (``/Cells/CD33+``) or name.

    ``None``, ``""`` and ``"/"`` mean all events (``None``).

    Raises
    ------
    InputError
        No or several populations match (with the closest name).
    """
    if name is None or name in {"", "/"}:
        return None
    if name in strategy.gates:
        return name
    path = "/" + name.strip("/")
    by_path = [g for g in strategy.gates if strategy.path(g) == path]
    if len(by_path) == 1:
        return by_path[0]
    by_name = [g for g in strategy.gates
               if strategy.labels.get(g, g.rsplit("/", 1)[-1]) == name]
    if len(by_name) == 1:
        return by_name[0]
    paths = [strategy.path(g) for g in strategy.gates]
    if len(by_name) > 1:
        raise InputError(f"population {name!r} is ambiguous; give its path "
                         f"({', '.join(strategy.path(g) for g in by_name)})")
    import difflib

    close = difflib.get_close_matches(path, paths, n=1)
    hint = f"; did you mean {close[0]!r}?" if close else ""
    raise InputError(f"no population {name!r} in the gating strategy{hint}")


def _name(strategy: GatingStrategy, gid: str) -> str:
    return strategy.labels.get(gid, gid.rsplit("/", 1)[-1])


def _chain(strategy: GatingStrategy, gid: str) -> list[str]:
    out: list[str] = []
    cur: str | None = gid
    while cur is not None:
        out.append(cur)
        cur = strategy.parents.get(cur)
    return out[::-1]


# ------------------------------------------------------------------------ gate steps
@dataclass(frozen=True)
class GateStep:
    """One gating step: a parent population shown in the dimensions of its child gates.

    Attributes
    ----------
    parent
        Gate id of the parent population (``None`` = all events).
    x, y
        The dimensions of the axes (``y`` is ``None`` for range gates: a histogram).
    gates
        Ids of the child gates drawn on the step's plot.
    """

    parent: str | None
    x: Dimension
    y: Dimension | None
    gates: tuple[str, ...]


def _plain_dims(gate: Gate) -> tuple[Dimension, ...] | None:
    dims = getattr(gate, "dims", None)
    if not dims or len(dims) > 2 or any(isinstance(d, RatioDimension) for d in dims):
        return None
    return tuple(dims)


def gate_steps(strategy: GatingStrategy, sample: Sample) -> list[GateStep]:
    """The gating steps of ``strategy`` in hierarchy order (boolean gates, ratio and
    3-D gates have no plot and are left out)."""
    order: list[tuple[str | None, tuple[int, ...]]] = []
    groups: dict[tuple[str | None, tuple[int, ...]], list[str]] = {}
    dims_of: dict[tuple[str | None, tuple[int, ...]], tuple[Dimension, ...]] = {}
    for gid in strategy.populations():
        dims = _plain_dims(strategy.gates[gid])
        if dims is None:
            continue
        idx = tuple(sample.channel_index(d.channel) for d in dims)
        parent = strategy.parents.get(gid)
        key = (parent, idx)
        if len(idx) == 2 and (parent, idx[::-1]) in groups:
            key = (parent, idx[::-1])
        if key not in groups:
            groups[key] = []
            dims_of[key] = dims if len(idx) == 1 or key[1] == idx else dims[::-1]
            order.append(key)
        groups[key].append(gid)
    out = []
    for key in order:
        dims = dims_of[key]
        out.append(GateStep(key[0], dims[0], dims[1] if len(dims) == 2 else None,
                            tuple(groups[key])))
    return out


# --------------------------------------------------------------------------- drawing
def _raw(sample: Sample, strategy: GatingStrategy | None, ax_: _Axis,
         cache: dict[tuple[int, str], np.ndarray]) -> np.ndarray:
    """The axis' channel in data units (compensated as the axis says), cached."""
    key = (ax_.index, ax_.comp)
    if key not in cache:
        if strategy is not None and ax_.comp != UNCOMPENSATED:
            cache[key] = strategy.data(sample).channel(ax_.channel, ax_.comp)
        else:
            cache[key] = sample.events[:, ax_.index].astype(np.float64)
    return cache[key]


def _events(sample: Sample, strategy: GatingStrategy | None, ax_: _Axis,
            cache: dict[tuple[int, str], np.ndarray]) -> np.ndarray:
    """The axis' channel in display space."""
    raw = _raw(sample, strategy, ax_, cache)
    return np.asarray(ax_.transform.forward(raw), dtype=np.float64) \
        if ax_.transform is not None else raw


def _subset(n: int, max_points: int) -> np.ndarray:
    if n <= max_points:
        return np.arange(n)
    rng = np.random.default_rng(0)
    return np.sort(rng.choice(n, size=max_points, replace=False))


def _draw_events(ax: Axes, x: np.ndarray, y: np.ndarray, xlim: tuple[float, float],
                 ylim: tuple[float, float], *, kind: str, bins: int, max_points: int,
                 cmap: str, color: str | None = None, label: str = EVENTS_LABEL) -> None:
    ok = np.isfinite(x) & np.isfinite(y)
    x = np.clip(x[ok], *xlim)
    y = np.clip(y[ok], *ylim)
    if color is not None:
        idx = _subset(x.size, max_points)
        ax.scatter(x[idx], y[idx], s=2, c=color, linewidths=0, rasterized=True,
                   label=label)
        return
    h, xe, ye = np.histogram2d(x, y, bins=bins, range=[xlim, ylim])
    if kind == "hist":
        from matplotlib.colors import LogNorm

        masked = np.ma.masked_equal(h.T, 0)
        ax.pcolormesh(xe, ye, masked, cmap=cmap, norm=LogNorm(vmin=1,
                      vmax=max(float(h.max()), 1.0)), rasterized=True, label=label)
        return
    ix = np.clip(np.searchsorted(xe, x, side="right") - 1, 0, bins - 1)
    iy = np.clip(np.searchsorted(ye, y, side="right") - 1, 0, bins - 1)
    dens = np.log1p(h[ix, iy])
    idx = _subset(x.size, max_points)
    order = idx[np.argsort(dens[idx], kind="stable")]
    ax.scatter(x[order], y[order], c=dens[order], s=2, cmap=cmap, linewidths=0,
               rasterized=True, label=label)


def _finish_axis(ax: Axes, xa: _Axis, ya: _Axis | None, xlim: tuple[float, float],
                 ylim: tuple[float, float]) -> None:
    ax.set_xlim(*xlim)
    ax.set_ylim(*ylim)
    _decade_ticks(ax, "x", xa.transform, xlim)
    ax.set_xlabel(xa.label)
    if ya is not None:
        _decade_ticks(ax, "y", ya.transform, ylim)
        ax.set_ylabel(ya.label)


def _gate_text(ax: Axes, x: float, y: float, text: str, **kw: Any) -> None:
    ax.text(x, y, text, fontsize=8, color=_GATE_COLOR, clip_on=True, **kw)


def _pct(masks: Mapping[str, np.ndarray], strategy: GatingStrategy, gid: str,
         n: int) -> float:
    parent = strategy.parents.get(gid)
    pcount = int(masks[parent].sum()) if parent else n
    return 100.0 * int(masks[gid].sum()) / pcount if pcount else float("nan")


def _quadrant_sets(strategy: GatingStrategy, gids: Sequence[str],
                   axes_idx: Sequence[int], sample: Sample
                   ) -> list[tuple[tuple[float, float], list[str]]]:
    """Sibling rectangles that are quadrants of one cross: ((cx, cy) in gate space, ids)."""
    found: dict[tuple[float, float], list[str]] = {}
    for gid in gids:
        g = strategy.gates[gid]
        dims = _plain_dims(g)
        if not isinstance(g, (RectangleGate, Quadrant)) or dims is None or len(dims) != 2:
            continue
        cut: list[float] = [np.nan, np.nan]
        ok = True
        for d, lo, hi in zip(dims, g.mins, g.maxs, strict=True):
            a = axes_idx.index(sample.channel_index(d.channel))
            if (lo is None) == (hi is None):
                ok = False
                break
            cut[a] = float(lo if lo is not None else hi)  # type: ignore[arg-type]
        if ok:
            found.setdefault((cut[0], cut[1]), []).append(gid)
    return [(c, ids) for c, ids in found.items() if len(ids) >= 2]


def _draw_gates(ax: Axes, strategy: GatingStrategy, sample: Sample, gids: Sequence[str],
                axes: Sequence[_Axis], lims: Sequence[tuple[float, float]],
                masks: Mapping[str, np.ndarray], *, percent: bool = True) -> None:
    from matplotlib.patches import Ellipse, Polygon, Rectangle

    idx = [a.index for a in axes]
    n = sample.n_events
    quads = _quadrant_sets(strategy, gids, idx, sample) if len(axes) == 2 else []
    in_quads = {g for _, ids in quads for g in ids}

    def pct_text(gid: str) -> str:
        return f"{_name(strategy, gid)}\n{_pct(masks, strategy, gid, n):.1f}%" if percent \
            else _name(strategy, gid)

    for (cx, cy), ids in quads:
        src: list[Transform | None] = [None, None]
        for d in _plain_dims(strategy.gates[ids[0]]) or ():
            src[idx.index(sample.channel_index(d.channel))] = d.transform
        px = float(_map(np.array([cx]), src[0], axes[0].transform)[0])
        py = float(_map(np.array([cy]), src[1], axes[1].transform)[0])
        ax.axvline(px, color=_GATE_COLOR, lw=1.0, label=QUADRANT_LABEL)
        ax.axhline(py, color=_GATE_COLOR, lw=1.0, label=QUADRANT_LABEL)
        for gid in ids:
            g = strategy.gates[gid]
            assert isinstance(g, (RectangleGate, Quadrant))
            right = upper = False
            for d, q_lo in zip(_plain_dims(g) or (), g.mins, strict=True):
                a = idx.index(sample.channel_index(d.channel))
                if a == 0:
                    right = q_lo is not None
                else:
                    upper = q_lo is not None
            _gate_text(ax, 0.98 if right else 0.02, 0.98 if upper else 0.02, pct_text(gid),
                       transform=ax.transAxes, ha="right" if right else "left",
                       va="top" if upper else "bottom")
    for gid in gids:
        if gid in in_quads:
            continue
        g = strategy.gates[gid]
        dims = _plain_dims(g)
        if dims is None:
            continue
        if isinstance(g, (RectangleGate, Quadrant)):
            lo = [lims[0][0], lims[1][0] if len(lims) > 1 else 0.0]
            hi = [lims[0][1], lims[1][1] if len(lims) > 1 else 1.0]
            for d, a_lo, a_hi in zip(dims, g.mins, g.maxs, strict=True):
                a = idx.index(sample.channel_index(d.channel))
                m = _map(np.array([np.nan if a_lo is None else a_lo,
                                   np.nan if a_hi is None else a_hi]),
                         d.transform, axes[a].transform)
                if a_lo is not None:
                    lo[a] = float(m[0])
                if a_hi is not None:
                    hi[a] = float(m[1])
            if len(axes) == 1:  # a range on a histogram: span the height
                ax.add_patch(Rectangle((lo[0], 0), hi[0] - lo[0], 1, fill=False,
                                       edgecolor=_GATE_COLOR, lw=1.2, label=GATE_LABEL,
                                       transform=ax.get_xaxis_transform()))
                _gate_text(ax, lo[0], 0.97, " " + pct_text(gid).replace("\n", " "),
                           transform=ax.get_xaxis_transform(), va="top")
                continue
            ax.add_patch(Rectangle((lo[0], lo[1]), hi[0] - lo[0], hi[1] - lo[1],
                                   fill=False, edgecolor=_GATE_COLOR, lw=1.2,
                                   label=GATE_LABEL))
            _gate_text(ax, lo[0], hi[1], " " + pct_text(gid), va="top")
        elif isinstance(g, PolygonGate):
            verts = np.asarray(g.vertices, dtype=np.float64)
            cols = [idx.index(sample.channel_index(d.channel)) for d in dims]
            verts = verts[:, np.argsort(cols)]
            srcs = [dims[cols.index(a)].transform for a in (0, 1)]
            if any(s != axes[a].transform for a, s in enumerate(srcs)):
                closed = np.vstack([verts, verts[:1]])
                t = np.linspace(0, 1, _EDGE_POINTS, endpoint=False)
                verts = np.vstack([p + t[:, None] * (q - p)
                                   for p, q in zip(closed[:-1], closed[1:], strict=True)])
                verts = np.column_stack([_map(verts[:, a], srcs[a], axes[a].transform)
                                         for a in (0, 1)])
            ax.add_patch(Polygon(verts, closed=True, fill=False, edgecolor=_GATE_COLOR,
                                 lw=1.2, label=GATE_LABEL))
            top = int(np.argmax(verts[:, 1]))
            _gate_text(ax, float(verts[top, 0]), float(verts[top, 1]), pct_text(gid),
                       ha="center", va="top")
        elif isinstance(g, EllipsoidGate) and len(dims) == 2:
            cols = [idx.index(sample.channel_index(d.channel)) for d in dims]
            perm = np.argsort(cols)
            mean = np.asarray(g.mean, dtype=np.float64)[perm]
            cov = np.asarray(g.covariance, dtype=np.float64)[np.ix_(perm, perm)]
            srcs = [dims[cols.index(a)].transform for a in (0, 1)]
            vals, vecs = np.linalg.eigh(cov * g.distance_square)
            if all(s == axes[a].transform for a, s in enumerate(srcs)):
                angle = float(np.degrees(np.arctan2(vecs[1, 1], vecs[0, 1])))
                ax.add_patch(Ellipse((float(mean[0]), float(mean[1])),
                                     2 * float(np.sqrt(max(vals[1], 0.0))),
                                     2 * float(np.sqrt(max(vals[0], 0.0))), angle=angle,
                                     fill=False, edgecolor=_GATE_COLOR, lw=1.2,
                                     label=GATE_LABEL))
            else:
                t = np.linspace(0, 2 * np.pi, 181)
                circle = np.column_stack([np.cos(t), np.sin(t)])
                pts = mean + circle @ (vecs * np.sqrt(np.maximum(vals, 0.0))).T
                pts = np.column_stack([_map(pts[:, a], srcs[a], axes[a].transform)
                                       for a in (0, 1)])
                ax.add_patch(Polygon(pts, closed=True, fill=False, edgecolor=_GATE_COLOR,
                                     lw=1.2, label=GATE_LABEL))
                mean = np.array([_map(mean[a:a + 1], srcs[a], axes[a].transform)[0]
                                 for a in (0, 1)])
            _gate_text(ax, float(mean[0]), float(mean[1]), pct_text(gid), ha="center",
                       va="center")


def _gate_coords(strategy: GatingStrategy, sample: Sample, gids: Sequence[str],
                 axes: Sequence[_Axis]) -> list[list[float]]:
    """Finite gate coordinates per axis in display space (to keep gates in view)."""
    out: list[list[float]] = [[] for _ in axes]
    idx = [a.index for a in axes]
    for gid in gids:
        g = strategy.gates[gid]
        dims = _plain_dims(g)
        if dims is None:
            continue
        for j, d in enumerate(dims):
            a = idx.index(sample.channel_index(d.channel))
            if isinstance(g, (RectangleGate, Quadrant)):
                vals = [v for v in (g.mins[j], g.maxs[j]) if v is not None]
            elif isinstance(g, PolygonGate):
                vals = [v[j] for v in g.vertices]
            elif isinstance(g, EllipsoidGate):
                r = float(np.sqrt(g.covariance[j][j] * g.distance_square))
                vals = [g.mean[j] - r, g.mean[j] + r]
            else:
                vals = []
            if vals:
                m = _map(np.asarray(vals, dtype=np.float64), d.transform, axes[a].transform)
                out[a].extend(float(v) for v in m if np.isfinite(v))
    return out


def _extend(lim: tuple[float, float], coords: Sequence[float], tr: Transform | None
            ) -> tuple[float, float]:
    if not coords:
        return lim
    lo, hi = min(lim[0], min(coords)), max(lim[1], max(coords))
    pad = 0.02 * (hi - lo)
    lo, hi = (lo - pad if lo < lim[0] else lo), (hi + pad if hi > lim[1] else hi)
    if tr is not None:
        hi = min(hi, 1.05)
    return lo, hi


def _children(strategy: GatingStrategy, parent: str | None, axes_idx: Sequence[int],
              sample: Sample) -> list[str]:
    out = []
    for gid, p in strategy.parents.items():
        if p != parent:
            continue
        dims = _plain_dims(strategy.gates[gid])
        if dims is None:
            continue
        if all(sample.channel_index(d.channel) in axes_idx for d in dims):
            out.append(gid)
    return out


def _panel(ax: Axes, sample: Sample, strategy: GatingStrategy | None,
           masks: Mapping[str, np.ndarray], cache: dict[tuple[int, str], np.ndarray],
           parent: str | None, xa: _Axis, ya: _Axis | None, gids: Sequence[str], *,
           highlight: str | None, kind: str, bins: int, max_points: int, cmap: str,
           title: str | None) -> None:
    n = sample.n_events
    pmask = masks[parent] if parent is not None else np.ones(n, dtype=bool)
    x_all = _events(sample, strategy, xa, cache)
    x = x_all[pmask]
    xlim = _limits(x, xa.transform)
    axes = [xa] if ya is None else [xa, ya]
    coords = _gate_coords(strategy, sample, gids, axes) if strategy is not None else [[], []]
    xlim = _extend(xlim, coords[0], xa.transform)
    if ya is None:
        _histogram_panel(ax, x, xlim, bins=bins, label=EVENTS_LABEL)
        if highlight is not None:
            _histogram_panel(ax, x_all[masks[highlight]], xlim, bins=bins,
                             label=HIGHLIGHT_LABEL, color="#D55E00", scale_to=x)
        ylim = (0.0, ax.get_ylim()[1])
    else:
        y_all = _events(sample, strategy, ya, cache)
        y = y_all[pmask]
        ylim = _extend(_limits(y, ya.transform), coords[1], ya.transform)
        if highlight is not None:
            _draw_events(ax, x, y, xlim, ylim, kind="dot", bins=bins, max_points=max_points,
                         cmap=cmap, color=_BACK_COLOR)
            hm = masks[highlight]
            _draw_events(ax, x_all[hm], y_all[hm], xlim, ylim, kind="dot", bins=bins,
                         max_points=max_points, cmap=cmap, color="#D55E00",
                         label=HIGHLIGHT_LABEL)
        else:
            _draw_events(ax, x, y, xlim, ylim, kind=kind, bins=bins, max_points=max_points,
                         cmap=cmap)
    _finish_axis(ax, xa, ya, xlim, ylim)
    if strategy is not None and gids:
        lims = [xlim] if ya is None else [xlim, ylim]
        _draw_gates(ax, strategy, sample, gids, axes, lims, masks)
    pname = _name(strategy, parent) if (strategy is not None and parent) else "all events"
    count = int(pmask.sum())
    ax.set_title(title if title is not None else f"{pname} ({count:,} events)", loc="left",
                 fontsize=9)


def _histogram_panel(ax: Axes, x: np.ndarray, xlim: tuple[float, float], *, bins: int,
                     label: str, color: str = "#000000",
                     scale_to: np.ndarray | None = None) -> None:
    v = np.clip(x[np.isfinite(x)], *xlim)
    h, edges = np.histogram(v, bins=min(bins, 128), range=xlim)
    centres = (edges[:-1] + edges[1:]) / 2
    ax.plot(centres, h, drawstyle="steps-mid", color=color, lw=1.2, label=label)
    ax.set_ylabel("Events")
    top = h.max() if scale_to is None else np.histogram(
        np.clip(scale_to[np.isfinite(scale_to)], *xlim), bins=min(bins, 128),
        range=xlim)[0].max()
    ax.set_ylim(0, max(float(top), 1.0) * 1.15)


# ------------------------------------------------------------------------- public API
def _new_figure(n: int, ncols: int, size: tuple[float, float]) -> tuple[Figure, list[Axes]]:
    from matplotlib.figure import Figure

    ncols = max(1, min(ncols, n))
    nrows = -(-n // ncols)
    fig = Figure(figsize=(size[0] * ncols, size[1] * nrows), layout="constrained")
    grid = fig.subplots(nrows, ncols, squeeze=False)
    axes = [a for row in grid for a in row]
    for a in axes[n:]:
        a.set_visible(False)
    return fig, axes[:n]


def _freeze(fig: Figure) -> Figure:
    fig.draw_without_rendering()
    fig.set_layout_engine("none")
    return fig


def _check_kind(kind: str) -> None:
    if kind not in {"dot", "hist"}:
        raise InputError(f"kind must be 'dot' or 'hist', got {kind!r}")


def density_plot(sample: Sample, x: str, y: str, *, strategy: GatingStrategy | None = None,
                 parent: str | None = None, gates: Sequence[str] | None = None,
                 transforms: Mapping[str, TransformSpec] | None = None,
                 highlight: str | None = None, kind: Literal["dot", "hist"] = "dot",
                 bins: int = 200, max_points: int = 30_000, cmap: str = "viridis",
                 title: str | None = None, ax: Axes | None = None,
                 figsize: tuple[float, float] = (3.4, 3.2)) -> Figure:
    """A density dot plot (or 2-D histogram) of one population with its gates drawn.

    Parameters
    ----------
    sample
        The sample (:func:`preclin.flow.read_fcs`).
    x, y
        Channels or markers of the axes.
    strategy
        Gating strategy: compensation, display transforms and gates come from it.
    parent
        Population whose events are shown (id, path or name; default all events).
    gates
        Gates to draw (ids, paths or names); default: the child gates of ``parent``
        whose dimensions are among ``x`` and ``y``.
    transforms
        Display transform per marker or channel (module docstring).
    highlight
        A population drawn in colour over the others in grey (back-gating).
    kind
        ``"dot"``: events coloured by the density of their neighbourhood (densest on
        top; at most ``max_points`` events drawn, chosen with a fixed seed; the density
        counts every event); ``"hist"``: a 2-D histogram on a log colour scale.
    bins
        Bins per axis of the density estimate.
    ax
        Draw into these axes (create them inside :func:`preclin.report.prism_style`).

    Returns
    -------
    matplotlib.figure.Figure
    """
    from ..report import prism_style

    _check_kind(kind)
    with prism_style():
        fig: Any
        new = ax is None
        if ax is None:
            fig, (ax,) = _new_figure(1, 1, figsize)
        else:
            fig = ax.get_figure()
        pid = resolve_population(strategy, parent) if strategy is not None else None
        hid = resolve_population(strategy, highlight) if (strategy and highlight) else None
        xa = _axis(sample, _dim_for(strategy, sample, x), strategy, transforms)
        ya = _axis(sample, _dim_for(strategy, sample, y), strategy, transforms)
        masks = strategy.evaluate(sample) if strategy is not None else {}
        if strategy is None:
            gids: list[str] = []
        elif gates is None:
            gids = _children(strategy, pid, [xa.index, ya.index], sample)
        else:
            gids = [g for g in (resolve_population(strategy, n) for n in gates)
                    if g is not None]
        _panel(ax, sample, strategy, masks, {}, pid, xa, ya, gids, highlight=hid,
               kind=kind, bins=bins, max_points=max_points, cmap=cmap, title=title)
        return _freeze(fig) if new else fig


def _dim_for(strategy: GatingStrategy | None, sample: Sample, name: str) -> Dimension:
    """The dimension the strategy's gates use for ``name`` (else uncompensated/majority)."""
    idx = sample.channel_index(name)
    if strategy is not None:
        for g in strategy.gates.values():
            for d in getattr(g, "dims", ()):
                if isinstance(d, Dimension) and _index(sample, d.channel) == idx:
                    return Dimension(name, d.compensation, d.transform)
    return Dimension(name, _majority_comp(strategy))


def gating_plots(sample: Sample, strategy: GatingStrategy, *,
                 transforms: Mapping[str, TransformSpec] | None = None,
                 kind: Literal["dot", "hist"] = "dot", ncols: int = 3, bins: int = 200,
                 max_points: int = 30_000, cmap: str = "viridis",
                 panel_size: tuple[float, float] = (3.1, 2.9), title: str | None = None
                 ) -> Figure:
    """The gating strategy of one sample: one panel per :func:`gate_steps` step.

    Each panel shows the parent population's events in the dimensions of its child gates
    with those gates drawn and labelled with their % of parent (1-D range gates: a
    histogram with the range marked).
    """
    from ..report import prism_style

    _check_kind(kind)
    steps = gate_steps(strategy, sample)
    if not steps:
        raise InputError("the gating strategy has no gate that can be drawn")
    masks = strategy.evaluate(sample)
    cache: dict[tuple[int, str], np.ndarray] = {}
    with prism_style():
        fig, axes = _new_figure(len(steps), ncols, panel_size)
        for ax, st in zip(axes, steps, strict=True):
            xa = _axis(sample, st.x, strategy, transforms)
            ya = _axis(sample, st.y, strategy, transforms) if st.y is not None else None
            _panel(ax, sample, strategy, masks, cache, st.parent, xa, ya, st.gates,
                   highlight=None, kind=kind, bins=bins, max_points=max_points, cmap=cmap,
                   title=None)
        if title:
            fig.suptitle(title, fontsize=10, fontweight="bold")
        return _freeze(fig)


def backgate_plots(sample: Sample, strategy: GatingStrategy, population: str, *,
                   transforms: Mapping[str, TransformSpec] | None = None,
                   ncols: int = 3, bins: int = 200, max_points: int = 30_000,
                   panel_size: tuple[float, float] = (3.1, 2.9), title: str | None = None
                   ) -> Figure:
    """Back-gating: ``population`` in colour on the plot of every gate of its lineage.

    One panel per gate from the root down to the population itself: the gate's parent
    events in grey, the population's events in colour, the gate drawn.
    """
    from ..report import prism_style

    pid = resolve_population(strategy, population)
    if pid is None:
        raise InputError("back-gating needs a population, not all events")
    steps = gate_steps(strategy, sample)
    chain = _chain(strategy, pid)
    panels: list[tuple[GateStep, str]] = []
    for gid in chain:
        for st in steps:
            if gid in st.gates:
                panels.append((st, gid))
                break
    if not panels:
        raise InputError(f"no gate of the lineage of {population!r} can be drawn")
    masks = strategy.evaluate(sample)
    cache: dict[tuple[int, str], np.ndarray] = {}
    with prism_style():
        fig, axes = _new_figure(len(panels), ncols, panel_size)
        for ax, (st, gid) in zip(axes, panels, strict=True):
            xa = _axis(sample, st.x, strategy, transforms)
            ya = _axis(sample, st.y, strategy, transforms) if st.y is not None else None
            parent = _name(strategy, st.parent) if st.parent else "all events"
            _panel(ax, sample, strategy, masks, cache, st.parent, xa, ya, [gid],
                   highlight=pid, kind="dot", bins=bins, max_points=max_points,
                   cmap="viridis", title=f"{parent} → {_name(strategy, gid)}")
        n = int(masks[pid].sum())
        fig.suptitle(title or f"Back-gating of {strategy.path(pid)} ({n:,} events, "
                     "colour) on its ancestors' plots (grey)", fontsize=10,
                     fontweight="bold")
        return _freeze(fig)


def overlay_histograms(samples: Mapping[str, Sample] | Sequence[Sample], channel: str, *,
                       strategy: GatingStrategy | None = None,
                       population: str | None = None,
                       transforms: Mapping[str, TransformSpec] | None = None,
                       stat: Literal["median", "mean", "gmean"] | None = "median",
                       bins: int = 128, normalise: Literal["mode", "count"] = "mode",
                       smooth: bool = True,
                       colors: Sequence[str] | None = None, title: str | None = None,
                       ax: Axes | None = None, figsize: tuple[float, float] = (5.4, 3.0)
                       ) -> Figure:
    """Histograms of one marker in several samples, overlaid (e.g. treated vs control).

    Parameters
    ----------
    samples
        Label → sample (or samples, labelled by their names). The first is drawn filled
        in grey (the control), the others as coloured lines.
    channel
        Marker or channel.
    strategy, population
        Gating strategy and the population whose events are used (default all events).
    stat
        The MFI drawn as a dashed line per sample and given in the legend (computed on
        the data scale, as :mod:`preclin.flow.stats` does); ``None`` for none.
    normalise
        ``"mode"``: each histogram as % of its own maximum (FlowJo's "normalised to
        mode", comparable between samples of different sizes); ``"count"``: events.
    smooth
        Smooth each histogram with a 5-bin binomial kernel (1 4 6 4 1)/16 for display.

    Returns
    -------
    matplotlib.figure.Figure
    """
    from ..report import PALETTE, prism_style
    from .stats import _stat

    items = list(samples.items()) if isinstance(samples, Mapping) else \
        [(s.name, s) for s in samples]
    if not items:
        raise InputError("overlay_histograms needs at least one sample")
    if normalise not in {"mode", "count"}:
        raise InputError(f"normalise must be 'mode' or 'count', got {normalise!r}")
    pid = resolve_population(strategy, population) if strategy is not None else None
    first = items[0][1]
    dim = _dim_for(strategy, first, channel)
    xa = _axis(first, dim, strategy, transforms)
    raw: list[np.ndarray] = []
    for _, s in items:
        vals = _raw(s, strategy, _axis(s, dim, strategy, transforms), {})
        if pid is not None and strategy is not None:
            vals = vals[strategy.evaluate(s, [pid])[pid]]
        raw.append(vals)
    shown = [np.asarray(xa.transform.forward(v), dtype=np.float64)
             if xa.transform is not None else v for v in raw]
    xlim = _limits(np.concatenate(shown), xa.transform)
    palette = list(colors) if colors else list(PALETTE[1:])
    with prism_style():
        fig: Any
        new = ax is None
        if ax is None:
            fig, (ax,) = _new_figure(1, 1, figsize)
        else:
            fig = ax.get_figure()
        for k, ((label, _), v, r) in enumerate(zip(items, shown, raw, strict=True)):
            h, edges = np.histogram(np.clip(v[np.isfinite(v)], *xlim), bins=bins,
                                    range=xlim)
            if smooth:  # FlowJo-like light smoothing: a 5-bin binomial kernel
                h = np.convolve(h.astype(float), np.array([1, 4, 6, 4, 1]) / 16.0, "same")
            y = 100.0 * h / h.max() if normalise == "mode" and h.max() > 0 else h.astype(float)
            centres = (edges[:-1] + edges[1:]) / 2
            color = "#808080" if k == 0 else palette[(k - 1) % len(palette)]
            text = str(label)
            if stat is not None:
                m = _stat(r, stat)
                text += f" ({stat} {m:,.0f})"
                mx = float(_map(np.array([m]), None, xa.transform)[0])
                ax.axvline(mx, color=color, lw=1.0, ls="--", label=MFI_LABEL)
            if k == 0:
                ax.fill_between(centres, y, step="mid", color="#D9D9D9", lw=0,
                                label=FILL_LABEL)
            ax.plot(centres, y, drawstyle="steps-mid", color=color, lw=1.5, label=text)
        ytop = (100.0 if normalise == "mode" else ax.get_ylim()[1]) * 1.05
        _finish_axis(ax, xa, None, xlim, (0.0, ytop))
        ax.set_ylim(0.0, ytop)
        ax.set_ylabel("% of max" if normalise == "mode" else "Events")
        ax.legend(loc="upper left", bbox_to_anchor=(1.0, 1.0), fontsize=8)
        where = _name(strategy, pid) if (strategy is not None and pid) else "all events"
        ax.set_title(title if title is not None else f"{xa.label.split(' (')[0]} in {where}",
                     loc="left", fontsize=9)
        return _freeze(fig) if new else fig
