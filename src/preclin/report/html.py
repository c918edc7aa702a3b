"""A self-contained HTML report: one file, inline CSS, inline figures, no JavaScript.

Every piece of text given to :class:`Report` is treated as plain text and escaped with
:func:`html.escape`; the only markup in the output is written by this module. Figures are
inlined as sanitised SVG (scripts, event handlers and external references removed) or as
base64 ``data:`` URIs, so the report never fetches anything; a Content-Security-Policy
``<meta>`` tag additionally forbids scripts and remote loads in the browser.

The output is deterministic: building the same report twice gives the same string (no
timestamps unless passed in as ``date``).

The architecture sketch mentions jinja2; it is not a dependency of preclin, so the page
is assembled from small string fragments instead of templates.
"""

from __future__ import annotations

import base64
import math
import numbers
import re
from collections.abc import Callable, Iterable, Mapping
from html import escape
from importlib import metadata as _metadata
from pathlib import Path
from typing import Any, Literal

import numpy as np
import pandas as pd

from ..errors import InputError
from .style import render_figure

__all__ = ["Report", "sanitise_svg"]

NoticeKind = Literal["info", "warning", "simulated"]

_SVG_NS = "http://www.w3.org/2000/svg"
_XLINK_NS = "http://www.w3.org/1999/xlink"
_XML_NS = "http://www.w3.org/XML/1998/namespace"

# SVG elements dropped with their content: scripting, foreign HTML, animation that can
# rewrite attributes (e.g. set href to javascript:), and the RDF metadata block.
_DROP_TAGS = frozenset(
    {
        "script",
        "foreignobject",
        "metadata",
        "set",
        "animate",
        "animatemotion",
        "animatetransform",
        "handler",
        "listener",
        "iframe",
        "embed",
        "object",
    }
)
_BAD_VALUE = re.compile(r"(?i)javascript:|vbscript:|expression\s*\(|@import|behavior\s*:")
_URL_REF = re.compile(r"url\(\s*(['\"]?)\s*#")
_ANY_URL = re.compile(r"(?i)url\(")

_CSS = """
:root { --fg:#1a1a1a; --muted:#5f6368; --line:#d0d4d9; --accent:#0b5394;
        --warn-bg:#fdecea; --warn-fg:#8a1c1c; --info-bg:#e8f0fe; --info-fg:#0b3d91;
        --amber-bg:#fff4e0; --amber-fg:#7a4b00; }
* { box-sizing: border-box; }
body { font-family: Arial, Helvetica, "Liberation Sans", "DejaVu Sans", sans-serif;
       color: var(--fg); margin: 0; line-height: 1.45; background: #fff; }
.page { max-width: 1180px; margin: 0 auto; padding: 24px 32px 48px; }
header h1 { margin: 0 0 4px; font-size: 1.8em; }
header .subtitle { margin: 0; color: var(--muted); font-size: 1.1em; }
header .date { margin: 4px 0 0; color: var(--muted); font-size: 0.9em; }
nav.toc { border: 1px solid var(--line); border-radius: 6px; padding: 10px 18px;
          margin: 20px 0; background: #fafbfc; }
nav.toc h2 { font-size: 1em; margin: 0 0 6px; }
nav.toc ul { margin: 0; padding-left: 18px; }
nav.toc li.l3 { margin-left: 18px; } nav.toc li.l4 { margin-left: 36px; }
nav.toc a { color: var(--accent); text-decoration: none; }
h2 { border-bottom: 2px solid var(--line); padding-bottom: 4px; margin-top: 36px; }
h2, h3, h4 { scroll-margin-top: 12px; }
p { margin: 8px 0; }
.notice { border-left: 6px solid; border-radius: 4px; padding: 10px 14px; margin: 16px 0;
          font-weight: bold; }
.notice-info { background: var(--info-bg); color: var(--info-fg); border-color: #4a78c2; }
.notice-warning { background: var(--amber-bg); color: var(--amber-fg); border-color: #e69f00; }
.notice-simulated { color: #fff; border-color: #5a0000; font-size: 1.15em;
  letter-spacing: 0.02em; text-transform: none;
  background: repeating-linear-gradient(135deg, #b22222 0 14px, #c0392b 14px 28px); }
.notice .kind { text-transform: uppercase; margin-right: 8px; }
figure { margin: 20px 0; }
figure .img svg, figure .img img { max-width: 100%; height: auto; display: block; }
figcaption, table caption { color: var(--muted); font-size: 0.92em; text-align: left;
                            padding: 6px 0; caption-side: top; }
figcaption b, table caption b { color: var(--fg); }
.table-wrap { overflow-x: auto; margin: 16px 0; }
table.data { border-collapse: collapse; font-size: 0.88em; }
table.data th, table.data td { border-bottom: 1px solid var(--line); padding: 3px 10px;
                               text-align: left; vertical-align: top; white-space: nowrap; }
table.data th { background: #f1f3f4; position: sticky; top: 0; }
table.data td.num { text-align: right; font-variant-numeric: tabular-nums; }
table.data tbody tr:nth-child(even) { background: #fafbfc; }
table.data tr.warn, table.data tbody tr.warn:nth-child(even) { background: var(--warn-bg); }
table.data td.flag { color: var(--warn-fg); font-weight: bold; }
.truncated { color: var(--muted); font-size: 0.85em; }
table.kv { border-collapse: collapse; margin: 12px 0; font-size: 0.92em; }
table.kv th { text-align: left; padding: 3px 16px 3px 0; color: var(--muted);
              font-weight: normal; vertical-align: top; }
table.kv td { padding: 3px 0; }
ul.warnings li { color: var(--warn-fg); margin: 3px 0; }
p.no-warnings { color: #1e7b34; }
footer { margin-top: 48px; color: var(--muted); font-size: 0.8em;
         border-top: 1px solid var(--line); padding-top: 8px; }
@media print { nav.toc { display: none; } .table-wrap { overflow: visible; }
               table.data th { position: static; } }
""".strip()

_CSP = "default-src 'none'; img-src data:; style-src 'unsafe-inline'; font-src data:"


def _version() -> str:
    try:
        return _metadata.version("preclin")
    except _metadata.PackageNotFoundError:  # pragma: no cover - running from a checkout
        return "unknown"


def _slug(text: str, fallback: str) -> str:
    slug = re.sub(r"[^a-z0-9]+", "-", str(text).lower()).strip("-")
    return slug[:60].strip("-") or fallback


def _paragraphs(text: str) -> str:
    """Plain text to escaped ``<p>`` blocks (blank line = new paragraph, newline = <br>)."""
    blocks = [b.strip() for b in re.split(r"\n\s*\n", str(text)) if b.strip()]
    return "\n".join(
        "<p>" + "<br>\n".join(escape(line) for line in block.splitlines()) + "</p>"
        for block in blocks
    )


def _is_missing(value: Any) -> bool:
    if value is None or value is pd.NA or value is pd.NaT:
        return True
    if isinstance(value, (float, np.floating)):
        return bool(np.isnan(value))
    if isinstance(value, (str, bytes, bool, np.bool_, numbers.Integral)):
        return False
    try:
        return bool(pd.isna(value))
    except (TypeError, ValueError):  # arrays, lists: not a missing scalar
        return False


def _format_value(value: Any, float_format: Callable[[float], str]) -> str:
    """Unescaped text for one value (callers escape)."""
    if _is_missing(value):
        return ""
    if isinstance(value, (bool, np.bool_)):
        return str(bool(value))
    if isinstance(value, numbers.Integral):
        return str(int(value))
    if isinstance(value, (float, np.floating)):
        return float_format(float(value))
    if isinstance(value, (list, tuple, set, frozenset)):
        return ", ".join(_format_value(v, float_format) for v in value)
    return str(value)


def _is_flagged(value: Any) -> bool:
    """A value that should be highlighted: not empty, not 'ok', not False/0."""
    if _is_missing(value):
        return False
    if isinstance(value, (bool, np.bool_)):
        return bool(value)
    if isinstance(value, numbers.Number):
        return value != 0
    text = str(value).strip()
    return text != "" and text.lower() != "ok"


def _float_formatter(float_format: str | Callable[[float], str]) -> Callable[[float], str]:
    if callable(float_format):
        return float_format
    spec = float_format

    def fmt(x: float) -> str:
        if math.isinf(x):
            return "inf" if x > 0 else "-inf"
        return format(x, spec)

    return fmt


def _column_label(col: Any) -> str:
    if isinstance(col, tuple):
        return " / ".join(str(c) for c in col if str(c) != "")
    return str(col)


# ----------------------------------------------------------------------- SVG sanitising
def _local(tag: str) -> str:
    return tag.rsplit("}", 1)[-1] if tag.startswith("{") else tag


def _attr_name(key: str) -> str | None:
    if not key.startswith("{"):
        return key
    ns, local = key[1:].split("}", 1)
    if ns == _XLINK_NS:
        return f"xlink:{local}"
    if ns == _XML_NS:
        return f"xml:{local}"
    return None  # attributes from other namespaces (sodipodi, inkscape, ...) are dropped


def _clean_css(text: str, prefix: str) -> str | None:
    """Rewrite local ``url(#id)`` references; ``None`` if the CSS is unsafe or external."""
    if _BAD_VALUE.search(text):
        return None
    rewritten = _URL_REF.sub(lambda m: f"url({m.group(1)}#{prefix}", text)
    if len(_ANY_URL.findall(rewritten)) != len(_URL_REF.findall(rewritten)):
        return None  # a url(...) pointing outside the document
    return rewritten


def _serialise_svg(el: Any, prefix: str, out: list[str]) -> None:
    tag = _local(el.tag)
    if not isinstance(el.tag, str) or tag.lower() in _DROP_TAGS:
        return
    attrs: list[str] = []
    for key, value in el.attrib.items():
        name = _attr_name(key)
        if name is None or name.lower().startswith("on"):
            continue
        if name.lower() in ("href", "xlink:href"):
            value = value.strip()
            if value.startswith("#"):
                value = f"#{prefix}{value[1:]}"
            elif not value.lower().startswith("data:image/"):
                continue  # external file or URL: the report must be self-contained
        elif name == "id":
            value = f"{prefix}{value}"
        else:
            cleaned = _clean_css(value, prefix)
            if cleaned is None:
                continue
            value = cleaned
        attrs.append(f' {name}="{escape(value, quote=True)}"')
    out.append(f"<{tag}{''.join(attrs)}>")
    text = el.text or ""
    if tag == "style":
        text = _clean_css(text, prefix) or ""
    out.append(escape(text, quote=False))
    for child in el:
        _serialise_svg(child, prefix, out)
        out.append(escape(child.tail or "", quote=False))
    out.append(f"</{tag}>")


def sanitise_svg(svg: str | bytes, *, id_prefix: str = "", label: str = "") -> str:
    """Make SVG safe to inline in HTML.

    Parses with defusedxml (no entity expansion), drops ``<script>``, ``<foreignObject>``,
    animation and metadata elements, every ``on*=`` attribute, any ``href`` that is not a
    local ``#id`` or a ``data:image/`` URI and any CSS with an external ``url()`` or
    ``@import``; prefixes every ``id`` (and the references to it) with ``id_prefix`` so
    that several figures can live in one page; re-serialises with all text escaped.

    Parameters
    ----------
    svg
        The SVG document.
    id_prefix
        Prefix for element ids (``"fig-curves-"``).
    label
        Accessible label (``aria-label``) for the image.

    Returns
    -------
    str
        An ``<svg>`` element without XML declaration, doctype or namespace declarations.
    """
    from defusedxml import ElementTree as DET
    from defusedxml.common import DefusedXmlException

    data = svg.encode("utf-8") if isinstance(svg, str) else svg
    try:
        root = DET.fromstring(data)
    except (DefusedXmlException, SyntaxError) as exc:  # ParseError is a SyntaxError
        raise InputError(f"the SVG cannot be read safely: {exc}") from exc
    if _local(root.tag) != "svg":
        raise InputError(f"not an SVG document (root element <{_local(root.tag)}>)")
    out: list[str] = []
    _serialise_svg(root, id_prefix, out)
    head = out[0]
    extra = ' role="img"' + (f' aria-label="{escape(label, quote=True)}"' if label else "")
    out[0] = head[:-1] + extra + ">"
    return "".join(out)


# ------------------------------------------------------------------------------ Report
class Report:
    """A self-contained HTML report assembled block by block.

    Parameters
    ----------
    title
        Page title (plain text).
    subtitle
        Line under the title (plain text).
    date
        Optional date or run identifier to print under the title; nothing time-dependent
        is added otherwise, so the output is reproducible.

    Examples
    --------
    >>> rep = Report("Viability screen", "plate set 1")
    >>> rep.add_notice("These data are SIMULATED", kind="simulated")
    >>> rep.add_section("Methods", "Four-parameter log-logistic fits.")
    >>> html = rep.to_html()
    """

    def __init__(self, title: str, subtitle: str = "", *, date: str | None = None) -> None:
        self.title = str(title)
        self.subtitle = str(subtitle)
        self.date = date
        self._blocks: list[str] = []
        self._toc: list[tuple[int, str, str]] = []
        self._ids: set[str] = set()
        self._n_figures = 0
        self._n_tables = 0

    # ------------------------------------------------------------------ helpers
    def _unique_id(self, base: str) -> str:
        candidate, i = base, 2
        while candidate in self._ids:
            candidate = f"{base}-{i}"
            i += 1
        self._ids.add(candidate)
        return candidate

    def _heading(self, title: str, level: int) -> str:
        if level not in (2, 3, 4):
            raise ValueError(f"section level must be 2, 3 or 4, got {level}")
        anchor = self._unique_id("sec-" + _slug(title, str(len(self._toc) + 1)))
        self._toc.append((level, anchor, str(title)))
        return f'<h{level} id="{anchor}">{escape(str(title))}</h{level}>'

    # ------------------------------------------------------------------ content
    def add_section(self, title: str, text: str = "", level: int = 2) -> None:
        """Add a heading (listed in the table of contents) and optional paragraphs.

        Parameters
        ----------
        title
            Heading text.
        text
            Plain text; blank lines separate paragraphs, single newlines become line
            breaks. Escaped.
        level
            2 (section), 3 or 4 (subsections).
        """
        parts = [self._heading(title, level)]
        if text:
            parts.append(_paragraphs(text))
        self._blocks.append("\n".join(parts))

    def add_text(self, text: str) -> None:
        """Add plain-text paragraphs without a heading (escaped)."""
        if text:
            self._blocks.append(_paragraphs(text))

    def add_notice(self, text: str, kind: NoticeKind = "info") -> None:
        """Add a prominent banner.

        Parameters
        ----------
        text
            The message, e.g. ``"These data are SIMULATED"``.
        kind
            ``"info"``, ``"warning"`` or ``"simulated"`` (a striped red banner; add it
            first so it sits at the top of the page).
        """
        if kind not in ("info", "warning", "simulated"):
            raise ValueError(f"notice kind must be 'info', 'warning' or 'simulated', not {kind!r}")
        label = {"info": "Note", "warning": "Warning", "simulated": "Simulated data"}[kind]
        role = "note" if kind == "info" else "alert"
        self._blocks.append(
            f'<div class="notice notice-{kind}" role="{role}">'
            f'<span class="kind">{label}:</span>{escape(str(text))}</div>'
        )

    def add_figure(
        self,
        fig_or_path: Any,
        caption: str = "",
        name: str | None = None,
        *,
        fmt: Literal["svg", "png"] = "svg",
        dpi: float = 150,
    ) -> None:
        """Embed a figure inline (sanitised SVG or base64 PNG); nothing is linked.

        Parameters
        ----------
        fig_or_path
            A matplotlib figure (rendered now, so it may be closed afterwards), or the
            path of an ``.svg``, ``.png``, ``.jpg``/``.jpeg`` file.
        caption
            Caption text (escaped); figures are numbered.
        name
            Short name used for the anchor (``#fig-<name>``); defaults to the number.
        fmt
            For figures: ``"svg"`` (editable, sharp) or ``"png"`` (smaller for plots with
            very many points).
        dpi
            Resolution of PNG rendering.
        """
        self._n_figures += 1
        number = self._n_figures
        anchor = self._unique_id("fig-" + _slug(name or "", str(number)))
        label = str(caption) or (str(name) if name else f"Figure {number}")
        if hasattr(fig_or_path, "savefig"):
            if fmt == "svg":
                body = sanitise_svg(
                    render_figure(fig_or_path, "svg"), id_prefix=f"{anchor}-", label=label
                )
            elif fmt == "png":
                body = _img_tag(render_figure(fig_or_path, "png", dpi=dpi), "image/png", label)
            else:
                raise ValueError(f"figure format must be 'svg' or 'png', not {fmt!r}")
        else:
            path = Path(fig_or_path)
            if not path.is_file():
                raise InputError("figure file not found", file=path)
            suffix = path.suffix.lower()
            if suffix == ".svg":
                body = sanitise_svg(path.read_bytes(), id_prefix=f"{anchor}-", label=label)
            elif suffix in (".png", ".jpg", ".jpeg"):
                mime = "image/png" if suffix == ".png" else "image/jpeg"
                body = _img_tag(path.read_bytes(), mime, label)
            else:
                raise InputError(
                    f"cannot embed a '{suffix}' file; use .svg, .png or .jpg", file=path
                )
        cap = f"<figcaption><b>Figure {number}.</b> {escape(str(caption))}</figcaption>"
        self._blocks.append(
            f'<figure id="{anchor}">\n<div class="img">{body}</div>\n{cap}\n</figure>'
        )

    def add_table(
        self,
        df: pd.DataFrame,
        caption: str = "",
        max_rows: int | None = 500,
        float_format: str | Callable[[float], str] = ".4g",
        highlight: str | None = None,
    ) -> None:
        """Add a data table; every header and cell is escaped.

        Parameters
        ----------
        df
            The table. A non-default index is shown as leading column(s).
        caption
            Caption text; tables are numbered.
        max_rows
            Show at most this many rows (the first ones) and say how many were left out;
            ``None`` shows all.
        float_format
            Format spec for floats (default 4 significant digits) or a function.
        highlight
            Column whose non-empty values other than ``"ok"`` (case-insensitive), ``False``
            or 0 mark their row with a warning colour, e.g. ``"status"`` or ``"reason"``.
        """
        if not isinstance(df, pd.DataFrame):
            raise TypeError(f"add_table expects a pandas DataFrame, got {type(df).__name__}")
        table = df
        index_is_default = isinstance(df.index, pd.RangeIndex) and df.index.name is None
        if not index_is_default:
            table = df.reset_index()
        labels = [_column_label(c) for c in table.columns]
        flag_pos: int | None = None
        if highlight is not None:
            matches = [i for i, lab in enumerate(labels) if lab == str(highlight)]
            if not matches:
                raise ValueError(f"highlight column {highlight!r} is not in the table")
            flag_pos = matches[0]
        self._n_tables += 1
        number = self._n_tables
        anchor = self._unique_id(f"tab-{number}")
        fmt = _float_formatter(float_format)
        n_total = len(table)
        shown = table if max_rows is None else table.iloc[: max(int(max_rows), 0)]

        numeric = [
            pd.api.types.is_numeric_dtype(dtype) and not pd.api.types.is_bool_dtype(dtype)
            for dtype in table.dtypes
        ]
        head = "".join(f'<th scope="col">{escape(lab)}</th>' for lab in labels)
        rows: list[str] = []
        for values in shown.itertuples(index=False, name=None):
            flagged = flag_pos is not None and _is_flagged(values[flag_pos])
            cells = []
            for j, value in enumerate(values):
                classes = []
                if numeric[j]:
                    classes.append("num")
                if flagged and j == flag_pos:
                    classes.append("flag")
                cls = f' class="{" ".join(classes)}"' if classes else ""
                cells.append(f"<td{cls}>{escape(_format_value(value, fmt))}</td>")
            row_cls = ' class="warn"' if flagged else ""
            rows.append(f"<tr{row_cls}>{''.join(cells)}</tr>")
        note = ""
        if len(shown) < n_total:
            note = f'<p class="truncated">Showing the first {len(shown):,} of {n_total:,} rows.</p>'
        cap = f"<caption><b>Table {number}.</b> {escape(str(caption))}</caption>"
        self._blocks.append(
            f'<div class="table-wrap" id="{anchor}">\n<table class="data">\n{cap}\n'
            f"<thead><tr>{head}</tr></thead>\n<tbody>\n" + "\n".join(rows) + "\n</tbody>\n"
            f"</table>\n{note}</div>"
        )

    def add_warnings(self, items: Iterable[str], title: str = "Warnings") -> None:
        """Add a section listing warnings; an empty list renders "No warnings".

        Parameters
        ----------
        items
            One plain-text message per warning.
        title
            Section heading.
        """
        messages = [str(i) for i in items]
        parts = [self._heading(title, 2)]
        if messages:
            parts.append(
                '<ul class="warnings">\n'
                + "\n".join(f"<li>{escape(m)}</li>" for m in messages)
                + "\n</ul>"
            )
        else:
            parts.append('<p class="no-warnings">No warnings.</p>')
        self._blocks.append("\n".join(parts))

    def add_key_values(
        self,
        mapping: Mapping[Any, Any],
        caption: str = "",
        float_format: str | Callable[[float], str] = ".4g",
    ) -> None:
        """Add a two-column table of settings or summary values (escaped).

        Parameters
        ----------
        mapping
            Keys and values; floats use ``float_format``, sequences are comma-joined.
        caption
            Caption text.
        float_format
            Format spec for floats or a function.
        """
        fmt = _float_formatter(float_format)
        rows = "\n".join(
            f'<tr><th scope="row">{escape(str(k))}</th>'
            f"<td>{escape(_format_value(v, fmt))}</td></tr>"
            for k, v in mapping.items()
        )
        cap = f"<caption>{escape(str(caption))}</caption>\n" if caption else ""
        self._blocks.append(f'<table class="kv">\n{cap}<tbody>\n{rows}\n</tbody>\n</table>')

    # ------------------------------------------------------------------ output
    def _toc_html(self) -> str:
        if not self._toc:
            return ""
        items = "\n".join(
            f'<li class="l{level}"><a href="#{anchor}">{escape(title)}</a></li>'
            for level, anchor, title in self._toc
        )
        return (
            '<nav class="toc" aria-label="Contents">\n<h2>Contents</h2>\n'
            f"<ul>\n{items}\n</ul>\n</nav>"
        )

    def to_html(self) -> str:
        """The complete HTML document (deterministic)."""
        header = [f"<h1>{escape(self.title)}</h1>"]
        if self.subtitle:
            header.append(f'<p class="subtitle">{escape(self.subtitle)}</p>')
        if self.date:
            header.append(f'<p class="date">{escape(str(self.date))}</p>')
        parts = [
            "<!DOCTYPE html>",
            '<html lang="en">',
            "<head>",
            '<meta charset="utf-8">',
            f'<meta http-equiv="Content-Security-Policy" content="{_CSP}">',
            '<meta name="viewport" content="width=device-width, initial-scale=1">',
            '<meta name="generator" content="preclin">',
            f"<title>{escape(self.title)}</title>",
            f"<style>\n{_CSS}\n</style>",
            "</head>",
            "<body>",
            '<div class="page">',
            "<header>\n" + "\n".join(header) + "\n</header>",
            self._toc_html(),
            "<main>",
            "\n".join(self._blocks),
            "</main>",
            f"<footer>Generated by preclin {escape(_version())}.</footer>",
            "</div>",
            "</body>",
            "</html>",
        ]
        return "\n".join(p for p in parts if p) + "\n"

    def write(self, path: str | Path) -> Path:
        """Write the report as UTF-8 (parent folders created) and return the path."""
        out = Path(path)
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(self.to_html(), encoding="utf-8", newline="\n")
        return out


def _img_tag(data: bytes, mime: str, label: str) -> str:
    encoded = base64.b64encode(data).decode("ascii")
    return f'<img src="data:{mime};base64,{encoded}" alt="{escape(label, quote=True)}">'
