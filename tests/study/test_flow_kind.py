"""The ``flow`` experiment kind on the bundled simulated AML experiment."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from preclin.errors import StudyError
from preclin.study import Study
from preclin.study.kinds import RunContext, get_kind


@pytest.fixture(scope="module")
def example(tmp_path_factory):
    root = tmp_path_factory.mktemp("flowkind")
    study_file = get_kind("flow").example(root / "example")
    return study_file


def _run(study_file: Path, out: Path, text: str | None = None):
    if text is not None:
        study_file = study_file.with_name("variant.toml")
        study_file.write_text(text, encoding="utf-8")
    spec = next(e for e in Study.load(study_file).spec.experiment if e.kind == "flow")
    ctx = RunContext(base=study_file.parent, out=out, experiment=spec.name,
                     study_file=study_file)
    return get_kind("flow").run(spec, ctx)


@pytest.fixture(scope="module")
def output(example, tmp_path_factory):
    return _run(example, tmp_path_factory.mktemp("flowrun"))


def test_tables_and_columns(output, example):
    assert set(output.tables) == {"files", "populations", "readouts", "compare"}
    files = output.table("files")
    assert list(files.columns) == ["file", "donor", "culture", "treatment", "events",
                                   "fcs_version"]
    assert len(files) == 18 and (files["events"] == 5000).all()
    pops = output.table("populations")
    assert list(pops.columns) == ["file", "donor", "culture", "treatment", "population",
                                  "statistic", "value"]
    assert pops["population"].iloc[0] == "/"
    assert {"count", "percent_parent", "median_CD184"} <= set(pops["statistic"])
    ro = output.table("readouts")
    assert list(ro.columns) == ["file", "donor", "culture", "treatment", "readout",
                                "population", "statistic", "value"]
    assert list(ro["file"].unique()) == list(files["file"])
    assert output.overview["FCS files"] == 18 and output.overview["files excluded"] == 0
    assert not output.warnings


def test_readouts_recover_the_simulation(output, example):
    ro = output.table("readouts")
    truth = pd.read_csv(example.parent / "flow" / "truth.csv").set_index("file")
    apo = ro[ro["statistic"] == "percent_apoptotic"].set_index("file")["value"]
    # apoptosis is drawn per cell: binomial noise on ~3800 blasts
    assert (apo - truth.loc[apo.index, "expected_apoptotic_pct"]).abs().max() < 3.5
    q = ro[ro["readout"] == "apoptosis"].pivot(index="file", columns="statistic",
                                               values="value")
    parts = ["percent_live", "percent_early_apoptotic", "percent_late_apoptotic",
             "percent_necrotic"]
    assert (q[parts].sum(axis=1) - 100).abs().max() < 1e-9
    med = ro[ro["statistic"] == "median_CD184"].set_index("file")["value"]
    rel = (med / truth.loc[med.index, "expected_cxcr4_median"])
    assert rel.between(0.9, 1.1).all()
    ratio = ro[ro["statistic"] == "median_CD184_ratio"].merge(
        output.table("files")[["file"]], on="file")
    vehicle = ratio[ratio["treatment"] == "vehicle"]["value"]
    assert len(ratio) == 18 and (vehicle == 1.0).all()


def test_comparisons(output):
    cmp = output.table("compare")
    assert list(cmp.columns[:4]) == ["measure", "population", "culture", "treatment"]
    assert len(cmp) == 6 + 3 + 6
    assert set(cmp["test"]) == {"paired"}
    prot = cmp[(cmp["measure"] == "percent_apoptotic") & (cmp["group1"] == "alone")]
    # stromal protection under AraC + idarubicin
    row = prot[prot["treatment"] == "AraC+Ida"].iloc[0]
    assert row["effect"] > 10 and row["p_value"] < 0.05


def test_figures_have_roles(output):
    roles = [f.role for f in output.figures]
    assert roles == ["gating", "backgating", "overlay", "compare"]
    assert all(f.path.is_file() and f.path.with_suffix(".png").is_file()
               for f in output.figures)


def test_files_outside_the_sample_table_are_excluded(example, tmp_path):
    text = example.read_text(encoding="utf-8")
    table = example.parent / "flow" / "samples.csv"
    rows = table.read_text(encoding="utf-8").splitlines()
    short = example.parent / "flow" / "samples_short.csv"
    short.write_text("\n".join(rows[:-1]) + "\nmissing.fcs,AML9,alone,vehicle\n",
                     encoding="utf-8")
    out = _run(example, tmp_path, text.replace("flow/samples.csv", "flow/samples_short.csv"))
    ex = out.table("excluded")
    assert list(ex["reason"]) == ["in the sample table but no such FCS file was given",
                                  "not in the sample table"]
    assert out.overview["FCS files"] == 17
    assert any("2 file(s) left out" in w for w in out.warnings)
    assert any("compare percent_apoptotic (stroma): donor AML3 left out of the paired test"
               in w for w in out.warnings)


@pytest.mark.parametrize(("old", "new", "match"), [
    ('population = "Blasts"', 'population = "Blast"', "did you mean '/Cells/Blasts'"),
    ('statistic = "median_CD184"', 'statistic = "median_CD18"',
     "no statistic 'median_CD18'; did you mean 'median_CD184'"),
    ('dye = "7-AAD"', 'dye = "CD184"', "no live/early/late/necrotic quadrant of Annexin V × CD184"),
    ('overlay_by = "treatment"', 'overlay_by = "drug"', "no column 'drug'"),
])
def test_settings_errors_name_the_problem(example, tmp_path, old, new, match):
    text = example.read_text(encoding="utf-8")
    assert old in text
    with pytest.raises(StudyError, match=match):
        _run(example, tmp_path, text.replace(old, new, 1))


def test_settings_need_files_or_samples(example):
    text = example.read_text(encoding="utf-8").replace('files = ["flow/fcs/*.fcs"]\n', "")
    text = text.replace('samples = "flow/samples.csv"', "")
    bad = example.with_name("bad.toml")
    bad.write_text(text, encoding="utf-8")
    with pytest.raises(StudyError, match="give files"):
        Study.load(bad)


def test_samples_table_alone_names_the_files(example, tmp_path):
    text = example.read_text(encoding="utf-8").replace('files = ["flow/fcs/*.fcs"]\n', "")
    table = example.parent / "flow" / "samples.csv"
    rel = example.parent / "flow" / "samples_rel.csv"
    rel.write_text(table.read_text(encoding="utf-8").replace("\nAML", "\nfcs/AML"),
                   encoding="utf-8")
    out = _run(example, tmp_path, text.replace("flow/samples.csv", "flow/samples_rel.csv"))
    assert out.overview["FCS files"] == 18
    assert out.table("files")["file"].iloc[0] == "AML1_alone_vehicle.fcs"
