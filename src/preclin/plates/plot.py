"""Plate maps and plate heat maps as :class:`matplotlib.figure.Figure` objects.

Figures are built with :class:`~matplotlib.figure.Figure` directly (no pyplot), so nothing is
shown or kept alive by a global figure manager; save them with ``fig.savefig(...)``.
"""

from __future__ import annotations

from collections.abc import Sequence

import matplotlib as mpl
import numpy as np
import pandas as pd
from matplotlib.axes import Axes
from matplotlib.colors import LogNorm, Normalize
from matplotlib.figure import Figure
from matplotlib.lines import Line2D

from ..errors import InputError
from ..tables import require_columns
from ._wells import PLATE_FORMATS, format_for, row_index, row_label
from .layout import Layout

__all__ = ["plot_layout", "plot_plate_values", "UNASSIGNED_COLOR"]

#: Face colour of wells the layout does not assign (or that lack the plotted factor).
UNASSIGNED_COLOR = "#d9d9d9"
_INDEX = ("plate", "well", "row", "col")


def _table(obj: Layout | pd.DataFrame) -> tuple[pd.DataFrame, int | None]:
    if isinstance(obj, Layout):
        return obj.table, obj.plate_format
    require_columns(obj, _INDEX)
    return obj, None


def _shape(df: pd.DataFrame, plate_format: int | None) -> tuple[int, int]:
    ri = df["row"].map(lambda r: row_index(str(r)))
    if ri.isna().any():
        raise InputError(f"bad row label {df['row'][ri.isna()].iloc[0]!r}")
    fmt = plate_format or format_for(int(ri.max()) + 1, int(df["col"].max()))
    if fmt is None:
        return int(ri.max()) + 1, int(df["col"].max())
    return PLATE_FORMATS[fmt]


def _plates(df: pd.DataFrame, plate: str | Sequence[str] | None) -> list[str]:
    names = list(dict.fromkeys(df["plate"].astype(str).tolist()))
    if plate is None:
        return names
    wanted = [plate] if isinstance(plate, str) else list(plate)
    for p in wanted:
        if p not in names:
            raise InputError(f"no plate '{p}' (plates: {', '.join(names)})")
    return wanted


def _figure(n_plates: int, n_rows: int, n_cols: int, extra_width: float) -> tuple[Figure, float]:
    cell = min(0.45, 9.0 / n_cols)  # inches per well
    width = n_cols * cell + 1.2 + extra_width
    height = n_plates * (n_rows * cell + 0.9)
    return Figure(figsize=(width, height), layout="constrained"), cell


def _frame(ax: Axes, n_rows: int, n_cols: int, title: str) -> None:
    ax.set_xlim(-0.6, n_cols - 0.4)
    ax.set_ylim(n_rows - 0.4, -0.6)
    ax.set_aspect("equal")
    step = 1 if n_cols <= 24 else 2
    ax.set_xticks(range(0, n_cols, step), [str(j + 1) for j in range(0, n_cols, step)])
    ax.set_yticks(range(0, n_rows, step), [row_label(i) for i in range(0, n_rows, step)])
    ax.xaxis.tick_top()
    ax.tick_params(length=0, labelsize=8 if n_cols <= 24 else 6)
    for spine in ax.spines.values():
        spine.set_visible(False)
    ax.set_title(title, fontsize=10)


def _pick_factor(df: pd.DataFrame) -> str | None:
    factors = [c for c in df.columns if c not in _INDEX and c not in ("signal", "in_layout")]
    for f in factors:
        if df[f].nunique(dropna=True) > 1:
            return f
    return factors[0] if factors else None


def _is_numeric(s: pd.Series) -> bool:
    return bool(pd.api.types.is_numeric_dtype(s) and not pd.api.types.is_bool_dtype(s))


#: colour scales span at most this range (matplotlib's colour bar overflows beyond);
#: values outside take the colour of the nearest end
_COLOUR_LIMIT = 1e150


def _colour_span(finite: np.ndarray) -> np.ndarray:
    """Finite values clipped to what a colour bar can draw (±1e150, |v| ≥ 1e-150 if > 0)."""
    out = np.clip(finite, -_COLOUR_LIMIT, _COLOUR_LIMIT)
    tiny = (out > 0) & (out < 1 / _COLOUR_LIMIT)
    return np.where(tiny, 1 / _COLOUR_LIMIT, out)


def plot_layout(
    layout_or_table: Layout | pd.DataFrame,
    factor: str | None = None,
    plate: str | Sequence[str] | None = None,
    *,
    log: bool = False,
    cmap: str | None = None,
) -> Figure:
    """Plate map: one marker per well, coloured by a layout factor.

    Parameters
    ----------
    layout_or_table
        A :class:`Layout` or a table with ``plate, well, row, col`` (e.g. from ``read``).
    factor
        Column to colour by. Default: the first factor with more than one value. Text/boolean
        factors get a categorical legend; numeric factors a colour bar.
    plate
        Plate name(s) to draw; default every plate, one panel each.
    log
        Logarithmic colour scale for numeric factors (concentrations); values <= 0 are drawn
        white with a black edge and listed in the legend as ``<= 0``.
    cmap
        Matplotlib colour map for numeric factors (default ``"viridis"``).

    Returns
    -------
    matplotlib.figure.Figure
        Each panel has exactly one marker per well of the plate format; wells absent from the
        layout or without a value for ``factor`` are grey (``UNASSIGNED_COLOR``).
    """
    df, fmt = _table(layout_or_table)
    if factor is None:
        factor = _pick_factor(df)
    elif factor not in df.columns:
        raise InputError(f"no factor '{factor}' in the layout (columns: {', '.join(df.columns)})")
    n_rows, n_cols = _shape(df, fmt)
    plates = _plates(df, plate)
    df = df.loc[df["plate"].astype(str).isin(plates)]  # legend: values of the drawn plates
    numeric = factor is not None and _is_numeric(df[factor])
    fig, cell = _figure(len(plates), n_rows, n_cols, 1.6)
    axes = fig.subplots(len(plates), 1, squeeze=False)[:, 0]
    size = (cell * 72 * 0.78) ** 2

    values = df[factor] if factor is not None else pd.Series(True, index=df.index)
    categories: list[str] = []
    if not numeric:
        categories = list(dict.fromkeys(str(v) for v in values.tolist() if not pd.isna(v)))
    palette = mpl.colormaps["tab10" if len(categories) <= 10 else "tab20"]
    colour = {c: palette(k % palette.N) for k, c in enumerate(categories)}
    norm: Normalize | None = None
    if numeric:
        v = values.to_numpy(dtype=float)
        finite = _colour_span(v[np.isfinite(v) & ((v > 0) if log else True)])
        if log:
            lo, hi = (finite.min(), finite.max()) if finite.size else (1.0, 10.0)
            norm = LogNorm(vmin=lo, vmax=hi if hi > lo else lo * 10)
        else:
            lo, hi = (finite.min(), finite.max()) if finite.size else (0.0, 1.0)
            norm = Normalize(vmin=lo, vmax=hi if hi > lo else lo + 1)
    cm = mpl.colormaps[cmap or "viridis"]

    all_i, all_j = np.divmod(np.arange(n_rows * n_cols), n_cols)
    has_nonpos = False
    for ax, name in zip(axes, plates, strict=True):
        sub = df.loc[df["plate"].astype(str) == name]
        sub_vals = values.loc[sub.index]
        pos = {(row_index(str(r)), int(c) - 1): v
               for r, c, v in zip(sub["row"], sub["col"], sub_vals, strict=True)}
        grey: list[tuple[int, int]] = []
        cats: dict[str, list[tuple[int, int]]] = {c: [] for c in categories}
        nums: list[tuple[int, int, float]] = []
        nonpos: list[tuple[int, int]] = []
        for i, j in zip(all_i, all_j, strict=True):
            val = pos.get((int(i), int(j)))
            if val is None or pd.isna(val):
                grey.append((i, j))
            elif numeric:
                if log and float(val) <= 0:
                    nonpos.append((i, j))
                else:
                    nums.append((i, j, float(val)))
            else:
                cats[str(val)].append((i, j))
        kw = {"s": size, "linewidths": 0.5, "edgecolors": "#555555"}
        if grey:
            g = np.array(grey)
            ax.scatter(g[:, 1], g[:, 0], c=UNASSIGNED_COLOR, label="_unassigned", **kw)
        if numeric:
            if nums:
                a = np.array(nums)
                sc = ax.scatter(a[:, 1], a[:, 0], c=a[:, 2], cmap=cm, norm=norm, **kw)
                fig.colorbar(sc, ax=ax, label=factor, shrink=0.9)
            if nonpos:
                z = np.array(nonpos)
                ax.scatter(z[:, 1], z[:, 0], c="white", label="<= 0", **{**kw, "edgecolors": "k"})
                has_nonpos = True
        else:
            for c, cells in cats.items():
                if cells:
                    a = np.array(cells)
                    ax.scatter(a[:, 1], a[:, 0], color=colour[c], label=str(c), **kw)
        _frame(ax, n_rows, n_cols, f"{name}: {factor}" if factor else str(name))
    handles = [
        Line2D([], [], marker="o", ls="", markerfacecolor=colour[c], markeredgecolor="#555555",
               markersize=8, label=str(c))
        for c in categories
    ]
    if has_nonpos:
        handles.append(Line2D([], [], marker="o", ls="", markerfacecolor="white",
                              markeredgecolor="k", markersize=8, label="<= 0"))
    handles.append(Line2D([], [], marker="o", ls="", markerfacecolor=UNASSIGNED_COLOR,
                          markeredgecolor="#555555", markersize=8,
                          label="no value / not in layout"))
    fig.legend(handles=handles, loc="outside right upper", title=factor, fontsize=8,
               title_fontsize=9, frameon=False)
    return fig


def plot_plate_values(
    df: pd.DataFrame,
    value: str = "signal",
    plate: str | Sequence[str] | None = None,
    *,
    cmap: str = "viridis",
    log: bool = False,
    annotate: bool = False,
) -> Figure:
    """Heat map of a numeric column over the plate, one panel per plate.

    Parameters
    ----------
    df
        Long table with ``plate, well, row, col`` and ``value``.
    value
        Numeric column to show (``signal``, ``viability``, ...).
    plate
        Plate name(s); default all.
    cmap
        Matplotlib colour map; missing wells are light grey.
    log
        Logarithmic colour scale (positive values only).
    annotate
        Write each value in its well.

    Returns
    -------
    matplotlib.figure.Figure
        One image per plate whose array has the plate's shape (NaN where no value).
    """
    require_columns(df, [*_INDEX, value])
    n_rows, n_cols = _shape(df, None)
    plates = _plates(df, plate)
    fig, _ = _figure(len(plates), n_rows, n_cols, 1.0)
    axes = fig.subplots(len(plates), 1, squeeze=False)[:, 0]
    vals = pd.to_numeric(df[value], errors="coerce").to_numpy(dtype=float)
    finite = _colour_span(vals[np.isfinite(vals) & ((vals > 0) if log else True)])
    if log and finite.size:
        norm: Normalize = LogNorm(vmin=finite.min(), vmax=max(finite.max(), finite.min() * 1.0001))
    else:
        lo, hi = (finite.min(), finite.max()) if finite.size else (0.0, 1.0)
        norm = Normalize(vmin=lo, vmax=hi if hi > lo else lo + 1)
    cm = mpl.colormaps[cmap].with_extremes(bad=UNASSIGNED_COLOR)
    for ax, name in zip(axes, plates, strict=True):
        mask = (df["plate"].astype(str) == name).to_numpy()
        grid = np.full((n_rows, n_cols), np.nan)
        ri = df.loc[mask, "row"].map(lambda r: row_index(str(r))).to_numpy(dtype=int)
        cj = df.loc[mask, "col"].to_numpy(dtype=int) - 1
        grid[ri, cj] = vals[mask]
        image = np.ma.masked_invalid(grid if not log else np.where(grid > 0, grid, np.nan))
        im = ax.imshow(image, cmap=cm, norm=norm, interpolation="nearest", aspect="equal")
        if annotate:
            for i, j in zip(*np.nonzero(np.isfinite(grid)), strict=True):
                ax.text(j, i, f"{grid[i, j]:.3g}", ha="center", va="center", fontsize=6)
        fig.colorbar(im, ax=ax, label=value, shrink=0.9)
        _frame(ax, n_rows, n_cols, f"{name}: {value}")
    return fig
