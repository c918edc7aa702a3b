"""Scale-out engine: the local fitter mapped over partitions on a ``dask.distributed`` cluster.

:func:`fit_dask` gives the same :class:`~preclin.doseresponse.fit.DoseResponseFit` as
:func:`preclin.doseresponse.fit` on the whole table — same rows, same order, same numbers —
but reads and fits the data in pieces on the workers of a dask cluster:

1. **read**: every input partition (a Parquet file or row group, a partition of a dask
   DataFrame, or a slice of a pandas DataFrame) is read on a worker, keeping only the
   columns the fit needs;
2. **shuffle**: each row is sent to one of ``n_tasks`` fit tasks chosen by a hash of its
   curve key (the ``by`` columns, or the coarser ``partition_by`` columns), so every curve
   lies wholly inside one task — curves are never split;
3. **fit**: each task restores the input order of its rows and calls the local engine
   (:func:`preclin.doseresponse.fit`, compiled and parallel over the worker's cores);
4. **combine**: the client concatenates the pieces and sorts them into the order of the
   local engine: curves in order of their first row in the input, points and excluded
   points in input order, ``excluded.source_row`` the 0-based row of the whole input.

The order of the input is the order of the dask partitions (for a Parquet dataset: the
files in the order ``pandas.read_parquet`` / pyarrow reads them) and of the rows inside
each. Per-curve fits do not depend on which other curves share a task, so the result is
identical to the local engine on ``pandas.read_parquet(source)``.

dask and distributed are optional dependencies (``pip install "preclin[dask]"``); they are
imported only when :func:`fit_dask` runs.
"""

from __future__ import annotations

import operator
import re
import threading
from collections.abc import Sequence
from contextlib import ExitStack
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd
from numpy.typing import NDArray

from ..errors import InputError
from ..tables import column_list as _as_list
from ..tables import require_columns, require_keys
from .fit import DoseResponseFit, fit

if TYPE_CHECKING:  # pragma: no cover
    from distributed import Client

__all__ = ["fit_dask", "concat_fits"]

#: private column names used while shuffling (not part of any result)
_PART = "__preclin_part"
_ROW = "__preclin_row"
_BUCKET = "__preclin_bucket"

# one fit at a time per worker process: the compiled kernel already uses every core, and
# serialising keeps thread-unsafe numba threading layers (workqueue) safe under threaded
# workers
_FIT_LOCK = threading.Lock()

_ROW_LOCATION = re.compile(r"^row (\d+)(.*)$")




def _import_dask() -> tuple[Any, Any, Any, Any]:
    try:
        import dask
        import dask.dataframe as dd
        from distributed import Client, LocalCluster
    except ImportError as exc:  # pragma: no cover - depends on the environment
        raise InputError(
            "the dask engine needs dask and distributed: pip install 'preclin[dask]' "
            f"({exc})"
        ) from None
    return dask, dd, Client, LocalCluster


# --------------------------------------------------------------------------- worker side


def _bucket(
    part: pd.DataFrame,
    index: int,
    key: list[str],
    n_tasks: int,
    dtypes: dict[str, Any],
) -> tuple[int, list[pd.DataFrame]]:
    """Split one input partition into ``n_tasks`` pieces by a hash of the curve key.

    Returns the number of rows of the partition and the pieces (each with the partition
    number and the row position inside the partition, to restore the input order).
    """
    part = part.reset_index(drop=True)
    for col, dt in dtypes.items():
        if col in part.columns and part[col].dtype != dt:
            part[col] = part[col].astype(dt)
    n = len(part)
    part[_PART] = np.int64(index)
    part[_ROW] = np.arange(n, dtype=np.int64)
    if n_tasks == 1 or not key or n == 0:
        dest = np.zeros(n, dtype=np.int64)
    else:
        # pandas' hash is seeded with a fixed key: the same value gives the same task on
        # every worker and every run
        h = pd.util.hash_pandas_object(part[key], index=False).to_numpy()
        dest = (h % np.uint64(n_tasks)).astype(np.int64)
    order = np.argsort(dest, kind="stable")
    bounds = np.searchsorted(dest[order], np.arange(n_tasks + 1))
    pieces = [
        part.iloc[order[bounds[j]:bounds[j + 1]]] for j in range(n_tasks)
    ]
    return n, pieces


def _fit_task(
    pieces: list[pd.DataFrame],
    offsets: NDArray[np.int64],
    by: list[str],
    fit_kwargs: dict[str, Any],
    strict_keys: bool = False,
) -> dict[str, Any] | None:
    """Fit the curves of one task with the local engine; keys in whole-input row numbers.
    ``strict_keys``: an empty curve key is refused, as :func:`~preclin.tables.read_table`
    refuses it in a file read by the local engine."""
    pieces = [p for p in pieces if len(p)]
    if not pieces:
        return None
    data = pd.concat(pieces, ignore_index=True)
    grow = offsets[data[_PART].to_numpy()] + data[_ROW].to_numpy()
    order = np.argsort(grow, kind="stable")
    grow = grow[order]
    data = data.iloc[order].drop(columns=[_PART, _ROW]).reset_index(drop=True)
    try:
        if strict_keys:
            require_keys(data, by, file=fit_kwargs.get("file"), allow_missing=False)
        with _FIT_LOCK:
            res = fit(data, by=by, **fit_kwargs)
    except InputError as exc:
        m = _ROW_LOCATION.match(exc.location or "")
        if m is None:
            raise
        pos = int(m.group(1)) - 2
        where = f"row {int(grow[pos]) + 2}{m.group(2)}" if 0 <= pos < len(grow) else None
        raise InputError(exc.problem, file=exc.file, location=where) from None
    # first input row of every curve (the table is in order of first appearance)
    if by:
        codes = data[by].groupby(by, sort=False, dropna=False).ngroup().to_numpy()
        _, first = np.unique(codes, return_index=True)
    else:
        first = np.zeros(1, dtype=np.int64)
    excluded = res.excluded.copy()
    src = excluded["source_row"].to_numpy(dtype=np.int64)
    used = np.ones(len(data), dtype=bool)
    used[src] = False
    excluded["source_row"] = grow[src]
    return {
        "table": res.table,
        "first": grow[first],
        "points": res.points,
        "points_row": grow[used],
        "excluded": excluded,
        "vcov": res.vcov,
        "meta": {"by": res.by, "model": res.model, "dose_unit": res.dose_unit, "ed": res.ed},
    }


# --------------------------------------------------------------------------- combining


def concat_fits(parts: Sequence[dict[str, Any]]) -> DoseResponseFit:
    """Combine per-task results into one fit in the local engine's order.

    Parameters
    ----------
    parts
        Results of the fit tasks: dicts with ``table``, ``first`` (input row of the first
        point of each curve), ``points``, ``points_row`` (input row of each point),
        ``excluded`` (``source_row`` already in whole-input rows), ``vcov`` and ``meta``
        (``by``, ``model``, ``dose_unit`` and ``ed`` of the task's fit).

    Returns
    -------
    DoseResponseFit
        Curves ordered by their first input row, points and excluded points by input row.
    """
    if not parts:
        raise InputError("the table has no rows")
    meta: dict[str, Any] = parts[0]["meta"]
    first = np.concatenate([p["first"] for p in parts])
    t_order = np.argsort(first, kind="stable")
    table = pd.concat([p["table"] for p in parts], ignore_index=True)
    table = table.iloc[t_order].reset_index(drop=True)
    vcov = np.concatenate([p["vcov"] for p in parts], axis=0)[t_order]
    prow = np.concatenate([p["points_row"] for p in parts])
    points = pd.concat([p["points"] for p in parts], ignore_index=True)
    points = points.iloc[np.argsort(prow, kind="stable")].reset_index(drop=True)
    excluded = pd.concat([p["excluded"] for p in parts], ignore_index=True)
    excluded = excluded.iloc[
        np.argsort(excluded["source_row"].to_numpy(), kind="stable")
    ].reset_index(drop=True)
    by: list[str] = list(meta["by"])
    if by and table.duplicated(by).any():
        dup = table.loc[table.duplicated(by), by].iloc[0].tolist()
        raise InputError(
            f"curve {dup} was split over several fit tasks: the partition_by columns must "
            "be constant within every curve"
        )
    return DoseResponseFit(
        table=table,
        points=points,
        excluded=excluded,
        by=by,
        model=meta["model"],
        dose_unit=meta["dose_unit"],
        ed=meta["ed"],
        vcov=vcov,
    )


def _restore_dtypes(res: DoseResponseFit, dtypes: dict[str, Any]) -> DoseResponseFit:
    """Give the grouping columns the dtype of the input (concat may widen categoricals)."""
    for frame in (res.table, res.points, res.excluded):
        for col in res.by:
            want = dtypes.get(col)
            if want is not None and col in frame.columns and frame[col].dtype != want:
                frame[col] = frame[col].astype(want)
    return res


# --------------------------------------------------------------------------- client side


def _input(
    source: Any, needed: list[str], optional: list[str], n_chunks: int, dd: Any, dask: Any
) -> tuple[list[Any], dict[str, Any], str | None, Any]:
    """Input partitions (delayed objects or pandas pieces), the dtypes and a file name."""
    if isinstance(source, (str, Path)):
        is_url = isinstance(source, str) and "://" in source  # s3://, gs://, ... (fsspec)
        path: Any = source if is_url else Path(source)
        if not is_url and not path.exists():
            raise InputError("file not found", file=path)
        # strings as pandas reads them (str), not dask's string[pyarrow]
        with dask.config.set({"dataframe.convert-string": False}):
            try:
                ddf = dd.read_parquet(str(path))
            except Exception as exc:  # pyarrow raises its own types on bad files
                text = str(exc).strip().splitlines()
                raise InputError(
                    f"cannot read Parquet dataset ({type(exc).__name__}: "
                    f"{text[0] if text else ''})",
                    file=path,
                ) from None
            require_columns(ddf._meta, needed, file=path)
            cols = needed + [c for c in optional if c in ddf.columns and c not in needed]
            ddf = ddf[cols]
            return list(ddf.to_delayed()), dict(ddf.dtypes), str(path), None
    if isinstance(source, pd.DataFrame):
        require_columns(source, needed)
        cols = needed + [c for c in optional if c in source.columns and c not in needed]
        frame = source.reset_index(drop=True)[cols]
        if frame.shape[0] == 0:
            raise InputError("the table has no rows")
        bounds = np.linspace(0, len(frame), max(1, min(n_chunks, len(frame))) + 1).astype(int)
        chunks = [frame.iloc[a:b] for a, b in zip(bounds[:-1], bounds[1:], strict=True)]
        return chunks, dict(frame.dtypes), None, "scatter"
    if hasattr(source, "to_delayed") and hasattr(source, "_meta"):
        require_columns(source._meta, needed)
        cols = needed + [c for c in optional if c in source.columns and c not in needed]
        ddf = source[cols]
        return list(ddf.to_delayed()), dict(ddf.dtypes), None, None
    raise InputError(
        "the dask engine reads a Parquet file or directory, a pandas DataFrame or a dask "
        f"DataFrame, not {type(source).__name__}"
    )


def fit_dask(
    source: str | Path | pd.DataFrame | Any,
    *,
    dose: str,
    response: str,
    by: str | Sequence[str] | None,
    scheduler: str | Client | None = None,
    n_workers: int | None = None,
    partition_by: str | Sequence[str] | None = None,
    n_tasks: int | None = None,
    processes: bool = False,
    **fit_kwargs: Any,
) -> DoseResponseFit:
    """Fit every curve of a (large) table on a dask cluster; same result as :func:`fit`.

    Parameters
    ----------
    source
        Parquet file or directory of Parquet files (a dataset; read on the workers, so it
        must be on storage every worker can see; URLs such as ``s3://bucket/curves/`` work
        when the matching fsspec package is installed), a pandas DataFrame (split and sent
        to the workers) or a dask DataFrame.
    dose, response, by
        As for :func:`preclin.doseresponse.fit`.
    scheduler
        ``None``: start a ``LocalCluster`` on this machine for the call and close it after;
        an address such as ``"tcp://10.0.0.5:8786"``: connect to that running scheduler
        (the cluster is left running); a ``distributed.Client``: use it as is.
    n_workers
        Workers of the ``LocalCluster`` (``scheduler=None`` only; default: dask's choice).
    partition_by
        Columns that decide which fit task a row goes to (default: ``by``). Must be
        constant within every curve, e.g. ``"cell_line"`` when curves are
        ``["cell_line", "drug"]``; a curve found in two tasks raises :class:`InputError`.
    n_tasks
        Number of fit tasks (default: the larger of the number of input partitions and the
        number of worker threads).
    processes
        ``LocalCluster`` workers as processes (True) or threads in this process (False,
        the default: starts fast; the fit kernel releases the GIL).
    **fit_kwargs
        Any other argument of :func:`preclin.doseresponse.fit` (``model``, ``ed``,
        ``fixed``, ``weights``, ``exclude_column``, ``engine="numba"``, ...), applied by
        every task. ``pool_variance=True`` is not supported (it pools over all curves).
        ``progress`` is called on the client as ``progress(tasks_done, n_tasks)``.

    Returns
    -------
    DoseResponseFit
        Identical to ``fit(pandas.read_parquet(source), ...)``: curves in order of their
        first row in the input, ``points`` and ``excluded`` in input order.

    Raises
    ------
    InputError
        Missing columns or bad values (row numbers refer to the whole input), an
        unreadable source, ``pool_variance=True``, or a curve split by ``partition_by``.
    """
    dask, dd, client_cls, cluster_cls = _import_dask()
    by_cols = _as_list(by)
    key = _as_list(partition_by) if partition_by is not None else by_cols
    if fit_kwargs.get("pool_variance"):
        raise InputError(
            "pool_variance=True pools the residual variance over all curves and is not "
            "available with the dask engine; use the local engine"
        )
    progress = fit_kwargs.pop("progress", None)
    engine = fit_kwargs.pop("engine", "numba")
    if engine in ("dask", "auto"):
        # partitions are fitted by the compiled engine whatever their size, so the table
        # does not depend on how the data are partitioned
        engine = "numba"
    fit_kwargs["engine"] = engine
    if n_tasks is not None and n_tasks < 1:
        raise InputError(f"n_tasks must be at least 1, not {n_tasks}")
    weights = fit_kwargs.get("weights")
    needed = list(dict.fromkeys(
        [dose, response, *by_cols, *key] + ([weights] if weights else [])
    ))
    optional = [c for c in (fit_kwargs.get("exclude_column", "excluded"),
                            fit_kwargs.get("reason_column", "reason")) if c]

    with ExitStack() as stack:
        if scheduler is None:
            cluster = stack.enter_context(cluster_cls(
                n_workers=n_workers,
                threads_per_worker=1,
                processes=processes,
                dashboard_address=None,
            ))
            client = stack.enter_context(client_cls(cluster, set_as_default=False))
        elif isinstance(scheduler, str):
            try:
                client = stack.enter_context(client_cls(scheduler, set_as_default=False))
            except (OSError, TimeoutError) as exc:
                raise InputError(
                    f"cannot connect to the dask scheduler at {scheduler} ({exc})"
                ) from None
        else:
            client = scheduler
        threads = max(1, sum(client.nthreads().values()))
        parts, dtypes, file, how = _input(source, needed, optional, threads, dd, dask)
        fit_kwargs.setdefault("file", file)
        tasks = n_tasks or max(len(parts), threads)
        sub_dtypes = {c: dtypes[c] for c in needed if c in dtypes}
        if how == "scatter":
            inputs = client.scatter(parts)
        else:
            inputs = client.compute(parts)
        # 1. read and split every input partition
        split = [
            client.submit(_bucket, p, i, key, tasks, sub_dtypes, pure=False)
            for i, p in enumerate(inputs)
        ]
        lengths = client.gather([client.submit(operator.getitem, s, 0) for s in split])
        offsets = np.concatenate([[0], np.cumsum(lengths)[:-1]]).astype(np.int64)
        if int(np.sum(lengths)) == 0:
            raise InputError("the table has no rows", file=file)
        lists = [client.submit(operator.getitem, s, 1) for s in split]
        # 2.-3. shuffle and fit: task j gathers piece j of every partition
        fits = []
        for j in range(tasks):
            pieces = [client.submit(operator.getitem, lst, j) for lst in lists]
            fits.append(client.submit(_fit_task, pieces, offsets, by_cols, dict(
                fit_kwargs, dose=dose, response=response), file is not None, pure=False))
        if progress is not None:
            from distributed import as_completed

            with client.as_current():
                for done, _ in enumerate(as_completed(fits), start=1):
                    progress(done, tasks)
        results = [r for r in client.gather(fits) if r is not None]
        del inputs, split, lists, fits
    # 4. combine in the local engine's order
    return _restore_dtypes(concat_fits(results), dtypes)
