"""SIMULATED fixed-dose combination experiments for the example study.

Both simulators mirror the design of the OncoImmunology 2018 AML study (AraC at its IC25
of 77 nM + idarubicin at 7 nM, lenalidomide at 10 µM, n = 3 biological replicates) but
every number is drawn from a seeded :func:`numpy.random.default_rng`: they are **not
measurements**. Every row of the CSVs says so in its ``origin`` column (``SIMULATED``).

Co-culture apoptosis (:func:`write_coculture_example`)
    AML cells (HL-60, MOLM-13 and three primary samples AML-P1..P3) alone or on BM-MSC,
    treated with vehicle, AraC+Ida, lenalidomide or AraC+Ida+lenalidomide, 48 h,
    % annexin-V+ and/or 7-AAD+ of CD33+ cells. True means per sample are drawn once:
    vehicle alone 6–12 % (lines) or 15–25 % (primary), on stroma 50–80 % of that;
    AraC+Ida alone 80–95 %, on stroma 40–50 %; lenalidomide adds 1–4 points;
    AraC+Ida+lenalidomide alone adds 2–4 points to AraC+Ida and removes a fraction
    ``r ~ U(0.35, 0.55)`` of the stromal protection. Each replicate adds a shared
    N(0, 2²) shift and each measurement N(0, 2.5²) noise (percentage points), clipped to
    0.5–99.5 %.

2×2×2 factorial (:func:`write_factorial_example`)
    HL-60 and MOLM-13, AraC ± (0/77 nM), idarubicin ± (0/7 nM), lenalidomide ±
    (0/10 µM), WST-8 viability in % of vehicle, 3 biological replicates × 3 wells.
    True fractions affected: AraC 0.25 and Ida 0.25 (IC25), lenalidomide 0.02 (no
    cytotoxicity), AraC+Ida Bliss-additive, AraC+lenalidomide and Ida+lenalidomide
    Bliss + 0.03, AraC+Ida+lenalidomide = Bliss(AraC+Ida, lenalidomide) + δ with
    δ = 0.15 (HL-60) and 0.12 (MOLM-13): the known Bliss excess of lenalidomide added
    to AraC+Ida. Wells: ``V = 100 (1 − E)(1 + b)(1 + w)`` with a replicate × cell
    biological deviation ``b ~ N(0, 0.02²)`` and a well deviation ``w ~ N(0, 0.03²)``.
"""

from __future__ import annotations

from pathlib import Path
from typing import cast

import numpy as np
import pandas as pd

__all__ = [
    "write_coculture_example",
    "write_factorial_example",
    "simulate_coculture",
    "simulate_factorial",
    "coculture_truth",
    "factorial_truth",
    "COCULTURE_SAMPLES",
    "COCULTURE_TREATMENTS",
    "FACTORIAL_TRUE_EFFECTS",
    "FACTORIAL_TRUE_EXCESS",
    "ORIGIN",
]

#: value of the ``origin`` column of every simulated row
ORIGIN = "SIMULATED"
#: AML samples of the co-culture example: (name, type)
COCULTURE_SAMPLES: list[tuple[str, str]] = [
    ("HL-60", "cell line"), ("MOLM-13", "cell line"),
    ("AML-P1", "primary"), ("AML-P2", "primary"), ("AML-P3", "primary"),
]
#: treatments of the co-culture example: name -> (AraC nM, Ida nM, lenalidomide µM)
COCULTURE_TREATMENTS: dict[str, tuple[float, float, float]] = {
    "vehicle": (0.0, 0.0, 0.0),
    "AraC+Ida": (77.0, 7.0, 0.0),
    "lenalidomide": (0.0, 0.0, 10.0),
    "AraC+Ida+lenalidomide": (77.0, 7.0, 10.0),
}
CONDITIONS = ("alone", "stroma")
N_REPLICATES = 3
FACTORIAL_LINES = ("HL-60", "MOLM-13")
#: true Bliss excess δ of lenalidomide added to AraC+Ida, per cell line
FACTORIAL_TRUE_EXCESS: dict[str, float] = {"HL-60": 0.15, "MOLM-13": 0.12}
_PAIR_EXCESS = 0.03  # AraC+len and Ida+len: Bliss + 0.03
_E_ARAC, _E_IDA, _E_LEN = 0.25, 0.25, 0.02
_CONC = {"AraC_nM": 77.0, "Ida_nM": 7.0, "lenalidomide_uM": 10.0}


def _bliss(*e: float) -> float:
    out = 1.0
    for x in e:
        out *= 1.0 - x
    return 1.0 - out


def _true_effects(line: str) -> dict[str, float]:
    """True fraction affected of every cell of the 2×2×2 factorial for one line."""
    e_ai = _bliss(_E_ARAC, _E_IDA)
    return {
        "control": 0.0,
        "AraC": _E_ARAC,
        "Ida": _E_IDA,
        "lenalidomide": _E_LEN,
        "AraC+Ida": e_ai,
        "AraC+lenalidomide": _bliss(_E_ARAC, _E_LEN) + _PAIR_EXCESS,
        "Ida+lenalidomide": _bliss(_E_IDA, _E_LEN) + _PAIR_EXCESS,
        "AraC+Ida+lenalidomide": _bliss(e_ai, _E_LEN) + FACTORIAL_TRUE_EXCESS[line],
    }


#: true fraction affected per cell line and cell of the factorial
FACTORIAL_TRUE_EFFECTS: dict[str, dict[str, float]] = {
    line: _true_effects(line) for line in FACTORIAL_LINES
}


def factorial_truth() -> pd.DataFrame:
    """True Bliss and HSA excess of the simulated 2×2×2 factorial (fraction affected).

    Computed directly from :data:`FACTORIAL_TRUE_EFFECTS` with the textbook formulas
    (independently of :mod:`preclin.synergy.factorial`).

    Returns
    -------
    pandas.DataFrame
        ``cell_line``, ``combination``, ``reference`` (bliss/hsa), ``components``
        (``" | "``-separated, as in :attr:`FactorialResult.table`), ``added``,
        ``true_observed``, ``true_expected``, ``true_excess``.
    """
    rows = []
    for line, e in FACTORIAL_TRUE_EFFECTS.items():
        specs = [
            ("AraC+Ida", ["AraC", "Ida"], ""),
            ("AraC+lenalidomide", ["AraC", "lenalidomide"], ""),
            ("Ida+lenalidomide", ["Ida", "lenalidomide"], ""),
            ("AraC+Ida+lenalidomide", ["AraC", "Ida", "lenalidomide"], ""),
            ("AraC+Ida+lenalidomide", ["Ida+lenalidomide", "AraC"], "AraC"),
            ("AraC+Ida+lenalidomide", ["AraC+lenalidomide", "Ida"], "Ida"),
            ("AraC+Ida+lenalidomide", ["AraC+Ida", "lenalidomide"], "lenalidomide"),
        ]
        for combo, comps, added in specs:
            ce = [e[c] for c in comps]
            for ref, exp in (("bliss", _bliss(*ce)), ("hsa", max(ce))):
                rows.append({"cell_line": line, "combination": combo, "reference": ref,
                             "components": " | ".join(comps), "added": added,
                             "true_observed": e[combo], "true_expected": exp,
                             "true_excess": e[combo] - exp})
    return pd.DataFrame(rows)


def simulate_factorial(seed: int = 2018) -> pd.DataFrame:
    """The simulated 2×2×2 factorial as a table (what :func:`write_factorial_example` writes).

    Parameters
    ----------
    seed
        Seed of :func:`numpy.random.default_rng`.

    Returns
    -------
    pandas.DataFrame
        ``origin``, ``cell_line``, ``replicate``, ``well``, ``AraC_nM``, ``Ida_nM``,
        ``lenalidomide_uM``, ``viability_pct``, ``assay``.
    """
    rng = np.random.default_rng(seed)
    rows = []
    factors = list(_CONC)
    for line in FACTORIAL_LINES:
        eff = FACTORIAL_TRUE_EFFECTS[line]
        for rep in range(1, N_REPLICATES + 1):
            for cell in range(8):
                present = [(cell >> j) & 1 for j in range(3)]
                name = "+".join(lab for lab, on in zip(("AraC", "Ida", "lenalidomide"),
                                                       present, strict=True) if on)
                e = eff[name or "control"]
                b = rng.normal(0.0, 0.02) if name else 0.0
                for well in range(1, 4):
                    w = rng.normal(0.0, 0.03)
                    v = 100.0 * (1.0 - e) * (1.0 + b) * (1.0 + w)
                    row = {"origin": ORIGIN, "cell_line": line, "replicate": rep, "well": well}
                    row.update({f: _CONC[f] * on for f, on in zip(factors, present,
                                                                 strict=True)})
                    row.update(viability_pct=round(v, 2), assay="WST-8 (CCK-8) 48 h")
                    rows.append(row)
    return pd.DataFrame(rows)


def _coculture_design(rng: np.random.Generator) -> pd.DataFrame:
    rows = []
    for name, kind in COCULTURE_SAMPLES:
        veh_a = rng.uniform(6, 12) if kind == "cell line" else rng.uniform(15, 25)
        veh_s = veh_a * rng.uniform(0.5, 0.8)
        ai_a = rng.uniform(80, 95)
        ai_s = rng.uniform(40, 50)
        len_add = rng.uniform(1, 4)
        ail_add = rng.uniform(2, 4)
        r = rng.uniform(0.35, 0.55)
        ail_a = min(ai_a + ail_add, 98.0)
        ail_s = ail_a - (1.0 - r) * (ai_a - ai_s)
        means = {
            "vehicle": (veh_a, veh_s),
            "AraC+Ida": (ai_a, ai_s),
            "lenalidomide": (veh_a + len_add, veh_s + len_add),
            "AraC+Ida+lenalidomide": (ail_a, ail_s),
        }
        for trt, (a, s) in means.items():
            rows.append({"aml_sample": name, "sample_type": kind, "treatment": trt,
                         "true_alone": a, "true_stroma": s, "reversal": r})
    return pd.DataFrame(rows)


def coculture_truth(seed: int = 2018) -> pd.DataFrame:
    """True means and protection of the simulated co-culture for a seed.

    Parameters
    ----------
    seed
        The seed given to :func:`write_coculture_example`.

    Returns
    -------
    pandas.DataFrame
        One row per sample × treatment: ``aml_sample``, ``sample_type``, ``treatment``,
        ``true_alone``, ``true_stroma`` (% apoptosis), ``true_difference`` (alone −
        stroma), ``true_ratio`` (stroma / alone), ``true_protection_index``
        (1 − induced on stroma / induced alone; NaN for the vehicle), ``base`` (the
        treatment without lenalidomide, for lenalidomide-containing rows) and
        ``true_protection_change`` (protection with − protection of ``base``).
    """
    d = _coculture_design(np.random.default_rng(seed)).drop(columns="reversal")
    d["true_difference"] = d["true_alone"] - d["true_stroma"]
    d["true_ratio"] = d["true_stroma"] / d["true_alone"]
    veh = d[d["treatment"] == "vehicle"].set_index("aml_sample")
    va = d["aml_sample"].map(veh["true_alone"])
    vs = d["aml_sample"].map(veh["true_stroma"])
    pi = 1.0 - (d["true_stroma"] - vs) / (d["true_alone"] - va)
    d["true_protection_index"] = pi.where(d["treatment"] != "vehicle")
    base = {"lenalidomide": "vehicle", "AraC+Ida+lenalidomide": "AraC+Ida"}
    d["base"] = d["treatment"].map(base).fillna("")
    prot = d.set_index(["aml_sample", "treatment"])["true_difference"]
    d["true_protection_change"] = [
        prot[(s, t)] - prot[(s, base[t])] if t in base else np.nan
        for s, t in zip(d["aml_sample"], d["treatment"], strict=True)
    ]
    return d.reset_index(drop=True)


def simulate_coculture(seed: int = 2018) -> pd.DataFrame:
    """The simulated co-culture apoptosis table (what :func:`write_coculture_example` writes).

    Parameters
    ----------
    seed
        Seed of :func:`numpy.random.default_rng`.

    Returns
    -------
    pandas.DataFrame
        ``origin``, ``aml_sample``, ``sample_type``, ``condition`` (alone / stroma),
        ``treatment``, ``AraC_nM``, ``Ida_nM``, ``lenalidomide_uM``, ``hours``,
        ``replicate``, ``gate``, ``apoptosis_pct`` (% annexin-V+ and/or 7-AAD+ of CD33+).
    """
    rng = np.random.default_rng(seed)
    design = _coculture_design(rng)
    rows = []
    for name, kind in COCULTURE_SAMPLES:
        sub = design[design["aml_sample"] == name].set_index("treatment")
        for rep in range(1, N_REPLICATES + 1):
            shift = rng.normal(0.0, 2.0)
            for cond in CONDITIONS:
                for trt, (ara, ida, lena) in COCULTURE_TREATMENTS.items():
                    mean = cast(float, sub.loc[trt, "true_alone" if cond == "alone"
                                               else "true_stroma"])
                    val = float(np.clip(mean + shift + rng.normal(0.0, 2.5), 0.5, 99.5))
                    rows.append({
                        "origin": ORIGIN, "aml_sample": name, "sample_type": kind,
                        "condition": cond, "treatment": trt, "AraC_nM": ara, "Ida_nM": ida,
                        "lenalidomide_uM": lena, "hours": 48, "replicate": rep,
                        "gate": "CD33+", "apoptosis_pct": round(val, 2),
                    })
    return pd.DataFrame(rows)


def _write(df: pd.DataFrame, path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    df.to_csv(path, index=False, lineterminator="\n", float_format="%.10g")
    return path


def write_coculture_example(directory: str | Path, seed: int = 2018) -> Path:
    """Write ``coculture_apoptosis.csv`` (SIMULATED) and ``coculture_apoptosis_truth.csv``.

    Parameters
    ----------
    directory
        Target folder (created if needed).
    seed
        Seed; the same seed gives byte-identical files.

    Returns
    -------
    Path
        The data CSV (columns: see :func:`simulate_coculture`).
    """
    root = Path(directory)
    _write(coculture_truth(seed).assign(origin=ORIGIN),
           root / "coculture_apoptosis_truth.csv")
    return _write(simulate_coculture(seed), root / "coculture_apoptosis.csv")


def write_factorial_example(directory: str | Path, seed: int = 2018) -> Path:
    """Write ``factorial_viability.csv`` (SIMULATED) and ``factorial_viability_truth.csv``.

    Parameters
    ----------
    directory
        Target folder (created if needed).
    seed
        Seed; the same seed gives byte-identical files.

    Returns
    -------
    Path
        The data CSV (columns: see :func:`simulate_factorial`).
    """
    root = Path(directory)
    _write(factorial_truth().assign(origin=ORIGIN), root / "factorial_viability_truth.csv")
    return _write(simulate_factorial(seed), root / "factorial_viability.csv")
