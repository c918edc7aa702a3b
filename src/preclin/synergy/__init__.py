"""Drug-combination analysis: reference models, combination index, parametric surfaces.

* :func:`score` / :func:`score_file` — Bliss, HSA, Loewe and ZIP per dose pair and per block
  (SynergyFinder 3.7.3's definitions and numbers), p-values, optional IC50/RI/CSS.
* :func:`read_combinations` — read and validate the long combination table.
* :func:`chou_talalay` — median-effect fits and combination indices (CI < 1 synergy: the
  opposite sign convention of the delta scores).
* :func:`plot_response_matrix`, :func:`plot_synergy` — figures.
* :mod:`.synthetic` — MuSyC, Zimmer and BRAID surfaces and fits.
"""

from __future__ import annotations

from . import synthetic
from .ci import (
    FA_LEVELS,
    ChouTalalayResult,
    MedianEffect,
    chou_talalay,
    combination_index,
    dose_for_effect,
    effect_at_dose,
    median_effect_fit,
)
from .coculture import ProtectionResult, chemoprotection
from .factorial import FactorialResult, expected_bliss, expected_hsa, factorial_effects
from .figures_factorial import (
    add_factorial_section,
    add_protection_section,
    plot_factorial,
    plot_protection,
)
from .io import CombinationData, read_combinations, validate_combinations
from .models import FITTERS, MODELS, Block, BlockResult, score_blocks
from .plot import plot_response_matrix, plot_synergy
from .score import (
    BLOCK_COLUMNS,
    CELL_COLUMNS,
    SynergyResult,
    parse_models,
    score,
    score_file,
    sf_p_value,
)
from .sensitivity import SENSITIVITY_COLUMNS, block_sensitivity, relative_inhibition
from .synthetic import (
    SurfaceFit,
    braid,
    fit_braid,
    fit_hill,
    fit_musyc,
    fit_zimmer,
    hill,
    musyc,
    zimmer,
)

__all__ = [
    "factorial_effects",
    "FactorialResult",
    "expected_bliss",
    "expected_hsa",
    "chemoprotection",
    "ProtectionResult",
    "plot_factorial",
    "plot_protection",
    "add_factorial_section",
    "add_protection_section",
    "score",
    "score_file",
    "SynergyResult",
    "BLOCK_COLUMNS",
    "CELL_COLUMNS",
    "parse_models",
    "sf_p_value",
    "MODELS",
    "FITTERS",
    "read_combinations",
    "validate_combinations",
    "CombinationData",
    "Block",
    "BlockResult",
    "score_blocks",
    "chou_talalay",
    "ChouTalalayResult",
    "MedianEffect",
    "median_effect_fit",
    "dose_for_effect",
    "effect_at_dose",
    "combination_index",
    "FA_LEVELS",
    "block_sensitivity",
    "relative_inhibition",
    "SENSITIVITY_COLUMNS",
    "plot_response_matrix",
    "plot_synergy",
    "synthetic",
    "SurfaceFit",
    "hill",
    "musyc",
    "zimmer",
    "braid",
    "fit_hill",
    "fit_musyc",
    "fit_zimmer",
    "fit_braid",
]
