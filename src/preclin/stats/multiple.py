"""Multiple comparisons after one-way ANOVA or Kruskal–Wallis, with Prism's adjusted p values.

* :func:`adjust_p` — Šídák, Holm–Šídák, Bonferroni, Holm (``p.adjust`` or formula).
* :func:`posthoc` — Tukey(-Kramer), Dunnett (vs a control, single-step multivariate t),
  Šídák, Holm–Šídák, Bonferroni and Fisher's LSD, all on the pooled ANOVA mean square
  with ``N − k`` df (Prism's default), with simultaneous 95 % CIs where Prism gives them.
* :func:`two_way_posthoc` — after a two-way ANOVA: the column levels compared within each
  row (simple effects, Prism's "compare cell means within each row") or the column main
  effect (least-squares means), on the interaction model's mean square.
* :func:`dunn` — Dunn's test after Kruskal–Wallis (mean-rank differences, tie-corrected
  variance), Bonferroni-adjusted as Prism reports it; :func:`friedman_dunn` after Friedman.

Pair order and sign follow Prism's "A vs B" rows: ``group1`` is the earlier level (the
control for vs-control families) and ``diff = mean(group1) − mean(group2)``.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from itertools import combinations

import numpy as np
import pandas as pd
from scipy import stats as st

__all__ = ["adjust_p", "posthoc", "two_way_posthoc", "dunn", "friedman_dunn", "dunnett_p",
           "ADJUST_METHODS", "POSTHOC_METHODS", "POSTHOC_COLUMNS"]

ADJUST_METHODS = ("sidak", "holm-sidak", "bonferroni", "holm", "bh", "none")
POSTHOC_METHODS = ("tukey", "dunnett", "sidak", "holm-sidak", "bonferroni", "fisher")

POSTHOC_COLUMNS = {
    "group1": "first group of the pair (the control for vs-control families)",
    "group2": "second group",
    "n1": "values in group1",
    "n2": "values in group2",
    "diff": "mean(group1) − mean(group2) (Dunn: mean-rank difference after Kruskal–Wallis, "
            "rank-sum difference after Friedman, as Prism)",
    "lower": "lower simultaneous 95 % CI of diff (NaN where Prism gives none)",
    "upper": "upper simultaneous 95 % CI of diff",
    "statistic": "t (q/√2 for Tukey is reported as t) or z for Dunn",
    "df": "degrees of freedom (pooled residual df; NaN for Dunn)",
    "p_unadj": "unadjusted two-sided p",
    "p_adj": "multiplicity-adjusted p as Prism reports it",
    "method": "comparison method",
}

ArrayLike = Sequence[float] | np.ndarray


def adjust_p(p: ArrayLike, method: str = "holm-sidak") -> np.ndarray:
    """Multiplicity-adjusted p values for one family (NaNs are left out of the family).

    ``sidak``: 1 − (1 − p)^K; ``bonferroni``: min(1, K p); ``holm``: R ``p.adjust``;
    ``holm-sidak``: step-down 1 − (1 − p₍ᵢ₎)^(K − i + 1), made monotone (Prism);
    ``bh``: Benjamini–Hochberg false discovery rate, min over j ≥ i of K p₍ⱼ₎/j (R
    ``p.adjust(p, "BH")``; ``fdr`` is an alias); ``none``.
    """
    if method == "fdr":
        method = "bh"
    pv = np.asarray(p, dtype=float)
    out = np.full(pv.shape, np.nan)
    ok = ~np.isnan(pv)
    q = pv[ok]
    k = len(q)
    if method == "none" or k == 0:
        out[ok] = q
        return out
    if method == "sidak":
        adj = 1 - (1 - q) ** k
    elif method == "bonferroni":
        adj = np.minimum(1.0, k * q)
    elif method == "bh":
        order = np.argsort(-q, kind="stable")  # largest p first
        step = np.minimum.accumulate(k / np.arange(k, 0, -1, dtype=float) * q[order])
        adj = np.empty(k)
        adj[order] = np.minimum(step, 1.0)
    elif method in ("holm", "holm-sidak"):
        order = np.argsort(q, kind="stable")
        m = k - np.arange(k)
        step = m * q[order] if method == "holm" else 1 - (1 - q[order]) ** m
        adj = np.empty(k)
        adj[order] = np.minimum(1.0, np.maximum.accumulate(step))
    else:
        raise ValueError(f"unknown adjustment '{method}'; choose from "
                         f"{', '.join(ADJUST_METHODS)}")
    out[ok] = adj
    return out


def _lambdas(n_control: float, n_other: np.ndarray) -> np.ndarray:
    return np.sqrt(n_other / (n_other + n_control))


def _gl_grid(lo: float, hi: float, panels: int, nodes: int = 20) -> tuple[np.ndarray,
                                                                           np.ndarray]:
    """Composite Gauss–Legendre nodes and weights on [lo, hi]."""
    x, w = np.polynomial.legendre.leggauss(nodes)
    edges = np.linspace(lo, hi, panels + 1)
    half = np.diff(edges) / 2
    mid = (edges[1:] + edges[:-1]) / 2
    return ((mid[:, None] + half[:, None] * x).ravel(), (half[:, None] * w).ravel())


def _dunnett_tail(q: float, lam: np.ndarray, df: float, complement: bool) -> float:
    """P(max |T_i| > q) (``complement``) or ≤ q for Dunnett's multivariate t.

    Dunnett's one-factor representation: correlations λᵢλⱼ with λᵢ = √(nᵢ/(nᵢ + n₀)), so
    P(all |T_i| ≤ q) = ∫ f_s(s) ∫ φ(z) ∏ᵢ [Φ((qs + λᵢz)/√(1−λᵢ²)) − Φ((−qs + λᵢz)/√(1−λᵢ²))]
    dz ds, with s = χ_df/√df.  Both integrals by composite Gauss–Legendre quadrature
    (smooth integrands; error ≲ 1e-12 absolute, checked against R ``integrate``).
    """
    from scipy.special import gammaln, ndtr

    z, wz = _gl_grid(-9.0, 9.0, 36)
    if np.isfinite(df):
        smax = 1.0 + 14.0 / math.sqrt(df)
        s, ws = _gl_grid(0.0, smax, 48)
        logc = math.log(2) + (df / 2) * math.log(df / 2) - float(gammaln(df / 2))
        dens = ws * np.exp(logc + (df - 1) * np.log(s) - df * s * s / 2)
    else:
        s, dens = np.ones(1), np.ones(1)
    prod = np.ones((len(s), len(z)))
    for lm in lam:
        r = math.sqrt(1 - lm * lm)
        prod *= ndtr((q * s[:, None] + lm * z) / r) - ndtr((-q * s[:, None] + lm * z) / r)
    vals = (1.0 - prod) if complement else prod
    inner = vals @ (wz * np.exp(-z * z / 2) / math.sqrt(2 * math.pi))
    return float(dens @ inner)


def dunnett_p(t: float, n_control: int, n_others: Sequence[int], df: float) -> float:
    """Single-step Dunnett adjusted p for |t| with group sizes ``n_others`` vs a control."""
    lam = _lambdas(float(n_control), np.asarray(n_others, dtype=float))
    return min(1.0, max(0.0, _dunnett_tail(abs(t), lam, df, True)))


def _dunnett_crit(lam: np.ndarray, df: float, conf: float) -> float:
    from scipy.optimize import brentq

    return float(brentq(lambda q: _dunnett_tail(q, lam, df, False) - conf, 1.0, 20.0, xtol=1e-12))


def _family(d: np.ndarray, se: np.ndarray, df: float, method: str, k: int,
            lam: np.ndarray | None, conf_level: float) -> tuple[np.ndarray, np.ndarray,
                                                               np.ndarray]:
    """Adjusted p values and simultaneous CIs of one family of differences ``d`` with
    standard errors ``se`` on ``df`` degrees of freedom: ``k`` means for Tukey's range,
    Dunnett's ``lam`` (λᵢ = √(vᵢ⁻¹/(vᵢ⁻¹ + v₀⁻¹)) from the variance factors) vs a control."""
    t = d / se
    p_un = 2 * st.t.sf(np.abs(t), df)
    m = len(d)
    alpha = 1 - conf_level
    crit = math.nan
    if method == "tukey":
        p_adj = st.studentized_range.sf(np.abs(t) * math.sqrt(2), k, df)
        crit = st.studentized_range.ppf(conf_level, k, df) / math.sqrt(2)
    elif method == "dunnett":
        assert lam is not None
        p_adj = np.array([min(1.0, max(0.0, _dunnett_tail(abs(x), lam, df, True)))
                          for x in t])
        crit = _dunnett_crit(lam, df, conf_level)
    elif method == "fisher":
        p_adj = p_un.copy()
        crit = st.t.ppf(1 - alpha / 2, df)
    else:
        p_adj = adjust_p(p_un, method)
        if method == "sidak":
            crit = st.t.ppf(1 - (1 - conf_level ** (1 / m)) / 2, df)
        elif method == "bonferroni":
            crit = st.t.ppf(1 - alpha / (2 * m), df)
    return np.asarray(p_adj, dtype=float), d - crit * se, d + crit * se


def _pairs(levels: list[object], control: object | None) -> list[tuple[object, object]]:
    if control is None:
        return list(combinations(levels, 2))
    if control not in levels:
        raise ValueError(f"control {control!r} is not a group level")
    return [(control, lev) for lev in levels if lev != control]


def posthoc(values: ArrayLike, groups: ArrayLike, *, method: str = "tukey",
            control: object | None = None, conf_level: float = 0.95) -> pd.DataFrame:
    """Comparisons of group means on the pooled one-way ANOVA variance (:data:`POSTHOC_COLUMNS`).

    ``tukey``: all pairs, studentized range (R ``TukeyHSD``; Tukey–Kramer when sizes
    differ).  ``dunnett``: each group vs ``control`` (default: the first level), single-step
    multivariate t (R ``multcomp::glht(mcp(g = "Dunnett"))``, computed by quadrature to
    ~1e-10).  ``sidak``, ``holm-sidak``, ``bonferroni``, ``fisher``: Fisher LSD t tests,
    then adjusted within the family (all pairs, or vs ``control`` when given); CIs for
    Šídák and Bonferroni (Prism gives none for Holm–Šídák).
    """
    if method not in POSTHOC_METHODS:
        raise ValueError(f"unknown method '{method}'; choose from {', '.join(POSTHOC_METHODS)}")
    v = np.asarray(values, dtype=float)
    g = np.asarray(groups, dtype=object)
    keep = ~np.isnan(v)
    v, g = v[keep], g[keep]
    levels = list(dict.fromkeys(g.tolist()))
    means = {lev: float(v[g == lev].mean()) for lev in levels}
    sizes = {lev: int((g == lev).sum()) for lev in levels}
    k = len(levels)
    df = len(v) - k
    if k < 2 or df < 1:
        raise ValueError("comparisons need at least 2 groups and residual df > 0")
    mse = sum(float(((v[g == lev] - means[lev]) ** 2).sum()) for lev in levels) / df
    if method == "dunnett" and control is None:
        control = levels[0]
    pairs = _pairs(levels, control if method != "tukey" else None)
    d = np.array([means[a] - means[b] for a, b in pairs])
    se = np.array([math.sqrt(mse * (1 / sizes[a] + 1 / sizes[b])) for a, b in pairs])
    t = d / se
    p_un = 2 * st.t.sf(np.abs(t), df)
    lam = None
    if method == "dunnett":
        lam = _lambdas(sizes[control], np.array([sizes[b] for _, b in pairs], dtype=float))
    p_adj, lower, upper = _family(d, se, float(df), method, k, lam, conf_level)
    return pd.DataFrame({
        "group1": [a for a, _ in pairs], "group2": [b for _, b in pairs],
        "n1": [sizes[a] for a, _ in pairs], "n2": [sizes[b] for _, b in pairs],
        "diff": d, "lower": lower, "upper": upper, "statistic": t,
        "df": float(df), "p_unadj": p_un, "p_adj": p_adj, "method": method,
    }, columns=list(POSTHOC_COLUMNS))


def dunn(values: ArrayLike, groups: ArrayLike, *, control: object | None = None,
         adjust: str = "bonferroni") -> pd.DataFrame:
    """Dunn's test after Kruskal–Wallis (:data:`POSTHOC_COLUMNS`; ``diff`` in mean ranks).

    z = (R̄₁ − R̄₂) / √((N(N+1)/12 − Σ(t³−t)/(12(N−1)))·(1/n₁ + 1/n₂)) on the ranks of all
    values; p adjusted over the family with ``adjust`` (Prism: Bonferroni).
    """
    v = np.asarray(values, dtype=float)
    g = np.asarray(groups, dtype=object)
    keep = ~np.isnan(v)
    v, g = v[keep], g[keep]
    levels = list(dict.fromkeys(g.tolist()))
    r = st.rankdata(v)
    n = len(v)
    _, t = np.unique(v, return_counts=True)
    s2 = n * (n + 1) / 12 - float((t.astype(float) ** 3 - t).sum()) / (12 * (n - 1))
    rbar = {lev: float(r[g == lev].mean()) for lev in levels}
    sizes = {lev: int((g == lev).sum()) for lev in levels}
    pairs = _pairs(levels, control)
    d = np.array([rbar[a] - rbar[b] for a, b in pairs])
    z = d / np.sqrt([s2 * (1 / sizes[a] + 1 / sizes[b]) for a, b in pairs])
    p_un = 2 * st.norm.sf(np.abs(z))
    return pd.DataFrame({
        "group1": [a for a, _ in pairs], "group2": [b for _, b in pairs],
        "n1": [sizes[a] for a, _ in pairs], "n2": [sizes[b] for _, b in pairs],
        "diff": d, "lower": np.nan, "upper": np.nan, "statistic": z, "df": np.nan,
        "p_unadj": p_un, "p_adj": adjust_p(p_un, adjust), "method": "dunn",
    }, columns=list(POSTHOC_COLUMNS))


def two_way_posthoc(values: ArrayLike, rows: ArrayLike, columns: ArrayLike, *,
                    compare: str = "within", method: str = "sidak",
                    control: object | None = None, family: str = "all",
                    conf_level: float = 0.95) -> pd.DataFrame:
    """Multiple comparisons after a two-way ANOVA with interaction.

    Every comparison uses the mean square and residual df (N − ab) of the full
    ``rows × columns`` model, as Prism and R ``emmeans`` on ``lm(y ~ A * B)`` do.

    Parameters
    ----------
    values, rows, columns
        One value per observation and its two factor levels (NaN values are left out).
    compare
        ``"within"``: the column levels compared within each row level, on the cell means
        (simple effects; Prism's "compare cell means within each row"; ``emmeans(fit,
        pairwise ~ B | A)``). ``"main"``: the column main effect, on least-squares means
        (the unweighted average of the cell means over the rows; ``emmeans(fit, pairwise
        ~ B)``); equal to the raw column means when the design is balanced.
    method
        ``tukey``, ``dunnett`` (vs ``control``, default the first column level),
        ``sidak``, ``holm-sidak``, ``bonferroni`` or ``fisher`` (unadjusted).
    control
        Column level the others are compared with (all pairs when None, except Dunnett).
    family
        For ``compare="within"``: ``"all"`` — Šídák, Holm–Šídák and Bonferroni adjust over
        every comparison of the table (Prism's family); ``"row"`` — each row is its own
        family (emmeans' ``by`` default). Tukey and Dunnett are always computed within each
        row (their distributions are those of one row's means).
    conf_level
        Simultaneous confidence level of ``lower``/``upper``.

    Returns
    -------
    pandas.DataFrame
        ``within`` (the row level; None for the main effect), then :data:`POSTHOC_COLUMNS`
        (``n1``, ``n2``: values behind each mean).

    Raises
    ------
    ValueError
        Unknown method/compare/family, an empty cell, or no residual df.
    """
    if method not in POSTHOC_METHODS:
        raise ValueError(f"unknown method '{method}'; choose from {', '.join(POSTHOC_METHODS)}")
    if compare not in ("within", "main"):
        raise ValueError(f"unknown compare '{compare}'; choose within or main")
    if family not in ("all", "row"):
        raise ValueError(f"unknown family '{family}'; choose all or row")
    v = np.asarray(values, dtype=float)
    fa = np.asarray(rows, dtype=object)
    fb = np.asarray(columns, dtype=object)
    if not len(v) == len(fa) == len(fb):
        raise ValueError("values, rows and columns must have the same length")
    keep = ~np.isnan(v)
    v, fa, fb = v[keep], fa[keep], fb[keep]
    la = list(dict.fromkeys(fa.tolist()))
    lb = list(dict.fromkeys(fb.tolist()))
    if len(lb) < 2:
        raise ValueError("comparisons need at least 2 column levels")
    means = np.zeros((len(la), len(lb)))
    sizes = np.zeros((len(la), len(lb)), dtype=np.int64)
    ss = 0.0
    for i, ra in enumerate(la):
        for j, cb in enumerate(lb):
            cell = v[(fa == ra) & (fb == cb)]
            if cell.size == 0:
                raise ValueError(f"cell ({ra}, {cb}) has no values; every row × column "
                                 "cell needs at least one")
            means[i, j] = cell.mean()
            sizes[i, j] = cell.size
            ss += float(((cell - means[i, j]) ** 2).sum())
    df = len(v) - means.size
    if df < 1:
        raise ValueError("the two-way comparisons need replicates (residual df > 0)")
    mse = ss / df
    if method == "dunnett" and control is None:
        control = lb[0]
    pairs = _pairs(lb, control if method != "tukey" else None)
    ij = [(lb.index(a), lb.index(b)) for a, b in pairs]
    k = len(lb)
    per_row = method in ("tukey", "dunnett") or family == "row"
    if compare == "main":
        mm = means.mean(axis=0)
        vf = (1.0 / sizes).sum(axis=0) / len(la) ** 2  # Var(LS mean) = MSE · vf
        blocks = [(None, np.array([mm[p] - mm[q] for p, q in ij]),
                   np.array([math.sqrt(mse * (vf[p] + vf[q])) for p, q in ij]),
                   1.0 / vf, sizes.sum(axis=0))]
    else:
        blocks = [(ra, np.array([means[i, p] - means[i, q] for p, q in ij]),
                   np.array([math.sqrt(mse * (1 / sizes[i, p] + 1 / sizes[i, q]))
                             for p, q in ij]), sizes[i].astype(float), sizes[i])
                  for i, ra in enumerate(la)]
    whole = not per_row and len(blocks) > 1  # one family over the whole table (Prism)
    if whole:
        d_all = np.concatenate([b[1] for b in blocks])
        se_all = np.concatenate([b[2] for b in blocks])
        fam = _family(d_all, se_all, float(df), method, k, None, conf_level)
    parts = []
    for r, (by, d, se, n_eff, n_obs) in enumerate(blocks):
        if whole:
            part = slice(r * len(ij), (r + 1) * len(ij))
            p_adj, lower, upper = (a[part] for a in fam)
        else:
            lam = None
            if method == "dunnett":
                c = lb.index(control)
                lam = _lambdas(n_eff[c], np.array([n_eff[q] for _, q in ij]))
            p_adj, lower, upper = _family(d, se, float(df), method, k, lam, conf_level)
        parts.append(pd.DataFrame({
            "within": by, "group1": [a for a, _ in pairs], "group2": [b for _, b in pairs],
            "n1": [int(n_obs[p]) for p, _ in ij], "n2": [int(n_obs[q]) for _, q in ij],
            "diff": d, "lower": lower, "upper": upper, "statistic": d / se,
            "df": float(df), "p_unadj": 2 * st.t.sf(np.abs(d / se), df), "p_adj": p_adj,
            "method": method}, columns=["within", *POSTHOC_COLUMNS]))
    out = pd.concat(parts, ignore_index=True)
    return out


def friedman_dunn(values: ArrayLike, subject: ArrayLike, condition: ArrayLike, *,
                  control: object | None = None, adjust: str = "bonferroni") -> pd.DataFrame:
    """Dunn's test after the Friedman test (:data:`POSTHOC_COLUMNS`), as Prism computes it.

    Values are ranked within each subject (ties get their mean rank); for conditions i, j
    with rank sums Rᵢ, Rⱼ over n subjects and k conditions, z = (Rᵢ − Rⱼ) / √(n k (k + 1)
    / 6), two-sided normal p, adjusted over the family with ``adjust`` (Prism:
    Bonferroni). ``diff`` is the rank-sum difference (Prism's "Rank sum diff."); no tie
    correction (Prism applies none). Complete blocks only, as :func:`~preclin.stats.friedman`.
    """
    from .anova import _wide

    t = pd.DataFrame({"s": np.asarray(subject, dtype=object),
                      "c": np.asarray(condition, dtype=object)})
    levels = list(dict.fromkeys(t["c"].tolist()))
    y = _wide(values, subject, condition)
    n, k = y.shape
    if k < 2 or n < 1:
        raise ValueError("Dunn's test needs at least 2 conditions")
    ranks = np.apply_along_axis(st.rankdata, 1, y)
    rsum = dict(zip(levels, ranks.sum(axis=0).tolist(), strict=True))
    pairs = _pairs(levels, control)
    d = np.array([rsum[a] - rsum[b] for a, b in pairs])
    z = d / math.sqrt(n * k * (k + 1) / 6)
    p_un = 2 * st.norm.sf(np.abs(z))
    return pd.DataFrame({
        "group1": [a for a, _ in pairs], "group2": [b for _, b in pairs],
        "n1": n, "n2": n, "diff": d, "lower": np.nan, "upper": np.nan, "statistic": z,
        "df": np.nan, "p_unadj": p_un, "p_adj": adjust_p(p_un, adjust),
        "method": "dunn-friedman"}, columns=list(POSTHOC_COLUMNS))
