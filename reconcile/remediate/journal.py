"""The journal of an apply (or undo): JSON Lines, owner-only, appended, every line on disk before the next step.

Why a journal and why this shape: ``apply`` changes the authentication data of production accounts,
and a process can die at any point (a kill, a crash, a lost VM). The journal is written so that the
truth can always be recovered from it: a ``pending`` line is written (flushed and fsynced) right
before each ``PUT``, and one outcome line after each planned change. A ``pending`` line without a
later outcome for that account means "maybe written"; the next run settles it by reading the
account. Each line holds:

``mattermost_user_id``, ``auth_service``, ``before``, ``after`` (the compare-and-set pair: the value
expected now and the value written), ``status`` (``pending`` or an outcome: ``applied``,
``already_applied``, ``changed_since_plan``, ``gone``, ``refused``), ``at`` (ISO 8601 UTC), ``reason``
(for every status but ``pending`` and ``applied``: why, in words) and ``plan_digest`` (the digest of
the plan the line belongs to: ``apply`` refuses to append to a journal that records another plan, so
one journal never mixes two plans' before/after values; an undo journal keeps the digest of the lines
it undoes). An undo journal has the same format with before and after swapped.

No secret ever goes in: no token, no URL credentials; account ids and auth_data values only.
"""

from __future__ import annotations

import contextlib
import json
import os
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from reconcile.errors import ExitCode, ReconcileError
from reconcile.report.files import OWNER_ONLY

PENDING = "pending"
APPLIED = "applied"
ALREADY_APPLIED = "already_applied"
CHANGED_SINCE_PLAN = "changed_since_plan"
GONE = "gone"
REFUSED = "refused"
OUTCOMES = (APPLIED, ALREADY_APPLIED, CHANGED_SINCE_PLAN, GONE, REFUSED)
STATUSES = (PENDING, *OUTCOMES)
LINE_KEYS = ("mattermost_user_id", "auth_service", "before", "after", "status", "at", "plan_digest")


class JournalError(ReconcileError):
    """A journal that cannot be read or trusted (malformed line, another plan's journal): exit 3."""

    exit_code = ExitCode.INPUT_ERROR


@dataclass(frozen=True)
class JournalLine:
    mattermost_user_id: str
    auth_service: str
    before: str | None
    after: str | None
    status: str
    at: str
    plan_digest: str
    reason: str | None = None
    line_no: int = 0  # where it was read (0 for a line not read from a file)

    def as_json(self) -> dict:
        doc = {"mattermost_user_id": self.mattermost_user_id, "auth_service": self.auth_service,
               "before": self.before, "after": self.after, "status": self.status, "at": self.at,
               "plan_digest": self.plan_digest}
        if self.reason is not None:
            doc["reason"] = self.reason
        return doc


def utc_now() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


class JournalWriter:
    """Appends lines to a journal; each line reaches the disk (write, fsync) before ``write`` returns.

    The file is created owner-only (0600) and kept so if it existed with wider permissions. Opened
    lazily on the first line, so a run that writes nothing (a dry run, a refusal before any write)
    leaves no file behind.
    """

    def __init__(self, path: Path):
        self.path = path
        self._fd: int | None = None

    def write(self, line: JournalLine) -> None:
        if self._fd is None:
            self._open()
        data = (json.dumps(line.as_json(), ensure_ascii=False, sort_keys=False) + "\n").encode("utf-8")
        assert self._fd is not None
        view = memoryview(data)
        while view:  # one write for a line in practice; loop for the rare short write
            written = os.write(self._fd, view)
            view = view[written:]
        os.fsync(self._fd)

    def _open(self) -> None:
        existed = self.path.exists()
        try:
            self._fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, OWNER_ONLY)
            os.chmod(self.path, OWNER_ONLY)
        except OSError as exc:
            raise JournalError(f"journal {self.path}: cannot be opened for appending ({exc.strerror or exc})") \
                from None
        if not existed:  # the new directory entry must survive a crash too
            with contextlib.suppress(OSError):
                dir_fd = os.open(self.path.parent, os.O_RDONLY)
                try:
                    os.fsync(dir_fd)
                finally:
                    os.close(dir_fd)

    def close(self) -> None:
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None

    def __enter__(self) -> JournalWriter:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def read_journal(path: Path, *, missing_ok: bool = False) -> list[JournalLine]:
    """Every line of a journal, checked; a malformed one raises JournalError naming the file and line."""
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        if missing_ok:
            return []
        raise JournalError(f"journal {path}: no such file") from None
    except OSError as exc:
        raise JournalError(f"journal {path}: cannot be read ({exc.strerror or exc})") from None
    lines: list[JournalLine] = []
    for n, text in enumerate(raw.split(b"\n"), 1):
        if not text.strip():
            continue
        where = f"journal {path}: line {n}"
        try:
            doc = json.loads(text.decode("utf-8"))
        except (UnicodeDecodeError, ValueError) as exc:
            raise JournalError(f"{where}: not a JSON object ({exc}); the journal was edited or damaged. Move the "
                               "line out of the way only after checking that account on the server") from None
        lines.append(_parse_line(doc, where, n))
    return lines


def _parse_line(doc: object, where: str, n: int) -> JournalLine:
    if not isinstance(doc, dict):
        raise JournalError(f"{where}: expected a JSON object, found {type(doc).__name__}")
    missing = [k for k in LINE_KEYS if k not in doc]
    if missing:
        raise JournalError(f"{where}: the key(s) {', '.join(missing)} are missing")
    for key in ("mattermost_user_id", "auth_service", "status", "at", "plan_digest"):
        if not isinstance(doc[key], str) or not doc[key]:
            raise JournalError(f"{where}: {key} must be a non-empty string")
    for key in ("before", "after"):
        if doc[key] is not None and not isinstance(doc[key], str):
            raise JournalError(f"{where}: {key} must be a string or null")
    if doc["status"] not in STATUSES:
        raise JournalError(f"{where}: status {doc['status']!r} is not one of {', '.join(STATUSES)}")
    reason = doc.get("reason")
    if reason is not None and not isinstance(reason, str):
        raise JournalError(f"{where}: reason must be a string")
    try:
        datetime.fromisoformat(doc["at"].replace("Z", "+00:00"))
    except ValueError:
        raise JournalError(f"{where}: at {doc['at']!r} is not an ISO 8601 time") from None
    return JournalLine(doc["mattermost_user_id"], doc["auth_service"], doc["before"], doc["after"], doc["status"],
                       doc["at"], doc["plan_digest"], reason, n)


@dataclass
class AccountHistory:
    """One account in a journal: its last outcome, the pending lines no outcome has settled, and what
    this tool wrote to it (``applied`` lines, and pending lines a later run found landed)."""

    last: JournalLine | None = None
    pending: list[JournalLine] = field(default_factory=list)
    written: list[JournalLine] = field(default_factory=list)


def fold(lines: Iterable[JournalLine]) -> dict[str, AccountHistory]:
    """Per account, in journal order: last outcome, unsettled pending lines, and writes.

    A pending line is settled by the next outcome for that account. ``already_applied`` right after
    a pending line means the interrupted run's PUT landed (the re-run read "after" on the server):
    the pending line is then a write of this tool, which undo must put back like an ``applied`` one.
    """
    accounts: dict[str, AccountHistory] = {}
    for line in lines:
        history = accounts.setdefault(line.mattermost_user_id, AccountHistory())
        if line.status == PENDING:
            history.pending.append(line)
            continue
        if line.status == APPLIED:
            history.written.append(line)
        elif line.status == ALREADY_APPLIED and history.pending:
            history.written.append(history.pending[-1])
        history.last = line
        history.pending = []
    return accounts


def undo_path_for(journal_path: Path) -> Path:
    """``PLAN.journal.jsonl`` -> ``PLAN.journal.undo.jsonl`` (JOURNAL.undo.jsonl beside the journal)."""
    name = journal_path.name
    stem = name[: -len(".jsonl")] if name.endswith(".jsonl") else name
    return journal_path.with_name(stem + ".undo.jsonl")
