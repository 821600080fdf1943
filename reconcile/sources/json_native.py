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

# The largest object (a Graph page, an mmctl user) read here. DuckDB sizes its read buffers by it,
# so it is not the file size: a Graph page of 999 users is a few MiB, and a file that is one huge
# object (a hand-made single page of every user) goes to the streaming reader instead.
MAX_OBJECT_BYTES = 64 * 2**20


@dataclass(frozen=True)
class Collection:
    """One kind of object: the DuckDB type of the fields read (others are skipped unparsed), and
    the raw table's columns computed from ``u`` (one object), in the table's order before source_ref."""

    struct: str
    projection: str

    def fields(self) -> list[str]:
        """The top-level field names of ``struct``."""
        inner, names, depth, start = self.struct[len("STRUCT("):-1], [], 0, 0
        for i, char in enumerate(inner + ","):
            if char == "(":
                depth += 1
            elif char == ")":
                depth -= 1
            elif char == "," and depth == 0:
                names.append(inner[start:i].split()[0])
                start = i + 1
        return names


def land_collection(con: duckdb.DuckDBPyConnection, path: Path, name: str, table: str, kind: Collection,
                    prefix_columns: str = "", pages: bool = True) -> int | None:
    """Insert every object of the export at ``path`` into ``table``; the number inserted, or None when
    this reader cannot take the file (nothing inserted then). ``pages``: Graph pages are accepted
    (objects may be wrapped in ``{"value": [...]}``); otherwise only an array of objects.

    One pass over the file: an item of an array is either a page (its ``value`` is unnested) or an
    object (taken as a page of one), so nothing is read twice or held whole.
    """
    first = first_byte(path)
    if first not in (b"[", b"{") or (first == b"{" and not pages):
        return None
    fmt = "array" if first == b"[" else "unstructured"
    item = f"STRUCT(value {kind.struct}[], {kind.struct[len('STRUCT('):]}" if pages else kind.struct
    items = (f"SELECT row_number() OVER () AS n, j FROM read_json($path, format = '{fmt}', records = false, "
             f"columns = {{'j': '{item}'}}, maximum_object_size = {MAX_OBJECT_BYTES})")
    if pages:
        single = "[struct_pack(" + ", ".join(f'"{f}" := j."{f}"' for f in kind.fields()) + ")]"
        values = f"coalesce(j.value, {single})" if first == b"[" else "j.value"  # a lone object is the page
        objects = (f"SELECT unnest({values}) AS u, generate_subscripts({values}, 1) AS i, n, "
                   "j.value IS NOT NULL AS paged FROM items")
        place = ("'value[' || (i - 1) || ']'" if first == b"{" else
                 "CASE WHEN paged THEN 'page ' || n || ', value[' || (i - 1) || ']' ELSE 'record ' || n END")
        rows = f"SELECT {prefix_columns}{kind.projection}, $name || ': ' || {place} FROM ({objects})"
        check_page = "SELECT count(*) FROM items WHERE j.value IS NULL" if first == b"{" else None
    else:
        rows = f"SELECT {prefix_columns}{kind.projection.replace('u.', 'j.')}, $name || ': record ' || n FROM items"
        check_page = None
    params = {"path": str(path), "name": name}
    try:
        con.execute("SET preserve_insertion_order = true")  # record numbers follow the file
        before = con.execute(f"SELECT count(*) FROM work.{table}").fetchall()[0][0]
        con.execute(f"INSERT INTO work.{table} WITH items AS ({items}) {rows}", params)
        inserted = con.execute(f"SELECT count(*) FROM work.{table}").fetchall()[0][0] - before
        if inserted == 0 and check_page is not None and con.execute(
                f"WITH items AS ({items}) {check_page}", {"path": str(path)}).fetchall()[0][0]:
            return None  # an object that is not a Graph page: the streaming reader says what it is
        return inserted
    except duckdb.Error:
        return None
    finally:
        con.execute("SET preserve_insertion_order = false")
