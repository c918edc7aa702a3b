"""Generic plate-shaped grids in CSV/TSV/TXT or XLSX files.

The file holds one or more blocks like::

    Plate 1                         <- optional title line naming the block
    ,1,2,3,...,12                   <- header: column numbers (1..12, 1..24, ...)
    A,0.51,0.49,...,0.50            <- one line per row, starting with the row letter
    ...
    H,0.05,0.06,...,0.05

Any standard plate shape is accepted (6, 12, 24, 48, 96, 384, 1536 wells). A text in the corner
cell (left of the ``1``) names the block when there is no title line. Cells to the right of the
last column are ignored, except a label there on a line without a row letter, which marks a
second read of the row above (several wavelengths interleaved, as some instruments export).

Blank cells (and ``NA``, ``N/A``, ``NaN``) become NaN. A non-numeric cell such as ``OVRFLW``
raises :class:`~preclin.errors.InputError` naming the file, the well and the value (a generic
grid is often typed by hand, where stray text is a mistake), unless the reader was created with
``nonnumeric="flag"`` (NaN, the text kept in ``flag``), ``nonnumeric="nan"`` or the token is
listed in ``na_values``.

A unit in the corner cell or the title (``CPM``, ``DPM``, ``CPS``, ``RLU``, ``RFU``, ``OD``,
``Abs``, ``Counts``, or ``Counts (CPM)``) fills the ``unit`` column; a label that is only a unit
does not name the block. Scintillation counts (CPM grids from a MicroBeta or TopCount, e.g.
3H-thymidine proliferation) therefore read as a plate signal with ``unit = "CPM"``.

Output: ``plate`` is the block name (title, corner text, sheet name or file stem) and ``read``
is empty (a generic grid does not say which read it holds).
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

import numpy as np
import pandas as pd

from ...errors import InputError
from .._cells import (
    Grid,
    GridLine,
    cell_text,
    find_grids,
    head_sheet,
    is_blank,
    load_sheets,
    to_number,
)
from .._wells import row_label

__all__ = ["GridReader", "grid_to_long", "split_reads", "name_blocks", "unit_of_label",
           "concat_long"]

Nonnumeric = Literal["error", "nan", "flag"]


def split_reads(grid: Grid) -> list[tuple[str | None, list[GridLine]]]:
    """Split a grid into reads: one per line position within each row.

    Most grids have one line per row (one read). Interleaved multi-read exports have ``k`` lines
    per row, each labelled at its end (e.g. ``450`` and ``630``); read ``m`` is the ``m``-th line
    of every row. Returns ``(label, lines)`` pairs; ``label`` is the common trailing label of
    the read's lines or None.
    """
    by_row: dict[int, list[GridLine]] = {}
    for gl in grid.lines:
        by_row.setdefault(gl.i, []).append(gl)
    counts = {len(v) for v in by_row.values()}
    if len(counts) != 1:
        first = min(by_row, key=lambda i: (len(by_row[i]), i))
        raise InputError(
            "rows of the plate grid have different numbers of lines "
            f"(row {row_label(first)} has {len(by_row[first])}); cannot tell the reads apart",
            file=grid.sheet.path,
            location=grid.sheet.where(grid.header_line),
        )
    k = counts.pop()
    reads = []
    for m in range(k):
        lines = [by_row[i][m] for i in sorted(by_row)]
        labels = {gl.trailing for gl in lines}
        label = labels.pop() if len(labels) == 1 else None
        if k > 1 and label is None:
            label = lines[0].trailing or str(m + 1)
        reads.append((label, lines))
    return reads


def grid_to_long(
    grid: Grid,
    lines: list[GridLine],
    plate: str,
    *,
    nonnumeric: Nonnumeric = "error",
    na_values: Iterable[str] = (),
    read: str = "",
    unit: str | None = None,
    wavelength_nm: float | None = None,
) -> pd.DataFrame:
    """Long table (``plate, read, well, row, col, value`` [``wavelength_nm, unit, flag``]) of
    one read of a grid.

    Blank cells (and ``NA``-like tokens or ``na_values``) give NaN with no flag. Other text gives
    NaN and, with ``nonnumeric="flag"``, the text as written in ``flag``; ``"nan"`` drops the
    text; ``"error"`` raises.

    Raises
    ------
    InputError
        For a non-numeric cell when ``nonnumeric="error"``, naming file, well, cell and value.
    """
    na = {v.strip().lower() for v in na_values}
    sheet = grid.sheet
    n = len(lines) * grid.n_cols
    wells: list[str] = []
    rows: list[str] = []
    cols = np.tile(np.arange(1, grid.n_cols + 1), len(lines))
    signal = np.full(n, np.nan)
    flags: list[str | None] = [None] * n
    pos = 0
    for gl in lines:
        letter = row_label(gl.i)
        for k, cell in enumerate(gl.cells):
            wells.append(f"{letter}{k + 1}")
            rows.append(letter)
            if not is_blank(cell):
                value = to_number(cell, decimal_comma=sheet.decimal_comma)
                if value is not None:
                    signal[pos] = value
                elif cell_text(cell).lower() in na:
                    pass
                elif nonnumeric == "error":
                    raise InputError(
                        f"non-numeric value {cell_text(cell)!r} "
                        "(read such values as flagged with nonnumeric='flag')",
                        file=sheet.path,
                        location=f"well {letter}{k + 1} ({grid.where(gl.line, k)})",
                    )
                elif nonnumeric == "flag":
                    flags[pos] = cell_text(cell)
            pos += 1
    out = pd.DataFrame(
        {
            "plate": pd.Series([plate] * n, dtype="str"),
            "read": pd.Series([read] * n, dtype="str"),
            "well": pd.Series(wells, dtype="str"),
            "row": pd.Series(rows, dtype="str"),
            "col": cols.astype("int64"),
            "value": signal,
        }
    )
    if wavelength_nm is not None:
        out["wavelength_nm"] = float(wavelength_nm)
    if unit is not None:
        out["unit"] = pd.Series([unit] * n, dtype="string")
    if any(f is not None for f in flags):
        out["flag"] = pd.Series(flags, dtype="string")
    return out


#: Unit names recognised in a grid's corner cell or title (scintillation counts, ...).
UNIT_TOKENS = {u.lower(): u for u in ("CPM", "DPM", "CPS", "CCPM", "RLU", "RFU", "OD", "Abs",
                                      "Counts")}
_UNIT_IN_BRACKETS = re.compile(r"[(\[]\s*([A-Za-z]+)\s*[)\]]\s*$")


def unit_of_label(text: str | None) -> tuple[str | None, bool]:
    """``(unit, whole)`` of a grid label: the unit a corner/title names (``CPM``,
    ``Counts (CPM)``) and whether the label is nothing but the unit."""
    if not text:
        return None, False
    t = text.strip()
    if t.lower() in UNIT_TOKENS:
        return UNIT_TOKENS[t.lower()], True
    m = _UNIT_IN_BRACKETS.search(t)
    if m and m.group(1).lower() in UNIT_TOKENS:
        return UNIT_TOKENS[m.group(1).lower()], False
    return None, False


def concat_long(frames: list[pd.DataFrame]) -> pd.DataFrame:
    """Concatenate long tables, keeping optional columns only where some frame has them."""
    out = pd.concat(frames, ignore_index=True)
    for name in ("unit", "flag"):
        if name in out.columns:
            out[name] = out[name].astype("string")
    return out


def name_blocks(
    candidates: list[tuple[str | None, str | None, str | None]], stem: str
) -> list[str]:
    """Give every block of a file a unique name.

    ``candidates`` holds ``(label, base, sheet)`` per block: the preferred name (a read label or
    title), a fall-back base (title or corner text) and the worksheet name. Unnamed blocks get the
    sheet name (several sheets with one block each), the file stem (one block) or
    ``stem:k``. Repeated names become ``base:label``, or the sheet name (one block per sheet),
    and any still repeated get ``#1``, ``#2``, ... appended.
    """
    per_sheet: dict[str | None, int] = {}
    for _, _, sheet in candidates:
        per_sheet[sheet] = per_sheet.get(sheet, 0) + 1
    n = len(candidates)
    names: list[str] = []
    for k, (label, base, sheet) in enumerate(candidates, start=1):
        if label is not None:
            names.append(label)
        elif base is not None:
            names.append(base)
        elif sheet is not None and len(per_sheet) > 1 and per_sheet[sheet] == 1:
            names.append(sheet)
        else:
            names.append(stem if n == 1 else f"{stem}:{k}")
    dup = {n for n in names if names.count(n) > 1}
    for k, (label, base, sheet) in enumerate(candidates):
        if names[k] not in dup:
            continue
        if label is not None and base is not None and base != label:
            names[k] = f"{base}:{label}"
        elif sheet is not None and len(per_sheet) > 1 and per_sheet[sheet] == 1:
            names[k] = sheet
    dup = {n for n in names if names.count(n) > 1}
    seen: dict[str, int] = {}
    for k, name in enumerate(names):
        if name in dup:
            seen[name] = seen.get(name, 0) + 1
            names[k] = f"{name}#{seen[name]}"
    return names


@dataclass
class GridReader:
    """Reader for generic plate-shaped grids (CSV, TSV, TXT, XLSX).

    Parameters
    ----------
    nonnumeric
        ``"error"`` (default): a non-numeric cell raises :class:`InputError` naming file, well
        and value. ``"flag"``: value NaN and the text kept in ``flag``. ``"nan"``: such cells
        are read as missing.
    na_values
        Extra cell texts always read as missing (e.g. ``("OVRFLW",)``).
    """

    nonnumeric: Nonnumeric = "error"
    na_values: tuple[str, ...] = field(default=())
    name: str = "grid"

    def guess_can_open(self, path: str | Path) -> bool:
        """True for a CSV/TSV/TXT/XLSX file with a plate grid in its first lines."""
        sheet = head_sheet(path, n_lines=200)  # None for non-tabular files
        if sheet is None:
            return False
        try:
            return next(find_grids(sheet, titles=False), None) is not None
        except InputError:
            return True  # a grid is there but cut by the head or malformed: read() explains

    def read(self, path: str | Path) -> pd.DataFrame:
        """Read every grid of the file into one long table (see :mod:`..readers`).

        Raises
        ------
        InputError
            If the file is missing, has no plate grid, has a malformed grid or a non-numeric
            value (see ``nonnumeric``).
        """
        p = Path(path)
        blocks: list[tuple[Grid, str | None, list[GridLine], str | None, str | None]] = []
        for sheet in load_sheets(p):
            for grid in find_grids(sheet):
                unit = None
                base = None
                for text in (grid.title, grid.corner):
                    found, whole = unit_of_label(text)
                    unit = unit or found
                    if base is None and text and not whole:
                        base = text  # a label that is only a unit names no block
                for label, lines in split_reads(grid):
                    blocks.append((grid, label, lines, base, unit))
        if not blocks:
            raise InputError(
                "no plate grid found (expected a header line with column numbers 1, 2, ... "
                "followed by rows starting A, B, ...)",
                file=p,
            )
        names = name_blocks([(lab, base, g.sheet.name) for g, lab, _, base, _ in blocks],
                            p.stem)
        frames = [
            grid_to_long(g, lines, name, nonnumeric=self.nonnumeric, na_values=self.na_values,
                         unit=unit)
            for (g, _, lines, _, unit), name in zip(blocks, names, strict=True)
        ]
        return concat_long(frames)
