"""Units: z-score, OBO/GAF reading and propagation, mHG on GO, dot plot (no reference)."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from preclin.enrichment import activation_zscore, dot_plot, load_go, mhg, ora
from preclin.errors import InputError

OBO = """format-version: 1.2

[Term]
id: GO:0000001
name: root process
namespace: biological_process

[Term]
id: GO:0000002
name: child process
namespace: biological_process
is_a: GO:0000001 ! root process

[Term]
id: GO:0000003
name: regulation of child
namespace: biological_process
relationship: regulates GO:0000002 ! child process

[Term]
id: GO:0000009
name: old
namespace: biological_process
is_obsolete: true
"""


def _gaf(rows: list[tuple[str, str, str]]) -> str:
    out = ["!gaf-version: 2.2"]
    for gene, term, qual in rows:
        out.append("\t".join(["UniProtKB", "X" + gene, gene, qual, term, "PMID:1", "IDA", "",
                              "P", "", "", "protein", "taxon:9606", "20200101", "GO"]))
    return "\n".join(out) + "\n"


def test_zscore_unweighted_and_weighted() -> None:
    sets = pd.DataFrame({"set": ["A"] * 4 + ["B"] * 2, "gene": list("abcdab"),
                         "sign": [1, 1, -1, 1, "up", "down"]})
    obs = pd.DataFrame({"feature": list("abcd"), "logfc": [1.0, 2.0, -1.0, -0.5]})
    z = activation_zscore(sets, obs).set_index("set")
    assert z.loc["A", "zscore"] == pytest.approx((3 - 1) / 2)
    assert (z.loc["A", "n_consistent"], z.loc["A", "n_inconsistent"]) == (3, 1)
    assert z.loc["B", "zscore"] == pytest.approx(0.0)
    sets["w"] = [2.0, 1.0, 1.0, 1.0, 1.0, 1.0]
    zw = activation_zscore(sets, obs, weight_column="w").set_index("set")
    assert zw.loc["A", "zscore"] == pytest.approx((2 + 1 + 1 - 1) / math.sqrt(4 + 1 + 1 + 1))
    with pytest.raises(InputError):
        activation_zscore(sets.assign(sign=["sideways"] * 6), obs)


def test_obo_gaf_propagation_and_ora(tmp_path: Path) -> None:
    (tmp_path / "go.obo").write_text(OBO)
    (tmp_path / "a.gaf").write_text(_gaf([("g1", "GO:0000003", ""), ("g2", "GO:0000002", ""),
                                          ("g3", "GO:0000001", ""),
                                          ("g4", "GO:0000002", "NOT")]))
    go = load_go(obo=tmp_path / "go.obo", gaf=tmp_path / "a.gaf")
    pr = go.propagated()
    by_term = pr.groupby("term", observed=True)["gene"].apply(lambda s: sorted(map(str, s)))
    assert by_term["GO:0000001"] == ["g1", "g2", "g3"]  # regulates, then is_a
    assert by_term["GO:0000002"] == ["g1", "g2"]
    assert "g4" not in set(pr["gene"].astype(str))  # NOT qualifier
    isa_only = go.propagated(relations=("is_a",))
    assert sorted(map(str, isa_only[isa_only["term"] == "GO:0000002"]["gene"])) == ["g2"]
    res = ora(["g1", "g2"], ["g1", "g2", "g3", "g5"], go=go, id_type="symbol")
    row = res.table.set_index("term").loc["GO:0000002"]
    assert (row["n"], row["de"]) == (2, 2)
    # g5 is unknown to the GAF, so it leaves the universe (goana's rule): C(2,2)/C(3,2)
    assert row["p_value"] == pytest.approx(1 / 3)
    assert res.n_universe == 3 and "g5" in set(res.excluded["gene"])


def test_mhg_on_go_snapshot_planted_signal() -> None:
    go = load_go()
    pr = go.propagated()
    members = sorted(set(pr[pr["term"] == "GO:0030155"]["gene"].astype(str)))[:40]
    others = sorted(set(pr["gene"].astype(str)) - set(members))[:1500]
    ranked = members[:30] + others[:500] + members[30:] + others[500:]
    res = mhg(ranked, go=go, ontology="BP", max_size=300)
    top = res.table.set_index("term")
    assert top.loc["GO:0030155", "p_value"] < 1e-20  # regulation of cell adhesion
    assert top.loc["GO:0030155", "cutoff"] <= 40
    assert (res.table["p_value"] >= res.table["statistic"] * (1 - 1e-12)).all()
    assert res.table["p_value"].is_monotonic_increasing
    fig = dot_plot(res.table, top=10)
    ax = fig.axes[0]
    assert len(ax.collections[0].get_offsets()) == 10
    assert "GO:0030155" in " ".join(t.get_text() for t in ax.get_yticklabels())


def test_bad_inputs() -> None:
    with pytest.raises(InputError):
        ora(["999999999"], ["999999999"])
    with pytest.raises(InputError):
        mhg(["1"])
    with pytest.raises(InputError):
        load_go(obo="x.obo")
    assert np.isnan(np.nan)


def test_cli_ora_and_mhg(tmp_path: Path) -> None:
    from preclin.cli import main

    go = load_go()
    pr = go.propagated()
    members = sorted(set(pr[pr["term"] == "GO:0030155"]["gene"].astype(str)))[:30]
    universe = sorted(set(pr["gene"].astype(str)))[:3000] + members
    (tmp_path / "genes.txt").write_text("\n".join(members) + "\n")
    (tmp_path / "uni.txt").write_text("\n".join(universe) + "\n")
    out = tmp_path / "ora.csv"
    assert main(["enrichment", "ora", "--genes", str(tmp_path / "genes.txt"), "--universe",
                 str(tmp_path / "uni.txt"), "--ontology", "BP", "--out", str(out)]) == 0
    tab = pd.read_csv(out)
    assert list(tab.columns)[:7] == ["term", "name", "ontology", "n", "de", "p_value",
                                     "adj_p_value"]
    assert set(tab["ontology"]) == {"BP"}
    ranked = members + [g for g in universe if g not in set(members)][:800]
    (tmp_path / "ranked.txt").write_text("\n".join(ranked) + "\n")
    out2 = tmp_path / "mhg.csv"
    assert main(["enrichment", "mhg", "--ranked", str(tmp_path / "ranked.txt"), "--x", "2",
                 "--l", "400", "--ontology", "MF", "--out", str(out2)]) == 0
    t2 = pd.read_csv(out2)
    assert list(t2.columns)[:5] == ["term", "statistic", "cutoff", "p_value", "adj_p_value"]
    assert (t2["cutoff"] <= 400).all()
    assert main(["enrichment", "mhg", "--ranked", str(tmp_path / "ranked.txt"), "--l", "0",
                 "--out", str(out2)]) == 2
