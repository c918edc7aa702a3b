"""PerkinElmer / Revvity exports: EnVision, Kaleido (EnSight, VICTOR Nivo S), VICTOR X3
(Wallac list export) and VICTOR Nivo (CSV).

EnVision (CSV)
    Repeated parts ``Plate information`` (a header line and a value line naming the plate and
    the ``Label`` or calculation ``Formula``), ``Background information``, then one matrix:
    titled (``Results for … (Counts)``, ``Calculated results: Calc 1: …``) with a ``,01,02,…``
    header and row letters, or bare (16 lines of 24 values, no labels). Each matrix is one read of
    its plate; calculated matrices are reads too (their name starts with ``Calc``). The
    ``Platemap`` in the protocol part is not read.
Kaleido (CSV)
    ``… Results from`` on line 1, then ``Result for <label>`` grids; the ``Platemap`` grid
    (cells ``-``) after the data is skipped.
VICTOR X3 (TXT)
    A tab-delimited list ``Plate, Repeat, Well, Type, Time, <read 1>, Time, <read 2>, …`` with
    one line per well and repeat; each read has its own time column. The per-repeat grids that
    follow the list repeat the same values and are not read. ``cycle`` is the repeat number.
VICTOR Nivo (CSV)
    A ``WELL RESULTS`` block with cycles as columns (``Cycle``, ``Plate``, ``Barcode`` and
    ``Well, Time(s), …`` header lines) and one line per well.

``unit`` is the unit the file writes in brackets (``Counts``, ``A``) or else follows the mode
(OD for absorbance, RFU, RLU); ``wavelength_nm`` is the ``@ 562`` wavelength of a label or the
filter of a VICTOR Nivo absorbance operation.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from ...errors import InputError
from .._cells import Sheet, find_grids, head_sheet, is_blank, load_sheets, to_number
from .._wells import row_index
from ._long import (
    LongTable,
    declared_format,
    mode_unit,
    sheet_lines,
    time_to_seconds,
    wavelength_of,
    well_of,
)

__all__ = ["EnVisionReader", "KaleidoReader", "VictorX3Reader", "VictorNivoReader"]

_AT_WAVE = re.compile(r"@\s*(\d{3,4})")
_BRACKET_UNIT = re.compile(r"\(([A-Za-z][A-Za-z ]*)\)\s*$")


def _texts(cells: list[str]) -> list[str]:
    return [c for c in cells if c]


def _unit_of(name: str) -> str | None:
    m = _BRACKET_UNIT.search(name)
    if m:
        return m.group(1).strip()
    return mode_unit(name)


def _numeric_line(cells: list[str], decimal_comma: bool = False) -> bool:
    texts = _texts(cells)
    return bool(texts) and all(to_number(c, decimal_comma=decimal_comma) is not None
                               for c in texts)


# =========================================================================== EnVision
@dataclass
class EnVisionReader:
    """Reader for PerkinElmer EnVision CSV exports (see module docstring)."""

    name: str = "envision"

    def guess_can_open(self, path: str | Path) -> bool:
        """True when the file starts with ``Plate information`` and a ``Plate,Repeat,…`` line."""
        sheet = head_sheet(path, n_lines=4)
        if sheet is None:
            return False
        lines = [_texts(c) for c in sheet_lines(sheet)]
        return (len(lines) >= 2 and bool(lines[0]) and lines[0][0].lower() == "plate information"
                and [c.lower() for c in lines[1][:2]] == ["plate", "repeat"])

    def read(self, path: str | Path) -> pd.DataFrame:
        """Read every matrix (raw and calculated) of every plate.

        Raises
        ------
        InputError
            If the file is missing, unreadable or holds no matrix.
        """
        p = Path(path)
        sheet = load_sheets(p)[0]
        lines = sheet_lines(sheet)
        table = LongTable(p, decimal_comma=sheet.decimal_comma)
        plate_size = None
        for cells in lines:
            texts = _texts(cells)
            if len(texts) >= 2 and texts[0].lower() == "number of the wells in the plate":
                plate_size = declared_format(texts[1])
        k = 0
        info: dict[str, str] = {}
        while k < len(lines):
            texts = _texts(lines[k])
            first = texts[0].lower() if texts else ""
            if first in ("basic assay information", "protocol information"):
                break
            if first == "plate information" and k + 2 < len(lines):
                keys, values = lines[k + 1], lines[k + 2]
                info = {key: (values[c] if c < len(values) else "")
                        for c, key in enumerate(keys) if key}
                k += 3
                continue
            if first == "background information":
                k += 1
                while k < len(lines) and _texts(lines[k]):
                    k += 1
                continue
            if not texts:
                k += 1
                continue
            if _numeric_line(lines[k], sheet.decimal_comma):
                k = self._bare(sheet, lines, k, table, info)
                continue
            if k + 1 < len(lines) and self._is_header(lines[k + 1]):
                k = self._titled(sheet, lines, k, table, info)
                continue
            k += 1
        return table.frame(plate_size)

    @staticmethod
    def _is_header(cells: list[str]) -> bool:
        texts = _texts(cells)
        return len(texts) >= 2 and to_number(texts[0]) == 1 and to_number(texts[1]) == 2

    @staticmethod
    def _plate(info: dict[str, str]) -> str:
        return info.get("Plate") or "1"

    def _bare(self, sheet: Sheet, lines: list[list[str]], k: int, table: LongTable,
              info: dict[str, str]) -> int:
        label = info.get("Label") or ""
        formula = info.get("Formula") or ""
        name = label or formula.split(" = ")[0].strip() or "read"
        unit = None if formula and not label else _unit_of(label)
        m = _AT_WAVE.search(label)
        wave = float(m.group(1)) if m else None
        i = 0
        while k < len(lines) and _numeric_line(lines[k], sheet.decimal_comma):
            raw = sheet.rows[k]
            n = len(lines[k])
            for j in range(n):
                table.add(self._plate(info), name, i, j, raw[j] if j < len(raw) else None,
                          wavelength_nm=wave, unit=unit)
            i += 1
            k += 1
        return k

    def _titled(self, sheet: Sheet, lines: list[list[str]], k: int, table: LongTable,
                info: dict[str, str]) -> int:
        title = _texts(lines[k])[0]
        name = re.sub(r"^results for\s+", "", title, flags=re.IGNORECASE)
        name = re.sub(r"^calculated results:\s*", "", name, flags=re.IGNORECASE)
        calculated = title.lower().startswith("calculated")
        unit = None if calculated else _unit_of(name)
        m = _AT_WAVE.search(name)
        wave = float(m.group(1)) if m else None
        header = lines[k + 1]
        c0 = next(c for c, v in enumerate(header) if v)
        cols = []
        for c in range(c0, len(header)):
            number = to_number(header[c])
            if number is None:
                break
            cols.append((c, int(number) - 1))
        k += 2
        while k < len(lines):
            cells = lines[k]
            label = cells[c0 - 1] if c0 >= 1 and c0 - 1 < len(cells) else ""
            i = row_index(label) if label else None
            if i is None:
                break
            raw = sheet.rows[k]
            for c, j in cols:
                table.add(self._plate(info), name, i, j, raw[c] if c < len(raw) else None,
                          wavelength_nm=wave, unit=unit)
            k += 1
        return k


# =========================================================================== Kaleido
@dataclass
class KaleidoReader:
    """Reader for Revvity Kaleido CSV exports (EnSight, VICTOR Nivo S)."""

    name: str = "kaleido"

    def guess_can_open(self, path: str | Path) -> bool:
        """True when line 1 is ``… Results from`` and a ``Result for`` title follows."""
        sheet = head_sheet(path, n_lines=40)
        if sheet is None:
            return False
        lines = [" ".join(_texts(c)).lower() for c in sheet_lines(sheet)]
        return bool(lines) and lines[0].endswith("results from") and any(
            ln.startswith("result for") for ln in lines)

    def read(self, path: str | Path) -> pd.DataFrame:
        """Read every ``Result for …`` grid.

        Raises
        ------
        InputError
            If the file is missing, unreadable or holds no result grid.
        """
        p = Path(path)
        sheet = load_sheets(p)[0]
        table = LongTable(p, decimal_comma=sheet.decimal_comma)
        barcode = None
        for grid in find_grids(sheet):
            title = grid.title or grid.corner or ""
            if title.lower() == "platemap" or not any(
                    to_number(c) is not None for gl in grid.lines for c in gl.cells
                    if not is_blank(c)):
                continue
            read = re.sub(r"^result for\s+", "", title, flags=re.IGNORECASE) or "read"
            for gl in grid.lines:
                for j, cell in enumerate(gl.cells):
                    table.add(barcode or p.stem, read, gl.i, j, cell, unit=_unit_of(read))
        if not len(table):
            raise InputError("no 'Result for' grid found in the Kaleido export", file=p)
        return table.frame()


# =========================================================================== VICTOR X3
@dataclass
class VictorX3Reader:
    """Reader for PerkinElmer VICTOR X3 / Wallac list exports (see module docstring)."""

    name: str = "victorx3"

    def guess_can_open(self, path: str | Path) -> bool:
        """True when line 1 starts ``Plate, Repeat, Well, Type``."""
        sheet = head_sheet(path, n_lines=2)
        if sheet is None or not sheet.rows:
            return False
        first = [c.lower() for c in _texts(sheet_lines(sheet)[0])]
        return first[:4] == ["plate", "repeat", "well", "type"]

    def read(self, path: str | Path) -> pd.DataFrame:
        """Read the list part: every read of every well and repeat.

        Raises
        ------
        InputError
            If the file is missing, unreadable or holds no list.
        """
        p = Path(path)
        sheet = load_sheets(p)[0]
        lines = sheet_lines(sheet)
        if not lines or [c.lower() for c in _texts(lines[0])][:3] != ["plate", "repeat", "well"]:
            raise InputError("not a VICTOR list export (line 1 must start 'Plate, Repeat, Well')",
                             file=p)
        header = lines[0]
        reads = [(c, header[c]) for c in range(4, len(header))
                 if header[c] and header[c].lower() != "time"]
        table = LongTable(p, decimal_comma=sheet.decimal_comma)
        for k in range(1, len(lines)):
            cells = lines[k]
            w = well_of(cells[2]) if len(cells) > 2 else None
            if w is None:
                break
            raw = sheet.rows[k]
            repeat = to_number(cells[1])
            for c, name in reads:
                t = (time_to_seconds(cells[c - 1]) if header[c - 1].lower() == "time"
                     and c - 1 < len(cells) else None)
                m = _AT_WAVE.search(name)
                table.add(cells[0] or "1", name, w[0], w[1], raw[c] if c < len(raw) else None,
                          time_s=t, cycle=None if repeat is None else int(repeat),
                          wavelength_nm=float(m.group(1)) if m else None, unit=_unit_of(name))
        if not len(table):
            raise InputError("no well list found in the VICTOR export", file=p)
        return table.frame()


# =========================================================================== VICTOR Nivo
@dataclass
class VictorNivoReader:
    """Reader for PerkinElmer VICTOR Nivo CSV exports (see module docstring)."""

    name: str = "victornivo"

    def guess_can_open(self, path: str | Path) -> bool:
        """True when a ``WELL RESULTS`` line and ``MEASUREMENT START DATE`` are near the top."""
        sheet = head_sheet(path, n_lines=20)
        if sheet is None:
            return False
        firsts = [(_texts(c) or [""])[0].upper() for c in sheet_lines(sheet)]
        return "WELL RESULTS" in firsts and "MEASUREMENT START DATE" in firsts

    def read(self, path: str | Path) -> pd.DataFrame:
        """Read the ``WELL RESULTS`` block (cycles as columns).

        Raises
        ------
        InputError
            If the file is missing, unreadable or has no well results.
        """
        p = Path(path)
        sheet = load_sheets(p)[0]
        lines = sheet_lines(sheet)
        table = LongTable(p, decimal_comma=sheet.decimal_comma)
        operation = "read"
        wave = None
        plate_size = None
        plate = "1"
        for cells in lines:
            texts = _texts(cells)
            if len(texts) >= 2 and texts[0].upper() == "EXCITATION FILTER" and wave is None:
                wave = wavelength_of(texts[1].split("/")[0])
            if len(texts) >= 2 and texts[0].upper() == "PLATE FORMAT":
                plate_size = declared_format(texts[1])
        k = 0
        cycles: dict[int, int] = {}
        times: dict[int, float | None] = {}
        while k < len(lines):
            texts = _texts(lines[k])
            if texts and texts[0].upper() == "PARAMETERS":
                break
            if texts and re.match(r"^\d+ OPERATION$", texts[0].upper()) and len(texts) > 1:
                operation = texts[1]
            cells = lines[k]
            if len(cells) > 2 and cells[1].lower() == "plate" and cells[2]:
                plate = cells[2]
            if len(cells) > 2 and cells[1].lower() == "cycle":
                cycles = {c: int(to_number(v) or 0) for c, v in enumerate(cells)
                          if c > 1 and to_number(v) is not None}
            elif cells and cells[0].lower() == "well" and len(cells) > 1 \
                    and cells[1].lower().startswith("time"):
                times = {c: time_to_seconds(v) for c, v in enumerate(cells) if c > 1}
            else:
                w = well_of(cells[0]) if cells else None
                if w is not None and cycles:
                    raw = sheet.rows[k]
                    unit = mode_unit("absorbance" if operation.upper().startswith("ABS")
                                     else operation)
                    for c, cyc in cycles.items():
                        table.add(plate, operation, w[0], w[1], raw[c] if c < len(raw) else None,
                                  time_s=times.get(c), cycle=cyc,
                                  wavelength_nm=wave if operation.upper().startswith("ABS")
                                  else None, unit=unit)
            k += 1
        if not len(table):
            raise InputError("no WELL RESULTS block found in the VICTOR Nivo export", file=p)
        return table.frame(plate_size)
