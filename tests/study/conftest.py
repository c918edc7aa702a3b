"""Fixtures of the study-layer tests: the toy kind, registered only while a test needs it."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from toy_kind import ToyKind

from preclin.study.kinds import register_kind, registered_kinds, unregister_kind


@pytest.fixture
def toy_kind() -> Iterator[ToyKind]:
    """The toy kind, registered for the duration of the test."""
    kind = ToyKind()
    register_kind(kind)
    try:
        yield kind
    finally:
        if "toy" in registered_kinds():
            unregister_kind("toy")
