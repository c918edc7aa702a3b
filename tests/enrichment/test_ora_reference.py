"""GO over-representation vs limma goana 3.54.1 on the bundled GO snapshot (GO.db /
org.Hs.eg.db 3.16.0, the reference's sources)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from preclin.enrichment import load_go, ora


@pytest.fixture(scope="module")
def go():  # type: ignore[no-untyped-def]
    return load_go()


def test_snapshot_is_the_reference_source(go) -> None:  # type: ignore[no-untyped-def]
    meta = go.source
    assert meta["GO.db"]["version"] == "3.16.0"
    assert meta["org.Hs.eg.db"]["sha256"].startswith("bba36057")
    assert meta["go_source_date"] == "2022-07-01"


@pytest.mark.parametrize("case", ["immune", "mixed"])
def test_goana_all_terms(expr_ref: Path, go, case: str) -> None:  # type: ignore[no-untyped-def]
    d = expr_ref / "go_ora"
    de = (d / f"{case}_de_genes.txt").read_text().split()
    uni = (d / f"{case}_universe.txt").read_text().split()
    res = ora(de, uni, go=go)
    ref = pd.read_csv(d / f"{case}_goana_all_terms.csv.gz")
    assert set(ref["term"]) == set(res.table["term"])
    m = ref.merge(res.table, on="term", suffixes=("", "_py"))
    np.testing.assert_array_equal(m["N"], m["n"])
    np.testing.assert_array_equal(m["DE"], m["de"])
    assert np.max(np.abs(m["P.DE"] - m["p_value"]) / m["P.DE"]) < 1e-10
    assert np.max(np.abs(m["BH_all_terms"] - m["adj_p_value"]) / m["BH_all_terms"]) < 1e-10
    assert (m["name"] == m["name_py"]).all() and (m["ontology"] == m["ontology_py"]).all()
    if case == "mixed":
        assert (res.n_universe, res.n_selected) == (15000, 423)
        assert set(res.excluded["reason"]) >= {"not a gene of the annotation source",
                                               "not in the universe"}
    bp = ora(de, uni, go=go, ontology="BP")
    mb = ref[ref["ontology"] == "BP"].merge(bp.table, on="term")
    assert len(bp.table) == len(mb)
    assert np.max(np.abs(mb["BH_within_ontology"] - mb["adj_p_value"])
                  / mb["BH_within_ontology"]) < 1e-10


def test_versions_file_agrees(expr_ref: Path, go) -> None:  # type: ignore[no-untyped-def]
    text = (expr_ref / "go_ora" / "versions.txt").read_text()
    assert "GO.db 3.16.0" in text and str(go.source["GO.db"]["debian"]) in text
    assert json.dumps(go.source["counts"])
