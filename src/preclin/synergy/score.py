"""Synergy scores of every block of a combination table, per dose pair and per block.

:func:`score` is the analysis verb of the room: long table in, :class:`SynergyResult` out
(``.blocks``, ``.cells``, ``.fits``, ``.excluded``). :func:`score_file` is what the command
line calls.

Block summary (SynergyFinder's): the mean synergy over the **combination cells** (both
concentrations > 0); the monotherapy row and column (synergy 0 by definition) are left out.
Two p-values are reported:

* ``<model>_p`` — one-sample t-test (two-sided) of the per-replicate block means against
  0, where the block has at least two complete replicate grids (each replicate scored on
  its own); NaN otherwise.
* ``<model>_p_sf`` — SynergyFinder 3's p-value for a block without replicates: with
  ``z = |mean| / sd`` of the per-cell synergies of the combination cells,
  ``p = exp(−0.717·z − 0.416·z²)`` (a closed-form approximation of the two-sided normal
  tail). It treats the spread of the synergy *across doses* as its standard error, so it
  is a descriptive index of consistency rather than a test of replicates. (For replicated
  data SynergyFinder applies the same formula to 10 bootstrap resamples of the
  replicates, with R's random numbers; preclin does not reproduce that.)

Replicates: the scores in ``.blocks`` and ``.cells`` are computed on the mean response of
each dose pair (SynergyFinder instead averages the scores of 10 random bootstrap draws).
A block with more than :data:`MAX_REPLICATE_GRIDS` replicate grids has them pooled, in
order, into that many batches (the mean grid of consecutive replicates) before the
per-replicate scoring of ``<model>_p``: the t-test is then on batch means (the method of
batch means: still a test with independent, identically distributed samples), and
replicate-heavy input (thousands of replicates, each of which would need its own curve
fits for Loewe and ZIP) is scored in seconds. With at most that many replicates nothing
changes.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
from scipy import stats

from ..errors import InputError
from ..tables import write_table
from .io import CombinationData, read_combinations
from .models import FITTERS, MODELS, Block, BlockResult, score_blocks
from .sensitivity import block_sensitivity

__all__ = ["score", "score_file", "SynergyResult", "BLOCK_COLUMNS", "CELL_COLUMNS",
           "parse_models", "sf_p_value", "MAX_REPLICATE_GRIDS"]

#: replicate grids of a block scored one by one for the t-test; more are pooled into
#: this many batches (see the module doc)
MAX_REPLICATE_GRIDS = 16

#: documentation of the columns of :attr:`SynergyResult.blocks`
BLOCK_COLUMNS: dict[str, str] = {
    "block, drug1, drug2": "block label and drug names",
    "n_conc1, n_conc2": "number of positive concentrations of drug 1 / drug 2",
    "n_replicates": "smallest number of measurements of a dose pair",
    "<model>": "mean synergy over the combination cells (both concentrations > 0), "
               "% inhibition; > 0 synergy, < 0 antagonism (bliss, hsa, loewe, zip)",
    "<model>_p": "t-test of per-replicate block means against 0 (NaN without ≥ 2 complete "
                 "replicate grids; over 16 replicates: of 16 batch means)",
    "<model>_p_sf": "SynergyFinder's p-value exp(−0.717 z − 0.416 z²), z = |mean|/sd over "
                    "the combination cells",
    "ic50_1 ... css": "with sensitivity=True: relative IC50s, RI and CSS (see "
                      "preclin.synergy.sensitivity)",
    "notes": "failed fits or other remarks",
}

#: documentation of the columns of :attr:`SynergyResult.cells`
CELL_COLUMNS: dict[str, str] = {
    "block, drug1, drug2, conc1, conc2": "dose pair (concentration units as in the input)",
    "n": "number of measurements averaged",
    "response": "mean response as given (viability or inhibition)",
    "inhibition": "mean % inhibition",
    "<model>_ref": "reference (no-interaction) response, % inhibition",
    "<model>_synergy": "observed − reference (ZIP: fitted − reference, the delta score)",
    "zip_fit": "ZIP's fitted combination surface",
}


@dataclass(frozen=True)
class SynergyResult:
    """Result of :func:`score`.

    Attributes
    ----------
    blocks
        One row per block (see :data:`BLOCK_COLUMNS`), in input order.
    cells
        One row per block × dose pair (see :data:`CELL_COLUMNS`), ordered by block, conc1,
        conc2.
    fits
        Monotherapy fits: ``block, role, drug, model, hill, bottom, top, ec50, rss,
        iterations`` (drc parameterisation: ``y = bottom + (top − bottom)/(1 +
        exp(hill·(log dose − log ec50)))``; ``model`` ``L.4`` means a fit on the log dose).
    excluded
        Input rows left out, with ``source_row`` (0-based) and ``reason``.
    models
        The models scored.
    """

    blocks: pd.DataFrame
    cells: pd.DataFrame
    fits: pd.DataFrame
    excluded: pd.DataFrame
    models: tuple[str, ...]
    response_kind: str = "viability"


def parse_models(models: str | Iterable[str]) -> tuple[str, ...]:
    """``"bliss,zip"`` or a sequence → validated tuple of model names."""
    items = [m.strip().lower() for m in (models.split(",") if isinstance(models, str)
                                         else models)]
    items = [m for m in items if m]
    if not items:
        raise InputError("no synergy model given; choose from " + ", ".join(MODELS))
    bad = [m for m in items if m not in MODELS]
    if bad:
        raise InputError(f"unknown synergy model(s) {', '.join(bad)}; choose from "
                         + ", ".join(MODELS))
    return tuple(dict.fromkeys(items))


def sf_p_value(values: Sequence[float] | np.ndarray) -> float:
    """SynergyFinder's p-value of a set of synergy values (see module doc)."""
    v = np.asarray(values, dtype=float)
    v = v[np.isfinite(v)]
    if v.size < 2:
        return math.nan
    sd = float(np.std(v, ddof=1))
    mean = float(np.mean(v))
    if sd == 0:
        return 0.0 if mean != 0 else math.nan
    z = abs(mean) / sd
    return float(math.exp(-0.717 * z - 0.416 * z * z))


def _combination_mean(mat: np.ndarray) -> float:
    inner = mat[1:, 1:]
    return float(np.mean(inner)) if np.isfinite(inner).all() else math.nan


def score(
    data: pd.DataFrame | str | Path | CombinationData,
    *,
    models: str | Iterable[str] = MODELS,
    response_kind: str = "viability",
    columns: dict[str, str] | None = None,
    replicate: str | None = None,
    fitter: str = "synergyfinder",
    loewe: str = "grid",
    sensitivity: bool = False,
) -> SynergyResult:
    """Score every block of a long combination table with reference models.

    Parameters
    ----------
    data
        Long table (``block, drug1, drug2, conc1, conc2, response``), a file (CSV/Parquet/
        XLSX) or an already validated :class:`~preclin.synergy.io.CombinationData`.
    models
        Any of ``"bliss", "hsa", "loewe", "zip"`` (sequence or comma-separated string).
    response_kind
        ``"viability"`` (% of untreated; inhibition = 100 − response) or ``"inhibition"``.
    columns
        Map from standard column names to the input's names.
    replicate
        Optional replicate column (default: k-th measurement of a dose pair = replicate k).
    fitter
        ``"synergyfinder"`` (default; reproduces SynergyFinder 3.7.3's drc fits) or
        ``"preclin"`` (least-squares optimum by :func:`preclin.doseresponse.fit`).
    loewe
        ``"grid"`` (SynergyFinder's 100 effect levels) or ``"exact"`` (root of the Loewe
        equation).
    sensitivity
        Also report IC50, RI and CSS per block (SynergyFinder's ``CalculateSensitivity``).

    Returns
    -------
    SynergyResult

    Raises
    ------
    InputError
        Invalid table (see :func:`preclin.synergy.io.validate_combinations`) or options.
    """
    names = parse_models(models)
    if fitter not in FITTERS:
        raise InputError(f"unknown fitter {fitter!r}; choose from {', '.join(FITTERS)}")
    if loewe not in ("grid", "exact"):
        raise InputError(f"unknown Loewe method {loewe!r}; choose 'grid' or 'exact'")
    comb = data if isinstance(data, CombinationData) else read_combinations(
        data, columns=columns, response_kind=response_kind, replicate=replicate)
    need_fits = sensitivity and not ("loewe" in names or "zip" in names)
    run_models = names + (("loewe",) if need_fits else ())
    results = score_blocks(comb.blocks, run_models, fitter=fitter, loewe_method=loewe)

    # per-replicate scores for the t-test
    rep_means: dict[int, dict[str, list[float]]] = {}
    flat, owner = [], []
    for k, bid in enumerate(comb.block_ids):
        reps = _batches(comb.replicate_blocks.get(bid, []))
        if len(reps) >= 2:
            flat.extend(reps)
            owner.extend([k] * len(reps))
    if flat:
        rep_res = score_blocks(flat, names, fitter=fitter, loewe_method=loewe)
        for k, r in zip(owner, rep_res, strict=True):
            slot = rep_means.setdefault(k, {m: [] for m in names})
            for m in names:
                slot[m].append(_combination_mean(r.synergy[m]))

    block_rows = []
    cell_frames = []
    fit_rows = []
    for k, (bid, res, blk) in enumerate(zip(comb.block_ids, results, comb.blocks, strict=True)):
        d1, d2 = comb.drugs[k]
        row: dict[str, object] = {
            "block": bid, "drug1": d1, "drug2": d2,
            "n_conc1": int((blk.conc1 > 0).sum()), "n_conc2": int((blk.conc2 > 0).sum()),
            "n_replicates": comb.replicates[k],
        }
        notes = list(res.notes)
        for m in names:
            row[m] = _combination_mean(res.synergy[m])
        for m in names:
            means = rep_means.get(k, {}).get(m, [])
            p = math.nan
            if len(means) >= 2 and np.all(np.isfinite(means)) and np.std(means) > 0:
                p = float(stats.ttest_1samp(means, 0.0).pvalue)
            row[f"{m}_p"] = p
        for m in names:
            row[f"{m}_p_sf"] = sf_p_value(res.synergy[m][1:, 1:].ravel())
        if comb.replicates[k] >= 2 and k not in rep_means:
            notes.append("replicates are not complete grids: no replicate t-test")
        n_grids = len(comb.replicate_blocks.get(bid, []))
        if n_grids > MAX_REPLICATE_GRIDS:
            notes.append(f"{n_grids} replicate grids pooled into {MAX_REPLICATE_GRIDS} "
                         "batches for the replicate t-test")
        if sensitivity:
            row.update({str(k): v for k, v in
                        block_sensitivity(blk, res.fit1, res.fit2).to_dict().items()})
        row["notes"] = "; ".join(notes)
        block_rows.append(row)
        cell_frames.append(_cells(bid, d1, d2, blk, res, names, comb))
        for role, drug, f in (("drug1", d1, res.fit1), ("drug2", d2, res.fit2)):
            if f is None and not ("loewe" in run_models or "zip" in run_models):
                continue
            fit_rows.append({
                "block": bid, "role": role, "drug": drug,
                "model": None if f is None else f.model,
                "hill": math.nan if f is None else f.b,
                "bottom": math.nan if f is None else f.c,
                "top": math.nan if f is None else f.d,
                "ec50": math.nan if f is None else f.ec50,
                "rss": math.nan if f is None else f.rss,
                "iterations": -1 if f is None else f.iterations,
            })
    blocks = pd.DataFrame(block_rows)
    cells = pd.concat(cell_frames, ignore_index=True)
    fits = pd.DataFrame(fit_rows, columns=["block", "role", "drug", "model", "hill", "bottom",
                                           "top", "ec50", "rss", "iterations"])
    return SynergyResult(blocks=blocks, cells=cells, fits=fits,
                         excluded=comb.excluded.reset_index(drop=True), models=names,
                         response_kind=comb.response_kind)


def _batches(reps: list[Block]) -> list[Block]:
    """The replicate grids, or their means over :data:`MAX_REPLICATE_GRIDS` batches of
    consecutive replicates (each batch keeps its first replicate's point order)."""
    if len(reps) <= MAX_REPLICATE_GRIDS:
        return reps
    out = []
    for idx in np.array_split(np.arange(len(reps)), MAX_REPLICATE_GRIDS):
        first = reps[int(idx[0])]
        mat = np.mean(np.stack([reps[int(i)].inhibition for i in idx]), axis=0)
        out.append(Block(first.conc1, first.conc2, mat, first.order))
    return out


def _cells(bid: object, d1: str, d2: str, blk, res: BlockResult, names: tuple[str, ...],
           comb: CombinationData) -> pd.DataFrame:
    n1, n2 = blk.inhibition.shape
    ii, jj = np.meshgrid(np.arange(n1), np.arange(n2), indexing="ij")
    sub = comb.table[comb.table["block"] == bid]
    counts = sub.groupby(["conc1", "conc2"]).size()
    inh = blk.inhibition[ii, jj].ravel()
    resp = 100.0 - inh if comb.response_kind == "viability" else inh
    frame = pd.DataFrame({
        "block": [bid] * (n1 * n2), "drug1": d1, "drug2": d2,
        "conc1": blk.conc1[ii].ravel(), "conc2": blk.conc2[jj].ravel(),
    })
    frame["n"] = [int(counts.get((a, b), 0)) for a, b in zip(frame["conc1"], frame["conc2"],
                                                                strict=True)]
    frame["response"] = resp
    frame["inhibition"] = inh
    for m in names:
        frame[f"{m}_ref"] = res.reference[m].ravel()
        frame[f"{m}_synergy"] = res.synergy[m].ravel()
    if "zip" in names and res.zip_fit is not None:
        frame["zip_fit"] = res.zip_fit.ravel()
    return frame


def score_file(
    input: str | Path,
    out: str | Path,
    cells: str | Path | None = None,
    models: str | Iterable[str] = MODELS,
    **kwargs: object,
) -> SynergyResult:
    """Score a combination file and write the block table (and the cell table).

    Parameters
    ----------
    input
        Long combination table (CSV/Parquet/XLSX).
    out
        Block summary output; format by extension (CSV/Parquet/XLSX).
    cells
        Optional per-dose-pair output.
    models
        Models to score (``"bliss,hsa,loewe,zip"`` by default).
    **kwargs
        Passed to :func:`score` (``response_kind``, ``columns``, ``fitter``, ...).
    """
    result = score(Path(input), models=models, **kwargs)  # type: ignore[arg-type]
    write_table(result.blocks, out)
    if cells is not None:
        write_table(result.cells, cells)
    return result
