"""geNorm and NormFinder against the NormqPCR vignette and rdml-tools' geNorm."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest

from preclin.qpcr import genorm, normfinder, normfinder_stepwise

ATOL = 5e-7


@pytest.fixture(scope="module")
def nq(qpcr_ref: Path) -> tuple[Path, dict]:
    d = qpcr_ref / "normqpcr"
    return d, json.loads((d / "expected.json").read_text())


def _tissue(d: Path, tissue: str) -> pd.DataFrame:
    ex = pd.read_csv(d / "geNorm_exprs.csv", index_col=0).T
    ph = pd.read_csv(d / "geNorm_pheno.csv")
    return ex.loc[ph.loc[ph["tissue"] == tissue, "sample"]]


def test_genorm_bm_stepwise_trace(nq: tuple[Path, dict]) -> None:
    d, exp = nq
    res = genorm(_tissue(d, "BM"))
    for step in exp["geNorm"]["BM_stepwise_M"]:
        got = res.steps[res.steps["n_genes"] == step["n_genes"]].set_index("gene")["M"]
        assert set(got.index) == set(step["M"])
        for gene, m in step["M"].items():
            assert got[gene] == pytest.approx(m, abs=ATOL)


@pytest.mark.parametrize("tissue", ["BM", "POOL", "FIB", "LEU", "NB"])
def test_genorm_rankings_mean_m_and_v(nq: tuple[Path, dict], tissue: str) -> None:
    d, exp = nq
    res = genorm(_tissue(d, tissue))
    want = exp["geNorm"]["rankings_best_first"][tissue]
    got = res.ranking["gene"].tolist()
    assert set(got[:2]) == set(want[:2]) and got[2:] == want[2:]
    comp = exp["geNorm"]["computed_here"]["per_tissue"][tissue]
    assert res.mean_m["mean_M"].tolist() == pytest.approx(comp["meanM_10_to_2"], abs=ATOL)
    v = dict(zip(res.pairwise_v["label"], res.pairwise_v["V"], strict=True))
    for label, val in comp["V"].items():
        assert v[label] == pytest.approx(val, abs=ATOL)


@pytest.mark.parametrize(("name", "group"), [("Colon", "Classification"), ("Bladder", "Grade")])
def test_normfinder_rho(nq: tuple[Path, dict], name: str, group: str) -> None:
    d, exp = nq
    e = pd.read_csv(d / f"{name}_exprs.csv", index_col=0).T
    ph = pd.read_csv(d / f"{name}_pheno.csv").set_index("sample").loc[e.index]
    res = normfinder(e, ph[group].tolist())
    want = exp["NormFinder"][name]["rho"]
    got = res.stability.set_index("gene")["rho"]
    for gene, rho in want.items():
        assert got[gene] == pytest.approx(rho, abs=ATOL)
    assert res.stability["gene"].tolist() == list(want)  # best first, same order


def test_genorm_ungrouped_rankings(nq: tuple[Path, dict]) -> None:
    d, exp = nq
    for name in ("Colon", "Bladder"):
        e = pd.read_csv(d / f"{name}_exprs.csv", index_col=0).T
        want = exp["NormFinder"][name]["geNorm_ranking_ungrouped"]
        got = genorm(e).ranking["gene"].tolist()
        assert set(got[:2]) == set(want[:2]) and got[2:] == want[2:]


@pytest.mark.parametrize(("name", "group"), [("Colon", "Classification"), ("Bladder", "Grade")])
def test_normfinder_stepwise_ranking(nq: tuple[Path, dict], name: str, group: str) -> None:
    d, exp = nq
    e = pd.read_csv(d / f"{name}_exprs.csv", index_col=0).T
    ph = pd.read_csv(d / f"{name}_pheno.csv").set_index("sample").loc[e.index]
    nf = exp["NormFinder"][name]
    key = next(k for k in nf if k.startswith("stepwise_ranking"))
    res = normfinder_stepwise(e, ph[group].tolist(), n=len(nf[key]))
    assert res["gene"].tolist() == nf[key]
    first = normfinder(e, ph[group].tolist()).stability.iloc[0]
    assert res["rho"].iloc[0] == pytest.approx(first["rho"], abs=1e-12)
    if "stepwise_second_round_rho" in nf:  # the vignette's trace of step 2
        assert res["rho"].iloc[1] == pytest.approx(
            nf["stepwise_second_round_rho"][res["gene"].iloc[1]], abs=ATOL)


def test_genorm_on_rdml_tools_file(qpcr_ref: Path) -> None:
    from preclin.qpcr.rdml import read_rdml_quantities

    d = qpcr_ref / "rdml_tools"
    exp = json.loads((d / "expected.json").read_text())["genorm.rdml"]
    q = read_rdml_quantities(d / "genorm.rdml")
    assert len(q) == 90 and q["ncopy"].notna().all()
    res = genorm(q.pivot(index="sample", columns="target", values="ncopy"))
    first = res.steps[res.steps["n_genes"] == 9].set_index("gene")["M"]
    for gene, m in exp["rdmlpython_3.0.1_genorm"]["M_values_all_9_genes"].items():
        assert first[gene] == pytest.approx(m, abs=1e-6)
    step = exp["independent_check_here"]["stepwise_geNorm"]
    assert res.ranking["gene"].tolist()[2:] == step["ranking_best_first"][2:]
    assert set(res.ranking["gene"].tolist()[:2]) == set(step["final_pair"])
    assert res.mean_m["mean_M"].tolist() == pytest.approx(step["meanM_9_to_2"], abs=1e-6)
    v = dict(zip(res.pairwise_v["label"], res.pairwise_v["V"], strict=True))
    for label, val in step["V_stepwise"].items():
        assert v[label] == pytest.approx(val, abs=1e-6)
