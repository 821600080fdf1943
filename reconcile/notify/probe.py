"""``reconcile sources test`` for the notification: is the webhook or the bot set up so a run can post?

A webhook cannot be checked without posting to it (its URL is all there is, and a GET would be a
post attempt or an error either way), so its row says only that the secret can be read and is an
http(s) URL, by host. A bot is checked for real and without posting: ``GET /api/v4/users/me`` with its
token (401: refused), then ``GET /api/v4/channels/{channel_id}`` (404 or 403: no such channel, or the bot
may not see it). No row holds the webhook URL or the token.
"""

from __future__ import annotations

from collections.abc import Mapping

import httpx

from reconcile import __version__
from reconcile.config import ConfigError, NotifyConfig
from reconcile.notify.post import host_of, is_http_url
from reconcile.redaction import scrub
from reconcile.sources.probe import ProbeResult

MAX_PROBE_TIMEOUT = 15.0


def probe_notify(notify: NotifyConfig, environ: Mapping[str, str], timeout: float = 60.0) -> list[ProbeResult]:
    """One row for a webhook, one or two for a bot; none when no notification is configured."""
    rows: list[ProbeResult] = []
    if notify.webhook_url is not None:
        rows.append(_webhook(notify, environ))
    if notify.bot_token is not None:
        rows += _bot(notify, environ, min(timeout, MAX_PROBE_TIMEOUT))
    return rows


def _webhook(notify: NotifyConfig, environ: Mapping[str, str]) -> ProbeResult:
    source = "notify webhook"
    where = notify.webhook_url.name if notify.webhook_url else "?"
    try:
        url = notify.webhook_url.read(environ) if notify.webhook_url else ""
    except ConfigError as exc:
        return ProbeResult(source, where, False, f"the webhook URL cannot be read: {exc}")
    if not is_http_url(url):
        return ProbeResult(source, where, False, "the webhook URL is not an http:// or https:// URL")
    return ProbeResult(source, f"host {host_of(url)}", True,
                       f"webhook configured (host {host_of(url)}); not posted to (a webhook cannot be checked "
                       "without posting)")


def _bot(notify: NotifyConfig, environ: Mapping[str, str], timeout: float) -> list[ProbeResult]:
    source, server = "notify bot", notify.server or ""
    try:
        token = notify.bot_token.read(environ) if notify.bot_token else ""
    except ConfigError as exc:
        return [ProbeResult(source, server, False, f"the bot token cannot be read: {exc}")]
    headers = {"Authorization": f"Bearer {token}", "Accept": "application/json",
               "User-Agent": f"reconcile/{__version__}"}
    rows: list[ProbeResult] = []
    with httpx.Client(headers=headers, timeout=timeout, follow_redirects=False) as client:
        me = _get(client, f"{server}/api/v4/users/me", token)
        if isinstance(me, str):
            return [ProbeResult(source, server, False, me)]
        if me.status_code == 401:
            return [ProbeResult(source, server, False, "the bot token was refused (HTTP 401): wrong, expired or "
                                                       "revoked, or the bot account is disabled")]
        if me.status_code != 200:
            return [ProbeResult(source, server, False, f"GET /api/v4/users/me answered HTTP {me.status_code}")]
        account = _json(me)
        kind = "bot" if account.get("is_bot") else "account (not a bot)"
        rows.append(ProbeResult(source, server, True, f"the token is accepted: {kind} {account.get('username')!r}"
                                                      + (" over plain http" if server.startswith("http://") else "")))
        channel_target = f"{server}/api/v4/channels/{notify.channel_id}"
        answer = _get(client, channel_target, token)
        if isinstance(answer, str):
            rows.append(ProbeResult("notify channel", channel_target, False, answer))
        elif answer.status_code == 200:
            channel = _json(answer)
            rows.append(ProbeResult("notify channel", channel_target, True,
                                    f"channel {channel.get('name')!r} ({channel.get('display_name')!r}) is visible to "
                                    "the bot; not posted to"))
        elif answer.status_code in (403, 404):
            rows.append(ProbeResult("notify channel", channel_target, False,
                                    f"HTTP {answer.status_code}: no channel {notify.channel_id!r}, or the bot is not "
                                    "allowed to see it (add the bot to the channel's team and the channel)"))
        else:
            rows.append(ProbeResult("notify channel", channel_target, False, f"HTTP {answer.status_code}"))
    return rows


def _get(client: httpx.Client, url: str, token: str) -> httpx.Response | str:
    try:
        return client.get(url)
    except httpx.HTTPError as exc:
        text = " ".join(str(exc).split()) or "no detail"
        return scrub(f"{type(exc).__name__}: {text[:200]}", (token,))


def _json(response: httpx.Response) -> dict:
    try:
        body = response.json()
    except ValueError:
        return {}
    return body if isinstance(body, dict) else {}
