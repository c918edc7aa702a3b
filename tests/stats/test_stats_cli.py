"""`preclin stats compare` / `preclin stats survival`: outputs equal R, bad input exits 2."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from preclin.cli import main
from preclin.stats.tables import COMPARE_COLUMNS, SURVIVAL_COLUMNS

REF = Path(__file__).resolve().parents[1] / "data" / "stats_reference"


def _run(argv: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    code = main(argv)
    out, err = capsys.readouterr()
    return code, out, err


def test_compare_ic50_log_welch(tmp_path, capsys, ref) -> None:
    out = tmp_path / "cmp.csv"
    code, _, err = _run(["stats", "compare", str(REF / "ic50.csv"), "--value", "ic50",
                         "--group", "group", "--control", "resistant", "--log",
                         "--out", str(out)], capsys)
    assert code == 0, err
    t = pd.read_csv(out)
    assert list(t.columns) == list(COMPARE_COLUMNS)
    r = t.iloc[0]
    assert (r.group1, r.group2, r.n1, r.n2, r.test) == ("resistant", "sensitive", 11, 12,
                                                         "welch")
    assert r.p_value == pytest.approx(ref("ic50_welch_log", "p_value"), rel=1e-6)
    assert r.p_adj == pytest.approx(r.p_value) and r.stars == "****"
    assert np.log10(r.effect_lower) == pytest.approx(ref("ic50_welch_log", "conf_int[1]"))


def test_compare_paired_auto_and_wilcoxon(tmp_path, capsys, ref) -> None:
    d = pd.read_csv(REF / "paired.csv")
    long = d.melt(id_vars="donor", var_name="treatment", value_name="viability")
    long = long.sort_values("treatment", ascending=True, kind="stable")  # drug first
    inp = tmp_path / "paired.csv"
    long.to_csv(inp, index=False)
    out = tmp_path / "o.csv"
    for test, case in (("auto", "paired_t"), ("wilcoxon", "paired_wilcoxon")):
        code, _, err = _run(["stats", "compare", str(inp), "--value", "viability", "--group",
                             "treatment", "--pair", "donor", "--test", test, "--out",
                             str(out)], capsys)
        assert code == 0, err
        r = pd.read_csv(out).iloc[0]
        assert (r.group1, r.group2) == ("drug", "vehicle")
        assert r.statistic == pytest.approx(ref(case, "statistic"), abs=1e-9)
        assert r.p_value == pytest.approx(ref(case, "p_value"), rel=1e-9)
        assert r.effect == pytest.approx(ref(case, "estimate"), rel=1e-9)


def test_compare_many_groups_holm_sidak(tmp_path, capsys) -> None:
    out = tmp_path / "o.csv"
    code, _, err = _run(["stats", "compare", str(REF / "oneway.csv"), "--value", "volume",
                         "--group", "arm", "--test", "student", "--out", str(out)], capsys)
    assert code == 0, err
    t = pd.read_csv(out)
    assert len(t) == 6 and (t.p_adj >= t.p_value - 1e-15).all()


def test_survival_cli(tmp_path, capsys, ref) -> None:
    out = tmp_path / "s.csv"
    code, _, err = _run(["stats", "survival", str(REF / "survival.csv"), "--time", "time",
                         "--event", "event", "--group", "arm", "--out", str(out)], capsys)
    assert code == 0, err
    t = pd.read_csv(out)
    assert list(t.columns) == list(SURVIVAL_COLUMNS)
    assert list(t.group) == ["vehicle", "drug", "combo"]
    assert t.p_value.iloc[0] == pytest.approx(ref("logrank3_all", "p_value"), rel=1e-9)
    assert t["median"].tolist() == [ref(f"median_all:{g}", "median") for g in t.group]
    assert t.median_upper.isna().all()


def _write(tmp_path: Path, df: pd.DataFrame) -> Path:
    p = tmp_path / "bad.csv"
    df.to_csv(p, index=False)
    return p


@pytest.mark.parametrize("df,extra,needle", [
    (pd.DataFrame({"g": ["a", "a"], "v": [1.0, 2.0]}), [], "only one group"),
    (pd.DataFrame({"g": ["a", "b", "b"], "v": ["1", "x", "3"]}), [], "row 3"),
    (pd.DataFrame({"g": ["a", "a", "b"], "v": [1.0, 2.0, 3.0], "id": ["d1", "d2", "d1"]}),
     ["--pair", "id"], "row 3: pair 'd2'"),
    (pd.DataFrame({"g": ["a", "a", "b", "b"], "v": [1.0, 2, 3, 4], "id": ["d1", "d1", "d1",
                                                                        "d2"]}),
     ["--pair", "id"], "row 3: pair 'd1' appears twice"),
    (pd.DataFrame({"g": ["a", "b"], "v": [1.0, 2.0]}), ["--test", "anova"], "unknown test"),
    (pd.DataFrame({"g": ["a", "a", "b", "b"], "v": [1.0, 2, 0, 4]}), ["--log"], "row 4"),
])
def test_compare_bad_input_exit_2(tmp_path, capsys, df, extra, needle) -> None:
    p = _write(tmp_path, df)
    code, out, err = _run(["stats", "compare", str(p), "--value", "v", "--group", "g",
                           *extra, "--out", str(tmp_path / "o.csv")], capsys)
    assert code == 2
    lines = err.strip().splitlines()
    assert len(lines) == 1 and needle in lines[0], err


@pytest.mark.parametrize("df,needle", [
    (pd.DataFrame({"t": [1, 2, -3, 4], "e": [1, 0, 1, 1], "g": list("aabb")}),
     "row 4: column 't' must be >= 0"),
    (pd.DataFrame({"t": [1, 2, 3, 4], "e": [1, 0, 2, 1], "g": list("aabb")}),
     "row 4: column 'e' must be 0 (censored) or 1"),
    (pd.DataFrame({"t": [1, "x", 3, 4], "e": [1, 0, 1, 1], "g": list("aabb")}),
     "row 3: column 't' must be numeric"),
    (pd.DataFrame({"t": [1, 2, 3, 4], "e": [1, 0, 1, 1], "g": list("aaaa")}),
     "only one group"),
])
def test_survival_bad_input_exit_2(tmp_path, capsys, df, needle) -> None:
    p = _write(tmp_path, df)
    code, out, err = _run(["stats", "survival", str(p), "--time", "t", "--event", "e",
                           "--group", "g", "--out", str(tmp_path / "o.csv")], capsys)
    assert code == 2
    lines = err.strip().splitlines()
    assert len(lines) == 1 and needle in lines[0], err
