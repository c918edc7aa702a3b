"""Thermo Fisher SkanIt exports (XLSX): Varioskan, Multiskan and other SkanIt readers.

Every result sheet starts with ``Measurement results``. Two layouts occur:

* step sheets (``Absorbance 1_01``, ``Blank Subtraction 1_02``, ``Dilution Factor 1_04``): the
  step name, ``Wavelength: 450 nm``, the plate name (``Plate 1``) and plate grids whose corner
  cell names the grid (``Abs``, ``Blank subtracted``, ``Value``). Each numeric grid is one read
  (the first grid of a step is named by the step, the next ones ``step: corner``); sample-name
  grids (``Sample``) are text and skipped, as are cells outside the grid. Steps without a grid
  (``Standard Curve``: a fitted formula) give no read;
* well lists (Multiskan Sky ``Raw data 340 nm``: ``Well``, ``Wavelength(s) [nm]``,
  ``Raw absorbance``, ``Measurement time(s)``), read when no step grid exists; a kinetic well has
  one line per reading, numbered as ``cycle``.

``NaN`` written as text is kept as a flag. Information sheets are not read.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from ...errors import InputError
from .._cells import Sheet, find_grids, head_sheet, is_blank, load_sheets, to_number
from ._long import LongTable, mode_unit, sheet_lines, time_to_seconds, wavelength_of, well_of

__all__ = ["SkanItReader"]

_UNIT_TOKENS = {"abs": "Abs", "od": "OD", "rfu": "RFU", "rlu": "RLU", "counts": "Counts"}


def _is_results(sheet: Sheet) -> bool:
    lines = sheet_lines(sheet)
    first = next((c for cells in lines[:3] for c in cells if c), "")
    return first.lower().startswith("measurement results")


@dataclass
class SkanItReader:
    """Reader for Thermo SkanIt XLSX exports (see module docstring)."""

    name: str = "skanit"

    def guess_can_open(self, path: str | Path) -> bool:
        """True for a workbook whose first sheet starts with ``Measurement results``."""
        sheet = head_sheet(path, n_lines=5)
        return sheet is not None and sheet.name is not None and _is_results(sheet)

    def read(self, path: str | Path) -> pd.DataFrame:
        """Read every numeric grid of the step sheets, or else the raw-data well lists.

        Raises
        ------
        InputError
            If the file is missing, unreadable, or holds no measurement.
        """
        p = Path(path)
        sheets = [s for s in load_sheets(p) if _is_results(s)]
        table = LongTable(p)
        for sheet in sheets:
            self._steps(sheet, table)
        if not len(table):
            for sheet in load_sheets(p):
                self._list(sheet, table)
        if not len(table):
            raise InputError("no plate grid or well list found in the SkanIt export", file=p)
        return table.frame()

    @staticmethod
    def _steps(sheet: Sheet, table: LongTable) -> None:
        lines = sheet_lines(sheet)
        texts = [next((c for c in cells if c), "") for cells in lines]
        step = texts[4] if len(texts) > 4 and texts[4] else (sheet.name or "step")
        wave = None
        plate = "Plate 1"
        for t in texts[:15]:
            if t.lower().startswith("wavelength"):
                wave = wavelength_of(t.split(":", 1)[-1])
            elif re.match(r"^plate\s+\S+$", t, re.IGNORECASE):
                plate = t
        n = 0
        for grid in find_grids(sheet, titles=False):
            numeric = [to_number(c) is not None for gl in grid.lines for c in gl.cells
                       if not is_blank(c)]
            if not any(numeric):
                continue
            corner = grid.corner or ""
            read = step if n == 0 else f"{step}: {corner}"
            unit = _UNIT_TOKENS.get(corner.lower()) or (mode_unit(step) if n == 0 else None)
            n += 1
            for gl in grid.lines:
                for j, cell in enumerate(gl.cells):
                    table.add(plate, read, gl.i, j, cell, wavelength_nm=wave, unit=unit)

    @staticmethod
    def _list(sheet: Sheet, table: LongTable) -> None:
        lines = sheet_lines(sheet)
        for k, cells in enumerate(lines):
            low = [c.lower() for c in cells]
            if "well" not in low or not any(c.startswith("wavelength") for c in low):
                continue
            wcol = low.index("well")
            lcol = next(c for c, v in enumerate(low) if v.startswith("wavelength"))
            tcol = next((c for c, v in enumerate(low) if "time" in v), None)
            vcols = [c for c in range(len(cells)) if c not in (wcol, lcol, tcol) and cells[c]]
            counts: dict[tuple[str, tuple[int, int], float | None], int] = {}
            for r in range(k + 1, len(lines)):
                row = lines[r]
                w = well_of(row[wcol]) if wcol < len(row) else None
                if w is None:
                    break
                raw = sheet.rows[r]
                wave = wavelength_of(raw[lcol]) if lcol < len(raw) else None
                t = time_to_seconds(raw[tcol]) if tcol is not None and tcol < len(raw) else None
                for c in vcols:
                    read = f"{cells[c]}" + (f" {int(wave)} nm" if wave else "")
                    key = (read, w, wave)
                    counts[key] = counts.get(key, 0) + 1
                    table.add("Plate 1", read, w[0], w[1], raw[c] if c < len(raw) else None,
                              time_s=t, cycle=counts[key] if tcol is not None else None,
                              wavelength_nm=wave, unit=mode_unit(cells[c]))
            return
