"""Run a study: compose the rooms (plates → dose-response → stats) and write the results.

Outputs in the run folder:

* ``tables/<experiment>_<table>.parquet`` and ``.csv`` — long tables (see
  :data:`RESULT_TABLES`);
* ``figures/*.svg`` and ``.png`` — plate maps and curve grids;
* ``provenance.json`` — input hashes, resolved settings, versions;
* ``report.html`` — one self-contained report.
"""

from __future__ import annotations

import glob
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from .. import doseresponse as dr
from .. import plates
from ..errors import InputError, StudyError
from ..report import save_figure
from ..stats import compare_groups
from ..tables import write_table
from .model import (
    ClassifySpec,
    CocultureExperimentSpec,
    ExperimentSpec,
    FactorialExperimentSpec,
    StudyFile,
)
from .provenance import write_provenance

__all__ = ["RunResult", "ExperimentResult", "run_study", "classify", "RESULT_TABLES"]

#: tables written per experiment and what one row is
RESULT_TABLES = {
    "wells": "one row per well of every plate: layout factors, raw signal, viability (%), "
    "inhibition (%), excluded + reason",
    "qc": "one row per plate: control means/SD/CV, Z′-factor, trend flags",
    "curves": "one row per curve: fit parameters, EDs with 95% CIs, status, call",
    "excluded": "wells not used in any fit, with the reason",
    "compare": "group comparisons of a per-curve value",
}


@dataclass
class ExperimentResult:
    """Everything one experiment produced."""

    name: str
    wells: pd.DataFrame
    qc: pd.DataFrame
    fits: dr.DoseResponseFit
    curves: pd.DataFrame
    compare: pd.DataFrame
    warnings: list[str] = field(default_factory=list)
    figures: list[tuple[str, Path]] = field(default_factory=list)  # (caption, SVG file)
    inputs: list[Path] = field(default_factory=list)


@dataclass
class RunResult:
    """What :func:`run_study` wrote."""

    out: Path
    report: Path
    provenance: Path
    tables: list[Path]
    experiments: list[ExperimentResult | CombinationResult]


def classify(curves: pd.DataFrame, spec: ClassifySpec) -> pd.Series:
    """Apply a threshold rule such as "resistant if IC50 > 10 µM" to a curve table.

    A clean estimate is compared with the threshold. A curve whose ec50 lies above the
    tested range (or that shows no effect) is ``above`` when the highest dose already
    reaches the threshold, otherwise ``indeterminate``. Curves without an estimate are
    ``not classified``.
    """
    if spec.column not in curves.columns:
        raise InputError(f"classify: column '{spec.column}' is not in the curve table")
    value = pd.to_numeric(curves[spec.column], errors="coerce")
    status = curves["status"].astype(str)
    top_dose = curves["dose_max"]
    beyond = status.isin(["ec50_above_range", "flat"])
    calls = np.where(value > spec.threshold, spec.above, spec.below).astype(object)
    calls = np.where(beyond & (top_dose >= spec.threshold), spec.above, calls)
    calls = np.where(beyond & (top_dose < spec.threshold) & ~(value > spec.threshold),
                     "indeterminate", calls)
    failed = status.isin(["no_data", "too_few_points", "no_convergence"]) | (
        ~np.isfinite(value) & ~beyond)
    calls = np.where(failed, "not classified", calls)
    return pd.Series(calls, index=curves.index, name=spec.name, dtype=object)


def _resolve(base: Path, pattern: str) -> list[Path]:
    full = pattern if Path(pattern).is_absolute() else str(base / pattern)
    hits = sorted(glob.glob(full))
    if not hits:
        raise StudyError(f"no file matches '{pattern}'", file=base / "study.toml")
    return [Path(h) for h in hits]


def _as_list(value: str | list[str] | None) -> list[str]:
    if value is None:
        return []
    return [value] if isinstance(value, str) else list(value)


def _read_experiment(spec: ExperimentSpec, base: Path) -> tuple[pd.DataFrame, list[Path],
                                                                 list[plates.Layout]]:
    layouts = [plates.read_layout(p) for pat in _as_list(spec.layout) for p in
               _resolve(base, pat)]
    inputs: list[Path] = [lay.source for lay in layouts if lay.source is not None]
    frames = []
    data_files = [p for pat in _as_list(spec.data) for p in _resolve(base, pat)]
    if data_files:
        if len(layouts) != 1:
            raise StudyError(f"experiment '{spec.name}': give one layout when data files are "
                             "listed in the study file")
        for f in data_files:
            frames.append(plates.read(f, layout=layouts[0], reader=spec.reader))
        inputs += data_files
    else:
        for lay in layouts:
            frames.append(plates.read(None, layout=lay, reader=spec.reader))
            inputs += [p for p in lay.paths.values() if p is not None]
    wells = pd.concat(frames, ignore_index=True)
    return wells, inputs, layouts


@contextmanager
def _step(progress: Callable[[str], None] | None, text: str) -> Iterator[None]:
    if progress is not None:
        progress(text)
    yield


def run_experiment(
    spec: ExperimentSpec, base: Path, figdir: Path,
    progress: Callable[[str], None] | None = None,
) -> ExperimentResult:
    """Run one dose-response experiment (read → normalise → QC → fit → classify)."""
    with _step(progress, f"{spec.name}: reading plates"):
        raw, inputs, layouts = _read_experiment(spec, base)
    norm = spec.normalise
    with _step(progress, f"{spec.name}: normalising"):
        wells = plates.normalise(
            raw, blank=norm.blank, vehicle=norm.vehicle, positive=norm.positive,
            by=tuple(norm.by), control_column=norm.control_column,
            vehicle_by=tuple(norm.vehicle_by),
        )
        qc = plates.plate_qc(wells, control_column=norm.control_column,
                             vehicle=norm.vehicle,
                             positive=norm.positive if norm.positive else norm.blank)
    fs = spec.fit
    warnings: list[str] = []
    for col in (fs.dose, *fs.by):
        if col not in wells.columns:
            raise StudyError(f"experiment '{spec.name}': the layout has no column '{col}' "
                             f"(fit.dose / fit.by); it has {', '.join(map(str, wells.columns))}")
    # wells that belong to no curve (no cell line / drug in the layout) are excluded here
    no_curve = ~wells["excluded"] & wells[fs.by].isna().any(axis=1)
    if no_curve.any():
        wells.loc[no_curve, "excluded"] = True
        wells.loc[no_curve, "reason"] = f"no {'/'.join(fs.by)} in layout"
        warnings.append(f"{spec.name}: {int(no_curve.sum())} well(s) have no "
                        f"{'/'.join(fs.by)} in the layout and were not fitted")
    fit_input = wells[wells[fs.by].notna().all(axis=1)].copy()
    with _step(progress, f"{spec.name}: fitting curves"):
        fits = dr.fit(fit_input, dose=fs.dose, response=fs.response, by=fs.by, model=fs.model,
                      ed=fs.ed, fixed=fs.fixed, dose_unit=fs.dose_unit,
                      pool_variance=fs.pool_variance, alpha=fs.alpha)
    curves = fits.table.copy()
    curves.insert(0, "experiment", spec.name)
    if spec.classify is not None:
        curves[spec.classify.name] = classify(curves, spec.classify)
    compare_tables = [
        compare_groups(curves, value=c.value, group=c.group, test=c.test, log10=c.log10,
                       within=c.within)
        for c in spec.compare
    ]
    compare = pd.concat(compare_tables, ignore_index=True) if compare_tables else pd.DataFrame()
    for _, row in qc.iterrows():
        if str(row.get("flag", "")):
            warnings.append(f"{spec.name}: plate {row['plate']}: QC flag {row['flag']}")
        zp = row.get("z_prime", np.nan)
        if np.isfinite(zp) and zp < spec.qc.z_prime_min:
            warnings.append(f"{spec.name}: plate {row['plate']}: Z′ = {zp:.2f} below "
                            f"{spec.qc.z_prime_min}")
    for _, row in curves[curves["status"] != "ok"].iterrows():
        label = " / ".join(str(row[b]) for b in fs.by)
        warnings.append(f"{spec.name}: curve {label}: {row['status']} — {row['message']}")
    # figures
    figs: list[tuple[str, Path]] = []
    with _step(progress, f"{spec.name}: drawing figures"):
        from ..doseresponse.plot import plot_curves

        for lay in layouts:
            for plate in lay.plates[:1]:
                for factor in spec.plate_map_factors or fs.by[:1]:
                    if factor not in lay.factors:
                        continue
                    fig = plates.plot_layout(lay, factor=factor, plate=plate,
                                             log=factor == fs.dose)
                    saved = save_figure(fig, figdir / f"{spec.name}_map_{plate}_{factor}")
                    figs.append((f"Plate map of plate {plate}, coloured by {factor}.", saved[0]))
        ylabel = {"viability": "Viability (% of vehicle)",
                  "inhibition": "Inhibition (%)"}.get(fs.response, fs.response)
        fig = plot_curves(fits, by=[b for b in fs.by if b != spec.overlay] or None,
                          overlay=spec.overlay if spec.overlay in fs.by else None,
                          ylabel=ylabel)
        saved = save_figure(fig, figdir / f"{spec.name}_curves")
        figs.append(("Dose-response curves: mean ± SD of replicate wells, fitted "
                     f"{fits.model.drc_name} curve, ec50 (dashed) with its 95% CI (band).",
                     saved[0]))
    return ExperimentResult(name=spec.name, wells=wells, qc=qc, fits=fits, curves=curves,
                            compare=compare, warnings=warnings, figures=figs, inputs=inputs)


@dataclass
class CombinationResult:
    """What a factorial or co-culture experiment produced."""

    name: str
    kind: str
    result: object  # FactorialResult or ProtectionResult
    tables: dict[str, pd.DataFrame]
    inputs: list[Path]
    warnings: list[str] = field(default_factory=list)


def run_combination(
    spec: FactorialExperimentSpec | CocultureExperimentSpec, base: Path,
    progress: Callable[[str], None] | None = None,
) -> CombinationResult:
    """Run a fixed-dose factorial or a chemoprotection (co-culture) experiment."""
    from ..synergy.coculture import chemoprotection
    from ..synergy.factorial import factorial_effects
    from ..tables import read_table

    files = _resolve(base, spec.data)
    if len(files) != 1:
        raise StudyError(f"experiment '{spec.name}': data must name one table, "
                         f"'{spec.data}' matches {len(files)} files")
    path = files[0]
    with _step(progress, f"{spec.name}: {spec.kind} analysis"):
        table = read_table(path)
        if isinstance(spec, FactorialExperimentSpec):
            fs = spec.factorial
            res: object = factorial_effects(
                table, factors=tuple(fs.factors), response=fs.response,
                replicate=fs.replicate, response_kind=fs.response_kind, control=fs.control,
                by=tuple(fs.by), labels=fs.labels, added=fs.added, alpha=fs.alpha, file=path)
            tables = {"effects": res.table, "anova": res.anova,  # type: ignore[attr-defined]
                      "replicates": res.replicates}  # type: ignore[attr-defined]
        else:
            cs = spec.coculture
            res = chemoprotection(
                table, response=cs.response, condition=cs.condition, treatment=cs.treatment,
                replicate=cs.replicate, response_kind=cs.response_kind, by=tuple(cs.by),
                alone=cs.alone, stroma=cs.stroma, vehicle=cs.vehicle, added=cs.added,
                test=cs.test, ci=cs.ci, seed=cs.seed, alpha=cs.alpha, file=path)
            tables = {"protection": res.table,
                      "interaction": res.interaction,
                      "pairs": res.pairs}
    excluded = getattr(res, "excluded", None)
    warnings: list[str] = []
    if isinstance(excluded, pd.DataFrame) and len(excluded):
        tables["excluded"] = excluded
        warnings.append(f"{spec.name}: {len(excluded)} row(s) excluded (see "
                        f"tables/{spec.name}_excluded.csv)")
    return CombinationResult(name=spec.name, kind=spec.kind, result=res, tables=tables,
                             inputs=[path], warnings=warnings)


def run_study(
    study: StudyFile, base: Path, out: Path,
    progress: Callable[[str], None] | None = None,
    study_path: Path | None = None,
) -> RunResult:
    """Run every experiment of a study and write tables, figures, provenance and report."""
    out = Path(out)
    tabdir = out / "tables"
    figdir = out / "figures"
    tabdir.mkdir(parents=True, exist_ok=True)
    figdir.mkdir(parents=True, exist_ok=True)
    written: list[Path] = []
    inputs: list[Path] = [study_path] if study_path is not None else []
    results: list[ExperimentResult | CombinationResult] = []
    for spec in study.experiment:
        tables: dict[str, pd.DataFrame]
        if isinstance(spec, ExperimentSpec):
            res = run_experiment(spec, base, figdir, progress)
            tables = {
                "wells": res.wells,
                "qc": res.qc,
                "curves": res.curves,
                "excluded": res.wells[res.wells["excluded"]],
            }
            if len(res.compare):
                tables["compare"] = res.compare
            results.append(res)
            inputs += res.inputs
        else:
            comb = run_combination(spec, base, progress)
            tables = comb.tables
            results.append(comb)
            inputs += comb.inputs
        for key, table in tables.items():
            for ext in ("parquet", "csv"):
                written.append(write_table(table.reset_index(drop=True),
                                           tabdir / f"{spec.name}_{key}.{ext}"))
    if progress is not None:
        progress("writing report")
    from .report import build_report

    report = build_report(study, results, out)
    report_path = report.write(out / "report.html")
    prov = write_provenance(
        out / "provenance.json",
        inputs=inputs,
        settings=study.model_dump(mode="json"),
        outputs=written,
        base=out,
    )
    return RunResult(out=out, report=report_path, provenance=prov, tables=written,
                     experiments=results)


