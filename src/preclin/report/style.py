"""A Prism-like figure style and deterministic figure export.

Figures in preclin are built with :class:`matplotlib.figure.Figure` (never pyplot), inside
``with prism_style():`` so that axes, ticks and text pick the style up when they are
created. The SVG settings (``svg.fonttype = "none"`` for editable text, a fixed
``svg.hashsalt``) are read when a figure is *saved*, so :func:`save_figure` and
:func:`render_figure` apply them again at save time: use them rather than
``fig.savefig`` to get editable, byte-reproducible files.
"""

from __future__ import annotations

import contextlib
import io
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any, cast

import matplotlib as mpl
from cycler import cycler

__all__ = [
    "PALETTE",
    "MARKERS",
    "WARN_COLOR",
    "PRISM_RC",
    "prism_style",
    "save_figure",
    "render_figure",
    "SVG_METADATA",
    "PNG_METADATA",
]

#: Colour cycle for up to 12 groups. The first seven are the Okabe-Ito colour-blind safe
#: set (its yellow left out: it vanishes on white); the last five come from Paul Tol's
#: "muted" scheme. Beyond about eight groups no palette stays distinguishable for every
#: reader, so plotting functions also vary the marker (:data:`MARKERS`).
PALETTE: tuple[str, ...] = (
    "#000000",  # black
    "#0072B2",  # blue
    "#D55E00",  # vermillion
    "#009E73",  # bluish green
    "#CC79A7",  # reddish purple
    "#E69F00",  # orange
    "#56B4E9",  # sky blue
    "#882255",  # wine
    "#999933",  # olive
    "#332288",  # indigo
    "#44AA99",  # teal
    "#777777",  # grey
)

#: Marker cycle used alongside :data:`PALETTE` (Prism gives each data set its own symbol).
MARKERS: tuple[str, ...] = ("o", "s", "^", "D", "v", "P", "X", "<", ">", "h", "p", "*")

#: Colour used for warnings (status text of failed fits, highlighted table rows).
WARN_COLOR = "#B22222"

#: Fixed salt so that SVG clip-path ids are the same on every run.
SVG_HASHSALT = "preclin"

#: Metadata that make saved files reproducible (no date, no software version).
SVG_METADATA: dict[str, Any] = {"Date": None, "Creator": None}
PNG_METADATA: dict[str, Any] = {"Software": None}

_SANS = ["Arial", "Helvetica", "Liberation Sans", "DejaVu Sans"]

#: The rc parameters of :func:`prism_style`.
PRISM_RC: dict[str, Any] = {
    # canvas
    "figure.facecolor": "white",
    "figure.edgecolor": "white",
    "figure.dpi": 100,
    "axes.facecolor": "white",
    "savefig.facecolor": "white",
    "savefig.edgecolor": "white",
    "savefig.dpi": 150,
    # axes: thick, open (no top/right spines), no grid
    "axes.linewidth": 1.5,
    "axes.edgecolor": "black",
    "axes.spines.top": False,
    "axes.spines.right": False,
    "axes.grid": False,
    "axes.titlesize": 11,
    "axes.titleweight": "bold",
    "axes.titlepad": 8.0,
    "axes.labelsize": 11,
    "axes.labelweight": "bold",
    "axes.labelcolor": "black",
    "axes.prop_cycle": cycler(color=list(PALETTE)),
    "axes.axisbelow": True,
    # ticks: outward, thick
    "xtick.direction": "out",
    "ytick.direction": "out",
    "xtick.major.size": 5.0,
    "ytick.major.size": 5.0,
    "xtick.minor.size": 2.5,
    "ytick.minor.size": 2.5,
    "xtick.major.width": 1.5,
    "ytick.major.width": 1.5,
    "xtick.minor.width": 1.0,
    "ytick.minor.width": 1.0,
    "xtick.labelsize": 10,
    "ytick.labelsize": 10,
    "xtick.color": "black",
    "ytick.color": "black",
    # fonts: sans, editable text in vector output
    "font.family": "sans-serif",
    "font.sans-serif": _SANS,
    "font.size": 10,
    "mathtext.default": "regular",
    "svg.fonttype": "none",
    "svg.hashsalt": SVG_HASHSALT,
    "pdf.fonttype": 42,
    "ps.fonttype": 42,
    # data
    "lines.linewidth": 1.5,
    "lines.markersize": 5.0,
    "lines.markeredgewidth": 1.0,
    "errorbar.capsize": 3.0,
    "scatter.edgecolors": "face",
    # legend
    "legend.frameon": False,
    "legend.fontsize": 9,
    "legend.handlelength": 2.0,
}

# settings that only matter when saving; re-applied by save_figure / render_figure
_SAVE_RC: dict[str, Any] = {
    "svg.fonttype": "none",
    "svg.hashsalt": SVG_HASHSALT,
    "pdf.fonttype": 42,
    "ps.fonttype": 42,
}


def prism_style(**overrides: Any) -> contextlib.AbstractContextManager[None]:
    """Context manager applying the Prism-like style (:data:`PRISM_RC`).

    Create the figure *and* its axes inside the block: matplotlib reads most style
    settings when artists are created.

    Parameters
    ----------
    **overrides
        rc parameters to change on top of the style; their names contain dots, so
        pass them as ``prism_style(**{"font.size": 12})``.

    Returns
    -------
    contextlib.AbstractContextManager
        A ``matplotlib.rc_context`` restoring the previous settings on exit.

    Examples
    --------
    >>> from matplotlib.figure import Figure
    >>> with prism_style():
    ...     fig = Figure()
    ...     ax = fig.add_subplot()
    """
    rc = dict(PRISM_RC)
    rc.update(overrides)
    return mpl.rc_context(rc=cast(Any, rc))


@contextlib.contextmanager
def _save_rc() -> Iterator[None]:
    with mpl.rc_context(rc=cast(Any, _SAVE_RC)):
        yield


def render_figure(fig: Any, fmt: str = "svg", *, dpi: float = 150) -> bytes:
    """Render a figure to bytes, reproducibly (no dates, fixed ids, editable text).

    Parameters
    ----------
    fig
        A :class:`matplotlib.figure.Figure` (or anything with a compatible ``savefig``).
    fmt
        ``"svg"`` or ``"png"`` (``"pdf"`` works too but is not guaranteed byte-stable).
    dpi
        Resolution of raster output.

    Returns
    -------
    bytes
        The encoded image.
    """
    fmt = fmt.lower()
    if fmt == "svg":
        metadata: dict[str, Any] | None = dict(SVG_METADATA)
    elif fmt == "png":
        metadata = dict(PNG_METADATA)
    elif fmt == "pdf":
        metadata = {"CreationDate": None, "ModDate": None, "Producer": None, "Creator": None}
    else:
        raise ValueError(f"unsupported figure format {fmt!r}; use 'svg' or 'png'")
    buf = io.BytesIO()
    with _save_rc():
        fig.savefig(buf, format=fmt, dpi=dpi, metadata=metadata)
    return buf.getvalue()


def save_figure(
    fig: Any,
    path_stem: str | Path,
    *,
    formats: Sequence[str] = ("svg", "png"),
    dpi: float = 150,
) -> list[Path]:
    """Write ``<stem>.svg`` and ``<stem>.png``, byte-identical for the same figure.

    Parameters
    ----------
    fig
        The figure.
    path_stem
        Path without extension (``results/figures/curves``); the extension is appended,
        so a stem such as ``plate.v2`` is kept whole. Parent folders are created.
    formats
        Which files to write, in order.
    dpi
        Resolution of the PNG.

    Returns
    -------
    list of Path
        The files written, in the order of ``formats``.
    """
    stem = Path(path_stem)
    stem.parent.mkdir(parents=True, exist_ok=True)
    written: list[Path] = []
    # the layout engine (constrained layout: most of the time spent saving) runs for the
    # first format only; the later ones reuse the positions it found
    engine = fig.get_layout_engine() if hasattr(fig, "get_layout_engine") else None
    try:
        for i, fmt in enumerate(formats):
            path = stem.with_name(f"{stem.name}.{fmt.lower()}")
            path.write_bytes(render_figure(fig, fmt, dpi=dpi))
            written.append(path)
            if i == 0 and engine is not None:
                fig.set_layout_engine("none")
    finally:
        if engine is not None:
            fig.set_layout_engine(engine)
    return written
