"""In vivo studies: xenograft enrolment, randomisation, dosing, engraftment and survival.

The seed study's NSG xenografts (OncoImmunology 2018): cells injected into the marrow with
stroma; mice enrolled when the graft exceeds 1 % in the contralateral marrow (or on a
fixed day), randomised into arms balanced on graft % and body weight, dosed by weight
(AraC 30 mg/kg + idarubicin 0.1 mg/kg i.v. days 1–3, AraC i.p. days 4–5; lenalidomide
25 mg/kg i.p.), weighed (humane endpoint), and analysed for % human cells by tissue and
for survival.

* :mod:`~preclin.invivo.io` — read and check animals, arms, weights, events, engraftment
  (one-line :class:`~preclin.errors.InputError` naming file, row and problem).
* :func:`enrol` — enrolment rule → enrolled and not enrolled (with the reason).
* :func:`randomise` — ``simple``, ``stratified`` (rank-matched permuted blocks) or
  ``minimisation`` (Pocock–Simon), seeded; :func:`balance_table`.
* :func:`dosing_sheet`, :func:`preparation`, :func:`weight_alerts` — weight-based doses,
  what to prepare per day with overage, humane-endpoint alerts.
* :func:`engraftment` and :func:`survival` — wrappers over :mod:`preclin.stats`.
* :func:`design_power` — mice per arm (:mod:`preclin.stats.power`).

Methods, formulas and references: ``docs/methods/invivo.md``.
"""

from __future__ import annotations

from .engraftment import Engraftment, engraftment
from .enrol import Enrolment, EnrolmentRule, enrol
from .io import (
    check_chronology,
    read_animals,
    read_assignment,
    read_engraftment,
    read_events,
    read_weights,
)
from .power import design_power, pooled_sd_log10
from .randomise import METHODS, Randomisation, arm_sizes, balance_table, imbalance, randomise
from .schedule import (
    Administration,
    Drug,
    Schedule,
    check_schedule,
    dosing_sheet,
    parse_days,
    preparation,
    weight_alerts,
)
from .survival import Survival, survival

__all__ = [
    "read_animals",
    "read_assignment",
    "read_weights",
    "read_events",
    "read_engraftment",
    "check_chronology",
    "EnrolmentRule",
    "Enrolment",
    "enrol",
    "randomise",
    "Randomisation",
    "balance_table",
    "imbalance",
    "arm_sizes",
    "METHODS",
    "Drug",
    "Administration",
    "Schedule",
    "parse_days",
    "check_schedule",
    "dosing_sheet",
    "preparation",
    "weight_alerts",
    "engraftment",
    "Engraftment",
    "survival",
    "Survival",
    "design_power",
    "pooled_sd_log10",
]
