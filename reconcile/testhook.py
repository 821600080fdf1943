"""A test hook, and nothing else: named points where a run can be told to stop and wait.

The store's promises ("a process killed at any point leaves the store as it was", "a second run
waits, then refuses") can only be tested against a real process stopped at a known moment, not by
guessing with timers. With ``RECONCILE_TEST_PAUSE_AT=commit`` (a comma-separated list of point
names) a run that reaches the point ``commit`` says so on stderr and sleeps there for
``RECONCILE_TEST_PAUSE_SECONDS`` (default an hour), so a test can SIGKILL it at exactly that point
or start a second run against it. Unset (as in every real run) the hook does nothing.

Points: ``lock`` (the store lock is held, nothing read yet), ``migrate`` (inside the migration
transaction, before its COMMIT), ``store`` (the store is attached and migrated, the run's
transaction not begun), ``findings`` (inside the run's transaction: run record, findings and
rule results inserted, snapshots not yet), ``commit`` (inside the run's transaction, everything
inserted, before COMMIT).
"""

from __future__ import annotations

import os
import sys
import time

PAUSE_AT_ENV = "RECONCILE_TEST_PAUSE_AT"
PAUSE_SECONDS_ENV = "RECONCILE_TEST_PAUSE_SECONDS"
POINTS = ("lock", "migrate", "store", "findings", "commit")
PAUSED_MESSAGE = "reconcile test hook: paused at {point} (pid {pid})"


def pause_point(point: str) -> None:
    """Sleep here when the test hook names ``point``; otherwise return at once."""
    assert point in POINTS, f"unknown test pause point {point!r}"
    wanted = os.environ.get(PAUSE_AT_ENV)
    if not wanted or point not in {name.strip() for name in wanted.split(",")}:
        return
    sys.stderr.write(PAUSED_MESSAGE.format(point=point, pid=os.getpid()) + "\n")
    sys.stderr.flush()
    time.sleep(float(os.environ.get(PAUSE_SECONDS_ENV) or 3600))
