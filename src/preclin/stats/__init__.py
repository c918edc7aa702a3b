"""Statistics shared by the rooms: two-group tests, ANOVA family, multiple comparisons,
survival, P-value display and significance stars, power and sample size, Prism export.

The figure helper is :func:`preclin.stats.plot.group_plot` (imported from its module, so
that importing :mod:`preclin.stats` does not load matplotlib).

Every test equals R (stats 4.2, survival 3.5, multcomp 1.4) on the worked examples in
``tests/data/stats_reference`` (see ``docs/methods/stats.md``).
"""

from __future__ import annotations

from .anova import (
    friedman,
    kruskal_wallis,
    one_way_anova,
    repeated_measures_anova,
    two_way_anova,
    welch_anova,
)
from .display import format_p, stars
from .multiple import adjust_p, dunn, dunnett_p, friedman_dunn, posthoc, two_way_posthoc
from .power import (
    power_anova,
    power_logrank,
    power_t,
    power_welch,
    simulate_power,
    simulate_two_group_power,
)
from .pzfx import column_table, grouped_table, write_pzfx
from .survival import hazard_ratio, kaplan_meier, logrank, median_survival
from .tables import compare_table, survival_table
from .tests import compare_groups
from .two_groups import (
    TwoGroupResult,
    mann_whitney,
    paired_t,
    student,
    two_group_test,
    welch,
    wilcoxon_signed_rank,
)

__all__ = [
    "compare_groups",
    "stars",
    "format_p",
    "TwoGroupResult",
    "welch",
    "student",
    "paired_t",
    "mann_whitney",
    "wilcoxon_signed_rank",
    "two_group_test",
    "one_way_anova",
    "welch_anova",
    "two_way_anova",
    "repeated_measures_anova",
    "kruskal_wallis",
    "friedman",
    "posthoc",
    "two_way_posthoc",
    "friedman_dunn",
    "dunn",
    "dunnett_p",
    "adjust_p",
    "kaplan_meier",
    "median_survival",
    "logrank",
    "hazard_ratio",
    "compare_table",
    "survival_table",
    "power_t",
    "power_welch",
    "power_anova",
    "power_logrank",
    "simulate_power",
    "simulate_two_group_power",
    "write_pzfx",
    "column_table",
    "grouped_table",
]
