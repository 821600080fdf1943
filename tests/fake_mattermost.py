"""A local fake of the Mattermost REST API v4 endpoints the live Mattermost source calls, on 127.0.0.1.

Why a fake and not mocks: the source is plain httpx over HTTP, and what can go wrong is the
conversation with the server (paging, sanitised fields, rate limiting, auth). Tests run the real
client against this server, so only Mattermost itself is replaced. It is faithful where the
source depends on Mattermost's behaviour (server/channels/web/params.go, app/ratelimit.go,
public/model/user.go, config.go):

* ``GET /api/v4/users?page=N&per_page=M``: 0-based offset paging ordered by username; ``per_page``
  capped at 200 (60 when missing or invalid), an invalid ``page`` read as 0; an empty array after
  the last user; deactivated users and bots included (no ``active`` filter given).
* Sanitising: a caller without ``manage_system`` (roles lacking ``system_admin``) gets every user
  with ``"auth_data": ""`` and ``"auth_service": ""`` (model.User.Sanitize with the non-admin
  options), no ``notify_props``; an admin gets ``auth_data`` as stored, the key omitted when it is
  NULL (``*string`` with ``omitempty``). ``is_bot`` is omitted when false (``omitempty``).
  ``hide_auth_data=True`` drops ``auth_data`` even for an admin while keeping ``auth_service``: the
  shape of a server or proxy that hides it from a token whose roles look admin.
* ``GET /api/v4/users/me``: the token's own account with its ``roles``.
* ``GET /api/v4/config``: the config with secrets replaced by ``"********************************"``
  (model.FakeSetting) as Mattermost does; 403 without ``manage_system``.
* ``GET /api/v4/license/client?format=old``: the client license (string values); 501 without
  ``format=old``; the sanitised license (no Id, Name, Email, dates, SkuName) for non-admins.
* 401 with Mattermost's AppError body for an unknown token (its ``detailed_error`` echoes
  ``token=...``, as the server does, so a client that prints it leaks the token).
* Rate limiting: 429 with ``text/plain`` body "limit exceeded", ``X-Ratelimit-Limit``,
  ``X-Ratelimit-Remaining: 0``, ``X-Ratelimit-Reset`` and ``Retry-After`` (each configurable per
  page, None = header left out); Mattermost itself sends both as seconds to wait.
* Fault injection per route and page: any status, ``times`` times or forever (any method: a fault on
  ``/users/{id}/auth`` answers the PUT; on ``/users/{id}`` the GET).
* ``GET /api/v4/users/{id}``: the user as ``/users`` serialises it for this caller; 404 with
  ``app.user.missing_account.const`` for an id the server has no account for.
* ``PUT /api/v4/users/{id}/auth`` with ``{"auth_data", "auth_service"}`` (api4/user.go updateUserAuth,
  app/user.go UpdateUserAuth, sqlstore UpdateAuthData), checked in the server's order: 401 for an
  unknown token; 403 ``api.context.permissions.app_error`` unless the caller is a system admin
  (``c.IsSystemAdmin()``, the manage_system permission: the message names edit_other_users, yet a
  ``system_user_manager``, which has edit_other_users, is refused too; ``MANAGER_TOKEN`` is one);
  400 ``api.context.invalid_body_param.app_error`` for a body that is not JSON; 400
  ``api.user.update_user_auth.invalid_request`` for an empty or missing ``auth_data`` or
  ``auth_service``; 400 ``app.user.update_auth_data.email_exists.app_error`` when another account
  (any service, any state) already holds that auth_data (the users_authdata_key unique constraint);
  otherwise 200 with the stored ``model.UserAuth``, ``{"auth_data": ..., "auth_service": ...}``. As on
  the real server an unknown user id is not an error there: the UPDATE matches no row and the
  answer is still 200 (nothing stored), so only a GET afterwards proves a write.
  ``after_put(user_id, n)`` runs after the n-th successful PUT is stored and before it is answered:
  a test can block there (and kill the client) or change the account behind the client's back.
* Tests change an account between plan and apply through ``user(id)`` (the stored dict).
* Notifications (issue 15): ``POST /hooks/{key}`` is an incoming webhook (server/channels/web/webhook.go):
  no token; a JSON body with a non-empty ``text`` is posted and answered 200 ``ok`` (text/plain); an
  unknown key is 400 ``web.incoming_webhook.invalid.app_error``, a body without text 400
  ``web.incoming_webhook.text.app_error``. ``POST /api/v4/posts`` with ``{"channel_id", "message"}``
  (api4/post.go createPost) answers 201 with the post; 400 for a body that is not JSON or lacks
  ``channel_id``, 403 ``api.context.permissions.app_error`` when the caller is not a member of the
  channel. ``GET /api/v4/channels/{id}``: 404 ``app.channel.get.existing.app_error`` for an unknown id,
  403 for a channel the caller is not a member of. ``BOT_TOKEN`` belongs to a bot account
  (``is_bot``) that is a member of ``CHANNEL_ID``; ``posts`` holds every post made, webhook ones too.

Tenant users are stored API-shaped (``tenant.mm_user``: ``auth_data`` None = NULL). Every request
is recorded in ``requests`` (path, query, lower-cased headers, status) for assertions.
"""

from __future__ import annotations

import copy
import json
import re
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qs, urlsplit

from loopback import KeepAliveHandler, LoopbackServer

ADMIN_TOKEN = "adminadminadminadminadmin1"  # 26 characters, like Mattermost's tokens
USER_TOKEN = "useruseruseruseruseruser01"
MANAGER_TOKEN = "managermanagermanagerman01"  # a delegated user manager: edit_other_users, no manage_system
ADMIN_ACCOUNT = {"id": "sysadminsysadminsysadmin01", "username": "sysadmin", "email": "sysadmin@contoso.com",
                 "roles": "system_admin system_user"}
USER_ACCOUNT = {"id": "plainuserplainuserplainu01", "username": "alice", "email": "alice@contoso.com",
                "roles": "system_user"}
MANAGER_ACCOUNT = {"id": "usermanagerusermanageru01", "username": "bob", "email": "bob@contoso.com",
                   "roles": "system_user system_user_manager"}
BOT_TOKEN = "botbotbotbotbotbotbotbotb1"
BOT_ACCOUNT = {"id": "reconcilebotreconcilebot01", "username": "reconcile-bot", "email": "", "is_bot": True,
               "roles": "system_user"}
CHANNEL_ID = "identityadminschannel00001"
HOOK_KEY = "hooksecrethooksecrethooks1"
FAKE_SETTING = "********************************"
PER_PAGE_DEFAULT = 60
PER_PAGE_MAX = 200

# Config values Mattermost masks in GET /api/v4/config (model.Config.Sanitize), as (section, key).
SECRET_SETTINGS = (
    ("SqlSettings", "DataSource"), ("SqlSettings", "AtRestEncryptKey"), ("FileSettings", "PublicLinkSalt"),
    ("FileSettings", "AmazonS3SecretAccessKey"), ("EmailSettings", "SMTPPassword"), ("GitLabSettings", "Secret"),
    ("GoogleSettings", "Secret"), ("Office365Settings", "Secret"), ("OpenIdSettings", "Secret"),
    ("LdapSettings", "BindPassword"), ("ElasticsearchSettings", "Password"), ("ServiceSettings", "SplitKey"),
    ("MessageExportSettings", "GlobalRelaySettings.SMTPPassword"),
)
LICENSE_PRIVATE = ("Id", "Name", "Email", "IssuedAt", "StartsAt", "ExpiresAt", "SkuName")


@dataclass
class Fault:
    """Answer ``route`` (page ``page``, or every page when None) with ``status``, ``times`` times (None = forever)."""

    route: str
    page: int | None
    status: int
    times: int | None
    headers: list[tuple[str, str]]
    body: bytes
    content_type: str
    hits: int = 0


@dataclass
class RecordedRequest:
    method: str
    route: str  # path below /api/v4, e.g. "/users"
    query: dict[str, str]
    headers: dict[str, str]  # lower-cased names
    at: float  # time.monotonic()
    status: int | None = None
    body: Any = None  # the JSON body of a PUT, parsed (None when absent or not JSON)


class _HTTPError(Exception):
    def __init__(self, status: int, error_id: str, message: str, detailed: str = ""):
        super().__init__(f"{status} {error_id}")
        self.status, self.error_id, self.message, self.detailed = status, error_id, message, detailed


@dataclass
class FakeMattermost(LoopbackServer):
    """The fake server's state (users, tokens, config, license) and the server (``with`` block or start/stop)."""

    users: list[dict] = field(default_factory=list)
    tokens: dict[str, dict] = field(default_factory=lambda: {ADMIN_TOKEN: dict(ADMIN_ACCOUNT),
                                                             USER_TOKEN: dict(USER_ACCOUNT),
                                                             MANAGER_TOKEN: dict(MANAGER_ACCOUNT),
                                                             BOT_TOKEN: dict(BOT_ACCOUNT)})
    # channel id -> the channel (its "members": user ids, not serialised); incoming webhooks: key -> channel id
    channels: dict[str, dict] = field(default_factory=lambda: {CHANNEL_ID: {
        "id": CHANNEL_ID, "name": "identity-admins", "display_name": "Identity admins", "type": "P",
        "team_id": "contosoteamcontosoteamcon1", "members": {BOT_ACCOUNT["id"], ADMIN_ACCOUNT["id"]}}})
    hooks: dict[str, str] = field(default_factory=lambda: {HOOK_KEY: CHANNEL_ID})
    config: dict = field(default_factory=dict)
    license: dict = field(default_factory=lambda: {"IsLicensed": "true", "SkuShortName": "advanced",
                                                   "SkuName": "Enterprise Advanced", "Id": "lic0001",
                                                   "Name": "Contoso", "Email": "it@contoso.com",
                                                   "IssuedAt": "1700000000000", "StartsAt": "1700000000000",
                                                   "ExpiresAt": "1900000000000"})
    hide_auth_data: bool = False
    show_email: bool = True  # PrivacySettings.ShowEmailAddress
    ignore_page: bool = False  # a broken server (or proxy) that always serves page 0
    before_users_page: Callable[[int], None] | None = None  # runs before page N is cut, e.g. to add a user
    after_put: Callable[[str, int], None] | None = None  # runs after the n-th stored PUT .../auth, before answering

    def __post_init__(self) -> None:
        self.requests: list[RecordedRequest] = []
        self.faults: list[Fault] = []
        self.posts: list[dict] = []  # every post made: {"channel_id", "message", "user_id" or "hook"}
        self._lock = threading.Lock()
        self.puts_stored = 0

    # --- building the server's state --------------------------------------------------------------

    def fail(self, route: str, page: int | None = None, status: int = 500, times: int | None = 1,
             headers: Iterable[tuple[str, str]] = (), body: dict | str | None = None) -> Fault:
        if body is None:
            body = {"id": "app.fake.injected.app_error", "message": f"Injected HTTP {status}.",
                    "detailed_error": "", "request_id": "fakerequest", "status_code": status}
        raw, ctype = ((body.encode(), "text/plain; charset=utf-8") if isinstance(body, str)
                      else (json.dumps(body).encode(), "application/json"))
        fault = Fault(route, page, status, times, list(headers), raw, ctype)
        with self._lock:
            self.faults.append(fault)
        return fault

    def rate_limit(self, route: str = "/users", page: int | None = 0, times: int | None = 1,
                   retry_after: str | None = "1", reset: str | None = "1") -> Fault:
        """429 as Mattermost's throttled limiter sends it; a header given as None is left out."""
        headers = [("X-Ratelimit-Limit", "10"), ("X-Ratelimit-Remaining", "0")]
        if reset is not None:
            headers.append(("X-Ratelimit-Reset", reset))
        if retry_after is not None:
            headers.append(("Retry-After", retry_after))
        return self.fail(route, page, 429, times, headers, body="limit exceeded\n")

    def requests_to(self, route: str, method: str | None = None) -> list[RecordedRequest]:
        return [r for r in self.requests if r.route == route and (method is None or r.method == method)]

    def writes(self) -> list[RecordedRequest]:
        """Every request that was not a GET (whatever it was answered)."""
        return [r for r in self.requests if r.method != "GET"]

    def user(self, user_id: str) -> dict:
        """The stored account (edit it to change the server's state behind the client's back)."""
        for user in self.users:
            if user["id"] == user_id:
                return user
        raise KeyError(user_id)

    # --- server lifecycle ---------------------------------------------------------------------------

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    # --- request handling ---------------------------------------------------------------------------

    def handle(self, method: str, raw_path: str, headers: dict[str, str],
               payload: bytes = b"") -> tuple[int, bytes, str, list]:
        parts = urlsplit(raw_path)
        query = {k: v[-1] for k, v in parse_qs(parts.query, keep_blank_values=True).items()}
        route = parts.path[len("/api/v4"):] if parts.path.startswith("/api/v4/") else parts.path
        record = RecordedRequest(method, route, query, headers, time.monotonic())
        if payload:
            try:
                record.body = json.loads(payload)
            except ValueError:
                record.body = None
        with self._lock:
            self.requests.append(record)
        try:
            if route.startswith("/hooks/"):
                return self._incoming_webhook(method, route, record)
            is_auth_put = method == "PUT" and _AUTH_ROUTE.fullmatch(route) is not None
            is_post = method == "POST" and route == "/posts"
            if method != "GET" and not is_auth_put and not is_post:
                raise _HTTPError(405, "api.context.method_not_allowed.app_error", "Method not allowed.")
            caller = self._authenticate(headers)
            page = _int_param(query.get("page"), 0) if route == "/users" else None
            fault = self._fault(route, page)
            if fault is not None:
                record.status = fault.status
                return fault.status, fault.body, fault.content_type, fault.headers
            if is_post:
                body = self._create_post(record.body, caller)
                record.status = 201
                return 201, json.dumps(body).encode(), "application/json", []
            if is_auth_put:
                body = self._update_user_auth(route.split("/")[2], payload, caller)
            else:
                body = self._route(route, query, caller)
            record.status = 200
            return 200, json.dumps(body).encode(), "application/json", []
        except _HTTPError as exc:
            record.status = exc.status
            body = {"id": exc.error_id, "message": exc.message, "detailed_error": exc.detailed,
                    "request_id": "fakerequestid00000000000000", "status_code": exc.status}
            return exc.status, json.dumps(body).encode(), "application/json", []

    def _incoming_webhook(self, method: str, route: str, record: RecordedRequest) -> tuple[int, bytes, str, list]:
        """POST /hooks/{key}: no token, the key is the secret; 200 with the text body ``ok``."""
        if method != "POST":
            raise _HTTPError(405, "api.context.method_not_allowed.app_error", "Method not allowed.")
        fault = self._fault(route, None)
        if fault is not None:
            record.status = fault.status
            return fault.status, fault.body, fault.content_type, fault.headers
        channel_id = self.hooks.get(route.removeprefix("/hooks/"))
        if channel_id is None:
            raise _HTTPError(400, "web.incoming_webhook.invalid.app_error", "Invalid webhook.")
        doc = record.body
        if not isinstance(doc, dict) or not isinstance(doc.get("text"), str) or not doc["text"].strip():
            raise _HTTPError(400, "web.incoming_webhook.text.app_error", "No text specified.")
        with self._lock:
            self.posts.append({"channel_id": channel_id, "message": doc["text"], "hook": route})
        record.status = 200
        return 200, b"ok", "text/plain; charset=utf-8", []

    def _create_post(self, doc: Any, caller: dict) -> dict:
        """POST /api/v4/posts as createPost checks it: a JSON post, a channel the caller is a member of."""
        if not isinstance(doc, dict) or not isinstance(doc.get("channel_id"), str) or not doc["channel_id"]:
            raise _HTTPError(400, "api.context.invalid_body_param.app_error", "Invalid or missing post in request "
                             "body.")
        channel = self.channels.get(doc["channel_id"])
        if channel is None or caller.get("id") not in channel["members"]:
            raise _HTTPError(403, "api.context.permissions.app_error", "You do not have the appropriate "
                             "permissions.", "userId=" + str(caller.get("id")) + ", permission=create_post")
        post = {"id": f"post{len(self.posts):022d}", "channel_id": channel["id"], "user_id": caller["id"],
                "message": str(doc.get("message") or ""), "create_at": int(time.time() * 1000)}
        with self._lock:
            self.posts.append(post)
        return post

    def _authenticate(self, headers: dict[str, str]) -> dict:
        scheme, _, token = headers.get("authorization", "").partition(" ")
        token = token.strip()
        if scheme.lower() != "bearer" or token not in self.tokens:
            raise _HTTPError(401, "api.context.session_expired.app_error",
                             "Invalid or expired session, please login again.", f"token={token}")
        return self.tokens[token]

    def _fault(self, route: str, page: int | None) -> Fault | None:
        with self._lock:
            for fault in self.faults:
                if fault.route == route and (fault.page is None or fault.page == page) and (
                        fault.times is None or fault.hits < fault.times):
                    fault.hits += 1
                    return fault
        return None

    def _route(self, route: str, query: dict[str, str], caller: dict) -> Any:
        admin = "system_admin" in str(caller.get("roles", "")).split()
        if route == "/users/me":
            return self._shape(caller, admin=True)  # one's own profile is never sanitised
        if route == "/users":
            page = 0 if self.ignore_page else _int_param(query.get("page"), 0)
            per_page = min(_int_param(query.get("per_page"), PER_PAGE_DEFAULT), PER_PAGE_MAX)
            if self.before_users_page is not None:
                self.before_users_page(page)
            ordered = sorted(self.users, key=lambda u: u["username"])
            return [self._shape(u, admin) for u in ordered[page * per_page:(page + 1) * per_page]]
        if route.startswith("/users/") and route.count("/") == 2:
            user_id = route.split("/")[2]
            for user in self.users:
                if user["id"] == user_id:
                    return self._shape(user, admin)
            raise _HTTPError(404, "app.user.missing_account.const", "Unable to find the user.",
                             "user_id=" + user_id)
        if route.startswith("/channels/") and route.count("/") == 2:
            channel = self.channels.get(route.split("/")[2])
            if channel is None:
                raise _HTTPError(404, "app.channel.get.existing.app_error", "Unable to find the existing channel.")
            if caller.get("id") not in channel["members"]:
                raise _HTTPError(403, "api.context.permissions.app_error", "You do not have the appropriate "
                                 "permissions.", "userId=" + str(caller.get("id")) + ", permission=read_channel")
            return {k: v for k, v in channel.items() if k != "members"}
        if route == "/config":
            if not admin:
                raise _HTTPError(403, "api.context.permissions.app_error", "You do not have the appropriate "
                                 "permissions.", "userId=" + str(caller.get("id")))
            return _masked_config(self.config)
        if route == "/license/client":
            if query.get("format") != "old":
                raise _HTTPError(501, "api.license.client.old_format.app_error",
                                 "New format for the client license is not supported yet. Please specify "
                                 "format=old in the query string.")
            lic = dict(self.license)
            if not admin:
                for key in LICENSE_PRIVATE:
                    lic.pop(key, None)
            return lic
        raise _HTTPError(404, "api.context.404.app_error", "Sorry, we could not find the page.")

    def _update_user_auth(self, user_id: str, payload: bytes, caller: dict) -> dict:
        """PUT /users/{id}/auth in the real server's order (see the module docstring)."""
        if "system_admin" not in str(caller.get("roles", "")).split():
            raise _HTTPError(403, "api.context.permissions.app_error", "You do not have the appropriate "
                             "permissions.", "userId=" + str(caller.get("id")) + ", permission=edit_other_users")
        try:
            doc = json.loads(payload or b"null")
        except ValueError:
            doc = None
        if not isinstance(doc, dict):
            raise _HTTPError(400, "api.context.invalid_body_param.app_error", "Invalid or missing user in request "
                             "body.")
        auth_data, auth_service = doc.get("auth_data"), doc.get("auth_service")
        if not isinstance(auth_data, str) or not auth_data or not isinstance(auth_service, str) or not auth_service:
            raise _HTTPError(400, "api.user.update_user_auth.invalid_request",
                             "Invalid request: either the auth_data or auth_service field is missing.")
        with self._lock:
            if any(u.get("auth_data") == auth_data and u["id"] != user_id for u in self.users):
                raise _HTTPError(400, "app.user.update_auth_data.email_exists.app_error",
                                 "Unable to switch account to {{.Service}}. An account using {{.Email}} already "
                                 "exists.", "invalid input: entity: User field: id value: " + user_id)
            stored = False
            for user in self.users:
                if user["id"] == user_id:
                    user["auth_data"], user["auth_service"] = auth_data, auth_service
                    user["update_at"] = int(time.time() * 1000)
                    stored = True
            if stored:
                self.puts_stored += 1
                n = self.puts_stored
        if stored and self.after_put is not None:
            self.after_put(user_id, n)
        return {"auth_data": auth_data, "auth_service": auth_service}

    def _shape(self, user: dict, admin: bool) -> dict:
        """The user as GET /api/v4/users serialises it for this caller."""
        out: dict[str, Any] = {
            "id": user["id"], "create_at": user.get("create_at", 1_700_000_000_000),
            "update_at": user.get("update_at", 1_700_000_000_000), "delete_at": user.get("delete_at", 0),
            "username": user["username"], "auth_service": user.get("auth_service", ""),
            "email": user.get("email", ""), "nickname": "", "first_name": user.get("first_name", ""),
            "last_name": user.get("last_name", ""), "position": "", "roles": user.get("roles", "system_user"),
            "locale": "en", "timezone": {"automaticTimezone": "", "manualTimezone": "",
                                         "useAutomaticTimezone": "true"},
            "disable_welcome_email": False,
        }
        if user.get("auth_data") is not None:
            out["auth_data"] = user["auth_data"]
        if user.get("is_bot"):
            out["is_bot"] = True
            out["bot_description"] = user.get("bot_description", "")
        if admin:
            out["notify_props"] = {"email": "true", "push": "mention", "desktop": "mention"}
            out["last_password_update"] = out["create_at"]
            if self.hide_auth_data:
                out.pop("auth_data", None)
        else:
            out["auth_data"] = ""
            out["auth_service"] = ""
            if not self.show_email:
                out["email"] = ""
        return out


def sample_users(count: int) -> list[dict]:
    """A deterministic Mattermost population with every shape the audit meets, API-shaped (``tenant.mm_user``).

    SAML accounts bound to objectIds (some upper-case), Office 365 and LDAP accounts (LDAP
    auth_data in Mattermost's backslash-hex objectGUID form), email accounts with NULL or ''
    auth_data (at most one '': the column is UNIQUE), one SSO account with NULL auth_data (never
    bound), deactivated accounts and bots.
    """
    from tenant import mm_user, oid

    from reconcile.identifiers import guid_to_bytes_le, mattermost_hex

    users = []
    for n in range(1, count + 1):
        if n % 50 == 0:
            user = mm_user(n, f"bot{n:05d}", auth_service="", is_bot=True)
            user["auth_data"] = None
        elif n % 10 == 0:
            user = mm_user(n, f"mail{n:05d}", auth_service="")
            user["auth_data"] = "" if n == 20 else None  # authdata is UNIQUE: '' fits only once
        elif n % 9 == 0:
            user = mm_user(n, f"ldap{n:05d}", auth_service="ldap",
                           auth_data=mattermost_hex(guid_to_bytes_le(oid(n))))
        elif n % 4 == 0:
            user = mm_user(n, f"o365{n:05d}", auth_service="office365")
        else:
            user = mm_user(n, f"saml{n:05d}", auth_data=oid(n).upper() if n % 8 == 1 else oid(n))
        if n == 7:
            user["auth_data"] = None
        if n % 7 == 0:
            user["delete_at"] = 1_700_000_000_000 + n
        users.append(user)
    return users


_AUTH_ROUTE = re.compile(r"/users/[^/]+/auth")


def _int_param(value: str | None, default: int) -> int:
    """Mattermost's reading of page/per_page: not a number or negative -> the default."""
    try:
        number = int(value) if value is not None else default
    except ValueError:
        return default
    return default if number < 0 else number


def _masked_config(config: dict) -> dict:
    doc = copy.deepcopy(config)
    for section, key in SECRET_SETTINGS:
        holder = doc.get(section)
        *path, leaf = key.split(".")
        for step in path:
            holder = holder.get(step) if isinstance(holder, dict) else None
        if isinstance(holder, dict) and holder.get(leaf):
            holder[leaf] = FAKE_SETTING
    replicas = doc.get("SqlSettings", {}).get("DataSourceReplicas") if isinstance(doc.get("SqlSettings"), dict) \
        else None
    if isinstance(replicas, list):
        doc["SqlSettings"]["DataSourceReplicas"] = [FAKE_SETTING for _ in replicas]
    return doc


class _Handler(KeepAliveHandler):
    def do_PUT(self) -> None:
        self._serve("PUT")

    def _serve(self, method: str) -> None:
        fake: FakeMattermost = self.server.fake  # type: ignore[attr-defined]
        headers = {k.lower(): v for k, v in self.headers.items()}
        length = int(headers.get("content-length") or 0)
        request_body = self.rfile.read(length) if length else b""
        status, payload, ctype, extra = fake.handle(method, self.path, headers, request_body)
        self.send_response(status)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(payload)))
        self.send_header("X-Request-Id", "fakerequestid00000000000000")
        self.send_header("X-Version-Id", "10.5.0.fake")
        for name, value in extra:
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(payload)


FakeMattermost._handler = _Handler
FakeMattermost._name = "fake-mattermost"
