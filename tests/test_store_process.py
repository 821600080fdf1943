"""Real processes against one store: a run SIGKILLed at any point leaves the store exactly as it was,
and a second run waits for the first, or is refused with exit 3, never corrupting the store.

Each run is the real CLI in its own Python process. The moment of the kill is not guessed with timers:
the test hook ``RECONCILE_TEST_PAUSE_AT`` (reconcile/testhook.py) makes the run announce on stderr that
it reached a named point and sleep there, and the test kills it then.
"""

from __future__ import annotations

import lzma
import os
import select
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import duckdb
import pytest

from reconcile.audit import run_audit
from reconcile.paths import sample_dir
from reconcile.store_lock import LOCK_TIMEOUT_ENV, lock_path_of
from reconcile.testhook import PAUSE_AT_ENV, PAUSE_SECONDS_ENV, PAUSED_MESSAGE

ROOT = Path(__file__).resolve().parents[1]
OLD_STORE = Path(__file__).parent / "fixtures" / "store-0.1.0-4881fac.duckdb.xz"


def _start(store: Path, out: Path, pause: str | None = None, pause_seconds: float | None = None,
           lock_timeout: float | None = None) -> subprocess.Popen:
    env = {key: value for key, value in os.environ.items()
           if key not in (PAUSE_AT_ENV, PAUSE_SECONDS_ENV, LOCK_TIMEOUT_ENV)}
    env["PYTHONPATH"] = str(ROOT)
    if pause:
        env[PAUSE_AT_ENV] = pause
    if pause_seconds is not None:
        env[PAUSE_SECONDS_ENV] = str(pause_seconds)
    if lock_timeout is not None:
        env[LOCK_TIMEOUT_ENV] = str(lock_timeout)
    command = [sys.executable, "-c", "from reconcile.cli import main; main()", "audit", "--sample",
               "--output-dir", str(out), "--store", str(store), "-q"]
    return subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)


def _wait_paused(proc: subprocess.Popen, point: str, timeout: float = 180) -> None:
    """Read the run's stderr until the hook says it sleeps at ``point``."""
    marker = PAUSED_MESSAGE.format(point=point, pid=proc.pid).encode()
    seen = b""
    deadline = time.monotonic() + timeout
    fd = proc.stderr.fileno()
    while marker not in seen:
        left = deadline - time.monotonic()
        if left <= 0:
            break
        ready, _, _ = select.select([fd], [], [], min(left, 1.0))
        if ready:
            chunk = os.read(fd, 4096)
            if not chunk:
                break
            seen += chunk
    if marker not in seen:
        proc.kill()
        proc.wait()
        pytest.fail(f"the run never paused at {point!r} (exit {proc.returncode}): {seen.decode(errors='replace')}")


def _dump(store: Path) -> dict[str, list[tuple]]:
    """Every table of the store, row for row."""
    with duckdb.connect(str(store), read_only=True) as con:
        names = [n for (n,) in con.execute("SELECT table_name FROM information_schema.tables ORDER BY 1").fetchall()]
        return {name: con.execute(f'SELECT * FROM "{name}" ORDER BY ALL').fetchall() for name in names}


@pytest.fixture(scope="module")
def base_store(tmp_path_factory) -> Path:
    """A current store holding one committed run of the sample tenant."""
    base = tmp_path_factory.mktemp("base-store")
    run_audit(sample_dir(), base / "out", base / "store.duckdb")
    return base / "store.duckdb"


def _kill_at(point: str, store: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    image, rows = store.read_bytes(), _dump(store)
    proc = _start(store, out, pause=point)
    _wait_paused(proc, point)
    proc.send_signal(signal.SIGKILL)
    assert proc.wait(timeout=60) == -signal.SIGKILL
    # Byte for byte: DuckDB writes nothing of an uncommitted transaction to the file or its WAL at this size.
    assert store.read_bytes() == image, f"killed at {point}: the store file changed"
    assert not store.with_name(store.name + ".wal").exists()
    assert _dump(store) == rows, f"killed at {point}: the store's rows changed"
    assert not out.exists(), "no report set was written"


@pytest.mark.parametrize("point", ["lock", "store", "findings", "commit"])
def test_a_run_killed_at_any_point_leaves_the_store_as_it_was(point, base_store, tmp_path):
    store = tmp_path / "store.duckdb"
    shutil.copy(base_store, store)
    runs = _dump(store)["runs"]
    _kill_at(point, store, tmp_path)
    # The dead run's lock file may remain, but its lock died with it: the next run goes straight in.
    result = run_audit(sample_dir(), tmp_path / "next", store, lock_timeout=0)
    after = _dump(store)["runs"]
    assert len(after) == len(runs) + 1 and result.run_id in {row[0] for row in after}
    assert not lock_path_of(store).exists()


def test_a_run_killed_while_migrating_an_old_store_leaves_it_unmigrated(tmp_path):
    store = tmp_path / "store.duckdb"
    store.write_bytes(lzma.decompress(OLD_STORE.read_bytes()))
    store.chmod(0o600)
    _kill_at("migrate", store, tmp_path)
    assert "schema_version" not in _dump(store)
    result = run_audit(sample_dir(), tmp_path / "next", store, lock_timeout=0)
    assert result.summary["previous_run_id"] == "20261202T170835Z-342d72"
    assert "schema_version" in _dump(store)


def test_a_second_run_is_refused_with_exit_3_while_the_first_holds_the_store(base_store, tmp_path):
    store = tmp_path / "store.duckdb"
    shutil.copy(base_store, store)
    image, rows = store.read_bytes(), _dump(store)
    first = _start(store, tmp_path / "first", pause="lock")
    try:
        _wait_paused(first, "lock")
        started = time.monotonic()
        second = _start(store, tmp_path / "second", lock_timeout=1)
        _, stderr = second.communicate(timeout=120)
        message = " ".join(stderr.decode().split())
        assert second.returncode == 3, message
        assert time.monotonic() - started >= 1, "it waited before giving up"
        assert f"{store}: another reconcile run holds the store (pid {first.pid} on " in message
        assert f"lock file {lock_path_of(store)}" in message and "waited 1 s" in message
        assert "nothing was written; the store is unchanged" in message
        assert not (tmp_path / "second").exists()
        assert first.poll() is None, "the first run is still running, untouched by the refusal"
    finally:
        first.kill()
        first.wait()
    assert store.read_bytes() == image and _dump(store) == rows


def test_a_second_run_waits_for_the_first_to_commit_then_runs(base_store, tmp_path):
    store = tmp_path / "store.duckdb"
    shutil.copy(base_store, store)
    before = len(_dump(store)["runs"])
    first = _start(store, tmp_path / "first", pause="commit", pause_seconds=8)
    _wait_paused(first, "commit")  # inside its transaction, the store attached read-write
    second = _start(store, tmp_path / "second", lock_timeout=120)
    assert first.wait(timeout=180) == 1  # the sample has blocking findings: exit 1, a good run
    _, stderr = second.communicate(timeout=180)
    assert second.returncode == 1, stderr.decode()
    runs = _dump(store)["runs"]
    assert len(runs) == before + 2
    by_id = {row[0]: row for row in runs}
    first_row, second_row = (by_id[Path(os.readlink(tmp_path / name / "current")).name] for name in ("first", "second"))
    assert second_row[1] >= first_row[2], "the second run started only after the first had finished"
