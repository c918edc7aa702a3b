"""FlowJo biex, FlowJo workspaces, FACSDiva XML, TOML templates, parallel flow stats."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest

from preclin.cli import main
from preclin.errors import InputError
from preclin.flow import read_fcs, write_fcs
from preclin.flow.diva import read_diva
from preclin.flow.flowjo import match_samples, read_workspace
from preclin.flow.stats import flow_stats
from preclin.flow.template import read_template
from preclin.flow.transforms import FlowJoBiex

LUT = "tr_biex_l256_w-7.943282_n1.000000_m4.418540_r262144.000029.csv"


def test_flowjo_biex_reproduces_the_exported_lut(flow_ref):
    lut = np.loadtxt(flow_ref / "flowjo_biex_lut" / LUT, delimiter=",", skiprows=1)
    tr = FlowJoBiex(positive=4.41854, negative=1.0, width=-7.943282,
                    max_range=262144.000029)
    i, data = lut[:, 0], lut[:, 1]
    got = tr.forward(data) * 4096
    err = np.mean(np.abs(got[1:] - i[1:]) / i[1:])
    assert err < 1e-4 / 100 * 10  # measured 3.8e-5 %; goal < 0.01 %
    assert err * 100 < 0.01
    # the table itself: FlowJo exported 6 significant digits
    assert np.allclose(tr.table[:4096], data, rtol=1e-5, atol=1e-3)
    # inverse and monotonicity, also beyond the table
    x = np.array([-1e6, -500.0, 0.0, 10.0, 1e3, 2.6e5, 1e6])
    y = tr.forward(x)
    assert np.all(np.diff(y) > 0)
    assert np.allclose(tr.inverse(y), x, rtol=1e-9, atol=1e-6)
    with pytest.raises(InputError):
        FlowJoBiex(width=10.0)


@pytest.fixture(scope="module")
def diamond(flow_ref):
    return read_fcs(flow_ref / "flowjo_diamond" / "test_data_diamond_01.fcs")


def test_flowjo_diamond_counts_exact(flow_ref, diamond):
    d = flow_ref / "flowjo_diamond"
    expected = json.loads((d / "expected.json").read_text())["workspaces"]
    assert len(expected) == 4
    for wsp, info in expected.items():
        ws = read_workspace(d / wsp)
        sample = ws.sample("test_data_diamond_01.fcs")
        assert sample.groups == ("All Samples",)
        masks = sample.strategy.evaluate(diamond)
        got = {sample.strategy.path(g).lstrip("/"): int(m.sum()) for g, m in masks.items()}
        assert got == info["counts"], wsp
        # the counts FlowJo stored are read too
        assert {k.lstrip("/"): v for k, v in sample.counts.items() if k != "/"} == got


def test_flowjo_workspace_matching_and_cli(flow_ref, tmp_path):
    d = flow_ref / "flowjo_diamond"
    renamed = tmp_path / "renamed.fcs"
    shutil.copy(d / "test_data_diamond_01.fcs", renamed)
    other = tmp_path / "other.fcs"
    write_fcs(other, np.zeros((3, 2)), ["channel_A", "channel_B"])
    ws = read_workspace(d / "test_data_diamond_biex_rect.wsp")
    # not given: skipped with a note; an unrelated file is reported
    pairs, notes = match_samples(ws, [other])
    assert pairs == [] and any("skipped" in n for n in notes)
    assert any("other.fcs" in n for n in notes)
    # matched by file name
    pairs, notes = match_samples(ws, [d / "test_data_diamond_01.fcs"])
    assert len(pairs) == 1 and notes == []
    out = tmp_path / "wsp.csv"
    code = main(["flow", "stats", str(d / "test_data_diamond_01.fcs"), str(other),
                 "--gates", str(d / "simple_diamond_example_quad_gate.wsp"),
                 "--out", str(out), "--stat", "median:channel_A"])
    assert code == 0
    import pandas as pd

    t = pd.read_csv(out)
    assert t["count"].tolist() == [200000, 49671, 50596, 50330, 49403]
    assert t["population"].iloc[1] == "/Q1: channel_A- , channel_B+"
    assert "median_channel_A" in t


def _wsp_with_comp(tmp_path: Path) -> tuple[Path, Path]:
    """A FlowJo-style workspace with compensation, a '/'-rewritten channel, a polygon,
    an ellipse, an exclusion gate and an OrNode; and its FCS file (matched by $FIL)."""
    rng = np.random.default_rng(3)
    n = 4000
    true = rng.lognormal(6, 1.2, size=(n, 2))
    spill = np.array([[1.0, 0.2], [0.05, 1.0]])
    obs = np.column_stack([true @ spill, rng.uniform(0, 1000, n)])
    fcs = tmp_path / "acquired_name.fcs"
    write_fcs(fcs, obs, ["FITC-A", "PE/Cy5-A", "FSC-A"],
              metadata={"FIL": "tube_007.fcs",
                        "SPILL": "2,FITC-A,PE/Cy5-A,1,0.5,0.5,1"})  # not what FlowJo applies
    spill_xml = (
        '<transforms:spilloverMatrix prefix="Comp-" suffix="" transforms:id="M1">'
        '<data-type:parameters><data-type:parameter data-type:name="FITC-A"/>'
        '<data-type:parameter data-type:name="PE_Cy5-A"/></data-type:parameters>'
        '<transforms:spillover data-type:parameter="FITC-A">'
        '<transforms:coefficient data-type:parameter="FITC-A" transforms:value="1"/>'
        '<transforms:coefficient data-type:parameter="PE_Cy5-A" transforms:value="0.2"/>'
        '</transforms:spillover><transforms:spillover data-type:parameter="PE_Cy5-A">'
        '<transforms:coefficient data-type:parameter="FITC-A" transforms:value="0.05"/>'
        '<transforms:coefficient data-type:parameter="PE_Cy5-A" transforms:value="1"/>'
        '</transforms:spillover></transforms:spilloverMatrix>')

    def dim(name: str, lo: str = "", hi: str = "") -> str:
        a = (f' gating:min="{lo}"' if lo else "") + (f' gating:max="{hi}"' if hi else "")
        return (f'<gating:dimension{a}><data-type:fcs-dimension data-type:name="{name}"/>'
                '</gating:dimension>')

    def verts(pts: list[tuple[float, float]]) -> str:
        return "".join(f'<gating:vertex><gating:coordinate data-type:value="{x}"/>'
                       f'<gating:coordinate data-type:value="{y}"/></gating:vertex>'
                       for x, y in pts)

    poly = [(200, 200), (5000, 200), (5000, 5000), (200, 5000)]
    ell = ('<gating:EllipsoidGate eventsInside="1"><gating:dimension>'
           '<data-type:fcs-dimension data-type:name="Comp-FITC-A"/></gating:dimension>'
           '<gating:dimension><data-type:fcs-dimension data-type:name="Comp-PE_Cy5-A"/>'
           '</gating:dimension><gating:foci>' + verts([(300, 400), (900, 400)])
           + '</gating:foci><gating:edge>'
           + verts([(100, 400), (1100, 400), (600, 100), (600, 700)])
           + '</gating:edge></gating:EllipsoidGate>')
    xml = f'''<?xml version="1.0" encoding="UTF-8"?>
<Workspace version="20.0" flowJoVersion="10.8.1"
 xmlns:gating="http://www.isac-net.org/std/Gating-ML/v2.0/gating"
 xmlns:transforms="http://www.isac-net.org/std/Gating-ML/v2.0/transformations"
 xmlns:data-type="http://www.isac-net.org/std/Gating-ML/v2.0/datatypes">
<Groups><GroupNode name="All Samples"><Group name="All Samples"><SampleRefs>
<SampleRef sampleID="1"/><SampleRef sampleID="2"/></SampleRefs></Group></GroupNode>
<GroupNode name="Treated"><Group name="Treated"><SampleRefs><SampleRef sampleID="1"/>
</SampleRefs></Group></GroupNode></Groups>
<SampleList>
<Sample><DataSet uri="file:/C:/lab%20data/tube_007.fcs" sampleID="1"/>
{spill_xml}
<Transformations>
<transforms:logicle transforms:T="262144" transforms:W="0.5" transforms:M="4.5"
 transforms:A="0" transforms:length="256"><data-type:parameter data-type:name="Comp-FITC-A"/>
</transforms:logicle>
<transforms:biex transforms:length="256" transforms:maxRange="262144" transforms:neg="0"
 transforms:width="-10" transforms:pos="4.42"><data-type:parameter
 data-type:name="Comp-PE_Cy5-A"/></transforms:biex>
</Transformations>
<Keywords><Keyword name="$FIL" value="tube_007.fcs"/></Keywords>
<SampleNode name="renamed in FlowJo" count="{n}" sampleID="1"><Subpopulations>
<Population name="Cells" count="-1"><Gate gating:id="G1"><gating:RectangleGate>
{dim("FSC-A", "100", "900")}</gating:RectangleGate></Gate><Subpopulations>
<Population name="Poly" count="-1"><Gate gating:id="G2"><gating:PolygonGate>
{dim("Comp-FITC-A")}{dim("Comp-PE_Cy5-A")}{verts(poly)}</gating:PolygonGate></Gate>
</Population>
<Population name="Ell" count="-1"><Gate gating:id="G3">{ell}</Gate></Population>
<Population name="NotBright" count="-1"><Gate gating:id="G4">
<gating:RectangleGate eventsInside="0">{dim("FITC-A", "2000")}</gating:RectangleGate></Gate>
</Population>
<OrNode name="Poly or Ell" count="-1"><Dependents><Dependent name="../Poly"/>
<Dependent name="../Ell"/></Dependents></OrNode>
</Subpopulations></Population></Subpopulations></SampleNode></Sample>
<Sample><DataSet uri="file:/C:/lab%20data/missing.fcs" sampleID="2"/>
<SampleNode name="missing.fcs" count="10" sampleID="2"/></Sample>
</SampleList></Workspace>'''
    wsp = tmp_path / "lab.wsp"
    wsp.write_text(xml)
    return wsp, fcs


def test_real_lab_workspace_features(tmp_path):
    from preclin.flow.compensate import Spillover, compensate
    from preclin.flow.gates import points_in_polygon

    wsp, fcs = _wsp_with_comp(tmp_path)
    ws = read_workspace(wsp)
    assert [s.name for s in ws.in_group("Treated")] == ["renamed in FlowJo"]
    pairs, notes = match_samples(ws, [fcs])
    assert [p for _, p in pairs] == [fcs]  # matched through $FIL
    assert notes == ["sample 'missing.fcs' skipped: its FCS file was not given"]
    s = read_fcs(fcs)
    sample = pairs[0][0]
    m = sample.strategy.evaluate(s)
    paths = {sample.strategy.path(g): int(v.sum()) for g, v in m.items()}
    # independent computation: the workspace's matrix, not the file's $SPILL
    sp = Spillover(("FITC-A", "PE/Cy5-A"), np.array([[1, 0.2], [0.05, 1.0]]))
    c = compensate(s, sp).events.astype(np.float64)
    raw = s.events.astype(np.float64)
    cells = (raw[:, 2] >= 100) & (raw[:, 2] < 900)
    lg = sample.strategy.gates["/Cells/Poly"].dims[0].transform
    bx = sample.strategy.gates["/Cells/Poly"].dims[1].transform
    assert type(bx).__name__ == "FlowJoBiex"
    pv = np.array([[lg.forward(np.array([x]))[0], bx.forward(np.array([y]))[0]]
                   for x, y in [(200, 200), (5000, 200), (5000, 5000), (200, 5000)]])
    poly = cells & points_in_polygon(lg.forward(c[:, 0]), bx.forward(c[:, 1]), pv)
    assert paths["/Cells/Poly"] == int(poly.sum()) > 0
    assert paths["/Cells/NotBright"] == int((cells & ~(raw[:, 0] >= 2000)).sum())
    assert paths["/Cells/Poly or Ell"] >= max(paths["/Cells/Poly"], paths["/Cells/Ell"])
    assert 0 < paths["/Cells/Ell"] < paths["/Cells"]
    # the whole run through flow_stats, sequential == parallel, and --comp none differs
    seq = flow_stats([fcs], wsp, stats=["median:FITC-A"])
    par = flow_stats([fcs, fcs.with_name("nothere.fcs")], wsp, stats=["median:FITC-A"],
                     jobs=2)
    assert seq.equals(par)
    none = flow_stats([fcs], wsp, comp="none")
    assert not none["count"].equals(seq["count"])


def test_bad_workspaces(tmp_path):
    bad = tmp_path / "bad.wsp"
    bad.write_text("<Workspace><SampleList><Sample>")
    with pytest.raises(InputError, match="not valid XML"):
        read_workspace(bad)
    bad.write_text("<NotAWorkspace/>")
    with pytest.raises(InputError, match="not a FlowJo workspace"):
        read_workspace(bad)
    bomb = tmp_path / "bomb.wsp"
    bomb.write_text('<?xml version="1.0"?><!DOCTYPE x [<!ENTITY a "aaaa">]>'
                    "<Workspace>&a;</Workspace>")
    with pytest.raises(InputError):
        read_workspace(bomb)


def test_diva_within_tolerance(flow_ref):
    d = flow_ref / "diva"
    exp = json.loads((d / "expected.json").read_text())
    ws = read_diva(d / "PE_2.xml")
    assert len(ws.samples) == 13
    tube = ws.sample("124500.fcs")
    masks = tube.strategy.evaluate(read_fcs(d / "124500.fcs"))
    got = {"/": 19090} | {tube.strategy.path(g): int(m.sum()) for g, m in masks.items()}
    ref = {"/" + "/".join(g["path"].split("\\")[1:]): g["count"] for g in exp["gates"]}
    assert set(got) == set(ref)
    dev = sum(abs(got[k] - ref[k]) for k in ref) / sum(ref.values())
    assert dev < 0.0018  # measured 0.159 %
    notes: list[str] = []
    t = flow_stats([d / "124500.fcs"], d / "PE_2.xml", notes=notes)
    assert len(t) == 6 and sum("skipped" in n for n in notes) >= 12


TEMPLATE = """
[compensation]
source = "auto"

[transforms]
CD33 = { kind = "logicle", T = 262144, W = 0.5, M = 4.5, A = 0 }

[[gate]]
name = "Cells"
[gate.polygon]
x = "FSC-A"
y = "SSC-A"
vertices = [[100, 100], [900, 100], [900, 900], [100, 900]]

[[gate]]
name = "CD33+"
parent = "Cells"
range = { channel = "CD33", min = 1000 }

[[gate]]
name = "apoptosis"
parent = "CD33+"
[gate.quadrant]
x = "Annexin V"
y = "7-AAD"
at = [500, 800]
names = ["necrotic", "late", "early", "live"]

[[gate]]
name = "dying"
parent = "CD33+"
boolean = { op = "or", gates = ["late", "early"] }
"""


def test_toml_template(tmp_path):
    rng = np.random.default_rng(1)
    ev = rng.uniform(0, 2000, size=(3000, 5))
    fcs = tmp_path / "a.fcs"
    write_fcs(fcs, ev, ["FSC-A", "SSC-A", "PE-A", "FITC-A", "PerCP-A"],
              markers=["", "", "CD33", "Annexin V", "7-AAD"])
    tpl = tmp_path / "gates.toml"
    tpl.write_text(TEMPLATE)
    st = read_template(tpl)
    m = st.evaluate(read_fcs(fcs))
    got = {st.path(g): int(v.sum()) for g, v in m.items()}
    cells = ((ev[:, 0] > 100) & (ev[:, 0] < 900) & (ev[:, 1] > 100) & (ev[:, 1] < 900))
    cd33 = cells & (ev[:, 2] >= 1000)
    ann, aad = ev[:, 3], ev[:, 4]
    assert got["/Cells"] == int(cells.sum())
    assert got["/Cells/CD33+"] == int(cd33.sum())
    assert got["/Cells/CD33+/live"] == int((cd33 & (ann < 500) & (aad < 800)).sum())
    assert got["/Cells/CD33+/late"] == int((cd33 & (ann >= 500) & (aad >= 800)).sum())
    assert got["/Cells/CD33+/dying"] == got["/Cells/CD33+/late"] + got["/Cells/CD33+/early"]
    q = sum(got[f"/Cells/CD33+/{k}"] for k in ("necrotic", "late", "early", "live"))
    assert q == got["/Cells/CD33+"]
    out = tmp_path / "t.csv"
    assert main(["flow", "stats", str(fcs), str(fcs), "--gates", str(tpl), "--out", str(out),
                 "--jobs", "2"]) == 0


@pytest.mark.parametrize("text, problem", [
    ("[[gate]]\nname = 'A'\nrange = { chanel = 'CD33' }", "did you mean 'channel'"),
    ("[[gate]]\nname = 'A'\nparent = 'B'\nrange = { channel = 'x' }", "parent 'B'"),
    ("[[gate]]\nname = 'A'", "exactly one shape"),
    ("[gates]\n", "did you mean 'gate'"),
    ("[[gate]\n", "not valid TOML"),
])
def test_toml_template_errors(tmp_path, text, problem):
    tpl = tmp_path / "g.toml"
    tpl.write_text(text)
    with pytest.raises(InputError, match=problem) as exc:
        read_template(tpl)
    assert exc.value.file is not None


def test_unknown_gate_file(tmp_path):
    f = tmp_path / "x.gates"
    f.write_text("")
    with pytest.raises(InputError, match="unknown gate file type"):
        flow_stats([f], f)
