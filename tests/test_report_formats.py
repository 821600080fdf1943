"""run_audit(formats=...): only the chosen reports are written and linked, summary.json always, and a
format dropped since the last run leaves no top-level link behind."""

from __future__ import annotations

import os

import pytest

from reconcile.audit import FORMAT_FILES, REPORT_FILES, run_audit
from reconcile.paths import sample_dir


def _top_links(out):
    return {p.name for p in out.iterdir() if p.is_symlink() and p.name != "current"}


def test_formats_choose_the_files(tmp_path):
    out, store = tmp_path / "out", tmp_path / "store.duckdb"
    full = run_audit(sample_dir("misconfigured"), out, store)
    assert _top_links(out) == set(REPORT_FILES) - {"outcomes.csv"}, "outcomes.csv only with Intune registrations"
    assert {"directory_team.csv", "mattermost_admins.csv"} <= set(FORMAT_FILES["csv"])

    only_json = run_audit(sample_dir("misconfigured"), out, store, formats=("json",))
    assert _top_links(out) == {"summary.json", "findings.json"}
    assert {p.name for p in (out / "runs" / only_json.run_id).iterdir()} == {"summary.json", "findings.json"}
    assert os.readlink(out / "current") == f"runs/{only_json.run_id}"
    # the previous set is kept whole, as before
    assert (out / "runs" / full.run_id / "report.html").is_file()

    csv_html = run_audit(sample_dir("misconfigured"), out, store, formats=("csv", "html"))
    expected = {"summary.json", "report.html", *FORMAT_FILES["csv"]} - {"outcomes.csv"}  # no registrations here
    assert _top_links(out) == expected
    assert {p.name for p in (out / "runs" / csv_html.run_id).iterdir()} == expected
    for name in expected:
        assert (out / name).resolve().parent.name == csv_html.run_id
        assert (out / name).resolve().stat().st_mode & 0o777 == 0o600


def test_unknown_format_is_refused_before_anything_is_written(tmp_path):
    with pytest.raises(ValueError, match="pdf"):
        run_audit(sample_dir("misconfigured"), tmp_path / "out", tmp_path / "store.duckdb", formats=("csv", "pdf"))
    assert not (tmp_path / "out").exists() and not (tmp_path / "store.duckdb").exists()
