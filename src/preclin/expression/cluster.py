"""Hierarchical clustering with R's ``hclust`` conventions.

Distance 1 − Pearson correlation, average linkage (UPGMA), computed with SciPy's
``linkage``; the result is reported as R reports it: ``merge`` (negative = observation,
1-based; positive = an earlier merge step; a singleton before a cluster, otherwise
increasing), ``height``, ``order`` (leaf order of the drawn dendrogram, from expanding
the last merge left to right) and ``cutree`` (clusters numbered by the first observation
of each, in input order).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd
from numpy.typing import ArrayLike, NDArray

from ..errors import InputError

__all__ = ["HClust", "hclust", "correlation_distance"]

_METHODS = ("average", "complete", "single", "ward.D2", "centroid", "median", "mcquitty")


def correlation_distance(x: ArrayLike) -> NDArray[np.float64]:
    """1 − Pearson correlation between the rows of ``x`` (square matrix)."""
    arr = np.asarray(x, dtype=float)
    if not np.isfinite(arr).all():
        raise InputError("correlation distance needs complete rows (no missing values)")
    c = np.corrcoef(arr)
    d = 1.0 - c
    np.fill_diagonal(d, 0.0)
    return (d + d.T) / 2


@dataclass(frozen=True)
class HClust:
    """A dendrogram in R's ``hclust`` form.

    Attributes
    ----------
    merge
        (n − 1) x 2 int array, R's convention.
    height
        Merge heights, non-decreasing for average linkage.
    order
        0-based leaf order of the drawn dendrogram (R's ``$order`` − 1).
    labels
        Observation labels.
    method
        Linkage method.
    """

    merge: NDArray[np.int64]
    height: NDArray[np.float64]
    order: NDArray[np.int64]
    labels: tuple[str, ...]
    method: str

    def cutree(self, k: int) -> NDArray[np.int64]:
        """Cluster number (1..k) of each observation when the tree is cut into ``k`` groups,
        numbered by order of first appearance in the input (R ``cutree``)."""
        n = len(self.labels)
        if not 1 <= k <= n:
            raise InputError(f"k must be between 1 and {n}, got {k}")
        parent = list(range(n))

        def find(i: int) -> int:
            while parent[i] != i:
                parent[i] = parent[parent[i]]
                i = parent[i]
            return i

        members: list[int] = []  # a representative observation of each merge
        for a, b in self.merge[: n - k]:
            ra = -a - 1 if a < 0 else members[a - 1]
            rb = -b - 1 if b < 0 else members[b - 1]
            parent[find(rb)] = find(ra)
            members.append(find(ra))
        roots = [find(i) for i in range(n)]
        number: dict[int, int] = {}
        out = np.empty(n, dtype=np.int64)
        for i, r in enumerate(roots):
            out[i] = number.setdefault(r, len(number) + 1)
        return out

    def table(self) -> pd.DataFrame:
        """``step, merge1, merge2, height`` as R prints them."""
        return pd.DataFrame({"step": np.arange(1, len(self.height) + 1),
                             "merge1": self.merge[:, 0], "merge2": self.merge[:, 1],
                             "height": self.height})


def hclust(x: ArrayLike | pd.DataFrame, *, method: str = "average",
           distance: str = "correlation", labels: Sequence[str] | None = None) -> HClust:
    """Cluster the rows of ``x`` (R ``hclust(as.dist(1 - cor(t(x))), method)``).

    Parameters
    ----------
    x
        Observations x variables (to cluster samples of a features x samples matrix, pass
        its transpose).
    method
        ``average`` (default), ``complete``, ``single``, ``ward.D2``, ``centroid``,
        ``median`` or ``mcquitty``.
    distance
        ``correlation`` (1 − Pearson) or ``euclidean``.
    labels
        Observation labels (default: the DataFrame index or 1..n).
    """
    from scipy.cluster.hierarchy import linkage
    from scipy.spatial.distance import pdist, squareform

    if method not in _METHODS:
        raise InputError(f"unknown linkage method '{method}'; choose from {', '.join(_METHODS)}")
    if isinstance(x, pd.DataFrame):
        labs = [str(i) for i in x.index] if labels is None else [str(v) for v in labels]
        arr = x.to_numpy(dtype=float)
    else:
        arr = np.asarray(x, dtype=float)
        labs = ([str(i + 1) for i in range(arr.shape[0])] if labels is None
                else [str(v) for v in labels])
    n = arr.shape[0]
    if n < 2:
        raise InputError("clustering needs at least two observations")
    if distance == "correlation":
        cond = squareform(correlation_distance(arr), checks=False)
    elif distance == "euclidean":
        cond = pdist(arr)
    else:
        raise InputError(f"unknown distance '{distance}'; use correlation or euclidean")
    scipy_method = {"ward.D2": "ward", "mcquitty": "weighted"}.get(method, method)
    z = linkage(cond, method=scipy_method)
    merge = np.empty((n - 1, 2), dtype=np.int64)
    for i, (a, b) in enumerate(z[:, :2].astype(np.int64)):
        ra = -(a + 1) if a < n else a - n + 1
        rb = -(b + 1) if b < n else b - n + 1
        if (ra > 0 > rb) or (ra < 0 and rb < 0 and -ra > -rb) or (ra > 0 and rb > 0 and ra > rb):
            ra, rb = rb, ra
        merge[i] = (ra, rb)
    return HClust(merge=merge, height=z[:, 2].copy(), order=_order(merge),
                  labels=tuple(labs), method=method)


def _order(merge: NDArray[np.int64]) -> NDArray[np.int64]:
    out: list[int] = []
    stack = [len(merge)]
    while stack:
        node = stack.pop()
        if node < 0:
            out.append(-node - 1)
            continue
        a, b = merge[node - 1]
        stack.append(int(b))
        stack.append(int(a))
    return np.asarray(out, dtype=np.int64)
