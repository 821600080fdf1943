"""The live Mattermost API source: the real httpx client over HTTP against the local fake Mattermost.

Nothing in the client is mocked; what the tests control is the server (tests/fake_mattermost.py).
The module's ``_sleep`` (and ``_now``) are replaced only where a test proves how long the client
would wait (seconds or more) instead of sitting through it; the short rate-limit test really waits.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from email.utils import parsedate_to_datetime

import httpx
import pytest
from fake_mattermost import ADMIN_ACCOUNT, ADMIN_TOKEN, FAKE_SETTING, USER_TOKEN, FakeMattermost, sample_users
from staged import staged
from tenant import mm_user

from reconcile.errors import ExitCode
from reconcile.sources import mattermost_api
from reconcile.sources.mattermost import RAW_MM_USER_COLUMNS, raw_mm_user_rows
from reconcile.sources.mattermost_api import (
    ENV_TOKEN,
    ENV_TOKEN_FILE,
    MattermostApi,
    MattermostAuthError,
    MattermostConfigError,
    MattermostSourceError,
    mattermost_token_from_env,
)
from reconcile.store import load_rows

API_FIELDS = ("id", "username", "email", "auth_service", "auth_data", "delete_at", "is_bot")


@pytest.fixture
def fake() -> Iterator[FakeMattermost]:
    with FakeMattermost(users=sample_users(1000)) as server:
        yield server


@pytest.fixture
def connect(fake: FakeMattermost) -> Iterator[Callable[..., MattermostApi]]:
    """MattermostApi factory pointed at the fake, closed after the test."""
    opened: list[MattermostApi] = []

    def make(token: str = ADMIN_TOKEN, **kwargs) -> MattermostApi:
        api = MattermostApi(fake.url, token, **kwargs)
        opened.append(api)
        return api

    yield make
    for api in opened:
        api.close()


@pytest.fixture
def waits(monkeypatch: pytest.MonkeyPatch) -> list[float]:
    """Record the waits the client asks for instead of sleeping them."""
    recorded: list[float] = []
    monkeypatch.setattr(mattermost_api, "_sleep", recorded.append)
    return recorded


def projected(record: dict) -> tuple:
    """The fields staging reads, with an omitted key read as the API means it (NULL / false)."""
    return tuple(record.get(k) if k != "is_bot" else bool(record.get(k)) for k in API_FIELDS)


# --- paging ----------------------------------------------------------------------------------------


def test_every_page_until_an_empty_one_with_deactivated_users_and_bots(fake, connect):
    pages: list[int] = []
    records = list(connect(on_page=pages.append).users())

    assert len(records) == 1000
    assert len({r["id"] for r in records}) == 1000
    assert pages == [200] * 5
    calls = fake.requests_to("/users")
    assert [r.query["page"] for r in calls] == ["0", "1", "2", "3", "4", "5"]  # 5 full pages + the empty one
    assert {r.query["per_page"] for r in calls} == {"200"}
    assert all(r.query.get("active") is None and r.query.get("inactive") is None for r in calls)
    assert all(r.headers["authorization"] == f"Bearer {ADMIN_TOKEN}" for r in fake.requests)
    assert len(fake.requests_to("/users/me")) == 1  # users() proves the token is an admin's first
    assert sum(1 for r in records if r["delete_at"]) == sum(1 for u in fake.users if u["delete_at"]) > 0
    assert sum(1 for r in records if r.get("is_bot")) == 20
    assert records[0]["_where"] == "mattermost api: page 0"
    assert records[-1]["_where"] == "mattermost api: page 4"


def test_records_are_what_the_export_files_hold_so_rules_work_unchanged(fake, connect):
    records = list(connect().users())
    by_id = {u["id"]: u for u in fake.users}
    assert sorted(projected(r) for r in records) == sorted(projected(u) for u in fake.users)
    # staging turns both into the same rows (only the record's location differs)
    api_rows = _staged_without_place(records)
    file_rows = _staged_without_place(list(by_id.values()))
    assert api_rows == file_rows and len(api_rows) == len(fake.users)
    # an SSO account with NULL auth_data among bound ones is kept, field omitted as Mattermost does
    never_bound = next(r for r in records if r["id"] == mm_user(7)["id"])
    assert never_bound["auth_service"] == "saml" and "auth_data" not in never_bound


def test_per_page_is_capped_at_200_by_the_server_and_refused_above_it_by_the_client(fake, connect):
    answer = httpx.get(f"{fake.url}/api/v4/users", params={"page": 0, "per_page": 500},
                       headers={"Authorization": f"Bearer {ADMIN_TOKEN}"})
    assert len(answer.json()) == 200
    with pytest.raises(ValueError, match="200"):
        connect(per_page=500)
    records = list(connect(per_page=150).users())
    assert len(records) == 1000
    calls = [r for r in fake.requests_to("/users") if r.query["per_page"] == "150"]
    assert len(calls) == 8  # ceil(1000 / 150) = 7 pages + the empty one


def test_a_user_created_mid_run_does_not_appear_twice(fake, connect):
    fake.users = sample_users(400)
    original = {u["id"] for u in fake.users}

    def add_first_user(page: int) -> None:
        if page == 1 and len(fake.users) == 400:  # sorts first: every later user shifts one place
            fake.users.append(mm_user(9999, "aaaa-new-hire"))

    fake.before_users_page = add_first_user
    ids = [r["id"] for r in connect().users()]
    assert len(ids) == len(set(ids)) == 400
    assert set(ids) == original


def test_a_server_that_ignores_the_page_parameter_stops_instead_of_looping(fake, connect):
    fake.ignore_page = True
    with pytest.raises(MattermostSourceError, match="page parameter"):
        list(connect().users())
    assert len(fake.requests_to("/users")) == 2


# --- tokens that cannot see auth_data ----------------------------------------------------------------


def test_the_fake_sanitises_like_mattermost_for_a_non_admin(fake):
    answer = httpx.get(f"{fake.url}/api/v4/users", params={"per_page": 5},
                       headers={"Authorization": f"Bearer {USER_TOKEN}"}).json()
    assert len(answer) == 5
    assert all(u["auth_data"] == "" and u["auth_service"] == "" for u in answer)


def test_a_non_admin_token_stops_before_any_user_is_read(fake, connect):
    api = connect(USER_TOKEN)
    with pytest.raises(MattermostAuthError) as caught:
        api.check_admin()
    message = str(caught.value)
    assert "'alice'" in message and "system_user" in message
    assert "manage_system" in message and "auth_data" in message and ENV_TOKEN in message
    assert caught.value.exit_code == ExitCode.INPUT_ERROR
    with pytest.raises(MattermostAuthError):
        next(connect(USER_TOKEN).users())
    assert fake.requests_to("/users") == []


def test_hidden_auth_data_stops_even_when_the_roles_look_admin(fake, connect):
    fake.hide_auth_data = True
    api = connect()
    api.check_admin()  # roles say system_admin
    seen: list[dict] = []
    with pytest.raises(MattermostAuthError, match="hiding auth_data") as caught:
        seen.extend(api.users())
    assert seen == []  # not one user reported, let alone as unbound
    assert "without the field at all" in str(caught.value)
    assert len(fake.requests_to("/users")) == 1


def test_a_wrong_token_is_refused_at_once_and_never_printed(fake, connect):
    wrong = "wrongwrongwrongwrongwrong1"
    with pytest.raises(MattermostAuthError) as caught:
        list(connect(wrong).users())
    message = str(caught.value)
    assert "HTTP 401" in message and "api.context.session_expired.app_error" in message
    assert ENV_TOKEN in message
    assert wrong not in message  # the server echoes token=... in detailed_error
    assert len(fake.requests) == 1


def test_config_with_masked_secrets_and_the_client_license(fake, connect):
    fake.config = {"SqlSettings": {"DataSource": "postgres://mmuser:pw@db/mattermost", "DataSourceReplicas": ["x"]},
                   "LdapSettings": {"BindPassword": "secret", "IdAttribute": "msDS-aadObjectId"},
                   "IntuneSettings": {"Enable": True, "AuthService": "saml"}}
    api = connect()
    config = api.config()
    assert config["SqlSettings"] == {"DataSource": FAKE_SETTING, "DataSourceReplicas": [FAKE_SETTING]}
    assert config["LdapSettings"] == {"BindPassword": FAKE_SETTING, "IdAttribute": "msDS-aadObjectId"}
    assert config["IntuneSettings"]["AuthService"] == "saml"
    license_ = api.license()
    assert license_["SkuShortName"] == "advanced" and license_["IsLicensed"] == "true"
    assert fake.requests_to("/license/client")[0].query == {"format": "old"}
    with pytest.raises(MattermostAuthError, match="HTTP 403"):
        connect(USER_TOKEN).config()


# --- rate limiting and failures ----------------------------------------------------------------------


def test_429_then_success_really_waits_what_the_server_asks(fake, connect):
    fake.rate_limit(page=1, times=2, retry_after="0.05", reset="0.05")
    records = list(connect().users())
    assert len(records) == 1000
    page1 = [r for r in fake.requests_to("/users") if r.query["page"] == "1"]
    assert [r.status for r in page1] == [429, 429, 200]
    assert page1[1].at - page1[0].at >= 0.05 and page1[2].at - page1[1].at >= 0.05


@pytest.mark.parametrize(("retry_after", "reset", "expected"), [
    ("7", None, 7.0),                  # Retry-After alone
    (None, "4", 4.0),                  # Mattermost's X-Ratelimit-Reset: seconds to wait
    (None, "1800000030", 30.0),        # a reset sent as a Unix time
    ("2", "9", 2.0),                   # Retry-After (next request) wins over the full reset
    ("Thu, 15 Jan 2027 08:00:10 GMT", None, 10.0),  # an HTTP date
])
def test_429_wait_comes_from_the_headers(fake, connect, waits, monkeypatch, retry_after, reset, expected):
    now = 1_800_000_000.0
    if retry_after and retry_after.endswith("GMT"):
        now = parsedate_to_datetime(retry_after).timestamp() - 10
    monkeypatch.setattr(mattermost_api, "_now", lambda: now)
    fake.rate_limit(page=0, times=1, retry_after=retry_after, reset=reset)
    assert len(list(connect().users())) == 1000
    assert waits == [pytest.approx(expected)]


def test_429_without_headers_backs_off(fake, connect, waits):
    fake.rate_limit(page=2, times=3, retry_after=None, reset=None)
    assert len(list(connect().users())) == 1000
    assert waits == [1.0, 2.0, 4.0]


def test_a_wait_longer_than_allowed_fails_the_page_without_sleeping(fake, connect, waits):
    fake.rate_limit(page=0, times=1, retry_after="600", reset="600")
    with pytest.raises(MattermostSourceError, match="asking to wait 600 s") as caught:
        list(connect(max_wait=120).users())
    assert caught.value.status == 429 and "RateLimitSettings" in str(caught.value)
    assert waits == []


def test_rate_limited_beyond_the_retry_budget_fails_the_page(fake, connect, waits):
    fake.rate_limit(page=3, times=None, retry_after="1", reset="1")
    got: list[dict] = []
    with pytest.raises(MattermostSourceError, match="still answered HTTP 429 after 4 attempts"):
        got.extend(connect(max_retries=3).users())
    assert waits == [1.0, 1.0, 1.0]
    assert len(got) == 600  # pages 0-2 were delivered; the caller marks the run partial


def test_gateway_errors_are_retried_with_backoff(fake, connect, waits):
    fake.fail("/users", page=0, status=503, times=1)
    fake.fail("/users", page=0, status=502, times=1)
    fake.fail("/users/me", status=504, times=1)
    assert len(list(connect().users())) == 1000
    assert waits == [1.0, 1.0, 2.0]


def test_a_permanent_500_fails_at_once_naming_the_url_and_status(fake, connect, waits):
    fake.fail("/users", page=2, status=500, times=None)
    got: list[dict] = []
    with pytest.raises(MattermostSourceError) as caught:
        got.extend(connect().users())
    message = str(caught.value)
    assert f"{fake.url}/api/v4/users?page=2&per_page=200" in message
    assert "HTTP 500" in message and "app.fake.injected.app_error" in message
    assert caught.value.status == 500
    assert len(got) == 400 and waits == []
    assert [r.status for r in fake.requests_to("/users") if r.query["page"] == "2"] == [500]


def test_an_unreachable_server_is_retried_then_fails(waits):
    with FakeMattermost() as gone:
        url = gone.url
    with MattermostApi(url, ADMIN_TOKEN, max_retries=2) as api, pytest.raises(MattermostSourceError) as caught:
        api.check_admin()
    assert "failed after 3 attempts" in str(caught.value) and "ConnectError" in str(caught.value)
    assert waits == [1.0, 2.0]


# --- secrets, configuration ----------------------------------------------------------------------------


def test_the_token_never_reaches_repr_messages_or_logs(fake, connect, waits, caplog):
    caplog.set_level(logging.DEBUG)
    fake.fail("/users", page=1, status=500, times=None,
              body={"id": "app.user.get.app_error", "message": f"token {ADMIN_TOKEN} is not allowed"})
    fake.rate_limit(page=0, times=1)
    api = connect()
    with pytest.raises(MattermostSourceError) as caught:
        list(api.users())
    assert ADMIN_TOKEN not in str(caught.value) and "***" in str(caught.value)
    assert ADMIN_TOKEN not in repr(api) and "hidden" in repr(api)
    assert ADMIN_TOKEN not in caplog.text
    assert "HTTP 429" in caplog.text  # the retry was logged


def test_token_from_the_environment_or_a_file(tmp_path):
    assert mattermost_token_from_env({ENV_TOKEN: f"  {ADMIN_TOKEN}\n"}) == ADMIN_TOKEN
    assert mattermost_token_from_env({ENV_TOKEN: f"Bearer {ADMIN_TOKEN}"}) == ADMIN_TOKEN
    token_file = tmp_path / "mm.token"
    token_file.write_text(ADMIN_TOKEN + "\n", encoding="utf-8")
    assert mattermost_token_from_env({ENV_TOKEN_FILE: str(token_file), ENV_TOKEN: " "}) == ADMIN_TOKEN


@pytest.mark.parametrize(("environ", "expected"), [
    ({}, f"{ENV_TOKEN}, {ENV_TOKEN_FILE}"),
    ({ENV_TOKEN: ADMIN_TOKEN, ENV_TOKEN_FILE: "/x"}, "both"),
    ({ENV_TOKEN_FILE: "/nonexistent/mm.token"}, "cannot be read"),
    ({ENV_TOKEN: "two words" + ADMIN_TOKEN}, "does not look like"),
])
def test_token_configuration_errors_name_the_variables(environ, expected):
    with pytest.raises(MattermostConfigError, match=expected) as caught:
        mattermost_token_from_env(environ)
    assert ADMIN_TOKEN not in str(caught.value)
    assert caught.value.exit_code == ExitCode.INPUT_ERROR


def test_an_empty_token_file_is_refused(tmp_path):
    empty = tmp_path / "empty.token"
    empty.write_text("\n", encoding="utf-8")
    with pytest.raises(MattermostConfigError, match="empty"):
        mattermost_token_from_env({ENV_TOKEN_FILE: str(empty)})


def test_server_urls(fake):
    with MattermostApi(f"{fake.url}/api/v4/", ADMIN_TOKEN) as api:
        assert api.base_url == fake.url
        api.check_admin()
        assert api.me == {"id": ADMIN_ACCOUNT["id"], "username": "sysadmin", "roles": "system_admin system_user"}
    with MattermostApi("https://chat.contoso.com/mattermost", ADMIN_TOKEN) as api:
        assert api.base_url == "https://chat.contoso.com/mattermost"
    for bad in ("ftp://chat.contoso.com", "chat.contoso.com", "https://chat.contoso.com/?x=1"):
        with pytest.raises(MattermostConfigError, match=r"expected e\.g\."):
            MattermostApi(bad, ADMIN_TOKEN)
    with pytest.raises(MattermostConfigError, match="user name or password") as caught:
        MattermostApi("https://admin:hunter2@chat.contoso.com", ADMIN_TOKEN)
    assert "hunter2" not in str(caught.value)


def test_an_injected_client_is_used_and_left_open(fake):
    seen: list[str] = []
    client = httpx.Client(event_hooks={"request": [lambda request: seen.append(request.url.path)]})
    with MattermostApi(fake.url, ADMIN_TOKEN, client=client) as api:
        api.check_admin()
    assert seen == ["/api/v4/users/me"]
    assert not client.is_closed
    client.close()



def _staged_without_place(records: list[dict]) -> list[tuple]:
    rows = staged(lambda con: load_rows(con, "raw_mm_users", RAW_MM_USER_COLUMNS, raw_mm_user_rows(records)),
                  "mm_users")["mm_users"]
    return sorted(tuple(v for k, v in row.items() if k != "source_ref") for row in rows)
