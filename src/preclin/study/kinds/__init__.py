"""The registry of experiment kinds: what ``kind = "..."`` may name in a study file.

Built-in kinds (one module each in this package):

==============  ==============================================================
kind            what it analyses
==============  ==============================================================
doseresponse    plates + layout → normalised wells → fitted dose-response curves
factorial       fixed-dose 2^k factorial: Bliss/HSA excess, interaction terms
coculture       chemoprotection by stroma: alone vs co-culture, ± an added drug
proliferation   CFSE division tracking: generations, % divided, division indices
cellcycle       cell cycle: G0/G1, S, G2/M (DNA models or BrdU/DNA gates)
invivo          xenografts: enrolment, randomisation, dosing, engraftment, survival
flow            FCS files + gate file → populations, readouts, comparisons, gating plots
qpcr            Cq files → standard curves, Pfaffl/ΔΔCq/NRQ, comparisons, RQ bars
immunoassay     Luminex/ELISA/bioassay → 4PL/5PL curves, concentrations, comparisons
expression      genes × samples matrix → limma-grade DE, calls, heatmap, GO enrichment
==============  ==============================================================

Adding a kind
-------------
Write one module with a subclass of :class:`ExperimentKind` (``name``, ``settings``,
``tables``, ``run``, ``example`` and optionally ``report_section``) and register an
instance — one line:

* inside preclin: add ``"preclin.study.kinds.<module>:<Class>"`` to ``_BUILTINS`` below;
* in another package: an entry point in the group ``preclin.experiment_kinds``
  (``mykind = "mypkg.kind:MyKind"``; a class or an instance), loaded the first time the
  registry is used;
* in a script or test: ``register_kind(MyKind())``.

The study file's schema, the runner, provenance and report are built from the registry
and never name a kind. Every kind must pass
:func:`preclin.testing.check_experiment_kind`. See ``docs/extending.md``.
"""

from __future__ import annotations

import difflib
import importlib
import re
import warnings
from importlib import metadata
from typing import Any

from ...errors import StudyError
from .base import (
    EXCLUDED_COLUMNS,
    ExperimentKind,
    ExperimentSettings,
    KindOutput,
    ReportContext,
    ResultFigure,
    ResultTable,
    RunContext,
    StrictModel,
)

__all__ = [
    "ExperimentKind",
    "ExperimentSettings",
    "KindOutput",
    "ResultTable",
    "ResultFigure",
    "RunContext",
    "ReportContext",
    "StrictModel",
    "EXCLUDED_COLUMNS",
    "ENTRY_POINT_GROUP",
    "DEFAULT_KIND",
    "register_kind",
    "unregister_kind",
    "get_kind",
    "registered_kinds",
    "registry_version",
    "unknown_kind_message",
]

#: entry-point group third-party packages register kinds in
ENTRY_POINT_GROUP = "preclin.experiment_kinds"
#: the kind of an ``[[experiment]]`` table without a ``kind`` key
DEFAULT_KIND = "doseresponse"

_BUILTINS = (
    "preclin.study.kinds.doseresponse:DoseResponseKind",
    "preclin.study.kinds.factorial:FactorialKind",
    "preclin.study.kinds.coculture:CocultureKind",
    "preclin.study.kinds.proliferation:ProliferationKind",
    "preclin.study.kinds.cellcycle:CellCycleKind",
    "preclin.study.kinds.flow:FlowKind",
    "preclin.study.kinds.qpcr:QpcrKind",
    "preclin.study.kinds.immunoassay:ImmunoassayKind",
    "preclin.study.kinds.invivo:InvivoKind",
    "preclin.study.kinds.expression:ExpressionKind",
)
_NAME = re.compile(r"^[a-z][a-z0-9_]*$")

_REGISTRY: dict[str, ExperimentKind[Any]] = {}
_state = {"loaded": False, "version": 0}


def _load(target: str) -> Any:
    module, _, attr = target.partition(":")
    return getattr(importlib.import_module(module), attr)


def _ensure_loaded() -> None:
    """Register the built-ins, then the entry points, once (on first use)."""
    if _state["loaded"]:
        return
    _state["loaded"] = True
    for target in _BUILTINS:
        register_kind(_load(target))
    for ep in metadata.entry_points(group=ENTRY_POINT_GROUP):
        try:
            register_kind(ep.load())
        except Exception as exc:  # a broken plugin must not stop preclin  # noqa: BLE001
            warnings.warn(f"experiment kind entry point '{ep.name}' ({ep.value}) could not "
                          f"be registered: {exc}", RuntimeWarning, stacklevel=2)


def _check_kind(kind: ExperimentKind[Any]) -> None:
    from typing import Literal, get_args, get_origin

    name = getattr(kind, "name", None)
    if not isinstance(name, str) or not _NAME.match(name):
        raise TypeError(f"{kind!r}: an experiment kind's name must be lower case letters, "
                        f"digits and '_', starting with a letter; got {name!r}")
    settings = getattr(kind, "settings", None)
    if not (isinstance(settings, type) and issubclass(settings, ExperimentSettings)):
        raise TypeError(f"experiment kind '{name}': settings must be a subclass of "
                        "preclin.study.kinds.ExperimentSettings")
    ann = settings.model_fields["kind"].annotation
    if get_origin(ann) is not Literal or get_args(ann) != (name,):
        raise TypeError(f"experiment kind '{name}': {settings.__name__}.kind must be declared "
                        f"as Literal['{name}'], not {ann!r}")


def register_kind(kind: Any, *, replace: bool = False) -> Any:
    """Add an experiment kind to the registry.

    Parameters
    ----------
    kind
        An :class:`ExperimentKind` instance, or a subclass (instantiated without
        arguments; so ``@register_kind`` works as a class decorator).
    replace
        Allow replacing a registered kind of the same name.

    Returns
    -------
    The argument, unchanged.

    Raises
    ------
    TypeError
        If ``kind`` is not an :class:`ExperimentKind`, its name is not a lower-case
        identifier or its settings' ``kind`` field is not ``Literal[name]``.
    ValueError
        If a kind of that name is registered and ``replace`` is false.
    """
    instance = kind() if isinstance(kind, type) and issubclass(kind, ExperimentKind) else kind
    if not isinstance(instance, ExperimentKind):
        raise TypeError(f"{kind!r} is not an experiment kind (derive from "
                        "preclin.study.kinds.ExperimentKind)")
    _check_kind(instance)
    _ensure_loaded()  # built-ins first (a no-op while they are being registered)
    if instance.name in _REGISTRY and not replace:
        raise ValueError(f"an experiment kind named '{instance.name}' is already registered")
    _REGISTRY[instance.name] = instance
    _state["version"] += 1
    return kind


def unregister_kind(name: str) -> ExperimentKind[Any]:
    """Remove the kind called ``name`` and return it (``KeyError`` if absent)."""
    _ensure_loaded()
    kind = _REGISTRY.pop(name)
    _state["version"] += 1
    return kind


def registered_kinds() -> dict[str, ExperimentKind[Any]]:
    """The registered kinds by name, built-ins first, in registration order."""
    _ensure_loaded()
    return dict(_REGISTRY)


def registry_version() -> int:
    """A number that changes whenever a kind is registered or removed."""
    _ensure_loaded()
    return _state["version"]


def get_kind(name: str) -> ExperimentKind[Any]:
    """The registered kind called ``name``.

    Raises
    ------
    StudyError
        If no kind has that name (the message suggests the closest one).
    """
    _ensure_loaded()
    try:
        return _REGISTRY[name]
    except KeyError:
        raise StudyError(unknown_kind_message(name)) from None


def unknown_kind_message(name: str) -> str:
    """``unknown experiment kind 'x'; did you mean 'y'? known kinds: ...``."""
    known = list(registered_kinds())
    close = difflib.get_close_matches(str(name), known, n=1)
    hint = f"; did you mean '{close[0]}'?" if close else ""
    return f"unknown experiment kind '{name}'{hint} (known kinds: {', '.join(known)})"
