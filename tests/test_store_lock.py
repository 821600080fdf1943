"""The store lock on its own: owner-only, names its holder, waits as long as told, leaves nothing behind.

flock locks belong to an open file, not a process, so two takers in one process exclude each other as
two processes do (test_store_process.py runs the real two-process case).
"""

from __future__ import annotations

import os
import stat
import threading
import time

import pytest

from reconcile.errors import ExitCode, InputError
from reconcile.store_lock import DEFAULT_LOCK_TIMEOUT, StoreLockedError, lock_path_of, lock_timeout_of, store_lock


def test_the_lock_file_is_owner_only_names_the_holder_and_goes_away(tmp_path):
    store = tmp_path / "reconcile.duckdb"
    with store_lock(store, 0) as path:
        assert path == tmp_path / "reconcile.duckdb.lock"
        assert stat.S_IMODE(path.stat().st_mode) == 0o600
        assert path.read_text().startswith(f"pid {os.getpid()} on ")
        with pytest.raises(StoreLockedError) as refused, store_lock(store, 0.3):
            pass
        assert refused.value.exit_code == ExitCode.INPUT_ERROR
        assert str(refused.value).startswith(f"{store}: another reconcile run holds the store (pid {os.getpid()} on ")
        assert "waited 0.3 s" in str(refused.value) and "RECONCILE_LOCK_TIMEOUT" in str(refused.value)
        assert path.exists(), "a refused taker does not remove the holder's lock file"
    assert not path.exists()
    assert not store.exists(), "the lock never creates the store"


def test_the_wait_lasts_the_timeout_and_succeeds_when_the_holder_lets_go(tmp_path):
    store = tmp_path / "s.duckdb"
    release = threading.Event()

    def hold() -> None:
        with store_lock(store, 0):
            held.set()
            release.wait(10)

    held = threading.Event()
    holder = threading.Thread(target=hold)
    holder.start()
    held.wait(10)
    began = time.monotonic()
    with pytest.raises(StoreLockedError), store_lock(store, 0.5):
        pass
    assert 0.5 <= time.monotonic() - began < 5
    threading.Timer(0.3, release.set).start()
    with store_lock(store, 10):  # waits for the holder, which unlinks its file: this one takes a new one
        assert lock_path_of(store).read_text().startswith(f"pid {os.getpid()} ")
    holder.join(10)
    assert not lock_path_of(store).exists()


def test_folders_made_for_the_lock_are_removed_when_left_empty(tmp_path):
    store = tmp_path / "a" / "b" / "store.duckdb"
    with store_lock(store, 0):
        assert stat.S_IMODE((tmp_path / "a").stat().st_mode) == 0o700
        assert stat.S_IMODE((tmp_path / "a" / "b").stat().st_mode) == 0o700
    assert not (tmp_path / "a").exists(), "a run that wrote nothing leaves no folder"
    with store_lock(store, 0):
        (tmp_path / "a" / "b" / "store.duckdb").write_bytes(b"")
    assert store.exists()


def test_a_symbolic_link_at_the_lock_path_is_refused(tmp_path):
    target = tmp_path / "elsewhere"
    target.write_text("keep me")
    lock_path_of(tmp_path / "store.duckdb").symlink_to(target)
    with pytest.raises(InputError, match="symbolic link"), store_lock(tmp_path / "store.duckdb", 0):
        pass
    assert target.read_text() == "keep me"


def test_lock_timeout_precedence_and_bad_values():
    assert lock_timeout_of(None, {}) == DEFAULT_LOCK_TIMEOUT == 10
    assert lock_timeout_of(None, {"RECONCILE_LOCK_TIMEOUT": "2.5"}) == 2.5
    assert lock_timeout_of(0, {"RECONCILE_LOCK_TIMEOUT": "2.5"}) == 0
    for bad in ("soon", "-1", "nan"):
        with pytest.raises(InputError, match="RECONCILE_LOCK_TIMEOUT"):
            lock_timeout_of(None, {"RECONCILE_LOCK_TIMEOUT": bad})
    with pytest.raises(ValueError, match="lock_timeout"):
        lock_timeout_of(-1, {})
