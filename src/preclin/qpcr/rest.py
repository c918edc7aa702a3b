"""REST-style efficiency-corrected expression ratio with its randomisation interval.

The ratio of a target between a treated and a control group, normalised to reference
gene(s) (Pfaffl 2001; REST, Pfaffl et al. 2002)::

    ratio = E_t^(mean Cq_t,control − mean Cq_t,treated) / Π_r E_r^((mean Cq_r,control −
            mean Cq_r,treated)/k)

and the interval of qpcR's ``ratioPar``/``ratiocalc`` "permutation" CI (``propagate``
with the Cq values of one sample tied together): the ``(1 − level)/2`` and
``(1 + level)/2`` quantiles (type 7, linear interpolation) of the **distinct** ratios of
every control sample × treated sample pair, each sample's Cq of all genes kept together.
qpcR reaches it by drawing 10 000 random pairs; with a few samples per group every pair is
drawn, so the exhaustive enumeration here gives its interval exactly. It is a descriptive
range of single-sample ratios, not a confidence interval of the mean ratio.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike

from ..errors import InputError

__all__ = ["RestRatio", "rest_ratio"]


@dataclass(frozen=True)
class RestRatio:
    """Result of :func:`rest_ratio`: ``ratio``, interval ``lower``/``upper`` at
    ``level``, ``n_pairs`` (control × treated samples) and ``n_distinct`` ratios."""

    ratio: float
    lower: float
    upper: float
    level: float
    n_pairs: int
    n_distinct: int


def _cq(x: ArrayLike, what: str) -> np.ndarray:
    a = np.asarray(x, dtype=float)
    if a.ndim == 1:
        a = a[:, None]
    if a.ndim != 2 or a.shape[0] < 1 or not np.isfinite(a).all():
        raise InputError(f"{what}: Cq values must be a finite 1-D (samples) or 2-D "
                         "(samples × reference genes) array")
    return a


def rest_ratio(target_control: ArrayLike, target_treated: ArrayLike,
               reference_control: ArrayLike, reference_treated: ArrayLike, *,
               e_target: float, e_reference: float | Sequence[float],
               level: float = 0.95) -> RestRatio:
    """Efficiency-corrected ratio treated/control and its randomisation interval.

    Parameters
    ----------
    target_control, target_treated
        Cq of the target in each control / treated sample (1-D).
    reference_control, reference_treated
        Cq of the reference gene(s) in the same samples, same order (1-D, or samples × k
        for several reference genes, combined by their geometric mean).
    e_target, e_reference
        Amplification factors (2 = 100 %), one per reference gene.
    level
        Coverage of the interval.
    """
    tc, tt = _cq(target_control, "target_control"), _cq(target_treated, "target_treated")
    rc = _cq(reference_control, "reference_control")
    rt = _cq(reference_treated, "reference_treated")
    if rc.shape[0] != tc.shape[0] or rt.shape[0] != tt.shape[0]:
        raise InputError("the reference Cq must be given for the same samples as the target")
    if rc.shape[1] != rt.shape[1]:
        raise InputError("the same reference genes are needed in both groups")
    er = np.atleast_1d(np.asarray(e_reference, dtype=float))
    if er.size == 1:
        er = np.repeat(er, rc.shape[1])
    if er.size != rc.shape[1]:
        raise InputError(f"{er.size} reference efficiencies for {rc.shape[1]} reference genes")
    if not 0 < level < 1:
        raise InputError(f"level must be between 0 and 1, got {level}")
    bt, br = math.log2(float(e_target)), np.log2(er)
    # log2 ratio = b_t·(Cq_t,c − Cq_t,s) − mean_r b_r·(Cq_r,c − Cq_r,s)
    ctrl = bt * tc[:, 0] - (rc * br).mean(axis=1)      # per control sample
    trt = bt * tt[:, 0] - (rt * br).mean(axis=1)       # per treated sample
    ratio = 2.0 ** (float(ctrl.mean()) - float(trt.mean()))
    pairs = 2.0 ** (ctrl[:, None] - trt[None, :])
    distinct = np.unique(pairs)
    lo, hi = np.quantile(distinct, [(1 - level) / 2, (1 + level) / 2])
    return RestRatio(ratio=ratio, lower=float(lo), upper=float(hi), level=level,
                     n_pairs=int(pairs.size), n_distinct=int(distinct.size))
