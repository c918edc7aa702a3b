"""Per-well PCR efficiency from raw amplification curves, LinRegPCR-style.

Written from the published method (Ramakers et al. 2003, Neurosci Lett 339:62; Ruijter et
al. 2009, Nucleic Acids Res 37:e45) and the description of the current LinRegPCR in the
RDML-Tools manual (Untergasser et al. 2021, BMC Bioinformatics 22:398); no LinRegPCR code
was used. Steps, per reaction (well × target) and then per amplicon group (target):

1. **Amplification** — a curve whose maximum is less than ``min_fold`` (7) times its
   minimum, or whose rise is below 10 × its cycle-to-cycle noise, is *no amplification*.
2. **Second-derivative maximum** — ``d2 = ∇∇F`` (numpy's central differences twice, a
   five-point stencil); the fractional cycle where ``∇d2`` (the third derivative) crosses
   zero next to the largest ``d2`` is reported as ``td0`` (TD0, "third derivative zero",
   Untergasser et al. 2026). The cycle nearest ``td0`` starts the plateau; a curve whose
   ``d2`` peak is not followed by a lower value is flagged *no plateau*.
3. **Log-linear phase** — the run of strictly increasing fluorescence ending one cycle below
   that plateau start (at most ``max_log_phase`` = 12 cycles). Its top ``n_fit`` =
   min(length − 1, ``max_fit`` = 9) cycles are the points of the individual fit.
4. **Baseline** (Ruijter 2009) — the constant that, subtracted from the curve, makes
   ``log10(F − baseline)`` a straight line over those points: the slope through the lower
   half of the points equals the slope through the upper half (the halves share the middle
   point when ``n_fit`` is odd). Solved per well by bisection (all wells at once). No
   solution, fewer than 3 points or an efficiency below 1.2 is a *baseline error*.
5. **Individual efficiency** ``E = 10^slope`` at that baseline (the common slope of both
   halves); ``r2`` of the straight line through all ``n_fit`` points.
6. **Mean efficiency per amplicon group** — mean of the individual efficiencies of the
   wells not excluded: no amplification, baseline error, negative controls (task ``ntc``,
   ``nrt``), no plateau (``exclude_no_plateau``) and efficiency outliers (more than
   ``outlier`` = 5 % from the group median).
7. **Common window-of-linearity** per group (Ruijter 2009): a window in log10 fluorescence
   ``window_cycles`` (4) cycles wide (× log10 of the median individual efficiency) is moved
   down from the lowest top of the groups' log-linear phases in steps of 0.01 until a well
   has fewer than 3 points in it or the coefficient of variation of the wells' window
   efficiencies shows its second minimum; the position with the smallest CV is kept.
   ``efficiency_window``/``r2_window``: each well's fit in that window (the 2009 program's
   individual efficiencies; ``efficiency_from="window"`` uses them for the mean).
8. **Threshold and Cq** — the threshold ``Nq`` is one cycle (``log10 E_mean``) below the
   window's upper limit; ``threshold="common"`` (default, as LinRegPCR) takes the geometric
   mean over the groups. ``cq``: fractional cycle where ``F − baseline`` crosses ``Nq``
   (log-linear interpolation between the bracketing cycles). ``n0 = Nq / E_mean^cq``, in
   the fluorescence units of the input.

Every reaction in comes out, used or with the reason it was not (``excluded_reason``).
Definitions, choices and the measured agreement with rdmlpython 3.0.1: ``docs/methods/
qpcr.md``.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from numpy.typing import NDArray

from ..errors import InputError

__all__ = ["linreg_efficiency", "linreg_targets", "linreg_wells", "read_linreg_input",
           "LINREG_COLUMNS", "LINREG_TARGET_COLUMNS"]

#: columns of :func:`linreg_efficiency`'s table, with their meaning and unit
LINREG_COLUMNS: dict[str, str] = {
    "run": "run / plate ('' if the input has none)",
    "well": "well or reaction id",
    "sample": "sample name ('' if the input has none)",
    "target": "target (amplicon)",
    "task": "unknown, standard, ntc, nrt or omit ('' if the input has none)",
    "group": "amplicon group the mean efficiency is taken over (the group_by values)",
    "n_cycles": "number of cycles with fluorescence",
    "amplified": "False: less than min_fold rise, or a rise within the noise",
    "plateau": "False: the second-derivative peak is the last usable cycle (no plateau)",
    "baseline_error": "True: no baseline straightens the log-linear phase",
    "baseline": "estimated baseline, fluorescence units (subtracted before the log)",
    "td0": "cycle of the third-derivative zero at the second-derivative maximum "
           "(fractional cycle)",
    "log_phase_first": "first cycle of the log-linear phase",
    "log_phase_last": "last cycle of the log-linear phase (one below the plateau start)",
    "n_log_phase": "cycles in the log-linear phase",
    "n_fit": "cycles in the individual fit (the top of the log-linear phase)",
    "efficiency": "individual efficiency, amplification factor per cycle (2 = 100 %), "
                  "from the log-linear phase",
    "r2": "R² of log10(F − baseline) on cycle over the n_fit points",
    "window_lower": "lower limit of the group's common window-of-linearity, "
                    "log10 fluorescence (baseline-corrected)",
    "window_upper": "upper limit of the group's common window-of-linearity, "
                    "log10 fluorescence (baseline-corrected)",
    "n_window": "points of this well inside the common window",
    "efficiency_window": "individual efficiency in the common window (amplification factor)",
    "r2_window": "R² of the fit in the common window",
    "mean_efficiency": "mean efficiency of the group over the used wells (amplification "
                       "factor); NaN if no well is usable",
    "mean_efficiency_sd": "SD of the individual efficiencies averaged (n − 1)",
    "n_mean": "wells averaged into mean_efficiency",
    "used_for_mean": "True when the well's efficiency is in the group mean",
    "threshold": "fluorescence threshold Nq, fluorescence units (baseline-corrected)",
    "cq": "fractional cycle where F − baseline reaches the threshold; NaN if not analysable",
    "n0": "starting quantity threshold / mean_efficiency^cq, fluorescence units",
    "excluded_reason": "why the well is not in the mean efficiency ('' = used)",
    "flag": "every note on the well: exclusion, notes on efficiency, Cq, controls",
}

#: columns of :func:`linreg_targets`
LINREG_TARGET_COLUMNS: dict[str, str] = {
    "group": "amplicon group",
    "target": "target",
    "mean_efficiency": "mean individual efficiency of the used wells (amplification factor)",
    "mean_efficiency_sd": "SD of the individual efficiencies (n − 1)",
    "efficiency_se": "SE of the mean efficiency (SD / √n)",
    "n_mean": "wells averaged",
    "n_wells": "wells of the group in the input",
    "window_lower": "common window-of-linearity, lower limit (log10 fluorescence)",
    "window_upper": "common window-of-linearity, upper limit (log10 fluorescence)",
    "threshold": "threshold used for Cq (fluorescence units)",
}

_NEGATIVE_TASKS = ("ntc", "nrt")


# --------------------------------------------------------------------------- input
def _prepare(curves: pd.DataFrame, group_by: Sequence[str]) -> tuple[pd.DataFrame,
                                                                      NDArray[np.float64],
                                                                      NDArray[np.float64]]:
    """Reaction table (one row per run × well × target) and the fluorescence matrix."""
    if not isinstance(curves, pd.DataFrame):
        raise InputError("curves must be a table (run, well, sample, target, cycle, "
                         "fluorescence)")
    fl_col = "fluorescence" if "fluorescence" in curves else "fluor" if "fluor" in curves \
        else None
    missing = [c for c in ("well", "target", "cycle") if c not in curves]
    if fl_col is None:
        missing.append("fluorescence")
    if missing:
        raise InputError(f"amplification curves need column(s) {', '.join(missing)} "
                         f"(the table has: {', '.join(map(str, curves.columns[:20]))})")
    for g in group_by:
        if g not in curves:
            raise InputError(f"group_by column {g!r} is not in the curves table")
    if len(curves) == 0:
        raise InputError("the curves table has no rows")
    df = pd.DataFrame({
        "run": curves["run"].fillna("").astype(str) if "run" in curves else "",
        "well": curves["well"].astype(str),
        "sample": curves["sample"].fillna("").astype(str) if "sample" in curves else "",
        "target": curves["target"].astype(str),
        "task": curves["task"].fillna("").astype(str) if "task" in curves else "",
    }, index=curves.index)
    cyc = pd.to_numeric(curves["cycle"], errors="coerce")
    flu = pd.to_numeric(curves[fl_col], errors="coerce")
    if cyc.isna().any():
        pos = int(cyc.isna().to_numpy().argmax())
        raise InputError(f"cycle is not a number: {curves['cycle'].iloc[pos]!r}",
                         location=f"row {pos + 1} of the curves")
    if (flu.isna() & curves[fl_col].notna()).any():
        pos = int((flu.isna() & curves[fl_col].notna()).to_numpy().argmax())
        raise InputError(f"fluorescence is not a number: {curves[fl_col].iloc[pos]!r}",
                         location=f"row {pos + 1} of the curves")
    if not np.allclose(cyc, np.round(cyc)):
        raise InputError("cycles must be whole numbers (1, 2, 3, …)")
    df["cycle"] = np.round(cyc.to_numpy()).astype(np.int64)
    df["fl"] = flu.to_numpy(dtype=np.float64)
    gcols = [g for g in group_by if g not in ("run", "well", "sample", "target", "task")]
    for g in gcols:
        df[g] = curves[g].astype(str)
    key = ["run", "well", "target"]
    if df.duplicated([*key, "cycle"]).any():
        d = df[df.duplicated([*key, "cycle"], keep=False)].iloc[0]
        raise InputError(f"two fluorescence values for cycle {d['cycle']}",
                         location=f"well {d['well']} target {d['target']}"
                         + (f" run {d['run']}" if d["run"] else ""))
    first = df.drop_duplicates(key)
    reactions = first[[*key, "sample", "task", *gcols]].reset_index(drop=True)
    reactions["group"] = (first[list(group_by)].astype(str).agg(" / ".join, axis=1)
                          .to_numpy() if group_by else "all")
    rid = pd.MultiIndex.from_frame(reactions[key])
    lo, hi = int(df["cycle"].min()), int(df["cycle"].max())
    if hi - lo > 1000:
        raise InputError(f"cycles run from {lo} to {hi}; at most 1000 cycles are supported")
    grid = np.arange(lo, max(hi, lo + 6) + 1, dtype=np.float64)  # ≥ 7 columns
    row = rid.get_indexer(pd.MultiIndex.from_frame(df[key]))
    mat = np.full((len(reactions), len(grid)), np.nan)
    mat[row, df["cycle"].to_numpy() - lo] = df["fl"].to_numpy()
    return reactions, grid, mat


# --------------------------------------------------------------------------- helpers
def _masked_slope(x: NDArray[np.float64], y: NDArray[np.float64],
                  m: NDArray[np.bool_]) -> tuple[NDArray[np.float64], NDArray[np.float64],
                                                 NDArray[np.float64]]:
    """Row-wise OLS of y on x over the mask: slope, intercept-free means and R²."""
    n = m.sum(axis=-1)
    with np.errstate(invalid="ignore", divide="ignore"):
        xm = np.where(m, x, 0.0).sum(axis=-1) / n
        ym = np.where(m, y, 0.0).sum(axis=-1) / n
        dx = np.where(m, x - xm[..., None], 0.0)
        dy = np.where(m, y - ym[..., None], 0.0)
        sxx = (dx * dx).sum(axis=-1)
        sxy = (dx * dy).sum(axis=-1)
        syy = (dy * dy).sum(axis=-1)
        slope = sxy / sxx
        r2 = sxy * sxy / (sxx * syy)
    return slope, np.stack([xm, ym], axis=-1), r2


def _log10_where(values: NDArray[np.float64], m: NDArray[np.bool_]) -> NDArray[np.float64]:
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(m, np.log10(np.where(m & (values > 0), values, 1.0)), 0.0)


def _amplified(mat: NDArray[np.float64], valid: NDArray[np.bool_],
               min_fold: float) -> tuple[NDArray[np.bool_], list[str]]:
    with np.errstate(invalid="ignore", divide="ignore"), warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # all-NaN rows (unusable curves)
        fmin = np.nanmin(np.where(valid, mat, np.nan), axis=1)
        fmax = np.nanmax(np.where(valid, mat, np.nan), axis=1)
        d = np.diff(mat, axis=1)
        med = np.nanmedian(d, axis=1)
        noise = 1.4826 * np.nanmedian(np.abs(d - med[:, None]), axis=1) / math.sqrt(2)
    out = np.ones(len(mat), dtype=bool)
    why = [""] * len(mat)
    for i in range(len(mat)):
        rise = fmax[i] - fmin[i]
        if fmin[i] > 0 and fmax[i] < min_fold * fmin[i]:
            out[i] = False
            why[i] = (f"no amplification (maximum {fmax[i]:.4g} is {fmax[i] / fmin[i]:.2f}× "
                      f"the minimum, < {min_fold:g}×)")
        elif not rise > 10 * noise[i]:
            out[i] = False
            why[i] = "no amplification (the rise is within 10× the cycle-to-cycle noise)"
    return out, why


# --------------------------------------------------------------------------- main
def linreg_efficiency(
    curves: pd.DataFrame,
    *,
    group_by: str | Sequence[str] = "target",
    efficiency_from: str = "log_phase",
    threshold: str | float = "common",
    outlier: float | None = 0.05,
    exclude_no_plateau: bool = True,
    min_fold: float = 7.0,
    window_cycles: float = 4.0,
    max_log_phase: int = 12,
    max_fit: int = 9,
) -> pd.DataFrame:
    """LinRegPCR-style baseline, individual and mean PCR efficiency, threshold, Cq and N0.

    Parameters
    ----------
    curves
        Tidy long table, one row per reaction × cycle: ``well``, ``target``, ``cycle``,
        ``fluorescence`` (or ``fluor``, as :func:`preclin.qpcr.rdml.read_rdml_curves`
        gives) and optionally ``run``, ``sample``, ``task`` (``ntc``/``nrt`` wells are not
        averaged). Raw fluorescence, **not** baseline-corrected by the instrument.
        A reaction is ``run × well × target``.
    group_by
        Column(s) defining the amplicon groups whose efficiencies are averaged
        (``"target"``; ``["run", "target"]`` for one mean per plate).
    efficiency_from
        ``"log_phase"`` (default, current LinRegPCR / rdmlpython: each well's fit over the
        top of its own log-linear phase) or ``"window"`` (LinRegPCR 2009: each well's fit in
        the group's common window-of-linearity) — which individual efficiencies are checked
        for outliers and averaged.
    threshold
        ``"common"`` (geometric mean of the groups' thresholds, as LinRegPCR), ``"group"``
        (each group its own) or a number (fluorescence units, baseline-corrected).
    outlier
        Efficiencies more than this fraction from the group median are not averaged
        (LinRegPCR's default 5 %); ``None`` keeps them.
    exclude_no_plateau
        Leave wells without a plateau out of the mean (LinRegPCR's default).
    min_fold
        Minimum max/min fluorescence ratio of an amplified curve (Ruijter 2009: 7).
    window_cycles
        Width of the common window-of-linearity in cycles (LinRegPCR: 4).
    max_log_phase, max_fit
        Caps on the cycles of the log-linear phase (12) and of the individual fit (9).

    Returns
    -------
    pandas.DataFrame
        One row per reaction, in input order, columns :data:`LINREG_COLUMNS`.

    Raises
    ------
    InputError
        Missing columns, non-numeric or duplicated cycles, bad options.
    """
    gb = [group_by] if isinstance(group_by, str) else list(group_by)
    if efficiency_from not in ("log_phase", "window"):
        raise InputError(f"efficiency_from must be 'log_phase' or 'window', got "
                         f"{efficiency_from!r}")
    if isinstance(threshold, str):
        if threshold not in ("common", "group"):
            raise InputError(f"threshold must be 'common', 'group' or a number, got "
                             f"{threshold!r}")
    elif not (isinstance(threshold, (int, float)) and threshold > 0):
        raise InputError(f"threshold must be a positive number, got {threshold!r}")
    if outlier is not None and not outlier > 0:
        raise InputError(f"outlier must be a positive fraction or None, got {outlier!r}")
    if not (min_fold > 1 and window_cycles > 0 and max_log_phase >= 4 and max_fit >= 3):
        raise InputError("min_fold must be > 1, window_cycles > 0, max_log_phase ≥ 4 and "
                         "max_fit ≥ 3")
    reactions, grid, mat = _prepare(curves, gb)
    n_r, n_c = mat.shape
    idx = np.arange(n_c)
    valid = np.isfinite(mat)
    notes: list[list[str]] = [[] for _ in range(n_r)]
    reason = [""] * n_r

    # 0. usable curves: one contiguous block of cycles, at least 7 of them
    n_valid = valid.sum(axis=1)
    first = np.where(n_valid > 0, valid.argmax(axis=1), 0)
    last = np.where(n_valid > 0, n_c - 1 - valid[:, ::-1].argmax(axis=1), -1)
    usable = (n_valid >= 7) & (last - first + 1 == n_valid)
    for i in np.flatnonzero(~usable):
        reason[i] = ("fewer than 7 cycles with fluorescence" if n_valid[i] < 7 else
                     "missing fluorescence inside the curve")

    # 1. amplification
    amp, why = _amplified(mat, valid, min_fold)
    amp &= usable
    for i in np.flatnonzero(usable & ~amp):
        reason[i] = why[i]

    # 2. second-derivative maximum, TD0, plateau
    g2 = np.gradient(np.gradient(mat, axis=1), axis=1)
    g3 = np.gradient(g2, axis=1)
    inner = (idx[None, :] >= first[:, None] + 2) & (idx[None, :] <= last[:, None] - 2)
    g2m = np.where(inner & np.isfinite(g2), g2, -np.inf)
    sdm = g2m.argmax(axis=1)
    plateau = amp & (sdm <= last - 3)
    r = np.arange(n_r)
    g3a, g3b = g3[r, sdm], g3[r, np.minimum(sdm + 1, n_c - 1)]
    g3p = g3[r, np.maximum(sdm - 1, 0)]
    lo_i = np.where(g3a > 0, sdm, sdm - 1)
    ga = np.where(g3a > 0, g3a, g3p)
    gb_ = np.where(g3a > 0, g3b, g3a)
    with np.errstate(invalid="ignore", divide="ignore"):
        frac = ga / (ga - gb_)
    frac = np.where(np.isfinite(frac) & (frac >= 0) & (frac <= 1), frac, np.nan)
    td0 = np.where(np.isfinite(frac), grid[np.clip(lo_i, 0, n_c - 1)] + frac, grid[sdm])
    td0 = np.where(amp, td0, np.nan)
    for i in np.flatnonzero(amp & ~plateau):
        notes[i].append("no plateau")

    # 3. log-linear phase: strictly increasing run ending one cycle below the plateau start
    td0_safe = np.where(amp & np.isfinite(td0), td0, grid[0] + 1.0)
    top = np.where(amp, np.floor(td0_safe + 0.5).astype(np.int64) - int(grid[0]) - 1, 0)
    top = np.clip(top, 0, n_c - 1)
    inc = np.zeros_like(valid)
    inc[:, 1:] = mat[:, 1:] > mat[:, :-1]
    breaks = ~inc | (idx[None, :] <= first[:, None])
    start = np.where(breaks & (idx[None, :] <= top[:, None]), idx[None, :], -1).max(axis=1)
    start = np.maximum(start, top - max_log_phase + 1)
    n_log = top - start + 1
    n_fit = np.minimum(n_log - 1, max_fit)
    fit_lo = top - n_fit + 1
    half = (n_fit + 1) // 2
    fit_m = (idx[None, :] >= fit_lo[:, None]) & (idx[None, :] <= top[:, None])
    low_m = fit_m & (idx[None, :] < (fit_lo + half)[:, None])
    up_m = fit_m & (idx[None, :] > (top - half)[:, None])

    # 4. baseline by bisection: slope(lower half) == slope(upper half)
    ok = amp & (n_fit >= 3)
    for i in np.flatnonzero(amp & ~ok):
        reason[i] = f"baseline error (log-linear phase of {max(int(n_log[i]), 0)} cycles)"
    x = np.broadcast_to(grid, mat.shape)
    with np.errstate(invalid="ignore"):
        fmin_fit = np.where(fit_m, mat, np.inf).min(axis=1)
        ftop = mat[r, top]
    span = np.where(ok, ftop - fmin_fit, 1.0)
    hi = np.where(ok, fmin_fit - 1e-9 * np.abs(span), 0.0)
    lo = np.where(ok, fmin_fit - 100.0 * np.abs(span), -1.0)

    def gap(b: NDArray[np.float64]) -> tuple[NDArray[np.float64], NDArray[np.float64],
                                              NDArray[np.float64]]:
        y = _log10_where(mat - b[:, None], fit_m)
        s_lo = _masked_slope(x, y, low_m)[0]
        s_up = _masked_slope(x, y, up_m)[0]
        return s_up - s_lo, s_lo, s_up

    g_lo, g_hi = gap(lo)[0], gap(hi)[0]
    bracket = ok & (g_lo > 0) & (g_hi < 0)
    for i in np.flatnonzero(ok & ~bracket):
        reason[i] = "baseline error (no baseline makes the log-linear phase straight)"
    ok = bracket
    for _ in range(200):
        mid = 0.5 * (lo + hi)
        gm = gap(mid)[0]
        up = gm > 0
        lo = np.where(ok & up, mid, lo)
        hi = np.where(ok & ~up, mid, hi)
        if np.all(~ok | (hi - lo <= 1e-13 * np.maximum(1.0, np.abs(hi)))):
            break
    base = np.where(ok, 0.5 * (lo + hi), np.nan)
    _, s_lo, s_up = gap(np.where(ok, base, 0.0))
    slope = 0.5 * (s_lo + s_up)
    y_fit = _log10_where(mat - np.where(ok, base, 0.0)[:, None], fit_m)
    r2 = _masked_slope(x, y_fit, fit_m)[2]
    with np.errstate(over="ignore", invalid="ignore"):
        eff = np.where(ok, 10.0 ** slope, np.nan)
    bad_e = ok & ~(eff >= 1.2)
    for i in np.flatnonzero(bad_e):
        reason[i] = f"baseline error (individual efficiency {eff[i]:.3f} < 1.2)"
    ok &= ~bad_e
    eff = np.where(ok, eff, np.nan)
    r2 = np.where(ok, r2, np.nan)
    base = np.where(ok, base, np.nan)
    for i in np.flatnonzero(ok):
        if eff[i] < 1.7:
            notes[i].append(f"individual efficiency {eff[i]:.3f} < 1.7")
        elif eff[i] > 2.05:
            notes[i].append(f"individual efficiency {eff[i]:.3f} > 2.05")

    # 5. eligibility for the mean (before outliers)
    task = reactions["task"].str.lower().to_numpy()
    eligible = ok.copy()
    for i in np.flatnonzero(ok):
        if task[i] in _NEGATIVE_TASKS:
            eligible[i] = False
            reason[i] = f"negative control ({task[i]})"
            notes[i].append(f"amplification in a negative control ({task[i]})")
        elif task[i] == "omit":
            eligible[i] = False
            reason[i] = "omitted in the file"
        elif exclude_no_plateau and not plateau[i]:
            eligible[i] = False
            reason[i] = "no plateau"

    # log-phase points (baseline-corrected) for the window and the Cq
    corr = mat - np.where(ok, base, 0.0)[:, None]
    phase_m = ok[:, None] & (idx[None, :] >= start[:, None]) & (idx[None, :] <= top[:, None])
    y_all = np.full(mat.shape, np.nan)
    pos = ok[:, None] & valid & (corr > 0)
    y_all[pos] = np.log10(corr[pos])

    groups = reactions["group"].to_numpy()
    n_win = np.zeros(n_r, dtype=np.int64)
    e_win = np.full(n_r, np.nan)
    r2_win = np.full(n_r, np.nan)
    w_lo = np.full(n_r, np.nan)
    w_up = np.full(n_r, np.nan)
    mean_e = np.full(n_r, np.nan)
    sd_e = np.full(n_r, np.nan)
    n_mean = np.zeros(n_r, dtype=np.int64)
    used = np.zeros(n_r, dtype=bool)
    log_thr_group: dict[str, float] = {}
    for g in dict.fromkeys(groups):
        members = np.flatnonzero(groups == g)
        elig = members[eligible[members]]
        analysed = members[ok[members]]
        if len(analysed) == 0:
            continue
        # 6. common window-of-linearity (positions from the eligible wells, or all analysed)
        basis = elig if len(elig) else analysed
        win = _common_window(y_all[basis], phase_m[basis], grid, eff[basis],
                             window_cycles)
        if win is not None:
            w_lo[members], w_up[members] = win
            m = phase_m[analysed] & (y_all[analysed] >= win[0]) & (y_all[analysed] <= win[1])
            s, _, rr = _masked_slope(np.broadcast_to(grid, m.shape),
                                     np.where(m, y_all[analysed], 0.0), m)
            n_win[analysed] = m.sum(axis=1)
            fine = n_win[analysed] >= 3
            e_win[analysed] = np.where(fine, 10.0 ** s, np.nan)
            r2_win[analysed] = np.where(fine, rr, np.nan)
        indiv = e_win if efficiency_from == "window" else eff
        # 7. outliers and the mean
        cand = elig[np.isfinite(indiv[elig])]
        for i in elig[~np.isfinite(indiv[elig])]:
            reason[i] = "fewer than 3 points in the common window"
        if len(cand):
            med = float(np.median(indiv[cand]))
            keep = cand
            if outlier is not None:
                dev = np.abs(indiv[cand] / med - 1.0)
                keep = cand[dev <= outlier]
                for i in cand[dev > outlier]:
                    reason[i] = (f"efficiency outlier ({indiv[i]:.3f} is "
                                 f"{100 * (indiv[i] / med - 1):+.1f} % from the median "
                                 f"{med:.3f})")
            if len(keep):
                used[keep] = True
                mean_e[members] = float(np.mean(indiv[keep]))
                sd_e[members] = float(np.std(indiv[keep], ddof=1)) if len(keep) > 1 \
                    else math.nan
                n_mean[members] = len(keep)
        if win is not None and np.isfinite(mean_e[members[0]]):
            log_thr_group[g] = win[1] - math.log10(mean_e[members[0]])

    # 8. threshold, Cq, N0
    if isinstance(threshold, str):
        if threshold == "common":
            common = float(np.mean(list(log_thr_group.values()))) if log_thr_group \
                else math.nan
            log_thr = np.full(n_r, common)
        else:
            log_thr = np.array([log_thr_group.get(g, math.nan) for g in groups])
    else:
        log_thr = np.full(n_r, math.log10(float(threshold)))
    cq = np.full(n_r, np.nan)
    for i in np.flatnonzero(ok & np.isfinite(log_thr)):
        cq[i], note = _crossing(y_all[i], grid, int(start[i]), int(top[i]), int(last[i]),
                                log_thr[i], s_mean=float(slope[i]),
                                fit=(y_fit[i], fit_m[i]))
        if note:
            notes[i].append(note)
    with np.errstate(over="ignore", invalid="ignore"):
        thr = 10.0 ** log_thr
        n0 = np.where(np.isfinite(cq), thr / mean_e ** cq, np.nan)
    for i in np.flatnonzero(ok & ~np.isfinite(mean_e)):
        notes[i].append("no mean efficiency for the group (no usable well)")

    for j in range(n_r):
        if reason[j] and reason[j] not in notes[j]:
            notes[j].insert(0, reason[j])
    fc = grid[0]
    out = pd.DataFrame({
        "run": reactions["run"], "well": reactions["well"], "sample": reactions["sample"],
        "target": reactions["target"], "task": reactions["task"],
        "group": reactions["group"], "n_cycles": n_valid.astype(np.int64),
        "amplified": amp, "plateau": plateau, "baseline_error": amp & ~ok,
        "baseline": base, "td0": td0,
        "log_phase_first": np.where(ok, start + fc, np.nan),
        "log_phase_last": np.where(ok, top + fc, np.nan),
        "n_log_phase": np.where(amp, np.maximum(n_log, 0), 0).astype(np.int64),
        "n_fit": np.where(ok, n_fit, 0).astype(np.int64),
        "efficiency": eff, "r2": r2,
        "window_lower": w_lo, "window_upper": w_up, "n_window": n_win,
        "efficiency_window": e_win, "r2_window": r2_win,
        "mean_efficiency": mean_e, "mean_efficiency_sd": sd_e, "n_mean": n_mean,
        "used_for_mean": used, "threshold": thr, "cq": cq, "n0": n0,
        "excluded_reason": ["" if used[i] else (reason[i] or "not analysed")
                            for i in range(n_r)],
        "flag": ["; ".join(dict.fromkeys(n)) for n in notes],
    })
    return out[list(LINREG_COLUMNS)]


def _common_window(y: NDArray[np.float64], phase: NDArray[np.bool_],
                   grid: NDArray[np.float64], eff: NDArray[np.float64],
                   width_cycles: float, step: float = 0.01,
                   min_points: int = 3) -> tuple[float, float] | None:
    """Window (lower, upper) in log10 fluorescence with the smallest CV of efficiencies."""
    e = eff[np.isfinite(eff)]
    if len(e) == 0:
        return None
    width = width_cycles * math.log10(float(np.median(e)))
    phase = phase & np.isfinite(y)
    tops = np.where(phase, y, -np.inf).max(axis=1)
    bottoms = np.where(phase, y, np.inf).min(axis=1)
    upper0 = float(tops.min())
    lowest = float(bottoms.min())
    k = max(1, int(math.floor((upper0 - width - lowest) / step)) + 1)
    uppers = upper0 - step * np.arange(k)
    lowers = uppers - width
    cols = phase.any(axis=0)  # only the cycles some log-linear phase covers
    y, phase, grid = y[:, cols], phase[:, cols], grid[cols]
    counts, slopes = [], []
    for a in range(0, k, 64):  # blocks of positions: bounded memory, stop when done
        lo_b, up_b = lowers[a:a + 64], uppers[a:a + 64]
        inwin = phase[:, None, :] & (y[:, None, :] >= lo_b[None, :, None]) & \
            (y[:, None, :] <= up_b[None, :, None])
        counts.append(inwin.sum(axis=2))
        slopes.append(_masked_slope(np.broadcast_to(grid, inwin.shape),
                                    np.where(inwin, y[:, None, :], 0.0), inwin)[0])
        if not (counts[-1] >= min_points).all():
            break
    cnt = np.concatenate(counts, axis=1)
    s = np.concatenate(slopes, axis=1)
    ok_pos: NDArray[np.bool_] = np.asarray((cnt >= min_points).all(axis=0))
    if not ok_pos[0]:
        return float(lowers[0]), float(uppers[0])
    stop = int(np.argmin(ok_pos)) if not ok_pos.all() else int(ok_pos.size)
    with np.errstate(over="ignore", invalid="ignore"):
        ew = 10.0 ** s[:, :stop]
    if ew.shape[0] < 2:
        return float(lowers[0]), float(uppers[0])
    cv = ew.std(axis=0, ddof=1) / ew.mean(axis=0)
    minima = [j for j in range(len(cv)) if (j == 0 or cv[j] < cv[j - 1])
              and (j == len(cv) - 1 or cv[j] <= cv[j + 1])]
    end = minima[1] + 1 if len(minima) > 1 else len(cv)
    best = int(np.nanargmin(cv[:end]))
    return float(lowers[best]), float(uppers[best])


def _crossing(y: NDArray[np.float64], grid: NDArray[np.float64], start: int, top: int,
              last: int, log_thr: float, *, s_mean: float,
              fit: tuple[NDArray[np.float64], NDArray[np.bool_]]) -> tuple[float, str]:
    """Fractional cycle where log10(F − baseline) first reaches log_thr (and a note)."""
    seg = y[start:last + 1]
    hit = np.flatnonzero(np.isfinite(seg) & (seg >= log_thr))
    if len(hit) == 0:
        return math.nan, "threshold not reached"
    j = start + int(hit[0])
    if j == start or not np.isfinite(y[j - 1]):
        yf, mf = fit
        xm = float(grid[mf].mean())
        ym = float(yf[mf].mean())
        return xm + (log_thr - ym) / s_mean, "Cq extrapolated below the log-linear phase"
    c = float(grid[j - 1] + (log_thr - y[j - 1]) / (y[j] - y[j - 1]))
    return c, "threshold above the log-linear phase" if j > top + 1 else ""


# --------------------------------------------------------------------------- summaries
def linreg_targets(table: pd.DataFrame) -> pd.DataFrame:
    """One row per amplicon group of a :func:`linreg_efficiency` table
    (:data:`LINREG_TARGET_COLUMNS`)."""
    rows = []
    for g, t in table.groupby("group", sort=False):
        r0 = t.iloc[0]
        thr = t["threshold"].dropna()
        n = int(r0["n_mean"])
        sd = float(r0["mean_efficiency_sd"])
        rows.append({"group": g, "target": ", ".join(dict.fromkeys(t["target"])),
                     "mean_efficiency": float(r0["mean_efficiency"]),
                     "mean_efficiency_sd": sd,
                     "efficiency_se": sd / math.sqrt(n) if n > 1 else math.nan,
                     "n_mean": n, "n_wells": len(t),
                     "window_lower": float(r0["window_lower"]),
                     "window_upper": float(r0["window_upper"]),
                     "threshold": float(thr.iloc[0]) if len(thr) else math.nan})
    return pd.DataFrame(rows, columns=list(LINREG_TARGET_COLUMNS))


def read_linreg_input(path: str | Path) -> pd.DataFrame:
    """Amplification curves of a file: RDML (``<adp>``, with each well's task) or a long
    table ``well, target, cycle, fluorescence`` [+ ``sample``, ``run``, ``task``]."""
    from .io import detect_format

    p = Path(path)
    if detect_format(p) == "rdml":
        from .rdml import read_rdml, read_rdml_curves

        curves = read_rdml_curves(p)
        if curves.empty:
            raise InputError("the RDML file has no raw amplification curves (<adp>)", file=p)
        tasks = read_rdml(p)[["run", "well", "target", "task"]].drop_duplicates(
            ["run", "well", "target"])
        return curves.merge(tasks, on=["run", "well", "target"], how="left")
    from ..tables import read_table, require_columns, require_numeric

    tab = read_table(p, keys=["well", "target", "sample", "run", "task"])
    tab.columns = [str(c).strip() for c in tab.columns]
    low = {c.lower(): c for c in tab.columns}
    rename: dict[str, str] = {low[k]: k for k in ("well", "target", "sample", "run", "task",
                                                  "cycle") if k in low and low[k] != k}
    for alias in ("fluorescence", "fluor", "rfu", "signal"):
        if alias in low:
            rename[low[alias]] = "fluorescence"
            break
    tab = tab.rename(columns=rename)
    require_columns(tab, ["well", "target", "cycle", "fluorescence"], file=p)
    row_offset = 2 if p.suffix.lower() in (".csv", ".tsv", ".txt", ".xlsx", ".xlsm") else 1
    return tab.assign(
        cycle=require_numeric(tab, "cycle", file=p, row_offset=row_offset),
        fluorescence=require_numeric(tab, "fluorescence", file=p, allow_nan=True,
                                     row_offset=row_offset))


def linreg_wells(wells: pd.DataFrame, table: pd.DataFrame) -> tuple[pd.DataFrame,
                                                                    pd.DataFrame]:
    """Well table with LinRegPCR's Cq and mean efficiency, and the efficiency table.

    ``wells`` is the well table of the same file(s) (:func:`preclin.qpcr.read_qpcr`);
    ``table`` is :func:`linreg_efficiency`'s result grouped by target. Each well's ``cq``
    becomes the LinRegPCR Cq at the common threshold (its ``undetermined`` and ``flag``
    say why when there is none) and ``efficiency`` its target's mean efficiency. The second
    table (``target, efficiency, efficiency_se, df, source``) is what
    :func:`preclin.qpcr.relative_quantities` takes as ``efficiency``.
    """
    key = ["run", "well", "target"]
    lr: dict[tuple[str, str, str], dict[Any, Any]] = {
        (str(r["run"]), str(r["well"]), str(r["target"])): r
        for r in table.drop_duplicates(key).to_dict("records")}
    out = wells.copy()
    cqs, und, flags, effs = [], [], [], []
    for r in out.itertuples(index=False):
        k = (str(r.run), str(r.well), str(r.target))
        if k not in lr:
            cqs.append(math.nan)
            und.append(True)
            flags.append("; ".join(x for x in (str(r.flag), "no amplification curve for "
                                               "LinRegPCR") if x))
            effs.append(math.nan)
            continue
        row = lr[k]
        cq = float(row["cq"])
        parts = [p for p in str(r.flag).split("; ") if p and not p.startswith(
            ("undetermined", "NTC", "no-RT control"))]
        if r.task == "ntc":
            parts.insert(0, "NTC amplified" if math.isfinite(cq) else "NTC")
        elif r.task == "nrt":
            parts.insert(0, "no-RT control amplified" if math.isfinite(cq) else
                         "no-RT control")
        if not math.isfinite(cq):
            parts.append("LinRegPCR: " + (str(row["excluded_reason"]) or str(row["flag"])
                                          or "no Cq"))
        cqs.append(cq)
        und.append(not math.isfinite(cq))
        flags.append("; ".join(parts))
        effs.append(float(row["mean_efficiency"]))
    out["cq"] = cqs
    out["undetermined"] = und
    out["flag"] = flags
    out["efficiency"] = effs
    out["cq_raw"] = [f"{c:.4f}" if math.isfinite(c) else "" for c in cqs]
    summary = linreg_targets(table)
    eff_rows: list[dict[str, Any]] = []
    for s in summary.to_dict("records"):
        if not math.isfinite(s["mean_efficiency"]):
            continue
        n = int(s["n_mean"])
        eff_rows.append({"target": s["target"], "efficiency": s["mean_efficiency"],
                         "efficiency_se": s["efficiency_se"] if n > 1 else 0.0,
                         "df": float(n - 1) if n > 1 else math.inf,
                         "source": f"LinRegPCR mean of {n} well(s)"})
    return out, pd.DataFrame(eff_rows, columns=["target", "efficiency", "efficiency_se",
                                                "df", "source"])
