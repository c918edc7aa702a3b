"""Gene Ontology offline: the bundled snapshot, or a user's OBO + GAF; propagation over the DAG.

The snapshot in ``preclin/data/go/`` is built by ``scripts/build_go_snapshot.py`` from
Debian's ``r-bioc-go.db`` (GO.sqlite) and ``r-bioc-org.hs.eg.db`` (org.Hs.eg.sqlite); its
``snapshot.json`` records source versions, dates and SHA-256 sums. Nothing is downloaded.

Annotations are propagated to every ancestor term within the same ontology over the
relations ``is_a``, ``part_of``, ``regulates``, ``positively_regulates`` and
``negatively_regulates`` (:data:`PROPAGATE_RELATIONS`, the relations of go-basic.obo and of
Bioconductor's GO2ALLEGS maps, hence limma ``goana``'s); all evidence codes are kept unless
``evidence`` says otherwise.
"""

from __future__ import annotations

import gzip
import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path

import numpy as np
import pandas as pd

from ..errors import InputError

__all__ = ["GeneOntology", "load_go", "read_obo", "read_gaf", "PROPAGATE_RELATIONS",
           "SNAPSHOT_DIR"]

#: Relations over which annotations are propagated to ancestors.
PROPAGATE_RELATIONS: tuple[str, ...] = ("is_a", "part_of", "regulates",
                                        "positively_regulates", "negatively_regulates")

SNAPSHOT_DIR = Path(__file__).resolve().parents[1] / "data" / "go"


@dataclass(frozen=True)
class GeneOntology:
    """GO terms, DAG edges, direct gene annotations and the known genes of one species.

    Attributes
    ----------
    terms
        ``term`` (``GO:0006955``), ``name``, ``ontology`` (BP/MF/CC).
    edges
        ``child``, ``parent``, ``relation``.
    annotations
        Direct annotations: ``gene`` (text), ``term``, ``evidence``.
    genes
        Known genes: ``gene`` (text ID), ``symbol``.
    source
        Where it came from (versions, dates, files).
    """

    terms: pd.DataFrame
    edges: pd.DataFrame
    annotations: pd.DataFrame
    genes: pd.DataFrame
    source: dict[str, object] = field(default_factory=dict)
    _cache: dict[tuple[object, ...], pd.DataFrame] = field(default_factory=dict, repr=False,
                                                           compare=False)

    def propagated(self, *, relations: Sequence[str] = PROPAGATE_RELATIONS,
                   evidence: Iterable[str] | None = None,
                   exclude_evidence: Iterable[str] = ()) -> pd.DataFrame:
        """Gene-term pairs after propagation to all ancestors (within the term's
        ontology, over ``relations``), de-duplicated: columns ``gene`` and ``term``
        (categoricals), sorted by term then gene. Cached per setting."""
        key = (tuple(relations), None if evidence is None else tuple(sorted(evidence)),
               tuple(sorted(exclude_evidence)))
        if key not in self._cache:
            self._cache[key] = self._propagate(relations, evidence, exclude_evidence)
        return self._cache[key]

    def _propagate(self, relations: Sequence[str], evidence: Iterable[str] | None,
                   exclude_evidence: Iterable[str]) -> pd.DataFrame:
        from scipy import sparse

        ann = self.annotations
        if evidence is not None:
            ann = ann[ann["evidence"].astype(str).isin(set(evidence))]
        ex = set(exclude_evidence)
        if ex:
            ann = ann[~ann["evidence"].astype(str).isin(ex)]
        term_ids = self.terms["term"].to_numpy()
        tix = pd.Index(term_ids)
        ont = self.terms["ontology"].astype(str).to_numpy()
        e = self.edges[self.edges["relation"].astype(str).isin(set(relations))]
        ci = tix.get_indexer(e["child"])
        pi = tix.get_indexer(e["parent"])
        ok = (ci >= 0) & (pi >= 0)
        ci, pi = ci[ok], pi[ok]
        same = ont[ci] == ont[pi]
        ci, pi = ci[same], pi[same]
        nt = len(term_ids)
        step = sparse.csr_matrix((np.ones(len(ci), dtype=np.int8), (ci, pi)), shape=(nt, nt))
        closure = (sparse.identity(nt, dtype=np.int8, format="csr") + step).astype(bool)
        while True:  # transitive closure by squaring: reach(2d) from reach(d)
            nxt = (closure @ closure).astype(bool)
            if nxt.nnz == closure.nnz:
                break
            closure = nxt
        genes = ann["gene"].astype(str).to_numpy()
        gidx, gnames = pd.factorize(genes)
        tcol = tix.get_indexer(ann["term"])
        keep = tcol >= 0
        g = sparse.csr_matrix((np.ones(int(keep.sum()), dtype=np.int8),
                               (gidx[keep], tcol[keep])), shape=(len(gnames), nt)).astype(bool)
        full = (g @ closure).astype(bool).tocoo()
        order = np.lexsort((full.row, full.col))
        return pd.DataFrame({
            "gene": pd.Categorical.from_codes(full.row[order].astype(np.int32),
                                              categories=pd.Index(np.asarray(gnames,
                                                                             dtype=object))),
            "term": pd.Categorical.from_codes(full.col[order].astype(np.int32),
                                              categories=pd.Index(np.asarray(term_ids,
                                                                             dtype=object))),
        })

    def symbol_map(self) -> dict[str, str]:
        """Symbol → gene ID (symbols that name one gene only)."""
        g = self.genes.dropna(subset=["symbol"])
        counts = g["symbol"].value_counts()
        uniq = g[g["symbol"].map(counts) == 1]
        return dict(zip(uniq["symbol"].astype(str), uniq["gene"].astype(str), strict=True))


def _go_text(ids: pd.Series) -> pd.Series:
    return "GO:" + ids.astype("int64").astype(str).str.zfill(7)


@cache
def _snapshot(directory: str) -> GeneOntology:
    d = Path(directory)
    files = ["terms.parquet", "edges.parquet", "annotations_hs.parquet", "genes_hs.parquet",
             "snapshot.json"]
    missing = [f for f in files if not (d / f).is_file()]
    if missing:
        raise InputError(f"GO snapshot incomplete: {', '.join(missing)} missing "
                         f"(build it with scripts/build_go_snapshot.py)", file=d)
    terms = pd.read_parquet(d / "terms.parquet")
    terms["term"] = _go_text(terms["term"])
    terms["ontology"] = terms["ontology"].astype(str)
    edges = pd.read_parquet(d / "edges.parquet")
    edges["child"] = _go_text(edges["child"])
    edges["parent"] = _go_text(edges["parent"])
    edges["relation"] = edges["relation"].astype(str)
    ann = pd.read_parquet(d / "annotations_hs.parquet")
    ann["gene"] = ann["gene"].astype(str)
    ann["term"] = _go_text(ann["term"])
    ann["evidence"] = ann["evidence"].astype(str)
    genes = pd.read_parquet(d / "genes_hs.parquet")
    genes["gene"] = genes["gene"].astype(str)
    meta = json.loads((d / "snapshot.json").read_text())
    meta["path"] = str(d)
    return GeneOntology(terms=terms, edges=edges, annotations=ann, genes=genes, source=meta)


def load_go(*, obo: str | Path | None = None, gaf: str | Path | None = None,
            snapshot: str | Path | None = None, gene_id: str = "symbol") -> GeneOntology:
    """Load GO: the bundled human snapshot (default), another snapshot folder, or an OBO
    file plus a GAF file.

    Parameters
    ----------
    obo, gaf
        go-basic.obo (or go.obo) and a GO annotation file (GAF 2.x, ``.gz`` allowed).
    snapshot
        Folder written by ``scripts/build_go_snapshot.py``.
    gene_id
        With a GAF: identify genes by ``symbol`` (column 3, default) or ``id`` (column 2).
    """
    if (obo is None) != (gaf is None):
        raise InputError("give both an OBO file and a GAF file, or neither")
    if obo is not None and gaf is not None:
        terms, edges = read_obo(obo)
        ann = read_gaf(gaf, gene_id=gene_id)
        genes = pd.DataFrame({"gene": ann["gene"].unique()})
        genes["symbol"] = genes["gene"] if gene_id == "symbol" else np.nan
        return GeneOntology(terms=terms, edges=edges, annotations=ann, genes=genes,
                            source={"obo": str(obo), "gaf": str(gaf)})
    return _snapshot(str(Path(snapshot) if snapshot is not None else SNAPSHOT_DIR))


def _read_text(path: Path) -> list[str]:
    if not path.is_file():
        raise InputError("file not found", file=path)
    raw = path.read_bytes()
    if raw[:2] == b"\x1f\x8b":
        raw = gzip.decompress(raw)
    return raw.decode("utf-8", errors="replace").splitlines()


_NAMESPACES = {"biological_process": "BP", "molecular_function": "MF",
               "cellular_component": "CC"}


def read_obo(path: str | Path) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Terms and edges of an OBO 1.2/1.4 file (``[Term]`` stanzas; obsolete terms left
    out). Relations read: ``is_a`` and the ``relationship:`` lines."""
    p = Path(path)
    terms: list[tuple[str, str, str]] = []
    edges: list[tuple[str, str, str]] = []
    cur: dict[str, object] | None = None

    def flush() -> None:
        if cur and not cur.get("obsolete") and "id" in cur:
            tid = str(cur["id"])
            terms.append((tid, str(cur.get("name", "")),
                          _NAMESPACES.get(str(cur.get("namespace", "")), "")))
            for rel, parent in cur.get("edges", []):  # type: ignore[attr-defined]
                edges.append((tid, parent, rel))

    for line in _read_text(p):
        line = line.strip()
        if line.startswith("["):
            flush()
            cur = {"edges": []} if line == "[Term]" else None
            continue
        if cur is None or ":" not in line:
            continue
        key, val = line.split(":", 1)
        val = val.split("!", 1)[0].strip()
        if key == "id":
            cur["id"] = val
        elif key == "name":
            cur["name"] = line.split(":", 1)[1].strip()
        elif key == "namespace":
            cur["namespace"] = val
        elif key == "is_obsolete" and val == "true":
            cur["obsolete"] = True
        elif key == "is_a":
            cur["edges"].append(("is_a", val.split()[0]))  # type: ignore[attr-defined]
        elif key == "relationship":
            parts = val.split()
            if len(parts) >= 2:
                cur["edges"].append((parts[0], parts[1]))  # type: ignore[attr-defined]
    flush()
    if not terms:
        raise InputError("no [Term] stanza found: not an OBO file", file=p)
    t = pd.DataFrame(terms, columns=["term", "name", "ontology"])
    e = pd.DataFrame(edges, columns=["child", "parent", "relation"])
    return t, e


def read_gaf(path: str | Path, *, gene_id: str = "symbol") -> pd.DataFrame:
    """Direct annotations from a GAF 2.x file: ``gene``, ``term``, ``evidence``; rows with a
    ``NOT`` qualifier are left out."""
    if gene_id not in ("symbol", "id"):
        raise InputError(f"gene_id must be 'symbol' or 'id', got {gene_id!r}")
    p = Path(path)
    rows = []
    col = 2 if gene_id == "symbol" else 1
    for i, line in enumerate(_read_text(p)):
        if not line or line.startswith("!"):
            continue
        f = line.split("\t")
        if len(f) < 15:
            raise InputError(f"GAF line with {len(f)} columns (15 or more expected)", file=p,
                             location=f"line {i + 1}")
        if "NOT" in f[3].split("|"):
            continue
        rows.append((f[col], f[4], f[6]))
    if not rows:
        raise InputError("no annotation line found", file=p)
    return pd.DataFrame(rows, columns=["gene", "term", "evidence"]).drop_duplicates()
