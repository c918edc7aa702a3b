"""Differential expression as one recipe: design → fit → moderate → table → calls."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from ..errors import InputError
from .de import ModeratedFit, ebayes, lm_fit, top_table, treat
from .design import Design, design_matrix

__all__ = ["DEResult", "differential_expression", "DE_COLUMNS"]

#: Columns of :attr:`DEResult.table` beyond :data:`~preclin.expression.de.TOP_TABLE_COLUMNS`.
DE_COLUMNS: dict[str, str] = {
    "fold_change": "signed linear fold change: 2^logfc when logfc ≥ 0, −2^−logfc otherwise",
    "call": "'up' / 'down' when |fold change| > fc and p_value < p (the filter of the seed "
            "study), '' otherwise",
    "call_fdr": "'up' / 'down' when |fold change| > fc and adj_p_value < fdr, '' otherwise",
}


@dataclass(frozen=True)
class DEResult:
    """Result of :func:`differential_expression`.

    Attributes
    ----------
    table
        One row per feature, sorted by p value: ``feature, logfc, ave_expr, t, p_value,
        adj_p_value, b, fold_change, call, call_fdr, sigma, s2_prior, s2_post, df_residual,
        df_total``.
    excluded
        Features without a result (too few observed samples), with a ``reason``.
    moderated
        The :class:`~preclin.expression.de.ModeratedFit` (all coefficients).
    design
        The design used.
    coef
        The coefficient reported.
    settings
        ``trend``, ``treat_lfc``, ``fc``, ``p``, ``fdr``, ``robust``, ``block``,
        ``correlation`` (given or estimated) and ``correlation_estimated``.
    """

    table: pd.DataFrame
    excluded: pd.DataFrame
    moderated: ModeratedFit
    design: Design
    coef: str
    settings: Mapping[str, object]

    @property
    def df_prior(self) -> float:
        """Prior degrees of freedom."""
        return self.moderated.df_prior

    def summary(self) -> str:
        """A few lines a scientist can read."""
        t = self.table
        s = self.settings
        up = int((t["call"] == "up").sum())
        down = int((t["call"] == "down").sum())
        up_f = int((t["call_fdr"] == "up").sum())
        down_f = int((t["call_fdr"] == "down").sum())
        test = (f"treat, |logFC| > {s['treat_lfc']:.4g}" if s["treat_lfc"] is not None
                else "moderated t (eBayes)")
        s2 = np.asarray(self.moderated.s2_prior)
        prior = (f"s0² {np.nanmin(s2):.4g}..{np.nanmax(s2):.4g} (trend)" if s["trend"]
                 else f"s0² {s2[0]:.4g}")
        lines = [f"design {self.design.formula}, coefficient {self.coef}: {test}"]
        if s.get("block") is not None:
            how = ("estimated by duplicate_correlation" if s.get("correlation_estimated")
                   else "given")
            lines.append(f"block {s['block']}: intra-block correlation "
                         f"{s['correlation']:.4g} ({how})")
        pdf = f"prior df {self.df_prior:.4g}"
        if s.get("robust"):
            d0 = self.moderated.df_prior_feature
            n_low = int(np.sum(d0 < self.df_prior)) if d0 is not None else 0
            pdf += f" (robust; smaller for {n_low} outlying features)"
        return "\n".join(lines + [
            f"{len(t)} features; {pdf}, {prior}",
            f"|FC| > {s['fc']} and p < {s['p']}: {up} up, {down} down",
            f"|FC| > {s['fc']} and FDR < {s['fdr']}: {up_f} up, {down_f} down",
        ])

    def __repr__(self) -> str:
        return f"<DEResult\n{self.summary()}>"


def differential_expression(matrix: pd.DataFrame, samples: pd.DataFrame, *, design: str,
                            coef: str, sample_column: str = "sample",
                            levels: Mapping[str, Sequence[str]] | None = None,
                            trend: bool = False, treat_lfc: float | None = None,
                            fc: float = 1.5, p: float = 0.05, fdr: float = 0.05,
                            block: str | None = None, correlation: float | None = None,
                            robust: bool = False) -> DEResult:
    """Differential expression of one coefficient of a linear model (limma's recipe).

    Steps: :func:`~preclin.expression.design.design_matrix` →
    :func:`~preclin.expression.de.lm_fit` → :func:`~preclin.expression.de.ebayes` (or
    :func:`~preclin.expression.de.treat` when ``treat_lfc`` is given) →
    :func:`~preclin.expression.de.top_table` → fold-change / p calls.

    Parameters
    ----------
    matrix
        Features x samples, log2 expression; columns are sample IDs.
    samples
        Sample table: ``sample_column`` plus the formula's factors.
    design
        Model formula, e.g. ``"~ patient + treatment"``.
    coef
        Coefficient to report: design column (``treatmentLEN``) or level alone (``LEN``).
    levels
        Level order per factor (first = reference); default sorted.
    trend, treat_lfc
        limma-trend; test against ``|logFC| > treat_lfc`` (log2 units).
    fc, p, fdr
        Thresholds of the calls: linear fold change and raw p (the seed study's filter:
        1.5 and 0.05), and FDR.
    block, correlation
        Optional blocking column of ``samples`` (patient, donor...) and the intra-block
        correlation of the generalised least-squares fit; with a block and no correlation,
        the consensus correlation is estimated by
        :func:`~preclin.expression.dupcor.duplicate_correlation` (REML, Smyth et al. 2005)
        and reported in ``settings["correlation"]``.
    robust
        Robust empirical Bayes (Phipson et al. 2016): hypervariable features get fewer prior
        degrees of freedom (``df_prior`` column).

    Returns
    -------
    DEResult

    Examples
    --------
    >>> import numpy as np, pandas as pd
    >>> rng = np.random.default_rng(0)
    >>> m = pd.DataFrame(rng.normal(8, 0.3, (200, 6)), columns=list("abcdef"))
    >>> s = pd.DataFrame({"sample": list("abcdef"), "patient": ["P1", "P1", "P2", "P2",
    ...                   "P3", "P3"], "trt": ["DMSO", "LEN"] * 3})
    >>> res = differential_expression(m, s, design="~ patient + trt", coef="LEN")
    >>> res.coef, len(res.table)
    ('trtLEN', 200)
    """
    for name, val, lo, hi in (("p", p, 0, 1), ("fdr", fdr, 0, 1)):
        if not lo < val <= hi:
            raise InputError(f"{name} must be in (0, 1], got {val}")
    if fc < 1:
        raise InputError(f"fc is a linear fold change ≥ 1, got {fc}")
    if sample_column not in samples.columns:
        raise InputError(f"the sample table has no '{sample_column}' column")
    ids = samples[sample_column].astype(str).tolist()
    missing = [s for s in ids if s not in matrix.columns]
    if missing:
        raise InputError(f"sample(s) not in the matrix: {', '.join(missing[:5])}")
    dsg = design_matrix(design, samples, sample_column=sample_column, levels=levels)
    j = dsg.coef_index(coef)
    blk = None
    if block is not None:
        if block not in samples.columns:
            raise InputError(f"block column '{block}' is not in the sample table")
        blk = samples[block].astype(str).tolist()
    elif correlation is not None:
        raise InputError("a correlation needs a block column")
    fit = lm_fit(matrix[ids], dsg, block=blk, correlation=correlation)
    mod = (ebayes(fit, trend=trend, coefs=[j], robust=robust) if treat_lfc is None
           else treat(fit, lfc=treat_lfc, trend=trend, robust=robust))
    table = top_table(mod, j, extra=True)
    bad = table["p_value"].isna()
    excluded = pd.DataFrame({"feature": table.loc[bad, "feature"].to_numpy(),
                             "reason": "too few observed samples to estimate the "
                                       "coefficients and a residual variance"})
    table = table[~bad].reset_index(drop=True)
    lfc = table["logfc"].to_numpy()
    table.insert(7, "fold_change", np.where(lfc >= 0, 2.0**lfc, -(2.0 ** -lfc)))
    big = np.abs(lfc) > np.log2(fc)
    direction = np.where(lfc > 0, "up", "down")
    table.insert(8, "call", np.where(big & (table["p_value"].to_numpy() < p), direction, ""))
    table.insert(9, "call_fdr", np.where(big & (table["adj_p_value"].to_numpy() < fdr),
                                         direction, ""))
    settings = {"trend": trend, "treat_lfc": treat_lfc, "fc": fc, "p": p, "fdr": fdr,
                "robust": robust, "block": block, "correlation": fit.correlation,
                "correlation_estimated": fit.correlation_estimated}
    return DEResult(table=table, excluded=excluded, moderated=mod, design=dsg,
                    coef=dsg.columns[j], settings=settings)
