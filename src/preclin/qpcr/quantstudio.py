"""QuantStudio / Design & Analysis exports (``.xlsx`` and tab-separated ``.txt``).

The *Results* table (header row starting ``Well, Well Position``, after up to a few dozen
``key, value`` metadata lines) gives one row per well × target: ``Well Position``,
``Sample`` (``Sample Name``), ``Target`` (``Target Name``), ``Task`` (``UNKNOWN``,
``STANDARD``, ``NTC``), ``Cq``/``CT`` (``UNDETERMINED`` = no Cq), ``Omit`` and, in some
versions, ``Quantity``. Standards' quantities come from ``Quantity``, else the *Standard
Curve Result* sheet, else the sample name when it is a number (Design & Analysis names
standard samples by their quantity, ``20000.0``). ``Amp Status`` other than ``AMP`` is kept
in ``flag``.
"""

from __future__ import annotations

import math
from pathlib import Path

import pandas as pd

from ..errors import InputError
from .io import finish_wells, parse_cq

__all__ = ["read_quantstudio", "is_quantstudio_xlsx", "looks_like_quantstudio_text"]

_MAX_ROWS = 100_000
_TASKS = {"UNKNOWN": "unknown", "STANDARD": "standard", "NTC": "ntc", "NEGATIVE": "ntc",
          "NRT": "nrt", "IPC": "unknown", "BLOCKED_IPC": "unknown", "": "unknown"}
_COLS = {"well": ("well position",), "sample": ("sample", "sample name"),
         "target": ("target", "target name", "detector", "detector name"),
         "task": ("task",), "cq": ("cq", "ct", "cт", "crt"), "omit": ("omit",),
         "quantity": ("quantity",), "amp": ("amp status",)}


def looks_like_quantstudio_text(text: str) -> bool:
    """True for a QuantStudio/7500 text export (tab-separated Results table)."""
    return "Well\tWell Position" in text or (text.startswith("* ") and (
        "Block Type" in text or "Instrument Type" in text or "Experiment" in text))


def is_quantstudio_xlsx(path: Path) -> bool:
    """True when the workbook has a QuantStudio *Results* sheet."""
    try:
        import openpyxl

        wb = openpyxl.load_workbook(path, read_only=True, data_only=True)
    except Exception:
        return False
    try:
        if "Results" not in wb.sheetnames:
            return False
        ws = wb["Results"]
        for i, row in enumerate(ws.iter_rows(values_only=True, max_row=60)):
            if row and str(row[0]).strip() == "Well" and len(row) > 1 and \
                    str(row[1]).strip() == "Well Position":
                return True
            if i > 60:
                break
        return False
    finally:
        wb.close()


def _header_index(rows: list[list[object]]) -> int:
    for i, r in enumerate(rows):
        if len(r) > 1 and str(r[0]).strip() == "Well" and str(r[1]).strip() == "Well Position":
            return i
    return -1


def _xlsx_sheets(p: Path) -> tuple[list[list[object]], list[list[object]] | None]:
    import openpyxl

    try:
        wb = openpyxl.load_workbook(p, read_only=True, data_only=True)
    except Exception as exc:
        raise InputError(f"cannot open workbook ({type(exc).__name__}: "
                         f"{' '.join(str(exc).split())[:200]})", file=p) from None
    try:
        if "Results" not in wb.sheetnames:
            raise InputError("no 'Results' sheet: not a QuantStudio export", file=p)

        def rows_of(name: str) -> list[list[object]]:
            out = []
            for i, r in enumerate(wb[name].iter_rows(values_only=True)):
                if i >= _MAX_ROWS:
                    raise InputError(f"sheet {name!r} has more than {_MAX_ROWS} rows", file=p)
                out.append(list(r))
            return out

        try:
            std = rows_of("Standard Curve Result") if "Standard Curve Result" in \
                wb.sheetnames else None
            return rows_of("Results"), std
        except InputError:
            raise
        except Exception as exc:  # corrupt members: zlib, XML, KeyError from openpyxl
            raise InputError(f"cannot read workbook ({type(exc).__name__}: "
                             f"{' '.join(str(exc).split())[:200]})", file=p) from None
    finally:
        wb.close()


def _text_rows(p: Path) -> list[list[object]]:
    try:
        raw = p.read_bytes()
    except OSError as exc:
        raise InputError(f"cannot read file ({exc.strerror})", file=p) from None
    for enc in ("utf-8-sig", "utf-16", "latin-1"):
        try:
            text = raw.decode(enc)
            break
        except UnicodeDecodeError:
            continue
    lines = text.splitlines()
    rows: list[list[object]] = []
    started = False
    for line in lines[:_MAX_ROWS]:
        cells: list[object] = list(line.split("\t"))
        if not started:
            if len(cells) > 1 and str(cells[0]).strip() == "Well" and \
                    str(cells[1]).strip() == "Well Position":
                started = True
                rows.append(cells)
            continue
        if not line.strip() or line.startswith("["):
            break
        rows.append(cells)
    return rows


def _col(header: list[str], key: str) -> int | None:
    low = [h.strip().lower() for h in header]
    for alias in _COLS[key]:
        if alias in low:
            return low.index(alias)
    return None


def read_quantstudio(path: str | Path) -> pd.DataFrame:
    """Read a QuantStudio / Design & Analysis ``.xlsx`` or ``.txt`` export.

    Returns
    -------
    pandas.DataFrame
        :data:`preclin.qpcr.io.WELL_COLUMNS`, one row per well × target in file order.
    """
    p = Path(path)
    if not p.exists():
        raise InputError("file not found", file=p)
    is_xlsx = p.read_bytes()[:4] == b"PK\x03\x04"
    std_rows = None
    if is_xlsx:
        rows, std_rows = _xlsx_sheets(p)
        hi = _header_index(rows)
        sheet = "Results!"
    else:
        rows, hi, sheet = _text_rows(p), 0, ""
        if not rows:
            hi = -1
    if hi < 0:
        raise InputError("no Results table (a header row starting 'Well, Well Position')",
                         file=p)
    header = ["" if h is None else str(h) for h in rows[hi]]
    idx = {k: _col(header, k) for k in _COLS}
    missing = [k for k in ("well", "target", "cq") if idx[k] is None]
    if missing:
        raise InputError(f"Results table lacks column(s) {', '.join(missing)}", file=p,
                         location=f"{sheet}row {hi + 1}")
    std_q = _standard_quantities(std_rows)
    out: list[dict[str, object]] = []
    offset = hi + (1 if is_xlsx else 0)

    def cell(r: list[object], k: str) -> object:
        j = idx[k]
        return r[j] if j is not None and j < len(r) else None

    for i, r in enumerate(rows[hi + 1:]):
        if not r or all(c is None or str(c).strip() == "" for c in r):
            continue
        loc = f"{sheet}row {i + offset + 2}" if is_xlsx else f"Results row {i + 1}"
        well = cell(r, "well")
        target = cell(r, "target")
        if well is None or str(well).strip() == "":
            raise InputError("empty Well Position", file=p, location=loc)
        if target is None or str(target).strip() == "":
            raise InputError("empty Target", file=p, location=loc)
        try:
            cq, undet, flag = parse_cq(cell(r, "cq"))
        except ValueError as exc:
            raise InputError(str(exc), file=p, location=loc) from None
        sample = cell(r, "sample")
        sname = "" if sample is None else str(sample).strip()
        task_txt = str(cell(r, "task") or "").strip().upper()
        if task_txt not in _TASKS:
            raise InputError(f"unknown Task {task_txt!r}", file=p, location=loc)
        task = _TASKS[task_txt]
        if str(cell(r, "omit") or "").strip().upper() == "TRUE":
            task = "omit"
        amp = str(cell(r, "amp") or "").strip()
        notes = [flag] if flag else []
        if amp and amp.upper() not in ("AMP", ""):
            notes.append(f"Amp Status {amp}")
        q = math.nan
        if task == "standard":
            q = _as_float(cell(r, "quantity"))
            if math.isnan(q):
                q = std_q.get((str(well).strip(), str(target).strip()), math.nan)
            if math.isnan(q):
                q = _as_float(sname)
            if math.isnan(q) or q <= 0:
                notes.append("standard without a quantity")
                q = math.nan
        out.append({"well": str(well).strip(), "sample": sname, "target": str(target).strip(),
                    "task": task, "cq": cq, "quantity": q, "undetermined": undet,
                    "flag": "; ".join(notes), "cq_raw": "" if cell(r, "cq") is None
                    else str(cell(r, "cq")), "efficiency": math.nan, "run": "",
                    "source_row": loc})
    if not out:
        raise InputError("the Results table has no wells", file=p)
    return finish_wells(out)


def _as_float(v: object) -> float:
    if v is None or isinstance(v, bool):
        return math.nan
    try:
        x = float(str(v).strip().replace(",", ""))
    except ValueError:
        return math.nan
    return x if math.isfinite(x) else math.nan


def _standard_quantities(rows: list[list[object]] | None) -> dict[tuple[str, str], float]:
    if not rows:
        return {}
    hi = _header_index(rows)
    if hi < 0:
        return {}
    head = ["" if h is None else str(h).strip() for h in rows[hi]]
    try:
        jw, jt, jq, jk = (head.index("Well Position"), head.index("Target"),
                          head.index("Quantity"), head.index("Task"))
    except ValueError:
        return {}
    out = {}
    for r in rows[hi + 1:]:
        if len(r) > max(jw, jt, jq, jk) and str(r[jk]).strip().upper() == "STANDARD":
            out[(str(r[jw]).strip(), str(r[jt]).strip())] = _as_float(r[jq])
    return out
