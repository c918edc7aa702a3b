"""Synthetic combination blocks with known reference surfaces (shared by the synergy tests)."""

from __future__ import annotations

import numpy as np
import pandas as pd

C1 = np.array([0.0, 0.1, 0.3, 1.0, 3.0, 10.0])
C2 = np.array([0.0, 0.05, 0.2, 0.8, 3.2, 12.8])


def ll4(x: np.ndarray, b: float, c: float, d: float, e: float) -> np.ndarray:
    """drc LL.4 (``b < 0``: rising with dose)."""
    x = np.asarray(x, dtype=float)
    with np.errstate(divide="ignore"):
        return c + (d - c) / (1.0 + np.exp(b * (np.log(x) - np.log(e))))


def bliss_matrix(c1: np.ndarray = C1, c2: np.ndarray = C2) -> np.ndarray:
    """% inhibition of two 4PL drugs combined by Bliss independence."""
    y1 = ll4(c1, -1.2, 0.0, 90.0, 1.0)
    y2 = ll4(c2, -0.9, 0.0, 70.0, 0.6)
    return y1[:, None] + y2[None, :] - np.outer(y1, y2) / 100.0


def to_table(matrix: np.ndarray, c1: np.ndarray = C1, c2: np.ndarray = C2, *,
             block: object = "B", drugs: tuple[str, str] = ("alpha", "beta"),
             kind: str = "inhibition") -> pd.DataFrame:
    """Long table of a matrix (% inhibition in, response as ``kind``)."""
    rows = []
    for i, a in enumerate(c1):
        for j, b in enumerate(c2):
            v = matrix[i, j]
            rows.append({"block": block, "drug1": drugs[0], "drug2": drugs[1],
                         "conc1": a, "conc2": b,
                         "response": v if kind == "inhibition" else 100.0 - v})
    return pd.DataFrame(rows)


def replicated(matrix: np.ndarray, n: int, sd: float, seed: int, **kw: object) -> pd.DataFrame:
    """``n`` noisy replicates of a matrix (seeded)."""
    rng = np.random.default_rng(seed)
    frames = [to_table(matrix + rng.normal(0.0, sd, matrix.shape), **kw) for _ in range(n)]
    return pd.concat(frames, ignore_index=True)
