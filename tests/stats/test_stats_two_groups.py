"""Two-group tests against R 4.2.2 t.test / wilcox.test (tests/data/stats_reference)."""

from __future__ import annotations

import math

import numpy as np
import pytest

from preclin.stats import mann_whitney, paired_t, student, welch, wilcoxon_signed_rank


def check(res, ref, case, log=False, tol=1e-9, effect=True, estimate_key="estimate"):
    assert res.statistic == pytest.approx(ref(case, "statistic"), rel=tol, abs=tol)
    assert res.p_value == pytest.approx(ref(case, "p_value"), rel=1e-7, abs=1e-12)
    try:
        df = ref(case, "df")
    except KeyError:
        assert math.isnan(res.df)
    else:
        assert res.df == pytest.approx(df, rel=tol)
    if effect:
        f = np.log10 if log else (lambda v: v)
        try:
            est = ref(case, estimate_key)
        except KeyError:  # two-sample t.test: estimate is the two means
            est = ref(case, "estimate[1]") - ref(case, "estimate[2]")
        assert f(res.effect) == pytest.approx(est, rel=tol, abs=tol)
        assert f(res.effect_lower) == pytest.approx(ref(case, "conf_int[1]"), rel=tol, abs=tol)
        assert f(res.effect_upper) == pytest.approx(ref(case, "conf_int[2]"), rel=tol, abs=tol)


def test_paired_three_donors(ref, ref_data) -> None:
    d = ref_data("paired")
    check(paired_t(d.drug, d.vehicle), ref, "paired_t")
    check(welch(d.drug, d.vehicle), ref, "paired_welch")
    r = wilcoxon_signed_rank(d.drug, d.vehicle)
    check(r, ref, "paired_wilcoxon")
    assert r.method == "exact" and r.conf_level == pytest.approx(0.75)  # R: not achievable


def test_ic50_log_scale_ratio(ref, ref_data) -> None:
    d = ref_data("ic50")
    xr, xs = d.ic50[d.group == "resistant"], d.ic50[d.group == "sensitive"]
    r = welch(xr, xs, log=True)
    check(r, ref, "ic50_welch_log", log=True)
    assert r.effect_kind == "ratio of geometric means" and r.effect > 1
    check(student(xr, xs, log=True), ref, "ic50_student_log", log=True)
    check(welch(xr, xs), ref, "ic50_welch_raw")
    r = mann_whitney(xr, xs, log=True)
    check(r, ref, "ic50_mw_log", log=True)
    assert r.method == "exact" and r.effect_kind == "Hodges-Lehmann ratio"
    check(mann_whitney(xr, xs), ref, "ic50_mw_raw")


def test_mann_whitney_ties_normal_approximation(ref, ref_data) -> None:
    d = ref_data("ties")
    a, b = d.score[d.group == "a"], d.score[d.group == "b"]
    r = mann_whitney(b, a)
    check(r, ref, "ties_mw", effect=False)
    assert r.method.startswith("normal approximation")
    # the exact jump points (hand computation in R) ...
    assert r.effect == pytest.approx(ref("ties_mw", "hand_estimate"), abs=1e-12)
    assert r.effect_lower == pytest.approx(ref("ties_mw", "hand_ci_lower"), abs=1e-12)
    assert r.effect_upper == pytest.approx(ref("ties_mw", "hand_ci_upper"), abs=1e-12)
    # ... which R's uniroot(tol = 1e-4) approaches
    assert r.effect == pytest.approx(ref("ties_mw", "estimate"), abs=1e-4)
    assert r.effect_lower == pytest.approx(ref("ties_mw", "conf_int[1]"), abs=1e-4)
    assert r.effect_upper == pytest.approx(ref("ties_mw", "conf_int[2]"), abs=1e-4)
    check(student(b, a), ref, "ties_student")


def test_signed_rank_ties_and_zero(ref, ref_data) -> None:
    d = ref_data("signedrank_ties")
    r = wilcoxon_signed_rank(d.after, d.before)
    check(r, ref, "sr_ties", effect=False)
    assert r.n1 == 10 and r.method.startswith("normal approximation")
    for mine, case in ((r.effect, "estimate"), (r.effect_lower, "conf_int[1]"),
                       (r.effect_upper, "conf_int[2]")):
        assert mine == pytest.approx(ref("sr_ties", case), abs=1e-4)
    assert r.effect == pytest.approx(ref("sr_ties", "hand_estimate"), abs=1e-12)
    assert r.effect_lower == pytest.approx(ref("sr_ties", "hand_ci_lower"), abs=1e-12)
    assert r.effect_upper == pytest.approx(ref("sr_ties", "hand_ci_upper"), abs=1e-12)
    check(paired_t(d.after, d.before), ref, "sr_ties_t")


def test_signed_rank_exact(ref, ref_data) -> None:
    d = ref_data("signedrank_exact")
    r = wilcoxon_signed_rank(d.after, d.before)
    check(r, ref, "sr_exact")
    assert r.method == "exact"
    check(paired_t(d.after, d.before), ref, "sr_exact_t")


def test_bad_input_raises() -> None:
    with pytest.raises(ValueError):
        welch([1.0], [2.0, 3.0])
    with pytest.raises(ValueError):
        welch([1.0, -2.0], [2.0, 3.0], log=True)
    with pytest.raises(ValueError):
        paired_t([1.0, 2.0], [2.0, 3.0, 4.0])
    with pytest.raises(ValueError):
        wilcoxon_signed_rank([1.0, 2.0], [1.0, 2.0])
