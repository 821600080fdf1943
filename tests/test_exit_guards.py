"""Exit codes and guards a scheduler relies on: an internal error is never "findings", an empty
export is never a clean run, a clear-text admin token is refused, and cells cannot run as formulas."""

from __future__ import annotations

import csv
import json
import os
import shutil

import pytest
from click.testing import CliRunner
from tenant import Tenant, config, entra_user, mm_user

from reconcile.cli import main
from reconcile.errors import ExitCode
from reconcile.paths import sample_dir
from reconcile.report.csv_report import write_query_csv
from reconcile.sources.mattermost_api import MattermostApi, MattermostConfigError
from reconcile.store import open_workspace


def _audit(*args: str, **kwargs):
    return CliRunner().invoke(main, ["audit", *args], **kwargs)


def test_help_lists_every_exit_code_and_every_report_file():
    text = " ".join(_audit("--help").output.split())
    for code in ExitCode:
        assert f"{int(code)} " in text
    assert "5 internal error (a bug): nothing written" in text
    for name in ("findings.csv", "findings.json", "readiness.csv", "summary.json", "report.html",
                 "reconcile.duckdb"):
        assert name in text


def test_deeply_nested_config_is_an_input_error_naming_the_file(tmp_path):
    export = Tenant(entra=[entra_user(1)], mattermost=[mm_user(1)]).write(tmp_path / "e")
    (export / "mattermost_config.json").write_text("[" * 100_000 + "]" * 100_000)
    result = _audit("--input-dir", str(export), "--output-dir", str(tmp_path / "out"))
    assert result.exit_code == ExitCode.INPUT_ERROR, result.output
    assert "mattermost_config.json" in result.output and "nested too deeply" in result.output
    assert not (tmp_path / "out").exists()


def test_a_capture_whose_name_is_not_utf8_is_read_and_named(tmp_path):
    export = tmp_path / "e"
    shutil.copytree(sample_dir(), export, ignore=shutil.ignore_patterns("misconfigured"))
    os.rename(os.fsencode(export / "saml" / "01-ok.xml"), os.fsencode(export / "saml") + b"/01-\xff\xfeok.xml")
    result = _audit("--input-dir", str(export), "--output-dir", str(tmp_path / "out"), "-q")
    assert result.exit_code == ExitCode.FINDINGS, result.output
    findings = (tmp_path / "out" / "findings.csv").read_text(encoding="utf-8-sig")
    assert "saml/01-\\xff\\xfeok.xml" in findings


def test_an_unexpected_error_exits_5_with_one_line_and_writes_nothing(tmp_path, monkeypatch):
    """The handler itself: the one place this test replaces code a run executes (run_configured raising a
    bug), because a real bug cannot be planted on purpose; the crashes above are real triggers."""
    export = Tenant(entra=[entra_user(1)], mattermost=[mm_user(1)]).write(tmp_path / "e")

    def broken(*args, **kwargs):
        raise ZeroDivisionError("division by zero")

    monkeypatch.setattr("reconcile.cli.run_configured", broken)
    quiet = _audit("--input-dir", str(export), "--output-dir", str(tmp_path / "out"))
    assert quiet.exit_code == ExitCode.INTERNAL_ERROR
    assert "internal error: ZeroDivisionError: division by zero (run with -v for the traceback)" in quiet.output
    assert "Traceback" not in quiet.output
    verbose = _audit("--input-dir", str(export), "--output-dir", str(tmp_path / "out"), "-v")
    assert verbose.exit_code == ExitCode.INTERNAL_ERROR and "Traceback" in verbose.output
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize("files", [
    pytest.param({}, id="empty-directory"),
    pytest.param({"notes.txt": "hello", "mattermost_config.json": json.dumps(config())}, id="no-user-file"),
])
def test_an_export_without_any_user_source_is_an_input_error(tmp_path, files):
    export = tmp_path / "e"
    export.mkdir()
    for name, text in files.items():
        (export / name).write_text(text)
    result = _audit("--input-dir", str(export), "--output-dir", str(tmp_path / "out"), "--store",
                    str(tmp_path / "store.duckdb"))
    assert result.exit_code == ExitCode.INPUT_ERROR, result.output
    text = " ".join(result.output.split())
    assert "no user source was read" in text
    for name in ("entra_users.json", "entra_users.csv", "mattermost_users.json", "ldap_users.ldif"):
        assert name in text
    assert not (tmp_path / "store.duckdb").exists()


@pytest.mark.parametrize("url", ["http://chat.contoso.com", "http://10.0.0.5:8065/api/v4"])
def test_plain_http_to_another_host_is_refused(tmp_path, url):
    with pytest.raises(MattermostConfigError, match="--mattermost-insecure"):
        MattermostApi(url, "x" * 26)
    export = Tenant(entra=[entra_user(1)]).write(tmp_path / "e")
    result = _audit("--input-dir", str(export), "--output-dir", str(tmp_path / "out"), "--mattermost-url", url,
                    env={"RECONCILE_MATTERMOST_TOKEN": "t" * 26})
    assert result.exit_code == ExitCode.INPUT_ERROR
    assert "unencrypted" in result.output and "t" * 26 not in result.output
    assert not (tmp_path / "out").exists()


def test_plain_http_is_allowed_when_asked_for_and_on_loopback():
    with MattermostApi("http://chat.contoso.com", "x" * 26, insecure=True) as api:
        assert api.base_url == "http://chat.contoso.com"
    for url in ("http://127.0.0.1:8065", "http://localhost:8065", "http://[::1]:8065"):
        with MattermostApi(url, "x" * 26) as api:
            assert api.base_url == url


@pytest.mark.parametrize("start", ["=", "+", "-", "@", "\t", "\r"])
def test_csv_cells_that_would_run_as_formulas_are_neutralised(tmp_path, start):
    value = f"{start}HYPERLINK(\"http://evil.example\")"
    with open_workspace() as con:
        con.execute("CREATE TABLE t AS SELECT ? AS cell, 'plain' AS other", [value])
        write_query_csv(con, "SELECT cell, other FROM work.t", ("cell", "other"), tmp_path / "x.csv")
    with (tmp_path / "x.csv").open(encoding="utf-8-sig", newline="") as handle:
        [row] = list(csv.DictReader(handle))
    assert row["cell"] == "'" + value
    assert row["other"] == "plain"


def test_readme_input_table_is_one_table_naming_every_export():
    from pathlib import Path

    from reconcile.sources.registry import EXPORT_DIRS, EXPORT_FILES

    readme = (Path(__file__).resolve().parent.parent / "README.md").read_text(encoding="utf-8")
    lines = readme.splitlines()
    start = lines.index("| file | what it is | how to produce it |")
    end = next(i for i in range(start, len(lines)) if not lines[i].startswith("|"))
    table = "\n".join(lines[start:end])
    names = [*EXPORT_FILES, *EXPORT_DIRS]  # every name the registry looks for
    assert len(names) == 16
    missing = [name for name in names if f"| `{name}" not in table]
    assert missing == [], f"not in the README's input table (or the table is split): {missing}"


@pytest.mark.parametrize(("make", "said"), [
    pytest.param(lambda e: (e / "entra_users.json").mkdir(), "entra_users.json: is a directory; expected a file",
                 id="dir-for-file"),
    pytest.param(lambda e: (e / "saml").write_text("x"), "saml/: is a file; expected a directory", id="file-for-dir"),
    pytest.param(lambda e: (e / "ldap_users.ldif").symlink_to(e / "gone.ldif"),
                 "ldap_users.ldif: is a symlink to", id="dangling-symlink"),
    pytest.param(lambda e: ((e / "entra_groups").mkdir(), (e / "entra_groups" / "x.json").symlink_to("/nowhere")),
                 "entra_groups/x.json: is a symlink to /nowhere, which does not exist", id="dangling-in-folder"),
])
def test_the_wrong_kind_of_file_is_named_as_such(tmp_path, make, said):
    export = Tenant(entra=[entra_user(1)], mattermost=[mm_user(1)]).write(tmp_path / "e")
    (export / "entra_users.json").unlink() if "entra_users.json: is a directory" in said else None
    make(export)
    result = _audit("--input-dir", str(export), "--output-dir", str(tmp_path / "out"))
    assert result.exit_code == ExitCode.INPUT_ERROR, result.output
    assert said in " ".join(result.output.split())
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize("url", ["ldapx://admin:s3cret@127.0.0.1:389", "ldap://admin:s3cret@127.0.0.1:389/dc=x",
                                 "ldap://admin:s3cret@127.0.0.1:389"])
def test_credentials_in_an_ldap_url_reach_no_message(tmp_path, url):
    export = Tenant(entra=[entra_user(1)], mattermost=[mm_user(1)]).write(tmp_path / "e")
    result = _audit("--input-dir", str(export), "--output-dir", str(tmp_path / "out"), "--ldap", url,
                    env={"RECONCILE_LDAP_BIND_DN": "cn=r", "RECONCILE_LDAP_PASSWORD": "pw"})
    assert result.exit_code == ExitCode.INPUT_ERROR, result.output
    assert "s3cret" not in result.output
    assert not (tmp_path / "out").exists()


def test_a_memory_limit_too_small_for_the_run_says_which_setting_to_raise(tmp_path):
    result = CliRunner().invoke(main, ["audit", "--sample", "--output-dir", str(tmp_path / "out"), "-q",
                                       "--memory-limit", "3MB"])
    assert result.exit_code == ExitCode.INTERNAL_ERROR, result.output
    assert "needed more memory than its limit (3MB)" in result.output and "--memory-limit" in result.output
    assert "Traceback" not in result.output and not (tmp_path / "out").exists()
    bad = CliRunner().invoke(main, ["audit", "--sample", "--output-dir", str(tmp_path / "out"), "-q"],
                             env={"RECONCILE_MEMORY_LIMIT": "banana"})
    assert bad.exit_code == ExitCode.INPUT_ERROR and "'banana' is not a memory size" in bad.output
