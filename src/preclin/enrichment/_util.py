"""Small helpers shared by the enrichment modules."""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike, NDArray

__all__ = ["bh_adjust"]


def bh_adjust(p: ArrayLike) -> NDArray[np.float64]:
    """Benjamini–Hochberg adjusted p values (R ``p.adjust(p, "BH")``); NaN stays NaN
    (:func:`preclin.stats.adjust_p` with ``"bh"``)."""
    from ..stats.multiple import adjust_p

    return np.asarray(adjust_p(np.asarray(p, dtype=float), "bh"), dtype=np.float64)
