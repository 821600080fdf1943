"""Intune iOS App Protection Policies: which apps each protects and whom it is assigned to.

``GET /deviceAppManagement/iosManagedAppProtections?$expand=apps,assignments``, from the export
file or from Graph. A few policies per tenant: projected onto their staging tables in Python.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from pathlib import Path

import duckdb

from reconcile import identifiers as ids
from reconcile.sources.app_registration import read_collection
from reconcile.sources.base import InputInfo
from reconcile.sources.records import fail, text
from reconcile.store import load_rows, scalar

INTUNE_POLICIES = "intune_ios_app_protections.json"

POLICY_APP_COLUMNS = ("policy_id", "display_name", "bundle_id")
POLICY_TARGET_COLUMNS = ("policy_id", "target_type", "group_id")


def intune_policy_rows(records: Iterable[dict]) -> Iterator[tuple[list[tuple], list[tuple]]]:
    """(app rows, target rows) per policy; the @odata.type of a target says what it is."""
    for rec in records:
        policy_id = text(rec, "id", required=True)
        name = text(rec, "displayName")
        apps = []
        for app in rec.get("apps") or []:
            identifier = app.get("mobileAppIdentifier") if isinstance(app, dict) else None
            if isinstance(identifier, dict) and identifier.get("bundleId"):
                apps.append((policy_id, name, str(identifier["bundleId"])))
        if "apps" not in rec or "assignments" not in rec:
            raise fail(rec, "expected 'apps' and 'assignments' in each policy (GET ...iosManagedAppProtections"
                             "?$expand=apps,assignments)")
        targets = []
        for assignment in rec.get("assignments") or []:
            target = assignment.get("target") if isinstance(assignment, dict) else None
            if not isinstance(target, dict):
                raise fail(rec, "expected each assignment to have a 'target' object")
            kind = str(target.get("@odata.type", "")).rsplit(".", 1)[-1]
            group = ids.parse_guid(target.get("groupId")) if target.get("groupId") else None
            targets.append((policy_id, kind, group))
        yield apps, targets


def load_intune_policies(con: duckdb.DuckDBPyConnection, records: Iterable[dict]) -> int:
    """iOS App Protection Policies (apps and assignment targets); returns how many policies."""
    targets: list[tuple] = []

    def apps() -> Iterator[tuple]:
        for app_rows, target_rows in intune_policy_rows(records):
            targets.extend(target_rows)
            yield from app_rows

    load_rows(con, "intune_policy_apps", POLICY_APP_COLUMNS, apps())
    load_rows(con, "intune_policy_targets", POLICY_TARGET_COLUMNS, targets)
    return scalar(con, "SELECT count(DISTINCT policy_id) FROM (SELECT policy_id FROM work.intune_policy_apps "
                       "UNION SELECT policy_id FROM work.intune_policy_targets)")


def land_file(con: duckdb.DuckDBPyConnection, input_dir: Path) -> InputInfo:
    path = input_dir / INTUNE_POLICIES
    if not path.is_file():
        return InputInfo("intune_policies", False, note=f"no {INTUNE_POLICIES}")
    policies = load_intune_policies(con, read_collection(path, INTUNE_POLICIES))
    return InputInfo("intune_policies", True, INTUNE_POLICIES, policies)
