"""Chou–Talalay combination index (median-effect method).

Median-effect equation (Chou & Talalay 1984, *Adv Enzyme Regul* 22:27; Chou 2006,
*Pharmacol Rev* 58:621): for a drug (or a fixed-ratio mixture) at dose ``D`` giving the
affected fraction ``fa`` (``fu = 1 − fa``),

    log(fa/fu) = m·log(D) − m·log(Dm),

fitted by least squares on the points with ``0 < fa < 1`` and ``D > 0`` (``m`` = slope,
``Dm`` = median-effect dose, ``r`` = linear correlation of the median-effect plot). The
dose giving ``fa`` is ``Dx = Dm·(fa/(1 − fa))^(1/m)``.

Combination index for two mutually exclusive drugs: ``CI = d1/Dx1 + d2/Dx2``, where
``(d1, d2)`` produce ``fa`` together and ``Dx1, Dx2`` produce ``fa`` alone. Two flavours:

* **per cell**: ``fa`` = the observed combination effect of each dose pair;
* **fixed ratio**: every ray of constant ``d1 : d2`` with at least ``min_points`` cells is
  fitted by the median-effect equation in the total dose; at ``fa`` = 0.5, 0.75, 0.9 the
  total dose ``Dx,mix`` is split as ``d1 = Dx,mix·p1``, ``d2 = Dx,mix·p2`` (``p1 = d1/(d1 +
  d2)``) and ``CI = d1/Dx1 + d2/Dx2``.

**Sign convention (opposite to the delta scores):** ``CI < 1`` synergy, ``= 1`` additive,
``> 1`` antagonism (Bliss, HSA, Loewe and ZIP scores are > 0 for synergy). The dose
reduction index ``DRI_i = Dx_i/d_i`` is reported as well. ``fa`` is the % inhibition / 100.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from ..errors import InputError
from .io import CombinationData, read_combinations
from .models import Block

__all__ = ["MedianEffect", "median_effect_fit", "dose_for_effect", "effect_at_dose",
           "combination_index", "chou_talalay", "ChouTalalayResult", "FA_LEVELS"]

FA_LEVELS: tuple[float, ...] = (0.5, 0.75, 0.9)


@dataclass(frozen=True)
class MedianEffect:
    """A median-effect fit: slope ``m``, median-effect dose ``dm``, correlation ``r``."""

    m: float
    dm: float
    r: float
    n: int

    def dose(self, fa: float | np.ndarray) -> np.ndarray:
        """Dose giving the affected fraction ``fa``."""
        return dose_for_effect(fa, self.m, self.dm)

    def effect(self, dose: float | np.ndarray) -> np.ndarray:
        """Affected fraction at ``dose``."""
        return effect_at_dose(dose, self.m, self.dm)


def median_effect_fit(dose: Sequence[float] | np.ndarray, fa: Sequence[float] | np.ndarray
                      ) -> MedianEffect:
    """Fit ``log(fa/(1 − fa)) = m·log(D) − m·log(Dm)`` (points with 0 < fa < 1, D > 0)."""
    d = np.asarray(dose, dtype=float)
    f = np.asarray(fa, dtype=float)
    ok = np.isfinite(d) & np.isfinite(f) & (d > 0) & (f > 0) & (f < 1)
    n = int(ok.sum())
    if n < 2 or np.unique(d[ok]).size < 2:
        return MedianEffect(math.nan, math.nan, math.nan, n)
    x = np.log(d[ok])
    y = np.log(f[ok] / (1 - f[ok]))
    m, b = np.polyfit(x, y, 1)
    r = float(np.corrcoef(x, y)[0, 1]) if n > 2 else math.copysign(1.0, m)
    dm = float(np.exp(-b / m)) if m != 0 else math.nan
    return MedianEffect(float(m), dm, r, n)


def dose_for_effect(fa: float | np.ndarray, m: float, dm: float) -> np.ndarray:
    """``Dx = Dm·(fa/(1 − fa))^(1/m)`` (NaN outside 0 < fa < 1)."""
    f = np.asarray(fa, dtype=float)
    with np.errstate(all="ignore"):
        out = dm * (f / (1 - f)) ** (1.0 / m)
    return np.where((f > 0) & (f < 1), out, np.nan)


def effect_at_dose(dose: float | np.ndarray, m: float, dm: float) -> np.ndarray:
    """``fa = 1/(1 + (Dm/D)^m)``."""
    d = np.asarray(dose, dtype=float)
    with np.errstate(all="ignore"):
        return np.where(d > 0, 1.0 / (1.0 + (dm / d) ** m), 0.0)


def combination_index(d1: float | np.ndarray, d2: float | np.ndarray,
                      fa: float | np.ndarray, fit1: MedianEffect, fit2: MedianEffect
                      ) -> np.ndarray:
    """``CI = d1/Dx1(fa) + d2/Dx2(fa)`` (< 1 synergy)."""
    return (np.asarray(d1, float) / fit1.dose(fa)) + (np.asarray(d2, float) / fit2.dose(fa))


@dataclass(frozen=True)
class ChouTalalayResult:
    """Result of :func:`chou_talalay`.

    Attributes
    ----------
    single
        Median-effect fits per block and drug: ``block, drug, m, dm, r, n``.
    cells
        Per combination cell: ``block, conc1, conc2, fa, dx1, dx2, ci, dri1, dri2``.
    ratios
        Per block and fixed-ratio ray: ``block, ratio`` (conc1/conc2), ``m, dm, r, n`` of
        the mixture, and ``ci_50, ci_75, ci_90`` (and ``dri1_*``, ``dri2_*``).
    """

    single: pd.DataFrame
    cells: pd.DataFrame
    ratios: pd.DataFrame


def _ratio_groups(c1: np.ndarray, c2: np.ndarray, rtol: float) -> list[np.ndarray]:
    r = np.log(c1 / c2)
    order = np.argsort(r, kind="stable")
    groups: list[list[int]] = []
    for k in order:
        if groups and abs(r[k] - r[groups[-1][0]]) <= rtol:
            groups[-1].append(int(k))
        else:
            groups.append([int(k)])
    return [np.array(g) for g in groups]


def chou_talalay(
    data: pd.DataFrame | CombinationData | Block,
    *,
    fa_levels: Sequence[float] = FA_LEVELS,
    min_points: int = 3,
    ratio_rtol: float = 0.01,
    response_kind: str = "viability",
    columns: dict[str, str] | None = None,
) -> ChouTalalayResult:
    """Median-effect fits and combination indices for every block.

    Parameters
    ----------
    data
        A long combination table (see :func:`preclin.synergy.io.validate_combinations`),
        validated data, or one :class:`~preclin.synergy.models.Block`.
    fa_levels
        Affected fractions for the fixed-ratio CIs.
    min_points
        Minimum number of combination cells on a ray of constant ratio to fit it.
    ratio_rtol
        Tolerance (on the log ratio) for grouping cells into one ray.
    response_kind, columns
        As for :func:`preclin.synergy.score`.
    """
    for level in fa_levels:
        if not 0 < level < 1:
            raise InputError(f"fa level {level:g} must lie strictly between 0 and 1")
    if isinstance(data, Block):
        items: list[tuple[object, tuple[str, str], Block]] = [(1, ("drug1", "drug2"), data)]
    else:
        comb = data if isinstance(data, CombinationData) else read_combinations(
            data, columns=columns, response_kind=response_kind)
        items = list(zip(comb.block_ids, comb.drugs, comb.blocks, strict=True))
    single_rows, cell_rows, ratio_rows = [], [], []
    for bid, (n1, n2), blk in items:
        fa = blk.inhibition / 100.0
        f1 = median_effect_fit(blk.conc1[1:], fa[1:, 0])
        f2 = median_effect_fit(blk.conc2[1:], fa[0, 1:])
        for name, fit in ((n1, f1), (n2, f2)):
            single_rows.append({"block": bid, "drug": name, "m": fit.m, "dm": fit.dm,
                                "r": fit.r, "n": fit.n})
        ii, jj = np.meshgrid(np.arange(1, blk.conc1.size), np.arange(1, blk.conc2.size),
                             indexing="ij")
        d1 = blk.conc1[ii].ravel()
        d2 = blk.conc2[jj].ravel()
        fac = fa[ii, jj].ravel()
        dx1 = f1.dose(fac)
        dx2 = f2.dose(fac)
        with np.errstate(all="ignore"):
            ci = d1 / dx1 + d2 / dx2
            cell_rows.append(pd.DataFrame({
                "block": bid, "conc1": d1, "conc2": d2, "fa": fac, "dx1": dx1, "dx2": dx2,
                "ci": ci, "dri1": dx1 / d1, "dri2": dx2 / d2}))
        for grp in _ratio_groups(d1, d2, ratio_rtol):
            if grp.size < min_points:
                continue
            total = d1[grp] + d2[grp]
            p1 = float(np.mean(d1[grp] / total))
            mix = median_effect_fit(total, fac[grp])
            row: dict[str, object] = {"block": bid, "ratio": float(np.exp(np.mean(
                np.log(d1[grp] / d2[grp])))), "m": mix.m, "dm": mix.dm, "r": mix.r,
                "n": mix.n}
            for level in fa_levels:
                tag = f"{round(level * 100):d}"
                dmix = float(mix.dose(level))
                a, b = dmix * p1, dmix * (1 - p1)
                x1, x2 = float(f1.dose(level)), float(f2.dose(level))
                with np.errstate(all="ignore"):
                    row[f"ci_{tag}"] = a / x1 + b / x2
                    row[f"dri1_{tag}"] = x1 / a
                    row[f"dri2_{tag}"] = x2 / b
            ratio_rows.append(row)
    cells = pd.concat(cell_rows, ignore_index=True) if cell_rows else pd.DataFrame()
    return ChouTalalayResult(single=pd.DataFrame(single_rows), cells=cells,
                             ratios=pd.DataFrame(ratio_rows))
