"""Seeded simulator of the paired expression experiment (SIMULATED data).

Mirrors the seed study's design: AML blasts of 3 patients, each treated with lenalidomide
and with DMSO (vehicle), one array per sample — a paired design ``~ patient + treatment``.
Genes are real human genes of the bundled GO snapshot (symbols that name one Entrez gene,
with at least one direct Biological Process annotation), so that GO enrichment of the
simulated DE genes works offline.

Model (log2 expression of gene ``g`` in the sample of patient ``i`` under treatment ``j``)::

    y = μ_g + π_{g,i} + β_g · [j = lenalidomide] + ε,   ε ~ N(0, σ_g²)

with ``μ_g ~ U(4, 12)``, patient effects ``π ~ N(0, 0.35²)``, gene-wise ``σ_g² = 0.15² ·
4 / χ²_4`` (the scaled inverse χ² prior limma's empirical Bayes assumes) and ``β_g = 0``
except for the planted genes: a migration/adhesion signature of genes directly annotated to
BP terms named "cell adhesion", "cell migration", "cell motility", "cell-cell adhesion" or
"cell-matrix adhesion" (and their "regulation of" variants), of which 75 % go up, with
``|β| ~ U(0.9, 2.0)`` (1.9–4-fold). The true effects go to ``expression_truth.csv``.
"""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pandas as pd

__all__ = ["EXPRESSION_PATIENTS", "EXPRESSION_TREATMENTS", "SIGNATURE_TERMS",
           "write_expression_example", "expression_experiment_toml"]

#: the patients (paired design) and treatments (reference level first)
EXPRESSION_PATIENTS = ["P1", "P2", "P3"]
EXPRESSION_TREATMENTS = ["DMSO", "lenalidomide"]
#: names of the BP terms whose directly annotated genes form the planted signature
SIGNATURE_TERMS = re.compile(r"^((positive |negative )?regulation of )?"
                             r"(cell adhesion|cell migration|cell motility|"
                             r"cell-cell adhesion|cell-matrix adhesion)$")


def _genes(n_genes: int, n_signature: int, rng: np.random.Generator
           ) -> tuple[pd.DataFrame, set[str]]:
    """``n_genes`` snapshot genes (``entrez``, ``symbol``) and the planted Entrez IDs."""
    from ..enrichment.go import load_go

    go = load_go()
    terms = go.terms[go.terms["ontology"] == "BP"]
    bp_ann = go.annotations[go.annotations["term"].isin(set(terms["term"]))]
    sig_terms = set(terms.loc[terms["name"].astype(str).str.match(SIGNATURE_TERMS), "term"])
    symbols = go.symbol_map()
    by_id = {g: s for s, g in symbols.items()}
    annotated = sorted(set(bp_ann["gene"]) & set(by_id), key=int)
    in_sig = set(bp_ann.loc[bp_ann["term"].isin(sig_terms), "gene"])
    sig_pool = [g for g in annotated if g in in_sig]
    rest = [g for g in annotated if g not in in_sig]
    planted = [str(g) for g in rng.choice(sig_pool, size=n_signature, replace=False)]
    # the background draws from all annotated genes (signature genes at their natural rate)
    others = [g for g in sig_pool if g not in set(planted)] + rest
    background = [str(g) for g in rng.choice(sorted(others, key=int),
                                             size=n_genes - n_signature, replace=False)]
    ids = sorted([*planted, *background], key=int)
    return pd.DataFrame({"entrez": ids, "symbol": [by_id[g] for g in ids]}), set(planted)


def write_expression_example(directory: str | Path, *, seed: int = 2018,
                             n_genes: int = 2000, n_signature: int = 120
                             ) -> dict[str, Path]:
    """Write ``expression_matrix.csv`` (genes × 6 samples, log2, first column the gene
    symbol), ``expression_samples.csv`` (``sample``, ``patient``, ``treatment``) and
    ``expression_truth.csv`` (``symbol``, ``entrez``, ``planted``, ``true_logfc``).

    Parameters
    ----------
    directory
        Target folder (created if needed).
    seed
        Seed; the generator is ``numpy.random.default_rng([seed, 15])`` so that other
        simulators of the same study are unaffected.
    n_genes, n_signature
        Genes in the matrix and planted (changed) signature genes among them.

    Returns
    -------
    dict
        ``{"matrix": ..., "samples": ..., "truth": ...}`` paths.
    """
    root = Path(directory)
    root.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng([seed, 15])
    genes, planted = _genes(n_genes, n_signature, rng)
    n = len(genes)
    mu = rng.uniform(4.0, 12.0, n)
    sigma = 0.15 * np.sqrt(4.0 / rng.chisquare(4.0, n))
    is_planted = genes["entrez"].isin(planted).to_numpy()
    beta = np.zeros(n)
    k = int(is_planted.sum())
    sign = np.where(rng.random(k) < 0.75, 1.0, -1.0)
    beta[is_planted] = sign * rng.uniform(0.9, 2.0, k)
    samples = []
    columns = {}
    for patient in EXPRESSION_PATIENTS:
        pi = rng.normal(0.0, 0.35, n)
        for treatment in EXPRESSION_TREATMENTS:
            name = f"{patient}_{'LEN' if treatment == 'lenalidomide' else 'DMSO'}"
            samples.append({"sample": name, "patient": patient, "treatment": treatment})
            effect = beta if treatment == "lenalidomide" else 0.0
            columns[name] = mu + pi + effect + rng.normal(0.0, 1.0, n) * sigma
    matrix = pd.DataFrame(columns)
    matrix.insert(0, "gene", genes["symbol"].to_numpy())
    truth = pd.DataFrame({"symbol": genes["symbol"], "entrez": genes["entrez"],
                          "planted": is_planted, "true_logfc": beta})
    paths = {"matrix": root / "expression_matrix.csv",
             "samples": root / "expression_samples.csv",
             "truth": root / "expression_truth.csv"}
    matrix.to_csv(paths["matrix"], index=False, lineterminator="\n", float_format="%.4f")
    pd.DataFrame(samples).to_csv(paths["samples"], index=False, lineterminator="\n")
    truth.to_csv(paths["truth"], index=False, lineterminator="\n", float_format="%.4f")
    return paths


def expression_experiment_toml(name: str = "aml_expression", data: str = "data") -> str:
    """The ``[[experiment]]`` table of the simulated expression experiment (study text)."""
    return f'''
[[experiment]]
name = "{name}"
title = "Lenalidomide vs DMSO in AML blasts of 3 patients (expression arrays, paired)"
kind = "expression"
matrix = "{data}/expression_matrix.csv"    # genes x samples, log2; first column the gene
samples = "{data}/expression_samples.csv"  # sample, patient, treatment

[experiment.expression]
design = "~ patient + treatment"   # paired: patient as a blocking factor
coef = "lenalidomide"              # treatment level (vs the reference level DMSO)
fc = 1.5                           # the seed's filter: > 1.5-fold ...
p = 0.05                           # ... at p < 0.05; plus the FDR view
fdr = 0.05
heatmap_annotate = ["patient", "treatment"]

[experiment.enrichment]            # GO over-representation of the filtered genes
ontology = "BP"                    # against all genes of the matrix (bundled GO snapshot)
'''
