"""The experiment-kind registry: built-ins, registration rules, entry points, the schema."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal

import pytest
from toy_kind import TOY_STUDY, ToyKind

import preclin.study.kinds as kinds
from preclin.errors import StudyError
from preclin.study.kinds import (
    ENTRY_POINT_GROUP,
    ExperimentKind,
    ExperimentSettings,
    get_kind,
    register_kind,
    registered_kinds,
    unregister_kind,
)
from preclin.study.model import load_study_file, study_file_model


def test_builtins_in_order() -> None:
    assert list(registered_kinds())[:3] == ["doseresponse", "factorial", "coculture"]
    for name, kind in registered_kinds().items():
        assert kind.name == name and isinstance(kind, ExperimentKind)
        assert kind.tables and kind.summary


def test_get_kind_unknown_suggests() -> None:
    with pytest.raises(StudyError, match="unknown experiment kind 'cocultur'; did you mean "
                       "'coculture'"):
        get_kind("cocultur")


def test_register_rules(toy_kind: ToyKind) -> None:
    assert get_kind("toy") is toy_kind
    with pytest.raises(ValueError, match="already registered"):
        register_kind(ToyKind())
    other = ToyKind()
    register_kind(other, replace=True)
    assert get_kind("toy") is other
    with pytest.raises(TypeError, match="not an experiment kind"):
        register_kind(object())


class _BadLiteral(ToyKind):
    name = "bad_literal"


class _BadName(ToyKind):
    name = "Bad-Name"


class _NoSettings(ToyKind):
    name = "no_settings"
    settings = dict  # type: ignore[assignment]


@pytest.mark.parametrize(("cls", "match"), [
    (_BadLiteral, r"ToySettings.kind must be declared as Literal\['bad_literal'\]"),
    (_BadName, "lower case letters"),
    (_NoSettings, "settings must be a subclass"),
])
def test_declaration_errors(cls: type[ToyKind], match: str) -> None:
    with pytest.raises(TypeError, match=match):
        register_kind(cls())
    assert cls.name not in registered_kinds()


def test_decorator_form_and_unregister() -> None:
    class DecoSettings(ExperimentSettings):
        kind: Literal["deco"]
        data: str

    @register_kind
    class DecoKind(ToyKind):
        name = "deco"
        settings = DecoSettings

    try:
        assert isinstance(get_kind("deco"), DecoKind)
    finally:
        removed = unregister_kind("deco")
    assert isinstance(removed, DecoKind) and "deco" not in registered_kinds()
    with pytest.raises(KeyError):
        unregister_kind("deco")


def test_schema_follows_the_registry(tmp_path: Path, toy_kind: ToyKind) -> None:
    study = tmp_path / "study.toml"
    study.write_text(TOY_STUDY, encoding="utf-8")
    assert load_study_file(study).experiment[0].kind == "toy"
    before = study_file_model()
    unregister_kind("toy")
    assert study_file_model() is not before
    with pytest.raises(StudyError, match="unknown experiment kind 'toy'"):
        load_study_file(study)
    register_kind(toy_kind)
    assert load_study_file(study).experiment[0].kind == "toy"


class _EntryPoint:
    def __init__(self, name: str, target: Any) -> None:
        self.name, self.value, self._target = name, f"tests:{name}", target

    def load(self) -> Any:
        if isinstance(self._target, Exception):
            raise self._target
        return self._target


def test_entry_points_fill_the_registry(monkeypatch: pytest.MonkeyPatch) -> None:
    seen: list[str] = []

    def fake_entry_points(*, group: str) -> list[_EntryPoint]:
        seen.append(group)
        return [_EntryPoint("toy", ToyKind), _EntryPoint("broken", ImportError("no module"))]

    monkeypatch.setattr(kinds, "_REGISTRY", {})
    monkeypatch.setattr(kinds, "_state", {"loaded": False, "version": 0})
    monkeypatch.setattr(kinds.metadata, "entry_points", fake_entry_points)
    with pytest.warns(RuntimeWarning, match="entry point 'broken'.*no module"):
        names = list(registered_kinds())
    assert seen == [ENTRY_POINT_GROUP]
    assert names[:3] == ["doseresponse", "factorial", "coculture"] and names[-1] == "toy"
    assert isinstance(get_kind("toy"), ToyKind)
