"""Studies: the study file, the runner that composes the rooms, provenance.

Experiment kinds (``doseresponse``, ``factorial``, ``coculture``, and any registered by
other packages) live in :mod:`preclin.study.kinds`; the runner, provenance and report
iterate over them.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from .kinds import (
    ExperimentKind,
    ExperimentSettings,
    KindOutput,
    get_kind,
    register_kind,
    registered_kinds,
    unregister_kind,
)
from .kinds.doseresponse import RESULT_TABLES, classify
from .model import StudyFile, load_study_file, study_file_model
from .runner import RunResult, run_study

__all__ = [
    "Study",
    "StudyFile",
    "RunResult",
    "RESULT_TABLES",
    "classify",
    "load_study_file",
    "study_file_model",
    "run_study",
    "ExperimentKind",
    "ExperimentSettings",
    "KindOutput",
    "register_kind",
    "unregister_kind",
    "get_kind",
    "registered_kinds",
]


@dataclass(frozen=True)
class Study:
    """A validated study file and the folder its relative paths start from."""

    spec: StudyFile
    path: Path

    @classmethod
    def load(cls, path: str | Path) -> Study:
        """Read and validate ``study.toml`` (raises :class:`~preclin.errors.StudyError`)."""
        p = Path(path)
        return cls(spec=load_study_file(p), path=p)

    def run(self, out: str | Path, *, progress: bool | Callable[[str], None] = False,
            jobs: int | None = None) -> RunResult:
        """Run every experiment and write results, provenance and ``report.html`` to ``out``.

        ``jobs`` experiments run at once in worker processes (default: one per core, at
        most 4, on Linux; 1 runs them in turn); the files written do not depend on it.
        """
        cb: Callable[[str], None] | None
        if progress is True:
            from rich.console import Console

            console = Console(stderr=True)

            def cb(text: str) -> None:
                console.print(f"[bold cyan]•[/] {text}")
        elif callable(progress):
            cb = progress
        else:
            cb = None
        return run_study(self.spec, self.path.parent, Path(out), cb, study_path=self.path,
                         jobs=jobs)
