"""Plates: layouts, plate-reader files, normalisation to controls, quality control, plate maps.

>>> import preclin.plates as pp
>>> df = pp.read("plate1.csv", layout="layout.toml")          # doctest: +SKIP
>>> viab = pp.normalise(df, blank="blank", vehicle="vehicle")  # doctest: +SKIP
>>> qc = pp.plate_qc(df, vehicle="vehicle", positive="positive")  # doctest: +SKIP

Public API
----------
:func:`read`
    data file(s) (+ layout) -> long table ``plate, well, row, col, <factors>, signal, in_layout``.
:func:`read_layout`, :func:`read_plater`, :class:`Layout`
    wellmap TOML and plater CSV/XLSX layouts.
:mod:`readers`
    registry of plate-reader formats (``grid``, ``gen5``); add a vendor in one file.
:func:`normalise`
    blank subtraction, % viability, % inhibition, ``excluded`` + ``reason`` per well.
:func:`plate_qc`, :func:`z_prime`
    per-plate control statistics, Z'-factor, signal window, edge/row/column flags.
:func:`plot_layout`, :func:`plot_plate_values`
    plate map and heat map figures.
"""

from __future__ import annotations

from . import readers
from .layout import Layout, read_layout, read_plater, read_toml_layout
from .normalise import normalise, read_groups
from .plot import plot_layout, plot_plate_values
from .qc import plate_qc, z_prime
from .reading import read

__all__ = [
    "Layout",
    "read",
    "read_layout",
    "read_plater",
    "read_toml_layout",
    "readers",
    "normalise",
    "read_groups",
    "plate_qc",
    "z_prime",
    "plot_layout",
    "plot_plate_values",
]
