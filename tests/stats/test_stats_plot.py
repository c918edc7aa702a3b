"""`preclin.stats.plot.group_plot`: the artists carry the right numbers."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from matplotlib.collections import LineCollection, PathCollection
from matplotlib.container import ErrorbarContainer
from scipy import stats as st

from preclin.errors import InputError
from preclin.stats import compare_table, stars
from preclin.stats.plot import (
    BRACKET_LABEL,
    BRACKET_TEXT_GID,
    ERROR_LABEL,
    PAIR_LABEL,
    POINTS_LABEL,
    group_plot,
    group_summary,
)

DATA = pd.DataFrame({
    "arm": ["a"] * 3 + ["b"] * 3 + ["c"] * 4,
    "y": [1.0, 2.0, 3.5, 4.0, 5.0, 7.0, 9.0, 10.0, 12.0, 11.0],
    "donor": ["d1", "d2", "d3", "d1", "d2", "d3", "d1", "d2", "d3", "d4"],
})


def _points(ax) -> int:
    return sum(len(c.get_offsets()) for c in ax.collections
               if isinstance(c, PathCollection) and c.get_label() == POINTS_LABEL)


def _error_segments(ax) -> list[tuple[float, float, float]]:
    """(x, low, high) of each error bar."""
    (cont,) = [c for c in ax.containers if isinstance(c, ErrorbarContainer)
               and c.get_label() == ERROR_LABEL]
    segs = cont.lines[2][0].get_segments()
    return [(float(s[0][0]), float(min(s[0][1], s[1][1])), float(max(s[0][1], s[1][1])))
            for s in segs]


def _bracket_texts(ax) -> list[str]:
    return [t.get_text() for t in ax.texts if t.get_gid() == BRACKET_TEXT_GID]


@pytest.mark.parametrize("error", ["sd", "sem", "ci95"])
def test_error_bars_equal_independent_summaries(error: str) -> None:
    fig = group_plot(DATA, value="y", group="arm", error=error)
    ax = fig.axes[0]
    assert _points(ax) == len(DATA)
    segs = _error_segments(ax)
    assert [x for x, _, _ in segs] == [0.0, 1.0, 2.0]
    for (_, lo, hi), arm in zip(segs, "abc", strict=True):
        v = DATA.loc[DATA["arm"] == arm, "y"].to_numpy()
        n, m, sd = v.size, v.mean(), v.std(ddof=1)
        half = {"sd": sd, "sem": sd / math.sqrt(n),
                "ci95": st.t.ppf(0.975, n - 1) * sd / math.sqrt(n)}[error]
        assert lo == pytest.approx(m - half, rel=1e-12)
        assert hi == pytest.approx(m + half, rel=1e-12)
    summ = group_summary(DATA, value="y", group="arm", error=error)
    assert summ["lower"].tolist() == pytest.approx([s[1] for s in segs], rel=1e-12)


def test_log_scale_summaries_are_geometric() -> None:
    fig = group_plot(DATA, value="y", group="arm", error="sd", log=True)
    ax = fig.axes[0]
    assert ax.get_yscale() == "log"
    (_, lo, hi) = _error_segments(ax)[0]
    lv = np.log10([1.0, 2.0, 3.5])
    assert lo == pytest.approx(10 ** (lv.mean() - lv.std(ddof=1)), rel=1e-12)
    assert hi == pytest.approx(10 ** (lv.mean() + lv.std(ddof=1)), rel=1e-12)


def test_brackets_show_stars_of_full_precision_p_and_do_not_overlap() -> None:
    cmp = compare_table(DATA, value="y", group="arm")
    fig = group_plot(DATA, value="y", group="arm", kind="bar", comparisons=cmp)
    ax = fig.axes[0]
    texts = _bracket_texts(ax)
    assert sorted(texts) == sorted(stars(p) for p in cmp["p_adj"])
    lines = [ln for ln in ax.get_lines() if ln.get_label() == BRACKET_LABEL]
    assert len(lines) == len(cmp) == 3
    spans = []
    for ln in lines:
        x, y = ln.get_xdata(), ln.get_ydata()
        spans.append((min(x), max(x), max(y)))
    # brackets whose x ranges meet are at different heights; the wide one is on top
    for i, (a1, a2, ya) in enumerate(spans):
        for b1, b2, yb in spans[i + 1:]:
            if a1 <= b2 and b1 <= a2:
                assert abs(ya - yb) > 0.5
    wide = max(spans, key=lambda s: s[1] - s[0])
    assert wide[2] == max(s[2] for s in spans)
    # every bracket is above the data it spans
    assert min(s[2] for s in spans) > 3.5  # above group a (max 3.5)
    assert ax.get_ylim()[1] >= max(s[2] for s in spans)


def test_stars_threshold_is_decided_on_full_precision() -> None:
    cmp = pd.DataFrame({"group1": ["a", "a"], "group2": ["b", "c"],
                        "p": [0.05, 0.0500004]})
    ax = group_plot(DATA, value="y", group="arm", comparisons=cmp).axes[0]
    assert sorted(_bracket_texts(ax)) == ["*", "ns"]
    ax = group_plot(DATA, value="y", group="arm", comparisons=cmp, show_ns=False).axes[0]
    assert _bracket_texts(ax) == ["*"]


def test_paired_lines_join_each_pair_across_groups() -> None:
    ax = group_plot(DATA, value="y", group="arm", pair="donor").axes[0]
    (lc,) = [c for c in ax.collections if isinstance(c, LineCollection)
             and c.get_label() == PAIR_LABEL]
    # a-b: d1..d3 (3), b-c: d1..d3 (3); d4 only in c
    assert len(lc.get_segments()) == 6
    seg = lc.get_segments()[0]
    assert tuple(seg[0]) == (0.0, 1.0) and tuple(seg[1]) == (1.0, 4.0)


def test_subgroups_pairs_and_group_level_brackets() -> None:
    long = pd.DataFrame({
        "treatment": ["T1"] * 6 + ["T2"] * 6,
        "cond": ["alone", "alone", "alone", "stroma", "stroma", "stroma"] * 2,
        "donor": [1, 2, 3] * 4,
        "y": [90, 85, 88, 40, 45, 42, 92, 90, 91, 70, 72, 69],
    })
    cmp = pd.DataFrame({"group1": [("T1", "alone"), "T1"], "group2": [("T1", "stroma"), "T2"],
                        "p": [0.001, 0.03], "label": ["{stars}", "Δ protection {stars}"]})
    ax = group_plot(long, value="y", group="treatment", subgroup="cond", pair="donor",
                    error="sem", kind="bar", comparisons=cmp).axes[0]
    assert _points(ax) == 12
    (lc,) = [c for c in ax.collections if c.get_label() == PAIR_LABEL]
    assert len(lc.get_segments()) == 6  # 3 donors × 2 treatments, alone → stroma
    assert [x for x, _, _ in _error_segments(ax)] == pytest.approx([-0.2, 0.2, 0.8, 1.2])
    assert sorted(_bracket_texts(ax)) == ["***", "Δ protection *"]  # p = 0.001: ***
    lines = {tuple(ln.get_xdata()): max(ln.get_ydata()) for ln in ax.get_lines()
             if ln.get_label() == BRACKET_LABEL}
    assert lines[(0.0, 0.0, 1.0, 1.0)] > lines[(-0.2, -0.2, 0.2, 0.2)]


def test_bad_input() -> None:
    with pytest.raises(InputError, match="unknown error bar"):
        group_plot(DATA, value="y", group="arm", error="sd2")  # type: ignore[arg-type]
    with pytest.raises(InputError, match="'nope'"):
        group_plot(DATA, value="nope", group="arm")
    cmp = pd.DataFrame({"group1": ["a"], "group2": ["zz"], "p": [0.01]})
    with pytest.raises(InputError, match="not a group"):
        group_plot(DATA, value="y", group="arm", comparisons=cmp)
