"""plate_qc(): Z'-factor against the formula, edge effects and trends on constructed plates."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from preclin.plates import plate_qc, z_prime

ROWS = "ABCDEFGH"


def plate(seed: int = 0, *, edge: float = 1.0, row_gradient: float = 0.0,
          col_gradient: float = 0.0, doses_by: str = "col", noise: float = 0.03,
          name: str = "P1") -> pd.DataFrame:
    """96 wells: column 1 positive control, column 12 vehicle, doses along ``doses_by``."""
    rng = np.random.default_rng(seed)
    recs = []
    for i in range(8):
        for j in range(12):
            if j == 0:
                control, dose, level = "positive", 0.0, 0.1
            elif j == 11:
                control, dose, level = "vehicle", 0.0, 1.0
            else:
                control = "sample"
                k = j if doses_by == "col" else i + 1
                dose = float(10 ** (k / 3 - 2))
                level = 0.1 + 0.9 / (1 + dose)
            value = level * (1 + noise * rng.standard_normal())
            value *= (1 + row_gradient * i) * (1 + col_gradient * j)
            if i in (0, 7) or j in (0, 11):
                value *= edge
            recs.append({"plate": name, "well": f"{ROWS[i]}{j + 1}", "row": ROWS[i],
                         "col": j + 1, "control": control, "dose": dose, "signal": value})
    return pd.DataFrame(recs)


def expected_z(pos: np.ndarray, neg: np.ndarray) -> float:
    return 1 - 3 * (np.std(pos, ddof=1) + np.std(neg, ddof=1)) / abs(pos.mean() - neg.mean())


def test_z_prime_function_matches_formula() -> None:
    rng = np.random.default_rng(42)
    pos = rng.normal(10.0, 1.0, 16)
    neg = rng.normal(100.0, 5.0, 16)
    assert z_prime(pos, neg) == pytest.approx(expected_z(pos, neg), rel=1e-12)
    # known values: means 0 and 10, SDs exactly 1 and 0.5 -> Z' = 1 - 4.5/10
    a = np.array([-1.0, 1.0])
    b = np.array([9.5, 10.5]) * 1.0
    sd_a, sd_b = np.std(a, ddof=1), np.std(b, ddof=1)
    assert z_prime(a, b) == pytest.approx(1 - 3 * (sd_a + sd_b) / 10)
    assert np.isnan(z_prime([1.0], [2.0, 3.0]))
    assert np.isnan(z_prime([1.0, 1.0], [1.0, 1.0]))


def test_plate_qc_controls_and_z_prime() -> None:
    df = plate(seed=1)
    qc = plate_qc(df, vehicle="vehicle", positive="positive")
    assert len(qc) == 1
    row = qc.iloc[0]
    veh = df.loc[df["control"] == "vehicle", "signal"].to_numpy()
    pos = df.loc[df["control"] == "positive", "signal"].to_numpy()
    assert row["plate"] == "P1" and row["n_wells"] == 96 and row["n_missing"] == 0
    assert row["vehicle_n"] == 8 and row["positive_n"] == 8
    assert row["vehicle_mean"] == pytest.approx(veh.mean())
    assert row["vehicle_sd"] == pytest.approx(veh.std(ddof=1))
    assert row["vehicle_cv"] == pytest.approx(100 * veh.std(ddof=1) / veh.mean())
    assert row["positive_cv"] == pytest.approx(100 * pos.std(ddof=1) / pos.mean())
    assert row["z_prime"] == pytest.approx(expected_z(pos, veh))
    sw = (abs(veh.mean() - pos.mean()) - 3 * (veh.std(ddof=1) + pos.std(ddof=1))) / veh.std(ddof=1)
    assert row["signal_window"] == pytest.approx(sw)
    assert row["signal_to_background"] == pytest.approx(veh.mean() / pos.mean())
    assert row["positive_source"] == "positive"
    assert row["flag"] == ""


def test_clean_plate_is_not_flagged() -> None:
    for seed in range(5):
        qc = plate_qc(plate(seed=seed), vehicle="vehicle", positive="positive")
        assert qc["flag"].item() == "", qc.iloc[0].to_dict()
        assert abs(qc["edge_diff_pct"].item()) < 5


def test_injected_edge_effect_is_flagged() -> None:
    qc = plate_qc(plate(seed=3, edge=0.75), vehicle="vehicle", positive="positive")
    row = qc.iloc[0]
    assert "edge_effect" in row["flag"].split(";")
    assert row["edge_diff_pct"] < -10 and row["edge_p"] < 0.001
    assert row["edge_n_outer"] == 28 and row["edge_n_inner"] == 60
    # a milder effect below the threshold is measured but not flagged
    mild = plate_qc(plate(seed=3, edge=0.97, noise=0.005), vehicle="vehicle",
                    positive="positive").iloc[0]
    assert "edge_effect" not in mild["flag"] and -10 < mild["edge_diff_pct"] < 0


def test_row_and_column_trends() -> None:
    rows = plate_qc(plate(seed=4, row_gradient=0.04), vehicle="vehicle",
                    positive="positive").iloc[0]
    assert "row_trend" in rows["flag"].split(";") and "col_trend" not in rows["flag"]
    assert rows["row_slope_pct"] > 20 and rows["row_p"] < 0.001
    cols = plate_qc(plate(seed=5, col_gradient=0.04, doses_by="row"), vehicle="vehicle",
                    positive="positive").iloc[0]
    assert "col_trend" in cols["flag"].split(";") and "row_trend" not in cols["flag"]


def test_low_z_prime_high_cv_and_groups() -> None:
    good = plate(seed=6, name="good")
    bad = plate(seed=7, name="bad", noise=0.3)
    qc = plate_qc(pd.concat([good, bad], ignore_index=True), vehicle="vehicle",
                  positive="positive", edge_threshold=1e9, trend_threshold=1e9)
    assert qc["plate"].tolist() == ["good", "bad"]
    assert qc["flag"].tolist() == ["", "low_z_prime;high_vehicle_cv"]


def test_blank_as_low_control_and_ignored_wells() -> None:
    df = plate(seed=8)
    df["control"] = df["control"].replace({"positive": "blank"})
    df["in_layout"] = True
    df.loc[df["well"] == "A12", "in_layout"] = False  # a vehicle outside the layout: ignored
    df.loc[df["well"] == "B12", "signal"] = np.nan
    qc = plate_qc(df, vehicle="vehicle", blank="blank").iloc[0]
    assert qc["positive_source"] == "blank" and qc["vehicle_n"] == 6
    assert qc["n_missing"] == 1
    veh = df.loc[(df["control"] == "vehicle") & df["in_layout"], "signal"].dropna().to_numpy()
    blank = df.loc[df["control"] == "blank", "signal"].to_numpy()
    assert qc["z_prime"] == pytest.approx(expected_z(blank, veh))


def test_without_controls() -> None:
    df = plate(seed=9).drop(columns=["control", "dose"])
    qc = plate_qc(df).iloc[0]
    assert np.isnan(qc["z_prime"]) and qc["vehicle_n"] == 0
    assert not np.isnan(qc["edge_diff_pct"])
