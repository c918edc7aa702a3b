"""GDSC end to end: raw plate read-outs → viability → curves → fits → agreement with gdscIC50.

Reads ``gdsc_example.csv.gz`` (873,525 wells) from the shared reference directory, times
every step, fits every curve twice (LL.4 with free asymptotes, and bottom 0 / top 100 %
fixed, the curve shape gdscIC50 fits), and prints the agreement of our absolute IC50s
(ln µM) with gdscIC50's mixed-model IC50s. With ``--dask`` it also fits the curves with the
dask engine on a 2-worker LocalCluster from a Parquet dataset and checks that the result
is identical to the local engine.

    python benchmarks/bench_gdsc.py [--data ../shared/reference/doseresponse/gdsc] [--dask]
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

from preclin.doseresponse import screens as gd

ROOT = Path(__file__).resolve().parents[1]


def default_data() -> Path:
    env = os.environ.get("PRECLIN_SHARED")
    base = Path(env) / "reference" if env else ROOT.parent / "shared" / "reference"
    return base / "doseresponse" / "gdsc"


def timed(label: str, times: dict[str, float], func, *args, **kwargs):
    t0 = time.perf_counter()
    out = func(*args, **kwargs)
    times[label] = time.perf_counter() - t0
    return out


def max_rel_diff(a: pd.DataFrame, b: pd.DataFrame) -> tuple[float, int, list[str]]:
    """Largest relative difference over float columns, number of differing cells, columns."""
    worst, n_diff, cols = 0.0, 0, []
    for col in a.columns:
        if a[col].dtype.kind != "f":
            assert a[col].equals(b[col]), col
            continue
        x, y = a[col].to_numpy(), b[col].to_numpy()
        diff = ~((x == y) | (np.isnan(x) & np.isnan(y)))
        if diff.any():
            cols.append(col)
            n_diff += int(diff.sum())
            worst = max(worst, float(np.max(np.abs(x - y)[diff] / np.abs(y)[diff])))
    return worst, n_diff, cols


def dask_check(curves: pd.DataFrame, local: gd.DoseResponseFit) -> tuple[float, str]:
    from preclin.doseresponse.dask_engine import fit_dask

    with tempfile.TemporaryDirectory() as tmp:
        cuts = np.linspace(0, len(curves), 9).astype(int)
        for i, (a, b) in enumerate(zip(cuts[:-1], cuts[1:], strict=True)):
            curves.iloc[a:b].to_parquet(Path(tmp) / f"part-{i}.parquet", index=False)
        t0 = time.perf_counter()
        res = fit_dask(tmp, dose=gd.GDSC_DOSE, response=gd.GDSC_RESPONSE,
                       by=list(gd.GDSC_BY), n_workers=2, dose_unit="µM")
        elapsed = time.perf_counter() - t0
    pd.testing.assert_frame_equal(local.table, res.table, check_exact=False, rtol=1e-9, atol=0)
    pd.testing.assert_frame_equal(local.points, res.points, check_exact=True)
    pd.testing.assert_frame_equal(local.excluded, res.excluded, check_exact=True)
    worst, n_diff, cols = max_rel_diff(local.table, res.table)
    note = ("bit-identical" if not n_diff else
            f"identical except {n_diff} float cells in {', '.join(cols)} "
            f"(max relative difference {worst:.1e})")
    return elapsed, note


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data", type=Path, default=default_data())
    ap.add_argument("--dask", action="store_true", help="also time the dask engine")
    args = ap.parse_args()
    raw_path = args.data / "gdsc_example.csv.gz"
    ref_path = args.data / "gdsc_example_ref_ic50.csv"
    if not raw_path.exists():
        raise SystemExit(f"{raw_path} not found (set --data or PRECLIN_SHARED)")

    times: dict[str, float] = {}
    t_all = time.perf_counter()
    raw = timed("read", times, gd.read_gdsc_raw, raw_path)
    norm = timed("normalise", times, gd.normalise_gdsc, raw)
    curves = timed("curves", times, gd.gdsc_curves, norm)
    ref = gd.read_gdsc_reference(ref_path)
    fits = {}
    comparisons = {}
    for kind in ("free", "fixed"):
        fits[kind] = timed(f"fit {kind}", times, gd.fit_gdsc, curves, asymptotes=kind)
        comparisons[kind] = timed(f"compare {kind}", times, gd.compare_with_reference,
                                  fits[kind].table, ref)
    total = time.perf_counter() - t_all

    used = int((~norm["excluded"]).sum())
    print(f"raw wells {len(raw):,}: {used:,} single-agent wells used, "
          f"{int(norm['excluded'].sum()):,} excluded with a reason "
          f"(sum {used + int(norm['excluded'].sum()):,})")
    print(f"curves: {fits['free'].table.shape[0]:,}; reference curves "
          f"{comparisons['free'].n_reference:,}, matched {comparisons['free'].n_matched:,}, "
          f"missing {len(comparisons['free'].missing)}")
    for label, sec in times.items():
        print(f"  {label:<14s} {sec:6.2f} s")
    n_curves = fits["free"].table.shape[0]
    print(f"  {'total':<14s} {total:6.2f} s   (LL.4: {n_curves / times['fit free']:,.0f} "
          f"curves/s; fixed: {n_curves / times['fit fixed']:,.0f} curves/s)")
    cols = ["n", "n_ic50", "spearman", "median_abs_delta", "frac_within_1", "same_side",
            "ref_in_range"]
    for kind, title in (("free", "LL.4, free asymptotes"),
                        ("fixed", "bottom 0 / top 100 % fixed (LL.2-like)")):
        print(f"\nAbsolute IC50 (ln µM) vs gdscIC50 — {title}")
        print("status: " + ", ".join(f"{k} {v}" for k, v in
                                     fits[kind].table["status"].value_counts().items()))
        print(comparisons[kind].summary[cols].round(3).to_string())
        print("classes: " + ", ".join(f"{k} {v}" for k, v in
                                      comparisons[kind].curves["ic50_class"]
                                      .value_counts().items()))
    if args.dask:
        sec, note = dask_check(curves, fits["free"])
        print(f"\ndask engine (LocalCluster, 2 workers, 8 Parquet files): {sec:.2f} s; "
              f"vs the local engine: {note}")


if __name__ == "__main__":
    main()
