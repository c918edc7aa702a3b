"""Every registered experiment kind — and a toy kind from outside preclin — passes the
conformance check (as scikit-learn's ``parametrize_with_checks``)."""

from __future__ import annotations

from pathlib import Path

import pytest
from toy_kind import ToyKind

from preclin.study.kinds import get_kind, register_kind, registered_kinds, unregister_kind
from preclin.testing import KIND_CHECKS, check_experiment_kind

REGISTERED = list(registered_kinds())


@pytest.mark.parametrize("name", REGISTERED)
def test_registered_kind_conforms(name: str, tmp_path: Path) -> None:
    check_experiment_kind(get_kind(name), directory=tmp_path)


def test_toy_kind_from_outside_conforms(toy_kind: ToyKind, tmp_path: Path) -> None:
    check_experiment_kind(toy_kind, directory=tmp_path)
    page = (tmp_path / "run" / "report.html").read_text(encoding="utf-8")
    assert "Toy means &lt;per group&gt;" in page and "Mean value per group." in page
    assert "toy_means: 1 row(s) without a value" in page


class _UndeclaredTable(ToyKind):
    tables = {"means": "one row per group"}  # 'excluded' is written but not declared


class _NoExample(ToyKind):
    def example(self, directory: Path) -> Path:
        root = Path(directory)
        root.mkdir(parents=True, exist_ok=True)
        (root / "study.toml").write_text('[study]\ntitle = "x"\n\n[[experiment]]\n'
                                         'name = "t"\nkind = "toy"\ndata = "none.csv"\n',
                                         encoding="utf-8")
        return root / "study.toml"


@pytest.mark.parametrize(("cls", "check", "match"), [
    (_UndeclaredTable, "output_is_well_formed", "table 'excluded' is not declared"),
    (_NoExample, "example_runs_through_cli", ".*exited 2: error: .*no file matches"),
])
def test_check_names_what_fails(cls: type[ToyKind], check: str, match: str,
                                tmp_path: Path) -> None:
    assert check in KIND_CHECKS
    kind = cls()
    register_kind(kind)
    try:
        with pytest.raises(AssertionError, match=f"experiment kind 'toy': check '{check}' "
                           f"failed: {match}"):
            check_experiment_kind(kind, directory=tmp_path)
    finally:
        unregister_kind("toy")


def test_unregistered_kind_fails_declaration(tmp_path: Path) -> None:
    with pytest.raises(AssertionError, match="check 'declaration' failed: the kind is not "
                       "the one registered"):
        check_experiment_kind(ToyKind(), directory=tmp_path)
