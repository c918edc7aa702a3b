"""Reference models on synthetic surfaces with known answers."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from scipy.optimize import brentq
from synergy_helpers import C1, C2, bliss_matrix, ll4, replicated, to_table

from preclin.synergy import Block, _drc, score, score_blocks, sf_p_value


def test_hsa_and_bliss_by_hand() -> None:
    m = np.array([[0.0, 20.0, 40.0], [10.0, 50.0, 60.0], [30.0, 45.0, 90.0]])
    blk = Block(np.array([0.0, 1.0, 2.0]), np.array([0.0, 1.0, 2.0]), m)
    res = score_blocks([blk], ("hsa", "bliss"))[0]
    assert res.reference["hsa"][1, 1] == 20.0 and res.synergy["hsa"][1, 1] == 30.0
    assert res.reference["hsa"][2, 1] == 30.0 and res.synergy["hsa"][2, 2] == 50.0
    assert res.reference["bliss"][1, 2] == pytest.approx(10 + 40 - 4)
    # monotherapy row and column: reference = observed, synergy 0
    assert np.all(res.synergy["bliss"][0, :] == 0) and np.all(res.synergy["hsa"][:, 0] == 0)
    np.testing.assert_array_equal(res.reference["bliss"][:, 0], m[:, 0])


def test_bliss_independent_surface_has_no_bliss_or_zip_synergy() -> None:
    res = score(to_table(bliss_matrix()), response_kind="inhibition")
    row = res.blocks.iloc[0]
    assert abs(row["bliss"]) < 1e-10
    assert np.abs(res.cells["bliss_synergy"]).max() < 1e-10
    # ZIP: every slice is an exact 4PL; drc stops at its relative tolerance
    assert np.abs(res.cells["zip_synergy"]).max() < 1e-3
    exact = score(to_table(bliss_matrix()), response_kind="inhibition", fitter="preclin",
                  models="zip")
    assert np.abs(exact.cells["zip_synergy"]).max() < 1e-8


def loewe_matrix() -> np.ndarray:
    p1, p2 = (-1.2, 0.0, 100.0, 1.0), (-2.0, 0.0, 100.0, 0.6)

    def dose(y: float, p: tuple[float, float, float, float]) -> float:
        b, c, d, e = p
        return e * ((d - y) / (y - c)) ** (1 / b)

    m = np.zeros((C1.size, C2.size))
    m[:, 0] = ll4(C1, *p1)
    m[0, :] = ll4(C2, *p2)
    m[0, 0] = 0.0
    for i in range(1, C1.size):
        for j in range(1, C2.size):
            m[i, j] = brentq(lambda y, a=C1[i], b=C2[j]: a / dose(y, p1) + b / dose(y, p2) - 1,
                             1e-9, 100 - 1e-9, xtol=1e-14)
    return m


def test_loewe_additive_surface_has_no_loewe_synergy() -> None:
    df = to_table(loewe_matrix())
    exact = score(df, response_kind="inhibition", fitter="preclin", loewe="exact",
                  models="loewe")
    assert np.abs(exact.cells["loewe_synergy"]).max() < 1e-8
    grid = score(df, response_kind="inhibition", models="loewe")
    # SynergyFinder's 100-level grid: error below one grid step (~1 % inhibition)
    assert np.abs(grid.cells["loewe_synergy"]).max() < 1.0


def test_loewe_rules_beyond_the_single_drug_maxima() -> None:
    f1 = _drc.DrcFit("LL.4", -1.0, 0.0, 50.0, 1.0, 0.0, 1)
    f2 = _drc.DrcFit("LL.4", -1.0, 0.0, 60.0, 1.0, 0.0, 1)
    assert _drc.solve_dose(f1, 70.0) == math.inf
    assert _drc.solve_dose(f1, -5.0) == 0.0
    assert _drc.solve_dose(f1, 25.0) == pytest.approx(1.0)
    from preclin.synergy.models import loewe_reference

    # observed effect above both maxima: the larger single-drug effect at the total dose
    assert loewe_reference(1.0, 2.0, 80.0, f1, f2) == pytest.approx(60.0 * 3 / 4)
    # otherwise one of the 100 levels between the lowest and highest asymptote
    y = loewe_reference(1.0, 2.0, 30.0, f1, f2)
    assert round(y / (60.0 / 99)) * (60.0 / 99) == pytest.approx(y)


def test_replicates_give_p_values() -> None:
    syn = bliss_matrix()
    syn[1:, 1:] = np.minimum(syn[1:, 1:] + 15.0, 100.0)  # synergistic interior
    res = score(replicated(syn, 4, 2.0, seed=11), response_kind="inhibition",
                models="bliss,hsa")
    row = res.blocks.iloc[0]
    assert row["n_replicates"] == 4
    assert row["bliss"] > 10 and row["bliss_p"] < 1e-3 and row["hsa_p"] < 0.05
    null = score(replicated(bliss_matrix(), 4, 2.0, seed=12), response_kind="inhibition",
                 models="bliss")
    assert abs(null.blocks.iloc[0]["bliss"]) < 2 and null.blocks.iloc[0]["bliss_p"] > 0.01
    single = score(to_table(syn), response_kind="inhibition", models="bliss")
    assert np.isnan(single.blocks.iloc[0]["bliss_p"])


def test_incomplete_replicates_skip_the_t_test() -> None:
    df = replicated(bliss_matrix(), 2, 1.0, seed=3)
    df = pd.concat([df, df.iloc[[20]]], ignore_index=True)  # one dose pair measured 3x
    res = score(df, response_kind="inhibition", models="bliss")
    assert np.isnan(res.blocks.iloc[0]["bliss_p"])
    assert "not complete grids" in res.blocks.iloc[0]["notes"]


def test_synergyfinder_p_value_formula() -> None:
    v = np.array([1.0, 2.0, 3.0, 4.0])
    z = 2.5 / np.std(v, ddof=1)
    assert sf_p_value(v) == pytest.approx(math.exp(-0.717 * z - 0.416 * z * z))
    assert math.isnan(sf_p_value([1.0]))
    assert sf_p_value([2.0, 2.0]) == 0.0


def test_models_subset_and_columns() -> None:
    res = score(to_table(bliss_matrix()), response_kind="inhibition", models=["hsa"])
    assert list(res.blocks.columns) == ["block", "drug1", "drug2", "n_conc1", "n_conc2",
                                        "n_replicates", "hsa", "hsa_p", "hsa_p_sf", "notes"]
    assert list(res.cells.columns) == ["block", "drug1", "drug2", "conc1", "conc2", "n",
                                       "response", "inhibition", "hsa_ref", "hsa_synergy"]
    assert res.fits.empty
