"""``probe_sources`` against real loopback servers: the fake Graph and Mattermost, slapd and PostgreSQL.

What matters to an operator running ``reconcile sources test``: every configured source gets a row,
a broken one says why in one line without stopping the others, no secret ever shows, and nothing
is read in bulk (the servers' request logs show only ``$top=1`` / ``per_page=1`` requests).
"""

from __future__ import annotations

import dataclasses
import json
import shutil
import socket
from pathlib import Path

import pytest
from fake_graph import DEFAULT_TOKEN, FakeGraph
from fake_mattermost import ADMIN_TOKEN, USER_TOKEN, FakeMattermost, sample_users
from ldap_server import (
    BASE_DN,
    READER_DN,
    READER_PASSWORD,
    SLAPD,
    USER_FILTER,
    Slapd,
    directory_ldif,
    load_database,
    make_tls_files,
    make_users,
)
from pg_server import READER_PASSWORD as PG_PASSWORD
from pg_server import READER_ROLE, insert_mattermost_users, pg_cluster  # noqa: F401 (the session fixture)

from reconcile.sources import graph as graph_module
from reconcile.sources import mattermost_api
from reconcile.sources.probe import ProbeResult, expected_exports, probe_sources
from reconcile.sources.registry import GraphOptions, LdapOptions, SourceOptions

APP_ID = "d23f0824-128b-4f33-8c5c-7fd0a6a3a450"
LIMITED_TOKEN = "graph-token-without-intune-permission"
GRAPH_SECRET_LIKE = "wrong-graph-token-Zq8"


def entra_user(n: int) -> dict:
    return {"id": f"00000000-0000-4000-8000-{n:012d}", "userPrincipalName": f"user{n}@contoso.com",
            "displayName": f"User {n}", "accountEnabled": True}


def by_source(results: list[ProbeResult]) -> dict[str, ProbeResult]:
    assert len({r.source for r in results}) == len(results), results
    return {r.source: r for r in results}


def assert_no_secret(results: list[ProbeResult], *secrets: str) -> None:
    text = json.dumps([dataclasses.asdict(r) for r in results])
    for secret in secrets:
        assert secret not in text, f"a secret reached a probe result: {text}"


@pytest.fixture(autouse=True)
def no_backoff(monkeypatch):
    """Retries of refused connections happen, but without sitting out the back-off."""
    monkeypatch.setattr(graph_module, "_sleep", lambda seconds: None)
    monkeypatch.setattr(mattermost_api, "_sleep", lambda seconds: None)


@pytest.fixture(scope="module")
def slapd(tmp_path_factory):
    if not SLAPD.exists():
        pytest.skip(f"OpenLDAP's slapd is not installed ({SLAPD}); apt-get install slapd ldap-utils")
    data = load_database(tmp_path_factory.mktemp("probe-ldap"), directory_ldif(make_users(20)))
    server = Slapd(tmp_path_factory.mktemp("probe-slapd") / "server", data).start()
    yield server
    server.stop()


@pytest.fixture(scope="module")
def tls_slapd(tmp_path_factory):
    """slapd with a throwaway CA's certificate: StartTLS on ldap://, and an ldaps:// listener."""
    openssl = shutil.which("openssl")
    if not SLAPD.exists() or openssl is None:
        pytest.skip("slapd and the openssl CLI are needed for the TLS probes")
    tls = make_tls_files(tmp_path_factory.mktemp("probe-tls"), openssl)
    data = load_database(tmp_path_factory.mktemp("probe-tls-ldap"), directory_ldif(make_users(5)))
    server = Slapd(tmp_path_factory.mktemp("probe-tls-slapd") / "server", data, tls).start()
    server.ca = tls.ca
    yield server
    server.stop()


@pytest.fixture
def graph():
    fake = FakeGraph.with_users([entra_user(n) for n in range(30)],
                                groups={"11111111-1111-4111-8111-111111111111": [entra_user(1)["id"]]},
                                applications=[{"id": "aaaaaaaa-0000-4000-8000-000000000001", "appId": APP_ID,
                                               "displayName": "Mattermost server API"}],
                                ios_policies=[{"id": f"T_{n}", "displayName": f"policy {n}"} for n in range(5)])
    fake.grant_token(LIMITED_TOKEN, {"User.Read.All", "GroupMember.Read.All", "Application.Read.All",
                                     "DelegatedPermissionGrant.Read.All", "Policy.Read.All"})
    with fake:
        yield fake


@pytest.fixture
def mattermost():
    config = {"IntuneSettings": {"Enable": True, "ClientId": APP_ID, "AuthService": "office365"},
              "LdapSettings": {"Enable": True, "BaseDN": BASE_DN, "UserFilter": USER_FILTER}}
    with FakeMattermost(users=sample_users(50), config=config) as fake:
        yield fake


@pytest.fixture
def reader_password_file(tmp_path) -> Path:
    path = tmp_path / "ldap-password"
    path.write_text(READER_PASSWORD + "\n")
    return path


def test_every_live_source_passes_and_nothing_is_read_in_bulk(tmp_path, graph, mattermost, slapd,
                                                             pg_cluster, reader_password_file):  # noqa: F811
    dsn_admin = pg_cluster.create_database("probe_ok")
    insert_mattermost_users(dsn_admin, sample_users(40))
    dsn = pg_cluster.dsn("probe_ok", user=READER_ROLE, password=PG_PASSWORD)
    export = tmp_path / "export"
    export.mkdir()
    (export / "idp_metadata.xml").write_text("<EntityDescriptor/>")
    (export / "saml").mkdir()
    options = SourceOptions(entra="graph", ldap=LdapOptions(slapd.url, insecure=True),
                            mattermost_url=mattermost.url, mattermost_dsn=dsn)
    env = {"RECONCILE_ENTRA_ACCESS_TOKEN": DEFAULT_TOKEN, "RECONCILE_GRAPH_BASE_URL": graph.base_url,
           "RECONCILE_MATTERMOST_TOKEN": ADMIN_TOKEN, "RECONCILE_LDAP_BIND_DN": READER_DN,
           "RECONCILE_LDAP_PASSWORD_FILE": str(reader_password_file), "RECONCILE_MATTERMOST_DSN": dsn}

    results = probe_sources(options, export, env, timeout=30)

    rows = by_source(results)
    assert all(r.ok for r in results), "\n".join(f"{r.source}: {r.detail}" for r in results if not r.ok)
    assert set(rows) == {"mattermost api", "mattermost config", "mattermost licence", "mattermost db",
                         "graph users", "graph groups", "graph intune policies", "graph intune registrations",
                         "graph permission grants", "graph app registration", "graph authorization policy", "ldap",
                         "export files"}
    assert "system admin" in rows["mattermost api"].detail and "sysadmin" in rows["mattermost api"].detail
    assert "SkuShortName='advanced'" in rows["mattermost licence"].detail
    assert "read-only session" in rows["mattermost db"].detail and "1 user row" in rows["mattermost db"].detail
    assert PG_PASSWORD not in rows["mattermost db"].target and READER_ROLE in rows["mattermost db"].target
    assert "User.Read.All granted: 1 user readable" in rows["graph users"].detail
    assert "'Mattermost server API'" in rows["graph app registration"].detail, "the app id came from the config"
    # the base DN and filter came from the Mattermost config the API returned
    assert BASE_DN in rows["ldap"].detail and "LdapSettings.UserFilter" in rows["ldap"].detail
    assert "WITHOUT TLS" in rows["ldap"].detail and rows["ldap"].target == slapd.url
    files, dirs = expected_exports(options)
    assert rows["export files"].detail.startswith(f"2 of {len(files) + len(dirs)} expected files present")
    assert_no_secret(results, DEFAULT_TOKEN, ADMIN_TOKEN, READER_PASSWORD, PG_PASSWORD)

    # nothing in bulk: every Graph collection request asked for one object, no Mattermost user page for more
    collections = [r for r in graph.requests if r.route != "/policies/authorizationPolicy"
                   and not r.route.startswith("/applications(")]
    assert collections and all(r.query.get("$top") == "1" for r in collections), [
        (r.route, r.query) for r in graph.requests]
    assert not graph.requests_to("/users/delta")
    assert not mattermost.requests_to("/users"), "users come from the database: the API's pages are not probed"
    assert len(graph.requests) == 7 and len(mattermost.requests) == 3  # one request per row


def test_mattermost_users_page_is_one_user_when_the_api_reads_users(mattermost):
    results = probe_sources(SourceOptions(mattermost_url=mattermost.url), None,
                            {"RECONCILE_MATTERMOST_TOKEN": ADMIN_TOKEN})
    rows = by_source(results)
    assert rows["mattermost users"].ok, rows["mattermost users"].detail
    assert "1 user on a per_page=1 page" in rows["mattermost users"].detail
    pages = mattermost.requests_to("/users")
    assert [r.query.get("per_page") for r in pages] == ["1"] and pages[0].query.get("page") == "0"
    # every user source is live: no export directory is needed (the run reads an empty one)
    assert rows["export files"].ok and "only the live sources" in rows["export files"].detail


def test_a_wrong_graph_token_fails_once_and_stops_the_graph_probe(graph):
    env = {"RECONCILE_ENTRA_ACCESS_TOKEN": GRAPH_SECRET_LIKE, "RECONCILE_GRAPH_BASE_URL": graph.base_url}
    results = probe_sources(SourceOptions(entra="graph"), None, env)
    graph_rows = [r for r in results if r.source.startswith("graph")]
    assert [r.source for r in graph_rows] == ["graph users"], "a refused credential is one row, not seven"
    assert not graph_rows[0].ok and "HTTP 401" in graph_rows[0].detail
    assert "\n" not in graph_rows[0].detail
    assert_no_secret(results, GRAPH_SECRET_LIKE)


def test_a_graph_403_on_one_permission_fails_only_that_row(graph):
    env = {"RECONCILE_ENTRA_ACCESS_TOKEN": LIMITED_TOKEN, "RECONCILE_GRAPH_BASE_URL": graph.base_url}
    results = probe_sources(SourceOptions(entra="graph", graph=GraphOptions(app_id=APP_ID)), None, env)
    failed = [r for r in results if not r.ok and r.source != "export files"]
    # the registrations need the same permission (issue 15): their row fails the same way
    assert [r.source for r in failed] == ["graph intune policies", "graph intune registrations"], results
    assert "HTTP 403" in failed[0].detail and "DeviceManagementApps.Read.All" in failed[0].detail
    rows = by_source(results)
    assert rows["graph users"].ok and rows["graph groups"].ok and rows["graph app registration"].ok
    assert_no_secret(results, LIMITED_TOKEN)


def test_missing_credentials_are_a_row_not_an_exception(tmp_path):
    results = probe_sources(SourceOptions(entra="graph", mattermost_url="https://chat.example.com",
                                          ldap=LdapOptions("ldaps://dc.example.com", base_dn=BASE_DN)), tmp_path, {})
    rows = by_source(results)
    assert not rows["graph"].ok and "no Microsoft Graph credential" in rows["graph"].detail
    assert not rows["mattermost api"].ok and "no Mattermost token" in rows["mattermost api"].detail
    assert not rows["ldap"].ok and "no LDAP bind DN" in rows["ldap"].detail


def test_mattermost_token_that_is_not_an_admin_or_is_wrong(mattermost):
    user = by_source(probe_sources(SourceOptions(mattermost_url=mattermost.url), None,
                                   {"RECONCILE_MATTERMOST_TOKEN": USER_TOKEN}))
    assert not user["mattermost api"].ok and "not a system admin" in user["mattermost api"].detail
    assert "mattermost config" not in user, "nothing is read with a token that would hide auth_data"
    wrong = "wrongwrongwrongwrongwrong1"
    results = probe_sources(SourceOptions(mattermost_url=mattermost.url), None,
                            {"RECONCILE_MATTERMOST_TOKEN": wrong})
    rows = by_source(results)
    assert not rows["mattermost api"].ok and "401" in rows["mattermost api"].detail
    assert_no_secret(results, wrong, USER_TOKEN)


def test_refused_connections_are_reported_and_the_other_sources_still_probed(tmp_path, graph,
                                                                              reader_password_file):
    dead = "127.0.0.1:9"  # the discard port: nothing listens
    env = {"RECONCILE_ENTRA_ACCESS_TOKEN": DEFAULT_TOKEN, "RECONCILE_GRAPH_BASE_URL": graph.base_url,
           "RECONCILE_MATTERMOST_TOKEN": ADMIN_TOKEN, "RECONCILE_LDAP_BIND_DN": READER_DN,
           "RECONCILE_LDAP_PASSWORD_FILE": str(reader_password_file)}
    options = SourceOptions(entra="graph", mattermost_url=f"http://{dead}",
                            ldap=LdapOptions(f"ldap://{dead}", base_dn=BASE_DN, insecure=True))
    results = probe_sources(options, tmp_path, env, timeout=30)
    rows = by_source(results)
    assert not rows["mattermost api"].ok and "refused" in rows["mattermost api"].detail.lower()
    assert not rows["ldap"].ok and "refused" in rows["ldap"].detail.lower()
    assert rows["graph users"].ok and rows["export files"].ok, "a dead source stops no other probe"
    assert_no_secret(results, ADMIN_TOKEN, READER_PASSWORD, DEFAULT_TOKEN)


def test_ldap_wrong_password_is_a_refused_bind_without_the_password(tmp_path, slapd):
    wrong = "Not the reader's password 77"
    (tmp_path / "pw").write_text(wrong)
    env = {"RECONCILE_LDAP_BIND_DN": READER_DN, "RECONCILE_LDAP_PASSWORD_FILE": str(tmp_path / "pw")}
    options = SourceOptions(ldap=LdapOptions(slapd.url, base_dn=BASE_DN, user_filter=USER_FILTER, insecure=True))
    results = probe_sources(options, tmp_path, env)
    row = by_source(results)["ldap"]
    assert not row.ok and "invalidCredentials" in row.detail and READER_DN in row.detail
    assert_no_secret(results, wrong)


def test_ldap_base_dn_from_the_exported_config_or_reported_unknown(tmp_path, slapd, reader_password_file):
    env = {"RECONCILE_LDAP_BIND_DN": READER_DN, "RECONCILE_LDAP_PASSWORD_FILE": str(reader_password_file)}
    options = SourceOptions(ldap=LdapOptions(slapd.url, insecure=True))
    unknown = by_source(probe_sources(options, tmp_path, env))["ldap"]
    assert not unknown.ok and unknown.detail.startswith("base DN unknown: give sources.ldap.base_dn")
    (tmp_path / "mattermost_config.json").write_text(json.dumps(
        {"LdapSettings": {"BaseDN": BASE_DN, "UserFilter": USER_FILTER}}))
    known = by_source(probe_sources(options, tmp_path, env))["ldap"]
    assert known.ok, known.detail
    assert f'base DN "{BASE_DN}"' in known.detail and f'filter "{USER_FILTER}"' in known.detail
    nothing = by_source(probe_sources(dataclasses.replace(options, ldap=LdapOptions(
        slapd.url, base_dn=BASE_DN, user_filter="(cn=nobody-at-all)", insecure=True)), tmp_path, env))["ldap"]
    assert not nothing.ok and "matched no entries" in nothing.detail


def test_database_wrong_password_and_missing_tables(pg_cluster):  # noqa: F811
    pg_cluster.create_database("probe_db")
    wrong = "Wrong-Guess-99"
    results = probe_sources(SourceOptions(mattermost_dsn=pg_cluster.dsn("probe_db", user=READER_ROLE,
                                                                        password=wrong)), None, {})
    row = by_source(results)["mattermost db"]
    assert not row.ok and "password authentication failed" in row.detail
    assert_no_secret(results, wrong)
    import psycopg

    with psycopg.connect(pg_cluster.dsn(), autocommit=True) as conn:
        conn.execute('DROP DATABASE IF EXISTS "probe_empty"')
        conn.execute('CREATE DATABASE "probe_empty"')
    empty = by_source(probe_sources(SourceOptions(mattermost_dsn=pg_cluster.dsn("probe_empty")), None, {}))
    assert not empty["mattermost db"].ok and "does not look like Mattermost's database" in empty["mattermost db"].detail


def test_export_files_present_absent_and_a_missing_directory(tmp_path):
    options = SourceOptions()
    missing = by_source(probe_sources(options, tmp_path / "nope", {}))["export files"]
    assert not missing.ok and missing.detail == "input_dir does not exist"
    (tmp_path / "notes.txt").write_text("x")
    no_users = by_source(probe_sources(options, tmp_path, {}))["export files"]
    assert not no_users.ok and no_users.detail.startswith("no user source: none of entra_users.csv")
    for name in ("entra_users.json", "mattermost_users.json", "ldap_users.ldif"):
        (tmp_path / name).write_text("not parsed")  # the probe only looks, it does not read
    files, dirs = expected_exports(options)
    row = by_source(probe_sources(options, tmp_path, {}))["export files"]
    assert row.ok and row.detail.startswith(f"3 of {len(files) + len(dirs)} expected files present")
    assert "absent:" in row.detail and "mattermost_config.json" in row.detail
    (tmp_path / "mattermost_config.json").mkdir()
    wrong_kind = by_source(probe_sources(options, tmp_path, {}))["export files"]
    assert not wrong_kind.ok and "is a directory; expected a file" in wrong_kind.detail
    live = expected_exports(SourceOptions(entra="graph", mattermost_url="https://chat.example.com",
                                          ldap=LdapOptions("ldaps://dc.example.com")))
    assert live == (("idp_metadata.xml", "msal_tokens.txt"), ("saml",))


def test_a_source_that_never_answers_times_out_alone(tmp_path, graph):
    with socket.socket() as silent:  # accepts TCP connections (the backlog) and never says a word
        silent.bind(("127.0.0.1", 0))
        silent.listen(8)
        url = f"http://127.0.0.1:{silent.getsockname()[1]}"
        env = {"RECONCILE_MATTERMOST_TOKEN": ADMIN_TOKEN, "RECONCILE_ENTRA_ACCESS_TOKEN": DEFAULT_TOKEN,
               "RECONCILE_GRAPH_BASE_URL": graph.base_url}
        results = probe_sources(SourceOptions(entra="graph", mattermost_url=url), tmp_path, env, timeout=1.5)
    rows = by_source(results)
    assert not rows["mattermost api"].ok and rows["mattermost api"].detail == "no answer within 1.5 s (timed out)"
    assert rows["graph users"].ok and rows["export files"].ok



def test_ldap_over_ldaps_and_starttls_and_an_untrusted_certificate(tmp_path, tls_slapd, reader_password_file):
    env = {"RECONCILE_LDAP_BIND_DN": READER_DN, "RECONCILE_LDAP_PASSWORD_FILE": str(reader_password_file)}
    trusted = {**env, "RECONCILE_LDAP_CA_FILE": str(tls_slapd.ca)}
    for url, channel in ((tls_slapd.ldaps_url, "over LDAPS"), (tls_slapd.url, "over StartTLS")):
        options = SourceOptions(ldap=LdapOptions(url, base_dn=BASE_DN, user_filter=USER_FILTER))
        row = by_source(probe_sources(options, tmp_path, trusted))["ldap"]
        assert row.ok and channel in row.detail, row.detail
    options = SourceOptions(ldap=LdapOptions(tls_slapd.ldaps_url, base_dn=BASE_DN, user_filter=USER_FILTER))
    untrusted = by_source(probe_sources(options, tmp_path, env))["ldap"]
    assert not untrusted.ok and "not trusted" in untrusted.detail and "RECONCILE_LDAP_CA_FILE" in untrusted.detail


def test_sources_test_command_reads_the_job_file_and_exits_3_when_a_source_fails(tmp_path):
    from click.testing import CliRunner

    from reconcile.cli import main

    token_file = tmp_path / "mm-token"
    token_file.write_text(ADMIN_TOKEN + "\n")
    job = tmp_path / "job.toml"
    with FakeMattermost(users=sample_users(3), config={"IntuneSettings": {"Enable": True}}) as mattermost:
        job.write_text(f'[sources.mattermost]\nurl = "{mattermost.url}"\ntoken = {{ file = "{token_file}" }}\n')
        good = CliRunner().invoke(main, ["sources", "test", "--job", str(job)])
        bad_file = tmp_path / "wrong-token"
        bad_file.write_text(USER_TOKEN)
        bad = CliRunner().invoke(main, ["sources", "test", "--job", str(job)],
                                 env={"RECONCILE_MATTERMOST_TOKEN_FILE": str(bad_file)})
        users_read = [r for r in mattermost.requests_to("/users") if r.query.get("per_page") != "1"]
    assert good.exit_code == 0, good.output
    assert "mattermost api" in good.stdout and "FAILED" not in good.stdout
    assert bad.exit_code == 3 and "FAILED" in bad.stdout and "system admin" in bad.stdout
    assert ADMIN_TOKEN not in good.output + bad.output and USER_TOKEN not in bad.output
    assert not users_read, "the probe reads no page of users in bulk"
