"""BioTek (Agilent) Gen5 plate exports: text (tab), CSV or XLSX.

A Gen5 export starts with metadata lines (``Software Version``, ``Plate Type``, ``Reader Type``,
``Read``, ``Wavelengths:  450``, ...) followed by one section per read or computed result. Each
section has a title line (``450``, ``Read 1:450``, ``Results``, ``Blank 450``), then the grid
header ``,1,2,...,12`` and the rows ``A, ..., H``. Variants this reader accepts:

* a trailing column holding the wavelength label on every row (``A,...,0.05,450``);
* several reads interleaved in one grid, one line per read under each row letter, each labelled
  at its end (``A,...,450`` then ``,...,630``);
* ``Layout`` / ``Well ID`` sections (text such as ``SPL1``, ``BLK``) are skipped.

Each read becomes one ``plate`` value: the trailing label if present, else the section title
(a generic ``Results`` title is replaced by the wavelength when the file declares exactly one).
``OVRFLW`` and ``?????`` (out of range) raise :class:`~preclin.errors.InputError` naming file,
well and value unless the reader was created with ``nonnumeric="nan"``. The metadata is kept in
``DataFrame.attrs["metadata"]`` (a dict of strings).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from ...errors import InputError
from .._cells import (
    Grid,
    GridLine,
    Sheet,
    cell_text,
    find_grids,
    head_sheet,
    is_blank,
    load_sheets,
    to_number,
)
from .grid import Nonnumeric, grid_to_long, name_blocks, split_reads

__all__ = ["Gen5Reader"]

_MARKERS = (
    "software version",
    "gen5",
    "plate type",
    "reader type",
    "reader serial number",
    "reading type",
    "procedure details",
    "wavelengths:",
    "experiment file path",
    "protocol file path",
)
_SKIP_SECTIONS = {"layout", "well id", "well ids"}
_GENERIC_TITLES = {"results", "result", "data", "raw data"}
_WAVELENGTH_RE = re.compile(r"wavelengths?\s*:?\s*(.*)$", re.IGNORECASE)


def _sheet_text(sheet: Sheet) -> str:
    return "\n".join(" ".join(cell_text(c) for c in row if c is not None) for row in sheet.rows)


def _metadata(sheet: Sheet, stop: int) -> dict[str, str]:
    meta: dict[str, str] = {}
    for row in sheet.rows[:stop]:
        cells = [cell_text(c) for c in row if not is_blank(c)]
        if not cells:
            continue
        if len(cells) >= 2:
            key, value = cells[0].rstrip(":").strip(), " ".join(cells[1:])
        elif ":" in cells[0]:
            key, _, value = cells[0].partition(":")
        else:
            continue
        key = key.strip()
        if key and key not in meta:
            meta[key] = value.strip()
    return meta


def _wavelengths(meta: dict[str, str]) -> list[str]:
    for key, value in meta.items():
        m = _WAVELENGTH_RE.match(f"{key}: {value}")
        if m and key.lower().startswith("wavelength"):
            return re.findall(r"\d+(?:\.\d+)?", m.group(1))
    return []


def _is_text_grid(grid: Grid, lines: list[GridLine]) -> bool:
    has_text = False
    for gl in lines:
        for c in gl.cells:
            if is_blank(c):
                continue
            if to_number(c, decimal_comma=grid.sheet.decimal_comma) is not None:
                return False
            has_text = True
    return has_text


@dataclass
class Gen5Reader:
    """Reader for BioTek Gen5 exports (see module docstring).

    Parameters
    ----------
    nonnumeric
        ``"error"`` (default) or ``"nan"``: how to treat ``OVRFLW``, ``?????`` and other text.
    na_values
        Extra cell texts always read as missing.
    """

    nonnumeric: Nonnumeric = "error"
    na_values: tuple[str, ...] = field(default=())
    name: str = "gen5"

    def guess_can_open(self, path: str | Path) -> bool:
        """True when the first lines carry at least two Gen5 metadata markers."""
        sheet = head_sheet(path, n_lines=60)  # None for non-tabular files
        if sheet is None:
            return False
        text = _sheet_text(sheet).lower()
        return sum(marker in text for marker in _MARKERS) >= 2

    def read(self, path: str | Path) -> pd.DataFrame:
        """Read every numeric read of a Gen5 export into one long table.

        Raises
        ------
        InputError
            If the file is missing, holds no numeric plate section, or a value is not numeric.
        """
        p = Path(path)
        blocks: list[tuple[Grid, str | None, list[GridLine], str | None]] = []
        metadata: dict[str, str] = {}
        for sheet in load_sheets(p):
            grids = list(find_grids(sheet))
            first = grids[0].header_line if grids else len(sheet.rows)
            for key, value in _metadata(sheet, first).items():
                metadata.setdefault(key, value)
            for grid in grids:
                title = grid.title or grid.corner
                if title is not None and title.strip().lower() in _SKIP_SECTIONS:
                    continue
                for label, lines in split_reads(grid):
                    if _is_text_grid(grid, lines):
                        continue
                    blocks.append((grid, label, lines, title))
        if not blocks:
            raise InputError("no numeric plate section found in the Gen5 export", file=p)
        waves = _wavelengths(metadata)
        candidates: list[tuple[str | None, str | None, str | None]] = []
        for _, label, _, title in blocks:
            base = title
            generic = base is not None and base.lower() in _GENERIC_TITLES
            if label is None and generic and len(waves) == 1:
                base = waves[0]
            if label is None and base is None and len(waves) == 1 and len(blocks) == 1:
                base = waves[0]
            candidates.append((label, base, None))
        names = name_blocks(candidates, p.stem)
        frames = [
            grid_to_long(g, lines, name, nonnumeric=self.nonnumeric, na_values=self.na_values)
            for (g, _, lines, _), name in zip(blocks, names, strict=True)
        ]
        out = pd.concat(frames, ignore_index=True)
        out.attrs["metadata"] = metadata
        return out
