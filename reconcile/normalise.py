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
from reconcile.store import compact, run_sql_file

# The check files, in the order their problems are reported: malformed values first, then
# records that appear twice (which needs their identifiers well formed).
CHECKS = ("entra_users", "entra_users_once", "entra_group_members", "mm_users", "mm_users_once",
          "ldap_users", "ldap_users_once", "intune_registrations")


def check_raw(con: duckdb.DuckDBPyConnection) -> None:
    """Raise an InputError for the first raw record a check refuses."""
    for name in CHECKS:
        rows = con.execute((sql_dir() / "stage" / "checks" / f"{name}.sql").read_text(encoding="utf-8")).fetchall()
        if rows:
            file, where, problem = rows[0]
            raise InputError(file or "?", where, problem)


# Each stage file and the raw table it reads, in order. After each, the raw table is emptied and
# the work database checkpointed (compressed): at a million users per source the raw tables and the
# staging tables, uncompressed, would not fit together in the memory a nightly job is given.
STAGES = (("10_entra_users.sql", "raw_entra_users"), ("20_entra_group_members.sql", "raw_entra_group_members"),
          ("30_mm_users.sql", "raw_mm_users"), ("40_ldap_users.sql", "raw_ldap_users"),
          ("50_intune_registrations.sql", "raw_intune_registrations"))


def stage(con: duckdb.DuckDBPyConnection) -> None:
    """Fill the staging tables from the raw tables (after :func:`check_raw`), one source at a time."""
    for file, raw in STAGES:
        run_sql_file(con, sql_dir() / "stage" / file)
        # recreated empty, so its memory is given back rather than marked deleted
        con.execute(f"CREATE OR REPLACE TABLE work.{raw} AS SELECT * FROM work.{raw} LIMIT 0")
        compact(con)
