"""The Mattermost sources: its config, its license, and its accounts.

Each reads the export file (config.json, the client license, ``mmctl user list --all --json``) or
the live server (the REST API; for accounts also the PostgreSQL database). Accounts land in
``raw_mm_users`` as read; sql/stage/30_mm_users.sql computes the forms of ``auth_data`` the rules
compare. The config is read first: the Entra app id, the LDAP defaults and the SAML id attribute
come from it (RunContext.config).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import duckdb

from reconcile.errors import EmptySourceError, InputError
from reconcile.sources.base import InputInfo, RunContext, columns_of
from reconcile.sources.json_native import Collection, land_collection
from reconcile.sources.mattermost_files import read_json_object, read_mattermost_users
from reconcile.sources.records import scalar_text
from reconcile.store import load_rows

MM_USERS = "mattermost_users.json"
MM_CONFIG = "mattermost_config.json"
MM_LICENSE = "mattermost_license.json"


@dataclass(frozen=True)
class LiveReader:
    """A live system standing in for one export file: where it reads, and what it returns."""

    label: str                    # e.g. "https://chat.contoso.com (Mattermost API)"
    read: Callable[[], Any]       # the document, or an iterable of records
    note: str | None = None       # e.g. "plain http (--mattermost-insecure): ..."


def _document(live: LiveReader | None, ctx: RunContext, file: str, what: str) -> tuple[str, dict] | None:
    """(where it was read, the document) from the live server or the export file; None when neither."""
    if live is not None:
        return live.label, live.read()
    path = ctx.input_dir / file
    return (file, read_json_object(path, what)) if path.is_file() else None


class MattermostConfigSource:
    name = "mattermost_config"
    inputs = ("mattermost_config",)
    tables = ("mm_config",)

    def __init__(self, live: LiveReader | None = None):
        self.live = live

    def land(self, con: duckdb.DuckDBPyConnection, ctx: RunContext) -> list[InputInfo]:
        read = _document(self.live, ctx, MM_CONFIG, "Mattermost config.json or GET /api/v4/config")
        if read is None:
            return [InputInfo("mattermost_config", False, note=f"no {MM_CONFIG}")]
        where, config = read
        if not any(key.endswith("Settings") for key in config):
            raise InputError(where, None, "expected Mattermost's config.json (sections such as "
                             "ServiceSettings, IntuneSettings, SamlSettings); found no *Settings section")
        load_rows(con, "mm_config", columns_of(con, "mm_config"), [mm_config_row(config)])
        ctx.config = config
        return [InputInfo("mattermost_config", True, where, 1)]


class MattermostLicenseSource:
    name = "mattermost_license"
    inputs = ("mattermost_license",)
    tables = ("mm_license",)

    def __init__(self, live: LiveReader | None = None):
        self.live = live

    def land(self, con: duckdb.DuckDBPyConnection, ctx: RunContext) -> list[InputInfo]:
        read = _document(self.live, ctx, MM_LICENSE, "GET /api/v4/license/client?format=old")
        if read is None:
            return [InputInfo("mattermost_license", False, note=f"no {MM_LICENSE}")]
        where, doc = read
        if "IsLicensed" not in doc:
            raise InputError(where, None, "expected the client license (GET /api/v4/license/client"
                             "?format=old) with an 'IsLicensed' field")
        load_rows(con, "mm_license", columns_of(con, "mm_license"), [mm_license_row(doc, where)])
        return [InputInfo("mattermost_license", True, where, 1)]


MM_USER = Collection(
    "STRUCT(id VARCHAR, username VARCHAR, email VARCHAR, auth_service VARCHAR, auth_data VARCHAR, "
    "delete_at VARCHAR, is_bot VARCHAR)",
    "u.id, u.username, u.email, u.auth_service, u.auth_data, u.delete_at, u.is_bot")
RAW_MM_USER_COLUMNS = ("id", "username", "email", "auth_service", "auth_data", "delete_at", "is_bot", "source_ref")


def raw_mm_user_rows(records: Iterable[dict]) -> Iterator[tuple]:
    """API, database and streamed-file records onto raw_mm_users, values as read."""
    for rec in records:
        yield (scalar_text(rec.get("id")), scalar_text(rec.get("username")), scalar_text(rec.get("email")),
               scalar_text(rec.get("auth_service")), scalar_text(rec.get("auth_data")),
               scalar_text(rec.get("delete_at")), scalar_text(rec.get("is_bot")), rec.get("_where"))


class MattermostUsersSource:
    name = "mattermost_users"
    inputs = ("mattermost_users",)
    tables = ("raw_mm_users",)

    def __init__(self, live: LiveReader | None = None):
        self.live = live

    def land(self, con: duckdb.DuckDBPyConnection, ctx: RunContext) -> list[InputInfo]:
        if self.live is not None:
            where, note = self.live.label, self.live.note
            count = load_rows(con, "raw_mm_users", RAW_MM_USER_COLUMNS, raw_mm_user_rows(self.live.read()))
        else:
            path = ctx.input_dir / MM_USERS
            if not path.is_file():
                return [InputInfo("mattermost_users", False, note=f"no {MM_USERS}")]
            where, note = MM_USERS, None
            count = land_collection(con, path, MM_USERS, "raw_mm_users", MM_USER, pages=False)
            if count is None:  # API pages, objects one after another, or a broken file: streamed, located
                count = load_rows(con, "raw_mm_users", RAW_MM_USER_COLUMNS,
                                  raw_mm_user_rows(read_mattermost_users(path)))
        if count == 0:  # a server has at least the admin who set it up
            problem = (f"{MM_USERS} holds no users; expected mmctl user list --all --json output" if self.live is None
                       else f"{where} returned no users; expected every Mattermost account (a server has at least "
                            "its system admin): check that it is the right server")
            raise EmptySourceError(problem, where)
        return [InputInfo("mattermost_users", True, where, count, note)]


# --- the config and license documents: the settings the rules read -------------------------------

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
