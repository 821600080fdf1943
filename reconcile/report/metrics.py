"""``--metrics-file``: the run as Prometheus gauges, for the monitoring operators already run (issue 15).

Why a text file: node_exporter's textfile collector reads ``*.prom`` files from a directory, so a batch job
needs no server of its own. The file is written beside its final name and renamed over it, as the
collector's documentation asks (a scrape never reads half a file), and it is written also when the run
fails: a stale file from last night's good run would tell the monitoring everything is fine.

Labels carry rule ids, severities, readiness statuses and source names, never a person, so the file is
world-readable (0644) for a collector running as another user. The writer needs no client library; the
tests read the file back with prometheus_client's own parser.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

from reconcile.report.files import atomic_file

WORLD_READABLE = 0o644

HELP = {
    "reconcile_last_run_timestamp_seconds": "When the last run ended (Unix time).",
    "reconcile_last_run_success": "1 when the last run completed; 0 when it was partial or failed, whatever it found.",
    "reconcile_run_duration_seconds": "How long the last run took.",
    "reconcile_people": "Targeted people and unlinked accounts of the last run, per readiness status.",
    "reconcile_findings": "Findings of the last run per rule and severity (accepted ones included).",
    "reconcile_source_rows": "Rows read per source in the last run.",
    "reconcile_outcomes": "People per enrollment outcome, when Intune registrations were read.",
}


@dataclass
class RunMetrics:
    finished: datetime
    success: bool
    duration_seconds: float
    people: Mapping[str, int] = field(default_factory=dict)
    findings: Iterable[tuple[str, str, int]] = ()        # (rule, severity, count)
    source_rows: Mapping[str, int] = field(default_factory=dict)
    outcomes: Mapping[str, int] = field(default_factory=dict)


def metrics_of_summary(summary: Mapping, rule_results: Iterable, duration_seconds: float) -> RunMetrics:
    """The gauges of a finished run, from its summary.json and its rule results."""
    findings = [(r.rule.rule_id, severity, n) for r in rule_results if r.status == "ran"
                for severity, n in sorted((r.by_severity or {}).items()) if n]
    return RunMetrics(
        finished=datetime.fromisoformat(summary["finished_at"]),
        success=summary["status"] == "complete",
        duration_seconds=duration_seconds,
        people=summary.get("readiness") or {},
        findings=findings,
        source_rows={i["name"]: i["rows"] for i in summary.get("inputs", []) if i.get("rows") is not None},
        outcomes=summary.get("outcomes") or {},
    )


def _number(value: float) -> str:
    """Exact: a Unix time needs all its digits (``:g`` would round it to six)."""
    number = float(value)
    return str(int(number)) if number.is_integer() else repr(number)


def _label(value: str) -> str:
    return value.replace("\\", "\\\\").replace("\n", "\\n").replace('"', '\\"')


def exposition(metrics: RunMetrics) -> str:
    """The Prometheus text exposition format, every family with its HELP and TYPE lines."""
    samples: dict[str, list[tuple[dict[str, str], float]]] = {
        "reconcile_last_run_timestamp_seconds": [({}, metrics.finished.timestamp())],
        "reconcile_last_run_success": [({}, 1 if metrics.success else 0)],
        "reconcile_run_duration_seconds": [({}, round(metrics.duration_seconds, 3))],
        "reconcile_people": [({"readiness": k}, v) for k, v in sorted(metrics.people.items())],
        "reconcile_findings": [({"severity": s, "rule": r}, n) for r, s, n in sorted(metrics.findings)],
        "reconcile_source_rows": [({"source": k}, v) for k, v in sorted(metrics.source_rows.items())],
        "reconcile_outcomes": [({"outcome": k}, v) for k, v in sorted(metrics.outcomes.items())],
    }
    lines = []
    for name, rows in samples.items():
        lines += [f"# HELP {name} {HELP[name]}", f"# TYPE {name} gauge"]
        for labels, value in rows:
            inner = ",".join(f'{k}="{_label(str(v))}"' for k, v in labels.items())
            lines.append(f"{name}{{{inner}}} {_number(value)}" if inner else f"{name} {_number(value)}")
    return "\n".join(lines) + "\n"


def write_metrics(path: Path, metrics: RunMetrics) -> None:
    """Write ``path`` atomically (a temporary file beside it, renamed over it), mode 0644."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with atomic_file(path, "w", WORLD_READABLE, encoding="utf-8") as handle:
        handle.write(exposition(metrics))
        handle.flush()
        os.fsync(handle.fileno())
