"""Plate layouts: which condition is in which well.

Two file formats are read:

**wellmap TOML** (the file language of Kale Kundert's *wellmap*; this is an independent
implementation). Sections name groups of wells; their ``key = value`` pairs are the experimental
factors of those wells::

    [meta]
    include = ["common.toml"]      # defaults, later files override earlier, this file overrides all
    paths = "plate_{}.csv"         # data file per plate ("{}" = plate name) or {P1 = "a.csv"}
    # path = "data.csv"            # single-plate layouts
    # wells = 384                  # plate format; default: smallest standard plate that fits

    [expt]                         # every well
    cell_line = "HL-60"

    [row.A]                        # also [row.'A,C,E'], [row.'A-D'], [row.'A,C,...,G']
    drug = "AraC"
    [col.'1-3']                    # also [col.'1,3,...,11']
    conc_uM = 0
    [irow.A] / [icol.1]            # rows/columns interleaved with their neighbour
    [block.2x3.A1]                 # 2 columns wide, 3 rows tall, top-left at A1
    [well.'A1,B2']                 # also [well.'A1-B3'] (rectangle), [well.'A1,C3,...,E5']
    control = "blank"

    [plate.P1]                     # several plates; keys here apply to the whole plate
    day = 1
    [plate.P1.well.H12]            # any group kind, only on plate P1
    exclude = true

Wells exist where a ``[well]`` or ``[block]`` puts them and where declared rows meet declared
columns (rows span every occupied column and vice versa, as in wellmap). Precedence, highest
first: ``well`` > ``block`` (smaller area first, then later in the file) > ``row`` > ``col`` >
``irow`` > ``icol`` > ``[plate.NAME]`` keys > ``expt``; a group inside ``[plate.NAME]`` ranks a
half step above the same group kind outside. Top-level keys outside any section are metadata
(:attr:`Layout.extras`). Unlike wellmap, an unknown top-level *section* is an error (it is
almost always a typo such as ``[rows.A]``), and ``meta.concat``/``meta.include.shift`` are not
supported.

**plater CSV/XLSX** (format of the R package *plater*): for each factor a block whose top-left
cell is the factor name followed by the column numbers, then one line per row starting with the
row letter; blocks separated by blank lines. A well is in the layout when any factor has a value.
"""

from __future__ import annotations

import datetime as _dt
import itertools
import math
import re
import sys
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType
from typing import Any, TypeVar

import pandas as pd

from ..errors import InputError
from ._cells import (
    TEXT_SUFFIXES,
    XLSX_SUFFIXES,
    cell_text,
    find_grids,
    is_blank,
    load_sheets,
    to_number,
)
from ._wells import (
    PLATE_FORMATS,
    format_description,
    format_for,
    parse_well,
    row_index,
    row_label,
    well_name,
)

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

__all__ = ["Layout", "read_layout", "read_toml_layout", "read_plater", "RESERVED_COLUMNS",
           "check_numeric_factor"]

#: Column names a layout factor may not use.
RESERVED_COLUMNS = frozenset({"plate", "well", "row", "col", "signal", "in_layout"})
_INDEX_COLUMNS = ("plate", "well", "row", "col")
_GROUP_KINDS = ("row", "col", "irow", "icol", "block", "well")
_TOP_KINDS = ("meta", "expt", "plate", *_GROUP_KINDS)
_META_KEYS = ("include", "path", "paths", "wells", "alert")
_LEVEL = {"expt": 0, "plate": 1, "icol": 2, "irow": 3, "col": 4, "row": 5, "block": 6, "well": 7}
_BARE_KEY = re.compile(r"^[A-Za-z0-9_-]+$")
_BLOCK_SIZE = re.compile(r"^\s*(\d+)\s*x\s*(\d+)\s*$", re.IGNORECASE)
_SCALARS = (str, int, float, bool, _dt.date, _dt.time, _dt.datetime)
_MAX_ROWS, _MAX_COLS = PLATE_FORMATS[max(PLATE_FORMATS)]

T = TypeVar("T")


# =========================================================================== Layout
class Layout:
    """A plate layout: one row per declared well with its experimental factors.

    Parameters
    ----------
    table
        Columns ``plate, well, row, col`` plus one column per factor.
    paths
        Data file of each plate (None when not declared). Defaults to None for every plate.
    source
        The layout file (used in error messages).
    plate_format
        Number of wells of the plate type (96, 384, ...). Inferred when None.
    named
        True when the plates were named in the file (``[plate.NAME]`` or ``meta.paths``).
    extras
        Top-level metadata keys of the file.

    Attributes
    ----------
    table : pandas.DataFrame
        A copy of the layout table (``plate, well, row, col, <factors>``), ordered by plate (as
        declared), row, column.
    factors : list of str
        The factor columns, in order of first appearance.
    plates : list of str
        Plate names in declaration order.
    paths : mapping
        Plate name -> data file path or None.
    """

    __slots__ = ("_table", "_paths", "_source", "_format", "_named", "_extras", "_plates")

    def __init__(
        self,
        table: pd.DataFrame,
        *,
        paths: Mapping[str, Path | str | None] | None = None,
        source: str | Path | None = None,
        plate_format: int | None = None,
        named: bool = False,
        extras: Mapping[str, Any] | None = None,
    ) -> None:
        missing = [c for c in _INDEX_COLUMNS if c not in table.columns]
        if missing:
            raise ValueError(f"layout table lacks column(s) {missing}")
        t = table.copy()
        t["plate"] = t["plate"].astype("str")
        t["well"] = t["well"].astype("str")
        t["row"] = t["row"].astype("str")
        t["col"] = t["col"].astype("int64")
        plates = list(dict.fromkeys(t["plate"].tolist()))
        if paths is not None:
            plates += [p for p in paths if p not in plates]
        ri = t["row"].map(lambda r: row_index(r) if isinstance(r, str) else None)
        if ri.isna().any():
            raise ValueError("layout table has invalid row labels")
        if plate_format is None and len(t):
            plate_format = format_for(int(ri.max()) + 1, int(t["col"].max()))
        order = pd.DataFrame(
            {
                "p": t["plate"].map({p: k for k, p in enumerate(plates)}),
                "i": ri.astype("int64"),
                "j": t["col"],
            }
        )
        t = t.loc[order.sort_values(["p", "i", "j"], kind="stable").index].reset_index(drop=True)
        self._table = t
        self._plates = plates
        self._paths: Mapping[str, Path | None] = MappingProxyType(
            {p: (None if (paths or {}).get(p) is None else Path(str((paths or {})[p])))
             for p in plates}
        )
        self._source = None if source is None else Path(source)
        self._format = plate_format
        self._named = named
        self._extras: Mapping[str, Any] = MappingProxyType(dict(extras or {}))

    @property
    def table(self) -> pd.DataFrame:
        """Copy of the layout table."""
        return self._table.copy()

    @property
    def factors(self) -> list[str]:
        """Factor column names."""
        return [c for c in self._table.columns if c not in _INDEX_COLUMNS]

    @property
    def plates(self) -> list[str]:
        """Plate names in declaration order."""
        return list(self._plates)

    @property
    def paths(self) -> Mapping[str, Path | None]:
        """Plate name -> data file (absolute or relative to the working directory) or None."""
        return self._paths

    @property
    def source(self) -> Path | None:
        """The file this layout was read from."""
        return self._source

    @property
    def plate_format(self) -> int | None:
        """Number of wells of the plate type (6, 12, 24, 48, 96, 384 or 1536)."""
        return self._format

    @property
    def named(self) -> bool:
        """Whether plate names come from the file (``[plate.NAME]`` / ``meta.paths``)."""
        return self._named

    @property
    def extras(self) -> Mapping[str, Any]:
        """Top-level metadata keys that describe no wells."""
        return self._extras

    def __len__(self) -> int:
        return len(self._table)

    def __repr__(self) -> str:
        src = f" from {self._source.name}" if self._source else ""
        return (
            f"Layout({len(self._table)} wells on {len(self._plates)} plate(s){src}; "
            f"factors: {', '.join(self.factors) or '-'})"
        )


# =========================================================================== TOML parsing
def _key(*parts: str) -> str:
    """TOML section name for messages: ``[block.2x2.'A1,C3']``."""
    quoted = [p if _BARE_KEY.match(p) else f"'{p}'" for p in parts]
    return "[" + ".".join(quoted) + "]"


@dataclass
class _Group:
    kind: str
    plate: str | None
    key: str  # TOML key for messages
    source: Path
    order: int
    params: dict[str, Any]
    cells: frozenset[tuple[int, int]] = frozenset()  # well / block
    lines: frozenset[int] = frozenset()  # row / col / irow / icol indices
    area: int = 0
    anchors: tuple[tuple[int, int], ...] = ()  # block top-left wells (for messages)
    size: tuple[int, int] = (0, 0)  # block width x height


@dataclass
class _Parsed:
    groups: list[_Group] = field(default_factory=list)
    plates: list[str] = field(default_factory=list)
    meta: dict[str, Any] = field(default_factory=dict)
    extras: dict[str, Any] = field(default_factory=dict)
    wells: int | None = None


class _Counter:
    def __init__(self) -> None:
        self.n = 0

    def __call__(self) -> int:
        self.n += 1
        return self.n


def _expand(text: str, one: Callable[[str], T | None], what: str, step: Callable[..., list[T]],
            span: Callable[[T, T], list[T]], file: Path, loc: str) -> list[T]:
    """Expand the wellmap pattern syntax: ``a``, ``a,b``, ``a-b`` and ``a,b,...,z``."""

    def parse(part: str) -> T:
        value = one(part)
        if value is None:
            raise InputError(f"bad {what} '{part.strip()}' in the section name", file=file,
                             location=f"key {loc}")
        return value

    parts = [p.strip() for p in str(text).split(",")]
    if "..." in parts:
        if len(parts) != 4 or parts[2] != "...":
            raise InputError(
                f"bad pattern '{text}': an ellipsis pattern needs exactly 'first,second,...,last'",
                file=file, location=f"key {loc}",
            )
        first, second, last = parse(parts[0]), parse(parts[1]), parse(parts[3])
        stepped = step(first, second, last)
        if not stepped:
            raise InputError(
                f"bad pattern '{text}': cannot get from {parts[0]} to {parts[3]} in steps of "
                f"{parts[0]}->{parts[1]}",
                file=file, location=f"key {loc}",
            )
        return stepped
    out: list[T] = []
    for part in parts:
        if "-" in part:
            a, _, b = part.partition("-")
            out += span(parse(a), parse(b))
        else:
            out.append(parse(part))
    return out


def _arith(a: int, b: int, z: int) -> list[int]:
    d = b - a
    if d == 0:
        return [a] if z == a else []
    if (z - a) % d != 0 or (z - a) // d < 0:
        return []
    return list(range(a, z + (1 if d > 0 else -1), d))


def _parse_col(text: str) -> int | None:
    t = text.strip()
    return int(t) - 1 if t.isdigit() and int(t) >= 1 else None


def _rows(text: str, file: Path, loc: str) -> list[int]:
    return _expand(
        text, lambda s: row_index(s), "row", _arith,
        lambda a, b: list(range(min(a, b), max(a, b) + 1)), file, loc,
    )


def _cols(text: str, file: Path, loc: str) -> list[int]:
    return _expand(
        text, _parse_col, "column", _arith,
        lambda a, b: list(range(min(a, b), max(a, b) + 1)), file, loc,
    )


def _well_step(a: tuple[int, int], b: tuple[int, int], z: tuple[int, int]) -> list[tuple[int, int]]:
    rows, cols = _arith(a[0], b[0], z[0]), _arith(a[1], b[1], z[1])
    return list(itertools.product(rows, cols)) if rows and cols else []


def _well_span(a: tuple[int, int], b: tuple[int, int]) -> list[tuple[int, int]]:
    rows = range(min(a[0], b[0]), max(a[0], b[0]) + 1)
    cols = range(min(a[1], b[1]), max(a[1], b[1]) + 1)
    return list(itertools.product(rows, cols))


def _wells(text: str, file: Path, loc: str) -> list[tuple[int, int]]:
    return _expand(text, parse_well, "well", _well_step, _well_span, file, loc)


def _params(table: Mapping[str, Any], file: Path, loc: str) -> dict[str, Any]:
    params: dict[str, Any] = {}
    for name, value in table.items():
        if isinstance(value, dict):
            raise InputError(
                f"'{name}' is a table, but factor values must be a string, number, boolean or "
                "date (is a section name misspelt?)",
                file=file, location=f"key {loc[:-1]}.{name}]",
            )
        if not isinstance(value, _SCALARS):
            raise InputError(
                f"factor '{name}' has a {type(value).__name__} value; factor values must be a "
                "string, number, boolean or date",
                file=file, location=f"key {loc}",
            )
        if name in RESERVED_COLUMNS:
            raise InputError(
                f"'{name}' cannot be a factor name "
                f"(reserved: {', '.join(sorted(RESERVED_COLUMNS))})",
                file=file, location=f"key {loc}",
            )
        params[name] = value
    return params


def _as_table(value: Any, file: Path, loc: str, what: str) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise InputError(
            f"expected a table of {what} here, found the value {value!r}",
            file=file, location=f"key {loc}",
        )
    return value


def _parse_groups(kind: str, value: Any, plate: str | None, file: Path, counter: _Counter,
                  out: list[_Group]) -> None:
    prefix = () if plate is None else ("plate", plate)
    sec = _key(*prefix, kind)
    body = _as_table(value, file, sec, f"{kind} names")
    if kind == "block":
        for size, anchors in body.items():
            loc = _key(*prefix, "block", size)
            m = _BLOCK_SIZE.match(size)
            if m is None or int(m.group(1)) < 1 or int(m.group(2)) < 1:
                if isinstance(anchors, dict) and anchors:
                    loc = _key(*prefix, "block", size, next(iter(anchors)))
                raise InputError(
                    f"malformed block size '{size}'; expected WxH with W columns and H rows, "
                    "both at least 1, e.g. [block.2x3.A1]",
                    file=file, location=f"key {loc}",
                )
            w, h = int(m.group(1)), int(m.group(2))
            anchors_t = _as_table(anchors, file, loc, "anchor wells (write [block.WxH.A1])")
            for anchor, params in anchors_t.items():
                aloc = _key(*prefix, "block", size, anchor)
                tops = _wells(anchor, file, aloc)
                cells = {(i + di, j + dj) for i, j in tops for di in range(h) for dj in range(w)}
                out.append(_Group(
                    kind="block", plate=plate, key=aloc, source=file, order=counter(),
                    params=_params(_as_table(params, file, aloc, "factors"), file, aloc),
                    cells=frozenset(cells), area=w * h, anchors=tuple(tops), size=(w, h),
                ))
        return
    for name, params in body.items():
        loc = _key(*prefix, kind, name)
        ptable = _as_table(params, file, loc, "factors")
        group = _Group(kind=kind, plate=plate, key=loc, source=file, order=counter(),
                       params=_params(ptable, file, loc))
        if kind == "well":
            group.cells = frozenset(_wells(name, file, loc))
        elif kind in ("row", "irow"):
            group.lines = frozenset(_rows(name, file, loc))
        else:
            group.lines = frozenset(_cols(name, file, loc))
        out.append(group)


def _include_paths(meta: Mapping[str, Any], file: Path) -> list[Path]:
    raw = meta.get("include", [])
    items = raw if isinstance(raw, list) else [raw]
    paths = []
    for k, item in enumerate(items):
        loc = "key meta.include" + (f"[{k}]" if isinstance(raw, list) else "")
        if isinstance(item, dict):
            if "shift" in item:
                raise InputError("meta.include 'shift' is not supported", file=file, location=loc)
            item = item.get("path")
        if not isinstance(item, str) or not item:
            raise InputError(f"expected a file name, found {item!r}", file=file, location=loc)
        p = Path(item)
        paths.append(p if p.is_absolute() else file.parent / p)
    return paths


def _load_toml(
    file: Path, location: str | None = None, includer: Path | None = None
) -> dict[str, Any]:
    if not file.exists():
        if includer is not None:
            raise InputError(f"included file '{file}' not found", file=includer, location=location)
        raise InputError("file not found", file=file)
    if file.is_dir():
        raise InputError("expected a file but found a directory", file=file)
    try:
        # utf-8-sig: a byte-order mark (Windows editors write one) is not part of the TOML
        return tomllib.loads(file.read_text(encoding="utf-8-sig"))
    except tomllib.TOMLDecodeError as exc:
        raise InputError(f"invalid TOML ({exc})", file=file) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise InputError(f"cannot read file ({exc})", file=file) from None


def _parse_file(file: Path, stack: tuple[Path, ...], counter: _Counter,
                doc: dict[str, Any] | None = None) -> _Parsed:
    if doc is None:
        doc = _load_toml(file)
    out = _Parsed()
    meta = _as_table(doc.get("meta", {}), file, "[meta]", "settings")
    for key in meta:
        if key == "concat":
            raise InputError("meta.concat is not supported; read the layouts separately",
                             file=file, location="key meta.concat")
        if key not in _META_KEYS:
            raise InputError(
                f"unknown setting meta.{key}; known: {', '.join('meta.' + k for k in _META_KEYS)}",
                file=file, location=f"key meta.{key}",
            )
    out.meta = dict(meta)
    if "wells" in meta:
        wells = meta["wells"]
        if isinstance(wells, bool) or wells not in PLATE_FORMATS:
            raise InputError(
                f"meta.wells must be one of {', '.join(map(str, PLATE_FORMATS))}, got {wells!r}",
                file=file, location="key meta.wells",
            )
        out.wells = int(wells)

    # includes first: they provide defaults, later ones override earlier ones
    for k, inc in enumerate(_include_paths(meta, file)):
        loc = "key meta.include" + (f"[{k}]" if isinstance(meta.get("include"), list) else "")
        resolved = inc.resolve()
        if resolved in stack:
            chain = " -> ".join(p.name for p in (*stack, resolved))
            raise InputError(f"cyclic include ({chain})", file=file, location=loc)
        sub_doc = _load_toml(inc, loc, includer=file)
        sub = _parse_file(inc, (*stack, resolved), counter, sub_doc)
        out.groups += sub.groups
        out.plates += [p for p in sub.plates if p not in out.plates]
        for key, value in sub.extras.items():
            out.extras[key] = value
        if out.wells is None:
            out.wells = sub.wells

    for top, value in doc.items():
        if top == "meta":
            continue
        if top == "expt":
            table = _as_table(value, file, "[expt]", "factors")
            out.groups.append(_Group(kind="expt", plate=None, key="[expt]", source=file,
                                     order=counter(), params=_params(table, file, "[expt]")))
        elif top == "plate":
            plates = _as_table(value, file, "[plate]", "plates")
            for name, body in plates.items():
                ploc = _key("plate", name)
                body_t = _as_table(body, file, ploc, f"settings of plate '{name}'")
                if name not in out.plates:
                    out.plates.append(name)
                scalars = {k: v for k, v in body_t.items() if not isinstance(v, dict)}
                out.groups.append(_Group(kind="plate", plate=name, key=ploc, source=file,
                                         order=counter(), params=_params(scalars, file, ploc)))
                for kind, sub in body_t.items():
                    if not isinstance(sub, dict):
                        continue
                    if kind in _GROUP_KINDS:
                        _parse_groups(kind, sub, name, file, counter, out.groups)
                    else:
                        allowed = ", ".join(_GROUP_KINDS)
                        raise InputError(
                            f"unknown section kind '{kind}' inside [plate.{name}]; a plate may "
                            f"contain {allowed} sections and factor values",
                            file=file, location=f"key {_key('plate', name, kind)}",
                        )
        elif top in _GROUP_KINDS:
            _parse_groups(top, value, None, file, counter, out.groups)
        elif isinstance(value, dict):
            first = next((k for k, v in value.items() if isinstance(v, dict)), None)
            raise InputError(
                f"unknown section kind '{top}'; expected one of {', '.join(_TOP_KINDS)} "
                "(top-level metadata must be plain values, not tables)",
                file=file, location=f"key {_key(top) if first is None else _key(top, first)}",
            )
        else:
            out.extras[top] = value
    return out


def _interleave(a: int, b: int) -> int:
    """Partner line of ``a`` on the ``b``-th crossing line (irow/icol)."""
    return a ^ 1 if b % 2 else a


def _span(values: Iterable[int]) -> range:
    v = list(values)
    return range(min(v), max(v) + 1) if v else range(0)


def _plate_wells(groups: Sequence[_Group], file: Path, plate: str) -> set[tuple[int, int]]:
    wells: set[tuple[int, int]] = set()
    for g in groups:
        wells |= g.cells
    lines: dict[str, set[int]] = {k: set() for k in ("row", "col", "irow", "icol")}
    for g in groups:
        if g.kind in lines:
            lines[g.kind] |= g.lines
    rows_n = _span([i for i, _ in wells] + list(lines["row"]))
    cols_n = _span([j for _, j in wells] + list(lines["col"]))
    rows_all = _span([*rows_n, *(_interleave(ii, j) for ii in lines["irow"] for j in cols_n)])
    cols_all = _span([*cols_n, *(_interleave(jj, i) for jj in lines["icol"] for i in rows_n)])
    for kind, span, other in (("row", cols_all, "column"), ("irow", cols_all, "column"),
                              ("col", rows_all, "row"), ("icol", rows_all, "row")):
        if lines[kind] and not span:
            first = next(g for g in groups if g.kind == kind)
            raise InputError(
                f"[{kind}] sections but no {other}s on plate '{plate}': declare the {other}s too "
                f"(e.g. a [{'col' if other == 'column' else 'row'}] or [block] section), "
                "otherwise no wells are defined",
                file=first.source, location=f"key {first.key}",
            )
    wells |= set(itertools.product(lines["row"], cols_all))
    wells |= set(itertools.product(rows_all, lines["col"]))
    wells |= {(_interleave(ii, j), j) for ii in lines["irow"] for j in cols_all}
    wells |= {(i, _interleave(jj, i)) for i in rows_all for jj in lines["icol"]}
    return wells


def _applies(g: _Group, i: int, j: int) -> bool:
    if g.kind in ("well", "block"):
        return (i, j) in g.cells
    if g.kind == "row":
        return i in g.lines
    if g.kind == "col":
        return j in g.lines
    if g.kind == "irow":
        return _interleave(i, j) in g.lines
    if g.kind == "icol":
        return _interleave(j, i) in g.lines
    return True  # expt, plate


def _check_fits(groups: Sequence[_Group], n_wells: int, explicit: bool, file: Path) -> None:
    n_rows, n_cols = PLATE_FORMATS[n_wells]
    plate_desc = format_description(n_wells) if explicit else (
        f"largest supported plate, the {format_description(n_wells)}")
    for g in groups:
        problem = None
        if g.kind == "well":
            bad = sorted((i, j) for i, j in g.cells if i >= n_rows or j >= n_cols)
            if bad:
                problem = f"well {well_name(*bad[0])} is outside the {plate_desc}"
        elif g.kind == "block":
            w, h = g.size
            for i, j in g.anchors:
                if i >= n_rows or j >= n_cols:
                    problem = f"well {well_name(i, j)} is outside the {plate_desc}"
                elif i + h > n_rows or j + w > n_cols:
                    problem = (f"block {w}x{h} at {well_name(i, j)} reaches beyond the "
                               f"{plate_desc}")
                if problem:
                    break
        elif g.kind in ("row", "irow"):
            bad_i = sorted(i for i in g.lines if i >= n_rows)
            if bad_i:
                problem = f"row {row_label(bad_i[0])} is outside the {plate_desc}"
        elif g.kind in ("col", "icol"):
            bad_j = sorted(j for j in g.lines if j >= n_cols)
            if bad_j:
                problem = f"column {bad_j[0] + 1} is outside the {plate_desc}"
        if problem:
            raise InputError(problem, file=g.source, location=f"key {g.key}")
    raise InputError(  # interleaving pushed a well off the plate
        f"the [irow]/[icol] sections reach beyond the {plate_desc}", file=file,
    )


def _paths(meta: Mapping[str, Any], plates: list[str], named: bool, default_plate: str,
           file: Path) -> tuple[list[str], dict[str, Path | None], bool]:
    def resolve(p: Any, loc: str) -> Path:
        if not isinstance(p, str) or not p:
            raise InputError(f"expected a file name, found {p!r}", file=file, location=loc)
        q = Path(p)
        return q if q.is_absolute() else file.parent / q

    path, paths = meta.get("path"), meta.get("paths")
    if path is not None and paths is not None:
        raise InputError("give either meta.path or meta.paths, not both", file=file,
                         location="key meta.paths")
    if named:
        if path is not None:
            raise InputError(
                f"meta.path names one data file but the layout has plates "
                f"({', '.join(plates)}); use meta.paths", file=file, location="key meta.path")
        out: dict[str, Path | None] = dict.fromkeys(plates)
        if isinstance(paths, str):
            if "{}" not in paths:
                raise InputError(
                    f"meta.paths '{paths}' needs '{{}}' where the plate name goes",
                    file=file, location="key meta.paths")
            out = {p: resolve(paths.replace("{}", p), "key meta.paths") for p in plates}
        elif isinstance(paths, dict):
            for name, p in paths.items():
                if name not in out:
                    raise InputError(
                        f"meta.paths names plate '{name}', which the layout does not declare "
                        f"(plates: {', '.join(plates)})", file=file,
                        location=f"key meta.paths.{name}")
                out[name] = resolve(p, f"key meta.paths.{name}")
        elif paths is not None:
            raise InputError(f"meta.paths must be a string or a table, got {paths!r}",
                             file=file, location="key meta.paths")
        return plates, out, True
    if isinstance(paths, dict):
        # several plates sharing the one layout (e.g. replicates)
        names = list(paths)
        if not names:
            raise InputError("meta.paths is empty", file=file, location="key meta.paths")
        return names, {n: resolve(p, f"key meta.paths.{n}") for n, p in paths.items()}, True
    if paths is not None:
        raise InputError(
            "meta.paths is a pattern but the layout declares no [plate.NAME] sections; use "
            "meta.path for one plate, or meta.paths = {name = \"file\", ...}",
            file=file, location="key meta.paths")
    return [default_plate], {default_plate: None if path is None else
                             resolve(path, "key meta.path")}, False


def read_toml_layout(path: str | Path) -> Layout:
    """Read a wellmap-style TOML layout (see the module docstring for the language).

    Parameters
    ----------
    path
        The ``.toml`` file.

    Returns
    -------
    Layout

    Raises
    ------
    InputError
        For invalid TOML, unknown section kinds, malformed well names/patterns/block sizes,
        wells outside the plate, missing or cyclic includes and inconsistent ``meta`` paths; the
        message names the file and the TOML key.
    """
    file = Path(path)
    parsed = _parse_file(file, (file.resolve(),), _Counter())
    groups = parsed.groups
    plates, paths, named = _paths(parsed.meta, parsed.plates, bool(parsed.plates), file.stem, file)

    records: list[dict[str, Any]] = []
    factors: dict[str, None] = {}
    for g in sorted(groups, key=lambda g: g.order):
        for name in g.params:
            factors.setdefault(name, None)
    max_i = max_j = -1
    per_plate: list[tuple[str, list[_Group], set[tuple[int, int]]]] = []
    for plate in plates:
        mine = [g for g in groups if g.plate is None or (named and g.plate == plate)]
        wells = _plate_wells(mine, file, plate)
        if not wells:
            raise InputError(
                f"no wells are defined for plate '{plate}' (declare [well], [block], or both "
                "[row] and [col] sections)",
                file=file, location=f"key {_key('plate', plate)}" if parsed.plates else None,
            )
        max_i = max(max_i, *(i for i, _ in wells))
        max_j = max(max_j, *(j for _, j in wells))
        per_plate.append((plate, mine, wells))

    n_wells = parsed.wells or format_for(max_i + 1, max_j + 1)
    if n_wells is None or max_i >= PLATE_FORMATS[n_wells][0] or max_j >= PLATE_FORMATS[n_wells][1]:
        _check_fits(groups, n_wells or max(PLATE_FORMATS), parsed.wells is not None, file)

    for plate, mine, wells in per_plate:
        ordered = sorted(
            mine,
            key=lambda g: (_LEVEL[g.kind], -g.area, g.plate is not None, g.order),
        )
        for i, j in sorted(wells):
            values: dict[str, Any] = {}
            for g in ordered:
                if g.params and _applies(g, i, j):
                    values.update(g.params)
            records.append({"plate": plate, "well": well_name(i, j), "row": row_label(i),
                            "col": j + 1, **values})
    table = pd.DataFrame.from_records(records, columns=[*_INDEX_COLUMNS, *factors])
    for name in factors:
        table[name] = _one_kind(table[name])
    return Layout(table, paths=paths, source=file, plate_format=n_wells, named=named,
                  extras=parsed.extras)


def _toml_text(value: Any) -> str:
    """A TOML value as text, as it is written in the file."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (_dt.date, _dt.time)):
        return value.isoformat()
    return str(value)


def _one_kind(values: pd.Series) -> pd.Series:
    """A factor whose wells mix kinds of value (text, numbers, booleans, dates) is text as
    written in every well: ``cell_line = 7`` in one section and ``"MOLM-13"`` in another
    are two cell lines, not a column that no table format can store."""
    kinds = {"bool" if isinstance(v, bool) else "number" if isinstance(v, (int, float))
             else "date" if isinstance(v, (_dt.date, _dt.time)) else "text"
             for v in values.tolist() if v is not None and not (isinstance(v, float)
                                                                 and math.isnan(v))}
    if len(kinds) <= 1:
        return values
    return pd.Series([None if v is None or (isinstance(v, float) and math.isnan(v))
                      else _toml_text(v) for v in values.tolist()], index=values.index,
                     dtype=object)


# =========================================================================== plater
def _typed(values: list[Any], decimal_comma: bool) -> list[Any]:
    present = [v for v in values if v is not None]
    if not present:
        return values
    nums = [to_number(v, decimal_comma=decimal_comma) for v in present]
    if all(n is not None for n in nums):
        conv = [None if v is None else to_number(v, decimal_comma=decimal_comma) for v in values]
        if all(float(x).is_integer() for x in nums if x is not None):
            return [None if x is None else int(x) for x in conv]
        return conv
    if all(isinstance(v, bool) or cell_text(v).upper() in ("TRUE", "FALSE") for v in present):
        return [
            None if v is None else (v if isinstance(v, bool) else cell_text(v).upper() == "TRUE")
            for v in values
        ]
    return [None if v is None else cell_text(v) for v in values]


def read_plater(path: str | Path) -> Layout:
    """Read a plater-style layout from CSV/TSV/TXT or XLSX.

    Each factor is a plate-shaped block: the top-left cell holds the factor name, the rest of the
    first line the column numbers ``1..N``, then one line per row starting with the row letter.
    Blocks are separated by blank lines. Values are typed per factor: integers, floats,
    ``TRUE``/``FALSE`` or text. A workbook with blocks on several sheets gives one plate per
    sheet (named after the sheet); otherwise the plate is named after the file.

    Raises
    ------
    InputError
        If no block is found, a block has no factor name, factor names repeat, or blocks on one
        plate have different shapes.
    """
    p = Path(path)
    sheets = [(s, list(find_grids(s, titles=False))) for s in load_sheets(p)]
    sheets = [(s, g) for s, g in sheets if g]
    if not sheets:
        raise InputError(
            "no plater block found (expected a line 'factor name, 1, 2, ..., 12' followed by "
            "rows starting A, B, ...)", file=p)
    records: list[dict[str, Any]] = []
    factors: dict[str, None] = {}
    n_wells = None
    for sheet, grids in sheets:
        plate = sheet.name if len(sheets) > 1 and sheet.name else p.stem
        columns: dict[str, list[Any]] = {}
        shape = None
        for g in grids:
            where = sheet.where(g.header_line, g.col0 - 1)
            if g.corner is None:
                raise InputError("plater block has no factor name in its top-left cell",
                                 file=p, location=where)
            if g.corner in RESERVED_COLUMNS:
                raise InputError(f"'{g.corner}' cannot be a factor name", file=p, location=where)
            if g.corner in columns:
                raise InputError(f"factor '{g.corner}' appears twice", file=p, location=where)
            if shape is not None and shape != (g.n_rows, g.n_cols):
                raise InputError(
                    f"block '{g.corner}' is {g.n_rows}x{g.n_cols} but the first block of the "
                    f"plate is {shape[0]}x{shape[1]}", file=p, location=where)
            shape = (g.n_rows, g.n_cols)
            if len(g.lines) != g.n_rows:
                raise InputError(f"block '{g.corner}' has unlabelled extra lines", file=p,
                                 location=where)
            raw = [None if is_blank(c) else c for gl in g.lines for c in gl.cells]
            columns[g.corner] = _typed(raw, sheet.decimal_comma)
            factors.setdefault(g.corner, None)
        assert shape is not None
        n_wells = format_for(*shape)
        n_rows, n_cols = shape
        for k in range(n_rows * n_cols):
            values = {f: v[k] for f, v in columns.items() if v[k] is not None}
            if values:
                i, j = divmod(k, n_cols)
                records.append({"plate": plate, "well": well_name(i, j), "row": row_label(i),
                                "col": j + 1, **values})
    if not records:
        raise InputError("the plater layout assigns no well any value", file=p)
    table = pd.DataFrame.from_records(records, columns=[*_INDEX_COLUMNS, *factors])
    plates = list(dict.fromkeys(r["plate"] for r in records))
    return Layout(table, paths=dict.fromkeys(plates), source=p, plate_format=n_wells,
                  named=len(sheets) > 1)


def check_numeric_factor(layout: Layout, factor: str, *, nonnegative: bool = True) -> None:
    """Check that every value ``factor`` gives a well is a finite number (>= 0 with
    ``nonnegative``), as a dose must be; a layout without ``factor`` passes.

    Raises
    ------
    InputError
        Naming the layout file, the well (and plate) and the value found: the place to
        correct it, not a row of a table the user never wrote.
    """
    if factor not in layout.factors:
        return
    t = layout._table
    for plate, well, value in zip(t["plate"], t["well"], t[factor], strict=True):
        if value is None or (isinstance(value, float) and math.isnan(value)):
            continue
        where = f"well {well}" + (f" of plate {plate}" if layout.named else "")
        if isinstance(value, str):  # a factor of mixed kinds is text (see _one_kind)
            try:
                value = float(value)
            except ValueError:
                raise InputError(f"factor '{factor}' must be a number but is '{value}'",
                                 file=layout.source, location=where) from None
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            kind = "a boolean" if isinstance(value, bool) else "a date"
            raise InputError(f"factor '{factor}' must be a number but is {kind} "
                             f"({_toml_text(value)})", file=layout.source, location=where)
        if not math.isfinite(value):
            raise InputError(f"factor '{factor}' must be a finite number but is {value}",
                             file=layout.source, location=where)
        if nonnegative and value < 0:
            raise InputError(f"factor '{factor}' must not be negative but is {value:g}",
                             file=layout.source, location=where)


# =========================================================================== dispatch
def read_layout(path: str | Path) -> Layout:
    """Read a plate layout, choosing the format by extension.

    ``.toml`` is read as a wellmap layout (:func:`read_toml_layout`); ``.csv``, ``.tsv``,
    ``.txt``, ``.xlsx`` and ``.xlsm`` as a plater layout (:func:`read_plater`).

    Raises
    ------
    InputError
        For a missing file, an unknown extension or any problem in the file.
    """
    p = Path(path)
    if not p.exists():
        raise InputError("layout file not found", file=p)
    suffix = p.suffix.lower()
    if suffix == ".toml":
        return read_toml_layout(p)
    if suffix in TEXT_SUFFIXES + XLSX_SUFFIXES:
        return read_plater(p)
    raise InputError(
        f"unknown layout format '{suffix or '(none)'}'; use .toml (wellmap) or "
        ".csv/.xlsx (plater)", file=p)
