"""Read qPCR results into one long table of wells (one row per well × target).

Every reader returns the columns of :data:`WELL_COLUMNS`, in file order, and keeps every
row it reads: undetermined Cq, no-template controls and omitted wells stay in the table
with ``undetermined`` and a plain-language ``flag``; nothing is dropped here.

Formats (recognised by content, whatever the extension):

* plain long table (CSV/TSV/XLSX/Parquet): ``well, sample, target, cq`` plus optional
  ``quantity`` (standard wells), ``task`` (``unknown``, ``standard``, ``ntc``, ``nrt``)
  and ``omit``; ``cq`` may say ``Undetermined`` (any case), ``No Cq``, ``N/A`` or be empty;
* RDML 1.0–1.4 (:mod:`preclin.qpcr.rdml`): zipped or plain XML;
* QuantStudio / Design & Analysis exports, ``.xlsx`` and ``.txt``
  (:mod:`preclin.qpcr.quantstudio`);
* Bio-Rad CFX Manager "Quantification Cq Results" CSV (:mod:`preclin.qpcr.cfx`);
* Applied Biosystems EDS archives: plate setup and raw traces, no Cq unless analysed
  (:mod:`preclin.qpcr.eds`).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd

from ..errors import InputError

__all__ = ["WELL_COLUMNS", "TASKS", "read_qpcr", "read_long", "parse_cq", "finish_wells",
           "detect_format"]

#: columns of every reader's table, with what they hold
WELL_COLUMNS: dict[str, str] = {
    "well": "well or reaction id as the file names it (A1, 12, …)",
    "sample": "sample name (empty text for unnamed NTC wells)",
    "target": "target (gene) name",
    "task": "unknown, standard, ntc (no-template control), nrt (no-RT control) or omit",
    "cq": "quantification cycle; NaN when undetermined",
    "quantity": "known quantity of a standard well (NaN otherwise)",
    "undetermined": "True when the file gives no usable Cq",
    "flag": "plain-language note: why the Cq is missing, NTC, omitted, vendor note ('' = none)",
    "cq_raw": "the Cq cell as written in the file",
    "efficiency": "amplification factor stored in the file for the target (2 = 100 %), "
                  "NaN if none",
    "run": "run / plate name ('' if the file has one run)",
    "source_row": "where the row came from (row number, XPath, sheet!row)",
}

TASKS = ("unknown", "standard", "ntc", "nrt", "omit")

_UNDETERMINED_TEXT = {"", "undetermined", "undet", "undet.", "no ct", "no cq", "noct", "nocq",
                      "n/a", "na", "nan", "-", "--", "none", "no amp", "no_amp", "noamp",
                      "not detected", "nd", "n.d.", "null", "inf", "infinity"}

_TASK_ALIASES = {
    "unknown": "unknown", "unkn": "unknown", "unk": "unknown", "sample": "unknown",
    "pos": "unknown", "neg": "unknown", "positive": "unknown", "negative": "unknown",
    "standard": "standard", "std": "standard", "stds": "standard",
    "ntc": "ntc", "no template control": "ntc", "negative control": "ntc",
    "nrt": "nrt", "no rt": "nrt", "-rt": "nrt", "nac": "nrt", "no amplification control": "nrt",
    "ntp": "unknown", "opt": "unknown", "pc": "unknown", "nc": "ntc", "omit": "omit",
}


def parse_cq(value: object, *, max_cq: float | None = None) -> tuple[float, bool, str]:
    """One Cq cell → ``(cq, undetermined, flag)``.

    Undetermined: empty cells and texts such as ``Undetermined``, ``No Cq``, ``N/A``,
    ``NaN``; values ≤ 0 (vendors write −1 or 0); values ≥ ``max_cq`` when given (RDML
    writers store the run's last cycle — StepOne 40 — or 100 — LightCycler 96 — for
    "no Cq").

    Raises
    ------
    ValueError
        For text that is neither a number nor a known "no Cq" word (the caller adds the
        file and location).
    """
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return math.nan, True, "undetermined (no Cq)"
    if isinstance(value, (bool, np.bool_)):
        raise ValueError(f"Cq is not a number: {value!r}")
    if isinstance(value, (int, float, np.integer, np.floating)):
        cq = float(value)
        text = str(value)
    else:
        text = str(value).strip()
        if text.lower() in _UNDETERMINED_TEXT:
            return math.nan, True, f"undetermined (Cq '{text}')" if text else \
                "undetermined (no Cq)"
        try:
            cq = float(text.replace(",", ".")) if text.count(",") == 1 and "." not in text \
                else float(text)
        except ValueError:
            raise ValueError(f"Cq is neither a number nor 'Undetermined': {text!r}") from None
    if math.isnan(cq):
        return math.nan, True, "undetermined (no Cq)"
    if math.isinf(cq):
        return math.nan, True, f"undetermined (Cq {text})"
    if cq <= 0:
        return math.nan, True, f"undetermined (Cq stored as {text})"
    if max_cq is not None and cq >= max_cq:
        return math.nan, True, f"undetermined (Cq stored as {text} = no Cq)"
    return cq, False, ""


def _task(value: object, quantity: float, sample: str) -> str:
    if value is not None and not (isinstance(value, float) and math.isnan(value)):
        key = str(value).strip().lower()
        if key in _TASK_ALIASES:
            return _TASK_ALIASES[key]
        if key.startswith("unkn"):
            return "unknown"
        if key.startswith("std"):
            return "standard"
        raise ValueError(f"unknown task {str(value)!r}; use one of {', '.join(TASKS)}")
    if not math.isnan(quantity):
        return "standard"
    s = sample.strip().lower()
    if s in {"ntc", "h2o", "water", "no template", "blank"} or s.startswith("ntc"):
        return "ntc"
    if s in {"nrt", "-rt", "no rt", "rt-", "minus rt"}:
        return "nrt"
    return "unknown"


def finish_wells(rows: list[dict[str, object]]) -> pd.DataFrame:
    """Build the well table from reader rows: documented columns, types and flags."""
    df = pd.DataFrame(rows, columns=list(WELL_COLUMNS))
    for col in ("well", "sample", "target", "task", "flag", "cq_raw", "run", "source_row"):
        df[col] = df[col].fillna("").astype(str)
    for col in ("cq", "quantity", "efficiency"):
        df[col] = pd.to_numeric(df[col], errors="coerce").astype("float64")
    df["undetermined"] = df["undetermined"].fillna(True).astype(bool)
    notes = []
    for task, flag, cq in zip(df["task"], df["flag"], df["cq"], strict=True):
        extra = []
        if task == "ntc":
            extra.append("NTC amplified" if not math.isnan(cq) else "NTC")
        elif task == "nrt":
            extra.append("no-RT control amplified" if not math.isnan(cq) else "no-RT control")
        elif task == "omit":
            extra.append("omitted in the file")
        notes.append("; ".join([*extra, flag] if flag else extra))
    df["flag"] = notes
    return df.reset_index(drop=True)


# ------------------------------------------------------------------------ plain table
_ALIASES = {
    "well": ("well", "well position", "pos", "position", "react", "reaction"),
    "sample": ("sample", "sample name", "sample_name"),
    "target": ("target", "gene", "target name", "detector", "assay"),
    "cq": ("cq", "ct", "cp", "c_t", "crt", "cт"),
    "quantity": ("quantity", "qty", "starting quantity", "amount", "input"),
    "task": ("task", "content", "type", "sample_type", "role"),
    "omit": ("omit", "omitted", "excluded"),
}


def _find(columns: list[str], key: str) -> str | None:
    low = {c.strip().lower(): c for c in columns}
    for alias in _ALIASES[key]:
        if alias in low:
            return low[alias]
    return None


def read_long(path: str | Path, *, max_cq: float | None = None) -> pd.DataFrame:
    """Read a plain long table ``well, sample, target, cq`` [+ ``quantity``, ``task``].

    Parameters
    ----------
    path
        CSV/TSV/TXT, XLSX or Parquet file.
    max_cq
        Cq values at or above this are read as undetermined (default: none).

    Returns
    -------
    pandas.DataFrame
        Columns :data:`WELL_COLUMNS`, one row per input row, in file order.
    """
    from ..tables import read_table

    p = Path(path)
    df = read_table(p, keys=["well", "sample", "target", "Well", "Sample", "Target"])
    cols = [str(c) for c in df.columns]
    found = {k: _find(cols, k) for k in _ALIASES}
    missing = [k for k in ("well", "sample", "target", "cq") if found[k] is None]
    if missing:
        raise InputError(f"missing column(s) {', '.join(repr(m) for m in missing)}; a qPCR "
                         f"table needs well, sample, target, cq (the table has: "
                         f"{', '.join(cols[:20])})", file=p)
    offset = 2 if p.suffix.lower() in (".csv", ".tsv", ".txt", ".xlsx", ".xlsm") else 1
    rows: list[dict[str, object]] = []
    get: Callable[[str], list[object]] = lambda k: (  # noqa: E731
        df[found[k]].tolist() if found[k] is not None else [None] * len(df))
    quantities = get("quantity")
    for i, (well, sample, target, cq_cell, qty, task, omit) in enumerate(zip(
            get("well"), get("sample"), get("target"), get("cq"), quantities, get("task"),
            get("omit"), strict=True)):
        loc = f"row {i + offset}"
        try:
            cq, undet, flag = parse_cq(cq_cell, max_cq=max_cq)
            quantity = _number(qty, "quantity")
            if not math.isnan(quantity) and quantity <= 0:
                raise ValueError(f"quantity must be positive, got {qty!r}")
            sname = "" if _missing(sample) else str(sample).strip()
            tname = "" if _missing(target) else str(target).strip()
            if not tname:
                raise ValueError("target is empty")
            kind = _task(task, quantity, sname)
            if _truthy(omit):
                kind, flag = "omit", flag
        except ValueError as exc:
            raise InputError(str(exc), file=p, location=loc) from None
        if _missing(well):
            raise InputError("well is empty", file=p, location=loc)
        rows.append({"well": str(well).strip(), "sample": sname, "target": tname,
                     "task": kind, "cq": cq, "quantity": quantity, "undetermined": undet,
                     "flag": flag, "cq_raw": "" if _missing(cq_cell) else str(cq_cell),
                     "efficiency": math.nan, "run": "", "source_row": loc})
    return finish_wells(rows)


def _missing(value: object) -> bool:
    return value is None or (isinstance(value, float) and math.isnan(value)) or (
        isinstance(value, str) and not value.strip())


def _truthy(value: object) -> bool:
    if _missing(value):
        return False
    return str(value).strip().lower() in {"true", "yes", "1", "1.0", "x", "omit"}


def _number(value: object, what: str) -> float:
    if _missing(value):
        return math.nan
    if isinstance(value, (bool, np.bool_)):
        raise ValueError(f"{what} is not a number: {value!r}")
    if isinstance(value, (int, float, np.integer, np.floating)):
        return float(value)
    text = str(value).strip()
    if text in {"-", "--", "n/a", "N/A", "NaN", "nan", "NA"}:
        return math.nan
    try:
        return float(text)
    except ValueError:
        raise ValueError(f"{what} is not a number: {text!r}") from None


# ------------------------------------------------------------------------ dispatch
def detect_format(path: str | Path) -> str:
    """Name of the reader for ``path``: ``rdml``, ``eds``, ``quantstudio``, ``cfx`` or
    ``long``."""
    p = Path(path)
    if not p.exists():
        raise InputError("file not found", file=p)
    if p.is_dir():
        raise InputError("expected a file but found a directory", file=p)
    try:
        with p.open("rb") as fh:
            head = fh.read(4096)
    except OSError as exc:
        raise InputError(f"cannot read file ({exc.strerror})", file=p) from None
    if head.startswith(b"PK"):
        if p.suffix.lower() in (".xlsx", ".xlsm"):
            from .quantstudio import is_quantstudio_xlsx

            return "quantstudio" if is_quantstudio_xlsx(p) else "long"
        from .eds import is_eds

        return "eds" if is_eds(p) else "rdml"
    text = head.decode("utf-8", errors="replace").lstrip("\ufeff").lstrip()
    if text.startswith("<") and ("rdml" in text[:2000].lower()):
        return "rdml"
    from .cfx import looks_like_cfx
    from .quantstudio import looks_like_quantstudio_text

    if looks_like_quantstudio_text(text):
        return "quantstudio"
    if looks_like_cfx(text):
        return "cfx"
    return "long"


def read_qpcr(path: str | Path, *, format: str = "auto",
              max_cq: float | None = None) -> pd.DataFrame:
    """Read any supported qPCR file into the well table (:data:`WELL_COLUMNS`).

    Parameters
    ----------
    path
        The file.
    format
        ``auto`` (by content), ``rdml``, ``eds``, ``quantstudio``, ``cfx`` or ``long``.
    max_cq
        Plain tables only: Cq at or above this counts as undetermined.

    Raises
    ------
    InputError
        Missing file, unreadable or malformed content, with the file and location.
    """
    p = Path(path)
    fmt = detect_format(p) if format == "auto" else format
    if fmt == "rdml":
        from .rdml import read_rdml

        return read_rdml(p)
    if fmt == "eds":
        from .eds import read_eds

        return read_eds(p)
    if fmt == "quantstudio":
        from .quantstudio import read_quantstudio

        return read_quantstudio(p)
    if fmt == "cfx":
        from .cfx import read_cfx

        return read_cfx(p)
    if fmt == "long":
        return read_long(p, max_cq=max_cq)
    raise InputError(f"unknown qPCR format {format!r}; use auto, rdml, eds, quantstudio, cfx "
                     f"or long", file=p)
