"""Design matrices from a model formula (``formulaic``), with R's column names.

``formulaic`` (MIT) builds the matrix; the column names are rewritten to R's
``model.matrix`` convention so that a coefficient reads as in limma: ``(Intercept)``,
``patientP2``, ``trtLEN``, ``trtLEN:patientP2``. Factor levels are sorted (R's default)
unless the column is a pandas ``Categorical``, whose category order is kept; the first level
is the reference (treatment contrasts).
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd
from numpy.typing import NDArray

from ..errors import InputError

__all__ = ["Design", "design_matrix"]

_TERM = re.compile(r"^(?P<var>[^\[\]:]+)\[(?:T\.)?(?P<level>[^\]]*)\]$")


@dataclass(frozen=True)
class Design:
    """A design matrix with R-style column names.

    Attributes
    ----------
    matrix
        samples x coefficients, float.
    columns
        R-style coefficient names (``(Intercept)``, ``trtLEN``).
    samples
        Sample IDs, in the order of the rows.
    formula
        The formula it was built from.
    levels
        For each coefficient built from a factor level: ``(factor, level)`` pairs, one per
        factor in an interaction.
    """

    matrix: NDArray[np.float64]
    columns: tuple[str, ...]
    samples: tuple[str, ...]
    formula: str
    levels: tuple[tuple[tuple[str, str], ...], ...]

    def coef_index(self, name: str) -> int:
        """Index of a coefficient given its R name (``trtLEN``), its formulaic name
        (``trt[T.LEN]``) or, when it names exactly one column, a level alone (``LEN``).

        Raises
        ------
        InputError
            No or several columns match; the message lists the columns.
        """
        if name in self.columns:
            return self.columns.index(name)
        for i, lv in enumerate(self.levels):
            if len(lv) == 1 and f"{lv[0][0]}[T.{lv[0][1]}]" == name:
                return i
        hits = [i for i, lv in enumerate(self.levels) if len(lv) == 1 and lv[0][1] == name]
        if len(hits) == 1:
            return hits[0]
        cols = ", ".join(self.columns)
        if len(hits) > 1:
            raise InputError(f"coefficient '{name}' is ambiguous: it is a level of several "
                             f"factors; use one of: {cols}", location="--coef")
        close = difflib.get_close_matches(name, self.columns, n=1)
        hint = f"; did you mean '{close[0]}'?" if close else ""
        raise InputError(f"coefficient '{name}' is not a column of the design ({cols}){hint}",
                         location="--coef")


def _r_name(name: str) -> tuple[str, tuple[tuple[str, str], ...]]:
    if name == "Intercept":
        return "(Intercept)", ()
    parts = name.split(":")
    out: list[str] = []
    levels: list[tuple[str, str]] = []
    for part in parts:
        m = _TERM.match(part)
        if m:
            out.append(m["var"] + m["level"])
            levels.append((m["var"], m["level"]))
        else:
            out.append(part)
    return ":".join(out), tuple(levels)


def design_matrix(formula: str, samples: pd.DataFrame, *,
                  sample_column: str = "sample",
                  levels: Mapping[str, Sequence[str]] | None = None,
                  file: str | None = None) -> Design:
    """Build the design matrix of ``formula`` (R syntax, e.g. ``"~ patient + trt"``).

    Parameters
    ----------
    formula
        Right-hand-side formula; ``~`` optional.
    samples
        One row per sample, a ``sample_column`` plus the formula's variables.
    sample_column
        Column with the sample IDs.
    levels
        Optional level order per factor; the first level is the reference.
    file
        File the samples came from (for error messages).

    Returns
    -------
    Design
    """
    from formulaic import model_matrix  # lazy: ~0.5 s import

    rhs = formula.strip()
    if not rhs.startswith("~"):
        rhs = "~ " + rhs
    data = samples.copy()
    for col, order in (levels or {}).items():
        if col not in data.columns:
            raise InputError(f"level order given for '{col}', which is not a column",
                             file=file)
        unknown = set(data[col].astype(str)) - set(map(str, order))
        if unknown:
            raise InputError(f"column '{col}' has values not in the level order: "
                             f"{sorted(unknown)}", file=file)
        data[col] = pd.Categorical(data[col].astype(str), categories=[str(o) for o in order])
    try:
        mm = model_matrix(rhs, data, ensure_full_rank=True, na_action="raise")
    except Exception as exc:  # formulaic raises its own types for bad formulae/columns
        msg = " ".join(str(exc).split())
        raise InputError(f"design formula '{formula}' cannot be built: {msg}",
                         file=file) from None
    names = [_r_name(str(c)) for c in mm.columns]
    mat = np.asarray(mm, dtype=float)
    if np.linalg.matrix_rank(mat) < mat.shape[1]:
        raise InputError(f"design '{formula}' is not of full rank: some coefficients cannot be "
                         f"estimated (confounded factors?)", file=file)
    ids = (data[sample_column].astype(str).tolist() if sample_column in data.columns
           else [str(i) for i in data.index])
    return Design(matrix=mat, columns=tuple(n for n, _ in names), samples=tuple(ids),
                  formula=formula, levels=tuple(lv for _, lv in names))
