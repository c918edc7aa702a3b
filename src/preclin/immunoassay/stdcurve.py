"""4PL/5PL standard curves as xPONENT writes them, weighted as xPONENT weights them.

``y = A + (B − A) / (1 + (x/C)^D)^F`` (``F = 1``: 4PL), fitted with ``D < 0`` so that
``A`` is the response at zero concentration and ``B`` at infinite concentration: ``A < B``
is an increasing curve (bead MFI), ``A > B`` a decreasing one (a WEHI-164 bioassay read by
MTT).
Weighted least squares by :func:`scipy.optimize.least_squares` with residual
``(ŷ − y)·√w``: ``none`` (w = 1), ``1/y`` (w = 1/|y|) or ``1/y2`` (w = 1/y², xPONENT's
default); a standard whose response is exactly 0 gets w = 1. Weighted R² =
1 − Σw(ŷ − y)² / Σw(y − ȳ_w)². Definitions: ``docs/methods/immunoassay.md``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import ArrayLike

from ..errors import InputError

__all__ = ["CurveFit", "logistic", "inverse", "fit_curve", "WEIGHTS", "MODELS", "F_MIN"]

WEIGHTS = ("none", "1/y", "1/y2")
#: lower bound of the 5PL asymmetry F: below it the curve degenerates into a power-law
#: run-off whose parameters are not determined (drLumi HGF: unbounded F → 0.016, cost
#: 0.757; xPONENT's fit, and every fit with F ≥ F_MIN, lies in the F ≥ 0.05 valley)
F_MIN = 0.05
MODELS = ("4pl", "5pl")


def logistic(x: ArrayLike, a: float, b: float, c: float, d: float, f: float = 1.0) -> np.ndarray:
    """Response at concentration ``x`` (0 allowed)."""
    xx = np.asarray(x, dtype=float)
    with np.errstate(divide="ignore", over="ignore", invalid="ignore"):
        return a + (b - a) / (1.0 + (xx / c) ** d) ** f


def inverse(y: ArrayLike, a: float, b: float, c: float, d: float, f: float = 1.0, *,
            limits: bool = False) -> np.ndarray:
    """Concentration for response ``y``: ``C·(((B − A)/(y − A))^(1/F) − 1)^(1/D)``.

    Responses outside the open interval between the asymptotes give NaN, or with
    ``limits=True`` the limit the curve tends to there (0 or ∞, as nCal's
    ``FivePL.x.inv``).
    """
    yy = np.asarray(y, dtype=float)
    with np.errstate(divide="ignore", over="ignore", invalid="ignore"):
        z = ((b - a) / (yy - a)) ** (1.0 / f) - 1.0
        x = c * z ** (1.0 / d)
    lo, hi = min(a, b), max(a, b)
    inside = (yy > lo) & (yy < hi)
    if limits:
        y0 = a if d < 0 else b  # response at zero concentration
        at_zero = np.where(y0 == lo, yy <= lo, yy >= hi)
        x = np.where(inside, x, np.where(at_zero, 0.0, np.inf))
    else:
        x = np.where(inside, x, np.nan)
    return np.asarray(x, dtype=float)


@dataclass(frozen=True)
class CurveFit:
    """A fitted standard curve.

    Attributes
    ----------
    model, weights
        ``4pl``/``5pl`` and the weighting used.
    a, b, c, d, f
        Parameters (see module docstring; ``f = 1`` for 4PL).
    r2
        Weighted R² (xPONENT's).
    cost
        ½ Σ weighted residual².
    n
        Standards used.
    converged
        Whether the optimiser reported success.
    direction
        ``increasing`` or ``decreasing`` (with concentration).
    """

    model: str
    weights: str
    a: float
    b: float
    c: float
    d: float
    f: float
    r2: float
    cost: float
    n: int
    converged: bool

    @property
    def direction(self) -> str:
        return "increasing" if (self.b - self.a) * (-self.d) > 0 else "decreasing"

    def predict(self, x: ArrayLike) -> np.ndarray:
        """Response at concentration ``x``."""
        return logistic(x, self.a, self.b, self.c, self.d, self.f)

    def inverse(self, y: ArrayLike, *, limits: bool = False) -> np.ndarray:
        """Concentration at response ``y`` (see :func:`inverse`)."""
        return inverse(y, self.a, self.b, self.c, self.d, self.f, limits=limits)

    def as_dict(self) -> dict[str, object]:
        """One row of a parameter table."""
        return {"model": self.model, "weights": self.weights, "A": self.a, "B": self.b,
                "C": self.c, "D": self.d, "F": self.f, "r2": self.r2, "n": self.n,
                "direction": self.direction, "converged": self.converged}

    def __repr__(self) -> str:
        return (f"CurveFit({self.model}, weights={self.weights}, A={self.a:.6g}, "
                f"B={self.b:.6g}, C={self.c:.6g}, D={self.d:.6g}, F={self.f:.6g}, "
                f"R²={self.r2:.6f}, n={self.n})")


def _weights(y: np.ndarray, weights: str) -> np.ndarray:
    ay = np.abs(y)
    if weights == "none":
        return np.ones_like(y)
    if weights == "1/y":
        return np.where(ay > 0, 1.0 / np.where(ay > 0, ay, 1.0), 1.0)
    return np.where(ay > 0, 1.0 / np.where(ay > 0, ay, 1.0) ** 2, 1.0)


def _bounded_asymmetry(resid: Any, starts: list[np.ndarray], costs: list[float],
                       fallback: Any) -> Any:
    """Refit with the asymmetry bounded, ``F ≥ F_MIN`` (trust-region reflective)."""
    from scipy.optimize import least_squares

    lo = math.log(F_MIN)
    n = len(resid(starts[0]))

    def safe(p: np.ndarray) -> np.ndarray:
        try:
            return np.asarray(resid(p))
        except OverflowError:  # a trial step with |D| or F beyond float range
            return np.full(n, 1e150)

    lower = np.array([-np.inf, -np.inf, -np.inf, -np.inf, lo])
    upper = np.full(5, np.inf)
    best = None
    for k in np.argsort(costs, kind="stable")[:6]:
        p0 = starts[int(k)].copy()
        p0[4] = max(p0[4], lo + 1e-9)
        try:
            r = least_squares(safe, p0, method="trf", bounds=(lower, upper), xtol=1e-15,
                              ftol=1e-15, gtol=1e-15, max_nfev=20000)
        except (ValueError, FloatingPointError):
            continue
        if best is None or r.cost < best.cost:
            best = r
    return best if best is not None else fallback


def fit_curve(x: ArrayLike, y: ArrayLike, *, model: str = "5pl",
              weights: str = "1/y2") -> CurveFit:
    """Fit a 4PL/5PL curve to standards (concentration ``x`` > 0, response ``y``).

    ``A`` is the response at zero concentration and ``D < 0`` (xPONENT's convention: the
    asymmetry ``F`` then always acts on the same end of the curve; a decreasing curve has
    ``A > B``). Several starts are polished with Levenberg–Marquardt to tight tolerances;
    the lowest weighted cost wins.
    """
    from scipy.optimize import least_squares

    if model not in MODELS:
        raise InputError(f"unknown model {model!r}; use 4pl or 5pl")
    if weights not in WEIGHTS:
        raise InputError(f"unknown weights {weights!r}; use none, 1/y or 1/y2")
    xx = np.asarray(x, dtype=float)
    yy = np.asarray(y, dtype=float)
    ok = np.isfinite(xx) & np.isfinite(yy) & (xx > 0)
    xx, yy = xx[ok], yy[ok]
    npar = 5 if model == "5pl" else 4
    if xx.size < npar or np.unique(xx).size < 3:
        raise InputError(f"a {model.upper()} curve needs at least {npar} standards at 3 or "
                         f"more concentrations, got {xx.size}")
    sw = np.sqrt(_weights(yy, weights))
    lx = np.log(xx)

    def unpack(p: np.ndarray) -> tuple[float, float, float, float, float]:
        f = math.exp(p[4]) if npar == 5 else 1.0
        return p[0], p[1], p[2], -math.exp(p[3]), f

    def resid(p: np.ndarray) -> np.ndarray:
        a, b, lc, d, f = unpack(p)
        with np.errstate(over="ignore", invalid="ignore"):
            pred = a + (b - a) / (1.0 + np.exp(d * (lx - lc))) ** f
        r = (pred - yy) * sw
        return np.where(np.isfinite(r), r, 1e150)

    def jac(p: np.ndarray) -> np.ndarray:
        # analytic: finite differences stop the polish short on flat optima (MIG on the
        # drLumi plate: 2e-4 from xPONENT's parameters with them, 6e-6 with this)
        a, b, lc, d, f = unpack(p)
        with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
            u = np.exp(d * (lx - lc))
            s = 1.0 + u
            g = s ** (-f)
            k = (b - a) * (-f) * g / s * u  # d pred / d(d·(lx − lc))
            cols = [1.0 - g, g, -d * k, d * (lx - lc) * k]
            if npar == 5:
                cols.append(-(b - a) * g * np.log(s) * f)
            out = np.column_stack(cols) * sw[:, None]
        return np.where(np.isfinite(out), out, 0.0)

    order = np.argsort(xx)
    lo_y, hi_y = float(np.min(yy)), float(np.max(yy))
    increasing = np.corrcoef(lx, yy)[0, 1] >= 0 if np.std(yy) > 0 else True
    a0, b0 = (lo_y, hi_y) if increasing else (hi_y, lo_y)
    span = hi_y - lo_y or 1.0
    a0 -= 0.01 * span * (1 if increasing else -1)
    b0 += 0.01 * span * (1 if increasing else -1)
    mid = float(np.median(lx[order]))
    starts = [np.array([a0, b0, lc0, d0, f0][:npar])
              for d0 in (0.0, math.log(2.0), math.log(0.5), math.log(4.0))
              for lc0 in (mid, mid - 1.0, mid + 1.0, mid - 2.0, mid + 2.0)
              for f0 in ((0.0, math.log(2.0), math.log(0.5), math.log(5.0), math.log(0.2))
                         if npar == 5 else (0.0,))]
    # polish the 6 starts with the lowest initial cost (fast, and reaches xPONENT's optimum)
    costs = [float(np.sum(resid(p0) ** 2)) for p0 in starts]
    best = None
    for k in np.argsort(costs, kind="stable")[:6]:
        try:
            r = least_squares(resid, starts[int(k)], jac=jac, method="lm", xtol=1e-15,
                              ftol=1e-15, gtol=1e-15, max_nfev=20000)
        except (ValueError, FloatingPointError):
            continue
        if best is None or r.cost < best.cost:
            best = r
    if best is None:
        raise InputError("the standard curve could not be fitted")
    if npar == 5 and math.exp(best.x[4]) < F_MIN:
        best = _bounded_asymmetry(resid, starts, costs, best)
    a, b, lc, d, f = unpack(best.x)
    c = math.exp(lc)
    pred = logistic(xx, a, b, c, d, f)
    w = sw**2
    ybar = float(np.sum(w * yy) / np.sum(w))
    r2 = 1.0 - float(np.sum(w * (pred - yy) ** 2)) / float(np.sum(w * (yy - ybar) ** 2))
    return CurveFit(model=model, weights=weights, a=float(a), b=float(b), c=c, d=float(d),
                    f=float(f), r2=r2, cost=float(best.cost), n=int(xx.size),
                    converged=bool(best.success))
