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

    [experiment.power]                 # optional: how many donors would detect ...
    effect = -8                        # ... an 8-point drop in protection?
    n = [3, 5]                         # donors per simulated experiment
    n_sim = 150                        # means and SDs: this experiment as the pilot

See :func:`preclin.synergy.coculture.chemoprotection` for every setting and
:mod:`preclin.synergy.coculture_power` for the power simulation.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal

import pandas as pd
from pydantic import Field, field_validator

from .base import ExperimentKind, ExperimentSettings, KindOutput, ReportContext, RunContext
from .base import StrictModel as _Strict
from .factorial import excluded_rows_warning

__all__ = ["CocultureKind", "CocultureSpec", "CoculturePowerSpec", "CocultureExperimentSpec",
           "COCULTURE_TABLES"]

#: tables a co-culture experiment writes and what one row is
COCULTURE_TABLES = {
    "protection": "one row per group × treatment × measure: protection by stroma "
    "(difference, ratio, protection index) with CI and paired test",
    "interaction": "one row per group × base/with-drug pair: does the added drug reduce "
    "protection (treatment × stroma interaction)",
    "pairs": "one row per group × treatment × replicate: response alone and on stroma",
    "excluded": "input rows or replicates left out, with the reason",
    "power": "one row per number of donors: simulated power of the Δ protection test "
    "with its Monte Carlo SE ([experiment.power])",
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


class CoculturePowerSpec(_Strict):
    """``[experiment.power]``: power of the Δ protection test by simulation.

    Every mean or SD not stated is estimated from this experiment's data (the pilot;
    :func:`preclin.synergy.coculture_power.pilot_estimates`).
    """

    n: list[int] = Field(default_factory=lambda: [3, 5], min_length=1)
    effect: float | None = None
    compare: list[str] | None = Field(default=None, min_length=2, max_length=2)
    group: dict[str, str] | None = None
    base_alone: float | None = None
    base_stroma: float | None = None
    with_alone: float | None = None
    sd: float | None = Field(default=None, gt=0)
    sd_replicate: float | None = Field(default=None, ge=0)
    n_sim: int = Field(default=200, ge=10, le=100_000)
    seed: int = 0
    alpha: float = Field(default=0.05, gt=0, lt=1)

    @field_validator("n")
    @classmethod
    def _at_least_two(cls, v: list[int]) -> list[int]:
        if any(k < 2 for k in v):
            raise ValueError("every n (donors per experiment) must be at least 2")
        return v


class CocultureExperimentSpec(ExperimentSettings):
    """Chemoprotection by stroma: cells alone vs on stroma, ± an added drug."""

    kind: Literal["coculture"]
    data: str
    coculture: CocultureSpec
    power: CoculturePowerSpec | None = None


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
            # ids and labels as written (the key-reading rule of every command: preclin.tables)
            table = read_table(path, keys=[*cs.by, cs.replicate, cs.condition, cs.treatment])
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
        if spec.power is not None:
            with ctx.step("power simulation"):
                tables["power"] = _power(res, spec.power)
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
        if "power" in output.tables:
            _power_section(report, output.table("power"), ctx.table_file(output, "power"))

    def example(self, directory: Path) -> Path:
        """The bundled AML-on-BM-MSC chemoprotection experiment (SIMULATED), with a
        power section."""
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

[experiment.power]
effect = -8
n = [3, 5]
n_sim = 20
''', encoding="utf-8")
        return study


def _power(res: Any, ps: CoculturePowerSpec) -> pd.DataFrame:
    """The power table of ``[experiment.power]`` (pilot = this experiment's result)."""
    from ...errors import StudyError
    from ...synergy.coculture_power import ProtectionDesign, pilot_estimates, protection_power

    if ps.compare is not None:
        base, with_ = ps.compare
    else:
        inter = res.interaction
        pairs = list(dict.fromkeys(zip(inter["base"], inter["with"], strict=True)))
        if not pairs:
            raise StudyError("power: the experiment has no treatment pair with an added drug; "
                             "name one with power.compare = [base, with]")
        pairs = [p for p in pairs if p[0] != res.vehicle] or pairs
        base, with_ = pairs[0]
    stated: dict[str, float | None] = {"base_alone": ps.base_alone, "base_stroma": ps.base_stroma,
              "with_alone": ps.with_alone, "sd": ps.sd, "sd_replicate": ps.sd_replicate,
              "effect": ps.effect}
    values: dict[str, float]
    if all(v is not None for v in stated.values()):
        values, source = {k: float(v or 0.0) for k, v in stated.items()}, "stated"
    else:
        pilot = pilot_estimates(res, base=base, with_=with_, group=ps.group)
        values = {k: (v if v is not None else pilot[k]) for k, v in stated.items()}
        source = "pilot" if all(v is None for v in stated.values()) else "pilot + stated"
    design = ProtectionDesign(base=base, with_=with_, response_kind=res.response_kind,
                              source=source, **values)
    return protection_power(design, n=ps.n, n_sim=ps.n_sim, seed=ps.seed, alpha=ps.alpha)


def _power_section(report: Any, table: pd.DataFrame, file: str) -> None:
    """Sentences and the table of the power simulation."""
    report.add_section("How many donors? Power by simulation", (
        "Each row simulates the experiment (the base treatment and the base + added drug, "
        "alone and on stroma, in n donors) many times from the stated change of protection "
        "and the means and SDs of the source column ('pilot' = estimated from this "
        "experiment), and analyses every simulated data set with the same interaction test "
        "as above. Power = share of simulated experiments with p ≤ alpha, ± its Monte "
        "Carlo SE √(p(1 − p)/n_sim); the noncentral-t value of the same design is shown "
        "as a check."), level=3)
    rows: list[dict[str, Any]] = [{str(k): v for k, v in r.items()}
                                  for r in table.to_dict("records")]
    parts = [f"n = {r['n']} donors: {100 * r['power']:.0f}% (Monte Carlo SE "
             f"{100 * r['mc_se']:.1f}%)" for r in rows]
    if rows:
        r0 = rows[0]
        change = "drop" if r0["effect"] < 0 else "rise"
        report.add_text(
            f"A {change} of {abs(r0['effect']):.3g} points in stromal protection ({r0['base']} → "
            f"{r0['with']}; protection under {r0['base']} {r0['protection_base']:.1f} "
            f"points, SD {r0['sd']:.2f} within and {r0['sd_replicate']:.2f} between donors, "
            f"{r0['source']}) is detected at α = {r0['alpha']:g} with "
            + "; ".join(parts) + f" ({int(r0['n_sim'])} simulated experiments each).")
    report.add_table(table[["n", "effect", "sd", "sd_replicate", "source", "n_sim",
                            "rejections", "power", "mc_se", "power_low", "power_high",
                            "power_analytical"]],
                     caption=f"Simulated power of the Δ protection test (full table: {file}).")
