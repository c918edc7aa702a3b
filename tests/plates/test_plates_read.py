"""read(): data files + layout -> one long table."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from plates_helpers import DATA, grid_lines, plate_values, write, write_grid

from preclin.errors import InputError
from preclin.plates import read, read_layout
from preclin.plates.readers.grid import GridReader

LAYOUT = """
[expt]
control = "sample"
line = "HL-60"

[col.1]
control = "blank"

[col.12]
control = "vehicle"

[row.'A-G']    # row H is not in the layout
"""


@pytest.fixture
def layout(tmp_path: Path) -> Path:
    return write(tmp_path / "layout.toml", LAYOUT)


def test_join_keeps_every_data_well(tmp_path: Path, layout: Path) -> None:
    values = plate_values()
    data = write_grid(tmp_path / "plate1.csv", values)
    df = read(data, layout=layout)
    assert list(df.columns) == ["plate", "well", "row", "col", "control", "line", "signal",
                                "in_layout"]
    assert len(df) == 96
    assert df["plate"].unique().tolist() == ["plate1"]
    np.testing.assert_array_equal(df["signal"].to_numpy().reshape(8, 12), values)
    outside = df[~df["in_layout"]]
    assert outside["row"].unique().tolist() == ["H"] and len(outside) == 12
    assert outside["control"].isna().all() and outside["line"].isna().all()
    inside = df[df["in_layout"]]
    assert inside.groupby("control").size().to_dict() == {"blank": 7, "sample": 70,
                                                          "vehicle": 7}
    assert df["in_layout"].dtype == bool


class DropWell:
    """A reader that loses one well (as a partial export would)."""

    name = "drop"

    def __init__(self, well: str) -> None:
        self.well = well

    def guess_can_open(self, path: str | Path) -> bool:
        return False

    def read(self, path: str | Path) -> pd.DataFrame:
        df = GridReader().read(path)
        return df[df["well"] != self.well].reset_index(drop=True)


def test_layout_well_absent_from_data(tmp_path: Path, layout: Path) -> None:
    data = write_grid(tmp_path / "plate1.csv", plate_values())
    with pytest.raises(InputError) as info:
        read(data, layout=layout, reader=DropWell("C7"))
    err = info.value
    assert str(err).endswith("layout.toml: well C7: layout well C7 has no value in plate1.csv")
    assert err.file is not None and err.file.endswith("layout.toml")
    assert err.location == "well C7"
    # a data well missing outside the layout is fine
    assert len(read(data, layout=layout, reader=DropWell("H5"))) == 95


def test_384_layout_against_96_data(tmp_path: Path) -> None:
    lay = write(tmp_path / "l384.toml", "[meta]\nwells = 384\n[well.'A1,I1']\nx = 1\n")
    data = write_grid(tmp_path / "small.csv", plate_values())
    with pytest.raises(InputError, match=r"l384\.toml: well I1: layout well I1 has no value in "
                                         r"small\.csv"):
        read(data, layout=lay)


def test_empty_plate(tmp_path: Path, layout: Path) -> None:
    data = write_grid(tmp_path / "empty.csv", np.full((8, 12), np.nan))
    with pytest.raises(InputError, match=r"empty\.csv: .*no numeric values"):
        read(data, layout=layout)
    with pytest.raises(InputError, match="no numeric values"):
        read(data)


def test_layout_paths_read_alone_in_declared_order(tmp_path: Path) -> None:
    v1, v2 = plate_values(seed=1), plate_values(seed=2)
    (tmp_path / "data").mkdir()
    write_grid(tmp_path / "data" / "run_P1.csv", v1)
    write_grid(tmp_path / "data" / "run_P2.csv", v2)
    lay = write(tmp_path / "multi.toml", "[meta]\npaths = 'data/run_{}.csv'\n"
                                         "[plate.P2]\nday = 2\n[plate.P1]\nday = 1\n"
                                         "[block.2x2.A1]\ncontrol = 'vehicle'\n")
    df = read(lay)  # a layout path alone reads its data files
    assert df["plate"].unique().tolist() == ["P2", "P1"]
    assert len(df) == 192
    p1 = df[df["plate"] == "P1"]
    np.testing.assert_array_equal(p1["signal"].to_numpy().reshape(8, 12), v1)
    assert p1.loc[p1["in_layout"], "day"].unique().tolist() == [1]
    assert p1["in_layout"].sum() == 4
    same = read(None, layout=read_layout(lay))
    pd.testing.assert_frame_equal(df, same)


def test_layout_without_paths_alone(tmp_path: Path, layout: Path) -> None:
    with pytest.raises(InputError, match=r"layout\.toml: the layout names no data files"):
        read(layout)


def test_layout_paths_missing_file(tmp_path: Path) -> None:
    lay = write(tmp_path / "l.toml", "[meta]\npath = 'nope.csv'\n[well.A1]\n")
    with pytest.raises(InputError, match=r"l\.toml: key meta.path: data file .*nope\.csv"):
        read(lay)


def test_multi_block_file_single_plate_layout(layout: Path) -> None:
    df = read(DATA / "grid_two_plates.csv", layout=layout)
    assert df["plate"].unique().tolist() == ["Plate 1", "Plate 2"]
    assert df.groupby("plate")["in_layout"].sum().tolist() == [84, 84]
    df = read(DATA / "grid_two_plates.csv", layout=layout, plate="exp7")
    assert df["plate"].unique().tolist() == ["exp7:Plate 1", "exp7:Plate 2"]


def test_plate_argument_and_named_layout(tmp_path: Path) -> None:
    lay = write(tmp_path / "named.toml", "[plate.P1]\nday = 1\n[plate.P2]\nday = 2\n"
                                         "[well.A1]\n")
    data = write_grid(tmp_path / "untitled.csv", plate_values())
    with pytest.raises(InputError, match="cannot tell which layout plate"):
        read(data, layout=lay)
    df = read(data, layout=lay, plate="P2")
    assert df["plate"].unique().tolist() == ["P2"]
    assert df.loc[df["in_layout"], "day"].tolist() == [2]
    with pytest.raises(InputError, match="plate 'P3' is not in the layout"):
        read(data, layout=lay, plate="P3")
    # blocks titled like the layout plates are matched by name
    write(tmp_path / "both.csv", "\n".join(grid_lines(plate_values(seed=3), "P2") + [""]
                                           + grid_lines(plate_values(seed=4), "P1")) + "\n")
    df = read(tmp_path / "both.csv", layout=lay)
    assert df["plate"].unique().tolist() == ["P1", "P2"]  # layout order, not file order
    with pytest.raises(ValueError):
        read([data, data], layout=lay, plate="P1")


def test_without_layout_and_reader_choice(tmp_path: Path) -> None:
    values = plate_values()
    values[0, 0] = np.nan
    data = write_grid(tmp_path / "p.csv", values)
    df = read(data, reader="grid")
    assert list(df.columns) == ["plate", "well", "row", "col", "signal"]
    assert np.isnan(df["signal"].iloc[0])
    with pytest.raises(InputError, match="unknown plate reader"):
        read(data, reader="nope")


def test_same_block_names_in_two_files_get_the_file_stem(tmp_path: Path) -> None:
    text = "Software Version\t3\nPlate Type\t96 WELL PLATE\n\n450\n"
    a = write(tmp_path / "runA.txt", text + "\n".join(grid_lines(plate_values(seed=1), sep="\t")))
    b = write(tmp_path / "runB.txt", text + "\n".join(grid_lines(plate_values(seed=2), sep="\t")))
    df = read([a, b])
    assert df["plate"].unique().tolist() == ["runA:450", "runB:450"]
    df = read([a, b], plate=["A", "B"])
    assert df["plate"].unique().tolist() == ["A", "B"]


def test_row_order_is_row_then_numeric_column(tmp_path: Path, layout: Path) -> None:
    df = read(write_grid(tmp_path / "p.csv", plate_values()), layout=layout)
    assert df["well"].iloc[8:13].tolist() == ["A9", "A10", "A11", "A12", "B1"]
