"""The short summary printed at the end of a run (stdout), with rich tables."""

from __future__ import annotations

from rich.console import Console
from rich.table import Table

from reconcile.audit import AuditResult
from reconcile.report.log import notify_text

_STYLE = {"blocking": "bold red", "warning": "yellow", "info": "cyan"}


def print_summary(result: AuditResult, console: Console) -> None:
    rules = Table(title=f"reconcile run {result.run_id}", title_justify="left")
    rules.add_column("rule", no_wrap=True)
    rules.add_column("severity")
    rules.add_column("findings", justify="right")
    rules.add_column("title")
    fired = [r for r in result.rule_results if r.status == "ran" and r.finding_count]
    order = {"blocking": 0, "warning": 1, "info": 2}
    for res in sorted(fired, key=lambda r: (order[r.severity], r.rule.rule_id)):
        style = _STYLE[res.severity]
        rules.add_row(res.rule.rule_id, f"[{style}]{res.severity}[/]", f"{res.finding_count:,}",
                      res.rule.title)
    if not fired:
        rules.add_row("-", "-", "0", "no rule fired")
    console.print(rules)

    ready = Table(title="readiness of the targeted population", title_justify="left")
    for status in result.readiness_counts:
        ready.add_column(status, justify="right")
    ready.add_row(*(f"{count:,}" for count in result.readiness_counts.values()))
    console.print(ready)
    _print_outcomes(result, console)
    console.print(f"targeted: {result.targeting}")
    for info in result.inputs:
        if info.available and info.note:
            console.print(f"note: {info.file}: {info.note}")
    skipped = [r for r in result.rule_results if r.status == "skipped"]
    if skipped:
        console.print(f"[yellow]{len(skipped)} rule(s) skipped[/] (not passed):")
        for res in skipped:
            console.print(f"  {res.rule.rule_id}: {res.skip_reason}")
    drift = result.summary.get("drift")
    if drift is not None and result.summary.get("previous_run_id"):
        console.print(f"since run {result.summary['previous_run_id']}: {drift['new']:,} new finding(s), "
                      f"{drift['persisting']:,} persisting, {drift.get('accepted', 0):,} newly accepted, "
                      f"{drift.get('reopened', 0):,} reopened, {drift['resolved']:,} resolved (resolved.csv)")
    _print_exceptions(result.summary.get("exceptions") or {}, console)
    written = sorted(p.name for p in (result.output_dir / "runs" / result.run_id).iterdir()) \
        if (result.output_dir / "runs" / result.run_id).is_dir() else []
    console.print(f"reports in {result.output_dir}: {', '.join(written)} (the set of run {result.run_id}, "
                  f"kept in runs/{result.run_id}/)")
    if result.notify_configured and result.summary.get("notify"):
        console.print(notify_text(result.summary["notify"]), highlight=False, markup=False, soft_wrap=True)


def _print_outcomes(result: AuditResult, console: Console) -> None:
    """The predictions against Intune's registrations, when they were read (issue 15), and the blocking
    rules whose people enrolled anyway: the predictions that were wrong (people with only warnings or
    infos are expected to get through)."""
    summary = result.summary
    classes = summary.get("outcomes")
    if classes is None:
        return
    window = summary.get("outcomes_window") or {}
    table = Table(title=f"predictions against Intune (enrolled: synced within {window.get('enrolled_within_days')} "
                        "days)", title_justify="left")
    table.add_column("outcome")
    table.add_column("people", justify="right")
    for name, n in classes.items():
        table.add_row(name, f"[yellow]{n:,}[/]" if name == "false_alarm" and n else f"{n:,}")
    console.print(table)
    if not (summary.get("registrations") or {}).get("kept"):
        console.print("[yellow]Intune holds no Mattermost iOS registration yet[/]: nothing is confirmed either way")
    blocking = {r.rule.rule_id for r in result.rule_results if "blocking" in (r.rule.severities or (r.rule.severity,))}
    wrong = {rule: c for rule, c in (summary.get("rule_outcomes") or {}).items()
             if c["enrolled_anyway"] and rule in blocking}
    if wrong:
        console.print("blocking rules whose people enrolled anyway (report them: OUTCOME_FALSE_ALARM):")
    for rule, counts in sorted(wrong.items()):
        console.print(f"  {rule}: fired for {counts['fired']:,}, {counts['enrolled_anyway']:,} enrolled anyway")


def _print_exceptions(info: dict, console: Console) -> None:
    """One line on the exceptions file, and every entry that runs out within 14 days: the person who
    renews it reads this summary, not the TOML file."""
    if not info.get("file"):
        return
    expired = f"[yellow]{info['expired']:,} expired[/]" if info["expired"] else "0 expired"
    console.print(f"exceptions: {info['entries']:,} entries, {info['accepted_findings']:,} finding(s) accepted "
                  f"(not counted for the exit code), {expired}, {info['unused']:,} unused")
    for entry in info.get("expiring_soon", []):
        console.print(f"  expires {entry['expires']}: {entry['rule']} {entry['subject']}")
    for group in info.get("groups_not_read", []):
        console.print(f"  [yellow]group {group['group']} not read[/] ({group['reason']}): its entries cover nobody")
