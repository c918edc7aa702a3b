"""Experiment kind ``immunoassay``: standard curves (4PL/5PL), back-calculation, comparisons.

Study file::

    [[experiment]]
    name = "aml_luminex"
    kind = "immunoassay"
    data = "data/luminex_xponent.csv"     # xPONENT CSV export(s) or a long table
    samples = "data/luminex_samples.csv"  # optional: sample + factors

    [experiment.immunoassay]
    model = "5pl"                         # or "4pl"
    weights = "1/y2"                      # none | 1/y | 1/y2 (xPONENT's default)
    dilution = 2                          # optional: dilution of every sample well
                                          # (default: as the file says)
    unit = "pg/ml"

    [[experiment.compare]]                # optional (see assay_compare)
    group = "condition"
    pair = "donor"
    control = "PBMC+PHA+MSC"
    test = "paired"

Each analyte's standards are fitted (:func:`preclin.immunoassay.fit_plate`), every well is
read back (× dilution) with ``<LLOQ``/``>ULOQ`` flags, replicate wells are averaged per
sample, and comparisons go through :mod:`preclin.stats`. Definitions:
``docs/methods/immunoassay.md``.
"""

from __future__ import annotations

import math
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

__all__ = ["ImmunoassayKind", "ImmunoassayOptions", "ImmunoassayExperimentSpec",
           "IMMUNOASSAY_TABLES", "sample_summary"]

#: tables an immunoassay experiment writes and what one row is
IMMUNOASSAY_TABLES = {
    "samples": "one row per analyte × sample (unknowns and controls): wells, wells with a "
    "value, mean back-calculated concentration (× dilution), SD, CV %, flags and the "
    "sample's factors",
    "compare": COMPARE_TABLE_DESCRIPTION.format(item="analyte"),
    "percent_of_control": PERCENT_TABLE_DESCRIPTION.format(item="analyte"),
    "curves": "one row per analyte: model, weights, parameters A, B, C, D, F, weighted R², "
    "standards used, direction, LLOQ and ULOQ",
    "wells": "one row per well × analyte: signal, dilution, back-calculated concentration, "
    "flag (<curve, >curve, <LLOQ, >ULOQ, background), expected and % recovery of standards, "
    "replicate CV %",
    "excluded": "wells left out of the sample means, with the reason",
}


class ImmunoassayOptions(_Strict):
    """``[experiment.immunoassay]``: settings of :func:`preclin.immunoassay.fit_plate`."""

    model: Literal["5pl", "4pl"] = "5pl"
    weights: Literal["none", "1/y", "1/y2"] = "1/y2"
    #: dilution factor of every unknown (sample) well; default: as the file says
    dilution: float | None = Field(default=None, gt=0)
    recovery_range: tuple[float, float] = (80.0, 120.0)
    max_cv: float = Field(default=20.0, gt=0)
    analytes: list[str] | None = Field(default=None, min_length=1)
    unit: str = "pg/ml"
    #: y label of the curve figure (default "MFI" for increasing curves, else "signal")
    signal_label: str | None = None


class ImmunoassayExperimentSpec(ExperimentSettings):
    """Standard curves and back-calculated concentrations, with group comparisons."""

    kind: Literal["immunoassay"]
    data: str
    samples: str | None = None
    immunoassay: ImmunoassayOptions = ImmunoassayOptions()
    compare: list[AssayCompareSpec] = Field(default_factory=list)


def sample_summary(table: pd.DataFrame) -> pd.DataFrame:
    """Replicate wells → one row per analyte × sample (unknown and control wells).

    Columns ``analyte, sample, type, n_wells, n, concentration, sd, cv, flag``: the mean
    and SD (n − 1) of the wells with a value, CV in %, and the distinct well flags joined
    by ``; `` (``''`` when none).
    """
    rows = []
    sub = table[table["type"].isin(["unknown", "control"])]
    for (analyte, sample), g in sub.groupby(["analyte", "sample"], sort=False):
        v = g["concentration"].dropna()
        n = len(v)
        mean = float(v.mean()) if n else math.nan
        sd = float(v.std(ddof=1)) if n > 1 else math.nan
        flags = [f for f in dict.fromkeys(g["flag"]) if f]
        rows.append({"analyte": analyte, "sample": sample, "type": g["type"].iloc[0],
                     "n_wells": len(g), "n": n, "concentration": mean, "sd": sd,
                     "cv": sd / mean * 100 if n > 1 and mean > 0 else math.nan,
                     "flag": "; ".join(flags)})
    return pd.DataFrame(rows, columns=["analyte", "sample", "type", "n_wells", "n",
                                       "concentration", "sd", "cv", "flag"])


def _read(files: list[Path], dilution: float | None) -> tuple[pd.DataFrame, list[str]]:
    import warnings

    from ...immunoassay import read_immunoassay

    parts, notes = [], []
    for f in files:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            w = read_immunoassay(f)
        notes += [str(c.message) for c in caught]
        if len(files) > 1:
            w = w.assign(well=f.stem + ":" + w["well"].astype(str))
        parts.append(w)
    wells = pd.concat(parts, ignore_index=True)
    if dilution is not None:
        wells.loc[wells["type"] == "unknown", "dilution"] = float(dilution)
    return wells, notes


class ImmunoassayKind(ExperimentKind[ImmunoassayExperimentSpec]):
    """Bead or plate immunoassay / bioassay: curves → concentrations → comparisons."""

    name = "immunoassay"
    summary = "immunoassay / bioassay standard curves (4PL/5PL), concentrations, comparisons"
    settings = ImmunoassayExperimentSpec
    tables = IMMUNOASSAY_TABLES

    def run(self, spec: ImmunoassayExperimentSpec, ctx: RunContext) -> KindOutput:
        """Read → fit per analyte → back-calculate → sample means → comparisons."""
        from ...errors import InputError
        from ...immunoassay import fit_plate
        from .assay_compare import (
            attach_design,
            percent_of_control,
            read_design,
            run_comparisons,
        )

        o = spec.immunoassay
        files = ctx.resolve(spec.data)
        inputs = list(files)
        with ctx.step("reading"):
            wells, notes = _read(files, o.dilution)
            if o.analytes is not None:
                missing = [a for a in o.analytes if a not in set(wells["analyte"])]
                if missing:
                    raise InputError(f"experiment '{spec.name}': analyte(s) "
                                     f"{', '.join(map(repr, missing))} not in the data",
                                     file=files[0])
                wells = wells[wells["analyte"].isin(o.analytes)].reset_index(drop=True)
            design = None
            if spec.samples is not None:
                dpath = ctx.resolve_one(spec.samples)
                inputs.append(dpath)
                design = read_design(dpath)
        with ctx.step("fitting standard curves"):
            try:
                res = fit_plate(wells, model=o.model, weights=o.weights,
                                recovery_range=o.recovery_range, max_cv=o.max_cv)
            except InputError as exc:
                raise InputError(f"experiment '{spec.name}': {exc.problem}", file=files[0],
                                 location=exc.location) from None
        samples = attach_design(sample_summary(res.table), design)
        analytes = list(res.fits)
        excluded = _excluded(res.table)
        tables: dict[str, pd.DataFrame] = {"samples": samples}
        comparisons, percent = pd.DataFrame(), pd.DataFrame()
        if spec.compare:
            with ctx.step("comparisons"):
                data = samples[samples["type"] == "unknown"]
                comparisons, dropped = run_comparisons(
                    data, spec.compare, value="concentration", item="analyte",
                    items=analytes, file=inputs[-1])
                percent = percent_of_control(data, spec.compare, value="concentration",
                                             item="analyte")
                if len(dropped):
                    excluded = pd.concat([excluded, dropped[["analyte", "sample", "reason"]]],
                                         ignore_index=True)
            tables["compare"] = comparisons
            if len(percent):
                tables["percent_of_control"] = percent
        tables["curves"] = res.params
        tables["wells"] = res.table
        if len(excluded):
            tables["excluded"] = excluded
        figures = self._figures(spec, ctx, res, samples, comparisons, analytes)
        warnings = [f"{spec.name}: {n}" for n in [*notes, *res.warnings]]
        flagged = samples[samples["flag"] != ""]
        if len(flagged):
            warnings.append(f"{spec.name}: {len(flagged)} sample × analyte value(s) flagged "
                            "(<curve, >curve, <LLOQ or >ULOQ; see the samples table)")
        for r in res.params.to_dict("records"):
            if r["r2"] < 0.95:
                warnings.append(f"{spec.name}: {r['analyte']} standard curve R² = "
                                f"{r['r2']:.3f} (< 0.95)")
        overview = {"wells": int(res.table["well"].nunique()), "analytes": len(analytes),
                    "samples": int(samples["sample"].nunique()), "model": o.model,
                    "weights": o.weights, "comparisons": len(comparisons),
                    "values flagged": len(flagged)}
        result = {"fit": res, "comparisons": comparisons, "percent": percent}
        return self.output(spec, tables=tables, figures=figures, warnings=warnings,
                           inputs=tuple(inputs), excluded=excluded.reset_index(drop=True),
                           overview=overview, result=result)

    def _figures(self, spec: ImmunoassayExperimentSpec, ctx: RunContext, res: Any,
                 samples: pd.DataFrame, comparisons: pd.DataFrame,
                 analytes: list[str]) -> tuple[Any, ...]:
        from ...immunoassay.plot import plot_standard_curves
        from .assay_compare import comparison_figure

        title = spec.title or spec.name
        o = spec.immunoassay
        out = []
        with ctx.step("drawing figures"):
            data = samples[samples["type"] == "unknown"]
            for k, c in enumerate(spec.compare, start=1):
                comp = comparisons[comparisons["comparison"] == k] if len(comparisons) \
                    else comparisons
                fig = comparison_figure(data, c, comp, value="concentration", item="analyte",
                                        items=analytes, ylabel=f"concentration ({o.unit})")
                what = "lines join the same " + c.pair if c.pair else "points: samples"
                out.append(ctx.save_figure(fig, f"compare_{k}", role="main", caption=(
                    f"{title}: back-calculated concentration per {c.group} (mean of "
                    f"replicate wells × dilution); bars and error bars: "
                    + ("geometric " if c.log else "") + f"mean ± {c.error.upper()}; "
                    f"{what}; brackets: " + ("paired " if c.pair else "")
                    + "tests with stars" + (" on log values" if c.log else "") + ".")))
            fig = plot_standard_curves(res, unit=o.unit, signal_label=o.signal_label)
            out.append(ctx.save_figure(fig, "curves", role="curves", caption=(
                f"{title}: {o.model.upper()} standard curves (weights {o.weights}); filled: "
                "standards at their expected concentration, open triangles: sample wells "
                "read back onto the curve (in-well concentration), dashed: LLOQ and ULOQ.")))
        return tuple(out)

    def report_section(self, output: KindOutput, report: Any, ctx: ReportContext) -> None:
        """Sentences, figures and the main tables."""
        from .assay_compare import comparison_sentences

        spec: ImmunoassayExperimentSpec = output.spec  # type: ignore[assignment]
        o = spec.immunoassay
        report.add_section(spec.title or output.name)
        if ctx.simulated:
            report.add_notice("These data are SIMULATED; they are not measurements.",
                              "simulated")
        curves = output.table("curves")
        report.add_text(
            f"{len(curves)} analyte(s) fitted with a {o.model.upper()} curve "
            f"y = A + (B − A)/(1 + (x/C)^D)^F (weights {o.weights}, as xPONENT); "
            "concentrations = inverse curve × dilution; quantifiable range = the widest run "
            f"of standard levels with {o.recovery_range[0]:g}–{o.recovery_range[1]:g} % "
            f"recovery and CV ≤ {o.max_cv:g} %.")
        res: dict[str, Any] = output.result  # type: ignore[assignment]
        for s in comparison_sentences(res["comparisons"], res["percent"], item="analyte"):
            report.add_text(s)
        for role in ("main", "curves"):
            for fig in output.figures_with_role(role):
                report.add_figure(fig.path, caption=fig.caption,
                                  name=f"{output.name}-{fig.path.stem}")
        for key in ("compare", "percent_of_control", "curves", "samples", "excluded"):
            if key in output.tables:
                t = output.tables[key]
                report.add_table(t.data, caption=f"{t.description} "
                                 f"({ctx.table_file(output, key)})",
                                 highlight="flag" if key == "samples" else None)
        report.add_text(f"Also written: {ctx.table_file(output, 'wells')}.")

    def example(self, directory: Path) -> Path:
        """The simulated Luminex plate and WEHI-164 TNF bioassay (two experiments)."""
        from ...data.simulate_immunoassay import (
            luminex_experiment_toml,
            tnf_bioassay_experiment_toml,
            write_luminex_example,
            write_tnf_bioassay_example,
        )

        root = Path(directory)
        write_luminex_example(root / "data", seed=2018)
        write_tnf_bioassay_example(root / "data", seed=2018)
        study = root / "study.toml"
        study.write_text('''# preclin: example of the "immunoassay" kind (SIMULATED data)
[study]
title = "Example: cytokines by Luminex and TNF-α by WEHI-164 bioassay"
simulated = true
''' + luminex_experiment_toml() + tnf_bioassay_experiment_toml(), encoding="utf-8")
        return study


def _excluded(table: pd.DataFrame) -> pd.DataFrame:
    """Background wells and sample wells without a value, with the reason."""
    reasons = {"background": "background well", "<curve": "signal beyond the curve's "
               "zero-concentration asymptote (no value)", ">curve": "signal beyond the "
               "curve's top asymptote (no value)"}
    sub = table[table["type"].isin(["background", "unknown", "control"])
                & table["flag"].isin(list(reasons))]
    cols = ["analyte", "well", "sample", "type", "signal", "flag"]
    return sub[cols].assign(reason=sub["flag"].map(reasons)).reset_index(drop=True)
