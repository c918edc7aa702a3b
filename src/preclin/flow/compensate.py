"""Compensation: spillover matrices from keywords, files or single-stain controls.

A spillover matrix ``S`` has one row per fluorochrome (the stained control) and one column
per detector: ``S[i, j]`` is the fraction of fluorochrome *i*'s signal seen in detector *j*
(diagonal 1). Observed = true @ S, so compensated events are ``observed @ inv(S)`` on the
matrix's channels (Gating-ML 2.0 section 4; Bagwell & Adams 1993). Other channels are left
unchanged. Definitions and the control recipe: ``docs/methods/flow.md``.
"""

from __future__ import annotations

import csv
import io as _io
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..errors import InputError
from .io import Sample, _match_channel

__all__ = [
    "Spillover",
    "parse_spill_keyword",
    "read_spillover",
    "spillover_from_controls",
    "compensate",
]


@dataclass(frozen=True, eq=False)
class Spillover:
    """A spillover matrix with its channel names.

    Attributes
    ----------
    channels
        Detector names (``$PnN``), the matrix's columns; rows are in the same order.
    matrix
        float64 array ``(k, k)``, rows = fluorochrome, columns = detector.
    source
        Where it came from (``"$SPILLOVER"``, a file name, ``"controls"``).
    fluorochromes
        Row names when they differ from the detectors (Gating-ML ``spectrumMatrix``, which
        may be non-square: compensated = observed @ pinv(S)).
    """

    channels: tuple[str, ...]
    matrix: np.ndarray
    source: str = ""
    fluorochromes: tuple[str, ...] | None = None

    def __post_init__(self) -> None:
        m = np.asarray(self.matrix, dtype=np.float64)
        k = len(self.channels)
        rows = len(self.fluorochromes) if self.fluorochromes is not None else k
        if m.shape != (rows, k):
            raise InputError(f"spillover matrix is {m.shape}, expected {rows} x {k} for "
                             f"{k} channels", file=self.source or None)
        if not np.isfinite(m).all():
            raise InputError("spillover matrix holds non-finite values",
                             file=self.source or None)
        object.__setattr__(self, "matrix", m)

    def inverse(self) -> np.ndarray:
        """``inv(S)``; raises :class:`InputError` when the matrix is singular."""
        try:
            inv = np.linalg.inv(self.matrix)
        except np.linalg.LinAlgError:
            raise InputError("spillover matrix is singular and cannot be inverted",
                             file=self.source or None) from None
        if not np.isfinite(inv).all() or np.linalg.cond(self.matrix) > 1e12:
            raise InputError("spillover matrix is (nearly) singular", file=self.source or None)
        return inv


def parse_spill_keyword(value: str, *, file: str | os.PathLike[str] | None = None,
                        keyword: str = "$SPILLOVER") -> tuple[tuple[str, ...], np.ndarray]:
    """Parse a ``$SPILLOVER``/``SPILL`` value: ``n, name1..namen, n*n values`` (row-major)."""
    file = None if file is None else Path(file)
    parts = [p.strip() for p in value.split(",")]
    try:
        n = int(float(parts[0]))
    except (ValueError, IndexError):
        raise InputError(f"{keyword} should start with the number of channels, found "
                         f"{value[:30]!r}", file=file, location=keyword) from None
    if n < 1 or len(parts) != 1 + n + n * n:
        raise InputError(f"{keyword} declares {n} channels but holds {len(parts) - 1} "
                         f"fields (expected {n + n * n})", file=file, location=keyword)
    names = tuple(parts[1:1 + n])
    try:
        mat = np.array([float(x) for x in parts[1 + n:]], dtype=np.float64).reshape(n, n)
    except ValueError:
        raise InputError(f"{keyword} holds a value that is not a number", file=file,
                         location=keyword) from None
    return names, mat


def read_spillover(path: str | os.PathLike[str]) -> Spillover:
    """Read a spillover matrix file.

    Accepted: a CSV/TSV with a header row of channel names (an optional first column of
    row names is dropped), R ``write.table`` output (quoted, space separated), and FlowJo's
    exported text matrix (a name line, a ``<``/``>`` line, then header and rows).
    """
    file = Path(path)
    try:
        raw = file.read_bytes().decode("utf-8-sig", errors="replace")
    except OSError as exc:
        raise InputError(f"cannot read the matrix: {exc.strerror or exc}", file=file) from None
    lines = [ln for ln in raw.replace("\r\n", "\n").replace("\r", "\n").split("\n")
             if ln.strip()]
    # FlowJo: "<name>\t" then "<\t>" then header
    while lines and (lines[0].strip().startswith("<") or
                     (len(lines) > 1 and lines[1].strip().startswith("<"))):
        lines = lines[1:] if lines[0].strip().startswith("<") else lines[2:]
    if not lines:
        raise InputError("no matrix found", file=file)
    sample = lines[0]
    delim = "\t" if "\t" in sample else "," if "," in sample else ";" if ";" in sample \
        else None
    rows: list[list[str]]
    if delim is None:
        rows = [next(csv.reader(_io.StringIO(ln), delimiter=" ", skipinitialspace=True))
                for ln in lines]
    else:
        rows = [[c.strip() for c in r] for r in csv.reader(_io.StringIO("\n".join(lines)),
                                                           delimiter=delim)]
    rows = [[c for c in r if c != ""] for r in rows]
    header = rows[0]
    body = rows[1:]
    k = len(header)
    if k == 0 or len(body) != k:
        raise InputError(f"matrix has {len(header)} column names but {len(body)} rows; "
                         "expected a square matrix with a header row", file=file)
    values = []
    for i, r in enumerate(body):
        if len(r) == k + 1:  # a row-name column
            r = r[1:]
        if len(r) != k:
            raise InputError(f"row has {len(r)} values, expected {k}", file=file,
                             location=f"row {i + 2}")
        try:
            values.append([float(x) for x in r])
        except ValueError:
            raise InputError("a value is not a number", file=file,
                             location=f"row {i + 2}") from None
    return Spillover(tuple(header), np.array(values), source=str(file))


def spillover_from_controls(controls: Mapping[str, Sample], unstained: Sample | None, *,
                            channels: Sequence[str] | None = None,
                            statistic: str = "median") -> Spillover:
    """Spillover matrix from single-stain controls (flowStats ``spillover``, method median).

    For each control, the median of every channel (on the preprocessed, linear data),
    minus the unstained control's medians (when given), negative values set to 0, each row
    divided by its own maximum — the stained channel.

    Parameters
    ----------
    controls
        Stained channel -> its single-stain control sample.
    unstained
        The unstained control (``None``: no background subtraction).
    channels
        Detector columns in matrix order (default: the keys of ``controls``).
    statistic
        ``"median"`` (flowStats' default) or ``"mean"``.
    """
    if statistic not in {"median", "mean"}:
        raise InputError(f"statistic must be 'median' or 'mean', got {statistic!r}")
    stained = list(controls)
    cols = list(channels) if channels is not None else stained
    if sorted(stained) != sorted(cols):
        raise InputError(f"controls ({stained}) and channels ({cols}) must name the same "
                         "detectors")
    stat = np.median if statistic == "median" else np.mean

    def centre(s: Sample) -> np.ndarray:
        idx = [_match_channel(c, s.channels, s.markers, file=s.file) for c in cols]
        ev = s.events[:, idx].astype(np.float64, copy=False)
        return np.asarray(stat(ev, axis=0), dtype=np.float64)

    bg = centre(unstained) if unstained is not None else np.zeros(len(cols))
    mat = np.empty((len(cols), len(cols)))
    for i, ch in enumerate(cols):
        row = np.clip(centre(controls[ch]) - bg, 0.0, None)
        top = row.max()
        if not top > 0:
            raise InputError(f"the control for {ch} shows no signal above the unstained "
                             "control", file=controls[ch].file)
        mat[i] = row / top
    return Spillover(tuple(cols), mat, source="controls")


def compensate(sample: Sample, spill: Spillover | None = None, *,
               inplace: bool = False) -> Sample:
    """Compensated copy of ``sample`` (``spill`` default: the file's ``$SPILLOVER``).

    Only the matrix's channels change: ``X[:, idx] @ inv(S)``, computed in the events'
    dtype with ``inv(S)`` from float64, in blocks of rows so that memory stays at one copy
    of the events (none with ``inplace=True``, which overwrites ``sample.events``).
    """
    if spill is None:
        found = sample.spillover()
        if found is None:
            raise InputError("no spillover matrix in the file ($SPILLOVER/$SPILL) and none "
                             "given", file=sample.file)
        spill = Spillover(found[0], found[1], source="$SPILLOVER")
    idx = [_match_channel(c, sample.channels, sample.markers, file=sample.file)
           for c in spill.channels]
    if len(set(idx)) != len(idx):
        raise InputError("spillover channels map to the same column twice", file=sample.file)
    inv = spill.inverse().astype(sample.events.dtype)
    ev = sample.events if inplace else sample.events.copy()
    cols = np.asarray(idx)
    contiguous = bool(np.all(np.diff(cols) == 1))
    step = 16384
    tmp = np.empty((min(step, ev.shape[0]), len(idx)), dtype=ev.dtype)
    res = np.empty_like(tmp)
    for lo in range(0, ev.shape[0], step):
        block = ev[lo:lo + step]
        k = block.shape[0]
        if contiguous:
            view = block[:, cols[0]:cols[-1] + 1]
            tmp[:k] = view  # a contiguous copy lets BLAS do the product
            np.matmul(tmp[:k], inv, out=res[:k])
            view[...] = res[:k]
        else:
            np.take(block, cols, axis=1, out=tmp[:k])
            np.matmul(tmp[:k], inv, out=res[:k])
            block[:, cols] = res[:k]
    return sample.with_events(ev, note=f"compensated with {spill.source or 'a matrix'}")
