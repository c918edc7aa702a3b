"""Experiment kind ``expression``: a genes × samples matrix → limma-grade DE → GO enrichment.

Study file::

    [[experiment]]
    name = "aml_expression"
    kind = "expression"
    matrix = "data/expression_matrix.csv"   # features x samples (CSV/TSV/Parquet/GEO
    samples = "data/expression_samples.csv" # series matrix); samples: sample + factors

    [experiment.expression]
    design = "~ patient + treatment"   # paired: patient as a factor
    coef = "lenalidomide"              # design column (treatmentlenalidomide) or level
    trend = false                      # limma-trend
    treat_lfc = 0.3                    # optional: test |logFC| > 0.3 (treat)
    robust = false                     # robust empirical Bayes (Phipson et al. 2016)
    # block = "patient"                # optional: patient as a random block instead of a
    # correlation = 0.2                # factor; the correlation is estimated by REML
                                       # (duplicateCorrelation) unless given
    fc = 1.5                           # calls: |fold change| > fc and p < p (the seed's
    p = 0.05                           # filter), and the FDR view: adj. p < fdr
    fdr = 0.05

    [experiment.enrichment]            # optional: GO over-representation of the
    ontology = "BP"                    # filtered genes against all genes of the matrix

Every step is a function of :mod:`preclin.expression` (``read_matrix``,
``differential_expression``, ``volcano``, ``ma_plot``, ``heatmap``) and
:mod:`preclin.enrichment` (``load_go``, ``ora``, ``dot_plot``). Definitions:
``docs/methods/expression.md`` and ``docs/methods/enrichment.md``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal

import pandas as pd
from pydantic import Field

from .base import ExperimentKind, ExperimentSettings, KindOutput, ReportContext, RunContext
from .base import StrictModel as _Strict

__all__ = ["ExpressionKind", "ExpressionOptions", "EnrichmentOptions",
           "ExpressionExperimentSpec", "EXPRESSION_TABLES"]

#: tables an expression experiment writes and what one row is
EXPRESSION_TABLES = {
    "de": "one row per feature, sorted by p as limma's topTable(number=Inf): feature, "
    "logfc, ave_expr, t, p_value, adj_p_value (BH), b, fold_change (signed linear), call "
    "(up/down at |FC| > fc and p < p), call_fdr (up/down at |FC| > fc and FDR < fdr), sigma, "
    "s2_prior, s2_post, df_residual, df_total, and df_prior (per-feature prior df) when "
    "robust = true (preclin.expression.DE_COLUMNS)",
    "filtered": "the features called up or down (|fold change| > fc and p < p), same "
    "columns as de, sorted by p",
    "enrichment": "one row per GO term with at least one universe gene (after the size "
    "filter): term, name, ontology, n (universe genes annotated, with propagation), de "
    "(selected genes annotated), expected, p_value (one-sided hypergeometric), adj_p_value "
    "(BH), genes (the selected genes of the term); sorted by p",
    "excluded": "features, samples and gene IDs left out, with what they are (item, what) "
    "and the reason",
}


class ExpressionOptions(_Strict):
    """``[experiment.expression]``: settings of
    :func:`preclin.expression.differential_expression` and of the figures."""

    design: str
    coef: str
    sample_column: str = "sample"
    levels: dict[str, list[str]] = Field(default_factory=dict)
    trend: bool = False
    treat_lfc: float | None = Field(default=None, gt=0)
    robust: bool = False
    block: str | None = None
    correlation: float | None = Field(default=None, gt=-1, lt=1)
    fc: float = Field(default=1.5, ge=1)
    p: float = Field(default=0.05, gt=0, le=1)
    fdr: float = Field(default=0.05, gt=0, le=1)
    heatmap_annotate: list[str] = Field(default_factory=list)
    heatmap_max_genes: int = Field(default=300, ge=2)
    label_top: int = Field(default=10, ge=0)


class EnrichmentOptions(_Strict):
    """``[experiment.enrichment]``: GO over-representation (:func:`preclin.enrichment.ora`)
    of the called genes against the universe of all features with a result."""

    ontology: Literal["BP", "MF", "CC"] = "BP"
    genes: Literal["filtered", "fdr"] = "filtered"
    direction: Literal["both", "up", "down"] = "both"
    id_type: Literal["auto", "entrez", "symbol"] = "auto"
    min_size: int = Field(default=5, ge=1)
    max_size: int | None = Field(default=None, ge=1)
    obo: str | None = None
    gaf: str | None = None
    top: int = Field(default=20, ge=1)


class ExpressionExperimentSpec(ExperimentSettings):
    """Differential expression from a design formula, with optional GO enrichment."""

    kind: Literal["expression"]
    matrix: str
    samples: str
    expression: ExpressionOptions
    enrichment: EnrichmentOptions | None = None


def _excluded(item: list[str], what: str, reason: list[str] | str) -> pd.DataFrame:
    return pd.DataFrame({"item": item, "what": what, "reason": reason}) if item else \
        pd.DataFrame(columns=["item", "what", "reason"])


class ExpressionKind(ExperimentKind[ExpressionExperimentSpec]):
    """Matrix + samples → moderated t (eBayes/treat) → calls → GO ORA → figures."""

    name = "expression"
    summary = "expression profiling: limma-grade DE, calls, heatmap, GO enrichment"
    settings = ExpressionExperimentSpec
    tables = EXPRESSION_TABLES

    def run(self, spec: ExpressionExperimentSpec, ctx: RunContext) -> KindOutput:
        """Read → log2 → DE → calls → (GO ORA) → figures."""
        from ...errors import InputError
        from ...expression import align_samples, differential_expression, read_matrix
        from ...expression.io import read_samples

        e = spec.expression
        mpath = ctx.resolve_one(spec.matrix)
        spath = ctx.resolve_one(spec.samples)
        inputs: list[Path] = [mpath, spath]
        warnings: list[str] = []
        with ctx.step("reading the matrix"):
            em = read_matrix(mpath)
            scale_note = f"{em.scale}; {em.scale_reason}"
            em = em.log2()
            samples = read_samples(spath, sample_column=e.sample_column)
            extra = [c for c in em.values.columns
                     if c not in set(samples[e.sample_column].astype(str))]
            values, samples = align_samples(em.values, samples,
                                            sample_column=e.sample_column, file=spath)
        excluded = [_excluded(extra, "sample", "matrix column not in the samples table")]
        if extra:
            warnings.append(f"{spec.name}: {len(extra)} matrix column(s) not in the samples "
                            f"table, left out: {', '.join(extra[:5])}"
                            + ("…" if len(extra) > 5 else ""))
        with ctx.step("differential expression"):
            try:
                res = differential_expression(
                    values, samples, design=e.design, coef=e.coef,
                    sample_column=e.sample_column, levels=e.levels or None, trend=e.trend,
                    treat_lfc=e.treat_lfc, fc=e.fc, p=e.p, fdr=e.fdr, block=e.block,
                    correlation=e.correlation, robust=e.robust)
            except InputError as exc:
                raise InputError(f"experiment '{spec.name}': {exc.problem}",
                                 file=exc.file or spath, location=exc.location) from None
        table = res.table
        filtered = table[table["call"] != ""].reset_index(drop=True)
        excluded.append(_excluded(res.excluded["feature"].astype(str).tolist(), "feature",
                                  res.excluded["reason"].astype(str).tolist()))
        tables: dict[str, pd.DataFrame] = {"de": table, "filtered": filtered}
        ora_res = None
        if spec.enrichment is not None:
            ora_res, enr_excluded = self._enrichment(spec, ctx, table, inputs)
            tables["enrichment"] = ora_res.table
            excluded.append(enr_excluded)
        excl = pd.concat([x for x in excluded if len(x)] or [excluded[0]],
                         ignore_index=True)
        if len(excl):
            tables["excluded"] = excl
        if not len(filtered):
            warnings.append(f"{spec.name}: no feature changes > {e.fc:g}-fold at "
                            f"p < {e.p:g}")
        counts = _counts(table)
        figures = self._figures(spec, ctx, table, filtered, values, samples, ora_res)
        overview: dict[str, Any] = {
            "features": len(table), "samples": len(samples), "design": e.design,
            "coefficient": res.coef, f"up (p < {e.p:g})": counts["up"],
            f"down (p < {e.p:g})": counts["down"],
            f"called at FDR < {e.fdr:g}": counts["up_fdr"] + counts["down_fdr"]}
        if ora_res is not None:
            overview["GO terms at FDR < 0.05"] = int((ora_res.table["adj_p_value"]
                                                      < 0.05).sum())
        result = {"de": res, "ora": ora_res, "scale": scale_note, "counts": counts}
        return self.output(spec, tables=tables, figures=figures, warnings=warnings,
                           inputs=tuple(inputs), excluded=excl, overview=overview,
                           result=result)

    def _enrichment(self, spec: ExpressionExperimentSpec, ctx: RunContext,
                    table: pd.DataFrame, inputs: list[Path]) -> tuple[Any, pd.DataFrame]:
        from ...enrichment import load_go, ora
        from ...errors import InputError

        en = spec.enrichment
        assert en is not None
        call = "call" if en.genes == "filtered" else "call_fdr"
        pick = table[call] != "" if en.direction == "both" else table[call] == en.direction
        selected = table.loc[pick, "feature"].astype(str).tolist()
        universe = table["feature"].astype(str).tolist()
        with ctx.step("GO enrichment"):
            if (en.obo is None) != (en.gaf is None):
                raise InputError(f"experiment '{spec.name}': give both enrichment.obo and "
                                 "enrichment.gaf, or neither (bundled GO snapshot)")
            if en.obo is not None and en.gaf is not None:
                obo, gaf = ctx.resolve_one(en.obo), ctx.resolve_one(en.gaf)
                inputs += [obo, gaf]
                go = load_go(obo=obo, gaf=gaf)
            else:
                go = load_go()
            if not selected:
                empty = pd.DataFrame(columns=["term", "name", "ontology", "n", "de",
                                              "expected", "p_value", "adj_p_value", "genes"])
                from ...enrichment.overrepresentation import ORAResult
                return (ORAResult(table=empty, excluded=pd.DataFrame(), n_universe=0,
                                  n_selected=0, source=dict(go.source)),
                        _excluded([], "", ""))
            res = ora(selected, universe, go=go, ontology=en.ontology, id_type=en.id_type,
                      min_size=en.min_size, max_size=en.max_size)
            t = res.table.copy()
            t["genes"] = _term_genes(t, selected, go, en.id_type)
            res = type(res)(table=t, excluded=res.excluded, n_universe=res.n_universe,
                            n_selected=res.n_selected, source=res.source)
        exc = res.excluded
        return res, _excluded(exc["gene"].astype(str).tolist() if len(exc) else [],
                              "gene ID (enrichment)",
                              (exc["list"] + " list: " + exc["reason"]).astype(str).tolist()
                              if len(exc) else "")

    def _figures(self, spec: ExpressionExperimentSpec, ctx: RunContext, table: pd.DataFrame,
                 filtered: pd.DataFrame, values: pd.DataFrame, samples: pd.DataFrame,
                 ora_res: Any) -> tuple[Any, ...]:
        from ...expression import heatmap, ma_plot, volcano

        title = spec.title or spec.name
        e = spec.expression
        out = []
        with ctx.step("drawing figures"):
            fig = volcano(table, fc=e.fc, p=e.p, label_top=e.label_top)
            out.append(ctx.save_figure(fig, "volcano", role="volcano", caption=(
                f"{title}: volcano plot, log2 fold change against −log10 moderated p; red/"
                f"blue: up/down at > {e.fc:g}-fold and p < {e.p:g} (dashed lines); the "
                f"{e.label_top} smallest p labelled.")))
            fig = ma_plot(table)
            out.append(ctx.save_figure(fig, "ma", role="ma", caption=(
                f"{title}: MA plot, mean log2 expression against log2 fold change; colours "
                "as in the volcano plot.")))
            genes = filtered.head(e.heatmap_max_genes)["feature"].astype(str).tolist()
            if len(genes) >= 2:
                annotate = e.heatmap_annotate or [
                    c for c in samples.columns if c != e.sample_column
                    and c.replace(" ", "") in e.design.replace(" ", "")]
                ann = samples.set_index(samples[e.sample_column].astype(str))
                annotate = [a for a in annotate if a in ann.columns]
                fig = heatmap(values.loc[genes], annotations=ann, annotate=annotate)
                more = (f" (the {e.heatmap_max_genes} with the smallest p of "
                        f"{len(filtered)})" if len(filtered) > len(genes) else "")
                out.append(ctx.save_figure(fig, "heatmap", role="heatmap", caption=(
                    f"{title}: the {len(genes)} filtered genes{more}, row z-scores of log2 "
                    "expression; rows and samples clustered by 1 − Pearson correlation, "
                    "average linkage; colour bars: " + (", ".join(annotate) or "none")
                    + ".")))
            if ora_res is not None and len(ora_res.table):
                from ...enrichment import dot_plot

                en = spec.enrichment
                assert en is not None
                fig = dot_plot(ora_res.table, top=en.top)
                out.append(ctx.save_figure(fig, "enrichment", role="enrichment", caption=(
                    f"{title}: the {min(en.top, len(ora_res.table))} GO {en.ontology} terms "
                    "with the smallest p (over-representation of the "
                    f"{ora_res.n_selected} called genes among {ora_res.n_universe}); x: "
                    "−log10 FDR (dashed: 0.05), dot size: called genes in the term, colour: "
                    "their fraction of the term.")))
        return tuple(out)

    def report_section(self, output: KindOutput, report: Any, ctx: ReportContext) -> None:
        """Method sentence, result sentences, figures and the main tables."""
        spec: ExpressionExperimentSpec = output.spec  # type: ignore[assignment]
        e = spec.expression
        res: dict[str, Any] = output.result  # type: ignore[assignment]
        de = res["de"]
        c = res["counts"]
        report.add_section(spec.title or output.name)
        if ctx.simulated:
            report.add_notice("These data are SIMULATED; they are not measurements.",
                              "simulated")
        test = (f"the treat test of |log2 FC| > {e.treat_lfc:g}" if e.treat_lfc is not None
                else "empirical-Bayes moderated t statistics")
        report.add_text(
            f"Linear model {e.design} per feature (log2 scale; input scale {res['scale']}), "
            f"coefficient {de.coef}, {test}"
            + (" with an intensity trend of the prior variance (limma-trend)"
               if e.trend else "")
            + (" and a robust variance prior (Phipson et al. 2016)" if e.robust else "")
            + f" (Smyth 2004; prior df {de.df_prior:.3g})"
            + (f"; arrays of the same {e.block} correlated (intra-block correlation "
               f"{de.settings['correlation']:.3g}"
               + (", estimated by REML as limma's duplicateCorrelation, Smyth et al. 2005)"
                  if de.settings.get("correlation_estimated") else ")")
               if e.block else "")
            + "; p values adjusted by Benjamini–Hochberg.")
        n_fdr = c["up_fdr"] + c["down_fdr"]
        report.add_text(
            f"{c['up'] + c['down']} of {len(output.table('de'))} genes change "
            f"> {e.fc:g}-fold at p < {e.p:g} ({c['up']} up, {c['down']} down); "
            f"{n_fdr} at FDR < {e.fdr:g}"
            + (f" ({c['up_fdr']} up, {c['down_fdr']} down)." if n_fdr else "."))
        ora_res = res["ora"]
        if ora_res is not None:
            report.add_text(_enrichment_sentence(ora_res, spec))
        for role in ("volcano", "ma", "heatmap", "enrichment"):
            for fig in output.figures_with_role(role):
                report.add_figure(fig.path, caption=fig.caption,
                                  name=f"{output.name}-{fig.path.stem}")
        for key, rows in (("filtered", 100), ("enrichment", 30), ("excluded", 100)):
            if key in output.tables:
                t = output.tables[key]
                report.add_table(t.data, max_rows=rows, caption=f"{t.description} "
                                 f"({ctx.table_file(output, key)})")
        report.add_text(f"Also written: {ctx.table_file(output, 'de')} (every feature).")

    def example(self, directory: Path) -> Path:
        """The simulated paired experiment (3 patients × lenalidomide vs DMSO)."""
        from ...data.simulate_expression import (
            expression_experiment_toml,
            write_expression_example,
        )

        root = Path(directory)
        write_expression_example(root / "data", seed=2018)
        study = root / "study.toml"
        study.write_text('''# preclin: example of the "expression" kind (SIMULATED data)
[study]
title = "Example: which genes does lenalidomide change in AML blasts?"
simulated = true
''' + expression_experiment_toml(), encoding="utf-8")
        return study


def _counts(table: pd.DataFrame) -> dict[str, int]:
    return {"up": int((table["call"] == "up").sum()),
            "down": int((table["call"] == "down").sum()),
            "up_fdr": int((table["call_fdr"] == "up").sum()),
            "down_fdr": int((table["call_fdr"] == "down").sum())}


def _term_genes(t: pd.DataFrame, selected: list[str], go: Any, id_type: str) -> list[str]:
    """For each term of ``t``: the selected genes annotated to it (as given), sorted."""
    from ...enrichment import resolve_genes

    ann = go.propagated()
    ids, _ = resolve_genes(selected, go, id_type=id_type)
    if len(ids) == len(selected):  # one ID per gene given, in order
        back = dict(zip(ids, selected, strict=True))
    else:
        smap = go.symbol_map() if not all(s.isdigit() for s in selected) else {}
        back = {smap.get(s, s.lstrip("0") or "0"): s for s in selected}
    sub = ann[ann["gene"].isin(set(back)) & ann["term"].isin(set(t["term"]))]
    names = sub.assign(name=sub["gene"].astype(str).map(back)) \
        .groupby(sub["term"].astype(str), observed=True)["name"] \
        .agg(lambda s: ", ".join(sorted(s)))
    return [str(names.get(term, "")) for term in t["term"].astype(str)]


def _enrichment_sentence(ora_res: Any, spec: ExpressionExperimentSpec) -> str:
    en = spec.enrichment
    assert en is not None
    t = ora_res.table
    sig = t[t["adj_p_value"] < 0.05]
    which = ("filtered" if en.genes == "filtered" else "FDR-called") + (
        "" if en.direction == "both" else f" {en.direction}")
    head = (f"GO {en.ontology} over-representation (one-sided hypergeometric, annotations "
            f"propagated over the DAG, terms of ≥ {en.min_size} genes; "
            f"{ora_res.source.get('go_source_date', 'user OBO/GAF')} snapshot) of the "
            f"{ora_res.n_selected} {which} genes among {ora_res.n_universe} genes: ")
    if not len(sig):
        return head + "no term at FDR < 0.05."
    top = "; ".join(f"{r['name']} ({r['term']}, {r['de']}/{r['n']}, FDR {r['adj_p_value']:.2g})"
                    for r in sig.head(5).to_dict("records"))
    return head + f"{len(sig)} terms at FDR < 0.05, the first: {top}."
