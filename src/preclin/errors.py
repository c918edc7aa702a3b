"""Error hierarchy shared by every room of preclin.

The command line maps :class:`InputError` to exit code 2 and prints its one-line
message; any other exception is an internal error (exit code 1).
"""

from __future__ import annotations

import re
from pathlib import Path

__all__ = ["PreclinError", "InputError", "FitError", "StudyError"]


class PreclinError(Exception):
    """Base class of all errors raised on purpose by preclin."""


#: ``np.float64(1.5)``, ``np.int64(3)``, ``np.str_('a')``, ``np.True_`` as NumPy 2 prints them
_NUMPY_REPR = re.compile(r"\bnp\.(?:float|int|uint|complex|str_|bytes_|datetime64|"
                         r"timedelta64|bool)\w*\(((?:[^()]|\([^()]*\))*)\)")


class InputError(PreclinError):
    """Bad user input: names the file, the location in it and the problem.

    Parameters
    ----------
    problem
        Plain-language description of what is wrong.
    file
        The file the problem was found in (optional).
    location
        Where in the file: ``"row 12"``, ``"well B3"``, ``"column 'dose'"``, ``"key [expt]"``.
    """

    def __init__(
        self,
        problem: str,
        *,
        file: str | Path | None = None,
        location: str | None = None,
    ) -> None:
        self.problem = problem
        self.file = None if file is None else str(file)
        self.location = location
        super().__init__(self.message)

    @property
    def message(self) -> str:
        """One line: ``file: location: problem``."""
        parts = [p for p in (self.file, self.location) if p]
        prefix = ": ".join(parts)
        text = f"{prefix}: {self.problem}" if prefix else self.problem
        # a NumPy scalar formatted with !r reads np.float64(1.5): show the plain value
        text = _NUMPY_REPR.sub(r"\1", text).replace("np.True_", "True").replace(
            "np.False_", "False")
        return " ".join(text.split())  # guarantee a single line


class FitError(PreclinError):
    """A model could not be fitted in a way that should stop the analysis."""


class StudyError(InputError):
    """A study file is invalid (bad keys, missing files, inconsistent settings)."""
