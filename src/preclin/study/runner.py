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

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..errors import InputError, StudyError
from ..tables import write_table
from .kinds import KindOutput, RunContext, get_kind
from .model import StudyFile
from .provenance import write_provenance

__all__ = ["RunResult", "run_study", "run_experiment", "write_tables"]


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


def run_study(
    study: StudyFile, base: Path, out: Path,
    progress: Callable[[str], None] | None = None,
    study_path: Path | None = None,
) -> RunResult:
    """Run every experiment of a study and write tables, figures, provenance and report."""
    from .report import build_report

    out = Path(out)
    tabdir = out / "tables"
    tabdir.mkdir(parents=True, exist_ok=True)
    (out / "figures").mkdir(parents=True, exist_ok=True)
    written: list[Path] = []
    records: list[Mapping[str, Any]] = []
    inputs: list[Path] = [study_path] if study_path is not None else []
    outputs: list[KindOutput] = []
    for spec in study.experiment:
        ctx = RunContext(base=Path(base), out=out, experiment=spec.name, progress=progress,
                         study_file=study_path)
        output = run_experiment(spec, ctx)
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
