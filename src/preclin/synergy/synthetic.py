"""Parametric response-surface models of two drugs: surfaces and least-squares fits.

Effects ``E`` are fractions of the untreated response (``E0 ≈ 1`` no effect, 0 complete
kill), as in the synthetic data sets of the ``synergy`` package (Wooten et al.). Each model
comes as a surface function (vectorised, also used to simulate data) and a fitter
(``scipy.optimize.least_squares`` with bounds, several starts seeded by single-drug Hill
fits; the lowest residual sum of squares wins).

* **Hill** — ``E(d) = E0 + (Emax − E0)·d^h/(C^h + d^h)``.
* **MuSyC** (Meyer et al. 2019, *Cell Syst* 8:97; Wooten et al. 2021, *Nat Commun*
  12:4607) — steady state of the four-state model (unaffected, affected by drug 1, by
  drug 2, by both) with forward rates ``(d1/C1)^h1``, ``(d2/C2)^h2`` from the unaffected
  state, ``(α21·d1/C1)^(γ21·h1)`` and ``(α12·d2/C2)^(γ12·h2)`` from the singly-affected states
  and unit back rates; ``E = Σ state fraction × E_state`` (E0, E1, E2, E3). Synergy
  parameters: potency ``α12`` (drug 1 raising drug 2's potency) and ``α21`` (> 1 synergy),
  cooperativity ``γ12``, ``γ21`` (> 1 synergy) and efficacy
  ``β = (min(E1, E2) − E3)/(E0 − min(E1, E2))`` (> 0 synergy). ``α = γ = 1`` with
  ``E3 = E1·E2/E0`` is Bliss independence.
* **Zimmer effective-dose model** (Zimmer et al. 2016, *PNAS* 113:10442) — each drug's
  effective dose is modified by the other's: ``e1 = d1/(1 + a12·u2/(1 + u2))``,
  ``e2 = d2/(1 + a21·u1/(1 + u1))`` with ``u_i = e_i/C_i`` (solved self-consistently),
  and ``E = 1/((1 + u1^h1)(1 + u2^h2))``; ``a12, a21 < 0`` synergy.
* **BRAID** (Twarog et al. 2016, *Sci Rep* 6:25523; extended form of the ``braidrm``
  documentation) — ``E = E0 + (E3 − E0)/(1 + D^(−δ√(h1h2)))`` with
  ``D = A + B + κ√(AB)``, ``A = D̃1^(1/(δ√(h1h2)))``,
  ``D̃1 = p1 x1/(1 + (1 − p1) x1)``, ``x1 = (d1/C1)^h1``, ``p1 = (E1 − E0)/(E3 − E0)`` (same
  for drug 2); ``κ > 0`` and ``δ > 1`` synergy.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import numpy as np
from numpy.typing import ArrayLike, NDArray
from scipy.optimize import least_squares

__all__ = ["hill", "musyc", "zimmer", "braid", "fit_hill", "fit_musyc", "fit_zimmer",
           "fit_braid", "SurfaceFit", "musyc_beta"]

Array = NDArray[np.float64]


@dataclass(frozen=True)
class SurfaceFit:
    """A fitted model: ``params`` by name, residual sum of squares, R², success flag."""

    model: str
    params: dict[str, float]
    rss: float
    r2: float
    success: bool
    derived: dict[str, float] = field(default_factory=dict)

    def __getitem__(self, key: str) -> float:
        if key in self.params:
            return self.params[key]
        return self.derived[key]


def _arr(x: ArrayLike) -> Array:
    return np.asarray(x, dtype=float)


def _pow(base: Array, expo: Array | float) -> Array:
    with np.errstate(divide="ignore", over="ignore", invalid="ignore"):
        return np.where(base > 0, np.power(np.where(base > 0, base, 1.0), expo), 0.0)


# ------------------------------------------------------------------------------ surfaces
def hill(d: ArrayLike, E0: float, Emax: float, h: float, C: float) -> Array:
    """Hill curve ``E0 + (Emax − E0)·d^h/(C^h + d^h)``."""
    x = _pow(_arr(d) / C, h)
    return E0 + (Emax - E0) * x / (1.0 + x)


def musyc(d1: ArrayLike, d2: ArrayLike, *, E0: float, E1: float, E2: float, E3: float,
          h1: float, h2: float, C1: float, C2: float, alpha12: float = 1.0,
          alpha21: float = 1.0, gamma12: float = 1.0, gamma21: float = 1.0) -> Array:
    """MuSyC surface (see module doc)."""
    p1 = _pow(_arr(d1) / C1, h1)
    p2 = _pow(_arr(d2) / C2, h2)
    q1 = _pow(alpha21 * _arr(d1) / C1, gamma21 * h1)  # drug 1 acting in the drug-2 state
    q2 = _pow(alpha12 * _arr(d2) / C2, gamma12 * h2)  # drug 2 acting in the drug-1 state
    a = 1.0 / (1.0 + q2)
    b = 1.0 / (1.0 + q1)
    # u = 1 (unnormalised); a12 from the balance of the unaffected state
    s12 = (p1 * (1.0 - a) + p2 * (1.0 - b)) / (a + b)
    s1 = (p1 + s12) * a
    s2 = (p2 + s12) * b
    total = 1.0 + s1 + s2 + s12
    return (E0 + s1 * E1 + s2 * E2 + s12 * E3) / total


def musyc_beta(E0: float, E1: float, E2: float, E3: float) -> float:
    """MuSyC efficacy synergy ``β = (min(E1, E2) − E3)/(E0 − min(E1, E2))``."""
    strongest = min(E1, E2)
    return (strongest - E3) / (E0 - strongest) if E0 != strongest else math.nan


def zimmer(d1: ArrayLike, d2: ArrayLike, *, h1: float, h2: float, C1: float, C2: float,
           a12: float = 0.0, a21: float = 0.0) -> Array:
    """Zimmer effective-dose model surface (``a12, a21 > −1``)."""
    x1 = _arr(d1) / C1
    x2 = _arr(d2) / C2

    def g(u: Array) -> Array:
        return u / (1.0 + u)

    def resid(u1: Array) -> Array:
        u2 = x2 / (1.0 + a21 * g(u1))
        return u1 - x1 / (1.0 + a12 * g(u2))

    lo = x1 / max(1.0, 1.0 + a12)
    hi = x1 / min(1.0, 1.0 + a12)
    for _ in range(54):  # bisection: u1 - x1/(...) is increasing in u1
        mid = 0.5 * (lo + hi)
        pos = resid(mid) > 0
        hi = np.where(pos, mid, hi)
        lo = np.where(pos, lo, mid)
    u1 = 0.5 * (lo + hi)
    u2 = x2 / (1.0 + a21 * g(u1))
    return 1.0 / ((1.0 + _pow(u1, h1)) * (1.0 + _pow(u2, h2)))


def braid(d1: ArrayLike, d2: ArrayLike, *, E0: float, E1: float, E2: float, E3: float,
          h1: float, h2: float, C1: float, C2: float, delta: float = 1.0,
          kappa: float = 0.0) -> Array:
    """BRAID surface, extended form (see module doc)."""
    span = E3 - E0
    pa = (E1 - E0) / span
    pb = (E2 - E0) / span
    xa = _pow(_arr(d1) / C1, h1)
    xb = _pow(_arr(d2) / C2, h2)
    da = pa * xa / (1.0 + (1.0 - pa) * xa)
    db = pb * xb / (1.0 + (1.0 - pb) * xb)
    s = delta * math.sqrt(h1 * h2)
    a = _pow(da, 1.0 / s)
    b = _pow(db, 1.0 / s)
    big = a + b + kappa * np.sqrt(a * b)
    with np.errstate(divide="ignore", over="ignore", invalid="ignore"):
        frac = np.where(big > 0, 1.0 / (1.0 + _pow(big, -s)), 0.0)
    return E0 + span * frac


# -------------------------------------------------------------------------------- fitting
def _finish(model: str, names: Sequence[str], theta: Array, logs: set[str],
            pred: Callable[[Array], Array], E: Array, ok: bool,
            derived: dict[str, float] | None = None) -> SurfaceFit:
    params = {n: float(math.exp(v)) if n in logs else float(v)
              for n, v in zip(names, theta, strict=True)}
    r = E - pred(theta)
    rss = float(np.sum(r * r))
    tss = float(np.sum((E - E.mean()) ** 2))
    return SurfaceFit(model, params, rss, 1.0 - rss / tss if tss > 0 else math.nan, ok,
                      derived or {})


def _best(fun: Callable[[Array], Array], starts: Sequence[Array], lo: Array, hi: Array
          ) -> tuple[Array, bool]:
    best = None
    for s in starts:
        pad_lo = np.where(np.isfinite(lo), lo + 1e-9 * (1 + np.abs(np.nan_to_num(lo))), lo)
        pad_hi = np.where(np.isfinite(hi), hi - 1e-9 * (1 + np.abs(np.nan_to_num(hi))), hi)
        s = np.clip(np.asarray(s, float), pad_lo, pad_hi)
        try:
            res = least_squares(fun, s, bounds=(lo, hi), x_scale="jac", max_nfev=4000,
                                xtol=1e-12, ftol=1e-12, gtol=1e-12)
        except ValueError:
            continue
        if best is None or res.cost < best.cost:
            best = res
    if best is None:
        return np.asarray(starts[0], float), False
    return best.x, bool(best.success)


def fit_hill(d: ArrayLike, E: ArrayLike) -> SurfaceFit:
    """Fit ``E0, Emax, h, C`` of a Hill curve (positive slope, ``C`` within the dose range
    ± 3 decades)."""
    d = _arr(d)
    E = _arr(E)
    pos = d[d > 0]
    lc_lo = math.log(pos.min()) - 7.0 if pos.size else -10.0
    lc_hi = math.log(pos.max()) + 7.0 if pos.size else 10.0
    e0 = float(np.mean(E[d == d.min()]))
    emax = float(np.mean(E[d == d.max()]))

    def pred(t: Array) -> Array:
        return hill(d, t[0], t[1], math.exp(t[2]), math.exp(t[3]))

    def fun(t: Array) -> Array:
        return pred(t) - E

    lo = np.array([-np.inf, -np.inf, math.log(0.05), lc_lo])
    hi = np.array([np.inf, np.inf, math.log(20.0), lc_hi])
    mid = math.log(float(np.median(pos))) if pos.size else 0.0
    starts = [np.array([e0, emax, math.log(h), lc]) for h in (0.5, 1.0, 2.0)
              for lc in (mid - 2.0, mid, mid + 2.0)]
    theta, ok = _best(fun, starts, lo, hi)
    return _finish("hill", ["E0", "Emax", "h", "C"], theta, {"h", "C"}, pred, E, ok)


def _single(d1: Array, d2: Array, E: Array) -> tuple[SurfaceFit, SurfaceFit]:
    m1 = d2 == 0
    m2 = d1 == 0
    return fit_hill(d1[m1], E[m1]), fit_hill(d2[m2], E[m2])


def fit_musyc(d1: ArrayLike, d2: ArrayLike, E: ArrayLike, *, fit_gamma: bool = False
              ) -> SurfaceFit:
    """Least-squares MuSyC fit (``γ12 = γ21 = 1`` unless ``fit_gamma``).

    Returns parameters ``E0, E1, E2, E3, h1, h2, C1, C2, alpha12, alpha21`` (and
    ``gamma12, gamma21``) and the derived ``beta``.
    """
    d1, d2, E = _arr(d1), _arr(d2), _arr(E)
    s1, s2 = _single(d1, d2, E)
    names = ["E0", "E1", "E2", "E3", "h1", "h2", "C1", "C2", "alpha12", "alpha21"]
    logs = {"h1", "h2", "C1", "C2", "alpha12", "alpha21", "gamma12", "gamma21"}
    if fit_gamma:
        names += ["gamma12", "gamma21"]
    pos1, pos2 = d1[d1 > 0], d2[d2 > 0]

    def unpack(t: Array) -> dict[str, float]:
        out = {n: (math.exp(v) if n in logs else float(v)) for n, v in zip(names, t,
                                                                          strict=True)}
        out.setdefault("gamma12", 1.0)
        out.setdefault("gamma21", 1.0)
        return out

    def pred(t: Array) -> Array:
        return musyc(d1, d2, **unpack(t))

    def fun(t: Array) -> Array:
        return pred(t) - E

    lo = [-np.inf] * 4 + [math.log(0.05)] * 2 + [math.log(pos1.min()) - 7,
                                                  math.log(pos2.min()) - 7] + [-12.0] * 2
    hi = [np.inf] * 4 + [math.log(20.0)] * 2 + [math.log(pos1.max()) + 7,
                                                math.log(pos2.max()) + 7] + [12.0] * 2
    if fit_gamma:
        lo += [-6.0, -6.0]
        hi += [6.0, 6.0]
    e0 = 0.5 * (s1["E0"] + s2["E0"])
    both = (d1 == d1.max()) & (d2 == d2.max())
    e3 = float(np.mean(E[both]))
    base = [e0, s1["Emax"], s2["Emax"], e3, math.log(s1["h"]), math.log(s2["h"]),
            math.log(s1["C"]), math.log(s2["C"])]
    starts = []
    for la12 in (-1.5, 0.0, 1.5):
        for la21 in (-1.5, 0.0, 1.5):
            starts.append(np.array(base + [la12, la21] + ([0.0, 0.0] if fit_gamma else [])))
    theta, ok = _best(fun, starts, np.array(lo), np.array(hi))
    fit = _finish("musyc", names, theta, logs, pred, E, ok)
    p = fit.params
    return SurfaceFit(fit.model, p, fit.rss, fit.r2, fit.success,
                      {"beta": musyc_beta(p["E0"], p["E1"], p["E2"], p["E3"])})


def fit_zimmer(d1: ArrayLike, d2: ArrayLike, E: ArrayLike) -> SurfaceFit:
    """Least-squares Zimmer effective-dose fit: ``h1, h2, C1, C2, a12, a21``."""
    d1, d2, E = _arr(d1), _arr(d2), _arr(E)
    s1, s2 = _single(d1, d2, E)
    names = ["h1", "h2", "C1", "C2", "a12", "a21"]
    logs = {"h1", "h2", "C1", "C2"}
    pos1, pos2 = d1[d1 > 0], d2[d2 > 0]

    def pred(t: Array) -> Array:
        return zimmer(d1, d2, h1=math.exp(t[0]), h2=math.exp(t[1]), C1=math.exp(t[2]),
                      C2=math.exp(t[3]), a12=t[4], a21=t[5])

    def fun(t: Array) -> Array:
        return pred(t) - E

    lo = np.array([math.log(0.05)] * 2 + [math.log(pos1.min()) - 7,
                                          math.log(pos2.min()) - 7, -0.99, -0.99])
    hi = np.array([math.log(20.0)] * 2 + [math.log(pos1.max()) + 7,
                                          math.log(pos2.max()) + 7, 20.0, 20.0])
    base = [math.log(s1["h"]), math.log(s2["h"]), math.log(s1["C"]), math.log(s2["C"])]
    starts = [np.array(base + [a, b]) for a, b in ((0.0, 0.0), (-0.5, -0.5), (1.0, 1.0))]
    theta, ok = _best(fun, starts, lo, hi)
    return _finish("zimmer", names, theta, logs, pred, E, ok)


def fit_braid(d1: ArrayLike, d2: ArrayLike, E: ArrayLike, *, mode: str = "both"
              ) -> SurfaceFit:
    """Least-squares BRAID fit.

    Parameters
    ----------
    mode
        ``"both"`` (fit ``delta`` and ``kappa``), ``"kappa"`` (``delta = 1``) or
        ``"delta"`` (``kappa = 0``).
    """
    if mode not in ("both", "kappa", "delta"):
        raise ValueError("mode must be 'both', 'kappa' or 'delta'")
    d1, d2, E = _arr(d1), _arr(d2), _arr(E)
    pos1, pos2 = d1[d1 > 0], d2[d2 > 0]
    # no zero doses in BRAID designs: start from the lowest-dose row/column
    m1 = d2 == d2.min()
    m2 = d1 == d1.min()
    s1, s2 = fit_hill(d1[m1], E[m1]), fit_hill(d2[m2], E[m2])
    names = ["E0", "E1", "E2", "E3", "h1", "h2", "C1", "C2"]
    if mode in ("both", "delta"):
        names.append("delta")
    if mode in ("both", "kappa"):
        names.append("kappa")
    logs = {"h1", "h2", "C1", "C2", "delta"}

    def unpack(t: Array) -> dict[str, float]:
        out = {n: (math.exp(v) if n in logs else float(v)) for n, v in zip(names, t,
                                                                          strict=True)}
        out.setdefault("delta", 1.0)
        out.setdefault("kappa", 0.0)
        return out

    def pred(t: Array) -> Array:
        return braid(d1, d2, **unpack(t))

    def fun(t: Array) -> Array:
        r = pred(t) - E
        return np.where(np.isfinite(r), r, 1e3)

    lo = [-np.inf] * 4 + [math.log(0.05)] * 2 + [math.log(pos1.min()) - 7,
                                                  math.log(pos2.min()) - 7]
    hi = [np.inf] * 4 + [math.log(20.0)] * 2 + [math.log(pos1.max()) + 7,
                                                math.log(pos2.max()) + 7]
    e0 = max(s1["E0"], s2["E0"])
    e3 = float(np.min(E[(d1 == d1.max()) & (d2 == d2.max())]))
    base = [e0, s1["Emax"], s2["Emax"], min(e3, s1["Emax"], s2["Emax"]),
            math.log(s1["h"]), math.log(s2["h"]), math.log(s1["C"]), math.log(s2["C"])]
    deltas = [-0.7, 0.0, 0.7] if "delta" in names else [None]
    kappas = [-1.0, 0.0, 2.0] if "kappa" in names else [None]
    if "delta" in names:
        lo.append(math.log(0.05))
        hi.append(math.log(20.0))
    if "kappa" in names:
        lo.append(-1.99)
        hi.append(50.0)
    starts = []
    for ld in deltas:
        for k in kappas:
            starts.append(np.array(base + ([ld] if ld is not None else [])
                                   + ([k] if k is not None else [])))
    theta, ok = _best(fun, starts, np.array(lo), np.array(hi))
    return _finish("braid", names, theta, logs, pred, E, ok)
