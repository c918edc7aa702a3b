"""Quantal responses fitted by maximum likelihood."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy import stats

import preclin.doseresponse as dr
from preclin.doseresponse.binomial import _Curve, fit_binomial
from preclin.doseresponse.models import get_model
from preclin.errors import InputError


def _quantal(seed: int, b: float, e: float, n: int = 200, top: float = 1.0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    doses = np.array([0.0, 0.1, 0.3, 1.0, 3.0, 10.0, 30.0])
    p = dr.predict("ll4", doses, hill=b, bottom=0.0, top=top, ec50=e)
    k = rng.binomial(n, p)
    return pd.DataFrame({"dose": doses, "k": k, "n": n})


def test_recovers_parameters_of_simulated_data() -> None:
    data = _quantal(1, -1.5, 2.0, n=2000)
    res = fit_binomial(data, dose="dose", events="k", total="n")
    row = res.table.iloc[0]
    assert row["converged"]
    assert abs(row["hill"] + 1.5) < 4 * row["hill_se"]
    assert abs(row["ec50"] - 2.0) < 4 * row["ec50_se"]
    assert row["bottom"] == 0 and row["top"] == 1


def test_standard_errors_are_the_inverse_observed_information() -> None:
    data = _quantal(2, -1.2, 1.0, n=50)
    res = fit_binomial(data, dose="dose", events="k", total="n")
    row = res.table.iloc[0]
    x = data["dose"].to_numpy(float)
    with np.errstate(divide="ignore"):
        logx = np.where(x > 0, np.log(np.where(x > 0, x, 1.0)), -np.inf)
    cur = _Curve(get_model("ll2"), logx, data["k"].to_numpy(float), data["n"].to_numpy(float))
    # independent check: Hessian of -loglik in (b, e) by central differences of the value
    b, e = row["hill"], row["ec50"]

    def nll(v: np.ndarray) -> float:
        return cur.nll(np.array([v[0], np.log(v[1])]))

    h = np.zeros((2, 2))
    steps = np.array([1e-4 * abs(b), 1e-4 * e])
    v0 = np.array([b, e])
    for i in range(2):
        for j in range(2):
            ei, ej = np.eye(2)[i] * steps[i], np.eye(2)[j] * steps[j]
            h[i, j] = (nll(v0 + ei + ej) - nll(v0 + ei - ej) - nll(v0 - ei + ej)
                       + nll(v0 - ei - ej)) / (4 * steps[i] * steps[j])
    se = np.sqrt(np.diag(np.linalg.inv(h)))
    assert row["hill_se"] == pytest.approx(se[0], rel=1e-4)
    assert row["ec50_se"] == pytest.approx(se[1], rel=1e-4)
    assert np.allclose(res.vcov[0], np.linalg.inv(h), rtol=1e-3)


def test_loglik_is_the_binomial_log_pmf() -> None:
    data = _quantal(3, -2.0, 1.0, n=40)
    data = data[data["dose"] > 0]  # no clipped rows
    res = fit_binomial(data, dose="dose", events="k", total="n", ed=(10, 50, 90))
    row = res.table.iloc[0]
    p = dr.predict("ll2", data["dose"].to_numpy(float), hill=row["hill"], bottom=0, top=1,
                   ec50=row["ec50"])
    ll = stats.binom.logpmf(data["k"], data["n"], p).sum()
    assert row["loglik"] == pytest.approx(ll, rel=1e-10)
    assert row["aic"] == pytest.approx(-2 * ll + 4)
    assert row["ed10"] < row["ed50"] < row["ed90"]
    assert row["ed50"] == pytest.approx(row["ec50"])
    z = stats.norm.ppf(0.975)
    assert row["ed90_lower"] == pytest.approx(row["ed90"] - z * row["ed90_se"])


def test_extreme_counts_and_zero_totals() -> None:
    """0 events, all events, dose 0 and a row with total 0 (ignored) fit without error."""
    data = pd.DataFrame({
        "dose": [0, 0, 1, 2, 4, 8, 16, 32, 5],
        "k": [0, 0, 1, 5, 11, 17, 20, 20, 0],
        "n": [20, 20, 20, 20, 20, 20, 20, 20, 0],
    })
    res = fit_binomial(data, dose="dose", events="k", total="n")
    row = res.table.iloc[0]
    assert row["n"] == 8 and row["total"] == 160
    assert np.isfinite(row["ec50"]) and 2 < row["ec50"] < 8
    assert row["hill"] < 0
    assert len(res.points) == 8
    assert np.isfinite(row["loglik"])


def test_ll3_upper_limit_stays_a_probability() -> None:
    data = _quantal(4, -2.0, 1.0, n=300, top=0.7)
    res = fit_binomial(data, dose="dose", events="k", total="n", model="ll3")
    row = res.table.iloc[0]
    assert 0 <= row["top"] <= 1
    assert abs(row["top"] - 0.7) < 4 * row["top_se"]


def test_curves_by_group() -> None:
    data = pd.concat([_quantal(5, -1.5, 1.0).assign(g="a"), _quantal(6, -1.5, 5.0).assign(g="b")])
    res = fit_binomial(data, dose="dose", events="k", total="n", by="g")
    t = res.table.set_index("g")
    assert t.loc["a", "ec50"] < t.loc["b", "ec50"]
    assert res.vcov.shape == (2, 2, 2)


def test_input_errors() -> None:
    good = _quantal(7, -1.0, 1.0)
    with pytest.raises(InputError, match="exceeds"):
        fit_binomial(good.assign(k=good["n"] + 1), dose="dose", events="k", total="n")
    with pytest.raises(InputError, match="negative"):
        fit_binomial(good.assign(k=-1), dose="dose", events="k", total="n")
    with pytest.raises(InputError, match="missing column"):
        fit_binomial(good, dose="dose", events="dead", total="n")
    with pytest.raises(InputError, match="ED level"):
        fit_binomial(good, dose="dose", events="k", total="n", ed=(0,))
    with pytest.raises(InputError, match=r"\[0, 1\]"):
        fit_binomial(good, dose="dose", events="k", total="n", model="ll4",
                     fixed={"top": 2})
