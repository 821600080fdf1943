"""directory_team.csv and mattermost_admins.csv: the right fix in the right team's file, one row per
account and change, as a person opens it (UTF-8 with BOM, no formulas, owner-only), and the same
rows from a stored run's findings as from the run itself (what ``reconcile export`` reuses)."""

from __future__ import annotations

import csv
import json
import shutil
from pathlib import Path

import duckdb
import pytest

from reconcile.audit import run_audit
from reconcile.paths import sample_dir
from reconcile.report.team_csv import TEAM_COLUMNS, TEAM_FILES, write_team_csvs
from reconcile.rules import load_rules

OWNER_OF = {rule.rule_id: rule.owner for rule in load_rules()}
FILE_OF = {owner: name for name, owner in TEAM_FILES.items()}
LEE = "089198b6-e618-4717-8858-cfcae5f9683e"
FORMULA = '=HYPERLINK("http://evil.example/","open me")'


def _read(path: Path) -> list[dict[str, str]]:
    raw = path.read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf"), f"{path.name} has no UTF-8 BOM"
    rows = list(csv.reader(raw.decode("utf-8-sig").splitlines()))
    assert tuple(rows[0]) == TEAM_COLUMNS
    return [dict(zip(TEAM_COLUMNS, row, strict=True)) for row in rows[1:]]


@pytest.fixture(scope="module", params=["tenant", "misconfigured"])
def audited(request, tmp_path_factory):
    base = tmp_path_factory.mktemp(f"team-{request.param}")
    result = run_audit(sample_dir(request.param), base / "out", base / "store.duckdb")
    return result, base


def _findings(out: Path) -> list[dict[str, str]]:
    with (out / "findings.csv").open(encoding="utf-8-sig", newline="") as handle:
        return list(csv.DictReader(handle))


def test_every_fix_is_in_its_owners_file(audited):
    _, base = audited
    files = {name: _read(base / "out" / name) for name in TEAM_FILES}
    findings = [f for f in _findings(base / "out") if f["severity"] in ("blocking", "warning")]
    assert findings
    for finding in findings:
        owner = OWNER_OF[finding["rule_id"]]
        rows = [r for r in files[FILE_OF[owner]]
                if finding["rule_id"] in r["rule_ids"].split(";")
                and r["entra_object_id"] == finding["entra_object_id"]
                and r["mattermost_user_id"] == finding["mattermost_user_id"]
                and r["new_value"] == finding["expected"]]
        assert len(rows) == 1, (finding, rows)
        other = files[next(n for n in TEAM_FILES if n != FILE_OF[owner])]
        assert not any(finding["rule_id"] in r["rule_ids"].split(";") for r in other), finding["rule_id"]
    # info findings ask for no change; every row is one the findings account for
    for name, rows in files.items():
        assert all(r["severity"] in ("blocking", "warning") for r in rows), name
        assert all(r["change"] and r["how"] and r["new_value"] for r in rows), name
    assert sum(len(rows) for rows in files.values()) <= len(findings)


def test_files_are_owner_only(audited):
    _, base = audited
    for name in TEAM_FILES:
        top = base / "out" / name
        assert top.is_symlink()
        assert top.resolve().stat().st_mode & 0o777 == 0o600, name


def test_sample_tenant_rows(tmp_path_factory):
    base = tmp_path_factory.mktemp("team-rows")
    run_audit(sample_dir(), base / "out", base / "store.duckdb")
    directory = _read(base / "out" / "directory_team.csv")
    mattermost = _read(base / "out" / "mattermost_admins.csv")
    dana = [r for r in directory if r["user_principal_name"] == "Dana.Adams@contoso.com"]
    assert [(r["rule_ids"], r["change"], r["new_value"]) for r in dana] == [
        ("USER_LDAP_AADOBJECTID_MISSING", "LDAP entry attribute msDS-aadObjectId",
         "msDS-aadObjectId = 9730ff8c-0ec7-42e3-8279-8c98920f9021")]
    assert "CN=Dana Adams,OU=AADDC Users" in dana[0]["current_value"]
    lee = [r for r in directory if r["entra_object_id"] == LEE]
    assert [r["rule_ids"] for r in lee] == ["USER_INTUNE_UNLICENSED"]
    assert not any(r["entra_object_id"] == LEE for r in mattermost)
    # two rules, one change: Amara's account must be rebound to her objectId, once
    amara = [r for r in mattermost if r["mattermost_user_id"] == "d6mkdd7bd6h5agcm9mgxyfarfe"
             and r["change"] == "Mattermost account auth_data"]
    assert len(amara) == 1
    assert amara[0]["rule_ids"] == "USER_AUTHDATA_IS_EMAIL;USER_SAML_AUTHDATA_MISMATCH"
    assert amara[0]["new_value"] == "1fdcd58d-a3a7-4e4e-9bae-00806f085306"
    assert "amara.dubois@fabrikam.com" in amara[0]["current_value"]
    # the API call to make, with this account's id, not a template
    assert "PUT /api/v4/users/d6mkdd7bd6h5agcm9mgxyfarfe/auth" in amara[0]["how"]
    assert not any("{user_id}" in r["how"] for r in mattermost if r["mattermost_user_id"])
    # tenant-level changes (no account) are rows of their own
    assert any(r["rule_ids"] == "INTUNE_POLICY_UNASSIGNED" and not r["entra_object_id"] for r in directory)


def test_misconfigured_config_rows(tmp_path_factory):
    base = tmp_path_factory.mktemp("team-config")
    run_audit(sample_dir("misconfigured"), base / "out", base / "store.duckdb")
    directory = _read(base / "out" / "directory_team.csv")
    mattermost = _read(base / "out" / "mattermost_admins.csv")
    license_rows = [r for r in mattermost if r["rule_ids"] == "MM_LICENSE_NOT_ADVANCED"]
    assert len(license_rows) == 1 and license_rows[0]["subject_type"] == "config"
    assert license_rows[0]["change"] == "Mattermost server licence"
    assert {"ENTRA_TOKEN_VERSION", "ENTRA_API_SCOPE_MISSING"} <= {r["rule_ids"] for r in directory}
    assert not any(r["rule_ids"].startswith("MM_") for r in directory)


def test_stored_run_gives_the_same_files(audited, tmp_path):
    """What ``reconcile export`` does: the latest stored run's findings, no extraction."""
    result, base = audited
    con = duckdb.connect(str(base / "store.duckdb"), read_only=True)
    try:
        con.execute(f"CREATE TEMP VIEW stored_findings AS SELECT * FROM findings WHERE run_id = '{result.run_id}'")
        counts = write_team_csvs(con, "stored_findings", tmp_path)
    finally:
        con.close()
    for name in TEAM_FILES:
        assert (tmp_path / name).read_bytes() == (base / "out" / name).read_bytes(), name
        assert counts[name] == len(_read(tmp_path / name))
        assert (tmp_path / name).stat().st_mode & 0o777 == 0o600


def test_findings_table_must_be_a_name(tmp_path):
    con = duckdb.connect()
    with pytest.raises(ValueError, match="table or view name"):
        write_team_csvs(con, "findings; DROP TABLE runs", tmp_path)
    assert not list(tmp_path.iterdir())


def test_cells_are_formula_safe(tmp_path):
    """A UPN typed as a formula reaches the directory team's spreadsheet as text."""
    tenant = tmp_path / "tenant"
    shutil.copytree(sample_dir(), tenant, ignore=shutil.ignore_patterns("misconfigured"))
    path = tenant / "entra_users.json"
    pages = json.loads(path.read_text(encoding="utf-8"))
    for page in pages:
        for user in page["value"]:
            if user["id"] == LEE:
                user["userPrincipalName"] = FORMULA
    path.write_text(json.dumps(pages), encoding="utf-8")
    run_audit(tenant, tmp_path / "out", tmp_path / "store.duckdb")
    rows = _read(tmp_path / "out" / "directory_team.csv")
    lee = [r for r in rows if r["entra_object_id"] == LEE]
    assert lee and lee[0]["user_principal_name"] == "'" + FORMULA
    for name in TEAM_FILES:
        for row in _read(tmp_path / "out" / name):
            for column, value in row.items():
                assert not value.startswith(("=", "+", "-", "@", "\t", "\r")), (name, column, value)


def test_every_rule_says_what_its_fix_changes():
    """The ``change`` column comes from the rule header: a rule without one would fall back to its
    title, which names the problem, not what to change."""
    missing = [rule.rule_id for rule in load_rules() if not rule.change]
    assert missing == []
