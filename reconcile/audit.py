"""The audit as a library call: inputs -> staging -> rules -> readiness -> store -> report files.

The CLI is a thin wrapper around :func:`run_audit`, so a scheduler or a notebook can call it too.
Order matters for the guarantees users rely on: every input is read and every rule run before
the store is written (one transaction) and before any report file exists, so a bad export stops
the run with nothing changed.
"""

from __future__ import annotations

import contextlib
import functools
import logging
import os
import secrets
import shutil
import tempfile
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import duckdb

from reconcile import __version__, drift, exceptions, notify, outcomes, permissions
from reconcile.config import FAIL_ON_LEVELS, RunConfig
from reconcile.errors import ExitCode, MemoryLimitError, ReconcileError, ReportsNotWritten
from reconcile.normalise import check_raw, stage
from reconcile.paths import sample_captured_at, sql_dir
from reconcile.report.csv_report import write_query_csv
from reconcile.report.html_report import write_html
from reconcile.report.json_report import write_json, write_query_json
from reconcile.report.metrics import RunMetrics, metrics_of_summary, write_metrics
from reconcile.report.team_csv import TEAM_FILES, write_team_csvs
from reconcile.rules import RuleResult, load_rules, run_rules
from reconcile.sources.base import InputInfo, RunContext, TargetingOptions
from reconcile.sources.probe import ProbeResult, probe_sources
from reconcile.sources.registry import (
    PageProgress,
    SourceOptions,
    land_all,
    open_sources,
    source_environ,
    source_options,
)
from reconcile.store import (
    SNAPSHOT_TABLES,
    attach_store,
    create_staging,
    memory_limit_of,
    open_workspace,
    prune_history,
    reserve_store,
    run_sql_file,
    scalar,
    store_rule_results,
)
from reconcile.testhook import pause_point

log = logging.getLogger(__name__)

READINESS_COLUMNS = (
    "entra_object_id", "mattermost_user_id", "user_principal_name", "email", "status",
    "predicted_error", "rule_ids", "fix", "accepted",
)
# How findings.csv, findings.json and resolved.csv are sorted, for a run's reports and an export alike.
FINDINGS_ORDER = ("ORDER BY CASE severity WHEN 'blocking' THEN 1 WHEN 'warning' THEN 2 ELSE 3 END, rule_id, "
                  "user_principal_name NULLS FIRST, mattermost_user_id NULLS FIRST, observed")
READINESS_STATUSES = ("will_fail", "at_risk", "not_evaluated", "ready")
DEFAULT_KEEP_SNAPSHOTS = 2
REPORT_FORMATS = ("csv", "json", "html")


@dataclass
class AuditResult:
    run_id: str
    output_dir: Path
    store_path: Path
    inputs: list[InputInfo]
    rule_results: list[RuleResult]
    readiness_counts: dict[str, int]
    targeting: str
    summary: dict = field(default_factory=dict)
    exit_code: ExitCode = ExitCode.CLEAN
    partial: bool = False
    drift: drift.DriftCounts | None = None  # None with history off
    notify_configured: bool = False  # a webhook or a bot was configured: summary["notify"] says what happened


def exit_code_for(severity_counts: dict[str, int], fail_on: str, partial: bool = False) -> ExitCode:
    """0 when nothing is at or above ``fail_on``, 1 when something is; a partial run is 4."""
    if partial:
        return ExitCode.PARTIAL
    if fail_on == "never":
        return ExitCode.CLEAN
    levels = ("blocking", "warning", "info")
    considered = levels[: levels.index(fail_on) + 1]
    return ExitCode.FINDINGS if any(severity_counts.get(s, 0) for s in considered) else ExitCode.CLEAN


def new_run_id(now: datetime) -> str:
    """Sortable by time, unique across runs started in the same second."""
    return f"{now:%Y%m%dT%H%M%SZ}-{secrets.token_hex(3)}"


def run_audit(
    input_dir: Path,
    output_dir: Path,
    store_path: Path | None = None,
    fail_on: str = "blocking",
    keep_snapshots: int = DEFAULT_KEEP_SNAPSHOTS,
    progress: Callable[[str], None] | None = None,
    targeting: TargetingOptions | None = None,
    sources: SourceOptions | None = None,
    graph_progress: PageProgress | None = None,
    memory_limit: str | None = None,
    environ: Mapping[str, str] | None = None,
    formats: tuple[str, ...] = REPORT_FORMATS,
    lock_timeout: float | None = None,
    retention_days: int | None = None,
    history: bool = True,
    fail_on_new_only: bool = False,
    accept_shrink: bool = False,
    shrink_threshold: float = drift.DEFAULT_SHRINK_THRESHOLD,
    exceptions_file: Path | None = None,
    allow_long_exceptions: bool = False,
    inspect: Callable[[duckdb.DuckDBPyConnection, AuditResult], None] | None = None,
    enrolled_within: int = outcomes.DEFAULT_ENROLLED_WITHIN,
) -> AuditResult:
    """Audit one export directory; raises InputError (nothing written) on malformed input.

    ``sources`` names the live systems that stand in for some export files (Graph, LDAP, the
    Mattermost API or database); see reconcile.sources.registry. ``memory_limit`` bounds DuckDB's
    memory (reconcile.store.open_workspace). ``formats`` picks the reports (REPORT_FORMATS: csv =
    findings, readiness and the directory-team CSVs, json = findings.json, html = report.html);
    summary.json is always written. The run holds the store's lock from start to end, waiting up to
    ``lock_timeout`` seconds for another run to let go (default ``RECONCILE_LOCK_TIMEOUT`` or 10;
    reconcile.store_lock). ``retention_days`` prunes the findings, readiness and rule results of runs
    older than that (None or 0: kept for ever; reconcile.store.prune_history); ``keep_snapshots`` is
    how many runs' staging snapshots are kept.

    ``history`` compares with the store's last run (reconcile.drift): findings get ``drift`` and
    ``first_seen``, resolved.csv lists what really resolved. ``fail_on_new_only`` makes only new findings
    count for ``fail_on`` (needs history). A population source that lost more than ``shrink_threshold``
    of its rows since the last complete run is treated as failed (exit 4) unless ``accept_shrink``.

    ``exceptions_file`` is the TOML file of accepted exceptions (reconcile.exceptions): validated before
    anything is read (an invalid entry is an input error, exit 3, nothing written); its findings stay in
    the reports as ``accepted`` and do not count for ``fail_on``.

    With Intune's registrations (intune_app_registrations.json, or Graph) each targeted person's
    prediction is checked against them (reconcile.outcomes): enrolled means a Mattermost registration
    synced within ``enrolled_within`` days of the run's start; outcomes.csv and summary.json's
    ``outcomes`` and ``rule_outcomes`` say how the predictions fared.
    """
    if fail_on not in FAIL_ON_LEVELS:
        raise ValueError(f"fail_on must be one of {FAIL_ON_LEVELS}")
    unknown = [f for f in formats if f not in REPORT_FORMATS]
    if unknown:
        raise ValueError(f"formats {unknown} are not among {REPORT_FORMATS}")
    if retention_days is not None and retention_days < 0:
        raise ValueError("retention_days must be zero (keep for ever) or more")
    if fail_on_new_only and not history:
        raise ValueError("fail_on_new_only needs history: without it no finding is known to be new")
    if enrolled_within < 1:
        raise ValueError(f"enrolled_within must be at least one day, not {enrolled_within!r}")
    if not 0 <= shrink_threshold < 1:
        raise ValueError(f"shrink_threshold must be at least 0 and below 1, not {shrink_threshold!r}")
    run_options = _RunOptions(history, fail_on_new_only, accept_shrink, shrink_threshold,
                              exceptions_file, allow_long_exceptions, inspect, enrolled_within)
    say = progress or (lambda _message: None)
    store_path = store_path or output_dir / "reconcile.duckdb"
    try:
        with reserve_store(store_path, lock_timeout):
            return _run(input_dir, output_dir, store_path, fail_on, keep_snapshots, say, targeting, sources,
                        graph_progress, memory_limit, environ=environ, formats=tuple(formats),
                        retention_days=retention_days, opts=run_options)
    except duckdb.OutOfMemoryException as exc:
        raise MemoryLimitError(f"the run needed more memory than its limit ({memory_limit_of(memory_limit)}): "
                               "give it more with "
                               f"--memory-limit or RECONCILE_MEMORY_LIMIT (DuckDB: {str(exc).splitlines()[0]})"
                               ) from exc


def run_configured(config: RunConfig, progress: Callable[[str], None] | None = None,
                   graph_progress: PageProgress | None = None,
                   environ: Mapping[str, str] | None = None,
                   inspect: Callable[[duckdb.DuckDBPyConnection, AuditResult], None] | None = None) -> AuditResult:
    """Run the audit a :class:`RunConfig` describes: the library's entry point for ``reconcile run``.

    The sources are built here from the configuration (reconcile.sources.registry), so the CLI, a
    scheduler wrapper or a notebook all hand in the same one object. A run with no ``input_dir``
    (every user source live) reads its optional files from an empty private directory. With
    ``metrics_file`` the run's gauges are written there when it ends, however it ends. With ``notify``
    (a webhook or a bot) the run posts its summary when ``notify.on`` says so, a failed run too
    (reconcile.notify); the outcome is ``summary["notify"]``, also in summary.json, and never changes
    the run's exit code.
    """
    environ = os.environ if environ is None else environ
    started = datetime.now(UTC)
    clock = time.perf_counter()
    people: list[notify.NewBlocking] = []
    hook = inspect
    if config.notify.configured and config.notify.detail == "names":
        def hook(con: duckdb.DuckDBPyConnection, result: AuditResult) -> None:
            try:  # the workspace closes after this; a failure here must not fail the run
                # without history no finding is known to be new: the message says so (notify.message)
                people.append(notify.new_blocking_people(con) if result.drift is not None else notify.NewBlocking())
            except Exception as exc:
                log.warning("the new blocking people for the notification could not be read: %s",
                            type(exc).__name__)
            if inspect is not None:
                inspect(con, result)
    try:
        result = _run_configured(config, started, progress, graph_progress, environ, hook)
    except BaseException as exc:
        if config.metrics_file:  # a failed run must not leave last night's success standing
            _write_metrics(config.metrics_file, RunMetrics(datetime.now(UTC), False, time.perf_counter() - clock))
        if isinstance(exc, Exception):
            _notify(functools.partial(notify.notify_failed, config, exc, environ))
        raise
    if config.metrics_file:
        _write_metrics(config.metrics_file,
                       metrics_of_summary(result.summary, result.rule_results, time.perf_counter() - clock))
    result.notify_configured = config.notify.configured
    record = _notify(lambda: notify.notify_finished(config.notify, result, people[0] if people else None, environ))
    notify.record_notify(result, record)
    return result


def _notify(call: Callable[[], dict]) -> dict:
    """A notification is for people: whatever goes wrong in it is logged and recorded, never raised."""
    try:
        return call()
    except Exception as exc:  # a bug in the notification must not turn a good run into a failed one
        log.warning("the run's notification failed: %s", type(exc).__name__)
        return {"status": "failed", "error": f"internal error: {type(exc).__name__}"}


def _write_metrics(path: Path, metrics: RunMetrics) -> None:
    """The metrics file is for monitoring: failing to write it is logged, never the run's outcome."""
    try:
        write_metrics(path, metrics)
    except OSError as exc:
        log.warning("the metrics file %s could not be written: %s", path, exc)


def _run_configured(config: RunConfig, started: datetime, progress: Callable[[str], None] | None,
                    graph_progress: PageProgress | None, environ: Mapping[str, str],
                    inspect: Callable[[duckdb.DuckDBPyConnection, AuditResult], None] | None) -> AuditResult:
    output_dir = config.output_path(started)
    targeting = TargetingOptions(config.intune_groups, config.ios_bundle_ids, config.mobile_client_ids)
    with contextlib.ExitStack() as stack:
        input_dir = config.input_dir
        if input_dir is None:
            input_dir = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="reconcile-no-exports-")))
        return run_audit(input_dir, output_dir, config.store_path(started), config.fail_on, config.keep_snapshots,
                         progress, targeting, source_options(config, environ), graph_progress, config.memory_limit,
                         source_environ(config, environ), formats=config.formats,
                         retention_days=config.retention_days, lock_timeout=config.lock_timeout,
                         history=config.history, fail_on_new_only=config.fail_on_new_only,
                         accept_shrink=config.accept_shrink, shrink_threshold=config.shrink_threshold,
                         exceptions_file=config.exceptions, allow_long_exceptions=config.allow_long_exceptions,
                         inspect=inspect, enrolled_within=config.enrolled_within)


def probe_configured(config: RunConfig, environ: Mapping[str, str] | None = None,
                     timeout: float = 60.0) -> list[ProbeResult]:
    """Connect to, authenticate with and probe every source a configuration names, reading nothing in
    bulk (``reconcile sources test``); a secret that cannot be read is a failed row, not an exception."""
    environ = os.environ if environ is None else environ
    from reconcile.notify.probe import probe_notify

    try:
        options, merged = source_options(config, environ), source_environ(config, environ)
    except ReconcileError as exc:
        return [ProbeResult("configuration", str(config.job_file or "options"), False, str(exc)),
                *probe_notify(config.notify, environ, timeout)]
    return probe_sources(options, config.input_dir, merged, timeout=timeout) + probe_notify(config.notify, environ,
                                                                                            timeout)


@dataclass(frozen=True)
class _RunOptions:
    """What run_audit passes on to _run besides the paths: drift, exceptions, the inspect hook, outcomes."""

    history: bool
    fail_on_new_only: bool
    accept_shrink: bool
    shrink_threshold: float
    exceptions_file: Path | None = None
    allow_long_exceptions: bool = False
    # called with the finished run's workspace before it closes (reconcile remediate plan reads it)
    inspect: Callable[[duckdb.DuckDBPyConnection, AuditResult], None] | None = None
    enrolled_within: int = outcomes.DEFAULT_ENROLLED_WITHIN  # days (issue 15)


def _run(input_dir: Path, output_dir: Path, store_path: Path, fail_on: str, keep_snapshots: int,
         say: Callable[[str], None], targeting: TargetingOptions | None, sources: SourceOptions | None,
         graph_progress: PageProgress | None, memory_limit: str | None, *, environ: Mapping[str, str] | None,
         formats: tuple[str, ...], retention_days: int | None, opts: _RunOptions) -> AuditResult:
    started = datetime.now(UTC)
    run_id = new_run_id(started)
    rules = load_rules()
    run_date = started.date()
    entries = (exceptions.load_exceptions(opts.exceptions_file, [r.rule_id for r in rules], run_date,
                                          opts.allow_long_exceptions) if opts.exceptions_file else [])
    window = outcomes.Window(opts.enrolled_within, sample_captured_at(input_dir) or started)
    phases: dict[str, float] = {}
    clock = [time.perf_counter()]

    def lap(phase: str) -> None:
        now = time.perf_counter()
        phases[phase] = round(now - clock[0], 3)
        clock[0] = now

    with open_workspace(memory_limit) as con, open_sources(sources or SourceOptions(), store_path, environ,
                                               graph_progress=graph_progress) as run_sources:
        create_staging(con)
        say(f"reading {input_dir}")
        inputs = land_all(con, run_sources, RunContext(input_dir, targeting or TargetingOptions(),
                                                       exception_groups=exceptions.exception_groups(entries)))
        inputs.append(exceptions.land(con, entries, opts.exceptions_file, run_date))
        lap("land")
        say("checking and normalising identifiers")
        check_raw(con)  # a malformed export is an input error (exit 3) before any size comparison
        drift.check_shrink(con, inputs, store_path, opts.shrink_threshold, opts.accept_shrink)
        stage(con)
        lap("normalise")
        say("matching identities")
        for path in sorted((sql_dir() / "derive").glob("*.sql")):
            run_sql_file(con, path)
        lap("match")
        say(f"running {len(rules)} rules")
        available = {info.name for info in inputs if info.available}
        failed = {info.name for info in inputs if info.failed}
        lacking = {info.name: info.note or "" for info in inputs if info.missing_permission}
        # every rule, then the exceptions' verdicts, then the EXCEPTION_* rules that read them; readiness;
        # then the outcomes and the OUTCOME_* rules, which check the prediction and never change it
        first = [r for r in rules
                 if not exceptions.is_exception_rule(r.rule_id) and not outcomes.is_outcome_rule(r.rule_id)]
        results = run_rules(con, first, available, run_id, failed, lacking)
        exceptions.record_rule_runs(con, results)
        exceptions.cover(con)
        results += run_rules(con, [r for r in rules if exceptions.is_exception_rule(r.rule_id)], available,
                             run_id, failed, lacking)
        run_sql_file(con, sql_dir() / "readiness.sql")
        measured = outcomes.measure(con, available, window)
        results += run_rules(con, [r for r in rules if outcomes.is_outcome_rule(r.rule_id)], available,
                             run_id, failed, lacking)
        exceptions.cover(con)  # an entry may accept an OUTCOME_* finding too
        order = {rule.rule_id: n for n, rule in enumerate(rules)}
        results.sort(key=lambda res: order[res.rule.rule_id])
        lap("rules")
        described = _describe_targeting(con)
        result = AuditResult(run_id, output_dir, store_path, inputs, results,
                             _readiness_counts(con), described)
        severity_counts = _severity_counts(results)
        result.partial = bool(failed)
        attach_store(con, store_path)
        pause_point("store")
        previous = drift.baseline_run(con) if opts.history else None
        if opts.history:
            drift.track(con, run_id, started, rules, results, previous)
            exceptions.cover(con)  # the carried-forward findings, by tonight's file
            result.drift = drift.finish(con)
        result.exit_code = exit_code_for(drift.fail_counts(con, opts.fail_on_new_only), fail_on, result.partial)
        finished = datetime.now(UTC)
        _commit(con, run_id, started, finished, input_dir, described, keep_snapshots, result.partial, results,
                retention_days, result.drift)
        lap("store")
        result.summary = _summary(result, started, finished, fail_on, severity_counts, previous)
        result.summary["exceptions"] = exceptions.summary(con, entries, opts.exceptions_file, run_date)
        result.summary["missing_permissions"] = permissions.summary(inputs, results)
        if measured:
            result.summary.update(outcomes.summary(con, window))
        result.summary["phase_seconds"] = phases
        say(f"writing reports to {output_dir}")
        try:
            _write_outputs(con, result, formats)
        except OSError as exc:
            raise ReportsNotWritten(
                f"run {run_id} is stored in {store_path}, but its reports could not be written to {output_dir} "
                f"({exc}); the previous report set, if any, is still the current one") from exc
        if opts.inspect is not None:
            opts.inspect(con, result)
    return result


def _describe_targeting(con: duckdb.DuckDBPyConnection) -> str:
    """Say whom the audit treated as targeted, and on what evidence (sql/derive/35_targeting.sql)."""
    rows = con.execute("SELECT source, mode, count(group_id) FROM work.targeting GROUP BY ALL ORDER BY ALL").fetchall()
    if not rows:
        return "every enabled Member user (no entra_groups/ folder: the policy's groups were not provided)"
    source = rows[0][0]
    counts = {mode: n for _, mode, n in rows}
    if source == "override":
        return f"members of the {counts['include']} group(s) given with --intune-group"
    if source == "exported groups":
        return f"members of the {counts['include']} policy group(s) in entra_groups/"
    parts = [f"{counts.get('include', 0)} included group(s)"]
    if counts.get("exclude"):
        parts.append(f"minus {counts['exclude']} excluded group(s)")
    if "all_licensed" in counts:
        parts.append("plus every Intune-licensed user")
    where = scalar(con, "SELECT file FROM work.run_inputs WHERE name = 'intune_policies'")
    return f"the Mattermost iOS App Protection Policies in {where}: " + ", ".join(parts)


def _severity_counts(results: list[RuleResult]) -> dict[str, int]:
    counts = {"blocking": 0, "warning": 0, "info": 0}
    for res in results:
        for severity, count in (res.by_severity or {}).items():
            counts[severity] += count
    return counts


def _readiness_counts(con: duckdb.DuckDBPyConnection) -> dict[str, int]:
    counts = dict.fromkeys(READINESS_STATUSES, 0)
    counts.update(dict(con.execute("SELECT status, count(*) FROM work.readiness GROUP BY status").fetchall()))
    return counts


def _commit(con: duckdb.DuckDBPyConnection, run_id: str, started: datetime, finished: datetime,
            input_dir: Path, targeting: str, keep_snapshots: int, partial: bool, results: list[RuleResult],
            retention_days: int | None, counts: drift.DriftCounts | None) -> None:
    """Store the run, its rule results, findings (with their drift), readiness, delta links and staging
    snapshot, and prune what retention lets go, in one transaction."""
    con.execute("BEGIN TRANSACTION")
    try:
        con.execute("INSERT INTO store.runs (run_id, started_at, finished_at, status, input_dir, targeting, "
                    "tool_version) VALUES ($1, $2, $3, $4, $5, $6, $7)",
                    [run_id, started, finished, "partial" if partial else "complete", str(input_dir), targeting,
                     __version__])
        con.execute("INSERT INTO store.findings BY NAME SELECT * FROM work.findings")
        drift.store_run(con, run_id, counts)
        store_rule_results(con, run_id, results)
        pause_point("findings")
        if not partial:  # a delta link is only worth keeping with the whole run it belongs to
            con.execute("""INSERT OR REPLACE INTO store.graph_delta_state
                           SELECT source_key, delta_link, $1, now() FROM work.graph_state_pending""", [run_id])
        con.execute("INSERT INTO store.readiness BY NAME SELECT $1 AS run_id, * EXCLUDE (failing_rule_ids) "
                    "FROM work.readiness", [run_id])
        for table in SNAPSHOT_TABLES:
            con.execute(f"CREATE TABLE IF NOT EXISTS store.stg_{table} AS "
                        f"SELECT CAST(NULL AS VARCHAR) AS run_id, * FROM work.{table} LIMIT 0")
            _add_new_columns(con, table)
            con.execute(f"INSERT INTO store.stg_{table} BY NAME SELECT $1 AS run_id, * FROM work.{table}", [run_id])
            con.execute(f"""DELETE FROM store.stg_{table} WHERE run_id NOT IN (
                              SELECT run_id FROM store.runs ORDER BY started_at DESC LIMIT $1)
                            AND run_id NOT IN (SELECT run_id FROM store.graph_delta_state)
                            AND run_id IS DISTINCT FROM (SELECT run_id FROM store.runs WHERE status = 'complete'
                                                         ORDER BY started_at DESC LIMIT 1)""",
                        [keep_snapshots])
        prune_history(con, retention_days, started)
        pause_point("commit")
        con.execute("COMMIT")
    except BaseException:
        con.execute("ROLLBACK")
        raise


def _add_new_columns(con: duckdb.DuckDBPyConnection, table: str) -> None:
    """A store written by an older version lacks the columns staging has gained since: add them, so
    years of nightly snapshots live on (old rows read NULL there) instead of the run failing."""
    kept = {row[0] for row in con.execute(
        "SELECT column_name FROM information_schema.columns WHERE table_catalog = 'store' AND table_name = $1",
        [f"stg_{table}"]).fetchall()}
    for name, kind in con.execute(
            "SELECT column_name, data_type FROM information_schema.columns "
            "WHERE table_catalog = 'work' AND table_name = $1 ORDER BY ordinal_position", [table]).fetchall():
        if name not in kept:
            con.execute(f'ALTER TABLE store.stg_{table} ADD COLUMN "{name}" {kind}')


def _rule_rows(results: list[RuleResult]) -> list[dict]:
    return [{"rule_id": r.rule.rule_id, "severity": r.severity, "title": r.rule.title,
             "status": r.status, "findings": r.finding_count, "skip_reason": r.skip_reason}
            for r in results]


def _summary(result: AuditResult, started: datetime, finished: datetime, fail_on: str,
             severity_counts: dict[str, int], previous: str | None) -> dict:
    rules = _rule_rows(result.rule_results)
    return {
        "run_id": result.run_id,
        "tool_version": __version__,
        "started_at": started.isoformat(),
        "finished_at": finished.isoformat(),
        "status": "partial" if result.partial else "complete",
        "failed_inputs": [{"name": i.name, "error": i.note} for i in result.inputs if i.failed],
        "targeting": result.targeting,
        "inputs": [
            {"name": i.name, "available": i.available, "file": i.file, "rows": i.rows, "note": i.note,
             "failed": i.failed}
            for i in result.inputs
        ],
        "findings_by_severity": severity_counts,
        "findings_by_rule": {r["rule_id"]: r["findings"] for r in rules if r["status"] == "ran"},
        "readiness": result.readiness_counts,
        "rules": rules,
        "skipped_rules": [{"rule_id": r["rule_id"], "reason": r["skip_reason"]}
                          for r in rules if r["status"] == "skipped"],
        "previous_run_id": previous,
        # drift since that run (None with history off or on an empty store): the nightly "who broke"
        "changes_since_previous": ({"new": result.drift.new, "resolved": result.drift.resolved}
                                   if result.drift and previous else None),
        "drift": result.drift.as_summary() if result.drift else None,
        "carried_forward": result.drift.carried_forward if result.drift else None,
        "fail_on": fail_on,
        "exit_code": int(result.exit_code),
    }


# The files each format writes (summary.json is always written); resolved.csv only with history,
# outcomes.csv only with Intune's registrations.
FORMAT_FILES = {
    "csv": ("findings.csv", "readiness.csv", "resolved.csv", "outcomes.csv", *TEAM_FILES),
    "json": ("findings.json",),
    "html": ("report.html",),
}
REPORT_FILES = ("summary.json", *(name for names in FORMAT_FILES.values() for name in names))
KEEP_REPORT_RUNS = 2  # the current set and the one before it; older sets hold personal data for nothing


def _write_outputs(con: duckdb.DuckDBPyConnection, result: AuditResult,
                   formats: tuple[str, ...] = REPORT_FORMATS) -> None:
    """Write the reports as one set: into a fresh ``runs/<run_id>/``, then switch ``current`` to it
    with one rename. The top-level names (``OUTPUT_DIR/findings.csv`` ...) are links through
    ``current``, so a reader, or a kill at any moment, sees one whole run's files, never a mix.
    Only the files of ``formats`` are written and linked; a top-level link of a format no longer
    written is removed rather than left pointing at nothing."""
    out = result.output_dir
    out.mkdir(parents=True, exist_ok=True, mode=0o700)
    runs = out / "runs"
    runs.mkdir(exist_ok=True, mode=0o700)
    fresh = runs / f".{result.run_id}.tmp"
    fresh.mkdir(mode=0o700)
    order = FINDINGS_ORDER
    findings_query, columns = drift.report_query("findings", result.drift is not None, order)
    if "csv" in formats:
        write_query_csv(con, findings_query, columns, fresh / "findings.csv")
        if result.drift is not None:
            write_query_csv(con, *drift.report_query("drift_resolved", True, order), fresh / "resolved.csv")
        con.execute("SET VARIABLE reconcile_run_id = $1", [result.run_id])
        write_query_csv(con, f"SELECT getvariable('reconcile_run_id'), {', '.join(READINESS_COLUMNS)} "
                             "FROM work.readiness", ("run_id", *READINESS_COLUMNS), fresh / "readiness.csv")
        write_team_csvs(con, "work.findings", fresh)
        if result.summary.get("outcomes") is not None:
            write_query_csv(con, f"SELECT {', '.join(outcomes.OUTCOMES_COLUMNS)} FROM work.outcomes",
                            outcomes.OUTCOMES_COLUMNS, fresh / "outcomes.csv")
    if "json" in formats:
        write_query_json(con, findings_query, fresh / "findings.json")
    write_json(result.summary, fresh / "summary.json")
    if "html" in formats:
        write_html(con, result.summary, fresh / "report.html")
    os.rename(fresh, runs / result.run_id)
    current = out / "current"
    previous = os.readlink(current) if current.is_symlink() else None
    _switch_link(current, f"runs/{result.run_id}", result.run_id)
    for name in REPORT_FILES:
        top = out / name
        if not (runs / result.run_id / name).exists():  # a format not written, resolved.csv without history
            if top.is_symlink():
                top.unlink()
        elif not (top.is_symlink() and os.readlink(top) == f"current/{name}"):
            _switch_link(top, f"current/{name}", result.run_id)
    keep = {result.run_id, Path(previous).name if previous else None}
    for stale in runs.iterdir():
        if stale.name not in keep:
            shutil.rmtree(stale, ignore_errors=True)
    for leftover in out.glob("*.tmp-*"):
        leftover.unlink(missing_ok=True)


def _switch_link(path: Path, target: str, run_id: str) -> None:
    """Point ``path`` at ``target`` in one step (a new link renamed over the old name or file)."""
    temporary = path.with_name(f"{path.name}.tmp-{run_id}")
    temporary.unlink(missing_ok=True)
    temporary.symlink_to(target)
    os.replace(temporary, path)
