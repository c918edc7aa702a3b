"""Curves on which drc fails (dr4pl's examples) and PharmacoGx's published Hill fits."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import preclin.doseresponse as dr


@pytest.mark.parametrize("i", [1, 2, 3, 4])
def test_dr4pl_failures_fit_or_flag(reference_dir: Path, i: int) -> None:
    folder = reference_dir / "doseresponse" / "dr4pl_failures"
    meta = json.loads((folder / "expected.json").read_text())["files"][f"drc_error_{i}.csv"]
    data = pd.read_csv(folder / f"drc_error_{i}.csv")
    assert len(data) == meta["n"]
    res = dr.fit(data, dose="Dose", response="Response", ed=[50])
    assert len(res.table) == 1
    row = res.table.iloc[0]
    # every observation accounted for
    assert row["n"] + len(res.excluded) == meta["n"]
    assert row["n_doses"] == meta["n_doses"]
    if row["status"] == "ok":
        assert np.isfinite(row[["bottom", "top", "ec50", "hill"]].astype(float)).all()
        assert np.isfinite(row["ec50_lower"]) and row["ec50_lower"] > 0
    else:
        assert row["status"] in dr.STATUSES
        assert row["message"]


def test_dr4pl_outlier_curves_are_flagged(reference_dir: Path) -> None:
    """The single extreme value of drc_error_1 (90240 among ~7000-10000) is flagged."""
    folder = reference_dir / "doseresponse" / "dr4pl_failures"
    data = pd.read_csv(folder / "drc_error_1.csv")
    res = dr.fit(data, dose="Dose", response="Response")
    assert res.table.loc[0, "status"] == "outliers"
    assert res.table.loc[0, "n_outliers"] >= 1


def test_dr4pl_support_problem_not_reported_ok(reference_dir: Path) -> None:
    """No lower plateau (drop only at the top dose): must not come out as a clean fit."""
    folder = reference_dir / "doseresponse" / "dr4pl_failures"
    data = pd.read_csv(folder / "drc_error_4.csv")
    row = dr.fit(data, dose="Dose", response="Response").table.iloc[0]
    assert row["status"] != "ok"


@pytest.mark.parametrize("case", ["A_normal", "B_normal"])
def test_pharmacogx_hill_fits(reference_dir: Path, case: str) -> None:
    folder = reference_dir / "doseresponse" / "pharmacogx"
    exp = json.loads((folder / "expected.json").read_text())
    ref = exp["cases"][case]
    data = pd.read_csv(folder / "loglogistic_cases.csv")
    data = data[data["case"] == ref["data_case"]].copy()
    if ref["trunc"]:
        data["viability_pct"] = data["viability_pct"].clip(0, 100)
    # PharmacoGx's model is LL.4 with the top fixed at 100 %
    res = dr.fit(data, dose="conc", response="viability_pct", fixed={"top": 100})
    row = res.table.iloc[0]
    rtol = exp["tolerance"]["rtol"]
    assert abs(row["hill"] - ref["HS"]) / ref["HS"] < rtol
    assert abs(row["bottom"] - ref["E_inf"]) / ref["E_inf"] < rtol
    assert abs(row["ec50"] - ref["EC50"]) / ref["EC50"] < rtol
    resid = data["viability_pct"].to_numpy() - dr.predict(
        "ll4", data["conc"].to_numpy(float), hill=row.hill, bottom=row.bottom, top=row.top,
        ec50=row.ec50)
    r2 = 1 - np.var(resid, ddof=1) / np.var(data["viability_pct"].to_numpy(), ddof=1)
    assert abs(r2 - ref["Rsquare"]) < rtol


def test_pharmacogx_truncation_equivalence(reference_dir: Path) -> None:
    folder = reference_dir / "doseresponse" / "pharmacogx"
    data = pd.read_csv(folder / "loglogistic_cases.csv")
    d1 = data[data["case"] == "D1"].copy()
    d2 = data[data["case"] == "D2"].copy()
    assert len(d1) and len(d2)
    fits = []
    for d in (d1, d2):
        d["viability_pct"] = d["viability_pct"].clip(0, 100)
        fits.append(dr.fit(d, dose="conc", response="viability_pct",
                           fixed={"top": 100}).table.iloc[0])
    for col in ("hill", "bottom", "ec50"):
        assert fits[0][col] == pytest.approx(fits[1][col], rel=1e-12)
