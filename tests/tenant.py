"""Build small tenants inline and audit them: the fixture language of the rule tests.

A Tenant holds the export files as Python data; ``write`` lays them out as a directory team
would hand them over, and ``audit`` runs the real pipeline (real DuckDB, real files) on them.
"""

from __future__ import annotations

import base64
import csv
import json
import uuid
from dataclasses import dataclass, field
from pathlib import Path

from reconcile.audit import AuditResult, run_audit

INTUNE_PLAN = {"capabilityStatus": "Enabled", "service": "SCO",
               "servicePlanId": "c1ec4a95-1f05-45b3-a911-aa3fa01094f5",
               "assignedDateTime": "2024-01-01T00:00:00Z"}
TENANT_ID = "72f988bf-86f1-41af-91ab-2d7cd011db47"
CLIENT_ID = "0e1a4c3d-8f5b-4d2a-9c6e-7b8a9f0e1d2c"
OBJECTIDENTIFIER = "http://schemas.microsoft.com/identity/claims/objectidentifier"


def oid(n: int) -> str:
    """A stable, readable objectId for test user n."""
    return str(uuid.UUID(int=n + 0xA1B2C3D4_E5F6_4A7B_8C9D_000000000000))


def mm_id(n: int) -> str:
    """A 26-character Mattermost id for account n."""
    return f"{n:026d}".replace("0", "a")


def entra_user(n: int, name: str | None = None, **overrides) -> dict:
    name = name or f"user{n}"
    user = {
        "id": oid(n), "userPrincipalName": f"{name}@contoso.com", "mail": f"{name}@contoso.com",
        "otherMails": [], "onPremisesImmutableId": None, "accountEnabled": True, "userType": "Member",
        "displayName": name.title(), "assignedPlans": [INTUNE_PLAN],
    }
    user.update(overrides)
    return user


def mm_user(n: int, name: str | None = None, auth_data: str | None = None, auth_service: str = "saml",
            **overrides) -> dict:
    name = name or f"user{n}"
    user = {"id": mm_id(n), "username": name, "email": f"{name}@contoso.com",
            "auth_service": auth_service, "auth_data": auth_data if auth_data is not None else oid(n),
            "delete_at": 0, "is_bot": False, "roles": "system_user"}
    user.update(overrides)
    return user


def mm_admin() -> dict:
    """The email/password system admin who set the server up: every server has one, and it is nobody's
    Entra account. A tenant whose people have no Mattermost accounts yet still has this one (a users export
    with no accounts at all is a failed source)."""
    return mm_user(900, name="sysadmin", auth_service="", auth_data="", email="sysadmin@chat.contoso.com",
                   roles="system_admin system_user")


def config(auth_service: str = "saml", **sections) -> dict:
    """A config.json that passes every config rule; override whole sections with keyword args."""
    doc = {
        "ServiceSettings": {"SiteURL": "https://chat.contoso.com"},
        "IntuneSettings": {"Enable": True, "TenantId": TENANT_ID, "ClientId": CLIENT_ID,
                           "AuthService": auth_service},
        "SamlSettings": {"Enable": auth_service == "saml", "IdAttribute": OBJECTIDENTIFIER,
                         "EmailAttribute": "http://schemas.xmlsoap.org/ws/2005/05/identity/claims/emailaddress"},
        "Office365Settings": {"Enable": auth_service == "office365", "DirectoryId": TENANT_ID},
        "LdapSettings": {"Enable": False, "IdAttribute": "msDS-aadObjectId"},
    }
    for section, values in sections.items():
        doc[section] = {**doc.get(section, {}), **values}
    return doc


LICENSE_ADVANCED = {"IsLicensed": "true", "SkuShortName": "advanced", "SkuName": "Enterprise Advanced"}


@dataclass
class Tenant:
    entra: list[dict] | None = field(default_factory=list)
    mattermost: list[dict] | None = field(default_factory=list)
    config: dict | None = field(default_factory=config)
    license: dict | None = field(default_factory=lambda: dict(LICENSE_ADVANCED))
    groups: dict[str, list[dict]] | None = None
    ldif: str | None = None
    entra_csv: list[dict] | None = None
    tokens: list[str] | None = None               # msal_tokens.txt lines
    application: dict | None = None               # entra_application.json
    service_principals: list[dict] | None = None  # entra_service_principals.json
    grants: list[dict] | None = None              # entra_oauth2_permission_grants.json
    authorization_policy: dict | None = None      # entra_authorization_policy.json
    saml: dict[str, str | bytes] | None = None    # saml/<name>: content
    idp_metadata: str | None = None               # idp_metadata.xml

    def write(self, directory: Path) -> Path:
        directory.mkdir(parents=True, exist_ok=True)
        if self.entra is not None:
            _dump(directory / "entra_users.json", {"value": self.entra})
        if self.entra_csv is not None:
            with (directory / "entra_users.csv").open("w", newline="", encoding="utf-8-sig") as handle:
                writer = csv.DictWriter(handle, fieldnames=list(self.entra_csv[0]))
                writer.writeheader()
                writer.writerows(self.entra_csv)
        if self.mattermost is not None:
            _dump(directory / "mattermost_users.json", self.mattermost)
        if self.config is not None:
            _dump(directory / "mattermost_config.json", self.config)
        if self.license is not None:
            _dump(directory / "mattermost_license.json", self.license)
        if self.groups is not None:
            (directory / "entra_groups").mkdir(exist_ok=True)
            for group_id, members in self.groups.items():
                _dump(directory / "entra_groups" / f"{group_id}.json", {"value": members})
        if self.ldif is not None:
            (directory / "ldap_users.ldif").write_text(self.ldif, encoding="utf-8")
        if self.tokens is not None:
            (directory / "msal_tokens.txt").write_text("\n".join(self.tokens) + "\n", encoding="utf-8")
        if self.application is not None:
            _dump(directory / "entra_application.json", self.application)
        if self.service_principals is not None:
            _dump(directory / "entra_service_principals.json", {"value": self.service_principals})
        if self.grants is not None:
            _dump(directory / "entra_oauth2_permission_grants.json", {"value": self.grants})
        if self.authorization_policy is not None:
            _dump(directory / "entra_authorization_policy.json", self.authorization_policy)
        if self.saml is not None:
            (directory / "saml").mkdir(exist_ok=True)
            for name, content in self.saml.items():
                target = directory / "saml" / name
                target.write_bytes(content if isinstance(content, bytes) else content.encode("utf-8"))
        if self.idp_metadata is not None:
            (directory / "idp_metadata.xml").write_text(self.idp_metadata, encoding="utf-8")
        return directory


def _dump(path: Path, data: object) -> None:
    path.write_text(json.dumps(data, indent=1), encoding="utf-8")


@dataclass
class Outcome:
    result: AuditResult
    findings: list[dict]
    readiness: list[dict]

    def rule(self, rule_id: str) -> list[dict]:
        return [f for f in self.findings if f["rule_id"] == rule_id]

    def fired(self) -> set[str]:
        return {f["rule_id"] for f in self.findings}

    def status_of(self, entra_object_id: str | None = None, mattermost_user_id: str | None = None) -> str:
        rows = [r for r in self.readiness
                if (entra_object_id is None or r["entra_object_id"] == entra_object_id)
                and (mattermost_user_id is None or r["mattermost_user_id"] == mattermost_user_id)]
        assert len(rows) == 1, f"expected one readiness row, found {rows}"
        return rows[0]["status"]


def audit(tenant: Tenant, tmp_path: Path, **kwargs) -> Outcome:
    """Write the tenant and run the real audit on it; returns findings and readiness as dicts."""
    input_dir = tenant.write(tmp_path / "export")
    out = tmp_path / "out"
    return load_outcome(run_audit(input_dir, out, tmp_path / "store.duckdb", **kwargs))


def load_outcome(result: AuditResult) -> Outcome:
    """Read back the report files a run wrote (what users see), not its internals."""
    out = result.output_dir
    findings = json.loads((out / "findings.json").read_text(encoding="utf-8"))
    with (out / "readiness.csv").open(encoding="utf-8-sig", newline="") as handle:
        readiness = [{k: (v or None) for k, v in row.items()} for row in csv.DictReader(handle)]
    # every report file carries the run id; the rows are compared without it
    assert {row.pop("run_id") for row in readiness} <= {result.run_id}
    assert {f["run_id"] for f in findings} <= {result.run_id}
    return Outcome(result, findings, readiness)


def ldif_entry(dn: str, **attrs: str | bytes | list) -> str:
    """One LDIF entry; bytes values are written base64 (``attr::``) as ldapsearch does."""
    lines = [f"dn: {dn}"]
    for name, value in attrs.items():
        name = name.replace("_", "-") if name.lower().startswith("msds") else name
        for item in value if isinstance(value, list) else [value]:
            if isinstance(item, bytes):
                lines.append(f"{name}:: {base64.b64encode(item).decode()}")
            else:
                lines.append(f"{name}: {item}")
    return "\n".join(lines) + "\n\n"


MAM_APP_ID = "0a5f63c0-b750-4f38-a71c-4fc0d58b89e2"
MOBILE_APP_ID = "9ac649f1-4f77-44d6-9792-b2f54ab3c9a7"  # Mattermost Mobile, App Store
BETA_APP_ID = "64e9952b-20eb-46dc-92ad-99089ed24903"    # Mattermost Mobile, TestFlight
CLIENT_SP_ID = "5c1e2d3f-0000-4000-8000-00000000c11e"   # the server API app's service principal
MOBILE_SP_ID = "5c1e2d3f-0000-4000-8000-0000000000bb"   # the "Mattermost Mobile" enterprise application
MAM_SP_ID = "5c1e2d3f-0000-4000-8000-0000000000aa"
LOGIN_SCOPE_ID = "1d2c3b4a-5f6e-4a7b-8c9d-0e1f2a3b4c5d"
MAM_SCOPE_ID = "9b1b1e42-794b-4c8c-8c7f-c2ba6b4f3f9d"


def jwt(claims: dict, header: dict | None = None) -> str:
    """An unsigned-but-shaped JWT (the audit decodes, it cannot verify offline)."""
    def part(obj: dict) -> str:
        return base64.urlsafe_b64encode(json.dumps(obj).encode()).rstrip(b"=").decode()
    return f"{part(header or {'typ': 'JWT', 'alg': 'RS256', 'kid': 'k1'})}.{part(claims)}.c2lnbmF0dXJl"


def v2_claims(n: int, **overrides) -> dict:
    """Claims of a v2.0 access token for the server API, issued to test user n."""
    claims = {"aud": CLIENT_ID, "iss": f"https://login.microsoftonline.com/{TENANT_ID}/v2.0", "iat": 1_700_000_000,
              "nbf": 1_700_000_000, "exp": 1_700_003_600, "ver": "2.0", "tid": TENANT_ID, "oid": oid(n),
              "preferred_username": f"user{n}@contoso.com", "name": f"User{n}", "scp": "login.mattermost",
              "azp": MOBILE_APP_ID, "sub": f"sub-{n}"}
    claims.update(overrides)
    return claims


def application(**overrides) -> dict:
    """The server API app registration of the two-app model, as GET /v1.0/applications(appId=...)
    returns it (fields trimmed): api://{ClientId}, an enabled login.mattermost scope, both
    Mattermost Mobile ids pre-authorized, v2 tokens, and no MAM permission (it needs none)."""
    app = {
        "@odata.context": "https://graph.microsoft.com/v1.0/$metadata#applications/$entity",
        "id": "9d8c7b6a-0000-4000-8000-000000000001", "appId": CLIENT_ID, "displayName": "Mattermost Intune API",
        "signInAudience": "AzureADMyOrg", "identifierUris": [f"api://{CLIENT_ID}"],
        "api": {"acceptMappedClaims": None, "knownClientApplications": [], "requestedAccessTokenVersion": 2,
                "oauth2PermissionScopes": [login_scope()],
                "preAuthorizedApplications": [
                    {"appId": MOBILE_APP_ID, "delegatedPermissionIds": [LOGIN_SCOPE_ID]},
                    {"appId": BETA_APP_ID, "delegatedPermissionIds": [LOGIN_SCOPE_ID]}]},
        "requiredResourceAccess": [{"resourceAppId": "00000003-0000-0000-c000-000000000000", "resourceAccess": [
            {"id": "e1fe6dd8-ba31-4d61-89e7-88639da4683d", "type": "Scope"}]}],
    }
    app.update(overrides)
    return app


def login_scope(**overrides) -> dict:
    scope = {"adminConsentDescription": "Sign in to Mattermost", "adminConsentDisplayName": "Sign in to Mattermost",
             "id": LOGIN_SCOPE_ID, "isEnabled": True, "type": "User", "userConsentDescription": None,
             "userConsentDisplayName": None, "value": "login.mattermost"}
    scope.update(overrides)
    return scope


def api(**overrides) -> dict:
    """The ``api`` block of application(), with some keys replaced."""
    return {**application()["api"], **overrides}


def service_principals() -> list[dict]:
    """The server API app's, Mattermost Mobile's and MAM's service principals, as Graph returns them."""
    return [{"id": CLIENT_SP_ID, "appId": CLIENT_ID, "displayName": "Mattermost Intune API",
             "servicePrincipalType": "Application", "appOwnerOrganizationId": TENANT_ID,
             "oauth2PermissionScopes": [{"id": LOGIN_SCOPE_ID, "value": "login.mattermost", "type": "User",
                                         "isEnabled": True}]},
            {"id": MOBILE_SP_ID, "appId": MOBILE_APP_ID, "displayName": "Mattermost Mobile",
             "servicePrincipalType": "Application", "appOwnerOrganizationId": "bcd3b0c2-a6a3-4f9b-a4a5-4c8a5e3f7b9a",
             "oauth2PermissionScopes": []},
            {"id": MAM_SP_ID, "appId": MAM_APP_ID, "displayName": "Microsoft Mobile Application Management",
             "servicePrincipalType": "Application", "appOwnerOrganizationId": "f8cdef31-a31e-4b4a-93e4-5f571e91255a",
             "oauth2PermissionScopes": [{"id": MAM_SCOPE_ID, "value": "user_impersonation", "type": "User",
                                         "isEnabled": True}]}]


def authorization_policy(*assigned: str) -> dict:
    """GET /v1.0/policies/authorizationPolicy; no argument: Entra's "Do not allow user consent"."""
    return {"@odata.context": "https://graph.microsoft.com/v1.0/$metadata#policies/authorizationPolicy/$entity",
            "id": "authorizationPolicy", "displayName": "Authorization Policy",
            "defaultUserRolePermissions": {"allowedToCreateApps": False, "allowedToReadOtherUsers": True,
                                           "permissionGrantPoliciesAssigned": list(assigned)}}


def admin_consent(scope: str = "user_impersonation", **overrides) -> dict:
    """The tenant-wide consent Intune needs: Mattermost Mobile -> Microsoft Mobile Application Management."""
    grant = {"id": "grant-1", "clientId": MOBILE_SP_ID, "consentType": "AllPrincipals", "principalId": None,
             "resourceId": MAM_SP_ID, "scope": f" {scope}"}
    grant.update(overrides)
    return grant
