"""RMA stages vs oligo::basicRMA / preprocessCore, hclust vs R (../shared/reference)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from preclin.expression import hclust, median_polish_summarize, quantile_normalize, rma


@pytest.mark.parametrize("case", ["small", "large"])
def test_rma_stages(expr_ref: Path, case: str) -> None:
    d = expr_ref / "rma_small"
    sfx = ".csv" if case == "small" else ".csv.gz"
    pm = pd.read_csv(d / f"{case}_pm{sfx}", dtype={"probe": str, "probeset": str})
    arrays = [c for c in pm.columns if c not in ("probe", "probeset")]
    res = rma(pm)
    bg = pd.read_csv(d / f"{case}_expected_background{sfx}")[arrays].to_numpy()
    qn = pd.read_csv(d / f"{case}_expected_normalized{sfx}")[arrays].to_numpy()
    ex = pd.read_csv(d / f"{case}_expected_rma{sfx}", dtype={"probeset": str})
    ex = ex.set_index("probeset")[arrays]
    assert np.max(np.abs(res.background - bg) / bg) < 1e-10
    assert np.max(np.abs(res.normalized - qn) / qn) < 1e-10
    assert list(res.expression.index) == list(ex.index)
    assert np.max(np.abs(res.expression.to_numpy() - ex.to_numpy())) < 1e-10
    # stages on their own, from R's previous stage
    assert np.max(np.abs(quantile_normalize(bg) - qn) / qn) < 1e-10
    vals, names = median_polish_summarize(qn, pm["probeset"].tolist())
    got = pd.DataFrame(vals, index=names).loc[ex.index].to_numpy()
    assert np.max(np.abs(got - ex.to_numpy())) < 1e-10


@pytest.mark.parametrize("case", ["all6_top50", "bcell_top200"])
@pytest.mark.parametrize("what", ["genes", "samples"])
def test_hclust_equals_r(expr_ref: Path, case: str, what: str) -> None:
    d = expr_ref / "clustering"
    sfx = ".csv" if case == "all6_top50" else ".csv.gz"
    x = pd.read_csv(d / f"{case}_x{sfx}", index_col=0)
    x.index = x.index.astype(str)
    tree = hclust(x if what == "genes" else x.T)
    merge = pd.read_csv(d / f"{case}_{what}_merge.csv")
    order = pd.read_csv(d / f"{case}_{what}_order.csv", dtype={"label": str})
    cut = pd.read_csv(d / f"{case}_{what}_cutree.csv", dtype={"label": str})
    np.testing.assert_array_equal(tree.merge, merge[["merge1", "merge2"]].to_numpy())
    assert np.max(np.abs(tree.height - merge["height"].to_numpy())) < 1e-12
    np.testing.assert_array_equal(tree.order + 1, order["index"].to_numpy())
    assert [tree.labels[i] for i in tree.order] == order["label"].tolist()
    assert list(tree.labels) == cut["label"].tolist()
    for k in range(2, 7):
        np.testing.assert_array_equal(tree.cutree(k), cut[f"k{k}"].to_numpy())
