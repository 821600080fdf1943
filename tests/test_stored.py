"""`reconcile export` and `reconcile history`: read the kept store, change nothing, refuse what is not there."""

from __future__ import annotations

import hashlib
import json

from click.testing import CliRunner

from reconcile.cli import main


def _invoke(*args: str, env: dict[str, str] | None = None):
    return CliRunner().invoke(main, list(args), env=env)


def _digest(path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_export_reads_the_latest_run_without_changing_the_store(tmp_path):
    out = tmp_path / "out"
    assert _invoke("audit", "--sample", "--output-dir", str(out), "-q").exit_code == 1
    second = _invoke("audit", "--sample", "--output-dir", str(out), "-q", "--fail-on", "never")
    assert second.exit_code == 0
    latest = json.loads((out / "summary.json").read_text())["run_id"]
    store = out / "reconcile.duckdb"
    before = _digest(store)
    result = _invoke("export", "--store", str(store), "--output-dir", str(tmp_path / "handover"))
    assert result.exit_code == 0, result.output
    assert latest in result.stdout and _digest(store) == before
    findings = (tmp_path / "handover" / "findings.csv").read_text(encoding="utf-8-sig")
    assert findings.splitlines()[0].endswith(",drift,first_seen") and latest in findings
    assert ",persisting," in findings and ",new," not in findings  # the second run: all seen before
    refused = _invoke("export", "--store", str(store), "--output-dir", str(out))
    assert refused.exit_code == 3 and "report directory" in refused.stderr
    assert (out / "findings.csv").is_symlink(), "the run's report links are untouched"


def test_history_and_export_refuse_a_missing_store_and_an_unknown_run(tmp_path):
    missing = _invoke("history", "--store", str(tmp_path / "none.duckdb"))
    assert missing.exit_code == 3 and "no store here" in missing.stderr
    assert not (tmp_path / "none.duckdb").exists()
    out = tmp_path / "out"
    _invoke("audit", "--sample", "--output-dir", str(out), "-q")
    unknown = _invoke("export", "--store", str(out / "reconcile.duckdb"), "--output-dir", str(tmp_path / "h"),
                      "--run", "20200101T000000Z-000000")
    assert unknown.exit_code == 3 and "no run '20200101T000000Z-000000'" in unknown.stderr
    table = _invoke("history", "--store", str(out / "reconcile.duckdb"))
    assert table.exit_code == 0 and "complete" in table.stdout and "entra_users=300" in table.stdout
