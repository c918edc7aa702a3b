#!/usr/bin/env python
"""Build preclin's offline GO snapshot (compact Parquet) from Debian's Bioconductor packages.

Sources (install with ``apt-get install r-bioc-go.db r-bioc-org.hs.eg.db``):

* ``GO.db/extdata/GO.sqlite``: terms (``go_term``) and the parent edges of each ontology
  (``go_bp_parents``, ``go_mf_parents``, ``go_cc_parents``: is_a, part_of, regulates,
  positively/negatively regulates);
* ``org.Hs.eg.db/extdata/org.Hs.eg.sqlite``: every human Entrez gene with its symbol
  (``genes``, ``gene_info``) and the direct GO annotations with evidence codes (``go_bp``,
  ``go_mf``, ``go_cc``).

Writes to ``src/preclin/data/go/`` (or ``--out``): ``terms.parquet`` (term, name,
ontology), ``edges.parquet`` (child, parent, relation), ``annotations_hs.parquet``
(gene, term, evidence; direct annotations only — propagation happens at run time),
``genes_hs.parquet`` (gene, symbol) and ``snapshot.json`` (source versions, source dates,
SHA-256 of the SQLite files, build date). GO terms are stored as integers (GO:0006955 →
6955). Run: ``python scripts/build_go_snapshot.py [--site-library /usr/lib/R/site-library]``.

Licences: GO content CC BY 4.0 (Gene Ontology Consortium); GO.db and org.Hs.eg.db
Artistic-2.0; Entrez Gene data from NCBI.
"""

from __future__ import annotations

import argparse
import datetime as dt
import hashlib
import json
import sqlite3
import subprocess
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

RELATIONS = {"isa": "is_a", "part of": "part_of", "regulates": "regulates",
             "positively regulates": "positively_regulates",
             "negatively regulates": "negatively_regulates"}


def _sha256(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def _goint(ids: pd.Series) -> pd.Series:
    return ids.str.slice(3).astype("int32")


def _deb_version(package: str) -> str | None:
    try:
        out = subprocess.run(["dpkg-query", "-W", "-f=${Version}", package],
                             capture_output=True, text=True, check=True)
        return out.stdout.strip() or None
    except (OSError, subprocess.CalledProcessError):
        return None


def _r_version(site: Path, package: str) -> str | None:
    desc = site / package / "DESCRIPTION"
    if not desc.is_file():
        return None
    for line in desc.read_text().splitlines():
        if line.startswith("Version:"):
            return line.split(":", 1)[1].strip()
    return None


def _write(df: pd.DataFrame, path: Path) -> None:
    table = pa.Table.from_pandas(df, preserve_index=False)
    pq.write_table(table, path, compression="zstd", compression_level=19,
                   use_dictionary=True)


def build(site: Path, out: Path) -> dict[str, object]:
    go_db = site / "GO.db" / "extdata" / "GO.sqlite"
    org_db = site / "org.Hs.eg.db" / "extdata" / "org.Hs.eg.sqlite"
    for f in (go_db, org_db):
        if not f.is_file():
            raise SystemExit(f"{f} not found: apt-get install r-bioc-go.db r-bioc-org.hs.eg.db")
    out.mkdir(parents=True, exist_ok=True)
    with sqlite3.connect(f"file:{go_db}?mode=ro", uri=True) as con:
        terms = pd.read_sql("SELECT _id, go_id, term, ontology FROM go_term", con)
        edges = []
        for ont in ("bp", "mf", "cc"):
            e = pd.read_sql(f"SELECT _id, _parent_id, relationship_type FROM go_{ont}_parents",
                            con)
            edges.append(e)
        go_meta = dict(con.execute("SELECT name, value FROM metadata").fetchall())
    edge = pd.concat(edges, ignore_index=True)
    idmap = terms.set_index("_id")["go_id"]
    # GO.db links the three roots to a pseudo-term 'all' (ontology 'universal'): not GO
    edge = edge[edge["_parent_id"].map(idmap).str.startswith("GO:")]
    unknown = set(edge["relationship_type"]) - set(RELATIONS)
    if unknown:
        raise SystemExit(f"unexpected GO relations {sorted(unknown)}")
    edges_df = pd.DataFrame({
        "child": _goint(edge["_id"].map(idmap)),
        "parent": _goint(edge["_parent_id"].map(idmap)),
        "relation": pd.Categorical(edge["relationship_type"].map(RELATIONS),
                                   categories=sorted(set(RELATIONS.values()))),
    }).drop_duplicates().sort_values(["child", "parent", "relation"]).reset_index(drop=True)
    terms = terms[terms["ontology"].isin(["BP", "MF", "CC"])]
    terms_df = pd.DataFrame({"term": _goint(terms["go_id"]), "name": terms["term"],
                             "ontology": pd.Categorical(terms["ontology"],
                                                        categories=["BP", "MF", "CC"])})
    terms_df = terms_df.sort_values("term").reset_index(drop=True)
    with sqlite3.connect(f"file:{org_db}?mode=ro", uri=True) as con:
        genes = pd.read_sql("SELECT g._id, g.gene_id, i.symbol FROM genes g "
                            "LEFT JOIN gene_info i ON g._id = i._id", con)
        ann = pd.concat([pd.read_sql(f"SELECT _id, go_id, evidence FROM go_{o}", con)
                         for o in ("bp", "mf", "cc")], ignore_index=True)
        org_meta = dict(con.execute("SELECT name, value FROM metadata").fetchall())
    gmap = genes.set_index("_id")["gene_id"].astype("int64")
    ann_df = pd.DataFrame({"gene": ann["_id"].map(gmap).astype("int32"),
                           "term": _goint(ann["go_id"]),
                           "evidence": ann["evidence"]})
    ann_df["evidence"] = pd.Categorical(ann_df["evidence"],
                                        categories=sorted(ann_df["evidence"].unique()))
    ann_df = ann_df.drop_duplicates().sort_values(["gene", "term", "evidence"])
    genes_df = pd.DataFrame({"gene": genes["gene_id"].astype("int32"),
                             "symbol": genes["symbol"]}).sort_values("gene")
    _write(terms_df, out / "terms.parquet")
    _write(edges_df, out / "edges.parquet")
    _write(ann_df.reset_index(drop=True), out / "annotations_hs.parquet")
    _write(genes_df.reset_index(drop=True), out / "genes_hs.parquet")
    meta: dict[str, object] = {
        "built": dt.date.today().isoformat(),
        "builder": "scripts/build_go_snapshot.py",
        "species": "Homo sapiens (taxon 9606)",
        "gene_ids": "NCBI Entrez Gene",
        "go_source": go_meta.get("GOSOURCEURL"),
        "go_source_date": go_meta.get("GOSOURCEDATE"),
        "gene_source_date": org_meta.get("EGSOURCEDATE"),
        "annotation_source_date": org_meta.get("GOEGSOURCEDATE"),
        "GO.db": {"version": _r_version(site, "GO.db"),
                  "debian": _deb_version("r-bioc-go.db"), "sha256": _sha256(go_db)},
        "org.Hs.eg.db": {"version": _r_version(site, "org.Hs.eg.db"),
                         "debian": _deb_version("r-bioc-org.hs.eg.db"),
                         "sha256": _sha256(org_db)},
        "counts": {"terms": len(terms_df), "edges": len(edges_df),
                   "annotations": len(ann_df), "genes": len(genes_df)},
        "licence": "GO: CC BY 4.0 (Gene Ontology Consortium); GO.db, org.Hs.eg.db: "
                   "Artistic-2.0 (Bioconductor); gene data: NCBI Entrez Gene",
    }
    (out / "snapshot.json").write_text(json.dumps(meta, indent=2) + "\n")
    return meta


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--site-library", type=Path, default=Path("/usr/lib/R/site-library"))
    ap.add_argument("--out", type=Path,
                    default=Path(__file__).resolve().parents[1] / "src/preclin/data/go")
    args = ap.parse_args()
    meta = build(args.site_library, args.out)
    print(json.dumps(meta["counts"]), "->", args.out)


if __name__ == "__main__":
    main()
