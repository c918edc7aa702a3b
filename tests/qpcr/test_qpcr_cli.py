"""``preclin qpcr relquant`` and ``preclin qpcr stdcurve``."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from preclin.cli import main


@pytest.fixture()
def cq_file(tmp_path: Path) -> Path:
    rows = ["well,sample,target,cq,quantity"]
    k = 0
    for q, base in ((20.0, 20.0), (2.0, 23.4), (0.2, 26.8)):
        for gene, off in (("TNF", 0.0), ("RPL37a", -2.0)):
            for _ in range(2):
                k += 1
                rows.append(f"S{k},std{q},{gene},{base + off + 0.01 * k},{q}")
    for sample, d_tnf in (("LP-1", 0.0), ("U266", -1.5)):
        for rep in range(2):
            k += 1
            rows.append(f"W{k},{sample},TNF,{25 + d_tnf + 0.05 * rep},")
            k += 1
            rows.append(f"W{k},{sample},RPL37a,{21 + 0.05 * rep},")
    k += 1
    rows.append(f"W{k},NTC,TNF,Undetermined,")
    p = tmp_path / "cq.csv"
    p.write_text("\n".join(rows) + "\n")
    return p


def test_relquant_cli(cq_file: Path, tmp_path: Path) -> None:
    out = tmp_path / "rq.csv"
    rc = main(["qpcr", "relquant", str(cq_file), "--reference", "RPL37a", "--calibrator",
               "LP-1", "--out", str(out)])
    assert rc == 0
    t = pd.read_csv(out)
    assert list(t.columns[:7]) == ["sample", "target", "rq", "rq_lower", "rq_upper", "method",
                                   "efficiency"]
    r = t[(t["sample"] == "U266") & (t["target"] == "TNF")].iloc[0]
    assert r["method"] == "pfaffl" and 1.9 < r["efficiency"] < 2.1
    assert r["rq"] == pytest.approx(r["efficiency"] ** 1.5, rel=1e-9)
    assert r["rq_lower"] < r["rq"] < r["rq_upper"]
    rc = main(["qpcr", "relquant", str(cq_file), "--reference", "RPL37a", "--calibrator",
               "LP-1", "--method", "ddct", "--out", str(out)])
    assert rc == 0 and (pd.read_csv(out)["efficiency"] == 2).all()


def test_stdcurve_cli(cq_file: Path, tmp_path: Path) -> None:
    out = tmp_path / "curves.csv"
    assert main(["qpcr", "stdcurve", str(cq_file), "--out", str(out)]) == 0
    t = pd.read_csv(out)
    assert list(t.columns[:7]) == ["target", "slope", "intercept", "r2", "efficiency",
                                   "efficiency_lower", "efficiency_upper"]
    assert t["target"].tolist() == ["TNF", "RPL37a"]


def test_relquant_cli_bad_calibrator(cq_file: Path, tmp_path: Path,
                                     capsys: pytest.CaptureFixture[str]) -> None:
    rc = main(["qpcr", "relquant", str(cq_file), "--reference", "RPL37a", "--calibrator",
               "LP1", "--out", str(tmp_path / "o.csv")])
    assert rc == 2
    err = capsys.readouterr().err
    assert "cq.csv" in err and "did you mean 'LP-1'" in err and len(err.splitlines()) == 1
