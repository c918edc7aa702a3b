"""Bundled proliferation and cell-cycle examples: SIMULATED FCS files.

Written with the seeded simulators of :mod:`preclin.data.simulate_flow` and
:func:`preclin.flow.io.write_fcs` (nothing is hand-typed data):

* :func:`write_proliferation_example` — a CFSE T-cell suppression experiment as in the
  AML study: T cells of 3 donors stimulated alone, on stroma (BM-MSC) and on stroma with
  an IMiD (lenalidomide), plus an unstimulated control per donor (the undivided peak).
  Each file holds CFSE T cells (CD3+) and CD3− events (stromal cells, CFSE-negative); a
  gate template keeps the CD3+ T cells. Stroma suppresses division; the IMiD partly
  restores it. ``truth.csv`` holds the simulated generation fractions.
* :func:`write_cellcycle_example` — myeloma cells, control vs lenalidomide, 3 replicate
  cultures, BrdU/PI: S phase about 51 % vs 29 % as in the myeloma study. ``truth.csv``
  holds the realised phase fractions.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

__all__ = ["write_proliferation_example", "proliferation_experiment_toml",
           "write_cellcycle_example", "cellcycle_experiment_toml", "CFSE_DESIGN",
           "CELLCYCLE_DESIGN"]

#: condition -> expected fraction of T cells in generations 0, 1, 2, ...
CFSE_DESIGN: dict[str, tuple[float, ...]] = {
    "unstimulated": (1.0,),
    "T alone": (0.12, 0.14, 0.22, 0.24, 0.18, 0.10),
    "T + stroma": (0.55, 0.20, 0.12, 0.08, 0.05),
    "T + stroma + IMiD": (0.32, 0.20, 0.20, 0.15, 0.09, 0.04),
}
CFSE_DONORS = ("D1", "D2", "D3")

#: condition -> expected (G0/G1, S, G2/M) of single cells
CELLCYCLE_DESIGN: dict[str, tuple[float, float, float]] = {
    "control": (0.35, 0.51, 0.14),
    "lenalidomide": (0.57, 0.29, 0.14),
}

_CFSE_GATES = '''# preclin gate template of the simulated CFSE experiment (SIMULATED data)
[[gate]]
name = "T cells"            # CD3+ (stromal cells are CD3-)
range = { channel = "CD3", min = 1000 }
'''


def _slug(text: str) -> str:
    import re

    return re.sub(r"[^0-9A-Za-z]+", "_", text).strip("_")


def write_proliferation_example(directory: str | Path, *, seed: int = 2018,
                                n_events: int = 3000) -> dict[str, Path]:
    """Write the simulated CFSE suppression experiment.

    Parameters
    ----------
    directory
        Target folder (created): ``fcs/*.fcs``, ``samples.csv``, ``gates.toml``,
        ``truth.csv``.
    seed
        Seed; the same seed gives byte-identical files.
    n_events
        T-cell events per file (plus 10 % CD3− events).

    Returns
    -------
    dict
        ``{"fcs": folder, "samples": ..., "gates": ..., "truth": ...}``.
    """
    from ..flow.io import write_fcs
    from .simulate_flow import simulate_cfse

    root = Path(directory)
    fcs = root / "fcs"
    fcs.mkdir(parents=True, exist_ok=True)
    rows, truth = [], []
    k = 0
    for d, donor in enumerate(CFSE_DONORS):
        for condition, expected in CFSE_DESIGN.items():
            rng = np.random.default_rng([seed, 31, d, k])
            p = np.asarray(expected) * np.exp(rng.normal(0.0, 0.15, len(expected)))
            sim = simulate_cfse(n_events, p / p.sum(), seed=int(rng.integers(2**31)),
                                undivided=10**4.6, sd_log=0.075)
            n_other = n_events // 10
            other_cfse = 10 ** (2.0 + 0.25 * rng.standard_normal(n_other))
            cd3 = np.concatenate([10 ** (3.9 + 0.2 * rng.standard_normal(sim.values.size)),
                                  10 ** (2.0 + 0.3 * rng.standard_normal(n_other))])
            ev = np.column_stack([np.concatenate([sim.values, other_cfse]), cd3])
            ev = ev[rng.permutation(ev.shape[0])].astype(np.float32)
            name = f"{donor}_{_slug(condition)}.fcs"
            write_fcs(fcs / name, ev, ["FL1-A", "FL4-A"], markers=["CFSE", "CD3"],
                      metadata={"FIL": name})
            rows.append({"file": name, "sample": f"{donor} {condition}", "donor": donor,
                         "condition": condition})
            for _, t in sim.truth.iterrows():
                truth.append({"file": name, "generation": int(t["generation"]),
                              "fraction_of_events": float(t["fraction_of_events"])})
            k += 1
    samples = root / "samples.csv"
    pd.DataFrame(rows).to_csv(samples, index=False, lineterminator="\n")
    pd.DataFrame(truth).to_csv(root / "truth.csv", index=False, lineterminator="\n")
    gates = root / "gates.toml"
    gates.write_text(_CFSE_GATES, encoding="utf-8")
    return {"fcs": fcs, "samples": samples, "gates": gates, "truth": root / "truth.csv"}


def proliferation_experiment_toml(folder: str = "cfse", *,
                                  name: str = "tcell_suppression") -> str:
    """The ``[[experiment]]`` table of the CFSE example (files under ``folder``)."""
    return f'''
[[experiment]]
name = "{name}"
title = "Do stroma suppress T-cell proliferation, and does an IMiD restore it? (CFSE)"
kind = "proliferation"
files = ["{folder}/fcs/*.fcs"]
samples = "{folder}/samples.csv"      # file -> sample, donor, condition
gates = "{folder}/gates.toml"         # CD3+ T cells
population = "T cells"
channel = "CFSE"
undivided = {{ condition = "unstimulated" }}   # places generation 0 ...
match = ["donor"]                             # ... from the same donor's control

[[experiment.compare]]
group = "condition"                   # every pair of conditions (controls left out)
pair = "donor"
items = ["percent_divided", "division_index"]
error = "sd"
plot = "scatter"
'''


def write_cellcycle_example(directory: str | Path, *, seed: int = 2018,
                            n_events: int = 4000, replicates: int = 3) -> dict[str, Path]:
    """Write the simulated BrdU/PI cell-cycle experiment (control vs lenalidomide).

    Parameters
    ----------
    directory
        Target folder (created): ``fcs/*.fcs``, ``samples.csv``, ``truth.csv``.
    seed
        Seed; the same seed gives byte-identical files.
    n_events
        Events per file.
    replicates
        Replicate cultures per condition.

    Returns
    -------
    dict
        ``{"fcs": folder, "samples": ..., "truth": ...}``.
    """
    from ..flow.io import write_fcs
    from .simulate_flow import simulate_brdu

    root = Path(directory)
    fcs = root / "fcs"
    fcs.mkdir(parents=True, exist_ok=True)
    rows, truth = [], []
    for c, (condition, (g1, s, g2m)) in enumerate(CELLCYCLE_DESIGN.items()):
        for r in range(replicates):
            rng = np.random.default_rng([seed, 47, c, r])
            p = np.array([g1, s, g2m]) * np.exp(rng.normal(0.0, 0.05, 3))
            sim = simulate_brdu(n_events, g1=p[0], s=p[1], g2m=p[2],
                                seed=int(rng.integers(2**31)), debris_fraction=0.04)
            assert sim.brdu is not None
            ev = np.column_stack([sim.area, sim.width, sim.brdu]).astype(np.float32)
            name = f"{_slug(condition)}_{r + 1}.fcs"
            write_fcs(fcs / name, ev, ["PI-A", "PI-W", "FITC-A"], markers=["", "", "BrdU"],
                      metadata={"FIL": name})
            rows.append({"file": name, "sample": f"{condition} {r + 1}",
                         "condition": condition, "culture": str(r + 1)})
            truth.append({"file": name, **sim.truth})
    samples = root / "samples.csv"
    pd.DataFrame(rows).to_csv(samples, index=False, lineterminator="\n")
    pd.DataFrame(truth).to_csv(root / "truth.csv", index=False, lineterminator="\n")
    return {"fcs": fcs, "samples": samples, "truth": root / "truth.csv"}


def cellcycle_experiment_toml(folder: str = "cellcycle", *,
                              name: str = "myeloma_cellcycle") -> str:
    """The ``[[experiment]]`` table of the cell-cycle example (files under ``folder``)."""
    return f'''
[[experiment]]
name = "{name}"
title = "Does lenalidomide lower the S-phase fraction of myeloma cells? (BrdU/PI)"
kind = "cellcycle"
files = ["{folder}/fcs/*.fcs"]
samples = "{folder}/samples.csv"      # file -> sample, condition, culture
dna = "PI-A"
brdu = "BrdU"                         # phases from BrdU/DNA gates
width = "PI-W"                        # doublets gated out by pulse width

[[experiment.compare]]
group = "condition"
control = "control"
items = ["percent_s", "percent_g1"]
error = "sd"
plot = "scatter"
'''
