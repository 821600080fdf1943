"""The DuckDB store: staging for the current run, and the kept history of runs and findings.

A run works in TEMP tables first; only when every input loaded and every rule ran does one
transaction copy the snapshot, findings and readiness into the store with the run record. A bad
input therefore never leaves a half-written run behind, and earlier runs are never touched.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path

import duckdb
import pandas as pd

from reconcile.errors import InputError
from reconcile.paths import sql_dir

BATCH_ROWS = 50_000
SNAPSHOT_TABLES = (
    "entra_users", "entra_other_mails", "entra_group_members", "mm_users", "ldap_users",
    "mm_config", "mm_license", "run_inputs", "saml_assertions", "saml_attributes", "saml_rejected",
    "saml_metadata", "msal_tokens", "entra_application", "entra_app_required_access",
    "entra_service_principals", "entra_sp_scopes", "entra_oauth2_grants", "intune_policy_apps",
    "intune_policy_targets", "entra_user_raw", "entra_app_scopes", "entra_app_preauthorized",
    "entra_authorization_policy", "mobile_client_ids",
)
OWNER_ONLY = 0o600


DEFAULT_MEMORY_LIMIT = "1300MB"  # DuckDB's share: a million users per source then run in under 2 GiB RSS


def memory_limit_of(given: str | None) -> str:
    """The run's memory limit: the one given, else ``RECONCILE_MEMORY_LIMIT``, else the default."""
    return given or os.environ.get("RECONCILE_MEMORY_LIMIT") or DEFAULT_MEMORY_LIMIT


@contextlib.contextmanager
def open_workspace(memory_limit: str | None = None) -> Iterator[duckdb.DuckDBPyConnection]:
    """An in-memory database for one run's staging, matching and rules.

    The store is attached only once everything has been read and checked, so a bad input leaves
    no trace on disk: not even a new, empty store file. What DuckDB spills while joining a large
    tenant goes to a private (0700) directory that is removed afterwards, not to ./.tmp.
    ``memory_limit`` (DuckDB's syntax: "2GB", "800MB"; default ``RECONCILE_MEMORY_LIMIT`` or 1300MB)
    bounds what DuckDB holds before it spills there: a nightly job shares its machine.
    """
    limit = memory_limit_of(memory_limit)
    with tempfile.TemporaryDirectory(prefix="reconcile-") as spill:
        os.chmod(spill, 0o700)
        try:
            con = duckdb.connect(":memory:", config={"temp_directory": spill, "memory_limit": limit})
        except duckdb.Error as exc:
            raise InputError("--memory-limit (RECONCILE_MEMORY_LIMIT)", None,
                             f"{limit!r} is not a memory size DuckDB accepts (such as 1GB or 800MB): {exc}") from exc
        try:
            con.execute("SET preserve_insertion_order = false")
            # The run's tables live in a second in-memory database that compresses what it holds once
            # checkpointed (see compact): a million users per source take about a third of the memory.
            con.execute("ATTACH ':memory:' AS work (COMPRESS)")
            con.execute("USE work")
            yield con
        finally:
            con.close()


def attach_store(con: duckdb.DuckDBPyConnection, path: Path) -> None:
    """Attach (creating if needed) the store as schema ``store``, owner-only: it holds personal data."""
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    old_umask = os.umask(0o077)
    try:
        con.execute("ATTACH $path AS store", {"path": str(path)})
    finally:
        os.umask(old_umask)
    os.chmod(path, OWNER_ONLY)
    con.execute("USE store")
    try:
        run_sql_file(con, sql_dir() / "schema" / "store.sql")
        # until the migration runner applies sql/store/migrations in order: idempotent DDL, run every time
        run_sql_file(con, sql_dir() / "store" / "migrations" / "0002_drift.sql")
    finally:
        con.execute("USE work")


def compact(con: duckdb.DuckDBPyConnection) -> None:
    """Compress the run's tables written so far (the work database compresses at checkpoints)."""
    con.execute("CHECKPOINT work")


def scalar(con: duckdb.DuckDBPyConnection, query: str, params: object = None) -> object:
    """First column of the first row (fetchall: DuckDB 2 refuses new work on a half-read result)."""
    rows = con.execute(query, params).fetchall()
    return rows[0][0] if rows else None


def run_sql_file(con: duckdb.DuckDBPyConnection, path: Path) -> None:
    con.execute(path.read_text(encoding="utf-8"))


def create_staging(con: duckdb.DuckDBPyConnection) -> None:
    """Empty raw and staging tables for one run in a fresh workspace (see open_workspace), and the
    normal-form macros the stage step uses."""
    run_sql_file(con, sql_dir() / "schema" / "staging.sql")
    run_sql_file(con, sql_dir() / "schema" / "raw.sql")
    run_sql_file(con, sql_dir() / "stage" / "macros.sql")


def load_rows(
    con: duckdb.DuckDBPyConnection, table: str, columns: Sequence[str], rows: Iterable[tuple],
    batch_rows: int = BATCH_ROWS,
) -> int:
    """Stream tuples into a staging table in batches; returns the number of rows loaded.

    Batches go through a pandas frame because DuckDB scans a frame column-wise in one call,
    where ``executemany`` costs a round trip per row (about 50x slower at 100k users).
    """
    total = 0
    batch: list[tuple] = []
    for row in rows:
        batch.append(row)
        if len(batch) >= batch_rows:
            total += _insert(con, table, columns, batch)
            batch = []
    if batch:
        total += _insert(con, table, columns, batch)
    return total


def _insert(con: duckdb.DuckDBPyConnection, table: str, columns: Sequence[str], batch: list[tuple]) -> int:
    con.register("_batch", pd.DataFrame.from_records(batch, columns=list(columns)))
    try:
        con.execute(f"INSERT INTO work.{table} ({', '.join(columns)}) SELECT * FROM _batch")
    finally:
        con.unregister("_batch")
    return len(batch)
