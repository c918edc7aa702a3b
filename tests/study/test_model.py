"""The study file: validation against the registered kinds, errors with key paths."""

from __future__ import annotations

from pathlib import Path

import pytest

from preclin.errors import StudyError
from preclin.study.model import (
    CocultureExperimentSpec,
    ExperimentSpec,
    FactorialExperimentSpec,
    StudyFile,
    load_study_file,
    study_file_model,
    validate_study,
)

DOSE = '''[study]
title = "t"

[[experiment]]
name = "dr"
layout = "layouts/a.toml"

[experiment.fit]
dose = "conc"
by = ["cell_line"]
model = "ll4"
'''

FACTORIAL = '''
[[experiment]]
name = "fac"
kind = "factorial"
data = "data/f.csv"

[experiment.factorial]
factors = ["a", "b"]
'''

COCULTURE = '''
[[experiment]]
name = "co"
kind = "coculture"
data = "data/c.csv"

[experiment.coculture]
by = ["sample"]
'''


def _write(tmp_path: Path, text: str) -> Path:
    p = tmp_path / "study.toml"
    p.write_text(text, encoding="utf-8")
    return p


def _error(tmp_path: Path, text: str) -> str:
    with pytest.raises(StudyError) as info:
        load_study_file(_write(tmp_path, text))
    msg = info.value.message
    assert "\n" not in msg and "study.toml" in msg
    return msg


def test_every_builtin_kind_validates_and_kind_defaults_to_doseresponse(tmp_path: Path
                                                                        ) -> None:
    study = load_study_file(_write(tmp_path, DOSE + FACTORIAL + COCULTURE))
    assert isinstance(study, StudyFile)
    dr, fac, co = study.experiment
    assert isinstance(dr, ExperimentSpec) and dr.kind == "doseresponse"
    assert isinstance(fac, FactorialExperimentSpec) and fac.factorial.factors == ["a", "b"]
    assert isinstance(co, CocultureExperimentSpec) and co.coculture.by == ["sample"]
    dumped = study.model_dump(mode="json")  # every kind's own keys survive the dump
    assert dumped["experiment"][0]["fit"]["dose"] == "conc"
    assert dumped["experiment"][1]["factorial"]["factors"] == ["a", "b"]
    assert dumped["experiment"][2]["coculture"]["by"] == ["sample"]


def test_studyfile_model_validate_uses_the_registry(tmp_path: Path) -> None:
    import tomllib

    raw = tomllib.loads(DOSE + FACTORIAL)
    study = StudyFile.model_validate(raw)
    assert [e.kind for e in study.experiment] == ["doseresponse", "factorial"]
    assert isinstance(study, study_file_model())


def test_settings_are_frozen(tmp_path: Path) -> None:
    study = load_study_file(_write(tmp_path, DOSE))
    with pytest.raises(Exception, match="frozen"):
        study.experiment[0].fit.model = "ll3"


@pytest.mark.parametrize(("old", "new", "key", "problem"), [
    ('model = "ll4"', 'modle = "ll4"', "experiment[1].fit.modle",
     "unknown key (check the spelling; see the study file documentation); "
     "did you mean 'model'?"),
    ('dose = "conc"\n', "", "experiment[1].fit.dose", "required key is missing"),
    ('model = "ll4"', 'model = "ll4"\ned = [50, 120]', "experiment[1].fit.ed",
     "ED level 120.0 must be between 0 and 100"),
    ('name = "dr"', 'name = "d r"', "experiment[1].name", "should match pattern"),
    ('layout = "layouts/a.toml"', 'layout = "x"\nlayuot = "y"', "experiment[1].layuot",
     "did you mean 'layout'?"),
    ('title = "t"', 'titel = "t"', "study.titel", "did you mean 'title'?"),
])
def test_errors_name_the_key_path(tmp_path: Path, old: str, new: str, key: str,
                                  problem: str) -> None:
    assert old in DOSE
    msg = _error(tmp_path, DOSE.replace(old, new, 1))
    assert f"key '{key}'" in msg and problem in msg, msg


def test_errors_inside_other_kinds_skip_the_discriminator_tag(tmp_path: Path) -> None:
    msg = _error(tmp_path, DOSE + FACTORIAL.replace('factors = ["a", "b"]',
                                                    'factors = ["a"]'))
    assert "key 'experiment[2].factorial.factors'" in msg and "at least 2" in msg
    msg = _error(tmp_path, DOSE + COCULTURE.replace('by = ["sample"]', 'test = "anova"'))
    assert "key 'experiment[2].coculture.test'" in msg
    msg = _error(tmp_path, DOSE + FACTORIAL.replace('data = "data/f.csv"\n', ""))
    assert "key 'experiment[2].data'" in msg and "required key is missing" in msg


def test_unknown_kind_suggests_the_closest(tmp_path: Path) -> None:
    msg = _error(tmp_path, DOSE + FACTORIAL.replace('"factorial"\n', '"factoral"\n', 1))
    assert "key 'experiment[2].kind'" in msg
    assert "unknown experiment kind 'factoral'; did you mean 'factorial'?" in msg
    assert "doseresponse, factorial, coculture" in msg


def test_several_problems_are_counted(tmp_path: Path) -> None:
    text = DOSE.replace('model = "ll4"', 'modle = "ll4"\nmodel2 = 1')
    assert "(and 1 more problem(s))" in _error(tmp_path, text)


def test_duplicate_names_and_empty_study(tmp_path: Path) -> None:
    msg = _error(tmp_path, DOSE + FACTORIAL.replace('name = "fac"', 'name = "dr"'))
    assert "key 'experiment'" in msg and "repeated: dr" in msg
    msg = _error(tmp_path, 'experiment = []\n[study]\ntitle = "t"\n')
    assert "key 'experiment'" in msg and "at least 1" in msg


def test_file_problems(tmp_path: Path) -> None:
    with pytest.raises(StudyError, match="study file not found"):
        load_study_file(tmp_path / "nope.toml")
    assert "not valid TOML" in _error(tmp_path, "[study\n")
    p = tmp_path / "study.toml"
    p.write_bytes(b'[study]\ntitle = "\xff"\n')
    with pytest.raises(StudyError, match="not a UTF-8 text file"):
        load_study_file(p)


def test_validate_study_without_file() -> None:
    with pytest.raises(StudyError) as info:
        validate_study({"study": {"title": "t"}})
    assert info.value.message == "key 'experiment': required key is missing"


def test_a_registered_kind_gets_key_path_errors(tmp_path: Path, toy_kind: object) -> None:
    from toy_kind import TOY_STUDY

    msg = _error(tmp_path, TOY_STUDY.replace('group = "group"', 'grup = "group"'))
    assert "key 'experiment[1].toy.grup'" in msg and "did you mean 'group'?" in msg
    msg = _error(tmp_path, TOY_STUDY.replace('data = "data.csv"\n', ""))
    assert "key 'experiment[1].data'" in msg and "required key is missing" in msg
