"""Reading and validating combination tables: every bad input names its block and problem."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from synergy_helpers import bliss_matrix, to_table

from preclin.errors import InputError
from preclin.synergy import read_combinations, score


def good() -> pd.DataFrame:
    return to_table(bliss_matrix(), block="A")


def err(df: pd.DataFrame, **kw: object) -> str:
    with pytest.raises(InputError) as info:
        read_combinations(df, **kw)
    msg = info.value.message
    assert "\n" not in msg
    return msg


def test_valid_table_builds_one_grid_per_block() -> None:
    df = pd.concat([good(), to_table(bliss_matrix(), block="Z", drugs=("x", "y"))])
    data = read_combinations(df, response_kind="inhibition")
    assert data.block_ids == ["A", "Z"]
    assert data.drugs == [("alpha", "beta"), ("x", "y")]
    assert data.blocks[0].inhibition.shape == (6, 6)
    np.testing.assert_allclose(data.blocks[0].inhibition, bliss_matrix())
    assert data.replicates == [1, 1]


def test_viability_is_converted_to_inhibition() -> None:
    data = read_combinations(to_table(bliss_matrix(), kind="viability"))
    np.testing.assert_allclose(data.blocks[0].inhibition, bliss_matrix())


def test_missing_single_agent_arm_names_block_and_dose() -> None:
    df = good()
    df = df[~((df.conc1 == 1.0) & (df.conc2 == 0))]
    msg = err(df)
    assert "block 'A'" in msg and "single-agent arm of alpha" in msg and "conc1 = 1" in msg


def test_missing_arm_of_second_drug() -> None:
    df = good()
    df = df[~((df.conc2 == 3.2) & (df.conc1 == 0))]
    msg = err(df)
    assert "block 'A'" in msg and "single-agent arm of beta" in msg and "conc2 = 3.2" in msg


def test_no_zero_dose_of_one_drug() -> None:
    df = good()
    df = df[df.conc2 > 0]
    msg = err(df)
    assert "block 'A'" in msg and "no row has conc2 = 0" in msg


def test_non_grid_matrix_lists_missing_pairs() -> None:
    df = good()
    df = df[~((df.conc1 == 3.0) & (df.conc2 == 0.8))]
    msg = err(df)
    assert "block 'A'" in msg and "not a full dose grid" in msg and "(3, 0.8)" in msg


def test_only_zero_doses() -> None:
    df = good()
    df["conc1"] = 0.0
    df = df.drop_duplicates(["conc1", "conc2"])
    msg = err(df)
    assert "block 'A'" in msg and "only zero doses of alpha" in msg


def test_non_numeric_concentration_names_block_and_row() -> None:
    df = good().astype({"conc2": object})
    df.loc[7, "conc2"] = "1 uM"
    msg = err(df)
    assert "block 'A'" in msg and "conc2" in msg and "'1 uM'" in msg and "row 9" in msg


def test_negative_concentration() -> None:
    df = good()
    df.loc[3, "conc1"] = -1.0
    msg = err(df)
    assert "block 'A'" in msg and "must not be negative" in msg and "row 5" in msg


def test_non_numeric_response() -> None:
    df = good().astype({"response": object})
    df.loc[2, "response"] = "n/a"
    msg = err(df)
    assert "block 'A'" in msg and "'response' is not a number" in msg


def test_two_drug_pairs_in_one_block() -> None:
    df = good()
    df.loc[5, "drug2"] = "gamma"
    msg = err(df)
    assert "block 'A'" in msg and "more than one drug pair" in msg


def test_missing_column_and_bad_kind() -> None:
    assert "missing column(s) 'conc2'" in err(good().drop(columns="conc2"))
    assert "response_kind" in err(good(), response_kind="percent")


def test_column_mapping() -> None:
    df = good().rename(columns={"block": "block_id", "drug1": "drug_row", "conc1": "conc_r"})
    data = read_combinations(df, columns={"block": "block_id", "drug1": "drug_row",
                                          "conc1": "conc_r"}, response_kind="inhibition")
    assert data.block_ids == ["A"]
    with pytest.raises(InputError, match="unknown column role"):
        read_combinations(df, columns={"dose": "x"})


def test_missing_response_is_excluded_not_fatal_but_hole_is() -> None:
    df = good()
    extra = df.iloc[[10]].assign(response=np.nan)
    data = read_combinations(pd.concat([df, extra], ignore_index=True),
                             response_kind="inhibition")
    assert list(data.excluded["reason"]) == ["response missing"]
    assert int(data.excluded["source_row"].iloc[0]) == len(df)
    df.loc[10, "response"] = np.nan
    assert "not a full dose grid" in err(df, response_kind="inhibition")


def test_score_reports_unknown_model() -> None:
    with pytest.raises(InputError, match="unknown synergy model"):
        score(good(), models="bliss,synergy")


@settings(max_examples=25, deadline=None)
@given(n1=st.integers(2, 5), n2=st.integers(2, 5), reps=st.integers(1, 3),
       seed=st.integers(0, 10_000))
def test_random_grids_round_trip(n1: int, n2: int, reps: int, seed: int) -> None:
    rng = np.random.default_rng(seed)
    c1 = np.concatenate([[0.0], np.sort(rng.uniform(0.01, 100, n1 - 1))])
    c2 = np.concatenate([[0.0], np.sort(rng.uniform(0.01, 100, n2 - 1))])
    mats = [rng.uniform(-10, 110, (n1, n2)) for _ in range(reps)]
    df = pd.concat([to_table(m, c1, c2) for m in mats], ignore_index=True)
    df = df.sample(frac=1.0, random_state=seed).reset_index(drop=True)
    data = read_combinations(df, response_kind="inhibition")
    blk = data.blocks[0]
    np.testing.assert_allclose(blk.conc1, np.unique(c1))
    np.testing.assert_allclose(blk.inhibition, np.mean(mats, axis=0))
    assert data.replicates == [reps]
    assert sorted(blk.ranks().ravel()) == sorted(set(blk.ranks().ravel()))


def test_rows_flagged_upstream_are_excluded_with_their_reason() -> None:
    df = good()
    extra = df.iloc[[4]].assign(response=999.0)
    df = pd.concat([df, extra], ignore_index=True)
    df["excluded"] = False
    df["reason"] = ""
    df.loc[len(df) - 1, ["excluded", "reason"]] = [True, "bubble in well"]
    data = read_combinations(df, response_kind="inhibition")
    assert list(data.excluded["reason"]) == ["bubble in well"]
    np.testing.assert_allclose(data.blocks[0].inhibition, bliss_matrix())
