"""Every registered plate reader passes :func:`preclin.testing.check_reader` on a sample of
its format: the documented columns, and only ``InputError`` on garbage.

The sample of a reader is ``SAMPLES[name]`` or the first ``data/<name>*`` file here, else the
first export of ``../shared/reference/plates/vendor`` that :func:`readers.guess` routes to it
(those readers are skipped, with the reason, when ../shared is absent).
"""

from __future__ import annotations

from pathlib import Path

import pytest

from preclin.errors import InputError
from preclin.plates import readers
from preclin.testing import READER_CHECKS, check_reader

DATA = Path(__file__).parent / "data"
#: sample file per reader (a clean one: gen5_results_450.txt holds OVRFLW on purpose)
SAMPLES = {"gen5": "gen5_sections.txt", "grid": "grid_two_plates.csv"}


def _routed_to(name: str, files: list[Path]) -> Path | None:
    for f in files:
        try:
            if readers.guess(f).name == name:
                return f
        except InputError:
            continue
    return None


def _sample(name: str, request: pytest.FixtureRequest) -> Path:
    if name in SAMPLES:
        return DATA / SAMPLES[name]
    local = sorted(DATA.glob(f"{name}*"))
    if local:
        return local[0]
    ref: Path = request.getfixturevalue("reference_dir")  # skips when ../shared is absent
    vendor = sorted(p for p in (ref / "plates" / "vendor").glob("*")
                    if p.suffix.lower() in (".txt", ".csv", ".xlsx", ".tsv"))
    found = _routed_to(name, vendor)
    if found is None:
        pytest.fail(f"reader '{name}' has no sample: add tests/plates/data/{name}_*.<ext> "
                    "(a valid export of its format) so the conformance check can run")
    return found


@pytest.mark.parametrize("name", readers.available())
def test_registered_reader_conforms(name: str, tmp_path: Path,
                                    request: pytest.FixtureRequest) -> None:
    check_reader(readers.get(name), _sample(name, request), directory=tmp_path)


def test_check_reader_catches_a_bad_reader(tmp_path: Path) -> None:
    class Careless:
        name = "careless"

        def guess_can_open(self, path: str | Path) -> bool:
            return True

        def read(self, path: str | Path) -> object:
            Path(path).read_text(encoding="utf-8")  # UnicodeDecodeError on garbage
            return readers.get("grid").read(path)

    assert "garbage_raises_input_error" in READER_CHECKS
    with pytest.raises(AssertionError, match="plate reader 'careless': check "
                       "'garbage_raises_input_error' failed: read on random_bytes raised "
                       "UnicodeDecodeError instead of InputError"):
        check_reader(Careless(), DATA / SAMPLES["grid"], directory=tmp_path)
