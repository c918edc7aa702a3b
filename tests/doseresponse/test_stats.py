"""Profile CIs, model selection, nested F tests, relative potency and global fits."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy import stats

import preclin.doseresponse as dr
from preclin.data.simulate import simulate_curves
from preclin.doseresponse import stats as st
from preclin.errors import InputError


def _ll4(x: np.ndarray, b: float, c: float, d: float, e: float) -> np.ndarray:
    return np.asarray(dr.predict("ll4", x, hill=b, bottom=c, top=d, ec50=e))


@pytest.fixture(scope="module")
def one_curve() -> pd.DataFrame:
    sim = simulate_curves(3, seed=11, kinds={"normal": 1.0}, noise_sd=5.0)
    return sim[sim["curve"] == "c0003"].reset_index(drop=True)


@pytest.fixture(scope="module")
def two_curves() -> pd.DataFrame:
    """Two parallel curves (same b, c, d), ec50 1 and 3: true potency ratio 1/3."""
    rng = np.random.default_rng(5)
    doses = np.repeat(10.0 ** np.linspace(-2, 2, 9), 3)
    rows = []
    for name, e in (("A", 1.0), ("B", 3.0)):
        y = _ll4(doses, 1.5, 5.0, 100.0, e) + rng.normal(0, 3.0, doses.size)
        rows.append(pd.DataFrame({"drug": name, "dose": doses, "resp": y}))
    return pd.concat(rows, ignore_index=True)


# ----------------------------------------------------------------------------- F tests
def test_f_test_nested_formula() -> None:
    res = st.f_test_nested(12.0, 20, 10.0, 18)
    f = ((12.0 - 10.0) / 2) / (10.0 / 18)
    assert res.f == pytest.approx(f)
    assert res.p == pytest.approx(stats.f.sf(f, 2, 18))
    assert (res.df_num, res.df_den) == (2, 18)


def test_f_test_nested_rejects_non_nested() -> None:
    with pytest.raises(InputError, match="more residual df"):
        st.f_test_nested(10.0, 18, 12.0, 20)
    with pytest.raises(InputError, match="no residual degrees of freedom"):
        st.f_test_nested(10.0, 2, 1.0, 0)


def test_compare_nested_detects_a_lower_plateau() -> None:
    """LL.3 (bottom 0) against LL.4 on partial curves (bottom 40-70): LL.4 wins clearly."""
    sim = simulate_curves(3, seed=2, kinds={"partial": 1.0}, noise_sd=3.0)
    out = st.compare_nested(sim, dose="dose", response="response", by="curve",
                            reduced="ll3", full="ll4")
    assert len(out) == 3
    assert (out["p"] < 1e-6).all()
    assert (out["df_reduced"] - out["df_full"] == 1).all()
    pooled = st.compare_nested(sim, dose="dose", response="response", by="curve",
                               reduced="ll3", full="ll4", pooled=True)
    assert pooled["rss_full"].iloc[0] == pytest.approx(out["rss_full"].sum())
    with pytest.raises(InputError, match="not nested"):
        st.compare_nested(sim, dose="dose", response="response", reduced="ll4", full="ll3")


def test_effect_test_matches_fit_table(one_curve: pd.DataFrame) -> None:
    res = dr.fit(one_curve, dose="dose", response="response")
    et = st.effect_test(res)
    assert et["p"].iloc[0] == pytest.approx(res.table["p_effect"].iloc[0], rel=1e-9)
    flat = one_curve.assign(response=100 + np.random.default_rng(0).normal(0, 5, len(one_curve)))
    et_flat = st.effect_test(dr.fit(flat, dose="dose", response="response"))
    assert et_flat["p"].iloc[0] > 0.01


# ----------------------------------------------------------------------------- profile CI
@pytest.mark.parametrize("parameter", ["hill", "top", "bottom"])
def test_profile_ci_bounds_sit_on_the_threshold(one_curve: pd.DataFrame,
                                                parameter: str) -> None:
    res = dr.fit(one_curve, dose="dose", response="response")
    ci = st.profile_ci(res, parameter=parameter)
    est = res.table[parameter].iloc[0]
    assert ci.lower < est < ci.upper
    for bound in (ci.lower, ci.upper):
        refit = dr.fit(one_curve, dose="dose", response="response", fixed={parameter: bound})
        assert abs(refit.table["rss"].iloc[0] / ci.threshold - 1) < 1e-6


def test_profile_ci_methods_and_levels(one_curve: pd.DataFrame) -> None:
    res = dr.fit(one_curve, dose="dose", response="response")
    f95 = st.profile_ci(res)
    f99 = st.profile_ci(res, level=0.99)
    lr = st.profile_ci(res, method="LR")
    n, df = f95.n, f95.df
    assert f99.lower < f95.lower and f99.upper > f95.upper
    assert lr.threshold == pytest.approx(f95.rss_min * np.exp(stats.chi2.ppf(0.95, 1) / n))
    assert f95.threshold == pytest.approx(f95.rss_min * (1 + stats.f.ppf(0.95, 1, df) / df))
    # the table form and the data-frame source give the same numbers
    tab = st.profile_ci_table(res, parameters=("ec50", "hill"))
    assert list(tab["parameter"]) == ["ec50", "hill"]
    assert tab["lower"].iloc[0] == pytest.approx(f95.lower, rel=1e-9)
    direct = st.profile_ci(one_curve, dose="dose", response="response")
    assert direct.upper == pytest.approx(f95.upper, rel=1e-9)


def test_profile_ci_open_when_ec50_is_above_range() -> None:
    doses = np.repeat(10.0 ** np.linspace(-3, 0, 7), 3)
    rng = np.random.default_rng(3)
    y = _ll4(doses, 1.0, 0.0, 100.0, 30.0) + rng.normal(0, 4.0, doses.size)
    data = pd.DataFrame({"dose": doses, "resp": y})
    res = dr.fit(data, dose="dose", response="resp", fixed={"bottom": 0, "hill": 1})
    ci = st.profile_ci(res)
    assert np.isnan(ci.upper)
    assert "upper bound not reached" in ci.message
    assert ci.lower < res.table["ec50"].iloc[0]


def test_profile_ci_input_errors(one_curve: pd.DataFrame) -> None:
    res = dr.fit(one_curve, dose="dose", response="response", model="ll3")
    with pytest.raises(InputError, match="not estimated"):
        st.profile_ci(res, parameter="bottom")
    with pytest.raises(InputError, match="unknown parameter"):
        st.profile_ci(res, parameter="slope")
    with pytest.raises(InputError, match="method"):
        st.profile_ci(res, method="wald")
    with pytest.raises(InputError, match="level"):
        st.profile_ci(res, level=95)
    with pytest.raises(InputError, match="does not exist"):
        st.profile_ci(res, curve=3)


# ----------------------------------------------------------------------------- selection
def test_model_select_ranks_within_every_curve() -> None:
    sim = simulate_curves(2, seed=4, kinds={"normal": 1.0}, noise_sd=4.0)
    tab = st.model_select(sim, dose="dose", response="response", by="curve",
                          models=("ll4", "ll3", "w14"))
    assert len(tab) == 6
    for _, grp in tab.groupby("curve"):
        assert list(grp["rank"]) == [1, 2, 3]
        assert grp["aic"].is_monotonic_increasing
    assert set(tab.columns) >= {"curve", "model", "loglik", "aic", "bic", "rss", "df",
                                "lack_of_fit_p", "residual_var", "rank"}


# ----------------------------------------------------------------------------- potency
def test_relative_potency_recovers_the_true_ratio(two_curves: pd.DataFrame) -> None:
    res = dr.fit(two_curves, dose="dose", response="resp", by="drug", pool_variance=True)
    d = st.relative_potency(res, "A", "B")
    f = st.relative_potency(res, "A", "B", interval="fieller")
    assert d.lower < 1 / 3 < d.upper
    assert f.lower < 1 / 3 < f.upper
    assert d.p_value < 1e-6  # the ratio differs from 1
    # Fieller's interval for B/A is the reciprocal of the one for A/B (independent curves)
    inv = st.relative_potency(res, "B", "A", interval="fieller")
    assert inv.estimate == pytest.approx(1 / f.estimate)
    assert inv.lower == pytest.approx(1 / f.upper, rel=1e-9)
    assert inv.upper == pytest.approx(1 / f.lower, rel=1e-9)
    # delta and Fieller agree closely for a precise denominator
    assert abs(f.lower - d.lower) < 0.1 * (d.upper - d.lower)


def test_relative_potency_same_curve_two_levels(two_curves: pd.DataFrame) -> None:
    res = dr.fit(two_curves, dose="dose", response="resp", by="drug", ed=(10, 50))
    rp = st.relative_potency(res, "A", "A", levels=(10, 50))
    row = res.table.set_index("drug").loc["A"]
    assert rp.estimate == pytest.approx(row["ed10"] / row["ed50"], rel=1e-9)
    # ED10/ED50 of a log-logistic curve = 9^(-1/b)
    assert rp.estimate == pytest.approx(9.0 ** (-1 / row["hill"]), rel=1e-9)
    assert rp.se > 0
    with pytest.raises(InputError, match="same curve"):
        st.relative_potency(res, "A", "A")
    with pytest.raises(InputError, match="interval"):
        st.relative_potency(res, "A", "B", interval="wald")


# ----------------------------------------------------------------------------- global fit
def test_global_fit_recovers_shared_parameters_exactly() -> None:
    doses = 10.0 ** np.linspace(-2, 2, 9)
    rows = []
    for name, b, e in (("x", 1.0, 0.5), ("y", 2.0, 2.0), ("z", 0.8, 8.0)):
        rows.append(pd.DataFrame({"cl": name, "dose": doses,
                                  "resp": _ll4(doses, b, 10.0, 90.0, e)}))
    data = pd.concat(rows, ignore_index=True)
    gf = st.global_fit(data, dose="dose", response="resp", curve="cl")
    assert gf.rss < 1e-12
    assert gf.df == 27 - 8
    t = gf.table.set_index("cl")
    assert np.allclose(t["bottom"], 10.0, atol=1e-6)
    assert np.allclose(t["top"], 90.0, atol=1e-6)
    assert np.allclose(t["ec50"], [0.5, 2.0, 8.0], rtol=1e-6)
    assert np.allclose(t["hill"], [1.0, 2.0, 0.8], rtol=1e-6)
    assert list(gf.parameters["name"][:2]) == ["bottom", "top"]


def test_global_f_test_parallel_curves(two_curves: pd.DataFrame) -> None:
    """Curves simulated parallel: sharing hill, bottom and top is not rejected."""
    test = st.global_f_test(two_curves, dose="dose", response="resp", curve="drug",
                            shared=("hill", "bottom", "top"))
    assert test.df_num == 3
    assert test.p > 0.05
    gf = st.global_fit(two_curves, dose="dose", response="resp", curve="drug",
                       shared=("hill", "bottom", "top"))
    t = gf.table.set_index("drug")
    assert t.loc["B", "ec50"] / t.loc["A", "ec50"] == pytest.approx(3.0, rel=0.1)
    assert (gf.table["ec50_se"] > 0).all()
    with pytest.raises(InputError, match="not estimated"):
        st.global_fit(two_curves, dose="dose", response="resp", curve="drug", model="ll3",
                      shared=("bottom",))
