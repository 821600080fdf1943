"""``reconcile sources test``: connect to, authenticate against and probe every configured source.

Why a probe and not a dry run: an operator setting up the nightly job wants to know, in seconds and
without touching a million rows, whether each credential, permission, certificate and URL works.
So every check reads at most one object (Graph ``$top=1``, Mattermost ``per_page=1``, SQL
``LIMIT 1``, LDAP ``sizelimit 1``), through the same clients a run uses: the same TLS checks,
retries and error messages, so "ok" here means the run will get in.

Each source is probed on its own thread with a deadline: a failing or hanging source never stops
the others, and its row says why in one line. No secret value (client secret, token, password,
the DSN's password) ever reaches a result: the clients keep them out of their messages, and every
row is scrubbed of them again here.
"""

from __future__ import annotations

import contextlib
import json
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from reconcile.errors import InputError
from reconcile.jwt_payload import claims_of
from reconcile.redaction import environment_secrets, scrub, strip_userinfo
from reconcile.sources import app_registration
from reconcile.sources.entra import ENTRA_GROUPS_DIR, ENTRA_USERS_CSV, ENTRA_USERS_JSON
from reconcile.sources.export_paths import export_dir, export_file
from reconcile.sources.intune_policies import INTUNE_POLICIES
from reconcile.sources.intune_registrations import INTUNE_REGISTRATIONS
from reconcile.sources.ldap import LDAP_LDIF
from reconcile.sources.mattermost import MM_CONFIG, MM_LICENSE, MM_USERS
from reconcile.sources.registry import LdapOptions, SourceOptions
from reconcile.sources.saml_captures import IDP_METADATA, SAML_DIR
from reconcile.sources.tokens import MSAL_TOKENS

DEFAULT_TIMEOUT = 60.0  # seconds per source (all of its rows); the clients' own timeouts are inside it
PROBE_RETRIES = 2       # retries of a throttled or dropped request: enough for a blip, not a long wait

ENTRA_FILES = (ENTRA_USERS_JSON, ENTRA_USERS_CSV, INTUNE_POLICIES, INTUNE_REGISTRATIONS, app_registration.APPLICATION,
               app_registration.SERVICE_PRINCIPALS, app_registration.GRANTS, app_registration.AUTHORIZATION_POLICY)
MATTERMOST_FILES = (MM_CONFIG, MM_LICENSE)
ALWAYS_FILES = (IDP_METADATA, MSAL_TOKENS)


@dataclass(frozen=True)
class ProbeResult:
    """One line of the ``sources test`` table. ``detail``: on success what was checked, on failure why."""

    source: str
    target: str
    ok: bool
    detail: str


def probe_sources(options: SourceOptions, input_dir: Path | None, environ: Mapping[str, str], *,
                  timeout: float = DEFAULT_TIMEOUT) -> list[ProbeResult]:
    """Probe every source the run would read, live or from files; one or more rows per source.

    ``environ`` holds the ``RECONCILE_*`` variables the clients read their credentials from, as
    ``open_sources`` receives them. Nothing raises: every failure is a row with ``ok`` False.
    """
    secrets = _secret_values(options, environ)
    results: list[ProbeResult] = []
    config: dict[str, Any] = {}  # the Mattermost config as the API gave it (filled by the API probe)
    if options.mattermost_url:
        results += _bounded(lambda rows: _probe_mattermost_api(rows, options, environ, timeout, config),
                            timeout, "mattermost api", strip_userinfo(options.mattermost_url))
    if options.mattermost_dsn:
        dsn = options.mattermost_dsn
        results += _bounded(lambda rows: _probe_mattermost_db(rows, dsn, timeout), timeout, "mattermost db",
                            "PostgreSQL")
    mm_config, config_origin = _mattermost_config(options, input_dir, config)
    if options.entra == "graph":
        app_id = options.graph.app_id or _intune_client_id(mm_config)
        results += _bounded(lambda rows: _probe_graph(rows, environ, app_id, timeout), timeout, "graph",
                            _graph_target(environ))
    if options.ldap is not None:
        ldap = options.ldap
        results += _bounded(lambda rows: _probe_ldap(rows, ldap, environ, mm_config, config_origin, timeout),
                            timeout, "ldap", _ldap_target(ldap.url))
    results.append(_probe_files(options, input_dir))
    return [_scrubbed(r, secrets) for r in results]


# --- running probes: one thread per source, a deadline, one row per check ---------------------------

class _Rows:
    """The rows of one source's probe, filled by its thread; frozen when the deadline passes."""

    def __init__(self) -> None:
        self._rows: list[ProbeResult] = []
        self._pending: tuple[str, str] | None = None
        self._closed = False
        self._lock = threading.Lock()

    def check(self, source: str, target: str, probe: Callable[[], str]) -> bool:
        """Run one check; its row is ok with what ``probe`` returns, or failed with the exception's reason."""
        with self._lock:
            self._pending = (source, target)
        try:
            detail, ok = probe(), True
        except Exception as exc:  # a probe reports every failure as a row; nothing may stop the others
            detail, ok = _reason(exc), False
        self.add(source, target, ok, detail)
        return ok

    def add(self, source: str, target: str, ok: bool, detail: str) -> None:
        with self._lock:
            self._pending = None
            if not self._closed:
                self._rows.append(ProbeResult(source, target, ok, _one_line(detail)))

    def close(self, timed_out: bool, timeout: float, source: str, target: str) -> list[ProbeResult]:
        with self._lock:
            self._closed = True
            rows = list(self._rows)
            if timed_out:
                where = self._pending or (source, target)
                rows.append(ProbeResult(*where, False, f"no answer within {timeout:g} s (timed out)"))
            return rows


def _bounded(work: Callable[[_Rows], None], timeout: float, source: str, target: str) -> list[ProbeResult]:
    """Run one source's probe on a daemon thread; past ``timeout`` its rows so far plus a timeout row.

    A thread blocked in a socket cannot be stopped, so it is left behind (a daemon, ending with the
    process or when its client's own timeout fires); the rows it adds later are ignored.
    """
    rows = _Rows()

    def run() -> None:
        try:
            work(rows)
        except Exception as exc:  # setting up the client failed (configuration, credentials missing)
            rows.add(source, target, False, _reason(exc))

    thread = threading.Thread(target=run, name=f"probe {source}", daemon=True)
    thread.start()
    thread.join(timeout)
    return rows.close(thread.is_alive(), timeout, source, target)


def _reason(exc: BaseException) -> str:
    text = _one_line(str(exc))
    return text if text else type(exc).__name__


def _one_line(text: str) -> str:
    return " ".join(text.split())


# --- Mattermost ------------------------------------------------------------------------------------

def _probe_mattermost_api(rows: _Rows, options: SourceOptions, environ: Mapping[str, str], timeout: float,
                          config_out: dict[str, Any]) -> None:
    """/users/me (a system admin?), then config and licence (small), then one user (``per_page=1``)."""
    from reconcile.sources.mattermost_api import API_PREFIX, MattermostApi, mattermost_token_from_env

    url = options.mattermost_url or ""
    target = strip_userinfo(url)
    token = mattermost_token_from_env(environ)
    with MattermostApi(url, token, per_page=1, max_retries=PROBE_RETRIES, max_wait=timeout / 2,
                       insecure=options.mattermost_insecure) as api:
        target = api.base_url

        def admin() -> str:
            api.check_admin()
            me = api.me or {}
            clear = " over plain http" if api.base_url.startswith("http://") else ""
            return f"authenticated{clear}: the token is a system admin's ({me.get('username') or me.get('id')!r})"

        if not rows.check("mattermost api", target, admin):
            return

        def config() -> str:
            doc = api.config()
            config_out.update(doc)
            intune = doc.get("IntuneSettings") if isinstance(doc.get("IntuneSettings"), dict) else {}
            return (f"config readable (IntuneSettings.Enable={intune.get('Enable')!r}, "
                    f"AuthService={intune.get('AuthService')!r})")

        def license_() -> str:
            doc = api.license()
            return f"licence readable (IsLicensed={doc.get('IsLicensed')!r}, SkuShortName={doc.get('SkuShortName')!r})"

        rows.check("mattermost config", f"{target}{API_PREFIX}/config", config)
        rows.check("mattermost licence", f"{target}{API_PREFIX}/license/client", license_)
        if options.mattermost_dsn:
            return  # users come from the database: the API's user pages are not read by the run

        def one_user() -> str:
            pages = api.users()
            try:
                first = next(pages, None)
            finally:
                pages.close()
            if first is None:
                return "user list readable, but it is empty"
            sso = (first.get("auth_service") or "") not in ("", "email")
            seen = "; auth_data visible" if sso and first.get("auth_data") else ""
            return f"user list readable: 1 user on a per_page=1 page{seen}"

        rows.check("mattermost users", f"{target}{API_PREFIX}/users?per_page=1", one_user)


def _probe_mattermost_db(rows: _Rows, dsn: str, timeout: float) -> None:
    """A read-only session and the run's own query with ``LIMIT 1``: the tables and the SELECT grants."""
    import psycopg

    from reconcile.sources.mattermost_db import USERS_QUERY, _connect, _parse_dsn, _scrub, _shown

    params = _parse_dsn(dsn, "the Mattermost DSN")
    target = _shown(params)

    def probe() -> str:
        conn = _connect(dsn)
        try:
            with conn.cursor() as cursor:
                cursor.execute(f"SET LOCAL statement_timeout = {int(timeout * 1000)}")
                read_only = cursor.execute("SHOW transaction_read_only").fetchone()
                try:
                    row = cursor.execute(USERS_QUERY.strip() + "\nLIMIT 1").fetchone()
                except (psycopg.errors.UndefinedTable, psycopg.errors.UndefinedColumn) as exc:
                    raise RuntimeError(f"{_scrub(str(exc).splitlines()[0], params)}: this does not look like "
                                       "Mattermost's database (expected its users and bots tables)") from None
                except psycopg.errors.InsufficientPrivilege as exc:
                    raise RuntimeError(f"{_scrub(str(exc).splitlines()[0], params)}: grant SELECT ON users, bots "
                                       f"TO {params.get('user', 'the role')}") from None
            conn.rollback()
        except psycopg.Error as exc:
            raise RuntimeError(_scrub(_reason(exc), params)) from None
        finally:
            conn.close()
        mode = "read-only session" if read_only and read_only[0] == "on" else "session NOT read-only"
        found = "1 user row readable" if row else "users table readable but empty"
        return f"connected as {params.get('user', '(default role)')!r}, {mode}; {found} (users query with LIMIT 1)"

    rows.check("mattermost db", target, probe)


def _mattermost_config(options: SourceOptions, input_dir: Path | None,
                       from_api: dict[str, Any]) -> tuple[dict | None, str]:
    """The config the run would use for LDAP defaults and the Entra app id: the API's, else the export's."""
    if options.mattermost_url:  # the run takes the API's config, never the file's, so neither does the probe
        return (from_api, "the Mattermost API") if from_api else (None, "the Mattermost API, whose config was not read")
    if input_dir is not None:
        try:
            path = export_file(input_dir, MM_CONFIG)
        except InputError:
            path = None
        if path is not None:
            try:
                doc = json.loads(path.read_text(encoding="utf-8"))
            except (OSError, ValueError):
                return None, f"{MM_CONFIG} (unreadable)"
            return (doc if isinstance(doc, dict) else None), MM_CONFIG
    return None, f"neither the Mattermost API nor {MM_CONFIG} in input_dir"


def _intune_client_id(config: dict | None) -> str | None:
    block = (config or {}).get("IntuneSettings")
    value = block.get("ClientId") if isinstance(block, dict) else None
    return value.strip() if isinstance(value, str) and value.strip() else None


# --- Microsoft Graph ---------------------------------------------------------------------------------

# (row, path, permission, why the run needs it): collections read with $top=1&$select=id.
GRAPH_COLLECTIONS = (
    ("graph groups", "/groups", "GroupMember.Read.All", "targeting groups' members"),
    ("graph intune policies", "/deviceAppManagement/iosManagedAppProtections", "DeviceManagementApps.Read.All",
     "iOS App Protection Policies"),
    ("graph intune registrations", "/deviceAppManagement/managedAppRegistrations", "DeviceManagementApps.Read.All",
     "Intune's MAM registrations, for the outcomes"),
    ("graph permission grants", "/oauth2PermissionGrants", "DelegatedPermissionGrant.Read.All",
     "tenant-wide consent of the MAM service"),
)


def _graph_target(environ: Mapping[str, str]) -> str:
    from reconcile.sources.graph import DEFAULT_BASE_URL, ENV_BASE_URL

    return strip_userinfo((environ.get(ENV_BASE_URL) or "").strip() or DEFAULT_BASE_URL).rstrip("/")


def _probe_graph(rows: _Rows, environ: Mapping[str, str], app_id: str | None, timeout: float) -> None:
    """Users first (the credential itself); then each permission the run needs, one row each."""
    from reconcile.sources.graph import GraphAuthError, GraphSource, graph_settings_from_env

    settings = graph_settings_from_env(environ)
    base = settings.base_url
    with GraphSource(settings, max_retries=PROBE_RETRIES, max_retry_after=timeout / 2) as source:
        identity = _graph_identity(settings)
        failure: list[BaseException] = []

        def users() -> str:
            try:
                count = source.probe_collection("/users", "User.Read.All")
            except GraphAuthError as exc:
                failure.append(exc)
                raise
            return f"authenticated as {identity}; User.Read.All granted: {count} user readable ($top=1)"

        users_ok = rows.check("graph users", f"{base} GET /users?$top=1", users)
        if not users_ok and failure and getattr(failure[0], "status", None) != 403:
            return  # the credential itself was refused: every other call would say the same
        for row, path, permission, why in GRAPH_COLLECTIONS:
            rows.check(row, f"{base} GET {path}?$top=1",
                       lambda p=path, perm=permission, w=why: _collection(source, p, perm, w))
        if app_id:
            rows.check("graph app registration", f"{base} GET /applications(appId='{app_id}')",
                       lambda: _application(source, app_id))
        else:
            rows.check("graph app registration", f"{base} GET /servicePrincipals?$top=1",
                       lambda: _collection(source, "/servicePrincipals", "Application.Read.All",
                                           "the app registration and service principals") +
                       "; the server API app id is unknown (give sources.entra.app_id, or set "
                       "IntuneSettings.ClientId in the Mattermost config), so its registration was not looked up")
        rows.check("graph authorization policy", f"{base} GET /policies/authorizationPolicy",
                   lambda: _authorization_policy(source))


def _collection(source: Any, path: str, permission: str, why: str) -> str:
    count = source.probe_collection(path, permission)
    return f"{permission} granted ({why}): {count} object{'' if count == 1 else 's'} readable ($top=1)"


def _application(source: Any, app_id: str) -> str:
    app = source.application(app_id)
    if app is None:
        return (f"Application.Read.All granted, but no app registration has appId {app_id} "
                "(the audit will report it)")
    return f"Application.Read.All granted: app registration {app.get('displayName')!r} (appId {app_id}) readable"


def _authorization_policy(source: Any) -> str:
    source.authorization_policy()  # a 403 raises: the run would skip that part (issue 13), so the row fails
    return "Policy.Read.All granted: the tenant's authorization policy readable"


# The probe row that proves each Graph permission by calling with it.
ROW_PERMISSIONS = {"graph users": "User.Read.All", **{row: perm for row, _, perm, _ in GRAPH_COLLECTIONS},
                   "graph app registration": "Application.Read.All",
                   "graph authorization policy": "Policy.Read.All"}


@dataclass(frozen=True)
class PermissionRow:
    """One line of the permissions table of ``sources test``: who needs it, and whether it is granted."""

    permission: str
    kind: str            # application | delegated
    needed_by: tuple[str, ...]
    granted: str         # yes | no | not checked


def permission_table(results: list[ProbeResult], environ: Mapping[str, str]) -> list[PermissionRow]:
    """Every Graph permission the run needs, as the audit would judge it: from the access token's roles or
    scp when it is a JWT (what the run reads before pulling), else from the probe rows (a 403 is "no")."""
    from reconcile.permissions import APPLICATION, GRAPH_ACCEPTED, grants_from_claims, needed_by
    from reconcile.rules import load_rules
    from reconcile.sources.graph import graph_settings_from_env

    token = graph_settings_from_env(environ).access_token
    claims = claims_of(token) if token else None
    grants = grants_from_claims(claims) if claims is not None else None
    by_row = {r.source: r for r in results}
    rules = load_rules()
    table = []
    for permission in GRAPH_ACCEPTED:
        if grants is not None:
            granted = "yes" if not grants.missing([permission]) else "no"
        else:
            row = next((by_row[name] for name, p in ROW_PERMISSIONS.items() if p == permission and name in by_row),
                       None)
            granted = ("not checked" if row is None else "yes" if row.ok
                       else "no" if "HTTP 403" in row.detail else "not checked")
        table.append(PermissionRow(permission, grants.kind if grants else APPLICATION,
                                   tuple(needed_by(permission, rules)), granted))
    return table


def _graph_identity(settings: Any) -> str:
    """Who the credential is, without the credential: the client id, or the token's own app and tenant claims."""
    if settings.access_token:
        claims = _jwt_claims(settings.access_token)
        app = claims.get("app_displayname") or claims.get("appid") or claims.get("azp")
        if app:
            return f"app {app!r} in tenant {claims.get('tid', '?')} (the access token in RECONCILE_ENTRA_ACCESS_TOKEN)"
        return "the bearer token in RECONCILE_ENTRA_ACCESS_TOKEN"
    if settings.default_credential:
        return "the default Azure credential chain" + (f" (client {settings.client_id})" if settings.client_id else "")
    kind = "client secret" if settings.client_secret else "certificate"
    return f"client {settings.client_id} in tenant {settings.tenant_id} ({kind})"


def _jwt_claims(token: str) -> dict:
    """The naming claims of a JWT, unverified (only to name the app); {} when the token is not one."""
    payload = claims_of(token) or {}
    return {k: v for k, v in payload.items() if k in ("app_displayname", "appid", "azp", "tid")
            and isinstance(v, str)}


# --- LDAP --------------------------------------------------------------------------------------------

def _ldap_target(url: str) -> str:
    from reconcile.sources.ldap_live import _server_name

    try:
        return _server_name(url)
    except Exception:  # a malformed URL: its row says why; the target shows it without credentials
        return strip_userinfo(url)


def _probe_ldap(rows: _Rows, options: LdapOptions, environ: Mapping[str, str], config: dict | None,
                config_origin: str, timeout: float) -> None:
    """Connect (LDAPS or StartTLS unless insecure), bind, and one search with sizelimit 1 under the base DN."""
    target = _ldap_target(options.url)
    block = (config or {}).get("LdapSettings")
    if not (options.base_dn or "").strip() and not (isinstance(block, dict) and str(block.get("BaseDN") or "").strip()):
        where = (f"LdapSettings.BaseDN is empty in {config_origin}" if config is not None else
                 f"no Mattermost config to take it from ({config_origin})")
        rows.add("ldap", target, False, f"base DN unknown: give sources.ldap.base_dn ({where})")
        return

    def probe() -> str:
        import ldap3

        from reconcile.sources.ldap_live import (
            _describe,
            _endpoint,
            _retriable,
            _search_error,
            connect_ldap,
            ldap_settings,
        )

        settings = ldap_settings(options.url, base_dn=options.base_dn, user_filter=options.user_filter,
                                 insecure=options.insecure, environ=environ, mattermost_config=config)
        try:
            conn = connect_ldap(settings)
        except Exception as exc:
            raise RuntimeError(_describe(_retriable(exc, settings))) from None  # what to fix raises as itself
        try:
            try:
                conn.search(settings.base_dn, settings.user_filter, search_scope=ldap3.SUBTREE,
                            attributes=list(settings.attributes), size_limit=1, time_limit=max(1, int(timeout)))
            except Exception as exc:
                raise RuntimeError(_describe(_retriable(exc, settings))) from None
            result = conn.result or {}
            code = result.get("result", 0)
            if code not in (0, 4):  # 4 sizeLimitExceeded: more than the one entry asked for matched
                raise _search_error(result, settings, 0)
            entries = [e for e in conn.response or () if e.get("type") == "searchResEntry"]
        finally:
            with contextlib.suppress(Exception):  # the socket may be gone already
                conn.unbind()
        _, _, use_ssl = _endpoint(settings.url)
        channel = "LDAPS" if use_ssl else "plain LDAP WITHOUT TLS (insecure)" if settings.insecure else "StartTLS"
        scope = f'base DN "{settings.base_dn}", filter "{settings.user_filter}" ({settings.filter_source})'
        if not entries:
            raise RuntimeError(f"bound as {settings.bind_dn!r} over {channel}, but the search matched no entries: "
                               f"{scope}; check the base DN, the filter and the bind account's read rights")
        return f"bound as {settings.bind_dn!r} over {channel}; search with sizelimit 1 matched an entry: {scope}"

    rows.check("ldap", target, probe)


# --- export files --------------------------------------------------------------------------------------

def expected_exports(options: SourceOptions) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """(files, directories) the run looks for in input_dir, given which sources are read live."""
    files: list[str] = []
    dirs: list[str] = [SAML_DIR]
    if options.entra != "graph":
        files += ENTRA_FILES
        dirs.insert(0, ENTRA_GROUPS_DIR)
    if not options.mattermost_url:
        files += MATTERMOST_FILES
    if not options.mattermost_url and not options.mattermost_dsn:
        files.append(MM_USERS)
    if options.ldap is None:
        files.append(LDAP_LDIF)
    files += ALWAYS_FILES
    return tuple(files), tuple(dirs)


def _probe_files(options: SourceOptions, input_dir: Path | None) -> ProbeResult:
    """Which of the expected export files are there (present and of the right kind); nothing is parsed."""
    live_users = options.entra == "graph" or options.ldap is not None or bool(
        options.mattermost_url or options.mattermost_dsn)
    if input_dir is None:
        if live_users:
            return ProbeResult("export files", "(no input_dir)", True,
                               "no input_dir: only the live sources are read (no SAML captures, tokens or other "
                               "export files)")
        return ProbeResult("export files", "(no input_dir)", False,
                           "no input_dir and no live user source: give input_dir or a live source")
    target = str(input_dir)
    if not input_dir.exists():
        return ProbeResult("export files", target, False, "input_dir does not exist")
    if not input_dir.is_dir():
        return ProbeResult("export files", target, False, "input_dir is not a directory")
    files, dirs = expected_exports(options)
    present: list[str] = []
    missing: list[str] = []
    try:
        for name in files:
            (present if export_file(input_dir, name) is not None else missing).append(name)
        for name in dirs:
            (present if export_dir(input_dir, name) is not None else missing).append(f"{name}/")
    except InputError as exc:
        return ProbeResult("export files", target, False, _reason(exc))
    except OSError as exc:
        return ProbeResult("export files", target, False, f"input_dir cannot be read: {_reason(exc)}")
    total = len(files) + len(dirs)
    detail = f"{len(present)} of {total} expected files present"
    if present:
        detail += ": " + ", ".join(present)
    if missing:
        detail += "; absent: " + ", ".join(missing)
    user_files = {ENTRA_USERS_JSON, ENTRA_USERS_CSV, MM_USERS, LDAP_LDIF}
    if not live_users and not user_files & set(present):
        return ProbeResult("export files", target, False,
                           f"no user source: none of {', '.join(sorted(user_files))} is present and no source is "
                           f"read live, so a run would stop here. {detail}")
    return ProbeResult("export files", target, True, detail)


# --- secrets ---------------------------------------------------------------------------------------------

def _secret_values(options: SourceOptions, environ: Mapping[str, str]) -> list[str]:
    """Every secret the probes could see: RECONCILE_*SECRET/TOKEN/PASSWORD values (and their files'
    contents) and the DSN's passwords, longest first so a secret containing another is replaced whole."""
    found = environment_secrets(environ)
    for dsn in (options.mattermost_dsn, environ.get("RECONCILE_MATTERMOST_DSN")):
        if dsn:
            try:
                from reconcile.sources.mattermost_db import _parse_dsn, _passwords

                found.update(_passwords(_parse_dsn(dsn, "the Mattermost DSN")))
            except Exception:  # an unparsable DSN: its probe row says so; the raw string is still scrubbed
                found.add(dsn)
    return sorted(found, key=len, reverse=True)


def _scrubbed(result: ProbeResult, secrets: list[str]) -> ProbeResult:
    return ProbeResult(result.source, scrub(result.target, secrets), result.ok, scrub(result.detail, secrets))
