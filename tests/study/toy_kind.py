"""A toy experiment kind defined outside preclin, as a third-party package would.

It averages a value per group of a CSV table; rows without a value are excluded with a
reason. It relies on the default report section of :class:`ExperimentKind`.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

import pandas as pd
from matplotlib.figure import Figure

from preclin.study.kinds import (
    ExperimentKind,
    ExperimentSettings,
    KindOutput,
    RunContext,
    StrictModel,
)
from preclin.tables import read_table

__all__ = ["ToyKind", "ToySettings", "ToyOptions", "TOY_STUDY"]


class ToyOptions(StrictModel):
    """``[experiment.toy]``."""

    group: str = "group"
    value: str = "value"


class ToySettings(ExperimentSettings):
    """``[[experiment]]`` with ``kind = "toy"``."""

    kind: Literal["toy"]
    data: str
    toy: ToyOptions = ToyOptions()


TOY_STUDY = '''[study]
title = "Toy study"

[[experiment]]
name = "toy_means"
title = "Toy means <per group>"
kind = "toy"
data = "data.csv"

[experiment.toy]
group = "group"
'''


class ToyKind(ExperimentKind[ToySettings]):
    """Mean of a value per group."""

    name = "toy"
    summary = "mean of a value per group (test kind)"
    settings = ToySettings
    tables = {"means": "one row per group: n and mean of the value",
              "excluded": "rows without a value, with the reason"}

    def run(self, spec: ToySettings, ctx: RunContext) -> KindOutput:
        path = ctx.resolve_one(spec.data)
        with ctx.step("averaging"):
            data = read_table(path)
            missing = data[spec.toy.value].isna()
            excluded = data[missing].assign(reason="no value")
            means = (data[~missing].groupby(spec.toy.group, sort=True)[spec.toy.value]
                     .agg(["count", "mean"]).rename(columns={"count": "n"}).reset_index())
        fig = Figure(figsize=(3, 2))
        fig.add_subplot().bar(means[spec.toy.group].astype(str), means["mean"])
        figure = ctx.save_figure(fig, "means", caption="Mean value per group.", role="main")
        warnings = [f"{spec.name}: {int(missing.sum())} row(s) without a value"] \
            if missing.any() else []
        return self.output(spec, tables={"means": means, "excluded": excluded},
                           figures=(figure,), warnings=warnings, inputs=(path,),
                           excluded=excluded,
                           overview={"rows": len(data), "groups": len(means)},
                           result=means)

    def example(self, directory: Path) -> Path:
        root = Path(directory)
        root.mkdir(parents=True, exist_ok=True)
        pd.DataFrame({"group": ["a", "a", "b", "b", "b"],
                      "value": [1.0, 3.0, 2.0, None, 4.0]}).to_csv(root / "data.csv",
                                                                   index=False)
        (root / "study.toml").write_text(TOY_STUDY, encoding="utf-8")
        return root / "study.toml"
