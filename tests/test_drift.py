"""Drift across real audits of the sample tenant: new, persisting (first_seen kept) and resolved, and
"resolved" only when the run could see it (no false resolution from a missing, failed or shrunken source).

Every test edits a copy of sample_data/ and runs the whole audit against one store, night after night.
"""

from __future__ import annotations

import csv
import json
import shutil
from datetime import datetime
from pathlib import Path

import duckdb
import pytest

from reconcile.audit import AuditResult, run_audit
from reconcile.errors import ExitCode
from reconcile.paths import sample_dir

IVAN = "8qfs4wc4e9qi5hbcxm7nz43anc"     # USER_AUTHDATA_NOT_EXACT: auth_data is the objectId upper-cased
NIA = "kg6cz44xdxppd4w59d96n9iyso"      # USER_AUTHDATA_NOT_EXACT: auth_data is the objectId in braces
STEFAN = "zza64jw4anhamoh63zhm46rhia"   # ready in the sample
DANA = "9730ff8c-0ec7-42e3-8279-8c98920f9021"  # USER_LDAP_AADOBJECTID_MISSING: her entry has none
LDAP_RULES = {"USER_LDAP_AADOBJECTID_MISSING", "USER_LDAP_AADOBJECTID_MISMATCH"}


def _export(tmp_path: Path, name: str, source: Path | None = None) -> Path:
    target = tmp_path / name
    shutil.copytree(source or sample_dir(), target, ignore=shutil.ignore_patterns("misconfigured", "README.md"))
    return target


def _edit_accounts(export: Path, edit) -> None:
    path = export / "mattermost_users.json"
    users = json.loads(path.read_text(encoding="utf-8"))
    users = edit(users) or users
    path.write_text(json.dumps(users, indent=1, ensure_ascii=False), encoding="utf-8")


def _set_auth_data(export: Path, account_id: str, value: str) -> None:
    def edit(users):
        [user] = [u for u in users if u["id"] == account_id]
        user["auth_data"] = value
    _edit_accounts(export, edit)


def _rows(path: Path) -> list[dict]:
    with path.open(encoding="utf-8-sig", newline="") as handle:
        return list(csv.DictReader(handle))


def _by(rows: list[dict], rule_id: str, account: str | None = None, entra: str | None = None) -> dict:
    [row] = [r for r in rows if r["rule_id"] == rule_id
             and (account is None or r["mattermost_user_id"] == account)
             and (entra is None or r["entra_object_id"] == entra)]
    return row


def _started(result: AuditResult) -> str:
    return datetime.fromisoformat(result.summary["started_at"]).strftime("%Y-%m-%dT%H:%M:%SZ")


def _audit(export: Path, out: Path, store: Path, **options) -> AuditResult:
    return run_audit(export, out, store, fail_on="never", **options)


def _check_counts_match_files(result: AuditResult) -> None:
    """summary.json's drift is what findings.csv and resolved.csv hold."""
    findings = _rows(result.output_dir / "findings.csv")
    resolved = _rows(result.output_dir / "resolved.csv")
    assert result.summary["drift"] == {
        "new": sum(r["drift"] == "new" for r in findings),
        "persisting": sum(r["drift"] == "persisting" for r in findings),
        "accepted": sum(r["drift"] == "accepted" for r in findings),
        "reopened": sum(r["drift"] == "reopened" for r in findings),
        "resolved": len(resolved),
    }
    assert {r["drift"] for r in resolved} <= {"resolved"}


def test_three_nights_new_persisting_resolved(tmp_path):
    store = tmp_path / "store.duckdb"
    export = _export(tmp_path, "e1")
    night1 = _audit(export, tmp_path / "r1", store)
    rows1 = _rows(tmp_path / "r1" / "findings.csv")
    assert list(rows1[0])[-2:] == ["drift", "first_seen"]
    assert {r["drift"] for r in rows1} == {"new"}, "an empty store: everything is new"
    assert {r["first_seen"] for r in rows1} == {_started(night1)}
    assert night1.summary["drift"] == {"new": len(rows1), "persisting": 0, "accepted": 0,
                                       "reopened": 0, "resolved": 0}
    assert night1.summary["changes_since_previous"] is None and night1.summary["previous_run_id"] is None
    assert _rows(tmp_path / "r1" / "resolved.csv") == []
    json_rows = json.loads((tmp_path / "r1" / "findings.json").read_text())
    assert {(f["drift"], f["first_seen"]) for f in json_rows} == {("new", _started(night1))}

    # night 2: Ivan's account fixed, Stefan's broken, Nia's wrong value changes form (still the same finding)
    export2 = _export(tmp_path, "e2", export)
    _set_auth_data(export2, IVAN, "277afd0b-92f5-4112-adac-6e6c8fb3e428")
    _set_auth_data(export2, STEFAN, "stefan.martin@contoso.com")
    _set_auth_data(export2, NIA, "5E57B3DC-3AF0-4593-91F5-B7F95B32FD97")
    night2 = _audit(export2, tmp_path / "r2", store)
    rows2 = _rows(tmp_path / "r2" / "findings.csv")
    resolved2 = _rows(tmp_path / "r2" / "resolved.csv")
    new = _by(rows2, "USER_AUTHDATA_IS_EMAIL", STEFAN)
    assert (new["drift"], new["first_seen"]) == ("new", _started(night2))
    nia = _by(rows2, "USER_AUTHDATA_NOT_EXACT", NIA)
    assert "5E57B3DC" in nia["observed"]
    assert (nia["drift"], nia["first_seen"]) == ("persisting", _started(night1))
    gone = _by(resolved2, "USER_AUTHDATA_NOT_EXACT", IVAN)
    assert gone["first_seen"] == _started(night1) and gone["run_id"] == night2.run_id
    assert list(resolved2[0]) == list(rows2[0]), "resolved.csv has the columns of findings.csv"
    assert not [r for r in rows2 if r["rule_id"] == "USER_AUTHDATA_NOT_EXACT" and r["mattermost_user_id"] == IVAN]
    assert night2.summary["previous_run_id"] == night1.run_id
    assert night2.summary["changes_since_previous"] == {"new": night2.summary["drift"]["new"],
                                                        "resolved": night2.summary["drift"]["resolved"]}
    assert night2.summary["drift"]["resolved"] >= 1 and night2.summary["drift"]["new"] >= 1
    _check_counts_match_files(night2)

    # night 3: nothing changed: yesterday's new finding persists since yesterday, nothing resolves
    night3 = _audit(export2, tmp_path / "r3", store)
    rows3 = _rows(tmp_path / "r3" / "findings.csv")
    assert {r["drift"] for r in rows3} == {"persisting"}
    assert _by(rows3, "USER_AUTHDATA_IS_EMAIL", STEFAN)["first_seen"] == _started(night2)
    assert _by(rows3, "USER_AUTHDATA_NOT_EXACT", NIA)["first_seen"] == _started(night1)
    assert night3.summary["drift"] == {"new": 0, "persisting": len(rows3), "accepted": 0,
                                       "reopened": 0, "resolved": 0}
    assert night3.summary["carried_forward"] == 0
    _check_counts_match_files(night3)

    with duckdb.connect(str(store), read_only=True) as con:
        counts = con.execute("SELECT drift_new, drift_persisting, drift_accepted, drift_reopened, drift_resolved "
                             "FROM runs ORDER BY started_at").fetchall()
        sources = con.execute("SELECT count(DISTINCT run_id), count(*) FILTER (WHERE name = 'ldap' AND rows > 0) "
                              "FROM run_sources").fetchall()
    assert counts == [tuple(n.summary["drift"].values()) for n in (night1, night2, night3)]
    assert sources == [(3, 3)]


def test_a_missing_ldif_resolves_nothing_and_a_later_complete_run_does(tmp_path):
    store = tmp_path / "store.duckdb"
    export = _export(tmp_path, "e1")
    night1 = _audit(export, tmp_path / "r1", store)
    ldap1 = {(r["rule_id"], r["entra_object_id"]) for r in _rows(tmp_path / "r1" / "findings.csv")
             if r["rule_id"] in LDAP_RULES}
    assert len(ldap1) == 4

    missing = _export(tmp_path, "e2", export)
    (missing / "ldap_users.ldif").unlink()
    night2 = _audit(missing, tmp_path / "r2", store)
    assert night2.summary["status"] == "complete"
    skipped = {r["rule_id"] for r in night2.summary["skipped_rules"]}
    assert skipped >= LDAP_RULES
    rows2 = _rows(tmp_path / "r2" / "findings.csv")
    carried = [r for r in rows2 if r["rule_id"] in LDAP_RULES]
    assert {(r["rule_id"], r["entra_object_id"]) for r in carried} == ldap1, "still believed open, and shown"
    assert {(r["drift"], r["first_seen"]) for r in carried} == {("persisting", _started(night1))}
    assert not [r for r in _rows(tmp_path / "r2" / "resolved.csv") if r["rule_id"] in LDAP_RULES]
    assert night2.summary["drift"]["resolved"] == 0
    assert night2.summary["carried_forward"] == len(ldap1)
    _check_counts_match_files(night2)
    with duckdb.connect(str(store), read_only=True) as con:
        stored = con.execute("SELECT rule_id, carried_forward FROM findings WHERE run_id = $1 AND rule_id IN $2",
                             [night2.run_id, sorted(LDAP_RULES)]).fetchall()
    assert len(stored) == len(ldap1) and all(flag for _, flag in stored)

    # the LDIF is back, with Dana's msDS-aadObjectId added: that one resolves, the others persist since night 1
    back = _export(tmp_path, "e3", export)
    ldif = back / "ldap_users.ldif"
    text = ldif.read_text(encoding="utf-8")
    assert text.count("mail: Dana.Adams@contoso.com\n") == 1
    ldif.write_text(text.replace("mail: Dana.Adams@contoso.com\n",
                                 f"mail: Dana.Adams@contoso.com\nmsDS-aadObjectId: {DANA}\n"), encoding="utf-8")
    night3 = _audit(back, tmp_path / "r3", store)
    resolved3 = _rows(tmp_path / "r3" / "resolved.csv")
    assert [(r["rule_id"], r["entra_object_id"]) for r in resolved3] == [("USER_LDAP_AADOBJECTID_MISSING", DANA)]
    assert resolved3[0]["first_seen"] == _started(night1)
    rows3 = _rows(tmp_path / "r3" / "findings.csv")
    still = [r for r in rows3 if r["rule_id"] in LDAP_RULES]
    assert len(still) == len(ldap1) - 1
    assert {(r["drift"], r["first_seen"]) for r in still} == {("persisting", _started(night1))}
    assert night3.summary["carried_forward"] == 0
    _check_counts_match_files(night3)


def test_a_failed_ldap_read_is_partial_and_resolves_nothing_it_could_have_decided(tmp_path):
    store = tmp_path / "store.duckdb"
    export = _export(tmp_path, "e1")
    _audit(export, tmp_path / "r1", store)
    broken = _export(tmp_path, "e2", export)
    ldif = broken / "ldap_users.ldif"  # an export whose search matched nobody: a failed source, not an empty one
    header = ldif.read_text(encoding="utf-8").split("\n\n", 1)[0]
    ldif.write_text(f"{header}\n\n# search result\nsearch: 2\nresult: 0 Success\n\n# numResponses: 1\n"
                    "# numEntries: 0\n", encoding="utf-8")
    _set_auth_data(broken, IVAN, "277afd0b-92f5-4112-adac-6e6c8fb3e428")  # fixed, but the account links read LDAP
    night2 = _audit(broken, tmp_path / "r2", store)
    assert night2.exit_code == ExitCode.PARTIAL and night2.summary["status"] == "partial"
    assert [i["name"] for i in night2.summary["failed_inputs"]] == ["ldap"]
    assert night2.summary["drift"]["resolved"] == 0
    assert _rows(tmp_path / "r2" / "resolved.csv") == []
    rows2 = _rows(tmp_path / "r2" / "findings.csv")
    ivan = _by(rows2, "USER_AUTHDATA_NOT_EXACT", IVAN)
    assert ivan["drift"] == "persisting", "not resolvable while a source its rule reads failed"
    assert {r["rule_id"] for r in rows2} >= LDAP_RULES

    # the next complete run resolves it
    fixed = _export(tmp_path, "e3")
    _set_auth_data(fixed, IVAN, "277afd0b-92f5-4112-adac-6e6c8fb3e428")
    night3 = _audit(fixed, tmp_path / "r3", store)
    assert night3.exit_code == ExitCode.CLEAN
    assert _by(_rows(tmp_path / "r3" / "resolved.csv"), "USER_AUTHDATA_NOT_EXACT", IVAN)
    assert night3.summary["carried_forward"] == 0
    _check_counts_match_files(night3)


def _drop_accounts(export: Path, share: float) -> int:
    """Remove a share of the non-bot accounts; returns how many are left in the file."""
    kept: list[dict] = []

    def edit(users):
        cut = int(len(users) * share)
        kept.extend(users[cut:])
        return kept
    _edit_accounts(export, edit)
    return len(kept)


def test_a_shrunken_source_is_refused_then_accepted(tmp_path):
    store = tmp_path / "store.duckdb"
    export = _export(tmp_path, "e1")
    night1 = _audit(export, tmp_path / "r1", store)
    before = next(i["rows"] for i in night1.summary["inputs"] if i["name"] == "mattermost_users")
    shrunk = _export(tmp_path, "e2", export)
    after = _drop_accounts(shrunk, 0.3)

    night2 = _audit(shrunk, tmp_path / "r2", store)
    assert night2.exit_code == ExitCode.PARTIAL and night2.summary["status"] == "partial"
    [failed] = night2.summary["failed_inputs"]
    assert failed["name"] == "mattermost_users"
    share = f"{(after - before) / before * 100:+.1f}".removesuffix(".0")
    assert failed["error"] == (f"rows fell from {before:,} to {after:,} ({share}%) since run {night1.run_id}, "
                               "more than the 20% allowed: a broken filter? pass --accept-shrink if the directory "
                               "really shrank")
    skipped = {r["rule_id"]: r["reason"] for r in night2.summary["skipped_rules"]}
    assert skipped["USER_AUTHDATA_NOT_EXACT"] == "source failed: mattermost_users"
    assert night2.summary["drift"]["resolved"] == 0
    # Known limit: a token finding names its account through the accounts export, so without it the same
    # token is a finding of another identity (no account): new, beside its carried-forward self
    new = [r for r in _rows(tmp_path / "r2" / "findings.csv") if r["drift"] == "new"]
    assert {(r["rule_id"][:6], r["mattermost_user_id"]) for r in new} <= {("TOKEN_", "")}
    with duckdb.connect(str(store), read_only=True) as con:
        assert con.execute("SELECT rows, available, failed FROM run_sources WHERE run_id = $1 AND name = "
                           "'mattermost_users'", [night2.run_id]).fetchall() == [(after, False, True)]

    # refused again the next night (the refused run is no baseline), then accepted
    assert _audit(shrunk, tmp_path / "r3", store).exit_code == ExitCode.PARTIAL
    night4 = _audit(shrunk, tmp_path / "r4", store, accept_shrink=True)
    assert night4.exit_code == ExitCode.CLEAN and night4.summary["status"] == "complete"
    users = next(i for i in night4.summary["inputs"] if i["name"] == "mattermost_users")
    assert users["rows"] == after and users["note"].endswith(": accepted (--accept-shrink)")
    assert night4.summary["drift"]["resolved"] > 0, "the removed accounts' findings resolve once accepted"
    _check_counts_match_files(night4)
    # the accepted size is the new baseline
    assert _audit(shrunk, tmp_path / "r5", store).exit_code == ExitCode.CLEAN


def test_the_shrink_threshold_is_configurable(tmp_path):
    store = tmp_path / "store.duckdb"
    export = _export(tmp_path, "e1")
    _audit(export, tmp_path / "r1", store)
    shrunk = _export(tmp_path, "e2", export)
    _drop_accounts(shrunk, 0.3)
    assert _audit(shrunk, tmp_path / "r2", store, shrink_threshold=0.5).exit_code == ExitCode.CLEAN
    with pytest.raises(ValueError, match="shrink_threshold"):
        _audit(shrunk, tmp_path / "r3", store, shrink_threshold=1.5)


def test_fail_on_new_only(tmp_path):
    store = tmp_path / "store.duckdb"
    export = _export(tmp_path, "e1")

    def night(folder: Path, out: str, **options) -> ExitCode:
        return run_audit(folder, tmp_path / out, store, fail_on="blocking", **options).exit_code

    assert night(export, "r1", fail_on_new_only=True) == ExitCode.FINDINGS, "first run: every blocking one is new"
    assert night(export, "r2", fail_on_new_only=True) == ExitCode.CLEAN, "a known backlog pages no one"
    assert night(export, "r3") == ExitCode.FINDINGS, "without the switch the backlog still fails the run"
    missing = _export(tmp_path, "e2", export)
    (missing / "ldap_users.ldif").unlink()
    assert night(missing, "r4", fail_on_new_only=True) == ExitCode.CLEAN, "carried forward never fails it"
    broken = _export(tmp_path, "e3", export)
    _set_auth_data(broken, STEFAN, "stefan.martin@contoso.com")
    assert night(broken, "r5", fail_on_new_only=True) == ExitCode.FINDINGS, "a new blocking finding does"
    with pytest.raises(ValueError, match="history"):
        night(export, "r6", fail_on_new_only=True, history=False)


def test_without_history_no_drift_and_the_chain_is_kept(tmp_path):
    store = tmp_path / "store.duckdb"
    out = tmp_path / "out"
    export = _export(tmp_path, "e1")
    night1 = _audit(export, out, store)
    assert (out / "resolved.csv").is_file()
    changed = _export(tmp_path, "e2", export)
    _set_auth_data(changed, STEFAN, "stefan.martin@contoso.com")
    night2 = _audit(changed, out, store, history=False)
    rows = _rows(out / "findings.csv")
    assert "drift" not in rows[0] and "first_seen" not in rows[0]
    assert "drift" not in json.loads((out / "findings.json").read_text())[0]
    assert not (out / "resolved.csv").exists() and not (out / "resolved.csv").is_symlink()
    assert night2.summary["drift"] is None and night2.summary["changes_since_previous"] is None
    # a run with history off is no baseline: the next one compares with night 1
    night3 = _audit(changed, out, store)
    assert night3.summary["previous_run_id"] == night1.run_id
    assert _by(_rows(out / "findings.csv"), "USER_AUTHDATA_IS_EMAIL", STEFAN)["first_seen"] == _started(night3)


def test_a_store_from_the_previous_layout_keeps_first_seen_and_guards_shrink(tmp_path):
    """A store written before drift existed: no run_sources, no drift columns. Its last complete run
    is the baseline (first_seen = that run's start), and its kept run_inputs snapshot the shrink guard's."""
    store = tmp_path / "store.duckdb"
    export = _export(tmp_path, "e1")
    night1 = _audit(export, tmp_path / "r1", store)
    with duckdb.connect(str(store)) as con:
        con.execute("DROP TABLE run_sources")
        con.execute("DELETE FROM schema_version WHERE version >= 2")  # as the previous release left it
        for table, columns in (("findings", ("drift", "first_seen", "carried_forward", "observed_with")),
                               ("runs", ("drift_new", "drift_persisting", "drift_resolved"))):
            for column in columns:
                con.execute(f"ALTER TABLE {table} DROP COLUMN {column}")
    shrunk = _export(tmp_path, "e2", export)
    _drop_accounts(shrunk, 0.3)
    night2 = _audit(shrunk, tmp_path / "r2", store)
    assert night2.exit_code == ExitCode.PARTIAL
    assert night2.summary["failed_inputs"][0]["name"] == "mattermost_users"
    assert night2.summary["previous_run_id"] == night1.run_id
    rows = [r for r in _rows(tmp_path / "r2" / "findings.csv")  # less the tokens with no account (see above)
            if not (r["drift"] == "new" and r["rule_id"].startswith("TOKEN_") and not r["mattermost_user_id"])]
    assert {(r["drift"], r["first_seen"]) for r in rows} == {("persisting", _started(night1))}
    assert night2.summary["drift"]["resolved"] == 0
