"""What every source shares: how it reports what it read, and the interface the registry loops over.

A source is one module under reconcile/sources/ that reads its records (export file or live
system) and lands them, as read, in its ``raw_*`` table or, for single documents (the config, the
license, the app registration), in its staging table. Normal forms are computed afterwards in SQL
(reconcile.normalise). ``land`` returns one InputInfo per input it stands for: rows read, and
whether it is available, absent or failed (a partial run).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Protocol, runtime_checkable

import duckdb

from reconcile import identifiers as ids
from reconcile.config.settings import DEFAULT_BUNDLE_ID
from reconcile.errors import EmptySourceError, SourceError

PRODUCTION_BUNDLE_ID = DEFAULT_BUNDLE_ID  # the App Store app (reconcile.config.settings)


@dataclass(frozen=True)
class TargetingOptions:
    """Who the policy targets, when the command line says so (issue 4: --intune-group overrides
    discovery), and which Mattermost iOS apps the organisation deploys (production by default)."""

    intune_groups: tuple[str, ...] = ()
    ios_bundle_ids: tuple[str, ...] = (PRODUCTION_BUNDLE_ID,)
    mobile_client_ids: tuple[str, ...] = ()  # besides Mattermost's published ones (--mobile-client-id)

    def all_mobile_client_ids(self) -> list[str]:
        """Every appId that is Mattermost Mobile: the published ids, then the ones given."""
        given = [ids.parse_guid(c) or c for c in self.mobile_client_ids]
        return list(dict.fromkeys([*ids.MOBILE_CLIENT_IDS, *given]))


@dataclass
class InputInfo:
    name: str
    available: bool
    file: str | None = None
    rows: int | None = None
    note: str | None = None
    failed: bool = False  # the source was there but extraction failed: the run is partial
    # (permission, application | delegated) when the part was skipped for a Graph permission the token
    # lacks (reconcile.permissions); ``note`` then is the sentence naming what to grant
    missing_permission: tuple[str, str] | None = None


@dataclass
class RunContext:
    """What a source may need while landing: the export directory, the run's options, and the
    Mattermost config document once the config source has read it (LDAP and SAML defaults, the
    Entra app id come from it)."""

    input_dir: Path
    targeting: TargetingOptions = field(default_factory=TargetingOptions)
    config: dict | None = None
    # Groups named by exceptions entries (issue 13): a live source reads their members too, never as
    # targeting groups; from files they are entra_groups/<id>.json like any other.
    exception_groups: tuple[str, ...] = ()


class Source(Protocol):
    """One source of the run. ``inputs`` are the run_inputs names it stands for, ``tables`` the tables
    it fills (emptied when it fails, so no finding comes from half a source).

    A source may also have ``prefetch(con, ctx)``, called once the config is known, to start reading
    in the background (the LDIF export), and ``abandon()``, called when the run stops before it lands.
    """

    name: str
    inputs: tuple[str, ...]
    tables: tuple[str, ...]

    def land(self, con: duckdb.DuckDBPyConnection, ctx: RunContext) -> list[InputInfo]: ...


@runtime_checkable
class DescribedRecords(Protocol):
    """Records that can describe what was read (the live LDAP search, an LDIF export): ``note()`` goes into
    the input's note, ``empty_message()`` is the failure when there were none (known only once read)."""

    def __iter__(self) -> Iterator[dict]: ...

    def note(self) -> str | None: ...

    def empty_message(self) -> str: ...


def failed_inputs(con: duckdb.DuckDBPyConnection, names: Iterable[str], tables: Iterable[str],
                  exc: SourceError, file: str | None = None) -> list[InputInfo]:
    """A source failed (a live read that broke, or a source with no people in it): empty the tables it fed
    (no findings from half a source) and mark its inputs failed, so the rules needing them are skipped and
    the run is partial. Failed is not absent: the source was there and was read."""
    for table in tables:
        con.execute(f"DELETE FROM work.{table}")
    if isinstance(exc, EmptySourceError):
        note, file = str(exc), file or exc.file
    else:
        note = f"extraction failed: {exc}"
    return [InputInfo(name, False, file, None, note, failed=True) for name in names]


def record_inputs(con: duckdb.DuckDBPyConnection, infos: list[InputInfo]) -> None:
    con.executemany(
        "INSERT INTO work.run_inputs VALUES ($name, $available, $file, $rows, $note, $failed)",
        [{k: v for k, v in asdict(info).items() if k != "missing_permission"} for info in infos],
    )


def columns_of(con: duckdb.DuckDBPyConnection, table: str) -> tuple[str, ...]:
    return tuple(d[0] for d in con.execute(f"SELECT * FROM work.{table} LIMIT 0").description)
