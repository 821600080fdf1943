"""Add the SAML, MSAL token and app-registration exports to a generated tenant (the bundled sample).

usage: python benchmarks/sample_extras.py sample_data [--registrations-only]

Signed SAML captures need a key. A throwaway RSA key is made with the openssl CLI in a temporary
directory, signs the captures, and is deleted with it: only its certificate, in idp_metadata.xml,
is kept. Rerunning therefore changes the signature bytes, never the findings.

Who gets which case is decided from the tenant's own audit (run in-process before anything is
added): captures and tokens go to people whose readiness is ``ready``, and one capture to a person
whose account is bound by email, so each new rule fires once and most people stay ready. The app
registration is correct: a broken registration is blocking for everyone (tests fire those rules).

Intune's registrations (intune_app_registrations.json, issue 15) come last, from the audit of the
finished export: most ready people enrolled, a will_fail person enrolled anyway (a false alarm), one
at_risk and one not_evaluated person enrolled, a stale registration, an enrollment outside the targeted
groups, one for a user no longer in Entra, and Outlook and Android registrations that are ignored. Their
times are before SAMPLE_CAPTURED_AT, written to sample_captured_at.txt: a run on the sample (or a copy)
measures the enrollment window from it (reconcile.paths.sample_captured_at).
``--registrations-only`` rewrites just that file (the SAML signatures stay as they are).
"""

from __future__ import annotations

import argparse
import base64
import csv
import json
import shutil
import subprocess
import sys
import tempfile
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

import xmlsec
from lxml import etree

from reconcile.audit import run_audit
from reconcile.paths import SAMPLE_MARKER

SAML = "urn:oasis:names:tc:SAML:2.0:assertion"
SAMLP = "urn:oasis:names:tc:SAML:2.0:protocol"
CLAIMS = "http://schemas.xmlsoap.org/ws/2005/05/identity/claims"
MS_CLAIMS = "http://schemas.microsoft.com/identity/claims"
MAM_APP_ID = "0a5f63c0-b750-4f38-a71c-4fc0d58b89e2"
ISSUED = datetime(2026, 11, 20, 9, 30, tzinfo=UTC)  # fixed, in the past: captures are old, as in real audits
CLIENT_APP = "9ac649f1-4f77-44d6-9792-b2f54ab3c9a7"  # Mattermost Mobile (App Store): what requests the tokens
BETA_APP = "64e9952b-20eb-46dc-92ad-99089ed24903"  # Mattermost Mobile (TestFlight)
AZURE_CLI = "04b07795-8ddb-461a-bbee-02f9e1bf7b46"  # a token captured with `az account get-access-token`
EXTRA_FILES = ("idp_metadata.xml", "msal_tokens.txt", "entra_application.json", "entra_service_principals.json",
               "entra_oauth2_permission_grants.json", "entra_authorization_policy.json",
               "intune_ios_app_protections.json", "intune_app_registrations.json")


def _ts(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"


def _assertion(person: dict, tenant: str, sp_entity: str, acs: str, oid: str | None,
               name_id_format: str, issued: datetime) -> etree._Element:
    aid = f"_{uuid.uuid4()}"
    claims = [(f"{MS_CLAIMS}/tenantid", tenant)]
    if oid is not None:
        claims.append((f"{MS_CLAIMS}/objectidentifier", oid))
    claims += [(f"{MS_CLAIMS}/displayname", person["displayName"]), (f"{CLAIMS}/name", person["userPrincipalName"]),
               (f"{CLAIMS}/emailaddress", person["mail"] or person["userPrincipalName"]),
               (f"{MS_CLAIMS}/identityprovider", f"https://sts.windows.net/{tenant}/")]
    attributes = "".join(f'<Attribute Name="{name}"><AttributeValue>{value}</AttributeValue></Attribute>'
                         for name, value in claims)
    name_id = person["userPrincipalName"] if name_id_format.endswith("emailAddress") else uuid.uuid4().hex
    xml = (
        f'<Assertion xmlns="{SAML}" ID="{aid}" IssueInstant="{_ts(issued)}" Version="2.0">'
        f"<Issuer>https://sts.windows.net/{tenant}/</Issuer>"
        f'<Subject><NameID Format="{name_id_format}">{name_id}</NameID>'
        f'<SubjectConfirmation Method="urn:oasis:names:tc:SAML:2.0:cm:bearer">'
        f'<SubjectConfirmationData NotOnOrAfter="{_ts(issued + timedelta(minutes=5))}" Recipient="{acs}"/>'
        f"</SubjectConfirmation></Subject>"
        f'<Conditions NotBefore="{_ts(issued - timedelta(minutes=5))}" '
        f'NotOnOrAfter="{_ts(issued + timedelta(hours=1))}"><AudienceRestriction>'
        f"<Audience>{sp_entity}</Audience></AudienceRestriction></Conditions>"
        f"<AttributeStatement>{attributes}</AttributeStatement>"
        f'<AuthnStatement AuthnInstant="{_ts(issued)}" SessionIndex="{aid}"><AuthnContext>'
        f"<AuthnContextClassRef>urn:oasis:names:tc:SAML:2.0:ac:classes:PasswordProtectedTransport"
        f"</AuthnContextClassRef></AuthnContext></AuthnStatement></Assertion>"
    )
    return etree.fromstring(xml.encode())


def _sign(element: etree._Element, key_file: Path, cert_file: Path) -> etree._Element:
    """Enveloped RSA-SHA256 signature after the Issuer, as Entra signs."""
    xmlsec.tree.add_ids(element, ["ID"])
    signature = xmlsec.template.create(element, xmlsec.Transform.EXCL_C14N, xmlsec.Transform.RSA_SHA256, ns="ds")
    element.find(f"{{{SAML}}}Issuer").addnext(signature)
    reference = xmlsec.template.add_reference(signature, xmlsec.Transform.SHA256, uri=f"#{element.get('ID')}")
    xmlsec.template.add_transform(reference, xmlsec.Transform.ENVELOPED)
    xmlsec.template.add_transform(reference, xmlsec.Transform.EXCL_C14N)
    xmlsec.template.add_x509_data(xmlsec.template.ensure_key_info(signature))
    key = xmlsec.Key.from_file(str(key_file), xmlsec.KeyFormat.PEM)
    key.load_cert_from_file(str(cert_file), xmlsec.KeyFormat.PEM)
    context = xmlsec.SignatureContext()
    context.key = key
    context.sign(signature)
    return element


def _response(assertion: etree._Element, tenant: str, acs: str, issued: datetime) -> etree._Element:
    response = etree.fromstring(
        (f'<samlp:Response xmlns:samlp="{SAMLP}" ID="_{uuid.uuid4()}" Version="2.0" IssueInstant="{_ts(issued)}" '
         f'Destination="{acs}"><Issuer xmlns="{SAML}">https://sts.windows.net/{tenant}/</Issuer>'
         f'<samlp:Status><samlp:StatusCode Value="urn:oasis:names:tc:SAML:2.0:status:Success"/></samlp:Status>'
         f"</samlp:Response>").encode())
    response.append(assertion)
    return response


def _metadata(tenant: str, cert_b64: str) -> str:
    key = (f'<KeyDescriptor use="signing"><KeyInfo xmlns="http://www.w3.org/2000/09/xmldsig#"><X509Data>'
           f"<X509Certificate>{cert_b64}</X509Certificate></X509Data></KeyInfo></KeyDescriptor>")
    return (
        f'<?xml version="1.0" encoding="utf-8"?>\n'
        f'<EntityDescriptor ID="_{uuid.uuid4()}" entityID="https://sts.windows.net/{tenant}/" '
        f'xmlns="urn:oasis:names:tc:SAML:2.0:metadata">'
        f'<IDPSSODescriptor protocolSupportEnumeration="urn:oasis:names:tc:SAML:2.0:protocol">{key}'
        f'<SingleSignOnService Binding="urn:oasis:names:tc:SAML:2.0:bindings:HTTP-Redirect" '
        f'Location="https://login.microsoftonline.com/{tenant}/saml2"/>'
        f'<SingleSignOnService Binding="urn:oasis:names:tc:SAML:2.0:bindings:HTTP-POST" '
        f'Location="https://login.microsoftonline.com/{tenant}/saml2"/></IDPSSODescriptor></EntityDescriptor>\n'
    )


def _jwt(claims: dict) -> str:
    def part(obj: dict) -> str:
        return base64.urlsafe_b64encode(json.dumps(obj, separators=(",", ":")).encode()).rstrip(b"=").decode()
    # The signature part is a placeholder: the audit cannot verify signatures offline and says so.
    return f"{part({'typ': 'JWT', 'alg': 'RS256', 'kid': 'sample-key'})}.{part(claims)}.c2FtcGxlLXNpZ25hdHVyZQ"


def _token(person: dict, tenant: str, client_id: str, v1: bool = False, **overrides) -> str:
    iat = int(ISSUED.timestamp())
    if v1:
        claims = {"aud": f"api://{client_id}", "iss": f"https://sts.windows.net/{tenant}/", "iat": iat, "nbf": iat,
                  "exp": iat + 3600, "ver": "1.0", "tid": tenant, "oid": person["id"], "appid": CLIENT_APP,
                  "upn": person["userPrincipalName"], "unique_name": person["userPrincipalName"],
                  "scp": "login.mattermost"}
    else:
        claims = {"aud": client_id, "iss": f"https://login.microsoftonline.com/{tenant}/v2.0", "iat": iat,
                  "nbf": iat, "exp": iat + 3600, "ver": "2.0", "tid": tenant, "oid": person["id"], "azp": CLIENT_APP,
                  "preferred_username": person["userPrincipalName"], "name": person["displayName"],
                  "scp": "login.mattermost"}
    claims.update(overrides)
    return _jwt({k: v for k, v in claims.items() if v is not None})


def _policy(policy_id: str, name: str, bundle_id: str, targets: list[dict]) -> dict:
    """An iosManagedAppProtection as Graph returns it with $expand=apps,assignments (fields trimmed)."""
    return {
        "@odata.type": "#microsoft.graph.iosManagedAppProtection", "id": policy_id, "displayName": name,
        "description": "", "version": "\"1\"", "isAssigned": bool(targets),
        "apps": [{"id": f"{bundle_id}.ios", "version": "-1", "mobileAppIdentifier": {
            "@odata.type": "#microsoft.graph.iosMobileAppIdentifier", "bundleId": bundle_id}}],
        "assignments": [{"id": f"{policy_id}_{i}", "target": target} for i, target in enumerate(targets)],
    }


def throwaway_key(directory: Path, common_name: str) -> tuple[Path, Path, str]:
    """An RSA key and self-signed certificate made by the openssl CLI in ``directory`` (deleted by the
    caller with it): the key file, the certificate file, and the certificate's base64 body."""
    key, cert = directory / "idp.key", directory / "idp.crt"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", str(key),
                    "-out", str(cert), "-days", "3650", "-subj", f"/CN={common_name}"],
                   check=True, capture_output=True)
    return key, cert, "".join(line for line in cert.read_text().splitlines() if not line.startswith("-----"))


def _users(export: Path) -> dict[str, dict]:
    pages = json.loads((export / "entra_users.json").read_text(encoding="utf-8"))
    return {u["id"]: u for page in pages for u in page["value"]}


def add_extras(export: Path) -> dict[str, list[str]]:
    """Write saml/, idp_metadata.xml, msal_tokens.txt and the app registration files into ``export``."""
    shutil.rmtree(export / "saml", ignore_errors=True)
    for name in EXTRA_FILES:
        (export / name).unlink(missing_ok=True)
    with tempfile.TemporaryDirectory() as scratch:
        run_audit(export, Path(scratch) / "out", Path(scratch) / "store.duckdb")
        with (Path(scratch) / "out" / "readiness.csv").open(encoding="utf-8-sig", newline="") as handle:
            readiness = list(csv.DictReader(handle))
        findings = json.loads((Path(scratch) / "out" / "findings.json").read_text(encoding="utf-8"))
    ready = sorted(r["entra_object_id"] for r in readiness if r["status"] == "ready" and r["mattermost_user_id"])
    email_bound = sorted(f["entra_object_id"] for f in findings if f["rule_id"] == "USER_AUTHDATA_IS_EMAIL")
    users = _users(export)
    config = json.loads((export / "mattermost_config.json").read_text(encoding="utf-8"))
    tenant, client_id = config["IntuneSettings"]["TenantId"], config["IntuneSettings"]["ClientId"]
    acs = config["ServiceSettings"]["SiteURL"].rstrip("/") + "/login/sso/saml"
    sp_entity = config["SamlSettings"]["ServiceProviderIdentifier"]
    pick = iter(ready)
    plan = {kind: [next(pick)] for kind in (
        "saml_ok", "saml_ok_b64", "saml_ok_response_signed", "saml_no_objectid", "saml_wrong_objectid",
        "saml_transient", "saml_forged", "token_ok", "token_v1", "token_no_oid", "token_other_tenant",
        "token_other_audience", "token_other_oid", "token_no_scope", "token_other_client")}
    plan["saml_authdata_mismatch"] = email_bound[:1]

    saml_dir = export / "saml"
    saml_dir.mkdir()
    persistent = "urn:oasis:names:tc:SAML:1.1:nameid-format:emailAddress"
    with tempfile.TemporaryDirectory() as keys:
        key, cert, cert_b64 = throwaway_key(Path(keys), "Microsoft Azure Federated SSO Certificate")

        def capture(kind: str, oid_override: object = "own", name_format: str = persistent,
                    sign_response: bool = False) -> bytes:
            person = users[plan[kind][0]]
            oid = person["id"] if oid_override == "own" else oid_override
            assertion = _assertion(person, tenant, sp_entity, acs, oid, name_format, ISSUED)
            if sign_response:
                return etree.tostring(_sign(_response(assertion, tenant, acs, ISSUED), key, cert))
            return etree.tostring(_response(_sign(assertion, key, cert), tenant, acs, ISSUED))

        (saml_dir / "01-ok.xml").write_bytes(capture("saml_ok"))
        (saml_dir / "02-ok-browser-trace.b64").write_text(
            base64.b64encode(capture("saml_ok_b64")).decode() + "\n")
        (saml_dir / "03-ok-response-signed.xml").write_bytes(capture("saml_ok_response_signed", sign_response=True))
        (saml_dir / "04-no-objectidentifier.xml").write_bytes(capture("saml_no_objectid", oid_override=None))
        (saml_dir / "05-wrong-objectidentifier.xml").write_bytes(
            capture("saml_wrong_objectid", oid_override="5f0c1d2e-3b4a-4c5d-8e6f-a7b8c9d0e1f2"))
        (saml_dir / "06-transient-nameid.xml").write_bytes(
            capture("saml_transient", name_format="urn:oasis:names:tc:SAML:2.0:nameid-format:transient"))
        forged = capture("saml_forged")
        honest = users[plan["saml_forged"][0]]["displayName"].encode()
        (saml_dir / "07-edited-after-signing.xml").write_bytes(forged.replace(honest, b"Global Administrator", 1))
        (saml_dir / "08-account-bound-by-email.xml").write_bytes(capture("saml_authdata_mismatch"))
        (export / "idp_metadata.xml").write_text(_metadata(tenant, cert_b64), encoding="utf-8")

    def token_of(kind: str, **kwargs) -> str:
        return _token(users[plan[kind][0]], tenant, client_id, **kwargs)

    tokens = [
        "# MSAL access tokens captured from test sign-ins on 2026-11-20 (one per line)",
        token_of("token_ok"),
        token_of("token_v1", v1=True),
        token_of("token_no_oid", oid=None),
        token_of("token_other_tenant", tid="f8cdef31-a31e-4b4a-93e4-5f571e91255a",
                 iss="https://login.microsoftonline.com/f8cdef31-a31e-4b4a-93e4-5f571e91255a/v2.0"),
        token_of("token_other_audience", aud="00000003-0000-0000-c000-000000000000"),
        token_of("token_other_oid", oid="9a8b7c6d-5e4f-4a3b-9c2d-1e0f9a8b7c6d"),
        token_of("token_no_scope", scp=None),  # app-only shape: no scp, so the server refuses it
        token_of("token_other_client", azp=AZURE_CLI),  # not from the mobile app: an info finding only
    ]
    (export / "msal_tokens.txt").write_text("\n".join(tokens) + "\n", encoding="utf-8")

    # The two-app model: the server API app (IntuneSettings.ClientId) exposes api://{id}/login.mattermost
    # and pre-authorizes both Mattermost Mobile ids; the Mattermost Mobile enterprise application has
    # the tenant-wide consent to Microsoft Mobile Application Management. All correct.
    api_sp, mobile_sp, mam_sp = ("6b0f8d2a-4c3e-4f1a-9b7d-2e5c8a1f3d90", "2d9c4e7a-1b3f-4a5c-8e6d-7f0a1b2c3d4e",
                                 "e2a7c4b1-9d3f-4e6a-8c5b-1f0d7a9e3b24")
    login_scope, mam_scope = "1d2c3b4a-5f6e-4a7b-8c9d-0e1f2a3b4c5d", "9b1b1e42-794b-4c8c-8c7f-c2ba6b4f3f9d"
    application = {
        "@odata.context": "https://graph.microsoft.com/v1.0/$metadata#applications/$entity",
        "id": "c0d1e2f3-0a1b-4c2d-8e3f-4a5b6c7d8e9f", "appId": client_id, "displayName": "Mattermost Intune API",
        "signInAudience": "AzureADMyOrg", "identifierUris": [f"api://{client_id}"],
        "api": {"acceptMappedClaims": None, "knownClientApplications": [], "requestedAccessTokenVersion": 2,
                "oauth2PermissionScopes": [
                    {"adminConsentDescription": "Sign in to Mattermost", "adminConsentDisplayName": "Sign in to "
                     "Mattermost", "id": login_scope, "isEnabled": True, "type": "User",
                     "userConsentDescription": "Sign in to Mattermost", "userConsentDisplayName": "Sign in to "
                     "Mattermost", "value": "login.mattermost"}],
                "preAuthorizedApplications": [
                    {"appId": CLIENT_APP, "delegatedPermissionIds": [login_scope]},
                    {"appId": BETA_APP, "delegatedPermissionIds": [login_scope]}]},
        "requiredResourceAccess": [
            {"resourceAppId": "00000003-0000-0000-c000-000000000000",
             "resourceAccess": [{"id": "e1fe6dd8-ba31-4d61-89e7-88639da4683d", "type": "Scope"}]}],
    }
    principals = {"@odata.context": "https://graph.microsoft.com/v1.0/$metadata#servicePrincipals", "value": [
        {"id": api_sp, "appId": client_id, "displayName": "Mattermost Intune API",
         "servicePrincipalType": "Application", "appOwnerOrganizationId": tenant, "oauth2PermissionScopes": [
             {"id": login_scope, "value": "login.mattermost", "type": "User", "isEnabled": True}]},
        {"id": mobile_sp, "appId": CLIENT_APP, "displayName": "Mattermost Mobile",
         "servicePrincipalType": "Application", "appOwnerOrganizationId": "bcd3b0c2-a6a3-4f9b-a4a5-4c8a5e3f7b9a",
         "oauth2PermissionScopes": []},
        {"id": mam_sp, "appId": MAM_APP_ID, "displayName": "Microsoft Mobile Application Management",
         "servicePrincipalType": "Application", "appOwnerOrganizationId": "f8cdef31-a31e-4b4a-93e4-5f571e91255a",
         "oauth2PermissionScopes": [
             {"id": mam_scope, "value": "user_impersonation", "type": "User", "isEnabled": True}]},
    ]}
    grants = {"@odata.context": "https://graph.microsoft.com/v1.0/$metadata#oauth2PermissionGrants", "value": [
        {"id": "Kqv_a0M8GUuQm5kH0lH2Yg", "clientId": mobile_sp, "consentType": "AllPrincipals", "principalId": None,
         "resourceId": mam_sp, "scope": " user_impersonation"},
    ]}
    authorization_policy = {
        "@odata.context": "https://graph.microsoft.com/v1.0/$metadata#policies/authorizationPolicy/$entity",
        "id": "authorizationPolicy", "displayName": "Authorization Policy",
        "description": "Used to manage authorization related settings across the company.",
        "allowInvitesFrom": "everyone", "allowedToSignUpEmailBasedSubscriptions": True,
        "allowEmailVerifiedUsersToJoinOrganization": False, "blockMsolPowerShell": False,
        "defaultUserRolePermissions": {
            "allowedToCreateApps": False, "allowedToCreateSecurityGroups": True, "allowedToReadOtherUsers": True,
            "permissionGrantPoliciesAssigned": ["ManagePermissionGrantsForSelf.microsoft-user-default-low"]},
    }
    groups = sorted(path.stem for path in (export / "entra_groups").glob("*.json"))
    policies = {"@odata.context": "https://graph.microsoft.com/v1.0/$metadata#deviceAppManagement/"
                                  "iosManagedAppProtections(apps(),assignments())", "value": [
        _policy("T_5b0e7c9a-1f2d-4e3c-8a6b-0c1d2e3f4a5b", "Mattermost iOS (production)", "com.mattermost.rn",
                [{"@odata.type": "#microsoft.graph.groupAssignmentTarget", "groupId": g} for g in groups]),
        # a policy made for the beta app and never assigned: INTUNE_POLICY_UNASSIGNED (a warning)
        _policy("T_9c8d7e6f-5a4b-4c3d-9e2f-1a0b9c8d7e6f", "Mattermost iOS (beta)", "com.mattermost.rnbeta", []),
        _policy("T_0a1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d", "Outlook iOS", "com.microsoft.Office.Outlook",
                [{"@odata.type": "#microsoft.graph.allLicensedUsersAssignmentTarget"}]),
    ]}
    for name, doc in (("entra_application.json", application), ("entra_service_principals.json", principals),
                      ("entra_oauth2_permission_grants.json", grants),
                      ("entra_authorization_policy.json", authorization_policy),
                      ("intune_ios_app_protections.json", policies)):
        (export / name).write_text(json.dumps(doc, indent=2) + "\n", encoding="utf-8")
    return plan


REGISTRATIONS = "intune_app_registrations.json"
SAMPLE_CAPTURED_AT = datetime(2026, 12, 1, 6, 0, tzinfo=UTC)  # written to SAMPLE_MARKER: runs measure from it
IOS, ANDROID = "#microsoft.graph.iosMobileAppIdentifier", "#microsoft.graph.androidMobileAppIdentifier"


def _graph_time(moment: datetime, ticks: int) -> str:
    """As Graph writes it: seven fractional digits (100 ns ticks), Z."""
    return f"{moment:%Y-%m-%dT%H:%M:%S}.{ticks % 10_000_000:07d}Z"


def _registration(n: int, user_id: str, app: dict, synced: datetime, device: str, flagged: list[str] | None = None,
                  version: str = "2.23.1") -> dict:
    kind = "ios" if app["@odata.type"] == IOS else "android"
    created = synced - timedelta(days=40 + n % 30, hours=n % 7)
    return {
        "@odata.type": f"#microsoft.graph.{kind}ManagedAppRegistration",
        "id": f"{kind[0]}:{uuid.uuid5(uuid.NAMESPACE_URL, f'registration/{n}')}",
        "createdDateTime": _graph_time(created, n * 7919), "lastSyncDateTime": _graph_time(synced, n * 104729),
        "applicationVersion": version, "managementSdkVersion": "19.6.0", "platformVersion": "18.1.1" if
        kind == "ios" else "15", "deviceType": "iPhone" if kind == "ios" else "Pixel 8", "deviceTag": None,
        "deviceName": device, "managedDeviceId": None, "azureADDeviceId": None, "deviceModel": None,
        "deviceManufacturer": None, "flaggedReasons": flagged or [], "userId": user_id,
        "appIdentifier": app, "version": f"{n % 9 + 1}",
    }


def add_registrations(export: Path) -> dict[str, list[str]]:
    """Write intune_app_registrations.json from the finished export's own outcomes (no random numbers:
    who gets what follows the sorted object ids, so the rest of the sample never moves)."""
    (export / REGISTRATIONS).write_text('{"value": []}\n', encoding="utf-8")
    (export / SAMPLE_MARKER).write_text(SAMPLE_CAPTURED_AT.strftime("%Y-%m-%dT%H:%M:%SZ") + "\n", encoding="utf-8")
    with tempfile.TemporaryDirectory() as scratch:
        run_audit(export, Path(scratch) / "out", Path(scratch) / "store.duckdb")
        with (Path(scratch) / "out" / "outcomes.csv").open(encoding="utf-8-sig", newline="") as handle:
            people = list(csv.DictReader(handle))
    by_status: dict[str, list[str]] = {}
    for person in sorted(people, key=lambda p: p["entra_object_id"]):
        by_status.setdefault(person["readiness"], []).append(person["entra_object_id"])
    users = _users(export)
    targeted = {p["entra_object_id"] for p in people}
    untargeted = sorted(uid for uid, u in users.items() if uid not in targeted and u.get("accountEnabled"))
    ready = by_status["ready"]
    plan = {"confirmed_ready": ready[:150], "confirmed_ready_beta": ready[150:151],
            "confirmed_ready_flagged": ready[151:152], "stale": ready[152:153],
            "false_alarm": by_status["will_fail"][:1], "at_risk_enrolled": by_status["at_risk"][:1],
            "not_evaluated_enrolled": by_status["not_evaluated"][:1], "enrolled_not_targeted": untargeted[:1],
            "unknown_user": [str(uuid.uuid5(uuid.NAMESPACE_URL, "sample/deleted-user"))],
            "outlook": ready[:40], "android": ready[160:170]}
    rn = {"@odata.type": IOS, "bundleId": "com.mattermost.rn"}
    at = SAMPLE_CAPTURED_AT - timedelta(hours=2)
    regs: list[dict] = []

    def add(user_id: str, app: dict, synced: datetime, **kwargs: object) -> None:
        regs.append(_registration(len(regs), user_id, app, synced, f"iPhone of {user_id[:8]}", **kwargs))

    for n, uid in enumerate(plan["confirmed_ready"]):
        add(uid, rn, at - timedelta(days=n % 21, minutes=17 * n))
    add(plan["confirmed_ready_beta"][0], {"@odata.type": IOS, "bundleId": "com.mattermost.rnbeta"},
        at - timedelta(days=3), version="2.24.0")
    add(plan["confirmed_ready_flagged"][0], rn, at - timedelta(days=1), flagged=["rootedDevice"])
    add(plan["stale"][0], rn, SAMPLE_CAPTURED_AT - timedelta(days=75))  # outside the 30-day window
    for kind in ("false_alarm", "at_risk_enrolled", "not_evaluated_enrolled", "enrolled_not_targeted",
                 "unknown_user"):
        for uid in plan[kind]:
            add(uid, rn, at - timedelta(days=2))
    for uid in plan["outlook"]:  # other apps' registrations: read, counted, ignored
        add(uid, {"@odata.type": IOS, "bundleId": "com.microsoft.Office.Outlook"}, at - timedelta(days=1),
            version="4.2447.0")
    for uid in plan["android"]:
        add(uid, {"@odata.type": ANDROID, "packageId": "com.mattermost.rn"}, at - timedelta(days=4))
    half = len(regs) // 2  # two pages, as a script following @odata.nextLink collects them
    context = "https://graph.microsoft.com/v1.0/$metadata#deviceAppManagement/managedAppRegistrations"
    pages = [{"@odata.context": context, "@odata.nextLink": "https://graph.microsoft.com/v1.0/deviceAppManagement/"
              "managedAppRegistrations?$skiptoken=c2FtcGxlLXBhZ2UtMg", "value": regs[:half]},
             {"@odata.context": context, "value": regs[half:]}]
    with (export / REGISTRATIONS).open("w", encoding="utf-8") as handle:
        handle.write("[\n" + ",\n".join(json.dumps(page) for page in pages) + "\n]\n")
    return plan


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("export_dir", type=Path)
    parser.add_argument("--registrations-only", action="store_true",
                        help=f"rewrite only {REGISTRATIONS} (keeps the SAML captures' signatures)")
    args = parser.parse_args(argv)
    plan = {} if args.registrations_only else add_extras(args.export_dir)
    plan.update(add_registrations(args.export_dir))
    for kind, people in plan.items():
        print(f"{kind:28s} {', '.join(people[:3])}{' ...' if len(people) > 3 else ''} ({len(people)})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
