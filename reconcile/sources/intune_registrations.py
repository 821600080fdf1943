"""Intune's MAM registrations: who completed App Protection enrollment in which app (issue 15).

``GET /deviceAppManagement/managedAppRegistrations``, from the export file (one Graph page, an array of
pages or an array of registrations) or from Graph. Every registration of the tenant is landed as read
(Outlook, Teams, Android apps included: they are counted, then ignored); sql/stage/50_intune_registrations.sql
parses the timestamps and the userId and keeps the iOS ones of a Mattermost bundle id, and
sql/outcomes/ compares them with what the run predicted. Optional: without it the outcome rules are
skipped and no outcomes are reported.

One registration per app per device per user: at a million users this is millions of objects, so the
file goes through DuckDB's own JSON reader first (reconcile.sources.json_native), the streaming reader
only for other shapes and to say where a broken file is broken.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from pathlib import Path

import duckdb

from reconcile.sources.app_registration import read_collection
from reconcile.sources.base import PRODUCTION_BUNDLE_ID, InputInfo
from reconcile.sources.json_native import Collection, land_collection
from reconcile.sources.records import fail, scalar_text
from reconcile.store import load_rows

INTUNE_REGISTRATIONS = "intune_app_registrations.json"
INPUT = "intune_registrations"
BETA_BUNDLE_ID = "com.mattermost.rnbeta"  # the TestFlight build of Mattermost Mobile

RAW_COLUMNS = ("id", "user_id", "app_type", "bundle_id", "created", "last_sync", "application_version",
               "platform_version", "device_name", "flagged_reasons", "source_ref")
REGISTRATION = Collection(
    "STRUCT(id VARCHAR, userId VARCHAR, appIdentifier STRUCT(\"@odata.type\" VARCHAR, bundleId VARCHAR, "
    "packageId VARCHAR), createdDateTime VARCHAR, lastSyncDateTime VARCHAR, applicationVersion VARCHAR, "
    "platformVersion VARCHAR, deviceName VARCHAR, flaggedReasons VARCHAR[])",
    "u.id, u.userId, u.appIdentifier.\"@odata.type\", coalesce(u.appIdentifier.bundleId, u.appIdentifier.packageId), "
    "u.createdDateTime, u.lastSyncDateTime, u.applicationVersion, u.platformVersion, u.deviceName, "
    "u.flaggedReasons")


def registration_bundle_ids(ios_bundle_ids: tuple[str, ...]) -> tuple[str, ...]:
    """The bundle ids whose registrations count: those given with --ios-bundle-id, or, left at the
    default, both published builds (a tester enrolled with the beta got through just the same)."""
    if tuple(ios_bundle_ids) == (PRODUCTION_BUNDLE_ID,):
        return (PRODUCTION_BUNDLE_ID, BETA_BUNDLE_ID)
    return tuple(ios_bundle_ids)


def raw_registration_rows(records: Iterable[dict]) -> Iterator[tuple]:
    """Graph managedAppRegistration dicts (live pages, the streamed file) onto raw_intune_registrations."""
    for rec in records:
        app = rec.get("appIdentifier")
        if app is not None and not isinstance(app, dict):
            raise fail(rec, "expected 'appIdentifier' to be an object (a mobileAppIdentifier)")
        app = app or {}
        reasons = rec.get("flaggedReasons") or []
        if not isinstance(reasons, list):
            raise fail(rec, "expected 'flaggedReasons' to be an array of strings")
        yield (scalar_text(rec.get("id")), scalar_text(rec.get("userId")), scalar_text(app.get("@odata.type")),
               scalar_text(app.get("bundleId") or app.get("packageId")), scalar_text(rec.get("createdDateTime")),
               scalar_text(rec.get("lastSyncDateTime")), scalar_text(rec.get("applicationVersion")),
               scalar_text(rec.get("platformVersion")), scalar_text(rec.get("deviceName")),
               [scalar_text(r) for r in reasons], rec.get("_where"))


def land_registrations(con: duckdb.DuckDBPyConnection, records: Iterable[dict]) -> int:
    return load_rows(con, "raw_intune_registrations", RAW_COLUMNS, raw_registration_rows(records))


def land_file(con: duckdb.DuckDBPyConnection, input_dir: Path) -> InputInfo:
    """The export file, if there is one. An empty file is a tenant where nobody has enrolled yet (before
    enablement, or a new policy): available, with no registration, so everyone is "not enrolled"."""
    path = input_dir / INTUNE_REGISTRATIONS
    if not path.is_file():
        return InputInfo(INPUT, False, note=f"no {INTUNE_REGISTRATIONS}: outcomes not measured")
    count = land_collection(con, path, INTUNE_REGISTRATIONS, "raw_intune_registrations", REGISTRATION)
    if count is None:
        count = land_registrations(con, read_collection(path, INTUNE_REGISTRATIONS))
    return InputInfo(INPUT, True, INTUNE_REGISTRATIONS, count)
