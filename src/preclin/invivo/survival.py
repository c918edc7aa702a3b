"""Survival of the arms from death/endpoint records, with censoring.

A thin wrapper over :mod:`preclin.stats.survival`: Kaplan–Meier per arm, median survival
with its CI, the log-rank test over all arms and each arm against the control (Holm–Šídák
adjusted), and hazard ratios vs the control (Mantel–Haenszel, Prism's default, and Cox
with Efron ties when it is estimable). Time is the study day of death, endpoint or
censoring (day 1 = first treatment day); event 1 = death or humane endpoint, 0 = censored
(planned sacrifice, end of study).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from ..errors import InputError

__all__ = ["Survival", "survival", "SURVIVAL_COLUMNS"]

#: columns of :attr:`Survival.arms`
SURVIVAL_COLUMNS: dict[str, str] = {
    "arm": "arm",
    "n": "animals",
    "events": "deaths or humane endpoints",
    "censored": "censored animals",
    "median": "median survival, days (NaN = not reached)",
    "median_lower": "lower 95 % CI of the median",
    "median_upper": "upper 95 % CI of the median (NaN = not reached)",
    "p_vs_control": "log-rank p vs the control arm",
    "p_adj": "p_vs_control adjusted (Holm–Šídák over the arms)",
    "stars": "stars of p_adj",
    "hr_mh": "hazard ratio vs control, Mantel–Haenszel (Prism's default)",
    "hr_mh_lower": "lower 95 % CI",
    "hr_mh_upper": "upper 95 % CI",
    "hr_cox": "hazard ratio vs control, Cox (Efron ties); NaN when not estimable",
    "p_logrank_all": "log-rank p over all arms (same on every row)",
}


@dataclass(frozen=True)
class Survival:
    """Result of :func:`survival`.

    Attributes
    ----------
    animals
        ``animal, arm, day, event`` (+ the events table's other columns).
    km
        Kaplan–Meier table (:data:`preclin.stats.survival.KM_COLUMNS`, ``group`` → ``arm``).
    arms
        One row per arm (:data:`SURVIVAL_COLUMNS`).
    excluded
        Assigned animals without a record, records of unassigned animals (with reason).
    control
        Control arm.
    """

    animals: pd.DataFrame
    km: pd.DataFrame
    arms: pd.DataFrame
    excluded: pd.DataFrame
    control: str


def _safe_cox(t: np.ndarray, e: np.ndarray, g: np.ndarray, ref: str) -> float:
    from ..stats import hazard_ratio

    try:
        with np.errstate(all="ignore"):
            hr = hazard_ratio(t, e, g, reference=ref, method="cox").hr
    except (ValueError, OverflowError, ZeroDivisionError, np.linalg.LinAlgError):
        return math.nan
    return float(hr) if math.isfinite(hr) and 1e-6 < hr < 1e6 else math.nan


def survival(events: pd.DataFrame, assignment: pd.DataFrame, *,
             arms: Sequence[str] | None = None, control: str | None = None,
             file: str | None = None) -> Survival:
    """Kaplan–Meier, medians, log-rank and hazard ratios per arm.

    Parameters
    ----------
    events
        ``animal, day, event`` (from :func:`preclin.invivo.io.read_events`).
    assignment
        ``animal, arm``.
    arms
        Arm order (default: order of appearance in ``assignment``).
    control
        Control arm (default: the first arm).
    file
        The events file, for messages.

    Returns
    -------
    Survival
    """
    from ..stats import adjust_p, hazard_ratio, kaplan_meier, logrank, median_survival, stars

    seen = list(dict.fromkeys(assignment["arm"].astype(str)))
    arms = [a for a in (arms or []) if a in seen] + [a for a in seen if a not in (arms or [])]
    ctrl = control if control is not None else arms[0]
    if ctrl not in arms:
        raise InputError(f"control arm '{ctrl}' is not one of the arms ({', '.join(arms)})",
                         file=file)
    arm_of = dict(zip(assignment["animal"].astype(str), assignment["arm"], strict=True))
    ev = events.drop(columns=["row"], errors="ignore").copy()
    ev.insert(1, "arm", ev["animal"].map(arm_of))
    excl = [ev[ev["arm"].isna()].assign(reason="animal not in any arm")]
    missing = sorted(set(arm_of) - set(ev["animal"]))
    excl.append(pd.DataFrame({"animal": missing, "arm": [arm_of[a] for a in missing],
                              "reason": "no death/endpoint or censoring record"}))
    ev = ev[ev["arm"].notna()]
    ev = ev.assign(_a=ev["arm"].map({a: i for i, a in enumerate(arms)}))
    ev = ev.sort_values(["_a", "day", "animal"], kind="stable").drop(columns="_a")
    ev = ev.reset_index(drop=True)
    present = [a for a in arms if (ev["arm"] == a).any()]
    if len(present) < 2:
        raise InputError("survival needs records of at least two arms", file=file)
    t = ev["day"].to_numpy(dtype=float)
    e = ev["event"].to_numpy(dtype=float)
    g = ev["arm"].to_numpy(dtype=object)
    km = kaplan_meier(t, e, g).rename(columns={"group": "arm"})
    med_rows = median_survival(t, e, g).to_dict("records")
    med = {str(m["group"]): m for m in med_rows}
    p_all = logrank(t, e, g).p_value if e.sum() > 0 else math.nan
    rows = []
    for a in present:
        sub = np.isin(g, [ctrl, a])
        m = med[a]
        n_a, ev_a = int(m["n"]), int(m["events"])
        r: dict[str, object] = {"arm": a, "n": n_a, "events": ev_a, "censored": n_a - ev_a,
                                "median": float(m["median"]),
                                "median_lower": float(m["median_lower"]),
                                "median_upper": float(m["median_upper"])}
        p = hr_mh = lo = hi = hr_cox = math.nan
        if a != ctrl and ctrl in present and e[sub].sum() > 0:
            p = logrank(t[sub], e[sub], g[sub]).p_value
            h = hazard_ratio(t[sub], e[sub], g[sub], reference=ctrl, method="mantel-haenszel")
            hr_mh, lo, hi = h.hr, h.lower, h.upper
            hr_cox = _safe_cox(t[sub], e[sub], g[sub], ctrl)
        r.update(p_vs_control=p, hr_mh=hr_mh, hr_mh_lower=lo, hr_mh_upper=hi, hr_cox=hr_cox,
                 p_logrank_all=p_all)
        rows.append(r)
    table = pd.DataFrame(rows)
    ps = table["p_vs_control"].to_numpy(dtype=float)
    adj = np.full(len(ps), np.nan)
    ok = np.isfinite(ps)
    if ok.any():
        adj[ok] = adjust_p(ps[ok], "holm-sidak")
    table["p_adj"] = adj
    table["stars"] = ["" if not np.isfinite(p) else stars(p) for p in adj]
    excluded = pd.concat([x for x in excl if len(x)], ignore_index=True) if any(
        len(x) for x in excl) else pd.DataFrame({"animal": [], "reason": []})
    return Survival(animals=ev, km=km, arms=table[list(SURVIVAL_COLUMNS)],
                    excluded=excluded, control=ctrl)
