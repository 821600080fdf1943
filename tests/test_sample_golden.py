"""The bundled sample tenant: its findings and readiness are pinned in checked-in golden files.

After an intended change to a rule or to the sample, regenerate them with
``RECONCILE_UPDATE_GOLDEN=1 pytest tests/test_sample_golden.py`` and review the diff like code.
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
    ("findings.csv", "sample_findings.csv", ("run_id",)),
    ("readiness.csv", "sample_readiness.csv", ()),
])
def test_sample_reproduces_golden_file(sample_outcome, report, golden, drop):
    actual = _normalised_csv(sample_outcome.result.output_dir / report, drop)
    path = GOLDEN / golden
    if os.environ.get("RECONCILE_UPDATE_GOLDEN"):
        path.write_text(actual, encoding="utf-8")
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
