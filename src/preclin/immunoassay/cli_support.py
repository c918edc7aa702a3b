"""The ``preclin immunoassay fit`` command's library side."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from ..errors import InputError

__all__ = ["fit_command"]

_WEIGHTS = {"none": "none", "1/y": "1/y", "1/y2": "1/y2", "1/y^2": "1/y2"}


def fit_command(input: Path, *, model: str, weights: str, out: Path,
                params: Path | None) -> pd.DataFrame:
    """Read, fit, back-calculate; write ``out`` (and the parameters to ``params``)."""
    import warnings

    from ..tables import write_table
    from .backcalc import fit_plate
    from .io import read_immunoassay

    m = model.lower()
    if m not in ("4pl", "5pl"):
        raise InputError(f"--model must be 5pl or 4pl, got {model!r}")
    if weights not in _WEIGHTS:
        raise InputError(f"--weights must be none, 1/y or 1/y2, got {weights!r}")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        wells = read_immunoassay(input)
    try:
        res = fit_plate(wells, model=m, weights=_WEIGHTS[weights])
    except InputError as exc:
        raise InputError(exc.problem, file=input, location=exc.location) from None
    write_table(res.table, out)
    if params is not None:
        write_table(res.params, params)
    import sys

    for w in [*(str(c.message) for c in caught), *res.warnings]:
        print(f"warning: {w}", file=sys.stderr)
    return res.table
