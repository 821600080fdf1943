"""The Entra side of the two-app model: each rule fires on a broken tenant and not on its near miss.

The fixtures in tests/tenant.py are shaped as Graph returns them: the server API app registration
(``GET /applications(appId=...)``), the service principals of it, of Mattermost Mobile and of
Microsoft Mobile Application Management, the consent grants and the authorization policy.
"""

from __future__ import annotations

import pytest
from tenant import (
    BETA_APP_ID,
    CLIENT_ID,
    CLIENT_SP_ID,
    MAM_APP_ID,
    MOBILE_APP_ID,
    MOBILE_SP_ID,
    Tenant,
    admin_consent,
    api,
    application,
    audit,
    authorization_policy,
    config,
    entra_user,
    jwt,
    login_scope,
    mm_user,
    oid,
    service_principals,
    v2_claims,
)

APP_RULES = {"ENTRA_TOKEN_VERSION", "ENTRA_API_SCOPE_MISSING", "ENTRA_MOBILE_CLIENT_NOT_PREAUTHORIZED",
             "ENTRA_ADMIN_CONSENT_MISSING", "MM_INTUNE_CLIENT_MISMATCH"}
ENTRA_LICENCE_TOKEN = APP_RULES | {"MM_LICENSE_NOT_ADVANCED"} | {
    "TOKEN_VERSION_1", "TOKEN_OID_MISSING", "TOKEN_TENANT_MISMATCH", "TOKEN_AUDIENCE_MISMATCH",
    "TOKEN_SCOPE_MISSING", "TOKEN_CLIENT_NOT_MOBILE", "USER_TOKEN_OID_MISMATCH"}
USER_CONSENT_LEGACY = "ManagePermissionGrantsForSelf.microsoft-user-default-legacy"


def _audit(tmp_path, app=None, sps=None, grants=None, cfg=None, policy=None, **kwargs):
    tenant = Tenant(entra=[entra_user(1)], mattermost=[mm_user(1)], config=cfg or config(),
                    application=app if app is not None else application(),
                    service_principals=sps if sps is not None else service_principals(),
                    grants=grants if grants is not None else [admin_consent()],
                    authorization_policy=policy)
    return audit(tenant, tmp_path, **kwargs)


def test_correct_two_app_tenant_with_an_entry_licence_has_no_entra_licence_or_token_finding(tmp_path):
    tenant = Tenant(entra=[entra_user(1)], mattermost=[mm_user(1)], config=config(),
                    license={"IsLicensed": "true", "SkuShortName": "entry", "SkuName": "Mattermost Entry",
                             "ExpiresAt": "4102444800000"},
                    application=application(), service_principals=service_principals(), grants=[admin_consent()],
                    authorization_policy=authorization_policy(), tokens=[jwt(v2_claims(1))])
    outcome = audit(tenant, tmp_path)
    assert outcome.fired() & ENTRA_LICENCE_TOKEN == set()
    assert outcome.status_of(oid(1)) == "ready"
    ran = {r["rule_id"] for r in outcome.result.summary["rules"] if r["status"] == "ran"}
    assert ran >= ENTRA_LICENCE_TOKEN, "every one of them was judged, none skipped"


def test_a_tenant_that_followed_the_older_single_app_instructions_is_not_an_error(tmp_path):
    """The retired ENTRA_MAM_PERMISSION_MISSING: the server API app does not need the MAM permission,
    and one that still lists it is fine."""
    app = application(requiredResourceAccess=[{"resourceAppId": MAM_APP_ID, "resourceAccess": [
        {"id": "9b1b1e42-794b-4c8c-8c7f-c2ba6b4f3f9d", "type": "Scope"}]}])
    assert _audit(tmp_path / "with", app=app).fired() & APP_RULES == set()
    assert _audit(tmp_path / "without", app=application(requiredResourceAccess=[])).fired() & APP_RULES == set()
    assert "ENTRA_MAM_PERMISSION_MISSING" not in {r["rule_id"] for r in _audit(tmp_path / "x").result.summary["rules"]}


def test_null_token_version_means_1(tmp_path):
    outcome = _audit(tmp_path, app=application(api=api(requestedAccessTokenVersion=None)))
    [row] = outcome.rule("ENTRA_TOKEN_VERSION")
    assert row["subject_type"] == "tenant"
    assert row["observed"].endswith("api.requestedAccessTokenVersion = null (means 1)")
    assert outcome.status_of(oid(1)) == "will_fail", "a tenant finding concerns everyone"


def test_token_version_1(tmp_path):
    outcome = _audit(tmp_path, app=application(api=api(requestedAccessTokenVersion=1)))
    assert len(outcome.rule("ENTRA_TOKEN_VERSION")) == 1


# --- ENTRA_API_SCOPE_MISSING -------------------------------------------------------------------


def test_api_scope_missing_names_the_identifier_uri(tmp_path):
    outcome = _audit(tmp_path, app=application(identifierUris=["https://contoso.com/mattermost"]))
    [row] = outcome.rule("ENTRA_API_SCOPE_MISSING")
    assert f"api://{CLIENT_ID} is missing" in row["observed"]
    assert "https://contoso.com/mattermost" in row["observed"]
    assert outcome.status_of(oid(1)) == "will_fail"


def test_api_scope_missing_names_the_scope(tmp_path):
    scopes = [login_scope(value="access_as_user")]
    outcome = _audit(tmp_path, app=application(api=api(oauth2PermissionScopes=scopes)))
    [row] = outcome.rule("ENTRA_API_SCOPE_MISSING")
    assert "no enabled delegated scope login.mattermost" in row["observed"]
    assert "access_as_user" in row["observed"]


def test_a_disabled_login_scope_is_missing(tmp_path):
    outcome = _audit(tmp_path, app=application(api=api(oauth2PermissionScopes=[login_scope(isEnabled=False)])))
    [row] = outcome.rule("ENTRA_API_SCOPE_MISSING")
    assert "login.mattermost (disabled)" in row["observed"]


def test_both_scope_problems_are_reported(tmp_path):
    app = application(identifierUris=[], api=api(oauth2PermissionScopes=[]))
    assert len(_audit(tmp_path, app=app).rule("ENTRA_API_SCOPE_MISSING")) == 2


def test_api_scope_near_misses(tmp_path):
    """Entra compares identifier URIs and scope values case-insensitively; other URIs may sit beside it."""
    app = application(identifierUris=["https://contoso.com/mm", f"API://{CLIENT_ID.upper()}/"],
                      api=api(oauth2PermissionScopes=[login_scope(id="0f0f0f0f-0000-4000-8000-000000000001",
                                                                  value="other"),
                                                      login_scope(value="Login.Mattermost")]))
    assert "ENTRA_API_SCOPE_MISSING" not in _audit(tmp_path, app=app).fired()


# --- ENTRA_MOBILE_CLIENT_NOT_PREAUTHORIZED -------------------------------------------------------


def test_not_preauthorized_is_a_warning_when_users_may_consent(tmp_path):
    app = application(api=api(preAuthorizedApplications=[]))
    outcome = _audit(tmp_path, app=app, policy=authorization_policy(USER_CONSENT_LEGACY))
    [row] = outcome.rule("ENTRA_MOBILE_CLIENT_NOT_PREAUTHORIZED")
    assert row["severity"] == "warning"
    assert "user consent enabled" in row["observed"]
    assert MOBILE_APP_ID in row["expected"]
    assert outcome.status_of(oid(1)) == "ready", "a tenant warning does not put everyone at risk"


def test_not_preauthorized_is_blocking_when_user_consent_is_disabled(tmp_path):
    app = application(api=api(preAuthorizedApplications=[]))
    outcome = _audit(tmp_path, app=app, policy=authorization_policy())
    [row] = outcome.rule("ENTRA_MOBILE_CLIENT_NOT_PREAUTHORIZED")
    assert row["severity"] == "blocking"
    assert "user consent disabled" in row["observed"]
    assert outcome.status_of(oid(1)) == "will_fail"
    assert outcome.result.summary["findings_by_severity"]["blocking"] >= 1


def test_not_preauthorized_says_when_the_consent_setting_was_not_read(tmp_path):
    outcome = _audit(tmp_path, app=application(api=api(preAuthorizedApplications=[])))
    [row] = outcome.rule("ENTRA_MOBILE_CLIENT_NOT_PREAUTHORIZED")
    assert row["severity"] == "warning"
    assert "was not read" in row["observed"]


def test_limited_user_consent_stays_a_warning(tmp_path):
    app = application(api=api(preAuthorizedApplications=[]))
    policy = authorization_policy("ManagePermissionGrantsForSelf.microsoft-user-default-low")
    [row] = _audit(tmp_path, app=app, policy=policy).rule("ENTRA_MOBILE_CLIENT_NOT_PREAUTHORIZED")
    assert row["severity"] == "warning" and "user consent limited" in row["observed"]


def test_a_client_that_is_not_mattermost_mobile_does_not_count(tmp_path):
    """Pre-authorizing some other client (a test app) is not pre-authorizing the mobile app."""
    other = [{"appId": "04b07795-8ddb-461a-bbee-02f9e1bf7b46", "delegatedPermissionIds": [login_scope()["id"]]}]
    outcome = _audit(tmp_path, app=application(api=api(preAuthorizedApplications=other)))
    assert len(outcome.rule("ENTRA_MOBILE_CLIENT_NOT_PREAUTHORIZED")) == 1


def test_preauthorized_for_another_scope_does_not_count(tmp_path):
    scopes = [login_scope(), login_scope(id="0f0f0f0f-0000-4000-8000-000000000001", value="other")]
    pre = [{"appId": MOBILE_APP_ID, "delegatedPermissionIds": ["0f0f0f0f-0000-4000-8000-000000000001"]}]
    outcome = _audit(tmp_path, app=application(api=api(oauth2PermissionScopes=scopes,
                                                       preAuthorizedApplications=pre)))
    assert len(outcome.rule("ENTRA_MOBILE_CLIENT_NOT_PREAUTHORIZED")) == 1


def test_preauthorization_near_misses(tmp_path):
    """The beta id alone, an id given with --mobile-client-id, the manifest's older permissionIds
    key, or an admin's tenant-wide grant of login.mattermost: no prompt, no finding."""
    beta = [{"appId": BETA_APP_ID.upper(), "delegatedPermissionIds": [login_scope()["id"]]}]
    assert "ENTRA_MOBILE_CLIENT_NOT_PREAUTHORIZED" not in _audit(
        tmp_path / "beta", app=application(api=api(preAuthorizedApplications=beta))).fired()
    own = "7a7a7a7a-0000-4000-8000-000000000001"
    manifest = [{"appId": own, "permissionIds": [login_scope()["id"]]}]
    from reconcile.sources.base import TargetingOptions
    outcome = _audit(tmp_path / "own", app=application(api=api(preAuthorizedApplications=manifest)),
                     targeting=TargetingOptions(mobile_client_ids=(own,)))
    assert "ENTRA_MOBILE_CLIENT_NOT_PREAUTHORIZED" not in outcome.fired()
    granted = [admin_consent(), admin_consent(id="grant-2", resourceId=CLIENT_SP_ID, scope="login.mattermost")]
    outcome = _audit(tmp_path / "granted", app=application(api=api(preAuthorizedApplications=[])), grants=granted,
                     policy=authorization_policy())
    assert "ENTRA_MOBILE_CLIENT_NOT_PREAUTHORIZED" not in outcome.fired()


# --- ENTRA_ADMIN_CONSENT_MISSING ---------------------------------------------------------------


def test_consent_with_the_other_scope_name(tmp_path):
    outcome = _audit(tmp_path, grants=[admin_consent(scope="openid DeviceManagementManagedApps.ReadWrite")])
    assert "ENTRA_ADMIN_CONSENT_MISSING" not in outcome.fired()


@pytest.mark.parametrize(("grants", "name"), [
    ([admin_consent(consentType="Principal", principalId="5c1e2d3f-0000-4000-8000-0000000000cc")], "per-user only"),
    ([admin_consent(resourceId="5c1e2d3f-0000-4000-8000-0000000000dd")], "to another resource"),
    ([admin_consent(scope="openid profile")], "without the scope"),
    ([admin_consent(clientId=CLIENT_SP_ID)], "from the server API app (the single-app model)"),
    ([], "no grant"),
])
def test_consent_missing_variants(tmp_path, grants, name):
    outcome = _audit(tmp_path, grants=grants)
    [row] = outcome.rule("ENTRA_ADMIN_CONSENT_MISSING")
    assert "no AllPrincipals grant with user_impersonation" in row["observed"], name
    assert MOBILE_APP_ID in row["observed"]


def test_no_mattermost_mobile_service_principal_means_no_admin_has_consented(tmp_path):
    sps = [sp for sp in service_principals() if sp["id"] != MOBILE_SP_ID]
    outcome = _audit(tmp_path, sps=sps, grants=[])
    [row] = outcome.rule("ENTRA_ADMIN_CONSENT_MISSING")
    assert "no service principal in this tenant: no admin has consented yet" in row["observed"]
    assert "sign in to the Mattermost mobile app first" in row["remediation"]
    assert outcome.status_of(oid(1)) == "will_fail"


def test_no_mam_service_principal_is_named(tmp_path):
    sps = [sp for sp in service_principals() if sp["appId"] != MAM_APP_ID]
    [row] = _audit(tmp_path, sps=sps).rule("ENTRA_ADMIN_CONSENT_MISSING")
    assert "no Microsoft Mobile Application Management service principal" in row["observed"]


def test_each_deployed_app_needs_its_consent(tmp_path):
    """Deploying the beta too (--ios-bundle-id com.mattermost.rnbeta) needs the beta app's consent."""
    from reconcile.sources.base import TargetingOptions
    both = TargetingOptions(ios_bundle_ids=("com.mattermost.rn", "com.mattermost.rnbeta"))
    outcome = _audit(tmp_path / "a", targeting=both)
    [row] = outcome.rule("ENTRA_ADMIN_CONSENT_MISSING")
    assert BETA_APP_ID in row["observed"] and "com.mattermost.rnbeta" in row["observed"]
    beta_sp = {"id": "5c1e2d3f-0000-4000-8000-0000000000be", "appId": BETA_APP_ID,
               "displayName": "Mattermost Mobile Beta", "servicePrincipalType": "Application"}
    outcome = _audit(tmp_path / "b", sps=[*service_principals(), beta_sp], targeting=both,
                     grants=[admin_consent(), admin_consent(id="grant-b", clientId=beta_sp["id"])])
    assert "ENTRA_ADMIN_CONSENT_MISSING" not in outcome.fired()


# --- MM_INTUNE_CLIENT_MISMATCH and the order of errors -------------------------------------------


def test_client_id_mismatch(tmp_path):
    cfg = config(IntuneSettings={"ClientId": "0e1a4c3d-0000-4000-8000-000000000bad"})
    outcome = _audit(tmp_path, cfg=cfg)
    [row] = outcome.rule("MM_INTUNE_CLIENT_MISMATCH")
    assert row["expected"] == CLIENT_ID


def test_client_id_case_is_not_a_mismatch(tmp_path):
    outcome = _audit(tmp_path, cfg=config(IntuneSettings={"ClientId": CLIENT_ID.upper()}))
    assert "MM_INTUNE_CLIENT_MISMATCH" not in outcome.fired()


def test_app_rules_skipped_without_the_exports(tmp_path):
    outcome = audit(Tenant(entra=[entra_user(1)], mattermost=[mm_user(1)]), tmp_path)
    skipped = {s["rule_id"] for s in outcome.result.summary["skipped_rules"]}
    assert skipped >= APP_RULES


def test_first_error_follows_the_order_users_meet_them(tmp_path):
    """License gating (403) comes before the missing scope, which comes before the token version."""
    app = application(api=api(requestedAccessTokenVersion=1, oauth2PermissionScopes=[]))
    tenant = Tenant(entra=[entra_user(1)], mattermost=[mm_user(1, auth_data="user1@contoso.com")],
                    application=app, service_principals=service_principals(), grants=[admin_consent()])
    outcome = audit(tenant, tmp_path / "a")
    first = next(r for r in outcome.readiness if r["entra_object_id"] == oid(1))["predicted_error"]
    assert first.startswith("Sign-in fails before any token is issued")
    assert next(r for r in outcome.readiness if r["entra_object_id"] == oid(1))["fix"].startswith("Directory team: ")
    tenant.license = {"IsLicensed": "false"}
    outcome = audit(tenant, tmp_path / "b")
    first = next(r for r in outcome.readiness if r["entra_object_id"] == oid(1))["predicted_error"]
    assert first.startswith("NotLicensed")
