"""Live Mattermost users, config and license through the REST API v4 (httpx).

Yields the same user dicts as ``mattermost_files.read_mattermost_users`` (the API's own field
names: ``id, username, email, auth_service, auth_data, delete_at, is_bot``), so staging and every
rule work unchanged whichever way Mattermost data arrives.

Why it is built this way:

* The whole audit hinges on ``auth_data``, and Mattermost returns it only to callers with the
  ``manage_system`` permission. Anyone else gets every user sanitised (current servers send
  ``"auth_data": ""`` and ``"auth_service": ""``; other versions or proxies drop the key), which
  would read as "nobody is bound" and send the directory team chasing thousands of false
  findings. So the token's own roles are checked first (``check_admin``, also run by ``users``),
  and the pages themselves are checked until one proves ``auth_data`` is visible.
* ``GET /api/v4/users`` is offset paging (``page``/``per_page``, at most 200, ordered by username)
  and is read until an empty page, as Mattermost documents; a short page is not taken as the end
  because a server may cap ``per_page`` below what was asked. Deactivated users are included (no
  ``active`` filter): a deactivated account still holds its ``auth_data`` and its uniqueness.
  Offset paging can repeat a user when an account is created mid-run; a repeat of the previous
  page's ids is skipped, and a page that is wholly a repeat (a server ignoring ``page``) stops.
* Rate limiting: Mattermost answers 429 with ``Retry-After`` and ``X-Ratelimit-Reset``. Its own
  code (app/ratelimit.go) sends both as seconds to wait; the reset is read as a Unix time when it
  is clearly one (> 10^9), as other servers and proxies send it. ``Retry-After`` wins when both are
  present (it is the wait for the next request; the reset is the wait for the whole burst).
  502/503/504 and dropped connections are retried with exponential backoff. Every wait is bounded
  by ``max_wait`` and the number of retries by ``max_retries``; beyond them the page fails with
  ``MattermostSourceError`` so the caller can mark the run partial.
* 401 and 403 are never retried (ROADtools #111: pages of auth errors while enumeration goes
  on): ``MattermostAuthError`` at once.
* The one write, ``PUT /users/{id}/auth`` (``update_user_auth``, for ``reconcile remediate``), goes
  through the same request loop: 429 and 502/503/504 are retried (it sets one value, so a repeat
  does no more than the first), 401/403 stop at once, any other status raises with its ``status``
  so the caller records the refusal. ``check_user_editor`` is ``check_admin`` for writers.
* The token is sent only as ``Authorization: Bearer`` to the configured server (redirects are not
  followed) and never reaches a repr, a message or a log line; server error bodies are scrubbed
  of it too (Mattermost echoes ``token=...`` in some 401 details).
"""

from __future__ import annotations

import logging
import math
import ssl
import time
from collections.abc import Callable, Iterator, Mapping
from email.utils import parsedate_to_datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import quote, urlsplit, urlunsplit

from reconcile import __version__
from reconcile.errors import ExitCode, ReconcileError, SourceError
from reconcile.redaction import strip_userinfo

if TYPE_CHECKING:
    import httpx

log = logging.getLogger(__name__)

ENV_TOKEN = "RECONCILE_MATTERMOST_TOKEN"
ENV_TOKEN_FILE = "RECONCILE_MATTERMOST_TOKEN_FILE"
API_PREFIX = "/api/v4"
MAX_PER_PAGE = 200  # Mattermost caps per_page here (web/params.go PerPageMaximum)
SYSTEM_ADMIN_ROLE = "system_admin"

_RETRY_STATUSES = frozenset({502, 503, 504})
_LOOPBACK = frozenset({"127.0.0.1", "localhost", "::1"})
_EPOCH_THRESHOLD = 1_000_000_000  # an X-Ratelimit-Reset above this is a Unix time, below it seconds to wait
_BACKOFF_CAP = 60.0
_sleep: Callable[[float], None] = time.sleep  # module-level so a test can record waits instead of sitting them out
_now: Callable[[], float] = time.time


class MattermostConfigError(ReconcileError):
    """The Mattermost API connection is not configured usably; the message names the variables."""

    exit_code = ExitCode.INPUT_ERROR


class MattermostAuthError(ReconcileError):
    """The token was refused (401/403) or cannot see ``auth_data``: nothing else can be trusted, stop now."""

    exit_code = ExitCode.INPUT_ERROR


class MattermostSourceError(SourceError):
    """A request still failing after the retry budget; the caller marks the run partial.

    The exit code stays INPUT_ERROR: if this escapes the audit, nothing was written; a caller that
    keeps going and stores a partial run exits PARTIAL itself (as with ``GraphSourceError``).
    """

    exit_code = ExitCode.INPUT_ERROR

    def __init__(self, message: str, *, url: str | None = None, status: int | None = None):
        super().__init__(message)
        self.url, self.status = url, status


def mattermost_token_from_env(environ: Mapping[str, str]) -> str:
    """The personal access token from ``RECONCILE_MATTERMOST_TOKEN`` or a file named by ``..._TOKEN_FILE``.

    Never from the command line (it would show in ``ps`` and shell history). Setting both is an
    error rather than a silent preference: a stale variable must not win over a rotated file.
    """

    def get(name: str) -> str | None:
        value = environ.get(name)
        return value.strip() if value and value.strip() else None

    token, path = get(ENV_TOKEN), get(ENV_TOKEN_FILE)
    if token and path:
        raise MattermostConfigError(f"both {ENV_TOKEN} and {ENV_TOKEN_FILE} are set; set exactly one")
    if token:
        return _clean_token(token, ENV_TOKEN)
    if path:
        file = Path(path).expanduser()
        try:
            text = file.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else type(exc).__name__
            raise MattermostConfigError(f"{ENV_TOKEN_FILE} is {str(file)!r}, which cannot be read ({reason}); "
                                        "expected a file holding a Mattermost personal access token") from None
        if not text.strip():
            raise MattermostConfigError(f"{ENV_TOKEN_FILE} names {str(file)!r}, which is empty; expected a "
                                        "Mattermost personal access token")
        return _clean_token(text.strip(), f"the file named by {ENV_TOKEN_FILE}")
    raise MattermostConfigError(
        f"no Mattermost token: set {ENV_TOKEN} to a system admin's personal access token, or "
        f"{ENV_TOKEN_FILE} to a file holding it (System Console > Integrations > Integration Management: "
        f"enable personal access tokens). Environment variables tried: {ENV_TOKEN}, {ENV_TOKEN_FILE}")


def _clean_token(token: str, source: str) -> str:
    """One header-safe word; a pasted ``Bearer`` prefix is tolerated. The value is never echoed."""
    token = token.strip()
    if token[:7].lower() == "bearer ":
        token = token[7:].strip()
    if not token or any(c.isspace() or ord(c) < 0x21 or ord(c) > 0x7E for c in token):
        raise MattermostConfigError(f"{source} does not look like a Mattermost access token (expected one word of "
                                    "printable ASCII, e.g. 26 letters and digits)")
    return token


def _check_base_url(url: str, insecure: bool = False) -> str:
    """The server's root URL (``/api/v4`` appended per call); a pasted ``.../api/v4`` is accepted.

    Plain http to anything but loopback would send a system admin's token in clear text: refused
    unless the caller says ``insecure`` (``--mattermost-insecure``), as for LDAP."""
    raw = (url or "").strip()
    parts = urlsplit(raw)
    if parts.username or parts.password:
        raise MattermostConfigError("the Mattermost URL must not carry a user name or password; the token goes in "
                                    f"{ENV_TOKEN}")
    if parts.scheme not in ("https", "http") or not parts.hostname:
        raise MattermostConfigError(f"the Mattermost URL {raw!r} is not an http(s) URL; expected e.g. "
                                    "https://chat.example.com")
    if parts.query or parts.fragment:
        raise MattermostConfigError(f"the Mattermost URL {raw!r} must not have a query or fragment; expected e.g. "
                                    "https://chat.example.com")
    path = parts.path.rstrip("/")
    if path.endswith(API_PREFIX):
        path = path[: -len(API_PREFIX)]
    if parts.scheme == "http" and parts.hostname not in _LOOPBACK:
        if not insecure:
            raise MattermostConfigError(
                f"the Mattermost URL {raw!r} is plain http to {parts.hostname}: the system admin token would cross "
                "the network unencrypted; use https, or give --mattermost-insecure to accept that")
        log.warning("mattermost api: %s is plain http: the access token travels unencrypted", parts.hostname)
    return urlunsplit((parts.scheme, parts.netloc, path, "", ""))


class MattermostApi:
    """One authenticated connection to a Mattermost server's REST API v4.

    ``on_page(n_users)`` is called once per page of users received, for progress bars. A client
    passed in (``client=``) stays the caller's to close; one made here is closed by ``close``.
    ``ca_file`` verifies https against a private CA bundle instead of the system's trust store.
    """

    def __init__(self, base_url: str, token: str, *, per_page: int = MAX_PER_PAGE, max_retries: int = 5,
                 max_wait: float = 120.0, client: httpx.Client | None = None,
                 on_page: Callable[[int], None] | None = None, ca_file: str | Path | None = None,
                 insecure: bool = False):
        if not 1 <= per_page <= MAX_PER_PAGE:
            raise ValueError(f"per_page must be 1..{MAX_PER_PAGE} (Mattermost caps it at {MAX_PER_PAGE})")
        if max_retries < 0 or max_wait < 0:
            raise ValueError("max_retries and max_wait must not be negative")
        try:
            import httpx
        except ImportError as exc:
            raise MattermostConfigError(f"the live Mattermost source needs httpx (pip install httpx): {exc}") from None
        self._httpx = httpx
        self.base_url = _check_base_url(base_url, insecure)
        self._token = _clean_token(token, "the Mattermost token")
        self.per_page = per_page
        self.max_retries = max_retries
        self.max_wait = max_wait
        self.on_page = on_page
        self._headers = {"Authorization": f"Bearer {self._token}", "Accept": "application/json"}
        self._admin_checked = False
        self.me: dict | None = None  # /users/me once check_admin has run (username, roles; no secrets)
        if client is None:
            verify: ssl.SSLContext | bool = True
            if ca_file is not None:
                try:
                    verify = ssl.create_default_context(cafile=str(ca_file))
                except (OSError, ssl.SSLError) as exc:
                    raise MattermostConfigError(f"the CA bundle {str(ca_file)!r} cannot be loaded: {exc}") from None
            client = httpx.Client(timeout=httpx.Timeout(60.0, connect=15.0), verify=verify, follow_redirects=False,
                                  headers={"User-Agent": f"reconcile/{__version__}"})
            self._owns_client = True
        else:
            self._owns_client = False
        self._client: httpx.Client | None = client

    def __repr__(self) -> str:
        return f"MattermostApi({self.base_url!r}, token=<hidden>)"

    # --- public calls ----------------------------------------------------------------------------

    def check_admin(self) -> None:
        """Prove the token works and belongs to a system admin, before anything is extracted.

        Mattermost sanitises ``auth_data`` for every caller without ``manage_system``; only the
        ``system_admin`` role has it, so the roles on ``/users/me`` decide.
        """
        self._require_system_admin(
            "which is not a system admin: Mattermost returns auth_data only to callers with the manage_system "
            "permission, so every account would look unbound. Use a personal access token of a system admin (or "
            f"of a bot account given the system_admin role) in {ENV_TOKEN}")

    def check_user_editor(self) -> None:
        """Prove the token may change other accounts' auth data, before anything is written.

        ``PUT /users/{id}/auth`` (api4/user.go updateUserAuth) lets a caller through only when
        ``c.IsSystemAdmin()``, i.e. the session has ``manage_system``, and names ``edit_other_users``
        in its 403. ``system_user_manager`` and other delegated admin roles have ``edit_other_users``
        but not ``manage_system`` and are refused, so the roles decide exactly as for ``check_admin``:
        ``system_admin`` or nothing. (The same role is what lets GET /users/{id} show ``auth_data``.)
        """
        self._require_system_admin(
            "which may not change other accounts' auth data: Mattermost's PUT /api/v4/users/{id}/auth accepts only "
            "a system admin (the manage_system permission; its refusal names edit_other_users, which delegated "
            "roles such as system_user_manager have but which is not enough). Use a system admin's personal access "
            f"token in {ENV_TOKEN}")

    def _require_system_admin(self, why_not: str) -> None:
        roles, who = self._my_roles()
        if SYSTEM_ADMIN_ROLE not in roles:
            raise MattermostAuthError(f"the Mattermost token belongs to {who!r} (roles: {' '.join(roles) or 'none'}), "
                                      + why_not)
        self._admin_checked = True

    def _my_roles(self) -> tuple[list[str], str]:
        """``GET /users/me``: the token's roles and a name for messages (kept in ``self.me``, no secrets)."""
        me = self._get_json("/users/me", None, "users/me")
        if not isinstance(me, dict):
            raise MattermostSourceError(f"mattermost api: GET {self.base_url}{API_PREFIX}/users/me answered "
                                        f"{type(me).__name__}, expected a user object")
        roles = str(me.get("roles") or "").split()
        self.me = {"id": me.get("id"), "username": me.get("username"), "roles": " ".join(roles)}
        return roles, str(me.get("username") or me.get("id") or "?")

    def user(self, user_id: str) -> dict | None:
        """``GET /api/v4/users/{id}``: one account as a system admin sees it; None when the server has none (404).

        ``auth_data`` is omitted when NULL (``*string`` with ``omitempty``); a deactivated account is
        returned with ``delete_at`` != 0, so the caller tells "gone" from "deactivated" itself.
        """
        path = f"/users/{quote(user_id, safe='')}"
        try:
            doc = self._get_json(path, None, f"user {user_id}")
        except MattermostSourceError as exc:
            if exc.status == 404:
                return None
            raise
        if not isinstance(doc, dict):
            raise MattermostSourceError(f"mattermost api: GET {self._url(path)} answered {type(doc).__name__}, "
                                        "expected a user object", url=self._url(path))
        return doc

    def update_user_auth(self, user_id: str, auth_data: str, auth_service: str) -> Any:
        """``PUT /api/v4/users/{id}/auth`` with ``{"auth_data", "auth_service"}``; returns the server's answer.

        Mattermost answers the stored ``model.UserAuth`` (``{"auth_data", "auth_service"}``), not the
        user, and answers 200 even for an id it has no account for (the store's UPDATE matches no
        row), so only a GET afterwards proves what was stored. A refusal (400 for an auth_data another
        account holds, or an empty one) raises ``MattermostSourceError`` with its ``status``; 401/403
        raise ``MattermostAuthError``. 429 and 502/503/504 are retried as for reads: the request sets
        one value, so sending it again cannot do more than the first did.
        """
        path = f"/users/{quote(user_id, safe='')}/auth"
        response = self._send("PUT", path, None, f"user {user_id} auth",
                              body={"auth_data": auth_data, "auth_service": auth_service})
        try:
            return response.json()
        except ValueError:
            return None

    def users(self) -> Iterator[dict]:
        """Every user, deactivated and bots included, page by page until an empty page.

        Each record is the API's dict plus ``_where`` ("mattermost api: page N", N as sent in the
        ``page`` parameter). Stops with ``MattermostAuthError`` when the pages show ``auth_data``
        is hidden from this token, instead of reporting every SSO account as unbound.
        """
        if not self._admin_checked:
            self.check_admin()
        page = 0
        previous_ids: set[str] = set()
        visibility_proven = False
        while True:
            what = f"page {page}"
            data = self._get_json("/users", {"page": page, "per_page": self.per_page}, what)
            if not isinstance(data, list):
                raise MattermostSourceError(f"mattermost api: {what}: GET {self._url('/users')} answered "
                                            f"{type(data).__name__}, expected a JSON array of users")
            if not data:
                return
            where = f"mattermost api: {what}"
            records: list[dict] = []
            for record in data:
                if not isinstance(record, dict):
                    raise MattermostSourceError(f"{where}: expected user objects, found {type(record).__name__}")
                user_id = record.get("id")
                if isinstance(user_id, str) and user_id in previous_ids:
                    log.warning("%s: user %s was already on the previous page (an account created during the "
                                "run shifted the pages); kept once", where, user_id)
                    continue
                record["_where"] = where
                records.append(record)
            if not records:
                raise MattermostSourceError(f"{where}: the server returned the previous page again; it seems to "
                                            f"ignore the page parameter of GET {self._url('/users')}")
            if not visibility_proven:
                visibility_proven = self._check_auth_data_visible(records, where)
            previous_ids = {r["id"] for r in records if isinstance(r.get("id"), str)}
            if self.on_page is not None:
                self.on_page(len(records))
            yield from records
            page += 1

    def config(self) -> dict:
        """``GET /api/v4/config``: the server's config.json, secrets masked by Mattermost."""
        doc = self._get_json("/config", None, "config")
        if not isinstance(doc, dict):
            raise MattermostSourceError(f"mattermost api: GET {self._url('/config')} answered {type(doc).__name__}, "
                                        "expected the config object")
        return doc

    def license(self) -> dict:
        """``GET /api/v4/license/client?format=old``: the client license (``SkuShortName``, ``IsLicensed``)."""
        doc = self._get_json("/license/client", {"format": "old"}, "license")
        if not isinstance(doc, dict):
            raise MattermostSourceError(f"mattermost api: GET {self._url('/license/client')} answered "
                                        f"{type(doc).__name__}, expected the client license object")
        return doc

    def close(self) -> None:
        if self._client is not None and self._owns_client:
            self._client.close()
        self._client = None

    def __enter__(self) -> MattermostApi:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # --- checks, requests, retries ------------------------------------------------------------------

    @staticmethod
    def _check_auth_data_visible(records: list[dict], where: str) -> bool:
        """True once a page proves auth_data is visible; raise when the page proves it hidden.

        An SSO account (auth_service other than "" / "email") is bound by its auth_data, so it is
        always set for a caller who may see it. A page whose SSO accounts all lack it is a
        sanitised view (a single SSO account with genuinely empty auth_data among bound ones is
        a finding, not a reason to stop; hence the whole page decides).
        """
        sso = [r for r in records if (r.get("auth_service") or "") not in ("", "email")]
        if not sso:
            return False
        if any(isinstance(r.get("auth_data"), str) and r["auth_data"] for r in sso):
            return True
        missing = sum(1 for r in sso if "auth_data" not in r)
        raise MattermostAuthError(
            f"{where}: none of the {len(sso)} SSO accounts on this page has auth_data "
            f"({missing} without the field at all): the server is hiding auth_data from this token, so every "
            f"account would look unbound. Mattermost returns auth_data only to callers with the manage_system "
            f"permission: use a system admin's personal access token in {ENV_TOKEN}, or read users from the "
            f"database (--mattermost-dsn)")

    def _url(self, path: str) -> str:
        return f"{self.base_url}{API_PREFIX}{path}"

    def _get_json(self, path: str, params: Mapping[str, Any] | None, what: str) -> Any:
        response = self._get(path, params, what)
        try:
            return response.json()
        except ValueError as exc:
            raise MattermostSourceError(f"mattermost api: {what}: GET {self._url(path)} answered something that is "
                                        f"not JSON ({exc})", url=self._url(path), status=response.status_code) from None

    def _get(self, path: str, params: Mapping[str, Any] | None, what: str) -> httpx.Response:
        """One GET with the retry policy of the module docstring; returns a 200 response."""
        return self._send("GET", path, params, what)

    def _send(self, method: str, path: str, params: Mapping[str, Any] | None, what: str,
              body: Any = None) -> httpx.Response:
        """One request (JSON ``body`` if given) with the retry policy of the module docstring; a 200 response."""
        httpx = self._httpx
        if self._client is None:
            raise RuntimeError("this MattermostApi is closed")
        url = self._url(path)
        shown = url if not params else f"{url}?{'&'.join(f'{k}={v}' for k, v in params.items())}"
        shown = f"{method} {shown}"
        attempt = 0
        while True:
            try:
                response = self._client.request(method, url, params=dict(params) if params else None,
                                                json=body, headers=self._headers)
            except httpx.TransportError as exc:
                detail = self._scrub(_first_line(exc))
                if isinstance(exc, httpx.ConnectError) and "CERTIFICATE_VERIFY_FAILED" in str(exc):
                    raise MattermostConfigError(f"mattermost api: the https certificate of {self.base_url} could not "
                                                f"be verified ({detail}); give the CA bundle that signed it") from None
                if attempt < self.max_retries:
                    wait = _backoff(attempt)
                    attempt += 1
                    log.warning("mattermost api: %s: %s, retry %d of %d in %.3g s", what, type(exc).__name__,
                                attempt, self.max_retries, wait)
                    _sleep(wait)
                    continue
                raise MattermostSourceError(f"mattermost api: {what}: {shown} failed after {attempt + 1} "
                                            f"attempts: {type(exc).__name__}: {detail}", url=url) from None
            status = response.status_code
            if status == 200:
                return response
            if status in (401, 403):
                raise MattermostAuthError(self._auth_message(status, shown, response))
            if status == 429 or status in _RETRY_STATUSES:
                wait = wait_from_headers(response.headers)
                if wait is None:
                    wait = _backoff(attempt)
                if attempt >= self.max_retries:
                    raise MattermostSourceError(
                        f"mattermost api: {what}: {shown} still answered HTTP {status} after {attempt + 1} "
                        f"attempts{_rate_hint(status)}", url=url, status=status)
                if wait > self.max_wait:
                    raise MattermostSourceError(
                        f"mattermost api: {what}: {shown} answered HTTP {status} asking to wait {wait:g} s, more "
                        f"than the {self.max_wait:g} s allowed{_rate_hint(status)}", url=url, status=status)
                attempt += 1
                log.warning("mattermost api: %s: HTTP %d, retry %d of %d in %.3g s", what, status, attempt,
                            self.max_retries, wait)
                _sleep(wait)
                continue
            if 300 <= status < 400:
                location = response.headers.get("location", "?")
                raise MattermostSourceError(f"mattermost api: {what}: {shown} was redirected (HTTP {status}) to "
                                            f"{strip_userinfo(location)}; give the server's final URL instead "
                                            "(the token is not sent on to another address)", url=url, status=status)
            raise MattermostSourceError(f"mattermost api: {what}: {shown} failed with HTTP "
                                        f"{status}{self._error_detail(response)}", url=url, status=status)

    def _auth_message(self, status: int, shown: str, response: httpx.Response) -> str:
        detail = self._error_detail(response)
        if status == 401:
            return (f"Mattermost rejected the token on {shown} (HTTP 401{detail}): the token in {ENV_TOKEN} is "
                    "wrong, expired or revoked, or personal access tokens are disabled "
                    "(ServiceSettings.EnableUserAccessTokens)")
        return (f"Mattermost denied {shown} (HTTP 403{detail}): the token's account lacks the permission; "
                f"this needs a system admin's personal access token in {ENV_TOKEN}")

    def _error_detail(self, response: httpx.Response) -> str:
        """Mattermost's AppError ``id``/``message`` (never ``detailed_error``: it can echo the token)."""
        try:
            body = response.json()
        except ValueError:
            text = response.text.strip().splitlines()[0][:200] if response.text.strip() else ""
            return f": {self._scrub(text)}" if text else ""
        if isinstance(body, dict) and (body.get("id") or body.get("message")):
            parts = [str(body[k]) for k in ("id", "message") if body.get(k)]
            return ": " + self._scrub(" - ".join(parts))[:300]
        return ""

    def _scrub(self, text: str) -> str:
        return text.replace(self._token, "***") if self._token else text


def _backoff(attempt: int) -> float:
    return min(2.0 ** attempt, _BACKOFF_CAP)


def wait_from_headers(headers: Mapping[str, str]) -> float | None:
    """Seconds to wait from ``Retry-After`` (seconds or HTTP date), else ``X-Ratelimit-Reset``.

    Mattermost sends the reset as seconds to wait (math.Ceil of throttled's ResetAfter); a value
    that is clearly a Unix time (> 10^9) is turned into seconds from now.
    """
    retry_after = headers.get("retry-after")
    if retry_after:
        try:
            return _finite(float(retry_after))
        except ValueError:
            try:
                return max(0.0, parsedate_to_datetime(retry_after).timestamp() - _now())
            except (TypeError, ValueError):
                pass
    reset = headers.get("x-ratelimit-reset")
    if reset:
        try:
            value = _finite(float(reset))
        except ValueError:
            return None
        return max(0.0, value - _now()) if value > _EPOCH_THRESHOLD else value
    return None


def _finite(value: float) -> float:
    if math.isnan(value) or math.isinf(value):
        raise ValueError(value)
    return max(0.0, value)


def _rate_hint(status: int) -> str:
    if status == 429:
        return (" (Mattermost's rate limit: raise RateLimitSettings.PerSec/MaxBurst for this job's token, or run "
                "it when the server is quiet)")
    return ""




def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__
