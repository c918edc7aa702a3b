"""Export tables to GraphPad Prism ``.pzfx`` files (for users who finish in Prism).

A ``.pzfx`` file is Prism's XML project format. preclin writes the data-table part of the
schema ``PrismXMLVersion="5.00"`` (read by Prism 5 to 10), which is what Prism itself and
other tools write (e.g. the R package *pzfx*):

.. code-block:: xml

    <GraphPadPrismFile PrismXMLVersion="5.00">
      <Created><OriginalVersion CreatedByProgram="preclin" CreatedByVersion="..."/></Created>
      <InfoSequence><Ref ID="Info0" Selected="1"/></InfoSequence>
      <Info ID="Info0"><Title>...</Title><Notes>...</Notes></Info>
      <TableSequence Selected="1"><Ref ID="Table0" Selected="1"/>...</TableSequence>
      <Table ID="Table0" XFormat="none" YFormat="replicates" Replicates="3"
             TableType="OneWay" EVFormat="AsteriskAfterNumber">
        <Title>viability</Title>
        <YColumn Width="81" Decimals="2" Subcolumns="1">
          <Title>vehicle</Title>
          <Subcolumn><d>98.2</d><d>101.5</d><d/></Subcolumn>
        </YColumn> ...
      </Table>
    </GraphPadPrismFile>

* **Column table** (``TableType="OneWay"``, :func:`column_table`): one ``YColumn`` per
  group with one ``Subcolumn``; the replicates are its rows (``<d/>`` pads shorter
  groups).
* **Grouped table** (``TableType="TwoWay"``, :func:`grouped_table`): a
  ``RowTitlesColumn`` holds the row factor's levels; one ``YColumn`` per column group with
  ``Subcolumns`` = the largest number of replicates; subcolumn *j* holds the *j*-th
  replicate of every row.

Prism opens such files without the binary ``<Template>`` part that it writes itself; it
rebuilds graphs from the data. No graph or analysis is exported.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from ..errors import InputError

__all__ = ["PrismTable", "column_table", "grouped_table", "write_pzfx", "pzfx_bytes",
           "PRISM_XML_VERSION"]

#: the schema version written
PRISM_XML_VERSION = "5.00"


@dataclass(frozen=True)
class PrismTable:
    """One Prism data table.

    Attributes
    ----------
    title
        Table title in Prism's navigator.
    kind
        ``"column"`` (OneWay) or ``"grouped"`` (TwoWay).
    columns
        ``(column title, subcolumns)``; each subcolumn is a list of values (``None`` or
        NaN = empty cell), one per row.
    row_titles
        Row labels (grouped tables).
    decimals
        Decimals Prism shows.
    """

    title: str
    kind: str
    columns: list[tuple[str, list[list[float | None]]]]
    row_titles: list[str] = field(default_factory=list)
    decimals: int = 2

    @property
    def replicates(self) -> int:
        """Subcolumns per column (grouped) or 1 (column)."""
        return max((len(s) for _, s in self.columns), default=1)


def _levels(values: pd.Series) -> list[Any]:
    return list(dict.fromkeys(values.dropna().tolist()))


def _numeric(data: pd.DataFrame, value: str, file: str | Path | None) -> pd.Series:
    vals = pd.to_numeric(data[value], errors="coerce").astype(float)
    bad = vals.isna() & data[value].notna()
    if bad.any():
        pos = int(np.flatnonzero(bad.to_numpy())[0])
        raise InputError(f"column '{value}' must be numeric but has "
                         f"{data[value].iloc[pos]!r}", file=file, location=f"row {pos + 2}")
    return vals


def _need(data: pd.DataFrame, cols: Sequence[str], file: str | Path | None) -> None:
    for c in cols:
        if c not in data.columns:
            raise InputError(f"column '{c}' is not in the table (it has: "
                             f"{', '.join(map(str, data.columns[:20]))})", file=file)


def column_table(data: pd.DataFrame, *, value: str, group: str, title: str | None = None,
                 decimals: int = 2, file: str | Path | None = None) -> PrismTable:
    """A Prism column table: one column per level of ``group``, its values as rows.

    Parameters
    ----------
    data
        Tidy table, one row per value.
    value
        Numeric column.
    group
        Column whose levels become Prism's columns (order of first appearance).
    title
        Table title (default ``value``).
    decimals
        Decimals shown in Prism.
    file
        File name used in error messages.

    Returns
    -------
    PrismTable
    """
    _need(data, [value, group], file)
    vals = _numeric(data, value, file)
    cols = []
    for g in _levels(data[group]):
        v = vals[(data[group] == g).to_numpy()].tolist()
        cols.append((str(g), [v]))
    return PrismTable(title=title or value, kind="column", columns=cols, decimals=decimals)


def grouped_table(data: pd.DataFrame, *, value: str, row: str, group: str,
                  replicate: str | None = None, title: str | None = None,
                  decimals: int = 2, file: str | Path | None = None) -> PrismTable:
    """A Prism grouped table: rows = levels of ``row``, column groups = levels of ``group``.

    Replicates go into subcolumns: in order of appearance within each cell, or by the
    levels of ``replicate`` (same replicate → same subcolumn, as Prism lines up paired or
    repeated measures).

    Parameters
    ----------
    data
        Tidy table, one row per value.
    value
        Numeric column.
    row
        Row factor (e.g. treatment).
    group
        Column factor (e.g. alone / stroma, or cell line).
    replicate
        Optional replicate / subject column.
    title
        Table title (default ``value``).
    decimals
        Decimals shown in Prism.
    file
        File name used in error messages.

    Returns
    -------
    PrismTable
    """
    _need(data, [value, row, group] + ([replicate] if replicate else []), file)
    vals = _numeric(data, value, file)
    rows = _levels(data[row])
    groups = _levels(data[group])
    reps = _levels(data[replicate]) if replicate else []
    cells: dict[tuple[Any, Any], list[tuple[Any, float]]] = {}
    for i, (r, g) in enumerate(zip(data[row], data[group], strict=True)):
        if pd.isna(r) or pd.isna(g):
            continue
        key = data[replicate].iloc[i] if replicate else None
        cells.setdefault((r, g), []).append((key, float(vals.iloc[i])))
    if replicate:
        for (r, g), items in cells.items():
            keys = [k for k, _ in items]
            if len(set(keys)) != len(keys):
                raise InputError(f"replicate appears twice for {row} = {r!r}, "
                                 f"{group} = {g!r}", file=file)
        width = len(reps)
    else:
        width = max((len(v) for v in cells.values()), default=1)
    cols = []
    for g in groups:
        subs: list[list[float | None]] = [[None] * len(rows) for _ in range(width)]
        for ri, r in enumerate(rows):
            for j, (k, v) in enumerate(cells.get((r, g), [])):
                subs[reps.index(k) if replicate else j][ri] = v
        cols.append((str(g), subs))
    return PrismTable(title=title or value, kind="grouped", columns=cols,
                      row_titles=[str(r) for r in rows], decimals=decimals)


def _fmt(v: float | None) -> str | None:
    if v is None:
        return None
    f = float(v)
    if not np.isfinite(f):
        return None
    return repr(f) if f != int(f) or abs(f) >= 1e15 else f"{int(f)}"


def _element(parent: ET.Element, tag: str, text: str | None = None, **attrs: str
             ) -> ET.Element:
    el = ET.SubElement(parent, tag, attrs)
    if text is not None:
        el.text = text
    return el


def _table_element(root: ET.Element, t: PrismTable, index: int) -> None:
    if t.kind not in ("column", "grouped"):
        raise InputError(f"unknown Prism table kind '{t.kind}'; use column or grouped")
    reps = t.replicates
    attrs = {"ID": f"Table{index}", "XFormat": "none", "YFormat": "replicates",
             "Replicates": str(reps),
             "TableType": "OneWay" if t.kind == "column" else "TwoWay",
             "EVFormat": "AsteriskAfterNumber"}
    table = _element(root, "Table", **attrs)
    _element(table, "Title", t.title)
    if t.kind == "grouped":
        rt = _element(table, "RowTitlesColumn", Width="120")
        sub = _element(rt, "Subcolumn")
        for r in t.row_titles:
            _element(sub, "d", r)
    for title, subs in t.columns:
        col = _element(table, "YColumn", Width=str(81 * max(len(subs), 1)),
                       Decimals=str(t.decimals), Subcolumns=str(len(subs)))
        _element(col, "Title", title)
        n_rows = max((len(s) for s in subs), default=0)
        if t.kind == "column":
            n_rows = max((len(s) for _, ss in t.columns for s in ss), default=0)
        for s in subs:
            sc = _element(col, "Subcolumn")
            for i in range(n_rows):
                _element(sc, "d", _fmt(s[i]) if i < len(s) else None)


def pzfx_bytes(tables: Sequence[PrismTable] | Mapping[str, PrismTable], *,
               notes: str = "") -> bytes:
    """The ``.pzfx`` XML of ``tables`` (UTF-8, deterministic: no date is written).

    Parameters
    ----------
    tables
        Tables in order (a mapping's keys replace the titles).
    notes
        Text of the project's info sheet.

    Returns
    -------
    bytes
    """
    from .. import __version__

    if isinstance(tables, Mapping):
        items = [PrismTable(title=str(k), kind=t.kind, columns=t.columns,
                            row_titles=t.row_titles, decimals=t.decimals)
                 for k, t in tables.items()]
    else:
        items = list(tables)
    if not items:
        raise InputError("nothing to export: no table")
    root = ET.Element("GraphPadPrismFile", PrismXMLVersion=PRISM_XML_VERSION)
    created = _element(root, "Created")
    _element(created, "OriginalVersion", CreatedByProgram="preclin",
             CreatedByVersion=str(__version__), Login="", DateTime="")
    info_seq = _element(root, "InfoSequence")
    _element(info_seq, "Ref", ID="Info0", Selected="1")
    info = _element(root, "Info", ID="Info0")
    _element(info, "Title", "Project info 1")
    _element(info, "Notes", notes or "Exported by preclin.")
    seq = _element(root, "TableSequence", Selected="1")
    for i in range(len(items)):
        if i == 0:
            _element(seq, "Ref", ID=f"Table{i}", Selected="1")
        else:
            _element(seq, "Ref", ID=f"Table{i}")
    for i, t in enumerate(items):
        _table_element(root, t, i)
    ET.indent(root, space="")
    return b'<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(root, encoding="utf-8",
                                                                     xml_declaration=False) \
        + b"\n"


def write_pzfx(tables: Sequence[PrismTable] | Mapping[str, PrismTable] | PrismTable,
               path: str | Path, *, notes: str = "") -> Path:
    """Write tables to a Prism ``.pzfx`` file.

    Parameters
    ----------
    tables
        One :class:`PrismTable`, a sequence, or a mapping title → table.
    path
        Output file (``.pzfx``); parent folders are created.
    notes
        Text of the project's info sheet.

    Returns
    -------
    Path
        The file written.

    Examples
    --------
    >>> import pandas as pd
    >>> d = pd.DataFrame({"arm": ["a", "a", "b"], "y": [1.0, 2.0, 3.5]})
    >>> p = write_pzfx(column_table(d, value="y", group="arm"), "/tmp/example.pzfx")
    """
    items = [tables] if isinstance(tables, PrismTable) else tables
    out = Path(path)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_bytes(pzfx_bytes(items, notes=notes))
    return out
