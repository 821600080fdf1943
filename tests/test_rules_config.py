"""Mattermost config and license rules (subject_type ``config``): each fires on a hand-built tenant,
and a near miss does not. Config findings carry no person; they name the setting and its value."""

from __future__ import annotations

import pytest
from tenant import CLIENT_ID, OBJECTIDENTIFIER, TENANT_ID, Tenant, audit, config, entra_user, mm_id, mm_user, oid

CLEAN = Tenant(entra=[entra_user(1)], mattermost=[mm_user(1)])


def only(outcome, rule_id: str) -> dict:
    rows = outcome.rule(rule_id)
    assert len(rows) == 1, f"expected one {rule_id} finding, found {rows}"
    return rows[0]


def assert_config_row(row: dict, rule_id: str, severity: str) -> None:
    assert row["rule_id"] == rule_id
    assert row["severity"] == severity
    assert row["subject_type"] == "config"
    assert row["entra_object_id"] is None
    assert row["mattermost_user_id"] is None
    assert row["user_principal_name"] is None
    assert row["predicted_error"]
    assert row["remediation"]


def test_clean_config_fires_no_config_rule(tmp_path):
    outcome = audit(CLEAN, tmp_path)
    assert outcome.fired() == set()
    assert outcome.status_of(mattermost_user_id=mm_id(1)) == "ready"


# --- MM_INTUNE_CONFIG_INVALID -------------------------------------------------------------------

@pytest.mark.parametrize(("intune", "sections", "observed"), [
    pytest.param({"TenantId": "contoso.onmicrosoft.com"}, {}, 'TenantId = "contoso.onmicrosoft.com"',
                 id="tenant-id-domain-name"),
    pytest.param({"TenantId": None}, {}, "TenantId = null", id="tenant-id-null"),
    pytest.param({"ClientId": "api://" + CLIENT_ID}, {}, f'ClientId = "api://{CLIENT_ID}"',
                 id="client-id-app-uri"),
    pytest.param({"ClientId": ""}, {}, 'ClientId = ""', id="client-id-empty"),
    pytest.param({"AuthService": "gitlab"}, {}, 'AuthService = "gitlab"', id="auth-service-gitlab"),
    pytest.param({"AuthService": "ldap"}, {}, 'AuthService = "ldap"', id="auth-service-ldap"),
    pytest.param({"AuthService": "saml"}, {"SamlSettings": {"Enable": False}},
                 'AuthService = "saml" but SamlSettings.Enable is not true', id="saml-not-enabled"),
    pytest.param({"AuthService": "office365"}, {"Office365Settings": {"Enable": False}},
                 'AuthService = "office365" but Office365Settings.Enable is not true', id="office365-not-enabled"),
])
@pytest.mark.parametrize("enable", [True, False], ids=["enabled", "not-enabled"])
def test_intune_config_invalid_fires_whether_or_not_enabled(tmp_path, intune, sections, observed, enable):
    cfg = config(IntuneSettings={**intune, "Enable": enable}, **sections)
    outcome = audit(Tenant(entra=[entra_user(1)], mattermost=[mm_user(1)], config=cfg), tmp_path)
    row = only(outcome, "MM_INTUNE_CONFIG_INVALID")
    assert_config_row(row, "MM_INTUNE_CONFIG_INVALID", "blocking")
    assert row["observed"] == observed
    assert ("MM_INTUNE_NOT_ENABLED" in outcome.fired()) is (not enable)


def test_intune_config_invalid_reports_each_problem(tmp_path):
    cfg = config(IntuneSettings={"TenantId": "x", "ClientId": "y", "AuthService": "email"})
    outcome = audit(Tenant(config=cfg), tmp_path)
    assert sorted(r["observed"] for r in outcome.rule("MM_INTUNE_CONFIG_INVALID")) == [
        'AuthService = "email"', 'ClientId = "y"', 'TenantId = "x"']


def test_intune_settings_absent_is_invalid_config(tmp_path):
    cfg = config()
    del cfg["IntuneSettings"]
    outcome = audit(Tenant(config=cfg), tmp_path)
    row = only(outcome, "MM_INTUNE_CONFIG_INVALID")
    assert row["observed"] == "IntuneSettings absent"
    assert only(outcome, "MM_INTUNE_NOT_ENABLED")["observed"] == "IntuneSettings.Enable = unset"


@pytest.mark.parametrize("intune", [
    pytest.param({"TenantId": TENANT_ID.upper()}, id="uppercase-tenant-guid"),
    pytest.param({"Enable": False}, id="not-enabled-but-valid"),
])
def test_intune_config_valid_near_misses(tmp_path, intune):
    outcome = audit(Tenant(config=config(IntuneSettings=intune)), tmp_path)
    assert "MM_INTUNE_CONFIG_INVALID" not in outcome.fired()


def test_office365_auth_service_with_office365_enabled_is_valid(tmp_path):
    outcome = audit(Tenant(entra=[entra_user(1)], mattermost=[mm_user(1, auth_service="office365")],
                           config=config("office365")), tmp_path)
    assert outcome.fired() == set()


def test_saml_disabled_does_not_matter_when_office365_is_selected(tmp_path):
    cfg = config("office365", SamlSettings={"Enable": False, "IdAttribute": ""})
    outcome = audit(Tenant(config=cfg), tmp_path)
    assert "MM_INTUNE_CONFIG_INVALID" not in outcome.fired()
    assert "MM_SAML_IDATTRIBUTE" not in outcome.fired()


# --- MM_INTUNE_NOT_ENABLED ----------------------------------------------------------------------

def test_intune_not_enabled_is_info(tmp_path):
    outcome = audit(Tenant(entra=[entra_user(1)], mattermost=[mm_user(1)],
                           config=config(IntuneSettings={"Enable": False})), tmp_path)
    row = only(outcome, "MM_INTUNE_NOT_ENABLED")
    assert_config_row(row, "MM_INTUNE_NOT_ENABLED", "info")
    assert row["observed"] == "IntuneSettings.Enable = false"
    assert outcome.fired() == {"MM_INTUNE_NOT_ENABLED"}
    # info only: the pre-enablement audit of a clean tenant says ready and exits 0
    assert outcome.status_of(mattermost_user_id=mm_id(1)) == "ready"
    assert outcome.result.exit_code == 0


def test_intune_not_enabled_reads_string_booleans(tmp_path):
    outcome = audit(Tenant(config=config(IntuneSettings={"Enable": "true"})), tmp_path)
    assert "MM_INTUNE_NOT_ENABLED" not in outcome.fired()


# --- MM_LICENSE_NOT_ADVANCED --------------------------------------------------------------------

@pytest.mark.parametrize(("license_doc", "observed"), [
    pytest.param({"IsLicensed": "false"}, "IsLicensed = false (no license)", id="not-licensed"),
    pytest.param({"IsLicensed": "false", "SkuShortName": "advanced"}, "IsLicensed = false (no license)",
                 id="not-licensed-advanced-sku"),
    pytest.param({"IsLicensed": "true", "SkuShortName": "E20", "SkuName": "Enterprise E20"},
                 'SkuShortName = "E20" (Enterprise E20)', id="legacy-e20"),
    pytest.param({"IsLicensed": "true", "SkuShortName": "Advanced"}, 'SkuShortName = "Advanced"',
                 id="advanced-other-case: the server's tier map is keyed by the exact name"),
    pytest.param({"IsLicensed": "true", "SkuShortName": "advanced", "ExpiresAt": "1704067200000"},
                 'SkuShortName = "advanced", expired on 2024-01-01', id="advanced-expired"),
    pytest.param({"IsLicensed": "true", "SkuShortName": "entry", "ExpiresAt": 1704067200000},
                 'SkuShortName = "entry", expired on 2024-01-01', id="entry-expired-new-format"),
    pytest.param({"IsLicensed": "true", "SkuShortName": "enterprise"}, 'SkuShortName = "enterprise"',
                 id="enterprise"),
    pytest.param({"IsLicensed": "true", "SkuShortName": "professional"}, 'SkuShortName = "professional"',
                 id="professional"),
    pytest.param({"IsLicensed": "true", "SkuShortName": ""}, "SkuShortName = null", id="no-sku"),
    pytest.param({"IsLicensed": True, "SkuShortName": "enterprise"}, 'SkuShortName = "enterprise"',
                 id="boolean-licensed-enterprise"),
])
def test_license_not_advanced(tmp_path, license_doc, observed):
    outcome = audit(Tenant(entra=[entra_user(1)], mattermost=[mm_user(1)], license=license_doc), tmp_path)
    row = only(outcome, "MM_LICENSE_NOT_ADVANCED")
    assert_config_row(row, "MM_LICENSE_NOT_ADVANCED", "blocking")
    assert row["observed"] == observed
    assert row["predicted_error"].startswith("NotLicensed")


@pytest.mark.parametrize("license_doc", [
    {"IsLicensed": "true", "SkuShortName": "advanced"},
    {"IsLicensed": True, "SkuShortName": "advanced", "SkuName": "Enterprise Advanced"},
    {"IsLicensed": "true", "SkuShortName": "entry", "SkuName": "Mattermost Entry", "ExpiresAt": "4102444800000"},
    {"IsLicensed": "true", "SkuShortName": "advanced", "ExpiresAt": "0"},
])
def test_advanced_or_entry_license_passes(tmp_path, license_doc):
    outcome = audit(Tenant(license=license_doc), tmp_path)
    assert "MM_LICENSE_NOT_ADVANCED" not in outcome.fired()


def test_missing_license_file_skips_license_rule(tmp_path):
    outcome = audit(Tenant(license=None), tmp_path)
    assert outcome.rule("MM_LICENSE_NOT_ADVANCED") == []
    assert {"rule_id": "MM_LICENSE_NOT_ADVANCED", "reason": "missing input: mattermost_license"} in \
        outcome.result.summary["skipped_rules"]


# --- MM_SAML_IDATTRIBUTE ------------------------------------------------------------------------

@pytest.mark.parametrize(("id_attribute", "classified"), [
    pytest.param("", "empty: users are bound by email", id="empty"),
    pytest.param(None, "empty: users are bound by email", id="null"),
    pytest.param("http://schemas.xmlsoap.org/ws/2005/05/identity/claims/upn", "UPN: mutable", id="upn-claim"),
    pytest.param("user.userprincipalname", "UPN: mutable", id="upn-attribute"),
    pytest.param("http://schemas.xmlsoap.org/ws/2005/05/identity/claims/name", "name claim: the UPN, mutable",
                 id="name-claim"),
    pytest.param("http://schemas.microsoft.com/LiveID/Federation/2008/05/ImmutableID",
                 "ImmutableID: the on-premises objectGUID", id="immutableid"),
    pytest.param("http://schemas.xmlsoap.org/ws/2005/05/identity/claims/emailaddress", "email address: mutable",
                 id="emailaddress"),
    pytest.param("user.mail", "email address: mutable", id="mail-attribute"),
    pytest.param("http://schemas.xmlsoap.org/ws/2005/05/identity/claims/nameidentifier",
                 "NameID: not the objectId", id="nameidentifier"),
    pytest.param("objectGUID", "objectGUID: breaks mobile authentication", id="objectguid"),
])
def test_saml_id_attribute_known_non_objectid_claims_are_blocking(tmp_path, id_attribute, classified):
    outcome = audit(Tenant(config=config(SamlSettings={"IdAttribute": id_attribute})), tmp_path)
    row = only(outcome, "MM_SAML_IDATTRIBUTE")
    assert_config_row(row, "MM_SAML_IDATTRIBUTE", "blocking")
    assert row["observed"] == f'SamlSettings.IdAttribute = "{id_attribute or ""}" ({classified})'
    assert row["expected"] == OBJECTIDENTIFIER


@pytest.mark.parametrize(("id_attribute", "classified"), [
    pytest.param("objectidentifier",
                 "objectidentifier under another name: Mattermost matches the attribute name exactly",
                 id="short-objectidentifier"),
    pytest.param("employeeid", "custom attribute: cannot confirm it carries the objectId; no signed capture shows it",
                 id="custom"),
])
def test_saml_id_attribute_custom_names_are_a_warning(tmp_path, id_attribute, classified):
    """A custom claim may be mapped to user.objectid: without evidence, a warning, never blocking."""
    outcome = audit(Tenant(entra=[entra_user(1)], mattermost=[mm_user(1)],
                           config=config(SamlSettings={"IdAttribute": id_attribute})), tmp_path)
    row = only(outcome, "MM_SAML_IDATTRIBUTE")
    assert_config_row(row, "MM_SAML_IDATTRIBUTE", "warning")
    assert row["observed"] == f'SamlSettings.IdAttribute = "{id_attribute}" ({classified})'
    assert outcome.status_of(oid(1)) == "ready", "a config warning does not put everyone at risk"


def test_saml_id_attribute_missing_key_is_email_binding(tmp_path):
    cfg = config()
    del cfg["SamlSettings"]["IdAttribute"]
    outcome = audit(Tenant(config=cfg), tmp_path)
    assert only(outcome, "MM_SAML_IDATTRIBUTE")["observed"] == \
        'SamlSettings.IdAttribute = "" (empty: users are bound by email)'


def test_saml_id_attribute_objectidentifier_passes(tmp_path):
    outcome = audit(Tenant(config=config(SamlSettings={"IdAttribute": OBJECTIDENTIFIER})), tmp_path)
    assert "MM_SAML_IDATTRIBUTE" not in outcome.fired()


def test_saml_id_attribute_not_checked_when_office365_is_selected(tmp_path):
    cfg = config("office365", SamlSettings={"Enable": True, "IdAttribute": ""})
    outcome = audit(Tenant(config=cfg), tmp_path)
    assert "MM_SAML_IDATTRIBUTE" not in outcome.fired()


# --- MM_LDAP_IDATTRIBUTE ------------------------------------------------------------------------

OVERRIDE = {"EnableSyncWithLdap": True, "EnableSyncWithLdapIncludeAuth": True}


@pytest.mark.parametrize(("id_attribute", "observed"), [
    pytest.param("objectGUID", 'LdapSettings.IdAttribute = "objectGUID" (objectGUID breaks mobile authentication)',
                 id="objectguid"),
    pytest.param("objectguid", 'LdapSettings.IdAttribute = "objectguid" (objectGUID breaks mobile authentication)',
                 id="objectguid-lowercase"),
    pytest.param("sAMAccountName", 'LdapSettings.IdAttribute = "sAMAccountName"', id="samaccountname"),
    pytest.param("", 'LdapSettings.IdAttribute = "" (empty)', id="empty"),
])
def test_ldap_id_attribute_is_blocking_when_ldap_overrides_the_saml_id(tmp_path, id_attribute, observed):
    cfg = config(LdapSettings={"Enable": True, "IdAttribute": id_attribute}, SamlSettings=OVERRIDE)
    outcome = audit(Tenant(entra=[entra_user(1)], mattermost=[mm_user(1)], config=cfg), tmp_path)
    row = only(outcome, "MM_LDAP_IDATTRIBUTE")
    assert_config_row(row, "MM_LDAP_IDATTRIBUTE", "blocking")
    assert row["observed"].startswith(observed + "; SAML accounts take their id from LDAP")
    assert row["expected"] == "msDS-aadObjectId"
    assert outcome.status_of(oid(1)) == "will_fail"


def test_ldap_id_attribute_is_a_warning_with_saml_sync_by_email(tmp_path):
    """EnableSyncWithLdap alone matches SAML accounts by email and copies attributes, not the id."""
    cfg = config(LdapSettings={"Enable": True, "IdAttribute": "objectGUID"},
                 SamlSettings={"EnableSyncWithLdap": True, "EnableSyncWithLdapIncludeAuth": False})
    outcome = audit(Tenant(entra=[entra_user(1)], mattermost=[mm_user(1)], config=cfg), tmp_path)
    row = only(outcome, "MM_LDAP_IDATTRIBUTE")
    assert_config_row(row, "MM_LDAP_IDATTRIBUTE", "warning")
    assert "synchronised from LDAP by email" in row["observed"]
    assert outcome.status_of(oid(1)) == "ready"


@pytest.mark.parametrize("cfg", [
    pytest.param(config(LdapSettings={"Enable": True, "IdAttribute": "objectGUID"}), id="ldap-sign-in-beside-saml"),
    pytest.param(config("office365", LdapSettings={"Enable": True, "IdAttribute": "objectGUID"},
                        SamlSettings=OVERRIDE), id="office365-selected-saml-override-irrelevant"),
    pytest.param(config(LdapSettings={"Enable": False, "EnableSync": True, "IdAttribute": "objectGUID"}),
                 id="sync-only"),
])
def test_ldap_id_attribute_is_info_when_ldap_does_not_feed_the_evaluated_accounts(tmp_path, cfg):
    """The near miss: LDAP wrong, but not provisioning the selected service's accounts."""
    service = cfg["IntuneSettings"]["AuthService"]
    outcome = audit(Tenant(entra=[entra_user(1)], mattermost=[mm_user(1, auth_service=service)], config=cfg),
                    tmp_path)
    row = only(outcome, "MM_LDAP_IDATTRIBUTE")
    assert_config_row(row, "MM_LDAP_IDATTRIBUTE", "info")
    assert "nothing breaks for Intune" in row["observed"]
    assert outcome.status_of(oid(1)) == "ready"
    assert outcome.result.exit_code == 0


@pytest.mark.parametrize("ldap", [
    pytest.param({"Enable": False, "IdAttribute": "objectGUID"}, id="ldap-disabled"),
    pytest.param({"Enable": True, "IdAttribute": "msDS-aadObjectId"}, id="aadobjectid"),
    pytest.param({"Enable": True, "IdAttribute": "msds-aadobjectid"}, id="aadobjectid-other-case"),
])
def test_ldap_id_attribute_near_misses(tmp_path, ldap):
    outcome = audit(Tenant(config=config(LdapSettings=ldap)), tmp_path)
    assert "MM_LDAP_IDATTRIBUTE" not in outcome.fired()


# --- MM_OFFICE365_TENANT_MISMATCH ---------------------------------------------------------------

def test_office365_directory_of_another_tenant(tmp_path):
    other = "11111111-2222-4333-8444-555555555555"
    cfg = config("office365", Office365Settings={"DirectoryId": other})
    outcome = audit(Tenant(config=cfg), tmp_path)
    row = only(outcome, "MM_OFFICE365_TENANT_MISMATCH")
    assert_config_row(row, "MM_OFFICE365_TENANT_MISMATCH", "blocking")
    assert row["observed"] == (f'Office365Settings.DirectoryId = "{other}", '
                               f'IntuneSettings.TenantId = "{TENANT_ID}"')


@pytest.mark.parametrize(("service", "directory_id"), [
    pytest.param("office365", TENANT_ID.upper(), id="same-tenant-other-case"),
    pytest.param("office365", "common", id="multi-tenant-common"),
    pytest.param("office365", "", id="unset"),
    pytest.param("saml", "11111111-2222-4333-8444-555555555555", id="saml-selected"),
])
def test_office365_tenant_near_misses(tmp_path, service, directory_id):
    cfg = config(service, Office365Settings={"DirectoryId": directory_id})
    outcome = audit(Tenant(config=cfg), tmp_path)
    assert "MM_OFFICE365_TENANT_MISMATCH" not in outcome.fired()


# --- no config at all ---------------------------------------------------------------------------

def test_missing_config_skips_every_rule_that_needs_it(tmp_path):
    outcome = audit(Tenant(entra=[entra_user(1)], mattermost=[mm_user(1, auth_data="user1@contoso.com")],
                           config=None), tmp_path)
    skipped = {s["rule_id"]: s["reason"] for s in outcome.result.summary["skipped_rules"]}
    for rule_id in ("MM_INTUNE_CONFIG_INVALID", "MM_INTUNE_NOT_ENABLED", "MM_SAML_IDATTRIBUTE",
                    "MM_LDAP_IDATTRIBUTE", "MM_OFFICE365_TENANT_MISMATCH", "USER_AUTHDATA_IS_EMAIL",
                    "USER_NO_ENTRA_MATCH", "USER_SAML_UNPROVISIONED"):
        assert skipped[rule_id] == "missing input: mattermost_config"
        assert outcome.rule(rule_id) == []
    # not judged from missing data, and not passed either
    assert outcome.status_of(oid(1)) == "not_evaluated"
