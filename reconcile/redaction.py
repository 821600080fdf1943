"""Keeping secrets out of messages: what every source does before it names a URL or a DSN."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from pathlib import Path
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


SECRET_WORDS = ("SECRET", "TOKEN", "PASSWORD")  # in a RECONCILE_* variable's name: it holds a secret
MIN_SECRET = 4  # shorter values would mangle ordinary words when scrubbed


def environment_secrets(environ: Mapping[str, str], words: tuple[str, ...] = SECRET_WORDS,
                        file_paths: bool = False) -> set[str]:
    """The values of the ``RECONCILE_*`` variables whose names hold one of ``words``, and the contents of
    the files their ``_FILE`` twins name (as read, stripped, and without the line end), to scrub from
    anything shown; ``file_paths`` adds those files' paths too."""
    found: set[str] = set()
    for name, value in environ.items():
        if not name.startswith("RECONCILE_") or not value or not any(w in name for w in words):
            continue
        if name.endswith("_FILE"):
            if file_paths:
                found.add(value.strip())
            try:
                value = Path(value.strip()).read_text(encoding="utf-8")
            except (OSError, UnicodeDecodeError):
                continue
        found.update({value, value.strip(), value.removesuffix("\n").removesuffix("\r")})
    return found


def scrub(text: str, secrets: Iterable[str]) -> str:
    """``text`` with every secret of at least MIN_SECRET characters replaced by ``***``, longest first, so
    a secret containing another is replaced whole."""
    for secret in sorted({s for s in secrets if s and len(s) >= MIN_SECRET}, key=len, reverse=True):
        text = text.replace(secret, "***")
    return text
