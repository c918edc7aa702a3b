"""Engine choice and the numpy twins of the compiled helpers.

``engine="auto"`` fits small jobs with the numpy engine (nothing to compile) and large
ones with the compiled engine; the choice depends on the job alone. The numpy engine must
not import numba at all, and each numpy twin in ``_npops`` must give its compiled twin's
result (integers identical, floats to rounding).
"""

from __future__ import annotations

import importlib
import logging
import subprocess
import sys
import textwrap

import numpy as np
import pytest

import preclin.doseresponse as dr
from preclin.data.simulate import simulate_curves
from preclin.doseresponse import _kernel, _lm, _npops
from preclin.doseresponse.models import get_model
from preclin.errors import InputError

# the module, not the function of the same name that the package exports
fit_mod = importlib.import_module("preclin.doseresponse.fit")


def test_auto_engine_is_chosen_by_job_size_only() -> None:
    small = fit_mod.AUTO_NUMBA_CURVES - 1
    assert fit_mod.resolve_engine("auto", small) == "numpy"
    assert fit_mod.resolve_engine("auto", fit_mod.AUTO_NUMBA_CURVES) == "numba"
    assert fit_mod.resolve_engine("numba", 1) == "numba"
    assert fit_mod.resolve_engine("numpy", 10**6) == "numpy"
    with pytest.raises(InputError, match="did you mean 'numba'"):
        fit_mod.resolve_engine("numbaa", 1)


def test_unknown_engine_is_refused_before_reading_the_data() -> None:
    with pytest.raises(InputError, match="unknown engine"):
        dr.fit("not even a table", dose="d", response="r", engine="gpu")


def test_small_fit_never_imports_numba() -> None:
    """A first fit of a few curves must not wait for numba (import or compile)."""
    code = textwrap.dedent("""
        import sys
        from preclin.data.simulate import simulate_curves
        import preclin.doseresponse as dr
        df = simulate_curves(8, seed=1)
        res = dr.fit(df, dose="dose", response="response", by="curve", ed=[25, 50])
        assert len(res.table) == 8, res.table
        print("numba" in sys.modules)
    """)
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True)
    assert out.stdout.strip() == "False"


def test_auto_equals_numpy_below_and_numba_from_the_threshold(
        monkeypatch: pytest.MonkeyPatch) -> None:
    df = simulate_curves(12, seed=4)
    kw = {"dose": "dose", "response": "response", "by": "curve", "ed": [50]}
    auto = dr.fit(df, **kw).table
    assert auto.equals(dr.fit(df, engine="numpy", **kw).table)
    monkeypatch.setattr(fit_mod, "AUTO_NUMBA_CURVES", 12)
    auto = dr.fit(df, **kw).table
    assert auto.equals(dr.fit(df, engine="numba", **kw).table)


def test_engines_agree_on_a_mixed_set() -> None:
    df = simulate_curves(150, seed=11)
    kw = {"dose": "dose", "response": "response", "by": "curve", "ed": [25, 50]}
    a = dr.fit(df, engine="numpy", **kw).table
    b = dr.fit(df, engine="numba", **kw).table
    assert list(a["status"]) == list(b["status"])
    ok = (a["status"] == "ok").to_numpy()
    for col in ("ec50", "ed25", "top", "bottom", "hill", "p_effect", "auc",
                "activity_area"):
        np.testing.assert_allclose(a.loc[ok, col], b.loc[ok, col], rtol=1e-6, atol=1e-9)


def test_compile_notice_only_when_kernels_are_not_cached(
        monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture) -> None:
    monkeypatch.setattr(fit_mod, "_compile_notice_given", False)
    monkeypatch.setattr(_kernel, "kernels_cached", lambda: True)
    with caplog.at_level(logging.INFO, logger="preclin"):
        fit_mod._compiled()
    assert not caplog.records
    monkeypatch.setattr(_kernel, "kernels_cached", lambda: False)
    with caplog.at_level(logging.INFO, logger="preclin"):
        fit_mod._compiled()
        fit_mod._compiled()  # said once per process
    assert [r.getMessage() for r in caplog.records] == [
        "compiling the fitting kernels (once, about a minute; cached for later runs)"]


# ------------------------------------------------------------------ numpy twins

def test_rank_by_first_and_first_rows_match_the_compiled_helpers() -> None:
    rng = np.random.default_rng(3)
    cat = rng.integers(-1, 9, size=500).astype(np.int32)
    a, na = _npops.rank_by_first(cat, 9)
    b, nb = _kernel.rank_by_first(cat, 9)
    np.testing.assert_array_equal(a, b)
    assert na == nb
    codes = rng.integers(0, 40, size=300)
    np.testing.assert_array_equal(_npops.first_rows(codes, 45), _kernel.first_rows(codes, 45))
    empty, n_empty = _npops.rank_by_first(np.empty(0, np.int32), 3)
    assert empty.size == 0 and n_empty == 0


def _packed(n_curves: int, seed: int) -> _lm.Packed:
    df = simulate_curves(n_curves, seed=seed, include_zero=True)
    codes = df["curve"].astype("category").cat.codes.to_numpy().astype(np.int64)
    w = np.where(np.arange(len(df)) % 7 == 0, 0.0, 1.0)
    return _lm.pack(codes, df["dose"].to_numpy(float), df["response"].to_numpy(float),
                    n_curves, w)


def test_pure_error_and_row_sums_match() -> None:
    p = _packed(40, 2)
    for got, want in zip(_npops.distinct_and_pure_error(p), _kernel.distinct_and_pure_error(p),
                         strict=True):
        np.testing.assert_allclose(got, want, rtol=1e-12, atol=1e-9)
    np.testing.assert_array_equal(_npops.row_sums(p.y, p.n), _kernel.row_sums(p.y, p.n))


@pytest.mark.parametrize("name", ["ll4", "ll5", "w14", "w24", "ll3"])
def test_response_and_areas_match(name: str) -> None:
    model = get_model(name)
    rng = np.random.default_rng(7)
    m = 60
    theta = np.column_stack([
        rng.choice([-1, 1], m) * rng.uniform(0.2, 6, m),   # b, both directions
        rng.uniform(-10, 30, m),                            # c
        rng.uniform(70, 110, m),                            # d
        rng.uniform(-6, 4, m),                              # log e
        rng.uniform(0.3, 3, m) if model.five else np.ones(m),
    ])
    theta[0, 0] = 0.0  # a flat curve
    theta[1, 0] = 1e-6  # nearly flat (the linear branch of the exact LL integral)
    logx = np.tile(np.log([0.0 + 1e-300, 0.01, 0.1, 1, 10, 100]), (m, 1))
    logx[:, 0] = -np.inf  # dose 0
    np.testing.assert_allclose(_npops.response(model, theta, logx),
                               _kernel.response(model, theta, logx), rtol=1e-13, atol=1e-12)
    lo = rng.uniform(-7, -3, m)
    hi = lo + rng.uniform(2, 9, m)
    for reference in (100.0, 0.0, 50.0):
        got = _npops.areas(model, theta, lo, hi, reference)
        want = _kernel.areas(model, theta, lo, hi, reference)
        for g, w in zip(got, want, strict=True):
            np.testing.assert_allclose(g, w, rtol=1e-10, atol=1e-10)


def test_f_and_t_distributions_match() -> None:
    df1 = np.array([1.0, 2, 3, 3, 5, 0, 2])
    df2 = np.array([4.0, 20, 7, 1, 100, 3, -1])
    f = np.array([0.5, 3.2, 0.0, 12.0, 1.1, 2.0, 2.0])
    np.testing.assert_allclose(_npops.f_sf(df1, df2, f), _kernel.f_sf(df1, df2, f),
                               rtol=1e-12, equal_nan=True)
    dfs = np.array([1.0, 2, 3.5, 10, 250])
    np.testing.assert_allclose(_npops.t_quantile(dfs, 0.975), _kernel.t_quantile(dfs, 0.975),
                               rtol=1e-12)
