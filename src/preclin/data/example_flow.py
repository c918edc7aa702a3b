"""The bundled flow-cytometry example: SIMULATED FCS files of the AML study's bench readouts.

Written by :func:`write_flow_example` with the seeded simulator
:func:`preclin.data.simulate_flow.simulate_aml_fcs` (nothing is hand-typed data):

* 3 AML donors × 2 cultures (``alone``, on BM-MSC ``stroma``) × 3 treatments
  (``vehicle``, ``AraC+Ida``, ``AraC+Ida+len``) = 18 FCS 3.1 files of 5,000 events, panel
  FSC-A, SSC-A, annexin-V (FITC), 7-AAD (PerCP), CXCR4/CD184 (PE), CD33 (APC), CD45
  (APC-Cy7);
* % apoptotic cells: chemotherapy raises it, stroma protects (lower % on stroma), and
  lenalidomide added to AraC + idarubicin reduces that protection;
* CXCR4 (CD184) on the blasts rises under AraC + idarubicin, less so with lenalidomide,
  and is lower on stroma (CXCL12 internalises it);
* a donor effect multiplies every donor's values (so a paired analysis is the right one);
* ``samples.csv`` (file → donor, culture, treatment) and ``gates.toml``, a preclin gate
  template: cells (polygon, FSC/SSC) → blasts (CD45+CD33+ rectangle) → annexin-V × 7-AAD
  quadrants. The expected values are in ``truth.csv``.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

__all__ = ["write_flow_example", "flow_experiment_toml", "FLOW_GATES", "FLOW_DESIGN"]

#: (culture, treatment) → (expected apoptotic fraction, CXCR4 median on blasts)
FLOW_DESIGN: dict[tuple[str, str], tuple[float, float]] = {
    ("alone", "vehicle"): (0.08, 2000.0),
    ("alone", "AraC+Ida"): (0.48, 3600.0),
    ("alone", "AraC+Ida+len"): (0.58, 2600.0),
    ("stroma", "vehicle"): (0.06, 1300.0),
    ("stroma", "AraC+Ida"): (0.24, 2400.0),
    ("stroma", "AraC+Ida+len"): (0.42, 1700.0),
}
DONORS = ("AML1", "AML2", "AML3")

#: the gate template written as ``gates.toml`` (data units; logicle display for CD45/CD33)
FLOW_GATES = '''# preclin gate template of the simulated AML panel (SIMULATED data)
[compensation]
source = "auto"             # the files carry no $SPILLOVER: uncompensated

[transforms]                # display (and polygon/ellipse) scale of the markers
CD45 = { kind = "logicle", T = 262144, W = 0.5, M = 4.5, A = 0 }
CD33 = { kind = "logicle", T = 262144, W = 0.5, M = 4.5, A = 0 }

[[gate]]
name = "Cells"
[gate.polygon]
x = "FSC-A"
y = "SSC-A"
vertices = [[35000, 22000], [150000, 18000], [175000, 100000], [95000, 125000],
            [35000, 95000]]

[[gate]]
name = "Blasts"             # CD45+ CD33+ AML blasts
parent = "Cells"
rectangle = { x = "CD45", y = "CD33", xmin = 1000, ymin = 1000 }

[[gate]]
name = "apoptosis"
parent = "Blasts"
[gate.quadrant]
x = "Annexin V"
y = "7-AAD"
at = [1000, 1000]
names = ["necrotic", "late apoptotic", "early apoptotic", "live"]
'''


def write_flow_example(directory: str | Path, *, seed: int = 2018,
                       n_events: int = 5000) -> dict[str, Path]:
    """Write the simulated flow experiment (FCS files, sample table, gate template).

    Parameters
    ----------
    directory
        Target folder (created): ``fcs/*.fcs``, ``samples.csv``, ``gates.toml`` and
        ``truth.csv`` go there.
    seed
        Seed; the same seed gives byte-identical files.
    n_events
        Events per file.

    Returns
    -------
    dict
        ``{"fcs": folder, "samples": ..., "gates": ..., "truth": ...}``.
    """
    from .simulate_flow import simulate_aml_fcs

    root = Path(directory)
    fcs = root / "fcs"
    fcs.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng([seed, 12])
    donor_apo = np.exp(rng.normal(0.0, 0.12, len(DONORS)))
    donor_cx = np.exp(rng.normal(0.0, 0.15, len(DONORS)))
    rows, truth = [], []
    k = 0
    for d, donor in enumerate(DONORS):
        for (culture, treatment), (apo, cx) in FLOW_DESIGN.items():
            a = float(min(0.9, apo * donor_apo[d] * np.exp(rng.normal(0.0, 0.04))))
            c = float(cx * donor_cx[d] * np.exp(rng.normal(0.0, 0.04)))
            tag = treatment.replace("+", "_")
            name = f"{donor}_{culture}_{tag}.fcs"
            simulate_aml_fcs(fcs / name, seed=seed * 1000 + k, n_events=n_events,
                             apoptotic=a, cxcr4=c)
            rows.append({"file": name, "donor": donor, "culture": culture,
                         "treatment": treatment})
            truth.append({"file": name, "expected_apoptotic_pct": 100 * a,
                          "expected_cxcr4_median": c})
            k += 1
    samples = root / "samples.csv"
    pd.DataFrame(rows).to_csv(samples, index=False, lineterminator="\n")
    pd.DataFrame(truth).to_csv(root / "truth.csv", index=False, lineterminator="\n",
                               float_format="%.6g")
    gates = root / "gates.toml"
    gates.write_text(FLOW_GATES, encoding="utf-8")
    return {"fcs": fcs, "samples": samples, "gates": gates, "truth": root / "truth.csv"}


def flow_experiment_toml(folder: str = "flow", *, name: str = "aml_flow") -> str:
    """The ``[[experiment]]`` table of the example flow experiment (study-file text).

    ``folder`` is where :func:`write_flow_example` wrote its files, relative to the study
    file.
    """
    return f'''
[[experiment]]
name = "{name}"
title = "AML blasts by flow: apoptosis alone vs on stroma, CXCR4 under AraC/Ida ± lenalidomide"
kind = "flow"
files = ["{folder}/fcs/*.fcs"]
samples = "{folder}/samples.csv"        # file → donor, culture, treatment
gates = "{folder}/gates.toml"           # cells → CD45+CD33+ blasts → annexin-V × 7-AAD

[experiment.apoptosis]                  # the quadrants under Blasts, found by marker
parent = "Blasts"
annexin = "Annexin V"
dye = "7-AAD"

[[experiment.mfi]]                      # CXCR4 MFI on the blasts, and relative to the
marker = "CD184"                        # vehicle sample of the same donor and culture
population = "Blasts"
control = {{ treatment = "vehicle" }}
match = ["donor", "culture"]

[[experiment.compare]]                  # treatments, alone and on stroma (paired by donor)
statistic = "percent_apoptotic"
group = "treatment"
within = ["culture"]
pair = "donor"
label = "Apoptotic blasts (%)"

[[experiment.compare]]                  # stromal protection under each treatment
statistic = "percent_apoptotic"
group = "culture"
within = ["treatment"]
pair = "donor"
label = "Apoptotic blasts (%)"

[[experiment.compare]]
statistic = "median_CD184"
group = "treatment"
within = ["culture"]
pair = "donor"
log = true
label = "CXCR4 (CD184) median"

[experiment.figures]
representative = ["AML1_alone_vehicle.fcs"]
backgate = ["Blasts"]
overlay_by = "treatment"
'''
