"""Figures: annotated dose-response matrix, synergy heatmap/contour/surface."""

from __future__ import annotations

import numpy as np
import pytest
from matplotlib.figure import Figure
from synergy_helpers import bliss_matrix, to_table

from preclin.errors import InputError
from preclin.synergy import plot_response_matrix, plot_synergy, score
from preclin.synergy.plot import CELL_GID


@pytest.fixture(scope="module")
def result():
    m = bliss_matrix()
    m[1:, 1:] += 5.0
    return score(to_table(m, block="B7"), response_kind="inhibition", models="bliss,hsa")


def cell_texts(fig: Figure) -> list[str]:
    return [t.get_text() for ax in fig.axes for t in ax.texts if t.get_gid() == CELL_GID]


def test_response_matrix_annotates_every_cell(result) -> None:
    fig = plot_response_matrix(result, "B7")
    assert isinstance(fig, Figure)
    texts = cell_texts(fig)
    assert len(texts) == 36
    assert texts[0] == "0.0"  # untreated control, bottom-left
    ax = fig.axes[0]
    assert ax.get_xlabel() == "beta" and ax.get_ylabel() == "alpha"
    assert [t.get_text() for t in ax.get_yticklabels()][:2] == ["0", "0.1"]


def test_synergy_heatmap_is_centred_at_zero(result) -> None:
    fig = plot_synergy(result, "B7", "bliss")
    im = fig.axes[0].images[0]
    lo, hi = im.norm.vmin, im.norm.vmax
    assert lo == -hi and hi >= 10
    assert len(cell_texts(fig)) == 36
    assert "mean 5.00" in fig.axes[0].get_title()
    assert len(plot_synergy(result, "B7", "hsa", annotate=False).axes[0].texts) == 0


@pytest.mark.parametrize("kind", ["contour", "surface"])
def test_other_kinds(result, kind: str) -> None:
    fig = plot_synergy(result, "B7", "bliss", kind=kind)
    assert isinstance(fig, Figure)
    assert len(fig.axes) == 2  # plot and colour bar


def test_bad_requests(result) -> None:
    with pytest.raises(InputError, match="block 'nope' not found"):
        plot_synergy(result, "nope")
    with pytest.raises(InputError, match="zip_synergy"):
        plot_synergy(result, "B7", "zip")
    with pytest.raises(InputError, match="unknown plot kind"):
        plot_synergy(result, "B7", "bliss", kind="pie")  # type: ignore[arg-type]
    assert np.isfinite(result.blocks["bliss"]).all()
