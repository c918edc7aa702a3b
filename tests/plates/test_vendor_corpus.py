"""Every real vendor export of ../shared/reference/plates/vendor reads to its expected values.

``expected.json`` gives per file the number of plates, the reads, the declared plate format and
well values copied from the file (numbers, ``null`` for an empty well, text as written for a
non-numeric entry). ``SPEC`` below says which plate / read / time point of our long table each
set of values comes from (``wells_source`` in expected.json, in words) and the read names the
reader gives. Skipped, with the reason, when ../shared is absent.
"""

from __future__ import annotations

import json
import math
import shutil
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

from preclin.errors import InputError
from preclin.plates import readers
from preclin.plates._wells import PLATE_FORMATS

Sel = dict[str, Any]  # plate / read / cycle selecting one plate-shaped slice


def _s(read: str, plate: str | None = None, cycle: int | None = None) -> Sel:
    return {"read": read, "plate": plate, "cycle": cycle}


# file -> reader name, read names (in file order), {expected.json key: selection}
SPEC: dict[str, dict[str, Any]] = {
    "tecan_icontrol_infinite200pro_abs600_endpoint.xlsx": {
        "reader": "tecan", "reads": ["Label1"], "checks": {"wells": _s("Label1")}},
    "tecan_icontrol_infinite200pro_fluor_multilabel_partialplate.txt": {
        "reader": "tecan",
        "reads": ["4-MUF-butyrate", "4-MUF-alpha-D-glucopyranoside", "4-MUF-PO4", "AMC-leucine"],
        "checks": {}},  # wells come from several labels: checked in the test below
    "tecan_icontrol_csv_kinetic_abs595_lum.csv": {
        "reader": "tecan", "reads": ["OD600:600", "LUMI:Lum"],
        "checks": {"wells": _s("OD600:600", cycle=1), "LUMI:Lum_cycle1": _s("LUMI:Lum", cycle=1)}},
    "tecan_icontrol_infinite200pro_endpoint_plus_kinetic.xlsx": {
        "reader": "tecan", "reads": ["Abs600_Copy1", "Abs600"],
        "checks": {"wells": _s("Abs600_Copy1"), "Abs600_kinetic_cycle1": _s("Abs600", cycle=1)}},
    "tecan_sparkcontrol_kinetic_abs420_partialplate.xlsx": {
        "reader": "tecan", "reads": ["Label 1"], "checks": {"wells": _s("Label 1", cycle=1)}},
    "tecan_magellan_abs595_welllist.xlsx": {
        "reader": "magellan", "reads": ["Raw data (Absorbance, 595 nm)"],
        "checks": {"wells": _s("Raw data (Absorbance, 595 nm)")}},
    "bmg_mars_pherastar_fi_384.csv": {
        "reader": "bmg", "reads": ["Raw Data (580/620)"],
        "checks": {"wells": _s("Raw Data (580/620)")}},
    "bmg_mars_pherastar_abs_384_partialplate.csv": {
        "reader": "bmg", "reads": ["Raw Data (484)"], "checks": {"wells": _s("Raw Data (484)")}},
    "bmg_smartcontrol_fi_96_sections.xlsx": {
        "reader": "bmg",
        "reads": ["4. Raw Data (480-14/520-30)",
                  "5. Blank corrected based on Raw Data (480-14/520-30)"],
        "checks": {"wells": _s("4. Raw Data (480-14/520-30)"),
                   "blank_corrected": _s("5. Blank corrected based on Raw Data (480-14/520-30)")}},
    "moldev_softmaxpro_abs450_plateformat_groups.txt": {
        "reader": "softmax", "reads": ["Endpoint Absorbance 450 nm (PlateFormat)"],
        "checks": {"wells": _s("Endpoint Absorbance 450 nm (PlateFormat)")}},
    "moldev_softmaxpro_spectramax190_kinetic_timeformat.txt": {
        "reader": "softmax", "reads": ["Kinetic Absorbance 500 nm (TimeFormat)"],
        "checks": {"wells": _s("Kinetic Absorbance 500 nm (TimeFormat)", cycle=1)}},
    "moldev_softmaxpro_lum_timeformat_2plates.txt": {
        "reader": "softmax", "reads": ["Endpoint Luminescence (TimeFormat)"],
        "checks": {"wells": _s("Endpoint Luminescence (TimeFormat)", plate="c12345_2"),
                   "plate2_c123455_3": _s("Endpoint Luminescence (TimeFormat)",
                                          plate="c123455_3")}},
    "perkinelmer_envision_abs562_384_barematrix.csv": {
        "reader": "envision",
        "reads": ["BCA Absorbance @ 562(1)", "Calc 1: Crosstalk", "Screen 384 OptiPlate(1)"],
        "checks": {"wells": _s("BCA Absorbance @ 562(1)", plate="1"),
                   "plate2_Screen384OptiPlate": _s("Screen 384 OptiPlate(1)", plate="2"),
                   "plate2_crosstalk_calc": _s("Calc 1: Crosstalk", plate="2")}},
    "perkinelmer_envision_htrf_96_calculated.csv": {
        "reader": "envision",
        "reads": ["Calc 1: HTRF ratio value for AC HTRF Laser [Eu]",
                  "AC HTRF Laser [Eu](1) - channel 1 window 1 (Counts)",
                  "AC HTRF Laser [Eu](1) - channel 2 window 1 (Counts)"],
        "checks": {"wells": _s("Calc 1: HTRF ratio value for AC HTRF Laser [Eu]"),
                   "channel1": _s("AC HTRF Laser [Eu](1) - channel 1 window 1 (Counts)"),
                   "channel2": _s("AC HTRF Laser [Eu](1) - channel 2 window 1 (Counts)")}},
    "revvity_kaleido_ensight_lum_96.csv": {
        "reader": "kaleido", "reads": ["Luminescence 1"],
        "checks": {"wells": _s("Luminescence 1")}},
    "perkinelmer_victorx3_abs600_gfp_kinetic_list.txt": {
        "reader": "victorx3", "reads": ["Absorbance @ 600 (A)", "GFP (Counts)"],
        "checks": {"wells": _s("Absorbance @ 600 (A)", cycle=1),
                   "GFP_repeat1": _s("GFP (Counts)", cycle=1)}},
    "perkinelmer_victornivo_abs600_kinetic.csv": {
        "reader": "victornivo", "reads": ["ABS (F) - Kinetics"],
        "checks": {"wells": _s("ABS (F) - Kinetics", cycle=1),
                   "cycle17": _s("ABS (F) - Kinetics", cycle=17)}},
    "thermo_skanit_varioskanlux_abs450_elisa.xlsx": {
        "reader": "skanit",
        # the four steps of expected.json; Standard Curve and Dilution Factor each hold a
        # second numeric grid (concentrations, dilution factors), read as "step: corner"
        "reads": ["Absorbance 1", "Blank Subtraction 1", "Standard Curve 1",
                  "Standard Curve 1: Conc. [microg/ml]", "Dilution Factor 1",
                  "Dilution Factor 1: Dilution factor"],
        "checks": {"wells": _s("Absorbance 1")}},
    "thermo_multiskansky_abs340_kinetic.xlsx": {
        "reader": "skanit", "reads": ["Raw absorbance 340 nm"],
        "checks": {"wells": _s("Raw absorbance 340 nm", cycle=1),
                   "reading100": _s("Raw absorbance 340 nm", cycle=101)}},
    "biotek_gen5_synergyh1_three_reads.txt": {
        "reader": "gen5", "reads": ["od:600", "fluor:579,616", "fluor:479,520"],
        "checks": {"wells": _s("od:600"), "fluor:579,616": _s("fluor:579,616"),
                   "fluor:479,520": _s("fluor:479,520")}},
    "biotek_gen5_synergyhtx_384_kinetic_lum_od.csv": {
        "reader": "gen5", "reads": ["LUM_1:Lum", "OD600_1:600", "OD600_2:600", "LUM_2:Lum"],
        "checks": {"wells": _s("LUM_1:Lum", cycle=1),
                   "OD600_1:600_first(0:07:07)": _s("OD600_1:600", cycle=1),
                   "OD600_2:600_first(0:04:48)": _s("OD600_2:600", cycle=1),
                   "LUM_2:Lum_first(0:07:07)": _s("LUM_2:Lum", cycle=1)}},
    "biotek_gen5_cytation7_multiread_wellcolumns.xlsx": {
        "reader": "gen5",
        "reads": ["OD600:600", "OD700:700"]
        + [f"GFP {g}:485,530" for g in range(30, 160, 10)]
        + [f"GFP {g} TOP:485,530" for g in range(30, 160, 10)],
        "checks": {"wells": _s("OD600:600"), "GFP 30:485,530": _s("GFP 30:485,530"),
                   "GFP 60:485,530": _s("GFP 60:485,530"),
                   "GFP 150 TOP:485,530": _s("GFP 150 TOP:485,530"),
                   "OD700:700": _s("OD700:700")}},
}
FILES = sorted(SPEC)


@pytest.fixture(scope="module")
def vendor_dir(reference_dir: Path) -> Path:
    d = reference_dir / "plates" / "vendor"
    if not d.is_dir():
        pytest.skip(f"{d} is absent — vendor corpus tests skipped")
    return d


@pytest.fixture(scope="module")
def expected(vendor_dir: Path) -> dict[str, Any]:
    return json.loads((vendor_dir / "expected.json").read_text(encoding="utf-8"))


_CACHE: dict[str, pd.DataFrame] = {}


def _read(vendor_dir: Path, name: str) -> pd.DataFrame:
    if name not in _CACHE:
        _CACHE[name] = readers.guess(vendor_dir / name).read(vendor_dir / name)
    return _CACHE[name]


def _slice(df: pd.DataFrame, sel: Sel) -> pd.DataFrame:
    sub = df[df["read"] == sel["read"]]
    if sel["plate"] is not None:
        sub = sub[sub["plate"] == sel["plate"]]
    if sel["cycle"] is not None:
        sub = sub[sub["cycle"] == sel["cycle"]]
    elif "cycle" in sub.columns:
        assert sub["cycle"].isna().all(), "a kinetic read needs a cycle in SPEC"
    return sub.set_index("well")


def _check_well(sub: pd.DataFrame, well: str, want: Any, what: str) -> None:
    value: float = sub["value"].to_dict()[well]
    flag = sub["flag"].to_dict()[well] if "flag" in sub.columns else pd.NA
    if want is None:
        assert math.isnan(value) and pd.isna(flag), f"{what} {well}: expected empty"
    elif isinstance(want, str):
        assert math.isnan(value) and flag == want, f"{what} {well}: expected {want!r}"
    else:
        assert value == pytest.approx(float(want), rel=1e-12, abs=0), f"{what} {well}"
        assert pd.isna(flag)


def _wells(block: dict[str, Any]) -> dict[str, Any]:
    """The well entries of an expected.json block (others, e.g. temperature, left out)."""
    return {k: v for k, v in block.items() if k[:1].isalpha() and k[1:].isdigit()}


@pytest.mark.parametrize("name", FILES)
def test_vendor_file_reads_to_expected(vendor_dir: Path, expected: dict[str, Any],
                                       name: str) -> None:
    spec, exp = SPEC[name], expected[name]
    assert readers.guess(vendor_dir / name).name == spec["reader"]
    df = _read(vendor_dir, name)
    assert list(df.columns[:6]) == ["plate", "read", "well", "row", "col", "value"]
    assert df["plate"].nunique() == exp["plates"]
    assert list(dict.fromkeys(df["read"])) == spec["reads"]
    n_reads = exp.get("reads_count", len(exp["reads"]))
    if "skanit" not in name:
        assert len(spec["reads"]) == n_reads
    # one row per well of the declared format for every plate, read and time point
    keys = ["plate", "read"] + (["cycle"] if "cycle" in df.columns else [])
    sizes = df.groupby(keys, dropna=False, sort=False).size().unique().tolist()
    assert sizes == [exp["plate_size"]]
    assert exp["plate_size"] in PLATE_FORMATS
    for key, sel in spec["checks"].items():
        block = _wells(exp["wells"] if key == "wells" else exp["extra"][key])
        assert block
        sub = _slice(df, sel)
        assert len(sub) == exp["plate_size"], key
        for well, want in block.items():
            _check_well(sub, well, want, f"{name} [{key}]")


def test_vendor_kinetic_and_metadata_details(vendor_dir: Path, expected: dict[str, Any]) -> None:
    # Tecan CSV: 120 cycles per read, last times as written
    df = _read(vendor_dir, "tecan_icontrol_csv_kinetic_abs595_lum.csv")
    last = df.groupby("read", sort=False)["time_s"].max()
    assert last["OD600:600"] == 35704.1 and last["LUMI:Lum"] == 1523.1
    assert df.groupby("read")["cycle"].max().tolist() == [120, 120]
    assert set(df.loc[df["read"] == "OD600:600", "wavelength_nm"]) == {595.0}
    # i-control xlsx: 633 listed cycles, 632 with values (the empty one noted, not read)
    df = _read(vendor_dir, "tecan_icontrol_infinite200pro_endpoint_plus_kinetic.xlsx")
    kin = df[df["read"] == "Abs600"]
    assert kin["cycle"].max() == 632 and kin["time_s"].max() == 60143.3
    a1 = kin[(kin["well"] == "A1") & (kin["cycle"] == 632)]["value"].item()
    assert a1 == expected["tecan_icontrol_infinite200pro_endpoint_plus_kinetic.xlsx"][
        "extra"]["Abs600_A1_cycle632"]
    assert any("633" in note for note in df.attrs["notes"])
    # Tecan partial plate: each label covers three columns, the rest of the plate is empty
    name = "tecan_icontrol_infinite200pro_fluor_multilabel_partialplate.txt"
    df, exp = _read(vendor_dir, name), expected[name]
    val = df.set_index(["read", "well"])["value"]
    assert val[("4-MUF-butyrate", "A1")] == exp["wells"]["A1"]
    assert val[("4-MUF-butyrate", "H1")] == exp["wells"]["H1"]
    assert val[("AMC-leucine", "A12")] == exp["wells"]["A12"]
    assert val[("AMC-leucine", "H12")] == exp["wells"]["H12"]
    assert val[("4-MUF-alpha-D-glucopyranoside", "A4")] == exp["extra"][
        "A4_4-MUF-alpha-D-glucopyranoside"]
    assert val[("4-MUF-PO4", "H9")] == exp["extra"]["H9_4-MUF-PO4"]
    assert df.groupby("read")["value"].count().tolist() == [24, 24, 24, 24]
    # Spark: 45 wells measured, 61 cycles
    df = _read(vendor_dir, "tecan_sparkcontrol_kinetic_abs420_partialplate.xlsx")
    c1 = df[df["cycle"] == 1]
    assert c1["value"].notna().sum() == 45 and df["cycle"].max() == 61
    assert df[(df["cycle"] == 61) & (df["well"] == "A1")]["value"].item() == 1.0469
    # BMG: non-empty wells
    for name in ("bmg_mars_pherastar_fi_384.csv", "bmg_mars_pherastar_abs_384_partialplate.csv"):
        assert _read(vendor_dir, name)["value"].notna().sum() == \
            expected[name]["extra"]["nonempty_wells"]
    # SoftMax kinetic: 9 time points every 15 s
    df = _read(vendor_dir, "moldev_softmaxpro_spectramax190_kinetic_timeformat.txt")
    assert sorted(df["time_s"].unique().tolist()) == [15.0 * k for k in range(9)]
    # VICTOR X3: 17 repeats, per-well times
    df = _read(vendor_dir, "perkinelmer_victorx3_abs600_gfp_kinetic_list.txt")
    r17 = df[(df["cycle"] == 17) & (df["well"] == "A1")].set_index("read")["value"]
    assert r17["Absorbance @ 600 (A)"] == 0.279 and r17["GFP (Counts)"] == 1554
    assert df["cycle"].max() == 17 and df["unit"].unique().tolist() == ["A", "Counts"]
    # VICTOR Nivo: last time
    df = _read(vendor_dir, "perkinelmer_victornivo_abs600_kinetic.csv")
    assert df["time_s"].max() == 28337.4 and df["cycle"].max() == 17
    # SkanIt: 'NaN' text kept as a flag, derived step read
    df = _read(vendor_dir, "thermo_skanit_varioskanlux_abs450_elisa.xlsx")
    dil = df[df["read"] == "Dilution Factor 1"].set_index("well")
    assert dil.loc["A1", "flag"] == "NaN" and bool(dil["value"].isna()["A1"])
    bs = df[df["read"] == "Blank Subtraction 1"].set_index("well")["value"]
    assert bs["A1"] == 1.655
    assert set(df.loc[df["read"] == "Absorbance 1", "unit"]) == {"Abs"}
    # Gen5 Cytation: OVRFLW kept as a flag
    df = _read(vendor_dir, "biotek_gen5_cytation7_multiread_wellcolumns.xlsx")
    assert (df["flag"] == "OVRFLW").sum() > 0
    assert df.loc[df["flag"].notna(), "value"].isna().all()


@pytest.mark.parametrize("name", FILES)
def test_vendor_file_recognised_by_content(vendor_dir: Path, tmp_path: Path, name: str) -> None:
    wrong = ".csv" if name.endswith(".xlsx") else ".xlsx"
    renamed = tmp_path / (Path(name).stem + "_renamed" + wrong)
    shutil.copyfile(vendor_dir / name, renamed)
    reader = readers.guess(renamed)
    assert reader.name == SPEC[name]["reader"]
    df = reader.read(renamed)
    original = _read(vendor_dir, name)
    assert len(df) == len(original)
    pd.testing.assert_series_equal(df["value"], original["value"])


def test_undecodable_files_give_one_clear_line(tmp_path: Path) -> None:
    binary = tmp_path / "garbage.csv"
    binary.write_bytes(bytes(range(256)) * 8)
    with pytest.raises(InputError) as info:
        readers.guess(binary)
    msg = str(info.value)
    assert "garbage.csv" in msg and "\n" not in msg
    for name in readers.available():
        with pytest.raises(InputError) as info:
            readers.get(name).read(binary)
        msg = str(info.value)
        assert "garbage.csv" in msg and "\n" not in msg and "decode" in msg
    fake = tmp_path / "fake.xlsx"
    fake.write_bytes(b"PK\x03\x04 truncated zip")
    for name in readers.available():
        with pytest.raises(InputError, match=r"fake\.xlsx: cannot open workbook"):
            readers.get(name).read(fake)
