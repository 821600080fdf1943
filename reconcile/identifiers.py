"""Normal forms of the identifiers that Entra, AD/LDAP and Mattermost use for one person.

Only single values are normalised here; every comparison between records lives in SQL.
The server compares `auth_data` exactly, so callers keep the raw value beside the normal form:
a case or brace difference is itself a finding.

Worked example (DESIGN.md): objectGUID bytes ``1e bc ff 1e a3 4a 9d 4f a5 08 d4 d8 1f 1f 58 73``
are ``1effbc1e-4aa3-4f9d-a508-d4d81f1f5873`` in Windows form, ``1ebcff1e-a34a-9d4f-a508-d4d81f1f5873``
in naive byte order, ``Hrz/HqNKnU+lCNTYHx9Ycw==`` as an immutableId and
``\\1e\\bc\\ff\\1e\\a3\\4a\\9d\\4f\\a5\\08\\d4\\d8\\1f\\1f\\58\\73`` as Mattermost stores it.
"""

from __future__ import annotations

import base64
import binascii
import re
import uuid

INTUNE_SERVICE_PLAN_ID = "c1ec4a95-1f05-45b3-a911-aa3fa01094f5"
MAM_APP_ID = "0a5f63c0-b750-4f38-a71c-4fc0d58b89e2"  # Microsoft Mobile Application Management
OBJECTIDENTIFIER_CLAIM = "http://schemas.microsoft.com/identity/claims/objectidentifier"
# Mattermost Mobile, the multi-tenant app the iOS app signs in as with MSAL (mattermost-mobile's
# fastlane/.env.ios.release and .env.ios.beta, INTUNE_CLIENT_ID, written into Info.plist as
# ADALClientId; the docs page "Configure Microsoft Intune MAM" lists the same two): appId -> the
# bundle that signs in with it.
MOBILE_CLIENT_IDS = {
    "9ac649f1-4f77-44d6-9792-b2f54ab3c9a7": "com.mattermost.rn",     # App Store
    "64e9952b-20eb-46dc-92ad-99089ed24903": "com.mattermost.rnbeta",  # TestFlight beta
}
LOGIN_SCOPE = "login.mattermost"  # the server tells the app to request api://{ClientId}/login.mattermost

# Forms uuid.UUID accepts are wider than what a directory writes (it drops every hyphen and a
# "urn:uuid:" prefix); we accept exactly: 8-4-4-4-12, the same in braces, or 32 bare hex digits.
_GUID_RE = re.compile(
    r"\{?[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}\}?|[0-9a-fA-F]{32}"
)
_CANONICAL_RE = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")
_MM_HEX_RE = re.compile(r"(?:\\[0-9a-fA-F]{2}){16}")
_BASE64_RE = re.compile(r"[A-Za-z0-9+/]{22}(?:==)?")


def parse_guid(text: str | None) -> str | None:
    """Canonical GUID (lowercase, hyphenated, no braces) of a GUID written in any accepted form.

    Returns None for anything that is not a GUID, so callers decide whether that is an error
    (an Entra ``id``) or a finding (a Mattermost ``auth_data``).
    """
    if not isinstance(text, str):
        return None
    if _CANONICAL_RE.fullmatch(text):  # what Entra writes: the common case, no work (millions of rows)
        return text
    s = text.strip()
    if not _GUID_RE.fullmatch(s):
        return None
    if s.startswith("{") != s.endswith("}"):
        return None
    return str(uuid.UUID(s.strip("{}")))


def is_canonical_guid(text: str | None) -> bool:
    """True only for the exact form Entra emits (what the server compares against)."""
    return isinstance(text, str) and bool(_CANONICAL_RE.fullmatch(text))


def guid_windows(raw: bytes) -> str:
    """objectGUID bytes as Windows/AD displays them (first three groups little-endian)."""
    return str(uuid.UUID(bytes_le=_sixteen(raw)))


def guid_naive(raw: bytes) -> str:
    """objectGUID bytes read in byte order: what naive tools (and some sync scripts) produce."""
    return str(uuid.UUID(bytes=_sixteen(raw)))


def guid_to_bytes_le(guid: str) -> bytes:
    """Inverse of :func:`guid_windows`: the 16 bytes AD stores for a GUID shown in Windows form."""
    canonical = parse_guid(guid)
    if canonical is None:
        raise ValueError(f"not a GUID: {guid!r}")
    return uuid.UUID(canonical).bytes_le


def mattermost_hex(raw: bytes) -> str:
    r"""Mattermost's text form of a binary LDAP id attribute: ``\1e\bc\ff...`` (lowercase hex)."""
    return "".join(f"\\{b:02x}" for b in _sixteen(raw))


def parse_mattermost_hex(text: str | None) -> bytes | None:
    r"""Bytes of a ``\xx\xx...`` value (16 bytes), or None if ``text`` is not in that form."""
    if not isinstance(text, str) or not _MM_HEX_RE.fullmatch(text.strip()):
        return None
    return bytes.fromhex(text.strip().replace("\\", ""))


def immutable_id(raw: bytes) -> str:
    """Entra ``onPremisesImmutableId`` that Entra Connect derives from an objectGUID."""
    return base64.b64encode(_sixteen(raw)).decode("ascii")


def decode_immutable_id(text: str | None) -> bytes | None:
    """The 16 objectGUID bytes inside an immutableId, or None when it is not base64 of a GUID.

    Tenants that chose another source anchor (mS-DS-ConsistencyGuid copied from objectGUID is the
    same bytes; an employee id is not) have immutableIds that do not decode to 16 bytes; those
    simply carry no objectGUID.
    """
    if not isinstance(text, str) or not _BASE64_RE.fullmatch(text.strip()):
        return None
    try:
        raw = base64.b64decode(text.strip(), validate=True)
    except (binascii.Error, ValueError):
        return None
    return raw if len(raw) == 16 else None


def directory_guid(value: bytes | str | None) -> str | None:
    """Canonical GUID of an LDAP GUID-valued attribute given as 16 raw bytes or as GUID text.

    ``msDS-aadObjectId`` and ``objectGUID`` arrive either way depending on the server's schema
    and the export tool; 16 bytes are read in Windows (little-endian) order, as AD stores GUIDs.
    Returns None for values in neither form.
    """
    if value is None:
        return None
    if isinstance(value, bytes):
        if len(value) == 16:
            return guid_windows(value)
        try:
            value = value.decode("utf-8")
        except UnicodeDecodeError:
            return None
    return parse_guid(value)


def _sixteen(raw: bytes) -> bytes:
    if len(raw) != 16:
        raise ValueError(f"a GUID is 16 bytes, got {len(raw)}")
    return bytes(raw)
