"""Chou–Talalay combination index on median-effect data with a known CI."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.optimize import brentq
from synergy_helpers import to_table

from preclin.errors import InputError
from preclin.synergy import Block, chou_talalay, dose_for_effect, median_effect_fit

C1 = np.array([0.0, 0.25, 0.5, 1.0, 2.0, 4.0])
C2 = np.array([0.0, 1.25, 2.5, 5.0, 10.0, 20.0])  # constant ratios along the diagonals


def fa_of(dose: np.ndarray, m: float, dm: float) -> np.ndarray:
    with np.errstate(divide="ignore", over="ignore"):
        return np.where(dose > 0, 1.0 / (1.0 + (dm / np.maximum(dose, 1e-300)) ** m), 0.0)


def combo_matrix(m1: float, dm1: float, m2: float, dm2: float, ci: float) -> np.ndarray:
    """% inhibition whose every combination cell has exactly the given CI."""
    out = np.zeros((C1.size, C2.size))
    out[:, 0] = 100 * fa_of(C1, m1, dm1)
    out[0, :] = 100 * fa_of(C2, m2, dm2)
    for i in range(1, C1.size):
        for j in range(1, C2.size):
            def g(f: float, a: float = C1[i], b: float = C2[j]) -> float:
                return (a / dose_for_effect(f, m1, dm1) + b / dose_for_effect(f, m2, dm2)
                        - ci)
            out[i, j] = 100 * brentq(g, 1e-12, 1 - 1e-12, xtol=1e-15, rtol=1e-15)
    return out


def test_median_effect_fit_recovers_parameters() -> None:
    d = np.array([0.1, 0.3, 1.0, 3.0, 10.0])
    fit = median_effect_fit(d, fa_of(d, 1.7, 0.8))
    assert fit.m == pytest.approx(1.7, rel=1e-10)
    assert fit.dm == pytest.approx(0.8, rel=1e-10)
    assert fit.r == pytest.approx(1.0)
    assert float(fit.dose(0.5)) == pytest.approx(0.8)


@pytest.mark.parametrize("m2", [1.3, 0.7])
def test_loewe_additive_combination_has_ci_one_per_cell(m2: float) -> None:
    mat = combo_matrix(1.3, 0.9, m2, 4.0, ci=1.0)
    res = chou_talalay(Block(C1, C2, mat))
    assert len(res.cells) == 25
    np.testing.assert_allclose(res.cells["ci"], 1.0, atol=1e-6)
    single = res.single.set_index("drug")
    assert single.loc["drug1", "m"] == pytest.approx(1.3)
    assert single.loc["drug2", "dm"] == pytest.approx(4.0)


def test_fixed_ratio_ci_is_one_at_every_fa_for_additive_drugs() -> None:
    # equal slopes: a fixed-ratio mixture of Loewe-additive median-effect drugs follows the
    # median-effect equation exactly, so CI = 1 at fa 0.5, 0.75 and 0.9
    mat = combo_matrix(1.3, 0.9, 1.3, 4.0, ci=1.0)
    res = chou_talalay(Block(C1, C2, mat), min_points=3)
    assert len(res.ratios) >= 3  # ratios 0.2 (5 cells), 0.1 and 0.4 (4 cells), ...
    for col in ("ci_50", "ci_75", "ci_90"):
        np.testing.assert_allclose(res.ratios[col], 1.0, atol=1e-6)
    full = res.ratios.loc[(res.ratios["ratio"] - 0.2).abs() < 1e-9].iloc[0]
    assert full["n"] == 5


def test_synergistic_combination_has_ci_below_one() -> None:
    mat = combo_matrix(1.3, 0.9, 1.3, 4.0, ci=0.5)
    res = chou_talalay(Block(C1, C2, mat))
    np.testing.assert_allclose(res.cells["ci"], 0.5, atol=1e-6)
    np.testing.assert_allclose(res.ratios["ci_50"], 0.5, atol=1e-6)
    assert (res.cells["dri1"] > 1).all()


def test_chou_talalay_on_a_long_table() -> None:
    mat = combo_matrix(1.3, 0.9, 1.3, 4.0, ci=1.0)
    res = chou_talalay(to_table(mat, C1, C2, block="X"), response_kind="inhibition")
    assert set(res.single["drug"]) == {"alpha", "beta"}
    np.testing.assert_allclose(res.cells["ci"], 1.0, atol=1e-6)
    with pytest.raises(InputError, match="strictly between"):
        chou_talalay(Block(C1, C2, mat), fa_levels=(0.5, 1.0))
