"""The ``preclin qpcr`` commands' library side (the CLI only parses arguments)."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from ..errors import InputError

__all__ = ["relquant_command", "stdcurve_command", "linreg_command",
           "RELQUANT_CLI_COLUMNS", "STDCURVE_CLI_COLUMNS"]

RELQUANT_CLI_COLUMNS = ["sample", "target", "rq", "rq_lower", "rq_upper", "method",
                        "efficiency", "role", "n", "cq_mean", "cq_sd", "log2_rq", "log2_error",
                        "error_kind", "status"]
STDCURVE_CLI_COLUMNS = ["target", "slope", "intercept", "r2", "efficiency", "efficiency_lower",
                        "efficiency_upper", "n", "efficiency_percent", "status"]


def _efficiency_arg(text: str) -> object:
    t = text.strip()
    if t.lower() in ("auto", "linreg"):
        return t.lower()
    try:
        return float(t)
    except ValueError:
        pass
    p = Path(t)
    if not p.exists():
        raise InputError(f"--efficiency must be auto, linreg, a number or a table file; "
                         f"{t!r} is none of these (file not found)")
    from ..tables import read_table, require_columns, require_numeric

    tab = read_table(p, keys=["target"])
    require_columns(tab, ["target", "efficiency"], file=p)
    tab = tab.assign(efficiency=require_numeric(tab, "efficiency", file=p))
    if "efficiency_se" in tab:
        tab = tab.assign(efficiency_se=require_numeric(tab, "efficiency_se", file=p,
                                                       allow_nan=True))
    return tab


def relquant_command(input: Path, *, reference: str, calibrator: str, efficiency: str,
                     method: str, out: Path) -> pd.DataFrame:
    """Read, quantify relative to the calibrator (95 % CI bounds), write ``out``."""
    from ..tables import column_list, write_table
    from .io import read_qpcr
    from .relquant import relative_quantities

    if method not in ("pfaffl", "ddct"):
        raise InputError(f"--method must be pfaffl or ddct, got {method!r}")
    eff = _efficiency_arg(efficiency)
    wells = read_qpcr(input)
    if isinstance(eff, str) and eff == "linreg":
        if method != "pfaffl":
            raise InputError("--efficiency linreg applies to --method pfaffl (ddct assumes "
                             "E = 2)")
        wells, eff = _linreg_wells(input, wells)
    try:
        res = relative_quantities(wells, reference=column_list(reference),
                                  calibrator=calibrator, method=method,
                                  efficiency=None if method == "ddct" else eff)
    except InputError as exc:
        if exc.file is None:
            raise InputError(exc.problem, file=input, location=exc.location) from None
        raise
    table = res.table[RELQUANT_CLI_COLUMNS]
    write_table(table, out)
    return table


def _linreg_wells(input: Path, wells: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
    """LinRegPCR Cq and per-target mean efficiency from the raw curves of an RDML file."""
    from .io import detect_format
    from .linreg import linreg_efficiency, linreg_wells, read_linreg_input

    if detect_format(input) != "rdml":
        raise InputError("--efficiency linreg needs raw amplification curves: an RDML file "
                         "with <adp> data", file=input)
    table = linreg_efficiency(read_linreg_input(input), group_by="target")
    return linreg_wells(wells, table)


def linreg_command(input: Path, *, out: Path, threshold: str = "common",
                   efficiency_from: str = "log_phase",
                   group_by: str = "target") -> pd.DataFrame:
    """Read raw curves (RDML or a long table), run LinRegPCR per well, write ``out``."""
    from ..tables import column_list, write_table
    from .linreg import linreg_efficiency, read_linreg_input

    thr: str | float = threshold.strip().lower()
    if thr not in ("common", "group"):
        try:
            thr = float(threshold)
        except ValueError:
            raise InputError(f"--threshold must be common, group or a number, got "
                             f"{threshold!r}") from None
    curves = read_linreg_input(input)
    try:
        table = linreg_efficiency(curves, group_by=column_list(group_by), threshold=thr,
                                  efficiency_from=efficiency_from.strip().lower()
                                  .replace("-", "_"))
    except InputError as exc:
        if exc.file is None:
            raise InputError(exc.problem, file=input, location=exc.location) from None
        raise
    write_table(table, out)
    return table


def stdcurve_command(input: Path, *, out: Path) -> pd.DataFrame:
    """Read, fit one standard curve per target, write ``out``."""
    from ..tables import write_table
    from .io import read_qpcr
    from .stdcurve import standard_curve

    curves = standard_curve(read_qpcr(input))
    if curves.empty:
        raise InputError("no standard wells (task standard, or a quantity) in the file",
                         file=input)
    table = curves[STDCURVE_CLI_COLUMNS]
    write_table(table, out)
    return table
