"""plater-style CSV/XLSX layouts."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import openpyxl
import pandas as pd
import pytest
from plates_helpers import write

from preclin.errors import InputError
from preclin.plates import read_layout, read_plater

HEADER = ",".join(str(j) for j in range(1, 13))


def block(name: str, cells: dict[str, list[str]]) -> list[str]:
    lines = [f"{name},{HEADER}"]
    for r in "ABCDEFGH":
        values = cells.get(r, [""] * 12)
        lines.append(r + "," + ",".join(values))
    return lines


def test_plater_csv(tmp_path: Path) -> None:
    drug = block("drug", {"A": ["AraC"] * 3 + [""] * 9, "B": ["Ida"] * 3 + [""] * 9})
    conc = block("conc", {"A": ["1", "0.1", "0.01"] + [""] * 9,
                          "B": ["10", "1", "0"] + [""] * 9, "H": [""] * 11 + ["0"]})
    flag = block("exclude", {"B": ["", "TRUE", "FALSE"] + [""] * 9})
    path = write(tmp_path / "layout.csv", "\n".join([*drug, "", *conc, "", *flag]) + "\n")
    lay = read_layout(path)  # dispatches on .csv
    t = lay.table
    assert lay.factors == ["drug", "conc", "exclude"]
    assert list(t["well"]) == ["A1", "A2", "A3", "B1", "B2", "B3", "H12"]
    assert set(t["plate"]) == {"layout"}
    assert t["conc"].tolist() == [1.0, 0.1, 0.01, 10.0, 1.0, 0.0, 0.0]
    assert t.loc[t["well"] == "B2", "exclude"].item() is True
    assert pd.isna(t.loc[t["well"] == "H12", "drug"].item())
    assert lay.plate_format == 96


def test_plater_integers_stay_integers(tmp_path: Path) -> None:
    text = "\n".join(block("rep", {"A": [str(k % 3 + 1) for k in range(12)]})) + "\n"
    t = read_plater(write(tmp_path / "reps.csv", text)).table
    assert t["rep"].tolist() == [k % 3 + 1 for k in range(12)]


def test_plater_xlsx_sheets_are_plates(tmp_path: Path) -> None:
    wb = openpyxl.Workbook()
    ws = wb.active
    assert ws is not None
    ws.title = "P1"
    ws.append(["line", *range(1, 7)])
    for r in "ABCD":
        ws.append([r, "HL-60", "HL-60", None, None, None, None])
    ws2 = wb.create_sheet("P2")
    ws2.append(["line", *range(1, 7)])
    for r in "ABCD":
        ws2.append([r, None, None, None, None, None, "MOLM-13"])
    path = tmp_path / "layout.xlsx"
    wb.save(path)
    lay = read_layout(path)
    assert lay.plates == ["P1", "P2"]
    assert lay.plate_format == 24
    t = lay.table
    assert (t["plate"] == "P1").sum() == 8 and (t["plate"] == "P2").sum() == 4
    assert set(t.loc[t["plate"] == "P2", "well"]) == {"A6", "B6", "C6", "D6"}


def test_plater_384(tmp_path: Path) -> None:
    header = "drug," + ",".join(str(j) for j in range(1, 25))
    rows = [chr(ord("A") + i) + "," + ",".join(["x" if (i + j) % 5 == 0 else "" for j in range(24)])
            for i in range(16)]
    lay = read_plater(write(tmp_path / "l384.csv", "\n".join([header, *rows]) + "\n"))
    expected = sum((i + j) % 5 == 0 for i in range(16) for j in range(24))
    assert len(lay) == expected
    assert lay.plate_format == 384
    assert np.all(lay.table["drug"] == "x")


def test_plater_errors(tmp_path: Path) -> None:
    no_name = [f",{HEADER}"] + [r + ",x" + ",," * 5 for r in "ABCDEFGH"]
    with pytest.raises(InputError, match=r"nameless\.csv: line 1: .*factor name"):
        read_plater(write(tmp_path / "nameless.csv", "\n".join(no_name) + "\n"))
    twice = block("d", {"A": ["x"] * 12}) + [""] + block("d", {"A": ["y"] * 12})
    with pytest.raises(InputError, match=r"twice\.csv: line 11: factor 'd' appears twice"):
        read_plater(write(tmp_path / "twice.csv", "\n".join(twice) + "\n"))
    short = [f"d,{HEADER}"] + [r + ",x" for r in "ABCDEFG"]
    with pytest.raises(InputError, match=r"short\.csv: line 1: .*7 rows"):
        read_plater(write(tmp_path / "short.csv", "\n".join(short) + "\n"))
    with pytest.raises(InputError, match="no plater block"):
        read_plater(write(tmp_path / "empty.csv", "a,b\n1,2\n"))
