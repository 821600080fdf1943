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

from reconcile import identifiers as ids
from reconcile.errors import ExitCode, ReconcileError

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

    def describe(self) -> str:
        """How a message names it: ``rule USER_X, user_principal_name=a@b (exception 2, line 9)``."""
        subject = "subject=config" if self.subject == "config" else f"{self.subject}={self.value}"
        where = f"exception {self.position}" + (f", line {self.line}" if self.line else "")
        return f"rule {self.rule}, {subject} ({where})"


def rule_is_about_users(rule_id: str) -> bool:
    """Whether a rule's findings are about a person. The rule contract ties this to the id: USER_* rules
    return only ``subject_type = 'user'`` findings, every other rule none (tests/test_rule_contract.py)."""
    return rule_id.startswith("USER_")


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
