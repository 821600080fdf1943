"""Command line: ``reconcile audit`` and friends. Thin: the work is in reconcile.audit.

Exit codes (reconcile.errors.ExitCode): 0 nothing at or above --fail-on, 1 findings at or above
it, 2 usage error, 3 input or extraction error (nothing written), 4 partial run, 5 internal error
(a bug: nothing written; -v shows the traceback).
"""

from __future__ import annotations

import contextlib
import json
import os
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import TypeVar

import click
import duckdb
from click.core import ParameterSource
from rich.console import Console
from rich.text import Text

from reconcile import __version__
from reconcile.audit import AuditResult, probe_configured, run_configured
from reconcile.config import SETTINGS, ConfigError, Resolved, RunConfig, Secret, dsn_has_password, resolve
from reconcile.errors import ExitCode, ReconcileError, ReportsNotWritten
from reconcile.paths import SAMPLES, sample_dir
from reconcile.remediate.commands import remediate
from reconcile.report.log import RunLog
from reconcile.rules import OWNERS, RuleFileError, load_rules, rule_notes

_T = TypeVar("_T")


def quiet_option(func: Callable) -> Callable:
    return click.option("-q", "--quiet", is_flag=True,
                        help="No progress and no summary tables: errors, warnings and the run's one closing line "
                             "(stderr) only.")(func)


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="reconcile")
def main() -> None:
    """Audit Mattermost + Microsoft Entra ID identities before and after enabling Intune MAM."""
    os.umask(0o077)  # reports and the store hold personal data: owner-only, whatever creates them


EXIT_CODES_HELP = """\b
Exit codes:
  0  nothing at or above --fail-on
  1  findings at or above --fail-on
  2  usage error (bad options)
  3  input or extraction error: nothing written, the store unchanged
  4  partial run: a source failed, its rules skipped, the run stored as partial
  5  internal error (a bug): nothing written; -v shows the traceback
"""


def verbose_option(func: Callable) -> Callable:
    return click.option("-v", "--verbose", is_flag=True, help="On an internal error, print the traceback too.")(func)


_OPTION_HELP = {
    "input_dir": "Export directory (entra_users.json, mattermost_users.json, ldap_users.ldif, ...).",
    "output_dir": "Where the reports are written: findings.csv, findings.json, readiness.csv, summary.json and "
                  "report.html (and the store, reconcile.duckdb, unless --store says otherwise); strftime codes "
                  "such as %Y-%m-%d are expanded at the start of the run (UTC).  [default: reconcile-report]",
    "store": "DuckDB store kept across runs.  [default: OUTPUT_DIR/reconcile.duckdb]",
    "formats": "A report format to write (repeatable): csv, json, html; summary.json is always written.  "
               "[default: all]",
    "fail_on": "Exit 1 when a finding at or above this severity exists.  [default: blocking]",
    "fail_on_new_only": "Only findings new since the last run count for --fail-on: a known backlog pages no one.",
    "history": "Compare with the stored runs: drift and first_seen columns, resolved.csv.  [default: on]",
    "accept_shrink": "Accept a source that lost more than --shrink-threshold of its rows since the last complete "
                     "run (otherwise it counts as failed: exit 4).",
    "shrink_threshold": "Share of rows a source may lose since the last complete run.  [default: 0.2]",
    "exceptions": "TOML file of accepted exceptions (README, \"Accepting an exception\"): their findings stay in "
                  "the reports as accepted and do not count for --fail-on, until they expire.",
    "allow_long_exceptions": "Allow exceptions that expire more than 365 days after the run's date.",
    "memory_limit": "Memory DuckDB may hold before it spills to a private temporary directory, such as 2GB "
                    "(default 1300MB: a million users per source in under 2 GiB).",
    "lock_timeout": "Seconds to wait for another run that holds the store before exiting 3.  [default: 10]",
    "log_format": "Log lines on stderr: text for people, json (one object per line) for schedulers.",
    "retention.snapshots": "Runs whose staging snapshots the store keeps (findings are kept).  [default: 2]",
    "retention.days": "Days the store keeps findings and readiness (0: for ever).  [default: 0]",
    "targeting.intune_groups": "Target the members of this group (repeatable) instead of discovering the "
                               "policy's groups.",
    "targeting.ios_bundle_ids": "A Mattermost iOS app the organisation deploys (repeatable; beta: "
                                "com.mattermost.rnbeta).  [default: com.mattermost.rn]",
    "targeting.mobile_client_ids": "An application (client) id that is Mattermost Mobile besides the published "
                                   "App Store and TestFlight ids (repeatable; in the variable, separate ids with "
                                   "spaces).",
    "sources.entra.read": "Where Entra users, groups, policies and the app registration come from: the export "
                          "directory, or Microsoft Graph (credentials from RECONCILE_ENTRA_* variables or the job "
                          "file, never the command line).  [default: files]",
    "sources.entra.app_id": "The server API app registration to check (default: IntuneSettings.ClientId).",
    "sources.entra.incremental": "With --entra graph: apply a /users/delta round to the last committed run in "
                                 "the store.",
    "sources.entra.full_pull": "With --incremental: ignore the stored delta link, start again.",
    "sources.ldap.url": "Read the directory live: ldaps://host, or ldap://host with StartTLS (bind DN and password "
                        "from RECONCILE_LDAP_BIND_DN and RECONCILE_LDAP_PASSWORD or RECONCILE_LDAP_PASSWORD_FILE).",
    "sources.ldap.base_dn": "Search base (default: LdapSettings.BaseDN).",
    "sources.ldap.filter": "User filter (default: LdapSettings.UserFilter).",
    "sources.ldap.insecure": "Allow plain LDAP without TLS (the report says so).",
    "sources.mattermost.url": "Read users, config and license from the Mattermost API (token from "
                              "RECONCILE_MATTERMOST_TOKEN or RECONCILE_MATTERMOST_TOKEN_FILE; it must belong to a "
                              "system admin).",
    "sources.mattermost.insecure": "Allow --mattermost-url http:// to a host other than loopback (the token "
                                   "travels unencrypted; the report says so).",
    "sources.mattermost.dsn": "Read users from Mattermost's PostgreSQL database (read-only session). Keep the "
                              "password out of the command line: use the environment variable, PGPASSWORD or a "
                              ".pgpass file.",
    "notify.on": "When to post the run's summary to Mattermost (a webhook or a bot must be configured): change "
                 "(new or resolved findings, a partial run, the store's first run), always, or failure (partial "
                 "or failed runs).  [default: change]",
    "notify.detail": "counts: the post holds no personal data; names: it also lists the first 20 new blocking "
                     "people by UPN and rule.  [default: counts]",
    "notify.channel_id": "The channel the bot posts to (token from RECONCILE_NOTIFY_BOT_TOKEN or "
                         "RECONCILE_NOTIFY_BOT_TOKEN_FILE; an incoming webhook's URL from "
                         "RECONCILE_NOTIFY_WEBHOOK_URL or RECONCILE_NOTIFY_WEBHOOK_URL_FILE).",
    "notify.server": "The Mattermost server the bot posts to, independent of where the audit reads Mattermost "
                     "data from.",
}
_PATH_OPTIONS = {"input_dir": click.Path(exists=True, file_okay=False, path_type=Path),
                 "store": click.Path(dir_okay=False, path_type=Path),
                 "exceptions": click.Path(dir_okay=False, path_type=Path),
                 "metrics_file": click.Path(dir_okay=False, path_type=Path)}
_METAVARS = {"targeting.intune_groups": "GROUP_ID", "targeting.mobile_client_ids": "APP_ID",
             "sources.entra.app_id": "APP_ID", "sources.ldap.url": "URL", "sources.ldap.base_dn": "DN",
             "sources.ldap.filter": "FILTER", "sources.mattermost.url": "URL", "sources.mattermost.dsn": "DSN",
             "memory_limit": "SIZE", "output_dir": "DIR", "exceptions": "FILE",
             "metrics_file": "PATH", "enrolled_within": "DAYS", "notify.channel_id": "ID", "notify.server": "URL"}


def _param(key: str) -> str:
    return "o_" + key.replace(".", "_")


def run_options(func: Callable) -> Callable:
    """The options of every verb that runs an audit (audit, run, remediate plan): one per setting
    that has one, all defaulting to "not given" so that the job file and the environment can fill
    them (reconcile.config.resolve decides the precedence, not click)."""
    for setting in reversed([s for s in SETTINGS if s.option]):
        kwargs: dict = {"help": _OPTION_HELP.get(setting.key, setting.help), "default": None}
        variables = " or ".join(v for v in (setting.env, setting.env_file) if v)
        if variables:
            kwargs["help"] += f"  [env var: {variables}]"
        decls = [setting.option]
        if setting.kind == "bool":
            if setting.key == "history":
                decls = ["--history/--no-history"]
            else:
                kwargs["is_flag"] = True
        elif setting.kind == "list":
            kwargs.update(multiple=True, default=())
            if setting.choices:
                kwargs["type"] = click.Choice(setting.choices)
        elif setting.kind == "choice":
            kwargs["type"] = click.Choice(setting.choices)
        elif setting.kind == "int":
            kwargs["type"] = click.IntRange(min=setting.minimum)
        elif setting.kind == "float":
            kwargs["type"] = click.FloatRange(min=setting.minimum, max=setting.maximum)
        elif setting.key in _PATH_OPTIONS:
            kwargs["type"] = _PATH_OPTIONS[setting.key]
        if setting.key in _METAVARS:
            kwargs["metavar"] = _METAVARS[setting.key]
        func = click.option(*decls, _param(setting.key), **kwargs)(func)
    func = click.option("--sample", type=click.Choice(SAMPLES), is_flag=False, flag_value="tenant", default=None,
                        help="Audit a bundled synthetic tenant: --sample alone is the correctly configured one, "
                             "--sample misconfigured the one where every config, tenant, policy and token rule "
                             "fires.")(func)
    return func


def job_option(required: bool) -> Callable:
    return click.option("--job", "job_file", type=click.Path(dir_okay=False, path_type=Path), required=required,
                        envvar="RECONCILE_JOB", show_envvar=True,
                        help="A TOML job file describing the run (see jobs/); options and RECONCILE_* "
                             "variables override its values.")


def _given(ctx: click.Context) -> dict[str, object]:
    """The settings given on the command line (key path -> value), with what each implies."""
    given: dict[str, object] = {}
    for setting in SETTINGS:
        name = _param(setting.key)
        if setting.option and ctx.get_parameter_source(name) == ParameterSource.COMMANDLINE:
            given[setting.key] = ctx.params[name]
    sample = ctx.params.get("sample")
    if sample:
        if "input_dir" in given:
            raise click.UsageError("give either --input-dir or --sample, not both")
        given["input_dir"] = sample_dir(sample)
    dsn = given.get("sources.mattermost.dsn")
    if isinstance(dsn, str) and dsn_has_password(dsn):
        raise click.UsageError("--mattermost-dsn carries a password: put the DSN in RECONCILE_MATTERMOST_DSN, or "
                               "the password in PGPASSWORD or a .pgpass file, never on the command line")
    implied = {"sources.ldap.url": ("sources.ldap.read", "ldap"),
               "sources.mattermost.url": ("sources.mattermost.read", "api"),
               "sources.mattermost.dsn": ("sources.mattermost.users", "db")}
    for key, (other, value) in implied.items():
        if key in given:
            given.setdefault(other, value)
    return given


def _resolved(ctx: click.Context, given: dict[str, object], job_file: Path | None) -> Resolved:
    """reconcile.config.resolve for a verb: a bad setting is printed and is a usage error (exit 2)."""
    try:
        return resolve(given, os.environ, job_file)
    except ConfigError as exc:
        RunLog(os.environ.get("RECONCILE_LOG_FORMAT", "text")).error(str(exc), nothing_written=False)
        ctx.exit(ExitCode.USAGE)


def resolve_run(ctx: click.Context, job_file: Path | None) -> Resolved:
    """Flags, environment and job file -> the run configuration; a bad setting is a usage error (exit 2)."""
    resolved = _resolved(ctx, _given(ctx), job_file)
    config = resolved.config
    live_user_source = (config.entra.read == "graph" or config.ldap.read == "ldap"
                        or config.mattermost.users in ("api", "db"))
    if config.input_dir is None and not live_user_source:
        raise click.UsageError("give --input-dir DIR (an export directory) or --sample, or input_dir in a job file "
                               "(or a live source: --entra graph, --ldap, --mattermost-url, --mattermost-dsn)")
    return resolved


@main.command("audit", epilog=EXIT_CODES_HELP)
@job_option(required=False)
@run_options
@quiet_option
@verbose_option
@click.pass_context
def audit_command(ctx: click.Context, job_file: Path | None, quiet: bool, verbose: bool, **_options: object) -> None:
    """Read an export directory (or live sources), run every rule, write findings and per-user readiness."""
    _execute(ctx, resolve_run(ctx, job_file).config, quiet, verbose)


@main.command("run", epilog=EXIT_CODES_HELP)
@job_option(required=True)
@run_options
@quiet_option
@verbose_option
@click.pass_context
def run_command(ctx: click.Context, job_file: Path, quiet: bool, verbose: bool, **_options: object) -> None:
    """Run the job a TOML job file describes (the nightly, preflight or your own); options override it."""
    _execute(ctx, resolve_run(ctx, job_file).config, quiet, verbose)


def _execute(ctx: click.Context, config: RunConfig, quiet: bool, verbose: bool) -> None:
    log = RunLog(config.log_format, quiet)

    def run() -> AuditResult:
        with _graph_progress(log.console if log.show_progress and config.entra.read == "graph" else None) as bar:
            return run_configured(config, log.progress, bar)

    result = _guarded(ctx, log, verbose, run)
    for info in result.inputs:  # a partial run says why on stderr, even with --quiet: it is not a clean result
        if info.failed:
            log.warning(f"source failed: {info.name}: {info.note}")
    if not quiet and config.log_format == "text":
        from reconcile.report.console import print_summary

        print_summary(result, Console())
    log.run_summary(result.summary, result.notify_configured)
    ctx.exit(result.exit_code)


def _guarded(ctx: click.Context, log: RunLog, verbose: bool, call: Callable[[], _T]) -> _T:
    """Run an audit-shaped call; every way it can fail is a message and its exit code, never a traceback
    with exit 1 (which a scheduler reads as "findings")."""
    try:
        return call()
    except ReconcileError as exc:
        log.error(str(exc), nothing_written=not isinstance(exc, ReportsNotWritten))
        ctx.exit(exc.exit_code)
    except RuleFileError as exc:
        log.error(f"error in a rule file: {exc}")
        ctx.exit(ExitCode.INPUT_ERROR)
    except duckdb.IOException as exc:
        log.error(f"cannot open the store: {exc}")
        ctx.exit(ExitCode.INPUT_ERROR)
    except Exception as exc:  # a bug: never exit 1 ("findings"), which a scheduler reads as a good run
        log.internal_error(exc, verbose)
        ctx.exit(ExitCode.INTERNAL_ERROR)
    raise AssertionError("unreachable: ctx.exit raises")


@contextlib.contextmanager
def _graph_progress(console: Console | None) -> Iterator[Callable[[str, int], None] | None]:
    """A users/s progress bar per kind of Graph page on stderr, when it is a terminal."""
    if console is None:
        yield None
        return
    from rich.progress import Progress, ProgressColumn, TextColumn
    from rich.text import Text

    class Rate(ProgressColumn):
        def render(self, task) -> Text:
            return Text(f"{task.speed or 0:,.0f}/s")

    with Progress(TextColumn("{task.description}"), TextColumn("{task.completed:,}"), Rate(), console=console,
                  transient=True) as bar:
        tasks: dict[str, int] = {}

        def on_page(kind: str, count: int) -> None:
            if kind not in tasks:
                tasks[kind] = bar.add_task(f"Graph {kind}", total=None)
            bar.advance(tasks[kind], count)

        yield on_page


@main.group("config")
def config_group() -> None:
    """Inspect a run configuration."""


@config_group.command("show", epilog=EXIT_CODES_HELP)
@job_option(required=False)
@run_options
@click.pass_context
def config_show_command(ctx: click.Context, job_file: Path | None, **_options: object) -> None:
    """Print the resolved configuration, secrets masked, and where each value came from."""
    resolved = _resolved(ctx, _given(ctx), job_file)
    console = Console()
    if not console.is_terminal:  # a pipe or a file: one grep-able line per key
        for setting in SETTINGS:
            click.echo(f"{setting.key} = {_shown(resolved.values[setting.key])}  # {resolved.origins[setting.key]}")
        return
    from rich.table import Table

    table = Table(title=f"configuration{f' of {job_file}' if job_file else ''}", title_justify="left")
    table.add_column("key", no_wrap=True)
    table.add_column("value", overflow="fold")
    table.add_column("from", overflow="fold")
    for setting in SETTINGS:
        table.add_row(setting.key, _shown(resolved.values[setting.key]), resolved.origins[setting.key])
    console.print(table)


def _shown(value: object) -> str:
    """A value for people: a secret says where it is and whether it is there, never what it is."""
    if isinstance(value, Secret):
        return value.describe()
    if value is None:
        return "-"
    if isinstance(value, tuple | list):
        return ", ".join(value) or "(none)"
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def _store_settings(ctx: click.Context, job_file: Path | None, given: dict[str, object]) -> RunConfig:
    """The settings a store reader needs (store, output_dir, formats, lock_timeout) from the options
    given, the environment and the job file, with the same precedence and errors as a run."""
    return _resolved(ctx, {k: v for k, v in given.items() if v not in (None, ())}, job_file).config


def _stored_store(ctx: click.Context, config: RunConfig) -> Path:
    if config.store is not None:
        return config.store
    if "%" in config.output_dir:
        raise click.UsageError("give --store (or store in the job file): the output directory has a date pattern")
    return Path(config.output_dir) / "reconcile.duckdb"


STORE_READER_EXIT_CODES = """\b
Exit codes:
  0  written / printed
  2  usage or configuration error
  3  no store, no run in it, a store written by a newer release, or another run holds it too long
"""


@main.command("export", epilog=STORE_READER_EXIT_CODES)
@job_option(required=False)
@click.option("--store", "store_path", type=click.Path(dir_okay=False, path_type=Path),
              help="The store to read.  [default: the job file's store, else OUTPUT_DIR/reconcile.duckdb]  "
                   "[env var: RECONCILE_STORE]")
@click.option("--output-dir", metavar="DIR", help="Where the hand-over files go.  [env var: RECONCILE_OUTPUT_DIR]")
@click.option("--format", "formats", multiple=True, type=click.Choice(("csv", "json")),
              help="csv: directory_team.csv, mattermost_admins.csv, findings.csv, readiness.csv; json: "
                   "findings.json (repeatable).  [default: the job file's formats]")
@click.option("--run", "run_id", metavar="RUN_ID", help="A stored run to export.  [default: the latest]")
@click.option("--lock-timeout", type=click.FloatRange(min=0), help="Seconds to wait for a run holding the store.")
@quiet_option
@click.pass_context
def export_command(ctx: click.Context, job_file: Path | None, store_path: Path | None, output_dir: str | None,
                   formats: tuple[str, ...], run_id: str | None, lock_timeout: float | None, quiet: bool) -> None:
    """Write the directory-team CSVs of a stored run (the latest by default) without re-extracting."""
    config = _store_settings(ctx, job_file, {"store": store_path, "output_dir": output_dir, "formats": formats,
                                             "lock_timeout": lock_timeout})
    store = _stored_store(ctx, config)
    out = config.output_path(datetime.now(UTC))
    log = RunLog(config.log_format, quiet)
    from reconcile.stored import export_run, open_stored, pick_run

    try:
        with open_stored(store, config.lock_timeout) as con:
            run = pick_run(con, run_id)
            written = export_run(con, run, out, tuple(f for f in config.formats if f in ("csv", "json")))
    except ReconcileError as exc:
        log.error(str(exc), nothing_written=False)
        ctx.exit(exc.exit_code)
    if not written:
        raise click.UsageError("nothing to export: give --format csv or json (formats holds neither)")
    message = f"exported {run.status} run {run.run_id} ({run.started_at:%Y-%m-%d %H:%M} UTC) to {out}: " + \
        ", ".join(written)
    if run.status != "complete":
        log.warning(f"note: run {run.run_id} is {run.status}: a source failed, and its findings are the ones "
                    "carried forward from the last complete run")
    if not quiet:
        click.echo(message)


@main.command("history", epilog=STORE_READER_EXIT_CODES)
@job_option(required=False)
@click.option("--store", "store_path", type=click.Path(dir_okay=False, path_type=Path),
              help="The store to read.  [default: the job file's store, else OUTPUT_DIR/reconcile.duckdb]  "
                   "[env var: RECONCILE_STORE]")
@click.option("--output-dir", metavar="DIR", help="Where the store is when no --store is given.")
@click.option("--limit", type=click.IntRange(min=1), default=20, show_default=True, help="How many runs.")
@click.option("--json", "as_json", is_flag=True, help="One JSON object per run, for scripts.")
@click.pass_context
def history_command(ctx: click.Context, job_file: Path | None, store_path: Path | None, output_dir: str | None,
                    limit: int, as_json: bool) -> None:
    """Recent runs: id, start, duration, status, rows per source, findings new / persisting / resolved."""
    config = _store_settings(ctx, job_file, {"store": store_path, "output_dir": output_dir})
    from reconcile.stored import history_rows, open_stored

    try:
        with open_stored(_stored_store(ctx, config), config.lock_timeout) as con:
            rows = history_rows(con, limit)
    except ReconcileError as exc:
        RunLog(config.log_format).error(str(exc), nothing_written=False)
        ctx.exit(exc.exit_code)
    if as_json:
        for row in rows:
            click.echo(json.dumps(row))
        return
    from rich.table import Table

    table = Table(title="recent runs, newest first", title_justify="left")
    for column in ("run", "started (UTC)", "took", "status", "rows per source", "findings", "new", "persisting",
                   "resolved"):
        table.add_column(column, overflow="fold")

    def n(value: object) -> str:
        return "-" if value is None else f"{value:,}"

    for row in rows:
        sources = " ".join(f"{name}={'FAILED' if s['failed'] else n(s['rows'])}" for name, s in row["sources"].items())
        table.add_row(row["run_id"], row["started_at"][:19].replace("T", " "), f"{row['duration_seconds']} s",
                      row["status"], Text(sources or "-"), n(row["findings"]), n(row["new"]), n(row["persisting"]),
                      n(row["resolved"]))
    console = Console()
    if not console.is_terminal:
        console.width = 200
    console.print(table)


@main.group("sources")
def sources_group() -> None:
    """The sources a job reads."""


@sources_group.command("test", epilog="""\b
Exit codes:
  0  every configured source answered
  2  usage or configuration error
  3  at least one source failed (the table says which and why)
""")
@job_option(required=False)
@run_options
@click.option("--timeout", type=click.FloatRange(min=1), default=60.0, show_default=True,
              help="Seconds each source may take before it counts as failed.")
@click.pass_context
def sources_test_command(ctx: click.Context, job_file: Path | None, timeout: float, **_options: object) -> None:
    """Connect, authenticate and probe each configured source; read nothing in bulk."""
    config = resolve_run(ctx, job_file).config
    results = probe_configured(config, timeout=timeout)
    from rich.table import Table

    table = Table(title=f"sources of {job_file or 'this configuration'}", title_justify="left")
    for column in ("source", "target", "result", "detail"):
        table.add_column(column, overflow="fold")
    for row in results:
        table.add_row(row.source, row.target, "[green]ok[/]" if row.ok else "[bold red]FAILED[/]",
                      Text(row.detail))
    console = Console()
    if not console.is_terminal:
        console.width = 200
    console.print(table)
    if config.entra.read == "graph":
        _print_permissions(console, results, config)
    failed = [row for row in results if not row.ok]
    if failed:
        Console(stderr=True).print(f"{len(failed)} of {len(results)} check(s) failed", highlight=False)
    ctx.exit(ExitCode.INPUT_ERROR if failed else ExitCode.CLEAN)


def _print_permissions(console: Console, results: list, config: RunConfig) -> None:
    """The Graph permissions the audit needs: who needs each, and whether the credential has it."""
    from rich.table import Table

    from reconcile.sources.probe import permission_table
    from reconcile.sources.registry import source_environ

    try:
        environ = source_environ(config, os.environ)  # the job file's { env = } / { file = } secrets too
    except ReconcileError:
        environ = os.environ  # the probe table already has the row saying why

    table = Table(title="Microsoft Graph permissions", title_justify="left")
    for column in ("permission", "type", "needed by", "granted"):
        table.add_column(column, overflow="fold")
    rows = permission_table(results, environ)
    colour = {"yes": "green", "no": "bold red", "not checked": "yellow"}
    for row in rows:
        table.add_row(row.permission, row.kind, ", ".join(row.needed_by), f"[{colour[row.granted]}]{row.granted}[/]")
    console.print(table)
    missing = [row.permission for row in rows if row.granted == "no"]
    if missing:
        Console(stderr=True).print(f"missing Graph permission(s): {', '.join(missing)}: the audit skips what needs "
                                   "them (a partial run, exit 4)", highlight=False)


@main.group("exceptions")
def exceptions_group() -> None:
    """The exceptions file: findings a person has decided to live with, until a date."""


@exceptions_group.command("check", epilog="""\b
Exit codes:
  0  every entry is valid
  3  the file cannot be read, or an entry is invalid (each problem is listed)
""")
@click.argument("file", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--allow-long-exceptions", is_flag=True, help="Allow entries that expire more than 365 days ahead.")
@click.pass_context
def exceptions_check_command(ctx: click.Context, file: Path, allow_long_exceptions: bool) -> None:
    """Validate an exceptions file with today (UTC) as the run date, without a run."""
    from reconcile.exceptions import expiring_soon, load_exceptions

    today = datetime.now(UTC).date()
    try:
        entries = load_exceptions(file, [rule.rule_id for rule in load_rules()], today, allow_long_exceptions)
    except ReconcileError as exc:
        RunLog().error(str(exc), nothing_written=False)
        ctx.exit(exc.exit_code)
    expired = [e for e in entries if e.expired(today)]
    soon = expiring_soon(entries, today)
    click.echo(f"{file}: {len(entries)} valid entr{'y' if len(entries) == 1 else 'ies'}, {len(expired)} expired "
               f"(their findings are open again), {len(soon)} expiring within 14 days")
    for entry in expired:
        click.echo(f"  expired {entry.expires.isoformat()}: {entry.describe()}")
    for entry in soon:
        click.echo(f"  expires {entry.expires.isoformat()}: {entry.describe()}")


@main.group("rules")
def rules_group() -> None:
    """The rules: what each checks, on which inputs, and the facts it rests on."""


@rules_group.command("list")
def rules_list_command() -> None:
    """List every rule: id, severity, the inputs it needs, the permissions their live sources need, its title."""
    _print_rules()


@rules_group.command("show")
@click.argument("rule_id")
@click.pass_context
def rules_show_command(ctx: click.Context, rule_id: str) -> None:
    """Show one rule: severity, inputs, the error a user meets, the fix and the rule's own notes."""
    rules = {rule.rule_id: rule for rule in load_rules()}
    rule = rules.get(rule_id)
    if rule is None:
        import difflib

        close = difflib.get_close_matches(rule_id.upper(), list(rules), n=1, cutoff=0.5)
        raise click.UsageError(f"no rule {rule_id!r}" + (f" (did you mean {close[0]}?)" if close else "")
                               + "; `reconcile rules list` lists them")
    console = Console()
    console.print(f"[bold]{rule.rule_id}[/] ({rule.severity_label}): {rule.title}", highlight=False)
    for label, value in (("inputs", ", ".join(rule.depends_on)), ("requires", rule.requires),
                         ("predicted error", rule.predicted_error),
                         ("fix", rule.remediation), ("fixed by", OWNERS.get(rule.owner, rule.owner)),
                         ("changes", rule.change or "-"),
                         ("file", str(rule.path))):
        console.print(f"{label}: {value}", highlight=False, soft_wrap=True)
    notes = rule_notes(rule)
    if notes:
        console.print("\n" + notes, highlight=False, markup=False, soft_wrap=True)


main.add_command(remediate)


@main.command("list-rules")
def list_rules_command() -> None:
    """List every rule (the same as `reconcile rules list`)."""
    _print_rules()


def _print_rules() -> None:
    console = Console()
    from rich.table import Table

    table = Table()
    table.add_column("rule", no_wrap=True)
    for name in ("severity", "depends_on", "requires", "title"):
        table.add_column(name)
    for rule in load_rules():
        table.add_row(rule.rule_id, rule.severity_label, ", ".join(rule.depends_on), rule.requires, rule.title)
    console.print(table)


@remediate.command("plan", epilog="""\b
Exit codes:
  0  the plan is written (even when it holds no change)
  2  usage error (bad options)
  3  input or extraction error: no plan written
  4  a source failed: no plan is made from a partial audit
  5  internal error (a bug); -v shows the traceback
""")
@click.option("--plan", "plan_path", type=click.Path(dir_okay=False, path_type=Path), required=True,
              metavar="PLAN.json",
              help="Where to write the plan; PLAN.csv, for the people who review it, goes beside it.")
@click.option("--include-email-links", is_flag=True,
              help="Also plan accounts whose only link to their person is the account's own email field.")
@job_option(required=False)
@run_options
@quiet_option
@verbose_option
@click.pass_context
def remediate_plan_command(ctx: click.Context, plan_path: Path, include_email_links: bool, job_file: Path | None,
                           quiet: bool, verbose: bool, **_options: object) -> None:
    """Audit the sources as `audit` does and write the plan: the auth_data changes it may make by itself,
    and every other fix as a manual step for its owner. Changes nothing anywhere: no store, no reports."""
    from reconcile.remediate.plan import make_plan

    config = resolve_run(ctx, job_file).config
    log = RunLog(config.log_format, quiet)
    plan, result = _guarded(ctx, log, verbose, lambda: make_plan(config, plan_path, include_email_links))
    from reconcile.remediate.plan_file import csv_path_for

    if not quiet:
        click.echo(f"plan {plan_path} (run {result.run_id}, {plan.auth_service or 'no'} auth service): "
                   f"{len(plan.changes)} change(s) the plan may apply, {len(plan.manual)} manual step(s); "
                   f"review {csv_path_for(plan_path)}, then `reconcile remediate apply {plan_path} "
                   "--mattermost-url URL` (a dry run)")
        for note in plan.notes:
            click.echo(f"  {note}")
    ctx.exit(ExitCode.CLEAN)
