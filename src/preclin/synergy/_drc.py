"""Four-parameter log-logistic fits that follow drc 3.0-1 step by step (private).

SynergyFinder 3 fits its single-drug curves and its ZIP slices with
``drc::drm(..., fct = LL.4(fixed = ...))`` and falls back to ``L.4`` on the log dose when
that fails. On the step-like, flat-ridged least-squares surfaces of real screens the
optimiser stops before the optimum (for example it reports an ibrutinib EC50 of 2.7406 nM
where the least-squares optimum is at 2.94 nM), so SynergyFinder's scores depend on the
optimiser's path, not only on the data. To reproduce them this module re-implements that
path from its published description:

* **Scaling** (drc ``drm``): doses are divided by ``10^floor(log10(median(dose)))`` and
  responses by ``10^floor(log10(median(response)))`` (1 when the median is not positive);
  fixed parameters are scaled alike.
* **Starting values** (drc's default self-starter for LL.4): ``c0 = min(y) - 0.001·range``,
  ``d0 = max(y) + 0.001·range``; ``b0``, ``e0`` from the least-squares line of
  ``log((d0 - y)/(y - c0))`` on ``log(x)`` over the positive doses (``b0`` = slope,
  ``e0 = exp(-intercept/b0)``).
* **Objective**: the residual sum of squares on the scaled data, summed in extended
  precision as R's ``sum`` does.
* **Optimiser**: the variable-metric (BFGS) method of Nash (1990, *Compact Numerical Methods
  for Computers*, algorithm 21) as used by R's ``optim(method = "BFGS")`` with
  ``reltol = 1e-7``, ``maxit = 500``, parameter scaling by the absolute starting values and
  central-difference gradients with step ``1e-3`` on the scaled parameters; the fit fails
  when a gradient (including the numerical Hessian computed afterwards) is not finite.

Nothing here is used for preclin's own curve fitting (:mod:`preclin.doseresponse` finds the
least-squares optimum); it exists so that ``fitter="synergyfinder"`` reproduces the
reference implementation. On fits that stop at the iteration limit the end point depends
on floating-point rounding and can differ from R's in the 2nd–3rd decimal.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

__all__ = ["DrcFit", "OptimError", "drm_ll4", "drm_l4", "fit_dose_response", "predict",
           "solve_dose"]

_NDEPS = 1e-3
_RELTOL = 1e-7
_MAXIT = 500
_STEPREDN = 0.2
_ACCTOL = 1e-4
_RELTEST = 10.0
_EXP_MAX = 709.782712893384  # log(DBL_MAX)

#: dose or response values
Floats = Sequence[float] | NDArray[np.floating]


class OptimError(RuntimeError):
    """The optimiser stopped with an error (non-finite function or gradient value)."""


@dataclass(frozen=True)
class DrcFit:
    """A fitted LL.4 (dose scale) or L.4 (natural-log dose scale) curve.

    ``y = c + (d - c) / (1 + exp(b·(u - u_e)))`` with ``u = log(dose)`` and ``u_e = log(e)``
    for LL.4; for L.4 ``e`` is already on the log scale.
    """

    model: str
    b: float
    c: float
    d: float
    e: float
    rss: float
    iterations: int

    @property
    def ec50(self) -> float:
        """Inflection dose on the dose scale."""
        return self.e if self.model == "LL.4" else math.exp(self.e)


# --------------------------------------------------------------------- numerics as in R
def _rsum_sq(res: Sequence[float]) -> float:
    """``sum(r^2)``: squares in double, accumulated in long double (R's ``rsum``)."""
    acc = np.longdouble(0.0)
    for r in res:
        acc += np.longdouble(r * r)
    return float(acc)


def _dnrm2(xs: Sequence[float]) -> float:
    scale = 0.0
    ssq = 1.0
    for v in xs:
        if v != 0.0:
            a = abs(v)
            if scale < a:
                ssq = 1.0 + ssq * (scale / a) ** 2
                scale = a
            else:
                ssq = ssq + (a / scale) ** 2
    return scale * math.sqrt(ssq)


def _ddot(x: Sequence[float], y: Sequence[float]) -> float:
    n = len(x)
    m = n % 5
    s = 0.0
    for i in range(m):
        s = s + x[i] * y[i]
    for i in range(m, n, 5):
        s = (s + x[i] * y[i] + x[i + 1] * y[i + 1] + x[i + 2] * y[i + 2]
             + x[i + 3] * y[i + 3] + x[i + 4] * y[i + 4])
    return s


def _line(xv: Sequence[float], yv: Sequence[float]) -> tuple[float, float]:
    """Intercept and slope of a least-squares line by Householder QR (as R's ``lm``)."""
    n = len(xv)
    cols = [[1.0] * n, [float(v) for v in xv]]
    qraux = [_dnrm2(cols[0]), _dnrm2(cols[1])]
    for col in range(2):
        if col == n - 1:
            break
        nrm = _dnrm2(cols[col][col:])
        if nrm == 0.0:
            continue
        if cols[col][col] != 0.0:
            nrm = math.copysign(nrm, cols[col][col])
        r = 1.0 / nrm
        for i in range(col, n):
            cols[col][i] = r * cols[col][i]
        cols[col][col] = 1.0 + cols[col][col]
        for j in range(col + 1, 2):
            t = -_ddot(cols[col][col:], cols[j][col:]) / cols[col][col]
            for i in range(col, n):
                cols[j][i] = cols[j][i] + t * cols[col][i]
            if qraux[j] != 0.0:
                tt = max(1.0 - (abs(cols[j][col]) / qraux[j]) ** 2, 0.0)
                qraux[j] = _dnrm2(cols[j][col + 1:]) if abs(tt) < 1e-6 else qraux[j] * math.sqrt(tt)
        qraux[col] = cols[col][col]
        cols[col][col] = -nrm
    qty = [float(v) for v in yv]
    for j in range(min(2, n - 1)):
        if qraux[j] == 0.0:
            continue
        keep = cols[j][j]
        cols[j][j] = qraux[j]
        t = -_ddot(cols[j][j:], qty[j:]) / cols[j][j]
        for i in range(j, n):
            qty[i] = qty[i] + t * cols[j][i]
        cols[j][j] = keep
    b1 = qty[1] / cols[1][1]
    b0 = (qty[0] - b1 * cols[1][0]) / cols[0][0]
    return b0, b1


def _vmmin(b: list[float], fn: Callable[[list[float]], float],
           gr: Callable[[list[float]], list[float]]) -> tuple[list[float], float, int]:
    """Nash's variable-metric minimiser with R's constants; returns (par, value, iterations)."""
    n = len(b)
    f = fn(b)
    if not math.isfinite(f):
        raise OptimError("initial value in 'vmmin' is not finite")
    fmin = f
    gradcount = 1
    g = gr(b)
    it = 1
    ilast = gradcount
    hmat = [[0.0] * n for _ in range(n)]
    count = 0
    while True:
        if ilast == gradcount:
            for i in range(n):
                for j in range(n):
                    hmat[i][j] = 1.0 if i == j else 0.0
        x0 = b[:]
        c = g[:]
        gradproj = 0.0
        t = [0.0] * n
        for i in range(n):
            s = 0.0
            for j in range(i + 1):
                s -= hmat[i][j] * g[j]
            for j in range(i + 1, n):
                s -= hmat[j][i] * g[j]
            t[i] = s
            gradproj += s * g[i]
        if gradproj < 0.0:
            step = 1.0
            accpoint = False
            while True:
                count = 0
                for i in range(n):
                    b[i] = x0[i] + step * t[i]
                    if _RELTEST + x0[i] == _RELTEST + b[i]:
                        count += 1
                if count < n:
                    f = fn(b)
                    accpoint = math.isfinite(f) and f <= fmin + gradproj * step * _ACCTOL
                    if not accpoint:
                        step *= _STEPREDN
                if count == n or accpoint:
                    break
            enough = f > -math.inf and abs(f - fmin) > _RELTOL * (abs(fmin) + _RELTOL)
            if not enough:
                count = n
                fmin = f
            if count < n:
                fmin = f
                g = gr(b)
                gradcount += 1
                it += 1
                d1 = 0.0
                for i in range(n):
                    t[i] = step * t[i]
                    c[i] = g[i] - c[i]
                    d1 += t[i] * c[i]
                if d1 > 0:
                    d2 = 0.0
                    for i in range(n):
                        s = 0.0
                        for j in range(i + 1):
                            s += hmat[i][j] * c[j]
                        for j in range(i + 1, n):
                            s += hmat[j][i] * c[j]
                        x0[i] = s
                        d2 += s * c[i]
                    d2 = 1.0 + d2 / d1
                    for i in range(n):
                        for j in range(i + 1):
                            hmat[i][j] += (d2 * t[i] * t[j] - x0[i] * t[j] - t[i] * x0[j]) / d1
                else:
                    ilast = gradcount
            elif ilast < gradcount:
                count = 0
                ilast = gradcount
        else:
            count = 0
            if ilast == gradcount:
                count = n
            else:
                ilast = gradcount
        if it >= _MAXIT:
            break
        if gradcount - ilast > 2 * n:
            ilast = gradcount
        if count == n and ilast == gradcount:
            break
    return b, fmin, it


def _optim(start: list[float], fn: Callable[[list[float]], float]) -> tuple[list[float], float,
                                                                             int]:
    """``optim(start, fn, method = "BFGS", hessian = TRUE)`` with drc's control settings."""
    n = len(start)
    ps = [abs(s) if abs(s) >= 1e-4 else 1.0 for s in start]

    def grad_at(p: list[float]) -> list[float]:
        x = [p[i] * ps[i] for i in range(n)]
        df = [0.0] * n
        for i in range(n):
            x[i] = (p[i] + _NDEPS) * ps[i]
            v1 = fn(x)
            x[i] = (p[i] - _NDEPS) * ps[i]
            v2 = fn(x)
            df[i] = (v1 - v2) / (2 * _NDEPS)
            if not math.isfinite(df[i]):
                raise OptimError(f"non-finite finite-difference value [{i + 1}]")
            x[i] = p[i] * ps[i]
        return df

    p0 = [start[i] / ps[i] for i in range(n)]
    p, val, it = _vmmin(p0, lambda q: fn([q[i] * ps[i] for i in range(n)]), grad_at)
    # the Hessian optim computes afterwards: its gradients must be finite as well
    for i in range(n):
        eps = _NDEPS / ps[i]
        for sign in (1.0, -1.0):
            q = p[:]
            q[i] = q[i] + sign * eps
            grad_at(q)
    return [p[i] * ps[i] for i in range(n)], val, it


def _r_median(v: Sequence[float]) -> float:
    s = sorted(v)
    n = len(s)
    return s[n // 2] if n % 2 else (s[n // 2 - 1] + s[n // 2]) / 2


def _pow10_floor(v: float) -> float:
    if not v > 0 or not math.isfinite(v):
        return 1.0
    out = 10.0 ** math.floor(math.log10(v))
    return out if out >= 1e-15 else 1.0


# ------------------------------------------------------------------------------ models
def _ll4(b: float, c: float, d: float, e: float, x: float) -> float:
    """drc LL.4 at dose ``x`` with R's IEEE semantics (NaN for a negative dose/e ratio)."""
    r = x / e
    if r != r or r < 0:
        return math.nan
    lr = math.log(r) if r > 0 else -math.inf
    z = b * lr
    if z != z:
        return math.nan
    ex = math.exp(z) if z < _EXP_MAX else math.inf
    return c + (d - c) / (1.0 + ex)


def _l4(b: float, c: float, d: float, e: float, u: float) -> float:
    z = b * (u - e)
    if z != z:
        return math.nan
    ex = math.exp(z) if z < _EXP_MAX else math.inf
    return c + (d - c) / (1.0 + ex)


def _fit(xs: list[float], ys: list[float], fixed: tuple[float | None, float | None],
         log_model: bool, dose_scale: float, resp_scale: float) -> DrcFit:
    lo, hi = min(ys), max(ys)
    pad = 0.001 * (hi - lo)
    c0, d0 = lo - pad, hi + pad
    lx: list[float] = []
    ly: list[float] = []
    for xv, yv in zip(xs, ys, strict=True):
        ratio = (d0 - yv) / (yv - c0)
        if log_model:
            ok = math.isfinite(xv)
            u = xv
        else:
            ok = xv > 0
            u = math.log(xv) if ok else 0.0
        if ok and ratio > 0:
            lx.append(u)
            ly.append(math.log(ratio))
    if len(lx) < 2 or len(set(lx)) < 2:
        raise OptimError("too few distinct doses for starting values")
    a0, b0 = _line(lx, ly)
    if b0 == 0 or not math.isfinite(b0):
        raise OptimError("no slope for starting values")
    e0 = -a0 / b0 if log_model else math.exp(-a0 / b0)
    cfix = None if fixed[0] is None else fixed[0] / resp_scale
    dfix = None if fixed[1] is None else fixed[1] / resp_scale
    start = [b0] + ([c0] if cfix is None else []) + ([d0] if dfix is None else []) + [e0]
    curve = _l4 if log_model else _ll4

    def unpack(p: list[float]) -> tuple[float, float, float, float]:
        k = 1
        c = cfix if cfix is not None else p[k]
        k += cfix is None
        d = dfix if dfix is not None else p[k]
        k += dfix is None
        return p[0], c, d, p[k]

    def fn(p: list[float]) -> float:
        b, c, d, e = unpack(p)
        res = []
        for xv, yv in zip(xs, ys, strict=True):
            r = yv - curve(b, c, d, e, xv)
            if r != r:
                return math.nan
            res.append(r)
        return _rsum_sq(res)

    par, val, it = _optim(start, fn)
    b, c, d, e = unpack(par)
    c *= resp_scale
    d *= resp_scale
    if not log_model:
        e *= dose_scale
    if fixed[0] is not None:
        c = float(fixed[0])
    if fixed[1] is not None:
        d = float(fixed[1])
    return DrcFit("L.4" if log_model else "LL.4", float(b), float(c), float(d), float(e),
                  float(val) * resp_scale * resp_scale, it)


def drm_ll4(dose: Floats, response: Floats, *, c: float | None = None,
            d: float | None = None) -> DrcFit:
    """``drm(response ~ dose, fct = LL.4(fixed = c(NA, c, d, NA)))`` (doses ≥ 0).

    Raises
    ------
    OptimError
        When drc would report "Convergence failed".
    """
    xs = [float(v) for v in dose]
    ys = [float(v) for v in response]
    ds = _pow10_floor(_r_median(xs))
    rs = _pow10_floor(_r_median(ys))
    return _fit([v / ds for v in xs], [v / rs for v in ys], (c, d), False, ds, rs)


def drm_l4(log_dose: Floats, response: Floats, *, c: float | None = None,
           d: float | None = None) -> DrcFit:
    """``drm(response ~ log(dose), fct = L.4(fixed = c(NA, c, d, NA)))`` (no data scaling)."""
    return _fit([float(v) for v in log_dose], [float(v) for v in response], (c, d), True,
                1.0, 1.0)


def fit_dose_response(dose: Floats, response: Floats, *,
                      emin: float | None = None, emax: float | None = None) -> DrcFit | None:
    """SynergyFinder's ``FitDoseResponse``: LL.4, else L.4 on ``log(dose)`` (0 → 1e-10).

    A constant response gets ``1e-10`` added to its last value first. Returns ``None`` when
    both fits fail.
    """
    xs = [float(v) for v in dose]
    ys = [float(v) for v in response]
    if len(ys) > 1 and np.var(ys) == 0:
        ys[-1] = ys[-1] + 1e-10
    try:
        return drm_ll4(xs, ys, c=emin, d=emax)
    except (OptimError, ZeroDivisionError, OverflowError, ValueError):
        pass
    try:
        return drm_l4([math.log(v if v > 0 else 1e-10) for v in xs], ys, c=emin, d=emax)
    except (OptimError, ZeroDivisionError, OverflowError, ValueError):
        return None


def predict(fit: DrcFit, dose: float) -> float:
    """Fitted response at ``dose`` (dose 0 → 1e-10 for L.4 fits)."""
    if fit.model == "LL.4":
        return _ll4(fit.b, fit.c, fit.d, fit.e, float(dose))
    return _l4(fit.b, fit.c, fit.d, fit.e, math.log(dose if dose > 0 else 1e-10))


def solve_dose(fit: DrcFit, y: float) -> float:
    """Dose at which the curve reaches ``y`` (SynergyFinder's ``.SolveExpDose``).

    ``inf`` above the curve's upper asymptote, ``0`` below its lower one.
    """
    b, c, d, e = fit.b, fit.c, fit.d, fit.e
    if y > max(c, d):
        return math.inf
    if y < min(c, d):
        return 0.0
    if y == c:
        ratio = math.inf
    else:
        ratio = (d - y) / (y - c)
    with np.errstate(all="ignore"):
        try:
            val = ratio ** (1.0 / b)
        except ZeroDivisionError:
            val = math.inf
        except OverflowError:
            val = math.inf
    if fit.model == "LL.4":
        return e * val
    if val == 0:
        return 0.0
    return math.exp(e + math.log(val)) if math.isfinite(val) else math.inf
