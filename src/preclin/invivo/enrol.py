"""Enrolment: which injected animals enter randomisation, and why the others do not.

Rules (from the study file's ``[experiment.enrol]``):

* a threshold on a column — ``column = "graft_contralateral_pct"``, ``above = 1`` (the
  seed paper: graft > 1 % in the contralateral marrow) or ``at_least = 1``;
* a fixed day — ``day = 3`` (MOLM-13: every animal alive on day 3 is enrolled);
* in both cases an animal with text in the ``withdrawn`` column (e.g. "found dead
  before randomisation") is not enrolled, with that text as the reason.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from ..errors import InputError

__all__ = ["EnrolmentRule", "Enrolment", "enrol", "NOT_ENROLLED_COLUMNS"]

#: columns of :attr:`Enrolment.not_enrolled` (then the animals table's own columns)
NOT_ENROLLED_COLUMNS = {"animal": "animal id", "reason": "why the animal was not enrolled"}


@dataclass(frozen=True)
class EnrolmentRule:
    """When an animal is enrolled.

    Attributes
    ----------
    column
        Column measured at screening (e.g. ``graft_contralateral_pct``); ``None`` with
        a fixed ``day``.
    above
        Enrol when ``column > above``.
    at_least
        Enrol when ``column ≥ at_least``.
    day
        Fixed enrolment day (informative: recorded in the table and the report).
    withdrawn
        Column whose non-empty text withdraws the animal (reason = the text).
    """

    column: str | None = None
    above: float | None = None
    at_least: float | None = None
    day: int | None = None
    withdrawn: str = "withdrawn"

    def describe(self) -> str:
        """The rule in words."""
        if self.column is not None and self.above is not None:
            return f"{self.column} > {self.above:g}"
        if self.column is not None and self.at_least is not None:
            return f"{self.column} ≥ {self.at_least:g}"
        if self.day is not None:
            return f"alive on day {self.day}"
        return "every animal"


@dataclass(frozen=True)
class Enrolment:
    """Result of :func:`enrol`: ``enrolled`` animals and ``not_enrolled`` with a reason."""

    enrolled: pd.DataFrame
    not_enrolled: pd.DataFrame
    rule: EnrolmentRule

    def __repr__(self) -> str:
        return (f"Enrolment({len(self.enrolled)} enrolled, {len(self.not_enrolled)} not; "
                f"rule: {self.rule.describe()})")


def enrol(animals: pd.DataFrame, rule: EnrolmentRule, *,
          file: str | None = None) -> Enrolment:
    """Split the animals into enrolled and not enrolled (each with the reason).

    Parameters
    ----------
    animals
        One row per animal (from :func:`preclin.invivo.io.read_animals`).
    rule
        The enrolment rule.
    file
        For messages.

    Returns
    -------
    Enrolment

    Raises
    ------
    InputError
        If the rule's column is not in the table, or both ``above`` and ``at_least``
        are given.
    """
    if rule.above is not None and rule.at_least is not None:
        raise InputError("give one of 'above' and 'at_least' for the enrolment rule")
    if rule.column is not None and rule.above is None and rule.at_least is None:
        raise InputError(f"the enrolment rule on '{rule.column}' needs 'above' or 'at_least'")
    n = len(animals)
    reason = np.full(n, "", dtype=object)
    if rule.withdrawn in animals.columns:
        w = animals[rule.withdrawn]
        text = w.where(w.notna(), "").astype(str).str.strip()
        reason = np.where(text != "", text, reason)
    if rule.column is not None:
        if rule.column not in animals.columns:
            raise InputError(f"enrolment rule: column '{rule.column}' is not in the animals "
                             f"table (it has: {', '.join(map(str, animals.columns))})",
                             file=file)
        v = pd.to_numeric(animals[rule.column], errors="coerce").to_numpy(dtype=float)
        cut = rule.above if rule.above is not None else rule.at_least
        assert cut is not None
        ok = v > cut if rule.above is not None else v >= cut
        sign = "≤" if rule.above is not None else "<"
        for i in range(n):
            if reason[i]:
                continue
            if np.isnan(v[i]):
                reason[i] = f"no {rule.column} measured"
            elif not ok[i]:
                reason[i] = (f"{rule.column} {v[i]:g} {sign} {cut:g} "
                             f"(needs {rule.describe()})")
    mask = reason == ""
    enrolled = animals[mask].reset_index(drop=True)
    rest = animals[~mask].copy()
    rest.insert(1, "reason", reason[~mask])
    return Enrolment(enrolled=enrolled, not_enrolled=rest.reset_index(drop=True), rule=rule)
