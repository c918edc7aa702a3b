"""Drug sensitivity of a combination block: relative IC50, RI and CSS (SynergyFinder 3).

* **IC50** (relative): the inflection dose ``e`` of the monotherapy 4PL fit (zero dose
  included), capped at the highest tested dose.
* **RI** (relative inhibition; Malyutina et al. 2019, *PLoS Comput Biol* 15:e1006752): the
  mean of the fitted monotherapy curve, refitted on the positive doses only, over the
  tested log10-dose range, in % inhibition:
  ``RI = 100/(u2 − u1) ∫_{u1}^{u2} f(u) du`` with ``u = log10(dose)``. For LL.4,
  ``∫ f du = c·u + (d − c)·ln(1 + 10^(−b(u − log10 e)))/(−b·ln 10)`` (``c, d`` in fractions).
* **CSS** (combination sensitivity score; Malyutina et al. 2019): for drug 1, every row of
  the matrix (drug 2 varying at a fixed drug-1 dose) is fitted and evaluated at drug 2's
  IC50; RI of the resulting drug-1 curve is ``css1_ic502`` (and symmetrically
  ``css2_ic501``); ``css`` is their mean.

Curves are fitted with the same drc-compatible fitter as the synergy scores (see
:mod:`._drc`). SynergyFinder replaces a predicted response above 100 by a random value in
(99.99, 100]; here it is replaced by 100.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

from . import _drc
from ._drc import DrcFit, OptimError
from .models import Block

__all__ = ["relative_inhibition", "ic50", "block_sensitivity", "SENSITIVITY_COLUMNS"]

SENSITIVITY_COLUMNS: dict[str, str] = {
    "ic50_1, ic50_2": "relative IC50 of drug 1 / drug 2 (dose units, capped at the top dose)",
    "ri_1, ri_2": "relative inhibition of drug 1 / drug 2 [% inhibition]",
    "css1_ic502, css2_ic501": "CSS of drug 1 with drug 2 at its IC50, and vice versa",
    "css": "combination sensitivity score: mean of the two",
}


def _own_log(b: float, c: float, x: float) -> float:
    """``ln(1 + 10^(b (c − x)))`` without overflow."""
    z = b * (c - x) * math.log(10.0)
    return z if z > 700 else math.log1p(math.exp(z))


def _score_ll4(fit: DrcFit, u1: float, u2: float) -> float:
    b, c, d, m = fit.b, fit.c / 100.0, fit.d / 100.0, math.log10(fit.e)

    def prim(u: float) -> float:
        return (d - c) * _own_log(-b, u, m) / (-b * math.log(10.0)) + c * u

    return (prim(u2) - prim(u1)) / (u2 - u1) * 100.0


def _score_l4(fit: DrcFit, u1: float, u2: float) -> float:
    b, c, d, e = fit.b, fit.c / 100.0, fit.d / 100.0, fit.e

    def softplus(z: float) -> float:
        return z if z > 700 else math.log1p(math.exp(z))

    integral = d * (u2 - u1) + ((c - d) / b) * (softplus(b * (u2 - e)) - softplus(b * (u1 - e)))
    return integral / (u2 - u1) * 100.0


def relative_inhibition(dose: np.ndarray, response: np.ndarray) -> float:
    """RI of a dose-response curve (% inhibition; zero doses are dropped)."""
    dose = np.asarray(dose, float)
    response = np.asarray(response, float)
    order = np.argsort(dose, kind="stable")
    dose, response = dose[order], response[order]
    keep = dose != 0
    dose, response = dose[keep], response[keep]
    if dose.size == 0:
        return math.nan
    if dose.size == 1:
        return float(response[0])
    response = response.copy()
    if np.var(response) == 0:
        response[-1] += 1e-10
    u1, u2 = math.log10(dose.min()), math.log10(dose.max())
    try:
        fit = _drc.drm_ll4(dose, response)
        score = _score_ll4(fit, u1, u2)
    except (OptimError, ValueError, ZeroDivisionError, OverflowError):
        try:
            fit = _drc.drm_l4(np.log10(dose), response)
            score = _score_l4(fit, u1, u2)
        except (OptimError, ValueError, ZeroDivisionError, OverflowError):
            return math.nan
    return round(score, 3)


def ic50(fit: DrcFit | None, max_dose: float) -> float:
    """Relative IC50 of a fit, capped at ``max_dose`` (NaN without a fit)."""
    if fit is None:
        return math.nan
    return float(min(fit.ec50, max_dose))


def _predict_at(dose: np.ndarray, response: np.ndarray, at: float) -> float:
    if np.var(response) == 0:
        return float(response[0])
    fit = _drc.fit_dose_response(dose, response)
    if fit is None:
        return math.nan
    return min(_drc.predict(fit, at), 100.0)


def block_sensitivity(block: Block, fit1: DrcFit | None, fit2: DrcFit | None) -> pd.Series:
    """IC50, RI and CSS of one block (see :data:`SENSITIVITY_COLUMNS`)."""
    m = block.inhibition
    d1, r1 = block.curve(col=0)
    d2, r2 = block.curve(row=0)
    out: dict[str, float] = {
        "ic50_1": ic50(fit1, float(np.max(block.conc1))),
        "ic50_2": ic50(fit2, float(np.max(block.conc2))),
        "ri_1": relative_inhibition(d1, r1),
        "ri_2": relative_inhibition(d2, r2),
    }
    css = {}
    for name, n_fix, ic50_other in (("css1_ic502", m.shape[0], out["ic50_2"]),
                                    ("css2_ic501", m.shape[1], out["ic50_1"])):
        doses, resp = [], []
        for k in range(n_fix):
            if name == "css1_ic502":
                x, y = block.curve(row=k)
                doses.append(block.conc1[k])
            else:
                x, y = block.curve(col=k)
                doses.append(block.conc2[k])
            if x.size == 2:
                resp.append(float(y[1]))
            else:
                resp.append(_predict_at(x, y, ic50_other))
        css[name] = relative_inhibition(np.array(doses), np.array(resp))
    out.update(css)
    out["css"] = float(np.mean([css["css1_ic502"], css["css2_ic501"]]))
    return pd.Series(out)
