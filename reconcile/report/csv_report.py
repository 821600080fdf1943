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


# The same escape in SQL, for text columns: a million readiness rows are escaped by DuckDB, not by a
# Python call per cell (safe_cell stays the rule for values written outside a query).
_SAFE_SQL = r"CASE WHEN regexp_matches({0}, '^[=+\-@\t\r]') THEN '''' || {0} ELSE {0} END"
# Booleans as the reports' contract writes them (readiness.csv "accepted"): true / false, not Python's.
_BOOL_SQL = "CASE WHEN {0} THEN 'true' WHEN NOT {0} THEN 'false' END"


def write_query_csv(con: duckdb.DuckDBPyConnection, query: str, columns: Sequence[str], path: Path) -> int:
    """Stream a query's rows to ``path``; returns the row count."""
    types = [row[1] for row in con.execute(f"DESCRIBE {query}").fetchall()]
    cells = ", ".join(_SAFE_SQL.format(f"#{n}") if kind == "VARCHAR" else
                      _BOOL_SQL.format(f"#{n}") if kind == "BOOLEAN" else f"#{n}"
                      for n, kind in enumerate(types, 1))
    cursor = con.execute(f"SELECT {cells} FROM ({query})")
    count = 0
    with owner_only_file(path, "w", encoding="utf-8-sig", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(columns)
        while rows := cursor.fetchmany(FETCH_ROWS):
            writer.writerows(rows)
            count += len(rows)
    return count
