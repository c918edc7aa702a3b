"""Experiment kind ``cellcycle``: G0/G1, S and G2/M per FCS file (DNA content or BrdU/DNA).

Study file::

    [[experiment]]
    name = "myeloma_cellcycle"
    kind = "cellcycle"
    files = ["cellcycle/fcs/*.fcs"]      # FCS files (globs), relative to the study file
    samples = "cellcycle/samples.csv"    # file -> sample, factors
    gates = "cellcycle/gates.toml"       # optional: cells (not gated on DNA)
    population = "Cells"
    dna = "PI-A"                         # DNA pulse area
    brdu = "BrdU"                        # optional: phases from BrdU/DNA gates
    width = "PI-W"                       # optional: doublets gated out (or height = ...)

    [experiment.model]                   # DNA-histogram model (without brdu)
    model = "djf"                        # djf | watson
    debris = "auto"                      # auto | exponential | sliced | none
    aggregates = "auto"                  # auto | yes | no
    s_degree = 1

    [[experiment.compare]]
    group = "condition"
    control = "control"
    items = ["percent_s"]

Readouts compared (``items``): ``percent_g1``, ``percent_s``, ``percent_g2m`` (% of single
cells), ``g2_g1_ratio``, ``cv_g1``. Definitions: ``docs/methods/cellcycle.md``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal

import numpy as np
import pandas as pd
from pydantic import Field

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

__all__ = ["CellCycleKind", "CellCycleSettings", "CellCycleModelSpec", "CELLCYCLE_TABLES",
           "CELLCYCLE_READOUTS"]

#: tables a cell-cycle experiment writes and what one row is
CELLCYCLE_TABLES = {
    "phases": "one row per sample × phase (G0/G1, S, G2/M): sample metadata, phase, "
    "fraction and percent of single cells",
    "summary": "one row per sample: sample metadata, g1, s, g2m (fractions summing to 1), "
    "g2_g1_ratio, cv_g1 (%), positions, debris, aggregates, doublets_gated, events, model, "
    "reduced_chi2, status, message (BrdU: also brdu_threshold, dna_split)",
    "readouts": "one row per sample × readout: percent_g1, percent_s, percent_g2m, "
    "g2_g1_ratio, cv_g1",
    "comparisons": "one row per readout × comparison: groups, n, test, p, adjusted p, "
    "stars, effect with 95 % CI (preclin.stats.compare_table)",
    "excluded": "FCS files or events left out (outside the population, doublets, sub-G1, "
    "aggregates, outside the histogram), with the reason",
}

CELLCYCLE_READOUTS = {
    "percent_g1": lambda r: 100.0 * r["g1"],
    "percent_s": lambda r: 100.0 * r["s"],
    "percent_g2m": lambda r: 100.0 * r["g2m"],
    "g2_g1_ratio": lambda r: r["g2_g1_ratio"],
    "cv_g1": lambda r: r["cv_g1"],
}
_LABELS = {"percent_g1": "% G0/G1", "percent_s": "% S phase", "percent_g2m": "% G2/M",
           "g2_g1_ratio": "G2/G1 ratio", "cv_g1": "CV of G0/G1 (%)"}
_PHASES = (("G0/G1", "g1"), ("S", "s"), ("G2/M", "g2m"))
_PHASE_COLORS = {"G0/G1": "#0072B2", "S": "#009E73", "G2/M": "#D55E00", "left out": "#BBBBBB"}


class CellCycleModelSpec(_Strict):
    """``[experiment.model]``: options of :func:`preclin.flow.cellcycle.fit_cell_cycle`."""

    model: Literal["djf", "watson"] = "djf"
    debris: Literal["auto", "exponential", "sliced", "none"] = "auto"
    aggregates: Literal["auto", "yes", "no"] = "auto"
    s_degree: int = Field(default=1, ge=0, le=4)
    method: Literal["ml", "ls"] = "ml"
    bins: int = Field(default=256, ge=32, le=4096)


class CellCycleSettings(CytometrySettings):
    """Cell-cycle phases per FCS file from a DNA histogram model or BrdU/DNA gates."""

    kind: Literal["cellcycle"]
    dna: str
    brdu: str | None = None
    width: str | None = None
    height: str | None = None
    model: CellCycleModelSpec = CellCycleModelSpec()


class CellCycleKind(ExperimentKind[CellCycleSettings]):
    """FCS files → gated DNA (and BrdU) → phase fractions → comparisons."""

    name = "cellcycle"
    summary = "cell cycle: G0/G1, S, G2/M from DNA content (DJF, Watson) or BrdU/DNA"
    settings = CellCycleSettings
    tables = CELLCYCLE_TABLES

    def run(self, spec: CellCycleSettings, ctx: RunContext) -> KindOutput:
        """Gate each file, then fit its DNA histogram or apply the BrdU/DNA template."""
        from ...flow.cellcycle import brdu_cell_cycle, fit_cell_cycle

        inp = read_fcs_inputs(spec, ctx)
        meta = inp.meta
        channels = [c for c in (spec.dna, spec.width, spec.height, spec.brdu) if c]
        excluded = list(inp.excluded)
        m = spec.model
        results, events = [], []
        with ctx.step("gating and fitting phases"):
            for name in meta["file"]:
                vals, out = gated_values(spec, inp, inp.files[name], channels)
                excluded.extend(out)
                w = vals[spec.width] if spec.width else None
                h = vals[spec.height] if spec.height else None
                if spec.brdu:
                    res = brdu_cell_cycle(vals[spec.dna], vals[spec.brdu], width=w, height=h)
                    events.append((vals[spec.dna], vals[spec.brdu], w, h))
                else:
                    res = fit_cell_cycle(vals[spec.dna], width=w, height=h, model=m.model,
                                         debris=m.debris, aggregates=m.aggregates,
                                         s_degree=m.s_degree, method=m.method, bins=m.bins)
                results.append(res)
                excluded.extend({"file": name, "reason": r, "events": int(n)}
                                for r, n in zip(res.excluded["reason"],
                                                res.excluded["events"], strict=True))
        meta_cols = list(meta.columns)
        summ = pd.concat([pd.concat([row.to_frame().T.reset_index(drop=True),
                                     res.summary.reset_index(drop=True)], axis=1)
                          for (_, row), res in zip(meta.iterrows(), results, strict=True)],
                         ignore_index=True).astype({c: str for c in meta_cols})
        phases = pd.DataFrame([{**{c: r[c] for c in meta_cols}, "phase": ph,
                                "fraction": float(r[key]), "percent": 100.0 * float(r[key])}
                               for _, r in summ.iterrows() for ph, key in _PHASES],
                              columns=[*meta_cols, "phase", "fraction", "percent"])
        readouts = readout_table(summ, meta_cols, CELLCYCLE_READOUTS)
        tables: dict[str, pd.DataFrame] = {"phases": phases, "summary": summ,
                                           "readouts": readouts}
        titles = [f"{r['sample']}: S {100 * res.summary['s'].item():.0f} %"
                  for (_, r), res in zip(meta.iterrows(), results, strict=True)]
        with ctx.step("drawing figures"):
            if spec.brdu:
                fig = histogram_grid(list(zip(titles, zip(results, events, strict=True),
                                              strict=True)), _draw_brdu)
                caption = (f"{spec.title or spec.name}: DNA content ({spec.dna}) of each "
                           "sample, events stacked by phase from the BrdU/DNA gates "
                           "(BrdU+ = S; BrdU− split at dna_split into G0/G1 and G2/M; grey: "
                           "left out as sub-G1 or aggregates).")
            else:
                from ...flow.cellcycle import plot_cell_cycle

                def draw(res: Any, ax: Any, title: str) -> None:
                    plot_cell_cycle(res, ax=ax, title=title, xlabel=spec.dna)

                fig = histogram_grid(list(zip(titles, results, strict=True)), draw)
                caption = (f"{spec.title or spec.name}: DNA histogram of each sample (grey), "
                           f"the fitted phases ({m.model.upper()}: G0/G1, S, G2/M, debris, "
                           "aggregates) and their sum (black).")
            figures = [ctx.save_figure(fig, "histograms", role="histograms", caption=caption)]
        if spec.compare:
            with ctx.step("comparisons"):
                comp, _dropped = compare_readouts(readouts, spec.compare, spec.name,
                                                  list(CELLCYCLE_READOUTS), inp.samples)
            tables["comparisons"] = comp
            figures.extend(comparison_figures(spec, readouts, comp, ctx, _LABELS))
        excl = pd.DataFrame(excluded, columns=list(EXCLUDED_COLUMNS)).astype(
            {"events": "Int64"})
        tables["excluded"] = excl
        untrusted = [(r, res) for (_, r), res in zip(meta.iterrows(), results, strict=True)
                     if not res.trusted]
        warnings = [f"{spec.name}: {r['sample']}: cell-cycle fit {res.status} "
                    f"({res.message})" for r, res in untrusted]
        overview = {"FCS files": len(meta), "fits flagged": len(untrusted),
                    "method": "BrdU/DNA gates" if spec.brdu else m.model}
        return self.output(spec, tables=tables, figures=tuple(figures), warnings=warnings,
                           inputs=(*inp.files.values(), *((inp.samples,) if inp.samples
                                                          else ())),
                           excluded=excl, overview=overview, result=results)

    def report_section(self, output: KindOutput, report: Any, ctx: ReportContext) -> None:
        """Sentences of the comparisons, figures, then the tables."""
        cytometry_report(output, report, ctx, labels=_LABELS)

    def example(self, directory: Path) -> Path:
        """Myeloma cells, control vs lenalidomide, BrdU/PI (SIMULATED)."""
        from ...data.example_cellular import cellcycle_experiment_toml, write_cellcycle_example

        root = Path(directory)
        write_cellcycle_example(root / "cellcycle", seed=2018, n_events=3000)
        study = root / "study.toml"
        study.write_text('# preclin: example of the "cellcycle" kind (SIMULATED data)\n'
                         '[study]\ntitle = "Example: lenalidomide and S phase (BrdU/PI)"\n'
                         'simulated = true\n' + cellcycle_experiment_toml("cellcycle"),
                         encoding="utf-8")
        return study


def _draw_brdu(item: Any, ax: Any, title: str) -> None:
    """DNA histogram stacked by the BrdU/DNA template's phases."""
    from ...flow.cellcycle import singlet_gate

    res, (dna, brdu, w, h) = item
    s = res.summary.iloc[0]
    dna = np.asarray(dna, dtype=float)
    brdu = np.asarray(brdu, dtype=float)
    keep = np.isfinite(dna) & np.isfinite(brdu)
    if w is not None or h is not None:
        keep &= singlet_gate(dna, width=w, height=h) | ~(dna > 0)
    dna, brdu = dna[keep], brdu[keep]
    g1 = float(s["g1_position"]) if np.isfinite(s["g1_position"]) else float(np.median(dna))
    thr = float(s.get("brdu_threshold", np.nan))
    split = float(s.get("dna_split", 1.5 * g1))
    cells = (dna >= 0.5 * g1) & (dna <= 2.6 * g1)
    pos = brdu > thr if np.isfinite(thr) else np.zeros(dna.size, dtype=bool)
    groups = {"G0/G1": cells & ~pos & (dna < split), "S": cells & pos,
              "G2/M": cells & ~pos & (dna >= split), "left out": ~cells}
    edges = np.linspace(0.0, 1.1 * float(np.quantile(dna, 0.999)), 129)
    ax.hist([dna[m] for m in groups.values()], bins=edges, stacked=True, histtype="stepfilled",
            color=[_PHASE_COLORS[k] for k in groups], alpha=0.8,
            label=[f"{k} {100 * s[key]:.1f} %" if key else k
                   for k, key in zip(groups, ("g1", "s", "g2m", None), strict=True)])
    ax.set_xlim(edges[0], edges[-1])
    ax.set_xlabel("DNA content")
    ax.set_ylabel("Events")
    ax.set_title(title)
