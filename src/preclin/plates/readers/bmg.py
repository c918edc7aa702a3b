"""BMG LABTECH exports: MARS (CSV/TXT/XLSX table export) and SMART Control (XLSX).

Both start with header pairs (``User: …``, ``Path: …``, ``Test name: …``, ``Date: …``), a
measurement-mode line (``Absorbance``, ``Fluorescence (FI)``, ``Luminescence``) and numbered or
titled sections, each a plate grid (``, 1, 2, …`` then rows ``A``, ``B``, …):
``Raw Data (580/620)``, ``4. Raw Data (480-14/520-30)``, ``5. Blank corrected based on Raw
Data (…)``. Every numeric section is one read; the set-up sections of SMART Control
(``Layout``, ``Standard Concentrations``, ``Dilutions``) and any grid holding only text are not
measurements and are skipped. SMART Control's second sheet (``Table End point``, the same values
with wells as columns) and the ``Protocol Information`` sheet are not read.

``wavelength_nm`` is the wavelength in the section title (absorbance) or the emission
wavelength (fluorescence, the second of ``ex/em``); ``unit`` follows the mode (OD, RFU, RLU).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from ...errors import InputError
from .._cells import find_grids, head_sheet, is_blank, load_sheets, to_number
from ._long import LongTable, mode_unit, sheet_lines, wavelength_of

__all__ = ["BMGReader"]

_SKIP = re.compile(r"layout|standard conc|dilution|content|platemap", re.IGNORECASE)
_MODES = ("absorbance", "fluorescence", "luminescence", "alphascreen", "time-resolved")


def _section_wavelength(title: str, mode: str | None) -> float | None:
    m = re.search(r"\(([^()]*)\)\s*$", title)
    if m is None:
        return None
    parts = m.group(1).split("/")
    if mode and "fluor" in mode.lower() and len(parts) > 1:
        return wavelength_of(parts[-1].split("-")[0])
    return wavelength_of(parts[0].split("-")[0])


@dataclass
class BMGReader:
    """Reader for BMG LABTECH MARS and SMART Control exports (see module docstring)."""

    name: str = "bmg"

    def guess_can_open(self, path: str | Path) -> bool:
        """True when the first lines hold ``User:``, ``Path:`` and ``Test name:`` pairs."""
        sheet = head_sheet(path, n_lines=15)
        if sheet is None:
            return False
        text = " ".join(" ".join(c) for c in sheet_lines(sheet)).lower()
        return "user:" in text and "path:" in text and "test name:" in text

    def read(self, path: str | Path) -> pd.DataFrame:
        """Read every numeric plate section of the first sheet that has one.

        Raises
        ------
        InputError
            If the file is missing, unreadable, or holds no numeric plate section.
        """
        p = Path(path)
        for sheet in load_sheets(p):
            lines = sheet_lines(sheet)
            mode = None
            for cells in lines[:30]:
                texts = [c for c in cells if c]
                if len(texts) == 1 and texts[0].lower().startswith(_MODES):
                    mode = texts[0]
                    break
            table = LongTable(p, decimal_comma=sheet.decimal_comma)
            n_cols = 0
            k = 0
            for grid in find_grids(sheet):
                title = grid.title or grid.corner or f"read {k + 1}"
                k += 1
                if _SKIP.search(title):
                    continue
                numeric = any(to_number(c, decimal_comma=sheet.decimal_comma) is not None
                              for gl in grid.lines for c in gl.cells if not is_blank(c))
                if not numeric:
                    continue
                n_cols = max(n_cols, grid.n_cols)
                wave = _section_wavelength(title, mode)
                for gl in grid.lines:
                    for j, cell in enumerate(gl.cells):
                        table.add(p.stem, title, gl.i, j, cell, wavelength_nm=wave,
                                  unit=mode_unit(mode))
            if len(table):
                if mode:
                    table.metadata["mode"] = mode
                return table.frame()
        raise InputError("no numeric plate section found in the BMG export", file=p)
