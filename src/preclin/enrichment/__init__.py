"""Enrichment: GO over-representation (goana-compatible), GOrilla's mHG on a ranked list
(with XL-mHG's X and L), signed activation z-scores, and the offline GO snapshot.

Methods: Eden et al. (2007, 2009) and Wagner (2015) for mHG/XL-mHG; one-sided
hypergeometric test with annotation propagated over the GO DAG as limma ``goana``;
Krämer et al. (2014) for the activation z-score (``docs/methods/enrichment.md``).
Submodules are imported on first use.
"""

from __future__ import annotations

import importlib
from typing import Any

__all__ = [
    "GeneOntology", "load_go", "read_obo", "read_gaf", "PROPAGATE_RELATIONS",
    "ORAResult", "ora", "resolve_genes", "ORA_COLUMNS",
    "MHGResult", "mhg", "xlmhg_test", "MHG_COLUMNS",
    "activation_zscore", "ZSCORE_COLUMNS",
    "dot_plot",
]

_WHERE = {
    **dict.fromkeys(["GeneOntology", "load_go", "read_obo", "read_gaf",
                     "PROPAGATE_RELATIONS"], "go"),
    **dict.fromkeys(["ORAResult", "ora", "resolve_genes", "ORA_COLUMNS"], "overrepresentation"),
    **dict.fromkeys(["MHGResult", "mhg", "xlmhg_test", "MHG_COLUMNS"], "ranked"),
    **dict.fromkeys(["activation_zscore", "ZSCORE_COLUMNS"], "zscore"),
    "dot_plot": "plot",
}


def __getattr__(name: str) -> Any:
    mod = _WHERE.get(name)
    if mod is None:
        raise AttributeError(f"module 'preclin.enrichment' has no attribute '{name}'")
    value = getattr(importlib.import_module(f".{mod}", __name__), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(__all__)
