"""Units of the expression room: readers, scale, collapse, design, figures, CLI."""

from __future__ import annotations

import gzip
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from preclin.cli import main
from preclin.errors import InputError
from preclin.expression import (
    collapse_to_genes,
    design_matrix,
    detect_scale,
    differential_expression,
    heatmap,
    ma_plot,
    read_matrix,
    volcano,
)


def _sim(n: int = 300, seed: int = 0) -> tuple[pd.DataFrame, pd.DataFrame]:
    rng = np.random.default_rng(seed)
    samples = pd.DataFrame({"sample": ["01", "02", "03", "04", "05", "06"],
                            "patient": ["P1", "P1", "P2", "P2", "P3", "P3"],
                            "trt": ["DMSO", "LEN"] * 3})
    x = rng.normal(8, 0.3, (n, 6)) + rng.normal(0, 1, (n, 1))
    x[:20, 1::2] += 2.0
    m = pd.DataFrame(x, index=[f"g{i}" for i in range(n)], columns=samples["sample"])
    return m, samples


def test_scale_detection() -> None:
    m, _ = _sim()
    assert detect_scale(m)[0] == "log2"
    scale, why = detect_scale(2.0 ** m)
    assert scale == "linear" and "GEO2R" in why


def test_read_csv_and_series_matrix(tmp_path: Path) -> None:
    m, _ = _sim(20)
    p = tmp_path / "m.csv"
    m.rename_axis("probe").to_csv(p)
    got = read_matrix(p)
    assert list(got.values.columns) == ["01", "02", "03", "04", "05", "06"]
    assert got.scale == "log2"
    lines = ['!Series_title\t"x"', '!Sample_title\t"a"\t"b"',
             '!Sample_characteristics_ch1\t"treatment: DMSO"\t"treatment: LEN"',
             "!series_matrix_table_begin", '"ID_REF"\t"GSM1"\t"GSM2"',
             '"1007_s_at"\t200.5\t300', '"1053_at"\t1500\t2000.25',
             "!series_matrix_table_end"]
    g = tmp_path / "GSE1_series_matrix.txt.gz"
    g.write_bytes(gzip.compress("\n".join(lines).encode()))
    sm = read_matrix(g)
    assert sm.values.shape == (2, 2) and sm.scale == "linear"
    assert sm.samples is not None
    assert sm.samples["treatment"].tolist() == ["DMSO", "LEN"]
    assert sm.log2().values.iloc[0, 0] == pytest.approx(np.log2(200.5))
    bad = tmp_path / "bad.csv"
    bad.write_text("probe,a,b\np1,1,x\n")
    with pytest.raises(InputError, match="row 2, column 'b'"):
        read_matrix(bad)


def test_collapse_rules() -> None:
    m = pd.DataFrame({"a": [1.0, 3.0, 5.0, 2.0, 7.0], "b": [2.0, 4.0, 6.0, 2.0, 7.0]},
                     index=["p1", "p2", "p3", "p4", "p5"])
    ann = pd.DataFrame({"probe": ["p1", "p2", "p3", "p4"],
                        "gene": ["G1", "G1", "G2 /// G3", "G4"]})
    out, exc = collapse_to_genes(m, ann)
    assert out.loc["G1"].tolist() == [3.0, 4.0]
    assert dict(zip(exc["probe"], exc["reason"], strict=True)) == {
        "p5": "no gene in the annotation table", "p3": "maps to several genes",
        "p1": "another probe of the gene kept (max_mean)"}
    mean, _ = collapse_to_genes(m, ann, rule="mean")
    assert mean.loc["G1"].tolist() == [2.0, 3.0]


def test_design_names_and_coef() -> None:
    _, s = _sim()
    d = design_matrix("~ patient + trt", s)
    assert d.columns == ("(Intercept)", "patientP2", "patientP3", "trtLEN")
    assert d.coef_index("LEN") == d.coef_index("trtLEN") == d.coef_index("trt[T.LEN]") == 3
    with pytest.raises(InputError, match="did you mean"):
        d.coef_index("trtLEM")
    d2 = design_matrix("~ trt", s, levels={"trt": ["LEN", "DMSO"]})
    assert d2.columns == ("(Intercept)", "trtDMSO")


def test_de_invariant_to_sample_order_and_finds_planted() -> None:
    m, s = _sim()
    r1 = differential_expression(m, s, design="~ patient + trt", coef="LEN")
    perm = s.sample(frac=1, random_state=3)
    r2 = differential_expression(m, perm, design="~ patient + trt", coef="LEN")
    a = r1.table.set_index("feature")
    b = r2.table.set_index("feature").loc[a.index]
    np.testing.assert_allclose(a["t"], b["t"], rtol=1e-10)
    assert set(a.index[:20]) == {f"g{i}" for i in range(20)}
    assert (a.loc[[f"g{i}" for i in range(20)], "call"] == "up").all()


def test_missing_values_fit_on_observed() -> None:
    m, s = _sim()
    m.iloc[5, 0] = np.nan
    m.iloc[7, :5] = np.nan
    res = differential_expression(m, s, design="~ patient + trt", coef="LEN")
    assert "g7" in set(res.excluded["feature"])
    assert np.isfinite(res.table.set_index("feature").loc["g5", "t"])


def test_figures_have_the_expected_artists() -> None:
    m, s = _sim()
    res = differential_expression(m, s, design="~ patient + trt", coef="LEN")
    fig = volcano(res.table, label_top=5)
    ax = fig.axes[0]
    n_points = sum(len(c.get_offsets()) for c in ax.collections)
    assert n_points == len(res.table)
    assert len(ax.texts) == 5
    assert len(ax.get_lines()) == 3  # two fold-change lines, one p line
    ma = ma_plot(res.table).axes[0]
    assert sum(len(c.get_offsets()) for c in ma.collections) == len(res.table)
    top = m.loc[res.table["feature"].head(30)]
    hm = heatmap(top, annotations=s.set_index("sample"), annotate=["trt", "patient"])
    assert len(hm.axes) == 5  # heatmap, 2 dendrograms, annotation bar, colour bar
    image = hm.axes[0].images[0].get_array()
    assert image.shape == (30, 6)
    assert len(hm.axes[1].get_lines()) == 5  # sample dendrogram: n - 1 merges


def test_cli_de(tmp_path: Path) -> None:
    m, s = _sim()
    m.rename_axis("probe").to_csv(tmp_path / "m.csv")
    s.to_csv(tmp_path / "s.csv", index=False)
    out = tmp_path / "de.csv"
    rc = main(["expression", "de", str(tmp_path / "m.csv"), "--samples",
               str(tmp_path / "s.csv"), "--design", "~ patient + trt", "--coef", "LEN",
               "--out", str(out)])
    assert rc == 0
    tab = pd.read_csv(out)
    assert list(tab.columns) == ["feature", "logfc", "ave_expr", "t", "p_value",
                                 "adj_p_value", "b"]
    assert tab["p_value"].is_monotonic_increasing and len(tab) == 300
    rc = main(["expression", "de", str(tmp_path / "m.csv"), "--samples",
               str(tmp_path / "s.csv"), "--design", "~ patient + trt", "--coef", "nope",
               "--out", str(out)])
    assert rc == 2
