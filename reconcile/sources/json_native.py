"""JSON exports read by DuckDB's own reader (read_json), straight into a raw table.

A one-million-user Graph export is 1.2 GiB of JSON. Parsed in Python (even streaming, with
ijson's C parser) it costs tens of seconds of per-object work; DuckDB parses it in parallel into
columns, and with an explicit schema it materialises only the fields the rules read. The shapes
Graph and mmctl write are handled here: one Graph page (``{"value": [...]}``), an array of pages
(what a script following ``@odata.nextLink`` collects), and a bare array of objects (mmctl, or
pages already flattened). Each record keeps its place ("page 3, value[17]", "record 5") for error
messages.

Anything else (API pages as an array of arrays, objects one after another, a value of the wrong
type, JSON that does not parse) returns ``None``: the caller then reads the file with the streaming
Python reader (reconcile.sources.jsonfile), which accepts every shape and says exactly where and
why a broken file is broken. The fast path never decides that a file is bad.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import duckdb

from reconcile.sources.jsonfile import first_byte

MIN_OBJECT_BYTES = 16 * 2**20  # DuckDB's default maximum_object_size
MAX_OBJECT_BYTES = 2**32 - 1    # the largest it accepts


@dataclass(frozen=True)
class Collection:
    """One kind of object: the DuckDB type of the fields read (others are skipped unparsed), and
    the raw table's columns computed from ``u`` (one object), in the table's order before source_ref."""

    struct: str
    projection: str


def land_collection(con: duckdb.DuckDBPyConnection, path: Path, name: str, table: str, kind: Collection,
                    prefix_columns: str = "", pages: bool = True) -> int | None:
    """Insert every object of the export at ``path`` into ``table``; the number inserted, or None when
    this reader cannot take the file (nothing inserted then). ``pages``: Graph pages are accepted
    (objects may be wrapped in ``{"value": [...]}``); otherwise only an array of objects."""
    first = first_byte(path)
    if first not in (b"[", b"{") or (first == b"{" and not pages):
        return None
    item = f"STRUCT(value {kind.struct}[], {kind.struct[len('STRUCT('):]}" if pages else kind.struct
    size = min(max(MIN_OBJECT_BYTES, path.stat().st_size + 1), MAX_OBJECT_BYTES)
    fmt = "array" if first == b"[" else "unstructured"
    items = (f"SELECT row_number() OVER () AS n, j FROM read_json($path, format = '{fmt}', records = false, "
             f"columns = {{'j': '{item}'}}, maximum_object_size = {size})")
    if pages:
        place = ("'value[' || (i - 1) || ']'" if first == b"{"
                 else "'page ' || n || ', value[' || (i - 1) || ']'")
        objects = ("SELECT unnest(j.value) AS u, generate_subscripts(j.value, 1) AS i, n "
                   "FROM items WHERE j.value IS NOT NULL")
        rows = f"""SELECT {prefix_columns}{kind.projection}, $name || ': ' || {place} FROM ({objects})"""
        if first == b"[":
            singles = kind.projection.replace("u.", "j.")
            rows += (f" UNION ALL SELECT {prefix_columns}{singles}, $name || ': record ' || n "
                     "FROM items WHERE j.value IS NULL")
        check_page = ("SELECT count(*) FROM items WHERE j.value IS NULL" if first == b"{" else None)
    else:
        rows = f"SELECT {prefix_columns}{kind.projection.replace('u.', 'j.')}, $name || ': record ' || n FROM items"
        check_page = None
    params = {"path": str(path), "name": name}
    try:
        con.execute("SET preserve_insertion_order = true")  # record numbers follow the file
        before = con.execute(f"SELECT count(*) FROM temp.{table}").fetchall()[0][0]
        con.execute(f"INSERT INTO temp.{table} WITH items AS ({items}) {rows}", params)
        inserted = con.execute(f"SELECT count(*) FROM temp.{table}").fetchall()[0][0] - before
        if inserted == 0 and check_page is not None and con.execute(
                f"WITH items AS ({items}) {check_page}", {"path": str(path)}).fetchall()[0][0]:
            return None  # an object that is not a Graph page: the streaming reader says what it is
        return inserted
    except duckdb.Error:
        return None
    finally:
        con.execute("SET preserve_insertion_order = false")
