"""report.html in a real headless Chromium: it renders, with no console errors, no request leaving
the file, hostile directory values shown as text, and the history and drift of the stored runs.

Chromium is Debian's (installed by .ci/run): a missing browser fails the test, never skips it, so CI
cannot pass without having rendered the page.
"""

from __future__ import annotations

import json
import os
import shutil
import struct
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from browser import find_chromium, visit

from reconcile.audit import run_audit
from reconcile.paths import sample_dir

HOSTILE = "Adele.Davis<script>console.error('xss')</script><img src=x onerror=console.error(1)>@contoso.com"
ADELE = "b2258e57-77cc-40da-9218-58f4d73c8a36"  # ready in the sample tenant
LEE = "089198b6-e618-4717-8858-cfcae5f9683e"    # will_fail in the sample: USER_INTUNE_UNLICENSED only
INTUNE_A = "c1ec4a95-1f05-45b3-a911-aa3fa01094f5"
WIDTH, HEIGHT = 1280, 2000


def _edit_users(directory: Path) -> None:
    """The second night: Adele lost her Intune licence (and someone gave her a hostile UPN),
    Lee got his."""
    path = directory / "entra_users.json"
    data = json.loads(path.read_text(encoding="utf-8"))
    pages = data if isinstance(data, list) else [data]  # Graph pages, as exported
    users = [user for page in pages for user in page.get("value", [page])]
    assert {ADELE, LEE} <= {user["id"] for user in users}
    for user in users:
        if user["id"] == ADELE:
            user["userPrincipalName"] = HOSTILE
            user["displayName"] = HOSTILE
            user["assignedPlans"] = [p for p in user["assignedPlans"] if p["servicePlanId"] != INTUNE_A]
        elif user["id"] == LEE:
            user["assignedPlans"].append({"assignedDateTime": "2026-01-01T00:00:00Z", "capabilityStatus": "Enabled",
                                          "service": "SCO", "servicePlanId": INTUNE_A})
    path.write_text(json.dumps(data), encoding="utf-8")


@pytest.fixture(scope="module")
def two_nights(tmp_path_factory) -> Path:
    base = tmp_path_factory.mktemp("html")
    tenant = base / "tenant"
    shutil.copytree(sample_dir(), tenant, ignore=shutil.ignore_patterns("misconfigured"))
    run_audit(sample_dir("misconfigured"), base / "out", base / "store.duckdb")
    run_audit(tenant, base / "out", base / "store.duckdb")
    _edit_users(tenant)
    result = run_audit(tenant, base / "out", base / "store.duckdb")
    assert result.readiness_counts["will_fail"] > 0
    return base / "out"


def _png_size(data: bytes) -> tuple[int, int]:
    assert data[:8] == b"\x89PNG\r\n\x1a\n", "not a PNG"
    assert data[12:16] == b"IHDR"
    return struct.unpack(">II", data[16:24])


def test_report_renders_in_chromium(two_nights, tmp_path):
    binary = find_chromium()
    if binary is None:
        pytest.fail("chromium is not installed: the HTML report test needs it "
                    "(apt-get install -y chromium; .ci/run installs it)")
    page = two_nights / "report.html"
    seen = visit(binary, tmp_path / "profile", page, WIDTH, HEIGHT, {
        "title": "document.title",
        "scripts": "document.scripts.length",
        "images": "document.images.length",
        "text": "document.body.innerText",
        "bars": "document.querySelectorAll('#history ~ svg rect').length",
        "svg_width": "document.querySelector('#history ~ svg').getBoundingClientRect().width",
        "drift_new": "[...document.querySelectorAll('h3')].map(h => h.textContent)",
    })
    shot = tmp_path / "report.png"
    shot.write_bytes(seen.screenshot)
    if artifacts := os.environ.get("RECONCILE_TEST_ARTIFACTS"):
        Path(artifacts).mkdir(parents=True, exist_ok=True)
        shutil.copy(shot, Path(artifacts) / "report.png")

    assert seen.errors() == [], seen.errors()
    assert seen.requests == [page.resolve().as_uri()], "the page requested something besides itself"
    assert _png_size(seen.screenshot) == (WIDTH, HEIGHT)
    assert len(seen.screenshot) > 50_000, "the screenshot is nearly blank"
    assert seen.values["scripts"] == 0 and seen.values["images"] == 0  # the hostile UPN stayed text
    text = seen.values["text"]
    assert HOSTILE in text
    assert seen.values["title"].startswith("reconcile ")
    assert seen.values["svg_width"] > 500
    # three stored runs, four readiness statuses each, plus the legend's five swatches
    assert seen.values["bars"] >= 3 * 4 + 5
    headings = seen.values["drift_new"]
    assert "Newly failing or at risk: 1" in headings, headings
    assert "No longer failing or at risk: 1" in headings, headings
    for section in ("Readiness", "Since the last run", "Findings by rule", "Configuration and tenant checks",
                    "Sources read", "Rules skipped"):
        assert section in text, section


def test_report_content(two_nights):
    html = (two_nights / "report.html").read_text(encoding="utf-8")
    assert "<script" not in html and "<img" not in html
    assert "Adele.Davis&lt;script&gt;console.error(&#x27;xss&#x27;)&lt;/script&gt;" in html
    assert "http://" not in html.replace("http://www.w3.org/2000/svg", "").split("<body>")[0]
    # Lee (licensed now) is the one who stopped failing; Adele the one who started
    resolved = html.split("No longer failing or at risk")[1].split("</table>")[0]
    assert "Lee.Chen@contoso.com" in resolved and "will_fail" in resolved
    new = html.split("Newly failing or at risk")[1].split("</table>")[0]
    assert "Adele.Davis&lt;script&gt;" in new
    assert (two_nights / "report.html").resolve().stat().st_mode & 0o077 == 0


def test_report_without_history_has_no_drift(tmp_path):
    run_audit(sample_dir("misconfigured"), tmp_path / "out", tmp_path / "store.duckdb")
    html = (tmp_path / "out" / "report.html").read_text(encoding="utf-8")
    assert "No earlier run in the store" in html
    assert "Readiness over the last 1 run(s)" in html
    # the misconfigured tenant's config findings are shown as failed checks, with their fix
    config = html.split("Configuration and tenant checks")[1].split("</table>")[0]
    assert "MM_LICENSE_NOT_ADVANCED" in config and "class='blocking'" in config


def test_accepted_findings_have_their_own_section_with_reason_owner_and_expiry(tmp_path):
    soon = (datetime.now(UTC) + timedelta(days=3)).date().isoformat()
    exceptions = tmp_path / "exceptions.toml"
    exceptions.write_text(f'[[exception]]\nrule = "USER_INTUNE_UNLICENSED"\nentra_object_id = "{LEE}"\n'
                          f'reason = "shared <b>mailbox</b>"\nowner = "it-identity@contoso.com"\nexpires = {soon}\n',
                          encoding="utf-8")
    run_audit(sample_dir(), tmp_path / "out", tmp_path / "store.duckdb", exceptions_file=exceptions)
    html = (tmp_path / "out" / "report.html").read_text(encoding="utf-8")
    section = html.split("<h2 id='exceptions'>Accepted exceptions</h2>")[1].split("<h2")[0]
    assert "1</b> findings accepted" in section
    expiring = section.split("Expiring within 14 days")[1].split("</table>")[0]
    assert f"entra_object_id={LEE}" in expiring and soon in expiring
    accepted = section.split("</table>")[1]
    assert "Lee.Chen@contoso.com" in accepted and "shared &lt;b&gt;mailbox&lt;/b&gt;" in accepted
    assert "it-identity@contoso.com" in accepted and soon in accepted
    # the rule's own table lists only the open findings and points to the section
    rule = html.split("<h3 id='USER_INTUNE_UNLICENSED'>")[1].split("<h3")[0]
    assert "Lee.Chen@contoso.com" not in rule and "Kai.Vargas@contoso.com" in rule
    assert "1 accepted: listed under" in rule
    # near miss: without a file the section says nothing is accepted
    run_audit(sample_dir(), tmp_path / "plain", None)
    plain = (tmp_path / "plain" / "report.html").read_text(encoding="utf-8")
    assert "No exceptions file: nothing is accepted." in plain
    assert "Lee.Chen@contoso.com" in plain.split("<h3 id='USER_INTUNE_UNLICENSED'>")[1].split("<h3")[0]
