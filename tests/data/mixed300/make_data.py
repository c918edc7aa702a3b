"""Regenerate ``curves.csv``: 300 mixed dose-response curves from preclin's simulator.

Run from anywhere with preclin installed::

    python tests/data/mixed300/make_data.py

The table is ``simulate_curves(300, seed=20261121, include_zero=False)`` with the
default doses (9-point 1:3 dilution from 10 uM), 3 replicates, noise sd 5 % and the
default kind mixture. Floats are written with the shortest representation that
round-trips exactly, so reading the CSV back gives the simulator's doubles.
After regenerating, re-run ``fit_reference.R`` (see README.md).
"""

from __future__ import annotations

from pathlib import Path

from preclin.data.simulate import simulate_curves

SEED = 20261121
N_CURVES = 300
HERE = Path(__file__).resolve().parent


def make_curves():
    """Return the simulated table written to ``curves.csv``."""
    return simulate_curves(N_CURVES, seed=SEED, include_zero=False)


def main() -> None:
    df = make_curves()
    out = HERE / "curves.csv"
    df.to_csv(out, index=False, lineterminator="\n")
    print(f"wrote {out} ({len(df)} rows, {df['curve'].nunique()} curves)")
    print(df.groupby("curve")["kind"].first().value_counts().to_string())


if __name__ == "__main__":
    main()
