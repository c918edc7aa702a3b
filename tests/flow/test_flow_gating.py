"""Compensation (compref1), transforms (flowutils-independent checks), Gating-ML 51/51, CLI."""

from __future__ import annotations

import json
import warnings
from pathlib import Path

import numpy as np
import pytest

from preclin.cli import main
from preclin.errors import InputError
from preclin.flow import read_fcs, write_fcs
from preclin.flow.compensate import (
    Spillover,
    compensate,
    read_spillover,
    spillover_from_controls,
)
from preclin.flow.gates import (
    BooleanGate,
    Dimension,
    GatingStrategy,
    PolygonGate,
    RectangleGate,
)
from preclin.flow.gatingml import read_gatingml
from preclin.flow.stats import flow_stats, parse_stat
from preclin.flow.transforms import Asinh, Hyperlog, Linear, Log, Logicle, apply_transforms

# ------------------------------------------------------------------ compensation


def test_compref1_from_single_stain_controls(flow_ref):
    d = flow_ref / "compensation"
    exp = json.loads((d / "expected.json").read_text())
    by_channel = {ch: f for f, ch in exp["controls"].items()}
    samples = {ch: read_fcs(d / f, dtype=np.float64) for ch, f in by_channel.items()}
    unstained = samples.pop("unstained")
    sp = spillover_from_controls(samples, unstained, channels=exp["channels"])
    ref = np.array(exp["compref1"]["values"])
    assert np.abs(sp.matrix - ref).max() < 1e-12
    assert sp.channels == tuple(exp["channels"])


def test_matrix_files(flow_ref):
    d = flow_ref / "compensation"
    ref = np.array(json.loads((d / "expected.json").read_text())["compref1"]["values"])
    r = read_spillover(d / "compref1")
    np.testing.assert_array_equal(r.matrix, ref)
    fj = read_spillover(d / "compmatrix")
    assert fj.channels == ("FL1-H", "FL2-H", "FL3-H", "FL4-H")
    assert fj.matrix[0, 1] == pytest.approx(0.24) and fj.matrix[3, 3] == 1


def test_compensate_from_spill_keyword(tmp_path):
    rng = np.random.default_rng(3)
    true = rng.uniform(0, 1000, size=(2000, 2))
    S = np.array([[1.0, 0.2], [0.05, 1.0]])
    obs = np.column_stack([true @ S, rng.uniform(size=2000)]).astype(np.float64)
    p = write_fcs(tmp_path / "c.fcs", obs, ["FL1", "FL2", "FSC"],
                  metadata={"SPILLOVER": "2,FL1,FL2,1,0.2,0.05,1"})
    s = read_fcs(p, dtype=np.float64)
    c = compensate(s)
    np.testing.assert_allclose(c.events[:, :2], true, rtol=1e-5, atol=1e-3)
    np.testing.assert_array_equal(c.events[:, 2], s.events[:, 2])
    c2 = compensate(s, Spillover(("FL2", "FL1"), S[::-1, ::-1]))
    np.testing.assert_allclose(c2.events, c.events, rtol=1e-6, atol=1e-6)
    with pytest.raises(InputError, match="singular"):
        compensate(s, Spillover(("FL1", "FL2"), np.ones((2, 2))))


# ------------------------------------------------------------------ transforms


def test_closed_form_transforms_match_gatingml_definitions():
    x = np.array([-100.0, 0.0, 1.0, 100.0, 10000.0, 262144.0])
    assert Linear(1000, 100).forward(x)[1] == pytest.approx(100 / 1100)
    np.testing.assert_allclose(Log(10000, 5).forward(np.array([10000.0, 1.0])), [1.0, 0.2])
    a = Asinh(1000, 4, 1)
    want = (np.arcsinh(x * np.sinh(4 * np.log(10)) / 1000) + np.log(10)) / (5 * np.log(10))
    np.testing.assert_allclose(a.forward(x), want, rtol=1e-14)
    for t in (Linear(1000, 10), Log(1000, 4), a):
        xs = np.array([1.0, 50.0, 900.0])
        np.testing.assert_allclose(t.inverse(t.forward(xs)), xs, rtol=1e-12)


@pytest.mark.parametrize("tr", [Logicle(262144, 0.5, 4.5, 0), Logicle(10000, 1, 4, 1),
                                Hyperlog(262144, 0.5, 4.5, 0), Hyperlog(1000, 1, 4, 1)])
def test_implicit_transforms_roundtrip_and_float32(tr):
    rng = np.random.default_rng(5)
    x = np.concatenate([rng.normal(0, 200, 5000), rng.lognormal(6, 2.5, 5000),
                        [0.0, 1e-9, -1e-9, 1e7, -1e5]])
    y = tr.forward(x)
    np.testing.assert_allclose(tr.inverse(y), x, rtol=1e-9, atol=1e-9 * tr.T)
    assert np.all(np.diff(y[np.argsort(x)]) >= -1e-15)  # monotone
    assert tr.forward(np.array([float(tr.T)]))[0] == pytest.approx(1.0, abs=1e-12)
    y32 = tr.forward(x.astype(np.float32))
    assert y32.dtype == np.float32
    assert np.abs(y32 - y).max() < 5e-7
    ev = np.column_stack([x, x]).astype(np.float32)
    out = apply_transforms(ev, [(1, tr)])
    np.testing.assert_array_equal(out[:, 0], ev[:, 0])
    np.testing.assert_allclose(out[:, 1], y, atol=5e-7)


def test_logicle_against_flowutils_when_installed():
    fu = pytest.importorskip("flowutils.transforms", reason="flowutils not installed "
                             "(optional cross-check)")
    x = np.random.default_rng(1).normal(0, 3000, size=(20000, 1)) ** 2 / 100 - 500
    for t, w, m, a in [(262144, 0.5, 4.5, 0), (10000, 1.0, 4.0, 1.0)]:
        ours = Logicle(t, w, m, a).forward(x[:, 0])
        ref = fu.logicle(x.copy(), None, t=t, m=m, w=w, a=a)[:, 0]
        assert np.abs(ours - ref).max() < 1e-12
        ours_h = Hyperlog(t, w, m, a).forward(x[:, 0])
        ref_h = fu.hyperlog(x.copy(), None, t=t, m=m, w=w, a=a)[:, 0]
        assert np.abs(ours_h - ref_h).max() < 1e-12


def test_invalid_transform_parameters():
    with pytest.raises(InputError, match="logicle"):
        Logicle(262144, 3, 4.5, 0)
    with pytest.raises(InputError):
        Log(-1, 4)


# ------------------------------------------------------------------ Gating-ML 51/51


def _gml_params(flow_ref_dir: Path | None) -> list[tuple[str, str, str]]:
    if flow_ref_dir is None:
        return []
    exp = json.loads((flow_ref_dir / "gatingml" / "expected.json").read_text())["gates"]
    return [(name, e["gate_id"], f) for name, e in sorted(exp.items())
            for f in e["defined_in"]]


def _flow_ref_or_none() -> Path | None:
    """Same lookup as tests/conftest.py (collection-time, for parametrisation)."""
    import os

    env = os.environ.get("PRECLIN_SHARED")
    root = Path(__file__).resolve().parents[2]
    for c in ([Path(env) / "reference"] if env else []) + [root.parent / "shared" /
                                                           "reference"]:
        if (c / "flow").is_dir():
            return c / "flow"
    return None


GML = _gml_params(_flow_ref_or_none()) or [
    pytest.param("-", "-", "-", marks=pytest.mark.skip(
        reason="../shared/reference/flow is absent — Gating-ML truth vectors skipped"))]


@pytest.fixture(scope="module")
def data1(flow_ref):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return read_fcs(flow_ref / "gatingml" / "data1.fcs")


def test_all_51_truth_vectors_are_covered(flow_ref):
    exp = json.loads((flow_ref / "gatingml" / "expected.json").read_text())["gates"]
    assert len(exp) == 51 and len({p[0] for p in GML}) == 51


@pytest.mark.parametrize(("truth", "gate_id", "xml"), GML,
                         ids=[f"{p[0]}-{p[2][4:-4]}" if isinstance(p, tuple) else "absent"
                              for p in GML])
def test_gatingml_truth_event_for_event(flow_ref, data1, truth, gate_id, xml):
    d = flow_ref / "gatingml"
    exp = json.loads((d / "expected.json").read_text())["gates"][truth]
    want = np.loadtxt(d / exp["truth_file"], dtype=np.int8).astype(bool)
    strategy = read_gatingml(d / "gml" / xml)
    got = strategy.evaluate(data1, [gate_id])[gate_id]
    assert int((got != want).sum()) == 0
    assert int(got.sum()) == exp["count"]


def test_gatingml_bad_documents(tmp_path):
    p = tmp_path / "x.xml"
    p.write_text("<not-xml")
    with pytest.raises(InputError, match="not valid XML"):
        read_gatingml(p)
    p.write_text('<?xml version="1.0"?><!DOCTYPE x [<!ENTITY a "b">]><x>&a;</x>')
    with pytest.raises(InputError):
        read_gatingml(p)
    p.write_text("<root/>")
    with pytest.raises(InputError, match="not a Gating-ML"):
        read_gatingml(p)


# ------------------------------------------------------------------ hierarchy, stats, CLI


def test_hierarchy_paths_and_boolean(tmp_path):
    ev = np.array([[1, 1], [5, 7], [5, 1], [9, 9]], dtype=np.float32)  # (9, 9) on an edge
    p = write_fcs(tmp_path / "h.fcs", ev, ["A", "B"])
    s = read_fcs(p)
    g = GatingStrategy()
    g.add(RectangleGate("Cells", (Dimension("A"),), (2.0,), (None,)))
    g.add(PolygonGate("Diag", (Dimension("A"), Dimension("B")),
                      ((0, 0), (10, 0), (10, 10))), "Cells")
    g.add(BooleanGate("NotDiag", "not", (("Diag", False),)), "Cells")
    m = g.evaluate(s)
    assert g.path("Diag") == "/Cells/Diag"
    assert m["Cells"].tolist() == [False, True, True, True]
    assert m["Diag"].tolist() == [False, False, True, True]  # left-hand edge is inside
    assert m["NotDiag"].tolist() == [False, True, False, False]


def test_parse_stat():
    assert parse_stat("median:CD184") == ("median", "CD184")
    with pytest.raises(InputError, match="did you mean"):
        parse_stat("medain:CD3")


def test_flow_stats_table_and_cli(flow_ref, tmp_path):
    d = flow_ref / "gatingml"
    xml = d / "gml" / "gml_parent_quadrant_rect_gate.xml"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        tab = flow_stats([d / "data1.fcs"], xml, stats=["median:FL2-H"])
        out = tmp_path / "stats.csv"
        rc = main(["flow", "stats", str(d / "data1.fcs"), "--gates", str(xml),
                   "--stat", "median:FL2-H", "--out", str(out)])
    assert rc == 0 and out.is_file()
    assert list(tab.columns[:6]) == ["file", "population", "count", "parent_count",
                                     "percent_parent", "percent_total"]
    row = tab.set_index("population").loc["/FL2P-FL4P/ParRectangle1"]
    assert row["count"] == 3 and row["parent_count"] == 620
    assert row["percent_parent"] == pytest.approx(100 * 3 / 620)
    assert "median_FL2-H" in tab.columns
    rc = main(["flow", "stats", str(flow_ref / "vendor" / "fcsparser_corrupted.fcs"),
               "--gates", str(xml), "--out", str(out)])
    assert rc == 2
