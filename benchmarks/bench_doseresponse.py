"""Dose-response fitting speed: preclin's batched fitter vs a plain scipy curve_fit loop.

Simulates N curves (9 doses × 3 replicates, mixed kinds), fits LL.4 with ec50 and its 95%
CI, and times a scipy ``curve_fit`` loop on a subset. Prints fits/s for both and the ratio.

    python benchmarks/bench_doseresponse.py --curves 20000 --scipy-curves 200
"""

from __future__ import annotations

import argparse
import resource
import subprocess
import sys
import tempfile
import time
import warnings
from pathlib import Path

import numpy as np
from scipy.optimize import curve_fit

import preclin.doseresponse as dr
from preclin.data.simulate import simulate_curves


def _ll4(x: np.ndarray, b: float, c: float, d: float, e: float) -> np.ndarray:
    return c + (d - c) / (1 + np.exp(b * (np.log(x) - np.log(e))))


def scipy_loop(table, n: int) -> float:
    """Fit the first ``n`` curves one by one with curve_fit; return seconds."""
    ids = table["curve"].unique()[:n]
    sub = table[table["curve"].isin(ids)]
    groups = [(g["dose"].to_numpy(), g["response"].to_numpy()) for _, g in sub.groupby("curve")]
    t0 = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for x, y in groups:
            p0 = [1.0, float(y.min()), float(y.max()), float(np.median(x))]
            try:
                popt, pcov = curve_fit(_ll4, x, y, p0=p0, maxfev=2000)
                _ = np.sqrt(np.diag(pcov))
            except RuntimeError:
                pass
    return time.perf_counter() - t0


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--curves", type=int, default=20000)
    ap.add_argument("--scipy-curves", type=int, default=200)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--cli", action="store_true",
                    help="also time `preclin doseresponse fit` on the same curves as Parquet")
    args = ap.parse_args()
    table = simulate_curves(args.curves, seed=args.seed)
    # warm-up: the first call compiles (or loads the cached) numba kernel
    dr.fit(table.head(270), dose="dose", response="response", by="curve")
    t0 = time.perf_counter()
    res = dr.fit(table, dose="dose", response="response", by="curve", ed=[50])
    t_pc = time.perf_counter() - t0
    t_sp = scipy_loop(table, args.scipy_curves)
    rate_pc = args.curves / t_pc
    rate_sp = args.scipy_curves / t_sp
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    counts = res.table["status"].value_counts().to_dict()
    print(f"preclin fit: {args.curves} curves in {t_pc:.2f} s = {rate_pc:,.0f} fits/s "
          f"(LL.4, ec50 + 95% CI, statuses {counts})")
    print(f"scipy curve_fit loop: {args.scipy_curves} curves in {t_sp:.2f} s = "
          f"{rate_sp:,.0f} fits/s")
    print(f"ratio preclin/scipy: {rate_pc / rate_sp:.1f}x; peak RSS {peak:,.0f} MiB")
    if args.cli:
        with tempfile.TemporaryDirectory() as tmp:
            src = Path(tmp) / "curves.parquet"
            table.to_parquet(src)
            cmd = [sys.executable, "-m", "preclin.cli", "doseresponse", "fit", str(src),
                   "--dose", "dose", "--response", "response", "--by", "curve",
                   "--out", str(Path(tmp) / "fits.parquet")]
            t0 = time.perf_counter()
            subprocess.run(cmd, check=True, capture_output=True)
            t_cli = time.perf_counter() - t0
        print(f"CLI on Parquet: {args.curves} curves in {t_cli:.2f} s = "
              f"{args.curves / t_cli:,.0f} fits/s ({t_cli / t_pc:.2f}x the library time, "
              "including interpreter start-up and Parquet read/write)")


if __name__ == "__main__":
    main()
