"""Expression matrices in, probe annotation, collapsing probes to genes.

Readers return an :class:`ExpressionMatrix`: features x samples values (feature IDs and
sample IDs as text exactly as written), the scale found (``log2`` or ``linear``) with the
reason, and sample annotations when the file carries them (GEO series matrix).

Formats, recognised by content and extension: CSV, TSV, TXT (comma or tab, optionally
``.gz``), Parquet, and GEO series-matrix text files (``*_series_matrix.txt[.gz]``:
``!Sample_*`` header lines become the sample annotations, the table between
``!series_matrix_table_begin`` and ``!series_matrix_table_end`` the matrix).
"""

from __future__ import annotations

import gzip
import io
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from ..errors import InputError

__all__ = ["ExpressionMatrix", "read_matrix", "read_samples", "detect_scale", "to_log2",
           "align_samples", "collapse_to_genes", "COLLAPSE_RULES"]

#: Rules of :func:`collapse_to_genes`.
COLLAPSE_RULES: dict[str, str] = {
    "max_mean": "keep the probe with the highest mean expression (WGCNA collapseRows "
                "'MaxMean'); ties: the first probe in file order",
    "max_var": "keep the probe with the highest variance across samples; ties: first probe",
    "mean": "average the probes of the gene, sample by sample",
    "median": "median of the probes of the gene, sample by sample",
}


@dataclass(frozen=True)
class ExpressionMatrix:
    """Features x samples expression values with the scale found.

    Attributes
    ----------
    values
        DataFrame, index = feature IDs (text), columns = sample IDs (text), float.
    scale
        ``"log2"`` or ``"linear"``.
    scale_reason
        Why: the quantiles the rule looked at.
    samples
        Sample annotations found in the file (GEO), or ``None``.
    source
        The file read (or ``None``).
    """

    values: pd.DataFrame
    scale: str
    scale_reason: str
    samples: pd.DataFrame | None = None
    source: Path | None = None

    def log2(self) -> ExpressionMatrix:
        """The same matrix on the log2 scale (unchanged when already log2)."""
        if self.scale == "log2":
            return self
        return ExpressionMatrix(values=to_log2(self.values), scale="log2",
                                scale_reason=f"log2-transformed by preclin ({self.scale_reason})",
                                samples=self.samples, source=self.source)


def detect_scale(values: pd.DataFrame | np.ndarray) -> tuple[str, str]:
    """Say whether values look log2-transformed or linear, and why.

    GEO2R's rule (NCBI): with q the 0, 25, 50, 75, 99 and 100 % quantiles of all finite
    values, the data are linear when ``q99 > 100`` or (``q100 − q0 > 50`` and ``q25 > 0``);
    otherwise log. Negative values with a small range are log ratios (log scale).

    Returns
    -------
    scale, reason
    """
    arr = np.asarray(values, dtype=float).ravel()
    arr = arr[np.isfinite(arr)]
    if arr.size == 0:
        raise InputError("the expression matrix has no finite value")
    q = np.quantile(arr, [0, 0.25, 0.5, 0.75, 0.99, 1.0])
    desc = (f"quantiles 0/25/50/75/99/100 % = {q[0]:.3g}/{q[1]:.3g}/{q[2]:.3g}/{q[3]:.3g}/"
            f"{q[4]:.3g}/{q[5]:.3g}")
    if q[4] > 100:
        return "linear", f"99th percentile {q[4]:.3g} > 100 ({desc}; GEO2R's rule)"
    if q[5] - q[0] > 50 and q[1] > 0:
        return "linear", (f"range {q[5] - q[0]:.3g} > 50 with positive lower quartile "
                          f"({desc}; GEO2R's rule)")
    why = (f"range {q[5] - q[0]:.3g} ≤ 50" if q[5] - q[0] <= 50
           else f"lower quartile {q[1]:.3g} ≤ 0")
    return "log2", f"99th percentile {q[4]:.3g} ≤ 100 and {why} ({desc}; GEO2R's rule)"


def to_log2(values: pd.DataFrame) -> pd.DataFrame:
    """log2 of linear values; values ≤ 0 become NaN (as GEO2R does)."""
    arr = values.to_numpy(dtype=float)
    with np.errstate(divide="ignore", invalid="ignore"):
        out = np.where(arr > 0, np.log2(np.where(arr > 0, arr, 1.0)), np.nan)
    return pd.DataFrame(out, index=values.index, columns=values.columns)


def _open_text(path: Path) -> str:
    raw = path.read_bytes()
    if raw[:2] == b"\x1f\x8b":
        try:
            raw = gzip.decompress(raw)
        except OSError as exc:
            raise InputError(f"cannot decompress gzip file ({exc})", file=path) from None
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        return raw.decode("latin-1")


def read_matrix(path: str | Path) -> ExpressionMatrix:
    """Read a features x samples expression matrix.

    The first column holds the feature IDs (read as text), every other column one sample
    (its header is the sample ID, as text). Values must be numbers; empty cells and ``NA``
    are missing values.

    Parameters
    ----------
    path
        CSV/TSV/TXT (``.gz`` allowed), Parquet, or a GEO series-matrix file.

    Returns
    -------
    ExpressionMatrix

    Raises
    ------
    InputError
        Missing file, no sample column, duplicated feature or sample IDs, a cell that is
        not a number (named by row and column).
    """
    p = Path(path)
    if not p.is_file():
        raise InputError("file not found", file=p)
    name = p.name.lower().removesuffix(".gz")
    samples = None
    if name.endswith((".parquet", ".pq")):
        try:
            df = pd.read_parquet(p)
        except Exception as exc:  # pyarrow raises its own types
            raise InputError(f"cannot read Parquet ({type(exc).__name__})", file=p) from None
        df = df.set_index(df.columns[0])
    else:
        text = _open_text(p)
        if "!series_matrix_table_begin" in text:
            df, samples = _parse_series_matrix(text, p)
        else:
            df = _parse_delimited(text, p, tab=name.endswith(".tsv"))
    df.index = df.index.astype(str)
    df.columns = [str(c) for c in df.columns]
    df.index.name = "feature"
    _check_matrix(df, p)
    scale, reason = detect_scale(df)
    return ExpressionMatrix(values=df.astype(float), scale=scale, scale_reason=reason,
                            samples=samples, source=p)


def _parse_delimited(text: str, p: Path, tab: bool) -> pd.DataFrame:
    first = text.split("\n", 1)[0]
    sep = "\t" if tab or first.count("\t") > first.count(",") else ","
    try:
        head = pd.read_csv(io.StringIO(first), sep=sep, header=None, dtype=str)
        idcol = str(head.iloc[0, 0])
        df = pd.read_csv(io.StringIO(text), sep=sep, dtype={idcol: str}, index_col=0)
    except (ValueError, pd.errors.ParserError, pd.errors.EmptyDataError) as exc:
        raise InputError(f"cannot read matrix ({' '.join(str(exc).split())[:200]})",
                         file=p) from None
    return df


def _parse_series_matrix(text: str, p: Path) -> tuple[pd.DataFrame, pd.DataFrame]:
    lines = text.splitlines()
    meta: dict[str, list[list[str]]] = {}
    begin = end = None
    for i, line in enumerate(lines):
        low = line.lower()
        if low.startswith("!series_matrix_table_begin"):
            begin = i + 1
        elif low.startswith("!series_matrix_table_end"):
            end = i
            break
        elif begin is None and line.startswith("!Sample_"):
            fields = [f.strip().strip('"') for f in line.split("\t")]
            meta.setdefault(fields[0][len("!Sample_"):], []).append(fields[1:])
    if begin is None or end is None:
        raise InputError("GEO series matrix without a complete data table "
                         "(!series_matrix_table_begin ... _end)", file=p)
    block = "\n".join(lines[begin:end])
    try:
        df = pd.read_csv(io.StringIO(block), sep="\t", dtype={"ID_REF": str}, index_col=0,
                         na_values=["", "null", "NA", "NaN"])
    except (ValueError, pd.errors.ParserError, pd.errors.EmptyDataError) as exc:
        raise InputError(f"cannot read the series-matrix table ({exc})", file=p) from None
    cols: dict[str, list[str]] = {}
    for key, rows in meta.items():
        for k, row in enumerate(rows):
            name = key if len(rows) == 1 else f"{key}_{k + 1}"
            if key == "characteristics_ch1" and all(": " in v for v in row if v):
                name = row[0].split(": ", 1)[0].strip().replace(" ", "_")
                row = [v.split(": ", 1)[1] if ": " in v else v for v in row]
            cols[name] = row
    n = df.shape[1]
    ann = pd.DataFrame({k: v for k, v in cols.items() if len(v) == n})
    ann.insert(0, "sample", [str(c) for c in df.columns])
    if "geo_accession" in ann.columns:
        ann = ann.drop(columns="geo_accession")
    return df, ann


def _check_matrix(df: pd.DataFrame, p: Path) -> None:
    if df.shape[1] == 0:
        raise InputError("the matrix has no sample column (features x samples expected, "
                         "first column the feature ID)", file=p)
    if df.shape[0] == 0:
        raise InputError("the matrix has no rows", file=p)
    dup = df.index[df.index.duplicated()]
    if len(dup):
        raise InputError(f"feature ID '{dup[0]}' appears more than once", file=p,
                         location=f"column '{df.index.name or 'feature'}'")
    cdup = pd.Index(df.columns)[pd.Index(df.columns).duplicated()]
    if len(cdup):
        raise InputError(f"sample '{cdup[0]}' appears more than once", file=p,
                         location="header")
    for col in df.columns:
        if not pd.api.types.is_numeric_dtype(df[col]):
            vals = pd.to_numeric(df[col], errors="coerce")
            bad = np.flatnonzero(vals.isna().to_numpy() & df[col].notna().to_numpy())
            if len(bad):
                raise InputError(f"value {df[col].iloc[bad[0]]!r} is not a number", file=p,
                                 location=f"row {bad[0] + 2}, column '{col}'")
            df[col] = vals


def read_samples(path: str | Path, *, sample_column: str = "sample",
                 factors: Sequence[str] = ()) -> pd.DataFrame:
    """Read a sample table (CSV/TSV/XLSX/Parquet): a ``sample`` column and the design's
    factors, all read as text exactly as written (``01005`` stays ``01005``)."""
    from ..tables import read_table, require_columns

    p = Path(path)
    df = read_table(p, keys=[sample_column, *factors])
    require_columns(df, [sample_column, *factors], file=p)
    dup = df[sample_column][df[sample_column].duplicated()]
    if len(dup):
        raise InputError(f"sample '{dup.iloc[0]}' is listed twice", file=p,
                         location=f"column '{sample_column}'")
    return df


def align_samples(matrix: pd.DataFrame, samples: pd.DataFrame, *,
                  sample_column: str = "sample", file: str | Path | None = None
                  ) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Order the matrix columns as the sample table; refuse samples missing from the matrix.

    Matrix columns not in the sample table are left out (they are not part of the design).
    """
    ids = samples[sample_column].astype(str).tolist()
    missing = [s for s in ids if s not in matrix.columns]
    if missing:
        raise InputError(f"{len(missing)} sample(s) of the sample table are not columns of "
                         f"the matrix: {', '.join(missing[:5])}"
                         f"{' ...' if len(missing) > 5 else ''}", file=file)
    return matrix[ids], samples.reset_index(drop=True)


def collapse_to_genes(matrix: pd.DataFrame, annotation: pd.DataFrame, *,
                      probe_column: str = "probe", gene_column: str = "gene",
                      rule: str = "max_mean", separators: str = "/;,|"
                      ) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Map probes to genes with a user table and collapse them to one row per gene.

    Parameters
    ----------
    matrix
        Features (probes) x samples, log2.
    annotation
        Table with ``probe_column`` and ``gene_column``.
    rule
        One of :data:`COLLAPSE_RULES`.
    separators
        A gene field containing any of these characters (Affymetrix ``A /// B``) names
        several genes: such probes are left out.

    Returns
    -------
    genes, excluded
        Genes x samples (index ``gene``, sorted) and one row per probe left out with a
        ``reason`` (no annotation, several genes, dropped by the rule).
    """
    if rule not in COLLAPSE_RULES:
        raise InputError(f"unknown collapse rule '{rule}'; choose from "
                         f"{', '.join(COLLAPSE_RULES)}")
    from ..tables import require_columns

    require_columns(annotation, [probe_column, gene_column])
    ann = annotation[[probe_column, gene_column]].astype(str).drop_duplicates(probe_column)
    gene = pd.Series(ann[gene_column].str.strip().to_numpy(), index=ann[probe_column].to_numpy())
    g = gene.reindex(matrix.index)
    blank = g.isna() | g.isin(["", "nan", "NA", "---"])
    multi = ~blank & g.str.contains("[" + "".join("\\" + c for c in separators) + "]",
                                    regex=True, na=False)
    excluded = [pd.DataFrame({"probe": matrix.index[blank], "gene": "",
                              "reason": "no gene in the annotation table"}),
                pd.DataFrame({"probe": matrix.index[multi], "gene": g[multi].to_numpy(),
                              "reason": "maps to several genes"})]
    keep = ~(blank | multi)
    sub = matrix[keep.to_numpy()]
    genes = g[keep].to_numpy()
    if rule in ("mean", "median"):
        grouped = sub.groupby(genes, sort=True)
        out = grouped.mean() if rule == "mean" else grouped.median()
    else:
        score = sub.mean(axis=1) if rule == "max_mean" else sub.var(axis=1, ddof=1)
        frame = pd.DataFrame({"gene": genes, "score": score.to_numpy(),
                              "pos": np.arange(len(genes))})
        frame = frame.sort_values(["gene", "score", "pos"], ascending=[True, False, True],
                                  kind="stable")
        first = ~frame["gene"].duplicated()
        chosen = frame[first]
        dropped = frame[~first]
        out = sub.iloc[chosen["pos"].to_numpy()]
        out.index = pd.Index(chosen["gene"].to_numpy())
        excluded.append(pd.DataFrame({
            "probe": sub.index[dropped["pos"].to_numpy()], "gene": dropped["gene"].to_numpy(),
            "reason": f"another probe of the gene kept ({rule})"}))
    out.index.name = "gene"
    return out, pd.concat(excluded, ignore_index=True)
