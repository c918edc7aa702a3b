"""Single-agent dose-response: models (LL.3/4/5, W1.4, W2.4), batched fits, EDs with CIs."""

from __future__ import annotations

from .fit import STATUSES, TABLE_COLUMNS, DoseResponseFit, ed_columns, fit
from .models import MODELS, Model, get_model, predict

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
]
