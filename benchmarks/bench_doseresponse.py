"""Dose-response fitting speed: preclin's compiled fitter vs two scipy curve_fit loops.

Simulates N curves (9 doses × 3 replicates, mixed kinds: clean, flat, partial, steep,
noisy, ec50 beyond either end of the range), fits LL.4 with ec50 and its 95% CI (the whole
result table: every statistic, status and message), and times two scipy ``curve_fit``
loops on a subset: unbounded Levenberg–Marquardt from a good data-driven start (the
fastest fair loop) and bounded TRF from three starts keeping the best (as robust as
preclin's search). Prints fits/s for each and the ratios.

With ``--memory`` the same curves are written to Parquet and fitted in a fresh process
(read → fit), which reports its peak resident memory: input table and fit together.
With ``--cli`` the CLI (`preclin doseresponse fit`) is timed on that Parquet file. Timings
are the best of ``--repeat`` runs (3), for preclin, the scipy loops and the CLI alike.
With ``--cold`` first runs are timed with an empty numba cache against warm runs: 5 curves
through the CLI, the demo, and the N curves through the CLI.

    python benchmarks/bench_doseresponse.py --curves 200000 --memory --cli --cold
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


def _groups(table: pd.DataFrame, n: int) -> list[tuple[np.ndarray, np.ndarray]]:
    ids = table["curve"].unique()[:n]
    sub = table[table["curve"].isin(ids)]
    return [(g["dose"].to_numpy(), g["response"].to_numpy()) for _, g in sub.groupby("curve")]


def _good_start(x: np.ndarray, y: np.ndarray) -> list[float]:
    """A data-driven start as a careful user would give it: asymptotes from the responses
    at the lowest and highest dose, ec50 where the dose-means cross the midpoint."""
    doses = np.unique(x)
    means = np.array([y[x == d].mean() for d in doses])
    top, bottom = float(means[0]), float(means[-1])
    mid = 0.5 * (top + bottom)
    cross = np.nonzero(np.diff(np.sign(means - mid)))[0]
    e = float(np.sqrt(doses[cross[0]] * doses[cross[0] + 1])) if cross.size else float(
        np.median(doses))
    return [1.0 if top >= bottom else -1.0, bottom, top, e]


def scipy_lm_loop(table: pd.DataFrame, n: int) -> float:
    """Unbounded Levenberg–Marquardt (``curve_fit(method="lm")``, MINPACK) from a good
    start, one curve at a time, with ec50's SE: the fastest fair scipy loop. Seconds."""
    groups = _groups(table, n)
    starts = [_good_start(x, y) for x, y in groups]  # given for free: not timed
    t0 = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for (x, y), p0 in zip(groups, starts, strict=True):
            try:
                popt, pcov = curve_fit(_ll4, x, y, p0=p0, method="lm",
                                       maxfev=2000)
                _ = np.sqrt(np.diag(pcov))
            except (RuntimeError, ValueError):
                pass
    return time.perf_counter() - t0


def scipy_bounded_loop(table: pd.DataFrame, n: int, starts: int = 3) -> float:
    """Bounded trust-region fits (``curve_fit(method="trf")``, the bounds preclin also
    keeps: |hill| <= 1000, ec50 within e^±12 of the doses) from ``starts`` starting points
    (the good start and two other slopes), keeping the best: what it takes scipy to be as
    robust as preclin's multi-start search. Seconds."""
    groups = _groups(table, n)
    good = [_good_start(x, y) for x, y in groups]  # given for free: not timed
    t0 = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for (x, y), p0 in zip(groups, good, strict=True):
            pos = x[x > 0]
            lo = [-1000.0, -np.inf, -np.inf, float(pos.min()) * np.exp(-12)]
            hi = [1000.0, np.inf, np.inf, float(pos.max()) * np.exp(12)]
            best = np.inf
            for slope in [p0[0], 3.0 * p0[0], 0.3 * p0[0]][:starts]:
                try:
                    popt, pcov = curve_fit(_ll4, x, y, p0=[slope, *p0[1:]], bounds=(lo, hi),
                                           method="trf", maxfev=2000)
                except (RuntimeError, ValueError):
                    continue
                rss = float(np.sum((y - _ll4(x, *popt)) ** 2))
                if rss < best:
                    best = rss
                    _ = np.sqrt(np.diag(pcov))
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


def _time_cmd(args: list[str], env: dict[str, str] | None = None) -> float:
    """Wall time of ``python -m preclin.cli ARGS`` in a fresh process, seconds."""
    cmd = [sys.executable, "-m", "preclin.cli", *args]
    t0 = time.perf_counter()
    subprocess.run(cmd, check=True, capture_output=True, env=env)
    return time.perf_counter() - t0


def _time_cli(src: Path, out: Path, env: dict[str, str] | None = None) -> float:
    """Wall time of `preclin doseresponse fit` on a table file, seconds."""
    return _time_cmd(["doseresponse", "fit", str(src), "--dose", "dose", "--response",
                      "response", "--by", "curve", "--out", str(out)], env)


def cold_and_warm(table: pd.DataFrame, tmp: Path, reps: int) -> None:
    """First-run figures: each command in a fresh process with an empty numba cache (cold,
    as on a fresh install), then the same command again with that cache filled (warm)."""
    import hashlib
    import os

    def digest(folder: Path) -> str:
        h = hashlib.sha256()
        for f in sorted(folder.rglob("*")):
            if f.is_file() and f.suffix in (".csv", ".parquet"):
                h.update(f.read_bytes())
        return h.hexdigest()[:12]

    small = tmp / "five.csv"
    table[table["curve"].isin(table["curve"].unique()[:5])].to_csv(small, index=False)
    cache = Path(tempfile.mkdtemp(prefix="numba-cold-"))
    env = {**os.environ, "NUMBA_CACHE_DIR": str(cache)}
    cold = _time_cli(small, tmp / "five_cold.csv", env)
    warm = min(_time_cli(small, tmp / "five_warm.csv", env) for _ in range(reps))
    same = (tmp / "five_cold.csv").read_bytes() == (tmp / "five_warm.csv").read_bytes()
    print(f"first fit, 5 curves (CLI, CSV): cold {cold:.2f} s, warm {warm:.2f} s "
          f"({cold / warm:.1f}x); identical tables: {same}")
    cache = Path(tempfile.mkdtemp(prefix="numba-cold-"))
    env = {**os.environ, "NUMBA_CACHE_DIR": str(cache)}
    cold = _time_cmd(["demo", "--out", str(tmp / "demo_cold")], env)
    warm = min(_time_cmd(["demo", "--out", str(tmp / f"demo_warm{i}")], env)
               for i in range(reps))
    same = digest(tmp / "demo_cold" / "tables") == digest(tmp / "demo_warm0" / "tables")
    print(f"preclin demo: cold {cold:.2f} s, warm {warm:.2f} s; identical tables: {same}")
    big = tmp / "curves.parquet"
    if not big.exists():
        table.to_parquet(big)
    cache = Path(tempfile.mkdtemp(prefix="numba-cold-"))
    env = {**os.environ, "NUMBA_CACHE_DIR": str(cache)}
    cold = _time_cli(big, tmp / "big_cold.parquet", env)
    warm = min(_time_cli(big, tmp / "big_warm.parquet", env) for _ in range(reps))
    same = (pd.read_parquet(tmp / "big_cold.parquet")
            .equals(pd.read_parquet(tmp / "big_warm.parquet")))
    print(f"CLI on {len(table['curve'].unique()):,} curves (Parquet): cold {cold:.1f} s "
          f"(compiles the kernels once), warm {warm:.2f} s; identical tables: {same}")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--curves", type=int, default=20000)
    ap.add_argument("--scipy-curves", type=int, default=1000,
                    help="curves in each scipy loop (the first 200 of a run are easier than "
                    "the mix and run ~1.5x faster; 1,000 estimate the mix's rate)")
    ap.add_argument("--bounded-curves", type=int, default=200,
                    help="curves in the bounded multi-start scipy loop (~20-60 fits/s)")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--memory", action="store_true",
                    help="also fit the curves from Parquet in a fresh process and report its "
                    "peak memory")
    ap.add_argument("--cli", action="store_true",
                    help="also time `preclin doseresponse fit` on the same curves as Parquet")
    ap.add_argument("--cold", action="store_true",
                    help="also time first runs with an empty numba cache (5 curves, the "
                    "demo, --curves curves through the CLI) against warm runs")
    ap.add_argument("--repeat", type=int, default=3,
                    help="timings taken as the best of this many runs (the library fit, the "
                    "scipy loops and the CLI alike; this machine's speed drifts)")
    ap.add_argument("--child", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.child:
        child(args.child)
        return
    table = simulate_curves(args.curves, seed=args.seed)[["curve", "dose", "response"]]
    # warm-up: the first call compiles (or loads the cached) numba kernel
    dr.fit(table.head(270), dose="dose", response="response", by="curve", engine="numba")
    reps = max(args.repeat, 1)
    t_pcs, t_lms, t_bds = [], [], []
    for _ in range(reps):
        t0 = time.perf_counter()
        res = dr.fit(table, dose="dose", response="response", by="curve", ed=[50],
                     engine="numba")
        t_pcs.append(time.perf_counter() - t0)
        t_lms.append(scipy_lm_loop(table, args.scipy_curves))
        t_bds.append(scipy_bounded_loop(table, min(args.bounded_curves, args.scipy_curves)))
    t_pc, t_lm, t_bd = min(t_pcs), min(t_lms), min(t_bds)
    rate_pc = args.curves / t_pc
    rate_lm = args.scipy_curves / t_lm
    n_bounded = min(args.bounded_curves, args.scipy_curves)
    rate_bd = n_bounded / t_bd
    counts = res.table["status"].value_counts().to_dict()
    print(f"preclin fit (numba engine): {args.curves} curves in {t_pc:.2f} s = "
          f"{rate_pc:,.0f} fits/s (best of {reps}, slowest {max(t_pcs):.2f} s; LL.4, ec50 + "
          f"95% CI and the full table; statuses {counts})")
    print(f"scipy curve_fit, unbounded LM from a good start: {args.scipy_curves} curves in "
          f"{t_lm:.2f} s = {rate_lm:,.0f} fits/s (best of {reps}); preclin "
          f"{rate_pc / rate_lm:.1f}x")
    print(f"scipy curve_fit, bounded TRF from 3 starts (best kept): {n_bounded} "
          f"curves in {t_bd:.2f} s = {rate_bd:,.0f} fits/s (best of {reps}); preclin "
          f"{rate_pc / rate_bd:.1f}x")
    if not (args.memory or args.cli or args.cold):
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
            rate_cli = args.curves / t_cli
            print(f"CLI on Parquet: {args.curves} curves in {t_cli:.2f} s = "
                  f"{rate_cli:,.0f} fits/s (best of {reps}, slowest {max(t_clis):.2f} s; "
                  f"{rate_cli / rate_lm:.1f}x the unbounded scipy LM loop, "
                  f"{rate_cli / rate_bd:.1f}x the bounded multi-start loop; "
                  f"{t_cli / t_pc:.2f}x the library time, including interpreter start-up and "
                  f"Parquet read/write); start-up (the CLI on 10 curves, numpy engine) "
                  f"{t_start:.2f} s")
        if args.cold:
            cold_and_warm(table, Path(tmp), reps)


if __name__ == "__main__":
    main()
