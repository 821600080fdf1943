"""Drift that can be trusted: which findings are new, which persist, and which really resolved.

A nightly run answers "who broke since yesterday?", so "resolved" must mean that this run looked and
the problem was gone, never that a source was missing or broken. The comparison itself (what makes two
findings the same, what each rule reads, when a finding may resolve) is SQL under ``sql/drift/``; this
module chooses the baseline run, feeds the rules' outcomes in, and guards against a source that shrank
(a sudden loss of a fifth of a directory is a broken filter far more often than a layoff).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import duckdb

from reconcile.errors import InputError
from reconcile.paths import sql_dir
from reconcile.rules import FINDINGS_COLUMNS, Rule, RuleResult
from reconcile.sources.base import InputInfo
from reconcile.store import run_sql_file, scalar

DEFAULT_SHRINK_THRESHOLD = 0.2
DRIFT_COLUMNS = ("drift", "first_seen")
REPORT_COLUMNS = (*FINDINGS_COLUMNS, *DRIFT_COLUMNS)  # findings.csv and resolved.csv with history on
# The inputs that list a population, each with the inputs it stands for and the raw tables it fills:
# these are compared with the last complete run. Single documents (the config, the licence, the app
# registration, the policies) and captured samples (SAML responses, tokens) change size by design.
SHRINK_CHECKED: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {
    "entra_users": (("entra_users", "entra_licenses"), ("raw_entra_users",)),
    "entra_groups": (("entra_groups",), ("raw_entra_group_members",)),
    "mattermost_users": (("mattermost_users",), ("raw_mm_users",)),
    "ldap": (("ldap",), ("raw_ldap_users",)),
}


@dataclass(frozen=True)
class DriftCounts:
    """What findings.csv and resolved.csv hold: new + persisting + accepted + reopened rows, resolved rows."""

    new: int
    persisting: int
    resolved: int
    carried_forward: int  # not found tonight, but not resolvable either (counted in the four above)
    accepted: int = 0     # persisting, open in the baseline and accepted by an exception now (issue 13)
    reopened: int = 0     # persisting, accepted in the baseline and open now: its exception expired or went

    def as_summary(self) -> dict[str, int]:
        return {"new": self.new, "persisting": self.persisting, "accepted": self.accepted,
                "reopened": self.reopened, "resolved": self.resolved}


# ---- before the rules: refuse a source that shrank -------------------------------------------------

def previous_rows(store_path: Path) -> dict[str, tuple[int, str]]:
    """Per input: the rows it had in the last complete run that read it completely, and that run's id.

    Read through a separate read-only connection before anything is attached, so this works whether
    the store exists, predates run_sources (then the kept staging snapshot of run_inputs is used), or
    is being written by nobody; a store that cannot be opened is an error naming it.
    """
    if not store_path.is_file():
        return {}
    try:
        store = duckdb.connect(str(store_path), read_only=True)
    except duckdb.Error as exc:
        raise InputError(str(store_path), None,
                         f"the store could not be opened to compare source sizes with the last run: {exc}") from exc
    try:
        tables = {row[0] for row in store.execute(
            "SELECT table_name FROM information_schema.tables WHERE table_schema = 'main'").fetchall()}
        if "runs" not in tables:
            return {}
        parts = [f"SELECT run_id, name, rows, available, failed FROM {table}"
                 for table in ("run_sources", "stg_run_inputs") if table in tables]
        if not parts:
            return {}
        rows = store.execute(
            f"""SELECT s.name, arg_max(s.rows, r.started_at), arg_max(r.run_id, r.started_at)
                FROM ({' UNION ALL '.join(parts)}) AS s JOIN runs r USING (run_id)
                WHERE r.status = 'complete' AND s.available AND NOT s.failed AND s.rows IS NOT NULL
                GROUP BY s.name""").fetchall()
    finally:
        store.close()
    return {name: (count, run_id) for name, count, run_id in rows}


def check_shrink(con: duckdb.DuckDBPyConnection, inputs: list[InputInfo], store_path: Path,
                 threshold: float = DEFAULT_SHRINK_THRESHOLD, accept: bool = False) -> list[str]:
    """Treat every population input that lost more than ``threshold`` of its rows since the last complete
    run as failed (unless ``accept``): its tables are emptied like a failed pull's, so no rule and no
    matching uses half a directory, the rules depending on it are skipped and the run is partial.

    Updates ``inputs`` and work.run_inputs in place; returns the names refused. Must run after the
    sources landed and were checked (an input error wins), and before normalising and matching.
    """
    if not 0 <= threshold < 1:
        raise ValueError(f"shrink_threshold must be at least 0 and below 1, not {threshold!r}")
    previous = previous_rows(store_path)
    by_name = {info.name: info for info in inputs}
    refused: list[str] = []
    for name, (names, tables) in SHRINK_CHECKED.items():
        info = by_name.get(name)
        if info is None or not info.available or info.failed or info.rows is None or name not in previous:
            continue
        before, run_id = previous[name]
        if before <= 0 or (before - info.rows) / before <= threshold:
            continue
        change = _percent((info.rows - before) / before)
        fell = f"rows fell from {before:,} to {info.rows:,} ({change}) since run {run_id}"
        if accept:
            _set_note(con, info, _joined(info.note, f"{fell}: accepted (--accept-shrink)"))
            continue
        note = (f"{fell}, more than the {_percent(threshold, sign=False)} allowed: a broken filter? "
                "pass --accept-shrink if the directory really shrank")
        for table in tables:
            con.execute(f"DELETE FROM work.{table}")
        for other in names:
            if other in by_name and (other == name or by_name[other].available):
                _fail(con, by_name[other], note if other == name else f"{name} {note}")
        refused.append(name)
    return refused


def _percent(share: float, sign: bool = True) -> str:
    text = f"{share * 100:+.1f}" if sign else f"{share * 100:.1f}"
    return text.removesuffix(".0") + "%"


def _joined(first: str | None, second: str) -> str:
    return f"{first}; {second}" if first else second


def _set_note(con: duckdb.DuckDBPyConnection, info: InputInfo, note: str) -> None:
    info.note = note
    con.execute("UPDATE work.run_inputs SET note = $2 WHERE name = $1", [info.name, note])


def _fail(con: duckdb.DuckDBPyConnection, info: InputInfo, note: str) -> None:
    info.available, info.failed, info.note = False, True, note
    con.execute("UPDATE work.run_inputs SET available = false, failed = true, note = $2 WHERE name = $1",
                [info.name, note])


# ---- after the rules, with the store attached: compare with the baseline --------------------------

def baseline_run(con: duckdb.DuckDBPyConnection) -> str | None:
    """The run whose findings are the open set to compare with: the last run that tracked drift (its
    findings include what it carried forward, so even a partial one is a whole open set); before any
    did (a store from an earlier release, or runs with history off only), the last complete run."""
    tracked = scalar(con, "SELECT run_id FROM store.runs WHERE drift_new IS NOT NULL ORDER BY started_at DESC LIMIT 1")
    return tracked or scalar(con, "SELECT run_id FROM store.runs WHERE status = 'complete' "
                                  "ORDER BY started_at DESC LIMIT 1")


def track(con: duckdb.DuckDBPyConnection, run_id: str, started: object, rules: Sequence[Rule],
          results: Sequence[RuleResult], baseline: str | None) -> None:
    """Mark this run's findings new or persisting, carry forward the baseline's findings that cannot
    resolve yet (into work.findings, carried_forward), and leave the resolved ones in work.drift_resolved.
    Then the exceptions judge every finding (reconcile.exceptions.cover) and :func:`finish` counts."""
    run_sql_file(con, sql_dir() / "drift" / "00_rules.sql")
    status = {res.rule.rule_id: res.status for res in results}
    con.executemany("INSERT INTO work.drift_rules VALUES (?, ?, ?)",
                    [(rule.rule_id, status.get(rule.rule_id, "skipped"), list(rule.depends_on)) for rule in rules])
    con.execute("SET VARIABLE drift_run_id = $1", [run_id])
    con.execute("SET VARIABLE drift_started = CAST($1 AS TIMESTAMPTZ)", [started])
    con.execute("SET VARIABLE drift_baseline = $1", [baseline])
    con.execute("SET VARIABLE drift_baseline_inputs = CAST($1 AS VARCHAR[])", [_baseline_inputs(con, baseline)])
    for name in ("10_identity.sql", "20_drift.sql"):
        run_sql_file(con, sql_dir() / "drift" / name)


def finish(con: duckdb.DuckDBPyConnection) -> DriftCounts:
    """Once every finding's status is tonight's: mark status changes since the baseline (30_status.sql)
    and count."""
    run_sql_file(con, sql_dir() / "drift" / "30_status.sql")
    new, persisting, accepted, reopened, carried = con.execute(
        """SELECT count(*) FILTER (WHERE drift = 'new'), count(*) FILTER (WHERE drift = 'persisting'),
                  count(*) FILTER (WHERE drift = 'accepted'), count(*) FILTER (WHERE drift = 'reopened'),
                  count(*) FILTER (WHERE carried_forward) FROM work.findings""").fetchall()[0]
    resolved = scalar(con, "SELECT count(*) FROM work.drift_resolved")
    return DriftCounts(new, persisting, resolved, carried, accepted, reopened)


def _baseline_inputs(con: duckdb.DuckDBPyConnection, baseline: str | None) -> list[str] | None:
    """The inputs the baseline read completely, for its findings stored before observed_with existed:
    from run_sources, else the run's kept snapshot of run_inputs; None (everything counts) when neither."""
    if baseline is None:
        return None
    tables = {row[0] for row in con.execute(
        "SELECT table_name FROM information_schema.tables WHERE table_catalog = 'store'").fetchall()}
    for table in ("run_sources", "stg_run_inputs"):
        if table in tables:
            rows = con.execute(f"SELECT name, available AND NOT failed FROM store.{table} WHERE run_id = $1",
                               [baseline]).fetchall()
            if rows:
                return sorted(name for name, complete in rows if complete)
    return None


def fail_counts(con: duckdb.DuckDBPyConnection, new_only: bool) -> dict[str, int]:
    """Findings per severity that count for fail_on: every open one (carried forward included: still
    believed open), or only the new ones ("fail only on new blocking findings": a known backlog pages no one)
    and those open again since their exception expired. Accepted findings never count (issue 13)."""
    where = "WHERE status = 'open'" + (" AND drift IN ('new', 'reopened')" if new_only else "")
    counts = {"blocking": 0, "warning": 0, "info": 0}
    rows = con.execute(f"SELECT severity, count(*) FROM work.findings {where} GROUP BY severity").fetchall()
    counts.update(dict(rows))
    return counts


def store_run(con: duckdb.DuckDBPyConnection, run_id: str, counts: DriftCounts | None) -> None:
    """Inside the run's transaction: what it read of each source, and its drift counts."""
    con.execute("""INSERT INTO store.run_sources
                   SELECT $1, name, file, rows, available, failed, note FROM work.run_inputs""", [run_id])
    if counts is not None:
        con.execute("UPDATE store.runs SET drift_new = $2, drift_persisting = $3, drift_resolved = $4, "
                    "drift_accepted = $5, drift_reopened = $6 WHERE run_id = $1",
                    [run_id, counts.new, counts.persisting, counts.resolved, counts.accepted, counts.reopened])


def report_query(table: str, history: bool, order: str, schema: str | None = "work") -> tuple[str, tuple[str, ...]]:
    """The query and header of findings.csv (and resolved.csv): first_seen as ISO 8601 UTC. ``schema``
    None reads ``table`` as named (``reconcile export`` reads a view over a stored run)."""
    table = f"{schema}.{table}" if schema else table
    # dates as text, the same in every format: findings.json cannot hold a DATE, the CSV wrote it ISO anyway
    columns = ", ".join("strftime(exception_expires, '%Y-%m-%d') AS exception_expires" if c == "exception_expires"
                        else c for c in FINDINGS_COLUMNS)
    if not history:
        return f"SELECT {columns} FROM {table} {order}", FINDINGS_COLUMNS
    first_seen = "strftime(timezone('UTC', first_seen), '%Y-%m-%dT%H:%M:%SZ') AS first_seen"
    return f"SELECT {columns}, drift, {first_seen} FROM {table} {order}", REPORT_COLUMNS
