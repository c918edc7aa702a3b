"""FCS reading: the vendor corpus, FlowIO truth arrays, corrupt files, mutated files."""

from __future__ import annotations

import json
import warnings
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from preclin.errors import InputError
from preclin.flow import FCSWarning, Sample, read_datasets, read_fcs, read_text, write_fcs

CORRUPT = {"fcsparser_corrupted.fcs": "58-byte HEADER",
           "fcsparser_sample_header.fcs": "file has only 3931 bytes"}


def _data_files(flow_ref: Path) -> list[str]:
    exp = json.loads((flow_ref / "vendor" / "expected.json").read_text())["files"]
    return sorted(k for k, v in exp.items() if v["category"] != "documentation")


def test_corpus_has_35_files(flow_ref, vendor_expected):
    files = _data_files(flow_ref)
    assert len(files) == 35
    assert all((flow_ref / "vendor" / f).is_file() for f in files)


def test_every_valid_file_reads_every_data_set(flow_ref, vendor_expected):
    read = 0
    for name, exp in vendor_expected.items():
        if exp["category"] in {"documentation", "intentionally_corrupted"}:
            continue
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            samples = read_datasets(flow_ref / "vendor" / name)
        want = [(d["events_TOT"], d["parameters_PAR"]) for d in exp["data_sets"]]
        assert [s.events.shape for s in samples] == want, name
        for i, s in enumerate(samples):
            assert s.events.dtype == np.float32
            assert s.events.flags.c_contiguous
            assert s.dataset == i and s.file is not None and s.file.name == name
            assert np.isfinite(s.events).all(), name
        if exp["category"] in {"valid_with_quirk", "noncompliant_deliberate"} and \
                ("offset" in exp["quirk"] or "one past" in exp["quirk"]):
            assert any(issubclass(w.category, FCSWarning) for w in caught), name
        read += 1
    assert read == 33


@pytest.mark.parametrize("name", sorted(CORRUPT))
def test_corrupt_files_fail_with_one_line(flow_ref, name):
    path = flow_ref / "vendor" / name
    with pytest.raises(InputError) as info:
        read_fcs(path)
    msg = info.value.message
    assert name in msg and CORRUPT[name] in msg and "\n" not in msg


def test_first_rows_raw_match_fcsparser_values(flow_ref, vendor_expected):
    checked = 0
    for name, exp in vendor_expected.items():
        if "first_rows_raw" not in exp:
            continue
        rows = np.array(exp["first_rows_raw"]["rows"], dtype=float)
        s = read_fcs(flow_ref / "vendor" / name, preprocess=False, dtype=np.float64)
        np.testing.assert_allclose(s.events[: len(rows), : rows.shape[1]], rows,
                                   rtol=1e-6, atol=1e-4, err_msg=name)
        checked += 1
    assert checked >= 8


def test_variable_int_events_exact(flow_ref, vendor_expected):
    exp = vendor_expected["flowio_variable_int_example.fcs"]["events_raw"]
    want = np.array(exp["values_row_major_2x26"], dtype=float).reshape(2, 26)
    for name in ("flowio_variable_int_example.fcs",
                 "flowio_data_start_offset_discrepancy_example.fcs",
                 "flowio_data_stop_offset_discrepancy_example.fcs"):
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            s = read_fcs(flow_ref / "vendor" / name, preprocess=False, dtype=np.float64)
        np.testing.assert_array_equal(s.events, want, err_msg=name)
        assert ("discrepancy" in name) == bool(caught), name


def test_offset_discrepancy_warning_names_both_offsets(flow_ref):
    with pytest.warns(FCSWarning, match="5555.*6081"):
        read_fcs(flow_ref / "vendor" / "flowio_data_start_offset_discrepancy_example.fcs")


def test_bit_masks(flow_ref):
    s = read_fcs(flow_ref / "vendor" / "fcsparser_fcs1_cleaned.lmd", preprocess=False)
    assert (s.events[:3] == 528).all()
    s = read_fcs(flow_ref / "vendor" /
                 "cytoflow_System_II_listmode_with_extra_info_in_bits_D10-D15.LMD",
                 preprocess=False)
    assert s.events.max() < 1024


def test_multi_dataset_lmd(flow_ref):
    path = flow_ref / "vendor" / "cytoflow_Beckman_Coulter_Cytomics_FC500.LMD"
    with pytest.warns(FCSWarning, match="more than one data set"):
        first = read_fcs(path)
    second = read_fcs(path, dataset=1)
    assert first.events.shape == (27072, 4) and second.events.shape == (27072, 8)
    assert second.dataset == 1 and second.version == "FCS3.0"
    assert first.events.max() <= 1e4  # 10-bit values masked, 4 log decades
    with pytest.raises(InputError, match="data set 2 requested"):
        read_fcs(path, dataset=2)
    assert len(read_text(path)) == 2


def test_latin1_text_and_markers(flow_ref):
    s = read_fcs(flow_ref / "vendor" / "fcsparser_Sample_Well_A02.fcs")
    assert "\xaa" in "".join(s.metadata.values())
    d = read_fcs(flow_ref / "vendor" / "fcsparser_facs_diva_test.fcs")
    assert "CD45" in " ".join(d.markers)
    marker = next(m for m in d.markers if "CD45" in m)
    assert d.channels[d.channel_index(marker)] == d.channels[d.markers.index(marker)]


def test_flowio_truth_arrays(flow_ref):
    truth = flow_ref / "flowio_truth"
    for fcs, npy in ((flow_ref / "gatingml" / "data1.fcs", "data1_preprocessed.npy"),
                     (truth / "B01_KC-A-W---91-US.fcs",
                      "B01_KC-A-W---91-US_preprocessed_events.npy")):
        want = np.load(truth / npy, allow_pickle=False)
        got64 = read_fcs(fcs, dtype=np.float64).events
        np.testing.assert_allclose(got64, want, rtol=1e-12, atol=0)
        got32 = read_fcs(fcs).events
        np.testing.assert_allclose(got32, want, rtol=6e-8, atol=0)


def test_round_trip_write_read(tmp_path):
    rng = np.random.default_rng(1)
    ev = rng.normal(1000, 300, size=(500, 3)).astype(np.float32)
    p = write_fcs(tmp_path / "x.fcs", ev, ["FSC-A", "CD33", "Time"],
                  markers=["", "CD33 PE", ""], metadata={"SPILL": "1,CD33,1"})
    s = read_fcs(p, preprocess=False)
    np.testing.assert_array_equal(s.events, ev)
    assert s.channels == ("FSC-A", "CD33", "Time") and s.markers[1] == "CD33 PE"
    assert s.channel_index("cd33 pe") == 1
    with pytest.raises(InputError, match="did you mean"):
        s.channel_index("CD34")
    assert isinstance(s, Sample) and "500 events" in repr(s)


def test_missing_file_is_input_error(tmp_path):
    with pytest.raises(InputError, match="cannot open"):
        read_fcs(tmp_path / "nope.fcs")


# ----------------------------------------------------------------- property: mutations


def _small_fcs(tmp_path_factory) -> bytes:
    rng = np.random.default_rng(0)
    ev = rng.uniform(0, 1000, size=(40, 4)).astype(np.float32)
    p = tmp_path_factory.mktemp("fcs") / "base.fcs"
    write_fcs(p, ev, ["FSC-A", "SSC-A", "FL1-A", "Time"], metadata={"TIMESTEP": "0.01"})
    return p.read_bytes()


@pytest.fixture(scope="module")
def base_fcs(tmp_path_factory) -> bytes:
    return _small_fcs(tmp_path_factory)


_TOKENS = [b"/", b"//", b"$PAR", b"$TOT", b"$P1B", b"$P2R", b"$BYTEORD", b"$DATATYPE",
           b"$NEXTDATA", b"$BEGINDATA", b"0", b"-1", b"99999999999", b"24", b"I", b"D",
           b"A", b"*", b"4,3,2,1", b"3,1", b" ", b"\xff", b"\x00", b"1e400", b"nan"]


@settings(max_examples=300, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_mutated_headers_and_text_raise_only_input_error(tmp_path_factory, base_fcs, data):
    buf = bytearray(base_fcs)
    text_end = int(buf[18:26])
    n_mut = data.draw(st.integers(1, 4))
    cut = len(buf)
    for _ in range(n_mut):
        kind = data.draw(st.sampled_from(["byte", "token", "cut", "header"]))
        if kind == "byte":
            i = data.draw(st.integers(0, text_end))
            buf[i] = data.draw(st.integers(0, 255))
        elif kind == "token":
            i = data.draw(st.integers(58, text_end))
            tok = data.draw(st.sampled_from(_TOKENS))
            buf[i:i + len(tok)] = tok
        elif kind == "cut":  # truncation, applied after the other mutations
            cut = data.draw(st.integers(0, len(buf)))
        else:
            field = data.draw(st.integers(0, 6))
            lo = 10 + 8 * field if field else 0
            val = data.draw(st.sampled_from([b"        ", b"       0", b"99999999",
                                             b"abcdefgh", b"FCS9.9", b"    -100",
                                             b"     100"]))
            buf[lo:lo + len(val)] = val
    path = tmp_path_factory.mktemp("mut") / "m.fcs"
    path.write_bytes(bytes(buf[:cut]))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            read_datasets(path)
            read_text(path)
        except InputError as exc:
            assert "\n" not in exc.message and "m.fcs" in exc.message
