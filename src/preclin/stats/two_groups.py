"""Two-group tests with an effect and its 95 % CI, equal to R's ``t.test`` / ``wilcox.test``.

Every function takes two samples ``x`` (group 1) and ``y`` (group 2) and returns a
:class:`TwoGroupResult`.  The effect is ``x − y`` (difference of means for t tests,
Hodges–Lehmann shift for rank tests); with ``log=True`` the data are analysed as
``log10`` and the effect is reported back on the original scale as a ratio ``x / y``
(ratio of geometric means, or the back-transformed Hodges–Lehmann shift).

Rank tests follow R's ``wilcox.test`` (R 4.2, ``correct = TRUE``, ``exact = NULL``): the
exact null distribution when both samples have fewer than 50 values and there are no ties
(and, for the signed-rank test, no zero differences), otherwise the normal approximation
with tie correction and continuity correction.  Their estimate and CI are R's: in the exact
case the median of the pairwise differences (Walsh averages) and order statistics from
``qwilcox``/``qsignrank``; in the approximate case the points where the continuity-corrected
normal statistic crosses ±1.96 (and 0 for the estimate), which R finds with ``uniroot``
to 1e-4 and preclin finds exactly (see ``docs/methods/stats.md``).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from functools import lru_cache

import numpy as np
from scipy import stats as st

__all__ = [
    "TwoGroupResult",
    "welch",
    "student",
    "paired_t",
    "mann_whitney",
    "wilcoxon_signed_rank",
    "two_group_test",
    "TWO_GROUP_TESTS",
]

ArrayLike = Sequence[float] | np.ndarray


@dataclass(frozen=True)
class TwoGroupResult:
    """Result of a two-group test.

    Attributes
    ----------
    test
        ``welch``, ``student``, ``paired``, ``mannwhitney`` or ``wilcoxon``.
    n1, n2
        Values used in group 1 and 2 (pairs for paired tests: ``n1 == n2``).
    statistic
        t for t tests, R's W (= Mann–Whitney U of group 1) or V (sum of positive ranks).
    df
        Degrees of freedom (t tests), NaN for rank tests.
    p_value
        Two-sided p value.
    effect, effect_lower, effect_upper
        Estimate and CI (see ``effect_kind``).
    effect_kind
        ``difference of means``, ``mean of differences``, ``Hodges-Lehmann shift``,
        ``Hodges-Lehmann pseudomedian`` or, with ``log=True``, ``ratio of geometric means``
        / ``Hodges-Lehmann ratio``.
    conf_level
        Confidence level actually achieved (exact rank CIs can fall short of 0.95 with few
        values, as in R, e.g. 0.75 for 3 pairs).
    method
        ``exact`` or ``normal approximation with continuity correction`` (rank tests),
        ``t`` otherwise.
    """

    test: str
    n1: int
    n2: int
    statistic: float
    df: float
    p_value: float
    effect: float
    effect_lower: float
    effect_upper: float
    effect_kind: str
    conf_level: float
    method: str

    def as_dict(self) -> dict[str, object]:
        """The result as a plain dict (one table row)."""
        return asdict(self)


def _clean(values: ArrayLike, name: str, log: bool) -> np.ndarray:
    a = np.asarray(values, dtype=float)
    a = a[~np.isnan(a)]
    if log:
        if np.any(a <= 0):
            raise ValueError(f"{name}: log scale needs positive values")
        a = np.log10(a)
    return a


def _back(v: float, log: bool) -> float:
    return float(10.0**v) if log else float(v)


def _result(test: str, n1: int, n2: int, stat: float, df: float, p: float, est: float,
            lo: float, hi: float, kind: str, log: bool, conf: float,
            method: str) -> TwoGroupResult:
    if log:
        kind = {"difference of means": "ratio of geometric means",
                "mean of differences": "ratio of geometric means",
                "Hodges-Lehmann shift": "Hodges-Lehmann ratio",
                "Hodges-Lehmann pseudomedian": "Hodges-Lehmann ratio"}[kind]
    return TwoGroupResult(test, n1, n2, float(stat), float(df), float(p), _back(est, log),
                          _back(lo, log), _back(hi, log), kind, float(conf), method)


# ---------------------------------------------------------------------------- t tests
def _ttest(test: str, x: ArrayLike, y: ArrayLike, log: bool, conf: float) -> TwoGroupResult:
    a = _clean(x, "group 1", log)
    b = _clean(y, "group 2", log)
    if test == "paired":
        if len(a) != len(b):
            raise ValueError("paired t test needs the same number of values in both groups")
        if len(a) < 2:
            raise ValueError("paired t test needs at least 2 pairs")
        r = st.ttest_rel(a, b)
        est, kind = float(np.mean(a - b)), "mean of differences"
    else:
        if len(a) < 2 or len(b) < 2:
            raise ValueError("t test needs at least 2 values per group")
        r = st.ttest_ind(a, b, equal_var=(test == "student"))
        est, kind = float(np.mean(a) - np.mean(b)), "difference of means"
    ci = r.confidence_interval(confidence_level=conf)
    return _result(test, len(a), len(b), r.statistic, r.df, r.pvalue, est, ci.low, ci.high,
                   kind, log, conf, "t")


def welch(x: ArrayLike, y: ArrayLike, *, log: bool = False,
          conf_level: float = 0.95) -> TwoGroupResult:
    """Welch's unequal-variances t test (R ``t.test(x, y)``; Prism's recommended default)."""
    return _ttest("welch", x, y, log, conf_level)


def student(x: ArrayLike, y: ArrayLike, *, log: bool = False,
            conf_level: float = 0.95) -> TwoGroupResult:
    """Student's pooled-variance t test (R ``t.test(x, y, var.equal = TRUE)``)."""
    return _ttest("student", x, y, log, conf_level)


def paired_t(x: ArrayLike, y: ArrayLike, *, log: bool = False,
             conf_level: float = 0.95) -> TwoGroupResult:
    """Paired t test on ``x[i] − y[i]`` (R ``t.test(x, y, paired = TRUE)``)."""
    return _ttest("paired", x, y, log, conf_level)


# ------------------------------------------------------------ exact rank distributions
@lru_cache(maxsize=256)
def _mw_counts(m: int, n: int) -> tuple[int, ...]:
    """Number of arrangements giving U = 0..m*n (Gaussian binomial coefficient)."""
    deg = m * n
    c = [0] * (deg + 1)
    c[0] = 1
    for i in range(1, m + 1):
        a = n + i  # multiply by (1 - q^a)
        for k in range(deg, a - 1, -1):
            c[k] -= c[k - a]
        for k in range(i, deg + 1):  # divide by (1 - q^i)
            c[k] += c[k - i]
    return tuple(c)


@lru_cache(maxsize=256)
def _sr_counts(n: int) -> tuple[int, ...]:
    """Number of sign patterns giving V = 0..n(n+1)/2."""
    deg = n * (n + 1) // 2
    c = [0] * (deg + 1)
    c[0] = 1
    for i in range(1, n + 1):
        for k in range(deg, i - 1, -1):
            c[k] += c[k - i]
    return tuple(c)


def _cdf(counts: tuple[int, ...], q: float) -> float:
    k = math.floor(q + 1e-7)
    if k < 0:
        return 0.0
    return sum(counts[: k + 1]) / sum(counts)


def _quantile(counts: tuple[int, ...], p: float) -> int:
    """R's ``qwilcox``/``qsignrank`` for p <= 0.5: smallest q with P(≤ q) ≥ p − 10ε."""
    total = sum(counts)
    target = p - 10 * np.finfo(float).eps
    acc = 0.0
    for q, c in enumerate(counts):
        acc += c / total
        if acc >= target:
            return q
    return len(counts) - 1  # pragma: no cover


def _exact_two_sided(counts: tuple[int, ...], stat: float, centre: float) -> float:
    if stat > centre:
        p = 1.0 - _cdf(counts, stat - 1)
    else:
        p = _cdf(counts, stat)
    return min(2.0 * p, 1.0)


def _step_root(f: Callable[[float], float], breakpoints: np.ndarray) -> float:
    """Where a non-increasing step function (jumps at ``breakpoints``) crosses zero.

    The root R's ``uniroot`` approaches: the first breakpoint at or just after which the
    function is ≤ 0; the middle of a stretch where it is exactly 0.
    """
    bps = np.unique(breakpoints)
    if len(bps) > 1:
        pts = np.empty(2 * len(bps) - 1)
        pts[0::2] = bps
        pts[1::2] = (bps[1:] + bps[:-1]) / 2
    else:
        pts = bps
    vals = [f(float(p)) for p in pts]
    hit = [i for i, v in enumerate(vals) if v <= 0]
    if not hit:
        return float(bps[-1])
    i = hit[0]
    lo = pts[i] if i % 2 == 0 else pts[i - 1]
    if vals[i] != 0:
        return float(lo)
    j = i
    while j + 1 < len(vals) and vals[j + 1] == 0:
        j += 1
    hi = pts[j] if j % 2 == 0 else pts[j + 1]
    return float((lo + hi) / 2)


def _tie_term(ranks: np.ndarray) -> float:
    _, t = np.unique(ranks, return_counts=True)
    return float(np.sum(t.astype(float) ** 3 - t))


# --------------------------------------------------------------------- Mann-Whitney
def mann_whitney(x: ArrayLike, y: ArrayLike, *, log: bool = False,
                 conf_level: float = 0.95) -> TwoGroupResult:
    """Wilcoxon rank-sum / Mann–Whitney test (R ``wilcox.test(x, y, conf.int = TRUE)``).

    ``statistic`` is R's W (the Mann–Whitney U of ``x``); the effect is the Hodges–Lehmann
    shift ``x − y`` (a ratio with ``log=True``).
    """
    a = _clean(x, "group 1", log)
    b = _clean(y, "group 2", log)
    m, n = len(a), len(b)
    if m < 1 or n < 1:
        raise ValueError("Mann-Whitney test needs at least 1 value per group")
    ranks = st.rankdata(np.concatenate([a, b]))
    w = float(ranks[:m].sum() - m * (m + 1) / 2)
    ties = len(np.unique(ranks)) != len(ranks)
    alpha = 1.0 - conf_level
    diffs = np.sort(np.subtract.outer(a, b).ravel())
    if m < 50 and n < 50 and not ties:
        counts = _mw_counts(m, n)
        p = _exact_two_sided(counts, w, m * n / 2)
        qu = _quantile(counts, alpha / 2) or 1
        ql = m * n - qu
        achieved = 2.0 * _cdf(counts, qu - 1)
        conf = 1.0 - achieved if achieved - alpha > alpha / 2 else conf_level
        return _result("mannwhitney", m, n, w, math.nan, p, float(np.median(diffs)),
                       diffs[qu - 1], diffs[ql], "Hodges-Lehmann shift", log, conf, "exact")
    r = st.mannwhitneyu(a, b, alternative="two-sided", use_continuity=True,
                        method="asymptotic")
    nn = m + n

    def wstat(d: float, correct: bool) -> float:
        rk = st.rankdata(np.concatenate([a - d, b]))
        dz = rk[:m].sum() - m * (m + 1) / 2 - m * n / 2
        cc = 0.5 * np.sign(dz) if correct else 0.0
        sigma = math.sqrt(m * n / 12 * ((nn + 1) - _tie_term(rk) / (nn * (nn - 1))))
        return float((dz - cc) / sigma)

    z = float(st.norm.ppf(1 - alpha / 2))
    lo = _step_root(lambda d: wstat(d, True) - z, diffs)
    hi = _step_root(lambda d: wstat(d, True) + z, diffs)
    est = _step_root(lambda d: wstat(d, False), diffs)
    return _result("mannwhitney", m, n, w, math.nan, float(r.pvalue), est, lo, hi,
                   "Hodges-Lehmann shift", log, conf_level,
                   "normal approximation with continuity correction")


# ----------------------------------------------------------------- signed-rank test
def wilcoxon_signed_rank(x: ArrayLike, y: ArrayLike, *, log: bool = False,
                         conf_level: float = 0.95) -> TwoGroupResult:
    """Wilcoxon signed-rank test on ``x[i] − y[i]`` (R ``wilcox.test(x, y, paired = TRUE)``).

    Zero differences are dropped (R's default); ``statistic`` is R's V (sum of the ranks of
    the positive differences); the effect is the Hodges–Lehmann pseudomedian of the
    differences (a ratio with ``log=True``).  ``n1 = n2`` counts all pairs, zeros included.
    """
    a = np.asarray(x, dtype=float)
    b = np.asarray(y, dtype=float)
    if a.shape != b.shape:
        raise ValueError("signed-rank test needs the same number of values in both groups")
    keep = ~(np.isnan(a) | np.isnan(b))
    a, b = _clean(a[keep], "group 1", log), _clean(b[keep], "group 2", log)
    npairs = len(a)
    d = a - b
    zeros = bool(np.any(d == 0))
    d = d[d != 0]
    n = len(d)
    if n < 1:
        raise ValueError("signed-rank test needs at least one non-zero difference")
    ranks = st.rankdata(np.abs(d))
    v = float(ranks[d > 0].sum())
    ties = len(np.unique(ranks)) != len(ranks)
    alpha = 1.0 - conf_level
    iu = np.triu_indices(n)
    walsh = np.sort(np.add.outer(d, d)[iu] / 2)
    if n < 50 and not ties and not zeros:
        counts = _sr_counts(n)
        p = _exact_two_sided(counts, v, n * (n + 1) / 4)
        qu = _quantile(counts, alpha / 2) or 1
        ql = n * (n + 1) // 2 - qu
        achieved = 2.0 * _cdf(counts, qu - 1)
        conf = 1.0 - float(f"{achieved:.2g}") if achieved - alpha > alpha / 2 else conf_level
        return _result("wilcoxon", npairs, npairs, v, math.nan, p, float(np.median(walsh)),
                       walsh[qu - 1], walsh[ql], "Hodges-Lehmann pseudomedian", log, conf,
                       "exact")
    z0 = v - n * (n + 1) / 4
    sigma = math.sqrt(n * (n + 1) * (2 * n + 1) / 24 - _tie_term(ranks) / 48)
    zc = (z0 - 0.5 * np.sign(z0)) / sigma
    p = float(2 * st.norm.sf(abs(zc)))

    def wstat(mu: float, correct: bool) -> float:
        xd = d - mu
        xd = xd[xd != 0]
        k = len(xd)
        rk = st.rankdata(np.abs(xd))
        zd = rk[xd > 0].sum() - k * (k + 1) / 4
        s = math.sqrt(k * (k + 1) * (2 * k + 1) / 24 - _tie_term(rk) / 48)
        cc = 0.5 * np.sign(zd) if correct else 0.0
        return float((zd - cc) / s)

    q = float(st.norm.ppf(1 - alpha / 2))
    lo = _step_root(lambda mu: wstat(mu, True) - q, walsh)
    hi = _step_root(lambda mu: wstat(mu, True) + q, walsh)
    est = _step_root(lambda mu: wstat(mu, False), walsh)
    return _result("wilcoxon", npairs, npairs, v, math.nan, p, est, lo, hi,
                   "Hodges-Lehmann pseudomedian", log, conf_level,
                   "normal approximation with continuity correction")


#: test name -> (function, paired?)
TWO_GROUP_TESTS: dict[str, tuple[Callable[..., TwoGroupResult], bool]] = {
    "welch": (welch, False),
    "student": (student, False),
    "paired": (paired_t, True),
    "mannwhitney": (mann_whitney, False),
    "wilcoxon": (wilcoxon_signed_rank, True),
}


def two_group_test(test: str, x: ArrayLike, y: ArrayLike, *, log: bool = False,
                   conf_level: float = 0.95) -> TwoGroupResult:
    """Run one of :data:`TWO_GROUP_TESTS` by name."""
    try:
        fn, _ = TWO_GROUP_TESTS[test]
    except KeyError:
        raise ValueError(f"unknown test '{test}'; choose from "
                         f"{', '.join(TWO_GROUP_TESTS)}") from None
    return fn(x, y, log=log, conf_level=conf_level)
