"""Flow cytometry: FCS files to gated populations and their statistics.

Modules: :mod:`~preclin.flow.io` (read FCS/LMD, :class:`Sample`),
:mod:`~preclin.flow.compensate` (spillover matrices), :mod:`~preclin.flow.transforms`
(Gating-ML 2.0 transforms), :mod:`~preclin.flow.gates` (gates and
hierarchies), :mod:`~preclin.flow.gatingml` (Gating-ML 2.0 import),
:mod:`~preclin.flow.stats` (population statistics, ``flow_stats`` over many files),
:mod:`~preclin.flow.flowjo` (FlowJo 10 workspaces), :mod:`~preclin.flow.diva` (FACSDiva
XML), :mod:`~preclin.flow.template` (TOML gate templates) and
:mod:`~preclin.flow.readouts` (apoptosis, MFI, chimerism, composition);
:mod:`~preclin.flow.plot` (density dot plots with gates, overlay histograms,
back-gating); :mod:`~preclin.flow.proliferation` (CFSE generations),
:mod:`~preclin.flow.cellcycle` (DNA-content models, BrdU/DNA) and
:mod:`~preclin.flow.gated` (channel values of one gated population). Definitions:
``docs/methods/flow.md``.
"""

from __future__ import annotations

from .io import FCSWarning, Sample, read_datasets, read_fcs, read_text, write_fcs

__all__ = [
    "Sample",
    "FCSWarning",
    "read_fcs",
    "read_datasets",
    "read_text",
    "write_fcs",
    # division tracking, cell cycle and gated events (imported on first use)
    "fit_proliferation",
    "fit_proliferation_histogram",
    "fit_undivided",
    "proliferation_indices",
    "plot_proliferation",
    "ProliferationResult",
    "fit_cell_cycle",
    "fit_cell_cycle_histogram",
    "brdu_cell_cycle",
    "singlet_gate",
    "plot_cell_cycle",
    "CellCycleResult",
    "population_events",
    "GatedEvents",
]

_LAZY = {
    **dict.fromkeys(("fit_proliferation", "fit_proliferation_histogram", "fit_undivided",
                     "proliferation_indices", "plot_proliferation", "ProliferationResult"),
                    "proliferation"),
    **dict.fromkeys(("fit_cell_cycle", "fit_cell_cycle_histogram", "brdu_cell_cycle",
                     "singlet_gate", "plot_cell_cycle", "CellCycleResult"), "cellcycle"),
    **dict.fromkeys(("population_events", "GatedEvents"), "gated"),
}


def __getattr__(name: str) -> object:
    """Import the model functions (SciPy) on first use."""
    if name in _LAZY:
        import importlib

        return getattr(importlib.import_module(f"{__name__}.{_LAZY[name]}"), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
