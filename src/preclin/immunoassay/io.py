"""Read Luminex xPONENT CSV exports and plain long tables into one table of wells.

Columns (:data:`WELL_COLUMNS`): ``well, sample, type, analyte, signal, dilution,
expected, vendor_result, source_row``. ``type`` is ``background``, ``standard``,
``control`` or ``unknown``; ``signal`` is xPONENT's Net MFI (Median − mean background).

**Locale guard.** In xPONENT's *Standard Expected Concentration* block a value with three
decimals can lose its decimal point when the export passes through a locale where "." is a
thousands separator (``1303.125`` → ``1303125``). The block is checked against the dilution
series StandardK = Standard1 / r^(K−1) (r = Standard1/Standard2): a cell off by exactly
1000 is corrected with a warning, anything else that breaks the series is an
:class:`~preclin.errors.InputError`.
"""

from __future__ import annotations

import csv
import io as _io
import math
import re
import warnings
from pathlib import Path

import pandas as pd

from ..errors import InputError

__all__ = ["WELL_COLUMNS", "read_xponent", "read_immunoassay", "LocaleWarning"]

WELL_COLUMNS = ["well", "sample", "type", "analyte", "signal", "dilution", "expected",
                "vendor_result", "source_row"]


class LocaleWarning(UserWarning):
    """A number in the file was corrected for a lost decimal separator."""


def _blocks(lines: list[list[str]]) -> dict[str, tuple[int, list[list[str]]]]:
    out: dict[str, tuple[int, list[list[str]]]] = {}
    cur: str | None = None
    for i, r in enumerate(lines):
        if r and r[0].strip() == "DataType:":
            cur = r[1].strip() if len(r) > 1 else ""
            out[cur] = (i + 1, [])
            continue
        if cur is not None:
            out[cur][1].append(r)
    return {k: v for k, v in out.items() if v[1]}  # a block with no rows is absent


def _num(text: str) -> float:
    t = text.strip()
    if t == "" or t.lower() in ("nan", "n/a"):
        return math.nan
    return float(t)


def _type(sample: str) -> str:
    s = sample.lower()
    if s.startswith("background"):
        return "background"
    if re.fullmatch(r"standard\d+", s):
        return "standard"
    if re.fullmatch(r"control\d+", s):
        return "control"
    return "unknown"


def _standard_series(p: Path, block: tuple[int, list[list[str]]],
                     analytes: list[str]) -> dict[tuple[str, str], float]:
    start, rows = block
    head = [c.strip() for c in rows[0]]
    out: dict[tuple[str, str], float] = {}
    table: dict[str, list[str]] = {}
    for r in rows[1:]:
        if r and re.fullmatch(r"Standard\d+", r[0].strip()):
            table[r[0].strip()] = r
    names = sorted(table, key=lambda s: int(s[8:]))
    for a in analytes:
        if a not in head:
            continue
        j = head.index(a)
        vals = {s: _num(table[s][j]) if j < len(table[s]) else math.nan for s in names}
        s1, s2 = vals.get("Standard1", math.nan), vals.get("Standard2", math.nan)
        if not (s1 > 0 and s2 > 0):
            continue
        ratio = s1 / s2
        for k, s in enumerate(names):
            want = s1 / ratio ** (int(s[8:]) - 1)
            v = vals[s]
            row = start + 1 + 1 + [r[0].strip() if r else "" for r in rows[1:]].index(s)
            if math.isnan(v) or abs(v - want) <= 1e-6 * want:
                out[(s, a)] = want
            elif abs(v / 1000 - want) <= 1e-6 * want:
                warnings.warn(f"{p}: row {row}: {s} {a} expected concentration {v:g} read as "
                              f"{want:g} (decimal point lost to a locale setting)",
                              LocaleWarning, stacklevel=3)
                out[(s, a)] = want
            else:
                raise InputError(f"{s} {a}: expected concentration {v:g} breaks the dilution "
                                 f"series (Standard1/{ratio:g}^{int(s[8:]) - 1} = {want:g})",
                                 file=p, location=f"row {row}")
            del k
    return out


def read_xponent(path: str | Path) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Read an xPONENT CSV export.

    Returns
    -------
    (wells, vendor)
        ``wells``: one row per well × analyte (:data:`WELL_COLUMNS`), in file order;
        ``vendor``: xPONENT's own coefficients and R² per analyte (``analyte, A, B, C, D,
        F, r2``; empty if the export has none).
    """
    p = Path(path)
    if not p.exists():
        raise InputError("file not found", file=p)
    raw = p.read_bytes()
    if len(raw) > 64 * 1024 * 1024:
        raise InputError("file too large for an xPONENT export", file=p)
    text = raw.decode("utf-8-sig", errors="replace")
    try:
        lines = list(csv.reader(_io.StringIO(text)))
    except csv.Error as exc:
        raise InputError(f"cannot read CSV ({exc})", file=p) from None
    blocks = _blocks(lines)
    key = "Net MFI" if "Net MFI" in blocks else "Median"
    if key not in blocks:
        raise InputError("no 'DataType:,Net MFI' or 'DataType:,Median' block: not an xPONENT "
                         "export", file=p)
    start, rows = blocks[key]
    if not rows or len(rows[0]) < 3 or rows[0][0].strip() != "Location":
        raise InputError(f"the {key} block has no 'Location, Sample, …' header", file=p,
                         location=f"row {start + 1}")
    head = [c.strip() for c in rows[0]]
    analytes = [a for a in head[2:] if a and a != "Total Events"]
    data = [r for r in rows[1:] if r and r[0].strip()]
    dil: dict[str, float] = {}
    if "Dilution Factor" in blocks:
        for r in blocks["Dilution Factor"][1][1:]:
            if len(r) > 2 and r[0].strip():
                try:
                    dil[r[0].strip()] = _num(r[2])
                except ValueError:
                    pass
    results: dict[tuple[str, str], str] = {}
    if "Result" in blocks:
        rh = [c.strip() for c in blocks["Result"][1][0]]
        for r in blocks["Result"][1][1:]:
            if r and r[0].strip():
                for j, a in enumerate(rh):
                    if a in analytes and j < len(r):
                        results[(r[0].strip(), a)] = r[j].strip()
    std = _standard_series(p, blocks["Standard Expected Concentration"], analytes) \
        if "Standard Expected Concentration" in blocks else {}
    ctrl: dict[tuple[str, str], float] = {}
    if "Control Expected Concentration" in blocks:
        ch = [c.strip() for c in blocks["Control Expected Concentration"][1][0]]
        for r in blocks["Control Expected Concentration"][1][1:]:
            if r and r[0].strip().startswith("Control"):
                for j, a in enumerate(ch):
                    if a in analytes and j < len(r) and r[j].strip():
                        try:
                            ctrl[(r[0].strip(), a)] = _num(r[j])
                        except ValueError:
                            pass
    out = []
    for i, r in enumerate(data):
        row = start + 2 + i
        loc = r[0].strip()
        m = re.search(r",\s*([A-Pa-p]\d{1,2})\)", loc)
        well = m.group(1).upper() if m else loc
        sample = r[1].strip() if len(r) > 1 else ""
        typ = _type(sample)
        for a in analytes:
            j = head.index(a)
            cell = r[j] if j < len(r) else ""
            try:
                sig = _num(cell)
            except ValueError:
                raise InputError(f"{key} for {a} is not a number: {cell!r}", file=p,
                                 location=f"row {row}") from None
            expected = std.get((sample, a), math.nan) if typ == "standard" else \
                ctrl.get((sample, a), math.nan)
            d = dil.get(loc, math.nan)
            out.append({"well": well, "sample": sample, "type": typ, "analyte": a,
                        "signal": sig, "dilution": 1.0 if math.isnan(d) else d,
                        "expected": expected, "vendor_result": results.get((loc, a), ""),
                        "source_row": f"row {row}"})
    wells = pd.DataFrame(out, columns=WELL_COLUMNS)
    if key == "Median":  # Net MFI = Median − mean background, per analyte
        bg = wells[wells["type"] == "background"].groupby("analyte")["signal"].mean()
        wells["signal"] = wells["signal"] - wells["analyte"].map(bg).fillna(0.0)
    vendor = _coefficients(blocks, analytes)
    return wells, vendor


def _coefficients(blocks: dict[str, tuple[int, list[list[str]]]],
                  analytes: list[str]) -> pd.DataFrame:
    cols = ["analyte", "A", "B", "C", "D", "F", "r2"]
    if "Analysis Coefficients" not in blocks:
        return pd.DataFrame(columns=cols)
    rows = blocks["Analysis Coefficients"][1]
    head = [c.strip() for c in rows[0]]
    coef: dict[str, dict[str, float]] = {a: {} for a in analytes}
    for r in rows[1:]:
        if r and r[0].startswith("Coefficient "):
            name = r[0].split()[-1]
            for j, a in enumerate(head):
                if a in coef and j < len(r) and r[j].strip():
                    coef[a][name] = _num(r[j])
    if "R^2" in blocks:
        rh = [c.strip() for c in blocks["R^2"][1][0]]
        for r in blocks["R^2"][1][1:]:
            if r and r[0].strip() == "Value":
                for j, a in enumerate(rh):
                    if a in coef and j < len(r) and r[j].strip():
                        coef[a]["r2"] = _num(r[j])
    return pd.DataFrame([{"analyte": a, **v} for a, v in coef.items() if v], columns=cols)


def read_immunoassay(path: str | Path) -> pd.DataFrame:
    """An xPONENT export, or a long table ``analyte, sample, signal`` [+ ``well``,
    ``type``, ``expected`` (or ``concentration``), ``dilution``]."""
    p = Path(path)
    if not p.exists():
        raise InputError("file not found", file=p)
    with p.open("rb") as fh:
        head = fh.read(2048).decode("utf-8", errors="replace")
    if head.lstrip("\ufeff").startswith("Program,xPONENT") or "DataType:" in head:
        return read_xponent(p)[0]
    from ..tables import read_table, require_columns, require_numeric

    df = read_table(p, keys=["analyte", "sample", "well", "type"])
    require_columns(df, ["analyte", "sample", "signal"], file=p)
    exp_col = "expected" if "expected" in df else "concentration" if "concentration" in df \
        else None
    out = pd.DataFrame({
        "well": df["well"].astype(str) if "well" in df else [f"row {i + 2}"
                                                             for i in range(len(df))],
        "sample": df["sample"].astype(str),
        "type": df["type"].astype(str).str.lower() if "type" in df else "unknown",
        "analyte": df["analyte"].astype(str),
        "signal": require_numeric(df, "signal", file=p),
        "dilution": require_numeric(df, "dilution", file=p, allow_nan=True).fillna(1.0)
        if "dilution" in df else 1.0,
        "expected": require_numeric(df, exp_col, file=p, allow_nan=True) if exp_col
        else math.nan,
        "vendor_result": "", "source_row": [f"row {i + 2}" for i in range(len(df))]})
    if "type" not in df:
        out.loc[out["expected"].notna(), "type"] = "standard"
    bad = ~out["type"].isin(["background", "standard", "control", "unknown"])
    if bad.any():
        i = int(bad.to_numpy().nonzero()[0][0])
        raise InputError(f"type must be background, standard, control or unknown, got "
                         f"{out['type'].iloc[i]!r}", file=p, location=f"row {i + 2}")
    return out
