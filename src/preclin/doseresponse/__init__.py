"""Single-agent dose-response: models, batched fits, EDs with CIs, statistics.

* :func:`fit` — every curve of a long table at once (LL.3/4/5, W1.4/W2.4, fixed variants).
* :mod:`.stats` — profile-likelihood CIs, model selection, nested F tests, relative potency
  (delta and Fieller), shared-parameter global fits.
* :mod:`.binomial` — quantal responses by maximum likelihood.
* :mod:`.robust` — robust fits (Tukey/Huber/Cauchy) and ROUT outlier detection.
"""

from __future__ import annotations

from .binomial import BinomialFit, fit_binomial
from .fit import STATUSES, TABLE_COLUMNS, DoseResponseFit, ed_columns, fit
from .models import MODELS, Model, get_model, predict
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
    """Plotting is imported on first use (matplotlib is slow to import)."""
    if name in ("plot_curves", "plot_curve"):
        from . import plot

        return getattr(plot, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
