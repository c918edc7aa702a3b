"""Run a study: every experiment through its registered kind, then tables, provenance, report.

Outputs in the run folder:

* ``tables/<experiment>_<table>.parquet`` and ``.csv`` — long tables (each kind declares
  its tables; see :mod:`preclin.study.kinds`);
* ``figures/<experiment>_*.svg`` and ``.png``;
* ``provenance.json`` — input hashes, resolved settings, versions, and per experiment its
  kind, inputs, tables, figures, exclusions and warnings;
* ``report.html`` — one self-contained report.

:func:`run_study` is a loop over the experiments; it never names a kind.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..errors import InputError, StudyError
from ..tables import write_table
from .kinds import KindOutput, RunContext, get_kind
from .model import StudyFile
from .provenance import write_provenance

__all__ = ["RunResult", "run_study", "run_experiment", "write_tables", "default_jobs"]

#: at most this many experiments run at once (worker processes) by default
MAX_DEFAULT_JOBS = 4


@dataclass(frozen=True)
class RunResult:
    """What :func:`run_study` wrote: one :class:`~preclin.study.kinds.KindOutput` per
    experiment and the files."""

    out: Path
    report: Path
    provenance: Path
    tables: tuple[Path, ...]
    experiments: tuple[KindOutput, ...]

    def __getitem__(self, name: str) -> KindOutput:
        """The output of the experiment called ``name``."""
        for e in self.experiments:
            if e.name == name:
                return e
        raise KeyError(f"no experiment '{name}'; experiments: "
                       f"{', '.join(e.name for e in self.experiments)}")

    def summary(self) -> str:
        """What the run produced, experiment by experiment, in plain text."""
        head = f"study run in {self.out}: report {self.report.name}, " \
            f"{len(self.tables)} table files, provenance {self.provenance.name}"
        return "\n".join([head, *(e.summary() for e in self.experiments)])


def run_experiment(spec: Any, ctx: RunContext) -> KindOutput:
    """Run one experiment with its registered kind and check what came back."""
    kind = get_kind(spec.kind)
    try:
        output = kind.run(spec, ctx)
    except InputError as exc:
        if exc.file is not None:
            raise
        # a problem found without a file (a table built from several inputs): name the
        # study file and the experiment, so that every message says where to look
        where = "; ".join(x for x in (f"experiment '{spec.name}'", exc.location) if x)
        raise type(exc)(exc.problem, file=ctx.study_file, location=where) from None
    if not isinstance(output, KindOutput) or output.name != spec.name:
        raise TypeError(f"experiment kind '{spec.kind}' returned {output!r} for experiment "
                        f"'{spec.name}'; expected its KindOutput")
    return output


def write_tables(output: KindOutput, tabdir: Path) -> list[Path]:
    """Write every table of ``output`` as ``<name>_<key>.parquet`` and ``.csv``."""
    written: list[Path] = []
    for key, table in output.tables.items():
        for ext in ("parquet", "csv"):
            written.append(write_table(table.data.reset_index(drop=True),
                                       tabdir / f"{output.name}_{key}.{ext}"))
    return written


def _relative(p: Path, root: Path) -> str:
    try:
        return p.resolve().relative_to(root.resolve()).as_posix()
    except ValueError:
        return p.as_posix()


def _experiment_record(output: KindOutput, written: Sequence[Path], out: Path, base: Path
                       ) -> Mapping[str, Any]:
    """The provenance entry of one experiment (inputs relative to the study folder,
    outputs relative to the run folder)."""
    kind = get_kind(output.kind)
    excluded = output.excluded_by_reason()

    def rel(p: Path) -> str:
        return _relative(p, out)

    return {
        "name": output.name,
        "kind": output.kind,
        "kind_source": f"{type(kind).__module__}.{type(kind).__qualname__}",
        "inputs": sorted({_relative(p, base) for p in output.inputs}),
        "tables": {key: {"files": [rel(p) for p in written
                                   if p.stem == f"{output.name}_{key}"],
                         "rows": len(t.data), "description": t.description}
                   for key, t in output.tables.items()},
        "figures": [{"path": rel(f.path), "role": f.role, "caption": f.caption}
                    for f in output.figures],
        "excluded": dict(zip(excluded["reason"].astype(str), excluded["n"].tolist(),
                             strict=True)),
        "warnings": list(output.warnings),
        "overview": {k: v if isinstance(v, (str, int, float, bool)) or v is None else str(v)
                     for k, v in output.overview.items()},
    }


def default_jobs(n_experiments: int) -> int:
    """How many experiments run at once when ``jobs`` is not given: one per core (at most
    :data:`MAX_DEFAULT_JOBS`) on Linux, where worker processes fork; one elsewhere, and
    when this process already runs numba's thread pool (forking it is not worth the risk
    for a default)."""
    if n_experiments < 2 or not sys.platform.startswith("linux"):
        return 1
    if getattr(sys.modules.get("numba.np.ufunc.parallel"), "_is_initialized", False):
        return 1
    return max(1, min(n_experiments, os.cpu_count() or 1, MAX_DEFAULT_JOBS))


# the experiments of the run in progress, inherited by forked workers (only an index
# crosses the process boundary on the way in; the KindOutput is pickled on the way out)
_WORK: list[tuple[Any, RunContext]] = []


def _run_forked(index: int) -> KindOutput:
    spec, ctx = _WORK[index]
    return run_experiment(spec, ctx)


def _run_experiments(specs: Sequence[Any], make_ctx: Callable[[Any, Any], RunContext],
                     progress: Callable[[str], None] | None, jobs: int) -> list[KindOutput]:
    """Every experiment's output, in study order; with ``jobs`` > 1 in forked worker
    processes (each experiment is independent and seeded, so the outputs are the same as
    a sequential run; progress lines are relayed to ``progress`` in the parent)."""
    global _WORK
    if jobs <= 1 or len(specs) < 2:
        return [run_experiment(spec, make_ctx(spec, progress)) for spec in specs]
    import multiprocessing
    import threading
    from concurrent.futures import ProcessPoolExecutor

    mpc = multiprocessing.get_context("fork")
    queue = mpc.SimpleQueue() if progress is not None else None
    relay = queue.put if queue is not None else None
    _WORK = [(spec, make_ctx(spec, relay)) for spec in specs]
    listener: threading.Thread | None = None
    try:
        with ProcessPoolExecutor(max_workers=min(jobs, len(specs)), mp_context=mpc) as pool:
            futures = [pool.submit(_run_forked, i) for i in range(len(specs))]
            if queue is not None and progress is not None:  # after the workers are forked
                def listen(q: Any = queue, cb: Callable[[str], None] = progress) -> None:
                    while (msg := q.get()) is not None:
                        cb(msg)

                listener = threading.Thread(target=listen, daemon=True)
                listener.start()
            return [f.result() for f in futures]
    finally:
        _WORK = []
        if queue is not None:
            queue.put(None)
            if listener is not None:
                listener.join()


def run_study(
    study: StudyFile, base: Path, out: Path,
    progress: Callable[[str], None] | None = None,
    study_path: Path | None = None,
    jobs: int | None = None,
) -> RunResult:
    """Run every experiment of a study and write tables, figures, provenance and report.

    ``jobs``: how many experiments run at once in worker processes (default
    :func:`default_jobs`; 1 runs them one after the other). The files written do not
    depend on it.
    """
    from .report import build_report

    out = Path(out)
    tabdir = out / "tables"
    tabdir.mkdir(parents=True, exist_ok=True)
    (out / "figures").mkdir(parents=True, exist_ok=True)
    written: list[Path] = []
    records: list[Mapping[str, Any]] = []
    inputs: list[Path] = [study_path] if study_path is not None else []
    outputs: list[KindOutput] = []

    def make_ctx(spec: Any, cb: Callable[[str], None] | None) -> RunContext:
        return RunContext(base=Path(base), out=out, experiment=spec.name, progress=cb,
                          study_file=study_path)

    specs = list(study.experiment)
    n_jobs = default_jobs(len(specs)) if jobs is None else max(1, int(jobs))
    for output in _run_experiments(specs, make_ctx, progress, n_jobs):
        files = write_tables(output, tabdir)
        written += files
        inputs += output.inputs
        outputs.append(output)
        records.append(_experiment_record(output, files, out, Path(base)))
    if not outputs:
        raise StudyError("the study has no experiment", file=study_path)
    if progress is not None:
        progress("writing report")
    report_path = build_report(study, outputs, out).write(out / "report.html")
    prov = write_provenance(
        out / "provenance.json",
        inputs=inputs,
        settings=study.model_dump(mode="json"),
        outputs=written,
        base=out,
        experiments=records,
    )
    return RunResult(out=out, report=report_path, provenance=prov, tables=tuple(written),
                     experiments=tuple(outputs))
