"""`reconcile audit --entra graph` end to end: the real CLI and msgraph-sdk against the fake Graph.

The same tenant audited from Graph and from export files must give the same findings; a page that
keeps failing makes the run partial (exit 4) with no Entra-dependent findings; bad credentials stop
the run (exit 3) before anything is written.
"""

from __future__ import annotations

import csv
import json
from collections.abc import Iterator

import pytest
from click.testing import CliRunner
from fake_graph import DEFAULT_TOKEN, FakeGraph
from tenant import (
    BETA_APP_ID,
    CLIENT_ID,
    MAM_APP_ID,
    MOBILE_APP_ID,
    MOBILE_SP_ID,
    Tenant,
    admin_consent,
    application,
    config,
    entra_user,
    mm_user,
    oid,
    service_principals,
)

from reconcile.cli import main

GROUP = "0a000000-0000-4000-8000-00000000000a"
ENTRA_DEPENDENT = "entra_users"


def policy() -> dict:
    return {"@odata.type": "#microsoft.graph.iosManagedAppProtection", "id": "T_1", "displayName": "Mattermost",
            "apps": [{"id": "com.mattermost.rn.ios", "mobileAppIdentifier": {
                "@odata.type": "#microsoft.graph.iosMobileAppIdentifier", "bundleId": "com.mattermost.rn"}}],
            "assignments": [{"id": "a1", "target": {"@odata.type": "#microsoft.graph.groupAssignmentTarget",
                                                     "groupId": GROUP}}]}


def people() -> list[dict]:
    users = [entra_user(n) for n in range(1, 41)]
    users[3]["assignedPlans"] = []                         # unlicensed
    users[4]["accountEnabled"] = False                     # disabled
    return users


def accounts() -> list[dict]:
    mm = [mm_user(n) for n in range(1, 26)]                # 26..30 (targeted) unprovisioned
    mm[1]["auth_data"] = "user2@contoso.com"               # bound by email
    mm[2]["auth_data"] = oid(3).upper()                    # not exact
    mm.append(mm_user(99, auth_data="departed@contoso.com", email="departed@contoso.com"))
    return mm


@pytest.fixture
def graph() -> Iterator[FakeGraph]:
    fake = FakeGraph.with_users(people(), groups={GROUP: [oid(n) for n in range(1, 31)]},
                                applications=[application()], service_principals=service_principals(),
                                grants=[admin_consent()], ios_policies=[policy()])
    with fake:
        yield fake


def _env(graph: FakeGraph, token: str = DEFAULT_TOKEN) -> dict[str, str]:
    return {"RECONCILE_ENTRA_ACCESS_TOKEN": token, "RECONCILE_GRAPH_BASE_URL": graph.base_url}


def _run(args: list[str], env: dict[str, str] | None = None):
    return CliRunner().invoke(main, ["audit", *args, "-q"], env=env or {})


def _findings(out) -> list[tuple]:
    with (out / "findings.csv").open(encoding="utf-8-sig", newline="") as handle:
        # the findings themselves: run_id and the drift columns (new/persisting, first_seen) differ by run
        return sorted(tuple(v for k, v in row.items() if k not in ("run_id", "drift", "first_seen"))
                      for row in csv.DictReader(handle))


def test_graph_run_matches_the_all_files_run(tmp_path, graph):
    mm_only = Tenant(entra=None, mattermost=accounts(), config=config()).write(tmp_path / "mm")
    live = _run(["--entra", "graph", "--input-dir", str(mm_only), "--output-dir", str(tmp_path / "live")],
                _env(graph))
    assert live.exit_code == 1, live.output

    everything = Tenant(entra=people(), mattermost=accounts(), config=config(),
                        groups={GROUP: [{"id": oid(n), "userPrincipalName": f"user{n}@contoso.com"}
                                        for n in range(1, 31)]},
                        application=application(), service_principals=service_principals(),
                        grants=[admin_consent()], authorization_policy=graph.authorization_policy,
                        ).write(tmp_path / "files")
    (everything / "intune_ios_app_protections.json").write_text(json.dumps({"value": [policy()]}))
    files = _run(["--input-dir", str(everything), "--output-dir", str(tmp_path / "files-out")])
    assert files.exit_code == 1, files.output

    assert _findings(tmp_path / "live") == _findings(tmp_path / "files-out")
    summary = json.loads((tmp_path / "live" / "summary.json").read_text())
    assert summary["status"] == "complete"
    assert {s["rule_id"] for s in summary["skipped_rules"]} <= {
        "SAML_SIGNATURE_INVALID", "SAML_CAPTURE_CONDITIONS", "SAML_IDP_NOT_ENTRA", "SAML_IDATTRIBUTE_NOT_SENT",
        "USER_SAML_OBJECTID_MISSING", "USER_SAML_OBJECTID_MISMATCH", "USER_SAML_NAMEID_TRANSIENT",
        "USER_SAML_AUTHDATA_MISMATCH", "TOKEN_VERSION_1", "TOKEN_OID_MISSING", "TOKEN_TENANT_MISMATCH",
        "TOKEN_AUDIENCE_MISMATCH", "TOKEN_SCOPE_MISSING", "TOKEN_CLIENT_NOT_MOBILE", "USER_TOKEN_OID_MISMATCH",
        "MM_LICENSE_NOT_ADVANCED",
        "USER_LDAP_AADOBJECTID_MISSING", "USER_LDAP_AADOBJECTID_MISMATCH"}, "Entra rules all ran"
    fired = {k for k, v in summary["findings_by_rule"].items() if v}
    assert {"USER_AUTHDATA_IS_EMAIL", "USER_AUTHDATA_NOT_EXACT", "USER_INTUNE_UNLICENSED",
            "USER_SAML_UNPROVISIONED", "USER_NO_ENTRA_MATCH"} <= fired
    assert summary["targeting"] == ("the Mattermost iOS App Protection Policies in Microsoft Graph: "
                                    "iosManagedAppProtections: 1 included group(s)")
    group_requests = [r for r in graph.requests if "/transitiveMembers/" in r.route]
    assert group_requests and all(r.headers.get("consistencylevel") == "eventual" for r in group_requests)


def test_failing_users_page_makes_a_partial_run(tmp_path, graph):
    for n in range(100, 1200):  # more than one page of 999
        graph.add_user(entra_user(n))
    graph.fail_page("/users", 2, status=500, times=None)
    mm_only = Tenant(entra=None, mattermost=accounts(),
                     config=config(IntuneSettings={"ClientId": "not-a-guid"})).write(tmp_path / "mm")
    result = _run(["--entra", "graph", "--input-dir", str(mm_only), "--output-dir", str(tmp_path / "out")],
                  _env(graph))
    assert result.exit_code == 4, result.output
    summary = json.loads((tmp_path / "out" / "summary.json").read_text())
    assert summary["status"] == "partial"
    assert [f["name"] for f in summary["failed_inputs"]] == ["entra_users", "entra_licenses"]
    skipped = {s["rule_id"]: s["reason"] for s in summary["skipped_rules"]}
    assert skipped["USER_AUTHDATA_IS_EMAIL"] == "source failed: entra_users"
    findings = json.loads((tmp_path / "out" / "findings.json").read_text())
    assert {f["rule_id"] for f in findings} == {"MM_INTUNE_CONFIG_INVALID"}, "only findings that need no Entra users"
    assert {r["status"] for r in csv.DictReader((tmp_path / "out" / "readiness.csv").open(encoding="utf-8-sig"))} \
        <= {"not_evaluated", "will_fail"}


def test_bad_token_stops_before_anything_is_written(tmp_path, graph):
    mm_only = Tenant(entra=None, mattermost=accounts(), config=config()).write(tmp_path / "mm")
    result = _run(["--entra", "graph", "--input-dir", str(mm_only), "--output-dir", str(tmp_path / "out")],
                  _env(graph, token="expired-token"))
    assert result.exit_code == 3, result.output
    assert "expired-token" not in result.output
    assert not (tmp_path / "out").exists()
    assert len(graph.requests) <= 2, "the probe fails fast; no pages of 401s"


def test_missing_credentials_name_every_variable(tmp_path):
    mm_only = Tenant(entra=None, mattermost=accounts(), config=config()).write(tmp_path / "mm")
    result = _run(["--entra", "graph", "--input-dir", str(mm_only), "--output-dir", str(tmp_path / "out")], {})
    assert result.exit_code == 3
    for name in ("RECONCILE_ENTRA_CLIENT_SECRET", "RECONCILE_ENTRA_CERTIFICATE_PATH", "RECONCILE_ENTRA_ACCESS_TOKEN"):
        assert name in " ".join(result.output.split())


def test_app_id_defaults_to_intune_client_id(tmp_path, graph):
    mm_only = Tenant(entra=None, mattermost=accounts(), config=config()).write(tmp_path / "mm")
    _run(["--entra", "graph", "--input-dir", str(mm_only), "--output-dir", str(tmp_path / "out")], _env(graph))
    assert graph.requests_to(f"/applications(appId='{CLIENT_ID}')")


def test_live_pull_reads_the_two_app_model(tmp_path, graph):
    """Service principals of the server API app, both Mattermost Mobile ids (and --mobile-client-id)
    and MAM in one filter; grants of the Mattermost Mobile service principal found; the consent
    setting read from the authorization policy."""
    own = "7a7a7a7a-0000-4000-8000-000000000001"
    mm_only = Tenant(entra=None, mattermost=accounts(), config=config()).write(tmp_path / "mm")
    graph.authorization_policy["defaultUserRolePermissions"]["permissionGrantPoliciesAssigned"] = []
    graph.applications[0]["api"]["preAuthorizedApplications"] = []
    _run(["--entra", "graph", "--mobile-client-id", own, "--input-dir", str(mm_only),
          "--output-dir", str(tmp_path / "out")], _env(graph))
    sp_filter = graph.requests_to("/servicePrincipals")[0].query["$filter"]
    for app_id in (CLIENT_ID, MOBILE_APP_ID, BETA_APP_ID, own, MAM_APP_ID):
        assert f"'{app_id}'" in sp_filter
    assert [r.query["$filter"] for r in graph.requests_to("/oauth2PermissionGrants")] == [
        f"clientId eq '{MOBILE_SP_ID}'"]
    findings = json.loads((tmp_path / "out" / "findings.json").read_text())
    consent = [f["observed"] for f in findings if f["rule_id"] == "ENTRA_ADMIN_CONSENT_MISSING"]
    assert consent == [f"Mattermost Mobile ({own}): no service principal in this tenant: no admin has consented yet"], \
        "the App Store app has its consent; the build given with --mobile-client-id has none"
    [row] = [f for f in findings if f["rule_id"] == "ENTRA_MOBILE_CLIENT_NOT_PREAUTHORIZED"]
    assert row["severity"] == "blocking" and "user consent disabled" in row["observed"]


def test_authorization_policy_without_permission_is_skipped_naming_it(tmp_path, graph):
    """An opaque token refused Policy.Read.All: the part is skipped with what to grant, the run partial
    (issue 13), and every other part and rule still runs."""
    graph.grant_token(DEFAULT_TOKEN, {"User.Read.All", "GroupMember.Read.All", "Application.Read.All",
                                      "DelegatedPermissionGrant.Read.All", "DeviceManagementApps.Read.All"})
    mm_only = Tenant(entra=None, mattermost=accounts(), config=config()).write(tmp_path / "mm")
    result = _run(["--entra", "graph", "--input-dir", str(mm_only), "--output-dir", str(tmp_path / "out")],
                  _env(graph))
    assert result.exit_code == 4, result.output
    summary = json.loads((tmp_path / "out" / "summary.json").read_text())
    assert summary["status"] == "partial"
    assert not [r for r in summary["skipped_rules"] if "permission" in r["reason"]], "no rule reads it alone"
    [policy] = [i for i in summary["inputs"] if i["name"] == "entra_authorization_policy"]
    assert not policy["available"] and policy["failed"]
    assert policy["note"] == ("needs Graph permission `Policy.Read.All` (application): grant it to the app "
                              "registration the token was issued to and consent")
    assert summary["missing_permissions"] == [{"permission": "Policy.Read.All", "type": "application",
                                               "needed_by": ["graph.entra_authorization_policy"]}]


def _incremental(graph, export, out, store, *extra):
    return _run(["--entra", "graph", "--incremental", *extra, "--input-dir", str(export), "--output-dir", str(out),
                 "--store", str(store)], _env(graph))


def test_delta_round_ends_with_the_findings_of_a_full_pull(tmp_path, graph):
    export = Tenant(entra=None, mattermost=accounts(), config=config()).write(tmp_path / "mm")
    store = tmp_path / "store.duckdb"
    first = _incremental(graph, export, tmp_path / "night1", store)
    assert first.exit_code == 1, first.output
    night1 = json.loads((tmp_path / "night1" / "summary.json").read_text())
    users = next(i for i in night1["inputs"] if i["name"] == "entra_users")
    assert users["note"] == "first incremental run: full delta round" and users["rows"] == 40

    changed = dict(graph.users[oid(6)], mail="someone.else@contoso.com", assignedPlans=[])  # changes
    graph.add_user(changed)
    graph.add_user(entra_user(41))                                                        # an add
    graph.remove_user(oid(7), reason="deleted")                                           # a removal
    second = _incremental(graph, export, tmp_path / "night2", store)
    assert second.exit_code == 1, second.output
    night2 = json.loads((tmp_path / "night2" / "summary.json").read_text())
    users = next(i for i in night2["inputs"] if i["name"] == "entra_users")
    assert users["note"].startswith("incremental: 2 added or changed, 1 removed since run ")
    assert users["rows"] == 40
    assert night2["changes_since_previous"]["new"] > 0

    full = _run(["--entra", "graph", "--input-dir", str(export), "--output-dir", str(tmp_path / "full"),
                 "--store", str(tmp_path / "other.duckdb")], _env(graph))
    assert full.exit_code == 1
    assert _findings(tmp_path / "night2") == _findings(tmp_path / "full")
    delta_requests = graph.requests_to("/users/delta")
    assert any("$deltatoken" in r.query for r in delta_requests), "the second night used the stored delta link"


def test_rejected_delta_link_falls_back_to_a_full_pull(tmp_path, graph):
    export = Tenant(entra=None, mattermost=accounts(), config=config()).write(tmp_path / "mm")
    store = tmp_path / "store.duckdb"
    assert _incremental(graph, export, tmp_path / "n1", store).exit_code == 1
    graph.expire_delta_tokens()
    assert _incremental(graph, export, tmp_path / "n2", store).exit_code == 1
    summary = json.loads((tmp_path / "n2" / "summary.json").read_text())
    users = next(i for i in summary["inputs"] if i["name"] == "entra_users")
    assert users["note"].startswith("the stored delta link was rejected") and users["rows"] == 40
    assert _findings(tmp_path / "n1") == _findings(tmp_path / "n2")


def test_partial_run_does_not_save_its_delta_link(tmp_path, graph):
    import duckdb

    export = Tenant(entra=None, mattermost=accounts(), config=config()).write(tmp_path / "mm")
    store = tmp_path / "store.duckdb"
    for cast in ("graph.user", "microsoft.graph.user"):  # the SDK writes the short cast
        graph.fail_page(f"/groups/{GROUP}/transitiveMembers/{cast}", 1, status=500, times=None)
    assert _incremental(graph, export, tmp_path / "n1", store).exit_code == 4
    with duckdb.connect(str(store), read_only=True) as con:
        assert con.execute("SELECT count(*) FROM graph_delta_state").fetchall() == [(0,)]
        assert con.execute("SELECT status FROM runs").fetchall() == [("partial",)]


def test_incremental_needs_graph(tmp_path):
    export = Tenant(entra=None, mattermost=accounts(), config=config()).write(tmp_path / "mm")
    assert _run(["--incremental", "--input-dir", str(export)]).exit_code == 2
