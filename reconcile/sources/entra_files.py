"""Entra ID exports: Graph ``/users`` JSON, the admin center's "Download users" CSV, group members.

Each reader yields Graph-shaped user dicts (the same records the live Graph extractor yields), with
``_where`` naming the record for error messages. Values are checked by the staging step, not here.
"""

from __future__ import annotations

import csv
from collections.abc import Iterator
from pathlib import Path

from reconcile.errors import InputError
from reconcile.sources.jsonfile import iter_graph_objects

# Entra admin center CSV headers -> Graph property names. Newer downloads use the property names
# themselves; older ones used "Display name [displayName]" style headers, which we unwrap.
_CSV_ALIASES = {
    "objectid": "id",
    "id": "id",
    "userprincipalname": "userPrincipalName",
    "mail": "mail",
    "accountenabled": "accountEnabled",
    "blocksignin": "blockSignIn",
    "usertype": "userType",
    "displayname": "displayName",
}
_TRUE = {"true", "yes", "1"}
_FALSE = {"false", "no", "0"}


def read_graph_users(path: Path, display_name: str | None = None) -> Iterator[dict]:
    """Users from a Graph ``GET /users`` (or ``transitiveMembers``) export, in any page shape."""
    name = display_name or path.name
    for where, obj in iter_graph_objects(path, name):
        yield {**obj, "_where": f"{name}: {where}"}


def read_entra_users_csv(path: Path, display_name: str | None = None) -> Iterator[dict]:
    """Users from the Entra admin center "Download users" CSV, mapped to Graph property names."""
    name = display_name or path.name
    try:
        handle = path.open(newline="", encoding="utf-8-sig")
        with handle:
            reader = csv.reader(handle)
            header = _csv_header(next(reader, None), name)
            if "id" not in header.values():
                raise InputError(name, "line 1", "expected an 'objectId' (or 'id') column in the header")
            for row in reader:
                if not any(cell.strip() for cell in row):
                    continue
                if len(row) > max(header) + 1 and any(c.strip() for c in row[max(header) + 1 :]):
                    raise InputError(name, f"line {reader.line_num}",
                                     f"expected {len(header)} columns as in the header, found {len(row)}")
                record: dict = {"_where": f"{name}: line {reader.line_num}"}
                for index, prop in header.items():
                    cell = row[index].strip() if index < len(row) else ""
                    record[prop] = cell or None
                _csv_booleans(record, name, reader.line_num)
                yield record
    except UnicodeDecodeError as exc:
        raise InputError(name, None, "expected a UTF-8 CSV file (save it as 'CSV UTF-8')") from exc
    except csv.Error as exc:
        raise InputError(name, None, f"not a readable CSV file ({exc})") from exc


def _csv_header(row: list[str] | None, name: str) -> dict[int, str]:
    if row is None:
        raise InputError(name, "line 1", "the file is empty; expected a header row")
    header: dict[int, str] = {}
    for index, cell in enumerate(row):
        key = cell.strip()
        if "[" in key and key.endswith("]"):  # "User principal name [userPrincipalName] Required"
            key = key[key.index("[") + 1 : -1]
        key = key.split("]")[0].replace(" ", "").lower()
        if key in _CSV_ALIASES:
            header[index] = _CSV_ALIASES[key]
    return header


def _csv_booleans(record: dict, name: str, line: int) -> None:
    """CSV cells hold 'True'/'False' (or 'Yes'/'No' for 'Block sign in'); Graph has booleans."""
    for prop in ("accountEnabled", "blockSignIn"):
        value = record.get(prop)
        if value is None:
            continue
        lowered = value.lower()
        if lowered not in _TRUE | _FALSE:
            raise InputError(name, f"line {line}", f"expected true/false in column {prop}, found {value!r}")
        record[prop] = lowered in _TRUE
    blocked = record.pop("blockSignIn", None)
    if record.get("accountEnabled") is None and blocked is not None:
        record["accountEnabled"] = not blocked
