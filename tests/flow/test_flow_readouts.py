"""Bench readouts on simulated AML FCS files (seeded), through a TOML template."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from preclin.data.simulate_flow import simulate_aml_fcs
from preclin.errors import InputError
from preclin.flow.readouts import (
    add_metadata,
    apoptosis,
    chimerism,
    compare_readout,
    composition,
    mfi,
)
from preclin.flow.stats import flow_stats

TEMPLATE = """
[compensation]
source = "none"

[[gate]]
name = "Cells"
rectangle = { x = "FSC-A", y = "SSC-A", xmin = 30000, ymin = 20000 }

[[gate]]
name = "CD45+"
parent = "Cells"
range = { channel = "CD45", min = 1000 }

[[gate]]
name = "CD33+"
parent = "CD45+"
range = { channel = "CD33", min = 1000 }

[[gate]]
name = "CD33-"
parent = "CD45+"
range = { channel = "CD33", max = 1000 }

[[gate]]
name = "q"
parent = "CD33+"
[gate.quadrant]
x = "Annexin V"
y = "7-AAD"
at = [1000, 1000]
names = ["necrotic", "late", "early", "live"]
"""


@pytest.fixture(scope="module")
def table(tmp_path_factory):
    d = tmp_path_factory.mktemp("aml")
    design = [("ctl", 0.08, 2000.0), ("ctl", 0.08, 2000.0), ("ctl", 0.08, 2000.0),
              ("arac", 0.45, 4000.0), ("arac", 0.45, 4000.0), ("arac", 0.45, 4000.0)]
    files, meta = [], []
    for i, (grp, apo, cx) in enumerate(design):
        f = simulate_aml_fcs(d / f"s{i}.fcs", seed=i, apoptotic=apo, cxcr4=cx)
        files.append(f)
        meta.append({"file": str(f), "treatment": grp, "replicate": i % 3 + 1})
    tpl = d / "gates.toml"
    tpl.write_text(TEMPLATE)
    t = flow_stats(files, tpl, stats=["median:CD184"])
    return t, pd.DataFrame(meta)


def test_apoptosis_quadrants(table):
    t, meta = table
    q = "/Cells/CD45+/CD33+/"
    a = apoptosis(t, live=q + "live", early=q + "early", late=q + "late",
                  necrotic=q + "necrotic")
    assert list(a.columns) == ["file", "readout", "population", "statistic", "value"]
    wide = a.pivot(index="file", columns="statistic", values="value")
    parts = ["percent_live", "percent_early_apoptotic", "percent_late_apoptotic",
             "percent_necrotic"]
    assert np.allclose(wide[parts].sum(axis=1), 100.0)
    am = add_metadata(a, meta)
    assert list(am.columns[:3]) == ["file", "treatment", "replicate"]
    by = am[am.statistic == "percent_apoptotic"].groupby("treatment")["value"].mean()
    assert abs(by["ctl"] - 8) < 2.5 and abs(by["arac"] - 45) < 4
    cmp = compare_readout(am, statistic="percent_apoptotic", group="treatment")
    assert len(cmp) == 1 and float(cmp["p_value"].iloc[0]) < 0.001


def test_mfi_raw_and_relative(table):
    t, meta = table
    ctl = str(meta.file[0])
    m = mfi(t, population="/Cells/CD45+/CD33+", marker="CD184", control=ctl)
    raw = m[m.statistic == "median_CD184"].set_index("file")["value"]
    rel = m[m.statistic == "median_CD184_ratio"].set_index("file")["value"]
    assert rel[ctl] == 1.0
    assert np.allclose(rel, raw / raw[ctl])
    arac = meta.file[meta.treatment == "arac"]
    assert all(1.7 < rel[f] < 2.3 for f in arac)
    d = mfi(t, population="/Cells/CD45+/CD33+", marker="CD184", control=ctl,
            relative="difference")
    assert (d[d.statistic.str.endswith("difference")]["value"].iloc[0]) == 0.0
    with pytest.raises(InputError, match="did you mean"):
        mfi(t, population="/Cells/CD45+/CD33", marker="CD184")


def test_chimerism_and_composition(table):
    t, _ = table
    c = chimerism(t, human="/Cells/CD45+/CD33+", mouse="/Cells/CD45+/CD33-")
    comp = composition(t, populations=["/Cells/CD45+/CD33+", "/Cells/CD45+/CD33-"])
    w = comp.pivot(index="file", columns="population", values="value")
    assert np.allclose(w.sum(axis=1), 100.0)
    assert np.allclose(c.set_index("file")["value"], w["/Cells/CD45+/CD33+"])
    assert (c["value"].between(75, 85)).all()


def test_parallel_and_dask_identical(table, tmp_path):
    files = [simulate_aml_fcs(tmp_path / f"p{i}.fcs", seed=10 + i) for i in range(3)]
    tpl = tmp_path / "g.toml"
    tpl.write_text(TEMPLATE)
    one = flow_stats(files, tpl, stats=["median:CD184", "rcv:CD33"])
    two = flow_stats(files, tpl, stats=["median:CD184", "rcv:CD33"], jobs=2)
    pd.testing.assert_frame_equal(one, two)
    pytest.importorskip("dask")
    three = flow_stats(files, tpl, stats=["median:CD184", "rcv:CD33"], engine="dask")
    pd.testing.assert_frame_equal(one, three)
    # the simulator is seeded: same seed, same bytes
    a = simulate_aml_fcs(tmp_path / "x.fcs", seed=5).read_bytes()
    b = simulate_aml_fcs(tmp_path / "y.fcs", seed=5).read_bytes()
    assert a.replace(b"x.fcs", b"y.fcs") == b
