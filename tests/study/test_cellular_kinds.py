"""The ``proliferation`` (CFSE) and ``cellcycle`` experiment kinds on their bundled
simulated examples: tables, comparisons through preclin.stats, figures, settings errors."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from preclin.errors import StudyError
from preclin.study import Study
from preclin.study.kinds import get_kind


@pytest.fixture(scope="module")
def cfse_run(tmp_path_factory: pytest.TempPathFactory):
    root = tmp_path_factory.mktemp("cfse")
    study = get_kind("proliferation").example(root)
    return root, Study.load(study).run(root / "out")


@pytest.fixture(scope="module")
def cellcycle_run(tmp_path_factory: pytest.TempPathFactory):
    root = tmp_path_factory.mktemp("cc")
    study = get_kind("cellcycle").example(root)
    return root, Study.load(study).run(root / "out")


def test_proliferation_example_recovers_truth_and_compares(cfse_run) -> None:
    root, _ = cfse_run
    tables = root / "out" / "tables"
    gens = pd.read_csv(tables / "tcell_suppression_generations.csv")
    truth = pd.read_csv(root / "cfse" / "truth.csv")
    merged = truth.merge(gens, on=["file", "generation"], how="left",
                         suffixes=("_true", ""))
    err = (merged["fraction_of_events"].fillna(0) - merged["fraction_of_events_true"]).abs()
    assert err.max() < 0.03  # 2 250 gated T cells per file
    summary = pd.read_csv(tables / "tcell_suppression_summary.csv")
    assert (summary["undivided_source"] == "control").all()
    assert {"sample", "donor", "condition", "percent_divided", "division_index",
            "status"} <= set(summary.columns)
    by = summary.groupby("condition")["percent_divided"].mean()
    assert by["T + stroma"] < by["T + stroma + IMiD"] < by["T alone"]
    assert by["unstimulated"] < 1
    comp = pd.read_csv(tables / "tcell_suppression_comparisons.csv")
    assert set(comp["readout"]) == {"percent_divided", "division_index"}
    assert (comp["test"] == "paired").all() and len(comp) == 6  # 3 pairs x 2 readouts
    assert "unstimulated" not in set(comp["group1"]) | set(comp["group2"])
    excl = pd.read_csv(tables / "tcell_suppression_excluded.csv")
    assert excl["reason"].str.contains("outside the population /T cells").sum() == 12
    figs = sorted(p.name for p in (root / "out" / "figures").glob("*.svg"))
    assert figs == ["tcell_suppression_compare_1.svg", "tcell_suppression_histograms.svg"]
    page = (root / "out" / "report.html").read_text(encoding="utf-8")
    assert "% divided: T + stroma vs T alone" in page


def test_cellcycle_example_s_phase(cellcycle_run) -> None:
    root, _ = cellcycle_run
    tables = root / "out" / "tables"
    summary = pd.read_csv(tables / "myeloma_cellcycle_summary.csv")
    truth = pd.read_csv(root / "cellcycle" / "truth.csv")
    m = summary.merge(truth, on="file", suffixes=("", "_true"))
    for k in ("g1", "s", "g2m"):
        assert (m[k] - m[f"{k}_true"]).abs().max() < 0.02
    s = summary.groupby("condition")["s"].mean()
    assert s["control"] == pytest.approx(0.51, abs=0.03)
    assert s["lenalidomide"] == pytest.approx(0.29, abs=0.03)
    phases = pd.read_csv(tables / "myeloma_cellcycle_phases.csv")
    assert list(phases["phase"][:3]) == ["G0/G1", "S", "G2/M"]
    assert phases.groupby("file")["fraction"].sum().round(9).eq(1).all()
    comp = pd.read_csv(tables / "myeloma_cellcycle_comparisons.csv")
    row = comp[comp["readout"] == "percent_s"].iloc[0]
    assert row["p_value"] < 0.01 and row["group1"] == "control"


def _write(root: Path, body: str) -> Path:
    study = root / "study.toml"
    study.write_text('[study]\ntitle = "t"\n' + body, encoding="utf-8")
    return study


def test_cellcycle_dna_model_and_settings_errors(tmp_path: Path) -> None:
    from preclin.data.example_cellular import write_cellcycle_example

    write_cellcycle_example(tmp_path / "cc", seed=1, n_events=2500, replicates=2)
    base = '''
[[experiment]]
name = "cc"
kind = "cellcycle"
files = ["cc/fcs/*.fcs"]
samples = "cc/samples.csv"
dna = "PI-A"
width = "PI-W"
'''
    run = Study.load(_write(tmp_path, base + '[experiment.model]\nmodel = "watson"\n')).run(
        tmp_path / "out")
    summary = run.experiments[0].table("summary")
    assert set(summary["model"]) == {"watson"}
    assert (summary["s"].groupby(summary["condition"]).mean()["control"]
            > summary["s"].groupby(summary["condition"]).mean()["lenalidomide"] + 0.15)
    with pytest.raises(StudyError, match="population"):
        Study.load(_write(tmp_path, base + 'gates = "g.toml"\n'))
    bad = base + '[[experiment.compare]]\ngroup = "condition"\nitems = ["percent_x"]\n'
    with pytest.raises(StudyError, match="unknown readout"):
        Study.load(_write(tmp_path, bad)).run(tmp_path / "out2")
