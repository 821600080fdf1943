"""Graph permissions checked before pulling (issue 13): the live Entra source reads the token's roles or
scp, skips each part it may not read with the permission and the app registration named, and the rules
that needed it are skipped with the same sentence, never reported as passing; the rest still runs.
The real CLI and msgraph-sdk against the fake Graph over HTTP; tokens are JWTs the fake accepts with
exactly the permissions their claims list (or opaque strings, where only a 403 can tell).
"""

from __future__ import annotations

import json

import pytest
from click.testing import CliRunner
from fake_graph import FakeGraph
from tenant import CLIENT_ID, Tenant, admin_consent, application, config, jwt, oid, service_principals
from test_audit_graph import GROUP, accounts, people, policy

from reconcile.cli import main
from reconcile.jwt_payload import claims_of as jwt_claims
from reconcile.permissions import grants_from_claims, requires_of, satisfied

ALL = ("User.Read.All", "GroupMember.Read.All", "Application.Read.All", "DelegatedPermissionGrant.Read.All",
       "Policy.Read.All", "DeviceManagementApps.Read.All")
READER_APP = "5e1f0000-0000-4000-8000-0000000000a1"   # the app registration reconcile signs in as
INTUNE_RULES = {"INTUNE_POLICY_MISSING", "INTUNE_POLICY_UNASSIGNED"}
# the registrations need the same permission (issue 15); ENROLLED_NOT_TARGETED also misses the policy
# groups' members here (no policy read, no group pulled), so its reason says both
OUTCOME_RULES = {"OUTCOME_FALSE_ALARM", "OUTCOME_ENROLLED_NOT_TARGETED"}
USER_RULES_THAT_FIRE = {"USER_AUTHDATA_IS_EMAIL", "USER_AUTHDATA_NOT_EXACT", "USER_INTUNE_UNLICENSED"}


@pytest.fixture
def tenant_graph():
    """The tenant of the Graph end-to-end tests (tests/test_audit_graph.py)."""
    fake = FakeGraph.with_users(people(), groups={GROUP: [oid(n) for n in range(1, 31)]},
                                applications=[application()], service_principals=service_principals(),
                                grants=[admin_consent()], ios_policies=[policy()])
    with fake:
        yield fake


def _app_token(graph: FakeGraph, roles: tuple[str, ...], **claims) -> str:
    token = jwt({"aud": "https://graph.microsoft.com", "appid": READER_APP, "idtyp": "app", "roles": list(roles),
                 **claims})
    graph.grant_token(token, roles)
    return token


def _audit(tmp_path, graph: FakeGraph, token: str, name: str = "out", **env: str):
    mm_only = Tenant(entra=None, mattermost=accounts(), config=config()).write(tmp_path / f"{name}-mm")
    result = CliRunner().invoke(main, ["audit", "--entra", "graph", "--input-dir", str(mm_only), "--output-dir",
                                       str(tmp_path / name), "-q"],
                                env={"RECONCILE_ENTRA_ACCESS_TOKEN": token, "RECONCILE_GRAPH_BASE_URL": graph.base_url,
                                     **env})
    summary_path = tmp_path / name / "summary.json"
    summary = json.loads(summary_path.read_text()) if summary_path.exists() else None
    return result, summary


def _skips(summary: dict) -> dict[str, str]:
    return {s["rule_id"]: s["reason"] for s in summary["skipped_rules"]}


def test_a_token_without_the_intune_permission_skips_exactly_the_policy_rules(tmp_path, tenant_graph):
    token = _app_token(tenant_graph, tuple(p for p in ALL if p != "DeviceManagementApps.Read.All"))
    result, summary = _audit(tmp_path, tenant_graph, token)
    assert result.exit_code == 4, result.output
    sentence = (f"needs Graph permission `DeviceManagementApps.Read.All` (application): grant it to the app "
                f"registration `{READER_APP}` and consent")
    skipped = _skips(summary)
    assert {rule for rule, reason in skipped.items() if reason == sentence} == INTUNE_RULES | {"OUTCOME_FALSE_ALARM"}
    assert skipped["OUTCOME_ENROLLED_NOT_TARGETED"] == sentence + "; missing input: entra_groups"
    assert not [reason for reason in skipped.values() if "permission" in reason and not reason.startswith(sentence)]
    assert {rule for rule, n in summary["findings_by_rule"].items() if n} >= USER_RULES_THAT_FIRE, \
        "the user rules still run"
    assert summary["status"] == "partial"
    [policies] = [i for i in summary["inputs"] if i["name"] == "intune_policies"]
    assert policies["failed"] and policies["note"] == sentence
    assert summary["missing_permissions"] == [{
        "permission": "DeviceManagementApps.Read.All", "type": "application",
        "needed_by": ["INTUNE_POLICY_MISSING", "INTUNE_POLICY_UNASSIGNED", "OUTCOME_ENROLLED_NOT_TARGETED",
                      "OUTCOME_FALSE_ALARM", "graph.intune_policies", "graph.intune_registrations"]}]
    assert not tenant_graph.requests_to("/deviceAppManagement/iosManagedAppProtections"), "not even asked"
    # the same sentence reaches the console
    assert "DeviceManagementApps.Read.All" in result.stderr


def test_near_miss_every_permission_granted_skips_nothing(tmp_path, tenant_graph):
    result, summary = _audit(tmp_path, tenant_graph, _app_token(tenant_graph, ALL))
    assert result.exit_code == 1, result.output
    assert summary["status"] == "complete" and summary["missing_permissions"] == []
    assert not [r for r in summary["skipped_rules"] if "permission" in r["reason"]]
    assert {r["rule_id"] for r in summary["rules"] if r["status"] == "ran"} >= INTUNE_RULES


def test_broader_permissions_satisfy_the_narrower_ones(tmp_path, tenant_graph):
    broad = ("Directory.Read.All", "Application.ReadWrite.All", "Policy.ReadWrite.Authorization",
             "DeviceManagementApps.ReadWrite.All")
    result, summary = _audit(tmp_path, tenant_graph, _app_token(tenant_graph, broad))
    assert result.exit_code == 1, result.output
    assert summary["status"] == "complete" and summary["missing_permissions"] == []
    # Directory.Read.All covers users, groups and grants; for an app-only token the reference does not list
    # it for reading an application (a delegated one may), and nothing but DeviceManagementApps grants the
    # Intune policies: the near misses
    assert satisfied("GroupMember.Read.All", {"Group.Read.All"})
    assert not satisfied("Application.Read.All", {"Directory.Read.All"}, "application")
    assert satisfied("Application.Read.All", {"Directory.Read.All"}, "delegated")
    assert not satisfied("DeviceManagementApps.Read.All", {"Directory.ReadWrite.All"})
    assert not satisfied("Policy.Read.All", {"Directory.Read.All"})


def test_a_delegated_token_is_read_from_scp_and_named_delegated(tmp_path, tenant_graph):
    scopes = tuple(p for p in ALL if p != "DeviceManagementApps.Read.All")
    token = jwt({"aud": "00000003-0000-0000-c000-000000000000", "azp": "04b07795-8ddb-461a-bbee-02f9e1bf7b46",
                 "scp": " ".join((*scopes, "openid", "profile")), "ver": "2.0"})
    tenant_graph.grant_token(token, scopes)
    result, summary = _audit(tmp_path, tenant_graph, token)
    assert result.exit_code == 4, result.output
    assert _skips(summary)["INTUNE_POLICY_MISSING"] == (
        "needs Graph permission `DeviceManagementApps.Read.All` (delegated): grant it to the app registration "
        "`04b07795-8ddb-461a-bbee-02f9e1bf7b46` and consent")
    assert summary["missing_permissions"][0]["type"] == "delegated"


def test_an_opaque_token_is_skipped_on_its_403_naming_the_calls_permission(tmp_path, tenant_graph):
    token = "opaque-token-without-the-intune-permission"
    tenant_graph.grant_token(token, tuple(p for p in ALL if p != "DeviceManagementApps.Read.All"))
    result, summary = _audit(tmp_path, tenant_graph, token, RECONCILE_ENTRA_CLIENT_ID=CLIENT_ID)
    assert result.exit_code == 4, result.output
    sentence = (f"needs Graph permission `DeviceManagementApps.Read.All` (application): grant it to the app "
                f"registration `{CLIENT_ID}` and consent")
    assert {rule for rule, reason in _skips(summary).items() if reason.startswith(sentence)} == \
        INTUNE_RULES | OUTCOME_RULES
    assert [r.status for r in tenant_graph.requests_to("/deviceAppManagement/iosManagedAppProtections")] == [403]
    assert summary["missing_permissions"][0]["needed_by"][-2:] == ["graph.intune_policies",
                                                                   "graph.intune_registrations"]


def test_a_jwt_claiming_a_permission_graph_refuses_is_skipped_on_the_403(tmp_path, tenant_graph):
    """Claims are read, not trusted: consent revoked after the token was issued still gives a 403."""
    token = jwt({"appid": READER_APP, "roles": list(ALL)})
    tenant_graph.grant_token(token, tuple(p for p in ALL if p != "DeviceManagementApps.Read.All"))
    result, summary = _audit(tmp_path, tenant_graph, token)
    assert result.exit_code == 4, result.output
    assert {r for r, why in _skips(summary).items() if "DeviceManagementApps.Read.All" in why} == \
        INTUNE_RULES | OUTCOME_RULES
    assert [r.status for r in tenant_graph.requests_to("/deviceAppManagement/iosManagedAppProtections")] == [403]


def test_no_permission_for_the_users_fails_the_entra_source_as_before(tmp_path, tenant_graph):
    token = _app_token(tenant_graph, tuple(p for p in ALL if p != "User.Read.All"))
    result, summary = _audit(tmp_path, tenant_graph, token)
    assert result.exit_code == 3, result.output
    assert "User.Read.All" in result.stderr and summary is None, "nothing written"


def test_directory_read_all_alone_does_not_read_the_app_registration_app_only(tmp_path, tenant_graph):
    token = _app_token(tenant_graph, ("Directory.Read.All", "Policy.Read.All", "DeviceManagementApps.Read.All"))
    result, summary = _audit(tmp_path, tenant_graph, token)
    assert result.exit_code == 4, result.output
    assert [m["permission"] for m in summary["missing_permissions"]] == ["Application.Read.All"]
    assert not [r for r in tenant_graph.requests if r.route.startswith("/applications")], "not asked"


def test_a_missing_grants_permission_skips_only_the_consent_check(tmp_path, tenant_graph):
    token = _app_token(tenant_graph, tuple(p for p in ALL if p != "DelegatedPermissionGrant.Read.All"))
    result, summary = _audit(tmp_path, tenant_graph, token)
    assert result.exit_code == 4, result.output
    skipped = {rule for rule, reason in _skips(summary).items() if "DelegatedPermissionGrant.Read.All" in reason}
    assert skipped == {"ENTRA_ADMIN_CONSENT_MISSING"}
    ran = {r["rule_id"] for r in summary["rules"] if r["status"] == "ran"}
    assert {"ENTRA_API_SCOPE_MISSING", "ENTRA_MOBILE_CLIENT_NOT_PREAUTHORIZED"} <= ran, "the app itself was read"


def test_claims_and_requires_headers():
    assert jwt_claims("not-a-jwt") is None and jwt_claims("a.b.c") is None
    claims = jwt_claims(jwt({"roles": ["User.Read.All"], "appid": READER_APP}))
    grants = grants_from_claims(claims)
    assert (grants.kind, grants.permissions, grants.app_id) == ("application", {"User.Read.All"}, READER_APP)
    assert grants_from_claims({"idtyp": "app"}, "configured").permissions == frozenset()
    assert grants_from_claims({"idtyp": "app"}, "configured").app_id == "configured"
    assert requires_of(["intune_policies"]) == "graph DeviceManagementApps.Read.All"
    assert requires_of(["entra_users", "mattermost_config"]) == "graph User.Read.All; mattermost manage_system"
    assert requires_of(["saml", "msal_tokens"]) == "none"
    listing = CliRunner().invoke(main, ["rules", "list"], env={"COLUMNS": "250"})
    line = next(row for row in listing.output.splitlines() if "INTUNE_POLICY_MISSING" in row)
    assert "DeviceManagementApps.Read.All" in line


def _sources_test(graph: FakeGraph, token: str, **env: str):
    return CliRunner().invoke(main, ["sources", "test", "--entra", "graph"],
                              env={"RECONCILE_ENTRA_ACCESS_TOKEN": token, "RECONCILE_GRAPH_BASE_URL": graph.base_url,
                                   "COLUMNS": "250", **env})


def _permission_lines(output: str) -> dict[str, str]:
    table = output.split("Microsoft Graph permissions")[1]
    return {p: next(line for line in table.splitlines() if f" {p} " in line) for p in ALL}


def test_sources_test_prints_who_needs_each_permission_and_whether_it_is_granted(tenant_graph):
    token = _app_token(tenant_graph, tuple(p for p in ALL if p != "DeviceManagementApps.Read.All"))
    result = _sources_test(tenant_graph, token)
    assert result.exit_code == 3, result.output  # the intune policies row fails: a source check failed
    lines = _permission_lines(result.stdout)
    intune = lines["DeviceManagementApps.Read.All"]
    assert "graph.intune_policies" in intune and "INTUNE_POLICY_MISSING" in intune
    assert intune.rstrip(" │").endswith("no")
    assert all(lines[p].rstrip(" │").endswith("yes") for p in ALL if p != "DeviceManagementApps.Read.All")
    assert "USER_AUTHDATA_IS_EMAIL" in lines["User.Read.All"]
    assert "missing Graph permission(s): DeviceManagementApps.Read.All" in result.stderr
    # an opaque token: the calls themselves decide (a 403 is "no")
    opaque = "opaque-probe-token"
    tenant_graph.grant_token(opaque, tuple(p for p in ALL if p != "Policy.Read.All"))
    lines = _permission_lines(_sources_test(tenant_graph, opaque).stdout)
    assert lines["Policy.Read.All"].rstrip(" │").endswith("no")
    assert lines["DeviceManagementApps.Read.All"].rstrip(" │").endswith("yes")
