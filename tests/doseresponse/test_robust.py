"""Robust fits, ROUT outlier removal and PharmacoGx's Cauchy Hill fit."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import preclin.doseresponse as dr
from preclin.data.simulate import simulate_curves
from preclin.doseresponse import robust as rb
from preclin.errors import InputError


@pytest.fixture(scope="module")
def sim() -> pd.DataFrame:
    return simulate_curves(10, seed=11, kinds={"normal": 1.0}, noise_sd=5.0)


def _with_outliers(sim: pd.DataFrame, curve: str) -> tuple[pd.DataFrame, pd.DataFrame]:
    """One clean curve, and the same curve with +100 on one well of the two top doses."""
    one = sim[sim["curve"] == curve].reset_index(drop=True)
    dirty = one.copy()
    doses = np.sort(one["dose"].unique())
    rows = [int(dirty.index[dirty["dose"] == doses[-1]][0]),
            int(dirty.index[dirty["dose"] == doses[-2]][0])]
    dirty.loc[rows, "response"] += 100.0
    return one, dirty.assign(injected=dirty.index.isin(rows))


# ----------------------------------------------------------------------------- robust fit
@pytest.mark.parametrize("curve", ["c0005", "c0010"])
def test_robust_fit_resists_two_gross_outliers(sim: pd.DataFrame, curve: str) -> None:
    clean, dirty = _with_outliers(sim, curve)
    ec50_clean = dr.fit(clean, dose="dose", response="response").table["ec50"].iloc[0]
    ec50_ls = dr.fit(dirty, dose="dose", response="response").table["ec50"].iloc[0]
    assert abs(ec50_ls / ec50_clean - 1) > 0.10  # least squares is pulled away
    for loss in ("tukey", "huber", "cauchy"):
        rob = rb.fit_robust(dirty, dose="dose", response="response", loss=loss)
        ec50 = rob.table["ec50"].iloc[0]
        assert abs(ec50 / ec50_clean - 1) < 0.10, (loss, ec50, ec50_clean)
        assert rob.table["converged"].iloc[0]
    tukey = rb.fit_robust(dirty, dose="dose", response="response", loss="tukey")
    w = tukey.points["weight"].to_numpy()
    injected = dirty["injected"].to_numpy()
    assert w[injected].max() < 1e-3 < w[~injected].min()


def test_robust_fit_batched_and_fixed_scale(sim: pd.DataFrame) -> None:
    rob = rb.fit_robust(sim, dose="dose", response="response", by="curve", loss="huber",
                        scale=5.0)
    assert len(rob.table) == 10
    assert (rob.table["scale"] == 5.0).all()
    ls = dr.fit(sim, dose="dose", response="response", by="curve")
    # on clean data Huber and least squares agree closely
    ratio = rob.table["ec50"].to_numpy() / ls.table["ec50"].to_numpy()
    assert np.median(np.abs(ratio - 1)) < 0.05
    with pytest.raises(InputError, match="unknown loss"):
        rb.fit_robust(sim, dose="dose", response="response", loss="l1")
    with pytest.raises(InputError, match="scale"):
        rb.fit_robust(sim, dose="dose", response="response", scale=-1.0)


# ----------------------------------------------------------------------------- ROUT
def test_rout_no_outliers_in_clean_curves(sim: pd.DataFrame) -> None:
    res = rb.rout_outliers(sim, dose="dose", response="response", by="curve")
    assert res.robust["n_outliers"].sum() == 0
    assert not res.points["outlier"].any()
    assert len(res.fit.excluded) == 0
    assert (res.robust["rsdr"] > 2) .all() and (res.robust["rsdr"] < 10).all()


def test_rout_finds_injected_outliers(sim: pd.DataFrame) -> None:
    clean, dirty = _with_outliers(sim, "c0005")
    res = rb.rout_outliers(dirty, dose="dose", response="response")
    assert np.array_equal(res.points["outlier"].to_numpy(), dirty["injected"].to_numpy())
    assert set(res.fit.excluded["reason"]) == {"ROUT outlier (Q = 1%)"}
    ec50_clean = dr.fit(clean, dose="dose", response="response").table["ec50"].iloc[0]
    assert abs(res.fit.table["ec50"].iloc[0] / ec50_clean - 1) < 0.05
    # the p-values and FDR thresholds are those of the method
    pts = res.points.sort_values("rank")
    n = len(pts)
    assert np.allclose(pts["alpha"], 0.01 * (n - (pts["rank"] - 1)) / n)
    assert (pts.loc[pts["outlier"], "p"] < pts.loc[pts["outlier"], "alpha"]).all()


def test_rout_keeps_upstream_exclusions(sim: pd.DataFrame) -> None:
    _, dirty = _with_outliers(sim, "c0010")
    dirty = dirty.assign(excluded=False, reason="")
    dirty.loc[0, ["excluded", "reason"]] = [True, "bubble"]
    res = rb.rout_outliers(dirty, dose="dose", response="response")
    reasons = sorted(res.fit.excluded["reason"])
    assert reasons == ["ROUT outlier (Q = 1%)", "ROUT outlier (Q = 1%)", "bubble"]
    with pytest.raises(InputError, match="q must be"):
        rb.rout_outliers(dirty, dose="dose", response="response", q=5)


def test_rout_dr4pl_single_high_outlier(reference_dir: Path) -> None:
    """drc_error_1: one value 90240 among ~7000-10000 at dose 1e-5.

    The responses fall to ~26 at the top dose, so the lower plateau is 0 (LL.4 with
    bottom fixed at 0 = LL.3). With a free bottom, the Lorentzian fit of this poorly
    sigmoid curve (18 replicates per dose) drifts to a very shallow curve with a bottom of
    −41 000, and ROUT then also flags the dose-0 and 1e-7 groups (lack of fit, not outliers).
    """
    data = pd.read_csv(reference_dir / "doseresponse" / "dr4pl_failures" / "drc_error_1.csv")
    res = rb.rout_outliers(data, dose="Dose", response="Response", model="ll4",
                           fixed={"bottom": 0})
    flagged = res.points[res.points["outlier"]]
    assert len(flagged) == 1
    assert flagged["response"].iloc[0] == 90240
    assert flagged["dose"].iloc[0] == 1e-5
    assert len(res.fit.excluded) == 1 and res.fit.table["n"].iloc[0] == 161
    free = rb.rout_outliers(data, dose="Dose", response="Response", model="ll4")
    assert 90240 in set(free.points.loc[free.points["outlier"], "response"])


# ----------------------------------------------------------------------------- PharmacoGx
@pytest.fixture(scope="module")
def pgx(reference_dir: Path) -> tuple[pd.DataFrame, dict]:
    folder = reference_dir / "doseresponse" / "pharmacogx"
    return (pd.read_csv(folder / "loglogistic_cases.csv"),
            json.loads((folder / "expected.json").read_text()))


@pytest.mark.parametrize("case", ["A_normal", "A_cauchy", "B_normal", "B_cauchy",
                                  "C_cauchy_untruncated", "C_cauchy_truncated"])
def test_pharmacogx_hill_cases(pgx: tuple[pd.DataFrame, dict], case: str) -> None:
    cases, expected = pgx
    ref = expected["cases"][case]
    sub = cases[cases["case"] == ref["data_case"]]
    got = rb.fit_hill_pgx(sub["conc"], sub["viability_pct"], family=ref["family"],
                          trunc=ref["trunc"])
    tol = expected["tolerance"]["rtol"]
    assert abs(got.hs / ref["HS"] - 1) < tol
    assert abs(got.e_inf / ref["E_inf"] - 1) < tol
    assert abs(got.ec50 / ref["EC50"] - 1) < tol
    assert abs(got.rsquare / ref["Rsquare"] - 1) < tol


def test_pharmacogx_truncation_and_exact_hill(pgx: tuple[pd.DataFrame, dict]) -> None:
    cases, _ = pgx
    d1 = cases[cases["case"] == "D1"]
    d2 = cases[cases["case"] == "D2"]
    f1 = rb.fit_hill_pgx(d1["conc"], d1["viability_pct"], family="normal", trunc=True)
    f2 = rb.fit_hill_pgx(d2["conc"], d2["viability_pct"], family="normal", trunc=True)
    assert (f1.hs, f1.e_inf, f1.ec50) == pytest.approx((f2.hs, f2.e_inf, f2.ec50), rel=1e-9)
    x = np.arange(-10, 10.05, 0.1)
    y = 1 / (1 + 10.0**x)
    for family in ("normal", "cauchy"):
        fit = rb.fit_hill_pgx(x, y, family=family, conc_as_log=True, viability_as_pct=False)
        assert fit.hs == pytest.approx(1.0, abs=1e-4)
        assert fit.e_inf == pytest.approx(0.0, abs=1e-4)
        assert fit.ec50 == pytest.approx(0.0, abs=1e-4)
    with pytest.raises(InputError, match="family"):
        rb.fit_hill_pgx(x, y, family="t")
