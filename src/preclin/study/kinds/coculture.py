"""Experiment kind ``coculture``: chemoprotection by stroma (alone vs co-culture, ± a drug).

Study file::

    [[experiment]]
    name = "aml_coculture"
    kind = "coculture"
    data = "data/coculture_apoptosis.csv"

    [experiment.coculture]
    response = "apoptosis_pct"
    by = ["aml_sample"]
    added = "lenalidomide"

See :func:`preclin.synergy.coculture.chemoprotection` for every setting.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal

from pydantic import Field

from .base import ExperimentKind, ExperimentSettings, KindOutput, ReportContext, RunContext
from .base import StrictModel as _Strict
from .factorial import excluded_rows_warning

__all__ = ["CocultureKind", "CocultureSpec", "CocultureExperimentSpec", "COCULTURE_TABLES"]

#: tables a co-culture experiment writes and what one row is
COCULTURE_TABLES = {
    "protection": "one row per group × treatment × measure: protection by stroma "
    "(difference, ratio, protection index) with CI and paired test",
    "interaction": "one row per group × base/with-drug pair: does the added drug reduce "
    "protection (treatment × stroma interaction)",
    "pairs": "one row per group × treatment × replicate: response alone and on stroma",
    "excluded": "input rows or replicates left out, with the reason",
}


class CocultureSpec(_Strict):
    """Settings of :func:`preclin.synergy.coculture.chemoprotection`."""

    response: str = "apoptosis"
    response_kind: Literal["apoptosis", "viability"] = "apoptosis"
    condition: str = "condition"
    alone: str = "alone"
    stroma: str = "stroma"
    treatment: str = "treatment"
    vehicle: str = "vehicle"
    replicate: str = "replicate"
    by: list[str] = Field(default_factory=list)
    added: str | None = None
    test: Literal["t", "wilcoxon"] = "t"
    ci: Literal["t", "bootstrap"] = "t"
    seed: int = 0
    alpha: float = 0.05


class CocultureExperimentSpec(ExperimentSettings):
    """Chemoprotection by stroma: cells alone vs on stroma, ± an added drug."""

    kind: Literal["coculture"]
    data: str
    coculture: CocultureSpec


class CocultureKind(ExperimentKind[CocultureExperimentSpec]):
    """One long table → protection by stroma per treatment, and its change by a drug."""

    name = "coculture"
    summary = "chemoprotection by stroma: alone vs co-culture, ± an added drug"
    settings = CocultureExperimentSpec
    tables = COCULTURE_TABLES

    def run(self, spec: CocultureExperimentSpec, ctx: RunContext) -> KindOutput:
        """Read the table → chemoprotection → figure."""
        from ...synergy.coculture import chemoprotection
        from ...synergy.figures_factorial import plot_protection
        from ...tables import read_table

        path = ctx.resolve_one(spec.data)
        cs = spec.coculture
        with ctx.step("coculture analysis"):
            table = read_table(path)
            res = chemoprotection(
                table, response=cs.response, condition=cs.condition, treatment=cs.treatment,
                replicate=cs.replicate, response_kind=cs.response_kind, by=tuple(cs.by),
                alone=cs.alone, stroma=cs.stroma, vehicle=cs.vehicle, added=cs.added,
                test=cs.test, ci=cs.ci, seed=cs.seed, alpha=cs.alpha, file=path)
        with ctx.step("drawing figures"):
            title = spec.title or spec.name
            figure = ctx.save_figure(plot_protection(res), "protection", role="main", caption=(
                f"{title}: mean ± SEM with each replicate, lines join the same replicate alone "
                "and on stroma; brackets: paired test alone vs stroma and Δ protection "
                "(interaction) tests."))
        tables = {"protection": res.table, "interaction": res.interaction, "pairs": res.pairs}
        if len(res.excluded):
            tables["excluded"] = res.excluded
        overview = {"data rows": len(table), "rows excluded": len(res.excluded),
                    "questions answered": len(res.table) + len(res.interaction)}
        return self.output(spec, tables=tables, figures=(figure,),
                           warnings=excluded_rows_warning(spec.name, len(res.excluded)),
                           inputs=(path,), excluded=res.excluded, overview=overview,
                           result=res)

    def report_section(self, output: KindOutput, report: Any, ctx: ReportContext) -> None:
        """The answers as sentences, the figure, protection and interaction tables."""
        from ...synergy.figures_factorial import add_protection_section

        figs = output.figures_with_role("main")
        add_protection_section(report, output.result,  # type: ignore[arg-type]
                               title=output.spec.title or output.name,
                               simulated=ctx.simulated,
                               figure=figs[0].path if figs else True)

    def example(self, directory: Path) -> Path:
        """The bundled AML-on-BM-MSC chemoprotection experiment (SIMULATED)."""
        from ...data.example_combination import write_coculture_example

        root = Path(directory)
        write_coculture_example(root / "data", seed=2018)
        study = root / "study.toml"
        study.write_text('''# preclin: example of the "coculture" kind (SIMULATED data)
[study]
title = "Example: does lenalidomide reduce stromal chemoprotection?"
simulated = true

[[experiment]]
name = "aml_coculture"
title = "Does lenalidomide reduce stromal chemoprotection? (AML cells alone vs on BM-MSC)"
kind = "coculture"
data = "data/coculture_apoptosis.csv"

[experiment.coculture]
response = "apoptosis_pct"
by = ["aml_sample"]
added = "lenalidomide"
''', encoding="utf-8")
        return study
