"""Keeping secrets out of messages: what every source does before it names a URL or a DSN."""

from __future__ import annotations

from urllib.parse import urlsplit, urlunsplit


def strip_userinfo(url: str) -> str:
    """The URL without ``user:password@`` (a token or password must never reach a message or log)."""
    parts = urlsplit(url)
    if parts.username or parts.password:
        netloc = parts.hostname or ""
        if parts.port:
            netloc = f"{netloc}:{parts.port}"
        return urlunsplit(parts._replace(netloc=netloc))
    return url
