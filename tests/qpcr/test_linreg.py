"""LinRegPCR-style per-well efficiency (``preclin.qpcr.linreg``).

Reference parity against rdmlpython 3.0.1 ``Run.linRegPCR()`` on rdml-tools'
``linregpcr.rdml`` (skipped when ../shared is absent), simulated curves of known efficiency,
flags, and the command line.
"""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from preclin.cli import main
from preclin.errors import InputError
from preclin.qpcr import LINREG_COLUMNS, linreg_efficiency, linreg_targets
from preclin.qpcr.linreg import read_linreg_input


# ----------------------------------------------------------------- simulated curves
def simulate(efficiency: float, n0: list[float], *, target: str = "G", cycles: int = 40,
             offset: float = 0.8, noise: float = 0.004, seed: int = 1, tasks: list[str] |
             None = None, scale: float = 10.0) -> pd.DataFrame:
    """Curves whose per-cycle efficiency stays at ``efficiency`` until the product nears
    saturation (E_c = 1 + (E − 1)/(1 + (N/K)²)), plus a baseline offset and noise."""
    rng = np.random.default_rng(seed)
    rows = []
    for k, n in enumerate(n0):
        amount = n
        for c in range(1, cycles + 1):
            amount *= 1 + (efficiency - 1) / (1 + amount ** 2)
            rows.append({"well": f"{target}{k + 1}", "sample": f"s{k + 1}", "target": target,
                         "task": tasks[k] if tasks else "unknown", "cycle": c,
                         "fluorescence": offset + 0.05 * k + scale * amount
                         + rng.normal(0, noise)})
    return pd.DataFrame(rows)


def flat(well: str, target: str = "G", *, cycles: int = 40, level: float = 0.6,
         seed: int = 3) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    return pd.DataFrame({"well": well, "sample": "flat", "target": target, "task": "unknown",
                         "cycle": np.arange(1, cycles + 1),
                         "fluorescence": level + rng.normal(0, 0.01, cycles)})


N0 = [1e-6, 1e-7, 1e-8, 3e-6, 3e-7]


@pytest.mark.parametrize(("efficiency", "noise"), [(1.9, 0.0), (1.9, 0.004), (1.75, 0.004),
                                                   (2.0, 0.004)])
def test_simulated_efficiency_recovered(efficiency: float, noise: float) -> None:
    t = linreg_efficiency(simulate(efficiency, N0, noise=noise))
    assert list(t.columns) == list(LINREG_COLUMNS) and len(t) == len(N0)
    assert t["used_for_mean"].all() and (t["excluded_reason"] == "").all()
    assert t["mean_efficiency"].iloc[0] == pytest.approx(efficiency, abs=0.01)
    assert np.abs(t["efficiency"] - efficiency).max() < 0.03
    # the baseline (offset 0.8 + 0.05 per well) is recovered
    np.testing.assert_allclose(t["baseline"], 0.8 + 0.05 * np.arange(len(N0)), atol=0.01)
    assert (t["r2"] > 0.99).all() and (t["n_fit"] >= 3).all()
    # N0 = threshold / E_mean^Cq keeps the simulated ratios of starting amounts
    ratio = np.log10(t["n0"].to_numpy() / t["n0"].iloc[0])
    np.testing.assert_allclose(ratio, np.log10(np.array(N0) / N0[0]), atol=0.05)
    assert t["cq"].is_monotonic_increasing is False  # order follows the input, not the Cq
    assert (np.diff(t["cq"].to_numpy()[[3, 0, 4, 1, 2]]) > 0).all()


def test_two_targets_common_and_group_threshold() -> None:
    curves = pd.concat([simulate(1.9, N0, target="A"),
                        simulate(1.8, N0[:3], target="B", seed=2, scale=5.0)])
    t = linreg_efficiency(curves)
    means = t.groupby("target")["mean_efficiency"].first()
    assert means["A"] == pytest.approx(1.9, abs=0.01)
    assert means["B"] == pytest.approx(1.8, abs=0.02)  # 3 wells, half the signal
    assert t["threshold"].nunique() == 1  # LinRegPCR: one threshold for all targets
    g = linreg_efficiency(curves, threshold="group")
    assert g.groupby("target")["threshold"].nunique().eq(1).all()
    assert g["threshold"].nunique() == 2
    for tab in (t, g):
        np.testing.assert_allclose(tab["n0"], tab["threshold"]
                                   / tab["mean_efficiency"] ** tab["cq"], rtol=1e-12)
    # the threshold lies one cycle below the group's window upper limit (group mode)
    r = g.iloc[0]
    assert math.log10(r["threshold"]) == pytest.approx(
        r["window_upper"] - math.log10(r["mean_efficiency"]), abs=1e-12)
    fixed = linreg_efficiency(curves, threshold=0.5)
    assert (fixed["threshold"] == 0.5).all()
    summary = linreg_targets(t)
    assert summary["target"].tolist() == ["A", "B"] and (summary["n_mean"] == [5, 3]).all()
    assert (summary["window_lower"] < summary["window_upper"]).all()


def test_common_window_efficiencies() -> None:
    t = linreg_efficiency(simulate(1.9, N0, noise=0.002), efficiency_from="window")
    assert (t["n_window"] >= 3).all()
    assert (t["window_upper"] - t["window_lower"]).iloc[0] == pytest.approx(
        4 * math.log10(np.median(linreg_efficiency(simulate(1.9, N0, noise=0.002))
                                 ["efficiency"])), rel=1e-9)
    assert t["mean_efficiency"].iloc[0] == pytest.approx(1.9, abs=0.03)
    assert t["mean_efficiency"].iloc[0] == pytest.approx(t["efficiency_window"].mean())


def test_flat_well_flagged_not_dropped() -> None:
    curves = pd.concat([simulate(1.9, N0), flat("X1")])
    t = linreg_efficiency(curves)
    assert t["well"].tolist() == ["G1", "G2", "G3", "G4", "G5", "X1"]
    x = t.set_index("well").loc["X1"]
    assert not x["amplified"] and not x["used_for_mean"]
    assert x["excluded_reason"].startswith("no amplification")
    assert x["flag"].startswith("no amplification")
    assert math.isnan(x["cq"]) and math.isnan(x["n0"]) and math.isnan(x["efficiency"])
    ref = linreg_efficiency(simulate(1.9, N0))
    assert t["mean_efficiency"].iloc[0] == pytest.approx(ref["mean_efficiency"].iloc[0],
                                                         abs=1e-12)
    # a group of flat wells only: every well out, no mean, no crash
    only = linreg_efficiency(pd.concat([flat("F1"), flat("F2", seed=4)]))
    assert len(only) == 2 and not only["used_for_mean"].any()
    assert only["mean_efficiency"].isna().all()


def test_no_plateau_outlier_and_negative_control() -> None:
    # a curve still exponential at the last cycle: no plateau, left out of the mean
    late = simulate(1.9, [1e-9], target="G", seed=5).query("cycle <= 33").assign(well="L1")
    odd = simulate(1.6, [1e-5], target="G", seed=6).assign(well="O1")
    ntc = simulate(1.9, [1e-9], target="G", seed=7, tasks=["ntc"]).assign(well="N1")
    t = linreg_efficiency(pd.concat([simulate(1.9, N0), late, odd, ntc])).set_index("well")
    assert not t.loc["L1", "plateau"] and t.loc["L1", "excluded_reason"] == "no plateau"
    assert "no plateau" in t.loc["L1", "flag"] and np.isfinite(t.loc["L1", "cq"])
    assert t.loc["O1", "excluded_reason"].startswith("efficiency outlier")
    assert t.loc["N1", "excluded_reason"] == "negative control (ntc)"
    assert "amplification in a negative control" in t.loc["N1", "flag"]
    assert np.isfinite(t.loc["N1", "n0"])  # quantified with the group's mean efficiency
    assert t["used_for_mean"].sum() == len(N0)
    assert t["mean_efficiency"].iloc[0] == pytest.approx(1.9, abs=0.01)
    kept = linreg_efficiency(pd.concat([simulate(1.9, N0), late]), exclude_no_plateau=False,
                             outlier=None)
    assert kept["used_for_mean"].all()


def test_bad_input() -> None:
    c = simulate(1.9, N0[:2])
    with pytest.raises(InputError, match="fluorescence"):
        linreg_efficiency(c.drop(columns=["fluorescence"]))
    with pytest.raises(InputError, match="two fluorescence values for cycle"):
        linreg_efficiency(pd.concat([c, c.iloc[:1]]))
    with pytest.raises(InputError, match="whole numbers"):
        linreg_efficiency(c.assign(cycle=c["cycle"] + 0.5))
    with pytest.raises(InputError, match="efficiency_from"):
        linreg_efficiency(c, efficiency_from="wol")
    with pytest.raises(InputError, match="group_by"):
        linreg_efficiency(c, group_by="plate")
    # a curve with a hole inside is reported, not dropped
    holed = c[~((c["well"] == "G1") & (c["cycle"] == 10))]
    t = linreg_efficiency(holed).set_index("well")
    assert t.loc["G1", "excluded_reason"] == "missing fluorescence inside the curve"


# ----------------------------------------------------------------- reference parity
@pytest.fixture(scope="module")
def lrp(qpcr_ref: Path) -> tuple[pd.DataFrame, pd.DataFrame, dict]:
    d = qpcr_ref / "rdml_tools"
    exp = json.loads((d / "expected.json").read_text())["linregpcr.rdml"]
    ref = pd.read_csv(d / "linregpcr_rdmlpython-3.0.1_results.tsv", sep="\t",
                      dtype={"id": str})
    got = linreg_efficiency(read_linreg_input(d / "linregpcr.rdml"))
    return got.merge(ref, left_on="well", right_on="id", suffixes=("", "_ref")), ref, exp


def test_reference_mean_efficiency(lrp: tuple[pd.DataFrame, pd.DataFrame, dict]) -> None:
    m, ref, exp = lrp
    assert len(m) == len(ref) == 16  # every well in comes out
    for target, e in exp["mean_PCR_efficiency"].items():
        got = m.loc[m["target"] == target, "mean_efficiency"].iloc[0]
        assert got == pytest.approx(e, abs=5e-6)  # measured: ≤ 7.6e-7
        # our SD has n − 1 in the denominator, LinRegPCR's n
        row = m[m["target"] == target].iloc[0]
        n = row["n_mean"]
        assert row["mean_efficiency_sd"] * math.sqrt((n - 1) / n) == pytest.approx(
            row["STD PCR eff"], abs=2e-6)
    # the same wells are averaged (controls and the two flat wells left out)
    assert (m["used_for_mean"] == (m["used for mean PCR efficiency"] == "Yes")).all()
    flat_wells = m[m["amplification"] == "No"]
    assert set(flat_wells["well_ref"]) == {"C1", "D4"}
    assert (~flat_wells["amplified"]).all()
    assert flat_wells["excluded_reason"].str.startswith("no amplification").all()
    assert (m.loc[m["amplification"] == "Yes", "plateau"]).all()


def test_reference_per_well(lrp: tuple[pd.DataFrame, pd.DataFrame, dict]) -> None:
    m, _, exp = lrp
    a = m[m["indiv PCR eff"] > 1].set_index("well_ref")
    same = a.drop(index="C4")  # C4 (−RT): log-linear phase ends one cycle lower, see docs
    assert np.abs(same["efficiency"] - same["indiv PCR eff"]).max() < 1e-5  # meas. 6.0e-6
    assert np.abs(same["r2"] - same["R2"]).max() < 1e-6
    assert np.abs(same["baseline"] - same["baseline_ref"]).max() < 1e-5
    assert (same["log_phase_last"] == same["last log cycle"]).all()
    assert (same["n_fit"] == same["n included"]).all()
    assert (same["n_log_phase"] == same["n in log phase"]).all()
    assert abs(a.loc["C4", "efficiency"] - a.loc["C4", "indiv PCR eff"]) < 0.015
    a1 = next(w for w in exp["per_well"] if w["well"] == "A1")
    assert a.loc["A1", "efficiency"] == pytest.approx(float(a1["indiv PCR eff"]), abs=5e-6)
    assert a.loc["A1", "r2"] == pytest.approx(float(a1["R2"]), abs=1e-6)
    # TD0: the third-derivative zero by central differences; rdmlpython's own numerics
    # differ (measured: 12 of 14 wells within 0.075 cycle, D2 0.145, C4 0.174)
    d = np.abs(a["td0"] - a["TD0"])
    assert d.max() < 0.18 and d.median() < 0.06 and (d < 0.08).sum() >= 12
    # N0 ratios within a target against rdmlpython's Ncopy ratios (measured ≤ 0.068 log10)
    for _, g in a[a["Ncopy"] > 0].groupby("target"):
        mine = np.log10(g["n0"] / g["n0"].iloc[0])
        theirs = np.log10(g["Ncopy"] / g["Ncopy"].iloc[0])
        assert np.abs(mine - theirs).max() < 0.075


# ----------------------------------------------------------------- command line
def _rdml(path: Path, curves: pd.DataFrame, types: dict[str, str]) -> Path:
    """A plain-XML RDML 1.2 file with <adp> curves (one run)."""
    parts = ['<?xml version="1.0" encoding="UTF-8"?>',
             '<rdml version="1.2" xmlns="http://www.rdml.org">']
    for s in dict.fromkeys(curves["sample"]):
        parts.append(f'<sample id="{s}"><type>{types.get(s, "unkn")}</type></sample>')
    for t in dict.fromkeys(curves["target"]):
        parts.append(f'<target id="{t}"><type>toi</type><dyeId id="SYBR"/></target>')
    parts.append('<experiment id="E1"><run id="R1">')
    for (well, sample, target), c in curves.groupby(["well", "sample", "target"],
                                                     sort=False):
        parts.append(f'<react id="{well}"><sample id="{sample}"/><data><tar id="{target}"/>')
        for cyc, f in zip(c["cycle"], c["fluorescence"], strict=True):
            parts.append(f"<adp><cyc>{cyc}</cyc><fluor>{f:.6f}</fluor></adp>")
        parts.append("</data></react>")
    parts.append("</run></experiment></rdml>")
    path.write_text("\n".join(parts), encoding="utf-8")
    return path


@pytest.fixture()
def rdml_file(tmp_path: Path) -> Path:
    # samples a, b in duplicate; b has 4× less target and the same reference amount
    ref_n0 = [1e-7, 1.1e-7, 1.1e-7, 1e-7]
    tgt_n0 = [4e-8, 4e-8, 1e-8, 1e-8]
    ref = simulate(1.9, ref_n0, target="REF", seed=11)
    tgt = simulate(1.8, tgt_n0, target="TGT", seed=12)
    samples = {1: "a", 2: "a", 3: "b", 4: "b"}
    for c in (ref, tgt):
        k = c["well"].str[-1].astype(int)
        c["sample"] = k.map(samples)
        c["well"] = c["target"].str[0] + k.astype(str)
    ntc = flat("N1", "TGT", seed=9).assign(sample="water")
    curves = pd.concat([ref, tgt, ntc], ignore_index=True)
    return _rdml(tmp_path / "curves.rdml", curves, {"water": "ntc"})


def test_cli_linreg(rdml_file: Path, tmp_path: Path) -> None:
    out = tmp_path / "lrp.csv"
    assert main(["qpcr", "linreg", str(rdml_file), "--out", str(out)]) == 0
    t = pd.read_csv(out, keep_default_na=False, na_values=[""])
    assert list(t.columns) == list(LINREG_COLUMNS) and len(t) == 9
    means = t.groupby("target")["mean_efficiency"].first()
    assert means["REF"] == pytest.approx(1.9, abs=0.01)
    assert means["TGT"] == pytest.approx(1.8, abs=0.01)
    n1 = t[t["well"] == "N1"].iloc[0]
    assert n1["task"] == "ntc" and not n1["used_for_mean"]
    assert str(n1["excluded_reason"]).startswith("no amplification")
    # a long table of curves works as input too
    long = tmp_path / "curves.csv"
    read_linreg_input(rdml_file).rename(columns={"fluor": "RFU"}).to_csv(long, index=False)
    out2 = tmp_path / "lrp2.csv"
    assert main(["qpcr", "linreg", str(long), "--out", str(out2), "--threshold", "group",
                 "--efficiency-from", "window"]) == 0
    t2 = pd.read_csv(out2)
    assert len(t2) == 9 and t2.groupby("target")["threshold"].nunique().eq(1).all()
    assert main(["qpcr", "linreg", str(long), "--out", str(out2), "--threshold",
                 "high"]) == 2


def test_cli_relquant_efficiency_linreg(rdml_file: Path, tmp_path: Path) -> None:
    out = tmp_path / "rq.csv"
    assert main(["qpcr", "relquant", str(rdml_file), "--reference", "REF", "--calibrator",
                 "a", "--efficiency", "linreg", "--out", str(out)]) == 0
    t = pd.read_csv(out).set_index(["sample", "target"])
    assert t.loc[("b", "TGT"), "efficiency"] == pytest.approx(1.8, abs=0.01)
    assert t.loc[("b", "REF"), "efficiency"] == pytest.approx(1.9, abs=0.01)
    # b has 4× less target for the same reference: rq ≈ 0.25
    assert t.loc[("b", "TGT"), "rq"] == pytest.approx(0.25, rel=0.1)
    assert t.loc[("a", "TGT"), "rq"] == pytest.approx(1.0, abs=1e-12)
    # linreg needs raw curves and the Pfaffl model
    assert main(["qpcr", "relquant", str(rdml_file), "--reference", "REF", "--calibrator",
                 "a", "--efficiency", "linreg", "--method", "ddct", "--out", str(out)]) == 2
    cq = tmp_path / "cq.csv"
    cq.write_text("well,sample,target,cq\nA1,a,REF,20\nA2,a,TGT,22\nA3,b,REF,20\n"
                  "A4,b,TGT,24\n")
    assert main(["qpcr", "relquant", str(cq), "--reference", "REF", "--calibrator", "a",
                 "--efficiency", "linreg", "--out", str(out)]) == 2


def test_study_kind_efficiency_linreg(rdml_file: Path, tmp_path: Path) -> None:
    from preclin.study import Study
    from preclin.study.kinds import RunContext, get_kind

    study = tmp_path / "study.toml"
    study.write_text(f'''[study]
title = "LinRegPCR efficiencies"

[[experiment]]
name = "lrp"
kind = "qpcr"
data = "{rdml_file.name}"

[experiment.qpcr]
reference = ["REF"]
calibrator = "a"
efficiency = "linreg"
''', encoding="utf-8")
    spec = Study.load(study).spec.experiment[0]
    out = get_kind("qpcr").run(spec, RunContext(base=tmp_path, out=tmp_path / "run",
                                                experiment=spec.name))
    eff = out.table("efficiencies").set_index("target")
    assert eff.loc["TGT", "efficiency"] == pytest.approx(1.8, abs=0.01)
    assert eff.loc["TGT", "source"].startswith("LinRegPCR mean of 4")
    lr = out.table("linreg")
    assert len(lr) == 9 and set(lr.columns) == set(LINREG_COLUMNS)
    rq = out.table("relquant").set_index(["sample", "target"])
    assert rq.loc[("b", "TGT"), "rq"] == pytest.approx(0.25, rel=0.1)
    # end to end through `preclin run`: the report names the method, the table is written
    assert main(["run", str(study), "--out", str(tmp_path / "run2")]) == 0
    written = {p.name for p in (tmp_path / "run2").rglob("*")}
    assert "lrp_linreg.csv" in written
    report = "".join(p.read_text(encoding="utf-8", errors="replace")
                     for p in (tmp_path / "run2").rglob("*") if p.suffix in (".md", ".html"))
    assert "LinRegPCR" in report
