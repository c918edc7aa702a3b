"""The self-contained HTML report."""

from __future__ import annotations

import re

import numpy as np
import pandas as pd
import pytest
from matplotlib.figure import Figure

from preclin.errors import InputError
from preclin.report import Report, prism_style, sanitise_svg, save_figure

EVIL = '<script>alert("x")</script>'


def _figure(title: str = "curve") -> Figure:
    with prism_style():
        fig = Figure(figsize=(3, 2.5))
        ax = fig.add_subplot()
        ax.plot([1, 2, 3], [3, 1, 2], marker="o")
        ax.set_title(title)
    return fig


def _table() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "drug": ["A", "B", "C", EVIL],
            "status": ["ok", "flat", None, "no_convergence"],
            "ec50": [1.234567, np.nan, 1234567.0, 0.000123456],
            "n": [9, 9, 3, 0],
            EVIL: ["x", "y", "z", "w"],
        }
    )


def _report() -> Report:
    rep = Report(EVIL, subtitle=EVIL)
    rep.add_notice("These data are SIMULATED", kind="simulated")
    rep.add_notice(EVIL, kind="warning")
    rep.add_section(EVIL, text=f"first {EVIL}\n\nsecond paragraph")
    rep.add_section("Sub", level=3)
    rep.add_figure(_figure(EVIL), caption=EVIL, name=EVIL)
    rep.add_figure(_figure("raster"), caption="as png", name="png", fmt="png")
    rep.add_table(_table(), caption=EVIL, highlight="status")
    rep.add_warnings([EVIL, "curve B: flat"])
    rep.add_key_values({EVIL: EVIL, "alpha": 0.05, "doses": [0.1, 1.0]}, caption=EVIL)
    return rep


@pytest.fixture(scope="module")
def html() -> str:
    return _report().to_html()


def test_user_text_is_escaped_everywhere(html: str) -> None:
    assert "<script" not in html.lower()
    assert "&lt;script&gt;" in html
    # title, caption, header and cell all present, escaped
    assert html.count("&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;") >= 8
    assert "onload=" not in html and "onerror=" not in html


def test_self_contained(html: str) -> None:
    for bad in ('src="http', "src='http", 'href="http', "href='http", "://", "url(http"):
        assert bad not in html
    # every src is a data URI, every href a local anchor
    assert all(v.startswith("data:") for v in re.findall(r'\ssrc="([^"]*)"', html))
    assert all(v.startswith("#") for v in re.findall(r'\s(?:xlink:)?href="([^"]*)"', html))
    assert "<link" not in html
    assert "default-src 'none'" in html  # CSP: no scripts, no remote loads


def test_figures_are_inline(html: str) -> None:
    assert "<svg" in html
    assert 'src="data:image/png;base64,' in html
    assert "<?xml" not in html and "<!DOCTYPE svg" not in html
    # ids inside the two figures cannot clash
    ids = re.findall(r'\sid="([^"]+)"', html)
    assert len(ids) == len(set(ids))


def test_deterministic() -> None:
    assert _report().to_html() == _report().to_html()
    rep = _report()
    assert rep.to_html() == rep.to_html()


def test_toc_and_anchors(html: str) -> None:
    nav = html[html.index('<nav class="toc"') : html.index("</nav>")]
    for anchor in re.findall(r'href="#([^"]+)"', nav):
        assert f'id="{anchor}"' in html
    assert 'class="l3"' in nav
    assert "Warnings" in nav


def test_warnings_list(html: str) -> None:
    assert '<ul class="warnings">' in html
    assert "<li>curve B: flat</li>" in html
    rep = Report("r")
    rep.add_warnings([])
    assert "No warnings" in rep.to_html()


def test_table_highlight_and_format() -> None:
    rep = Report("r")
    rep.add_table(_table(), caption="fits", highlight="status")
    html = rep.to_html()
    body = html[html.index("<tbody>") : html.index("</tbody>")]
    rows = re.findall(r"<tr[^>]*>.*?</tr>", body)
    assert len(rows) == 4
    flagged = [r.startswith('<tr class="warn">') for r in rows]
    assert flagged == [False, True, False, True]  # ok, flat, empty, no_convergence
    assert '<td class="flag">flat</td>' in rows[1]
    assert ">1.235<" in rows[0]  # 4 significant digits
    assert ">1.235e+06<" in rows[2]
    assert ">0.0001235<" in rows[3]
    with pytest.raises(ValueError, match="highlight"):
        rep.add_table(_table(), highlight="nope")


def test_table_truncation_and_index() -> None:
    df = pd.DataFrame({"x": range(20)}, index=pd.Index([f"r{i}" for i in range(20)], name="id"))
    rep = Report("r")
    rep.add_table(df, caption="long", max_rows=5)
    html = rep.to_html()
    assert "Showing the first 5 of 20 rows" in html
    assert '<th scope="col">id</th>' in html and ">r4<" in html and ">r5<" not in html


def test_notice_kinds() -> None:
    rep = Report("r")
    rep.add_notice("These data are SIMULATED", kind="simulated")
    assert 'class="notice notice-simulated"' in rep.to_html()
    with pytest.raises(ValueError):
        rep.add_notice("x", kind="loud")  # type: ignore[arg-type]


def test_figure_from_files(tmp_path) -> None:
    svg_path, png_path = save_figure(_figure("from file"), tmp_path / "f")
    rep = Report("r")
    rep.add_figure(svg_path, caption="svg file", name="a")
    rep.add_figure(png_path, caption="png file", name="b")
    html = rep.to_html()
    assert ">from file</text>" in html
    assert 'src="data:image/png;base64,' in html
    assert str(tmp_path) not in html
    with pytest.raises(InputError):
        rep.add_figure(tmp_path / "missing.svg", caption="x")
    (tmp_path / "x.txt").write_text("hi")
    with pytest.raises(InputError):
        rep.add_figure(tmp_path / "x.txt", caption="x")


def test_sanitise_svg_strips_active_content() -> None:
    evil = (
        '<svg xmlns="http://www.w3.org/2000/svg" xmlns:xlink="http://www.w3.org/1999/xlink" '
        'onload="alert(1)"><script>alert(2)</script><SCRIPT>alert(3)</SCRIPT>'
        '<g id="a" onclick="alert(4)" style="fill:url(http://evil/x.svg#p)">'
        '<image xlink:href="http://evil/x.png"/><image href="javascript:alert(5)"/>'
        '<use xlink:href="#a" clip-path="url(#c)"/>'
        "<foreignObject><div>hi</div></foreignObject>"
        '<set attributeName="href" to="javascript:alert(6)"/>'
        "<text>&lt;script&gt;</text></g>"
        '<style>@import url("http://evil/x.css");</style></svg>'
    )
    out = sanitise_svg(evil, id_prefix="p-")
    low = out.lower()
    assert "<script" not in low and "onload" not in low and "onclick" not in low
    assert "http" not in low and "javascript" not in low and "@import" not in low
    assert "foreignobject" not in low and "<set" not in low
    assert 'id="p-a"' in out and 'xlink:href="#p-a"' in out and "url(#p-c)" in out
    assert "<text>&lt;script&gt;</text>" in out


def test_sanitise_svg_rejects_entities() -> None:
    bomb = '<?xml version="1.0"?><!DOCTYPE svg [<!ENTITY a "aaaa">]><svg>&a;</svg>'
    with pytest.raises(InputError):
        sanitise_svg(bomb)
    with pytest.raises(InputError):
        sanitise_svg("<html></html>")


def test_write(tmp_path) -> None:
    rep = _report()
    path = rep.write(tmp_path / "out" / "report.html")
    assert path.read_text(encoding="utf-8") == rep.to_html()
