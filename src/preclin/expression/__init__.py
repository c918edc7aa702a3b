"""Expression profiling: matrices in, RMA, limma-grade linear models, clustering, figures.

The statistics are implemented from the published methods — limma's code is GPL and is
not used: Smyth (2004) for the empirical-Bayes moderated t and B statistic, Phipson et al.
(2016) for ``trend`` and ``robust``, McCarthy & Smyth (2009) for ``treat``, Smyth, Michaud
& Scott (2005) for the intra-block correlation (``duplicate_correlation``); Irizarry et al.
(2003) and Bolstad et al. (2003) for RMA. Results equal R limma 3.54 / oligo 1.62 / hclust on the
reference cases of ``../shared/reference/expression`` (``docs/methods/expression.md``).

Submodules are imported on first use, so ``import preclin`` stays fast.
"""

from __future__ import annotations

import importlib
from typing import Any

__all__ = [
    # io
    "ExpressionMatrix", "read_matrix", "read_samples", "detect_scale", "to_log2",
    "align_samples", "collapse_to_genes", "COLLAPSE_RULES",
    # design and models
    "Design", "design_matrix", "LinearFit", "ModeratedFit", "lm_fit", "fit_f_dist",
    "squeeze_var", "ebayes", "treat", "top_table", "TOP_TABLE_COLUMNS",
    "DEResult", "differential_expression", "DE_COLUMNS",
    "DuplicateCorrelation", "duplicate_correlation", "RobustFDist", "fit_f_dist_robust",
    "squeeze_var_robust",
    # preprocessing
    "rma", "RMAResult", "rma_background", "quantile_normalize", "median_polish_summarize",
    # clustering and figures
    "HClust", "hclust", "correlation_distance", "volcano", "ma_plot", "heatmap",
]

_WHERE = {
    **dict.fromkeys(["ExpressionMatrix", "read_matrix", "read_samples", "detect_scale",
                     "to_log2", "align_samples", "collapse_to_genes", "COLLAPSE_RULES"], "io"),
    **dict.fromkeys(["Design", "design_matrix"], "design"),
    **dict.fromkeys(["LinearFit", "ModeratedFit", "lm_fit", "fit_f_dist", "squeeze_var",
                     "ebayes", "treat", "top_table", "TOP_TABLE_COLUMNS"], "de"),
    **dict.fromkeys(["DEResult", "differential_expression", "DE_COLUMNS"], "differential"),
    **dict.fromkeys(["DuplicateCorrelation", "duplicate_correlation"], "dupcor"),
    **dict.fromkeys(["RobustFDist", "fit_f_dist_robust", "squeeze_var_robust"], "robust"),
    **dict.fromkeys(["rma", "RMAResult", "rma_background", "quantile_normalize",
                     "median_polish_summarize"], "preprocess"),
    **dict.fromkeys(["HClust", "hclust", "correlation_distance"], "cluster"),
    **dict.fromkeys(["volcano", "ma_plot", "heatmap"], "plot"),
}


def __getattr__(name: str) -> Any:
    mod = _WHERE.get(name)
    if mod is None:
        raise AttributeError(f"module 'preclin.expression' has no attribute '{name}'")
    value = getattr(importlib.import_module(f".{mod}", __name__), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(__all__)
