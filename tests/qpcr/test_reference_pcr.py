"""pcr 1.2.2 (ct1–ct4) and qpcR (REST, geNorm manual) values reproduced."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from qpcr_helpers import wide_to_long

from preclin import stats
from preclin.qpcr import (
    delta_cq,
    efficiency_check,
    relative_quantities,
    relative_standard_curve,
    standard_curve,
)

RTOL = 1e-4
GROUPS = ["brain"] * 6 + ["kidney"] * 6


@pytest.fixture(scope="module")
def pcr(qpcr_ref: Path) -> tuple[Path, dict]:
    d = qpcr_ref / "pcr_package"
    return d, json.loads((d / "expected.json").read_text())


def _rows(expected: dict, key: str) -> dict[str, dict]:
    return {r["group"]: r for r in expected[key]["rows"]}


def _check_ddct(table: pd.DataFrame, rows: dict[str, dict], target: str, fold: str) -> None:
    t = table[table["target"] == target].set_index("sample")
    for g, r in rows.items():
        assert t.loc[g, "rq"] == pytest.approx(r[fold], rel=RTOL)
        assert t.loc[g, "log2_error"] == pytest.approx(r["error"], rel=RTOL)
        assert t.loc[g, "rq_lower"] == pytest.approx(r["lower"], rel=RTOL)
        assert t.loc[g, "rq_upper"] == pytest.approx(r["upper"], rel=RTOL)
        assert t.loc[g, "error_kind"] == "sd"


def test_ct1_ddct_separate_tubes(pcr: tuple[Path, dict]) -> None:
    d, exp = pcr
    wells = wide_to_long(pd.read_csv(d / "ct1.csv"), GROUPS)
    res = relative_quantities(wells, reference="GAPDH", calibrator="brain", method="ddct",
                              error="sd", calibrator_error=False)
    _check_ddct(res.table, _rows(exp, "ddct_ct1_separate_tube"), "c_myc",
                "relative_expression")


def test_ct2_ddct_same_tube(pcr: tuple[Path, dict]) -> None:
    d, exp = pcr
    wells = wide_to_long(pd.read_csv(d / "ct2.csv"), GROUPS)
    res = relative_quantities(wells, reference="GAPDH", calibrator="brain", method="ddct",
                              error="sd", calibrator_error=False, pairing="well")
    _check_ddct(res.table, _rows(exp, "ddct_ct2_same_tube"), "c_myc", "relative_expression")


def test_ct1_delta_ct_without_reference(pcr: tuple[Path, dict]) -> None:
    d, exp = pcr
    wells = wide_to_long(pd.read_csv(d / "ct1.csv")[["GAPDH"]], GROUPS)
    res = relative_quantities(wells, reference=None, calibrator="brain", method="ddct",
                              error="sd", calibrator_error=False)
    _check_ddct(res.table, _rows(exp, "delta_ct_ct1_GAPDH"), "GAPDH", "fold_change")


def test_ct4_ddct_huge_error(pcr: tuple[Path, dict]) -> None:
    d, exp = pcr
    wells = wide_to_long(pd.read_csv(d / "ct4.csv"), ["control"] * 12 + ["treatment"] * 12)
    res = relative_quantities(wells, reference="ref", calibrator="control", method="ddct",
                              error="sd", calibrator_error=False)
    _check_ddct(res.table, _rows(exp, "ddct_ct4"), "target", "relative_expression")


def test_ct3_standard_curves_and_efficiency_check(pcr: tuple[Path, dict]) -> None:
    d, exp = pcr
    amount = np.repeat([1, 0.5, 0.2, 0.1, 0.05, 0.02, 0.01], 3)
    wells = wide_to_long(pd.read_csv(d / "ct3.csv"), ["std"] * 21, amount)
    curves = standard_curve(wells).set_index("target")
    for gene, e in exp["standard_curve_ct3"].items():
        if gene == "definition" or gene == "call":
            continue
        c = curves.loc[gene]
        assert c["intercept"] == pytest.approx(e["intercept"], rel=RTOL)
        assert c["slope"] == pytest.approx(e["slope"], rel=RTOL)
        assert c["r2"] == pytest.approx(e["r_squared"], rel=RTOL)
        assert c["efficiency"] == pytest.approx(e["E"], rel=RTOL)
        assert c["efficiency_lower"] < c["efficiency"] < c["efficiency_upper"]
    chk = efficiency_check(wells, target="c_myc", reference="GAPDH")
    e = exp["efficiency_ct3"]["c_myc"]
    assert chk["slope"] == pytest.approx(e["slope"], rel=RTOL)
    assert chk["intercept"] == pytest.approx(e["intercept"], rel=RTOL)
    assert chk["r2"] == pytest.approx(e["r_squared"], rel=RTOL)


@pytest.mark.parametrize(("file", "key", "pairing"), [
    ("ct1.csv", "relative_curve_ct1", "separate"),
    ("ct2.csv", "relative_curve_ct2_same_tube", "well")])
def test_relative_standard_curve(pcr: tuple[Path, dict], file: str, key: str,
                                 pairing: str) -> None:
    d, exp = pcr
    amount = np.repeat([1, 0.5, 0.2, 0.1, 0.05, 0.02, 0.01], 3)
    curves = standard_curve(wide_to_long(pd.read_csv(d / "ct3.csv"), ["std"] * 21, amount))
    wells = wide_to_long(pd.read_csv(d / file), GROUPS)
    got = relative_standard_curve(wells, curves, target="c_myc", reference="GAPDH",
                                  calibrator="brain", pairing=pairing).set_index("sample")
    for g, r in _rows(exp, key).items():
        for col in ("normalized", "calibrated", "error"):
            assert got.loc[g, col] == pytest.approx(r[col], rel=RTOL)


def test_ct4_group_tests_through_stats(pcr: tuple[Path, dict]) -> None:
    d, exp = pcr
    wells = wide_to_long(pd.read_csv(d / "ct4.csv"), ["control"] * 12 + ["treatment"] * 12)
    dc = delta_cq(wells, reference="ref")
    x = dc.loc[dc["sample"] == "treatment", "delta_cq"]
    y = dc.loc[dc["sample"] == "control", "delta_cq"]
    e = exp["tests_ct4"]
    for res, ref in ((stats.welch(x, y), e["t.test"]), (stats.mann_whitney(x, y),
                                                      e["wilcox.test"]),
                     (stats.student(x, y), e["lm"])):
        assert res.effect == pytest.approx(ref["estimate"], rel=RTOL)
        assert res.p_value == pytest.approx(ref["p_value"], rel=RTOL)
        assert res.effect_lower == pytest.approx(ref["lower"], rel=RTOL)
        assert res.effect_upper == pytest.approx(ref["upper"], rel=RTOL)


@pytest.fixture(scope="module")
def qpcr_r(qpcr_ref: Path) -> tuple[Path, dict]:
    d = qpcr_ref / "qpcR"
    return d, json.loads((d / "expected.json").read_text())


def test_rest_pfaffl_ratio(qpcr_r: tuple[Path, dict]) -> None:
    d, exp = qpcr_r
    rest = pd.read_csv(d / "rest2008_ratioPar.csv")
    wells = pd.DataFrame({"well": [f"w{i}" for i in range(len(rest))],
                          "sample": rest["sample"], "target": rest["gene"], "cq": rest["cp"],
                          "task": "unknown", "quantity": np.nan, "efficiency": np.nan})
    res = relative_quantities(wells, reference="ref1", calibrator="control",
                              efficiency={"ref1": 1.97, "goi1": 2.01})
    t = res.table.set_index(["sample", "target"])
    e = exp["rest2008_ratioPar.csv"]
    assert t.loc[("treatment", "goi1"), "rq"] == pytest.approx(
        e["ratio_exact_arithmetic_here"], rel=1e-12)
    assert t.loc[("treatment", "goi1"), "rq"] == pytest.approx(e["ratio"], rel=1e-4)
    assert t.loc[("treatment", "goi1"), "method"] == "pfaffl"
    lo, hi = t.loc[("treatment", "goi1"), ["rq_lower", "rq_upper"]]
    assert lo < e["ratio"] < hi


def test_rest_randomisation_interval(qpcr_r: tuple[Path, dict]) -> None:
    from preclin.qpcr import rest_ratio

    d, exp = qpcr_r
    rest = pd.read_csv(d / "rest2008_ratioPar.csv")

    def cq(gene: str, group: str) -> np.ndarray:
        return rest.loc[(rest["gene"] == gene) & (rest["sample"] == group), "cp"].to_numpy()

    r = rest_ratio(cq("goi1", "control"), cq("goi1", "treatment"), cq("ref1", "control"),
                   cq("ref1", "treatment"), e_target=2.01, e_reference=1.97)
    e = exp["rest2008_ratioPar.csv"]
    assert r.ratio == pytest.approx(e["ratio_exact_arithmetic_here"], rel=1e-12)
    # qpcR's interval, printed to 3 decimals: every distinct single-sample pair ratio
    assert (round(r.lower, 3), round(r.upper, 3)) == tuple(e["ratio_ci95_permutation"])
    assert r.n_pairs == 80 and r.n_distinct == 80


def test_genorm_manual_reference_averaging(qpcr_r: tuple[Path, dict]) -> None:
    d, exp = qpcr_r
    gm = pd.read_csv(d / "genorm_manual_refmean.csv")
    wells = gm.melt(id_vars=["sample", "role"], var_name="target", value_name="cq").assign(
        well=lambda x: x["sample"], task="unknown", quantity=np.nan)
    res = relative_quantities(wells, reference=["HK1", "HK2", "HK3"], calibrator="A",
                              method="ddct")
    t = res.table[res.table["target"] == "GOI"].set_index("sample")
    e = exp["genorm_manual_refmean.csv"]
    for s, v in e["ratio_exact_arithmetic_here"].items():
        assert t.loc[s, "rq"] == pytest.approx(v, rel=1e-9)
        assert t.loc[s, "rq"] == pytest.approx(e["geNorm_manual_values"][s], rel=0.01)
    assert np.isnan(t.loc["B", "rq_lower"])  # one replicate: no error bar, not a fake one
