"""readiness.csv (one row per person the policy targets, plus one per active account of the selected
service that no targeted person links to), its statuses, and the exit code scripts rely on."""

from __future__ import annotations

import pytest
from tenant import Tenant, audit, config, entra_user, mm_id, mm_user, oid

GROUP_A = "0a0a0a0a-0000-4000-8000-00000000000a"
DELETED = 1_700_000_000_000


def member(n: int) -> dict:
    return {"id": oid(n), "userPrincipalName": f"user{n}@contoso.com"}


def row_of(outcome, entra_object_id=None, mattermost_user_id=None) -> dict:
    rows = [r for r in outcome.readiness
            if (entra_object_id is None or r["entra_object_id"] == entra_object_id)
            and (mattermost_user_id is None or r["mattermost_user_id"] == mattermost_user_id)]
    assert len(rows) == 1, rows
    return rows[0]


def four_people() -> Tenant:
    """1 ready, 2 bound by email (blocking), 3 with a second active account (warning), 4 on email login."""
    accounts = [mm_user(1), mm_user(2, auth_data="user2@contoso.com"),
                mm_user(3), mm_user(5, name="user3.local", auth_service="", auth_data="", email="user3@contoso.com"),
                mm_user(4, auth_service="", auth_data="")]
    return Tenant(entra=[entra_user(n) for n in (1, 2, 3, 4)], mattermost=accounts)


def test_each_status(tmp_path):
    outcome = audit(four_people(), tmp_path)
    ready, fails, risk, other = (row_of(outcome, oid(n)) for n in (1, 2, 3, 4))

    assert ready == {"entra_object_id": oid(1), "mattermost_user_id": mm_id(1),
                     "user_principal_name": "user1@contoso.com", "email": "user1@contoso.com",
                     "status": "ready", "predicted_error": None, "rule_ids": None, "fix": None, "accepted": "false"}

    assert fails["status"] == "will_fail"
    assert fails["rule_ids"] == "USER_AUTHDATA_IS_EMAIL"
    assert fails["predicted_error"].startswith("User mismatch")
    assert fails["fix"] == f"Mattermost admin: Set auth_data of saml account user2 ({mm_id(2)}) to {oid(2)}"

    assert risk["status"] == "at_risk"
    assert risk["mattermost_user_id"] == mm_id(3)  # the account on the selected service
    assert risk["rule_ids"] == "USER_DUPLICATE_ACCOUNTS"
    assert risk["predicted_error"].startswith("Enrollment succeeds only for the account bound by the objectId")

    assert other["status"] == "not_evaluated"
    assert other["rule_ids"] == "USER_NOT_SELECTED_SERVICE"
    assert other["predicted_error"].startswith("not evaluated")
    assert other["fix"].startswith("Mattermost admin: Migrate the account to the selected auth service")

    assert outcome.result.summary["readiness"] == {"will_fail": 1, "at_risk": 1, "not_evaluated": 1, "ready": 1}
    assert outcome.result.readiness_counts == outcome.result.summary["readiness"]


def test_blocking_finding_outranks_warning(tmp_path):
    accounts = [mm_user(1, auth_data="user1@contoso.com"),
                mm_user(2, name="user1.local", auth_service="", auth_data="", email="user1@contoso.com")]
    outcome = audit(Tenant(entra=[entra_user(1)], mattermost=accounts), tmp_path)
    row = row_of(outcome, oid(1))
    assert row["status"] == "will_fail"
    assert row["rule_ids"] == "USER_AUTHDATA_IS_EMAIL;USER_DUPLICATE_ACCOUNTS"
    assert row["predicted_error"].startswith("User mismatch")  # the blocking rule's error, not the warning's


def test_info_findings_leave_a_person_ready(tmp_path):
    outcome = audit(Tenant(entra=[entra_user(1)], mattermost=[mm_user(1)],
                           config=config(IntuneSettings={"Enable": False})), tmp_path)
    assert outcome.fired() == {"MM_INTUNE_NOT_ENABLED"}
    assert outcome.status_of(oid(1)) == "ready"


# --- config findings apply to everyone evaluated --------------------------------------------------

def test_blocking_config_finding_makes_every_evaluated_person_will_fail(tmp_path):
    tenant = four_people()
    tenant.license = {"IsLicensed": "true", "SkuShortName": "enterprise"}
    outcome = audit(tenant, tmp_path)
    for n in (1, 2, 3):
        row = row_of(outcome, oid(n))
        assert row["status"] == "will_fail"
        assert "MM_LICENSE_NOT_ADVANCED" in row["rule_ids"].split(";")
        # the server gates on the license before it looks at any account
        assert row["predicted_error"].startswith("NotLicensed")
    # the person on another auth service is still not evaluated by Intune MAM at all
    assert row_of(outcome, oid(4))["status"] == "not_evaluated"


def test_blocking_config_finding_applies_to_untargeted_account_rows(tmp_path):
    cfg = config(SamlSettings={"IdAttribute": ""})
    outcome = audit(Tenant(entra=[entra_user(1), entra_user(2)], mattermost=[mm_user(1), mm_user(2)],
                           groups={GROUP_A: [member(1)]}, config=cfg), tmp_path)
    assert [r["status"] for r in outcome.readiness] == ["will_fail", "will_fail"]
    assert row_of(outcome, mattermost_user_id=mm_id(2))["rule_ids"] == "MM_SAML_IDATTRIBUTE"


def test_office365_directory_of_another_tenant_fails_everyone(tmp_path):
    cfg = config("office365", Office365Settings={"DirectoryId": "11111111-2222-4333-8444-555555555555"})
    outcome = audit(Tenant(entra=[entra_user(1)], mattermost=[mm_user(1, auth_service="office365")], config=cfg),
                    tmp_path)
    assert outcome.fired() == {"MM_OFFICE365_TENANT_MISMATCH"}
    assert outcome.status_of(oid(1)) == "will_fail"


# --- missing inputs ----------------------------------------------------------------------------

def test_missing_license_file_means_not_evaluated(tmp_path):
    tenant = four_people()
    tenant.license = None
    outcome = audit(tenant, tmp_path)
    ready = row_of(outcome, oid(1))
    assert ready["status"] == "not_evaluated"
    assert ready["predicted_error"] == "not evaluated: missing input mattermost_license"
    assert ready["fix"] == "provide the missing export(s): mattermost_license"
    # a person the audit can already prove will fail is still reported as failing
    assert row_of(outcome, oid(2))["status"] == "will_fail"
    assert row_of(outcome, oid(3))["status"] == "not_evaluated"
    assert outcome.result.summary["readiness"]["ready"] == 0


def test_missing_mattermost_users_means_not_evaluated(tmp_path):
    outcome = audit(Tenant(entra=[entra_user(1), entra_user(2, assignedPlans=[])], mattermost=None), tmp_path)
    assert row_of(outcome, oid(1))["status"] == "not_evaluated"
    assert row_of(outcome, oid(1))["fix"] == "provide the missing export(s): mattermost_users"
    # the license check needs only Entra: that person fails whatever Mattermost holds
    assert row_of(outcome, oid(2))["status"] == "will_fail"


def test_missing_entra_users_leaves_accounts_not_evaluated(tmp_path):
    outcome = audit(Tenant(entra=None, mattermost=[mm_user(1), mm_user(2, auth_service="", auth_data="")]),
                    tmp_path)
    assert outcome.readiness == [{
        "entra_object_id": None, "mattermost_user_id": mm_id(1), "user_principal_name": None,
        "email": "user1@contoso.com", "status": "not_evaluated",
        "predicted_error": "not evaluated: missing input entra_users",
        "rule_ids": None, "fix": "provide the missing export(s): entra_users",
        "accepted": "false"}]


def test_entra_csv_without_licenses_is_not_ready(tmp_path):
    csv_rows = [{"objectId": oid(1), "userPrincipalName": "user1@contoso.com", "mail": "user1@contoso.com",
                 "accountEnabled": "True", "userType": "Member"}]
    outcome = audit(Tenant(entra=None, entra_csv=csv_rows, mattermost=[mm_user(1)]), tmp_path)
    row = row_of(outcome, oid(1))
    assert row["status"] == "not_evaluated"
    assert "entra_licenses" in row["predicted_error"]


# --- who gets a row ----------------------------------------------------------------------------

def test_one_row_per_targeted_person_and_per_untargeted_active_account(tmp_path):
    people = [entra_user(n) for n in (1, 2, 3, 4, 5)] + [entra_user(6, accountEnabled=False)]
    accounts = [
        mm_user(1),                                                         # targeted, ready
        mm_user(11, name="user1.local", auth_service="", auth_data="", email="user1@contoso.com"),
        # targeted person 2 has no account at all
        mm_user(3),                                                         # not targeted: own row
        mm_user(4, delete_at=DELETED),                                      # not targeted, deactivated: none
        mm_user(5, auth_service="", auth_data=""),                          # not targeted, email login: none
        mm_user(6),                                                         # Entra-disabled person: own row
        mm_user(7, auth_data="legacy-7", email="x7@fabrikam.com"),          # matches nobody: own row
        mm_user(8, auth_data="legacy-8", email="x8@fabrikam.com", delete_at=DELETED),  # deactivated: none
        mm_user(9, auth_service="gitlab", auth_data="9", email="x9@fabrikam.com"),     # other service: none
        mm_user(10, auth_data="legacy-10", email="x10@fabrikam.com", is_bot=True),    # bot: none
    ]
    outcome = audit(Tenant(entra=people, mattermost=accounts, groups={GROUP_A: [member(1), member(2)]}),
                    tmp_path)
    assert sorted(((r["entra_object_id"] or ""), (r["mattermost_user_id"] or "")) for r in outcome.readiness) == [
        ("", mm_id(7)),
        (oid(1), mm_id(1)),
        (oid(2), ""),
        (oid(3), mm_id(3)),
        (oid(6), mm_id(6)),
    ]
    assert row_of(outcome, oid(2))["status"] == "will_fail"  # unprovisioned
    assert row_of(outcome, oid(3))["status"] == "ready"
    assert row_of(outcome, mattermost_user_id=mm_id(7))["status"] == "will_fail"  # no Entra match
    assert row_of(outcome, oid(1))["status"] == "at_risk"  # its email-login twin


def test_a_persons_findings_on_any_account_reach_their_row(tmp_path):
    """The person row carries the deactivated account's finding although no account is active."""
    outcome = audit(Tenant(entra=[entra_user(1)], mattermost=[mm_user(1, delete_at=DELETED)]), tmp_path)
    row = row_of(outcome, oid(1))
    assert (row["mattermost_user_id"], row["status"], row["rule_ids"]) == (mm_id(1), "will_fail", "USER_DEACTIVATED")


# --- exit code ---------------------------------------------------------------------------------

BLOCKING = Tenant(entra=[entra_user(1)], mattermost=[mm_user(1, auth_data="user1@contoso.com")])
WARNING_ONLY = Tenant(entra=[entra_user(1)], mattermost=[
    mm_user(1), mm_user(2, name="user1.local", auth_service="", auth_data="", email="user1@contoso.com")])
INFO_ONLY = Tenant(entra=[entra_user(1)], mattermost=[mm_user(1)], config=config(IntuneSettings={"Enable": False}))
CLEAN = Tenant(entra=[entra_user(1)], mattermost=[mm_user(1)])


@pytest.mark.parametrize(("tenant", "fail_on", "code"), [
    pytest.param(BLOCKING, "blocking", 1, id="blocking-default"),
    pytest.param(WARNING_ONLY, "blocking", 0, id="warning-default"),
    pytest.param(WARNING_ONLY, "warning", 1, id="warning-fail-on-warning"),
    pytest.param(BLOCKING, "warning", 1, id="blocking-fail-on-warning"),
    pytest.param(INFO_ONLY, "warning", 0, id="info-fail-on-warning"),
    pytest.param(INFO_ONLY, "info", 1, id="info-fail-on-info"),
    pytest.param(CLEAN, "info", 0, id="clean-fail-on-info"),
    pytest.param(BLOCKING, "never", 0, id="blocking-never"),
])
def test_exit_code(tmp_path, tenant, fail_on, code):
    outcome = audit(tenant, tmp_path, fail_on=fail_on)
    assert outcome.result.exit_code == code
    assert outcome.result.summary["exit_code"] == code
    assert outcome.result.summary["fail_on"] == fail_on


def test_exit_code_default_is_fail_on_blocking(tmp_path):
    assert audit(BLOCKING, tmp_path / "b").result.exit_code == 1
    assert audit(WARNING_ONLY, tmp_path / "w").result.exit_code == 0


def test_skipped_rule_findings_do_not_count(tmp_path):
    """A rule skipped for a missing input can neither fail the run nor pass anyone."""
    outcome = audit(Tenant(entra=[entra_user(1)], mattermost=[mm_user(1, auth_data="user1@contoso.com")],
                           config=None), tmp_path, fail_on="info")
    assert outcome.findings == []
    assert outcome.result.exit_code == 0
    assert outcome.status_of(oid(1)) == "not_evaluated"


def test_blocking_finding_on_a_second_account_leaves_the_person_at_risk(tmp_path):
    """The person enrolls with the account bound by the objectId; the other one is a warning for them."""
    accounts = [mm_user(1), mm_user(2, name="user1.alias", auth_data="user1@contoso.com", email="alias@contoso.com")]
    outcome = audit(Tenant(entra=[entra_user(1)], mattermost=accounts), tmp_path)
    assert {"USER_AUTHDATA_IS_EMAIL", "USER_DUPLICATE_ACCOUNTS"} <= outcome.fired()
    assert outcome.status_of(oid(1)) == "at_risk"


def test_blocking_finding_on_the_enrolling_account_fails_the_person(tmp_path):
    accounts = [mm_user(1, auth_data="user1@contoso.com"), mm_user(2, name="user1.local", auth_service="",
                                                                    auth_data="", email="USER1@contoso.com")]
    outcome = audit(Tenant(entra=[entra_user(1)], mattermost=accounts), tmp_path)
    assert outcome.status_of(oid(1)) == "will_fail"


def test_account_of_a_disabled_entra_user_is_not_evaluated(tmp_path):
    outcome = audit(Tenant(entra=[entra_user(1, accountEnabled=False)], mattermost=[mm_user(1)]), tmp_path)
    assert outcome.fired() == {"USER_ENTRA_DISABLED"}
    assert outcome.status_of(mattermost_user_id=mm_id(1)) == "not_evaluated"


def test_first_error_is_the_one_met_first_not_the_alphabetically_first(tmp_path):
    """Not provisioned (428) comes before an unlicensed enrollment failure; both are listed."""
    person = entra_user(1, assignedPlans=[])
    outcome = audit(Tenant(entra=[person, entra_user(2)], mattermost=[mm_user(2)]), tmp_path)
    row = next(r for r in outcome.readiness if r["entra_object_id"] == oid(1))
    assert row["rule_ids"] == "USER_INTUNE_UNLICENSED;USER_SAML_UNPROVISIONED"
    assert row["predicted_error"].startswith("HTTP 428")
    assert "Directory team: Assign a license" in row["fix"]
    assert "Mattermost admin: Have the user sign in once" in row["fix"]
