"""Input that should never get through (issue 10): one test per failure kind, then property
tests that mutate small valid inputs of every command the same way.

Rules under test (``preclin.tables.read_table``): key columns are text as written, an empty
key cell is refused with file and row; one type check refuses booleans, dates, timestamps,
durations, lists and maps in number columns; ``excluded`` is a reserved name; every
rejection is one ``error:`` line naming the file, without NumPy reprs; exit codes are 0 or 2,
never 1.
"""

from __future__ import annotations

import io
import re
import shutil
import warnings
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from preclin.cli import main

NUMPY_REPR = re.compile(r"\bnp\.\w+\(|np\.(True|False)_")
BOM = b"\xef\xbb\xbf"


# ----------------------------------------------------------------------------- helpers
def _run(argv: list[object], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    code = main([str(a) for a in argv])
    out, err = capsys.readouterr()
    return code, out, err


def _error_line(err: str) -> str:
    lines = [ln for ln in err.strip().splitlines() if ln.startswith("error")]
    assert len(lines) == 1, err
    assert "Traceback" not in err and "internal error" not in err, err
    assert not NUMPY_REPR.search(err), err
    return lines[0]


def _curve_rows(ids: list[str], seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    rows = []
    for cid in ids:
        for x in [0.01, 0.1, 1.0, 10.0, 100.0]:
            rows.append({"id": cid, "dose": x, "resp": 5 + 95 / (1 + x) + rng.normal(0, 2)})
    return pd.DataFrame(rows)


def _fit(path: Path, capsys: pytest.CaptureFixture[str], by: str = "id"
         ) -> tuple[int, pd.DataFrame | None, str]:
    code, out, err = _run(["doseresponse", "fit", path, "--dose", "dose", "--response", "resp",
                           "--by", by], capsys)
    table = (pd.read_csv(io.StringIO(out), dtype={by: str}, keep_default_na=False)
             if code == 0 else None)
    return code, table, err


def _block(block: object = "1", drugs: tuple[str, str] = ("A", "B"), reps: int = 1,
           seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    c = [0.0, 0.1, 1.0, 10.0]
    rows = []
    for _ in range(reps):
        for a in c:
            for b in c:
                rows.append({"block": block, "drug1": drugs[0], "drug2": drugs[1],
                             "conc1": a, "conc2": b,
                             "response": 100 / (1 + a) / (1 + b / 2) + rng.normal(0, 3)})
    return pd.DataFrame(rows)


def _score(path: Path, tmp: Path, capsys: pytest.CaptureFixture[str]
           ) -> tuple[int, pd.DataFrame | None, str]:
    out = tmp / "blocks.csv"
    code, _, err = _run(["synergy", "score", path, "--out", out, "--models", "bliss,hsa"],
                        capsys)
    table = (pd.read_csv(out, dtype={"block": str}, keep_default_na=False)
             if code == 0 else None)
    return code, table, err


# ================================================================== 1. silent merges
def test_curve_ids_are_text_as_written(tmp_path: Path,
                                       capsys: pytest.CaptureFixture[str]) -> None:
    ids = ["007", "7.00", "7", "NA", "None", "null", "nan"]
    src = tmp_path / "ids.csv"
    _curve_rows(ids).to_csv(src, index=False)
    code, table, err = _fit(src, capsys)
    assert code == 0, err
    assert table is not None and list(table["id"]) == ids


def test_empty_curve_id_is_refused_with_file_and_row(tmp_path: Path,
                                                      capsys: pytest.CaptureFixture[str]
                                                      ) -> None:
    t = _curve_rows(["A", "B"])
    t.loc[6, "id"] = ""
    src = tmp_path / "blank.csv"
    t.to_csv(src, index=False)
    code, _, err = _fit(src, capsys)
    assert code == 2
    line = _error_line(err)
    assert "blank.csv" in line and "row 8" in line and "'id'" in line


def test_missing_keys_do_not_merge_in_the_library() -> None:
    from preclin import doseresponse as dr

    t = _curve_rows(["NA", "None", "x", "y"]).astype({"id": object})
    t.loc[t["id"] == "x", "id"] = None
    t.loc[t["id"] == "y", "id"] = np.nan  # None and NaN: both missing, one explicit group
    res = dr.fit(t, dose="dose", response="resp", by="id")
    assert list(res.table["id"].iloc[:2]) == ["NA", "None"]
    assert len(res.table) == 3 and pd.isna(res.table["id"].iloc[2])


def test_xlsx_ids_as_excel_shows_them_and_merged_cells(tmp_path: Path,
                                                       capsys: pytest.CaptureFixture[str]
                                                       ) -> None:
    import openpyxl

    wb = openpyxl.Workbook()
    ws = wb.active
    ws.append(["id", "dose", "resp"])
    t = _curve_rows(["a", "b", "c", "d"])
    ids = {"a": 7, "b": 7.0, "c": "007", "d": "merged"}
    for k, r in enumerate(t.itertuples(index=False)):
        ws.append([ids[r.id], r.dose, r.resp])
        if r.id == "b":
            ws.cell(row=k + 2, column=1).number_format = "0.00"
    # curve d: its id written once in a cell merged over its five rows
    first = 2 + 15
    for row in range(first + 1, first + 5):
        ws.cell(row=row, column=1).value = None
    ws.merge_cells(start_row=first, start_column=1, end_row=first + 4, end_column=1)
    src = tmp_path / "ids.xlsx"
    wb.save(src)
    code, table, err = _fit(src, capsys)
    assert code == 0, err
    assert table is not None and list(table["id"]) == ["7", "7.00", "007", "merged"]
    assert list(table["n"]) == [5, 5, 5, 5]


def test_synergy_blocks_1_and_1p0_are_two_blocks(tmp_path: Path,
                                                  capsys: pytest.CaptureFixture[str]) -> None:
    src = tmp_path / "blocks.csv"
    pd.concat([_block("1"), _block("1.0", seed=1)]).to_csv(src, index=False)
    code, table, err = _score(src, tmp_path, capsys)
    assert code == 0, err
    assert table is not None and list(table["block"]) == ["1", "1.0"]


# ================================================================ 2. silent no-data
def test_xlsx_formula_without_cached_value_is_refused(tmp_path: Path,
                                                      capsys: pytest.CaptureFixture[str]
                                                      ) -> None:
    import openpyxl

    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = "data"
    ws.append(["id", "dose", "resp"])
    for k, r in enumerate(_curve_rows(["A"]).itertuples(index=False)):
        ws.append([r.id, r.dose, f"=100-{k}*10"])  # openpyxl saves no computed values
    src = tmp_path / "formulas.xlsx"
    wb.save(src)
    code, _, err = _fit(src, capsys)
    assert code == 2
    line = _error_line(err)
    assert "formulas.xlsx" in line and "sheet 'data'" in line and "C2" in line
    assert "formula" in line


@pytest.mark.parametrize("command", ["doseresponse", "synergy"])
def test_user_column_named_excluded_is_a_conflict(tmp_path: Path,
                                                  capsys: pytest.CaptureFixture[str],
                                                  command: str) -> None:
    src = tmp_path / "excl.csv"
    if command == "doseresponse":
        _curve_rows(["A", "B"]).assign(excluded="n").to_csv(src, index=False)
        code, _, err = _fit(src, capsys)
    else:
        _block().assign(excluded="n").to_csv(src, index=False)
        code, _, err = _score(src, tmp_path, capsys)
    assert code == 2
    line = _error_line(err)
    assert "excl.csv" in line and "'excluded'" in line and "rename" in line


def test_boolean_excluded_column_still_excludes(tmp_path: Path,
                                                capsys: pytest.CaptureFixture[str]) -> None:
    t = _curve_rows(["A"])
    t["excluded"] = [True] + [False] * (len(t) - 1)
    src = tmp_path / "flags.csv"
    t.to_csv(src, index=False)
    code, table, err = _fit(src, capsys)
    assert code == 0, err
    assert table is not None and int(table["n"].iloc[0]) == len(t) - 1


# =============================================================== 3. accepted nonsense
_NONSENSE: dict[str, Callable[[pd.Series], pd.Series]] = {
    "boolean": lambda s: s > s.median(),
    "date": lambda s: pd.Timestamp("2020-01-01") + pd.to_timedelta(s, unit="D"),
    "timestamp": lambda s: pd.Timestamp("2020-01-01 10:00", tz="UTC")
    + pd.to_timedelta(s, unit="s"),
    "duration": lambda s: pd.to_timedelta(s, unit="s"),
}


@pytest.mark.parametrize("kind", list(_NONSENSE))
@pytest.mark.parametrize("fmt", [".parquet", ".xlsx"])
@pytest.mark.parametrize("command", ["doseresponse", "synergy"])
def test_dose_or_response_of_wrong_type_is_refused(tmp_path: Path,
                                                   capsys: pytest.CaptureFixture[str],
                                                   kind: str, fmt: str, command: str) -> None:
    if fmt == ".xlsx" and kind == "timestamp":
        pytest.skip("Excel has no time zones")
    col = "dose" if command == "doseresponse" else "conc1"
    t = _curve_rows(["A", "B"]) if command == "doseresponse" else _block()
    t[col] = _NONSENSE[kind](t[col])
    src = tmp_path / f"typed{fmt}"
    if fmt == ".parquet":
        t.to_parquet(src)
    else:
        _to_xlsx(t, src)
    code, _, err = (_fit(src, capsys) if command == "doseresponse"
                    else _score(src, tmp_path, capsys))
    assert code == 2, err
    line = _error_line(err)
    assert f"typed{fmt}" in line and f"'{col}'" in line
    assert any(w in line for w in ("boolean", "date", "duration", "timestamp")), line


def _to_xlsx(t: pd.DataFrame, path: Path) -> None:
    """As Excel stores it: durations as durations (pandas writes them as plain numbers)."""
    import openpyxl

    wb = openpyxl.Workbook()
    ws = wb.active
    ws.append(list(t.columns))
    for row in t.itertuples(index=False):
        ws.append([v.to_pytimedelta() if isinstance(v, pd.Timedelta) else
                   v.to_pydatetime() if isinstance(v, pd.Timestamp) else
                   v.item() if isinstance(v, np.generic) else v for v in row])
    wb.save(path)


# ===================================================================== 4. exit 1 → 2
def _parquet(columns: dict[str, pa.Array], path: Path) -> Path:
    pq.write_table(pa.table(list(columns.values()), names=[k.split("#")[0] for k in columns]),
                   path)
    return path


@pytest.mark.parametrize("case", ["duplicate", "list_key", "map_key", "list_dose"])
@pytest.mark.parametrize("command", ["doseresponse", "synergy"])
def test_parquet_structure_errors_are_input_errors(tmp_path: Path,
                                                   capsys: pytest.CaptureFixture[str],
                                                   case: str, command: str) -> None:
    t = _curve_rows(["A", "B"]) if command == "doseresponse" else _block()
    key, dose = ("id", "dose") if command == "doseresponse" else ("block", "conc1")
    cols = {c: pa.array(t[c]) for c in t.columns}
    n = len(t)
    if case == "duplicate":
        cols[f"{dose}#2"] = pa.array(t[dose])
    elif case == "list_key":
        cols[key] = pa.array([[1, 2]] * n)
    elif case == "map_key":
        cols[key] = pa.array([[("a", 1)]] * n, type=pa.map_(pa.string(), pa.int64()))
    else:
        cols[dose] = pa.array([[1.0]] * n)
    src = _parquet(cols, tmp_path / f"{case}.parquet")
    code, _, err = (_fit(src, capsys) if command == "doseresponse"
                    else _score(src, tmp_path, capsys))
    assert code == 2, err
    line = _error_line(err)
    assert f"{case}.parquet" in line
    word = {"duplicate": "two columns", "list_key": "list", "map_key": "map",
            "list_dose": "list"}[case]
    assert word in line, line


# ========================================================================= 5. too slow
def test_replicate_heavy_synergy_is_fast(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                         monkeypatch: pytest.MonkeyPatch) -> None:
    """One 4×4 block with 1,000 replicates per cell: fits do not grow with replicates."""
    from preclin.synergy import _drc

    calls = {"n": 0}
    real = _drc.fit_dose_response

    def counted(*args: object, **kwargs: object) -> object:
        calls["n"] += 1
        return real(*args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(_drc, "fit_dose_response", counted)
    src = tmp_path / "heavy.csv"
    _block(reps=1000).to_csv(src, index=False)
    out = tmp_path / "o.csv"
    code, _, err = _run(["synergy", "score", src, "--out", out], capsys)
    assert code == 0, err
    # 8 fits per grid (2 single agents + 6 ZIP slices): the mean grid + at most 16 batches
    assert calls["n"] <= 8 * 17  # the cost bound, without a timed assertion
    res = pd.read_csv(out)
    assert int(res["n_replicates"].iloc[0]) == 1000
    assert np.isfinite(res[["bliss_p", "zip_p"]].to_numpy()).all()
    assert "pooled into 16 batches" in res["notes"].iloc[0]


def test_replicate_grids_unchanged_below_the_batch_limit() -> None:
    from preclin.synergy import read_combinations
    from preclin.synergy.score import _batches

    t = _block(reps=3)
    comb = read_combinations(t)
    reps = comb.replicate_blocks["1"]
    assert len(reps) == 3 and _batches(reps) is reps
    for k, b in enumerate(reps):
        sub = t.iloc[16 * k:16 * (k + 1)]
        np.testing.assert_allclose(np.sort(b.inhibition.ravel()),
                                   np.sort(100 - sub["response"].to_numpy()))
        assert sorted(b.order.ravel()) == list(range(16))


# ========================================================================= 6. messages
def _mini_study(root: Path) -> Path:
    from preclin.data.example import write_example_study

    write_example_study(root / "full")
    (root / "layouts").mkdir(parents=True, exist_ok=True)
    shutil.copytree(root / "full" / "plates", root / "plates")
    shutil.copy(root / "full" / "layouts" / "aml.toml", root / "layouts" / "aml.toml")
    shutil.rmtree(root / "full")
    study = root / "study.toml"
    study.write_text('''[study]
title = "boundary"

[[experiment]]
name = "aml_chemo"
layout = "layouts/aml.toml"
plate_map_factors = ["drug"]

[experiment.normalise]
blank = "blank"
vehicle = "vehicle"

[experiment.fit]
dose = "conc_nM"
by = ["cell_line", "drug"]
''', encoding="utf-8")
    return study


@pytest.fixture(scope="module")
def mini_study(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return _mini_study(tmp_path_factory.mktemp("mini"))


def _copy_study(src: Path, dst: Path) -> Path:
    if dst.exists():
        shutil.rmtree(dst)
    shutil.copytree(src.parent, dst, ignore=shutil.ignore_patterns("results*"))
    return dst / src.name


@pytest.mark.parametrize("value,expect", [('"abc"', "'abc'"), ("true", "'true'"),
                                          ("2020-01-01", "2020-01-01"),
                                          ("-5", "negative")])
def test_bad_layout_cell_under_run_names_the_layout(tmp_path: Path, mini_study: Path,
                                                    capsys: pytest.CaptureFixture[str],
                                                    value: str, expect: str) -> None:
    study = _copy_study(mini_study, tmp_path / "s")
    lay = study.parent / "layouts" / "aml.toml"
    lay.write_text(lay.read_text().replace("conc_nM = 10000", f"conc_nM = {value}", 1))
    code, _, err = _run(["run", study, "--out", tmp_path / "out"], capsys)
    assert code == 2, err
    line = _error_line(err)
    assert "aml.toml" in line and "well A2" in line and expect in line, line


def test_mixed_kinds_in_a_layout_factor_are_text(tmp_path: Path, mini_study: Path,
                                                 capsys: pytest.CaptureFixture[str]) -> None:
    study = _copy_study(mini_study, tmp_path / "s")
    lay = study.parent / "layouts" / "aml.toml"
    lay.write_text(lay.read_text().replace('cell_line = "HL-60"', "cell_line = 7"))
    code, _, err = _run(["run", study, "--out", tmp_path / "out"], capsys)
    assert code == 0, err
    curves = pd.read_csv(tmp_path / "out" / "tables" / "aml_chemo_curves.csv",
                         dtype={"cell_line": str})
    assert set(curves["cell_line"]) == {"7", "MOLM-13"}


def test_toml_with_byte_order_mark_is_read(tmp_path: Path, mini_study: Path,
                                           capsys: pytest.CaptureFixture[str]) -> None:
    study = _copy_study(mini_study, tmp_path / "s")
    for f in (study, study.parent / "layouts" / "aml.toml"):
        f.write_bytes(BOM + f.read_bytes())
    code, _, err = _run(["run", study, "--out", tmp_path / "out"], capsys)
    assert code == 0, err
    code, _, err = _run(["plates", "map", study.parent / "layouts" / "aml.toml",
                         "--out", tmp_path / "map.svg", "--factor", "drug"], capsys)
    assert code == 0, err


def test_no_numpy_repr_in_messages(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    t = _curve_rows(["A"])
    t.loc[3, "dose"] = -1.5
    src = tmp_path / "neg.csv"
    t.to_csv(src, index=False)
    code, _, err = _fit(src, capsys)
    assert code == 2
    assert "must not be negative but has -1.5" in _error_line(err)
    b = _block(block=1.5)
    b.loc[4, "conc2"] = -2.0
    b.to_parquet(tmp_path / "neg.parquet")
    code, _, err = _score(tmp_path / "neg.parquet", tmp_path, capsys)
    assert code == 2
    assert "block 1.5" in _error_line(err)


def test_numpy_and_glyph_warnings_stay_off_stderr(tmp_path: Path, mini_study: Path,
                                                  capsys: pytest.CaptureFixture[str]) -> None:
    study = _copy_study(mini_study, tmp_path / "s")
    lay = study.parent / "layouts" / "aml.toml"
    text = lay.read_text().replace("conc_nM = 10000", "conc_nM = 1e308", 1)
    lay.write_text(text.replace('drug = "cytarabine"', 'drug = "阿糖胞苷"'))
    with warnings.catch_warnings(record=True) as seen:
        warnings.simplefilter("always")
        code, _, err = _run(["run", study, "--out", tmp_path / "out"], capsys)
        code2, _, err2 = _run(["plates", "map", lay, "--out", tmp_path / "m.svg",
                               "--factor", "drug"], capsys)
    assert code == 0 and code2 == 0, err + err2
    foreign = [str(w.message) for w in seen
               if issubclass(w.category, RuntimeWarning) or "Glyph" in str(w.message)]
    assert foreign == []
    assert "Warning" not in err + err2


# ============================================================ property tests (hypothesis)
MUTATIONS = ["none", "dup_column", "rename_column", "bool", "date", "timedelta", "list",
             "blank_cell", "leading_zero_ids", "na_ids", "bom", "truncate", "random_bytes",
             "excluded_text"]
_PROPS = settings(max_examples=30, deadline=None, derandomize=True,
                  suppress_health_check=[HealthCheck.function_scoped_fixture,
                                         HealthCheck.too_slow])


def _mutate_table(t: pd.DataFrame, key: str, number: str, mutation: str, data: st.DataObject,
                  path: Path) -> tuple[Path, list[str] | None]:
    """Write ``t`` mutated; return the file and the key groups expected on success (None:
    not predictable)."""
    t = t.copy()
    n = len(t)
    row = data.draw(st.integers(0, n - 1), label="row")
    col = data.draw(st.sampled_from([key, number]), label="column")
    fmt = data.draw(st.sampled_from([".csv", ".parquet"]), label="format")
    path = path.with_suffix(fmt)
    if mutation == "rename_column":
        t = t.rename(columns={col: col + "_x"})
    elif mutation in ("bool", "date", "timedelta", "list"):
        fmt = ".parquet"
        path = path.with_suffix(fmt)
        s = pd.to_numeric(t[col], errors="coerce").fillna(1.0)
        t[col] = {"bool": lambda: s > s.median(),
                  "date": lambda: pd.Timestamp("2021-03-04") + pd.to_timedelta(s, unit="D"),
                  "timedelta": lambda: pd.to_timedelta(s, unit="h"),
                  "list": lambda: pd.Series([[v] for v in s], index=t.index)}[mutation]()
    elif mutation == "blank_cell":
        t[col] = t[col].astype(object)
        t.loc[row, col] = None
    elif mutation in ("leading_zero_ids", "na_ids"):
        labels = (["007", "7", "7.00", "0007"] if mutation == "leading_zero_ids"
                  else ["NA", "null", "None", "N/A"])
        old = list(dict.fromkeys(t[key]))
        t[key] = t[key].map({o: labels[k % len(labels)] + ("" if k < len(labels) else
                                                            f"_{k}") for k, o in
                             enumerate(old)})
    elif mutation == "excluded_text":
        t["excluded"] = data.draw(st.sampled_from(["n", "yes", "x", "0", "True"]))
    if fmt == ".csv":
        t.to_csv(path, index=False)
    else:
        t.to_parquet(path)
    if mutation == "dup_column":
        if fmt == ".csv":
            head, rest = path.read_text().split("\n", 1)
            path.write_text(head + f",{col}\n" + "\n".join(
                ln + ",1" for ln in rest.splitlines()) + "\n")
        else:
            tab = pq.read_table(path)
            pq.write_table(tab.append_column(col, tab.column(col)), path)
    raw = path.read_bytes()
    if mutation == "bom":
        path.write_bytes(BOM + raw)
    elif mutation == "truncate":
        path.write_bytes(raw[:data.draw(st.integers(0, len(raw) - 1), label="cut")])
    elif mutation == "random_bytes":
        path.write_bytes(data.draw(st.binary(min_size=0, max_size=300), label="bytes"))
    expect = None
    if mutation in ("none", "leading_zero_ids", "na_ids", "bom") or (
            mutation == "excluded_text"):
        expect = [str(v) for v in dict.fromkeys(t[key])]
    return path, expect


def _check(code: int, err: str, name: str) -> None:
    assert code in (0, 2), err
    assert not NUMPY_REPR.search(err), err
    if code == 2:
        line = _error_line(err)
        assert name in line, line


@_PROPS
@given(mutation=st.sampled_from(MUTATIONS), data=st.data())
def test_property_doseresponse_fit(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                   mutation: str, data: st.DataObject) -> None:
    t = _curve_rows(["A", "B", "C"])
    path, expect = _mutate_table(t, "id", "dose", mutation, data, tmp_path / "curves")
    code, table, err = _fit(path, capsys)
    _check(code, err, path.name)
    if code == 0 and expect is not None:
        assert table is not None and list(table["id"]) == expect


@_PROPS
@given(mutation=st.sampled_from(MUTATIONS), data=st.data())
def test_property_synergy_score(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                mutation: str, data: st.DataObject) -> None:
    t = pd.concat([_block("1"), _block("2", seed=1)], ignore_index=True)
    path, expect = _mutate_table(t, "block", "conc1", mutation, data, tmp_path / "combo")
    code, table, err = _score(path, tmp_path, capsys)
    _check(code, err, path.name)
    if code == 0 and expect is not None:
        assert table is not None and list(table["block"]) == expect


_LAYOUT = '''[expt]
control = "sample"

[col.1]
control = "blank"
conc = 0.0

[col.2]
conc = 10

[col.3]
conc = 1

[col.4]
control = "vehicle"
conc = 0.0

[row.'A-B']
cell_line = "L1"

[row.'C-D']
cell_line = "L2"
'''

_TOML_MUTATIONS = ["none", "bom", "truncate", "random_bytes", "value"]
_TOML_VALUES = ['"abc"', "true", "2020-01-01", "[1, 2]", "-5", "nan", "inf", "1e308", "7",
                '"007"', "{a = 1}", '""']


def _mutate_toml(text: str, mutation: str, data: st.DataObject, path: Path,
                 anchors: list[str]) -> Path:
    raw = text.encode()
    if mutation == "value":
        anchor = data.draw(st.sampled_from(anchors), label="anchor")
        key = anchor.split(" = ")[0]
        value = data.draw(st.sampled_from(_TOML_VALUES), label="value")
        raw = text.replace(anchor, f"{key} = {value}", 1).encode()
    elif mutation == "bom":
        raw = BOM + raw
    elif mutation == "truncate":
        raw = raw[:data.draw(st.integers(0, len(raw) - 1), label="cut")]
    elif mutation == "random_bytes":
        raw = data.draw(st.binary(min_size=0, max_size=300), label="bytes")
    path.write_bytes(raw)
    return path


@_PROPS
@given(mutation=st.sampled_from(_TOML_MUTATIONS), data=st.data())
def test_property_plates_map(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                             mutation: str, data: st.DataObject) -> None:
    lay = _mutate_toml(_LAYOUT, mutation, data, tmp_path / "layout.toml",
                       ["conc = 10", 'cell_line = "L1"', 'control = "blank"'])
    factor = data.draw(st.sampled_from(["conc", "cell_line", "control"]), label="factor")
    code, _, err = _run(["plates", "map", lay, "--out", tmp_path / "map.svg", "--factor",
                         factor], capsys)
    _check(code, err, lay.name)


@settings(max_examples=12, deadline=None, derandomize=True,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(target=st.sampled_from(["study", "layout"]), mutation=st.sampled_from(_TOML_MUTATIONS),
       data=st.data())
def test_property_run(tmp_path: Path, mini_study: Path, capsys: pytest.CaptureFixture[str],
                      target: str, mutation: str, data: st.DataObject) -> None:
    study = _copy_study(mini_study, tmp_path / "s")
    if target == "study":
        f = study
        anchors = ['dose = "conc_nM"', 'blank = "blank"', 'name = "aml_chemo"']
    else:
        f = study.parent / "layouts" / "aml.toml"
        anchors = ["conc_nM = 10000", 'cell_line = "HL-60"', 'drug = "cytarabine"']
    _mutate_toml(f.read_text(encoding="utf-8"), mutation, data, f, anchors)
    code, _, err = _run(["run", study, "--out", tmp_path / "out"], capsys)
    _check(code, err, "")
    if code == 2:
        line = _error_line(err)
        assert f.name in line or study.name in line, line
    elif code == 0 and target == "layout" and mutation in ("none", "bom"):
        curves = pd.read_csv(tmp_path / "out" / "tables" / "aml_chemo_curves.csv")
        assert set(curves["cell_line"]) == {"HL-60", "MOLM-13"}


def test_all_columns_are_keys(tmp_path: Path) -> None:
    """``keys=ALL_COLUMNS`` reads every column as text as written, in one pass."""
    from preclin.errors import InputError
    from preclin.tables import ALL_COLUMNS, read_table

    p = tmp_path / "samples.csv"
    p.write_text("file,donor,dose\na.fcs,007,1.50\nb.fcs,NA,2\n")
    df = read_table(p, keys=ALL_COLUMNS)
    assert df["donor"].tolist() == ["007", "NA"]
    assert df["dose"].tolist() == ["1.50", "2"]
    p.write_text("file,donor\na.fcs,\n")
    with pytest.raises(InputError, match="donor"):
        read_table(p, keys=ALL_COLUMNS)
