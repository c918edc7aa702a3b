"""Small writers of plate files for the plates tests."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from preclin.plates._wells import row_label

DATA = Path(__file__).parent / "data"


def grid_lines(values: np.ndarray, title: str | None = None, sep: str = ",",
               corner: str = "", fmt: str = "{:.4f}") -> list[str]:
    """Lines of one plate-shaped block (NaN -> empty cell, str cells kept as they are)."""
    n_rows, n_cols = values.shape
    lines = [] if title is None else [title]
    lines.append(corner + sep + sep.join(str(j + 1) for j in range(n_cols)))
    for i in range(n_rows):
        cells = []
        for v in values[i]:
            if isinstance(v, str):
                cells.append(v)
            elif v is None or np.isnan(v):
                cells.append("")
            else:
                cells.append(fmt.format(v))
        lines.append(row_label(i) + sep + sep.join(cells))
    return lines


def write_grid(path: Path, *blocks: np.ndarray, titles: list[str | None] | None = None,
               sep: str = ",") -> Path:
    """Write one or more blocks separated by blank lines."""
    titles = titles or [None] * len(blocks)
    lines: list[str] = []
    for values, title in zip(blocks, titles, strict=True):
        if lines:
            lines.append("")
        lines += grid_lines(values, title, sep=sep)
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


def plate_values(n_rows: int = 8, n_cols: int = 12, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    return np.round(rng.uniform(0.1, 2.0, (n_rows, n_cols)), 4)
