"""The exceptions file's validation (issue 13), and `reconcile exceptions check`: every problem refused with
the entry it is in, nothing accepted that would silence the wrong finding or silence it for ever."""

from __future__ import annotations

import json
from datetime import date

import pytest
from click.testing import CliRunner

from reconcile.audit import run_audit
from reconcile.cli import main
from reconcile.exceptions import ExceptionsFileError, load_exceptions, rule_is_about_users
from reconcile.paths import sample_dir
from reconcile.rules import load_rules

RUN_DATE = date(2026, 12, 2)
RULES = [rule.rule_id for rule in load_rules()]
GOOD = """
# decided 2026-11-30 with IT identity
[[exception]]
rule = "USER_INTUNE_UNLICENSED"
user_principal_name = "Svc-Alerts@Contoso.com"
reason = "service account, never signs in on mobile"
owner = "it-identity@contoso.com"
expires = 2027-06-30

[[exception]]
rule = "USER_AUTHDATA_NOT_EXACT"
entra_object_id = "{6F9619FF-8B86-D011-B42D-00C04FC964FF}"
reason = "migrated next sprint"
owner = "chat-admins@contoso.com"
expires = 2026-12-01T10:00:00Z

[[exception]]
rule = "MM_LICENSE_NOT_ADVANCED"
subject = "config"
reason = "Advanced licence ordered"
owner = "it-procurement@contoso.com"
expires = 2026-12-10

[[exception]]
rule = "USER_SAML_UNPROVISIONED"
group = "0a000000-0000-4000-8000-00000000000A"
reason = "pilot group provisioned next quarter"
owner = "it-identity@contoso.com"
expires = 2027-03-31
"""


def _write(tmp_path, text: str, name: str = "exceptions.toml"):
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def test_a_valid_file_is_read_in_normal_form(tmp_path):
    entries = load_exceptions(_write(tmp_path, GOOD), RULES, RUN_DATE)
    assert [(e.position, e.line, e.subject, e.value) for e in entries] == [
        (1, 3, "user_principal_name", "svc-alerts@contoso.com"),
        (2, 10, "entra_object_id", "6f9619ff-8b86-d011-b42d-00c04fc964ff"),
        (3, 17, "config", None),
        (4, 24, "group", "0a000000-0000-4000-8000-00000000000a"),
    ]
    assert entries[1].expires == date(2026, 12, 1) and entries[1].expired(RUN_DATE)  # a datetime's date part
    assert not entries[2].expired(date(2026, 12, 10)) and entries[2].expired(date(2026, 12, 11))  # through the day


@pytest.mark.parametrize(("entry", "problem"), [
    pytest.param('rule = "USER_INTUNE_UNLICENSD"\nuser_principal_name = "a@b.c"',
                 "unknown rule 'USER_INTUNE_UNLICENSD' (did you mean USER_INTUNE_UNLICENSED?)", id="unknown-rule"),
    pytest.param('rule = "user_intune_unlicensed"\nuser_principal_name = "a@b.c"',
                 "unknown rule 'user_intune_unlicensed'", id="rule-ids-are-case-sensitive"),
    pytest.param('rule = "USER_INTUNE_UNLICENSED"\nuser_principal_name = "a@b.c"\nentra_object_id = '
                 '"6f9619ff-8b86-d011-b42d-00c04fc964ff"', "exactly one subject is needed", id="two-subjects"),
    pytest.param('rule = "USER_INTUNE_UNLICENSED"', "exactly one subject is needed", id="no-subject"),
    pytest.param('rule = "USER_INTUNE_UNLICENSED"\nsubject = "config"', "does not fit rule USER_INTUNE_UNLICENSED",
                 id="config-on-a-user-rule"),
    pytest.param('rule = "MM_LICENSE_NOT_ADVANCED"\nuser_principal_name = "a@b.c"',
                 "does not fit rule MM_LICENSE_NOT_ADVANCED", id="user-on-a-config-rule"),
    pytest.param('rule = "USER_INTUNE_UNLICENSED"\nentra_object_id = "user1@contoso.com"', "is not an Entra object id",
                 id="not-a-guid"),
    pytest.param('rule = "EXCEPTION_EXPIRED"\nsubject = "config"', "cannot itself be excepted", id="exception-rule"),
])
def test_each_invalid_entry_is_refused_naming_the_entry_and_line(tmp_path, entry, problem):
    text = GOOD + f'\n[[exception]]\n{entry}\nreason = "r"\nowner = "o"\nexpires = 2027-01-31\n'
    with pytest.raises(ExceptionsFileError) as caught:
        load_exceptions(_write(tmp_path, text), RULES, RUN_DATE)
    message = str(caught.value)
    assert "exception 5 (line 31): " in message and problem in message
    assert "exception 1" not in message, "the valid entries are not blamed"


def test_missing_or_empty_keys_a_string_date_and_the_365_day_cap(tmp_path):
    text = """
[[exception]]
rule = "USER_INTUNE_UNLICENSED"
user_principal_name = "a@b.c"
reason = "  "
expires = "2027-01-31"

[[exception]]
rule = "USER_INTUNE_UNLICENSED"
user_principal_name = "d@b.c"
reason = "long"
owner = "o"
expires = 2027-12-03
reasn = "typo"
"""
    path = _write(tmp_path, text)
    with pytest.raises(ExceptionsFileError) as caught:
        load_exceptions(path, RULES, RUN_DATE)
    message = str(caught.value)
    assert "5 problem(s)" in message
    assert "exception 1 (line 2): reason must be a non-empty string" in message
    assert "exception 1 (line 2): owner is missing" in message
    assert "exception 1 (line 2): expires must be a TOML date such as 2027-06-30 (unquoted)" in message
    assert "exception 2 (line 8): expires 2027-12-03 is more than 365 days after 2026-12-02" in message
    assert "unknown key 'reasn' (did you mean reason?)" in message
    # exactly 365 days is allowed; --allow-long-exceptions lifts the cap
    assert load_exceptions(_write(tmp_path, text.replace("2027-12-03", "2027-12-02").replace(
        'reason = "  "\nexpires = "2027-01-31"', 'reason = "r"\nowner = "o"\nexpires = 2027-01-31').replace(
        'reasn = "typo"\n', ""), "fixed.toml"), RULES, RUN_DATE)
    with pytest.raises(ExceptionsFileError, match="owner is missing") as again:
        load_exceptions(path, RULES, RUN_DATE, allow_long=True)
    assert "365 days" not in str(again.value), "the cap is lifted; the other problems remain"


def test_a_toml_syntax_error_gives_the_parsers_line_and_column(tmp_path):
    with pytest.raises(ExceptionsFileError, match=r"not valid TOML: .*\(at line 3, column \d+\)"):
        load_exceptions(_write(tmp_path, '[[exception]]\nrule = "X"\nreason = \n'), RULES, RUN_DATE)


def test_exceptions_check_command_exits_0_or_3(tmp_path):
    good = _write(tmp_path, GOOD.replace("2026-12-01T10:00:00Z", "2030-01-01"))
    result = CliRunner().invoke(main, ["exceptions", "check", str(good)])
    assert result.exit_code == 3 and "more than 365 days" in result.stderr  # today as the run date
    allowed = CliRunner().invoke(main, ["exceptions", "check", str(good), "--allow-long-exceptions"])
    assert allowed.exit_code == 0, allowed.output
    assert "4 valid entries" in allowed.stdout
    missing = CliRunner().invoke(main, ["exceptions", "check", str(tmp_path / "none.toml")])
    assert missing.exit_code == 3 and "no such file" in missing.stderr


def test_the_user_rule_naming_contract_holds_on_both_samples(tmp_path):
    """rule_is_about_users reads a rule's kind from its id: every finding of a USER_* rule is about a
    user, and no other rule's finding is, on the sample where every config and tenant rule fires too."""
    seen = set()
    for name in ("tenant", "misconfigured"):
        run_audit(sample_dir(name), tmp_path / name, tmp_path / f"{name}.duckdb")
        for finding in json.loads((tmp_path / name / "findings.json").read_text()):
            assert rule_is_about_users(finding["rule_id"]) == (finding["subject_type"] == "user"), finding
            seen.add(finding["rule_id"])
    assert len(seen) >= 35, "most rules fired on the two samples"
