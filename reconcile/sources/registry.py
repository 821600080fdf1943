"""The sources of a run, in the order they are read, built from what the run asks for.

Every source is read from the export directory unless the run names a live system for it. The
Mattermost config comes first (the Entra app id, the LDAP defaults and the SAML id attribute come
from it), the accounts before LDAP (an empty LDAP export fails only when something uses LDAP).
The CLI (and the job files of a later issue) only fill a :class:`SourceOptions`; the clients are
built and opened here.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path

import duckdb

from reconcile import identifiers as ids
from reconcile.config import RunConfig, Secret
from reconcile.errors import InputError, SourceError
from reconcile.sources import app_registration
from reconcile.sources.base import (
    InputInfo,
    RunContext,
    Source,
    TargetingOptions,
    failed_inputs,
    record_inputs,
)
from reconcile.sources.entra import ENTRA_GROUPS_DIR, ENTRA_USERS_CSV, ENTRA_USERS_JSON, EntraExport
from reconcile.sources.export_paths import display_name, export_dir, export_file
from reconcile.sources.intune_policies import INTUNE_POLICIES
from reconcile.sources.intune_registrations import INTUNE_REGISTRATIONS, registration_bundle_ids
from reconcile.sources.ldap import LDAP_LDIF, LdapSource
from reconcile.sources.mattermost import (
    MM_CONFIG,
    MM_LICENSE,
    MM_USERS,
    LiveReader,
    MattermostConfigSource,
    MattermostLicenseSource,
    MattermostUsersSource,
)
from reconcile.sources.saml_captures import IDP_METADATA, SAML_DIR, SamlSource
from reconcile.sources.tokens import MSAL_TOKENS, TokenSource
from reconcile.store import load_rows

USER_INPUTS = ("entra_users", "mattermost_users", "ldap")
PageProgress = Callable[[str, int], None]  # (what, how many more): the live Graph pull's progress bar


@dataclass(frozen=True)
class LdapOptions:
    url: str
    base_dn: str | None = None
    user_filter: str | None = None
    insecure: bool = False
    page_size: int | None = None  # None: ldap_live's default


@dataclass(frozen=True)
class GraphOptions:
    app_id: str | None = None     # --entra-app-id (default IntuneSettings.ClientId)
    incremental: bool = False
    full_pull: bool = False


@dataclass(frozen=True)
class SourceOptions:
    """Which live systems stand in for export files; everything else comes from the directory."""

    entra: str = "files"                      # files | graph
    graph: GraphOptions = field(default_factory=GraphOptions)
    ldap: LdapOptions | None = None
    mattermost_url: str | None = None
    mattermost_dsn: str | None = None
    mattermost_insecure: bool = False


@contextlib.contextmanager
def open_sources(options: SourceOptions, store_path: Path, environ: Mapping[str, str] | None = None,
                 graph_progress: PageProgress | None = None) -> Iterator[list[Source]]:
    """The run's sources, with their live clients open for the duration of the run."""
    environ = os.environ if environ is None else environ
    with contextlib.ExitStack() as stack:
        config = license_ = users = None
        if options.mattermost_url:
            config, license_, users = _mattermost_api(stack, options, environ)
        if options.mattermost_dsn:
            from reconcile.sources.mattermost_db import iter_db_users

            dsn = options.mattermost_dsn
            users = LiveReader("Mattermost PostgreSQL database (read-only)", lambda: iter_db_users(dsn))
        entra: Source = EntraExport()
        if options.entra == "graph":
            entra = _graph(stack, options.graph, store_path, environ, graph_progress)
        yield [MattermostConfigSource(config), entra, MattermostUsersSource(users),
               MattermostLicenseSource(license_), _ldap(options.ldap, environ), SamlSource(), TokenSource()]


def source_options(config: RunConfig, environ: Mapping[str, str]) -> SourceOptions:
    """What a run configuration asks of the sources (secrets are read here, only for sources in use)."""
    ldap = config.ldap
    mm = config.mattermost
    dsn = None
    if mm.users == "db":  # a secret is read only for a source the run reads
        dsn = mm.dsn.read(environ) if isinstance(mm.dsn, Secret) else mm.dsn
    return SourceOptions(
        entra=config.entra.read,
        graph=GraphOptions(config.entra.app_id, config.entra.incremental, config.entra.full_pull),
        ldap=(LdapOptions(ldap.url, ldap.base_dn, ldap.filter, ldap.insecure, ldap.page_size)
              if ldap.read == "ldap" else None),
        mattermost_url=mm.url if mm.read == "api" else None,
        mattermost_dsn=dsn,
        mattermost_insecure=mm.insecure)


def source_environ(config: RunConfig, environ: Mapping[str, str]) -> dict[str, str]:
    """The ``RECONCILE_*`` variables the source clients read, as the run configuration resolved them.

    The clients keep reading their credentials from a mapping, as they always have; the job file's
    values (which lose to the real environment: see reconcile.config.resolve) are laid over it here.
    Secrets are read only for the sources the run uses, and only into this mapping, never into a log.
    """
    merged = dict(environ)

    def put(name: str, value: object) -> None:
        if value is not None:
            merged[name] = str(value)

    def secret(value: Secret | None, name: str, file_name: str | None) -> None:
        if value is None:
            return
        if value.kind == "file" and file_name:  # the client reads the file and says so in its errors
            merged.pop(name, None)
            merged[file_name] = value.name
        else:
            merged[name] = value.read(environ)
            if file_name:
                merged.pop(file_name, None)

    entra, ldap, mm = config.entra, config.ldap, config.mattermost
    if entra.read == "graph":
        from reconcile.sources import graph

        put(graph.ENV_TENANT_ID, entra.tenant_id)
        put(graph.ENV_CLIENT_ID, entra.client_id)
        secret(entra.client_secret, graph.ENV_CLIENT_SECRET, None)
        put(graph.ENV_CERTIFICATE_PATH, entra.certificate_path)
        secret(entra.access_token, graph.ENV_ACCESS_TOKEN, None)
        put(graph.ENV_CREDENTIAL, entra.credential)
        put(graph.ENV_BASE_URL, entra.graph_url)
    if ldap.read == "ldap":
        from reconcile.sources import ldap_live

        put(ldap_live.ENV_BIND_DN, ldap.bind_dn)
        secret(ldap.password, ldap_live.ENV_PASSWORD, ldap_live.ENV_PASSWORD_FILE)
        put(ldap_live.ENV_CA_FILE, ldap.ca_file)
    if mm.read == "api":
        from reconcile.sources import mattermost_api

        secret(mm.token, mattermost_api.ENV_TOKEN, mattermost_api.ENV_TOKEN_FILE)
    return merged


EXPORT_FILES = (ENTRA_USERS_JSON, ENTRA_USERS_CSV, MM_USERS, MM_CONFIG, MM_LICENSE, LDAP_LDIF, IDP_METADATA,
                MSAL_TOKENS, INTUNE_POLICIES, INTUNE_REGISTRATIONS, app_registration.APPLICATION,
                app_registration.SERVICE_PRINCIPALS, app_registration.GRANTS, app_registration.AUTHORIZATION_POLICY)
EXPORT_DIRS = (ENTRA_GROUPS_DIR, SAML_DIR)


def land_all(con: duckdb.DuckDBPyConnection, sources: list[Source], ctx: RunContext) -> list[InputInfo]:
    """Land every source; a live source that fails after its retries fails only its own inputs."""
    if not ctx.input_dir.is_dir():
        raise InputError(str(ctx.input_dir), None, "expected a directory of export files")
    _check_export_kinds(ctx.input_dir)
    record_targeting_options(con, ctx.targeting)
    infos: list[InputInfo] = []
    try:
        for position, source in enumerate(sources):
            try:
                infos += source.land(con, ctx)
            except SourceError as exc:
                infos += failed_inputs(con, source.inputs, source.tables, exc)
            if position == 0:  # the config is known: sources that can start reading in the background do
                for later in sources[1:]:
                    if hasattr(later, "prefetch"):
                        later.prefetch(con, ctx)
    except BaseException:
        for source in sources:
            if hasattr(source, "abandon"):
                source.abandon()
        raise
    record_inputs(con, infos)
    _require_a_user_source(ctx.input_dir, infos)
    return infos


def _check_export_kinds(input_dir: Path) -> None:
    """Each expected name is absent or of the right kind: a directory named entra_users.json, a file
    named saml or a dangling symlink is an input error that says so, not "no entra_users.json"."""
    for name in EXPORT_FILES:
        export_file(input_dir, name)
    for name in EXPORT_DIRS:
        if export_dir(input_dir, name) is not None:
            for entry in (input_dir / name).iterdir():
                if entry.is_symlink() and not entry.exists():
                    export_file(input_dir / name, entry.name, f"{name}/{display_name(entry.name)}")


def record_targeting_options(con: duckdb.DuckDBPyConnection, options: TargetingOptions) -> None:
    groups = []
    for group in options.intune_groups:
        canonical = ids.parse_guid(group)
        if canonical is None:
            raise InputError("--intune-group", None, f"{group!r} is not a group object id (a GUID)")
        groups.append((canonical,))
    load_rows(con, "intune_group_override", ("group_id",), groups)
    load_rows(con, "ios_bundle_ids", ("bundle_id",), [(b,) for b in options.ios_bundle_ids])
    load_rows(con, "registration_bundle_ids", ("bundle_id",),
              [(b,) for b in registration_bundle_ids(options.ios_bundle_ids)])
    for client in options.mobile_client_ids:
        if ids.parse_guid(client) is None:
            raise InputError("--mobile-client-id", None, f"{client!r} is not an application (client) id (a GUID)")
    published = ids.MOBILE_CLIENT_IDS
    load_rows(con, "mobile_client_ids", ("app_id", "bundle_id", "source"),
              [(app_id, published.get(app_id), "published" if app_id in published else "option")
               for app_id in options.all_mobile_client_ids()])


def _require_a_user_source(input_dir: Path, infos: list[InputInfo]) -> None:
    """No people read at all (an empty or wrong export directory) is an input error: every rule would
    be skipped and the run stored as complete, which a scheduler reads as a clean night."""
    if any(i.available or i.failed for i in infos if i.name in USER_INPUTS):
        return
    raise InputError(str(input_dir), None,
                     f"no user source was read: expected {ENTRA_USERS_JSON} or {ENTRA_USERS_CSV}, {MM_USERS} or "
                     f"{LDAP_LDIF} in the directory (or --entra graph, --mattermost-url, --mattermost-dsn, --ldap)")


def _mattermost_api(stack: contextlib.ExitStack, options: SourceOptions,
                    environ: Mapping[str, str]) -> tuple[LiveReader, LiveReader, LiveReader]:
    from reconcile.sources.mattermost_api import MattermostApi, mattermost_token_from_env

    api = stack.enter_context(MattermostApi(options.mattermost_url, mattermost_token_from_env(environ),
                                            insecure=options.mattermost_insecure))

    def config() -> dict:
        api.check_admin()  # before anything: a non-admin token would hide every auth_data
        return api.config()

    label = f"{api.base_url} (Mattermost API)"
    clear = ("plain http (--mattermost-insecure): the admin token and the data crossed the network unencrypted"
             if api.base_url.startswith("http://") and options.mattermost_insecure else None)
    return LiveReader(label, config, clear), LiveReader(label, api.license, clear), LiveReader(label, api.users, clear)


def _ldap(options: LdapOptions | None, environ: Mapping[str, str]) -> LdapSource:
    if options is None:
        return LdapSource()
    from reconcile.sources.ldap_live import LdapSearch, ldap_settings

    def search(config: dict | None) -> LdapSearch:
        paging = {"page_size": options.page_size} if options.page_size else {}
        return LdapSearch(ldap_settings(options.url, base_dn=options.base_dn, user_filter=options.user_filter,
                                        insecure=options.insecure, environ=environ, mattermost_config=config,
                                        **paging))

    note = ("plain LDAP without TLS (--ldap-insecure): credentials and data crossed the network unencrypted"
            if options.insecure else None)
    return LdapSource(search, options.url, note)


def _graph(stack: contextlib.ExitStack, options: GraphOptions, store_path: Path, environ: Mapping[str, str],
           progress: PageProgress | None) -> Source:
    from reconcile.sources.entra_graph import EntraGraph, GraphPullOptions
    from reconcile.sources.graph import GraphSource, graph_settings_from_env

    settings = graph_settings_from_env(environ)
    source = stack.enter_context(GraphSource(settings, on_page=progress))
    pull = GraphPullOptions(options.app_id, options.incremental, options.full_pull, store_path)
    return EntraGraph(source, pull, f"{settings.base_url}|{settings.tenant_id or 'bearer token'}")
