"""The SIMULATED combination examples: determinism, recovery of the truths, figures, report."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from matplotlib.figure import Figure

from preclin.data.example_combination import (
    COCULTURE_SAMPLES,
    FACTORIAL_TRUE_EXCESS,
    ORIGIN,
    coculture_truth,
    factorial_truth,
    simulate_coculture,
    simulate_factorial,
    write_coculture_example,
    write_factorial_example,
)
from preclin.report import Report, render_figure
from preclin.synergy.coculture import chemoprotection
from preclin.synergy.factorial import factorial_effects
from preclin.synergy.figures_factorial import (
    BRACKET_LABEL,
    EXPECTED_LABEL,
    add_factorial_section,
    add_protection_section,
    plot_factorial,
    plot_protection,
)

SEED = 2018
FACTORS = ["AraC_nM", "Ida_nM", "lenalidomide_uM"]
KEYS = ["cell_line", "combination", "reference", "components", "added"]


def analyse_factorial(df: pd.DataFrame):
    return factorial_effects(df, factors=FACTORS, response="viability_pct",
                             replicate="replicate", by=["cell_line"], scales=("response",))


def analyse_coculture(df: pd.DataFrame):
    return chemoprotection(df, response="apoptosis_pct", condition="condition",
                           treatment="treatment", replicate="replicate", by=["aml_sample"])


@pytest.fixture(scope="module")
def fact():
    return analyse_factorial(simulate_factorial(SEED))


@pytest.fixture(scope="module")
def cocul():
    return analyse_coculture(simulate_coculture(SEED))


def test_same_seed_gives_byte_identical_csv(tmp_path) -> None:
    paths = []
    for sub in ("a", "b", "c"):
        seed = SEED if sub != "c" else SEED + 1
        paths.append((write_coculture_example(tmp_path / sub, seed),
                      write_factorial_example(tmp_path / sub, seed)))
    for i in range(2):
        assert paths[0][i].read_bytes() == paths[1][i].read_bytes()
        assert paths[0][i].read_bytes() != paths[2][i].read_bytes()
    assert paths[0][0].name == "coculture_apoptosis.csv"
    assert paths[0][1].name == "factorial_viability.csv"
    assert (tmp_path / "a" / "coculture_apoptosis_truth.csv").is_file()
    assert (tmp_path / "a" / "factorial_viability_truth.csv").is_file()
    cc = pd.read_csv(paths[0][0])
    fx = pd.read_csv(paths[0][1])
    assert (cc["origin"] == "SIMULATED").all() and (fx["origin"] == ORIGIN).all()
    assert list(cc.columns) == ["origin", "aml_sample", "sample_type", "condition", "treatment",
                                "AraC_nM", "Ida_nM", "lenalidomide_uM", "hours", "replicate",
                                "gate", "apoptosis_pct"]
    assert list(fx.columns) == ["origin", "cell_line", "replicate", "well", "AraC_nM",
                                "Ida_nM", "lenalidomide_uM", "viability_pct", "assay"]
    assert len(cc) == len(COCULTURE_SAMPLES) * 2 * 4 * 3
    assert len(fx) == 2 * 3 * 8 * 3
    assert set(fx["AraC_nM"]) == {0.0, 77.0} and set(fx["Ida_nM"]) == {0.0, 7.0}


def test_coculture_truth_matches_seed_study_ranges() -> None:
    t = coculture_truth(SEED)
    chemo = t[t["treatment"] == "AraC+Ida"]
    assert chemo["true_alone"].between(80, 95).all()
    assert chemo["true_stroma"].between(40, 50).all()
    ail = t[t["treatment"] == "AraC+Ida+lenalidomide"]
    assert (ail["true_protection_change"] < 0).all()  # the IMiD partly reverses protection
    assert (ail["true_difference"] > 0).all()


def test_factorial_recovers_known_bliss_excess(fact) -> None:
    m = fact.table.merge(factorial_truth(), on=KEYS, validate="one_to_one")
    assert len(m) == len(fact.table) == 28
    key = m[(m["added"] == "lenalidomide") & (m["reference"] == "bliss")]
    for _, r in key.iterrows():
        assert r["true_excess"] == pytest.approx(FACTORIAL_TRUE_EXCESS[r["cell_line"]])
        assert r["ci_low"] <= r["true_excess"] <= r["ci_high"]
        assert r["p"] < 0.05 and r["verdict"].startswith("more than expected")
        assert r["question"] == "Does lenalidomide add more than expected (Bliss) to AraC+Ida?"
    ai = m[(m["combination"] == "AraC+Ida") & (m["reference"] == "bliss")]
    assert (ai["ci_low"] <= 0).all() and (ai["ci_high"] >= 0).all()  # Bliss-additive


def test_factorial_interval_coverage_over_seeds() -> None:
    truth = factorial_truth()
    hits = []
    for seed in range(25):
        res = analyse_factorial(simulate_factorial(seed))
        m = res.table.merge(truth, on=KEYS)
        hits.extend((m["ci_low"] <= m["true_excess"]) & (m["true_excess"] <= m["ci_high"]))
    assert 0.88 <= np.mean(hits) <= 0.99  # nominal 95 %


def test_coculture_protection_reduced_by_imid(cocul) -> None:
    truth = coculture_truth(SEED)
    inter = cocul.interaction
    key = inter[inter["base"] == "AraC+Ida"].merge(
        truth[truth["treatment"] == "AraC+Ida+lenalidomide"], on="aml_sample")
    assert len(key) == len(COCULTURE_SAMPLES)
    assert (key["with"] == "AraC+Ida+lenalidomide").all()
    assert (key["p"] < 0.05).all() and (key["protection_change"] < 0).all()
    assert (key["verdict"] == "lenalidomide reduces protection").all()
    inside = (key["ci_low"] <= key["true_protection_change"]) & (
        key["true_protection_change"] <= key["ci_high"])
    assert inside.all()
    chemo = cocul.table[(cocul.table["treatment"] == "AraC+Ida")
                        & (cocul.table["measure"] == "difference")]
    assert (chemo["p"] < 0.05).all() and (chemo["verdict"] == "stroma protects").all()
    pi = cocul.table[(cocul.table["treatment"] == "AraC+Ida")
                     & (cocul.table["measure"] == "protection_index")].merge(
        truth, on=["aml_sample", "treatment"])
    assert ((pi["ci_low"] <= pi["true_protection_index"])
            & (pi["true_protection_index"] <= pi["ci_high"])).all()


def test_pooled_primary_donors(cocul) -> None:
    df = simulate_coculture(SEED)
    prim = df[df["sample_type"] == "primary"]
    res = chemoprotection(prim, response="apoptosis_pct", condition="condition",
                          replicate="aml_sample")
    row = res.interaction[res.interaction["base"] == "AraC+Ida"].iloc[0]
    assert row["n"] == 3 and row["p"] < 0.05 and row["protection_change"] < 0


def test_figures(fact, cocul) -> None:
    fig = plot_factorial(fact)
    assert isinstance(fig, Figure) and len(fig.axes) == 4
    labels = [ln.get_label() for ax in fig.axes for ln in ax.get_lines()]
    assert BRACKET_LABEL in labels
    assert sum(c.get_label() == EXPECTED_LABEL for ax in fig.axes for c in ax.collections) == 8
    texts = [t.get_text() for t in fig.axes[0].texts]
    assert any("+lenalidomide vs Bliss" in t for t in texts)
    one = plot_factorial(fact, group="MOLM-13")
    assert len(one.axes) == 2 and one.axes[0].get_title(loc="left") == "MOLM-13"
    svg = render_figure(one, "svg")
    assert svg == render_figure(one, "svg")  # same figure saved twice
    assert svg == render_figure(plot_factorial(fact, group="MOLM-13"), "svg")  # rebuilt
    fig2 = plot_protection(cocul)
    visible = [ax for ax in fig2.axes if ax.get_visible()]
    assert len(visible) == len(COCULTURE_SAMPLES)
    ax = visible[0]
    ticks = [t.get_text().replace("\n", "") for t in ax.get_xticklabels()]
    assert ticks == ["vehicle", "lenalidomide", "AraC+Ida", "AraC+Ida+lenalidomide"]
    assert any(t.get_text().startswith("Δ protection") for t in ax.texts)
    assert any(ln.get_label() == BRACKET_LABEL for ln in ax.get_lines())


def test_report_sections_carry_the_answers(fact, cocul) -> None:
    rep = Report("Combination example")
    add_factorial_section(rep, fact, title="AraC + Ida ± lenalidomide (2×2×2)",
                          simulated=True)
    add_protection_section(rep, cocul, title="Chemoprotection by BM-MSC", simulated=True)
    html = rep.to_html()
    assert "SIMULATED" in html
    assert "Does lenalidomide add more than expected (Bliss) to AraC+Ida?" in html
    assert "Does adding lenalidomide to AraC+Ida reduce the protection" in html
    assert "lenalidomide reduces protection" in html
    assert html.count("<figure") == 2
