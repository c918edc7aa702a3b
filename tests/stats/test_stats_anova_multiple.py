"""ANOVA family and multiple comparisons against R (aov, TukeyHSD, multcomp, formulas)."""

from __future__ import annotations

import numpy as np
import pytest

from preclin.stats import (
    adjust_p,
    dunn,
    friedman,
    kruskal_wallis,
    one_way_anova,
    posthoc,
    repeated_measures_anova,
    two_way_anova,
    welch_anova,
)

REL = 1e-6


def close(a: float, b: float, rel: float = REL, abs_: float = 1e-12) -> bool:
    return bool(np.isclose(a, b, rtol=rel, atol=abs_))


def test_one_way_and_welch(ref, ref_data) -> None:
    d = ref_data("oneway")
    a = one_way_anova(d.volume, d.arm).set_index("effect")
    assert close(a.loc["group", "statistic"], ref("oneway_anova", "F"))
    assert close(a.loc["group", "p_value"], ref("oneway_anova", "p_value"))
    assert close(a.loc["group", "ss"], ref("oneway_anova", "ss_between"))
    assert close(a.loc["Residuals", "ss"], ref("oneway_anova", "ss_within"))
    assert a.loc["group", "df"] == 3 and a.loc["Residuals", "df"] == 16
    w = welch_anova(d.volume, d.arm).iloc[0]
    assert close(w.statistic, ref("oneway_welch", "statistic"))
    assert close(w.df_den, ref("oneway_welch", "df[2]"))
    assert close(w.p_value, ref("oneway_welch", "p_value"))


def test_tukey_kramer(ref, ref_data) -> None:
    d = ref_data("oneway")
    t = posthoc(d.volume, d.arm, method="tukey")
    assert len(t) == 6
    for r in t.itertuples():
        case = f"tukey:{r.group2}-{r.group1}"  # R: later level minus earlier level
        assert close(-r.diff, ref(case, "diff"))
        # R's ptukey is accurate to ~1e-11 absolute (tiny p: 1e-5 relative); scipy's
        # studentized_range integrates to higher precision
        assert close(r.p_adj, ref(case, "p_adj"), abs_=1e-10)
        assert close(-r.upper, ref(case, "lwr"))  # R's qtukey vs scipy: ~1e-8 relative
        assert close(-r.lower, ref(case, "upr"))


def test_dunnett_vs_control(ref, ref_data) -> None:
    d = ref_data("oneway")
    t = posthoc(d.volume, d.arm, method="dunnett", control="vehicle")
    assert list(t.group2) == ["drugA", "drugB", "drugC"]
    for r in t.itertuples():
        case = f"dunnett:{r.group2}-vehicle"
        assert close(-r.statistic, ref(case, "t"))
        assert close(r.p_adj, ref(case, "p_adj"))  # deterministic integral in R
        assert close(r.p_adj, ref(case, "multcomp_p_adj"), rel=0.3, abs_=1e-6)  # randomised
        assert close(-r.upper, ref(case, "lower"))
        assert close(-r.lower, ref(case, "upper"))


@pytest.mark.parametrize("control,family", [(None, "lsd_all"), ("vehicle", "lsd_control")])
@pytest.mark.parametrize("method,key,ci", [("sidak", "p_sidak", "sidak"),
                                          ("holm-sidak", "p_holm_sidak", None),
                                          ("bonferroni", "p_bonferroni", "bonf")])
def test_sidak_holm_sidak_bonferroni(ref, ref_data, control, family, method, key, ci) -> None:
    d = ref_data("oneway")
    t = posthoc(d.volume, d.arm, method=method, control=control)
    for r in t.itertuples():
        case = f"{family}:{r.group2}-{r.group1}"
        assert close(-r.statistic, ref(case, "t"))
        assert close(r.p_unadj, ref(case, "p_unadj"))
        assert close(r.p_adj, ref(case, key))
        if ci:
            assert close(-r.upper, ref(case, f"{ci}_lower"))
            assert close(-r.lower, ref(case, f"{ci}_upper"))
        else:
            assert np.isnan(r.lower)


def test_adjust_p_holm_matches_p_adjust(ref, ref_data) -> None:
    d = ref_data("oneway")
    t = posthoc(d.volume, d.arm, method="fisher")
    holm = adjust_p(t.p_unadj.to_numpy(), "holm")
    for r, h in zip(t.itertuples(), holm, strict=True):
        assert close(h, ref(f"lsd_all:{r.group2}-{r.group1}", "p_holm"))
    assert np.isnan(adjust_p([0.01, np.nan], "bonferroni")[1])
    with pytest.raises(ValueError):
        adjust_p([0.1], "fdr-magic")


def test_kruskal_wallis_and_dunn(ref, ref_data) -> None:
    d = ref_data("kruskal")
    k = kruskal_wallis(d.score, d.group).iloc[0]
    assert close(k.statistic, ref("kruskal", "statistic"))
    assert close(k.p_value, ref("kruskal", "p_value"))
    t = dunn(d.score, d.group)
    for r in t.itertuples():
        case = f"dunn:{r.group2}-{r.group1}"
        assert close(-r.diff, ref(case, "mean_rank_diff"))
        assert close(-r.statistic, ref(case, "z"))
        assert close(r.p_unadj, ref(case, "p_unadj"))
        assert close(r.p_adj, ref(case, "p_bonferroni"))


@pytest.mark.parametrize("case,drop", [("twoway", []), ("twoway_unbal", [1, 13])])
def test_two_way(ref, ref_data, case, drop) -> None:
    d = ref_data("twoway").drop(index=drop)
    t = two_way_anova(d.response, d.drug, d.genotype, names=("drug", "genotype"))
    for r in t.itertuples():
        c = f"{case}:{r.effect}"
        assert r.df == ref(c, "df")
        assert close(r.ss, ref(c, "ss"))
        if r.effect != "Residuals":
            assert close(r.statistic, ref(c, "F"))
            assert close(r.p_value, ref(c, "p_value"))


def test_repeated_measures_and_friedman(ref, ref_data) -> None:
    d = ref_data("repeated")
    t = repeated_measures_anova(d.value, d.subject, d.condition).set_index("effect")
    c = t.loc["condition"]
    assert close(c.statistic, ref("rm_anova", "F"))
    assert close(c.p_value, ref("rm_anova", "p_value"))
    assert (c.df, c.df_den) == (ref("rm_anova", "df1"), ref("rm_anova", "df2"))
    assert close(c.ss, ref("rm_anova", "ss_condition"))
    assert close(t.loc["Residuals", "ss"], ref("rm_anova", "ss_error"))
    assert close(t.loc["subject", "ss"], ref("rm_anova", "ss_subject"))
    assert close(c.epsilon, ref("rm_anova", "gg_epsilon"))
    assert close(c.p_gg, ref("rm_anova", "gg_p_value"))
    f = friedman(d.value, d.subject, d.condition).iloc[0]
    assert close(f.statistic, ref("friedman", "statistic"))
    assert close(f.p_value, ref("friedman", "p_value"))
    ft = ref_data("friedman_ties")
    f = friedman(ft.value, ft.subject, ft.condition).iloc[0]
    assert close(f.statistic, ref("friedman_ties", "statistic"))
    assert close(f.p_value, ref("friedman_ties", "p_value"))
    with pytest.raises(ValueError):
        repeated_measures_anova(d.value[:-1], d.subject[:-1], d.condition[:-1])


def test_bh_adjustment_equals_r_p_adjust() -> None:
    """R 4.2.2: p.adjust(c(0.01, 0.04, 0.03, 0.5, 0.001), "BH") = 0.025 0.05 0.05 0.5 0.005;
    NaN is left out of the family."""
    from preclin.stats.multiple import adjust_p

    got = adjust_p(np.array([0.01, 0.04, np.nan, 0.03, 0.5, 0.001]), "bh")
    np.testing.assert_allclose(got, [0.025, 0.05, np.nan, 0.05, 0.5, 0.005], rtol=1e-12)
    np.testing.assert_array_equal(adjust_p([0.2, 0.01], "fdr"), adjust_p([0.2, 0.01], "bh"))
