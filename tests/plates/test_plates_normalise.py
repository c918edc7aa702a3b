"""normalise(): hand-computed values, every well accounted for, control errors."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from preclin.errors import InputError
from preclin.plates import normalise


def tiny(plate: str = "P1") -> pd.DataFrame:
    """A 2x4 plate: 2 blanks, 2 vehicles, 2 positives, 2 samples."""
    return pd.DataFrame({
        "plate": [plate] * 8,
        "well": ["A1", "A2", "A3", "A4", "B1", "B2", "B3", "B4"],
        "row": list("AAAABBBB"),
        "col": [1, 2, 3, 4, 1, 2, 3, 4],
        "control": ["blank", "vehicle", "positive", "sample"] * 2,
        "signal": [0.10, 1.10, 0.20, 0.55, 0.10, 0.90, 0.20, 0.28],
    })


def test_blank_and_vehicle_by_hand() -> None:
    out = normalise(tiny(), blank="blank", vehicle="vehicle")
    # blank 0.10, vehicle mean 1.00: viability = 100 (S - 0.1) / 0.9
    assert out["blank_subtracted"].tolist() == pytest.approx(
        [0.0, 1.0, 0.1, 0.45, 0.0, 0.8, 0.1, 0.18])
    samples = out[out["control"] == "sample"]
    assert samples["viability"].tolist() == pytest.approx([50.0, 20.0])
    assert samples["inhibition"].tolist() == pytest.approx([50.0, 80.0])
    assert out.loc[out["control"] == "vehicle", "viability"].mean() == pytest.approx(100.0)
    assert out["reason"].tolist() == ["blank well", "vehicle control", "", "", "blank well",
                                      "vehicle control", "", ""]
    assert out["excluded"].tolist() == [r != "" for r in out["reason"]]
    assert out.attrs["controls"] == [{"plate": "P1", "blank": pytest.approx(0.1),
                                      "vehicle": pytest.approx(1.0), "positive": None}]


def test_positive_control_scaling_by_hand() -> None:
    df = tiny()
    out = normalise(df, blank="blank", vehicle="vehicle", positive="positive")
    # positive 0.20 is 0 %, vehicle 1.00 is 100 %: viability = 100 (S - 0.2) / 0.8
    samples = out[out["control"] == "sample"]
    assert samples["viability"].tolist() == pytest.approx([43.75, 10.0])
    assert out.loc[out["control"] == "positive", "viability"].tolist() == pytest.approx([0, 0])
    assert out.loc[out["control"] == "positive", "reason"].unique().tolist() == [
        "positive control"]
    cyto = normalise(df, vehicle="vehicle", positive="positive", mode="cytotoxicity")
    np.testing.assert_allclose(cyto["inhibition"], out["inhibition"])


def test_no_blank_means_zero_and_median_center() -> None:
    df = tiny()
    out = normalise(df, vehicle="vehicle")
    assert out["blank_subtracted"].tolist() == df["signal"].tolist()
    assert out.loc[3, "viability"] == pytest.approx(55.0)
    df.loc[1, "signal"] = 3.0  # vehicles 3.0 and 0.9: median 1.95 = mean of two
    med = normalise(df, vehicle="vehicle", center="median")
    assert med.loc[3, "viability"] == pytest.approx(100 * 0.55 / 1.95)


def test_every_well_accounted_for_with_reasons() -> None:
    df = pd.concat([tiny("P1"), tiny("P2")], ignore_index=True)
    df["in_layout"] = True
    df["exclude"] = pd.Series([None] * len(df), dtype=object)
    df.loc[3, "signal"] = np.nan  # P1 A4 sample lost
    df.loc[7, "exclude"] = True  # P1 B4 excluded in the layout
    df.loc[15, ["control", "in_layout"]] = [np.nan, False]  # P2 B4 outside the layout
    df.loc[9, "exclude"] = "yes"  # P2 A2, a vehicle well, excluded: not used for the mean
    df.index = pd.RangeIndex(100, 116)
    out = normalise(df, blank="blank", vehicle="vehicle")
    assert len(out) == len(df) and out.index.equals(df.index)
    pd.testing.assert_frame_equal(out[df.columns], df)
    assert out.loc[103, "reason"] == "signal missing" and np.isnan(out.loc[103, "viability"])
    assert out.loc[107, "reason"] == "excluded in layout"
    assert out.loc[115, "reason"] == "outside layout"
    assert out.loc[109, "reason"] == "excluded in layout"
    # P2 vehicle level from B2 only (0.90): sample A4 = 100 (0.55 - 0.1) / 0.8
    assert out.loc[111, "viability"] == pytest.approx(56.25)
    used = out[~out["excluded"]]
    assert used.index.tolist() == [102, 106, 110, 111, 114]
    assert set(out["reason"]) == {"", "blank well", "vehicle control", "signal missing",
                                  "excluded in layout", "outside layout"}


def test_by_groups() -> None:
    a, b = tiny("P1"), tiny("P1")
    a["line"], b["line"] = "x", "y"
    b["signal"] *= 2
    out = normalise(pd.concat([a, b], ignore_index=True), blank="blank", vehicle="vehicle",
                    by=["plate", "line"])
    np.testing.assert_allclose(out["viability"].iloc[:8], out["viability"].iloc[8:])


def test_group_of_wells_outside_the_layout_is_left_unscaled() -> None:
    df = tiny()
    df["in_layout"] = True
    df["line"] = "HL-60"
    extra = tiny().assign(in_layout=False, line=np.nan, control=np.nan)
    out = normalise(pd.concat([df, extra], ignore_index=True), blank="blank",
                    vehicle="vehicle", by=["plate", "line"])
    assert out["viability"].iloc[8:].isna().all()
    assert out["reason"].iloc[8:].eq("outside layout").all()
    assert out["viability"].iloc[3] == pytest.approx(50.0)


def test_missing_controls_name_the_plate() -> None:
    p2 = tiny("P2")
    p2.loc[p2["control"] == "vehicle", "control"] = "sample"
    df = pd.concat([tiny("P1"), p2], ignore_index=True)
    with pytest.raises(InputError, match=r"plate 'P2': no usable vehicle wells"):
        normalise(df, blank="blank", vehicle="vehicle")
    with pytest.raises(InputError, match=r"plate 'P1': no usable blank wells \(control = MEDIUM"):
        normalise(tiny(), blank="MEDIUM", vehicle="vehicle")
    nan_blank = tiny()
    nan_blank.loc[nan_blank["control"] == "blank", "signal"] = np.nan
    with pytest.raises(InputError, match="no usable blank"):
        normalise(nan_blank, blank="blank", vehicle="vehicle")


def test_argument_errors() -> None:
    with pytest.raises(InputError, match="needs the vehicle"):
        normalise(tiny(), blank="blank")
    with pytest.raises(InputError, match="cytotoxicity"):
        normalise(tiny(), vehicle="vehicle", mode="cytotoxicity")
    with pytest.raises(InputError, match="missing column"):
        normalise(tiny().drop(columns="control"), vehicle="vehicle")
    with pytest.raises(InputError, match="same mean"):
        normalise(tiny(), vehicle="blank", blank="blank")
    bad = tiny()
    bad["exclude"] = "maybe"
    with pytest.raises(InputError, match=r"well A1: column 'exclude' must be true/false"):
        normalise(bad, vehicle="vehicle")
    with pytest.raises(ValueError):
        normalise(tiny(), vehicle="vehicle", mode="other")  # type: ignore[arg-type]


def test_kinetic_reads_scaled_by_their_own_time_point() -> None:
    """A kinetic read: each cycle's controls scale that cycle's wells only (the signal
    doubles between cycles, so pooling the controls would put cycle 1 at ~67 %)."""
    from preclin.plates import plate_qc, read_groups

    t1 = tiny().assign(cycle=1, time_s=0.0)
    t2 = tiny().assign(cycle=2, time_s=600.0, signal=tiny()["signal"] * 2)
    kin = pd.concat([t1, t2], ignore_index=True)
    assert read_groups(kin) == ["plate", "cycle"]
    assert read_groups(t1) == ["plate"]  # one time point: per plate, as before
    out = normalise(kin, blank="blank", vehicle="vehicle")
    samples = out[out["control"] == "sample"]
    assert samples["viability"].tolist() == pytest.approx([50.0, 20.0, 50.0, 20.0])
    assert [c["cycle"] for c in out.attrs["controls"]] == [1, 2]
    pooled = normalise(kin, blank="blank", vehicle="vehicle", by=["plate"])
    assert pooled.loc[pooled["control"] == "sample", "viability"].iloc[0] != \
        pytest.approx(50.0)
    qc = plate_qc(kin, vehicle="vehicle", positive="positive")
    assert qc["cycle"].tolist() == [1, 2] and len(qc) == 2
