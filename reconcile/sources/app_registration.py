"""Entra app registration exports: the application, service principals, delegated permission grants.

These are Graph objects (``GET /applications(appId='...')``, ``GET /servicePrincipals``,
``GET /oauth2PermissionGrants``); a single object or any collection page shape is accepted, the
same records the live Graph extractor yields. A handful of objects per tenant: they are projected
onto their staging tables here, in Python, and landed by the export files and Graph alike.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from pathlib import Path

import duckdb

from reconcile.errors import InputError
from reconcile.sources.base import InputInfo
from reconcile.sources.jsonfile import iter_graph_objects, load_json
from reconcile.sources.records import boolean, fail, lower, text
from reconcile.store import load_rows

APPLICATION = "entra_application.json"
SERVICE_PRINCIPALS = "entra_service_principals.json"
GRANTS = "entra_oauth2_permission_grants.json"
AUTHORIZATION_POLICY = "entra_authorization_policy.json"


def read_application(path: Path, display_name: str = APPLICATION) -> dict:
    """The one application object: a bare Graph application, or a page holding exactly one."""
    return _read_one(path, display_name, "appId", "a Graph application object with an 'appId' "
                     "(GET /applications(appId='{client id}'))")


def read_authorization_policy(path: Path, display_name: str = AUTHORIZATION_POLICY) -> dict:
    """The tenant's authorization policy: v1.0 answers the object, beta a collection holding one."""
    return _read_one(path, display_name, "defaultUserRolePermissions", "the authorization policy "
                     "(GET /v1.0/policies/authorizationPolicy) with 'defaultUserRolePermissions'")


def _read_one(path: Path, display_name: str, key: str, expected: str) -> dict:
    doc = load_json(path, display_name)
    if isinstance(doc, dict) and "value" in doc:
        values = doc["value"] if isinstance(doc["value"], list) else []
        if len(values) != 1 or not isinstance(values[0], dict):
            raise InputError(display_name, None, f"expected one object, found {len(values)} in 'value'")
        doc = values[0]
    if not isinstance(doc, dict) or not doc.get(key):
        raise InputError(display_name, None, f"expected {expected}")
    return {**doc, "_where": display_name}


def read_collection(path: Path, display_name: str) -> Iterator[dict]:
    """Objects of a Graph collection export (servicePrincipals, oauth2PermissionGrants)."""
    for where, obj in iter_graph_objects(path, display_name):
        yield {**obj, "_where": f"{display_name}: {where}"}


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
        raise fail(app, f"expected api.requestedAccessTokenVersion to be 1, 2 or null, found {version!r}")
    uris = app.get("identifierUris") or []
    if not isinstance(uris, list) or not all(isinstance(u, str) for u in uris):
        raise fail(app, f"expected identifierUris to be a list of strings, found {uris!r}")
    scopes = []
    for scope in api.get("oauth2PermissionScopes") or []:
        if not isinstance(scope, dict):
            raise fail(app, f"expected each api.oauth2PermissionScopes entry to be an object, found {scope!r}")
        scopes.append((lower(text(scope, "id")), text(scope, "value"), boolean(scope, "isEnabled"),
                       text(scope, "type")))
    preauthorized = []
    for client in api.get("preAuthorizedApplications") or []:
        if not isinstance(client, dict) or not isinstance(client.get("appId"), str):
            raise fail(app, "expected each api.preAuthorizedApplications entry to have an appId")
        # Graph v1.0 says delegatedPermissionIds; the app manifest's older form says permissionIds
        permissions = client.get("delegatedPermissionIds", client.get("permissionIds")) or [None]
        preauthorized.extend((client["appId"].strip().lower(), str(p).lower() if p else None) for p in permissions)
    access = []
    for resource in app.get("requiredResourceAccess") or []:
        if not isinstance(resource, dict) or not resource.get("resourceAppId"):
            raise fail(app, "expected each requiredResourceAccess entry to have a resourceAppId")
        entries = resource.get("resourceAccess") or [{}]
        access.extend((str(resource["resourceAppId"]).lower(), e.get("id"), e.get("type")) for e in entries)
    row = (str(app["appId"]).lower(), text(app, "id"), text(app, "displayName"), version, app.get("_where"),
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
        raise fail(policy, "expected the authorization policy (GET /v1.0/policies/authorizationPolicy) with "
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
        sp_id = text(rec, "id", required=True)
        scopes = [(sp_id, s.get("id"), s.get("value")) for s in rec.get("oauth2PermissionScopes") or []
                  if isinstance(s, dict)]
        app_id = text(rec, "appId")
        yield (sp_id, app_id.lower() if app_id else None, text(rec, "displayName"), rec.get("_where")), scopes


def grant_rows(records: Iterable[dict]) -> Iterator[tuple]:
    for rec in records:
        yield (text(rec, "id"), text(rec, "clientId", required=True), text(rec, "consentType"),
               text(rec, "principalId"), text(rec, "resourceId", required=True), text(rec, "scope"),
               rec.get("_where"))


def load_application(con: duckdb.DuckDBPyConnection, app: dict) -> None:
    row, access, scopes, preauthorized = application_rows(app)
    load_rows(con, "entra_application", APPLICATION_COLUMNS, [row])
    load_rows(con, "entra_app_required_access", REQUIRED_ACCESS_COLUMNS, access)
    load_rows(con, "entra_app_scopes", APP_SCOPE_COLUMNS, scopes)
    load_rows(con, "entra_app_preauthorized", PREAUTHORIZED_COLUMNS, preauthorized)


def load_authorization_policy(con: duckdb.DuckDBPyConnection, policy: dict) -> None:
    load_rows(con, "entra_authorization_policy", AUTHORIZATION_POLICY_COLUMNS, [authorization_policy_row(policy)])


def load_service_principals(con: duckdb.DuckDBPyConnection, records: Iterable[dict]) -> int:
    """Service principals, and the delegated scopes each publishes."""
    scopes: list[tuple] = []

    def rows() -> Iterator[tuple]:
        for row, published in service_principal_rows(records):
            scopes.extend(published)
            yield row

    count = load_rows(con, "entra_service_principals", SERVICE_PRINCIPAL_COLUMNS, rows())
    load_rows(con, "entra_sp_scopes", SP_SCOPE_COLUMNS, scopes)
    return count


def land_files(con: duckdb.DuckDBPyConnection, input_dir: Path) -> list[InputInfo]:
    """The server API app registration, the service principals and the tenant's consent grants."""
    infos = []
    path = input_dir / APPLICATION
    if path.is_file():
        load_application(con, read_application(path))
        infos.append(InputInfo("entra_application", True, APPLICATION, 1))
    else:
        infos.append(InputInfo("entra_application", False, note=f"no {APPLICATION}"))
    path = input_dir / SERVICE_PRINCIPALS
    if path.is_file():
        count = load_service_principals(con, read_collection(path, SERVICE_PRINCIPALS))
        infos.append(InputInfo("entra_service_principals", True, SERVICE_PRINCIPALS, count))
    else:
        infos.append(InputInfo("entra_service_principals", False, note=f"no {SERVICE_PRINCIPALS}"))
    path = input_dir / GRANTS
    if path.is_file():
        count = load_rows(con, "entra_oauth2_grants", GRANT_COLUMNS, grant_rows(read_collection(path, GRANTS)))
        infos.append(InputInfo("entra_grants", True, GRANTS, count))
    else:
        infos.append(InputInfo("entra_grants", False, note=f"no {GRANTS}"))
    path = input_dir / AUTHORIZATION_POLICY
    if path.is_file():
        load_authorization_policy(con, read_authorization_policy(path))
        infos.append(InputInfo("entra_authorization_policy", True, AUTHORIZATION_POLICY, 1))
    else:
        infos.append(InputInfo("entra_authorization_policy", False,
                               note=f"no {AUTHORIZATION_POLICY}: whether users may consent is unknown"))
    return infos
