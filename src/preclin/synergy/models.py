"""Reference models of drug combinations on one dose-response matrix (% inhibition).

A block is a full grid: ``conc1`` (rows, ascending, first 0), ``conc2`` (columns, ascending,
first 0) and ``inhibition[i, j]`` (% inhibition, the mean over replicates). Every model
returns a reference (expected, "no interaction") surface and ``synergy = observed −
reference``; on the monotherapy row and column (a zero concentration) the reference is the
observed response and the synergy 0. All definitions follow SynergyFinder 3.7.3 (Zheng et
al. 2022, *Genomics Proteomics Bioinformatics* 20:587; Ianevski et al. 2022, *NAR*
50:W739):

* **HSA** (Berenbaum 1989): reference = the larger observed monotherapy response.
* **Bliss** (Bliss 1939): reference = ``y1 + y2 − y1·y2/100`` from the observed
  monotherapy responses.
* **Loewe** (Loewe 1953): the effect ``y`` with ``d1/D1(y) + d2/D2(y) = 1``, ``Di(y)`` the dose
  of drug i alone that gives ``y`` from its fitted 4PL curve (``0`` below its lower
  asymptote, ``∞`` above its upper one). SynergyFinder takes the best of 100 effect levels
  spaced evenly between the lowest lower and the highest upper asymptote of the two curves
  (the one minimising ``|d1/D1 + d2/D2 − 1|``); when neither drug alone can reach the observed
  combination response (it lies above both upper asymptotes) the reference is the larger of
  the two single-drug curves at the total dose ``d1 + d2``. ``loewe="exact"`` solves the
  equation to machine precision instead of on the grid.
* **ZIP** (Yadav et al. 2015): reference = Bliss combination of the *fitted* monotherapy
  curves; observed side = the mean of two fitted surfaces: every column (drug 1 varying,
  drug 2 fixed) and every row (drug 2 varying) is refitted with a 4PL curve whose
  zero-dose asymptote ``c`` is fixed at the observed response of that slice at dose 0 (the
  other drug alone), the other three parameters free; delta = fitted − reference.

Monotherapy curves are drc-style LL.4 fits of the monotherapy row/column including the
zero-dose point. ``fitter="synergyfinder"`` reproduces drc 3.0-1's optimiser path (see
:mod:`._drc`), ``fitter="preclin"`` uses :func:`preclin.doseresponse.fit` (the
least-squares optimum; different numbers where the optimum is a step).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from numpy.typing import NDArray
from scipy.optimize import brentq

from . import _drc
from ._drc import DrcFit

__all__ = ["MODELS", "Block", "BlockResult", "hsa", "bliss", "loewe", "zip_delta",
           "score_blocks", "FITTERS"]

Array = NDArray[np.float64]

#: reference models in output order
MODELS: tuple[str, ...] = ("bliss", "hsa", "loewe", "zip")
#: curve fitters
FITTERS: tuple[str, ...] = ("synergyfinder", "preclin")
_LOEWE_STEPS = 100


@dataclass(frozen=True)
class Block:
    """One combination block: a full dose grid of mean % inhibition.

    ``order[i, j]`` is the position of cell ``(i, j)`` in the input table (first
    appearance). Curves are fitted to their points in that order, as SynergyFinder does:
    drc's optimiser path, and so its end point on flat least-squares surfaces, depends on
    the order in which the residuals are summed.
    """

    conc1: Array
    conc2: Array
    inhibition: Array
    order: NDArray[np.int64] | None = None

    def ranks(self) -> NDArray[np.int64]:
        """The cell order (row-major when none was given)."""
        if self.order is not None:
            return self.order
        return np.arange(self.inhibition.size, dtype=np.int64).reshape(self.inhibition.shape)

    def curve(self, *, row: int | None = None, col: int | None = None) -> tuple[Array, Array]:
        """Doses and responses of one row (drug 2 varying) or column, in input order."""
        if row is not None:
            dose, resp, rank = self.conc2, self.inhibition[row, :], self.ranks()[row, :]
        else:
            dose, resp, rank = self.conc1, self.inhibition[:, col], self.ranks()[:, col]
        idx = np.argsort(rank, kind="stable")
        return np.asarray(dose, float)[idx], np.asarray(resp, float)[idx]


@dataclass
class BlockResult:
    """References, synergies and fits of one block (matrices shaped like the grid)."""

    reference: dict[str, Array] = field(default_factory=dict)
    synergy: dict[str, Array] = field(default_factory=dict)
    zip_fit: Array | None = None
    fit1: DrcFit | None = None
    fit2: DrcFit | None = None
    notes: list[str] = field(default_factory=list)


def _mono_mask(shape: tuple[int, int]) -> NDArray[np.bool_]:
    mask = np.zeros(shape, dtype=bool)
    mask[0, :] = True
    mask[:, 0] = True
    return mask


def _finish(obs: Array, ref: Array, fitted: Array | None = None) -> tuple[Array, Array]:
    mono = _mono_mask(obs.shape)
    ref = np.where(mono, obs, ref)
    base = obs if fitted is None else np.where(mono, obs, fitted)
    syn = np.where(mono, 0.0, base - ref)
    return ref, syn


def hsa(block: Block) -> tuple[Array, Array]:
    """Highest-single-agent reference and synergy matrices."""
    m = block.inhibition
    ref = np.maximum(m[:, :1], m[:1, :])
    return _finish(m, ref)


def bliss(block: Block) -> tuple[Array, Array]:
    """Bliss-independence reference and synergy matrices (observed monotherapies)."""
    m = block.inhibition
    y1 = m[:, :1]
    y2 = m[:1, :]
    return _finish(m, y1 + y2 - y1 * y2 / 100.0)


# ------------------------------------------------------------------------------- Loewe
def _loewe_distance(doses: Sequence[float], fits: Sequence[DrcFit], y: float) -> float:
    total = 0.0
    for dose, f in zip(doses, fits, strict=True):
        big_d = _drc.solve_dose(f, y)
        if big_d == 0.0:
            total += math.inf if dose > 0 else 0.0
        elif math.isfinite(big_d):
            total += dose / big_d
    return total - 1.0


def loewe_reference(d1: float, d2: float, observed: float, fit1: DrcFit, fit2: DrcFit, *,
                    method: str = "grid") -> float:
    """Loewe-additive effect of one dose pair (SynergyFinder's rules, see module doc)."""
    fits = (fit1, fit2)
    doses = (d1, d2)
    caps = [_drc.solve_dose(f, observed) for f in fits]
    if not any(math.isfinite(c) for c in caps):
        return max(_drc.predict(f, d1 + d2) for f in fits)
    lo = min(min(f.c, f.d) for f in fits)
    hi = max(max(f.c, f.d) for f in fits)
    grid = np.linspace(lo, hi, _LOEWE_STEPS)
    dist = np.array([abs(_loewe_distance(doses, fits, float(y))) for y in grid])
    dist[~np.isfinite(dist)] = np.inf
    k = int(np.argmin(dist))
    if method == "grid" or not np.isfinite(dist[k]):
        return float(grid[k])
    # exact: refine inside a neighbouring interval where the residual changes sign
    for a, b in ((k - 1, k), (k, k + 1)):
        if a < 0 or b >= grid.size:
            continue
        fa = _loewe_distance(doses, fits, float(grid[a]))
        fb = _loewe_distance(doses, fits, float(grid[b]))
        if np.isfinite(fa) and np.isfinite(fb) and fa * fb <= 0:
            return float(brentq(lambda y: _loewe_distance(doses, fits, y), grid[a], grid[b],
                                xtol=1e-12, rtol=1e-14))
    return float(grid[k])


def loewe(block: Block, fit1: DrcFit | None, fit2: DrcFit | None, *,
          method: str = "grid") -> tuple[Array, Array]:
    """Loewe-additivity reference and synergy matrices."""
    m = block.inhibition
    ref = np.full(m.shape, np.nan)
    if fit1 is not None and fit2 is not None:
        for i in range(1, m.shape[0]):
            for j in range(1, m.shape[1]):
                ref[i, j] = loewe_reference(float(block.conc1[i]), float(block.conc2[j]),
                                            float(m[i, j]), fit1, fit2, method=method)
    return _finish(m, ref)


# --------------------------------------------------------------------------------- ZIP
def zip_delta(block: Block, fit1: DrcFit | None, fit2: DrcFit | None,
              col_fits: Sequence[DrcFit | None], row_fits: Sequence[DrcFit | None]
              ) -> tuple[Array, Array, Array]:
    """ZIP reference, delta and fitted surface from the single and slice fits.

    ``col_fits[j - 1]`` is the fit of column ``j`` (drug 1 varying at ``conc2[j]``),
    ``row_fits[i - 1]`` the fit of row ``i``. A failed slice fit keeps the observed values.
    """
    m = block.inhibition
    c1, c2 = block.conc1, block.conc2
    y1 = m[:, 0].copy() if fit1 is None else np.array([_drc.predict(fit1, x) for x in c1])
    y2 = m[0, :].copy() if fit2 is None else np.array([_drc.predict(fit2, x) for x in c2])
    ref = y1[:, None] + y2[None, :] - np.outer(y1, y2) / 100.0
    along1 = np.array(m, dtype=float)
    along2 = np.array(m, dtype=float)
    for j in range(1, m.shape[1]):
        f = col_fits[j - 1]
        if f is not None:
            along1[1:, j] = [_drc.predict(f, x) for x in c1[1:]]
    for i in range(1, m.shape[0]):
        f = row_fits[i - 1]
        if f is not None:
            along2[i, 1:] = [_drc.predict(f, x) for x in c2[1:]]
    fitted = (along1 + along2) / 2.0
    ref, syn = _finish(m, ref, fitted)
    fitted = np.where(_mono_mask(m.shape), m, fitted)
    return ref, syn, fitted


# ------------------------------------------------------------------------------ fitting
@dataclass(frozen=True)
class _Request:
    dose: Array
    response: Array
    c: float | None


def _fit_synergyfinder(requests: Sequence[_Request]) -> list[DrcFit | None]:
    return [_drc.fit_dose_response(r.dose, r.response, emin=r.c) for r in requests]


def _fit_preclin(requests: Sequence[_Request]) -> list[DrcFit | None]:
    """Least-squares LL.4 fits with :func:`preclin.doseresponse.fit`, batched."""
    from ..doseresponse import fit as dr_fit

    out: list[DrcFit | None] = [None] * len(requests)
    for fixed_c in (False, True):
        idx = [k for k, r in enumerate(requests) if (r.c is not None) == fixed_c]
        if not idx:
            continue
        frames = []
        for k in idx:
            r = requests[k]
            shift = r.c if r.c is not None else 0.0
            frames.append(pd.DataFrame({"curve": k, "dose": r.dose,
                                        "response": r.response - shift}))
        data = pd.concat(frames, ignore_index=True)
        res = dr_fit(data, dose="dose", response="response", by="curve", model="ll4",
                     ed=None, fixed={"bottom": 0.0} if fixed_c else None)
        for row in res.table[["curve", "hill", "bottom", "top", "ec50", "rss",
                              "iterations"]].to_dict("records"):
            k = int(row["curve"])
            hill, bottom, top, ec50 = (float(row[c]) for c in ("hill", "bottom", "top", "ec50"))
            if not all(np.isfinite(v) for v in (hill, bottom, top, ec50)):
                continue
            shift = float(requests[k].c or 0.0) if fixed_c else 0.0
            out[k] = DrcFit("LL.4", hill, bottom + shift, top + shift, ec50,
                            float(row["rss"]), int(row["iterations"]))
    return out


def _run(requests: Sequence[_Request], fitter: str) -> list[DrcFit | None]:
    if fitter == "synergyfinder":
        return _fit_synergyfinder(requests)
    if fitter == "preclin":
        return _fit_preclin(requests)
    raise ValueError(f"unknown fitter {fitter!r}; choose from {', '.join(FITTERS)}")


def score_blocks(blocks: Sequence[Block], models: Sequence[str] = MODELS, *,
                 fitter: str = "synergyfinder", loewe_method: str = "grid"
                 ) -> list[BlockResult]:
    """All requested models on every block (fits batched over blocks).

    Parameters
    ----------
    blocks
        Full-grid blocks of mean % inhibition.
    models
        Any of ``"bliss", "hsa", "loewe", "zip"``.
    fitter
        ``"synergyfinder"`` (drc-compatible, reproduces SynergyFinder 3) or ``"preclin"``.
    loewe_method
        ``"grid"`` (SynergyFinder's 100 effect levels) or ``"exact"``.
    """
    results = [BlockResult() for _ in blocks]
    need_single = "loewe" in models or "zip" in models
    singles: list[DrcFit | None] = []
    if need_single:
        reqs = []
        for b in blocks:
            reqs.append(_Request(*b.curve(col=0), None))
            reqs.append(_Request(*b.curve(row=0), None))
        singles = _run(reqs, fitter)
    slices: list[DrcFit | None] = []
    offsets: list[int] = []
    if "zip" in models:
        reqs = []
        for b in blocks:
            offsets.append(len(reqs))
            m = b.inhibition
            for j in range(1, m.shape[1]):
                reqs.append(_Request(*b.curve(col=j), float(m[0, j])))
            for i in range(1, m.shape[0]):
                reqs.append(_Request(*b.curve(row=i), float(m[i, 0])))
        slices = _run(reqs, fitter)
    for k, (b, res) in enumerate(zip(blocks, results, strict=True)):
        if need_single:
            res.fit1, res.fit2 = singles[2 * k], singles[2 * k + 1]
            for name, f in (("drug1", res.fit1), ("drug2", res.fit2)):
                if f is None:
                    res.notes.append(f"the {name} monotherapy curve could not be fitted")
        for name in models:
            if name == "hsa":
                res.reference[name], res.synergy[name] = hsa(b)
            elif name == "bliss":
                res.reference[name], res.synergy[name] = bliss(b)
            elif name == "loewe":
                res.reference[name], res.synergy[name] = loewe(b, res.fit1, res.fit2,
                                                               method=loewe_method)
            elif name == "zip":
                n1, n2 = b.inhibition.shape
                o = offsets[k]
                cols = slices[o:o + n2 - 1]
                rows = slices[o + n2 - 1:o + n2 - 1 + n1 - 1]
                failed = sum(f is None for f in list(cols) + list(rows))
                if failed:
                    res.notes.append(f"{failed} ZIP slice fit(s) failed; observed values used")
                ref, syn, fitted = zip_delta(b, res.fit1, res.fit2, cols, rows)
                res.reference[name], res.synergy[name], res.zip_fit = ref, syn, fitted
            else:
                raise ValueError(f"unknown model {name!r}; choose from {', '.join(MODELS)}")
    return results
