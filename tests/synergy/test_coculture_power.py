"""Co-culture power by simulation through the real analysis, and `[experiment.power]`."""

from __future__ import annotations

import math

import pytest

from preclin.data.example_combination import simulate_coculture
from preclin.errors import InputError, StudyError
from preclin.synergy.coculture import chemoprotection
from preclin.synergy.coculture_power import (
    POWER_COLUMNS,
    ProtectionDesign,
    pilot_estimates,
    protection_power,
)

BASE, WITH = "AraC+Ida", "AraC+Ida+lenalidomide"


@pytest.fixture(scope="module")
def pilot():
    df = simulate_coculture(2018)
    return chemoprotection(df, response="apoptosis_pct", condition="condition",
                           replicate="replicate", by=["aml_sample"], added="lenalidomide")


def test_pilot_estimates_recover_the_simulator(pilot) -> None:
    est = pilot_estimates(pilot, base=BASE, with_=WITH)
    # the simulator: measurement SD 2.5, donor shift SD 2 (example_combination docstring)
    assert est["sd"] == pytest.approx(2.5, abs=0.5)
    assert est["sd_replicate"] == pytest.approx(2.0, abs=1.0)
    assert est["n_groups"] == 5
    inter = pilot.interaction[pilot.interaction["base"] == BASE]
    assert est["effect"] == pytest.approx(inter["protection_change"].mean(), rel=1e-9)
    one = pilot_estimates(pilot, base=BASE, with_=WITH, group={"aml_sample": "HL-60"})
    hl = inter[inter["aml_sample"] == "HL-60"].iloc[0]
    assert one["effect"] == pytest.approx(hl["protection_change"], rel=1e-9)
    with pytest.raises(InputError, match="no data"):
        pilot_estimates(pilot, base=BASE, with_=WITH, group={"aml_sample": "nope"})


def test_power_matches_noncentral_t_within_monte_carlo_error() -> None:
    design = ProtectionDesign(base=BASE, with_=WITH, base_alone=85, base_stroma=45,
                              with_alone=88, sd=2.5, sd_replicate=2.0, effect=-6)
    assert design.protection_base == 40 and design.with_stroma == pytest.approx(54)
    t = protection_power(design, n=[3, 6], n_sim=120, seed=11)
    assert list(t.columns) == list(POWER_COLUMNS) and t["n"].tolist() == [3, 6]
    for r in t.itertuples(index=False):
        assert r.mc_se == pytest.approx(math.sqrt(r.power * (1 - r.power) / 120))
        assert abs(r.power - r.power_analytical) < 4 * max(r.mc_se, 0.01)
    assert t["power"].iloc[1] > t["power"].iloc[0]
    again = protection_power(design, n=[3, 6], n_sim=120, seed=11)
    assert again.equals(t)  # seeded: reproducible
    only6 = protection_power(design, n=6, n_sim=120, seed=11)
    assert only6["rejections"].iloc[0] == t["rejections"].iloc[1]  # own stream per n


def test_no_effect_gives_about_alpha() -> None:
    design = ProtectionDesign(base=BASE, with_=WITH, base_alone=85, base_stroma=45,
                              with_alone=88, sd=2.5, sd_replicate=2.0, effect=0.0)
    t = protection_power(design, n=4, n_sim=200, seed=3)
    assert t["power"].iloc[0] < 0.05 + 4 * math.sqrt(0.05 * 0.95 / 200)


def test_bad_designs() -> None:
    design = ProtectionDesign(base=BASE, with_=WITH, base_alone=85, base_stroma=45,
                              with_alone=88, sd=2.5, sd_replicate=2.0, effect=-6)
    with pytest.raises(InputError, match="at least 2"):
        protection_power(design, n=[1], n_sim=10)


def test_study_power_section(tmp_path) -> None:
    from preclin.study import Study
    from preclin.study.kinds import get_kind

    study = get_kind("coculture").example(tmp_path / "ex")
    run = Study.load(study).run(tmp_path / "out")
    out = run["aml_coculture"]
    power = out.table("power")
    assert power["n"].tolist() == [3, 5] and (power["effect"] == -8).all()
    assert (power["source"] == "pilot + stated").all() and (power["n_sim"] == 20).all()
    html = run.report.read_text(encoding="utf-8")
    assert "How many donors? Power by simulation" in html
    assert (tmp_path / "out" / "tables" / "aml_coculture_power.csv").exists()
    text = study.read_text(encoding="utf-8")
    bad = study.with_name("bad.toml")
    bad.write_text(text.replace("n = [3, 5]", "n = [1, 5]"), encoding="utf-8")
    with pytest.raises(StudyError, match="at least 2"):
        Study.load(bad)
    bad.write_text(text.replace("n_sim = 20", "n_sims = 20"), encoding="utf-8")
    with pytest.raises(StudyError, match="n_sims"):
        Study.load(bad)
