"""Reading and writing tidy tables by file extension (CSV, Parquet, XLSX).

All tables passed between preclin's rooms are long (tidy) :class:`pandas.DataFrame`
objects. Writers produce deterministic output: same table, same bytes.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence, Set
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from numpy.typing import NDArray

from .errors import InputError

__all__ = [
    "read_table",
    "ALL_COLUMNS",
    "write_table",
    "require_columns",
    "require_numeric",
    "require_number_type",
    "require_keys",
    "exclusion_flags",
    "column_list",
    "TABLE_SUFFIXES",
]

TABLE_SUFFIXES = (".csv", ".tsv", ".txt", ".parquet", ".pq", ".xlsx", ".xlsm")


def _suffix(path: Path) -> str:
    return path.suffix.lower()


class _AllColumns(frozenset[str]):
    """``keys=ALL_COLUMNS``: every column of the file is a key."""

    def __contains__(self, item: object) -> bool:
        return True

    def __repr__(self) -> str:
        return "ALL_COLUMNS"


#: ``read_table(path, keys=ALL_COLUMNS)`` reads every column as a key (text as written).
ALL_COLUMNS = _AllColumns()


def read_table(path: str | Path, *, sheet: str | int = 0,
               categorical: Sequence[str] = (),
               keys: Sequence[str] | frozenset[str] = ()) -> pd.DataFrame:
    """Read a table from CSV/TSV, Parquet or XLSX, chosen by the file extension.

    Parameters
    ----------
    path
        File to read.
    sheet
        Sheet name or index for XLSX files.
    categorical
        Text columns of a Parquet file to read dictionary-encoded straight from its
        dictionary pages, kept as Arrow dictionary arrays (pandas ``ArrowDtype``; key
        columns of millions of rows: faster, and a fraction of the memory); ignored for
        other formats and for columns that are not text.
    keys
        Key (grouping) columns: curve ids, block labels, drug names. They are read by one
        rule, the same for every command: **as text exactly as written**, never coerced
        (``007``, ``7`` and ``7.00`` are three keys; ``NA``, ``None`` and ``null`` are text
        like any other) — from CSV the characters of the cell, from XLSX the text Excel
        shows (``7`` for an integer-valued number, ``7.00`` under the format ``0.00``,
        merged cells filled with their value), from Parquet the values as stored. An empty
        key cell (or a Parquet null) is refused naming the file, row and column, and so is
        a key column of lists, maps or structs. Names of ``keys`` the file does not have
        are ignored (the caller reports missing columns). ``keys=ALL_COLUMNS``: every
        column is a key (a sample table whose columns are all labels).

    Returns
    -------
    pandas.DataFrame

    Raises
    ------
    InputError
        If the file is missing, has an unknown extension, cannot be parsed, has two
        columns of the same name, formulas without a computed value (XLSX) or a key
        cell that is empty or not a plain value.
    """
    p = Path(path)
    if not p.exists():
        raise InputError("file not found", file=p)
    if p.is_dir():
        raise InputError("expected a file but found a directory", file=p)
    suf = _suffix(p)
    key_set = keys if isinstance(keys, _AllColumns) else {str(k).strip() for k in keys}
    try:
        if suf in (".csv", ".txt", ".tsv"):
            df = _read_csv(p, suf, key_set)
        elif suf in (".parquet", ".pq"):
            df = _read_parquet(p, categorical)
        elif suf in (".xlsx", ".xlsm"):
            df = _read_xlsx(p, sheet, key_set)
        else:
            raise InputError(
                f"unknown table format '{suf or '(none)'}'; use one of {', '.join(TABLE_SUFFIXES)}",
                file=p,
            )
    except InputError:
        raise
    except pd.errors.EmptyDataError:
        raise InputError("the file is empty", file=p) from None
    except (ValueError, OSError, pd.errors.ParserError) as exc:
        raise InputError(f"cannot read table ({_first_line(exc)})", file=p) from None
    except Exception as exc:  # pyarrow / openpyxl raise their own types on corrupt files
        raise InputError(f"cannot read table ({type(exc).__name__}: {_first_line(exc)})",
                         file=p) from None
    if df.shape[0] == 0:
        raise InputError("the table has no rows", file=p)
    names = [str(c).strip() for c in df.columns]
    _require_unique_names(names, p)
    df.columns = names
    present = [c for c in names if c in key_set]
    if present:
        require_keys(df, present, file=p, allow_missing=False)
    return df


#: what pandas reads as missing in CSV (its default ``na_values``); key columns are
#: exempt: there ``NA`` or ``null`` is text as written
_CSV_NA = ["", "#N/A", "#N/A N/A", "#NA", "-1.#IND", "-1.#QNAN", "-NaN", "-nan", "1.#IND",
           "1.#QNAN", "<NA>", "N/A", "NA", "NULL", "NaN", "None", "n/a", "nan", "null"]


def _read_csv(p: Path, suf: str, keys: Set[str]) -> pd.DataFrame:
    """CSV/TSV/TXT with the key columns as text exactly as written."""
    opts: dict[str, object] = ({"sep": None, "engine": "python"} if suf == ".txt"
                               else {"sep": "\t"} if suf == ".tsv" else {})
    # the header as written (pandas renames duplicates to 'a.1'): refuse those instead
    head = pd.read_csv(p, header=None, nrows=1, dtype=str, keep_default_na=False,
                       encoding_errors="strict", **opts)  # type: ignore[call-overload]
    raw = [str(c) for c in head.iloc[0].tolist()]
    _require_unique_names([c.strip() for c in raw], p)
    text = [c for c in raw if c.strip() in keys]
    if not text:
        return pd.read_csv(p, **opts)  # type: ignore[call-overload]
    na = {c: _CSV_NA for c in raw if c.strip() not in keys}
    return pd.read_csv(p, dtype={c: str for c in text}, keep_default_na=False,  # type: ignore[call-overload]
                       na_values=na, **opts)


def _require_unique_names(names: Sequence[str], file: Path) -> None:
    seen: set[str] = set()
    for k, name in enumerate(names):
        if name in seen:
            raise InputError(f"two columns are named '{name}'; give each column its own name",
                             file=file, location=f"column {k + 1}")
        seen.add(name)


def _read_parquet(p: Path, categorical: Sequence[str]) -> pd.DataFrame:
    """One Parquet file as a DataFrame, text columns in ``categorical`` dictionary-encoded.

    Read with ``pyarrow.parquet.ParquetFile`` (``pandas.read_parquet`` goes through Arrow's
    dataset layer, whose import alone costs ~0.6 s in a fresh process) and converted column
    by column, freeing Arrow's buffers as it goes (halves the peak memory of large tables).
    """
    import pyarrow as pa
    import pyarrow.parquet as pq

    with pq.ParquetFile(p) as probe:
        schema = probe.schema_arrow
    _require_unique_names([str(n).strip() for n in schema.names], p)
    text = [c for c in categorical if c in schema.names and (
        pa.types.is_string(schema.field(c).type)
        or pa.types.is_large_string(schema.field(c).type))]
    with pq.ParquetFile(p, read_dictionary=text or None) as f:
        table = f.read()
    if not text:
        return table.to_pandas(self_destruct=True, split_blocks=True)
    # the dictionary columns stay in Arrow (pandas ArrowDtype): converting them to
    # categoricals would unify the row groups' dictionaries into Python strings
    names = table.column_names
    keep = {c: pd.Series(pd.arrays.ArrowExtensionArray(table.column(c)), name=c)
            for c in text}
    rest = table.drop_columns(text)
    del table  # nothing may touch the columns self_destruct releases
    df = rest.to_pandas(self_destruct=True, split_blocks=True)
    del rest
    order = [c for c in names if c in keep or c in df.columns]
    for c in sorted(keep, key=order.index):
        df.insert(order.index(c), c, keep[c])
    return df


def _read_xlsx(p: Path, sheet: str | int, keys: Set[str]) -> pd.DataFrame:
    """One sheet as Excel shows it: the first row names the columns, merged cells carry
    their value in every cell they cover, key columns are the text of the cell, other
    columns typed by their values (numbers, text, booleans, dates). A formula without a
    computed value (a file saved by a program that does not calculate) is refused."""
    import openpyxl

    wb = openpyxl.load_workbook(p, data_only=True)  # not read-only: merged ranges
    try:
        ws = _sheet(wb, sheet, p)
        cells = [list(r) for r in ws.iter_rows(min_row=1, min_col=1)]
        values = [[c.value for c in r] for r in cells]
        for rng in ws.merged_cells.ranges:
            top = values[rng.min_row - 1][rng.min_col - 1]
            for i in range(rng.min_row - 1, min(rng.max_row, len(values))):
                for j in range(rng.min_col - 1, min(rng.max_col, len(values[i]))):
                    values[i][j] = top
        title = ws.title
    finally:
        wb.close()
    while values and all(v is None for v in values[-1]):
        values.pop()
    if not values:
        raise pd.errors.EmptyDataError("no data")
    _require_cached_values(p, title, values)
    width = max((j + 1 for r in values for j, v in enumerate(r) if v is not None), default=0)
    header = [("" if v is None else _cell_text(v, "General")).strip() or f"Unnamed: {j}"
              for j, v in enumerate((values[0] + [None] * width)[:width])]
    body = [(k, r) for k, r in enumerate(values[1:], start=1)
            if any(v is not None for v in r[:width])]
    data: dict[str, pd.Series] = {}
    for j, name in enumerate(header):
        if name in data:
            raise InputError(f"two columns are named '{name}'; give each column its own "
                             "name", file=p, location=f"sheet '{title}', column {j + 1}")
        col = [r[j] if j < len(r) else None for _, r in body]
        if name in keys:
            fmts = [cells[k][j].number_format if j < len(cells[k]) else "General"
                    for k, _ in body]
            data[name] = pd.Series(["" if v is None else _cell_text(v, f)
                                    for v, f in zip(col, fmts, strict=True)], dtype=object)
        else:
            data[name] = pd.Series(col, dtype=object).infer_objects()
    return pd.DataFrame(data)


def _sheet(wb: Any, sheet: str | int, p: Path) -> Any:
    names = list(wb.sheetnames)
    if isinstance(sheet, int):
        if not 0 <= sheet < len(names):
            raise InputError(f"the workbook has no sheet {sheet + 1} (it has {len(names)})",
                             file=p)
        return wb[names[sheet]]
    if sheet not in names:
        raise InputError(f"the workbook has no sheet '{sheet}'; sheets: {', '.join(names)}",
                         file=p)
    return wb[sheet]


def _require_cached_values(p: Path, title: str, values: list[list[object]]) -> None:
    """Refuse formula cells saved without their value (they read as empty)."""
    if not any(v is None for r in values for v in r):
        return
    import openpyxl

    wb = openpyxl.load_workbook(p, read_only=True, data_only=False)
    try:
        for i, row in enumerate(wb[title].iter_rows(min_row=1, min_col=1,
                                                   max_row=len(values))):
            for j, cell in enumerate(row):
                if (j < len(values[i]) and values[i][j] is None
                        and getattr(cell, "data_type", None) == "f"):
                    raise InputError(
                        f"cell {cell.coordinate} holds a formula without a computed value "
                        "(the file was saved by a program that does not calculate); open "
                        "and save it in Excel or LibreOffice, or paste the values",
                        file=p, location=f"sheet '{title}'")
    finally:
        wb.close()


def _cell_text(value: object, number_format: str) -> str:
    """The text Excel shows for a cell (numbers under the formats ``0``, ``000``,
    ``0.00`` and General)."""
    import datetime as _dt
    import re

    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        fmt = str(number_format or "General")
        m = re.fullmatch(r"(0+)(?:\.(0+))?", fmt)
        if m and np.isfinite(value):
            decimals = len(m.group(2) or "")
            text = f"{value:.{decimals}f}"
            width = len(m.group(1)) + (decimals + 1 if decimals else 0) + (value < 0)
            return text.zfill(width)
        if float(value).is_integer() and abs(value) < 1e15:
            return str(int(value))
        return repr(float(value))
    if isinstance(value, _dt.datetime):
        return (value.date().isoformat() if value.time() == _dt.time(0)
                else value.isoformat(sep=" "))
    if isinstance(value, (_dt.date, _dt.time, _dt.timedelta)):
        return value.isoformat() if not isinstance(value, _dt.timedelta) else str(value)
    return str(value)


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return text[0] if text else type(exc).__name__


def write_table(df: pd.DataFrame, path: str | Path) -> Path:
    """Write a table as CSV, Parquet or XLSX according to the extension of ``path``.

    CSV is written with full ``repr`` float precision, ``\\n`` line endings,
    no index, so that the same table always gives the same bytes. Parquet is written
    without the pandas index and with a fixed compression.
    """
    p = Path(path)
    p.parent.mkdir(parents=True, exist_ok=True)
    suf = _suffix(p)
    if suf in (".csv", ".txt"):
        df.to_csv(p, index=False, lineterminator="\n")
    elif suf == ".tsv":
        df.to_csv(p, index=False, sep="\t", lineterminator="\n")
    elif suf in (".parquet", ".pq"):
        # Arrow dictionary columns (from read_table(categorical=...)) as categoricals:
        # pandas cannot read back the metadata it writes for them
        import pyarrow as pa

        arrow_dict = [c for c, dt in df.dtypes.items() if isinstance(dt, pd.ArrowDtype)
                      and pa.types.is_dictionary(dt.pyarrow_dtype)]
        if arrow_dict:
            df = df.assign(**{str(c): df[c].astype("category").cat.remove_unused_categories()
                              for c in arrow_dict})
        # dictionary-encode text columns only: trying it on columns of unique floats costs
        # more than the compression itself (halves the write time of a fit table)
        text = [str(c) for c in df.columns
                if not (pd.api.types.is_numeric_dtype(df[c]) or pd.api.types.is_bool_dtype(df[c]))]
        df.to_parquet(p, index=False, compression="zstd", use_dictionary=text)
    elif suf in (".xlsx", ".xlsm"):
        df.to_excel(p, index=False, engine="openpyxl")
    else:
        raise InputError(
            f"unknown output format '{suf or '(none)'}'; use .csv, .parquet or .xlsx", file=p
        )
    return p


def require_columns(
    df: pd.DataFrame, columns: Iterable[str], *, file: str | Path | None = None
) -> None:
    """Raise :class:`InputError` naming every column of ``columns`` missing from ``df``."""
    missing = [c for c in columns if c not in df.columns]
    if missing:
        have = ", ".join(map(str, df.columns[:20]))
        raise InputError(
            f"missing column(s) {', '.join(repr(m) for m in missing)}; the table has: {have}",
            file=file,
        )


def require_numeric(
    df: pd.DataFrame,
    column: str,
    *,
    file: str | Path | None = None,
    allow_nan: bool = False,
    nonnegative: bool = False,
    row_offset: int = 2,
) -> pd.Series:
    """Return ``df[column]`` as float, or raise naming the first offending row.

    Columns of booleans, dates, timestamps, durations, periods, intervals, lists or maps
    are refused by :func:`require_number_type` (the one type check every command applies).
    ``row_offset`` converts the 0-based position to the row number a user sees
    (2 for a CSV with a header line).
    """
    raw = df[column]
    require_number_type(raw, column, file=file, row_offset=row_offset)
    if raw.dtype == np.float64:  # already numbers: no copy (tables of millions of rows)
        values = raw
        bad = pd.Series(False, index=raw.index) if allow_nan else raw.isna()
    else:
        values = pd.to_numeric(raw, errors="coerce").astype("float64")
        bad = values.isna() & raw.notna() if allow_nan else values.isna()
    if bad.any():
        pos = int(bad.to_numpy().nonzero()[0][0])
        shown = raw.iloc[pos]
        what = "is empty" if _is_missing(shown) else f"has {shown_value(shown)}"
        raise InputError(
            f"column '{column}' must be numeric but {what}",
            file=file,
            location=f"row {pos + row_offset}",
        )
    if nonnegative:
        neg = values < 0
        if neg.any():
            pos = int(neg.to_numpy().nonzero()[0][0])
            raise InputError(
                f"column '{column}' must not be negative but has "
                f"{shown_value(values.iloc[pos])}",
                file=file,
                location=f"row {pos + row_offset}",
            )
    return values


def _is_missing(value: Any) -> bool:
    try:
        return bool(pd.isna(value))
    except (TypeError, ValueError):
        return False


def shown_value(value: object) -> str:
    """A cell value as a message shows it: text quoted, numbers plain (``1.5``, never
    ``np.float64(1.5)``), missing values as ``empty``."""
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, str):
        return repr(value)
    if isinstance(value, bool):
        return str(value)
    if isinstance(value, float):
        return "empty" if np.isnan(value) else f"{value:g}"
    if isinstance(value, int):
        return str(value)
    if _is_missing(value):
        return "empty"
    text = str(value)
    return repr(text if len(text) <= 40 else text[:37] + "...")


def _type_of(value: object) -> str | None:
    """What a non-number cell holds (``None`` for numbers, text and missing values)."""
    import datetime as _dt
    import decimal

    if isinstance(value, (bool, np.bool_)):
        return "a boolean"
    if isinstance(value, (int, float, np.number, decimal.Decimal, str)) or value is None:
        return None
    if isinstance(value, (_dt.datetime, _dt.date, np.datetime64)):
        return "a date/timestamp"
    if isinstance(value, (_dt.timedelta, np.timedelta64)):
        return "a duration"
    if isinstance(value, _dt.time):
        return "a time of day"
    if isinstance(value, (list, np.ndarray)) and len(value) and all(
            isinstance(e, tuple) and len(e) == 2 for e in value):
        return "a map"  # how pandas shows an Arrow map cell: (key, value) pairs
    if isinstance(value, (list, tuple, np.ndarray)):
        return "a list"
    if isinstance(value, (dict, set)):
        return "a map" if isinstance(value, dict) else "a set"
    if isinstance(value, bytes):
        return "bytes"
    if _is_missing(value):
        return None
    return f"a {type(value).__name__}"


def _dtype_kind(dtype: Any) -> str | None:
    """What a column's type holds when it cannot hold numbers (``None`` if it can or if
    the values decide, as for text and object columns)."""
    if isinstance(dtype, pd.CategoricalDtype):
        return _dtype_kind(dtype.categories.dtype)
    if isinstance(dtype, pd.ArrowDtype):
        import pyarrow as pa

        t = dtype.pyarrow_dtype
        if pa.types.is_dictionary(t):
            t = t.value_type
        if pa.types.is_boolean(t):
            return "booleans"
        if pa.types.is_timestamp(t) or pa.types.is_date(t):
            return "dates/timestamps"
        if pa.types.is_duration(t) or pa.types.is_interval(t):
            return "durations"
        if pa.types.is_time(t):
            return "times of day"
        if pa.types.is_map(t):
            return "maps"
        if pa.types.is_struct(t):
            return "structs"
        if pa.types.is_nested(t):
            return "lists"
        if pa.types.is_binary(t) or pa.types.is_large_binary(t):
            return "bytes"
        return None
    if pd.api.types.is_bool_dtype(dtype):
        return "booleans"
    if isinstance(dtype, pd.DatetimeTZDtype) or pd.api.types.is_datetime64_any_dtype(dtype):
        return "dates/timestamps"
    if pd.api.types.is_timedelta64_dtype(dtype):
        return "durations"
    if isinstance(dtype, pd.PeriodDtype):
        return "periods"
    if isinstance(dtype, pd.IntervalDtype):
        return "intervals"
    if pd.api.types.is_complex_dtype(dtype):
        return "complex numbers"
    return None


def require_number_type(
    series: pd.Series,
    column: str,
    *,
    file: str | Path | None = None,
    row_offset: int = 2,
) -> None:
    """Refuse a column that does not hold numbers: booleans, dates, timestamps, durations,
    periods, intervals, lists, maps (by its type, or by its first such cell in a column of
    mixed Python objects), naming the column and the type found.

    Text cells are left to the numeric conversion (which names the first that is not a
    number).
    """
    kind = _dtype_kind(series.dtype)
    if kind is not None:
        raise InputError(f"column '{column}' holds {kind} (type {series.dtype}); it must "
                         "hold numbers", file=file)
    if series.dtype != object:
        return
    for pos, value in enumerate(series.to_numpy()):
        what = _type_of(value)
        if what is not None:
            raise InputError(f"column '{column}' must hold numbers but has {what} "
                             f"({shown_value(value)})", file=file,
                             location=f"row {pos + row_offset}")


def require_keys(
    df: pd.DataFrame,
    columns: Iterable[str],
    *,
    file: str | Path | None = None,
    allow_missing: bool = True,
    row_offset: int = 2,
) -> None:
    """Check key (grouping) columns: plain values only — no lists, maps or structs — and,
    with ``allow_missing=False`` (files read by :func:`read_table` with ``keys``), no empty
    cell. Raises :class:`InputError` naming the column (and the row)."""
    for col in columns:
        s = df[col]
        kind = _dtype_kind(s.dtype)
        if kind in ("lists", "maps", "structs"):
            raise InputError(f"key column '{col}' holds {kind} (type {s.dtype}); a key must "
                             "be a plain value such as text or a number", file=file)
        if s.dtype == object:
            for pos, value in enumerate(s.to_numpy()):
                if isinstance(value, (list, tuple, dict, set, np.ndarray)):
                    raise InputError(f"key column '{col}' must hold plain values but has "
                                     f"{_type_of(value)} (type {type(value).__name__})",
                                     file=file,
                                     location=f"row {pos + row_offset}")
        if allow_missing:
            continue
        empty = s.isna().to_numpy()
        if s.dtype == object or pd.api.types.is_string_dtype(s.dtype):
            empty = empty | (s.astype("string").str.strip() == "").fillna(True).to_numpy()
        if empty.any():
            pos = int(np.flatnonzero(empty)[0])
            raise InputError(f"key column '{col}' is empty here; every row needs its "
                             f"'{col}' (fill it in or remove the row)", file=file,
                             location=f"row {pos + row_offset}")


#: values of a boolean exclusion column (as written by preclin.plates.normalise)
_FLAG_TEXT = {"true": True, "false": False, "1": True, "0": False, "": False,
              "1.0": True, "0.0": False}


def exclusion_flags(
    df: pd.DataFrame,
    column: str | None,
    *,
    file: str | Path | None = None,
    row_offset: int = 2,
) -> NDArray[np.bool_] | None:
    """The rows an exclusion column marks True, or ``None`` without such a column.

    ``excluded`` (with ``reason``) is a name preclin reserves for its own flags (written
    by :func:`preclin.plates.normalise`). Only True/False, 1/0 or empty cells are read as
    flags; a column of that name holding anything else is a user's column that happens to
    have the name: it is reported as a conflict (rename it) instead of silently deciding
    which rows are used.
    """
    if not column or column not in df.columns:
        return None
    s = df[column]
    if pd.api.types.is_bool_dtype(s.dtype) and not isinstance(s.dtype, pd.CategoricalDtype):
        return s.fillna(False).to_numpy(dtype=bool)
    if pd.api.types.is_numeric_dtype(s.dtype) and not pd.api.types.is_bool_dtype(s.dtype):
        v = pd.to_numeric(s, errors="coerce").to_numpy(dtype=float)
        bad = ~(np.isnan(v) | (v == 0) | (v == 1))
        flags = v == 1
    else:
        text = [("" if _is_missing(x) else str(x).strip().lower()) for x in s.to_numpy()]
        bad = np.array([t not in _FLAG_TEXT for t in text], dtype=bool)
        flags = np.array([_FLAG_TEXT.get(t, False) for t in text], dtype=bool)
    if bad.any():
        pos = int(np.flatnonzero(bad)[0])
        raise InputError(
            f"column '{column}' is the name preclin reserves for exclusion flags (True/False, "
            f"1/0 or empty) but has {shown_value(s.iloc[pos])}; rename the column",
            file=file, location=f"row {pos + row_offset}")
    return flags


def column_list(cols: str | Sequence[str] | None) -> list[str]:
    """Column names as a list: ``None`` → ``[]``, ``"a, b"`` → ``["a", "b"]``."""
    if cols is None:
        return []
    if isinstance(cols, str):
        return [c.strip() for c in cols.split(",") if c.strip()]
    return list(cols)


def sorted_unique(values: Sequence[object]) -> list[object]:
    """Unique values in order of first appearance (deterministic grouping order)."""
    return list(dict.fromkeys(values))
