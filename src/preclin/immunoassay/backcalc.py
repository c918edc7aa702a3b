"""Back-calculation, flags, recovery, replicate CV, LLOQ/ULOQ and hook-effect warning.

Per analyte: fit the standards (:func:`~preclin.immunoassay.stdcurve.fit_curve`), then every
well's concentration = inverse curve(signal) × dilution. Flags: ``<curve`` / ``>curve``
(signal beyond the asymptote at zero / infinite concentration: no value, as xPONENT's
``<``/``>``), ``<LLOQ`` / ``>ULOQ`` (undiluted concentration outside the quantifiable range).
The quantifiable range is the widest run of consecutive standard levels whose mean
back-calculated recovery lies within 80–120 % and whose replicate CV ≤ 20 % (thresholds
configurable); LLOQ/ULOQ are its lowest/highest expected concentrations.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from ..errors import InputError
from .stdcurve import CurveFit, fit_curve

__all__ = ["ImmunoassayResult", "fit_plate", "RESULT_COLUMNS"]

RESULT_COLUMNS = ["analyte", "well", "sample", "type", "signal", "dilution", "concentration",
                  "flag", "expected", "recovery", "cv", "vendor_result"]


@dataclass(frozen=True)
class ImmunoassayResult:
    """Result of :func:`fit_plate`: ``table`` (one row per well × analyte), ``params``
    (one row per analyte with LLOQ/ULOQ), ``fits`` (analyte → :class:`CurveFit`),
    ``warnings``."""

    table: pd.DataFrame
    params: pd.DataFrame
    fits: dict[str, CurveFit] = field(default_factory=dict)
    warnings: tuple[str, ...] = ()

    def tables(self) -> dict[str, pd.DataFrame]:
        """The result tables by name."""
        return {"concentrations": self.table, "curves": self.params}


def _quant_range(std: pd.DataFrame, rec: tuple[float, float], max_cv: float) -> tuple[float,
                                                                                       float]:
    lev = std.groupby("expected").agg(rec=("recovery", "mean"), cv=("cv", "max")).sort_index()
    ok = lev["rec"].between(*rec) & ~(lev["cv"] > max_cv)
    best: tuple[float, float, int] = (math.nan, math.nan, 0)
    cur: list[float] = []
    for conc, good in ok.items():
        cur = [*cur, float(conc)] if good else []  # type: ignore[arg-type]
        if len(cur) > best[2]:
            best = (cur[0], cur[-1], len(cur))
    return float(best[0]), float(best[1])


def fit_plate(wells: pd.DataFrame, *, model: str = "5pl", weights: str = "1/y2",
              recovery_range: tuple[float, float] = (80.0, 120.0),
              max_cv: float = 20.0) -> ImmunoassayResult:
    """Fit each analyte's standards and back-calculate every well (see module docstring).

    Parameters
    ----------
    wells
        Table of :data:`preclin.immunoassay.io.WELL_COLUMNS`.
    model, weights
        ``5pl``/``4pl``; ``none``, ``1/y``, ``1/y2``.
    recovery_range, max_cv
        Acceptance of a standard level for the quantifiable range (percent).
    """
    rows, params, fits, warns = [], [], {}, []
    for analyte, g in wells.groupby("analyte", sort=False):
        std = g[(g["type"] == "standard") & g["expected"].notna() & g["signal"].notna()]
        if std.empty:
            raise InputError(f"analyte {analyte!r}: no standards with an expected "
                             "concentration")
        fit = fit_curve(std["expected"], std["signal"], model=model, weights=weights)
        fits[str(analyte)] = fit
        conc_raw = fit.inverse(g["signal"].to_numpy(float))
        y0 = fit.a if fit.d < 0 else fit.b
        lo, hi = min(fit.a, fit.b), max(fit.a, fit.b)
        sig = g["signal"].to_numpy(float)
        beyond = ~((sig > lo) & (sig < hi))
        at_zero = np.where(y0 == lo, sig <= lo, sig >= hi)
        dil = g["dilution"].to_numpy(float)
        conc = conc_raw * dil
        recovery = np.where(g["type"].isin(["standard", "control"]),
                            np.round(conc / g["expected"].to_numpy(float) * 100, 2), np.nan)
        part = g.assign(concentration=conc, recovery=recovery, _raw=conc_raw)
        cv = part.groupby(["type", "sample"])["concentration"].transform(
            lambda s: s.std(ddof=1) / s.mean() * 100 if s.notna().sum() > 1 else np.nan)
        part = part.assign(cv=cv)
        lloq, uloq = _quant_range(part[part["type"] == "standard"], recovery_range, max_cv)
        flags = np.where(beyond & at_zero, "<curve", np.where(beyond, ">curve", ""))
        flags = np.where((flags == "") & (conc_raw < lloq), "<LLOQ", flags)
        flags = np.where((flags == "") & (conc_raw > uloq), ">ULOQ", flags)
        flags = np.where(part["type"] == "background", "background", flags)
        part = part.assign(flag=flags)
        # hook effect: top standards' signal falls as concentration rises
        top = std.groupby("expected")["signal"].mean().sort_index()
        if len(top) >= 3:
            inc = fit.direction == "increasing"
            last = top.iloc[-1] < top.iloc[-2] if inc else top.iloc[-1] > top.iloc[-2]
            if last:
                warns.append(f"{analyte}: possible hook (prozone) effect — the highest standard "
                             f"reads {'lower' if inc else 'higher'} than the next one")
        rows.append(part[RESULT_COLUMNS])
        params.append({"analyte": analyte, **fit.as_dict(), "lloq": lloq, "uloq": uloq})
    table = pd.concat(rows, ignore_index=True)
    return ImmunoassayResult(table=table, params=pd.DataFrame(params), fits=fits,
                             warnings=tuple(warns))
