"""Weight-based dosing: arithmetic checked by hand, preparation with overage, alerts."""

from __future__ import annotations

import math

import pandas as pd
import pytest

from preclin.errors import InputError
from preclin.invivo import (
    Administration,
    Drug,
    Schedule,
    check_schedule,
    dosing_sheet,
    parse_days,
    preparation,
    read_weights,
    weight_alerts,
)

ARMS = pd.DataFrame({"animal": ["M1", "M2", "M3"], "arm": ["AI", "AI", "vehicle"]})
DRUGS = {"cytarabine": Drug("cytarabine", stock_mg_per_ml=20, safe_mg_per_kg=(0, 100)),
         "idarubicin": Drug("idarubicin", stock_mg_per_ml=1, safe_mg_per_kg=(0, 1))}


def _schedule(**kw: object) -> Schedule:
    adms = (Administration(("AI",), "cytarabine", 30, "i.v.", (1, 2, 3), 5.0),
            Administration(("AI",), "idarubicin", 0.1, "i.v.", (1, 2, 3), 5.0),
            Administration(("AI",), "cytarabine", 30, "i.p.", (4, 5), None),
            Administration(("vehicle",), "saline", 0, "i.p.", (1, 2, 3, 4, 5), 10.0))
    return Schedule(administrations=adms, drugs=DRUGS, **kw)  # type: ignore[arg-type]


WEIGHTS = pd.DataFrame({
    "animal": ["M1", "M1", "M2", "M2", "M3", "M3"],
    "day": [1, 4, 1, 3, 0, 3],
    "weight_g": [20.0, 18.0, 25.0, 24.0, 22.0, 21.0],
})


def test_parse_days() -> None:
    assert parse_days("1-3, 9-10") == (1, 2, 3, 9, 10)
    assert parse_days([5, "1-2"]) == (1, 2, 5)
    assert parse_days(4) == (4,)
    with pytest.raises(InputError, match="runs backwards"):
        parse_days("5-3")
    with pytest.raises(InputError, match="not a day"):
        parse_days("day one")


def test_dose_arithmetic_by_hand() -> None:
    w = read_weights(WEIGHTS)
    sheet, skipped = dosing_sheet(ARMS, w, _schedule(), arms=["vehicle", "AI"])
    assert len(skipped) == 0
    one = sheet.set_index(["animal", "day", "drug", "route"])
    # M1 day 2: latest weight day 1 = 20 g; AraC 30 mg/kg → 0.6 mg; 5 µL/g → 100 µL;
    # working 6 mg/mL; stock 20 mg/mL → 30 µL stock + 70 µL diluent
    r = one.loc[("M1", 2, "cytarabine", "i.v.")]
    assert (r["weight_g"], r["weight_day"]) == (20.0, 1)
    assert r["dose_mg"] == pytest.approx(0.6)
    assert r["volume_ul"] == pytest.approx(100.0)
    assert r["conc_mg_per_ml"] == pytest.approx(6.0)
    assert r["stock_ul"] == pytest.approx(30.0)
    assert r["diluent_ul"] == pytest.approx(70.0)
    # idarubicin 0.1 mg/kg × 20 g = 0.002 mg in 100 µL (0.02 mg/mL), 2 µL of 1 mg/mL stock
    r = one.loc[("M1", 1, "idarubicin", "i.v.")]
    assert (r["dose_mg"], r["volume_ul"], r["stock_ul"]) == pytest.approx((0.002, 100.0, 2.0))
    # M1 day 4: re-weighed at 18 g; i.p. without a dosing volume: 0.54 mg of the 20 mg/mL
    # stock = 27 µL, no diluent
    r = one.loc[("M1", 4, "cytarabine", "i.p.")]
    assert (r["weight_g"], r["dose_mg"], r["volume_ul"]) == pytest.approx((18.0, 0.54, 27.0))
    assert r["diluent_ul"] == pytest.approx(0.0)
    # M2 day 3 uses the day-3 weight (24 g): 0.72 mg in 120 µL
    r = one.loc[("M2", 3, "cytarabine", "i.v.")]
    assert (r["weight_g"], r["dose_mg"], r["volume_ul"]) == pytest.approx((24.0, 0.72, 120.0))
    # vehicle: 0 mg, 10 µL/g × 22 g = 220 µL
    r = one.loc[("M3", 2, "saline", "i.p.")]
    assert (r["dose_mg"], r["volume_ul"]) == pytest.approx((0.0, 220.0))
    assert math.isnan(r["stock_ul"])
    assert len(sheet) == 2 * (3 + 3 + 2) + 5
    assert list(sheet.columns[:10]) == ["animal", "arm", "day", "drug", "route", "weight_g",
                                        "weight_day", "dose_mg_per_kg", "dose_mg",
                                        "volume_ul"]
    assert sheet["arm"].iloc[0] == "vehicle" or sheet["day"].iloc[0] == 1


def test_preparation_with_overage_by_hand() -> None:
    sheet, _ = dosing_sheet(ARMS, read_weights(WEIGHTS), _schedule(overage_pct=20))
    prep = preparation(sheet, _schedule(overage_pct=20)).set_index(["day", "drug", "route"])
    # day 1 AraC i.v.: M1 0.6 mg/100 µL + M2 0.75 mg/125 µL = 1.35 mg in 225 µL, +20 %
    r = prep.loc[(1, "cytarabine", "i.v.")]
    assert r["animals"] == 2
    assert (r["dose_mg"], r["volume_ul"]) == pytest.approx((1.35, 225.0))
    assert (r["prepare_mg"], r["prepare_ul"]) == pytest.approx((1.62, 270.0))
    assert r["stock_ul"] == pytest.approx(81.0)      # 1.62 mg / 20 mg/mL
    assert r["diluent_ul"] == pytest.approx(189.0)


def test_dead_animals_are_not_dosed() -> None:
    sheet, skipped = dosing_sheet(ARMS, read_weights(WEIGHTS), _schedule(), ended={"M2": 3})
    assert not ((sheet["animal"] == "M2") & (sheet["day"] >= 3)).any()
    assert set(skipped["day"]) == {3, 4, 5} and set(skipped["animal"]) == {"M2"}
    assert skipped["reason"].str.contains("day 3").all()


def test_missing_weight_on_a_dosing_day() -> None:
    w = read_weights(WEIGHTS[WEIGHTS["animal"] != "M3"].assign())
    w = pd.concat([w, read_weights(pd.DataFrame({"animal": ["M3"], "day": [2],
                                                  "weight_g": [21.0]}))])
    with pytest.raises(InputError, match=r"w.csv: animal 'M3' has no weight on or before "
                       r"dosing day 1"):
        dosing_sheet(ARMS, w, _schedule(), file="w.csv")
    stale = read_weights(WEIGHTS[~((WEIGHTS["animal"] == "M1") & (WEIGHTS["day"] == 4))])
    with pytest.raises(InputError, match=r"animal 'M1' has no weight within 3 day\(s\) "
                       r"before dosing day 5 .*last weighed on day 1"):
        dosing_sheet(ARMS, stale, _schedule(max_weight_age=3))


def test_empty_weight_cell_names_the_row() -> None:
    bad = WEIGHTS.assign(weight_g=WEIGHTS["weight_g"].where(WEIGHTS.index != 3))
    with pytest.raises(InputError, match=r"^w.csv: row 5: animal 'M2' has no weight on day 3"):
        read_weights(bad, file="w.csv")
    twice = pd.concat([WEIGHTS, WEIGHTS.iloc[[0]]], ignore_index=True)
    with pytest.raises(InputError, match=r"row 8: animal 'M1' has two weights on day 1 "
                       r"\(also row 2\)"):
        read_weights(twice, file="w.csv")


def test_dose_outside_the_safe_range() -> None:
    s = Schedule(administrations=(Administration(("AI",), "idarubicin", 1.5, "i.v.", (1,),
                                                 5.0, label="key 'dose[2]'"),),
                 drugs=DRUGS)
    with pytest.raises(InputError, match=r"^study.toml: key 'dose\[2\]': idarubicin at 1.5 "
                       r"mg/kg is outside its declared safe range 0–1 mg/kg$"):
        check_schedule(s, file="study.toml")


def test_other_schedule_problems() -> None:
    dilute = Schedule(administrations=(Administration(("AI",), "idarubicin", 0.8, "i.v.",
                                                      (1,), 0.5),), drugs=DRUGS)
    with pytest.raises(InputError, match="needs 1.6 mg/mL but the stock is only 1 mg/mL"):
        check_schedule(dilute)
    nowhere = Schedule(administrations=(Administration(("AI",), "len", 25, "i.p.", (1,)),))
    with pytest.raises(InputError, match="give a dosing volume"):
        check_schedule(nowhere)
    with pytest.raises(InputError, match="arm 'LEN' is not one of the declared arms"):
        check_schedule(Schedule(administrations=(Administration(("LEN",), "x", 1, "i.p.",
                                                                (1,), 10.0),)),
                       arms=["vehicle", "AI"])


def test_weight_alerts_against_the_humane_endpoint() -> None:
    w = read_weights(pd.DataFrame({"animal": ["M1"] * 4, "day": [0, 5, 9, 12],
                                   "weight_g": [20.0, 18.0, 16.8, 15.9]}))
    course, alerts = weight_alerts(w, ARMS, Schedule(administrations=(),
                                                     humane_endpoint_pct=20, warn_pct=15))
    assert course["baseline_g"].eq(20.0).all()
    assert course["change_pct"].tolist() == pytest.approx([0.0, -10.0, -16.0, -20.5])
    assert alerts["day"].tolist() == [9, 12]
    assert alerts["level"].tolist() == ["warning", "humane endpoint"]
