"""Error hierarchy shared by every room of preclin.

The command line maps :class:`InputError` to exit code 2 and prints its one-line
message; any other exception is an internal error (exit code 1).
"""

from __future__ import annotations

from pathlib import Path

__all__ = ["PreclinError", "InputError", "FitError", "StudyError"]


class PreclinError(Exception):
    """Base class of all errors raised on purpose by preclin."""


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
        return " ".join(text.split())  # guarantee a single line


class FitError(PreclinError):
    """A model could not be fitted in a way that should stop the analysis."""


class StudyError(InputError):
    """A study file is invalid (bad keys, missing files, inconsistent settings)."""
