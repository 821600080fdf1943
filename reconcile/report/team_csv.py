"""The directory-team CSVs: one file per team that carries out fixes, one row per account and change.

``directory_team.csv`` is what Entra ID and LDAP admins change (licences, app registrations,
claims, msDS-aadObjectId); ``mattermost_admins.csv`` is what Mattermost admins change (accounts'
auth_data, the server's config). Which team owns a rule's fix is the rule header's ``owner``, and
what it changes the header's ``change`` (reconcile/rules.py), so a new rule lands in the right file
without this module learning its name. The rows come from sql/reports/team_changes.sql over any
run's findings: this run's ``work.findings`` after an audit, or a stored run's findings for
``reconcile export`` (a view over ``store.findings WHERE run_id = ...``).

Columns (both files):
  severity             blocking or warning (the highest of the row's findings; info asks for no change)
  entra_object_id      the person's Entra objectId, when known
  user_principal_name  their UPN
  mattermost_user_id   the Mattermost account to change, when the change is on an account
  email
  subject_type         user, token, saml, config or tenant (config and tenant rows have no account)
  rule_ids             the rules that ask for this change, ``;``-separated
  change               what to change (a setting, an attribute, an account's auth_data)
  current_value        what it is now (the findings' observed values, `` | ``-separated)
  new_value            what it must become
  how                  where and how to change it (the rules' remediation, with the account id filled in)
  predicted_error      what the person meets until it is changed
"""

from __future__ import annotations

import re
from pathlib import Path

import duckdb

from reconcile.paths import sql_dir
from reconcile.report.csv_report import write_query_csv
from reconcile.rules import load_rules

TEAM_FILES = {"directory_team.csv": "directory_team", "mattermost_admins.csv": "mattermost_admin"}
TEAM_COLUMNS = (
    "severity", "entra_object_id", "user_principal_name", "mattermost_user_id", "email", "subject_type",
    "rule_ids", "change", "current_value", "new_value", "how", "predicted_error",
)
_TABLE_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*){0,2}")


def define_report_views(con: duckdb.DuckDBPyConnection, findings_table: str) -> None:
    """Temporary views the report queries read: ``report_findings`` over ``findings_table`` (a table or
    view name, such as ``work.findings``) and ``report_rules`` from the rule headers."""
    if not _TABLE_NAME.fullmatch(findings_table):
        raise ValueError(f"findings_table must be a table or view name such as work.findings, not {findings_table!r}")
    con.execute(f"CREATE OR REPLACE TEMP VIEW report_findings AS SELECT * FROM {findings_table}")
    rules = [(r.rule_id, r.owner, r.change or r.title) for r in load_rules()]
    values = ", ".join("(?, ?, ?)" for _ in rules)
    con.execute("CREATE OR REPLACE TEMP TABLE report_rules (rule_id VARCHAR, owner VARCHAR, change VARCHAR)")
    con.execute(f"INSERT INTO report_rules VALUES {values}", [v for row in rules for v in row])


def write_team_csvs(con: duckdb.DuckDBPyConnection, findings_table: str, out_dir: Path) -> dict[str, int]:
    """Write ``directory_team.csv`` and ``mattermost_admins.csv`` into ``out_dir`` (UTF-8 with BOM,
    formula-safe, owner-only) from the findings in ``findings_table``; returns rows per file name."""
    define_report_views(con, findings_table)
    query = (sql_dir() / "reports" / "team_changes.sql").read_text(encoding="utf-8").strip().rstrip(";")
    counts = {}
    for name, owner in TEAM_FILES.items():
        con.execute("SET VARIABLE report_owner = $1", [owner])
        counts[name] = write_query_csv(con, query, TEAM_COLUMNS, out_dir / name)
    return counts
