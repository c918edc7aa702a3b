"""Over-representation analysis of GO terms (one-sided hypergeometric), as limma ``goana``.

For each term: N = universe genes annotated to it (after propagation over the DAG, see
:mod:`preclin.enrichment.go`), DE = selected genes among them; p = P(X ≥ DE) with X ~
Hypergeometric(universe size, N, number of selected genes) — the one-sided Fisher test.
Universe rule (goana's): the given IDs, de-duplicated and restricted to genes the
annotation source knows (annotated or not; unannotated genes count in the universe size);
without a universe, the annotated genes. Selected genes outside the universe are left out.
Terms with N = 0 are not reported. FDR: Benjamini–Hochberg over the terms reported.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from ..errors import InputError
from ._util import bh_adjust
from .go import PROPAGATE_RELATIONS, GeneOntology, load_go

__all__ = ["ORAResult", "ora", "resolve_genes", "ORA_COLUMNS"]

#: Columns of :attr:`ORAResult.table`.
ORA_COLUMNS: dict[str, str] = {
    "term": "GO term ID",
    "name": "term name",
    "ontology": "BP, MF or CC",
    "n": "universe genes annotated to the term (with propagation)",
    "de": "selected genes annotated to the term",
    "expected": "n · selected / universe",
    "p_value": "P(X ≥ de), one-sided hypergeometric",
    "adj_p_value": "Benjamini–Hochberg FDR over the terms reported",
}


@dataclass(frozen=True)
class ORAResult:
    """Result of :func:`ora`: ``table`` (one row per term, sorted by p, then term),
    ``excluded`` (IDs left out, with a reason), universe and selection sizes, source."""

    table: pd.DataFrame
    excluded: pd.DataFrame
    n_universe: int
    n_selected: int
    source: dict[str, object]

    def __repr__(self) -> str:
        sig = int((self.table["adj_p_value"] < 0.05).sum())
        return (f"<ORAResult: {len(self.table)} terms, {sig} with FDR < 0.05; "
                f"{self.n_selected} selected of {self.n_universe} universe genes>")


def resolve_genes(ids: Iterable[object], go: GeneOntology, *, id_type: str = "auto"
                  ) -> tuple[list[str], list[tuple[str, str]]]:
    """Map gene identifiers (Entrez IDs or symbols) to the annotation's gene IDs.

    ``id_type``: ``entrez``, ``symbol`` or ``auto`` (Entrez when every ID is a whole
    number). Returns the mapped IDs (de-duplicated, input order) and the ``(id, reason)``
    pairs left out.
    """
    raw = [str(i).strip() for i in ids if str(i).strip() not in ("", "nan")]
    if id_type == "auto":
        id_type = "entrez" if raw and all(r.isdigit() for r in raw) else "symbol"
    if id_type not in ("entrez", "symbol"):
        raise InputError(f"id_type must be entrez, symbol or auto, got {id_type!r}")
    seen: dict[str, None] = {}
    dropped: list[tuple[str, str]] = []
    if id_type == "symbol":
        smap = go.symbol_map()
        for r in raw:
            g = smap.get(r)
            if g is None:
                dropped.append((r, "symbol unknown to the annotation (or ambiguous)"))
            else:
                seen.setdefault(g, None)
    else:
        for r in raw:
            seen.setdefault(r.lstrip("0") or "0", None)
    return list(seen), dropped


def ora(selected: Iterable[object], universe: Iterable[object] | None = None, *,
        go: GeneOntology | None = None, ontology: str | Sequence[str] | None = None,
        id_type: str = "auto", relations: Sequence[str] = PROPAGATE_RELATIONS,
        evidence: Iterable[str] | None = None, exclude_evidence: Iterable[str] = (),
        min_size: int = 1, max_size: int | None = None) -> ORAResult:
    """GO over-representation of ``selected`` genes against ``universe`` (limma ``goana``).

    Parameters
    ----------
    selected, universe
        Gene IDs (Entrez or symbols).
    go
        A :class:`~preclin.enrichment.go.GeneOntology` (default: the bundled snapshot).
    ontology
        ``BP``, ``MF``, ``CC`` or several; default all three (BH over all reported terms).
    relations, evidence, exclude_evidence
        Propagation relations and evidence-code filters (default: all codes, as goana).
    min_size, max_size
        Report only terms with ``min_size ≤ n ≤ max_size``.

    Returns
    -------
    ORAResult
    """
    from scipy.stats import hypergeom

    go = go or load_go()
    onts = _ontologies(ontology)
    sel_ids, sel_drop = resolve_genes(selected, go, id_type=id_type)
    known = set(go.genes["gene"].astype(str))
    excluded = [(g, r, "selected") for g, r in sel_drop]
    ann = go.propagated(relations=relations, evidence=evidence,
                        exclude_evidence=exclude_evidence)
    gene_cat = ann["gene"].cat.categories
    if universe is None:
        uni = sorted(map(str, gene_cat))
    else:
        uni_ids, uni_drop = resolve_genes(universe, go, id_type=id_type)
        excluded += [(g, r, "universe") for g, r in uni_drop]
        uni = [g for g in uni_ids if g in known]
        excluded += [(g, "not a gene of the annotation source", "universe")
                     for g in uni_ids if g not in known]
    uni_set = set(uni)
    sel = [g for g in sel_ids if g in uni_set]
    excluded += [(g, "not in the universe", "selected") for g in sel_ids if g not in uni_set]
    if not uni:
        raise InputError("the universe is empty after mapping the gene IDs")
    if not sel:
        raise InputError("no selected gene is in the universe")
    in_uni = gene_cat.isin(uni_set)
    in_sel = gene_cat.isin(set(sel))
    gcode = ann["gene"].cat.codes.to_numpy()
    tcode = ann["term"].cat.codes.to_numpy()
    term_cat = ann["term"].cat.categories
    keep = in_uni[gcode]
    n_all = np.bincount(tcode[keep], minlength=len(term_cat))
    de_all = np.bincount(tcode[keep & in_sel[gcode]], minlength=len(term_cat))
    counts = pd.DataFrame({"n": n_all, "de": de_all}, index=pd.Index(term_cat, name="term"))
    counts = counts[counts["n"] > 0]
    terms = go.terms.set_index("term")
    counts = counts.join(terms[["name", "ontology"]], how="left")
    counts = counts[counts["ontology"].isin(onts)]
    counts = counts[counts["n"] >= min_size]
    if max_size is not None:
        counts = counts[counts["n"] <= max_size]
    n_uni, n_sel = len(uni), len(sel)
    n = counts["n"].to_numpy()
    de = counts["de"].to_numpy()
    p = hypergeom.sf(de - 1, n_uni, n, n_sel)
    table = pd.DataFrame({"term": counts.index.to_numpy(), "name": counts["name"].to_numpy(),
                          "ontology": counts["ontology"].to_numpy(), "n": n, "de": de,
                          "expected": n * n_sel / n_uni, "p_value": p})
    table["adj_p_value"] = bh_adjust(table["p_value"].to_numpy())
    table = table.sort_values(["p_value", "term"], kind="stable").reset_index(drop=True)
    exc = pd.DataFrame(excluded, columns=["gene", "reason", "list"])
    return ORAResult(table=table, excluded=exc, n_universe=n_uni, n_selected=n_sel,
                     source=dict(go.source))


def _ontologies(ontology: str | Sequence[str] | None) -> list[str]:
    if ontology is None:
        return ["BP", "MF", "CC"]
    items = [ontology] if isinstance(ontology, str) else list(ontology)
    out = []
    for o in items:
        for part in str(o).split(","):
            u = part.strip().upper()
            if u not in ("BP", "MF", "CC"):
                raise InputError(f"unknown ontology '{part}'; use BP, MF or CC")
            out.append(u)
    return out
