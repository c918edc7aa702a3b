"""Experiment kind ``invivo``: xenograft enrolment, randomisation, dosing, engraftment,
survival and the power of the design.

Study file::

    [[experiment]]
    name = "hl60_xenograft"
    kind = "invivo"
    animals = "data/animals.csv"        # animal, covariates, [cohort], [injected], [withdrawn]
    day1 = 2017-03-06                   # date of day 1 (first treatment day), for dates

    [experiment.enrol]                  # graft > 1 % in the contralateral marrow
    column = "graft_pct"
    above = 1

    [experiment.randomise]
    arms = ["vehicle", "LEN", "AI", "AI+LEN"]
    balance = ["graft_pct", "weight_g"]
    strata = ["cohort"]
    method = "minimisation"             # or "stratified", "simple"
    seed = 2018
    # assignment = "data/arms.csv"      # use an existing assignment instead

    [experiment.drugs.cytarabine]
    stock_mg_per_ml = 20
    safe_mg_per_kg = [0, 100]

    [[experiment.dose]]
    arms = ["AI", "AI+LEN"]
    drug = "cytarabine"
    dose_mg_per_kg = 30
    route = "i.v."
    days = "1-3"
    volume_ul_per_g = 5

    [experiment.weights]
    data = "data/weights.csv"           # animal, day or date, weight_g
    humane_endpoint_pct = 20

    [experiment.engraftment]
    data = "data/engraftment.csv"       # animal, tissue, human_pct
    mobilisation = [["contralateral marrow", "injected tibia"]]

    [experiment.survival]
    data = "data/events.csv"            # animal, day or date, event (1 = death/endpoint)

    [experiment.power]
    tissue = "contralateral marrow"
    fold = 0.5                          # mice per arm to detect a halving
    hr = 0.4

The analysis is :mod:`preclin.invivo`; every test and figure goes through
:mod:`preclin.stats`.
"""

from __future__ import annotations

import datetime as _dt
from pathlib import Path
from typing import Any, Literal

import pandas as pd
from pydantic import Field, field_validator

from .base import ExperimentKind, ExperimentSettings, KindOutput, ReportContext, RunContext
from .base import StrictModel as _Strict

__all__ = ["InvivoKind", "InvivoExperimentSpec", "INVIVO_TABLES", "dosing_for_study",
           "write_invivo_study_section"]

#: tables an invivo experiment may write and what one row is
INVIVO_TABLES = {
    "not_enrolled": "one row per animal not enrolled, with the reason",
    "randomisation": "one row per enrolled animal: its arm, the balance covariates and the "
    "processing order",
    "balance": "one row per covariate × arm: mean, SD, range and the test of imbalance",
    "dosing": "one row per animal × day × drug: weight used, dose (mg), volume (µL), "
    "stock and diluent",
    "preparation": "one row per day × drug × route × working concentration: total dose and "
    "volume, with overage, stock and diluent to prepare",
    "doses_not_given": "one row per scheduled dose not given (death or endpoint before it)",
    "weights": "one row per weighing: weight and change from baseline (%)",
    "weight_alerts": "one row per weighing with a weight loss at or above the warning or "
    "humane-endpoint threshold",
    "engraftment": "one row per animal × tissue: % human cells",
    "engraftment_summary": "one row per tissue × arm: n, mean, SD, SEM, median, geometric "
    "mean and fold vs control",
    "engraftment_tests": "one row per tissue × arm vs control: two-group test, "
    "Holm-Šídák-adjusted p, stars",
    "mobilisation": "one row per animal × tissue pair: ratio of % human cells",
    "mobilisation_tests": "one row per tissue pair × arm vs control: test on log ratios",
    "survival": "one row per arm: n, events, median survival with CI, log-rank p and "
    "hazard ratio vs control",
    "survival_km": "one row per arm × distinct day: Kaplan-Meier estimate with 95% CI",
    "power": "one row per question: mice per arm and power for the design",
    "excluded": "every animal or record left out, with the reason",
}


class EnrolSpec(_Strict):
    """``[experiment.enrol]``: the enrolment rule (:class:`preclin.invivo.EnrolmentRule`)."""

    column: str | None = None
    above: float | None = None
    at_least: float | None = None
    day: int | None = None
    withdrawn: str = "withdrawn"


class RandomiseSpec(_Strict):
    """``[experiment.randomise]``: arms and how animals are assigned to them."""

    arms: list[str] = Field(min_length=2)
    balance: list[str] = Field(default_factory=list)
    strata: list[str] = Field(default_factory=list)
    method: Literal["minimisation", "stratified", "simple"] = "minimisation"
    seed: int = 0
    levels: int = Field(default=3, ge=1, le=10)
    p_best: float = Field(default=0.8, gt=0, le=1)
    assignment: str | None = None


class DrugSpec(_Strict):
    """``[experiment.drugs.<name>]``: stock concentration and declared safe range."""

    stock_mg_per_ml: float | None = Field(default=None, gt=0)
    safe_mg_per_kg: tuple[float, float] | None = None


class DoseSpec(_Strict):
    """``[[experiment.dose]]``: one line of the schedule."""

    arms: list[str] = Field(min_length=1)
    drug: str
    dose_mg_per_kg: float
    route: str
    days: str | int | list[int | str]
    volume_ul_per_g: float | None = None


class WeightsSpec(_Strict):
    """``[experiment.weights]``: weighings and the dosing rules."""

    data: str
    humane_endpoint_pct: float = Field(default=20.0, gt=0, lt=100)
    warn_pct: float | None = Field(default=15.0, gt=0, lt=100)
    max_age_days: int = Field(default=3, ge=0)
    overage_pct: float = Field(default=10.0, ge=0)


class EngraftmentSpec(_Strict):
    """``[experiment.engraftment]``: % human cells by tissue."""

    data: str
    tissue: str = "tissue"
    value: str = "human_pct"
    tissues: list[str] | None = None
    control: str | None = None
    test: Literal["welch", "student", "mannwhitney"] = "welch"
    log: bool = True
    mobilisation: list[tuple[str, str]] = Field(default_factory=list)
    mobilisation_figure: bool = False


class SurvivalSpec(_Strict):
    """``[experiment.survival]``: death/endpoint records with censoring."""

    data: str
    event: str = "event"
    control: str | None = None


class PowerSpec(_Strict):
    """``[experiment.power]``: mice per arm for this design."""

    tissue: str
    fold: float = Field(default=0.5, gt=0)
    n: list[int] = Field(default_factory=lambda: [4, 6, 8, 10], min_length=1)
    power: float = Field(default=0.8, gt=0, lt=1)
    alpha: float = Field(default=0.05, gt=0, lt=1)
    sd_log10: float | None = Field(default=None, gt=0)
    hr: float | None = Field(default=None, gt=0)
    p_event: float = Field(default=1.0, gt=0, le=1)
    n_sim: int = Field(default=0, ge=0, le=100_000)
    seed: int = 0

    @field_validator("n")
    @classmethod
    def _at_least_two(cls, v: list[int]) -> list[int]:
        if any(k < 2 for k in v):
            raise ValueError("every n (mice per arm) must be at least 2")
        return v


class InvivoExperimentSpec(ExperimentSettings):
    """An in vivo (xenograft) experiment."""

    kind: Literal["invivo"]
    animals: str
    animal: str = "animal"
    day1: _dt.date | None = None
    injected: str = "injected"
    enrol: EnrolSpec = EnrolSpec()
    randomise: RandomiseSpec
    drugs: dict[str, DrugSpec] = Field(default_factory=dict)
    dose: list[DoseSpec] = Field(default_factory=list)
    weights: WeightsSpec | None = None
    engraftment: EngraftmentSpec | None = None
    survival: SurvivalSpec | None = None
    power: PowerSpec | None = None


# ------------------------------------------------------------------------------ steps
def _schedule(spec: InvivoExperimentSpec) -> Any:
    from ...invivo import Administration, Drug, Schedule, parse_days

    w = spec.weights
    adms = tuple(Administration(arms=tuple(d.arms), drug=d.drug,
                                dose_mg_per_kg=d.dose_mg_per_kg, route=d.route,
                                days=parse_days(d.days), volume_ul_per_g=d.volume_ul_per_g,
                                label=f"key 'dose[{j + 1}]' of experiment '{spec.name}'")
                 for j, d in enumerate(spec.dose))
    drugs = {k: Drug(name=k, stock_mg_per_ml=v.stock_mg_per_ml,
                     safe_mg_per_kg=v.safe_mg_per_kg) for k, v in spec.drugs.items()}
    if w is None:
        return Schedule(administrations=adms, drugs=drugs)
    return Schedule(administrations=adms, drugs=drugs, overage_pct=w.overage_pct,
                    max_weight_age=w.max_age_days, humane_endpoint_pct=w.humane_endpoint_pct,
                    warn_pct=w.warn_pct)


def _read_animals(spec: InvivoExperimentSpec, path: Path) -> pd.DataFrame:
    from ...invivo import read_animals
    from ...tables import read_table

    numeric = list(dict.fromkeys([*spec.randomise.balance,
                                  *([spec.enrol.column] if spec.enrol.column else [])]))
    table = read_table(path, keys=[spec.animal])
    out = read_animals(table, file=path, animal=spec.animal, numeric=numeric,
                       day1=spec.day1, injected=spec.injected)
    out["row"] = range(len(out))
    return out


def _enrol_and_assign(spec: InvivoExperimentSpec, animals: pd.DataFrame, path: Path,
                      ctx_resolve: Any) -> tuple[Any, Any, pd.DataFrame, list[Path]]:
    """Enrolment, then the randomisation (or the declared assignment)."""
    from ...invivo import EnrolmentRule, enrol, randomise, read_assignment
    from ...tables import read_table

    e = spec.enrol
    rule = EnrolmentRule(column=e.column, above=e.above, at_least=e.at_least, day=e.day,
                         withdrawn=e.withdrawn)
    enrolment = enrol(animals, rule, file=str(path))
    r = spec.randomise
    used: list[Path] = []
    if r.assignment is not None:
        apath = ctx_resolve(r.assignment)
        used.append(apath)
        assigned = read_assignment(read_table(apath, keys=["animal", "arm"]), file=apath,
                                   arms=r.arms)
        table = assigned.merge(enrolment.enrolled.drop(columns=["row"], errors="ignore"),
                               on="animal", how="left", suffixes=("", "_animals"))
        return enrolment, None, table, used
    rnd = randomise(enrolment.enrolled, arms=r.arms, balance=r.balance, strata=r.strata,
                    method=r.method, seed=r.seed, levels=r.levels, p_best=r.p_best, file=path)
    return enrolment, rnd, rnd.table, used


def _read_weights(spec: InvivoExperimentSpec, path: Path) -> pd.DataFrame:
    from ...invivo import read_weights
    from ...tables import read_table

    return read_weights(read_table(path, keys=[spec.animal]), file=path, animal=spec.animal,
                        day1=spec.day1)


def _read_events(spec: InvivoExperimentSpec, path: Path) -> pd.DataFrame:
    from ...invivo import read_events
    from ...tables import read_table

    assert spec.survival is not None
    return read_events(read_table(path, keys=[spec.animal]), file=path, animal=spec.animal,
                       event=spec.survival.event, day1=spec.day1)


def _ended(events: pd.DataFrame | None) -> dict[str, int]:
    if events is None:
        return {}
    ev = events[events["event"] == 1]
    return dict(zip(ev["animal"].astype(str), ev["day"].astype(int), strict=True))


def dosing_for_study(study_file: str | Path, *, weights: str | Path | None = None,
                     experiment: str | None = None) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The dosing sheet and preparation table of an invivo experiment of a study file.

    Parameters
    ----------
    study_file
        The study file.
    weights
        Weights table (default: the experiment's ``[experiment.weights] data``).
    experiment
        Name of the invivo experiment (needed when the study has several).

    Returns
    -------
    (pandas.DataFrame, pandas.DataFrame)
        :data:`preclin.invivo.schedule.DOSING_COLUMNS` and
        :data:`~preclin.invivo.schedule.PREPARATION_COLUMNS`.
    """
    from ...errors import StudyError
    from ...invivo import check_chronology, check_schedule, dosing_sheet, preparation
    from ..model import load_study_file

    sf = Path(study_file)
    study = load_study_file(sf)
    specs = [e for e in study.experiment if e.kind == "invivo"]
    if experiment is not None:
        specs = [e for e in specs if e.name == experiment]
    if len(specs) != 1:
        names = ", ".join(e.name for e in study.experiment if e.kind == "invivo") or "none"
        raise StudyError(f"name one invivo experiment with --experiment (invivo experiments: "
                         f"{names})", file=sf)
    spec = specs[0]
    assert isinstance(spec, InvivoExperimentSpec)
    ctx = RunContext(base=sf.parent, out=sf.parent, experiment=spec.name, study_file=sf)
    apath = ctx.resolve_one(spec.animals)
    animals = _read_animals(spec, apath)
    _, _, assigned, _ = _enrol_and_assign(spec, animals, apath, ctx.resolve_one)
    schedule = _schedule(spec)
    check_schedule(schedule, arms=spec.randomise.arms, file=sf)
    if weights is None:
        if spec.weights is None:
            raise StudyError(f"experiment '{spec.name}' declares no [experiment.weights]; "
                             "give --weights", file=sf)
        wpath = ctx.resolve_one(spec.weights.data)
    else:
        wpath = Path(weights)
    w = _read_weights(spec, wpath)
    events = None
    if spec.survival is not None:
        epath = ctx.resolve_one(spec.survival.data)
        events = _read_events(spec, epath)
    check_chronology(animals=animals, weights=w, events=events,
                     files={"animals": apath, "weights": wpath})
    sheet, _ = dosing_sheet(assigned, w, schedule, ended=_ended(events),
                            arms=spec.randomise.arms, file=wpath)
    return sheet, preparation(sheet, schedule)


# ------------------------------------------------------------------------------- kind
class InvivoKind(ExperimentKind[InvivoExperimentSpec]):
    """Xenografts: enrolment → randomisation → dosing → engraftment → survival → power."""

    name = "invivo"
    summary = "xenografts: enrolment, randomisation, weight-based dosing, engraftment, survival"
    settings = InvivoExperimentSpec
    tables = INVIVO_TABLES

    def run(self, spec: InvivoExperimentSpec, ctx: RunContext) -> KindOutput:
        """Read the tables → enrol → randomise → dose → engraftment → survival → power."""
        from ...invivo import (
            check_chronology,
            check_schedule,
            dosing_sheet,
            preparation,
            weight_alerts,
        )

        apath = ctx.resolve_one(spec.animals)
        inputs: list[Path] = [apath]
        tables: dict[str, pd.DataFrame] = {}
        figures = []
        warnings: list[str] = []
        excluded: list[pd.DataFrame] = []
        with ctx.step("enrolment and randomisation"):
            animals = _read_animals(spec, apath)
            enrolment, rnd, assigned, used = _enrol_and_assign(spec, animals, apath,
                                                               ctx.resolve_one)
            inputs += used
            ne = enrolment.not_enrolled.drop(columns=["row"], errors="ignore")
            tables["not_enrolled"] = ne
            excluded.append(ne[["animal", "reason"]].assign(stage="enrolment"))
            if rnd is not None:
                tables["randomisation"] = rnd.table
                tables["balance"] = rnd.balance
            else:
                tables["randomisation"] = assigned
        schedule = _schedule(spec)
        check_schedule(schedule, arms=spec.randomise.arms, file=ctx.study_file)
        weights = events = None
        if spec.weights is not None:
            wpath = ctx.resolve_one(spec.weights.data)
            inputs.append(wpath)
            weights = _read_weights(spec, wpath)
        if spec.survival is not None:
            epath = ctx.resolve_one(spec.survival.data)
            inputs.append(epath)
            events = _read_events(spec, epath)
        check_chronology(animals=animals, weights=weights, events=events,
                         files={"animals": apath,
                                "weights": wpath if weights is not None else None,
                                "events": epath if events is not None else None})
        if weights is not None:
            with ctx.step("dosing sheets and weight alerts"):
                if schedule.administrations:
                    sheet, skipped = dosing_sheet(assigned, weights, schedule,
                                                  ended=_ended(events),
                                                  arms=spec.randomise.arms, file=wpath)
                    tables["dosing"] = sheet
                    tables["preparation"] = preparation(sheet, schedule)
                    if len(skipped):
                        tables["doses_not_given"] = skipped
                course, alerts = weight_alerts(weights, assigned, schedule)
                tables["weights"] = course
                tables["weight_alerts"] = alerts
                warnings += _alert_warnings(spec.name, alerts, schedule.humane_endpoint_pct)
                figures.append(ctx.save_figure(_weights_figure(course, spec, schedule),
                                               "weights", role="weights", caption=(
                    "Body weight change from baseline (last weight on or before day 1) of "
                    "every animal, coloured by arm; grey: treatment days; dashed red line: "
                    f"humane endpoint (−{schedule.humane_endpoint_pct:g} %).")))
        eng = None
        if spec.engraftment is not None:
            with ctx.step("engraftment"):
                eng, gpath, fig_eng = self._engraftment(spec, ctx, assigned)
                inputs.append(gpath)
                figures += fig_eng
                tables["engraftment"] = eng.data
                tables["engraftment_summary"] = eng.summary
                tables["engraftment_tests"] = eng.comparisons
                if len(eng.mobilisation):
                    tables["mobilisation"] = eng.mobilisation
                    tables["mobilisation_tests"] = eng.mobilisation_comparisons
                if len(eng.excluded):
                    excluded.append(eng.excluded[["animal", "reason"]]
                                    .assign(stage="engraftment"))
        surv = None
        if spec.survival is not None and events is not None:
            with ctx.step("survival"):
                surv = _survival(spec, events, assigned, epath)
                tables["survival"] = surv.arms
                tables["survival_km"] = surv.km
                figures.append(ctx.save_figure(_km_figure(surv, spec), "survival",
                                               role="survival", caption=(
                    "Kaplan-Meier survival per arm (ticks: censored — planned sacrifice or "
                    "end of study); p: log-rank test over all arms.")))
                if len(surv.excluded):
                    excluded.append(surv.excluded[["animal", "reason"]]
                                    .assign(stage="survival"))
        if spec.power is not None:
            with ctx.step("power of the design"):
                tables["power"] = _power(spec.power, eng)
        excl = (pd.concat(excluded, ignore_index=True) if excluded
                else pd.DataFrame({"animal": [], "reason": [], "stage": []}))
        excl = excl[["animal", "stage", "reason"]]
        tables["excluded"] = excl
        overview: dict[str, Any] = {
            "animals": len(animals), "enrolled": len(enrolment.enrolled),
            "arms": len(spec.randomise.arms)}
        if "dosing" in tables:
            overview["doses"] = len(tables["dosing"])
        if "weight_alerts" in tables:
            overview["weight alerts"] = len(tables["weight_alerts"])
        return self.output(spec, tables=tables, figures=tuple(figures), warnings=warnings,
                           inputs=tuple(inputs), excluded=excl, overview=overview,
                           result={"enrolment": enrolment, "randomisation": rnd,
                                   "schedule": schedule, "engraftment": eng,
                                   "survival": surv})

    def _engraftment(self, spec: InvivoExperimentSpec, ctx: RunContext,
                     assigned: pd.DataFrame) -> tuple[Any, Path, list[Any]]:
        from ...invivo import engraftment, read_engraftment
        from ...invivo.plot import plot_engraftment
        from ...tables import read_table

        es = spec.engraftment
        assert es is not None
        gpath = ctx.resolve_one(es.data)
        data = read_engraftment(read_table(gpath, keys=[spec.animal, es.tissue]), file=gpath,
                                animal=spec.animal, tissue=es.tissue, value=es.value)
        eng = engraftment(data, assigned, arms=spec.randomise.arms, tissues=es.tissues,
                          control=es.control,
                          test=es.test, log=es.log, mobilisation=es.mobilisation,
                          file=str(gpath))
        scale = "log10 values" if es.log else "values"
        figs = [ctx.save_figure(plot_engraftment(eng), "engraftment", role="engraftment",
                                caption=(
            f"% human cells by tissue and arm: each mouse, mean ± SD; brackets: {es.test} "
            f"test on {scale} of each arm vs {eng.control}, Holm-Šídák-adjusted within a "
            "tissue (ns, * ≤ 0.05, ** ≤ 0.01, *** ≤ 0.001, **** ≤ 0.0001)."))]
        if len(eng.mobilisation) and es.mobilisation_figure:
            figs.append(ctx.save_figure(plot_engraftment(eng, mobilisation=True),
                                        "mobilisation", role="mobilisation", caption=(
                "Mobilisation: per-mouse ratio of % human cells between tissues (log "
                f"scale); brackets: {es.test} test on log ratios vs {eng.control}.")))
        return eng, gpath, figs

    def report_section(self, output: KindOutput, report: Any, ctx: ReportContext) -> None:
        """Enrolment, randomisation and balance, schedule and dosing, weights, engraftment,
        survival and power, each with its sentences, figure and tables."""
        write_invivo_study_section(output, report, ctx)

    def example(self, directory: Path) -> Path:
        """A simulated HL-60 xenograft experiment (SIMULATED data)."""
        from ...invivo.simulate import write_xenograft_example

        root = Path(directory)
        write_xenograft_example(root / "data", seed=2018)
        study = root / "study.toml"
        study.write_text('# preclin: example of the "invivo" kind (SIMULATED data)\n'
                         '[study]\ntitle = "Example: HL-60 xenografts, AraC + idarubicin ± '
                         'lenalidomide"\nsimulated = true\n\n'
                         + example_experiment_toml(), encoding="utf-8")
        return study


def example_experiment_toml(name: str = "hl60_xenograft", data: str = "data") -> str:
    """The ``[[experiment]]`` block of the bundled xenograft example (files in ``data``)."""
    return f'''[[experiment]]
name = "{name}"
title = "HL-60 xenografts in NSG mice: AraC + idarubicin ± lenalidomide (SIMULATED)"
kind = "invivo"
animals = "{data}/animals.csv"
day1 = 2017-03-06

[experiment.enrol]            # graft > 1 % in the contralateral marrow (day -1 aspirate)
column = "graft_pct"
above = 1

[experiment.randomise]
arms = ["vehicle", "LEN", "AI", "AI+LEN"]
balance = ["graft_pct", "weight_g"]
strata = ["cohort"]
method = "minimisation"
seed = 2018

[experiment.drugs.cytarabine]
stock_mg_per_ml = 20
safe_mg_per_kg = [0, 100]

[experiment.drugs.idarubicin]
stock_mg_per_ml = 1
safe_mg_per_kg = [0, 1]

[experiment.drugs.lenalidomide]
stock_mg_per_ml = 5
safe_mg_per_kg = [0, 50]

[[experiment.dose]]
arms = ["vehicle"]
drug = "vehicle (saline)"
dose_mg_per_kg = 0
route = "i.p."
days = "1-10"
volume_ul_per_g = 10

[[experiment.dose]]
arms = ["LEN"]
drug = "lenalidomide"
dose_mg_per_kg = 25
route = "i.p."
days = "1-10"
volume_ul_per_g = 10

[[experiment.dose]]           # "5+3": AraC + Ida i.v. days 1-3, AraC i.p. days 4-5
arms = ["AI"]
drug = "cytarabine"
dose_mg_per_kg = 30
route = "i.v."
days = "1-3"
volume_ul_per_g = 5

[[experiment.dose]]
arms = ["AI"]
drug = "idarubicin"
dose_mg_per_kg = 0.1
route = "i.v."
days = "1-3"
volume_ul_per_g = 5

[[experiment.dose]]
arms = ["AI"]
drug = "cytarabine"
dose_mg_per_kg = 30
route = "i.p."
days = "4-5"
volume_ul_per_g = 10

[[experiment.dose]]           # combined: LEN alone days 1-3 and 9-10, with A+I days 4-8
arms = ["AI+LEN"]
drug = "lenalidomide"
dose_mg_per_kg = 25
route = "i.p."
days = "1-3, 9-10"
volume_ul_per_g = 10

[[experiment.dose]]
arms = ["AI+LEN"]
drug = "cytarabine"
dose_mg_per_kg = 30
route = "i.v."
days = "4-6"
volume_ul_per_g = 5

[[experiment.dose]]
arms = ["AI+LEN"]
drug = "idarubicin"
dose_mg_per_kg = 0.1
route = "i.v."
days = "4-6"
volume_ul_per_g = 5

[[experiment.dose]]
arms = ["AI+LEN"]
drug = "cytarabine"
dose_mg_per_kg = 30
route = "i.p."
days = "7-8"
volume_ul_per_g = 10

[experiment.weights]
data = "{data}/weights.csv"
humane_endpoint_pct = 20
warn_pct = 15
max_age_days = 3
overage_pct = 20

[experiment.engraftment]      # % human HLA-ABC+ CD45+ CD33+ cells, day 15
data = "{data}/engraftment.csv"
tissues = ["injected tibia", "contralateral marrow", "spleen", "blood"]
control = "vehicle"
test = "welch"
log = true
mobilisation = [["contralateral marrow", "injected tibia"], ["blood", "injected tibia"]]

[experiment.survival]
data = "{data}/events.csv"
control = "vehicle"

[experiment.power]            # mice per arm to detect a halving of marrow engraftment
tissue = "contralateral marrow"
fold = 0.5
n = [4, 6, 8, 10]
power = 0.8
hr = 0.4
p_event = 0.9
n_sim = 200
seed = 2018
'''


# ---------------------------------------------------------------------- helpers
def _alert_warnings(name: str, alerts: pd.DataFrame, endpoint: float) -> list[str]:
    out = []
    hit = alerts[alerts["level"] == "humane endpoint"].drop_duplicates("animal")
    for r in hit.itertuples(index=False):
        out.append(f"{name}: animal {r.animal} ({r.arm}) lost {r.loss_pct:.1f} % of its "
                   f"baseline weight by day {r.day} (humane endpoint {endpoint:g} %)")
    return out


def _weights_figure(course: pd.DataFrame, spec: InvivoExperimentSpec, schedule: Any) -> Any:
    from ...invivo.plot import plot_weights

    return plot_weights(course, arms=spec.randomise.arms,
                        endpoint_pct=schedule.humane_endpoint_pct,
                        treatment_days=schedule.days)


def _survival(spec: InvivoExperimentSpec, events: pd.DataFrame, assigned: pd.DataFrame,
              path: Path) -> Any:
    from ...invivo import survival

    assert spec.survival is not None
    return survival(events, assigned, arms=spec.randomise.arms,
                    control=spec.survival.control, file=str(path))


def _km_figure(surv: Any, spec: InvivoExperimentSpec) -> Any:
    from ...invivo.plot import plot_survival

    return plot_survival(surv, arms=spec.randomise.arms)


def _power(ps: PowerSpec, eng: Any) -> pd.DataFrame:
    from ...errors import StudyError
    from ...invivo import design_power, pooled_sd_log10

    if ps.sd_log10 is not None:
        sd, source = ps.sd_log10, "stated"
    else:
        if eng is None:
            raise StudyError("power: give sd_log10, or an [experiment.engraftment] table to "
                             "estimate it from")
        sub = eng.data[eng.data["tissue"] == ps.tissue]
        if not len(sub):
            raise StudyError(f"power: tissue '{ps.tissue}' is not in the engraftment table "
                             f"({', '.join(eng.tissues)})")
        sd = pooled_sd_log10(sub)
        source = "pooled within-arm SD of this experiment"
    return design_power(tissue=ps.tissue, sd_log10=sd, fold=ps.fold, n=ps.n, power=ps.power,
                        alpha=ps.alpha, hr=ps.hr, p_event=ps.p_event, n_sim=ps.n_sim,
                        seed=ps.seed, source=source)


def _fmt_p(p: float) -> str:
    from ...stats import format_p

    return format_p(p)


def write_invivo_study_section(output: KindOutput, report: Any, ctx: ReportContext) -> None:
    """The report section of an invivo experiment (see :meth:`InvivoKind.report_section`)."""
    spec = output.spec
    assert isinstance(spec, InvivoExperimentSpec)
    res: dict[str, Any] = output.result  # type: ignore[assignment]
    enrolment, rnd = res["enrolment"], res["randomisation"]
    n_in, n_out = len(enrolment.enrolled), len(enrolment.not_enrolled)
    report.add_section(spec.title or output.name)
    report.add_text(
        f"{n_in + n_out} animals; {n_in} enrolled ({enrolment.rule.describe()}), {n_out} "
        "not enrolled (table below, with the reason).")

    def table(key: str, caption: str, **kw: Any) -> None:
        if key in output.tables:
            report.add_table(output.table(key), caption=f"{caption} "
                             f"({ctx.table_file(output, key)})", **kw)

    table("not_enrolled", "Animals not enrolled.", highlight="reason")
    report.add_section("Randomisation", level=3)
    if rnd is not None:
        from ...invivo.randomise import METHODS

        sizes = rnd.table["arm"].value_counts().reindex(list(rnd.arms))
        report.add_text(
            f"{METHODS[rnd.method][:1].upper()}{METHODS[rnd.method][1:]} (seed {rnd.seed}) on "
            f"{', '.join(rnd.covariates) or 'no covariate'}"
            + (f" and {', '.join(rnd.strata)}" if rnd.strata else "")
            + ": " + ", ".join(f"{a} {int(n)}" for a, n in sizes.items())
            + " animals. Every enrolled animal is in exactly one arm. The balance table "
            "gives each arm's mean, SD and range, the one-way ANOVA F test of a difference "
            "between arms (expected to be non-significant after randomisation) and the "
            "largest difference of two arm means in SDs (max_smd).")
        table("balance", "Balance of the arms.")
    else:
        report.add_text("Arms from the declared assignment file.")
    table("randomisation", "Assignment of the animals.", max_rows=60)
    if "dosing" in output.tables:
        report.add_section("Schedule and dosing", level=3)
        sched = res["schedule"]
        lines = pd.DataFrame([{"arms": ", ".join(a.arms), "drug": a.drug,
                               "dose_mg_per_kg": a.dose_mg_per_kg, "route": a.route,
                               "days": _days_text(a.days),
                               "volume_ul_per_g": a.volume_ul_per_g}
                              for a in sched.administrations])
        report.add_table(lines, caption="Declared schedule (day 1 = first treatment day).")
        report.add_text(
            "Doses are recalculated from each animal's latest weight on or before the day "
            f"(at most {sched.max_weight_age} days old): dose (mg) = mg/kg × g / 1000, volume "
            "(µL) = µL/g × g; the preparation table sums each day's doses per drug, route "
            f"and working concentration and adds {sched.overage_pct:g} % overage.")
        sheet = output.table("dosing")
        day_one = int(sheet["day"].min()) if len(sheet) else 1
        table("preparation", "What to prepare each day.", max_rows=80)
        report.add_table(sheet[sheet["day"] == day_one],
                         caption=f"Dosing sheet of day {day_one} (all days: "
                         f"{ctx.table_file(output, 'dosing')}).", highlight="alert")
    for fig in output.figures_with_role("weights"):
        report.add_section("Body weight", level=3)
        report.add_figure(fig.path, caption=fig.caption, name=f"{output.name}-weights")
        alerts = output.table("weight_alerts") if "weight_alerts" in output.tables else None
        if alerts is not None and len(alerts):
            table("weight_alerts", "Weight-loss alerts.", highlight="level")
        else:
            report.add_text("No weight-loss alert.")
    eng = res["engraftment"]
    if eng is not None:
        report.add_section("Engraftment by tissue", level=3)
        comp = eng.comparisons
        parts = []
        for r in comp.itertuples(index=False):
            what = _fold_text(str(r.group2), str(r.group1), float(r.effect), eng.log)
            parts.append(f"{r.tissue}: {what} (p = {_fmt_p(float(r.p_adj))} {r.stars})")
        if parts:
            report.add_text("; ".join(parts) + ".")
        for role in ("engraftment", "mobilisation"):
            for fig in output.figures_with_role(role):
                report.add_figure(fig.path, caption=fig.caption,
                                  name=f"{output.name}-{role}")
        table("engraftment_summary", "Engraftment per tissue and arm.")
        table("engraftment_tests", "Each arm vs control per tissue.")
        table("mobilisation_tests", "Mobilisation ratios, each arm vs control.")
    surv = res["survival"]
    if surv is not None:
        report.add_section("Survival", level=3)
        a = surv.arms
        med = "; ".join(f"{r.arm}: median {_median_text(r.median)} ({r.events}/{r.n} "
                        "events)" for r in a.itertuples(index=False))
        p_all = a["p_logrank_all"].iloc[0] if len(a) else float("nan")
        report.add_text(f"{med}. Log-rank test over all arms: p = {_fmt_p(p_all)}. Animals "
                        "sacrificed as planned or alive at the end are censored.")
        for fig in output.figures_with_role("survival"):
            report.add_figure(fig.path, caption=fig.caption, name=f"{output.name}-survival")
        table("survival", "Survival per arm (hazard ratios vs control).")
    if "power" in output.tables:
        pw = output.table("power")
        report.add_section("How many mice? Power of this design", level=3)
        first: dict[Any, Any] = pw.to_dict("records")[0]
        text = (f"To detect a {first['effect']} of % human cells in the {first['endpoint']} "
                f"(two-sided α = {first['alpha']:g}, SD of log10 values "
                f"{first['sd_log10']:.3f}, {first['source']}) with "
                f"{first['question'].split(' for ')[-1]}: {int(first['n_per_arm'])} mice per "
                f"arm (exact {first['n_exact']:.2f}; power {100 * first['power']:.1f} %).")
        if not pd.isna(first["power_simulated"]):
            text += (f" Simulating the Welch test at that n gives "
                     f"{100 * first['power_simulated']:.0f} % (Monte Carlo SE "
                     f"{100 * first['mc_se']:.1f} %).")
        srv = pw[pw["endpoint"] == "survival"]
        if len(srv):
            s0 = srv.iloc[0]
            text += (f" Survival, {s0['effect']}: {int(s0['n_per_arm'])} mice per arm for "
                     f"the log-rank test (Schoenfeld).")
        report.add_text(text)
        table("power", "Power of the design.")


def _days_text(days: tuple[int, ...]) -> str:
    runs: list[str] = []
    start = prev = days[0]
    for d in [*days[1:], None]:
        if d is not None and d == prev + 1:
            prev = d
            continue
        runs.append(f"{start}" if start == prev else f"{start}–{prev}")
        if d is not None:
            start = prev = d
    return ", ".join(runs)


def _fold_text(arm: str, control: str, effect: float, log: bool) -> str:
    """``effect`` is control vs arm (ratio of geometric means with log, else difference)."""
    if log:
        return f"{arm} at {1.0 / effect:.2f}× {control}" if effect else f"{arm} vs {control}"
    return f"{arm} {-effect:+.2f} points vs {control}"


def _median_text(m: float) -> str:
    return "not reached" if pd.isna(m) else f"{m:g} days"
