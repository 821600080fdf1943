"""Entra app registration exports: the application, service principals, delegated permission grants.

These are Graph objects (``GET /applications(appId='...')``, ``GET /servicePrincipals``,
``GET /oauth2PermissionGrants``); a single object or any collection page shape is accepted, the
same records the live Graph extractor will yield.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

from reconcile.errors import InputError
from reconcile.sources.jsonfile import iter_graph_objects, load_json

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
