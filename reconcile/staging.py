"""Turn source records (Graph dicts, Mattermost API dicts, LDAP entries) into staging rows.

Only single values are normalised here (lowercase, GUID forms, base64, LDAP bytes); whether two
records belong to one person is decided in SQL. A value that cannot be what its field promises
(an Entra ``id`` that is not a GUID, a user without ``id``) stops the run with an InputError that
names the record: a report built around a broken record would be wrong about someone.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from datetime import UTC, datetime
from typing import Any

from reconcile import identifiers as ids
from reconcile.errors import InputError

ENTRA_USER_COLUMNS = (
    "object_id", "object_id_norm", "upn", "upn_lower", "mail", "mail_lower", "immutable_id",
    "immutable_guid", "immutable_guid_naive", "account_enabled", "user_type", "display_name",
    "intune_plan_status", "source_ref",
)
OTHER_MAIL_COLUMNS = ("object_id_norm", "email_lower")
GROUP_MEMBER_COLUMNS = ("group_id", "object_id_norm", "upn", "source_ref")
MM_USER_COLUMNS = (
    "id", "username", "email", "email_lower", "auth_service", "auth_data", "auth_data_lower",
    "auth_data_guid", "auth_data_hex_guid", "auth_data_b64_guid", "delete_at", "is_bot", "source_ref",
)
LDAP_USER_COLUMNS = (
    "dn", "aad_object_id_raw", "aad_object_id", "object_guid", "object_guid_naive", "upn", "upn_lower",
    "mail", "mail_lower", "sam_account_name", "id_attribute_value", "id_attribute_lower", "source_ref",
)


def _split_where(record: dict) -> tuple[str, str | None]:
    where = record.get("_where") or "?"
    file, _, pos = where.partition(": ")
    return file, pos or None


def _fail(record: dict, problem: str) -> InputError:
    file, pos = _split_where(record)
    return InputError(file, pos, problem)


def _text(record: dict, key: str, required: bool = False) -> str | None:
    value = record.get(key)
    if value is None or value == "":
        if required:
            raise _fail(record, f"missing '{key}'; expected a non-empty string")
        return None
    if not isinstance(value, str):
        raise _fail(record, f"expected '{key}' to be a string, found {type(value).__name__} {value!r}")
    return value


def _lower(value: str | None) -> str | None:
    return value.lower() if value else None


def _bool(record: dict, key: str) -> bool | None:
    value = record.get(key)
    if value is None or isinstance(value, bool):
        return value
    if isinstance(value, str) and value.lower() in ("true", "false"):
        return value.lower() == "true"
    raise _fail(record, f"expected '{key}' to be true or false, found {value!r}")


def _intune_plan_status(record: dict) -> str | None:
    """capabilityStatus of the Intune service plan: 'Enabled' wins, 'none' if absent, None if unknown."""
    if "assignedPlans" not in record:
        return None
    plans = record["assignedPlans"] or []
    if not isinstance(plans, list):
        raise _fail(record, "expected 'assignedPlans' to be an array")
    statuses = [
        str(plan.get("capabilityStatus"))
        for plan in plans
        if isinstance(plan, dict) and str(plan.get("servicePlanId", "")).lower() == ids.INTUNE_SERVICE_PLAN_ID
    ]
    if "Enabled" in statuses:
        return "Enabled"
    return statuses[0] if statuses else "none"


def entra_user_rows(records: Iterable[dict]) -> Iterator[tuple[tuple, list[tuple]]]:
    """One entra_users row per Graph user, with its otherMails rows."""
    for rec in records:
        object_id = _text(rec, "id", required=True)
        norm = ids.parse_guid(object_id)
        if norm is None:
            raise _fail(rec, f"'id' is {object_id!r}; expected an Entra objectId (a GUID)")
        upn = _text(rec, "userPrincipalName")
        mail = _text(rec, "mail")
        immutable = _text(rec, "onPremisesImmutableId")
        raw_guid = ids.decode_immutable_id(immutable)
        other = rec.get("otherMails") or []
        if not isinstance(other, list):
            raise _fail(rec, "expected 'otherMails' to be an array of strings")
        others = sorted({m.lower() for m in other if isinstance(m, str) and m})
        row = (
            object_id, norm, upn, _lower(upn), mail, _lower(mail), immutable,
            ids.guid_windows(raw_guid) if raw_guid else None,
            ids.guid_naive(raw_guid) if raw_guid else None,
            _bool(rec, "accountEnabled"), _text(rec, "userType"), _text(rec, "displayName"),
            _intune_plan_status(rec), rec.get("_where"),
        )
        yield row, [(norm, m) for m in others]


def group_member_rows(group_id: str, records: Iterable[dict]) -> Iterator[tuple]:
    for rec in records:
        object_id = _text(rec, "id", required=True)
        norm = ids.parse_guid(object_id)
        if norm is None:
            raise _fail(rec, f"'id' is {object_id!r}; expected an Entra objectId (a GUID)")
        yield (group_id, norm, _text(rec, "userPrincipalName"), rec.get("_where"))


def mm_user_rows(records: Iterable[dict]) -> Iterator[tuple]:
    for rec in records:
        user_id = _text(rec, "id", required=True)
        auth_data = _text(rec, "auth_data")
        hex_bytes = ids.parse_mattermost_hex(auth_data)
        b64_bytes = ids.decode_immutable_id(auth_data)
        delete_at = rec.get("delete_at") or 0
        if isinstance(delete_at, str) and delete_at.isdigit():
            delete_at = int(delete_at)
        if not isinstance(delete_at, int) or isinstance(delete_at, bool):
            raise _fail(rec, f"expected 'delete_at' to be a number of milliseconds, found {delete_at!r}")
        email = _text(rec, "email")
        yield (
            user_id, _text(rec, "username"), email, _lower(email), _text(rec, "auth_service") or "",
            auth_data, _lower(auth_data), ids.parse_guid(auth_data),
            ids.guid_windows(hex_bytes) if hex_bytes else None,
            ids.guid_windows(b64_bytes) if b64_bytes else None,
            delete_at, bool(_bool(rec, "is_bot")), rec.get("_where"),
        )


def _ldap_text(entry: dict, attr: str) -> str | None:
    values = entry["attributes"].get(attr.lower())
    if not values:
        return None
    value = values[0]
    if isinstance(value, str):
        return value
    try:
        return value.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise _fail(entry, f"attribute {attr} of {entry['dn']} is not UTF-8 text") from exc


def _ldap_guid(entry: dict, attr: str) -> tuple[str | None, bytes | str | None]:
    values = entry["attributes"].get(attr.lower())
    if not values:
        return None, None
    raw = values[0]
    guid = ids.directory_guid(raw)
    if guid is None:
        shown = raw.hex(" ") if isinstance(raw, bytes) and len(raw) < 64 else repr(raw)[:80]
        raise _fail(entry, f"{attr} of {entry['dn']} is {shown}; expected a GUID (text) or 16 bytes")
    return guid, raw


def _as_stored(raw: bytes | str | None, guid: str | None) -> str | None:
    """The attribute as text: GUID text exactly as stored, 16 raw bytes in canonical form."""
    if isinstance(raw, bytes):
        return guid if len(raw) == 16 else raw.decode("utf-8")
    return raw


def _id_attribute_value(entry: dict, attr: str | None) -> str | None:
    """The value Mattermost would store as auth_data for this entry's LdapSettings.IdAttribute."""
    if not attr:
        return None
    values = entry["attributes"].get(attr.lower())
    if not values:
        return None
    raw = values[0]
    if isinstance(raw, bytes):
        if attr.lower() == "objectguid" and len(raw) == 16:
            return ids.mattermost_hex(raw)
        try:
            return raw.decode("utf-8")
        except UnicodeDecodeError:
            return "".join(f"\\{b:02x}" for b in raw)
    return raw


def ldap_user_rows(entries: Iterable[dict], id_attribute: str | None) -> Iterator[tuple]:
    for entry in entries:
        aad, aad_raw = _ldap_guid(entry, "msDS-aadObjectId")
        object_guid_raw = (entry["attributes"].get("objectguid") or [None])[0]
        object_guid = object_guid_naive = None
        if object_guid_raw is not None:
            if isinstance(object_guid_raw, bytes) and len(object_guid_raw) == 16:
                object_guid = ids.guid_windows(object_guid_raw)
                object_guid_naive = ids.guid_naive(object_guid_raw)
            else:
                object_guid, _ = _ldap_guid(entry, "objectGUID")
        upn = _ldap_text(entry, "userPrincipalName")
        mail = _ldap_text(entry, "mail")
        id_value = _id_attribute_value(entry, id_attribute)
        yield (
            entry["dn"], _as_stored(aad_raw, aad), aad, object_guid, object_guid_naive,
            upn, _lower(upn), mail, _lower(mail),
            _ldap_text(entry, "sAMAccountName"), id_value, _lower(id_value), entry.get("_where"),
        )


def _setting(config: dict, section: str, key: str) -> Any:
    block = config.get(section)
    return block.get(key) if isinstance(block, dict) else None


def _setting_bool(config: dict, section: str, key: str) -> bool | None:
    value = _setting(config, section, key)
    if isinstance(value, str):
        return value.lower() == "true"
    return None if value is None else bool(value)


def _setting_text(config: dict, section: str, key: str) -> str | None:
    value = _setting(config, section, key)
    return None if value is None else str(value)


def mm_config_row(config: dict) -> tuple:
    """The settings the rules read, from config.json or ``GET /api/v4/config``."""
    return (
        isinstance(config.get("IntuneSettings"), dict),
        _setting_bool(config, "IntuneSettings", "Enable"),
        _setting_text(config, "IntuneSettings", "TenantId"),
        _setting_text(config, "IntuneSettings", "ClientId"),
        _setting_text(config, "IntuneSettings", "AuthService"),
        _setting_bool(config, "Office365Settings", "Enable"),
        _setting_text(config, "Office365Settings", "DirectoryId"),
        _setting_bool(config, "SamlSettings", "Enable"),
        _setting_text(config, "SamlSettings", "IdAttribute"),
        _setting_text(config, "SamlSettings", "EmailAttribute"),
        _setting_bool(config, "SamlSettings", "EnableSyncWithLdap"),
        _setting_bool(config, "LdapSettings", "Enable"),
        _setting_text(config, "LdapSettings", "IdAttribute"),
        _setting_text(config, "LdapSettings", "LoginIdAttribute"),
        _setting_text(config, "LdapSettings", "EmailAttribute"),
        _setting_text(config, "LdapSettings", "BaseDN"),
        _setting_text(config, "LdapSettings", "UserFilter"),
        _setting_text(config, "ServiceSettings", "SiteURL"),
        _setting_text(config, "SamlSettings", "ServiceProviderIdentifier"),
        _setting_bool(config, "SamlSettings", "EnableSyncWithLdapIncludeAuth"),
        _setting_bool(config, "LdapSettings", "EnableSync"),
    )


def mm_license_row(license_doc: dict, where: str = "mattermost_license.json") -> tuple:
    """``GET /api/v4/license/client?format=old`` answers strings ("true"/"false")."""
    licensed = license_doc.get("IsLicensed")
    if isinstance(licensed, str):
        licensed = licensed.lower() == "true"
    sku = license_doc.get("SkuShortName")
    return (bool(licensed), sku or None, license_doc.get("SkuName") or None, _license_expiry(license_doc, where))


def _license_expiry(license_doc: dict, where: str) -> datetime | None:
    """``ExpiresAt``: milliseconds since the epoch, a string in the old format, a number in the new."""
    value = license_doc.get("ExpiresAt")
    if value in (None, "", "0", 0):
        return None
    try:
        return datetime.fromtimestamp(int(value) / 1000, UTC)
    except (TypeError, ValueError, OverflowError, OSError) as exc:
        raise InputError(where, "ExpiresAt",
                         f"expected milliseconds since the epoch, found {value!r}") from exc


# --- SAML captures (records from reconcile.sources.saml) -----------------------------------------

CLAIMS = "http://schemas.xmlsoap.org/ws/2005/05/identity/claims"
MS_CLAIMS = "http://schemas.microsoft.com/identity/claims"
SAML_CLAIM_URIS = {
    "objectidentifier": ids.OBJECTIDENTIFIER_CLAIM,
    "tenantid": f"{MS_CLAIMS}/tenantid",
    "name": f"{CLAIMS}/name",
    "emailaddress": f"{CLAIMS}/emailaddress",
    "upn": f"{CLAIMS}/upn",
    "immutableid": "http://schemas.microsoft.com/LiveID/Federation/2008/05/ImmutableID",
}
SAML_ASSERTION_COLUMNS = (
    "file", "kind", "signed_element", "response_issuer", "assertion_issuer", "destination", "in_response_to",
    "recipient", "audiences", "not_before", "not_on_or_after", "subject_not_on_or_after", "issue_instant",
    "certificate_not_after", "name_id", "name_id_format", "objectidentifier", "objectidentifier_norm", "tenantid",
    "claim_name", "claim_name_lower", "emailaddress_lower", "upn_lower", "immutableid", "id_attribute_value",
    "source_ref",
)
SAML_ATTRIBUTE_COLUMNS = ("file", "name", "value")
SAML_REJECTED_COLUMNS = ("file", "reason")


def saml_rows(records: Iterable[dict], id_attribute: str | None,
              ) -> Iterator[tuple[str, tuple, list[tuple]]]:
    """("valid", assertion row, attribute rows) or ("invalid", rejected row, []) per capture file.

    Claims are looked up by their exact name, as Mattermost does: a claim sent under another name
    is not the claim (SAML_IDATTRIBUTE_NOT_SENT reads saml_attributes to say so).
    """
    for rec in records:
        if rec["status"] != "valid":
            yield "invalid", (rec["file"], rec.get("reason") or "rejected"), []
            continue
        first: dict[str, str] = {}
        for name, value in rec["attributes"]:
            first.setdefault(name, value)
        claim = {key: first.get(uri) for key, uri in SAML_CLAIM_URIS.items()}
        row = (
            rec["file"], rec.get("kind"), rec.get("signed_element"), rec.get("response_issuer"),
            rec.get("assertion_issuer"), rec.get("destination"), rec.get("in_response_to"), rec.get("recipient"),
            " ".join(rec.get("audiences") or []) or None, rec.get("not_before"), rec.get("not_on_or_after"),
            rec.get("subject_not_on_or_after"), rec.get("issue_instant"), rec.get("certificate_not_after"),
            rec.get("name_id"), rec.get("name_id_format"), claim["objectidentifier"],
            ids.parse_guid(claim["objectidentifier"]), claim["tenantid"], claim["name"], _lower(claim["name"]),
            _lower(claim["emailaddress"]), _lower(claim["upn"]), claim["immutableid"],
            first.get(id_attribute) if id_attribute else None, rec.get("_where"),
        )
        yield "valid", row, [(rec["file"], name, value) for name, value in rec["attributes"]]


# --- MSAL tokens (records from reconcile.sources.tokens) -----------------------------------------

TOKEN_COLUMNS = (
    "line", "alg", "ver", "iss", "tid", "aud", "oid", "oid_norm", "username_lower", "app_id", "scp",
    "expires_at", "source_ref",
)


def _claim_text(claims: dict, key: str) -> str | None:
    value = claims.get(key)
    if isinstance(value, list):  # aud may be an array in some tokens
        value = value[0] if value else None
    return None if value is None else str(value)


def token_rows(records: Iterable[dict]) -> Iterator[tuple]:
    for rec in records:
        claims, header = rec["claims"], rec["header"]
        oid = _claim_text(claims, "oid")
        username = (_claim_text(claims, "preferred_username") or _claim_text(claims, "upn")
                    or _claim_text(claims, "unique_name"))
        exp = claims.get("exp")
        yield (
            rec["line"], _claim_text(header, "alg"), _claim_text(claims, "ver"), _claim_text(claims, "iss"),
            _claim_text(claims, "tid"), _claim_text(claims, "aud"), oid, ids.parse_guid(oid), _lower(username),
            _claim_text(claims, "azp") or _claim_text(claims, "appid"), _claim_text(claims, "scp"),
            datetime.fromtimestamp(exp, UTC) if isinstance(exp, int | float) else None, rec.get("_where"),
        )


# --- Entra app registration ----------------------------------------------------------------------

APPLICATION_COLUMNS = ("app_id", "object_id", "display_name", "requested_access_token_version", "source_ref",
                       "identifier_uris")
APP_SCOPE_COLUMNS = ("scope_id", "value", "is_enabled", "type")
PREAUTHORIZED_COLUMNS = ("app_id", "permission_id")
AUTHORIZATION_POLICY_COLUMNS = ("user_consent", "policies", "source_ref")
REQUIRED_ACCESS_COLUMNS = ("resource_app_id", "access_id", "access_type")
SERVICE_PRINCIPAL_COLUMNS = ("id", "app_id", "display_name", "source_ref")
SP_SCOPE_COLUMNS = ("sp_id", "scope_id", "value")
GRANT_COLUMNS = ("id", "client_id", "consent_type", "principal_id", "resource_id", "scope", "source_ref")


def application_rows(app: dict) -> tuple[tuple, list[tuple], list[tuple], list[tuple]]:
    """(application row, requiredResourceAccess rows, the scopes it defines, its pre-authorized clients)."""
    api = app.get("api") if isinstance(app.get("api"), dict) else {}
    version = api.get("requestedAccessTokenVersion")
    if version is not None and not isinstance(version, int):
        raise _fail(app, f"expected api.requestedAccessTokenVersion to be 1, 2 or null, found {version!r}")
    uris = app.get("identifierUris") or []
    if not isinstance(uris, list) or not all(isinstance(u, str) for u in uris):
        raise _fail(app, f"expected identifierUris to be a list of strings, found {uris!r}")
    scopes = []
    for scope in api.get("oauth2PermissionScopes") or []:
        if not isinstance(scope, dict):
            raise _fail(app, f"expected each api.oauth2PermissionScopes entry to be an object, found {scope!r}")
        scopes.append((_lower(_text(scope, "id")), _text(scope, "value"), _bool(scope, "isEnabled"),
                       _text(scope, "type")))
    preauthorized = []
    for client in api.get("preAuthorizedApplications") or []:
        if not isinstance(client, dict) or not isinstance(client.get("appId"), str):
            raise _fail(app, "expected each api.preAuthorizedApplications entry to have an appId")
        # Graph v1.0 says delegatedPermissionIds; the app manifest's older form says permissionIds
        permissions = client.get("delegatedPermissionIds", client.get("permissionIds")) or [None]
        preauthorized.extend((client["appId"].strip().lower(), str(p).lower() if p else None) for p in permissions)
    access = []
    for resource in app.get("requiredResourceAccess") or []:
        if not isinstance(resource, dict) or not resource.get("resourceAppId"):
            raise _fail(app, "expected each requiredResourceAccess entry to have a resourceAppId")
        entries = resource.get("resourceAccess") or [{}]
        access.extend((str(resource["resourceAppId"]).lower(), e.get("id"), e.get("type")) for e in entries)
    row = (str(app["appId"]).lower(), _text(app, "id"), _text(app, "displayName"), version, app.get("_where"),
           " ".join(u.strip() for u in uris if u.strip()) or None)
    return row, access, scopes, preauthorized


def authorization_policy_row(policy: dict) -> tuple:
    """Whether users may consent to apps themselves, from ``defaultUserRolePermissions
    .permissionGrantPoliciesAssigned`` (Entra's "User consent settings"): no
    ``ManagePermissionGrantsForSelf.*`` policy means user consent is off; ``microsoft-user-default-legacy``
    lets users consent to any app; any other (``microsoft-user-default-low`` or a custom one) limits it."""
    permissions = policy.get("defaultUserRolePermissions")
    if not isinstance(permissions, dict) or not isinstance(
            permissions.get("permissionGrantPoliciesAssigned"), list):
        raise _fail(policy, "expected the authorization policy (GET /v1.0/policies/authorizationPolicy) with "
                            "defaultUserRolePermissions.permissionGrantPoliciesAssigned")
    assigned = [str(p) for p in permissions["permissionGrantPoliciesAssigned"]]
    own = [p for p in assigned if p.startswith("ManagePermissionGrantsForSelf.")]
    if not own:
        consent = "disabled"
    elif "ManagePermissionGrantsForSelf.microsoft-user-default-legacy" in own:
        consent = "enabled"
    else:
        consent = "limited"
    return consent, " ".join(assigned) or None, policy.get("_where")


def service_principal_rows(records: Iterable[dict]) -> Iterator[tuple[tuple, list[tuple]]]:
    for rec in records:
        sp_id = _text(rec, "id", required=True)
        scopes = [(sp_id, s.get("id"), s.get("value")) for s in rec.get("oauth2PermissionScopes") or []
                  if isinstance(s, dict)]
        app_id = _text(rec, "appId")
        yield (sp_id, app_id.lower() if app_id else None, _text(rec, "displayName"), rec.get("_where")), scopes


def grant_rows(records: Iterable[dict]) -> Iterator[tuple]:
    for rec in records:
        yield (_text(rec, "id"), _text(rec, "clientId", required=True), _text(rec, "consentType"),
               _text(rec, "principalId"), _text(rec, "resourceId", required=True), _text(rec, "scope"),
               rec.get("_where"))


# --- Intune iOS App Protection Policies ------------------------------------------------------------

POLICY_APP_COLUMNS = ("policy_id", "display_name", "bundle_id")
POLICY_TARGET_COLUMNS = ("policy_id", "target_type", "group_id")


def intune_policy_rows(records: Iterable[dict]) -> Iterator[tuple[list[tuple], list[tuple]]]:
    """(app rows, target rows) per policy; the @odata.type of a target says what it is."""
    for rec in records:
        policy_id = _text(rec, "id", required=True)
        name = _text(rec, "displayName")
        apps = []
        for app in rec.get("apps") or []:
            identifier = app.get("mobileAppIdentifier") if isinstance(app, dict) else None
            if isinstance(identifier, dict) and identifier.get("bundleId"):
                apps.append((policy_id, name, str(identifier["bundleId"])))
        if "apps" not in rec or "assignments" not in rec:
            raise _fail(rec, "expected 'apps' and 'assignments' in each policy (GET ...iosManagedAppProtections"
                             "?$expand=apps,assignments)")
        targets = []
        for assignment in rec.get("assignments") or []:
            target = assignment.get("target") if isinstance(assignment, dict) else None
            if not isinstance(target, dict):
                raise _fail(rec, "expected each assignment to have a 'target' object")
            kind = str(target.get("@odata.type", "")).rsplit(".", 1)[-1]
            group = ids.parse_guid(target.get("groupId")) if target.get("groupId") else None
            targets.append((policy_id, kind, group))
        yield apps, targets
