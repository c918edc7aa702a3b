"""XL-mHG statistic, cutoff and exact p vs the published test vector and the exact-fraction
cases of ../shared/reference/expression/mhg."""

from __future__ import annotations

import json
from fractions import Fraction
from math import comb
from pathlib import Path

import numpy as np
import pytest

from preclin.enrichment import xlmhg_test


def _cases(expr_ref: Path) -> list[dict]:
    return json.loads((expr_ref / "mhg" / "mhg_cases.json").read_text())


def test_published_vector() -> None:
    v = [1, 0, 1, 1, 0, 1] + [0] * 12 + [1, 0]
    stat, cut, p = xlmhg_test(v)
    assert stat == pytest.approx(0.01393188854489164, rel=1e-12)
    assert cut == 6
    assert p == pytest.approx(0.0244453044375645, rel=1e-10)
    assert xlmhg_test(v, X=4)[2] == pytest.approx(0.01876934984520124, rel=1e-10)
    assert xlmhg_test(v, L=6)[2] == pytest.approx(0.019801341589267284, rel=1e-10)


def test_all_reference_cases(expr_ref: Path) -> None:
    for c in _cases(expr_ref):
        v = np.array([int(ch) for ch in c["v"]])
        stat, cut, p = xlmhg_test(v, X=c["X"], L=c["L"])
        assert stat == pytest.approx(float(Fraction(c["stat_exact"])), rel=1e-12), c["case"]
        assert cut == c["cutoff"], c["case"]
        assert p == pytest.approx(float(Fraction(c["pvalue_exact"])), rel=1e-10), c["case"]


def _exact_p(v: np.ndarray, stat: Fraction, X: int, L: int) -> Fraction:
    """Exact integer lattice walk (independent of the float kernel)."""
    n_tot, k_tot = len(v), int(v.sum())

    def tail(k: int, n: int) -> int:
        return sum(comb(k_tot, i) * comb(n_tot - k_tot, n - i)
                   for i in range(k, min(n, k_tot) + 1))

    w = [1] + [0] * k_tot
    for n in range(1, n_tot + 1):
        for k in range(min(n, k_tot), 0, -1):
            w[k] += w[k - 1]
        for k in range(max(X, 1), min(n, k_tot) + 1):
            if n <= L and tail(k, n) * stat.denominator <= stat.numerator * comb(n_tot, n):
                w[k] = 0
    return 1 - Fraction(w[k_tot], comb(n_tot, k_tot))


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_random_lists_against_exact_integers(seed: int) -> None:
    rng = np.random.default_rng(seed)
    n, k = 150, int(rng.integers(3, 25))
    v = np.zeros(n, dtype=int)
    v[rng.choice(60, k, replace=False)] = 1
    stat, cut, p = xlmhg_test(v)
    pos = np.flatnonzero(v) + 1
    exact = min(Fraction(sum(comb(k, i) * comb(n - k, c - i) for i in range(j, min(c, k) + 1)),
                         comb(n, c)) for j, c in enumerate(pos, start=1))
    assert stat == pytest.approx(float(exact), rel=1e-12)
    assert p == pytest.approx(float(_exact_p(v, exact, 1, n)), rel=1e-10)


def test_no_qualifying_cutoff() -> None:
    assert xlmhg_test([0, 0, 1, 0], X=2) == (1.0, 0, 1.0)
