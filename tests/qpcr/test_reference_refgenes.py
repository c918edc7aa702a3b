"""geNorm and NormFinder against the NormqPCR vignette and rdml-tools' geNorm."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest

from preclin.qpcr import genorm, normfinder

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
