"""Read plate-reader files and join them with a layout: :func:`read`."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from ..errors import InputError
from ..tables import require_columns
from . import readers as _readers
from ._wells import row_index
from .layout import Layout, read_layout
from .readers import LEGACY_COLUMNS, OPTIONAL_COLUMNS, READER_COLUMNS, Reader

__all__ = ["read"]

PathLike = str | Path


@dataclass
class _Source:
    path: Path
    prefix: str | None  # layout plate / user plate name every block of the file belongs to
    from_layout: bool = False


def _resolve_reader(reader: str | Reader, path: Path) -> Reader:
    if isinstance(reader, str):
        return _readers.guess(path) if reader == "auto" else _readers.get(reader)
    return reader


#: Columns some readers add, carried into :func:`read`'s table when a file has them.
_EXTRA = ("read", *OPTIONAL_COLUMNS)


def _block_names(df: pd.DataFrame) -> pd.Series:
    """One name per (plate, read) of a reader table: the plate when reads are unnamed or one per
    plate, the read when the file holds one plate, else ``plate:read``."""
    plates = list(dict.fromkeys(df["plate"].tolist()))
    named = df["read"] != ""
    if not named.any():
        return df["plate"]
    reads_per_plate = df.loc[named].groupby("plate", sort=False)["read"].nunique()
    if len(plates) == 1:
        return df["read"].where(named, df["plate"])
    if (reads_per_plate <= 1).all():
        return df["plate"]
    return (df["plate"] + ":" + df["read"]).where(named, df["plate"])


def _read_file(src: _Source, reader: str | Reader) -> pd.DataFrame:
    rdr = _resolve_reader(reader, src.path)
    df = rdr.read(src.path)
    if "signal" in df.columns and "value" not in df.columns:  # first reader contract
        require_columns(df, LEGACY_COLUMNS, file=src.path)
        df = df.rename(columns={"signal": "value"})
        if "read" not in df.columns:
            df["read"] = ""
    require_columns(df, READER_COLUMNS, file=src.path)
    extra = [c for c in OPTIONAL_COLUMNS if c in df.columns and df[c].notna().any()]
    df = df.loc[:, [*READER_COLUMNS, *extra]].copy()
    for name in ("plate", "read", "well", "row"):
        df[name] = df[name].astype("str")
    df["col"] = df["col"].astype("int64")
    df["signal"] = pd.to_numeric(df.pop("value"), errors="coerce").astype("float64")
    named = (df["read"] != "").any()
    df["_block_read"] = df["read"]
    df["plate"] = _block_names(df)
    if not named:
        df = df.drop(columns="read")
    df = df.drop(columns="_block_read")
    key = ["plate", *[c for c in ("cycle", "time_s") if c in df.columns][:1], "well"]
    dup = df.duplicated(key)
    if dup.any():
        first = df.loc[dup].iloc[0]
        raise InputError(f"well {first['well']} appears twice in plate '{first['plate']}'",
                         file=src.path, location=f"well {first['well']}")
    return df


def _sources(
    data: PathLike | Sequence[PathLike] | None, layout: Layout | None,
    plate: str | Sequence[str] | None,
) -> list[_Source]:
    if data is None:
        if layout is None:
            raise ValueError("read() needs a data file, a layout with data paths, or both")
        missing = [p for p, path in layout.paths.items() if path is None]
        if len(missing) == len(layout.paths):
            raise InputError(
                "the layout names no data files (meta.path / meta.paths); pass the data file(s)",
                file=layout.source)
        if missing:
            raise InputError(
                f"layout plate '{missing[0]}' has no data file in meta.paths",
                file=layout.source, location="key meta.paths")
        if plate is not None:
            raise ValueError("plate= cannot be used when the data files come from the layout")
        out = []
        for name, path in layout.paths.items():
            assert path is not None
            if not path.exists():
                raise InputError(f"data file '{path}' for plate '{name}' not found",
                                 file=layout.source,
                                 location="key meta.paths" if layout.named else "key meta.path")
            out.append(_Source(path, name if layout.named else None, from_layout=True))
        return out
    files = [Path(data)] if isinstance(data, str | Path) else [Path(d) for d in data]
    if not files:
        raise ValueError("no data files given")
    if plate is None:
        names: list[str | None] = [None] * len(files)
    elif isinstance(plate, str):
        if len(files) != 1:
            raise ValueError("plate= as one name needs one data file; give a list of names")
        names = [plate]
    else:
        names = list(plate)
        if len(names) != len(files):
            raise ValueError(f"{len(files)} data files but {len(names)} plate names")
    return [_Source(f, n) for f, n in zip(files, names, strict=True)]


def _name_plates(parts: list[tuple[_Source, pd.DataFrame]]) -> list[dict[str, str]]:
    """Map each file's block names to unique measured-plate names."""
    maps: list[dict[str, str]] = []
    for src, df in parts:
        blocks = list(dict.fromkeys(df["plate"].tolist()))
        if src.prefix is not None:
            maps.append({b: src.prefix if len(blocks) == 1 else f"{src.prefix}:{b}"
                         for b in blocks})
        else:
            maps.append({b: b for b in blocks})
    # blocks of unnamed files colliding across files get the file stem in front
    counts: dict[str, int] = {}
    for m in maps:
        for v in m.values():
            counts[v] = counts.get(v, 0) + 1
    for (src, _), m in zip(parts, maps, strict=True):
        if src.prefix is None:
            for b, v in m.items():
                if counts[v] > 1:
                    m[b] = f"{src.path.stem}:{b}"
    seen: dict[str, Path] = {}
    for (src, _), m in zip(parts, maps, strict=True):
        for v in m.values():
            if v in seen:
                raise InputError(
                    f"plate name '{v}' occurs in both {seen[v].name} and {src.path.name}; "
                    "pass plate= to name the plates", file=src.path)
            seen[v] = src.path
    return maps


def _layout_plate(src: _Source, block: str, measured: str, layout: Layout) -> str:
    plates = layout.plates
    if src.prefix is not None:
        if src.prefix in plates:
            return src.prefix
        if len(plates) == 1:
            return plates[0]
        raise InputError(
            f"plate '{src.prefix}' is not in the layout (plates: {', '.join(plates)})",
            file=layout.source)
    if len(plates) == 1:
        return plates[0]
    for candidate in (block, measured):
        if candidate in plates:
            return candidate
    raise InputError(
        f"cannot tell which layout plate the data plate '{measured}' belongs to (layout plates: "
        f"{', '.join(plates)}); name the blocks like the layout plates or pass plate=",
        file=src.path)


def read(
    data: PathLike | Sequence[PathLike] | None = None,
    layout: PathLike | Layout | None = None,
    reader: str | Reader = "auto",
    plate: str | Sequence[str] | None = None,
) -> pd.DataFrame:
    """Read plate-reader file(s) and join them with a plate layout.

    Parameters
    ----------
    data
        A data file, a list of data files, or None to read the files named by the layout's
        ``meta.path``/``meta.paths``. A single ``.toml`` path with no ``layout`` is taken as
        the layout (``read("layout.toml")``).
    layout
        A :class:`~preclin.plates.layout.Layout` or a layout file (TOML or plater CSV/XLSX).
    reader
        ``"auto"`` (guess per file), a registered reader name (``"grid"``, ``"gen5"``) or a
        reader object, e.g. ``GridReader(nonnumeric="nan")``.
    plate
        Plate name(s) for the data file(s): one name per file. With a multi-plate layout, this
        says which layout plate each file holds.

    Returns
    -------
    pandas.DataFrame
        Columns ``plate, well, row, col, <layout factors...>, signal`` and, when a layout is
        given, ``in_layout`` (bool). One row per well in the data (every well is kept), ordered
        by plate (layout order, then file order), row, column. ``plate`` is the layout plate
        name for files tied to a plate (``layout.paths`` or ``plate=``; ``NAME:block`` when the
        file holds several blocks) and otherwise the block name in the file (prefixed by the
        file stem when two files use the same block name). A block is one plate and read of
        the file (named by the read when the file holds one plate, by the plate when each plate
        has one read, else ``plate:read``). The reader columns ``read``, ``time_s``, ``cycle``,
        ``wavelength_nm``, ``unit`` and ``flag`` follow ``signal`` when some file has them
        (kinetic reads: one row per well and time point); a layout factor of the same name
        wins and the reader column is kept as ``reader_<name>``.

    Raises
    ------
    InputError
        If a file cannot be read, a plate has no numeric value, a layout well has no value in
        the data, or the data plates cannot be matched with the layout plates.
    """
    if layout is None and isinstance(data, str | Path) and Path(data).suffix.lower() == ".toml":
        layout, data = data, None
    lay = layout if isinstance(layout, Layout) or layout is None else read_layout(layout)
    sources = _sources(data, lay, plate)
    parts = [(src, _read_file(src, reader)) for src in sources]
    maps = _name_plates(parts)

    factors = lay.factors if lay is not None else []
    lay_table = lay.table if lay is not None else None
    plate_rank = {p: k for k, p in enumerate(lay.plates)} if lay is not None else {}
    frames: list[pd.DataFrame] = []
    order = 0
    for (src, df), names in zip(parts, maps, strict=True):
        for block, measured in names.items():
            sub = df.loc[df["plate"] == block].copy()
            sub["plate"] = measured
            if not sub["signal"].notna().any():
                raise InputError(f"plate '{measured}' has no numeric values (every cell blank)",
                                 file=src.path, location=f"plate '{block}'")
            rank = 0
            if lay is not None and lay_table is not None:
                lp = _layout_plate(src, block, measured, lay)
                rank = plate_rank[lp]
                lt = lay_table.loc[lay_table["plate"] == lp, ["well", *factors]].copy()
                have = set(sub["well"])
                absent = [w for w in lt["well"] if w not in have]
                if absent:
                    where = f"plate '{lp}' well {absent[0]}" if len(lay.plates) > 1 else \
                        f"well {absent[0]}"
                    more = f" (and {len(absent) - 1} more)" if len(absent) > 1 else ""
                    raise InputError(
                        f"layout well {absent[0]}{more} has no value in {src.path.name}"
                        + (f" (plate '{block}')" if len(names) > 1 else ""),
                        file=lay.source, location=where)
                lt["in_layout"] = True
                clash = [c for c in factors if c in sub.columns]
                if clash:  # a layout factor named like a reader column: the layout keeps it
                    sub = sub.rename(columns={c: f"reader_{c}" for c in clash})
                sub = sub.merge(lt, on="well", how="left", sort=False)
                sub["in_layout"] = sub["in_layout"].astype("boolean").fillna(False).astype(bool)
            sub["_rank"] = rank
            sub["_order"] = order
            order += 1
            frames.append(sub)
    out = pd.concat(frames, ignore_index=True)
    out["_ri"] = out["row"].map(row_index).astype("int64")
    time_key = [c for c in ("cycle", "time_s") if c in out.columns][:1]
    if time_key:
        out["_t"] = out[time_key[0]].astype("float64").fillna(-1.0)
    else:
        out["_t"] = 0.0
    out = out.sort_values(["_rank", "_order", "_t", "_ri", "col"], kind="stable")
    extras = [c for c in _EXTRA if c in out.columns and c not in factors]
    extras += [f"reader_{c}" for c in _EXTRA if f"reader_{c}" in out.columns]
    columns = ["plate", "well", "row", "col", *factors, "signal", *extras]
    if lay is not None:
        columns.append("in_layout")
    out = out.loc[:, columns].reset_index(drop=True)
    out["signal"] = out["signal"].astype(np.float64)
    return out
