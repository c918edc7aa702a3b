"""Applied Biosystems EDS archives: plate setup, raw traces, no invented Cq."""

from __future__ import annotations

import zipfile
from pathlib import Path

import pytest

from preclin.errors import InputError
from preclin.qpcr import read_qpcr
from preclin.qpcr.eds import NO_RESULTS_FLAG, read_eds_traces
from preclin.qpcr.io import detect_format


@pytest.fixture(scope="module")
def eds(qpcr_ref: Path) -> Path:
    return qpcr_ref / "rdml_pcruniversum" / "sce.eds"


def test_layout_recovered_without_inventing_cq(eds: Path) -> None:
    assert detect_format(eds) == "eds"
    w = read_qpcr(eds)
    assert len(w) == 24 and w["well"].tolist()[:3] == ["A1", "A2", "A3"]
    assert (w["target"] == "RNase P TAMRA").all()
    assert w["task"].value_counts().to_dict() == {"standard": 15, "unknown": 6, "ntc": 3}
    std = w[w["task"] == "standard"]
    assert sorted(std["quantity"].unique()) == [625.0, 1250.0, 2500.0, 5000.0, 10000.0]
    assert (std.groupby("quantity").size() == 3).all()
    assert set(w.loc[w["task"] == "unknown", "sample"]) == {"pop1", "pop2"}
    assert w["cq"].isna().all() and w["undetermined"].all()
    assert w["flag"].str.contains(NO_RESULTS_FLAG, regex=False).all()


def test_traces(eds: Path) -> None:
    t = read_eds_traces(eds)
    assert len(t) == 24 * 40 * 3 and set(t["dye"]) == {"FAM", "ROX", "TAMRA"}
    assert t["cycle"].min() == 0 and t["cycle"].max() == 39
    first = t.iloc[0]
    assert (first["well"], first["cycle"], first["dye"]) == ("A1", 0, "FAM")
    assert first["signal"] == pytest.approx(842270.7)


def test_unsafe_member_and_missing_setup(tmp_path: Path) -> None:
    bad = tmp_path / "bad.eds"
    with zipfile.ZipFile(bad, "w") as zf:
        zf.writestr("apldbio/sds/plate_setup.xml", "<Plate/>")
        zf.writestr("../evil.txt", "x")
    with pytest.raises(InputError, match="unsafe path"):
        read_qpcr(bad, format="eds")
    empty = tmp_path / "empty.eds"
    with zipfile.ZipFile(empty, "w") as zf:
        zf.writestr("apldbio/sds/plate_setup.xml", "<Plate><Columns>12</Columns></Plate>")
    with pytest.raises(InputError, match="no well has a detector task"):
        read_qpcr(empty)
    with pytest.raises(InputError, match="no raw traces"):
        read_eds_traces(empty)


def test_rdml_raw_curves(qpcr_ref: Path) -> None:
    from preclin.qpcr.rdml import read_rdml_curves

    c = read_rdml_curves(qpcr_ref / "rdml_tools" / "linregpcr.rdml")
    assert len(c) == 16 * 45 and c.groupby("well").size().eq(45).all()
    a1 = c[c["well"] == "1"]
    assert a1["sample"].iloc[0] == "03" and a1["target"].iloc[0] == "GAPDH"
    assert a1["fluor"].iloc[:2].tolist() == [0.30, 0.31]
