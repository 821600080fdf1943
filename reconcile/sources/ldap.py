"""The LDAP source: an LDIF export (ldapsearch, ldifde) or a live search (ldap3).

Each entry lands in ``raw_ldap_users`` as the first value of each attribute the rules read, as
bytes: msDS-aadObjectId and objectGUID arrive as GUID text or 16 raw bytes depending on schema
and tool, and sql/stage/40_ldap_users.sql reads both. The attribute ``LdapSettings.IdAttribute``
names is landed too: its value is what Mattermost stores as ``auth_data``.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable, Iterator

import duckdb
import pyarrow as pa

from reconcile.errors import EmptySourceError
from reconcile.sources.base import DescribedRecords, InputInfo, RunContext
from reconcile.sources.ldif import LdifExport
from reconcile.store import load_rows, scalar

LDAP_LDIF = "ldap_users.ldif"
ATTRIBUTES = ("msds-aadobjectid", "objectguid", "userprincipalname", "mail", "samaccountname")
RAW_COLUMNS = ("dn", "aad_object_id", "object_guid", "user_principal_name", "mail", "sam_account_name",
               "id_attribute", "id_attribute_name", "source_ref")


def raw_rows(entries: Iterable[dict], id_attribute: str | None) -> Iterator[tuple]:
    """LDIF or ldap3 entries ({"dn", "attributes": {lowercased name: [bytes]}}) onto raw_ldap_users."""
    wanted = id_attribute.lower() if id_attribute else None
    for entry in entries:
        attrs = entry["attributes"]
        first = [_first(attrs.get(name)) for name in ATTRIBUTES]
        yield (entry["dn"], *first, _first(attrs.get(wanted)) if wanted else None, wanted, entry.get("_where"))


def ldif_tables(export: LdifExport, id_attribute: str | None) -> Iterator[pa.Table]:
    """The export as Arrow column batches: no dict or tuple per entry on the way to DuckDB."""
    wanted = id_attribute.lower() if id_attribute else None
    names = [*ATTRIBUTES, *([wanted] if wanted and wanted not in ATTRIBUTES else [])]
    for batch in export.columns(names):
        rows = len(batch["dn"])
        values = {column: pa.array(batch[name], pa.binary())
                  for column, name in zip(RAW_COLUMNS[1:6], ATTRIBUTES, strict=True)}
        yield pa.table({"dn": pa.array(batch["dn"], pa.string()), **values,
                        "id_attribute": pa.array(batch[wanted] if wanted else [None] * rows, pa.binary()),
                        "line": pa.array(batch["line"], pa.int64())})


def land_tables(con: duckdb.DuckDBPyConnection, tables: Iterable[pa.Table], file: str,
                id_attribute: str | None) -> int:
    total = 0
    for table in tables:
        con.register("_ldif_batch", table)
        try:
            con.execute(f"INSERT INTO work.raw_ldap_users ({', '.join(RAW_COLUMNS)}) "
                        f"SELECT * EXCLUDE (line), $name, $file || ' line ' || line FROM _ldif_batch",
                        {"name": id_attribute.lower() if id_attribute else None, "file": file})
        finally:
            con.unregister("_ldif_batch")
        total += table.num_rows
    return total


class _Parse(threading.Thread):
    """The LDIF parsed and landed on a thread of its own (its own DuckDB cursor) while the main thread
    lands the JSON exports: the parser is Python on one core, DuckDB releases the GIL, and on a small
    machine the other core would otherwise sit idle. Batches go into DuckDB as they are parsed, so no
    more than one is held in Python. Daemon, and stopped between batches by :meth:`abandon`."""

    def __init__(self, con: duckdb.DuckDBPyConnection, export: LdifExport, id_attribute: str | None):
        super().__init__(name="ldif-parse", daemon=True)
        self.cursor = con.cursor()
        self.export, self.id_attribute = export, id_attribute
        self.count = 0
        self.error: BaseException | None = None
        self.stopping = threading.Event()
        self.start()

    def run(self) -> None:
        try:
            for table in ldif_tables(self.export, self.id_attribute):
                if self.stopping.is_set():
                    return
                self.count += land_tables(self.cursor, [table], self.export.file, self.id_attribute)
        except BaseException as exc:  # handed to the landing thread, which raises it
            self.error = exc

    def result(self) -> int:
        self.join()
        self.cursor.close()
        if self.error is not None:
            raise self.error
        return self.count

    def abandon(self) -> None:
        self.stopping.set()
        self.join()
        self.cursor.close()


def _first(values: list | None) -> bytes | None:
    if not values:
        return None
    value = values[0]
    return value.encode("utf-8") if isinstance(value, str) else bytes(value)


class LdapSource:
    """``live`` builds the live search from the Mattermost config (base DN, filter and attributes default
    to LdapSettings); without it the export file is read."""

    name = "ldap"
    inputs = ("ldap",)
    tables = ("raw_ldap_users",)

    def __init__(self, live: Callable[[dict | None], DescribedRecords] | None = None, label: str | None = None,
                 note: str | None = None):
        self.live, self.label, self.note = live, label, note
        self._parse: _Parse | None = None

    def prefetch(self, con: duckdb.DuckDBPyConnection, ctx: RunContext) -> None:
        """Start reading the export file (the config, which names the id attribute, is known by now)."""
        path = ctx.input_dir / LDAP_LDIF
        if self.live is None and path.is_file():
            self._parse = _Parse(con, LdifExport(path), _id_attribute(ctx.config))

    def abandon(self) -> None:
        """The run stopped before this source landed: stop the background read before the workspace goes."""
        if self._parse is not None:
            self._parse.abandon()

    def land(self, con: duckdb.DuckDBPyConnection, ctx: RunContext) -> list[InputInfo]:
        config = ctx.config
        id_attribute = _id_attribute(config)
        if self.live is not None:
            where, entries, note = self.label or "LDAP", self.live(config), self.note
        else:
            path = ctx.input_dir / LDAP_LDIF
            if not path.is_file():
                return [InputInfo("ldap", False, note=f"no {LDAP_LDIF}")]
            where, note = LDAP_LDIF, None
            entries = self._parse.export if self._parse is not None else LdifExport(path)
        if self._parse is not None:  # read in the background since the config was known (prefetch)
            count = self._parse.result()
        elif isinstance(entries, LdifExport):
            count = land_tables(con, ldif_tables(entries, id_attribute), entries.file, id_attribute)
        else:
            count = load_rows(con, "raw_ldap_users", RAW_COLUMNS, raw_rows(entries, id_attribute))
        if isinstance(entries, DescribedRecords):  # what was searched: shown, so a wrong base or filter is visible
            note = "; ".join(part for part in (entries.note(), note) if part) or None
        if count == 0:
            problem = (entries.empty_message() if isinstance(entries, DescribedRecords)
                       else f"{where} returned no entries")
            used = _ldap_in_use(con, config)
            if used:
                raise EmptySourceError(f"{problem}; LDAP counts as in use: {used}", where)
            return [InputInfo("ldap", True, where, 0, f"{problem}; not a failure: LDAP is not enabled in the "
                                                      "Mattermost config and no Mattermost account signs in with ldap")]
        return [InputInfo("ldap", True, where, count, note)]


def _id_attribute(config: dict | None) -> str | None:
    settings = (config or {}).get("LdapSettings")
    return (settings.get("IdAttribute") or None) if isinstance(settings, dict) else None


def _ldap_in_use(con: duckdb.DuckDBPyConnection, config: dict | None) -> str | None:
    """Why an LDAP source with no entries is a failed one, or None when LDAP is known to be unused.

    Without the config nobody can tell, and an export given on purpose is meant to hold the directory.
    """
    if config is None:
        return "no Mattermost config says otherwise"
    settings = config.get("LdapSettings")
    if isinstance(settings, dict) and str(settings.get("Enable")).lower() == "true":
        return "LdapSettings.Enable is true"
    accounts = scalar(con, "SELECT count(*) FROM work.raw_mm_users WHERE lower(auth_service) = 'ldap'")
    if accounts:
        return f"{accounts} Mattermost account(s) sign in with ldap"
    return None
