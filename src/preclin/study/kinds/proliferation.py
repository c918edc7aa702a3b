"""Experiment kind ``proliferation``: CFSE (dye-dilution) generations per FCS file.

Study file::

    [[experiment]]
    name = "tcell_suppression"
    kind = "proliferation"
    files = ["cfse/fcs/*.fcs"]           # FCS files (globs), relative to the study file
    samples = "cfse/samples.csv"         # file -> sample, factors (donor, condition, ...)
    gates = "cfse/gates.toml"            # optional: Gating-ML .xml, FlowJo .wsp, .toml
    population = "T cells"               # the population fitted (with gates)
    channel = "CFSE"                     # dye channel ($PnN or marker)
    undivided = { condition = "unstimulated" }   # optional: unstimulated controls ...
    match = ["donor"]                    # ... shared with the samples of the same donor

    [experiment.model]                   # preclin.flow.proliferation.fit_proliferation
    method = "ml"                        # ml | ls
    width = "shared"                     # shared | varying
    criterion = "bic"                    # bic | aic
    max_generations = 12
    debris = "auto"                      # auto | exponential | none

    [[experiment.compare]]               # per-sample readouts through preclin.stats
    group = "condition"
    pair = "donor"
    control = "T alone"
    items = ["percent_divided", "division_index"]

Readouts compared (``items``): ``percent_divided``, ``precursor_frequency`` (%),
``division_index``, ``proliferation_index``, ``expansion_index``, ``replication_index``.
Definitions: ``docs/methods/proliferation.md``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal

import numpy as np
import pandas as pd
from pydantic import Field

from ...errors import StudyError
from ._cytometry import (
    EXCLUDED_COLUMNS,
    CytometrySettings,
    compare_readouts,
    comparison_figures,
    cytometry_report,
    gated_values,
    histogram_grid,
    read_fcs_inputs,
    readout_table,
)
from .base import ExperimentKind, KindOutput, ReportContext, RunContext
from .base import StrictModel as _Strict

__all__ = ["ProliferationKind", "ProliferationSettings", "ProliferationModelSpec",
           "PROLIFERATION_TABLES", "PROLIFERATION_READOUTS"]

#: tables a proliferation experiment writes and what one row is
PROLIFERATION_TABLES = {
    "generations": "one row per sample × generation: sample metadata, generation, count "
    "(fitted events), fraction_of_events, fraction_of_precursors, position (data units), "
    "sd (log10)",
    "summary": "one row per sample: sample metadata, percent_divided, precursor_frequency, "
    "division_index, proliferation_index, expansion_index, replication_index, generations, "
    "undivided_position and _source, fold_per_division, fit criteria, status, message",
    "readouts": "one row per sample × readout (undivided controls left out): the values "
    "compared (percent_divided and precursor_frequency in %, the indices as they are)",
    "comparisons": "one row per readout × comparison: groups, n, test, p, adjusted p, "
    "stars, effect with 95 % CI (preclin.stats.compare_table)",
    "excluded": "FCS files or events left out (outside the population, non-positive, "
    "outside the histogram), with the reason",
}

#: readout -> how it is computed from a summary row
PROLIFERATION_READOUTS = {
    "percent_divided": lambda r: r["percent_divided"],
    "precursor_frequency": lambda r: 100.0 * r["precursor_frequency"],
    "division_index": lambda r: r["division_index"],
    "proliferation_index": lambda r: r["proliferation_index"],
    "expansion_index": lambda r: r["expansion_index"],
    "replication_index": lambda r: r["replication_index"],
}
_LABELS = {"percent_divided": "% divided", "precursor_frequency": "% of precursors divided",
           "division_index": "Division index", "proliferation_index": "Proliferation index",
           "expansion_index": "Expansion index", "replication_index": "Replication index"}


class ProliferationModelSpec(_Strict):
    """``[experiment.model]``: options of :func:`preclin.flow.proliferation.fit_proliferation`."""

    method: Literal["ml", "ls"] = "ml"
    width: Literal["shared", "varying"] = "shared"
    criterion: Literal["bic", "aic"] = "bic"
    max_generations: int = Field(default=12, ge=1, le=20)
    debris: Literal["auto", "exponential", "none"] = "auto"
    scale: Literal["log", "none"] = "log"
    fold: float | None = Field(default=None, gt=0)
    bins: int = Field(default=256, ge=32, le=4096)


class ProliferationSettings(CytometrySettings):
    """CFSE / CellTrace dilution: generations, % divided and indices per FCS file."""

    kind: Literal["proliferation"]
    channel: str
    undivided: dict[str, str] | None = None
    match: list[str] = Field(default_factory=list)
    model: ProliferationModelSpec = ProliferationModelSpec()


class ProliferationKind(ExperimentKind[ProliferationSettings]):
    """FCS files → gated dye intensities → fitted generations → indices → comparisons."""

    name = "proliferation"
    summary = "CFSE division tracking: generations, % divided, division indices"
    settings = ProliferationSettings
    tables = PROLIFERATION_TABLES

    def run(self, spec: ProliferationSettings, ctx: RunContext) -> KindOutput:
        """Gate each file, fit its generations (with the matching undivided control)."""
        from ...flow.proliferation import fit_proliferation, fit_undivided

        inp = read_fcs_inputs(spec, ctx)
        meta = inp.meta
        for col in [*(spec.undivided or {}), *spec.match]:
            if col not in meta.columns:
                raise StudyError(f"experiment '{spec.name}': undivided/match: the sample "
                                 f"table has no column '{col}'", file=inp.samples)
        excluded = list(inp.excluded)
        m = spec.model
        values: dict[str, np.ndarray] = {}
        with ctx.step("gating"):
            for name, path in inp.files.items():
                vals, out = gated_values(spec, inp, path, [spec.channel])
                values[name] = vals[spec.channel]
                excluded.extend(out)
        is_ctl = np.zeros(len(meta), dtype=bool)
        if spec.undivided:
            is_ctl[:] = True
            for col, v in spec.undivided.items():
                is_ctl &= (meta[col] == str(v)).to_numpy()
            if not is_ctl.any():
                raise StudyError(f"experiment '{spec.name}': no sample matches the "
                                 f"undivided control {dict(spec.undivided)}")
        peaks: dict[str, Any] = {}
        notes: list[str] = []
        results = []
        with ctx.step("fitting generations"):
            for i, row in meta.iterrows():
                peak = None
                if spec.undivided:
                    same = is_ctl.copy()
                    for col in spec.match:
                        same &= (meta[col] == row[col]).to_numpy()
                    ctl = list(meta["file"][same])
                    if ctl:
                        key = ctl[0]
                        if key not in peaks:
                            peaks[key] = fit_undivided(values[key], scale=m.scale,
                                                       method=m.method)
                        peak = peaks[key]
                    else:
                        notes.append(f"{spec.name}: {row['file']}: no undivided control with "
                                     f"the same {', '.join(spec.match)}; generation 0 "
                                     "placed from the data")
                res = fit_proliferation(values[row["file"]], undivided=peak, scale=m.scale,
                                        method=m.method, width=m.width,
                                        criterion=m.criterion,
                                        max_generations=m.max_generations, debris=m.debris,
                                        fold=m.fold, bins=m.bins)
                results.append(res)
                excluded.extend({"file": row["file"], "reason": r, "events": int(n)}
                                for r, n in zip(res.excluded["reason"],
                                                res.excluded["events"], strict=True))
                del i
        meta_cols = list(meta.columns)
        gens = pd.concat([pd.concat([pd.DataFrame([row] * len(res.table)).reset_index(
            drop=True), res.table.reset_index(drop=True)], axis=1)
            for (_, row), res in zip(meta.iterrows(), results, strict=True)],
            ignore_index=True)
        summ = pd.concat([pd.concat([row.to_frame().T.reset_index(drop=True),
                                     res.summary.reset_index(drop=True)], axis=1)
                          for (_, row), res in zip(meta.iterrows(), results, strict=True)],
                         ignore_index=True)
        summ = summ.astype({c: str for c in meta_cols})
        gens = gens.astype({c: str for c in meta_cols})
        # the undivided controls place generation 0; they are not compared
        readouts = readout_table(summ[~is_ctl], meta_cols, PROLIFERATION_READOUTS)
        tables: dict[str, pd.DataFrame] = {"generations": gens, "summary": summ,
                                           "readouts": readouts}
        figures = []
        with ctx.step("drawing figures"):
            figures.append(ctx.save_figure(
                _histograms(meta, results, spec.channel), "histograms", role="histograms",
                caption=(f"{spec.title or spec.name}: {spec.channel} histogram of each "
                         "sample (grey), each fitted generation and their sum (black); "
                         "title: sample and % divided.")))
        if spec.compare:
            with ctx.step("comparisons"):
                comp, dropped = compare_readouts(readouts, spec.compare, spec.name,
                                                 list(PROLIFERATION_READOUTS), inp.samples)
            tables["comparisons"] = comp
            figures.extend(comparison_figures(spec, readouts, comp, ctx, _LABELS))
            del dropped
        excl = pd.DataFrame(excluded, columns=list(EXCLUDED_COLUMNS)).astype(
            {"events": "Int64"})
        tables["excluded"] = excl
        untrusted = [(r, res) for (_, r), res in zip(meta.iterrows(), results, strict=True)
                     if not res.trusted]
        warnings = [f"{spec.name}: {r['sample']}: proliferation fit {res.status} "
                    f"({res.message})" for r, res in untrusted] + notes
        overview = {"FCS files": len(meta), "fits flagged": len(untrusted),
                    "population": spec.population or "all events"}
        return self.output(spec, tables=tables, figures=tuple(figures), warnings=warnings,
                           inputs=(*inp.files.values(), *((inp.samples,) if inp.samples
                                                          else ())),
                           excluded=excl, overview=overview, result=results)

    def report_section(self, output: KindOutput, report: Any, ctx: ReportContext) -> None:
        """Sentences of the comparisons, figures, then the tables."""
        cytometry_report(output, report, ctx, labels=_LABELS)

    def example(self, directory: Path) -> Path:
        """The CFSE T-cell suppression experiment (SIMULATED, 3 donors)."""
        from ...data.example_cellular import (
            proliferation_experiment_toml,
            write_proliferation_example,
        )

        root = Path(directory)
        write_proliferation_example(root / "cfse", seed=2018, n_events=2500)
        study = root / "study.toml"
        study.write_text('# preclin: example of the "proliferation" kind (SIMULATED data)\n'
                         '[study]\ntitle = "Example: CFSE T-cell suppression by stroma"\n'
                         'simulated = true\n' + proliferation_experiment_toml("cfse"),
                         encoding="utf-8")
        return study


def _histograms(meta: pd.DataFrame, results: list[Any], channel: str) -> Any:
    from ...flow.proliferation import plot_proliferation

    def draw(res: Any, ax: Any, title: str) -> None:
        plot_proliferation(res, ax=ax, title=title, xlabel=channel)

    items = [(f"{r['sample']}: {res.summary['percent_divided'].item():.0f} % divided", res)
             for (_, r), res in zip(meta.iterrows(), results, strict=True)]
    return histogram_grid(items, draw)
