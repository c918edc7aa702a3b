"""Normalise plate signals to controls: blank subtraction, % viability and % inhibition."""

from __future__ import annotations

from collections.abc import Hashable, Sequence
from typing import Any, Literal

import numpy as np
import pandas as pd

from ..errors import InputError
from ..tables import require_columns, require_numeric

__all__ = ["normalise", "read_groups", "truthy_column", "NORMALISE_COLUMNS"]

#: Columns added by :func:`normalise`.
NORMALISE_COLUMNS = ("blank_subtracted", "viability", "inhibition", "excluded", "reason")

_TRUE = {"true", "yes", "y", "x", "1", "exclude", "excluded"}
_FALSE = {"false", "no", "n", "0", ""}


def truthy_column(df: pd.DataFrame, column: str) -> pd.Series:
    """Boolean view of a flag column (True/False, 1/0, yes/no, x; blank = False).

    Raises
    ------
    InputError
        For a value that is not a recognisable flag, naming the well.
    """
    out = np.zeros(len(df), dtype=bool)
    for k, value in enumerate(df[column].tolist()):
        if value is None or (isinstance(value, float) and np.isnan(value)):
            continue
        if isinstance(value, bool | np.bool_):
            out[k] = bool(value)
        elif isinstance(value, int | float | np.integer | np.floating):
            out[k] = value != 0
        else:
            text = str(value).strip().lower()
            if text in _TRUE:
                out[k] = True
            elif text not in _FALSE:
                where = f"well {df['well'].iloc[k]}" if "well" in df.columns else f"row {k + 1}"
                raise InputError(f"column '{column}' must be true/false, found {value!r}",
                                 location=where)
    return pd.Series(out, index=df.index)


def _as_set(value: str | Sequence[str] | None) -> set[str]:
    if value is None:
        return set()
    if isinstance(value, str):
        return {value}
    return {str(v) for v in value}


def read_groups(df: pd.DataFrame) -> list[str]:
    """The columns that tell one plate read from another: ``plate``, plus ``read`` and
    ``cycle`` (kinetic time point) when the table holds more than one of them.

    Parameters
    ----------
    df
        Long plate table (:func:`preclin.plates.read`).

    Returns
    -------
    list of str
    """
    extra = [c for c in ("read", "cycle")
             if c in df.columns and df[c].nunique(dropna=False) > 1]
    return ["plate", *extra]


def _group_label(by: Sequence[str], key: Hashable) -> str:
    keys = key if isinstance(key, tuple) else (key,)
    return ", ".join(f"{b} '{k}'" for b, k in zip(by, keys, strict=False))


def normalise(
    df: pd.DataFrame,
    *,
    signal: str = "signal",
    blank: str | Sequence[str] | None = None,
    vehicle: str | Sequence[str] | None = None,
    positive: str | Sequence[str] | None = None,
    by: Sequence[str] | None = None,
    control_column: str = "control",
    mode: Literal["viability", "cytotoxicity"] = "viability",
    exclude_column: str = "exclude",
    center: Literal["mean", "median"] = "mean",
    vehicle_by: Sequence[str] = (),
) -> pd.DataFrame:
    """Scale signals to the plate's controls, keeping every well.

    Control wells are found by their value in ``control_column`` (e.g. a layout factor
    ``control = "blank"``, ``"vehicle"``/``"DMSO"``, ``"positive"``). Per ``by`` group (default:
    per plate), with :math:`B`, :math:`V`, :math:`P` the mean (or median) signal of the usable
    blank, vehicle and positive-control wells and :math:`S` a well's signal:

    * ``blank_subtracted`` :math:`= S - B` (:math:`B = 0` without blank wells);
    * without a positive control, ``viability`` :math:`= 100 (S - B) / (V - B)` (% of vehicle);
    * with a positive control, ``viability`` :math:`= 100 (S - P) / (V - P)` (the positive
      control defines 0 %, the vehicle 100 %; a blank then cancels out);
    * ``inhibition`` :math:`= 100 -` ``viability``.

    ``mode="cytotoxicity"`` is for assays whose signal rises with the effect (LDH release, dead
    cell stains): it requires the positive (maximum-kill) control and computes
    ``inhibition`` :math:`= 100 (S - V) / (P - V)`, which is the same number as above.

    Parameters
    ----------
    df
        Long plate table, e.g. from :func:`preclin.plates.read`.
    signal
        Column holding the raw signal.
    blank, vehicle, positive
        Value(s) of ``control_column`` marking blank (no cells), vehicle (100 %) and positive
        control (0 %) wells. ``vehicle`` is required.
    by
        Columns defining the normalisation groups. Default (None): :func:`read_groups` —
        the plate, and the read and kinetic cycle when the table holds several, so that
        controls of one wavelength or time point never scale another's wells.
    control_column
        Layout column naming the control type of each well.
    mode
        ``"viability"`` (signal proportional to live cells) or ``"cytotoxicity"``.
    exclude_column
        Flag column (``true``/``false``) of wells to exclude, when present.
    center
        ``"mean"`` or ``"median"`` of the control wells.
    vehicle_by
        Columns within a ``by`` group whose wells each have their own vehicle level, e.g.
        ``["cell_line"]`` when several cell lines share a plate (and its blanks): a well's
        :math:`V` is then the vehicle level of its plate *and* cell line. Wells with no value
        in these columns (blanks, plate-level controls) use the whole group's vehicle level.

    Returns
    -------
    pandas.DataFrame
        A copy of ``df`` (same rows, same order) with the columns ``blank_subtracted``,
        ``viability`` (%), ``inhibition`` (%), ``excluded`` (bool) and ``reason`` (``""`` for
        wells to use; else ``"outside layout"``, ``"excluded in layout"``, ``"signal missing"``,
        ``"blank well"``, ``"vehicle control"`` or ``"positive control"``, first match in this
        order). Control wells get values too (vehicle wells average 100 %). A group holding
        no layout well that is not excluded (e.g. only wells outside the layout) is not scaled
        (NaN). The control levels used are in ``attrs["controls"]`` (one dict per group).

    Raises
    ------
    InputError
        If a group lacks usable wells of a requested control (naming the group, e.g. the plate),
        if vehicle and the zero-level control have the same mean, or a column is missing.
    """
    if mode not in ("viability", "cytotoxicity"):
        raise ValueError(f"mode must be 'viability' or 'cytotoxicity', got {mode!r}")
    if center not in ("mean", "median"):
        raise ValueError(f"center must be 'mean' or 'median', got {center!r}")
    if vehicle is None:
        raise InputError("normalise needs the vehicle control (vehicle=...), the 100 % level")
    if mode == "cytotoxicity" and positive is None:
        raise InputError("mode 'cytotoxicity' needs the positive (maximum effect) control")
    by = read_groups(df) if by is None else [by] if isinstance(by, str) else list(by)
    require_columns(df, [signal, control_column, *by])

    out = df.copy()
    sig = require_numeric(out, signal, allow_nan=True).to_numpy(dtype=float)
    ctrl = out[control_column].map(lambda v: None if pd.isna(v) else str(v))
    is_blank = ctrl.isin(_as_set(blank)).to_numpy()
    is_vehicle = ctrl.isin(_as_set(vehicle)).to_numpy()
    is_pos = ctrl.isin(_as_set(positive)).to_numpy()
    in_layout = (out["in_layout"].astype(bool).to_numpy() if "in_layout" in out.columns
                 else np.ones(len(out), dtype=bool))
    excl_layout = (truthy_column(out, exclude_column).to_numpy() if exclude_column in out.columns
                   else np.zeros(len(out), dtype=bool))
    missing = np.isnan(sig)
    usable = in_layout & ~excl_layout & ~missing
    stat = np.nanmean if center == "mean" else np.nanmedian

    bs = np.full(len(out), np.nan)
    viab = np.full(len(out), np.nan)
    controls: list[dict[str, Any]] = []
    groups = out.groupby(by, sort=False, dropna=False).indices
    for key, group_rows in groups.items():
        idx = np.asarray(group_rows)
        label = _group_label(by, key)
        if not (in_layout[idx] & ~excl_layout[idx]).any():
            continue  # nothing of the layout in this group (e.g. wells outside it): no scale

        def level(mask: np.ndarray, what: str, values: str | Sequence[str] | None,
                  idx: np.ndarray = idx, label: str = label) -> float:
            sel = idx[mask[idx] & usable[idx]]
            if sel.size == 0:
                shown = ", ".join(sorted(_as_set(values)))
                raise InputError(
                    f"no usable {what} wells ({control_column} = {shown}); cannot normalise",
                    location=label)
            return float(stat(sig[sel]))

        b = level(is_blank, "blank", blank) if blank is not None else 0.0
        v = level(is_vehicle, "vehicle", vehicle)
        p = level(is_pos, "positive control", positive) if positive is not None else None
        zero = b if p is None else p
        if v == zero:
            raise InputError(
                f"vehicle and {'blank' if p is None else 'positive control'} wells have the same "
                f"{center} signal ({v!r}); cannot scale", location=label)
        bs[idx] = sig[idx] - b
        v_well = np.full(idx.size, v)
        if vehicle_by:
            sub = out.iloc[idx][list(vehicle_by)]
            has = sub.notna().all(axis=1).to_numpy()
            if has.any():
                for skey, sidx in sub[has].groupby(list(vehicle_by), sort=False).indices.items():
                    members = idx[np.nonzero(has)[0][sidx]]
                    v_well[np.nonzero(has)[0][sidx]] = level(
                        np.isin(np.arange(len(out)), members) & is_vehicle, "vehicle", vehicle,
                        idx=members, label=label + ", " + _group_label(vehicle_by, skey))
        if np.any(v_well == zero):
            raise InputError(
                f"vehicle and {'blank' if p is None else 'positive control'} wells have the same "
                f"{center} signal; cannot scale", location=label)
        viab[idx] = 100.0 * (sig[idx] - zero) / (v_well - zero)
        keys = tuple(k.item() if isinstance(k, np.generic) else k
                     for k in (key if isinstance(key, tuple) else (key,)))
        controls.append({**dict(zip(by, keys, strict=False)), "blank": b if blank else None,
                         "vehicle": v, "positive": p})

    reason = np.full(len(out), "", dtype=object)
    for mask, text in reversed([
        (~in_layout, "outside layout"),
        (excl_layout, "excluded in layout"),
        (missing, "signal missing"),
        (is_blank, "blank well"),
        (is_vehicle, "vehicle control"),
        (is_pos, "positive control"),
    ]):
        reason[mask] = text
    out["blank_subtracted"] = bs
    out["viability"] = viab
    out["inhibition"] = 100.0 - viab
    out["excluded"] = reason != ""
    out["reason"] = pd.Series(reason, index=out.index, dtype="str")
    out.attrs["controls"] = controls
    return out
