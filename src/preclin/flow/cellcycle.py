"""Cell-cycle analysis: DNA-content histograms (PI, DAPI, DRAQ5...) and BrdU/DNA gates.

DNA-only histograms are fitted on a linear axis starting at 0:

* **Dean-Jett-Fox** (``model="djf"``, Fox 1980): G1 and G2/M Gaussians (G2 at ``R`` times
  the G1 position, its own SD) and an S phase that is a polynomial (first order by
  default, up to Fox's second order; Bernstein basis, non-negative) between the two
  peaks, each point broadened by a Gaussian whose SD runs linearly from the G1 to the G2
  SD. All phases are fitted together.
* **Watson pragmatic** (``model="watson"``, Watson et al. 1987): G1 and G2/M Gaussians fitted
  only to the bins where each dominates (up to 4 SD into S from each centre) together with
  the S level beside each peak; S is what is left: events in the fitted range minus G1,
  G2/M, debris and aggregates. Fits whose S beside a peak disagrees with the S beyond it
  are flagged ``s_edge_mismatch``.

Both add debris — ``"exponential"`` (``exp(-x/tau)``), ``"sliced"`` (nuclei cut once at a
uniform point: a nucleus of content ``c`` leaves fragments uniform on ``(0, c)``, Bagwell
1991), chosen by BIC with ``"auto"`` — and aggregates: when pulse width or height is given,
doublets are gated out first (:func:`singlet_gate`); else an aggregate component, the
self-convolution of the fitted single-cell distribution (two random cells in one event),
is added when BIC prefers it. Fitting is by Poisson maximum likelihood on the binned counts
(:mod:`preclin.flow._binfit`). Goodness of fit: reduced Pearson chi-square.

BrdU/DNA: :func:`brdu_cell_cycle` — BrdU positive = S; BrdU negative split by DNA content
into G0/G1 and G2/M. Definitions and rules: ``docs/methods/cellcycle.md``.

Examples
--------
>>> from preclin.data.simulate_flow import simulate_dna
>>> sim = simulate_dna(20_000, g1=0.5, s=0.3, g2m=0.2, seed=1)
>>> res = fit_cell_cycle(sim.area)
>>> round(res.summary["s"].item(), 2), res.status
(0.3, 'ok')
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, ClassVar, Literal, cast

import numpy as np
import pandas as pd

from ..errors import InputError
from ._binfit import BinnedFit, FitStatus, fit_binned, gauss_bins

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

__all__ = [
    "CELLCYCLE_COLUMNS",
    "STATUSES",
    "CellCycleResult",
    "singlet_gate",
    "fit_cell_cycle",
    "fit_cell_cycle_histogram",
    "brdu_cell_cycle",
    "plot_cell_cycle",
]

Model = Literal["djf", "watson"]
DebrisModel = Literal["auto", "exponential", "sliced", "none"]
Aggregates = Literal["auto", "yes", "no"]

#: Columns of :attr:`CellCycleResult.summary` (one row).
CELLCYCLE_COLUMNS: Mapping[str, str] = {
    "g1": "fraction of single cells in G0/G1",
    "s": "fraction of single cells in S",
    "g2m": "fraction of single cells in G2/M (g1 + s + g2m = 1)",
    "g2_g1_ratio": "G2/M peak position / G0/G1 peak position",
    "cv_g1": "CV of the G0/G1 peak, % (SD / position x 100)",
    "g1_position": "G0/G1 peak position (data units)",
    "g2_position": "G2/M peak position (data units)",
    "debris": "fraction of events in the fitted range attributed to debris",
    "aggregates": "fraction of events in the fitted range attributed to aggregates "
                  "(doublets and more)",
    "doublets_gated": "events removed by the pulse-width/height singlet gate",
    "events": "events in the fitted range",
    "model": "'djf', 'watson' or 'brdu'",
    "debris_model": "debris component kept: 'none', 'exponential' or 'sliced'",
    "reduced_chi2": "Pearson chi-square / degrees of freedom over the fitted bins",
    "status": "see STATUSES",
    "message": "every reason the fit may not be trusted, in plain language",
}

#: Status values, most serious first (the status is the first that applies).
STATUSES: Mapping[str, str] = {
    "too_few_events": "fewer than MIN_EVENTS events: nothing fitted",
    "no_g1_peak": "no G0/G1 peak found",
    "no_convergence": "the optimiser stopped without converging",
    "poor_fit": "reduced chi-square above MAX_REDUCED_CHI2",
    "negative_s": "Watson: G1, G2/M, debris and aggregates exceed the events (S set to 0)",
    "s_edge_mismatch": "Watson: the S level fitted beside a peak disagrees with the S events "
                       "just beyond its window, or the two windows cover the whole S "
                       "interval: the peak/S split rests on an assumption the data do "
                       "not support",
    "high_cv": "G0/G1 CV above MAX_CV_G1 %: phases overlap, S is poorly determined",
    "ratio_unusual": "G2/G1 ratio outside RATIO_RANGE: G2/M may be misplaced (aneuploidy, "
                     "nonlinearity)",
    "high_debris": "debris above MAX_DEBRIS of the events",
    "high_aggregates": "aggregates above MAX_AGGREGATES of the events",
    "brdu_not_bimodal": "BrdU: no clear split between negative and positive events",
    "ok": "fitted, no problem found",
}

MIN_EVENTS = 500
MAX_REDUCED_CHI2 = 4.0
MAX_CV_G1 = 8.0
RATIO_RANGE = (1.85, 2.15)
MAX_DEBRIS = 0.3
MAX_AGGREGATES = 0.2
_UNTRUSTED = tuple(k for k in STATUSES if k != "ok")
_S_POINTS = 64


@dataclass(frozen=True)
class CellCycleResult(FitStatus):
    """A fitted DNA-content histogram (or a BrdU/DNA gate analysis).

    Attributes
    ----------
    summary
        One row (:data:`CELLCYCLE_COLUMNS`).
    excluded
        ``reason, events``: events left out before fitting.
    edges, counts
        The histogram (linear DNA axis).
    components
        Expected counts per bin: ``"G0/G1"``, ``"S"``, ``"G2/M"``, ``"debris"``,
        ``"aggregates"`` (those fitted).
    expected
        Total expected counts per bin.
    fit_range
        Bins that entered the fit.
    """

    summary: pd.DataFrame
    excluded: pd.DataFrame
    edges: np.ndarray = field(default_factory=lambda: np.zeros(0))
    counts: np.ndarray = field(default_factory=lambda: np.zeros(0))
    components: Mapping[str, np.ndarray] = field(default_factory=dict)
    expected: np.ndarray = field(default_factory=lambda: np.zeros(0))
    fit_range: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=bool))

    _untrusted: ClassVar[tuple[str, ...]] = _UNTRUSTED

    def tables(self) -> dict[str, pd.DataFrame]:
        """The result tables by name: ``summary``, ``excluded``."""
        return {"summary": self.summary, "excluded": self.excluded}

    def fit_report(self) -> str:
        """A plain-text report of the fit."""
        s = self.summary.iloc[0]
        lines = [f"[[Cell cycle: {s['model']}]]  status: {s['status']}"]
        if s["message"]:
            lines.append(f"    {s['message']}")
        lines.append(f"    G0/G1 {100 * s['g1']:.1f} %   S {100 * s['s']:.1f} %   "
                     f"G2/M {100 * s['g2m']:.1f} %")
        lines.append(f"    G1 at {s['g1_position']:.4g} (CV {s['cv_g1']:.2f} %), "
                     f"G2/G1 {s['g2_g1_ratio']:.3f}")
        lines.append(f"    debris {100 * s['debris']:.1f} % ({s['debris_model']}), "
                     f"aggregates {100 * s['aggregates']:.1f} %, events {s['events']}, "
                     f"reduced chi-square {s['reduced_chi2']:.2f}")
        return "\n".join(lines)

    def __repr__(self) -> str:
        s = self.summary.iloc[0]
        return (f"CellCycleResult(model={s['model']!r}, status={s['status']!r}, "
                f"g1={s['g1']:.3f}, s={s['s']:.3f}, g2m={s['g2m']:.3f})")


# ----------------------------------------------------------------------------- inputs

def singlet_gate(area: Any, *, width: Any = None, height: Any = None,
                 k: float = 4.0) -> np.ndarray:
    """Doublet discrimination by pulse shape: True for single cells.

    Two cells passing the laser together give a wider pulse (larger width, or a larger
    area / height ratio) than one cell of the same DNA content. The pulse measure ``r``
    is the width, or area / height when only the height is given; an event is a doublet
    when ``r > median + k * 1.4826 * MAD`` of ``r`` over events with a positive area above
    the 5th percentile (debris has short pulses and is left to the histogram model).

    Parameters
    ----------
    area
        DNA pulse area.
    width, height
        Pulse width or height of the same channel (one of them).
    k
        Robust SDs above the median beyond which an event is a doublet.

    Returns
    -------
    numpy.ndarray
        Boolean mask, True for single cells.
    """
    a = np.asarray(area, dtype=float)
    if width is not None:
        r = np.asarray(width, dtype=float)
    elif height is not None:
        h = np.asarray(height, dtype=float)
        with np.errstate(divide="ignore", invalid="ignore"):
            r = np.where(h > 0, a / h, np.inf)
    else:
        raise InputError("singlet_gate needs the pulse width or the pulse height")
    if r.shape != a.shape:
        raise InputError(f"pulse {'width' if width is not None else 'height'} has "
                         f"{r.size} events, the DNA area {a.size}")
    ok = np.isfinite(a) & np.isfinite(r) & (a > 0)
    if not ok.any():
        return np.zeros(a.shape, dtype=bool)
    core = ok & (a >= np.quantile(a[ok], 0.05))
    med = float(np.median(r[core]))
    mad = 1.4826 * float(np.median(np.abs(r[core] - med)))
    return ok & (r <= med + k * max(mad, 1e-12 * abs(med)))


def _events(dna: Any, width: Any, height: Any) -> tuple[np.ndarray, list[tuple[str, int]],
                                                        int]:
    a = np.asarray(dna, dtype=float).ravel()
    excluded: list[tuple[str, int]] = []
    doublets = 0
    keep = np.isfinite(a)
    if (~keep).any():
        excluded.append(("not a finite number", int((~keep).sum())))
    if width is not None or height is not None:
        single = singlet_gate(a, width=None if width is None else np.ravel(width),
                              height=None if height is None else np.ravel(height))
        dbl = keep & ~single & (a > 0)
        doublets = int(dbl.sum())
        if doublets:
            excluded.append(("doublet (pulse shape outside the singlet gate)", doublets))
        keep &= ~dbl
    neg = keep & (a < 0)
    if neg.any():
        excluded.append(("negative DNA signal", int(neg.sum())))
    keep &= ~neg
    return a[keep], excluded, doublets


def _g1_estimate(edges: np.ndarray, counts: np.ndarray) -> float | None:
    """G0/G1 position: the tallest clear peak, or a clear peak near half of it (when the
    tallest is G2/M)."""
    from scipy.ndimage import gaussian_filter1d
    from scipy.signal import find_peaks

    sm = gaussian_filter1d(counts, 2.0)
    if sm.max() <= 0:
        return None
    idx, _ = find_peaks(np.concatenate([[0.0], sm, [0.0]]), prominence=max(5.0,
                                                                           0.05 * sm.max()))
    idx = idx - 1
    c = 0.5 * (edges[:-1] + edges[1:])
    idx = idx[c[idx] > edges[-1] * 0.02]
    if idx.size == 0:
        return None
    top = idx[np.argmax(sm[idx])]
    half = [i for i in idx if 0.42 * c[top] <= c[i] <= 0.58 * c[top]
            and sm[i] >= 0.1 * sm[top]]
    if half:
        top = max(half, key=lambda i: sm[i])
    return float(c[top])


# ----------------------------------------------------------------------------- bases

def _s_basis(edges: np.ndarray, mu1: float, sd1: float, mu2: float, sd2: float,
             degree: int) -> np.ndarray:
    """S phase: Bernstein polynomials on (mu1, mu2), each point Gaussian-broadened."""
    from scipy.special import comb

    t = (np.arange(_S_POINTS) + 0.5) / _S_POINTS
    pos = mu1 + t * (mu2 - mu1)
    sds = sd1 + t * (sd2 - sd1)
    g = gauss_bins(edges, pos, sds)  # (nb, Q)
    j = np.arange(degree + 1)
    bern = comb(degree, j)[None, :] * t[:, None] ** j * (1 - t[:, None]) ** (degree - j)
    bern = bern / bern.sum(axis=0, keepdims=True)
    return np.asarray(g @ bern)


def _exp_basis(edges: np.ndarray, tau: float) -> np.ndarray:
    z = np.exp(-(edges - edges[0]) / tau)
    return z[:-1] - z[1:]


def _sliced_basis(edges: np.ndarray, density: np.ndarray) -> np.ndarray:
    """Fragments of nuclei cut once at a uniform point, from a density of nuclei."""
    c = 0.5 * (edges[:-1] + edges[1:])
    w = np.diff(edges)
    with np.errstate(divide="ignore", invalid="ignore"):
        per = np.where(c > 0, density / c, 0.0)
    # fragments of content x from nuclei with content > x: sum_{j > k} h_j w_k / c_j,
    # half of the nuclei's own bin
    tail = np.cumsum(per[::-1])[::-1]
    b = (tail - 0.5 * per) * w
    tot = density.sum()
    return b / tot if tot > 0 else b


def _aggregate_basis(edges: np.ndarray, density: np.ndarray) -> np.ndarray:
    """Two single cells in one event: the self-convolution of the single-cell density,
    as expected counts per bin per aggregate (mass beyond the last edge is lost)."""
    tot = density.sum()
    if tot <= 0:
        return np.zeros(density.size)
    p = density / tot
    conv = np.convolve(p, p)
    d = float(edges[1] - edges[0])
    # mass of the sum of two values uniform in bins i and j: half in [e0*2 + (i+j) d, +d),
    # half in the next bin; cumulative mass at the positions 2 e0 + (m + 1) d
    mass = 0.5 * conv + 0.5 * np.concatenate([[0.0], conv[:-1]])
    mass = np.concatenate([mass, [0.5 * conv[-1]]])
    pos = 2 * edges[0] + (np.arange(mass.size) + 1) * d
    cum = np.concatenate([[0.0], np.cumsum(mass)])
    pos = np.concatenate([[2 * edges[0]], pos])
    return np.diff(np.interp(edges, pos, cum, left=0.0, right=1.0))


# ----------------------------------------------------------------------------- fitting

@dataclass(frozen=True)
class _Model:
    kind: str  # "djf" | "watson"
    debris: str  # "none" | "exponential" | "sliced"
    aggregates: bool
    degree: int
    singlets: np.ndarray  # density used for sliced debris and aggregates
    names: tuple[str, ...] = ("mu1", "sd1", "ratio", "k2")

    def components(self) -> list[str]:
        out = ["G0/G1", "G2/M"]
        if self.kind == "djf":
            out += [f"S{j}" for j in range(self.degree + 1)]
        else:
            out += ["S_edge1", "S_edge2"]
        if self.debris != "none":
            out.append("debris")
        if self.aggregates:
            out.append("aggregates")
        return out

    def basis(self, edges: np.ndarray, theta: np.ndarray) -> np.ndarray:
        mu1, sd1, ratio, k2 = theta[:4]
        mu2, sd2 = mu1 * ratio, sd1 * ratio * k2
        cols = [gauss_bins(edges, np.array([mu1, mu2]), np.array([sd1, sd2]))]
        if self.kind == "djf":
            cols.append(_s_basis(edges, mu1, sd1, mu2, sd2, self.degree))
        else:
            cols.append(_s_edges(edges, mu1, sd1, mu2, sd2))
        if self.debris == "exponential":
            cols.append(_exp_basis(edges, theta[4])[:, None])
        elif self.debris == "sliced":
            cols.append(_sliced_basis(edges, self.singlets)[:, None])
        if self.aggregates:
            cols.append(_aggregate_basis(edges, self.singlets)[:, None])
        return np.column_stack(cols)


@dataclass(frozen=True)
class _Fit:
    model: _Model
    fit: BinnedFit
    mask: np.ndarray


def _fit_one(edges: np.ndarray, counts: np.ndarray, model: _Model, theta0: np.ndarray,
             fit_mask: np.ndarray, method: str) -> _Fit:
    mu1 = theta0[0]
    binw = float(edges[1] - edges[0])
    lo = [0.8 * mu1, 0.5 * binw, 1.6, 0.5]
    hi = [1.2 * mu1, 0.25 * mu1, 2.4, 1.8]
    t0 = list(theta0[:4])
    if model.debris == "exponential":
        lo.append(0.02 * mu1)
        hi.append(5.0 * mu1)
        t0.append(theta0[4] if theta0.size > 4 else 0.3 * mu1)
    if model.kind == "djf":
        fit = fit_binned(counts, lambda t: model.basis(edges, t), np.array(t0), np.array(lo),
                         np.array(hi), method=method, mask=fit_mask)
        return _Fit(model, fit, fit_mask)
    # Watson: each peak is fitted where it dominates -- from the low end up to WATSON_REACH
    # SDs past the G0/G1 centre, and from WATSON_REACH SDs below the G2/M centre up --
    # together with the S cells that spill into those windows (a level per peak, spread
    # by the peak's Gaussian edge); S itself is what is left over. The windows follow the
    # fitted peaks (two passes).
    m1, ratio = _modes(edges, counts, mu1)
    theta = np.array(t0, dtype=float)
    theta[0], theta[2] = m1, ratio
    lo_a, hi_a = np.array(lo), np.array(hi)
    wfit: BinnedFit | None = None
    mask = fit_mask
    for _ in range(2):
        mask = fit_mask & _watson_mask(edges, theta)
        wfit = fit_binned(counts, lambda t: model.basis(edges, t), theta, lo_a, hi_a,
                          method=method, mask=mask)
        theta = wfit.theta
    assert wfit is not None
    return _Fit(model, wfit, mask)


#: Watson windows: each peak is fitted up to this many of its SDs into the S interval.
WATSON_REACH = 4.0


def _s_edges(edges: np.ndarray, mu1: float, sd1: float, mu2: float,
             sd2: float) -> np.ndarray:
    """Watson: S cells next to each peak as a level (counts per unit DNA) switched on at
    the peak's centre and spread by its Gaussian (a uniform S density broadened like the
    peak); the G0/G1 edge runs up to the middle of the S interval, the G2/M edge from it.
    ``(n_bins, 2)``, expected counts per unit level."""
    from scipy.special import ndtr

    c = 0.5 * (edges[:-1] + edges[1:])
    w = np.diff(edges)
    mid = 0.5 * (mu1 + mu2)
    e1 = ndtr((c - mu1) / sd1) * (c < mid) * w
    e2 = ndtr((mu2 - c) / sd2) * (c >= mid) * w
    return np.column_stack([e1, e2])


def _modes(edges: np.ndarray, counts: np.ndarray, mu1: float) -> tuple[float, float]:
    """G0/G1 mode near ``mu1`` and G2/M mode in 1.75-2.25 x G0/G1 (parabolic peak of the
    smoothed histogram), as position and ratio."""
    from scipy.ndimage import gaussian_filter1d

    sm = gaussian_filter1d(counts, 1.5)
    c = 0.5 * (edges[:-1] + edges[1:])

    def mode(lo: float, hi: float) -> float:
        win = np.flatnonzero((c >= lo) & (c <= hi))
        if win.size == 0:
            return 0.5 * (lo + hi)
        k = int(win[np.argmax(sm[win])])
        if 0 < k < sm.size - 1:
            a, b, d = sm[k - 1], sm[k], sm[k + 1]
            den = a - 2 * b + d
            off = 0.5 * (a - d) / den if den < 0 else 0.0
            return float(c[k] + np.clip(off, -0.5, 0.5) * (c[1] - c[0]))
        return float(c[k])

    m1 = mode(0.85 * mu1, 1.15 * mu1)
    m2 = mode(1.75 * m1, 2.25 * m1)
    return m1, m2 / m1


def _watson_mask(edges: np.ndarray, theta: np.ndarray) -> np.ndarray:
    """Bins where a Watson peak is fitted: up to WATSON_REACH SDs above G0/G1 and from
    WATSON_REACH SDs below G2/M, neither past the middle of the S interval."""
    c = 0.5 * (edges[:-1] + edges[1:])
    mu1, sd1, ratio, k2 = theta[:4]
    mu2, sd2 = mu1 * ratio, sd1 * ratio * k2
    mid = 0.5 * (mu1 + mu2)
    return (c <= min(mu1 + WATSON_REACH * sd1, mid)) | (c >= max(mu2 - WATSON_REACH * sd2,
                                                                 mid))


def _singlet_density(edges: np.ndarray, counts: np.ndarray, mu1: float,
                     ratio: float) -> np.ndarray:
    """First guess of the single-cell density: the data between 0.7 G1 and 1.15 G2."""
    c = 0.5 * (edges[:-1] + edges[1:])
    return np.where((c >= 0.7 * mu1) & (c <= 1.15 * ratio * mu1), counts, 0.0)


def _fit_variant(edges: np.ndarray, counts: np.ndarray, fit_mask: np.ndarray,
                 theta0: np.ndarray, dens0: np.ndarray, *, model: Model, debris: str,
                 aggregates: bool, degree: int, method: str) -> _Fit:
    """One debris/aggregate variant; sliced debris and aggregates take their shape from
    the single-cell density, so they are fitted twice: first with the data's density,
    then with the single cells of the first fit."""
    m = _Model(model, debris, aggregates, degree, dens0)
    f = _fit_one(edges, counts, m, theta0, fit_mask, method)
    if debris == "sliced" or aggregates:
        m = _Model(model, debris, aggregates, degree, _fitted_singlets(f, edges, counts))
        f = _fit_one(edges, counts, m, f.fit.theta, fit_mask, method)
    return f


def _fit_models(edges: np.ndarray, counts: np.ndarray, fit_mask: np.ndarray, mu1: float, *,
                model: Model, debris: DebrisModel, aggregates: Aggregates, degree: int,
                method: str) -> _Fit:
    """Choose the debris component by BIC (without aggregates), then whether aggregates
    are kept, by BIC."""
    theta0 = np.array([mu1, 0.04 * mu1, 1.98, 1.0])
    dens0 = _singlet_density(edges, counts, mu1, 1.98)
    debs = ["none", "exponential", "sliced"] if debris == "auto" else [debris]
    aggs = [False, True] if aggregates == "auto" else [aggregates == "yes"]
    kw = {"model": model, "degree": degree, "method": method}
    fits = [_fit_variant(edges, counts, fit_mask, theta0, dens0, debris=d,
                         aggregates=aggs[0], **kw) for d in debs]  # type: ignore[arg-type]
    best = min(fits, key=lambda f: f.fit.bic)
    for agg in aggs[1:]:
        f = _fit_variant(edges, counts, fit_mask, best.fit.theta, dens0,
                         debris=best.model.debris, aggregates=agg, **kw)  # type: ignore[arg-type]
        if f.fit.bic < best.fit.bic:
            best = f
    return best


def _fitted_singlets(f: _Fit, edges: np.ndarray, counts: np.ndarray) -> np.ndarray:
    names = f.model.components()
    comp = f.fit.components
    if f.model.kind == "watson":  # S is what is left between the peaks
        single = (sum(comp[:, k] for k, n in enumerate(names) if n in ("G0/G1", "G2/M"))
                  + _watson_s(f, counts))
    else:
        single = sum(comp[:, k] for k, n in enumerate(names) if n in ("G0/G1", "G2/M")
                     or n.startswith("S"))
    return np.asarray(single, dtype=float)


#: Watson check: S events just beyond a window (WATSON_BAND SDs) may differ from the S
#: level fitted beside the peak by at most this share (and 4 Poisson SDs).
WATSON_MISMATCH = 0.3
WATSON_BAND = 3.0
#: Watson check: S beside a peak at most this many times the mean S level between them.
WATSON_PILEUP = 2.5


def _watson_check(f: _Fit, edges: np.ndarray, counts: np.ndarray) -> str:
    """Why a Watson fit's split between peaks and S is not supported ("" when it is)."""
    names = f.model.components()
    amt = dict(zip(names, f.fit.amounts.tolist(), strict=True))
    mu1, sd1, ratio, k2 = (float(v) for v in f.fit.theta[:4])
    mu2, sd2 = mu1 * ratio, sd1 * ratio * k2
    mid = 0.5 * (mu1 + mu2)
    top1, bottom2 = mu1 + WATSON_REACH * sd1, mu2 - WATSON_REACH * sd2
    if top1 >= bottom2:
        return ("the G0/G1 and G2/M windows cover the whole S interval (peaks too broad "
                "for their distance): S rests on the flat-S assumption alone")
    c = 0.5 * (edges[:-1] + edges[1:])
    w = np.diff(edges)
    fitted = sum(f.fit.components[:, k] for k, n in enumerate(names)
                 if not n.startswith("S_edge"))
    rest = counts - fitted
    out = []
    between = (c > top1) & (c < bottom2)
    mean_s = float(rest[between].sum() / w[between].sum()) if between.any() else 0.0
    for label, level in (("G0/G1", amt["S_edge1"]), ("G2/M", amt["S_edge2"])):
        if mean_s > 0 and level > WATSON_PILEUP * mean_s:
            out.append(f"S beside {label} is {level / mean_s:.1f} x the mean S level "
                       f"between the peaks (S piles up against the peak)")
    for label, level, lo, hi in (
            ("G0/G1", amt["S_edge1"], top1, min(top1 + WATSON_BAND * sd1, mid)),
            ("G2/M", amt["S_edge2"], max(bottom2 - WATSON_BAND * sd2, mid), bottom2)):
        band = (c > lo) & (c < hi)
        if not band.any():
            continue
        expected = level * float(w[band].sum())
        observed = float(rest[band].sum())
        big = max(expected, observed)
        if big <= 0:
            continue
        z = abs(observed - expected) / np.sqrt(max(expected, 1.0))
        if abs(observed - expected) > WATSON_MISMATCH * big and z > 4:
            out.append(f"S beside {label} fitted at {expected:.0f} events over the next "
                       f"{WATSON_BAND:g} SD, {observed:.0f} found there")
    return "; ".join(out)


def _watson_s(f: _Fit, counts: np.ndarray) -> np.ndarray:
    """Watson's S phase per bin: the fitted S edges inside the peak windows, elsewhere the
    events left after the peaks, debris and aggregates (not below 0)."""
    names = f.model.components()
    comp = f.fit.components
    edge = sum(comp[:, k] for k, n in enumerate(names) if n.startswith("S_edge"))
    fitted = sum(comp[:, k] for k, n in enumerate(names) if not n.startswith("S_edge"))
    rest = np.clip(counts - fitted, 0, None)
    return np.asarray(np.where(f.mask, edge, rest), dtype=float)


# ----------------------------------------------------------------------------- public

def fit_cell_cycle(
    dna: Any,
    *,
    width: Any = None,
    height: Any = None,
    model: Model = "djf",
    debris: DebrisModel = "auto",
    aggregates: Aggregates = "auto",
    s_degree: int = 1,
    bins: int = 256,
    upper: float | None = None,
    fit_from: float | None = None,
    method: Literal["ml", "ls"] = "ml",
) -> CellCycleResult:
    """Fit G0/G1, S and G2/M to DNA-content events.

    Parameters
    ----------
    dna
        DNA pulse area (linear) of each event (gated on cells, not on DNA content).
    width, height
        Pulse width or height of the DNA channel: doublets are gated out first
        (:func:`singlet_gate`).
    model
        ``"djf"`` (Dean-Jett-Fox) or ``"watson"`` (Watson pragmatic).
    debris
        ``"auto"`` (the BIC picks none, exponential or sliced), or one of them.
    aggregates
        ``"auto"`` (kept when BIC prefers it), ``"yes"`` or ``"no"``.
    s_degree
        Degree of the S-phase polynomial (DJF; 0 = flat, 2 = Fox's second order).
    bins
        Bins from 0 to ``upper``.
    upper
        Upper end of the histogram (default: 1.1 x the 99.9 % quantile); events above
        are left out.
    fit_from
        Lowest DNA value fitted (default 0.25 x the G0/G1 position).
    method
        ``"ml"`` (Poisson likelihood) or ``"ls"`` (weighted least squares).

    Returns
    -------
    CellCycleResult
    """
    x, excluded, doublets = _events(dna, width, height)
    if bins < 32:
        raise InputError(f"bins must be at least 32, got {bins}")
    if x.size == 0:
        raise InputError("cell cycle: no events left to fit")
    top = float(upper) if upper is not None else 1.1 * float(np.quantile(x, 0.999))
    if not top > 0:
        raise InputError(f"upper end of the DNA histogram must be positive, got {top}")
    edges = np.linspace(0.0, top, bins + 1)
    counts, _ = np.histogram(x, edges)
    above = int(x.size - counts.sum())
    if above:
        excluded.append(("above the histogram range", above))
    return _fit_hist(edges, counts.astype(float), excluded=excluded, doublets=doublets,
                     model=model, debris=debris, aggregates=aggregates, s_degree=s_degree,
                     fit_from=fit_from, method=method)


def fit_cell_cycle_histogram(
    counts: Any,
    edges: Any,
    *,
    model: Model = "djf",
    debris: DebrisModel = "auto",
    aggregates: Aggregates = "auto",
    s_degree: int = 1,
    fit_from: float | None = None,
    method: Literal["ml", "ls"] = "ml",
) -> CellCycleResult:
    """Fit an already binned DNA histogram (equally spaced edges on a linear axis).

    Parameters
    ----------
    counts, edges
        Events per bin and the ``len(counts) + 1`` bin edges.
    model, debris, aggregates, s_degree, fit_from, method
        As in :func:`fit_cell_cycle`.

    Returns
    -------
    CellCycleResult
    """
    y = np.asarray(counts, dtype=float).ravel()
    e = np.asarray(edges, dtype=float).ravel()
    if e.size != y.size + 1 or y.size < 32:
        raise InputError("edges must have one more value than counts, and at least 32 bins")
    if not (np.isfinite(y).all() and np.isfinite(e).all()) or np.any(y < 0):
        raise InputError("counts must be finite and non-negative, edges finite")
    w = np.diff(e)
    if np.any(w <= 0) or np.ptp(w) > 1e-6 * w.mean():
        raise InputError("edges must be increasing and equally spaced")
    return _fit_hist(e, y, excluded=[], doublets=0, model=model, debris=debris,
                     aggregates=aggregates, s_degree=s_degree, fit_from=fit_from,
                     method=method)


def _check(model: str, debris: str, aggregates: str, s_degree: int, method: str) -> None:
    for name, value, allowed in (("model", model, ("djf", "watson")),
                                 ("debris", debris, ("auto", "exponential", "sliced", "none")),
                                 ("aggregates", aggregates, ("auto", "yes", "no")),
                                 ("method", method, ("ml", "ls"))):
        if value not in allowed:
            raise InputError(f"{name} must be one of {', '.join(allowed)}; got {value!r}")
    if not 0 <= s_degree <= 4:
        raise InputError(f"s_degree must be between 0 and 4, got {s_degree}")


def _fit_hist(edges: np.ndarray, counts: np.ndarray, *, excluded: list[tuple[str, int]],
              doublets: int, model: Model, debris: DebrisModel, aggregates: Aggregates,
              s_degree: int, fit_from: float | None, method: str) -> CellCycleResult:
    _check(model, debris, aggregates, s_degree, method)
    excl = pd.DataFrame(excluded, columns=["reason", "events"]).astype({"events": "int64"})
    n = float(counts.sum())
    if n < MIN_EVENTS:
        return _empty(edges, counts, excl, model, doublets, "too_few_events",
                      f"{int(n)} events; at least {MIN_EVENTS} needed")
    mu1 = _g1_estimate(edges, counts)
    if mu1 is None:
        return _empty(edges, counts, excl, model, doublets, "no_g1_peak",
                      "no clear G0/G1 peak in the DNA histogram")
    c = 0.5 * (edges[:-1] + edges[1:])
    lowest = 0.25 * mu1 if fit_from is None else float(fit_from)
    fit_mask = c >= lowest
    best = _fit_models(edges, counts, fit_mask, mu1, model=model, debris=debris,
                       aggregates=aggregates, degree=s_degree, method=method)
    return _assemble(best, edges, counts, fit_mask, excl, doublets)


def _empty(edges: np.ndarray, counts: np.ndarray, excl: pd.DataFrame, model: str,
           doublets: int, status: str, message: str) -> CellCycleResult:
    row: dict[str, Any] = {k: float("nan") for k in CELLCYCLE_COLUMNS}
    row.update(doublets_gated=doublets, events=int(counts.sum()), model=model,
               debris_model="none", status=status, message=message)
    return CellCycleResult(summary=pd.DataFrame([row]), excluded=excl, edges=edges,
                           counts=counts, expected=np.zeros_like(counts))


def _assemble(best: _Fit, edges: np.ndarray, counts: np.ndarray, fit_mask: np.ndarray,
              excl: pd.DataFrame, doublets: int) -> CellCycleResult:
    f, m = best.fit, best.model
    names = m.components()
    amt = dict(zip(names, f.amounts.tolist(), strict=True))
    comp = {nm: f.components[:, k] for k, nm in enumerate(names)}
    mu1, sd1, ratio, k2 = (float(v) for v in f.theta[:4])
    y_in = float(counts[fit_mask].sum())
    in_range = {nm: float(v[fit_mask].sum()) for nm, v in comp.items()}
    reasons: dict[str, str] = {}
    g1, g2 = amt["G0/G1"], amt["G2/M"]
    components: dict[str, np.ndarray] = {"G0/G1": comp["G0/G1"]}
    if m.kind == "djf":
        s = sum(amt[f"S{j}"] for j in range(m.degree + 1))
        components["S"] = sum(comp[f"S{j}"] for j in range(m.degree + 1))  # type: ignore[assignment]
        expected = f.expected
    else:
        others = sum(v for nm, v in in_range.items()
                     if nm not in ("G0/G1", "G2/M") and not nm.startswith("S_edge"))
        # S = events in range - everything fitted; G1/G2 counted by their in-range mass
        s = y_in - in_range["G0/G1"] - in_range["G2/M"] - others
        components["S"] = _watson_s(best, counts)
        expected = sum(v for nm, v in comp.items() if not nm.startswith("S_edge")) \
            + components["S"]
        mismatch = _watson_check(best, edges, counts)
        if mismatch:
            reasons["s_edge_mismatch"] = mismatch
        if s < 0:
            reasons["negative_s"] = (f"G1, G2/M, debris and aggregates exceed the events by "
                                     f"{-s:.0f}: S set to 0")
            s = 0.0
    components["G2/M"] = comp["G2/M"]
    for nm in ("debris", "aggregates"):
        if nm in comp:
            components[nm] = comp[nm]
    tot = g1 + s + g2
    fr = (g1 / tot, s / tot, g2 / tot) if tot > 0 else (float("nan"),) * 3
    debris_frac = in_range.get("debris", 0.0) / y_in
    agg_frac = in_range.get("aggregates", 0.0) / y_in
    cv = 100.0 * sd1 / mu1
    k = f.n_params
    from ._binfit import pearson_chi2

    chi2 = pearson_chi2(counts[best.mask] if m.kind == "watson" else counts[fit_mask],
                        f.expected[best.mask] if m.kind == "watson" else f.expected[fit_mask],
                        k)
    if not f.success:
        reasons["no_convergence"] = f"the optimiser did not converge ({f.message})"
    if chi2 > MAX_REDUCED_CHI2:
        reasons["poor_fit"] = f"reduced chi-square {chi2:.2f} > {MAX_REDUCED_CHI2}"
    if cv > MAX_CV_G1:
        reasons["high_cv"] = f"G0/G1 CV {cv:.1f} % > {MAX_CV_G1} %: S phase poorly determined"
    if not RATIO_RANGE[0] <= ratio <= RATIO_RANGE[1]:
        reasons["ratio_unusual"] = (f"G2/G1 ratio {ratio:.3f} outside {RATIO_RANGE[0]}-"
                                    f"{RATIO_RANGE[1]}")
    if debris_frac > MAX_DEBRIS:
        reasons["high_debris"] = f"debris {100 * debris_frac:.0f} % of events"
    if agg_frac > MAX_AGGREGATES:
        reasons["high_aggregates"] = f"aggregates {100 * agg_frac:.0f} % of events"
    status = next((key for key in STATUSES if key in reasons), "ok")
    ordered = [reasons[key] for key in STATUSES if key in reasons]
    row = {
        "g1": fr[0], "s": fr[1], "g2m": fr[2],
        "g2_g1_ratio": ratio, "cv_g1": cv,
        "g1_position": mu1, "g2_position": mu1 * ratio,
        "debris": debris_frac, "aggregates": agg_frac,
        "doublets_gated": int(doublets), "events": int(y_in),
        "model": m.kind, "debris_model": m.debris,
        "reduced_chi2": chi2, "status": status, "message": "; ".join(ordered),
    }
    return CellCycleResult(summary=pd.DataFrame([row]), excluded=excl, edges=edges,
                           counts=counts, components=components, expected=expected,
                           fit_range=fit_mask)


# ----------------------------------------------------------------------------- BrdU

def _otsu(v: np.ndarray, bins: int = 256) -> tuple[float, float]:
    """Otsu's threshold and its separability (between-class / total variance)."""
    hist, e = np.histogram(v, bins)
    c = 0.5 * (e[:-1] + e[1:])
    p = hist / hist.sum()
    w0 = np.cumsum(p)
    m = np.cumsum(p * c)
    mt = m[-1]
    with np.errstate(divide="ignore", invalid="ignore"):
        between = (mt * w0 - m) ** 2 / (w0 * (1 - w0))
    between = np.nan_to_num(between)
    k = int(np.argmax(between))
    total = float(np.sum(p * (c - mt) ** 2))
    return float(e[k + 1]), float(between[k] / total) if total > 0 else 0.0


def brdu_cell_cycle(
    dna: Any,
    brdu: Any,
    *,
    brdu_threshold: float | None = None,
    dna_split: float | None = None,
    width: Any = None,
    height: Any = None,
    min_separability: float = 0.75,
) -> CellCycleResult:
    """G0/G1, S and G2/M from BrdU and DNA content by a 2-D gate template.

    Template: sub-G1 events (DNA below half the G0/G1 position) and aggregates (DNA above
    2.6 x G0/G1) are left out; BrdU positive events are S; BrdU negative events are G0/G1
    below ``dna_split`` and G2/M above it.

    Parameters
    ----------
    dna
        DNA content (linear, e.g. PI area).
    brdu
        BrdU signal (linear).
    brdu_threshold
        BrdU value separating negative from positive; default Otsu's threshold on
        ``sign(v) log10(1 + |v|)``.
    dna_split
        DNA value separating G0/G1 from G2/M among BrdU-negative events; default
        1.5 x the G0/G1 position (the mode of BrdU-negative DNA content).
    width, height
        Pulse width or height of the DNA channel: doublets are gated out first.
    min_separability
        Otsu's between-class share of the variance below which the BrdU split is flagged
        (``brdu_not_bimodal``; a single normal population gives 0.64).

    Returns
    -------
    CellCycleResult
        Summary with ``model="brdu"`` (no histogram components).
    """
    a = np.asarray(dna, dtype=float).ravel()
    b = np.asarray(brdu, dtype=float).ravel()
    if a.shape != b.shape:
        raise InputError(f"BrdU has {b.size} events, DNA {a.size}")
    excluded: list[tuple[str, int]] = []
    keep = np.isfinite(a) & np.isfinite(b)
    if (~keep).any():
        excluded.append(("not a finite number", int((~keep).sum())))
    doublets = 0
    if width is not None or height is not None:
        single = singlet_gate(a, width=width, height=height)
        dbl = keep & ~single & (a > 0)
        doublets = int(dbl.sum())
        if doublets:
            excluded.append(("doublet (pulse shape outside the singlet gate)", doublets))
        keep &= ~dbl
    a, b = a[keep], b[keep]
    nan = float("nan")
    row: dict[str, Any] = {k: nan for k in CELLCYCLE_COLUMNS}
    row.update(doublets_gated=doublets, model="brdu", debris_model="none", aggregates=nan,
               reduced_chi2=nan, events=int(a.size))
    if a.size < MIN_EVENTS:
        row.update(status="too_few_events", message=f"{a.size} events; at least "
                   f"{MIN_EVENTS} needed")
        return CellCycleResult(summary=pd.DataFrame([row]), excluded=_excl(excluded))
    t = np.sign(b) * np.log10(1.0 + np.abs(b))
    reasons: dict[str, str] = {}
    if brdu_threshold is None:
        cut, eta = _otsu(t)
        thr = float(np.sign(cut) * (10 ** abs(cut) - 1.0))
        if eta < min_separability:
            reasons["brdu_not_bimodal"] = (f"BrdU split explains {100 * eta:.0f} % of the "
                                           f"variance (< {100 * min_separability:.0f} %)")
    else:
        thr = float(brdu_threshold)
    pos = b > thr
    top = 1.1 * float(np.quantile(a, 0.999))
    edges = np.linspace(0.0, max(top, 1e-12), 257)
    h, _ = np.histogram(a[~pos], edges)
    g1_pos = _g1_estimate(edges, h.astype(float))
    if g1_pos is None:
        row.update(status="no_g1_peak", message="no clear G0/G1 peak among BrdU- events")
        return CellCycleResult(summary=pd.DataFrame([row]), excluded=_excl(excluded))
    split = 1.5 * g1_pos if dna_split is None else float(dna_split)
    sub = a < 0.5 * g1_pos
    agg = a > 2.6 * g1_pos
    if sub.any():
        excluded.append(("sub-G1 (DNA below half the G0/G1 position)", int(sub.sum())))
    if agg.any():
        excluded.append(("aggregates (DNA above 2.6 x the G0/G1 position)", int(agg.sum())))
    cells = ~sub & ~agg
    n_s = int((cells & pos).sum())
    n_g1 = int((cells & ~pos & (a < split)).sum())
    n_g2 = int((cells & ~pos & (a >= split)).sum())
    tot = max(n_s + n_g1 + n_g2, 1)
    g2_neg = a[cells & ~pos & (a >= split)]
    g2_pos = float(np.median(g2_neg)) if g2_neg.size else nan
    row.update(g1=n_g1 / tot, s=n_s / tot, g2m=n_g2 / tot, g1_position=g1_pos,
               g2_position=g2_pos, g2_g1_ratio=g2_pos / g1_pos,
               cv_g1=_robust_cv(a[cells & ~pos & (a < split)]),
               debris=float(sub.sum()) / max(a.size, 1), events=int(tot),
               brdu_threshold=thr, dna_split=split)
    status = next((key for key in STATUSES if key in reasons), "ok")
    row.update(status=status, message="; ".join(reasons.values()))
    return CellCycleResult(summary=pd.DataFrame([row]), excluded=_excl(excluded))


def _robust_cv(v: np.ndarray) -> float:
    if v.size < 3:
        return float("nan")
    med = float(np.median(v))
    return 100.0 * 1.4826 * float(np.median(np.abs(v - med))) / med if med > 0 else float("nan")


def _excl(rows: list[tuple[str, int]]) -> pd.DataFrame:
    return pd.DataFrame(rows, columns=["reason", "events"]).astype({"events": "int64"})


# ----------------------------------------------------------------------------- figure

_PHASE_COLORS = {"G0/G1": "#0072B2", "S": "#009E73", "G2/M": "#D55E00",
                 "debris": "#777777", "aggregates": "#CC79A7"}


def plot_cell_cycle(result: CellCycleResult, *, ax: Axes | None = None,
                    title: str | None = None, xlabel: str = "DNA content") -> Figure:
    """Draw the DNA histogram, the fitted sum and each phase.

    Parameters
    ----------
    result
        A fit from :func:`fit_cell_cycle` (a BrdU result has no histogram to draw).
    ax
        Axes to draw into (default: a new figure).
    title, xlabel
        Axis title and x label.

    Returns
    -------
    matplotlib.figure.Figure
        Lines labelled ``"G0/G1"``, ``"S"``, ``"G2/M"`` (and ``"debris"``,
        ``"aggregates"`` when fitted) and ``"fit"``; the histogram is labelled ``"events"``.
    """
    from matplotlib.figure import Figure

    from ..report.style import WARN_COLOR, prism_style

    if result.edges.size == 0:
        raise InputError("this cell-cycle result has no DNA histogram to draw")
    with prism_style():
        if ax is None:
            fig = Figure(figsize=(5.0, 3.6), layout="constrained")
            ax = fig.add_subplot()
        else:
            fig = cast("Figure", ax.get_figure())
        e = result.edges
        c = 0.5 * (e[:-1] + e[1:])
        ax.stairs(result.counts, e, color="#777777", fill=True, alpha=0.35, label="events")
        s = result.summary.iloc[0]
        for name, comp in result.components.items():
            label = f"{name} {100 * s[_KEY[name]]:.1f} %" if name in _KEY else name
            ax.plot(c, comp, color=_PHASE_COLORS.get(name, "black"),
                    ls="--" if name in ("debris", "aggregates") else "-", lw=1.4,
                    label=label, gid=name)
        if result.components:
            ax.plot(c, result.expected, color="black", lw=2.0, label="fit", gid="fit")
        ax.set_xlim(e[0], e[-1])
        ax.set_ylim(bottom=0)
        ax.set_xlabel(xlabel)
        ax.set_ylabel("Events")
        if title:
            ax.set_title(title)
        if not result.trusted:
            ax.text(0.98, 0.98, result.status, transform=ax.transAxes, ha="right", va="top",
                    color=WARN_COLOR, fontsize=9)
        ax.legend(loc="upper left", bbox_to_anchor=(1.0, 1.0), fontsize=8)
    return fig


_KEY = {"G0/G1": "g1", "S": "s", "G2/M": "g2m"}
