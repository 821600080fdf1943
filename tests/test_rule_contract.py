"""Every rule file keeps the contract the runner, the reports and the README rely on."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from reconcile.audit import exit_code_for
from reconcile.errors import ExitCode
from reconcile.paths import sample_dir, sql_dir
from reconcile.rules import (
    KNOWN_INPUTS,
    RULE_COLUMNS,
    SEVERITIES,
    SUBJECT_TYPES,
    RuleFileError,
    check_columns,
    load_rules,
    parse_rule,
)
from reconcile.store import create_staging, open_workspace, run_sql_file

RULES = load_rules()
README = (Path(__file__).resolve().parent.parent / "README.md").read_text(encoding="utf-8")


def test_rules_exist():
    assert len(RULES) >= 20


@pytest.mark.parametrize("rule", RULES, ids=[r.rule_id for r in RULES])
def test_header_and_columns(rule):
    assert re.fullmatch(r"[A-Z][A-Z0-9_]+", rule.rule_id)
    assert rule.severity in SEVERITIES
    assert set(rule.depends_on) <= set(KNOWN_INPUTS) and rule.depends_on
    assert rule.title and rule.predicted_error and rule.remediation
    with open_workspace() as con:
        create_staging(con)
        for path in sorted((sql_dir() / "derive").glob("*.sql")):
            run_sql_file(con, path)
        check_columns(con, rule)


@pytest.mark.parametrize("rule", RULES, ids=[r.rule_id for r in RULES])
def test_listed_in_readme(rule):
    assert f"| `{rule.rule_id}` | {rule.severity_label} |" in README


def test_subject_types_on_sample(sample_outcome):
    assert {f["subject_type"] for f in sample_outcome.findings} <= set(SUBJECT_TYPES)
    assert {f["rule_id"] for f in sample_outcome.findings} <= {r.rule_id for r in RULES}


def test_header_errors_are_reported(tmp_path):
    bad = tmp_path / "X_RULE.sql"
    bad.write_text("-- rule: X_RULE\n-- severity: fatal\nSELECT 1", encoding="utf-8")
    with pytest.raises(RuleFileError, match="header lacks"):
        parse_rule(bad)
    keys = ("title", "depends_on", "requires", "predicted_error", "remediation")
    bad.write_text("".join(f"-- {k}: v\n" for k in keys)
                   + "-- rule: X_RULE\n-- severity: fatal\nSELECT 1", encoding="utf-8")
    with pytest.raises(RuleFileError, match="severity"):
        parse_rule(bad)
    other = tmp_path / "Y_RULE.sql"
    other.write_text(bad.read_text().replace("fatal", "info"), encoding="utf-8")
    with pytest.raises(RuleFileError, match="differs from the file name"):
        parse_rule(other)


def test_wrong_columns_are_refused(tmp_path):
    path = tmp_path / "BAD_COLUMNS.sql"
    path.write_text("-- rule: BAD_COLUMNS\n-- severity: info\n-- title: t\n-- depends_on: entra_users\n"
                    "-- requires: graph User.Read.All\n"
                    "-- predicted_error: p\n-- remediation: r\nSELECT 'user' AS subject_type", encoding="utf-8")
    with open_workspace() as con, pytest.raises(RuleFileError, match=re.escape(str(RULE_COLUMNS))):
        check_columns(con, parse_rule(path))


def test_sample_is_bundled():
    assert (sample_dir() / "entra_users.json").is_file()


@pytest.mark.parametrize(("counts", "fail_on", "expected"), [
    ({"blocking": 1}, "blocking", ExitCode.FINDINGS),
    ({"warning": 3, "info": 2}, "blocking", ExitCode.CLEAN),
    ({"warning": 3}, "warning", ExitCode.FINDINGS),
    ({"info": 1}, "warning", ExitCode.CLEAN),
    ({"info": 1}, "info", ExitCode.FINDINGS),
    ({"blocking": 9}, "never", ExitCode.CLEAN),
    ({}, "info", ExitCode.CLEAN),
])
def test_exit_code_for(counts, fail_on, expected):
    assert exit_code_for(counts, fail_on) == expected


def test_partial_run_exit_code_wins():
    assert exit_code_for({"blocking": 1}, "blocking", partial=True) == ExitCode.PARTIAL


def test_every_sample_finding_says_what_was_observed_and_expected(sample_outcome):
    assert sample_outcome.findings
    for finding in sample_outcome.findings:
        assert finding["observed"] and finding["expected"], finding
        assert finding["predicted_error"] and finding["remediation"], finding


def test_every_rule_declares_the_permissions_its_inputs_need():
    """The requires: header is what `rules list` tells an admin to grant: it cannot drift from depends_on."""
    from reconcile.permissions import INPUT_GRAPH, requires_of

    for rule in load_rules():
        assert rule.requires == requires_of(rule.depends_on), rule.path
    intune = {rule.rule_id for rule in load_rules() if "DeviceManagementApps.Read.All" in rule.requires}
    assert intune == {"INTUNE_POLICY_MISSING", "INTUNE_POLICY_UNASSIGNED", "OUTCOME_FALSE_ALARM",
                      "OUTCOME_ENROLLED_NOT_TARGETED"}
    assert set(INPUT_GRAPH) <= set(KNOWN_INPUTS)


def test_a_rule_without_requires_is_refused(tmp_path):
    path = tmp_path / "NO_REQUIRES.sql"
    path.write_text("-- rule: NO_REQUIRES\n-- severity: info\n-- title: t\n-- depends_on: entra_users\n"
                    "-- predicted_error: p\n-- remediation: r\nSELECT 1", encoding="utf-8")
    with pytest.raises(RuleFileError, match="header lacks requires"):
        parse_rule(path)
