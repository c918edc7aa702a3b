"""The screen-scale path of fit(): curve keys, row grouping, replicate pooling, bookkeeping.

The compiled engine groups rows by curve with a counting sort (or uses them in place when
the table is already grouped), pools replicates of a dose into weighted means (exact for
least squares: RSS = pure-error SS + Σ W (mean − f)²) and computes every per-curve summary
in the same pass. These tests check those shortcuts against the plain definitions.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest

import preclin.doseresponse as dr
from preclin.data.simulate import simulate_curves
from preclin.doseresponse import _kernel
from preclin.doseresponse.fit import curve_keys


def test_curve_keys_match_groupby_on_chunked_arrow_strings() -> None:
    t = pa.large_string()
    chunks = pa.chunked_array([pa.array(["a", "b"], t), pa.array(["c", "a", None], t),
                               pa.array([None, "d", "b"], t)])
    df = pd.DataFrame({"k": pd.Series(pd.arrays.ArrowStringArray(chunks)),
                       "j": [1, 1, 2, 2, 1, 1, 2, 1]})
    for by in (["k"], ["k", "j"], ["j"]):
        codes, keys = curve_keys(df, by)
        ref = df.groupby(by, sort=False, dropna=False).ngroup().to_numpy()
        np.testing.assert_array_equal(codes, ref)
        first = df.drop_duplicates(by).reset_index(drop=True)[by]
        pd.testing.assert_frame_equal(keys, first, check_dtype=False)
    codes, keys = curve_keys(df, ["k"])
    assert keys["k"].isna().sum() == 1  # missing keys are one curve, not dropped


def test_group_rows_identity_and_counting_sort() -> None:
    codes = np.array([0, 0, 1, 1, 1, 2])
    offsets, perm, identity = _kernel.group_rows(codes, np.ones(6, bool), 3)
    assert identity and perm.size == 0
    np.testing.assert_array_equal(offsets, [0, 2, 5, 6])
    codes = np.array([1, 0, 2, 0, 1, 1])
    used = np.array([True, True, True, False, True, True])
    offsets, perm, identity = _kernel.group_rows(codes, used, 4)
    assert not identity
    np.testing.assert_array_equal(offsets, [0, 1, 4, 5, 5])
    np.testing.assert_array_equal(perm, [1, 0, 4, 5, 2])  # stable within a curve


@pytest.mark.parametrize("engine", ["numba", "numpy"])
def test_shuffled_rows_give_the_same_fits(engine: str) -> None:
    """Grouped input (rows used in place) and shuffled input (counting sort) agree exactly."""
    curves = simulate_curves(60, seed=5)[["curve", "dose", "response"]]
    grouped = dr.fit(curves, dose="dose", response="response", by="curve",
                     engine=engine).table
    shuffled = curves.sample(frac=1.0, random_state=3)
    res = dr.fit(shuffled, dose="dose", response="response", by="curve", engine=engine)
    table = res.table.set_index("curve").loc[grouped["curve"]].reset_index()
    num = grouped.select_dtypes("number").columns
    # every per-curve sum runs in (dose, response) order: identical to the last bit
    np.testing.assert_array_equal(table[num].to_numpy(float), grouped[num].to_numpy(float))
    assert list(table["status"]) == list(grouped["status"])
    assert len(res.points) == len(curves)


def test_pooled_replicates_give_the_per_point_rss_and_tests() -> None:
    """RSS, pure error, lack of fit, effect test and outliers against the raw points."""
    curves = simulate_curves(30, seed=8)
    res = dr.fit(curves, dose="dose", response="response", by="curve", ed=[50])
    for row in res.table[res.table["status"] != "no_convergence"].to_dict("records"):
        pts = res.points[res.points["curve"] == row["curve"]]
        x, y = pts["dose"].to_numpy(), pts["response"].to_numpy()
        f = dr.predict("ll4", x, hill=row["hill"], bottom=row["bottom"], top=row["top"],
                       ec50=row["ec50"])
        assert row["rss"] == pytest.approx(np.sum((y - f) ** 2), rel=1e-10)
        means = pts.groupby("dose")["response"].transform("mean").to_numpy()
        sspe = np.sum((y - means) ** 2)
        df_pe = len(y) - pts["dose"].nunique()
        df_lof = pts["dose"].nunique() - 4
        lof_f = ((row["rss"] - sspe) / df_lof) / (sspe / df_pe)
        assert row["lof_f"] == pytest.approx(lof_f, rel=1e-8)
        rss0 = np.sum((y - y.mean()) ** 2)
        f_eff = ((rss0 - row["rss"]) / 3) / (row["rss"] / (len(y) - 4))
        from scipy import stats
        assert row["p_effect"] == pytest.approx(stats.f.sf(f_eff, 3, len(y) - 4), rel=1e-8,
                                                abs=1e-300)
        resid = y - f
        med = np.median(resid)
        scale = max(1.4826 * np.median(np.abs(resid - med)), np.sqrt(np.mean(resid**2)))
        assert row["n_outliers"] == int(np.sum(np.abs(resid - med) / scale > 5))


def test_excluded_rows_keep_their_reasons() -> None:
    curves = simulate_curves(3, seed=2)[["curve", "dose", "response"]].copy()
    curves["excluded"] = False
    curves["reason"] = ""
    curves.loc[1, ["excluded", "reason"]] = [True, "bubble in well"]
    curves.loc[2, "excluded"] = True
    curves.loc[3, "response"] = np.nan
    curves["w"] = 1.0
    curves.loc[4, "w"] = 0.0
    curves.loc[5, ["response", "w"]] = [np.nan, 0.0]
    res = dr.fit(curves, dose="dose", response="response", by="curve", weights="w")
    exc = res.excluded.set_index("source_row")["reason"].to_dict()
    assert exc == {1: "bubble in well", 2: "excluded upstream", 3: "response missing",
                   4: "weight is zero", 5: "response missing"}
    assert len(res.points) + len(res.excluded) == len(curves)
    assert res.table["n"].sum() == len(res.points)


def test_curve_keys_of_categoricals_follow_first_appearance() -> None:
    """Category order, unused categories and missing values do not change the curves."""
    k = pd.Categorical(["z", "a", None, "z", "m", None, "a"],
                       categories=["a", "unused", "m", "z"])
    df = pd.DataFrame({"k": k, "j": [1, 1, 1, 2, 1, 1, 1]})
    for by in (["k"], ["k", "j"]):
        codes, keys = curve_keys(df, by)
        ref = df.groupby(by, sort=False, dropna=False, observed=True).ngroup().to_numpy()
        np.testing.assert_array_equal(codes, ref)
        assert list(keys["k"].astype(object).where(keys["k"].notna(), None)) == list(
            df.drop_duplicates(by)["k"].astype(object).where(lambda s: s.notna(), None))


def test_curve_keys_of_arrow_dictionaries_unify_the_chunks() -> None:
    """Chunks with different dictionaries (row groups of a Parquet file) are one key space."""
    chunks = pa.chunked_array([pa.array(["a", "b", "a"]).dictionary_encode(),
                               pa.array(["c", "a", None]).dictionary_encode(),
                               pa.array([None, "b"]).dictionary_encode()])
    df = pd.DataFrame({"k": pd.Series(pd.arrays.ArrowExtensionArray(chunks)),
                       "j": [1, 1, 2, 2, 1, 1, 2, 1]})
    for by in (["k"], ["k", "j"]):
        codes, keys = curve_keys(df, by)
        ref = df.groupby(by, sort=False, dropna=False, observed=True).ngroup().to_numpy()
        np.testing.assert_array_equal(codes, ref)
    codes, keys = curve_keys(df, ["k"])
    assert list(keys["k"].astype(object).where(keys["k"].notna(), None)) == ["a", "b", "c", None]


def test_parquet_keys_read_as_dictionaries_give_the_same_fits(tmp_path) -> None:
    from preclin.tables import read_table, write_table

    curves = simulate_curves(12, seed=4)[["curve", "dose", "response"]]
    path = tmp_path / "curves.parquet"
    curves.to_parquet(path, row_group_size=50)  # several row groups, several dictionaries
    plain = read_table(path)  # no key columns named: as pandas reads it
    pd.testing.assert_frame_equal(plain, pd.read_parquet(path))
    enc = read_table(path, categorical=["curve", "dose", "absent"])
    assert str(enc["curve"].dtype).startswith("dictionary<")
    assert enc["dose"].dtype == np.float64  # not text: read as is
    assert list(enc.columns) == ["curve", "dose", "response"]
    a = dr.fit(curves, dose="dose", response="response", by="curve").table
    res = dr.fit(enc, dose="dose", response="response", by="curve")
    b = res.table
    assert list(b["curve"].astype(str)) == list(a["curve"])
    num = a.select_dtypes("number").columns
    np.testing.assert_array_equal(b[num].to_numpy(float), a[num].to_numpy(float))
    # written tables read back with pandas (Arrow dictionaries are written as categoricals)
    for frame, name in ((b, "fits.parquet"), (res.points, "points.parquet")):
        back = pd.read_parquet(write_table(frame, tmp_path / name))
        assert list(back["curve"].astype(str)) == list(frame["curve"].astype(str))


def test_f_tail_and_t_quantile_match_scipy() -> None:
    """The compiled F upper tail and t quantile (no scipy at fit time) against scipy."""
    from scipy import special

    rng = np.random.default_rng(0)
    d1 = rng.integers(1, 60, 5000).astype(float)
    d2 = rng.integers(1, 300, 5000).astype(float)
    f = np.exp(rng.normal(0, 2, 5000))
    ours = _kernel.f_sf(d1, d2, f)
    ref = special.fdtrc(d1, d2, f)
    np.testing.assert_allclose(ours, ref, rtol=1e-11, atol=1e-300)
    np.testing.assert_array_equal(
        _kernel.f_sf(3.0, 23.0, np.array([0.0, np.inf, -1.0])), [1.0, 0.0, 1.0])
    assert np.isnan(_kernel.f_sf(3.0, 23.0, np.array([np.nan]))[0])
    df = np.array([1, 2, 3, 5, 23, 100, 1e4])
    np.testing.assert_allclose(_kernel.t_quantile(df, 0.975), special.stdtrit(df, 0.975),
                               rtol=1e-12)
