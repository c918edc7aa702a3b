"""Seeded simulators of the immunoassay experiments of the seed studies (SIMULATED data).

* :func:`write_luminex_example` — AML study: PHA-stimulated PBMCs alone, on BM-MSCs, and on
  BM-MSCs + lenalidomide, three donors, supernatants (diluted 1:2) in duplicate; TNFa,
  IL1B, IL10, IL6 and SDF1 on a Luminex plate, written as an xPONENT 3.1 CSV export
  (``Net MFI``, ``Dilution Factor`` and ``Standard Expected Concentration`` blocks);
  7 standards, 4-fold from 10 000 pg/ml (SDF1 50 000), in duplicate, 2 background wells.
  ``MFI = A + (B − A)/(1 + (x/C)^D)^F`` (D < 0, increasing) × (1 + ε), ε ~ N(0, 0.05²).
* :func:`write_tnf_bioassay_example` — myeloma study: WEHI-164 cells killed by TNF-α in
  conditioned media of the 12 qPCR lines ± lenalidomide (1:2, duplicates), read by MTT;
  TNF-α standards 800–12.5 pg/ml (2-fold, triplicates) and medium-only wells: a
  *decreasing* curve ``OD = A + (B − A)/(1 + (x/C)^D)`` with A = 1.25 (no TNF), B = 0.12,
  C = 60 pg/ml, D = −1.4; OD × (1 + ε₁) + ε₂, ε₁ ~ N(0, 0.04²), ε₂ ~ N(0, 0.01²).

True concentrations go to ``*_truth.csv``.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from .simulate_qpcr import QPCR_LINES

__all__ = ["LUMINEX_ANALYTES", "LUMINEX_CONDITIONS", "TNF_STANDARDS_PG_ML",
           "write_luminex_example", "write_tnf_bioassay_example", "luminex_experiment_toml",
           "tnf_bioassay_experiment_toml"]

LUMINEX_ANALYTES = ["TNFa", "IL1B", "IL10", "IL6", "SDF1"]
LUMINEX_CONDITIONS = ["PBMC+PHA", "PBMC+PHA+MSC", "PBMC+PHA+MSC+LEN"]
#: curve parameters per analyte: A, B, C (pg/ml), D, F; standard 1 (pg/ml)
_LUMINEX_CURVES = {
    "TNFa": (12.0, 21000.0, 2500.0, -1.05, 0.9, 10000.0),
    "IL1B": (8.0, 18000.0, 1800.0, -1.10, 1.0, 10000.0),
    "IL10": (10.0, 16000.0, 3000.0, -0.95, 1.1, 10000.0),
    "IL6": (15.0, 24000.0, 2200.0, -1.00, 0.85, 10000.0),
    "SDF1": (25.0, 12000.0, 9000.0, -1.15, 1.0, 50000.0),
}
#: pg/ml in the supernatant: PHA alone, effect of MSC, effect of lenalidomide on MSC
_LUMINEX_TRUTH = {
    "TNFa": (900.0, 0.35, 0.5), "IL1B": (350.0, 0.5, 0.6), "IL10": (120.0, 2.5, 1.6),
    "IL6": (1500.0, 4.0, 0.7), "SDF1": (150.0, 25.0, 1.0),
}
TNF_STANDARDS_PG_ML = [800.0 / 2**k for k in range(7)]  # 800 ... 12.5
_ROWS = "ABCDEFGH"


def _curve(x: np.ndarray, a: float, b: float, c: float, d: float, f: float) -> np.ndarray:
    with np.errstate(divide="ignore"):
        return a + (b - a) / (1.0 + (x / c) ** d) ** f


def _well_column_major(i: int) -> str:
    return f"{_ROWS[i % 8]}{i // 8 + 1}"


def write_luminex_example(directory: str | Path, *, seed: int = 2018) -> dict[str, Path]:
    """Write ``luminex_xponent.csv``, ``luminex_samples.csv`` and ``luminex_truth.csv``.

    The generator is ``numpy.random.default_rng([seed, 141])``.
    """
    root = Path(directory)
    root.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng([seed, 141])
    wells: list[tuple[str, str, float, dict[str, float]]] = []  # sample, type, dil, MFI
    for _ in range(2):
        wells.append(("Background0", "background", 1.0,
                      {a: float(rng.normal(0.0, 2.0)) for a in LUMINEX_ANALYTES}))
    for k in range(7):
        for _ in range(2):
            mfi = {}
            for a in LUMINEX_ANALYTES:
                A, B, C, D, F, s1 = _LUMINEX_CURVES[a]
                x = s1 / 4.0**k
                mfi[a] = float(_curve(np.array(x), A, B, C, D, F)
                               * (1 + rng.normal(0.0, 0.05)))
            wells.append((f"Standard{k + 1}", "standard", 1.0, mfi))
    design, truth = [], []
    donor_eff = {(d, a): float(np.exp(rng.normal(0.0, 0.3))) for d in range(3)
                 for a in LUMINEX_ANALYTES}
    for d in range(3):
        donor = f"D{d + 1}"
        for cond in LUMINEX_CONDITIONS:
            sample = f"{donor} {cond}"
            design.append({"sample": sample, "donor": donor, "condition": cond})
            conc = {}
            for a in LUMINEX_ANALYTES:
                base, msc, len_ = _LUMINEX_TRUTH[a]
                v = base * donor_eff[(d, a)] * float(np.exp(rng.normal(0.0, 0.12)))
                if "MSC" in cond:
                    v *= msc
                if "LEN" in cond:
                    v *= len_
                conc[a] = v
                truth.append({"sample": sample, "analyte": a, "true_pg_ml": v})
            for _ in range(2):
                mfi = {}
                for a in LUMINEX_ANALYTES:
                    A, B, C, D, F, _s1 = _LUMINEX_CURVES[a]
                    mfi[a] = float(_curve(np.array(conc[a] / 2.0), A, B, C, D, F)
                                   * (1 + rng.normal(0.0, 0.05)))
                wells.append((sample, "unknown", 2.0, mfi))
    ncol = len(LUMINEX_ANALYTES) + 3
    pad = "," * (ncol - 3)
    lines = ["Program,xPONENT,,LX200" + "," * (ncol - 4), "Build,3.1.871.0" + pad + ",",
             "Date,02/12/2026,10:00" + pad, "Batch,aml_msc_cytokines" + pad + ",",
             "", "Samples," + str(len(wells)) + ",Min Events,100,Per Bead" + "," * (ncol - 5),
             "", "Results" + "," * (ncol - 1), "",
             "DataType:,Net MFI" + pad + ",",
             "Location,Sample," + ",".join(LUMINEX_ANALYTES) + ",Total Events"]
    locs = [f'"{i + 1}(1,{_well_column_major(i)})"' for i in range(len(wells))]
    for loc, (sample, _t, _d, mfi) in zip(locs, wells, strict=True):
        lines.append(f"{loc},{sample}," + ",".join(f"{mfi[a]:.1f}" for a in LUMINEX_ANALYTES)
                     + f",{int(rng.integers(600, 900)) * len(LUMINEX_ANALYTES)}")
    lines += ["", "DataType:,Dilution Factor" + pad + ",", "Location,Sample,Dilution Factor"
              + pad]
    for loc, (sample, typ, dil, _m) in zip(locs, wells, strict=True):
        lines.append(f"{loc},{sample}," + ("" if typ == "background" else f"{dil:g}") + pad)
    lines += ["", "DataType:,Units" + pad + ",", "Analyte:," + ",".join(LUMINEX_ANALYTES)
              + ",,", "Units:," + ",".join("pg/mL" for _ in LUMINEX_ANALYTES) + ",,",
              "", "DataType:,Standard Expected Concentration" + pad + ",",
              "Reagent," + ",".join(LUMINEX_ANALYTES) + ",,"]
    for k in range(7):
        lines.append(f"Standard{k + 1}," + ",".join(
            f"{_LUMINEX_CURVES[a][5] / 4.0**k:.10g}" for a in LUMINEX_ANALYTES) + ",,")
    lines += ["", "DataType:,Analysis Types" + pad + ",", "Analyte:,"
              + ",".join(LUMINEX_ANALYTES) + ",,", "AnalysisType,"
              + ",".join("Logistic 5P" for _ in LUMINEX_ANALYTES) + ",,", ""]
    paths = {"xponent": root / "luminex_xponent.csv", "samples": root / "luminex_samples.csv",
             "truth": root / "luminex_truth.csv"}
    paths["xponent"].write_text("\n".join(lines) + "\n", encoding="utf-8")
    pd.DataFrame(design).to_csv(paths["samples"], index=False, lineterminator="\n")
    pd.DataFrame(truth).to_csv(paths["truth"], index=False, lineterminator="\n",
                               float_format="%.6g")
    return paths


def write_tnf_bioassay_example(directory: str | Path, *, seed: int = 2018) -> dict[str, Path]:
    """Write ``tnf_bioassay.csv`` (long table of MTT ODs), ``tnf_bioassay_samples.csv``
    and ``tnf_bioassay_truth.csv``. The generator is ``default_rng([seed, 142])``."""
    root = Path(directory)
    root.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng([seed, 142])
    a, b, c, d = 1.25, 0.12, 60.0, -1.4

    def od(x: float) -> float:
        y = float(_curve(np.array(x), a, b, c, d, 1.0))
        return y * (1 + rng.normal(0.0, 0.04)) + rng.normal(0.0, 0.01)

    rows: list[dict[str, object]] = []

    def add(sample: str, typ: str, expected: float | None, signal: float,
            dilution: float) -> None:
        i = len(rows)
        rows.append({"well": f"{_ROWS[i // 12]}{i % 12 + 1}", "sample": sample, "type": typ,
                     "analyte": "TNF-α (WEHI-164)",
                     "expected": "" if expected is None else f"{expected:g}",
                     "dilution": f"{dilution:g}", "signal": f"{signal:.4f}"})

    for x in TNF_STANDARDS_PG_ML:
        for _ in range(3):
            add(f"std {x:g} pg/ml", "standard", x, od(x), 1.0)
    for _ in range(3):
        add("medium (no TNF)", "background", None, od(0.0), 1.0)
    design, truth = [], []
    for line in QPCR_LINES:
        base = float(np.exp(rng.normal(np.log(60.0), 0.5)))
        fold = float(2.2 * np.exp(rng.normal(0.0, 0.35)))
        for treatment in ("control", "lenalidomide"):
            sample = f"{line} {treatment}"
            conc = base * (fold if treatment == "lenalidomide" else 1.0)
            design.append({"sample": sample, "cell_line": line, "treatment": treatment})
            truth.append({"sample": sample, "true_pg_ml": conc})
            for _ in range(2):
                add(sample, "unknown", None, od(conc / 2.0), 2.0)
    paths = {"data": root / "tnf_bioassay.csv", "samples": root / "tnf_bioassay_samples.csv",
             "truth": root / "tnf_bioassay_truth.csv"}
    pd.DataFrame(rows).to_csv(paths["data"], index=False, lineterminator="\n")
    pd.DataFrame(design).to_csv(paths["samples"], index=False, lineterminator="\n")
    pd.DataFrame(truth).to_csv(paths["truth"], index=False, lineterminator="\n",
                               float_format="%.6g")
    return paths


def luminex_experiment_toml(name: str = "aml_luminex", data: str = "data") -> str:
    """The ``[[experiment]]`` table of the simulated Luminex experiment."""
    return f'''
[[experiment]]
name = "{name}"
title = "Cytokines of PHA-stimulated PBMCs on BM-MSCs ± lenalidomide (Luminex)"
kind = "immunoassay"
data = "{data}/luminex_xponent.csv"
samples = "{data}/luminex_samples.csv"

[experiment.immunoassay]
model = "5pl"
weights = "1/y2"               # as xPONENT
unit = "pg/ml"

[[experiment.compare]]         # each condition vs PBMC + PHA on MSC, paired by donor
group = "condition"
pair = "donor"
control = "PBMC+PHA+MSC"
test = "paired"
log = true
'''


def tnf_bioassay_experiment_toml(name: str = "myeloma_tnf_bioassay",
                                 data: str = "data") -> str:
    """The ``[[experiment]]`` table of the simulated WEHI-164 TNF bioassay."""
    return f'''
[[experiment]]
name = "{name}"
title = "TNF-α in conditioned media of 12 myeloma lines ± lenalidomide (WEHI-164 bioassay)"
kind = "immunoassay"
data = "{data}/tnf_bioassay.csv"
samples = "{data}/tnf_bioassay_samples.csv"

[experiment.immunoassay]
model = "4pl"                  # decreasing curve: MTT OD falls as TNF kills WEHI-164
weights = "none"
unit = "pg/ml"
signal_label = "MTT OD 570 nm"

[[experiment.compare]]
group = "treatment"
pair = "cell_line"
control = "control"
test = "paired"
'''
