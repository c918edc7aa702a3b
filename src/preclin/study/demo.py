"""``preclin demo``: write the simulated example study and run it."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from ..data.example import write_example_study
from . import RunResult, Study

__all__ = ["run_demo"]


def run_demo(out: str | Path, *, seed: int = 2018,
             progress: bool | Callable[[str], None] = False,
             jobs: int | None = None) -> RunResult:
    """Write the example study to ``out/study`` and run it into ``out``.

    The report is ``out/report.html``; ``jobs`` as in :meth:`Study.run`.
    """
    root = Path(out)
    study_file = write_example_study(root / "study", seed=seed)
    return Study.load(study_file).run(root, progress=progress, jobs=jobs)
