"""Figure style and deterministic export."""

from __future__ import annotations

import matplotlib as mpl
import pytest
from matplotlib.figure import Figure

from preclin.report import PALETTE, prism_style, render_figure, save_figure


def _figure() -> Figure:
    with prism_style():
        fig = Figure(figsize=(3, 2.5))
        ax = fig.add_subplot()
        ax.plot([1, 2, 3], [3, 1, 2], marker="o")
        ax.set_title("Editable title")
        ax.set_xlabel("Dose")
    return fig


def test_style_is_prism_like_and_restored() -> None:
    before = mpl.rcParams["axes.spines.top"]
    with prism_style():
        fig = Figure()
        ax = fig.add_subplot()
        assert not ax.spines["top"].get_visible()
        assert not ax.spines["right"].get_visible()
        assert ax.spines["left"].get_linewidth() >= 1.5
        assert mpl.rcParams["xtick.direction"] == "out"
        assert mpl.rcParams["svg.fonttype"] == "none"
        assert mpl.rcParams["font.family"] == ["sans-serif"]
    assert mpl.rcParams["axes.spines.top"] == before


def test_palette_has_twelve_distinct_colours() -> None:
    assert len(set(PALETTE)) == len(PALETTE) == 12


def test_overrides() -> None:
    with prism_style(**{"font.size": 14}):
        assert mpl.rcParams["font.size"] == 14


def test_save_figure_is_byte_identical(tmp_path) -> None:
    fig = _figure()
    first = save_figure(fig, tmp_path / "a" / "fig.v1")
    second = save_figure(fig, tmp_path / "b" / "fig.v1")
    assert [p.name for p in first] == ["fig.v1.svg", "fig.v1.png"]
    for p, q in zip(first, second, strict=True):
        assert p.read_bytes() == q.read_bytes()
    # a freshly built, identical figure gives identical bytes too
    third = save_figure(_figure(), tmp_path / "c" / "fig.v1")
    for p, q in zip(first, third, strict=True):
        assert p.read_bytes() == q.read_bytes()
    assert first[1].read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_svg_text_is_editable_even_outside_style(tmp_path) -> None:
    fig = _figure()
    with mpl.rc_context({"svg.fonttype": "path"}):
        svg = render_figure(fig, "svg").decode()
    assert ">Editable title</text>" in svg
    assert "<dc:date>" not in svg


def test_render_rejects_unknown_format() -> None:
    with pytest.raises(ValueError, match="format"):
        render_figure(_figure(), "gif")
