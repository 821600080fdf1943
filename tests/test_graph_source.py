"""The live Entra source: the real msgraph-sdk client over HTTP against the local fake Graph.

Nothing inside the SDK is mocked; what the tests control is the server (tests/fake_graph.py).
The only thing replaced anywhere is the module's ``_sleep`` in the one test that proves a
Retry-After beyond the SDK's 180 s limit is waited for, rather than sitting through 300 s.
"""

from __future__ import annotations

import itertools
import json
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from fake_graph import DEFAULT_TOKEN, FakeGraph
from staged import staged
from tenant import INTUNE_PLAN, entra_user, oid

from reconcile.errors import ExitCode
from reconcile.sources import graph
from reconcile.sources.app_registration import (
    application_rows,
    authorization_policy_row,
    grant_rows,
    service_principal_rows,
)
from reconcile.sources.entra import land_users
from reconcile.sources.graph import (
    USER_SELECT,
    DeltaExpired,
    GraphAuthError,
    GraphConfigError,
    GraphSettings,
    GraphSource,
    GraphSourceError,
    graph_settings_from_env,
)

REALWORLD = Path(__file__).parent / "realworld"
GROUP = "36f675cc-81e7-4ef5-a8e2-5d940ed90475"
CLIENT_APP = "0e1a4c3d-8f5b-4d2a-9c6e-7b8a9f0e1d2c"
MAM_APP = "0a5f63c0-b750-4f38-a71c-4fc0d58b89e2"
MOBILE_APP = "9ac649f1-4f77-44d6-9792-b2f54ab3c9a7"  # Mattermost Mobile (App Store)
CLIENT_SP = "5b7e8f1a-0c2d-4e3f-9a8b-1c2d3e4f5a6b"
MAM_SP = "9c8b7a6f-5e4d-4c3b-8a29-1f0e9d8c7b6a"

# msgraph-sdk and kiota warn about their own deprecated classes when their modules are imported
# (the warn() calls sit in class bodies); nothing here uses those classes.
pytestmark = [pytest.mark.filterwarnings("ignore::DeprecationWarning:msgraph"),
              pytest.mark.filterwarnings("ignore::DeprecationWarning:kiota_abstractions")]


@pytest.fixture
def fake() -> Iterator[FakeGraph]:
    with FakeGraph() as server:
        yield server


@pytest.fixture
def connect(fake: FakeGraph) -> Iterator[Callable[..., GraphSource]]:
    """GraphSource factory pointed at the fake (access-token credential), closed after the test."""
    opened: list[GraphSource] = []

    def make(token: str = DEFAULT_TOKEN, **kwargs) -> GraphSource:
        source = GraphSource(GraphSettings(None, None, access_token=token, base_url=fake.base_url), **kwargs)
        opened.append(source)
        return source

    yield make
    for source in opened:
        source.close()


def selected(user: dict) -> dict:
    return {prop: user.get(prop) for prop in USER_SELECT}


def without_where(records: list[dict]) -> list[dict]:
    return [{k: v for k, v in r.items() if k != "_where"} for r in records]


# --- full pulls -----------------------------------------------------------------------------------


def test_full_pull_across_pages_equals_the_tenant(fake, connect):
    for n in range(3000):
        fake.add_user(entra_user(n, jobTitle="Engineer", city="Oslo",
                                 onPremisesImmutableId="Hrz/HqNKnU+lCNTYHx9Ycw==" if n % 2 else None))
    pages: list[tuple[str, int]] = []
    got = list(connect(on_page=lambda kind, n: pages.append((kind, n))).users())

    assert without_where(got) == [selected(u) for u in fake.users.values()]  # selected properties only
    assert pages == [("users", 999), ("users", 999), ("users", 999), ("users", 3)]
    assert got[0]["_where"] == "graph: users page 1" and got[2000]["_where"] == "graph: users page 3"
    requests = fake.requests_to("/users")
    assert len(requests) == 4 and all(r.status == 200 for r in requests)
    assert requests[0].query == {"$select": ",".join(USER_SELECT), "$top": "999"}
    assert all("$skiptoken" in r.query for r in requests[1:])  # the nextLink was followed whole


def test_pulled_users_load_into_staging_like_the_export_files(fake, connect):
    fake.add_user(entra_user(1))
    fake.add_user(entra_user(2, otherMails=["Second@Fabrikam.example"], assignedPlans=[]))
    got = staged(lambda con: land_users(con, connect().users()), "entra_users", "entra_other_mails")
    rows = sorted(got["entra_users"], key=lambda r: r["object_id_norm"])
    assert [r["object_id_norm"] for r in rows] == [oid(1), oid(2)]
    assert rows[0]["intune_plan_status"] == "Enabled" and rows[1]["intune_plan_status"] == "none"
    assert got["entra_other_mails"] == [{"object_id_norm": oid(2), "email_lower": "second@fabrikam.example"}]
    assert rows[0]["source_ref"] == "graph: users page 1"


def test_group_members_send_consistency_level_and_count_on_every_page(fake, connect):
    for n in range(1500):
        fake.add_user(entra_user(n))
    fake.groups[GROUP] = [oid(n) for n in range(0, 1500, 1)]
    members = list(connect().group_members(GROUP.upper()))

    assert [m["id"] for m in members] == [oid(n) for n in range(1500)]
    assert set(members[0]) == {"@odata.type", "id", "displayName", "userPrincipalName", "mail", "_where"}
    assert members[-1]["_where"] == f"graph: group {GROUP} members page 2"
    requests = [r for r in fake.requests if r.route.startswith(f"/groups/{GROUP}/transitiveMembers")]
    assert len(requests) == 2 and all(r.status == 200 for r in requests)
    assert all(r.headers.get("consistencylevel") == "eventual" and r.query.get("$count") == "true"
               for r in requests)


def test_the_fake_rejects_the_cast_without_consistency_level(fake):
    """The fake is only useful if it refuses what Graph refuses."""
    fake.groups[GROUP] = []
    url = f"{fake.base_url}/groups/{GROUP}/transitiveMembers/microsoft.graph.user?$count=true"
    request = urllib.request.Request(url, headers={"Authorization": f"Bearer {DEFAULT_TOKEN}"})
    with pytest.raises(urllib.error.HTTPError) as raised:
        urllib.request.urlopen(request)
    assert raised.value.code == 400
    assert json.loads(raised.value.read())["error"]["code"] == "Request_UnsupportedQuery"
    too_big = urllib.request.Request(f"{fake.base_url}/users?$top=1000",
                                     headers={"Authorization": f"Bearer {DEFAULT_TOKEN}"})
    with pytest.raises(urllib.error.HTTPError) as raised:
        urllib.request.urlopen(too_big)
    assert raised.value.code == 400


# --- delta ----------------------------------------------------------------------------------------


def test_documented_delta_responses_parse_into_adds_changes_and_removals(fake, connect):
    """The GET /users/delta responses of the Graph documentation, served as recorded."""
    initial, final, changes = (json.loads((REALWORLD / f"graph-docs-users-delta-{name}-response.json").read_text())
                               for name in ("initial", "final-deltalink", "changes"))
    skiptoken = initial["@odata.nextLink"].split("$skiptoken=")[1]
    final_token = final["@odata.deltaLink"].split("$deltatoken=")[1]
    changes_token = changes["@odata.deltaLink"].split("$deltatoken=")[1]
    fake.serve_canned("/users/delta", initial)
    fake.serve_canned("/users/delta", final, token=skiptoken)
    fake.serve_canned("/users/delta", changes, token=final_token)
    source = connect()

    first = source.users_delta(None)
    records = list(first)
    assert [r["id"] for r in records if "@removed" not in r] == [
        "ffff7b1a-13b6-477b-8c0c-380905cd99f7", "605d1257-ffff-40b6-8e6f-528a53f5dc55",
        "6ea91a8d-e32e-41a1-b7bd-d2d185eed0e0", "25dcffff-959e-4ece-9973-e5d9b800e8cc",
        "f6ede700-27d0-4c42-bfb9-4dffff43c74a"]
    assert [(r["id"], r["@removed"]["reason"]) for r in records if "@removed" in r] == [
        ("86462606-fde0-4fc4-9e0c-a20eb73e54c6", "deleted")]
    assert records[0]["_where"] == "graph: users delta page 1" and records[-1]["_where"] == "graph: users delta page 2"
    assert first.delta_link == f"{fake.base_url}/users/delta?$deltatoken={final_token}"

    second = source.users_delta(first.delta_link)
    records = without_where(list(second))
    assert records == [
        {"displayName": "MOD Administrator", "givenName": "MOD", "surname": "Administrator",
         "id": "25dcffff-959e-4ece-9973-e5d9b800e8cc"},
        {"id": "8ffff70c-1c63-4860-b963-e34ec660931d", "@removed": {"reason": "changed"}}]
    assert second.delta_link == f"{fake.base_url}/users/delta?$deltatoken={changes_token}"


def test_a_delta_round_returns_exactly_what_changed(fake, connect):
    fake.delta_page_size = 7
    for n in range(40):
        fake.add_user(entra_user(n))
    source = connect()
    first = source.users_delta(None)
    iterator = iter(first)
    next(iterator)
    assert first.delta_link is None  # only once exhausted
    rest = list(iterator)
    assert len(rest) == 39 and first.delta_link is not None
    assert fake.requests_to("/users/delta")[0].query == {"$select": ",".join(USER_SELECT)}

    fake.add_user(entra_user(100))
    fake.add_user(entra_user(101, accountEnabled=False))
    fake.users[oid(3)]["mail"] = "renamed@contoso.com"
    fake.users[oid(4)]["accountEnabled"] = False
    fake.users[oid(4)]["assignedPlans"] = []
    fake.users[oid(5)]["jobTitle"] = "not selected, not a change"
    fake.remove_user(oid(6))
    fake.remove_user(oid(7), reason="changed")

    second = source.users_delta(first.delta_link)
    changes = {r["id"]: r for r in without_where(list(second))}
    assert changes == {
        oid(100): selected(fake.users[oid(100)]),
        oid(101): selected(fake.users[oid(101)]),
        oid(3): {"id": oid(3), "mail": "renamed@contoso.com"},
        oid(4): {"id": oid(4), "accountEnabled": False, "assignedPlans": []},
        oid(6): {"id": oid(6), "@removed": {"reason": "deleted"}},
        oid(7): {"id": oid(7), "@removed": {"reason": "changed"}},
    }
    third = source.users_delta(second.delta_link)
    assert list(third) == [] and third.delta_link not in (None, second.delta_link)
    with pytest.raises(RuntimeError):
        list(third)


@pytest.mark.parametrize(("status", "code"), [(400, "syncStateNotFound"), (410, "resyncRequired")])
def test_an_expired_delta_link_raises_delta_expired(fake, connect, status, code):
    fake.add_user(entra_user(1))
    source = connect()
    first = source.users_delta(None)
    list(first)
    fake.expire_delta_tokens(status=status, code=code)
    stale = source.users_delta(first.delta_link)
    with pytest.raises(DeltaExpired) as raised:
        list(stale)
    assert isinstance(raised.value, GraphSourceError) and raised.value.status == status
    assert "full pull" in str(raised.value) and stale.delta_link is None


def test_a_delta_link_for_another_host_is_not_followed(fake, connect):
    with pytest.raises(DeltaExpired, match="full pull"):
        list(connect().users_delta("https://graph.microsoft.com/v1.0/users/delta?$deltatoken=abc"))
    assert fake.requests == []


# --- throttling and failures ----------------------------------------------------------------------


def test_throttling_mid_pull_is_retried_after_retry_after(fake, connect):
    for n in range(2100):
        fake.add_user(entra_user(n))
    fake.fail_page("/users", page=2, status=429, times=2, retry_after="0.2")
    fake.fail_page("/users", page=3, status=503, times=1, retry_after="0.1")

    got = list(connect().users())

    assert len(got) == 2100
    page2 = [r for r in fake.requests_to("/users") if r.page == 2]
    assert [r.status for r in page2] == [429, 429, 200]
    assert all(later.started - earlier.finished >= 0.19 for earlier, later in itertools.pairwise(page2))
    assert [r.status for r in fake.requests_to("/users") if r.page == 3] == [503, 200]


def test_a_retry_after_beyond_the_sdk_limit_is_waited_for(fake, connect, monkeypatch):
    """The SDK's RetryHandler gives up on Retry-After >= 180 s; a nightly batch should wait."""
    waits: list[float] = []
    monkeypatch.setattr(graph, "_sleep", waits.append)
    fake.add_user(entra_user(1))
    fake.fail_page("/users", page=1, status=429, times=1, retry_after="300")
    assert len(list(connect().users())) == 1
    assert waits == [300.0]


def test_a_retry_after_beyond_max_retry_after_fails_at_once(fake, connect, monkeypatch):
    waits: list[float] = []
    monkeypatch.setattr(graph, "_sleep", waits.append)
    fake.add_user(entra_user(1))
    fake.fail_page("/users", page=1, status=429, times=None, retry_after="700")
    with pytest.raises(GraphSourceError, match="700 s"):
        list(connect(max_retry_after=600).users())
    assert waits == [] and len(fake.requests_to("/users")) == 1


def test_the_retry_budget_is_ours_and_then_the_source_fails(fake, connect):
    """max_retries=2 means three requests, not the SDK's own retries stacked on ours."""
    fake.add_user(entra_user(1))
    fault = fake.fail_page("/users", page=1, status=503, times=None, retry_after="0.01")
    with pytest.raises(GraphSourceError) as raised:
        list(connect(max_retries=2).users())
    assert fault.hits == 3 and raised.value.status == 503
    assert "HTTP 503" in str(raised.value) and "/users?$select=" in str(raised.value)
    assert raised.value.exit_code == ExitCode.INPUT_ERROR


def test_a_permanently_failing_page_raises_after_the_good_pages_streamed(fake, connect):
    for n in range(1200):
        fake.add_user(entra_user(n))
    fake.fail_page("/users", page=2, status=500, times=None)
    seen: list[dict] = []
    with pytest.raises(GraphSourceError) as raised:
        seen.extend(connect().users())
    assert len(seen) == 999  # page 1 was yielded before page 2 was requested
    message = str(raised.value)
    assert "graph: users page 2" in message and "HTTP 500" in message and "$skiptoken=" in message
    assert raised.value.url.startswith(fake.base_url)


# --- authorization --------------------------------------------------------------------------------


def test_a_bad_token_fails_the_probe_at_once(fake, connect):
    token = "eyJ0eXAiOiJKV1QiLCJhbGciOiJSUzI1NiJ9.not-a-token-we-issued"
    with pytest.raises(GraphAuthError) as raised:
        connect(token=token).probe()
    message = str(raised.value)
    assert len(fake.requests) == 1 and fake.requests[0].status == 401  # no retries, no second call
    assert raised.value.exit_code == ExitCode.INPUT_ERROR == 3
    assert "User.Read.All" in message and "RECONCILE_ENTRA_ACCESS_TOKEN" in message and "HTTP 401" in message
    assert token not in message and "not-a-token" not in message


def test_a_revoked_token_mid_pull_stops_instead_of_paging_errors(fake, connect):
    for n in range(2500):
        fake.add_user(entra_user(n))
    fake.fail_page("/users", page=2, status=401, times=None)
    with pytest.raises(GraphAuthError):
        list(connect().users())
    assert [r.page for r in fake.requests_to("/users")] == [1, 2]


@pytest.mark.parametrize(("call", "permission"), [
    (lambda s: list(s.users()), "User.Read.All"),
    (lambda s: s.probe(), "User.Read.All"),
    (lambda s: list(s.users_delta(None)), "User.Read.All"),
    (lambda s: list(s.group_members(GROUP)), "GroupMember.Read.All"),
    (lambda s: s.application(CLIENT_APP), "Application.Read.All"),
    (lambda s: s.service_principals([CLIENT_APP]), "Application.Read.All"),
    (lambda s: s.oauth2_permission_grants(CLIENT_SP), "DelegatedPermissionGrant.Read.All"),
    (lambda s: s.ios_app_protections(), "DeviceManagementApps.Read.All"),
])
def test_a_403_names_the_permission_the_call_needs(fake, connect, call, permission):
    fake.groups[GROUP] = []
    fake.grant_token("narrow", {"Calendars.Read"})
    with pytest.raises(GraphAuthError) as raised:
        call(connect(token="narrow"))
    assert permission in str(raised.value) and "HTTP 403" in str(raised.value)
    assert len(fake.requests) == 1


# --- app registration and Intune ------------------------------------------------------------------


def test_app_registration_objects_come_back_as_graph_dicts(fake, connect):
    fake.applications.append({
        "id": "7d2c4e1f-0000-4000-8000-000000000001", "appId": CLIENT_APP, "displayName": "Mattermost",
        "identifierUris": [f"api://{CLIENT_APP}"],
        "api": {"requestedAccessTokenVersion": 2, "oauth2PermissionScopes": [
            {"id": "2c2a9e8f-0000-4000-8000-000000000001", "value": "login.mattermost", "type": "User",
             "isEnabled": True}],
            "preAuthorizedApplications": [{"appId": MOBILE_APP.upper(),
                                           "delegatedPermissionIds": ["2C2A9E8F-0000-4000-8000-000000000001"]}]},
        "requiredResourceAccess": [{"resourceAppId": MAM_APP, "resourceAccess": [
            {"id": "2c2a9e8f-0000-4000-8000-000000000002", "type": "Scope"}]}]})
    fake.service_principals.extend([
        {"id": CLIENT_SP, "appId": CLIENT_APP, "displayName": "Mattermost", "oauth2PermissionScopes": []},
        {"id": MAM_SP, "appId": MAM_APP, "displayName": "Microsoft Mobile Application Management",
         "oauth2PermissionScopes": [{"id": "2c2a9e8f-0000-4000-8000-000000000002",
                                     "value": "user_impersonation"}]},
        {"id": "11111111-2222-4333-8444-555555555555", "appId": "22222222-2222-4222-8222-222222222222",
         "displayName": "Other"}])
    grant = {"id": "grant-1", "clientId": CLIENT_SP, "consentType": "AllPrincipals", "principalId": None,
             "resourceId": MAM_SP, "scope": "user_impersonation"}
    fake.grants.extend([grant, {**grant, "id": "grant-2", "clientId": MAM_SP}])
    source = connect()

    app = source.application(CLIENT_APP.upper())
    assert app["appId"] == CLIENT_APP and app["api"]["requestedAccessTokenVersion"] == 2
    row, access, scopes, preauthorized = application_rows(app)
    assert row[0] == CLIENT_APP and row[3] == 2 and row[5] == f"api://{CLIENT_APP}"
    assert access == [(MAM_APP, access[0][1], "Scope")]
    assert scopes == [("2c2a9e8f-0000-4000-8000-000000000001", "login.mattermost", True, "User")]
    assert preauthorized == [(MOBILE_APP, "2c2a9e8f-0000-4000-8000-000000000001")]
    assert source.application("33333333-3333-4333-8333-333333333333") is None

    sps = source.service_principals([CLIENT_APP, MAM_APP, CLIENT_APP])
    assert [sp["id"] for sp in sps] == [CLIENT_SP, MAM_SP]
    assert [scopes for _, scopes in service_principal_rows(sps)] == [
        [], [(MAM_SP, "2c2a9e8f-0000-4000-8000-000000000002", "user_impersonation")]]
    assert fake.requests_to("/servicePrincipals")[0].query["$filter"] == f"appId in ('{CLIENT_APP}','{MAM_APP}')"

    grants = source.oauth2_permission_grants(CLIENT_SP)
    assert without_where(grants) == [grant]
    assert next(grant_rows(grants))[:6] == ("grant-1", CLIENT_SP, "AllPrincipals", None, MAM_SP,
                                                       "user_impersonation")

    policy = source.authorization_policy()
    assert authorization_policy_row(policy)[:2] == (
        "limited", "ManagePermissionGrantsForSelf.microsoft-user-default-low")


def test_service_principal_lookups_are_split_into_fifteen_ids_per_filter(fake, connect):
    app_ids = [f"{n:08d}-0000-4000-8000-000000000000" for n in range(20)]
    fake.service_principals.extend({"id": oid(n), "appId": a} for n, a in enumerate(app_ids))
    assert len(connect().service_principals(app_ids)) == 20
    assert len(fake.requests_to("/servicePrincipals")) == 2


def test_ios_app_protection_policies_with_apps_and_assignments_across_pages(fake, connect):
    fake.default_top = 1
    for bundle, group in (("com.mattermost.rn", GROUP), ("com.mattermost.rnbeta", None)):
        fake.ios_policies.append({
            "id": f"T_{bundle}", "displayName": f"Policy {bundle}",
            "apps": [{"id": f"{bundle}.ios", "mobileAppIdentifier": {
                "@odata.type": "#microsoft.graph.iosMobileAppIdentifier", "bundleId": bundle}}],
            "assignments": [] if group is None else [{"id": "a1", "target": {
                "@odata.type": "#microsoft.graph.groupAssignmentTarget", "groupId": group}}]})
    policies = connect().ios_app_protections()
    assert [p["apps"][0]["mobileAppIdentifier"]["bundleId"] for p in policies] == [
        "com.mattermost.rn", "com.mattermost.rnbeta"]
    assert policies[0]["assignments"][0]["target"]["groupId"] == GROUP and policies[1]["assignments"] == []
    assert policies[1]["_where"] == "graph: iosManagedAppProtections page 2"
    requests = fake.requests_to("/deviceAppManagement/iosManagedAppProtections")
    assert len(requests) == 2 and all(r.query["$expand"] == "apps,assignments" for r in requests)


def test_ids_that_are_not_guids_are_refused_before_any_request(fake, connect):
    source = connect()
    with pytest.raises(GraphConfigError, match="not a GUID"):
        list(source.group_members("x') or true or ('"))
    with pytest.raises(GraphConfigError, match="not a GUID"):
        source.service_principals(["mattermost"])
    assert fake.requests == []


# --- settings and secrets -------------------------------------------------------------------------

SECRET = "s3cr3t~Q8Q~very-secret-value"
TOKEN = "eyJ0eXAiOiJKV1QiLCJub25jZSI6.secret-token-body"


def test_settings_from_env_require_exactly_one_credential(tmp_path):
    with pytest.raises(GraphConfigError) as raised:
        graph_settings_from_env({"RECONCILE_ENTRA_TENANT_ID": "t", "RECONCILE_ENTRA_CLIENT_ID": "c"})
    for name in graph.ENV_VARS:
        assert name in str(raised.value)
    assert raised.value.exit_code == ExitCode.INPUT_ERROR

    with pytest.raises(GraphConfigError) as raised:
        graph_settings_from_env({"RECONCILE_ENTRA_CLIENT_SECRET": SECRET, "RECONCILE_ENTRA_ACCESS_TOKEN": TOKEN})
    assert "exactly one" in str(raised.value)
    assert SECRET not in str(raised.value) and TOKEN not in str(raised.value)

    with pytest.raises(GraphConfigError) as raised:
        graph_settings_from_env({"RECONCILE_ENTRA_CLIENT_SECRET": SECRET, "RECONCILE_ENTRA_CLIENT_ID": "c"})
    assert "RECONCILE_ENTRA_TENANT_ID" in str(raised.value) and SECRET not in str(raised.value)

    with pytest.raises(GraphConfigError, match="not a readable file"):
        graph_settings_from_env({"RECONCILE_ENTRA_TENANT_ID": "t", "RECONCILE_ENTRA_CLIENT_ID": "c",
                                 "RECONCILE_ENTRA_CERTIFICATE_PATH": str(tmp_path / "missing.pem")})

    with pytest.raises(GraphConfigError, match="https"):
        graph_settings_from_env({"RECONCILE_ENTRA_ACCESS_TOKEN": TOKEN,
                                 "RECONCILE_GRAPH_BASE_URL": "http://graph.example.com/v1.0"})

    settings = graph_settings_from_env({"RECONCILE_ENTRA_TENANT_ID": "t", "RECONCILE_ENTRA_CLIENT_ID": "c",
                                        "RECONCILE_ENTRA_CLIENT_SECRET": SECRET,
                                        "RECONCILE_GRAPH_BASE_URL": "https://graph.microsoft.us/v1.0/"})
    assert settings.client_secret == SECRET and settings.base_url == "https://graph.microsoft.us/v1.0"
    token_only = graph_settings_from_env({"RECONCILE_ENTRA_ACCESS_TOKEN": TOKEN, "RECONCILE_ENTRA_CLIENT_ID": " "})
    assert token_only.access_token == TOKEN and token_only.client_id is None
    assert token_only.base_url == graph.DEFAULT_BASE_URL


def test_secrets_never_appear_in_repr():
    settings = GraphSettings("tenant", "client", client_secret=SECRET, access_token=TOKEN)
    assert SECRET not in repr(settings) and TOKEN not in repr(settings) and SECRET not in str(settings)
    source = GraphSource(GraphSettings("tenant", "client", client_secret=SECRET))  # builds; no request yet
    try:
        assert SECRET not in repr(source) and SECRET not in repr(source._credential)
    finally:
        source.close()


def test_secrets_never_appear_in_error_messages(fake, connect):
    fake.add_user(entra_user(1))
    with pytest.raises(GraphAuthError) as raised:
        list(connect(token=TOKEN).users())
    assert TOKEN not in str(raised.value)
    fake.grant_token(TOKEN, None)
    fake.fail_page("/users", page=1, status=500, times=None)
    with pytest.raises(GraphSourceError) as raised:
        list(connect(token=TOKEN).users())
    assert TOKEN not in str(raised.value) and TOKEN not in repr(raised.value)


@pytest.mark.parametrize(("base_url", "scope", "authority"), [
    ("https://graph.microsoft.com/v1.0", "https://graph.microsoft.com/.default", "login.microsoftonline.com"),
    ("https://graph.microsoft.us/v1.0", "https://graph.microsoft.us/.default", "login.microsoftonline.us"),
    ("https://microsoftgraph.chinacloudapi.cn/v1.0", "https://microsoftgraph.chinacloudapi.cn/.default",
     "login.chinacloudapi.cn"),
    ("http://127.0.0.1:8080/v1.0", "https://graph.microsoft.com/.default", "login.microsoftonline.com"),
])
def test_national_clouds_get_their_own_scope_and_authority(base_url, scope, authority):
    assert graph._scope_and_authority(base_url) == (scope, authority)


def test_a_plain_user_dict_from_the_fake_has_the_intune_plan(fake, connect):
    """Guard for the fixture language: entra_user's plan survives $select and the raw parse."""
    fake.add_user(entra_user(9))
    (user,) = connect().users()
    assert user["assignedPlans"] == [INTUNE_PLAN]


def test_default_credential_chain_is_a_credential_choice():
    from reconcile.sources.graph import GraphSource, graph_settings_from_env

    settings = graph_settings_from_env({"RECONCILE_ENTRA_CREDENTIAL": "default"})
    assert settings.default_credential and not settings.client_secret
    with GraphSource(settings) as source:
        assert type(source._make_credential()).__name__ == "DefaultAzureCredential"
    with pytest.raises(GraphConfigError, match="more than one"):
        graph_settings_from_env({"RECONCILE_ENTRA_CREDENTIAL": "default", "RECONCILE_ENTRA_ACCESS_TOKEN": "t"})
    with pytest.raises(GraphConfigError, match="only value it takes is 'default'"):
        graph_settings_from_env({"RECONCILE_ENTRA_CREDENTIAL": "managed"})


@pytest.mark.parametrize("kind", ["nextLink", "deltaLink"])
@pytest.mark.parametrize("where", ["another host", "another port", "user:password@ another host"])
def test_a_link_elsewhere_is_refused_and_the_token_never_sent_there(fake, connect, kind, where):
    """A page whose @odata.nextLink/deltaLink points anywhere but the configured Graph: the run
    stops the pull, and the other server (a real one on loopback) sees no request at all."""
    with FakeGraph() as other:
        host = {"another host": f"localhost:{other.port}", "another port": f"127.0.0.1:{other.port}",
                "user:password@ another host": f"admin:s3cret@localhost:{other.port}"}[where]
        link = f"http://{host}/v1.0/users?$skiptoken=x"
        route = "/users" if kind == "nextLink" else "/users/delta"
        fake.serve_canned(route, {"value": [entra_user(1)], f"@odata.{kind}": link})
        source = connect()
        with pytest.raises(GraphSourceError, match="link to another host") as raised:
            list(source.users()) if kind == "nextLink" else list(source.users_delta(None))
        assert other.requests == []
        assert "s3cret" not in str(raised.value)
