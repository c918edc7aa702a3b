"""Read FCS 2.0/3.0/3.1/3.2 list-mode files into :class:`Sample` objects.

The HEADER and TEXT segments are parsed here byte by byte and the DATA segment is decoded
with numpy straight into one ``(n_events, n_channels)`` float32 array. This reader exists
beside ``flowio`` (used by :func:`write_fcs`) because real files break the standard in ways
flowio rejects or cannot decode (measured on the 35-file vendor corpus, see
``docs/dependencies.md``):

- blank HEADER offsets (FCS 3.x files > 99,999,999 bytes) and HEADER/TEXT offsets that
  disagree — the offsets consistent with the file are used and a warning names both;
- DATA end offsets one byte past the segment;
- integer widths other than 8/16/32 bits (24-bit packed, 10-bit values in 16-bit words,
  mixed widths in one record) and bits above ``$PnR`` that must be masked off;
- several data sets in one file (``$NEXTDATA``, Beckman Coulter LMD): every data set is
  readable (:func:`read_datasets`);
- TEXT in Latin-1, duplicate keywords, trailing bytes after the last delimiter.

Everything else that is wrong with a file raises :class:`~preclin.errors.InputError` naming
the file, the place (HEADER bytes, keyword, data set) and the problem.

Preprocessing (``preprocess=True``, the default, as Gating-ML 2.0 and FlowJo assume):
log-amplified integer channels (``$PnE`` = f1,f2 with f1 > 0; f2 = 0 read as 1) become
``f2 * 10**(f1 * x / $PnR)``; linear channels are divided by ``$PnG``; the time channel is
multiplied by ``$TIMESTEP``. See ``docs/methods/flow.md``.
"""

from __future__ import annotations

import os
import re
import warnings
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType
from typing import Any

import numpy as np

from ..errors import InputError

__all__ = [
    "Sample",
    "read_fcs",
    "read_datasets",
    "read_text",
    "write_fcs",
    "FCSWarning",
]

_MAX_PAR = 10_000
_HEADER_LEN = 58


class FCSWarning(UserWarning):
    """A quirk of an FCS file was repaired while reading it."""


@dataclass(frozen=True, eq=False)
class Sample:
    """One FCS data set: events and the keywords that describe them.

    Attributes
    ----------
    events
        float32 array ``(n_events, n_channels)`` in file order (preprocessed unless read with
        ``preprocess=False``).
    channels
        ``$PnN`` short names, one per column.
    markers
        ``$PnS`` names (the stain or antigen, e.g. ``CD33 PE``), ``""`` where absent.
    metadata
        Every TEXT keyword, upper-case with its ``$`` (``metadata["$CYT"]``), read-only.
    file
        The file read (``None`` for in-memory data).
    dataset
        Index of the data set in the file (0 for the first; LMD files often hold two).
    version
        FCS version from the HEADER, e.g. ``"FCS3.1"``.
    notes
        Quirks repaired while reading (also issued as :class:`FCSWarning`).
    """

    events: np.ndarray
    channels: tuple[str, ...]
    markers: tuple[str, ...]
    metadata: Mapping[str, str]
    file: Path | None = None
    dataset: int = 0
    version: str = "FCS3.1"
    notes: tuple[str, ...] = field(default=())

    @property
    def n_events(self) -> int:
        """Number of events (rows)."""
        return int(self.events.shape[0])

    @property
    def name(self) -> str:
        """File name (with the data set index when it is not the first)."""
        base = self.file.name if self.file is not None else "<memory>"
        return base if self.dataset == 0 else f"{base}[{self.dataset}]"

    def channel_index(self, name: str) -> int:
        """Column of a channel given by ``$PnN``, ``$PnS`` or a rewritten form of either.

        Exact ``$PnN`` matches win, then exact ``$PnS``, then case-insensitive matches
        where ``/``, ``_``, spaces and ``-`` are treated alike (FlowJo rewrites ``/``).

        Raises
        ------
        InputError
            When no channel or more than one channel matches.
        """
        return _match_channel(name, self.channels, self.markers, file=self.file)

    def spillover(self) -> tuple[tuple[str, ...], np.ndarray] | None:
        """The ``$SPILLOVER`` (or ``SPILL``/``$SPILL``) matrix of the file, or ``None``."""
        from .compensate import parse_spill_keyword

        for key in ("$SPILLOVER", "$SPILL", "SPILL", "SPILLOVER", "$COMP"):
            if key in self.metadata and self.metadata[key].strip():
                return parse_spill_keyword(self.metadata[key], file=self.file,
                                           keyword=key)
        return None

    def with_events(self, events: np.ndarray, *, note: str | None = None) -> Sample:
        """A copy of this sample with other events (same channels), e.g. compensated."""
        if events.shape[1] != len(self.channels):
            raise ValueError("events must keep the sample's channels")
        notes = self.notes + ((note,) if note else ())
        return Sample(events=events, channels=self.channels, markers=self.markers,
                      metadata=self.metadata, file=self.file, dataset=self.dataset,
                      version=self.version, notes=notes)

    def __repr__(self) -> str:
        return (f"Sample({self.name!r}, {self.n_events} events x {len(self.channels)} "
                f"channels, {self.version})")


def _norm_name(s: str) -> str:
    return re.sub(r"[\s/_\-]+", "_", s.strip().lower())


def _match_channel(name: str, channels: tuple[str, ...], markers: tuple[str, ...], *,
                   file: Path | str | None = None) -> int:
    for pool in (channels, markers):
        hits = [i for i, c in enumerate(pool) if c == name]
        if len(hits) == 1:
            return hits[0]
    key = _norm_name(name)
    for pool in (channels, markers):
        hits = [i for i, c in enumerate(pool) if c and _norm_name(c) == key]
        if len(hits) == 1:
            return hits[0]
        if len(hits) > 1:
            raise InputError(f"channel {name!r} is ambiguous: it matches "
                             f"{[channels[i] for i in hits]}", file=file)
    import difflib

    close = difflib.get_close_matches(name, [*channels, *[m for m in markers if m]], n=3)
    hint = f"; did you mean {', '.join(repr(c) for c in close)}?" if close else ""
    raise InputError(f"no channel or marker named {name!r} (channels: "
                     f"{', '.join(channels)}){hint}", file=file)


# ----------------------------------------------------------------------------- parsing


@dataclass
class _Header:
    version: str
    text: tuple[int | None, int | None]
    data: tuple[int | None, int | None]
    analysis: tuple[int | None, int | None]


def _parse_header(raw: bytes, file: Path, base: int) -> _Header:
    where = f"data set at byte {base}: HEADER" if base else "HEADER"
    if len(raw) < _HEADER_LEN:
        raise InputError(f"not an FCS file: {len(raw)} bytes where the 58-byte HEADER "
                         f"should be (file truncated or empty)", file=file, location=where)
    if raw[:3] != b"FCS":
        raise InputError("not an FCS file: it does not start with 'FCS'", file=file,
                         location=where)
    version = raw[:6].decode("latin-1")
    if not re.fullmatch(r"FCS[1-9]\.\d", version):
        raise InputError(f"unknown FCS version {version!r}", file=file, location=where)

    def offset(lo: int) -> int | None:
        field_ = raw[lo:lo + 8].strip()
        if not field_:
            return None
        if not field_.isdigit():
            raise InputError(f"bytes {lo}-{lo + 7} should hold an offset, found "
                             f"{field_.decode('latin-1')!r}", file=file, location=where)
        return int(field_)

    return _Header(version, (offset(10), offset(18)), (offset(26), offset(34)),
                   (offset(42), offset(50)))


def _parse_text(seg: bytes, file: Path, location: str) -> tuple[dict[str, str], list[str]]:
    """Keyword/value pairs of a TEXT segment (keys upper-cased), plus repair notes."""
    notes: list[str] = []
    if len(seg) < 2:
        raise InputError("TEXT segment is empty", file=file, location=location)
    try:
        text = seg.decode("utf-8")
    except UnicodeDecodeError:
        text = seg.decode("latin-1")
    delim = text[0]
    body = text[1:].rstrip(" \x00\r\n\t") if text[1:].rstrip(" \x00\r\n\t").endswith(
        delim) else text[1:]
    tokens = _split_escaped(body, delim)
    if len(tokens) % 2 == 1:
        plain = body[:-1].split(delim) if body.endswith(delim) else body.split(delim)
        if len(plain) % 2 == 0:
            # the writer left values empty ("/$COM//$SRC//") instead of escaping
            notes.append("TEXT has empty keyword values (doubled delimiters read as empty "
                         "values, not as escaped delimiters)")
            tokens = plain
        elif tokens[-1].strip() == "":
            tokens = tokens[:-1]
        else:
            notes.append(f"keyword {tokens[-1][:30]!r} at the end of TEXT has no value "
                         "and was ignored")
            tokens = tokens[:-1]
    out: dict[str, str] = {}
    for k, v in zip(tokens[::2], tokens[1::2], strict=True):
        key = k.strip().upper()
        if not key:
            continue
        if key in out and out[key] != v:
            notes.append(f"keyword {key} appears twice with different values "
                         f"({out[key][:20]!r}, {v[:20]!r}); the first is used")
            continue
        out[key] = v
    return out, notes


def _split_escaped(body: str, delim: str) -> list[str]:
    """Split on single delimiters; a doubled delimiter is a literal one (FCS 3.1)."""
    run = len(body) - len(body.rstrip(delim))
    if run % 2 == 1:  # an odd run at the end: the last delimiter closes the segment
        body = body[:-1]
    placeholder = "\x00" if delim != "\x00" else "\x01"
    return [t.replace(placeholder, delim)
            for t in body.replace(delim * 2, placeholder).split(delim)]


def _kw_int(text: Mapping[str, str], key: str, file: Path, loc: str, *,
            required: bool = True) -> int | None:
    val = text.get(key)
    if val is None or not val.strip():
        if required:
            raise InputError(f"required keyword {key} is missing", file=file, location=loc)
        return None
    try:
        return int(val.strip())
    except ValueError:
        try:
            f = float(val.strip())
        except ValueError:
            f = float("nan")
        if f.is_integer():
            return int(f)
        raise InputError(f"keyword {key} should be a whole number, found {val[:30]!r}",
                         file=file, location=loc) from None


def _kw_float(text: Mapping[str, str], key: str, file: Path, loc: str,
              default: float) -> float:
    val = text.get(key)
    if val is None or not val.strip():
        return default
    try:
        out = float(val.strip())
    except ValueError:
        raise InputError(f"keyword {key} should be a number, found {val[:30]!r}",
                         file=file, location=loc) from None
    if not np.isfinite(out):
        raise InputError(f"keyword {key} is not finite ({val[:30]!r})", file=file,
                         location=loc)
    return out


@dataclass
class _Layout:
    """What the TEXT segment says about one data set."""

    text: dict[str, str]
    notes: list[str]
    n_par: int
    n_tot: int | None
    datatype: str
    order: str
    widths: list[int]          # bits per value as declared ($PnB)
    ranges: list[float]        # $PnR
    names: tuple[str, ...]
    markers: tuple[str, ...]


def _layout(text: dict[str, str], notes: list[str], file: Path, loc: str) -> _Layout:
    n_par = _kw_int(text, "$PAR", file, loc)
    assert n_par is not None
    if not 1 <= n_par <= _MAX_PAR:
        raise InputError(f"$PAR = {n_par} is not a plausible number of parameters",
                         file=file, location=loc)
    n_tot = _kw_int(text, "$TOT", file, loc, required=False)
    if n_tot is not None and n_tot < 0:
        raise InputError(f"$TOT = {n_tot} is negative", file=file, location=loc)
    mode = text.get("$MODE", "L").strip().upper() or "L"
    if mode != "L":
        raise InputError(f"$MODE {mode!r}: only list-mode data ('L') can be read "
                         "(histogram modes C/U were removed in FCS 3.1)", file=file,
                         location=loc)
    datatype = text.get("$DATATYPE", "").strip().upper()
    if datatype not in {"I", "F", "D", "A"}:
        raise InputError(f"$DATATYPE {datatype!r} is not one of I, F, D, A", file=file,
                         location=loc)
    byteord = re.sub(r"\s", "", text.get("$BYTEORD", ""))
    if byteord in {"1,2,3,4", "1,2", "1", "1,2,3", "1,2,3,4,5,6,7,8"}:
        order = "<"
    elif byteord in {"4,3,2,1", "2,1", "3,2,1", "8,7,6,5,4,3,2,1"}:
        order = ">"
    elif datatype == "A":
        order = "<"
    else:
        raise InputError(f"$BYTEORD {byteord!r} is not a supported byte order "
                         "(little- or big-endian)", file=file, location=loc)
    widths: list[int] = []
    ranges: list[float] = []
    names: list[str] = []
    markers: list[str] = []
    for i in range(1, n_par + 1):
        pb = text.get(f"$P{i}B", "").strip()
        if pb == "*":
            raise InputError(f"$P{i}B '*' (delimited ASCII values) is not supported",
                             file=file, location=loc)
        b = _kw_int(text, f"$P{i}B", file, loc)
        assert b is not None
        if not 1 <= b <= 64:
            raise InputError(f"$P{i}B = {b} bits is not a supported value width",
                             file=file, location=loc)
        widths.append(b)
        r = _kw_float(text, f"$P{i}R", file, loc, default=float("nan"))
        ranges.append(r)
        n = text.get(f"$P{i}N", "").strip()
        names.append(n or f"P{i}")
        markers.append(text.get(f"$P{i}S", "").strip())
    if len(set(names)) != len(names):
        seen: dict[str, int] = {}
        fixed = []
        for n in names:
            seen[n] = seen.get(n, 0) + 1
            fixed.append(n if seen[n] == 1 else f"{n}_{seen[n]}")
        notes.append("duplicate $PnN names were made unique with a _2, _3 suffix")
        names = fixed
    return _Layout(text, notes, n_par, n_tot, datatype, order, widths, ranges,
                   tuple(names), tuple(markers))


def _value_bytes(lay: _Layout, file: Path, loc: str) -> list[int]:
    """Storage size in bytes of each parameter's values."""
    if lay.datatype == "F":
        if any(w != 32 for w in lay.widths):
            lay.notes.append("$DATATYPE F with $PnB other than 32: read as 32-bit floats")
        return [4] * lay.n_par
    if lay.datatype == "D":
        if any(w != 64 for w in lay.widths):
            lay.notes.append("$DATATYPE D with $PnB other than 64: read as 64-bit floats")
        return [8] * lay.n_par
    if lay.datatype == "A":
        return [w for w in lay.widths]  # characters per value
    out = []
    for w in lay.widths:
        if w % 8 == 0:
            out.append(w // 8)
        else:  # e.g. 10-bit values (Beckman Coulter FCS 2.0) stored in 16-bit words
            out.append(1 if w < 8 else 2 if w <= 16 else 4)
    return out


def _masks(lay: _Layout) -> list[int | None]:
    """Bit masks for integer parameters whose $PnR is below 2**$PnB (None: no mask)."""
    out: list[int | None] = []
    for w, r in zip(lay.widths, lay.ranges, strict=True):
        if not np.isfinite(r) or r < 1:
            out.append(None)
            continue
        bits = int(np.ceil(np.log2(r))) if r > 1 else 1
        bits = min(bits, 64)
        # bits above the declared range carry other information (FCS 3.1 $PnR)
        out.append((1 << bits) - 1 if bits < max(w, 8 * ((w + 7) // 8)) else None)
    return out


def _choose_data(header: _Header, lay: _Layout, text_end: int, size: int, base: int,
                 nbytes_event: int, file: Path, loc: str) -> tuple[int, int]:
    """Start (absolute) and event count of the DATA segment, repairing offsets."""
    t_start = _kw_int(lay.text, "$BEGINDATA", file, loc, required=False)
    t_end = _kw_int(lay.text, "$ENDDATA", file, loc, required=False)
    h_start, h_end = header.data
    if h_start is None or h_end is None:
        lay.notes.append("HEADER DATA offsets are blank; used $BEGINDATA/$ENDDATA from TEXT")
        h_start = h_end = None
    elif h_start == 0 and h_end == 0:
        h_start = h_end = None  # large-file convention (FCS 3.1): look in TEXT
    if t_start == 0 and t_end == 0:
        t_start = t_end = None
    avail = size - base  # bytes from the data set's start to the end of the file

    def usable(start: int | None) -> bool:
        return start is not None and start > text_end and start < avail

    candidates: list[tuple[str, int, int | None]] = []
    if h_start is not None:
        candidates.append(("HEADER", h_start, h_end))
    if t_start is not None:
        candidates.append(("TEXT", t_start, t_end))
    if not candidates:
        raise InputError("no DATA offsets: the HEADER fields are blank and TEXT has no "
                         "$BEGINDATA/$ENDDATA", file=file, location=loc)
    starts = {c[1] for c in candidates}
    if len(starts) > 1:
        ok = [c for c in candidates if usable(c[1])]
        follows = [c for c in ok if c[1] == text_end + 1]
        pick = follows[0] if follows else (ok[0] if ok else candidates[0])
        other = [c for c in candidates if c is not pick][0]
        lay.notes.append(f"DATA start offsets disagree: {other[1]} ({other[0]}) vs "
                         f"{pick[1]} ({pick[0]}); used {pick[1]} from {pick[0]}, which "
                         "is consistent with the TEXT segment and the file size")
        name, start, end = pick
    else:
        # same start: the end offsets may still disagree
        name, start, end = candidates[0]
        ends = [c[2] for c in candidates if c[2] is not None]
        if len(set(ends)) > 1:
            fitting = [e for e in ends if e < avail]
            end = min(fitting, default=min(ends))
            lay.notes.append(f"DATA end offsets disagree: {sorted(set(ends))}; used {end}, "
                             "the one inside the file")
    if start <= text_end and base == 0 and start < _HEADER_LEN:
        raise InputError(f"DATA segment starts at byte {start}, inside the HEADER",
                         file=file, location=loc)
    if start >= avail:
        raise InputError(f"DATA segment starts at byte {start + base} but the file has only "
                         f"{size} bytes (file truncated?)", file=file, location=loc)
    declared = None if end is None else end - start + 1
    if lay.n_tot is not None:
        n = lay.n_tot
        need = n * nbytes_event
        if declared is not None and declared != need:
            if declared == need + 1:
                lay.notes.append("DATA end offset points one byte past the data (off by "
                                 "one); read the declared $TOT events")
            elif declared > need:
                lay.notes.append(f"DATA segment is {declared} bytes, more than $TOT x record "
                                 f"size = {need}; extra bytes ignored")
            elif declared < need and start + need > avail:
                raise InputError(f"DATA segment holds {declared} bytes but $TOT = {n} events "
                                 f"x {nbytes_event} bytes need {need}", file=file,
                                 location=loc)
    else:
        if declared is None:
            raise InputError("$TOT is missing and the DATA end offset is unknown",
                             file=file, location=loc)
        n = declared // nbytes_event
        lay.notes.append(f"$TOT missing: {n} events computed from the DATA segment size")
    if start + n * nbytes_event > avail:
        raise InputError(f"DATA segment (bytes {start + base}-{start + base + n * nbytes_event - 1}"
                         f") runs past the end of the file ({size} bytes): file truncated",
                         file=file, location=loc)
    return base + start, n


def _decode(fh: Any, start: int, n: int, lay: _Layout, sizes: list[int],
            preprocess: bool, dtype: type[np.floating[Any]], file: Path,
            loc: str) -> np.ndarray:
    p = lay.n_par
    rec = sum(sizes)
    fh.seek(start)
    out: np.ndarray
    if lay.datatype in {"F", "D"}:
        code = {"F": "f4", "D": "f8"}[lay.datatype]
        raw = np.fromfile(fh, dtype=lay.order + code, count=n * p)
        if raw.size != n * p:
            raise InputError("DATA segment shorter than declared", file=file, location=loc)
        if raw.dtype.byteorder not in ("=", "|") and raw.dtype.byteorder != (
                "<" if np.little_endian else ">"):
            raw.byteswap(inplace=True)  # in place: no second copy
            raw = raw.view(raw.dtype.newbyteorder())
        out = raw.reshape(n, p)
        if out.dtype != dtype:
            out = out.astype(dtype)
    elif lay.datatype == "A":
        buf = fh.read(n * rec)
        mat = np.frombuffer(buf, dtype=np.uint8).reshape(n, rec)
        out = np.empty((n, p), dtype=dtype)
        off = 0
        for j, w in enumerate(sizes):
            col = mat[:, off:off + w].copy().view(f"S{w}").ravel()
            try:
                out[:, j] = col.astype(np.float64)
            except ValueError:
                raise InputError(f"ASCII DATA of parameter {j + 1} is not numeric",
                                 file=file, location=loc) from None
            off += w
    else:
        masks = _masks(lay)
        uniform = len(set(sizes)) == 1 and sizes[0] in (1, 2, 4, 8)
        if uniform:
            code = {1: "u1", 2: "u2", 4: "u4", 8: "u8"}[sizes[0]]
            raw = np.fromfile(fh, dtype=(lay.order if sizes[0] > 1 else "|") + code,
                              count=n * p)
            if raw.size != n * p:
                raise InputError("DATA segment shorter than declared", file=file,
                                 location=loc)
            ints = raw.reshape(n, p)
            if any(m is not None for m in masks):
                mvec = np.array([m if m is not None else -1 for m in masks], dtype=np.int64)
                ints = ints & mvec.astype(ints.dtype)
            out = ints.astype(dtype)
        else:
            buf = fh.read(n * rec)
            if len(buf) != n * rec:
                raise InputError("DATA segment shorter than declared", file=file,
                                 location=loc)
            mat = np.frombuffer(buf, dtype=np.uint8).reshape(n, rec)
            out = np.empty((n, p), dtype=dtype)
            off = 0
            for j, w in enumerate(sizes):
                cols = mat[:, off:off + w].astype(np.uint64)
                order = range(w) if lay.order == "<" else range(w - 1, -1, -1)
                val = np.zeros(n, dtype=np.uint64)
                for shift, k in enumerate(order):
                    val |= cols[:, k] << np.uint64(8 * shift)
                mask_j = masks[j]
                if mask_j is not None:
                    val &= np.uint64(mask_j)
                out[:, j] = val
                off += w
    if preprocess:
        _preprocess(out, lay, file, loc)
    return out


def _preprocess(out: np.ndarray, lay: _Layout, file: Path, loc: str) -> None:
    """Log decades, gain and time step, in place (float64 arithmetic per column)."""
    text = lay.text
    time_idx = [j for j, n in enumerate(lay.names) if n.strip().lower() == "time"]
    for j in range(lay.n_par):
        if j in time_idx:
            continue
        pe = text.get(f"$P{j + 1}E", "0,0")
        decades, log0 = 0.0, 0.0
        try:
            parts = [float(x) for x in pe.replace(" ", "").split(",")]
            if len(parts) == 2:
                decades, log0 = parts
        except ValueError:
            lay.notes.append(f"$P{j + 1}E {pe[:20]!r} is not 'f1,f2': read as linear")
        if decades > 0 and lay.datatype == "I":
            if log0 <= 0:
                log0 = 1.0
            rng = lay.ranges[j]
            if not np.isfinite(rng) or rng <= 0:
                raise InputError(f"$P{j + 1}R is missing or invalid for a log channel",
                                 file=file, location=loc)
            out[:, j] = log0 * 10.0 ** (decades * out[:, j].astype(np.float64) / rng)
            continue
        gain = _kw_float(text, f"$P{j + 1}G", file, loc, default=1.0)
        if gain not in (0.0, 1.0):
            out[:, j] = out[:, j].astype(np.float64) / gain
    if time_idx and "$TIMESTEP" in text:
        ts = text["$TIMESTEP"].strip()
        try:
            step = float(ts) if ts else 1.0
        except ValueError:
            lay.notes.append(f"$TIMESTEP {ts[:20]!r} is not a number: time left unscaled")
            step = 1.0
        if np.isfinite(step) and step not in (0.0, 1.0):
            for j in time_idx:
                out[:, j] = out[:, j].astype(np.float64) * step


def _datasets(fh: Any, file: Path, size: int, *, only_text: bool, which: int | None,
              preprocess: bool, dtype: type[np.floating[Any]]) -> list[Sample]:
    samples: list[Sample] = []
    base = 0
    seen: set[int] = set()
    index = 0
    while True:
        loc = f"data set {index + 1}" if index else "HEADER"
        fh.seek(base)
        header = _parse_header(fh.read(_HEADER_LEN), file, base)
        t0, t1 = header.text
        if t0 is None or t1 is None or t0 < _HEADER_LEN or t1 < t0 or base + t1 >= size:
            raise InputError(f"TEXT segment offsets {t0}-{t1} are invalid for a file of "
                             f"{size} bytes", file=file, location=loc)
        fh.seek(base + t0)
        text, notes = _parse_text(fh.read(t1 - t0 + 1), file,
                                  f"{'data set ' + str(index + 1) + ' ' if index else ''}TEXT")
        tloc = f"data set {index + 1} TEXT" if index else "TEXT"
        nextdata = _kw_int(text, "$NEXTDATA", file, tloc, required=False) or 0
        if which is None or which == index:
            lay = _layout(text, notes, file, tloc)
            sizes = _value_bytes(lay, file, tloc)
            if only_text:
                events = np.empty((0, lay.n_par), dtype=dtype)
            else:
                start, n = _choose_data(header, lay, t1, size, base, sum(sizes), file, tloc)
                events = _decode(fh, start, n, lay, sizes, preprocess, dtype, file, tloc)
            for note in lay.notes:
                warnings.warn(f"{file.name}: {note}", FCSWarning, stacklevel=4)
            samples.append(Sample(events=events, channels=lay.names, markers=lay.markers,
                                  metadata=MappingProxyType(text), file=file, dataset=index,
                                  version=header.version, notes=tuple(lay.notes)))
            if which is not None:
                break
        if nextdata <= 0:
            break
        seen.add(base)
        base += nextdata
        index += 1
        if base in seen or base + _HEADER_LEN > size:
            if base + _HEADER_LEN > size:
                warnings.warn(f"{file.name}: $NEXTDATA points past the end of the file; "
                              "later data sets ignored", FCSWarning, stacklevel=3)
            break
    if which is not None and not samples:
        raise InputError(f"data set {which} requested but the file holds {index + 1}",
                         file=file)
    return samples


def _open_and_run(path: str | os.PathLike[str], **kw: Any) -> list[Sample]:
    file = Path(path)
    try:
        size = file.stat().st_size
        fh = open(file, "rb")  # noqa: SIM115 - closed below
    except OSError as exc:
        raise InputError(f"cannot open: {exc.strerror or exc}", file=file) from None
    with fh:
        try:
            return _datasets(fh, file, size, **kw)
        except InputError:
            raise
        except (ValueError, OverflowError, MemoryError, OSError) as exc:
            # a last guard: an inconsistency the checks above did not name
            raise InputError(f"cannot decode the file ({type(exc).__name__}: {exc})",
                             file=file) from None


def read_fcs(path: str | os.PathLike[str], *, dataset: int = 0, preprocess: bool = True,
             dtype: type[np.floating[Any]] = np.float32) -> Sample:
    """Read one data set of an FCS file.

    Parameters
    ----------
    path
        The FCS (or LMD) file.
    dataset
        Which data set (0-based) of a multi-data-set file; see :func:`read_datasets`.
    preprocess
        Apply log decades, gain and time step (see the module docstring).
    dtype
        float32 (default, half the memory) or float64.

    Returns
    -------
    Sample

    Raises
    ------
    InputError
        The file is not a readable FCS file; the message names file, place and problem.

    Warns
    -----
    FCSWarning
        For each quirk repaired (offsets, off-by-one, masks, duplicate keywords), and when
        the file holds more data sets than the one read.
    """
    if not isinstance(dataset, int) or dataset < 0:
        raise InputError(f"dataset must be a whole number >= 0, got {dataset!r}",
                         file=Path(path))
    samples = _open_and_run(path, only_text=False, which=dataset, preprocess=preprocess,
                            dtype=dtype)
    s = samples[0]
    nxt = _kw_int(s.metadata, "$NEXTDATA", Path(path), "TEXT", required=False) or 0
    if dataset == 0 and nxt > 0:
        warnings.warn(f"{Path(path).name} holds more than one data set; read the first "
                      "(use read_datasets for all)", FCSWarning, stacklevel=2)
    return s


def read_datasets(path: str | os.PathLike[str], *, preprocess: bool = True,
                  dtype: type[np.floating[Any]] = np.float32) -> list[Sample]:
    """Read every data set of a file (following ``$NEXTDATA``), in file order."""
    return _open_and_run(path, only_text=False, which=None, preprocess=preprocess,
                         dtype=dtype)


def read_text(path: str | os.PathLike[str]) -> list[dict[str, str]]:
    """The TEXT keywords of every data set, without reading events."""
    return [dict(s.metadata) for s in _open_and_run(path, only_text=True, which=None,
                                                    preprocess=False, dtype=np.float32)]


def write_fcs(path: str | os.PathLike[str], events: np.ndarray, channels: Iterable[str],
              *, markers: Iterable[str] | None = None,
              metadata: Mapping[str, str] | None = None) -> Path:
    """Write events as an FCS 3.1 file (32-bit floats) with ``flowio``.

    Parameters
    ----------
    path
        Output file.
    events
        ``(n_events, n_channels)`` array.
    channels
        ``$PnN`` names.
    markers
        ``$PnS`` names (optional).
    metadata
        Extra TEXT keywords, e.g. ``{"SPILL": "..."}`` (keys without ``$``).
    """
    import flowio

    arr = np.ascontiguousarray(events, dtype=np.float32)
    chans = list(channels)
    if arr.ndim != 2 or arr.shape[1] != len(chans):
        raise InputError(f"events have shape {arr.shape} but {len(chans)} channel names "
                         "were given")
    out = Path(path)
    meta = {str(k).lstrip("$").lower(): str(v) for k, v in (metadata or {}).items()}
    with open(out, "wb") as fh:
        flowio.create_fcs(fh, arr.ravel(), chans,
                          opt_channel_names=list(markers) if markers is not None else None,
                          metadata_dict=meta)
    return out
