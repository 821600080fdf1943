"""After enablement: each prediction checked against Intune's own registrations (issue 15).

Intune records a ``managedAppRegistration`` once an app completed MAM registration for a user, so the
registrations say who actually got through. The comparison is SQL (sql/outcomes/), run after readiness
and never feeding back into it; this module only sets the window, runs it, and reads the counts for
summary.json. Without registrations nothing here runs: the OUTCOME_* rules are skipped with the reason,
no outcomes.csv is written and summary.json has no ``outcomes``.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

import duckdb

from reconcile.paths import sql_dir
from reconcile.store import run_sql_file

INPUT = "intune_registrations"
DEFAULT_ENROLLED_WITHIN = 30  # days: a MAM app checks in while in use; a month covers holidays
OUTCOME_CLASSES = ("false_alarm", "confirmed_will_fail", "confirmed_ready", "ready_not_enrolled",
                   "at_risk_enrolled", "at_risk_not_enrolled", "not_evaluated")
OUTCOMES_COLUMNS = ("entra_object_id", "user_principal_name", "readiness", "rule_ids", "enrolled", "last_sync",
                    "bundle_id", "flagged_reasons", "outcome")


def is_outcome_rule(rule_id: str) -> bool:
    """OUTCOME_* rules judge the predictions, from readiness: they run after it."""
    return rule_id.startswith("OUTCOME_")


@dataclass(frozen=True)
class Window:
    """Enrolled means a registration synced at or after ``since``: ``days`` before ``as_of`` (the run's
    start, or a bundled sample's capture time: reconcile.paths.sample_captured_at)."""

    days: int
    as_of: datetime

    @property
    def since(self) -> datetime:
        return self.as_of - timedelta(days=self.days)

    def as_summary(self) -> dict:
        return {"enrolled_within_days": self.days, "as_of": self.as_of.isoformat(), "since": self.since.isoformat()}


def measure(con: duckdb.DuckDBPyConnection, available: set[str], window: Window) -> bool:
    """Compute work.outcomes when the registrations were read; whether they were."""
    if INPUT not in available:
        return False
    con.execute("SET VARIABLE enrolled_since = CAST($1 AS TIMESTAMPTZ)", [window.since])
    con.execute("SET VARIABLE enrolled_within_days = $1", [window.days])
    for path in sorted((sql_dir() / "outcomes").glob("*.sql")):
        run_sql_file(con, path)
    return True


def summary(con: duckdb.DuckDBPyConnection, window: Window) -> dict:
    """summary.json's ``registrations``, ``outcomes`` (every class, 0 included) and ``rule_outcomes``
    (per rule id in a targeted person's rule_ids: the people it fired for, and those of them enrolled:
    the rule's measured precision on this tenant)."""
    read, kept, unknown = con.execute(
        """SELECT count(*), count(*) FILTER (WHERE kept),
                  count(*) FILTER (WHERE kept AND user_id_norm NOT IN (SELECT object_id_norm FROM work.entra_users))
           FROM work.intune_registrations""").fetchall()[0]
    classes = dict.fromkeys(OUTCOME_CLASSES, 0)
    classes.update(dict(con.execute("SELECT outcome, count(*) FROM work.outcomes GROUP BY outcome").fetchall()))
    rules = con.execute(
        """SELECT rule_id, count(*), count(*) FILTER (WHERE enrolled)
           FROM (SELECT unnest(string_split(rule_ids, ';')) AS rule_id, enrolled FROM work.outcomes
                 WHERE rule_ids IS NOT NULL)
           GROUP BY rule_id ORDER BY rule_id""").fetchall()
    return {"registrations": {"read": read, "kept": kept, "unknown_user": unknown},
            "outcomes_window": window.as_summary(),
            "outcomes": classes,
            "rule_outcomes": {rule: {"fired": fired, "enrolled_anyway": enrolled} for rule, fired, enrolled in rules}}
