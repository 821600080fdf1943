"""``reconcile remediate plan``: run the audit and turn its findings into a plan a person reviews.

Why the audit runs in a private directory with its own throwaway store: the plan "changes nothing
anywhere". A plan run written into the nightly store would become the next night's baseline for
drift, and its reports would replace the current set; so it reads the same sources as ``audit``
(the same options and job file) and keeps only PLAN.json and PLAN.csv: no metrics file, no notification.

What may be changed and what becomes a manual step is SQL (sql/remediate/), read here and written by
plan_file. A partial audit makes no plan: with a source missing, an account that looks fixable may be
one whose duplicate or LDAP provisioning the run could not see.
"""

from __future__ import annotations

import dataclasses
import tempfile
from collections.abc import Mapping
from datetime import UTC, datetime
from pathlib import Path

import duckdb

from reconcile.audit import AuditResult, run_configured
from reconcile.config.run_config import NotifyConfig, RunConfig
from reconcile.errors import ExitCode, ReconcileError
from reconcile.paths import sql_dir
from reconcile.remediate.plan_file import OWNERS, Change, ManualStep, Plan, write_plan
from reconcile.report.team_csv import define_report_views
from reconcile.store import run_sql_file

HELD_REASONS = ("ldap_provisioned", "saml_config", "entra_disabled", "taken", "duplicate", "email_only")


class PartialAuditError(ReconcileError):
    """A source failed: the plan would rest on what the run could not see."""

    exit_code = ExitCode.PARTIAL


def build_plan(con: duckdb.DuckDBPyConnection, run_id: str, include_email_links: bool = False,
               created_at: datetime | None = None) -> Plan:
    """The plan for the audit whose workspace ``con`` holds (work.findings, work.accounts, ...)."""
    con.execute("SET VARIABLE include_email_links = $1", [include_email_links])
    run_sql_file(con, sql_dir() / "remediate" / "10_changes.sql")
    define_report_views(con, "work.findings")
    team = (sql_dir() / "reports" / "team_changes.sql").read_text(encoding="utf-8").strip().rstrip(";")
    con.execute("CREATE OR REPLACE TABLE work.plan_team_rows AS SELECT NULL::VARCHAR AS owner, * "
                f"FROM ({team}) LIMIT 0")
    for owner in OWNERS:
        con.execute("SET VARIABLE report_owner = $1", [owner])
        con.execute(f"INSERT INTO work.plan_team_rows SELECT $1, * FROM ({team})", [owner])
    run_sql_file(con, sql_dir() / "remediate" / "20_manual.sql")
    changes = [Change(*row) for row in con.execute(
        """SELECT mattermost_user_id, username, auth_service, auth_data_before, auth_data_after, entra_object_id,
                  user_principal_name, rule_id, basis
           FROM work.plan_candidates WHERE held IS NULL
           ORDER BY user_principal_name, mattermost_user_id""").fetchall()]
    manual = [ManualStep(*row) for row in con.execute(
        "SELECT owner, rule_id, subject, step FROM work.plan_manual ORDER BY seq").fetchall()]
    held = dict(con.execute("SELECT held, count(*) FROM work.plan_candidates WHERE held IS NOT NULL "
                            "GROUP BY held").fetchall())
    accepted = con.execute("SELECT count(*) FROM work.findings WHERE status = 'accepted'").fetchall()[0][0]
    service = con.execute("SELECT any_value(selected_service) FROM work.v_config").fetchall()[0][0]
    notes = [f"{held[reason]} account(s) held back: {reason}" for reason in HELD_REASONS if held.get(reason)]
    if accepted:
        notes.append(f"{accepted} accepted finding(s) (the exceptions file) left as they are")
    stamp = (created_at or datetime.now(UTC)).strftime("%Y-%m-%dT%H:%M:%SZ")
    return Plan(created_at=stamp, run_id=run_id, auth_service=service, changes=changes, manual=manual, notes=notes)


def make_plan(config: RunConfig, plan_path: Path, include_email_links: bool = False,
              environ: Mapping[str, str] | None = None) -> tuple[Plan, AuditResult]:
    """Audit what ``config`` names in a private directory and write PLAN.json and PLAN.csv."""
    built: list[Plan] = []

    def inspect(con: duckdb.DuckDBPyConnection, result: AuditResult) -> None:
        if result.partial:
            failed = ", ".join(f"{i.name} ({i.note})" for i in result.inputs if i.failed)
            raise PartialAuditError(f"the audit was partial ({failed}): a plan is made only from a complete "
                                    f"audit; {plan_path} was not written")
        built.append(build_plan(con, result.run_id, include_email_links))

    with tempfile.TemporaryDirectory(prefix="reconcile-plan-") as private:
        work = Path(private)
        audit_config = dataclasses.replace(config, output_dir=str(work / "report"), store=work / "plan.duckdb",
                                           history=False, fail_on_new_only=False, formats=(), fail_on="never",
                                           metrics_file=None, notify=NotifyConfig())
        result = run_configured(audit_config, environ=environ, inspect=inspect)
    plan = built[0]
    write_plan(plan, plan_path)
    return plan, result
