"""Reference values made once with R (tests/data/stats_reference, see its README)."""

from __future__ import annotations

import math
from collections.abc import Callable
from pathlib import Path

import pandas as pd
import pytest

REF_DIR = Path(__file__).resolve().parents[1] / "data" / "stats_reference"


def _load_reference() -> dict[tuple[str, str], float]:
    table = pd.read_csv(REF_DIR / "reference.csv", dtype=str, keep_default_na=False)
    return {(c, q): (math.nan if v == "NA" else float(v))
            for c, q, v in zip(table["case"], table["quantity"], table["value"], strict=True)}


_REF = _load_reference()


@pytest.fixture(scope="session")
def ref() -> Callable[[str, str], float]:
    """``ref(case, quantity)``: the stored R value (NaN for R's NA)."""

    def get(case: str, quantity: str) -> float:
        return _REF[(case, quantity)]

    return get


@pytest.fixture(scope="session")
def ref_data() -> Callable[[str], pd.DataFrame]:
    """``ref_data(name)``: a worked-example input table written by make_reference.R."""

    def get(name: str) -> pd.DataFrame:
        return pd.read_csv(REF_DIR / f"{name}.csv")

    return get
