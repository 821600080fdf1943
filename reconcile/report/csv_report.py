"""CSV for people: UTF-8 with BOM (Excel opens it as UTF-8) and formula-injection-safe cells.

A cell that starts with = + - @ or a control character would run as a formula in Excel or
LibreOffice; such cells get a leading apostrophe (OWASP's advice). Identifiers we report never
start with these, so the escape only touches values that someone typed into a directory.
"""

from __future__ import annotations

import csv
from collections.abc import Sequence
from pathlib import Path

import duckdb

from reconcile.report.files import owner_only_file

_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
FETCH_ROWS = 10_000


def safe_cell(value: object) -> object:
    if isinstance(value, str) and value.startswith(_FORMULA_START):
        return "'" + value
    return "" if value is None else value


def write_query_csv(con: duckdb.DuckDBPyConnection, query: str, columns: Sequence[str], path: Path) -> int:
    """Stream a query's rows to ``path``; returns the row count."""
    cursor = con.execute(query)
    count = 0
    with owner_only_file(path, "w", encoding="utf-8-sig", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(columns)
        while rows := cursor.fetchmany(FETCH_ROWS):
            writer.writerows([safe_cell(v) for v in row] for row in rows)
            count += len(rows)
    return count
