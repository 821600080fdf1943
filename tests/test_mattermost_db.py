"""The live Mattermost database source against a real throwaway PostgreSQL (tests/pg_server.py).

What is proven on the server itself rather than assumed: rows arrive through a server-side
cursor in batches (the session is seen mid-pull doing ``FETCH FORWARD n``, and memory stays
bounded), the session cannot write, and every bad DSN fails with a message that names the
server but not the password. Records are compared with the API source's for the same users.
"""

from __future__ import annotations

import itertools
import re
import tracemalloc
from collections.abc import Callable, Iterator

import psycopg
import pytest
from fake_mattermost import ADMIN_TOKEN, FakeMattermost, sample_users
from pg_server import (  # noqa: F401 (pg_cluster is a fixture)
    READER_PASSWORD,
    READER_ROLE,
    PgCluster,
    free_port,
    insert_mattermost_users,
    pg_cluster,
)
from staged import staged
from tenant import mm_id, mm_user

from reconcile.errors import ExitCode
from reconcile.sources import mattermost_db
from reconcile.sources.mattermost import RAW_MM_USER_COLUMNS, raw_mm_user_rows
from reconcile.sources.mattermost_api import MattermostApi
from reconcile.sources.mattermost_db import (
    CURSOR_NAME,
    ENV_DSN,
    MattermostDbError,
    _connect,
    iter_db_users,
    mattermost_dsn_from,
)
from reconcile.store import load_rows

API_FIELDS = ("id", "username", "email", "auth_service", "auth_data", "delete_at", "is_bot")
_counter = itertools.count()


@pytest.fixture
def new_db(pg_cluster: PgCluster, request: pytest.FixtureRequest) -> Callable[[], str]:  # noqa: F811
    """Make a fresh database with Mattermost's tables for this test; returns its (superuser) DSN."""

    def make() -> str:
        name = re.sub(r"[^a-z0-9_]", "_", request.node.name.lower())[:40] + f"_{next(_counter)}"
        return pg_cluster.create_database(name)

    return make


@pytest.fixture
def mm_dsn(new_db: Callable[[], str]) -> str:
    dsn = new_db()
    insert_mattermost_users(dsn, sample_users(300))
    return dsn


def sessions(admin_dsn: str, dbname: str) -> list[tuple]:
    """The reconcile sessions on this database, seen from another connection."""
    with psycopg.connect(admin_dsn, autocommit=True) as conn:
        return conn.execute("SELECT state, query, backend_xid FROM pg_stat_activity "
                            "WHERE application_name = 'reconcile' AND datname = %s", (dbname,)).fetchall()


def dbname_of(dsn: str) -> str:
    return psycopg.conninfo.conninfo_to_dict(dsn)["dbname"]


# --- streaming ------------------------------------------------------------------------------------------


def test_rows_stream_through_a_server_side_cursor_in_batches(new_db, pg_cluster):  # noqa: F811
    dsn = new_db()
    insert_mattermost_users(dsn, sample_users(3000))
    batches: list[int] = []
    users = iter_db_users(dsn, fetch_size=1000, on_page=batches.append)

    first = next(users)
    assert first["_where"] == "mattermost db: row 1"
    [(state, query, xid)] = sessions(pg_cluster.dsn(), dbname_of(dsn))
    assert state == "idle in transaction"  # parked between fetches, one snapshot held
    assert re.match(rf'FETCH FORWARD 1000 FROM "?{CURSOR_NAME}"?', query)
    assert xid is None  # a read-only transaction never gets a transaction id
    rest = list(users)
    assert 1 + len(rest) == 3000
    assert batches == [1000, 1000, 1000]
    assert rest[-1]["_where"] == "mattermost db: row 3000"
    assert sessions(pg_cluster.dsn(), dbname_of(dsn)) == []  # closed when exhausted


def test_memory_is_bounded_by_the_batch_not_the_table(new_db):
    dsn = new_db()
    insert_mattermost_users(dsn, sample_users(10_000))

    def peak(fetch_size: int) -> int:
        tracemalloc.start()
        try:
            count = sum(1 for _ in iter_db_users(dsn, fetch_size=fetch_size))
            return tracemalloc.get_traced_memory()[1] if count == 10_000 else -1
        finally:
            tracemalloc.stop()

    streamed, whole_table = peak(250), peak(10_000)
    assert 0 < streamed < whole_table / 5


def test_closing_early_closes_the_session(mm_dsn, pg_cluster):  # noqa: F811
    users = iter_db_users(mm_dsn, fetch_size=50)
    next(users)
    assert len(sessions(pg_cluster.dsn(), dbname_of(mm_dsn))) == 1
    users.close()
    assert sessions(pg_cluster.dsn(), dbname_of(mm_dsn)) == []


# --- what the records hold ---------------------------------------------------------------------------------


def test_bots_deactivated_accounts_and_unset_auth_data(new_db):
    dsn = new_db()
    insert_mattermost_users(dsn, [
        mm_user(1, "saml1"),
        mm_user(2, "mailnull", auth_service="", auth_data=None) | {"auth_data": None},
        mm_user(3, "mailempty", auth_service="", auth_data=""),
        mm_user(4, "gone", delete_at=1_700_000_000_123),
        mm_user(5, "helperbot", auth_service="", is_bot=True) | {"auth_data": None},
    ])
    with psycopg.connect(dsn, autocommit=True) as conn:  # authservice NULL happens in old databases
        conn.execute("INSERT INTO users (id, username, email, authservice, authdata, deleteat) "
                     "VALUES (%s, 'legacy', 'legacy@contoso.com', NULL, NULL, NULL)", (mm_id(6),))
    by_name = {u["username"]: u for u in iter_db_users(dsn)}
    assert by_name["saml1"]["auth_service"] == "saml" and by_name["saml1"]["auth_data"] == mm_user(1)["auth_data"]
    assert by_name["mailnull"]["auth_data"] is None
    assert by_name["mailempty"]["auth_data"] == ""  # '' stays '', NULL stays None
    assert by_name["gone"]["delete_at"] == 1_700_000_000_123
    assert by_name["helperbot"]["is_bot"] is True
    assert not any(u["is_bot"] for name, u in by_name.items() if name != "helperbot")
    assert by_name["legacy"] | {"_where": None} == {
        "id": mm_id(6), "username": "legacy", "email": "legacy@contoso.com", "auth_service": "", "auth_data": None,
        "delete_at": 0, "is_bot": False, "_where": None}


def test_database_records_equal_the_api_records_of_the_same_users(new_db):
    users = sample_users(1000)
    dsn = new_db()
    insert_mattermost_users(dsn, users)
    with FakeMattermost(users=users) as fake, MattermostApi(fake.url, ADMIN_TOKEN) as api:
        from_api = sorted(api.users(), key=lambda u: u["id"])
    from_db = sorted(iter_db_users(dsn, fetch_size=128), key=lambda u: u["id"])

    def shape(record: dict) -> tuple:  # an omitted key is what the API sends for NULL / false
        return tuple(bool(record.get(k)) if k == "is_bot" else record.get(k) for k in API_FIELDS)

    assert [shape(r) for r in from_db] == [shape(r) for r in from_api]
    assert all(set(r) == {*API_FIELDS, "_where"} for r in from_db)
    # and staging (what every rule reads) cannot tell them apart, apart from the record's location
    def rows(records: list[dict]) -> list[tuple]:
        got = staged(lambda con: load_rows(con, "raw_mm_users", RAW_MM_USER_COLUMNS, raw_mm_user_rows(records)),
                     "mm_users")["mm_users"]
        return sorted(tuple(v for k, v in row.items() if k != "source_ref") for row in got)

    assert rows(from_db) == rows(from_api) and len(rows(from_db)) == len(users)


# --- the session cannot write -----------------------------------------------------------------------------


def test_the_session_is_read_only(mm_dsn):
    with _connect(mm_dsn) as conn:
        assert conn.read_only is True
        assert conn.execute("SHOW transaction_read_only").fetchone() == ("on",)
        with pytest.raises(psycopg.errors.ReadOnlySqlTransaction):
            conn.execute("UPDATE users SET authdata = 'x' WHERE id = %s", (mm_id(1),))
        conn.rollback()
        with pytest.raises(psycopg.errors.ReadOnlySqlTransaction):  # every new transaction too
            conn.execute("CREATE TABLE scratch (x int)")
        conn.rollback()
    with psycopg.connect(mm_dsn) as check:
        assert check.execute("SELECT authdata FROM users WHERE id = %s", (mm_id(1),)).fetchone() != ("x",)


def test_the_streaming_session_itself_is_read_only(mm_dsn, monkeypatch):
    opened: list[psycopg.Connection] = []
    real_open = mattermost_db._open

    def spy(*args, **kwargs):
        conn = real_open(*args, **kwargs)
        opened.append(conn)
        return conn

    monkeypatch.setattr(mattermost_db, "_open", spy)
    users = iter_db_users(mm_dsn, fetch_size=10)
    next(users)
    [conn] = opened
    assert conn.execute("SHOW transaction_read_only").fetchone() == ("on",)  # inside the pull's transaction
    with pytest.raises(psycopg.errors.ReadOnlySqlTransaction):
        conn.execute("DELETE FROM bots")
    with pytest.raises(MattermostDbError, match="failed after 10 rows") as caught:
        list(users)  # the aborted transaction ends the pull, saying how far it got
    assert caught.value.rows_read == 10


# --- bad connection strings and databases -------------------------------------------------------------------


def test_a_closed_port_names_the_server_but_not_the_password():
    closed = free_port()  # bound and released: nothing listens there
    users = iter_db_users(f"host=127.0.0.1 port={closed} dbname=mattermost user=mm password=s3cretpass")
    with pytest.raises(MattermostDbError) as caught:
        next(users)
    message = str(caught.value)
    assert message.startswith("cannot connect to the Mattermost database (host=127.0.0.1 port=")
    assert "dbname=mattermost user=mm" in message and "s3cretpass" not in message
    assert caught.value.exit_code == ExitCode.INPUT_ERROR


def test_a_wrong_password_is_refused_without_echoing_it(mm_dsn, pg_cluster):  # noqa: F811
    db = dbname_of(mm_dsn)
    good = pg_cluster.dsn(db, user=READER_ROLE, password=READER_PASSWORD)
    assert sum(1 for _ in iter_db_users(good)) == 300  # the reader role with its password works
    with pytest.raises(MattermostDbError, match="password authentication failed") as caught:
        next(iter_db_users(pg_cluster.dsn(db, user=READER_ROLE, password="Wrong-Guess-99")))
    assert "Wrong-Guess-99" not in str(caught.value) and READER_PASSWORD not in str(caught.value)


@pytest.mark.parametrize("dsn", [
    "host=127.0.0.1 password=ab cdefgh dbname=mattermost",  # libpq: missing "=" after "cdefgh"
    "host=127.0.0.1 password='unterminated-secret dbname=x",
    "postgresql://mm:p%40ss-word@127.0.0.1:5432/mattermost?bogus=1",
    "host=127.0.0.1 secretword=p4ss",
])
def test_an_unparsable_dsn_is_refused_without_its_password(dsn):
    with pytest.raises(MattermostDbError, match="not a valid PostgreSQL connection string") as caught:
        iter_db_users(dsn)  # checked before any connection is tried
    message = str(caught.value)
    for secret in ("cdefgh", "unterminated-secret", "p@ss-word", "p%40ss-word", "p4ss"):
        assert secret not in message


def test_a_uri_with_a_password_and_a_missing_database(pg_cluster):  # noqa: F811
    with pytest.raises(MattermostDbError, match='database "nope" does not exist') as caught:
        next(iter_db_users(f"postgresql://postgres:s3cret-Pass@127.0.0.1:{pg_cluster.port}/nope"))
    assert "s3cret-Pass" not in str(caught.value)
    assert "dbname=nope user=postgres" in str(caught.value)


def test_a_database_without_mattermost_tables(pg_cluster):  # noqa: F811
    with psycopg.connect(pg_cluster.dsn(), autocommit=True) as conn:
        conn.execute("DROP DATABASE IF EXISTS not_mattermost")
        conn.execute("CREATE DATABASE not_mattermost")
    with pytest.raises(MattermostDbError, match="does not look like Mattermost's database") as caught:
        next(iter_db_users(pg_cluster.dsn("not_mattermost")))
    assert 'relation "users" does not exist' in str(caught.value)


def test_a_role_without_select_is_told_what_to_grant(mm_dsn, pg_cluster):  # noqa: F811
    with psycopg.connect(mm_dsn, autocommit=True) as conn:
        conn.execute(f"REVOKE SELECT ON bots FROM {READER_ROLE}")
    reader = pg_cluster.dsn(dbname_of(mm_dsn), user=READER_ROLE, password=READER_PASSWORD)
    with pytest.raises(MattermostDbError, match=f"GRANT SELECT ON users, bots TO {READER_ROLE}"):
        next(iter_db_users(reader))


# --- where the DSN comes from ---------------------------------------------------------------------------------


def test_dsn_from_the_option_then_the_environment():
    env = {ENV_DSN: "host=db.example.com dbname=mattermost user=ro password=from-env"}
    assert mattermost_dsn_from("host=other dbname=mm user=ro", env) == "host=other dbname=mm user=ro"
    assert mattermost_dsn_from(None, env) == env[ENV_DSN]
    assert mattermost_dsn_from("  ", env) == env[ENV_DSN]
    with pytest.raises(MattermostDbError, match=f"--mattermost-dsn, {ENV_DSN}"):
        mattermost_dsn_from(None, {})


def test_a_password_on_the_command_line_is_refused():
    for dsn in ("host=db dbname=mm user=ro password=on-argv", "postgresql://ro:on-argv@db/mm"):
        with pytest.raises(MattermostDbError, match="PGPASSWORD") as caught:
            mattermost_dsn_from(dsn, {})
        assert "on-argv" not in str(caught.value)


def test_a_malformed_dsn_in_the_environment_names_the_variable():
    with pytest.raises(MattermostDbError, match=ENV_DSN) as caught:
        mattermost_dsn_from(None, {ENV_DSN: "host=db password=hunter22 oops"})
    assert "hunter22" not in str(caught.value)


def test_fetch_size_must_be_positive(mm_dsn):
    with pytest.raises(ValueError):
        iter_db_users(mm_dsn, fetch_size=0)


@pytest.fixture(autouse=True)
def _no_leftover_sessions(request: pytest.FixtureRequest) -> Iterator[None]:
    """Every test on the cluster leaves no reconcile session behind (a generator that forgot to close would)."""
    yield
    if "pg_cluster" not in request.fixturenames:
        return
    cluster: PgCluster = request.getfixturevalue("pg_cluster")
    with psycopg.connect(cluster.dsn(), autocommit=True) as conn:
        left = conn.execute("SELECT datname, state, query FROM pg_stat_activity "
                            "WHERE application_name = 'reconcile'").fetchall()
    assert left == []
