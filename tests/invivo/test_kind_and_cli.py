"""The invivo experiment kind (conformance, study-file errors) and its command line."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from preclin.cli import main
from preclin.study.kinds import get_kind
from preclin.testing import check_experiment_kind


@pytest.fixture(scope="module")
def example(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return Path(get_kind("invivo").example(tmp_path_factory.mktemp("invivo") / "ex"))


def test_invivo_kind_conforms(tmp_path: Path) -> None:
    check_experiment_kind(get_kind("invivo"), directory=tmp_path)
    page = (tmp_path / "run" / "report.html").read_text(encoding="utf-8")
    for text in ("Randomisation", "Schedule and dosing", "Engraftment by tissue",
                 "Survival", "How many mice? Power of this design", "Animals not enrolled"):
        assert text in page, text
    tables = tmp_path / "run" / "tables"
    arms = pd.read_csv(tables / "hl60_xenograft_randomisation.csv")
    ne = pd.read_csv(tables / "hl60_xenograft_not_enrolled.csv")
    animals = pd.read_csv(tmp_path / "example" / "data" / "animals.csv")
    assert arms["animal"].is_unique
    assert sorted([*arms["animal"], *ne["animal"]]) == sorted(animals["animal"])
    assert ne["reason"].notna().all()
    power = pd.read_csv(tables / "hl60_xenograft_power.csv")
    assert power["question"].iloc[0] == "mice per arm for 80% power"


def _run(argv: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str]:
    code = main(argv)
    return code, capsys.readouterr().err


def test_cli_randomise_writes_every_animal_once_and_the_balance(
        example: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    animals = pd.read_csv(example.parent / "data" / "animals.csv")
    src = tmp_path / "enrolled.csv"
    animals[animals["graft_pct"] > 1].to_csv(src, index=False)
    outs = []
    for k in range(2):
        out = tmp_path / f"arms{k}.csv"
        code, err = _run(["invivo", "randomise", str(src), "--arms",
                          "vehicle,LEN,AI,AI+LEN", "--balance", "graft_pct,weight_g",
                          "--seed", "11", "--method", "stratified", "--out", str(out)], capsys)
        assert code == 0, err
        outs.append(out.read_bytes())
    assert outs[0] == outs[1]
    got = pd.read_csv(tmp_path / "arms0.csv")
    assert list(got.columns) == ["animal", "arm", "graft_pct", "weight_g"]
    assert sorted(got["animal"]) == sorted(animals[animals["graft_pct"] > 1]["animal"])
    bal = pd.read_csv(tmp_path / "arms0_balance.csv")
    assert {"mean", "sd", "min", "max", "p_value"} <= set(bal.columns)


def test_cli_randomise_bad_input_one_line_exit_2(
        example: Path, capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    code, err = _run(["invivo", "randomise", str(example.parent / "data" / "animals.csv"),
                      "--arms", "a,b", "--balance", "graft_pct", "--out",
                      str(tmp_path / "x.csv")], capsys)
    assert code == 2
    assert err.strip().count("\n") == 0
    assert "animals.csv: row 3: animal 'M02' has no value of 'graft_pct'" in err


def test_cli_dosing(example: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "dose.csv"
    code, err = _run(["invivo", "dosing", str(example), "--weights",
                      str(example.parent / "data" / "weights.csv"), "--out", str(out)], capsys)
    assert code == 0, err
    sheet = pd.read_csv(out)
    assert list(sheet.columns[:3]) == ["animal", "arm", "day"]
    for c in ("drug", "weight_g", "dose_mg_per_kg", "dose_mg", "volume_ul"):
        assert c in sheet.columns
    assert sheet["dose_mg"].tolist() == pytest.approx(
        (sheet["dose_mg_per_kg"] * sheet["weight_g"] / 1000).tolist())
    assert not sheet.duplicated(["animal", "day", "drug", "route"]).any()
    assert (tmp_path / "dose_preparation.csv").is_file()


def _edit(example: Path, tmp_path: Path, old: str, new: str) -> Path:
    text = example.read_text(encoding="utf-8")
    assert old in text
    study = example.parent / f"edited_{abs(hash(new))}.toml"
    study.write_text(text.replace(old, new, 1), encoding="utf-8")
    return study


def test_cli_dosing_dose_outside_the_safe_range(
        example: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    study = _edit(example, tmp_path, "dose_mg_per_kg = 0.1", "dose_mg_per_kg = 1.5")
    code, err = _run(["invivo", "dosing", str(study), "--weights",
                      str(example.parent / "data" / "weights.csv"), "--out",
                      str(tmp_path / "d.csv")], capsys)
    assert code == 2
    assert err.strip() == (f"error: {study}: key 'dose[4]' of experiment 'hl60_xenograft': "
                           "idarubicin at 1.5 mg/kg is outside its declared safe range "
                           "0–1 mg/kg")


def test_cli_dosing_missing_weight(example: Path, tmp_path: Path,
                                   capsys: pytest.CaptureFixture[str]) -> None:
    w = pd.read_csv(example.parent / "data" / "weights.csv")
    first = w["animal"].iloc[0]
    w = w[~((w["animal"] == first) & (w["date"] == "2017-03-09"))]
    path = tmp_path / "w.csv"
    w.to_csv(path, index=False)
    code, err = _run(["invivo", "dosing", str(example), "--weights", str(path), "--out",
                      str(tmp_path / "d.csv")], capsys)
    assert code == 2
    assert f"{path}: animal '{first}' has no weight within 3 day(s) before dosing day 5" in err


def test_run_with_an_animal_in_two_arms(example: Path, tmp_path: Path,
                                        capsys: pytest.CaptureFixture[str]) -> None:
    arms = example.parent / "data" / "arms.csv"
    arms.write_text("animal,arm\nM01,vehicle\nM03,LEN\nM01,AI\n", encoding="utf-8")
    study = _edit(example, tmp_path, "seed = 2018\n", 'seed = 2018\nassignment = '
                  '"data/arms.csv"\n')
    code, err = _run(["run", str(study), "--out", str(tmp_path / "run")], capsys)
    assert code == 2
    assert err.strip().splitlines()[-1] == (
        f"error: {arms}: row 4: animal 'M01' is in two arms ('vehicle' on row 2 and 'AI'); "
        "every animal belongs to exactly one arm")


def test_run_with_dates_out_of_order(example: Path, tmp_path: Path,
                                     capsys: pytest.CaptureFixture[str]) -> None:
    ev = pd.read_csv(example.parent / "data" / "events.csv")
    ev.loc[0, "date"] = "2017-02-01"
    path = example.parent / "data" / "events_bad.csv"
    ev.to_csv(path, index=False)
    study = _edit(example, tmp_path, 'data = "data/events.csv"', 'data = "data/events_bad.csv"')
    code, err = _run(["run", str(study), "--out", str(tmp_path / "run")], capsys)
    assert code == 2
    assert f"{path}: row 2: animal '{ev['animal'].iloc[0]}'" in err
    assert "(dates out of order)" in err
