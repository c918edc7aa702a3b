"""Plate-reader file readers: a small registry of one reader per vendor format.

Every reader turns one instrument export into a long table with the columns

========  =======  ================================================================
column    dtype    meaning
========  =======  ================================================================
plate     str      name of the block / read in the file (title, wavelength, ...)
well      str      well name without zero padding, ``"A1"``
row       str      row letter(s), ``"A"``
col       int      column number, from 1
signal    float    the measured value; NaN for a blank cell
========  =======  ================================================================

one line per well of every block, in file order (block, then row, then column).

Using the registry
------------------
>>> from preclin.plates import readers
>>> readers.guess("plate1.csv")            # doctest: +SKIP
GridReader(nonnumeric='error', na_values=(), name='grid')
>>> readers.get("gen5").read("run.txt")   # doctest: +SKIP

Adding a vendor (Tecan, BMG, EnVision, ...)
-------------------------------------------
Write one module ``readers/<vendor>.py`` with a class that has

* ``name``: a short unique lower-case string (``"tecan"``), used by ``get`` and by the
  ``reader=`` argument of :func:`preclin.plates.read`;
* ``guess_can_open(path) -> bool``: cheap (look at the suffix and at most the first few
  kilobytes, e.g. with ``_cells.head_text`` / ``_cells.head_sheet``), never raises;
* ``read(path) -> pandas.DataFrame``: the long table above; raise
  :class:`preclin.errors.InputError` naming the file, the location (line/cell and well) and the
  problem for every bad input. ``_cells.load_sheets`` and ``_cells.find_grids`` do the
  spreadsheet work; :func:`grid.grid_to_long` turns a grid into rows.

and register an instance at the bottom of this module (``register(TecanReader())``).
:func:`guess` tries the most recently registered readers first, so specific vendor readers
must be registered *after* the generic :class:`~preclin.plates.readers.grid.GridReader`.
Add a fixture file and a test under ``tests/plates/``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Protocol, runtime_checkable

import pandas as pd

from ...errors import InputError

__all__ = ["Reader", "register", "unregister", "get", "guess", "available", "READER_COLUMNS"]

#: Columns of every reader's output, in order.
READER_COLUMNS = ("plate", "well", "row", "col", "signal")


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
        "no plate reader recognises this file (expected a plate-shaped grid with a header line "
        f"of column numbers and rows starting A, B, ...); readers tried: {', '.join(available())}",
        file=p,
    )


def _register_builtins() -> None:
    from .gen5 import Gen5Reader
    from .grid import GridReader

    register(GridReader())  # generic: tried last
    register(Gen5Reader())


_register_builtins()
