"""Posting the message: an incoming webhook or a bot, each with a short, bounded retry.

The bodies are what a real Mattermost accepts: ``{"text": ...}`` POSTed to the incoming webhook's URL,
and ``{"channel_id": ..., "message": ...}`` POSTed to ``{server}/api/v4/posts`` with the bot's token as
``Authorization: Bearer`` (the server answers 201). At most MAX_TRIES tries within BUDGET_SECONDS all
told: a throttled (429) or failing (5xx) server or a dropped connection is tried again after a short
pause, or after its ``Retry-After`` when that fits the budget; any other answer is final. A nightly job
must not hang on a chat server, and a post is not worth a second night.

The webhook URL is itself a secret (whoever has it can post), so a target is described by its host only;
the token and the URL are scrubbed from every error this module raises, and from httpx's own log line
("HTTP Request: POST <url>", logged at INFO) while a post is under way. Redirects are not followed: the
token is not sent on to another address.
"""

from __future__ import annotations

import contextlib
import logging
import time
from collections.abc import Iterator
from dataclasses import dataclass
from urllib.parse import urlsplit

import httpx

from reconcile import __version__
from reconcile.redaction import scrub
from reconcile.sources.mattermost_api import wait_from_headers

MAX_TRIES = 3
BUDGET_SECONDS = 30.0
TRY_TIMEOUT = 10.0           # seconds for one try (connect, send, answer), within the budget
BACKOFF = (1.0, 2.0)         # pause before the second and the third try when the server names none
RETRIED = frozenset({408, 425, 429, 500, 502, 503, 504})


class PostError(Exception):
    """A post that did not get through; the message names the target by host and carries no secret."""


@dataclass(frozen=True)
class Target:
    """One place to post to. ``label`` is all a log or an error may say about it."""

    label: str
    url: str
    body: dict
    headers: dict[str, str]
    secrets: tuple[str, ...]


def host_of(url: str) -> str:
    """The host (and port) of a URL: what may be said of a webhook."""
    parts = urlsplit(url)
    host = parts.hostname or "?"
    return f"{host}:{parts.port}" if parts.port else host


def is_http_url(url: str) -> bool:
    parts = urlsplit(url)
    return parts.scheme.lower() in ("http", "https") and bool(parts.hostname)


def webhook_target(url: str, message: str) -> Target:
    if not is_http_url(url):
        raise PostError("webhook: the webhook URL is not an http:// or https:// URL")
    path = urlsplit(url).path
    return Target(f"webhook (host {host_of(url)})", url, {"text": message}, {},
                  (url, path, path.rstrip("/").rpartition("/")[2]))


def bot_target(server: str, token: str, channel_id: str, message: str) -> Target:
    return Target(f"bot (server {host_of(server)}, channel {channel_id})", f"{server.rstrip('/')}/api/v4/posts",
                  {"channel_id": channel_id, "message": message}, {"Authorization": f"Bearer {token}"}, (token,))


def post(target: Target, *, tries: int = MAX_TRIES, budget: float = BUDGET_SECONDS,
         client: httpx.Client | None = None) -> int:
    """POST ``target.body`` as JSON; returns the number of tries it took, or raises PostError."""
    owned = client is None
    client = client or httpx.Client(follow_redirects=False, headers={"User-Agent": f"reconcile/{__version__}"})
    deadline = time.monotonic() + budget
    with _scrubbed_logs(target.secrets):
        return _post(target, client, owned, tries, budget, deadline)


def _post(target: Target, client: httpx.Client, owned: bool, tries: int, budget: float, deadline: float) -> int:
    attempt, last = 0, "no try fitted the time budget"
    try:
        while attempt < tries:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                break
            attempt += 1
            wait = BACKOFF[min(attempt - 1, len(BACKOFF) - 1)]
            try:
                response = client.post(target.url, json=target.body, headers=target.headers,
                                       timeout=min(TRY_TIMEOUT, remaining))
            except httpx.HTTPError as exc:
                last = f"{type(exc).__name__}: {_first_line(exc)}"
            else:
                if response.status_code in (200, 201):
                    return attempt
                last = f"HTTP {response.status_code}{_error_id(response)}"
                if response.status_code not in RETRIED:
                    raise PostError(_clean(target, f"{target.label}: {last}{_hint(response.status_code)}"))
                asked = wait_from_headers(response.headers)
                if asked is not None:
                    wait = asked
            if attempt >= tries:
                break
            if time.monotonic() + wait >= deadline:
                last += f" (the next try, {wait:g} s later, would not fit the {budget:g} s budget)"
                break
            time.sleep(wait)
    finally:
        if owned:
            client.close()
    plural = "try" if attempt == 1 else "tries"
    raise PostError(_clean(target, f"{target.label}: {last}, after {attempt} {plural}"))


class _Scrub(logging.Filter):
    """Rewrites a log record that holds a secret (httpx logs every request's URL) before any handler sees it."""

    def __init__(self, secrets: tuple[str, ...]) -> None:
        super().__init__()
        self.secrets = secrets

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        clean = scrub(message, self.secrets)
        if clean != message:
            record.msg, record.args = clean, ()
        return True


@contextlib.contextmanager
def _scrubbed_logs(secrets: tuple[str, ...]) -> Iterator[None]:
    scrub = _Scrub(secrets)
    logger = logging.getLogger("httpx")  # httpx._client logs "HTTP Request: POST <url> ..." here
    logger.addFilter(scrub)
    try:
        yield
    finally:
        logger.removeFilter(scrub)


def _clean(target: Target, text: str) -> str:
    return scrub(text, target.secrets)


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0][:200] if text else "no detail"


def _error_id(response: httpx.Response) -> str:
    """Mattermost's AppError ``id`` (never ``detailed_error`` or the body: they can echo a token)."""
    try:
        body = response.json()
    except ValueError:
        return ""
    return f" ({body['id']})" if isinstance(body, dict) and isinstance(body.get("id"), str) else ""


def _hint(status: int) -> str:
    return {401: ": the token was refused (wrong, expired or revoked)",
            403: ": not allowed (is the bot a member of the channel?)",
            404: ": not found (a wrong URL, or a webhook that was deleted)"}.get(status, "")
