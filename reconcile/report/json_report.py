"""JSON for scripts: the findings as an array of objects, the summary as one object."""

from __future__ import annotations

import json
from pathlib import Path

import duckdb

from reconcile.report.files import owner_only_file

FETCH_ROWS = 10_000


def write_query_json(con: duckdb.DuckDBPyConnection, query: str, path: Path) -> int:
    """Stream a query's rows as a JSON array of objects (values exactly as stored, no escaping)."""
    cursor = con.execute(query)
    columns = [d[0] for d in cursor.description]
    count = 0
    with owner_only_file(path, "w", encoding="utf-8") as handle:
        handle.write("[")
        while rows := cursor.fetchmany(FETCH_ROWS):
            for row in rows:
                handle.write(",\n" if count else "\n")
                handle.write(json.dumps(dict(zip(columns, row, strict=True)), ensure_ascii=False))
                count += 1
        handle.write("\n]\n" if count else "]\n")
    return count


def write_json(data: object, path: Path) -> None:
    with owner_only_file(path, "w", encoding="utf-8") as handle:
        json.dump(data, handle, indent=2, ensure_ascii=False, default=str)
        handle.write("\n")
