"""Reading a JWT's header and claims without verifying it: the one decoder behind the MSAL tokens file,
the Graph token's permissions and the probe's "authenticated as" line. Nothing here trusts a token;
Graph and Mattermost verify what they are sent."""

from __future__ import annotations

import base64
import binascii
import json


def segment_json(segment: str) -> dict:
    """One base64url part of a JWT as a JSON object; raises ValueError (binascii.Error and
    UnicodeDecodeError are ValueErrors) when it is not one."""
    padded = segment + "=" * (-len(segment) % 4)
    value = json.loads(base64.urlsafe_b64decode(padded.encode("ascii")).decode("utf-8"))
    if not isinstance(value, dict):
        raise ValueError("not a JSON object")
    return value


def claims_of(token: str) -> dict | None:
    """The claims of a JWT (a ``Bearer`` prefix tolerated), or None when the token is opaque: not three
    parts with a base64url JSON object in the middle."""
    parts = token.strip().removeprefix("Bearer ").strip().split(".")
    if len(parts) != 3:
        return None
    try:
        return segment_json(parts[1])
    except (ValueError, UnicodeError, binascii.Error):
        return None
