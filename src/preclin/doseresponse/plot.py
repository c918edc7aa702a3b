"""Prism-like dose-response figures.

The input is a fit result with ``table`` (one row per curve: grouping columns, ``model``,
``status``, ``hill``/``bottom``/``top``/``ec50``[/``asym``], optional ``ec50_lower_log``
and ``ec50_upper_log`` (else ``ec50_lower``/``ec50_upper``) for the ec50 band), ``points``
(grouping columns, ``dose``, ``response``), ``by`` (the grouping columns) and ``dose_unit``.

Conventions, following GraphPad Prism:

* log-scaled dose axis; dose-0 points are drawn one decade below the lowest positive
  dose, behind an axis break, with a tick labelled ``0``;
* points as mean ± SD per dose (or every replicate);
* the fitted curve drawn from :func:`preclin.doseresponse.models.predict` over the dose
  range of the data, only when all parameters are finite;
* EC50 as a dashed vertical line, its confidence interval as a shaded band (only for
  curves whose ``status`` is ``"ok"``: other EC50s are not reported);
* a curve whose ``status`` is not ``"ok"`` says so in small text in the panel.

Figures are :class:`matplotlib.figure.Figure` objects (no pyplot state). Save them with
:func:`preclin.report.save_figure` to get editable SVG text and reproducible files.
"""

from __future__ import annotations

import math
import re
from collections.abc import Hashable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal, cast

import numpy as np
import pandas as pd
from matplotlib import ticker
from matplotlib.axes import Axes
from matplotlib.collections import PolyCollection
from matplotlib.container import ErrorbarContainer
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.patches import Rectangle
from matplotlib.text import Text

from ..errors import InputError
from ..report.style import MARKERS, PALETTE, WARN_COLOR, prism_style
from .models import PUBLIC_NAMES, Model, get_model, predict

__all__ = ["plot_curve", "plot_curves", "curve_parameters", "CurveArtists"]

Show = Literal["mean_sd", "replicates"]

#: artist labels (leading underscore: never shown in legends) used to find artists again
FIT_LABEL = "_preclin_fit"
POINTS_LABEL = "_preclin_points"
EC50_LABEL = "_preclin_ec50"
STATUS_LABEL = "_preclin_status"
BREAK_LABEL = "_preclin_break"

_N_GRID = 200
_PAD_DEX = 0.25  # padding of the dose axis, in decades


@dataclass
class CurveArtists:
    """What :func:`plot_curve` drew (``None`` for parts that were not drawn)."""

    points: Line2D | None = None
    errorbars: ErrorbarContainer | None = None
    fit: Line2D | None = None
    ec50: Line2D | None = None
    ec50_band: PolyCollection | Rectangle | None = None
    status: Text | None = None


# ----------------------------------------------------------------------------- helpers
def _float(value: Any) -> float:
    try:
        out = float(value)
    except (TypeError, ValueError):
        return math.nan
    return out


def _is_na(value: Any) -> bool:
    try:
        return bool(pd.isna(value))
    except (TypeError, ValueError):
        return False


def _key(values: Sequence[Any]) -> tuple[Hashable, ...]:
    """Group key with every kind of missing value mapped to ``None`` (NaN != NaN)."""
    return tuple(None if _is_na(v) else v for v in values)


def _as_list(cols: str | Sequence[str] | None) -> list[str]:
    if cols is None:
        return []
    if isinstance(cols, str):
        return [cols]
    return [str(c) for c in cols]


_FIXED_NAME = re.compile(r"^\s*([^\[\]]+?)\s*\[(.*)\]\s*$")


def _resolve_model(name: str) -> Model:
    """Model from a fit-table name, including ``"ll4[hill=1]"`` forms with fixed values."""
    match = _FIXED_NAME.match(name)
    if not match:
        return get_model(name)
    fixed: dict[str, float] = {}
    for item in match.group(2).split(","):
        if not item.strip():
            continue
        key, _, value = item.partition("=")
        fixed[key.strip()] = float(value)
    return get_model(match.group(1), fixed=fixed)


def curve_parameters(row: Mapping[str, Any]) -> tuple[Model, dict[str, float]] | None:
    """Model and :func:`predict` keyword arguments of one fit-table row.

    Parameters held fixed by the model (e.g. ``bottom = 0`` for LL.3) are taken from the
    model when the table leaves them empty.

    Parameters
    ----------
    row
        One row of ``fits.table`` (a mapping or :class:`pandas.Series`).

    Returns
    -------
    (Model, dict) or None
        ``None`` when the model is missing or any needed parameter is not finite (or
        ``ec50 <= 0``): there is no curve to draw.
    """
    name = row.get("model")
    if name is None or _is_na(name) or str(name).strip() == "":
        return None
    model = _resolve_model(str(name))
    params: dict[str, float] = {}
    for internal in model.all_params:
        public = PUBLIC_NAMES[internal]
        value = _float(row.get(public))
        if not math.isfinite(value) and internal in model.fixed:
            value = float(model.fixed[internal])
        if not math.isfinite(value):
            return None
        params[public] = value
    if params["ec50"] <= 0:
        return None
    return model, params


def _group_columns(points: pd.DataFrame, row: Mapping[str, Any]) -> list[str]:
    return [c for c in points.columns if c not in ("dose", "response") and c in row]


def _select(points: pd.DataFrame, row: Mapping[str, Any], cols: Sequence[str]) -> pd.DataFrame:
    if not cols:
        return points
    mask = np.ones(len(points), dtype=bool)
    for col in cols:
        target = row.get(col)
        if _is_na(target):
            mask &= points[col].isna().to_numpy()
        else:
            mask &= (points[col] == target).fillna(False).to_numpy(dtype=bool)
    return points.loc[mask]


def _clean_points(points: pd.DataFrame) -> pd.DataFrame:
    missing = [c for c in ("dose", "response") if c not in points.columns]
    if missing:
        raise InputError(f"the points table has no column {', '.join(map(repr, missing))}")
    out = pd.DataFrame(
        {
            "dose": pd.to_numeric(points["dose"], errors="coerce").to_numpy(dtype=float),
            "response": pd.to_numeric(points["response"], errors="coerce").to_numpy(dtype=float),
        }
    )
    keep = np.isfinite(out["dose"].to_numpy()) & np.isfinite(out["response"].to_numpy())
    keep &= out["dose"].to_numpy() >= 0
    return out.loc[keep].reset_index(drop=True)


def _dose_range(doses: np.ndarray) -> tuple[float, float, bool] | None:
    """Lowest and highest positive dose and whether any dose is 0 (None: no positive)."""
    doses = doses[np.isfinite(doses)]
    pos = doses[doses > 0]
    if pos.size == 0:
        return None
    return float(pos.min()), float(pos.max()), bool((doses == 0).any())


def _zero_position(lowest_positive: float) -> float:
    """Where dose 0 is drawn: one decade below the lowest positive dose."""
    return lowest_positive / 10.0


def _format_dose(x: float) -> str:
    text = f"{x:g}"
    return text.replace("e-0", "e-").replace("e+0", "e").replace("e+", "e")


def _format_dose_axis(ax: Axes, lo: float, hi: float, has_zero: bool, dose_unit: str = "") -> None:
    """Log dose axis over ``[lo, hi]`` with an optional broken-off position for dose 0."""
    ax.set_xscale("log")
    # doses beyond ±1e290 (nonsense, but finite) would overflow the padded axis limits
    lo = min(max(lo, 1e-290), 1e290)
    hi = min(max(hi, lo), 1e290)
    zero_at = _zero_position(lo) if has_zero else None
    left = (zero_at if zero_at is not None else lo) / 10**_PAD_DEX
    right = hi * 10**_PAD_DEX
    ax.set_xlim(left, right)
    brk = math.sqrt(zero_at * lo) if zero_at is not None else left

    # major ticks: decades inside the positive part; fall back to 1-2-5 or the doses
    lo_e, hi_e = math.floor(math.log10(brk)) - 1, math.ceil(math.log10(right)) + 1
    majors: list[float] = []
    for subs in ((1.0,), (1.0, 2.0, 5.0)):
        majors = [
            s * 10.0**e
            for e in range(lo_e, hi_e + 1)
            for s in subs
            if brk * 1.0001 < s * 10.0**e <= right
        ]
        if len(majors) >= 2:
            break
    if len(majors) < 2:
        majors = sorted({lo, hi})
    minors = [
        s * 10.0**e
        for e in range(lo_e, hi_e + 1)
        for s in range(2, 10)
        if brk * 1.0001 < s * 10.0**e <= right and s * 10.0**e not in majors
    ]
    ticks = ([zero_at] if zero_at is not None else []) + majors
    labels = (["0"] if zero_at is not None else []) + [_format_dose(t) for t in majors]
    ax.xaxis.set_major_locator(ticker.FixedLocator(ticks))
    ax.xaxis.set_major_formatter(ticker.FixedFormatter(labels))
    ax.xaxis.set_minor_locator(ticker.FixedLocator(minors))
    ax.xaxis.set_minor_formatter(ticker.NullFormatter())
    ax.set_xlabel(f"Dose ({dose_unit})" if dose_unit else "Dose")

    if zero_at is not None:
        # axis break: a white gap in the x spine with two slashes, drawn in axes fraction
        span = math.log10(right) - math.log10(left)
        fx = (math.log10(brk) - math.log10(left)) / span
        width = ax.spines["bottom"].get_linewidth()
        gap, dx, dy = 0.018, 0.012, 0.03
        common: dict[str, Any] = {
            "transform": ax.transAxes,
            "clip_on": False,
            "label": BREAK_LABEL,
        }
        ax.add_line(
            Line2D(
                [fx - gap, fx + gap],
                [0, 0],
                color="white",
                lw=width * 2.5,
                zorder=5,
                solid_capstyle="butt",
                **common,
            )
        )
        for x0 in (fx - gap, fx + gap):
            ax.add_line(
                Line2D(
                    [x0 - dx, x0 + dx], [-dy, dy], color="black", lw=width * 0.8, zorder=6, **common
                )
            )


def _status_text(ax: Axes, text: str, color: str) -> Text:
    k = sum(1 for t in ax.texts if t.get_label() == STATUS_LABEL)
    return ax.text(
        0.98,
        0.98 - 0.08 * k,
        text,
        transform=ax.transAxes,
        ha="right",
        va="top",
        fontsize=8,
        color=color,
        label=STATUS_LABEL,
        clip_on=False,
    )


def _draw_curve(
    ax: Axes,
    pts: pd.DataFrame,
    row: Mapping[str, Any],
    *,
    show: Show,
    color: str,
    marker: str,
    label: str | None,
    zero_at: float | None,
) -> CurveArtists:
    """Draw points, fit and EC50 of one curve (axis formatting is done by the caller)."""
    if show not in ("mean_sd", "replicates"):
        raise ValueError(f"show must be 'mean_sd' or 'replicates', not {show!r}")
    art = CurveArtists()
    dose = pts["dose"].to_numpy(dtype=float)
    pos_lo = float(dose[dose > 0].min()) if (dose > 0).any() else None

    def xpos(d: np.ndarray) -> np.ndarray:
        zero = zero_at if zero_at is not None else (1.0 if pos_lo is None else pos_lo / 10)
        return np.where(d > 0, d, zero)

    if len(pts):
        if show == "mean_sd":
            summ = pts.groupby("dose", sort=True)["response"].agg(["mean", "std", "count"])
            x = xpos(summ.index.to_numpy(dtype=float))
            y = summ["mean"].to_numpy(dtype=float)
            sd = summ["std"].to_numpy(dtype=float)
            if np.isfinite(sd).any():
                art.errorbars = ax.errorbar(
                    x,
                    y,
                    yerr=np.where(np.isfinite(sd), sd, 0.0),
                    fmt="none",
                    ecolor=color,
                    elinewidth=1.0,
                    capthick=1.0,
                    zorder=3,
                    label="_preclin_errorbars",
                )
        else:
            order = np.argsort(dose, kind="stable")
            x = xpos(dose[order])
            y = pts["response"].to_numpy(dtype=float)[order]
        (art.points,) = ax.plot(
            x,
            y,
            linestyle="none",
            marker=marker,
            color=color,
            markerfacecolor=color,
            markeredgecolor=color,
            zorder=4,
            label=POINTS_LABEL,
            alpha=0.8 if show == "replicates" else 1.0,
        )

    status = row.get("status")
    status_ok = status is None or _is_na(status) or str(status).strip().lower() == "ok"
    fitted = curve_parameters(row)
    if fitted is not None and pos_lo is not None:
        model, params = fitted
        hi = float(dose.max())
        lo = pos_lo
        if hi <= lo:
            lo, hi = lo / 10**0.5, hi * 10**0.5
        grid = np.geomspace(lo, hi, _N_GRID)
        yfit = predict(model, grid, **params)
        (art.fit,) = ax.plot(grid, yfit, color=color, zorder=3.5, label=FIT_LABEL)
    if fitted is not None and pos_lo is not None and status_ok:
        # the EC50 of a curve that is not a clean fit is not reported, so not marked
        params = fitted[1]
        ec50 = params["ec50"]
        art.ec50 = ax.axvline(
            ec50,
            color=color,
            linestyle="--",
            linewidth=1.0,
            alpha=0.8,
            zorder=2,
            label=EC50_LABEL,
        )
        # the log-scale CI (always positive) suits the log dose axis
        log = "_log" if "ec50_lower_log" in row else ""
        lower = _float(row.get("ec50_lower" + log))
        upper = _float(row.get("ec50_upper" + log))
        if math.isfinite(lower) and math.isfinite(upper) and 0 < lower < upper:
            art.ec50_band = ax.axvspan(
                lower,
                upper,
                color=color,
                alpha=0.12,
                linewidth=0,
                zorder=1,
                label="_preclin_ec50_ci",
            )

    if not status_ok:
        text = str(status) if not label else f"{label}: {status}"
        art.status = _status_text(ax, text, WARN_COLOR if color == PALETTE[0] else color)
    return art


def _title(row: Mapping[str, Any], cols: Sequence[str]) -> str:
    return " · ".join(str(row.get(c)) for c in cols)


# ------------------------------------------------------------------------------ public
def plot_curve(
    ax: Axes,
    points: pd.DataFrame,
    row: Mapping[str, Any] | pd.Series,
    *,
    show: Show = "mean_sd",
    color: str | None = None,
    label: str | None = None,
    dose_unit: str = "",
    marker: str = "o",
    title: str | None = None,
) -> CurveArtists:
    """Draw one dose-response curve, Prism style, on ``ax``.

    Parameters
    ----------
    ax
        Target axes (it is switched to a log dose axis).
    points
        Points with ``dose`` and ``response``; if it also has grouping columns that appear
        in ``row`` it is filtered to this curve, so the full ``fits.points`` may be given.
    row
        The curve's row of ``fits.table``: ``model``, ``status``, parameters and
        optionally ``ec50_lower_log``/``ec50_upper_log`` (the log-scale CI, drawn as a
        band; else ``ec50_lower``/``ec50_upper``).
    show
        ``"mean_sd"`` (mean ± SD per dose) or ``"replicates"`` (every point).
    color
        Colour of points, curve and EC50 marks (default black).
    label
        Legend label; also prefixes the status text.
    dose_unit
        Unit shown in the x-axis label.
    marker
        Marker of the points.
    title
        Axes title; default: the values of the grouping columns.

    Returns
    -------
    CurveArtists
        The artists drawn.
    """
    row = row if isinstance(row, Mapping) else dict(row)
    cols = _group_columns(points, row)
    pts = _clean_points(_select(points, row, cols))
    rng = _dose_range(pts["dose"].to_numpy())
    zero_at = _zero_position(rng[0]) if rng is not None and rng[2] else None
    art = _draw_curve(
        ax,
        pts,
        row,
        show=show,
        color=color or PALETTE[0],
        marker=marker,
        label=label,
        zero_at=zero_at,
    )
    if rng is not None:
        _format_dose_axis(ax, rng[0], rng[1], rng[2], dose_unit)
    else:
        ax.set_xscale("log")
        ax.set_xlabel(f"Dose ({dose_unit})" if dose_unit else "Dose")
    ax.set_title(title if title is not None else _title(row, cols))
    return art


def plot_curves(
    fits: Any,
    *,
    by: str | Sequence[str] | None = None,
    overlay: str | Sequence[str] | None = None,
    ncols: int = 4,
    show: Show = "mean_sd",
    ylabel: str = "Response",
    sharey: bool = True,
    panel_size: tuple[float, float] = (3.2, 2.8),
) -> Figure:
    """A grid of dose-response panels, optionally with several curves per panel.

    Parameters
    ----------
    fits
        A fit result with ``table``, ``points``, ``by`` and ``dose_unit`` (see the module
        docstring).
    by
        Grouping column(s) defining the panels. Default: every grouping column not used
        by ``overlay`` (one curve per panel when ``overlay`` is not given).
    overlay
        Grouping column(s) whose values are drawn as coloured curves within a panel, with
        a legend (e.g. ``by="cell_line", overlay="drug"``). Grouping columns in neither
        ``by`` nor ``overlay`` are overlaid too.
    ncols
        Panels per row.
    show
        ``"mean_sd"`` or ``"replicates"``.
    ylabel
        Label of the response axis.
    sharey
        Share the response axis between panels.
    panel_size
        Width and height of one panel, in inches.

    Returns
    -------
    matplotlib.figure.Figure
        One axes per panel, in order of first appearance in ``fits.table``.

    Raises
    ------
    InputError
        Unknown or overlapping ``by``/``overlay`` columns, or tables missing columns.
    """
    table: pd.DataFrame = fits.table
    points: pd.DataFrame = fits.points
    groups = _as_list(getattr(fits, "by", []) or [])
    unit = str(getattr(fits, "dose_unit", "") or "")
    if ncols < 1:
        raise ValueError(f"ncols must be at least 1, got {ncols}")
    for name, frame in (("fits.table", table), ("fits.points", points)):
        absent = [c for c in groups if c not in frame.columns]
        if absent:
            raise InputError(f"{name} lacks the grouping column(s) {', '.join(absent)}")
    overlay_cols = _as_list(overlay)
    by_cols = _as_list(by) if by is not None else [g for g in groups if g not in overlay_cols]
    for kind, cols in (("by", by_cols), ("overlay", overlay_cols)):
        unknown = [c for c in cols if c not in groups]
        if unknown:
            raise InputError(
                f"{kind}={', '.join(unknown)} is not a grouping column of the fits "
                f"(choose from {', '.join(groups) or 'none'})"
            )
    both = set(by_cols) & set(overlay_cols)
    if both:
        raise InputError(f"column(s) {', '.join(sorted(both))} cannot be both by and overlay")
    colour_cols = overlay_cols + [g for g in groups if g not in by_cols and g not in overlay_cols]

    rows = cast("list[dict[str, Any]]", table.to_dict("records"))
    panels: dict[tuple[Hashable, ...], list[dict[str, Any]]] = {}
    colour_keys: dict[tuple[Hashable, ...], int] = {}
    for r in rows:
        panels.setdefault(_key([r[c] for c in by_cols]), []).append(r)
        ck = _key([r[c] for c in colour_cols])
        colour_keys.setdefault(ck, len(colour_keys))

    if groups:
        point_groups = {
            _key(k if isinstance(k, tuple) else (k,)): g
            for k, g in points.groupby(groups, sort=False, dropna=False)
        }
    else:
        point_groups = {(): points}

    n = max(len(panels), 1)
    nc = min(ncols, n)
    nr = math.ceil(n / nc)
    legend = bool(colour_cols)
    width = panel_size[0] * nc + (1.8 if legend else 0.0)
    with prism_style():
        fig = Figure(figsize=(width, panel_size[1] * nr), layout="constrained")
        axes: list[Axes] = []
        for i, (pkey, prow) in enumerate(panels.items()):
            share = axes[0] if (sharey and axes) else None
            ax = fig.add_subplot(nr, nc, i + 1, sharey=share)
            axes.append(ax)
            curve_pts = [
                _clean_points(point_groups.get(_key([r[c] for c in groups]), points.iloc[:0]))
                for r in prow
            ]
            doses = (
                np.concatenate([p["dose"].to_numpy() for p in curve_pts])
                if curve_pts
                else np.array([])
            )
            rng = _dose_range(doses)
            zero_at = _zero_position(rng[0]) if rng is not None and rng[2] else None
            for r, pts in zip(prow, curve_pts, strict=True):
                idx = colour_keys[_key([r[c] for c in colour_cols])]
                lab = " · ".join(str(r[c]) for c in colour_cols) if colour_cols else None
                _draw_curve(
                    ax,
                    pts,
                    r,
                    show=show,
                    color=PALETTE[idx % len(PALETTE)],
                    marker=MARKERS[idx % len(MARKERS)],
                    label=lab,
                    zero_at=zero_at,
                )
            if rng is not None:
                _format_dose_axis(ax, rng[0], rng[1], rng[2], unit)
            else:
                ax.set_xscale("log")
            ax.set_title(" · ".join(str(v) for v in pkey) if by_cols else "")
            col = i % nc
            ax.set_ylabel(ylabel if col == 0 else "")
            if sharey and col > 0:
                ax.tick_params(labelleft=False)
            below = i + nc < n  # another panel sits below this one
            ax.set_xlabel((f"Dose ({unit})" if unit else "Dose") if not below else "")
        if legend:
            handles = []
            for ck, idx in colour_keys.items():
                c = PALETTE[idx % len(PALETTE)]
                handles.append(
                    Line2D(
                        [],
                        [],
                        color=c,
                        marker=MARKERS[idx % len(MARKERS)],
                        markerfacecolor=c,
                        markeredgecolor=c,
                        label=" · ".join(str(v) for v in ck),
                    )
                )
            fig.legend(
                handles=handles,
                loc="outside right upper",
                frameon=False,
                title=" · ".join(colour_cols),
            )
    return fig
