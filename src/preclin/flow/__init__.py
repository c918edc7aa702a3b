"""Flow cytometry: FCS files to gated populations and their statistics.

Modules: :mod:`~preclin.flow.io` (read FCS/LMD, :class:`Sample`),
:mod:`~preclin.flow.compensate` (spillover matrices), :mod:`~preclin.flow.transforms`
(Gating-ML 2.0 transforms), :mod:`~preclin.flow.gates` (gates and
hierarchies), :mod:`~preclin.flow.gatingml` (Gating-ML 2.0 import) and
:mod:`~preclin.flow.stats` (population statistics). Definitions: ``docs/methods/flow.md``.
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
