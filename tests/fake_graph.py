"""A local fake of the Microsoft Graph endpoints the live Entra source calls, on 127.0.0.1.

Why a fake and not mocks: the source is built on msgraph-sdk, whose request building, auth
headers, middleware and paging are exactly what can go wrong against the real service. Tests run
the real SDK over real HTTP against this server, so only Graph itself is replaced. It is faithful
where the source depends on Graph's behaviour:

* absolute ``@odata.nextLink`` URLs back to this server, carrying the query (``$select``, ``$top``,
  ``$filter``, ``$expand``) and an opaque ``$skiptoken``, to be followed whole;
* ``$select`` honoured (only the selected properties, plus ``id``; an unknown property is a 400)
  and ``$top`` limited to 1..999 (a 400 with Graph's "Invalid page size" error otherwise; 100 by default);
* the ``transitiveMembers/microsoft.graph.user`` cast is an advanced query: every page needs the
  ``ConsistencyLevel: eventual`` header and ``$count=true``, or it is a 400 ``Request_UnsupportedQuery``.
  The nextLinks it hands out do not carry ``$count`` (stricter than Graph may be), so a client
  that does not put it on every page itself fails here;
* ``/users/delta`` rounds: pages linked by ``@odata.nextLink``, a final ``@odata.deltaLink``; a later
  round with that link returns what changed since: new users whole, changed users as ``id`` plus
  the changed selected properties (Graph promises "at least" those), removed users as
  ``{"id": ..., "@removed": {"reason": "changed" | "deleted"}}``; expired tokens answer 400
  ``syncStateNotFound`` (or 410, configurable);
* 401 ``InvalidAuthenticationToken`` for an unknown bearer token, 403 ``Authorization_RequestDenied``
  for a token without the permission a route needs;
* fault injection per route and page: 429/503 with ``Retry-After`` k times, or a page that fails forever;
* Graph's error bodies: ``{"error": {"code", "message", "innerError": {...}}}``.

The tenant is plain dicts on the ``FakeGraph`` instance (``users``, ``groups``, ``applications``,
``service_principals``, ``grants``, ``ios_policies``), so a test builds and mutates it inline.
Every request is recorded in ``requests`` for assertions (headers, query, timing, status).

Run as a script (``python tests/fake_graph.py --users 100000``) it serves a synthetic tenant and
prints ``PORT <n>`` once listening; the benchmark uses that, in its own process.
"""

from __future__ import annotations

import argparse
import base64
import copy
import json
import random
import re
import secrets
import threading
import time
import uuid
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any
from urllib.parse import parse_qs, quote, unquote, urlencode, urlsplit

from loopback import KeepAliveHandler, LoopbackServer
from tenant import INTUNE_PLAN

try:
    import orjson

    def _dumps(doc: Any) -> bytes:
        return orjson.dumps(doc)
except ImportError:  # the fake must work without orjson too

    def _dumps(doc: Any) -> bytes:
        return json.dumps(doc, separators=(",", ":")).encode()


GRAPH_PUBLIC_BASE = "https://graph.microsoft.com/v1.0"
DEFAULT_TOKEN = "test-token"
MAX_TOP = 999

# Properties a v1.0 user has (enough of them to tell a typo in $select from a real property).
USER_PROPERTIES = frozenset({
    "id", "accountEnabled", "assignedLicenses", "assignedPlans", "businessPhones", "city", "companyName",
    "country", "createdDateTime", "creationType", "deletedDateTime", "department", "displayName", "employeeId",
    "externalUserState", "givenName", "identities", "jobTitle", "mail", "mailNickname", "mobilePhone",
    "officeLocation", "onPremisesDistinguishedName", "onPremisesDomainName", "onPremisesImmutableId",
    "onPremisesLastSyncDateTime", "onPremisesSamAccountName", "onPremisesSecurityIdentifier",
    "onPremisesSyncEnabled", "onPremisesUserPrincipalName", "otherMails", "preferredLanguage",
    "proxyAddresses", "surname", "usageLocation", "userPrincipalName", "userType",
})
# What GET /users returns without $select.
USER_DEFAULT_SELECT = ("businessPhones", "displayName", "givenName", "jobTitle", "mail", "mobilePhone",
                       "officeLocation", "preferredLanguage", "surname", "userPrincipalName")

# First path segment -> the application permissions that allow reading it.
ROUTE_PERMISSIONS = {
    "users": {"User.Read.All", "User.ReadWrite.All", "Directory.Read.All", "Directory.ReadWrite.All"},
    "groups": {"GroupMember.Read.All", "Group.Read.All", "Directory.Read.All", "Directory.ReadWrite.All"},
    "applications": {"Application.Read.All", "Application.ReadWrite.All", "Directory.Read.All"},
    "servicePrincipals": {"Application.Read.All", "Application.ReadWrite.All", "Directory.Read.All"},
    "oauth2PermissionGrants": {"DelegatedPermissionGrant.Read.All", "DelegatedPermissionGrant.ReadWrite.All",
                               "Directory.Read.All"},
    "deviceAppManagement": {"DeviceManagementApps.Read.All", "DeviceManagementApps.ReadWrite.All"},
    "policies": {"Policy.Read.All", "Policy.ReadWrite.Authorization"},
}

# A new tenant's default: users may consent to apps from verified publishers for low-risk permissions.
DEFAULT_AUTHORIZATION_POLICY = {
    "id": "authorizationPolicy", "displayName": "Authorization Policy", "allowInvitesFrom": "everyone",
    "defaultUserRolePermissions": {
        "allowedToCreateApps": True, "allowedToCreateSecurityGroups": True, "allowedToReadOtherUsers": True,
        "permissionGrantPoliciesAssigned": ["ManagePermissionGrantsForSelf.microsoft-user-default-low"]},
}

# The CSDL declares "graph" as the alias of the "microsoft.graph" namespace; the SDK casts with it.
_MEMBERS_CAST = re.compile(r"^/groups/([^/]+)/transitiveMembers(/(?:microsoft\.)?graph\.user)?$")
_APP_BY_APPID = re.compile(r"^/applications\(appId='([^']*)'\)$")
_FILTER_IN = re.compile(r"^\s*(\w+)\s+in\s+\((.*)\)\s*$")
_FILTER_EQ = re.compile(r"^\s*(\w+)\s+eq\s+'((?:[^']|'')*)'\s*$")
_QUOTED = re.compile(r"'((?:[^']|'')*)'")


class GraphHTTPError(Exception):
    """An error response, in Graph's shape, raised inside a route handler."""

    def __init__(self, status: int, code: str, message: str, headers: Iterable[tuple[str, str]] = ()):
        super().__init__(f"{status} {code}: {message}")
        self.status, self.code, self.message, self.headers = status, code, message, list(headers)


@dataclass
class Fault:
    """Answer page ``page`` of ``route`` with ``status`` (``times`` times; None = forever)."""

    route: str
    page: int
    status: int
    times: int | None
    retry_after: str | None = None
    hits: int = 0


@dataclass
class RecordedRequest:
    method: str
    route: str  # path below /v1.0, e.g. "/users" or "/groups/{id}/transitiveMembers/microsoft.graph.user"
    query: dict[str, str]
    headers: dict[str, str]  # lower-cased names
    started: float  # time.monotonic()
    page: int | None = None
    status: int | None = None
    finished: float | None = None


@dataclass
class _DeltaRound:
    records: list[dict]
    select: tuple[str, ...]
    snapshot: dict[str, dict]  # what the round's deltaLink will be compared against
    page_size: int


@dataclass
class FakeGraph(LoopbackServer):
    """The fake tenant and the server that serves it (``start``/``stop`` or a ``with`` block)."""

    users: dict[str, dict] = field(default_factory=dict)  # id -> Graph user dict
    groups: dict[str, list[str]] = field(default_factory=dict)  # group id -> transitive member user ids
    applications: list[dict] = field(default_factory=list)
    service_principals: list[dict] = field(default_factory=list)
    grants: list[dict] = field(default_factory=list)  # oAuth2PermissionGrants
    ios_policies: list[dict] = field(default_factory=list)  # iosManagedAppProtection, with apps/assignments
    app_registrations: list[dict] = field(default_factory=list)  # managedAppRegistration (iOS, Android, ...)
    authorization_policy: dict = field(default_factory=lambda: copy.deepcopy(DEFAULT_AUTHORIZATION_POLICY))
    tokens: dict[str, set[str] | None] = field(default_factory=lambda: {DEFAULT_TOKEN: None})  # None = all
    default_top: int = 100
    delta_page_size: int = 200
    removal_reasons: dict[str, str] = field(default_factory=dict)  # id -> "changed" | "deleted"
    expired_status: int = 400
    expired_code: str = "syncStateNotFound"
    record_requests: bool = True
    cache_pages: bool = False  # serve repeated identical GETs from a byte cache (benchmark only: tenant frozen)

    def __post_init__(self) -> None:
        self.requests: list[RecordedRequest] = []
        self.faults: list[Fault] = []
        self.canned: dict[tuple[str, str | None], dict] = {}
        self.page_cache: dict[tuple[str, str], bytes] = {}
        self._delta_rounds: dict[str, tuple[_DeltaRound, int]] = {}
        self._delta_tokens: dict[str, tuple[tuple[str, ...], dict[str, dict]]] = {}
        self._lock = threading.Lock()

    # --- building the tenant ------------------------------------------------------------------

    @classmethod
    def with_users(cls, users: Iterable[dict], **kwargs: Any) -> FakeGraph:
        return cls(users={u["id"]: u for u in users}, **kwargs)

    def add_user(self, user: dict) -> None:
        self.users[user["id"]] = user
        self.removal_reasons.pop(user["id"], None)

    def remove_user(self, user_id: str, reason: str = "deleted") -> None:
        """Delete a user; the next delta round reports it with ``@removed.reason`` (Graph: "changed"
        = soft-deleted, restorable for 30 days; "deleted" = gone for good)."""
        del self.users[user_id]
        self.removal_reasons[user_id] = reason

    def grant_token(self, token: str, permissions: Iterable[str] | None) -> None:
        self.tokens[token] = None if permissions is None else set(permissions)

    def fail_page(self, route: str, page: int, status: int = 429, times: int | None = 1,
                  retry_after: str | None = None) -> Fault:
        fault = Fault(route, page, status, times, retry_after)
        self.faults.append(fault)
        return fault

    def serve_canned(self, route: str, body: dict, token: str | None = None) -> None:
        """Answer ``route`` (with ``$skiptoken``/``$deltatoken`` = token, or none) with a recorded
        Graph response; its links to graph.microsoft.com are rewritten to this server."""
        self.canned[(route, token)] = body

    def expire_delta_tokens(self, status: int = 400, code: str = "syncStateNotFound") -> None:
        with self._lock:
            self._delta_tokens.clear()
            self._delta_rounds.clear()
        self.expired_status, self.expired_code = status, code

    def requests_to(self, route: str) -> list[RecordedRequest]:
        return [r for r in self.requests if r.route == route]

    # --- server lifecycle ---------------------------------------------------------------------

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/v1.0"

    # --- request handling ---------------------------------------------------------------------

    def handle(self, method: str, raw_path: str, headers: dict[str, str]) -> tuple[int, dict, list[tuple[str, str]]]:
        parts = urlsplit(raw_path)
        path = unquote(parts.path)
        query = {k: v[-1] for k, v in parse_qs(parts.query, keep_blank_values=True).items()}
        route = path[len("/v1.0"):] if path.startswith("/v1.0/") else path
        route = route[:-2] if route.endswith("()") else route  # /users/delta() is /users/delta
        record = RecordedRequest(method, route, query, headers, time.monotonic())
        if self.record_requests:
            with self._lock:
                self.requests.append(record)
        try:
            if method != "GET":
                raise GraphHTTPError(405, "Request_BadRequest", f"The method {method} is not allowed here.")
            if not path.startswith("/v1.0/"):
                raise GraphHTTPError(400, "BadRequest", "Invalid version.")
            self._authorize(route, headers)
            body = self._route(route, query, headers, record)
            record.status = 200
            return 200, body, []
        except GraphHTTPError as exc:
            record.status = exc.status
            return exc.status, _error_body(exc.code, exc.message), exc.headers
        finally:
            record.finished = time.monotonic()

    def _authorize(self, route: str, headers: dict[str, str]) -> None:
        auth = headers.get("authorization", "")
        if not auth:
            raise GraphHTTPError(401, "InvalidAuthenticationToken", "Access token is empty.", _www_authenticate())
        scheme, _, token = auth.partition(" ")
        if scheme.lower() != "bearer" or token not in self.tokens:
            raise GraphHTTPError(401, "InvalidAuthenticationToken",
                                 "Access token validation failure. Invalid audience.", _www_authenticate())
        granted = self.tokens[token]
        segment = route.lstrip("/").split("/")[0].split("(")[0]
        needed = ROUTE_PERMISSIONS.get(segment)
        if granted is not None and needed is not None and not granted & needed:
            code = "Forbidden" if segment == "deviceAppManagement" else "Authorization_RequestDenied"
            raise GraphHTTPError(403, code, "Insufficient privileges to complete the operation.")

    def _route(self, route: str, query: dict[str, str], headers: dict[str, str], record: RecordedRequest) -> dict:
        token = query.get("$skiptoken") or query.get("$deltatoken")
        if (route, token) in self.canned:
            record.page = 1
            self._check_fault(route, 1)
            return self._rewrite_links(self.canned[(route, token)])
        if route == "/users":
            self._require_count_consistency(query, headers)
            select = self._user_select(query)
            return self._page(route, "users", list(self.users.values()), query, record,
                              lambda u: _project(u, select))
        if route == "/users/delta":
            return self._delta(query, record)
        if route == "/groups":
            return self._page(route, "groups", [{"id": g} for g in self.groups], query, record, dict)
        if match := _MEMBERS_CAST.match(route):
            return self._members(route, match.group(1), bool(match.group(2)), query, headers, record)
        if match := _APP_BY_APPID.match(route):
            app_id = match.group(1)
            record.page = 1
            self._check_fault(route, 1)
            for app in self.applications:
                if str(app.get("appId", "")).lower() == app_id.lower():
                    return {"@odata.context": f"{self.base_url}/$metadata#applications/$entity", **app}
            raise GraphHTTPError(404, "Request_ResourceNotFound",
                                 f"Resource '{app_id}' does not exist or one of its queried reference-property "
                                 "objects are not present.")
        if route == "/servicePrincipals":
            items = _filtered(self.service_principals, query.get("$filter"), ("appId", "id", "displayName"))
            return self._page(route, "servicePrincipals", items, query, record, dict)
        if route == "/oauth2PermissionGrants":
            items = _filtered(self.grants, query.get("$filter"), ("clientId", "resourceId", "consentType"))
            return self._page(route, "oauth2PermissionGrants", items, query, record, dict)
        if route == "/policies/authorizationPolicy":
            record.page = 1
            self._check_fault(route, 1)
            return {"@odata.context": f"{self.base_url}/$metadata#policies/authorizationPolicy/$entity",
                    **self.authorization_policy}
        if route == "/deviceAppManagement/iosManagedAppProtections":
            expand = {e.strip() for e in query.get("$expand", "").split(",") if e.strip()}
            unknown = expand - {"apps", "assignments", "deploymentSummary"}
            if unknown:
                raise GraphHTTPError(400, "BadRequest", f"Could not find a property named '{sorted(unknown)[0]}' "
                                     "on type 'microsoft.graph.iosManagedAppProtection'.")

            def shape(policy: dict) -> dict:
                out = {"@odata.type": "#microsoft.graph.iosManagedAppProtection"}
                out.update({k: v for k, v in policy.items() if k not in ("apps", "assignments") or k in expand})
                return out

            return self._page(route, "deviceAppManagement/iosManagedAppProtections", self.ios_policies, query,
                              record, shape)
        if route == "/deviceAppManagement/managedAppRegistrations":
            select = [s for s in query.get("$select", "").split(",") if s]
            return self._page(route, "deviceAppManagement/managedAppRegistrations", self.app_registrations, query,
                              record, lambda reg: ({k: reg[k] for k in ("@odata.type", *select) if k in reg}
                                                   if select else dict(reg)))
        segment = route.strip("/").split("/")[-1] or route
        raise GraphHTTPError(400, "BadRequest", f"Resource not found for the segment '{segment}'.")

    def _check_fault(self, route: str, page: int) -> None:
        with self._lock:
            for fault in self.faults:
                if fault.route == route and fault.page == page and (fault.times is None or fault.hits < fault.times):
                    fault.hits += 1
                    extra = [("Retry-After", fault.retry_after)] if fault.retry_after is not None else []
                    code, message = _STATUS_ERRORS.get(fault.status, ("UnknownError", "An error occurred."))
                    raise GraphHTTPError(fault.status, code, message, extra)

    def _top(self, query: dict[str, str]) -> int:
        if "$top" not in query:
            return self.default_top
        raw = query["$top"]
        if not raw.isdigit() or not 1 <= int(raw) <= MAX_TOP:
            raise GraphHTTPError(400, "Request_UnsupportedQuery",
                                 f"Invalid page size specified: '{raw}'. Must be between 1 and {MAX_TOP} inclusive.")
        return int(raw)

    def _page(self, route: str, context: str, items: list[dict], query: dict[str, str], record: RecordedRequest,
              shape: Any, keep_count: bool = True) -> dict:
        """One page of a collection; the nextLink carries the query and an opaque skiptoken."""
        top = self._top(query)
        page, offset = 1, 0
        if "$skiptoken" in query:
            try:
                state = json.loads(base64.urlsafe_b64decode(query["$skiptoken"].encode()))
                page, offset = int(state["p"]), int(state["o"])
            except (ValueError, KeyError, TypeError) as exc:
                raise GraphHTTPError(400, "Request_BadRequest", "Invalid skip token.") from exc
        record.page = page
        self._check_fault(route, page)
        rows = [shape(item) for item in items[offset:offset + top]]
        body: dict[str, Any] = {"@odata.context": f"{self.base_url}/$metadata#{context}"}
        if query.get("$count") == "true" and page == 1:
            body["@odata.count"] = len(items)
        if offset + top < len(items):
            token = base64.urlsafe_b64encode(json.dumps({"p": page + 1, "o": offset + top}).encode()).decode()
            kept = {k: v for k, v in query.items() if k != "$skiptoken" and (keep_count or k != "$count")}
            kept["$skiptoken"] = token
            body["@odata.nextLink"] = f"{self.base_url}{route}?{_query_string(kept)}"
        body["value"] = rows
        return body

    def _user_select(self, query: dict[str, str]) -> tuple[str, ...]:
        if "$select" not in query:
            return USER_DEFAULT_SELECT
        select = tuple(s.strip() for s in query["$select"].split(",") if s.strip())
        for prop in select:
            if prop not in USER_PROPERTIES:
                raise GraphHTTPError(400, "Request_BadRequest",
                                     f"Could not find a property named '{prop}' on type 'microsoft.graph.user'.")
        return select

    @staticmethod
    def _require_count_consistency(query: dict[str, str], headers: dict[str, str]) -> None:
        if query.get("$count") == "true" and headers.get("consistencylevel", "").lower() != "eventual":
            raise GraphHTTPError(400, "Request_BadRequest",
                                 "$count is not currently supported without the 'ConsistencyLevel' header "
                                 "set to 'eventual'.")

    def _members(self, route: str, group_id: str, cast: bool, query: dict[str, str], headers: dict[str, str],
                 record: RecordedRequest) -> dict:
        if cast and (headers.get("consistencylevel", "").lower() != "eventual" or query.get("$count") != "true"):
            raise GraphHTTPError(400, "Request_UnsupportedQuery",
                                 "The requested query is not supported. An OData cast on transitiveMembers is "
                                 "an advanced query: it needs the 'ConsistencyLevel: eventual' header and "
                                 "'$count=true'.")
        self._require_count_consistency(query, headers)
        if group_id not in self.groups:
            raise GraphHTTPError(404, "Request_ResourceNotFound",
                                 f"Resource '{group_id}' does not exist or one of its queried reference-property "
                                 "objects are not present.")
        select = self._user_select(query)
        members = [self.users[m] for m in self.groups[group_id] if m in self.users]

        def shape(user: dict) -> dict:
            return {"@odata.type": "#microsoft.graph.user", **_project(user, select)}

        return self._page(route, "users", members, query, record, shape, keep_count=False)

    def _delta(self, query: dict[str, str], record: RecordedRequest) -> dict:
        with self._lock:
            if "$deltatoken" in query:
                state = self._delta_tokens.get(query["$deltatoken"])
                if state is None:
                    raise self._expired()
                select, snapshot = state
                current = self._snapshot(select)
                records = _diff(snapshot, current, self.removal_reasons)
                round_, page = _DeltaRound(records, select, current, self.delta_page_size), 1
            elif "$skiptoken" in query:
                found = self._delta_rounds.get(query["$skiptoken"])
                if found is None:
                    raise self._expired()
                round_, page = found
            else:
                select = self._user_select(query)
                current = self._snapshot(select)
                round_, page = _DeltaRound(list(current.values()), select, current, self.delta_page_size), 1
        record.page = page
        self._check_fault("/users/delta", page)
        start = (page - 1) * round_.page_size
        rows = copy.deepcopy(round_.records[start:start + round_.page_size])
        body: dict[str, Any] = {"@odata.context": f"{self.base_url}/$metadata#users({','.join(round_.select)})"}
        token = secrets.token_urlsafe(24)
        with self._lock:
            if start + round_.page_size < len(round_.records):
                self._delta_rounds[token] = (round_, page + 1)
                body["@odata.nextLink"] = f"{self.base_url}/users/delta?$skiptoken={token}"
            else:
                self._delta_tokens[token] = (round_.select, round_.snapshot)
                body["@odata.deltaLink"] = f"{self.base_url}/users/delta?$deltatoken={token}"
        body["value"] = rows
        return body

    def _expired(self) -> GraphHTTPError:
        if self.expired_status == 410:
            return GraphHTTPError(410, "resyncRequired", "The delta token has expired; a full resync is required.")
        return GraphHTTPError(self.expired_status, self.expired_code,
                              "The sync state is not found or has expired; restart the sync without a token.")

    def _snapshot(self, select: tuple[str, ...]) -> dict[str, dict]:
        return {uid: copy.deepcopy(_project(u, select)) for uid, u in self.users.items()}

    def _rewrite_links(self, body: dict) -> dict:
        out = dict(body)
        for key in ("@odata.nextLink", "@odata.deltaLink", "@odata.context"):
            if isinstance(out.get(key), str):
                out[key] = out[key].replace(GRAPH_PUBLIC_BASE, self.base_url)
        return out


_STATUS_ERRORS = {
    401: ("InvalidAuthenticationToken", "Lifetime validation failed, the token is expired."),
    403: ("Authorization_RequestDenied", "Insufficient privileges to complete the operation."),
    429: ("TooManyRequests", "Too many requests."),
    500: ("UnknownError", "An internal server error occurred."),
    503: ("ServiceUnavailable", "The service is temporarily unavailable."),
    504: ("GatewayTimeout", "The gateway did not receive a response in time."),
}


def _project(user: dict, select: tuple[str, ...]) -> dict:
    """A user as Graph returns it for this $select: the selected properties (null if unset) and id."""
    out = {"id": user["id"]}
    for prop in select:
        if prop != "id":
            out[prop] = user.get(prop)
    return out


def _diff(before: dict[str, dict], after: dict[str, dict], reasons: dict[str, str]) -> list[dict]:
    records: list[dict] = []
    for uid, user in after.items():
        old = before.get(uid)
        if old is None:
            records.append(user)
        elif old != user:
            records.append({"id": uid, **{k: v for k, v in user.items() if k != "id" and old.get(k) != v}})
    for uid in before:
        if uid not in after:
            records.append({"id": uid, "@removed": {"reason": reasons.get(uid, "deleted")}})
    return records


def _filtered(items: list[dict], expression: str | None, properties: tuple[str, ...]) -> list[dict]:
    """The ``$filter`` forms the source uses: ``prop eq 'x'`` and ``prop in ('x','y')``."""
    if not expression:
        return list(items)
    if match := _FILTER_EQ.match(expression):
        prop, values = match.group(1), {match.group(2).replace("''", "'")}
    elif match := _FILTER_IN.match(expression):
        prop, values = match.group(1), {v.replace("''", "'") for v in _QUOTED.findall(match.group(2))}
    else:
        raise GraphHTTPError(400, "Request_BadRequest", f"Invalid filter clause: {expression}")
    if prop not in properties:
        raise GraphHTTPError(400, "Request_UnsupportedQuery", f"Unsupported or invalid query filter clause "
                             f"specified for property '{prop}'.")
    wanted = {v.lower() for v in values}
    return [item for item in items if str(item.get(prop, "")).lower() in wanted]


def _query_string(query: dict[str, str]) -> str:
    return urlencode(query, quote_via=quote, safe="$,()'")


def _error_body(code: str, message: str) -> dict:
    return {"error": {"code": code, "message": message, "innerError": {
        "date": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S"), "request-id": str(uuid.uuid4()),
        "client-request-id": str(uuid.uuid4())}}}


def _www_authenticate() -> list[tuple[str, str]]:
    return [("WWW-Authenticate", 'Bearer realm="", authorization_uri="https://login.microsoftonline.com/common/'
             'oauth2/authorize", client_id="00000003-0000-0000-c000-000000000000"')]


class _Handler(KeepAliveHandler):
    def _serve(self, method: str) -> None:
        fake: FakeGraph = self.server.fake  # type: ignore[attr-defined]
        headers = {k.lower(): v for k, v in self.headers.items()}
        key = (self.path, headers.get("authorization", ""))
        cached = fake.page_cache.get(key) if fake.cache_pages and method == "GET" else None
        if cached is not None:
            status, payload, extra = 200, cached, []
        else:
            status, body, extra = fake.handle(method, self.path, headers)
            payload = _dumps(body)
            if fake.cache_pages and status == 200:
                fake.page_cache[key] = payload
        self.send_response(status)
        self.send_header("Content-Type", "application/json;odata.metadata=minimal;odata.streaming=true;"
                         "IEEE754Compatible=false;charset=utf-8")
        self.send_header("Content-Length", str(len(payload)))
        self.send_header("request-id", str(uuid.uuid4()))
        for name, value in extra:
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(payload)


FakeGraph._handler = _Handler
FakeGraph._name = "fake-graph"


EXCHANGE_PLAN = {"capabilityStatus": "Enabled", "service": "exchange",
                 "servicePlanId": "efb87545-963c-4e0d-99df-69c6916d9eb0", "assignedDateTime": "2024-01-01T00:00:00Z"}


def synthetic_users(count: int, seed: int = 7) -> list[dict]:
    """A deterministic tenant of ``count`` users with every property the audit selects, sized like real ones."""
    rnd = random.Random(seed)
    users = []
    for i in range(count):
        synced = i % 3 != 0
        users.append({
            "id": str(uuid.UUID(int=rnd.getrandbits(128), version=4)),
            "userPrincipalName": f"user{i:07d}@contoso.com",
            "mail": None if i % 10 == 0 else f"user{i:07d}@contoso.com",
            "otherMails": [] if i % 4 else [f"user{i:07d}@fabrikam.example"],
            "onPremisesImmutableId": base64.b64encode(rnd.randbytes(16)).decode() if synced else None,
            "onPremisesSamAccountName": f"u{i:07d}" if synced else None,
            "accountEnabled": i % 50 != 0,
            "userType": "Guest" if i % 40 == 0 else "Member",
            "displayName": f"User {i:07d}",
            "assignedPlans": [INTUNE_PLAN, EXCHANGE_PLAN] if i % 8 else [EXCHANGE_PLAN],
            "jobTitle": "Engineer", "city": "Redmond",  # not selected by the audit: must not come back
        })
    return users


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="Serve a synthetic tenant as a fake Microsoft Graph.")
    parser.add_argument("--users", type=int, default=100_000)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--token", default=DEFAULT_TOKEN)
    parser.add_argument("--cache-pages", action="store_true",
                        help="answer repeated identical requests from memory, so a benchmark measures the client")
    args = parser.parse_args(argv)
    fake = FakeGraph.with_users(synthetic_users(args.users, args.seed), tokens={args.token: None},
                                record_requests=False, cache_pages=args.cache_pages)
    fake.start(args.port)
    print("PORT", fake.port, flush=True)
    try:
        threading.Event().wait()
    except KeyboardInterrupt:
        pass
    finally:
        fake.stop()


if __name__ == "__main__":
    main()
