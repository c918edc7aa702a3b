"""Experiment kind ``doseresponse``: plates + layout → normalised wells → fitted curves.

Study file::

    [[experiment]]
    name = "myeloma_len"                   # kind = "doseresponse" is the default
    layout = "layouts/myeloma.toml"        # wellmap TOML; its [meta] paths name the data files
    # data = ["plates/*.csv"]              # or give the data files here (globs allowed)

    [experiment.normalise]                 # % of vehicle after blank subtraction
    blank = "blank"
    vehicle = "vehicle"

    [experiment.fit]
    dose = "conc"
    dose_unit = "µM"
    by = ["cell_line", "drug"]
    model = "ll4"
    ed = [25, 50]

    [experiment.classify]                  # "resistant if IC50 > 10 µM"
    column = "ec50"
    threshold = 10

    [[experiment.compare]]
    value = "ec50"
    group = "call"
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any, Literal

import numpy as np
import pandas as pd
from pydantic import Field, field_validator

from ...errors import InputError, StudyError
from .base import ExperimentKind, KindOutput, ReportContext, RunContext, StrictModel
from .plate_steps import (
    PlateSettings,
    normalise_plates,
    plate_map_figures,
    plate_overview,
    plate_qc,
    plate_qc_warnings,
    read_plates,
)

__all__ = [
    "DoseResponseKind",
    "ExperimentSpec",
    "FitSpec",
    "ClassifySpec",
    "CompareSpec",
    "RESULT_TABLES",
    "classify",
    "readable_curves",
]

#: tables written per experiment and what one row is
RESULT_TABLES = {
    "wells": "one row per well of every plate: layout factors, raw signal, viability (%), "
    "inhibition (%), excluded + reason",
    "qc": "one row per plate: control means/SD/CV, Z′-factor, trend flags",
    "curves": "one row per curve: fit parameters, EDs with 95% CIs, status, call",
    "excluded": "wells not used in any fit, with the reason",
    "compare": "group comparisons of a per-curve value",
}


# ----------------------------------------------------------------------------- settings
class FitSpec(StrictModel):
    """Dose-response model settings (see :func:`preclin.doseresponse.fit`)."""

    dose: str
    response: str = "viability"
    by: list[str]
    model: str = "ll4"
    ed: list[float] = Field(default_factory=lambda: [50.0])
    fixed: dict[str, float] = Field(default_factory=dict)
    dose_unit: str = ""
    pool_variance: bool = False
    alpha: float = 0.05

    @field_validator("ed")
    @classmethod
    def _levels(cls, v: list[float]) -> list[float]:
        for x in v:
            if not 0 < x < 100:
                raise ValueError(f"ED level {x} must be between 0 and 100")
        return v


class ClassifySpec(StrictModel):
    """A threshold rule, e.g. the seed paper's "resistant if IC50 > 10 µM"."""

    column: str = "ec50"
    threshold: float
    above: str = "resistant"
    below: str = "sensitive"
    name: str = "call"


class CompareSpec(StrictModel):
    """Compare a per-curve value between groups (see :func:`preclin.stats.compare_groups`)."""

    value: str = "ec50"
    group: str
    test: Literal["mann-whitney", "welch", "t"] = "mann-whitney"
    log10: bool = True
    within: list[str] = Field(default_factory=list)


class ExperimentSpec(PlateSettings):
    """One experiment: plates + layout -> normalised wells -> fitted curves."""

    kind: Literal["doseresponse"] = "doseresponse"
    fit: FitSpec
    classify: ClassifySpec | None = None
    compare: list[CompareSpec] = Field(default_factory=list)
    overlay: str | None = None


# ------------------------------------------------------------------------------- steps
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


def _check_columns(wells: pd.DataFrame, spec: ExperimentSpec) -> None:
    fs = spec.fit
    for col in (fs.dose, *fs.by):
        if col not in wells.columns:
            raise StudyError(f"experiment '{spec.name}': the layout has no column '{col}' "
                             f"(fit.dose / fit.by); it has {', '.join(map(str, wells.columns))}")


def _exclude_wells_without_curve(wells: pd.DataFrame, spec: ExperimentSpec) -> list[str]:
    """Mark wells that belong to no curve (no cell line / drug in the layout) excluded."""
    by = spec.fit.by
    no_curve = ~wells["excluded"] & wells[by].isna().any(axis=1)
    if not no_curve.any():
        return []
    wells.loc[no_curve, "excluded"] = True
    wells.loc[no_curve, "reason"] = f"no {'/'.join(by)} in layout"
    return [f"{spec.name}: {int(no_curve.sum())} well(s) have no {'/'.join(by)} in the layout "
            "and were not fitted"]


def _fit_curves(wells: pd.DataFrame, spec: ExperimentSpec) -> Any:
    from ... import doseresponse as dr

    fs = spec.fit
    fit_input = wells[wells[fs.by].notna().all(axis=1)].copy()
    return dr.fit(fit_input, dose=fs.dose, response=fs.response, by=fs.by, model=fs.model,
                  ed=fs.ed, fixed=fs.fixed, dose_unit=fs.dose_unit,
                  pool_variance=fs.pool_variance, alpha=fs.alpha)


def _curve_table(fits: Any, spec: ExperimentSpec) -> pd.DataFrame:
    curves = fits.table.copy()
    curves.insert(0, "experiment", spec.name)
    if spec.classify is not None:
        curves[spec.classify.name] = classify(curves, spec.classify)
    return curves


def _compare_tables(curves: pd.DataFrame, spec: ExperimentSpec) -> list[pd.DataFrame]:
    from ...stats import compare_groups

    return [compare_groups(curves, value=c.value, group=c.group, test=c.test,
                           log10=c.log10, within=c.within) for c in spec.compare]


def _compare(curves: pd.DataFrame, spec: ExperimentSpec) -> pd.DataFrame:
    tables = _compare_tables(curves, spec)
    return pd.concat(tables, ignore_index=True) if tables else pd.DataFrame()


def _compare_figure(curves: pd.DataFrame, spec: ExperimentSpec, ctx: RunContext) -> Any:
    """One panel per comparison (and stratum): each curve's value, brackets with stars."""
    from matplotlib.figure import Figure

    from ...report import prism_style
    from ...stats.plot import group_plot

    panels: list[tuple[CompareSpec, pd.DataFrame, pd.DataFrame, str]] = []
    for c, table in zip(spec.compare, _compare_tables(curves, spec), strict=True):
        if c.within:
            for key, sub in curves.groupby(c.within, sort=False, dropna=False):
                k = key if isinstance(key, tuple) else (key,)
                sel = table
                for col, v in zip(c.within, k, strict=True):
                    sel = sel[sel[col] == v] if len(sel) else sel
                panels.append((c, sub, sel, " · ".join(map(str, k))))
        else:
            panels.append((c, curves, table, ""))
    unit = f" ({spec.fit.dose_unit})" if spec.fit.dose_unit else ""
    with prism_style():
        fig = Figure(figsize=(3.4 * len(panels), 3.8), layout="constrained")
        axes = fig.subplots(1, len(panels), squeeze=False)[0]
        for ax, (c, data, table, title) in zip(axes, panels, strict=True):
            group_plot(data.dropna(subset=[c.group]), value=c.value, group=c.group,
                       error="sd", kind="scatter", comparisons=table, p_column="p",
                       log=c.log10, ylabel=f"{c.value}{unit}", title=title or None, ax=ax)
        fig.draw_without_rendering()
        fig.set_layout_engine("none")
    scale = "geometric mean ± SD (log scale)" if any(c.log10 for c in spec.compare) \
        else "mean ± SD"
    return ctx.save_figure(
        fig, "compare", role="compare",
        caption=f"Group comparisons: one point per curve, {scale}; brackets: the tests of "
        "the comparison table, stars * p ≤ 0.05, ** ≤ 0.01, *** ≤ 0.001, **** ≤ 0.0001.")


def _curve_warnings(curves: pd.DataFrame, spec: ExperimentSpec) -> list[str]:
    out = []
    for _, row in curves[curves["status"] != "ok"].iterrows():
        label = " / ".join(str(row[b]) for b in spec.fit.by)
        out.append(f"{spec.name}: curve {label}: {row['status']} — {row['message']}")
    return out


def _curve_figure(fits: Any, spec: ExperimentSpec, ctx: RunContext) -> Any:
    from ...doseresponse.plot import plot_curves

    fs = spec.fit
    ylabel = {"viability": "Viability (% of vehicle)",
              "inhibition": "Inhibition (%)"}.get(fs.response, fs.response)
    fig = plot_curves(fits, by=[b for b in fs.by if b != spec.overlay] or None,
                      overlay=spec.overlay if spec.overlay in fs.by else None, ylabel=ylabel)
    return ctx.save_figure(
        fig, "curves", role="curves",
        caption="Dose-response curves: mean ± SD of replicate wells, fitted "
        f"{fits.model.drc_name} curve, ec50 (dashed) with its 95% CI (band).")


# ------------------------------------------------------------------------------ report
def _fmt(x: float) -> str:
    if not np.isfinite(x):
        return "–"
    return f"{x:.3g}"


def readable_curves(curves: pd.DataFrame, by: Sequence[str], ed: Sequence[float],
                    unit: str, call: str | None) -> pd.DataFrame:
    """The curve table as a biologist reads it: ec50 with CI and "> top dose" wording."""
    from ...doseresponse import ed_columns

    u = f" ({unit})" if unit else ""
    out = curves[list(by)].copy()
    out["status"] = curves["status"]
    if call and call in curves.columns:
        out[call] = curves[call]
    # CIs on the log scale (Prism's: asymmetric, always positive) where the table has them
    log = "_log" if "ec50_lower_log" in curves.columns else ""
    ec = []
    for _, r in curves.iterrows():
        if r["status"] == "ec50_above_range" or r["status"] == "flat":
            ec.append(f"> {_fmt(r['dose_max'])} (top dose)")
        elif r["status"] == "ec50_below_range":
            ec.append(f"< {_fmt(r['dose_min'])} (lowest dose)")
        elif np.isfinite(r["ec50"]):
            ec.append(f"{_fmt(r['ec50'])} [{_fmt(r['ec50_lower' + log])}, "
                      f"{_fmt(r['ec50_upper' + log])}]")
        else:
            ec.append("–")
    out[f"ec50 [95% CI]{u}"] = ec
    out["hill"] = curves["hill"].round(3)
    out["bottom"] = curves["bottom"].round(1)
    out["top"] = curves["top"].round(1)
    for level in ed:
        if level == 50:
            continue
        name, lo, hi = ed_columns(level)
        out[f"{name}{u}"] = [
            f"{_fmt(a)} [{_fmt(b)}, {_fmt(c)}]" if np.isfinite(a) else "–"
            for a, b, c in zip(curves[name], curves[lo + log], curves[hi + log], strict=True)
        ]
    out["AUC (%)"] = curves["auc"].round(1)
    out["n"] = curves["n"]
    return out


def _methods_text(spec: ExperimentSpec, model_name: str) -> str:
    norm = spec.normalise
    ref = norm.positive if norm.positive else norm.blank
    formula = (f"viability (%) = 100 × (signal − mean {ref}) / (mean {norm.vehicle} − "
               f"mean {ref})")
    per = ", ".join(norm.by) if norm.by is not None else "plate"
    return (f"Normalisation per {per}: {formula}. Model: {model_name} "
            "(four-parameter log-logistic = Prism's 'log(inhibitor) vs response, variable "
            "slope' when LL.4), least squares; ec50 is the inflection dose with a 95% "
            "delta-method CI; EDx are relative to the fitted bottom and top. Curves are "
            "fitted all at once by preclin's batched Levenberg–Marquardt.")


# -------------------------------------------------------------------------------- kind
class DoseResponseKind(ExperimentKind[ExperimentSpec]):
    """Plates → normalised wells → plate QC → fitted curves → calls and comparisons."""

    name = "doseresponse"
    summary = "plates + layout → normalised wells → fitted dose-response curves"
    settings = ExperimentSpec
    tables = RESULT_TABLES

    def run(self, spec: ExperimentSpec, ctx: RunContext) -> KindOutput:
        """Read → normalise → QC → fit → classify → compare → figures."""
        with ctx.step("reading plates"):
            plates_in = read_plates(spec, ctx)
        from ...plates.layout import check_numeric_factor

        for lay in plates_in.layouts:  # a bad dose is reported in its layout, at its well
            check_numeric_factor(lay, spec.fit.dose)
        with ctx.step("normalising"):
            wells = normalise_plates(plates_in.raw, spec.normalise)
            qc = plate_qc(wells, spec.normalise)
        _check_columns(wells, spec)
        warnings = _exclude_wells_without_curve(wells, spec)
        with ctx.step("fitting curves"):
            fits = _fit_curves(wells, spec)
        curves = _curve_table(fits, spec)
        compare = _compare(curves, spec)
        warnings += plate_qc_warnings(qc, spec.qc, spec.name)
        warnings += _curve_warnings(curves, spec)
        with ctx.step("drawing figures"):
            figures = plate_map_figures(plates_in.layouts,
                                        spec.plate_map_factors or spec.fit.by[:1], ctx,
                                        log_factor=spec.fit.dose)
            figures.append(_curve_figure(fits, spec, ctx))
            if len(compare):
                figures.append(_compare_figure(curves, spec, ctx))
        excluded = wells[wells["excluded"]]
        tables = {"wells": wells, "qc": qc, "curves": curves, "excluded": excluded}
        if len(compare):
            tables["compare"] = compare
        counts = curves["status"].value_counts()
        overview = {**plate_overview(wells),
                    "wells used in fits": int(len(fits.points)),
                    "curves": len(curves),
                    "clean fits (ok)": int(counts.get("ok", 0)),
                    "flagged curves": int(len(curves) - counts.get("ok", 0))}
        return self.output(spec, tables=tables, figures=tuple(figures), warnings=warnings,
                           inputs=plates_in.inputs, excluded=excluded, overview=overview,
                           result=fits)

    def report_section(self, output: KindOutput, report: Any, ctx: ReportContext) -> None:
        """Methods, plate maps, plate QC, curves, calls, comparisons, flags, exclusions."""
        spec: ExperimentSpec = output.spec  # type: ignore[assignment]
        fits = output.result
        curves = output.table("curves")
        fs = spec.fit
        report.add_section(spec.title or spec.name)
        report.add_text(_methods_text(spec, fits.model.drc_name))  # type: ignore[attr-defined]
        for fig in output.figures_with_role("plate_map"):
            report.add_figure(fig.path, caption=fig.caption, name=f"{spec.name}-{fig.path.stem}")
        qc = output.table("qc")
        report.add_section("Plate quality control", level=3)
        report.add_table(qc, caption="One row per plate: controls and Z′-factor (Zhang 1999); "
                         "flags name detected edge or row/column trends.",
                         highlight="flag" if "flag" in qc.columns else None)
        report.add_section("Curves", level=3)
        for fig in output.figures_with_role("curves"):
            report.add_figure(fig.path, caption=fig.caption, name=f"{spec.name}-curves")
        call = spec.classify.name if spec.classify else None
        caption = "Fitted curves. "
        if spec.classify:
            c = spec.classify
            caption += (f"Call: '{c.above}' if {c.column} > {c.threshold:g} {fs.dose_unit}, "
                        f"else '{c.below}'; curves whose ec50 lies above the top dose are "
                        f"'{c.above}' when the top dose reaches the threshold. ")
        report.add_table(readable_curves(curves, fs.by, fs.ed, fs.dose_unit, call),
                         caption=caption + f"Full table: {ctx.table_file(output, 'curves')}",
                         highlight="status")
        if call and call in curves.columns:
            report.add_key_values(curves[call].value_counts().to_dict(),
                                  caption=f"Curves per {call}")
        if "compare" in output.tables:
            report.add_section("Group comparisons", level=3)
            for fig in output.figures_with_role("compare"):
                report.add_figure(fig.path, caption=fig.caption, name=f"{spec.name}-compare")
            report.add_table(output.table("compare"), caption="Pairwise tests; stars "
                             "(of the full-precision p): * p ≤ 0.05, ** ≤ 0.01, *** ≤ 0.001, "
                             "**** ≤ 0.0001.")
        flagged = curves[curves["status"] != "ok"]
        report.add_section("Flagged curves", level=3)
        if len(flagged):
            report.add_table(flagged[["experiment", *fs.by, "status", "message"]]
                             .reset_index(drop=True), caption="Curves that are not clean "
                             "fits, with the reason.", highlight="status")
        else:
            report.add_text("No flagged curves.")
        reasons = output.excluded_by_reason().rename(columns={"n": "wells"})
        report.add_table(reasons, caption="Wells not used in any fit, by reason (listed one by "
                         f"one in {ctx.table_file(output, 'excluded')}).")

    def report_notes(self, outputs: Sequence[KindOutput], report: Any) -> None:
        """What each curve status means."""
        from ...doseresponse import STATUSES

        report.add_table(pd.DataFrame({"status": list(STATUSES),
                                       "meaning": list(STATUSES.values())}),
                         caption="What each dose-response curve status means.")

    def example(self, directory: Path) -> Path:
        """The bundled example's AML plates (2 plates, 4 curves), simulated."""
        from ...data.example import write_example_study

        study = write_example_study(Path(directory), seed=2018)
        study.write_text('''# preclin: example of the "doseresponse" kind (SIMULATED data)
[study]
title = "Example: AML lines × cytarabine and idarubicin"
simulated = true

[[experiment]]
name = "aml_chemo"
kind = "doseresponse"
title = "AML lines × cytarabine and idarubicin (WST-8, 48 h)"
layout = "layouts/aml.toml"
plate_map_factors = ["drug"]
overlay = "drug"

[experiment.normalise]
blank = "blank"
vehicle = "vehicle"

[experiment.fit]
dose = "conc_nM"
dose_unit = "nM"
by = ["cell_line", "drug"]
ed = [50]

[experiment.classify]
threshold = 10
''', encoding="utf-8")
        return study
