"""Power and sample size: equal R (power_reference.csv); simulation agrees; CLI."""

from __future__ import annotations

import math
from pathlib import Path

import pandas as pd
import pytest

from preclin.cli import main
from preclin.errors import InputError
from preclin.stats.power import (
    POWER_COLUMNS,
    power_anova,
    power_logrank,
    power_t,
    power_table,
    power_welch,
    simulate_power,
    simulate_two_group_power,
)

REF_DIR = Path(__file__).resolve().parents[1] / "data" / "stats_reference"
_R = {(c, q): float(v) for c, q, v in pd.read_csv(REF_DIR / "power_reference.csv")
      .itertuples(index=False)}


def R(case: str, quantity: str) -> float:
    return _R[(case, quantity)]


DESIGNS = {"two.sample": "two-sample", "paired": "paired", "one.sample": "one-sample"}


@pytest.mark.parametrize("rname", list(DESIGNS))
@pytest.mark.parametrize("n", [3, 5, 10])
def test_t_power_equals_r(rname: str, n: int) -> None:
    d = DESIGNS[rname]
    assert power_t(n=n, delta=15, sd=10, design=d).power == pytest.approx(
        R(f"t_{rname}_n{n}", "power"), rel=1e-10)
    assert power_t(n=n, delta=15, sd=10, design=d, strict=True).power == pytest.approx(
        R(f"t_{rname}_n{n}_strict", "power"), rel=1e-10)


@pytest.mark.parametrize("rname", list(DESIGNS))
def test_t_sample_size_equals_r(rname: str) -> None:
    res = power_t(power=0.8, delta=15, sd=10, design=DESIGNS[rname])
    assert res.solved_for == "n"
    assert res.n == pytest.approx(R(f"t_{rname}_p80", "n"), rel=1e-10)
    # R's default tolerance (uniroot 1.2e-4) lands within 1e-6 here
    assert res.n == pytest.approx(R(f"t_{rname}_p80", "n_R_default_tol"), rel=1e-6)
    assert res.n_required == math.ceil(res.n)
    assert res.achieved_power >= 0.8
    assert power_t(n=res.n_required - 1, delta=15, sd=10,
                   design=DESIGNS[rname]).power < 0.8


def test_t_other_cases() -> None:
    assert power_t(n=5, delta=1, sd=0.6).power == pytest.approx(
        R("t_engraftment_n5", "power"), rel=1e-10)
    assert power_t(power=0.9, delta=0.5, sd=1, alpha=0.01).n == pytest.approx(
        R("t_alpha01_p90", "n"), rel=1e-10)


def test_welch_reduces_to_student_and_grows_with_unequal_sds() -> None:
    for n in (3, 5, 10):
        assert power_welch(n=n, delta=15, sd1=10, sd2=10).power == pytest.approx(
            power_t(n=n, delta=15, sd=10).power, rel=1e-12)
    # same total variance, unequal SDs: fewer df, less power
    unequal = power_welch(n=5, delta=15, sd1=math.sqrt(190), sd2=math.sqrt(10)).power
    assert unequal < power_t(n=5, delta=15, sd=10).power
    res = power_welch(power=0.8, delta=1, sd1=1, sd2=2, ratio=2)
    assert power_welch(n=res.n, delta=1, sd1=1, sd2=2, ratio=2).power == pytest.approx(0.8)


def test_anova_equals_r() -> None:
    assert power_anova(groups=4, n=5, between_var=1, within_var=3).power == pytest.approx(
        R("anova_g4_n5", "power"), rel=1e-8)
    assert power_anova(groups=4, power=0.8, between_var=1, within_var=3).n == pytest.approx(
        R("anova_g4_p80", "n"), rel=1e-8)
    assert power_anova(groups=4, n=6, means=[120, 130, 140, 150], sd=20).power == \
        pytest.approx(R("anova_means_n6", "power"), rel=1e-8)


def test_logrank_equals_formulas_worked_in_r() -> None:
    assert power_logrank(hr=0.5, power=0.8).details["events"] == pytest.approx(
        R("logrank_sch_hr05_p80", "events"), rel=1e-12)
    assert power_logrank(hr=0.5, power=0.8, allocation=1 / 3).details["events"] == \
        pytest.approx(R("logrank_sch_hr05_p80_alloc13", "events"), rel=1e-12)
    assert power_logrank(hr=0.5, events=30).power == pytest.approx(
        R("logrank_sch_hr05_d30", "power"), rel=1e-12)
    assert power_logrank(hr=0.3, events=10).power == pytest.approx(
        R("logrank_sch_hr03_d10", "power"), rel=1e-12)
    assert power_logrank(hr=0.5, power=0.8, method="freedman").details["events"] == \
        pytest.approx(R("logrank_fr_hr05_p80", "events"), rel=1e-12)
    assert power_logrank(hr=0.5, events=30, method="freedman").power == pytest.approx(
        R("logrank_fr_hr05_d30", "power"), rel=1e-12)
    res = power_logrank(hr=0.5, power=0.8, p_event=0.7)
    assert res.n == pytest.approx(R("logrank_sch_hr05_p80_pev07", "subjects"), rel=1e-12)
    assert res.n_required == 94
    # a hazard ratio and its inverse need the same events
    assert power_logrank(hr=2.0, events=30).power == pytest.approx(
        power_logrank(hr=0.5, events=30).power)


def test_bad_settings() -> None:
    with pytest.raises(InputError, match="exactly one"):
        power_t(delta=1)
    with pytest.raises(InputError, match="exactly one"):
        power_t(delta=1, n=5, power=0.8)
    with pytest.raises(InputError, match="alpha"):
        power_t(delta=1, n=5, alpha=1.5)
    with pytest.raises(InputError, match="Freedman"):
        power_logrank(hr=0.5, power=0.8, method="freedman", allocation=0.3)
    with pytest.raises(InputError, match="do not apply"):
        power_table("welch", n=[5], delta=1, sd=1)


def test_simulated_power_agrees_with_analytical() -> None:
    exact = power_t(n=5, delta=15, sd=10).power
    sim = simulate_two_group_power(n=5, delta=15, sd=10, test="student", n_sim=2000, seed=7)
    assert sim.mc_se == pytest.approx(math.sqrt(sim.power * (1 - sim.power) / 2000))
    assert abs(sim.power - exact) < 4 * sim.mc_se
    again = simulate_two_group_power(n=5, delta=15, sd=10, test="student", n_sim=2000, seed=7)
    assert again == sim  # seeded: reproducible
    paired = simulate_two_group_power(n=5, delta=15, sd=10, test="paired", n_sim=1000, seed=3)
    assert abs(paired.power - power_t(n=5, delta=15, sd=10, design="paired").power) \
        < 4 * paired.mc_se


def test_simulate_power_counts_failures_and_ties_at_alpha() -> None:
    ps = iter([0.05, 0.0500001, float("nan"), 0.01])
    res = simulate_power(lambda rng: None, lambda _: next(ps), n_sim=4, seed=0)
    assert (res.rejections, res.failures, res.power) == (2, 1, 0.5)


def test_power_table_rows() -> None:
    t = power_table("two-sample", n=[3, 5, 10], delta=15, sd=10)
    assert list(t.columns) == list(POWER_COLUMNS) and len(t) == 3
    assert t["power"].tolist() == pytest.approx(
        [R(f"t_two.sample_n{n}", "power") for n in (3, 5, 10)], rel=1e-10)


def _run(argv: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    code = main(argv)
    out, err = capsys.readouterr()
    return code, out, err


def test_cli_power(tmp_path, capsys) -> None:
    code, out, err = _run(["stats", "power", "--design", "two-sample", "--delta", "15",
                           "--sd", "10", "--n", "3,5,10"], capsys)
    assert code == 0, err
    assert out.splitlines() == ["n = 3: power 0.2929", "n = 5: power 0.5494",
                                "n = 10: power 0.8870"]
    dest = tmp_path / "p.csv"
    code, out, err = _run(["stats", "power", "--design", "paired", "--delta", "15", "--sd",
                           "10", "--power", "0.8", "--out", str(dest)], capsys)
    assert code == 0, err
    assert out.startswith("n = 6 (exact 5.6861")
    t = pd.read_csv(dest)
    assert t["n"].iloc[0] == pytest.approx(R("t_paired_p80", "n"), rel=1e-10)
    code, out, err = _run(["stats", "power", "--design", "logrank", "--hr", "0.5",
                           "--power", "0.8", "--method", "freedman"], capsys)
    assert code == 0 and "events 70.6" in out
    code, out, _ = _run(["stats", "power", "--design", "anova", "--means",
                         "120,130,140,150", "--sd", "20", "--n", "6"], capsys)
    assert code == 0 and out.strip() == "n = 6: power 0.5315"


@pytest.mark.parametrize("argv,msg", [
    (["--design", "two-sample", "--delta", "1", "--sd", "1"], "give --n"),
    (["--design", "nope", "--n", "3"], "unknown design"),
    (["--design", "two-sample", "--delta", "1", "--sd", "1", "--n", "3,x"], "numbers"),
    (["--design", "welch", "--delta", "1", "--sd", "1", "--n", "3"], "do not apply"),
    (["--design", "logrank", "--hr", "1", "--n", "30"], "hr must be"),
])
def test_cli_power_bad_input_exits_2(argv, msg, capsys) -> None:
    code, _, err = _run(["stats", "power", *argv], capsys)
    assert code == 2 and msg in err and len(err.strip().splitlines()) == 1
