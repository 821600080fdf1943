"""The store outlives releases and years of nightly runs: versioned layout, forward migrations, a newer
store refused, rule outcomes kept with their run, and retention that never drops what drift needs.

``fixtures/store-0.1.0-4881fac.duckdb.xz`` is a store written by the previous release (commit 4881fac,
0.1.0, before the schema_version table): two audits of the bundled sample tenant, made with
``git archive 4881fac | tar -x -C /tmp/old`` and, twice,
``PYTHONPATH=/tmp/old python -c "from reconcile.cli import main; main()" audit --sample --output-dir X``,
then ``xz -9`` (DuckDB's 256 KiB blocks make the raw file 15 MB for a few hundred rows).
"""

from __future__ import annotations

import csv
import lzma
import shutil
from datetime import UTC, datetime, timedelta
from pathlib import Path

import duckdb
import pytest
from click.testing import CliRunner

from reconcile.audit import run_audit
from reconcile.cli import main
from reconcile.errors import ExitCode
from reconcile.paths import sample_dir, sql_dir
from reconcile.store import StoreVersionError, migrate_store, migrations, open_workspace
from reconcile.store_lock import lock_path_of

OLD_STORE = Path(__file__).parent / "fixtures" / "store-0.1.0-4881fac.duckdb.xz"
OLD_RUNS = ["20261202T170832Z-6e4295", "20261202T170835Z-342d72"]
LATEST = len(migrations())
EMPTY_LDIF = "# extended LDIF\n#\n# search result\nsearch: 2\nresult: 0 Success\n\n# numResponses: 1\n"


def _old_store(tmp_path: Path) -> Path:
    store = tmp_path / "store.duckdb"
    store.write_bytes(lzma.decompress(OLD_STORE.read_bytes()))
    store.chmod(0o600)
    return store


def _rows(store: Path, query: str, params: object = None) -> list[tuple]:
    with duckdb.connect(str(store), read_only=True) as con:
        return con.execute(query, params).fetchall()


def _tables(store: Path) -> set[str]:
    return {name for (name,) in _rows(store, "SELECT table_name FROM information_schema.tables")}


def _history(store: Path, run_ids: list[str], columns: dict[str, list[str]] | None = None) -> dict[str, list[tuple]]:
    """Everything the store keeps about the given runs, row for row: in the given columns (those an
    older layout had: later migrations add columns, which old rows read as empty), else all."""
    columns = columns or _columns(store)
    return {table: _rows(store, f"SELECT {', '.join(columns[table])} FROM {table} "
                                "WHERE run_id IN (SELECT unnest($1)) ORDER BY ALL", [run_ids])
            for table in ("runs", "findings", "readiness", "rule_results")}


def _columns(store: Path) -> dict[str, list[str]]:
    return {table: [name for (name,) in _rows(store, "SELECT column_name FROM information_schema.columns "
                                                     "WHERE table_name = $1 ORDER BY ordinal_position", [table])]
            for table in ("runs", "findings", "readiness", "rule_results")}


def _attach(con: duckdb.DuckDBPyConnection, store: Path) -> None:
    con.execute("ATTACH $path AS store", {"path": str(store)})


def test_the_fixture_is_a_store_of_the_previous_release(tmp_path):
    """Guards the test below: an unversioned store with two runs of history and the 0.1.0 tables."""
    store = _old_store(tmp_path)
    assert "schema_version" not in _tables(store)
    assert {"runs", "findings", "readiness", "rule_results", "graph_delta_state", "stg_entra_users"} <= _tables(store)
    assert _rows(store, "SELECT run_id, status, tool_version FROM runs ORDER BY ALL") == [
        (OLD_RUNS[0], "complete", "0.1.0"), (OLD_RUNS[1], "complete", "0.1.0")]
    assert _rows(store, "SELECT count(*) FROM findings GROUP BY run_id") == [(73,), (73,)]


def test_a_store_from_the_previous_release_is_migrated_and_keeps_its_history(tmp_path):
    store = _old_store(tmp_path)
    old_columns = _columns(store)
    before = _history(store, OLD_RUNS)
    result = run_audit(sample_dir(), tmp_path / "out", store)
    assert result.exit_code == ExitCode.FINDINGS
    assert result.summary["previous_run_id"] == OLD_RUNS[1]
    # the differences since that release's sample: Johanna Schmidt's email binding became ambiguous
    # (a second person carries the alias: USER_LINK_AMBIGUOUS, issue 14), and the sample gained Intune's
    # registrations (issue 15: one false alarm, one enrollment outside the targeted groups); everything
    # else persists
    assert result.summary["changes_since_previous"] == {"new": 3, "resolved": 1}
    johanna = "943e079a-a915-4bbc-a59c-6be515d01935"
    with (tmp_path / "out" / "findings.csv").open(encoding="utf-8-sig") as handle:
        new = [r for r in csv.DictReader(handle) if r["drift"] == "new"]
    assert sorted(r["rule_id"] for r in new) == ["OUTCOME_ENROLLED_NOT_TARGETED", "OUTCOME_FALSE_ALARM",
                                                  "USER_LINK_AMBIGUOUS"]
    assert [r["entra_object_id"] for r in new if r["rule_id"] == "USER_LINK_AMBIGUOUS"] == [johanna]
    with (tmp_path / "out" / "resolved.csv").open(encoding="utf-8-sig") as handle:
        assert [(r["rule_id"], r["entra_object_id"]) for r in csv.DictReader(handle)] == [
            ("USER_AUTHDATA_IS_EMAIL", johanna)]
    versions = _rows(store, "SELECT version, tool_version FROM schema_version ORDER BY version")
    assert versions == [(v, "0.1.0") for v in range(1, LATEST + 1)]
    assert _history(store, OLD_RUNS, old_columns) == before, "the old runs, findings and readiness are kept"
    assert _rows(store, "SELECT run_id FROM runs ORDER BY started_at") == [(OLD_RUNS[0],), (OLD_RUNS[1],),
                                                                            (result.run_id,)]
    assert _rows(store, "SELECT count(*) FROM findings WHERE run_id = $1", [result.run_id]) == [(75,)]

    # Opening it again applies nothing and writes nothing.
    applied_at = _rows(store, "SELECT version, applied_at FROM schema_version ORDER BY ALL")
    with open_workspace() as con:
        _attach(con, store)
        assert migrate_store(con, store) == []
    assert _rows(store, "SELECT version, applied_at FROM schema_version ORDER BY ALL") == applied_at
    second = run_audit(sample_dir(), tmp_path / "out2", store)
    assert second.exit_code == ExitCode.FINDINGS
    assert _rows(store, "SELECT version, applied_at FROM schema_version ORDER BY ALL") == applied_at


def test_an_older_store_without_the_delta_table_gains_it(tmp_path):
    """The first release had no graph_delta_state: running migration 1 over an unversioned store adds
    only what is missing."""
    store = _old_store(tmp_path)
    with duckdb.connect(str(store)) as con:
        con.execute("DROP TABLE graph_delta_state")
    old_columns = _columns(store)
    before = _history(store, OLD_RUNS)
    with open_workspace() as con:
        _attach(con, store)
        assert migrate_store(con, store) == list(range(1, LATEST + 1))
    assert "graph_delta_state" in _tables(store)
    assert _history(store, OLD_RUNS, old_columns) == before


def test_a_new_store_records_every_migration(tmp_path):
    store = tmp_path / "new.duckdb"
    run_audit(sample_dir(), tmp_path / "out", store)
    assert [v for (v,) in _rows(store, "SELECT version FROM schema_version ORDER BY ALL")] == list(
        range(1, LATEST + 1))


def test_a_store_written_by_a_newer_release_is_refused_untouched(tmp_path):
    store = _old_store(tmp_path)
    with open_workspace() as con:
        _attach(con, store)
        migrate_store(con, store)
        con.execute("INSERT INTO store.schema_version VALUES ($1, now(), '9.0.0')", [LATEST + 1])
    image = store.read_bytes()
    with pytest.raises(StoreVersionError) as refused:
        run_audit(sample_dir(), tmp_path / "out", store)
    assert str(refused.value) == (
        f"{store}: written by a newer reconcile (schema {LATEST + 1}, this release knows {LATEST}); "
        "run that release or a later one against it, or give this one another --store")
    assert store.read_bytes() == image
    assert not (tmp_path / "out").exists() and not lock_path_of(store).exists()

    cli = CliRunner().invoke(main, ["audit", "--sample", "--output-dir", str(tmp_path / "out"),
                                    "--store", str(store), "-q"])
    assert cli.exit_code == 3, cli.output
    assert f"schema {LATEST + 1}, this release knows {LATEST}" in " ".join(cli.stderr.split())
    assert store.read_bytes() == image

    with open_workspace() as con:  # and the runner itself refuses it, were it ever reached
        _attach(con, store)
        with pytest.raises(StoreVersionError):
            migrate_store(con, store)


def _migrations_with(tmp_path: Path, extra: str) -> Path:
    folder = tmp_path / "migrations"
    shutil.copytree(sql_dir() / "store" / "migrations", folder)
    (folder / f"{LATEST + 1:04d}_extra.sql").write_text(extra, encoding="utf-8")
    return folder


def test_pending_migrations_apply_in_one_transaction(tmp_path):
    """A later migration (such as another helper's 0002_drift.sql) is applied after 0001 on an old store;
    one that fails half-way leaves the store at its old version with nothing of the migration in it."""
    store = _old_store(tmp_path)
    broken = _migrations_with(tmp_path / "broken", "CREATE TABLE drift_state (k VARCHAR);\n"
                                                   "ALTER TABLE runs ADD COLUMN note VARCHAR;\n"
                                                   "SELECT no_such_column FROM runs;\n")
    with open_workspace() as con:
        _attach(con, store)
        with pytest.raises(duckdb.BinderException):
            migrate_store(con, store, broken)
    assert "drift_state" not in _tables(store) and "schema_version" not in _tables(store)
    assert "note" not in {c for (c,) in _rows(store, "SELECT column_name FROM information_schema.columns "
                                                     "WHERE table_name = 'runs'")}

    good = _migrations_with(tmp_path / "good", "CREATE TABLE drift_state (k VARCHAR);\n")
    with open_workspace() as con:
        _attach(con, store)
        assert migrate_store(con, store, good) == list(range(1, LATEST + 2))
        assert migrate_store(con, store, good) == []
    assert "drift_state" in _tables(store)
    assert _rows(store, "SELECT max(version) FROM schema_version") == [(LATEST + 1,)]


def test_migration_files_are_numbered_without_gaps(tmp_path):
    (tmp_path / "0001_initial.sql").write_text("SELECT 1;")
    (tmp_path / "0003_late.sql").write_text("SELECT 1;")
    with pytest.raises(ValueError, match="expected 0002 here"):
        migrations(tmp_path)
    (tmp_path / "0003_late.sql").rename(tmp_path / "2_bad.sql")
    with pytest.raises(ValueError, match=r"NNNN_lowercase_name\.sql"):
        migrations(tmp_path)


def test_rule_results_are_stored_with_their_run(tmp_path):
    store = tmp_path / "store.duckdb"
    result = run_audit(sample_dir(), tmp_path / "out", store)
    stored = {row[0]: row[1:] for row in _rows(
        store, "SELECT rule_id, severity, status, finding_count, skip_reason FROM rule_results WHERE run_id = $1",
        [result.run_id])}
    assert len(stored) == len(result.rule_results)
    for res in result.rule_results:
        count = res.finding_count if res.status == "ran" else None
        assert stored[res.rule.rule_id] == (res.severity, res.status, count, res.skip_reason)
    assert sum(n for _, _, n, _ in stored.values() if n) == 75


def _partial_sample(tmp_path: Path) -> Path:
    """The sample tenant with an LDIF export that holds nobody: LDAP failed, the run is partial."""
    export = tmp_path / "partial-export"
    shutil.copytree(sample_dir(), export, ignore=shutil.ignore_patterns("misconfigured"))
    (export / "ldap_users.ldif").write_text(EMPTY_LDIF, encoding="utf-8")
    return export


def _kept(store: Path, table: str) -> set[str]:
    return {run for (run,) in _rows(store, f"SELECT DISTINCT run_id FROM {table}")}


def test_retention_prunes_old_findings_but_never_what_drift_and_delta_need(tmp_path):
    store = tmp_path / "store.duckdb"
    old = [run_audit(sample_dir(), tmp_path / f"o{n}", store).run_id for n in range(3)]
    now = datetime.now(UTC)
    with duckdb.connect(str(store)) as con:
        for run_id, days in zip(old, (500, 480, 460), strict=True):
            con.execute("UPDATE runs SET started_at = $1, finished_at = $1 WHERE run_id = $2",
                        [now - timedelta(days=days), run_id])
        con.execute("INSERT INTO graph_delta_state VALUES ('https://graph.example/v1.0 tenant', "
                    "'https://graph.example/delta?token=x', $1, $2)", [old[0], now - timedelta(days=500)])
    everything = {old[0], old[1], old[2]}

    kept = run_audit(sample_dir(), tmp_path / "keep", store)  # no retention_days: today's behaviour, for ever
    for table in ("findings", "readiness", "rule_results"):
        assert _kept(store, table) == everything | {kept.run_id}, table
    with duckdb.connect(str(store)) as con:  # that run did not happen, for the cases below
        for table in ("runs", "findings", "readiness", "rule_results"):
            con.execute(f"DELETE FROM {table} WHERE run_id = $1", [kept.run_id])

    partial = run_audit(_partial_sample(tmp_path), tmp_path / "p", store, retention_days=400)
    assert partial.partial
    # old[0]: a stored delta link belongs to it; old[2]: the latest complete run; partial: the latest run.
    for table in ("findings", "readiness", "rule_results"):
        assert _kept(store, table) == {old[0], old[2], partial.run_id}, table
    assert _kept(store, "runs") == everything | {partial.run_id}, "run records stay"

    complete = run_audit(sample_dir(), tmp_path / "c", store, retention_days=400)
    for table in ("findings", "readiness", "rule_results"):
        assert _kept(store, table) == {old[0], partial.run_id, complete.run_id}, table
    assert _rows(store, "SELECT count(*) FROM findings WHERE run_id = $1", [old[0]]) == [(75,)]


def test_retention_days_must_not_be_negative(tmp_path):
    with pytest.raises(ValueError, match="retention_days"):
        run_audit(sample_dir(), tmp_path / "out", tmp_path / "store.duckdb", retention_days=-1)
    assert not (tmp_path / "out").exists()
