"""duplicate_correlation (Smyth, Michaud & Scott 2005) and robust empirical Bayes (Phipson et
al. 2016) against R 4.2.2 / limma 3.54.1 / statmod 1.5.0.

References: ../shared/reference/expression/paired_small (duplicateCorrelation, blocked fit;
skipped when ../shared is absent) and tests/data/expression/robust (in the repository:
eBayes(robust=TRUE) on ALL_bcell and paired_small — whose inputs are in ../shared — and on two
simulated data sets stored with their inputs, so those tests always run; see its README.md).
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from preclin.cli import main
from preclin.errors import InputError
from preclin.expression import (
    design_matrix,
    differential_expression,
    duplicate_correlation,
    ebayes,
    fit_f_dist_robust,
    lm_fit,
    top_table,
    treat,
)

ROBUST = Path(__file__).resolve().parents[1] / "data" / "expression" / "robust"
LFC = float(np.log2(1.5))


def _scalars() -> dict:  # type: ignore[type-arg]
    def num(d: dict) -> dict:  # type: ignore[type-arg]
        return {k: (num(v) if isinstance(v, dict) else float(v) if v == "inf" else v)
                for k, v in d.items()}
    return num(json.loads((ROBUST / "expected_scalars.json").read_text()))


SC = _scalars()


def _rel(ours: np.ndarray, ref: np.ndarray, floor: float = 0.0) -> float:
    """Largest relative deviation; NaN must sit at the same places; equal values count 0."""
    a, b = np.asarray(ours, float), np.asarray(ref, float)
    assert np.array_equal(np.isnan(a), np.isnan(b))
    keep = ~np.isnan(a) & (a != b)
    if not keep.any():
        return 0.0
    return float(np.max(np.abs(a[keep] - b[keep]) / np.maximum(np.abs(b[keep]), floor)))


def _abs(ours: np.ndarray, ref: np.ndarray) -> float:
    a, b = np.asarray(ours, float), np.asarray(ref, float)
    assert np.array_equal(np.isnan(a), np.isnan(b))
    return float(np.nanmax(np.abs(a - b)))


def _read(d: Path, name: str) -> tuple[pd.DataFrame, pd.DataFrame]:
    expr = pd.read_csv(d / f"{name}expr.csv.gz", index_col=0)
    samples = pd.read_csv(d / f"{name}samples.csv", dtype=str)
    return expr[samples["sample"].tolist()], samples


# --------------------------------------------------------------------------------------
# duplicate_correlation


def test_dupcor_paired_small(expr_ref: Path) -> None:
    """Balanced pairs: REML has a closed form, so the agreement is to rounding (the README's
    tolerances are 1e-4 per probe and 1e-6 on the consensus)."""
    d = expr_ref / "paired_small"
    expr, samples = _read(d, "")
    ref = pd.read_csv(d / "dupcor_atanh_per_probe.csv.gz")
    assert (ref["probe"].astype(str).to_numpy() == expr.index.astype(str)).all()
    dc = duplicate_correlation(expr, design_matrix("~ trt", samples), samples["patient"])
    assert dc.limits == pytest.approx((-0.99, 0.99))
    assert _abs(dc.atanh_correlations, ref["atanh.correlation"].to_numpy()) < 1e-9
    scal = json.loads((d / "expected_scalars.json").read_text())["blocked"]
    assert abs(dc.consensus - scal["consensus_correlation"]) < 1e-12
    assert dc.n_used == len(expr)
    assert int(np.sum(np.isclose(dc.correlations, -0.99))) == 33
    assert int(np.sum(np.isclose(dc.correlations, 0.99))) == 81


def test_blocked_fit_with_our_consensus(expr_ref: Path) -> None:
    """lm_fit(block=) without a correlation estimates it, then equals R's blocked fit."""
    d = expr_ref / "paired_small"
    expr, samples = _read(d, "")
    scal = json.loads((d / "expected_scalars.json").read_text())["blocked"]
    fit = lm_fit(expr, design_matrix("~ trt", samples), block=samples["patient"].tolist())
    assert fit.correlation_estimated
    assert fit.correlation == pytest.approx(scal["consensus_correlation"], abs=1e-12)
    mod = ebayes(fit)
    assert mod.df_prior == pytest.approx(scal["df_prior"], rel=1e-9)
    ref = pd.read_csv(d / "blocked_toptable.csv.gz").set_index("probe")
    tab = top_table(mod, "trtLEN").set_index("feature").loc[ref.index]
    assert _rel(tab["t"].to_numpy(), ref["t"].to_numpy(), 1e-3) < 1e-8
    assert _rel(tab["p_value"].to_numpy(), ref["P.Value"].to_numpy()) < 1e-8
    assert _abs(tab["b"].to_numpy(), ref["B"].to_numpy()) < 1e-8
    res = differential_expression(expr, samples, design="~ trt", coef="LEN", block="patient")
    assert res.settings["correlation_estimated"] is True
    assert res.settings["correlation"] == pytest.approx(scal["consensus_correlation"],
                                                       abs=1e-12)
    assert "estimated by duplicate_correlation" in res.summary()


def test_dupcor_unbalanced_with_missing_values() -> None:
    """Unbalanced blocks (2, 2, 2, 3 and a single-array block) and missing values.

    Fisher scoring stops after 21 steps or when score·step < 1e-6, so the estimate of a slowly
    converging feature depends on the path taken. Measured: 1,920 of the 1,994 estimable
    features equal R to 1e-12 and 1,952 to 1e-4; for the others statmod's damped step could
    not be reproduced from its documented behaviour (the atanh correlations differ by up to
    0.026; in 36 of the 38 complete ones our REML likelihood is the higher). The consensus
    differs by 1.2e-5.
    """
    expr, samples = _read(ROBUST, "sim_")
    ref = pd.read_csv(ROBUST / "sim_results.csv.gz", index_col=0)["dupcor_atanh"].to_numpy()
    dc = duplicate_correlation(expr, design_matrix("~ grp", samples), samples["block"])
    assert np.array_equal(np.isnan(dc.atanh_correlations), np.isnan(ref))
    # 5 features on 2 arrays of one block; 1 on 6 arrays in 5 blocks (blocks < arrays - 1)
    assert int(np.isnan(ref).sum()) == 6
    diff = np.abs(dc.atanh_correlations - ref)[~np.isnan(ref)]
    assert np.mean(diff < 1e-9) > 0.95
    assert np.mean(diff < 1e-4) > 0.975
    assert diff.max() < 0.05
    assert abs(dc.consensus - SC["sim"]["consensus_correlation"]) < 3e-5
    assert dc.limits[0] == pytest.approx(1 / (1 - 3) + 0.01)
    assert dc.n_used == len(expr) - 6


def test_blocked_fit_missing_values_sim() -> None:
    """GLS on the observed samples of each feature (the correlation matrix subset)."""
    expr, samples = _read(ROBUST, "sim_")
    ref = pd.read_csv(ROBUST / "sim_results.csv.gz", index_col=0)
    fit = lm_fit(expr, design_matrix("~ grp", samples), block=samples["block"].tolist(),
                 correlation=SC["sim"]["consensus_correlation"])
    assert not fit.correlation_estimated
    mod = ebayes(fit)
    assert mod.df_prior == pytest.approx(SC["sim"]["blocked_df_prior"], rel=1e-10)
    assert _rel(mod.t[:, 1], ref["blocked_t"], 1e-3) < 1e-9
    assert _rel(mod.p_value[:, 1], ref["blocked_P"]) < 1e-10
    assert _abs(mod.lods[:, 1], ref["blocked_B"]) < 1e-10  # type: ignore[index]
    assert _rel(mod.s2_post, ref["blocked_s2_post"]) < 1e-10
    rob = ebayes(fit, robust=True)
    assert _rel(rob.t[:, 1], ref["brobust_t"], 1e-3) < 1e-9
    assert _rel(rob.p_value[:, 1], ref["brobust_P"]) < 1e-10
    assert _abs(rob.lods[:, 1], ref["brobust_B"]) < 1e-10  # type: ignore[index]
    assert _rel(rob.df_prior_feature, ref["brobust_df_prior"]) < 1e-10  # type: ignore[arg-type]


def test_dupcor_edge_cases() -> None:
    rng = np.random.default_rng(1)
    x = np.column_stack([np.ones(6), [0, 1, 0, 1, 0, 1]])
    y = rng.normal(size=(200, 6)) + np.repeat(rng.normal(size=(200, 3)), 2, axis=1)
    # every block a single array: no within-block pair
    with pytest.raises(InputError, match="every block has one sample"):
        duplicate_correlation(y, x, list("abcdef"))
    with pytest.raises(InputError, match="single level"):
        duplicate_correlation(y, x, ["a"] * 6)
    with pytest.raises(InputError, match="block has 5 values"):
        duplicate_correlation(y, x, list("aabbc"))
    # a block of one array is fine: it informs the between-block variance only
    dc = duplicate_correlation(y, x, ["a", "a", "b", "b", "c", "d"])
    assert np.isfinite(dc.consensus) and 0 < dc.consensus < 0.99
    # missing values: a feature left with 3 arrays (rank 2 + 2 needed) has no estimate
    y2 = y.copy()
    y2[0, :3] = np.nan
    y2[1, 0] = np.nan
    y2[2] = 5.0  # constant: no variation
    dc2 = duplicate_correlation(y2, x, ["a", "a", "b", "b", "c", "c"])
    assert np.isnan(dc2.atanh_correlations[[0, 2]]).all()
    assert np.isfinite(dc2.atanh_correlations[1])
    assert dc2.n_used == 198
    with pytest.raises(InputError, match="no feature"):
        duplicate_correlation(np.full((3, 6), 2.0), x, ["a", "a", "b", "b", "c", "c"])
    # with the correlation given, a block is needed; too negative a correlation is refused
    with pytest.raises(InputError, match="needs a block"):
        lm_fit(y, x, correlation=0.2)
    with pytest.raises(InputError, match="not positive definite"):
        lm_fit(y, x, block=["a", "a", "a", "b", "b", "b"], correlation=-0.6)


def test_dupcor_recovers_the_simulated_correlation_50k_features() -> None:
    """Block variance = residual variance = 1 gives an intra-block correlation of 0.5;
    50,000 features × 10 arrays in 5 blocks of 2 (timed in benchmarks/bench_expression.py
    --dupcor, not here)."""
    rng = np.random.default_rng(0)
    y = rng.normal(size=(50_000, 10)) + np.repeat(rng.normal(size=(50_000, 5)), 2, axis=1)
    x = np.column_stack([np.ones(10), np.tile([0, 1], 5)])
    dc = duplicate_correlation(y, x, list("AABBCCDDEE"))
    assert dc.consensus == pytest.approx(0.5, abs=0.01)
    wrong = duplicate_correlation(y, x, list("AAABBCCDEE"))  # blocks that mix the pairs
    assert wrong.consensus < 0.4


# --------------------------------------------------------------------------------------
# robust empirical Bayes


CASES = {"ALL_bcell": ("~ mol_biol", "mol_biolNEG"), "paired_small": ("~ patient + trt", "trtLEN"),
         "sim": ("~ grp", "grptrt"), "sim_inf": ("~ g", "gb")}


def _case(name: str, expr_ref: Path | None):  # type: ignore[no-untyped-def]
    if name in ("sim", "sim_inf"):
        ref = pd.read_csv(ROBUST / f"{name}_results.csv.gz", index_col=0)
        if name == "sim":
            expr, samples = _read(ROBUST, "sim_")
        else:
            expr = pd.read_csv(ROBUST / "sim_inf_expr.csv.gz", index_col=0)
            samples = pd.DataFrame({"sample": expr.columns, "g": ["a"] * 3 + ["b"] * 3})
    else:
        assert expr_ref is not None
        expr, samples = _read(expr_ref / name, "")
        ref = pd.read_csv(ROBUST / f"{name}_robust.csv.gz", index_col=0)
    assert (ref.index.astype(str) == expr.index.astype(str)).all()
    formula, coef = CASES[name]
    fit = lm_fit(expr, design_matrix(formula, samples))
    return fit, fit.coef_index(coef), ref, SC[name]


@pytest.fixture(params=list(CASES))
def robust_case(request: pytest.FixtureRequest):  # type: ignore[no-untyped-def]
    name = request.param
    shared = None
    if name in ("ALL_bcell", "paired_small"):
        shared = request.getfixturevalue("expr_ref")
    return (name, *_case(name, shared))


def test_ebayes_robust(robust_case) -> None:  # type: ignore[no-untyped-def]
    """t to 1e-9 relative (floor 1e-3: near-zero t carry the last bits of β̂), P and
    df.prior to 1e-10, B to 1e-10 absolute. Measured: t 1.2e-11, P 9e-14, B 8e-14,
    df.prior 2.3e-14 (all four cases)."""
    name, fit, j, ref, sc = robust_case
    mod = ebayes(fit, robust=True)
    assert mod.robust and mod.winsor_tail_p == (0.05, 0.1)
    if np.isinf(sc["df2"]):
        assert np.isinf(mod.df_prior)
    else:
        assert mod.df_prior == pytest.approx(sc["df2"], rel=1e-10)
    assert mod.s2_prior[0] == pytest.approx(sc["s2_prior"], rel=1e-10)
    assert _rel(mod.t[:, j], ref["robust_t"], 1e-3) < 1e-9
    assert _rel(mod.p_value[:, j], ref["robust_P"]) < 1e-10
    assert _abs(mod.lods[:, j], ref["robust_B"]) < 1e-10  # type: ignore[index]
    assert _rel(mod.df_prior_feature, ref["robust_df_prior"]) < 1e-10  # type: ignore[arg-type]
    if "robust_s2_post" in ref:
        assert _rel(mod.s2_post, ref["robust_s2_post"]) < 1e-10
    if name != "sim_inf":
        assert np.sum(mod.df_prior_feature < mod.df_prior) == sc["n_df_prior_below_df2"]
        # the non-robust estimate is the lower bound of the robust one
        assert mod.df_prior >= sc["nonrobust_df_prior"] * (1 - 1e-12)
    tab = top_table(mod, j, extra=True)
    assert "df_prior" in tab.columns


@pytest.mark.parametrize("robust_case", ["ALL_bcell", "paired_small", "sim"], indirect=True)
def test_ebayes_robust_trend_and_treat(robust_case) -> None:  # type: ignore[no-untyped-def]
    """The trend of the robust prior is a lowess curve (span 0.4, 4 passes); sim_inf has only
    the plain robust fit stored."""
    name, fit, j, ref, sc = robust_case
    mod = ebayes(fit, robust=True, trend=True)
    assert mod.df_prior == pytest.approx(sc["trend_df2"], rel=1e-10)
    assert _rel(mod.s2_prior, ref["rtrend_s2_prior"]) < 1e-10
    assert _rel(mod.t[:, j], ref["rtrend_t"], 1e-3) < 1e-9
    assert _rel(mod.p_value[:, j], ref["rtrend_P"]) < 1e-10
    assert _abs(mod.lods[:, j], ref["rtrend_B"]) < 1e-10  # type: ignore[index]
    assert _rel(mod.df_prior_feature, ref["rtrend_df_prior"]) < 1e-10  # type: ignore[arg-type]
    tr = treat(fit, lfc=LFC, robust=True)
    assert _rel(tr.t[:, j], ref["rtreat_t"], 1e-3) < 1e-9
    assert _rel(tr.p_value[:, j], ref["rtreat_P"]) < 1e-10


def test_robust_units() -> None:
    rng = np.random.default_rng(3)
    s2 = 0.05 * rng.chisquare(4, 3000) / 4  # no spread beyond sampling, no outlier
    fit = fit_f_dist_robust(s2, 4)
    assert fit.df2 > 50
    s2[:30] *= 50  # hypervariable features get fewer prior df, the rest keep df2
    fit = fit_f_dist_robust(s2, 4)
    assert np.all(fit.df2_shrunk[:30] < fit.df2)
    assert np.median(fit.df2_shrunk[30:]) == fit.df2
    assert fit.df2 >= fit.df2_nonrobust
    with pytest.raises(InputError, match="winsor_tail_p"):
        fit_f_dist_robust(s2, 4, winsor_tail_p=(0.05, 0.6))
    with pytest.raises(InputError, match="fewer than two"):
        fit_f_dist_robust([0.1, np.nan], 4)
    # without robust the per-feature prior df are the common one
    x = np.column_stack([np.ones(6), [0, 0, 0, 1, 1, 1]])
    lf = lm_fit(rng.normal(size=(500, 6)), x)
    mod = ebayes(lf)
    assert not mod.robust and np.all(mod.df_prior_feature == mod.df_prior)  # type: ignore[operator]
    assert "df_prior" not in top_table(mod, 1, extra=True).columns


# --------------------------------------------------------------------------------------
# command line and study kind


def _sim(n: int = 300, seed: int = 0) -> tuple[pd.DataFrame, pd.DataFrame]:
    rng = np.random.default_rng(seed)
    samples = pd.DataFrame({"sample": [f"s{i}" for i in range(8)],
                            "patient": ["P1", "P1", "P2", "P2", "P3", "P3", "P4", "P4"],
                            "trt": ["DMSO", "LEN"] * 4})
    x = rng.normal(8, 0.3, (n, 8)) + np.repeat(rng.normal(0, 0.3, (n, 4)), 2, axis=1)
    x[:20, 1::2] += 1.5
    x[20:26] += rng.normal(0, 3, (6, 8))  # hypervariable
    return pd.DataFrame(x, index=[f"g{i}" for i in range(n)], columns=samples["sample"]), \
        samples


def test_cli_block_and_robust(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    m, s = _sim()
    m.rename_axis("probe").to_csv(tmp_path / "m.csv")
    s.to_csv(tmp_path / "s.csv", index=False)
    out = tmp_path / "de.csv"
    base = ["expression", "de", str(tmp_path / "m.csv"), "--samples", str(tmp_path / "s.csv"),
            "--design", "~ trt", "--coef", "LEN", "--out", str(out)]
    assert main([*base, "--block", "patient", "--robust"]) == 0
    err = capsys.readouterr().err
    tab = pd.read_csv(out)
    assert list(tab.columns) == ["feature", "logfc", "ave_expr", "t", "p_value",
                                 "adj_p_value", "b", "df_prior"]
    assert len(tab) == 300 and tab["p_value"].is_monotonic_increasing
    expected = differential_expression(m, s, design="~ trt", coef="LEN", block="patient",
                                       robust=True)
    rho = expected.settings["correlation"]
    assert f"intra-block correlation {rho:.4g} (estimated by duplicate_correlation)" in err
    assert "robust; smaller for" in err
    np.testing.assert_allclose(tab.set_index("feature").loc[expected.table["feature"], "t"],
                               expected.table["t"], rtol=1e-12)
    hyper = [f"g{i}" for i in range(20, 26)]
    assert tab.set_index("feature").loc[hyper, "df_prior"].max() < tab["df_prior"].max()
    assert main([*base, "--block", "patient", "--correlation", "0.3"]) == 0
    assert "intra-block correlation 0.3 (given)" in capsys.readouterr().err
    assert main([*base, "--correlation", "0.3"]) == 2
    assert "--correlation needs --block" in capsys.readouterr().err
    assert main([*base, "--block", "donor"]) == 2


def test_study_kind_block_and_robust(tmp_path: Path) -> None:
    from preclin.study import Study
    from preclin.study.kinds import RunContext, get_kind

    example = get_kind("expression").example(tmp_path / "ex")
    text = example.read_text(encoding="utf-8").split("[experiment.enrichment]")[0]
    text = text.replace('design = "~ patient + treatment"',
                        'design = "~ treatment"\nblock = "patient"\nrobust = true')
    variant = example.with_name("variant.toml")
    variant.write_text(text, encoding="utf-8")
    spec = next(e for e in Study.load(variant).spec.experiment if e.kind == "expression")
    ctx = RunContext(base=variant.parent, out=tmp_path / "out", experiment=spec.name,
                     study_file=variant)
    out = get_kind("expression").run(spec, ctx)
    de = out.result["de"]  # type: ignore[index]
    assert de.settings["block"] == "patient" and de.settings["correlation_estimated"]
    assert de.settings["robust"] is True
    assert "df_prior" in out.table("de").columns
