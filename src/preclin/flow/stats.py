"""Population statistics: counts, percentages and per-marker summaries, as long tables.

Definitions (``docs/methods/flow.md``): ``percent_parent = 100 count / parent_count``,
``percent_total = 100 count / n_events``; per marker on the population's events (the
values the gates see before transforms, i.e. compensated when the gate file compensates):
mean, median, geometric mean (``exp(mean(log x))`` over ``x > 0`` only, linear scale),
SD (n - 1), CV = 100 SD / mean, robust CV = 100 * 0.5 * (P84.13 - P15.87) / median.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from ..errors import InputError

if TYPE_CHECKING:
    import pandas as pd

    from .gates import GatingStrategy
    from .io import Sample

__all__ = ["STATISTICS", "population_stats", "parse_stat", "flow_stats", "load_gates",
           "plan_files", "map_files"]

STATISTICS = ("mean", "median", "gmean", "sd", "cv", "rcv")
TABLE_COLUMNS = ("file", "population", "count", "parent_count", "percent_parent",
                 "percent_total")


def parse_stat(spec: str) -> tuple[str, str]:
    """``"median:CD184"`` -> ``("median", "CD184")``."""
    if ":" not in spec:
        raise InputError(f"--stat expects STAT:MARKER such as median:CD184, got {spec!r}")
    stat, marker = (p.strip() for p in spec.split(":", 1))
    stat = {"geomean": "gmean", "geometric_mean": "gmean", "robust_cv": "rcv",
            "robustcv": "rcv"}.get(stat.lower(), stat.lower())
    if stat not in STATISTICS:
        import difflib

        close = difflib.get_close_matches(stat, STATISTICS, n=1)
        hint = f"; did you mean {close[0]!r}?" if close else ""
        raise InputError(f"unknown statistic {stat!r} (one of {', '.join(STATISTICS)}){hint}")
    if not marker:
        raise InputError(f"--stat {spec!r} names no marker")
    return stat, marker


def _stat(values: np.ndarray, stat: str) -> float:
    v = values[np.isfinite(values)].astype(np.float64)
    if v.size == 0:
        return float("nan")
    if stat == "mean":
        return float(v.mean())
    if stat == "median":
        return float(np.median(v))
    if stat == "gmean":
        pos = v[v > 0]
        return float(np.exp(np.log(pos).mean())) if pos.size else float("nan")
    if stat == "sd":
        return float(v.std(ddof=1)) if v.size > 1 else float("nan")
    if stat == "cv":
        m = v.mean()
        return float(100 * v.std(ddof=1) / m) if v.size > 1 and m != 0 else float("nan")
    if stat == "rcv":
        med = np.median(v)
        lo, hi = np.percentile(v, [15.865525393145708, 84.13447460685429])
        return float(100 * 0.5 * (hi - lo) / med) if med != 0 else float("nan")
    raise InputError(f"unknown statistic {stat!r}")


def population_stats(sample: Sample, strategy: GatingStrategy, *,
                     stats: Sequence[tuple[str, str]] = (),
                     file_label: str | None = None) -> pd.DataFrame:
    """One row per population of ``strategy`` for one sample (plus the root ``/``)."""
    import pandas as pd

    from .gates import UNCOMPENSATED

    data = strategy.data(sample)
    pops = strategy.populations()
    masks = strategy.evaluate(sample, pops)
    n = sample.n_events
    comp = _gate_compensation(strategy)
    cols: dict[tuple[str, str], np.ndarray] = {}
    for stat, marker in stats:
        cols[(stat, marker)] = data.channel(marker, comp) if comp != UNCOMPENSATED \
            else data.channel(marker)
    label = file_label if file_label is not None else sample.name
    rows = []
    everything = np.ones(n, dtype=bool)
    for pop, mask in [("", everything), *masks.items()]:
        parent = strategy.parents.get(pop) if pop else None
        pmask = masks[parent] if parent else everything
        count = int(mask.sum())
        pcount = int(pmask.sum()) if pop else n
        row: dict[str, object] = {
            "file": label,
            "population": strategy.path(pop) if pop else "/",
            "count": count,
            "parent_count": pcount,
            "percent_parent": 100.0 * count / pcount if pcount else float("nan"),
            "percent_total": 100.0 * count / n if n else float("nan"),
        }
        for (stat, marker), col in cols.items():
            row[f"{stat}_{marker}"] = _stat(col[mask], stat)
        rows.append(row)
    return pd.DataFrame(rows)


def _gate_compensation(strategy: GatingStrategy) -> str:
    """The compensation most gates use (statistics are reported on that scale)."""
    from collections import Counter

    from .gates import UNCOMPENSATED

    seen: Counter[str] = Counter()
    for g in strategy.gates.values():
        for d in getattr(g, "dims", ()):
            seen[d.compensation] += 1
    return seen.most_common(1)[0][0] if seen else UNCOMPENSATED


def load_gates(gates: str | os.PathLike[str]) -> Any:
    """Read a gate file by its extension: Gating-ML 2.0 ``.xml``, FACSDiva ``.xml`` export
    or FlowJo ``.wsp`` (a :class:`~preclin.flow.flowjo.Workspace`), or a preclin
    ``.toml`` template."""
    gpath = Path(gates)
    suffix = gpath.suffix.lower()
    if suffix == ".xml":
        from .gatingml import read_gatingml

        try:
            with open(gpath, "rb") as fh:
                head = fh.read(4096)
        except OSError as exc:
            raise InputError(f"cannot read: {exc.strerror or exc}", file=gpath) from None
        if b"<bdfacs" in head:
            from .diva import read_diva

            return read_diva(gpath)

        return read_gatingml(gpath)
    if suffix == ".wsp":
        from .flowjo import read_workspace

        return read_workspace(gpath)
    if suffix == ".toml":
        from .template import read_template

        return read_template(gpath)
    raise InputError(f"unknown gate file type {gpath.suffix!r}: give a Gating-ML 2.0 "
                     "(.xml), FlowJo (.wsp) or preclin template (.toml) file", file=gpath)


def plan_files(files: Sequence[str | os.PathLike[str]], gates: Any, *, comp: str = "auto",
               group: str | None = None) -> tuple[list[tuple[Path, GatingStrategy]], list[str]]:
    """Pair each FCS file with the gating strategy to apply (and notes on what is skipped).

    ``gates`` is a file or what :func:`load_gates` returns. A workspace gives each file the
    gates of its own sample (:func:`~preclin.flow.flowjo.match_samples`); Gating-ML and
    templates apply one strategy to every file. ``comp``: ``"auto"`` (as the gate file
    says), ``"none"`` or a matrix file replacing every matrix the gate file uses.
    """
    from .compensate import read_spillover
    from .flowjo import Workspace, match_samples, override_compensation
    from .gates import GatingStrategy as _GS

    loaded = load_gates(gates) if isinstance(gates, (str, os.PathLike)) else gates
    if not files:
        raise InputError("no FCS files given")
    spill = None if comp in {"auto", "none"} else read_spillover(comp)
    notes: list[str] = []
    if isinstance(loaded, Workspace):
        pairs, notes = match_samples(loaded, files, group=group)
        if not pairs:
            raise InputError("none of the FCS files given matches a sample of the "
                             f"workspace ({'; '.join(notes[:3])})", file=loaded.file)
        plan = [(path, s.strategy) for s, path in pairs]
    elif isinstance(loaded, _GS):
        plan = [(Path(f), loaded) for f in files]
    else:
        raise InputError("gates must be a gate file, a GatingStrategy or a Workspace")
    if comp == "none":
        plan = [(f, override_compensation(st, None)) for f, st in plan]
    elif spill is not None:
        only_fcs = not isinstance(loaded, Workspace) and not loaded.matrices.keys() - {"FCS"}
        plan = [(f, override_compensation(st, spill, only_fcs=only_fcs)) for f, st in plan]
    return plan, notes


def _one_file(args: tuple[Path, GatingStrategy, tuple[tuple[str, str], ...], str]
              ) -> pd.DataFrame:
    from .io import read_fcs

    path, strategy, requested, label = args
    return population_stats(read_fcs(path), strategy, stats=requested, file_label=label)


def map_files(func: Any, items: Sequence[Any], *, jobs: int = 1,
              progress: Callable[[int, int], None] | None = None) -> list[Any]:
    """``[func(item) ...]`` in order, on ``jobs`` processes (1: here; results identical).

    ``progress(done, total)`` is called after each item.
    """
    total = len(items)
    out: list[Any] = []
    if jobs <= 1 or total <= 1:
        for i, it in enumerate(items):
            out.append(func(it))
            if progress is not None:
                progress(i + 1, total)
        return out
    from concurrent.futures import ProcessPoolExecutor

    with ProcessPoolExecutor(max_workers=min(jobs, total)) as pool:
        for i, res in enumerate(pool.map(func, items)):
            out.append(res)
            if progress is not None:
                progress(i + 1, total)
    return out


def flow_stats(files: Sequence[str | os.PathLike[str]], gates: str | os.PathLike[str] | Any,
               *, stats: Sequence[str] = (), comp: str = "auto", jobs: int = 1,
               engine: str = "local", group: str | None = None,
               progress: Callable[[int, int], None] | None = None,
               notes: list[str] | None = None) -> pd.DataFrame:
    """``preclin flow stats``: every file x population, long table.

    Parameters
    ----------
    files
        FCS files.
    gates
        Gating-ML 2.0 (``.xml``), FlowJo workspace (``.wsp``) or preclin template
        (``.toml``) file, or an already loaded strategy / workspace.
    stats
        ``"median:CD184"``-style requests.
    comp
        ``"auto"`` (as the gate file says), ``"none"`` (ignore all compensation) or a
        matrix file (CSV / FlowJo text) used for every compensation reference.
    jobs
        Worker processes (``engine="local"``); the table does not depend on it.
    engine
        ``"local"`` or ``"dask"`` (one task per file on the current Dask client or the
        default scheduler; identical results).
    group
        FlowJo workspaces: only this group's samples.
    progress
        ``progress(done, total)`` after each file.
    notes
        When a list is given, plain-language notes are appended to it (samples skipped
        because their file was not given, files matching no sample).
    """
    import pandas as pd

    if engine not in {"local", "dask"}:
        raise InputError(f"engine must be 'local' or 'dask', got {engine!r}")
    requested = tuple(parse_stat(s) for s in stats)
    plan, found = plan_files(files, gates, comp=comp, group=group)
    if notes is not None:
        notes.extend(found)
    items = [(path, st, requested, str(path)) for path, st in plan]
    if engine == "dask":
        import dask

        frames = list(dask.compute(*[dask.delayed(_one_file)(it) for it in items]))
        if progress is not None:
            progress(len(items), len(items))
    else:
        frames = map_files(_one_file, items, jobs=jobs, progress=progress)
    return pd.concat(frames, ignore_index=True)
