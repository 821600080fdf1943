"""The machine floor: DuckDB alone landing the same export files into tables, with no rules.

It exists so the benchmark can say how far the audit is from the least any approach pays to get
these bytes off disk and into columns on this machine. It does nothing the audit could skip and
nothing the audit must do beyond that: no validation, no normalisation, no matching, no reports.

* JSON exports go through DuckDB's ``read_json``; the Graph files (an array of response pages)
  are unnested from each page's ``value`` list (``read_json_objects`` + ``json_transform``, see
  graph_pages), the mmctl array is read as is. The large ones are given the fields the audit
  reads (see GRAPH_USER) instead of inferring a schema.
* Any CSV in the export goes through ``read_csv``.
* The LDIF has no DuckDB reader, so it takes the fastest path found without a compiled
  extension: the file is read as one buffer, folded lines are joined with one ``bytes.replace``,
  and pyarrow's C++ kernels split it into lines, pull dn and a handful of attributes with one
  regex, and number the entries with a cumulative sum. DuckDB pivots that into a table and
  decodes the base64 values. No Python code runs per line or per entry.

It prints one JSON object: rows and seconds per table, and the seconds spent inside.

Usage: ``python benchmarks/floor.py EXPORT_DIR``.
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path
from typing import Any

import duckdb
import pyarrow as pa
import pyarrow.compute as pc

LDIF_ATTRIBUTES = ("dn", "objectGUID", "sAMAccountName", "userPrincipalName", "mail", "msDS-aadObjectId")
# GUID-valued: 16 raw bytes (base64 in the LDIF) or GUID text, depending on the server's schema
BINARY_ATTRIBUTES = ("objectGUID", "msDS-aadObjectId")
# The fields the audit reads. Sampling-based schema inference fails on the mmctl array (bots, at the
# end, carry keys no sampled record has) and a full inference pass would charge the floor for a
# second parse the audit does not do, so the schema is given.
GRAPH_USER = {"id": "VARCHAR", "displayName": "VARCHAR", "userPrincipalName": "VARCHAR", "mail": "VARCHAR",
              "otherMails": ["VARCHAR"], "userType": "VARCHAR", "accountEnabled": "BOOLEAN",
              "onPremisesImmutableId": "VARCHAR", "onPremisesSamAccountName": "VARCHAR",
              "assignedPlans": [{"capabilityStatus": "VARCHAR", "servicePlanId": "VARCHAR"}]}
GROUP_MEMBER = {"id": "VARCHAR", "userPrincipalName": "VARCHAR", "mail": "VARCHAR"}
MM_USER = ("{'id': 'VARCHAR', 'username': 'VARCHAR', 'email': 'VARCHAR', 'auth_service': 'VARCHAR', "
           "'auth_data': 'VARCHAR', 'delete_at': 'BIGINT', 'is_bot': 'BOOLEAN', 'roles': 'VARCHAR'}")
# Arrays of Graph pages, with the schema of one item of ``value`` (None: inferred).
GRAPH_FILES: dict[str, dict[str, Any] | None] = {"entra_users.json": GRAPH_USER,
                                                 "intune_ios_app_protections.json": None}
PLAIN_JSON = {"mattermost_users.json": MM_USER, "mattermost_config.json": None, "mattermost_license.json": None}


def sql_path(path: Path) -> str:
    return "'" + str(path).replace("'", "''") + "'"


def graph_pages(path: Path, item: dict[str, Any] | None) -> str:
    """SELECT the items of every page's ``value`` list, one row each, with the page's file name.

    With a schema the pages are read as JSON objects and ``value`` is transformed: for the
    100,000-user entra_users.json that measured 1.0 to 1.1 s against 2.7 s for
    ``read_json(..., columns = {'value': 'STRUCT(...)[]'})`` (DuckDB 2.0.1, 2 shared cores,
    2026-12-02, twice each); read_json spends the difference on pages of 999 users.
    """
    if item is None:
        return (f"SELECT filename, u.* FROM (SELECT filename, unnest(value) AS u FROM "
                f"read_json({sql_path(path)}, format = 'array', filename = true))")
    shape = json.dumps([item]).replace("'", "''")
    return (f"SELECT filename, u.* FROM (SELECT filename, unnest(json_transform(json -> '$.value', '{shape}')) AS u "
            f"FROM read_json_objects({sql_path(path)}, format = 'array', filename = true))")


def land_ldif(con: duckdb.DuckDBPyConnection, path: Path) -> None:
    """ldap_users(dn, objectguid BLOB, samaccountname, userprincipalname, mail, msds_aadobjectid BLOB)."""
    data = path.read_bytes()
    if b"\n " in data:
        data = data.replace(b"\n ", b"")  # RFC 2849 folding: a continuation line starts with one space
    text = pa.array([data], type=pa.large_binary()).cast(pa.large_string())
    del data
    lines = pc.list_flatten(pc.split_pattern(text, "\n"))
    del text
    pattern = "^(?P<name>" + "|".join(LDIF_ATTRIBUTES) + r")(?P<b64>:?): ?(?P<value>.*?)\r?$"
    parts = pc.extract_regex(lines, pattern)
    parts = parts.filter(parts.is_valid())
    name = pc.struct_field(parts, "name")
    attrs = pa.table({
        "entry": pc.cumulative_sum(pc.cast(pc.equal(name, "dn"), pa.int64())),
        "name": name,
        "b64": pc.equal(pc.struct_field(parts, "b64"), ":"),
        "value": pc.struct_field(parts, "value"),
    })
    con.register("ldif_attrs", attrs)

    def col(attr: str, binary: bool = False) -> str:
        decoded = ("CASE WHEN b64 THEN from_base64(value) ELSE encode(value) END" if binary
                   else "CASE WHEN b64 THEN try(decode(from_base64(value))) ELSE value END")
        alias = attr.lower().replace("-", "_")
        # FILTER does not stop the expression being evaluated on other attributes' rows: hence try()
        return f"max({decoded}) FILTER (WHERE name = '{attr}') AS {alias}"

    con.execute(f"""
        CREATE TABLE ldap_users AS
        SELECT {", ".join(col(a, binary=a in BINARY_ATTRIBUTES) for a in LDIF_ATTRIBUTES)}
        FROM ldif_attrs GROUP BY entry
    """)
    con.unregister("ldif_attrs")


def land(export: Path) -> dict[str, dict[str, Any]]:
    con = duckdb.connect()
    tables: dict[str, int] = {}
    seconds: dict[str, float] = {}
    mark = time.perf_counter()

    def count(table: str) -> None:
        nonlocal mark
        tables[table] = con.execute(f'SELECT count(*) FROM "{table}"').fetchall()[0][0]
        seconds[table] = round(time.perf_counter() - mark, 2)
        mark = time.perf_counter()

    for name, item in GRAPH_FILES.items():
        if (export / name).is_file():
            table = name.removesuffix(".json")
            con.execute(f'CREATE TABLE "{table}" AS {graph_pages(export / name, item)}')
            count(table)
    groups = export / "entra_groups"
    if groups.is_dir() and any(groups.glob("*.json")):
        con.execute(f"CREATE TABLE entra_group_members AS {graph_pages(groups / '*.json', GROUP_MEMBER)}")
        count("entra_group_members")
    for name, columns in PLAIN_JSON.items():
        if (export / name).is_file():
            table = name.removesuffix(".json")
            given = f", format = 'array', columns = {columns}" if columns else ""
            con.execute(f'CREATE TABLE "{table}" AS SELECT * FROM read_json({sql_path(export / name)}{given})')
            count(table)
    for csv_file in sorted(export.glob("*.csv")):
        table = csv_file.stem
        con.execute(f'CREATE TABLE "{table}" AS SELECT * FROM read_csv({sql_path(csv_file)})')
        count(table)
    if (export / "ldap_users.ldif").is_file():
        land_ldif(con, export / "ldap_users.ldif")
        count("ldap_users")
    return {"tables": tables, "table_seconds": seconds}


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    if len(args) != 1:
        print(__doc__.strip().splitlines()[-1], file=sys.stderr)
        return 2
    started = time.perf_counter()
    landed = land(Path(args[0]))
    print(json.dumps({**landed, "seconds_inside": round(time.perf_counter() - started, 2)}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
