"""Fixtures for the flow reference data (skipped with a reason when ../shared is absent)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest


@pytest.fixture(scope="session")
def flow_ref(reference_dir: Path) -> Path:
    path = reference_dir / "flow"
    if not path.is_dir():
        pytest.skip("../shared/reference/flow is absent — flow reference comparisons skipped")
    return path


@pytest.fixture(scope="session")
def vendor_expected(flow_ref: Path) -> dict:
    return json.loads((flow_ref / "vendor" / "expected.json").read_text())["files"]
