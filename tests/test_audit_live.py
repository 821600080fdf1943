"""The sample tenant audited from live servers: LDAP from slapd and Mattermost from PostgreSQL
(Entra still from files) gives exactly the findings of the all-files run of the same tenant."""

from __future__ import annotations

import csv
import json
import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner
from ldap_server import (
    BASE_DN,
    PEOPLE_DN,
    READER_DN,
    READER_PASSWORD,
    SLAPD,
    USER_FILTER,
    Slapd,
    User,
    directory_ldif,
    load_database,
)
from pg_server import insert_mattermost_users, pg_cluster  # noqa: F401 (the session fixture)

from reconcile.cli import main
from reconcile.paths import sample_dir
from reconcile.sources.ldif import read_ldif
from reconcile.sources.mattermost_files import read_mattermost_users

LIVE_FILES = ("ldap_users.ldif", "mattermost_users.json")


def _text(entry: dict, name: str) -> str | None:
    values = entry["attributes"].get(name.lower())
    return values[0].decode("utf-8") if values else None


def _sample_directory() -> list[User]:
    """The sample's LDAP entries, moved under the test server's suffix (same attributes and values)."""
    users = []
    for entry in read_ldif(sample_dir() / "ldap_users.ldif"):
        sam = _text(entry, "sAMAccountName")
        if sam is None:
            continue
        guid = entry["attributes"].get("objectguid")
        users.append(User(dn=f"cn={sam},{PEOPLE_DN}", sam=sam, aad=_text(entry, "msDS-aadObjectId"),
                          object_guid=guid[0] if guid else None, upn=_text(entry, "userPrincipalName"),
                          mails=tuple(v.decode() for v in entry["attributes"].get("mail", []))))
    return users


@pytest.fixture(scope="module")
def sample_slapd(tmp_path_factory):
    if not SLAPD.exists():
        pytest.skip(f"OpenLDAP's slapd is not installed ({SLAPD}); apt-get install slapd ldap-utils")
    data = load_database(tmp_path_factory.mktemp("sample-ldap"), directory_ldif(_sample_directory()))
    server = Slapd(tmp_path_factory.mktemp("sample-slapd") / "server", data).start()
    yield server
    server.stop()


def _findings(out: Path) -> list[tuple]:
    with (out / "findings.csv").open(encoding="utf-8-sig", newline="") as handle:
        # the findings themselves: run_id and the drift columns (new/persisting, first_seen) differ by run
        return sorted(tuple(v for k, v in row.items() if k not in ("run_id", "drift", "first_seen"))
                      for row in csv.DictReader(handle))


def test_live_ldap_and_database_match_the_all_files_run(tmp_path, sample_slapd, pg_cluster):  # noqa: F811
    # the all-files tenant: the sample, with the LDIF exported from the very server the live run reads
    files = tmp_path / "files"
    shutil.copytree(sample_dir(), files)
    (files / "ldap_users.ldif").write_bytes(
        sample_slapd.ldapsearch("-b", BASE_DN, "-E", "pr=200/noprompt", USER_FILTER))
    # the live run's export directory: everything but the two sources read live
    live = tmp_path / "live"
    shutil.copytree(sample_dir(), live)
    for name in LIVE_FILES:
        (live / name).unlink()
    dsn = pg_cluster.create_database("mattermost_sample")
    loaded = insert_mattermost_users(dsn, read_mattermost_users(sample_dir() / "mattermost_users.json"))
    assert loaded == 296

    (tmp_path / "pw").write_text(READER_PASSWORD + "\n")
    env = {"RECONCILE_LDAP_BIND_DN": READER_DN, "RECONCILE_LDAP_PASSWORD_FILE": str(tmp_path / "pw"),
           "RECONCILE_MATTERMOST_DSN": dsn}
    runner = CliRunner()
    live_run = runner.invoke(main, ["audit", "--input-dir", str(live), "--output-dir", str(tmp_path / "live-out"),
                                    "--ldap", sample_slapd.url, "--ldap-insecure", "--ldap-base-dn", BASE_DN,
                                    "--ldap-filter", USER_FILTER, "-q"], env=env)
    files_run = runner.invoke(main, ["audit", "--input-dir", str(files), "--output-dir", str(tmp_path / "files-out"),
                                     "-q"])
    assert live_run.exit_code == files_run.exit_code == 1, live_run.output + files_run.output

    assert _findings(tmp_path / "live-out") == _findings(tmp_path / "files-out")
    summary = json.loads((tmp_path / "live-out" / "summary.json").read_text())
    inputs = {i["name"]: i for i in summary["inputs"]}
    assert inputs["ldap"]["file"] == sample_slapd.url and inputs["ldap"]["rows"] == len(_sample_directory())
    assert "plain LDAP without TLS" in inputs["ldap"]["note"], "the report shows an insecure connection"
    assert inputs["mattermost_users"]["rows"] == 296
    assert READER_PASSWORD not in (tmp_path / "live-out" / "summary.json").read_text()
    fired = {k for k, v in summary["findings_by_rule"].items() if v}
    assert {"USER_LDAP_AADOBJECTID_MISSING", "USER_LDAP_AADOBJECTID_MISMATCH", "USER_AUTHDATA_IS_OBJECTGUID"} <= fired


def test_ldap_server_going_away_makes_the_run_partial(tmp_path, sample_slapd, monkeypatch):
    from reconcile.sources import ldap_live

    monkeypatch.setattr(ldap_live, "_sleep", lambda seconds: None)  # no real back-off waits
    export = tmp_path / "export"
    shutil.copytree(sample_dir(), export)
    (export / "ldap_users.ldif").unlink()
    (tmp_path / "pw").write_text(READER_PASSWORD)
    env = {"RECONCILE_LDAP_BIND_DN": READER_DN, "RECONCILE_LDAP_PASSWORD_FILE": str(tmp_path / "pw")}
    dead = "ldap://127.0.0.1:9"  # nothing listens on the discard port
    result = CliRunner().invoke(main, ["audit", "--input-dir", str(export), "--output-dir", str(tmp_path / "out"),
                                       "--ldap", dead, "--ldap-insecure", "--ldap-base-dn", BASE_DN, "-q"], env=env)
    assert result.exit_code == 4, result.output
    summary = json.loads((tmp_path / "out" / "summary.json").read_text())
    assert summary["status"] == "partial" and [f["name"] for f in summary["failed_inputs"]] == ["ldap"]
    assert {"USER_LDAP_AADOBJECTID_MISSING", "USER_LDAP_AADOBJECTID_MISMATCH"} <= {
        s["rule_id"] for s in summary["skipped_rules"]}
    findings = json.loads((tmp_path / "out" / "findings.json").read_text())
    assert not [f for f in findings if f["rule_id"].startswith("USER_LDAP_")]


def test_mattermost_api_gives_the_findings_of_the_files(tmp_path):
    from fake_mattermost import ADMIN_TOKEN, USER_TOKEN, FakeMattermost

    sample = sample_dir()
    users = list(read_mattermost_users(sample / "mattermost_users.json"))
    for user in users:
        user.pop("_where", None)
    config = json.loads((sample / "mattermost_config.json").read_text())
    license_doc = json.loads((sample / "mattermost_license.json").read_text())
    export = tmp_path / "export"
    shutil.copytree(sample, export)
    for name in ("mattermost_users.json", "mattermost_config.json", "mattermost_license.json"):
        (export / name).unlink()
    with FakeMattermost(users=users, config=config, license=license_doc) as server:
        base = server.url
        result = CliRunner().invoke(main, ["audit", "--input-dir", str(export), "--output-dir", str(tmp_path / "api"),
                                           "--mattermost-url", base, "-q"],
                                    env={"RECONCILE_MATTERMOST_TOKEN": ADMIN_TOKEN})
        refused = CliRunner().invoke(main, ["audit", "--input-dir", str(export), "--output-dir", str(tmp_path / "no"),
                                            "--mattermost-url", base, "-q"],
                                     env={"RECONCILE_MATTERMOST_TOKEN": USER_TOKEN})
    files = CliRunner().invoke(main, ["audit", "--sample", "--output-dir", str(tmp_path / "files"), "-q"])
    assert result.exit_code == files.exit_code == 1, result.output
    assert _findings(tmp_path / "api") == _findings(tmp_path / "files")
    assert refused.exit_code == 3 and "system admin" in " ".join(refused.output.split())
    assert USER_TOKEN not in refused.output and not (tmp_path / "no").exists()
