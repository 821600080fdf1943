"""The Entra source read from export files: users, policy groups, the app registration, the policies.

Users (``GET /users`` pages as ``entra_users.json``, or the admin center's "Download users" CSV)
land in ``raw_entra_users`` as read, group members in ``raw_entra_group_members``;
sql/stage/ computes the normal forms. The live Graph pull (reconcile.sources.entra_graph) lands
the same raw tables through :func:`land_users` and :func:`land_group_members`.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from pathlib import Path

import duckdb

from reconcile import identifiers as ids
from reconcile.errors import EmptySourceError, InputError
from reconcile.paths import sql_dir
from reconcile.sources import app_registration, intune_policies, intune_registrations
from reconcile.sources.base import InputInfo, RunContext, failed_inputs
from reconcile.sources.entra_files import read_entra_users_csv, read_graph_users
from reconcile.sources.export_paths import display_name
from reconcile.sources.json_native import Collection, land_collection
from reconcile.sources.records import fail, scalar_text
from reconcile.store import load_rows, scalar

ENTRA_USERS_JSON = "entra_users.json"
ENTRA_USERS_CSV = "entra_users.csv"
ENTRA_GROUPS_DIR = "entra_groups"
USER_TABLES = ("raw_entra_users",)

# The fields of a Graph user the rules read; DuckDB skips the others without building them.
ENTRA_USER = Collection(
    "STRUCT(id VARCHAR, userPrincipalName VARCHAR, mail VARCHAR, onPremisesImmutableId VARCHAR, "
    "accountEnabled VARCHAR, userType VARCHAR, displayName VARCHAR, otherMails VARCHAR[], "
    "assignedPlans STRUCT(servicePlanId VARCHAR, capabilityStatus VARCHAR)[])",
    "u.id, u.userPrincipalName, u.mail, u.onPremisesImmutableId, u.accountEnabled, u.userType, u.displayName, "
    "u.otherMails, u.assignedPlans IS NOT NULL, "
    f"list_transform(list_filter(u.assignedPlans, lambda p: lower(p.servicePlanId) = '{ids.INTUNE_SERVICE_PLAN_ID}'),"
    " lambda p: p.capabilityStatus)")
GROUP_MEMBER = Collection("STRUCT(id VARCHAR, userPrincipalName VARCHAR)", "u.id, u.userPrincipalName")
RAW_USER_COLUMNS = ("id", "user_principal_name", "mail", "immutable_id", "account_enabled", "user_type",
                    "display_name", "other_mails", "has_assigned_plans", "intune_statuses", "source_ref")
RAW_MEMBER_COLUMNS = ("group_id", "id", "user_principal_name", "source_ref")


def raw_user_rows(records: Iterable[dict]) -> Iterator[tuple]:
    """Graph user dicts (live pages, the streamed file, the CSV) onto raw_entra_users."""
    for rec in records:
        other = rec.get("otherMails") or []
        if not isinstance(other, list):
            raise fail(rec, "expected 'otherMails' to be an array of strings")
        plans = rec.get("assignedPlans") or []
        if not isinstance(plans, list):
            raise fail(rec, "expected 'assignedPlans' to be an array")
        intune = [scalar_text(plan.get("capabilityStatus")) for plan in plans if isinstance(plan, dict)
                  and str(plan.get("servicePlanId", "")).lower() == ids.INTUNE_SERVICE_PLAN_ID]
        yield (scalar_text(rec.get("id")), scalar_text(rec.get("userPrincipalName")), scalar_text(rec.get("mail")),
               scalar_text(rec.get("onPremisesImmutableId")), scalar_text(rec.get("accountEnabled")),
               scalar_text(rec.get("userType")), scalar_text(rec.get("displayName")),
               [m for m in other if isinstance(m, str)], "assignedPlans" in rec, intune, rec.get("_where"))


def land_users(con: duckdb.DuckDBPyConnection, records: Iterable[dict]) -> int:
    return load_rows(con, "raw_entra_users", RAW_USER_COLUMNS, raw_user_rows(records))


def land_group_members(con: duckdb.DuckDBPyConnection, group_id: str, records: Iterable[dict]) -> int:
    rows = ((group_id, scalar_text(r.get("id")), scalar_text(r.get("userPrincipalName")), r.get("_where"))
            for r in records)
    return load_rows(con, "raw_entra_group_members", RAW_MEMBER_COLUMNS, rows)


def land_users_file(con: duckdb.DuckDBPyConnection, path: Path, name: str) -> int:
    """DuckDB's reader first; the streaming reader for any other shape (and to locate a broken file)."""
    count = land_collection(con, path, name, "raw_entra_users", ENTRA_USER)
    return count if count is not None else land_users(con, read_graph_users(path, name))


def land_group_file(con: duckdb.DuckDBPyConnection, group_id: str, path: Path, name: str) -> int:
    count = land_collection(con, path, name, "raw_entra_group_members", GROUP_MEMBER,
                            prefix_columns=f"'{group_id}', ")
    return count if count is not None else land_group_members(con, group_id, read_graph_users(path, name))


class EntraExport:
    """Entra from the export directory: every file is optional except that a policy group must come
    with its members (otherwise who is targeted would be a guess)."""

    name = "entra"
    inputs = ("entra_users", "entra_licenses", "entra_groups", "entra_application", "entra_service_principals",
              "entra_grants", "entra_authorization_policy", "intune_policies", "intune_registrations")
    tables = ("raw_entra_users", "raw_entra_group_members", "raw_intune_registrations")

    def land(self, con: duckdb.DuckDBPyConnection, ctx: RunContext) -> list[InputInfo]:
        infos = [*self._users(con, ctx.input_dir), self._groups(con, ctx.input_dir),
                 *app_registration.land_files(con, ctx.input_dir), intune_policies.land_file(con, ctx.input_dir),
                 intune_registrations.land_file(con, ctx.input_dir)]
        require_group_members(con)
        return infos

    def _users(self, con: duckdb.DuckDBPyConnection, input_dir: Path) -> list[InputInfo]:
        json_path, csv_path = input_dir / ENTRA_USERS_JSON, input_dir / ENTRA_USERS_CSV
        if json_path.is_file():
            file = ENTRA_USERS_JSON
            count = land_users_file(con, json_path, file)
            note = f"{ENTRA_USERS_CSV} ignored: {ENTRA_USERS_JSON} is preferred" if csv_path.is_file() else None
        elif csv_path.is_file():
            file, note = ENTRA_USERS_CSV, None
            count = land_users(con, read_entra_users_csv(csv_path))
        else:
            missing = f"no {ENTRA_USERS_JSON} or {ENTRA_USERS_CSV}"
            return [InputInfo("entra_users", False, note=missing), InputInfo("entra_licenses", False, note=missing)]
        if count == 0:  # a tenant always has users: this is the wrong file, or an export that went wrong
            expected = ("Graph's GET /v1.0/users output" if file == ENTRA_USERS_JSON
                        else "the Entra admin center's Download users CSV")
            return failed_inputs(con, ("entra_users", "entra_licenses"), USER_TABLES,
                                 EmptySourceError(f"{file} holds no users; expected {expected}", file))
        with_plans = scalar(con, "SELECT count(*) FROM work.raw_entra_users WHERE has_assigned_plans")
        licenses = InputInfo("entra_licenses", with_plans > 0, file if with_plans else None,
                             with_plans if with_plans else None,
                             None if with_plans else f"{file} carries no assignedPlans")
        return [InputInfo("entra_users", True, file, count, note), licenses]

    def _groups(self, con: duckdb.DuckDBPyConnection, input_dir: Path) -> InputInfo:
        folder = input_dir / ENTRA_GROUPS_DIR
        files = sorted(folder.glob("*.json")) if folder.is_dir() else []
        if not files:
            return InputInfo("entra_groups", False,
                             note="no entra_groups/*.json: every enabled member user is treated as targeted")
        total = 0
        for path in files:
            name = f"{ENTRA_GROUPS_DIR}/{display_name(path.name)}"
            group_id = ids.parse_guid(path.stem)
            if group_id is None:
                raise InputError(name, None, "expected the file to be named <group-object-id>.json (a GUID)")
            total += land_group_file(con, group_id, path, name)
            con.execute("INSERT INTO work.entra_groups_read VALUES ($1, 'export', true, $2)", [group_id, name])
        return InputInfo("entra_groups", True, f"{ENTRA_GROUPS_DIR}/ ({len(files)} groups)", total)


def targeting_groups(con: duckdb.DuckDBPyConnection) -> list[tuple[str, str]]:
    """(group id, 'override' | 'policy') for every group whose members decide who is targeted."""
    return con.execute((sql_dir() / "targeting_groups.sql").read_text(encoding="utf-8")).fetchall()


def require_group_members(con: duckdb.DuckDBPyConnection) -> None:
    """A group that decides who is targeted must have its members exported, or targeting is a guess."""
    exported = {row[0] for row in con.execute("SELECT DISTINCT group_id FROM work.raw_entra_group_members").fetchall()}
    for group, source in targeting_groups(con):
        if group not in exported:
            raise InputError("--intune-group" if source == "override" else intune_policies.INTUNE_POLICIES, None,
                             f"group {group} decides who is targeted, but {ENTRA_GROUPS_DIR}/{group}.json is "
                             "missing; export its members with GET /groups/{id}/transitiveMembers/microsoft.graph.user")
