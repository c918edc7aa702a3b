"""Experiment kind ``flow``: FCS files + a gate file → population statistics, bench readouts,
group comparisons and gating figures.

Study file::

    [[experiment]]
    name = "aml_flow"
    kind = "flow"
    files = ["flow/fcs/*.fcs"]          # FCS files (globs), relative to the study file
    samples = "flow/samples.csv"        # sample metadata: a `file` column (file names)
    gates = "flow/gates.toml"           # preclin template (.toml), FlowJo (.wsp) or
                                        # Gating-ML 2.0 / FACSDiva (.xml)
    compensation = "auto"               # "auto" (as the gate file says), "none" or a
                                        # matrix file
    stats = ["median:CD33"]             # extra per-population statistics

    [experiment.apoptosis]              # annexin-V × 7-AAD quadrants under a population,
    parent = "Blasts"                   # found by their markers (or give live, early,
    annexin = "Annexin V"               # late, necrotic paths)
    dye = "7-AAD"

    [[experiment.mfi]]                  # MFI of a marker in a gate, raw and relative to
    marker = "CD184"                    # the control samples of the same donor/culture
    population = "Blasts"
    control = { treatment = "vehicle" }
    match = ["donor", "culture"]

    [[experiment.compare]]              # group comparisons through preclin.stats
    statistic = "percent_apoptotic"
    group = "treatment"
    within = ["culture"]
    pair = "donor"

    [experiment.figures]
    representative = ["AML1_alone_vehicle.fcs"]   # gating plots of these files
    backgate = ["Blasts"]
    overlay_by = "treatment"                      # MFI histograms, one line per level

Populations are named by path (``/Cells/Blasts``) or by name when it is unique
(``Blasts``). Chimerism (``[experiment.chimerism] human, mouse``) and lineage composition
(``[experiment.composition] populations, parent``) are read the same way. Definitions:
``docs/methods/flow.md``.
"""

from __future__ import annotations

import difflib
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

import numpy as np
import pandas as pd
from pydantic import Field, field_validator, model_validator

from ...errors import StudyError
from .base import ExperimentKind, ExperimentSettings, KindOutput, ReportContext, RunContext
from .base import StrictModel as _Strict

if TYPE_CHECKING:
    from ...flow.gates import GatingStrategy
    from ...flow.io import Sample

__all__ = ["FlowKind", "FlowExperimentSpec", "FlowApoptosisSpec", "FlowMFISpec",
           "FlowChimerismSpec", "FlowCompositionSpec", "FlowCompareSpec", "FlowFiguresSpec",
           "FLOW_TABLES"]

#: tables a flow experiment writes and what one row is
FLOW_TABLES = {
    "files": "one row per FCS file analysed: sample metadata, events, FCS version",
    "populations": "one row per file × population × statistic: count, parent_count, "
    "percent_parent, percent_total and requested marker statistics (long table)",
    "readouts": "one row per file × readout statistic: apoptosis quadrants (%), MFI "
    "(raw and relative to control), chimerism, lineage composition, with sample metadata",
    "compare": "one row per comparison of two groups of a readout statistic (`measure`, "
    "within each stratum): test, p, adjusted p, stars, effect with 95% CI",
    "excluded": "FCS files or sample-table rows left out, with the reason",
}
_RESERVED = ("readout", "population", "statistic", "value")


# ----------------------------------------------------------------------------- settings
class FlowApoptosisSpec(_Strict):
    """``[experiment.apoptosis]``: annexin-V / viability-dye quadrants.

    Give ``parent`` (the population the quadrant gate splits) with the two markers, or
    the four quadrant populations ``live``, ``early``, ``late``, ``necrotic``.
    """

    parent: str | None = None
    annexin: str = "Annexin V"
    dye: str = "7-AAD"
    live: str | None = None
    early: str | None = None
    late: str | None = None
    necrotic: str | None = None

    @model_validator(mode="after")
    def _parent_or_paths(self) -> FlowApoptosisSpec:
        paths = [self.live, self.early, self.late, self.necrotic]
        if self.parent is None and any(p is None for p in paths):
            raise ValueError("give parent (with annexin and dye) or all of live, early, "
                             "late and necrotic")
        return self


class FlowMFISpec(_Strict):
    """``[[experiment.mfi]]``: a marker's MFI in a population, optionally relative to
    control samples (those whose metadata equal ``control``, sharing ``match``)."""

    marker: str
    population: str
    stat: Literal["median", "mean", "gmean"] = "median"
    control: dict[str, str | int | float] | None = None
    match: list[str] = Field(default_factory=list)
    relative: Literal["ratio", "difference"] = "ratio"


class FlowChimerismSpec(_Strict):
    """``[experiment.chimerism]``: % human of all CD45+ events."""

    human: str
    mouse: str


class FlowCompositionSpec(_Strict):
    """``[experiment.composition]``: lineages as % of ``parent`` (default: their own)."""

    populations: list[str] = Field(min_length=1)
    parent: str | None = None


class FlowCompareSpec(_Strict):
    """``[[experiment.compare]]``: one statistic compared between the levels of ``group``
    (within each level combination of ``within``) with :func:`preclin.stats.compare_table`.
    """

    statistic: str
    population: str | None = None
    group: str
    within: list[str] = Field(default_factory=list)
    control: str | None = None
    pair: str | None = None
    test: str = "auto"
    log: bool = False
    label: str | None = None


class FlowFiguresSpec(_Strict):
    """``[experiment.figures]``: which gating, back-gating and MFI figures to draw."""

    representative: list[str] = Field(default_factory=list)
    backgate: list[str] = Field(default_factory=list)
    overlay_by: str | None = None
    kind: Literal["dot", "hist"] = "dot"


class FlowExperimentSpec(ExperimentSettings):
    """FCS files and a gate file → populations, readouts, comparisons, figures."""

    kind: Literal["flow"]
    files: list[str] = Field(default_factory=list)
    samples: str | None = None
    gates: str
    compensation: str = "auto"
    group: str | None = None
    stats: list[str] = Field(default_factory=list)
    jobs: int = Field(default=1, ge=1)
    apoptosis: FlowApoptosisSpec | None = None
    mfi: list[FlowMFISpec] = Field(default_factory=list)
    chimerism: FlowChimerismSpec | None = None
    composition: FlowCompositionSpec | None = None
    compare: list[FlowCompareSpec] = Field(default_factory=list)
    figures: FlowFiguresSpec = FlowFiguresSpec()

    @field_validator("files", mode="before")
    @classmethod
    def _one_or_many(cls, v: Any) -> Any:
        return [v] if isinstance(v, str) else v

    @model_validator(mode="after")
    def _files_or_samples(self) -> FlowExperimentSpec:
        if not self.files and self.samples is None:
            raise ValueError("give files (FCS files or globs) or a samples table whose "
                             "'file' column names them")
        return self


# ------------------------------------------------------------------------------ inputs
class _Inputs:
    """FCS files (by name), their metadata and what was left out."""

    def __init__(self, files: dict[str, Path], meta: pd.DataFrame, excluded: pd.DataFrame,
                 samples: Path | None) -> None:
        self.files = files
        self.meta = meta
        self.excluded = excluded
        self.samples = samples


def _excluded_frame(rows: list[dict[str, str]]) -> pd.DataFrame:
    return pd.DataFrame(rows, columns=["file", "reason"])


def _read_inputs(spec: FlowExperimentSpec, ctx: RunContext) -> _Inputs:
    from ...tables import ALL_COLUMNS, read_table

    given: dict[str, Path] = {}
    for pattern in spec.files:
        for p in ctx.resolve(pattern):
            if p.name in given and given[p.name] != p:
                raise StudyError(f"experiment '{spec.name}': two FCS files are called "
                                 f"'{p.name}' ({given[p.name]}, {p}); file names must be "
                                 "unique")
            given[p.name] = p
    excluded: list[dict[str, str]] = []
    if spec.samples is None:
        meta = pd.DataFrame({"file": list(given)})
        return _Inputs(given, meta, _excluded_frame(excluded), None)
    table_path = ctx.resolve_one(spec.samples)
    meta = read_table(table_path, keys=ALL_COLUMNS)
    if "file" not in meta.columns:
        raise StudyError(f"the sample table has no 'file' column (it has "
                         f"{', '.join(map(str, meta.columns))})", file=table_path)
    bad = [c for c in meta.columns if c in _RESERVED]
    if bad:
        raise StudyError(f"sample-table column(s) {', '.join(bad)} are reserved for the "
                         "result tables; rename them", file=table_path)
    names = [Path(str(f).replace("\\", "/")).name for f in meta["file"]]
    dup = sorted({n for n in names if names.count(n) > 1})
    if dup:
        raise StudyError(f"the sample table lists {dup[0]!r} twice", file=table_path)
    files: dict[str, Path] = {}
    keep = []
    for i, (raw, name) in enumerate(zip(meta["file"], names, strict=True)):
        if spec.files:
            path = given.get(name)
        else:
            cands = [table_path.parent / str(raw), ctx.base / str(raw)]
            path = next((c for c in cands if c.is_file()), None)
        if path is None:
            excluded.append({"file": name, "reason": "in the sample table but no such FCS "
                             "file was given"})
            continue
        files[name] = path
        keep.append(i)
    for name in given:
        if name not in files:
            excluded.append({"file": name, "reason": "not in the sample table"})
    if not files:
        raise StudyError(f"experiment '{spec.name}': no FCS file is both given and in the "
                         "sample table", file=table_path)
    meta = meta.iloc[keep].reset_index(drop=True)
    meta["file"] = [n for i, n in enumerate(names) if i in set(keep)]
    return _Inputs(files, meta, _excluded_frame(excluded), table_path)


def _compensation(spec: FlowExperimentSpec, ctx: RunContext) -> str:
    if spec.compensation in {"auto", "none"}:
        return spec.compensation
    return str(ctx.resolve_one(spec.compensation))


# --------------------------------------------------------------------------- analysis
def _stat_requests(spec: FlowExperimentSpec) -> list[str]:
    out = list(spec.stats)
    for m in spec.mfi:
        req = f"{m.stat}:{m.marker}"
        if req not in out:
            out.append(req)
    return out


def _long_populations(stats: pd.DataFrame, meta: pd.DataFrame) -> pd.DataFrame:
    value_cols = [c for c in stats.columns if c not in ("file", "population")]
    long = stats.melt(id_vars=["file", "population"], value_vars=value_cols,
                      var_name="statistic", value_name="value")
    # rows in the order of the statistics table (file, then population), then statistic
    n_rows = len(stats)
    long["_row"] = np.tile(np.arange(n_rows), len(value_cols))
    long = long.sort_values("_row", kind="stable").drop(columns="_row")
    long["value"] = long["value"].astype("float64")
    meta_cols = [c for c in meta.columns if c != "file"]
    out = long.merge(meta, on="file", how="left", validate="many_to_one")
    return out[["file", *meta_cols, "population", "statistic", "value"]].reset_index(
        drop=True)


def _resolve_path(name: str, paths: Sequence[str], what: str, exp: str) -> str:
    """A population path of the table from a path or a unique name."""
    if name in paths:
        return name
    full = "/" + name.strip("/")
    if full in paths:
        return full
    hits = [p for p in paths if p.rsplit("/", 1)[-1] == name]
    if len(hits) == 1:
        return hits[0]
    if len(hits) > 1:
        raise StudyError(f"experiment '{exp}': {what} '{name}' is ambiguous; give its path "
                         f"({', '.join(hits)})")
    close = difflib.get_close_matches(full, list(paths), n=1)
    hint = f"; did you mean '{close[0]}'?" if close else ""
    raise StudyError(f"experiment '{exp}': {what} '{name}' is not a population of the "
                     f"gate file{hint}")


def _quadrant_paths(strategy: GatingStrategy, sample: Sample, parent_path: str,
                    annexin: str, dye: str, exp: str) -> dict[str, str]:
    """The live/early/late/necrotic quadrants under ``parent_path``, found by marker."""
    from ...errors import InputError
    from ...flow.gates import Quadrant, RectangleGate

    try:
        ia, idye = sample.channel_index(annexin), sample.channel_index(dye)
    except InputError as exc:
        raise StudyError(f"experiment '{exp}': apoptosis: {exc.problem}") from None
    parent = next((g for g in strategy.gates if strategy.path(g) == parent_path), None)
    found: dict[str, str] = {}
    for gid, p in strategy.parents.items():
        g = strategy.gates[gid]
        if p != parent or not isinstance(g, (RectangleGate, Quadrant)) or len(g.dims) != 2:
            continue
        sign: dict[int, bool] = {}
        for d, lo, hi in zip(g.dims, g.mins, g.maxs, strict=True):
            ch = getattr(d, "channel", None)
            if ch is None or (lo is None) == (hi is None):
                break
            sign[sample.channel_index(ch)] = lo is not None
        if set(sign) != {ia, idye}:
            continue
        key = {(False, False): "live", (True, False): "early", (True, True): "late",
               (False, True): "necrotic"}[(sign[ia], sign[idye])]
        found.setdefault(key, strategy.path(gid))
    missing = [k for k in ("live", "early", "late", "necrotic") if k not in found]
    if missing:
        raise StudyError(f"experiment '{exp}': apoptosis: no {'/'.join(missing)} quadrant "
                         f"of {annexin} × {dye} under '{parent_path}'; give the four "
                         "populations as live, early, late and necrotic")
    return found


def _mfi_rows(stats: pd.DataFrame, m: FlowMFISpec, path: str, meta: pd.DataFrame,
              exp: str, notes: list[str]) -> pd.DataFrame:
    from ...flow.readouts import mfi

    raw = mfi(stats, population=path, marker=m.marker, stat=m.stat)
    if m.control is None:
        return raw
    for col in [*m.control, *m.match]:
        if col not in meta.columns:
            raise StudyError(f"experiment '{exp}': mfi {m.marker}: the sample table has no "
                             f"column '{col}'")
    md = meta.set_index("file")
    is_ctl = np.ones(len(md), dtype=bool)
    for col, v in m.control.items():
        is_ctl &= (md[col].astype(str) == str(v)).to_numpy()
    ctl_files = md.index[is_ctl]
    if not len(ctl_files):
        raise StudyError(f"experiment '{exp}': mfi {m.marker}: no sample matches the control "
                         f"{dict(m.control)}")
    value = raw.set_index("file")["value"]
    rows = []
    col = f"{m.stat}_{m.marker}"
    for f in raw["file"]:
        same = ctl_files
        for c in m.match:
            same = same[md.loc[same, c].astype(str).to_numpy() == str(md.loc[f, c])]
        if not len(same):
            notes.append(f"{exp}: {f}: no control sample with the same "
                         f"{', '.join(m.match)}; no relative {m.marker} MFI")
            continue
        cv = float(value.loc[list(same)].mean())
        v = float(value.loc[f])
        with np.errstate(divide="ignore", invalid="ignore"):
            r = v / cv if m.relative == "ratio" else v - cv
        rows.append({"file": f, "readout": "mfi", "population": path,
                     "statistic": f"{col}_{m.relative}", "value": float(r)})
    return pd.concat([raw, pd.DataFrame(rows, columns=raw.columns)], ignore_index=True)


def _readouts(spec: FlowExperimentSpec, stats: pd.DataFrame, meta: pd.DataFrame,
              strategy: GatingStrategy, sample: Sample, notes: list[str]) -> pd.DataFrame:
    from ...flow import readouts as ro

    paths = list(dict.fromkeys(stats["population"]))
    exp = spec.name
    parts: list[pd.DataFrame] = []
    if (a := spec.apoptosis) is not None:
        if a.parent is not None and any(p is None for p in (a.live, a.early, a.late,
                                                             a.necrotic)):
            q = _quadrant_paths(strategy, sample, _resolve_path(a.parent, paths,
                                "apoptosis parent", exp), a.annexin, a.dye, exp)
        else:
            q = {k: _resolve_path(str(v), paths, f"apoptosis {k}", exp) for k, v in
                 (("live", a.live), ("early", a.early), ("late", a.late),
                  ("necrotic", a.necrotic))}
        parts.append(ro.apoptosis(stats, **q))
    for m in spec.mfi:
        path = _resolve_path(m.population, paths, "mfi population", exp)
        parts.append(_mfi_rows(stats, m, path, meta, exp, notes))
    if (c := spec.chimerism) is not None:
        parts.append(ro.chimerism(stats, human=_resolve_path(c.human, paths, "human", exp),
                                  mouse=_resolve_path(c.mouse, paths, "mouse", exp)))
    if (co := spec.composition) is not None:
        parent = _resolve_path(co.parent, paths, "composition parent", exp) \
            if co.parent else None
        parts.append(ro.composition(stats, populations=[
            _resolve_path(p, paths, "composition population", exp) for p in co.populations],
            parent=parent))
    if not parts:
        return pd.DataFrame(columns=["file", *[c for c in meta.columns if c != "file"],
                                     "readout", "population", "statistic", "value"])
    table = pd.concat(parts, ignore_index=True)
    order = {f: i for i, f in enumerate(meta["file"])}
    table["_o"] = table["file"].map(order)
    table = table.sort_values("_o", kind="stable").drop(columns="_o")
    return ro.add_metadata(table.reset_index(drop=True), meta)


def _strata(data: pd.DataFrame, within: Sequence[str]) -> list[tuple[tuple[Any, ...],
                                                                     pd.DataFrame]]:
    if not within:
        return [((), data)]
    return [((k if isinstance(k, tuple) else (k,)), sub)
            for k, sub in data.groupby(list(within), sort=False, dropna=False)]


def _compare_source(c: FlowCompareSpec, readouts: pd.DataFrame, populations: pd.DataFrame,
                    exp: str) -> pd.DataFrame:
    if (readouts["statistic"] == c.statistic).any():
        sub = readouts[readouts["statistic"] == c.statistic]
    elif (populations["statistic"] == c.statistic).any():
        if c.population is None:
            raise StudyError(f"experiment '{exp}': compare '{c.statistic}' is a population "
                             "statistic: name its population")
        sub = populations[populations["statistic"] == c.statistic]
    else:
        known = sorted(set(readouts["statistic"]) | set(populations["statistic"]))
        close = difflib.get_close_matches(c.statistic, known, n=1)
        hint = f"; did you mean '{close[0]}'?" if close else ""
        raise StudyError(f"experiment '{exp}': compare: no statistic '{c.statistic}'{hint}")
    if c.population is not None:
        path = _resolve_path(c.population, list(dict.fromkeys(sub["population"])),
                             "compare population", exp)
        sub = sub[sub["population"] == path]
    pops = list(dict.fromkeys(sub["population"]))
    if len(pops) > 1:
        raise StudyError(f"experiment '{exp}': compare '{c.statistic}' exists for several "
                         f"populations ({', '.join(pops)}); name one with population")
    for col in [c.group, *c.within, *([c.pair] if c.pair else [])]:
        if col not in sub.columns:
            raise StudyError(f"experiment '{exp}': compare: the sample table has no column "
                             f"'{col}'")
    return sub


def _complete_pairs(data: pd.DataFrame, c: FlowCompareSpec, key: tuple[Any, ...],
                    exp: str, notes: list[str]) -> pd.DataFrame:
    """Keep the subjects (``pair``) that have a value in every group of the stratum."""
    if c.pair is None:
        return data
    ok = data.dropna(subset=["value"])
    n_groups = ok[c.group].nunique()
    counts = ok.groupby(c.pair, sort=False)[c.group].nunique()
    drop = [str(p) for p, n in counts.items() if n < n_groups]
    drop += [str(p) for p in dict.fromkeys(data[c.pair]) if p not in counts.index]
    if drop:
        where = f" ({' · '.join(map(str, key))})" if key else ""
        notes.append(f"{exp}: compare {c.statistic}{where}: {c.pair} {', '.join(drop)} "
                     f"left out of the paired test (not in every {c.group})")
    return data[~data[c.pair].astype(str).isin(drop)]


_Stratum = tuple[tuple[Any, ...], pd.DataFrame, pd.DataFrame]  # key, data, tests


def _compare(spec: FlowExperimentSpec, readouts: pd.DataFrame, populations: pd.DataFrame,
             notes: list[str]) -> tuple[pd.DataFrame,
                                        list[tuple[FlowCompareSpec, list[_Stratum]]]]:
    from ...flow.readouts import compare_readout

    tables, panels = [], []
    for c in spec.compare:
        sub = _compare_source(c, readouts, populations, spec.name)
        mine = []
        for key, data in _strata(sub, c.within):
            data = _complete_pairs(data, c, key, spec.name, notes)
            res = compare_readout(data, statistic=c.statistic, group=c.group,
                                  control=c.control, pair=c.pair, test=c.test, log=c.log)
            res.insert(0, "population", data["population"].iloc[0])
            res.insert(0, "measure", c.statistic)
            for col, v in zip(c.within, key, strict=True):
                res.insert(2, col, v)
            tables.append(res)
            mine.append((key, data, res))
        panels.append((c, mine))
    if not tables:
        return pd.DataFrame(), panels
    table = pd.concat(tables, ignore_index=True)
    strata = list(dict.fromkeys(col for c in spec.compare for col in c.within))
    first = ["measure", "population", *strata]
    return table[first + [c for c in table.columns if c not in first]], panels


def _fcs_version(path: Path) -> str:
    with open(path, "rb") as fh:
        return fh.read(6).decode("ascii", errors="replace")


def _files_table(stats: pd.DataFrame, meta: pd.DataFrame, files: Mapping[str, Path]
                 ) -> pd.DataFrame:
    root = stats[stats["population"] == "/"].set_index("file")["count"]
    out = meta.copy()
    out["events"] = [int(root.get(f, 0)) for f in out["file"]]
    out["fcs_version"] = [_fcs_version(files[f]) for f in out["file"]]
    return out


# ---------------------------------------------------------------------------- figures
def _compare_figures(spec: FlowExperimentSpec, panels: Sequence[Any], ctx: RunContext
                     ) -> list[Any]:
    """One figure, one panel per comparison: strata side by side (x), the compared groups
    as sub-groups within each stratum, brackets for the tests within each stratum."""
    from matplotlib.figure import Figure

    from ...report import prism_style
    from ...stats.plot import group_plot

    drawn = [(c, mine) for c, mine in panels if mine]
    if not drawn:
        return []
    widths = []
    for c, mine in drawn:
        bars = sum(data[c.group].nunique() for _, data, _ in mine)
        widths.append(max(2.8, 0.42 * bars + (2.6 if c.within else 1.2)))
    with prism_style():
        fig = Figure(figsize=(sum(widths), 3.8), layout="constrained")
        axes = fig.subplots(1, len(drawn), squeeze=False, width_ratios=widths)[0]
        for ax, (c, mine) in zip(axes, drawn, strict=True):
            data = pd.concat([d for _, d, _ in mine], ignore_index=True)
            data[c.group] = data[c.group].astype(str)
            res = pd.concat([r for _, _, r in mine], ignore_index=True)
            if c.within:
                data["_stratum"] = [" · ".join(map(str, k)) for k in
                                    data[c.within].itertuples(index=False, name=None)]
                strata = [" · ".join(map(str, k)) for k, _, r in mine for _ in range(len(r))]
                res = res.assign(group1=[(s, g) for s, g in zip(strata, res["group1"],
                                                                 strict=True)],
                                 group2=[(s, g) for s, g in zip(strata, res["group2"],
                                                                 strict=True)])
                group_plot(data, value="value", group="_stratum", subgroup=c.group,
                           pair=c.pair, error="sd", kind="bar", comparisons=res,
                           p_column="p_adj", log=c.log, ylabel=c.label or c.statistic,
                           title=f"by {c.group}", ax=ax)
                ax.set_xlabel(", ".join(c.within))
            else:
                group_plot(data, value="value", group=c.group, pair=c.pair, error="sd",
                           kind="scatter", comparisons=res, p_column="p_adj", log=c.log,
                           ylabel=c.label or c.statistic, ax=ax)
        fig.draw_without_rendering()
        fig.set_layout_engine("none")
    parts = []
    for c, _ in drawn:
        within = f" within each {', '.join(c.within)}" if c.within else ""
        scale = ", geometric mean ± SD (log scale)" if c.log else ""
        parts.append(f"{c.label or c.statistic} by {c.group}{within}{scale}")
    pair = {c.pair for c, _ in drawn if c.pair}
    joined = f"; lines join the same {', '.join(sorted(pair))}" if pair else ""
    return [ctx.save_figure(fig, "compare", role="compare", caption=(
        "Group comparisons — " + "; ".join(parts) + ": one point per sample, bars and "
        "lines at the mean ± SD"
        f"{joined}; brackets: the tests of the comparison table (p adjusted within each "
        "stratum), * p ≤ 0.05, ** ≤ 0.01, *** ≤ 0.001, **** ≤ 0.0001."))]


def _representatives(spec: FlowExperimentSpec, names: Sequence[str]) -> list[str]:
    if not spec.figures.representative:
        return [names[0]]
    out = []
    for r in spec.figures.representative:
        n = Path(r).name
        if n not in names:
            close = difflib.get_close_matches(n, list(names), n=1)
            hint = f"; did you mean '{close[0]}'?" if close else ""
            raise StudyError(f"experiment '{spec.name}': figures.representative '{r}' is not "
                             f"one of the files analysed{hint}")
        out.append(n)
    return out


def _overlay_files(meta: pd.DataFrame, rep: str, by: str, exp: str) -> dict[str, str]:
    """Level of ``by`` → the file like ``rep`` in every other column (else the first)."""
    if by not in meta.columns:
        raise StudyError(f"experiment '{exp}': figures.overlay_by: the sample table has no "
                         f"column '{by}'")
    md = meta.set_index("file")
    others = [c for c in md.columns if c != by]
    out = {}
    for level in dict.fromkeys(md[by].astype(str)):
        at = md[md[by].astype(str) == level]
        like = at[(at[others].astype(str) == md.loc[rep, others].astype(str)).all(axis=1)] \
            if others else at
        out[level] = str((like if len(like) else at).index[0])
    return out


def _flow_figures(spec: FlowExperimentSpec, plan: Mapping[str, Any], files: Mapping[str, Path],
                  meta: pd.DataFrame, ctx: RunContext, notes: list[str]) -> list[Any]:
    from ...flow.io import read_fcs
    from ...flow.plot import backgate_plots, gate_steps, gating_plots, overlay_histograms

    fs = spec.figures
    names = list(plan)
    reps = _representatives(spec, names)
    cache: dict[str, Sample] = {}

    def sample(name: str) -> Sample:
        if name not in cache:
            cache[name] = read_fcs(files[name])
        return cache[name]

    def label(name: str) -> str:
        row = meta[meta["file"] == name]
        vals = [str(v) for c, v in row.iloc[0].items() if c != "file"] if len(row) else []
        return f"{name} ({', '.join(vals)})" if vals else name

    figs = []
    for k, rep in enumerate(reps):
        if not gate_steps(plan[rep], sample(rep)):
            notes.append(f"{spec.name}: no gate of {rep} can be drawn (only boolean, ratio "
                         "or 3-D gates); no gating figure")
            continue
        fig = gating_plots(sample(rep), plan[rep], kind=fs.kind)
        figs.append(ctx.save_figure(fig, f"gating_{k + 1}", role="gating", caption=(
            f"Gating of {label(rep)}: each panel shows a parent population in the "
            "dimensions of its child gates (density dot plot, colour = local event "
            "density), with the gates and their % of parent.")))
    for k, pop in enumerate(fs.backgate):
        fig = backgate_plots(sample(reps[0]), plan[reps[0]], pop)
        figs.append(ctx.save_figure(fig, f"backgate_{k + 1}", role="backgating", caption=(
            f"Back-gating of {pop} in {label(reps[0])}: its events (colour) on the plots "
            "of every gate of its lineage (parent events grey).")))
    if fs.overlay_by:
        chosen = _overlay_files(meta, reps[0], fs.overlay_by, spec.name)
        chosen = {lev: f for lev, f in chosen.items() if f in plan}
        for k, m in enumerate(spec.mfi):
            fig = overlay_histograms({lev: sample(f) for lev, f in chosen.items()}, m.marker,
                                     strategy=plan[reps[0]], population=m.population,
                                     stat=m.stat)
            files_txt = "; ".join(f"{lev}: {f}" for lev, f in chosen.items())
            figs.append(ctx.save_figure(fig, f"overlay_{k + 1}", role="overlay", caption=(
                f"{m.marker} in {m.population} by {fs.overlay_by} (files {files_txt}): "
                f"histograms normalised to their mode on the display scale, the first "
                f"filled grey; dashed lines: {m.stat} (MFI, data scale).")))
    return figs


# ------------------------------------------------------------------------------ report
def _readout_summary(readouts: pd.DataFrame, meta: pd.DataFrame) -> pd.DataFrame:
    """One row per file: metadata and one column per readout statistic."""
    if not len(readouts):
        return meta
    wide = readouts.pivot_table(index="file", columns="statistic", values="value",
                                sort=False)
    wide = wide[list(dict.fromkeys(readouts["statistic"]))]
    wide.columns.name = None
    return meta.merge(wide.reset_index(), on="file", how="left")


def _methods_text(spec: FlowExperimentSpec, gates: Path, comp: str) -> str:
    kind = {".toml": "preclin gate template", ".wsp": "FlowJo 10 workspace",
            ".xml": "Gating-ML 2.0 / FACSDiva XML"}.get(gates.suffix.lower(), "gate file")
    comp_txt = {"auto": "as the gate file says (the FCS files' $SPILLOVER where it asks "
                "for it)", "none": "none"}.get(comp, f"matrix {Path(comp).name}")
    return (f"Events read from the FCS files (preclin.flow), gated with the {kind} "
            f"{gates.name}; compensation: {comp_txt}. Population statistics per file: count, "
            "% of parent, % of total and marker statistics on the data (linear) scale. "
            "Apoptosis: annexin-V × viability-dye quadrants as % of their sum (apoptotic = "
            "early + late); MFI: the marker's statistic in the gate, relative to the mean "
            "of the matching control samples. Group comparisons through preclin.stats "
            "(paired t test when a pairing column is given, else Welch; Holm–Šidák within "
            "each stratum). Definitions: docs/methods/flow.md.")


# -------------------------------------------------------------------------------- kind
class FlowKind(ExperimentKind[FlowExperimentSpec]):
    """FCS files + gates → populations → bench readouts → comparisons and figures."""

    name = "flow"
    summary = "flow cytometry: FCS files + gate file → populations, readouts, comparisons"
    settings = FlowExperimentSpec
    tables = FLOW_TABLES

    def run(self, spec: FlowExperimentSpec, ctx: RunContext) -> KindOutput:
        """Read → gate → statistics → readouts → comparisons → figures."""
        from ...flow.stats import flow_stats, load_gates, plan_files

        inputs = _read_inputs(spec, ctx)
        gates = ctx.resolve_one(spec.gates)
        comp = _compensation(spec, ctx)
        notes: list[str] = []
        with ctx.step(f"gating {len(inputs.files)} FCS file(s)"):
            loaded = load_gates(gates)
            plan_list, found = plan_files(list(inputs.files.values()), loaded, comp=comp,
                                          group=spec.group)
            notes += [f"{spec.name}: {n}" for n in found]
            by_path = {str(p): n for n, p in inputs.files.items()}
            plan = {by_path[str(p)]: st for p, st in plan_list}
            stats = flow_stats([inputs.files[n] for n in plan], loaded,
                               stats=_stat_requests(spec), comp=comp, jobs=spec.jobs,
                               group=spec.group)
            stats["file"] = stats["file"].map(by_path)
        unplanned = [n for n in inputs.files if n not in plan]
        excluded = pd.concat([inputs.excluded, _excluded_frame(
            [{"file": n, "reason": "matches no sample of the gate file"} for n in unplanned])],
            ignore_index=True)
        meta = inputs.meta[inputs.meta["file"].isin(list(plan))].reset_index(drop=True)
        from ...flow.io import read_fcs

        first = next(iter(plan))
        first_sample = read_fcs(inputs.files[first])
        with ctx.step("readouts and comparisons"):
            populations = _long_populations(stats, meta)
            readouts = _readouts(spec, stats, meta, plan[first], first_sample, notes)
            compare, panels = _compare(spec, readouts, populations, notes)
        with ctx.step("drawing figures"):
            figures = _flow_figures(spec, plan, inputs.files, meta, ctx, notes)
            figures += _compare_figures(spec, panels, ctx)
        files_table = _files_table(stats, meta, inputs.files)
        tables: dict[str, pd.DataFrame] = {"files": files_table, "populations": populations,
                                           "readouts": readouts}
        if len(compare):
            tables["compare"] = compare
        if len(excluded):
            tables["excluded"] = excluded
        warnings = list(notes)
        if len(excluded):
            warnings.append(f"{spec.name}: {len(excluded)} file(s) left out (see "
                            f"tables/{spec.name}_excluded.csv)")
        overview = {"FCS files": len(plan), "events": int(files_table["events"].sum()),
                    "populations": int(stats["population"].nunique()),
                    "readout values": len(readouts), "comparisons": len(compare),
                    "files excluded": len(excluded)}
        used = [*(inputs.files[n] for n in plan), gates]
        if inputs.samples is not None:
            used.append(inputs.samples)
        if comp not in {"auto", "none"}:
            used.append(Path(comp))
        return self.output(spec, tables=tables, figures=tuple(figures), warnings=warnings,
                           inputs=tuple(used), excluded=excluded, overview=overview,
                           result={"stats": stats, "meta": meta, "gates": gates,
                                   "compensation": comp})

    def report_section(self, output: KindOutput, report: Any, ctx: ReportContext) -> None:
        """Methods, gating and back-gating, readouts, comparisons, MFI histograms."""
        spec: FlowExperimentSpec = output.spec  # type: ignore[assignment]
        res: dict[str, Any] = output.result  # type: ignore[assignment]
        report.add_section(spec.title or spec.name)
        if ctx.simulated:
            report.add_notice("These FCS files are SIMULATED (preclin's seeded flow "
                              "simulator), not measurements.", kind="simulated")
        report.add_text(_methods_text(spec, res["gates"], res["compensation"]))

        def figs(role: str) -> None:
            for f in output.figures_with_role(role):
                report.add_figure(f.path, caption=f.caption, name=f"{spec.name}-{f.path.stem}")

        report.add_section("Gating", level=3)
        figs("gating")
        figs("backgating")
        report.add_section("Readouts", level=3)
        summary = _readout_summary(output.table("readouts"), output.table("files")
                                   .drop(columns=["events", "fcs_version"]))
        report.add_table(summary, caption="One row per file: the readouts (% of the "
                         "quadrants' sum for apoptosis; MFI on the data scale, and relative "
                         "to the matching controls). Long table: "
                         f"{ctx.table_file(output, 'readouts')}; every population and "
                         f"statistic: {ctx.table_file(output, 'populations')}.")
        figs("overlay")
        if "compare" in output.tables:
            report.add_section("Group comparisons", level=3)
            figs("compare")
            cmp = output.table("compare")
            report.add_table(cmp, caption="Pairwise tests of each readout statistic "
                             "(adjusted within each stratum); stars of the adjusted p: * ≤ "
                             "0.05, ** ≤ 0.01, *** ≤ 0.001, **** ≤ 0.0001. "
                             f"({ctx.table_file(output, 'compare')})")
        files = output.table("files")
        report.add_table(files, caption=f"FCS files analysed ({len(files)}).")
        if len(output.excluded):
            report.add_table(output.excluded, caption="Files left out, with the reason.",
                             highlight="reason")

    def example(self, directory: Path) -> Path:
        """The bundled AML flow experiment (SIMULATED): apoptosis alone vs on stroma under
        AraC/Ida ± lenalidomide and CXCR4 MFI on the blasts."""
        from ...data.example_flow import flow_experiment_toml, write_flow_example

        root = Path(directory)
        write_flow_example(root / "flow", seed=2018)
        study = root / "study.toml"
        study.write_text('''# preclin: example of the "flow" kind (SIMULATED data)
[study]
title = "Example: apoptosis and CXCR4 of AML blasts by flow cytometry"
simulated = true
''' + flow_experiment_toml("flow"), encoding="utf-8")
        return study
