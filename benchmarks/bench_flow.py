"""Flow benchmark: 1e6 events x 12 channels, read + compensate + logicle + 5-gate hierarchy.

Run: ``python benchmarks/bench_flow.py [--events 1000000] [--repeat 3]``. A simulated FCS 3.1
file (float32, with ``$SPILLOVER``) is written to a temporary folder; each repeat runs in a
fresh subprocess so that the peak resident memory (``ru_maxrss``) is the pipeline's own.
Printed beside the FlowKit anchor figures measured on this machine for load + compensation
+ logicle only (~4.3 s, ~730 MB; issue 12). Goal: < 0.6 s and < 200 MB.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np

FLOWKIT_S, FLOWKIT_MB = 4.3, 730.0
CHANNELS = ["FSC-A", "FSC-H", "SSC-A", "CD45", "CD33", "CD19", "CD34", "CD184", "HLA-ABC",
            "AnnexinV", "7AAD", "Time"]
FLUO = CHANNELS[3:11]


def simulate(path: Path, n: int, seed: int = 12) -> None:
    from preclin.flow import write_fcs

    rng = np.random.default_rng(seed)
    ev = np.empty((n, len(CHANNELS)), dtype=np.float32)
    fsc = rng.normal(80000, 20000, n)
    ev[:, 0] = fsc
    ev[:, 1] = fsc * rng.normal(0.8, 0.03, n)
    ev[:, 2] = rng.normal(50000, 15000, n)
    for j in range(3, 11):
        pos = rng.random(n) < 0.4
        ev[:, j] = np.where(pos, rng.lognormal(8, 0.6, n), rng.normal(0, 150, n))
    ev[:, 11] = np.sort(rng.uniform(0, 6000, n))
    k = len(FLUO)
    spill = np.eye(k) + np.triu(rng.uniform(0, 0.08, (k, k)), 1)
    meta = {"SPILLOVER": ",".join([str(k), *FLUO, *(f"{v:.6g}" for v in spill.ravel())])}
    write_fcs(path, ev, CHANNELS, metadata=meta)


def _vm(key: str) -> float:
    """MB from /proc/self/status (VmHWM = peak RSS of this process image; ru_maxrss would
    include the parent's RSS at fork time)."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(key + ":"):
            return float(line.split()[1]) / 1024
    return float("nan")


def pipeline(path: str) -> dict[str, float]:
    """One run (in a fresh process): time and peak RSS."""
    import time

    from preclin.flow import read_fcs
    from preclin.flow.compensate import compensate
    from preclin.flow.gates import (
        Dimension,
        EllipsoidGate,
        GatingStrategy,
        PolygonGate,
        QuadrantGate,
        RectangleGate,
    )
    from preclin.flow.transforms import Logicle, apply_transforms

    base = _vm("VmRSS")
    t0 = time.perf_counter()
    s = read_fcs(path)
    t_read = time.perf_counter()
    s = compensate(s, inplace=True)
    t_comp = time.perf_counter()
    lg = Logicle(262144, 0.5, 4.5, 0)
    apply_transforms(s.events, [(s.channel_index(c), lg) for c in FLUO], inplace=True)
    t_xf = time.perf_counter()
    g = GatingStrategy()
    g.add(RectangleGate("Cells", (Dimension("FSC-A"), Dimension("SSC-A")),
                        (20000.0, 5000.0), (250000.0, 250000.0)))
    g.add(PolygonGate("Singlets", (Dimension("FSC-A"), Dimension("FSC-H")),
                      ((20000, 14000), (250000, 180000), (250000, 220000), (20000, 19000))),
          "Cells")
    g.add(RectangleGate("CD45+", (Dimension("CD45"),), (0.55,), (None,)), "Singlets")
    g.add(EllipsoidGate("CD33+", (Dimension("CD33"), Dimension("CD184")), (0.7, 0.7),
                        ((0.01, 0.0), (0.0, 0.01)), 1.0), "CD45+")
    q = QuadrantGate.build("Apoptosis", {"AnnV": (Dimension("AnnexinV"), [0.5]),
                                         "7AAD": (Dimension("7AAD"), [0.5])},
                           {"Live": {"AnnV": 0.0, "7AAD": 0.0}})
    g.add_quadrants(q, "CD33+")
    masks = g.evaluate(s)
    t_gate = time.perf_counter()
    peak = _vm("VmHWM")
    return {"read": t_read - t0, "compensate": t_comp - t_read, "logicle": t_xf - t_comp,
            "gates": t_gate - t_xf, "total": t_gate - t0, "peak_mb": peak,
            "baseline_mb": base, "live": float(masks["Live"].sum())}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--events", type=int, default=1_000_000)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--child", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.child:
        print(json.dumps(pipeline(args.child)))
        return
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "bench.fcs"
        simulate(path, args.events)
        mb = path.stat().st_size / 1e6
        runs = []
        for _ in range(args.repeat):
            out = subprocess.run([sys.executable, __file__, "--child", str(path)],
                                 capture_output=True, text=True, check=True)
            runs.append(json.loads(out.stdout.strip().splitlines()[-1]))
    best = min(runs, key=lambda r: r["total"])
    extra = best["peak_mb"] - best["baseline_mb"]
    print(f"{args.events:,} events x {len(CHANNELS)} channels ({mb:.0f} MB FCS), "
          f"best of {args.repeat} fresh processes")
    print(f"  read {best['read']:.3f} s | compensate {best['compensate']:.3f} s | logicle "
          f"({len(FLUO)} ch) {best['logicle']:.3f} s | 5-gate hierarchy {best['gates']:.3f} s")
    print(f"{'':24}{'preclin':>12}{'FlowKit anchor':>18}{'goal':>10}")
    print(f"{'time (s)':24}{best['total']:>12.3f}{FLOWKIT_S:>18.1f}{'< 0.6':>10}"
          f"   (FlowKit: load + comp + logicle only)")
    print(f"{'peak memory (MB)':24}{extra:>12.0f}{FLOWKIT_MB:>18.0f}{'< 200':>10}"
          f"   (preclin: peak RSS above the {best['baseline_mb']:.0f} MB after imports)")
    print(f"{'ratio FlowKit / preclin':24}{FLOWKIT_S / best['total']:>11.1f}x"
          f"{FLOWKIT_MB / max(extra, 1):>17.1f}x")


if __name__ == "__main__":
    main()
