"""Job files and the run configuration: precedence, the errors an operator reads, secrets kept out of sight."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import pytest
from click.testing import CliRunner

from reconcile.cli import main
from reconcile.config import ConfigError, Secret, load_job_file, resolve
from reconcile.paths import sample_dir
from reconcile.sources.registry import source_environ, source_options


def _job(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "job.toml"
    path.write_text(text, encoding="utf-8")
    return path


def _invoke(*args: str, env: dict[str, str] | None = None):
    return CliRunner().invoke(main, list(args), env=env)


def test_command_line_beats_environment_beats_job_file_beats_default(tmp_path):
    job = _job(tmp_path, """
fail_on = "warning"
memory_limit = "900MB"
[sources.ldap]
url = "ldaps://from-file"
base_dn = "dc=file"
filter = "(uid=file)"
""")
    resolved = resolve({"sources.ldap.base_dn": "dc=cli"},
                       {"RECONCILE_LDAP_BASE_DN": "dc=env", "RECONCILE_LDAP_FILTER": "(uid=env)"}, job)
    config, origins = resolved.config, resolved.origins
    assert config.ldap.base_dn == "dc=cli" and origins["sources.ldap.base_dn"] == "command line (--ldap-base-dn)"
    assert config.ldap.filter == "(uid=env)" and origins["sources.ldap.filter"] == "environment (RECONCILE_LDAP_FILTER)"
    assert config.ldap.url == "ldaps://from-file" and origins["sources.ldap.url"] == f"job file ({job})"
    assert config.fail_on == "warning" and config.memory_limit == "900MB"
    assert config.keep_snapshots == 2 and origins["retention.snapshots"] == "default"
    assert config.ldap.read == "ldap" and origins["sources.ldap.read"].startswith("derived")


def test_an_empty_variable_counts_as_unset(tmp_path):
    job = _job(tmp_path, 'fail_on = "info"\n')
    assert resolve({}, {"RECONCILE_FAIL_ON": "  "}, job).config.fail_on == "info"


def test_a_missing_value_names_the_key_path_and_every_place_looked(tmp_path):
    job = _job(tmp_path, '[sources.ldap]\nread = "ldap"\n')
    with pytest.raises(ConfigError) as caught:
        resolve({}, {}, job)
    message = str(caught.value)
    assert "sources.ldap.url is not set" in message
    for place in ("--ldap", "RECONCILE_LDAP_URL", f"{job}, [sources.ldap] url"):
        assert place in message


def test_unknown_keys_are_errors_with_a_suggestion_and_all_problems_are_listed(tmp_path):
    job = _job(tmp_path, """
fail_onn = "blocking"
[sources.ldap]
basedn = "dc=x"
page_size = "500"
[sources.mattermost]
token = "xoxo-plain"
[retension]
days = 3
""")
    with pytest.raises(ConfigError) as caught:
        load_job_file(job)
    message = str(caught.value)
    assert str(job) in message
    assert "unknown key fail_onn (did you mean fail_on?)" in message
    assert "unknown key sources.ldap.basedn (did you mean sources.ldap.base_dn?)" in message
    assert "unknown key retension (did you mean retention?)" in message
    assert "sources.ldap.page_size: expected a whole number" in message
    assert "sources.mattermost.token: a secret is never written in a job file" in message
    assert "xoxo-plain" not in message


def test_a_toml_syntax_error_names_the_file_and_line(tmp_path):
    job = _job(tmp_path, 'fail_on = "blocking"\nstore = \n')
    with pytest.raises(ConfigError, match=r"job\.toml: not valid TOML: .*line 2"):
        load_job_file(job)


def test_invalid_values_in_the_environment_name_the_variable(tmp_path):
    with pytest.raises(ConfigError) as caught:
        resolve({}, {"RECONCILE_SHRINK_THRESHOLD": "lots", "RECONCILE_HISTORY": "perhaps",
                     "RECONCILE_FORMATS": "csv,pdf"}, None)
    message = str(caught.value)
    assert "RECONCILE_SHRINK_THRESHOLD: expected a number, got 'lots'" in message
    assert "RECONCILE_HISTORY: expected true or false" in message
    assert "pdf not one of csv, json, html" in message


def test_a_dated_output_dir_needs_an_explicit_store(tmp_path):
    job = _job(tmp_path, 'output_dir = "/srv/reports/%Y-%m-%d"\n')
    with pytest.raises(ConfigError, match="store is not set, and output_dir"):
        resolve({}, {}, job)
    config = resolve({"store": tmp_path / "s.duckdb"}, {}, job).config
    assert config.output_path(datetime(2026, 12, 2, 2, 30, tzinfo=UTC)) == Path("/srv/reports/2026-12-02")


def test_inconsistent_source_settings_say_which_values_disagree_and_where_from(tmp_path):
    job = _job(tmp_path, '[sources.entra]\nincremental = true\n')
    with pytest.raises(ConfigError) as caught:
        resolve({}, {}, job)
    assert "sources.entra.incremental = True (from job file" in str(caught.value)
    assert "needs sources.entra.read = 'graph', which is 'files' (from default)" in str(caught.value)


def test_secret_references_reach_the_clients_only_for_the_sources_in_use(tmp_path):
    secret_file = tmp_path / "ldap-password"
    secret_file.write_text("s3cret-from-file\n")
    job = _job(tmp_path, f"""
[sources.ldap]
url = "ldaps://dc.example"
bind_dn = "cn=reader"
password = {{ file = "{secret_file}" }}
[sources.mattermost]
url = "https://chat.example"
token = {{ env = "MY_MM_TOKEN" }}
users = "db"
dsn = {{ env = "MY_DSN" }}
[sources.entra]
client_secret = {{ env = "NOT_USED" }}
""")
    environ = {"MY_MM_TOKEN": "tok-123", "MY_DSN": "host=db dbname=mm password=pw", "RECONCILE_LDAP_PASSWORD": ""}
    config = resolve({}, environ, job).config
    assert config.ldap.password == Secret("file", str(secret_file), "sources.ldap.password")
    merged = source_environ(config, environ)
    assert merged["RECONCILE_LDAP_PASSWORD_FILE"] == str(secret_file) and "RECONCILE_LDAP_PASSWORD" not in merged
    assert merged["RECONCILE_LDAP_BIND_DN"] == "cn=reader"
    assert merged["RECONCILE_MATTERMOST_TOKEN"] == "tok-123"
    assert "RECONCILE_ENTRA_CLIENT_SECRET" not in merged  # Entra is read from files: its secret is never read
    options = source_options(config, environ)
    assert options.mattermost_dsn == "host=db dbname=mm password=pw" and options.ldap.url == "ldaps://dc.example"


def test_a_secret_reference_that_cannot_be_read_names_the_key(tmp_path):
    job = _job(tmp_path, '[sources.mattermost]\nurl = "https://chat.example"\n'
                         f'token = {{ file = "{tmp_path / "absent"}" }}\n')
    config = resolve({}, {}, job).config
    with pytest.raises(ConfigError, match=r"sources\.mattermost\.token: the secret is \{ file = .*absent.* cannot"):
        config.mattermost.token.read({})
    with pytest.raises(ConfigError, match="MISSING_VAR is not set"):
        Secret("env", "MISSING_VAR", "sources.ldap.password").read({})


def test_a_dsn_with_a_password_is_refused_in_a_job_file(tmp_path):
    job = _job(tmp_path, '[sources.mattermost]\ndsn = "host=db password=hunter2"\n')
    with pytest.raises(ConfigError) as caught:
        load_job_file(job)
    assert "holds a password" in str(caught.value) and "hunter2" not in str(caught.value)
    plain = _job(tmp_path, '[sources.mattermost]\ndsn = "host=db dbname=mattermost"\n')
    assert resolve({}, {}, plain).config.mattermost.users == "db"


def test_config_show_masks_secrets_and_says_where_each_value_came_from(tmp_path):
    secret_file = tmp_path / "token"
    secret_file.write_text("file-secret-value")
    job = _job(tmp_path, f"""
input_dir = "{sample_dir()}"
[sources.mattermost]
url = "https://chat.example"
token = {{ file = "{secret_file}" }}
[sources.ldap]
url = "ldaps://dc.example"
""")
    result = _invoke("config", "show", "--job", str(job), "--ldap-base-dn", "dc=cli",
                     env={"RECONCILE_LDAP_PASSWORD": "env-secret-value", "RECONCILE_FAIL_ON": "warning"})
    assert result.exit_code == 0, result.output
    out = result.stdout
    assert "file-secret-value" not in out and "env-secret-value" not in out
    lines = {line.split(" = ")[0]: line for line in out.splitlines()}
    assert "(readable)" in lines["sources.mattermost.token"] and str(secret_file) in lines["sources.mattermost.token"]
    assert "RECONCILE_LDAP_PASSWORD" in lines["sources.ldap.password"]
    assert "command line (--ldap-base-dn)" in lines["sources.ldap.base_dn"]
    assert "environment (RECONCILE_FAIL_ON)" in lines["fail_on"]
    assert "job file" in lines["sources.ldap.url"] and "default" in lines["retention.snapshots"]


def test_config_show_and_run_exit_2_on_a_bad_job_file(tmp_path):
    job = _job(tmp_path, '[sources.ldap]\nbase_dnn = "dc=x"\n')
    for args in (("config", "show", "--job", str(job)), ("run", "--job", str(job))):
        result = _invoke(*args)
        assert result.exit_code == 2
        assert "did you mean sources.ldap.base_dn?" in result.stderr


def test_run_job_on_the_sample_tenant_files_mode_end_to_end(tmp_path):
    job = _job(tmp_path, f"""
input_dir = "{sample_dir()}"
output_dir = "{tmp_path / 'reports' / '%Y'}"
store = "{tmp_path / 'store.duckdb'}"
fail_on = "never"
log_format = "json"
formats = ["csv", "json", "html"]
[retention]
snapshots = 1
""")
    result = _invoke("run", "--job", str(job), "-q")
    assert result.exit_code == 0, result.output
    closing = json.loads(result.stderr.splitlines()[-1])
    assert closing["event"] == "run_finished" and closing["status"] == "complete"
    assert closing["rows"]["entra_users"] == 300
    year = datetime.now(UTC).strftime("%Y")
    summary = json.loads((tmp_path / "reports" / year / "summary.json").read_text())
    assert summary["run_id"] == closing["run_id"] and (tmp_path / "store.duckdb").exists()
    # the command line overrides the job file: the same job with --fail-on blocking finds the planted blockers
    assert _invoke("run", "--job", str(job), "-q", "--fail-on", "blocking").exit_code == 1


def test_audit_keeps_its_command_line(tmp_path):
    result = _invoke("audit", "--sample", "--output-dir", str(tmp_path / "out"), "--fail-on", "never",
                     "--ios-bundle-id", "com.mattermost.rnbeta", "-q")
    assert result.exit_code == 0, result.output
    assert (tmp_path / "out" / "findings.csv").exists()
    assert _invoke("audit", "--sample", "--incremental").exit_code == 2


def test_rules_list_show_and_the_list_rules_alias():
    listing = _invoke("rules", "list")
    assert listing.exit_code == 0 and "USER_AUTHDATA_IS_EMAIL" in listing.output
    assert _invoke("list-rules").output == listing.output
    shown = _invoke("rules", "show", "USER_AUTHDATA_IS_EMAIL")
    assert shown.exit_code == 0 and "fix:" in shown.output and "inputs:" in shown.output
    wrong = _invoke("rules", "show", "USER_AUTHDATA_IS_EMAL")
    assert wrong.exit_code == 2 and "did you mean USER_AUTHDATA_IS_EMAIL?" in wrong.output


def test_a_graph_credential_in_the_environment_replaces_the_job_files_credential(tmp_path):
    job = _job(tmp_path, '[sources.entra]\nread = "graph"\nclient_secret = { file = "/run/credentials/x/secret" }\n')
    resolved = resolve({}, {"RECONCILE_ENTRA_ACCESS_TOKEN": "bearer"}, job)
    assert resolved.config.entra.client_secret is None
    assert "gives way to sources.entra.access_token" in resolved.origins["sources.entra.client_secret"]
    merged = source_environ(resolved.config, {"RECONCILE_ENTRA_ACCESS_TOKEN": "bearer"})
    assert merged["RECONCILE_ENTRA_ACCESS_TOKEN"] == "bearer" and "RECONCILE_ENTRA_CLIENT_SECRET" not in merged
    kept = resolve({}, {}, job).config.entra.client_secret  # without one in the environment the file's stands
    assert kept == Secret("file", "/run/credentials/x/secret", "sources.entra.client_secret")
