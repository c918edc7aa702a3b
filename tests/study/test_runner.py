"""The study runner: a loop over registered kinds; outputs, tables, provenance, report."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from toy_kind import ToyKind

from preclin.errors import InputError, StudyError
from preclin.study import RESULT_TABLES, Study, classify
from preclin.study.kinds import KindOutput, RunContext, get_kind
from preclin.study.model import ClassifySpec
from preclin.study.runner import RunResult, run_experiment


@pytest.fixture(scope="module")
def dose_run(tmp_path_factory: pytest.TempPathFactory) -> RunResult:
    """The doseresponse kind's bundled example (2 plates, 4 curves), run once."""
    root = tmp_path_factory.mktemp("dose")
    study = get_kind("doseresponse").example(root / "example")
    return Study.load(study).run(root / "out")


def test_toy_study_runs_and_writes_everything(tmp_path: Path, toy_kind: ToyKind) -> None:
    steps: list[str] = []
    run = Study.load(toy_kind.example(tmp_path / "ex")).run(tmp_path / "out",
                                                            progress=steps.append)
    assert steps == ["toy_means: averaging", "writing report"]
    out = run["toy_means"]
    assert isinstance(out, KindOutput) and out.kind == "toy"
    assert out.table("means")["mean"].tolist() == [2.0, 3.0]
    assert [p.name for p in run.tables] == ["toy_means_means.parquet", "toy_means_means.csv",
                                            "toy_means_excluded.parquet",
                                            "toy_means_excluded.csv"]
    assert pd.read_csv(tmp_path / "out" / "tables" / "toy_means_means.csv")["n"].tolist() \
        == [2, 2]
    assert out.excluded_by_reason().to_dict("records") == [{"reason": "no value", "n": 1}]
    assert out.warnings == ("toy_means: 1 row(s) without a value",)
    assert (tmp_path / "out" / "figures" / "toy_means_means.svg").is_file()
    text = run.summary()
    assert "toy_means (toy)" in text and "table means: 2 rows" in text
    assert "excluded 1: no value (1)" in text
    with pytest.raises(KeyError, match="no experiment 'nope'"):
        run["nope"]
    with pytest.raises(KeyError, match="has no table 'nope'; it has means, excluded"):
        out.table("nope")


def test_outputs_are_frozen(tmp_path: Path, toy_kind: ToyKind) -> None:
    run = Study.load(toy_kind.example(tmp_path / "ex")).run(tmp_path / "out")
    out = run.experiments[0]
    with pytest.raises(dataclasses.FrozenInstanceError):
        out.warnings = ()
    with pytest.raises(TypeError):
        out.tables["x"] = out.tables["means"]
    with pytest.raises(dataclasses.FrozenInstanceError):
        run.tables = ()
    assert "KindOutput(name='toy_means'" in repr(out)


def test_missing_data_file(tmp_path: Path, toy_kind: ToyKind) -> None:
    study = toy_kind.example(tmp_path / "ex")
    (tmp_path / "ex" / "data.csv").unlink()
    with pytest.raises(StudyError, match="no file matches 'data.csv'"):
        Study.load(study).run(tmp_path / "out")


def test_a_kind_must_return_its_output(tmp_path: Path, toy_kind: ToyKind,
                                       monkeypatch: pytest.MonkeyPatch) -> None:
    study = Study.load(toy_kind.example(tmp_path / "ex"))
    monkeypatch.setattr(ToyKind, "run", lambda self, spec, ctx: {"not": "an output"})
    ctx = RunContext(base=tmp_path / "ex", out=tmp_path / "out", experiment="toy_means")
    with pytest.raises(TypeError, match="expected its KindOutput"):
        run_experiment(study.spec.experiment[0], ctx)


def test_doseresponse_output(dose_run: RunResult) -> None:
    out = dose_run["aml_chemo"]
    assert list(out.tables) == ["wells", "qc", "curves", "excluded"]
    assert {k: t.description for k, t in out.tables.items()} == {
        k: RESULT_TABLES[k] for k in out.tables}
    wells = out.table("wells")
    assert len(wells) == 2 * 96 and len(out.table("qc")) == 2
    assert len(out.table("curves")) == 4 and "call" in out.table("curves")
    assert out.excluded["reason"].notna().all() and len(out.excluded) == wells["excluded"].sum()
    assert [f.role for f in out.figures] == ["plate_map", "curves"]
    assert out.overview["plates"] == 2 and out.overview["wells"] == 192
    assert out.overview["curves"] == 4
    assert out.overview["wells used in fits"] + out.overview["wells excluded"] == 192
    assert len(out.inputs) == 3  # the layout and its two plate files


def test_provenance_records_every_experiment(dose_run: RunResult) -> None:
    prov = json.loads(dose_run.provenance.read_text(encoding="utf-8"))
    assert {"created_utc", "command", "versions", "settings", "inputs", "outputs",
            "experiments"} <= set(prov)
    assert prov["settings"]["experiment"][0]["fit"]["dose"] == "conc_nM"
    (rec,) = prov["experiments"]
    assert rec["name"] == "aml_chemo" and rec["kind"] == "doseresponse"
    assert rec["kind_source"] == "preclin.study.kinds.doseresponse.DoseResponseKind"
    assert rec["inputs"] == ["layouts/aml.toml", "plates/aml_HL60.txt",
                             "plates/aml_MOLM13.txt"]  # relative to the study folder
    assert rec["tables"]["curves"]["rows"] == 4
    assert rec["tables"]["curves"]["files"] == ["tables/aml_chemo_curves.parquet",
                                                "tables/aml_chemo_curves.csv"]
    assert sum(rec["excluded"].values()) == dose_run["aml_chemo"].overview["wells excluded"]
    assert [f["role"] for f in rec["figures"]] == ["plate_map", "curves"]
    assert rec["overview"]["curves"] == 4
    paths = [i["path"] for i in prov["inputs"]]
    assert sum(p.endswith("study.toml") for p in paths) == 1
    assert len(prov["outputs"]) == 8 and all(len(o["sha256"]) == 64 for o in prov["outputs"])


def test_report_has_the_kind_section(dose_run: RunResult) -> None:
    page = dose_run.report.read_text(encoding="utf-8")
    for text in ("AML lines × cytarabine and idarubicin", "Plate quality control",
                 "Flagged curves", "Tables written (also as Parquet)",
                 "tables/aml_chemo_curves.csv — one row per curve",
                 "What each dose-response curve status means", "SIMULATED"):
        assert text in page, text


# -------------------------------------------------------------------------- classify
def _curves(**cols: list[object]) -> pd.DataFrame:
    base: dict[str, list[object]] = {"status": ["ok", "ok", "ec50_above_range", "flat",
                                                "ec50_above_range", "no_convergence"],
                                     "ec50": [5.0, 20.0, np.nan, np.nan, 50.0, 1.0],
                                     "dose_max": [100.0, 100.0, 30.0, 5.0, 5.0, 100.0]}
    base.update(cols)
    return pd.DataFrame(base)


def test_classify_threshold_rule() -> None:
    calls = classify(_curves(), ClassifySpec(threshold=10))
    assert calls.name == "call"
    assert calls.tolist() == ["sensitive", "resistant", "resistant", "indeterminate",
                              "resistant", "not classified"]


def test_classify_names_and_errors() -> None:
    spec = ClassifySpec(threshold=10, above="R", below="S", name="class")
    assert classify(_curves(), spec).tolist()[:2] == ["S", "R"]
    with pytest.raises(InputError, match="column 'ic50' is not in the curve table"):
        classify(_curves(), ClassifySpec(column="ic50", threshold=1))


def _two_experiment_study(root: Path) -> Path:
    """The factorial and co-culture kinds' bundled examples as one study file."""
    import tomli_w

    try:
        import tomllib
    except ImportError:  # Python 3.10
        import tomli as tomllib

    experiments = []
    for kind in ("factorial", "coculture"):
        example = get_kind(kind).example(root / kind)
        for exp in tomllib.loads(example.read_text(encoding="utf-8"))["experiment"]:
            exp["data"] = str((example.parent / exp["data"]).resolve())
            experiments.append(exp)
    study = root / "study.toml"
    study.write_text(tomli_w.dumps({"study": {"title": "two kinds", "simulated": True},
                                    "experiment": experiments}), encoding="utf-8")
    return study


def test_parallel_run_writes_what_a_sequential_run_writes(tmp_path: Path) -> None:
    """Experiments in worker processes (jobs=2) give the same tables, report and
    provenance records, in study order, as one after the other (jobs=1); progress lines
    from the workers reach the caller."""
    study = Study.load(_two_experiment_study(tmp_path))
    seq_steps: list[str] = []
    par_steps: list[str] = []
    seq = study.run(tmp_path / "seq", jobs=1, progress=seq_steps.append)
    par = study.run(tmp_path / "par", jobs=2, progress=par_steps.append)
    assert [e.name for e in par.experiments] == [e.name for e in seq.experiments] == [
        "aml_factorial", "aml_coculture"]
    assert [p.name for p in par.tables] == [p.name for p in seq.tables]
    for a, b in zip(seq.tables, par.tables, strict=True):
        assert a.read_bytes() == b.read_bytes(), a.name
    assert seq.report.read_text() == par.report.read_text()
    prov = [json.loads((tmp_path / d / "provenance.json").read_text())["experiments"]
            for d in ("seq", "par")]
    assert prov[0] == prov[1]
    assert sorted(par_steps) == sorted(seq_steps) and "writing report" in par_steps
    pd.testing.assert_frame_equal(par["aml_coculture"].table("protection"),
                                  seq["aml_coculture"].table("protection"))


def test_an_error_in_a_worker_reaches_the_caller_as_one_line(tmp_path: Path) -> None:
    study_file = _two_experiment_study(tmp_path)
    data = tmp_path / "coculture" / "data" / "coculture_apoptosis.csv"
    text = data.read_text(encoding="utf-8").splitlines()
    bad = text[1].rsplit(",", 1)[0] + ",abc"  # a response that is not a number
    data.write_text("\n".join([text[0], bad, *text[2:]]) + "\n", encoding="utf-8")
    with pytest.raises(InputError) as err:
        Study.load(study_file).run(tmp_path / "out", jobs=2)
    assert "coculture_apoptosis.csv" in str(err.value) and "\n" not in str(err.value)


def test_several_reads_or_time_points_must_be_chosen() -> None:
    """A 450/650 nm read or a kinetic read gives every well several values: the plate
    kinds refuse it unless read = / cycle = says which one to analyse."""
    from preclin.study.kinds.plate_steps import PlateSettings, _one_read

    def spec(**kw: object) -> PlateSettings:
        return PlateSettings(name="via", kind="doseresponse", layout="l.toml",
                             **kw)  # type: ignore[arg-type]

    wells = pd.DataFrame({"plate": ["P1:450", "P1:450", "P1:650", "P1:650"],
                          "well": ["A1", "A2", "A1", "A2"], "signal": [1.0, 2.0, 0.1, 0.1],
                          "read": ["450", "450", "650", "650"]})
    with pytest.raises(StudyError, match=r"2 reads \(450, 650\).*read = \"450\""):
        _one_read(wells, spec())
    got = _one_read(wells, spec(read="450"))
    assert got["signal"].tolist() == [1.0, 2.0]
    assert len(_one_read(wells, spec(read=["450", "650"]))) == 4
    with pytest.raises(StudyError, match="read '405' is not in the data"):
        _one_read(wells, spec(read="405"))
    kin = pd.DataFrame({"plate": "P1", "well": ["A1", "A1", "A1"], "signal": [1.0, 2.0, 3.0],
                        "cycle": pd.array([1, 2, 3], dtype="Int64")})
    with pytest.raises(StudyError, match="kinetic read with 3 time points"):
        _one_read(kin, spec())
    assert _one_read(kin, spec(cycle=2))["signal"].tolist() == [2.0]
    with pytest.raises(StudyError, match="cycle 9 is not in the data"):
        _one_read(kin, spec(cycle=9))
    one = wells[wells["read"] == "450"].drop(columns="read")
    assert _one_read(one, spec()).equals(one)
    with pytest.raises(StudyError, match="name no reads"):
        _one_read(one, spec(read="450"))
