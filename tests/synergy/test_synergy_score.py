"""score / score_file: output layout, files, determinism, the drc-compatible fitter."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from synergy_helpers import C2, bliss_matrix, ll4, replicated, to_table

from preclin.synergy import _drc, score, score_file


def two_blocks() -> pd.DataFrame:
    m = bliss_matrix()
    m2 = m.copy()
    m2[1:, 1:] = m2[1:, 1:] * 0.8
    return pd.concat([to_table(m, block="p1", kind="viability"),
                      to_table(m2, block="p2", drugs=("x", "y"), kind="viability")],
                     ignore_index=True)


def test_layout_and_order() -> None:
    res = score(two_blocks())
    assert list(res.blocks["block"]) == ["p1", "p2"]
    assert list(res.blocks.columns[:6]) == ["block", "drug1", "drug2", "n_conc1", "n_conc2",
                                            "n_replicates"]
    for m in ("bliss", "hsa", "loewe", "zip"):
        assert {m, f"{m}_p", f"{m}_p_sf"} <= set(res.blocks.columns)
        assert {f"{m}_ref", f"{m}_synergy"} <= set(res.cells.columns)
    assert len(res.cells) == 72
    first = res.cells[res.cells["block"] == "p1"]
    assert list(first["conc1"].iloc[:6]) == [0.0] * 6
    assert list(first["conc2"].iloc[:6]) == list(C2)
    # viability in, inhibition out; the response column keeps the input's scale
    np.testing.assert_allclose(first["inhibition"] + first["response"], 100.0)
    assert res.blocks.loc[1, "bliss"] < res.blocks.loc[0, "bliss"]
    assert set(res.fits["role"]) == {"drug1", "drug2"} and len(res.fits) == 4


def test_block_summary_uses_combination_cells_only() -> None:
    res = score(two_blocks(), models="hsa")
    cells = res.cells[res.cells["block"] == "p2"]
    inner = cells[(cells["conc1"] > 0) & (cells["conc2"] > 0)]
    assert res.blocks.loc[1, "hsa"] == pytest.approx(inner["hsa_synergy"].mean())
    assert res.blocks.loc[1, "hsa"] != pytest.approx(cells["hsa_synergy"].mean())


@pytest.mark.parametrize("suffix", [".csv", ".parquet"])
def test_score_file_writes_and_is_deterministic(tmp_path: Path, suffix: str) -> None:
    src = tmp_path / f"in{suffix}"
    data = two_blocks()
    data.to_csv(src, index=False) if suffix == ".csv" else data.to_parquet(src)
    outs = []
    for k in range(2):
        out, cells = tmp_path / f"out{k}{suffix}", tmp_path / f"cells{k}{suffix}"
        res = score_file(src, out, cells=cells, models="bliss,zip")
        outs.append((out.read_bytes(), cells.read_bytes()))
        back = pd.read_csv(out) if suffix == ".csv" else pd.read_parquet(out)
        assert list(back["block"]) == ["p1", "p2"]
        assert back["zip"].to_numpy() == pytest.approx(res.blocks["zip"].to_numpy())
    assert outs[0] == outs[1]


def test_replicated_scores_use_the_mean_matrix() -> None:
    df = replicated(bliss_matrix(), 3, 1.5, seed=5)
    res = score(df, response_kind="inhibition", models="bliss")
    means = df.groupby(["conc1", "conc2"])["response"].mean()
    cells = res.cells.set_index(["conc1", "conc2"])
    np.testing.assert_allclose(cells.loc[means.index, "inhibition"], means)
    assert (cells["n"] == 3).all()


def test_preclin_fitter_option_runs() -> None:
    res = score(two_blocks(), fitter="preclin", models="loewe,zip", sensitivity=True)
    assert np.isfinite(res.blocks[["loewe", "zip", "ic50_1", "ri_2", "css"]].to_numpy()).all()


def test_drc_emulation_on_an_exact_curve() -> None:
    x = np.array([0.0, 0.1, 0.3, 1.0, 3.0, 10.0, 30.0])
    y = ll4(x, -1.3, 5.0, 95.0, 1.7)
    fit = _drc.fit_dose_response(x, y)
    assert fit is not None and fit.model == "LL.4"
    assert fit.b == pytest.approx(-1.3, rel=1e-2)
    assert fit.ec50 == pytest.approx(1.7, rel=1e-2)
    assert _drc.predict(fit, 1.0) == pytest.approx(ll4(np.array([1.0]), -1.3, 5, 95, 1.7)[0],
                                                   abs=0.05)
    fixed = _drc.drm_ll4(x, y, c=5.0)
    assert fixed.c == 5.0 and fixed.d == pytest.approx(95.0, rel=1e-2)
    assert math.isinf(_drc.solve_dose(fit, 200.0)) and _drc.solve_dose(fit, -1.0) == 0.0


def test_drc_fallback_to_log_dose_model() -> None:
    # a column whose LL.4 optimisation steps to a negative EC50 (non-finite gradient in drc):
    # SynergyFinder then fits L.4 on log(dose) with dose 0 -> 1e-10
    x = np.array([2500.0, 625.0, 156.25, 39.0626, 9.7656, 0.0])
    y = np.array([92.197363, 94.066607, 94.275765, 93.723429, 91.051901, 71.304855])
    with pytest.raises(_drc.OptimError):
        _drc.drm_ll4(x, y, c=71.304855)
    fit = _drc.fit_dose_response(x, y, emin=71.304855)
    assert fit is not None and fit.model == "L.4"
    # the value SynergyFinder 3.7.3 used for this cell of the Mathews example (block 1)
    assert _drc.predict(fit, 39.0626) == pytest.approx(93.5626, abs=1e-3)
