"""Tests of the seeded dose-response simulator :mod:`preclin.data.simulate`."""

from __future__ import annotations

import hashlib
import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from preclin.data.simulate import (
    CURVE_KINDS,
    DEFAULT_KIND_WEIGHTS,
    default_doses,
    simulate_curves,
)

COLUMNS = [
    "curve",
    "kind",
    "dose",
    "replicate",
    "response",
    "true_bottom",
    "true_top",
    "true_ec50",
    "true_hill",
]


def _digest(df: pd.DataFrame) -> str:
    return hashlib.sha256(df.to_csv(index=False, float_format="%.17g").encode()).hexdigest()


def _ll4_reference(x: float, c: float, d: float, e: float, b: float) -> float:
    """drc LL.4 written out independently, one point at a time."""
    if x == 0.0:
        return d  # limit for b > 0
    return c + (d - c) / (1.0 + math.exp(b * (math.log(x) - math.log(e))))


# --------------------------------------------------------------------------- shape


def test_columns_dtypes_and_order():
    df = simulate_curves(7, seed=3)
    assert list(df.columns) == COLUMNS
    assert pd.api.types.is_string_dtype(df["curve"])
    assert pd.api.types.is_string_dtype(df["kind"])
    for col in ["dose", "response", "true_bottom", "true_top", "true_ec50", "true_hill"]:
        assert df[col].dtype == np.float64, col
    assert pd.api.types.is_integer_dtype(df["replicate"])
    assert len(df) == 7 * 9 * 3
    assert df["curve"].iloc[0] == "c0001"
    assert sorted(df["curve"].unique()) == [f"c{i:04d}" for i in range(1, 8)]
    # row order: curve, dose (ascending), replicate
    key = df[["curve", "dose", "replicate"]]
    assert key.equals(key.sort_values(["curve", "dose", "replicate"]).reset_index(drop=True))
    assert df.index.equals(pd.RangeIndex(len(df)))
    assert set(df["replicate"]) == {1, 2, 3}


def test_default_doses():
    d = default_doses()
    assert d.shape == (9,)
    assert np.all(np.diff(d) > 0)
    assert d[-1] == pytest.approx(10.0)
    np.testing.assert_allclose(d[1:] / d[:-1], 3.0)
    assert d[0] == pytest.approx(10.0 / 3**8)  # ~0.0015 uM
    z = default_doses(include_zero=True)
    assert z[0] == 0.0 and np.array_equal(z[1:], d)
    sim = simulate_curves(2, seed=1, include_zero=True)
    assert sorted(sim["dose"].unique()) == list(z)


def test_custom_doses_and_replicates():
    df = simulate_curves(3, seed=5, doses=[1.0, 0.1, 10.0], replicates=2)
    assert len(df) == 3 * 3 * 2
    assert list(df.loc[df.curve == "c0001", "dose"]) == [0.1, 0.1, 1.0, 1.0, 10.0, 10.0]


def test_true_parameters_constant_per_curve_and_nan_for_flat():
    df = simulate_curves(200, seed=11)
    true_cols = ["true_bottom", "true_top", "true_ec50", "true_hill"]
    per = df.groupby("curve")[true_cols + ["kind"]].nunique(dropna=False)
    assert (per == 1).all().all()
    flat = df[df["kind"] == "flat"]
    assert len(flat) > 0
    assert flat[true_cols].isna().all().all()
    assert df.loc[df["kind"] != "flat", true_cols].notna().all().all()


def test_parameter_ranges_by_kind():
    df = simulate_curves(3000, seed=2, noise_sd=0.0).groupby("curve").first()
    lo, hi = default_doses().min(), default_doses().max()
    inrange = df["kind"].isin(["normal", "noisy", "partial", "steep"])
    assert df.loc[inrange, "true_ec50"].between(lo, hi).all()
    assert df.loc[df.kind != "flat", "true_top"].between(90, 110).all()
    assert df.loc[df.kind.isin(["normal", "steep", "noisy"]), "true_bottom"].between(0, 20).all()
    assert df.loc[df.kind == "partial", "true_bottom"].between(40, 70).all()
    assert df.loc[df.kind == "steep", "true_hill"].between(6, 15).all()
    assert df.loc[df.kind.isin(["normal", "partial"]), "true_hill"].between(0.7, 2.5).all()
    above = df.loc[df.kind == "above_range", "true_ec50"] / hi
    below = lo / df.loc[df.kind == "below_range", "true_ec50"]
    assert above.between(3, 30).all() and len(above) > 0
    assert below.between(3, 30).all() and len(below) > 0


# --------------------------------------------------------------------- determinism


def test_same_seed_identical():
    a = simulate_curves(50, seed=123, include_zero=True)
    b = simulate_curves(50, seed=123, include_zero=True)
    pd.testing.assert_frame_equal(a, b)
    assert _digest(a) == _digest(b)


def test_different_seed_different():
    a = simulate_curves(50, seed=123)
    b = simulate_curves(50, seed=124)
    assert _digest(a) != _digest(b)
    assert not np.allclose(a["response"], b["response"])


# ------------------------------------------------------------------ kind mixture


def test_kind_proportions_default():
    n = 20000
    kinds = simulate_curves(n, seed=7, doses=[1.0], replicates=1).groupby("curve")["kind"].first()
    observed = kinds.value_counts(normalize=True)
    assert set(observed.index) <= set(CURVE_KINDS)
    for kind, p in DEFAULT_KIND_WEIGHTS.items():
        # 5 binomial standard errors
        tol = 5 * math.sqrt(p * (1 - p) / n)
        assert observed.get(kind, 0.0) == pytest.approx(p, abs=tol), kind


def test_kind_proportions_custom_and_unnormalised():
    n = 20000
    weights = {"normal": 2.0, "steep": 1.0, "flat": 1.0}
    kinds = simulate_curves(n, seed=8, doses=[1.0], replicates=1, kinds=weights)
    observed = kinds.groupby("curve")["kind"].first().value_counts(normalize=True)
    assert set(observed.index) == set(weights)
    for kind, w in weights.items():
        p = w / 4.0
        assert observed[kind] == pytest.approx(p, abs=5 * math.sqrt(p * (1 - p) / n))


# -------------------------------------------------------------------- the model


def test_noiseless_matches_model_formula():
    df = simulate_curves(400, seed=99, noise_sd=0.0, include_zero=True)
    expected = [
        100.0 if kind == "flat" else _ll4_reference(x, c, d, e, b)
        for kind, x, c, d, e, b in zip(
            df["kind"],
            df["dose"],
            df["true_bottom"],
            df["true_top"],
            df["true_ec50"],
            df["true_hill"],
            strict=True,
        )
    ]
    np.testing.assert_allclose(df["response"].to_numpy(), expected, rtol=1e-12, atol=1e-10)
    # replicates are identical without noise
    assert (df.groupby(["curve", "dose"])["response"].nunique() == 1).all()


def test_noise_level():
    df = simulate_curves(3000, seed=4, noise_sd=5.0, kinds={"normal": 1, "noisy": 1})
    clean = simulate_curves(3000, seed=4, noise_sd=0.0, kinds={"normal": 1, "noisy": 1})
    resid = df["response"] - clean["response"]
    assert resid[df.kind == "normal"].std() == pytest.approx(5.0, rel=0.03)
    assert resid[df.kind == "noisy"].std() == pytest.approx(20.0, rel=0.03)


def test_decreasing_curves():
    df = simulate_curves(100, seed=12, noise_sd=0.0, kinds={"normal": 1, "partial": 1, "steep": 1})
    for _, g in df[df.replicate == 1].groupby("curve"):
        assert np.all(np.diff(g["response"].to_numpy()) <= 1e-12)


# ------------------------------------------------------------------- validation


@pytest.mark.parametrize(
    "kwargs",
    [
        {"n_curves": -1},
        {"replicates": 0},
        {"noise_sd": -1.0},
        {"noise_sd": float("nan")},
        {"kinds": {"bogus": 1.0}},
        {"kinds": {"normal": -1.0}},
        {"kinds": {"normal": 0.0}},
        {"kinds": {}},
        {"doses": []},
        {"doses": [-1.0, 1.0]},
        {"doses": [0.0]},
    ],
)
def test_bad_arguments(kwargs):
    args = {"n_curves": 3, "seed": 1} | kwargs
    with pytest.raises(ValueError):
        simulate_curves(**args)


def test_zero_curves():
    df = simulate_curves(0, seed=1)
    assert list(df.columns) == COLUMNS
    assert len(df) == 0


# ------------------------------------------------------- committed reference data

MIXED300 = Path(__file__).resolve().parent / "data" / "mixed300"


def test_mixed300_curves_match_simulator():
    """tests/data/mixed300/curves.csv is exactly what make_data.py documents."""
    stored = pd.read_csv(MIXED300 / "curves.csv")
    fresh = simulate_curves(300, seed=20261121, include_zero=False)
    assert list(stored.columns) == list(fresh.columns)
    assert stored["curve"].tolist() == fresh["curve"].tolist()
    assert stored["kind"].tolist() == fresh["kind"].tolist()
    assert stored["replicate"].tolist() == fresh["replicate"].tolist()
    # not bit-for-bit: numpy's SIMD exp/log may differ in the last ulp across CPUs
    for col in ["dose", "response", "true_bottom", "true_top", "true_ec50", "true_hill"]:
        np.testing.assert_allclose(
            stored[col].to_numpy(), fresh[col].to_numpy(), rtol=1e-12, atol=1e-12, err_msg=col
        )


def test_mixed300_expected_table_shape():
    expected = pd.read_csv(MIXED300 / "expected_r.csv")
    curves = pd.read_csv(MIXED300 / "curves.csv")
    assert expected["curve"].tolist() == sorted(curves["curve"].unique())
    assert (expected["n"] == 27).all()
    for col in ["drc_like_converged", "hessian_ok", "well_determined"]:
        assert expected[col].dtype == bool, col
    # the polished optimum is never worse than the drc emulation
    ok = expected["drc_like_converged"]
    assert (expected.loc[ok, "rss_best"] <= expected.loc[ok, "rss_drc_like"] * (1 + 1e-12)).all()
