"""Helpers shared by the qPCR tests."""

from __future__ import annotations

import numpy as np
import pandas as pd


def wide_to_long(df: pd.DataFrame, samples: list[str],
                 quantity: np.ndarray | None = None) -> pd.DataFrame:
    """A pcr-style wide table (one column per gene, one row per tube) as a well table."""
    rows = []
    for i, r in df.reset_index(drop=True).iterrows():
        for t in df.columns:
            rows.append({"well": f"w{int(i) + 1}", "sample": samples[int(i)], "target": t,
                         "task": "unknown" if quantity is None else "standard",
                         "cq": float(r[t]),
                         "quantity": np.nan if quantity is None else float(quantity[int(i)]),
                         "undetermined": False, "flag": "", "cq_raw": str(r[t]),
                         "efficiency": np.nan, "run": "", "source_row": f"row {int(i) + 2}"})
    return pd.DataFrame(rows)
