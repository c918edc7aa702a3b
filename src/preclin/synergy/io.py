"""Read and validate drug-combination tables (long format, one row per well/measurement).

The input has one row per measurement: ``block, drug1, drug2, conc1, conc2, response``
(column names configurable), replicates allowed (several rows per dose pair, or a
``replicate`` column). ``response`` is % viability (``response_kind="viability"``,
inhibition = 100 − viability) or % inhibition. Every block must be a full grid: every
``conc1`` combined with every ``conc2``, including the single-agent arms (``conc2 = 0``
rows for every ``conc1`` and vice versa) and the untreated control (0, 0). SynergyFinder
imputes missing cells (``mice``); preclin refuses incomplete grids and says which dose
pairs are missing.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from ..errors import InputError
from ..tables import (
    exclusion_flags,
    read_table,
    require_columns,
    require_keys,
    require_number_type,
    shown_value,
)
from .models import Block

__all__ = ["CombinationData", "read_combinations", "validate_combinations", "STANDARD",
           "RESPONSE_KINDS"]

#: standard column names of the validated long table
STANDARD: tuple[str, ...] = ("block", "drug1", "drug2", "conc1", "conc2", "response")
RESPONSE_KINDS: tuple[str, ...] = ("viability", "inhibition")
_MAX_LISTED = 4


@dataclass
class CombinationData:
    """A validated combination table.

    Attributes
    ----------
    table
        Long table, input order: ``block, drug1, drug2, conc1, conc2, response,
        inhibition, replicate, source_row`` (``source_row`` = 0-based row of the input).
    blocks
        One :class:`~preclin.synergy.models.Block` per block (mean % inhibition per dose
        pair), in order of first appearance.
    block_ids
        The block labels, aligned with ``blocks``.
    drugs
        ``(drug1, drug2)`` names per block.
    replicates
        Number of measurements per dose pair (min over the grid) per block.
    excluded
        Rows left out, with ``source_row`` and ``reason``.
    response_kind
        ``"viability"`` or ``"inhibition"``.
    """

    table: pd.DataFrame
    blocks: list[Block]
    block_ids: list[object]
    drugs: list[tuple[str, str]]
    replicates: list[int]
    excluded: pd.DataFrame
    response_kind: str
    file: str | None = None
    replicate_blocks: dict[object, list[Block]] = field(default_factory=dict)


def _where(file: str | Path | None) -> str | None:
    return None if file is None else str(file)


def _numeric(df: pd.DataFrame, col: str, block: pd.Series, file: str | None,
             *, nonnegative: bool, allow_nan: bool) -> pd.Series:
    raw = df[col]
    require_number_type(raw, col, file=file)
    vals = pd.to_numeric(raw, errors="coerce").astype("float64")
    bad = (vals.isna() & raw.notna()) if allow_nan else vals.isna()
    if bad.any():
        pos = int(np.flatnonzero(bad.to_numpy())[0])
        shown = raw.iloc[pos]
        what = "is missing" if pd.isna(shown) else f"is not a number ({shown_value(shown)})"
        raise InputError(f"block {shown_value(block.iloc[pos])}: column '{col}' {what}",
                         file=file,
                         location=f"row {pos + 2}")
    arr = vals.to_numpy()
    inf = np.isinf(arr)
    if inf.any():
        pos = int(np.flatnonzero(inf)[0])
        raise InputError(f"block {shown_value(block.iloc[pos])}: column '{col}' must be "
                         "finite",
                         file=file, location=f"row {pos + 2}")
    if nonnegative:
        neg = arr < 0
        if neg.any():
            pos = int(np.flatnonzero(neg)[0])
            raise InputError(f"block {shown_value(block.iloc[pos])}: concentration '{col}' "
                             "must not be "
                             f"negative but is {arr[pos]:g}", file=file,
                             location=f"row {pos + 2}")
    return vals


def _fmt(values: list[float]) -> str:
    shown = ", ".join(f"{v:g}" for v in values[:_MAX_LISTED])
    return shown + (f" and {len(values) - _MAX_LISTED} more" if len(values) > _MAX_LISTED else "")


def validate_combinations(
    data: pd.DataFrame,
    *,
    block: str = "block",
    drug1: str = "drug1",
    drug2: str = "drug2",
    conc1: str = "conc1",
    conc2: str = "conc2",
    response: str = "response",
    replicate: str | None = None,
    response_kind: str = "viability",
    file: str | Path | None = None,
    exclude_column: str | None = "excluded",
    reason_column: str = "reason",
) -> CombinationData:
    """Validate a long combination table and build one dose grid per block.

    Parameters
    ----------
    data
        The input table.
    block, drug1, drug2, conc1, conc2, response
        Column names in ``data``. ``block`` may be absent when the table holds a single
        drug pair (it is then called ``1``).
    replicate
        Optional column identifying replicates (plates/experiments); without it the
        k-th measurement of a dose pair is replicate k.
    response_kind
        ``"viability"`` (% of untreated) or ``"inhibition"`` (% inhibition).
    file
        File name for messages.
    exclude_column, reason_column
        If the table has a boolean ``exclude_column`` (as written by
        :func:`preclin.plates.normalise`), rows marked True are left out and listed in
        ``excluded`` with the reason from ``reason_column``.

    Returns
    -------
    CombinationData

    Raises
    ------
    InputError
        Missing columns, non-numeric or negative concentrations, non-numeric responses,
        several drug pairs in one block, only zero doses of a drug, missing single-agent
        arms, non-grid matrices; each message names the block and the problem.
    """
    where = _where(file)
    if response_kind not in RESPONSE_KINDS:
        raise InputError(f"response_kind must be 'viability' or 'inhibition', not "
                         f"{response_kind!r}", file=where)
    if not isinstance(data, pd.DataFrame):
        raise InputError("expected a table (pandas.DataFrame)", file=where)
    if data.shape[0] == 0:
        raise InputError("the table has no rows", file=where)
    df = data.reset_index(drop=True)
    have_block = block in df.columns
    require_columns(df, [c for c in (drug1, drug2, conc1, conc2, response)]
                    + ([block] if have_block else []), file=where)
    if replicate is not None:
        require_columns(df, [replicate], file=where)
    blk = df[block] if have_block else pd.Series(1, index=df.index)
    require_keys(df, [c for c in (block if have_block else None, drug1, drug2, replicate)
                      if c is not None], file=where)
    if blk.isna().any():
        pos = int(np.flatnonzero(blk.isna().to_numpy())[0])
        raise InputError("the block label is missing", file=where, location=f"row {pos + 2}")
    c1 = _numeric(df, conc1, blk, where, nonnegative=True, allow_nan=False)
    c2 = _numeric(df, conc2, blk, where, nonnegative=True, allow_nan=False)
    resp = _numeric(df, response, blk, where, nonnegative=False, allow_nan=True)

    out = pd.DataFrame({
        "block": blk.to_numpy(),
        "drug1": df[drug1].astype("string").to_numpy(),
        "drug2": df[drug2].astype("string").to_numpy(),
        "conc1": c1.to_numpy(),
        "conc2": c2.to_numpy(),
        "response": resp.to_numpy(),
    })
    out["inhibition"] = 100.0 - out["response"] if response_kind == "viability" \
        else out["response"]
    out["source_row"] = np.arange(len(out))
    reasons = np.full(len(out), "", dtype=object)
    flag = exclusion_flags(df, exclude_column, file=where)
    if flag is not None:
        why = (df[reason_column].astype("string").fillna("").to_numpy()
               if reason_column in df.columns else np.full(len(df), "", dtype=object))
        for i in np.flatnonzero(flag):
            reasons[i] = str(why[i]) or "excluded upstream"
    reasons[(reasons == "") & out["response"].isna().to_numpy()] = "response missing"
    missing = reasons != ""
    excluded = out.loc[missing].assign(reason=reasons[missing]).reset_index(drop=True)
    used = out.loc[~missing].reset_index(drop=True)
    if used.empty:
        raise InputError("no row has a response value", file=where)

    if replicate is not None:
        used["replicate"] = df.loc[~missing, replicate].to_numpy()
    else:
        used["replicate"] = used.groupby(["block", "conc1", "conc2"], sort=False).cumcount() + 1

    blocks: list[Block] = []
    ids: list[object] = []
    drugs: list[tuple[str, str]] = []
    nrep: list[int] = []
    rep_blocks: dict[object, list[Block]] = {}
    for bid, g in used.groupby("block", sort=False):
        label = shown_value(bid)
        pairs = g[["drug1", "drug2"]].drop_duplicates()
        if len(pairs) > 1:
            shown = "; ".join(f"{a} + {b}" for a, b in pairs.head(3).itertuples(index=False))
            raise InputError(f"block {label} holds more than one drug pair ({shown}); give "
                             "each pair its own block", file=where,
                             location=f"row {int(g['source_row'].iloc[0]) + 2}")
        d1, d2 = (str(v) for v in pairs.iloc[0])
        u1 = np.sort(g["conc1"].unique())
        u2 = np.sort(g["conc2"].unique())
        for name, u, col in ((d1, u1, "conc1"), (d2, u2, "conc2")):
            if not (u > 0).any():
                raise InputError(f"block {label}: only zero doses of {name} ('{col}'); a "
                                 "combination needs positive doses of both drugs", file=where)
        for other, u, col in ((d2, u1, "conc1"), (d1, u2, "conc2")):
            if u[0] != 0:
                raise InputError(f"block {label}: missing single-agent arm of {other} — no row "
                                 f"has {col} = 0, so the effect of {other} alone is unknown",
                                 file=where)
        cells = set(zip(g["conc1"].to_numpy(), g["conc2"].to_numpy(), strict=True))
        miss1 = [float(a) for a in u1 if (a, 0.0) not in cells]
        if miss1:
            raise InputError(f"block {label}: missing single-agent arm of {d1} — no conc2 = 0 "
                             f"row for conc1 = {_fmt(miss1)}", file=where)
        miss2 = [float(b) for b in u2 if (0.0, b) not in cells]
        if miss2:
            raise InputError(f"block {label}: missing single-agent arm of {d2} — no conc1 = 0 "
                             f"row for conc2 = {_fmt(miss2)}", file=where)
        holes = [(float(a), float(b)) for a in u1 for b in u2 if (a, b) not in cells]
        if holes:
            shown = ", ".join(f"({a:g}, {b:g})" for a, b in holes[:_MAX_LISTED])
            more = f" and {len(holes) - _MAX_LISTED} more" if len(holes) > _MAX_LISTED else ""
            raise InputError(f"block {label}: not a full dose grid — {len(holes)} of "
                             f"{len(u1) * len(u2)} (conc1, conc2) pairs have no measurement: "
                             f"{shown}{more}", file=where)
        i1 = np.searchsorted(u1, g["conc1"].to_numpy())
        i2 = np.searchsorted(u2, g["conc2"].to_numpy())
        mean = np.zeros((u1.size, u2.size))
        count = np.zeros((u1.size, u2.size))
        np.add.at(mean, (i1, i2), g["inhibition"].to_numpy())
        np.add.at(count, (i1, i2), 1.0)
        order = np.full((u1.size, u2.size), -1, dtype=np.int64)
        cell, first = np.unique(i1 * u2.size + i2, return_index=True)
        order.flat[cell] = first  # the first row of each dose pair
        blocks.append(Block(u1, u2, mean / count, order))
        ids.append(bid)
        drugs.append((d1, d2))
        nrep.append(int(count.min()))
        rep_blocks[bid] = _replicate_grids(g, u1, u2, i1, i2)
    return CombinationData(table=used, blocks=blocks, block_ids=ids, drugs=drugs,
                           replicates=nrep, excluded=excluded, response_kind=response_kind,
                           file=where, replicate_blocks=rep_blocks)


def _replicate_grids(g: pd.DataFrame, u1: np.ndarray, u2: np.ndarray, i1: np.ndarray,
                     i2: np.ndarray) -> list[Block]:
    """One block per replicate (in order of first appearance), or none unless every
    replicate is a complete grid with one measurement per dose pair. Vectorised: blocks of
    thousands of replicates are built at once."""
    rep, labels = pd.factorize(g["replicate"], sort=False)
    keep = rep >= 0  # rows without a replicate label belong to no replicate grid
    rep, j1, j2 = rep[keep], i1[keep], i2[keep]
    n_cells = u1.size * u2.size
    n_rep = len(labels)
    if n_rep == 0 or (np.bincount(rep, minlength=n_rep) != n_cells).any():
        return []
    if np.unique(rep * n_cells + j1 * u2.size + j2).size != rep.size:
        return []  # a dose pair measured twice in one replicate
    mats = np.empty((n_rep, u1.size, u2.size))
    mats[rep, j1, j2] = g["inhibition"].to_numpy()[keep]
    by_rep = np.argsort(rep, kind="stable")
    within = np.empty(rep.size, dtype=np.int64)
    within[by_rep] = np.arange(rep.size) - np.repeat(np.arange(n_rep) * n_cells, n_cells)
    orders = np.empty((n_rep, u1.size, u2.size), dtype=np.int64)
    orders[rep, j1, j2] = within
    return [Block(u1, u2, mats[k], orders[k]) for k in range(n_rep)]


def read_combinations(
    source: str | Path | pd.DataFrame,
    *,
    columns: Mapping[str, str] | None = None,
    response_kind: str = "viability",
    replicate: str | None = None,
    sheet: str | int = 0,
) -> CombinationData:
    """Read (CSV/Parquet/XLSX, by extension) and validate a combination table.

    Parameters
    ----------
    source
        File path or table.
    columns
        Map from standard names (``block, drug1, drug2, conc1, conc2, response``) to the
        column names of the file, e.g. ``{"block": "block_id", "drug1": "drug_row"}``.
    response_kind
        ``"viability"`` or ``"inhibition"``.
    replicate
        Optional replicate column.
    sheet
        Sheet of an XLSX file.
    """
    cols = dict(zip(STANDARD, STANDARD, strict=True))
    if columns:
        unknown = set(columns) - set(STANDARD)
        if unknown:
            raise InputError(f"unknown column role(s) {', '.join(sorted(unknown))}; use "
                             f"{', '.join(STANDARD)}")
        cols.update(columns)
    if isinstance(source, pd.DataFrame):
        return validate_combinations(source, response_kind=response_kind, replicate=replicate,
                                     **cols)
    # block, drug and replicate labels are keys: text as written (1 and 1.0 are two blocks)
    keys = [cols["block"], cols["drug1"], cols["drug2"]] + ([replicate] if replicate else [])
    table = read_table(source, sheet=sheet, keys=keys)
    return validate_combinations(table, response_kind=response_kind, replicate=replicate,
                                 file=source, **cols)
