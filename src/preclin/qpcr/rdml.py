"""RDML 1.0–1.4 reader (Real-time PCR Data Markup Language; Lefever et al. 2009).

RDML files are zip archives holding one XML document (``rdml_data.xml``; Bio-Rad CFX
Manager names it after the file, e.g. ``BioRad_qPCR_melt.xml``) or, rarely, the plain XML.
The archive is opened with bounds (members, total size, names) and the XML is parsed with
``defusedxml`` (no entities, no external references).

Vendor quirks handled: target efficiency written as percent (StepOne ``93.9``) or 0 for
"unknown" (LightCycler 96); Cq written as the last cycle (StepOne ``40.0``), ``100``
(LightCycler 96), −1 or left out for "no Cq" — all read as undetermined with a flag, the
text kept in ``cq_raw``.
"""

from __future__ import annotations

import math
import zipfile
import zlib
from pathlib import Path
from typing import Any

import pandas as pd

from ..errors import InputError
from .io import finish_wells, parse_cq

__all__ = ["read_rdml", "read_rdml_bytes", "read_rdml_quantities", "read_rdml_curves",
           "MAX_MEMBERS", "MAX_UNCOMPRESSED"]

#: at most this many members in an RDML archive
MAX_MEMBERS = 1000
#: at most this many bytes extracted from an RDML archive (all members read)
MAX_UNCOMPRESSED = 256 * 1024 * 1024

_TYPES = {"unkn": "unknown", "std": "standard", "ntc": "ntc", "nrt": "nrt", "nac": "nrt",
          "ntp": "unknown", "pos": "unknown", "opt": "unknown"}


def _xml_from_zip(p: Path) -> bytes:
    try:
        zf = zipfile.ZipFile(p)
    except (zipfile.BadZipFile, OSError, ValueError, EOFError) as exc:
        raise InputError(f"not a readable RDML archive ({exc})", file=p) from None
    with zf:
        infos = zf.infolist()
        if len(infos) > MAX_MEMBERS:
            raise InputError(f"RDML archive has {len(infos)} members (limit {MAX_MEMBERS})",
                             file=p)
        for info in infos:
            name = info.filename.replace("\\", "/")
            if name.startswith("/") or ".." in name.split("/") or ":" in name.split("/")[0]:
                raise InputError(f"RDML archive member with an unsafe path: {info.filename!r}",
                                 file=p)
        xml = [i for i in infos if i.filename.lower().endswith(".xml")]
        pick = [i for i in xml if i.filename.lower().endswith("rdml_data.xml")] or [
            i for i in xml if i.filename.lower() not in (
                "manifest.xml", "instrument_data.xml", "app_data.xml", "module_data.xml",
                "calculated_data.xml")]
        if not pick:
            raise InputError("RDML archive has no RDML XML member (rdml_data.xml)", file=p)
        info = pick[0]
        if info.file_size > MAX_UNCOMPRESSED:
            raise InputError(f"RDML member {info.filename!r} is too large "
                             f"({info.file_size} bytes)", file=p)
        try:
            with zf.open(info) as fh:
                data = fh.read(MAX_UNCOMPRESSED + 1)
        except (zipfile.BadZipFile, zlib.error, OSError, ValueError, EOFError,
                NotImplementedError, RuntimeError) as exc:
            raise InputError(f"cannot extract {info.filename!r} from the RDML archive "
                             f"({exc})", file=p) from None
        if len(data) > MAX_UNCOMPRESSED:
            raise InputError(f"RDML member {info.filename!r} extracts to more than "
                             f"{MAX_UNCOMPRESSED} bytes", file=p)
        return data


def read_rdml(path: str | Path) -> pd.DataFrame:
    """Read an RDML file (zip or plain XML) into the well table.

    Returns
    -------
    pandas.DataFrame
        :data:`preclin.qpcr.io.WELL_COLUMNS`: one row per react × target of every run, in
        document order; ``well`` is the react id, ``run`` ``experiment/run``.
    """
    p = Path(path)
    if not p.exists():
        raise InputError("file not found", file=p)
    try:
        with p.open("rb") as fh:
            head = fh.read(4)
    except OSError as exc:
        raise InputError(f"cannot read file ({exc.strerror})", file=p) from None
    if head.startswith(b"PK"):
        data = _xml_from_zip(p)
    else:
        if p.stat().st_size > MAX_UNCOMPRESSED:
            raise InputError("RDML file too large", file=p)
        data = p.read_bytes()
    return read_rdml_bytes(data, file=p)


def _local(tag: Any) -> str:
    return tag.rsplit("}", 1)[-1] if isinstance(tag, str) else ""


def _child(el: Any, name: str) -> Any:
    for c in el:
        if _local(c.tag) == name:
            return c
    return None


def _children(el: Any, name: str) -> list[Any]:
    return [c for c in el if _local(c.tag) == name]


def _text(el: Any, name: str) -> str | None:
    c = _child(el, name)
    return None if c is None or c.text is None else c.text.strip()


def _efficiency(text: str | None) -> float:
    """Amplification factor from RDML's amplificationEfficiency (percent, factor or 0)."""
    if text is None:
        return math.nan
    try:
        v = float(text)
    except ValueError:
        return math.nan
    if not math.isfinite(v) or v <= 0:
        return math.nan
    if v > 3:  # percent (StepOne writes 93.9)
        return 1 + v / 100
    if v <= 1:  # fraction
        return 1 + v
    return v


def _rdml_bytes(p: Path) -> bytes:
    if not p.exists():
        raise InputError("file not found", file=p)
    try:
        with p.open("rb") as fh:
            head = fh.read(4)
    except OSError as exc:
        raise InputError(f"cannot read file ({exc.strerror})", file=p) from None
    if head.startswith(b"PK"):
        return _xml_from_zip(p)
    if p.stat().st_size > MAX_UNCOMPRESSED:
        raise InputError("RDML file too large", file=p)
    return p.read_bytes()


def _root(p: Path) -> Any:
    import defusedxml.ElementTree as DET
    from defusedxml import DefusedXmlException

    try:
        root = DET.fromstring(_rdml_bytes(p))
    except DefusedXmlException as exc:
        raise InputError(f"RDML XML refused: {type(exc).__name__}", file=p) from None
    except InputError:
        raise
    except Exception as exc:  # ParseError and friends
        raise InputError(f"RDML XML cannot be parsed ({' '.join(str(exc).split())})",
                         file=p) from None
    if _local(root.tag) != "rdml":
        raise InputError(f"not an RDML document (root element <{_local(root.tag)}>)", file=p)
    return root


def read_rdml_curves(path: str | Path) -> pd.DataFrame:
    """Raw amplification curves of an RDML file (``<adp>``: cycle, fluorescence).

    Returns ``run``, ``well`` (react id), ``sample``, ``target``, ``cycle``, ``fluor``: one
    row per react × target × cycle, in document order (empty when the file has none).
    """
    p = Path(path)
    root = _root(p)
    rows = []
    for exp in _children(root, "experiment"):
        for run in _children(exp, "run"):
            rname = f"{exp.get('id', '')}/{run.get('id', '')}"
            for react in _children(run, "react"):
                smp = _child(react, "sample")
                for d in _children(react, "data"):
                    tar = _child(d, "tar")
                    for adp in _children(d, "adp"):
                        try:
                            cyc = float(_text(adp, "cyc") or "nan")
                            fl = float(_text(adp, "fluor") or "nan")
                        except ValueError:
                            raise InputError("an <adp> cycle or fluorescence is not a number",
                                             file=p, location=f"react {react.get('id', '')}"
                                             ) from None
                        rows.append({"run": rname, "well": react.get("id", ""),
                                     "sample": smp.get("id", "") if smp is not None else "",
                                     "target": tar.get("id", "") if tar is not None else "",
                                     "cycle": cyc, "fluor": fl})
    return pd.DataFrame(rows, columns=["run", "well", "sample", "target", "cycle", "fluor"])


def read_rdml_quantities(path: str | Path) -> pd.DataFrame:
    """The quantities an RDML file stores per react × target (``<N0>``, ``<Ncopy>``).

    Written by LinRegPCR / rdml-tools instead of (or beside) a Cq. Returns ``run``,
    ``well`` (react id), ``sample``, ``target``, ``n0``, ``ncopy`` (NaN when absent), one
    row per react × target in document order.
    """
    p = Path(path)
    root = _root(p)

    def num(el: Any, name: str) -> float:
        try:
            return float(_text(el, name) or "nan")
        except ValueError:
            return math.nan

    rows = []
    for exp in _children(root, "experiment"):
        for run in _children(exp, "run"):
            for react in _children(run, "react"):
                smp = _child(react, "sample")
                for d in _children(react, "data"):
                    tar = _child(d, "tar")
                    rows.append({"run": f"{exp.get('id', '')}/{run.get('id', '')}",
                                 "well": react.get("id", ""),
                                 "sample": smp.get("id", "") if smp is not None else "",
                                 "target": tar.get("id", "") if tar is not None else "",
                                 "n0": num(d, "N0"), "ncopy": num(d, "Ncopy")})
    return pd.DataFrame(rows, columns=["run", "well", "sample", "target", "n0", "ncopy"])


def read_rdml_bytes(data: bytes, *, file: str | Path | None = None) -> pd.DataFrame:
    """Parse RDML XML bytes (see :func:`read_rdml`)."""
    import defusedxml.ElementTree as DET
    from defusedxml import DefusedXmlException

    try:
        root = DET.fromstring(data)
    except DefusedXmlException as exc:
        raise InputError(f"RDML XML refused: {type(exc).__name__}", file=file) from None
    except Exception as exc:  # ParseError and friends
        raise InputError(f"RDML XML cannot be parsed ({' '.join(str(exc).split())})",
                         file=file) from None
    if _local(root.tag) != "rdml":
        raise InputError(f"not an RDML document (root element <{_local(root.tag)}>)",
                         file=file)
    samples: dict[str, tuple[str, float]] = {}
    for s in _children(root, "sample"):
        sid = s.get("id", "")
        stype = _text(s, "type") or "unkn"
        q = math.nan
        qel = _child(s, "quantity")
        if qel is not None:
            try:
                q = float(_text(qel, "value") or "nan")
            except ValueError:
                q = math.nan
        samples[sid] = (stype, q)
    eff = {t.get("id", ""): _efficiency(_text(t, "amplificationEfficiency"))
           for t in _children(root, "target")}
    rows: list[dict[str, object]] = []
    for exp in _children(root, "experiment"):
        eid = exp.get("id", "")
        for run in _children(exp, "run"):
            rid = run.get("id", "")
            reacts = _children(run, "react")
            n_cycles = max((len(_children(d, "adp")) for r in reacts
                            for d in _children(r, "data")), default=0)
            max_cq = float(n_cycles)
            for react in reacts:
                well = react.get("id", "")
                sel = _child(react, "sample")
                sid = sel.get("id", "") if sel is not None else ""
                stype, squant = samples.get(sid, ("unkn", math.nan))
                for d in _children(react, "data"):
                    tel = _child(d, "tar")
                    tid = tel.get("id", "") if tel is not None else ""
                    loc = f"experiment[@id='{eid}']/run[@id='{rid}']/react[@id='{well}']"
                    if not tid:
                        raise InputError("react data without a target (<tar id>)", file=file,
                                         location=loc)
                    cq_text = _text(d, "cq")
                    try:
                        cq, undet, flag = parse_cq(cq_text, max_cq=100.0)
                    except ValueError as exc:
                        raise InputError(str(exc), file=file, location=loc) from None
                    if n_cycles and cq == max_cq:  # the last cycle written for "no Cq"
                        cq, undet = math.nan, True
                        flag = f"undetermined (Cq stored as {cq_text} = last cycle)"
                    elif n_cycles and cq > max_cq:
                        flag = f"Cq {cq_text} beyond the last cycle ({n_cycles})"
                    task = _TYPES.get(stype, "unknown")
                    q = squant if task == "standard" else math.nan
                    if task == "standard" and math.isnan(q):
                        qd = _child(d, "quant")
                        if qd is not None and qd.text:
                            try:
                                q = float(qd.text)
                            except ValueError:
                                q = math.nan
                    note = flag if stype in _TYPES and _TYPES[stype] != "unknown" or \
                        stype == "unkn" else "; ".join(x for x in (f"RDML type {stype}",
                                                                   flag) if x)
                    rows.append({"well": well, "sample": sid, "target": tid, "task": task,
                                 "cq": cq, "quantity": q, "undetermined": undet,
                                 "flag": note, "cq_raw": cq_text or "",
                                 "efficiency": eff.get(tid, math.nan),
                                 "run": f"{eid}/{rid}", "source_row": loc})
    if not rows:
        raise InputError("RDML document has no reactions with data", file=file)
    return finish_wells(rows)
