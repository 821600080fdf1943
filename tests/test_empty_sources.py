"""A source that should hold people but returned none is a failed source, not an empty population.

Zero LDAP entries, Entra users or Mattermost accounts means a wrong base DN, filter, tenant, server or
file; taken at its word it would turn every finding about those people into a pass (people flip from
at_risk to ready). Each case runs the real CLI: exit 4, the source named on stderr and in summary.json,
every rule needing it skipped with the reason, and the run stored as partial.
"""

from __future__ import annotations

import json
from pathlib import Path

import duckdb
import pytest
from click.testing import CliRunner
from ldap_server import BASE_DN, READER_DN, READER_PASSWORD, SLAPD, Slapd, directory_ldif, load_database, make_users
from pg_server import insert_mattermost_users, pg_cluster  # noqa: F401 (the session fixture)
from tenant import Tenant, config, entra_user, ldif_entry, mm_user, oid

from reconcile.cli import main
from reconcile.rules import load_rules

LDAP_ON = {"Enable": True, "BaseDN": BASE_DN, "UserFilter": "", "IdAttribute": "msDS-aadObjectId",
           "LoginIdAttribute": "sAMAccountName", "EmailAttribute": "mail"}
ENTRY = ldif_entry("CN=User1,OU=AADDC Users,DC=contoso,DC=com", userPrincipalName="user1@contoso.com",
                   msDS_aadObjectId=oid(1), sAMAccountName="user1", mail="user1@contoso.com")
TRAILER_ONLY = """\
# extended LDIF
#
# LDAPv3
# base <dc=contoso,dc=com> with scope subtree
# filter: (objectClass=user)
# requesting: ALL
#

# search result
search: 2
result: 0 Success

# numResponses: 1
"""


def _tenant(**changes) -> Tenant:
    """Two people with SAML accounts, LDAP enabled and its directory exported: a clean run (exit 0)."""
    values = {"entra": [entra_user(1), entra_user(2)], "mattermost": [mm_user(1), mm_user(2)],
              "config": config(LdapSettings=LDAP_ON), "ldif": ENTRY, **changes}
    return Tenant(**values)


def _audit(export: Path, out: Path, *options: str, env: dict | None = None):
    return CliRunner().invoke(main, ["audit", "--input-dir", str(export), "--output-dir", str(out),
                                     "--store", str(out.parent / "store.duckdb"), "-q", *options], env=env or {})


def _assert_failed(result, out: Path, failed: list[str], message: str) -> dict:
    """Exit 4, message on stderr and in summary.json, dependent rules skipped, the run stored as partial."""
    assert result.exit_code == 4, result.output
    stderr = " ".join(result.stderr.split())
    assert all(f"source failed: {name}: " in stderr for name in failed) and message in stderr
    summary = json.loads((out / "summary.json").read_text())
    assert summary["status"] == "partial"
    assert [f["name"] for f in summary["failed_inputs"]] == failed
    assert all(message in f["error"] for f in summary["failed_inputs"])
    inputs = {i["name"]: i for i in summary["inputs"]}
    assert all(inputs[name]["failed"] and not inputs[name]["available"] for name in failed)
    skipped = {s["rule_id"]: s["reason"] for s in summary["skipped_rules"]}
    needing = [rule.rule_id for rule in load_rules() if set(rule.depends_on) & set(failed)]
    assert needing and all(skipped.get(rule_id, "").startswith("source failed: ") for rule_id in needing)
    assert all(name in skipped[rule_id] for rule_id in needing for name in set(failed) & set(
        next(r.depends_on for r in load_rules() if r.rule_id == rule_id)))
    with duckdb.connect(str(out.parent / "store.duckdb"), read_only=True) as store:
        assert store.execute("SELECT status FROM runs").fetchall() == [("partial",)]
    return summary


def test_the_base_tenant_is_clean(tmp_path):
    """The near misses below start from here: nothing fails, so what fails there is the empty source."""
    result = _audit(_tenant().write(tmp_path / "export"), tmp_path / "out")
    assert result.exit_code == 0, result.output
    summary = json.loads((tmp_path / "out" / "summary.json").read_text())
    assert summary["status"] == "complete" and summary["failed_inputs"] == []
    assert {i["name"]: i["rows"] for i in summary["inputs"]}["ldap"] == 1


@pytest.mark.parametrize(("tenant", "failed", "message"), [
    (_tenant(ldif=""), ["ldap"],
     "ldap_users.ldif holds no entries; expected the users Mattermost syncs; LDAP counts as in use: "
     "LdapSettings.Enable is true"),
    (_tenant(ldif=TRAILER_ONLY), ["ldap"],
     'ldap_users.ldif holds no entries (ldapsearch base "dc=contoso,dc=com", filter "(objectClass=user)")'),
    (_tenant(ldif="", config=None), ["ldap"], "LDAP counts as in use: no Mattermost config says otherwise"),
    (_tenant(ldif="", config=config(), mattermost=[mm_user(1), mm_user(2, auth_service="ldap", auth_data="user2")]),
     ["ldap"], "LDAP counts as in use: 1 Mattermost account(s) sign in with ldap"),
    (_tenant(entra=[]), ["entra_users", "entra_licenses"],
     "entra_users.json holds no users; expected Graph's GET /v1.0/users output"),
    (_tenant(mattermost=[]), ["mattermost_users"],
     "mattermost_users.json holds no users; expected mmctl user list --all --json output"),
], ids=["0-byte ldif", "trailer-only ldif", "ldif without config", "ldif with ldap accounts", "entra json",
        "mattermost json"])
def test_empty_export_is_a_failed_source(tmp_path, tenant, failed, message):
    out = tmp_path / "out"
    _assert_failed(_audit(tenant.write(tmp_path / "export"), out), out, failed, message)


def test_empty_entra_csv_is_a_failed_source(tmp_path):
    export = _tenant(entra=None).write(tmp_path / "export")
    (export / "entra_users.csv").write_text("objectId,userPrincipalName,mail,accountEnabled,userType\n",
                                            encoding="utf-8-sig")
    out = tmp_path / "out"
    _assert_failed(_audit(export, out), out, ["entra_users", "entra_licenses"],
                   "entra_users.csv holds no users; expected the Entra admin center's Download users CSV")


@pytest.mark.parametrize("ldif", ["", "\n\n", "# nothing exported\n", TRAILER_ONLY], ids=["0-byte", "blank", "comment",
                                                                                         "trailer-only"])
def test_empty_ldif_is_only_noted_when_ldap_is_unused(tmp_path, ldif):
    """Near miss: LDAP disabled in the config and no account signing in with ldap: nothing to sync, no failure."""
    result = _audit(_tenant(ldif=ldif, config=config()).write(tmp_path / "export"), tmp_path / "out")
    assert result.exit_code == 0, result.output
    summary = json.loads((tmp_path / "out" / "summary.json").read_text())
    assert summary["status"] == "complete" and summary["failed_inputs"] == []
    ldap = {i["name"]: i for i in summary["inputs"]}["ldap"]
    assert ldap["available"] and not ldap["failed"] and ldap["rows"] == 0
    assert "holds no entries" in ldap["note"] and "not a failure: LDAP is not enabled" in ldap["note"]


def test_complete_ldif_without_final_newline_is_read_whole(tmp_path):
    two = ENTRY + ldif_entry("CN=User2,OU=AADDC Users,DC=contoso,DC=com", userPrincipalName="user2@contoso.com",
                             msDS_aadObjectId=oid(2), sAMAccountName="user2", mail="user2@contoso.com")
    result = _audit(_tenant(ldif=two.rstrip("\n")).write(tmp_path / "export"), tmp_path / "out")
    assert result.exit_code == 0, result.output
    summary = json.loads((tmp_path / "out" / "summary.json").read_text())
    assert {i["name"]: i["rows"] for i in summary["inputs"]}["ldap"] == 2


# --- live sources ------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def small_slapd(tmp_path_factory):
    """A directory of inetOrgPerson entries (not AD: no objectCategory, no class user)."""
    if not SLAPD.exists():
        pytest.skip(f"OpenLDAP's slapd is not installed ({SLAPD}); apt-get install slapd ldap-utils")
    users = make_users(40)
    data = load_database(tmp_path_factory.mktemp("empty-ldap"), directory_ldif(users))
    server = Slapd(tmp_path_factory.mktemp("empty-slapd") / "server", data).start()
    yield server, users
    server.stop()


def _ldap_env(tmp_path: Path) -> dict:
    (tmp_path / "pw").write_text(READER_PASSWORD)
    return {"RECONCILE_LDAP_BIND_DN": READER_DN, "RECONCILE_LDAP_PASSWORD_FILE": str(tmp_path / "pw")}


BUILT = "(&(mail=*)(sAMAccountName=*)(msDS-aadObjectId=*))"


@pytest.mark.parametrize(("options", "base", "search_filter"), [
    (["--ldap-base-dn", f"ou=service,{BASE_DN}"], f"ou=service,{BASE_DN}", BUILT),
    (["--ldap-filter", "(sAMAccountName=nobody)"], BASE_DN, "(sAMAccountName=nobody)"),
], ids=["base without users", "filter matching nothing"])
def test_live_ldap_search_with_no_entries_is_a_failed_source(tmp_path, small_slapd, options, base, search_filter):
    server, _ = small_slapd
    export = _tenant(ldif=None).write(tmp_path / "export")
    out = tmp_path / "out"
    result = _audit(export, out, "--ldap", server.url, "--ldap-insecure", *options, env=_ldap_env(tmp_path))
    summary = _assert_failed(result, out, ["ldap"], (
        f'LDAP search of {server.url} returned no entries (base DN "{base}", filter "{search_filter}"); expected '
        "the users Mattermost syncs: check the base DN, the filter and the bind account's read rights"))
    assert summary["failed_inputs"][0]["error"].endswith("LDAP counts as in use: LdapSettings.Enable is true")
    assert {i["name"]: i for i in summary["inputs"]}["ldap"]["file"] == server.url


def test_live_ldap_with_empty_user_filter_reads_what_mattermost_syncs(tmp_path, small_slapd):
    """UserFilter empty: the entries carrying the email, login id and id attributes, and the report says so."""
    server, users = small_slapd
    export = _tenant(ldif=None).write(tmp_path / "export")
    out = tmp_path / "out"
    result = CliRunner().invoke(main, ["audit", "--input-dir", str(export), "--output-dir", str(out),
                                       "--ldap", server.url, "--ldap-insecure"], env=_ldap_env(tmp_path))
    assert result.exit_code == 0, result.output
    expected = sum(1 for u in users if u.aad and u.mails)
    assert 0 < expected < len(users)
    ldap = {i["name"]: i for i in json.loads((out / "summary.json").read_text())["inputs"]}["ldap"]
    assert ldap["rows"] == expected
    note = (f'base DN "{BASE_DN}", filter "{BUILT}" (built from LdapSettings EmailAttribute, LoginIdAttribute, '
            "IdAttribute, as UserFilter is empty)")
    assert ldap["note"].startswith(note)
    assert note in " ".join(result.stdout.split()), "the console shows the filter too"


@pytest.mark.parametrize(("options", "call"), [((), "GET /users"), (("--incremental",), "GET /users/delta")],
                         ids=["full", "incremental"])
def test_graph_tenant_with_no_users_is_a_failed_source(tmp_path, options, call):
    from fake_graph import DEFAULT_TOKEN, FakeGraph

    export = _tenant(entra=None, config=config(IntuneSettings={"ClientId": "not-a-guid"})).write(tmp_path / "mm")
    out = tmp_path / "out"
    with FakeGraph.with_users([]) as graph:
        env = {"RECONCILE_ENTRA_ACCESS_TOKEN": DEFAULT_TOKEN, "RECONCILE_GRAPH_BASE_URL": graph.base_url}
        result = _audit(export, out, "--entra", "graph", *options, env=env)
    summary = _assert_failed(result, out, ["entra_users", "entra_licenses"],
                             f"Microsoft Graph {call} returned no users; a tenant always has users")
    with duckdb.connect(str(out.parent / "store.duckdb"), read_only=True) as store:
        assert store.execute("SELECT count(*) FROM graph_delta_state").fetchall() == [(0,)], "no delta link kept"
    assert {i["name"]: i for i in summary["inputs"]}["entra_users"]["file"] == "Microsoft Graph"


def test_mattermost_server_with_no_users_is_a_failed_source(tmp_path):
    from fake_mattermost import ADMIN_TOKEN, FakeMattermost

    tenant = _tenant()
    export = Tenant(entra=tenant.entra, mattermost=None, config=None, license=None, ldif=ENTRY).write(tmp_path / "x")
    out = tmp_path / "out"
    with FakeMattermost(users=[], config=tenant.config, license=tenant.license) as server:
        url = server.url
        result = _audit(export, out, "--mattermost-url", url, env={"RECONCILE_MATTERMOST_TOKEN": ADMIN_TOKEN})
    _assert_failed(result, out, ["mattermost_users"], f"{url} (Mattermost API) returned no users")


def test_mattermost_database_with_no_users_is_a_failed_source(tmp_path, pg_cluster):  # noqa: F811
    dsn = pg_cluster.create_database("mattermost_empty")
    assert insert_mattermost_users(dsn, []) == 0  # the schema, no rows
    export = _tenant(mattermost=None).write(tmp_path / "export")
    out = tmp_path / "out"
    result = _audit(export, out, env={"RECONCILE_MATTERMOST_DSN": dsn})
    _assert_failed(result, out, ["mattermost_users"], "Mattermost PostgreSQL database (read-only) returned no users")
