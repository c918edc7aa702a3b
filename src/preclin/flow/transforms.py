"""Scale transforms as Gating-ML 2.0 defines them.

Every transform maps a data value ``x`` to a display value ``y`` (1 = top of scale ``T``).
Closed forms: :class:`Linear`, :class:`Log`, :class:`Asinh`. :class:`Logicle`,
:class:`Hyperlog` are defined implicitly (``y`` = the root of
``B(y) = x``); their inverse is explicit. Formulas and sources: ``docs/methods/flow.md``.

Speed. The implicit transforms are evaluated from a table of exact roots on a grid uniform
in ``u = asinh(|x| / s)`` (in which ``y`` is nearly linear), with linear interpolation —
interpolation error < 1e-9, below float32 resolution — in row blocks, in place. float64
input is refined with Newton steps to ~1e-15 (what the Gating-ML tests use). Out-of-table
values are solved exactly. Measured against flowutils' C logicle in ``docs/dependencies.md``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import cached_property

import numpy as np

from ..errors import InputError

__all__ = [
    "Transform",
    "Linear",
    "Log",
    "Asinh",
    "Logicle",
    "Hyperlog",
    "FlowJoBiex",
    "apply_transforms",
]

_LN10 = float(np.log(10.0))
_BLOCK = 65536


class Transform:
    """Base class: ``forward`` (data → display) and ``inverse`` (display → data)."""

    def forward(self, x: np.ndarray | float) -> np.ndarray:
        """Transform data values; returns an array of the input's float dtype."""
        raise NotImplementedError

    def inverse(self, y: np.ndarray | float) -> np.ndarray:
        """Data values of display values."""
        raise NotImplementedError

    def __call__(self, x: np.ndarray | float) -> np.ndarray:
        return self.forward(x)

    def forward_inplace(self, a: np.ndarray) -> None:
        """Transform a float array in place (used on event columns)."""
        a[...] = self.forward(a)


def _as_float(x: np.ndarray | float) -> np.ndarray:
    a = np.asarray(x)
    if a.dtype not in (np.float32, np.float64):
        a = a.astype(np.float64)
    return a


def _check(cond: bool, what: str) -> None:
    if not cond:
        raise InputError(f"invalid transform parameters: {what}")


@dataclass(frozen=True)
class Linear(Transform):
    """Gating-ML ``flin``: ``y = (x + A) / (T + A)``."""

    T: float = 262144.0
    A: float = 0.0

    def __post_init__(self) -> None:
        _check(self.T > 0 and 0 <= self.A <= self.T, "linear needs T > 0, 0 <= A <= T")

    def forward(self, x: np.ndarray | float) -> np.ndarray:
        a = _as_float(x)
        return ((a + self.A) / (self.T + self.A)).astype(a.dtype, copy=False)

    def inverse(self, y: np.ndarray | float) -> np.ndarray:
        b = _as_float(y)
        return (b * (self.T + self.A) - self.A).astype(b.dtype, copy=False)


@dataclass(frozen=True)
class Log(Transform):
    """Gating-ML ``flog``: ``y = log10(x / T) / M + 1`` (NaN for ``x <= 0``)."""

    T: float = 262144.0
    M: float = 4.5

    def __post_init__(self) -> None:
        _check(self.T > 0 and self.M > 0, "log needs T > 0, M > 0")

    def forward(self, x: np.ndarray | float) -> np.ndarray:
        a = _as_float(x)
        with np.errstate(divide="ignore", invalid="ignore"):
            out = np.log10(a / self.T) / self.M + 1.0
        out = np.where(a > 0, out, np.nan)
        return out.astype(a.dtype, copy=False)

    def inverse(self, y: np.ndarray | float) -> np.ndarray:
        b = _as_float(y)
        return (self.T * 10.0 ** ((b - 1.0) * self.M)).astype(b.dtype, copy=False)


@dataclass(frozen=True)
class Asinh(Transform):
    """Gating-ML ``fasinh``: ``y = (asinh(x sinh(M ln10) / T) + A ln10) / ((M + A) ln10)``."""

    T: float = 262144.0
    M: float = 4.5
    A: float = 0.0

    def __post_init__(self) -> None:
        _check(self.T > 0 and self.M > 0 and 0 <= self.A <= self.M,
               "asinh needs T > 0, M > 0, 0 <= A <= M")

    def forward(self, x: np.ndarray | float) -> np.ndarray:
        a = _as_float(x)
        k = np.sinh(self.M * _LN10) / self.T
        out = (np.arcsinh(a * k) + self.A * _LN10) / ((self.M + self.A) * _LN10)
        return out.astype(a.dtype, copy=False)

    def inverse(self, y: np.ndarray | float) -> np.ndarray:
        b = _as_float(y)
        k = np.sinh(self.M * _LN10) / self.T
        return (np.sinh(b * (self.M + self.A) * _LN10 - self.A * _LN10) / k).astype(
            b.dtype, copy=False)


@dataclass(frozen=True)
class _Implicit(Transform):
    """``y`` = root of ``B(y) = x``, with ``B`` odd about ``x1`` (reflection below ``x1``)."""

    # subclasses define: x1 (float), _pos(z) B on z >= x1, _dpos(z) its derivative, _scale
    x1: float = field(default=0.0, init=False)

    def _pos(self, z: np.ndarray) -> np.ndarray:
        raise NotImplementedError

    def _dpos(self, z: np.ndarray) -> np.ndarray:
        raise NotImplementedError

    @property
    def _scale(self) -> float:
        raise NotImplementedError

    def inverse(self, y: np.ndarray | float) -> np.ndarray:
        b = _as_float(y)
        y64 = b.astype(np.float64)
        neg = y64 < self.x1
        z = np.where(neg, 2.0 * self.x1 - y64, y64)
        v = self._pos(z)
        return np.where(neg, -v, v).astype(b.dtype, copy=False)

    # -- the table -------------------------------------------------------------------
    @cached_property
    def _grid(self) -> tuple[float, float, np.ndarray, np.ndarray, float]:
        """(s, 1/h, y values, slopes, x max) on u = asinh(x/s) in [0, U], x >= 0."""
        s = self._scale
        top = max(float(self._pos(np.array([self.x1 + 1.5]))[0]), 1.0)
        umax = float(np.arcsinh(top / s))
        n = 1 << 17
        u = np.linspace(0.0, umax, n)
        xs = s * np.sinh(u)
        ys = self._solve(xs, lo=np.full(n, self.x1), hi=np.full(n, self.x1 + 1.5))
        h = umax / (n - 1)
        slope = np.empty_like(ys)
        slope[:-1] = np.diff(ys)
        slope[-1] = slope[-2]
        return s, 1.0 / h, ys, slope, float(xs[-1])

    def _solve(self, x: np.ndarray, lo: np.ndarray, hi: np.ndarray) -> np.ndarray:
        """Exact roots of B(y) = x for x >= 0 (bisection, then Newton polish)."""
        lo = lo.copy()
        hi = hi.copy()
        # widen hi where needed
        for _ in range(60):
            bad = self._pos(hi) < x
            if not bad.any():
                break
            hi = np.where(bad, hi + 2.0 * (hi - self.x1 + 0.1), hi)
        for _ in range(48):
            mid = 0.5 * (lo + hi)
            up = self._pos(mid) < x
            lo = np.where(up, mid, lo)
            hi = np.where(up, hi, mid)
        y = 0.5 * (lo + hi)
        return self._newton(x, y)

    def _newton(self, x: np.ndarray, y: np.ndarray, steps: int = 3) -> np.ndarray:
        for _ in range(steps):
            d = self._dpos(y)
            y = y - (self._pos(y) - x) / d
            y = np.maximum(y, self.x1)
        return y

    def _lookup(self, ax: np.ndarray) -> np.ndarray:
        """Table interpolation for ``|x|`` (any float dtype); NaN beyond the table."""
        s, inv_h, ys, slope, _ = self._grid
        dt = ax.dtype
        t = np.arcsinh(ax / dt.type(s))
        t *= dt.type(inv_h)
        i = t.astype(np.int32)
        np.minimum(i, ys.size - 1, out=i)
        t -= i
        out = ys.astype(dt)[i] if dt == np.float64 else _f32_tab(self)[0][i]
        sl = slope[i] if dt == np.float64 else _f32_tab(self)[1][i]
        out += t * sl
        return out

    def forward(self, x: np.ndarray | float) -> np.ndarray:
        a = _as_float(x)
        out = np.empty(a.shape, dtype=a.dtype)
        flat_in = a.reshape(-1)
        flat_out = out.reshape(-1)
        for lo in range(0, flat_in.size, _BLOCK * 8):
            flat_out[lo:lo + _BLOCK * 8] = self._forward_block(flat_in[lo:lo + _BLOCK * 8])
        return out

    def forward_inplace(self, a: np.ndarray) -> None:
        if a.ndim == 2:
            for lo in range(0, a.shape[0], _BLOCK):
                blk = a[lo:lo + _BLOCK]
                blk[...] = self._forward_block(blk)
        else:
            a[...] = self.forward(a)

    def _forward_block(self, x: np.ndarray) -> np.ndarray:
        _, _, _, _, xmax = self._grid
        ax = np.abs(x)
        y = self._lookup(ax)
        beyond = ~(ax <= xmax)  # also NaN
        if x.dtype == np.float64:
            y = self._newton(ax, y, steps=2)
        if beyond.any():
            xb = ax[beyond].astype(np.float64)
            ok = np.isfinite(xb)
            yb = np.full(xb.shape, np.nan)
            if ok.any():
                yb[ok] = self._solve(xb[ok], lo=np.full(int(ok.sum()), self.x1),
                                     hi=np.full(int(ok.sum()), self.x1 + 1.5))
            y[beyond] = yb
        neg = x < 0
        y[neg] = 2.0 * self.x1 - y[neg]
        return y


_F32: dict[int, tuple[np.ndarray, np.ndarray]] = {}


def _f32_tab(t: _Implicit) -> tuple[np.ndarray, np.ndarray]:
    key = id(t._grid[2])
    if key not in _F32:
        _, _, ys, slope, _ = t._grid
        _F32[key] = (ys.astype(np.float32), slope.astype(np.float32))
    return _F32[key]


def _logicle_d(w: float, b: float) -> float:
    """Solve 2 (ln d - ln b) + w (b + d) = 0 for d (Moore & Parks 2012)."""
    if w == 0:
        return b
    lo, hi = 0.0, b
    for _ in range(200):
        mid = 0.5 * (lo + hi)
        if 2.0 * (np.log(mid) - np.log(b)) + w * (b + mid) < 0:
            lo = mid
        else:
            hi = mid
    return 0.5 * (lo + hi)


@dataclass(frozen=True)
class Logicle(_Implicit):
    """Gating-ML 2.0 logicle: root of ``B(y) = a e^{by} - c e^{-dy} - f`` (Parks et al. 2006).

    Parameters: ``T`` top of scale, ``W`` linearisation width in decades, ``M`` decades,
    ``A`` additional negative decades.
    """

    T: float = 262144.0
    W: float = 0.5
    M: float = 4.5
    A: float = 0.0

    def __post_init__(self) -> None:
        _check(self.T > 0 and self.M > 0 and 0 <= self.W <= self.M / 2
               and -self.W <= self.A <= self.M - 2 * self.W,
               "logicle needs T > 0, M > 0, 0 <= W <= M/2, -W <= A <= M - 2W")
        w = self.W / (self.M + self.A)
        x2 = self.A / (self.M + self.A)
        x1 = x2 + w
        x0 = x2 + 2 * w
        b = (self.M + self.A) * _LN10
        d = _logicle_d(w, b)
        c_a = np.exp(x0 * (b + d))
        mf_a = np.exp(b * x1) - c_a / np.exp(d * x1)
        a = self.T / (np.exp(b) - mf_a - c_a / np.exp(d))
        object.__setattr__(self, "x1", float(x1))
        object.__setattr__(self, "_p", (float(a), float(b), float(c_a * a), float(d),
                                        float(mf_a * a)))

    def _pos(self, z: np.ndarray) -> np.ndarray:
        a, b, c, d, f = self._p  # type: ignore[attr-defined]
        return np.asarray(a * np.exp(b * z) - c * np.exp(-d * z) - f)

    def _dpos(self, z: np.ndarray) -> np.ndarray:
        a, b, c, d, _ = self._p  # type: ignore[attr-defined]
        return np.asarray(a * b * np.exp(b * z) + c * d * np.exp(-d * z))

    @property
    def _scale(self) -> float:
        return max(float(self._pos(np.array([self.x1 + 0.1]))[0]), 1e-300)


@dataclass(frozen=True)
class Hyperlog(_Implicit):
    """Gating-ML 2.0 hyperlog: root of ``EH(y) = a e^{by} + c y - f`` (Bagwell 2005)."""

    T: float = 262144.0
    W: float = 0.5
    M: float = 4.5
    A: float = 0.0

    def __post_init__(self) -> None:
        _check(self.T > 0 and self.M > 0 and 0 < self.W <= self.M / 2
               and -self.W <= self.A <= self.M - 2 * self.W,
               "hyperlog needs T > 0, M > 0, 0 < W <= M/2, -W <= A <= M - 2W")
        w = self.W / (self.M + self.A)
        x2 = self.A / (self.M + self.A)
        x1 = x2 + w
        x0 = x2 + 2 * w
        b = (self.M + self.A) * _LN10
        e0 = np.exp(b * x0)
        c_a = e0 / w
        f_a = np.exp(b * x1) + c_a * x1
        a = self.T / (np.exp(b) + c_a - f_a)
        object.__setattr__(self, "x1", float(x1))
        object.__setattr__(self, "_p", (float(a), float(b), float(c_a * a), float(f_a * a)))

    def _pos(self, z: np.ndarray) -> np.ndarray:
        a, b, c, f = self._p  # type: ignore[attr-defined]
        return np.asarray(a * np.exp(b * z) + c * z - f)

    def _dpos(self, z: np.ndarray) -> np.ndarray:
        a, b, c, _ = self._p  # type: ignore[attr-defined]
        return np.asarray(a * b * np.exp(b * z) + c)

    @property
    def _scale(self) -> float:
        return max(float(self._pos(np.array([self.x1 + 0.1]))[0]), 1e-300)


@dataclass(frozen=True)
class FlowJoBiex(Transform):
    """FlowJo's biexponential ("biex") display transform, as FlowJo 10 computes it.

    FlowJo tabulates the inverse (display channel -> data value) on ``channels + 1``
    channels and interpolates it; this class builds the same table and maps data to
    display by linear interpolation, then scales the channel to ``[0, 1]``
    (``y = channel / channels``; multiply by ``length`` for FlowJo's display units).

    Parameters (as in ``.wsp`` ``<transforms:biex>``)
    --------------------------------------------------
    positive
        Positive decades (``pos``).
    negative
        Extra negative decades (``neg``).
    width
        Width basis (``width``, negative, e.g. ``-10``).
    max_range
        Top of scale in data units (``maxRange``).
    channels
        Number of display channels of the table (FlowJo: 4096, whatever ``length`` says).

    Method (``docs/methods/flow.md``): with ``w0 = log10(-width)``, positive decades
    ``p = positive - w0/2`` and ``e = max(negative, 0) + w0/2``, the zero channel is
    ``z = min(floor(e R / (e + p)), R/2)`` (``R`` = channels) and, when ``z > 0``,
    ``p = e R / z``; ``w = w0 / (2p)``, ``P = p ln10``, ``N`` the root of
    ``2 (ln N - ln P) + w (P + N) = 0`` (the logicle ``d``). Channel ``j`` holds
    ``m (e^{P j/(R+1)} - s e^{-N j/(R+1)} - c)`` with ``m = max_range e^{-P}``,
    ``s = e^{(P+N)(w + e/p)}`` and ``c`` making channel ``z`` zero; channels below ``z``
    mirror those above (``v_j = -v_{2z-j}``).
    """

    positive: float = 4.418539922
    negative: float = 0.0
    width: float = -10.0
    max_range: float = 262144.0
    channels: int = 4096

    def __post_init__(self) -> None:
        _check(self.width < 0 and self.positive > 0 and self.max_range > 0
               and self.channels >= 16, "FlowJo biex needs width < 0, pos > 0, "
               "maxRange > 0 and at least 16 channels")

    @cached_property
    def table(self) -> np.ndarray:
        """Data value of each display channel ``0..channels`` (``channels + 1`` values)."""
        r = int(self.channels)
        w0 = float(np.log10(-self.width))
        dec = self.positive - w0 / 2.0
        extra = max(self.negative, 0.0) + w0 / 2.0
        zero = min(int(extra * r / (extra + dec)), r // 2)
        if zero > 0:
            dec = extra * r / zero
        w = w0 / (2.0 * dec)
        big_p = _LN10 * dec
        big_n = _logicle_d(w, big_p)
        n = r + 1
        j = np.arange(n, dtype=np.float64)
        pos = np.exp(j / n * big_p)
        neg = np.exp(-j / n * big_n) * np.exp((big_p + big_n) * (w + extra / dec))
        v = pos - neg
        v = self.max_range / np.exp(big_p) * (v - v[zero])
        if zero > 0:
            v[:zero] = -v[2 * zero - np.arange(zero)]
        return v

    def forward(self, x: np.ndarray | float) -> np.ndarray:
        a = _as_float(x)
        t = self.table
        ch = np.interp(a.astype(np.float64), t, np.arange(t.size, dtype=np.float64))
        lo, hi = a < t[0], a > t[-1]  # beyond the table: extend the end segments
        ch = np.where(lo, (a - t[0]) / (t[1] - t[0]), ch)
        ch = np.where(hi, t.size - 1 + (a - t[-1]) / (t[-1] - t[-2]), ch)
        return (ch / self.channels).astype(a.dtype, copy=False)

    def inverse(self, y: np.ndarray | float) -> np.ndarray:
        b = _as_float(y)
        t = self.table
        ch = b.astype(np.float64) * self.channels
        out = np.interp(ch, np.arange(t.size, dtype=np.float64), t)
        out = np.where(ch < 0, t[0] + ch * (t[1] - t[0]), out)
        out = np.where(ch > t.size - 1, t[-1] + (ch - t.size + 1) * (t[-1] - t[-2]), out)
        return out.astype(b.dtype, copy=False)


def apply_transforms(events: np.ndarray, transforms: Sequence[tuple[int, Transform]], *,
                     inplace: bool = False) -> np.ndarray:
    """Transform columns of an events array: ``[(column, transform), ...]``."""
    out = events if inplace else events.copy()
    for col, tr in transforms:
        column = out[:, col]
        if isinstance(tr, _Implicit):
            for lo in range(0, out.shape[0], _BLOCK):
                blk = column[lo:lo + _BLOCK]
                blk[...] = tr._forward_block(np.ascontiguousarray(blk))
        else:
            column[...] = tr.forward(column)
    return out
