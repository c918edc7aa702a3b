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
from ._long import (
    LongTable,
    apply_nonnumeric,
    declared_format,
    sheet_lines,
    time_to_seconds,
    wavelength_of,
    well_of,
)
from .grid import Nonnumeric, concat_long, grid_to_long, name_blocks, split_reads

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


def _label_wavelength(label: str | None) -> float | None:
    """Wavelength of a Gen5 read label: ``od:600`` -> 600, ``fluor:579,616`` -> 616 (emission),
    ``450`` -> 450, ``Blank 485,528`` -> 528; None for luminescence (``LUM_1:Lum``)."""
    if not label:
        return None
    part = label.rsplit(":", 1)[-1]
    waves = [w for w in (wavelength_of(x) for x in re.split(r"[,/ ]+", part)) if w is not None]
    return waves[-1] if waves else None


def _kinetic_tables(sheet: Sheet, lines: list[list[str]], plate: str, table: LongTable) -> int:
    """Read Gen5 kinetic tables (``Time, T° <read>, A1, A2, …`` with one row per time point,
    possibly split into sub-tables of wells under the same title); returns how many."""
    n = 0
    k = 0
    while k < len(lines):
        cells = lines[k]
        tcol = next((c for c, v in enumerate(cells) if v.lower() == "time"), None)
        if (tcol is None or tcol + 2 >= len(cells) or not cells[tcol + 1].startswith("T°")
                or well_of(cells[tcol + 2]) is None):
            k += 1
            continue
        title = None
        for back in range(k - 1, max(k - 4, -1), -1):
            texts = [c for c in lines[back] if c]
            if texts:
                title = texts[0] if len(texts) == 1 else None
                break
        read = title or cells[tcol + 1][2:].strip() or f"kinetic {n + 1}"
        wells = [(c, well_of(v)) for c, v in enumerate(cells) if c > tcol + 1]
        wave = _label_wavelength(read)
        n += 1
        k += 1
        cycle = 0
        while k < len(lines):
            row = lines[k]
            t = time_to_seconds(row[tcol]) if tcol < len(row) and row[tcol] else None
            if t is None:
                break
            cycle += 1
            raw = sheet.rows[k]
            for c, w in wells:
                if w is not None:
                    table.add(plate, read, w[0], w[1], raw[c] if c < len(raw) else None,
                              time_s=t, cycle=cycle, wavelength_nm=wave)
            k += 1
    return n


def _well_columns(sheet: Sheet, lines: list[list[str]], plate: str, table: LongTable) -> int:
    """Read ``Well, A1, A2, …`` tables (Gen5 Excel export: one row per read); returns how many
    reads."""
    n = 0
    for k, cells in enumerate(lines):
        wcol = next((c for c, v in enumerate(cells) if v.lower() == "well"), None)
        if wcol is None or wcol + 1 >= len(cells) or well_of(cells[wcol + 1]) is None:
            continue
        wells = [(c, well_of(v)) for c, v in enumerate(cells) if c > wcol]
        for r in range(k + 1, len(lines)):
            row = lines[r]
            label = row[wcol] if wcol < len(row) else ""
            if not label:
                break
            raw = sheet.rows[r]
            n += 1
            wave = _label_wavelength(label)
            for c, w in wells:
                if w is not None:
                    table.add(plate, label, w[0], w[1], raw[c] if c < len(raw) else None,
                              wavelength_nm=wave)
    return n


@dataclass
class Gen5Reader:
    """Reader for BioTek Gen5 exports (see module docstring).

    Parameters
    ----------
    nonnumeric
        How to treat ``OVRFLW``, ``?????`` and other text in a value cell: ``"flag"``
        (default: value NaN, the text kept in ``flag``), ``"nan"`` (missing, text dropped) or
        ``"error"`` (raise :class:`InputError` naming file and well).
    na_values
        Extra cell texts always read as missing without a flag.
    """

    nonnumeric: Nonnumeric = "flag"
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
            If the file is missing, holds no numeric plate section, or (``nonnumeric="error"``)
            a value is not numeric.
        """
        p = Path(path)
        blocks: list[tuple[Grid, str | None, list[GridLine], str | None]] = []
        metadata: dict[str, str] = {}
        special = LongTable(p)
        for sheet in load_sheets(p):
            grids = list(find_grids(sheet))
            first = grids[0].header_line if grids else len(sheet.rows)
            for key, value in _metadata(sheet, first).items():
                metadata.setdefault(key, value)
            plate = metadata.get("Plate Number") or p.stem
            lines = sheet_lines(sheet)
            special.decimal_comma = sheet.decimal_comma
            n_kinetic = _kinetic_tables(sheet, lines, plate, special)
            _well_columns(sheet, lines, plate, special)
            if n_kinetic:
                continue  # the plate grids of a kinetic export are Gen5's kinetic analysis
            for grid in grids:
                title = grid.title or grid.corner
                if title is not None and title.strip().lower() in _SKIP_SECTIONS:
                    continue
                for label, lines_ in split_reads(grid):
                    if _is_text_grid(grid, lines_):
                        continue
                    blocks.append((grid, label, lines_, title))
        plate = metadata.get("Plate Number") or p.stem
        frames: list[pd.DataFrame] = []
        if len(special):
            frames.append(special.frame(declared_format(metadata.get("Plate Type"))))
        if not blocks and not frames:
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
        names = name_blocks(candidates, p.stem) if blocks else []
        for (g, _, lines_, _), name in zip(blocks, names, strict=True):
            frames.append(grid_to_long(
                g, lines_, plate, read=name, wavelength_nm=_label_wavelength(name),
                nonnumeric="flag" if self.nonnumeric == "error" else self.nonnumeric,
                na_values=self.na_values))
        out = concat_long(frames)
        out = apply_nonnumeric(out, self.nonnumeric, p, self.na_values)
        out.attrs["metadata"] = metadata
        return out
