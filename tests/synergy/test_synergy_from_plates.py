"""A combination matrix read from a plate-reader grid + a wellmap layout with two
concentration columns, normalised, then scored (the issue's second input route)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

import preclin.plates as plates
from preclin.synergy import score

DOSES1 = [0.0, 0.1, 0.3, 1.0, 3.0, 10.0]  # rows B-G
DOSES2 = [0.0, 0.2, 0.6, 2.0, 6.0, 20.0]  # cols 2-7


def _write(tmp_path: Path) -> Path:
    lines = ["[meta]", 'path = "plate.csv"', "", "[expt]", 'drug1 = "AraC"', 'drug2 = "IMiD"',
             'block = "HL-60"', 'control = "sample"', ""]
    for i, d1 in enumerate(DOSES1):
        lines += [f"[row.{'BCDEFG'[i]}]", f"conc1 = {d1}", ""]
    for j, d2 in enumerate(DOSES2):
        lines += [f"[col.{j + 2}]", f"conc2 = {d2}", ""]
    lines += ["[col.'1,8']", 'control = "blank"', "conc2 = 0", "",
              "[well.'A1-A8']", 'control = "blank"', "conc1 = 0", "conc2 = 0", "",
              "[well.'H1-H8']", 'control = "vehicle"', "conc1 = 0", "conc2 = 0", ""]
    layout = tmp_path / "layout.toml"
    layout.write_text("\n".join(lines))
    od = np.full((8, 12), 0.05)  # a 96-well plate; columns 9-12 are outside the layout
    for i, d1 in enumerate(DOSES1):
        for j, d2 in enumerate(DOSES2):
            v = (1 - d1 / (d1 + 1.0)) * (1 - d2 / (d2 + 2.0))  # Bliss-independent truth
            od[i + 1, j + 1] = 0.05 + 1.0 * v
    od[:, 0] = 0.05  # column 1: no cells
    od[0, :] = 0.05  # row A: blanks
    od[7, :8] = 1.05  # row H: vehicle, 100 %
    grid = [",".join(str(c) for c in range(1, 13))]
    grid = ["," + grid[0]] + ["ABCDEFGH"[r] + "," + ",".join(f"{x:.6f}" for x in od[r])
                              for r in range(8)]
    (tmp_path / "plate.csv").write_text("\n".join(grid) + "\n")
    return layout


def test_matrix_from_plate_and_layout(tmp_path: Path) -> None:
    layout = _write(tmp_path)
    wells = plates.read(None, layout=layout)
    norm = plates.normalise(wells, blank="blank", vehicle="vehicle")
    assert set(norm.loc[~norm["in_layout"], "reason"]) == {"outside layout"}
    matrix = norm[norm["control"] == "sample"]
    res = score(matrix, models=("bliss", "hsa"),
                columns={"response": "viability"}, response_kind="viability")
    assert len(res.blocks) == 1
    row = res.blocks.iloc[0]
    assert (row["drug1"], row["drug2"]) == ("AraC", "IMiD")
    assert abs(row["bliss"]) < 1e-4  # Bliss-independent surface (OD rounded to 1e-6)
    assert len(res.cells) == 36
    # every sample well of the layout is a scored cell
    assert len(matrix) == 36 and not matrix["excluded"].any()
    assert isinstance(res.cells, pd.DataFrame)
