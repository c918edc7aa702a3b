"""The ``qpcr`` experiment kind on its simulated example (the demo's qPCR experiment)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from preclin.cli import main
from preclin.data.simulate_qpcr import QPCR_EFFICIENCY, QPCR_GENES, QPCR_LINES
from preclin.stats import paired_t
from preclin.study import Study
from preclin.study.kinds import RunContext, get_kind


@pytest.fixture(scope="module")
def qpcr_run(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, object]:
    root = tmp_path_factory.mktemp("qpcr_kind")
    study_file = get_kind("qpcr").example(root / "ex")
    spec = Study.load(study_file).spec.experiment[0]
    out = get_kind("qpcr").run(spec, RunContext(base=study_file.parent, out=root / "run",
                                                 experiment=spec.name))
    return study_file, out


def test_tables_and_figures(qpcr_run: tuple[Path, object]) -> None:
    _, out = qpcr_run
    rq = out.table("relquant")  # type: ignore[attr-defined]
    assert list(rq.columns[:3]) == ["sample", "cell_line", "treatment"]
    assert len(rq) == len(QPCR_LINES) * 2 * 4 and (rq["status"] == "ok").all()
    cal = rq[rq["sample"] == "LP-1 control"]
    np.testing.assert_allclose(cal["rq"], 1.0, rtol=1e-12)
    roles = {f.role for f in out.figures}  # type: ignore[attr-defined]
    assert roles == {"main", "stdcurve", "rq"}
    eff = out.table("efficiencies").set_index("target")  # type: ignore[attr-defined]
    curves = out.table("standard_curves").set_index("target")  # type: ignore[attr-defined]
    for gene, e in QPCR_EFFICIENCY.items():
        assert eff.loc[gene, "source"].startswith("standard curve")
        assert curves.loc[gene, "efficiency_lower"] < e < curves.loc[gene, "efficiency_upper"]
    excl = out.table("excluded")  # type: ignore[attr-defined]
    assert set(excl["reason"]) == {"no-template control"} and len(excl) == 8


def test_paired_comparison_equals_stats(qpcr_run: tuple[Path, object]) -> None:
    _, out = qpcr_run
    comp = out.table("compare").set_index("target")  # type: ignore[attr-defined]
    assert list(comp.index) == QPCR_GENES and (comp["test"] == "paired").all()
    assert (comp["n1"] == 12).all()
    rq = out.table("relquant")  # type: ignore[attr-defined]
    for gene in QPCR_GENES:
        g = rq[rq["target"] == gene].pivot(index="cell_line", columns="treatment",
                                           values="rq").loc[QPCR_LINES]
        ref = paired_t(g["control"].to_numpy(), g["lenalidomide"].to_numpy())
        assert comp.loc[gene, "p_value"] == pytest.approx(ref.p_value, rel=1e-12)
    # the simulated inductions of TNF and IGF1 are found, IL8 (≈ 1.15×) is not
    assert comp.loc["TNF", "p_value"] < 0.05 and comp.loc["IGF1", "p_value"] < 0.05
    pct = out.table("percent_of_control")  # type: ignore[attr-defined]
    assert len(pct) == 36 and set(pct["change"]) <= {"up", "down"}


def test_fold_changes_match_the_simulation(qpcr_run: tuple[Path, object]) -> None:
    study_file, out = qpcr_run
    truth = pd.read_csv(study_file.parent / "data" / "qpcr_truth.csv")
    pct = out.table("percent_of_control")  # type: ignore[attr-defined]
    m = pct.merge(truth, left_on=["target", "pair"], right_on=["target", "cell_line"])
    err = np.log2(m["percent_of_control"] / 100) - np.log2(m["true_fold_change"])
    assert np.abs(err).max() < 0.6  # Cq noise 0.12 × 4 means + efficiency error


def test_runs_through_cli_and_bad_compare_column(tmp_path: Path) -> None:
    study_file = get_kind("qpcr").example(tmp_path / "ex")
    text = study_file.read_text(encoding="utf-8").replace('pair = "cell_line"',
                                                          'pair = "line"')
    study_file.write_text(text, encoding="utf-8")
    assert main(["run", str(study_file), "--out", str(tmp_path / "run")]) == 2


def test_ddct_and_fixed_efficiency(tmp_path: Path) -> None:
    study_file = get_kind("qpcr").example(tmp_path / "ex")
    text = study_file.read_text(encoding="utf-8")
    for method, eff in (('"ddct"', '"auto"'), ('"pfaffl"', "1.95"),
                        ('"pfaffl"', "{TNF = 1.9, IL8 = 1.9, IGF1 = 1.9, RPL37a = 1.9}")):
        t = text.replace('method = "pfaffl"', f"method = {method}").replace(
            'efficiency = "auto"', f"efficiency = {eff}")
        study_file.write_text(t, encoding="utf-8")
        spec = Study.load(study_file).spec.experiment[0]
        out = get_kind("qpcr").run(spec, RunContext(base=study_file.parent,
                                                    out=tmp_path / "run", experiment="q"))
        e = out.table("efficiencies")["efficiency"]
        want = 2.0 if method == '"ddct"' else (1.95 if eff == "1.95" else 1.9)
        np.testing.assert_allclose(e, want)
