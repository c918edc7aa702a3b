"""The dask engine gives exactly the local engine's result (LocalCluster, 2 workers)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

pytest.importorskip("dask")
pytest.importorskip("distributed")

import dask.dataframe as dd  # noqa: E402
from distributed import Client, LocalCluster  # noqa: E402

import preclin.doseresponse as dr  # noqa: E402
from preclin.data.simulate import simulate_curves  # noqa: E402
from preclin.doseresponse.dask_engine import fit_dask  # noqa: E402
from preclin.errors import InputError  # noqa: E402

N_CURVES = 300

pytestmark = pytest.mark.filterwarnings(
    "ignore:The inplace keyword in DataFrame.reset_index"  # inside dask's Parquet reader
)


@pytest.fixture(scope="module")
def table() -> pd.DataFrame:
    """Simulated curves, shuffled so curves are spread over the files, with exclusions."""
    t = simulate_curves(N_CURVES, seed=11)
    rng = np.random.default_rng(5)
    t = t.iloc[rng.permutation(len(t))].reset_index(drop=True)
    t["plate"] = np.where(t.index % 2 == 0, "P1", "P2")
    t["excluded"] = False
    t["reason"] = ""
    drop = rng.choice(len(t), 40, replace=False)
    t.loc[drop, "excluded"] = True
    t.loc[drop, "reason"] = "edge well"
    t.loc[rng.choice(len(t), 10, replace=False), "response"] = np.nan
    return t


@pytest.fixture(scope="module")
def dataset(table: pd.DataFrame, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The table as a Parquet dataset of 5 files of unequal size."""
    root = tmp_path_factory.mktemp("curves")
    cuts = [0, 700, 2500, 2600, 6000, len(table)]
    for i, (a, b) in enumerate(zip(cuts[:-1], cuts[1:], strict=True)):
        table.iloc[a:b].to_parquet(root / f"part-{i:03d}.parquet", index=False)
    return root


@pytest.fixture(scope="module")
def client() -> Client:
    with LocalCluster(
        n_workers=2, threads_per_worker=1, processes=False, dashboard_address=None
    ) as cluster, Client(cluster, set_as_default=False) as c:
        yield c


def assert_same(a: dr.DoseResponseFit, b: dr.DoseResponseFit, exact: bool = True) -> None:
    """Same rows, order, dtypes and values (floats bit for bit, or to 1e-9 relative)."""
    tol = {"check_exact": True} if exact else {"check_exact": False, "rtol": 1e-9, "atol": 0}
    pd.testing.assert_frame_equal(a.table, b.table, **tol)
    pd.testing.assert_frame_equal(a.points, b.points, check_exact=True)
    pd.testing.assert_frame_equal(a.excluded, b.excluded, check_exact=True)
    if exact:
        np.testing.assert_array_equal(a.vcov, b.vcov)
    else:
        np.testing.assert_allclose(a.vcov, b.vcov, rtol=1e-9, atol=0)
    assert a.by == b.by
    assert a.model == b.model
    assert a.ed == b.ed


def test_parquet_dataset_own_local_cluster(dataset: Path) -> None:
    local = dr.fit(pd.read_parquet(dataset), dose="dose", response="response", by="curve",
                   engine="numba")  # the engine dask maps over partitions
    res = fit_dask(dataset, dose="dose", response="response", by="curve", n_workers=2)
    assert len(res.table) == N_CURVES
    assert len(res.excluded) == 50
    assert_same(local, res)
    # the order is that of first appearance in the input
    first = pd.read_parquet(dataset)["curve"].drop_duplicates().tolist()
    assert res.table["curve"].tolist() == first


def test_scheduler_address_partition_by_and_more_tasks(dataset: Path, client: Client) -> None:
    data = pd.read_parquet(dataset)
    kw = {"dose": "dose", "response": "response", "by": ["kind", "curve"], "ed": (50, 90)}
    local = dr.fit(data, engine="numba", **kw)
    calls: list[tuple[int, int]] = []
    res = fit_dask(dataset, scheduler=client.scheduler.address, partition_by="kind",
                   n_tasks=3, progress=lambda done, total: calls.append((done, total)), **kw)
    assert_same(local, res)
    assert calls == [(1, 3), (2, 3), (3, 3)]


def test_pandas_and_dask_sources_fixed_asymptotes(table: pd.DataFrame, client: Client) -> None:
    kw = {"dose": "dose", "response": "response", "by": "curve",
          "fixed": {"bottom": 0, "top": 100}}
    local = dr.fit(table, engine="numba", **kw)
    assert_same(local, fit_dask(table, scheduler=client, n_tasks=4, **kw))
    ddf = dd.from_pandas(table, npartitions=3, sort=False)
    # dask may turn strings into string[pyarrow]: compare with the local engine on the same
    local_dd = dr.fit(ddf.compute().reset_index(drop=True), engine="numba", **kw)
    assert_same(local_dd, fit_dask(ddf, scheduler=client, **kw))


def test_curves_of_unequal_size(table: pd.DataFrame, client: Client, tmp_path: Path) -> None:
    """Curves from 1 to about 50 points (a batch is padded to its longest curve).

    Everything is bit-identical except that the local engine's F test (``p_effect``) sums
    over the padded batch, so its last bits can depend on which curves share a batch:
    floats are compared to 1e-9 relative here.
    """
    rng = np.random.default_rng(8)
    keep = rng.random(len(table)) < rng.uniform(0.15, 1.0, N_CURVES)[
        table["curve"].str[1:].astype(int).to_numpy() - 1]
    uneven = pd.concat([table[keep], table[table["curve"].isin(["c0007", "c0100"])]])
    uneven = uneven.sample(frac=1.0, random_state=3).reset_index(drop=True)
    cuts = [0, 1000, 1700, len(uneven)]
    for i, (a, b) in enumerate(zip(cuts[:-1], cuts[1:], strict=True)):
        uneven.iloc[a:b].to_parquet(tmp_path / f"part-{i}.parquet", index=False)
    kw = {"dose": "dose", "response": "response", "by": "curve"}
    local = dr.fit(pd.read_parquet(tmp_path), engine="numba", **kw)
    assert local.table["n"].min() < 10 and local.table["n"].max() > 40
    assert_same(local, fit_dask(tmp_path, scheduler=client, n_tasks=5, **kw), exact=False)


def test_split_curves_are_refused(dataset: Path, client: Client) -> None:
    with pytest.raises(InputError, match="split over several fit tasks"):
        fit_dask(dataset, dose="dose", response="response", by="curve",
                 partition_by="plate", n_tasks=7, scheduler=client)


def test_bad_value_names_the_row_of_the_whole_input(table: pd.DataFrame, client: Client) -> None:
    bad = table.copy()
    bad.loc[5000, "dose"] = -1.0
    with pytest.raises(InputError) as local:
        dr.fit(bad, dose="dose", response="response", by="curve")
    with pytest.raises(InputError) as remote:
        fit_dask(bad, dose="dose", response="response", by="curve", scheduler=client)
    assert remote.value.location == local.value.location == "row 5002"
    assert str(remote.value) == str(local.value)


def test_empty_curve_key_in_a_parquet_file_is_refused_as_by_read_table(
        table: pd.DataFrame, client: Client, tmp_path: Path) -> None:
    """The key rule holds on the dask path too: a null curve key in a Parquet file is
    refused naming the file and the row of the whole input (as the local engine's
    ``read_table(keys=...)`` does), not fitted as a curve called NaN."""
    from preclin.tables import read_table

    bad = table.copy()
    bad["curve"] = bad["curve"].astype(object)
    bad.loc[4321, "curve"] = None
    path = tmp_path / "curves.parquet"
    bad.to_parquet(path, index=False)
    with pytest.raises(InputError) as local:
        read_table(path, keys=["curve"])
    with pytest.raises(InputError) as remote:
        fit_dask(path, dose="dose", response="response", by="curve", scheduler=client)
    assert remote.value.location == local.value.location == "row 4323"
    assert str(remote.value) == str(local.value)


def test_refusals(dataset: Path, client: Client) -> None:
    with pytest.raises(InputError, match="pool_variance"):
        fit_dask(dataset, dose="dose", response="response", by="curve",
                 pool_variance=True, scheduler=client)
    with pytest.raises(InputError, match="missing column"):
        fit_dask(dataset, dose="conc", response="response", by="curve", scheduler=client)
    with pytest.raises(InputError, match="file not found"):
        fit_dask(dataset / "nope", dose="dose", response="response", by="curve",
                 scheduler=client)
