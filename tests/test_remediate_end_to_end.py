"""The whole loop on the sample tenant, through the command line and the Mattermost API (issue 14): audit,
plan, dry run, apply, re-audit (the fixed people are ready), undo (the findings are back, exactly).
The Mattermost side is the API fake over real HTTP, holding the sample's accounts; the rest is files.
"""

from __future__ import annotations

import csv
import json
import shutil
from pathlib import Path

from click.testing import CliRunner
from fake_mattermost import ADMIN_TOKEN, FakeMattermost

from reconcile.cli import main
from reconcile.paths import sample_dir
from reconcile.remediate.plan_file import load_plan
from reconcile.sources.mattermost_files import read_mattermost_users

ENV = {"RECONCILE_MATTERMOST_TOKEN": ADMIN_TOKEN}


def _export_without_mattermost(tmp_path: Path) -> Path:
    export = tmp_path / "export"
    shutil.copytree(sample_dir(), export, ignore=shutil.ignore_patterns("misconfigured", "README.md"))
    for name in ("mattermost_users.json", "mattermost_config.json", "mattermost_license.json"):
        (export / name).unlink()
    return export


def _server() -> FakeMattermost:
    sample = sample_dir()
    users = list(read_mattermost_users(sample / "mattermost_users.json"))
    for user in users:
        user.pop("_where", None)
    return FakeMattermost(users=users, config=json.loads((sample / "mattermost_config.json").read_text()),
                          license=json.loads((sample / "mattermost_license.json").read_text()))


def _invoke(*args: str):
    return CliRunner().invoke(main, list(args), env=ENV)


def _audit(export: Path, url: str, out: Path) -> tuple[list[dict], dict[str, dict]]:
    result = _invoke("audit", "--input-dir", str(export), "--output-dir", str(out), "--mattermost-url", url,
                     "--fail-on", "never", "--no-history", "-q")
    assert result.exit_code == 0, result.output
    with (out / "findings.csv").open(encoding="utf-8-sig", newline="") as handle:
        findings = list(csv.DictReader(handle))
    with (out / "readiness.csv").open(encoding="utf-8-sig", newline="") as handle:
        readiness = {row["entra_object_id"]: row for row in csv.DictReader(handle)}
    return findings, readiness


def _comparable(findings: list[dict]) -> list[tuple]:
    return sorted((f["rule_id"], f["entra_object_id"], f["mattermost_user_id"], f["observed"]) for f in findings)


def test_plan_apply_reaudit_and_undo_against_the_api(tmp_path):
    export = _export_without_mattermost(tmp_path)
    plan_path = tmp_path / "review" / "PLAN.json"
    with _server() as server:
        before, readiness_before = _audit(export, server.url, tmp_path / "before")
        planned = _invoke("remediate", "plan", "--plan", str(plan_path), "--input-dir", str(export),
                          "--mattermost-url", server.url, "-q")
        assert planned.exit_code == 0, planned.output
        plan = load_plan(plan_path)
        people = {c.entra_object_id for c in plan.changes}
        assert len(plan.changes) == 14 and all(readiness_before[p]["status"] == "will_fail" for p in people)

        dry = _invoke("remediate", "apply", str(plan_path), "--mattermost-url", server.url)
        assert dry.exit_code == 0, dry.output
        assert not server.requests_to(f"/users/{plan.changes[0].mattermost_user_id}/auth"), "a dry run writes nothing"
        assert not (plan_path.parent / "PLAN.journal.jsonl").exists()

        applied = _invoke("remediate", "apply", str(plan_path), "--mattermost-url", server.url, "--yes")
        assert applied.exit_code == 0, applied.output
        journal = plan_path.parent / "PLAN.journal.jsonl"
        outcomes = [json.loads(line) for line in journal.read_text(encoding="utf-8").splitlines()]
        assert sorted(o["mattermost_user_id"] for o in outcomes if o["status"] == "applied") == sorted(
            c.mattermost_user_id for c in plan.changes)

        after, readiness_after = _audit(export, server.url, tmp_path / "after")
        fixed = {c.mattermost_user_id for c in plan.changes}
        assert not [f for f in after if f["mattermost_user_id"] in fixed
                    and (f["rule_id"].startswith("USER_AUTHDATA") or f["rule_id"] == "USER_SAML_AUTHDATA_MISMATCH")]
        assert {readiness_after[p]["status"] for p in people} == {"ready"}, "each planted person had one problem"
        # nobody else moved: every other finding is as it was
        assert _comparable([f for f in after if f["mattermost_user_id"] not in fixed]) == _comparable(
            [f for f in before if f["mattermost_user_id"] not in fixed])

        # a second apply finds everything done
        again = _invoke("remediate", "apply", str(plan_path), "--mattermost-url", server.url, "--yes")
        assert again.exit_code == 0 and "already" in again.output

        undone = _invoke("remediate", "undo", str(journal), "--mattermost-url", server.url, "--yes")
        assert undone.exit_code == 0, undone.output
        restored, _ = _audit(export, server.url, tmp_path / "restored")
    assert _comparable(restored) == _comparable(before), "undo puts back exactly what was there"
