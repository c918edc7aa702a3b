"""Seeded simulation of flow-cytometry model data: CFSE division tracking and DNA content.

Each simulator draws from one :func:`numpy.random.default_rng` seeded by the caller and
returns the events together with the truth they were drawn from, *as realised* (the
number of events of each generation or phase actually drawn), so that a test can compare a
fit with what is in the sample rather than with the expected proportions.

* :func:`simulate_cfse` — a division-tracking dye: generation ``i`` has log10 intensity
  ``M - i * log10(fold)`` plus Gaussian noise, with optional dim debris.
* :func:`simulate_dna` — a DNA-content (PI/DAPI) histogram: G1 at ``g1_mean``, G2/M at
  ``ratio * g1_mean``, S uniform (or sloped) in between, all with the same CV; optional
  debris (exponential or sliced nuclei) and doublets (two random cells in one event), with
  pulse area, height and width.
* :func:`simulate_brdu` — BrdU/DNA pairs: S-phase cells BrdU positive.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import numpy as np
import pandas as pd

__all__ = [
    "CFSESimulation",
    "DNASimulation",
    "simulate_cfse",
    "simulate_dna",
    "simulate_brdu",
    "AML_PANEL",
    "simulate_aml_fcs",
]

#: Label of debris events in :attr:`CFSESimulation.generation` and :attr:`DNASimulation.phase`.
DEBRIS = -1
#: Label of doublets in :attr:`DNASimulation.phase`.
DOUBLET = 3
_PHASES = ("g1", "s", "g2m")


@dataclass(frozen=True)
class CFSESimulation:
    """Simulated division-tracking-dye events and their truth.

    Attributes
    ----------
    values
        Linear fluorescence of every event (cells and debris), float64.
    generation
        Generation of each event (0 = undivided), ``-1`` for debris.
    truth
        One row per generation: ``generation, count, fraction_of_events,
        fraction_of_precursors`` of the cells actually drawn (debris left out).
    undivided
        Linear intensity of the undivided peak (``10**M``).
    fold
        Intensity ratio between consecutive generations.
    sd_log
        Standard deviation of log10 intensity of generation 0.
    """

    values: np.ndarray
    generation: np.ndarray
    truth: pd.DataFrame
    undivided: float
    fold: float
    sd_log: float


@dataclass(frozen=True)
class DNASimulation:
    """Simulated DNA-content events and their truth.

    Attributes
    ----------
    area, height, width
        Pulse area (the DNA content), height and width of every event.
    phase
        ``0`` G1, ``1`` S, ``2`` G2/M, ``-1`` debris, ``3`` doublet.
    truth
        Realised fractions of single cells: ``{"g1": .., "s": .., "g2m": ..}``.
    g1_mean, ratio, cv
        G1 position, G2/G1 ratio and CV (a fraction) used.
    brdu
        BrdU signal (only from :func:`simulate_brdu`), else ``None``.
    """

    area: np.ndarray
    height: np.ndarray
    width: np.ndarray
    phase: np.ndarray
    truth: dict[str, float]
    g1_mean: float
    ratio: float
    cv: float
    brdu: np.ndarray | None = None


def _normalised(fractions: Sequence[float], what: str) -> np.ndarray:
    p = np.asarray(fractions, dtype=float)
    if p.ndim != 1 or p.size == 0 or np.any(p < 0) or not np.isfinite(p).all() or p.sum() <= 0:
        raise ValueError(f"{what} must be non-negative numbers with a positive sum")
    return p / p.sum()


def simulate_cfse(
    n_events: int = 20_000,
    fractions: Sequence[float] = (0.2, 0.2, 0.25, 0.2, 0.15),
    *,
    seed: int,
    undivided: float = 10**4.5,
    fold: float = 2.0,
    sd_log: float = 0.08,
    width_growth: float = 0.0,
    debris_fraction: float = 0.0,
    debris_scale: float = 0.45,
) -> CFSESimulation:
    """Simulate a CFSE (division-tracking dye) sample with known generation fractions.

    Parameters
    ----------
    n_events
        Number of events, cells plus debris.
    fractions
        Expected fraction of *cells* (events, not precursors) in generation 0, 1, 2, ...
        (normalised to sum to 1).
    seed
        Seed of the random generator.
    undivided
        Linear intensity of the undivided peak.
    fold
        Intensity ratio between consecutive generations (2 = exact halving).
    sd_log
        SD of log10 intensity of generation 0 (0.08 ~ a CV of 19 %).
    width_growth
        Relative growth of the SD per generation: ``sd_i = sd_log * (1 + width_growth)**i``.
    debris_fraction
        Fraction of events that are debris: log10 intensity ``F + Exp(debris_scale)``
        from a floor ``F = M - (G + 4) log10(fold)`` (``G`` the last generation), a
        density falling from the dim end into the lowest generations.
    debris_scale
        Scale (log10 units) of the debris tail.

    Returns
    -------
    CFSESimulation
        Events and realised truth.
    """
    rng = np.random.default_rng(seed)
    p = _normalised(fractions, "fractions")
    n_debris = int(rng.binomial(n_events, debris_fraction)) if debris_fraction > 0 else 0
    n_cells = n_events - n_debris
    gen = rng.choice(p.size, size=n_cells, p=p)
    m = np.log10(undivided)
    d = np.log10(fold)
    sd = sd_log * (1.0 + width_growth) ** gen
    x = m - gen * d + sd * rng.standard_normal(n_cells)
    # debris: exponentially decreasing density above a floor well below the cells
    floor = m - (p.size + 4) * d
    xd = floor + rng.exponential(debris_scale, size=n_debris)
    values = np.concatenate([10.0**x, 10.0**xd])
    labels = np.concatenate([gen, np.full(n_debris, DEBRIS)])
    order = rng.permutation(values.size)
    counts = np.bincount(gen, minlength=p.size).astype(float)
    prec = counts / 2.0 ** np.arange(p.size)
    truth = pd.DataFrame({
        "generation": np.arange(p.size),
        "count": counts.astype(int),
        "fraction_of_events": counts / counts.sum(),
        "fraction_of_precursors": prec / prec.sum(),
    })
    return CFSESimulation(values=values[order], generation=labels[order], truth=truth,
                          undivided=float(undivided), fold=float(fold), sd_log=float(sd_log))


def _cell_contents(rng: np.random.Generator, n: int, p: np.ndarray, g1_mean: float,
                   ratio: float, s_slope: float) -> tuple[np.ndarray, np.ndarray]:
    """True DNA content and phase of ``n`` cells (no measurement noise yet)."""
    phase = rng.choice(3, size=n, p=p)
    content = np.where(phase == 0, 1.0, ratio).astype(float)
    ns = int(np.sum(phase == 1))
    if s_slope == 0.0:
        t = rng.uniform(size=ns)
    else:  # density 1 + s_slope * (1 - 2t) on (0, 1), by rejection
        t = np.empty(0)
        while t.size < ns:
            cand = rng.uniform(size=2 * ns + 16)
            keep = rng.uniform(size=cand.size) * (1 + abs(s_slope)) < 1 + s_slope * (1 - 2 * cand)
            t = np.concatenate([t, cand[keep]])
        t = t[:ns]
    content[phase == 1] = 1.0 + t * (ratio - 1.0)
    return content * g1_mean, phase


def simulate_dna(
    n_events: int = 20_000,
    *,
    g1: float = 0.55,
    s: float = 0.30,
    g2m: float = 0.15,
    seed: int,
    g1_mean: float = 200.0,
    cv: float = 0.04,
    ratio: float = 1.98,
    s_slope: float = 0.0,
    debris_fraction: float = 0.0,
    debris: Literal["exponential", "sliced"] = "exponential",
    doublet_fraction: float = 0.0,
) -> DNASimulation:
    """Simulate a DNA-content histogram (PI/DAPI area) with known phase fractions.

    Parameters
    ----------
    n_events
        Number of events (cells, debris and doublets).
    g1, s, g2m
        Expected fractions of single cells in each phase (normalised).
    seed
        Seed of the random generator.
    g1_mean
        DNA content (area) of G1 cells.
    cv
        Measurement CV, the same for every content (a fraction: 0.04 = 4 %).
    ratio
        G2/G1 content ratio.
    s_slope
        Shape of the S-phase density over the S interval: ``1 + s_slope (1 - 2t)``
        (0 = uniform, > 0 more early-S cells).
    debris_fraction
        Fraction of events that are debris.
    debris
        ``"exponential"``: content ~ Exp(0.3 g1_mean); ``"sliced"``: a random cell cut at a
        uniform point (content ``u * c``).
    doublet_fraction
        Fraction of events that are two random single cells stuck together.

    Returns
    -------
    DNASimulation
        Area (content), height and width of every event and the realised truth.
    """
    rng = np.random.default_rng(seed)
    p = _normalised([g1, s, g2m], "phase fractions")
    n_debris = int(rng.binomial(n_events, debris_fraction)) if debris_fraction > 0 else 0
    n_doublets = int(rng.binomial(n_events - n_debris, doublet_fraction)) \
        if doublet_fraction > 0 else 0
    n_cells = n_events - n_debris - n_doublets
    content, phase = _cell_contents(rng, n_cells, p, g1_mean, ratio, s_slope)
    area = content * (1.0 + cv * rng.standard_normal(n_cells))
    # singlet pulse width grows slightly with DNA content; doublets are 1.5-2x as wide
    width = (1.0 + 0.1 * (content / g1_mean - 1.0)) * (1.0 + 0.03 * rng.standard_normal(n_cells))
    # doublets: two independent cells (contents and noise added)
    c2, _ = _cell_contents(rng, 2 * n_doublets, p, g1_mean, ratio, s_slope)
    a2 = c2 * (1.0 + cv * rng.standard_normal(c2.size))
    dbl_area = a2[:n_doublets] + a2[n_doublets:]
    dbl_width = (1.5 + 0.5 * rng.uniform(size=n_doublets)) * (
        1.0 + 0.03 * rng.standard_normal(n_doublets))
    if debris == "exponential":
        deb_area = rng.exponential(0.3 * g1_mean, size=n_debris)
    elif debris == "sliced":
        cd, _ = _cell_contents(rng, n_debris, p, g1_mean, ratio, s_slope)
        deb_area = rng.uniform(size=n_debris) * cd * (1.0 + cv * rng.standard_normal(n_debris))
    else:
        raise ValueError("debris must be 'exponential' or 'sliced'")
    deb_width = 0.6 + 0.3 * rng.uniform(size=n_debris)
    all_area = np.concatenate([area, dbl_area, deb_area])
    all_width = np.concatenate([width, dbl_width, deb_width]) * 50.0
    all_phase = np.concatenate([phase, np.full(n_doublets, DOUBLET), np.full(n_debris, DEBRIS)])
    height = all_area / all_width * 50.0
    order = rng.permutation(all_area.size)
    counts = np.bincount(phase, minlength=3).astype(float)
    truth = dict(zip(_PHASES, (counts / counts.sum()).tolist(), strict=True))
    return DNASimulation(area=all_area[order], height=height[order], width=all_width[order],
                         phase=all_phase[order], truth=truth, g1_mean=float(g1_mean),
                         ratio=float(ratio), cv=float(cv))


def simulate_brdu(
    n_events: int = 20_000,
    *,
    g1: float = 0.45,
    s: float = 0.40,
    g2m: float = 0.15,
    seed: int,
    g1_mean: float = 200.0,
    cv: float = 0.05,
    brdu_negative: float = 200.0,
    brdu_positive: float = 8000.0,
    brdu_sd_log: float = 0.25,
    debris_fraction: float = 0.0,
) -> DNASimulation:
    """Simulate BrdU/DNA pairs: S-phase cells BrdU positive, G1 and G2/M negative.

    Parameters
    ----------
    n_events, g1, s, g2m, seed, g1_mean, cv, debris_fraction
        As in :func:`simulate_dna` (no doublets).
    brdu_negative, brdu_positive
        Median BrdU signal of negative and positive cells (log-normal).
    brdu_sd_log
        SD of log10 BrdU within each population.

    Returns
    -------
    DNASimulation
        With :attr:`~DNASimulation.brdu` filled.
    """
    sim = simulate_dna(n_events, g1=g1, s=s, g2m=g2m, seed=seed, g1_mean=g1_mean, cv=cv,
                       debris_fraction=debris_fraction)
    rng = np.random.default_rng([seed, 1])
    centre = np.where(sim.phase == 1, np.log10(brdu_positive), np.log10(brdu_negative))
    brdu = 10.0 ** (centre + brdu_sd_log * rng.standard_normal(sim.area.size))
    return DNASimulation(area=sim.area, height=sim.height, width=sim.width, phase=sim.phase,
                         truth=sim.truth, g1_mean=sim.g1_mean, ratio=sim.ratio, cv=sim.cv,
                         brdu=brdu)


# ------------------------------------------------------------ FCS files for bench readouts
#: Channels of :func:`simulate_aml_fcs` files: ($PnN, $PnS).
AML_PANEL = (("FSC-A", ""), ("SSC-A", ""), ("FITC-A", "Annexin V"), ("PerCP-A", "7-AAD"),
             ("PE-A", "CD184"), ("APC-A", "CD33"), ("APC-Cy7-A", "CD45"))


def simulate_aml_fcs(path: str | os.PathLike[str], *, seed: int, n_events: int = 4000,
                     apoptotic: float = 0.1, late_fraction: float = 0.4,
                     necrotic: float = 0.02, cxcr4: float = 2000.0,
                     blasts: float = 0.8) -> Path:
    """Write one simulated AML sample as an FCS 3.1 file (seeded) and return its path.

    Events: debris (5 %, low FSC/SSC), CD45+CD33+ blasts (fraction ``blasts`` of cells)
    and CD45+CD33− other cells. Blasts carry CXCR4 (CD184, PE) log-normal around
    ``cxcr4`` (CV ~ 50 %); of all cells, a fraction ``apoptotic`` is annexin-V+ (of which
    ``late_fraction`` also 7-AAD+) and ``necrotic`` is annexin-V−7-AAD+. Positive
    populations sit around 10⁴, negatives around 10² (annexin/7-AAD cut 10³).
    """
    from ..flow.io import write_fcs

    rng = np.random.default_rng(seed)
    n_debris = int(round(0.05 * n_events))
    n_cells = n_events - n_debris
    fsc = np.concatenate([rng.normal(90_000, 15_000, n_cells),
                          rng.uniform(2_000, 20_000, n_debris)])
    ssc = np.concatenate([rng.normal(60_000, 12_000, n_cells),
                          rng.uniform(1_000, 15_000, n_debris)])
    state = rng.choice(4, size=n_cells, p=_normalised(
        [1 - apoptotic - necrotic, apoptotic * (1 - late_fraction),
         apoptotic * late_fraction, necrotic], "apoptosis states"))
    ann_pos = (state == 1) | (state == 2)
    aad_pos = (state == 2) | (state == 3)

    def level(pos: np.ndarray) -> np.ndarray:
        return np.where(pos, rng.lognormal(np.log(1e4), 0.35, pos.size),
                        rng.lognormal(np.log(1e2), 0.6, pos.size))

    blast = rng.random(n_cells) < blasts
    cells = np.column_stack([
        level(ann_pos), level(aad_pos),
        np.where(blast, rng.lognormal(np.log(cxcr4), 0.47, n_cells),
                 rng.lognormal(np.log(150), 0.5, n_cells)),
        level(blast), level(np.ones(n_cells, dtype=bool))])
    debris = rng.lognormal(np.log(50), 0.8, size=(n_debris, 5))
    fl = np.vstack([cells, debris])
    events = np.column_stack([fsc, ssc, fl]).astype(np.float32)
    events = events[rng.permutation(n_events)]
    out = Path(path)
    write_fcs(out, events, [c for c, _ in AML_PANEL], markers=[m for _, m in AML_PANEL],
              metadata={"FIL": out.name})
    return out
