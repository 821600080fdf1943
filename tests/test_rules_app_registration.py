"""App registration and consent: each rule fires on the broken registration, not on a good one."""

from __future__ import annotations

from tenant import (
    CLIENT_ID,
    MAM_APP_ID,
    Tenant,
    admin_consent,
    application,
    audit,
    config,
    entra_user,
    mm_user,
    oid,
    service_principals,
)

APP_RULES = {"ENTRA_TOKEN_VERSION", "ENTRA_MAM_PERMISSION_MISSING", "ENTRA_ADMIN_CONSENT_MISSING",
             "MM_INTUNE_CLIENT_MISMATCH"}


def _audit(tmp_path, app=None, sps=None, grants=None, cfg=None):
    tenant = Tenant(entra=[entra_user(1)], mattermost=[mm_user(1)], config=cfg or config(),
                    application=app if app is not None else application(),
                    service_principals=sps if sps is not None else service_principals(),
                    grants=grants if grants is not None else [admin_consent()])
    return audit(tenant, tmp_path)


def test_good_registration_passes(tmp_path):
    outcome = _audit(tmp_path)
    assert outcome.fired() & APP_RULES == set()
    assert outcome.status_of(oid(1)) == "ready"


def test_null_token_version_means_1(tmp_path):
    outcome = _audit(tmp_path, app=application(api={"requestedAccessTokenVersion": None}))
    [row] = outcome.rule("ENTRA_TOKEN_VERSION")
    assert row["subject_type"] == "tenant"
    assert row["observed"].endswith("api.requestedAccessTokenVersion = null (means 1)")
    assert outcome.status_of(oid(1)) == "will_fail", "a tenant finding concerns everyone"


def test_token_version_1(tmp_path):
    outcome = _audit(tmp_path, app=application(api={"requestedAccessTokenVersion": 1}))
    assert len(outcome.rule("ENTRA_TOKEN_VERSION")) == 1


def test_mam_permission_missing_is_aadsts650057(tmp_path):
    other = [{"resourceAppId": "00000003-0000-0000-c000-000000000000",
              "resourceAccess": [{"id": "e1fe6dd8-ba31-4d61-89e7-88639da4683d", "type": "Scope"}]}]
    outcome = _audit(tmp_path, app=application(requiredResourceAccess=other))
    [row] = outcome.rule("ENTRA_MAM_PERMISSION_MISSING")
    assert row["predicted_error"].startswith("AADSTS650057")
    readiness = next(r for r in outcome.readiness if r["entra_object_id"] == oid(1))
    assert readiness["predicted_error"].startswith("AADSTS650057")
    assert readiness["fix"].startswith("Directory team: ")


def test_consent_with_the_older_scope_name(tmp_path):
    outcome = _audit(tmp_path, grants=[admin_consent(scope="openid user_impersonation")])
    assert "ENTRA_ADMIN_CONSENT_MISSING" not in outcome.fired()


def test_consent_missing_variants(tmp_path):
    cases = {
        "per-user grant only": [admin_consent(consentType="Principal", principalId="p-1")],
        "grant to another resource": [admin_consent(resourceId="another-sp")],
        "grant without the scope": [admin_consent(scope="openid profile")],
        "no grant": [],
    }
    for name, grants in cases.items():
        outcome = _audit(tmp_path / name.replace(" ", "_"), grants=grants)
        [row] = outcome.rule("ENTRA_ADMIN_CONSENT_MISSING")
        assert "no AllPrincipals grant" in row["observed"], name


def test_consent_missing_when_service_principals_are_absent(tmp_path):
    mam_only = [sp for sp in service_principals() if sp["appId"] == MAM_APP_ID]
    outcome = _audit(tmp_path, sps=mam_only)
    [row] = outcome.rule("ENTRA_ADMIN_CONSENT_MISSING")
    assert "no service principal for the application" in row["observed"]


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
    """License gating (403) comes before AADSTS650057, which comes before the token version."""
    app = application(api={"requestedAccessTokenVersion": 1}, requiredResourceAccess=[])
    tenant = Tenant(entra=[entra_user(1)], mattermost=[mm_user(1, auth_data="user1@contoso.com")],
                    application=app, service_principals=service_principals(), grants=[admin_consent()])
    outcome = audit(tenant, tmp_path / "a")
    first = next(r for r in outcome.readiness if r["entra_object_id"] == oid(1))["predicted_error"]
    assert first.startswith("AADSTS650057")
    tenant.license = {"IsLicensed": "false"}
    outcome = audit(tenant, tmp_path / "b")
    first = next(r for r in outcome.readiness if r["entra_object_id"] == oid(1))["predicted_error"]
    assert first.startswith("NotLicensed")
