"""The ``expression`` experiment kind on the bundled simulated paired experiment."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from preclin.errors import StudyError
from preclin.study import Study
from preclin.study.kinds import RunContext, get_kind
from preclin.study.kinds.expression import EXPRESSION_TABLES


@pytest.fixture(scope="module")
def example(tmp_path_factory):
    root = tmp_path_factory.mktemp("exprkind")
    return get_kind("expression").example(root / "example")


def _run(study_file: Path, out: Path, text: str | None = None):
    if text is not None:
        study_file = study_file.with_name("variant.toml")
        study_file.write_text(text, encoding="utf-8")
    spec = next(e for e in Study.load(study_file).spec.experiment if e.kind == "expression")
    ctx = RunContext(base=study_file.parent, out=out, experiment=spec.name,
                     study_file=study_file)
    return get_kind("expression").run(spec, ctx)


@pytest.fixture(scope="module")
def output(example, tmp_path_factory):
    return _run(example, tmp_path_factory.mktemp("exprout"))


def test_tables_and_columns(output):
    assert set(output.tables) <= set(EXPRESSION_TABLES)
    de = output.table("de")
    assert list(de.columns[:10]) == ["feature", "logfc", "ave_expr", "t", "p_value",
                                     "adj_p_value", "b", "fold_change", "call", "call_fdr"]
    assert len(de) == 2000 and de["p_value"].is_monotonic_increasing
    filtered = output.table("filtered")
    assert list(filtered.columns) == list(de.columns)
    assert set(filtered["call"]) == {"up", "down"}
    assert (filtered["fold_change"].abs() > 1.5).all() and (filtered["p_value"] < 0.05).all()
    enr = output.table("enrichment")
    assert list(enr.columns) == ["term", "name", "ontology", "n", "de", "expected",
                                 "p_value", "adj_p_value", "genes"]
    assert set(enr["ontology"]) == {"BP"} and (enr["n"] >= 5).all()
    assert {f.role for f in output.figures} == {"volcano", "ma", "heatmap", "enrichment"}


def test_planted_genes_recovered(output, example):
    truth = pd.read_csv(example.parent / "data" / "expression_truth.csv")
    planted = set(truth.loc[truth["planted"], "symbol"])
    called = set(output.table("filtered")["feature"])
    assert len(planted & called) >= 0.9 * len(planted)
    assert len(called - planted) <= 0.25 * len(called)
    de = output.table("de").set_index("feature")
    t = truth.set_index("symbol")
    up = [g for g in planted if t.loc[g, "true_logfc"] > 0]
    assert (de.loc[up, "logfc"] > 0).mean() > 0.95


def test_enrichment_finds_adhesion_migration(output):
    enr = output.table("enrichment")
    top = enr.head(5)
    assert top["name"].str.contains("adhesion|migration|motility").any()
    assert top["adj_p_value"].iloc[0] < 1e-6
    first = top.iloc[0]
    assert len(first["genes"].split(", ")) == first["de"]


def test_report_sentence(output, tmp_path):
    from preclin.report import Report
    from preclin.study.kinds import ReportContext

    report = Report("x")
    get_kind("expression").report_section(output, report, ReportContext(out=tmp_path))
    html = report.to_html()
    c = output.result["counts"]
    assert (f"{c['up'] + c['down']} of 2000 genes change &gt; 1.5-fold at p &lt; 0.05 "
            f"({c['up']} up, {c['down']} down)") in html
    assert "GO BP over-representation" in html


def test_no_enrichment_and_bad_coef(example, tmp_path):
    text = example.read_text(encoding="utf-8")
    plain = text.split("[experiment.enrichment]")[0]
    out = _run(example, tmp_path / "a", plain)
    assert "enrichment" not in out.tables
    assert not out.figures_with_role("enrichment")
    with pytest.raises(Exception, match="lenalidomde|not a column"):
        _run(example, tmp_path / "b", plain.replace('coef = "lenalidomide"',
                                                    'coef = "lenalidomde"'))


def test_unknown_key_is_an_error(example, tmp_path):
    text = example.read_text(encoding="utf-8").replace("fdr = 0.05", "fdrr = 0.05")
    bad = tmp_path / "bad.toml"
    bad.write_text(text, encoding="utf-8")
    with pytest.raises(StudyError, match="fdrr"):
        Study.load(bad)
