"""Randomising animals into arms, balanced on covariates (graft %, body weight, cohort).

Three methods (``docs/methods/invivo.md`` has the algorithms and references):

* ``"simple"`` — complete randomisation to arms of fixed size: a random permutation of
  the arm labels (the reference the other two are measured against).
* ``"stratified"`` — stratified, rank-matched permuted blocks: strata are the levels of
  the ``strata`` columns crossed with quantile bins (``levels``) of the second and later
  balance covariates; within a stratum the animals are ranked by the first covariate and
  taken in consecutive blocks of k (k = number of arms), each block given a random
  permutation of the arms. Animals left over in incomplete blocks are pooled, ranked and
  blocked the same way; the last incomplete block goes to the arms still below their size.
* ``"minimisation"`` — Pocock & Simon (1975): animals in random order; each goes with
  probability ``p_best`` to the arm that minimises the summed range of the arms' counts
  at the animal's level of every factor (balance covariates cut into ``levels`` quantile
  bins, plus the ``strata`` columns), otherwise to one of the other arms at random.

Every method gives arms of fixed size (``n // k``, the first ``n % k`` arms in declared
order one more), assigns every animal exactly once and is reproducible: the same animals,
settings and ``seed`` give the same table, whatever the row order of the input.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import numpy as np
import pandas as pd

from ..errors import InputError
from ..tables import require_columns, require_numeric

__all__ = [
    "randomise",
    "Randomisation",
    "balance_table",
    "imbalance",
    "arm_sizes",
    "METHODS",
    "BALANCE_COLUMNS",
]

Method = Literal["simple", "stratified", "minimisation"]

#: randomisation methods and what they do
METHODS: dict[str, str] = {
    "simple": "complete randomisation to arms of fixed size",
    "stratified": "stratified rank-matched permuted blocks",
    "minimisation": "Pocock-Simon minimisation (range of counts, biased coin)",
}

#: columns of :func:`balance_table`
BALANCE_COLUMNS: dict[str, str] = {
    "covariate": "balance covariate (or 'column=level' of a stratification column)",
    "arm": "arm",
    "n": "animals in the arm (with a value)",
    "mean": "mean of the covariate in the arm (share of the level for strata)",
    "sd": "sample SD (n − 1)",
    "min": "smallest value",
    "max": "largest value",
    "test": "test of imbalance across arms: one-way ANOVA F test (numeric covariates)",
    "statistic": "F statistic",
    "p_value": "p value of the test (same on every row of the covariate)",
    "max_smd": "largest difference between two arm means / overall SD",
}


@dataclass(frozen=True)
class Randomisation:
    """The result of :func:`randomise`.

    Attributes
    ----------
    table
        One row per animal, every animal exactly once: ``animal``, ``arm``, the balance
        covariates and strata columns, ``order`` (the processing order of the method);
        sorted by animal id.
    balance
        :func:`balance_table` of the assignment.
    method, seed, arms, covariates, strata
        The settings used.
    """

    table: pd.DataFrame
    balance: pd.DataFrame
    method: str
    seed: int
    arms: tuple[str, ...]
    covariates: tuple[str, ...]
    strata: tuple[str, ...] = ()
    details: dict[str, Any] = field(default_factory=dict)

    def imbalance(self) -> float:
        """Sum over covariates of the largest standardised difference between arm means."""
        return imbalance(self.table, self.covariates)

    def summary(self) -> str:
        """A few lines: method, arm sizes and the balance of each covariate."""
        sizes = self.table["arm"].value_counts().reindex(list(self.arms)).fillna(0)
        lines = [f"{METHODS[self.method]} (seed {self.seed}): "
                 + ", ".join(f"{a} {int(n)}" for a, n in sizes.items())]
        b = self.balance.drop_duplicates("covariate")
        for r in b.to_dict("records"):
            if r["test"]:
                lines.append(f"  {r['covariate']}: max standardised difference "
                             f"{r['max_smd']:.2f}, {r['test']} p = {r['p_value']:.3g}")
        return "\n".join(lines)

    def __repr__(self) -> str:
        return (f"Randomisation({len(self.table)} animals into {len(self.arms)} arms, "
                f"method={self.method!r}, seed={self.seed})")


def arm_sizes(n: int, arms: Sequence[str]) -> dict[str, int]:
    """Fixed arm sizes: ``n // k`` each, the first ``n % k`` arms (declared order) one more."""
    k = len(arms)
    return {a: n // k + (1 if i < n % k else 0) for i, a in enumerate(arms)}


def _check_arms(arms: Sequence[str]) -> tuple[str, ...]:
    names = tuple(str(a).strip() for a in arms)
    if len(names) < 2:
        raise InputError(f"give at least two arms, got {', '.join(names) or 'none'}")
    if any(not a for a in names):
        raise InputError("an arm name is empty")
    dup = sorted({a for a in names if names.count(a) > 1})
    if dup:
        raise InputError(f"arm '{dup[0]}' is declared twice")
    return names


def _quantile_bins(x: np.ndarray, levels: int) -> np.ndarray:
    """Bin index 0..levels-1 by rank (ties by position; deterministic)."""
    n = len(x)
    ranks = np.empty(n, dtype=int)
    ranks[np.argsort(x, kind="stable")] = np.arange(n)
    return (ranks * levels) // max(n, 1)


def _prepare(animals: pd.DataFrame, covariates: Sequence[str], strata: Sequence[str],
             file: str | Path | None) -> tuple[pd.DataFrame, np.ndarray]:
    require_columns(animals, ["animal", *covariates, *strata], file=file)
    ids = animals["animal"].astype(str)
    dup = ids.duplicated().to_numpy()
    if dup.any():
        pos = int(np.flatnonzero(dup)[0])
        raise InputError(f"animal '{ids.iloc[pos]}' is listed twice; every animal is "
                         "randomised exactly once", file=file, location=_where(animals, pos))
    x = np.empty((len(animals), len(covariates)))
    for j, c in enumerate(covariates):
        v = require_numeric(animals, c, file=file, allow_nan=True)
        if v.isna().any():
            pos = int(np.flatnonzero(v.isna().to_numpy())[0])
            raise InputError(f"animal '{ids.iloc[pos]}' has no value of '{c}', needed to "
                             "balance the arms", file=file, location=_where(animals, pos))
        x[:, j] = v.to_numpy()
    # a fixed order independent of the input's row order: sorted by animal id
    order = np.argsort(ids.to_numpy(), kind="stable")
    return animals.iloc[order].reset_index(drop=True), x[order]


def _where(animals: pd.DataFrame, pos: int) -> str:
    if "row" in animals.columns:
        return f"row {int(animals['row'].iloc[pos]) + 2}"
    return f"row {pos + 2}"


def randomise(
    animals: pd.DataFrame,
    *,
    arms: Sequence[str],
    balance: Sequence[str] = (),
    strata: Sequence[str] = (),
    method: Method = "minimisation",
    seed: int = 0,
    levels: int = 3,
    p_best: float = 0.8,
    file: str | Path | None = None,
) -> Randomisation:
    """Randomise animals into arms of fixed size, balanced on covariates.

    Parameters
    ----------
    animals
        One row per animal: ``animal`` and the ``balance`` and ``strata`` columns.
    arms
        Arm names, e.g. ``["vehicle", "LEN", "AI", "AI+LEN"]``.
    balance
        Numeric covariates to balance (e.g. ``["graft_pct", "weight_g"]``).
    strata
        Categorical columns to balance exactly (e.g. ``["cohort"]``).
    method
        ``"minimisation"`` (default), ``"stratified"`` or ``"simple"`` (:data:`METHODS`).
    seed
        Seed of :func:`numpy.random.default_rng`; the same seed gives the same table.
    levels
        Quantile bins of each numeric covariate (minimisation: every covariate;
        stratified: the second and later covariates; the first is rank-matched).
    p_best
        Minimisation: probability of the arm that minimises the imbalance (Pocock–Simon's
        biased coin; 1 = deterministic apart from ties).
    file
        The animals file, for messages.

    Returns
    -------
    Randomisation

    Raises
    ------
    InputError
        Fewer than two arms, fewer animals than arms, a missing covariate value, an animal
        listed twice, an unknown method.

    Examples
    --------
    >>> import pandas as pd
    >>> mice = pd.DataFrame({"animal": [f"M{i:02d}" for i in range(8)],
    ...                      "graft_pct": [1.2, 3.4, 2.2, 8.0, 1.5, 4.1, 2.9, 6.3]})
    >>> r = randomise(mice, arms=["vehicle", "LEN"], balance=["graft_pct"], seed=1)
    >>> r.table["arm"].value_counts().to_dict()
    {'vehicle': 4, 'LEN': 4}
    """
    if method not in METHODS:
        raise InputError(f"unknown randomisation method '{method}'; choose from "
                         f"{', '.join(METHODS)}")
    names = _check_arms(arms)
    if levels < 1:
        raise InputError(f"levels must be at least 1, got {levels}")
    if not 0 < p_best <= 1:
        raise InputError(f"p_best must be in (0, 1], got {p_best}")
    covs, strat = tuple(balance), tuple(strata)
    data, x = _prepare(animals, covs, strat, file)
    n, k = len(data), len(names)
    if n < k:
        raise InputError(f"{n} animal(s) cannot fill {k} arms", file=file)
    rng = np.random.default_rng(int(seed))
    sizes = arm_sizes(n, names)
    cats = [data[c].astype(str).to_numpy() for c in strat]
    if method == "simple":
        arm_idx, order = _simple(n, sizes, names, rng)
    elif method == "stratified":
        arm_idx, order = _stratified(x, cats, sizes, names, levels, rng)
    else:
        factors = [_quantile_bins(x[:, j], levels) for j in range(x.shape[1])]
        factors += [pd.factorize(c, sort=True)[0] for c in cats]
        arm_idx, order = _minimisation(factors, sizes, names, p_best, rng)
    keep = ["animal", *covs, *[c for c in strat if c not in covs]]
    table = data[keep].copy()
    table.insert(1, "arm", [names[i] for i in arm_idx])
    table["order"] = order + 1
    table = table.reset_index(drop=True)  # sorted by animal id (see _prepare)
    bal = balance_table(table, covs, arms=names, strata=strat)
    return Randomisation(table=table, balance=bal, method=method, seed=int(seed),
                         arms=names, covariates=covs, strata=strat,
                         details={"levels": levels, "p_best": p_best, "sizes": sizes})


def _simple(n: int, sizes: dict[str, int], names: tuple[str, ...],
            rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    labels = np.repeat(np.arange(len(names)), [sizes[a] for a in names])
    order = rng.permutation(n)
    arm_idx = np.empty(n, dtype=int)
    arm_idx[order] = labels[rng.permutation(n)]
    return arm_idx, _rank(order)


def _rank(order: np.ndarray) -> np.ndarray:
    """order[i] = animal processed i-th → processing position of each animal."""
    pos = np.empty(len(order), dtype=int)
    pos[order] = np.arange(len(order))
    return pos


def _stratified(x: np.ndarray, cats: list[np.ndarray], sizes: dict[str, int],
                names: tuple[str, ...], levels: int,
                rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    n, k = x.shape[0], len(names)
    keys: list[tuple[Any, ...]] = [tuple(c[i] for c in cats) for i in range(n)]
    if x.shape[1] > 1:
        bins = [_quantile_bins(x[:, j], levels) for j in range(1, x.shape[1])]
        keys = [key + tuple(int(b[i]) for b in bins) for i, key in enumerate(keys)]
    tiebreak = rng.permutation(n)
    rank_by = x[:, 0] if x.shape[1] else np.zeros(n)
    arm_idx = np.full(n, -1, dtype=int)
    processed: list[int] = []
    leftovers: list[int] = []
    for key in sorted(set(keys)):
        members = [i for i in range(n) if keys[i] == key]
        members.sort(key=lambda i: (rank_by[i], tiebreak[i]))
        full = len(members) // k * k
        for start in range(0, full, k):
            block = members[start:start + k]
            for i, a in zip(block, rng.permutation(k), strict=True):
                arm_idx[i] = a
            processed += block
        leftovers += members[full:]
    leftovers.sort(key=lambda i: (rank_by[i], tiebreak[i]))
    full = len(leftovers) // k * k
    for start in range(0, full, k):
        block = leftovers[start:start + k]
        for i, a in zip(block, rng.permutation(k), strict=True):
            arm_idx[i] = a
        processed += block
    last = leftovers[full:]
    if last:
        used = np.bincount(arm_idx[arm_idx >= 0], minlength=k)
        room = [j for j, a in enumerate(names) if used[j] < sizes[a]]
        for i, a in zip(last, rng.permutation(room)[:len(last)], strict=True):
            arm_idx[i] = int(a)
        processed += last
    return arm_idx, _rank(np.array(processed, dtype=int))


def _minimisation(factors: list[np.ndarray], sizes: dict[str, int], names: tuple[str, ...],
                  p_best: float, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    n, k = len(factors[0]) if factors else 0, len(names)
    if not factors:
        n = sum(sizes.values())
    cap = np.array([sizes[a] for a in names])
    order = rng.permutation(n)
    counts = [np.zeros((int(f.max()) + 1, k)) for f in factors]
    used = np.zeros(k, dtype=int)
    arm_idx = np.empty(n, dtype=int)
    for i in order:
        open_arms = np.flatnonzero(used < cap)
        score = np.zeros(len(open_arms))
        for f, c in zip(factors, counts, strict=True):
            row = c[f[i]]
            for j, a in enumerate(open_arms):
                trial = row.copy()
                trial[a] += 1
                score[j] += trial.max() - trial.min()
        best = open_arms[score == score.min()]
        if len(open_arms) > len(best) and rng.random() >= p_best:
            choice = int(rng.choice(np.setdiff1d(open_arms, best)))
        else:
            choice = int(rng.choice(best))
        arm_idx[i] = choice
        used[choice] += 1
        for f, c in zip(factors, counts, strict=True):
            c[f[i], choice] += 1
    return arm_idx, _rank(order)


def imbalance(table: pd.DataFrame, covariates: Sequence[str], *, arm: str = "arm") -> float:
    """Sum over covariates of ``(max arm mean − min arm mean) / overall SD``.

    0 = identical arm means; used to compare methods (smaller is better balanced).
    """
    total = 0.0
    for c in covariates:
        v = table[c].astype(float)
        sd = float(v.std(ddof=1))
        means = v.groupby(table[arm], sort=False).mean()
        if sd > 0:
            total += float(means.max() - means.min()) / sd
    return total


def balance_table(table: pd.DataFrame, covariates: Sequence[str], *,
                  arms: Sequence[str] | None = None, strata: Sequence[str] = (),
                  arm: str = "arm") -> pd.DataFrame:
    """Per arm mean, SD and range of each covariate with a test of imbalance.

    Parameters
    ----------
    table
        One row per animal with ``arm`` and the covariates.
    covariates
        Numeric covariates: one row per covariate × arm (:data:`BALANCE_COLUMNS`), the
        one-way ANOVA F test (:func:`preclin.stats.one_way_anova`) across arms and the
        largest standardised difference of arm means.
    arms
        Arm order (default: order of appearance).
    strata
        Categorical columns: one row per level × arm with the count (``n``) and the
        share of the arm at that level (``mean``); no test.
    arm
        The arm column.

    Returns
    -------
    pandas.DataFrame
    """
    from ..stats import one_way_anova

    order = list(arms) if arms is not None else list(dict.fromkeys(table[arm]))
    rows: list[dict[str, Any]] = []
    for c in covariates:
        v = table[c].astype(float)
        ok = v.notna()
        sd_all = float(v[ok].std(ddof=1)) if ok.sum() > 1 else np.nan
        stat = p = np.nan
        groups = table.loc[ok, arm]
        if groups.nunique() > 1 and ok.sum() > groups.nunique():
            aov = one_way_anova(v[ok].to_numpy(), groups.to_numpy())
            stat, p = float(aov["statistic"].iloc[0]), float(aov["p_value"].iloc[0])
        means = v.groupby(table[arm]).mean()
        smd = float(means.max() - means.min()) / sd_all if sd_all and sd_all > 0 else np.nan
        for a in order:
            x = v[(table[arm] == a) & ok]
            rows.append({"covariate": c, "arm": a, "n": len(x),
                         "mean": float(x.mean()) if len(x) else np.nan,
                         "sd": float(x.std(ddof=1)) if len(x) > 1 else np.nan,
                         "min": float(x.min()) if len(x) else np.nan,
                         "max": float(x.max()) if len(x) else np.nan,
                         "test": "one-way ANOVA", "statistic": stat, "p_value": p,
                         "max_smd": smd})
    for c in strata:
        col = table[c].astype(str)
        for level in sorted(col.unique()):
            for a in order:
                in_arm = table[arm] == a
                cnt = int((in_arm & (col == level)).sum())
                rows.append({"covariate": f"{c}={level}", "arm": a, "n": cnt,
                             "mean": cnt / int(in_arm.sum()) if in_arm.any() else np.nan,
                             "sd": np.nan, "min": np.nan, "max": np.nan, "test": "",
                             "statistic": np.nan, "p_value": np.nan, "max_smd": np.nan})
    return pd.DataFrame(rows, columns=list(BALANCE_COLUMNS))
