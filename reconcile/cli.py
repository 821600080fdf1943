"""Command line: ``reconcile audit`` and friends. Thin: the work is in reconcile.audit.

Exit codes (reconcile.errors.ExitCode): 0 nothing at or above --fail-on, 1 findings at or above
it, 2 usage error, 3 input or extraction error (nothing written), 4 partial run, 5 internal error
(a bug: nothing written; -v shows the traceback).
"""

from __future__ import annotations

import contextlib
import os
import sys
import traceback
from collections.abc import Callable, Iterator
from pathlib import Path

import click
import duckdb
from rich.console import Console

from reconcile import __version__
from reconcile.audit import DEFAULT_KEEP_SNAPSHOTS, FAIL_ON_LEVELS, run_audit
from reconcile.errors import ExitCode, ReconcileError, ReportsNotWritten
from reconcile.paths import SAMPLES, sample_dir
from reconcile.rules import RuleFileError, load_rules
from reconcile.sources.base import PRODUCTION_BUNDLE_ID, TargetingOptions
from reconcile.sources.registry import GraphOptions, LdapOptions, PageProgress, SourceOptions


def quiet_option(func: Callable) -> Callable:
    return click.option("-q", "--quiet", is_flag=True, help="No progress and no summary; errors only.")(func)


def output_dir_option(func: Callable) -> Callable:
    return click.option(
        "--output-dir", type=click.Path(file_okay=False, path_type=Path), default=Path("reconcile-report"),
        envvar="RECONCILE_OUTPUT_DIR", show_default=True, show_envvar=True,
        help="Where the reports are written: findings.csv, findings.json, readiness.csv, summary.json and "
             "report.html (and the store, reconcile.duckdb, unless --store says otherwise).",
    )(func)


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


@main.command("audit", epilog=EXIT_CODES_HELP)
@click.option("--input-dir", type=click.Path(exists=True, file_okay=False, path_type=Path),
              envvar="RECONCILE_INPUT_DIR", show_envvar=True,
              help="Export directory (entra_users.json, mattermost_users.json, ldap_users.ldif, ...).")
@click.option("--sample", type=click.Choice(SAMPLES), is_flag=False, flag_value="tenant", default=None,
              help="Audit a bundled synthetic tenant: --sample alone is the correctly configured one, "
                   "--sample misconfigured the one where every config, tenant, policy and token rule fires.")
@output_dir_option
@click.option("--store", "store_path", type=click.Path(dir_okay=False, path_type=Path),
              envvar="RECONCILE_STORE", show_envvar=True,
              help="DuckDB store kept across runs.  [default: OUTPUT_DIR/reconcile.duckdb]")
@click.option("--fail-on", type=click.Choice(FAIL_ON_LEVELS), default="blocking", show_default=True,
              help="Exit 1 when a finding at or above this severity exists.")
@click.option("--keep-snapshots", type=click.IntRange(min=1), default=DEFAULT_KEEP_SNAPSHOTS,
              show_default=True, help="Runs whose staging snapshots the store keeps (findings are kept).")
@click.option("--intune-group", "intune_groups", multiple=True, metavar="GROUP_ID",
              help="Target the members of this group (repeatable) instead of discovering the policy's groups.")
@click.option("--ios-bundle-id", "ios_bundle_ids", multiple=True, default=(PRODUCTION_BUNDLE_ID,), show_default=True,
              help="A Mattermost iOS app the organisation deploys (repeatable; beta: com.mattermost.rnbeta).")
@click.option("--mobile-client-id", "mobile_client_ids", multiple=True, metavar="APP_ID",
              envvar="RECONCILE_MOBILE_CLIENT_ID", show_envvar=True,
              help="An application (client) id that is Mattermost Mobile besides the published App Store and "
                   "TestFlight ids (repeatable; in the variable, separate ids with spaces).")
@click.option("--entra", "entra_source", type=click.Choice(["files", "graph"]), default="files", show_default=True,
              help="Where Entra users, groups, policies and the app registration come from: the export directory, "
                   "or Microsoft Graph (credentials from RECONCILE_ENTRA_* variables, never the command line).")
@click.option("--entra-app-id", metavar="APP_ID",
              help="The server API app registration to check (default: IntuneSettings.ClientId).")
@click.option("--ldap", "ldap_url", metavar="URL",
              help="Read the directory live: ldaps://host, or ldap://host with StartTLS (bind DN and password from "
                   "RECONCILE_LDAP_BIND_DN and RECONCILE_LDAP_PASSWORD or RECONCILE_LDAP_PASSWORD_FILE).")
@click.option("--ldap-base-dn", metavar="DN", help="Search base (default: LdapSettings.BaseDN).")
@click.option("--ldap-filter", metavar="FILTER", help="User filter (default: LdapSettings.UserFilter).")
@click.option("--ldap-insecure", is_flag=True, help="Allow plain LDAP without TLS (the report says so).")
@click.option("--mattermost-insecure", is_flag=True,
              help="Allow --mattermost-url http:// to a host other than loopback (the token travels unencrypted; "
                   "the report says so).")
@click.option("--mattermost-url", metavar="URL",
              help="Read users, config and license from the Mattermost API (token from RECONCILE_MATTERMOST_TOKEN "
                   "or RECONCILE_MATTERMOST_TOKEN_FILE; it must belong to a system admin).")
@click.option("--mattermost-dsn", metavar="DSN", envvar="RECONCILE_MATTERMOST_DSN", show_envvar=True,
              help="Read users from Mattermost's PostgreSQL database (read-only session). Keep the password out "
                   "of the command line: use the environment variable, PGPASSWORD or a .pgpass file.")
@click.option("--memory-limit", metavar="SIZE", envvar="RECONCILE_MEMORY_LIMIT", show_envvar=True,
              help="Memory DuckDB may hold before it spills to a private temporary directory, such as 2GB "
                   "(default 1300MB: a million users per source in under 2 GiB).")
@click.option("--incremental", is_flag=True,
              help="With --entra graph: apply a /users/delta round to the last committed run in the store.")
@click.option("--full-pull", is_flag=True, help="With --incremental: ignore the stored delta link, start again.")
@quiet_option
@verbose_option
@click.pass_context
def audit_command(ctx: click.Context, input_dir: Path | None, sample: str | None, output_dir: Path,
                  store_path: Path | None, fail_on: str, keep_snapshots: int, intune_groups: tuple[str, ...],
                  ios_bundle_ids: tuple[str, ...], mobile_client_ids: tuple[str, ...], entra_source: str,
                  entra_app_id: str | None,
                  ldap_url: str | None, ldap_base_dn: str | None, ldap_filter: str | None, ldap_insecure: bool,
                  mattermost_insecure: bool, mattermost_url: str | None, mattermost_dsn: str | None,
                  memory_limit: str | None, incremental: bool, full_pull: bool, quiet: bool, verbose: bool) -> None:
    """Read an export directory, run every rule, write findings and per-user readiness."""
    if sample and input_dir:
        raise click.UsageError("give either --input-dir or --sample, not both")
    if not sample and not input_dir:
        raise click.UsageError("give --input-dir DIR (an export directory) or --sample")
    if (incremental or full_pull) and entra_source != "graph":
        raise click.UsageError("--incremental and --full-pull need --entra graph")
    if full_pull and not incremental:
        raise click.UsageError("--full-pull restarts an incremental pull: give it with --incremental")
    if mattermost_dsn and _dsn_has_password(mattermost_dsn) and _from_command_line(ctx, "mattermost_dsn"):
        raise click.UsageError("--mattermost-dsn carries a password: put the DSN in RECONCILE_MATTERMOST_DSN, or "
                               "the password in PGPASSWORD or a .pgpass file, never on the command line")
    source = sample_dir(sample) if sample else input_dir
    err = Console(stderr=True)
    show_progress = not quiet and sys.stderr.isatty()

    def progress(message: str) -> None:
        if show_progress:
            err.print(f"[dim]{message}[/]")

    options = TargetingOptions(intune_groups, ios_bundle_ids, mobile_client_ids)
    wanted = SourceOptions(
        entra=entra_source, graph=GraphOptions(entra_app_id, incremental, full_pull),
        ldap=LdapOptions(ldap_url, ldap_base_dn, ldap_filter, ldap_insecure) if ldap_url else None,
        mattermost_url=mattermost_url, mattermost_dsn=mattermost_dsn, mattermost_insecure=mattermost_insecure)
    try:
        with _graph_progress(err if show_progress and entra_source == "graph" else None) as graph_progress:
            result = run_audit(source, output_dir, store_path, fail_on, keep_snapshots, progress, options, wanted,
                               graph_progress, memory_limit)
    except ReconcileError as exc:
        err.print(f"[bold red]error:[/] {exc}", highlight=False, soft_wrap=True)
        if not isinstance(exc, ReportsNotWritten):
            err.print("nothing was written; the store is unchanged", highlight=False)
        ctx.exit(exc.exit_code)
    except RuleFileError as exc:
        err.print(f"[bold red]error in a rule file:[/] {exc}", highlight=False, soft_wrap=True)
        ctx.exit(ExitCode.INPUT_ERROR)
    except duckdb.IOException as exc:
        err.print(f"[bold red]error:[/] cannot open the store: {exc}", highlight=False, soft_wrap=True)
        ctx.exit(ExitCode.INPUT_ERROR)
    except Exception as exc:  # a bug: never exit 1 ("findings"), which a scheduler reads as a good run
        _internal_error(err, exc, verbose)
        ctx.exit(ExitCode.INTERNAL_ERROR)
    for info in result.inputs:  # a partial run says why on stderr, even with --quiet: it is not a clean result
        if info.failed:
            err.print(f"[bold yellow]source failed:[/] {info.name}: {info.note}", highlight=False, soft_wrap=True)
    if not quiet:
        from reconcile.report.console import print_summary

        print_summary(result, Console())
    ctx.exit(result.exit_code)


def _internal_error(err: Console, exc: BaseException, verbose: bool) -> None:
    first = (str(exc).splitlines() or [""])[0][:300]
    err.print(f"[bold red]error:[/] internal error: {type(exc).__name__}: {first}"
              + ("" if verbose else " (run with -v for the traceback)"), highlight=False, soft_wrap=True)
    if verbose:
        err.print("".join(traceback.format_exception(exc)), highlight=False, markup=False)
    err.print("nothing was written; the store is unchanged", highlight=False)


def _dsn_has_password(dsn: str) -> bool:
    from psycopg.conninfo import conninfo_to_dict

    try:
        return bool(conninfo_to_dict(dsn).get("password"))
    except Exception:
        return False


def _from_command_line(ctx: click.Context, name: str) -> bool:
    return ctx.get_parameter_source(name) == click.core.ParameterSource.COMMANDLINE


@contextlib.contextmanager
def _graph_progress(console: Console | None) -> Iterator[PageProgress | None]:
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


@main.command("list-rules")
def list_rules_command() -> None:
    """List every rule: id, severity, the inputs it needs, and its title."""
    console = Console()
    from rich.table import Table

    table = Table()
    table.add_column("rule", no_wrap=True)
    for name in ("severity", "depends_on", "title"):
        table.add_column(name)
    for rule in load_rules():
        table.add_row(rule.rule_id, rule.severity_label, ", ".join(rule.depends_on), rule.title)
    console.print(table)
