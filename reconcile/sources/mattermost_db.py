"""Live Mattermost users read straight from its PostgreSQL database (psycopg 3), read-only and streamed.

For large servers (the API's 200-user pages and rate limit make a million accounts slow) and for
when the API is not reachable. Yields the same API-shaped dicts as ``mattermost_api`` and the
``mmctl`` export reader, so staging and every rule work unchanged; config and license still come
from the API or from files.

Why it is built this way:

* The session cannot write: ``conn.read_only = True`` makes psycopg open every transaction with
  ``BEGIN READ ONLY``, so even a bug here cannot touch a production database. That is set per
  transaction rather than with a startup ``options=-c default_transaction_read_only=on`` or a
  session ``SET``, because Mattermost databases often sit behind PgBouncer, which refuses unknown
  startup parameters and, in transaction pooling, would leak a session ``SET`` to other clients.
  A dedicated role with only ``SELECT`` on ``users`` and ``bots`` is still the right account.
* A server-side (named) cursor fetches ``fetch_size`` rows per round trip, so a million accounts
  never sit in memory at once (ldapdomaindump #3, #23). It holds one read-only snapshot open for
  the duration of the pull; against a busy primary, point the DSN at a replica.
* ``users`` columns are Mattermost's (all lower-case in its PostgreSQL schema): ``authservice`` is
  '' for email accounts, ``authdata`` NULL or '' when unset (kept apart: '' stays '', NULL is None).
  A bot is a user with a ``bots`` row (``bots.userid``), as the API's ``is_bot`` says.
* Every error (bad DSN, unreachable server, wrong password, missing table or privilege) is a
  ``MattermostDbError`` naming the server without the password: the DSN is shown re-built from its
  parsed parts minus every ``*password`` key, and libpq's own text is scrubbed, since its parse
  errors quote fragments of the string. A password on the command line is refused outright.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable, Iterator, Mapping
from typing import TYPE_CHECKING, Any
from urllib.parse import unquote

from reconcile.errors import ExitCode, ReconcileError

if TYPE_CHECKING:
    import psycopg

log = logging.getLogger(__name__)

ENV_DSN = "RECONCILE_MATTERMOST_DSN"
OPTION_DSN = "--mattermost-dsn"
CURSOR_NAME = "reconcile_mattermost_users"
USERS_QUERY = """
SELECT u.id, u.username, u.email, u.authservice, u.authdata, u.deleteat, b.userid IS NOT NULL AS is_bot
FROM users u
LEFT JOIN bots b ON b.userid = u.id
ORDER BY u.id
"""

# Fragments of a connection string that are passwords, for scrubbing text libpq could not parse.
_PASSWORD_PATTERNS = (
    re.compile(r"password\s*=\s*'((?:[^'\\]|\\.)*)'?", re.IGNORECASE),
    re.compile(r"password\s*=\s*([^\s'&]+)", re.IGNORECASE),
    re.compile(r"://[^/@\s:]*:([^@\s/]*)@"),
)
_QUOTED = re.compile(r'"([^"]*)"')


class MattermostDbError(ReconcileError):
    """The Mattermost database cannot be read (bad DSN, no connection, missing table or privilege).

    The message never contains the password. ``rows_read`` says how far a pull got before a
    failure mid-stream (0 when it never started), so a caller can tell "no data" from "half".
    """

    exit_code = ExitCode.INPUT_ERROR

    def __init__(self, message: str, *, rows_read: int = 0):
        super().__init__(message)
        self.rows_read = rows_read


def mattermost_dsn_from(option: str | None, environ: Mapping[str, str]) -> str:
    """The connection string: ``--mattermost-dsn``, else ``RECONCILE_MATTERMOST_DSN``; checked, not connected.

    A password inside ``--mattermost-dsn`` is refused (a command line is visible to every user of
    the machine in ``ps`` and lands in shell history): put the DSN in the variable, or the password
    in ``PGPASSWORD`` / ``~/.pgpass``, which libpq reads itself.
    """
    if option is not None and option.strip():
        dsn = option.strip()
        params = _parse_dsn(dsn, OPTION_DSN)
        if any("password" in key for key in params):
            raise MattermostDbError(f"{OPTION_DSN} carries a password, and command lines are visible to other users "
                                    f"of the machine: set {ENV_DSN} instead, or keep the password in PGPASSWORD or "
                                    "~/.pgpass (libpq reads both)")
        return dsn
    value = environ.get(ENV_DSN)
    if value is not None and value.strip():
        dsn = value.strip()
        _parse_dsn(dsn, ENV_DSN)
        return dsn
    raise MattermostDbError(f"no Mattermost database connection string: give {OPTION_DSN} or set {ENV_DSN} (e.g. "
                            "'host=db.example.com port=5432 dbname=mattermost user=reconcile_ro sslmode=require', "
                            f"password in PGPASSWORD or ~/.pgpass). Tried: {OPTION_DSN}, {ENV_DSN}")


def iter_db_users(dsn: str, *, fetch_size: int = 5000,
                  on_page: Callable[[int], None] | None = None) -> Iterator[dict]:
    """Every Mattermost user (deactivated and bots included) as an API-shaped dict, streamed.

    The DSN is checked at once (``MattermostDbError`` from this call); the connection is opened
    when iteration starts and closed when it ends or the iterator is closed. ``on_page(n)`` is
    called once per batch fetched from the server-side cursor.
    """
    if fetch_size < 1:
        raise ValueError("fetch_size must be at least 1")
    params = _parse_dsn(dsn, "the Mattermost DSN")
    return _stream(params, fetch_size, on_page)


def _stream(params: dict[str, str], fetch_size: int, on_page: Callable[[int], None] | None) -> Iterator[dict]:
    import psycopg

    shown = _shown(params)
    conn = _open(params, shown)
    rows_read = 0
    try:
        cursor = conn.cursor(name=CURSOR_NAME)
        cursor.itersize = fetch_size
        try:
            cursor.execute(USERS_QUERY)
        except (psycopg.errors.UndefinedTable, psycopg.errors.UndefinedColumn) as exc:
            raise MattermostDbError(
                f"mattermost db ({shown}): {_scrub(_first_line(exc), params)}: this does not look like Mattermost's "
                "database (expected its users and bots tables; check dbname, and search_path if Mattermost uses "
                "its own schema)") from None
        except psycopg.errors.InsufficientPrivilege as exc:
            raise MattermostDbError(
                f"mattermost db ({shown}): {_scrub(_first_line(exc), params)}: the audit needs SELECT on users "
                f"and bots (GRANT SELECT ON users, bots TO {params.get('user', 'the role')})") from None
        while True:
            rows = cursor.fetchmany(fetch_size)
            if not rows:
                break
            if on_page is not None:
                on_page(len(rows))
            for user_id, username, email, auth_service, auth_data, delete_at, is_bot in rows:
                rows_read += 1
                yield {
                    "id": user_id, "username": username, "email": email, "auth_service": auth_service or "",
                    "auth_data": auth_data, "delete_at": delete_at or 0, "is_bot": bool(is_bot),
                    "_where": f"mattermost db: row {rows_read}",
                }
        conn.rollback()  # a read-only transaction: nothing to commit
    except psycopg.Error as exc:
        raise MattermostDbError(f"mattermost db ({shown}): reading users failed after {rows_read} rows: "
                                f"{_scrub(_first_line(exc), params)}", rows_read=rows_read) from None
    finally:
        conn.close()


def _open(params: dict[str, str], shown: str) -> psycopg.Connection:
    """A connection whose every transaction is READ ONLY; errors as MattermostDbError without the password."""
    try:
        import psycopg
    except ImportError as exc:
        raise MattermostDbError(f"the Mattermost database source needs psycopg 3 (pip install 'psycopg[binary]'): "
                                f"{exc}") from None
    connect_params: dict[str, Any] = {"connect_timeout": "10", "application_name": "reconcile", **params}
    try:
        conn = psycopg.connect(**connect_params)
    except psycopg.Error as exc:
        raise MattermostDbError(f"cannot connect to the Mattermost database ({shown}): "
                                f"{_scrub(_error_text(exc), params)}") from None
    conn.read_only = True
    return conn


def _connect(dsn: str) -> psycopg.Connection:
    """The read-only connection ``iter_db_users`` uses (for tests and diagnostics); the caller closes it."""
    params = _parse_dsn(dsn, "the Mattermost DSN")
    return _open(params, _shown(params))


def _parse_dsn(dsn: str, source: str) -> dict[str, str]:
    """libpq's reading of a key=value or URI connection string; a parse error never quotes the string."""
    try:
        from psycopg import ProgrammingError
        from psycopg.conninfo import conninfo_to_dict
    except ImportError as exc:
        raise MattermostDbError(f"the Mattermost database source needs psycopg 3 (pip install 'psycopg[binary]'): "
                                f"{exc}") from None
    try:
        params = conninfo_to_dict(dsn)
    except ProgrammingError as exc:
        raise MattermostDbError(
            f"{source} is not a valid PostgreSQL connection string ({_scrub_unparsed(_first_line(exc), dsn)}); "
            "expected e.g. 'host=db.example.com port=5432 dbname=mattermost user=reconcile_ro' or "
            "'postgresql://reconcile_ro@db.example.com:5432/mattermost'") from None
    return {k: str(v) for k, v in params.items() if v is not None}


def _shown(params: Mapping[str, str]) -> str:
    """The DSN for messages: host, port, dbname, user and the rest, never a password."""
    keys = [k for k in ("host", "hostaddr", "port", "dbname", "user", "sslmode") if params.get(k)]
    keys += sorted(k for k in params if k not in keys and "password" not in k)
    return " ".join(f"{k}={params[k]}" for k in keys) or "(libpq defaults)"


def _passwords(params: Mapping[str, str]) -> list[str]:
    return [v for k, v in params.items() if "password" in k and v]


def _scrub(text: str, params: Mapping[str, str]) -> str:
    for secret in sorted(_passwords(params), key=len, reverse=True):
        if len(secret) >= 3:  # libpq does not echo passwords on connect; shorter ones would mangle the text
            text = text.replace(secret, "***")
    return text


def _scrub_unparsed(message: str, dsn: str) -> str:
    """libpq's parse error with every quoted fragment that is not an option name, and any password, removed.

    ``password=ab cd`` fails with ``missing "=" after "cd"``: a fragment of the password.
    """
    known = _known_keywords()
    message = _QUOTED.sub(lambda m: m.group(0) if m.group(1) in known or len(m.group(1)) <= 1 else '"…"', message)
    for pattern in _PASSWORD_PATTERNS:
        for match in pattern.finditer(dsn):
            for secret in {match.group(1), unquote(match.group(1))}:
                if len(secret) >= 3:
                    message = message.replace(secret, "***")
    return message


def _known_keywords() -> frozenset[str]:
    try:
        from psycopg import pq

        return frozenset(opt.keyword.decode() for opt in pq.Conninfo.get_defaults())
    except Exception:  # only used to keep harmless words in a message
        return frozenset({"host", "hostaddr", "port", "dbname", "user", "sslmode", "options", "application_name"})


def _error_text(exc: BaseException) -> str:
    """libpq's connection error, its lines joined (the first says where, the last why)."""
    lines = [line.strip() for line in str(exc).strip().splitlines() if line.strip()]
    return "; ".join(lines) if lines else type(exc).__name__


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__
