"""Reports: a self-contained HTML page and a Prism-like figure style.

>>> from preclin.report import Report, prism_style, save_figure
"""

from __future__ import annotations

from .html import Report, sanitise_svg
from .style import MARKERS, PALETTE, PRISM_RC, prism_style, render_figure, save_figure

__all__ = [
    "Report",
    "prism_style",
    "save_figure",
    "render_figure",
    "sanitise_svg",
    "PALETTE",
    "MARKERS",
    "PRISM_RC",
]
