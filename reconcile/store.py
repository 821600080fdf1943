"""The DuckDB store: staging for the current run, and the kept history of runs and findings.

A run works in TEMP tables first; only when every input loaded and every rule ran does one
transaction copy the snapshot, findings, rule results and readiness into the store with the run
record. A bad input therefore never leaves a half-written run behind, and earlier runs are never
touched.

The store outlives releases: its layout is versioned (``store.schema_version``) and brought
forward by the migration files of ``sql/store/migrations/`` (see migrate_store). A store written
by a newer release than this one is refused, never rewritten into an older layout. One run at a
time holds it (reconcile.store_lock, taken by reserve_store at the start of the run).
"""

from __future__ import annotations

import contextlib
import os
import re
import tempfile
from collections.abc import Iterable, Iterator, Sequence
from datetime import datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING

import duckdb
import pandas as pd

from reconcile import __version__
from reconcile.errors import ExitCode, InputError, ReconcileError
from reconcile.paths import sql_dir
from reconcile.store_lock import store_lock
from reconcile.testhook import pause_point

if TYPE_CHECKING:
    from reconcile.rules import RuleResult

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


MIGRATION_NAME = re.compile(r"^(\d{4})_[a-z0-9_]+\.sql$")
RETAINED_TABLES = ("findings", "readiness", "rule_results")  # per-run rows that retention_days prunes


class StoreVersionError(ReconcileError):
    """The store was written by a newer release (a later schema version than this code knows):
    refused, exit 3. Migrating backwards is never done; rewriting it would lose what it holds."""

    exit_code = ExitCode.INPUT_ERROR

    def __init__(self, path: Path, found: int, known: int):
        self.found = found
        self.known = known
        super().__init__(f"{path}: written by a newer reconcile (schema {found}, this release knows {known}); "
                         "run that release or a later one against it, or give this one another --store")


def migrations(folder: Path | None = None) -> list[tuple[int, Path]]:
    """The store's migration files, ``NNNN_name.sql``, as (version, path) in version order.

    Versions run 1, 2, 3... without gaps or repeats: a gap means a file went missing from the
    installation, and applying the later ones without it would record a layout the store lacks.
    """
    folder = folder or sql_dir() / "store" / "migrations"
    found: list[tuple[int, Path]] = []
    for path in sorted(folder.glob("*.sql")):
        match = MIGRATION_NAME.match(path.name)
        if not match:
            raise ValueError(f"{path}: a store migration is named NNNN_lowercase_name.sql (such as 0002_drift.sql)")
        found.append((int(match.group(1)), path))
    for expected, (version, path) in enumerate(found, start=1):
        if version != expected:
            raise ValueError(f"{path}: store migrations must be numbered 1, 2, 3... in order; "
                             f"expected {expected:04d} here")
    return found


def schema_version(con: duckdb.DuckDBPyConnection, catalog: str = "store") -> tuple[int, bool]:
    """The attached store's schema version, and whether it has a schema_version table at all.

    A store with ``runs`` but no version table was written before versions were recorded (every
    release up to 0.1.0): it has the layout of migration 1. An empty database is version 0.
    """
    tables = {row[0] for row in con.execute(
        "SELECT table_name FROM information_schema.tables WHERE table_catalog = $1 AND table_schema = 'main'",
        [catalog]).fetchall()}
    if "schema_version" in tables:
        return int(scalar(con, f"SELECT coalesce(max(version), 0) FROM {catalog}.schema_version") or 0), True
    return (1 if "runs" in tables else 0), False


def check_store_version(path: Path) -> int:
    """Refuse, before a run reads anything, a store that a newer release wrote; returns its version.

    Reads it read-only, so a refused store is not even opened for writing. A missing store is 0.
    """
    if not path.exists():
        return 0
    with duckdb.connect(":memory:") as con:
        con.execute("ATTACH $path AS store (READ_ONLY)", {"path": str(path)})
        found, _ = schema_version(con)
    known = len(migrations())
    if found > known:
        raise StoreVersionError(path, found, known)
    return found


def migrate_store(con: duckdb.DuckDBPyConnection, path: Path, folder: Path | None = None) -> list[int]:
    """Bring the attached store to this release's layout; returns the versions applied (none: nothing written).

    Every pending migration, and its row in ``schema_version``, is applied in ONE transaction: a
    failure or a kill half-way leaves the store at its old version, whole. A store from before the
    version table (version 1 by its tables) gets the table, and migration 1 is run over it as well:
    that file only creates what is missing (the oldest stores lack graph_delta_state).
    Migration files run with ``store`` as the default database (unqualified names land there) and
    must not contain BEGIN or COMMIT themselves. ``folder`` is where the files are (default
    sql/store/migrations/).
    """
    known = migrations(folder)
    found, versioned = schema_version(con)
    if found > len(known):
        raise StoreVersionError(path, found, len(known))
    pending = [(version, file) for version, file in known if version > (found if versioned else 0)]
    if not pending:
        return []
    con.execute("BEGIN TRANSACTION")
    try:
        con.execute("USE store")
        con.execute("""CREATE TABLE IF NOT EXISTS schema_version (
                           version      INTEGER NOT NULL,
                           applied_at   TIMESTAMPTZ NOT NULL,
                           tool_version VARCHAR)""")
        for version, file in pending:
            run_sql_file(con, file)
            con.execute("INSERT INTO store.schema_version VALUES ($1, now(), $2)", [version, __version__])
        pause_point("migrate")
        con.execute("COMMIT")
    except BaseException:
        con.execute("ROLLBACK")
        raise
    finally:
        con.execute("USE work")
    return [version for version, _ in pending]


@contextlib.contextmanager
def reserve_store(path: Path, lock_timeout: float | None = None) -> Iterator[None]:
    """Hold the store for one whole run: its lock (reconcile.store_lock), and a store a newer release
    wrote refused before anything is read. Enter it before the sources are opened."""
    with store_lock(path, lock_timeout):
        pause_point("lock")
        check_store_version(path)
        yield


def attach_store(con: duckdb.DuckDBPyConnection, path: Path) -> None:
    """Attach (creating if needed) the store as schema ``store``, owner-only (it holds personal data),
    and migrate it to this release's layout (migrate_store)."""
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    old_umask = os.umask(0o077)
    try:
        con.execute("ATTACH $path AS store", {"path": str(path)})
    finally:
        os.umask(old_umask)
    os.chmod(path, OWNER_ONLY)
    migrate_store(con, path)


def store_rule_results(con: duckdb.DuckDBPyConnection, run_id: str, results: Sequence[RuleResult]) -> None:
    """Record each rule's outcome for the run (inside the run's transaction): which ran, with how many
    findings, and which were skipped and why. A skipped rule's count is NULL: it was not evaluated,
    which is not the same as zero findings."""
    rows = [(run_id, r.rule.rule_id, r.severity, r.status, r.finding_count if r.status == "ran" else None,
             r.skip_reason) for r in results]
    if rows:
        con.executemany("INSERT INTO store.rule_results VALUES ($1, $2, $3, $4, $5, $6)", rows)


def prune_history(con: duckdb.DuckDBPyConnection, retention_days: int | None, now: datetime) -> None:
    """Delete the findings, readiness and rule results of runs started more than ``retention_days``
    before ``now`` (inside the run's transaction). None or 0 keeps them for ever.

    Never pruned, however old: the latest run, the latest complete run (what drift and "resolved"
    compare against) and runs a stored Graph delta link belongs to. The run records themselves stay:
    they are the history's index and hold no personal data.
    """
    if not retention_days:
        return
    cutoff = now - timedelta(days=retention_days)
    for table in RETAINED_TABLES:
        con.execute(f"""DELETE FROM store.{table} WHERE run_id IN (
                          SELECT run_id FROM store.runs WHERE started_at < $cutoff
                          EXCEPT SELECT run_id FROM (SELECT run_id FROM store.runs ORDER BY started_at DESC LIMIT 1)
                          EXCEPT SELECT run_id FROM (SELECT run_id FROM store.runs WHERE status = 'complete'
                                                     ORDER BY started_at DESC LIMIT 1)
                          EXCEPT SELECT run_id FROM store.graph_delta_state)""", {"cutoff": cutoff})


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
