"""Scintillation counts through the grid reader, `preclin plates read`, and vendor files
joined with a layout by :func:`preclin.plates.read`."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from plates_helpers import DATA, grid_lines, plate_values, write

from preclin.cli import main
from preclin.plates import read, readers
from preclin.plates.readers.grid import GridReader

CPM = DATA / "cpm_thymidine_96.csv"


def test_cpm_grid_reads_as_plate_signal_with_unit() -> None:
    reader = readers.guess(CPM)
    assert reader.name == "grid"
    df = reader.read(CPM)
    assert list(df.columns) == ["plate", "read", "well", "row", "col", "value", "unit"]
    assert df["plate"].unique().tolist() == ["cpm_thymidine_96"]  # "CPM" names no block
    assert df["unit"].unique().tolist() == ["CPM"]
    s = df.set_index("well")["value"]
    assert len(s) == 96 and s["A1"] == 167 and s["D6"] == 9806 and s["H12"] == 24420
    # and through plates.read (with the layout join of today)
    wells = read(CPM)
    assert list(wells.columns) == ["plate", "well", "row", "col", "signal", "unit"]
    assert wells["signal"].sum() == df["value"].sum()


def test_unit_in_title_or_brackets(tmp_path: Path) -> None:
    lines = ["Counts (CPM)"] + grid_lines(plate_values(), fmt="{:.0f}")
    df = GridReader().read(write(tmp_path / "run.csv", "\n".join(lines) + "\n"))
    assert df["plate"].unique().tolist() == ["Counts (CPM)"]
    assert df["unit"].unique().tolist() == ["CPM"]
    lines = grid_lines(plate_values(), corner="OD450")
    df = GridReader().read(write(tmp_path / "od.csv", "\n".join(lines) + "\n"))
    assert "unit" not in df.columns and df["plate"].unique().tolist() == ["OD450"]


def test_cli_plates_read(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "cpm.csv"
    assert main(["plates", "read", str(CPM), "--out", str(out)]) == 0
    df = pd.read_csv(out)
    assert list(df.columns) == ["plate", "read", "well", "row", "col", "value", "unit"]
    assert len(df) == 96 and "grid: 1 plate(s), 1 read(s)" in capsys.readouterr().err
    out2 = tmp_path / "gen5.parquet"
    assert main(["plates", "read", str(DATA / "gen5_results_450.txt"), "--reader", "gen5",
                 "--out", str(out2)]) == 0
    g = pd.read_parquet(out2)
    h12 = g.set_index("well").loc["H12"]
    assert np.isnan(h12["value"]) and h12["flag"] == "OVRFLW"
    capsys.readouterr()
    bad = write(tmp_path / "junk.csv", "not,a plate\n")
    assert main(["plates", "read", str(bad), "--out", str(tmp_path / "x.csv")]) == 2
    err = capsys.readouterr().err.strip()
    assert "junk.csv" in err and "no plate reader recognises" in err and "\n" not in err
    assert main(["plates", "read", str(CPM), "--reader", "nope", "--out",
                 str(tmp_path / "x.csv")]) == 2
    assert "unknown plate reader 'nope'" in capsys.readouterr().err


def _gen5_two_plates_kinetic(tmp_path: Path) -> Path:
    """A small Gen5-style kinetic export: one read, three time points, 96 wells."""
    wells = [f"{r}{c}" for r in "ABCDEFGH" for c in range(1, 13)]
    rows = ["Software Version\t3.12", "Plate Number\tPlate 1", "Plate Type\t96 WELL PLATE",
            "", "OD600:600", "", "\t".join(["", "Time", "T° OD600:600", *wells])]
    for k, t in enumerate(("0:00:00", "0:15:00", "0:30:00")):
        rows.append("\t".join(["", t, "37", *[f"{0.1 + 0.01 * k + 0.0001 * i:.4f}"
                                              for i in range(96)]]))
    return write(tmp_path / "kinetic.txt", "\n".join(rows) + "\n")


def test_kinetic_vendor_file_joins_layout(tmp_path: Path) -> None:
    path = _gen5_two_plates_kinetic(tmp_path)
    df = readers.guess(path).read(path)
    assert df["time_s"].unique().tolist() == [0.0, 900.0, 1800.0]
    layout = write(tmp_path / "layout.toml",
                   '[expt]\nline = "HL-60"\n[row.\'A-H\']\n[col.1]\nctrl = "blank"\n')
    wells = read(path, layout=layout)
    assert wells["plate"].unique().tolist() == ["OD600:600"]
    assert {"read", "time_s", "cycle", "wavelength_nm"} <= set(wells.columns)
    assert len(wells) == 3 * 96 and wells["in_layout"].sum() == 3 * 8  # layout: column 1
    assert (wells.loc[wells["col"] == 1, "ctrl"] == "blank").all()
    assert (wells.loc[wells["col"] == 1, "line"] == "HL-60").all()
    # ordered by time point, then row and column
    assert wells["cycle"].tolist()[:96] == [1] * 96
