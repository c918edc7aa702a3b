"""Immunoassays: 4PL/5PL standard curves, back-calculation, LLOQ/ULOQ.

Modules: :mod:`~preclin.immunoassay.io` (xPONENT CSV with the locale guard, long tables),
:mod:`~preclin.immunoassay.stdcurve` (4PL/5PL fits as xPONENT, inverse),
:mod:`~preclin.immunoassay.backcalc` (concentrations, flags, recovery, CV, hook warning).
Definitions: ``docs/methods/immunoassay.md``.
"""

from __future__ import annotations

from .backcalc import RESULT_COLUMNS, ImmunoassayResult, fit_plate
from .io import WELL_COLUMNS, LocaleWarning, read_immunoassay, read_xponent
from .stdcurve import CurveFit, fit_curve, inverse, logistic

__all__ = ["WELL_COLUMNS", "RESULT_COLUMNS", "LocaleWarning", "read_xponent",
           "read_immunoassay", "CurveFit", "fit_curve", "inverse", "logistic", "fit_plate",
           "ImmunoassayResult"]
