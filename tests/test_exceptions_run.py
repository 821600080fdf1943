"""Exceptions in real audits of the sample tenant (issue 13): a covered finding is accepted, not hidden;
accepted findings page nobody; an expired entry reopens its finding; an unused entry says so; a group
entry covers its members only; drift tells "became accepted" and "expired" apart from new findings.

Every test runs the whole audit on a copy of sample_data/ with an exceptions file written beside it.
"""

from __future__ import annotations

import csv
import hashlib
import json
import shutil
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest
from click.testing import CliRunner

from reconcile.audit import AuditResult, run_audit
from reconcile.cli import main
from reconcile.errors import ExitCode
from reconcile.exceptions import ExceptionsFileError
from reconcile.paths import sample_dir

UNLICENSED = "USER_INTUNE_UNLICENSED"
LEE = "089198b6-e618-4717-8858-cfcae5f9683e"    # will_fail by USER_INTUNE_UNLICENSED alone
KAI = "285a2a3e-a4b2-433a-bb1c-c97710b369d1"    # likewise; UPN Kai.Vargas@contoso.com
UMA = "a1540d7e-bf53-4b8e-b8d4-1518a43e1b27"    # likewise, never excepted here
STEFAN = "86ce03f9-1a4f-44f9-a651-1445b9f3635c"  # licensed and ready: an entry for him is unused
PILOT = "5d2c0a8e-77b1-4f3e-9a51-0c6f1e2b3a49"    # a group written by the tests, members Kai only


def _today() -> date:
    return datetime.now(UTC).date()


def _export(tmp_path: Path, name: str = "export") -> Path:
    target = tmp_path / name
    shutil.copytree(sample_dir(), target, ignore=shutil.ignore_patterns("misconfigured", "README.md"))
    return target


def _entry(rule: str, subject: str, value: str, expires: date, reason: str = "decided with IT",
           owner: str = "it-identity@contoso.com") -> str:
    return (f'[[exception]]\nrule = "{rule}"\n{subject} = "{value}"\nreason = "{reason}"\n'
            f'owner = "{owner}"\nexpires = {expires.isoformat()}\n\n')


def _file(tmp_path: Path, *entries: str, name: str = "exceptions.toml") -> Path:
    path = tmp_path / name
    path.write_text("# accepted exceptions\n" + "".join(entries), encoding="utf-8")
    return path


def _audit(export: Path, out: Path, store: Path, exceptions: Path | None, fail_on: str = "never",
           **options) -> AuditResult:
    return run_audit(export, out, store, fail_on=fail_on, exceptions_file=exceptions, **options)


def _rows(path: Path) -> list[dict]:
    with path.open(encoding="utf-8-sig", newline="") as handle:
        return list(csv.DictReader(handle))


def _finding(rows: list[dict], rule_id: str, entra: str | None = None) -> dict:
    [row] = [r for r in rows if r["rule_id"] == rule_id and (entra is None or r["entra_object_id"] == entra)]
    return row


def _person(rows: list[dict], entra: str) -> dict:
    [row] = [r for r in rows if r["entra_object_id"] == entra]
    return row


def test_an_accepted_finding_stays_in_the_reports_with_its_reason_owner_and_expiry(tmp_path):
    soon = _today() + timedelta(days=10)
    later = _today() + timedelta(days=200)
    exceptions = _file(tmp_path,
                       _entry(UNLICENSED, "entra_object_id", "{" + LEE.upper() + "}", later,
                              reason="shared mailbox, never on mobile"),
                       # a UPN is compared case-insensitively
                       _entry(UNLICENSED, "user_principal_name", "kai.vargas@CONTOSO.COM", soon,
                              owner="chat-admins@contoso.com"))
    result = _audit(_export(tmp_path), tmp_path / "out", tmp_path / "store.duckdb", exceptions,
                    fail_on="blocking")

    findings = _rows(result.output_dir / "findings.csv")
    lee, kai, uma = (_finding(findings, UNLICENSED, who) for who in (LEE, KAI, UMA))
    assert (lee["status"], lee["exception_reason"], lee["exception_owner"], lee["exception_expires"]) == (
        "accepted", "shared mailbox, never on mobile", "it-identity@contoso.com", later.isoformat())
    assert (kai["status"], kai["exception_owner"], kai["exception_expires"]) == (
        "accepted", "chat-admins@contoso.com", soon.isoformat())
    assert lee["severity"] == "blocking", "an exception changes no severity"
    others = [r for r in findings if r is not lee and r is not kai]
    assert others and {r["status"] for r in others} == {"open"}
    assert {(r["exception_reason"], r["exception_owner"], r["exception_expires"]) for r in others} == {("", "", "")}
    assert uma["status"] == "open"

    as_json = {(f["rule_id"], f["entra_object_id"]): f
               for f in json.loads((result.output_dir / "findings.json").read_text(encoding="utf-8"))}
    assert as_json[(UNLICENSED, LEE)]["status"] == "accepted"
    assert as_json[(UNLICENSED, LEE)]["exception_expires"] == later.isoformat()
    assert as_json[(UNLICENSED, UMA)]["status"] == "open" and as_json[(UNLICENSED, UMA)]["exception_reason"] is None

    # readiness keeps the outcome and says whether every finding behind it is accepted
    readiness = _rows(result.output_dir / "readiness.csv")
    assert {r["accepted"] for r in readiness} == {"true", "false"}
    for who in (LEE, KAI):
        assert (_person(readiness, who)["status"], _person(readiness, who)["accepted"]) == ("will_fail", "true")
    assert (_person(readiness, UMA)["status"], _person(readiness, UMA)["accepted"]) == ("will_fail", "false")
    assert all(r["accepted"] == "false" for r in readiness if r["status"] in ("ready", "not_evaluated"))

    assert result.summary["exceptions"] | {"file": None} == {
        "file": None, "entries": 2, "accepted_findings": 2, "expired": 0, "unused": 0,
        "expiring_soon": [{"rule": UNLICENSED, "subject": "user_principal_name=kai.vargas@contoso.com",
                           "expires": soon.isoformat()}],
        "groups_not_read": []}
    assert result.exit_code == ExitCode.FINDINGS, "the other blocking findings still fail the run"
    # the directory team's work list holds what is still to do, not what was decided against
    team = {r["entra_object_id"] for r in _rows(result.output_dir / "directory_team.csv")}
    assert UMA in team and LEE not in team and KAI not in team


def _entries_for_every_blocking_finding(findings: list[dict], expires: date) -> list[str]:
    """One entry per blocking finding, by the strongest column it carries (config for non-user rules)."""
    entries = {}
    for row in findings:
        if row["severity"] != "blocking":
            continue
        if not row["rule_id"].startswith("USER_"):
            entries[(row["rule_id"], "subject", "config")] = None
            continue
        for column in ("entra_object_id", "mattermost_user_id", "user_principal_name"):
            if row[column]:
                entries[(row["rule_id"], column, row[column])] = None
                break
        else:
            raise AssertionError(f"a user finding with no subject column: {row}")
    return [_entry(rule, subject, value, expires) for rule, subject, value in entries]


def test_a_run_whose_only_failing_findings_are_accepted_exits_0(tmp_path):
    export = _export(tmp_path)
    first = _audit(export, tmp_path / "first", tmp_path / "first.duckdb", None, fail_on="blocking")
    assert first.exit_code == ExitCode.FINDINGS
    blocking = [r for r in _rows(first.output_dir / "findings.csv") if r["severity"] == "blocking"]
    entries = _entries_for_every_blocking_finding(blocking, _today() + timedelta(days=30))

    accepted = _audit(export, tmp_path / "out", tmp_path / "store.duckdb", _file(tmp_path, *entries),
                      fail_on="blocking")
    findings = _rows(accepted.output_dir / "findings.csv")
    assert {r["status"] for r in findings if r["severity"] == "blocking"} == {"accepted"}
    assert len([r for r in findings if r["severity"] == "blocking"]) == len(blocking), "accepted, not hidden"
    assert not any(r["rule_id"].startswith("EXCEPTION_") for r in findings)
    assert accepted.exit_code == ExitCode.CLEAN
    assert accepted.summary["exit_code"] == 0
    assert accepted.summary["exceptions"]["accepted_findings"] == len(blocking)

    # near miss: leave out one entry and its finding fails the run again
    short = _audit(export, tmp_path / "short", tmp_path / "short.duckdb",
                   _file(tmp_path, *entries[1:], name="short.toml"), fail_on="blocking")
    assert short.exit_code == ExitCode.FINDINGS
    assert [r["status"] for r in _rows(short.output_dir / "findings.csv")
            if r["severity"] == "blocking"].count("open") >= 1


def test_an_expired_entry_reopens_its_finding_and_is_named_once(tmp_path):
    yesterday = _today() - timedelta(days=1)
    exceptions = _file(tmp_path,
                       _entry(UNLICENSED, "entra_object_id", KAI, _today()),   # valid through today
                       _entry(UNLICENSED, "entra_object_id", LEE, yesterday))
    result = _audit(_export(tmp_path), tmp_path / "out", tmp_path / "store.duckdb", exceptions)
    findings = _rows(result.output_dir / "findings.csv")
    assert _finding(findings, UNLICENSED, KAI)["status"] == "accepted", "an entry is valid through its date"
    assert _finding(findings, UNLICENSED, LEE)["status"] == "open"
    expired = _finding(findings, "EXCEPTION_EXPIRED")
    assert (expired["severity"], expired["subject_type"], expired["entra_object_id"]) == ("warning", "exception", LEE)
    assert expired["observed"] == f"rule {UNLICENSED}, entra_object_id={LEE}: expired {yesterday.isoformat()}"
    assert "exception 2 (line 9) of " in expired["remediation"]
    assert not [r for r in findings if r["rule_id"] == "EXCEPTION_UNUSED"], "an expired entry is only EXPIRED"
    assert _person(_rows(result.output_dir / "readiness.csv"), LEE)["accepted"] == "false"
    assert result.summary["exceptions"]["expired"] == 1
    assert result.summary["exceptions"]["accepted_findings"] == 1
    # an EXCEPTION_EXPIRED finding counts for --fail-on like any other
    assert result.summary["findings_by_rule"]["EXCEPTION_EXPIRED"] == 1


def test_an_unused_entry_is_reported_and_a_used_one_is_not(tmp_path):
    later = _today() + timedelta(days=60)
    exceptions = _file(tmp_path,
                       _entry(UNLICENSED, "entra_object_id", STEFAN, later),  # he is licensed
                       _entry(UNLICENSED, "entra_object_id", LEE, later),
                       _entry("MM_INTUNE_NOT_ENABLED", "subject", "config", later))
    result = _audit(_export(tmp_path), tmp_path / "out", tmp_path / "store.duckdb", exceptions)
    findings = _rows(result.output_dir / "findings.csv")
    unused = _finding(findings, "EXCEPTION_UNUSED")
    assert (unused["severity"], unused["subject_type"], unused["entra_object_id"]) == ("info", "exception", STEFAN)
    assert UNLICENSED in unused["observed"]
    # the config entry covers the rule's one finding, which is about the server, not a person
    config = _finding(findings, "MM_INTUNE_NOT_ENABLED")
    assert (config["status"], config["subject_type"]) == ("accepted", "config")
    assert result.summary["exceptions"]["unused"] == 1
    assert result.summary["exceptions"]["accepted_findings"] == 2


def test_an_entry_whose_rule_did_not_run_is_not_called_unused(tmp_path):
    export = _export(tmp_path)
    (export / "msal_tokens.txt").unlink()   # the token rules are skipped: nobody can say the entry is stale
    later = _today() + timedelta(days=60)
    result = _audit(export, tmp_path / "out", tmp_path / "store.duckdb",
                    _file(tmp_path, _entry("TOKEN_VERSION_1", "subject", "config", later)))
    assert "TOKEN_VERSION_1" in {s["rule_id"] for s in result.summary["skipped_rules"]}
    assert not [r for r in _rows(result.output_dir / "findings.csv") if r["rule_id"].startswith("EXCEPTION_")]
    assert result.summary["exceptions"]["unused"] == 0


def _write_group(export: Path, group: str, members: list[tuple[str, str]]) -> None:
    body = {"@odata.context": "https://graph.microsoft.com/v1.0/$metadata#directoryObjects",
            "value": [{"@odata.type": "#microsoft.graph.user", "id": oid, "userPrincipalName": upn}
                      for oid, upn in members]}
    (export / "entra_groups" / f"{group}.json").write_text(json.dumps(body), encoding="utf-8")


def test_a_group_entry_covers_its_members_only_and_an_unreadable_group_covers_nothing(tmp_path):
    export = _export(tmp_path)
    plain = _audit(export, tmp_path / "plain", tmp_path / "plain.duckdb", None)
    _write_group(export, PILOT, [(KAI, "Kai.Vargas@contoso.com")])
    missing_group = "7b0e3c4d-1111-4222-8333-944455556666"
    later = _today() + timedelta(days=90)
    result = _audit(export, tmp_path / "out", tmp_path / "store.duckdb",
                    _file(tmp_path, _entry(UNLICENSED, "group", PILOT.upper(), later),
                          _entry(UNLICENSED, "group", missing_group, later)))
    findings = _rows(result.output_dir / "findings.csv")
    assert _finding(findings, UNLICENSED, KAI)["status"] == "accepted"
    assert {r["status"] for r in findings if r["rule_id"] == UNLICENSED and r["entra_object_id"] != KAI} == {"open"}
    # a group read for an exception decides no one's targeting: the outcomes are those of the plain run
    assert result.readiness_counts == plain.readiness_counts
    unused = _finding(findings, "EXCEPTION_UNUSED")
    assert missing_group in unused["observed"] and f"entra_groups/{missing_group}.json" in unused["observed"]
    assert result.summary["exceptions"]["groups_not_read"] == [
        {"group": missing_group, "reason": f"no entra_groups/{missing_group}.json"}]


def _store_digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_an_invalid_file_stops_the_run_before_anything_is_written(tmp_path):
    export = _export(tmp_path)
    store = tmp_path / "store.duckdb"
    _audit(export, tmp_path / "night1", store, None)
    before = _store_digest(store)
    bad = _file(tmp_path,
                _entry("USER_INTUNE_UNLICENCED", "entra_object_id", LEE, _today() + timedelta(days=5)),
                _entry(UNLICENSED, "entra_object_id", KAI, _today() + timedelta(days=400)),
                _entry(UNLICENSED, "entra_object_id", UMA, _today()).replace(
                    'reason =', 'user_principal_name = "uma.wilson@contoso.com"\nreason ='))
    with pytest.raises(ExceptionsFileError) as caught:
        _audit(export, tmp_path / "night2", store, bad)
    message = str(caught.value)
    assert caught.value.exit_code == ExitCode.INPUT_ERROR
    assert "exception 1 (line 2): " in message and f"did you mean {UNLICENSED}?" in message
    assert "exception 2 (line 9): " in message and "more than 365 days" in message
    assert "exception 3 (line 16): " in message and "exactly one subject" in message
    assert not (tmp_path / "night2").exists()
    assert _store_digest(store) == before

    # through the command line: exit 3, the problem on stderr, no report
    result = CliRunner().invoke(main, ["audit", "--input-dir", str(export), "--output-dir", str(tmp_path / "cli"),
                                       "--store", str(store), "--exceptions", str(bad), "-q"])
    assert result.exit_code == 3 and "did you mean" in result.stderr
    assert not (tmp_path / "cli").exists() and _store_digest(store) == before


def test_drift_tells_an_accepted_finding_and_an_expired_entry_apart_from_new_findings(tmp_path):
    export, store = _export(tmp_path), tmp_path / "store.duckdb"
    _audit(export, tmp_path / "night1", store, None)
    soon = _today() + timedelta(days=10)
    night2 = _audit(export, tmp_path / "night2", store,
                    _file(tmp_path, _entry(UNLICENSED, "entra_object_id", LEE, soon), name="n2.toml"))
    lee = _finding(_rows(night2.output_dir / "findings.csv"), UNLICENSED, LEE)
    assert (lee["status"], lee["drift"]) == ("accepted", "accepted")
    assert night2.summary["drift"]["accepted"] == 1 and night2.summary["drift"]["new"] == 0
    assert night2.summary["exceptions"]["expiring_soon"] == [
        {"rule": UNLICENSED, "subject": f"entra_object_id={LEE}", "expires": soon.isoformat()}]

    # the next night the same decision has run out
    expired = _file(tmp_path, _entry(UNLICENSED, "entra_object_id", LEE, _today() - timedelta(days=1)),
                    name="n3.toml")
    night3 = _audit(export, tmp_path / "night3", store, expired)
    findings = _rows(night3.output_dir / "findings.csv")
    lee = _finding(findings, UNLICENSED, LEE)
    assert (lee["status"], lee["drift"]) == ("open", "reopened")
    assert _finding(findings, "EXCEPTION_EXPIRED")["drift"] == "new"
    assert night3.summary["drift"]["reopened"] == 1 and night3.summary["drift"]["new"] == 1
    # and a night with nothing changed is plain persistence
    night4 = _audit(export, tmp_path / "night4", store, expired)
    assert night4.summary["drift"]["reopened"] == 0 and night4.summary["drift"]["accepted"] == 0
    assert night4.summary["drift"]["new"] == 0


def test_the_file_comes_from_the_environment_or_the_job_file(tmp_path):
    export = _export(tmp_path)
    exceptions = _file(tmp_path, _entry(UNLICENSED, "entra_object_id", LEE, _today() + timedelta(days=30)))
    runner = CliRunner()
    by_env = runner.invoke(main, ["audit", "--input-dir", str(export), "--output-dir", str(tmp_path / "env"),
                                  "--store", str(tmp_path / "env.duckdb"), "--fail-on", "never", "-q"],
                           env={"RECONCILE_EXCEPTIONS": str(exceptions)})
    assert by_env.exit_code == 0, by_env.output
    assert _finding(_rows(tmp_path / "env" / "findings.csv"), UNLICENSED, LEE)["status"] == "accepted"

    job = tmp_path / "nightly.toml"
    job.write_text(f'input_dir = "{export}"\noutput_dir = "{tmp_path / "job"}"\nstore = "{tmp_path / "job.duckdb"}"\n'
                   f'fail_on = "never"\nexceptions = "{exceptions}"\n', encoding="utf-8")
    by_job = runner.invoke(main, ["run", "--job", str(job), "-q"])
    assert by_job.exit_code == 0, by_job.output
    summary = json.loads((tmp_path / "job" / "summary.json").read_text(encoding="utf-8"))
    assert summary["exceptions"]["accepted_findings"] == 1 and summary["exceptions"]["file"] == str(exceptions)
