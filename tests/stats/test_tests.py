from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy import stats as st

from preclin.errors import InputError
from preclin.stats import compare_groups, stars


@pytest.mark.parametrize(
    "p,label", [(0.2, "ns"), (0.05, "*"), (0.0500001, "ns"), (0.049, "*"), (0.009, "**"),
                (0.0009, "***"),
                (0.00009, "****"), (float("nan"), "")]
)
def test_stars(p: float, label: str) -> None:
    assert stars(p) == label


def test_compare_groups_mann_whitney_matches_exact_reference() -> None:
    # all 7 values of group a below group b -> exact two-sided p = 2 / C(12, 5)
    a = [1, 2, 3, 4, 5, 6, 7]
    b = [10, 11, 12, 13, 14]
    t = pd.DataFrame({"g": ["a"] * 7 + ["b"] * 5, "v": a + b})
    res = compare_groups(t, value="v", group="g")
    assert len(res) == 1
    assert res.loc[0, "p"] == pytest.approx(2 / 792)
    assert res.loc[0, "stars"] == "**"
    assert res.loc[0, "n_a"] == 7 and res.loc[0, "n_b"] == 5


def test_compare_groups_log10_welch_and_missing() -> None:
    rng = np.random.default_rng(1)
    a = 10 ** rng.normal(0, 0.3, 6)
    b = 10 ** rng.normal(1, 0.3, 6)
    t = pd.DataFrame({"g": ["a"] * 7 + ["b"] * 6, "v": [*a, np.nan, *b]})
    res = compare_groups(t, value="v", group="g", test="welch", log10=True)
    ref = st.ttest_ind(np.log10(a), np.log10(b), equal_var=False)
    assert res.loc[0, "p"] == pytest.approx(ref.pvalue)
    assert res.loc[0, "n_missing"] == 1
    assert res.loc[0, "scale"] == "log10(v)"


def test_compare_groups_within_strata_and_errors() -> None:
    t = pd.DataFrame({"drug": ["x"] * 4 + ["y"] * 4, "g": ["a", "a", "b", "b"] * 2,
                      "v": [1.0, 2, 3, 4, 5, 6, 7, 8]})
    res = compare_groups(t, value="v", group="g", within=["drug"], test="t")
    assert list(res["drug"]) == ["x", "y"]
    with pytest.raises(InputError, match="nope"):
        compare_groups(t, value="nope", group="g")
    with pytest.raises(InputError, match="unknown test"):
        compare_groups(t, value="v", group="g", test="anova")
