"""One self-contained HTML page for the admin: inline CSS, no scripts, no external requests.

It shows every rule with its count, and up to ROWS_PER_RULE example findings per rule; the CSV
and JSON files carry all of them (a million-row table helps nobody in a browser).
"""

from __future__ import annotations

from html import escape
from pathlib import Path

import duckdb

from reconcile.report.files import owner_only_file

ROWS_PER_RULE = 50
_CSS = """
body{font:14px/1.4 system-ui,sans-serif;margin:2em;color:#222}
h1{font-size:1.4em}h2{font-size:1.15em;margin-top:2em}
table{border-collapse:collapse;margin:.5em 0}td,th{border:1px solid #ccc;padding:.25em .5em;text-align:left;
vertical-align:top}th{background:#f3f3f3}.blocking{color:#b00020;font-weight:600}.warning{color:#a05a00}
.info{color:#0b5c8a}.num{text-align:right}.muted{color:#666}code{font-size:.95em}
"""


def _cell(value: object) -> str:
    return "" if value is None else escape(str(value))


def write_html(con: duckdb.DuckDBPyConnection, summary: dict, path: Path) -> None:
    parts = [
        "<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'>",
        "<meta http-equiv='Content-Security-Policy' content=\"default-src 'none'; style-src 'unsafe-inline'\">",
        f"<title>reconcile {escape(summary['run_id'])}</title><style>{_CSS}</style></head><body>",
        f"<h1>Intune MAM identity audit: run <code>{escape(summary['run_id'])}</code></h1>",
        f"<p class='muted'>{escape(summary['started_at'])} · targeted: {escape(summary['targeting'])}</p>",
        "<h2>Readiness</h2><table><tr>",
        "".join(f"<th>{escape(k)}</th>" for k in summary["readiness"]),
        "</tr><tr>",
        "".join(f"<td class='num'>{v:,}</td>" for v in summary["readiness"].values()),
        "</tr></table>",
        "<h2>Inputs</h2><table><tr><th>input</th><th>file</th><th>rows</th><th>note</th></tr>",
    ]
    for item in summary["inputs"]:
        rows = "" if item["rows"] is None else f"{item['rows']:,}"
        file = _cell(item["file"]) if item["available"] else "<span class='muted'>not provided</span>"
        parts.append(f"<tr><td>{escape(item['name'])}</td><td>{file}</td><td class='num'>{rows}</td>"
                     f"<td>{_cell(item['note'])}</td></tr>")
    parts.append("</table><h2>Rules</h2><table><tr><th>rule</th><th>severity</th><th>findings</th>"
                 "<th>title</th></tr>")
    for rule in summary["rules"]:
        count = f"{rule['findings']:,}" if rule["status"] == "ran" else f"skipped: {_cell(rule['skip_reason'])}"
        parts.append(f"<tr><td><a href='#{escape(rule['rule_id'])}'>{escape(rule['rule_id'])}</a></td>"
                     f"<td class='{rule['severity']}'>{rule['severity']}</td><td class='num'>{count}</td>"
                     f"<td>{escape(rule['title'])}</td></tr>")
    parts.append("</table>")
    for rule in summary["rules"]:
        if rule["status"] != "ran" or not rule["findings"]:
            continue
        rows = con.execute(
            """SELECT user_principal_name, email, mattermost_user_id, observed, expected, remediation
               FROM work.findings WHERE rule_id = $rule
               ORDER BY user_principal_name NULLS FIRST, mattermost_user_id NULLS FIRST, observed
               LIMIT $limit""", {"rule": rule["rule_id"], "limit": ROWS_PER_RULE}).fetchall()
        parts.append(f"<h2 id='{escape(rule['rule_id'])}'>{escape(rule['rule_id'])} "
                     f"<span class='{rule['severity']}'>({rule['severity']})</span></h2>"
                     f"<p>{escape(rule['title'])}</p><table><tr><th>UPN</th><th>email</th>"
                     "<th>Mattermost user id</th><th>observed</th><th>expected</th><th>fix</th></tr>")
        parts.extend("<tr>" + "".join(f"<td>{_cell(v)}</td>" for v in row) + "</tr>" for row in rows)
        parts.append("</table>")
        if rule["findings"] > len(rows):
            parts.append(f"<p class='muted'>{rule['findings'] - len(rows):,} more in findings.csv</p>")
    parts.append("</body></html>\n")
    with owner_only_file(path, "w", encoding="utf-8") as handle:
        handle.write("".join(parts))
