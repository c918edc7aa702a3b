"""Engraftment by tissue and arm, mobilisation between tissues, group comparisons.

Input: one row per animal × tissue with the % of human cells (e.g. human
HLA-ABC⁺CD45⁺CD33⁺ of live cells, from the flow experiment or a table). Every group
comparison goes through :func:`preclin.stats.compare_table` (each arm against the control
arm, Holm–Šídák-adjusted within a tissue); figures through
:func:`preclin.stats.plot.group_plot`.

Mobilisation is the per-animal ratio of two tissues (e.g. contralateral marrow / injected
tibia: how far the graft spread from the injection site), compared between arms on the
log scale.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from ..errors import InputError

__all__ = ["Engraftment", "engraftment", "SUMMARY_COLUMNS"]

#: columns of :attr:`Engraftment.summary`
SUMMARY_COLUMNS: dict[str, str] = {
    "tissue": "tissue (or 'a / b' for a mobilisation ratio)",
    "arm": "arm",
    "n": "animals with a value",
    "mean": "mean % human cells (ratio for mobilisation)",
    "sd": "SD (n − 1)",
    "sem": "SD / √n",
    "median": "median",
    "geo_mean": "geometric mean (values > 0)",
    "fold_vs_control": "geometric mean / the control arm's geometric mean",
}


@dataclass(frozen=True)
class Engraftment:
    """Result of :func:`engraftment`.

    Attributes
    ----------
    data
        ``animal, arm, tissue, human_pct`` (assigned animals with a value).
    summary
        Per tissue × arm (:data:`SUMMARY_COLUMNS`).
    comparisons
        Per tissue: each arm vs the control (``tissue`` + :data:`preclin.stats.tables.
        COMPARE_COLUMNS`).
    mobilisation
        Per animal and tissue pair: ``animal, arm, tissue, ratio`` (tissue = ``a / b``).
    mobilisation_comparisons
        Each arm vs control on the log ratio.
    excluded
        Rows left out (animal not assigned, no value), with the reason.
    tissues, arms, control, log, test
        Settings used.
    """

    data: pd.DataFrame
    summary: pd.DataFrame
    comparisons: pd.DataFrame
    mobilisation: pd.DataFrame
    mobilisation_comparisons: pd.DataFrame
    excluded: pd.DataFrame
    tissues: tuple[str, ...]
    arms: tuple[str, ...]
    control: str
    log: bool
    test: str


def _summary(data: pd.DataFrame, value: str, key: str, arms: Sequence[str],
             control: str) -> pd.DataFrame:
    rows: list[dict[str, Any]] = []
    for tis, sub in data.groupby(key, sort=False):
        geo: dict[str, float] = {}
        for a in arms:
            x = sub.loc[sub["arm"] == a, value].dropna().to_numpy(dtype=float)
            pos = x[x > 0]
            geo[a] = float(np.exp(np.mean(np.log(pos)))) if len(pos) else np.nan
            rows.append({"tissue": tis, "arm": a, "n": len(x),
                         "mean": float(x.mean()) if len(x) else np.nan,
                         "sd": float(x.std(ddof=1)) if len(x) > 1 else np.nan,
                         "sem": float(x.std(ddof=1) / np.sqrt(len(x))) if len(x) > 1
                         else np.nan,
                         "median": float(np.median(x)) if len(x) else np.nan,
                         "geo_mean": geo[a]})
        for r in rows:
            if r["tissue"] == tis:
                r["fold_vs_control"] = r["geo_mean"] / geo[control] if geo[control] else np.nan
    return pd.DataFrame(rows, columns=list(SUMMARY_COLUMNS))


def _compare(data: pd.DataFrame, value: str, key: str, arms: Sequence[str], control: str,
             test: str, log: bool, file: str | None) -> pd.DataFrame:
    from ..stats import compare_table

    parts = []
    for tis, sub in data.groupby(key, sort=False):
        sub = sub[sub["arm"].isin(arms)]
        present = [a for a in arms if (sub["arm"] == a).sum() >= 2]
        if control not in present or len(present) < 2:
            continue
        sub = sub[sub["arm"].isin(present)]
        sub = sub.assign(_o=sub["arm"].map({a: i for i, a in enumerate(arms)}))
        sub = sub.sort_values(["_o", "animal"], kind="stable")
        res = compare_table(sub, value=value, group="arm", control=control, test=test,
                            log=log, file=file)
        res.insert(0, "tissue", tis)
        parts.append(res)
    if not parts:
        return pd.DataFrame(columns=["tissue", "group1", "group2", "p_value", "p_adj"])
    return pd.concat(parts, ignore_index=True)


def engraftment(data: pd.DataFrame, assignment: pd.DataFrame, *,
                arms: Sequence[str] | None = None, tissues: Sequence[str] | None = None,
                control: str | None = None,
                test: str = "welch", log: bool = True,
                mobilisation: Sequence[tuple[str, str]] = (),
                file: str | None = None) -> Engraftment:
    """Engraftment per tissue and arm, each arm against the control, mobilisation ratios.

    Parameters
    ----------
    data
        ``animal, tissue, human_pct`` (from :func:`preclin.invivo.io.read_engraftment`).
    assignment
        ``animal, arm``.
    arms
        Arm order (default: order of appearance in ``assignment``).
    tissues
        Tissue order (default: order of appearance); others are kept after these.
    control
        Control arm (default: the first arm of the assignment).
    test
        Two-group test of :func:`preclin.stats.compare_table` (``welch``, ``student``,
        ``mannwhitney``).
    log
        Compare log10 values (ratios of geometric means); values must be > 0.
    mobilisation
        Tissue pairs ``(a, b)``: the per-animal ratio a / b.
    file
        The engraftment file, for messages.

    Returns
    -------
    Engraftment
    """
    seen_arms = list(dict.fromkeys(assignment["arm"].astype(str)))
    arms = tuple([a for a in (arms or []) if a in seen_arms]
                 + [a for a in seen_arms if a not in (arms or [])])
    ctrl = control if control is not None else arms[0]
    if ctrl not in arms:
        raise InputError(f"control arm '{ctrl}' is not one of the arms ({', '.join(arms)})",
                         file=file)
    arm_of = dict(zip(assignment["animal"].astype(str), assignment["arm"], strict=True))
    d = data.copy()
    d["arm"] = d["animal"].map(arm_of)
    excl = []
    no_arm = d["arm"].isna()
    if no_arm.any():
        excl.append(d[no_arm].assign(reason="animal not in any arm"))
    no_val = ~no_arm & d["human_pct"].isna()
    if no_val.any():
        excl.append(d[no_val].assign(reason="no value"))
    d = d[~no_arm & ~no_val]
    seen = list(dict.fromkeys(d["tissue"]))
    order = [t for t in (tissues or []) if t in seen] + [t for t in seen
                                                         if t not in (tissues or [])]
    d = d.assign(_t=d["tissue"].map({t: i for i, t in enumerate(order)}),
                 _a=d["arm"].map({a: i for i, a in enumerate(arms)}))
    d = d.sort_values(["_t", "_a", "animal"], kind="stable").drop(columns=["_t", "_a"])
    d = d[["animal", "arm", "tissue", "human_pct"]].reset_index(drop=True)
    summary = _summary(d, "human_pct", "tissue", arms, ctrl)
    comps = _compare(d, "human_pct", "tissue", arms, ctrl, test, log, file)
    mob = _mobilisation(d, mobilisation)
    mob_comps = _compare(mob, "ratio", "tissue", arms, ctrl, test, True, file)
    excluded = (pd.concat(excl, ignore_index=True) if excl
                else pd.DataFrame({"animal": [], "tissue": [], "reason": []}))
    return Engraftment(data=d, summary=summary, comparisons=comps, mobilisation=mob,
                       mobilisation_comparisons=mob_comps, excluded=excluded,
                       tissues=tuple(order), arms=arms, control=ctrl, log=log, test=test)


def _mobilisation(d: pd.DataFrame, pairs: Sequence[tuple[str, str]]) -> pd.DataFrame:
    wide = d.pivot(index="animal", columns="tissue", values="human_pct")
    arm_of = dict(zip(d["animal"], d["arm"], strict=False))
    parts = []
    for a, b in pairs:
        for t in (a, b):
            if t not in wide.columns:
                raise InputError(f"mobilisation: tissue '{t}' is not in the engraftment "
                                 f"table (it has: {', '.join(map(str, wide.columns))})")
        with np.errstate(divide="ignore", invalid="ignore"):
            ratio = wide[a] / wide[b]
        ok = ratio.notna() & np.isfinite(ratio) & (ratio > 0)
        parts.append(pd.DataFrame({"animal": ratio.index[ok], "tissue": f"{a} / {b}",
                                   "ratio": ratio[ok].to_numpy()}))
    if not parts:
        return pd.DataFrame(columns=["animal", "arm", "tissue", "ratio"])
    out = pd.concat(parts, ignore_index=True)
    out.insert(1, "arm", out["animal"].map(arm_of))
    arms = list(dict.fromkeys(d["arm"]))
    order = {t: i for i, t in enumerate(dict.fromkeys(out["tissue"]))}
    out = out.assign(_t=out["tissue"].map(order), _a=out["arm"].map(
        {a: i for i, a in enumerate(arms)}))
    return (out.sort_values(["_t", "_a", "animal"], kind="stable")
            .drop(columns=["_t", "_a"]).reset_index(drop=True))
