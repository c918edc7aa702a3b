"""Division tracking (CFSE, CellTrace and other dilution dyes): generation fitting.

Each division halves a cell's dye, so on a log axis generation ``i`` sits at ``M - i D``
(``D = log10 2`` for exact halving). The gated intensities are binned on that axis and the
histogram is fitted as a sum of Gaussian peaks (bin-integrated) with a shared width, or a
width that changes smoothly from generation to generation (``sd_i = sd_0 exp(g i)``), plus
an optional debris component (exponential decay from the low end of the axis). Fitting is by
Poisson maximum likelihood (default) or weighted least squares on the binned counts
(:mod:`preclin.flow._binfit`). The undivided peak ``M`` comes from an unstimulated control
when one is given (:func:`fit_undivided`), else from the data (the brightest clear peak).
The number of generations is chosen by BIC (or AIC) over fits with 0, 1, 2, ... division
peaks, and reported with every candidate's criterion.

Definitions of every reported index and how each maps to FlowJo's and FCS Express's names:
``docs/methods/proliferation.md``.

Examples
--------
>>> from preclin.data.simulate_flow import simulate_cfse
>>> sim = simulate_cfse(20_000, [0.3, 0.3, 0.2, 0.2], seed=1)
>>> res = fit_proliferation(sim.values)
>>> res.summary["generations"].item(), res.status
(3, 'ok')
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
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
    "GENERATION_COLUMNS",
    "SUMMARY_COLUMNS",
    "STATUSES",
    "UndividedPeak",
    "ProliferationResult",
    "proliferation_indices",
    "fit_undivided",
    "fit_proliferation",
    "fit_proliferation_histogram",
    "plot_proliferation",
]

Scale = Literal["log", "none"]
Method = Literal["ml", "ls"]
Criterion = Literal["bic", "aic"]
Width = Literal["shared", "varying"]
Debris = Literal["auto", "exponential", "none"]

#: Columns of :attr:`ProliferationResult.table` (one row per generation).
GENERATION_COLUMNS: Mapping[str, str] = {
    "generation": "number of divisions (0 = undivided)",
    "count": "events fitted to the generation (expected count of its peak)",
    "fraction_of_events": "count / sum of counts over generations (debris left out)",
    "fraction_of_precursors": "(count / 2**generation) / sum over generations: the share of "
                              "the original cells that gave rise to this generation",
    "position": "peak position in the data's units (10**log-position on the log scale)",
    "sd": "peak SD on the fitted axis (log10 units on the log scale)",
}

#: Columns of :attr:`ProliferationResult.summary` (one row).
SUMMARY_COLUMNS: Mapping[str, str] = {
    "percent_divided": "100 x events in generations >= 1 / events in all generations",
    "precursor_frequency": "share of the original cells that divided at least once "
                           "(FlowJo's and FCS Express's '% Divided' / 100)",
    "division_index": "mean number of divisions of all original cells (FlowJo's Division "
                      "Index)",
    "proliferation_index": "mean number of divisions of the original cells that divided "
                           "(FlowJo's Proliferation Index); NaN without division",
    "expansion_index": "fold expansion of the whole culture: cells now / original cells "
                       "(FlowJo's Expansion Index, FCS Express's Proliferation Index)",
    "replication_index": "fold expansion of the responding cells (FlowJo's Replication "
                         "Index, FCS Express's Division Index); NaN without division",
    "generations": "number of division peaks chosen (highest generation fitted)",
    "undivided_position": "position of generation 0 in the data's units",
    "undivided_source": "'control' (from an unstimulated control) or 'data'",
    "fold_per_division": "intensity ratio between consecutive generations (2 = halving)",
    "sd": "peak SD of generation 0 on the fitted axis",
    "width_growth": "relative change of the SD per generation (0 with a shared width)",
    "debris": "events fitted to the debris component",
    "events": "events in the histogram (after exclusions)",
    "method": "'ml' (Poisson likelihood) or 'ls' (weighted least squares)",
    "criterion": "criterion used to choose the number of generations",
    "aic": "AIC of the chosen fit",
    "bic": "BIC of the chosen fit",
    "reduced_chi2": "Pearson chi-square / degrees of freedom over bins expecting >= 1 event",
    "status": "see STATUSES",
    "message": "every reason the fit may not be trusted, in plain language",
}

#: Status values, most serious first (the status is the first that applies).
STATUSES: Mapping[str, str] = {
    "too_few_events": "fewer events than MIN_EVENTS in the histogram: nothing fitted",
    "no_convergence": "the optimiser stopped without converging",
    "poor_fit": "reduced chi-square above MAX_REDUCED_CHI2: the peak model does not "
                "describe the histogram",
    "peaks_unresolved": "peak SD above MAX_SD_PER_SPACING of the spacing: neighbouring "
                        "generations overlap too much to be told apart",
    "spacing_unusual": "fitted intensity ratio per division outside FOLD_RANGE (log scale)",
    "generation_limit": "the lowest fittable generation holds more than 1 % of events: "
                        "more divisions may lie below the histogram",
    "no_division": "less than 1 % of events divided (a result, not a failure)",
    "ok": "fitted, no problem found",
}

MIN_EVENTS = 200
MAX_REDUCED_CHI2 = 4.0
MAX_SD_PER_SPACING = 0.55
FOLD_RANGE = (1.6, 2.5)
_LOG2 = float(np.log10(2.0))
_UNTRUSTED = ("too_few_events", "no_convergence", "poor_fit", "peaks_unresolved",
              "spacing_unusual", "generation_limit")


@dataclass(frozen=True)
class UndividedPeak:
    """Position and width of the undivided peak on the fitted axis (log10 on the log scale).

    Attributes
    ----------
    mean, sd
        Peak centre and SD on the fitted axis.
    events
        Events of the control in the peak.
    """

    mean: float
    sd: float
    events: float


@dataclass(frozen=True)
class ProliferationResult(FitStatus):
    """A fitted division-tracking histogram.

    Attributes
    ----------
    table
        One row per generation (:data:`GENERATION_COLUMNS`).
    summary
        One row (:data:`SUMMARY_COLUMNS`).
    excluded
        ``reason, events``: events left out before fitting.
    candidates
        One row per candidate fit: ``generations, debris, loglik, n_params, aic, bic,
        chosen``.
    edges, counts
        The histogram on the fitted axis.
    components
        Expected counts per bin of each component (``"generation 0"``, ..., ``"debris"``).
    expected
        Total expected counts per bin.
    scale
        ``"log"`` (edges are log10 of the data) or ``"none"``.
    """

    table: pd.DataFrame
    summary: pd.DataFrame
    excluded: pd.DataFrame
    candidates: pd.DataFrame
    edges: np.ndarray
    counts: np.ndarray
    components: Mapping[str, np.ndarray] = field(default_factory=dict)
    expected: np.ndarray = field(default_factory=lambda: np.zeros(0))
    scale: str = "log"

    _untrusted: ClassVar[tuple[str, ...]] = _UNTRUSTED

    def tables(self) -> dict[str, pd.DataFrame]:
        """The result tables by name: ``generations``, ``summary``, ``excluded``,
        ``candidates``."""
        return {"generations": self.table, "summary": self.summary,
                "excluded": self.excluded, "candidates": self.candidates}

    def fit_report(self) -> str:
        """A plain-text report of the fit."""
        s = self.summary.iloc[0]
        lines = [f"[[Proliferation fit]]  status: {s['status']}"]
        if s["message"]:
            lines.append(f"    {s['message']}")
        lines.append(f"    generations: {s['generations']} (by {s['criterion'].upper()}), "
                     f"method: {s['method']}, events: {s['events']}")
        lines.append(f"    undivided at {s['undivided_position']:.4g} (from "
                     f"{s['undivided_source']}), fold per division {s['fold_per_division']:.3f}")
        lines.append("[[Indices]]")
        for key in ("percent_divided", "precursor_frequency", "division_index",
                    "proliferation_index", "expansion_index", "replication_index"):
            lines.append(f"    {key:<20} {s[key]:.4g}")
        lines.append("[[Generations]]")
        for _, r in self.table.iterrows():
            lines.append(f"    {int(r['generation']):>3}  count {r['count']:>10.1f}  "
                         f"events {100 * r['fraction_of_events']:6.2f} %  precursors "
                         f"{100 * r['fraction_of_precursors']:6.2f} %")
        return "\n".join(lines)

    def __repr__(self) -> str:
        s = self.summary.iloc[0]
        return (f"ProliferationResult(status={s['status']!r}, generations={s['generations']}, "
                f"percent_divided={s['percent_divided']:.3g}, "
                f"division_index={s['division_index']:.3g})")


# ----------------------------------------------------------------------------- indices

def proliferation_indices(counts: Sequence[float] | np.ndarray) -> dict[str, float]:
    """Summary indices from the cell counts of generations 0, 1, 2, ...

    With ``N_i`` cells in generation ``i`` and ``P_i = N_i / 2**i`` the original cells
    (precursors) they came from (no cell death assumed):

    * ``percent_divided = 100 sum_{i>=1} N_i / sum N_i``
    * ``precursor_frequency = sum_{i>=1} P_i / sum P_i``
    * ``division_index = sum i P_i / sum P_i``
    * ``proliferation_index = sum_{i>=1} i P_i / sum_{i>=1} P_i``
    * ``expansion_index = sum N_i / sum P_i``
    * ``replication_index = sum_{i>=1} N_i / sum_{i>=1} P_i``

    Parameters
    ----------
    counts
        Non-negative counts (or fractions) per generation, generation 0 first.

    Returns
    -------
    dict
        The six indices; the two that describe only dividing cells are NaN when none did.

    Examples
    --------
    >>> proliferation_indices([50, 0, 0, 400])["division_index"]
    1.5
    """
    n = np.asarray(counts, dtype=float)
    if n.ndim != 1 or n.size == 0 or np.any(n < 0) or not np.isfinite(n).all():
        raise ValueError("counts must be a non-empty 1-D array of non-negative numbers")
    i = np.arange(n.size)
    p = n / 2.0**i
    tot_n, tot_p = n.sum(), p.sum()
    div_n, div_p = n[1:].sum(), p[1:].sum()
    nan = float("nan")
    if tot_n <= 0:
        return dict.fromkeys(("percent_divided", "precursor_frequency", "division_index",
                              "proliferation_index", "expansion_index",
                              "replication_index"), nan)
    return {
        "percent_divided": float(100.0 * div_n / tot_n),
        "precursor_frequency": float(div_p / tot_p),
        "division_index": float((i * p).sum() / tot_p),
        "proliferation_index": float((i[1:] * p[1:]).sum() / div_p) if div_p > 0 else nan,
        "expansion_index": float(tot_n / tot_p),
        "replication_index": float(div_n / div_p) if div_p > 0 else nan,
    }


# ----------------------------------------------------------------------------- inputs

def _to_axis(values: Any, scale: Scale, gate: tuple[float | None, float | None] | None,
             what: str) -> tuple[np.ndarray, list[tuple[str, int]]]:
    """Event values on the fitted axis, and the events left out with their reason."""
    if scale not in ("log", "none"):
        raise InputError(f"scale must be 'log' or 'none', got {scale!r}")
    v = np.asarray(values, dtype=float).ravel()
    excluded: list[tuple[str, int]] = []
    finite = np.isfinite(v)
    if (~finite).any():
        excluded.append(("not a finite number", int((~finite).sum())))
    v = v[finite]
    if gate is not None:
        lo, hi = gate
        keep = np.ones(v.size, dtype=bool)
        if lo is not None:
            keep &= v >= lo
        if hi is not None:
            keep &= v <= hi
        if (~keep).any():
            excluded.append(("outside the gate", int((~keep).sum())))
        v = v[keep]
    if scale == "log":
        pos = v > 0
        if (~pos).any():
            excluded.append(("not positive (log scale)", int((~pos).sum())))
        v = np.log10(v[pos])
    if v.size == 0:
        raise InputError(f"{what}: no events left to fit")
    return v, excluded


def _histogram(x: np.ndarray, bins: int) -> tuple[np.ndarray, np.ndarray, int]:
    """Histogram from the 0.05 % to the 99.95 % quantile of the events, widened upwards by
    2 % of the range (the undivided peak's upper tail stays in; the dim end is cut inside
    the data so that no empty bins sit below the lowest events)."""
    if bins < 16:
        raise InputError(f"bins must be at least 16, got {bins}")
    lo, hi = np.quantile(x, [0.0005, 0.9995])
    if hi <= lo:
        lo, hi = lo - 0.5, hi + 0.5
    edges = np.linspace(lo, hi + 0.02 * (hi - lo), bins + 1)
    counts, _ = np.histogram(x, edges)
    return edges, counts.astype(float), int(x.size - counts.sum())


# ----------------------------------------------------------------------------- model

@dataclass(frozen=True)
class _Spec:
    generations: int
    debris: bool
    varying: bool
    fixed: Mapping[str, float]
    names: tuple[str, ...]


def _basis(spec: _Spec, edges: np.ndarray, theta: np.ndarray) -> np.ndarray:
    par = dict(spec.fixed)
    par.update(zip(spec.names, theta.tolist(), strict=True))
    i = np.arange(spec.generations + 1)
    means = par["m"] - i * par["d"]
    sds = par["sd"] * np.exp(par.get("growth", 0.0) * i)
    b = gauss_bins(edges, means, sds)
    if spec.debris:
        tau = par["tau"]
        z = np.exp(-(edges - edges[0]) / tau)
        b = np.column_stack([b, z[:-1] - z[1:]])
    return b


def _basis_fn(spec: _Spec, edges: np.ndarray) -> Callable[[np.ndarray], np.ndarray]:
    def basis(theta: np.ndarray) -> np.ndarray:
        return _basis(spec, edges, theta)

    return basis


@dataclass(frozen=True)
class _Start:
    m: float
    d: float
    sd: float
    m_fixed: bool
    d_fixed: bool


def _smoothed_peaks(edges: np.ndarray, counts: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Centres and heights of clear peaks of the smoothed histogram, ascending position."""
    from scipy.ndimage import gaussian_filter1d
    from scipy.signal import find_peaks

    sm = gaussian_filter1d(counts, 1.5)
    top = float(sm.max()) if sm.size else 0.0
    idx, _ = find_peaks(np.concatenate([[0.0], sm, [0.0]]),
                        prominence=max(5.0, 0.02 * top))
    idx = idx - 1
    centres = 0.5 * (edges[:-1] + edges[1:])
    return centres[idx], sm[idx]


def _peak_sd(edges: np.ndarray, counts: np.ndarray, centre: float) -> float:
    """SD from the half width at half maximum on the upper side of a peak."""
    from scipy.ndimage import gaussian_filter1d

    sm = gaussian_filter1d(counts, 1.0)
    c = 0.5 * (edges[:-1] + edges[1:])
    k = int(np.argmin(np.abs(c - centre)))
    half = sm[k] / 2.0
    j = k
    while j < sm.size - 1 and sm[j] > half:
        j += 1
    hwhm = max(c[j] - c[k], edges[1] - edges[0])
    return float(hwhm / np.sqrt(2 * np.log(2)))


def _starting_values(edges: np.ndarray, counts: np.ndarray, peak: UndividedPeak | None,
                     fold: float | None, scale: Scale) -> _Start:
    pos, height = _smoothed_peaks(edges, counts)
    binw = float(edges[1] - edges[0])
    if peak is not None:
        m, sd, m_fixed = peak.mean, peak.sd, True
    else:
        if pos.size == 0:
            k = int(np.argmax(counts))
            pos, height = np.array([0.5 * (edges[k] + edges[k + 1])]), counts[k:k + 1]
        clear = pos[height >= 0.01 * height.max()]
        m = float(clear.max())
        sd = _peak_sd(edges, counts, m)
        m_fixed = False
    if fold is not None:
        if not fold > 1:
            raise InputError(f"fold must be above 1, got {fold}")
        d, d_fixed = float(np.log10(fold)) if scale == "log" else float(fold), True
    else:
        d_fixed = False
        if scale == "log":
            d = _LOG2
        else:
            below = np.sort(pos[pos < m - 2 * binw])[::-1]
            gaps = -np.diff(np.concatenate([[m], below]))
            d = float(np.median(gaps)) if gaps.size else 4.0 * max(sd, binw)
    sd = float(np.clip(sd, binw, 0.3 * d)) if not m_fixed else float(np.clip(sd, binw, d))
    return _Start(m=float(m), d=d, sd=sd, m_fixed=m_fixed, d_fixed=d_fixed)


def _spec_and_bounds(g: int, debris: bool, varying: bool, st: _Start, edges: np.ndarray,
                     scale: Scale, prev: Mapping[str, float] | None
                     ) -> tuple[_Spec, np.ndarray, np.ndarray, np.ndarray]:
    binw = float(edges[1] - edges[0])
    span = float(edges[-1] - edges[0])
    fixed: dict[str, float] = {}
    names: list[str] = []
    start: list[float] = []
    lo: list[float] = []
    hi: list[float] = []
    prev = prev or {}

    def add(name: str, value: float, lower: float, upper: float) -> None:
        names.append(name)
        start.append(float(np.clip(prev.get(name, value), lower, upper)))
        lo.append(lower)
        hi.append(upper)

    if st.m_fixed:
        fixed["m"] = st.m
    else:
        add("m", st.m, st.m - 0.5 * st.d, st.m + 0.5 * st.d)
    if st.d_fixed or g == 0:
        fixed["d"] = prev.get("d", st.d) if not st.d_fixed else st.d
    elif scale == "log":
        add("d", st.d, 0.5 * _LOG2, 1.5 * _LOG2)
    else:
        add("d", st.d, 0.4 * st.d, 2.0 * st.d)
    add("sd", st.sd, 0.5 * binw, max(st.d, 2 * binw))
    if varying and g >= 2:
        add("growth", 0.0, -0.15, 0.15)
    if debris:
        add("tau", 0.1 * span, binw, span)
    spec = _Spec(generations=g, debris=debris, varying=varying and g >= 2, fixed=fixed,
                 names=tuple(names))
    return spec, np.array(start), np.array(lo), np.array(hi)


@dataclass(frozen=True)
class _Candidate:
    spec: _Spec
    fit: BinnedFit

    def params(self) -> dict[str, float]:
        p = dict(self.spec.fixed)
        p.update(zip(self.spec.names, self.fit.theta.tolist(), strict=True))
        return p


def _max_generations(st: _Start, edges: np.ndarray, limit: int) -> int:
    lowest = edges[0] - st.sd
    return int(max(0, min(limit, np.floor((st.m - lowest) / st.d))))


def _scan(edges: np.ndarray, counts: np.ndarray, st: _Start, *, scale: Scale,
          method: Method, width: Width, debris: Debris, criterion: Criterion, g_max: int
          ) -> list[_Candidate]:
    """Fit 0, 1, 2, ... division peaks (with and/or without debris), stopping two past the
    best criterion."""
    options = {"auto": (False, True), "exponential": (True,), "none": (False,)}[debris]
    out: list[_Candidate] = []
    best, best_g = np.inf, 0
    for g in range(g_max + 1):
        for deb in options:
            spec, t0, lo, hi = _spec_and_bounds(g, deb, width == "varying", st, edges,
                                                scale, None)
            fit = fit_binned(counts, _basis_fn(spec, edges), t0, lo, hi,
                             method=method)
            out.append(_Candidate(spec, fit))
        gbest = min(out[-len(options):], key=lambda c: getattr(c.fit, criterion))
        ic = getattr(gbest.fit, criterion)
        if ic < best:
            best, best_g = ic, g
        elif g >= best_g + 2:
            break
    return out


def _undivided_start(edges: np.ndarray, counts: np.ndarray, st: _Start, *, scale: Scale,
                     method: Method, debris: Debris, max_generations: int) -> _Start:
    """Choose the start of ``M`` among the brightest clear peak and positions half a
    spacing apart above it (an undivided peak hidden in a shoulder), by the likelihood of
    a fit with every generation the histogram can hold. A higher start wins only when it
    improves the log-likelihood by more than 5 and its generation 0 holds at least 1 % of
    the cells (an undivided peak must be seen in the data)."""
    hi = float(edges[-1]) - st.sd
    starts = [st.m + 0.5 * k * st.d for k in range(8) if st.m + 0.5 * k * st.d <= hi] or [st.m]
    best, best_ll = st, -np.inf
    for m in starts:
        trial = _Start(m=m, d=st.d, sd=st.sd, m_fixed=False, d_fixed=st.d_fixed)
        g = _max_generations(trial, edges, max_generations)
        spec, t0, lo, up = _spec_and_bounds(g, debris != "none", False, trial, edges, scale,
                                            None)
        fit = fit_binned(counts, _basis_fn(spec, edges), t0, lo, up,
                         method=method)
        n_cells = fit.amounts[: g + 1].sum()
        if fit.loglik > best_ll + 5.0 and fit.amounts[0] >= 0.01 * n_cells:
            par = dict(spec.fixed)
            par.update(zip(spec.names, fit.theta.tolist(), strict=True))
            best = _Start(m=par["m"], d=par["d"] if not st.d_fixed else st.d,
                          sd=float(np.clip(par["sd"], st.sd / 4, st.d)), m_fixed=False,
                          d_fixed=st.d_fixed)
            best_ll = fit.loglik
    return best


# ----------------------------------------------------------------------------- public

def fit_undivided(
    values: Any,
    *,
    scale: Scale = "log",
    gate: tuple[float | None, float | None] | None = None,
    bins: int = 256,
    method: Method = "ml",
) -> UndividedPeak:
    """Locate the undivided peak in an unstimulated control.

    The control's histogram is fitted as one Gaussian peak, with an exponential debris
    component when BIC prefers it.

    Parameters
    ----------
    values
        Gated dye intensities of the control.
    scale, gate, bins, method
        As in :func:`fit_proliferation`.

    Returns
    -------
    UndividedPeak
        Centre and SD on the fitted axis.
    """
    x, _ = _to_axis(values, scale, gate, "undivided control")
    if x.size < MIN_EVENTS:
        raise InputError(f"undivided control: {x.size} events, at least {MIN_EVENTS} needed")
    edges, counts, _ = _histogram(x, bins)
    st = _starting_values(edges, counts, None, None, scale)
    st = _Start(m=float(np.median(x)) if abs(np.median(x) - st.m) > 3 * st.sd else st.m,
                d=st.d, sd=st.sd, m_fixed=False, d_fixed=True)
    cands = []
    for deb in (False, True):
        spec, t0, lo, hi = _spec_and_bounds(0, deb, False, st, edges, scale, None)
        lo[0], hi[0] = edges[0], edges[-1]
        fit = fit_binned(counts, _basis_fn(spec, edges), t0, lo, hi,
                         method=method)
        cands.append(_Candidate(spec, fit))
    best = min(cands, key=lambda c: c.fit.bic)
    p = best.params()
    return UndividedPeak(mean=float(p["m"]), sd=float(p["sd"]),
                         events=float(best.fit.amounts[0]))


def fit_proliferation(
    values: Any,
    *,
    undivided: Any = None,
    scale: Scale = "log",
    method: Method = "ml",
    width: Width = "shared",
    criterion: Criterion = "bic",
    max_generations: int = 12,
    debris: Debris = "auto",
    gate: tuple[float | None, float | None] | None = None,
    bins: int = 256,
    fold: float | None = None,
) -> ProliferationResult:
    """Fit dye-dilution generations to gated event intensities.

    Parameters
    ----------
    values
        Dye intensity of each (gated, live, single) cell event, linear units for
        ``scale="log"``.
    undivided
        The undivided peak: an unstimulated control's event intensities (array), an
        :class:`UndividedPeak`, or its position in data units (number). ``None``: from the
        data (the brightest clear peak is taken as undivided).
    scale
        ``"log"``: fit on log10 of the values (non-positive values are left out);
        ``"none"``: the values are already on a log-like axis (e.g. a logicle transform),
        and the spacing ``D`` is found from the peaks.
    method
        ``"ml"``: Poisson maximum likelihood on the binned counts; ``"ls"``: least squares
        weighted by ``1/max(count, 1)``.
    width
        ``"shared"``: one SD for every peak; ``"varying"``: ``sd_i = sd_0 exp(g i)``.
    criterion
        ``"bic"`` (default) or ``"aic"``: chooses the number of generations (and whether
        the debris component is kept).
    max_generations
        Highest generation considered (also limited by the histogram's low end).
    debris
        ``"auto"`` (kept when the criterion prefers it), ``"exponential"`` or ``"none"``.
    gate
        ``(low, high)`` in data units: events outside are left out (e.g. a gate below the
        last generation to drop debris); either end may be ``None``.
    bins
        Number of histogram bins over the events' range.
    fold
        Fix the intensity ratio between generations (e.g. 2.0); default fitted. With
        ``scale="none"`` it is the spacing on the given axis.

    Returns
    -------
    ProliferationResult
        Per-generation table, summary, excluded events, candidate fits and the fitted
        histogram.
    """
    x, excluded = _to_axis(values, scale, gate, "proliferation")
    peak = _undivided_peak(undivided, scale, gate, bins, method)
    edges, counts, outside = _histogram(x, bins)
    if outside:
        excluded.append(("outside the histogram range (0.05-99.95 % quantiles)", outside))
    return _fit(edges, counts, peak=peak, scale=scale, method=method, width=width,
                criterion=criterion, max_generations=max_generations, debris=debris,
                fold=fold, excluded=excluded)


def fit_proliferation_histogram(
    counts: Any,
    edges: Any,
    *,
    undivided: UndividedPeak | float | None = None,
    scale: Scale = "none",
    method: Method = "ml",
    width: Width = "shared",
    criterion: Criterion = "bic",
    max_generations: int = 12,
    debris: Debris = "auto",
    fold: float | None = None,
) -> ProliferationResult:
    """Fit generations to an already binned histogram.

    Parameters
    ----------
    counts
        Events per bin.
    edges
        Bin edges (``len(counts) + 1``, increasing, equally spaced) on the fitted axis:
        log10 intensity for ``scale="log"``, or any log-like axis for ``scale="none"``.
    undivided
        The undivided peak as an :class:`UndividedPeak` or its position on the edges' axis.
    scale, method, width, criterion, max_generations, debris, fold
        As in :func:`fit_proliferation`.

    Returns
    -------
    ProliferationResult
    """
    y = np.asarray(counts, dtype=float).ravel()
    e = np.asarray(edges, dtype=float).ravel()
    if e.size != y.size + 1 or y.size < 16:
        raise InputError("edges must have one more value than counts, and at least 16 bins")
    if not (np.isfinite(y).all() and np.isfinite(e).all()) or np.any(y < 0):
        raise InputError("counts must be finite and non-negative, edges finite")
    w = np.diff(e)
    if np.any(w <= 0) or np.ptp(w) > 1e-6 * w.mean():
        raise InputError("edges must be increasing and equally spaced")
    peak: UndividedPeak | None
    if undivided is None or isinstance(undivided, UndividedPeak):
        peak = undivided
    else:
        peak = UndividedPeak(mean=float(undivided), sd=float(4 * w[0]), events=float("nan"))
        peak = _refine_sd(e, y, peak)
    return _fit(e, y, peak=peak, scale=scale, method=method, width=width, criterion=criterion,
                max_generations=max_generations, debris=debris, fold=fold, excluded=[])


def _refine_sd(edges: np.ndarray, counts: np.ndarray, peak: UndividedPeak) -> UndividedPeak:
    return UndividedPeak(mean=peak.mean, sd=_peak_sd(edges, counts, peak.mean),
                         events=peak.events)


def _undivided_peak(undivided: Any, scale: Scale,
                    gate: tuple[float | None, float | None] | None, bins: int,
                    method: Method) -> UndividedPeak | None:
    if undivided is None or isinstance(undivided, UndividedPeak):
        return undivided
    if np.ndim(undivided) == 0:
        pos = float(undivided)
        if scale == "log":
            if not pos > 0:
                raise InputError(f"undivided peak position must be positive, got {pos}")
            pos = float(np.log10(pos))
        return UndividedPeak(mean=pos, sd=float("nan"), events=float("nan"))
    return fit_undivided(undivided, scale=scale, gate=gate, bins=bins, method=method)


def _check_options(method: str, width: str, criterion: str, debris: str,
                   max_generations: int) -> None:
    for name, value, allowed in (("method", method, ("ml", "ls")),
                                 ("width", width, ("shared", "varying")),
                                 ("criterion", criterion, ("bic", "aic")),
                                 ("debris", debris, ("auto", "exponential", "none"))):
        if value not in allowed:
            raise InputError(f"{name} must be one of {', '.join(allowed)}; got {value!r}")
    if not 0 <= max_generations <= 30:
        raise InputError(f"max_generations must be between 0 and 30, got {max_generations}")


def _fit(edges: np.ndarray, counts: np.ndarray, *, peak: UndividedPeak | None, scale: Scale,
         method: Method, width: Width, criterion: Criterion, max_generations: int,
         debris: Debris, fold: float | None, excluded: list[tuple[str, int]]
         ) -> ProliferationResult:
    _check_options(method, width, criterion, debris, max_generations)
    excl = pd.DataFrame(excluded, columns=["reason", "events"]).astype({"events": "int64"})
    n = float(counts.sum())
    if n < MIN_EVENTS:
        return _empty_result(edges, counts, excl, scale, method, criterion, n, peak)
    if peak is not None and not np.isfinite(peak.sd):
        peak = _refine_sd(edges, counts, peak)
    st = _starting_values(edges, counts, peak, fold, scale)
    if not st.m_fixed:
        st = _undivided_start(edges, counts, st, scale=scale, method=method, debris=debris,
                              max_generations=max_generations)
    g_max = _max_generations(st, edges, max_generations)
    cands = _scan(edges, counts, st, scale=scale, method=method, width=width, debris=debris,
                  criterion=criterion, g_max=g_max)
    g_max = max_generations
    best = min(cands, key=lambda c: getattr(c.fit, criterion))
    return _assemble(best, cands, edges, counts, excl, st, scale=scale, method=method,
                     criterion=criterion, g_max=g_max,
                     source="control" if peak is not None else "data")


def _empty_result(edges: np.ndarray, counts: np.ndarray, excl: pd.DataFrame, scale: str,
                  method: str, criterion: str, n: float,
                  peak: UndividedPeak | None) -> ProliferationResult:
    nan = float("nan")
    summary: dict[str, Any] = {k: nan for k in SUMMARY_COLUMNS}
    summary.update(generations=0, undivided_source="control" if peak else "data",
                   events=int(n), method=method, criterion=criterion,
                   status="too_few_events",
                   message=f"{int(n)} events in the histogram; at least {MIN_EVENTS} needed",
                   debris=nan, width_growth=nan)
    table = pd.DataFrame({c: pd.Series(dtype="float64") for c in GENERATION_COLUMNS})
    table["generation"] = table["generation"].astype("int64")
    cands = pd.DataFrame(columns=["generations", "debris", "loglik", "n_params", "aic", "bic",
                                  "chosen"])
    return ProliferationResult(table=table, summary=pd.DataFrame([summary]), excluded=excl,
                               candidates=cands, edges=edges, counts=counts,
                               components={}, expected=np.zeros_like(counts), scale=scale)


def _status(fit: BinnedFit, par: Mapping[str, float], fractions: np.ndarray, g: int,
            g_max: int, scale: str, indices: Mapping[str, float],
            low_edge: float) -> tuple[str, list[str]]:
    reasons: dict[str, str] = {}
    if not fit.success:
        reasons["no_convergence"] = f"the optimiser did not converge ({fit.message})"
    if fit.chi2_reduced > MAX_REDUCED_CHI2:
        reasons["poor_fit"] = (f"reduced chi-square {fit.chi2_reduced:.2f} > "
                               f"{MAX_REDUCED_CHI2}: the peaks do not describe the histogram")
    sd_max = par["sd"] * np.exp(abs(par.get("growth", 0.0)) * g)
    if g >= 1 and sd_max > MAX_SD_PER_SPACING * par["d"]:
        reasons["peaks_unresolved"] = (f"peak SD {sd_max:.3g} is {sd_max / par['d']:.2f} of "
                                       f"the spacing {par['d']:.3g} (limit "
                                       f"{MAX_SD_PER_SPACING}): generations overlap too much")
    fold = 10 ** par["d"]
    if scale == "log" and g >= 1 and not FOLD_RANGE[0] <= fold <= FOLD_RANGE[1]:
        reasons["spacing_unusual"] = (f"intensity ratio per division {fold:.2f} outside "
                                      f"{FOLD_RANGE[0]}-{FOLD_RANGE[1]}")
    if g >= 1 and g == g_max and fractions[-1] > 0.01:
        reasons["generation_limit"] = (f"generation {g} is the last one allowed and holds "
                                       f"{100 * fractions[-1]:.1f} % of events: more "
                                       "divisions may be hidden below")
    elif g >= 1 and par["m"] - g * par["d"] < low_edge + sd_max and fractions[-1] > 0.01:
        reasons["generation_limit"] = (f"generation {g} ({100 * fractions[-1]:.1f} % of "
                                       "events) is cut off by the low end of the histogram: "
                                       "its count is extrapolated")
    if indices["percent_divided"] < 1.0:
        reasons["no_division"] = (f"{indices['percent_divided']:.2f} % of events divided")
    for key in STATUSES:
        if key in reasons:
            return key, list(reasons.values())
    return "ok", []


def _assemble(best: _Candidate, cands: list[_Candidate], edges: np.ndarray,
              counts: np.ndarray, excl: pd.DataFrame, st: _Start, *, scale: str,
              method: str, criterion: str, g_max: int, source: str) -> ProliferationResult:
    fit, spec = best.fit, best.spec
    par = best.params()
    g = spec.generations
    n_gen = fit.amounts[: g + 1]
    i = np.arange(g + 1)
    frac = n_gen / n_gen.sum() if n_gen.sum() > 0 else np.full(g + 1, np.nan)
    prec = n_gen / 2.0**i
    fprec = prec / prec.sum() if prec.sum() > 0 else np.full(g + 1, np.nan)
    pos = par["m"] - i * par["d"]
    sds = par["sd"] * np.exp(par.get("growth", 0.0) * i)
    table = pd.DataFrame({
        "generation": i.astype("int64"),
        "count": n_gen,
        "fraction_of_events": frac,
        "fraction_of_precursors": fprec,
        "position": 10.0**pos if scale == "log" else pos,
        "sd": sds,
    })
    idx = proliferation_indices(n_gen)
    status, reasons = _status(fit, par, frac, g, g_max, scale, idx, float(edges[0]))
    summary = {
        **idx,
        "generations": int(g),
        "undivided_position": float(10 ** par["m"] if scale == "log" else par["m"]),
        "undivided_source": source,
        "fold_per_division": float(10 ** par["d"] if scale == "log" else par["d"]),
        "sd": float(par["sd"]),
        "width_growth": float(np.expm1(par.get("growth", 0.0))),
        "debris": float(fit.amounts[g + 1]) if spec.debris else 0.0,
        "events": int(counts.sum()),
        "method": method,
        "criterion": criterion,
        "aic": fit.aic,
        "bic": fit.bic,
        "reduced_chi2": fit.chi2_reduced,
        "status": status,
        "message": "; ".join(reasons),
    }
    components = {f"generation {k}": fit.components[:, k] for k in range(g + 1)}
    if spec.debris:
        components["debris"] = fit.components[:, g + 1]
    cand = pd.DataFrame({
        "generations": [c.spec.generations for c in cands],
        "debris": [c.spec.debris for c in cands],
        "loglik": [c.fit.loglik for c in cands],
        "n_params": [c.fit.n_params for c in cands],
        "aic": [c.fit.aic for c in cands],
        "bic": [c.fit.bic for c in cands],
        "chosen": [c is best for c in cands],
    })
    return ProliferationResult(table=table, summary=pd.DataFrame([summary]), excluded=excl,
                               candidates=cand, edges=edges, counts=counts,
                               components=components, expected=fit.expected, scale=scale)


# ----------------------------------------------------------------------------- figure

def plot_proliferation(result: ProliferationResult, *, ax: Axes | None = None,
                       title: str | None = None, xlabel: str = "Dye intensity") -> Figure:
    """Draw the histogram, the fitted sum and each generation's peak.

    Parameters
    ----------
    result
        A fit from :func:`fit_proliferation`.
    ax
        Axes to draw into (default: a new figure).
    title, xlabel
        Axis title and x label.

    Returns
    -------
    matplotlib.figure.Figure
        Lines labelled ``"fit"``, ``"generation 0"``, ``"generation 1"``, ... and
        ``"debris"``; the histogram is a step line labelled ``"events"``.
    """
    from matplotlib.figure import Figure

    from ..report.style import PALETTE, WARN_COLOR, prism_style

    with prism_style():
        if ax is None:
            fig = Figure(figsize=(5.0, 3.6), layout="constrained")
            ax = fig.add_subplot()
        else:
            fig = cast("Figure", ax.get_figure())
        e = 10.0**result.edges if result.scale == "log" else result.edges
        centres = np.sqrt(e[:-1] * e[1:]) if result.scale == "log" else 0.5 * (e[:-1] + e[1:])
        ax.stairs(result.counts, e, color="#777777", fill=True, alpha=0.35, label="events")
        colors = PALETTE[1:]
        k = 0
        for name, comp in result.components.items():
            if name == "debris":
                ax.plot(centres, comp, color="#777777", ls="--", lw=1.2, label=name)
            else:
                ax.plot(centres, comp, color=colors[k % len(colors)], lw=1.3, label=name)
                k += 1
        if result.components:
            ax.plot(centres, result.expected, color="black", lw=2.0, label="fit")
        if result.scale == "log":
            ax.set_xscale("log")
        ax.set_xlim(e[0], e[-1])
        ax.set_ylim(bottom=0)
        ax.set_xlabel(xlabel)
        ax.set_ylabel("Events")
        if title:
            ax.set_title(title)
        if not result.trusted:
            ax.text(0.02, 0.98, f"{result.status}", transform=ax.transAxes, ha="left",
                    va="top", color=WARN_COLOR, fontsize=9)
        ax.legend(loc="upper left", bbox_to_anchor=(1.0, 1.0), fontsize=8)
    return fig
