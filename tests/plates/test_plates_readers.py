"""Reader registry, generic grid reader and Gen5 reader."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import openpyxl
import pandas as pd
import pytest
from plates_helpers import DATA, grid_lines, plate_values, write, write_grid

from preclin.errors import InputError
from preclin.plates import readers
from preclin.plates.readers.gen5 import Gen5Reader
from preclin.plates.readers.grid import GridReader

COLUMNS = ["plate", "read", "well", "row", "col", "value"]


def as_grid(df: pd.DataFrame, plate: str, n_rows: int = 8, n_cols: int = 12,
            column: str = "plate") -> np.ndarray:
    sub = df[df[column] == plate]
    assert len(sub) == n_rows * n_cols
    return sub["value"].to_numpy().reshape(n_rows, n_cols)


# --------------------------------------------------------------------------- grid
def test_grid_single_block(tmp_path: Path) -> None:
    values = plate_values()
    df = GridReader().read(write_grid(tmp_path / "plate1.csv", values))
    assert list(df.columns) == COLUMNS
    assert df["plate"].unique().tolist() == ["plate1"]  # untitled: the file stem
    assert df["well"].iloc[:13].tolist() == [f"A{j}" for j in range(1, 13)] + ["B1"]
    assert df["row"].iloc[12] == "B" and df["col"].iloc[12] == 1
    assert df["col"].dtype == np.int64 and df["value"].dtype == np.float64
    np.testing.assert_array_equal(as_grid(df, "plate1"), values)


def test_grid_fixture_two_titled_blocks() -> None:
    df = GridReader().read(DATA / "grid_two_plates.csv")
    assert df["plate"].unique().tolist() == ["Plate 1", "Plate 2"]
    p1 = df[df["plate"] == "Plate 1"].set_index("well")["value"]
    p2 = df[df["plate"] == "Plate 2"].set_index("well")["value"]
    assert p1["A1"] == 0.638 and p1["H12"] == 0.308
    assert p2["A2"] == 1.097 and p2["H1"] == 1.084


def test_grid_corner_names_block_and_blank_cells(tmp_path: Path) -> None:
    values = plate_values()
    values[2, 6] = np.nan
    lines = grid_lines(values, corner="OD450") + [""] + grid_lines(plate_values(seed=1))
    df = GridReader().read(write(tmp_path / "x.csv", "\n".join(lines) + "\n"))
    assert df["plate"].unique().tolist() == ["OD450", "x:2"]
    c7 = df[(df["plate"] == "OD450") & (df["well"] == "C7")]["value"].item()
    assert np.isnan(c7)
    assert df["value"].isna().sum() == 1


def test_grid_non_numeric_value_is_an_error(tmp_path: Path) -> None:
    values = plate_values().astype(object)
    values[2, 6] = "OVRFLW"
    path = write(tmp_path / "plate1.csv", "\n".join(grid_lines(values)) + "\n")
    with pytest.raises(InputError) as info:
        GridReader().read(path)
    msg = str(info.value)
    assert "plate1.csv" in msg and "well C7" in msg and "'OVRFLW'" in msg and "line 4" in msg
    df = GridReader(nonnumeric="nan").read(path)
    assert np.isnan(df.loc[df["well"] == "C7", "value"].item()) and "flag" not in df.columns
    df = GridReader(nonnumeric="flag").read(path)
    c7 = df.loc[df["well"] == "C7"].iloc[0]
    assert np.isnan(c7["value"]) and c7["flag"] == "OVRFLW"
    assert df["flag"].notna().sum() == 1
    df = GridReader(na_values=("ovrflw",)).read(path)
    assert df["value"].isna().sum() == 1


def test_grid_384_semicolon_decimal_comma(tmp_path: Path) -> None:
    values = plate_values(16, 24, seed=3)
    lines = [ln.replace(".", ",") for ln in grid_lines(values, title="Plate X", sep=";")]
    df = readers.guess(write(tmp_path / "p384.csv", "\n".join(lines) + "\n")).read(
        tmp_path / "p384.csv")
    assert df["plate"].unique().tolist() == ["Plate X"]
    assert df["well"].iloc[-1] == "P24"
    np.testing.assert_allclose(as_grid(df, "Plate X", 16, 24), values)


def test_grid_tsv_and_other_shapes(tmp_path: Path) -> None:
    values = plate_values(4, 6, seed=4)
    df = GridReader().read(write_grid(tmp_path / "p24.tsv", values, sep="\t"))
    np.testing.assert_array_equal(as_grid(df, "p24", 4, 6), values)


def test_grid_xlsx_two_sheets(tmp_path: Path) -> None:
    wb = openpyxl.Workbook()
    vals = [plate_values(seed=5), plate_values(seed=6)]
    for k, v in enumerate(vals):
        ws = wb.active if k == 0 else wb.create_sheet()
        assert ws is not None
        ws.title = f"Run{k + 1}"
        ws.append(["Exported from instrument"])
        ws.append([])
        ws.append([None, *range(1, 13)])
        for i in range(8):
            ws.append(["ABCDEFGH"[i], *v[i].tolist()])
    path = tmp_path / "runs.xlsx"
    wb.save(path)
    assert readers.guess(path).name == "grid"
    df = readers.get("grid").read(path)
    # the same lone title on every sheet names nothing: the sheet names are used
    assert df["plate"].unique().tolist() == ["Run1", "Run2"]
    np.testing.assert_array_equal(as_grid(df, "Run2"), vals[1])


def test_grid_xlsx_untitled_sheets_named_by_sheet(tmp_path: Path) -> None:
    wb = openpyxl.Workbook()
    for k in range(2):
        ws = wb.active if k == 0 else wb.create_sheet()
        assert ws is not None
        ws.title = f"S{k}"
        ws.append([None, *range(1, 13)])
        for i in range(8):
            ws.append(["ABCDEFGH"[i], *([float(k)] * 12)])
    wb.save(tmp_path / "s.xlsx")
    df = GridReader().read(tmp_path / "s.xlsx")
    assert df["plate"].unique().tolist() == ["S0", "S1"]
    assert df.groupby("plate")["value"].mean().tolist() == [0.0, 1.0]


def test_grid_malformed_and_missing(tmp_path: Path) -> None:
    lines = grid_lines(plate_values())[:-1]  # rows A-G only
    with pytest.raises(InputError, match=r"short\.csv: line 1: plate grid has 12 columns but 7"):
        GridReader().read(write(tmp_path / "short.csv", "\n".join(lines) + "\n"))
    with pytest.raises(InputError, match=r"nogrid\.csv: no plate grid found"):
        GridReader().read(write(tmp_path / "nogrid.csv", "well,value\nA1,3\n"))
    with pytest.raises(InputError, match="file not found"):
        GridReader().read(tmp_path / "missing.csv")


# --------------------------------------------------------------------------- Gen5
def test_gen5_text_results_trailing_label() -> None:
    path = DATA / "gen5_results_450.txt"
    assert readers.guess(path).name == "gen5"
    with pytest.raises(InputError) as info:
        Gen5Reader(nonnumeric="error").read(path)
    msg = str(info.value)
    assert "gen5_results_450.txt" in msg and "well H12" in msg and "'OVRFLW'" in msg
    flagged = Gen5Reader().read(path)  # default: OVRFLW kept as a flag
    h12 = flagged.set_index("well").loc["H12"]
    assert np.isnan(h12["value"]) and h12["flag"] == "OVRFLW"
    assert flagged["flag"].notna().sum() == 1
    df = Gen5Reader(nonnumeric="nan").read(path)
    assert list(df.columns) == [*COLUMNS, "wavelength_nm"]
    assert df["plate"].unique().tolist() == ["Plate 1"]  # the Plate Number line
    assert df["read"].unique().tolist() == ["450"]  # the Layout section is skipped
    s = df.set_index("well")["value"]
    assert s["A1"] == 0.562 and s["A12"] == 0.588 and s["H11"] == 0.312
    assert np.isnan(s["H12"]) and s.isna().sum() == 1
    meta = df.attrs["metadata"]
    assert meta["Plate Type"].startswith("96 WELL PLATE")
    assert meta["Wavelengths"] == "450"


def test_gen5_interleaved_reads() -> None:
    df = readers.guess(DATA / "gen5_two_reads.csv").read(DATA / "gen5_two_reads.csv")
    assert df["read"].unique().tolist() == ["450", "630"]
    a = df[df["read"] == "450"].set_index("well")["value"]
    b = df[df["read"] == "630"].set_index("well")["value"]
    assert a["A1"] == 0.762 and a["H12"] == 0.866 and a["E3"] == 1.202
    assert b["A1"] == 0.009 and b["A12"] == 0.052 and b["E1"] == 0.085
    assert len(a) == len(b) == 96


def test_gen5_sections_titled() -> None:
    df = Gen5Reader().read(DATA / "gen5_sections.txt")
    assert df["read"].unique().tolist() == ["485,528", "Blank 485,528"]
    assert df.loc[(df["read"] == "485,528") & (df["well"] == "H1"), "value"].item() == 1.335
    first = df[df["read"] == "Blank 485,528"]
    assert first["value"].iloc[0] == 0.905


def test_gen5_xlsx(tmp_path: Path) -> None:
    wb = openpyxl.Workbook()
    ws = wb.active
    assert ws is not None
    for row in (["Software Version", "3.08"], ["Plate Type", "384 WELL PLATE"],
                [None, "Wavelengths:  570"], [], ["Results"], [None, *range(1, 25)]):
        ws.append(row)
    values = plate_values(16, 24, seed=9)
    for i in range(16):
        ws.append([chr(ord("A") + i), *values[i].tolist(), 570])
    wb.save(tmp_path / "run.xlsx")
    reader = readers.guess(tmp_path / "run.xlsx")
    assert reader.name == "gen5"
    df = reader.read(tmp_path / "run.xlsx")
    assert df["read"].unique().tolist() == ["570"]
    np.testing.assert_array_equal(as_grid(df, "570", 16, 24, column="read"), values)


def test_gen5_generic_results_title_uses_wavelength(tmp_path: Path) -> None:
    text = "Software Version\t3\nPlate Type\t96 WELL PLATE\n\tWavelengths:  600\n\nResults\n"
    text += "\n".join(grid_lines(plate_values(), sep="\t")) + "\n"
    df = Gen5Reader().read(write(tmp_path / "od600.txt", text))
    assert df["read"].unique().tolist() == ["600"]


# --------------------------------------------------------------------------- registry
def test_registry_get_guess_register(tmp_path: Path) -> None:
    assert set(readers.available()) >= {"grid", "gen5"}
    assert readers.available().index("gen5") < readers.available().index("grid")
    assert isinstance(readers.get("GRID"), GridReader)
    with pytest.raises(InputError, match="unknown plate reader 'glomax'"):
        readers.get("glomax")
    with pytest.raises(ValueError, match="already registered"):
        readers.register(GridReader())
    with pytest.raises(TypeError):
        readers.register(object())  # type: ignore[arg-type]
    odd = write(tmp_path / "run.weird", "whatever\n")
    with pytest.raises(InputError, match=r"run\.weird: no plate reader recognises"):
        readers.guess(odd)

    class Weird:
        name = "weird"

        def guess_can_open(self, path: str | Path) -> bool:
            return Path(path).suffix == ".weird"

        def read(self, path: str | Path) -> pd.DataFrame:
            return pd.DataFrame({"plate": ["w"], "read": [""], "well": ["A1"], "row": ["A"],
                                 "col": [1], "value": [1.0]})

    readers.register(Weird())
    try:
        assert readers.guess(odd).name == "weird"
        assert readers.available()[0] == "weird"
    finally:
        readers.unregister("weird")
    assert "weird" not in readers.available()


def test_guess_is_cheap_on_non_files(tmp_path: Path) -> None:
    assert not GridReader().guess_can_open(tmp_path)
    assert not Gen5Reader().guess_can_open(tmp_path / "nothing.txt")
    binary = tmp_path / "bad.xlsx"
    binary.write_bytes(b"\x00\x01 not a zip")
    assert not GridReader().guess_can_open(binary)
    with pytest.raises(InputError, match=r"bad\.xlsx: cannot open workbook"):
        GridReader().read(binary)
