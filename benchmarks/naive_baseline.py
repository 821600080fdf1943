"""The naive baseline: the identity matching a competent engineer would write first, in pandas.

It exists so the benchmark can say what the audit costs *relative to the obvious script*, on the
same files and the same machine. It is deliberately the first thing one would write, not a tuned
one: the Graph pages and the mmctl array are parsed whole (``json.load`` + ``pandas.json_normalize``,
``pandas.read_json``), the LDIF is read by a hand-written Python loop (a dict per entry, base64
decoded), every GUID form is normalised in Python row by row, and the matching is a chain of
``DataFrame.merge`` calls.

It reproduces the semantics of ``sql/derive/20_ldap_links.sql``, ``sql/derive/30_mm_links.sql``,
``sql/derive/50_accounts.sql`` and the rules counted below closely enough that its counts must
equal the plant; the harness checks that, because a baseline that computes something else is not
a fair comparison. What it does not do: validation of input records, targeting, readiness,
messages, reports, the store. It prints one JSON object with its counts per rule.

Usage: ``python benchmarks/naive_baseline.py EXPORT_DIR``.
"""

from __future__ import annotations

import base64
import binascii
import contextlib
import json
import re
import sys
import time
import uuid
from pathlib import Path
from typing import Any

import pandas as pd

# Which rules the baseline computes, by the mm_links step that gives each (30_mm_links.sql).
STEP_RULES = {
    2: "USER_AUTHDATA_NOT_EXACT", 3: "USER_AUTHDATA_IS_EMAIL", 4: "USER_AUTHDATA_IS_UPN",
    5: "USER_AUTHDATA_IS_IMMUTABLEID", 6: "USER_AUTHDATA_IS_OBJECTGUID", 7: "USER_AUTHDATA_MISMATCH",
    8: "USER_AUTHDATA_MISMATCH",
}
RULES = (*sorted(set(STEP_RULES.values())), "USER_NO_ENTRA_MATCH", "USER_LDAP_AADOBJECTID_MISMATCH",
         "USER_LDAP_AADOBJECTID_MISSING")

_GUID_RE = re.compile(
    r"\{?[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}\}?|[0-9a-fA-F]{32}")
_HEX_RE = re.compile(r"(?:\\[0-9a-fA-F]{2}){16}")
_B64_RE = re.compile(r"[A-Za-z0-9+/]{22}(?:==)?")


# --- normalisation, one value at a time (what a first script does) ---------------------------------

def parse_guid(text: Any) -> str | None:
    """Canonical GUID of braces / upper case / no-hyphen forms, else None."""
    if not isinstance(text, str):
        return None
    s = text.strip()
    if not _GUID_RE.fullmatch(s) or s.startswith("{") != s.endswith("}"):
        return None
    return str(uuid.UUID(s.strip("{}")))


def b64_guid_bytes(text: Any) -> bytes | None:
    """The 16 bytes of an immutableId-shaped value (base64 of a GUID), else None."""
    if not isinstance(text, str) or not _B64_RE.fullmatch(text.strip()):
        return None
    try:
        raw = base64.b64decode(text.strip(), validate=True)
    except (binascii.Error, ValueError):
        return None
    return raw if len(raw) == 16 else None


def windows(raw: bytes | None) -> str | None:
    """objectGUID bytes in Windows form (first three groups little-endian)."""
    return str(uuid.UUID(bytes_le=raw)) if raw is not None and len(raw) == 16 else None


def naive(raw: bytes | None) -> str | None:
    """objectGUID bytes read in byte order."""
    return str(uuid.UUID(bytes=raw)) if raw is not None and len(raw) == 16 else None


def hex_guid(text: Any) -> str | None:
    r"""Windows form of a Mattermost ``\xx\xx..`` objectGUID value, else None."""
    if not isinstance(text, str) or not _HEX_RE.fullmatch(text.strip()):
        return None
    return windows(bytes.fromhex(text.strip().replace("\\", "")))


def lower(value: Any) -> str | None:
    return value.lower() if isinstance(value, str) and value else None


# --- reading ----------------------------------------------------------------------------------------

def read_graph_pages(path: Path) -> pd.DataFrame:
    """A JSON array of Graph pages, parsed whole and flattened."""
    with path.open(encoding="utf-8") as handle:
        pages = json.load(handle)
    return pd.json_normalize([user for page in pages for user in page["value"]])


def read_ldif(path: Path) -> list[dict[str, list[Any]]]:
    """ldapsearch output: one dict per entry (lowercased attribute -> values), ``::`` base64 decoded."""
    entries: list[dict[str, list[Any]]] = []
    current: dict[str, list[Any]] = {}
    lines: list[str] = []
    with path.open(encoding="utf-8") as handle:
        for raw in handle:
            line = raw.rstrip("\n").rstrip("\r")
            if line.startswith(" ") and lines:  # folded continuation line
                lines[-1] += line[1:]
                continue
            lines.append(line)
    for line in lines:
        if not line:
            if current:
                entries.append(current)
                current = {}
            continue
        if line.startswith("#"):
            continue
        name, _, value = line.partition(":")
        if value.startswith(":"):
            decoded: Any = base64.b64decode(value[1:].strip())
            if name.lower() != "objectguid":
                with contextlib.suppress(UnicodeDecodeError):  # binary values stay bytes
                    decoded = decoded.decode("utf-8")
        else:
            decoded = value.strip()
        current.setdefault(name.lower(), []).append(decoded)
    if current:
        entries.append(current)
    return [e for e in entries if "dn" in e]


def first(entry: dict[str, list[Any]], name: str) -> Any:
    values = entry.get(name)
    return values[0] if values else None


# --- matching ---------------------------------------------------------------------------------------

def merged(left: pd.DataFrame, left_on: str, right: pd.DataFrame, right_on: str, keep: list[str]) -> pd.DataFrame:
    """An inner merge on non-null keys only: pandas matches None to None, SQL never does."""
    lhs = left[left[left_on].notna()]
    rhs = right[right[right_on].notna()]
    return lhs.merge(rhs, left_on=left_on, right_on=right_on, suffixes=("", "_r"))[keep]


def first_per(candidates: pd.DataFrame, key: str, order: list[str]) -> pd.DataFrame:
    """The first candidate per ``key`` by ``order`` (QUALIFY row_number() ... = 1)."""
    return candidates.sort_values([key, *order]).drop_duplicates(key, keep="first")


def audit(export: Path) -> dict[str, int]:
    config = json.loads((export / "mattermost_config.json").read_text(encoding="utf-8"))
    selected = str((config.get("IntuneSettings") or {}).get("AuthService") or "").strip().lower() or None
    id_attribute = ((config.get("LdapSettings") or {}).get("IdAttribute") or "").lower() or None

    # Entra
    e = read_graph_pages(export / "entra_users.json")
    e["object_id"] = e["id"]
    e["object_id_norm"] = e["id"].map(parse_guid)
    e["upn_lower"] = e["userPrincipalName"].map(lower)
    e["mail_lower"] = e["mail"].map(lower)
    e["immutable_id"] = e["onPremisesImmutableId"].where(e["onPremisesImmutableId"].notna(), None)
    raw = e["immutable_id"].map(b64_guid_bytes)
    e["immutable_guid"] = raw.map(windows)
    e["immutable_guid_naive"] = raw.map(naive)
    other = e[["object_id_norm", "otherMails"]].explode("otherMails")
    other["email_lower"] = other["otherMails"].map(lower)
    other = other[other["email_lower"].notna()].drop_duplicates(["object_id_norm", "email_lower"])

    # Mattermost
    m = pd.read_json(export / "mattermost_users.json", dtype=False)
    if "is_bot" not in m:
        m["is_bot"] = False
    m["is_bot"] = m["is_bot"].fillna(False).astype(bool)
    m["auth_data"] = m["auth_data"].where(m["auth_data"].notna() & (m["auth_data"] != ""), None)
    m["auth_service"] = m["auth_service"].fillna("")
    m["auth_data_lower"] = m["auth_data"].map(lower)
    m["auth_data_guid"] = m["auth_data"].map(parse_guid)
    m["auth_data_hex_guid"] = m["auth_data"].map(hex_guid)
    m["auth_data_b64_guid"] = m["auth_data"].map(b64_guid_bytes).map(windows)
    m["email_lower"] = m["email"].map(lower)
    m = m[~m["is_bot"]]

    # LDAP
    rows = []
    ldif = export / "ldap_users.ldif"
    for entry in read_ldif(ldif) if ldif.is_file() else []:
        aad_value = first(entry, "msds-aadobjectid")
        aad = windows(aad_value) if isinstance(aad_value, bytes) else parse_guid(aad_value)
        guid = first(entry, "objectguid")
        upn, mail = first(entry, "userprincipalname"), first(entry, "mail")
        id_value = first(entry, id_attribute) if id_attribute else None
        if isinstance(id_value, bytes):
            id_value = "".join(f"\\{b:02x}" for b in id_value)
        rows.append({
            "dn": first(entry, "dn"), "aad_object_id_raw": aad if isinstance(aad_value, bytes) else aad_value,
            "aad_object_id": aad, "object_guid": windows(guid) if isinstance(guid, bytes) else parse_guid(guid),
            "object_guid_naive": naive(guid) if isinstance(guid, bytes) else None,
            "upn_lower": lower(upn), "mail_lower": lower(mail), "mail": mail,
            "id_attribute_lower": lower(id_value),
        })
    ldap = pd.DataFrame(rows, columns=["dn", "aad_object_id_raw", "aad_object_id", "object_guid",
                                       "object_guid_naive", "upn_lower", "mail_lower", "mail",
                                       "id_attribute_lower"])

    # ldap_links: msDS-aadObjectId, else UPN, else mail
    k = ["dn", "object_id_norm"]
    links = pd.concat([
        merged(ldap, "aad_object_id", e, "object_id_norm", k).assign(step=1),
        merged(ldap, "upn_lower", e, "upn_lower", k).assign(step=2),
        merged(ldap, "mail_lower", e, "mail_lower", k).assign(step=3),
    ])
    ldap_links = first_per(links, "dn", ["step", "object_id_norm"])
    person = ldap.merge(ldap_links[["dn", "object_id_norm"]], on="dn").rename(columns={"object_id_norm": "person"})

    # mm_links: the first identifier an account shares with a person (step, then Entra before LDAP)
    guid_forms = pd.concat([
        person[person["object_guid"].notna()].rename(columns={"person": "object_id_norm", "object_guid": "w",
                                                               "object_guid_naive": "n"})[
            ["object_id_norm", "w", "n"]].assign(pref=1),
        e[e["immutable_guid"].notna()].rename(columns={"immutable_guid": "w", "immutable_guid_naive": "n"})[
            ["object_id_norm", "w", "n"]].assign(pref=0),
    ])
    c = ["id", "object_id_norm"]
    pc = ["id", "person"]
    exact = merged(m, "auth_data", e, "object_id", [*c, "auth_data", "object_id"])
    normalised = merged(m, "auth_data_guid", e, "object_id_norm", [*c, "auth_data", "object_id"])
    normalised = normalised[normalised["auth_data"] != normalised["object_id"]]
    cands = pd.concat([
        exact[c].assign(step=1, pref=0),
        normalised[c].assign(step=2, pref=0),
        merged(m, "auth_data_lower", e, "mail_lower", c).assign(step=3, pref=0),
        merged(m, "auth_data_lower", other, "email_lower", c).assign(step=3, pref=0),
        merged(m, "auth_data_lower", e, "upn_lower", c).assign(step=4, pref=0),
        merged(m, "auth_data", e, "immutable_id", c).assign(step=5, pref=0),
        merged(m, "auth_data_b64_guid", person, "object_guid", pc).rename(columns={"person": "object_id_norm"})
        .assign(step=5, pref=1),
        merged(m, "auth_data_guid", guid_forms, "w", [*c, "pref"]).assign(step=6),
        merged(m, "auth_data_guid", guid_forms, "n", [*c, "pref"]).assign(step=6),
        merged(m, "auth_data_hex_guid", guid_forms, "w", [*c, "pref"]).assign(step=6),
        merged(m, "auth_data_lower", person, "id_attribute_lower", pc).rename(columns={"person": "object_id_norm"})
        .assign(step=7, pref=1),
        merged(m, "email_lower", e, "mail_lower", c).assign(step=8, pref=0),
        merged(m, "email_lower", e, "upn_lower", c).assign(step=8, pref=0),
    ])
    link_step = first_per(cands, "id", ["step", "pref", "object_id_norm"])[["id", "step"]]

    # accounts: active accounts of the selected service, with their link step
    accounts = m.merge(link_step, on="id", how="left")
    selected_active = accounts[(accounts["delete_at"].fillna(0) == 0) & (accounts["auth_service"] == selected)]
    counts = dict.fromkeys(RULES, 0)
    for step, n in selected_active["step"].value_counts().items():
        if int(step) in STEP_RULES:
            counts[STEP_RULES[int(step)]] += int(n)
    counts["USER_NO_ENTRA_MATCH"] = int(selected_active["step"].isna().sum())

    # LDAP msDS-aadObjectId: missing (entry linked by UPN or mail), or not the person's objectId exactly
    missing = ldap[ldap["aad_object_id"].isna()].merge(ldap_links, on="dn")
    counts["USER_LDAP_AADOBJECTID_MISSING"] = len(missing)
    by_name = first_per(pd.concat([
        merged(ldap, "upn_lower", e, "upn_lower", k).assign(step=1),
        merged(ldap, "mail_lower", e, "mail_lower", k).assign(step=2),
    ]), "dn", ["step", "object_id_norm"])
    named = ldap[ldap["aad_object_id"].notna()].merge(by_name, on="dn").merge(
        e[["object_id_norm", "object_id"]], on="object_id_norm")
    counts["USER_LDAP_AADOBJECTID_MISMATCH"] = int((named["aad_object_id_raw"] != named["object_id"]).sum())
    return counts


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    if len(args) != 1:
        print(__doc__.strip().splitlines()[-1], file=sys.stderr)
        return 2
    started = time.perf_counter()
    counts = audit(Path(args[0]))
    print(json.dumps({"counts": counts, "seconds_inside": round(time.perf_counter() - started, 2)}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
