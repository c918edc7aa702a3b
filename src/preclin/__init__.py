"""preclin: preclinical drug-response studies from raw instrument files to report.

Subpackages are rooms of the lab: :mod:`preclin.plates`, :mod:`preclin.doseresponse`,
:mod:`preclin.study`, :mod:`preclin.report`.
"""

from __future__ import annotations

from . import errors, tables
from .errors import FitError, InputError, PreclinError

__version__ = "0.1.0"

__all__ = [
    "__version__",
    "errors",
    "tables",
    "PreclinError",
    "InputError",
    "FitError",
]
