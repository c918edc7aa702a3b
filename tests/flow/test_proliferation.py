"""CFSE generation fitting: recovery of simulated truth, indices, statuses and figures."""

from __future__ import annotations

import numpy as np
import pytest

from preclin.data.simulate_flow import simulate_cfse
from preclin.errors import InputError
from preclin.flow.proliferation import (
    GENERATION_COLUMNS,
    SUMMARY_COLUMNS,
    fit_proliferation,
    fit_proliferation_histogram,
    fit_undivided,
    plot_proliferation,
    proliferation_indices,
)

SCENARIOS = {
    "five_generations": dict(fractions=[0.2, 0.2, 0.25, 0.2, 0.15]),
    "no_division": dict(fractions=[1.0]),
    "nine_generations": dict(fractions=[0.05, 0.06, 0.08, 0.1, 0.12, 0.14, 0.15, 0.12, 0.1,
                                        0.08]),
    "overlapping_peaks": dict(fractions=[0.15, 0.25, 0.3, 0.2, 0.1], sd_log=0.13),
    "debris": dict(fractions=[0.2, 0.2, 0.25, 0.2, 0.15], debris_fraction=0.15),
    "width_grows": dict(fractions=[0.1, 0.2, 0.3, 0.25, 0.15], width_growth=0.05),
}


def _padded(a: np.ndarray, n: int) -> np.ndarray:
    out = np.zeros(n)
    out[: a.size] = a
    return out


def _max_error(res, sim) -> float:
    truth = sim.truth["fraction_of_events"].to_numpy()
    fit = res.table["fraction_of_events"].to_numpy()
    n = max(truth.size, fit.size)
    return float(np.abs(_padded(truth, n) - _padded(fit, n)).max())


@pytest.mark.parametrize("seed", [0, 1, 2])
@pytest.mark.parametrize("scenario", list(SCENARIOS))
def test_generation_fractions_recovered(scenario: str, seed: int) -> None:
    kw = SCENARIOS[scenario]
    sim = simulate_cfse(20_000, seed=seed, **kw)
    res = fit_proliferation(sim.values,
                            width="varying" if scenario == "width_grows" else "shared")
    assert _max_error(res, sim) < 0.01
    expected_g = len(kw["fractions"]) - 1
    assert res.summary["generations"].item() == expected_g
    assert res.status == ("no_division" if expected_g == 0 else "ok"), res.message
    assert list(res.table.columns) == list(GENERATION_COLUMNS)
    assert set(SUMMARY_COLUMNS) <= set(res.summary.columns)


@pytest.mark.parametrize("seed", [0, 1])
def test_control_and_least_squares(seed: int) -> None:
    sim = simulate_cfse(20_000, [0.02, 0.1, 0.2, 0.3, 0.2, 0.18], seed=seed, sd_log=0.1)
    ctrl = simulate_cfse(10_000, [1.0], seed=100 + seed, sd_log=0.1)
    peak = fit_undivided(ctrl.values)
    assert abs(peak.mean - 4.5) < 0.01
    for kw in ({"undivided": ctrl.values}, {"method": "ls"},
               {"undivided": peak, "width": "varying", "debris": "none"}):
        res = fit_proliferation(sim.values, **kw)
        assert _max_error(res, sim) < 0.01, kw
    res = fit_proliferation(sim.values, undivided=ctrl.values)
    assert res.summary["undivided_source"].item() == "control"


def test_indices_match_definitions_from_truth() -> None:
    sim = simulate_cfse(20_000, [0.2, 0.2, 0.25, 0.2, 0.15], seed=5)
    res = fit_proliferation(sim.values)
    n = sim.truth["count"].to_numpy(dtype=float)
    i = np.arange(n.size)
    p = n / 2.0**i
    expected = {
        "percent_divided": 100 * n[1:].sum() / n.sum(),
        "precursor_frequency": p[1:].sum() / p.sum(),
        "division_index": (i * p).sum() / p.sum(),
        "proliferation_index": (i[1:] * p[1:]).sum() / p[1:].sum(),
        "expansion_index": n.sum() / p.sum(),
        "replication_index": n[1:].sum() / p[1:].sum(),
    }
    got = res.summary.iloc[0]
    for key, value in expected.items():
        assert got[key] == pytest.approx(value, rel=0.03), key
    assert res.table["fraction_of_precursors"].to_numpy() == pytest.approx(
        sim.truth["fraction_of_precursors"].to_numpy(), abs=0.01)


def test_indices_examples() -> None:
    # half the original cells divided 3 times, half never (FlowJo's worked example)
    idx = proliferation_indices([50, 0, 0, 400])
    assert idx["division_index"] == pytest.approx(1.5)
    assert idx["proliferation_index"] == pytest.approx(3.0)
    assert idx["precursor_frequency"] == pytest.approx(0.5)
    assert idx["expansion_index"] == pytest.approx(4.5)
    assert idx["replication_index"] == pytest.approx(8.0)
    none = proliferation_indices([100])
    assert none["percent_divided"] == 0 and np.isnan(none["proliferation_index"])
    with pytest.raises(ValueError):
        proliferation_indices([-1, 2])


def test_untrustworthy_fits_are_flagged() -> None:
    sim = simulate_cfse(20_000, [0.2, 0.3, 0.3, 0.2], seed=3, sd_log=0.2)
    res = fit_proliferation(sim.values)
    assert res.status == "peaks_unresolved" and not res.trusted
    assert "overlap" in res.message
    few = fit_proliferation(simulate_cfse(100, seed=3).values)
    assert few.status == "too_few_events" and len(few.table) == 0
    capped = fit_proliferation(simulate_cfse(20_000, [0.2] * 5, seed=4).values,
                               max_generations=2)
    assert not capped.trusted and "generation 2 is the last one allowed" in capped.message


def test_histogram_input_and_exclusions() -> None:
    sim = simulate_cfse(20_000, [0.3, 0.4, 0.3], seed=7)
    x = np.log10(sim.values)
    edges = np.linspace(x.min(), x.max() + 0.05, 201)
    counts, _ = np.histogram(x, edges)
    res = fit_proliferation_histogram(counts, edges, scale="log")
    assert _max_error(res, sim) < 0.01
    vals = np.concatenate([sim.values, [-5.0, 0.0, np.nan]])
    res = fit_proliferation(vals, gate=(10.0, None))
    reasons = dict(zip(res.excluded["reason"], res.excluded["events"], strict=True))
    assert reasons["not a finite number"] == 1
    assert reasons["outside the gate"] == 2
    with pytest.raises(InputError):
        fit_proliferation(sim.values, method="bayes")  # type: ignore[arg-type]
    with pytest.raises(InputError):
        fit_proliferation_histogram(counts, edges[:-1])


def test_deterministic() -> None:
    sim = simulate_cfse(5_000, seed=11)
    a, b = fit_proliferation(sim.values), fit_proliferation(sim.values)
    assert a.table.equals(b.table) and a.summary.equals(b.summary)


def test_figure_draws_each_generation() -> None:
    sim = simulate_cfse(20_000, [0.2, 0.2, 0.25, 0.2, 0.15], seed=0, debris_fraction=0.1)
    res = fit_proliferation(sim.values)
    fig = plot_proliferation(res, title="CFSE")
    ax = fig.axes[0]
    labels = [line.get_label() for line in ax.get_lines()]
    gens = [lab for lab in labels if lab.startswith("generation ")]
    assert gens == [f"generation {i}" for i in range(res.summary["generations"].item() + 1)]
    assert "fit" in labels and ("debris" in labels) == ("debris" in res.components)
    assert ax.get_xscale() == "log" and ax.get_title() == "CFSE"
    assert "generations" in res.fit_report().lower()


def test_cli_proliferation(tmp_path) -> None:
    import pandas as pd

    from preclin.cli import main
    from preclin.flow.io import write_fcs

    sim = simulate_cfse(20_000, [0.3, 0.3, 0.2, 0.2], seed=2)
    ctrl = simulate_cfse(5_000, [1.0], seed=3)
    write_fcs(tmp_path / "stim.fcs", np.column_stack([sim.values, sim.values]),
              ["FL1-A", "FSC-A"], markers=["CFSE", ""])
    write_fcs(tmp_path / "ctrl.fcs", np.column_stack([ctrl.values, ctrl.values]),
              ["FL1-A", "FSC-A"], markers=["CFSE", ""])
    out = tmp_path / "gens.csv"
    code = main(["flow", "proliferation", str(tmp_path / "stim.fcs"), "--channel", "CFSE",
                 "--undivided", str(tmp_path / "ctrl.fcs"), "--out", str(out)])
    assert code == 0
    gens = pd.read_csv(out)
    assert list(gens.columns[:4]) == ["generation", "count", "fraction_of_events",
                                      "fraction_of_precursors"]
    assert gens["fraction_of_events"].to_numpy() == pytest.approx(
        sim.truth["fraction_of_events"].to_numpy(), abs=0.01)
    summary = pd.read_csv(tmp_path / "gens_summary.csv")
    assert {"percent_divided", "division_index", "proliferation_index", "expansion_index",
            "generations", "status"} <= set(summary.columns)
    assert main(["flow", "proliferation", str(tmp_path / "stim.fcs"), "--channel", "XYZ",
                 "--out", str(out)]) == 2


_GATINGML = """<?xml version="1.0" encoding="UTF-8"?>
<gating:Gating-ML xmlns:gating="http://www.isac-net.org/std/Gating-ML/v2.0/gating"
    xmlns:data-type="http://www.isac-net.org/std/Gating-ML/v2.0/datatypes">
  <gating:RectangleGate gating:id="Tcells">
    <gating:dimension gating:min="1000">
      <data-type:fcs-dimension data-type:name="FL4-A"/>
    </gating:dimension>
  </gating:RectangleGate>
</gating:Gating-ML>
"""


def _mixed_fcs(path, seed: int):
    """CFSE T cells (CD3 ~ 10^4) mixed with 30 % CD3- bright cells that never divide."""
    from preclin.flow.io import write_fcs

    sim = simulate_cfse(20_000, [0.25, 0.3, 0.25, 0.2], seed=seed)
    rng = np.random.default_rng(seed + 100)
    n_other = 8_000
    other = 10 ** (5.0 + 0.1 * rng.standard_normal(n_other))  # one bright CFSE peak
    cfse = np.concatenate([sim.values, other])
    cd3 = np.concatenate([10 ** (4 + 0.2 * rng.standard_normal(sim.values.size)),
                          10 ** (2 + 0.2 * rng.standard_normal(n_other))])
    write_fcs(path, np.column_stack([cfse, cd3]), ["FL1-A", "FL4-A"],
              markers=["CFSE", "CD3"])
    return sim


@pytest.mark.parametrize("kind", ["toml", "xml"])
def test_cli_proliferation_gated(tmp_path, kind: str) -> None:
    import pandas as pd

    from preclin.cli import main

    sim = _mixed_fcs(tmp_path / "mixed.fcs", seed=5)
    if kind == "toml":
        gates = tmp_path / "gates.toml"
        gates.write_text('[[gate]]\nname = "Tcells"\nrange = { channel = "CD3", min = 1000 }\n')
    else:
        gates = tmp_path / "gates.xml"
        gates.write_text(_GATINGML)
    out = tmp_path / "gens.csv"
    args = ["flow", "proliferation", str(tmp_path / "mixed.fcs"), "--channel", "CFSE",
            "--out", str(out)]
    assert main([*args, "--gates", str(gates), "--population", "Tcells"]) == 0
    gens = pd.read_csv(out)
    truth = sim.truth["fraction_of_events"].to_numpy()
    assert gens["fraction_of_events"].to_numpy()[:truth.size] == pytest.approx(truth,
                                                                                abs=0.01)
    # ungated, the CD3- cells are a spurious brightest peak: the numbers are not the truth
    assert main(args) == 0
    ungated = pd.read_csv(out)
    assert ungated["fraction_of_events"].to_numpy()[:truth.size] != pytest.approx(
        truth, abs=0.01)
    # errors: unknown population (with a hint), population without gates
    assert main([*args, "--gates", str(gates), "--population", "Tcell"]) == 2
    assert main([*args, "--population", "Tcells"]) == 2


def test_population_events_paths(tmp_path) -> None:
    from preclin.flow.gated import population_events

    _mixed_fcs(tmp_path / "mixed.fcs", seed=6)
    gates = tmp_path / "gates.toml"
    gates.write_text('[[gate]]\nname = "Tcells"\nrange = { channel = "CD3", min = 1000 }\n')
    ev = population_events(tmp_path / "mixed.fcs", ["CFSE", "CD3"], gates=gates,
                           population="/Tcells")
    assert ev.population == "/Tcells" and ev.events_total == 28_000
    assert abs(ev.events - 20_000) < 50 and (ev["CD3"] >= 1000).all()
    assert ev.excluded()[0][1] == 28_000 - ev.events
    everything = population_events(tmp_path / "mixed.fcs", ["CFSE"])
    assert everything.events == 28_000 and everything.excluded() == []
