"""The study file (``study.toml``): a pydantic model with plain-language errors.

Example::

    [study]
    title = "Lenalidomide in myeloma cell lines"
    simulated = false

    [[experiment]]
    name = "myeloma_len"
    layout = "layouts/myeloma.toml"        # wellmap TOML; its [meta] paths name the data files
    # data = ["plates/*.csv"]              # or give the data files here (globs allowed)

    [experiment.normalise]                 # % of vehicle after blank subtraction
    control_column = "control"
    blank = "blank"
    vehicle = "vehicle"

    [experiment.fit]
    dose = "conc"
    dose_unit = "µM"
    response = "viability"
    by = ["cell_line", "drug"]
    model = "ll4"
    ed = [25, 50]

    [experiment.classify]                  # "resistant if IC50 > 10 µM"
    column = "ec50"
    threshold = 10
    above = "resistant"
    below = "sensitive"

    [[experiment.compare]]
    value = "ec50"
    group = "call"
    test = "mann-whitney"
    log10 = true
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Discriminator,
    Field,
    Tag,
    ValidationError,
    field_validator,
)

from ..errors import StudyError

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

__all__ = [
    "StudyFile",
    "StudyInfo",
    "ExperimentSpec",
    "NormaliseSpec",
    "FitSpec",
    "ClassifySpec",
    "CompareSpec",
    "QCSpec",
    "FactorialSpec",
    "CocultureSpec",
    "FactorialExperimentSpec",
    "CocultureExperimentSpec",
    "load_study_file",
]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class NormaliseSpec(_Strict):
    """How raw plate signal becomes % viability (see :func:`preclin.plates.normalise`)."""

    control_column: str = "control"
    blank: str | None = "blank"
    vehicle: str = "vehicle"
    positive: str | None = None
    by: list[str] = Field(default_factory=lambda: ["plate"])
    vehicle_by: list[str] = Field(default_factory=list)


class FitSpec(_Strict):
    """Dose-response model settings (see :func:`preclin.doseresponse.fit`)."""

    dose: str
    response: str = "viability"
    by: list[str]
    model: str = "ll4"
    ed: list[float] = Field(default_factory=lambda: [50.0])
    fixed: dict[str, float] = Field(default_factory=dict)
    dose_unit: str = ""
    pool_variance: bool = False
    alpha: float = 0.05

    @field_validator("ed")
    @classmethod
    def _levels(cls, v: list[float]) -> list[float]:
        for x in v:
            if not 0 < x < 100:
                raise ValueError(f"ED level {x} must be between 0 and 100")
        return v


class ClassifySpec(_Strict):
    """A threshold rule, e.g. the seed paper's "resistant if IC50 > 10 µM"."""

    column: str = "ec50"
    threshold: float
    above: str = "resistant"
    below: str = "sensitive"
    name: str = "call"


class CompareSpec(_Strict):
    """Compare a per-curve value between groups (see :func:`preclin.stats.compare_groups`)."""

    value: str = "ec50"
    group: str
    test: Literal["mann-whitney", "welch", "t"] = "mann-whitney"
    log10: bool = True
    within: list[str] = Field(default_factory=list)


class QCSpec(_Strict):
    """Plate acceptance criteria."""

    z_prime_min: float = 0.5
    cv_max: float = 20.0


class ExperimentSpec(_Strict):
    """One experiment: plates + layout -> normalised wells -> fitted curves."""

    name: str = Field(pattern=r"^[A-Za-z0-9_\-]+$")
    title: str = ""
    kind: Literal["doseresponse"] = "doseresponse"
    layout: str | list[str]
    data: str | list[str] | None = None
    reader: str = "auto"
    normalise: NormaliseSpec = Field(default_factory=NormaliseSpec)
    fit: FitSpec
    classify: ClassifySpec | None = None
    compare: list[CompareSpec] = Field(default_factory=list)
    qc: QCSpec = Field(default_factory=QCSpec)
    plate_map_factors: list[str] = Field(default_factory=list)
    overlay: str | None = None


class FactorialSpec(_Strict):
    """Settings of :func:`preclin.synergy.factorial.factorial_effects`."""

    factors: list[str] = Field(min_length=2)
    response: str = "viability"
    response_kind: Literal["viability", "inhibition", "apoptosis"] = "viability"
    replicate: str = "replicate"
    by: list[str] = Field(default_factory=list)
    added: list[str] | None = None
    labels: dict[str, str] | None = None
    control: float | None = None
    alpha: float = 0.05


class CocultureSpec(_Strict):
    """Settings of :func:`preclin.synergy.coculture.chemoprotection`."""

    response: str = "apoptosis"
    response_kind: Literal["apoptosis", "viability"] = "apoptosis"
    condition: str = "condition"
    alone: str = "alone"
    stroma: str = "stroma"
    treatment: str = "treatment"
    vehicle: str = "vehicle"
    replicate: str = "replicate"
    by: list[str] = Field(default_factory=list)
    added: str | None = None
    test: Literal["t", "wilcoxon"] = "t"
    ci: Literal["t", "bootstrap"] = "t"
    seed: int = 0
    alpha: float = 0.05


class FactorialExperimentSpec(_Strict):
    """A fixed-dose factorial (2×2, 2×2×2): Bliss/HSA excess and interaction tests."""

    name: str = Field(pattern=r"^[A-Za-z0-9_\-]+$")
    title: str = ""
    kind: Literal["factorial"]
    data: str
    factorial: FactorialSpec


class CocultureExperimentSpec(_Strict):
    """Chemoprotection by stroma: cells alone vs on stroma, ± an added drug."""

    name: str = Field(pattern=r"^[A-Za-z0-9_\-]+$")
    title: str = ""
    kind: Literal["coculture"]
    data: str
    coculture: CocultureSpec


def _experiment_kind(value: Any) -> str:
    if isinstance(value, dict):
        return str(value.get("kind", "doseresponse"))
    return str(getattr(value, "kind", "doseresponse"))


AnyExperiment = Annotated[
    Annotated[ExperimentSpec, Tag("doseresponse")]
    | Annotated[FactorialExperimentSpec, Tag("factorial")]
    | Annotated[CocultureExperimentSpec, Tag("coculture")],
    Discriminator(_experiment_kind),
]


class StudyInfo(_Strict):
    """The ``[study]`` table."""

    title: str
    description: str = ""
    simulated: bool = False
    authors: list[str] = Field(default_factory=list)


class StudyFile(_Strict):
    """The whole study file."""

    study: StudyInfo
    experiment: list[AnyExperiment] = Field(min_length=1)

    @field_validator("experiment")
    @classmethod
    def _unique_names(cls, v: list[Any]) -> list[Any]:
        names = [e.name for e in v]
        dups = sorted({n for n in names if names.count(n) > 1})
        if dups:
            raise ValueError(f"experiment names must be unique; repeated: {', '.join(dups)}")
        return v


_TAGS = {"doseresponse", "factorial", "coculture"}


def _format_loc(loc: tuple[Any, ...]) -> str:
    out = ""
    for k, part in enumerate(loc):
        if part in _TAGS and k > 0 and isinstance(loc[k - 1], int):
            continue  # the discriminator tag pydantic inserts after the list index
        if isinstance(part, int):
            out += f"[{part + 1}]"
        else:
            out += ("." if out else "") + str(part)
    return out


def load_study_file(path: str | Path) -> StudyFile:
    """Parse and validate a study TOML file.

    Raises
    ------
    StudyError
        Naming the file, the key (e.g. ``experiment[1].fit.dose``) and the problem.
    """
    p = Path(path)
    if not p.is_file():
        raise StudyError("study file not found", file=p)
    try:
        raw = tomllib.loads(p.read_text(encoding="utf-8"))
    except tomllib.TOMLDecodeError as exc:
        raise StudyError(f"not valid TOML ({exc})", file=p) from None
    except UnicodeDecodeError:
        raise StudyError("not a UTF-8 text file", file=p) from None
    try:
        return StudyFile.model_validate(raw)
    except ValidationError as exc:
        err = exc.errors()[0]
        loc = _format_loc(tuple(err.get("loc", ())))
        kind = err.get("type", "")
        if kind == "extra_forbidden":
            problem = "unknown key (check the spelling; see the study file documentation)"
        elif kind == "missing":
            problem = "required key is missing"
        else:
            problem = str(err.get("msg", "invalid value"))
        more = f" (and {exc.error_count() - 1} more problem(s))" if exc.error_count() > 1 else ""
        raise StudyError(problem + more, file=p, location=f"key '{loc}'" if loc else None) \
            from None
