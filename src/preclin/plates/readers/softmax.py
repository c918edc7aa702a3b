"""Molecular Devices SoftMax Pro text exports (``.txt``, usually UTF-16 with a BOM).

The file starts with ``##BLOCKS= n`` and holds ``~End``-terminated blocks. Each ``Plate:`` block
is one plate; its header line gives the name, the format (``PlateFormat`` or ``TimeFormat``),
the read type (``Endpoint``/``Kinetic``), the mode (``Absorbance``, ``Luminescence``, …), the
number of kinetic reads and interval, the wavelength(s) and the plate size:

* ``PlateFormat``: a header ``[Time,] Temperature(°C), 1, 2, …, 12`` then, per time point, one
  line per plate row (the time and temperature on the first line of each time point);
* ``TimeFormat``: a header ``[Time,] Temperature(°C), A1, A2, …`` then one line per time point.

Only the raw data matrix of each plate is read: the reduced matrix SoftMax writes after a blank
line (values computed by the protocol, e.g. kinetic slopes) and the ``Group:``/``Note:`` blocks
(sample tables, with entries such as ``Masked`` and ``Range?``) are not measurements and are
skipped. Non-numeric cells of the raw matrix are kept as flags.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from ...errors import InputError
from .._cells import Sheet, head_sheet, load_sheets, to_number
from .._wells import PLATE_FORMATS
from ._long import LongTable, mode_unit, sheet_lines, time_to_seconds, wavelength_of, well_of

__all__ = ["SoftMaxReader"]


@dataclass
class SoftMaxReader:
    """Reader for SoftMax Pro text exports (see module docstring)."""

    name: str = "softmax"

    def guess_can_open(self, path: str | Path) -> bool:
        """True when the file starts with ``##BLOCKS=``."""
        sheet = head_sheet(path, n_lines=2)
        if sheet is None:
            return False
        lines = sheet_lines(sheet)
        return bool(lines) and bool(lines[0]) and lines[0][0].upper().startswith("##BLOCKS")

    def read(self, path: str | Path) -> pd.DataFrame:
        """Read the raw matrix of every ``Plate:`` block.

        Raises
        ------
        InputError
            If the file is missing or unreadable, a plate block is malformed, or it holds
            no plate.
        """
        p = Path(path)
        sheet = load_sheets(p)[0]
        lines = sheet_lines(sheet)
        table = LongTable(p, decimal_comma=sheet.decimal_comma)
        plate_size = None
        k = 0
        while k < len(lines):
            cells = lines[k]
            if cells and cells[0].strip().lower() == "plate:":
                k, size = self._plate(sheet, lines, k, table)
                plate_size = plate_size or size
                continue
            k += 1
        if not len(table):
            raise InputError("no Plate: block found in the SoftMax Pro export", file=p)
        return table.frame(plate_size)

    def _plate(self, sheet: Sheet, lines: list[list[str]], k: int,
               table: LongTable) -> tuple[int, int | None]:
        head = lines[k] + [""] * 25
        name = head[1] or "Plate"
        fmt = head[3]
        read_type = head[4]
        mode = head[5]
        n_wave = int(to_number(head[14]) or 1)
        waves = [wavelength_of(w) for w in head[15].split()] if head[15].strip() else []
        wave = waves[0] if waves else None
        size = int(to_number(head[18]) or 0) or None
        if size not in PLATE_FORMATS:
            size = None
        where = sheet.where(k)
        if n_wave > 1:
            raise InputError(f"plate '{name}': {n_wave} wavelengths in one SoftMax Pro block are "
                             "not supported yet; export one wavelength per block", file=sheet.path,
                             location=where)
        parts = [read_type, mode, f"{int(wave)} nm" if wave else "", f"({fmt})"]
        read = " ".join(x for x in parts if x)
        unit = mode_unit(mode)
        header = lines[k + 1] if k + 1 < len(lines) else []
        k += 2
        has_time = bool(header) and header[0].lower() == "time"
        data_col = 2  # after the Time and Temperature columns
        if fmt.lower() == "timeformat":
            wells = [(c, well_of(v)) for c, v in enumerate(header) if c >= data_col]
            cycle = 0
            while k < len(lines) and any(lines[k]) and lines[k][0].strip() != "~End":
                cells = lines[k]
                raw = sheet.rows[k]
                cycle += 1
                when = time_to_seconds(cells[0]) if has_time else None
                for c, w in wells:
                    if w is None:
                        continue
                    table.add(name, read, w[0], w[1], raw[c] if c < len(raw) else None,
                              time_s=when, cycle=cycle if has_time else None,
                              wavelength_nm=wave, unit=unit)
                k += 1
        else:
            cols = [(c, int(to_number(v) or 0) - 1) for c, v in enumerate(header)
                    if c >= data_col and to_number(v) is not None]
            n_rows = PLATE_FORMATS.get(size or 96, (8, 12))[0]
            i = 0
            cycle = 0
            t: float | None = None
            while k < len(lines) and any(lines[k]) and lines[k][0].strip() != "~End":
                cells = lines[k]
                raw = sheet.rows[k]
                if i == 0:
                    cycle += 1
                    t = time_to_seconds(cells[0]) if has_time and cells[0] else None
                for c, j in cols:
                    table.add(name, read, i, j, raw[c] if c < len(raw) else None,
                              time_s=t, cycle=cycle if has_time else None,
                              wavelength_nm=wave, unit=unit)
                i = (i + 1) % n_rows
                k += 1
        # skip the reduced matrix and the rest of the block
        while k < len(lines) and not (lines[k] and lines[k][0].strip() == "~End"):
            k += 1
        return k + 1, size
