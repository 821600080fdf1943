"""The shipped job profiles end to end: jobs/nightly.toml live against the loopback servers (Graph fake,
slapd, the Mattermost API fake and PostgreSQL) for three nights, then jobs/export.toml from its store;
jobs/preflight.toml in files mode on the sample tenant.

The job files are used as shipped: only what differs on a test machine (server addresses, where the
secrets and directories are) is overridden, through the RECONCILE_* variables an operator would use,
which is also the precedence under test (environment beats job file).
"""

from __future__ import annotations

import csv
import json
from datetime import UTC, datetime
from pathlib import Path

import pytest
from click.testing import CliRunner
from fake_graph import DEFAULT_TOKEN, FakeGraph
from fake_mattermost import ADMIN_TOKEN, FakeMattermost
from ldap_server import BASE_DN, READER_DN, READER_PASSWORD, SLAPD, USER_FILTER, Slapd, directory_ldif, load_database
from ldap_server import make_users as make_ldap_users
from pg_server import insert_mattermost_users, pg_cluster  # noqa: F401 (the session fixture)
from tenant import admin_consent, application, config, oid, service_principals
from test_audit_graph import GROUP, accounts, people, policy

from reconcile.cli import main

JOBS = Path(__file__).resolve().parent.parent / "jobs"


def _rows(path: Path) -> list[dict]:
    with path.open(encoding="utf-8-sig", newline="") as handle:
        return list(csv.DictReader(handle))


@pytest.fixture(scope="module")
def slapd(tmp_path_factory):
    if not SLAPD.exists():
        pytest.fail(f"OpenLDAP's slapd is not installed ({SLAPD}); apt-get install slapd ldap-utils")
    data = load_database(tmp_path_factory.mktemp("profile-ldap"), directory_ldif(make_ldap_users(12)))
    server = Slapd(tmp_path_factory.mktemp("profile-slapd") / "server", data).start()
    yield server
    server.stop()


def test_nightly_profile_live_three_nights_then_the_export(tmp_path, slapd, pg_cluster):  # noqa: F811
    graph = FakeGraph.with_users(people(), groups={GROUP: [oid(n) for n in range(1, 31)]},
                                 applications=[application()], service_principals=service_principals(),
                                 grants=[admin_consent()], ios_policies=[policy()])
    dsn = pg_cluster.create_database("mattermost_nightly")
    insert_mattermost_users(dsn, accounts())
    secrets = tmp_path / "credentials"
    secrets.mkdir()
    (secrets / "ldap-password").write_text(READER_PASSWORD + "\n")
    (secrets / "mattermost-token").write_text(ADMIN_TOKEN)
    (secrets / "mattermost-dsn").write_text(dsn)
    exports = tmp_path / "exports"
    exports.mkdir()
    with graph, FakeMattermost(config=config()) as mattermost:
        env = {
            "RECONCILE_INPUT_DIR": str(exports), "RECONCILE_STORE": str(tmp_path / "reconcile.duckdb"),
            "RECONCILE_OUTPUT_DIR": str(tmp_path / "reports" / "%Y-%m-%d"),
            "RECONCILE_GRAPH_BASE_URL": graph.base_url, "RECONCILE_ENTRA_ACCESS_TOKEN": DEFAULT_TOKEN,
            "RECONCILE_LDAP_URL": slapd.url, "RECONCILE_LDAP_INSECURE": "true", "RECONCILE_LDAP_BASE_DN": BASE_DN,
            "RECONCILE_LDAP_FILTER": USER_FILTER, "RECONCILE_LDAP_BIND_DN": READER_DN,
            "RECONCILE_LDAP_PASSWORD_FILE": str(secrets / "ldap-password"),
            "RECONCILE_MATTERMOST_URL": mattermost.url,
            "RECONCILE_MATTERMOST_TOKEN_FILE": str(secrets / "mattermost-token"),
            "RECONCILE_MATTERMOST_DSN_FILE": str(secrets / "mattermost-dsn"),
        }

        def night() -> tuple[int, dict]:
            result = CliRunner().invoke(main, ["run", "--job", str(JOBS / "nightly.toml"), "-q"], env=env)
            closing = result.stderr.splitlines()[-1]
            assert closing.startswith("run "), result.output
            day = datetime.now(UTC).strftime("%Y-%m-%d")
            return result.exit_code, json.loads((tmp_path / "reports" / day / "summary.json").read_text())

        code1, first = night()
        assert code1 == 1, "the first night: every blocking finding is new"
        inputs = {i["name"]: i for i in first["inputs"]}
        assert inputs["entra_users"]["rows"] == 40 and inputs["mattermost_users"]["rows"] == len(accounts())
        assert inputs["ldap"]["rows"] == 12 and inputs["ldap"]["file"] == slapd.url
        assert inputs["mattermost_config"]["file"].startswith(mattermost.url)
        assert first["status"] == "complete" and first["drift"]["new"] > 0 and first["drift"]["resolved"] == 0

        code2, second = night()  # nothing changed: the backlog persists and pages no one
        assert code2 == 0, second["findings_by_severity"]
        assert second["drift"] == {"new": 0, "persisting": first["drift"]["new"], "accepted": 0,
                                  "reopened": 0, "resolved": 0}
        assert any("$deltatoken" in r.query for r in graph.requests_to("/users/delta")), "incremental delta"

        graph.add_user(dict(graph.users[oid(2)], accountEnabled=True, assignedPlans=[]))  # loses her licence
        code3, third = night()
        assert code3 == 1, "a new blocking finding fails the night"
        assert third["drift"]["new"] >= 1
        findings = _rows(Path(env["RECONCILE_OUTPUT_DIR"].replace("%Y-%m-%d", datetime.now(UTC).strftime("%Y-%m-%d")))
                         / "findings.csv")
        new = [r for r in findings if r["drift"] == "new"]
        assert {r["rule_id"] for r in new} >= {"USER_INTUNE_UNLICENSED"}
        assert all(r["entra_object_id"] == oid(2) for r in new if r["rule_id"] == "USER_INTUNE_UNLICENSED")

    for secret in (READER_PASSWORD, ADMIN_TOKEN, dsn):
        for report in (tmp_path / "reports").rglob("*"):
            if report.is_file():
                assert secret not in report.read_text(errors="replace"), report

    history = CliRunner().invoke(main, ["history", "--json"], env={"RECONCILE_STORE": env["RECONCILE_STORE"]})
    assert history.exit_code == 0, history.output
    runs = [json.loads(line) for line in history.stdout.splitlines()]
    assert [r["run_id"] for r in runs] == [third["run_id"], second["run_id"], first["run_id"]]
    assert runs[1]["new"] == 0 and runs[1]["persisting"] == first["drift"]["new"]
    assert runs[0]["sources"]["ldap"] == {"rows": 12, "failed": False}

    handover = tmp_path / "handover"
    export = CliRunner().invoke(main, ["export", "--job", str(JOBS / "export.toml")],
                                env={"RECONCILE_STORE": env["RECONCILE_STORE"], "RECONCILE_OUTPUT_DIR": str(handover)})
    assert export.exit_code == 0, export.output
    assert third["run_id"] in export.stdout
    admins = _rows(handover / "mattermost_admins.csv")
    directory = _rows(handover / "directory_team.csv")
    assert any("USER_INTUNE_UNLICENSED" in r["rule_ids"] and r["entra_object_id"] == oid(2) for r in directory)
    assert any("USER_AUTHDATA_IS_EMAIL" in r["rule_ids"] for r in admins)
    assert {r["run_id"] for r in _rows(handover / "findings.csv")} == {third["run_id"]}


FILES_MODE = {"RECONCILE_ENTRA": "files", "RECONCILE_ENTRA_INCREMENTAL": "false", "RECONCILE_LDAP": "files",
              "RECONCILE_MATTERMOST": "files", "RECONCILE_MATTERMOST_USERS": "files"}


def test_preflight_profile_in_files_mode_on_the_sample_tenant_never_fails_the_job(tmp_path):
    from reconcile.paths import sample_dir

    env = {**FILES_MODE, "RECONCILE_INPUT_DIR": str(sample_dir()),
           "RECONCILE_OUTPUT_DIR": str(tmp_path / "preflight"), "RECONCILE_STORE": str(tmp_path / "p.duckdb")}
    result = CliRunner().invoke(main, ["run", "--job", str(JOBS / "preflight.toml"), "-q"], env=env)
    assert result.exit_code == 0, result.output  # fail_on = "never": the sample's blocking findings are reported
    summary = json.loads((tmp_path / "preflight" / "summary.json").read_text())
    assert summary["findings_by_severity"]["blocking"] > 0 and summary["fail_on"] == "never"
    for name in ("findings.csv", "findings.json", "readiness.csv", "report.html", "directory_team.csv",
                 "mattermost_admins.csv"):
        assert (tmp_path / "preflight" / name).exists(), name


def test_nightly_profile_in_files_mode_pages_once_for_the_sample_backlog(tmp_path):
    from reconcile.paths import sample_dir

    env = {**FILES_MODE, "RECONCILE_INPUT_DIR": str(sample_dir()),
           "RECONCILE_OUTPUT_DIR": str(tmp_path / "reports"), "RECONCILE_STORE": str(tmp_path / "n.duckdb")}
    codes = [CliRunner().invoke(main, ["run", "--job", str(JOBS / "nightly.toml"), "-q"], env=env).exit_code
             for _night in range(2)]
    assert codes == [1, 0], "new blocking findings fail the first night; the same backlog the next does not"
    summary = json.loads((tmp_path / "reports" / "summary.json").read_text())
    assert summary["drift"]["new"] == 0 and summary["drift"]["persisting"] > 0
