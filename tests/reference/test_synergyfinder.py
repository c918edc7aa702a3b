"""preclin.synergy vs SynergyFinder 3.7.3 on its Mathews example (../shared/reference).

Per-cell references and synergies (ZIP, HSA, Bliss, Loewe) and block means to 1e-3
absolute; ZIP p-value, IC50, RI and CSS to 1e-3 relative (they are printed with 3–5
significant digits). Skipped when ../shared/reference is absent.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from preclin.synergy import score

MODELS = {"zip": "ZIP", "hsa": "HSA", "bliss": "Bliss", "loewe": "Loewe"}
COLUMNS = {"block": "block_id", "drug1": "drug_row", "drug2": "drug_col", "conc1": "conc_r",
           "conc2": "conc_c"}


@pytest.fixture(scope="module")
def mathews(reference_dir: Path):
    base = reference_dir / "synergy" / "synergyfinder_mathews"
    res = score(base / "mathews_screening_data.csv", columns=COLUMNS,
                response_kind="viability", sensitivity=True)
    expected = json.loads((base / "expected.json").read_text())
    # block ids are keys: read as text as written, here as on our side
    ref = pd.read_csv(base / "mathews_synergy_scores_ref.csv", dtype={"block_id": str})
    return res, expected, ref


def test_cells_match_per_model(mathews) -> None:
    res, _, ref = mathews
    both = res.cells.merge(ref, left_on=["block", "conc1", "conc2"],
                           right_on=["block_id", "conc1", "conc2"], validate="one_to_one")
    assert len(both) == 72
    for ours, theirs in MODELS.items():
        np.testing.assert_allclose(both[f"{ours}_ref"], both[f"{theirs}_ref"], atol=1e-3,
                                   err_msg=f"{ours} reference")
        np.testing.assert_allclose(both[f"{ours}_synergy"], both[f"{theirs}_synergy"],
                                   atol=1e-3, err_msg=f"{ours} synergy")
    np.testing.assert_allclose(both["zip_fit"], both["ZIP_fit"], atol=1e-3)


def test_block_means(mathews) -> None:
    res, expected, _ = mathews
    blocks = res.blocks.set_index("block")
    for bid, exp in expected["blocks"].items():
        row = blocks.loc[bid]
        assert (row["drug1"], row["drug2"]) == (exp["drug1"], exp["drug2"])
        for ours, theirs in MODELS.items():
            assert row[ours] == pytest.approx(exp[theirs], abs=1e-3), (bid, ours)


def test_pitfall_mean_over_all_cells_is_not_the_summary(mathews) -> None:
    res, expected, _ = mathews
    for bid, exp in expected["pitfall_mean_over_all_36_cells"].items():
        cells = res.cells[res.cells["block"] == bid]
        for ours, theirs in MODELS.items():
            assert cells[f"{ours}_synergy"].mean() == pytest.approx(exp[theirs], abs=1e-3)
            assert res.blocks.set_index("block").loc[bid, ours] != pytest.approx(
                exp[theirs], abs=1e-1)


def test_zip_p_value_and_sensitivity(mathews) -> None:
    res, expected, _ = mathews
    blocks = res.blocks.set_index("block")
    b1, b2 = expected["blocks"]["1"], expected["blocks"]["2"]
    assert blocks.loc["1", "zip_p_sf"] == pytest.approx(b1["ZIP_p_value"], rel=1e-3)
    for key in ("ic50_1", "ic50_2", "ri_1", "ri_2", "css"):
        assert blocks.loc["1", key] == pytest.approx(b1[key], rel=1e-3), key
    assert blocks.loc["2", "css"] == pytest.approx(b2["css"], rel=1e-3)


def test_oneil_replicated_blocks_score(reference_dir: Path) -> None:
    path = reference_dir / "synergy" / "oneil_blocks_input.csv"
    res = score(path, columns={"block": "block_id"}, response_kind="inhibition")
    assert list(res.blocks["block"]) == ["1", "2"]  # keys: text as written
    assert (res.blocks["n_replicates"] == 4).all()
    for m in MODELS:
        assert np.isfinite(res.blocks[[m, f"{m}_p", f"{m}_p_sf"]].to_numpy()).all()
    assert len(res.cells) == 50 and (res.cells["n"] == 4).all()
