"""The people a ``detail = "names"`` post lists: the first 20 new blocking (UPN, rule) pairs of the run.

The selection is SQL (sql/reports/notify_new_blocking.sql), like every other piece of identity logic,
and runs on the run's workspace before it closes (``run_configured`` hands this to the audit's
``inspect`` hook). Without history no finding is known to be new, so nobody is listed.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import duckdb

from reconcile.paths import sql_dir

MAX_PEOPLE = 20


@dataclass
class NewBlocking:
    """(UPN, rule id) rows, at most MAX_PEOPLE, and how many the run has in all."""

    rows: list[tuple[str, str]] = field(default_factory=list)
    total: int = 0


def new_blocking_people(con: duckdb.DuckDBPyConnection) -> NewBlocking:
    """The new, open, blocking findings of ``work.findings`` by UPN and rule; for a run with history (its
    findings have ``drift``), as the caller knows from ``AuditResult.drift``."""
    query = (sql_dir() / "reports" / "notify_new_blocking.sql").read_text(encoding="utf-8").strip().rstrip(";")
    found = con.execute(query).fetchall()
    return NewBlocking([(upn, rule) for upn, rule, _ in found], int(found[0][2]) if found else 0)
