"""Plate maps and heat maps: checkable structure of the returned figures."""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from matplotlib.collections import PathCollection
from matplotlib.figure import Figure
from matplotlib.image import AxesImage
from plates_helpers import write

from preclin.errors import InputError
from preclin.plates import plot_layout, plot_plate_values, read_layout
from preclin.plates.plot import UNASSIGNED_COLOR

LAYOUT = """
[meta]
wells = 96
[col.1]
control = "blank"
[col.12]
control = "vehicle"
[col.'2-11']
control = "sample"
[col.'2,3,...,11']
conc = 1.0
[col.2]
conc = 0.0
[col.11]
conc = 100.0
[row.'A-F']
"""


def markers(ax: object) -> list[PathCollection]:
    return [c for c in ax.collections if isinstance(c, PathCollection)]  # type: ignore[attr-defined]


def n_offsets(ax: object) -> int:
    return sum(len(c.get_offsets()) for c in markers(ax))


@pytest.fixture
def layout(tmp_path: Path):  # type: ignore[no-untyped-def]
    return read_layout(write(tmp_path / "layout.toml", LAYOUT))


def test_categorical_plate_map(layout) -> None:  # type: ignore[no-untyped-def]
    fig = plot_layout(layout, factor="control")
    assert isinstance(fig, Figure)
    ax = fig.axes[0]
    assert len(fig.axes) == 1
    assert n_offsets(ax) == 96  # one marker per well of the plate
    grey = [c for c in markers(ax) if c.get_label() == "_unassigned"]
    assert len(grey) == 1 and len(grey[0].get_offsets()) == 24  # rows G-H
    np.testing.assert_allclose(grey[0].get_facecolors()[0][:3],
                               [int(UNASSIGNED_COLOR[k:k + 2], 16) / 255 for k in (1, 3, 5)])
    by_label = {c.get_label(): len(c.get_offsets()) for c in markers(ax)}
    assert by_label == {"_unassigned": 24, "blank": 6, "vehicle": 6, "sample": 60}
    assert [t.get_text() for t in ax.get_yticklabels()] == list("ABCDEFGH")
    assert [t.get_text() for t in ax.get_xticklabels()] == [str(j) for j in range(1, 13)]
    legend = [t.get_text() for t in fig.legends[0].get_texts()]
    assert legend == ["blank", "sample", "vehicle", "no value / not in layout"]


def test_numeric_log_plate_map_with_colour_bar(layout) -> None:  # type: ignore[no-untyped-def]
    fig = plot_layout(layout, factor="conc", log=True)
    ax = fig.axes[0]
    assert len(fig.axes) == 2  # the plate and its colour bar
    assert n_offsets(ax) == 96
    by_label = {c.get_label(): len(c.get_offsets()) for c in markers(ax)}
    assert by_label["<= 0"] == 6  # conc 0 in column 2 cannot go on a log scale
    assert by_label["_unassigned"] == 24 + 12  # rows G-H and the controls without conc
    buf = io.BytesIO()
    fig.savefig(buf, format="svg")
    assert buf.getvalue().startswith(b"<?xml")


def test_multi_plate_and_table_input(tmp_path: Path) -> None:
    lay = read_layout(write(tmp_path / "m.toml", "[plate.X]\n[plate.Y]\n[plate.Z]\n"
                                                 "[block.4x2.A1]\nd = 'a'\n[well.P24]\n"))
    fig = plot_layout(lay.table)  # a plain table works as well
    assert len(fig.axes) == 3
    assert all(n_offsets(ax) == 384 for ax in fig.axes)
    assert plot_layout(lay, plate="Y").axes[0].get_title() == "Y: d"
    with pytest.raises(InputError, match="no plate 'Q'"):
        plot_layout(lay, plate="Q")
    with pytest.raises(InputError, match="no factor 'zz'"):
        plot_layout(lay, factor="zz")


def test_plate_values_heat_map() -> None:
    rows = [{"plate": p, "well": f"{r}{c}", "row": r, "col": c, "signal": float(k)}
            for p in ("P1", "P2") for k, (r, c) in enumerate(
                (r, c) for r in "ABCDEFGH" for c in range(1, 13))]
    df = pd.DataFrame(rows)
    df.loc[5, "signal"] = np.nan
    df = df.drop(index=7)  # a well absent from the table
    fig = plot_plate_values(df, plate="P1", annotate=True)
    images = [im for ax in fig.axes for im in ax.get_images() if isinstance(im, AxesImage)]
    assert len(images) == 1
    arr = images[0].get_array()
    assert arr.shape == (8, 12)
    assert int(np.ma.count_masked(arr)) == 2
    assert arr[7, 11] == 95.0
    assert len(fig.axes[0].texts) == 94
    assert len(plot_plate_values(df).axes) == 4  # two plates, two colour bars


def test_plate_map_legend_lists_only_the_drawn_plate() -> None:
    """A layout with a different cell line per plate: the map of one plate shows its lines."""
    from preclin.plates import plot_layout
    from preclin.plates.layout import Layout

    table = pd.DataFrame({
        "plate": ["P1", "P1", "P2", "P2"], "well": ["A1", "B1", "A1", "B1"],
        "row": ["A", "B", "A", "B"], "col": [1, 1, 1, 1],
        "cell_line": ["LP-1", "U266", "KMS-11", "OPM-2"],
    })
    fig = plot_layout(Layout(table), factor="cell_line", plate="P1")
    legend = [t.get_text() for t in fig.legends[0].get_texts()]
    assert legend[:-1] == ["LP-1", "U266"]
