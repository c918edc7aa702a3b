"""Applied Biosystems EDS experiment files (7500 / StepOne / QuantStudio "SDS" zip).

An ``.eds`` file is a zip archive; preclin reads two members:

* ``apldbio/sds/plate_setup.xml`` — the plate layout: per well index (row-major, 0 = A1)
  the sample name and the detector tasks (``UNKNOWN``, ``STANDARD`` with its
  ``Concentration``, ``NTC``) with the detector (target) name;
* ``apldbio/sds/multicomponent_data.txt`` — the per-cycle multicomponent signal of every
  dye in every well (:func:`read_eds_traces`).

Analysis results (Cq) are not always stored in an EDS file; when they are absent the well
table says so in ``flag`` (``cq`` NaN, ``undetermined`` True) instead of inventing a value:
compute Cq in the instrument software and export them, or use the raw traces.

Archive safety as for RDML: at most :data:`~preclin.qpcr.rdml.MAX_MEMBERS` members, no
absolute or parent-directory member names, each member read is bounded; XML through
``defusedxml``.
"""

from __future__ import annotations

import re
import zipfile
import zlib
from pathlib import Path
from typing import Any

import pandas as pd

from ..errors import InputError

__all__ = ["read_eds", "read_eds_traces", "is_eds", "NO_RESULTS_FLAG"]

NO_RESULTS_FLAG = "no analysis results (Cq) stored in the EDS file"
_SETUP = "apldbio/sds/plate_setup.xml"
_MULTI = "apldbio/sds/multicomponent_data.txt"
_MAX_MEMBER = 64 * 1024 * 1024
_TASKS = {"UNKNOWN": "unknown", "STANDARD": "standard", "NTC": "ntc", "NAC": "nrt",
          "IPC": "unknown", "BLOCKED_IPC": "unknown", "UNKNOWN_IPC": "unknown"}
_RECORD = re.compile(r"(?<![\d.])(\d+)\t(\d+)\t([A-Za-z][\w\- ]*?)\t([-+\d.Ee]+)\t([-+\d.Ee]+)")


def _members(p: Path) -> tuple[zipfile.ZipFile, dict[str, zipfile.ZipInfo]]:
    from .rdml import MAX_MEMBERS

    try:
        zf = zipfile.ZipFile(p)
    except (zipfile.BadZipFile, OSError, ValueError, EOFError) as exc:
        raise InputError(f"not a readable EDS archive ({exc})", file=p) from None
    infos = zf.infolist()
    if len(infos) > MAX_MEMBERS:
        zf.close()
        raise InputError(f"EDS archive has {len(infos)} members (limit {MAX_MEMBERS})", file=p)
    names = {}
    for info in infos:
        name = info.filename.replace("\\", "/")
        if name.startswith("/") or ".." in name.split("/") or ":" in name.split("/")[0]:
            zf.close()
            raise InputError(f"EDS archive member with an unsafe path: {info.filename!r}",
                             file=p)
        names[name.lower()] = info
    return zf, names


def _read_member(p: Path, zf: zipfile.ZipFile, info: zipfile.ZipInfo) -> bytes:
    if info.file_size > _MAX_MEMBER:
        raise InputError(f"EDS member {info.filename!r} is too large ({info.file_size} bytes)",
                         file=p)
    try:
        with zf.open(info) as fh:
            data = fh.read(_MAX_MEMBER + 1)
    except (zipfile.BadZipFile, zlib.error, OSError, ValueError, EOFError,
            NotImplementedError, RuntimeError) as exc:
        raise InputError(f"cannot extract {info.filename!r} from the EDS archive ({exc})",
                         file=p) from None
    if len(data) > _MAX_MEMBER:
        raise InputError(f"EDS member {info.filename!r} extracts to more than {_MAX_MEMBER} "
                         "bytes", file=p)
    return data


def is_eds(path: str | Path) -> bool:
    """Whether ``path`` is a zip archive holding ``apldbio/sds/plate_setup.xml``."""
    try:
        with zipfile.ZipFile(path) as zf:
            return any(i.filename.replace("\\", "/").lower() == _SETUP for i in zf.infolist())
    except (zipfile.BadZipFile, OSError, ValueError, EOFError):
        return False


def _local(tag: Any) -> str:
    return str(tag).rsplit("}", 1)[-1]


def _find_text(el: Any, path: list[str]) -> str | None:
    cur = el
    for name in path:
        nxt = next((c for c in cur if _local(c.tag) == name), None)
        if nxt is None:
            return None
        cur = nxt
    return (cur.text or "").strip()


def _well_name(index: int, ncol: int) -> str:
    rows = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
    r, c = divmod(index, ncol)
    if not 0 <= r < 52:  # beyond a 1536-well plate: keep the index as written
        return f"#{index}"
    name = rows[r] if r < 26 else "A" + rows[r - 26]
    return f"{name}{c + 1}"


def read_eds(path: str | Path) -> pd.DataFrame:
    """The well table (:data:`preclin.qpcr.io.WELL_COLUMNS`) of an EDS file's plate setup.

    One row per well × detector with a task, in well order. ``cq`` is NaN with ``flag``
    :data:`NO_RESULTS_FLAG` (EDS analysis results are not read).
    """
    import defusedxml.ElementTree as DET
    from defusedxml import DefusedXmlException

    from .io import finish_wells

    p = Path(path)
    if not p.exists():
        raise InputError("file not found", file=p)
    zf, names = _members(p)
    with zf:
        if _SETUP not in names:
            raise InputError(f"not an EDS file: no {_SETUP} in the archive", file=p)
        raw = _read_member(p, zf, names[_SETUP])
    try:
        root = DET.fromstring(raw)
    except (DET.ParseError, DefusedXmlException, ValueError) as exc:
        raise InputError(f"{_SETUP}: malformed XML ({exc})", file=p) from None
    try:
        ncol = int(_find_text(root, ["Columns"]) or 12)
    except ValueError:
        ncol = 0
    if not 1 <= ncol <= 48:
        raise InputError(f"{_SETUP}: the plate's <Columns> is not a column count", file=p)
    samples: dict[int, str] = {}
    tasks: dict[int, list[tuple[str, str, float]]] = {}
    for fm in (c for c in root if _local(c.tag) == "FeatureMap"):
        fid = _find_text(fm, ["Feature", "Id"])
        for fv in (c for c in fm if _local(c.tag) == "FeatureValue"):
            try:
                idx = int(_find_text(fv, ["Index"]) or "")
            except ValueError:
                raise InputError(f"{_SETUP}: a FeatureValue without a well index",
                                 file=p) from None
            item = next((c for c in fv if _local(c.tag) == "FeatureItem"), None)
            if item is None:
                continue
            if fid == "sample":
                samples[idx] = _find_text(item, ["Sample", "Name"]) or ""
            elif fid == "detector-task":
                lst = next((c for c in item if _local(c.tag) == "DetectorTaskList"), None)
                for dt in (c for c in (lst if lst is not None else [])
                           if _local(c.tag) == "DetectorTask"):
                    task = (_find_text(dt, ["Task"]) or "").upper()
                    det = _find_text(dt, ["Detector", "Name"]) or ""
                    try:
                        conc = float(_find_text(dt, ["Concentration"]) or "nan")
                    except ValueError:
                        conc = float("nan")
                    tasks.setdefault(idx, []).append((task, det, conc))
    run = p.stem
    rows: list[dict[str, object]] = []
    for idx in sorted(tasks):
        for task, det, conc in tasks[idx]:
            t = _TASKS.get(task, "unknown")
            rows.append({"well": _well_name(idx, ncol), "sample": samples.get(idx, ""),
                         "target": det, "task": t,
                         "quantity": conc if t == "standard" else float("nan"),
                         "cq": float("nan"), "undetermined": True, "flag": NO_RESULTS_FLAG,
                         "cq_raw": "", "efficiency": float("nan"), "run": run,
                         "source_row": f"{_SETUP} FeatureValue Index {idx}"})
    if not rows:
        raise InputError(f"{_SETUP}: no well has a detector task", file=p)
    return finish_wells(rows)


def read_eds_traces(path: str | Path) -> pd.DataFrame:
    """Per-cycle multicomponent signal: columns ``well``, ``cycle``, ``dye``, ``signal``.

    ``well`` is the well name (row-major index → A1, A2, …, 96-well unless the plate
    setup says otherwise); ``cycle`` as written (0-based in StepOne/7500 files).
    """
    p = Path(path)
    if not p.exists():
        raise InputError("file not found", file=p)
    zf, names = _members(p)
    with zf:
        if _MULTI not in names:
            raise InputError(f"no {_MULTI} in the EDS archive (no raw traces)", file=p)
        text = _read_member(p, zf, names[_MULTI]).decode("utf-8", errors="replace")
        ncol = 12
        if _SETUP in names:
            m = re.search(rb"<Columns>(\d+)</Columns>", _read_member(p, zf, names[_SETUP]))
            ncol = int(m.group(1)) if m and 1 <= int(m.group(1)) <= 48 else 12
    recs = [(int(w), int(c), d.strip(), float(s)) for w, c, d, _mse, s in
            _RECORD.findall(text)]
    if not recs:
        raise InputError(f"{_MULTI}: no 'WELL CYCLE DYE MSE SIGNAL' records", file=p)
    df = pd.DataFrame(recs, columns=["index", "cycle", "dye", "signal"])
    df = df.drop_duplicates(["index", "cycle", "dye"], keep="first")
    df.insert(0, "well", [_well_name(i, ncol) for i in df["index"]])
    return df.drop(columns="index").reset_index(drop=True)
