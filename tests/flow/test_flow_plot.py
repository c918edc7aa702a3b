"""Flow figures: gates drawn in their display space, overlay histograms, back-gating."""

from __future__ import annotations

import numpy as np
import pytest
from matplotlib.patches import Ellipse, Polygon, Rectangle

from preclin.data.simulate_flow import simulate_aml_fcs
from preclin.errors import InputError
from preclin.flow import read_fcs
from preclin.flow.plot import (
    EVENTS_LABEL,
    FILL_LABEL,
    GATE_LABEL,
    HIGHLIGHT_LABEL,
    MFI_LABEL,
    QUADRANT_LABEL,
    backgate_plots,
    density_plot,
    display_transform,
    gate_steps,
    gating_plots,
    overlay_histograms,
    resolve_population,
)
from preclin.flow.template import read_template
from preclin.flow.transforms import Logicle
from preclin.report import render_figure

LOGICLE = Logicle(T=262144, W=0.5, M=4.5, A=0)
TEMPLATE = """
[compensation]
source = "none"

[transforms]
CD45 = { kind = "logicle", T = 262144, W = 0.5, M = 4.5, A = 0 }
CD33 = { kind = "logicle", T = 262144, W = 0.5, M = 4.5, A = 0 }

[[gate]]
name = "Cells"
[gate.polygon]
x = "FSC-A"
y = "SSC-A"
vertices = [[35000, 22000], [150000, 18000], [175000, 100000], [95000, 125000],
            [35000, 95000]]

[[gate]]
name = "Blasts"
parent = "Cells"
[gate.polygon]
x = "CD45"
y = "CD33"
vertices = [[1000, 1000], [60000, 1000], [60000, 60000], [1000, 60000]]

[[gate]]
name = "Bright"
parent = "Cells"
ellipse = { x = "CD45", y = "CD33", center = [10000, 10000], axes = [8000, 4000], angle = 0 }

[[gate]]
name = "CD33hi"
parent = "Cells"
rectangle = { x = "CD45", y = "CD33", xmin = 1000, ymin = 3000 }

[[gate]]
name = "CXCR4+"
parent = "Blasts"
range = { channel = "CD184", min = 1500 }

[[gate]]
name = "q"
parent = "Blasts"
[gate.quadrant]
x = "Annexin V"
y = "7-AAD"
at = [1000, 1000]
names = ["necrotic", "late", "early", "live"]
"""


@pytest.fixture(scope="module")
def sample_and_gates(tmp_path_factory):
    d = tmp_path_factory.mktemp("plot")
    f = simulate_aml_fcs(d / "s.fcs", seed=3, n_events=3000, apoptotic=0.3)
    tpl = d / "gates.toml"
    tpl.write_text(TEMPLATE)
    return read_fcs(f), read_template(tpl), d


def _patches(ax, cls=None):
    return [p for p in ax.patches if p.get_label() == GATE_LABEL
            and (cls is None or isinstance(p, cls))]


def _quad_lines(ax):
    return [ln for ln in ax.lines if ln.get_label() == QUADRANT_LABEL]


def test_steps_group_gates_by_parent_and_axes(sample_and_gates):
    s, st, _ = sample_and_gates
    steps = gate_steps(st, s)
    assert [(st.path(p.parent) if p.parent else "/", p.x.channel,
             p.y.channel if p.y else None, len(p.gates)) for p in steps] == [
        ("/", "FSC-A", "SSC-A", 1),
        ("/Cells", "CD45", "CD33", 3),
        ("/Cells/Blasts", "CD184", None, 1),
        ("/Cells/Blasts", "Annexin V", "7-AAD", 4),
    ]


def test_gating_plots_draw_every_gate(sample_and_gates):
    s, st, _ = sample_and_gates
    fig = gating_plots(s, st)
    axes = [a for a in fig.axes if a.get_visible()]
    assert len(axes) == 4
    fsc, markers, cxcr4, quad = axes
    assert len(_patches(fsc, Polygon)) == 1 and not _quad_lines(fsc)
    # polygon + ellipse (same display space: an Ellipse patch) + rectangle
    assert len(_patches(markers)) == 3
    assert len(_patches(markers, Ellipse)) == 1 and len(_patches(markers, Rectangle)) == 1
    assert len(_patches(cxcr4, Rectangle)) == 1           # a range on a histogram
    assert [ln.get_label() for ln in cxcr4.lines] == [EVENTS_LABEL]
    assert not _patches(quad) and len(_quad_lines(quad)) == 2  # a quadrant is a cross
    texts = [t.get_text().split("\n")[0] for t in quad.texts]
    assert sorted(texts) == ["early", "late", "live", "necrotic"]
    pct = sum(float(t.get_text().split("\n")[1].rstrip("%")) for t in quad.texts)
    assert pct == pytest.approx(100.0, abs=0.2)
    assert markers.get_xlabel() == "CD45 (APC-Cy7-A)"
    assert markers.get_ylabel() == "CD33 (APC-A)"
    assert fsc.get_xlabel() == "FSC-A"
    assert "Cells (" in markers.get_title(loc="left")
    # decade ticks on the logicle axes
    labels = [t.get_text() for t in markers.get_xticklabels()]
    assert "10³" in labels and "10⁴" in labels


def test_gates_drawn_in_their_display_space(sample_and_gates):
    s, st, _ = sample_and_gates
    fig = density_plot(s, "CD45", "CD33", strategy=st, parent="Cells")
    ax = fig.axes[0]
    poly = _patches(ax, Polygon)[0]
    gate = st.gates["/Cells/Blasts"]
    # axes show the gate's own logicle: vertices drawn as stored (display space)
    assert np.allclose(poly.get_xy()[:4], np.asarray(gate.vertices))
    rect = _patches(ax, Rectangle)[0]
    assert rect.get_x() == pytest.approx(float(LOGICLE.forward(np.array([1000.0]))[0]))
    assert rect.get_y() == pytest.approx(float(LOGICLE.forward(np.array([3000.0]))[0]))
    ell = _patches(ax, Ellipse)[0]
    assert ell.center == pytest.approx(st.gates["/Cells/Bright"].mean)
    assert ell.width > ell.height  # major axis along CD45 (angle 0)
    # on linear axes the same gates are mapped back to data units
    fig = density_plot(s, "CD45", "CD33", strategy=st, parent="Cells",
                       transforms={"CD45": "linear", "CD33": "linear"})
    ax = fig.axes[0]
    xy = _patches(ax, Polygon)[0].get_xy()
    corners = [[1000, 1000], [60000, 1000], [60000, 60000], [1000, 60000]]
    for c in corners:
        assert np.min(np.hypot(*(xy - c).T)) < 1e-6 * 60000
    assert _patches(ax, Rectangle)[0].get_x() == pytest.approx(1000.0)
    # the ellipse, curved in data space, becomes a polygon through its outline
    assert len(_patches(ax, Polygon)) == 2 and not _patches(ax, Ellipse)


def test_density_plot_options(sample_and_gates):
    s, st, _ = sample_and_gates
    fig = density_plot(s, "FSC-A", "SSC-A")          # no strategy: events only
    ax = fig.axes[0]
    assert not _patches(ax) and len(ax.collections) == 1
    assert ax.collections[0].get_label() == EVENTS_LABEL
    assert len(ax.collections[0].get_offsets()) == s.n_events
    fig = density_plot(s, "FSC-A", "SSC-A", max_points=500, kind="hist")
    assert fig.axes[0].collections[0].get_label() == EVENTS_LABEL
    fig = density_plot(s, "FSC-A", "SSC-A", strategy=st, max_points=500)
    assert len(fig.axes[0].collections[0].get_offsets()) == 500
    assert len(_patches(fig.axes[0])) == 1
    fig = density_plot(s, "CD45", "CD33", strategy=st, parent="Cells", gates=["Blasts"])
    assert len(_patches(fig.axes[0])) == 1
    with pytest.raises(InputError, match="kind must be"):
        density_plot(s, "FSC-A", "SSC-A", kind="contour")  # type: ignore[arg-type]


def test_backgating_highlights_population(sample_and_gates):
    s, st, _ = sample_and_gates
    fig = backgate_plots(s, st, "late")
    axes = [a for a in fig.axes if a.get_visible()]
    # Cells (FSC/SSC), Blasts (CD45/CD33), the quadrant itself
    assert len(axes) == 3
    n = int(st.evaluate(s)["/Cells/Blasts/late"].sum())
    for ax in axes:
        hi = [c for c in ax.collections if c.get_label() == HIGHLIGHT_LABEL]
        assert len(hi) == 1 and len(hi[0].get_offsets()) == n
    assert len(_patches(axes[0])) == 1 and len(_patches(axes[1])) == 1
    assert "Back-gating of /Cells/Blasts/late" in fig.texts[0].get_text()


def test_overlay_histograms(sample_and_gates):
    s, st, d = sample_and_gates
    treated = read_fcs(simulate_aml_fcs(d / "t.fcs", seed=4, n_events=3000, cxcr4=6000.0))
    fig = overlay_histograms({"vehicle": s, "AraC": treated}, "CD184", strategy=st,
                             population="Blasts")
    ax = fig.axes[0]
    hist = [ln for ln in ax.lines if not ln.get_label().startswith("_")]
    assert [ln.get_label().split(" (")[0] for ln in hist] == ["vehicle", "AraC"]
    mfi = [ln for ln in ax.lines if ln.get_label() == MFI_LABEL]
    assert len(mfi) == 2
    assert mfi[1].get_xdata()[0] > mfi[0].get_xdata()[0]       # treated higher
    assert [c.get_label() for c in ax.collections] == [FILL_LABEL]
    assert max(np.max(ln.get_ydata()) for ln in hist) == pytest.approx(100.0)
    assert ax.get_xlabel() == "CD184 (PE-A)" and ax.get_ylabel() == "% of max"
    legend = [t.get_text() for t in ax.get_legend().get_texts()]
    assert all("median" in t for t in legend)
    fig = overlay_histograms([s], "CD184", stat=None, normalise="count")
    ax = fig.axes[0]
    assert not [ln for ln in ax.lines if ln.get_label() == MFI_LABEL]
    assert ax.get_ylabel() == "Events"


def test_display_transforms_and_names(sample_and_gates):
    s, st, _ = sample_and_gates
    assert display_transform(s, "FSC-A") is None
    assert isinstance(display_transform(s, "CD184"), Logicle)
    assert display_transform(s, "CD45", strategy=st) == LOGICLE
    assert display_transform(s, "CD45", transforms={"APC-Cy7-A": "linear"}) is None
    assert resolve_population(st, "Blasts") == "/Cells/Blasts"
    assert resolve_population(st, "/Cells/Blasts/late") == "/Cells/Blasts/late"
    assert resolve_population(st, "/") is None
    with pytest.raises(InputError, match="did you mean '/Cells/Blasts'"):
        resolve_population(st, "Cells/Blast")


def test_figures_are_byte_reproducible(sample_and_gates):
    s, st, _ = sample_and_gates
    a = render_figure(gating_plots(s, st), "svg")
    b = render_figure(gating_plots(s, st), "svg")
    assert a == b
