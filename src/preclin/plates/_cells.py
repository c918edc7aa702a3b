"""Spreadsheet-like access to CSV/TSV/TXT/XLSX files and plate-shaped grid finding (private).

Every instrument export and plater layout is, at heart, a sheet of cells containing one or
more *grids*: a header line with the column numbers ``1..N`` and below it one line per row
starting with the row letter. This module turns a file into :class:`Sheet` objects and finds
those grids (:func:`find_grids`) so that each reader only adds what is specific to its vendor.
"""

from __future__ import annotations

import csv
import datetime as _dt
import io
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..errors import InputError
from ._wells import PLATE_FORMATS, row_index, row_label

__all__ = [
    "Cell",
    "Sheet",
    "Grid",
    "GridLine",
    "TEXT_SUFFIXES",
    "XLSX_SUFFIXES",
    "load_sheets",
    "head_text",
    "head_sheet",
    "is_workbook",
    "MAX_FILE_BYTES",
    "find_grids",
    "cell_text",
    "to_number",
    "is_blank",
]

Cell = str | float | int | bool | None

TEXT_SUFFIXES = (".csv", ".tsv", ".txt", ".tab", ".dat")
XLSX_SUFFIXES = (".xlsx", ".xlsm")

#: Cell texts read as "no value" (compared case-insensitively).
BLANK_TOKENS = frozenset({"", "na", "n/a", "nan", "none", "null", "#n/a"})

_NUMBER_RE = re.compile(r"^[+-]?(\d+(?:[.,]\d*)?|[.,]\d+)(?:[eE][+-]?\d+)?$")
#: Standard column counts -> expected number of rows.
_ROWS_FOR_COLS = {c: r for r, c in PLATE_FORMATS.values()}


@dataclass
class Sheet:
    """Cells of one CSV file or one XLSX worksheet, as a ragged list of lines."""

    path: Path
    rows: list[list[Cell]]
    name: str | None = None  # worksheet name for XLSX, None for text files
    decimal_comma: bool = False  # text file delimited by ';' or tab: "0,5" means 0.5

    def where(self, line: int, column: int | None = None) -> str:
        """Human location of a 0-based line (and column): ``line 5`` or ``sheet 'S1' cell C5``."""
        if self.name is None:
            return f"line {line + 1}"
        if column is None:
            return f"sheet '{self.name}' row {line + 1}"
        return f"sheet '{self.name}' cell {_excel_column(column)}{line + 1}"

    def cell(self, line: int, column: int) -> Cell:
        """Cell at 0-based ``line``/``column``, None beyond the end of a line."""
        if line >= len(self.rows):
            return None
        row = self.rows[line]
        return row[column] if 0 <= column < len(row) else None


@dataclass
class GridLine:
    """One line of values of a grid: row ``i`` (0-based), its cells and optional trailing label."""

    i: int
    line: int
    cells: list[Cell]
    trailing: str | None = None


@dataclass
class Grid:
    """A plate-shaped block found in a :class:`Sheet`."""

    sheet: Sheet
    header_line: int
    col0: int  # index of the cell holding column number 1
    n_cols: int
    n_rows: int
    corner: str | None  # text of the cell left of "1" on the header line
    title: str | None  # title line found above the header, if any
    lines: list[GridLine] = field(default_factory=list)
    end_line: int = 0  # 0-based index of the last line belonging to the grid

    def where(self, line: int, k: int) -> str:
        """Location of value ``k`` (0-based column) on sheet line ``line``."""
        return self.sheet.where(line, self.col0 + k)


def _excel_column(c: int) -> str:
    name = ""
    c += 1
    while c:
        c, rem = divmod(c - 1, 26)
        name = chr(ord("A") + rem) + name
    return name


# --------------------------------------------------------------------------- cell values
def is_blank(cell: Cell) -> bool:
    """True for empty cells and NA-like tokens (``NA``, ``N/A``, ``NaN``, ...)."""
    if cell is None:
        return True
    if isinstance(cell, float) and cell != cell:
        return True
    return isinstance(cell, str) and cell.strip().lower() in BLANK_TOKENS


def cell_text(cell: Cell) -> str:
    """Cell as display text; integral floats lose their ``.0``."""
    if cell is None:
        return ""
    if isinstance(cell, bool):
        return "TRUE" if cell else "FALSE"
    if isinstance(cell, float) and cell.is_integer():
        return str(int(cell))
    return str(cell).strip()


def to_number(cell: Cell, *, decimal_comma: bool = False) -> float | None:
    """The number in a cell, or None when the cell holds no number (text or blank)."""
    if cell is None or isinstance(cell, bool):
        return None
    if isinstance(cell, int | float):
        return float(cell)
    text = cell.strip()
    if not _NUMBER_RE.match(text):
        return None
    if "," in text:
        if not decimal_comma:
            return None
        text = text.replace(",", ".")
    return float(text)


def _int_value(cell: Cell) -> int | None:
    if isinstance(cell, bool) or cell is None:
        return None
    if isinstance(cell, int):
        return cell
    if isinstance(cell, float):
        return int(cell) if cell.is_integer() else None
    text = cell.strip()
    return int(text) if text.isdigit() else None


# --------------------------------------------------------------------------- loading
#: Largest file the plate readers open (instrument exports are far smaller).
MAX_FILE_BYTES = 256 * 2**20

_ZIP_MAGIC = b"PK\x03\x04"


def _decode(data: bytes, *, strict: bool = False) -> str:
    """Text of a file: UTF-16 (by BOM), UTF-8 (with or without BOM), else Latin-1.

    With ``strict``, raise ``UnicodeDecodeError`` for bytes that are not text (NUL bytes outside
    UTF-16) instead of decoding them as Latin-1.
    """
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        return data.decode("utf-16", errors="replace")
    if strict and b"\x00" in data:
        raise UnicodeDecodeError("utf-8", data, data.index(b"\x00"), data.index(b"\x00") + 1,
                                 "NUL byte in a text file")
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        return data.decode("latin-1")


def is_workbook(path: str | Path) -> bool:
    """True when the file content is a ZIP container (XLSX), whatever its extension."""
    try:
        with open(path, "rb") as fh:
            return fh.read(4) == _ZIP_MAGIC
    except OSError:
        return False


def _delimiter(lines: list[str], suffix: str) -> str:
    if suffix in (".tsv", ".tab"):
        return "\t"
    sample = [ln for ln in lines[:200] if ln.strip()]
    counts = {d: sum(ln.count(d) for ln in sample) for d in ("\t", ";", ",")}
    best = max(counts.values())
    if best == 0:
        return ","
    for d in ("\t", ";", ","):  # ties: prefer tab, then semicolon
        if counts[d] == best:
            return d
    return ","  # pragma: no cover


def _text_sheet(path: Path, text: str) -> Sheet:
    lines = text.splitlines()
    delim = _delimiter(lines, path.suffix.lower())
    rows: list[list[Cell]] = []
    for rec in csv.reader(io.StringIO("\n".join(lines)), delimiter=delim):
        rows.append([None if c.strip() == "" else c.strip() for c in rec])
    return Sheet(path=path, rows=rows, name=None, decimal_comma=delim != ",")


def _xlsx_cell(value: object) -> Cell:
    if value is None:
        return None
    if isinstance(value, str):
        v = value.strip()
        return v or None
    if isinstance(value, bool | int | float):
        return value
    if isinstance(value, _dt.datetime | _dt.date | _dt.time):
        return value.isoformat()
    return str(value)


def _open_workbook(path: Path) -> Any:
    import openpyxl

    try:
        # a file object, so that the content decides and not the extension
        with open(path, "rb") as fh:
            data = io.BytesIO(fh.read(MAX_FILE_BYTES + 1))
        if len(data.getbuffer()) > MAX_FILE_BYTES:
            raise InputError(f"file larger than {MAX_FILE_BYTES // 2**20} MiB", file=path)
        return openpyxl.load_workbook(data, read_only=True, data_only=True)
    except InputError:
        raise
    except Exception as exc:  # openpyxl raises many types on corrupt files
        raise InputError(f"cannot open workbook ({type(exc).__name__}: {exc})", file=path) from None


def _check_file(path: Path) -> None:
    if not path.exists():
        raise InputError("file not found", file=path)
    if path.is_dir():
        raise InputError("expected a file but found a directory", file=path)


def load_sheets(path: str | Path) -> list[Sheet]:
    """All sheets of a CSV/TSV/TXT file (one) or an XLSX workbook (one per worksheet)."""
    p = Path(path)
    _check_file(p)
    suffix = p.suffix.lower()
    if is_workbook(p):
        wb = _open_workbook(p)
        try:
            sheets = []
            for ws in wb.worksheets:
                rows = [[_xlsx_cell(v) for v in r] for r in ws.iter_rows(values_only=True)]
                sheets.append(Sheet(path=p, rows=rows, name=str(ws.title)))
            return sheets
        finally:
            wb.close()
    try:
        if p.stat().st_size > MAX_FILE_BYTES:
            raise InputError(f"file larger than {MAX_FILE_BYTES // 2**20} MiB", file=p)
        data = p.read_bytes()
    except OSError as exc:
        raise InputError(f"cannot read file ({exc.strerror or exc})", file=p) from None
    try:
        text = _decode(data, strict=True)
    except UnicodeDecodeError:
        if suffix in XLSX_SUFFIXES:
            raise InputError("cannot open workbook (the content is not an XLSX/ZIP file)",
                             file=p) from None
        raise InputError(
            "cannot decode the file as text (binary content that is neither a CSV/TXT export "
            "nor an XLSX workbook; save legacy .xls files as .xlsx)",
            file=p,
        ) from None
    return [_text_sheet(p, text)]


def head_text(path: str | Path, n_bytes: int = 8192) -> str:
    """The first ``n_bytes`` of a text file, decoded; "" when unreadable (for cheap guessing)."""
    try:
        with open(path, "rb") as fh:
            return _decode(fh.read(n_bytes))
    except (OSError, UnicodeDecodeError):
        return ""


def head_sheet(path: str | Path, n_lines: int = 80) -> Sheet | None:
    """The first ``n_lines`` lines of the first sheet, or None when unreadable (for guessing)."""
    p = Path(path)
    if not p.is_file():
        return None
    if is_workbook(p):
        try:
            wb = _open_workbook(p)
        except InputError:
            return None
        try:
            ws = wb.worksheets[0]
            rows = []
            for k, r in enumerate(ws.iter_rows(values_only=True)):
                if k >= n_lines:
                    break
                rows.append([_xlsx_cell(v) for v in r])
            return Sheet(path=p, rows=rows, name=str(ws.title))
        except Exception:
            return None
        finally:
            wb.close()
    try:
        with open(p, "rb") as fh:
            data = fh.read(8192)
        text = _decode(data, strict=True)
    except (OSError, UnicodeDecodeError):
        return None
    if not text.strip():
        return None
    lines = text.splitlines()[:n_lines]
    return _text_sheet(p, "\n".join(lines))


# --------------------------------------------------------------------------- grids
def _header_at(row: list[Cell]) -> tuple[int, int] | None:
    """``(col0, n_cols)`` if the line is a grid header ``[corner], 1, 2, ..., N``."""
    k = next((c for c, v in enumerate(row) if not is_blank(v)), None)
    if k is None:
        return None
    # the corner cell (e.g. a factor name or "450") may precede the 1
    if _int_value(row[k]) != 1:
        if k + 1 < len(row) and _int_value(row[k + 1]) == 1:
            k += 1
        else:
            return None
    if k < 1:
        return None
    n = 0
    while k + n < len(row) and _int_value(row[k + n]) == n + 1:
        n += 1
    if n not in _ROWS_FOR_COLS:
        return None
    return k, n


_KEY_VALUE_RE = re.compile(r"^[^:]+:\s+\S")
_TITLE_KEYS = {"plate", "plate name", "plate number", "name", "title", "label", "read", "sheet"}


def _title_above(sheet: Sheet, header: int, stop: int) -> str | None:
    seen = 0
    line = header - 1
    while line >= stop and seen < 3:
        cells = [c for c in sheet.rows[line] if not is_blank(c)]
        line -= 1
        if not cells:
            continue
        seen += 1
        if len(cells) == 1:
            text = cell_text(cells[0])
            if not _KEY_VALUE_RE.match(text):
                return text.rstrip(":").strip() or None
        elif len(cells) == 2 and cell_text(cells[0]).rstrip(":").strip().lower() in _TITLE_KEYS:
            return cell_text(cells[1]) or None
    return None


def find_grids(sheet: Sheet, *, titles: bool = True) -> Iterator[Grid]:
    """Yield every plate-shaped grid of a sheet, top to bottom.

    Raises
    ------
    InputError
        When a header line ``1..N`` is followed by rows ``A, B, ...`` that do not make up a
        standard plate (e.g. 7 rows under 12 columns).
    """
    rows = sheet.rows
    line = 0
    prev_end = 0
    while line < len(rows):
        found = _header_at(rows[line])
        if found is None:
            line += 1
            continue
        col0, n_cols = found
        label_col = col0 - 1
        expected_rows = _ROWS_FOR_COLS[n_cols]
        grid_lines: list[GridLine] = []
        i = 0
        cur = line + 1
        while cur < len(rows):
            row = rows[cur]
            label = row[label_col] if label_col < len(row) else None
            trailing_cell = row[col0 + n_cols] if col0 + n_cols < len(row) else None
            trailing = None if is_blank(trailing_cell) else cell_text(trailing_cell)
            values = [row[col0 + k] if col0 + k < len(row) else None for k in range(n_cols)]
            idx = None if is_blank(label) else row_index(cell_text(label))
            if idx is not None and idx == i and i < expected_rows:
                grid_lines.append(GridLine(i=i, line=cur, cells=values, trailing=trailing))
                i += 1
            elif is_blank(label) and i > 0 and trailing is not None and _header_at(row) is None:
                # continuation line: another read of the row above (Gen5 multi-wavelength)
                grid_lines.append(GridLine(i=i - 1, line=cur, cells=values, trailing=trailing))
            else:
                break
            cur += 1
        if i == 0:
            line += 1
            continue
        if i != expected_rows:
            raise InputError(
                f"plate grid has {n_cols} columns but {i} rows (A-{row_label(i - 1)}); "
                f"a {n_cols}-column plate has {expected_rows} rows "
                f"(A-{row_label(expected_rows - 1)})",
                file=sheet.path,
                location=sheet.where(line),
            )
        corner_cell = rows[line][label_col]
        corner = None if is_blank(corner_cell) else cell_text(corner_cell)
        title = _title_above(sheet, line, prev_end) if titles else None
        yield Grid(
            sheet=sheet,
            header_line=line,
            col0=col0,
            n_cols=n_cols,
            n_rows=expected_rows,
            corner=corner,
            title=title,
            lines=grid_lines,
            end_line=cur - 1,
        )
        prev_end = cur
        line = cur
