"""``reconcile remediate``: the plan, applied and undone. Thin: the work is in reconcile.remediate.apply.

The token comes from ``RECONCILE_MATTERMOST_TOKEN`` / ``RECONCILE_MATTERMOST_TOKEN_FILE`` only (never an
option: it would show in ``ps`` and shell history). Without ``--yes`` every verb is a dry run.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

import click
from rich.console import Console
from rich.text import Text

from reconcile.errors import ExitCode, ReconcileError


@click.group("remediate")
def remediate() -> None:
    """Fix what the audit found: a reviewed plan, applied through the Mattermost API, journalled, undoable."""


# --- apply and undo ------------------------------------------------------------------------------------

APPLY_EXIT_CODES = """\b
Exit codes:
  0  every change applied and verified, already applied, or nothing to do (a dry run: every change would apply)
  2  usage error
  3  invalid plan or journal, too many changes, or a token that may not change accounts (refused before
     any write); or the token refused / the server gone mid-run (the journal records what was done)
  4  some changes skipped (changed since plan, account gone or deactivated) or refused; each is listed
  5  internal error (a bug); the journal holds every change made before it
"""

UNDO_EXIT_CODES = APPLY_EXIT_CODES.replace("invalid plan or journal, too many changes", "invalid journal")


def _mattermost_url_option(func: Callable) -> Callable:
    return click.option("--mattermost-url", required=True, metavar="URL",
                        help="The Mattermost server, e.g. https://chat.example.com (plain http only to loopback). "
                             "The token comes from RECONCILE_MATTERMOST_TOKEN or RECONCILE_MATTERMOST_TOKEN_FILE: a "
                             "system admin's personal access token.")(func)


def _yes_option(func: Callable) -> Callable:
    return click.option("--yes", is_flag=True,
                        help="Write. Without it: a dry run that reads the server, prints what it would do, and "
                             "sends no write and writes no journal.")(func)


def _rate_option(func: Callable) -> Callable:
    from reconcile.remediate.apply import DEFAULT_RATE

    return click.option("--rate", type=click.FloatRange(min=0, min_open=True), default=DEFAULT_RATE,
                        show_default=True, metavar="N",
                        help="At most N changes per second (the server's 429 Retry-After is obeyed as well).")(func)


def _quiet_option(func: Callable) -> Callable:
    return click.option("-q", "--quiet", is_flag=True, help="Print only the closing summary line (and errors).")(func)


@remediate.command("apply", epilog=APPLY_EXIT_CODES)
@click.argument("plan_path", metavar="PLAN.json", type=click.Path(dir_okay=False, path_type=Path))
@_mattermost_url_option
@_yes_option
@click.option("--journal", "journal_path", type=click.Path(dir_okay=False, path_type=Path), metavar="FILE",
              help="The journal to append to (default: PLAN.journal.jsonl beside the plan).")
@click.option("--max-changes", type=click.IntRange(min=0), default=200, show_default=True, metavar="N",
              help="Refuse a plan with more than N changes, before any write.")
@_rate_option
@_quiet_option
@click.pass_context
def apply_command(ctx: click.Context, plan_path: Path, mattermost_url: str, yes: bool, journal_path: Path | None,
                  max_changes: int, rate: float, quiet: bool) -> None:
    """Apply a reviewed plan (dry run without --yes).

    Per account: read, compare with the plan's "before" (compare-and-set), write, read again to verify;
    every step journalled before the next."""
    from reconcile.remediate.apply import apply_plan
    from reconcile.remediate.plan_file import journal_path_for, load_plan

    journal = journal_path or journal_path_for(plan_path)

    def run(client, on_result):
        return apply_plan(load_plan(plan_path), client, journal, dry_run=not yes, max_changes=max_changes,
                          rate=rate, on_result=on_result)

    _execute(ctx, run, mattermost_url, journal if yes else None, quiet, "apply")


@remediate.command("undo", epilog=UNDO_EXIT_CODES)
@click.argument("journal_path", metavar="JOURNAL", type=click.Path(dir_okay=False, path_type=Path))
@_mattermost_url_option
@_yes_option
@click.option("--journal", "undo_path", type=click.Path(dir_okay=False, path_type=Path), metavar="FILE",
              help="Undo's own journal (default: JOURNAL.undo.jsonl beside it, e.g. PLAN.journal.undo.jsonl).")
@_rate_option
@_quiet_option
@click.pass_context
def undo_command(ctx: click.Context, journal_path: Path, mattermost_url: str, yes: bool, undo_path: Path | None,
                 rate: float, quiet: bool) -> None:
    """Put back what a journal changed (dry run without --yes).

    Newest first, each with compare-and-set on the value the journal wrote; journalled like apply."""
    from reconcile.remediate.apply import undo_journal
    from reconcile.remediate.journal import undo_path_for

    undo_journal_path = undo_path or undo_path_for(journal_path)

    def run(client, on_result):
        return undo_journal(journal_path, client, undo_journal_path, dry_run=not yes, rate=rate, on_result=on_result)

    _execute(ctx, run, mattermost_url, undo_journal_path if yes else None, quiet, "undo")


def _execute(ctx: click.Context, run: Callable, url: str, journal: Path | None, quiet: bool, verb: str) -> None:
    """Run one verb: per-change lines on stdout (unless quiet), one summary line, errors on stderr."""
    from reconcile.remediate.apply import RunResult, StepResult
    from reconcile.sources.mattermost_api import MattermostApi, mattermost_token_from_env

    out = Console(highlight=False, soft_wrap=True)
    err = Console(stderr=True, highlight=False, soft_wrap=True)
    done: list[StepResult] = []

    def on_result(one: StepResult) -> None:
        done.append(one)
        if not quiet:
            out.print(Text(one.describe()), markup=False)

    def written_note() -> str:
        if journal is None or not journal.exists():
            return "nothing was written"
        return f"the journal {journal} records every change made so far; run the same command again to continue"

    try:
        with MattermostApi(url, mattermost_token_from_env(os.environ)) as client:
            result = run(client, on_result)
    except ReconcileError as exc:
        if done:
            out.print(RunResult(dry_run=journal is None, results=done, journal_path=journal).summary(verb),
                      markup=False)
        err.print(Text.assemble(("error: ", "bold red"), str(exc)))
        err.print(written_note())
        ctx.exit(exc.exit_code)
    except Exception as exc:  # a bug: never 0 or 4, which a wrapper script reads as a finished run
        first = (str(exc).splitlines() or [""])[0][:300]
        err.print(Text.assemble(("error: ", "bold red"), f"internal error: {type(exc).__name__}: {first}"))
        err.print(written_note())
        ctx.exit(ExitCode.INTERNAL_ERROR)
    out.print(result.summary(verb), markup=False)
    ctx.exit(result.exit_code)
