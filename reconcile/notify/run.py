"""What ``audit.run_configured`` calls when a run ends: decide, build the message, post, record.

Nothing here can change a run's exit code or its reports: every failure (a secret that cannot be read,
a server that refuses or does not answer) becomes ``{"status": "failed", "error": ...}`` in the run's
summary.json and a warning in the log, naming the target by host only. With a webhook and a bot both
configured the message goes to both; the status is ``sent`` only when both took it.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING

import duckdb

from reconcile.config import ConfigError, NotifyConfig, RunConfig
from reconcile.errors import ExitCode, ReconcileError, ReportsNotWritten
from reconcile.notify.decide import should_post
from reconcile.notify.message import failure_message, run_message
from reconcile.notify.names import NewBlocking
from reconcile.notify.post import PostError, Target, bot_target, post, webhook_target
from reconcile.redaction import SECRET_WORDS, environment_secrets, scrub
from reconcile.report.json_report import write_json

if TYPE_CHECKING:
    from reconcile.audit import AuditResult

log = logging.getLogger(__name__)

NOTIFY_NOT_SENT = {"status": "not_sent", "error": None}
_SECRET_WORDS = (*SECRET_WORDS, "WEBHOOK", "DSN")


def notify_finished(notify: NotifyConfig, result: AuditResult, people: NewBlocking | None,
                    environ: Mapping[str, str]) -> dict:
    """Post a finished run's message when ``notify.on`` says so; the record for summary.json."""
    if not notify.configured or not should_post(notify.on, result.summary):
        return dict(NOTIFY_NOT_SENT)
    if notify.detail == "names" and people is None:  # the names query failed: logged by run_configured
        message = (run_message(result.summary, report_path(result))
                   + "\n\n**New blocking people:** could not be read (see the job's log)")
    elif notify.detail == "names":
        message = run_message(result.summary, report_path(result), people.rows, people.total)
    else:
        message = run_message(result.summary, report_path(result))
    return _deliver(notify, message, environ)


def notify_failed(config: RunConfig, error: BaseException, environ: Mapping[str, str]) -> dict:
    """Post that a run failed (it raised: no summary, maybe nothing written); every ``on`` posts it."""
    notify = config.notify
    if not notify.configured or not should_post(notify.on, None):
        return dict(NOTIFY_NOT_SENT)
    message = failure_message(error, exit_code_of(error), not isinstance(error, ReportsNotWritten),
                              config.job_file, _environment_secrets(environ))
    return _deliver(notify, message, environ)


def exit_code_of(error: BaseException) -> ExitCode:
    """The exit code the CLI gives a run that raised ``error`` (reconcile.cli._guarded)."""
    from reconcile.rules import RuleFileError

    if isinstance(error, ReconcileError):
        return error.exit_code
    if isinstance(error, RuleFileError | duckdb.IOException):
        return ExitCode.INPUT_ERROR
    return ExitCode.INTERNAL_ERROR


def report_path(result: AuditResult) -> Path:
    """Where a reader finds the run: report.html when it was written, else summary.json."""
    out = result.output_dir.absolute()
    written = result.output_dir / "runs" / result.run_id
    return out / "report.html" if (written / "report.html").exists() else out / "summary.json"


def record_notify(result: AuditResult, record: dict) -> None:
    """``summary["notify"]``, and the run's summary.json rewritten with it (atomically, owner-only).
    A summary.json that cannot be rewritten keeps its first version: logged, never the run's outcome."""
    result.summary["notify"] = record
    path = result.output_dir / "runs" / result.run_id / "summary.json"
    if not path.is_file():
        return
    try:
        write_json(result.summary, path)
    except OSError as exc:
        log.warning("summary.json could not be rewritten with the notification's status: %s", exc)


def _deliver(notify: NotifyConfig, message: str, environ: Mapping[str, str]) -> dict:
    targets: list[Target] = []
    errors: list[str] = []
    if notify.webhook_url is not None:
        try:
            targets.append(webhook_target(notify.webhook_url.read(environ), message))
        except (ConfigError, PostError) as exc:
            errors.append(f"webhook: {exc}".replace("webhook: webhook: ", "webhook: "))
    if notify.bot_token is not None:
        try:
            targets.append(bot_target(notify.server or "", notify.bot_token.read(environ), notify.channel_id or "",
                                      message))
        except ConfigError as exc:
            errors.append(f"bot: {exc}")
    for target in targets:
        try:
            post(target)
        except PostError as exc:
            errors.append(str(exc))
        except Exception as exc:  # a bug here must not cost the run: say what kind, never the URL
            errors.append(scrub(f"{target.label}: {type(exc).__name__}", target.secrets))
    if errors:
        error = "; ".join(errors)
        log.warning("the run's notification was not posted: %s", error)
        return {"status": "failed", "error": error}
    return {"status": "sent", "error": None}


def _environment_secrets(environ: Mapping[str, str]) -> set[str]:
    """Secret values a failed run's error could hold (RECONCILE_*TOKEN, the webhook, the DSN and the like,
    and the secret files' paths), to scrub them."""
    return environment_secrets(environ, _SECRET_WORDS, file_paths=True)
