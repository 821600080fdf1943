"""One self-contained HTML page for the admin: inline CSS and SVG, no scripts, no external requests.

Read top to bottom it answers, in order: how many people will fail, how that moved over the last
runs, who broke and who was fixed since the last run, what to fix per rule, whether the server and
tenant configuration is right, and what the run read and skipped (a check that did not run is never
shown as a pass). Every value from the data is escaped: display names, emails and SAML captures are
typed by people, and some of them may be hostile.

Per rule it shows up to ROWS_PER_RULE example findings; the CSV and JSON files carry all of them (a
million-row table helps nobody in a browser). The history comes from the store, which already holds
this run when the page is written (audit.py commits first).
"""

from __future__ import annotations

from html import escape
from pathlib import Path

import duckdb

from reconcile.report.files import owner_only_file
from reconcile.rules import load_rules

ROWS_PER_RULE = 50
HISTORY_RUNS = 30
DRIFT_ROWS = 200
ACCEPTED_ROWS = 500
STATUSES = ("will_fail", "at_risk", "ready", "not_evaluated")
_COLOURS = {"will_fail": "#c62828", "at_risk": "#ef8f00", "ready": "#2e7d32", "not_evaluated": "#9e9e9e"}
_BAD = ("will_fail", "at_risk")
# A rule that reads only these is about the server's or the tenant's configuration, not about people.
CONFIG_INPUTS = frozenset({
    "mattermost_config", "mattermost_license", "entra_application", "entra_service_principals", "entra_grants",
    "entra_authorization_policy", "intune_policies", "saml_metadata",
})
_CSS = """
body{font:14px/1.4 system-ui,sans-serif;margin:2em;color:#222;max-width:1200px}
h1{font-size:1.4em}h2{font-size:1.15em;margin-top:2em;border-bottom:1px solid #ddd}h3{font-size:1em}
table{border-collapse:collapse;margin:.5em 0}td,th{border:1px solid #ccc;padding:.25em .5em;text-align:left;
vertical-align:top}th{background:#f3f3f3}.blocking{color:#b00020;font-weight:600}.warning{color:#a05a00}
.info{color:#0b5c8a}.num{text-align:right}.muted{color:#666}code{font-size:.95em}
.tiles{display:flex;gap:1em;flex-wrap:wrap}.tile{border-radius:6px;padding:.6em 1.2em;color:#fff;min-width:9em}
.tile b{display:block;font-size:2em}.pass{color:#2e7d32;font-weight:600}.fail{color:#b00020;font-weight:600}
.skip{color:#666;font-style:italic}.partial{background:#fff3e0;border:1px solid #ef8f00;padding:.5em 1em}
td.wrap{max-width:40em;overflow-wrap:anywhere}
"""


def _cell(value: object) -> str:
    return "" if value is None else escape(str(value))


def _num(value: object) -> str:
    return "" if value is None else f"{value:,}"


def _has_store(con: duckdb.DuckDBPyConnection) -> bool:
    return bool(con.execute("SELECT count(*) FROM duckdb_databases() WHERE database_name = 'store'").fetchall()[0][0])


def write_html(con: duckdb.DuckDBPyConnection, summary: dict, path: Path) -> None:
    """Write report.html for the run in ``work.findings``/``work.readiness`` described by ``summary``
    (the summary.json object), with history and drift from the attached store when there is one."""
    rules = {rule.rule_id: rule for rule in load_rules()}
    store = _has_store(con)
    run_id = summary["run_id"]
    parts = [
        "<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'>",
        "<meta http-equiv='Content-Security-Policy' content=\"default-src 'none'; style-src 'unsafe-inline'\">",
        f"<title>reconcile {escape(run_id)}</title><style>{_CSS}</style></head><body>",
        f"<h1>Intune MAM identity audit: run <code>{escape(run_id)}</code></h1>",
        f"<p class='muted'>{_cell(summary.get('started_at'))} · status {_cell(summary.get('status'))} · "
        f"targeted: {_cell(summary.get('targeting'))}</p>",
    ]
    if summary.get("status") == "partial":
        failed = ", ".join(f"{i['name']} ({i['error']})" for i in summary.get("failed_inputs", []))
        parts.append(f"<p class='partial'>Partial run: a source failed ({escape(failed)}). Rules that read it "
                     "were skipped; their findings are not known.</p>")
    parts += _readiness(summary)
    parts += _outcomes(summary)
    parts += _history(con, run_id) if store else ["<h2>History</h2><p class='muted'>No store: no history.</p>"]
    parts += _drift(con, summary, store)
    parts += _rule_sections(con, summary, rules)
    parts += _config_checks(con, summary, rules)
    parts += _exceptions(con, summary)
    parts += _sources(summary)
    parts += _skipped(summary)
    parts += _all_rules(summary, rules)
    parts.append("</body></html>\n")
    with owner_only_file(path, "w", encoding="utf-8") as handle:
        handle.write("".join(parts))


def _readiness(summary: dict) -> list[str]:
    counts = summary["readiness"]
    tiles = "".join(
        f"<div class='tile' style='background:{_COLOURS.get(status, '#607d8b')}'><b>{_num(counts.get(status, 0))}"
        f"</b>{escape(status.replace('_', ' '))}</div>"
        for status in (*STATUSES, *(s for s in counts if s not in STATUSES)))
    severity = summary.get("findings_by_severity", {})
    return ["<h2 id='readiness'>Readiness</h2><div class='tiles'>", tiles, "</div>",
            f"<p>Findings: <span class='blocking'>{_num(severity.get('blocking', 0))} blocking</span>, "
            f"<span class='warning'>{_num(severity.get('warning', 0))} warning</span>, "
            f"<span class='info'>{_num(severity.get('info', 0))} info</span>.</p>"]


_OUTCOME_LABELS = {
    "false_alarm": "predicted will_fail, enrolled: a rule was wrong for them",
    "confirmed_will_fail": "predicted will_fail, not enrolled",
    "confirmed_ready": "predicted ready, enrolled",
    "ready_not_enrolled": "predicted ready, not enrolled (not tried yet, or a cause no rule knows)",
    "at_risk_enrolled": "at risk, enrolled",
    "at_risk_not_enrolled": "at risk, not enrolled",
    "not_evaluated": "not evaluated (enrolled or not)",
}


def _outcomes(summary: dict) -> list[str]:
    """The predictions against Intune's registrations (issue 15): people per outcome, and per rule how
    many it fired for and how many of those enrolled anyway (the rule's measured precision here)."""
    classes = summary.get("outcomes")
    if classes is None:
        return []
    window = summary.get("outcomes_window") or {}
    regs = summary.get("registrations") or {}
    out = ["<h2 id='outcomes'>Predictions against Intune's registrations</h2>",
           f"<p class='muted'>Enrolled: a Mattermost iOS registration synced within "
           f"{_num(window.get('enrolled_within_days'))} days of {_cell(window.get('as_of'))}. "
           f"{_num(regs.get('read'))} registrations read, {_num(regs.get('kept'))} of a Mattermost iOS app, "
           f"{_num(regs.get('unknown_user'))} of those for no Entra user of the run.</p>",
           "<table><tr><th>outcome</th><th>people</th><th>meaning</th></tr>"]
    if not regs.get("kept"):
        out.insert(2, "<p class='partial'>Intune holds no Mattermost iOS registration yet (before enablement, or "
                      "nobody has opened the app under the policy): nothing below is confirmed either way.</p>")
    for name, count in classes.items():
        style = " class='warning'" if name == "false_alarm" and count else ""
        out.append(f"<tr><td{style}><code>{escape(name)}</code></td><td class='num'>{_num(count)}</td>"
                   f"<td>{escape(_OUTCOME_LABELS.get(name, ''))}</td></tr>")
    out.append("</table>")
    rules = summary.get("rule_outcomes") or {}
    if not rules:
        return [*out, "<p class='muted'>No targeted person has a finding: no rule to measure.</p>"]
    out.append("<h3>Per rule: people it fired for, and those who enrolled anyway</h3>"
               "<table><tr><th>rule</th><th>fired</th><th>enrolled anyway</th><th></th></tr>")
    for rule_id, counts in sorted(rules.items(), key=lambda kv: (-kv[1]["enrolled_anyway"], kv[0])):
        fired, anyway = counts["fired"], counts["enrolled_anyway"]
        share = anyway / fired if fired else 0.0
        bar = (f"<svg xmlns='http://www.w3.org/2000/svg' width='160' height='12' role='img' "
               f"aria-label='{anyway} of {fired} enrolled anyway'><rect width='160' height='12' fill='#e0e0e0'/>"
               f"<rect width='{160 * share:.1f}' height='12' fill='#ef8f00'/></svg>")
        out.append(f"<tr><td><code>{escape(rule_id)}</code></td><td class='num'>{_num(fired)}</td>"
                   f"<td class='num'>{_num(anyway)}</td><td>{bar}</td></tr>")
    out.append("</table><p class='muted'>A blocking rule whose people enroll anyway predicted wrongly on this "
               "tenant: report it. Warnings and infos need not stop enrollment.</p>")
    return out


def _history(con: duckdb.DuckDBPyConnection, run_id: str) -> list[str]:
    """Stacked bars of readiness per run and a line of blocking findings, the last HISTORY_RUNS runs."""
    rows = con.execute(
        """WITH recent AS (
               SELECT run_id, started_at, status FROM store.runs
               WHERE started_at <= coalesce((SELECT started_at FROM store.runs WHERE run_id = $run), now())
               ORDER BY started_at DESC LIMIT $limit)
           , people AS (
               SELECT run_id, count(*) FILTER (WHERE status = 'will_fail') AS will_fail,
                      count(*) FILTER (WHERE status = 'at_risk') AS at_risk,
                      count(*) FILTER (WHERE status = 'ready') AS ready,
                      count(*) FILTER (WHERE status = 'not_evaluated') AS not_evaluated
               FROM store.readiness WHERE run_id IN (SELECT run_id FROM recent) GROUP BY run_id)
           , blocking AS (
               SELECT run_id, count(*) AS n FROM store.findings
               WHERE severity = 'blocking' AND run_id IN (SELECT run_id FROM recent) GROUP BY run_id)
           SELECT r.run_id, strftime(r.started_at, '%Y-%m-%d %H:%M'), r.status,
                  coalesce(p.will_fail, 0), coalesce(p.at_risk, 0), coalesce(p.ready, 0),
                  coalesce(p.not_evaluated, 0), coalesce(b.n, 0)
           FROM recent r LEFT JOIN people p USING (run_id) LEFT JOIN blocking b USING (run_id)
           ORDER BY r.started_at""", {"run": run_id, "limit": HISTORY_RUNS}).fetchall()
    out = [f"<h2 id='history'>Readiness over the last {len(rows)} run(s)</h2>"]
    if not rows:
        return [*out, "<p class='muted'>No stored runs.</p>"]
    width, height, left, right, top, bottom = 960, 260, 50, 60, 10, 40
    plot_w, plot_h = width - left - right, height - top - bottom
    people = max(max(sum(r[3:7]) for r in rows), 1)
    blocking = max(max(r[7] for r in rows), 1)
    slot = plot_w / len(rows)
    bar = max(min(slot * 0.7, 40), 2)
    svg = [f"<svg xmlns='http://www.w3.org/2000/svg' width='{width}' height='{height}' role='img' "
           f"aria-label='readiness and blocking findings per run'>",
           f"<line x1='{left}' y1='{top + plot_h}' x2='{left + plot_w}' y2='{top + plot_h}' stroke='#888'/>",
           f"<text x='{left - 6}' y='{top + 10}' text-anchor='end' font-size='11'>{people:,}</text>",
           f"<text x='{left - 6}' y='{top + plot_h}' text-anchor='end' font-size='11'>0</text>",
           f"<text x='{left + plot_w + 6}' y='{top + 10}' font-size='11' fill='#6a1b9a'>{blocking:,}</text>",
           f"<text x='{left + plot_w + 6}' y='{top + plot_h}' font-size='11' fill='#6a1b9a'>0</text>"]
    points = []
    for n, (rid, started, status, *counts) in enumerate(rows):
        x = left + n * slot + (slot - bar) / 2
        y = top + plot_h
        tip = (f"{rid} ({status}) {started}: " + ", ".join(f"{s} {c:,}" for s, c in zip(STATUSES, counts[:4],
                                                                                         strict=True))
               + f", blocking findings {counts[4]:,}")
        svg.append(f"<g><title>{escape(tip)}</title>")
        for status_name, count in zip(STATUSES, counts[:4], strict=True):
            h = plot_h * count / people
            y -= h
            svg.append(f"<rect x='{x:.1f}' y='{y:.1f}' width='{bar:.1f}' height='{h:.1f}' "
                       f"fill='{_COLOURS[status_name]}'/>")
        svg.append("</g>")
        points.append((left + n * slot + slot / 2, top + plot_h - plot_h * counts[4] / blocking))
        if n in (0, len(rows) - 1) or len(rows) <= 8:
            svg.append(f"<text x='{left + n * slot + slot / 2:.1f}' y='{top + plot_h + 14}' text-anchor='middle' "
                       f"font-size='10'>{escape(started)}</text>")
    svg.append("<polyline fill='none' stroke='#6a1b9a' stroke-width='2' points='"
               + " ".join(f"{px:.1f},{py:.1f}" for px, py in points) + "'/>")
    svg.extend(f"<circle cx='{px:.1f}' cy='{py:.1f}' r='3' fill='#6a1b9a'/>" for px, py in points)
    legend_x = left
    for label, colour in [*((s.replace("_", " "), _COLOURS[s]) for s in STATUSES), ("blocking findings", "#6a1b9a")]:
        svg.append(f"<rect x='{legend_x}' y='{height - 14}' width='10' height='10' fill='{colour}'/>"
                   f"<text x='{legend_x + 14}' y='{height - 5}' font-size='11'>{escape(label)}</text>")
        legend_x += 20 + 7 * len(label)
    svg.append("</svg>")
    return [*out, "".join(svg),
            "<p class='muted'>Bars: people per readiness status (left scale); line: blocking findings (right scale)."
            "</p>"]


def _drift(con: duckdb.DuckDBPyConnection, summary: dict, store: bool) -> list[str]:
    """Who became will_fail or at_risk since the previous stored run, and who stopped being."""
    out = ["<h2 id='drift'>Since the last run</h2>"]
    drift = summary.get("drift")
    if isinstance(drift, dict):
        out.append(f"<p>Findings: <b>{_num(drift.get('new'))}</b> new, <b>{_num(drift.get('persisting'))}</b> "
                   f"persisting, <b>{_num(drift.get('accepted', 0))}</b> newly accepted, "
                   f"<b>{_num(drift.get('reopened', 0))}</b> reopened (exception expired or removed), "
                   f"<b>{_num(drift.get('resolved'))}</b> resolved.</p>")
    elif summary.get("changes_since_previous"):
        changes = summary["changes_since_previous"]
        out.append(f"<p>Findings: <b>{_num(changes.get('new'))}</b> new, <b>{_num(changes.get('resolved'))}</b> "
                   "gone since the previous complete run.</p>")
    previous = None
    if store:
        found = con.execute(
            """SELECT run_id, status, strftime(started_at, '%Y-%m-%d %H:%M') FROM store.runs
               WHERE run_id <> $run AND started_at <= coalesce(
                   (SELECT started_at FROM store.runs WHERE run_id = $run), now())
               ORDER BY started_at DESC LIMIT 1""", {"run": summary["run_id"]}).fetchall()
        previous = found[0] if found else None
    if previous is None:
        return [*out, "<p class='muted'>No earlier run in the store: nothing to compare with.</p>"]
    out.append(f"<p class='muted'>Compared with run <code>{escape(previous[0])}</code> ({escape(previous[1])}, "
               f"{escape(previous[2])}).</p>")
    rows = con.execute(
        """WITH now_ AS (SELECT coalesce(entra_object_id, 'mm:' || mattermost_user_id, user_principal_name) AS k, *
                         FROM work.readiness),
                before AS (SELECT coalesce(entra_object_id, 'mm:' || mattermost_user_id, user_principal_name) AS k, *
                           FROM store.readiness WHERE run_id = $prev),
                joined AS (
                    SELECT coalesce(n.user_principal_name, b.user_principal_name) AS upn,
                           coalesce(n.email, b.email) AS email, b.status AS was, n.status AS now_status,
                           coalesce(n.predicted_error, b.predicted_error) AS why,
                           CASE WHEN n.status IN ('will_fail', 'at_risk') AND b.status IS DISTINCT FROM n.status
                                THEN 'new'
                                WHEN b.status IN ('will_fail', 'at_risk')
                                     AND (n.status IS NULL OR n.status NOT IN ('will_fail', 'at_risk'))
                                THEN 'resolved' END AS kind
                    FROM now_ n FULL JOIN before b USING (k))
           SELECT kind, count(*) OVER (PARTITION BY kind), upn, email, was, now_status, why
           FROM joined WHERE kind IS NOT NULL
           QUALIFY row_number() OVER (PARTITION BY kind ORDER BY now_status NULLS LAST, upn, email) <= $cap
           ORDER BY kind, now_status NULLS LAST, upn, email""",
        {"prev": previous[0], "cap": DRIFT_ROWS}).fetchall()
    for kind, heading, error in (("new", "Newly failing or at risk", "predicted error"),
                                 ("resolved", "No longer failing or at risk", "error they would have met")):
        mine = [r for r in rows if r[0] == kind]
        total = mine[0][1] if mine else 0
        out.append(f"<h3>{heading}: {total:,}</h3>")
        if not mine:
            continue
        out.append(f"<table><tr><th>UPN</th><th>email</th><th>before</th><th>now</th><th>{error}</th></tr>")
        out.extend(f"<tr><td>{_cell(r[2])}</td><td>{_cell(r[3])}</td><td>{_cell(r[4] or 'absent')}</td>"
                   f"<td>{_cell(r[5] or 'absent')}</td><td class='wrap'>{_cell(r[6])}</td></tr>" for r in mine)
        out.append("</table>")
        if total > len(mine):
            out.append(f"<p class='muted'>{total - len(mine):,} more: compare readiness.csv of the two runs.</p>")
    return out


def _is_config_check(rule_id: str, rules: dict) -> bool:
    rule = rules.get(rule_id)
    return rule is not None and set(rule.depends_on) <= CONFIG_INPUTS


def _rule_sections(con: duckdb.DuckDBPyConnection, summary: dict, rules: dict) -> list[str]:
    out = ["<h2 id='findings'>Findings by rule</h2>"]
    shown = 0
    rank = {"blocking": 0, "warning": 1, "info": 2}
    accepted_by_rule = dict(con.execute("SELECT rule_id, count(*) FROM work.findings WHERE status = 'accepted' "
                                        "GROUP BY rule_id").fetchall())
    for rule in sorted(summary["rules"], key=lambda r: (rank.get(r["severity"], 3), r["rule_id"])):
        if rule["status"] != "ran" or not rule["findings"] or _is_config_check(rule["rule_id"], rules):
            continue
        shown += 1
        accepted = accepted_by_rule.get(rule["rule_id"], 0)
        rows = con.execute(
            """SELECT user_principal_name, email, mattermost_user_id, observed, expected, remediation
               FROM work.findings WHERE rule_id = $rule AND status = 'open'
               ORDER BY user_principal_name NULLS FIRST, mattermost_user_id NULLS FIRST, observed
               LIMIT $limit""", {"rule": rule["rule_id"], "limit": ROWS_PER_RULE}).fetchall()
        known = rules.get(rule["rule_id"])
        fix = known.remediation if known else None
        out.append(f"<h3 id='{escape(rule['rule_id'])}'>{escape(rule['rule_id'])} "
                   f"<span class='{escape(rule['severity'])}'>({escape(rule['severity'])})</span>: "
                   f"{_num(rule['findings'])}</h3><p>{escape(rule['title'])}</p>")
        if fix:
            out.append(f"<p><b>Fix:</b> {escape(fix)}</p>")
        if accepted:
            out.append(f"<p class='muted'>{accepted:,} accepted: listed under "
                       "<a href='#exceptions'>Accepted exceptions</a>.</p>")
        out.append("<table><tr><th>UPN</th><th>email</th><th>Mattermost user id</th><th>observed</th>"
                   "<th>expected</th><th>fix for this row</th></tr>")
        out.extend("<tr>" + "".join(f"<td class='wrap'>{_cell(v if n < 5 or v != fix else '')}</td>"
                                    for n, v in enumerate(row)) + "</tr>" for row in rows)
        out.append("</table>")
        if rule["findings"] - accepted > len(rows):
            out.append(f"<p class='muted'>{rule['findings'] - accepted - len(rows):,} more in findings.csv</p>")
    if not shown:
        out.append("<p>No findings about people.</p>")
    return out


def _config_checks(con: duckdb.DuckDBPyConnection, summary: dict, rules: dict) -> list[str]:
    out = ["<h2 id='config'>Configuration and tenant checks</h2><table><tr><th>check</th><th>result</th>"
           "<th>observed</th><th>expected</th><th>fix</th></tr>"]
    for rule in summary["rules"]:
        if not _is_config_check(rule["rule_id"], rules):
            continue
        name = f"<td>{escape(rule['rule_id'])}<br><span class='muted'>{escape(rule['title'])}</span></td>"
        if rule["status"] != "ran":
            out.append(f"<tr>{name}<td class='skip'>not checked: {_cell(rule['skip_reason'])}</td>"
                       "<td></td><td></td><td></td></tr>")
            continue
        if not rule["findings"]:
            out.append(f"<tr>{name}<td class='pass'>pass</td><td></td><td></td><td></td></tr>")
            continue
        rows = con.execute("SELECT severity, status, observed, expected, remediation FROM work.findings "
                           "WHERE rule_id = $1 ORDER BY observed LIMIT $2", [rule["rule_id"], ROWS_PER_RULE]).fetchall()
        for severity, status, observed, expected, remediation in rows:
            verdict = escape(severity) if status == "open" else f"{escape(severity)}, accepted"
            out.append(f"<tr>{name}<td class='{escape(severity)}'>{verdict}</td>"
                       f"<td class='wrap'>{_cell(observed)}</td><td class='wrap'>{_cell(expected)}</td>"
                       f"<td class='wrap'>{_cell(remediation)}</td></tr>")
    out.append("</table>")
    return out


def _exceptions(con: duckdb.DuckDBPyConnection, summary: dict) -> list[str]:
    """The findings a person decided to live with, with who decided, why and until when: accepted
    findings are left out of the rule tables above, so this is where a reader sees them."""
    out = ["<h2 id='exceptions'>Accepted exceptions</h2>"]
    info = summary.get("exceptions") or {}
    if not info.get("file"):
        return [*out, "<p class='muted'>No exceptions file: nothing is accepted.</p>"]
    out.append(f"<p>{_num(info.get('entries', 0))} entries in <code>{escape(info['file'])}</code>: "
               f"<b>{_num(info.get('accepted_findings', 0))}</b> findings accepted, "
               f"<span class='warning'>{_num(info.get('expired', 0))} expired</span>, "
               f"{_num(info.get('unused', 0))} unused (see EXCEPTION_EXPIRED and EXCEPTION_UNUSED).</p>")
    if info.get("expiring_soon"):
        out.append("<h3>Expiring within 14 days</h3><table><tr><th>rule</th><th>subject</th><th>expires</th></tr>")
        out.extend(f"<tr><td>{escape(e['rule'])}</td><td>{escape(e['subject'])}</td><td>{escape(e['expires'])}</td>"
                   "</tr>" for e in info["expiring_soon"])
        out.append("</table>")
    for group in info.get("groups_not_read", []):
        out.append(f"<p class='warning'>Group {escape(group['group'])} could not be read ({escape(group['reason'])}): "
                   "its entries cover nobody.</p>")
    rows = con.execute(
        """SELECT rule_id, severity, coalesce(user_principal_name, email, mattermost_user_id, subject_type), observed,
                  exception_reason, exception_owner, strftime(exception_expires, '%Y-%m-%d')
           FROM work.findings WHERE status = 'accepted'
           ORDER BY exception_expires, rule_id, user_principal_name NULLS FIRST, mattermost_user_id NULLS FIRST
           LIMIT $1""", [ACCEPTED_ROWS]).fetchall()
    if not rows:
        return [*out, "<p>No finding is accepted in this run.</p>"]
    out.append("<table><tr><th>rule</th><th>severity</th><th>subject</th><th>observed</th><th>reason</th>"
               "<th>owner</th><th>expires</th></tr>")
    out.extend(f"<tr><td>{escape(r[0])}</td><td class='{escape(r[1])}'>{escape(r[1])}</td><td>{_cell(r[2])}</td>"
               f"<td class='wrap'>{_cell(r[3])}</td><td class='wrap'>{_cell(r[4])}</td><td>{_cell(r[5])}</td>"
               f"<td>{_cell(r[6])}</td></tr>" for r in rows)
    out.append("</table>")
    accepted = info.get("accepted_findings", 0)
    if accepted > len(rows):
        out.append(f"<p class='muted'>{accepted - len(rows):,} more in findings.csv (status accepted).</p>")
    return out


def _sources(summary: dict) -> list[str]:
    out = ["<h2 id='sources'>Sources read</h2><table><tr><th>source</th><th>file or system</th><th>rows</th>"
           "<th>read</th><th>note</th></tr>"]
    for item in summary["inputs"]:
        if item.get("failed"):
            state = "<span class='fail'>failed</span>"
        elif item.get("available"):
            state = "<span class='pass'>complete</span>"
        else:
            state = "<span class='skip'>not provided</span>"
        out.append(f"<tr><td>{escape(item['name'])}</td><td>{_cell(item.get('file'))}</td>"
                   f"<td class='num'>{_num(item.get('rows'))}</td><td>{state}</td>"
                   f"<td class='wrap'>{_cell(item.get('note'))}</td></tr>")
    out.append("</table>")
    return out


def _skipped(summary: dict) -> list[str]:
    skipped = [r for r in summary["rules"] if r["status"] != "ran"]
    out = [f"<h2 id='skipped'>Rules skipped: {len(skipped)}</h2>"]
    if not skipped:
        return [*out, "<p>Every rule ran.</p>"]
    out.append("<table><tr><th>rule</th><th>why</th></tr>")
    out.extend(f"<tr><td>{escape(r['rule_id'])}</td><td>{_cell(r['skip_reason'])}</td></tr>" for r in skipped)
    out.append("</table>")
    return out


def _all_rules(summary: dict, rules: dict) -> list[str]:
    out = ["<h2 id='rules'>All rules</h2><table><tr><th>rule</th><th>severity</th><th>findings</th>"
           "<th>title</th></tr>"]
    for rule in summary["rules"]:
        count = _num(rule["findings"]) if rule["status"] == "ran" else f"skipped: {_cell(rule['skip_reason'])}"
        name = escape(rule["rule_id"])
        if _is_config_check(rule["rule_id"], rules):
            name = f"<a href='#config'>{name}</a>"
        elif rule["status"] == "ran" and rule["findings"]:
            name = f"<a href='#{name}'>{name}</a>"
        out.append(f"<tr><td>{name}</td><td class='{escape(rule['severity'])}'>"
                   f"{escape(rule['severity'])}</td><td class='num'>{count}</td><td>{escape(rule['title'])}</td></tr>")
    out.append("</table>")
    return out
