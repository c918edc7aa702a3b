"""Conformance checks every plugin must pass (as scikit-learn's ``check_estimator``).

* :func:`check_experiment_kind` — an experiment kind (:mod:`preclin.study.kinds`) is
  declared correctly, its bundled example runs through ``preclin run``, its output is a
  well-formed frozen :class:`~preclin.study.kinds.KindOutput`, and the experiment shows up
  in ``report.html`` and ``provenance.json``.
* :func:`check_reader` — a plate reader (:mod:`preclin.plates.readers`) recognises and
  reads a sample file into the documented columns, and on garbage (empty, random bytes,
  truncated, UTF-16, missing file) raises nothing but :class:`~preclin.errors.InputError`.

Use them in a test suite over everything registered::

    import pytest
    from preclin.plates import readers
    from preclin.study.kinds import get_kind, registered_kinds
    from preclin.testing import check_experiment_kind, check_reader

    @pytest.mark.parametrize("name", list(registered_kinds()))
    def test_kind(name, tmp_path):
        check_experiment_kind(get_kind(name), directory=tmp_path)

    @pytest.mark.parametrize("name", readers.available())
    def test_reader(name, tmp_path):
        check_reader(readers.get(name), SAMPLES[name], directory=tmp_path)

Each check raises :class:`AssertionError` whose message starts with the check's name.
"""

from __future__ import annotations

import contextlib
import dataclasses
import html
import io
import json
import re
import tempfile
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any, get_args, get_origin

import numpy as np
import pandas as pd

__all__ = ["check_experiment_kind", "check_reader", "KIND_CHECKS", "READER_CHECKS"]

#: the named checks :func:`check_experiment_kind` runs, in order
KIND_CHECKS = (
    "declaration",
    "settings_reject_unknown_keys",
    "example_runs_through_cli",
    "output_is_well_formed",
    "tables_written_and_deterministic",
    "shows_in_report",
    "shows_in_provenance",
)
#: the named checks :func:`check_reader` runs, in order
READER_CHECKS = ("declaration", "reads_sample", "garbage_raises_input_error")


class _Check:
    """``with _Check("name"):`` prefixes any assertion failing inside with the name."""

    def __init__(self, owner: str, name: str) -> None:
        self.prefix = f"{owner}: check '{name}' failed: "

    def __enter__(self) -> None:
        return None

    def __exit__(self, tp: Any, exc: BaseException | None, tb: Any) -> None:
        if isinstance(exc, AssertionError) and not str(exc).startswith(self.prefix):
            raise AssertionError(self.prefix + str(exc)) from exc


def _require(cond: bool, message: str) -> None:
    if not cond:
        raise AssertionError(message)


@contextlib.contextmanager
def _workdir(directory: str | Path | None) -> Iterator[Path]:
    if directory is not None:
        path = Path(directory)
        path.mkdir(parents=True, exist_ok=True)
        yield path
    else:
        with tempfile.TemporaryDirectory(prefix="preclin-check-") as tmp:
            yield Path(tmp)


# ----------------------------------------------------------------------- experiment kinds
def _check_declaration(kind: Any) -> None:
    from typing import Literal

    from .study.kinds import ExperimentKind, ExperimentSettings

    _require(isinstance(kind, ExperimentKind), f"{kind!r} does not derive from ExperimentKind")
    _require(isinstance(kind.name, str) and re.fullmatch(r"[a-z][a-z0-9_]*", kind.name)
             is not None, f"name {kind.name!r} is not a lower-case identifier")
    settings = kind.settings
    _require(isinstance(settings, type) and issubclass(settings, ExperimentSettings),
             "settings is not a subclass of ExperimentSettings")
    ann = settings.model_fields["kind"].annotation
    _require(get_origin(ann) is Literal and get_args(ann) == (kind.name,),
             f"{settings.__name__}.kind must be Literal['{kind.name}']")
    cfg = settings.model_config
    _require(cfg.get("extra") == "forbid", f"{settings.__name__} must forbid unknown keys")
    _require(bool(cfg.get("frozen")), f"{settings.__name__} must be frozen")
    _require(isinstance(kind.tables, Mapping) and len(kind.tables) > 0,
             "tables must declare at least one table (key -> what one row is)")
    for key, text in kind.tables.items():
        _require(isinstance(key, str) and re.fullmatch(r"[a-z][a-z0-9_]*", key) is not None,
                 f"table key {key!r} is not a lower-case identifier")
        _require(isinstance(text, str) and bool(text.strip()),
                 f"table '{key}' has no description")


def _raw_study(study_file: Path) -> dict[str, Any]:
    from .study.model import tomllib

    return tomllib.loads(study_file.read_text(encoding="utf-8"))


def _experiments_of(kind_name: str, raw: Mapping[str, Any]) -> list[dict[str, Any]]:
    from .study.kinds import DEFAULT_KIND

    return [e for e in raw.get("experiment", []) if e.get("kind", DEFAULT_KIND) == kind_name]


def _check_unknown_keys(kind: Any, study_file: Path) -> None:
    from .errors import StudyError
    from .study.model import validate_study

    raw = _raw_study(study_file)
    mine = _experiments_of(kind.name, raw)
    _require(bool(mine), f"the example study {study_file} has no experiment of kind "
             f"'{kind.name}'")
    index = raw["experiment"].index(mine[0])
    mine[0]["not_a_key_xyz"] = 1
    try:
        validate_study(raw, file=study_file)
    except StudyError as exc:
        want = f"experiment[{index + 1}].not_a_key_xyz"
        _require(want in exc.message and "unknown key" in exc.message,
                 f"the error for an unknown key should name '{want}': {exc.message}")
    else:
        raise AssertionError("a study file with an unknown experiment key was accepted")


def _run_cli(argv: list[str]) -> tuple[int, str]:
    from .cli import main

    err = io.StringIO()
    with contextlib.redirect_stderr(err), contextlib.redirect_stdout(io.StringIO()):
        code = main(argv)
    return code, err.getvalue()


def _check_output(kind: Any, output: Any, spec: Any) -> None:
    from .study.kinds import KindOutput, ResultFigure, ResultTable

    _require(isinstance(output, KindOutput), f"run returned {type(output).__name__}, "
             "not a KindOutput")
    _require(output.name == spec.name and output.kind == kind.name,
             f"output name/kind {output.name!r}/{output.kind!r} do not match the experiment")
    try:
        output.name = "changed"
    except dataclasses.FrozenInstanceError:
        pass
    else:
        raise AssertionError("KindOutput is not frozen")
    _require(len(output.tables) > 0, "the output has no table")
    for key, t in output.tables.items():
        _require(key in kind.tables, f"table '{key}' is not declared in {type(kind).__name__}"
                 f".tables ({', '.join(kind.tables)})")
        _require(isinstance(t, ResultTable) and isinstance(t.data, pd.DataFrame),
                 f"table '{key}' is not a ResultTable holding a DataFrame")
        _require(bool(t.description.strip()), f"table '{key}' has no description")
    for f in output.figures:
        _require(isinstance(f, ResultFigure), f"{f!r} is not a ResultFigure")
        _require(isinstance(f.role, str) and bool(f.role), f"figure {f.path} has no role")
        _require(Path(f.path).is_file(), f"figure file {f.path} does not exist")
    _require(all(isinstance(w, str) for w in output.warnings), "warnings must be strings")
    _require(all(Path(p).is_file() for p in output.inputs), "an input file does not exist")
    _require(isinstance(output.excluded, pd.DataFrame) and "reason" in output.excluded.columns,
             "excluded must be a DataFrame with a 'reason' column")
    _require(isinstance(output.overview, Mapping) and len(output.overview) > 0,
             "the overview row is empty")
    for k, v in output.overview.items():
        _require(isinstance(k, str) and (v is None or isinstance(v, (str, int, float, bool,
                                                                    np.integer, np.floating))),
                 f"overview value {k!r}: {v!r} is not a plain scalar")
    # experiments run in worker processes: the output must survive pickling
    import pickle

    try:
        back = pickle.loads(pickle.dumps(output))
    except Exception as exc:  # noqa: BLE001 - any failure is the finding
        raise AssertionError(f"the output cannot be pickled (experiments run in worker "
                             f"processes): {type(exc).__name__}: {exc}") from None
    _require(list(back.tables) == list(output.tables) and all(
        back.tables[k].data.equals(output.tables[k].data) for k in output.tables),
        "the output's tables change when pickled")


def check_experiment_kind(kind: Any, *, directory: str | Path | None = None) -> None:
    """Check that an experiment kind honours the contract of :mod:`preclin.study.kinds`.

    Parameters
    ----------
    kind
        An :class:`~preclin.study.kinds.ExperimentKind` instance. It must be registered
        (:func:`~preclin.study.kinds.register_kind`) for the study-file checks.
    directory
        Working folder (a temporary one when omitted).

    Raises
    ------
    AssertionError
        Naming the failed check (see :data:`KIND_CHECKS`) and what is wrong.
    """
    from .study import Study
    from .study.kinds import RunContext, registered_kinds
    from .study.runner import write_tables

    owner = f"experiment kind '{getattr(kind, 'name', kind)}'"
    with _Check(owner, "declaration"):
        _check_declaration(kind)
        _require(registered_kinds().get(kind.name) is kind,
                 "the kind is not the one registered under its name")
    with _workdir(directory) as work:
        example_dir = work / "example"
        study_file = Path(kind.example(example_dir))
        with _Check(owner, "settings_reject_unknown_keys"):
            _check_unknown_keys(kind, study_file)
        out = work / "run"
        with _Check(owner, "example_runs_through_cli"):
            code, err = _run_cli(["run", str(study_file), "--out", str(out)])
            _require(code == 0, f"`preclin run {study_file}` exited {code}: {err.strip()}")
        study = Study.load(study_file)
        specs = [e for e in study.spec.experiment if e.kind == kind.name]
        direct = work / "direct"
        outputs = []
        with _Check(owner, "output_is_well_formed"):
            for spec in specs:
                ctx = RunContext(base=study_file.parent, out=direct, experiment=spec.name,
                                 study_file=study_file)
                output = kind.run(spec, ctx)
                _check_output(kind, output, spec)
                outputs.append(output)
        with _Check(owner, "tables_written_and_deterministic"):
            for output in outputs:
                for path in write_tables(output, direct / "tables"):
                    twin = out / "tables" / path.name
                    _require(twin.is_file(), f"`preclin run` did not write tables/{path.name}")
                    if path.suffix == ".csv":
                        _require(twin.read_bytes() == path.read_bytes(),
                                 f"tables/{path.name} differs between two runs")
        with _Check(owner, "shows_in_report"):
            page = (out / "report.html").read_text(encoding="utf-8")
            for spec in specs:
                heading = html.escape(spec.title or spec.name, quote=False)
                _require(heading in page, f"report.html has no section '{heading}'")
        with _Check(owner, "shows_in_provenance"):
            prov = json.loads((out / "provenance.json").read_text(encoding="utf-8"))
            records = {e["name"]: e for e in prov.get("experiments", [])}
            hashes = {i["sha256"] for i in prov["inputs"]}
            written = {o["path"] for o in prov["outputs"]}
            from .study.provenance import sha256_file

            for output in outputs:
                rec = records.get(output.name)
                _require(rec is not None and rec["kind"] == kind.name,
                         f"provenance.json has no experiment '{output.name}' of this kind")
                for key in output.tables:
                    _require(f"tables/{output.name}_{key}.csv" in written,
                             f"provenance.json does not list tables/{output.name}_{key}.csv")
                for p in output.inputs:
                    _require(sha256_file(p) in hashes,
                             f"provenance.json does not hash the input {p}")


# --------------------------------------------------------------------------- plate readers
def _check_reader_table(df: Any, what: str) -> None:
    """The documented columns of :mod:`preclin.plates.readers`, with their types."""
    from .plates import readers

    _require(isinstance(df, pd.DataFrame), f"{what}: read returned {type(df).__name__}")
    required = tuple(readers.READER_COLUMNS)
    legacy = tuple(getattr(readers, "LEGACY_COLUMNS", ()))
    optional = tuple(getattr(readers, "OPTIONAL_COLUMNS", ()))
    if legacy and not set(required) <= set(df.columns) and set(legacy) <= set(df.columns):
        required, optional = legacy, ()  # a reader of the first contract, still accepted
    missing = [c for c in required if c not in df.columns]
    _require(not missing, f"{what}: columns {missing} missing (documented: "
             f"{', '.join(required)})")
    if optional:
        extra = [c for c in df.columns if c not in required and c not in optional]
        _require(not extra, f"{what}: undocumented columns {extra}")
    if not len(df):
        return
    _require(pd.api.types.is_integer_dtype(df["col"]), f"{what}: 'col' is not integer")
    for c in ("value", "signal", "time_s", "wavelength_nm"):
        if c in df.columns:
            _require(pd.api.types.is_float_dtype(df[c]), f"{what}: '{c}' is not float")
    for c in ("plate", "read", "well", "row"):
        if c in df.columns:
            _require(all(isinstance(v, str) for v in df[c]),
                     f"{what}: '{c}' holds non-strings")
    wells = df["row"].astype(str) + df["col"].astype(str)
    _require(bool((wells == df["well"]).all()),
             f"{what}: 'well' is not row + col without zero padding")
    key = [c for c in ("plate", "read", "well", "time_s", "cycle") if c in df.columns]
    _require(not df.duplicated(key).any(), f"{what}: a well appears twice for the same "
             f"{'/'.join(c for c in key if c != 'well')}")


def _garbage(sample: Path, work: Path) -> Iterator[tuple[str, Path]]:
    data = sample.read_bytes()
    suffix = sample.suffix
    rng = np.random.default_rng(0)

    def write(label: str, payload: bytes) -> tuple[str, Path]:
        p = work / f"{label}{suffix}"
        p.write_bytes(payload)
        return label, p

    yield write("empty", b"")
    yield write("random_bytes", rng.integers(0, 256, 4096, dtype=np.uint8).tobytes())
    yield write("truncated", data[: max(1, len(data) // 2)])
    yield write("truncated_early", data[: max(1, len(data) // 10)])
    yield write("text", b"hello,world\nthis is not,a plate\n")
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        pass
    else:
        yield write("utf16", text.encode("utf-16"))
        yield write("latin1_bytes", text.encode("utf-8") + b"\xff\xfe\xe9\n")
    yield "missing_file", work / f"does_not_exist{suffix}"


def check_reader(reader: Any, sample: str | Path, *,
                 directory: str | Path | None = None) -> None:
    """Check that a plate reader honours the contract of :mod:`preclin.plates.readers`.

    Parameters
    ----------
    reader
        A reader (``name``, ``guess_can_open``, ``read``).
    sample
        A valid file of the reader's format.
    directory
        Working folder for the garbage files (a temporary one when omitted).

    Raises
    ------
    AssertionError
        Naming the failed check (see :data:`READER_CHECKS`) and what is wrong.
    """
    from .errors import InputError
    from .plates.readers import Reader

    owner = f"plate reader '{getattr(reader, 'name', reader)}'"
    sample = Path(sample)
    with _Check(owner, "declaration"):
        _require(isinstance(reader, Reader), f"{reader!r} lacks name/guess_can_open/read")
        _require(isinstance(reader.name, str) and reader.name == reader.name.lower()
                 and bool(reader.name), f"name {reader.name!r} is not lower case")
    with _Check(owner, "reads_sample"):
        _require(reader.guess_can_open(sample) is True,
                 f"guess_can_open({sample.name}) is not True")
        try:
            df = reader.read(sample)
        except Exception as exc:  # noqa: BLE001 - the check reports it
            raise AssertionError(f"reading the sample {sample.name} raised "
                                 f"{type(exc).__name__}: {exc}") from exc
        _check_reader_table(df, sample.name)
        _require(len(df) > 0, f"{sample.name}: no wells read")
    with _Check(owner, "garbage_raises_input_error"), _workdir(directory) as work:
        for label, path in _garbage(sample, work):
            try:
                ok = reader.guess_can_open(path)
            except Exception as exc:  # noqa: BLE001 - the check reports it
                raise AssertionError(f"guess_can_open on {label} raised "
                                     f"{type(exc).__name__}: {exc}") from exc
            _require(isinstance(ok, bool), f"guess_can_open on {label} returned {ok!r}")
            try:
                got = reader.read(path)
            except InputError:
                continue
            except Exception as exc:  # noqa: BLE001 - the check reports it
                raise AssertionError(f"read on {label} raised {type(exc).__name__} "
                                     f"instead of InputError: {exc}") from exc
            _check_reader_table(got, label)
