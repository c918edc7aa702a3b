"""Two-way ANOVA post-tests and Dunn after Friedman against R (emmeans 1.8.4 / formula),
stored in tests/data/stats_reference/posthoc2_reference.csv by posthoc2_reference.R."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from preclin.stats import friedman_dunn, two_way_posthoc

REF_DIR = Path(__file__).resolve().parents[1] / "data" / "stats_reference"


def _ref() -> dict[str, dict[str, np.ndarray]]:
    t = pd.read_csv(REF_DIR / "posthoc2_reference.csv", dtype=str, keep_default_na=False)
    out: dict[str, dict[str, list[float]]] = {}
    for case, q, v in zip(t["case"], t["quantity"], t["value"], strict=True):
        name = q.split("[")[0]
        out.setdefault(case, {}).setdefault(name, []).append(math.nan if v == "NA" else float(v))
    return {c: {q: np.array(v) for q, v in d.items()} for c, d in out.items()}


REF = _ref()


def _data(name: str) -> pd.DataFrame:
    d = pd.read_csv(REF_DIR / "twoway.csv")
    return d.drop(index=[1, 13]).reset_index(drop=True) if name == "unbal" else d


def _close(a: object, b: object, rtol: float = 1e-9, atol: float = 1e-12) -> None:
    np.testing.assert_allclose(np.asarray(a, dtype=float), np.asarray(b, dtype=float),
                               rtol=rtol, atol=atol)


@pytest.mark.parametrize("name", ["bal", "unbal"])
def test_within_rows_match_emmeans(name: str) -> None:
    d = _data(name)

    def run(method: str, family: str = "all") -> pd.DataFrame:
        return two_way_posthoc(d.response, d.genotype, d.drug, method=method, family=family)

    base = run("fisher")
    r = REF[f"{name}_within"]
    assert base["within"].tolist() == ["WT"] * 3 + ["KO"] * 3
    assert base["group1"].tolist() == ["vehicle", "vehicle", "low"] * 2
    _close(base["diff"], r["diff"])
    _close(base["statistic"], r["t"])
    _close(base["df"], r["df"])
    _close(base["p_unadj"], r["p_unadj"])
    _close(base["p_adj"], r["p_unadj"])
    se = base["diff"] / base["statistic"]
    _close(se, r["se"])
    tk = run("tukey")
    rt = REF[f"{name}_within_tukey"]
    # R's ptukey is accurate to a few 1e-9 absolute only: at p ≈ 1e-7 it is 2e-3 off
    # relative, where an mpmath integration at 25 digits agrees with scipy to 3e-9
    # (main effect, balanced: 1.11319756e-07; R 1.11101e-07)
    _close(tk["p_adj"], rt["p_adj"], rtol=1e-6, atol=5e-9)
    _close(tk["lower"], rt["lower"], rtol=1e-7)
    _close(tk["upper"], rt["upper"], rtol=1e-7)
    for method, key in (("sidak", "sidak"), ("bonferroni", "bonferroni")):
        for family in ("all", "row"):
            got = run(method, family)
            exp = REF[f"{name}_within_{key}_{family}"]
            _close(got["p_adj"], exp["p_adj"])
            _close(got["lower"], exp["lower"])
            _close(got["upper"], exp["upper"])
    hs = run("holm-sidak")
    _close(hs["p_adj"], REF[f"{name}_within_holm_sidak_all"]["p_adj"])
    assert hs["lower"].isna().all()  # Prism gives no CI for Holm-Sidak
    dn = run("dunnett")
    rd = REF[f"{name}_within_dunnett"]
    assert dn["group2"].tolist() == ["low", "high"] * 2
    _close(dn["diff"], rd["diff"])
    _close(dn["statistic"], rd["t"])
    _close(dn["p_adj"], rd["p_adj"], rtol=1e-7, atol=1e-10)


@pytest.mark.parametrize("name", ["bal", "unbal"])
def test_main_effect_on_least_squares_means(name: str) -> None:
    d = _data(name)
    r = REF[f"{name}_main"]
    f = two_way_posthoc(d.response, d.genotype, d.drug, compare="main", method="fisher")
    assert f["within"].isna().all() and len(f) == 3
    _close(f["diff"], r["diff"])
    _close(f["diff"] / f["statistic"], r["se"])
    _close(f["p_unadj"], r["p_unadj"])
    tk = two_way_posthoc(d.response, d.genotype, d.drug, compare="main", method="tukey")
    _close(tk["p_adj"], REF[f"{name}_main_tukey"]["p_adj"], rtol=1e-6, atol=5e-9)
    _close(tk["lower"], REF[f"{name}_main_tukey"]["lower"], rtol=1e-7)
    sd = two_way_posthoc(d.response, d.genotype, d.drug, compare="main", method="sidak")
    _close(sd["p_adj"], REF[f"{name}_main_sidak"]["p_adj"])
    _close(sd["upper"], REF[f"{name}_main_sidak"]["upper"])
    dn = two_way_posthoc(d.response, d.genotype, d.drug, compare="main", method="dunnett")
    _close(dn["diff"], REF[f"{name}_main_dunnett"]["diff"])
    _close(dn["p_adj"], REF[f"{name}_main_dunnett"]["p_adj"], rtol=1e-7, atol=1e-10)
    if name == "bal":  # balanced: least-squares means are the raw column means
        raw = d.groupby("drug").response.mean()
        assert f["diff"].iloc[0] == pytest.approx(raw["vehicle"] - raw["low"], rel=1e-12)


def test_refusals() -> None:
    d = _data("bal")
    with pytest.raises(ValueError, match="no values"):
        two_way_posthoc(d.response[d.drug != "low"].tolist() + [1.0],
                        d.genotype[d.drug != "low"].tolist() + ["KO"],
                        d.drug[d.drug != "low"].tolist() + ["low"])
    with pytest.raises(ValueError, match="unknown method"):
        two_way_posthoc(d.response, d.genotype, d.drug, method="scheffe")
    with pytest.raises(ValueError, match="residual df"):
        one = d.groupby(["genotype", "drug"], as_index=False).first()
        two_way_posthoc(one.response, one.genotype, one.drug)


@pytest.mark.parametrize(("data", "case"), [("repeated", "friedman_dunn_repeated"),
                                            ("friedman_ties", "friedman_dunn_ties")])
def test_dunn_after_friedman(data: str, case: str) -> None:
    d = pd.read_csv(REF_DIR / f"{data}.csv")
    got = friedman_dunn(d.value, d.subject, d.condition)
    r = REF[case]
    _close(got["diff"], r["rank_sum_diff"])
    _close(got["statistic"], r["z"])
    _close(got["p_unadj"], r["p_unadj"])
    _close(got["p_adj"], r["p_bonferroni"])
    ctl = friedman_dunn(d.value, d.subject, d.condition, control=d.condition.iloc[0])
    assert len(ctl) == d.condition.nunique() - 1
    assert set(ctl["group1"]) == {d.condition.iloc[0]}


def test_equal_cell_means_keep_their_whole_table_ci() -> None:
    """A zero difference still gets a finite Šídák interval (SE is not re-derived from t)."""
    d = _data("bal").copy()
    wt = d.genotype == "WT"
    d.loc[wt & (d.drug == "low"), "response"] = d.loc[wt & (d.drug == "vehicle"),
                                                      "response"].to_numpy()
    got = two_way_posthoc(d.response, d.genotype, d.drug, method="sidak")
    row = got.iloc[0]
    assert row["diff"] == 0 and np.isfinite(row["lower"]) and row["lower"] == -row["upper"]
