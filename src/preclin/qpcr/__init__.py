"""qPCR: Cq files to standard curves, relative quantities and reference-gene stability.

Modules: :mod:`~preclin.qpcr.io` (the well table and the plain long reader, dispatch by
content), :mod:`~preclin.qpcr.rdml`, :mod:`~preclin.qpcr.quantstudio`,
:mod:`~preclin.qpcr.cfx` (vendor readers), :mod:`~preclin.qpcr.stdcurve` (standard curves,
efficiency, absolute quantities), :mod:`~preclin.qpcr.relquant` (ΔΔCq, Pfaffl, qbase+-style
NRQ with error propagation), :mod:`~preclin.qpcr.refgenes` (geNorm, NormFinder),
:mod:`~preclin.qpcr.rest` (REST ratio with qpcR's randomisation interval),
:mod:`~preclin.qpcr.linreg` (LinRegPCR-style baseline, per-well and mean PCR efficiency,
Cq and N0 from raw amplification curves),
:mod:`~preclin.qpcr.plot` (standard-curve and RQ figures).
Definitions and references: ``docs/methods/qpcr.md``.
"""

from __future__ import annotations

from .io import WELL_COLUMNS, parse_cq, read_long, read_qpcr
from .linreg import LINREG_COLUMNS, LINREG_TARGET_COLUMNS, linreg_efficiency, linreg_targets
from .refgenes import genorm, normfinder, normfinder_stepwise
from .relquant import (
    RESULT_COLUMNS,
    RelQuantResult,
    delta_cq,
    relative_quantities,
    relative_standard_curve,
    replicate_summary,
    resolve_efficiencies,
)
from .rest import RestRatio, rest_ratio
from .stdcurve import CURVE_COLUMNS, efficiency_check, quantify, standard_curve

__all__ = [
    "WELL_COLUMNS",
    "CURVE_COLUMNS",
    "RESULT_COLUMNS",
    "read_qpcr",
    "read_long",
    "parse_cq",
    "standard_curve",
    "quantify",
    "efficiency_check",
    "replicate_summary",
    "resolve_efficiencies",
    "relative_quantities",
    "RelQuantResult",
    "delta_cq",
    "relative_standard_curve",
    "genorm",
    "normfinder",
    "normfinder_stepwise",
    "rest_ratio",
    "RestRatio",
    "linreg_efficiency",
    "linreg_targets",
    "LINREG_COLUMNS",
    "LINREG_TARGET_COLUMNS",
]
