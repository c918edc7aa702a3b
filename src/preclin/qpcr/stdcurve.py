"""Standard curves: Cq = intercept + slope · log10(quantity), efficiency and quantities.

Per target, ordinary least squares of Cq on log10(quantity) over the standard wells with a
Cq (undetermined standards are left out and listed). The amplification factor is
``E = 10^(−1/slope)`` (2 = 100 % efficiency; the percent efficiency is ``(E − 1)·100``);
its 95 % CI maps the slope's t interval (df = n − 2) through that monotone function and its
standard error is the delta-method ``E·ln10·SE(slope)/slope²``. Definitions and references:
``docs/methods/qpcr.md``.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

from ..errors import InputError

__all__ = ["CURVE_COLUMNS", "standard_curve", "fit_line", "quantify", "efficiency_check"]

#: columns of :func:`standard_curve`'s table
CURVE_COLUMNS: dict[str, str] = {
    "target": "target (gene)",
    "n": "standard wells used",
    "levels": "distinct quantities used",
    "slope": "cycles per log10 of quantity",
    "intercept": "Cq at quantity 1",
    "r2": "coefficient of determination",
    "efficiency": "amplification factor E = 10^(−1/slope) (2 = 100 %)",
    "efficiency_lower": "95 % CI of E (from the slope's t interval)",
    "efficiency_upper": "95 % CI of E",
    "efficiency_se": "standard error of E (delta method)",
    "efficiency_percent": "(E − 1)·100",
    "slope_se": "standard error of the slope",
    "residual_sd": "residual standard deviation (df = n − 2)",
    "status": "ok, or why no curve (too_few_standards, one_level)",
}


def fit_line(log_q: np.ndarray, cq: np.ndarray, *, level: float = 0.95) -> dict[str, float]:
    """OLS of ``cq`` on ``log_q`` with efficiency and its CI (see module docstring)."""
    from scipy import stats

    x = np.asarray(log_q, dtype=float)
    y = np.asarray(cq, dtype=float)
    n = x.size
    xm, ym = x.mean(), y.mean()
    sxx = float(np.sum((x - xm) ** 2))
    slope = float(np.sum((x - xm) * (y - ym)) / sxx)
    intercept = float(ym - slope * xm)
    resid = y - (intercept + slope * x)
    rss = float(np.sum(resid**2))
    tss = float(np.sum((y - ym) ** 2))
    r2 = 1.0 - rss / tss if tss > 0 else math.nan
    df = n - 2
    sd = math.sqrt(rss / df) if df > 0 else math.nan
    se = sd / math.sqrt(sxx) if df > 0 else math.nan
    eff = 10.0 ** (-1.0 / slope) if slope != 0 else math.nan
    if df > 0:
        t = float(stats.t.ppf(0.5 + level / 2, df))
        lo_s, hi_s = slope - t * se, slope + t * se
        # E = 10^(-1/s) increases with s for s < 0 (and for s > 0); an interval that
        # reaches 0 has an unbounded efficiency
        if lo_s < 0 < hi_s or lo_s == 0 or hi_s == 0:
            e_lo, e_hi = math.nan, math.nan
        else:
            e_lo, e_hi = sorted((10.0 ** (-1.0 / lo_s), 10.0 ** (-1.0 / hi_s)))
    else:
        e_lo = e_hi = math.nan
    e_se = eff * math.log(10.0) * se / slope**2 if df > 0 else math.nan
    return {"n": float(n), "slope": slope, "intercept": intercept, "r2": r2,
            "efficiency": eff, "efficiency_lower": e_lo, "efficiency_upper": e_hi,
            "efficiency_se": e_se, "efficiency_percent": (eff - 1.0) * 100.0,
            "slope_se": se, "residual_sd": sd}


def standard_curve(wells: pd.DataFrame, *, level: float = 0.95) -> pd.DataFrame:
    """Fit one standard curve per target from the standard wells of a well table.

    Parameters
    ----------
    wells
        Well table (:data:`preclin.qpcr.io.WELL_COLUMNS`): rows with ``task ==
        'standard'``, a positive ``quantity`` and a Cq are used.
    level
        Confidence level of the efficiency interval.

    Returns
    -------
    pandas.DataFrame
        One row per target that has standard wells, columns :data:`CURVE_COLUMNS`, in
        order of first appearance; targets with fewer than 3 usable standards or a single
        quantity get a ``status`` saying so and NaN numbers.

    Examples
    --------
    >>> import pandas as pd
    >>> w = pd.DataFrame({"target": ["g"] * 3, "task": ["standard"] * 3,
    ...                   "quantity": [1, 10, 100], "cq": [30.0, 26.68, 23.36]})
    >>> round(float(standard_curve(w)["efficiency"].iloc[0]), 4)
    2.0003
    """
    if not 0 < level < 1:
        raise InputError(f"level must be between 0 and 1, got {level}")
    std = wells[(wells["task"] == "standard")] if "task" in wells else wells
    rows = []
    for target, g in std.groupby("target", sort=False):
        ok = g["cq"].notna() & (g["quantity"] > 0)
        used = g[ok]
        row: dict[str, object] = {c: math.nan for c in CURVE_COLUMNS}
        row.update(target=target, n=int(ok.sum()), levels=int(used["quantity"].nunique()))
        if ok.sum() < 3:
            row["status"] = "too_few_standards"
        elif used["quantity"].nunique() < 2:
            row["status"] = "one_level"
        else:
            row.update(fit_line(np.log10(used["quantity"].to_numpy(float)),
                                used["cq"].to_numpy(float), level=level))
            row["n"] = int(ok.sum())
            row["status"] = "ok"
        rows.append(row)
    out = pd.DataFrame(rows, columns=list(CURVE_COLUMNS))
    out["n"] = out["n"].astype(int)
    out["levels"] = out["levels"].astype(int)
    return out


def quantify(wells: pd.DataFrame, curves: pd.DataFrame) -> pd.DataFrame:
    """Absolute quantities read off each target's curve: ``10^((Cq − intercept)/slope)``.

    Returns ``wells`` with a ``quantity_estimate`` column (NaN without a Cq or a curve).
    """
    c = curves.set_index("target")[["slope", "intercept"]]
    slope = wells["target"].map(c["slope"]).astype(float)
    icpt = wells["target"].map(c["intercept"]).astype(float)
    est = 10.0 ** ((wells["cq"].astype(float) - icpt) / slope)
    return wells.assign(quantity_estimate=est)


def efficiency_check(wells: pd.DataFrame, *, target: str, reference: str) -> dict[str, float]:
    """Livak's validation: slope of ΔCq (target − reference) on log10(quantity).

    Standard wells of both targets are paired by ``well`` when the same wells hold both
    (duplex), else by quantity and order within a quantity. A slope near 0 means equal
    efficiencies (ΔΔCq is valid). Returns ``slope``, ``intercept``, ``r2``, ``n``.
    """
    std = wells[(wells["task"] == "standard") & wells["cq"].notna()]
    a = std[std["target"] == target]
    b = std[std["target"] == reference]
    if a.empty or b.empty:
        raise InputError(f"no standard wells with a Cq for {target!r} and {reference!r}")
    if set(a["well"]) == set(b["well"]):
        m = a.merge(b, on="well", suffixes=("_t", "_r"))
        q, d = m["quantity_t"].to_numpy(float), (m["cq_t"] - m["cq_r"]).to_numpy(float)
    else:
        a = a.assign(k=a.groupby("quantity").cumcount())
        b = b.assign(k=b.groupby("quantity").cumcount())
        m = a.merge(b, on=["quantity", "k"], suffixes=("_t", "_r"))
        q, d = m["quantity"].to_numpy(float), (m["cq_t"] - m["cq_r"]).to_numpy(float)
    fit = fit_line(np.log10(q), d)
    return {k: fit[k] for k in ("slope", "intercept", "r2", "n")}
