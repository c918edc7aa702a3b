"""Dose-response models in drc's parameterisation, evaluated on arrays of many curves.

Every model is ``y = c + (d - c) * g(z)`` with ``z = b * (log(x) - log(e))``:

========  ==========================================  =====================
model     g(z)                                        drc name
========  ==========================================  =====================
``ll4``   ``1 / (1 + exp(z))``                        ``LL.4``
``ll3``   as ``ll4`` with ``c = 0``                   ``LL.3``
``ll2``   as ``ll4`` with ``c = 0, d = 1``            ``LL.2``
``ll5``   ``(1 + exp(z)) ** -f``                      ``LL.5``
``w14``   ``exp(-exp(z))``                            ``W1.4``
``w13``   as ``w14`` with ``c = 0``                   ``W1.3``
``w24``   ``1 - exp(-exp(z))``                        ``W2.4``
``w23``   as ``w24`` with ``c = 0``                   ``W2.3``
========  ==========================================  =====================

``b`` is the slope (``hill``; ``b > 0`` means the response falls with dose for the
log-logistic and W1 models), ``c`` the lower asymptote (``bottom``), ``d`` the upper
asymptote (``top``), ``e`` the inflection dose (``ec50``, in dose units; drc's ``e``,
Prism's relative IC50) and ``f`` the asymmetry of LL.5. Doses of 0 are allowed: the
response there is the zero-dose asymptote.

Internally the fitter works on ``theta = (b, c, d, log e, f)`` (columns of a
``(n_curves, 5)`` array); this module gives the response and its analytic Jacobian.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

import numpy as np
from numpy.typing import NDArray

from ..errors import InputError

__all__ = [
    "Model",
    "MODELS",
    "get_model",
    "PARAM_NAMES",
    "PUBLIC_NAMES",
    "predict",
]

Array = NDArray[np.float64]


def _expit(z: NDArray[np.floating] | float) -> NDArray[np.float64]:
    """Logistic function 1/(1 + e^−z), without overflow for large |z|."""
    z = np.asarray(z, dtype=float)
    with np.errstate(over="ignore"):
        ez = np.exp(-np.abs(z))
    return np.where(z >= 0, 1.0 / (1.0 + ez), ez / (1.0 + ez))


#: internal parameter order of the theta arrays
PARAM_NAMES: tuple[str, ...] = ("b", "c", "d", "e", "f")
#: names used in result tables for the drc parameters
PUBLIC_NAMES: dict[str, str] = {
    "b": "hill",
    "c": "bottom",
    "d": "top",
    "e": "ec50",
    "f": "asym",
}
_ALIASES = {v: k for k, v in PUBLIC_NAMES.items()} | {k: k for k in PARAM_NAMES}


@dataclass(frozen=True)
class Model:
    """A dose-response model: a family of ``g(z)`` plus fixed parameters.

    Parameters
    ----------
    name
        Short name (``"ll4"``).
    drc_name
        The name drc gives it (``"LL.4"``).
    family
        ``"ll"`` (log-logistic, also LL.5), ``"w1"`` or ``"w2"`` (Weibull types 1 and 2).
    fixed
        Parameters held constant, by internal name (``{"c": 0.0}``); ``e`` is given in
        dose units.
    """

    name: str
    drc_name: str
    family: str
    fixed: Mapping[str, float] = field(default_factory=dict)
    five: bool = False

    @property
    def all_params(self) -> tuple[str, ...]:
        """Parameters of the model family (``b c d e`` or ``b c d e f``)."""
        return PARAM_NAMES if self.five else PARAM_NAMES[:4]

    @property
    def free(self) -> tuple[str, ...]:
        """Parameters that are estimated, in internal order."""
        return tuple(p for p in self.all_params if p not in self.fixed)

    @property
    def free_index(self) -> list[int]:
        """Column indices of the free parameters in a theta array."""
        return [PARAM_NAMES.index(p) for p in self.free]

    @property
    def n_free(self) -> int:
        """Number of estimated parameters."""
        return len(self.free)

    def with_fixed(self, fixed: Mapping[str, float] | None) -> Model:
        """Return a copy with more parameters fixed (public or internal names)."""
        if not fixed:
            return self
        extra: dict[str, float] = {}
        for key, value in fixed.items():
            internal = _ALIASES.get(str(key).lower())
            if internal is None or internal not in self.all_params:
                raise InputError(
                    f"cannot fix parameter '{key}' of model {self.name}; "
                    f"choose from {', '.join(PUBLIC_NAMES[p] for p in self.all_params)}"
                )
            value = float(value)
            if internal == "e" and not value > 0:
                raise InputError(f"a fixed ec50 must be positive, got {value}")
            extra[internal] = value
        merged = dict(self.fixed) | extra
        suffix = ";".join(f"{PUBLIC_NAMES[k]}={v:g}" for k, v in sorted(extra.items()))
        return Model(
            name=f"{self.name}[{suffix}]",
            drc_name=self.drc_name,
            family=self.family,
            fixed=merged,
            five=self.five,
        )

    # ------------------------------------------------------------------ evaluation
    def theta_full(self, free_values: Array) -> Array:
        """Expand ``(m, n_free)`` free values into a full ``(m, 5)`` theta (log e)."""
        m = free_values.shape[0]
        theta = np.empty((m, 5))
        theta[:, 4] = 1.0
        for name, value in self.fixed.items():
            idx = PARAM_NAMES.index(name)
            theta[:, idx] = np.log(value) if name == "e" else value
        theta[:, self.free_index] = free_values
        return theta

    def g(self, z: Array, f: Array | float = 1.0) -> Array:
        """The shape function ``g(z)``."""
        if self.family == "ll":
            if self.five:
                return np.exp(-f * np.logaddexp(0.0, z))
            return _expit(-z)
        with np.errstate(over="ignore"):
            ez = np.exp(z)
        if self.family == "w1":
            return np.exp(-ez)
        return -np.expm1(-ez)

    def dg(self, z: Array, f: Array | float = 1.0) -> Array:
        """``dg/dz`` (finite everywhere; 0 at ``z = ±inf``)."""
        if self.family == "ll":
            if self.five:
                return -f * _expit(z) * np.exp(-f * np.logaddexp(0.0, z))
            s = _expit(z)
            return -s * (1.0 - s)
        with np.errstate(over="ignore", invalid="ignore"):
            zz = np.where(np.isfinite(z), z, -np.inf)
            val = np.exp(zz - np.exp(zz))
        val = np.where(np.isfinite(z), val, 0.0)
        return -val if self.family == "w1" else val

    def ginv(self, target: Array, f: Array | float = 1.0) -> Array:
        """Inverse of ``g``: the ``z`` at which ``g(z) = target`` (0 < target < 1)."""
        with np.errstate(divide="ignore", invalid="ignore"):
            if self.family == "ll":
                if self.five:
                    return np.log(np.power(target, -1.0 / f) - 1.0)
                return np.log(1.0 / target - 1.0)
            if self.family == "w1":
                return np.log(-np.log(target))
            return np.log(-np.log1p(-target))

    def g_at_zero_dose(self, b: Array) -> Array:
        """``g`` at dose 0 (``z = -inf`` for ``b > 0``, ``+inf`` for ``b < 0``)."""
        rising = b < 0  # z -> +inf at x -> 0
        if self.family == "w2":
            return np.where(rising, 1.0, 0.0)
        return np.where(rising, 0.0, 1.0)

    def _z(self, theta: Array, logx: Array) -> tuple[Array, Array]:
        """Return ``z`` and ``u = log x - log e`` (``u = -inf`` at dose 0)."""
        b = theta[:, 0:1]
        u = logx - theta[:, 3:4]
        with np.errstate(invalid="ignore"):
            z = b * u
        # dose 0 with b == 0: z is nan -> 0 (g(0) either way the curve is flat)
        z = np.where(np.isnan(z) & np.isneginf(u), 0.0, z)
        return z, u

    def response(self, theta: Array, logx: Array) -> Array:
        """Response of each curve (rows of ``theta``) at ``log(dose)`` (``-inf`` for 0)."""
        z, _ = self._z(theta, logx)
        c = theta[:, 1:2]
        d = theta[:, 2:3]
        return c + (d - c) * self.g(z, theta[:, 4:5])

    def jacobian(self, theta: Array, logx: Array) -> tuple[Array, Array]:
        """Response and its Jacobian with respect to the *free* internal parameters.

        Returns
        -------
        y : (m, n) array
        jac : (m, n, n_free) array, in the order of :attr:`free` with ``log e``.
        """
        z, u = self._z(theta, logx)
        b = theta[:, 0:1]
        c = theta[:, 1:2]
        d = theta[:, 2:3]
        f = theta[:, 4:5]
        g = self.g(z, f)
        dg = self.dg(z, f)
        amp = d - c
        cols: list[Array] = []
        for name in self.free:
            if name == "b":
                with np.errstate(invalid="ignore"):
                    col = amp * dg * u
                col = np.where(np.isfinite(u), col, 0.0)
            elif name == "c":
                col = 1.0 - g
            elif name == "d":
                col = g
            elif name == "e":
                col = -amp * dg * b
            else:  # f
                with np.errstate(invalid="ignore"):
                    col = -amp * np.logaddexp(0.0, z) * g
                col = np.where(np.isfinite(col), col, 0.0)
            cols.append(np.broadcast_to(col, z.shape))
        return c + amp * g, np.stack(cols, axis=-1)


def _make_models() -> dict[str, Model]:
    models = [
        Model("ll4", "LL.4", "ll"),
        Model("ll3", "LL.3", "ll", {"c": 0.0}),
        Model("ll2", "LL.2", "ll", {"c": 0.0, "d": 1.0}),
        Model("ll5", "LL.5", "ll", five=True),
        Model("w14", "W1.4", "w1"),
        Model("w13", "W1.3", "w1", {"c": 0.0}),
        Model("w24", "W2.4", "w2"),
        Model("w23", "W2.3", "w2", {"c": 0.0}),
    ]
    return {m.name: m for m in models}


MODELS: dict[str, Model] = _make_models()


def get_model(name: str | Model, fixed: Mapping[str, float] | None = None) -> Model:
    """Look a model up by preclin or drc name (``"ll4"``, ``"LL.4"``, ``"w1.4"``).

    Parameters
    ----------
    name
        Model name, or a :class:`Model` (returned as is, with ``fixed`` applied).
    fixed
        Extra parameters to hold constant, by public (``bottom``/``top``/``hill``/
        ``ec50``/``asym``) or drc (``b``/``c``/``d``/``e``/``f``) name.
    """
    if isinstance(name, Model):
        return name.with_fixed(fixed)
    key = str(name).strip().lower().replace(".", "").replace("_", "")
    if key not in MODELS:
        raise InputError(
            f"unknown model '{name}'; choose from {', '.join(sorted(MODELS))} "
            "(drc names like LL.4 also work)"
        )
    return MODELS[key].with_fixed(fixed)


def predict(
    model: str | Model,
    dose: NDArray[np.floating] | float,
    *,
    hill: float,
    bottom: float,
    top: float,
    ec50: float,
    asym: float = 1.0,
) -> Array:
    """Evaluate one fitted curve at the given doses (public parameter names).

    Parameters
    ----------
    model
        Model name or :class:`Model`.
    dose
        Doses (>= 0) in the units of ``ec50``.
    hill, bottom, top, ec50, asym
        The parameters as reported in a fit table.
    """
    m = get_model(model) if not isinstance(model, Model) else model
    x = np.atleast_1d(np.asarray(dose, dtype=float))
    with np.errstate(divide="ignore"):
        logx = np.where(x > 0, np.log(np.where(x > 0, x, 1.0)), -np.inf)
    theta = np.array([[hill, bottom, top, np.log(ec50), asym]], dtype=float)
    return m.response(theta, logx[None, :])[0]
