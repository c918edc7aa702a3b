"""Experiment kind ``factorial``: a fixed-dose 2^k factorial (Bliss/HSA excess, interactions).

Study file::

    [[experiment]]
    name = "aml_factorial"
    kind = "factorial"
    data = "data/factorial_viability.csv"

    [experiment.factorial]
    factors = ["AraC_nM", "Ida_nM", "lenalidomide_uM"]
    response = "viability_pct"
    by = ["cell_line"]
    added = ["lenalidomide_uM"]

See :func:`preclin.synergy.factorial.factorial_effects` for every setting.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal

from pydantic import Field

from .base import ExperimentKind, ExperimentSettings, KindOutput, ReportContext, RunContext
from .base import StrictModel as _Strict

__all__ = ["FactorialKind", "FactorialSpec", "FactorialExperimentSpec", "FACTORIAL_TABLES"]

#: tables a factorial experiment writes and what one row is
FACTORIAL_TABLES = {
    "effects": "one row per group × combination × reference (Bliss, HSA): observed, "
    "expected and excess fraction affected with 95% CI, t test, question",
    "anova": "one row per group × model term: linear model with a replicate block",
    "replicates": "one row per group × replicate × combination: observed, expected, excess",
    "excluded": "input rows left out, with the row number and the reason",
}


class FactorialSpec(_Strict):
    """Settings of :func:`preclin.synergy.factorial.factorial_effects`."""

    factors: list[str] = Field(min_length=2)
    response: str = "viability"
    response_kind: Literal["viability", "inhibition", "apoptosis"] = "viability"
    replicate: str = "replicate"
    by: list[str] = Field(default_factory=list)
    added: list[str] | None = None
    labels: dict[str, str] | None = None
    control: float | None = None
    alpha: float = 0.05


class FactorialExperimentSpec(ExperimentSettings):
    """A fixed-dose factorial (2×2, 2×2×2): Bliss/HSA excess and interaction tests."""

    kind: Literal["factorial"]
    data: str
    factorial: FactorialSpec


def excluded_rows_warning(name: str, n: int) -> list[str]:
    """``"<name>: n row(s) excluded (see tables/<name>_excluded.csv)"`` when ``n`` > 0."""
    return [f"{name}: {n} row(s) excluded (see tables/{name}_excluded.csv)"] if n else []


class FactorialKind(ExperimentKind[FactorialExperimentSpec]):
    """One long table → Bliss/HSA excess per replicate, tests and a linear model."""

    name = "factorial"
    summary = "fixed-dose 2^k factorial: Bliss/HSA excess and interaction terms"
    settings = FactorialExperimentSpec
    tables = FACTORIAL_TABLES

    def run(self, spec: FactorialExperimentSpec, ctx: RunContext) -> KindOutput:
        """Read the table → factorial effects → figure."""
        from ...synergy.factorial import factorial_effects
        from ...synergy.figures_factorial import plot_factorial
        from ...tables import read_table

        path = ctx.resolve_one(spec.data)
        fs = spec.factorial
        with ctx.step("factorial analysis"):
            # ids as written (the key-reading rule of every command: preclin.tables)
            table = read_table(path, keys=[*fs.by, fs.replicate])
            res = factorial_effects(
                table, factors=tuple(fs.factors), response=fs.response,
                replicate=fs.replicate, response_kind=fs.response_kind, control=fs.control,
                by=tuple(fs.by), labels=fs.labels, added=fs.added, alpha=fs.alpha, file=path)
        with ctx.step("drawing figures"):
            title = spec.title or spec.name
            figure = ctx.save_figure(plot_factorial(res), "factorial", role="main", caption=(
                f"{title}: mean ± SEM of {res.response} with each replicate; dashed marks: "
                "Bliss-expected response; stars: Bliss excess tests; right: Bliss excess per "
                "combination."))
        tables = {"effects": res.table, "anova": res.anova, "replicates": res.replicates}
        if len(res.excluded):
            tables["excluded"] = res.excluded
        overview = {"data rows": len(table), "rows excluded": len(res.excluded),
                    "questions answered": len(res.table)}
        return self.output(spec, tables=tables, figures=(figure,),
                           warnings=excluded_rows_warning(spec.name, len(res.excluded)),
                           inputs=(path,), excluded=res.excluded, overview=overview,
                           result=res)

    def report_section(self, output: KindOutput, report: Any, ctx: ReportContext) -> None:
        """The answers as sentences, the figure, the excess and linear-model tables."""
        from ...synergy.figures_factorial import add_factorial_section

        figs = output.figures_with_role("main")
        add_factorial_section(report, output.result,  # type: ignore[arg-type]
                              title=output.spec.title or output.name,
                              simulated=ctx.simulated,
                              figure=figs[0].path if figs else True)

    def example(self, directory: Path) -> Path:
        """The bundled 2×2×2 AraC × idarubicin × lenalidomide factorial (SIMULATED)."""
        from ...data.example_combination import write_factorial_example

        root = Path(directory)
        write_factorial_example(root / "data", seed=2018)
        study = root / "study.toml"
        study.write_text('''# preclin: example of the "factorial" kind (SIMULATED data)
[study]
title = "Example: does lenalidomide potentiate AraC + idarubicin?"
simulated = true

[[experiment]]
name = "aml_factorial"
title = "Does lenalidomide potentiate AraC + idarubicin? (2×2×2 factorial)"
kind = "factorial"
data = "data/factorial_viability.csv"

[experiment.factorial]
factors = ["AraC_nM", "Ida_nM", "lenalidomide_uM"]
labels = {AraC_nM = "AraC", Ida_nM = "Ida", lenalidomide_uM = "lenalidomide"}
response = "viability_pct"
by = ["cell_line"]
added = ["lenalidomide_uM"]
''', encoding="utf-8")
        return study
