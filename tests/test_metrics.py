"""``--metrics-file`` (issue 15, "Metrics"): the run's gauges in the Prometheus text format, read back with
prometheus_client's own parser; written atomically and world-readable, and written also when the run is
partial or fails, so the monitoring never sees last night's success."""

from __future__ import annotations

import json
import shutil
import stat
from datetime import datetime
from pathlib import Path

from click.testing import CliRunner
from prometheus_client.parser import text_string_to_metric_families

from reconcile.cli import main
from reconcile.paths import sample_dir

FAMILIES = {"reconcile_last_run_timestamp_seconds", "reconcile_last_run_success", "reconcile_run_duration_seconds",
            "reconcile_people", "reconcile_findings", "reconcile_source_rows", "reconcile_outcomes"}


def _samples(path: Path) -> dict[str, dict[tuple, float]]:
    families = {f.name: f for f in text_string_to_metric_families(path.read_text(encoding="utf-8"))}
    assert set(families) == FAMILIES and all(f.type == "gauge" and f.documentation for f in families.values())
    return {name: {tuple(sorted(s.labels.items())): s.value for s in f.samples} for name, f in families.items()}


def _audit(*args: str, env: dict | None = None):
    return CliRunner().invoke(main, ["audit", *args, "-q"], env=env)


def test_the_sample_run_as_gauges(tmp_path):
    metrics = tmp_path / "textfile" / "reconcile.prom"
    result = _audit("--sample", "--output-dir", str(tmp_path / "out"), "--fail-on", "never",
                    "--metrics-file", str(metrics))
    assert result.exit_code == 0, result.output
    summary = json.loads((tmp_path / "out" / "summary.json").read_text())
    got = _samples(metrics)
    assert got["reconcile_last_run_success"] == {(): 1.0}
    assert got["reconcile_people"] == {(("readiness", k),): float(v) for k, v in summary["readiness"].items()}
    by_rule = {}
    for labels, value in got["reconcile_findings"].items():
        by_rule[dict(labels)["rule"]] = by_rule.get(dict(labels)["rule"], 0) + value
    assert by_rule == {k: float(v) for k, v in summary["findings_by_rule"].items() if v}
    assert sum(v for k, v in got["reconcile_findings"].items() if ("severity", "blocking") in k) == \
        summary["findings_by_severity"]["blocking"]
    assert got["reconcile_source_rows"][(("source", "entra_users"),)] == 300
    assert got["reconcile_outcomes"] == {(("outcome", k),): float(v) for k, v in summary["outcomes"].items()}
    assert got["reconcile_outcomes"][(("outcome", "false_alarm"),)] == 1, "the sample's planted false alarm"
    finished = datetime.fromisoformat(summary["finished_at"]).timestamp()
    assert abs(got["reconcile_last_run_timestamp_seconds"][()] - finished) < 0.001, "every digit of the time"
    assert got["reconcile_run_duration_seconds"][()] > 0
    assert stat.S_IMODE(metrics.stat().st_mode) == 0o644
    assert not [p for p in metrics.parent.iterdir() if p != metrics], "no temporary file left beside it"
    text = metrics.read_text()
    assert "@contoso.com" not in text and "Lee.Chen" not in text, "labels carry no person"


def test_a_partial_or_failed_run_is_not_a_success(tmp_path):
    export = tmp_path / "export"
    shutil.copytree(sample_dir(), export, ignore=shutil.ignore_patterns("misconfigured", "README.md"))
    (export / "ldap_users.ldif").write_text("", encoding="utf-8")  # LDAP in use, nothing in it: partial
    metrics = tmp_path / "reconcile.prom"
    partial = _audit("--input-dir", str(export), "--output-dir", str(tmp_path / "p"), "--metrics-file", str(metrics))
    assert partial.exit_code == 4
    assert _samples(metrics)["reconcile_last_run_success"] == {(): 0.0}
    assert _samples(metrics)["reconcile_people"], "a partial run still reports what it found"

    # the next run fails outright (an invalid exceptions file: exit 3, nothing written): still a fresh 0
    bad = tmp_path / "bad.toml"
    bad.write_text('[[exception]]\nrule = "NO_SUCH_RULE"\n', encoding="utf-8")
    failed = _audit("--sample", "--output-dir", str(tmp_path / "f"), "--exceptions", str(bad),
                    env={"RECONCILE_METRICS_FILE": str(metrics)})
    assert failed.exit_code == 3
    got = _samples(metrics)
    assert got["reconcile_last_run_success"] == {(): 0.0}
    assert got["reconcile_people"] == {} and got["reconcile_findings"] == {}, "no figures from a run that read nothing"
    assert not (tmp_path / "f").exists()
