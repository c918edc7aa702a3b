"""The ``immunoassay`` experiment kind on its simulated examples (Luminex, WEHI-164)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

from preclin.immunoassay import read_xponent
from preclin.study import Study
from preclin.study.kinds import RunContext, get_kind


@pytest.fixture(scope="module")
def runs(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, Any]]:
    root = tmp_path_factory.mktemp("immuno_kind")
    study_file = get_kind("immunoassay").example(root / "ex")
    outs = {}
    for spec in Study.load(study_file).spec.experiment:
        outs[spec.name] = get_kind("immunoassay").run(
            spec, RunContext(base=study_file.parent, out=root / "run", experiment=spec.name))
    return study_file, outs


def test_luminex_concentrations_match_the_simulation(
        runs: tuple[Path, dict[str, Any]]) -> None:
    study_file, outs = runs
    out = outs["aml_luminex"]
    samples = out.table("samples")
    assert {"donor", "condition"} <= set(samples.columns)
    truth = pd.read_csv(study_file.parent / "data" / "luminex_truth.csv")
    m = samples.merge(truth, on=["sample", "analyte"])
    assert len(m) == 45
    ratio = m["concentration"] / m["true_pg_ml"]
    assert np.abs(np.log(ratio)).median() < 0.08 and np.abs(np.log(ratio)).max() < 0.35
    curves = out.table("curves")
    assert (curves["direction"] == "increasing").all() and (curves["r2"] > 0.99).all()
    assert set(out.excluded["reason"]) == {"background well"}
    comp = out.table("compare")
    assert len(comp) == 10 and (comp["group1"] == "PBMC+PHA+MSC").all()
    assert {f.role for f in out.figures} == {"main", "curves"}


def test_bioassay_is_a_decreasing_curve(runs: tuple[Path, dict[str, Any]]) -> None:
    study_file, outs = runs
    out = outs["myeloma_tnf_bioassay"]
    curve = out.table("curves").iloc[0]
    assert curve["direction"] == "decreasing" and curve["model"] == "4pl"
    assert curve["A"] > curve["B"]
    comp = out.table("compare").iloc[0]
    assert comp["test"] == "paired" and comp["n1"] == 12 and comp["p_value"] < 0.05
    wells = out.table("wells")
    unk = wells[wells["type"] == "unknown"]
    assert (unk["dilution"] == 2).all()


def test_dilution_setting_overrides_the_file(tmp_path: Path) -> None:
    study_file = get_kind("immunoassay").example(tmp_path / "ex")
    text = study_file.read_text(encoding="utf-8").replace(
        'weights = "none"', 'weights = "none"\ndilution = 4')
    study_file.write_text(text, encoding="utf-8")
    spec = Study.load(study_file).spec.experiment[1]
    out = get_kind("immunoassay").run(spec, RunContext(base=study_file.parent,
                                                       out=tmp_path / "run", experiment="b"))
    wells = out.table("wells")
    assert (wells.loc[wells["type"] == "unknown", "dilution"] == 4).all()


def test_xponent_reader_tolerates_blank_lines(tmp_path: Path) -> None:
    src = tmp_path / "ex"
    get_kind("immunoassay").example(src)
    text = (src / "data" / "luminex_xponent.csv").read_text(encoding="utf-8")
    assert "\n\n" in text  # blank lines between (and inside) blocks
    p = tmp_path / "blank.csv"
    p.write_text(text.replace("\nStandard3,", "\n\nStandard3,") + "DataType:,Result\n",
                 encoding="utf-8")
    wells, _ = read_xponent(p)
    assert wells["expected"].notna().sum() == 7 * 2 * 5
