"""Notifications (issue 15): the run's Markdown post through an incoming webhook or a bot, against a real
HTTP server on loopback (tests/fake_mattermost.py: ``POST /hooks/{key}``, ``POST /api/v4/posts``,
``/users/me``, ``/channels/{id}``), for audits of the bundled sample tenant through the CLI.

What is pinned down: the exact JSON bodies a real server accepts; when each ``on`` posts; that
``detail = "counts"`` names no person of the tenant and ``names`` lists the new blocking ones; that a
post that fails never changes the run's exit code, is tried at most 3 times and is recorded in
summary.json; that the webhook URL and the bot token reach no log, output or store; the job file's
``[notify]`` table; and the ``sources test`` rows.
"""

from __future__ import annotations

import csv
import json
import logging
import shutil
import stat
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from click.testing import CliRunner
from fake_mattermost import BOT_ACCOUNT, BOT_TOKEN, CHANNEL_ID, HOOK_KEY, USER_TOKEN, FakeMattermost

from reconcile.cli import main
from reconcile.paths import sample_dir

SAMPLE = sample_dir()


@pytest.fixture
def fake():
    with FakeMattermost() as server:
        yield server


def _hook(fake: FakeMattermost) -> str:
    return f"{fake.url}/hooks/{HOOK_KEY}"


def _audit(out: Path, *args: str, env: dict | None = None, command: str = "audit"):
    sample = ["--sample"] if command == "audit" and "--input-dir" not in args else []
    return CliRunner().invoke(main, [command, *sample, "--output-dir", str(out), "-q", *args], env=env or {})


def _summary(out: Path) -> dict:
    return json.loads((out / "summary.json").read_text(encoding="utf-8"))


def _hook_requests(fake: FakeMattermost):
    return fake.requests_to(f"/hooks/{HOOK_KEY}")


def _people_of_the_tenant() -> set[str]:
    """Every UPN, email, display name and id of a person in the sample tenant (Entra, Mattermost, LDAP)."""
    found: set[str] = set()
    pages = json.loads((SAMPLE / "entra_users.json").read_text(encoding="utf-8"))  # Graph pages
    for user in (user for page in pages for user in page["value"]):
        found.update(v for v in (user.get("id"), user.get("displayName"), user.get("userPrincipalName"),
                                 user.get("mail"), *(user.get("otherMails") or [])) if v)
    for user in json.loads((SAMPLE / "mattermost_users.json").read_text(encoding="utf-8")):
        found.update(v for v in (user.get("id"), user.get("email"), user.get("auth_data")) if v)
        if len(user.get("username") or "") >= 6:
            found.add(user["username"])
        names = f"{user.get('first_name', '')} {user.get('last_name', '')}".strip()
        if " " in names:
            found.add(names)
    for line in (SAMPLE / "ldap_users.ldif").read_text(encoding="utf-8").splitlines():
        key, _, value = line.partition(": ")
        if key in ("userPrincipalName", "mail", "msDS-aadObjectId") and value:
            found.add(value)
    return {value.lower() for value in found if len(value) >= 6}


# --- the bodies ----------------------------------------------------------------------------------------

def test_the_webhook_posts_text_on_the_first_run_and_nothing_on_an_unchanged_second_run(fake, tmp_path):
    out = tmp_path / "out"
    env = {"RECONCILE_NOTIFY_WEBHOOK_URL": _hook(fake)}
    first = _audit(out, "--fail-on", "never", env=env)
    assert first.exit_code == 0, first.output
    [request] = _hook_requests(fake)
    assert request.method == "POST" and request.headers["content-type"] == "application/json"
    assert set(request.body) == {"text"}, "an incoming webhook takes {\"text\": ...}"
    text = request.body["text"]
    summary = _summary(out)
    assert fake.posts == [{"channel_id": CHANNEL_ID, "message": text, "hook": f"/hooks/{HOOK_KEY}"}]
    lines = text.splitlines()
    assert lines[0] == f"#### reconcile run `{summary['run_id']}`: complete"
    readiness = summary["readiness"]
    assert (f"**Readiness:** will_fail {readiness['will_fail']}, at_risk {readiness['at_risk']}, not_evaluated "
            f"{readiness['not_evaluated']}, ready {readiness['ready']}") in lines
    severity = summary["findings_by_severity"]
    assert f"**Findings:** blocking {severity['blocking']}, warning {severity['warning']}, info {severity['info']}" \
        in lines
    assert "**First run in this store:** nothing to compare with yet" in lines
    assert "entra_users (300 rows)" in text and "mattermost_users (296 rows)" in text and "ldap (293 rows)" in text
    assert f"**Report:** `{(out / 'report.html').absolute()}`" in lines
    outcomes = summary["outcomes"]  # the sample has Intune's registrations
    assert "**Enrollment outcomes:** " + ", ".join(f"{k} {v}" for k, v in outcomes.items()) in lines
    assert summary["notify"] == {"status": "sent", "error": None}
    assert "notify: sent" in first.output, "the closing line says so, even with -q"
    assert stat.S_IMODE((out / "runs" / summary["run_id"] / "summary.json").stat().st_mode) == 0o600

    second = _audit(out, "--fail-on", "never", env=env)
    assert second.exit_code == 0, second.output
    assert len(_hook_requests(fake)) == 1, "on = change: an unchanged run posts nothing"
    assert _summary(out)["notify"] == {"status": "not_sent", "error": None}
    assert _summary(out)["drift"]["new"] == 0 and _summary(out)["previous_run_id"] == summary["run_id"]
    assert "notify: not_sent" in second.output


def test_the_bot_posts_channel_id_and_message_with_its_token(fake, tmp_path):
    out = tmp_path / "out"
    result = _audit(out, "--fail-on", "never", "--notify-on", "always", "--notify-server", fake.url,
                    "--notify-channel-id", CHANNEL_ID, env={"RECONCILE_NOTIFY_BOT_TOKEN": BOT_TOKEN})
    assert result.exit_code == 0, result.output
    [request] = fake.requests_to("/posts", "POST")
    assert request.headers["authorization"] == f"Bearer {BOT_TOKEN}"
    assert request.headers["content-type"] == "application/json"
    assert set(request.body) == {"channel_id", "message"}
    assert request.body["channel_id"] == CHANNEL_ID
    assert request.body["message"].startswith(f"#### reconcile run `{_summary(out)['run_id']}`: complete\n")
    assert request.status == 201, "the real server answers a new post with 201"
    [made] = fake.posts
    assert made["user_id"] == BOT_ACCOUNT["id"] and made["message"] == request.body["message"]
    assert _summary(out)["notify"] == {"status": "sent", "error": None}
    assert not _hook_requests(fake), "no webhook configured: nothing posted there"


def test_webhook_and_bot_both_get_the_message(fake, tmp_path):
    out = tmp_path / "out"
    result = _audit(out, "--fail-on", "never", "--notify-server", fake.url, "--notify-channel-id", CHANNEL_ID,
                    env={"RECONCILE_NOTIFY_BOT_TOKEN": BOT_TOKEN, "RECONCILE_NOTIFY_WEBHOOK_URL": _hook(fake)})
    assert result.exit_code == 0, result.output
    webhook_post, bot_post = fake.posts
    assert webhook_post["message"] == bot_post["message"]
    assert {"hook" in p for p in fake.posts} == {True, False}
    assert _summary(out)["notify"]["status"] == "sent"


def test_no_webhook_and_no_bot_posts_nothing(fake, tmp_path):
    out = tmp_path / "out"
    result = _audit(out, "--fail-on", "never", "--notify-on", "always")
    assert result.exit_code == 0, result.output
    assert not fake.requests
    assert _summary(out)["notify"] == {"status": "not_sent", "error": None}
    assert "notify:" not in result.output, "the status is shown only when a notification is configured"


# --- what the message says ------------------------------------------------------------------------------

def test_counts_carry_no_personal_data(fake, tmp_path):
    out = tmp_path / "out"
    result = _audit(out, "--fail-on", "never", "--notify-detail", "counts",
                    env={"RECONCILE_NOTIFY_WEBHOOK_URL": _hook(fake)})
    assert result.exit_code == 0, result.output
    text = _hook_requests(fake)[0].body["text"].lower()
    people = _people_of_the_tenant()
    assert len(people) > 800, "the check must cover the tenant"
    assert not [value for value in people if value in text]
    assert "@" not in text, "no email or UPN of anyone"
    with (out / "findings.csv").open(encoding="utf-8-sig", newline="") as handle:
        found = [value.lower() for row in csv.DictReader(handle)
                 for value in (row["user_principal_name"], row["email"], row["entra_object_id"],
                               row["mattermost_user_id"]) if value]
    assert found and not [value for value in found if value in text]


def _new_blocking_from_findings(out: Path) -> list[tuple[str, str]]:
    with (out / "findings.csv").open(encoding="utf-8-sig", newline="") as handle:
        rows = list(csv.DictReader(handle))
    return sorted({(r["user_principal_name"], r["rule_id"]) for r in rows
                   if r["severity"] == "blocking" and r["drift"] == "new" and r["status"] == "open"
                   and r["user_principal_name"]})


def test_names_lists_the_first_20_new_blocking_people_and_leaves_out_accepted_ones(fake, tmp_path):
    # the findings a plain run has, to choose the person whose finding an exception then accepts
    plain = tmp_path / "plain"
    assert _audit(plain, "--fail-on", "never").exit_code == 0
    everyone = _new_blocking_from_findings(plain)
    assert len(everyone) > 20, "the sample has more new blocking people than a post lists"
    accepted_upn, accepted_rule = next((upn, rule) for upn, rule in everyone if rule.startswith("USER_"))
    exceptions = tmp_path / "exceptions.toml"
    expires = (datetime.now(UTC).date() + timedelta(days=30)).isoformat()
    exceptions.write_text(f'[[exception]]\nrule = "{accepted_rule}"\nuser_principal_name = "{accepted_upn}"\n'
                          f'reason = "pilot group, decided"\nowner = "it-identity@contoso.com"\n'
                          f"expires = {expires}\n", encoding="utf-8")

    out = tmp_path / "out"
    result = _audit(out, "--fail-on", "never", "--notify-detail", "names", "--exceptions", str(exceptions),
                    env={"RECONCILE_NOTIFY_WEBHOOK_URL": _hook(fake)})
    assert result.exit_code == 0, result.output
    text = _hook_requests(fake)[0].body["text"]
    expected = _new_blocking_from_findings(out)
    assert (accepted_upn, accepted_rule) not in expected, "the exception accepted that finding"
    listed = [line for line in text.splitlines() if line.startswith("- ")]
    assert listed == [f"- `{upn}` `{rule}`" for upn, rule in expected[:20]]
    assert f"**New blocking people (first 20 of {len(expected)}, by UPN and rule):**" in text
    assert f"- `{accepted_upn}` `{accepted_rule}`" not in text

    # the next run finds the same: nothing is new, so nobody is listed
    again = _audit(out, "--fail-on", "never", "--notify-detail", "names", "--notify-on", "always",
                   "--exceptions", str(exceptions), env={"RECONCILE_NOTIFY_WEBHOOK_URL": _hook(fake)})
    assert again.exit_code == 0, again.output
    text = _hook_requests(fake)[1].body["text"]
    assert "**New blocking people:** none" in text and "@" not in text
    assert "0 new, 0 resolved" in text


def test_names_without_history_lists_nobody(fake, tmp_path):
    out = tmp_path / "out"
    result = _audit(out, "--fail-on", "never", "--notify-detail", "names", "--no-history",
                    env={"RECONCILE_NOTIFY_WEBHOOK_URL": _hook(fake)})
    assert result.exit_code == 0, result.output
    text = _hook_requests(fake)[0].body["text"]
    assert "**New blocking people:** not known (history off: no finding is known to be new)" in text
    assert "**Since the previous run:** not compared (history off)" in text
    assert "@" not in text


def _partial_export(tmp_path: Path) -> Path:
    export = tmp_path / "export"
    shutil.copytree(SAMPLE, export, ignore=shutil.ignore_patterns("misconfigured", "README.md"))
    (export / "ldap_users.ldif").write_text("", encoding="utf-8")  # LDAP in use, nothing in it: partial
    return export


def test_failure_posts_for_a_partial_run_and_not_for_a_complete_one(fake, tmp_path):
    env = {"RECONCILE_NOTIFY_WEBHOOK_URL": _hook(fake), "RECONCILE_NOTIFY_ON": "failure"}
    complete = _audit(tmp_path / "complete", "--fail-on", "never", env=env)
    assert complete.exit_code == 0, complete.output
    assert not _hook_requests(fake), "on = failure: a complete run posts nothing, even its store's first"
    assert _summary(tmp_path / "complete")["notify"]["status"] == "not_sent"

    out = tmp_path / "partial"
    partial = _audit(out, "--input-dir", str(_partial_export(tmp_path)), env=env)
    assert partial.exit_code == 4, partial.output
    [request] = _hook_requests(fake)
    text = request.body["text"]
    assert text.splitlines()[0].endswith(": partial")
    assert "**Partial run:** ldap failed" in text
    assert _summary(out)["notify"] == {"status": "sent", "error": None}


def test_a_failed_run_posts_a_short_message_under_every_setting(fake, tmp_path):
    bad = tmp_path / "bad.toml"
    bad.write_text('[[exception]]\nrule = "NO_SUCH_RULE"\nuser_principal_name = "kai.vargas@contoso.com"\n',
                   encoding="utf-8")
    for on in ("change", "always", "failure"):
        out = tmp_path / on
        result = _audit(out, "--exceptions", str(bad), "--notify-on", on,
                        env={"RECONCILE_NOTIFY_WEBHOOK_URL": _hook(fake)})
        assert result.exit_code == 3, result.output
        assert not out.exists(), "nothing written"
    texts = [r.body["text"] for r in _hook_requests(fake)]
    assert len(texts) == 3
    text = texts[0]
    assert text.splitlines()[0] == "#### reconcile run failed (exit 3)"
    assert f"**Error:** `exceptions file {bad}: " in text, "the error's first line"
    assert "Nothing was written; the store is unchanged." in text
    assert "kai.vargas" not in text.lower() and "@" not in text


# --- a post that fails ----------------------------------------------------------------------------------

def test_a_failing_webhook_never_fails_the_run(fake, tmp_path, caplog):
    reference = _audit(tmp_path / "reference")
    assert reference.exit_code == 1, "the sample has blocking findings"
    fake.fail(f"/hooks/{HOOK_KEY}", status=500, times=None)
    out = tmp_path / "out"
    started = time.monotonic()
    with caplog.at_level(logging.WARNING):
        result = _audit(out, env={"RECONCILE_NOTIFY_WEBHOOK_URL": _hook(fake)})
    assert time.monotonic() - started < 30
    assert result.exit_code == reference.exit_code, "same exit code as without a notification"
    assert len(_hook_requests(fake)) == 3, "at most 3 tries"
    record = _summary(out)["notify"]
    assert record["status"] == "failed"
    assert record["error"] == \
        f"webhook (host 127.0.0.1:{fake.port}): HTTP 500 (app.fake.injected.app_error), after 3 tries"
    assert "notify: failed (webhook (host 127.0.0.1" in result.output
    assert "the run's notification was not posted" in caplog.text
    assert HOOK_KEY not in caplog.text and HOOK_KEY not in result.output
    written = sorted(p.name for p in (out / "runs" / _summary(out)["run_id"]).iterdir())
    assert written == sorted(p.name for p in (tmp_path / "reference" / "runs" /
                                              _summary(tmp_path / "reference")["run_id"]).iterdir())


def test_a_500_then_a_200_is_sent(fake, tmp_path):
    fake.fail(f"/hooks/{HOOK_KEY}", status=500, times=1)
    out = tmp_path / "out"
    result = _audit(out, "--fail-on", "never", env={"RECONCILE_NOTIFY_WEBHOOK_URL": _hook(fake)})
    assert result.exit_code == 0, result.output
    assert [r.status for r in _hook_requests(fake)] == [500, 200]
    assert _summary(out)["notify"] == {"status": "sent", "error": None}
    assert len(fake.posts) == 1


def test_retry_after_is_honoured(fake, tmp_path):
    fake.rate_limit(f"/hooks/{HOOK_KEY}", page=None, times=1, retry_after="2")
    out = tmp_path / "out"
    assert _audit(out, "--fail-on", "never", env={"RECONCILE_NOTIFY_WEBHOOK_URL": _hook(fake)}).exit_code == 0
    first, second = _hook_requests(fake)
    assert first.status == 429 and second.status == 200
    assert second.at - first.at >= 1.9, "waited as long as the server asked"
    assert _summary(out)["notify"]["status"] == "sent"


def test_a_refused_bot_is_not_retried_and_says_why(fake, tmp_path):
    out = tmp_path / "out"
    result = _audit(out, "--fail-on", "never", "--notify-server", fake.url, "--notify-channel-id", CHANNEL_ID,
                    env={"RECONCILE_NOTIFY_BOT_TOKEN": USER_TOKEN})  # a user who is not in the channel
    assert result.exit_code == 0, result.output
    assert len(fake.requests_to("/posts", "POST")) == 1, "a 403 is final"
    error = _summary(out)["notify"]["error"]
    assert error.startswith(f"bot (server 127.0.0.1:{fake.port}, channel {CHANNEL_ID}): HTTP 403")
    assert USER_TOKEN not in error and USER_TOKEN not in result.output


def test_secrets_never_reach_summary_logs_outputs_or_the_store(fake, tmp_path, caplog):
    secrets_dir = tmp_path / "secrets"
    secrets_dir.mkdir()
    (secrets_dir / "hook").write_text(_hook(fake) + "\n", encoding="utf-8")
    (secrets_dir / "bot").write_text(BOT_TOKEN + "\n", encoding="utf-8")
    fake.fail(f"/hooks/{HOOK_KEY}", status=503, times=None)  # failures are logged: the logs are checked too
    fake.fail("/posts", status=502, times=None)
    out = tmp_path / "out"
    env = {"RECONCILE_NOTIFY_WEBHOOK_URL_FILE": str(secrets_dir / "hook"),
           "RECONCILE_NOTIFY_BOT_TOKEN_FILE": str(secrets_dir / "bot"),
           "RECONCILE_NOTIFY_SERVER": fake.url, "RECONCILE_NOTIFY_CHANNEL_ID": CHANNEL_ID}
    with caplog.at_level(logging.DEBUG):
        result = _audit(out, "--fail-on", "never", "--log-format", "json", env=env)
        shown = CliRunner().invoke(main, ["config", "show", "--sample"], env=env)
    assert result.exit_code == 0, result.output
    assert len(_hook_requests(fake)) == 3 and len(fake.requests_to("/posts", "POST")) == 3
    assert _summary(out)["notify"]["status"] == "failed"
    for secret in (HOOK_KEY, BOT_TOKEN):
        assert secret not in result.output and secret not in caplog.text and secret not in shown.output
        for path in out.rglob("*"):
            if path.is_file():
                assert secret.encode() not in path.read_bytes(), path
    closing = json.loads(result.output.strip().splitlines()[-1])
    assert closing["event"] == "run_finished" and closing["notify"]["status"] == "failed"


# --- configuration ---------------------------------------------------------------------------------------

def test_a_job_file_notify_table_with_secret_references(fake, tmp_path):
    job = tmp_path / "job.toml"
    job.write_text(f'input_dir = "{SAMPLE}"\noutput_dir = "{tmp_path / "out"}"\nfail_on = "never"\n\n'
                   '[notify]\non = "always"\ndetail = "counts"\n'
                   'webhook_url = { env = "CHAT_HOOK" }\n', encoding="utf-8")
    result = CliRunner().invoke(main, ["run", "--job", str(job), "-q"], env={"CHAT_HOOK": _hook(fake)})
    assert result.exit_code == 0, result.output
    assert len(_hook_requests(fake)) == 1
    assert _summary(tmp_path / "out")["notify"]["status"] == "sent"

    hook_file = tmp_path / "hook"
    hook_file.write_text(_hook(fake), encoding="utf-8")
    job.write_text(f'input_dir = "{SAMPLE}"\noutput_dir = "{tmp_path / "out2"}"\nfail_on = "never"\n\n'
                   f'[notify]\non = "always"\nserver = "{fake.url}"\nchannel_id = "{CHANNEL_ID}"\n'
                   f'bot_token = {{ env = "CHAT_BOT" }}\nwebhook_url = {{ file = "{hook_file}" }}\n',
                   encoding="utf-8")
    both = CliRunner().invoke(main, ["run", "--job", str(job), "-q"], env={"CHAT_BOT": BOT_TOKEN})
    assert both.exit_code == 0, both.output
    assert len(fake.posts) == 3


def test_a_plain_secret_in_the_job_file_is_refused(fake, tmp_path):
    job = tmp_path / "job.toml"
    job.write_text(f'input_dir = "{SAMPLE}"\noutput_dir = "{tmp_path / "out"}"\n\n'
                   f'[notify]\nwebhook_url = "{_hook(fake)}"\nbot_token = "{BOT_TOKEN}"\n', encoding="utf-8")
    result = CliRunner().invoke(main, ["run", "--job", str(job)])
    assert result.exit_code == 2, result.output
    assert "notify.webhook_url: a secret is never written in a job file" in result.output
    assert "notify.bot_token: a secret is never written in a job file" in result.output
    assert HOOK_KEY not in result.output and BOT_TOKEN not in result.output
    assert not (tmp_path / "out").exists() and not fake.requests


def test_a_bot_needs_its_server_and_channel(tmp_path):
    result = _audit(tmp_path / "out", env={"RECONCILE_NOTIFY_BOT_TOKEN": BOT_TOKEN})
    assert result.exit_code == 2, result.output
    assert "notify.server is not set, and notify.bot_token" in result.output
    assert "notify.channel_id is not set, and notify.bot_token" in result.output
    assert "--notify-server" in result.output and "RECONCILE_NOTIFY_CHANNEL_ID" in result.output
    assert BOT_TOKEN not in result.output
    orphan = _audit(tmp_path / "out", "--notify-channel-id", CHANNEL_ID)
    assert orphan.exit_code == 2 and "is only used by a bot" in orphan.output
    not_a_url = _audit(tmp_path / "out", "--notify-server", "chat.contoso.com", "--notify-channel-id", CHANNEL_ID,
                       env={"RECONCILE_NOTIFY_BOT_TOKEN": BOT_TOKEN})
    assert not_a_url.exit_code == 2 and "expected an http:// or https:// URL" in not_a_url.output
    assert not (tmp_path / "out").exists()


def test_the_options_are_in_the_help():
    text = CliRunner().invoke(main, ["audit", "--help"], terminal_width=200).output
    for option in ("--notify-on [change|always|failure]", "--notify-detail [counts|names]",
                   "--notify-channel-id ID", "--notify-server URL"):
        assert option in text
    assert "--notify-webhook" not in text and "--notify-bot-token" not in text, "secrets are never options"


# --- sources test ------------------------------------------------------------------------------------------

def _sources_test(*args: str, env: dict):
    return CliRunner().invoke(main, ["sources", "test", "--sample", *args], env=env)


def _rows(output: str, source: str) -> list[str]:
    return [line for line in output.splitlines() if source in line]


def test_sources_test_reports_the_webhook_without_posting(fake, tmp_path):
    ok = _sources_test(env={"RECONCILE_NOTIFY_WEBHOOK_URL": _hook(fake)})
    assert ok.exit_code == 0, ok.output
    [row] = _rows(ok.output, "notify webhook")
    assert "ok" in row and f"webhook configured (host 127.0.0.1:{fake.port}); not posted to" in row
    assert not fake.requests, "a webhook is never posted to by a test"

    not_http = _sources_test(env={"RECONCILE_NOTIFY_WEBHOOK_URL": f"ftp://127.0.0.1/hooks/{HOOK_KEY}"})
    assert not_http.exit_code == 3
    assert "FAILED" in _rows(not_http.output, "notify webhook")[0]
    assert "not an http:// or https:// URL" in not_http.output and HOOK_KEY not in not_http.output

    missing = _sources_test(env={"RECONCILE_NOTIFY_WEBHOOK_URL_FILE": str(tmp_path / "nowhere")})
    assert missing.exit_code == 3
    assert "the webhook URL cannot be read" in missing.output


def test_sources_test_checks_the_bot_token_and_channel(fake):
    env = {"RECONCILE_NOTIFY_SERVER": fake.url, "RECONCILE_NOTIFY_CHANNEL_ID": CHANNEL_ID}
    ok = _sources_test(env={**env, "RECONCILE_NOTIFY_BOT_TOKEN": BOT_TOKEN})
    assert ok.exit_code == 0, ok.output
    assert "the token is accepted: bot 'reconcile-bot'" in ok.output
    assert "channel 'identity-admins' ('Identity admins') is visible to the bot; not posted to" in ok.output
    assert not fake.requests_to("/posts"), "nothing posted"

    refused = _sources_test(env={**env, "RECONCILE_NOTIFY_BOT_TOKEN": "wrongwrongwrongwrongwrong1"})
    assert refused.exit_code == 3
    assert "the bot token was refused" in refused.output and "wrongwrongwrong" not in refused.output

    no_channel = _sources_test(env={**env, "RECONCILE_NOTIFY_BOT_TOKEN": BOT_TOKEN,
                                    "RECONCILE_NOTIFY_CHANNEL_ID": "nosuchchannelnosuchchann01"})
    assert no_channel.exit_code == 3
    assert "HTTP 404: no channel 'nosuchchannelnosuchchann01'" in no_channel.output

    not_member = _sources_test(env={**env, "RECONCILE_NOTIFY_BOT_TOKEN": USER_TOKEN})
    assert not_member.exit_code == 3
    assert "HTTP 403: no channel" in not_member.output and USER_TOKEN not in not_member.output


# --- the decision and the message as functions -------------------------------------------------------------

def _run_summary(status: str = "complete", previous: str | None = "20261201T020000Z-aaaaaa", new: int = 0,
                 reopened: int = 0, resolved: int = 0, history: bool = True) -> dict:
    return {"run_id": "20261202T020000Z-bbbbbb", "status": status, "previous_run_id": previous if history else None,
            "failed_inputs": [{"name": "ldap", "error": "bind refused"}] if status == "partial" else [],
            "drift": ({"new": new, "persisting": 3, "accepted": 0, "reopened": reopened, "resolved": resolved}
                      if history else None),
            "readiness": {"will_fail": 1, "at_risk": 0, "not_evaluated": 0, "ready": 2},
            "findings_by_severity": {"blocking": 1, "warning": 0, "info": 0},
            "inputs": [{"name": "entra_users", "available": True, "rows": 3},
                       {"name": "ldap", "available": False, "rows": None}],
            "exceptions": {"file": None, "accepted_findings": 0}}


@pytest.mark.parametrize(("on", "summary", "posts"), [
    ("change", _run_summary(), False),
    ("change", _run_summary(new=1), True),
    ("change", _run_summary(resolved=2), True),
    ("change", _run_summary(reopened=1), True),
    ("change", _run_summary(previous=None), True),
    ("change", _run_summary(history=False), True),
    ("change", _run_summary(status="partial"), True),
    ("always", _run_summary(), True),
    ("failure", _run_summary(new=5), False),
    ("failure", _run_summary(status="partial"), True),
    ("change", None, True), ("always", None, True), ("failure", None, True),
])
def test_when_each_setting_posts(on, summary, posts):
    from reconcile.notify import should_post

    assert should_post(on, summary) is posts


def test_outcome_counts_appear_when_registrations_were_read(tmp_path):
    from reconcile.notify.message import run_message

    summary = {**_run_summary(new=1), "outcomes": {"enrolled": 2, "failed": 1}, "registrations": {"rows": 3}}
    text = run_message(summary, tmp_path / "report.html")
    assert "**Enrollment outcomes:** enrolled 2, failed 1" in text.splitlines()
    assert "**Since run `20261201T020000Z-aaaaaa`:** 1 new, 0 resolved" in text.splitlines()
    assert "**Sources read:** entra_users (3 rows)" in text.splitlines()
    assert "Enrollment outcomes" not in run_message(_run_summary(), tmp_path / "report.html")
    assert "**Since the previous run:** not compared (history off)" in run_message(_run_summary(history=False),
                                                                                  tmp_path / "summary.json")
