"""Fixtures of the expression tests: the reference folder (skipped with a reason when
../shared is absent)."""

from __future__ import annotations

from pathlib import Path

import pytest


@pytest.fixture(scope="session")
def expr_ref(reference_dir: Path) -> Path:
    d = reference_dir / "expression"
    if not d.is_dir():
        pytest.skip(f"{d} is absent — expression reference comparisons skipped")
    return d
