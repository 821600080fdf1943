"""One run at a time per store: an advisory lock on a sidecar file, held for the whole run.

DuckDB locks its file only while a connection has it open, and a run opens the store late (after
every source is read) and, for an incremental Graph pull, read-only early on. Two nightly runs
started together would therefore both extract for an hour, and the second would then fail on
DuckDB's own lock, or read a delta link the first is about to replace. The lock here is taken at
the start of the run, before any source is read, on ``<store>.lock`` next to the store, with
``fcntl.flock``: the kernel drops it when the process dies, however it dies, so a killed run never
leaves a lock that blocks the next night.

The lock file is removed when the run ends (it holds the holder's pid, for the message a waiting
run prints). Removing a flock file is safe only if every taker checks, once it holds the lock,
that the name still points at the file it locked (otherwise it may hold a lock on a file that was
just unlinked while a newer taker locks a new one); ``_acquire`` does that and tries again.
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import os
import socket
import time
from collections.abc import Iterator, Mapping
from datetime import UTC, datetime
from pathlib import Path

from reconcile.errors import ExitCode, InputError, ReconcileError

LOCK_TIMEOUT_ENV = "RECONCILE_LOCK_TIMEOUT"
DEFAULT_LOCK_TIMEOUT = 10.0  # seconds: long enough for a run that is just finishing, short for a scheduler
POLL_SECONDS = 0.1


class StoreLockedError(ReconcileError):
    """Another run holds the store's lock and did not let go within the wait: exit 3, nothing written."""

    exit_code = ExitCode.INPUT_ERROR


def lock_path_of(store_path: Path) -> Path:
    """The sidecar lock file of a store: ``reconcile.duckdb`` -> ``reconcile.duckdb.lock``."""
    return store_path.with_name(store_path.name + ".lock")


def lock_timeout_of(given: float | None, environ: Mapping[str, str] | None = None) -> float:
    """How long to wait for the lock: the value given, else ``RECONCILE_LOCK_TIMEOUT``, else 10 s."""
    if given is not None:
        if given < 0:
            raise ValueError(f"lock_timeout must be zero or more seconds, not {given!r}")
        return float(given)
    text = (environ if environ is not None else os.environ).get(LOCK_TIMEOUT_ENV)
    if not text:
        return DEFAULT_LOCK_TIMEOUT
    try:
        seconds = float(text)
    except ValueError:
        seconds = -1.0
    if not seconds >= 0:  # also refuses nan
        raise InputError(LOCK_TIMEOUT_ENV, None, f"{text!r} is not a number of seconds (zero or more), such as 10")
    return seconds


@contextlib.contextmanager
def store_lock(store_path: Path, timeout: float | None = None) -> Iterator[Path]:
    """Hold the store's lock for the body; raise StoreLockedError after ``timeout`` seconds of waiting.

    Creates the store's folder (0700) if needed, and removes the folders it created again when they
    are still empty at the end: a run refused for a bad input leaves nothing on disk.
    """
    seconds = lock_timeout_of(timeout)
    path = lock_path_of(store_path)
    created: list[Path] = []
    fd = _acquire(path, store_path, seconds, created)
    try:
        _write_holder(fd)
        yield path
    finally:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(path)  # while still holding it: see the module docstring
        os.close(fd)
        for folder in reversed(created):
            try:
                folder.rmdir()
            except OSError:
                break


def _acquire(path: Path, store_path: Path, seconds: float, created: list[Path]) -> int:
    deadline = time.monotonic() + seconds
    while True:
        created.extend(_make_folders(path.parent))
        try:
            fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC | os.O_NOFOLLOW, 0o600)
        except FileNotFoundError:  # a finishing run removed the folder it had created: make it again
            continue
        except OSError as exc:
            if exc.errno == errno.ELOOP:
                raise InputError(str(path), None, "is a symbolic link; the store's lock file must be a plain "
                                 "file (remove the link)") from exc
            raise
        try:
            if not _lock_by(fd, deadline):
                holder = _holder_of(fd)
                raise StoreLockedError(
                    f"{store_path}: another reconcile run holds the store{holder} (lock file {path}); "
                    f"waited {seconds:g} s. Run again once it has finished, or wait longer with "
                    f"{LOCK_TIMEOUT_ENV}=SECONDS")
            if _names(fd, path):
                if os.fstat(fd).st_uid == os.geteuid():
                    os.fchmod(fd, 0o600)
                return fd
        except BaseException:
            os.close(fd)
            raise
        os.close(fd)  # the run we waited for unlinked this file as it finished: lock the new one


def _make_folders(folder: Path) -> list[Path]:
    """Create ``folder`` and its missing parents (0700), returning those created, outermost first."""
    missing: list[Path] = []
    while not folder.exists():
        missing.append(folder)
        folder = folder.parent
    made: list[Path] = []
    for each in reversed(missing):
        try:
            each.mkdir(mode=0o700)
        except FileExistsError:
            continue
        made.append(each)
    return made


def _lock_by(fd: int, deadline: float) -> bool:
    while True:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            return True
        except BlockingIOError:
            if time.monotonic() >= deadline:
                return False
            time.sleep(POLL_SECONDS)


def _names(fd: int, path: Path) -> bool:
    """Whether ``path`` still names the file ``fd`` has open."""
    try:
        now = os.stat(path, follow_symlinks=False)
    except FileNotFoundError:
        return False
    mine = os.fstat(fd)
    return (now.st_dev, now.st_ino) == (mine.st_dev, mine.st_ino)


def _write_holder(fd: int) -> None:
    os.ftruncate(fd, 0)
    started = datetime.now(UTC).isoformat(timespec="seconds")
    os.pwrite(fd, f"pid {os.getpid()} on {socket.gethostname()} since {started}\n".encode(), 0)


def _holder_of(fd: int) -> str:
    try:
        text = os.pread(fd, 200, 0).decode("utf-8", "replace").strip()
    except OSError:
        return ""
    return f" ({text})" if text else ""
