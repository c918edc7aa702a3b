"""Reading checks (one clear line each), enrolment, engraftment and survival wrappers."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd
import pytest

from preclin.errors import InputError
from preclin.invivo import (
    EnrolmentRule,
    check_chronology,
    engraftment,
    enrol,
    read_animals,
    read_assignment,
    read_engraftment,
    read_events,
    read_weights,
    survival,
)
from preclin.stats import compare_table, logrank


def test_an_animal_in_two_arms() -> None:
    t = pd.DataFrame({"animal": ["M1", "M2", "M3", "M2"], "arm": ["a", "b", "a", "a"]})
    with pytest.raises(InputError) as exc:
        read_assignment(t, file="arms.csv")
    assert exc.value.message == ("arms.csv: row 5: animal 'M2' is in two arms ('b' on row 3 "
                                 "and 'a'); every animal belongs to exactly one arm")
    with pytest.raises(InputError, match="arm 'c' is not one of the declared arms"):
        read_assignment(t.iloc[:3].assign(arm=["a", "b", "c"]), arms=["a", "b"])


def test_an_animal_listed_twice_in_the_animals_table() -> None:
    t = pd.DataFrame({"animal": ["M1", "M1"], "graft_pct": [2.0, 3.0]})
    with pytest.raises(InputError, match=r"^a.csv: row 3: animal 'M1' is listed twice in the "
                       r"animals table \(also row 2\)$"):
        read_animals(t, file="a.csv")


def test_dates_become_days_from_day1() -> None:
    t = pd.DataFrame({"animal": ["M1", "M1"], "date": ["2017-03-06", "2017-03-10"],
                      "weight_g": [20.0, 19.0]})
    w = read_weights(t, day1=dt.date(2017, 3, 6))
    assert w["day"].tolist() == [1, 5]
    with pytest.raises(InputError, match="give the date of day 1"):
        read_weights(t)
    with pytest.raises(InputError, match=r"row 3: column 'date' must hold dates"):
        read_weights(t.assign(date=["2017-03-06", "soon"]), day1=dt.date(2017, 3, 6))


def test_dates_out_of_order() -> None:
    day1 = dt.date(2017, 3, 6)
    animals = read_animals(pd.DataFrame({"animal": ["M1", "M2"],
                                         "injected": ["2017-02-14", "2017-02-14"]}),
                           day1=day1, injected="injected")
    assert animals["injected_day"].tolist() == [-19, -19]
    events = read_events(pd.DataFrame({"animal": ["M1", "M2"],
                                       "date": ["2017-03-20", "2017-03-30"],
                                       "event": [1, 0]}), day1=day1)
    late = read_weights(pd.DataFrame({"animal": ["M1", "M1"],
                                      "date": ["2017-03-06", "2017-03-22"],
                                      "weight_g": [20.0, 19.0]}), day1=day1)
    with pytest.raises(InputError, match=r"^w.csv: row 3: animal 'M1' is weighed on day 17, "
                       r"after its death or endpoint on day 15 \(dates out of order\)$"):
        check_chronology(animals=animals, weights=late, events=events,
                         files={"weights": "w.csv"})
    early = read_weights(pd.DataFrame({"animal": ["M2"], "date": ["2017-02-01"],
                                       "weight_g": [20.0]}), day1=day1)
    with pytest.raises(InputError, match="before its injection"):
        check_chronology(animals=animals, weights=early)
    before = read_events(pd.DataFrame({"animal": ["M1"], "day": [-2], "event": [1]}))
    with pytest.raises(InputError, match=r"e.csv: row 2: .*before day 1"):
        check_chronology(events=before, files={"events": "e.csv"})


def test_event_must_be_0_or_1() -> None:
    with pytest.raises(InputError, match=r"row 3: column 'event' must be 1 .* but has 2"):
        read_events(pd.DataFrame({"animal": ["a", "b"], "day": [3, 4], "event": [1, 2]}))


def test_enrolment_lists_every_animal_not_enrolled_with_the_reason() -> None:
    t = read_animals(pd.DataFrame({
        "animal": ["M1", "M2", "M3", "M4", "M5"],
        "graft_pct": [3.0, 1.0, np.nan, 0.2, 8.0],
        "withdrawn": ["", "", "", "", "found dead"]}), numeric=["graft_pct"])
    e = enrol(t, EnrolmentRule(column="graft_pct", above=1.0))
    assert e.enrolled["animal"].tolist() == ["M1"]
    reasons = dict(zip(e.not_enrolled["animal"], e.not_enrolled["reason"], strict=True))
    assert reasons == {"M2": "graft_pct 1 ≤ 1 (needs graft_pct > 1)",
                       "M3": "no graft_pct measured",
                       "M4": "graft_pct 0.2 ≤ 1 (needs graft_pct > 1)",
                       "M5": "found dead"}
    assert len(e.enrolled) + len(e.not_enrolled) == len(t)
    fixed = enrol(t, EnrolmentRule(day=3))
    assert fixed.enrolled["animal"].tolist() == ["M1", "M2", "M3", "M4"]


def _assigned() -> pd.DataFrame:
    return pd.DataFrame({"animal": [f"M{i}" for i in range(8)],
                         "arm": ["LEN", "vehicle"] * 4})


def test_engraftment_goes_through_stats_compare_table() -> None:
    rng = np.random.default_rng(0)
    rows = [{"animal": f"M{i}", "tissue": t, "human_pct": float(rng.uniform(1, 50))}
            for i in range(8) for t in ("marrow", "blood")]
    data = read_engraftment(pd.DataFrame(rows))
    res = engraftment(data, _assigned(), arms=["vehicle", "LEN"], control="vehicle",
                      mobilisation=[("blood", "marrow")])
    assert res.arms == ("vehicle", "LEN")
    sub = res.data[res.data["tissue"] == "marrow"]
    direct = compare_table(sub, value="human_pct", group="arm", control="vehicle",
                           test="welch", log=True)
    got = res.comparisons[res.comparisons["tissue"] == "marrow"]
    assert got["p_value"].tolist() == pytest.approx(direct["p_value"].tolist())
    assert got["group1"].tolist() == ["vehicle"]
    m = res.mobilisation
    one = m[m["animal"] == "M0"]["ratio"].iloc[0]
    w = data.set_index(["animal", "tissue"])["human_pct"]
    assert one == pytest.approx(w[("M0", "blood")] / w[("M0", "marrow")])
    s = res.summary[(res.summary["tissue"] == "marrow") & (res.summary["arm"] == "vehicle")]
    assert s["fold_vs_control"].iloc[0] == pytest.approx(1.0)
    with pytest.raises(InputError, match=r"row 2: column 'human_pct' is a percentage"):
        read_engraftment(pd.DataFrame({"animal": ["a"], "tissue": ["x"], "human_pct": [140]}))


def test_survival_goes_through_stats_logrank() -> None:
    ev = read_events(pd.DataFrame({"animal": [f"M{i}" for i in range(8)],
                                   "day": [20, 25, 30, 28, 40, 33, 60, 35],
                                   "event": [1, 1, 1, 1, 0, 1, 0, 1]}))
    res = survival(ev, _assigned(), arms=["vehicle", "LEN"])
    assert res.control == "vehicle"
    a = res.arms.set_index("arm")
    lr = logrank(res.animals["day"], res.animals["event"], res.animals["arm"])
    assert a.loc["LEN", "p_vs_control"] == pytest.approx(lr.p_value)
    assert a.loc["vehicle", "n"] == 4 and a.loc["LEN", "censored"] == 2
    assert set(res.km["arm"]) == {"vehicle", "LEN"}
    partial = survival(ev.iloc[:7], _assigned())
    assert partial.excluded["animal"].tolist() == ["M7"]
