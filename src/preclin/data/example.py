"""The bundled example study: SIMULATED plate-reader files mirroring the seed studies.

Everything here is generated from a seeded simulator (nothing is hand-typed data):

* ``myeloma_lenalidomide`` — 23 myeloma cell lines × lenalidomide, 72 h, read as a
  generic plate-shaped CSV export. 13 lines are sensitive (IC50 0.15–7 µM), 10 are
  resistant (IC50 > 10 µM), as in the British Journal of Cancer 2013 study.
* ``aml_chemo`` — HL-60 and MOLM-13 × cytarabine (AraC) and idarubicin, WST-8 at 48 h,
  read as BioTek Gen5 text exports; IC50s near 1e-7 M = 100 nM, as in the
  OncoImmunology 2018 study.
* ``aml_flow`` — 18 FCS files of AML blasts (annexin-V/7-AAD, CXCR4) alone vs on stroma
  under AraC/Ida ± lenalidomide (:mod:`preclin.data.example_flow`).
* ``tcell_suppression`` — CFSE T cells of 3 donors alone, on stroma and on stroma + IMiD
  (plus unstimulated controls), and ``myeloma_cellcycle`` — BrdU/PI, control vs
  lenalidomide (S ≈ 51 % vs 29 %) (:mod:`preclin.data.example_cellular`).

Signal model (WST-8 / MTT absorbance): ``OD = blank + A · v/100 · (1 + ε₁) + ε₂`` where
``v`` is the LL.4 viability of the well's cell line and drug, ``A`` the cell line's
vehicle signal above blank, ``ε₁ ~ N(0, 0.04²)`` multiplicative and
``ε₂ ~ N(0, 0.008²)`` additive noise. True parameters are written to ``truth.csv``.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from ..doseresponse.models import predict

__all__ = ["write_example_study", "MYELOMA_LINES", "AML_LINES"]

#: myeloma cell lines of the example (names of real lines; values simulated)
MYELOMA_LINES = [
    "LP-1", "U266", "RPMI-8226", "KMS-11", "KMS-12-BM", "KMS-12-PE", "KMS-18", "KMS-20",
    "KMS-26", "KMS-27", "KMS-28BM", "KMS-34", "OPM-2", "NCI-H929", "MM.1S", "JJN-3",
    "L-363", "AMO-1", "EJM", "MOLP-8", "SK-MM-2", "JIM-3", "LP1-LR",
]
AML_LINES = ["HL-60", "MOLM-13"]
ROWS = "ABCDEFGH"
LEN_DOSES_UM = [100.0 / 10 ** (0.5 * i) for i in range(9)]  # 100 µM ... 0.01 µM
CHEMO_DOSES_NM = [10000.0 / 10 ** (0.5 * i) for i in range(9)]  # 10 µM ... 1 nM
SIMULATED_NOTE = (
    "These data are SIMULATED by preclin's seeded example generator to mirror the seed "
    "studies; they are not measurements."
)


def _fmt(x: float) -> str:
    return f"{x:.6g}"


def _layout_common(doses: list[float], conc_name: str) -> list[str]:
    lines = [
        "# columns: 1 = medium blank, 2-10 = drug dilution series, 11-12 = vehicle",
        "# rows A-C and D-F: two curves in triplicate; G-H: blanks and vehicle for plate QC",
        "[expt]",
        'control = "sample"',
        "",
        "[col.1]",
        'control = "blank"',
        f"{conc_name} = 0.0",
        "",
    ]
    for j, dose in enumerate(doses):
        lines += [f"[col.{j + 2}]", f"{conc_name} = {_fmt(dose)}", ""]
    lines += ["[col.'11-12']", 'control = "vehicle"', f"{conc_name} = 0.0", ""]
    lines += ["[row.G]", 'control = "vehicle"', f"{conc_name} = 0.0", "",
              "[row.H]", 'control = "blank"', f"{conc_name} = 0.0", ""]
    return lines


def _signal(
    rng: np.random.Generator, viab: np.ndarray, amp: float, blank: float
) -> np.ndarray:
    eps1 = rng.normal(0.0, 0.04, viab.shape)
    eps2 = rng.normal(0.0, 0.008, viab.shape)
    return blank + amp * viab / 100.0 * (1.0 + eps1) + eps2


def _plate_values(
    rng: np.random.Generator,
    curves: list[dict[str, float] | None],
    doses: list[float],
) -> np.ndarray:
    """8 × 12 OD values for two curve slots (rows A-C, D-F)."""
    blank = 0.08
    amps = [c["amp"] for c in curves if c is not None]
    amp_qc = float(np.mean(amps)) if amps else 1.0
    od = np.empty((8, 12))
    od[:, 0] = blank + rng.normal(0.0, 0.006, 8)  # column 1 blanks
    for slot, cur in enumerate(curves):
        rows = slice(3 * slot, 3 * slot + 3)
        if cur is None:  # unused slot: cells-free medium, not in the layout
            od[rows, 1:] = blank + rng.normal(0.0, 0.006, (3, 11))
            continue
        viab = predict("ll4", np.array(doses), hill=cur["hill"], bottom=cur["bottom"],
                       top=100.0, ec50=cur["ec50"])
        od[rows, 1:10] = _signal(rng, np.tile(viab, (3, 1)), cur["amp"], blank)
        od[rows, 10:12] = _signal(rng, np.full((3, 2), 100.0), cur["amp"], blank)
    od[6, :] = _signal(rng, np.full(12, 100.0), amp_qc, blank)  # row G vehicle
    od[7, :] = blank + rng.normal(0.0, 0.006, 12)  # row H blank
    return np.round(od, 4)


def _grid_csv(title: str, od: np.ndarray) -> str:
    lines = [title, "," + ",".join(str(j + 1) for j in range(12))]
    for i in range(8):
        lines.append(ROWS[i] + "," + ",".join(f"{v:.4f}" for v in od[i]))
    return "\n".join(lines) + "\n"


def _gen5_text(plate: str, od: np.ndarray) -> str:
    head = [
        "Software Version\t3.12.08",
        f"Experiment File Path:\tC:\\Gen5\\example\\{plate}.xpt",
        f"Plate Number\t{plate}",
        "Reader Type:\tSynergy H1",
        "Plate Type\t96 WELL PLATE",
        "Read\tAbsorbance Endpoint",
        "\tWavelengths:  450",
        "",
        "Results",
        "\t" + "\t".join(str(j + 1) for j in range(12)),
    ]
    for i in range(8):
        head.append(ROWS[i] + "\t" + "\t".join(f"{v:.4f}" for v in od[i]) + "\t450")
    return "\n".join(head) + "\n"


def write_example_study(directory: str | Path, *, seed: int = 2018) -> Path:
    """Write the simulated example study (layouts, plate files, study.toml) to a folder.

    Parameters
    ----------
    directory
        Target folder (created if needed).
    seed
        Seed of :func:`numpy.random.default_rng`; the same seed gives identical files.

    Returns
    -------
    Path
        The ``study.toml`` written.
    """
    root = Path(directory)
    (root / "layouts").mkdir(parents=True, exist_ok=True)
    (root / "plates").mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    truth: list[dict[str, object]] = []

    # ---- myeloma × lenalidomide: 13 sensitive, 10 resistant
    n_sens = 13
    ic50_sens = np.exp(rng.uniform(np.log(0.15), np.log(7.0), n_sens))
    ic50_res = np.exp(rng.uniform(np.log(15.0), np.log(300.0), len(MYELOMA_LINES) - n_sens))
    order = rng.permutation(len(MYELOMA_LINES))
    ic50 = np.concatenate([ic50_sens, ic50_res])[order]
    # as in the seed study: LP-1 is sensitive, its derived line LP1-LR resistant
    lp1, lr = MYELOMA_LINES.index("LP-1"), MYELOMA_LINES.index("LP1-LR")
    if ic50[lp1] > 10:
        swap = int(np.nonzero(ic50 < 10)[0][0])
        ic50[[lp1, swap]] = ic50[[swap, lp1]]
    if ic50[lr] < 10:
        swap = int(np.nonzero(ic50 > 10)[0][0])
        ic50[[lr, swap]] = ic50[[swap, lr]]
    curves_mm = []
    for k, line in enumerate(MYELOMA_LINES):
        cur = {
            "ec50": float(ic50[k]),
            "hill": float(rng.uniform(0.9, 2.0)),
            "bottom": float(rng.uniform(3.0, 15.0)),
            "amp": float(rng.uniform(1.0, 1.15)),  # seeding titrated to similar vehicle OD
        }
        curves_mm.append(cur)
        truth.append({"experiment": "myeloma_lenalidomide", "cell_line": line,
                      "drug": "lenalidomide", "true_ec50": cur["ec50"], "unit": "µM",
                      "true_hill": cur["hill"], "true_bottom": cur["bottom"], "true_top": 100.0,
                      "true_call": "resistant" if cur["ec50"] > 10 else "sensitive"})
    lay = _layout_common(LEN_DOSES_UM, "conc_uM")
    lay = ['[meta]', 'paths = "../plates/myeloma_{}.csv"', "", *lay]
    lay.insert(lay.index("[expt]") + 1, 'drug = "lenalidomide"')
    n_plates = (len(MYELOMA_LINES) + 1) // 2
    for p in range(n_plates):
        name = f"P{p + 1:02d}"
        lay += [f"[plate.{name}]", f"day = {1 + p // 4}", ""]
        for slot in range(2):
            k = 2 * p + slot
            rows = "A-C" if slot == 0 else "D-F"
            if k < len(MYELOMA_LINES):
                lay += [f"[plate.{name}.row.'{rows}']", f'cell_line = "{MYELOMA_LINES[k]}"', ""]
            else:  # unused rows: medium only, no cells
                lay += [f"[plate.{name}.row.'{rows}']", 'control = "empty"', ""]
        slots = [curves_mm[2 * p + s] if 2 * p + s < len(MYELOMA_LINES) else None
                 for s in range(2)]
        od = _plate_values(rng, slots, LEN_DOSES_UM)
        (root / "plates" / f"myeloma_{name}.csv").write_text(
            _grid_csv(f"Plate {name} (WST-8, OD 450 nm)", od), encoding="utf-8")
    (root / "layouts" / "myeloma.toml").write_text("\n".join(lay), encoding="utf-8")

    # ---- AML lines × AraC / idarubicin (nM), Gen5 exports
    lay = ['[meta]', 'paths = "../plates/aml_{}.txt"', "",
           *_layout_common(CHEMO_DOSES_NM, "conc_nM"),
           "[row.'A-C']", 'drug = "cytarabine"', "", "[row.'D-F']", 'drug = "idarubicin"', ""]
    for line in AML_LINES:
        name = line.replace("-", "")
        lay += [f"[plate.{name}]", f'cell_line = "{line}"', ""]
        slots = []
        for drug in ("cytarabine", "idarubicin"):
            cur = {
                "ec50": float(np.exp(rng.normal(np.log(100.0), 0.35))),
                "hill": float(rng.uniform(1.0, 1.8)),
                "bottom": float(rng.uniform(2.0, 10.0)),
                "amp": float(rng.uniform(0.9, 1.3)),
            }
            slots.append(cur)
            truth.append({"experiment": "aml_chemo", "cell_line": line, "drug": drug,
                          "true_ec50": cur["ec50"], "unit": "nM", "true_hill": cur["hill"],
                          "true_bottom": cur["bottom"], "true_top": 100.0, "true_call": ""})
        od = _plate_values(rng, slots, CHEMO_DOSES_NM)
        (root / "plates" / f"aml_{name}.txt").write_text(_gen5_text(name, od), encoding="utf-8")
    (root / "layouts" / "aml.toml").write_text("\n".join(lay), encoding="utf-8")

    pd.DataFrame(truth).to_csv(root / "truth.csv", index=False, lineterminator="\n")
    # combination experiments of the AML study: 2×2×2 factorial and stroma co-culture
    from .example_combination import write_coculture_example, write_factorial_example

    write_factorial_example(root / "data", seed=seed)
    write_coculture_example(root / "data", seed=seed)
    study = f'''# Example study bundled with preclin. {SIMULATED_NOTE}
[study]
title = "Example: lenalidomide in myeloma lines and AraC/idarubicin in AML lines"
description = "{SIMULATED_NOTE} Generated by preclin.data.example.write_example_study(seed={seed})."
simulated = true

[[experiment]]
name = "myeloma_lenalidomide"
title = "Myeloma cell lines × lenalidomide (72 h, % of vehicle)"
layout = "layouts/myeloma.toml"
plate_map_factors = ["control", "cell_line", "conc_uM"]
overlay = "drug"

[experiment.normalise]
control_column = "control"
blank = "blank"
vehicle = "vehicle"
vehicle_by = ["cell_line"]    # each cell line against its own vehicle wells

[experiment.fit]
dose = "conc_uM"
dose_unit = "µM"
response = "viability"
by = ["cell_line", "drug"]
model = "ll4"
ed = [25, 50]

[experiment.classify]
column = "ec50"
threshold = 10
above = "resistant"
below = "sensitive"

[[experiment.compare]]
value = "ec50"
group = "call"
test = "mann-whitney"
log10 = true

[[experiment]]
name = "aml_factorial"
title = "Does lenalidomide potentiate AraC + idarubicin? (2×2×2 factorial, WST-8 viability)"
kind = "factorial"
data = "data/factorial_viability.csv"

[experiment.factorial]
factors = ["AraC_nM", "Ida_nM", "lenalidomide_uM"]
labels = {{AraC_nM = "AraC", Ida_nM = "Ida", lenalidomide_uM = "lenalidomide"}}
response = "viability_pct"
response_kind = "viability"
replicate = "replicate"
by = ["cell_line"]
added = ["lenalidomide_uM"]

[[experiment]]
name = "aml_coculture"
title = "Does lenalidomide reduce stromal chemoprotection? (AML cells alone vs on BM-MSC)"
kind = "coculture"
data = "data/coculture_apoptosis.csv"

[experiment.coculture]
response = "apoptosis_pct"
response_kind = "apoptosis"
condition = "condition"
alone = "alone"
stroma = "stroma"
treatment = "treatment"
vehicle = "vehicle"
replicate = "replicate"
by = ["aml_sample"]
added = "lenalidomide"

[experiment.power]            # before the next experiment: how many donors are needed to
effect = -8                   # detect an 8-point drop in stromal protection? Means and SDs
n = [3, 5]                    # from this experiment (the pilot); simulated through the
n_sim = 150                   # same analysis
seed = {seed}

[[experiment]]
name = "aml_chemo"
title = "AML lines × cytarabine and idarubicin (WST-8, 48 h)"
layout = "layouts/aml.toml"
plate_map_factors = ["control", "drug", "conc_nM"]
overlay = "drug"

[experiment.normalise]
blank = "blank"
vehicle = "vehicle"

[experiment.fit]
dose = "conc_nM"
dose_unit = "nM"
response = "viability"
by = ["cell_line", "drug"]
model = "ll4"
ed = [25, 50]
'''
    # in vivo: HL-60 xenografts (enrolment, randomisation, dosing, engraftment, survival,
    # power), appended last so that the experiments above are unchanged
    from ..invivo.simulate import write_xenograft_example
    from ..study.kinds.invivo import example_experiment_toml

    write_xenograft_example(root / "data" / "xenograft", seed=seed)
    study += "\n" + example_experiment_toml(data="data/xenograft")
    # qPCR (TNF/IL8/IGF1 vs RPL37a, 12 lines ± lenalidomide) and immunoassays (Luminex
    # plate, WEHI-164 TNF bioassay): own seeded generators, appended after the others
    from .simulate_immunoassay import (
        luminex_experiment_toml,
        tnf_bioassay_experiment_toml,
        write_luminex_example,
        write_tnf_bioassay_example,
    )
    from .simulate_qpcr import qpcr_experiment_toml, write_qpcr_example

    write_qpcr_example(root / "data", seed=seed)
    write_luminex_example(root / "data", seed=seed)
    write_tnf_bioassay_example(root / "data", seed=seed)
    study += qpcr_experiment_toml() + tnf_bioassay_experiment_toml() + luminex_experiment_toml()
    # flow cytometry: 18 simulated FCS files (apoptosis of AML blasts alone vs on stroma
    # under AraC/Ida ± lenalidomide, CXCR4 MFI), appended after the others
    from .example_flow import flow_experiment_toml, write_flow_example

    write_flow_example(root / "flow", seed=seed)
    study += flow_experiment_toml("flow")
    # CFSE T-cell suppression (3 donors: alone, on stroma, on stroma + IMiD) and BrdU/PI
    # cell cycle (control vs lenalidomide): simulated FCS files, appended after the others
    from .example_cellular import (
        cellcycle_experiment_toml,
        proliferation_experiment_toml,
        write_cellcycle_example,
        write_proliferation_example,
    )

    write_proliferation_example(root / "cfse", seed=seed, n_events=2500)
    write_cellcycle_example(root / "cellcycle", seed=seed, n_events=3000)
    study += proliferation_experiment_toml("cfse") + cellcycle_experiment_toml("cellcycle")
    # expression arrays: 3 AML patients × lenalidomide vs DMSO (paired), 2,000 real genes
    # with a planted migration/adhesion signature, DE + GO enrichment; appended last
    from .simulate_expression import expression_experiment_toml, write_expression_example

    write_expression_example(root / "data", seed=seed)
    study += expression_experiment_toml()
    path = root / "study.toml"
    path.write_text(study, encoding="utf-8")
    return path
