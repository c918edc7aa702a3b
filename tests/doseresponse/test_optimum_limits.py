"""Fits whose optimum lies at a limit of the model, and the pieces the optimiser uses there.

Three kinds of curve end on the edge of the parameter box: infinitely steep ones (a step
between two doses), ec50-beyond-the-doses ones whose far asymptote runs off with log e
(LM crawls along that valley), and ordinary interior fits whose standard errors need the
Hessian. Each piece is checked against an independent computation: brute-force steps,
scipy's bounded trust-region fit, and central differences.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy.optimize import least_squares

import preclin.doseresponse as dr
from preclin.data.simulate import simulate_curves
from preclin.doseresponse import _kernel, _lm
from preclin.doseresponse.models import get_model


def _brute_step_rss(dose: np.ndarray, y: np.ndarray) -> float:
    """Smallest RSS of a two-level step between adjacent distinct doses (any order)."""
    levels = np.unique(dose)
    best = np.inf
    for cut in levels[1:]:
        left, right = y[dose < cut], y[dose >= cut]
        best = min(best, ((left - left.mean()) ** 2).sum() + ((right - right.mean()) ** 2).sum())
    return float(best)


def test_fits_are_never_worse_than_the_best_step() -> None:
    """Steep and flat curves: the reported fit is at least as good as every step function."""
    curves = simulate_curves(300, seed=8, kinds={"steep": 0.5, "flat": 0.3, "noisy": 0.2})
    table = dr.fit(curves, dose="dose", response="response", by="curve").table
    steps = {c: _brute_step_rss(g["dose"].to_numpy(), g["response"].to_numpy())
             for c, g in curves.groupby("curve")}
    ref = table["curve"].map(steps).to_numpy()
    assert np.all(table["rss"].to_numpy() <= ref * (1 + 1e-9))
    on_step = np.isclose(table["rss"], ref, rtol=1e-9) & (table["hill"].abs() == 1000.0)
    assert on_step.sum() >= 5  # the check is exercised, not only satisfied by LM


def test_best_step_functions_match_brute_force() -> None:
    rng = np.random.default_rng(4)
    mdl = get_model("ll4")
    bvals, symmetric = _lm.grid_slopes(mdl)
    fixed = np.zeros(5)
    fixed[4] = 1.0
    for _ in range(20):
        dose = np.repeat(np.r_[0.0, 10.0 ** np.arange(-3, 1.5, 0.5)], 2)
        y = np.where(dose < 10.0 ** rng.uniform(-3, 1), 100.0, 20.0) + rng.normal(0, 8, dose.size)
        ref = _brute_step_rss(dose, y)
        p = _lm.pack(np.zeros(dose.size, dtype=np.int64), dose, y, 1)
        r_np, th_np = _lm.best_step(mdl, p)
        assert r_np[0] == pytest.approx(ref, rel=1e-10)
        # the compiled version works on replicate means with the pure-error SS as offset
        lx, inv = np.unique(np.log(np.where(dose > 0, dose, np.nan)), return_inverse=True)
        lx = np.where(np.isnan(lx), -np.inf, lx)
        order = np.argsort(lx)
        means = np.bincount(inv, y) / np.bincount(inv)
        wts = np.bincount(inv).astype(float)
        pe = float(((y - means[inv]) ** 2).sum())
        th = np.empty(5)
        r_nb = _kernel._best_step(0, False, lx[order], means[order], wts[order], lx.size, pe,
                                  np.ones(5, dtype=np.bool_), fixed, bvals, symmetric,
                                  _lm.MAX_ABS_B, th)
        assert r_nb == pytest.approx(ref, rel=1e-10)
        np.testing.assert_allclose(th, th_np[0], rtol=1e-12)
        # the step really has that RSS as an LL.4 curve
        with np.errstate(divide="ignore"):
            fitted = mdl.response(th[None, :], np.log(dose)[None, :])[0]
        assert ((y - fitted) ** 2).sum() == pytest.approx(ref, rel=1e-9)


def _runoff_curve(seed: int) -> pd.DataFrame:
    """Viability falling only at the top doses, exponentially: the least-squares LL.4 has
    ec50 → ∞ with the bottom → −∞ (the data never show a lower plateau)."""
    rng = np.random.default_rng(seed)
    dose = np.repeat(10.0 / 3.0 ** np.arange(9)[::-1], 3)
    u = np.log(dose) - np.log(10.0)
    y = 96.5 - 55.0 * np.exp(1.25 * u) + rng.normal(0, 4, dose.size)
    return pd.DataFrame({"curve": f"r{seed}", "dose": dose, "response": y})


@pytest.mark.parametrize("seed", [1, 2, 3, 4])
@pytest.mark.parametrize("engine", ["numba", "numpy"])
def test_runoff_fit_reaches_the_box_optimum_quickly(seed: int, engine: str) -> None:
    data = _runoff_curve(seed)
    row = dr.fit(data, dose="dose", response="response", by="curve",
                 engine=engine).table.iloc[0]
    y = data["response"].to_numpy()
    lx = np.log(data["dose"].to_numpy())
    span = y.max() - y.min()
    ylo, yhi = y.min() - 100 * span, y.max() + 100 * span
    lo, hi = lx.min(), lx.max()

    def resid(t: np.ndarray) -> np.ndarray:
        return y - (t[1] + (t[2] - t[1]) / (1 + np.exp(t[0] * (lx - t[3]))))

    # scipy's bounded trust-region fit on the same box, from the truth-like start
    ref = least_squares(resid, [1.25, -100.0, 96.5, hi + 0.5], method="trf",
                        bounds=([-1000, ylo, ylo, lo - 12], [1000, yhi, yhi, hi + 12]),
                        xtol=1e-15, ftol=1e-15, gtol=1e-15, max_nfev=20000)
    rss_ref = float((ref.fun ** 2).sum())
    assert row["status"] == "ec50_above_range"
    assert row["rss"] <= rss_ref * (1 + 1e-7)
    assert row["iterations"] <= 120  # crawling along the valley took 200-300
    if ref.x[1] <= ylo + 1e-6 * span or ref.x[3] >= hi + 12 - 1e-9:
        # the optimum on the box is on its face: bottom (or log e) at its bound
        assert bool(row["at_bound"])
        assert (row["bottom"] == pytest.approx(ylo, rel=1e-12)
                or np.log(row["ec50"]) == pytest.approx(hi + 12, abs=1e-9))
    else:  # an interior optimum beyond the doses (seed 3): the same one
        assert not row["at_bound"]
        assert np.log(row["ec50"]) == pytest.approx(ref.x[3], abs=1e-5)


def test_analytic_hessian_matches_central_differences() -> None:
    """LL.4's exact half Hessian (compiled) against the numpy route's central differences."""
    rng = np.random.default_rng(12)
    mdl = get_model("ll4")
    lx = np.log(np.r_[0.0, 10.0 ** np.arange(-3, 1.5, 0.5)].clip(1e-300))
    lx[0] = -np.inf  # a dose of 0
    worst = 0.0
    for _ in range(50):
        th = np.array([rng.uniform(-4, 4), rng.uniform(-10, 30), rng.uniform(70, 120),
                       rng.uniform(-6, 2), 1.0])
        y = mdl.response(th[None, :], lx[None, :])[0] + rng.normal(0, 10, lx.size)
        w = rng.uniform(0.5, 3, lx.size)
        exact = np.empty((4, 4))
        _kernel._half_hessian_ll4(th, lx, y, w, lx.size, exact)
        p = _lm.Packed(lx[None, :], y[None, :], w[None, :], np.array([lx.size]))
        numeric, _ = _lm.rss_hessian(mdl, th[None, :], p)
        worst = max(worst, np.abs(exact - numeric[0]).max() / np.abs(numeric[0]).max())
    assert worst < 1e-7


def test_engines_agree_and_few_fits_fail_to_converge() -> None:
    curves = simulate_curves(1500, seed=21)[["curve", "dose", "response"]]
    a = dr.fit(curves, dose="dose", response="response", by="curve").table
    b = dr.fit(curves, dose="dose", response="response", by="curve", engine="numpy").table
    assert (a["status"] == b["status"]).mean() >= 0.998
    assert (a["iterations"] == b["iterations"]).mean() >= 0.85
    ok = (a["status"] == "ok") & (b["status"] == "ok")
    np.testing.assert_allclose(a.loc[ok, "ec50"], b.loc[ok, "ec50"], rtol=1e-5)
    np.testing.assert_allclose(a.loc[ok, "ec50_se"], b.loc[ok, "ec50_se"], rtol=1e-5)
    # a better basin found by a later start gets LM's full budget, not an eighth of it
    assert (a["status"] == "no_convergence").mean() <= 0.002
