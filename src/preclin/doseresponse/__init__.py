"""Single-agent dose-response: models, batched fits, EDs with CIs, statistics.

* :func:`fit` — every curve of a long table at once (LL.3/4/5, W1.4/W2.4, fixed variants).
* :mod:`.stats` — profile-likelihood CIs, model selection, nested F tests, relative potency
  (delta and Fieller), shared-parameter global fits.
* :mod:`.binomial` — quantal responses by maximum likelihood.
* :mod:`.robust` — robust fits (Tukey/Huber/Cauchy) and ROUT outlier detection.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from .fit import STATUSES, TABLE_COLUMNS, DoseResponseFit, ed_columns, fit
from .models import MODELS, Model, get_model, predict

if TYPE_CHECKING:
    from .binomial import BinomialFit, fit_binomial
    from .plot import plot_curve, plot_curves
    from .robust import RobustFit, RoutResult, fit_robust, rout_outliers
    from .stats import (
        FTestResult,
        GlobalFit,
        ProfileCI,
        RelativePotency,
        compare_nested,
        effect_test,
        f_test_nested,
        global_f_test,
        global_fit,
        model_select,
        profile_ci,
        profile_ci_table,
        relative_potency,
    )

#: names imported on first use, and their modules: scipy.stats and matplotlib take a
#: second or more to import, which a command-line fit should not pay for
_LAZY = {
    **dict.fromkeys(["fit_binomial", "BinomialFit"], "binomial"),
    **dict.fromkeys(["fit_robust", "RobustFit", "rout_outliers", "RoutResult"], "robust"),
    **dict.fromkeys(["profile_ci", "profile_ci_table", "ProfileCI", "model_select",
                     "f_test_nested", "compare_nested", "FTestResult", "effect_test",
                     "relative_potency", "RelativePotency", "global_fit", "global_f_test",
                     "GlobalFit"], "stats"),
    **dict.fromkeys(["plot_curves", "plot_curve"], "plot"),
}

__all__ = [
    "fit",
    "DoseResponseFit",
    "TABLE_COLUMNS",
    "STATUSES",
    "ed_columns",
    "Model",
    "MODELS",
    "get_model",
    "predict",
    "fit_binomial",
    "BinomialFit",
    "fit_robust",
    "RobustFit",
    "rout_outliers",
    "RoutResult",
    "profile_ci",
    "profile_ci_table",
    "ProfileCI",
    "model_select",
    "f_test_nested",
    "compare_nested",
    "FTestResult",
    "effect_test",
    "relative_potency",
    "RelativePotency",
    "global_fit",
    "global_f_test",
    "GlobalFit",
    "plot_curves",
    "plot_curve",
]


def __getattr__(name: str) -> object:
    """Statistics, binomial/robust fits and plotting are imported on first use."""
    if name in _LAZY:
        import importlib

        return getattr(importlib.import_module(f".{_LAZY[name]}", __name__), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
