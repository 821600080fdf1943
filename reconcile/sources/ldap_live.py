"""Live LDAP extraction (ldap3) from Entra Domain Services or Active Directory.

Yields exactly the records of :func:`reconcile.sources.ldif.read_ldif`, so staging and every rule work
unchanged whether the directory arrives as an export or live.

Why it is built this way:

* Values come from ldap3's ``raw_attributes``: the bytes on the wire, which is what ``read_ldif`` gives
  after base64. ldap3's decoded ``attributes`` depend on the schema it happened to read (objectGUID turns
  into a ``{...}`` string only when the server publishes Microsoft's OID for it), so raw bytes keep the
  records independent of the server and objectGUID stays 16 raw bytes.
* Simple Paged Results (RFC 2696) with the cookie loop written out rather than ldap3's
  ``paged_search(generator=True)``: the page boundary is where progress is reported, what ``_where``
  names, and where a dropped connection shows up. One page is in memory at a time (DESIGN.md).
* A dropped connection is retried from a fresh connection a bounded number of times. Paging cookies are
  bound to the connection that issued them, so the search restarts from the beginning and skips entries
  already yielded; only a small digest per DN is kept for that, not the entries.
* Failures are sorted by what the user can do about them: credentials (``LdapAuthError``) and settings,
  TLS included (``LdapConfigError``), stop the run at once with exit 3 and are never retried; a server
  that stays unreachable (``LdapSourceError``) fails only this source, so the caller stores a partial run
  without LDAP-dependent findings instead of findings from half a directory.
* TLS is on unless plain LDAP is asked for explicitly (LDAPS, or StartTLS on ldap://), and the server
  certificate is always verified: a simple bind sends the password itself. The password never reaches a
  repr or a message.
"""

from __future__ import annotations

import ast
import contextlib
import hashlib
import itertools
import ssl
import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import ldap3
from ldap3.core import exceptions as ldap_errors

from reconcile.errors import ExitCode, ReconcileError, SourceError
from reconcile.redaction import strip_userinfo

DEFAULT_PAGE_SIZE = 1000  # AD's default MaxPageSize: a larger page is silently cut to it
BASE_ATTRIBUTES = ("msDS-aadObjectId", "objectGUID", "userPrincipalName", "mail", "sAMAccountName")
# The LdapSettings attributes without which Mattermost cannot make an account of an entry; with an empty
# UserFilter the entries carrying all of them are the ones it can sync (see _user_filter).
SYNC_ATTRIBUTE_SETTINGS = ("EmailAttribute", "LoginIdAttribute", "IdAttribute")
EVERY_ENTRY_FILTER = "(objectClass=*)"

ENV_BIND_DN = "RECONCILE_LDAP_BIND_DN"
ENV_PASSWORD = "RECONCILE_LDAP_PASSWORD"
ENV_PASSWORD_FILE = "RECONCILE_LDAP_PASSWORD_FILE"
ENV_CA_FILE = "RECONCILE_LDAP_CA_FILE"

CONNECT_TIMEOUT = 10  # seconds to open the TCP connection
# Seconds to wait for a reply: a page of a big search on a busy domain controller can take a while, but a
# server that hangs must not hang a nightly job (ldap3 wants an int here).
RECEIVE_TIMEOUT = 300
MAX_BACKOFF = 30  # seconds between reconnects: 1, 2, 4, ... capped here

_PAGED_RESULTS = "1.2.840.113556.1.4.319"
_BUSY_CODES = {51, 52}  # busy, unavailable: the server asks to come back later
_LIMIT_CODES = {3, 4, 11}  # timeLimitExceeded, sizeLimitExceeded, adminLimitExceeded
_TLS_REQUIRED_CODES = {8, 13}  # strongerAuthRequired, confidentialityRequired
# The "data NNN" sub-code of AD's invalidCredentials tells what is really wrong with the account.
_AD_BIND_REASONS = {
    "525": "the account does not exist",
    "52e": "wrong password",
    "530": "logon not permitted at this time",
    "531": "logon not permitted from this workstation",
    "532": "the password has expired",
    "533": "the account is disabled",
    "701": "the account has expired",
    "773": "the password must be changed before the next logon",
    "775": "the account is locked out",
}
_sleep = time.sleep  # module-level so tests can act during the wait (restart a server) instead of sitting it out


class LdapConfigError(ReconcileError):
    """The LDAP settings are missing or wrong (URL, base DN, filter, TLS trust): exit 3, nothing is retried."""

    exit_code = ExitCode.INPUT_ERROR


class LdapAuthError(ReconcileError):
    """The server refused the bind or the search permission: stop at once; the message never holds the password."""

    exit_code = ExitCode.INPUT_ERROR


class LdapSourceError(SourceError):
    """The directory could not be read completely (connection lost and the reconnects spent, a server limit).

    The caller marks the run partial; nothing read from LDAP may feed a finding. ``entries_read`` says how far
    it got. The exit code stays INPUT_ERROR for a caller that does not handle it (then nothing is written).
    """

    exit_code = ExitCode.INPUT_ERROR

    def __init__(self, message: str, *, server: str, entries_read: int):
        super().__init__(message)
        self.server = server
        self.entries_read = entries_read


class _ServerBusy(Exception):
    """busy / unavailable from the server: worth a retry, like a dropped connection."""


@dataclass(frozen=True)
class LdapSettings:
    """Where the directory is, how to bind, and what to read. Build it with :func:`ldap_settings`."""

    url: str  # ldaps://host[:636], or ldap://host[:389] (StartTLS unless insecure)
    base_dn: str
    user_filter: str
    bind_dn: str | None  # None: anonymous bind (only for directly built settings; ldap_settings insists on one)
    password: str | None = field(default=None, repr=False)
    ca_file: Path | None = None  # PEM bundle that issued the server certificate; None: the system store
    insecure: bool = False  # plain LDAP, no TLS: only when explicitly asked; the caller reports it
    page_size: int = DEFAULT_PAGE_SIZE
    attributes: tuple[str, ...] = BASE_ATTRIBUTES
    filter_source: str = "set directly"  # where user_filter came from, for the report (ldap_settings says)


@dataclass(frozen=True)
class LdapSearch:
    """The search the audit makes, as the records it yields and the words the report uses for it.

    Iterating runs :func:`iter_ldap_entries`. ``note`` names the base DN and the filter with where the filter
    came from, so a reader of the report can tell an audit of the wrong part of the directory from a
    directory in trouble; ``empty_message`` is the failure when the search matched nothing.
    """

    settings: LdapSettings

    def __iter__(self) -> Iterator[dict]:
        return iter_ldap_entries(self.settings)

    def note(self) -> str:
        return (f'base DN "{self.settings.base_dn}", filter "{self.settings.user_filter}" '
                f"({self.settings.filter_source})")

    def empty_message(self) -> str:
        return (f"LDAP search of {_server_name(self.settings.url)} returned no entries (base DN "
                f'"{self.settings.base_dn}", filter "{self.settings.user_filter}"); expected the users Mattermost '
                "syncs: check the base DN, the filter and the bind account's read rights; the filter was "
                f"{self.settings.filter_source}")


def ldap_settings(
    url: str,
    *,
    base_dn: str | None,
    user_filter: str | None,
    insecure: bool,
    environ: Mapping[str, str],
    mattermost_config: dict | None,
    page_size: int = DEFAULT_PAGE_SIZE,
) -> LdapSettings:
    """Settings from the command line, ``RECONCILE_LDAP_*`` variables and Mattermost's ``LdapSettings``.

    Options win over Mattermost's config, so an audit can look at a wider base or filter than Mattermost
    syncs. Secrets come only from the environment or a file, never from argv. A missing value raises
    LdapConfigError naming every place that was tried.
    """
    block = _ldap_block(mattermost_config)
    where = "LdapSettings.{} in Mattermost's config" + ("" if mattermost_config is not None else " (none given)")

    base = _text(base_dn) or _text(block.get("BaseDN"))
    if not base:
        raise LdapConfigError(f"no LDAP base DN: tried --ldap-base-dn and {where.format('BaseDN')}")
    filter_text, filter_source = _user_filter(user_filter, block)

    bind_dn = _text(environ.get(ENV_BIND_DN)) or _text(block.get("BindUsername"))
    if not bind_dn:
        raise LdapConfigError(
            f"no LDAP bind DN: tried {ENV_BIND_DN} and {where.format('BindUsername')}; "
            "set it to a read-only account's DN (or UPN, for AD)"
        )
    insecure = bool(insecure)
    ca_file = None if insecure else _ca_file(environ)
    settings = LdapSettings(
        url=url.strip(),
        base_dn=base,
        user_filter=filter_text,
        filter_source=filter_source,
        bind_dn=bind_dn,
        password=_password(environ, bind_dn),
        ca_file=ca_file,
        insecure=insecure,
        page_size=page_size,
        attributes=_attributes(block),
    )
    _check(settings)
    return settings


def iter_ldap_entries(
    settings: LdapSettings,
    *,
    max_reconnects: int = 3,
    on_page: Callable[[int], None] | None = None,
    connect: Callable[[LdapSettings], ldap3.Connection] | None = None,
) -> Iterator[dict]:
    """Yield one record per entry, page by page, in ``read_ldif``'s shape.

    A record is ``{"dn": str, "attributes": {lowercased name: [bytes, ...]}, "_where": "ldap: page N"}``;
    attributes the entry lacks are absent. ``on_page(n)`` is called once per page received with the number
    of entries it adds (pages re-read after a reconnect add only what is new), for progress bars.
    ``connect`` opens a bound connection (default :func:`connect_ldap`); tests hand in their own.

    A connection that drops mid-search (or cannot be opened) is retried from a fresh connection up to
    ``max_reconnects`` times, waiting 1, 2, 4... seconds. The search then starts again from the first page
    and entries already yielded, by lowercased DN, are skipped: no duplicates, no gaps. When the budget is
    spent, LdapSourceError names the server and how many entries were read.
    """
    _check(settings)
    open_connection = connect or connect_ldap
    server = _server_name(settings.url)
    seen: set[bytes] = set()
    failures = 0
    first_error: Exception | None = None
    while True:
        error: Exception | None = None
        try:
            conn = open_connection(settings)
        except Exception as exc:
            error = _retriable(exc, settings)
        if error is None:
            try:
                pages = _pages(conn, settings, seen)
                for number in itertools.count(1):
                    try:  # only the server's part is retried: on_page and the consumer raise as they like
                        page = next(pages)
                    except StopIteration:
                        return
                    except Exception as exc:
                        error = _retriable(exc, settings)
                        break
                    records = []
                    for entry in page:
                        key = _dn_key(entry["dn"])
                        if key not in seen:
                            seen.add(key)
                            records.append(_record(entry, number))
                    if on_page is not None:
                        on_page(len(records))
                    yield from records
            finally:
                _close(conn)
        first_error = first_error or error
        if failures >= max_reconnects:
            what = "connection lost" if seen else "could not read from the server"
            detail = _describe(error)
            if _describe(first_error) != detail:
                detail = f"first {_describe(first_error)}; last {detail}"
            raise LdapSourceError(
                f"LDAP server {server}: {what} ({detail}); gave up after {failures + 1} attempt(s), "
                f"{len(seen)} entries read. The directory was not read completely.",
                server=server,
                entries_read=len(seen),
            ) from error
        failures += 1
        _sleep(min(2 ** (failures - 1), MAX_BACKOFF))


def connect_ldap(settings: LdapSettings) -> ldap3.Connection:
    """Open a connection, secure it (LDAPS, or StartTLS on ldap:// unless insecure) and bind explicitly.

    ``auto_bind`` stays off so a refused bind is told apart from a network failure: the first raises
    LdapAuthError at once, the second propagates as ldap3's communication error for the caller to retry.
    """
    _check(settings)
    host, port, use_ssl = _endpoint(settings.url)
    tls = None if settings.insecure else _VerifiedTls(settings.ca_file)
    server = ldap3.Server(
        host, port=port, use_ssl=use_ssl, tls=tls, get_info=ldap3.NONE, connect_timeout=CONNECT_TIMEOUT
    )
    conn = ldap3.Connection(
        server,
        user=settings.bind_dn,
        password=settings.password,
        authentication=ldap3.SIMPLE if settings.bind_dn else ldap3.ANONYMOUS,
        auto_bind=ldap3.AUTO_BIND_NONE,
        read_only=True,
        receive_timeout=RECEIVE_TIMEOUT,
        raise_exceptions=False,
        return_empty_attributes=False,
        auto_referrals=False,
    )
    try:
        conn.open()
        if not use_ssl and not settings.insecure and not conn.start_tls():
            raise LdapConfigError(f"StartTLS with {_server_name(settings.url)} did not start TLS")
        if not conn.bind():
            result = conn.result or {}
            if result.get("result") in _BUSY_CODES:
                raise _ServerBusy(f"bind: {result.get('description')} {result.get('message') or ''}".strip())
            raise _bind_error(result, settings)
    except BaseException:
        _close(conn)
        raise
    return conn


class _VerifiedTls(ldap3.Tls):
    """ldap3's Tls with the certificate and host name verified by OpenSSL during the handshake.

    ldap3 switches the context's check_hostname off and checks the name afterwards with ssl.match_hostname,
    which is deprecated and gone from Python 3.12, where ldap3 falls back to a backport that rejects IP
    addresses. ``ssl.create_default_context`` with ``server_hostname`` does both checks the standard way.
    """

    def __init__(self, ca_file: Path | None):
        super().__init__(validate=ssl.CERT_REQUIRED, ca_certs_file=str(ca_file) if ca_file else None)

    def wrap_socket(self, connection: ldap3.Connection, do_handshake: bool = False) -> None:
        context = ssl.create_default_context(ssl.Purpose.SERVER_AUTH, cafile=self.ca_certs_file)
        connection.socket = context.wrap_socket(
            connection.socket, server_hostname=connection.server.host, do_handshake_on_connect=do_handshake
        )


def _pages(conn: ldap3.Connection, settings: LdapSettings, seen: set[bytes]) -> Iterator[list[dict]]:
    """The search, one list of ldap3 entries per page, following the paged-results cookie to its end."""
    cookie: bytes | None = None
    while True:
        try:
            conn.search(
                settings.base_dn,
                settings.user_filter,
                search_scope=ldap3.SUBTREE,
                attributes=list(settings.attributes),
                paged_size=settings.page_size,
                paged_cookie=cookie,
            )
        except ldap_errors.LDAPInvalidFilterError as exc:
            raise LdapConfigError(
                f"LDAP filter {settings.user_filter!r} is not valid ({exc}); check --ldap-filter or "
                "LdapSettings.UserFilter"
            ) from exc
        result = conn.result or {}
        if result.get("result", 0) != 0:
            raise _search_error(result, settings, len(seen))
        yield [entry for entry in conn.response or () if entry.get("type") == "searchResEntry"]
        control = (result.get("controls") or {}).get(_PAGED_RESULTS) or {}
        cookie = (control.get("value") or {}).get("cookie")
        if not cookie:  # an empty cookie ends the search; no control at all means the server did not page
            return


def _record(entry: dict, page: int) -> dict:
    """ldap3's entry as read_ldif's record: bare lowercased names (options such as ;binary dropped), bytes."""
    attributes: dict[str, list[bytes]] = {}
    for name, values in entry.get("raw_attributes", {}).items():
        if values:
            attributes.setdefault(name.split(";", 1)[0].lower(), []).extend(values)
    return {"dn": entry["dn"], "attributes": attributes, "_where": f"ldap: page {page}"}


def _dn_key(dn: str) -> bytes:
    """What is remembered of a yielded entry: 16 bytes of digest rather than the DN, about half the memory
    for a million users, with collisions out of reach."""
    return hashlib.blake2b(dn.lower().encode("utf-8"), digest_size=16).digest()


def _retriable(exc: Exception, settings: LdapSettings) -> Exception:
    """Return exc when a fresh connection may cure it; raise what the user must fix instead."""
    if isinstance(exc, ReconcileError):
        raise exc
    if isinstance(exc, ldap_errors.LDAPSSLConfigurationError):  # e.g. the CA file of directly built settings
        raise LdapConfigError(f"TLS settings for {_server_name(settings.url)}: {exc}; check {ENV_CA_FILE}") from exc
    tls = _tls_failure(exc)
    if tls is not None:
        raise _tls_error(tls, settings) from exc
    if isinstance(exc, (ldap_errors.LDAPCommunicationError, ldap_errors.LDAPResponseTimeoutError, OSError,
                        _ServerBusy)):
        return exc
    raise exc


def _tls_failure(exc: BaseException) -> BaseException | None:
    """The TLS error in exc, if any. ldap3 re-raises it as a class mixing its own error with the ssl one, and
    when a host name resolves to several addresses, as a list of (error, address) in its arguments."""
    tls_types = (ssl.SSLError, ssl.CertificateError, ldap_errors.LDAPCertificateError, ldap_errors.LDAPStartTLSError)
    if isinstance(exc, tls_types):
        return exc
    for arg in exc.args:
        if isinstance(arg, list):
            for item in arg:
                inner = item[0] if isinstance(item, tuple) and item else item
                if isinstance(inner, tls_types):
                    return inner
    return None


def _tls_error(exc: BaseException, settings: LdapSettings) -> LdapConfigError:
    server = _server_name(settings.url)
    detail = _describe(exc)
    if "mismatch" in str(exc) or isinstance(exc, ldap_errors.LDAPCertificateError):  # OpenSSL's, or ldap3's check
        return LdapConfigError(
            f"TLS with {server} failed: the certificate does not name host {_endpoint(settings.url)[0]!r} "
            f"({detail}); connect with a host name the certificate holds"
        )
    if isinstance(exc, ssl.SSLCertVerificationError) or "CERTIFICATE_VERIFY_FAILED" in str(exc):
        trust = f"the CA bundle in {ENV_CA_FILE} ({settings.ca_file})" if settings.ca_file else "the system CA store"
        return LdapConfigError(
            f"TLS with {server} failed: the server certificate is not trusted by {trust} ({detail}). "
            f"Set {ENV_CA_FILE} to the PEM file of the CA that issued the directory's certificate"
        )
    if isinstance(exc, ldap_errors.LDAPStartTLSError) and not isinstance(exc, OSError):
        return LdapConfigError(
            f"TLS with {server} failed: the server refused StartTLS ({detail}). Use ldaps://, enable TLS on the "
            "server, or, only on a trusted network, --ldap-insecure for plain LDAP (the bind password then "
            "crosses the network in clear)"
        )
    return LdapConfigError(
        f"TLS with {server} failed ({detail}). Check the URL's scheme and port (ldaps:// is usually port 636, "
        f"ldap:// with StartTLS port 389) and {ENV_CA_FILE}"
    )


def _bind_error(result: dict, settings: LdapSettings) -> ReconcileError:
    server = _server_name(settings.url)
    code, name = result.get("result"), result.get("description") or "bind failed"
    message = (result.get("message") or "").strip()
    if code in _TLS_REQUIRED_CODES:
        return LdapConfigError(
            f"{server} refuses a simple bind without TLS ({name}); use ldaps:// or ldap:// without --ldap-insecure"
        )
    reason = next((text for data, text in _AD_BIND_REASONS.items() if f"data {data}," in message.lower()), None)
    who = repr(settings.bind_dn) if settings.bind_dn else "anonymous"
    text = f"LDAP bind as {who} to {server} failed: {name}" + (f", {reason}" if reason else "")
    if message:
        text += f" (server said: {message})"
    text += f". Check {ENV_BIND_DN} and {ENV_PASSWORD} / {ENV_PASSWORD_FILE}"
    return LdapAuthError(_redact(text, settings.password))


def _search_error(result: dict, settings: LdapSettings, entries_read: int) -> Exception:
    server = _server_name(settings.url)
    code, name = result.get("result"), result.get("description") or "error"
    message = (result.get("message") or "").strip()
    said = f"{name}" + (f": {message}" if message else "")
    if code in _BUSY_CODES:
        return _ServerBusy(f"search: {said}")
    if code == 32:  # noSuchObject
        return LdapConfigError(
            f"the base DN {settings.base_dn!r} does not exist on {server}, or the bind account cannot see it "
            f"({said}); check --ldap-base-dn or LdapSettings.BaseDN"
        )
    if code == 50:  # insufficientAccessRights
        return LdapAuthError(_redact(f"{settings.bind_dn!r} may not search {settings.base_dn!r} on {server} ({said})",
                                     settings.password))
    if code == 87:  # filterError
        return LdapConfigError(f"{server} rejected the filter {settings.user_filter!r} ({said})")
    hint = ""
    if code in _LIMIT_CODES:
        hint = (" The server limited the search: raise its limits for the bind account (AD: MaxResultSetSize, "
                "MaxQueryDuration; OpenLDAP: sizelimit, timelimit, limits).")
    return LdapSourceError(
        f"LDAP server {server} ended the search early ({said}) after {entries_read} entries; the directory was not "
        f"read completely.{hint}",
        server=server,
        entries_read=entries_read,
    )


def _check(settings: LdapSettings) -> None:
    """Refuse settings that would fail late or silently (an empty password is an unauthenticated bind)."""
    _, _, use_ssl = _endpoint(settings.url)
    if use_ssl and settings.insecure:
        raise LdapConfigError(
            f"{settings.url}: insecure means plain LDAP (ldap://) without TLS, but the URL is ldaps://; for a "
            f"certificate the system does not trust, set {ENV_CA_FILE} instead"
        )
    if settings.bind_dn and not settings.password:
        raise LdapConfigError(
            f"no password for the LDAP bind DN {settings.bind_dn!r}: set {ENV_PASSWORD} or {ENV_PASSWORD_FILE} "
            "(an empty password would be an unauthenticated bind that many servers accept without checking)"
        )
    if not isinstance(settings.page_size, int) or settings.page_size < 1:
        raise LdapConfigError(f"LDAP page size must be a positive number, not {settings.page_size!r}")
    if not settings.base_dn:
        raise LdapConfigError("no LDAP base DN")


def _endpoint(url: str) -> tuple[str, int, bool]:
    """(host, port, use_ssl) of an ldap:// or ldaps:// URL without a DN, filter or credentials in it."""
    parts = urlsplit(url.strip())
    scheme = parts.scheme.lower()
    expected = "expected ldaps://host[:636] or ldap://host[:389]"
    if scheme not in ("ldap", "ldaps") or not parts.hostname:
        raise LdapConfigError(f"LDAP URL {strip_userinfo(url)!r}: {expected}")
    if parts.username or parts.password:
        raise LdapConfigError(
            f"LDAP URL: credentials do not belong in the URL; use {ENV_BIND_DN} and {ENV_PASSWORD} or "
            f"{ENV_PASSWORD_FILE}"
        )
    if parts.path not in ("", "/") or parts.query or parts.fragment:
        raise LdapConfigError(f"LDAP URL {strip_userinfo(url)!r}: {expected}; give the base DN and filter as "
                              "options")
    try:
        port = parts.port
    except ValueError as exc:
        raise LdapConfigError(f"LDAP URL {strip_userinfo(url)!r}: {exc}") from exc
    return parts.hostname, port or (636 if scheme == "ldaps" else 389), scheme == "ldaps"


def _server_name(url: str) -> str:
    host, port, use_ssl = _endpoint(url)
    return f"{'ldaps' if use_ssl else 'ldap'}://{f'[{host}]' if ':' in host else host}:{port}"


def _ldap_block(config: dict | None) -> dict:
    block = (config or {}).get("LdapSettings")
    return block if isinstance(block, dict) else {}


def _text(value: Any) -> str | None:
    return (value.strip() or None) if isinstance(value, str) else None


def _user_filter(option: str | None, block: dict) -> tuple[str, str]:
    """The search filter, and where it came from: --ldap-filter, else LdapSettings.UserFilter, else built.

    UserFilter is empty by default, and what Mattermost's sync then searches is in its closed-source LDAP
    code. What is certain is that it cannot make an account of an entry lacking the email, login id or id
    attribute, so the entries carrying all three are the ones it can sync. That works on any directory:
    AD's ``objectCategory=person`` is unknown to OpenLDAP and others, where such a filter matches nothing.
    """
    given = _text(option)
    source = "given with --ldap-filter"
    if not given:
        given, source = _text(block.get("UserFilter")), "taken from LdapSettings.UserFilter"
    if given:  # AD tools accept a bare "objectClass=user"; RFC 4515 wants parentheses
        return (given if given.startswith("(") else f"({given})"), source
    present: dict[str, tuple[str, str]] = {}
    for key in SYNC_ATTRIBUTE_SETTINGS:
        if name := _text(block.get(key)):
            present.setdefault(name.lower(), (key, name))  # LDAP names are case-insensitive: each once
    if not present:
        return EVERY_ENTRY_FILTER, ("set to match every entry, as UserFilter is empty and LdapSettings names "
                                    "none of " + ", ".join(SYNC_ATTRIBUTE_SETTINGS))
    terms = "".join(f"({name}=*)" for _, name in present.values())
    built = terms if len(present) == 1 else f"(&{terms})"
    keys = ", ".join(key for key, _ in present.values())
    return built, f"built from LdapSettings {keys}, as UserFilter is empty"


def _attributes(block: dict) -> tuple[str, ...]:
    """BASE_ATTRIBUTES plus the attributes Mattermost reads, once each (LDAP names are case-insensitive)."""
    names = [*BASE_ATTRIBUTES]
    names += [name for key in ("IdAttribute", "LoginIdAttribute", "EmailAttribute") if (name := _text(block.get(key)))]
    unique: dict[str, str] = {}
    for name in names:
        unique.setdefault(name.lower(), name)
    return tuple(unique.values())


def _password(environ: Mapping[str, str], bind_dn: str) -> str:
    value, path = environ.get(ENV_PASSWORD) or None, _text(environ.get(ENV_PASSWORD_FILE))
    if value is not None and path:
        raise LdapConfigError(f"both {ENV_PASSWORD} and {ENV_PASSWORD_FILE} are set; set only one")
    if path:
        try:
            value = Path(path).read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            raise LdapConfigError(f"{ENV_PASSWORD_FILE}: cannot read {path}: {exc}") from exc
        value = value.removesuffix("\n").removesuffix("\r")  # one trailing newline, as an editor or echo leaves it
    if not value:
        raise LdapConfigError(
            f"no password for the LDAP bind DN {bind_dn!r}: tried {ENV_PASSWORD} and {ENV_PASSWORD_FILE}"
            + (f" ({path} is empty)" if path else "")
        )
    return value


def _ca_file(environ: Mapping[str, str]) -> Path | None:
    path = _text(environ.get(ENV_CA_FILE))
    if path is None:
        return None
    if not Path(path).is_file():
        raise LdapConfigError(f"{ENV_CA_FILE}: {path} is not a file; expected the PEM bundle of the directory's CA")
    return Path(path)


def _describe(exc: BaseException) -> str:
    """One line for an ldap3 error, whose arguments nest tuples and a list of (error, address) pairs."""

    def flatten(value: object) -> Iterator[str]:
        if isinstance(value, list):  # ldap3's history of failed addresses: keep the errors, not the addresses
            for item in value:
                yield from flatten(item[0] if isinstance(item, tuple) and item else item)
        elif isinstance(value, tuple):
            for item in value:
                yield from flatten(item)
        elif isinstance(value, BaseException):
            yield from flatten(value.args or (type(value).__name__,))
        elif isinstance(value, str) and value.startswith("(") and value.endswith(",)"):
            try:  # ldap3 sometimes hands on str() of an argument tuple: "('socket ssl wrapping error: ...',)"
                yield from flatten(ast.literal_eval(value))
            except (ValueError, SyntaxError):
                yield value
        elif value is not None:
            yield str(value)

    text = "; ".join(part for part in flatten(exc.args) if part) or str(exc)
    return f"{type(exc).__name__}: {text}"


def _redact(text: str, secret: str | None) -> str:
    """A server may echo what it was sent; the password must not reach a log whatever it says."""
    return text.replace(secret, "********") if secret else text


def _close(conn: ldap3.Connection) -> None:
    with contextlib.suppress(Exception):  # the socket may be gone already; there is nothing left to release
        conn.unbind()
