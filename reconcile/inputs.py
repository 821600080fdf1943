"""Land an export directory (the files a directory team hands over) in the staging tables.

Every file is optional. What was read, and how many rows, goes to ``run_inputs``; the rule runner
skips rules whose inputs are absent. The live extractors of later issues load the same tables
through the same row builders in reconcile.staging.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Protocol, runtime_checkable

import duckdb

from reconcile import identifiers as ids
from reconcile import staging
from reconcile.errors import EmptySourceError, InputError, SourceError
from reconcile.paths import sql_dir
from reconcile.sources import app_registration
from reconcile.sources.entra_files import read_entra_users_csv, read_graph_users
from reconcile.sources.export_paths import display_name, export_dir, export_file
from reconcile.sources.ldif import LdifExport
from reconcile.sources.mattermost_files import read_json_object, read_mattermost_users
from reconcile.sources.tokens import SIGNATURE_NOTE, read_tokens
from reconcile.store import load_rows, scalar

ENTRA_USERS_JSON = "entra_users.json"
ENTRA_USERS_CSV = "entra_users.csv"
ENTRA_GROUPS_DIR = "entra_groups"
MM_USERS = "mattermost_users.json"
MM_CONFIG = "mattermost_config.json"
MM_LICENSE = "mattermost_license.json"
LDAP_LDIF = "ldap_users.ldif"
SAML_DIR = "saml"
IDP_METADATA = "idp_metadata.xml"
MSAL_TOKENS = "msal_tokens.txt"
SAML_SUFFIXES = (".xml", ".b64", ".txt")


INTUNE_POLICIES = "intune_ios_app_protections.json"
PRODUCTION_BUNDLE_ID = "com.mattermost.rn"


@dataclass(frozen=True)
class TargetingOptions:
    """Who the policy targets, when the command line says so (issue 4: --intune-group overrides
    discovery), and which Mattermost iOS apps the organisation deploys (production by default)."""

    intune_groups: tuple[str, ...] = ()
    ios_bundle_ids: tuple[str, ...] = (PRODUCTION_BUNDLE_ID,)
    mobile_client_ids: tuple[str, ...] = ()  # besides Mattermost's published ones (--mobile-client-id)

    def all_mobile_client_ids(self) -> list[str]:
        """Every appId that is Mattermost Mobile: the published ids, then the ones given."""
        given = [ids.parse_guid(c) or c for c in self.mobile_client_ids]
        return list(dict.fromkeys([*ids.MOBILE_CLIENT_IDS, *given]))


@dataclass
class InputInfo:
    name: str
    available: bool
    file: str | None = None
    rows: int | None = None
    note: str | None = None
    failed: bool = False  # the source was there but extraction failed: the run is partial


@runtime_checkable
class DescribedRecords(Protocol):
    """Records that can describe what was read (the live LDAP search, an LDIF export): ``note()`` goes into
    the input's note, ``empty_message()`` is the failure when there were none (known only once read)."""

    def __iter__(self) -> Iterator[dict]: ...

    def note(self) -> str | None: ...

    def empty_message(self) -> str: ...


EntraLoader = Callable[[duckdb.DuckDBPyConnection, dict | None], list[InputInfo]]


@dataclass(frozen=True)
class LiveSource:
    """A live extractor standing in for one export file: where it reads, and its records."""

    label: str                                   # e.g. "ldaps://dc1.contoso.com (page size 1000)"
    records: Callable[[dict | None], Iterable]   # given the Mattermost config (for defaults)
    note: str | None = None                      # e.g. "plain LDAP without TLS (--ldap-insecure)"


@dataclass(frozen=True)
class LiveSources:
    """Live extractors used in place of the export files; each is optional (issues 4 and 5)."""

    entra: EntraLoader | None = None
    mattermost_config: LiveSource | None = None   # records() returns the config document
    mattermost_license: LiveSource | None = None  # records() returns the license document
    mattermost_users: LiveSource | None = None
    ldap: LiveSource | None = None


def load_export_dir(con: duckdb.DuckDBPyConnection, input_dir: Path, options: TargetingOptions | None = None,
                    live: LiveSources | None = None) -> list[InputInfo]:
    """Read the export files in ``input_dir`` (or the live sources standing in for some of them).

    The Mattermost config is read first: the Entra app id, the LDAP defaults and the SAML id
    attribute come from it. A live source that fails after its retries fails only its input.
    """
    if not input_dir.is_dir():
        raise InputError(str(input_dir), None, "expected a directory of export files")
    _check_export_kinds(input_dir)
    live = live or LiveSources()
    record_targeting_options(con, options or TargetingOptions())
    config_info, config = _guard(con, "mattermost_config", "mm_config", lambda: _load_config(con, input_dir, live))
    if live.entra is None:
        entra_infos = [*_load_entra(con, input_dir), _load_groups(con, input_dir),
                       *_load_app_registration(con, input_dir), _load_intune_policies(con, input_dir)]
    else:
        entra_infos = live.entra(con, config)
    infos = [config_info, *entra_infos,
             _guard(con, "mattermost_users", "mm_users", lambda: _load_mm_users(con, input_dir, live))[0],
             _guard(con, "mattermost_license", "mm_license", lambda: _load_license(con, input_dir, live, config))[0],
             _guard(con, "ldap", "ldap_users", lambda: _load_ldap(con, input_dir, config, live))[0],
             *_load_saml(con, input_dir, config), _load_tokens(con, input_dir)]
    record_inputs(con, infos)
    _require_a_user_source(input_dir, infos)
    if live.entra is None:
        _require_group_members(con)
    return infos


USER_SOURCES = ("entra_users", "mattermost_users", "ldap")
EXPORT_FILES = (ENTRA_USERS_JSON, ENTRA_USERS_CSV, MM_USERS, MM_CONFIG, MM_LICENSE, LDAP_LDIF, IDP_METADATA,
                MSAL_TOKENS, INTUNE_POLICIES, app_registration.APPLICATION, app_registration.SERVICE_PRINCIPALS,
                app_registration.GRANTS, app_registration.AUTHORIZATION_POLICY)
EXPORT_DIRS = (ENTRA_GROUPS_DIR, SAML_DIR)


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


def _require_a_user_source(input_dir: Path, infos: list[InputInfo]) -> None:
    """No people read at all (an empty or wrong export directory) is an input error: every rule would
    be skipped and the run stored as complete, which a scheduler reads as a clean night."""
    if any(i.available or i.failed for i in infos if i.name in USER_SOURCES):
        return
    raise InputError(str(input_dir), None,
                     f"no user source was read: expected {ENTRA_USERS_JSON} or {ENTRA_USERS_CSV}, {MM_USERS} or "
                     f"{LDAP_LDIF} in the directory (or --entra graph, --mattermost-url, --mattermost-dsn, --ldap)")


def _guard(con: duckdb.DuckDBPyConnection, name: str, table: str,
           load: Callable[[], InputInfo | tuple[InputInfo, dict | None]]) -> tuple[InputInfo, dict | None]:
    """Run one loader: (its InputInfo, the document it read, if any). A live source's SourceError
    empties the table and marks the input failed (a partial run) instead of stopping the run."""
    try:
        result = load()
    except SourceError as exc:
        return failed_inputs(con, [name], [table], exc)[0], None
    return result if isinstance(result, tuple) else (result, None)


def record_targeting_options(con: duckdb.DuckDBPyConnection, options: TargetingOptions) -> None:
    groups = []
    for group in options.intune_groups:
        canonical = ids.parse_guid(group)
        if canonical is None:
            raise InputError("--intune-group", None, f"{group!r} is not a group object id (a GUID)")
        groups.append((canonical,))
    load_rows(con, "intune_group_override", ("group_id",), groups)
    load_rows(con, "ios_bundle_ids", ("bundle_id",), [(b,) for b in options.ios_bundle_ids])
    for client in options.mobile_client_ids:
        if ids.parse_guid(client) is None:
            raise InputError("--mobile-client-id", None, f"{client!r} is not an application (client) id (a GUID)")
    published = ids.MOBILE_CLIENT_IDS
    load_rows(con, "mobile_client_ids", ("app_id", "bundle_id", "source"),
              [(app_id, published.get(app_id), "published" if app_id in published else "option")
               for app_id in options.all_mobile_client_ids()])


def targeting_groups(con: duckdb.DuckDBPyConnection) -> list[tuple[str, str]]:
    """(group id, 'override' | 'policy') for every group whose members decide who is targeted."""
    return con.execute((sql_dir() / "targeting_groups.sql").read_text(encoding="utf-8")).fetchall()


def _require_group_members(con: duckdb.DuckDBPyConnection) -> None:
    """A group that decides who is targeted must have its members exported, or targeting is a guess."""
    exported = {row[0] for row in con.execute("SELECT DISTINCT group_id FROM entra_group_members").fetchall()}
    for group, source in targeting_groups(con):
        if group not in exported:
            raise InputError("--intune-group" if source == "override" else INTUNE_POLICIES, None,
                             f"group {group} decides who is targeted, but {ENTRA_GROUPS_DIR}/{group}.json is "
                             "missing; export its members with GET /groups/{id}/transitiveMembers/microsoft.graph.user")


def record_inputs(con: duckdb.DuckDBPyConnection, infos: list[InputInfo]) -> None:
    con.executemany(
        "INSERT INTO temp.run_inputs VALUES ($name, $available, $file, $rows, $note, $failed)",
        [asdict(info) for info in infos],
    )


def _load_config(con: duckdb.DuckDBPyConnection, input_dir: Path,
                 live: LiveSources) -> tuple[InputInfo, dict | None]:
    if live.mattermost_config is not None:
        where, config = live.mattermost_config.label, live.mattermost_config.records(None)
    else:
        where, path = MM_CONFIG, input_dir / MM_CONFIG
        if not path.is_file():
            return InputInfo("mattermost_config", False, note=f"no {MM_CONFIG}"), None
        config = read_json_object(path, "Mattermost config.json or GET /api/v4/config")
    if not any(key.endswith("Settings") for key in config):
        raise InputError(where, None, "expected Mattermost's config.json (sections such as "
                         "ServiceSettings, IntuneSettings, SamlSettings); found no *Settings section")
    load_rows(con, "mm_config", _columns(con, "mm_config"), [staging.mm_config_row(config)])
    return InputInfo("mattermost_config", True, where, 1), config


def _load_entra(con: duckdb.DuckDBPyConnection, input_dir: Path) -> list[InputInfo]:
    json_path, csv_path = input_dir / ENTRA_USERS_JSON, input_dir / ENTRA_USERS_CSV
    if json_path.is_file():
        records, file = read_graph_users(json_path), ENTRA_USERS_JSON
        note = f"{ENTRA_USERS_CSV} ignored: {ENTRA_USERS_JSON} is preferred" if csv_path.is_file() else None
    elif csv_path.is_file():
        records, file, note = read_entra_users_csv(csv_path), ENTRA_USERS_CSV, None
    else:
        missing = f"no {ENTRA_USERS_JSON} or {ENTRA_USERS_CSV}"
        return [InputInfo("entra_users", False, note=missing), InputInfo("entra_licenses", False, note=missing)]
    count = load_entra_users(con, records)
    if count == 0:  # a tenant always has users: this is the wrong file, or an export that went wrong
        expected = ("Graph's GET /v1.0/users output" if file == ENTRA_USERS_JSON
                    else "the Entra admin center's Download users CSV")
        return failed_inputs(con, ("entra_users", "entra_licenses"), ("entra_users", "entra_other_mails"),
                             EmptySourceError(f"{file} holds no users; expected {expected}", file))
    _reject_duplicates(con, "entra_users", "object_id_norm", file, "Entra objectId")
    with_plans = scalar(con, "SELECT count(*) FROM temp.entra_users WHERE intune_plan_status IS NOT NULL")
    licenses = InputInfo("entra_licenses", with_plans > 0, file if with_plans else None,
                         with_plans if with_plans else None,
                         None if with_plans else f"{file} carries no assignedPlans")
    return [InputInfo("entra_users", True, file, count, note), licenses]


def _load_groups(con: duckdb.DuckDBPyConnection, input_dir: Path) -> InputInfo:
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
        total += load_rows(con, "entra_group_members", staging.GROUP_MEMBER_COLUMNS,
                           staging.group_member_rows(group_id, read_graph_users(path, name)))
    return InputInfo("entra_groups", True, f"{ENTRA_GROUPS_DIR}/ ({len(files)} groups)", total)


def _load_mm_users(con: duckdb.DuckDBPyConnection, input_dir: Path, live: LiveSources) -> InputInfo:
    source = live.mattermost_users
    if source is not None:
        where, records, note = source.label, source.records(None), source.note
    else:
        path = input_dir / MM_USERS
        if not path.is_file():
            return InputInfo("mattermost_users", False, note=f"no {MM_USERS}")
        where, records, note = MM_USERS, read_mattermost_users(path), None
    count = load_rows(con, "mm_users", staging.MM_USER_COLUMNS, staging.mm_user_rows(records))
    if count == 0:  # a server has at least the admin who set it up
        problem = (f"{MM_USERS} holds no users; expected mmctl user list --all --json output" if source is None
                   else f"{where} returned no users; expected every Mattermost account (a server has at least "
                        "its system admin): check that it is the right server")
        raise EmptySourceError(problem, where)
    _reject_duplicates(con, "mm_users", "id", where, "Mattermost user id")
    return InputInfo("mattermost_users", True, where, count, note)


def _load_license(con: duckdb.DuckDBPyConnection, input_dir: Path, live: LiveSources,
                  config: dict | None) -> InputInfo:
    if live.mattermost_license is not None:
        where, doc = live.mattermost_license.label, live.mattermost_license.records(config)
    else:
        where, path = MM_LICENSE, input_dir / MM_LICENSE
        if not path.is_file():
            return InputInfo("mattermost_license", False, note=f"no {MM_LICENSE}")
        doc = read_json_object(path, "GET /api/v4/license/client?format=old")
    if "IsLicensed" not in doc:
        raise InputError(where, None, "expected the client license (GET /api/v4/license/client"
                         "?format=old) with an 'IsLicensed' field")
    load_rows(con, "mm_license", _columns(con, "mm_license"), [staging.mm_license_row(doc, where)])
    return InputInfo("mattermost_license", True, where, 1)


def _load_ldap(con: duckdb.DuckDBPyConnection, input_dir: Path, config: dict | None,
               live: LiveSources) -> InputInfo:
    if live.ldap is not None:
        where, entries, note = live.ldap.label, live.ldap.records(config), live.ldap.note
    else:
        path = input_dir / LDAP_LDIF
        if not path.is_file():
            return InputInfo("ldap", False, note=f"no {LDAP_LDIF}")
        where, entries, note = LDAP_LDIF, LdifExport(path), None
    settings = (config or {}).get("LdapSettings")
    id_attribute = settings.get("IdAttribute") if isinstance(settings, dict) else None
    count = load_rows(con, "ldap_users", staging.LDAP_USER_COLUMNS,
                      staging.ldap_user_rows(entries, id_attribute or None))
    if isinstance(entries, DescribedRecords):  # what was searched: shown, so a wrong base or filter is visible
        note = "; ".join(part for part in (entries.note(), note) if part) or None
    if count == 0:
        problem = entries.empty_message() if isinstance(entries, DescribedRecords) else f"{where} returned no entries"
        used = _ldap_in_use(con, config)
        if used:
            raise EmptySourceError(f"{problem}; LDAP counts as in use: {used}", where)
        return InputInfo("ldap", True, where, 0, f"{problem}; not a failure: LDAP is not enabled in the "
                                                 "Mattermost config and no Mattermost account signs in with ldap")
    _reject_duplicates(con, "ldap_users", "lower(dn)", where, "DN")
    return InputInfo("ldap", True, where, count, note)


def _ldap_in_use(con: duckdb.DuckDBPyConnection, config: dict | None) -> str | None:
    """Why an LDAP source with no entries is a failed one, or None when LDAP is known to be unused.

    Without the config nobody can tell, and an export given on purpose is meant to hold the directory.
    """
    if config is None:
        return "no Mattermost config says otherwise"
    settings = config.get("LdapSettings")
    if isinstance(settings, dict) and str(settings.get("Enable")).lower() == "true":
        return "LdapSettings.Enable is true"
    accounts = scalar(con, "SELECT count(*) FROM temp.mm_users WHERE lower(auth_service) = 'ldap'")
    if accounts:
        return f"{accounts} Mattermost account(s) sign in with ldap"
    return None


def _load_saml(con: duckdb.DuckDBPyConnection, input_dir: Path, config: dict | None) -> list[InputInfo]:
    """Signed SAML captures; only validly signed assertions contribute identity data."""
    folder, metadata_path = input_dir / SAML_DIR, input_dir / IDP_METADATA
    files = sorted(p for p in folder.iterdir() if p.suffix.lower() in SAML_SUFFIXES) if folder.is_dir() else []
    if not metadata_path.is_file():
        note = f"no {IDP_METADATA}" + (f": the {len(files)} capture(s) in {SAML_DIR}/ cannot be verified and "
                                       "were not read" if files else "")
        return [InputInfo("saml_metadata", False, note=note), InputInfo("saml", False, note=note)]
    from reconcile.sources.saml import load_idp_metadata, read_saml_captures  # xmlsec: only when needed

    metadata = load_idp_metadata(metadata_path)
    load_rows(con, "saml_metadata", ("file", "entity_id", "certificate_count"),
              [(IDP_METADATA, metadata.entity_id, len(metadata.certificates))])
    meta_info = InputInfo("saml_metadata", True, IDP_METADATA, 1)
    if not files:
        return [meta_info, InputInfo("saml", False, note=f"no captures in {SAML_DIR}/")]
    settings = (config or {}).get("SamlSettings")
    id_attribute = settings.get("IdAttribute") if isinstance(settings, dict) else None
    attributes: list[tuple] = []
    rejected: list[tuple] = []

    def valid_rows():
        for status, row, attrs in staging.saml_rows(read_saml_captures(folder, metadata),
                                                    id_attribute or None):
            if status == "valid":
                attributes.extend(attrs)
                yield row
            else:
                rejected.append(row)

    valid = load_rows(con, "saml_assertions", staging.SAML_ASSERTION_COLUMNS, valid_rows())
    load_rows(con, "saml_attributes", staging.SAML_ATTRIBUTE_COLUMNS, attributes)
    load_rows(con, "saml_rejected", staging.SAML_REJECTED_COLUMNS, rejected)
    note = f"{len(rejected)} capture(s) rejected (SAML_SIGNATURE_INVALID)" if rejected else None
    return [meta_info, InputInfo("saml", True, f"{SAML_DIR}/ ({valid + len(rejected)} files)", valid, note)]


def _load_tokens(con: duckdb.DuckDBPyConnection, input_dir: Path) -> InputInfo:
    path = input_dir / MSAL_TOKENS
    if not path.is_file():
        return InputInfo("msal_tokens", False, note=f"no {MSAL_TOKENS}")
    count = load_rows(con, "msal_tokens", staging.TOKEN_COLUMNS, staging.token_rows(read_tokens(path)))
    return InputInfo("msal_tokens", True, MSAL_TOKENS, count, SIGNATURE_NOTE)


def _load_app_registration(con: duckdb.DuckDBPyConnection, input_dir: Path) -> list[InputInfo]:
    """The server API app registration, the service principals and the tenant's consent grants."""
    infos = []
    path = input_dir / app_registration.APPLICATION
    if path.is_file():
        load_application(con, app_registration.read_application(path))
        infos.append(InputInfo("entra_application", True, app_registration.APPLICATION, 1))
    else:
        infos.append(InputInfo("entra_application", False, note=f"no {app_registration.APPLICATION}"))
    path = input_dir / app_registration.SERVICE_PRINCIPALS
    if path.is_file():
        count = load_service_principals(
            con, app_registration.read_collection(path, app_registration.SERVICE_PRINCIPALS))
        infos.append(InputInfo("entra_service_principals", True, app_registration.SERVICE_PRINCIPALS, count))
    else:
        infos.append(InputInfo("entra_service_principals", False, note=f"no {app_registration.SERVICE_PRINCIPALS}"))
    path = input_dir / app_registration.GRANTS
    if path.is_file():
        count = load_rows(con, "entra_oauth2_grants", staging.GRANT_COLUMNS,
                          staging.grant_rows(app_registration.read_collection(path, app_registration.GRANTS)))
        infos.append(InputInfo("entra_grants", True, app_registration.GRANTS, count))
    else:
        infos.append(InputInfo("entra_grants", False, note=f"no {app_registration.GRANTS}"))
    path = input_dir / app_registration.AUTHORIZATION_POLICY
    if path.is_file():
        load_authorization_policy(con, app_registration.read_authorization_policy(path))
        infos.append(InputInfo("entra_authorization_policy", True, app_registration.AUTHORIZATION_POLICY, 1))
    else:
        infos.append(InputInfo("entra_authorization_policy", False,
                               note=f"no {app_registration.AUTHORIZATION_POLICY}: "
                                    "whether users may consent is unknown"))
    return infos


def _load_intune_policies(con: duckdb.DuckDBPyConnection, input_dir: Path) -> InputInfo:
    path = input_dir / INTUNE_POLICIES
    if not path.is_file():
        return InputInfo("intune_policies", False, note=f"no {INTUNE_POLICIES}")
    policies = load_intune_policies(con, app_registration.read_collection(path, INTUNE_POLICIES))
    return InputInfo("intune_policies", True, INTUNE_POLICIES, policies)


# --- loaders shared by the export files and the live sources (the same records, the same rows) ----


def load_entra_users(con: duckdb.DuckDBPyConnection, records: Iterable[dict]) -> int:
    """Graph user dicts into entra_users (and their otherMails into entra_other_mails)."""
    other_mails: list[tuple] = []

    def rows() -> Iterator[tuple]:
        for row, mails in staging.entra_user_rows(records):
            other_mails.extend(mails)
            yield row

    count = load_rows(con, "entra_users", staging.ENTRA_USER_COLUMNS, rows())
    load_rows(con, "entra_other_mails", staging.OTHER_MAIL_COLUMNS, other_mails)
    return count


def load_application(con: duckdb.DuckDBPyConnection, app: dict) -> None:
    row, access, scopes, preauthorized = staging.application_rows(app)
    load_rows(con, "entra_application", staging.APPLICATION_COLUMNS, [row])
    load_rows(con, "entra_app_required_access", staging.REQUIRED_ACCESS_COLUMNS, access)
    load_rows(con, "entra_app_scopes", staging.APP_SCOPE_COLUMNS, scopes)
    load_rows(con, "entra_app_preauthorized", staging.PREAUTHORIZED_COLUMNS, preauthorized)


def load_authorization_policy(con: duckdb.DuckDBPyConnection, policy: dict) -> None:
    load_rows(con, "entra_authorization_policy", staging.AUTHORIZATION_POLICY_COLUMNS,
              [staging.authorization_policy_row(policy)])


def load_service_principals(con: duckdb.DuckDBPyConnection, records: Iterable[dict]) -> int:
    """Service principals, and the delegated scopes each publishes."""
    scopes: list[tuple] = []

    def rows() -> Iterator[tuple]:
        for row, published in staging.service_principal_rows(records):
            scopes.extend(published)
            yield row

    count = load_rows(con, "entra_service_principals", staging.SERVICE_PRINCIPAL_COLUMNS, rows())
    load_rows(con, "entra_sp_scopes", staging.SP_SCOPE_COLUMNS, scopes)
    return count


def load_intune_policies(con: duckdb.DuckDBPyConnection, records: Iterable[dict]) -> int:
    """iOS App Protection Policies (apps and assignment targets); returns how many policies."""
    targets: list[tuple] = []

    def apps() -> Iterator[tuple]:
        for app_rows, target_rows in staging.intune_policy_rows(records):
            targets.extend(target_rows)
            yield from app_rows

    load_rows(con, "intune_policy_apps", staging.POLICY_APP_COLUMNS, apps())
    load_rows(con, "intune_policy_targets", staging.POLICY_TARGET_COLUMNS, targets)
    return scalar(con, "SELECT count(DISTINCT policy_id) FROM (SELECT policy_id FROM temp.intune_policy_apps "
                       "UNION SELECT policy_id FROM temp.intune_policy_targets)")


def failed_inputs(con: duckdb.DuckDBPyConnection, names: Iterable[str], tables: Iterable[str],
                  exc: SourceError, file: str | None = None) -> list[InputInfo]:
    """A source failed (a live read that broke, or a source with no people in it): empty the tables it fed
    (no findings from half a source) and mark its inputs failed, so the rules needing them are skipped and
    the run is partial. Failed is not absent: the source was there and was read."""
    for table in tables:
        con.execute(f"DELETE FROM temp.{table}")
    if isinstance(exc, EmptySourceError):
        note, file = str(exc), file or exc.file
    else:
        note = f"extraction failed: {exc}"
    return [InputInfo(name, False, file, None, note, failed=True) for name in names]


def _reject_duplicates(con: duckdb.DuckDBPyConnection, table: str, key: str, file: str, what: str) -> None:
    """The same person twice in one export means pages were concatenated wrongly: stop, don't guess."""
    dups = con.execute(
        f"SELECT {key}, string_agg(replace(source_ref, $prefix, ''), ' and ') FROM temp.{table} "
        f"GROUP BY {key} HAVING count(*) > 1 LIMIT 1", {"prefix": f"{file}: "}).fetchall()
    if dups:
        dup = dups[0]
        raise InputError(file, dup[1], f"{what} {dup[0]!r} appears more than once; expected each once")


def _columns(con: duckdb.DuckDBPyConnection, table: str) -> tuple[str, ...]:
    return tuple(d[0] for d in con.execute(f"SELECT * FROM temp.{table} LIMIT 0").description)
