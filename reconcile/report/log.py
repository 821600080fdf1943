"""What a run says on stderr while it works and when it ends: for people, or as JSON lines for schedulers.

Every run ends with exactly one summary line (run id, status, rows per source, findings new /
persisting / resolved, duration), even with ``--quiet``: a scheduler's log then holds one line per
night that says what happened, and a line that is missing means the job died before it finished.
"""

from __future__ import annotations

import json
import sys
import traceback
from datetime import UTC, datetime

from rich.console import Console
from rich.text import Text


class RunLog:
    def __init__(self, log_format: str = "text", quiet: bool = False, stream=None):
        self.format = log_format
        self.quiet = quiet
        self.stream = stream or sys.stderr
        self.console = Console(file=self.stream, stderr=stream is None)
        # progress only for a person watching a terminal; a JSON log gets no progress chatter
        self.show_progress = log_format == "text" and not quiet and self.stream.isatty()

    def _emit(self, level: str, event: str, message: str, **fields: object) -> None:
        record = {"time": datetime.now(UTC).isoformat(timespec="seconds"), "level": level, "event": event,
                  "message": message, **fields}
        self.stream.write(json.dumps(record, ensure_ascii=False, default=str) + "\n")
        self.stream.flush()

    def progress(self, message: str) -> None:
        if self.show_progress:
            self.console.print(Text(message, style="dim"), highlight=False)

    def warning(self, message: str) -> None:
        if self.format == "json":
            self._emit("warning", "warning", message)
        else:
            head, _, rest = message.partition(": ")
            self.console.print(Text.assemble((f"{head}: ", "bold yellow"), rest) if rest else Text(message),
                               highlight=False, soft_wrap=True)

    def error(self, message: str, nothing_written: bool = True) -> None:
        tail = "nothing was written; the store is unchanged"
        if self.format == "json":
            self._emit("error", "error", message, **({"note": tail} if nothing_written else {}))
            return
        self.console.print(Text.assemble(("error: ", "bold red"), message), highlight=False, soft_wrap=True)
        if nothing_written:
            self.console.print(tail, highlight=False)

    def internal_error(self, exc: BaseException, verbose: bool) -> None:
        first = (str(exc).splitlines() or [""])[0][:300]
        message = f"internal error: {type(exc).__name__}: {first}"
        if self.format == "json":
            self._emit("error", "internal_error", message, note="nothing was written; the store is unchanged",
                       **({"traceback": "".join(traceback.format_exception(exc))} if verbose else {}))
            return
        self.console.print(Text.assemble(("error: ", "bold red"), message,
                                         "" if verbose else " (run with -v for the traceback)"),
                           highlight=False, soft_wrap=True)
        if verbose:
            self.console.print("".join(traceback.format_exception(exc)), highlight=False, markup=False)
        self.console.print("nothing was written; the store is unchanged", highlight=False)

    def run_summary(self, summary: dict, notify_configured: bool = False) -> None:
        """The one line that ends every run; with a notification configured, its outcome too."""
        fields = summary_fields(summary)
        if notify_configured and summary.get("notify"):
            fields["notify"] = summary["notify"]
        if self.format == "json":
            self._emit("info", "run_finished", summary_text(fields), **fields)
        else:
            self.console.print(summary_text(fields), highlight=False, soft_wrap=True, markup=False)


def summary_fields(summary: dict) -> dict:
    started = datetime.fromisoformat(summary["started_at"])
    finished = datetime.fromisoformat(summary["finished_at"])
    drift = summary.get("drift") or {}
    changes = summary.get("changes_since_previous") or {}
    return {
        "run_id": summary["run_id"],
        "status": summary["status"],
        "exit_code": summary["exit_code"],
        "rows": {i["name"]: i["rows"] for i in summary["inputs"] if i["available"] or i["failed"]},
        "failed_sources": [i["name"] for i in summary["failed_inputs"]],
        "findings": summary["findings_by_severity"],
        "accepted": (summary.get("exceptions") or {}).get("accepted_findings", 0),
        "new": drift.get("new", changes.get("new")),
        "persisting": drift.get("persisting"),
        "resolved": drift.get("resolved", changes.get("resolved")),
        "duration_seconds": round((finished - started).total_seconds(), 1),
    }


def summary_text(fields: dict) -> str:
    rows = " ".join(f"{name}={count if count is not None else '?'}" for name, count in fields["rows"].items())
    failed = f" failed={','.join(fields['failed_sources'])}" if fields["failed_sources"] else ""

    def n(value: object) -> str:
        return "-" if value is None else f"{value}"

    counts = fields["findings"]
    return (f"run {fields['run_id']} {fields['status']} exit={fields['exit_code']} rows: {rows or 'none'}{failed}; "
            f"findings blocking={counts.get('blocking', 0)} warning={counts.get('warning', 0)} "
            f"info={counts.get('info', 0)} accepted={fields['accepted']}, "
            f"new={n(fields['new'])} persisting={n(fields['persisting'])} "
            f"resolved={n(fields['resolved'])}; {fields['duration_seconds']} s"
            + (f"; {notify_text(fields['notify'])}" if fields.get("notify") else ""))


def notify_text(record: dict) -> str:
    """``notify: sent``, ``notify: not_sent`` or ``notify: failed (why)``: the notification's outcome."""
    return f"notify: {record['status']}" + (f" ({record['error']})" if record.get("error") else "")
