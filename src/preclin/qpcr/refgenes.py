"""Reference-gene stability: geNorm (Vandesompele et al. 2002) and NormFinder (Andersen et
al. 2004).

Both take a wide table — one row per sample, one column per candidate gene — of
**relative quantities on the linear scale** (``scale="linear"``), log2 quantities
(``scale="log2"``) or Cq values (``scale="cq"``, converted with ``log2 q = −log2(E)·Cq``).
Formulas: ``docs/methods/qpcr.md``.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from ..errors import InputError

__all__ = ["GenormResult", "NormFinderResult", "genorm", "genorm_m", "normfinder",
           "normfinder_stepwise"]


def _log2(data: pd.DataFrame, scale: str, efficiency: float) -> pd.DataFrame:
    if not isinstance(data, pd.DataFrame) or data.shape[1] < 2:
        raise InputError("reference-gene stability needs a table with one column per gene "
                         "(at least two genes)")
    x = data.apply(pd.to_numeric, errors="coerce").astype(float)
    bad = x.isna() & data.notna()
    if bad.any().any():
        col = bad.any().idxmax()
        raise InputError(f"gene {col!r}: non-numeric value {data.loc[bad[col], col].iloc[0]!r}")
    if x.isna().any().any():
        col = x.isna().any().idxmax()
        raise InputError(f"gene {col!r}: missing value in sample {x.index[x[col].isna()][0]!r}"
                         "; stability needs every gene in every sample")
    if scale == "linear":
        if (x <= 0).any().any():
            raise InputError("linear-scale quantities must be positive")
        return np.log2(x)
    if scale == "log2":
        return x
    if scale == "cq":
        return -math.log2(efficiency) * x
    raise InputError(f"unknown scale {scale!r}; use linear, log2 or cq")


def genorm_m(log2q: np.ndarray) -> np.ndarray:
    """geNorm M of each column of a samples × genes array of log2 quantities:
    M_j = mean over k ≠ j of SD_samples(log2 q_j − log2 q_k) (SD with n − 1)."""
    a = np.asarray(log2q, dtype=float)
    k = a.shape[1]
    diff = a[:, :, None] - a[:, None, :]
    sd = diff.std(axis=0, ddof=1)
    return sd.sum(axis=1) / (k - 1)


@dataclass(frozen=True)
class GenormResult:
    """Stepwise geNorm.

    Attributes
    ----------
    steps
        Long table ``n_genes, gene, M`` for every step (all genes → the last two).
    ranking
        ``rank, gene, M`` best first: the final pair (tied, rank 1 and 2 in their column
        order), then the genes in reverse order of removal with the M at their removal.
    mean_m
        ``n_genes, mean_M``: average M of the genes remaining at each step.
    pairwise_v
        ``n, label, V``: V_n/n+1 = SD(log2 NF_n − log2 NF_n+1), NF_n = geometric mean of
        the n best genes of the ranking; < 0.15 means n genes suffice (Vandesompele 2002).
    """

    steps: pd.DataFrame
    ranking: pd.DataFrame
    mean_m: pd.DataFrame
    pairwise_v: pd.DataFrame

    def tables(self) -> dict[str, pd.DataFrame]:
        """The result tables by name."""
        return {"genorm_steps": self.steps, "genorm_ranking": self.ranking,
                "genorm_mean_m": self.mean_m, "genorm_v": self.pairwise_v}


def genorm(data: pd.DataFrame, *, scale: str = "linear", efficiency: float = 2.0) -> GenormResult:
    """Stepwise geNorm: drop the gene with the largest M, recompute, until two remain.

    Parameters
    ----------
    data
        Samples × genes (see module docstring).
    scale, efficiency
        How to read the values (``efficiency`` for ``scale="cq"``).
    """
    lg = _log2(data, scale, efficiency)
    if lg.shape[0] < 2:
        raise InputError("geNorm needs at least two samples")
    genes = [str(c) for c in lg.columns]
    arr = lg.to_numpy()
    alive = list(range(len(genes)))
    steps, removed, means = [], [], []
    while True:
        m = genorm_m(arr[:, alive])
        for j, mj in zip(alive, m, strict=True):
            steps.append({"n_genes": len(alive), "gene": genes[j], "M": float(mj)})
        means.append({"n_genes": len(alive), "mean_M": float(m.mean())})
        if len(alive) == 2:
            final = [(genes[j], float(mj)) for j, mj in zip(alive, m, strict=True)]
            break
        worst = int(np.argmax(m))
        removed.append((genes[alive[worst]], float(m[worst])))
        del alive[worst]
    order = final + removed[::-1]
    ranking = pd.DataFrame([{"rank": i + 1, "gene": g, "M": mv}
                            for i, (g, mv) in enumerate(order)])
    idx = [genes.index(g) for g, _ in order]
    v = []
    for n in range(2, len(genes)):
        nf_n = arr[:, idx[:n]].mean(axis=1)
        nf_n1 = arr[:, idx[:n + 1]].mean(axis=1)
        v.append({"n": n, "label": f"V{n}/{n + 1}",
                  "V": float(np.std(nf_n - nf_n1, ddof=1))})
    return GenormResult(steps=pd.DataFrame(steps), ranking=ranking,
                        mean_m=pd.DataFrame(means),
                        pairwise_v=pd.DataFrame(v, columns=["n", "label", "V"]))


@dataclass(frozen=True)
class NormFinderResult:
    """NormFinder stability.

    Attributes
    ----------
    stability
        ``gene, rho, intergroup, intragroup_sd`` sorted best (lowest ρ) first.
    best_pair
        The best combination of two genes (grouped data only) and its stability.
    """

    stability: pd.DataFrame
    best_pair: tuple[str, str] | None
    best_pair_rho: float

    def tables(self) -> dict[str, pd.DataFrame]:
        """The result tables by name."""
        return {"normfinder": self.stability}


def _nf_components(lg: np.ndarray, groups: np.ndarray) -> tuple[np.ndarray, np.ndarray,
                                                                 np.ndarray, float]:
    """d_ig (intergroup differences), s²_ig (bias-corrected intragroup variances), n_g, γ²."""
    k = lg.shape[1]
    levels = list(dict.fromkeys(groups.tolist()))
    G = len(levels)
    s2 = np.empty((k, G))
    n = np.empty(G)
    means = np.empty((k, G))
    for gi, g in enumerate(levels):
        y = lg[groups == g]                               # samples × genes
        ng = y.shape[0]
        if ng < 2:
            raise InputError(f"NormFinder: group {g!r} has fewer than two samples")
        n[gi] = ng
        r = y - y.mean(axis=0) - y.mean(axis=1, keepdims=True) + y.mean()
        s = (r**2).sum(axis=0) / ((ng - 1) * (1 - 2 / k))
        s2[:, gi] = s - s.sum() / (k * (k - 1))
        means[:, gi] = y.mean(axis=0)
    d = means - means.mean(axis=1, keepdims=True) - means.mean(axis=0) + means.mean()
    if G > 1:
        gamma = float((d**2).sum() / ((G - 1) * (k - 1)) - (s2 / n).sum() / (k * G))
        gamma = max(gamma, 0.0)
    else:
        gamma = 0.0
    return d, s2, n, gamma


def normfinder(data: pd.DataFrame, groups: Sequence[object] | None = None, *,
               scale: str = "linear", efficiency: float = 2.0) -> NormFinderResult:
    """NormFinder stability ρ of each candidate gene (Andersen et al. 2004).

    Parameters
    ----------
    data
        Samples × genes (see module docstring).
    groups
        Group of each sample (row); ``None``: one group (ρ = intragroup SD).
    """
    lg = _log2(data, scale, efficiency)
    genes = [str(c) for c in lg.columns]
    k = len(genes)
    if k < 3:
        raise InputError("NormFinder needs at least three candidate genes")
    grp = np.asarray(list(groups) if groups is not None else ["all"] * len(lg), dtype=object)
    if grp.size != len(lg):
        raise InputError(f"groups has {grp.size} labels for {len(lg)} samples")
    d, s2, n, gamma = _nf_components(lg.to_numpy(), grp)
    G = d.shape[1]
    if G == 1:
        rho = np.sqrt(np.maximum(s2[:, 0], 0.0))
        inter = np.zeros(k)
        dnew = np.zeros_like(d)
        var = s2.copy()
    else:
        v = s2 / n
        with np.errstate(invalid="ignore", divide="ignore"):
            shrink = np.where(gamma + v > 0, gamma / (gamma + v), 0.0)
            dnew = d * shrink
            var = v + np.where(gamma + v > 0, gamma * v / (gamma + v), 0.0)
        rho = (np.abs(dnew) + np.sqrt(np.maximum(var, 0.0))).mean(axis=1)
        inter = np.abs(dnew).mean(axis=1)
    table = pd.DataFrame({"gene": genes, "rho": rho, "intergroup": inter,
                          "intragroup_sd": np.sqrt(np.maximum(s2, 0.0)).mean(axis=1)})
    table = table.sort_values("rho", kind="stable").reset_index(drop=True)
    pair: tuple[str, str] | None = None
    pair_rho = math.nan
    if G > 1:
        best = math.inf
        for i in range(k):
            for j in range(i + 1, k):
                dd = (dnew[i] + dnew[j]) / 2
                vv = (var[i] + var[j]) / 4
                r = float((np.abs(dd) + np.sqrt(np.maximum(vv, 0.0))).mean())
                if r < best:
                    best, pair = r, (genes[i], genes[j])
        pair_rho = best
    return NormFinderResult(stability=table, best_pair=pair, best_pair_rho=pair_rho)


def normfinder_stepwise(data: pd.DataFrame, groups: Sequence[object], *,
                        n: int | None = None, scale: str = "linear",
                        efficiency: float = 2.0) -> pd.DataFrame:
    """Stepwise NormFinder selection of a set of reference genes (NormqPCR ``selectHKs``).

    Step 1 takes the gene with the lowest ρ; step ``i`` adds the gene ``j`` that minimises
    the ρ of the set ``S ∪ {j}`` (``|S| + 1 = i``), computed from the shrunk intergroup
    differences ``d̂`` and variances ``v̂`` of the full ``k``-gene model as NormqPCR does::

        ρ(S ∪ {j}) = mean_g( |mean_{a∈S∪j} d̂_ag| · √(k/(k − i)) + √(mean_{a∈S∪j} v̂_ag / i) )

    (intragroup variances below 0 are set to 0 first, as ``stabMeasureRho``).

    Parameters
    ----------
    data
        Samples × genes (see module docstring).
    groups
        Group of each sample (at least two groups).
    n
        Genes to select (default and maximum: ``k − 1``).

    Returns
    -------
    pandas.DataFrame
        One row per step: ``step``, ``gene`` (the gene added), ``rho`` (ρ of the set of
        the genes selected so far).
    """
    lg = _log2(data, scale, efficiency)
    genes = [str(c) for c in lg.columns]
    k = len(genes)
    if k < 3:
        raise InputError("NormFinder needs at least three candidate genes")
    grp = np.asarray(list(groups), dtype=object)
    if grp.size != len(lg):
        raise InputError(f"groups has {grp.size} labels for {len(lg)} samples")
    d, s2, ng, _ = _nf_components(lg.to_numpy(), grp)
    if d.shape[1] < 2:
        raise InputError("stepwise NormFinder needs at least two groups")
    n = k - 1 if n is None else int(n)
    if not 1 <= n <= k - 1:
        raise InputError(f"n must be between 1 and {k - 1} (the number of genes − 1)")
    v = np.maximum(s2, 0.0) / ng
    gamma = max(float((d**2).sum() / ((d.shape[1] - 1) * (k - 1)) - v.mean()), 0.0)
    with np.errstate(invalid="ignore", divide="ignore"):
        dnew = np.where(gamma + v > 0, d * gamma / (gamma + v), 0.0)
        var = v + np.where(gamma + v > 0, gamma * v / (gamma + v), 0.0)
    rho1 = (np.abs(dnew) + np.sqrt(var)).mean(axis=1)
    chosen = [int(np.argmin(rho1))]
    rows = [{"step": 1, "gene": genes[chosen[0]], "rho": float(rho1[chosen[0]])}]
    for i in range(2, n + 1):
        best_j, best = -1, math.inf
        for j in range(k):
            if j in chosen:
                continue
            s = [*chosen, j]
            a2 = dnew[s].mean(axis=0) * math.sqrt(k / (k - i))
            b2 = var[s].mean(axis=0) / i
            r = float((np.abs(a2) + np.sqrt(b2)).mean())
            if r < best:
                best_j, best = j, r
        chosen.append(best_j)
        rows.append({"step": i, "gene": genes[best_j], "rho": best})
    return pd.DataFrame(rows, columns=["step", "gene", "rho"])
