"""Seeded simulator of the myeloma TaqMan qPCR experiment (SIMULATED data).

Mirrors the seed study's design: 12 myeloma cell lines, control vs lenalidomide, TNF, IL8
and IGF1 mRNA against the reference gene RPL37a, technical duplicates, a 2-fold standard
curve of pooled cDNA from 20 ng down to 0.0098 ng (the paper's "20–0.01 ng") in duplicate
for every gene, two no-template controls per gene, calibrator LP-1 (control).

Cq model (per gene ``g`` with amplification factor ``E_g``)::

    Cq = c_g − log(q · a) / log(E_g) + ε,   ε ~ N(0, 0.12²)

``q`` is the ng of cDNA in the well (20 ng for samples), ``a`` the gene's abundance
relative to the pooled cDNA (1 on the standard curve): for samples ``a = u_s · b_{line,g}
· f_{line,g}`` with the loading factor ``u_s ~ logN(0, 0.15²)`` shared by all genes of a
sample, the line's basal level ``b ~ logN(0, 0.8²)`` and the lenalidomide fold change
``f`` (1 in controls). RPL37a has ``b = f = 1``. A Cq ≥ 40 is written ``Undetermined``.
The true fold changes go to ``qpcr_truth.csv``.
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pandas as pd

__all__ = ["QPCR_LINES", "QPCR_GENES", "QPCR_REFERENCE", "QPCR_EFFICIENCY",
           "STANDARD_NG", "write_qpcr_example", "qpcr_experiment_toml"]

#: the 12 cell lines of the qPCR experiment (names of real lines; values simulated)
QPCR_LINES = ["LP-1", "U266", "RPMI-8226", "KMS-11", "KMS-12-BM", "KMS-18", "KMS-26",
              "OPM-2", "NCI-H929", "MM.1S", "JJN-3", "L-363"]
QPCR_GENES = ["TNF", "IL8", "IGF1"]
QPCR_REFERENCE = "RPL37a"
#: true amplification factors (2 = 100 %)
QPCR_EFFICIENCY = {"TNF": 1.93, "IL8": 1.97, "IGF1": 1.90, "RPL37a": 1.98}
#: Cq of 1 ng pooled cDNA
_C1 = {"TNF": 29.0, "IL8": 26.5, "IGF1": 30.0, "RPL37a": 19.5}
#: median lenalidomide fold change and its spread (log-normal SD) across lines
_EFFECT = {"TNF": (2.6, 0.45), "IL8": (1.15, 0.35), "IGF1": (3.2, 0.4)}
#: standard curve: 2-fold dilutions of pooled cDNA, 20 ng … 0.0098 ng
STANDARD_NG = [20.0 / 2**k for k in range(12)]
_NOISE = 0.12
_MAX_CQ = 40.0


def _cq(rng: np.random.Generator, gene: str, amount: np.ndarray | float) -> np.ndarray:
    e = QPCR_EFFICIENCY[gene]
    a = np.atleast_1d(np.asarray(amount, dtype=float))
    return _C1[gene] - np.log(a) / math.log(e) + rng.normal(0.0, _NOISE, a.shape)


def _cell(cq: float) -> str:
    return "Undetermined" if not cq < _MAX_CQ else f"{cq:.3f}"


def write_qpcr_example(directory: str | Path, *, seed: int = 2018) -> dict[str, Path]:
    """Write ``qpcr_cq.csv`` (long Cq table), ``qpcr_samples.csv`` and ``qpcr_truth.csv``.

    Parameters
    ----------
    directory
        Target folder (created if needed).
    seed
        Seed; the generator is ``numpy.random.default_rng([seed, 14])`` so that other
        simulators of the same study are unaffected.

    Returns
    -------
    dict
        ``{"cq": ..., "samples": ..., "truth": ...}`` paths.
    """
    root = Path(directory)
    root.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng([seed, 14])
    genes = [*QPCR_GENES, QPCR_REFERENCE]
    rows: list[dict[str, object]] = []
    truth: list[dict[str, object]] = []
    # plate 1: the standard curves and NTCs (duplicates)
    k = 0
    for gene in genes:
        for q in STANDARD_NG:
            for cq in _cq(rng, gene, np.full(2, q)):
                rows.append({"well": f"S{k + 1:03d}", "sample": f"std {q:.6g} ng",
                             "target": gene, "task": "standard", "quantity": f"{q:.6g}",
                             "cq": _cell(float(cq))})
                k += 1
        for _ in range(2):
            rows.append({"well": f"S{k + 1:03d}", "sample": "NTC", "target": gene,
                         "task": "ntc", "quantity": "", "cq": "Undetermined"})
            k += 1
    # samples: 12 lines × control/lenalidomide × 4 genes × duplicates
    samples: list[dict[str, str]] = []
    basal = {(line, g): float(np.exp(rng.normal(0.0, 0.8))) for line in QPCR_LINES
             for g in QPCR_GENES}
    fold = {}
    for g in QPCR_GENES:
        med, sd = _EFFECT[g]
        for line in QPCR_LINES:
            fold[(line, g)] = float(med * np.exp(rng.normal(0.0, sd)))
    k = 0
    for line in QPCR_LINES:
        for treatment in ("control", "lenalidomide"):
            sample = f"{line} {treatment}"
            samples.append({"sample": sample, "cell_line": line, "treatment": treatment})
            load = float(np.exp(rng.normal(0.0, 0.15)))
            for gene in genes:
                a = load
                if gene != QPCR_REFERENCE:
                    a *= basal[(line, gene)]
                    if treatment == "lenalidomide":
                        a *= fold[(line, gene)]
                for cq in _cq(rng, gene, np.full(2, 20.0 * a)):
                    rows.append({"well": f"U{k + 1:03d}", "sample": sample, "target": gene,
                                 "task": "unknown", "quantity": "", "cq": _cell(float(cq))})
                    k += 1
    for g in QPCR_GENES:
        for line in QPCR_LINES:
            truth.append({"cell_line": line, "target": g, "true_fold_change": fold[(line, g)],
                          "true_efficiency": QPCR_EFFICIENCY[g]})
    paths = {"cq": root / "qpcr_cq.csv", "samples": root / "qpcr_samples.csv",
             "truth": root / "qpcr_truth.csv"}
    pd.DataFrame(rows).to_csv(paths["cq"], index=False, lineterminator="\n")
    pd.DataFrame(samples).to_csv(paths["samples"], index=False, lineterminator="\n")
    pd.DataFrame(truth).to_csv(paths["truth"], index=False, lineterminator="\n",
                               float_format="%.6g")
    return paths


def qpcr_experiment_toml(name: str = "myeloma_qpcr", data: str = "data") -> str:
    """The ``[[experiment]]`` table of the simulated qPCR experiment (study-file text)."""
    return f'''
[[experiment]]
name = "{name}"
title = "TNF, IL8 and IGF1 mRNA after lenalidomide in 12 myeloma lines (TaqMan qPCR)"
kind = "qpcr"
data = "{data}/qpcr_cq.csv"
samples = "{data}/qpcr_samples.csv"

[experiment.qpcr]
reference = ["RPL37a"]
calibrator = "LP-1 control"
method = "pfaffl"              # per-gene efficiency ...
efficiency = "auto"            # ... from the 20–0.01 ng standard curve in the same file
error = "sd"

[[experiment.compare]]         # lenalidomide vs control, paired by cell line
group = "treatment"
pair = "cell_line"
control = "control"
test = "paired"
'''
