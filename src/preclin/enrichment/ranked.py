"""GOrilla's minimum-hypergeometric (mHG) test on a ranked list, with XL-mHG's X and L.

Definitions (Eden et al. 2007, 2009; Wagner 2015): v is a 0/1 vector over the N ranked
genes (1 = in the gene set), K ones. HGT(k; N, K, n) = P(Y ≥ k), Y ~ Hypergeometric(N, K,
n). The statistic is the minimum of HGT(k_n; N, K, n) over the cutoffs n ≤ L at a 1 with
k_n ≥ X (k_n = ones among the first n), 1 if none; the cutoff is the first n attaining it.
The p value is P(statistic ≤ observed) when the K ones are placed uniformly at random, found
exactly by dynamic programming over the lattice of (n, k): the probability mass of paths
entering the rejection region is summed directly (``docs/methods/enrichment.md``).
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd
from numpy.typing import ArrayLike

from ..errors import InputError
from ._util import bh_adjust
from .go import GeneOntology, load_go

__all__ = ["MHGResult", "xlmhg_test", "mhg", "MHG_COLUMNS", "REL_TOL"]

#: Relative tolerance when comparing HGT values with the statistic (points within it count
#: as equal: mathematically equal tails computed along different paths).
REL_TOL = 1e-12

#: Columns of :attr:`MHGResult.table`.
MHG_COLUMNS: dict[str, str] = {
    "term": "GO term ID",
    "name": "term name",
    "ontology": "BP, MF or CC",
    "n": "genes of the ranked list annotated to the term (K)",
    "statistic": "XL-mHG statistic (minimum hypergeometric tail)",
    "cutoff": "list position where the minimum is reached (0: none)",
    "de": "term genes among the first `cutoff` genes",
    "enrichment": "(de/cutoff)/(n/N): enrichment at the cutoff",
    "p_value": "exact p value of the statistic",
    "adj_p_value": "Benjamini–Hochberg FDR over the terms tested",
}


def xlmhg_test(v: ArrayLike, *, X: int = 1, L: int | None = None) -> tuple[float, int, float]:
    """XL-mHG test of one 0/1 vector ranked best first.

    Parameters
    ----------
    v
        0/1 values (1 = in the set), best rank first.
    X
        Minimum number of ones at a cutoff (X).
    L
        Largest cutoff considered (L, default N).

    Returns
    -------
    statistic, cutoff, p_value

    Examples
    --------
    >>> v = [1, 0, 1, 1, 0, 1] + [0] * 12 + [1, 0]
    >>> stat, cutoff, p = xlmhg_test(v)
    >>> round(stat, 10), cutoff, round(p, 10)
    (0.0139318885, 6, 0.0244453044)
    """
    from ._mhg_kernel import mhg_pvalue, mhg_stat

    arr = np.asarray(v)
    if arr.ndim != 1 or not np.isin(arr, (0, 1)).all():
        raise InputError("v must be a one-dimensional vector of 0 and 1")
    n = arr.size
    X, L = _check_xl(X, L, n)
    pos = np.flatnonzero(arr == 1).astype(np.int64) + 1
    ls, cut = mhg_stat(pos, n, X, L)
    lp = mhg_pvalue(ls, n, pos.size, X, L, REL_TOL)
    return math.exp(ls), int(cut), math.exp(lp)


def _check_xl(X: int, L: int | None, n: int) -> tuple[int, int]:
    if int(X) < 0:
        raise InputError(f"X must be ≥ 0, got {X}")
    ll = n if L is None else int(L)
    if not 1 <= ll <= n:
        raise InputError(f"L must be between 1 and the list length {n}, got {L}")
    return int(X), ll


@dataclass(frozen=True)
class MHGResult:
    """Result of :func:`mhg`: ``table`` (one row per term, sorted by p then term),
    ``excluded`` (genes of the list left out, with a reason), list length, X, L."""

    table: pd.DataFrame
    excluded: pd.DataFrame
    n_genes: int
    X: int
    L: int
    source: dict[str, object]

    def __repr__(self) -> str:
        sig = int((self.table["adj_p_value"] < 0.05).sum())
        return (f"<MHGResult: {len(self.table)} terms on {self.n_genes} ranked genes "
                f"(X={self.X}, L={self.L}), {sig} with FDR < 0.05>")


def mhg(ranked: Sequence[object] | Iterable[object], *, go: GeneOntology | None = None,
        ontology: str | Sequence[str] | None = None, X: int = 1, L: int | None = None,
        id_type: str = "auto", min_size: int = 2, max_size: int | None = None) -> MHGResult:
    """GOrilla: mHG enrichment of every GO term along a ranked gene list.

    Parameters
    ----------
    ranked
        Gene IDs (Entrez or symbols), best first; the list is the universe (genes the
        annotation does not know stay in the list as non-members).
    go
        Annotation (default: the bundled snapshot), propagated over the DAG.
    ontology
        BP, MF, CC or several (default all).
    X, L
        XL-mHG's X and L (defaults 1 and the list length: GOrilla's mHG).
    min_size, max_size
        Terms with fewer / more annotated genes in the list are not tested.

    Returns
    -------
    MHGResult
    """
    from ._mhg_kernel import mhg_many
    from .overrepresentation import _ontologies, resolve_genes

    go = go or load_go()
    onts = _ontologies(ontology)
    raw = [str(g).strip() for g in ranked]
    ids, dropped = resolve_genes(raw, go, id_type=id_type)
    if len(ids) < 2:
        raise InputError("the ranked list has fewer than two known genes")
    excluded = pd.DataFrame(dropped, columns=["gene", "reason"])
    n = len(ids)
    X, L = _check_xl(X, L, n)
    ann = go.propagated()
    gene_cat = ann["gene"].cat.categories
    rank_of = pd.Series(np.arange(1, n + 1, dtype=np.int64), index=pd.Index(ids))
    gene_rank = rank_of.reindex(gene_cat.astype(str)).to_numpy()
    gcode = ann["gene"].cat.codes.to_numpy()
    tcode = ann["term"].cat.codes.to_numpy()
    r = gene_rank[gcode]
    ok = ~np.isnan(r)
    r, tcode = r[ok].astype(np.int64), tcode[ok]
    order = np.lexsort((r, tcode))
    r, tcode = r[order], tcode[order]
    term_cat = ann["term"].cat.categories
    sizes = np.bincount(tcode, minlength=len(term_cat))
    terms = go.terms.set_index("term").reindex(term_cat)
    use = np.isin(terms["ontology"].to_numpy(), onts) & (sizes >= max(min_size, 1))
    if max_size is not None:
        use &= sizes <= max_size
    starts = np.concatenate([[0], np.cumsum(sizes)])
    idx = np.flatnonzero(use)
    pos = np.concatenate([r[starts[i]:starts[i + 1]] for i in idx]) if idx.size else \
        np.zeros(0, np.int64)
    offsets = np.concatenate([[0], np.cumsum(sizes[idx])]).astype(np.int64)
    lstat, cut, lp = _run(pos, offsets, n, X, L, mhg_many)
    de = np.array([int(np.searchsorted(pos[offsets[j]:offsets[j + 1]], c, side="right"))
                   for j, c in enumerate(cut)], dtype=np.int64)
    k = sizes[idx]
    with np.errstate(divide="ignore", invalid="ignore"):
        enr = np.where(cut > 0, (de / np.maximum(cut, 1)) / (k / n), np.nan)
    table = pd.DataFrame({"term": np.asarray(term_cat)[idx],
                          "name": terms["name"].to_numpy()[idx],
                          "ontology": terms["ontology"].to_numpy()[idx], "n": k,
                          "statistic": np.exp(lstat), "cutoff": cut, "de": de,
                          "enrichment": enr, "p_value": np.exp(lp)})
    table["adj_p_value"] = bh_adjust(table["p_value"].to_numpy())
    table = table.sort_values(["p_value", "term"], kind="stable").reset_index(drop=True)
    return MHGResult(table=table, excluded=excluded, n_genes=n, X=X, L=L,
                     source=dict(go.source))


def _run(pos: np.ndarray, offsets: np.ndarray, n: int, X: int, L: int,
         kernel: object) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Run the kernel; sets with identical rank vectors are computed once."""
    m = offsets.size - 1
    keys: dict[bytes, int] = {}
    first = np.empty(m, dtype=np.int64)
    uniq: list[int] = []
    for j in range(m):
        kb = pos[offsets[j]:offsets[j + 1]].tobytes()
        if kb not in keys:
            keys[kb] = len(uniq)
            uniq.append(j)
        first[j] = keys[kb]
    u = np.asarray(uniq, dtype=np.int64)
    upos = np.concatenate([pos[offsets[j]:offsets[j + 1]] for j in u]) if u.size else pos
    uoff = np.concatenate([[0], np.cumsum(offsets[u + 1] - offsets[u])]).astype(np.int64)
    ls, cut, lp = kernel(upos.astype(np.int64), uoff, n, X, L, REL_TOL)  # type: ignore[operator]
    return ls[first], cut[first], lp[first]
