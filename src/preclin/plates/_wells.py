"""Well names, row letters and standard plate formats (private helpers).

Rows are counted from 0 internally (``i``) and labelled ``A, B, ..., Z, AA, AB, ...``;
columns are counted from 0 internally (``j``) and labelled ``1, 2, ...``. Well names are
written without zero padding (``"A1"``, ``"P24"``, ``"AF48"``) but zero-padded names
(``"A01"``) are accepted on input.
"""

from __future__ import annotations

import re

__all__ = [
    "PLATE_FORMATS",
    "row_label",
    "row_index",
    "well_name",
    "parse_well",
    "format_for",
    "format_description",
]

#: Standard plate formats: number of wells -> (rows, columns).
PLATE_FORMATS: dict[int, tuple[int, int]] = {
    6: (2, 3),
    12: (3, 4),
    24: (4, 6),
    48: (6, 8),
    96: (8, 12),
    384: (16, 24),
    1536: (32, 48),
}

_WELL_RE = re.compile(r"^\s*([A-Za-z]{1,2})\s*0*(\d+)\s*$")
_ROW_RE = re.compile(r"^[A-Za-z]{1,2}$")


def row_label(i: int) -> str:
    """Letter(s) of the 0-based row ``i``: 0 -> ``A``, 25 -> ``Z``, 26 -> ``AA``."""
    if i < 0:
        raise ValueError(f"row index must be >= 0, got {i}")
    if i < 26:
        return chr(ord("A") + i)
    return chr(ord("A") + i // 26 - 1) + chr(ord("A") + i % 26)


def row_index(label: str) -> int | None:
    """0-based index of a row label (case-insensitive), or None if it is not a row label."""
    text = label.strip()
    if not _ROW_RE.match(text):
        return None
    text = text.upper()
    if len(text) == 1:
        return ord(text) - ord("A")
    return (ord(text[0]) - ord("A") + 1) * 26 + ord(text[1]) - ord("A")


def well_name(i: int, j: int) -> str:
    """Name of the well at 0-based row ``i`` and column ``j`` (``0, 0`` -> ``"A1"``)."""
    return f"{row_label(i)}{j + 1}"


def parse_well(name: str) -> tuple[int, int] | None:
    """0-based ``(row, col)`` of a well name such as ``"B3"`` or ``"b03"``; None if malformed."""
    m = _WELL_RE.match(name)
    if m is None:
        return None
    i = row_index(m.group(1))
    j = int(m.group(2)) - 1
    if i is None or j < 0:
        return None
    return i, j


def format_for(n_rows: int, n_cols: int) -> int | None:
    """Smallest standard plate format holding ``n_rows`` x ``n_cols`` wells, or None."""
    for n, (r, c) in PLATE_FORMATS.items():
        if n_rows <= r and n_cols <= c:
            return n
    return None


def format_description(n_wells: int) -> str:
    """``"96-well plate (rows A-H, columns 1-12)"``."""
    r, c = PLATE_FORMATS[n_wells]
    return f"{n_wells}-well plate (rows A-{row_label(r - 1)}, columns 1-{c})"
