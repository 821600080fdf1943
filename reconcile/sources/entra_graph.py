"""The Entra source read live from Microsoft Graph: the same raw and staging rows the export files give.

Order matters: the cheap probe first (bad credentials stop the run before anything else), then
the policies (they say which groups matter), users, those groups' members, and the app
registration. A call that still fails after the retry budget fails only the inputs it feeds: their
staging rows are emptied, they are marked failed, and the run is partial; rules that need them are
skipped rather than run on half a directory.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import duckdb

from reconcile.errors import EmptySourceError, SourceError
from reconcile.identifiers import MAM_APP_ID, MOBILE_CLIENT_IDS, parse_guid
from reconcile.permissions import APPLICATION, INPUT_GRAPH, skip_reason
from reconcile.sources.app_registration import (
    GRANT_COLUMNS,
    grant_rows,
    load_application,
    load_authorization_policy,
    load_service_principals,
)
from reconcile.sources.base import InputInfo, RunContext, failed_inputs
from reconcile.sources.entra import land_group_members, land_users, targeting_groups
from reconcile.sources.graph import DeltaExpired, GraphAuthError, GraphSource
from reconcile.sources.intune_policies import load_intune_policies
from reconcile.sources.intune_registrations import land_registrations
from reconcile.store import load_rows

GRAPH = "Microsoft Graph"


@dataclass(frozen=True)
class GraphPull:
    """What to pull beyond users (the policies unless groups were given, the app registration), and
    how to pull users: whole, or as a delta round applied to the last committed run in the store."""

    discover_policies: bool
    app_id: str | None
    incremental: bool = False
    full_pull: bool = False          # with incremental: ignore the stored delta link
    store_path: Path | None = None
    source_key: str = ""             # which Graph and tenant the stored delta link belongs to
    mobile_client_ids: tuple[str, ...] = tuple(MOBILE_CLIENT_IDS)  # Mattermost Mobile's appIds
    exception_groups: tuple[str, ...] = ()  # groups exceptions entries name (never targeting groups)


def _guarded(con: duckdb.DuckDBPyConnection, names: tuple[str, ...], tables: tuple[str, ...],
             load: Callable[[], list[InputInfo]]) -> list[InputInfo]:
    """Run one extraction; a source failure fails only the inputs it feeds (a partial run)."""
    try:
        return load()
    except SourceError as exc:
        return failed_inputs(con, names, tables, exc, GRAPH)


class _Permissions:
    """Which Graph parts the token may read (issue 13). With a JWT its ``roles``/``scp`` decide before a
    part is called; with an opaque token the part is called and a 403 decides. Either way a part whose
    permission is missing is skipped: its inputs are failed (the run is partial) with the sentence that
    names the permission and the app registration to grant it to, never read as empty or passing."""

    def __init__(self, con: duckdb.DuckDBPyConnection, source: GraphSource):
        self.con = con
        self.grants = source.token_grants()
        self.kind = self.grants.kind if self.grants else APPLICATION
        self.app_id = (self.grants.app_id if self.grants else None) or source.settings.client_id

    def lacking(self, needed: tuple[str, ...]) -> str | None:
        """The first of ``needed`` the token is known to lack (None with an opaque token)."""
        missing = self.grants.missing(needed) if self.grants else []
        return missing[0] if missing else None

    def skipped(self, names: tuple[str, ...], tables: tuple[str, ...], permission: str) -> list[InputInfo]:
        for table in tables:
            self.con.execute(f"DELETE FROM work.{table}")
        note = skip_reason(permission, self.kind, self.app_id)
        return [InputInfo(name, False, GRAPH, None, note, failed=True, missing_permission=(permission, self.kind))
                for name in names]

    def part(self, names: tuple[str, ...], tables: tuple[str, ...], needed: tuple[str, ...],
             load: Callable[[], list[InputInfo]]) -> list[InputInfo]:
        """One Graph part: skipped for a missing permission, else read (a source failure fails only it)."""
        lacking = self.lacking(needed)
        if lacking:
            return self.skipped(names, tables, lacking)
        try:
            return _guarded(self.con, names, tables, load)
        except GraphAuthError as exc:
            if exc.status != 403:
                raise
            return self.skipped(names, tables, exc.permission or needed[0])


def load_entra_from_graph(con: duckdb.DuckDBPyConnection, source: GraphSource, pull: GraphPull) -> list[InputInfo]:
    """Load users, licences, targeting groups, policies and the app registration from Graph.

    The probe proves the credentials and User.Read.All: a 401, or a 403 for the users themselves,
    propagates (GraphAuthError: the Entra source fails as a whole). Every other part needs its own
    permission (reconcile.permissions.INPUT_GRAPH) and is skipped without it (_Permissions).
    """
    source.probe()
    gate = _Permissions(con, source)
    infos: list[InputInfo] = []
    if pull.discover_policies:
        infos += gate.part(("intune_policies",), ("intune_policy_apps", "intune_policy_targets"),
                           INPUT_GRAPH["intune_policies"], lambda: [_load_policies(con, source)])
    else:
        infos.append(InputInfo("intune_policies", False, note="--intune-group given: policies not discovered"))
    load_users = (lambda: _load_users_incremental(con, source, pull)) if pull.incremental else (
        lambda: _load_users(con, source))
    infos += _guarded(con, ("entra_users", "entra_licenses"),
                      ("raw_entra_users", "entra_user_raw", "graph_state_pending"), load_users)
    infos += gate.part(("entra_groups",), ("raw_entra_group_members", "entra_groups_read"),
                       INPUT_GRAPH["entra_groups"], lambda: [_load_groups(con, source)])
    _load_exception_groups(con, source, pull.exception_groups, gate)
    if pull.app_id and parse_guid(pull.app_id):
        app_id = pull.app_id
        infos += gate.part(("entra_application", "entra_service_principals", "entra_grants"),
                           ("entra_application", "entra_app_required_access", "entra_app_scopes",
                            "entra_app_preauthorized", "entra_service_principals",
                            "entra_sp_scopes", "entra_oauth2_grants"), INPUT_GRAPH["entra_application"],
                           lambda: _load_app_registration(con, source, app_id, pull.mobile_client_ids, gate))
    else:
        note = (f"app id {pull.app_id!r} is not a GUID" if pull.app_id
                else "no app id: give --entra-app-id or set IntuneSettings.ClientId")
        infos += [InputInfo(name, False, note=note)
                  for name in ("entra_application", "entra_service_principals", "entra_grants")]
    infos += gate.part(("entra_authorization_policy",), ("entra_authorization_policy",),
                       INPUT_GRAPH["entra_authorization_policy"], lambda: [_load_authorization_policy(con, source)])
    infos += _optional(gate.part(("intune_registrations",), ("raw_intune_registrations",),
                                 INPUT_GRAPH["intune_registrations"], lambda: [_load_registrations(con, source)]))
    return infos


def _optional(infos: list[InputInfo]) -> list[InputInfo]:
    """The registrations are optional (issue 15): without their permission the outcome rules are skipped
    with the sentence that names it, and the audit itself stays complete (it needs no registration).
    A registrations pull that fails for any other reason still fails the run: they were meant to be read."""
    return [InputInfo(i.name, False, i.file, None, i.note, False, i.missing_permission)
            if i.missing_permission else i for i in infos]


def _load_registrations(con: duckdb.DuckDBPyConnection, source: GraphSource) -> InputInfo:
    count = land_registrations(con, source.managed_app_registrations())
    return InputInfo("intune_registrations", True, f"{GRAPH}: managedAppRegistrations", count)


def _load_authorization_policy(con: duckdb.DuckDBPyConnection, source: GraphSource) -> InputInfo:
    load_authorization_policy(con, source.authorization_policy())
    return InputInfo("entra_authorization_policy", True, f"{GRAPH}: policies/authorizationPolicy", 1)


def _load_policies(con: duckdb.DuckDBPyConnection, source: GraphSource) -> InputInfo:
    count = load_intune_policies(con, source.ios_app_protections())
    return InputInfo("intune_policies", True, f"{GRAPH}: iosManagedAppProtections", count)


def _no_users(call: str) -> EmptySourceError:
    """A tenant always has users: none means the credentials reach another tenant or cloud than meant."""
    return EmptySourceError(f"{GRAPH} {call} returned no users; a tenant always has users: check which tenant "
                            "the credentials belong to and RECONCILE_GRAPH_BASE_URL", GRAPH)


def _load_users(con: duckdb.DuckDBPyConnection, source: GraphSource) -> list[InputInfo]:
    count = land_users(con, source.users())
    if count == 0:
        raise _no_users("GET /users")
    return [InputInfo("entra_users", True, f"{GRAPH}: /users", count),
            InputInfo("entra_licenses", True, f"{GRAPH}: /users assignedPlans", count)]


def _previous_state(pull: GraphPull) -> tuple[str, str] | None:
    """(delta link, run id) saved by the last committed incremental run, if any."""
    if pull.full_pull or pull.store_path is None or not pull.store_path.is_file():
        return None
    with duckdb.connect(str(pull.store_path), read_only=True) as store:
        tables = store.execute("SELECT count(*) FROM information_schema.tables "
                               "WHERE table_name IN ('graph_delta_state', 'stg_entra_user_raw')").fetchall()[0][0]
        if tables != 2:
            return None
        rows = store.execute("SELECT delta_link, run_id FROM graph_delta_state WHERE source_key = $1",
                             [pull.source_key]).fetchall()
    return rows[0] if rows else None


def _previous_users(store_path: Path, run_id: str) -> Iterator[dict]:
    """The raw users of the run a delta link belongs to, streamed from the store."""
    with duckdb.connect(str(store_path), read_only=True) as store:
        cursor = store.execute("SELECT raw FROM stg_entra_user_raw WHERE run_id = $1", [run_id])
        while rows := cursor.fetchmany(10_000):
            for (raw,) in rows:
                yield json.loads(raw)


def _load_users_incremental(con: duckdb.DuckDBPyConnection, source: GraphSource, pull: GraphPull) -> list[InputInfo]:
    """Apply a /users/delta round to the previous run's users, or start one from scratch.

    The previous users come from the store, the changes from Graph; adds and changed properties
    are merged in, ``@removed`` users (soft-deleted "changed" or gone "deleted") are dropped.
    """
    previous = _previous_state(pull)
    note = "full pull (--full-pull)" if pull.full_pull else "first incremental run: full delta round"
    records: Iterator[dict]
    if previous is not None:
        link, base_run = previous
        try:
            delta = source.users_delta(link)
            changes, removed = {}, set()
            for rec in delta:
                if "@removed" in rec:
                    removed.add(rec["id"])
                    changes.pop(rec["id"], None)
                else:
                    changes.setdefault(rec["id"], {}).update(rec)
            records = _merged(_previous_users(pull.store_path, base_run), changes, removed)
            note = f"incremental: {len(changes)} added or changed, {len(removed)} removed since run {base_run}"
        except DeltaExpired as exc:
            previous, note = None, f"the stored delta link was rejected ({exc}); fell back to a full pull"
    if previous is None:
        delta = source.users_delta(None)
        records = (rec for rec in delta if "@removed" not in rec)
    raw_rows: list[tuple] = []

    def keep_raw(stream: Iterator[dict]) -> Iterator[dict]:
        for rec in stream:
            raw_rows.append((rec["id"], json.dumps({k: v for k, v in rec.items() if k != "_where"})))
            yield rec

    count = land_users(con, keep_raw(records))
    if count == 0:  # never saved as the base of the next round: the run is partial
        raise _no_users("GET /users/delta" if previous is None else f"/users/delta applied to run {previous[1]}")
    load_rows(con, "entra_user_raw", ("object_id", "raw"), raw_rows)
    if delta.delta_link:
        load_rows(con, "graph_state_pending", ("source_key", "delta_link"), [(pull.source_key, delta.delta_link)])
    return [InputInfo("entra_users", True, f"{GRAPH}: /users/delta", count, note),
            InputInfo("entra_licenses", True, f"{GRAPH}: /users/delta assignedPlans", count)]


def _merged(previous: Iterator[dict], changes: dict[str, dict], removed: set[str]) -> Iterator[dict]:
    seen = set()
    for user in previous:
        uid = user.get("id")
        if uid in removed:
            continue
        if uid in changes:
            seen.add(uid)
            user = {**user, **changes[uid]}
        yield user
    for uid, change in changes.items():
        if uid not in seen:
            yield change


def _load_groups(con: duckdb.DuckDBPyConnection, source: GraphSource) -> InputInfo:
    groups = [group for group, _ in targeting_groups(con)]
    if not groups:
        return InputInfo("entra_groups", False, note="no policy groups to pull: every enabled member user is targeted")
    total = 0
    for group in groups:
        total += land_group_members(con, group, source.group_members(group))
        con.execute("INSERT INTO work.entra_groups_read VALUES ($1, 'targeting', true, NULL)", [group])
    return InputInfo("entra_groups", True, f"{GRAPH}: transitiveMembers of {len(groups)} group(s)", total)


def _load_exception_groups(con: duckdb.DuckDBPyConnection, source: GraphSource, groups: tuple[str, ...],
                           gate: _Permissions) -> None:
    """The members of the groups exceptions entries name and the targeting did not already read. A
    group that cannot be read (deleted, no permission) fails neither the source nor the run: the entry
    covers nothing, and EXCEPTION_UNUSED says why (an exception must never silence by guesswork)."""
    read = {row[0] for row in con.execute("SELECT group_id FROM work.entra_groups_read WHERE readable").fetchall()}
    lacking = gate.lacking(INPUT_GRAPH["entra_groups"])
    for group in groups:
        if group in read:
            continue
        if lacking:
            con.execute("INSERT INTO work.entra_groups_read VALUES ($1, 'exception', false, $2)",
                        [group, skip_reason(lacking, gate.kind, gate.app_id)])
            continue
        try:
            land_group_members(con, group, source.group_members(group))
        except (SourceError, GraphAuthError) as exc:
            con.execute("DELETE FROM work.raw_entra_group_members WHERE group_id = $1", [group])
            con.execute("INSERT INTO work.entra_groups_read VALUES ($1, 'exception', false, $2)",
                        [group, f"{GRAPH}: {exc}"])
        else:
            con.execute("INSERT INTO work.entra_groups_read VALUES ($1, 'exception', true, NULL)", [group])


def _load_app_registration(con: duckdb.DuckDBPyConnection, source: GraphSource, app_id: str,
                           mobile_client_ids: tuple[str, ...], gate: _Permissions) -> list[InputInfo]:
    """The server API app, the service principals of it, of Mattermost Mobile and of MAM, and the
    delegated grants of the Mattermost Mobile service principals (the consent Intune needs; a permission
    of its own, DelegatedPermissionGrant.Read.All, so only the grants are skipped without it)."""
    app = source.application(app_id)
    if app is None:
        note = f"no application with appId {app_id} in this tenant"
        return [InputInfo(name, False, note=note)
                for name in ("entra_application", "entra_service_principals", "entra_grants")]
    load_application(con, {**app, "_where": f"{GRAPH}: application {app_id}"})
    principals = source.service_principals([app_id, *mobile_client_ids, MAM_APP_ID])
    load_service_principals(con, principals)
    mobile = {m.lower() for m in mobile_client_ids}

    def load_grants() -> list[InputInfo]:
        grants = [grant for sp in principals if str(sp.get("appId", "")).lower() in mobile and sp.get("id")
                  for grant in source.oauth2_permission_grants(sp["id"])]
        load_rows(con, "entra_oauth2_grants", GRANT_COLUMNS, grant_rows(grants))
        return [InputInfo("entra_grants", True, f"{GRAPH}: oauth2PermissionGrants", len(grants))]

    return [InputInfo("entra_application", True, f"{GRAPH}: application", 1),
            InputInfo("entra_service_principals", True, f"{GRAPH}: servicePrincipals", len(principals)),
            *gate.part(("entra_grants",), ("entra_oauth2_grants",), ("DelegatedPermissionGrant.Read.All",),
                       load_grants)]


@dataclass(frozen=True)
class GraphPullOptions:
    """What the command line or job file says about the pull; the rest comes from the run."""

    app_id: str | None = None        # --entra-app-id (default IntuneSettings.ClientId)
    incremental: bool = False
    full_pull: bool = False
    store_path: Path | None = None


class EntraGraph:
    """Entra from Graph through an open GraphSource (the registry opens it, with its progress bar)."""

    name = "entra"
    inputs = ("entra_users", "entra_licenses", "entra_groups", "entra_application", "entra_service_principals",
              "entra_grants", "entra_authorization_policy", "intune_policies", "intune_registrations")
    tables = ("raw_entra_users", "raw_entra_group_members", "raw_intune_registrations")

    def __init__(self, source: GraphSource, options: GraphPullOptions, source_key: str):
        self.source, self.options, self.source_key = source, options, source_key

    def land(self, con: duckdb.DuckDBPyConnection, ctx: RunContext) -> list[InputInfo]:
        intune = (ctx.config or {}).get("IntuneSettings") or {}
        pull = GraphPull(discover_policies=not ctx.targeting.intune_groups,
                         app_id=self.options.app_id or intune.get("ClientId") or None,
                         incremental=self.options.incremental, full_pull=self.options.full_pull,
                         store_path=self.options.store_path,
                         mobile_client_ids=tuple(ctx.targeting.all_mobile_client_ids()), source_key=self.source_key,
                         exception_groups=ctx.exception_groups)
        return load_entra_from_graph(con, self.source, pull)
