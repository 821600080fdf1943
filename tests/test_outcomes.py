"""After enablement (issue 15): every prediction checked against Intune's own registrations.

A small tenant built so that each outcome class happens, read from the export file and from the fake
Graph (msgraph-sdk over HTTP), through the real audit and DuckDB. Times are relative to the run's start,
since the window is (--enrolled-within days before it).
"""

from __future__ import annotations

import csv
import json
import stat
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from click.testing import CliRunner
from fake_graph import DEFAULT_TOKEN, FakeGraph
from tenant import Tenant, config, entra_user, mm_user, oid

from reconcile.cli import main

GROUP = "0a000000-0000-4000-8000-00000000000a"
IOS, ANDROID = "#microsoft.graph.iosMobileAppIdentifier", "#microsoft.graph.androidMobileAppIdentifier"
UNKNOWN = oid(77)  # a userId no Entra user of the run has
OUTCOMES_COLUMNS = ["entra_object_id", "user_principal_name", "readiness", "rule_ids", "enrolled", "last_sync",
                    "bundle_id", "flagged_reasons", "outcome"]


def graph_time(moment: datetime) -> str:
    """As Graph writes it: seven fractional digits."""
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond:06d}1Z"


def registration(n: int, user_id: str, days_ago: float, bundle: str = "com.mattermost.rn", kind: str = IOS,
                 flagged: list[str] | None = None) -> dict:
    synced = datetime.now(UTC) - timedelta(days=days_ago)
    app = {"@odata.type": kind, ("bundleId" if kind == IOS else "packageId"): bundle}
    return {"@odata.type": "#microsoft.graph.iosManagedAppRegistration" if kind == IOS else
            "#microsoft.graph.androidManagedAppRegistration",
            "id": f"reg-{n}", "userId": user_id, "appIdentifier": app,
            "createdDateTime": graph_time(synced - timedelta(days=60)), "lastSyncDateTime": graph_time(synced),
            "applicationVersion": "2.23.1", "platformVersion": "18.1", "deviceName": f"iPhone {n}",
            "flaggedReasons": flagged or [], "managedDeviceId": None, "version": "3"}


def people() -> list[dict]:
    users = [entra_user(n) for n in range(1, 15)]
    users[11]["accountEnabled"] = False   # 12: disabled, in no group
    return users


def accounts() -> list[dict]:
    mm = [mm_user(n) for n in range(1, 11)]
    mm[6]["email"] = "seven@chat.contoso.com"
    mm.append(mm_user(57, name="user7local", auth_service="", auth_data="", email="user7@contoso.com"))  # 7: two
    mm.append(mm_user(14, email="fourteen@chat.contoso.com"))                                     # 14: two too
    mm.append(mm_user(58, name="user14local", auth_service="", auth_data="", email="user14@contoso.com"))
    mm[7] = mm_user(8, auth_service="", auth_data="")             # 8: only an email/password account
    mm[8]["auth_data"] = "user9@contoso.com"                      # 9: bound by email
    mm[9]["auth_data"] = "user10@contoso.com"                     # 10: bound by UPN (= mail here: email rule)
    return mm


def registrations() -> list[dict]:
    return [
        registration(1, oid(1), 1),                                     # confirmed_ready
        registration(2, oid(2), 45),                                    # stale: ready_not_enrolled
        registration(3, oid(3), 2, bundle="com.mattermost.rnbeta"),     # the beta counts by default
        registration(4, oid(4), 1, bundle="com.microsoft.Office.Outlook"),  # another app: ignored
        registration(5, oid(5), 1, kind=ANDROID),                       # Android: ignored
        registration(6, oid(6), 1, flagged=["rootedDevice"]),           # flagged, still enrolled
        registration(7, oid(7), 3),                                     # at_risk enrolled
        registration(8, oid(8), 3),                                     # not_evaluated, enrolled
        registration(9, oid(9), 1),                                     # will_fail, enrolled: false alarm
        registration(10, oid(10), 40),                                  # will_fail, stale: confirmed
        registration(11, oid(11), 1),                                   # untargeted, enabled: finding
        registration(12, oid(12), 1),                                   # untargeted, disabled: none
        registration(13, oid(13), 45),                                  # untargeted, stale: none
        registration(14, UNKNOWN, 1),                                   # no such Entra user: counted
        registration(15, oid(1), 20, bundle="com.mattermost.rn"),       # user 1's older device
    ]


def tenant() -> Tenant:
    return Tenant(entra=people(), mattermost=accounts(), config=config(),
                  groups={GROUP: [{"id": oid(n), "userPrincipalName": f"user{n}@contoso.com"}
                                  for n in [*range(1, 11), 14]]})


def export(tmp_path: Path, body: object | None = None) -> Path:
    directory = tenant().write(tmp_path / "export")
    if body is not None:
        (directory / "intune_app_registrations.json").write_text(json.dumps(body), encoding="utf-8")
    return directory


def audit(*args: str, env: dict | None = None):
    return CliRunner().invoke(main, ["audit", *args, "-q"], env=env or {})


def outcomes_csv(out: Path) -> dict[str, dict]:
    with (out / "outcomes.csv").open(encoding="utf-8-sig", newline="") as handle:
        reader = csv.DictReader(handle)
        assert reader.fieldnames == OUTCOMES_COLUMNS
        return {row["entra_object_id"]: row for row in reader}


def findings(out: Path, rule_id: str) -> list[dict]:
    return [f for f in json.loads((out / "findings.json").read_text()) if f["rule_id"] == rule_id]


EXPECTED_OUTCOMES = {
    oid(1): "confirmed_ready", oid(2): "ready_not_enrolled", oid(3): "confirmed_ready",
    oid(4): "ready_not_enrolled", oid(5): "ready_not_enrolled", oid(6): "confirmed_ready",
    oid(7): "at_risk_enrolled", oid(8): "not_evaluated", oid(9): "false_alarm", oid(10): "confirmed_will_fail",
    oid(14): "at_risk_not_enrolled",
}


def check_outcomes(out: Path) -> None:
    rows = outcomes_csv(out)
    assert {k: r["outcome"] for k, r in rows.items()} == EXPECTED_OUTCOMES, "one row per targeted person"
    with (out / "readiness.csv").open(encoding="utf-8-sig", newline="") as handle:
        readiness = {r["entra_object_id"]: r for r in csv.DictReader(handle)}
    for person, row in rows.items():
        assert row["readiness"] == readiness[person]["status"] and row["rule_ids"] == readiness[person]["rule_ids"]
    assert rows[oid(1)]["enrolled"] == "true" and rows[oid(2)]["enrolled"] == "false"
    assert rows[oid(1)]["last_sync"].endswith("Z") and "T" in rows[oid(1)]["last_sync"]
    latest = datetime.fromisoformat(rows[oid(1)]["last_sync"].replace("Z", "+00:00"))
    assert datetime.now(UTC) - latest < timedelta(days=2), "the latest of user 1's two registrations"
    assert rows[oid(2)]["last_sync"], "a stale registration is shown, though not counted"
    assert rows[oid(4)]["last_sync"] == "" and rows[oid(4)]["bundle_id"] == "", "Outlook is no Mattermost app"
    assert rows[oid(3)]["bundle_id"] == "com.mattermost.rnbeta"
    assert rows[oid(6)]["flagged_reasons"] == "rootedDevice" and rows[oid(6)]["enrolled"] == "true"

    summary = json.loads((out / "summary.json").read_text())
    assert summary["registrations"] == {"read": 15, "kept": 13, "unknown_user": 1}
    assert summary["outcomes"] == {"false_alarm": 1, "confirmed_will_fail": 1, "confirmed_ready": 3,
                                   "ready_not_enrolled": 3, "at_risk_enrolled": 1, "at_risk_not_enrolled": 1,
                                   "not_evaluated": 1}
    # by hand, from the tenant: 7 and 14 have a second account (7 enrolled), 8 only another service's,
    # 9 and 10 are bound by email (9 enrolled)
    assert summary["rule_outcomes"] == {"USER_AUTHDATA_IS_EMAIL": {"fired": 2, "enrolled_anyway": 1},
                                        "USER_DUPLICATE_ACCOUNTS": {"fired": 2, "enrolled_anyway": 1},
                                        "USER_NOT_SELECTED_SERVICE": {"fired": 1, "enrolled_anyway": 1}}

    alarm = findings(out, "OUTCOME_FALSE_ALARM")
    assert len(alarm) == 1 and alarm[0]["entra_object_id"] == oid(9) and alarm[0]["severity"] == "warning"
    assert "USER_AUTHDATA_IS_EMAIL" in alarm[0]["observed"], "names the rule that made them will_fail"
    wider = findings(out, "OUTCOME_ENROLLED_NOT_TARGETED")
    assert [f["entra_object_id"] for f in wider] == [oid(11)], "not the disabled one, not the stale one"
    assert wider[0]["severity"] == "info" and wider[0]["subject_type"] == "user"
    assert readiness[oid(9)]["status"] == "will_fail", "an outcome never changes readiness"


def test_each_outcome_from_the_export_file(tmp_path):
    directory = export(tmp_path, {"@odata.context": "https://graph.microsoft.com/v1.0/$metadata#deviceAppManagement/"
                                                    "managedAppRegistrations", "value": registrations()})
    result = audit("--input-dir", str(directory), "--output-dir", str(tmp_path / "out"))
    assert result.exit_code == 1, result.output
    check_outcomes(tmp_path / "out")
    assert stat.S_IMODE((tmp_path / "out" / "outcomes.csv").stat().st_mode) == 0o600


@pytest.mark.parametrize("shape", ["array of pages", "array of registrations"])
def test_other_file_shapes(tmp_path, shape):
    regs = registrations()
    body = ([{"value": regs[:7], "@odata.nextLink": "https://graph.microsoft.com/v1.0/x?$skiptoken=a"},
             {"value": regs[7:]}] if shape == "array of pages" else regs)
    result = audit("--input-dir", str(export(tmp_path, body)), "--output-dir", str(tmp_path / "out"))
    assert result.exit_code == 1, result.output
    check_outcomes(tmp_path / "out")


def test_the_window_is_an_option(tmp_path):
    directory = export(tmp_path, {"value": registrations()})
    result = audit("--input-dir", str(directory), "--output-dir", str(tmp_path / "out"), "--enrolled-within", "50")
    assert result.exit_code == 1, result.output
    rows = outcomes_csv(tmp_path / "out")
    assert rows[oid(2)]["outcome"] == "confirmed_ready" and rows[oid(10)]["outcome"] == "false_alarm"
    wider = findings(tmp_path / "out", "OUTCOME_ENROLLED_NOT_TARGETED")
    assert {f["entra_object_id"] for f in wider} == {oid(11), oid(13)}
    summary = json.loads((tmp_path / "out" / "summary.json").read_text())
    assert summary["outcomes_window"]["enrolled_within_days"] == 50
    assert audit("--input-dir", str(directory), "--output-dir", str(tmp_path / "o2"),
                 "--enrolled-within", "0").exit_code == 2, "a window of no day is a usage error"


def test_given_bundle_ids_replace_the_default(tmp_path):
    directory = export(tmp_path, {"value": registrations()})
    result = audit("--input-dir", str(directory), "--output-dir", str(tmp_path / "out"),
                   "--ios-bundle-id", "com.mattermost.rn", "--ios-bundle-id", "com.contoso.chat")
    assert result.exit_code == 1, result.output
    rows = outcomes_csv(tmp_path / "out")
    assert rows[oid(3)]["outcome"] == "ready_not_enrolled", "the beta is not among the ids given"
    assert rows[oid(1)]["outcome"] == "confirmed_ready"


def test_without_registrations_nothing_is_measured(tmp_path):
    result = audit("--input-dir", str(export(tmp_path)), "--output-dir", str(tmp_path / "out"))
    assert result.exit_code == 1, result.output
    out = tmp_path / "out"
    assert not (out / "outcomes.csv").exists()
    summary = json.loads(out.joinpath("summary.json").read_text())
    assert "outcomes" not in summary and "rule_outcomes" not in summary and "registrations" not in summary
    skipped = {s["rule_id"]: s["reason"] for s in summary["skipped_rules"]}
    assert skipped["OUTCOME_FALSE_ALARM"] == "missing input: intune_registrations"
    assert skipped["OUTCOME_ENROLLED_NOT_TARGETED"] == "missing input: intune_registrations"
    assert summary["status"] == "complete"


def test_a_run_without_the_file_after_one_with_it_unlinks_outcomes_csv(tmp_path):
    directory = export(tmp_path, {"value": registrations()})
    out = tmp_path / "out"
    assert audit("--input-dir", str(directory), "--output-dir", str(out)).exit_code == 1
    assert (out / "outcomes.csv").is_file()
    (directory / "intune_app_registrations.json").unlink()
    assert audit("--input-dir", str(directory), "--output-dir", str(out)).exit_code == 1
    assert not (out / "outcomes.csv").exists(), "no outcomes.csv of an earlier run under the current name"


def test_an_empty_registrations_export_means_nobody_enrolled_yet(tmp_path):
    result = audit("--input-dir", str(export(tmp_path, {"value": []})), "--output-dir", str(tmp_path / "out"))
    assert result.exit_code == 1, result.output
    summary = json.loads((tmp_path / "out" / "summary.json").read_text())
    assert summary["registrations"] == {"read": 0, "kept": 0, "unknown_user": 0}
    assert summary["outcomes"]["false_alarm"] == 0 and summary["outcomes"]["confirmed_ready"] == 0
    assert summary["outcomes"]["ready_not_enrolled"] == 6 and sum(summary["outcomes"].values()) == 11
    assert "no Mattermost iOS registration yet" in (tmp_path / "out" / "report.html").read_text()


@pytest.mark.parametrize(("field", "value", "expected"), [
    ("userId", "user9@contoso.com", "'userId' is 'user9@contoso.com'; expected an Entra objectId (a GUID)"),
    ("lastSyncDateTime", "yesterday", "'lastSyncDateTime' is 'yesterday'; expected an ISO 8601 date and time"),
])
def test_a_broken_mattermost_registration_is_an_input_error(tmp_path, field, value, expected):
    regs = registrations()
    regs[8][field] = value
    directory = export(tmp_path, {"value": regs})
    out = tmp_path / "out"
    result = audit("--input-dir", str(directory), "--output-dir", str(out))
    assert result.exit_code == 3, result.output
    assert "intune_app_registrations.json" in result.output and "value[8]" in result.output
    assert expected in result.output
    assert not out.exists() or not (out / "summary.json").exists()


def test_a_broken_registration_of_another_app_is_only_counted(tmp_path):
    regs = registrations()
    regs[3]["userId"] = "not a guid"          # Outlook's: never read beyond its app
    regs[3]["appIdentifier"] = None           # and no app at all: not a Mattermost one either
    regs[4]["lastSyncDateTime"] = "garbage"   # Android's
    result = audit("--input-dir", str(export(tmp_path, {"value": regs})), "--output-dir", str(tmp_path / "out"))
    assert result.exit_code == 1, result.output
    check_outcomes(tmp_path / "out")


# --- from Graph ---------------------------------------------------------------------------------------


@pytest.fixture
def graph():
    fake = FakeGraph.with_users(people(), groups={GROUP: [oid(n) for n in [*range(1, 11), 14]]},
                                app_registrations=registrations(), default_top=4)
    with fake:
        yield fake


def _graph_env(graph: FakeGraph, token: str = DEFAULT_TOKEN) -> dict[str, str]:
    return {"RECONCILE_ENTRA_ACCESS_TOKEN": token, "RECONCILE_GRAPH_BASE_URL": graph.base_url}


def _mm_only(tmp_path: Path) -> Path:
    return Tenant(entra=None, mattermost=accounts(), config=config()).write(tmp_path / "mm")


def test_each_outcome_from_graph_paged_and_throttled(tmp_path, graph):
    graph.fail_page("/deviceAppManagement/managedAppRegistrations", 2, status=429, retry_after="0")
    result = audit("--entra", "graph", "--intune-group", GROUP, "--input-dir", str(_mm_only(tmp_path)),
                   "--output-dir", str(tmp_path / "out"), env=_graph_env(graph))
    assert result.exit_code == 1, result.output
    check_outcomes(tmp_path / "out")
    pages = graph.requests_to("/deviceAppManagement/managedAppRegistrations")
    assert [r.page for r in pages] == [1, 2, 2, 3, 4], "four pages of four, the throttled one retried"
    summary = json.loads((tmp_path / "out" / "summary.json").read_text())
    assert summary["status"] == "complete"
    info = {i["name"]: i for i in summary["inputs"]}["intune_registrations"]
    assert info["rows"] == 15 and info["file"] == "Microsoft Graph: managedAppRegistrations"


def test_without_the_permission_only_the_outcomes_are_left_out(tmp_path, graph):
    token = _jwt_for(["User.Read.All", "GroupMember.Read.All", "Application.Read.All",
                      "DelegatedPermissionGrant.Read.All", "Policy.Read.All"])
    graph.grant_token(token, ["User.Read.All", "GroupMember.Read.All", "Application.Read.All",
                              "DelegatedPermissionGrant.Read.All", "Policy.Read.All"])
    result = audit("--entra", "graph", "--intune-group", GROUP, "--input-dir", str(_mm_only(tmp_path)),
                   "--output-dir", str(tmp_path / "out"), env=_graph_env(graph, token))
    assert result.exit_code == 1, result.output
    assert not graph.requests_to("/deviceAppManagement/managedAppRegistrations"), "not called without permission"
    summary = json.loads((tmp_path / "out" / "summary.json").read_text())
    assert summary["status"] == "complete", "the audit itself needs no registration"
    skipped = {s["rule_id"]: s["reason"] for s in summary["skipped_rules"]}
    assert skipped["OUTCOME_FALSE_ALARM"].startswith("needs Graph permission `DeviceManagementApps.Read.All`")
    assert [m["permission"] for m in summary["missing_permissions"]] == ["DeviceManagementApps.Read.All"]
    assert "graph.intune_registrations" in summary["missing_permissions"][0]["needed_by"]
    assert "outcomes" not in summary and not (tmp_path / "out" / "outcomes.csv").exists()


def test_a_failing_registrations_pull_fails_only_the_outcomes(tmp_path, graph):
    graph.fail_page("/deviceAppManagement/managedAppRegistrations", 2, status=500, times=None)
    result = audit("--entra", "graph", "--intune-group", GROUP, "--input-dir", str(_mm_only(tmp_path)),
                   "--output-dir", str(tmp_path / "out"), env=_graph_env(graph))
    assert result.exit_code == 4, result.output
    summary = json.loads((tmp_path / "out" / "summary.json").read_text())
    assert [f["name"] for f in summary["failed_inputs"]] == ["intune_registrations"]
    assert "outcomes" not in summary and not (tmp_path / "out" / "outcomes.csv").exists()
    assert summary["findings_by_rule"]["USER_AUTHDATA_IS_EMAIL"] == 2, "the audit itself ran whole"


def _jwt_for(roles: list[str]) -> str:
    from tenant import jwt

    return jwt({"aud": "https://graph.microsoft.com", "appid": "5c1a0f3e-7d2b-4e8a-9f6c-1b2d3e4f5a6b",
                "roles": roles, "tid": "72f988bf-86f1-41af-91ab-2d7cd011db47"})


def test_a_copy_of_the_sample_measures_from_its_capture_time_and_a_bad_marker_is_refused(tmp_path):
    import shutil

    from reconcile.paths import sample_dir

    copy = tmp_path / "copy"
    shutil.copytree(sample_dir(), copy)
    assert audit("--input-dir", str(copy), "--output-dir", str(tmp_path / "out")).exit_code == 1
    summary = json.loads((tmp_path / "out" / "summary.json").read_text())
    assert summary["outcomes_window"]["as_of"] == "2026-12-01T06:00:00+00:00"
    assert summary["outcomes"]["confirmed_ready"] == 152
    (copy / "sample_captured_at.txt").write_text("last week\n")
    refused = audit("--input-dir", str(copy), "--output-dir", str(tmp_path / "o2"))
    assert refused.exit_code == 3 and "sample_captured_at.txt" in refused.output and "ISO 8601" in refused.output


def test_the_sample_shows_the_outcome_table(tmp_path):
    result = audit("--sample", "--output-dir", str(tmp_path / "out"))
    assert result.exit_code == 1, result.output
    summary = json.loads((tmp_path / "out" / "summary.json").read_text())
    assert summary["outcomes"]["false_alarm"] == 1 and summary["outcomes"]["confirmed_ready"] == 152
    assert summary["outcomes_window"]["as_of"].startswith("2026-12-01T06:00:00")
    html = (tmp_path / "out" / "report.html").read_text()
    assert "Predictions against Intune" in html and "<code>false_alarm</code>" in html


def test_an_exception_accepts_a_false_alarm(tmp_path):
    directory = export(tmp_path, {"value": registrations()})
    accepted = tmp_path / "exceptions.toml"
    accepted.write_text(f'''[[exception]]
rule = "OUTCOME_FALSE_ALARM"
entra_object_id = "{oid(9)}"
reason = "reported upstream; the capture predates the fix"
owner = "it-identity@contoso.com"
expires = {(datetime.now(UTC) + timedelta(days=30)).date().isoformat()}
''')
    result = audit("--input-dir", str(directory), "--output-dir", str(tmp_path / "out"),
                   "--exceptions", str(accepted), "--no-history")
    assert result.exit_code == 1, result.output
    [alarm] = findings(tmp_path / "out", "OUTCOME_FALSE_ALARM")
    assert alarm["status"] == "accepted" and alarm["exception_owner"] == "it-identity@contoso.com"


def test_the_console_names_the_blocking_rules_whose_people_enrolled_anyway(tmp_path):
    directory = export(tmp_path, {"value": registrations()})
    result = CliRunner().invoke(main, ["audit", "--input-dir", str(directory), "--output-dir", str(tmp_path / "out")])
    assert result.exit_code == 1, result.output
    text = " ".join(result.stdout.split())
    assert "false_alarm │ 1" in text and "at_risk_not_enrolled │ 1" in text
    assert "blocking rules whose people enrolled anyway" in text
    assert "USER_AUTHDATA_IS_EMAIL: fired for 2, 1 enrolled anyway" in text
    assert "USER_DUPLICATE_ACCOUNTS: fired" not in text, "a warning's people are expected to get through"
