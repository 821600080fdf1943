"""``reconcile remediate apply`` and ``undo`` against the fake Mattermost over real HTTP.

Nothing in the process is mocked: the client is the real httpx ``MattermostApi``, the journal real
files in ``tmp_path``, the CLI click's runner (or a real subprocess where a test kills it). What a
test controls is the server (tests/fake_mattermost.py): its accounts, its faults, and a hook run
after each stored PUT. Plans are built with plan_file (the plan command is tested elsewhere). Every
refusal has its near miss beside it.
"""

from __future__ import annotations

import json
import os
import stat
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner, Result
from fake_mattermost import ADMIN_TOKEN, MANAGER_TOKEN, USER_TOKEN, FakeMattermost
from tenant import mm_admin, mm_user, oid

from reconcile.cli import main
from reconcile.remediate.journal import fold, read_journal, undo_path_for
from reconcile.remediate.plan_file import Change, Plan, journal_path_for, write_plan
from reconcile.sources.mattermost_api import (
    ENV_TOKEN,
    ENV_TOKEN_FILE,
    MattermostApi,
    MattermostAuthError,
    MattermostSourceError,
)

REPO = Path(__file__).resolve().parents[1]
FAST = ("--rate", "1000")


def email(n: int) -> str:
    return f"user{n}@contoso.com"


@pytest.fixture
def fake() -> Iterator[FakeMattermost]:
    """Five SAML accounts bound by email (each fixable to its objectId), one holding oid(9), the admin."""
    users = [mm_user(n, auth_data=email(n)) for n in range(1, 6)]
    users.append(mm_user(9, "holder", auth_data=oid(9)))
    users.append(mm_admin())
    with FakeMattermost(users=users) as server:
        yield server


def change(fake: FakeMattermost, n: int, after: str | None = None) -> Change:
    user = fake.user(mm_user(n)["id"])
    return Change(mattermost_user_id=user["id"], username=user["username"], auth_service=user["auth_service"],
                  auth_data_before=user["auth_data"], auth_data_after=after or oid(n), entra_object_id=after or oid(n),
                  user_principal_name=email(n), rule_id="USER_AUTHDATA_IS_EMAIL", basis="email")


def make_plan(tmp_path: Path, changes: list[Change], name: str = "PLAN.json") -> Path:
    path = tmp_path / name
    write_plan(Plan(created_at="2026-12-03T10:00:00Z", run_id="run-1", auth_service="saml", changes=changes), path)
    return path


def cli(fake: FakeMattermost, *args: str, token: str = ADMIN_TOKEN) -> Result:
    return CliRunner().invoke(main, ["remediate", *args, "--mattermost-url", fake.url],
                              env={ENV_TOKEN: token, ENV_TOKEN_FILE: ""})


def auth_data(fake: FakeMattermost, n: int) -> str | None:
    return fake.user(mm_user(n)["id"])["auth_data"]


def puts(fake: FakeMattermost) -> list[str]:
    """The account ids of every PUT the fake received, in order."""
    return [r.route.split("/")[2] for r in fake.writes()]


def journal(plan: Path) -> list[dict]:
    return [json.loads(line) for line in journal_path_for(plan).read_text().splitlines()]


# --- the fake answers as Mattermost does ---------------------------------------------------------------


def test_fake_get_user_and_put_auth_as_the_server_answers(fake):
    target = mm_user(1)["id"]
    with MattermostApi(fake.url, ADMIN_TOKEN) as api:
        assert api.user(target)["auth_data"] == email(1)
        assert api.user("nosuchusernosuchusernosuc1") is None  # 404 app.user.missing_account.const
        assert api.update_user_auth(target, oid(1), "saml") == {"auth_data": oid(1), "auth_service": "saml"}
        assert api.user(target)["auth_data"] == oid(1)
        with pytest.raises(MattermostSourceError, match=r"app\.user\.update_auth_data\.email_exists\.app_error") as dup:
            api.update_user_auth(target, oid(9), "saml")  # held by "holder": the unique constraint
        assert dup.value.status == 400
        with pytest.raises(MattermostSourceError, match=r"api\.user\.update_user_auth\.invalid_request"):
            api.update_user_auth(target, "", "saml")
        # as on the real server, an unknown id is no error on the PUT (the UPDATE matches no row)
        assert api.update_user_auth("nosuchusernosuchusernosuc1", oid(7), "saml")["auth_data"] == oid(7)
        assert all(u.get("auth_data") != oid(7) for u in fake.users)
    for token in (USER_TOKEN, MANAGER_TOKEN):  # a user manager has edit_other_users, yet is refused
        with MattermostApi(fake.url, token) as api, pytest.raises(MattermostAuthError, match="HTTP 403"):
            api.update_user_auth(target, oid(2), "saml")
    with MattermostApi(fake.url, "unknownunknownunknownunkn1") as api, pytest.raises(MattermostAuthError,
                                                                                     match="HTTP 401"):
        api.update_user_auth(target, oid(2), "saml")
    assert auth_data(fake, 1) == oid(1)


# --- dry run -------------------------------------------------------------------------------------------


def test_dry_run_reads_but_sends_no_write_and_writes_no_journal(fake, tmp_path):
    plan = make_plan(tmp_path, [change(fake, 1), change(fake, 2)])
    result = cli(fake, "apply", str(plan), *FAST)
    assert result.exit_code == 0, result.output
    assert "would change: user1" in result.stdout and "would change: user2" in result.stdout
    assert "would change 2" in result.stdout
    assert fake.writes() == []
    assert len(fake.requests_to(f"/users/{mm_user(1)['id']}")) == 1
    assert not journal_path_for(plan).exists()
    assert auth_data(fake, 1) == email(1)


def test_dry_run_exits_4_as_the_real_run_would_when_one_would_be_skipped(fake, tmp_path):
    plan = make_plan(tmp_path, [change(fake, 1), change(fake, 2)])
    fake.user(mm_user(2)["id"])["auth_data"] = "someone-else@contoso.com"
    dry = cli(fake, "apply", str(plan), *FAST)
    assert dry.exit_code == 4
    assert "changed since plan: user2" in dry.stdout and "would change: user1" in dry.stdout
    assert fake.writes() == [] and not journal_path_for(plan).exists()
    real = cli(fake, "apply", str(plan), "--yes", *FAST)
    assert real.exit_code == 4


# --- apply ---------------------------------------------------------------------------------------------


def test_apply_changes_exactly_the_planned_accounts_and_verifies_each(fake, tmp_path):
    plan = make_plan(tmp_path, [change(fake, 1), change(fake, 3)])
    result = cli(fake, "apply", str(plan), "--yes", *FAST)
    assert result.exit_code == 0, result.output
    assert auth_data(fake, 1) == oid(1) and auth_data(fake, 3) == oid(3)
    assert [auth_data(fake, n) for n in (2, 4, 5)] == [email(2), email(4), email(5)]  # near miss: not planned
    assert sorted(puts(fake)) == sorted([mm_user(1)["id"], mm_user(3)["id"]])
    assert fake.writes()[0].body == {"auth_data": oid(1), "auth_service": "saml"}
    # read, write, read again to verify
    assert [r.method for r in fake.requests if r.route.startswith(f"/users/{mm_user(1)['id']}")] == \
        ["GET", "PUT", "GET"]
    lines = journal(plan)
    assert [(line["mattermost_user_id"], line["status"]) for line in lines] == [
        (mm_user(1)["id"], "pending"), (mm_user(1)["id"], "applied"),
        (mm_user(3)["id"], "pending"), (mm_user(3)["id"], "applied")]
    assert lines[1]["before"] == email(1) and lines[1]["after"] == oid(1) and lines[1]["auth_service"] == "saml"
    assert "applied 2, already applied 0, skipped 0, refused 0" in result.stdout
    assert ADMIN_TOKEN not in journal_path_for(plan).read_text() and ADMIN_TOKEN not in result.output


def test_journal_is_owner_only_and_every_line_parses(fake, tmp_path):
    plan = make_plan(tmp_path, [change(fake, 1), change(fake, 2)])
    assert cli(fake, "apply", str(plan), "--yes", *FAST).exit_code == 0
    path = journal_path_for(plan)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    lines = read_journal(path)
    assert len(lines) == 4
    for raw in journal(plan):
        assert {"mattermost_user_id", "auth_service", "before", "after", "status", "at", "plan_digest"} <= set(raw)
        assert raw["at"].endswith("Z")


def test_quiet_prints_only_the_summary_line(fake, tmp_path):
    plan = make_plan(tmp_path, [change(fake, 1)])
    result = cli(fake, "apply", str(plan), "--yes", "-q", *FAST)
    assert result.exit_code == 0
    assert result.stdout.strip().splitlines() == [result.stdout.strip()]
    assert result.stdout.startswith("apply: applied 1")


def test_an_account_changed_between_plan_and_apply_is_skipped(fake, tmp_path):
    plan = make_plan(tmp_path, [change(fake, 1), change(fake, 2)])
    fake.user(mm_user(1)["id"])["auth_data"] = "changed-by-a-person"
    result = cli(fake, "apply", str(plan), "--yes", *FAST)
    assert result.exit_code == 4
    assert "changed since plan: user1" in result.stdout and "'changed-by-a-person'" in result.stdout
    assert auth_data(fake, 1) == "changed-by-a-person"  # never overwritten
    assert puts(fake) == [mm_user(2)["id"]]  # near miss: the unchanged one is applied
    assert auth_data(fake, 2) == oid(2)
    assert [line["status"] for line in journal(plan)] == ["changed_since_plan", "pending", "applied"]


def test_a_changed_auth_service_is_changed_since_plan_too(fake, tmp_path):
    plan = make_plan(tmp_path, [change(fake, 1)])
    fake.user(mm_user(1)["id"])["auth_service"] = "office365"
    assert cli(fake, "apply", str(plan), "--yes", *FAST).exit_code == 4
    assert fake.writes() == []


def test_already_applied_sends_no_write_and_exits_0(fake, tmp_path):
    plan = make_plan(tmp_path, [change(fake, 1), change(fake, 2)])
    fake.user(mm_user(1)["id"])["auth_data"] = oid(1)
    result = cli(fake, "apply", str(plan), "--yes", *FAST)
    assert result.exit_code == 0
    assert "already applied: user1" in result.stdout
    assert puts(fake) == [mm_user(2)["id"]]
    again = cli(fake, "apply", str(plan), "--yes", *FAST)  # a second run of a finished plan: nothing to do
    assert again.exit_code == 0 and "applied 0, already applied 2" in again.stdout
    assert len(puts(fake)) == 1


def test_deactivated_and_deleted_accounts_are_gone(fake, tmp_path):
    plan = make_plan(tmp_path, [change(fake, 1), change(fake, 2), change(fake, 3)])
    fake.user(mm_user(1)["id"])["delete_at"] = 1_700_000_000_123
    fake.users.remove(fake.user(mm_user(2)["id"]))
    result = cli(fake, "apply", str(plan), "--yes", *FAST)
    assert result.exit_code == 4
    assert "account gone or deactivated: user1" in result.stdout and "deactivated" in result.stdout
    assert "account gone or deactivated: user2" in result.stdout and "HTTP 404" in result.stdout
    assert puts(fake) == [mm_user(3)["id"]]  # near miss: the active one is applied
    assert "skipped 2 (0 changed since plan, 2 gone or deactivated)" in result.stdout


def test_duplicate_auth_data_is_refused_and_the_run_goes_on(fake, tmp_path):
    plan = make_plan(tmp_path, [change(fake, 1, after=oid(9)), change(fake, 2)])
    result = cli(fake, "apply", str(plan), "--yes", *FAST)
    assert result.exit_code == 4
    assert "refused: user1" in result.stdout and "app.user.update_auth_data.email_exists.app_error" in result.stdout
    assert auth_data(fake, 1) == email(1)
    assert auth_data(fake, 2) == oid(2)
    statuses = [(line["status"], line.get("reason")) for line in journal(plan)]
    assert statuses[1][0] == "refused" and "HTTP 400" in statuses[1][1]
    assert [s for s, _ in statuses] == ["pending", "refused", "pending", "applied"]


@pytest.mark.parametrize("token", [USER_TOKEN, MANAGER_TOKEN])
def test_a_token_that_may_not_edit_other_users_exits_3_before_any_write(fake, tmp_path, token):
    plan = make_plan(tmp_path, [change(fake, 1)])
    for args in ((), ("--yes",)):
        result = cli(fake, "apply", str(plan), *args, *FAST, token=token)
        assert result.exit_code == 3, result.output
        assert "may not change other accounts' auth data" in result.stderr
    assert fake.writes() == [] and not journal_path_for(plan).exists()
    assert [r.route for r in fake.requests] == ["/users/me"] * 2


def test_an_empty_plan_is_nothing_to_do(fake, tmp_path):
    plan = make_plan(tmp_path, [])
    result = cli(fake, "apply", str(plan), "--yes", *FAST)
    assert result.exit_code == 0 and "apply: nothing to do" in result.stdout
    assert fake.writes() == [] and not journal_path_for(plan).exists()


def test_plain_http_to_another_host_is_refused_before_any_request(fake, tmp_path):
    plan = make_plan(tmp_path, [change(fake, 1)])
    result = CliRunner().invoke(main, ["remediate", "apply", str(plan), "--yes", "--mattermost-url",
                                       "http://chat.example.com"], env={ENV_TOKEN: ADMIN_TOKEN, ENV_TOKEN_FILE: ""})
    assert result.exit_code == 3 and "plain http" in result.stderr
    assert fake.requests == []


def test_an_unknown_token_and_a_missing_token_exit_3(fake, tmp_path):
    plan = make_plan(tmp_path, [change(fake, 1)])
    assert cli(fake, "apply", str(plan), "--yes", token="unknownunknownunknownunkn1").exit_code == 3
    assert cli(fake, "apply", str(plan), "--yes", token="").exit_code == 3
    assert fake.writes() == []


def test_max_changes_exceeded_exits_3_before_any_write(fake, tmp_path):
    plan = make_plan(tmp_path, [change(fake, n) for n in (1, 2, 3)])
    result = cli(fake, "apply", str(plan), "--yes", "--max-changes", "2", *FAST)
    assert result.exit_code == 3
    assert "3 changes, more than --max-changes 2" in result.stderr
    assert fake.requests == [] and not journal_path_for(plan).exists()
    assert cli(fake, "apply", str(plan), "--yes", "--max-changes", "3", *FAST).exit_code == 0  # near miss


def test_a_hand_edited_plan_is_refused(fake, tmp_path):
    plan = make_plan(tmp_path, [change(fake, 1)])
    doc = json.loads(plan.read_text())
    doc["changes"][0]["auth_data_after"] = oid(2)
    plan.write_text(json.dumps(doc))
    result = cli(fake, "apply", str(plan), "--yes", *FAST)
    assert result.exit_code == 3 and "edited after it was written" in result.stderr
    assert fake.requests == []


def test_a_plan_of_an_unknown_version_is_refused(fake, tmp_path):
    plan = make_plan(tmp_path, [change(fake, 1)])
    doc = json.loads(plan.read_text())
    doc["version"] = 2
    plan.write_text(json.dumps(doc))
    result = cli(fake, "apply", str(plan), "--yes", *FAST)
    assert result.exit_code == 3 and "version 2" in result.stderr
    assert fake.requests == []


def test_a_journal_of_another_plan_is_refused(fake, tmp_path):
    first = make_plan(tmp_path, [change(fake, 1)])
    assert cli(fake, "apply", str(first), "--yes", *FAST).exit_code == 0
    other = make_plan(tmp_path, [change(fake, 2)], name="OTHER.json")
    result = cli(fake, "apply", str(other), "--yes", "--journal", str(journal_path_for(first)), *FAST)
    assert result.exit_code == 3 and "records another plan" in result.stderr
    assert puts(fake) == [mm_user(1)["id"]]
    assert cli(fake, "apply", str(other), "--yes", *FAST).exit_code == 0  # near miss: its own journal


def test_a_malformed_journal_line_exits_3_naming_file_and_line(fake, tmp_path):
    plan = make_plan(tmp_path, [change(fake, 1), change(fake, 2)])
    assert cli(fake, "apply", str(plan), "--yes", *FAST).exit_code == 0
    path = journal_path_for(plan)
    path.write_text(path.read_text() + '{"mattermost_user_id": "x", "status": \n')
    result = cli(fake, "apply", str(plan), "--yes", *FAST)
    assert result.exit_code == 3 and f"{path}: line 5" in result.stderr
    undo = cli(fake, "undo", str(path), "--yes", *FAST)
    assert undo.exit_code == 3 and "line 5" in undo.stderr


def test_429_retry_after_on_the_put_is_obeyed(fake, tmp_path):
    plan = make_plan(tmp_path, [change(fake, 1)])
    fake.rate_limit(route=f"/users/{mm_user(1)['id']}/auth", page=None, retry_after="1", reset=None)
    result = cli(fake, "apply", str(plan), "--yes", *FAST)
    assert result.exit_code == 0, result.output
    attempts = fake.writes()
    assert [r.status for r in attempts] == [429, 200]
    assert attempts[1].at - attempts[0].at >= 0.95
    assert auth_data(fake, 1) == oid(1)


def test_a_500_on_the_put_is_settled_by_reading_the_account(fake, tmp_path):
    plan = make_plan(tmp_path, [change(fake, 1), change(fake, 2)])
    fake.fail(f"/users/{mm_user(1)['id']}/auth", status=500)
    result = cli(fake, "apply", str(plan), "--yes", *FAST)
    assert result.exit_code == 4
    assert "refused: user1" in result.stdout and "HTTP 500" in result.stdout
    assert auth_data(fake, 2) == oid(2)


def test_a_verify_read_that_does_not_show_after_is_refused_never_applied(fake, tmp_path):
    plan = make_plan(tmp_path, [change(fake, 1), change(fake, 2)])

    def server_rewrites(user_id: str, n: int) -> None:
        if n == 1:  # a server (or plugin) that stores something else than it was sent
            fake.user(user_id)["auth_data"] = oid(1).upper()

    fake.after_put = server_rewrites
    result = cli(fake, "apply", str(plan), "--yes", *FAST)
    assert result.exit_code == 4
    assert f"refused: user1 ({mm_user(1)['id']}): server stored auth_service saml, auth_data '{oid(1).upper()}'" \
        in result.stdout
    assert [line["status"] for line in journal(plan)] == ["pending", "refused", "pending", "applied"]


def test_rate_caps_changes_per_second(fake, tmp_path):
    plan = make_plan(tmp_path, [change(fake, n) for n in (1, 2, 3)])
    started = time.monotonic()
    assert cli(fake, "apply", str(plan), "--yes", "--rate", "10").exit_code == 0
    assert time.monotonic() - started >= 0.2 - 0.01  # three changes at 10/s: two gaps of 0.1 s


# --- a kill in the middle, then a re-run ---------------------------------------------------------------


def test_a_kill_mid_apply_then_a_rerun_settles_the_pending_line_and_changes_nothing_twice(fake, tmp_path):
    plan = make_plan(tmp_path, [change(fake, n) for n in (1, 2, 3, 4)])
    reached, release = threading.Event(), threading.Event()

    def block_on_second(user_id: str, n: int) -> None:
        if n == 2:  # stored, not yet answered: the client is killed now
            reached.set()
            release.wait(30)

    fake.after_put = block_on_second
    env = {**os.environ, "PYTHONPATH": str(REPO), ENV_TOKEN: ADMIN_TOKEN, ENV_TOKEN_FILE: ""}
    process = subprocess.Popen([sys.executable, "-m", "reconcile", "remediate", "apply", str(plan), "--yes",
                                "--mattermost-url", fake.url, *FAST], env=env, cwd=tmp_path,
                               stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        assert reached.wait(60), process.stderr.read() if process.poll() is not None else "no second PUT"
        process.kill()
        process.wait(30)
    finally:
        release.set()
        if process.poll() is None:
            process.kill()
    fake.after_put = None
    lines = read_journal(journal_path_for(plan))
    assert [line.status for line in lines] == ["pending", "applied", "pending"]
    history = fold(lines)
    assert [p.line_no for p in history[mm_user(2)["id"]].pending] == [3]  # maybe written
    assert auth_data(fake, 2) == oid(2)  # ... and it was

    result = cli(fake, "apply", str(plan), "--yes", *FAST)
    assert result.exit_code == 0, result.output
    assert "already applied: user2" in result.stdout and "settles pending line 3" in result.stdout
    assert [auth_data(fake, n) for n in (1, 2, 3, 4)] == [oid(n) for n in (1, 2, 3, 4)]
    sent = puts(fake)
    assert sorted(sent) == sorted(mm_user(n)["id"] for n in (1, 2, 3, 4))  # each account exactly once
    after = fold(read_journal(journal_path_for(plan)))
    assert all(not h.pending for h in after.values())  # the journal is complete
    assert after[mm_user(2)["id"]].last.status == "already_applied"
    assert [w.status for w in after[mm_user(2)["id"]].written] == ["pending"]  # undo will put it back


# --- undo ----------------------------------------------------------------------------------------------


def test_undo_restores_the_original_state_and_undo_of_undo_the_plans(fake, tmp_path):
    plan = make_plan(tmp_path, [change(fake, n) for n in (1, 2, 3)])
    original = {u["id"]: (u["auth_service"], u["auth_data"]) for u in fake.users}
    assert cli(fake, "apply", str(plan), "--yes", *FAST).exit_code == 0
    applied = {u["id"]: (u["auth_service"], u["auth_data"]) for u in fake.users}
    path = journal_path_for(plan)

    dry = cli(fake, "undo", str(path), *FAST)
    assert dry.exit_code == 0 and "would change 3" in dry.stdout
    assert len(fake.writes()) == 3 and not undo_path_for(path).exists()

    result = cli(fake, "undo", str(path), "--yes", *FAST)
    assert result.exit_code == 0, result.output
    assert {u["id"]: (u["auth_service"], u["auth_data"]) for u in fake.users} == original
    assert puts(fake)[3:] == [mm_user(n)["id"] for n in (3, 2, 1)]  # newest first
    undo_journal = undo_path_for(path)
    assert undo_journal.name == "PLAN.journal.undo.jsonl"
    assert stat.S_IMODE(undo_journal.stat().st_mode) == 0o600
    first = read_journal(undo_journal)[1]
    assert (first.status, first.before, first.after) == ("applied", oid(3), email(3))

    again = cli(fake, "undo", str(undo_journal), "--yes", *FAST)
    assert again.exit_code == 0, again.output
    assert {u["id"]: (u["auth_service"], u["auth_data"]) for u in fake.users} == applied


def test_undo_skips_an_account_changed_since_apply(fake, tmp_path):
    plan = make_plan(tmp_path, [change(fake, 1), change(fake, 2)])
    assert cli(fake, "apply", str(plan), "--yes", *FAST).exit_code == 0
    fake.user(mm_user(1)["id"])["auth_data"] = "fixed-by-hand-since"
    result = cli(fake, "undo", str(journal_path_for(plan)), "--yes", *FAST)
    assert result.exit_code == 4
    assert "changed since plan: user1" not in result.stdout  # undo has no usernames: the id is listed
    assert f"changed since plan: {mm_user(1)['id']}" in result.stdout
    assert auth_data(fake, 1) == "fixed-by-hand-since"
    assert auth_data(fake, 2) == email(2)  # near miss: the untouched one is put back


def test_undo_of_an_account_that_had_no_auth_data_is_refused_by_the_server(fake, tmp_path):
    fake.user(mm_user(3)["id"])["auth_data"] = None
    plan = make_plan(tmp_path, [change(fake, 3), change(fake, 4)])
    assert cli(fake, "apply", str(plan), "--yes", *FAST).exit_code == 0
    result = cli(fake, "undo", str(journal_path_for(plan)), "--yes", *FAST)
    assert result.exit_code == 4
    assert "refused: " + mm_user(3)["id"] in result.stdout
    assert "api.user.update_user_auth.invalid_request" in result.stdout
    assert auth_data(fake, 3) == oid(3) and auth_data(fake, 4) == email(4)


def test_undo_takes_an_unsettled_pending_line_only_when_its_write_landed(fake, tmp_path):
    plan = make_plan(tmp_path, [change(fake, 1), change(fake, 2)])
    assert cli(fake, "apply", str(plan), "--yes", *FAST).exit_code == 0
    path = journal_path_for(plan)
    digest = journal(plan)[0]["plan_digest"]
    extra = [{"mattermost_user_id": mm_user(n)["id"], "auth_service": "saml", "before": email(n), "after": oid(n),
              "status": "pending", "at": "2026-12-03T11:00:00.000Z", "plan_digest": digest} for n in (4, 5)]
    fake.user(mm_user(4)["id"])["auth_data"] = oid(4)  # account 4's write landed; account 5's never did
    path.write_text(path.read_text() + "".join(json.dumps(line) + "\n" for line in extra))
    result = cli(fake, "undo", str(path), "--yes", *FAST)
    assert result.exit_code == 0, result.output
    assert auth_data(fake, 4) == email(4) and auth_data(fake, 5) == email(5)
    assert "never landed" in result.stdout
    assert mm_user(5)["id"] not in puts(fake)


def test_undo_refuses_to_write_into_the_journal_it_reads(fake, tmp_path):
    plan = make_plan(tmp_path, [change(fake, 1)])
    assert cli(fake, "apply", str(plan), "--yes", *FAST).exit_code == 0
    path = journal_path_for(plan)
    result = cli(fake, "undo", str(path), "--yes", "--journal", str(path), *FAST)
    assert result.exit_code == 3
    assert auth_data(fake, 1) == oid(1)


def test_a_token_revoked_mid_run_stops_it_with_exit_3_and_a_rerun_settles(fake, tmp_path):
    plan = make_plan(tmp_path, [change(fake, 1), change(fake, 2)])
    admin = fake.tokens[ADMIN_TOKEN]

    def revoke(user_id: str, n: int) -> None:  # the first write lands, then the token is revoked
        fake.tokens.pop(ADMIN_TOKEN, None)

    fake.after_put = revoke
    result = cli(fake, "apply", str(plan), "--yes", *FAST)
    assert result.exit_code == 3
    assert "rejected the token" in result.stderr and "records every change made so far" in result.stderr
    assert [line["status"] for line in journal(plan)] == ["pending"]  # maybe written: the verifying read failed
    assert puts(fake) == [mm_user(1)["id"]]  # no further PUT after the 401

    fake.after_put = None
    fake.tokens[ADMIN_TOKEN] = admin
    rerun = cli(fake, "apply", str(plan), "--yes", *FAST)
    assert rerun.exit_code == 0, rerun.output
    assert "settles pending line 1" in rerun.stdout
    assert auth_data(fake, 1) == oid(1) and auth_data(fake, 2) == oid(2)
    assert len(puts(fake)) == 2
