"""Plate quality control: control statistics, Z'-factor, signal window, edge and trend flags."""

from __future__ import annotations

from collections.abc import Hashable, Sequence
from typing import Any

import numpy as np
import pandas as pd
from scipy import stats

from ..tables import require_columns, require_numeric
from ._wells import PLATE_FORMATS, format_for, row_index
from .normalise import NORMALISE_COLUMNS, truthy_column

__all__ = ["plate_qc", "z_prime", "QC_FLAGS"]

#: Flag names :func:`plate_qc` may set (joined with ``;`` in the ``flag`` column).
QC_FLAGS = ("low_z_prime", "high_vehicle_cv", "edge_effect", "row_trend", "col_trend")

_NOT_DESIGN = {"plate", "well", "row", "col", "in_layout", *NORMALISE_COLUMNS}


def z_prime(positive: Sequence[float] | np.ndarray, negative: Sequence[float] | np.ndarray
            ) -> float:
    """Z'-factor of two control populations (Zhang, Chung & Oldenburg 1999).

    :math:`Z' = 1 - 3(\\sigma_p + \\sigma_n) / |\\mu_p - \\mu_n|`, with sample standard
    deviations (``ddof=1``). NaN values are ignored; NaN when either side has fewer than two
    values or the means are equal.
    """
    p = np.asarray(positive, dtype=float)
    n = np.asarray(negative, dtype=float)
    p, n = p[~np.isnan(p)], n[~np.isnan(n)]
    if p.size < 2 or n.size < 2:
        return float("nan")
    gap = abs(p.mean() - n.mean())
    if gap == 0:
        return float("nan")
    return float(1.0 - 3.0 * (p.std(ddof=1) + n.std(ddof=1)) / gap)


def _summary(values: np.ndarray) -> tuple[int, float, float, float]:
    v = values[~np.isnan(values)]
    if v.size == 0:
        return 0, float("nan"), float("nan"), float("nan")
    mean = float(v.mean())
    sd = float(v.std(ddof=1)) if v.size > 1 else float("nan")
    cv = 100.0 * sd / abs(mean) if mean != 0 and not np.isnan(sd) else float("nan")
    return int(v.size), mean, sd, cv


def _as_set(value: str | Sequence[str] | None) -> set[str]:
    if value is None:
        return set()
    return {value} if isinstance(value, str) else {str(v) for v in value}


def _residuals(sub: pd.DataFrame, sig: np.ndarray, design: list[str]) -> np.ndarray:
    """Signal minus the mean of the wells sharing the same design factors (NaN for singletons)."""
    s = pd.Series(sig, index=sub.index)
    if not design:
        return (s - s.mean()).to_numpy()
    keys = [sub[c].astype("object").where(sub[c].notna(), "<NA>") for c in design]
    grouped = s.groupby(keys, sort=False, dropna=False)
    size = grouped.transform("size")
    res = s - grouped.transform("mean")
    return res.where(size > 1).to_numpy()


def plate_qc(
    df: pd.DataFrame,
    *,
    signal: str = "signal",
    vehicle: str | Sequence[str] | None = None,
    positive: str | Sequence[str] | None = None,
    blank: str | Sequence[str] | None = None,
    control_column: str = "control",
    by: Sequence[str] | None = None,
    design: Sequence[str] | None = None,
    exclude_column: str = "exclude",
    z_threshold: float = 0.5,
    cv_threshold: float = 20.0,
    edge_threshold: float = 10.0,
    edge_alpha: float = 0.05,
    trend_threshold: float = 10.0,
    trend_alpha: float = 0.05,
    min_wells: int = 3,
) -> pd.DataFrame:
    """One row of quality measures per plate (per ``by`` group; default
    :func:`~preclin.plates.read_groups`: per plate, and per read and kinetic time point when
    the table holds several).

    Controls are the wells whose ``control_column`` holds the ``vehicle`` (negative control,
    no effect), ``positive`` (full effect) or, when no positive is given, ``blank`` value(s).
    Wells outside the layout, excluded in the layout or without a signal are ignored.

    Measures
    --------
    * ``vehicle_*`` and ``positive_*``: n, mean, SD (``ddof=1``) and CV% of the controls;
      ``positive_source`` says whether the positive side is the ``"positive"`` or the
      ``"blank"`` control.
    * ``z_prime`` :math:`= 1 - 3(\\sigma_p + \\sigma_n)/|\\mu_p - \\mu_n|` (Zhang et al. 1999).
    * ``signal_window`` :math:`= (|\\mu_h - \\mu_l| - 3(\\sigma_h + \\sigma_l)) / \\sigma_h`
      with *h* the control of higher mean (Assay Guidance Manual, single-well form) and
      ``signal_to_background`` :math:`= \\mu_h / \\mu_l`.
    * Spatial checks use the vehicle and sample wells (not blank/positive controls), after
      removing the design: each well's signal minus the mean of the wells sharing all its
      ``design`` factors (default: every layout column); wells with a unique design are
      skipped. ``edge_diff_pct`` is the mean residual of the outer wells (first/last row or
      column of the plate) minus that of the inner wells, in % of the mean signal; ``edge_p`` is
      the two-sided Mann-Whitney p-value. ``row_slope_pct``/``col_slope_pct`` are the
      least-squares change of the residual from the first to the last row/column in % of the
      mean signal, with ``row_p``/``col_p`` the slope t-test p-values. A trend along a
      direction the design varies in (e.g. a dose per column) cannot be seen.

    Flags (``flag`` column, ``;``-joined, ``""`` when clean)
    --------------------------------------------------------
    ``low_z_prime`` (Z' < ``z_threshold``), ``high_vehicle_cv`` (vehicle CV% > ``cv_threshold``),
    ``edge_effect`` (\\|edge_diff_pct\\| > ``edge_threshold`` and ``edge_p`` < ``edge_alpha``),
    ``row_trend``/``col_trend`` (\\|slope_pct\\| > ``trend_threshold`` and p < ``trend_alpha``).
    Spatial measures need at least ``min_wells`` wells on each side, else they are NaN.

    Returns
    -------
    pandas.DataFrame
        Columns: the ``by`` columns, ``n_wells, n_missing, vehicle_n, vehicle_mean, vehicle_sd,
        vehicle_cv, positive_source, positive_n, positive_mean, positive_sd, positive_cv,
        z_prime, signal_window, signal_to_background, edge_n_outer, edge_n_inner,
        edge_diff_pct, edge_p, row_slope_pct, row_p, col_slope_pct, col_p, flag``.
    """
    from .normalise import read_groups

    by = read_groups(df) if by is None else [by] if isinstance(by, str) else list(by)
    require_columns(df, [signal, "row", "col", *by])
    has_controls = control_column in df.columns
    sig_all = require_numeric(df, signal, allow_nan=True).to_numpy(dtype=float)
    ctrl = (df[control_column].map(lambda v: None if pd.isna(v) else str(v))
            if has_controls else pd.Series([None] * len(df), index=df.index))
    is_vehicle = ctrl.isin(_as_set(vehicle)).to_numpy()
    is_pos = ctrl.isin(_as_set(positive)).to_numpy()
    is_blank = ctrl.isin(_as_set(blank)).to_numpy()
    ok = ~np.isnan(sig_all)
    if "in_layout" in df.columns:
        ok &= df["in_layout"].astype(bool).to_numpy()
    if exclude_column in df.columns:
        ok &= ~truthy_column(df, exclude_column).to_numpy()
    low_mask, low_source = (is_pos, "positive") if positive is not None else (
        (is_blank, "blank") if blank is not None else (np.zeros(len(df), bool), ""))
    if design is None:
        skip = {signal, exclude_column, *by}
        design_cols = [c for c in df.columns if c not in _NOT_DESIGN and c not in skip]
    else:
        design_cols = list(design)
        require_columns(df, design_cols)
    ri_all = df["row"].map(lambda r: row_index(str(r))).to_numpy(dtype=float)
    cj_all = df["col"].to_numpy(dtype=float) - 1

    rows: list[dict[str, Any]] = []
    for key, group_rows in df.groupby(by, sort=False, dropna=False).indices.items():
        idx = np.asarray(group_rows)
        keys: tuple[Hashable, ...] = key if isinstance(key, tuple) else (key,)
        rec: dict[str, Any] = dict(zip(by, keys, strict=False))
        sig = sig_all[idx]
        rec["n_wells"] = int(idx.size)
        rec["n_missing"] = int(np.isnan(sig).sum())
        use = ok[idx]
        veh = sig[use & is_vehicle[idx]]
        low = sig[use & low_mask[idx]]
        vn, vm, vs, vc = _summary(veh)
        ln, lm, ls, lc = _summary(low)
        rec.update(vehicle_n=vn, vehicle_mean=vm, vehicle_sd=vs, vehicle_cv=vc,
                   positive_source=low_source, positive_n=ln, positive_mean=lm, positive_sd=ls,
                   positive_cv=lc)
        rec["z_prime"] = z_prime(low, veh)
        if vn >= 2 and ln >= 2 and vm != lm:
            (hm, hs), (lo_m, lo_s) = sorted([(vm, vs), (lm, ls)], reverse=True)
            rec["signal_window"] = (abs(hm - lo_m) - 3 * (hs + lo_s)) / hs if hs > 0 else np.nan
            rec["signal_to_background"] = hm / lo_m if lo_m != 0 else np.nan
        else:
            rec["signal_window"] = rec["signal_to_background"] = np.nan

        # spatial checks on vehicle + sample wells, design removed
        basis = use & ~is_pos[idx] & ~is_blank[idx]
        sub = df.iloc[idx[basis]]
        res = _residuals(sub, sig[basis], design_cols)
        ri, cj = ri_all[idx[basis]], cj_all[idx[basis]]
        fmt = format_for(int(np.nanmax(ri_all[idx])) + 1, int(np.nanmax(cj_all[idx])) + 1)
        n_rows, n_cols = PLATE_FORMATS[fmt] if fmt else (
            int(np.nanmax(ri_all[idx])) + 1, int(np.nanmax(cj_all[idx])) + 1)
        ref = abs(float(np.mean(sig[basis]))) if basis.any() else np.nan
        valid = ~np.isnan(res)
        outer = (ri == 0) | (ri == n_rows - 1) | (cj == 0) | (cj == n_cols - 1)
        r_out, r_in = res[valid & outer], res[valid & ~outer]
        rec["edge_n_outer"], rec["edge_n_inner"] = int(r_out.size), int(r_in.size)
        if r_out.size >= min_wells and r_in.size >= min_wells and ref > 0:
            rec["edge_diff_pct"] = 100.0 * (r_out.mean() - r_in.mean()) / ref
            rec["edge_p"] = float(stats.mannwhitneyu(r_out, r_in, alternative="two-sided").pvalue)
        else:
            rec["edge_diff_pct"] = rec["edge_p"] = np.nan
        for name, x, span in (("row", ri, n_rows - 1), ("col", cj, n_cols - 1)):
            xv, yv = x[valid], res[valid]
            if yv.size >= 2 * min_wells and np.unique(xv).size >= 2 and ref > 0:
                if np.ptp(yv) == 0:
                    slope, p = 0.0, 1.0
                else:
                    fit = stats.linregress(xv, yv)
                    slope, p = float(fit.slope), float(fit.pvalue)
                rec[f"{name}_slope_pct"] = 100.0 * slope * span / ref
                rec[f"{name}_p"] = p
            else:
                rec[f"{name}_slope_pct"] = rec[f"{name}_p"] = np.nan

        flags = []
        if not np.isnan(rec["z_prime"]) and rec["z_prime"] < z_threshold:
            flags.append("low_z_prime")
        if not np.isnan(vc) and vc > cv_threshold:
            flags.append("high_vehicle_cv")
        if (not np.isnan(rec["edge_p"]) and abs(rec["edge_diff_pct"]) > edge_threshold
                and rec["edge_p"] < edge_alpha):
            flags.append("edge_effect")
        for name in ("row", "col"):
            p = rec[f"{name}_p"]
            if not np.isnan(p) and abs(rec[f"{name}_slope_pct"]) > trend_threshold \
                    and p < trend_alpha:
                flags.append(f"{name}_trend")
        rec["flag"] = ";".join(flags)
        rows.append(rec)
    out = pd.DataFrame(rows)
    out["flag"] = out["flag"].astype("str")
    out["positive_source"] = out["positive_source"].astype("str")
    return out
