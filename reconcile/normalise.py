"""Stage the raw tables: check every record, then compute the normal forms, in SQL over whole tables.

Sources land what they read into the ``raw_*`` tables (sql/schema/raw.sql); this step turns them
into the staging tables the rules read (sql/schema/staging.sql). The checks (sql/stage/checks/)
come first, so a record that cannot be what its field promises stops the run with an InputError
naming it before anything is derived from it. The normal forms themselves are sql/stage/*.sql,
with the single-value macros in sql/stage/macros.sql.
"""

from __future__ import annotations

import duckdb

from reconcile.errors import InputError
from reconcile.paths import sql_dir
from reconcile.store import run_sql_file

# The check files, in the order their problems are reported: malformed values first, then
# records that appear twice (which needs their identifiers well formed).
CHECKS = ("entra_users", "entra_users_once", "entra_group_members", "mm_users", "mm_users_once",
          "ldap_users", "ldap_users_once")


def check_raw(con: duckdb.DuckDBPyConnection) -> None:
    """Raise an InputError for the first raw record a check refuses."""
    for name in CHECKS:
        rows = con.execute((sql_dir() / "stage" / "checks" / f"{name}.sql").read_text(encoding="utf-8")).fetchall()
        if rows:
            file, where, problem = rows[0]
            raise InputError(file or "?", where, problem)


RAW_TABLES = ("raw_entra_users", "raw_entra_group_members", "raw_mm_users", "raw_ldap_users")


def stage(con: duckdb.DuckDBPyConnection) -> None:
    """Fill the staging tables from the raw tables (after :func:`check_raw`), then empty the raw
    tables: at a million users they are hundreds of MiB that nothing reads after this."""
    for path in sorted((sql_dir() / "stage").glob("[0-9]*.sql")):
        run_sql_file(con, path)
    for table in RAW_TABLES:  # recreated empty, so their memory is given back rather than marked deleted
        con.execute(f"CREATE OR REPLACE TABLE {table} AS SELECT * FROM work.{table} LIMIT 0")
