"""Flow cytometry: FCS files to gated populations and their statistics.

Modules: :mod:`~preclin.flow.io` (read FCS/LMD, :class:`Sample`),
:mod:`~preclin.flow.compensate` (spillover matrices), :mod:`~preclin.flow.transforms`
(Gating-ML 2.0 transforms), :mod:`~preclin.flow.gates` (gates and
hierarchies), :mod:`~preclin.flow.gatingml` (Gating-ML 2.0 import),
:mod:`~preclin.flow.stats` (population statistics, ``flow_stats`` over many files),
:mod:`~preclin.flow.flowjo` (FlowJo 10 workspaces), :mod:`~preclin.flow.diva` (FACSDiva
XML), :mod:`~preclin.flow.template` (TOML gate templates) and
:mod:`~preclin.flow.readouts` (apoptosis, MFI, chimerism, composition). Definitions:
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
]
