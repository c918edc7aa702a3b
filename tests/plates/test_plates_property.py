"""Property tests: layouts and grids written to files read back to the same table."""

from __future__ import annotations

import math
import tempfile
from pathlib import Path
from typing import Any

import numpy as np
import tomli_w
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from plates_helpers import write_grid

from preclin.plates import read_layout
from preclin.plates._wells import PLATE_FORMATS, row_label
from preclin.plates.readers.grid import GridReader

FACTOR_NAMES = st.text("abcdefghijklmnopqrstuvwxyz_", min_size=1, max_size=8).filter(
    lambda s: s not in {"plate", "well", "row", "col", "signal", "in_layout"})
VALUES = {
    "text": st.text(st.characters(codec="utf-8", exclude_categories=("Cs", "Cc")), max_size=12),
    "int": st.integers(-10**6, 10**6),
    "float": st.floats(allow_nan=False, allow_infinity=False, width=64),
    "bool": st.booleans(),
}


@st.composite
def layouts(draw: st.DrawFn) -> tuple[int, dict[tuple[int, int], dict[str, Any]]]:
    n_wells = draw(st.sampled_from([24, 96, 384]))
    n_rows, n_cols = PLATE_FORMATS[n_wells]
    cells = draw(st.sets(st.tuples(st.integers(0, n_rows - 1), st.integers(0, n_cols - 1)),
                         min_size=1, max_size=40))
    names = draw(st.lists(FACTOR_NAMES, min_size=0, max_size=3, unique=True))
    kinds = {n: draw(st.sampled_from(sorted(VALUES))) for n in names}
    wells: dict[tuple[int, int], dict[str, Any]] = {}
    for cell in sorted(cells):
        present = draw(st.lists(st.sampled_from(names), unique=True)) if names else []
        wells[cell] = {n: draw(VALUES[kinds[n]]) for n in present}
    return n_wells, wells


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(layouts())
def test_toml_layout_round_trip(spec: tuple[int, dict[tuple[int, int], dict[str, Any]]]) -> None:
    n_wells, wells = spec
    doc = {"meta": {"wells": n_wells},
           "well": {f"{row_label(i)}{j + 1}": params for (i, j), params in wells.items()}}
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "layout.toml"
        path.write_bytes(tomli_w.dumps(doc).encode())
        lay = read_layout(path)
    table = lay.table
    assert lay.plate_format == n_wells
    expected_order = [f"{row_label(i)}{j + 1}" for i, j in sorted(wells)]
    assert table["well"].tolist() == expected_order
    for rec, (i, j) in zip(table.to_dict("records"), sorted(wells), strict=True):
        assert rec["row"] == row_label(i) and rec["col"] == j + 1
        got = {k: v for k, v in rec.items()
               if k in lay.factors and not (v is None or (isinstance(v, float) and math.isnan(v)))}
        assert got == wells[(i, j)]
        for k, v in got.items():  # booleans must not turn into numbers
            assert isinstance(v, bool) == isinstance(wells[(i, j)][k], bool)


@settings(max_examples=25, deadline=None)
@given(st.sampled_from([(8, 12), (16, 24), (4, 6)]), st.integers(0, 2**32 - 1),
       st.floats(0.0, 0.5))
def test_grid_round_trip(shape: tuple[int, int], seed: int, missing: float) -> None:
    rng = np.random.default_rng(seed)
    values = np.round(rng.normal(0, 1e3, shape), 4)
    values[rng.uniform(size=shape) < missing] = np.nan
    values[0, 0] = 1.0  # at least one number
    with tempfile.TemporaryDirectory() as tmp:
        df = GridReader().read(write_grid(Path(tmp) / "g.csv", values))
    np.testing.assert_array_equal(df["value"].to_numpy().reshape(shape), values)
