"""The command line as schedulers and admins use it: exit codes, quiet runs, files, history."""

from __future__ import annotations

import csv
import json
import re
import stat

import duckdb
from click.testing import CliRunner
from tenant import Tenant, entra_user, mm_user, oid

from reconcile.cli import main
from reconcile.rules import load_rules


def _invoke(*args: str):
    return CliRunner().invoke(main, list(args))


def _clean_tenant() -> Tenant:
    return Tenant(entra=[entra_user(1), entra_user(2)], mattermost=[mm_user(1), mm_user(2)])


def test_usage_errors_exit_2(tmp_path):
    assert _invoke("audit").exit_code == 2
    assert _invoke("audit", "--sample", "--input-dir", str(tmp_path)).exit_code == 2
    assert _invoke("audit", "--sample", "--fail-on", "sometimes").exit_code == 2
    assert _invoke("audit", "--input-dir", str(tmp_path / "missing")).exit_code == 2
    assert _invoke("no-such-command").exit_code == 2


def test_clean_tenant_exits_0_and_quiet_prints_only_the_closing_line(tmp_path):
    export = _clean_tenant().write(tmp_path / "export")
    result = _invoke("audit", "--input-dir", str(export), "--output-dir", str(tmp_path / "out"), "-q")
    assert result.exit_code == 0, result.output
    assert result.stdout == ""
    lines = result.stderr.splitlines()  # a scheduler's log gets one line per run, saying what happened
    assert len(lines) == 1 and re.match(r"run \S+ complete exit=0 rows: .*entra_users=2 .*mattermost_users=2", lines[0])
    summary = json.loads((tmp_path / "out" / "summary.json").read_text())
    assert summary["readiness"]["ready"] == 2
    assert summary["exit_code"] == 0


def test_blocking_finding_exits_1_and_summary_table_names_it(tmp_path):
    tenant = _clean_tenant()
    tenant.mattermost[1]["auth_data"] = "user2@contoso.com"
    export = tenant.write(tmp_path / "export")
    result = _invoke("audit", "--input-dir", str(export), "--output-dir", str(tmp_path / "out"))
    assert result.exit_code == 1
    assert "USER_AUTHDATA_IS_EMAIL" in result.output
    assert _invoke("audit", "--input-dir", str(export), "--output-dir", str(tmp_path / "o2"),
                   "--fail-on", "never", "-q").exit_code == 0


def test_reports_and_store_are_owner_only(tmp_path):
    export = _clean_tenant().write(tmp_path / "export")
    out = tmp_path / "out"
    assert _invoke("audit", "--input-dir", str(export), "--output-dir", str(out), "-q").exit_code == 0
    assert stat.S_IMODE(out.stat().st_mode) == 0o700
    for name in ("findings.csv", "findings.json", "readiness.csv", "summary.json", "report.html",
                 "reconcile.duckdb"):
        assert stat.S_IMODE((out / name).stat().st_mode) == 0o600, name
    assert not list(out.glob("*.tmp"))


def test_csv_is_bom_utf8_and_formula_safe(tmp_path):
    tenant = Tenant(entra=[entra_user(1)],
                    mattermost=[mm_user(1), mm_user(9, email="=HYPERLINK(\"http://x\")@evil.com",
                                                   auth_data="ghost-9")])
    export = tenant.write(tmp_path / "export")
    _invoke("audit", "--input-dir", str(export), "--output-dir", str(tmp_path / "out"), "-q")
    raw = (tmp_path / "out" / "findings.csv").read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf")
    rows = list(csv.DictReader((tmp_path / "out" / "findings.csv").open(encoding="utf-8-sig")))
    row = next(r for r in rows if r["rule_id"] == "USER_NO_ENTRA_MATCH")
    assert row["email"] == "'=HYPERLINK(\"http://x\")@evil.com"
    findings = json.loads((tmp_path / "out" / "findings.json").read_text())
    assert any(f["email"] == "=HYPERLINK(\"http://x\")@evil.com" for f in findings), "JSON keeps the raw value"


def test_history_new_and_resolved_since_previous_run(tmp_path):
    tenant = _clean_tenant()
    tenant.mattermost[0]["auth_data"] = oid(1).upper()
    store = tmp_path / "store.duckdb"
    args = ["--store", str(store), "-q", "--fail-on", "never"]
    _invoke("audit", "--input-dir", str(tenant.write(tmp_path / "e1")), "--output-dir", str(tmp_path / "r1"), *args)
    tenant.mattermost[0]["auth_data"] = oid(1)
    tenant.mattermost[1]["auth_data"] = "user2@contoso.com"
    _invoke("audit", "--input-dir", str(tenant.write(tmp_path / "e2")), "--output-dir", str(tmp_path / "r2"), *args)
    first = json.loads((tmp_path / "r1" / "summary.json").read_text())
    second = json.loads((tmp_path / "r2" / "summary.json").read_text())
    assert first["changes_since_previous"] is None
    assert second["previous_run_id"] == first["run_id"]
    assert second["changes_since_previous"] == {"new": 1, "resolved": 1}


def test_store_keeps_every_run_and_prunes_snapshots(tmp_path):
    export = _clean_tenant().write(tmp_path / "export")
    store = tmp_path / "store.duckdb"
    for n in range(3):
        result = _invoke("audit", "--input-dir", str(export), "--output-dir", str(tmp_path / f"r{n}"),
                         "--store", str(store), "--keep-snapshots", "2", "-q")
        assert result.exit_code == 0, result.output
    con = duckdb.connect(str(store), read_only=True)
    assert con.execute("SELECT count(*) FROM runs").fetchall() == [(3,)]
    assert con.execute("SELECT count(DISTINCT run_id) FROM readiness").fetchall() == [(3,)]
    assert con.execute("SELECT count(DISTINCT run_id) FROM stg_entra_users").fetchall() == [(2,)]
    assert con.execute("SELECT count(*) FROM stg_entra_users").fetchall() == [(4,)]
    con.close()


def test_list_rules_and_version():
    listing = _invoke("list-rules")
    assert listing.exit_code == 0
    for rule in load_rules():
        assert rule.rule_id in listing.output
    assert "0.1.0" in _invoke("--version").output


def test_html_report_is_self_contained_and_escaped(tmp_path):
    tenant = Tenant(entra=[entra_user(1)],
                    mattermost=[mm_user(1, auth_data="<script>alert(1)</script>")])
    export = tenant.write(tmp_path / "export")
    _invoke("audit", "--input-dir", str(export), "--output-dir", str(tmp_path / "out"), "-q")
    html = (tmp_path / "out" / "report.html").read_text(encoding="utf-8")
    assert "USER_AUTHDATA_MISMATCH" in html
    assert "<script>" not in html and "&lt;script&gt;" in html
    assert "<link" not in html and "src=" not in html and "@import" not in html
    assert all(ref.startswith("#") for ref in re.findall(r"href='([^']*)'", html))


def test_store_of_an_older_version_gains_new_staging_columns(tmp_path):
    """A nightly store outlives versions: a snapshot table missing a newer column is extended, not broken."""
    export = _clean_tenant().write(tmp_path / "export")
    store = tmp_path / "store.duckdb"
    assert _invoke("audit", "--input-dir", str(export), "--output-dir", str(tmp_path / "r1"), "--store", str(store),
                   "-q").exit_code == 0
    con = duckdb.connect(str(store))
    con.execute("ALTER TABLE stg_entra_users DROP COLUMN intune_plan_status")  # as an older version wrote it
    con.close()
    result = _invoke("audit", "--input-dir", str(export), "--output-dir", str(tmp_path / "r2"), "--store", str(store),
                     "-q")
    assert result.exit_code == 0, result.output
    con = duckdb.connect(str(store), read_only=True)
    assert con.execute("SELECT count(intune_plan_status), count(*) FROM stg_entra_users").fetchall() == [(2, 4)]
    con.close()


def test_reports_switch_as_one_set_and_a_failed_write_keeps_the_previous_set(tmp_path):
    """Every top-level report names the same run; a second run whose report write fails (a read-only
    runs/ folder) leaves the first run's complete set readable, not a mix of the two."""
    import os

    from reconcile.audit import REPORT_FILES

    export = _clean_tenant().write(tmp_path / "export")
    out = tmp_path / "out"

    def run_ids() -> set[str]:
        ids = {json.loads((out / "summary.json").read_text())["run_id"]}
        ids |= {f["run_id"] for f in json.loads((out / "findings.json").read_text())}
        for name in ("findings.csv", "readiness.csv"):
            with (out / name).open(encoding="utf-8-sig", newline="") as handle:
                ids |= {row["run_id"] for row in csv.DictReader(handle)}
        html = (out / "report.html").read_text()
        return {i for i in ids if i in html}

    assert _invoke("audit", "--input-dir", str(export), "--output-dir", str(out), "-q").exit_code == 0
    [first] = run_ids()
    # the second run's report write fails after its store commit: runs/ is (for now) a plain file
    link_before = os.readlink(out / "current")
    (out / "runs").rename(tmp_path / "runs-aside")
    (out / "runs").write_text("in the way")
    failed = _invoke("audit", "--input-dir", str(export), "--output-dir", str(out), "-q")
    (out / "runs").unlink()
    (tmp_path / "runs-aside").rename(out / "runs")
    assert failed.exit_code == 5
    said = " ".join(failed.output.split())
    assert "is stored in" in said and "its reports could not be written" in said
    assert "nothing was written" not in said, "the store holds the run: the message must not say otherwise"
    assert os.readlink(out / "current") == link_before, "nothing was switched"
    assert run_ids() == {first}, "the previous set stays whole"
    assert _invoke("audit", "--input-dir", str(export), "--output-dir", str(out), "-q").exit_code == 0
    [third] = run_ids()
    assert third != first
    assert sorted(p.name for p in (out / "runs").iterdir()) == sorted({first, third})
    # outcomes.csv only with Intune registrations, which this export has not
    assert all((out / name).is_symlink() for name in REPORT_FILES if name != "outcomes.csv")
    assert not (out / "outcomes.csv").exists()
