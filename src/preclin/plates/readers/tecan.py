"""Tecan exports: i-control (infinite; TXT, CSV or XLSX), SparkControl (Spark) and Magellan.

i-control and SparkControl files start with ``Application: Tecan i-control`` /
``Application: SparkControl`` and hold, after settings lines, one part per label:

* an endpoint grid headed ``<>, 1, 2, ...`` (possibly only some columns, ``Part of Plate``),
  rows ``A``, ``B``, ... (one line per row);
* a kinetic table with one row per cycle: ``Cycle Nr., Time [s], Temp. [°C], A1, A2, ...``
  (i-control CSV, Spark), titled by the label (``OD600:600``, ``Label 1``);
* a kinetic table with one column per cycle: lines ``Cycle Nr.``, ``Time [s]``,
  ``Temp. [°C]`` then one line per well ``A1``, ``A2``, ... (i-control 2.x XLSX).

Each label's ``Mode`` and wavelength settings give ``wavelength_nm`` (absorbance: the
measurement wavelength; fluorescence: the emission wavelength) and ``unit`` (OD, RFU, RLU by
mode). Settings are matched with the tables by label name, else in order. A listed cycle with no
time and no value in any well (a stopped run) is not a measurement and is left out (noted in
``DataFrame.attrs["notes"]``).

Magellan exports list wells in a column (``Raw data``, ``Well positions``, ``Plate``) followed by
free-text metadata (``Measurement wavelength: 595 nm``, ``Unit: OD``).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from ...errors import InputError
from .._cells import Cell, Sheet, head_sheet, load_sheets, to_number
from ._long import (
    LongTable,
    declared_format,
    mode_unit,
    sheet_lines,
    time_to_seconds,
    wavelength_of,
    well_of,
)

__all__ = ["TecanReader", "MagellanReader"]

_APP_RE = re.compile(r"application:\s*(tecan i-control|sparkcontrol)", re.IGNORECASE)


@dataclass
class _Settings:
    label: str | None = None
    mode: str | None = None
    wavelength: float | None = None
    excitation: float | None = None
    emission: float | None = None

    def wave(self) -> float | None:
        return self.wavelength if self.wavelength is not None else self.emission


def _first(cells: list[str]) -> str:
    return next((c for c in cells if c), "")


def _value_after_key(cells: list[str]) -> str:
    texts = [c for c in cells if c]
    return texts[1] if len(texts) > 1 else ""


def _settings(lines: list[list[str]]) -> list[_Settings]:
    groups: list[_Settings] = []
    cur: _Settings | None = None
    for cells in lines:
        key = _first(cells)
        low = key.lower().strip()
        if low.startswith("label:"):
            cur = _Settings(label=key.split(":", 1)[1].strip() or None)
            groups.append(cur)
        elif low == "mode":
            mode = _value_after_key(cells)
            if mode.lower() == "kinetic":
                continue
            if cur is None or cur.mode is not None:
                cur = _Settings()
                groups.append(cur)
            cur.mode = mode
        elif cur is None:
            continue
        elif low == "name" and cur.label is None and cur.mode is not None:
            cur.label = _value_after_key(cells) or None
        elif low in ("wavelength", "measurement wavelength"):
            cur.wavelength = wavelength_of(_value_after_key(cells))
            if cur.mode is None and low == "measurement wavelength":
                cur.mode = "Absorbance"  # i-control's kinetic labels omit the Mode line
        elif low == "excitation wavelength":
            cur.excitation = wavelength_of(_value_after_key(cells))
        elif low == "emission wavelength":
            cur.emission = wavelength_of(_value_after_key(cells))
    return groups


def _title_above(lines: list[list[str]], k: int) -> str | None:
    """The lone text on the nearest non-empty line above line ``k`` (a table title)."""
    for back in range(k - 1, max(k - 4, -1), -1):
        texts = [c for c in lines[back] if c]
        if not texts:
            continue
        if len(texts) == 1 and not texts[0].endswith(":") and not re.search(r":\s", texts[0]):
            return texts[0]
        return None
    return None


def _plate_format(lines: list[list[str]]) -> int | None:
    for cells in lines:
        texts = [c for c in cells if c]
        if texts and texts[0].strip().lower() in ("plate", "name") and len(texts) > 1:
            fmt = declared_format(" ".join(texts[1:]))
            if fmt is not None:
                return fmt
    return None


@dataclass
class TecanReader:
    """Reader for Tecan i-control and SparkControl exports (see module docstring)."""

    name: str = "tecan"
    _kinds: tuple[str, ...] = field(default=("i-control", "sparkcontrol"), repr=False)

    def guess_can_open(self, path: str | Path) -> bool:
        """True when an ``Application: Tecan i-control`` / ``SparkControl`` line is near the top."""
        sheet = head_sheet(path, n_lines=10)
        if sheet is None:
            return False
        return any(_APP_RE.search(" ".join(cells)) for cells in sheet_lines(sheet))

    def read(self, path: str | Path) -> pd.DataFrame:
        """Read every label (endpoint grids and kinetic tables) of an i-control/Spark export.

        Raises
        ------
        InputError
            If the file is missing or unreadable, or holds no measurement.
        """
        p = Path(path)
        table: LongTable | None = None
        plate_size: int | None = None
        for sheet in load_sheets(p):
            lines = sheet_lines(sheet)
            if not any(_APP_RE.search(" ".join(c)) for c in lines[:10]):
                continue
            if table is None:
                table = LongTable(p, decimal_comma=sheet.decimal_comma)
            plate_size = plate_size or _plate_format(lines)
            self._read_sheet(sheet, lines, table, p.stem)
        if table is None:
            raise InputError("not a Tecan i-control/SparkControl export (no 'Application:' line)",
                             file=p)
        return table.frame(plate_size)

    # ------------------------------------------------------------------ parts
    def _read_sheet(self, sheet: Sheet, lines: list[list[str]], table: LongTable,
                    plate: str) -> None:
        groups = _settings(lines)
        by_label = {g.label: g for g in groups if g.label}
        n_read = 0
        k = 0
        while k < len(lines):
            first = _first(lines[k]).strip()
            low = first.lower()
            if low == "<>":
                k = self._grid(sheet, lines, k, table, plate, groups, by_label, n_read)
                n_read += 1
                continue
            if low == "cycle nr.":
                cells = lines[k]
                start = cells.index(first)
                nxt = cells[start + 1] if start + 1 < len(cells) else ""
                if nxt.lower().startswith("time"):
                    k = self._cycles_as_rows(sheet, lines, k, table, plate, groups, by_label,
                                             n_read)
                else:
                    k = self._cycles_as_columns(sheet, lines, k, table, plate, groups,
                                                by_label, n_read)
                n_read += 1
                continue
            k += 1

    @staticmethod
    def _group(groups: list[_Settings], by_label: dict[str, _Settings], title: str | None,
               n: int) -> _Settings:
        if title is not None and title in by_label:
            return by_label[title]
        if groups:
            return groups[min(n, len(groups) - 1)]
        return _Settings()

    def _grid(self, sheet: Sheet, lines: list[list[str]], k: int, table: LongTable, plate: str,
              groups: list[_Settings], by_label: dict[str, _Settings], n: int) -> int:
        cells = lines[k]
        c0 = next(c for c, v in enumerate(cells) if v)
        cols: list[tuple[int, int]] = []  # (sheet column, 0-based plate column)
        for c in range(c0 + 1, len(cells)):
            number = to_number(cells[c])
            if number is None or not number.is_integer() or number < 1:
                break
            cols.append((c, int(number) - 1))
        g = self._group(groups, by_label, None, n)
        read = g.label or f"read {n + 1}"
        unit = mode_unit(g.mode)
        k += 1
        while k < len(lines):
            row = lines[k]
            label = row[c0] if c0 < len(row) else ""
            pos = well_of(f"{label}1") if label and label.isalpha() and len(label) <= 2 else None
            if pos is None:
                break
            raw = sheet.rows[k]
            for c, j in cols:
                cell: Cell = raw[c] if c < len(raw) else None
                table.add(plate, read, pos[0], j, cell, wavelength_nm=g.wave(), unit=unit)
            k += 1
        return k

    def _cycles_as_rows(self, sheet: Sheet, lines: list[list[str]], k: int, table: LongTable,
                        plate: str, groups: list[_Settings], by_label: dict[str, _Settings],
                        n: int) -> int:
        header = lines[k]
        c0 = next(c for c, v in enumerate(header) if v)
        time_col = c0 + 1
        wells = [(c, well_of(v)) for c, v in enumerate(header) if c > c0 + 1]
        wells = [(c, w) for c, w in wells if w is not None]
        title = _title_above(lines, k)
        g = self._group(groups, by_label, title, n)
        read = title or g.label or f"read {n + 1}"
        unit = mode_unit(g.mode)
        k += 1
        while k < len(lines):
            raw = sheet.rows[k]
            cyc = to_number(raw[c0]) if c0 < len(raw) and raw[c0] is not None else None
            if isinstance(raw[c0] if c0 < len(raw) else None, str):
                cyc = to_number(str(raw[c0]))
            if cyc is None:
                break
            t = time_to_seconds(raw[time_col]) if time_col < len(raw) else None
            for c, w in wells:
                assert w is not None
                table.add(plate, read, w[0], w[1], raw[c] if c < len(raw) else None,
                          time_s=t, cycle=int(cyc), wavelength_nm=g.wave(), unit=unit)
            k += 1
        return k

    def _cycles_as_columns(self, sheet: Sheet, lines: list[list[str]], k: int,
                           table: LongTable, plate: str, groups: list[_Settings],
                           by_label: dict[str, _Settings], n: int) -> int:
        c0 = next(c for c, v in enumerate(lines[k]) if v)
        cycle_row = sheet.rows[k]
        cycles = {c: to_number(v) for c, v in enumerate(cycle_row) if c > c0 and v is not None}
        times: dict[int, float | None] = {}
        g = self._group(groups, by_label, _title_above(lines, k), n)
        read = g.label or f"read {n + 1}"
        unit = mode_unit(g.mode)
        k += 1
        well_rows: list[tuple[int, tuple[int, int]]] = []
        while k < len(lines):
            first = lines[k][c0] if c0 < len(lines[k]) else ""
            if first.lower().startswith("time"):
                times = {c: time_to_seconds(v) for c, v in enumerate(sheet.rows[k]) if c > c0}
            elif first.lower().startswith("temp"):
                pass
            else:
                w = well_of(first)
                if w is None or (len(first.strip()) < 2):
                    break
                well_rows.append((k, w))
            k += 1
        skipped = []
        for c, cyc in cycles.items():
            if cyc is None:
                continue
            t = times.get(c)
            has_value = any(c < len(sheet.rows[r]) and sheet.rows[r][c] is not None
                            for r, _ in well_rows)
            if t is None and not has_value:
                skipped.append(int(cyc))
                continue
            for r, w in well_rows:
                raw = sheet.rows[r]
                table.add(plate, read, w[0], w[1], raw[c] if c < len(raw) else None,
                          time_s=t, cycle=int(cyc), wavelength_nm=g.wave(), unit=unit)
        if skipped:
            table.notes.append(
                f"read '{read}': cycle(s) {', '.join(map(str, skipped))} listed without time or "
                "values (run stopped) were left out")
        return k


@dataclass
class MagellanReader:
    """Reader for Tecan Magellan well-list exports (see module docstring)."""

    name: str = "magellan"

    def guess_can_open(self, path: str | Path) -> bool:
        """True when a header line of the first lines has a ``Well positions`` column."""
        sheet = head_sheet(path, n_lines=20)
        if sheet is None:
            return False
        return any("well positions" in [c.lower() for c in cells]
                   for cells in sheet_lines(sheet))

    def read(self, path: str | Path) -> pd.DataFrame:
        """Read the well list(s) of a Magellan export.

        Raises
        ------
        InputError
            If the file has no ``Well positions`` column or no measurement.
        """
        p = Path(path)
        table: LongTable | None = None
        plate_size: int | None = None
        for sheet in load_sheets(p):
            lines = sheet_lines(sheet)
            head = next((k for k, cells in enumerate(lines)
                         if "well positions" in [c.lower() for c in cells]), None)
            if head is None:
                continue
            if table is None:
                table = LongTable(p, decimal_comma=sheet.decimal_comma)
            low = [c.lower() for c in lines[head]]
            wcol = low.index("well positions")
            pcol = low.index("plate") if "plate" in low else None
            value_cols = [c for c, name in enumerate(lines[head])
                          if name and c not in (wcol, pcol)]
            free = [" ".join(c for c in cells if c) for cells in lines]
            meta = [t for t in free if ":" in t]
            wave = None
            unit = None
            for t in meta:
                key, _, val = t.partition(":")
                if key.strip().lower() == "measurement wavelength":
                    wave = wavelength_of(val)
                elif key.strip().lower() == "unit":
                    unit = val.strip() or None
                elif key.strip().lower() == "plate definition file":
                    plate_size = declared_format(val)
                elif key.strip().lower() == "measurement mode" and unit is None:
                    unit = mode_unit(val)
            mode_text = next((t.partition(":")[2].strip() for t in meta
                              if t.lower().startswith("measurement mode")), "")
            plate = p.stem
            k = head + 1
            while k < len(lines):
                cells = lines[k]
                w = well_of(cells[wcol]) if wcol < len(cells) else None
                if w is None:
                    break
                if pcol is not None and pcol < len(cells) and cells[pcol]:
                    plate = cells[pcol]  # filled for the first wells only: carried down
                for c in value_cols:
                    raw = sheet.rows[k]
                    name = lines[head][c]
                    read = f"{name} ({mode_text}{', ' if mode_text and wave else ''}"\
                        f"{int(wave) if wave else ''}{' nm' if wave else ''})" \
                        if (mode_text or wave) else name
                    table.add(plate, read, w[0], w[1], raw[c] if c < len(raw) else None,
                              wavelength_nm=wave, unit=unit)
                k += 1
        if table is None:
            raise InputError("not a Magellan well list (no 'Well positions' column)", file=p)
        return table.frame(plate_size)
