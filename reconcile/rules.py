"""Load the rule files under ``sql/rules`` and run them over one run's staging tables.

A rule is one ``.sql`` file: a header of ``-- key: value`` lines, then a SELECT returning the
failing rows with the columns in RULE_COLUMNS. Adding a rule is adding a file; this runner never
learns rule names. A rule whose inputs were not read is skipped and reported as skipped, so a
missing export can never pass for a clean result.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path

import duckdb

from reconcile.paths import sql_dir

SEVERITIES = ("blocking", "warning", "info")
HEADER_KEYS = ("rule", "severity", "title", "depends_on", "requires", "predicted_error", "remediation")
# "requires: graph A, B; mattermost c" (or "none") declares the permissions the live sources of the
# rule's inputs need (reconcile.permissions.requires_of derives it from depends_on, and
# tests/test_rule_contract.py holds every rule to it): what `rules list` shows an admin to grant.
# Optional keys:
# - "readiness: not_evaluated" marks a rule whose finding means Intune MAM does not judge the
#   person at all (another auth service, a disabled Entra account), whatever else applies;
# - "stage: N" orders the errors a user would meet, as the app and server reach them (readiness
#   names the first): 10 server gating (403 / NotLicensed), 20 AADSTS650057, 30 consent, 40 token
#   version and token acceptance, 50 MissingAuthAccountError, 60 account not found (428), 70 account
#   locked (409), 80 user mismatch, 90 enrollment failed; 100 (default) for what fails no sign-in;
# - "owner: mattermost_admin | directory_team" says who carries out the fix (the directory team
#   owns Entra ID, its licences and app registrations, and the LDAP directory);
# - "severities: blocking, warning, info" lets each row carry its own severity in a ninth column,
#   ``severity``, after RULE_COLUMNS (NULL means the header's): for a verdict that depends on how
#   the rest of the configuration uses the setting (MM_LDAP_IDATTRIBUTE is blocking only when LDAP
#   feeds the accounts Intune evaluates). The header's ``severity`` must be one of them.
# - "change: ..." names what the owner changes (a setting, an attribute, an account's auth_data): the
#   "change" column of the directory-team CSVs (reconcile/report/team_csv.py); the title otherwise.
OPTIONAL_KEYS = ("readiness", "stage", "owner", "severities", "change")
READINESS_EFFECTS = ("severity", "not_evaluated")
OWNERS = {"mattermost_admin": "Mattermost admin", "directory_team": "Directory team"}
DEFAULT_STAGE = 100
RULE_COLUMNS = (
    "subject_type", "entra_object_id", "mattermost_user_id", "user_principal_name", "email",
    "observed", "expected", "remediation",
)
FINDINGS_COLUMNS = (
    "run_id", "rule_id", "severity", "subject_type", "entra_object_id", "mattermost_user_id",
    "user_principal_name", "email", "observed", "expected", "predicted_error", "remediation",
    # issue 13: open | accepted, and the exceptions entry that accepts it (empty when open)
    "status", "exception_reason", "exception_owner", "exception_expires",
)
# "exception": an EXCEPTION_* finding about an entry of the exceptions file itself
SUBJECT_TYPES = ("config", "user", "token", "tenant", "saml", "exception")
# Inputs a rule may depend on; the audit marks each available or not for every run.
KNOWN_INPUTS = (
    "entra_users", "entra_licenses", "entra_groups", "mattermost_users", "mattermost_config",
    "mattermost_license", "ldap", "saml", "saml_metadata", "msal_tokens", "entra_application",
    "entra_service_principals", "entra_grants", "entra_authorization_policy", "intune_policies",
    "intune_registrations",  # Intune's MAM registrations: read by the OUTCOME_* rules, after readiness
    "exceptions",  # the exceptions file: read by the EXCEPTION_* rules, after the others (reconcile/exceptions.py)
)
_HEADER_RE = re.compile(r"--\s*([a-z_]+)\s*:\s*(.*\S)\s*$")


class RuleFileError(Exception):
    """A rule file breaks the contract: a programming error in sql/rules, not a user input error."""


@dataclass(frozen=True)
class Rule:
    rule_id: str
    severity: str
    title: str
    depends_on: tuple[str, ...]
    predicted_error: str
    remediation: str
    sql: str
    path: Path
    readiness: str = "severity"
    stage: int = DEFAULT_STAGE
    owner: str = "mattermost_admin"
    severities: tuple[str, ...] = ()  # empty: every row has the header's severity
    change: str = ""  # what the owner changes; empty: the title says it
    requires: str = "none"  # the permissions its inputs' live sources need (reconcile.permissions)

    @property
    def columns(self) -> tuple[str, ...]:
        return (*RULE_COLUMNS, "severity") if self.severities else RULE_COLUMNS

    @property
    def severity_label(self) -> str:
        """How the rules table and ``list-rules`` show it: ``warning (or blocking)``."""
        others = [s for s in SEVERITIES if s in self.severities and s != self.severity]
        return f"{self.severity} (or {', '.join(others)})" if others else self.severity


@dataclass(frozen=True)
class RuleResult:
    rule: Rule
    status: str  # ran | skipped
    finding_count: int
    skip_reason: str | None = None
    by_severity: dict[str, int] | None = None  # the findings per severity, when it ran

    @property
    def severity(self) -> str:
        """The highest severity among its findings (the header's when none or when skipped)."""
        present = [s for s in SEVERITIES if (self.by_severity or {}).get(s)]
        return present[0] if present else self.rule.severity


def parse_rule(path: Path) -> Rule:
    """Read one rule file; the header is the leading comment block (other comments are allowed)."""
    text = path.read_text(encoding="utf-8")
    header: dict[str, str] = {}
    for key, value, _line in _leading_comments(text):
        if key and key not in header:
            header[key] = value
    missing = [key for key in HEADER_KEYS if key not in header]
    if missing:
        raise RuleFileError(f"{path}: header lacks {', '.join(missing)}")
    if header["rule"] != path.stem:
        raise RuleFileError(f"{path}: rule id {header['rule']!r} differs from the file name")
    if header["severity"] not in SEVERITIES:
        raise RuleFileError(f"{path}: severity {header['severity']!r} is not one of {SEVERITIES}")
    readiness = header.get("readiness", "severity")
    if readiness not in READINESS_EFFECTS:
        raise RuleFileError(f"{path}: readiness {readiness!r} is not one of {READINESS_EFFECTS}")
    try:
        stage = int(header.get("stage", DEFAULT_STAGE))
    except ValueError as exc:
        raise RuleFileError(f"{path}: stage {header['stage']!r} is not a number") from exc
    owner = header.get("owner", "mattermost_admin")
    if owner not in OWNERS:
        raise RuleFileError(f"{path}: owner {owner!r} is not one of {tuple(OWNERS)}")
    severities = tuple(s.strip() for s in header.get("severities", "").split(",") if s.strip())
    if severities and (not set(severities) <= set(SEVERITIES) or header["severity"] not in severities):
        raise RuleFileError(f"{path}: severities {severities} must be among {SEVERITIES} and include the "
                            f"header's severity {header['severity']!r}")
    depends = tuple(dep.strip() for dep in header["depends_on"].split(",") if dep.strip())
    unknown = [dep for dep in depends if dep not in KNOWN_INPUTS]
    if unknown:
        raise RuleFileError(f"{path}: depends_on names unknown inputs {unknown}; known: {KNOWN_INPUTS}")
    body = text.strip().rstrip(";").strip()
    return Rule(header["rule"], header["severity"], header["title"], depends,
                header["predicted_error"], header["remediation"], body, path, readiness, stage, owner,
                severities, header.get("change", ""), header["requires"])


def load_rules(directory: Path | None = None) -> list[Rule]:
    directory = directory or sql_dir() / "rules"
    return [parse_rule(path) for path in sorted(directory.glob("*.sql"))]


def check_columns(con: duckdb.DuckDBPyConnection, rule: Rule) -> None:
    columns = tuple(d[0] for d in con.execute(f"SELECT * FROM ({rule.sql}) LIMIT 0").description)
    if columns != rule.columns:
        raise RuleFileError(f"{rule.path}: returns columns {columns}, expected {rule.columns}")


def run_rules(
    con: duckdb.DuckDBPyConnection, rules: list[Rule], available: set[str], run_id: str,
    failed: set[str] = frozenset(), reasons: Mapping[str, str] | None = None,
) -> list[RuleResult]:
    """Run every rule whose inputs are available into the (empty) findings table; skip the others.

    ``reasons`` gives a failed input's own skip reason (the Graph permission it lacked, issue 13),
    said instead of "source failed". Also fills ``rule_meta`` (every rule's severity and readiness
    effect) for readiness.sql.
    """
    reasons = reasons or {}
    con.executemany("INSERT INTO work.rule_meta VALUES (?, ?, ?, ?, ?)",
                    [(rule.rule_id, rule.severity, rule.readiness, rule.stage, OWNERS[rule.owner])
                     for rule in rules])
    results = []
    for rule in rules:
        broken = [dep for dep in rule.depends_on if dep in failed]
        if broken:  # never findings from half a source
            said = list(dict.fromkeys(reasons[dep] for dep in broken if dep in reasons))
            other = [dep for dep in broken if dep not in reasons]
            if other:
                said.append("source failed: " + ", ".join(other))
            results.append(RuleResult(rule, "skipped", 0, "; ".join(said)))
            continue
        missing = [dep for dep in rule.depends_on if dep not in available]
        if missing:  # an optional input left out for a missing permission says which (issue 15)
            said = list(dict.fromkeys(reasons[dep] for dep in missing if dep in reasons))
            other = [dep for dep in missing if dep not in reasons]
            if other:
                said.append("missing input: " + ", ".join(other))
            results.append(RuleResult(rule, "skipped", 0, "; ".join(said)))
            continue
        check_columns(con, rule)
        severity = "coalesce(r.severity, $severity)" if rule.severities else "$severity"
        con.execute(
            f"""INSERT INTO work.findings (run_id, rule_id, severity, subject_type, entra_object_id,
                                           mattermost_user_id, user_principal_name, email, observed, expected,
                                           predicted_error, remediation)
                SELECT $run_id, $rule_id, {severity}, r.subject_type, r.entra_object_id,
                       r.mattermost_user_id, r.user_principal_name, r.email, r.observed, r.expected,
                       $predicted_error, coalesce(r.remediation, $remediation)
                FROM ({rule.sql}) AS r""",
            {"run_id": run_id, "rule_id": rule.rule_id, "severity": rule.severity,
             "predicted_error": rule.predicted_error, "remediation": rule.remediation},
        )
        by_severity = dict(con.execute("SELECT severity, count(*) FROM work.findings WHERE rule_id = $1 "
                                       "GROUP BY severity", [rule.rule_id]).fetchall())
        stray = set(by_severity) - set(rule.severities or (rule.severity,))
        if stray:
            raise RuleFileError(f"{rule.path}: returned rows of severity {sorted(stray)}, outside "
                                f"its severities {rule.severities}")
        results.append(RuleResult(rule, "ran", sum(by_severity.values()), by_severity=by_severity))
    return results


def _leading_comments(text: str) -> Iterator[tuple[str | None, str, str]]:
    """The leading comment block, line by line: (header key or None, its value, the comment text)."""
    for line in text.splitlines():
        stripped = line.strip()
        if not stripped:
            continue
        if not stripped.startswith("--"):
            return
        match = _HEADER_RE.match(stripped)
        if match and match.group(1) in HEADER_KEYS + OPTIONAL_KEYS:
            yield match.group(1), match.group(2), stripped[2:].strip()
        else:
            yield None, "", stripped[2:].strip()


def rule_notes(rule: Rule) -> str:
    """The rule's own notes: the leading comment lines that are not header keys (the facts the rule
    rests on and their sources), for ``reconcile rules show``."""
    return "\n".join(note for key, _value, note in _leading_comments(rule.path.read_text(encoding="utf-8"))
                     if key is None)
