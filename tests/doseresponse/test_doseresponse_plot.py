"""Prism-like dose-response figures."""

from __future__ import annotations

import io
from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest
from matplotlib.axes import Axes
from matplotlib.figure import Figure

from preclin.doseresponse.models import predict
from preclin.doseresponse.plot import (
    EC50_LABEL,
    FIT_LABEL,
    POINTS_LABEL,
    STATUS_LABEL,
    curve_parameters,
    plot_curve,
    plot_curves,
)
from preclin.errors import InputError
from preclin.report import prism_style, render_figure

DOSES = [0.0, 0.01, 0.1, 1.0, 10.0, 100.0]
NAN = float("nan")


def _fits() -> SimpleNamespace:
    rows = [
        dict(
            cell_line="HCT116",
            drug="Docetaxel",
            model="ll4",
            n=18,
            status="ok",
            bottom=10.0,
            top=100.0,
            ec50=1.0,
            hill=1.2,
            ec50_lower=0.5,
            ec50_upper=2.0,
        ),
        dict(
            cell_line="HCT116",
            drug="Cisplatin",
            model="ll5",
            n=18,
            status="ok",
            bottom=0.0,
            top=95.0,
            ec50=5.0,
            hill=0.8,
            asym=1.5,
            ec50_lower=NAN,
            ec50_upper=NAN,
        ),
        dict(
            cell_line="MCF7",
            drug="Docetaxel",
            model="ll4",
            n=18,
            status="no_convergence",
            bottom=NAN,
            top=NAN,
            ec50=NAN,
            hill=NAN,
            asym=NAN,
            ec50_lower=NAN,
            ec50_upper=NAN,
        ),
    ]
    rng = np.random.default_rng(1)
    pts = []
    for r in rows:
        for d in DOSES:
            for _ in range(3):
                pts.append(
                    dict(
                        cell_line=r["cell_line"],
                        drug=r["drug"],
                        dose=d,
                        response=80.0 - 5 * np.log10(d + 1) + rng.normal(0, 3),
                    )
                )
    return SimpleNamespace(
        table=pd.DataFrame(rows),
        points=pd.DataFrame(pts),
        by=["cell_line", "drug"],
        dose_unit="µM",
    )


def _lines(ax: Axes, label: str) -> list:
    return [ln for ln in ax.get_lines() if ln.get_label() == label]


def _panel(fig: Figure, title: str) -> Axes:
    (ax,) = [a for a in fig.axes if a.get_title() == title]
    return ax


@pytest.fixture(scope="module")
def fits() -> SimpleNamespace:
    return _fits()


@pytest.fixture(scope="module")
def grid(fits) -> Figure:
    return plot_curves(fits)


def test_one_panel_per_curve(grid) -> None:
    assert isinstance(grid, Figure)
    assert len(grid.axes) == 3
    assert [a.get_title() for a in grid.axes] == [
        "HCT116 · Docetaxel",
        "HCT116 · Cisplatin",
        "MCF7 · Docetaxel",
    ]
    assert all(a.get_xscale() == "log" for a in grid.axes)


def test_fitted_line_is_predict(fits, grid) -> None:
    for row in fits.table.to_dict("records")[:2]:
        ax = _panel(grid, f"{row['cell_line']} · {row['drug']}")
        (line,) = _lines(ax, FIT_LABEL)
        x, y = np.asarray(line.get_xdata()), np.asarray(line.get_ydata())
        params = dict(hill=row["hill"], bottom=row["bottom"], top=row["top"], ec50=row["ec50"])
        if row["model"] == "ll5":
            params["asym"] = row["asym"]
        np.testing.assert_allclose(y, predict(row["model"], x, **params), rtol=1e-12)
        # spans the positive doses of the data
        assert x.min() == pytest.approx(0.01) and x.max() == pytest.approx(100.0)
        (vline,) = _lines(ax, EC50_LABEL)
        assert vline.get_xdata()[0] == pytest.approx(row["ec50"])


def test_failed_curve_has_points_but_no_line(grid) -> None:
    ax = _panel(grid, "MCF7 · Docetaxel")
    assert _lines(ax, FIT_LABEL) == []
    assert _lines(ax, EC50_LABEL) == []
    (pts,) = _lines(ax, POINTS_LABEL)
    assert len(pts.get_xdata()) == len(DOSES)  # mean per dose
    status = [t.get_text() for t in ax.texts if t.get_label() == STATUS_LABEL]
    assert status == ["no_convergence"]


def test_zero_dose_left_of_lowest_positive(grid) -> None:
    ax = grid.axes[0]
    (pts,) = _lines(ax, POINTS_LABEL)
    x = np.asarray(pts.get_xdata())
    assert x.min() < 0.01
    assert x.min() == pytest.approx(0.001)  # one decade below
    assert ax.get_xlim()[0] < x.min()
    ticks = list(ax.get_xticks())
    labels = [t.get_text() for t in ax.get_xticklabels()]
    zero_tick = ticks[labels.index("0")]
    assert zero_tick == pytest.approx(0.001) and zero_tick == min(ticks)
    assert "0.01" in labels and "100" in labels


def test_ec50_band_only_with_finite_ci(grid) -> None:
    band = [
        c
        for c in grid.axes[0].collections + grid.axes[0].patches
        if c.get_label() == "_preclin_ec50_ci"
    ]
    assert len(band) == 1
    band2 = [
        c
        for c in grid.axes[1].collections + grid.axes[1].patches
        if c.get_label() == "_preclin_ec50_ci"
    ]
    assert band2 == []


def test_svg_has_title_as_text(grid) -> None:
    svg = render_figure(grid, "svg").decode()
    assert ">HCT116 · Docetaxel</text>" in svg
    assert "Dose (µM)" in svg
    with prism_style():  # saving inside the style works too
        buf = io.StringIO()
        grid.savefig(buf, format="svg")
    assert "MCF7 · Docetaxel</text>" in buf.getvalue()


def test_overlay_panels_and_legend(fits) -> None:
    fig = plot_curves(fits, by="cell_line", overlay="drug", show="replicates")
    assert len(fig.axes) == 2
    assert [a.get_title() for a in fig.axes] == ["HCT116", "MCF7"]
    (legend,) = fig.legends
    assert [t.get_text() for t in legend.get_texts()] == ["Docetaxel", "Cisplatin"]
    hct = fig.axes[0]
    assert len(_lines(hct, FIT_LABEL)) == 2
    colours = {ln.get_color() for ln in _lines(hct, FIT_LABEL)}
    assert len(colours) == 2
    # replicates: every point drawn
    assert sum(len(ln.get_xdata()) for ln in _lines(hct, POINTS_LABEL)) == 2 * 3 * len(DOSES)
    # same drug, same colour across panels
    doc_colour = _lines(hct, POINTS_LABEL)[0].get_color()
    assert _lines(fig.axes[1], POINTS_LABEL)[0].get_color() == doc_colour
    assert [t.get_text() for t in fig.axes[1].texts if t.get_label() == STATUS_LABEL] == [
        "Docetaxel: no_convergence"
    ]


def test_overlay_defaults_by_to_the_rest(fits) -> None:
    fig = plot_curves(fits, overlay="cell_line", ncols=1)
    assert [a.get_title() for a in fig.axes] == ["Docetaxel", "Cisplatin"]


def test_bad_columns(fits) -> None:
    with pytest.raises(InputError, match="grouping column"):
        plot_curves(fits, by="plate")
    with pytest.raises(InputError, match="both"):
        plot_curves(fits, by="drug", overlay="drug")


def test_plot_curve_standalone(fits) -> None:
    row = fits.table.iloc[0]
    with prism_style():
        fig = Figure()
        ax = fig.add_subplot()
        art = plot_curve(ax, fits.points, row, show="replicates", dose_unit="nM")
    assert ax.get_title() == "HCT116 · Docetaxel"
    assert ax.get_xlabel() == "Dose (nM)"
    assert art.fit is not None and art.status is None and art.ec50_band is not None
    assert len(art.points.get_xdata()) == 3 * len(DOSES)


def test_fixed_parameters_filled_from_model() -> None:
    row = dict(model="ll3", hill=1.0, bottom=NAN, top=100.0, ec50=2.0)
    model, params = curve_parameters(row)
    assert params["bottom"] == 0.0
    assert curve_parameters(dict(model="ll4", hill=1.0, bottom=0, top=1, ec50=-1.0)) is None
    model, params = curve_parameters(
        dict(model="ll4[hill=1]", hill=NAN, bottom=0.0, top=1.0, ec50=1.0)
    )
    assert params["hill"] == 1.0


def test_not_ok_curve_with_parameters_has_line_but_no_ec50(fits) -> None:
    row = dict(fits.table.iloc[0]) | {"status": "flat"}
    with prism_style():
        ax = Figure().add_subplot()
        art = plot_curve(ax, fits.points, row)
    assert art.fit is not None
    assert art.ec50 is None and art.ec50_band is None
    assert art.status is not None and art.status.get_text() == "flat"
