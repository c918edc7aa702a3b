"""The report builder and provenance.json, fed directly with kind outputs."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pandas as pd
from toy_kind import TOY_STUDY, ToyKind

from preclin.report import Report
from preclin.study.kinds import KindOutput, ReportContext, ResultTable
from preclin.study.model import load_study_file
from preclin.study.provenance import package_versions, sha256_file, write_provenance
from preclin.study.report import build_report, overview_table


def _toy_output(spec: Any, name: str = "toy_means", **overview: Any) -> KindOutput:
    return KindOutput(name=name, kind="toy", spec=spec,
                      tables={"means": ResultTable(pd.DataFrame({"group": ["a"],
                                                                 "mean": [1.5]}),
                                                   "one row per group")},
                      warnings=(f"{name}: <b>careful</b>",),
                      overview=overview or {"rows": 3, "groups": 1})


def test_overview_takes_each_kinds_row(tmp_path: Path, toy_kind: ToyKind) -> None:
    (tmp_path / "study.toml").write_text(TOY_STUDY, encoding="utf-8")
    spec = load_study_file(tmp_path / "study.toml").experiment[0]
    table = overview_table([_toy_output(spec), _toy_output(spec, "other", wells=96)])
    assert list(table.columns) == ["experiment", "kind", "rows", "groups", "wells"]
    assert table["experiment"].tolist() == ["toy_means", "other"]
    assert table["wells"].isna().tolist() == [True, False]


def test_report_is_a_loop_over_kind_sections(tmp_path: Path, toy_kind: ToyKind,
                                             monkeypatch: Any) -> None:
    (tmp_path / "study.toml").write_text(TOY_STUDY, encoding="utf-8")
    study = load_study_file(tmp_path / "study.toml")
    notes: list[int] = []

    def report_notes(self: ToyKind, outputs: Sequence[KindOutput], report: Report) -> None:
        notes.append(len(outputs))
        report.add_text("toy notes")

    monkeypatch.setattr(ToyKind, "report_notes", report_notes)
    outputs = [_toy_output(study.experiment[0]), _toy_output(study.experiment[0], "again")]
    page = build_report(study, outputs, tmp_path).to_html()
    assert notes == [2]  # once per kind present
    assert page.count("Toy means &lt;per group&gt;") >= 2  # the default section, escaped
    assert "<b>careful</b>" not in page and "&lt;b&gt;careful&lt;/b&gt;" in page
    assert "tables/again_means.csv — one row per group (1 rows)" in page
    assert page.index("Overview") < page.index("Toy means") < page.index("toy notes")
    assert "SIMULATED" not in page


def test_report_context_table_file(tmp_path: Path, toy_kind: ToyKind) -> None:
    (tmp_path / "study.toml").write_text(TOY_STUDY, encoding="utf-8")
    spec = load_study_file(tmp_path / "study.toml").experiment[0]
    ctx = ReportContext(out=tmp_path)
    assert ctx.table_file(_toy_output(spec), "means") == "tables/toy_means_means.csv"


def test_sha256_and_versions(tmp_path: Path) -> None:
    p = tmp_path / "x.bin"
    p.write_bytes(b"preclin" * 1000)
    assert sha256_file(p, chunk=7) == hashlib.sha256(b"preclin" * 1000).hexdigest()
    versions = package_versions()
    assert {"python", "platform", "preclin", "numpy", "pandas"} <= set(versions)


def test_write_provenance_contents(tmp_path: Path) -> None:
    out = tmp_path / "run"
    (out / "tables").mkdir(parents=True)
    table = out / "tables" / "t.csv"
    table.write_text("a\n1\n", encoding="utf-8")
    source = tmp_path / "input.csv"
    source.write_text("x\n", encoding="utf-8")
    path = write_provenance(out / "provenance.json", inputs=[source, source],
                            settings={"study": {"title": "µ"}}, outputs=[table], base=out,
                            experiments=[{"name": "e", "kind": "toy"}])
    doc = json.loads(path.read_text(encoding="utf-8"))
    assert "µ" in path.read_text(encoding="utf-8")  # not escaped to \u00b5
    assert doc["settings"] == {"study": {"title": "µ"}}
    assert doc["inputs"] == [{"path": source.as_posix(), "bytes": 2,
                              "sha256": sha256_file(source)}]  # outside base: full path
    assert doc["outputs"] == [{"path": "tables/t.csv", "bytes": 4,
                               "sha256": sha256_file(table)}]
    assert doc["experiments"] == [{"name": "e", "kind": "toy"}]
    assert doc["created_utc"].endswith("+00:00")
