"""Dose-response fitting speed: preclin's batched fitter vs a plain scipy curve_fit loop.

Simulates N curves (9 doses × 3 replicates, mixed kinds: clean, flat, partial, steep,
noisy, ec50 beyond either end of the range), fits LL.4 with ec50 and its 95% CI (the whole
result table: every statistic, status and message), and times a scipy ``curve_fit`` loop on
a subset. Prints fits/s for both and the ratio.

With ``--memory`` the same curves are written to Parquet and fitted in a fresh process
(read → fit), which reports its peak resident memory: input table and fit together.
With ``--cli`` the CLI (`preclin doseresponse fit`) is timed on that Parquet file. Timings
are the best of ``--repeat`` runs (3), for preclin, the scipy loop and the CLI alike.

    python benchmarks/bench_doseresponse.py --curves 200000 --memory --cli
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import tempfile
import time
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
from scipy.optimize import curve_fit

import preclin.doseresponse as dr
from preclin.data.simulate import simulate_curves
from preclin.tables import read_table

GIB = 1024**3


def _ll4(x: np.ndarray, b: float, c: float, d: float, e: float) -> np.ndarray:
    return c + (d - c) / (1 + np.exp(b * (np.log(x) - np.log(e))))


def scipy_loop(table: pd.DataFrame, n: int) -> float:
    """Fit the first ``n`` curves one by one with curve_fit (ec50 and its SE); seconds."""
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


def _status_gib(field: str) -> float:
    """A memory field of /proc/self/status (VmHWM, VmRSS) in GiB; NaN where there is none."""
    status = Path("/proc/self/status")
    if status.exists():
        for line in status.read_text().splitlines():
            if line.startswith(field + ":"):
                return int(line.split()[1]) * 1024 / GIB
    return float("nan")


def _peak_rss() -> float:
    """Peak resident memory of this process so far, GiB.

    Linux: VmHWM (``ru_maxrss`` would carry over the parent's peak into a child started by
    fork + exec); elsewhere ``ru_maxrss``.
    """
    peak = _status_gib("VmHWM")
    if peak == peak:
        return peak
    scale = 1 if sys.platform == "darwin" else 1024  # bytes on macOS, KiB on Linux
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * scale / GIB


def _reset_peak() -> bool:
    """Restart the peak-memory count (Linux: ``echo 5 > /proc/self/clear_refs``)."""
    try:
        Path("/proc/self/clear_refs").write_text("5")
        return True
    except OSError:
        return False


def child(path: str) -> None:
    """Read the Parquet input, fit, print JSON with timings and peak memory."""
    dr.fit(pd.DataFrame({"curve": ["w"] * 4, "dose": [0.1, 1.0, 10.0, 100.0],
                         "response": [100.0, 90.0, 40.0, 5.0]}),
           dose="dose", response="response", by="curve")  # load the compiled kernel
    base = _peak_rss()
    t0 = time.perf_counter()
    table = read_table(path, categorical=["curve"])  # as the CLI reads it
    t_read = time.perf_counter() - t0
    after_read = _peak_rss()
    reset = _reset_peak()
    before_fit = _status_gib("VmRSS")
    t0 = time.perf_counter()
    res = dr.fit(table, dose="dose", response="response", by="curve", ed=[50])
    t_fit = time.perf_counter() - t0
    print(json.dumps({"read_s": t_read, "fit_s": t_fit, "base_gib": base,
                      "after_read_gib": after_read, "before_fit_gib": before_fit,
                      "fit_peak_gib": _peak_rss() if reset else float("nan"),
                      "input_gib": table.memory_usage(deep=True).sum() / GIB,
                      "curves": len(res.table)}))


def _time_cli(src: Path, out: Path) -> float:
    """Wall time of `preclin doseresponse fit` on a Parquet file, seconds."""
    cmd = [sys.executable, "-m", "preclin.cli", "doseresponse", "fit", str(src),
           "--dose", "dose", "--response", "response", "--by", "curve", "--out", str(out)]
    t0 = time.perf_counter()
    subprocess.run(cmd, check=True, capture_output=True)
    return time.perf_counter() - t0


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--curves", type=int, default=20000)
    ap.add_argument("--scipy-curves", type=int, default=1000,
                    help="curves in the scipy loop (the first 200 of a run are easier than "
                    "the mix and run ~1.5x faster; 1,000 estimate the mix's rate)")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--memory", action="store_true",
                    help="also fit the curves from Parquet in a fresh process and report its "
                    "peak memory")
    ap.add_argument("--cli", action="store_true",
                    help="also time `preclin doseresponse fit` on the same curves as Parquet")
    ap.add_argument("--repeat", type=int, default=3,
                    help="timings taken as the best of this many runs (the library fit, the "
                    "scipy loop and the CLI alike; this machine's speed drifts)")
    ap.add_argument("--child", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.child:
        child(args.child)
        return
    table = simulate_curves(args.curves, seed=args.seed)[["curve", "dose", "response"]]
    # warm-up: the first call compiles (or loads the cached) numba kernel
    dr.fit(table.head(270), dose="dose", response="response", by="curve")
    reps = max(args.repeat, 1)
    t_pcs, t_sps = [], []
    for _ in range(reps):
        t0 = time.perf_counter()
        res = dr.fit(table, dose="dose", response="response", by="curve", ed=[50])
        t_pcs.append(time.perf_counter() - t0)
        t_sps.append(scipy_loop(table, args.scipy_curves))
    t_pc, t_sp = min(t_pcs), min(t_sps)
    rate_pc = args.curves / t_pc
    rate_sp = args.scipy_curves / t_sp
    counts = res.table["status"].value_counts().to_dict()
    print(f"preclin fit: {args.curves} curves in {t_pc:.2f} s = {rate_pc:,.0f} fits/s "
          f"(best of {reps}, slowest {max(t_pcs):.2f} s; LL.4, ec50 + 95% CI and the full "
          f"table; statuses {counts})")
    print(f"scipy curve_fit loop: {args.scipy_curves} curves in {t_sp:.2f} s = "
          f"{rate_sp:,.0f} fits/s (best of {reps}, slowest {max(t_sps):.2f} s)")
    print(f"ratio preclin/scipy: {rate_pc / rate_sp:.1f}x")
    if not (args.memory or args.cli):
        return
    with tempfile.TemporaryDirectory() as tmp:
        src = Path(tmp) / "curves.parquet"
        table.to_parquet(src)
        del res
        if args.memory:
            out = subprocess.run([sys.executable, __file__, "--child", str(src)], check=True,
                                 capture_output=True, text=True).stdout
            m = json.loads(out.strip().splitlines()[-1])
            print(f"fresh process, Parquet → fit: read {m['read_s']:.2f} s + fit "
                  f"{m['fit_s']:.2f} s = {args.curves / (m['read_s'] + m['fit_s']):,.0f} fits/s; "
                  f"memory: interpreter + libraries {m['base_gib']:.2f} GiB, peak while reading "
                  f"{m['after_read_gib']:.2f} GiB (input table {m['input_gib']:.2f} GiB); "
                  f"fit: peak {m['fit_peak_gib']:.2f} GiB from {m['before_fit_gib']:.2f} GiB "
                  f"= +{m['fit_peak_gib'] - m['before_fit_gib']:.2f} GiB working memory")
        if args.cli:
            # the same command on 10 curves: its time is the CLI's fixed start-up
            # (interpreter, imports, numba loading its cached kernels)
            tiny = Path(tmp) / "tiny.parquet"
            table[table["curve"].isin(table["curve"].unique()[:10])].to_parquet(tiny)
            t_clis = [_time_cli(src, Path(tmp) / "fits.parquet") for _ in range(reps)]
            t_start = min(_time_cli(tiny, Path(tmp) / "fits.parquet") for _ in range(reps))
            t_cli = min(t_clis)
            print(f"CLI on Parquet: {args.curves} curves in {t_cli:.2f} s = "
                  f"{args.curves / t_cli:,.0f} fits/s (best of {reps}, slowest "
                  f"{max(t_clis):.2f} s; {t_cli / t_pc:.2f}x the library time, including "
                  "interpreter start-up and Parquet read/write); start-up (the CLI on 10 "
                  f"curves) {t_start:.2f} s, the rest {t_cli - t_start:.2f} s = "
                  f"{(t_cli - t_start) / t_pc:.2f}x the library time")


if __name__ == "__main__":
    main()
