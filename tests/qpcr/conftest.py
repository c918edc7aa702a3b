"""Fixtures for the qPCR reference data (skipped with a reason when ../shared is absent)."""

from __future__ import annotations

from pathlib import Path

import pytest


@pytest.fixture(scope="module")
def qpcr_ref(reference_dir: Path) -> Path:
    return reference_dir / "qpcr"
