"""End-to-end command-line tests: exit codes, one-line errors, output tables."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from preclin.cli import main
from preclin.data.example import write_example_study


def _curves(tmp_path: Path, name: str = "curves.csv") -> Path:
    rng = np.random.default_rng(0)
    rows = []
    for line, e in [("A", 1.0), ("B", 0.1)]:
        for x in [0.01, 0.03, 0.1, 0.3, 1, 3, 10, 30]:
            for _ in range(3):
                y = 5 + 95 / (1 + (x / e) ** 1.2) + rng.normal(0, 3)
                rows.append({"line": line, "conc": x, "viab": y})
    path = tmp_path / name
    pd.DataFrame(rows).to_csv(path, index=False)
    return path


def _run(argv: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    code = main(argv)
    out, err = capsys.readouterr()
    return code, out, err


@pytest.mark.parametrize("suffix", [".csv", ".parquet", ".xlsx"])
def test_fit_one_row_per_curve_all_formats(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                           suffix: str) -> None:
    src = _curves(tmp_path)
    table = pd.read_csv(src)
    inp = tmp_path / f"in{suffix}"
    if suffix == ".parquet":
        table.to_parquet(inp)
    elif suffix == ".xlsx":
        table.to_excel(inp, index=False)
    else:
        inp = src
    out = tmp_path / f"out{suffix}"
    code, _, err = _run(["doseresponse", "fit", str(inp), "--dose", "conc", "--response",
                         "viab", "--by", "line", "--ed", "10,50,90", "--out", str(out)], capsys)
    assert code == 0, err
    res = {".csv": pd.read_csv, ".parquet": pd.read_parquet, ".xlsx": pd.read_excel}[suffix](out)
    assert list(res["line"]) == ["A", "B"]
    for col in ["model", "n", "status", "bottom", "top", "ec50", "hill", "ec50_lower",
                "ec50_upper", "rss", "aic", "ed10", "ed10_lower", "ed10_upper", "ed90_upper"]:
        assert col in res.columns, col
    assert res["ec50"].iloc[0] == pytest.approx(1.0, rel=0.25)
    assert res["ec50"].iloc[1] == pytest.approx(0.1, rel=0.25)
    assert (res["ed10"] < res["ec50"]).all() and (res["ec50"] < res["ed90"]).all()
    assert "2 curves" in err


def test_fit_to_stdout_and_fixed(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    src = _curves(tmp_path)
    code, out, _ = _run(["doseresponse", "fit", str(src), "--dose", "conc", "--response",
                         "viab", "--by", "line", "--fixed", "bottom=0,top=100"], capsys)
    assert code == 0
    lines = out.strip().splitlines()
    assert len(lines) == 3  # header + 2 curves
    header = lines[0].split(",")
    row = dict(zip(header, lines[1].split(","), strict=True))
    assert float(row["bottom"]) == 0 and float(row["top"]) == 100
    assert row["model"].startswith("ll4[")


def test_fit_ci_log(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """--ci log puts Prism's log-scale interval in ec50_lower/ec50_upper and edX_*; the
    default stays drc's linear one; both are always in the *_log columns."""
    src = _curves(tmp_path)
    outs = {}
    for ci in ["linear", "log"]:
        out = tmp_path / f"{ci}.csv"
        argv = ["doseresponse", "fit", str(src), "--dose", "conc", "--response", "viab",
                "--by", "line", "--ed", "10,50", "--out", str(out)]
        code, _, err = _run(argv + ([] if ci == "linear" else ["--ci", "log"]), capsys)
        assert code == 0, err
        outs[ci] = pd.read_csv(out)
    lin, log = outs["linear"], outs["log"]
    from scipy import stats

    tq = stats.t.ppf(0.975, 20)  # 24 points, 4 parameters
    np.testing.assert_allclose(lin["ec50_lower"], lin["ec50"] - tq * lin["ec50_se"], rtol=1e-4)
    for col in ["ec50_lower", "ec50_upper", "ed10_lower", "ed10_upper"]:
        np.testing.assert_allclose(log[col], lin[f"{col}_log"], rtol=1e-12)
    assert (log["ec50_lower"] > 0).all()
    assert ((log["ec50_lower"] < log["ec50"]) & (log["ec50"] < log["ec50_upper"])).all()
    np.testing.assert_allclose(np.log10(log["ec50_upper"] / log["ec50"]),
                               tq * log["log10_ec50_se"], rtol=1e-4)
    assert list(log["status"]) == list(lin["status"])
    code, _, err = _run(["doseresponse", "fit", str(src), "--dose", "conc", "--response",
                         "viab", "--ci", "wald"], capsys)
    assert code == 2
    assert "unknown ci 'wald'" in _one_line_error(err)


def _one_line_error(err: str) -> str:
    """The error is exactly one line (progress lines of `run` may precede it)."""
    lines = [ln for ln in err.strip().splitlines() if ln.startswith("error")]
    assert len(lines) == 1, err
    assert "Traceback" not in err
    return lines[0]


@pytest.mark.parametrize(
    "mutate,expect",
    [
        (lambda t: t.drop(columns=["conc"]), "missing column(s) 'conc'"),
        (lambda t: t.assign(conc=t["conc"].astype(object).where(t.index != 4, "abc")),
         "row 6: column 'conc' must be numeric but has 'abc'"),
        (lambda t: t.assign(conc=t["conc"].where(t.index != 7, -1.0)),
         "row 9: column 'conc' must not be negative"),
        (lambda t: t.assign(viab=t["viab"].astype(object).where(t.index != 2, "n/a?")),
         "row 4: column 'viab' must be numeric"),
    ],
)
def test_fit_bad_input_exit_2(tmp_path: Path, capsys: pytest.CaptureFixture[str], mutate,
                              expect: str) -> None:
    src = _curves(tmp_path)
    bad = tmp_path / "bad.csv"
    mutate(pd.read_csv(src)).to_csv(bad, index=False)
    code, _, err = _run(["doseresponse", "fit", str(bad), "--dose", "conc", "--response",
                         "viab", "--by", "line"], capsys)
    assert code == 2
    line = _one_line_error(err)
    assert "bad.csv" in line and expect in line, line
    assert "Traceback" not in err


def test_fit_missing_file_and_bad_model(tmp_path: Path, capsys: pytest.CaptureFixture[str]
                                        ) -> None:
    code, _, err = _run(["doseresponse", "fit", str(tmp_path / "nope.csv"), "--dose", "x",
                         "--response", "y"], capsys)
    assert code == 2 and "nope.csv: file not found" in _one_line_error(err)
    src = _curves(tmp_path)
    code, _, err = _run(["doseresponse", "fit", str(src), "--dose", "conc", "--response",
                         "viab", "--model", "ll9"], capsys)
    assert code == 2 and "unknown model 'll9'" in _one_line_error(err)


def test_every_curve_reported_even_if_empty(tmp_path: Path,
                                            capsys: pytest.CaptureFixture[str]) -> None:
    t = pd.read_csv(_curves(tmp_path))
    t.loc[t["line"] == "B", "viab"] = np.nan  # curve B has no usable point
    few = pd.DataFrame({"line": ["C", "C"], "conc": [1.0, 2.0], "viab": [50.0, 40.0]})
    inp = tmp_path / "mixed.csv"
    pd.concat([t, few]).to_csv(inp, index=False)
    exc = tmp_path / "excluded.csv"
    out = tmp_path / "o.csv"
    code, _, _ = _run(["doseresponse", "fit", str(inp), "--dose", "conc", "--response", "viab",
                       "--by", "line", "--out", str(out), "--excluded", str(exc)], capsys)
    assert code == 0
    res = pd.read_csv(out)
    assert list(res["line"]) == ["A", "B", "C"]
    assert list(res["status"])[1:] == ["no_data", "too_few_points"]
    excluded = pd.read_csv(exc)
    assert len(excluded) == 24 and set(excluded["reason"]) == {"response missing"}
    assert res["n"].sum() + len(excluded) == len(t) + 2


def test_demo_end_to_end(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "demo"
    code, _, err = _run(["demo", "--out", str(out)], capsys)
    assert code == 0, err
    html = (out / "report.html").read_text(encoding="utf-8")
    assert "SIMULATED" in html
    assert "<svg" in html and "src=\"http" not in html
    assert "LP1-LR" in html and "ec50_above_range" in html
    prov = json.loads((out / "provenance.json").read_text())
    assert any(i["path"].endswith("study.toml") for i in prov["inputs"])
    assert all(len(i["sha256"]) == 64 for i in prov["inputs"])
    curves = pd.read_parquet(out / "tables" / "myeloma_lenalidomide_curves.parquet")
    assert len(curves) == 23
    truth = pd.read_csv(out / "study" / "truth.csv")
    merged = curves.merge(truth, on=["cell_line", "drug"])
    # the threshold rule recovers the simulated sensitive/resistant split
    assert (merged["call"] == merged["true_call"]).mean() >= 0.9
    ok = merged[merged["status"] == "ok"]
    assert len(ok) >= 12
    assert np.median(np.abs(np.log(ok["ec50"] / ok["true_ec50"]))) < 0.15
    wells = pd.read_parquet(out / "tables" / "myeloma_lenalidomide_wells.parquet")
    assert len(wells) == 12 * 96  # every well of every plate is accounted for
    assert set(wells.loc[wells["excluded"], "reason"]) <= {
        "blank well", "vehicle control", "no cell_line/drug in layout"}
    assert "Traceback" not in err
    # combination answers of the AML study: potentiation (factorial) and protection
    assert "Does lenalidomide add more than expected (Bliss) to AraC+Ida?" in html
    eff = pd.read_parquet(out / "tables" / "aml_factorial_effects.parquet")
    added = eff[(eff["reference"] == "bliss") & (eff["added"] == "lenalidomide")]
    fac_truth = pd.read_csv(out / "study" / "data" / "factorial_viability_truth.csv")
    assert len(added) == 2 and (added["p"] < 0.05).all()
    assert set(added["cell_line"]) == {"HL-60", "MOLM-13"}
    truth_added = fac_truth[(fac_truth["reference"] == "bliss")
                            & (fac_truth["added"] == "lenalidomide")]
    both = added.merge(truth_added, on=["cell_line", "combination"])
    assert len(both) == 2
    assert ((both["ci_low"] <= both["true_excess"])
            & (both["true_excess"] <= both["ci_high"])).all()
    inter = pd.read_parquet(out / "tables" / "aml_coculture_interaction.parquet")
    assert (inter["p"] < 0.05).any() and (inter["protection_change"] < 0).any()


def test_demo_tables_deterministic(tmp_path: Path) -> None:
    """The demo twice gives byte-identical tables and reports: once with its experiments
    in worker processes (the default) and once one after the other in a first run (fresh
    process, empty numba cache), which must not even import numba (it would compile the
    kernels for a minute)."""
    import os
    import subprocess
    import sys

    from preclin.study.demo import run_demo

    a = run_demo(tmp_path / "a")
    code = ("import sys; from preclin.study.demo import run_demo; "
            f"run_demo({str(tmp_path / 'b')!r}, jobs=1); print('numba' in sys.modules)")
    env = {**os.environ, "NUMBA_CACHE_DIR": str(tmp_path / "empty-numba-cache")}
    first = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                           env=env, check=True)
    assert first.stdout.strip().splitlines()[-1] == "False"
    names = sorted(p.name for p in (tmp_path / "a" / "tables").iterdir())
    assert names == sorted(p.name for p in (tmp_path / "b" / "tables").iterdir())
    for name in names:
        pa = tmp_path / "a" / "tables" / name
        pb = tmp_path / "b" / "tables" / name
        assert pa.read_bytes() == pb.read_bytes(), name
    assert a.report.read_text() == (tmp_path / "b" / "report.html").read_text()


def _study(tmp_path: Path) -> Path:
    return write_example_study(tmp_path / "study", seed=5)


def test_run_bad_study_key(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    study = _study(tmp_path)
    text = study.read_text().replace('model = "ll4"', 'modle = "ll4"', 1)
    study.write_text(text)
    code, _, err = _run(["run", str(study)], capsys)
    assert code == 2
    line = _one_line_error(err)
    assert "study.toml" in line and "experiment[1].fit.modle" in line and "unknown key" in line


def test_run_layout_well_absent_from_data(tmp_path: Path,
                                          capsys: pytest.CaptureFixture[str]) -> None:
    study = _study(tmp_path)
    layout = tmp_path / "study" / "layouts" / "aml.toml"
    # the layout now describes a 384-well plate with a well the 96-well data cannot have
    text = layout.read_text().replace("[meta]\n", "[meta]\nwells = 384\n", 1)
    layout.write_text(text + '\n[well.P24]\ncontrol = "blank"\n')
    code, _, err = _run(["run", str(study), "--out", str(tmp_path / "r")], capsys)
    assert code == 2
    line = _one_line_error(err)
    assert "aml.toml" in line and "has no value in aml_HL60.txt" in line
    assert "layout well A13" in line  # the first layout well beyond the 96-well grid


def test_run_empty_plate(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    study = _study(tmp_path)
    plate = tmp_path / "study" / "plates" / "myeloma_P03.csv"
    lines = plate.read_text().splitlines()
    empty = [lines[0], lines[1]] + [ln.split(",")[0] + "," * 12 for ln in lines[2:]]
    plate.write_text("\n".join(empty) + "\n")
    code, _, err = _run(["run", str(study), "--out", str(tmp_path / "r")], capsys)
    assert code == 2
    line = _one_line_error(err)
    assert "myeloma_P03.csv" in line
    assert "empty" in line.lower() or "no numeric" in line.lower()


def test_fit_engine_dask_matches_local(tmp_path: Path,
                                       capsys: pytest.CaptureFixture[str]) -> None:
    pytest.importorskip("distributed")
    from preclin.data.simulate import simulate_curves

    table = simulate_curves(60, seed=4)
    src = tmp_path / "curves.parquet"
    table.to_parquet(src)
    outs = {}
    for engine in ("numba", "dask"):
        out = tmp_path / f"{engine}.csv"
        code, _, err = _run(["doseresponse", "fit", str(src), "--dose", "dose", "--response",
                             "response", "--by", "curve", "--engine", engine, "--out",
                             str(out)], capsys)
        assert code == 0, err
        outs[engine] = pd.read_csv(out)
    pd.testing.assert_frame_equal(outs["numba"], outs["dask"])
    assert len(outs["dask"]) == 60


def _bliss_grid(path: Path) -> pd.DataFrame:
    rows = []
    doses = [0.0, 0.1, 0.3, 1.0, 3.0, 10.0]
    for c1 in doses:
        for c2 in doses:
            e1 = c1 / (c1 + 1.0)
            e2 = c2 / (c2 + 2.0)
            viab = 100 * (1 - e1) * (1 - e2)  # Bliss independence
            rows.append({"block": 1, "drug1": "A", "drug2": "B", "conc1": c1, "conc2": c2,
                         "response": viab})
    table = pd.DataFrame(rows)
    table.to_csv(path, index=False)
    return table


def test_synergy_score_cli(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    src = tmp_path / "combo.csv"
    _bliss_grid(src)
    out = tmp_path / "blocks.csv"
    cells = tmp_path / "cells.parquet"
    code, _, err = _run(["synergy", "score", str(src), "--out", str(out), "--cells", str(cells),
                         "--models", "bliss,hsa"], capsys)
    assert code == 0, err
    blocks = pd.read_csv(out)
    assert list(blocks[["block", "drug1", "drug2"]].iloc[0]) == [1, "A", "B"]
    assert abs(blocks.loc[0, "bliss"]) < 1e-6  # a Bliss-independent surface scores 0
    assert blocks.loc[0, "hsa"] > 1  # ... and beats its best single agent
    cell_table = pd.read_parquet(cells)
    assert len(cell_table) == 36 and "bliss_synergy" in cell_table.columns


def test_synergy_score_missing_arm(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    src = tmp_path / "combo.csv"
    table = _bliss_grid(src)
    table[~((table["conc2"] == 0) & (table["conc1"] == 1.0))].to_csv(src, index=False)
    code, _, err = _run(["synergy", "score", str(src), "--out", str(tmp_path / "o.csv")], capsys)
    assert code == 2
    line = _one_line_error(err)
    assert "combo.csv" in line and "block" in line.lower()
