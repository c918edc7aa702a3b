"""Shared parts of the histogram-model flow kinds (``proliferation``, ``cellcycle``).

Settings common to both (:class:`CytometrySettings`): FCS files (globs) and/or a sample
table whose ``file`` column names them (plus ``sample`` and any factors), an optional gate
file and population, and ``[[experiment.compare]]`` tables
(:class:`~preclin.study.kinds.assay_compare.AssayCompareSpec`) run through
:func:`preclin.stats.compare_table` on the per-sample readouts.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd
from pydantic import Field, field_validator, model_validator

from ...errors import InputError, StudyError
from .assay_compare import AssayCompareSpec
from .base import ExperimentSettings, KindOutput, ReportContext, RunContext

__all__ = ["CytometrySettings", "FcsInputs", "read_fcs_inputs", "gated_values",
           "readout_table", "compare_readouts", "histogram_grid", "comparison_figures",
           "cytometry_report", "EXCLUDED_COLUMNS"]

EXCLUDED_COLUMNS = ("file", "reason", "events")
_RESERVED = {"readout", "value", "generation", "phase", "status", "message"}


class CytometrySettings(ExperimentSettings):
    """FCS files, their metadata, an optional gate and comparisons."""

    files: list[str] = Field(default_factory=list)
    samples: str | None = None
    gates: str | None = None
    population: str | None = None
    compensation: str = "auto"
    compare: list[AssayCompareSpec] = Field(default_factory=list)

    @field_validator("files", mode="before")
    @classmethod
    def _one_or_many(cls, v: Any) -> Any:
        return [v] if isinstance(v, str) else v

    @model_validator(mode="after")
    def _consistent(self) -> CytometrySettings:
        if not self.files and self.samples is None:
            raise ValueError("give files (FCS files or globs) or a samples table whose "
                             "'file' column names them")
        if (self.gates is None) != (self.population is None):
            raise ValueError("gates and population go together: the gate file and the "
                             "population to fit in it")
        return self


@dataclass(frozen=True)
class FcsInputs:
    """FCS files by name, one metadata row per file (``file``, ``sample``, factors), the
    files left out, and the experiment's gates and compensation, loaded once."""

    files: dict[str, Path]
    meta: pd.DataFrame
    excluded: list[dict[str, Any]]
    samples: Path | None
    gates: Any = None
    comp: str = "auto"


def read_fcs_inputs(spec: CytometrySettings, ctx: RunContext) -> FcsInputs:
    """Resolve the FCS files and the sample table (every metadata column read as text),
    and load the gate file and compensation once for every file."""
    import dataclasses

    inputs = _read_files_and_samples(spec, ctx)
    gates = None
    if spec.gates is not None:
        from ...flow.stats import load_gates

        gates = load_gates(ctx.resolve_one(spec.gates))
    comp = spec.compensation if spec.compensation in ("auto", "none") \
        else str(ctx.resolve_one(spec.compensation))
    return dataclasses.replace(inputs, gates=gates, comp=comp)


def _read_files_and_samples(spec: CytometrySettings, ctx: RunContext) -> FcsInputs:
    from ...tables import ALL_COLUMNS, read_table

    given: dict[str, Path] = {}
    for pattern in spec.files:
        for p in ctx.resolve(pattern):
            if p.name in given and given[p.name] != p:
                raise StudyError(f"experiment '{spec.name}': two FCS files are called "
                                 f"'{p.name}'; file names must be unique")
            given[p.name] = p
    excluded: list[dict[str, Any]] = []
    if spec.samples is None:
        names = sorted(given)
        meta = pd.DataFrame({"file": names, "sample": [Path(n).stem for n in names]})
        return FcsInputs({n: given[n] for n in names}, meta, excluded, None)
    table_path = ctx.resolve_one(spec.samples)
    meta = read_table(table_path, keys=ALL_COLUMNS).astype(str)
    if "file" not in meta.columns:
        raise StudyError(f"the sample table has no 'file' column (it has "
                         f"{', '.join(map(str, meta.columns))})", file=table_path)
    bad = sorted(set(meta.columns) & _RESERVED)
    if bad:
        raise StudyError(f"sample-table column(s) {', '.join(bad)} are reserved for the "
                         "result tables; rename them", file=table_path)
    meta["file"] = [Path(str(f).replace("\\", "/")).name for f in meta["file"]]
    if meta["file"].duplicated().any():
        dup = meta["file"][meta["file"].duplicated()].iloc[0]
        raise StudyError(f"the sample table lists {dup!r} twice", file=table_path)
    if "sample" not in meta.columns:
        meta.insert(1, "sample", [Path(f).stem for f in meta["file"]])
    files: dict[str, Path] = {}
    keep = []
    for i, name in enumerate(meta["file"]):
        if spec.files:
            path = given.get(name)
        else:
            cand = [table_path.parent / name, ctx.base / name]
            path = next((c for c in cand if c.is_file()), None)
        if path is None:
            excluded.append({"file": name, "reason": "in the sample table but no such FCS "
                             "file was given", "events": pd.NA})
            continue
        files[name] = path
        keep.append(i)
    for name in given:
        if name not in files:
            excluded.append({"file": name, "reason": "not in the sample table",
                             "events": pd.NA})
    if not files:
        raise StudyError(f"experiment '{spec.name}': no FCS file is both given and in the "
                         "sample table", file=table_path)
    cols = ["file", "sample", *[c for c in meta.columns if c not in ("file", "sample")]]
    return FcsInputs(files, meta.iloc[keep][cols].reset_index(drop=True), excluded,
                     table_path)


def gated_values(spec: CytometrySettings, inputs: FcsInputs, path: Path,
                 channels: Sequence[str]) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """Channel values of the experiment's population in one file, and the events left
    out (outside the population)."""
    from ...flow.gated import population_events

    try:
        ev = population_events(path, channels, gates=inputs.gates,
                               population=spec.population, comp=inputs.comp)
    except InputError as exc:
        raise StudyError(f"experiment '{spec.name}': {path.name}: {exc.problem}") from None
    out = [{"file": path.name, "reason": r, "events": n} for r, n in ev.excluded()]
    return ev.values, out


def readout_table(summary: pd.DataFrame, meta_cols: Sequence[str],
                  readouts: dict[str, Callable[[pd.Series], float]]) -> pd.DataFrame:
    """Long per-sample readouts: metadata columns, ``readout``, ``value``."""
    rows = []
    for _, r in summary.iterrows():
        for name, fn in readouts.items():
            v = fn(r)
            rows.append({**{c: r[c] for c in meta_cols}, "readout": name,
                         "value": float(v) if v is not None and math.isfinite(v)
                         else math.nan})
    return pd.DataFrame(rows, columns=[*meta_cols, "readout", "value"])


def compare_readouts(readouts: pd.DataFrame, specs: Sequence[AssayCompareSpec],
                     exp: str, names: Sequence[str], file: Path | None
                     ) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Every ``[[experiment.compare]]`` through :func:`preclin.stats.compare_table`."""
    from .assay_compare import run_comparisons

    for s in specs:
        for item in s.items or []:
            if item not in names:
                raise StudyError(f"experiment '{exp}': compare: unknown readout {item!r} "
                                 f"(one of {', '.join(names)})")
    try:
        return run_comparisons(readouts, specs, value="value", item="readout",
                               items=list(names), file=file)
    except InputError as exc:
        raise StudyError(f"experiment '{exp}': {exc.problem}", file=file) from None


def histogram_grid(results: Sequence[tuple[str, Any]],
                   draw: Callable[[Any, Any, str], None], *, ncols: int = 3) -> Any:
    """One small panel per sample: ``draw(result, ax, title)``; one shared legend."""
    from matplotlib.figure import Figure

    from ...report.style import prism_style

    n = max(1, len(results))
    ncol = min(ncols, n)
    nrow = math.ceil(n / ncol)
    with prism_style():
        fig = Figure(figsize=(3.3 * ncol + 1.6, 2.5 * nrow), layout="constrained")
        axes = fig.subplots(nrow, ncol, squeeze=False)
        handles: dict[str, Any] = {}
        for i, ax in enumerate(axes.flat):
            if i >= len(results):
                ax.set_visible(False)
                continue
            title, res = results[i]
            draw(res, ax, title)
            leg = ax.get_legend()
            if leg is not None:
                leg.remove()
            for h, lab in zip(*ax.get_legend_handles_labels(), strict=True):
                key = lab.split(" ")[0] if lab.startswith(("G0/G1", "S ", "G2/M")) else lab
                handles.setdefault(key, h)
            if ax.get_xscale() == "log":
                from matplotlib.ticker import NullFormatter

                ax.xaxis.set_minor_formatter(NullFormatter())
            ax.title.set_fontsize(9)
            ax.xaxis.label.set_fontsize(8)
            ax.yaxis.label.set_fontsize(8)
        if handles:
            fig.legend(list(handles.values()), list(handles), loc="outside right upper",
                       fontsize=8)
        fig.draw_without_rendering()  # constrained layout once, kept for SVG and PNG
        fig.set_layout_engine("none")
    return fig


def comparison_figures(spec: Any, readouts: pd.DataFrame, comp: pd.DataFrame,
                       ctx: RunContext, labels: dict[str, str]) -> list[Any]:
    """One group-plot figure per ``[[experiment.compare]]`` (role ``comparison``)."""
    from .assay_compare import comparison_figure

    out = []
    names = list(dict.fromkeys(readouts["readout"]))
    for k, cs in enumerate(spec.compare, start=1):
        sub = comp[comp["comparison"] == k] if len(comp) else comp
        fig = comparison_figure(readouts, cs, sub, value="value", item="readout",
                                items=names, ylabel="value")
        for ax in fig.axes:
            for loc in ("center", "left", "right"):
                t = ax.get_title(loc=loc)
                if t in labels:
                    ax.set_title(labels[t], loc=loc)
                    ax.set_ylabel(labels[t])
        out.append(ctx.save_figure(fig, f"compare_{k}", role="comparison", caption=(
            f"{spec.title or spec.name}: each sample's value by {cs.group}"
            + (f", lines join the same {cs.pair}" if cs.pair else "")
            + f"; mean ± {cs.error.upper() if cs.error != 'ci95' else '95 % CI'}; "
            "brackets: preclin.stats.compare_table (adjusted p as stars).")))
    return out


def cytometry_report(output: KindOutput, report: Any, ctx: ReportContext, *,
                     labels: dict[str, str]) -> None:
    """Heading, simulated-data notice, the comparisons as sentences, figures, tables."""
    from .assay_compare import comparison_sentences

    spec = output.spec
    report.add_section(spec.title or output.name)
    if ctx.simulated:
        report.add_notice("These FCS files are SIMULATED (preclin's seeded simulators), "
                          "not measurements.", kind="simulated")
    if "comparisons" in output.tables and len(output.table("comparisons")):
        lines = comparison_sentences(output.table("comparisons"), pd.DataFrame(),
                                     item="readout")
        for line in lines:
            head, _, rest = line.partition(":")
            report.add_text(f"{labels.get(head, head)}:{rest}")
    for fig in output.figures:
        report.add_figure(fig.path, caption=fig.caption, name=f"{output.name}-{fig.path.stem}")
    for key, t in output.tables.items():
        report.add_table(t.data, caption=f"{t.description} ({ctx.table_file(output, key)})")
