"""limma 3.54.1 parity: eBayes, trend, treat and a blocked (GLS) fit on ALL_bcell and
paired_small (../shared/reference/expression)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from preclin.expression import design_matrix, ebayes, lm_fit, top_table, treat

CASES = {"ALL_bcell": ("~ mol_biol", "mol_biolNEG", "limma_ebayes", "limma_trend",
                       "limma_treat", "ebayes", "trend"),
         "paired_small": ("~ patient + trt", "trtLEN", "paired", "paired_trend",
                          "paired_treat", "paired", "paired_trend")}
LFC = float(np.log2(1.5))


@pytest.fixture(scope="module", params=list(CASES))
def case(request: pytest.FixtureRequest, expr_ref: Path):  # type: ignore[no-untyped-def]
    name = request.param
    d = expr_ref / name
    expr = pd.read_csv(d / "expr.csv.gz", index_col=0)
    samples = pd.read_csv(d / "samples.csv", dtype=str)
    scal = json.loads((d / "expected_scalars.json").read_text())
    formula, coef = CASES[name][:2]
    fit = lm_fit(expr[samples["sample"].tolist()], design_matrix(formula, samples))
    return name, d, fit, coef, scal


def _rel(a: np.ndarray, b: np.ndarray, floor: float = 0.0) -> float:
    return float(np.max(np.abs(a - b) / np.maximum(np.abs(a), floor)))


def _merge(ref: pd.DataFrame, tab: pd.DataFrame) -> pd.DataFrame:
    m = ref.merge(tab, left_on="probe", right_on="feature", suffixes=("", "_py"))
    assert len(m) == len(ref) == len(tab)
    return m


def test_ebayes(case) -> None:  # type: ignore[no-untyped-def]
    name, d, fit, coef, scal = case
    key = CASES[name][5]
    mod = ebayes(fit)
    assert mod.df_prior == pytest.approx(scal[key]["df_prior"], rel=1e-10)
    assert mod.s2_prior[0] == pytest.approx(scal[key]["s2_prior"], rel=1e-10)
    ref = pd.read_csv(d / f"{CASES[name][2]}_toptable.csv.gz")
    m = _merge(ref, top_table(mod, coef, extra=True))
    assert _rel(m["logFC"], m["logfc"], 1e-3) < 1e-9
    assert _rel(m["AveExpr"], m["ave_expr"]) < 1e-12
    assert _rel(m["t"], m["t_py"], 1e-3) < 1e-9
    assert _rel(m["P.Value"], m["p_value"]) < 1e-8
    assert _rel(m["adj.P.Val"], m["adj_p_value"]) < 1e-8
    assert np.max(np.abs(m["B"] - m["b"])) < 1e-8
    assert _rel(m["s2.post"], m["s2_post"]) < 1e-10
    assert _rel(m["df.total"], m["df_total"]) < 1e-10


def test_trend(case) -> None:  # type: ignore[no-untyped-def]
    name, d, fit, coef, scal = case
    mod = ebayes(fit, trend=True)
    assert mod.df_prior == pytest.approx(scal[CASES[name][6]]["df_prior"], rel=1e-10)
    ref = pd.read_csv(d / f"{CASES[name][3]}_toptable.csv.gz")
    m = _merge(ref, top_table(mod, coef, extra=True))
    assert _rel(m["s2.prior"], m["s2_prior"]) < 1e-10
    assert _rel(m["t"], m["t_py"], 1e-3) < 1e-9
    assert _rel(m["P.Value"], m["p_value"]) < 1e-8
    assert _rel(m["adj.P.Val"], m["adj_p_value"]) < 1e-8
    assert np.max(np.abs(m["B"] - m["b"])) < 1e-8


def test_treat(case) -> None:  # type: ignore[no-untyped-def]
    name, d, fit, coef, scal = case
    mod = treat(fit, lfc=LFC)
    ref = pd.read_csv(d / f"{CASES[name][4]}_toptable.csv.gz")
    tab = top_table(mod, coef)
    m = _merge(ref, tab)
    assert _rel(m["t"], m["t_py"], 1e-3) < 1e-9
    assert _rel(m["P.Value"], m["p_value"]) < 1e-8
    assert _rel(m["adj.P.Val"], m["adj_p_value"]) < 1e-8
    assert tab["b"].isna().all()
    assert tab["p_value"].is_monotonic_increasing


def test_blocked_fit_with_r_consensus(expr_ref: Path) -> None:
    d = expr_ref / "paired_small"
    expr = pd.read_csv(d / "expr.csv.gz", index_col=0)
    samples = pd.read_csv(d / "samples.csv", dtype=str)
    scal = json.loads((d / "expected_scalars.json").read_text())["blocked"]
    fit = lm_fit(expr, design_matrix("~ trt", samples), block=samples["patient"].tolist(),
                 correlation=scal["consensus_correlation"])
    mod = ebayes(fit)
    assert mod.df_prior == pytest.approx(scal["df_prior"], rel=1e-10)
    assert mod.s2_prior[0] == pytest.approx(scal["s2_prior"], rel=1e-10)
    m = _merge(pd.read_csv(d / "blocked_toptable.csv.gz"), top_table(mod, "trtLEN"))
    assert _rel(m["t"], m["t_py"], 1e-3) < 1e-8
    assert _rel(m["P.Value"], m["p_value"]) < 1e-8
    assert np.max(np.abs(m["B"] - m["b"])) < 1e-8


def test_seed_filter_counts(expr_ref: Path) -> None:
    from preclin.expression import differential_expression

    d = expr_ref / "paired_small"
    expr = pd.read_csv(d / "expr.csv.gz", index_col=0)
    samples = pd.read_csv(d / "samples.csv", dtype=str)
    res = differential_expression(expr, samples, design="~ patient + trt", coef="LEN")
    assert res.coef == "trtLEN"
    assert (res.table["call"] == "up").sum() == 620
    assert (res.table["call"] == "down").sum() == 925
    assert (res.table["call_fdr"] != "").sum() == 0
    assert "620 up, 925 down" in res.summary()
