"""qPCR readers: reference files, the plain long table, CFX, and garbage → InputError only."""

from __future__ import annotations

import json
import zipfile
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from preclin.errors import InputError
from preclin.qpcr import WELL_COLUMNS, quantify, read_qpcr, relative_quantities, standard_curve

RDML = ["stepone_std.rdml", "lc96_bACTXY.rdml", "BioRad_qPCR_melt.rdml"]
QS7 = "appbio_quantstudio_designandanalysis_QS7_Standard_Curve_example06.xlsx"
QS3 = "appbio_quantstudio_designandanalysis_QS3_Relative_Quantification_example02.xlsx"


@pytest.mark.parametrize("name", RDML)
def test_rdml_stored_values_exact(qpcr_ref: Path, name: str) -> None:
    d = qpcr_ref / "rdml_pcruniversum"
    w = read_qpcr(d / name)
    sv = pd.read_csv(d / f"{name}.stored_values.csv", dtype=str, keep_default_na=False)
    assert list(w.columns) == list(WELL_COLUMNS)
    assert len(w) == len(sv)
    assert w["well"].tolist() == sv["react"].tolist()
    assert w["sample"].tolist() == sv["sample"].tolist()
    assert w["target"].tolist() == sv["target"].tolist()
    assert w["cq_raw"].tolist() == sv["cq"].tolist()
    assert w["run"].tolist() == (sv["experiment"] + "/" + sv["run"]).tolist()
    present = sv["cq"].ne("") & sv["cq"].ne("100") & ~(
        (name == "stepone_std.rdml") & sv["cq"].eq("40.0"))
    assert (~w["undetermined"]).tolist() == present.tolist()


def test_rdml_quirks(qpcr_ref: Path) -> None:
    d = qpcr_ref / "rdml_pcruniversum"
    exp = json.loads((d / "expected.json").read_text())
    step = read_qpcr(d / "stepone_std.rdml")
    # efficiency written as percent; NTC Cq 40.0 = last cycle = undetermined, row kept
    assert step["efficiency"].iloc[0] == pytest.approx(1.9391181)
    ntc = step[step["task"] == "ntc"]
    assert len(ntc) == 3 and ntc["undetermined"].all() and ntc["cq"].isna().all()
    assert ntc["flag"].str.contains("NTC").all()
    curve = standard_curve(step).iloc[0]
    e = exp["stepone_std.rdml"]["standard_curve_from_stored_cq"]
    assert curve["slope"] == pytest.approx(e["slope"], rel=1e-9)
    assert curve["intercept"] == pytest.approx(e["intercept"], rel=1e-9)
    assert curve["r2"] == pytest.approx(e["r_squared"], rel=1e-9)
    assert curve["efficiency_percent"] == pytest.approx(
        exp["stepone_std.rdml"]["stored_target_amplificationEfficiency_percent"], abs=0.005)
    sv = pd.read_csv(d / "stepone_std.rdml.stored_values.csv")
    unk = sv["sample_type"] == "unkn"
    est = quantify(step, standard_curve(step))["quantity_estimate"][unk.to_numpy()]
    np.testing.assert_allclose(est.to_numpy(), sv.loc[unk, "quantity"].to_numpy(), rtol=1e-4)
    lc = read_qpcr(d / "lc96_bACTXY.rdml")
    assert (lc["cq_raw"] == "100").sum() == 58
    assert lc.loc[lc["cq_raw"] == "100", "undetermined"].all()
    assert lc["efficiency"].isna().all()  # LC96 writes 0 = unknown


def test_quantstudio_standard_curve_example(qpcr_ref: Path) -> None:
    d = qpcr_ref / "quantstudio"
    exp = json.loads((d / "expected.json").read_text())["QS7_Standard_Curve_example06"]
    w = read_qpcr(d / QS7)
    assert len(w) == 96 and (w["task"] == "ntc").sum() == 4
    assert w.loc[w["task"] == "ntc", "cq_raw"].eq("UNDETERMINED").all()
    c = standard_curve(w).iloc[0]
    v = exp["vendor_standard_curve"]
    assert c["n"] == 20
    assert c["r2"] == pytest.approx(v["r2"], rel=1e-9)
    assert c["efficiency_percent"] == pytest.approx(v["efficiency_percent"], rel=1e-9)
    assert c["residual_sd"] == pytest.approx(v["residual_sd"], rel=1e-9)
    assert c["slope_se"] == pytest.approx(v["slope_se"], rel=1e-9)
    assert round(c["slope"], 4) == v["slope"] and round(c["intercept"], 4) == v["y_intercept"]
    rounded = pd.DataFrame({"target": ["RNase P"], "slope": [v["slope"]],
                            "intercept": [v["y_intercept"]]})
    q = quantify(w[w["task"] == "unknown"], rounded).groupby("sample")["quantity_estimate"]
    for s, ref in exp["vendor_unknown_quantity_summary"].items():
        assert q.mean()[s] == pytest.approx(ref["vendor_quantity_mean"], rel=1e-9)
        assert q.std()[s] == pytest.approx(ref["vendor_quantity_sd"], rel=1e-9)


def test_quantstudio_relative_quantification_example(qpcr_ref: Path) -> None:
    d = qpcr_ref / "quantstudio"
    exp = json.loads((d / "expected.json").read_text())["QS3_Relative_Quantification_example02"]
    w = read_qpcr(d / QS3)
    res = relative_quantities(w, reference="IPC", calibrator="Unk_400", efficiency="auto",
                              efficiency_error=False, pairing="well", calibrator_error=False)
    t = res.table[res.table["target"] == "RNaseP"].set_index("sample")
    eff = res.efficiencies.set_index("target")
    for tgt, e in exp["algorithm_reproduced_here"]["efficiencies"].items():
        assert (eff.loc[tgt, "efficiency"] - 1) * 100 == pytest.approx(e["efficiency_percent"],
                                                                        rel=1e-9)
    for r in exp["vendor_RQ"]:
        if r["Target"] != "RNaseP":
            continue
        s = r["Sample"]
        assert t.loc[s, "rq"] == pytest.approx(r["Rq"], rel=1e-6)
        assert t.loc[s, "rq_lower"] == pytest.approx(r["Rq Min"], rel=1e-6)
        assert t.loc[s, "rq_upper"] == pytest.approx(r["Rq Max"], rel=1e-6)
    # nothing lost: NTC and undetermined wells are in the excluded table with a reason
    assert (res.excluded["reason"] == "no-template control").sum() == 6


def test_long_csv_keeps_undetermined_and_ntc(tmp_path: Path) -> None:
    p = tmp_path / "cq.csv"
    p.write_text("well,sample,target,cq,quantity\n"
                 "A1,s1,g,25.1,\nA2,s1,g,Undetermined,\nA3,NTC,g,,\nA4,std1,g,20,1000\n"
                 "A5,std2,g,23.3,100\nA6,std3,g,26.6,10\n")
    w = read_qpcr(p)
    assert len(w) == 6
    assert w["undetermined"].tolist() == [False, True, True, False, False, False]
    assert w["task"].tolist() == ["unknown", "unknown", "ntc", "standard", "standard",
                                  "standard"]
    assert w.loc[1, "flag"].startswith("undetermined")


def test_long_csv_bad_cq_names_row(tmp_path: Path) -> None:
    p = tmp_path / "cq.csv"
    p.write_text("well,sample,target,cq\nA1,s1,g,25.1\nA2,s1,g,twenty\n")
    with pytest.raises(InputError, match=r"cq.csv: row 3: Cq is neither"):
        read_qpcr(p)


def test_cfx_csv(tmp_path: Path) -> None:
    p = tmp_path / "cfx.csv"
    p.write_text(",Well,Fluor,Target,Content,Sample,Biological Set Name,Cq,Cq Mean,"
                 "Cq Std. Dev,Starting Quantity (SQ),Log Starting Quantity,SQ Mean,"
                 "SQ Std. Dev,Set Point,Well Note\n"
                 "0,A01,FAM,TNF,Unkn,LP-1,,24.51,24.5,0.01,,,,,,\n"
                 "1,A02,FAM,TNF,Std-01,,,18.2,18.2,0,20,1.3,20,0,,\n"
                 "2,A03,FAM,TNF,NTC,,,NaN,0,0,,,,,,\n")
    w = read_qpcr(p)
    assert w["well"].tolist() == ["A1", "A2", "A3"]
    assert w["task"].tolist() == ["unknown", "standard", "ntc"]
    assert w.loc[1, "quantity"] == 20 and w.loc[2, "undetermined"]


def _mutations(data: bytes, seed: int, kind: int) -> bytes:
    rng = np.random.default_rng(seed)
    b = bytearray(data)
    if kind == 0 and b:  # truncate
        return bytes(b[: int(rng.integers(0, len(b)))])
    if kind == 1 and b:  # flip bytes
        for _ in range(int(rng.integers(1, 20))):
            b[int(rng.integers(0, len(b)))] = int(rng.integers(0, 256))
        return bytes(b)
    if kind == 2:  # append junk
        return bytes(b) + rng.bytes(int(rng.integers(1, 200)))
    return rng.bytes(int(rng.integers(0, 500)))


def _xml_mutation(xml: bytes, seed: int) -> bytes:
    rng = np.random.default_rng(seed)
    text = xml.decode("utf-8")
    for old, new in (("<cq>", "<cq>x"), ("</react>", ""), ('id="', 'id="&'),
                     ("<tar id=", "<tar idx="), ("<data>", "<data><cq>-1</cq>")):
        if rng.random() < 0.3:
            text = text.replace(old, new, int(rng.integers(1, 3)))
    return text.encode()


@settings(max_examples=40, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(seed=st.integers(0, 2**31), kind=st.integers(0, 4),
       which=st.sampled_from(["stepone_std.rdml", "BioRad_qPCR_melt.rdml", "csv", "qs"]))
def test_mutated_files_raise_only_input_error(qpcr_ref: Path, tmp_path: Path, seed: int,
                                              kind: int, which: str) -> None:
    if which == "csv":
        src = b"well,sample,target,cq,quantity\nA1,s1,g,25.1,\nA2,NTC,g,Undetermined,\n"
        name = "m.csv"
    elif which == "qs":
        src = (qpcr_ref / "quantstudio" / QS7).read_bytes()
        name = "m.xlsx"
    else:
        src = (qpcr_ref / "rdml_pcruniversum" / which).read_bytes()
        name = "m.rdml"
    if kind == 4 and which.endswith(".rdml"):
        with zipfile.ZipFile(qpcr_ref / "rdml_pcruniversum" / which) as z:
            xml = z.read(z.namelist()[0])
        data = _xml_mutation(xml, seed)
        name = "m.xml"
    else:
        data = _mutations(src, seed, kind % 4)
    p = tmp_path / name
    p.write_bytes(data)
    try:
        w = read_qpcr(p)
    except InputError:
        return
    assert list(w.columns) == list(WELL_COLUMNS)


def test_unsafe_zip_member_refused(tmp_path: Path) -> None:
    p = tmp_path / "evil.rdml"
    with zipfile.ZipFile(p, "w") as z:
        z.writestr("../rdml_data.xml", "<rdml/>")
    with pytest.raises(InputError, match="unsafe path"):
        read_qpcr(p)


def test_xml_entities_refused(tmp_path: Path) -> None:
    p = tmp_path / "bomb.xml"
    p.write_text('<?xml version="1.0"?><!DOCTYPE r [<!ENTITY a "aaaa">]>'
                 '<rdml version="1.1">&a;</rdml>')
    with pytest.raises(InputError, match="refused"):
        read_qpcr(p)
