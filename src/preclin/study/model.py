"""The study file (``study.toml``): a pydantic model with plain-language errors.

The ``[[experiment]]`` tables are a union of the settings models of the registered
experiment kinds (:mod:`preclin.study.kinds`), told apart by their ``kind`` key
(``"doseresponse"`` when absent); :func:`study_file_model` builds it from the registry.

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

import difflib
import sys
import types
from collections.abc import Mapping
from pathlib import Path
from typing import Annotated, Any, Union, get_args, get_origin

from pydantic import (
    BaseModel,
    Discriminator,
    Field,
    SerializeAsAny,
    Tag,
    ValidationError,
    create_model,
    field_validator,
)

from ..errors import StudyError
from .kinds import (
    DEFAULT_KIND,
    ExperimentSettings,
    registered_kinds,
    registry_version,
    unknown_kind_message,
)
from .kinds.base import StrictModel
from .kinds.coculture import CocultureExperimentSpec, CocultureSpec
from .kinds.doseresponse import ClassifySpec, CompareSpec, ExperimentSpec, FitSpec
from .kinds.factorial import FactorialExperimentSpec, FactorialSpec
from .kinds.plate_steps import NormaliseSpec, QCSpec

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

__all__ = [
    "StudyFile",
    "StudyInfo",
    "ExperimentSettings",
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
    "validate_study",
    "study_file_model",
]


class StudyInfo(StrictModel):
    """The ``[study]`` table."""

    title: str
    description: str = ""
    simulated: bool = False
    authors: list[str] = Field(default_factory=list)


class StudyFile(StrictModel):
    """The whole study file.

    ``StudyFile.model_validate(data)`` validates against the registered kinds (it uses
    :func:`study_file_model`); a validated study is an instance of a subclass.
    """

    study: StudyInfo
    experiment: list[SerializeAsAny[ExperimentSettings]] = Field(min_length=1)

    @field_validator("experiment")
    @classmethod
    def _unique_names(cls, v: list[Any]) -> list[Any]:
        names = [e.name for e in v]
        dups = sorted({n for n in names if names.count(n) > 1})
        if dups:
            raise ValueError(f"experiment names must be unique; repeated: {', '.join(dups)}")
        return v

    @classmethod
    def model_validate(cls, obj: Any, **kwargs: Any) -> StudyFile:
        """Validate ``obj``; on :class:`StudyFile` itself, against the registered kinds."""
        if cls is StudyFile:
            return study_file_model().model_validate(obj, **kwargs)
        return super().model_validate(obj, **kwargs)


def _experiment_kind(value: Any) -> str:
    if isinstance(value, dict):
        return str(value.get("kind", DEFAULT_KIND))
    return str(getattr(value, "kind", DEFAULT_KIND))


_MODEL_CACHE: dict[int, type[StudyFile]] = {}


def study_file_model() -> type[StudyFile]:
    """The pydantic model of a study file for the kinds registered now.

    Its ``experiment`` list is a union of every kind's settings model, discriminated by
    the ``kind`` key (``"doseresponse"`` when absent). Rebuilt when the registry changes.
    """
    version = registry_version()
    cached = _MODEL_CACHE.get(version)
    if cached is not None:
        return cached
    members = tuple(Annotated[k.settings, Tag(name)] for name, k in registered_kinds().items())
    union: Any = Union[members] if len(members) > 1 else members[0]  # noqa: UP007
    experiment = Annotated[union, Discriminator(_experiment_kind)]
    model = create_model("StudyFile", __base__=StudyFile, __module__=__name__,
                         experiment=(list[experiment], Field(min_length=1)))
    _MODEL_CACHE.clear()
    _MODEL_CACHE[version] = model
    return model


# -------------------------------------------------------------------------------- errors
def _format_loc(loc: tuple[Any, ...], tags: set[str]) -> str:
    out = ""
    for k, part in enumerate(loc):
        if part in tags and k > 0 and isinstance(loc[k - 1], int):
            continue  # the discriminator tag pydantic inserts after the list index
        if isinstance(part, int):
            out += f"[{part + 1}]"
        else:
            out += ("." if out else "") + str(part)
    return out


def _unwrap(tp: Any) -> list[Any]:
    """The model classes a field annotation may hold (through Optional, list, dict)."""
    origin = get_origin(tp)
    if origin is Annotated:
        return _unwrap(get_args(tp)[0])
    if origin in (Union, types.UnionType, list, dict, tuple):
        return [m for a in get_args(tp) for m in _unwrap(a)]
    return [tp] if isinstance(tp, type) and issubclass(tp, BaseModel) else []


def _model_at(loc: tuple[Any, ...], model: type[BaseModel]) -> type[BaseModel] | None:
    """The model whose field the last element of ``loc`` names (``None`` if unknown)."""
    kinds = registered_kinds()
    current: type[BaseModel] | None = model
    parts = list(loc[:-1])
    for k, part in enumerate(parts):
        if current is None:
            return None
        if isinstance(part, int):
            continue
        if k > 0 and isinstance(parts[k - 1], int) and part in kinds:
            current = kinds[part].settings
            continue
        field = current.model_fields.get(str(part))
        if field is None:
            return None
        candidates = _unwrap(field.annotation)
        if str(part) == "experiment" and current is model:
            kind = DEFAULT_KIND  # refined by the tag that follows the list index
            current = kinds[kind].settings if kind in kinds else None
            continue
        current = candidates[0] if len(candidates) == 1 else None
    return current


def _suggest(loc: tuple[Any, ...], model: type[BaseModel]) -> str:
    parent = _model_at(loc, model)
    if parent is None or not loc:
        return ""
    close = difflib.get_close_matches(str(loc[-1]), list(parent.model_fields), n=1)
    return f"; did you mean '{close[0]}'?" if close else ""


def _problem(err: Any, loc: tuple[Any, ...], model: type[BaseModel]) -> tuple[str, str]:
    """Plain-language problem and key path of one pydantic error."""
    tags = set(registered_kinds())
    kind = err.get("type", "")
    path = _format_loc(loc, tags)
    if kind == "union_tag_invalid":
        tag = (err.get("ctx") or {}).get("tag", "?")
        return unknown_kind_message(tag), f"{path}.kind" if path else "kind"
    if kind == "extra_forbidden":
        return ("unknown key (check the spelling; see the study file documentation)"
                + _suggest(loc, model)), path
    if kind == "missing":
        return "required key is missing", path
    return str(err.get("msg", "invalid value")), path


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
        raw = tomllib.loads(p.read_text(encoding="utf-8-sig"))  # a byte-order mark is no TOML
    except tomllib.TOMLDecodeError as exc:
        raise StudyError(f"not valid TOML ({exc})", file=p) from None
    except UnicodeDecodeError:
        raise StudyError("not a UTF-8 text file", file=p) from None
    return validate_study(raw, file=p)


def validate_study(raw: Mapping[str, Any], *, file: str | Path | None = None) -> StudyFile:
    """Validate a parsed study file (a dict as TOML gives it) against the registered kinds.

    Raises
    ------
    StudyError
        Naming ``file``, the key (e.g. ``experiment[1].fit.dose``) and the problem.
    """
    model = study_file_model()
    try:
        return model.model_validate(raw)
    except ValidationError as exc:
        errors = exc.errors()
        # a misspelt key also makes a required one "missing": name the misspelling first
        err = next((e for e in errors if e.get("type") == "extra_forbidden"), errors[0])
        problem, loc = _problem(err, tuple(err.get("loc", ())), model)
        more = f" (and {exc.error_count() - 1} more problem(s))" if exc.error_count() > 1 else ""
        raise StudyError(problem + more, file=file, location=f"key '{loc}'" if loc else None) \
            from None
