"""Parameter recovery on djwooten/synergy's synthetic surfaces (../shared/reference).

Tolerances are the ones djwooten/synergy's own tests use (see the reference README):
MuSyC |fit − truth| ≤ 0.25 on log(h, C, α) and on raw E; Zimmer ≤ 0.2 on log(h, C) and raw
a12, a21; BRAID ≤ 0.6 on log(δ, h, C), raw E and κ. Null-model surfaces give ≈ 0 synergy
for the matching reference model.
"""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from preclin.synergy import fit_braid, fit_hill, fit_musyc, fit_zimmer, score

LOG = {"h", "h1", "h2", "C", "C1", "C2", "alpha12", "alpha21", "delta"}


def _load(reference_dir: Path, name: str) -> tuple[pd.DataFrame, dict]:
    base = reference_dir / "synergy" / "djwooten_synthetic"
    truth = json.loads((base / "expected.json").read_text())["files"][name]
    return pd.read_csv(base / name), truth


def _check(fit, truth: dict, names: list[str], tol: float) -> None:
    for k in names:
        got, want = fit.params[k], truth[k]
        err = abs(math.log(got) - math.log(want)) if k in LOG else abs(got - want)
        assert err <= tol, f"{k}: fitted {got:.4g}, truth {want:.4g}"


@pytest.mark.parametrize("name", ["synthetic_musyc_reference_1.csv",
                                  "synthetic_musyc_efficacy_1.csv",
                                  "synthetic_musyc_efficacy_2.csv",
                                  "synthetic_musyc_potency_1.csv"])
def test_musyc_recovery(reference_dir: Path, name: str) -> None:
    d, truth = _load(reference_dir, name)
    fit = fit_musyc(d["d1"], d["d2"], d["E"])
    _check(fit, truth, ["E0", "E1", "E2", "E3", "h1", "h2", "C1", "C2", "alpha12",
                        "alpha21"], 0.25)
    beta = (min(truth["E1"], truth["E2"]) - truth["E3"]) / (truth["E0"]
                                                           - min(truth["E1"], truth["E2"]))
    assert fit["beta"] == pytest.approx(beta, abs=0.1)


@pytest.mark.parametrize("name", ["synthetic_EDM_reference_1.csv", "synthetic_EDM_synergy_1.csv",
                                  "synthetic_EDM_synergy_2.csv", "synthetic_EDM_synergy_3.csv"])
def test_zimmer_recovery(reference_dir: Path, name: str) -> None:
    d, truth = _load(reference_dir, name)
    fit = fit_zimmer(d["d1"], d["d2"], d["E"])
    _check(fit, truth, ["h1", "h2", "C1", "C2", "a12", "a21"], 0.2)


@pytest.mark.parametrize("name,mode", [("synthetic_BRAID_reference_1.csv", "both"),
                                       ("synthetic_BRAID_delta_synergy_1.csv", "delta"),
                                       ("synthetic_BRAID_delta_antagonism_1.csv", "delta"),
                                       ("synthetic_BRAID_kappa_antagonism_1.csv", "kappa"),
                                       ("synthetic_BRAID_delta_kappa_synergy_1.csv", "both")])
def test_braid_recovery(reference_dir: Path, name: str, mode: str) -> None:
    d, truth = _load(reference_dir, name)
    fit = fit_braid(d["d1"], d["d2"], d["E"], mode=mode)
    names = ["E0", "E1", "E2", "E3", "h1", "h2", "C1", "C2"]
    names += [p for p in ("delta", "kappa") if p in fit.params]
    _check(fit, truth, names, 0.6)


def test_hill_recovery(reference_dir: Path) -> None:
    d, truth = _load(reference_dir, "synthetic_hill_1.csv")
    fit = fit_hill(d["d"], d["E"])
    _check(fit, truth, ["E0", "Emax", "h", "C"], 0.25)


def _as_viability(d: pd.DataFrame) -> pd.DataFrame:
    return pd.DataFrame({"block": 1, "drug1": "d1", "drug2": "d2", "conc1": d["d1"],
                         "conc2": d["d2"], "response": 100.0 * d["E"]})


@pytest.mark.parametrize("name,model,tol", [
    ("synthetic_musyc_bliss_independent_1.csv", "bliss", 1.0),
    ("synthetic_musyc_reference_1.csv", "bliss", 1.0),
    ("synthetic_EDM_reference_1.csv", "bliss", 1e-2),
    ("synthetic_musyc_linear_isobole_1.csv", "loewe", 1.0),
])
def test_null_surfaces_have_no_synergy(reference_dir: Path, name: str, model: str,
                                       tol: float) -> None:
    d, _ = _load(reference_dir, name)
    res = score(_as_viability(d), models=model, loewe="exact")
    assert abs(res.blocks.loc[0, model]) < tol
    assert np.abs(res.cells[f"{model}_synergy"]).max() < 10 * tol
