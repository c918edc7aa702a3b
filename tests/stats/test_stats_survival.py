"""Kaplan-Meier, medians, log-rank and hazard ratios against R survival 3.5-3."""

from __future__ import annotations

import math

import numpy as np
import pytest

from preclin.stats import hazard_ratio, kaplan_meier, logrank, median_survival


def close(a: float, b: float, rel: float = 1e-6, abs_: float = 1e-12) -> bool:
    if np.isnan(b):
        return bool(np.isnan(a))
    return bool(np.isclose(a, b, rtol=rel, atol=abs_))


def subset(d, ex):
    return d if ex == "all" else d[d.experiment == ex]


@pytest.mark.parametrize("ex", ["E1", "all"])
def test_kaplan_meier_log_ci(ref, ref_data, ex) -> None:
    d = subset(ref_data("survival"), ex)
    km = kaplan_meier(d.time, d.event, d.arm)
    assert len(km) > 10
    for r in km.itertuples():
        case = f"km_{ex}:{r.group}:{r.time:g}"
        assert r.n_risk == ref(case, "n_risk") and r.n_event == ref(case, "n_event")
        for col in ("surv", "std_err", "lower", "upper"):
            assert close(getattr(r, col), ref(case, col)), (case, col)


@pytest.mark.parametrize("ex", ["E1", "all"])
def test_median_survival(ref, ref_data, ex) -> None:
    d = subset(ref_data("survival"), ex)
    m = median_survival(d.time, d.event, d.arm)
    for r in m.itertuples():
        case = f"median_{ex}:{r.group}"
        assert close(r.median, ref(case, "median"))
        assert close(r.median_lower, ref(case, "lower"))
        assert close(r.median_upper, ref(case, "upper"))
    assert m.n.sum() == len(d) and m.events.sum() == d.event.sum()


@pytest.mark.parametrize("ex", ["E1", "all"])
def test_logrank_and_hazard_ratios(ref, ref_data, ex) -> None:
    d = subset(ref_data("survival"), ex)
    lr = logrank(d.time, d.event, d.arm)
    assert lr.df == 2
    assert close(lr.chisq, ref(f"logrank3_{ex}", "chisq"))
    assert close(lr.p_value, ref(f"logrank3_{ex}", "p_value"))
    for i in range(3):
        assert close(lr.observed[i], ref(f"logrank3_{ex}", f"observed[{i + 1}]"))
        assert close(lr.expected[i], ref(f"logrank3_{ex}", f"expected[{i + 1}]"))
    d2 = d[d.arm != "combo"]
    lr = logrank(d2.time, d2.event, d2.arm)
    assert close(lr.chisq, ref(f"logrank2_{ex}", "chisq"))
    assert close(lr.p_value, ref(f"logrank2_{ex}", "p_value"))
    hr = hazard_ratio(d2.time, d2.event, d2.arm, reference="vehicle")
    assert (hr.group1, hr.group2) == ("vehicle", "drug")
    for mine, q in ((hr.hr, "hr"), (hr.lower, "lower"), (hr.upper, "upper"),
                    (hr.p_value, "wald_p")):
        assert close(mine, ref(f"cox_{ex}", q))
    mh = hazard_ratio(d2.time, d2.event, d2.arm, method="mantel-haenszel")
    for mine, q in ((mh.hr, "hr"), (mh.lower, "lower"), (mh.upper, "upper")):
        assert close(mine, ref(f"hr_mh_{ex}", q))


def test_stratified(ref, ref_data) -> None:
    d = ref_data("survival")
    lr = logrank(d.time, d.event, d.arm, strata=d.experiment)
    assert close(lr.chisq, ref("logrank3_strat", "chisq"))
    assert close(lr.p_value, ref("logrank3_strat", "p_value"))
    d2 = d[d.arm != "combo"]
    lr = logrank(d2.time, d2.event, d2.arm, strata=d2.experiment)
    assert close(lr.chisq, ref("logrank2_strat", "chisq"))
    hr = hazard_ratio(d2.time, d2.event, d2.arm, strata=d2.experiment)
    for mine, q in ((hr.hr, "hr"), (hr.lower, "lower"), (hr.upper, "upper")):
        assert close(mine, ref("cox_strat", q))


def test_bad_survival_input() -> None:
    with pytest.raises(ValueError):
        kaplan_meier([1, -2], [1, 0])
    with pytest.raises(ValueError):
        kaplan_meier([1, 2], [1, 2])
    with pytest.raises(ValueError):
        logrank([1, 2], [1, 1], ["a", "a"])
    with pytest.raises(ValueError):
        hazard_ratio([1, 2, 3], [1, 1, 1], ["a", "b", "c"])


def test_cox_hazard_ratio_without_finite_estimate_is_reported_not_raised() -> None:
    """Monotone likelihood (one group without events, or event times that do not
    overlap): the Cox estimate runs off to infinity; R's coxph warns. Reported as HR 0 (or
    undefined) with no CI and no p, never an exception."""
    from preclin.stats.survival import hazard_ratio

    no_events_in_b = hazard_ratio([1, 2, 3, 4, 5, 6], [1, 1, 1, 0, 0, 0], list("aaabbb"))
    assert no_events_in_b.hr == 0.0
    assert math.isnan(no_events_in_b.lower) and math.isnan(no_events_in_b.p_value)
    assert "no finite estimate" in no_events_in_b.method
    nothing = hazard_ratio([1, 2, 3, 4], [0, 0, 0, 0], list("aabb"))
    assert math.isnan(nothing.hr)
    # an ordinary case still has a finite estimate with a CI around it
    usual = hazard_ratio([1, 2, 3, 4, 5, 6, 7, 8], [1, 0, 1, 1, 1, 1, 0, 1], list("abababab"))
    assert 0 < usual.lower < usual.hr < usual.upper
