"""Building the readers' long table (private helpers shared by the vendor readers).

Every reader collects its measurements with :class:`LongTable` and returns
:meth:`LongTable.frame`: one row per well of the declared plate format for every plate, read
and time point, with the columns documented in :mod:`preclin.plates.readers`.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from ...errors import InputError
from .._cells import Cell, Sheet, cell_text, to_number
from .._wells import PLATE_FORMATS, format_for, parse_well, row_index, row_label

__all__ = [
    "LongTable",
    "convert",
    "well_of",
    "wavelength_of",
    "time_to_seconds",
    "sheet_lines",
    "key_values",
    "declared_format",
    "mode_unit",
    "apply_nonnumeric",
    "BASE_COLUMNS",
    "OPTIONAL_COLUMNS",
]

#: Columns every reader returns, in order.
BASE_COLUMNS = ("plate", "read", "well", "row", "col", "value")
#: Columns a reader adds when the file has them (kinetic time, wavelength, unit, text flags).
OPTIONAL_COLUMNS = ("time_s", "cycle", "wavelength_nm", "unit", "flag")


def convert(cell: Cell, *, decimal_comma: bool = False) -> tuple[float, str | None]:
    """``(value, flag)`` of one cell.

    Numbers give ``(number, None)``; empty cells ``(nan, None)``; any other text (``OVRFLW``,
    ``Masked``, ``Range?``, ``NaN``, ``-``) gives ``(nan, text as written)``: nothing is turned
    into a number or dropped silently.
    """
    if cell is None:
        return math.nan, None
    if isinstance(cell, bool):
        return math.nan, cell_text(cell)
    if isinstance(cell, int | float):
        value = float(cell)
        if math.isnan(value):
            return math.nan, "NaN"
        return value, None
    text = cell.strip()
    if not text:
        return math.nan, None
    number = to_number(text, decimal_comma=decimal_comma)
    if number is not None:
        return number, None
    return math.nan, text


def well_of(text: Cell) -> tuple[int, int] | None:
    """0-based ``(row, col)`` of a well name (``A1``, ``A01``, ``A 2``); None otherwise."""
    if not isinstance(text, str):
        return None
    return parse_well(text.replace(" ", ""))


_WAVE_RE = re.compile(r"(\d{3,4}(?:\.\d+)?)\s*(?:nm)?")


def wavelength_of(text: str | float | int | None) -> float | None:
    """The (first) wavelength in nm written in a label (``"600"``, ``"Abs @ 562"``), or None."""
    if text is None:
        return None
    if isinstance(text, int | float):
        return float(text) if 200 <= float(text) <= 1100 else None
    for m in _WAVE_RE.finditer(str(text)):
        value = float(m.group(1))
        if 200 <= value <= 1100:
            return value
    return None


_HMS_RE = re.compile(r"^'?\s*(\d+):(\d{1,2})(?::(\d{1,2}(?:\.\d+)?))?\s*$")


def time_to_seconds(cell: Cell) -> float | None:
    """Seconds of a time cell: a number (already seconds), ``h:mm:ss(.ss)`` / ``mm:ss`` text or
    an ISO time from a workbook (``00:15:00``); None when the cell holds no time."""
    if cell is None or isinstance(cell, bool):
        return None
    if isinstance(cell, int | float):
        return float(cell)
    text = cell.strip()
    if "T" in text:  # an ISO date-time from a workbook: take the time of day
        text = text.split("T", 1)[1]
    m = _HMS_RE.match(text)
    if m is None:
        number = to_number(text)
        return number
    if m.group(3) is None:
        return int(m.group(1)) * 60 + int(m.group(2))
    return int(m.group(1)) * 3600 + int(m.group(2)) * 60 + float(m.group(3))


def sheet_lines(sheet: Sheet) -> list[list[str]]:
    """Every line of a sheet as display texts (``""`` for empty cells), trailing blanks cut."""
    out = []
    for row in sheet.rows:
        cells = [cell_text(c) for c in row]
        while cells and cells[-1] == "":
            cells.pop()
        out.append(cells)
    return out


def key_values(lines: Iterable[list[str]]) -> dict[str, str]:
    """``key -> value`` of metadata lines (``Key: value`` in one cell or key and value cells);
    the first occurrence of a key wins."""
    meta: dict[str, str] = {}
    for cells in lines:
        texts = [c for c in cells if c]
        if not texts:
            continue
        if len(texts) >= 2:
            key, value = texts[0], " ".join(texts[1:])
        elif ":" in texts[0]:
            key, _, value = texts[0].partition(":")
        else:
            continue
        key = key.strip().rstrip(":").strip()
        if key and key not in meta:
            meta[key] = value.strip()
    return meta


@dataclass
class LongTable:
    """Collects measurements and turns them into the readers' long table.

    Parameters
    ----------
    path
        The file being read (for error messages).
    decimal_comma
        Text cells use a decimal comma (``0,5``), as ``;``- or tab-delimited exports may.
    """

    path: Path
    decimal_comma: bool = False
    _cols: dict[str, list[object]] = field(default_factory=dict)
    metadata: dict[str, str] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)

    def __post_init__(self) -> None:
        for name in (*BASE_COLUMNS, *OPTIONAL_COLUMNS):
            self._cols[name] = []

    def __len__(self) -> int:
        return len(self._cols["plate"])

    def add(
        self,
        plate: str,
        read: str,
        i: int,
        j: int,
        cell: Cell,
        *,
        time_s: float | None = None,
        cycle: int | None = None,
        wavelength_nm: float | None = None,
        unit: str | None = None,
    ) -> None:
        """Add the cell of well ``(i, j)`` (0-based row and column) of one plate and read."""
        value, flag = convert(cell, decimal_comma=self.decimal_comma)
        c = self._cols
        c["plate"].append(plate)
        c["read"].append(read)
        c["well"].append(f"{row_label(i)}{j + 1}")
        c["row"].append(row_label(i))
        c["col"].append(j + 1)
        c["value"].append(value)
        c["time_s"].append(math.nan if time_s is None else float(time_s))
        c["cycle"].append(cycle)
        c["wavelength_nm"].append(math.nan if wavelength_nm is None else float(wavelength_nm))
        c["unit"].append(unit)
        c["flag"].append(flag)

    def frame(self, plate_size: int | None = None) -> pd.DataFrame:
        """The long table: every well of the plate format for each plate, read and time point.

        Parameters
        ----------
        plate_size
            Wells of the plate format the file declares (96, 384, ...). Wells the file lists
            without a value, and wells of the format it does not list, become rows with value
            NaN and no flag. None: the smallest standard format holding every well seen.

        Raises
        ------
        InputError
            If the file holds no measurement, or a well lies outside the declared format.
        """
        if len(self) == 0:
            raise InputError("no plate measurements found in the file", file=self.path)
        df = pd.DataFrame(self._cols)
        df["_i"] = df["row"].map(row_index).astype("int64")
        n_rows = int(df["_i"].max()) + 1
        n_cols = int(df["col"].max())
        if plate_size is None:
            fmt = format_for(n_rows, n_cols)
            if fmt is None:
                raise InputError(f"wells up to {row_label(n_rows - 1)}{n_cols} do not fit a "
                                 "standard plate format", file=self.path)
            plate_size = fmt
        if plate_size not in PLATE_FORMATS:
            raise InputError(f"unsupported plate format of {plate_size} wells", file=self.path)
        fr, fc = PLATE_FORMATS[plate_size]
        if n_rows > fr or n_cols > fc:
            raise InputError(
                f"well {row_label(n_rows - 1)}{n_cols} lies outside the declared "
                f"{plate_size}-well plate", file=self.path)
        df = self._complete(df, fr, fc)
        return self._typed(df)

    # ------------------------------------------------------------------ internals
    def _complete(self, df: pd.DataFrame, fr: int, fc: int) -> pd.DataFrame:
        df["cycle"] = df["cycle"].astype("float64")
        df["_cyc"] = df["cycle"].fillna(-1.0)
        # a kinetic read without cycle numbers: each distinct time is one time point
        no_cycle = df["cycle"].isna() & df["time_s"].notna()
        df.loc[no_cycle, "_cyc"] = -2.0 - df.loc[no_cycle, "time_s"]
        df["_p"] = pd.factorize(df["plate"])[0]
        df["_r"] = pd.factorize(df["plate"] + "\x00" + df["read"])[0]
        dup = df.duplicated(["_r", "_cyc", "_i", "col"], keep=False)
        if dup.any():
            first = df.loc[dup].iloc[0]
            raise InputError(
                f"well {first['well']} appears twice in plate '{first['plate']}' read "
                f"'{first['read']}'", file=self.path)
        grid_i = np.repeat(np.arange(fr), fc)
        grid_j = np.tile(np.arange(1, fc + 1), fr)
        fills = []
        for _, g in df.groupby(["_r", "_cyc"], sort=False):
            if len(g) == fr * fc:
                continue
            have = set(zip(g["_i"].tolist(), g["col"].tolist(), strict=True))
            keep = [(i, j) for i, j in zip(grid_i.tolist(), grid_j.tolist(), strict=True)
                    if (i, j) not in have]
            if not keep:
                continue
            first = g.iloc[0]
            times = g["time_s"].dropna().unique()
            fill = pd.DataFrame({
                "_i": [i for i, _ in keep],
                "col": [j for _, j in keep],
            })
            fill["row"] = fill["_i"].map(row_label)
            fill["well"] = fill["row"] + fill["col"].astype(str)
            for name in ("plate", "read", "cycle", "wavelength_nm", "unit", "_cyc", "_p", "_r"):
                fill[name] = first[name]
            fill["value"] = math.nan
            fill["flag"] = None
            fill["time_s"] = times[0] if len(times) == 1 else math.nan
            fills.append(fill)
        if fills:
            df = pd.concat([df, *fills], ignore_index=True)
        df["_g"] = df.groupby(["_r", "_cyc"], sort=False).ngroup()
        return df.sort_values(["_r", "_g", "_i", "col"], kind="stable").reset_index(drop=True)

    def _typed(self, df: pd.DataFrame) -> pd.DataFrame:
        out = pd.DataFrame({
            "plate": df["plate"].astype("str"),
            "read": df["read"].astype("str"),
            "well": df["well"].astype("str"),
            "row": df["row"].astype("str"),
            "col": df["col"].astype("int64"),
            "value": df["value"].astype("float64"),
        })
        if df["time_s"].notna().any():
            out["time_s"] = df["time_s"].astype("float64")
        if df["cycle"].notna().any():
            out["cycle"] = df["cycle"].astype("Int64")
        if df["wavelength_nm"].notna().any():
            out["wavelength_nm"] = df["wavelength_nm"].astype("float64")
        if df["unit"].notna().any():
            out["unit"] = df["unit"].astype("string")
        if df["flag"].notna().any():
            out["flag"] = df["flag"].astype("string")
        out.attrs["metadata"] = dict(self.metadata)
        if self.notes:
            out.attrs["notes"] = list(self.notes)
        return out


_FORMAT_RE = re.compile(r"(?<!\d)(1536|384|96|48|24|12|6)(?!\d)")


def declared_format(text: str | None) -> int | None:
    """Plate format written in a plate-type text (``"Greiner 96 Flat"``, ``"GRE96ft.pdf"``)."""
    if not text:
        return None
    m = _FORMAT_RE.search(text)
    return int(m.group(1)) if m else None


def mode_unit(mode: str | None) -> str | None:
    """Conventional unit of a measurement mode: absorbance ``OD``, fluorescence ``RFU``,
    luminescence ``RLU``; None for anything else."""
    if not mode:
        return None
    m = mode.lower()
    if "absorb" in m:
        return "OD"
    if "fluor" in m:
        return "RFU"
    if "lumin" in m:
        return "RLU"
    return None


def apply_nonnumeric(df: pd.DataFrame, mode: str, path: Path,
                     na_values: Iterable[str] = ()) -> pd.DataFrame:
    """Apply a reader's ``nonnumeric`` choice to a long table that flags text cells.

    ``"flag"`` keeps the flags, ``"nan"`` drops them (values stay NaN), ``"error"`` raises for the
    first flagged well. Flags equal to one of ``na_values`` (case-insensitive) are dropped first.

    Raises
    ------
    InputError
        With ``mode="error"`` when a cell holds text, naming the file, the well and the text.
    """
    if "flag" not in df.columns:
        return df
    na = {v.strip().lower() for v in na_values}
    if na:
        drop = df["flag"].str.lower().isin(na).fillna(False).astype(bool)
        df.loc[drop, "flag"] = pd.NA
    flagged = df["flag"].notna()
    if mode == "error" and flagged.any():
        first = df.loc[flagged].iloc[0]
        where = f"well {first['well']}"
        if first.get("read"):
            where += f" (read '{first['read']}')"
        raise InputError(f"non-numeric value {first['flag']!r} (read such values as flagged "
                         "with nonnumeric='flag' or as missing with nonnumeric='nan')",
                         file=path, location=where)
    if mode == "nan" or not flagged.any():
        df = df.drop(columns="flag")
    return df
