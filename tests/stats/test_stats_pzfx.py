"""Prism .pzfx export: the files parse as XML and hold the right values."""

from __future__ import annotations

from pathlib import Path

import defusedxml.ElementTree as DET
import pandas as pd
import pytest

from preclin.cli import main
from preclin.errors import InputError
from preclin.stats.pzfx import (
    PRISM_XML_VERSION,
    column_table,
    grouped_table,
    pzfx_bytes,
    write_pzfx,
)

REF = Path(__file__).resolve().parents[1] / "data" / "stats_reference"


def _values(sub) -> list[float | None]:
    return [float(d.text) if d.text is not None else None for d in sub.findall("d")]


def _tables(path: Path) -> list:
    root = DET.parse(path).getroot()
    assert root.tag == "GraphPadPrismFile"
    assert root.get("PrismXMLVersion") == PRISM_XML_VERSION
    refs = [r.get("ID") for r in root.find("TableSequence").findall("Ref")]
    tables = root.findall("Table")
    assert refs == [t.get("ID") for t in tables]
    return tables


def test_column_table(tmp_path) -> None:
    d = pd.read_csv(REF / "oneway.csv")
    path = write_pzfx(column_table(d, value="volume", group="arm"), tmp_path / "a.pzfx")
    (t,) = _tables(path)
    assert t.get("TableType") == "OneWay" and t.get("YFormat") == "replicates"
    assert t.findtext("Title") == "volume"
    cols = t.findall("YColumn")
    assert [c.findtext("Title") for c in cols] == list(dict.fromkeys(d["arm"]))
    longest = d["arm"].value_counts().max()
    for c in cols:
        assert c.get("Subcolumns") == "1"
        (sub,) = c.findall("Subcolumn")
        vals = _values(sub)
        want = d.loc[d["arm"] == c.findtext("Title"), "volume"].astype(float).tolist()
        assert len(vals) == longest
        assert vals[:len(want)] == want and all(v is None for v in vals[len(want):])


def test_grouped_table_with_replicates(tmp_path) -> None:
    d = pd.DataFrame({
        "treatment": ["veh", "veh", "drug", "drug", "veh", "drug", "drug"],
        "condition": ["alone", "stroma", "alone", "stroma", "alone", "alone", "stroma"],
        "donor": ["D1", "D1", "D1", "D1", "D2", "D2", "D2"],
        "viab": [98.5, 99.25, 41.125, 70.0, 101.0, 38.5, 66.75],
    })
    table = grouped_table(d, value="viab", row="treatment", group="condition",
                          replicate="donor", title="Viability (%)")
    path = write_pzfx({"viability": table}, tmp_path / "g.pzfx", notes="a < b & c")
    (t,) = _tables(path)
    assert t.get("TableType") == "TwoWay" and t.get("Replicates") == "2"
    assert t.findtext("Title") == "viability"
    rows = [x.text for x in t.find("RowTitlesColumn").find("Subcolumn").findall("d")]
    assert rows == ["veh", "drug"]
    cols = {c.findtext("Title"): [_values(s) for s in c.findall("Subcolumn")]
            for c in t.findall("YColumn")}
    # subcolumn = donor (D1, D2); row = treatment (veh, drug)
    assert cols["alone"] == [[98.5, 41.125], [101.0, 38.5]]
    assert cols["stroma"] == [[99.25, 70.0], [None, 66.75]]
    root = DET.parse(path).getroot()
    assert root.find("Info").findtext("Notes") == "a < b & c"
    assert pzfx_bytes([table]) == pzfx_bytes([table])  # no date: deterministic


def test_values_keep_full_precision(tmp_path) -> None:
    d = pd.DataFrame({"g": ["a", "a"], "v": [0.1 + 0.2, 2.6826587145435297]})
    (t,) = _tables(write_pzfx([column_table(d, value="v", group="g")], tmp_path / "p.pzfx"))
    assert _values(t.find("YColumn").find("Subcolumn")) == d["v"].tolist()


def test_errors() -> None:
    d = pd.DataFrame({"g": ["a", "b"], "v": ["1", "x"]})
    with pytest.raises(InputError, match="row 3"):
        column_table(d, value="v", group="g")
    with pytest.raises(InputError, match="not in the table"):
        column_table(d, value="w", group="g")
    with pytest.raises(InputError, match="no table"):
        pzfx_bytes([])


def test_cli_export(tmp_path, capsys) -> None:
    out = tmp_path / "o.pzfx"
    assert main(["stats", "export", str(REF / "oneway.csv"), "--value", "volume", "--group",
                 "arm", "--out", str(out)]) == 0
    (t,) = _tables(out)
    assert len(t.findall("YColumn")) == 4
    bad = tmp_path / "bad.csv"
    bad.write_text("arm,volume\na,1\nb,oops\n", encoding="utf-8")
    capsys.readouterr()
    assert main(["stats", "export", str(bad), "--value", "volume", "--group", "arm",
                 "--out", str(out)]) == 2
    err = capsys.readouterr().err
    assert "bad.csv" in err and "row 3" in err
