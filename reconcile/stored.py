"""Reading the kept store without running an audit: ``reconcile export`` and ``reconcile history``.

The store is opened read-only under the same lock a run holds (reconcile.store_lock), so an export
never reads a run half-committed and never changes a byte; a store written by a newer release is
refused like a run refuses it. A store of an older layout is read as it is (columns a later
release added read as empty), because migrating is a run's business, not a reader's.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import duckdb

from reconcile.audit import FINDINGS_ORDER, READINESS_COLUMNS
from reconcile.drift import report_query
from reconcile.errors import InputError
from reconcile.report.csv_report import write_query_csv
from reconcile.report.team_csv import write_team_csvs
from reconcile.store import check_store_version
from reconcile.store_lock import store_lock

DRIFT_COLUMNS = ("drift", "first_seen")


@contextlib.contextmanager
def open_stored(path: Path, lock_timeout: float | None = None) -> Iterator[duckdb.DuckDBPyConnection]:
    """The store attached read-only as ``store`` in a private in-memory database."""
    if not path.is_file():
        raise InputError(str(path), None, "no store here: expected the DuckDB store a `reconcile run` or "
                                          "`reconcile audit` wrote (give --store or the job file's store)")
    with store_lock(path, lock_timeout):
        check_store_version(path)
        con = duckdb.connect(":memory:")
        try:
            con.execute("ATTACH $path AS store (READ_ONLY)", {"path": str(path)})
            yield con
        finally:
            con.close()


def _columns(con: duckdb.DuckDBPyConnection, table: str) -> set[str]:
    return {row[0] for row in con.execute(
        "SELECT column_name FROM information_schema.columns WHERE table_catalog = 'store' AND table_name = $1",
        [table]).fetchall()}


@dataclass(frozen=True)
class StoredRun:
    run_id: str
    started_at: datetime
    status: str


def pick_run(con: duckdb.DuckDBPyConnection, run_id: str | None = None) -> StoredRun:
    """The run to export: the one named, else the latest stored run (complete or partial: a partial
    run stores what it could not re-check as carried forward, so it is the latest belief)."""
    if run_id:
        rows = con.execute("SELECT run_id, started_at, status FROM store.runs WHERE run_id = $1", [run_id]).fetchall()
        if not rows:
            raise InputError("--run", None, f"no run {run_id!r} in the store (`reconcile history` lists them)")
    else:
        rows = con.execute("SELECT run_id, started_at, status FROM store.runs ORDER BY started_at DESC LIMIT 1"
                           ).fetchall()
        if not rows:
            raise InputError("store", None, "the store holds no run yet")
    return StoredRun(*rows[0])


def export_run(con: duckdb.DuckDBPyConnection, run: StoredRun, out_dir: Path, formats: tuple[str, ...]) -> list[str]:
    """Write a stored run's hand-over files into ``out_dir``; returns the names written.

    csv: the two directory-team CSVs plus that run's findings.csv and readiness.csv (the files a
    directory team is handed); json: findings.json. Nothing is re-extracted or re-judged.
    """
    from reconcile.report.json_report import write_query_json

    if (out_dir / "current").is_symlink():
        raise InputError(str(out_dir), None, "this is a run's report directory (it has a current/ link): "
                                             "writing the export here would replace that run's report links; "
                                             "give the export its own --output-dir (or output_dir in the job file)")
    out_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
    con.execute("SET VARIABLE export_run_id = $1", [run.run_id])
    con.execute("CREATE OR REPLACE TEMP VIEW export_findings AS "
                "SELECT * FROM store.findings WHERE run_id = getvariable('export_run_id')")
    tracked = set(DRIFT_COLUMNS) <= _columns(con, "findings") and bool(con.execute(
        "SELECT count(drift) FROM export_findings").fetchall()[0][0])  # drift kept for this run
    findings, columns = report_query("export_findings", tracked, FINDINGS_ORDER, schema=None)
    written: list[str] = []
    if "csv" in formats:
        written += list(write_team_csvs(con, "export_findings", out_dir))
        write_query_csv(con, findings, columns, out_dir / "findings.csv")
        write_query_csv(con, f"SELECT run_id, {', '.join(READINESS_COLUMNS)} FROM store.readiness "
                             "WHERE run_id = getvariable('export_run_id')",
                        ("run_id", *READINESS_COLUMNS), out_dir / "readiness.csv")
        written += ["findings.csv", "readiness.csv"]
    if "json" in formats:
        write_query_json(con, findings, out_dir / "findings.json")
        written.append("findings.json")
    return written


def history_rows(con: duckdb.DuckDBPyConnection, limit: int = 20) -> list[dict]:
    """The most recent runs, newest first: id, start, duration, status, rows per source, drift counts.

    Rows per source come from ``run_sources`` (every run since that table exists); drift counts are
    empty for a run that had history off or predates them.
    """
    run_columns = _columns(con, "runs")
    drift = ", ".join(f"r.{c}" if c in run_columns else f"NULL AS {c}"
                      for c in ("drift_new", "drift_persisting", "drift_resolved"))
    runs = con.execute(
        f"""SELECT r.run_id, r.started_at, epoch(r.finished_at) - epoch(r.started_at), r.status, {drift},
                   (SELECT count(*) FROM store.findings f WHERE f.run_id = r.run_id)
            FROM store.runs r ORDER BY r.started_at DESC LIMIT $1""", [limit]).fetchall()
    sources: dict[str, dict[str, dict]] = {}
    if _columns(con, "run_sources"):
        for run_id, name, rows, failed in con.execute(
                "SELECT run_id, name, rows, failed FROM store.run_sources WHERE (available OR failed) "
                "AND run_id IN (SELECT run_id FROM store.runs ORDER BY started_at DESC LIMIT $1) ORDER BY name",
                [limit]).fetchall():
            sources.setdefault(run_id, {})[name] = {"rows": rows, "failed": failed}
    return [{"run_id": run_id, "started_at": started.isoformat(), "duration_seconds": round(seconds, 1),
             "status": status, "sources": sources.get(run_id, {}), "findings": findings,
             "new": new, "persisting": persisting, "resolved": resolved}
            for run_id, started, seconds, status, new, persisting, resolved, findings in runs]
