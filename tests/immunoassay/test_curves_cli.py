"""4PL/5PL on simulated data (increasing, decreasing, weights) and the CLI."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from preclin.cli import main
from preclin.immunoassay import fit_curve, logistic


@pytest.mark.parametrize("weights", ["none", "1/y", "1/y2"])
@pytest.mark.parametrize(("a", "b"), [(10.0, 20000.0), (2.0, 0.1)])
def test_exact_curves_recovered(weights: str, a: float, b: float) -> None:
    x = 12.5 * 2.0 ** np.arange(7)
    y = logistic(x, a, b, 150.0, -1.3, 1.0)
    f = fit_curve(np.repeat(x, 2), np.repeat(y, 2), model="4pl", weights=weights)
    assert f.c == pytest.approx(150.0, rel=1e-6) and f.d == pytest.approx(-1.3, rel=1e-6)
    assert f.direction == ("increasing" if b > a else "decreasing")
    np.testing.assert_allclose(f.inverse(y), x, rtol=1e-6)


def test_cli_fit_long_table(tmp_path: Path) -> None:
    x = 800 / 2.0 ** np.arange(7)
    y = logistic(x, 50.0, 3000.0, 100.0, -1.2, 1.0)
    rows = [{"analyte": "TNF", "sample": f"std{i}", "signal": s, "expected": c}
            for i, (c, s) in enumerate(zip(x, y, strict=True))]
    rows += [{"analyte": "TNF", "sample": "s1", "signal": float(logistic(
        [100.0], 50.0, 3000.0, 100.0, -1.2, 1.0)[0]), "expected": np.nan, "dilution": 2}]
    p = tmp_path / "ia.csv"
    pd.DataFrame(rows).to_csv(p, index=False)
    out, prm = tmp_path / "out.csv", tmp_path / "p.csv"
    assert main(["immunoassay", "fit", str(p), "--model", "4pl", "--out", str(out),
                 "--params", str(prm)]) == 0
    t = pd.read_csv(out)
    assert list(t.columns[:4]) == ["analyte", "well", "sample", "type"]
    assert t.loc[t["sample"] == "s1", "concentration"].iloc[0] == pytest.approx(200.0, rel=1e-5)
    assert pd.read_csv(prm)["analyte"].tolist() == ["TNF"]
