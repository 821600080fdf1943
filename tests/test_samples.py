"""The bundled samples: their READMEs' expected totals are what a run prints, and the
misconfigured one fires every config, tenant, policy and token rule it can."""

from __future__ import annotations

import re

import pytest
from click.testing import CliRunner

from reconcile.audit import run_audit
from reconcile.cli import main
from reconcile.paths import sample_dir
from reconcile.rules import load_rules

TOTALS = re.compile(
    r"Expected totals: (\d+) findings \((\d+) blocking, (\d+) warning, (\d+) info\); (\d+) readiness rows"
    r".*?: (\d+) ready, (\d+) will_fail, (\d+) at_risk, (\d+) not_evaluated", re.S)
# Rules about the configuration, the tenant, the policies and the tokens (not about one account).
NOT_ABOUT_AN_ACCOUNT = re.compile(r"^(MM_|ENTRA_|INTUNE_|TOKEN_|SAML_IDP|SAML_IDATTRIBUTE)")
CANNOT_FIRE_WITH_SAML = {"MM_OFFICE365_TENANT_MISMATCH"}  # needs AuthService office365


def _readme_totals(name: str) -> tuple[int, ...]:
    text = (sample_dir(name) / "README.md").read_text(encoding="utf-8")
    match = TOTALS.search(text)
    assert match, f"{name} README states no expected totals"
    return tuple(int(g) for g in match.groups())


@pytest.mark.parametrize("name", ["tenant", "misconfigured"])
def test_readme_totals_match_the_run(tmp_path, name):
    result = run_audit(sample_dir(name), tmp_path / "out", tmp_path / "store.duckdb")
    bys, ready = result.summary["findings_by_severity"], result.readiness_counts
    actual = (sum(bys.values()), bys["blocking"], bys["warning"], bys["info"], sum(ready.values()),
              ready["ready"], ready["will_fail"], ready["at_risk"], ready["not_evaluated"])
    assert actual == _readme_totals(name)


def test_misconfigured_sample_fires_every_config_tenant_policy_and_token_rule(tmp_path):
    result = run_audit(sample_dir("misconfigured"), tmp_path / "out", tmp_path / "store.duckdb")
    wanted = {r.rule_id for r in load_rules() if NOT_ABOUT_AN_ACCOUNT.match(r.rule_id)} - CANNOT_FIRE_WITH_SAML
    fired = {rule for rule, count in result.summary["findings_by_rule"].items() if count}
    assert wanted - fired == set()
    assert result.summary["status"] == "complete"


def test_sample_option_takes_a_name(tmp_path):
    runner = CliRunner()
    plain = runner.invoke(main, ["audit", "--sample", "--output-dir", str(tmp_path / "a"), "-q"])
    named = runner.invoke(main, ["audit", "--sample", "misconfigured", "--output-dir", str(tmp_path / "b"), "-q"])
    assert plain.exit_code == 1 and named.exit_code == 1, (plain.output, named.output)
    assert "fabrikam.example" not in (tmp_path / "a" / "findings.csv").read_text(encoding="utf-8-sig")
    assert "fabrikam.example" in (tmp_path / "b" / "findings.csv").read_text(encoding="utf-8-sig")
    bad = runner.invoke(main, ["audit", "--sample", "nonesuch", "--output-dir", str(tmp_path / "c")])
    assert bad.exit_code == 2 and "nonesuch" in bad.output
