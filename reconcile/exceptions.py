"""The exceptions file (issue 13): decisions to live with a finding, each with a reason, an owner and an
expiry date. This module reads and validates the file; ``reconcile exceptions check`` runs it alone.

Why validation is this strict: an exception silences a page. An entry that names a rule that does not
exist, a subject of the wrong kind or no expiry would either silence nothing (and the operator believes
it does) or silence too much for ever. So every problem is an input error, every problem is listed at
once with the entry it is in (its position and the line of its ``[[exception]]`` header), and an entry
may run at most 365 days unless the run says ``--allow-long-exceptions``.
"""

from __future__ import annotations

import difflib
import re
import tomllib
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from pathlib import Path

import duckdb

from reconcile import identifiers as ids
from reconcile.errors import ExitCode, ReconcileError
from reconcile.paths import sql_dir
from reconcile.rules import RuleResult
from reconcile.sources.base import InputInfo, record_inputs
from reconcile.store import run_sql_file

MAX_DAYS = 365
EXPIRING_SOON_DAYS = 14
USER_SUBJECTS = ("entra_object_id", "mattermost_user_id", "user_principal_name", "group")
SUBJECT_KEYS = (*USER_SUBJECTS, "subject")
ENTRY_KEYS = ("rule", *SUBJECT_KEYS, "reason", "owner", "expires")
_HEADER = re.compile(r"^\s*\[\[\s*exception\s*\]\]")
_MATTERMOST_ID = re.compile(r"[a-z0-9]{26}")


class ExceptionsFileError(ReconcileError):
    """The exceptions file is unreadable or holds an invalid entry: nothing runs, nothing is written."""

    exit_code = ExitCode.INPUT_ERROR


@dataclass(frozen=True)
class ExceptionEntry:
    position: int          # 1-based: the n-th [[exception]]
    line: int | None       # the line of its header
    rule: str
    subject: str           # entra_object_id | mattermost_user_id | user_principal_name | group | config
    value: str | None      # in normal form: GUIDs lowercase hyphenated, UPNs lowercase; None for config
    reason: str
    owner: str
    expires: date          # valid through that day (UTC)

    def expired(self, run_date: date) -> bool:
        return run_date > self.expires

    def subject_text(self) -> str:
        """``key=value`` as summary.json and the reports name the subject: ``subject=config`` for config."""
        return "subject=config" if self.subject == "config" else f"{self.subject}={self.value}"

    def describe(self) -> str:
        """How a message names it: ``rule USER_X, user_principal_name=a@b (exception 2, line 9)``."""
        subject = self.subject_text()
        where = f"exception {self.position}" + (f", line {self.line}" if self.line else "")
        return f"rule {self.rule}, {subject} ({where})"


def rule_is_about_users(rule_id: str) -> bool:
    """Whether a rule's findings are about a person. The rule contract ties this to the id: USER_* and
    OUTCOME_* rules return only ``subject_type = 'user'`` findings, every other rule none
    (tests/test_rule_contract.py)."""
    return rule_id.startswith(("USER_", "OUTCOME_"))


def load_exceptions(path: Path, rule_ids: Iterable[str], run_date: date,
                    allow_long: bool = False) -> list[ExceptionEntry]:
    """Every entry of the file, validated against the rules and the run's date; raises
    ExceptionsFileError listing every problem."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ExceptionsFileError(f"exceptions file {path}: no such file") from None
    except (OSError, UnicodeDecodeError) as exc:
        reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else type(exc).__name__
        raise ExceptionsFileError(f"exceptions file {path}: cannot be read ({reason})") from None
    try:
        document = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:  # its message carries the line and column
        raise ExceptionsFileError(f"exceptions file {path}: not valid TOML: {exc}") from None
    problems: list[str] = []
    for key in document:
        if key != "exception":
            problems.append(f"unknown top-level key {key!r}: entries are [[exception]] tables")
    raw = document.get("exception", [])
    if not isinstance(raw, list) or not all(isinstance(item, dict) for item in raw):
        problems.append("exception must be an array of tables: write each entry as [[exception]]")
        raw = []
    lines = [n for n, line in enumerate(text.splitlines(), 1) if _HEADER.match(line)]
    known = set(rule_ids)
    entries = []
    for position, table in enumerate(raw, 1):
        line = lines[position - 1] if position <= len(lines) else None
        where = f"exception {position}" + (f" (line {line})" if line else "")
        entry, errors = _entry(table, position, line, known, run_date, allow_long)
        problems += [f"{where}: {error}" for error in errors]
        if entry is not None:
            entries.append(entry)
    if problems:
        raise ExceptionsFileError(f"exceptions file {path}: {len(problems)} problem(s):\n  " + "\n  ".join(problems))
    return entries


def _entry(table: dict, position: int, line: int | None, known: set[str], run_date: date,
           allow_long: bool) -> tuple[ExceptionEntry | None, list[str]]:
    errors: list[str] = []
    for key in table:
        if key not in ENTRY_KEYS:
            close = difflib.get_close_matches(key, ENTRY_KEYS, n=1, cutoff=0.6)
            errors.append(f"unknown key {key!r}" + (f" (did you mean {close[0]}?)" if close else ""))
    rule = _text(table, "rule", errors)
    if rule is not None:
        if rule.startswith("EXCEPTION_"):
            errors.append(f"rule {rule}: an EXCEPTION_* finding cannot itself be excepted")
        elif rule not in known:
            close = difflib.get_close_matches(rule, sorted(known), n=1, cutoff=0.6)
            errors.append(f"unknown rule {rule!r}" + (f" (did you mean {close[0]}?)" if close else "")
                          + "; `reconcile rules list` lists them")
            rule = None
    subject, value = _subject(table, rule, errors)
    reason = _text(table, "reason", errors)
    owner = _text(table, "owner", errors)
    expires = _expires(table, run_date, allow_long, errors)
    if errors or None in (rule, subject, reason, owner, expires):
        return None, errors
    return ExceptionEntry(position, line, rule, subject, value, reason, owner, expires), errors


def _text(table: dict, key: str, errors: list[str]) -> str | None:
    if key not in table:
        errors.append(f"{key} is missing")
        return None
    value = table[key]
    if not isinstance(value, str) or not value.strip():
        errors.append(f"{key} must be a non-empty string, got {value!r}")
        return None
    return value.strip()


def _subject(table: dict, rule: str | None, errors: list[str]) -> tuple[str | None, str | None]:
    given = [key for key in SUBJECT_KEYS if key in table]
    if len(given) != 1:
        errors.append("exactly one subject is needed (entra_object_id, mattermost_user_id, user_principal_name, "
                      f"group or subject = \"config\"), got {', '.join(given) if given else 'none'}")
        return None, None
    key = given[0]
    raw = table[key]
    if not isinstance(raw, str) or not raw.strip():
        errors.append(f"{key} must be a non-empty string, got {raw!r}")
        return None, None
    raw = raw.strip()
    about_users = rule is not None and rule_is_about_users(rule)
    if key == "subject":
        if raw != "config":
            errors.append(f"subject must be \"config\" (the only subject that is not a person), got {raw!r}")
            return None, None
        if about_users:
            errors.append(f"subject = \"config\" does not fit rule {rule}, whose findings are about people: name "
                          "the person (entra_object_id, mattermost_user_id, user_principal_name) or a group")
            return None, None
        return "config", None
    if rule is not None and not about_users:
        errors.append(f"{key} does not fit rule {rule}, whose findings are not about a person: use "
                      "subject = \"config\" (it covers every finding of that rule)")
        return None, None
    if key in ("entra_object_id", "group"):
        guid = ids.parse_guid(raw)
        if guid is None:
            errors.append(f"{key} {raw!r} is not an Entra object id (a GUID)")
            return None, None
        return key, guid
    if key == "mattermost_user_id":
        if not _MATTERMOST_ID.fullmatch(raw.lower()):
            errors.append(f"mattermost_user_id {raw!r} is not a Mattermost user id (26 letters and digits)")
            return None, None
        return key, raw.lower()
    return key, raw.lower()  # user_principal_name: compared case-insensitively


def _expires(table: dict, run_date: date, allow_long: bool, errors: list[str]) -> date | None:
    if "expires" not in table:
        errors.append("expires is missing (a TOML date such as 2027-06-30)")
        return None
    value = table["expires"]
    if isinstance(value, datetime):
        value = value.date()
    if not isinstance(value, date):
        errors.append(f"expires must be a TOML date such as 2027-06-30 (unquoted), got {value!r}")
        return None
    if not allow_long and value > run_date + timedelta(days=MAX_DAYS):
        errors.append(f"expires {value.isoformat()} is more than {MAX_DAYS} days after {run_date.isoformat()}: "
                      "decide again within a year, or run with --allow-long-exceptions")
        return None
    return value


def expiring_soon(entries: Iterable[ExceptionEntry], run_date: date) -> list[ExceptionEntry]:
    """Unexpired entries that end within EXPIRING_SOON_DAYS of the run's date."""
    horizon = run_date + timedelta(days=EXPIRING_SOON_DAYS)
    return [e for e in entries if not e.expired(run_date) and e.expires <= horizon]


# ---- in a run -----------------------------------------------------------------------------------------
# The order matters (reconcile/audit.py): entries land before the sources (a group entry's members are
# read with them), cover() runs after every other rule and before readiness, the EXCEPTION_* rules run
# after cover() (they read its outcome), and cover() runs once more after drift has carried forward
# the baseline's findings. Which findings an entry covers is SQL, sql/exceptions/10_cover.sql.

EXCEPTIONS_INPUT = "exceptions"


def is_exception_rule(rule_id: str) -> bool:
    """EXCEPTION_* rules judge the exceptions file itself, from what the other rules found."""
    return rule_id.startswith("EXCEPTION_")


def exception_groups(entries: Iterable[ExceptionEntry]) -> tuple[str, ...]:
    return tuple(sorted({e.value for e in entries if e.subject == "group" and e.value}))


def land(con: duckdb.DuckDBPyConnection, entries: list[ExceptionEntry], path: Path | None,
         run_date: date) -> InputInfo:
    """Put the validated entries in work.exception_entries. Without a file the input is still there,
    empty: no exceptions is a valid answer, so the EXCEPTION_* rules run and last night's findings
    of an entry since removed resolve instead of being carried forward for ever."""
    if entries:
        con.executemany(
            "INSERT INTO work.exception_entries VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            [(e.position, e.line, e.rule, e.subject, e.value, e.reason, e.owner, e.expires, e.expired(run_date),
              str(path)) for e in entries])
    if path is None:
        info = InputInfo(EXCEPTIONS_INPUT, True, None, 0, "no exceptions file (--exceptions): nothing is accepted")
    else:
        info = InputInfo(EXCEPTIONS_INPUT, True, str(path), len(entries))
    record_inputs(con, [info])
    return info


def record_rule_runs(con: duckdb.DuckDBPyConnection, results: Iterable[RuleResult]) -> None:
    rows = [(r.rule.rule_id, r.status) for r in results]
    if rows:
        con.executemany("INSERT INTO work.rule_runs VALUES (?, ?)", rows)


def cover(con: duckdb.DuckDBPyConnection) -> None:
    """Mark every finding of work.findings open or accepted by tonight's entries."""
    run_sql_file(con, sql_dir() / "exceptions" / "10_cover.sql")


def summary(con: duckdb.DuckDBPyConnection, entries: list[ExceptionEntry], path: Path | None,
            run_date: date) -> dict:
    """summary.json's "exceptions": counts from the run's findings, and the entries ending soon."""
    accepted, expired, unused = con.execute(
        """SELECT count(*) FILTER (WHERE status = 'accepted'),
                  count(*) FILTER (WHERE rule_id = 'EXCEPTION_EXPIRED'),
                  count(*) FILTER (WHERE rule_id = 'EXCEPTION_UNUSED')
           FROM work.findings""").fetchall()[0]
    unread = con.execute(
        """SELECT DISTINCT e.value, coalesce(g.note, 'no entra_groups/' || e.value || '.json')
           FROM work.exception_entries e
           LEFT JOIN (SELECT group_id, bool_or(readable) AS readable, any_value(note) AS note
                      FROM work.entra_groups_read GROUP BY group_id) g ON g.group_id = e.value
           WHERE e.subject = 'group' AND NOT coalesce(g.readable, false) ORDER BY 1""").fetchall()
    return {
        "file": str(path) if path else None,
        "entries": len(entries),
        "accepted_findings": accepted,
        "expired": expired,
        "unused": unused,
        "expiring_soon": [{"rule": e.rule, "subject": e.subject_text(), "expires": e.expires.isoformat()}
                          for e in expiring_soon(entries, run_date)],
        "groups_not_read": [{"group": group, "reason": reason} for group, reason in unread],
    }
