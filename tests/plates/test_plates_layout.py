"""wellmap-style TOML layouts: groups, patterns, precedence, includes, plates, errors."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest
from plates_helpers import write

from preclin.errors import InputError
from preclin.plates import Layout, read_layout


def load(tmp_path: Path, text: str, name: str = "layout.toml") -> Layout:
    return read_layout(write(tmp_path / name, text))


def value(lay: Layout, well: str, factor: str, plate: str | None = None) -> object:
    t = lay.table
    if plate is not None:
        t = t[t["plate"] == plate]
    row = t[t["well"] == well]
    assert len(row) == 1, f"{well} on {plate}: {len(row)} rows"
    return row[factor].iloc[0]


def wells(lay: Layout, plate: str | None = None) -> set[str]:
    t = lay.table
    if plate is not None:
        t = t[t["plate"] == plate]
    return set(t["well"])


def raises(tmp_path: Path, text: str, *needles: str, name: str = "layout.toml") -> InputError:
    with pytest.raises(InputError) as info:
        load(tmp_path, text, name)
    msg = str(info.value)
    for needle in needles:
        assert needle in msg, f"{needle!r} not in {msg!r}"
    assert "\n" not in msg and "Traceback" not in msg
    return info.value


# --------------------------------------------------------------------------- basics
def test_single_well_and_columns(tmp_path: Path) -> None:
    lay = load(tmp_path, "[well.A1]\nconc = 100\nsample = 'x'\n")
    t = lay.table
    assert list(t.columns) == ["plate", "well", "row", "col", "conc", "sample"]
    assert t.to_dict("records") == [
        {"plate": "layout", "well": "A1", "row": "A", "col": 1, "conc": 100, "sample": "x"}
    ]
    assert lay.factors == ["conc", "sample"]
    assert lay.plates == ["layout"]
    assert lay.paths == {"layout": None}
    assert lay.plate_format == 6


def test_equivalent_spellings(tmp_path: Path) -> None:
    a = load(tmp_path, "[well.A1]\nconc = 100\n", "a.toml").table
    b = load(tmp_path, "[well]\nA1.conc = 100\n", "b.toml").table
    c = load(tmp_path, "well.A1.conc = 100\n", "c.toml").table
    for t in (b, c):
        pd.testing.assert_frame_equal(a.drop(columns="plate"), t.drop(columns="plate"))


def test_rows_times_cols_and_span(tmp_path: Path) -> None:
    lay = load(tmp_path, "[row.A]\ns = 'a'\n[row.C]\ns = 'c'\n[col.'1,2']\n")
    # as in wellmap, a column spans every occupied row, so B is there too
    assert wells(lay) == {"A1", "A2", "B1", "B2", "C1", "C2"}
    assert value(lay, "A2", "s") == "a"
    assert pd.isna(value(lay, "B1", "s"))


def test_expt_applies_to_every_well(tmp_path: Path) -> None:
    lay = load(tmp_path, "[expt]\nline = 'HL-60'\n[block.2x2.A1]\n[well.H12]\n")
    assert set(lay.table["line"]) == {"HL-60"}
    assert len(lay) == 5
    assert lay.plate_format == 96


def test_blocks(tmp_path: Path) -> None:
    lay = load(tmp_path, "[block.2x3.B2]\ns = 'b'\n")
    # 2 columns wide, 3 rows tall, top-left at B2
    assert wells(lay) == {"B2", "B3", "C2", "C3", "D2", "D3"}
    lay = load(tmp_path, "[block.2x2]\nA1.s = 'x'\nA3.s = 'y'\n[block.4x1.C1]\ns = 'z'\n")
    assert wells(lay) == {"A1", "A2", "B1", "B2", "A3", "A4", "B3", "B4", "C1", "C2", "C3", "C4"}
    assert value(lay, "B4", "s") == "y"
    assert value(lay, "C4", "s") == "z"


def test_block_pattern(tmp_path: Path) -> None:
    lay = load(tmp_path, "[block.2x2.'A1,C3']\ns = 'a'\n[block.2x2.'A3,C1']\ns = 'b'\n")
    assert len(lay) == 16
    assert value(lay, "D4", "s") == "a"
    assert value(lay, "D1", "s") == "b"


# --------------------------------------------------------------------------- patterns
@pytest.mark.parametrize(
    ("section", "expected"),
    [
        ("row.'A,C,E'", {"A", "C", "E"}),
        ("row.'A-D'", {"A", "B", "C", "D"}),
        ("row.'A,C,...,G'", {"A", "C", "E", "G"}),
        ("row.'b,c'", {"B", "C"}),
    ],
)
def test_row_patterns(tmp_path: Path, section: str, expected: set[str]) -> None:
    lay = load(tmp_path, f"[{section}]\nmark = 1\n[col.1]\n")
    t = lay.table
    assert set(t.loc[t["mark"] == 1, "row"]) == expected


@pytest.mark.parametrize(
    ("section", "expected"),
    [
        ("col.'1-3'", {1, 2, 3}),
        ("col.'1,3,...,11'", {1, 3, 5, 7, 9, 11}),
        ("col.'2,5'", {2, 5}),
        ("col.10", {10}),
    ],
)
def test_col_patterns(tmp_path: Path, section: str, expected: set[int]) -> None:
    lay = load(tmp_path, f"[{section}]\nmark = 1\n[row.A]\n")
    t = lay.table
    assert set(t.loc[t["mark"] == 1, "col"]) == expected


@pytest.mark.parametrize(
    ("key", "expected"),
    [
        ("A1,B2", {"A1", "B2"}),
        ("A1,A2,...,A6", {f"A{j}" for j in range(1, 7)}),
        ("A1,C3,...,E5", {r + c for r in "ACE" for c in "135"}),
        ("A1-B3", {r + c for r in "AB" for c in "123"}),
        ("a01", {"A1"}),
    ],
)
def test_well_patterns(tmp_path: Path, key: str, expected: set[str]) -> None:
    assert wells(load(tmp_path, f"[well.'{key}']\nmark = 1\n")) == expected


def test_interleaved_rows_and_cols(tmp_path: Path) -> None:
    lay = load(tmp_path, "[irow]\nA.s = 'a'\nB.s = 'b'\n[col.'1-4']\n")
    got = {w: value(lay, w, "s") for w in ("A1", "A2", "A3", "A4", "B1", "B2")}
    assert got == {"A1": "a", "A2": "b", "A3": "a", "A4": "b", "B1": "b", "B2": "a"}
    lay = load(tmp_path, "[icol]\n1.s = 'x'\n2.s = 'y'\n[row.'A-D']\n")
    got = {w: value(lay, w, "s") for w in ("A1", "A2", "B1", "B2", "C1")}
    assert got == {"A1": "x", "A2": "y", "B1": "y", "B2": "x", "C1": "x"}


# --------------------------------------------------------------------------- precedence
PRECEDENCE = """
[plate.X]

[plate.Y]
precedence = 'plate'

[plate.Z.row.A]
precedence = 'plate.row'

[well.A1]
precedence = 'well'

[block.2x2.A1]
precedence = 'block.2x2'

[block.3x3.A1]
precedence = 'block.3x3'

[row.A]
precedence = 'row'

[col.1]
precedence = 'col'

[expt]
precedence = 'expt'

[block.5x5.A1]
"""


def test_precedence_as_wellmap(tmp_path: Path) -> None:
    lay = load(tmp_path, PRECEDENCE)
    assert lay.plates == ["X", "Y", "Z"]
    assert lay.named
    expected_x = {"A1": "well", "A2": "block.2x2", "B2": "block.2x2", "A3": "block.3x3",
                  "C1": "block.3x3", "A4": "row", "A5": "row", "D1": "col", "E1": "col",
                  "D4": "expt", "E5": "expt"}
    for well, want in expected_x.items():
        assert value(lay, well, "precedence", "X") == want, well
    assert value(lay, "D4", "precedence", "Y") == "plate"
    assert value(lay, "A1", "precedence", "Y") == "well"
    assert value(lay, "A4", "precedence", "Z") == "plate.row"
    assert value(lay, "A2", "precedence", "Z") == "block.2x2"  # block beats plate.row
    assert all(len(wells(lay, p)) == 25 for p in "XYZ")


def test_row_beats_col_and_keys_merge(tmp_path: Path) -> None:
    lay = load(tmp_path, "[col.1]\nx = 'col'\ny = 'col'\n[row.A]\nx = 'row'\n")
    assert value(lay, "A1", "x") == "row"
    assert value(lay, "A1", "y") == "col"  # only the clashing key is overridden


def test_block_precedence_area_then_order(tmp_path: Path) -> None:
    text = "[block.1x2.A1]\ns = 'small'\n[block.2x2.A1]\ns = 'big'\n[block.2x1.A1]\ns = 'late'\n"
    lay = load(tmp_path, text)
    assert value(lay, "A1", "s") == "late"  # same area as 1x2, later in the file
    assert value(lay, "B1", "s") == "small"
    assert value(lay, "B2", "s") == "big"


def test_plate_groups_override_global_same_kind(tmp_path: Path) -> None:
    text = "[row.A]\ns = 'global'\n[col.'1-2']\n[plate.P.col.1]\ns = 'plate col'\n" \
           "[plate.Q]\n[plate.P.row.A]\ns = 'plate row'\n"
    lay = load(tmp_path, text)
    assert value(lay, "A1", "s", "P") == "plate row"
    assert value(lay, "A1", "s", "Q") == "global"


# --------------------------------------------------------------------------- includes
def test_include_defaults_and_override(tmp_path: Path) -> None:
    write(tmp_path / "shared" / "dilution.toml",
          "[col]\n1.conc = 1e4\n2.conc = 1e3\n3.conc = 0\n[expt]\nline = 'base'\n")
    write(tmp_path / "shared" / "later.toml", "[expt]\nline = 'later'\nday = 1\n")
    lay = load(tmp_path, "[meta]\ninclude = ['shared/dilution.toml', 'shared/later.toml']\n"
                         "[row.'A,B']\nsample = 'a'\n[col.3]\nconc = 5\n")
    assert wells(lay) == {f"{r}{c}" for r in "AB" for c in (1, 2, 3)}
    assert value(lay, "A1", "conc") == 1e4
    assert value(lay, "B3", "conc") == 5  # this file overrides its includes
    assert value(lay, "B3", "line") == "later"  # later include overrides earlier
    assert value(lay, "A2", "day") == 1


def test_include_missing(tmp_path: Path) -> None:
    raises(tmp_path, "[meta]\ninclude = 'nothere.toml'\n[well.A1]\n",
           "layout.toml", "meta.include", "nothere.toml", "not found")


def test_include_cycle(tmp_path: Path) -> None:
    write(tmp_path / "b.toml", "[meta]\ninclude = 'a.toml'\n[well.A2]\n")
    err = raises(tmp_path, "[meta]\ninclude = 'b.toml'\n[well.A1]\n", "cyclic", "meta.include",
                 name="a.toml")
    assert "a.toml -> b.toml -> a.toml" in err.problem
    assert err.file is not None and err.file.endswith("b.toml")


def test_error_in_included_file_names_that_file(tmp_path: Path) -> None:
    write(tmp_path / "base.toml", "[well.A0]\nx = 1\n")
    err = raises(tmp_path, "[meta]\ninclude = 'base.toml'\n", "base.toml", "[well.A0]")
    assert err.file is not None and err.file.endswith("base.toml")


# --------------------------------------------------------------------------- plates and paths
def test_multiple_plates_with_paths_pattern(tmp_path: Path) -> None:
    lay = load(tmp_path, "[meta]\npaths = 'data/plate_{}.csv'\n[plate.B]\nday = 2\n"
                         "[plate.A]\nday = 1\n[block.2x2.A1]\n")
    assert lay.plates == ["B", "A"]
    assert list(lay.table["plate"]) == ["B"] * 4 + ["A"] * 4
    assert lay.paths == {"B": tmp_path / "data" / "plate_B.csv",
                         "A": tmp_path / "data" / "plate_A.csv"}
    assert set(lay.table.loc[lay.table["plate"] == "A", "day"]) == {1}


def test_paths_mapping_and_single_path(tmp_path: Path) -> None:
    lay = load(tmp_path, "[meta.paths]\nP1 = 'x.csv'\n[plate.P1]\n[plate.P2]\n[well.A1]\n")
    assert lay.paths == {"P1": tmp_path / "x.csv", "P2": None}
    lay = load(tmp_path, "[meta]\npath = 'one.csv'\n[well.A1]\n")
    assert lay.paths == {"layout": tmp_path / "one.csv"}
    assert not lay.named


def test_paths_mapping_without_plate_sections_gives_replicate_plates(tmp_path: Path) -> None:
    lay = load(tmp_path, "[meta.paths]\nrep1 = 'r1.csv'\nrep2 = 'r2.csv'\n[well.'A1,A2']\nx = 1\n")
    assert lay.plates == ["rep1", "rep2"]
    assert list(lay.table["plate"]) == ["rep1", "rep1", "rep2", "rep2"]


def test_384_well_layout(tmp_path: Path) -> None:
    lay = load(tmp_path, "[row.P]\nedge = true\n[col.'1,24']\n[well.I13]\nmid = 1\n")
    assert lay.plate_format == 384
    # columns span the occupied rows only (I, from I13, to P); row P spans columns 1-24
    expected = {f"{r}{c}" for r in "IJKLMNO" for c in (1, 24)} | {"I13"}
    assert wells(lay) == expected | {f"P{c}" for c in range(1, 25)}
    assert value(lay, "P24", "edge")
    t = lay.table
    # ordering: row index (A..P), then numeric column
    order = list(zip(t["row"], t["col"], strict=True))
    assert order == sorted(order, key=lambda rc: ("ABCDEFGHIJKLMNOP".index(rc[0]), rc[1]))


def test_1536_rows_beyond_z(tmp_path: Path) -> None:
    lay = load(tmp_path, "[well.AF48]\nx = 1\n")
    assert lay.plate_format == 1536
    assert list(lay.table["row"]) == ["AF"]


def test_extras_and_table_is_copy(tmp_path: Path) -> None:
    lay = load(tmp_path, "name = 'me'\n[well.A1]\nx = 1\n")
    assert lay.extras == {"name": "me"}
    t = lay.table
    t.loc[0, "x"] = 99
    assert value(lay, "A1", "x") == 1


# --------------------------------------------------------------------------- errors
def test_unknown_section(tmp_path: Path) -> None:
    raises(tmp_path, "[rows.A]\nx = 1\n", "layout.toml", "[rows.A]", "unknown section")


def test_unknown_section_inside_plate(tmp_path: Path) -> None:
    raises(tmp_path, "[plate.P.expt]\nx = 1\n", "layout.toml", "[plate.P.expt]")


@pytest.mark.parametrize("bad", ["Z99", "I1"])
def test_well_outside_plate(tmp_path: Path, bad: str) -> None:
    text = f"[meta]\nwells = 96\n[well.{bad}]\nx = 1\n"
    raises(tmp_path, text, "layout.toml", f"[well.{bad}]", f"well {bad}", "96-well")


def test_well_outside_every_plate(tmp_path: Path) -> None:
    raises(tmp_path, "[well.A1]\n[well.Z99]\nx = 1\n", "layout.toml", "[well.Z99]", "Z99",
           "1536")


def test_block_reaching_beyond_plate(tmp_path: Path) -> None:
    raises(tmp_path, "[meta]\nwells = 96\n[block.2x2.H12]\n", "[block.2x2.H12]", "beyond")


@pytest.mark.parametrize("size", ["2xx", "0x2", "2by2"])
def test_malformed_block_size(tmp_path: Path, size: str) -> None:
    raises(tmp_path, f"[block.{size}.A1]\nx = 1\n", "layout.toml", f"[block.{size}.A1]",
           "block size")


@pytest.mark.parametrize("key", ["A0", "1A", "A1B", "?"])
def test_bad_well_names(tmp_path: Path, key: str) -> None:
    raises(tmp_path, f"[well.'{key}']\nx = 1\n", "layout.toml", key, "bad well")


def test_bad_row_and_column(tmp_path: Path) -> None:
    raises(tmp_path, "[row.A1]\n[col.1]\n", "[row.A1]", "bad row")
    raises(tmp_path, "[row.A]\n[col.0]\n", "[col.0]", "bad column")


def test_bad_ellipsis(tmp_path: Path) -> None:
    raises(tmp_path, "[col.'1,3,...,8']\n[row.A]\n", "[col.'1,3,...,8']", "cannot get from")
    raises(tmp_path, "[col.'1,...,8']\n[row.A]\n", "ellipsis")


def test_rows_without_columns(tmp_path: Path) -> None:
    raises(tmp_path, "[row.A]\nx = 1\n", "[row.A]", "no columns")


def test_no_wells(tmp_path: Path) -> None:
    raises(tmp_path, "[expt]\nx = 1\n", "layout.toml", "no wells")


def test_nested_table_and_reserved_name(tmp_path: Path) -> None:
    raises(tmp_path, "[well.A1.drug]\nname = 'x'\n", "[well.A1.drug]", "table")
    raises(tmp_path, "[well.A1]\nwell = 'x'\n", "[well.A1]", "'well'")
    raises(tmp_path, "[well.A1]\nx = [1, 2]\n", "[well.A1]", "list")


def test_invalid_toml(tmp_path: Path) -> None:
    raises(tmp_path, "[well.A1\nx = 1\n", "layout.toml", "invalid TOML")


def test_meta_errors(tmp_path: Path) -> None:
    raises(tmp_path, "[meta]\nfoo = 1\n[well.A1]\n", "meta.foo")
    raises(tmp_path, "[meta]\nwells = 100\n[well.A1]\n", "meta.wells")
    raises(tmp_path, "[meta]\npath = 'x.csv'\n[plate.P]\n[well.A1]\n", "meta.path", "meta.paths")
    raises(tmp_path, "[meta.paths]\nQ = 'x.csv'\n[plate.P]\n[well.A1]\n", "meta.paths.Q", "'Q'")
    raises(tmp_path, "[meta]\npaths = 'x.csv'\n[plate.P]\n[well.A1]\n", "{}")
    raises(tmp_path, "[meta]\npaths = 'x_{}.csv'\n[well.A1]\n", "meta.paths")


def test_read_layout_dispatch(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="unknown layout format"):
        read_layout(write(tmp_path / "layout.json", "{}"))
    with pytest.raises(InputError, match="not found"):
        read_layout(tmp_path / "missing.toml")
