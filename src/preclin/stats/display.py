"""P values for display and significance stars, as GraphPad Prism reports them.

Both are decided on the full-precision p value: ``p = 0.05000001`` shows as ``0.0500`` but
gets ``ns``, while ``p = 0.05`` exactly gets ``*``.
"""

from __future__ import annotations

import math

__all__ = ["format_p", "stars", "STAR_LEVELS"]

#: (upper bound, label), tested in order with ``p <= bound`` (Prism's default "GP" style)
STAR_LEVELS: tuple[tuple[float, str], ...] = (
    (1e-4, "****"),
    (1e-3, "***"),
    (1e-2, "**"),
    (5e-2, "*"),
)


def _finite(p: object) -> float | None:
    try:
        v = float(p)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return None
    return v if math.isfinite(v) else None


def stars(p: float) -> str:
    """Stars: ``ns``, ``*`` p ≤ 0.05, ``**`` ≤ 0.01, ``***`` ≤ 0.001, ``****`` ≤ 0.0001.

    Missing or non-finite p values give ``""``.
    """
    v = _finite(p)
    if v is None:
        return ""
    for bound, label in STAR_LEVELS:
        if v <= bound:
            return label
    return "ns"


def format_p(p: float, digits: int = 4) -> str:
    """P value as text in Prism's default style: ``<0.0001``, ``0.0123``, ``>0.9999``.

    ``digits`` decimals are shown (Prism: 4); values below ``10**-digits`` show as
    ``<0.0001`` and values that would round to 1 as ``>0.9999``.  Missing values give ``""``.
    """
    v = _finite(p)
    if v is None:
        return ""
    floor = 10.0 ** -digits
    if v < floor:
        return f"<{floor:.{digits}f}"
    if v > 1.0 - floor:  # includes p = 1 (adjusted p values are capped at 1)
        return f">{1.0 - floor:.{digits}f}"
    return f"{v:.{digits}f}"
