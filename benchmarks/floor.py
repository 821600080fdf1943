"""The machine floor: DuckDB alone landing the same export files into tables, with no rules.

It exists so the benchmark can say how far the audit is from the least any approach pays to get
these bytes off disk and into columns on this machine. It does nothing the audit could skip and
nothing the audit must do beyond that: no validation, no normalisation, no matching, no reports.

* JSON exports go through DuckDB's ``read_json``; the Graph files (an array of response pages)
  are unnested from each page's ``value`` list, the mmctl array is read as is.
* Any CSV in the export goes through ``read_csv``.
* The LDIF has no DuckDB reader, so it takes the fastest path found without a compiled
  extension: the file is read as one buffer, folded lines are joined with one ``bytes.replace``,
  and pyarrow's C++ kernels split it into lines, pull dn and a handful of attributes with one
  regex, and number the entries with a cumulative sum. DuckDB pivots that into a table and
  decodes the base64 values. No Python code runs per line or per entry.

It prints one JSON object: rows per table and the seconds spent inside.

Usage: ``python benchmarks/floor.py EXPORT_DIR``.
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path

import duckdb
import pyarrow as pa
import pyarrow.compute as pc

LDIF_ATTRIBUTES = ("dn", "objectGUID", "sAMAccountName", "userPrincipalName", "mail", "msDS-aadObjectId")
# GUID-valued: 16 raw bytes (base64 in the LDIF) or GUID text, depending on the server's schema
BINARY_ATTRIBUTES = ("objectGUID", "msDS-aadObjectId")
GRAPH_FILES = ("entra_users.json", "intune_ios_app_protections.json")  # arrays of Graph pages
PLAIN_JSON = ("mattermost_users.json", "mattermost_config.json", "mattermost_license.json")


def sql_path(path: Path) -> str:
    return "'" + str(path).replace("'", "''") + "'"


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


def land(export: Path) -> dict[str, int]:
    con = duckdb.connect()
    tables: dict[str, int] = {}

    def count(table: str) -> None:
        tables[table] = con.execute(f'SELECT count(*) FROM "{table}"').fetchall()[0][0]

    for name in GRAPH_FILES:
        if (export / name).is_file():
            table = name.removesuffix(".json")
            con.execute(f'CREATE TABLE "{table}" AS SELECT u.* FROM '
                        f"(SELECT unnest(value) AS u FROM read_json({sql_path(export / name)}, format = 'array'))")
            count(table)
    groups = export / "entra_groups"
    if groups.is_dir() and any(groups.glob("*.json")):
        con.execute("CREATE TABLE entra_group_members AS SELECT group_file, u.* FROM "
                    "(SELECT filename AS group_file, unnest(value) AS u FROM "
                    f"read_json({sql_path(groups / '*.json')}, format = 'array', filename = true))")
        count("entra_group_members")
    for name in PLAIN_JSON:
        if (export / name).is_file():
            table = name.removesuffix(".json")
            fmt = "array" if name == "mattermost_users.json" else "auto"
            con.execute(f'CREATE TABLE "{table}" AS SELECT * FROM read_json({sql_path(export / name)}, '
                        f"format = '{fmt}')")
            count(table)
    for csv_file in sorted(export.glob("*.csv")):
        table = csv_file.stem
        con.execute(f'CREATE TABLE "{table}" AS SELECT * FROM read_csv({sql_path(csv_file)})')
        count(table)
    if (export / "ldap_users.ldif").is_file():
        land_ldif(con, export / "ldap_users.ldif")
        count("ldap_users")
    return tables


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    if len(args) != 1:
        print(__doc__.strip().splitlines()[-1], file=sys.stderr)
        return 2
    started = time.perf_counter()
    tables = land(Path(args[0]))
    print(json.dumps({"tables": tables, "seconds_inside": round(time.perf_counter() - started, 2)}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
