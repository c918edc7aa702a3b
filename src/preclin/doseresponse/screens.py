"""Raw GDSC screen plates → normalised viability → curves, and agreement with gdscIC50.

The Genomics of Drug Sensitivity in Cancer (GDSC) publishes raw plate read-outs in a long
table, one row per well and tag (columns ``BARCODE``, ``SCAN_ID``, ``COSMIC_ID``,
``CELL_LINE_NAME``, ``DRUGSET_ID``, ``POSITION``, ``TAG``, ``DRUG_ID``, ``CONC`` in µM and
``INTENSITY``). This module reproduces the normalisation of the R package gdscIC50
(``removeFailedDrugs``, ``removeMissingDrugs``, ``normalizeData(trim = TRUE,
neg_control = "NC-1", pos_control = "B")``, ``setConcsForNlme``, ``prepNlmeData``), written
from its documented behaviour, and prepares the curves for :func:`preclin.doseresponse.fit`:

>>> raw = read_gdsc_raw("gdsc_example.csv.gz")            # doctest: +SKIP
>>> norm = normalise_gdsc(raw)                             # every raw row, with a reason
>>> curves = gdsc_curves(norm)                             # one curve per COSMIC_ID × drug
>>> res = fit_gdsc(curves)                                 # LL.4 (or asymptotes="fixed")
>>> cmp = compare_with_reference(res.table, "gdsc_example_ref_ic50.csv")   # doctest: +SKIP

GDSC's IC50 is the **absolute** IC50, the dose at which the fitted curve crosses 50 %
viability, reported as the natural log of µM. :func:`absolute_ic50` computes the same
quantity from our fit table; for LL.4 it differs from ``ec50`` (the inflection dose)
whenever the asymptotes are not 0 and 100 %.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import numpy as np
import pandas as pd
from numpy.typing import NDArray

from ..errors import InputError
from ..tables import require_columns
from .fit import DoseResponseFit, fit

__all__ = [
    "RAW_COLUMNS",
    "GDSC_BY",
    "GDSC_DOSE",
    "GDSC_RESPONSE",
    "read_gdsc_raw",
    "normalise_gdsc",
    "gdsc_curves",
    "fit_gdsc",
    "absolute_ic50",
    "read_gdsc_reference",
    "compare_with_reference",
    "GdscComparison",
]

#: Columns a raw GDSC table must have (other columns are kept as read).
RAW_COLUMNS: tuple[str, ...] = (
    "BARCODE",
    "SCAN_ID",
    "COSMIC_ID",
    "CELL_LINE_NAME",
    "DRUGSET_ID",
    "POSITION",
    "TAG",
    "DRUG_ID",
    "CONC",
    "INTENSITY",
)
#: identifier columns that must be present on every row and be whole numbers
_ID_COLUMNS = ("BARCODE", "SCAN_ID", "COSMIC_ID", "DRUGSET_ID", "POSITION")
#: numeric columns that may be empty
_NUMERIC_NA_COLUMNS = ("DRUG_ID", "CONC", "INTENSITY")
#: text columns read as categoricals (few distinct values, fast tag matching)
_CATEGORY_COLUMNS = ("TAG", "CELL_LINE_NAME", "RESEARCH_PROJECT", "ASSAY")

#: curve identity, dose and response columns of :func:`gdsc_curves`
GDSC_BY: tuple[str, str] = ("COSMIC_ID", "drug")
GDSC_DOSE = "CONC"
GDSC_RESPONSE = "viability_pct"

_SINGLE_AGENT = re.compile(r"^L(\d+)-D(\d+)-S$")
_LIBRARY = re.compile(r"^L\d+")

# reasons written to the ``reason`` column of normalise_gdsc
R_FAIL = "position failed (FAIL tag at this BARCODE and POSITION)"
R_NO_DRUG = "library well without DRUG_ID"
R_UNUSED = "unused well (UN-USED)"
R_NO_CONC = "library well without CONC"
R_NO_INTENSITY = "INTENSITY missing"


def _neg_reason(tag: str) -> str:
    return f"negative control ({tag}): defines 100% viability of its scan"


def _pos_reason(tag: str) -> str:
    return f"blank ({tag}): defines 0% viability of its scan"


def _other_reason(tag: str) -> str:
    return f"not a single-agent library well (TAG {tag})"


# --------------------------------------------------------------------------- reading


def read_gdsc_raw(path: str | Path) -> pd.DataFrame:
    """Read a raw GDSC screen table (CSV, optionally gzip/bz2/xz/zip compressed).

    Parameters
    ----------
    path
        File with one row per well and tag and at least the columns of
        :data:`RAW_COLUMNS`; empty fields and ``NA`` are missing values (as written by
        R's ``write.csv``). ``CONC`` is in µM.

    Returns
    -------
    pandas.DataFrame
        The table in file order; ``TAG``, ``CELL_LINE_NAME`` (and ``RESEARCH_PROJECT``,
        ``ASSAY`` when present) as categoricals, identifier columns as int64, ``DRUG_ID``,
        ``CONC`` and ``INTENSITY`` as float64.

    Raises
    ------
    InputError
        Missing file or columns, an empty table, a non-numeric value (naming the row as
        the line number in the file and the column), or a missing identifier or TAG.
    """
    p = Path(path)
    if not p.exists():
        raise InputError("file not found", file=p)
    if p.is_dir():
        raise InputError("expected a file but found a directory", file=p)
    try:
        header = pd.read_csv(p, nrows=0)
    except pd.errors.EmptyDataError:
        raise InputError("the file is empty", file=p) from None
    except (ValueError, OSError, UnicodeDecodeError, pd.errors.ParserError) as exc:
        raise InputError(f"cannot read table ({_first_line(exc)})", file=p) from None
    columns = [str(c).strip() for c in header.columns]
    missing = [c for c in RAW_COLUMNS if c not in columns]
    if missing:
        raise InputError(
            f"not a raw GDSC table: missing column(s) {', '.join(map(repr, missing))}; "
            f"the table has: {', '.join(columns[:20])}",
            file=p,
        )
    dtypes = {c: "category" for c in _CATEGORY_COLUMNS if c in columns}
    try:
        df = pd.read_csv(
            p,
            dtype=dtypes,
            keep_default_na=False,
            na_values=["", "NA", "NaN"],
            low_memory=False,
        )
    except (ValueError, OSError, UnicodeDecodeError, pd.errors.ParserError) as exc:
        raise InputError(f"cannot read table ({_first_line(exc)})", file=p) from None
    df.columns = columns
    if df.shape[0] == 0:
        raise InputError("the table has no rows", file=p)
    return _validate_raw(df, file=p)


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return text[0] if text else type(exc).__name__


def _validate_raw(df: pd.DataFrame, *, file: str | Path | None) -> pd.DataFrame:
    """Check columns and types of a raw table; return it with clean dtypes."""
    require_columns(df, RAW_COLUMNS, file=file)
    if df.shape[0] == 0:
        raise InputError("the table has no rows", file=file)
    out = df.copy(deep=False)
    for col in _ID_COLUMNS:
        if out[col].dtype == np.int64:
            continue
        values = _numeric(df, col, file=file, allow_na=False)
        whole = np.floor(values) == values
        if not whole.all():
            pos = int(np.nonzero(~whole)[0][0])
            raise InputError(
                f"{col} must be a whole number but has {df[col].iloc[pos]!r}",
                file=file,
                location=f"row {pos + 2}, column '{col}'",
            )
        out[col] = values.astype(np.int64)
    for col in _NUMERIC_NA_COLUMNS:
        if out[col].dtype != np.float64:
            out[col] = _numeric(df, col, file=file, allow_na=True)
    tag_na = df["TAG"].isna().to_numpy()
    if tag_na.any():
        pos = int(np.nonzero(tag_na)[0][0])
        raise InputError("TAG is missing", file=file, location=f"row {pos + 2}, column 'TAG'")
    return out


def _numeric(
    df: pd.DataFrame, col: str, *, file: str | Path | None, allow_na: bool
) -> NDArray[np.float64]:
    """Column as float64; InputError naming the first bad row (line number in the file)."""
    raw = df[col]
    if pd.api.types.is_numeric_dtype(raw) and not pd.api.types.is_bool_dtype(raw):
        values = raw.to_numpy(dtype=np.float64, na_value=np.nan)
        bad = np.zeros(len(values), dtype=bool)
    else:
        values = pd.to_numeric(raw, errors="coerce").to_numpy(dtype=np.float64, na_value=np.nan)
        bad = np.isnan(values) & raw.notna().to_numpy()
    if not allow_na:
        bad |= np.isnan(values)
    bad |= np.isinf(values)
    if bad.any():
        pos = int(np.nonzero(bad)[0][0])
        val = raw.iloc[pos]
        what = "is missing" if pd.isna(val) else f"must be a finite number but has {val!r}"
        raise InputError(f"{col} {what}", file=file, location=f"row {pos + 2}, column '{col}'")
    return values


# --------------------------------------------------------------------------- normalising


def normalise_gdsc(
    raw: pd.DataFrame,
    *,
    trim: bool = True,
    neg_control: str = "NC-1",
    pos_control: str = "B",
    file: str | Path | None = None,
) -> pd.DataFrame:
    """Normalise raw GDSC intensities to viability as gdscIC50 does (defaults of 0.99.4).

    Steps, in gdscIC50's order:

    1. drop every row at a plate position (``BARCODE``, ``POSITION``) that carries a
       ``FAIL`` tag, and library wells (``TAG`` starting ``L<n>``) without ``DRUG_ID``;
    2. per ``SCAN_ID``: ``NC`` = mean ``INTENSITY`` of the ``neg_control`` wells, ``PC`` =
       mean of the ``pos_control`` wells (blanks); ``viability = (INTENSITY − PC) /
       (NC − PC)``, clipped to [0, 1] when ``trim``;
    3. keep single-agent library wells ``L<n>-D<k>-S``; ``maxc`` = highest ``CONC`` of the
       dilution series of library drug ``L<n>`` in drug set ``DRUGSET_ID``.

    Nothing is dropped: the result has every row of ``raw`` in the same order, with
    ``excluded`` False only for the single-agent library wells that have a viability, and
    a ``reason`` for every other row (controls, blanks, unused wells, failed positions,
    missing values, scans without controls).

    Parameters
    ----------
    raw
        Table as returned by :func:`read_gdsc_raw` (or any table with
        :data:`RAW_COLUMNS`).
    trim
        Clip viability to [0, 1] (gdscIC50's ``trim = TRUE``).
    neg_control, pos_control
        Tags of the 100 % and 0 % viability wells.
    file
        File name for error messages.

    Returns
    -------
    pandas.DataFrame
        Columns ``COSMIC_ID``, ``CELL_LINE_NAME``, ``DRUG_ID`` (Int64, the library drug),
        ``maxc`` (µM), ``CONC`` (µM), ``viability`` (fraction; NaN where it cannot be
        computed), ``SCAN_ID``, ``BARCODE``, ``POSITION``, ``TAG``, ``DRUGSET_ID``,
        ``lib_drug`` (``L<n>``, categorical), ``dose_step`` (``k`` of ``D<k>``), ``INTENSITY``,
        ``NC`` and ``PC`` (the scan's control means), ``excluded``, ``reason``. The
        viability is also given for control wells (for QC) but they are excluded.

    Raises
    ------
    InputError
        Missing columns or non-numeric values (see :func:`read_gdsc_raw`).
    """
    df = _validate_raw(raw, file=file).reset_index(drop=True)
    n = len(df)
    # work on the distinct tags only (a few dozen), then broadcast by code
    tag_col = df["TAG"]
    if isinstance(tag_col.dtype, pd.CategoricalDtype):
        tag_codes = tag_col.cat.codes.to_numpy(dtype=np.int64)
        tag_values = list(tag_col.cat.categories)
    else:
        tag_codes, tag_uniques = pd.factorize(tag_col, sort=False)
        tag_values = list(tag_uniques)
    tags = [str(t).strip() for t in tag_values]
    single_m = [_SINGLE_AGENT.match(t) for t in tags]
    t_single = np.array([m is not None for m in single_m] + [False])
    t_library = np.array([_LIBRARY.match(t) is not None for t in tags] + [False])
    t_lib = np.array([m.group(1) if m else "" for m in single_m] + [""], dtype=object)
    t_step = np.array([int(m.group(2)) if m else -1 for m in single_m] + [-1])
    t_neg = np.array([t == neg_control for t in tags] + [False])
    t_pos = np.array([t == pos_control for t in tags] + [False])
    t_fail = np.array([t == "FAIL" for t in tags] + [False])
    t_unused = np.array([t == "UN-USED" for t in tags] + [False])

    single = t_single[tag_codes]
    library = t_library[tag_codes]
    barcode = df["BARCODE"].to_numpy()
    position = df["POSITION"].to_numpy()
    scan = df["SCAN_ID"].to_numpy()
    intensity = df["INTENSITY"].to_numpy(dtype=np.float64)
    conc = df["CONC"].to_numpy(dtype=np.float64)
    drug_id = df["DRUG_ID"].to_numpy(dtype=np.float64)

    # 1. failed positions and library wells without a drug
    failed = np.zeros(n, dtype=bool)
    is_fail = t_fail[tag_codes]
    if is_fail.any():
        pairs = pd.MultiIndex.from_arrays([barcode, position])
        failed = np.asarray(pairs.isin(pairs[is_fail]))
    no_drug = ~failed & library & np.isnan(drug_id)
    kept = ~failed & ~no_drug

    # 2. controls per scan and viability
    scans = pd.Series(scan)
    inten = pd.Series(intensity)
    neg = kept & t_neg[tag_codes]
    pos = kept & t_pos[tag_codes]
    nc_mean = inten[neg].groupby(scans[neg]).mean()
    pc_mean = inten[pos].groupby(scans[pos]).mean()
    nc = scans.map(nc_mean).to_numpy(dtype=np.float64, na_value=np.nan)
    pc = scans.map(pc_mean).to_numpy(dtype=np.float64, na_value=np.nan)
    with np.errstate(divide="ignore", invalid="ignore"):
        viab = (intensity - pc) / (nc - pc)
    bad_scale = ~(nc > pc)  # also NaN: controls missing
    viab[bad_scale] = np.nan
    if trim:
        viab = np.clip(viab, 0.0, 1.0)

    # 3. single-agent library wells and the top concentration of each series
    step = t_step[tag_codes]
    series = kept & single & np.isfinite(conc)
    set_codes, _ = pd.factorize(df["DRUGSET_ID"].to_numpy(), sort=False)
    # the series is (drug set, library drug L<n>): merge the dose-step tags of one L<n>
    lib_codes, lib_names = pd.factorize(t_lib, sort=False)
    key = set_codes.astype(np.int64) * (int(lib_codes.max()) + 1) + lib_codes[tag_codes]
    top = pd.Series(conc[series]).groupby(key[series]).max()
    maxc = np.full(n, np.nan)
    if len(top):
        loc = top.index.get_indexer(pd.Index(key))
        has = single & (loc >= 0)
        maxc[has] = top.to_numpy()[loc[has]]

    # reasons: the first that applies
    reason_code = np.zeros(n, dtype=np.int64)  # 0 = used
    labels = [""]

    def put(mask: NDArray[np.bool_], label: str) -> None:
        free = mask & (reason_code == 0)
        if free.any():
            labels.append(label)
            reason_code[free] = len(labels) - 1

    put(failed, R_FAIL)
    put(no_drug, R_NO_DRUG)
    for code, tag in enumerate(tags):
        if t_single[code]:
            continue
        if t_neg[code]:
            label = _neg_reason(tag)
        elif t_pos[code]:
            label = _pos_reason(tag)
        elif t_unused[code]:
            label = R_UNUSED
        else:
            label = _other_reason(tag)
        put(tag_codes == code, label)
    put(np.isnan(conc), R_NO_CONC)
    put(np.isnan(intensity), R_NO_INTENSITY)
    no_nc = np.isnan(nc)
    no_pc = np.isnan(pc)
    put(no_nc, f"no usable {neg_control} wells on this scan")
    put(no_pc, f"no usable {pos_control} wells on this scan")
    put(bad_scale, f"{neg_control} mean not above {pos_control} mean on this scan")
    put(np.isnan(viab), "viability cannot be computed")
    reason = pd.Categorical.from_codes(reason_code, categories=pd.Index(labels))

    out = pd.DataFrame(
        {
            "COSMIC_ID": df["COSMIC_ID"].to_numpy(),
            "CELL_LINE_NAME": df["CELL_LINE_NAME"],
            "DRUG_ID": pd.array(np.round(np.where(single, drug_id, np.nan)), dtype="Float64")
            .astype("Int64"),
            "maxc": maxc,
            "CONC": conc,
            "viability": viab,
            "SCAN_ID": scan,
            "BARCODE": barcode,
            "POSITION": position,
            "TAG": df["TAG"],
            "DRUGSET_ID": df["DRUGSET_ID"].to_numpy(),
            "lib_drug": _lib_categorical(lib_codes[tag_codes], list(lib_names)),
            "dose_step": pd.Series(step, dtype="Int64").where(single),
            "INTENSITY": intensity,
            "NC": nc,
            "PC": pc,
            "excluded": reason_code != 0,
            "reason": reason,
        }
    )
    return out


def _lib_categorical(codes: NDArray[np.int64], names: list[str]) -> pd.Categorical:
    """``L<n>`` as a categorical, missing where the name is empty (not a library well)."""
    cats = [n for n in names if n]
    remap = np.array([cats.index(n) if n else -1 for n in names], dtype=np.int64)
    return pd.Categorical.from_codes(remap[codes], categories=pd.Index(cats, dtype=object))


# --------------------------------------------------------------------------- curves


def _format_maxc(value: float) -> str:
    """R's ``as.character`` of a double (15 significant digits): 0.1, 2.5, 10."""
    return f"{value:.15g}"


def gdsc_curves(norm: pd.DataFrame) -> pd.DataFrame:
    """Single-agent library wells of :func:`normalise_gdsc`, ready for :func:`fit`.

    A curve is one cell line (``COSMIC_ID``) × one drug series ``drug`` =
    ``"<DRUG_ID>_<maxc>"`` (gdscIC50's drug id, e.g. ``"1510_2.5"``); wells of the same
    curve on several plates are pooled, as in gdscIC50. Use with ``by=GDSC_BY``,
    ``dose=GDSC_DOSE`` (µM) and ``response=GDSC_RESPONSE`` (% viability), or call
    :func:`fit_gdsc`.

    Parameters
    ----------
    norm
        Output of :func:`normalise_gdsc`.

    Returns
    -------
    pandas.DataFrame
        One row per single-agent library well that belongs to a drug series (including
        excluded ones, which :func:`fit` lists in ``excluded`` with their reason), in the
        order of ``norm``: ``COSMIC_ID``, ``CELL_LINE_NAME``, ``drug``, ``DRUG_ID``,
        ``maxc``, ``CONC``, ``viability_pct`` (= 100 · viability), ``viability``,
        ``SCAN_ID``, ``BARCODE``, ``POSITION``, ``TAG``, ``excluded``, ``reason``.
    """
    need = ["COSMIC_ID", "CELL_LINE_NAME", "DRUG_ID", "maxc", "CONC", "viability", "SCAN_ID",
            "BARCODE", "POSITION", "TAG", "excluded", "reason"]
    require_columns(norm, need)
    sel = (norm["DRUG_ID"].notna() & norm["maxc"].notna()).to_numpy()
    cur = norm.loc[sel, need].reset_index(drop=True)
    ids = cur["DRUG_ID"].astype("Int64").astype("string")
    mx = cur["maxc"]
    # format each distinct maxc once
    uniq = pd.unique(mx.to_numpy())
    fmt = pd.Series([_format_maxc(float(v)) for v in uniq], index=uniq)
    drug = ids + "_" + mx.map(fmt).astype("string")
    cur.insert(2, "drug", drug.astype("str"))
    cur.insert(6, GDSC_RESPONSE, cur["viability"] * 100.0)
    cur["TAG"] = cur["TAG"].astype("string")
    cur["excluded"] = cur["excluded"].to_numpy(dtype=bool)
    return cur


def fit_gdsc(
    curves: pd.DataFrame,
    *,
    asymptotes: Literal["free", "fixed"] = "free",
    **fit_kwargs: Any,
) -> DoseResponseFit:
    """Fit every curve of :func:`gdsc_curves` with :func:`preclin.doseresponse.fit`.

    Parameters
    ----------
    curves
        Output of :func:`gdsc_curves`.
    asymptotes
        ``"free"``: LL.4 (bottom and top estimated per curve); ``"fixed"``: bottom 0 and
        top 100 % held fixed (a two-parameter log-logistic, the curve shape gdscIC50 fits,
        without its random effects).
    **fit_kwargs
        Passed on to :func:`fit` (``ed``, ``n_starts``, ...).

    Returns
    -------
    DoseResponseFit
        Curves keyed by ``COSMIC_ID`` and ``drug``, doses in µM, responses in % viability.
    """
    if asymptotes not in ("free", "fixed"):
        raise InputError(f"asymptotes must be 'free' or 'fixed', not {asymptotes!r}")
    if asymptotes == "fixed":
        fixed = dict(fit_kwargs.pop("fixed", None) or {})
        fixed.update(bottom=0.0, top=100.0)
        fit_kwargs["fixed"] = fixed
    fit_kwargs.setdefault("dose_unit", "µM")
    return fit(curves, dose=GDSC_DOSE, response=GDSC_RESPONSE, by=list(GDSC_BY), **fit_kwargs)


def absolute_ic50(
    table: pd.DataFrame, *, level: float = 50.0, falling_only: bool = True
) -> NDArray[np.float64]:
    """Dose at which each fitted log-logistic curve crosses ``level`` (absolute IC50).

    For ``y = c + (d − c) / (1 + exp(b (log x − log e)))^f`` the crossing is
    ``x = e · (((d − c)/(level − c))^(1/f) − 1)^(1/b)``. It exists only when ``level``
    lies strictly between the asymptotes ``c`` (bottom) and ``d`` (top); otherwise (the
    curve never reaches 50 % viability, or never rises above it) the result is NaN. With
    bottom 0 and top 100 fixed it equals ``ec50``. With ``falling_only`` (default), curves
    whose response rises with dose (``(d − c) · b < 0``) have no inhibitory IC50 (NaN).

    Parameters
    ----------
    table
        Fit table of a log-logistic model (columns ``bottom``, ``top``, ``ec50``,
        ``hill`` and, for LL.5, ``asym``).
    level
        Response level (50 % viability for GDSC's IC50).

    Returns
    -------
    numpy.ndarray
        Dose in the units of ``ec50`` (NaN where the curve does not cross ``level``).
    """
    models = table["model"].astype(str) if "model" in table.columns else pd.Series([], dtype=str)
    if len(models) and not models.str.startswith("ll").all():
        raise InputError("absolute_ic50 needs log-logistic fits (ll2/ll3/ll4/ll5)")
    c = table["bottom"].to_numpy(dtype=np.float64)
    d = table["top"].to_numpy(dtype=np.float64)
    e = table["ec50"].to_numpy(dtype=np.float64)
    b = table["hill"].to_numpy(dtype=np.float64)
    f = (table["asym"].to_numpy(dtype=np.float64) if "asym" in table.columns
         else np.ones(len(table)))
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        between = (np.minimum(c, d) < level) & (level < np.maximum(c, d))
        z = ((d - c) / (level - c)) ** (1.0 / f) - 1.0
        x = np.exp(np.log(e) + np.log(z) / b)
    keep = between & (z > 0) & (b != 0)
    if falling_only:
        keep &= (d - c) * b > 0
    x = np.where(keep, x, np.nan)
    return np.asarray(x, dtype=np.float64)


# --------------------------------------------------------------------------- comparing


def read_gdsc_reference(path: str | Path) -> pd.DataFrame:
    """Read a gdscIC50 fit table (columns ``drug``, ``CL``, ``IC50`` in ln µM, ...)."""
    p = Path(path)
    if not p.exists():
        raise InputError("file not found", file=p)
    try:
        ref = pd.read_csv(p, dtype={"drug": str})
    except (ValueError, OSError, pd.errors.ParserError) as exc:
        raise InputError(f"cannot read table ({_first_line(exc)})", file=p) from None
    require_columns(ref, ["drug", "CL", "IC50"], file=p)
    return ref


#: comparison groups, in the order of :attr:`GdscComparison.summary`
GROUPS: dict[str, str] = {
    "all": "every matched curve; Spearman over curves with an IC50, curves that never "
    "cross 50% ranked at ±infinity",
    "ok": "our status ok (IC50 present)",
    "flagged": "our status not ok (IC50 present)",
    "in_range": "our IC50 inside the tested doses",
    "both_in_range": "our IC50 and the reference IC50 inside the tested doses",
    "extrapolated": "our IC50 outside the tested doses",
    "no_crossing": "our curve never falls through 50% viability (no IC50; includes curves "
    "that rise with dose)",
}


@dataclass(frozen=True)
class GdscComparison:
    """Agreement of our IC50s with a gdscIC50 reference table.

    Attributes
    ----------
    curves
        One row per matched curve: ``COSMIC_ID``, ``drug``, ``status``, ``ic50`` (ours,
        µM), ``ln_ic50`` (ours), ``ln_ic50_ref``, ``delta`` (ours − reference, ln µM),
        ``ln_dose_min``, ``ln_dose_max``, ``ic50_class`` (``in_range``, ``above_range``,
        ``below_range``, ``never_below_50`` — viability stays above 50 %,
        ``never_above_50``, ``rising`` — viability rises with dose, ranked like
        ``never_below_50`` — and ``not_fitted``), ``ref_in_range``, and ``side`` / ``ref_side``
        (−1 below, 0 inside, +1 above the tested doses; NaN when not fitted).
    summary
        One row per group of :data:`GROUPS`: ``n``, ``n_ic50`` (curves with our IC50),
        ``spearman`` (of ln IC50; curves that never cross 50 % ranked at ±infinity),
        ``median_abs_delta`` and ``frac_within_1`` (|Δ ln IC50| ≤ 1, i.e. within a factor
        e) over curves with our IC50; ``same_side`` (fraction of curves where both IC50s
        lie inside the tested doses or beyond them on the same side; beyond the tested
        doses an IC50 is an extrapolation) and ``ref_in_range`` (fraction of reference
        IC50s inside the tested doses).
    missing
        Reference curves (``CL``, ``drug``) not found in our table.
    n_reference, n_ours, n_matched
        Curve counts.
    ic50
        ``"absolute"`` (50 % viability crossing) or ``"ec50"`` (inflection point).
    """

    curves: pd.DataFrame
    summary: pd.DataFrame
    missing: pd.DataFrame
    n_reference: int
    n_ours: int
    n_matched: int
    ic50: str

    def figures(self) -> dict[str, float | int]:
        """Flat dict of the headline numbers (for benchmarks and docs)."""
        out: dict[str, float | int] = {
            "n_reference": self.n_reference,
            "n_ours": self.n_ours,
            "n_matched": self.n_matched,
        }
        for group, row in self.summary.iterrows():
            for col in ("n", "n_ic50", "spearman", "median_abs_delta", "frac_within_1",
                        "same_side"):
                val = row[col]
                out[f"{group}.{col}"] = int(val) if col in ("n", "n_ic50") else float(val)
        return out


def _spearman(a: NDArray[np.float64], b: NDArray[np.float64]) -> float:
    """Spearman correlation with average ranks; ±inf allowed (ranked at the ends)."""
    ok = ~np.isnan(a) & ~np.isnan(b)
    if ok.sum() < 3:
        return float("nan")
    ra = pd.Series(a[ok]).rank().to_numpy()
    rb = pd.Series(b[ok]).rank().to_numpy()
    if ra.std() == 0 or rb.std() == 0:
        return float("nan")
    return float(np.corrcoef(ra, rb)[0, 1])


def compare_with_reference(
    our_table: pd.DataFrame,
    ref_table: pd.DataFrame | str | Path,
    *,
    ic50: Literal["absolute", "ec50"] = "absolute",
) -> GdscComparison:
    """Compare our per-curve IC50s with gdscIC50's (natural log µM).

    Curves are matched on ``COSMIC_ID`` = ``CL`` and ``drug``. Our IC50 is, by default,
    the absolute IC50 (:func:`absolute_ic50`: the dose where the fitted curve crosses 50 %
    viability, which is what GDSC's IC50 means: ``y = 1 − viability = 0.5``); with
    ``ic50="ec50"`` the inflection point ``ec50`` is used instead. Curves whose response
    rises with dose have no inhibitory IC50 and are ranked as resistant. Curves whose IC50 lies
    outside the tested doses (gdscIC50 extrapolates freely) and curves that never cross
    50 % are reported in their own groups.

    Parameters
    ----------
    our_table
        :attr:`DoseResponseFit.table` of :func:`fit_gdsc` (doses in µM).
    ref_table
        gdscIC50 table (or its CSV path) with ``CL``, ``drug`` and ``IC50`` (ln µM).
    ic50
        Which of our estimates to compare.

    Returns
    -------
    GdscComparison
    """
    if not isinstance(ref_table, pd.DataFrame):
        ref_table = read_gdsc_reference(ref_table)
    require_columns(ref_table, ["CL", "drug", "IC50"])
    require_columns(our_table, ["COSMIC_ID", "drug", "status", "ec50", "dose_min", "dose_max"])
    if ic50 not in ("absolute", "ec50"):
        raise InputError(f"ic50 must be 'absolute' or 'ec50', not {ic50!r}")
    ours = our_table[["COSMIC_ID", "drug", "status", "dose_min", "dose_max"]].copy()
    ours["drug"] = ours["drug"].astype(str)
    ours["COSMIC_ID"] = ours["COSMIC_ID"].astype(np.int64)
    est = absolute_ic50(our_table) if ic50 == "absolute" else our_table["ec50"].to_numpy(float)
    ours["ic50"] = est
    fitted = np.isfinite(our_table["ec50"].to_numpy(dtype=float))
    top = our_table["top"].to_numpy(dtype=float)
    bottom = our_table["bottom"].to_numpy(dtype=float)
    rising = fitted & ((top - bottom) * our_table["hill"].to_numpy(dtype=float) < 0)
    if ic50 == "absolute":
        never_below = fitted & ~rising & np.isnan(est) & (np.minimum(top, bottom) >= 50)
        never_above = fitted & ~rising & np.isnan(est) & (np.maximum(top, bottom) <= 50)
    else:
        est = np.where(rising, np.nan, est)
        ours["ic50"] = est
        never_below = never_above = np.zeros(len(ours), dtype=bool)

    ref = ref_table[["CL", "drug", "IC50"]].rename(
        columns={"CL": "COSMIC_ID", "IC50": "ln_ic50_ref"}
    )
    ref = ref.assign(COSMIC_ID=ref["COSMIC_ID"].astype(np.int64), drug=ref["drug"].astype(str))
    ours["_never_below"] = never_below
    ours["_never_above"] = never_above
    ours["_rising"] = rising
    m = ref.merge(ours, on=["COSMIC_ID", "drug"], how="left", indicator=True, validate="1:1")
    missing = m.loc[m["_merge"] == "left_only", ["COSMIC_ID", "drug"]].rename(
        columns={"COSMIC_ID": "CL"}
    )
    m = m[m["_merge"] == "both"].drop(columns="_merge").reset_index(drop=True)
    with np.errstate(divide="ignore", invalid="ignore"):
        ln = np.log(m["ic50"].to_numpy(dtype=float))
        lo = np.log(m["dose_min"].to_numpy(dtype=float))
        hi = np.log(m["dose_max"].to_numpy(dtype=float))
    tol = 1e-9
    cls = np.full(len(m), "not_fitted", dtype=object)
    cls[np.isfinite(ln)] = "in_range"
    cls[np.isfinite(ln) & (ln > hi + tol)] = "above_range"
    cls[np.isfinite(ln) & (ln < lo - tol)] = "below_range"
    cls[m["_never_below"].to_numpy(dtype=bool)] = "never_below_50"
    cls[m["_never_above"].to_numpy(dtype=bool)] = "never_above_50"
    cls[m["_rising"].to_numpy(dtype=bool)] = "rising"
    ref_ln = m["ln_ic50_ref"].to_numpy(dtype=float)
    curves = pd.DataFrame(
        {
            "COSMIC_ID": m["COSMIC_ID"],
            "drug": m["drug"],
            "status": m["status"],
            "ic50": m["ic50"],
            "ln_ic50": ln,
            "ln_ic50_ref": ref_ln,
            "delta": ln - ref_ln,
            "ln_dose_min": lo,
            "ln_dose_max": hi,
            "ic50_class": cls,
            "ref_in_range": (ref_ln >= lo - tol) & (ref_ln <= hi + tol),
        }
    )
    # ranks: curves that never cross 50% sit at the ends
    rank_val = ln.copy()
    rank_val[(cls == "never_below_50") | (cls == "rising")] = np.inf
    rank_val[cls == "never_above_50"] = -np.inf
    # where each estimate lies relative to the tested doses: -1 below, 0 inside, +1 above
    side = np.sign(np.clip(rank_val - hi, 0, None)) + np.sign(np.clip(rank_val - lo, None, 0))
    ref_side = np.sign(np.clip(ref_ln - hi, 0, None)) + np.sign(np.clip(ref_ln - lo, None, 0))
    curves["side"] = side
    curves["ref_side"] = ref_side
    status_ok = (curves["status"] == "ok").to_numpy()
    has = np.isfinite(ln)
    groups = {
        "all": np.ones(len(curves), dtype=bool),
        "ok": status_ok & has,
        "flagged": ~status_ok & has,
        "in_range": cls == "in_range",
        "both_in_range": (cls == "in_range") & curves["ref_in_range"].to_numpy(),
        "extrapolated": (cls == "above_range") | (cls == "below_range"),
        "no_crossing": np.isin(cls, ["never_below_50", "never_above_50", "rising"]),
    }
    rows = []
    delta = np.abs(ln - ref_ln)
    ref_in = curves["ref_in_range"].to_numpy()
    for name, sel in groups.items():
        fin = sel & has
        known = sel & ~np.isnan(side)
        rows.append(
            {
                "group": name,
                "n": int(sel.sum()),
                "n_ic50": int(fin.sum()),
                "spearman": _spearman(rank_val[sel], ref_ln[sel]),
                "median_abs_delta": float(np.median(delta[fin])) if fin.any() else np.nan,
                "frac_within_1": float(np.mean(delta[fin] <= 1.0)) if fin.any() else np.nan,
                "same_side": float(np.mean(side[known] == ref_side[known]))
                if known.any() else np.nan,
                "ref_in_range": float(ref_in[sel].mean()) if sel.any() else np.nan,
            }
        )
    summary = pd.DataFrame(rows).set_index("group")
    return GdscComparison(
        curves=curves,
        summary=summary,
        missing=missing.reset_index(drop=True),
        n_reference=len(ref_table),
        n_ours=len(our_table),
        n_matched=len(curves),
        ic50=ic50,
    )
