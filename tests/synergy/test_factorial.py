"""Fixed-dose factorial designs: Bliss/HSA excess, tests across replicates, linear model."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st_h
from scipy import stats as st

from preclin.errors import InputError
from preclin.synergy.factorial import (
    ANOVA_COLUMNS,
    EFFECT_COLUMNS,
    expected_bliss,
    expected_hsa,
    factorial_effects,
)

# viability (% ) per replicate: control, A, B, AB
V22 = {
    1: (100.0, 80.0, 50.0, 30.0),
    2: (100.0, 70.0, 60.0, 35.0),
    3: (90.0, 72.0, 45.0, 20.0),
}


def table_2x2(values: dict[int, tuple[float, ...]] = V22) -> pd.DataFrame:
    rows = []
    for rep, (c, a, b, ab) in values.items():
        for chemo, imid, v in ((0, 0, c), (77, 0, a), (0, 10, b), (77, 10, ab)):
            rows.append({"replicate": rep, "chemo": chemo, "imid": imid, "viability": v})
    return pd.DataFrame(rows)


def table_2x2x2(rng: np.random.Generator, n_rep: int = 3, wells: int = 1) -> pd.DataFrame:
    rows = []
    for rep in range(n_rep):
        for cell in range(8):
            for _ in range(wells):
                rows.append({
                    "rep": f"R{rep}", "A": "+" if cell & 1 else "-",
                    "B": "present" if cell & 2 else "absent",
                    "C": 5.0 if cell & 4 else 0.0,
                    "v": float(rng.uniform(20, 100)),
                })
    return pd.DataFrame(rows)


def test_bliss_and_hsa_excess_by_hand() -> None:
    res = factorial_effects(table_2x2(), factors=("chemo", "imid"), response="viability")
    assert list(res.table.columns) == list(EFFECT_COLUMNS)
    excess_bliss, excess_hsa = [], []
    for c, a, b, ab in V22.values():
        ea, eb, eab = 1 - a / c, 1 - b / c, 1 - ab / c
        excess_bliss.append(eab - (ea + eb - ea * eb))
        excess_hsa.append(eab - max(ea, eb))
    # the first replicate, exactly: E_a = 0.2, E_b = 0.5, E_ab = 0.7, Bliss 0.6
    assert excess_bliss[0] == pytest.approx(0.1)
    for ref, exc in (("bliss", excess_bliss), ("hsa", excess_hsa)):
        row = res.table[res.table["reference"] == ref].iloc[0]
        x = np.array(exc)
        tt = st.ttest_1samp(x, 0.0)
        sem = x.std(ddof=1) / math.sqrt(3)
        q = st.t.ppf(0.975, 2)
        assert row["combination"] == "chemo+imid"
        assert row["n"] == 3 and row["df"] == 2
        assert row["excess_mean"] == pytest.approx(x.mean())
        assert row["excess_sem"] == pytest.approx(sem)
        assert row["ci_low"] == pytest.approx(x.mean() - q * sem)
        assert row["ci_high"] == pytest.approx(x.mean() + q * sem)
        assert row["t"] == pytest.approx(tt.statistic)
        assert row["p"] == pytest.approx(tt.pvalue)
        assert row["question"].endswith("?")
    bliss = res.table[res.table["reference"] == "bliss"].iloc[0]
    assert "Bliss" in bliss["question"]
    assert "best single component (HSA)" in res.table.iloc[1]["question"]
    per = res.replicates[res.replicates["reference"] == "bliss"]
    np.testing.assert_allclose(per["excess"], excess_bliss)
    # expected response on the viability scale: control * (1 - expected effect)
    exp_resp = np.mean([c * (1 - (1 - (a / c) * (b / c))) for c, a, b, _ in V22.values()])
    assert bliss["expected_response"] == pytest.approx(exp_resp)


def test_apoptosis_uses_fraction_affected_beyond_control() -> None:
    vals = {1: (10.0, 30.0, 50.0, 80.0), 2: (20.0, 40.0, 52.0, 84.0)}
    t = table_2x2(vals).rename(columns={"viability": "apop"})
    res = factorial_effects(t, factors=["chemo", "imid"], response="apop",
                            response_kind="apoptosis")
    exc = []
    for a0, a, b, ab in vals.values():
        ea, eb, eab = ((x - a0) / (100 - a0) for x in (a, b, ab))
        exc.append(eab - (1 - (1 - ea) * (1 - eb)))
    row = res.table[res.table["reference"] == "bliss"].iloc[0]
    assert row["excess_mean"] == pytest.approx(np.mean(exc))
    assert "(A − A0)/(100 − A0)" in row["effect_scale"]


def test_fixed_control_value() -> None:
    t = table_2x2()
    res = factorial_effects(t, factors=["chemo", "imid"], control=100.0)
    c = res.cells[res.cells["cell"] == "chemo"]
    np.testing.assert_allclose(c["effect"], [0.2, 0.3, 0.28])


def test_three_way_rows_questions_and_added_factor() -> None:
    rng = np.random.default_rng(3)
    t = table_2x2x2(rng)
    res = factorial_effects(t, factors=["A", "B", "C"], response="v", replicate="rep",
                            added="C")
    tab = res.table
    assert set(tab["combination"]) == {"A+B", "A+C", "B+C", "A+B+C"}
    added = tab[tab["added"] != ""]
    assert list(added["added"]) == ["C", "C"]  # only the requested factor
    q = added[added["reference"] == "bliss"]["question"].iloc[0]
    assert q == "Does C add more than expected (Bliss) to A+B?"
    # independent check of the added-factor Bliss row and the 3-way Bliss row
    cells = res.cells.pivot(index="replicate", columns="cell", values="effect")
    exp_added = 1 - (1 - cells["A+B"]) * (1 - cells["C"])
    row = added[added["reference"] == "bliss"].iloc[0]
    assert row["excess_mean"] == pytest.approx(np.mean(cells["A+B+C"] - exp_added))
    three = tab[(tab["combination"] == "A+B+C") & (tab["added"] == "")
                & (tab["reference"] == "bliss")].iloc[0]
    exp3 = 1 - (1 - cells["A"]) * (1 - cells["B"]) * (1 - cells["C"])
    assert three["expected_mean"] == pytest.approx(exp3.mean())
    hsa3 = tab[(tab["combination"] == "A+B+C") & (tab["added"] == "C")
               & (tab["reference"] == "hsa")].iloc[0]
    assert hsa3["expected_mean"] == pytest.approx(
        np.maximum(cells["A+B"], cells["C"]).mean())
    lv = res.levels.set_index("factor")
    assert lv.loc["A", "absent"] == "-" and lv.loc["B", "present"] == "present"
    assert lv.loc["C", "absent"] == 0.0


def test_expected_helpers() -> None:
    assert expected_bliss([0.2, 0.5]) == pytest.approx(0.6)
    assert expected_bliss([0.5, 0.5, 0.5]) == pytest.approx(0.875)
    assert expected_hsa([0.2, 0.5]) == 0.5


def _dummy_design(df: pd.DataFrame, factors: list[str], block: str) -> np.ndarray:
    """Independent design: intercept, 0/1 factors, all products, replicate dummies."""
    cols = [np.ones(len(df))]
    flags = [df[f].to_numpy(float) for f in factors]
    cols += flags
    for i in range(len(factors)):
        for j in range(i + 1, len(factors)):
            cols.append(flags[i] * flags[j])
    if len(factors) == 3:
        cols.append(flags[0] * flags[1] * flags[2])
    dummies = pd.get_dummies(df[block], drop_first=True, dtype=float).to_numpy()
    return np.column_stack([*cols, dummies])


def test_interaction_term_matches_lstsq_and_scipy() -> None:
    t = table_2x2()
    t["chemo01"] = (t["chemo"] > 0).astype(float)
    t["imid01"] = (t["imid"] > 0).astype(float)
    res = factorial_effects(t.drop(columns=["chemo01", "imid01"]), factors=["chemo", "imid"],
                            scales=("response",))
    assert list(res.anova.columns) == list(ANOVA_COLUMNS)
    x = _dummy_design(t, ["chemo01", "imid01"], "replicate")
    y = t["viability"].to_numpy(float)
    beta, rss, _, _ = np.linalg.lstsq(x, y, rcond=None)
    df = len(y) - x.shape[1]
    s2 = float(rss[0]) / df
    se = np.sqrt(s2 * np.diag(np.linalg.inv(x.T @ x)))
    row = res.anova[res.anova["term"] == "chemo × imid"].iloc[0]
    assert row["estimate"] == pytest.approx(beta[3])
    assert row["se"] == pytest.approx(se[3])
    assert row["df_resid"] == df == 3 * 4 - 4 - 2
    assert row["p"] == pytest.approx(2 * st.t.sf(abs(beta[3] / se[3]), df))
    # the interaction is the difference of differences, averaged over replicates
    dd = np.mean([ab - a - b + c for c, a, b, ab in V22.values()])
    assert row["estimate"] == pytest.approx(dd)
    # effect coding gives the same highest-order interaction
    eff = factorial_effects(t.drop(columns=["chemo01", "imid01"]), factors=["chemo", "imid"],
                            scales=("response",), coding="effect")
    assert eff.anova.iloc[2]["estimate"] == pytest.approx(dd)
    assert eff.anova.iloc[2]["p"] == pytest.approx(row["p"])


def test_three_way_anova_matches_lstsq() -> None:
    rng = np.random.default_rng(11)
    t = table_2x2x2(rng, n_rep=4)
    res = factorial_effects(t, factors=["A", "B", "C"], response="v", replicate="rep",
                            scales=("response", "log_survival"))
    d = pd.DataFrame({"a": (t["A"] == "+").astype(float),
                      "b": (t["B"] == "present").astype(float),
                      "c": (t["C"] > 0).astype(float), "rep": t["rep"]})
    x = _dummy_design(d, ["a", "b", "c"], "rep")
    for scale, y in (("response", t["v"].to_numpy()), ("log_survival", np.log(t["v"]))):
        beta, *_ = np.linalg.lstsq(x, np.asarray(y, float), rcond=None)
        an = res.anova[res.anova["scale"] == scale].set_index("term")
        # design order: 1, a, b, c, ab, ac, bc, abc
        assert an.loc["A", "estimate"] == pytest.approx(beta[1])
        assert an.loc["A × B", "estimate"] == pytest.approx(beta[4])
        assert an.loc["B × C", "estimate"] == pytest.approx(beta[6])
        assert an.loc["A × B × C", "estimate"] == pytest.approx(beta[7])
        assert an.loc["A × B × C", "df_resid"] == 32 - 8 - 3
    log_ab = res.anova[(res.anova["scale"] == "log_survival")
                       & (res.anova["term"] == "A × B")].iloc[0]
    assert log_ab["ratio"] == pytest.approx(math.exp(log_ab["estimate"]))
    assert "Bliss" in log_ab["question"]


def test_log_survival_interaction_is_bliss_departure() -> None:
    res = factorial_effects(table_2x2(), factors=["chemo", "imid"],
                            scales=("log_survival",))
    row = res.anova[res.anova["term"] == "chemo × imid"].iloc[0]
    expect = np.mean([math.log(ab * c / (a * b)) for c, a, b, ab in V22.values()])
    assert row["estimate"] == pytest.approx(expect)


def test_technical_wells_are_averaged_and_blank_excluded() -> None:
    t = table_2x2()
    extra = t.copy()
    extra["viability"] = extra["viability"] + 2.0
    blank = t.iloc[[0]].copy()
    blank["viability"] = np.nan
    both = pd.concat([t, extra, blank], ignore_index=True)
    res = factorial_effects(both, factors=["chemo", "imid"])
    assert set(res.cells["n_rows"]) == {2}
    r1 = res.cells[(res.cells["replicate"] == 1) & (res.cells["cell"] == "chemo")]
    assert r1["response"].iloc[0] == pytest.approx(81.0)
    assert list(res.excluded["row"]) == [len(both) + 1]
    assert res.excluded["reason"].iloc[0] == "missing response"


def test_by_groups_are_separate() -> None:
    a = table_2x2().assign(line="HL-60")
    b = table_2x2().assign(line="MOLM-13")
    b["viability"] = b["viability"] * 0.9
    res = factorial_effects(pd.concat([a, b]), factors=["chemo", "imid"], by=["line"])
    assert list(res.table["line"].unique()) == ["HL-60", "MOLM-13"]
    # viability scaled by a constant leaves fractions affected unchanged
    x = res.table.set_index(["line", "reference"])["excess_mean"]
    assert x[("HL-60", "bliss")] == pytest.approx(x[("MOLM-13", "bliss")])
    assert res.sentences()[0].startswith("line=HL-60: ")


def test_single_replicate_warns_in_note_without_failing() -> None:
    t = table_2x2({1: V22[1]})
    res = factorial_effects(t, factors=["chemo", "imid"])
    row = res.table.iloc[0]
    assert row["n"] == 1 and np.isnan(row["p"]) and row["stars"] == ""
    assert "fewer than 2 replicates" in row["note"]
    assert row["verdict"].startswith("not tested")
    assert row["excess_mean"] == pytest.approx(0.1)
    assert "no residual degrees of freedom" in res.anova["note"].iloc[0]


def test_constant_excess_has_no_test() -> None:
    t = table_2x2({1: V22[1], 2: V22[1]})
    res = factorial_effects(t, factors=["chemo", "imid"])
    assert "no variation" in res.table.iloc[0]["note"]
    assert np.isnan(res.table.iloc[0]["p"])


# --------------------------------------------------------------------------- bad inputs
def test_missing_cell_names_combination_and_replicate() -> None:
    t = table_2x2()
    t = t[~((t["replicate"] == 2) & (t["chemo"] == 77) & (t["imid"] == 10))]
    with pytest.raises(InputError) as err:
        factorial_effects(t, factors=["chemo", "imid"], file="fx.csv")
    msg = str(err.value)
    assert msg.startswith("fx.csv")
    assert "'chemo+imid'" in msg and "replicate 2" in msg and "chemo=77, imid=10" in msg


def test_missing_cell_message_names_group() -> None:
    a = table_2x2().assign(line="HL-60")
    b = table_2x2().assign(line="MOLM-13")
    b = b[~((b["replicate"] == 3) & (b["chemo"] == 0) & (b["imid"] == 10))]
    with pytest.raises(InputError, match=r"line=MOLM-13.*'imid'.*replicate 3"):
        factorial_effects(pd.concat([a, b]), factors=["chemo", "imid"], by="line")


def test_factor_with_three_levels() -> None:
    t = table_2x2()
    t.loc[0, "chemo"] = 20
    with pytest.raises(InputError, match=r"factor 'chemo' has 3 level\(s\).*exactly 2"):
        factorial_effects(t, factors=["chemo", "imid"])


def test_factor_with_one_level() -> None:
    t = table_2x2()
    t["imid"] = 10
    with pytest.raises(InputError, match="factor 'imid' has 1 level"):
        factorial_effects(t, factors=["chemo", "imid"])


def test_unrecognised_absent_level_and_override() -> None:
    t = table_2x2()
    t["imid"] = t["imid"].map({0: "DMSO-low", 10: "len"})
    with pytest.raises(InputError, match="cannot tell which level of factor 'imid'"):
        factorial_effects(t, factors=["chemo", "imid"])
    res = factorial_effects(t, factors=["chemo", "imid"], absent={"imid": "DMSO-low"})
    assert res.levels.set_index("factor").loc["imid", "present"] == "len"
    with pytest.raises(InputError, match="absent level 'nope'"):
        factorial_effects(t, factors=["chemo", "imid"], absent={"imid": "nope"})


def test_non_numeric_response_names_row() -> None:
    t = table_2x2()
    t["viability"] = t["viability"].astype(object)
    t.loc[5, "viability"] = "12,5"
    with pytest.raises(InputError) as err:
        factorial_effects(t, factors=["chemo", "imid"], file="plate.csv")
    assert err.value.location == "row 7"
    assert "must be numeric" in err.value.problem and "'12,5'" in err.value.problem


def test_apoptosis_out_of_range_names_row() -> None:
    t = table_2x2().rename(columns={"viability": "apop"})
    t["apop"] = t["apop"] / 2
    t.loc[3, "apop"] = 130.0
    with pytest.raises(InputError) as err:
        factorial_effects(t, factors=["chemo", "imid"], response="apop",
                          response_kind="apoptosis")
    assert err.value.location == "row 5" and "between 0 and 100" in err.value.problem


@pytest.mark.parametrize(
    "kwargs,match",
    [
        ({"factors": ["chemo", "nope"]}, "missing column"),
        ({"factors": ["chemo"]}, "at least 2 factors"),
        ({"factors": ["chemo", "imid"], "response_kind": "odds"}, "unknown response_kind"),
        ({"factors": ["chemo", "imid"], "scales": ["logit"]}, "unknown scale"),
        ({"factors": ["chemo", "imid"], "added": "other"}, "not factors"),
        ({"factors": ["chemo", "imid"], "labels": {"x": "y"}}, "not factors"),
        ({"factors": ["chemo", "imid"], "control": 0.0}, "must be above 0"),
    ],
)
def test_bad_settings(kwargs: dict, match: str) -> None:
    with pytest.raises(InputError, match=match):
        factorial_effects(table_2x2(), **kwargs)


def test_empty_replicate_names_row() -> None:
    t = table_2x2()
    t["replicate"] = t["replicate"].astype(object)
    t.loc[2, "replicate"] = None
    with pytest.raises(InputError) as err:
        factorial_effects(t, factors=["chemo", "imid"])
    assert err.value.location == "row 4" and "'replicate' is empty" in err.value.problem


@settings(max_examples=25, deadline=None)
@given(
    st_h.lists(
        st_h.tuples(st_h.floats(50, 150), st_h.floats(0.0, 0.9), st_h.floats(0.0, 0.9)),
        min_size=2, max_size=4,
    )
)
def test_exact_bliss_data_give_zero_excess(reps: list[tuple[float, float, float]]) -> None:
    vals = {i: (v0, v0 * (1 - ea), v0 * (1 - eb), v0 * (1 - ea) * (1 - eb))
            for i, (v0, ea, eb) in enumerate(reps)}
    t = table_2x2(vals)
    t["chemo"] = t["chemo"] > 0  # boolean factor: False = absent
    res = factorial_effects(t, factors=["chemo", "imid"], scales=("log_survival",))
    row = res.table[res.table["reference"] == "bliss"].iloc[0]
    assert row["excess_mean"] == pytest.approx(0.0, abs=1e-9)
    inter = res.anova[res.anova["term"] == "chemo × imid"].iloc[0]
    assert inter["estimate"] == pytest.approx(0.0, abs=1e-9)
