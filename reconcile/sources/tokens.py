"""MSAL access tokens captured from test sign-ins: ``msal_tokens.txt``, one JWT per line.

Only header and claims are decoded. The signature cannot be checked offline (it needs Entra's
signing keys from the tenant's JWKS endpoint), so a token here is evidence of what Entra issued,
not proof; the report says so.
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Iterator
from pathlib import Path

from reconcile.errors import InputError

SIGNATURE_NOTE = "token signatures are not verified offline (they need the tenant's signing keys)"


def _b64url_json(segment: str) -> dict:
    padded = segment + "=" * (-len(segment) % 4)
    raw = base64.urlsafe_b64decode(padded.encode("ascii"))
    value = json.loads(raw.decode("utf-8"))
    if not isinstance(value, dict):
        raise ValueError("not a JSON object")
    return value


def read_tokens(path: Path, display_name: str = "msal_tokens.txt") -> Iterator[dict]:
    """Yield ``{"line": n, "header": {...}, "claims": {...}, "_where": ...}`` per token line.

    Blank lines and ``#`` comments are skipped; a ``Bearer`` prefix (as copied from an
    Authorization header) is tolerated. Anything else that is not a JWT stops the run.
    """
    try:
        handle = path.open(encoding="utf-8-sig")
    except OSError as exc:
        raise InputError(display_name, None, f"cannot read the file ({exc.strerror})") from exc
    with handle:
        try:
            for number, line in enumerate(handle, start=1):
                text = line.strip()
                if not text or text.startswith("#"):
                    continue
                if text.lower().startswith("bearer "):
                    text = text[7:].strip()
                parts = text.split(".")
                if len(parts) != 3 or not parts[0] or not parts[1]:
                    raise InputError(display_name, f"line {number}", "expected a JWT access token "
                                     "(three base64url parts separated by dots), one per line")
                try:
                    header, claims = _b64url_json(parts[0]), _b64url_json(parts[1])
                except (ValueError, UnicodeDecodeError, binascii.Error) as exc:
                    raise InputError(display_name, f"line {number}", "expected a JWT: its header and claims "
                                     f"must be base64url-encoded JSON objects ({exc})") from exc
                yield {"line": number, "header": header, "claims": claims,
                       "_where": f"{display_name}: line {number}"}
        except UnicodeDecodeError as exc:
            raise InputError(display_name, None, "expected UTF-8 text, one token per line") from exc
