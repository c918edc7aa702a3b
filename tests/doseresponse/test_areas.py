"""AUC and activity area of the fitted curves against numerical integration (scipy.quad).

The fitter integrates the log-logistic models in closed form and the others by Simpson's
rule; both are checked against adaptive quadrature of :func:`predict` with the parameters
the fit table reports.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy.integrate import quad
from scipy.optimize import brentq

import preclin.doseresponse as dr
from preclin.data.simulate import simulate_curves
from preclin.doseresponse.models import predict


def _quad_areas(row: dict, reference: float) -> tuple[float, float]:
    lo, hi = np.log10(row["dose_min"]), np.log10(row["dose_max"])
    params = dict(hill=row["hill"], bottom=row["bottom"], top=row["top"], ec50=row["ec50"])
    if row["model"] == "ll5":
        params["asym"] = row["asym"]

    def y(t: float) -> float:
        return float(predict(row["model"], 10.0**t, **params)[0])

    # break points where the integrands bend sharply (steep curves): the mid-point and
    # the crossing of the reference level
    mid, width = np.log10(row["ec50"]), 1.0 / (abs(row["hill"]) * np.log(10.0))
    breaks = [t for t in mid + width * np.linspace(-30, 30, 61) if lo < t < hi]
    if (y(lo) - reference) * (y(hi) - reference) < 0:
        breaks.append(brentq(lambda t: y(t) - reference, lo, hi, xtol=1e-15, rtol=1e-15))
    kw = dict(epsabs=1e-12, epsrel=1e-12, limit=200, points=sorted(breaks) or None)
    mean = quad(y, lo, hi, **kw)[0] / (hi - lo)
    act = quad(lambda t: max((reference - y(t)) / reference, 0.0), lo, hi, **kw)[0]
    return mean, act


@pytest.mark.parametrize("model", ["ll4", "ll3", "w14", "ll5"])
def test_areas_match_quadrature(model: str) -> None:
    curves = simulate_curves(40, seed=11)
    res = dr.fit(curves, dose="dose", response="response", by="curve", model=model)
    rows = res.table[np.isfinite(res.table["auc"])].to_dict("records")
    assert len(rows) >= 35
    tol = 1e-9 if model in ("ll4", "ll3") else 1e-6  # exact vs Simpson (201 nodes)
    for row in rows:
        mean, act = _quad_areas(row, 100.0)
        assert row["auc"] == pytest.approx(mean, rel=tol, abs=tol * 100)
        assert row["activity_area"] == pytest.approx(act, rel=tol, abs=tol * 10)


def test_activity_area_with_another_reference_level() -> None:
    """A crossing of the reference level inside the range, for rising and falling curves."""
    dose = np.repeat(10.0 ** np.arange(-3, 2, 0.5), 2)
    falling = 10 + 80 / (1 + (dose / 0.3) ** 1.5)
    rising = 90 - 80 / (1 + (dose / 0.3) ** 1.5)
    table = pd.DataFrame({"curve": ["f"] * dose.size + ["r"] * dose.size,
                          "dose": np.concatenate([dose, dose]),
                          "response": np.concatenate([falling, rising])
                          + np.tile([0.3, -0.3], dose.size)})
    res = dr.fit(table, dose="dose", response="response", by="curve", reference=50.0)
    for row in res.table.to_dict("records"):
        mean, act = _quad_areas(row, 50.0)
        assert 0 < act < np.log10(row["dose_max"] / row["dose_min"])
        assert row["activity_area"] == pytest.approx(act, rel=1e-9)
        assert row["auc"] == pytest.approx(mean, rel=1e-9)
