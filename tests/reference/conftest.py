"""Fixtures for the drc reference data (skipped with a reason when ../shared is absent)."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest


@pytest.fixture(scope="module")
def drc_dir(reference_dir: Path) -> Path:
    return reference_dir / "doseresponse" / "drc"


@pytest.fixture(scope="module")
def expected(drc_dir: Path) -> dict:
    return json.loads((drc_dir / "expected.json").read_text())


@pytest.fixture(scope="module")
def ryegrass(drc_dir: Path) -> pd.DataFrame:
    return pd.read_csv(drc_dir / "ryegrass.csv")
