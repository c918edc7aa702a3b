"""Fit dose-response curves to every curve of a long table at once.

The result table has one row per curve — every curve of the input, whatever happened to
it — with the columns documented in :data:`TABLE_COLUMNS`.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable, Iterable, Mapping, Sequence
from contextvars import ContextVar
from dataclasses import dataclass, field
from pathlib import Path
from types import ModuleType

import numpy as np
import pandas as pd
from numpy.typing import NDArray

from ..errors import InputError
from ..tables import column_list as _as_list
from ..tables import exclusion_flags, require_columns, require_keys, require_numeric
from . import _lm, _npops
from .models import PARAM_NAMES, PUBLIC_NAMES, Model, get_model

__all__ = ["fit", "DoseResponseFit", "TABLE_COLUMNS", "STATUSES", "ed_columns"]

Array = NDArray[np.float64]

#: curves fitted per engine call (bounds work memory; results do not depend on it)
CHUNK_CURVES = 100_000

#: ``engine="auto"`` fits with the compiled engine from this many curves on, with the
#: numpy engine below (no compile wait; a few ms per curve). The choice depends on the
#: job alone, never on whether compiled kernels are cached, so a table does not change
#: between a first and a later run.
AUTO_NUMBA_CURVES = 2_000
#: key columns of at least this many rows are encoded by the compiled helpers (same
#: integers as the numpy ones, which serve smaller tables without compiling anything)
COMPILED_KEY_ROWS = 2_000_000
#: engines accepted by :func:`fit`
ENGINES = ("auto", "numba", "numpy", "dask")

# the helper module (compiled ``_kernel`` or its numpy twin ``_npops``) of the engine that
# is fitting in this context; the summaries of ``_assemble`` use the same one
_OPS: ContextVar[ModuleType] = ContextVar("preclin_doseresponse_ops", default=_npops)


def _compiled() -> ModuleType:
    """The compiled kernels (imports numba; compiles on first use unless cached).

    When the kernels are not in numba's cache yet, says so once on the ``preclin`` logger
    (the command line prints it), since the first compiled fit then waits about a minute.
    """
    from . import _kernel as kernel

    global _compile_notice_given
    if not _compile_notice_given and kernel.kernels_cached() is False:
        _compile_notice_given = True
        import logging

        logging.getLogger("preclin").info(
            "compiling the fitting kernels (once, about a minute; cached for later runs)")
    return kernel


_compile_notice_given = False


def resolve_engine(engine: str, n_curves: int) -> str:
    """The engine that fits ``n_curves`` curves: ``"auto"`` becomes ``"numpy"`` below
    :data:`AUTO_NUMBA_CURVES` curves and ``"numba"`` from there on."""
    if engine not in ENGINES:
        import difflib

        close = difflib.get_close_matches(engine, ENGINES, n=1)
        hint = f" (did you mean '{close[0]}'?)" if close else ""
        raise InputError(f"unknown engine '{engine}'{hint}; use one of {', '.join(ENGINES)}")
    if engine == "auto":
        return "numba" if n_curves >= AUTO_NUMBA_CURVES else "numpy"
    return engine

#: Column documentation of :attr:`DoseResponseFit.table` (units in brackets).
TABLE_COLUMNS: dict[str, str] = {
    "<by columns>": "the grouping columns that identify the curve",
    "model": "model name (ll4, ll3, ll5, w14, w24, ... with fixed parameters in brackets)",
    "n": "number of points used in the fit",
    "n_doses": "number of distinct doses used",
    "status": "ok, or why the curve is not a clean fit (see STATUSES)",
    "bottom": "c: lower asymptote [response units]",
    "top": "d: upper asymptote [response units]",
    "ec50": "e: inflection dose (drc's e, Prism's relative IC50) [dose units]",
    "hill": "b: slope in drc's sign convention (b > 0: response falls with dose) [1]",
    "asym": "f: asymmetry of LL.5 (1 for other models)",
    "ec50_lower, ec50_upper": "95% delta-method CI of ec50, estimate ± t(0.975, df)·SE "
    "(drc's; with ci='log' the log-scale interval below instead) [dose units]",
    "ec50_lower_log, ec50_upper_log": "95% CI of ec50 on the log scale, as Prism reports it: "
    "10^(log10_ec50 ∓ t(0.975, df)·log10_ec50_se); asymmetric, always positive [dose units]",
    "log10_ec50, log10_ec50_se": "log10 of ec50 (Prism's LogEC50/LogIC50) and its standard "
    "error SE(ec50)/(ec50·ln 10) (the Wald SE of log10 ec50) [log10 dose units]",
    "<param>_se": "standard errors from the inverse full Hessian of the RSS times σ² (as drc)",
    "rss": "residual sum of squares [response units²]",
    "df": "residual degrees of freedom (n − number of estimated parameters)",
    "sigma": "residual standard error sqrt(rss/df) [response units]",
    "loglik, aic, bic": "Gaussian log-likelihood and information criteria (drc's definitions)",
    "p_effect": "extra-sum-of-squares F test of the model against a flat line (mean)",
    "lof_f, lof_p": "lack-of-fit F test against one mean per dose (where doses are replicated)",
    "auc": "area under the fitted curve over the tested log10-dose range divided by its width "
    "(mean fitted response) [response units]",
    "activity_area": "area between the reference level (100 by default) and the fitted curve over "
    "the tested log10-dose range, as a fraction of the reference [log10 dose units]",
    "edX, edX_lower, edX_upper": "dose at which the response has moved X% of the way from the "
    "zero-dose asymptote to the other one (drc's relative ED) and its 95% delta-method CI "
    "(with ci='log' the log-scale interval instead)",
    "edX_lower_log, edX_upper_log": "95% CI of edX on the log scale: "
    "edX·exp(∓ t(0.975, df)·SE(edX)/edX) (delta method on log edX) [dose units]",
    "dose_min, dose_max": "lowest positive and highest dose tested [dose units]",
    "df_sigma": "degrees of freedom of sigma (pooled df when pool_variance=True)",
    "n_outliers": "points whose residual exceeds 5 SDs, the SD being the larger of 1.4826·MAD "
    "and the RMS of the residuals (a screen, not ROUT)",
    "converged, iterations": "optimiser diagnostics",
    "at_bound": "the optimiser stopped on a bound (|hill| = 1000, ec50 e^12 times beyond "
    "the tested range, an asymptote 100 response ranges beyond the data) or stalled while a "
    "parameter ran off: the least-squares optimum lies at infinity (a step between two doses, "
    "no plateau within the range)",
    "message": "plain-language explanation of the status",
}

#: statuses a curve can end with, from the most to the least severe
STATUSES: dict[str, str] = {
    "no_data": "no usable point (all points excluded or missing)",
    "too_few_points": "fewer distinct doses than parameters to estimate, or no more points "
    "than parameters",
    "no_convergence": "the optimiser did not reach a minimum (or a parameter is not finite)",
    "flat": "no significant dose effect (F test against a flat line, p >= alpha)",
    "not_identifiable": "the minimum is not unique (Hessian singular: not positive definite "
    "once scaled to a unit diagonal, a Cholesky pivot below 1e-7): no standard errors",
    "ec50_above_range": "ec50 lies above the highest tested dose",
    "ec50_below_range": "ec50 lies below the lowest positive tested dose",
    "outliers": "at least one point lies more than 5 SDs from the curve (see n_outliers)",
    "ambiguous": "the data do not determine the curve: the optimum lies at infinity "
    "(at_bound), the parameters are nearly redundant (a dependency above 0.9999, Prism's "
    "rule), an asymptote lies beyond the observed responses by more than their range, or "
    "the ec50 is not located within a factor of 10 either way (95% CI of log10 ec50 wider "
    "than ±1)",
    "ok": "clean, determined fit with the ec50 inside the tested range",
}

#: ``ambiguous`` when the largest parameter dependency 1 − 1/(V_ii·(V⁻¹)_ii) exceeds this
#: (GraphPad Prism's definition of an ambiguous fit)
MAX_DEPENDENCY = 0.9999
#: ``ambiguous`` when the half-width t(0.975, df)·SE(log10 ec50) of the 95% CI of log10 ec50
#: exceeds this many decades (the ec50 known no better than within a factor of 10 either way)
MAX_LOG10_EC50_HALF_WIDTH = 1.0
#: ways of computing the ec50/edX CIs reported in ``ec50_lower``/``ec50_upper`` etc.
CI_SCALES = ("linear", "log")


def ed_columns(level: float) -> tuple[str, str, str]:
    """Names of the estimate and CI columns of one ED level (``ed50``, ...)."""
    name = f"ed{level:g}".replace(".", "_")
    return name, f"{name}_lower", f"{name}_upper"


@dataclass(frozen=True)
class DoseResponseFit:
    """Result of :func:`fit`.

    Attributes
    ----------
    table
        One row per input curve (see :data:`TABLE_COLUMNS`).
    points
        The points that were used: grouping columns, ``dose``, ``response``.
    excluded
        Points left out, each with a ``reason``: grouping columns, ``dose``,
        ``response``, ``source_row`` (0-based position in the input table), ``reason``.
    by
        Grouping column names.
    model
        The fitted :class:`~preclin.doseresponse.models.Model`.
    dose_unit
        Unit of the dose column (for labels), may be empty.
    vcov
        ``(n_curves, k, k)`` covariance of the free parameters in drc's
        parameterisation (``e`` in dose units), NaN where not available.
    """

    table: pd.DataFrame
    points: pd.DataFrame
    excluded: pd.DataFrame
    by: list[str]
    model: Model
    dose_unit: str = ""
    ed: tuple[float, ...] = (50.0,)
    vcov: Array = field(default_factory=lambda: np.zeros((0, 0, 0)))

    def summary(self) -> pd.Series:
        """Number of curves per status."""
        return self.table["status"].value_counts().reindex(list(STATUSES), fill_value=0)




def _factorize(col: pd.Series) -> tuple[NDArray[np.integer], int]:
    """Codes (in order of first appearance, missing values a code of their own) and the
    number of distinct values of one key column.

    Arrow-backed columns (pandas' default strings) are dictionary-encoded by Arrow itself:
    twice as fast as :func:`pandas.factorize` and without its int64 intermediates.
    Categoricals and Arrow dictionary columns use their codes (Arrow's per-chunk
    dictionaries unified first), renumbered in order of first appearance.
    """
    ops = _compiled() if len(col) >= COMPILED_KEY_ROWS else _npops
    if isinstance(col.dtype, pd.CategoricalDtype):
        cat = col.cat.codes.to_numpy()
        return ops.rank_by_first(cat, len(col.cat.categories))
    arr = col.array
    chunked = getattr(arr, "_pa_array", None)
    if chunked is not None and len(chunked):
        import pyarrow as pa
        import pyarrow.compute as pc

        if pa.types.is_dictionary(chunked.type):
            # chunks may carry different dictionaries: unify them, then take the indices
            uni = chunked.unify_dictionaries()
            parts = [(pc.fill_null(ch.indices, -1) if ch.null_count else ch.indices)
                     .to_numpy(zero_copy_only=False) for ch in uni.chunks]
            cat = np.concatenate(parts) if len(parts) > 1 else parts[0]
            return ops.rank_by_first(cat, len(uni.chunks[0].dictionary))
        enc = pc.dictionary_encode(chunked, null_encoding="encode")
        if isinstance(enc, pa.ChunkedArray):
            # one memo table for all chunks: the indices are global, the last chunk's
            # dictionary holds every value
            parts = [ch.indices.to_numpy(zero_copy_only=False) for ch in enc.chunks]
            codes = np.concatenate(parts) if len(parts) > 1 else parts[0]
            return codes, len(enc.chunks[-1].dictionary)
        return enc.indices.to_numpy(zero_copy_only=False), len(enc.dictionary)
    codes, uniq = pd.factorize(col, sort=False, use_na_sentinel=False)
    return codes, len(uniq)


def curve_keys(df: pd.DataFrame,
               by_cols: list[str]) -> tuple[NDArray[np.integer], pd.DataFrame]:
    """Curve index of every row and the curves' key values, in order of first appearance.

    Missing key values form their own curve (nothing is dropped); without ``by_cols`` all
    rows are one curve.
    """
    if not by_cols:
        return np.zeros(len(df), dtype=np.int64), pd.DataFrame(index=[0])
    combined: NDArray[np.int64] | None = None
    radix = 1
    for col in by_cols:
        c, n_uniq = _factorize(df[col])
        radix *= max(n_uniq, 1)
        if radix >= 2**62:  # mixed-radix code would overflow: let pandas group
            c = df[by_cols].groupby(by_cols, sort=False, dropna=False).ngroup().to_numpy()
            combined = None
            break
        if len(by_cols) > 1:
            c64 = np.asarray(c, dtype=np.int64)
            combined = c64 if combined is None else combined * n_uniq + c64
    if combined is None or len(by_cols) == 1:
        codes = c  # int32 from Arrow: half the memory
    else:
        codes = pd.factorize(combined, sort=False)[0]
    ops = _compiled() if codes.size >= COMPILED_KEY_ROWS else _npops
    first = ops.first_rows(codes, int(codes.max()) + 1 if codes.size else 0)
    return codes, df[by_cols].iloc[first].reset_index(drop=True)


def _parse_levels(ed: Iterable[float] | float | str | None) -> tuple[float, ...]:
    if ed is None:
        return ()
    if isinstance(ed, str):
        items: list[object] = [s for s in ed.split(",") if s.strip()]
    elif isinstance(ed, (int, float)):
        items = [ed]
    else:
        items = list(ed)
    out: list[float] = []
    for item in items:
        try:
            val = float(item)  # type: ignore[arg-type]
        except (TypeError, ValueError):
            raise InputError(f"ED level {item!r} is not a number") from None
        if not 0 < val < 100:
            raise InputError(f"ED level {val:g} must be between 0 and 100 (exclusive)")
        out.append(val)
    return tuple(dict.fromkeys(out))


def fit(
    data: pd.DataFrame | str | Path,
    *,
    dose: str,
    response: str,
    by: str | Sequence[str] | None = None,
    model: str | Model = "ll4",
    ed: Iterable[float] | float | str | None = (50,),
    fixed: Mapping[str, float] | None = None,
    weights: str | None = None,
    dose_unit: str = "",
    alpha: float = 0.05,
    reference: float = 100.0,
    exclude_column: str | None = "excluded",
    reason_column: str = "reason",
    file: str | Path | None = None,
    n_starts: int = 3,
    pool_variance: bool = False,
    ci: str = "linear",
    engine: str = "auto",
    progress: Callable[[int, int], None] | None = None,
    scheduler: str | None = None,
) -> DoseResponseFit:
    """Fit a dose-response model to every curve of a long table.

    Parameters
    ----------
    data
        Long table, one row per well/point.
    dose, response
        Column names of the dose (>= 0, any unit) and the response.
    by
        Column(s) identifying a curve (e.g. ``["cell_line", "drug"]``); ``None`` fits
        all rows as one curve.
    model
        ``"ll4"`` (default; Prism's "log(inhibitor) vs response, variable slope"),
        ``"ll3"``, ``"ll5"``, ``"w14"``, ``"w24"``, ... or drc names (``"LL.4"``).
    ed
        Effect levels X (0 < X < 100) for which ``edX`` and its 95% CI are reported.
    fixed
        Parameters to hold constant, e.g. ``{"bottom": 0, "top": 100}``.
    weights
        Optional column of case weights (weighted least squares).
    dose_unit
        Unit label for the dose (used by plots and reports).
    alpha
        Level of the "any effect" F test that marks a curve ``flat``.
    reference
        Response level meaning "no effect" for ``activity_area`` (100 for % viability).
    exclude_column, reason_column
        If the table has a boolean ``exclude_column`` (as written by
        :func:`preclin.plates.normalise`), rows marked True are left out and listed in
        ``excluded`` with the reason in ``reason_column``. A column of that name holding
        anything but True/False, 1/0 or empty cells is refused as a name conflict
        (:func:`preclin.tables.exclusion_flags`): a column's name never silently decides
        which rows are used.
    file
        Name of the file the table came from, for error messages.
    n_starts
        Number of best grid starting points refined by Levenberg–Marquardt.
    pool_variance
        Use one residual variance pooled over all fitted curves (sum of RSS over sum of
        residual df), as drc does when several curves are fitted in one ``drm`` call
        with ``curveid``; standard errors, CIs and t quantiles then use the pooled df.
    ci
        Which 95% CI of ec50 and of the edX go in ``ec50_lower``/``ec50_upper`` and
        ``edX_lower``/``edX_upper``: ``"linear"`` (default; estimate ± t·SE, drc's) or
        ``"log"`` (Prism's: symmetric on the log scale, 10^(log10 ec50 ± t·SE(log10 ec50)),
        always positive). The log-scale intervals are always also in the ``*_log`` columns.
        Statuses do not depend on this choice.
    engine
        ``"auto"`` (default: ``"numpy"`` below :data:`AUTO_NUMBA_CURVES` curves, else
        ``"numba"``; decided by the job alone so results never depend on a cache),
        ``"numba"`` (compiled, one curve per task, parallel; compiled once on first use,
        then cached), ``"numpy"`` (the batched reference implementation of the same
        algorithm, nothing to compile) or ``"dask"``
        (the numba engine mapped over partitions on a dask.distributed cluster; ``data``
        may then also be a Parquet path; see :func:`.dask_engine.fit_dask`).
    progress
        Called as ``progress(done, total)`` after each chunk of curves is fitted.
    scheduler
        With ``engine="dask"``: a scheduler address (``tcp://host:8786``); None starts a
        local cluster for the call.

    Returns
    -------
    DoseResponseFit

    Raises
    ------
    InputError
        Missing columns, non-numeric or negative doses, non-numeric responses, an
        unknown ``ci`` or ``engine``.
    """
    resolve_engine(engine, 0)  # check the option before touching the data
    if ci not in CI_SCALES:
        raise InputError(f"unknown ci '{ci}'; use one of {', '.join(CI_SCALES)}")
    if engine == "dask":
        from .dask_engine import fit_dask

        return fit_dask(
            data, dose=dose, response=response, by=by, scheduler=scheduler, model=model,
            ed=ed, fixed=fixed, weights=weights, dose_unit=dose_unit, alpha=alpha,
            reference=reference, exclude_column=exclude_column, reason_column=reason_column,
            file=file, n_starts=n_starts, pool_variance=pool_variance, progress=progress,
            ci=ci,
        )
    by_cols = _as_list(by)
    mdl = get_model(model, fixed)
    levels = _parse_levels(ed)
    if not isinstance(data, pd.DataFrame):
        raise InputError("expected a table (pandas.DataFrame); a Parquet path needs "
                         "engine='dask'", file=file)
    if data.shape[0] == 0:
        raise InputError("the table has no rows", file=file)
    needed = [dose, response, *by_cols] + ([weights] if weights else [])
    require_columns(data, needed, file=file)
    df = data.reset_index(drop=True)
    x = require_numeric(df, dose, file=file, nonnegative=True)
    if np.isinf(x.to_numpy()).any():
        pos = int(np.isinf(x.to_numpy()).nonzero()[0][0])
        raise InputError(f"column '{dose}' must be finite", file=file, location=f"row {pos + 2}")
    y = require_numeric(df, response, file=file, allow_nan=True)
    wts = None
    if weights:
        wts = require_numeric(df, weights, file=file, nonnegative=True).to_numpy()

    # --- curve identity (every curve of the input appears in the output)
    require_keys(df, by_cols, file=file)
    codes, curves = curve_keys(df, by_cols)
    n_curves = len(curves)

    # --- which points are used; the others are listed with a reason
    yv = y.to_numpy()
    xv = x.to_numpy()
    excl = exclusion_flags(df, exclude_column, file=file)
    used = np.isfinite(yv)
    if excl is not None:
        used &= ~excl
    if wts is not None:
        used &= wts != 0
    table, vcov = _fit_packed(
        mdl, codes, xv, yv, used, n_curves, levels, wts, alpha, reference, n_starts,
        pool_variance, resolve_engine(engine, n_curves), progress,
    )
    if ci == "log":  # the log-scale intervals in the standard columns
        for est in ["ec50", *(ed_columns(level)[0] for level in levels)]:
            for side in ("lower", "upper"):
                table[f"{est}_{side}"] = table[f"{est}_{side}_log"]
    for pos, col in enumerate(by_cols):  # key columns first, without copying the table
        table.insert(pos, col, curves[col], allow_duplicates=True)

    if used.all():  # the common case: no copy of the input's columns
        pts = pd.DataFrame({**{c: df[c] for c in by_cols}, "dose": xv, "response": yv},
                           copy=False)
    else:
        pts = df.loc[used, by_cols].reset_index(drop=True)
        pts["dose"] = xv[used]
        pts["response"] = yv[used]
    left = np.nonzero(~used)[0]
    reasons = np.full(left.size, "response missing", dtype=object)
    if wts is not None:
        reasons[(wts[left] == 0) & np.isfinite(yv[left])] = "weight is zero"
    if excl is not None:
        upstream = excl[left]
        why = (df[reason_column].iloc[left].astype("string").fillna("").to_numpy()
               if reason_column in df.columns else np.full(left.size, "", dtype=object))
        reasons[upstream] = [str(r) or "excluded upstream" for r in why[upstream]]
    exc = df.iloc[left][by_cols].reset_index(drop=True)
    exc["dose"] = xv[left]
    exc["response"] = yv[left]
    exc["source_row"] = left
    exc["reason"] = reasons.astype(str)
    return DoseResponseFit(
        table=table,
        points=pts,
        excluded=exc,
        by=by_cols,
        model=mdl,
        dose_unit=dose_unit,
        ed=levels,
        vcov=vcov,
    )


def _fit_packed(
    mdl: Model,
    codes: NDArray[np.integer],
    x: Array,
    y: Array,
    used: NDArray[np.bool_],
    n_curves: int,
    levels: tuple[float, ...],
    w: Array | None,
    alpha: float,
    reference: float,
    n_starts: int,
    pool_variance: bool = False,
    engine: str = "numba",
    progress: Callable[[int, int], None] | None = None,
) -> tuple[pd.DataFrame, Array]:
    """Fit all curves (already validated) and build the result table (no by-columns)."""
    engine = resolve_engine(engine, n_curves)
    ops = _compiled() if engine == "numba" else _npops
    token = _OPS.set(ops)
    try:
        if engine == "numba":
            fl, it, minv = ops.fit_long(mdl, codes, x, y, w, used, n_curves,
                                        n_starts=max(1, n_starts), reference=reference,
                                        chunk=CHUNK_CURVES, progress=progress)
        else:
            fl, it, minv = _numpy_per_curve(mdl, codes[used], x[used], y[used],
                                            None if w is None else w[used], n_curves,
                                            max(1, n_starts), reference, progress)
        return _assemble(mdl, fl, it, minv, levels, alpha, reference, pool_variance)
    finally:
        _OPS.reset(token)


def _numpy_per_curve(
    mdl: Model, codes: NDArray[np.integer], x: Array, y: Array, w: Array | None, n_curves: int,
    n_starts: int, reference: float, progress: Callable[[int, int], None] | None,
) -> tuple[dict[str, Array], dict[str, NDArray[np.int64]], Array]:
    """The numpy reference route to the per-curve quantities of :func:`._kernel.fit_long`:
    padded per-point arrays, batched grid + LM + Hessian, numpy summaries."""
    k = mdl.n_free
    # each curve's points in (dose, response, weight) order, as the compiled engine sums
    # them: results do not depend on the order of the input rows
    keys = (y, x, codes) if w is None else (w, y, x, codes)
    order = np.lexsort(keys)
    codes, x, y = codes[order], x[order], y[order]
    w = None if w is None else w[order]
    packed = _lm.pack(codes.astype(np.int64), x, y, n_curves, w)
    n = packed.n
    distinct, sspe, df_pe = _npops.distinct_and_pure_error(packed)
    todo = np.nonzero((n > 0) & (distinct >= k) & (n > k))[0]
    theta = np.full((n_curves, 5), np.nan)
    rss = np.full(n_curves, np.nan)
    conv = np.zeros(n_curves, dtype=bool)
    iters = np.zeros(n_curves, dtype=np.int64)
    bound = np.zeros(n_curves, dtype=bool)
    minv = np.full((n_curves, k, k), np.nan)
    ident = np.zeros(n_curves, dtype=bool)
    # chunks bound the memory of the work arrays; every curve is an independent task
    for start in range(0, todo.size, CHUNK_CURVES):
        part = todo[start:start + CHUNK_CURVES]
        sub = _lm.Packed(packed.logx[part], packed.y[part], packed.w[part], n[part])
        th, r, cv, itr, bd, mi, idf = _numpy_engine(mdl, sub, n_starts)
        theta[part], rss[part], conv[part], iters[part], bound[part] = th, r, cv, itr, bd
        minv[part], ident[part] = mi, idf
        if progress is not None:
            progress(start + part.size, todo.size)
    sw = _npops.row_sums(packed.w, n)
    with np.errstate(invalid="ignore", divide="ignore"):
        mean = _npops.row_sums(packed.w * packed.y, n) / sw
    rss0 = _npops.row_sums(packed.w * (packed.y - mean[:, None]) ** 2, n)
    n_out, ymin, ymax = _outliers(mdl, theta, packed)
    lo, hi = _tested_range(packed)
    auc, area = _areas(mdl, theta, lo, hi, reference)
    floats = {"b": theta[:, 0], "c": theta[:, 1], "d": theta[:, 2], "log_e": theta[:, 3],
              "f": theta[:, 4], "rss": rss, "sspe": sspe, "rss0": rss0, "lo": lo, "hi": hi,
              "ymin": ymin, "ymax": ymax, "auc": auc, "area": area}
    ints: dict[str, NDArray[np.int64]] = {
        "converged": conv.astype(np.int64), "iterations": iters,
        "at_bound": bound.astype(np.int64), "identifiable": ident.astype(np.int64),
        "n": n, "distinct": distinct, "df_pe": df_pe, "n_outliers": n_out}
    floats = {name: np.asarray(v, dtype=np.float64) for name, v in floats.items()}
    return floats, ints, minv


def _assemble(
    mdl: Model, fl: Mapping[str, Array], ints: Mapping[str, NDArray[np.int64]], minv: Array,
    levels: tuple[float, ...], alpha: float, reference: float, pool_variance: bool,
) -> tuple[pd.DataFrame, Array]:
    """Result table (no by-columns) and covariances from the per-curve quantities."""
    k = mdl.n_free
    n = ints["n"]
    n_curves = n.size
    distinct = ints["distinct"]
    theta = np.stack([fl["b"], fl["c"], fl["d"], fl["log_e"], fl["f"]], axis=1)
    rss = fl["rss"]
    conv = ints["converged"].astype(bool)
    bound = ints["at_bound"].astype(bool)
    identifiable = ints["identifiable"].astype(bool)
    # status as an index into STATUSES (-1: not decided yet), the most severe first
    names = list(STATUSES)
    code = np.full(n_curves, -1, dtype=np.int8)

    def mark(mask: NDArray[np.bool_], name: str) -> None:
        code[(code < 0) & mask] = names.index(name)

    mark(n == 0, "no_data")
    mark((distinct < k) | (n <= k), "too_few_points")

    if mdl.family == "ll" and not mdl.five and not ({"c", "d", "b"} & set(mdl.fixed)):
        # canonical form: top >= bottom (b carries the direction), as drc reports it;
        # the covariance follows the reparameterisation (b -> -b, c <-> d)
        swap = theta[:, 1] > theta[:, 2]
        theta[swap, 0] *= -1
        theta[swap, 1], theta[swap, 2] = theta[swap, 2].copy(), theta[swap, 1].copy()
        perm = list(range(k))
        ic, id_ = mdl.free.index("c"), mdl.free.index("d")
        perm[ic], perm[id_] = id_, ic
        sign = np.ones(k)
        sign[mdl.free.index("b")] = -1.0
        minv[swap] = minv[swap][:, perm][:, :, perm] * np.outer(sign, sign)

    fitted = ~np.isnan(rss)
    df_res = (n - k).astype(float)
    with np.errstate(divide="ignore", invalid="ignore"):
        s2 = np.where(df_res > 0, rss / df_res, np.nan)
    df_t = df_res.copy()
    if pool_variance:
        pool = fitted & conv & (df_res > 0)
        if pool.any():
            df_pool = float(df_res[pool].sum())
            s2 = np.where(fitted, float(rss[pool].sum()) / df_pool, np.nan)
            df_t = np.where(fitted, df_pool, df_res)

    # --- covariance in drc's parameterisation: s² M⁻¹ with d(e)/d(log e) = e
    identifiable &= fitted & conv & ~bound
    jac = np.ones((n_curves, k))
    if "e" in mdl.free:
        jac[:, mdl.free.index("e")] = np.exp(theta[:, 3])
    vcov = minv  # in place: (n_curves, k, k) can be large
    with np.errstate(over="ignore", invalid="ignore"):
        vcov *= s2[:, None, None]
        vcov *= jac[:, :, None]
        vcov *= jac[:, None, :]
    vcov[~identifiable] = np.nan

    # a stationary point with a singular Hessian while parameters run off (e.g. a step
    # between two doses reached from a steep start) is an optimum at infinity as well
    lo, hi = fl["lo"], fl["hi"]
    ymin, ymax = fl["ymin"], fl["ymax"]
    off = _lm.running_off(np.nan_to_num(theta), np.nan_to_num(lo), np.nan_to_num(hi),
                          ymax - ymin)
    bound |= fitted & conv & ~identifiable & off

    # --- parameters and standard errors
    out: dict[str, object] = {
        "model": _text_column(np.zeros(n_curves, dtype=np.int32), [mdl.name]),
        "n": n,
        "n_doses": distinct,
        "status": None,  # filled in below (keeps the column order)
    }
    nat = theta.copy()
    nat[:, 3] = np.exp(theta[:, 3])
    order = ["c", "d", "e", "b"] + (["f"] if mdl.five else [])
    for p in order:
        out[PUBLIC_NAMES[p]] = nat[:, PARAM_NAMES.index(p)]
    tq = _t975(df_t)
    se: dict[str, Array] = {}
    for p in order:
        if p in mdl.free:
            j = mdl.free.index(p)
            se[p] = np.sqrt(np.where(vcov[:, j, j] >= 0, vcov[:, j, j], np.nan))
        else:
            se[p] = np.full(n_curves, np.nan)
    ec_lo = nat[:, 3] - tq * se["e"]
    ec_hi = nat[:, 3] + tq * se["e"]  # same formula as drc's ED(50) for LL
    out["ec50_lower"], out["ec50_upper"] = ec_lo, ec_hi
    # Prism's interval: log10 e ± t·SE(log10 e), back-transformed. SE(log10 e) =
    # SE(e)/(e·ln 10) is also the Wald SE of log10 e itself (at a stationary point the
    # Hessian follows the reparameterisation exactly)
    log10_e = theta[:, 3] / np.log(10.0)
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        se_log10 = se["e"] / (nat[:, 3] * np.log(10.0))
        half_log10 = tq * se_log10
        out["ec50_lower_log"] = 10.0 ** (log10_e - half_log10)
        out["ec50_upper_log"] = 10.0 ** (log10_e + half_log10)
    out["log10_ec50"] = log10_e
    out["log10_ec50_se"] = se_log10
    for p in order:
        out[f"{PUBLIC_NAMES[p]}_se"] = se[p]

    # --- goodness of fit
    nn = n.astype(float)
    with np.errstate(divide="ignore", invalid="ignore"):
        loglik = -nn / 2 * (np.log(2 * np.pi) + np.log(rss / nn) + 1)
    out["rss"] = rss
    out["df"] = np.where(fitted, df_res, np.nan)
    out["sigma"] = np.sqrt(s2)
    out["df_sigma"] = np.where(fitted, df_t, np.nan)
    out["loglik"] = loglik
    out["aic"] = -2 * loglik + 2 * (k + 1)
    with np.errstate(divide="ignore"):
        out["bic"] = -2 * loglik + np.log(nn) * (k + 1)
    p_effect = _effect_test(fl["rss0"], rss, n, k)
    out["p_effect"] = p_effect
    lof_f, lof_p = _lack_of_fit(rss, fl["sspe"], ints["df_pe"], distinct, k)
    out["lof_f"] = lof_f
    out["lof_p"] = lof_p
    n_out = ints["n_outliers"]
    out["n_outliers"] = n_out
    out["auc"] = np.where(fitted, fl["auc"], np.nan)
    out["activity_area"] = np.where(fitted & (reference != 0), fl["area"], np.nan)

    # --- effective doses
    for level in levels:
        est, sed = _ed(mdl, theta, vcov, level)
        name, lower, upper = ed_columns(level)
        out[name] = est
        out[lower] = est - tq * sed
        out[upper] = est + tq * sed
        with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
            rel = tq * sed / est  # t·SE(log edX), delta method
            out[f"{lower}_log"] = est * np.exp(-rel)
            out[f"{upper}_log"] = est * np.exp(rel)
    out["dose_min"] = np.exp(lo)
    out["dose_max"] = np.exp(hi)
    out["converged"] = conv
    out["at_bound"] = bound
    out["iterations"] = ints["iterations"]

    # --- status
    e = nat[:, 3]
    nonfinite = ~np.all(np.isfinite(theta[:, :4]), axis=1)
    mark(~conv | nonfinite, "no_convergence")
    mark(~(p_effect < alpha), "flat")
    mark(~identifiable & ~bound, "not_identifiable")
    mark(e > np.exp(hi) * (1 + 1e-9), "ec50_above_range")
    mark(e < np.exp(lo) * (1 - 1e-9), "ec50_below_range")
    mark(n_out > 0, "outliers")
    # ambiguous: is the fit determined? (never the scale of an interval: a linear CI of
    # ec50 reaching below 0 only says that SE(log10 e) > 1/(t·ln 10) ≈ 0.21)
    yrange = ymax - ymin
    wild = (nat[:, 1] < ymin - yrange) | (nat[:, 2] > ymax + yrange)
    dependent = np.zeros(n_curves, dtype=bool)
    todo = np.nonzero((code < 0) & identifiable)[0]
    dependent[todo] = _max_dependency(vcov[todo]) > MAX_DEPENDENCY
    if "e" in mdl.free:
        vague = ~(half_log10 <= MAX_LOG10_EC50_HALF_WIDTH)  # NaN: no CI at all
    else:
        vague = np.zeros(n_curves, dtype=bool)
    mark(bound | dependent | wild | vague, "ambiguous")
    mark(np.ones(n_curves, dtype=bool), "ok")
    out["status"] = _text_column(code, names)
    drift = (e > np.exp(hi)) | (e < np.exp(lo))
    why = [(dependent, _AMBIGUOUS_WHY["dependent"]), (wild & ~dependent, _AMBIGUOUS_WHY["wild"]),
           (vague & ~dependent & ~wild, _AMBIGUOUS_WHY["vague"])]
    out["message"] = _messages(code, p_effect, alpha, drift, bound, why)
    return pd.DataFrame(out, copy=False), vcov  # no copy of a million-row table


def _t975(df: Array) -> Array:
    """t quantile 0.975 for each df (NaN where df <= 0), computed once per distinct df."""
    good = df > 0
    out = np.full(df.shape, np.nan)
    if good.any():
        vals, inv = np.unique(df[good], return_inverse=True)
        out[good] = _OPS.get().t_quantile(vals, 0.975)[inv]
    return out


#: the reason given for an ``ambiguous`` curve (an optimum at infinity has its own message)
_AMBIGUOUS_WHY = {
    "dependent": "ambiguous: the parameters are nearly redundant (a dependency above "
    f"{MAX_DEPENDENCY:g}): other parameter values fit the data as well",
    "wild": "ambiguous: an asymptote lies beyond the observed responses by more than their "
    "range (a plateau is not reached within the tested doses)",
    "vague": "ambiguous: the ec50 is not determined (its 95% CI, on the log scale, is wider "
    "than a factor of 10 either way)",
}


def _messages(code: NDArray[np.int8], p_effect: Array, alpha: float,
              drift: NDArray[np.bool_], at_bound: NDArray[np.bool_],
              ambiguous_why: Sequence[tuple[NDArray[np.bool_], str]] = (),
              ) -> pd.api.extensions.ExtensionArray:
    """Plain-language message of every curve (see :func:`_message`), built per status
    (``code`` indexes :data:`STATUSES`); ``ambiguous_why`` gives the reason of an
    ``ambiguous`` curve (masks over all curves, each with its text)."""
    texts: list[str] = [""]
    idx = np.zeros(code.shape, dtype=np.int32)

    def put(sel: NDArray[np.bool_], text: str) -> None:
        texts.append(text)
        idx[sel] = len(texts) - 1

    for i, s in enumerate(STATUSES):
        sel = code == i
        if s == "ok" or not sel.any():
            continue
        if s == "flat":
            rows = np.nonzero(sel & ~at_bound)[0]
            idx[rows] = np.arange(len(texts), len(texts) + rows.size, dtype=np.int32)
            texts.extend(_message(s, float(p_effect[j]), alpha, False, False) for j in rows)
        else:
            put(sel & ~at_bound, _message(s, np.nan, alpha, False, False))
            if s == "no_convergence":
                put(sel & ~at_bound & drift, _message(s, np.nan, alpha, True, False))
            if s == "ambiguous":
                for mask, text in ambiguous_why:
                    put(sel & ~at_bound & mask, text)
        put(sel & at_bound, _message(s, np.nan, alpha, False, True))
    return _text_column(idx, texts)


def _text_column(idx: NDArray[np.integer],
                 texts: Sequence[str]) -> pd.api.extensions.ExtensionArray:
    """Text column ``texts[idx]`` as pandas' default (Arrow-backed) strings, built by Arrow
    from the distinct texts (no Python string per row: a million rows in milliseconds)."""
    import pyarrow as pa

    arr = pa.DictionaryArray.from_arrays(pa.array(np.asarray(idx, dtype=np.int32)),
                                         pa.array(list(texts), pa.large_string()))
    return pd.array(arr.dictionary_decode(), dtype=pd.StringDtype("pyarrow", na_value=np.nan))


def _numpy_engine(mdl: Model, sub: _lm.Packed, n_starts: int) -> tuple[
        Array, Array, NDArray[np.bool_], NDArray[np.int64], NDArray[np.bool_], Array,
        NDArray[np.bool_]]:
    """The numpy reference engine: batched grid starts + LM + Hessian (see :mod:`._lm`),
    step for step the algorithm of the compiled engine (``._kernel._fit_one``)."""
    max_iter, extra = 200, 200 // 8
    m = sub.y.shape[0]
    starts = _lm.grid_starts(mdl, sub, n_best=n_starts)
    runoff = mdl.family == "ll" and not mdl.five and not mdl.fixed
    lo, hi = _lm.dose_range(sub)
    ylo, yhi = _lm._asymptote_bounds(sub)
    yrange = (yhi - ylo) / (1 + 2 * _lm.ASYMPTOTE_MARGIN)
    has_zero = _lm.has_zero_dose(sub)
    theta = np.full((m, 5), np.nan)
    rss = np.full(m, np.inf)
    conv = np.zeros(m, dtype=bool)
    bound = np.zeros(m, dtype=bool)
    face = np.zeros(m, dtype=np.int64)
    iters = np.zeros(m, dtype=np.int64)
    for s in range(starts.shape[0]):
        # further starts only for curves whose best fit so far is not a clean interior
        # optimum (steep, run off, or not converged), with an eighth of the budget
        todo = (np.arange(m) if s == 0 else
                np.nonzero(~(conv & ~bound & (np.abs(theta[:, 0]) <= 8.0)))[0])
        if todo.size == 0:
            break
        p = _lm._subset(sub, todo)
        budget = max_iter if s == 0 else extra
        res = _lm.levenberg_marquardt(mdl, starts[s][todo], p, max_iter=budget,
                                      runoff_exit=runoff)
        th, r, cv, ab, it = res.theta, res.rss, res.converged, res.at_bound, res.iterations
        fid = np.zeros(todo.size, dtype=np.int64)
        skip = np.zeros(todo.size, dtype=bool)
        if res.exited is not None and res.exited.any():
            # run-off: the far face of the box at once; kept if it is a minimum there,
            # else LM goes on from where it stopped (as the compiled engine)
            ex = np.nonzero(res.exited)[0]
            side = _lm.runoff_side(th[ex], has_zero[todo[ex]], lo[todo[ex]], hi[todo[ex]],
                                   yrange[todo[ex]])
            f_ex = side * np.where(th[ex, 3] > hi[todo[ex]], 2, 1)
            if s > 0:  # same valley as the best fit so far: same face optimum
                same = f_ex == face[todo[ex]]
                skip[ex[same]] = True
                ex, f_ex, side = ex[~same], f_ex[~same], side[~same]
            left = budget - it[ex]
            th_f, r_f, it_f, kkt = _lm.face_jump(mdl, th[ex], _lm._subset(p, ex), side,
                                                 np.minimum(left, 40))
            it[ex] += it_f
            adopt = kkt & (r_f <= r[ex])
            took = ex[adopt]
            th[took], r[took], cv[took], ab[took] = th_f[adopt], r_f[adopt], True, True
            fid[took] = f_ex[adopt]
            rest = ex[~adopt]
            if rest.size:
                more = _lm.levenberg_marquardt(
                    mdl, th[rest], _lm._subset(p, rest),
                    max_iter=np.maximum(left[~adopt] - it_f[~adopt], 1))
                th[rest], r[rest], cv[rest] = more.theta, more.rss, more.converged
                ab[rest] = more.at_bound
                it[rest] += more.iterations
        if s > 0:
            # a better basin: LM goes on there with the rest of a first start's budget
            go = np.nonzero(~skip & ~cv & (r < rss[todo] * (1 - 1e-12)))[0]
            if go.size:
                more = _lm.levenberg_marquardt(mdl, th[go], _lm._subset(p, go),
                                               max_iter=max(max_iter - extra, 1))
                th[go], r[go], cv[go], ab[go] = (more.theta, more.rss, more.converged,
                                                 more.at_bound)
                it[go] += more.iterations
        iters[todo] += it
        upd = ~skip & ((s == 0) | (r < rss[todo] * (1 - 1e-12)))
        dst = todo[upd]
        theta[dst], rss[dst], conv[dst], bound[dst] = th[upd], r[upd], cv[upd], ab[upd]
        face[dst] = fid[upd]
    if "b" not in mdl.fixed and "e" not in mdl.fixed:
        # the infinitely steep limit, checked exactly (LM only creeps towards it)
        r_step, th_step = _lm.best_step(mdl, sub)
        step = r_step < rss * (1 - 1e-12)
        theta[step], rss[step], conv[step], bound[step] = th_step[step], r_step[step], True, True
    k = mdl.n_free
    minv = np.full((m, k, k), np.nan)
    ident = np.zeros(m, dtype=bool)
    idx = np.nonzero(conv & ~bound)[0]
    if idx.size:
        hess, _ = _lm.rss_hessian(mdl, theta[idx], _lm._subset(sub, idx))
        for j, ci in enumerate(idx):
            v = _inverse_pd(hess[j])
            if v is not None:
                minv[ci] = v
                ident[ci] = True
    return theta, rss, conv, iters, bound, minv, ident


def _message(status: str, p_effect: float, alpha: float, drift: bool, at_bound: bool) -> str:
    if at_bound and status != "ok":
        return ("the least-squares optimum lies at infinity (a step between two doses or an "
                "ec50 far outside the tested range): parameters shown at the bound, no CIs")
    if status == "no_convergence" and drift:
        return (STATUSES[status] + "; the ec50 drifts outside the tested doses "
                "(a plateau is not reached within the tested range)")
    if status == "flat":
        return f"no significant dose effect (F test p = {p_effect:.3g} >= {alpha:g})"
    return "" if status == "ok" else STATUSES[status]


def _max_dependency(vcov: Array) -> Array:
    """Largest parameter dependency of every curve (GraphPad Prism's measure).

    The dependency of parameter i is ``1 − 1/(V_ii·(V⁻¹)_ii)``: the share of its variance
    explained by the other parameters, 1 − (SE with the others fixed / SE)². It does not
    depend on the scale of any parameter (ec50 or log ec50 alike) nor on σ². NaN where the
    covariance is not available; 0 with a single free parameter.
    """
    m, k = vcov.shape[0], vcov.shape[1]
    out = np.full(m, np.nan)
    if m == 0:
        return out
    finite = np.isfinite(vcov).all(axis=(1, 2))
    if k < 2:
        return np.where(finite, 0.0, np.nan)
    diag = np.einsum("mii->mi", vcov)
    good = np.nonzero(finite & (diag > 0).all(axis=1))[0]
    if good.size == 0:
        return out
    d = np.sqrt(diag[good])
    corr = vcov[good] / (d[:, :, None] * d[:, None, :])
    try:
        inv_diag = np.einsum("mii->mi", np.linalg.inv(corr))
    except np.linalg.LinAlgError:  # a singular one among them: one at a time
        inv_diag = np.full((good.size, k), np.inf)
        for j in range(good.size):
            try:
                inv_diag[j] = np.diag(np.linalg.inv(corr[j]))
            except np.linalg.LinAlgError:
                pass
    with np.errstate(divide="ignore", invalid="ignore"):
        out[good] = np.max(1.0 - 1.0 / inv_diag, axis=1)
    return out


def _inverse_pd(h: Array) -> Array | None:
    """Inverse of a symmetric positive-definite matrix, or None if it is not PD."""
    if not np.all(np.isfinite(h)):
        return None
    d = np.sqrt(np.abs(np.diag(h)))
    if np.any(d == 0):
        return None
    hs = h / np.outer(d, d)
    try:
        chol = np.linalg.cholesky(hs)
    except np.linalg.LinAlgError:
        return None
    if np.min(np.diag(chol)) < 1e-7:
        return None
    inv = np.linalg.inv(hs)
    return np.asarray(inv / np.outer(d, d))


def _outliers(mdl: Model, theta: Array,
              p: _lm.Packed) -> tuple[NDArray[np.int64], Array, Array]:
    """Count gross outliers per curve; also return the observed response range."""
    sel = p.w > 0
    with np.errstate(invalid="ignore"), warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # curves without points: all-NaN rows
        resid = np.where(sel, p.y - _npops.response(mdl, np.nan_to_num(theta), p.logx),
                         np.nan)
        med = np.nanmedian(resid, axis=1, keepdims=True)
        mad = 1.4826 * np.nanmedian(np.abs(resid - med), axis=1)
        sq = np.where(sel, resid**2, 0.0)
        rms = np.sqrt(_npops.row_sums(sq, p.n) / np.where(p.n > 0, p.n, np.nan))
        # conservative scale: the larger of the robust SD and the residual RMS
        mad = np.maximum(mad, rms)
        rz = np.abs(resid - med) / mad[:, None]
    n_out = np.where(mad > 0, np.sum(np.where(sel, rz > 5.0, False), axis=1), 0)
    n_out = np.where(np.all(np.isfinite(theta[:, :4]), axis=1), n_out, 0)
    ymin = np.where(sel, p.y, np.inf).min(axis=1)
    ymax = np.where(sel, p.y, -np.inf).max(axis=1)
    return n_out.astype(np.int64), ymin, ymax


def _tested_range(p: _lm.Packed) -> tuple[Array, Array]:
    """log of the lowest positive and the highest dose of every curve (nan if none)."""
    finite = np.isfinite(p.logx) & (p.w > 0)
    lo = np.where(finite, p.logx, np.inf).min(axis=1)
    hi = np.where(finite, p.logx, -np.inf).max(axis=1)
    lo = np.where(np.isfinite(lo), lo, np.nan)
    hi = np.where(np.isfinite(hi), hi, np.nan)
    return lo, hi


def _effect_test(rss0: Array, rss: Array, n: NDArray[np.int64], k: int) -> Array:
    """Extra-sum-of-squares F test of the fitted model against a constant (weighted mean).

    ``rss0`` is the RSS of the flat line (the weighted mean), ``rss`` the model's.
    """
    df1 = k - 1
    df2 = n - k
    with np.errstate(invalid="ignore", divide="ignore"):
        f = ((rss0 - rss) / df1) / (rss / df2)
    f = np.where(rss0 <= 0, 0.0, f)
    f = np.where((rss <= 0) & (rss0 > 0), np.inf, f)
    ok = (df2 > 0) & np.isfinite(rss)
    pval = np.full(rss.shape, np.nan)
    pval[ok] = _OPS.get().f_sf(df1, df2[ok], np.maximum(f[ok], 0))
    return pval


def _lack_of_fit(rss: Array, sspe: Array, df_pe: NDArray[np.int64],
                 distinct: NDArray[np.int64], k: int) -> tuple[Array, Array]:
    """Lack-of-fit F test against one mean per distinct dose (needs replicates)."""
    df_lof = distinct - k
    ok = (df_pe > 0) & (df_lof > 0) & (sspe > 0) & np.isfinite(rss)
    with np.errstate(divide="ignore", invalid="ignore"):
        fval = np.where(ok, ((rss - sspe) / np.maximum(df_lof, 1)) / (sspe / np.maximum(df_pe, 1)),
                        np.nan)
    pval = np.full(rss.shape, np.nan)
    pval[ok] = _OPS.get().f_sf(df_lof[ok], df_pe[ok], np.maximum(fval[ok], 0.0))
    return fval, pval


def _areas(
    mdl: Model, theta: Array, lo: Array, hi: Array, reference: float
) -> tuple[Array, Array]:
    """Normalised AUC and activity area of the fitted curves over the tested range."""
    m = theta.shape[0]
    ok = np.isfinite(lo) & np.isfinite(hi) & (hi > lo) & np.all(np.isfinite(theta[:, :4]), axis=1)
    auc = np.full(m, np.nan)
    area = np.full(m, np.nan)
    if not ok.any():
        return auc, area
    a, r = _npops.areas(mdl, theta[ok], lo[ok], hi[ok], reference)
    auc[ok] = a
    if reference != 0:
        area[ok] = r
    return auc, area


def _ed(mdl: Model, theta: Array, vcov: Array, level: float) -> tuple[Array, Array]:
    """Relative ED at ``level`` % and its delta-method standard error."""
    m = theta.shape[0]
    b = theta[:, 0]
    le = theta[:, 3]
    f = theta[:, 4]
    g0 = mdl.g_at_zero_dose(b)
    target = g0 + (level / 100.0) * (1.0 - 2.0 * g0)
    zstar = mdl.ginv(target, f)
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        est = np.exp(le + zstar / b)
    # gradient w.r.t. the free parameters in drc's parameterisation (e in dose units)
    k = mdl.n_free
    grad = np.zeros((m, k))
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        for j, p in enumerate(mdl.free):
            if p == "b":
                grad[:, j] = -est * zstar / b**2
            elif p == "e":
                grad[:, j] = est / np.exp(le)
            elif p == "f":
                h = 1e-6 * np.maximum(np.abs(f), 1e-3)
                zp = mdl.ginv(target, f + h)
                zm = mdl.ginv(target, f - h)
                grad[:, j] = est * (zp - zm) / (2 * h) / b
        var = np.einsum("mi,mij,mj->m", grad, vcov, grad)
        se = np.sqrt(np.where(var >= 0, var, np.nan))
    return est, se
