"""The post: one Markdown message from a run's summary, or a short one for a run that failed.

With ``detail = "counts"`` the message is built from figures and names of things only (run id, status,
readiness and finding counts, drift, outcome classes, source names and rows, the report's path): no
UPN, email, name or id of a person can reach the channel, whoever reads it. ``names`` adds the people
of :mod:`reconcile.notify.names`, for a private admins' channel.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path

from reconcile.notify.decide import changed
from reconcile.redaction import scrub

MAX_ERROR = 300
# A failed run's error line names files and records; a person in it is scrubbed (best effort: emails and
# UPNs, GUIDs such as Entra object ids, Mattermost's 26-character ids, an LDAP DN's CN).
_PERSONAL = (
    (re.compile(r"[^\s'\"<>(),;:]+@[^\s'\"<>(),;:]+"), "<email>"),
    (re.compile(r"\b[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}\b"), "<id>"),
    (re.compile(r"\b[a-z0-9]{26}\b"), "<id>"),
    (re.compile(r"(?i)\bCN=[^,;)]+"), "CN=<name>"),
)


def run_message(summary: Mapping, report: Path, people: Sequence[tuple[str, str]] | None = None,
                people_total: int = 0) -> str:
    """The post for a finished run. ``people``: (UPN, rule id) rows for ``detail = "names"``, None for
    ``counts``; ``people_total`` is how many such rows the run has in all."""
    lines = [f"#### reconcile run {_code(summary['run_id'])}: {summary['status']}"]
    if summary.get("status") != "complete":
        failed = [i["name"] for i in summary.get("failed_inputs") or []]
        lines.append(f"**Partial run:** {', '.join(failed) or 'a source'} failed; the rules needing "
                     f"{'it' if len(failed) == 1 else 'them'} were skipped and their findings carried forward")
    lines.append("**Readiness:** " + _counts(summary.get("readiness") or {}))
    accepted = (summary.get("exceptions") or {}).get("accepted_findings", 0)
    lines.append("**Findings:** " + _counts(summary.get("findings_by_severity") or {})
                 + (f" ({accepted:,} accepted)" if accepted else ""))
    lines.append(_drift_line(summary))
    if summary.get("outcomes"):
        lines.append("**Enrollment outcomes:** " + _counts(summary["outcomes"]))
    no_exceptions = not (summary.get("exceptions") or {}).get("file")  # the exceptions input without a file
    read = [f"{i['name']} ({_rows(i.get('rows'))})" for i in summary.get("inputs") or []
            if i.get("available") and not (i["name"] == "exceptions" and no_exceptions)]
    lines.append("**Sources read:** " + (", ".join(read) or "none"))
    lines.append(f"**Report:** {_code(str(report))}")
    if people is not None:
        lines.append("")
        lines.extend(_people(people, people_total) if summary.get("drift") is not None
                     else ["**New blocking people:** not known (history off: no finding is known to be new)"])
    return "\n".join(lines)


def failure_message(error: BaseException, exit_code: int, nothing_written: bool, job: Path | None,
                    secrets: Iterable[str] = ()) -> str:
    """The post for a run that raised: that it failed, its exit code and the error's first line, scrubbed
    of secrets and people; never a traceback."""
    first = (str(error).strip().splitlines() or [type(error).__name__])[0]
    first = scrub_personal(scrub(first, secrets))[:MAX_ERROR]
    lines = [f"#### reconcile run failed (exit {int(exit_code)})",
             f"**Error:** {_code(first)}",
             "Nothing was written; the store is unchanged." if nothing_written
             else "The run is stored, but its reports were not written."]
    if job is not None:
        lines.append(f"**Job:** {_code(str(job))}")
    return "\n".join(lines)


def scrub_personal(text: str) -> str:
    for pattern, replacement in _PERSONAL:
        text = pattern.sub(replacement, text)
    return text


def _drift_line(summary: Mapping) -> str:
    if summary.get("drift") is None:
        return "**Since the previous run:** not compared (history off)"
    previous = summary.get("previous_run_id")
    if previous is None:
        return "**First run in this store:** nothing to compare with yet"
    counts = changed(summary)
    return (f"**Since run {_code(previous)}:** {counts['new']:,} new, "
            + (f"{counts['reopened']:,} reopened, " if counts["reopened"] else "")
            + f"{counts['resolved']:,} resolved")


def _people(people: Sequence[tuple[str, str]], total: int) -> list[str]:
    if not people:
        return ["**New blocking people:** none"]
    shown = f"first {len(people)} of {total:,}" if total > len(people) else f"{len(people):,}"
    return [f"**New blocking people ({shown}, by UPN and rule):**",
            *(f"- {_code(upn)} {_code(rule)}" for upn, rule in people)]


def _counts(counts: Mapping[str, object]) -> str:
    return ", ".join(f"{name} {value:,}" if isinstance(value, int) else f"{name} {value}"
                     for name, value in counts.items()) or "none"


def _rows(rows: object) -> str:
    if rows is None:
        return "rows unknown"
    return f"{rows:,} row{'' if rows == 1 else 's'}" if isinstance(rows, int) else f"{rows} rows"


def _code(text: str) -> str:
    """Inline code: nothing in it is read as Markdown (an underscore in a UPN, a star in a path)."""
    return f"`{text.replace('`', chr(39))}`"
