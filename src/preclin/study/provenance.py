"""provenance.json: what went in (hashes), how (settings) and with what (versions)."""

from __future__ import annotations

import hashlib
import json
import platform
import sys
from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime, timezone
from importlib import metadata
from pathlib import Path
from typing import Any

__all__ = ["sha256_file", "package_versions", "write_provenance"]

_PACKAGES = ("preclin", "numpy", "scipy", "pandas", "matplotlib", "pyarrow", "openpyxl",
             "pydantic", "typer", "defusedxml")


def sha256_file(path: str | Path, chunk: int = 1 << 20) -> str:
    """SHA-256 hex digest of a file, read in chunks."""
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        while block := fh.read(chunk):
            h.update(block)
    return h.hexdigest()


def package_versions() -> dict[str, str]:
    """Versions of Python and the packages preclin's results depend on."""
    out = {"python": sys.version.split()[0], "platform": platform.platform()}
    for name in _PACKAGES:
        try:
            out[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            out[name] = "not installed"
    return out


def write_provenance(
    path: str | Path,
    *,
    inputs: Iterable[str | Path],
    settings: Mapping[str, Any],
    outputs: Iterable[str | Path] = (),
    base: str | Path | None = None,
    experiments: Sequence[Mapping[str, Any]] = (),
) -> Path:
    """Write ``provenance.json``.

    Parameters
    ----------
    path
        Where to write.
    inputs
        Input files; each is listed with its path (relative to ``base`` when possible),
        size and SHA-256.
    settings
        Resolved settings (JSON-serialisable).
    outputs
        Output files, listed with their SHA-256 too.
    base
        Directory paths are made relative to.
    experiments
        One JSON-serialisable record per experiment (name, kind, its inputs, tables,
        figures, exclusions by reason, warnings, overview row), written under
        ``"experiments"``.
    """

    def describe(p: str | Path) -> dict[str, Any]:
        q = Path(p)
        shown = q
        if base is not None:
            try:
                shown = q.resolve().relative_to(Path(base).resolve())
            except ValueError:
                shown = q
        return {"path": shown.as_posix(), "bytes": q.stat().st_size, "sha256": sha256_file(q)}

    doc = {
        "created_utc": datetime.now(timezone.utc).replace(microsecond=0).isoformat(),
        "command": " ".join(sys.argv),
        "versions": package_versions(),
        "settings": settings,
        "inputs": [describe(p) for p in sorted(set(map(str, inputs)))],
        "outputs": [describe(p) for p in sorted(set(map(str, outputs)))],
        "experiments": [dict(e) for e in experiments],
    }
    out = Path(path)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(doc, indent=2, ensure_ascii=False, default=str) + "\n",
                   encoding="utf-8")
    return out
