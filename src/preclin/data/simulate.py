"""Seeded simulation of dose-response curves for tests and benchmarks.

Curves follow the four-parameter log-logistic model in the parameterisation of
the R package drc (``LL.4``)::

    f(x) = c + (d - c) / (1 + exp(b * (log(x) - log(e))))

with ``c`` the bottom, ``d`` the top, ``e`` the EC50 and ``b > 0`` the hill slope
(so the response *decreases* with dose, as % viability does). Every random draw
comes from one :func:`numpy.random.default_rng` generator seeded by the caller, so
the same arguments always give the same table, byte for byte.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd

__all__ = [
    "DEFAULT_KIND_WEIGHTS",
    "CURVE_KINDS",
    "default_doses",
    "simulate_curves",
]

#: Mixture weights used when ``kinds`` is not given to :func:`simulate_curves`.
DEFAULT_KIND_WEIGHTS: Mapping[str, float] = {
    "normal": 0.45,
    "flat": 0.12,
    "partial": 0.13,
    "steep": 0.10,
    "noisy": 0.10,
    "above_range": 0.05,
    "below_range": 0.05,
}

#: Every curve kind :func:`simulate_curves` knows, in a fixed order.
CURVE_KINDS: tuple[str, ...] = tuple(DEFAULT_KIND_WEIGHTS)

_FLAT_LEVEL = 100.0  # % viability of a curve without effect
_NOISY_FACTOR = 4.0  # noise sd multiplier of the "noisy" kind


def default_doses(include_zero: bool = False) -> np.ndarray:
    """Return the default dose series in µM, ascending.

    A 9-point 1:3 dilution series from 10 µM down (10, 3.33, 1.11, ...,
    0.00152 µM), optionally preceded by a 0 µM vehicle point.

    Parameters
    ----------
    include_zero
        Prepend a 0 µM (vehicle) dose.

    Returns
    -------
    numpy.ndarray
        Float64 doses in ascending order.
    """
    doses = np.sort(10.0 / 3.0 ** np.arange(9))
    if include_zero:
        doses = np.concatenate([[0.0], doses])
    return doses


def _ll4(
    x: np.ndarray, bottom: np.ndarray, top: np.ndarray, ec50: np.ndarray, hill: np.ndarray
) -> np.ndarray:
    """Evaluate drc's LL.4 model; the limit ``top`` is returned at dose 0."""
    x = np.asarray(x, dtype=float)
    with np.errstate(divide="ignore", over="ignore", invalid="ignore"):
        z = np.exp(hill * (np.log(x) - np.log(ec50)))
        y = bottom + (top - bottom) / (1.0 + z)
    return np.where(x == 0.0, top, y)


def _check_kinds(kinds: Mapping[str, float] | None) -> tuple[list[str], np.ndarray]:
    if kinds is None:
        kinds = DEFAULT_KIND_WEIGHTS
    names = list(kinds)
    if not names:
        raise ValueError("kinds must name at least one curve kind")
    unknown = [k for k in names if k not in CURVE_KINDS]
    if unknown:
        raise ValueError(f"unknown curve kind(s) {unknown}; known kinds are {list(CURVE_KINDS)}")
    weights = np.array([float(kinds[k]) for k in names], dtype=float)
    if not np.all(np.isfinite(weights)) or np.any(weights < 0) or weights.sum() <= 0:
        raise ValueError("kind weights must be finite, non-negative and not all zero")
    return names, weights / weights.sum()


def _check_doses(doses: Sequence[float] | None, include_zero: bool) -> np.ndarray:
    if doses is None:
        return default_doses(include_zero)
    arr = np.asarray(doses, dtype=float).ravel()
    if arr.size == 0:
        raise ValueError("doses must not be empty")
    if not np.all(np.isfinite(arr)) or np.any(arr < 0):
        raise ValueError("doses must be finite and non-negative (µM)")
    if include_zero and not np.any(arr == 0.0):
        arr = np.concatenate([[0.0], arr])
    arr = np.unique(arr)  # sorted ascending, duplicates removed
    if not np.any(arr > 0):
        raise ValueError("doses must contain at least one positive dose")
    return arr


def simulate_curves(
    n_curves: int,
    *,
    seed: int,
    doses: Sequence[float] | None = None,
    replicates: int = 3,
    kinds: Mapping[str, float] | None = None,
    noise_sd: float = 5.0,
    include_zero: bool = False,
) -> pd.DataFrame:
    """Simulate a long table of % viability dose-response curves.

    Each curve is given a kind, drawn independently with the probabilities in
    ``kinds``, and the true parameters of drc's ``LL.4`` model
    ``c + (d - c) / (1 + exp(b * (log(x) - log(e))))`` (``c`` bottom, ``d`` top,
    ``e`` EC50, ``b > 0`` hill, response decreasing with dose). Gaussian noise
    is added to every replicate.

    ===============  ============================================================
    kind             true parameters
    ===============  ============================================================
    ``normal``       bottom U(0, 20), top U(90, 110), EC50 log-uniform between the
                     lowest and the highest positive dose, hill U(0.7, 2.5)
    ``flat``         no effect: constant 100 % plus noise (parameters NaN)
    ``partial``      as ``normal`` but bottom U(40, 70)
    ``steep``        as ``normal`` but hill U(6, 15)
    ``noisy``        as ``normal`` but noise sd ``4 * noise_sd``
    ``above_range``  as ``normal`` but EC50 3-30x (log-uniform) above the top dose
    ``below_range``  as ``normal`` but EC50 3-30x (log-uniform) below the lowest
                     positive dose
    ===============  ============================================================

    Parameters
    ----------
    n_curves
        Number of curves (>= 0).
    seed
        Seed of :func:`numpy.random.default_rng`, the only source of randomness:
        the same arguments give an identical table.
    doses
        Doses in µM. Default: :func:`default_doses` (9-point 1:3 dilution from
        10 µM down). Sorted ascending; duplicates are dropped.
    replicates
        Replicate wells per dose (>= 1).
    kinds
        Mixture weights by kind (need not sum to 1). Default
        :data:`DEFAULT_KIND_WEIGHTS`: normal 0.45, flat 0.12, partial 0.13,
        steep 0.1, noisy 0.1, above_range 0.05, below_range 0.05.
    noise_sd
        Standard deviation of the additive Gaussian noise, in % viability.
        ``0`` gives noiseless curves.
    include_zero
        Add a 0 µM vehicle dose (its expected response is the top).

    Returns
    -------
    pandas.DataFrame
        One row per curve, dose and replicate, in that order (doses ascending),
        with columns ``curve`` (str, ``"c0001"``, ...), ``kind`` (str), ``dose``
        (float, µM), ``replicate`` (int, from 1), ``response`` (float,
        % viability) and the true parameters ``true_bottom``, ``true_top``,
        ``true_ec50`` (µM) and ``true_hill``, constant within a curve and NaN
        for ``flat`` curves.

    Raises
    ------
    ValueError
        On a negative ``n_curves``, ``replicates < 1``, a negative or non-finite
        ``noise_sd``, unknown kinds or bad weights, or bad doses.

    Examples
    --------
    >>> df = simulate_curves(2, seed=1, kinds={"normal": 1.0}, noise_sd=0.0)
    >>> list(df.columns[:5])
    ['curve', 'kind', 'dose', 'replicate', 'response']
    >>> len(df)  # 2 curves x 9 doses x 3 replicates
    54
    """
    if isinstance(n_curves, bool) or int(n_curves) != n_curves or n_curves < 0:
        raise ValueError(f"n_curves must be a non-negative integer, got {n_curves!r}")
    if isinstance(replicates, bool) or int(replicates) != replicates or replicates < 1:
        raise ValueError(f"replicates must be a positive integer, got {replicates!r}")
    noise_sd = float(noise_sd)
    if not np.isfinite(noise_sd) or noise_sd < 0:
        raise ValueError(f"noise_sd must be finite and >= 0, got {noise_sd!r}")
    n = int(n_curves)
    reps = int(replicates)
    names, probs = _check_kinds(kinds)
    dose_arr = _check_doses(doses, include_zero)
    positive = dose_arr[dose_arr > 0]
    lo, hi = float(positive.min()), float(positive.max())

    rng = np.random.default_rng(seed)

    # Draw order is fixed (and independent of the kinds drawn) so a table only
    # depends on the arguments: kinds, then one uniform per parameter per curve,
    # then the noise.
    kind_idx = rng.choice(len(names), size=n, p=probs)
    kind = np.array(names, dtype=object)[kind_idx] if n else np.array([], dtype=object)
    u_bottom = rng.uniform(size=n)
    u_top = rng.uniform(size=n)
    u_ec50 = rng.uniform(size=n)
    u_hill = rng.uniform(size=n)
    noise = rng.standard_normal(size=(n, dose_arr.size, reps))

    bottom = 0.0 + 20.0 * u_bottom
    top = 90.0 + 20.0 * u_top
    ec50 = np.exp(np.log(lo) + (np.log(hi) - np.log(lo)) * u_ec50)
    hill = 0.7 + (2.5 - 0.7) * u_hill
    sd = np.full(n, noise_sd)

    is_kind = {k: kind == k for k in CURVE_KINDS}
    bottom = np.where(is_kind["partial"], 40.0 + 30.0 * u_bottom, bottom)
    hill = np.where(is_kind["steep"], 6.0 + 9.0 * u_hill, hill)
    sd = np.where(is_kind["noisy"], _NOISY_FACTOR * noise_sd, sd)
    factor = np.exp(np.log(3.0) + (np.log(30.0) - np.log(3.0)) * u_ec50)
    ec50 = np.where(is_kind["above_range"], hi * factor, ec50)
    ec50 = np.where(is_kind["below_range"], lo / factor, ec50)
    flat = is_kind["flat"]
    for arr in (bottom, top, ec50, hill):
        arr[flat] = np.nan

    mean = _ll4(dose_arr[None, :], bottom[:, None], top[:, None], ec50[:, None], hill[:, None])
    mean = np.where(flat[:, None], _FLAT_LEVEL, mean)
    response = mean[:, :, None] + sd[:, None, None] * noise

    width = max(4, len(str(n)))
    curve_ids = [f"c{i:0{width}d}" for i in range(1, n + 1)]
    per_curve = dose_arr.size * reps
    df = pd.DataFrame(
        {
            "curve": pd.Series(np.repeat(np.array(curve_ids, dtype=object), per_curve), dtype=str),
            "kind": pd.Series(np.repeat(kind, per_curve), dtype=str),
            "dose": np.tile(np.repeat(dose_arr, reps), n).astype(float),
            "replicate": np.tile(np.arange(1, reps + 1, dtype=np.int64), n * dose_arr.size),
            "response": response.reshape(-1).astype(float),
            "true_bottom": np.repeat(bottom, per_curve),
            "true_top": np.repeat(top, per_curve),
            "true_ec50": np.repeat(ec50, per_curve),
            "true_hill": np.repeat(hill, per_curve),
        }
    )
    return df
