"""Statuses say whether a fit is determined, not on which scale an interval is drawn.

Issue 9, part 2: a linear delta-method CI of ec50 that reaches below 0 only means
SE(log10 ec50) > 1/(t·ln 10) ≈ 0.21; it flagged 6 % of good fits `ambiguous`. The rule
now asks whether the data determine the curve (docs/methods/doseresponse.md, "Statuses").
The log-scale interval is Prism's: 10^(log10 ec50 ± t·SE(log10 ec50)).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy import optimize, stats

import preclin.doseresponse as dr
from preclin.data.simulate import simulate_curves
from preclin.doseresponse.fit import MAX_DEPENDENCY, MAX_LOG10_EC50_HALF_WIDTH, _max_dependency
from preclin.errors import InputError

ENGINES = ["numpy", "numba"]


def _fit(data: pd.DataFrame, engine: str, **kw: object) -> pd.DataFrame:
    return dr.fit(data, dose="dose", response="response", by="curve", engine=engine,
                  **kw).table  # type: ignore[arg-type]


@pytest.fixture(scope="module")
def well_behaved() -> pd.DataFrame:
    """400 normal simulated curves, kept where the true ec50 lies at least one dilution
    step (3-fold) inside the tested doses: the curve turns within the range."""
    sim = simulate_curves(400, seed=91, kinds={"normal": 1.0})
    lo, hi = sim["dose"].min(), sim["dose"].max()
    inside = (sim["true_ec50"] >= 3 * lo) & (sim["true_ec50"] <= hi / 3)
    return sim[inside].reset_index(drop=True)


@pytest.fixture(scope="module", params=ENGINES)
def well_behaved_fit(request: pytest.FixtureRequest,
                     well_behaved: pd.DataFrame) -> pd.DataFrame:
    return _fit(well_behaved, request.param, ed=[10, 50, 90])


def test_well_behaved_curves_are_ok(well_behaved: pd.DataFrame,
                                    well_behaved_fit: pd.DataFrame) -> None:
    t = well_behaved_fit
    assert well_behaved["curve"].nunique() == len(t) >= 250
    share = (t["status"] == "ok").mean()
    assert share >= 0.98, t.loc[t["status"] != "ok", ["curve", "status", "message"]]
    # the old rule's false alarms: ok fits whose linear CI reaches below 0
    reach = t[(t["status"] == "ok") & (t["ec50_lower"] <= 0)]
    assert len(reach) > 0
    assert (reach["ec50_lower_log"] > 0).all()


def test_engines_give_the_same_statuses(well_behaved: pd.DataFrame) -> None:
    mix = simulate_curves(300, seed=17)
    a, b = _fit(mix, "numpy"), _fit(mix, "numba")
    assert list(a["status"]) == list(b["status"])
    a, b = _fit(well_behaved, "numpy"), _fit(well_behaved, "numba")
    assert list(a["status"]) == list(b["status"])
    ok = a["status"] == "ok"
    np.testing.assert_allclose(a.loc[ok, "ec50_upper_log"], b.loc[ok, "ec50_upper_log"],
                               rtol=1e-5)


@pytest.mark.parametrize("engine", ENGINES)
def test_flat_and_out_of_range_curves_stay_flagged(engine: str) -> None:
    sim = simulate_curves(240, seed=5, kinds={"flat": 1, "above_range": 1, "below_range": 1})
    t = _fit(sim, engine).merge(sim.groupby("curve", as_index=False)["kind"].first(),
                                on="curve")
    assert set(t["status"]) <= set(dr.STATUSES)
    for kind, main in [("flat", "flat"), ("above_range", "ec50_above_range"),
                       ("below_range", "ec50_below_range")]:
        g = t[t["kind"] == kind]
        assert len(g) >= 60
        assert (g["status"] != "ok").mean() >= 0.95, (kind, g["status"].value_counts())
        # out of range, or no effect within the range, or undetermined / at infinity
        assert g["status"].isin([main, "ambiguous", "flat"]).mean() >= 0.95
        assert (g["status"] == main).any()
    flagged = t[t["status"] != "ok"]
    assert (flagged["message"].str.len() > 0).all()


@pytest.mark.parametrize("engine", ENGINES)
def test_run_off_and_non_identifiable_keep_their_flags(engine: str) -> None:
    """Picked from a seeded 20k-curve mix: two singular Hessians (a steep curve with its
    ec50 on the lowest/highest dose), a step-like fit with nearly redundant parameters,
    and optima at infinity (run-off asymptote, infinitely steep)."""
    sim = simulate_curves(20_000, seed=20261121)
    want = {"c03722": "not_identifiable", "c11789": "not_identifiable",
            "c00592": "ambiguous", "c02077": "ambiguous",
            "c00008": "ambiguous", "c00034": "ambiguous", "c00050": "ambiguous"}
    t = _fit(sim[sim["curve"].isin(list(want))], engine).set_index("curve")
    for curve, status in want.items():
        assert t.loc[curve, "status"] == status, (curve, t.loc[curve, "message"])
        assert t.loc[curve, "message"]
    assert "redundant" in str(t.loc["c00592", "message"])
    for curve in ["c00008", "c00034", "c00050"]:  # optima at infinity
        assert t.loc[curve, "at_bound"]
        assert "infinity" in str(t.loc[curve, "message"])
    assert np.isnan(float(t.loc["c03722", "ec50_se"]))  # type: ignore[arg-type]


def test_ambiguous_rule_thresholds() -> None:
    """Every ok fit is within the thresholds; every curve beyond them is not ok."""
    mix = simulate_curves(600, seed=23)
    res = dr.fit(mix, dose="dose", response="response", by="curve", engine="numpy")
    t = res.table
    half = stats.t.ppf(0.975, t["df"]) * t["log10_ec50_se"]
    dep = _max_dependency(res.vcov)
    ok = (t["status"] == "ok").to_numpy()
    assert (half[ok] <= MAX_LOG10_EC50_HALF_WIDTH).all()
    assert (dep[ok] <= MAX_DEPENDENCY).all()
    assert not ok[(half > MAX_LOG10_EC50_HALF_WIDTH).to_numpy()].any()
    assert not ok[dep > MAX_DEPENDENCY].any()
    vague = t["message"].str.contains("ec50 is not determined")
    assert (half[vague] > MAX_LOG10_EC50_HALF_WIDTH).all() and vague.any()


def test_dependency_is_prisms() -> None:
    """1 − 1/(V_ii·(V⁻¹)_ii) = 1 − (SE with the others fixed / SE)², scale-free."""
    rng = np.random.default_rng(0)
    a = rng.normal(size=(5, 4, 4))
    v = a @ a.transpose(0, 2, 1) + 0.1 * np.eye(4)
    dep = _max_dependency(v)
    for j in range(5):
        h = np.linalg.inv(v[j])
        # variance with the others fixed: 1/H_ii; free: V_ii
        expect = max(1 - (1 / h[i, i]) / v[j, i, i] for i in range(4))
        assert dep[j] == pytest.approx(expect, rel=1e-10)
    scale = np.diag([1e-3, 1.0, 1e4, 7.0])
    np.testing.assert_allclose(_max_dependency(scale @ v @ scale), dep, rtol=1e-10)
    assert np.isnan(_max_dependency(np.full((1, 4, 4), np.nan))).all()
    assert _max_dependency(np.zeros((0, 4, 4))).shape == (0,)


# ----------------------------------------------------------------------- log-scale CI

def _ll4_log10(theta: np.ndarray, x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """LL.4 with log10 e as the parameter: response and Jacobian (b, c, d, L)."""
    b, c, d, lg = theta
    z = b * (np.log(x) - np.log(10.0) * lg)
    g = 1.0 / (1.0 + np.exp(z))
    dg_dz = -g * (1.0 - g)
    jac = np.stack([(d - c) * dg_dz * (np.log(x) - np.log(10.0) * lg), 1.0 - g, g,
                    (d - c) * dg_dz * (-b * np.log(10.0))], axis=1)
    return c + (d - c) * g, jac


def _wald_log10_ci(x: np.ndarray, y: np.ndarray, start: np.ndarray) -> tuple[float, float,
                                                                              float]:
    """Independent fit in (b, c, d, log10 e) by scipy, Wald CI of log10 e from the full
    Hessian of the RSS (central differences of the analytic gradient), back-transformed."""
    res = optimize.least_squares(lambda th: _ll4_log10(th, x)[0] - y, start,
                                 jac=lambda th: _ll4_log10(th, x)[1], method="lm",
                                 xtol=1e-15, ftol=1e-15, gtol=1e-15)
    th = res.x

    def grad(t: np.ndarray) -> np.ndarray:
        f, j = _ll4_log10(t, x)
        return np.asarray(j.T @ (f - y))  # half the gradient of the RSS

    hess = np.zeros((4, 4))
    for i in range(4):
        h = 1e-5 * max(abs(th[i]), 1e-2)
        up, dn = th.copy(), th.copy()
        up[i] += h
        dn[i] -= h
        hess[:, i] = (grad(up) - grad(dn)) / (2 * h)
    hess = (hess + hess.T) / 2
    df = len(y) - 4
    s2 = float(np.sum(res.fun**2)) / df
    se = float(np.sqrt(s2 * np.linalg.inv(hess)[3, 3]))
    t = float(stats.t.ppf(0.975, df))
    return 10 ** (th[3] - t * se), 10 ** (th[3] + t * se), se


@pytest.mark.parametrize("engine", ENGINES)
def test_log_ci_matches_an_independent_wald_fit_in_log10_ec50(
        engine: str, well_behaved: pd.DataFrame) -> None:
    curves = list(dict.fromkeys(well_behaved["curve"]))[:12]
    data = well_behaved[well_behaved["curve"].isin(curves)]
    t = _fit(data, engine).set_index("curve")
    for curve in curves:
        row = t.loc[curve]
        pts = data[data["curve"] == curve]
        start = np.array([row["hill"], row["bottom"], row["top"], np.log10(row["ec50"])])
        start *= 1.0 + 1e-3  # not exactly at preclin's optimum
        lo, hi, se = _wald_log10_ci(pts["dose"].to_numpy(float), pts["response"].to_numpy(float),
                                    start)
        assert row["ec50_lower_log"] == pytest.approx(lo, rel=1e-4)
        assert row["ec50_upper_log"] == pytest.approx(hi, rel=1e-4)
        assert row["log10_ec50_se"] == pytest.approx(se, rel=1e-4)
        assert row["log10_ec50"] == pytest.approx(np.log10(row["ec50"]), rel=1e-12)


def test_log_ci_positive_contains_ec50_and_edx(well_behaved_fit: pd.DataFrame) -> None:
    t = well_behaved_fit
    fin = np.isfinite(t["log10_ec50_se"])
    assert fin.mean() > 0.98
    g = t[fin]
    assert (g["ec50_lower_log"] > 0).all()
    assert (g["ec50_lower_log"] < g["ec50"]).all() and (g["ec50"] < g["ec50_upper_log"]).all()
    # symmetric on the log scale: the estimate is the geometric mean of the limits
    np.testing.assert_allclose(np.sqrt(g["ec50_lower_log"] * g["ec50_upper_log"]), g["ec50"],
                               rtol=1e-10)
    for level in (10, 50, 90):
        name, lower, upper = dr.ed_columns(level)
        est, lo, hi = g[name], g[f"{lower}_log"], g[f"{upper}_log"]
        assert ((lo > 0) & (lo < est) & (est < hi)).all()
        # delta method on log edX: the same t·SE as the linear interval, relative
        np.testing.assert_allclose(np.log(hi / est), (g[upper] - est) / est, rtol=1e-10)
    # for LL.4 the relative ED50 is ec50: same log interval
    np.testing.assert_allclose(g["ed50_upper_log"], g["ec50_upper_log"], rtol=1e-6)


def test_default_columns_unchanged_and_ci_option(well_behaved: pd.DataFrame) -> None:
    data = well_behaved[well_behaved["curve"].isin(
        list(dict.fromkeys(well_behaved["curve"]))[:40])]
    lin = dr.fit(data, dose="dose", response="response", by="curve", engine="numpy",
                 ed=[10, 50]).table
    log = dr.fit(data, dose="dose", response="response", by="curve", engine="numpy",
                 ed=[10, 50], ci="log").table
    explicit = dr.fit(data, dose="dose", response="response", by="curve", engine="numpy",
                      ed=[10, 50], ci="linear").table
    pd.testing.assert_frame_equal(lin, explicit)
    # the columns of before, in their order; the log-scale ones added
    before = ["curve", "model", "n", "n_doses", "status", "bottom", "top", "ec50", "hill",
              "ec50_lower", "ec50_upper", "bottom_se", "top_se", "ec50_se", "hill_se", "rss",
              "df", "sigma", "df_sigma", "loglik", "aic", "bic", "p_effect", "lof_f", "lof_p",
              "n_outliers", "auc", "activity_area", "ed10", "ed10_lower", "ed10_upper", "ed50",
              "ed50_lower", "ed50_upper", "dose_min", "dose_max", "converged", "at_bound",
              "iterations", "message"]
    assert [c for c in lin.columns if c in before] == before
    added = [c for c in lin.columns if c not in before]
    assert added == ["ec50_lower_log", "ec50_upper_log", "log10_ec50", "log10_ec50_se",
                     "ed10_lower_log", "ed10_upper_log", "ed50_lower_log", "ed50_upper_log"]
    # default: drc's linear interval
    tq = stats.t.ppf(0.975, lin["df"])
    np.testing.assert_allclose(lin["ec50_lower"], lin["ec50"] - tq * lin["ec50_se"], rtol=1e-12)
    np.testing.assert_allclose(lin["ec50_upper"], lin["ec50"] + tq * lin["ec50_se"], rtol=1e-12)
    # ci="log": only the CI columns change, to the log-scale ones; statuses do not
    ci_cols = ["ec50_lower", "ec50_upper", "ed10_lower", "ed10_upper", "ed50_lower",
               "ed50_upper"]
    pd.testing.assert_frame_equal(lin.drop(columns=ci_cols), log.drop(columns=ci_cols))
    for col in ci_cols:
        pd.testing.assert_series_equal(log[col], lin[f"{col}_log"], check_names=False)


def test_unknown_ci_is_an_input_error() -> None:
    data = simulate_curves(2, seed=1, kinds={"normal": 1.0})
    with pytest.raises(InputError, match="unknown ci 'wald'"):
        dr.fit(data, dose="dose", response="response", by="curve", ci="wald")


def test_statuses_documented() -> None:
    from pathlib import Path

    doc = (Path(__file__).resolve().parents[2] / "docs" / "methods" /
           "doseresponse.md").read_text(encoding="utf-8")
    for status in dr.STATUSES:
        assert f"`{status}`" in doc, status
    for col in ["ec50_lower_log", "log10_ec50_se", "edX_lower_log"]:
        assert any(col in key for key in dr.TABLE_COLUMNS), col
