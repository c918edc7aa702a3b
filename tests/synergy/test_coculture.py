"""Chemoprotection by stroma: paired measures, interaction model, bad inputs."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from scipy import stats as st

from preclin.errors import InputError
from preclin.synergy.coculture import INTERACTION_COLUMNS, PROTECTION_COLUMNS, chemoprotection

# % apoptosis per donor: treatment -> (alone, stroma)
DATA = {
    "D1": {"vehicle": (10.0, 6.0), "chemo": (90.0, 46.0), "len": (12.0, 8.0),
           "chemo+len": (93.0, 70.0)},
    "D2": {"vehicle": (14.0, 9.0), "chemo": (85.0, 50.0), "len": (15.0, 9.5),
           "chemo+len": (88.0, 66.0)},
    "D3": {"vehicle": (8.0, 7.0), "chemo": (88.0, 41.0), "len": (10.0, 8.0),
           "chemo+len": (92.0, 71.0)},
}


def table(data: dict = DATA) -> pd.DataFrame:
    rows = []
    for donor, trts in data.items():
        for trt, (a, s) in trts.items():
            rows.append({"donor": donor, "treatment": trt, "stroma": "alone", "apoptosis": a})
            rows.append({"donor": donor, "treatment": trt, "stroma": "stroma", "apoptosis": s})
    return pd.DataFrame(rows)


def _row(res, trt: str, measure: str) -> pd.Series:
    t = res.table
    return t[(t["treatment"] == trt) & (t["measure"] == measure)].iloc[0]


def test_difference_ratio_and_index_by_hand() -> None:
    res = chemoprotection(table())
    assert list(res.table.columns) == list(PROTECTION_COLUMNS)
    a = np.array([DATA[d]["chemo"][0] for d in DATA])
    s = np.array([DATA[d]["chemo"][1] for d in DATA])
    va = np.array([DATA[d]["vehicle"][0] for d in DATA])
    vs = np.array([DATA[d]["vehicle"][1] for d in DATA])
    diff = _row(res, "chemo", "difference")
    tt = st.ttest_rel(a, s)
    assert diff["estimate"] == pytest.approx(np.mean(a - s))
    assert diff["statistic"] == pytest.approx(tt.statistic)
    assert diff["p"] == pytest.approx(tt.pvalue)
    assert diff["mean_alone"] == pytest.approx(a.mean())
    assert diff["mean_stroma"] == pytest.approx(s.mean())
    assert diff["verdict"] == "stroma protects"
    q = st.t.ppf(0.975, 2)
    sem = np.std(a - s, ddof=1) / math.sqrt(3)
    assert diff["ci_low"] == pytest.approx(np.mean(a - s) - q * sem)
    ratio = _row(res, "chemo", "ratio")
    assert ratio["estimate"] == pytest.approx(math.exp(np.mean(np.log(s / a))))
    assert ratio["p"] == pytest.approx(st.ttest_1samp(np.log(s / a), 0).pvalue)
    pi = _row(res, "chemo", "protection_index")
    expect = 1 - (s - vs) / (a - va)
    assert pi["estimate"] == pytest.approx(expect.mean())
    assert pi["p"] == pytest.approx(st.ttest_1samp(expect, 0).pvalue)
    assert "induces alone" in pi["question"]
    veh = _row(res, "vehicle", "protection_index")
    assert np.isnan(veh["estimate"]) and veh["note"] == "not defined for the vehicle"
    # lenalidomide alone barely induces apoptosis: index not computed
    small = _row(res, "len", "protection_index")
    assert np.isnan(small["estimate"]) and "min_induced" in small["note"]
    pairs = res.pairs[res.pairs["treatment"] == "chemo"]
    np.testing.assert_allclose(pairs["protection_index"], expect)


def _design(df: pd.DataFrame, base: str, with_: str) -> tuple[np.ndarray, np.ndarray]:
    """Independent design: intercept, drug, stroma, drug:stroma, donor dummies."""
    d = df[df["treatment"].isin([base, with_])].reset_index(drop=True)
    drug = (d["treatment"] == with_).astype(float).to_numpy()
    on = (d["stroma"] == "stroma").astype(float).to_numpy()
    donors = pd.get_dummies(d["donor"], drop_first=True, dtype=float).to_numpy()
    x = np.column_stack([np.ones(len(d)), drug, on, drug * on, donors])
    return x, d["apoptosis"].to_numpy(float)


def test_interaction_matches_lstsq_and_scipy() -> None:
    df = table()
    res = chemoprotection(df)
    assert list(res.interaction.columns) == list(INTERACTION_COLUMNS)
    pairs = list(zip(res.interaction["base"], res.interaction["with"], strict=True))
    assert pairs == [("vehicle", "len"), ("chemo", "chemo+len")]
    row = res.interaction.iloc[1]
    x, y = _design(df, "chemo", "chemo+len")
    beta, rss, rank, _ = np.linalg.lstsq(x, y, rcond=None)
    df_res = len(y) - rank
    se = np.sqrt(float(rss[0]) / df_res * np.diag(np.linalg.inv(x.T @ x)))
    assert row["interaction"] == pytest.approx(beta[3])
    assert row["se"] == pytest.approx(se[3])
    assert row["df"] == df_res == 6
    assert row["p"] == pytest.approx(2 * st.t.sf(abs(beta[3] / se[3]), df_res))
    # apoptosis: protection = alone - stroma, so the change is minus the coefficient
    prot_b = np.mean([DATA[d]["chemo"][0] - DATA[d]["chemo"][1] for d in DATA])
    prot_w = np.mean([DATA[d]["chemo+len"][0] - DATA[d]["chemo+len"][1] for d in DATA])
    assert row["protection_change"] == pytest.approx(prot_w - prot_b)
    assert row["protection_change"] == pytest.approx(-beta[3])
    assert row["fraction_removed"] == pytest.approx((prot_b - prot_w) / prot_b)
    assert row["p"] < 0.05 and row["verdict"] == "len reduces protection"
    assert row["added"] == "len"
    assert row["question"].startswith("Does adding len to chemo reduce the protection")
    assert row["ci_low"] < row["protection_change"] < row["ci_high"] < 0


def test_viability_reverses_signs() -> None:
    df = table()
    df["viability"] = 100.0 - df["apoptosis"]
    res = chemoprotection(df.drop(columns="apoptosis"), response="viability",
                          response_kind="viability")
    ref = chemoprotection(df)
    for col in ("protection_change", "p"):
        assert res.interaction[col].to_numpy() == pytest.approx(ref.interaction[col].to_numpy())
    assert res.interaction["interaction"].to_numpy() == pytest.approx(
        -ref.interaction["interaction"].to_numpy())
    pi = _row(res, "chemo", "protection_index")["estimate"]
    assert pi == pytest.approx(_row(ref, "chemo", "protection_index")["estimate"])
    assert _row(res, "chemo", "difference")["estimate"] == pytest.approx(
        _row(ref, "chemo", "difference")["estimate"])


def test_wilcoxon_and_bootstrap_options() -> None:
    rng = np.random.default_rng(5)
    data = {f"D{i}": {"vehicle": (10 + rng.normal(), 6 + rng.normal()),
                      "chemo": (88 + 3 * rng.normal(), 45 + 3 * rng.normal())}
            for i in range(7)}
    df = table(data)
    res = chemoprotection(df, test="wilcoxon")
    a = np.array([v["chemo"][0] for v in data.values()])
    s = np.array([v["chemo"][1] for v in data.values()])
    w = st.wilcoxon(a - s)
    row = _row(res, "chemo", "difference")
    assert row["p"] == pytest.approx(w.pvalue) and row["statistic"] == pytest.approx(w.statistic)
    assert row["test"].startswith("Wilcoxon")
    b1 = chemoprotection(df, ci="bootstrap", seed=1)
    b2 = chemoprotection(df, ci="bootstrap", seed=1)
    b3 = chemoprotection(df, ci="bootstrap", seed=2)
    pd.testing.assert_frame_equal(b1.table, b2.table)
    r1, r3 = _row(b1, "chemo", "difference"), _row(b3, "chemo", "difference")
    assert r1["ci_low"] != r3["ci_low"]
    assert r1["ci_low"] < r1["estimate"] < r1["ci_high"]
    assert "seed=1" in r1["ci_method"]
    small = chemoprotection(table(), test="wilcoxon")
    assert "smallest possible p is 0.25" in _row(small, "chemo", "difference")["note"]


def test_explicit_comparisons_and_added() -> None:
    df = table()
    res = chemoprotection(df, comparisons=[("vehicle", "chemo")])
    assert list(res.interaction["with"]) == ["chemo"]
    assert res.interaction["added"].iloc[0] == "chemo"
    only = chemoprotection(df, added="len")
    assert len(only.interaction) == 2
    with pytest.raises(InputError, match="treatment 'nope'"):
        chemoprotection(df, comparisons=[("chemo", "nope")])
    with pytest.raises(InputError, match="added drug 'pom'"):
        chemoprotection(df, added="pom")


def test_by_groups_and_pooled_donors() -> None:
    df = pd.concat([table().assign(line="A"), table().assign(line="B")])
    res = chemoprotection(df, by=["line"])
    assert list(res.interaction["line"]) == ["A", "A", "B", "B"]
    assert res.sentences()[0].startswith("line=A: vehicle:")
    # technical repeats are averaged within donor
    pooled = chemoprotection(df, replicate="donor")
    assert set(pooled.cells["n_rows"]) == {2}
    assert _row(pooled, "chemo", "difference")["n"] == 3


def test_incomplete_pair_is_excluded_with_reason() -> None:
    df = table()
    df = df[~((df["donor"] == "D2") & (df["treatment"] == "chemo+len")
              & (df["stroma"] == "stroma"))]
    res = chemoprotection(df)
    assert _row(res, "chemo+len", "difference")["n"] == 2
    assert res.interaction.iloc[1]["n"] == 2
    reasons = " ".join(res.excluded["reason"])
    assert "no 'stroma' measurement" in reasons and "lacks one of the four cells" in reasons


def test_condition_labels_are_matched_loosely() -> None:
    df = table()
    df["stroma"] = df["stroma"].map({"alone": " Alone", "stroma": "BM-MSC"})
    res = chemoprotection(df, stroma="bm-msc")
    assert _row(res, "chemo", "difference")["n"] == 3


# --------------------------------------------------------------------------- bad inputs
def test_unknown_condition_names_row() -> None:
    df = table()
    df.loc[3, "stroma"] = "on MSC"
    with pytest.raises(InputError) as err:
        chemoprotection(df, file="cc.csv")
    assert err.value.file == "cc.csv" and err.value.location == "row 5"
    assert "'on MSC'" in err.value.problem and "neither 'alone' nor 'stroma'" in err.value.problem


def test_non_numeric_and_out_of_range_names_row() -> None:
    df = table()
    df["apoptosis"] = df["apoptosis"].astype(object)
    df.loc[4, "apoptosis"] = "n/a%"
    with pytest.raises(InputError) as err:
        chemoprotection(df)
    assert err.value.location == "row 6" and "must be numeric" in err.value.problem
    df = table()
    df.loc[7, "apoptosis"] = -3.0
    with pytest.raises(InputError) as err:
        chemoprotection(df)
    assert err.value.location == "row 9" and "between 0 and 100" in err.value.problem


@pytest.mark.parametrize(
    "kwargs,match",
    [
        ({"response": "annexin"}, "missing column"),
        ({"response_kind": "death"}, "unknown response_kind"),
        ({"test": "sign"}, "unknown test"),
        ({"ci": "bca"}, "unknown ci"),
        ({"alone": "stroma"}, "must be different"),
        ({"alpha": 1.5}, "alpha"),
    ],
)
def test_bad_settings(kwargs: dict, match: str) -> None:
    with pytest.raises(InputError, match=match):
        chemoprotection(table(), **kwargs)


def test_single_donor_reports_no_test() -> None:
    res = chemoprotection(table({"D1": DATA["D1"]}))
    row = _row(res, "chemo", "difference")
    assert np.isnan(row["p"]) and "fewer than 2" in row["note"]
    assert res.interaction.iloc[1]["verdict"] == "not tested"
    assert "fewer than 2 complete replicates" in res.interaction.iloc[1]["note"]
