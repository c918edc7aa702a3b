"""ANOVA family: one-way (and Welch), two-way (type III), repeated measures, Kruskal–Wallis,
Friedman — equal to R ``aov``/``oneway.test``/``drop1``/``kruskal.test``/``friedman.test``.

Each returns a tidy :class:`pandas.DataFrame` with one row per effect and the columns of
:data:`ANOVA_COLUMNS` (``ss`` and ``ms`` are NaN for the rank tests).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd
from scipy import stats as st

__all__ = [
    "one_way_anova",
    "welch_anova",
    "two_way_anova",
    "repeated_measures_anova",
    "kruskal_wallis",
    "friedman",
    "ANOVA_COLUMNS",
]

ANOVA_COLUMNS = {
    "effect": "term (a factor, an interaction 'A:B', or 'Residuals')",
    "df": "degrees of freedom (numerator for the F test)",
    "df_den": "denominator degrees of freedom (NaN for chi-square tests and residuals)",
    "ss": "sum of squares (type III for two-way designs)",
    "ms": "mean square",
    "statistic": "F, or chi-square for Kruskal-Wallis / Friedman",
    "p_value": "p value",
}

ArrayLike = Sequence[float] | np.ndarray


def _frame(rows: list[dict[str, object]]) -> pd.DataFrame:
    return pd.DataFrame(rows, columns=list(ANOVA_COLUMNS))


def _split(values: ArrayLike, groups: ArrayLike) -> tuple[list[object], list[np.ndarray]]:
    v = np.asarray(values, dtype=float)
    g = np.asarray(groups, dtype=object)
    keep = ~np.isnan(v)
    v, g = v[keep], g[keep]
    levels = list(dict.fromkeys(g.tolist()))
    return levels, [v[g == lev] for lev in levels]


def one_way_anova(values: ArrayLike, groups: ArrayLike) -> pd.DataFrame:
    """Ordinary one-way ANOVA (R ``summary(aov(y ~ g))``): rows ``group`` and ``Residuals``."""
    _, samples = _split(values, groups)
    k = len(samples)
    n = sum(len(s) for s in samples)
    if k < 2 or n - k < 1:
        raise ValueError("one-way ANOVA needs at least 2 groups and residual df > 0")
    grand = np.concatenate(samples).mean()
    ssb = float(sum(len(s) * (s.mean() - grand) ** 2 for s in samples))
    ssw = float(sum(((s - s.mean()) ** 2).sum() for s in samples))
    dfb, dfw = k - 1, n - k
    f = (ssb / dfb) / (ssw / dfw)
    return _frame([
        {"effect": "group", "df": dfb, "df_den": dfw, "ss": ssb, "ms": ssb / dfb,
         "statistic": f, "p_value": float(st.f.sf(f, dfb, dfw))},
        {"effect": "Residuals", "df": dfw, "df_den": np.nan, "ss": ssw, "ms": ssw / dfw,
         "statistic": np.nan, "p_value": np.nan},
    ])


def welch_anova(values: ArrayLike, groups: ArrayLike) -> pd.DataFrame:
    """Welch's one-way ANOVA without equal variances (R ``oneway.test``; Prism's Welch)."""
    _, samples = _split(values, groups)
    k = len(samples)
    n = np.array([len(s) for s in samples], dtype=float)
    m = np.array([s.mean() for s in samples])
    v = np.array([s.var(ddof=1) for s in samples])
    w = n / v
    mw = (w * m).sum() / w.sum()
    tmp = ((1 - w / w.sum()) ** 2 / (n - 1)).sum() / (k**2 - 1)
    f = ((w * (m - mw) ** 2).sum() / (k - 1)) / (1 + 2 * (k - 2) * tmp)
    df2 = 1 / (3 * tmp)
    return _frame([{"effect": "group", "df": k - 1, "df_den": df2, "ss": np.nan,
                    "ms": np.nan, "statistic": f, "p_value": float(st.f.sf(f, k - 1, df2))}])


def _sum_coding(codes: np.ndarray, k: int) -> np.ndarray:
    """Sum-to-zero (``contr.sum``) columns of a factor with ``k`` levels."""
    x = np.zeros((len(codes), k - 1))
    for j in range(k - 1):
        x[codes == j, j] = 1.0
    x[codes == k - 1, :] = -1.0
    return x


def two_way_anova(values: ArrayLike, a: ArrayLike, b: ArrayLike, *,
                  names: tuple[str, str] = ("A", "B")) -> pd.DataFrame:
    """Two-way ANOVA with interaction, type III sums of squares (sum-to-zero contrasts).

    For balanced designs this equals R ``summary(aov(y ~ A * B))``; for unbalanced ones it
    is Prism's (regression) analysis and R ``drop1(lm(y ~ A * B, contrasts = contr.sum),
    . ~ ., test = "F")``.  Rows: ``A``, ``B``, ``A:B``, ``Residuals``.
    """
    y = np.asarray(values, dtype=float)
    fa = np.asarray(a, dtype=object)
    fb = np.asarray(b, dtype=object)
    keep = ~np.isnan(y)
    y, fa, fb = y[keep], fa[keep], fb[keep]
    la = list(dict.fromkeys(fa.tolist()))
    lb = list(dict.fromkeys(fb.tolist()))
    ca = np.array([la.index(v) for v in fa.tolist()])
    cb = np.array([lb.index(v) for v in fb.tolist()])
    xa = _sum_coding(ca, len(la))
    xb = _sum_coding(cb, len(lb))
    xab = np.einsum("ni,nj->nij", xa, xb).reshape(len(y), -1)
    blocks = {names[0]: xa, names[1]: xb, f"{names[0]}:{names[1]}": xab}
    one = np.ones((len(y), 1))

    def rss(cols: list[np.ndarray]) -> tuple[float, int]:
        x = np.hstack([one, *cols])
        beta, *_ = np.linalg.lstsq(x, y, rcond=None)
        r = y - x @ beta
        return float(r @ r), int(np.linalg.matrix_rank(x))

    full, rank = rss(list(blocks.values()))
    dfr = len(y) - rank
    if dfr < 1:
        raise ValueError("two-way ANOVA needs replicates (residual df > 0)")
    msr = full / dfr
    rows: list[dict[str, object]] = []
    for name in blocks:
        red, rank_red = rss([v for k, v in blocks.items() if k != name])
        ss = red - full
        df = rank - rank_red
        f = (ss / df) / msr
        rows.append({"effect": name, "df": df, "df_den": dfr, "ss": ss, "ms": ss / df,
                     "statistic": f, "p_value": float(st.f.sf(f, df, dfr))})
    rows.append({"effect": "Residuals", "df": dfr, "df_den": np.nan, "ss": full, "ms": msr,
                 "statistic": np.nan, "p_value": np.nan})
    return _frame(rows)


def _wide(values: ArrayLike, subject: ArrayLike, condition: ArrayLike) -> np.ndarray:
    t = pd.DataFrame({"v": np.asarray(values, dtype=float),
                      "s": np.asarray(subject, dtype=object),
                      "c": np.asarray(condition, dtype=object)})
    if t.duplicated(["s", "c"]).any():
        raise ValueError("repeated measures need one value per subject and condition")
    levels = list(dict.fromkeys(t["c"].tolist()))
    w = t.pivot(index="s", columns="c", values="v")[levels]
    if w.isna().any().any():
        raise ValueError("repeated measures need every subject measured in every condition")
    return w.to_numpy(dtype=float)


def repeated_measures_anova(values: ArrayLike, subject: ArrayLike,
                            condition: ArrayLike) -> pd.DataFrame:
    """One-way repeated-measures ANOVA (R ``aov(y ~ cond + Error(subject/cond))``).

    Rows ``condition`` (with the Greenhouse–Geisser ``epsilon`` and corrected ``p_gg``),
    ``subject`` and ``Residuals``.  Complete data only (every subject in every condition).
    """
    y = _wide(values, subject, condition)
    n, k = y.shape
    grand = y.mean()
    ss_c = float(n * ((y.mean(axis=0) - grand) ** 2).sum())
    ss_s = float(k * ((y.mean(axis=1) - grand) ** 2).sum())
    ss_e = float(((y - grand) ** 2).sum()) - ss_c - ss_s
    df_c, df_s, df_e = k - 1, n - 1, (k - 1) * (n - 1)
    f = (ss_c / df_c) / (ss_e / df_e)
    # Greenhouse-Geisser epsilon from the covariance of orthonormal contrasts
    q, _ = np.linalg.qr(np.column_stack([np.ones(k), np.eye(k)[:, : k - 1]]))
    c = q[:, 1:]
    s = c.T @ np.cov(y, rowvar=False) @ c
    eps = float(np.trace(s) ** 2 / (df_c * (s * s).sum()))
    out = _frame([
        {"effect": "condition", "df": df_c, "df_den": df_e, "ss": ss_c, "ms": ss_c / df_c,
         "statistic": f, "p_value": float(st.f.sf(f, df_c, df_e))},
        {"effect": "subject", "df": df_s, "df_den": np.nan, "ss": ss_s, "ms": ss_s / df_s,
         "statistic": np.nan, "p_value": np.nan},
        {"effect": "Residuals", "df": df_e, "df_den": np.nan, "ss": ss_e, "ms": ss_e / df_e,
         "statistic": np.nan, "p_value": np.nan},
    ])
    out["epsilon"] = [eps, np.nan, np.nan]
    out["p_gg"] = [float(st.f.sf(f, eps * df_c, eps * df_e)), np.nan, np.nan]
    return out


def kruskal_wallis(values: ArrayLike, groups: ArrayLike) -> pd.DataFrame:
    """Kruskal–Wallis test with tie correction (R ``kruskal.test``; scipy ``kruskal``)."""
    _, samples = _split(values, groups)
    r = st.kruskal(*samples)
    return _frame([{"effect": "group", "df": len(samples) - 1, "df_den": np.nan,
                    "ss": np.nan, "ms": np.nan, "statistic": float(r.statistic),
                    "p_value": float(r.pvalue)}])


def friedman(values: ArrayLike, subject: ArrayLike, condition: ArrayLike) -> pd.DataFrame:
    """Friedman test with tie correction (R ``friedman.test``), complete blocks only."""
    y = _wide(values, subject, condition)
    n, k = y.shape
    r = np.apply_along_axis(st.rankdata, 1, y)
    ties = 0.0
    for row in r:
        _, t = np.unique(row, return_counts=True)
        ties += float((t**3 - t).sum())
    stat = (12 * ((r.sum(axis=0) - n * (k + 1) / 2) ** 2).sum()
            / (n * k * (k + 1) - ties / (k - 1)))
    return _frame([{"effect": "condition", "df": k - 1, "df_den": np.nan, "ss": np.nan,
                    "ms": np.nan, "statistic": float(stat),
                    "p_value": float(st.chi2.sf(stat, k - 1))}])
