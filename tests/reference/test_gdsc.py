"""GDSC raw plates → viability → curves, compared with gdscIC50 0.99.4 (ln µM IC50s).

The reference data live in ../shared/reference/doseresponse/gdsc (skipped when absent);
the synthetic tests at the top run everywhere.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from preclin.doseresponse import screens as gd
from preclin.errors import InputError

# --------------------------------------------------------------------------- synthetic

COLS = ["BARCODE", "SCAN_ID", "COSMIC_ID", "CELL_LINE_NAME", "DRUGSET_ID", "POSITION", "TAG",
        "DRUG_ID", "CONC", "INTENSITY"]


def tiny_raw() -> pd.DataFrame:
    """Two plates of one cell line; every normalisation step computable by hand."""
    rows = [
        # plate 1 (scan 11): NC-1 mean 1100, B mean 100 -> viability = (I - 100) / 1000
        (1, 11, 900, "X", 7, 1, "NC-1", 4000, None, 1000),
        (1, 11, 900, "X", 7, 2, "NC-1", 4000, None, 1200),
        (1, 11, 900, "X", 7, 3, "B", None, None, 80),
        (1, 11, 900, "X", 7, 4, "B", None, None, 120),
        (1, 11, 900, "X", 7, 5, "L1-D1-S", 1003, 10.0, 50),      # below blank -> 0 (trim)
        (1, 11, 900, "X", 7, 6, "L1-D2-S", 1003, 2.5, 600),      # 0.5
        (1, 11, 900, "X", 7, 7, "L1-D3-S", 1003, 0.625, 1350),   # 1.25 -> 1 (trim)
        (1, 11, 900, "X", 7, 8, "UN-USED", None, None, 0),
        (1, 11, 900, "X", 7, 9, "L2-D1-S", None, 5.0, 700),      # library without DRUG_ID
        (1, 11, 900, "X", 7, 10, "NC-0", None, None, 1100),
        (1, 11, 900, "X", 7, 11, "L1-D1-S", 1003, 20.0, 500),    # FAIL position
        (1, 11, 900, "X", 7, 11, "FAIL", None, None, 500),
        (1, 11, 900, "X", 7, 12, "L1-D2-S", 1003, 2.5, None),    # intensity missing
        # plate 2 (scan 12): no blank wells -> its library wells cannot be normalised
        (2, 12, 900, "X", 7, 1, "NC-1", 4000, None, 900),
        (2, 12, 900, "X", 7, 5, "L1-D1-S", 1003, 10.0, 400),
        # plate 3 (scan 13), other cell line: NC 2100, PC 100
        (3, 13, 901, "Y", 7, 1, "NC-1", 4000, None, 2100),
        (3, 13, 901, "Y", 7, 2, "B", None, None, 100),
        (3, 13, 901, "Y", 7, 5, "L1-D1-S", 1003, 10.0, 1100),    # 0.5
        (3, 13, 901, "Y", 7, 6, "L1-D2-S", 1003, 2.5, 1600),     # 0.75
    ]
    return pd.DataFrame(rows, columns=COLS)


def test_normalisation_by_hand() -> None:
    norm = gd.normalise_gdsc(tiny_raw())
    assert len(norm) == 19  # every raw row is returned
    used = norm[~norm["excluded"]]
    assert (used["reason"] == "").all()
    assert (norm.loc[norm["excluded"], "reason"] != "").all()
    assert used["POSITION"].tolist() == [5, 6, 7, 5, 6]
    assert used["SCAN_ID"].tolist() == [11, 11, 11, 13, 13]
    np.testing.assert_allclose(used["viability"], [0.0, 0.5, 1.0, 0.5, 0.75], rtol=0, atol=1e-15)
    # maxc: highest CONC of the (drug set, L1) series among non-failed wells (20 µM failed)
    assert set(used["maxc"]) == {10.0}
    assert used["DRUG_ID"].tolist() == [1003] * 5
    nc = norm.set_index("SCAN_ID")["NC"].groupby(level=0).first()
    pc = norm.set_index("SCAN_ID")["PC"].groupby(level=0).first()
    assert nc.loc[11] == 1100 and pc.loc[11] == 100
    assert nc.loc[13] == 2100 and pc.loc[13] == 100
    assert np.isnan(pc.loc[12])
    reason = norm["reason"].astype(str).tolist()
    assert reason[0].startswith("negative control (NC-1)")
    assert reason[2].startswith("blank (B)")
    assert reason[7] == gd.R_UNUSED
    assert reason[8] == gd.R_NO_DRUG
    assert reason[9] == "not a single-agent library well (TAG NC-0)"
    assert reason[10] == reason[11] == gd.R_FAIL
    assert reason[12] == gd.R_NO_INTENSITY
    assert reason[14] == "no usable B wells on this scan"

    untrimmed = gd.normalise_gdsc(tiny_raw(), trim=False)
    np.testing.assert_allclose(
        untrimmed.loc[~untrimmed["excluded"], "viability"], [-0.05, 0.5, 1.25, 0.5, 0.75]
    )


def test_curves_from_tiny_raw() -> None:
    cur = gd.gdsc_curves(gd.normalise_gdsc(tiny_raw()))
    # library wells with a drug series, used or not (the failed, NaN and unscaled ones too)
    assert cur["POSITION"].tolist() == [5, 6, 7, 11, 12, 5, 5, 6]
    assert set(cur["drug"]) == {"1003_10"}
    np.testing.assert_allclose(
        cur.loc[~cur["excluded"], gd.GDSC_RESPONSE], [0.0, 50.0, 100.0, 50.0, 75.0]
    )
    res = gd.fit_gdsc(cur, asymptotes="fixed")
    assert res.table[["COSMIC_ID", "drug"]].values.tolist() == [[900, "1003_10"],
                                                                [901, "1003_10"]]
    assert len(res.excluded) == 3  # failed, intensity missing, no blank on the scan
    assert (res.excluded["reason"] != "").all()


def test_read_gdsc_raw_round_trip_and_errors(tmp_path: Path) -> None:
    raw = tiny_raw()
    path = tmp_path / "raw.csv.gz"
    raw.to_csv(path, index=False)
    back = gd.read_gdsc_raw(path)
    pd.testing.assert_frame_equal(
        back.astype({"TAG": str, "CELL_LINE_NAME": str}), raw.astype({"DRUG_ID": float}),
        check_dtype=False,
    )
    bad = raw.drop(columns=["INTENSITY"])
    bad.to_csv(tmp_path / "bad1.csv", index=False)
    with pytest.raises(InputError, match="missing column.*'INTENSITY'") as err:
        gd.read_gdsc_raw(tmp_path / "bad1.csv")
    assert "bad1.csv" in str(err.value)
    bad = raw.astype({"INTENSITY": object})
    bad.loc[4, "INTENSITY"] = "high"
    bad.to_csv(tmp_path / "bad2.csv", index=False)
    with pytest.raises(InputError) as err:
        gd.read_gdsc_raw(tmp_path / "bad2.csv")
    assert err.value.location == "row 6, column 'INTENSITY'"
    assert "'high'" in str(err.value)
    bad = raw.astype({"COSMIC_ID": object})
    bad.loc[2, "COSMIC_ID"] = None
    bad.to_csv(tmp_path / "bad3.csv", index=False)
    with pytest.raises(InputError, match="COSMIC_ID is missing") as err:
        gd.read_gdsc_raw(tmp_path / "bad3.csv")
    assert err.value.location == "row 4, column 'COSMIC_ID'"
    with pytest.raises(InputError, match="file not found"):
        gd.read_gdsc_raw(tmp_path / "nope.csv")


def test_absolute_ic50() -> None:
    table = pd.DataFrame({
        "model": ["ll4"] * 5,
        "bottom": [0.0, 20.0, 60.0, 0.0, 20.0],
        "top": [100.0, 100.0, 100.0, 100.0, 100.0],
        "ec50": [3.0, 1.0, 1.0, 3.0, 1.0],
        "hill": [1.5, 1.0, 1.0, -1.0, 2.0],
    })
    ic = gd.absolute_ic50(table)
    # 50 = 20 + 80 / (1 + x)  ->  x = 5/3;  with hill 2: x = sqrt(5/3)
    np.testing.assert_allclose(ic[[0, 1, 4]], [3.0, 5 / 3, np.sqrt(5 / 3)], rtol=1e-14)
    assert np.isnan(ic[2])  # never below 50 %
    assert np.isnan(ic[3])  # rises with dose: no inhibitory IC50
    assert gd.absolute_ic50(table, falling_only=False)[3] == pytest.approx(3.0)


def test_compare_with_tiny_reference() -> None:
    ours = pd.DataFrame({
        "COSMIC_ID": [1, 2, 3, 4], "drug": ["5_10"] * 4, "model": ["ll4"] * 4,
        "status": ["ok", "ok", "flat", "ok"],
        "bottom": [0.0, 0.0, 0.0, 70.0], "top": [100.0] * 4, "ec50": [1.0, 2.0, 50.0, 1.0],
        "hill": [1.0] * 4, "dose_min": [0.01] * 4, "dose_max": [10.0] * 4,
    })
    ref = pd.DataFrame({"drug": ["5_10"] * 5, "CL": [1, 2, 3, 4, 5],
                        "IC50": [0.1, np.log(2.0), 4.0, 5.0, 0.0]})
    cmp = gd.compare_with_reference(ours, ref)
    assert (cmp.n_reference, cmp.n_ours, cmp.n_matched) == (5, 4, 4)
    assert cmp.missing.values.tolist() == [[5, "5_10"]]
    assert cmp.curves["ic50_class"].tolist() == ["in_range", "in_range", "above_range",
                                                 "never_below_50"]
    np.testing.assert_allclose(cmp.curves["delta"].iloc[:3], [-0.1, 0.0, np.log(50) - 4])
    s = cmp.summary
    assert s.loc["ok", "n"] == 2 and s.loc["flagged", "n"] == 1
    assert s.loc["ok", "median_abs_delta"] == pytest.approx(0.05)
    assert s.loc["no_crossing", "same_side"] == 1.0  # ours never < 50 %, ref above range
    assert s.loc["all", "spearman"] == pytest.approx(1.0)


# --------------------------------------------------------------------------- reference

N_WELLS = 873_525
N_SINGLE_AGENT = 57_897


@pytest.fixture(scope="module")
def gdsc_dir(reference_dir: Path) -> Path:
    return reference_dir / "doseresponse" / "gdsc"


@pytest.fixture(scope="module")
def expected(gdsc_dir: Path) -> dict:
    return json.loads((gdsc_dir / "expected.json").read_text())


@pytest.fixture(scope="module")
def reference(gdsc_dir: Path) -> pd.DataFrame:
    return gd.read_gdsc_reference(gdsc_dir / "gdsc_example_ref_ic50.csv")


@pytest.fixture(scope="module")
def raw(gdsc_dir: Path) -> pd.DataFrame:
    return gd.read_gdsc_raw(gdsc_dir / "gdsc_example.csv.gz")


@pytest.fixture(scope="module")
def norm(raw: pd.DataFrame) -> pd.DataFrame:
    return gd.normalise_gdsc(raw)


@pytest.fixture(scope="module")
def curves(norm: pd.DataFrame) -> pd.DataFrame:
    return gd.gdsc_curves(norm)


@pytest.fixture(scope="module", params=["free", "fixed"])
def comparison(request: pytest.FixtureRequest, curves: pd.DataFrame,
               reference: pd.DataFrame) -> tuple[str, gd.GdscComparison, pd.DataFrame]:
    res = gd.fit_gdsc(curves, asymptotes=request.param)
    return request.param, gd.compare_with_reference(res.table, reference), res.table


def test_every_raw_well_accounted_for(raw: pd.DataFrame, norm: pd.DataFrame) -> None:
    assert len(raw) == len(norm) == N_WELLS
    used = int((~norm["excluded"]).sum())
    assert used == N_SINGLE_AGENT
    assert used + int(norm["excluded"].sum()) == N_WELLS
    assert (norm.loc[norm["excluded"], "reason"] != "").all()
    assert (norm.loc[~norm["excluded"], "reason"] == "").all()
    counts = norm["reason"].astype(str).value_counts()
    assert counts[gd.R_UNUSED] == 507_012
    assert counts["negative control (NC-1): defines 100% viability of its scan"] == 202_070
    assert counts["blank (B): defines 0% viability of its scan"] == 51_436
    v = norm.loc[~norm["excluded"], "viability"]
    assert v.between(0, 1).all()


def test_normalisation_reproduces_reference_residuals(
    curves: pd.DataFrame, reference: pd.DataFrame
) -> None:
    """gdscIC50's RMSE, recomputed from our viabilities and its xmid/scal, agrees to 1e-12.

    RMSE depends on every normalised point of the curve, the curve's grouping, maxc and
    the dose scale x = log2(CONC/maxc) + 9: any difference in the normalisation (controls,
    trimming, failed wells) or in the curve identity would show.
    """
    used = curves[~curves["excluded"]]
    m = used.merge(reference, left_on=["COSMIC_ID", "drug"], right_on=["CL", "drug"],
                   validate="m:1")
    assert len(m) == len(used)
    x = np.log2(m["CONC"] / m["maxc_x"]) + 9
    yhat = 1 / (1 + np.exp(-(x - m["xmid"]) / m["scal"]))
    sq = (1 - m["viability"] - yhat) ** 2
    rmse = np.sqrt(sq.groupby([m["COSMIC_ID"], m["drug"]]).mean())
    ref = m.groupby(["COSMIC_ID", "drug"])["RMSE"].first()
    assert len(rmse) == 5152
    np.testing.assert_allclose(rmse, ref.loc[rmse.index], rtol=0, atol=1e-12)


def test_all_reference_curves_found(
    comparison: tuple[str, gd.GdscComparison, pd.DataFrame], expected: dict
) -> None:
    _, cmp, _ = comparison
    assert cmp.n_reference == expected["n_curves"] == 5152
    assert cmp.n_ours == 5152
    assert cmp.n_matched == 5152 and len(cmp.missing) == 0
    per_drug = cmp.curves["drug"].value_counts().to_dict()
    assert per_drug == expected["curves_per_drug"]


#: measured (2026-11, numba engine): free LL.4 ok: rho 0.963, median |Δ| 0.367, within 1:
#: 0.910; same side 0.962. Fixed 0/100: ok: 0.992, 0.101, 0.979; both in range 0.993,
#: 0.101, 0.993; same side 0.969. Log2 instead of ln gives median |Δ| 2.3 / 1.8 and same
#: side 0.90; nM instead of µM gives 6.6 / 6.8 and 0.02; PC-1 instead of B as the 0 %
#: control gives 0.59 / 0.46.
BOUNDS = {
    "free": {"ok": (0.93, 0.50, 0.85), "same_side": 0.93},
    "fixed": {"ok": (0.97, 0.20, 0.93), "both_in_range": (0.97, 0.20, 0.95),
              "same_side": 0.94},
}


def _check(summary: pd.DataFrame, bounds: dict) -> list[str]:
    fails = []
    for group, lim in bounds.items():
        if group == "same_side":
            if not summary.loc["all", "same_side"] >= lim:
                fails.append(f"same_side {summary.loc['all', 'same_side']:.3f} < {lim}")
            continue
        rho, med, within = lim
        row = summary.loc[group]
        if not row["n_ic50"] >= 300:
            fails.append(f"{group}: only {row['n_ic50']} curves")
        if not row["spearman"] >= rho:
            fails.append(f"{group}: spearman {row['spearman']:.3f} < {rho}")
        if not row["median_abs_delta"] <= med:
            fails.append(f"{group}: median |d| {row['median_abs_delta']:.3f} > {med}")
        if not row["frac_within_1"] >= within:
            fails.append(f"{group}: within 1 {row['frac_within_1']:.3f} < {within}")
    return fails


def test_agreement_with_gdsc(comparison: tuple[str, gd.GdscComparison, pd.DataFrame]) -> None:
    kind, cmp, _ = comparison
    fails = _check(cmp.summary, BOUNDS[kind])
    assert not fails, (fails, cmp.summary.to_string())


def test_bounds_catch_unit_errors(
    comparison: tuple[str, gd.GdscComparison, pd.DataFrame], reference: pd.DataFrame
) -> None:
    """The agreement bounds fail for log2 instead of ln and for nM instead of µM."""
    kind, _, table = comparison
    for name, f in {"nM": lambda v: v * 1000.0, "log2": lambda v: np.exp(np.log2(v))}.items():
        wrong = table.assign(**{c: f(table[c]) for c in ("ec50", "dose_min", "dose_max")})
        cmp = gd.compare_with_reference(wrong, reference)
        assert _check(cmp.summary, BOUNDS[kind]), name
