"""Run records through the real landing and stage SQL and read back the staging rows the rules see."""

from __future__ import annotations

from collections.abc import Callable

import duckdb

from reconcile.normalise import check_raw, stage
from reconcile.store import create_staging, open_workspace


def staged(land: Callable[[duckdb.DuckDBPyConnection], object], *tables: str) -> dict[str, list[dict]]:
    """``land`` fills raw tables in a fresh workspace; returns each staging table's rows as dicts."""
    with open_workspace() as con:
        create_staging(con)
        land(con)
        check_raw(con)
        stage(con)
        out = {}
        for table in tables:
            cursor = con.execute(f"SELECT * FROM work.{table}")
            names = [d[0] for d in cursor.description]
            out[table] = [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]
        return out
