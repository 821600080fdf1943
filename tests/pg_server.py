"""A throwaway PostgreSQL cluster for the tests, and Mattermost's ``users`` and ``bots`` tables in it.

Why a real server: the database source's promises (a server-side cursor that streams, a session
that cannot write, libpq's errors for a bad DSN without the password) are promises about
PostgreSQL, which a mock would only restate. Debian's postgresql-15 starts in about a second.

* ``initdb`` refuses to run as root, so under root the cluster belongs to the ``postgres`` OS user
  (``nobody`` when there is none) in a directory made for it: pytest's tmp dirs are 0700 root-only.
* It listens on a free loopback port and a private socket directory (no clash with a system
  cluster), with fsync off; ``pg_hba.conf`` trusts loopback except for the ``reconcile_reader``
  role, which must give its password (scram-sha-256), so a wrong password can be tested.
* ``pg_cluster`` is session-scoped: started once, stopped (``pg_ctl -m immediate``) and removed at
  the end. It skips, with the reason, only when the PostgreSQL binaries are not installed.

Each test gets its own database (``cluster.create_database``) with the Mattermost tables, so tests
never see each other's rows.
"""

from __future__ import annotations

import contextlib
import glob
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

READER_ROLE = "reconcile_reader"
READER_PASSWORD = "reader-Secret-42"

# Mattermost's users table as its PostgreSQL migrations leave it (000046_create_users and later:
# props/notifyprops/timezone jsonb since v6.0), and the bots table (a bot is a user with a bots row).
MATTERMOST_SCHEMA = """
CREATE TABLE users (
    id                 varchar(26) PRIMARY KEY,
    createat           bigint,
    updateat           bigint,
    deleteat           bigint,
    username           varchar(64) UNIQUE,
    password           varchar(128),
    authdata           varchar(128) UNIQUE,
    authservice        varchar(32),
    email              varchar(128) UNIQUE,
    emailverified      boolean,
    nickname           varchar(64),
    firstname          varchar(64),
    lastname           varchar(64),
    roles              varchar(256),
    allowmarketing     boolean,
    props              jsonb,
    notifyprops        jsonb,
    lastpasswordupdate bigint,
    lastpictureupdate  bigint,
    failedattempts     integer,
    locale             varchar(5),
    mfaactive          boolean,
    mfasecret          varchar(128),
    position           varchar(128),
    timezone           jsonb,
    remoteid           varchar(26),
    lastlogin          bigint DEFAULT 0,
    mfausedtimestamps  jsonb
);
CREATE INDEX idx_users_delete_at ON users (deleteat);
CREATE TABLE bots (
    userid         varchar(26) PRIMARY KEY,
    description    varchar(1024),
    ownerid        varchar(190),
    lasticonupdate bigint,
    createat       bigint,
    updateat       bigint,
    deleteat       bigint
);
"""

USER_COLUMNS = ("id", "createat", "updateat", "deleteat", "username", "password", "authdata", "authservice", "email",
                "emailverified", "nickname", "firstname", "lastname", "roles", "allowmarketing", "props", "notifyprops",
                "lastpasswordupdate", "lastpictureupdate", "failedattempts", "locale", "mfaactive", "mfasecret",
                "position", "timezone", "remoteid")


def find_bindir() -> Path | None:
    """The directory holding initdb/pg_ctl: $RECONCILE_TEST_PGBIN, Debian's newest, or PATH."""
    candidates = [os.environ.get("RECONCILE_TEST_PGBIN", "")]
    candidates += sorted(glob.glob("/usr/lib/postgresql/*/bin"), key=lambda p: int(p.split("/")[-2])
                         if p.split("/")[-2].isdigit() else 0, reverse=True)
    on_path = shutil.which("initdb")
    if on_path:
        candidates.append(str(Path(on_path).parent))
    for candidate in candidates:
        if candidate and (Path(candidate) / "initdb").is_file() and (Path(candidate) / "pg_ctl").is_file():
            return Path(candidate)
    return None


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@dataclass
class PgCluster:
    """A running throwaway cluster; ``dsn()`` builds libpq connection strings for it."""

    bindir: Path
    root: Path
    port: int
    uid: int | None  # the OS user owning the cluster when we are root, else None (ourselves)
    gid: int | None

    @property
    def data(self) -> Path:
        return self.root / "data"

    @property
    def socket_dir(self) -> Path:
        return self.root / "sock"

    def dsn(self, dbname: str = "postgres", user: str = "postgres", **extra: str) -> str:
        parts = {"host": "127.0.0.1", "port": str(self.port), "user": user, "dbname": dbname, **extra}
        return " ".join(f"{k}={v}" for k, v in parts.items())

    @classmethod
    def start(cls, bindir: Path) -> PgCluster:
        uid = gid = None
        root = Path(tempfile.mkdtemp(prefix="reconcile-pg-"))
        if os.getuid() == 0:
            try:
                owner = pwd.getpwnam("postgres")
            except KeyError:
                owner = pwd.getpwnam("nobody")
            uid, gid = owner.pw_uid, owner.pw_gid
            os.chown(root, uid, gid)
        cluster = cls(bindir, root, free_port(), uid, gid)
        try:
            cluster._run("initdb", "-D", str(cluster.data), "-U", "postgres", "-A", "trust", "-E", "UTF8",
                         "--no-sync", "--locale=C")
            cluster.socket_dir.mkdir()
            if uid is not None:
                os.chown(cluster.socket_dir, uid, gid if gid is not None else -1)
            (cluster.data / "pg_hba.conf").write_text(
                "local all all trust\n"
                f"host all {READER_ROLE} 127.0.0.1/32 scram-sha-256\n"
                "host all all 127.0.0.1/32 trust\n", encoding="utf-8")
            for attempt in range(3):
                try:
                    cluster._pg_ctl_start()
                    break
                except subprocess.CalledProcessError:
                    if attempt == 2:
                        raise
                    cluster.port = free_port()  # someone took the port between the probe and the start
            cluster._bootstrap()
        except BaseException:
            cluster.stop()
            raise
        return cluster

    def _pg_ctl_start(self) -> None:
        options = (f"-p {self.port} -k {self.socket_dir} -c listen_addresses=127.0.0.1 -c fsync=off "
                   "-c synchronous_commit=off -c full_page_writes=off -c max_connections=30 "
                   "-c shared_buffers=16MB -c password_encryption=scram-sha-256")
        self._run("pg_ctl", "-D", str(self.data), "-l", str(self.root / "server.log"), "-w", "-t", "30",
                  "-o", options, "start")

    def _bootstrap(self) -> None:
        import psycopg

        with psycopg.connect(self.dsn(), autocommit=True) as conn:
            conn.execute(f"CREATE ROLE {READER_ROLE} LOGIN PASSWORD '{READER_PASSWORD}'")

    def _run(self, tool: str, *args: str) -> None:
        kwargs = {"user": self.uid, "group": self.gid, "extra_groups": []} if self.uid is not None else {}
        subprocess.run([str(self.bindir / tool), *args], check=True, capture_output=True, cwd=self.root,
                       timeout=120, **kwargs)

    def create_database(self, name: str) -> str:
        """A fresh database with Mattermost's tables, readable by the reader role; returns its DSN."""
        import psycopg

        with psycopg.connect(self.dsn(), autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}"')
            conn.execute(f'CREATE DATABASE "{name}"')
        with psycopg.connect(self.dsn(name), autocommit=True) as conn:
            conn.execute(MATTERMOST_SCHEMA)
            conn.execute(f"GRANT SELECT ON users, bots TO {READER_ROLE}")
        return self.dsn(name)

    def stop(self) -> None:
        if (self.data / "postmaster.pid").exists():
            with contextlib.suppress(subprocess.SubprocessError, OSError):
                self._run("pg_ctl", "-D", str(self.data), "-m", "immediate", "-w", "-t", "30", "stop")
        shutil.rmtree(self.root, ignore_errors=True)


def insert_mattermost_users(dsn: str, users: Iterable[dict]) -> int:
    """Store API-shaped users (``tenant.mm_user``) as Mattermost would: COPY into users, bots rows for bots.

    ``auth_data`` None is NULL and '' stays ''; ``auth_service`` '' is an email account.
    """
    import psycopg
    from psycopg.types.json import Jsonb

    count = 0
    bots: list[tuple] = []
    with psycopg.connect(dsn) as conn:
        with conn.cursor() as cur, cur.copy(f"COPY users ({', '.join(USER_COLUMNS)}) FROM STDIN") as copy:
            for user in users:
                created = user.get("create_at", 1_600_000_000_000 + count)
                copy.write_row((
                    user["id"], created, created, user.get("delete_at", 0), user["username"], "",
                    user.get("auth_data"), user.get("auth_service", ""), user.get("email"), True, "",
                    user.get("first_name", ""), user.get("last_name", ""), user.get("roles", "system_user"), False,
                    Jsonb({}), Jsonb({"email": "true"}), created, 0, 0, "en", False, "", "",
                    Jsonb({"useAutomaticTimezone": "true"}), None,
                ))
                if user.get("is_bot"):
                    bots.append((user["id"], "a bot", "plugin", 0, created, created, 0))
                count += 1
        if bots:
            with conn.cursor() as cur:
                cur.executemany("INSERT INTO bots VALUES (%s, %s, %s, %s, %s, %s, %s)", bots)
    return count


@pytest.fixture(scope="session")
def pg_cluster() -> Iterator[PgCluster]:
    """One throwaway PostgreSQL cluster for the session (import this fixture into a test module)."""
    bindir = find_bindir()
    if bindir is None:
        pytest.skip("PostgreSQL server binaries (initdb, pg_ctl) are not installed: apt-get install postgresql "
                    "(or set RECONCILE_TEST_PGBIN)")
    cluster = PgCluster.start(bindir)
    try:
        yield cluster
    finally:
        cluster.stop()
