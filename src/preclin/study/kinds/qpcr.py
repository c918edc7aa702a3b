"""Experiment kind ``qpcr``: Cq files → standard curves, relative quantities, comparisons.

Study file::

    [[experiment]]
    name = "myeloma_qpcr"
    kind = "qpcr"
    data = "data/qpcr_cq.csv"          # one or more files (a glob): RDML, QuantStudio,
    samples = "data/qpcr_samples.csv"  # CFX, plain long CSV; samples: sample + factors

    [experiment.qpcr]
    reference = ["RPL37a"]             # one or several reference genes (geometric mean)
    calibrator = "LP-1 control"        # or controls = [...] (mean of control samples)
    method = "pfaffl"                  # or "ddct" (E = 2)
    efficiency = "auto"                # standard curve in the input; or 1.95, or
                                       # {TNF = 1.93, RPL37a = 1.98}, or "stored", or
                                       # "linreg" (LinRegPCR on the RDML raw curves)
    error = "sd"                       # sd | sem | ci (error bars of each RQ)

    [[experiment.compare]]             # optional, any number (see assay_compare)
    group = "treatment"
    pair = "cell_line"
    control = "control"
    test = "paired"

Every step is a function of :mod:`preclin.qpcr` (``read_qpcr``, ``standard_curve``,
``relative_quantities``); comparisons go through :mod:`preclin.stats`. Definitions:
``docs/methods/qpcr.md``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal

import pandas as pd
from pydantic import Field

from .assay_compare import (
    COMPARE_TABLE_DESCRIPTION,
    PERCENT_TABLE_DESCRIPTION,
    AssayCompareSpec,
)
from .base import ExperimentKind, ExperimentSettings, KindOutput, ReportContext, RunContext
from .base import StrictModel as _Strict

__all__ = ["QpcrKind", "QpcrOptions", "QpcrExperimentSpec", "QPCR_TABLES"]

#: tables a qPCR experiment writes and what one row is
QPCR_TABLES = {
    "relquant": "one row per sample × target: normalised relative quantity rq (calibrator "
    "= 1) with propagated bounds rq_lower/rq_upper (error_kind), log2_rq, efficiency used, "
    "mean Cq and the sample's factors (preclin.qpcr.RESULT_COLUMNS)",
    "compare": COMPARE_TABLE_DESCRIPTION.format(item="target"),
    "percent_of_control": PERCENT_TABLE_DESCRIPTION.format(item="target"),
    "standard_curves": "one row per target with standard wells: slope, intercept, R², "
    "efficiency E = 10^(−1/slope) with its 95 % CI (preclin.qpcr.CURVE_COLUMNS)",
    "efficiencies": "one row per target: amplification factor used, its SE, df and source",
    "replicates": "one row per sample × target: technical replicates, mean Cq, SD, SEM, "
    "range and a flag for spread or outliers",
    "wells": "every input well with used (True/False) and the reason it was not used",
    "linreg": "efficiency = \"linreg\": one row per well × target of the raw curves: "
    "LinRegPCR baseline, log-linear phase, individual efficiency, group mean efficiency, "
    "window-of-linearity, threshold, Cq, N0 and why a well is not averaged "
    "(preclin.qpcr.LINREG_COLUMNS)",
    "excluded": "wells and samples left out, with the reason",
}


class QpcrOptions(_Strict):
    """``[experiment.qpcr]``: settings of :func:`preclin.qpcr.relative_quantities`."""

    reference: list[str] = Field(default_factory=list)
    calibrator: str | None = None
    controls: list[str] = Field(default_factory=list)
    method: Literal["pfaffl", "ddct"] = "pfaffl"
    efficiency: Literal["auto", "stored", "linreg"] | float | dict[str, float] = "auto"
    efficiency_error: bool = True
    pairing: Literal["separate", "well"] = "separate"
    error: Literal["sd", "sem", "ci"] = "sd"
    level: float = Field(default=0.95, gt=0, lt=1)
    calibrator_error: bool = True
    spread: float = Field(default=0.5, gt=0)
    drop_outliers: bool = False
    max_cq: float | None = Field(default=None, gt=0)
    unit: str = "ng"


class QpcrExperimentSpec(ExperimentSettings):
    """Relative quantification of qPCR Cq values, with optional group comparisons."""

    kind: Literal["qpcr"]
    data: str
    samples: str | None = None
    qpcr: QpcrOptions
    compare: list[AssayCompareSpec] = Field(default_factory=list)


def _read(files: list[Path], max_cq: float | None) -> pd.DataFrame:
    from ...qpcr import read_qpcr

    parts = []
    for f in files:
        w = read_qpcr(f, max_cq=max_cq)
        if len(files) > 1:
            w = w.assign(run=[r or f.stem for r in w["run"]])
        parts.append(w)
    return pd.concat(parts, ignore_index=True)


def _linreg(files: list[Path], max_cq: float | None) -> tuple[pd.DataFrame, pd.DataFrame,
                                                              pd.DataFrame]:
    """LinRegPCR over the raw curves of every file, pooled per target (one mean efficiency
    and one common threshold for the experiment); the wells get its Cq and efficiency.
    With several files each run is named ``<file stem>:<run>`` so plates never collide."""
    from ...errors import InputError
    from ...qpcr import read_qpcr
    from ...qpcr.io import detect_format
    from ...qpcr.linreg import linreg_efficiency, linreg_wells, read_linreg_input

    curves, wells = [], []
    for f in files:
        if detect_format(f) != "rdml":
            raise InputError("efficiency = \"linreg\" needs raw amplification curves: RDML "
                             "files with <adp> data", file=f)
        c = read_linreg_input(f)
        w = read_qpcr(f, max_cq=max_cq)
        if len(files) > 1:
            c = c.assign(run=[f"{f.stem}:{r}" for r in c["run"].astype(str)])
            w = w.assign(run=[f"{f.stem}:{r}" for r in w["run"].astype(str)])
        curves.append(c)
        wells.append(w)
    table = linreg_efficiency(pd.concat(curves, ignore_index=True), group_by="target")
    new_wells, eff = linreg_wells(pd.concat(wells, ignore_index=True), table)
    return new_wells, eff, table


class QpcrKind(ExperimentKind[QpcrExperimentSpec]):
    """Cq files → standard curves → Pfaffl / ΔΔCq / qbase+ NRQ → comparisons, figures."""

    name = "qpcr"
    summary = "qPCR relative quantification: standard curves, Pfaffl/ΔΔCq, comparisons"
    settings = QpcrExperimentSpec
    tables = QPCR_TABLES

    def run(self, spec: QpcrExperimentSpec, ctx: RunContext) -> KindOutput:
        """Read → standard curves → relative quantities → comparisons → figures."""
        from ...errors import InputError
        from ...qpcr import relative_quantities, standard_curve
        from .assay_compare import (
            attach_design,
            percent_of_control,
            read_design,
            run_comparisons,
        )

        q = spec.qpcr
        files = ctx.resolve(spec.data)
        inputs = list(files)
        with ctx.step("reading Cq files"):
            wells = _read(files, q.max_cq)
            design = None
            if spec.samples is not None:
                dpath = ctx.resolve_one(spec.samples)
                inputs.append(dpath)
                design = read_design(dpath)
        linreg = pd.DataFrame()
        efficiency: Any = None if q.method == "ddct" else q.efficiency
        if q.efficiency == "linreg":
            if q.method != "pfaffl":
                raise InputError(f"experiment '{spec.name}': efficiency = \"linreg\" applies "
                                 "to method = \"pfaffl\" (ddct assumes E = 2)",
                                 file=files[0])
            with ctx.step("LinRegPCR on the raw curves"):
                wells, efficiency, linreg = _linreg(files, q.max_cq)
        with ctx.step("standard curves and relative quantities"):
            has_std = bool(((wells["task"] == "standard") & (wells["quantity"] > 0)).any())
            curves = standard_curve(wells) if has_std else pd.DataFrame()
            try:
                res = relative_quantities(
                    wells, reference=q.reference, calibrator=q.calibrator,
                    controls=q.controls or None, method=q.method, efficiency=efficiency,
                    efficiency_error=q.efficiency_error, pairing=q.pairing, error=q.error,
                    level=q.level, calibrator_error=q.calibrator_error, spread=q.spread,
                    drop_outliers=q.drop_outliers)
            except InputError as exc:
                if exc.file is None:
                    raise InputError(f"experiment '{spec.name}': {exc.problem}",
                                     file=files[0], location=exc.location) from None
                raise
        table = attach_design(res.table, design)
        targets = [t for t in dict.fromkeys(table["target"]) if t not in q.reference]
        excluded = res.excluded[res.excluded["reason"] != "standard well"].copy()
        std_missing = wells[(wells["task"] == "standard") & wells["cq"].isna()]
        if len(std_missing):
            excluded = pd.concat([excluded, std_missing.assign(
                reason="standard well without a Cq (left out of the curve)")],
                ignore_index=True)
        warnings = _warnings(spec.name, res, curves, table, design)
        tables: dict[str, pd.DataFrame] = {"relquant": table}
        percent = pd.DataFrame()
        comparisons = pd.DataFrame()
        if spec.compare:
            with ctx.step("comparisons"):
                data = table[(table["role"] == "target") & (table["status"] == "ok")]
                comparisons, dropped = run_comparisons(
                    data, spec.compare, value="rq", item="target", items=targets,
                    file=inputs[-1])
                percent = percent_of_control(data, spec.compare, value="rq", item="target")
                if len(dropped):
                    excluded = pd.concat([excluded, dropped[["sample", "target", "reason"]]],
                                         ignore_index=True)
            tables["compare"] = comparisons
            if len(percent):
                tables["percent_of_control"] = percent
        if len(curves):
            tables["standard_curves"] = curves
        tables["efficiencies"] = res.efficiencies
        tables["replicates"] = res.replicates
        tables["wells"] = res.wells
        if len(linreg):
            tables["linreg"] = linreg
        if len(excluded):
            tables["excluded"] = excluded
        figures = self._figures(spec, ctx, wells, curves, table, comparisons, targets)
        overview = {"wells": len(wells), "samples": int(table["sample"].nunique()),
                    "targets": len(targets), "reference genes": ", ".join(q.reference),
                    "method": q.method, "comparisons": len(comparisons),
                    "wells excluded": len(res.excluded[res.excluded["reason"]
                                                       != "standard well"])}
        result = {"relquant": res, "curves": curves, "comparisons": comparisons,
                  "percent": percent}
        return self.output(spec, tables=tables, figures=figures, warnings=warnings,
                           inputs=tuple(inputs), excluded=excluded.reset_index(drop=True),
                           overview=overview, result=result)

    def _figures(self, spec: QpcrExperimentSpec, ctx: RunContext, wells: pd.DataFrame,
                 curves: pd.DataFrame, table: pd.DataFrame, comparisons: pd.DataFrame,
                 targets: list[str]) -> tuple[Any, ...]:
        from ...qpcr.plot import plot_relative_quantities, plot_standard_curves
        from .assay_compare import comparison_figure

        title = spec.title or spec.name
        q = spec.qpcr
        out = []
        with ctx.step("drawing figures"):
            data = table[(table["role"] == "target") & (table["status"] == "ok")]
            for k, c in enumerate(spec.compare, start=1):
                comp = comparisons[comparisons["comparison"] == k] if len(comparisons) \
                    else comparisons
                fig = comparison_figure(data, c, comp, value="rq", item="target",
                                        items=targets, ylabel="relative quantity (RQ)")
                what = "paired lines join the same " + c.pair if c.pair else "each sample"
                out.append(ctx.save_figure(fig, f"compare_{k}", role="main", caption=(
                    f"{title}: relative quantity ({q.method}, calibrator "
                    f"{q.calibrator or 'mean of controls'} = 1, normalised to "
                    f"{', '.join(q.reference) or 'no reference'}) per {c.group}; bars and "
                    f"error bars: mean ± {c.error.upper()}, points: samples, {what}; "
                    "brackets: " + ("paired " if c.pair else "") + "tests with stars.")))
            if len(curves) and (curves["status"] == "ok").any():
                fig = plot_standard_curves(wells, curves, unit=q.unit)
                out.append(ctx.save_figure(fig, "standard_curves", role="stdcurve", caption=(
                    f"{title}: standard curves, Cq against input (log scale), OLS line; "
                    "E = 10^(−1/slope).")))
            label = "sample"
            fig = plot_relative_quantities(table, targets=targets, label=label)
            kind = str(table["error_kind"].iloc[0]) if len(table) else ""
            out.append(ctx.save_figure(fig, "rq", role="rq", caption=(
                f"{title}: relative quantity of every sample (log2 axis, calibrator = 1) "
                f"with propagated error bars ({kind}; Hellemans 2007, including the "
                "efficiency uncertainty).")))
        return tuple(out)

    def report_section(self, output: KindOutput, report: Any, ctx: ReportContext) -> None:
        """Method sentence, comparison sentences, figures and the main tables."""
        from .assay_compare import comparison_sentences

        spec: QpcrExperimentSpec = output.spec  # type: ignore[assignment]
        q = spec.qpcr
        report.add_section(spec.title or output.name)
        if ctx.simulated:
            report.add_notice("These data are SIMULATED; they are not measurements.",
                              "simulated")
        eff = output.table("efficiencies")
        e_text = ", ".join(f"{r['target']} {r['efficiency']:.3f}"
                           for r in eff.to_dict("records"))
        ref = " and ".join(q.reference) or "no reference gene"
        report.add_text(
            f"Relative quantities by the {'Pfaffl' if q.method == 'pfaffl' else 'ΔΔCq'} "
            f"model, normalised to {ref}"
            + (" (geometric mean)" if len(q.reference) > 1 else "")
            + f", calibrator {q.calibrator or 'mean of ' + ', '.join(q.controls)} = 1; "
            f"amplification factors {e_text} ({eff['source'].iloc[0] if len(eff) else ''}). "
            f"Error bars of each sample: {output.table('relquant')['error_kind'].iloc[0]} "
            "propagated on the log2 scale (Hellemans 2007)."
            + (" Cq values and per-target mean efficiencies from the raw curves by "
               "LinRegPCR (per-well baseline, common threshold; Ruijter et al. 2009)."
               if q.efficiency == "linreg" else ""))
        res: dict[str, Any] = output.result  # type: ignore[assignment]
        for s in comparison_sentences(res["comparisons"], res["percent"], item="target"):
            report.add_text(s)
        for role in ("main", "stdcurve", "rq"):
            for fig in output.figures_with_role(role):
                report.add_figure(fig.path, caption=fig.caption,
                                  name=f"{output.name}-{fig.path.stem}")
        for key in ("compare", "percent_of_control", "standard_curves", "efficiencies",
                    "relquant", "excluded"):
            if key in output.tables:
                t = output.tables[key]
                report.add_table(t.data, caption=f"{t.description} "
                                 f"({ctx.table_file(output, key)})",
                                 highlight="status" if key == "relquant" else None)
        report.add_text("Also written: " + ", ".join(
            ctx.table_file(output, k) for k in ("replicates", "wells", "linreg")
            if k in output.tables) + ".")

    def example(self, directory: Path) -> Path:
        """The simulated myeloma qPCR experiment (12 lines × control/lenalidomide)."""
        from ...data.simulate_qpcr import qpcr_experiment_toml, write_qpcr_example

        root = Path(directory)
        write_qpcr_example(root / "data", seed=2018)
        study = root / "study.toml"
        study.write_text('''# preclin: example of the "qpcr" kind (SIMULATED data)
[study]
title = "Example: does lenalidomide induce TNF, IL8 and IGF1 mRNA in myeloma lines?"
simulated = true
''' + qpcr_experiment_toml(), encoding="utf-8")
        return study


def _warnings(name: str, res: Any, curves: pd.DataFrame, table: pd.DataFrame,
              design: pd.DataFrame | None) -> list[str]:
    out = []
    for r in curves.to_dict("records") if len(curves) else []:
        if r["status"] != "ok":
            out.append(f"{name}: no standard curve for {r['target']} ({r['status']})")
            continue
        if not 1.8 <= r["efficiency"] <= 2.1:
            out.append(f"{name}: {r['target']} efficiency {r['efficiency_percent']:.0f} % is "
                       "outside 80–110 %")
        if r["r2"] < 0.98:
            out.append(f"{name}: {r['target']} standard curve R² = {r['r2']:.3f} (< 0.98)")
    flagged = res.replicates[res.replicates["replicate_flag"] != ""]
    if len(flagged):
        out.append(f"{name}: {len(flagged)} sample × target group(s) with replicate "
                   f"spread or undetermined wells (see the replicates table)")
    bad = table[table["status"] != "ok"]
    if len(bad):
        out.append(f"{name}: {len(bad)} sample × target value(s) without a relative "
                   "quantity (" + ", ".join(sorted(set(bad["status"]))) + ")")
    if design is not None:
        missing = sorted(set(table["sample"]) - set(design["sample"]))
        if missing:
            out.append(f"{name}: {len(missing)} sample(s) not in the samples table: "
                       + ", ".join(missing[:5]) + ("…" if len(missing) > 5 else ""))
    return out
