"""The bundled sample tenant: its findings and readiness are pinned in checked-in golden files.

After an intended change to a rule or to the sample, regenerate them with
``RECONCILE_UPDATE_GOLDEN=1 pytest tests/test_sample_golden.py`` (it fails once it has rewritten
a file, and is refused when ``CI`` is set), review the diff like code and run it again without the switch.
"""

from __future__ import annotations

import csv
import io
import os
from pathlib import Path

import pytest

from reconcile.rules import load_rules

GOLDEN = Path(__file__).resolve().parent / "golden"
# A blocking server, tenant or IdP-wide problem makes every person will_fail, so the sample (mostly
# ready, on purpose) cannot show these; tests/test_rules_config.py, test_rules_app_registration.py
# and test_rules_saml.py fire each of them.
CONFIG_RULES_NOT_IN_SAMPLE = {
    "MM_INTUNE_CONFIG_INVALID", "MM_LICENSE_NOT_ADVANCED", "MM_SAML_IDATTRIBUTE", "MM_LDAP_IDATTRIBUTE",
    "MM_OFFICE365_TENANT_MISMATCH", "MM_INTUNE_CLIENT_MISMATCH", "ENTRA_TOKEN_VERSION", "ENTRA_API_SCOPE_MISSING",
    "ENTRA_MOBILE_CLIENT_NOT_PREAUTHORIZED", "ENTRA_ADMIN_CONSENT_MISSING", "SAML_IDP_NOT_ENTRA",
    "SAML_IDATTRIBUTE_NOT_SENT", "INTUNE_POLICY_MISSING",
    # the sample run has no exceptions file (tests/test_exceptions_run.py gives one)
    "EXCEPTION_EXPIRED", "EXCEPTION_UNUSED",
}


def _normalised_csv(path: Path, drop: tuple[str, ...] = ()) -> str:
    """The report without run-specific columns, rows sorted: stable across runs and machines."""
    with path.open(encoding="utf-8-sig", newline="") as handle:
        reader = csv.DictReader(handle)
        columns = [c for c in reader.fieldnames or [] if c not in drop]
        rows = sorted(tuple(row[c] for c in columns) for row in reader)
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(columns)
    writer.writerows(rows)
    return out.getvalue()


@pytest.mark.parametrize(("report", "golden", "drop"), [
    ("findings.csv", "sample_findings.csv", ("run_id", "first_seen")),  # drift stays: all new on an empty store
    ("readiness.csv", "sample_readiness.csv", ("run_id",)),
])
def test_sample_reproduces_golden_file(sample_outcome, report, golden, drop):
    actual = _normalised_csv(sample_outcome.result.output_dir / report, drop)
    path = GOLDEN / golden
    if os.environ.get("RECONCILE_UPDATE_GOLDEN"):
        # A rewrite must never pass: in CI it is refused, elsewhere the test fails after writing
        if os.environ.get("CI"):
            pytest.fail("RECONCILE_UPDATE_GOLDEN is refused in CI: golden files change only in a reviewed commit")
        changed = not path.is_file() or path.read_text(encoding="utf-8") != actual
        path.write_text(actual, encoding="utf-8")
        if changed:
            pytest.fail(f"{path.name} rewritten: review the diff, then run again without RECONCILE_UPDATE_GOLDEN")
    assert path.is_file(), f"{path} missing: run with RECONCILE_UPDATE_GOLDEN=1 to create it"
    assert actual == path.read_text(encoding="utf-8")


def test_sample_fires_every_user_rule_and_skips_none(sample_outcome):
    summary = sample_outcome.result.summary
    assert summary["skipped_rules"] == []
    all_rules = {rule.rule_id for rule in load_rules()}
    assert sample_outcome.fired() == all_rules - CONFIG_RULES_NOT_IN_SAMPLE


def test_most_of_the_sample_is_ready(sample_outcome):
    counts = sample_outcome.result.readiness_counts
    assert counts["ready"] > sum(counts.values()) / 2
    assert counts["will_fail"] and counts["at_risk"] and counts["not_evaluated"]


def test_the_update_switch_cannot_rewrite_golden_files_in_ci(tmp_path):
    """CI=1 with RECONCILE_UPDATE_GOLDEN=1 fails and leaves the golden files as they are."""
    import subprocess
    import sys

    before = {p.name: p.read_bytes() for p in GOLDEN.iterdir()}
    golden = GOLDEN / "sample_findings.csv"
    golden.write_bytes(before["sample_findings.csv"] + b"tampered\n")
    try:
        env = {**os.environ, "CI": "1", "RECONCILE_UPDATE_GOLDEN": "1"}
        done = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider",
                               f"{Path(__file__)}::test_sample_reproduces_golden_file"],
                              env=env, capture_output=True, text=True, cwd=tmp_path)
        assert done.returncode == 1, done.stdout
        assert "refused in CI" in done.stdout
        assert golden.read_bytes().endswith(b"tampered\n"), "nothing was rewritten"
    finally:
        golden.write_bytes(before["sample_findings.csv"])
