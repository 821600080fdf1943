"""Live Microsoft Entra ID extraction through Microsoft Graph (msgraph-sdk + azure-identity).

Yields the same Graph-shaped dicts as the export readers in ``entra_files`` and
``app_registration``, so staging and every rule work unchanged whichever way Entra data arrives.

Why it is built this way:

* The SDK does what it is good at: credentials (azure-identity, national-cloud authorities),
  request building (request builders, query-parameter encoding, the bearer header, only sent to
  the configured Graph host) and the HTTP pipeline. Large collections (users, group members,
  delta) are parsed from the raw response bytes with orjson: the SDK's typed models parse about
  125 users/s (msgraph-sdk-python #584), a million-user tenant would take hours.
* The SDK is async; extractors in this project are synchronous generators that hold one page at
  a time (DESIGN.md). Each ``GraphSource`` owns a private event loop and runs one page request
  per ``run_until_complete``, so nothing beyond the current page is ever in memory.
* Retries are ours, not the SDK's RetryHandler: it gives up at once when ``Retry-After`` is
  180 s or more (a hard-coded class constant) and allows at most 10 retries (3 by default), both
  wrong for a nightly batch that should simply wait. The handler is switched off for this
  client's requests (``RetryHandlerOption(should_retry=False)``) and ``_get`` retries 429/503/504
  up to ``max_retries`` times, waiting what ``Retry-After`` asks up to ``max_retry_after`` seconds.
* Authorization failures stop everything at once (``GraphAuthError``, naming the permission the
  call needs) instead of degrading into pages of errors; a page that keeps failing raises
  ``GraphSourceError`` so the caller can mark the run partial.
* Secrets (client secret, access token) never reach a repr, a message or a log line.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
import uuid
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from email.utils import parsedate_to_datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qsl, urlsplit, urlunsplit

from reconcile.errors import ExitCode, ReconcileError, SourceError
from reconcile.jwt_payload import claims_of
from reconcile.permissions import TokenGrants, grants_from_claims
from reconcile.redaction import strip_userinfo

try:
    import orjson

    _loads: Callable[[bytes], Any] = orjson.loads
except ImportError:  # orjson is an optional speed-up; json gives the same dicts, about 3x slower
    _loads = json.loads

if TYPE_CHECKING:
    from kiota_abstractions.request_information import RequestInformation

log = logging.getLogger(__name__)

USER_SELECT = ("id", "userPrincipalName", "mail", "otherMails", "onPremisesImmutableId", "onPremisesSamAccountName",
               "accountEnabled", "userType", "displayName", "assignedPlans")
MEMBER_SELECT = ("id", "displayName", "userPrincipalName", "mail")  # what the group-member exports hold
DEFAULT_BASE_URL = "https://graph.microsoft.com/v1.0"
PAGE_SIZE = 999  # the largest $top Graph accepts for directory objects
IN_FILTER_MAX = 15  # Graph's limit on values in one `in (...)` filter clause

ENV_TENANT_ID = "RECONCILE_ENTRA_TENANT_ID"
ENV_CLIENT_ID = "RECONCILE_ENTRA_CLIENT_ID"
ENV_CLIENT_SECRET = "RECONCILE_ENTRA_CLIENT_SECRET"
ENV_CERTIFICATE_PATH = "RECONCILE_ENTRA_CERTIFICATE_PATH"
ENV_ACCESS_TOKEN = "RECONCILE_ENTRA_ACCESS_TOKEN"
ENV_BASE_URL = "RECONCILE_GRAPH_BASE_URL"
# "default": azure-identity's DefaultAzureCredential chain (managed identity, workload identity,
# Azure CLI, ...), for jobs that run in Azure without a secret at all.
ENV_CREDENTIAL = "RECONCILE_ENTRA_CREDENTIAL"
ENV_VARS = (ENV_TENANT_ID, ENV_CLIENT_ID, ENV_CLIENT_SECRET, ENV_CERTIFICATE_PATH, ENV_ACCESS_TOKEN, ENV_CREDENTIAL,
            ENV_BASE_URL)
_CREDENTIAL_VARS = (ENV_CLIENT_SECRET, ENV_CERTIFICATE_PATH, ENV_ACCESS_TOKEN, ENV_CREDENTIAL)

# Graph host -> (token scope host, Entra authority host). Other hosts (a test server, a proxy)
# keep the global cloud's: the token is for Microsoft Graph whatever address serves it.
_CLOUDS = {
    "graph.microsoft.com": ("graph.microsoft.com", "login.microsoftonline.com"),
    "graph.microsoft.us": ("graph.microsoft.us", "login.microsoftonline.us"),
    "dod-graph.microsoft.us": ("dod-graph.microsoft.us", "login.microsoftonline.us"),
    "microsoftgraph.chinacloudapi.cn": ("microsoftgraph.chinacloudapi.cn", "login.chinacloudapi.cn"),
}
_LOOPBACK = {"127.0.0.1", "localhost", "::1"}
_RETRY_STATUSES = frozenset({429, 503, 504})
_sleep = time.sleep  # module-level so a test can record long waits instead of sitting through them


class GraphConfigError(ReconcileError):
    """The Graph connection is not configured (or configured twice); the message names the variables."""

    exit_code = ExitCode.INPUT_ERROR


class GraphAuthError(ReconcileError):
    """Graph refused the credentials (401) or the permission (403): nothing else can work, stop now."""

    exit_code = ExitCode.INPUT_ERROR

    def __init__(self, message: str, status: int | None = None, permission: str | None = None):
        super().__init__(message)
        self.status = status
        self.permission = permission  # what the refused call declares it needs (reconcile.permissions)


class GraphSourceError(SourceError):
    """A request still failing after the retry budget; the caller marks the run partial.

    ``status``/``code`` are Graph's HTTP status and error code when there was a response. The exit
    code stays INPUT_ERROR: if this escapes the audit, nothing was written; a caller that keeps
    going and stores a partial run exits PARTIAL itself.
    """

    def __init__(self, message: str, *, url: str | None = None, status: int | None = None,
                 code: str | None = None):
        super().__init__(message)
        self.url, self.status, self.code = url, status, code


class DeltaExpired(GraphSourceError):
    """Graph no longer accepts the stored delta link (410, or 400 ``syncStateNotFound``): pull in full."""


@dataclass(frozen=True)
class GraphSettings:
    """Where Graph is and how to authenticate; exactly one of secret, certificate or access token."""

    tenant_id: str | None
    client_id: str | None
    client_secret: str | None = field(default=None, repr=False)
    certificate_path: Path | None = None
    access_token: str | None = field(default=None, repr=False)
    base_url: str = DEFAULT_BASE_URL
    default_credential: bool = False  # RECONCILE_ENTRA_CREDENTIAL=default: managed identity and friends


def graph_settings_from_env(environ: Mapping[str, str]) -> GraphSettings:
    """Settings from ``RECONCILE_*`` variables; an empty variable counts as unset."""

    def get(name: str) -> str | None:
        value = environ.get(name)
        return value.strip() if value and value.strip() else None

    tenant_id, client_id = get(ENV_TENANT_ID), get(ENV_CLIENT_ID)
    secret, certificate, token = get(ENV_CLIENT_SECRET), get(ENV_CERTIFICATE_PATH), get(ENV_ACCESS_TOKEN)
    chain = get(ENV_CREDENTIAL)
    if chain is not None and chain.lower() != "default":
        raise GraphConfigError(f"{ENV_CREDENTIAL} is {chain!r}; the only value it takes is 'default' "
                               "(azure-identity's DefaultAzureCredential: managed identity, Azure CLI, ...)")
    base_url = _check_base_url(get(ENV_BASE_URL) or DEFAULT_BASE_URL, ENV_BASE_URL)
    given = [name for name, value in zip(_CREDENTIAL_VARS, (secret, certificate, token, chain), strict=True)
             if value]
    tried = ", ".join(ENV_VARS)
    if not given:
        raise GraphConfigError(
            f"no Microsoft Graph credential: set exactly one of {ENV_CLIENT_SECRET} (with {ENV_TENANT_ID} and "
            f"{ENV_CLIENT_ID}), {ENV_CERTIFICATE_PATH} (with the same two), {ENV_ACCESS_TOKEN}, or "
            f"{ENV_CREDENTIAL}=default (managed identity / default credential chain). "
            f"Environment variables tried: {tried}")
    if len(given) > 1:
        raise GraphConfigError(f"more than one Microsoft Graph credential is set ({', '.join(given)}); "
                               f"set exactly one. Environment variables tried: {tried}")
    if secret or certificate:
        missing = [name for name, value in ((ENV_TENANT_ID, tenant_id), (ENV_CLIENT_ID, client_id)) if not value]
        if missing:
            raise GraphConfigError(f"{given[0]} is set but {' and '.join(missing)} "
                                   f"{'is' if len(missing) == 1 else 'are'} missing. "
                                   f"Environment variables tried: {tried}")
    path = Path(certificate).expanduser() if certificate else None
    if path is not None and not path.is_file():
        raise GraphConfigError(f"{ENV_CERTIFICATE_PATH} is {str(path)!r}, which is not a readable file "
                               "(expected a PEM or PKCS#12 certificate with its private key)")
    return GraphSettings(tenant_id=tenant_id, client_id=client_id, client_secret=secret, certificate_path=path,
                         access_token=token, base_url=base_url, default_credential=chain is not None)


def _origin(url: str) -> tuple[str, str, int | None]:
    """(scheme, host, port) with the scheme's default port filled in; a malformed port never matches."""
    parts = urlsplit(url)
    try:
        port = parts.port or {"https": 443, "http": 80}.get(parts.scheme)
    except ValueError:
        return ("", "", -1)
    return parts.scheme.lower(), (parts.hostname or "").lower(), port


def _check_base_url(url: str, source: str = "base_url") -> str:
    """An https Graph endpoint; plain http only on loopback, where a bearer token cannot leak."""
    parts = urlsplit(url.strip())
    if parts.scheme not in ("https", "http") or not parts.hostname:
        raise GraphConfigError(f"{source} is {url!r}; expected a URL like {DEFAULT_BASE_URL}")
    if parts.scheme == "http" and parts.hostname not in _LOOPBACK:
        raise GraphConfigError(f"{source} is {url!r}: Graph must be reached over https (plain http is accepted "
                               "only for a loopback test server)")
    if parts.username or parts.password:
        raise GraphConfigError(f"{source} must not carry a user name or password")
    return url.strip().rstrip("/")


def _scope_and_authority(base_url: str) -> tuple[str, str]:
    host = (urlsplit(base_url).hostname or "").lower()
    scope_host, authority = _CLOUDS.get(host, _CLOUDS["graph.microsoft.com"])
    return f"https://{scope_host}/.default", authority


@dataclass(frozen=True)
class _Call:
    """What a request is, for messages: the Graph call and the application permission it needs."""

    kind: str  # "users", "group <id> members", ...: the _where and on_page kind
    call: str  # "GET /users"
    permission: str


class _StaticTokenCredential:
    """An azure-core TokenCredential handing out a bearer token obtained elsewhere
    (``az account get-access-token --resource-type ms-graph``), so every credential kind goes
    through the same SDK authentication provider."""

    def __init__(self, token: str):
        self._token = token.removeprefix("Bearer ").strip()

    def get_token(self, *scopes: str, **kwargs: Any) -> Any:
        from azure.core.credentials import AccessToken

        return AccessToken(self._token, int(time.time()) + 3600)  # its real expiry is Graph's to enforce

    def close(self) -> None:
        pass

    def __repr__(self) -> str:
        return "_StaticTokenCredential(<hidden>)"


class GraphSource:
    """One authenticated Graph connection; every extractor is a generator yielding Graph dicts.

    ``on_page(kind, n_objects)`` is called once per page received, for progress bars.
    Use as a context manager (or call ``close``) to release the HTTP connections and the loop.
    """

    def __init__(self, settings: GraphSettings, *, max_retries: int = 5, max_retry_after: float = 600.0,
                 on_page: Callable[[str, int], None] | None = None):
        if max_retries < 0 or max_retry_after < 0:
            raise ValueError("max_retries and max_retry_after must not be negative")
        self.settings = settings
        self.max_retries = max_retries
        self.max_retry_after = max_retry_after
        self.on_page = on_page
        self._base_url = _check_base_url(settings.base_url)
        self._host = (urlsplit(self._base_url).hostname or "").lower()
        self._secrets = tuple(s for s in (settings.client_secret, settings.access_token) if s)
        try:
            from kiota_abstractions.base_request_configuration import RequestConfiguration
            from kiota_authentication_azure.azure_identity_authentication_provider import (
                AzureIdentityAuthenticationProvider,
            )
            from kiota_http.middleware.options import RetryHandlerOption
            from msgraph import GraphRequestAdapter, GraphServiceClient
            from msgraph.generated.models.o_data_errors.o_data_error import ODataError
            from msgraph_core import GraphClientFactory
        except ImportError as exc:
            raise GraphConfigError(f"the live Entra source needs msgraph-sdk and azure-identity "
                                   f"(pip install msgraph-sdk azure-identity orjson): {exc}") from None
        self._config = RequestConfiguration
        self._credential = self._make_credential()
        scope, _ = _scope_and_authority(self._base_url)
        # allowed_hosts: the token is attached only to requests for the configured Graph host.
        auth = AzureIdentityAuthenticationProvider(self._credential, scopes=[scope], allowed_hosts=[self._host])
        self._http = GraphClientFactory.create_with_default_middleware(
            options={RetryHandlerOption.get_key(): RetryHandlerOption(delay=0, max_retries=0, should_retry=False)})
        self._adapter = GraphRequestAdapter(auth, client=self._http)
        self._adapter.base_url = self._base_url
        self._client = GraphServiceClient(request_adapter=self._adapter)
        self._error_map = {"4XX": ODataError, "5XX": ODataError}
        self._loop: asyncio.AbstractEventLoop | None = asyncio.new_event_loop()

    def _make_credential(self) -> Any:
        s = self.settings
        given = [n for n, v in zip(_CREDENTIAL_VARS, (s.client_secret, s.certificate_path, s.access_token,
                                                      s.default_credential), strict=True) if v]
        if len(given) != 1:
            raise GraphConfigError(f"expected exactly one Graph credential ({', '.join(_CREDENTIAL_VARS)}), "
                                   f"found {len(given)}")
        if s.access_token:
            return _StaticTokenCredential(s.access_token)
        if s.default_credential:
            from azure.identity import DefaultAzureCredential

            _, authority = _scope_and_authority(self._base_url)
            # A user-assigned managed identity is picked by its client id, when one is given.
            return DefaultAzureCredential(authority=authority, managed_identity_client_id=s.client_id)
        if not s.tenant_id or not s.client_id:
            raise GraphConfigError(f"{given[0]} needs {ENV_TENANT_ID} and {ENV_CLIENT_ID}")
        from azure.identity import CertificateCredential, ClientSecretCredential

        _, authority = _scope_and_authority(self._base_url)
        if s.client_secret:
            return ClientSecretCredential(s.tenant_id, s.client_id, s.client_secret, authority=authority)
        try:
            return CertificateCredential(s.tenant_id, s.client_id, certificate_path=str(s.certificate_path),
                                         authority=authority)
        except (OSError, ValueError) as exc:
            raise GraphConfigError(f"{ENV_CERTIFICATE_PATH} ({s.certificate_path}) could not be loaded as a "
                                   f"certificate with its private key: {self._scrub(str(exc))}") from None

    # --- public extractors ---------------------------------------------------------------------

    def token_grants(self) -> TokenGrants | None:
        """What the token the SDK sends claims it may do (``roles`` or ``scp``), or None when it is opaque.

        The token comes from the same credential, for the same scope, as every request's (azure-identity
        caches it, so this costs no extra sign-in); it is decoded, never verified: Graph verifies it.
        """
        from azure.core.exceptions import ClientAuthenticationError

        scope, _ = _scope_and_authority(self._base_url)
        try:
            token = self._credential.get_token(scope).token
        except ClientAuthenticationError as exc:
            s = self.settings
            raise GraphAuthError(f"could not get a Microsoft Graph token for client {s.client_id} in tenant "
                                 f"{s.tenant_id}: {self._scrub(_first_line(exc))}") from None
        claims = claims_of(token)
        return grants_from_claims(claims, self.settings.client_id) if claims is not None else None

    def probe(self) -> None:
        """One cheap request proving the credentials and ``User.Read.All`` work, before any extraction."""
        from msgraph.generated.users.users_request_builder import UsersRequestBuilder

        query = UsersRequestBuilder.UsersRequestBuilderGetQueryParameters(select=["id"], top=1)
        call = _Call("probe", "GET /users?$top=1&$select=id", "User.Read.All")
        self._get(call, 1, lambda: self._client.users.to_get_request_information(self._config(query_parameters=query)))

    def probe_collection(self, path: str, permission: str, *, select: str = "id") -> int:
        """``GET {path}?$top=1&$select=id``: proves ``permission`` with at most one object, not a bulk read.

        For ``reconcile sources test``: the same authentication, retries and error messages as the
        extractors (401/403 raise GraphAuthError naming the permission). Returns how many objects the
        one page held (0 or 1).
        """
        call = _Call(f"probe {path}", f"GET {path}?$top=1", permission)
        url = f"{self._base_url}{path}?$top=1" + (f"&$select={select}" if select else "")
        doc = self._parse(self._get(call, 1, self._link_request_factory(url, None)), call, 1)
        values = doc.get("value")
        if not isinstance(values, list):
            raise GraphSourceError(f"graph: {call.kind}: expected a Graph collection page with a 'value' array from "
                                   f"{call.call}")
        return len(values)

    def users(self) -> Iterator[dict]:
        """Every user with the audited properties, ``$top=999`` pages following ``@odata.nextLink`` whole."""
        from msgraph.generated.users.users_request_builder import UsersRequestBuilder

        query = UsersRequestBuilder.UsersRequestBuilderGetQueryParameters(select=list(USER_SELECT), top=PAGE_SIZE)
        call = _Call("users", "GET /users", "User.Read.All")
        yield from self._records(call, lambda: self._client.users.to_get_request_information(
            self._config(query_parameters=query)))

    def group_members(self, group_id: str) -> Iterator[dict]:
        """Transitive user members of a group. The cast is an advanced query: ``ConsistencyLevel:
        eventual`` and ``$count=true`` go on every page (headers do not travel with a nextLink)."""
        from msgraph.generated.groups.item.transitive_members.graph_user.graph_user_request_builder import (
            GraphUserRequestBuilder,
        )

        group_id = _guid(group_id, "group id")
        query = GraphUserRequestBuilder.GraphUserRequestBuilderGetQueryParameters(
            select=list(MEMBER_SELECT), top=PAGE_SIZE, count=True)
        call = _Call(f"group {group_id} members", f"GET /groups/{group_id}/transitiveMembers/microsoft.graph.user",
                     "GroupMember.Read.All")

        def first() -> RequestInformation:
            config = self._config(query_parameters=query)
            config.headers.add("ConsistencyLevel", "eventual")
            builder = self._client.groups.by_group_id(group_id).transitive_members.graph_user
            return builder.to_get_request_information(config)

        yield from self._records(call, first, headers={"ConsistencyLevel": "eventual"}, force_count=True)

    def application(self, app_id: str) -> dict | None:
        """The app registration ``GET /applications(appId='...')``; None when no such app exists (404)."""
        app_id = _guid(app_id, "application (client) id")
        call = _Call("application", f"GET /applications(appId='{app_id}')", "Application.Read.All")
        try:
            raw = self._get(call, 1, lambda: self._client.applications_with_app_id(app_id)
                            .to_get_request_information())
        except GraphSourceError as exc:
            if exc.status == 404:
                return None
            raise
        doc = self._parse(raw, call, 1)
        doc["_where"] = f"graph: application appId={app_id}"
        return doc

    def service_principals(self, app_ids: Sequence[str]) -> list[dict]:
        """Service principals of these apps (``$filter=appId in (...)``, 15 ids per request)."""
        from msgraph.generated.service_principals.service_principals_request_builder import (
            ServicePrincipalsRequestBuilder,
        )

        ids = list(dict.fromkeys(_guid(a, "application (client) id") for a in app_ids))
        call = _Call("servicePrincipals", "GET /servicePrincipals", "Application.Read.All")
        found: list[dict] = []
        for start in range(0, len(ids), IN_FILTER_MAX):
            chunk = ids[start:start + IN_FILTER_MAX]
            query = ServicePrincipalsRequestBuilder.ServicePrincipalsRequestBuilderGetQueryParameters(
                filter="appId in (" + ",".join(f"'{i}'" for i in chunk) + ")")
            found.extend(self._records(call, lambda q=query: self._client.service_principals
                                       .to_get_request_information(self._config(query_parameters=q))))
        return found

    def oauth2_permission_grants(self, client_sp_id: str) -> list[dict]:
        """Delegated permission grants whose client is this service principal (object id)."""
        from msgraph.generated.oauth2_permission_grants.oauth2_permission_grants_request_builder import (
            Oauth2PermissionGrantsRequestBuilder,
        )

        client_sp_id = _guid(client_sp_id, "service principal id")
        query = Oauth2PermissionGrantsRequestBuilder.Oauth2PermissionGrantsRequestBuilderGetQueryParameters(
            filter=f"clientId eq '{client_sp_id}'")
        call = _Call("oauth2PermissionGrants", "GET /oauth2PermissionGrants", "DelegatedPermissionGrant.Read.All")
        return list(self._records(call, lambda: self._client.oauth2_permission_grants.to_get_request_information(
            self._config(query_parameters=query))))

    def authorization_policy(self) -> dict:
        """The tenant's authorization policy (may users consent to apps?). A 403 raises GraphAuthError
        like every call; the Entra source turns it into a skip naming Policy.Read.All (issue 13)."""
        call = _Call("authorizationPolicy", "GET /policies/authorizationPolicy", "Policy.Read.All")
        raw = self._get(call, 1, lambda: self._client.policies.authorization_policy.to_get_request_information())
        doc = self._parse(raw, call, 1)
        doc["_where"] = "graph: policies/authorizationPolicy"
        return doc

    def ios_app_protections(self) -> list[dict]:
        """iOS App Protection Policies with their apps and assignments (all pages)."""
        from msgraph.generated.device_app_management.ios_managed_app_protections.ios_managed_app_protections_request_builder import (  # noqa: E501
            IosManagedAppProtectionsRequestBuilder,
        )

        query = IosManagedAppProtectionsRequestBuilder.IosManagedAppProtectionsRequestBuilderGetQueryParameters(
            expand=["apps", "assignments"])
        call = _Call("iosManagedAppProtections", "GET /deviceAppManagement/iosManagedAppProtections",
                     "DeviceManagementApps.Read.All")
        builder = self._client.device_app_management.ios_managed_app_protections
        return list(self._records(call, lambda: builder.to_get_request_information(
            self._config(query_parameters=query))))

    def managed_app_registrations(self) -> Iterator[dict]:
        """Every app's MAM registration in the tenant (all pages, streamed): the type of a registration
        is abstract, so no $select; the iOS Mattermost ones are picked in SQL (issue 15)."""
        call = _Call("managedAppRegistrations", "GET /deviceAppManagement/managedAppRegistrations",
                     "DeviceManagementApps.Read.All")
        builder = self._client.device_app_management.managed_app_registrations
        yield from self._records(call, lambda: builder.to_get_request_information(self._config()))

    def users_delta(self, delta_link: str | None) -> DeltaPull:
        """A ``/users/delta`` round: from scratch (None) or from the deltaLink of the last committed run."""
        return DeltaPull(self, delta_link)

    def close(self) -> None:
        if self._loop is None:
            return
        try:
            self._loop.run_until_complete(self._http.aclose())
        finally:
            self._loop.close()
            self._loop = None
            close = getattr(self._credential, "close", None)
            if callable(close):
                close()

    def __enter__(self) -> GraphSource:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # --- paging, retries, errors -----------------------------------------------------------------

    def _records(self, call: _Call, first: Callable[[], RequestInformation], *,
                 headers: Mapping[str, str] | None = None, force_count: bool = False) -> Iterator[dict]:
        for page_no, doc in self._pages(call, first, headers=headers, force_count=force_count):
            yield from self._page_records(call, page_no, doc)

    def _page_records(self, call: _Call, page_no: int, doc: dict) -> list[dict]:
        """The page's objects, each tagged with ``_where`` so staging can name it in an error."""
        values = doc.get("value")
        if not isinstance(values, list):
            raise GraphSourceError(f"graph: {call.kind} page {page_no}: expected a Graph collection page with a "
                                   f"'value' array from {call.call}")
        where = f"graph: {call.kind} page {page_no}"
        for record in values:
            if not isinstance(record, dict):
                raise GraphSourceError(f"{where}: expected objects in 'value', found {type(record).__name__}")
            record["_where"] = where
        if self.on_page is not None:
            self.on_page(call.kind, len(values))
        return values

    def _pages(self, call: _Call, first: Callable[[], RequestInformation], *,
               headers: Mapping[str, str] | None = None, force_count: bool = False) -> Iterator[tuple[int, dict]]:
        """Parsed pages, one request per page; the next page is not fetched until this one is consumed."""
        build = first
        page_no = 1
        while True:
            doc = self._parse(self._get(call, page_no, build), call, page_no)
            yield page_no, doc
            next_link = doc.get("@odata.nextLink")
            if not next_link:
                return
            url = self._own_link(next_link, call, page_no)
            if force_count:
                url = _with_count(url)
            build = self._link_request_factory(url, headers)
            page_no += 1

    def _link_request_factory(self, url: str, headers: Mapping[str, str] | None) -> Callable[[], RequestInformation]:
        from kiota_abstractions.method import Method
        from kiota_abstractions.request_information import RequestInformation

        def build() -> RequestInformation:
            info = RequestInformation()
            info.http_method = Method.GET
            info.url = url  # followed whole, as Graph handed it out
            info.headers.try_add("Accept", "application/json")
            for name, value in (headers or {}).items():
                info.headers.add(name, value)
            return info

        return build

    def _own_link(self, link: Any, call: _Call, page_no: int) -> str:
        """A nextLink/deltaLink must point back at the configured Graph host, scheme and port: the token
        goes nowhere else (not to another port of the same host, not over http when Graph is https)."""
        if not isinstance(link, str) or _origin(link) != _origin(self._base_url):
            raise GraphSourceError(f"graph: {call.kind} page {page_no}: Graph returned a link to another host "
                                   f"({_safe_url(str(link))}); expected {self._host}")
        return link

    def _parse(self, raw: bytes, call: _Call, page_no: int) -> dict:
        try:
            doc = _loads(raw)
        except ValueError as exc:
            raise GraphSourceError(f"graph: {call.kind} page {page_no}: {call.call} answered something that is "
                                   f"not JSON ({exc})") from None
        if not isinstance(doc, dict):
            raise GraphSourceError(f"graph: {call.kind} page {page_no}: expected a JSON object from {call.call}")
        return doc

    def _get(self, call: _Call, page_no: int, build: Callable[[], RequestInformation]) -> bytes:
        """Send one GET through the SDK and return the raw body, retrying 429/503/504 and transport errors.

        A fresh RequestInformation per attempt, so a retry after a long wait gets a fresh token.
        """
        from azure.core.exceptions import ClientAuthenticationError, ServiceRequestError
        from httpx import TransportError
        from kiota_abstractions.api_error import APIError

        if self._loop is None:
            raise RuntimeError("this GraphSource is closed")
        attempt = 0
        while True:
            info = build()
            try:
                body = self._loop.run_until_complete(
                    self._adapter.send_primitive_async(info, "bytes", self._error_map))
                return body or b""
            except APIError as exc:
                status = exc.response_status_code or 0
                code, message = _odata_error(exc)
                url = _safe_url(_request_url(info))
                if status in (401, 403):
                    raise GraphAuthError(self._auth_message(call, status, code, message), status,
                                         call.permission) from None
                if status in _RETRY_STATUSES and attempt < self.max_retries:
                    wait = _retry_after(exc.response_headers)
                    wait = min(2.0 ** attempt, 60.0) if wait is None else wait
                    if wait > self.max_retry_after:
                        raise GraphSourceError(
                            f"graph: {call.kind} page {page_no}: GET {url} answered HTTP {status} asking to retry "
                            f"after {wait:g} s, more than the {self.max_retry_after:g} s allowed",
                            url=url, status=status, code=code) from None
                    attempt += 1
                    log.warning("graph: %s page %d: HTTP %d, retry %d of %d in %.3g s", call.kind, page_no, status,
                                attempt, self.max_retries, wait)
                    _sleep(wait)
                    continue
                detail = f" ({code}: {self._scrub(message)})" if code or message else ""
                tries = f" after {attempt + 1} attempts" if attempt else ""
                raise GraphSourceError(f"graph: {call.kind} page {page_no}: GET {url} failed with HTTP "
                                       f"{status}{detail}{tries}", url=url, status=status, code=code) from None
            except ClientAuthenticationError as exc:
                s = self.settings
                raise GraphAuthError(
                    f"could not get a Microsoft Graph token for client {s.client_id} in tenant {s.tenant_id} "
                    f"(for {call.call}): {self._scrub(_first_line(exc))}") from None
            except (TransportError, ServiceRequestError) as exc:
                url = _safe_url(_request_url(info))
                if attempt < self.max_retries:
                    wait = min(2.0 ** attempt, 60.0)
                    attempt += 1
                    log.warning("graph: %s page %d: %s, retry %d of %d in %.3g s", call.kind, page_no,
                                type(exc).__name__, attempt, self.max_retries, wait)
                    _sleep(wait)
                    continue
                raise GraphSourceError(f"graph: {call.kind} page {page_no}: GET {url} failed after {attempt + 1} "
                                       f"attempts: {type(exc).__name__}: {self._scrub(_first_line(exc))}",
                                       url=url) from None

    def _auth_message(self, call: _Call, status: int, code: str | None, message: str | None) -> str:
        said = f" ({code}: {self._scrub(message or '')})" if code else ""
        if status == 403:
            return (f"Microsoft Graph denied {call.call} (HTTP 403{said}): the app registration needs the "
                    f"Microsoft Graph application permission {call.permission}, with admin consent")
        s = self.settings
        which = (ENV_ACCESS_TOKEN if s.access_token else ENV_CLIENT_SECRET if s.client_secret
                 else ENV_CERTIFICATE_PATH)
        return (f"Microsoft Graph rejected the credentials on {call.call} (HTTP 401{said}): check {which} "
                f"(an expired or wrong-audience token, or the wrong tenant); the call needs the application "
                f"permission {call.permission}")

    def _scrub(self, text: str) -> str:
        for secret in self._secrets:
            text = text.replace(secret, "***")
        return text


class DeltaPull:
    """One ``/users/delta`` round, iterated once: users (whole when new, at least the changed
    properties when changed) and ``{"id", "@removed": {"reason"}}`` entries. ``delta_link`` is set
    only when iteration is exhausted; store it only after the run has committed."""

    def __init__(self, source: GraphSource, delta_link: str | None):
        self._source = source
        self._start_link = delta_link
        self._started = False
        self.delta_link: str | None = None

    def __iter__(self) -> Iterator[dict]:
        if self._started:
            raise RuntimeError("a DeltaPull can be iterated only once")
        self._started = True
        return self._run()

    def _run(self) -> Iterator[dict]:
        source = self._source
        call = _Call("users delta", "GET /users/delta", "User.Read.All")
        if self._start_link is None:
            from msgraph.generated.users.delta.delta_request_builder import DeltaRequestBuilder

            query = DeltaRequestBuilder.DeltaRequestBuilderGetQueryParameters(select=list(USER_SELECT))

            def first() -> RequestInformation:
                return source._client.users.delta.to_get_request_information(source._config(query_parameters=query))
        else:
            host = (urlsplit(self._start_link).hostname or "").lower()
            if host != source._host:
                raise DeltaExpired(f"graph: users delta: the stored delta link is for {host or 'no host'}, but "
                                   f"Graph is configured at {source._host}; a full pull is needed")
            first = source._link_request_factory(self._start_link, None)
        last: dict = {}
        last_page = 0
        try:
            for page_no, doc in source._pages(call, first):
                yield from source._page_records(call, page_no, doc)
                last, last_page = doc, page_no
        except DeltaExpired:
            raise
        except GraphSourceError as exc:
            if _is_expired_delta(exc):
                raise DeltaExpired(f"{exc}; the delta link has expired or was rejected, a full pull is needed",
                                   url=exc.url, status=exc.status, code=exc.code) from None
            raise
        link = last.get("@odata.deltaLink")
        if not link:
            raise GraphSourceError(f"graph: users delta page {last_page}: the last page has neither "
                                   "@odata.nextLink nor @odata.deltaLink")
        self.delta_link = source._own_link(link, call, last_page)


def _is_expired_delta(exc: GraphSourceError) -> bool:
    code = (exc.code or "").lower()
    if exc.status == 410:
        return True
    return exc.status == 400 and ("syncstate" in code or "resync" in code or "token" in code)


def _guid(value: str, what: str) -> str:
    """Ids go into URLs and OData literals: only GUIDs, so a typo cannot become a different query."""
    try:
        return str(uuid.UUID(str(value).strip()))
    except ValueError:
        raise GraphConfigError(f"the {what} {value!r} is not a GUID") from None


def _with_count(url: str) -> str:
    parts = urlsplit(url)
    if any(k == "$count" for k, _ in parse_qsl(parts.query, keep_blank_values=True)):
        return url
    query = f"{parts.query}&$count=true" if parts.query else "$count=true"
    return urlunsplit(parts._replace(query=query))


def _retry_after(headers: Any) -> float | None:
    """Seconds from Retry-After (delta-seconds, decimals tolerated, or an HTTP date); None if absent."""
    value = headers.get("retry-after") if headers is not None else None
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, when.timestamp() - time.time())


def _odata_error(exc: Exception) -> tuple[str | None, str | None]:
    error = getattr(exc, "error", None)
    if error is not None:
        return getattr(error, "code", None), getattr(error, "message", None)
    return None, getattr(exc, "message", None)


def _request_url(info: Any) -> str:
    try:
        return str(info.url)
    except Exception:  # a template that cannot be expanded: name what we can
        return "(unknown URL)"


def _safe_url(url: str) -> str:
    """The URL without user info (Graph URLs carry no secrets otherwise; the token is a header)."""
    return strip_userinfo(url).replace("%24", "$")  # as Graph documents them: $select, not %24select


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__
