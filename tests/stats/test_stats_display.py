"""P display and stars, decided on the full-precision p (Prism's GP style)."""

from __future__ import annotations

import math

import pytest

from preclin.stats import format_p, stars


@pytest.mark.parametrize("p,label", [
    (0.05, "*"), (0.0500000001, "ns"), (0.04999, "*"), (0.050049, "ns"),
    (0.01, "**"), (0.0100001, "*"), (0.001, "***"), (0.0010001, "**"),
    (0.0001, "****"), (0.00010001, "***"), (1e-12, "****"), (0.0, "****"), (1.0, "ns"),
    (math.nan, ""), (None, ""), (math.inf, ""),
])
def test_stars_boundaries(p: float, label: str) -> None:
    assert stars(p) == label


@pytest.mark.parametrize("p,text", [
    (0.05, "0.0500"), (0.050049, "0.0500"), (0.12345, "0.1235"), (0.0001, "0.0001"),
    (0.00009999, "<0.0001"), (1e-20, "<0.0001"), (0.0, "<0.0001"), (0.00014, "0.0001"),
    (0.9999, "0.9999"), (0.99995, ">0.9999"), (1.0, ">0.9999"), (math.nan, ""),
])
def test_format_p(p: float, text: str) -> None:
    assert format_p(p) == text


def test_rounds_to_005_but_exceeds_is_ns() -> None:
    p = 0.05000049
    assert format_p(p) == "0.0500" and stars(p) == "ns"
    assert format_p(0.0500) == "0.0500" and stars(0.0500) == "*"
