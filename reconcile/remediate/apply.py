"""Carry out a reviewed plan against a Mattermost server, and put a journal's changes back.

Both verbs are one step repeated: compare-and-set on one account (Terraform's "apply exactly the
reviewed plan", IdFix's undo log). Why each part:

* The token is checked first (``GET /users/me``: a system admin, the only role Mattermost lets
  through ``PUT /users/{id}/auth``), and ``--max-changes`` before that: a plan built from a broken
  export can be huge, and a person should see the number. Both refuse before any write (exit 3).
* Per account: ``GET /users/{id}``. A 404 or ``delete_at`` != 0 is ``gone``; holding "after" already
  is ``already_applied``; anything but the plan's "before" (auth_service or auth_data) is
  ``changed_since_plan``: a change made meanwhile is never overwritten. Otherwise a ``pending``
  journal line (on disk before the request leaves), the ``PUT``, and a ``GET`` that must show
  exactly "after": Mattermost answers the PUT with the values it was sent (and 200 even for an id it
  has no account for), so only the second read proves the write. What the read shows instead is
  recorded as ``refused`` ("server stored X"), never ``applied``.
* A refusal by the server (a 4xx: the auth_data is already another account's, or empty) is
  recorded with the server's reason and the run goes on. 401/403 in the middle of a run stop it
  (an auth error is never soft: every further change would fail the same way). A 5xx that outlasts
  the client's retries is settled by the verify read. A server that stops answering stops the run
  with the journal's pending line unsettled: the next run settles it.
* ``None`` and ``""`` auth_data compare equal: both mean "no auth_data" to sign-in, and exports
  write NULL either way. Undo of an account whose auth_data was empty sends ``""``, which the server
  refuses (``api.user.update_user_auth.invalid_request``): recorded ``refused``.
* ``rate`` caps changes per second (each change is two or three requests); 429 ``Retry-After`` is
  obeyed by the client itself.
* A dry run reads exactly what a real run reads and decides the same way, but sends no write and
  writes no journal; its exit code is the real run's.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path

from reconcile.errors import ExitCode
from reconcile.remediate.journal import (
    ALREADY_APPLIED,
    APPLIED,
    CHANGED_SINCE_PLAN,
    GONE,
    PENDING,
    REFUSED,
    JournalError,
    JournalLine,
    JournalWriter,
    fold,
    read_journal,
    utc_now,
)
from reconcile.remediate.plan_file import Plan, PlanError
from reconcile.sources.mattermost_api import MattermostApi, MattermostAuthError, MattermostSourceError

WOULD_CHANGE = "would_change"
LABELS = {WOULD_CHANGE: "would change", APPLIED: "applied", ALREADY_APPLIED: "already applied",
          CHANGED_SINCE_PLAN: "changed since plan", GONE: "account gone or deactivated", REFUSED: "refused"}
SKIPPED = (CHANGED_SINCE_PLAN, GONE)
DEFAULT_MAX_CHANGES = 200
DEFAULT_RATE = 5.0
_sleep: Callable[[float], None] = time.sleep
_monotonic: Callable[[], float] = time.monotonic


@dataclass(frozen=True)
class Step:
    """One compare-and-set: ``mattermost_user_id`` goes from ``before`` to ``after``, auth_service kept."""

    mattermost_user_id: str
    username: str | None
    auth_service: str
    before: str | None
    after: str | None
    plan_digest: str
    already_reason: str = "the account already holds the new value"  # said when it holds "after" already

    @property
    def who(self) -> str:
        return f"{self.username} ({self.mattermost_user_id})" if self.username else self.mattermost_user_id


@dataclass(frozen=True)
class StepResult:
    step: Step
    status: str  # a journal outcome, or WOULD_CHANGE in a dry run
    reason: str | None = None

    @property
    def label(self) -> str:
        return LABELS[self.status]

    def describe(self) -> str:
        return f"{self.label}: {self.step.who}" + (f": {self.reason}" if self.reason else "")


@dataclass
class RunResult:
    """What a run did (or, dry, would do), in plan order; the exit code and summary line come from here."""

    dry_run: bool
    results: list[StepResult] = field(default_factory=list)
    journal_path: Path | None = None

    def count(self, *statuses: str) -> int:
        return sum(1 for r in self.results if r.status in statuses)

    @property
    def exit_code(self) -> ExitCode:
        """0: everything applied, verified, already so, or nothing to do; 4: something skipped or refused."""
        return ExitCode.PARTIAL if self.count(*SKIPPED, REFUSED) else ExitCode.CLEAN

    def summary(self, verb: str = "apply") -> str:
        if not self.results:
            return f"{verb}: nothing to do (no changes{' in the plan' if verb == 'apply' else ' to put back'})"
        skipped = self.count(*SKIPPED)
        detail = (f" ({self.count(CHANGED_SINCE_PLAN)} changed since plan, {self.count(GONE)} gone or deactivated)"
                  if skipped else "")
        counts = (f"already applied {self.count(ALREADY_APPLIED)}, skipped {skipped}{detail}, "
                  f"refused {self.count(REFUSED)}")
        if self.dry_run:
            return (f"{verb} dry run ({len(self.results)} change(s), nothing written): would change "
                    f"{self.count(WOULD_CHANGE)}, {counts}")
        return f"{verb}: applied {self.count(APPLIED)}, {counts}" + (
            f"; journal {self.journal_path}" if self.journal_path else "")


class _Pacer:
    """At most ``rate`` steps per second: each step starts no sooner than 1/rate after the previous one."""

    def __init__(self, rate: float):
        if not rate > 0:
            raise ValueError("rate must be a positive number of changes per second")
        self.interval = 1.0 / rate
        self._next: float | None = None

    def wait(self) -> None:
        now = _monotonic()
        if self._next is not None and now < self._next:
            _sleep(self._next - now)
            now = self._next
        self._next = now + self.interval


def _same(a: str | None, b: str | None) -> bool:
    return (a or "") == (b or "")


def _shown(value: str | None) -> str:
    return "empty" if not value else repr(value)


def compare_and_set(client: MattermostApi, step: Step, journal: JournalWriter | None) -> StepResult:
    """The one step of apply and undo. ``journal`` None is a dry run: read, decide, write nothing."""

    def outcome(status: str, reason: str | None = None) -> StepResult:
        if journal is not None:
            journal.write(JournalLine(step.mattermost_user_id, step.auth_service, step.before, step.after, status,
                                      utc_now(), step.plan_digest, reason))
        return StepResult(step, status, reason)

    user = client.user(step.mattermost_user_id)
    if user is None:
        return outcome(GONE, "the server has no such account (HTTP 404)")
    if user.get("delete_at"):
        return outcome(GONE, f"the account is deactivated (delete_at {user.get('delete_at')})")
    service, data = str(user.get("auth_service") or ""), user.get("auth_data")
    if service == step.auth_service and _same(data, step.after):
        return outcome(ALREADY_APPLIED, step.already_reason)
    if service != step.auth_service or not _same(data, step.before):
        return outcome(CHANGED_SINCE_PLAN, f"the server holds auth_service {service or 'empty'}, auth_data "
                                           f"{_shown(data)}; expected {step.auth_service}, {_shown(step.before)}")
    if journal is None:
        return StepResult(step, WOULD_CHANGE, f"{_shown(step.before)} -> {_shown(step.after)}")
    journal.write(JournalLine(step.mattermost_user_id, step.auth_service, step.before, step.after, PENDING,
                              utc_now(), step.plan_digest))
    try:
        client.update_user_auth(step.mattermost_user_id, step.after or "", step.auth_service)
    except MattermostAuthError as exc:
        outcome(REFUSED, str(exc))
        raise
    except MattermostSourceError as exc:
        if exc.status is None:
            raise  # no answer at all: the pending line stays unsettled ("maybe written") for the next run
        if exc.status < 500:
            reason = str(exc)
            if not step.after:
                reason += ("; Mattermost's API does not set an empty auth_data: the account had none before, "
                           "clear it by hand if it must have none again")
            return outcome(REFUSED, reason)
        failure: str | None = str(exc)
    else:
        failure = None
    stored = client.user(step.mattermost_user_id)
    if stored is None:
        return outcome(REFUSED, "the account vanished after the write (HTTP 404 on the verifying read)")
    stored_service, stored_data = str(stored.get("auth_service") or ""), stored.get("auth_data")
    if stored_service == step.auth_service and _same(stored_data, step.after):
        return outcome(APPLIED, f"stored although the server answered: {failure}" if failure else None)
    reason = f"server stored auth_service {stored_service or 'empty'}, auth_data {_shown(stored_data)}"
    return outcome(REFUSED, f"{failure}; {reason}" if failure else reason)


def apply_plan(plan: Plan, client: MattermostApi, journal_path: Path, *, dry_run: bool,
               max_changes: int = DEFAULT_MAX_CHANGES, rate: float = DEFAULT_RATE,
               on_result: Callable[[StepResult], None] | None = None) -> RunResult:
    """Apply ``plan`` (``dry_run``: only say what would happen). Raises before any write for a plan over
    ``max_changes`` (PlanError), a journal of another plan or malformed (JournalError), or a token that
    may not change accounts (MattermostAuthError); all exit 3."""
    if len(plan.changes) > max_changes:
        raise PlanError(f"the plan has {len(plan.changes)} changes, more than --max-changes {max_changes}: a plan "
                        f"that large may come from a broken export. Check the number against PLAN.csv, then give "
                        f"--max-changes {len(plan.changes)} to apply it")
    digest = plan.digest
    lines = read_journal(journal_path, missing_ok=True)
    others = sorted({line.plan_digest for line in lines} - {digest})
    if others:
        raise JournalError(f"journal {journal_path}: it records another plan (digest {others[0][:12]}..., this plan's "
                           f"is {digest[:12]}...); one journal holds one plan. Give --journal a new file, or apply "
                           "the plan that journal belongs to")
    history = fold(lines)
    client.check_user_editor()
    steps = []
    for change in plan.changes:
        step = Step(change.mattermost_user_id, change.username, change.auth_service, change.auth_data_before,
                    change.auth_data_after, digest)
        earlier = history.get(change.mattermost_user_id)
        if earlier is not None and earlier.pending:
            step = replace(step, already_reason=f"settles pending line {earlier.pending[-1].line_no} of the journal "
                                                "(an interrupted run): its write had landed")
        steps.append(step)
    return _run(steps, client, None if dry_run else journal_path, rate, on_result)


def undo_journal(journal_path: Path, client: MattermostApi, undo_journal_path: Path, *, dry_run: bool,
                 rate: float = DEFAULT_RATE, on_result: Callable[[StepResult], None] | None = None) -> RunResult:
    """Put back what ``journal_path`` records this tool wrote, newest first, journalled in ``undo_journal_path``.

    Taken: ``applied`` lines, pending lines a later run found landed, and pending lines never settled
    (for those the compare-and-set decides: an account that does not hold "after" was not written, so
    nothing is put back; one that does is). Each account's newest write is undone once; its
    compare-and-set is on "after", so an account changed since is skipped (``changed_since_plan``).
    """
    if undo_journal_path.resolve() == journal_path.resolve():
        raise JournalError(f"journal {journal_path}: undo cannot write its journal into the journal it reads; give "
                           "--journal another file")
    lines = read_journal(journal_path)
    read_journal(undo_journal_path, missing_ok=True)  # appended to: it must be a well-formed journal too
    taken: list[tuple[JournalLine, bool]] = []  # (line, unsettled pending)
    for history in fold(lines).values():
        taken += [(line, False) for line in history.written] + [(line, True) for line in history.pending[-1:]]
    taken.sort(key=lambda item: item[0].line_no, reverse=True)
    client.check_user_editor()
    seen: set[str] = set()
    steps = []
    for line, unsettled in taken:
        if line.mattermost_user_id in seen:
            continue
        seen.add(line.mattermost_user_id)
        step = Step(line.mattermost_user_id, None, line.auth_service, line.after, line.before, line.plan_digest)
        if unsettled:
            step = replace(step, already_reason=f"pending line {line.line_no} of the journal never landed: the "
                                                "account still holds the value before it, nothing to put back")
        steps.append(step)
    return _run(steps, client, None if dry_run else undo_journal_path, rate, on_result)


def _run(steps: list[Step], client: MattermostApi, journal_path: Path | None, rate: float,
         on_result: Callable[[StepResult], None] | None) -> RunResult:
    result = RunResult(dry_run=journal_path is None, journal_path=journal_path)
    pacer = _Pacer(rate)
    journal = JournalWriter(journal_path) if journal_path is not None else None
    try:
        for step in steps:
            pacer.wait()
            one = compare_and_set(client, step, journal)
            result.results.append(one)
            if on_result is not None:
                on_result(one)
    finally:
        if journal is not None:
            journal.close()
    if journal_path is not None and not journal_path.exists():
        result.journal_path = None  # nothing to do: no journal was started
    return result
