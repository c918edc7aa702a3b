"""Reading and writing tidy tables by file extension (CSV, Parquet, XLSX).

All tables passed between preclin's rooms are long (tidy) :class:`pandas.DataFrame`
objects. Writers produce deterministic output: same table, same bytes.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from pathlib import Path

import numpy as np
import pandas as pd

from .errors import InputError

__all__ = [
    "read_table",
    "write_table",
    "require_columns",
    "require_numeric",
    "column_list",
    "TABLE_SUFFIXES",
]

TABLE_SUFFIXES = (".csv", ".tsv", ".txt", ".parquet", ".pq", ".xlsx", ".xlsm")


def _suffix(path: Path) -> str:
    return path.suffix.lower()


def read_table(path: str | Path, *, sheet: str | int = 0,
               categorical: Sequence[str] = ()) -> pd.DataFrame:
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

    Returns
    -------
    pandas.DataFrame

    Raises
    ------
    InputError
        If the file is missing, has an unknown extension, or cannot be parsed.
    """
    p = Path(path)
    if not p.exists():
        raise InputError("file not found", file=p)
    if p.is_dir():
        raise InputError("expected a file but found a directory", file=p)
    suf = _suffix(p)
    try:
        if suf in (".csv", ".txt"):
            df = pd.read_csv(p, sep=None, engine="python") if suf == ".txt" else pd.read_csv(p)
        elif suf == ".tsv":
            df = pd.read_csv(p, sep="\t")
        elif suf in (".parquet", ".pq"):
            df = _read_parquet(p, categorical)
        elif suf in (".xlsx", ".xlsm"):
            df = pd.read_excel(p, sheet_name=sheet, engine="openpyxl")
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
    df.columns = [str(c).strip() for c in df.columns]
    return df


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

    ``row_offset`` converts the 0-based position to the row number a user sees
    (2 for a CSV with a header line).
    """
    raw = df[column]
    if raw.dtype == np.float64:  # already numbers: no copy (tables of millions of rows)
        values = raw
        bad = pd.Series(False, index=raw.index) if allow_nan else raw.isna()
    else:
        values = pd.to_numeric(raw, errors="coerce").astype("float64")
        bad = values.isna() & raw.notna() if allow_nan else values.isna()
    if bad.any():
        pos = int(bad.to_numpy().nonzero()[0][0])
        raise InputError(
            f"column '{column}' must be numeric but has {raw.iloc[pos]!r}",
            file=file,
            location=f"row {pos + row_offset}",
        )
    if nonnegative:
        neg = values < 0
        if neg.any():
            pos = int(neg.to_numpy().nonzero()[0][0])
            raise InputError(
                f"column '{column}' must not be negative but has {values.iloc[pos]!r}",
                file=file,
                location=f"row {pos + row_offset}",
            )
    return values


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
