"""Plate-reader file readers: a small registry of one reader per vendor format.

Every reader turns one instrument export into a long table with the columns

=============  =======  ===========================================================
column         dtype    meaning
=============  =======  ===========================================================
plate          str      plate name in the file (``Plate 1``, barcode, SoftMax plate
                        name); the file stem when the file does not name it. The
                        generic grid reader puts its block name here.
read           str      the read: label, wavelength or calculation as the file names
                        it (``od:600``, ``OD600:600``, ``Calc 1: HTRF ratio …``);
                        empty when the file does not name it (generic grids)
well           str      well name without zero padding, ``"A1"``
row            str      row letter(s), ``"A"``
col            int      column number, from 1
value          float    the measured value; NaN for an empty cell or a text entry
time_s         float    kinetic time point in seconds (kinetic reads only)
cycle          Int64    kinetic cycle / repeat number, from 1 (kinetic reads only)
wavelength_nm  float    absorbance wavelength, or emission wavelength of a
                        fluorescence read (where the file states one)
unit           string   unit the file states (``Counts``, ``CPM``, ``Abs``) or that
                        the measurement mode implies (OD, RFU, RLU)
flag           string   text written in place of a number, exactly as written
                        (``OVRFLW``, ``Masked``, ``Range?``, ``NaN``, ``OVER``);
                        NA for numbers and empty cells
=============  =======  ===========================================================

The first six columns are always present; the others only when the file has them. There is one
row per well of the declared plate format for every plate, read and time point: wells the
file leaves empty (partial plates, reads of part of the plate) are rows with value NaN and no
flag, so no well a file declares is dropped. Non-numeric entries are never turned into numbers
or dropped: value NaN, the text in ``flag`` (the generic grid reader raises instead, by
default, because a hand-typed grid with text in it is usually a mistake). Metadata read from the
file header is in ``DataFrame.attrs["metadata"]``, anything left out on purpose (e.g. a listed
cycle without data) in ``DataFrame.attrs["notes"]``. Derived tables the software computes
(SoftMax reduced matrices, Gen5 kinetic analysis, sample and layout grids) are not read; the
calculated matrices of EnVision, BMG blank correction and SkanIt steps are reads of their own.

Instruments read (``name`` in the registry):

* ``grid`` — any plate-shaped grid (CSV/TSV/TXT/XLSX), including CPM counts of scintillation
  counters (MicroBeta, TopCount);
* ``gen5`` — BioTek/Agilent Gen5 (Synergy, Cytation, Epoch): TXT, CSV, XLSX; plate grids,
  interleaved reads, kinetic tables, wells-as-columns results;
* ``tecan`` — Tecan i-control (infinite; TXT/CSV/XLSX) and SparkControl (Spark);
  ``magellan`` — Tecan Magellan well lists;
* ``bmg`` — BMG LABTECH MARS and SMART Control (PHERAstar, CLARIOstar, …);
* ``softmax`` — Molecular Devices SoftMax Pro text exports (SpectraMax), Plate/TimeFormat;
* ``envision`` — PerkinElmer EnVision; ``kaleido`` — Revvity Kaleido (EnSight);
  ``victorx3`` — VICTOR X3 / Wallac list exports; ``victornivo`` — VICTOR Nivo;
* ``skanit`` — Thermo SkanIt (Varioskan, Multiskan).

Files are recognised by their content, not their extension (``guess``): a workbook is a ZIP
container whatever its name, text is decoded from UTF-16 (BOM), UTF-8 (with or without BOM) or
Latin-1, with tab, comma or semicolon delimiters and any line ending. Binary content that is
neither gives one :class:`~preclin.errors.InputError` line naming the file.

Using the registry
------------------
>>> from preclin.plates import readers
>>> readers.guess("plate1.csv")            # doctest: +SKIP
GridReader(nonnumeric='error', na_values=(), name='grid')
>>> readers.get("gen5").read("run.txt")   # doctest: +SKIP

Adding a vendor (Promega GloMax, ...)
-------------------------------------------
Write one module ``readers/<vendor>.py`` with a class that has

* ``name``: a short unique lower-case string (``"glomax"``), used by ``get`` and by the
  ``reader=`` argument of :func:`preclin.plates.read`;
* ``guess_can_open(path) -> bool``: cheap (look at the suffix and at most the first few
  kilobytes, e.g. with ``_cells.head_text`` / ``_cells.head_sheet``), never raises;
* ``read(path) -> pandas.DataFrame``: the long table above; raise
  :class:`preclin.errors.InputError` naming the file, the location (line/cell and well) and the
  problem for every bad input. ``_cells.load_sheets`` and ``_cells.find_grids`` do the
  spreadsheet work; ``_long.LongTable`` collects cells (numbers, blanks and flags) and returns
  the table, completed to the plate format.

Readers written for the older contract (``plate, well, row, col, signal``) are still accepted
by :func:`preclin.plates.read`.

and register an instance at the bottom of this module (``register(GloMaxReader())``).
:func:`guess` tries the most recently registered readers first, so specific vendor readers
must be registered *after* the generic :class:`~preclin.plates.readers.grid.GridReader`.
Add a fixture file and a test under ``tests/plates/``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Protocol, runtime_checkable

import pandas as pd

from ...errors import InputError

__all__ = [
    "Reader",
    "register",
    "unregister",
    "get",
    "guess",
    "available",
    "READER_COLUMNS",
    "OPTIONAL_COLUMNS",
    "LEGACY_COLUMNS",
]

#: Columns of every reader's output, in order.
READER_COLUMNS = ("plate", "read", "well", "row", "col", "value")
#: Columns a reader adds when the file has them, in this order after ``READER_COLUMNS``.
OPTIONAL_COLUMNS = ("time_s", "cycle", "wavelength_nm", "unit", "flag")
#: Columns of readers written for the first contract (still accepted by ``plates.read``).
LEGACY_COLUMNS = ("plate", "well", "row", "col", "signal")


@runtime_checkable
class Reader(Protocol):
    """What a plate-reader file reader provides."""

    name: str

    def guess_can_open(self, path: str | Path) -> bool:
        """Cheap check whether this reader understands the file (never raises)."""
        ...

    def read(self, path: str | Path) -> pd.DataFrame:
        """Read the file into the long table described in :mod:`preclin.plates.readers`."""
        ...


_REGISTRY: dict[str, Reader] = {}


def register(reader: Reader, *, replace: bool = False) -> Reader:
    """Add a reader to the registry and return it.

    Parameters
    ----------
    reader
        An object with ``name``, ``guess_can_open`` and ``read``.
    replace
        Allow replacing an already registered reader of the same name.

    Raises
    ------
    ValueError
        If a reader of that name is registered and ``replace`` is false.
    TypeError
        If ``reader`` lacks the reader attributes.
    """
    if not isinstance(reader, Reader):
        raise TypeError(f"{reader!r} is not a plate reader (needs name, guess_can_open, read)")
    key = reader.name.lower()
    if key in _REGISTRY and not replace:
        raise ValueError(f"a reader named '{key}' is already registered")
    _REGISTRY.pop(key, None)
    _REGISTRY[key] = reader
    return reader


def unregister(name: str) -> Reader:
    """Remove the reader called ``name`` from the registry and return it.

    Raises
    ------
    KeyError
        If no reader has that name.
    """
    return _REGISTRY.pop(name.lower())


def available() -> list[str]:
    """Names of the registered readers, in the order :func:`guess` tries them."""
    return list(reversed(_REGISTRY))


def get(name: str) -> Reader:
    """The registered reader called ``name`` (case-insensitive).

    Raises
    ------
    InputError
        If no reader has that name.
    """
    try:
        return _REGISTRY[name.lower()]
    except KeyError:
        raise InputError(
            f"unknown plate reader '{name}'; available: {', '.join(available())}"
        ) from None


def guess(path: str | Path) -> Reader:
    """The first registered reader (newest first) whose ``guess_can_open`` accepts ``path``.

    Raises
    ------
    InputError
        If the file does not exist or no reader recognises it.
    """
    p = Path(path)
    if not p.exists():
        raise InputError("file not found", file=p)
    for name in available():
        reader = _REGISTRY[name]
        if reader.guess_can_open(p):
            return reader
    raise InputError(
        "no plate reader recognises this file (expected a vendor export or a plate-shaped grid "
        "with a header line of column numbers and rows starting A, B, ...); readers tried: "
        f"{', '.join(available())}",
        file=p,
    )


def _register_builtins() -> None:
    from .bmg import BMGReader
    from .gen5 import Gen5Reader
    from .grid import GridReader
    from .perkinelmer import EnVisionReader, KaleidoReader, VictorNivoReader, VictorX3Reader
    from .softmax import SoftMaxReader
    from .tecan import MagellanReader, TecanReader
    from .thermo import SkanItReader

    register(GridReader())  # generic: tried last
    register(Gen5Reader())
    # vendor readers with specific content markers: tried before the two above
    for reader in (TecanReader(), MagellanReader(), BMGReader(), SoftMaxReader(),
                   EnVisionReader(), KaleidoReader(), VictorX3Reader(), VictorNivoReader(),
                   SkanItReader()):
        register(reader)


_register_builtins()
