"""Shared fixtures: the location of ../shared/reference (skipped when absent)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def shared_reference() -> Path | None:
    """Path of ``../shared/reference`` beside the project, or ``$PRECLIN_SHARED``."""
    env = os.environ.get("PRECLIN_SHARED")
    candidates = [Path(env) / "reference"] if env else []
    candidates.append(ROOT.parent / "shared" / "reference")
    for c in candidates:
        if c.is_dir():
            return c
    return None


@pytest.fixture(scope="session")
def reference_dir() -> Path:
    """``../shared/reference``; tests using it are skipped when it is absent."""
    ref = shared_reference()
    if ref is None:
        pytest.skip("../shared/reference is absent (clone the project beside shared/ "
                    "or set PRECLIN_SHARED) — reference comparisons skipped")
    return ref
