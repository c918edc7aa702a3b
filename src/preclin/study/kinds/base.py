"""What an experiment kind is: its settings, its run context and its one frozen output.

An *experiment kind* (``doseresponse``, ``factorial``, ``coculture``, ...) is one class
derived from :class:`ExperimentKind`. It declares

* ``name`` — the value of ``kind = "..."`` in a study file's ``[[experiment]]`` table;
* ``settings`` — a pydantic model derived from :class:`ExperimentSettings` whose ``kind``
  field is ``Literal[name]``: the keys this kind accepts in the study file;
* ``tables`` — the result tables it may write, each with what one row is;
* :meth:`ExperimentKind.run` — ``(spec, context) -> KindOutput``;
* :meth:`ExperimentKind.report_section` — writes its part of ``report.html``;
* :meth:`ExperimentKind.example` — writes a small runnable example study, used by the
  conformance check :func:`preclin.testing.check_experiment_kind`.

The study runner, provenance and report only ever see :class:`KindOutput` objects.
"""

from __future__ import annotations

import glob
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field, fields
from pathlib import Path
from types import MappingProxyType
from typing import TYPE_CHECKING, Any, ClassVar, Generic, TypeVar

import pandas as pd
from pydantic import BaseModel, ConfigDict, Field

from ...errors import StudyError

if TYPE_CHECKING:  # pragma: no cover
    from ...report import Report

__all__ = [
    "StrictModel",
    "ExperimentSettings",
    "ExperimentKind",
    "KindOutput",
    "ResultTable",
    "ResultFigure",
    "RunContext",
    "ReportContext",
    "EXCLUDED_COLUMNS",
]

#: columns every ``KindOutput.excluded`` table has (more may follow)
EXCLUDED_COLUMNS = ("reason",)


class StrictModel(BaseModel):
    """Base of every study-file model: unknown keys are errors, values are frozen."""

    model_config = ConfigDict(extra="forbid", frozen=True)


class ExperimentSettings(StrictModel):
    """Keys every ``[[experiment]]`` table has; a kind's settings model derives from it.

    A derived model must redeclare ``kind`` as ``Literal["<name>"]`` (the discriminator of
    the study file's experiment list) and add the kind's own keys.
    """

    name: str = Field(pattern=r"^[A-Za-z0-9_\-]+$")
    title: str = ""
    kind: str


@dataclass(frozen=True)
class ResultTable:
    """One result table and what one of its rows is."""

    data: pd.DataFrame
    description: str

    def __repr__(self) -> str:
        return f"ResultTable({len(self.data)} rows × {self.data.shape[1]} columns: " \
            f"{self.description!r})"


@dataclass(frozen=True)
class ResultFigure:
    """A figure written under ``figures/`` with its caption and role.

    ``role`` says what the figure is for (``"plate_map"``, ``"curves"``, ``"main"``, ...)
    so a report section picks figures by role, never by searching captions.
    """

    path: Path
    caption: str
    role: str


def _freeze_tables(tables: Mapping[str, ResultTable]) -> Mapping[str, ResultTable]:
    return MappingProxyType(dict(tables))


def _rebuild_output(state: dict[str, Any]) -> KindOutput:
    """Unpickle a :class:`KindOutput` (see its ``__reduce__``)."""
    return KindOutput(**state)


@dataclass(frozen=True)
class KindOutput:
    """Everything one experiment produced (frozen; one per ``[[experiment]]``).

    Attributes
    ----------
    name, kind
        The experiment's name and kind.
    spec
        The validated settings it ran with.
    tables
        Result tables by key, in writing order; each is written as
        ``tables/<name>_<key>.parquet`` and ``.csv``.
    figures
        Figures written under ``figures/``, each with a caption and a role.
    warnings
        Plain-language warnings, each starting with the experiment name.
    inputs
        Files read (hashed into ``provenance.json``).
    excluded
        Items left out of the analysis (wells, rows, replicates, ...), with a ``reason``.
    overview
        This experiment's row of the report's overview table (column → value).
    result
        The room's own result object (e.g. a
        :class:`~preclin.doseresponse.DoseResponseFit`), for the report section and the
        Python API.
    """

    name: str
    kind: str
    spec: ExperimentSettings
    tables: Mapping[str, ResultTable] = field(default_factory=dict)
    figures: tuple[ResultFigure, ...] = ()
    warnings: tuple[str, ...] = ()
    inputs: tuple[Path, ...] = ()
    excluded: pd.DataFrame = field(default_factory=lambda: pd.DataFrame({"reason": []}))
    overview: Mapping[str, Any] = field(default_factory=dict)
    result: object = None

    def __post_init__(self) -> None:
        object.__setattr__(self, "tables", _freeze_tables(self.tables))
        object.__setattr__(self, "figures", tuple(self.figures))
        object.__setattr__(self, "warnings", tuple(self.warnings))
        object.__setattr__(self, "inputs", tuple(Path(p) for p in self.inputs))
        object.__setattr__(self, "overview", MappingProxyType(dict(self.overview)))

    def __reduce__(self) -> tuple[Any, tuple[Any, ...]]:
        """Pickle with plain dicts (the read-only views are rebuilt on loading), so an
        experiment can run in a worker process."""
        state = {f.name: getattr(self, f.name) for f in fields(self)}
        state["tables"] = dict(self.tables)
        state["overview"] = dict(self.overview)
        return (_rebuild_output, (state,))

    def table(self, key: str) -> pd.DataFrame:
        """The result table called ``key`` (raises ``KeyError`` naming the keys there are)."""
        try:
            return self.tables[key].data
        except KeyError:
            raise KeyError(f"experiment '{self.name}' has no table '{key}'; it has "
                           f"{', '.join(self.tables) or 'none'}") from None

    def figures_with_role(self, role: str) -> tuple[ResultFigure, ...]:
        """The figures whose role is ``role``, in order."""
        return tuple(f for f in self.figures if f.role == role)

    def excluded_by_reason(self) -> pd.DataFrame:
        """How many items were left out for each reason (columns ``reason``, ``n``)."""
        if not len(self.excluded):
            return pd.DataFrame({"reason": pd.Series([], dtype=object),
                                 "n": pd.Series([], dtype="int64")})
        counts = self.excluded["reason"].astype(str).value_counts(sort=True)
        return counts.rename_axis("reason").reset_index(name="n")

    def summary(self) -> str:
        """A few lines a scientist can read: tables, figures, exclusions, warnings."""
        lines = [f"{self.name} ({self.kind})"]
        for key, t in self.tables.items():
            lines.append(f"  table {key}: {len(t.data)} rows — {t.description}")
        if self.figures:
            roles = ", ".join(dict.fromkeys(f.role for f in self.figures))
            lines.append(f"  {len(self.figures)} figure(s): {roles}")
        if len(self.excluded):
            why = "; ".join(f"{r.reason} ({r.n})" for r in
                            self.excluded_by_reason().itertuples(index=False))
            lines.append(f"  excluded {len(self.excluded)}: {why}")
        lines.append(f"  {len(self.warnings)} warning(s); {len(self.inputs)} input file(s)")
        return "\n".join(lines)

    def __repr__(self) -> str:
        return (f"KindOutput(name={self.name!r}, kind={self.kind!r}, "
                f"tables={list(self.tables)}, figures={len(self.figures)}, "
                f"warnings={len(self.warnings)}, excluded={len(self.excluded)})")


@dataclass(frozen=True)
class RunContext:
    """Where an experiment runs: the study folder, the output folders and progress.

    Attributes
    ----------
    base
        Folder relative paths of the study file start from.
    out
        The run folder (``tables/``, ``figures/`` and the report go there).
    experiment
        Name of the experiment being run (prefix of its files).
    progress
        Called with a short text before each step, or ``None``.
    study_file
        The study file, for error messages.
    """

    base: Path
    out: Path
    experiment: str
    progress: Callable[[str], None] | None = None
    study_file: Path | None = None

    @property
    def figdir(self) -> Path:
        """``<out>/figures``."""
        return self.out / "figures"

    @contextmanager
    def step(self, text: str) -> Iterator[None]:
        """Report ``"<experiment>: <text>"`` to the progress callback, then run the block."""
        if self.progress is not None:
            self.progress(f"{self.experiment}: {text}")
        yield

    def resolve(self, pattern: str) -> list[Path]:
        """Files matching ``pattern`` (a path or glob, relative to :attr:`base`), sorted.

        Raises
        ------
        StudyError
            If nothing matches.
        """
        full = pattern if Path(pattern).is_absolute() else str(self.base / pattern)
        hits = sorted(glob.glob(full))
        if not hits:
            raise StudyError(f"no file matches '{pattern}'",
                             file=self.study_file or self.base / "study.toml")
        return [Path(h) for h in hits]

    def resolve_one(self, pattern: str) -> Path:
        """The one file ``pattern`` names (raises :class:`StudyError` for none or several)."""
        files = self.resolve(pattern)
        if len(files) != 1:
            raise StudyError(f"experiment '{self.experiment}': data must name one table, "
                             f"'{pattern}' matches {len(files)} files")
        return files[0]

    def save_figure(self, fig: Any, stem: str, *, caption: str, role: str) -> ResultFigure:
        """Write ``figures/<experiment>_<stem>.svg`` and ``.png``; return the SVG's record."""
        from ...report import save_figure

        saved = save_figure(fig, self.figdir / f"{self.experiment}_{stem}")
        return ResultFigure(path=saved[0], caption=caption, role=role)


@dataclass(frozen=True)
class ReportContext:
    """What a report section may need besides its own output."""

    out: Path
    simulated: bool = False

    def table_file(self, output: KindOutput, key: str) -> str:
        """The CSV path of one of ``output``'s tables, relative to the report."""
        return f"tables/{output.name}_{key}.csv"


S = TypeVar("S", bound=ExperimentSettings)


class ExperimentKind(ABC, Generic[S]):
    """One kind of experiment: settings, analysis, report section and a runnable example.

    Subclass it, set the class attributes and implement :meth:`run` and :meth:`example`;
    :meth:`report_section` has a generic default (figures, then tables with their
    descriptions). Register an instance with :func:`preclin.study.kinds.register_kind`.
    """

    #: value of ``kind = "..."`` in the study file (lower case, letters, digits, ``_``)
    name: ClassVar[str]
    #: one line saying what the kind analyses (shown in errors and docs)
    summary: ClassVar[str] = ""
    #: the tables this kind may write: key → what one row is
    tables: ClassVar[Mapping[str, str]] = {}
    #: the pydantic model of the kind's ``[[experiment]]`` table
    settings: type[S]

    @abstractmethod
    def run(self, spec: S, ctx: RunContext) -> KindOutput:
        """Analyse one experiment and return its frozen output (no report writing here)."""

    @abstractmethod
    def example(self, directory: Path) -> Path:
        """Write a small runnable example study into ``directory``; return its study file.

        The study should hold at least one experiment of this kind and run in seconds;
        :func:`preclin.testing.check_experiment_kind` runs it through ``preclin run``.
        """

    def report_section(self, output: KindOutput, report: Report, ctx: ReportContext) -> None:
        """Write this experiment's section of the report (default: figures and tables)."""
        report.add_section(output.spec.title or output.name)
        for fig in output.figures:
            report.add_figure(fig.path, caption=fig.caption,
                              name=f"{output.name}-{fig.path.stem}")
        for key, t in output.tables.items():
            report.add_table(t.data, caption=f"{t.description} "
                             f"({ctx.table_file(output, key)})")

    def report_notes(self, outputs: Sequence[KindOutput], report: Report) -> None:
        """Add notes once per report for every kind present (e.g. what statuses mean)."""

    def output(self, spec: S, **fields: Any) -> KindOutput:
        """Build this kind's :class:`KindOutput`; ``tables`` may map key → DataFrame.

        DataFrames are paired with the description declared in :attr:`tables`.
        """
        tables = fields.pop("tables", {})
        wrapped = {}
        for key, value in tables.items():
            if isinstance(value, ResultTable):
                wrapped[key] = value
            else:
                wrapped[key] = ResultTable(value, self.tables.get(key, ""))
        return KindOutput(name=spec.name, kind=self.name, spec=spec, tables=wrapped,
                          **fields)

    def __repr__(self) -> str:
        return f"<experiment kind {self.name!r}: {self.summary}>"
