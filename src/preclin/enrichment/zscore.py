"""Signed activation z-score of a regulator or pathway (Krämer et al. 2014, IPA).

For a signed gene set (each gene with the direction it moves when the regulator is
active, +1 or −1) and the observed direction of each of its regulated genes, x_i = +1 when
observed and expected agree, −1 otherwise. Unweighted: z = (N+ − N−)/√N = Σ x_i / √N.
Weighted: z = Σ w_i x_i / √(Σ w_i²) (Krämer 2014, eq. 1 with weights). Genes of the set that
are not regulated (not called up or down) do not count.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from ..errors import InputError

__all__ = ["activation_zscore", "ZSCORE_COLUMNS"]

#: Columns of :func:`activation_zscore`'s result.
ZSCORE_COLUMNS: dict[str, str] = {
    "set": "signed gene set (regulator or pathway)",
    "n": "regulated genes of the set (N)",
    "n_consistent": "genes moving as the set predicts (N+)",
    "n_inconsistent": "genes moving against the prediction (N−)",
    "zscore": "Σ w·x / √Σ w² (x = +1 consistent, −1 not); (N+ − N−)/√N unweighted",
    "predicted": "'activated' (z ≥ 2), 'inhibited' (z ≤ −2) or ''",
}


def activation_zscore(sets: pd.DataFrame, observed: pd.DataFrame, *,
                      set_column: str = "set", gene_column: str = "gene",
                      sign_column: str = "sign", weight_column: str | None = None,
                      observed_gene: str = "feature", direction: str = "logfc",
                      threshold: float = 2.0) -> pd.DataFrame:
    """Activation z-score of every signed set.

    Parameters
    ----------
    sets
        One row per (set, gene): ``set_column``, ``gene_column``, ``sign_column`` (+1/−1,
        or text ``up``/``down``) and optionally ``weight_column``.
    observed
        The regulated genes: ``observed_gene`` and ``direction`` (its sign is used; e.g.
        the logFC of the genes called differentially expressed).
    threshold
        |z| from which a set is called activated or inhibited (IPA uses 2).

    Returns
    -------
    DataFrame
        :data:`ZSCORE_COLUMNS`, one row per set (sets without a regulated gene have n = 0 and
        z = NaN), sorted by |z| decreasing then set.
    """
    from ..tables import require_columns

    require_columns(sets, [set_column, gene_column, sign_column])
    require_columns(observed, [observed_gene, direction])
    s = sets.copy()
    sign = s[sign_column]
    if sign.dtype == object or pd.api.types.is_string_dtype(sign):
        low = sign.astype(str).str.strip().str.lower()
        mapping = {"up": 1.0, "+": 1.0, "+1": 1.0, "1": 1.0, "activates": 1.0,
                   "down": -1.0, "-": -1.0, "-1": -1.0, "inhibits": -1.0}
        num = low.map(mapping)
        bad = num.isna()
        if bad.any():
            raise InputError(f"sign {sign[bad].iloc[0]!r} is neither +1/up nor -1/down",
                             location=f"row {int(np.flatnonzero(bad)[0]) + 2}, column "
                                      f"'{sign_column}'")
        s["_sign"] = num.astype(float)
    else:
        s["_sign"] = np.sign(sign.astype(float))
    s["_w"] = 1.0 if weight_column is None else s[weight_column].astype(float)
    obs = observed[[observed_gene, direction]].dropna()
    obs = obs.assign(_dir=np.sign(obs[direction].astype(float)))
    obs = obs[obs["_dir"] != 0].drop_duplicates(observed_gene)
    m = s.merge(obs[[observed_gene, "_dir"]], left_on=gene_column, right_on=observed_gene,
                how="left")
    rows = []
    for name, g in m.groupby(set_column, sort=True):
        g = g.dropna(subset=["_dir"])
        x = g["_sign"].to_numpy() * g["_dir"].to_numpy()
        w = g["_w"].to_numpy()
        n = len(x)
        z = float(np.sum(w * x) / np.sqrt(np.sum(w**2))) if n else float("nan")
        call = "activated" if z >= threshold else "inhibited" if z <= -threshold else ""
        rows.append((str(name), n, int((x > 0).sum()), int((x < 0).sum()), z, call))
    out = pd.DataFrame(rows, columns=list(ZSCORE_COLUMNS))
    key = -np.abs(out["zscore"].fillna(0).to_numpy())
    return out.iloc[np.lexsort((out["set"].to_numpy(), key))].reset_index(drop=True)
