"""MSAL access tokens captured from test sign-ins: ``msal_tokens.txt``, one JWT per line.

Only header and claims are decoded. The signature cannot be checked offline (it needs Entra's
signing keys from the tenant's JWKS endpoint), so a token here is evidence of what Entra issued,
not proof; the report says so.
"""

from __future__ import annotations

import binascii
from collections.abc import Iterable, Iterator
from datetime import UTC, datetime
from pathlib import Path

import duckdb

from reconcile import identifiers as ids
from reconcile.errors import InputError
from reconcile.jwt_payload import segment_json
from reconcile.sources.base import InputInfo, RunContext
from reconcile.sources.records import lower
from reconcile.store import load_rows

MSAL_TOKENS = "msal_tokens.txt"

SIGNATURE_NOTE = "token signatures are not verified offline (they need the tenant's signing keys)"


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
                    header, claims = segment_json(parts[0]), segment_json(parts[1])
                except (ValueError, UnicodeDecodeError, binascii.Error) as exc:
                    raise InputError(display_name, f"line {number}", "expected a JWT: its header and claims "
                                     f"must be base64url-encoded JSON objects ({exc})") from exc
                yield {"line": number, "header": header, "claims": claims,
                       "_where": f"{display_name}: line {number}"}
        except UnicodeDecodeError as exc:
            raise InputError(display_name, None, "expected UTF-8 text, one token per line") from exc


TOKEN_COLUMNS = (
    "line", "alg", "ver", "iss", "tid", "aud", "oid", "oid_norm", "username_lower", "app_id", "scp",
    "expires_at", "source_ref",
)


def _claim_text(claims: dict, key: str) -> str | None:
    value = claims.get(key)
    if isinstance(value, list):  # aud may be an array in some tokens
        value = value[0] if value else None
    return None if value is None else str(value)


def token_rows(records: Iterable[dict]) -> Iterator[tuple]:
    for rec in records:
        claims, header = rec["claims"], rec["header"]
        oid = _claim_text(claims, "oid")
        username = (_claim_text(claims, "preferred_username") or _claim_text(claims, "upn")
                    or _claim_text(claims, "unique_name"))
        exp = claims.get("exp")
        yield (
            rec["line"], _claim_text(header, "alg"), _claim_text(claims, "ver"), _claim_text(claims, "iss"),
            _claim_text(claims, "tid"), _claim_text(claims, "aud"), oid, ids.parse_guid(oid), lower(username),
            _claim_text(claims, "azp") or _claim_text(claims, "appid"), _claim_text(claims, "scp"),
            datetime.fromtimestamp(exp, UTC) if isinstance(exp, int | float) else None, rec.get("_where"),
        )


class TokenSource:
    """``msal_tokens.txt``: a few captured tokens, their claims projected in Python."""

    name = "msal_tokens"
    inputs = ("msal_tokens",)
    tables = ("msal_tokens",)

    def land(self, con: duckdb.DuckDBPyConnection, ctx: RunContext) -> list[InputInfo]:
        path = ctx.input_dir / MSAL_TOKENS
        if not path.is_file():
            return [InputInfo("msal_tokens", False, note=f"no {MSAL_TOKENS}")]
        count = load_rows(con, "msal_tokens", TOKEN_COLUMNS, token_rows(read_tokens(path)))
        return [InputInfo("msal_tokens", True, MSAL_TOKENS, count, SIGNATURE_NOTE)]
