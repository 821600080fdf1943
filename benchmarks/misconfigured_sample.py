"""Write the "misconfigured" sample tenant: every config, tenant, policy and token rule fires.

usage: python benchmarks/misconfigured_sample.py sample_data/misconfigured

The main sample (sample_data/) is configured correctly on purpose, so it cannot show the rules
about the server, the tenant, the policies and the tokens. This one gets each of them wrong, the
way real tenants do (see its README). Six people with correctly bound SAML accounts keep the
user-level rules quiet, so what fires is the configuration. The SAML captures are signed with a
throwaway key made by the openssl CLI (only its certificate is kept, in idp_metadata.xml).
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
import tempfile
from pathlib import Path

from lxml import etree
from sample_extras import (
    AZURE_CLI,
    ISSUED,
    MAM_APP_ID,
    _assertion,
    _policy,
    _response,
    _sign,
    _token,
    throwaway_key,
)

TENANT = "4f1c9b2a-7d3e-4a5b-9c8d-1e2f3a4b5c6d"
OTHER_TENANT = "f8cdef31-a31e-4b4a-93e4-5f571e91255a"
CLIENT_ID = "b7e1c3d5-2a4f-4e6b-8d0c-9f1a2b3c4d5e"   # the server API app registration
CONFIGURED_CLIENT_ID = "b7e1c3d5-2a4f-4e6b-8d0c-9f1a2b3c4d5f"  # what IntuneSettings.ClientId says (one digit off)
SITE = "https://chat.fabrikam.example"
INTUNE_A = "c1ec4a95-1f05-45b3-a911-aa3fa01094f5"
OKTA_ISSUER = "http://www.okta.com/exk1fcia6d6EMsf331d8"
NAMES = ("Ada Lovelace", "Alan Turing", "Grace Hopper", "Edsger Dijkstra", "Barbara Liskov", "Ken Thompson")


def _people() -> list[dict]:
    people = []
    for n, name in enumerate(NAMES, start=1):
        first, last = name.lower().split()
        upn = f"{first}.{last}@fabrikam.example"
        people.append({
            "id": f"6a1b2c3d-0000-4000-8000-{n:012d}", "userPrincipalName": upn, "mail": upn, "otherMails": [],
            "displayName": name, "accountEnabled": True, "userType": "Member", "onPremisesImmutableId": None,
            "assignedPlans": [{"assignedDateTime": "2025-03-01T00:00:00Z", "capabilityStatus": "Enabled",
                               "service": "SCO", "servicePlanId": INTUNE_A}]})
    return people


def _accounts(people: list[dict]) -> list[dict]:
    return [{"id": f"mm{n:024d}", "username": p["userPrincipalName"].split("@")[0], "email": p["mail"],
             "auth_service": "saml", "auth_data": p["id"], "delete_at": 0, "is_bot": False, "roles": "system_user",
             "create_at": 1735689600000, "update_at": 1735689600000}
            for n, p in enumerate(people, start=1)]


def _config() -> dict:
    return {
        "ServiceSettings": {"SiteURL": SITE},
        "IntuneSettings": {"Enable": False, "TenantId": TENANT, "ClientId": CONFIGURED_CLIENT_ID,
                           "AuthService": "saml"},
        # SAML sign-in switched off by mistake while AuthService names it: MM_INTUNE_CONFIG_INVALID
        "SamlSettings": {"Enable": False, "IdAttribute": "objectidentifier",  # the short name, not the URI
                         "EmailAttribute": "http://schemas.xmlsoap.org/ws/2005/05/identity/claims/emailaddress",
                         "ServiceProviderIdentifier": SITE, "EnableSyncWithLdap": True,
                         "EnableSyncWithLdapIncludeAuth": True},
        "Office365Settings": {"Enable": False, "DirectoryId": OTHER_TENANT},
        "LdapSettings": {"Enable": True, "EnableSync": True, "IdAttribute": "objectGUID",
                         "LoginIdAttribute": "sAMAccountName", "EmailAttribute": "mail",
                         "BaseDN": "dc=fabrikam,dc=example", "UserFilter": ""},
    }


def _metadata(entity_id: str, cert_b64: str) -> str:
    key = (f'<KeyDescriptor use="signing"><KeyInfo xmlns="http://www.w3.org/2000/09/xmldsig#"><X509Data>'
           f"<X509Certificate>{cert_b64}</X509Certificate></X509Data></KeyInfo></KeyDescriptor>")
    return (f'<?xml version="1.0" encoding="utf-8"?>\n<EntityDescriptor entityID="{entity_id}" '
            f'xmlns="urn:oasis:names:tc:SAML:2.0:metadata"><IDPSSODescriptor '
            f'protocolSupportEnumeration="urn:oasis:names:tc:SAML:2.0:protocol">{key}<SingleSignOnService '
            f'Binding="urn:oasis:names:tc:SAML:2.0:bindings:HTTP-POST" '
            f'Location="https://fabrikam.okta.com/app/mattermost/sso/saml"/></IDPSSODescriptor></EntityDescriptor>\n')


def write(out: Path) -> None:
    out.mkdir(parents=True, exist_ok=True)  # its README.md stays
    shutil.rmtree(out / "saml", ignore_errors=True)
    people = _people()

    def dump(name: str, doc: object) -> None:
        (out / name).write_text(json.dumps(doc, indent=2) + "\n", encoding="utf-8")

    dump("entra_users.json", {"@odata.context": "https://graph.microsoft.com/v1.0/$metadata#users", "value": people})
    dump("mattermost_users.json", _accounts(people))
    dump("mattermost_config.json", _config())
    dump("mattermost_license.json", {"IsLicensed": "true", "IsTrial": "false", "SkuName": "Enterprise",
                                     "SkuShortName": "enterprise", "ExpiresAt": "1924992000000"})
    # The server API app registration, made from older single-app instructions.
    dump("entra_application.json", {
        "@odata.context": "https://graph.microsoft.com/v1.0/$metadata#applications/$entity",
        "id": "0c1d2e3f-4a5b-4c6d-8e7f-9a0b1c2d3e4f", "appId": CLIENT_ID, "displayName": "Mattermost",
        "signInAudience": "AzureADMyOrg", "identifierUris": [],
        "api": {"requestedAccessTokenVersion": None, "preAuthorizedApplications": [],
                "oauth2PermissionScopes": [{"id": "3e4f5a6b-7c8d-4e9f-8a0b-1c2d3e4f5a6b", "value": "access_as_user",
                                            "type": "User", "isEnabled": True}]},
        "requiredResourceAccess": [{"resourceAppId": MAM_APP_ID, "resourceAccess": [
            {"id": "9b1b1e42-794b-4c8c-8c7f-c2ba6b4f3f9d", "type": "Scope"}]}]})
    api_sp, mam_sp = "7d8e9f0a-1b2c-4d3e-8f4a-5b6c7d8e9f0a", "8e9f0a1b-2c3d-4e4f-9a5b-6c7d8e9f0a1b"
    dump("entra_service_principals.json", {
        "@odata.context": "https://graph.microsoft.com/v1.0/$metadata#servicePrincipals", "value": [
            {"id": api_sp, "appId": CLIENT_ID, "displayName": "Mattermost", "oauth2PermissionScopes": []},
            {"id": mam_sp, "appId": MAM_APP_ID, "displayName": "Microsoft Mobile Application Management",
             "oauth2PermissionScopes": [{"id": "9b1b1e42-794b-4c8c-8c7f-c2ba6b4f3f9d",
                                         "value": "user_impersonation", "type": "User", "isEnabled": True}]}]})
    # consent given to the server API app (the single-app model), never to Mattermost Mobile
    dump("entra_oauth2_permission_grants.json", {
        "@odata.context": "https://graph.microsoft.com/v1.0/$metadata#oauth2PermissionGrants", "value": [
            {"id": "b2xkLXNpbmdsZS1hcHA", "clientId": api_sp, "consentType": "AllPrincipals", "principalId": None,
             "resourceId": mam_sp, "scope": "user_impersonation"}]})
    dump("entra_authorization_policy.json", {
        "@odata.context": "https://graph.microsoft.com/v1.0/$metadata#policies/authorizationPolicy/$entity",
        "id": "authorizationPolicy", "displayName": "Authorization Policy",
        "defaultUserRolePermissions": {"allowedToCreateApps": False, "permissionGrantPoliciesAssigned": []}})
    dump("intune_ios_app_protections.json", {
        "@odata.context": "https://graph.microsoft.com/v1.0/$metadata#deviceAppManagement/iosManagedAppProtections",
        "value": [_policy("T_1f2e3d4c-5b6a-4978-8a9b-0c1d2e3f4a5b", "Mattermost iOS", "com.mattermost.rn", [])]})

    by = {p["displayName"].split()[0].lower(): p for p in people}
    tokens = [
        "# MSAL access tokens from test sign-ins (signature parts are placeholders)",
        _token(by["ada"], TENANT, CONFIGURED_CLIENT_ID, v1=True),
        _token(by["alan"], TENANT, CONFIGURED_CLIENT_ID, oid=None),
        _token(by["grace"], OTHER_TENANT, CONFIGURED_CLIENT_ID,
               iss=f"https://login.microsoftonline.com/{OTHER_TENANT}/v2.0"),
        _token(by["edsger"], TENANT, CONFIGURED_CLIENT_ID, aud="00000003-0000-0000-c000-000000000000"),
        _token(by["barbara"], TENANT, CONFIGURED_CLIENT_ID, scp=None),
        _token(by["ken"], TENANT, CONFIGURED_CLIENT_ID, azp=AZURE_CLI),
    ]
    (out / "msal_tokens.txt").write_text("\n".join(tokens) + "\n", encoding="utf-8")

    (out / "saml").mkdir()
    acs = f"{SITE}/login/sso/saml"
    with tempfile.TemporaryDirectory() as keys:
        key, cert, cert_b64 = throwaway_key(Path(keys), "fabrikam.okta.com")
        for n, name in enumerate(("ada", "alan"), start=1):
            person = by[name]
            assertion = _assertion(person, TENANT, SITE, acs, person["id"],
                                   "urn:oasis:names:tc:SAML:1.1:nameid-format:emailAddress", ISSUED)
            assertion.find("{urn:oasis:names:tc:SAML:2.0:assertion}Issuer").text = OKTA_ISSUER
            response = _response(_sign(assertion, key, cert), TENANT, acs, ISSUED)
            response.find("{urn:oasis:names:tc:SAML:2.0:assertion}Issuer").text = OKTA_ISSUER
            (out / "saml" / f"0{n}-{name}.xml").write_bytes(etree.tostring(response))
        (out / "idp_metadata.xml").write_text(_metadata(OKTA_ISSUER, cert_b64), encoding="utf-8")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("out_dir", type=Path)
    write(parser.parse_args(argv).out_dir)
    return 0


if __name__ == "__main__":
    sys.exit(main())
