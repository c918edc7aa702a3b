"""Bio-Rad CFX Manager / CFX Maestro "Quantification Cq Results" CSV export.

Columns (first may be an unnamed index): ``Well`` (``A01``), ``Fluor``, ``Target``,
``Content`` (``Unkn``, ``Unkn-01``, ``Std``, ``Std-03``, ``NTC``, ``NRT``, ``Pos Ctrl``,
``Neg Ctrl``), ``Sample``, ``Cq`` (``NaN`` = no Cq) and ``Starting Quantity (SQ)``. Wells
are written as ``A1``; the target is ``Fluor`` when ``Target`` is empty.
"""

from __future__ import annotations

import csv
import io as _io
import math
import re
from pathlib import Path

import pandas as pd

from ..errors import InputError
from .io import finish_wells, parse_cq

__all__ = ["read_cfx", "looks_like_cfx"]

_MAX_BYTES = 64 * 1024 * 1024


def looks_like_cfx(text: str) -> bool:
    """True for a CFX "Quantification Cq Results" table."""
    first = text.splitlines()[0] if text else ""
    cells = [c.strip().strip('"') for c in first.split(",")]
    return "Well" in cells and "Fluor" in cells and "Content" in cells and "Cq" in cells


def _content(text: str) -> str:
    t = text.strip().lower()
    if t.startswith("unkn"):
        return "unknown"
    if t.startswith("std"):
        return "standard"
    if t.startswith("ntc") or t.startswith("neg"):
        return "ntc"
    if t.startswith("nrt"):
        return "nrt"
    if t.startswith("pos"):
        return "unknown"
    raise ValueError(f"unknown Content {text!r}")


def read_cfx(path: str | Path) -> pd.DataFrame:
    """Read a CFX Cq results CSV into the well table (:data:`~preclin.qpcr.io.WELL_COLUMNS`)."""
    p = Path(path)
    if not p.exists():
        raise InputError("file not found", file=p)
    raw = p.read_bytes()
    if len(raw) > _MAX_BYTES:
        raise InputError("file too large for a CFX results table", file=p)
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        text = raw.decode("latin-1")
    reader = csv.reader(_io.StringIO(text))
    try:
        header = [h.strip() for h in next(reader)]
    except StopIteration:
        raise InputError("the file is empty", file=p) from None
    except csv.Error as exc:
        raise InputError(f"cannot read CSV ({exc})", file=p) from None
    need = ["Well", "Content", "Cq"]
    missing = [c for c in need if c not in header]
    if missing:
        raise InputError(f"missing CFX column(s) {', '.join(missing)}", file=p, location="row 1")
    j = {c: header.index(c) for c in header if c}
    qcol = next((c for c in header if c.startswith("Starting Quantity")), None)
    rows: list[dict[str, object]] = []
    try:
        records = list(reader)
    except csv.Error as exc:
        raise InputError(f"cannot read CSV ({exc})", file=p) from None
    for i, r in enumerate(records):
        loc = f"row {i + 2}"
        if not any(c.strip() for c in r):
            continue
        if len(r) < len(header):
            r = r + [""] * (len(header) - len(r))

        def get(c: str, r: list[str] = r) -> str:
            return r[j[c]].strip() if c in j else ""

        well = get("Well")
        m = re.fullmatch(r"([A-Za-z]{1,2})0*(\d{1,3})", well)
        if not m:
            raise InputError(f"Well {well!r} is not a plate position such as A01", file=p,
                             location=loc)
        target = get("Target") or get("Fluor")
        if not target:
            raise InputError("both Target and Fluor are empty", file=p, location=loc)
        try:
            task = _content(get("Content"))
            cq, undet, flag = parse_cq(get("Cq"))
        except ValueError as exc:
            raise InputError(str(exc), file=p, location=loc) from None
        q = math.nan
        if qcol and task == "standard":
            txt = get(qcol)
            try:
                q = float(txt) if txt else math.nan
            except ValueError:
                raise InputError(f"{qcol} is not a number: {txt!r}", file=p,
                                 location=loc) from None
            if not math.isfinite(q) or q <= 0:
                q = math.nan
                flag = "; ".join(x for x in (flag, "standard without a quantity") if x)
        rows.append({"well": m.group(1).upper() + m.group(2), "sample": get("Sample"),
                     "target": target, "task": task, "cq": cq, "quantity": q,
                     "undetermined": undet, "flag": flag, "cq_raw": get("Cq"),
                     "efficiency": math.nan, "run": "", "source_row": loc})
    if not rows:
        raise InputError("the table has no wells", file=p)
    return finish_wells(rows)
