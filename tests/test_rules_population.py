"""Who is targeted, and the rules about a person's accounts as a whole rather than one binding:
USER_SAML_UNPROVISIONED, USER_DEACTIVATED, USER_INTUNE_UNLICENSED, USER_DUPLICATE_ACCOUNTS,
USER_NOT_SELECTED_SERVICE and USER_ENTRA_DISABLED."""

from __future__ import annotations

import uuid

import pytest
from tenant import INTUNE_PLAN, Tenant, audit, config, entra_user, mm_admin, mm_id, mm_user, oid

GROUP_A = "0a0a0a0a-0000-4000-8000-00000000000a"
GROUP_B = "0b0b0b0b-0000-4000-8000-00000000000b"
DELETED_2023_11_14 = 1_700_000_000_000


def only(outcome, rule_id: str) -> dict:
    rows = outcome.rule(rule_id)
    assert len(rows) == 1, f"expected one {rule_id} finding, found {outcome.findings}"
    return rows[0]


def member(n: int) -> dict:
    """A group member as Graph transitiveMembers/microsoft.graph.user returns it."""
    return {"id": oid(n), "userPrincipalName": f"user{n}@contoso.com", "displayName": f"User{n}"}


def email_account(n: int, name: str, **overrides) -> dict:
    """An email/password account of person n (auth_service ''), linked to them by its email."""
    return mm_user(n, name=name, auth_service="", auth_data="", email=f"user{n}@contoso.com", **overrides)


# --- targeting ----------------------------------------------------------------------------------

def test_without_groups_every_enabled_member_is_targeted(tmp_path):
    people = [entra_user(1), entra_user(2, userType="Guest"), entra_user(3, accountEnabled=False)]
    outcome = audit(Tenant(entra=people, mattermost=[mm_admin()]), tmp_path)
    assert [r["entra_object_id"] for r in outcome.readiness] == [oid(1)]
    assert [f["entra_object_id"] for f in outcome.rule("USER_SAML_UNPROVISIONED")] == [oid(1)]
    assert "every enabled Member user" in outcome.result.summary["targeting"]


def test_with_groups_the_union_of_members_is_targeted(tmp_path):
    people = [entra_user(1), entra_user(2, userType="Guest"), entra_user(3), entra_user(4, accountEnabled=False)]
    groups = {GROUP_A: [member(1)], GROUP_B: [member(2), member(1), member(4)]}
    outcome = audit(Tenant(entra=people, mattermost=[mm_admin()], groups=groups), tmp_path)
    # the guest in a policy group is targeted; user 3 (in no group) and disabled user 4 are not
    assert sorted(r["entra_object_id"] for r in outcome.readiness) == [oid(1), oid(2)]
    assert sorted(f["entra_object_id"] for f in outcome.rule("USER_SAML_UNPROVISIONED")) == [oid(1), oid(2)]
    assert "entra_groups/" in outcome.result.summary["targeting"]


def test_group_member_ids_are_compared_in_normal_form(tmp_path):
    groups = {GROUP_A: [{**member(1), "id": oid(1).upper()}]}
    outcome = audit(Tenant(entra=[entra_user(1), entra_user(2)], groups=groups), tmp_path)
    assert [r["entra_object_id"] for r in outcome.readiness] == [oid(1)]


def test_group_member_missing_from_users_export_is_still_reported(tmp_path):
    outcome = audit(Tenant(entra=[entra_user(1)], mattermost=[mm_user(1)],
                           groups={GROUP_A: [member(1), member(2)]}), tmp_path)
    row = only(outcome, "USER_NOT_IN_ENTRA_EXPORT")
    assert row == {**row, "severity": "warning", "subject_type": "user", "entra_object_id": oid(2),
                   "mattermost_user_id": None, "user_principal_name": "user2@contoso.com"}
    assert GROUP_A in row["observed"]
    assert outcome.status_of(oid(2)) == "not_evaluated"
    assert outcome.status_of(oid(1)) == "ready"


def test_group_member_in_users_export_is_not_reported_missing(tmp_path):
    outcome = audit(Tenant(entra=[entra_user(1), entra_user(2)], mattermost=[mm_user(1), mm_user(2)],
                           groups={GROUP_A: [member(1), member(2)]}), tmp_path)
    assert "USER_NOT_IN_ENTRA_EXPORT" not in outcome.fired()


# --- USER_SAML_UNPROVISIONED --------------------------------------------------------------------

def test_saml_unprovisioned(tmp_path):
    outcome = audit(Tenant(entra=[entra_user(1), entra_user(2)], mattermost=[mm_user(2)]), tmp_path)
    row = only(outcome, "USER_SAML_UNPROVISIONED")
    assert row == {**row, "rule_id": "USER_SAML_UNPROVISIONED", "severity": "blocking", "subject_type": "user",
                   "entra_object_id": oid(1), "mattermost_user_id": None,
                   "user_principal_name": "user1@contoso.com", "email": "user1@contoso.com",
                   "observed": "no Mattermost account of any auth service",
                   "expected": f"a SAML account with auth_data = {oid(1)}"}
    assert row["predicted_error"].startswith("HTTP 428")
    assert outcome.fired() == {"USER_SAML_UNPROVISIONED"}
    assert outcome.status_of(oid(1)) == "will_fail"
    assert outcome.status_of(oid(2)) == "ready"


def test_not_unprovisioned_when_office365_is_selected(tmp_path):
    outcome = audit(Tenant(entra=[entra_user(1)], config=config("office365")), tmp_path)
    assert outcome.fired() == set()


def test_not_unprovisioned_when_not_targeted(tmp_path):
    outcome = audit(Tenant(entra=[entra_user(1), entra_user(2)], mattermost=[mm_user(1)],
                           groups={GROUP_A: [member(1)]}), tmp_path)
    assert outcome.fired() == set()
    assert [r["entra_object_id"] for r in outcome.readiness] == [oid(1)]


def test_not_unprovisioned_when_entra_account_disabled(tmp_path):
    outcome = audit(Tenant(entra=[entra_user(1, accountEnabled=False)]), tmp_path)
    assert outcome.fired() == set()


def test_a_bot_is_not_the_persons_account(tmp_path):
    bot = mm_user(1, is_bot=True)  # auth_data = the objectId, but bots are never evaluated
    outcome = audit(Tenant(entra=[entra_user(1)], mattermost=[bot]), tmp_path)
    assert outcome.fired() == {"USER_SAML_UNPROVISIONED"}


def test_an_account_of_another_service_counts_as_provisioned(tmp_path):
    outcome = audit(Tenant(entra=[entra_user(1)], mattermost=[email_account(1, "user1")]), tmp_path)
    assert outcome.fired() == {"USER_NOT_SELECTED_SERVICE"}


# --- USER_DEACTIVATED ---------------------------------------------------------------------------

def test_deactivated(tmp_path):
    outcome = audit(Tenant(entra=[entra_user(1)], mattermost=[mm_user(1, delete_at=DELETED_2023_11_14)]),
                    tmp_path)
    row = only(outcome, "USER_DEACTIVATED")
    assert row == {**row, "rule_id": "USER_DEACTIVATED", "severity": "blocking", "subject_type": "user",
                   "entra_object_id": oid(1), "mattermost_user_id": mm_id(1),
                   "user_principal_name": "user1@contoso.com",
                   "observed": "saml account user1 deactivated on 2023-11-14",
                   "expected": "an active account of the selected auth service"}
    assert "409" in row["predicted_error"]
    # a deactivated account is an account: not also unprovisioned
    assert outcome.fired() == {"USER_DEACTIVATED"}
    assert outcome.status_of(oid(1)) == "will_fail"


def test_deactivated_reports_each_of_the_persons_accounts(tmp_path):
    accounts = [mm_user(1, delete_at=DELETED_2023_11_14),
                email_account(1, "user1.local", id=mm_id(2), delete_at=DELETED_2023_11_14 + 86_400_000)]
    outcome = audit(Tenant(entra=[entra_user(1)], mattermost=accounts), tmp_path)
    assert sorted((f["mattermost_user_id"], f["observed"]) for f in outcome.rule("USER_DEACTIVATED")) == [
        (mm_id(1), "saml account user1 deactivated on 2023-11-14"),
        (mm_id(2), "email account user1.local deactivated on 2023-11-15"),
    ]


def test_deactivated_account_does_not_count_as_the_active_one(tmp_path):
    """An old deactivated account bound by the objectId does not make the email-bound active one fine."""
    accounts = [mm_user(1, name="user1.old", delete_at=DELETED_2023_11_14),
                mm_user(2, name="user1", auth_data="user1@contoso.com")]
    outcome = audit(Tenant(entra=[entra_user(1)], mattermost=accounts), tmp_path)
    assert outcome.fired() == {"USER_AUTHDATA_IS_EMAIL"}
    assert only(outcome, "USER_AUTHDATA_IS_EMAIL")["mattermost_user_id"] == mm_id(2)
    assert outcome.status_of(oid(1)) == "will_fail"
    assert outcome.readiness[0]["mattermost_user_id"] == mm_id(2)


def test_not_deactivated_with_another_active_account(tmp_path):
    accounts = [mm_user(1, name="user1.old", auth_data="user1@contoso.com", delete_at=DELETED_2023_11_14),
                mm_user(2, name="user1", auth_data=oid(1))]
    outcome = audit(Tenant(entra=[entra_user(1)], mattermost=accounts), tmp_path)
    assert outcome.fired() == set()
    assert outcome.status_of(oid(1)) == "ready"


def test_deactivated_saml_account_with_active_email_account_is_not_selected_service(tmp_path):
    accounts = [mm_user(1, delete_at=DELETED_2023_11_14), email_account(1, "user1.local", id=mm_id(2))]
    outcome = audit(Tenant(entra=[entra_user(1)], mattermost=accounts), tmp_path)
    assert outcome.fired() == {"USER_NOT_SELECTED_SERVICE"}


@pytest.mark.parametrize("tenant_kwargs", [
    pytest.param({"entra": [entra_user(1, accountEnabled=False), entra_user(2)]}, id="entra-disabled"),
    pytest.param({"entra": [entra_user(1), entra_user(2)], "groups": {GROUP_A: [member(2)]}}, id="not-in-groups"),
])
def test_deactivated_account_of_untargeted_person_is_not_reported(tmp_path, tenant_kwargs):
    outcome = audit(Tenant(mattermost=[mm_user(1, delete_at=DELETED_2023_11_14), mm_user(2)], **tenant_kwargs),
                    tmp_path)
    assert outcome.fired() == set()


# --- USER_INTUNE_UNLICENSED ---------------------------------------------------------------------

@pytest.mark.parametrize(("plans", "observed"), [
    pytest.param([], "no Intune service plan in assignedPlans", id="no-plans"),
    pytest.param([{**INTUNE_PLAN, "servicePlanId": str(uuid.UUID(int=7))}],
                 "no Intune service plan in assignedPlans", id="other-plan-only"),
    pytest.param([{**INTUNE_PLAN, "capabilityStatus": "Suspended"}],
                 "Intune service plan capabilityStatus = Suspended", id="suspended"),
    pytest.param([{**INTUNE_PLAN, "capabilityStatus": "Deleted"}],
                 "Intune service plan capabilityStatus = Deleted", id="deleted"),
])
def test_intune_unlicensed(tmp_path, plans, observed):
    outcome = audit(Tenant(entra=[entra_user(1, assignedPlans=plans)], mattermost=[mm_user(1)]), tmp_path)
    row = only(outcome, "USER_INTUNE_UNLICENSED")
    assert row == {**row, "rule_id": "USER_INTUNE_UNLICENSED", "severity": "blocking", "subject_type": "user",
                   "entra_object_id": oid(1), "mattermost_user_id": None,
                   "user_principal_name": "user1@contoso.com", "observed": observed}
    assert "c1ec4a95-1f05-45b3-a911-aa3fa01094f5" in row["expected"]
    assert outcome.fired() == {"USER_INTUNE_UNLICENSED"}
    assert outcome.status_of(oid(1)) == "will_fail"


@pytest.mark.parametrize("plans", [
    pytest.param([{**INTUNE_PLAN, "capabilityStatus": "Deleted"}, INTUNE_PLAN], id="old-deleted-and-enabled"),
    pytest.param([{**INTUNE_PLAN, "servicePlanId": INTUNE_PLAN["servicePlanId"].upper()}], id="uppercase-plan-id"),
])
def test_intune_licensed_near_misses(tmp_path, plans):
    outcome = audit(Tenant(entra=[entra_user(1, assignedPlans=plans)], mattermost=[mm_user(1)]), tmp_path)
    assert outcome.fired() == set()


def test_unlicensed_but_not_targeted_is_not_reported(tmp_path):
    people = [entra_user(1), entra_user(2, assignedPlans=[]), entra_user(3, assignedPlans=[], userType="Guest")]
    outcome = audit(Tenant(entra=people, mattermost=[mm_user(1), mm_user(2), mm_user(3)],
                           groups={GROUP_A: [member(1)]}), tmp_path)
    assert "USER_INTUNE_UNLICENSED" not in outcome.fired()


def test_entra_csv_skips_unlicensed_rather_than_passing_it(tmp_path):
    csv_rows = [{"objectId": oid(1), "userPrincipalName": "user1@contoso.com", "mail": "user1@contoso.com",
                 "accountEnabled": "True", "userType": "Member"}]
    outcome = audit(Tenant(entra=None, entra_csv=csv_rows, mattermost=[mm_user(1)]), tmp_path)
    assert outcome.rule("USER_INTUNE_UNLICENSED") == []
    assert {"rule_id": "USER_INTUNE_UNLICENSED", "reason": "missing input: entra_licenses"} in \
        outcome.result.summary["skipped_rules"]
    # the CSV still feeds matching: the account is recognised as the person's
    assert outcome.fired() == set()
    assert outcome.readiness[0]["mattermost_user_id"] == mm_id(1)


def test_graph_export_without_assigned_plans_skips_unlicensed(tmp_path):
    people = [{k: v for k, v in entra_user(n).items() if k != "assignedPlans"} for n in (1, 2)]
    outcome = audit(Tenant(entra=people, mattermost=[mm_user(1), mm_user(2)]), tmp_path)
    assert outcome.rule("USER_INTUNE_UNLICENSED") == []
    assert "USER_INTUNE_UNLICENSED" in {s["rule_id"] for s in outcome.result.summary["skipped_rules"]}


# --- USER_DUPLICATE_ACCOUNTS --------------------------------------------------------------------

def test_duplicate_accounts(tmp_path):
    accounts = [mm_user(1), email_account(1, "user1.local", id=mm_id(2))]
    outcome = audit(Tenant(entra=[entra_user(1)], mattermost=accounts), tmp_path)
    rows = sorted(outcome.rule("USER_DUPLICATE_ACCOUNTS"), key=lambda f: f["mattermost_user_id"])
    assert [(f["mattermost_user_id"], f["observed"]) for f in rows] == [
        (mm_id(1), "saml account user1 linked by objectid; "
                   "2 active accounts for this person: saml account user1, email account user1.local"),
        (mm_id(2), "email account user1.local linked by mattermost_email; "
                   "2 active accounts for this person: saml account user1, email account user1.local"),
    ]
    for row in rows:
        assert row == {**row, "severity": "warning", "subject_type": "user", "entra_object_id": oid(1),
                       "user_principal_name": "user1@contoso.com"}
    assert outcome.fired() == {"USER_DUPLICATE_ACCOUNTS"}
    assert outcome.status_of(oid(1)) == "at_risk"


def test_no_duplicate_when_the_other_account_is_deactivated(tmp_path):
    accounts = [mm_user(1), email_account(1, "user1.local", id=mm_id(2), delete_at=DELETED_2023_11_14)]
    outcome = audit(Tenant(entra=[entra_user(1)], mattermost=accounts), tmp_path)
    assert outcome.fired() == set()
    assert outcome.status_of(oid(1)) == "ready"


def test_no_duplicate_when_no_account_is_on_the_selected_service(tmp_path):
    accounts = [email_account(1, "user1"), mm_user(2, name="user1.o365", auth_service="office365",
                                                   auth_data=oid(1), email="user1@contoso.com")]
    outcome = audit(Tenant(entra=[entra_user(1)], mattermost=accounts), tmp_path)
    assert outcome.fired() == {"USER_NOT_SELECTED_SERVICE"}


def test_bot_is_no_duplicate(tmp_path):
    accounts = [mm_user(1), mm_user(2, name="user1-bot", auth_data="user1@contoso.com", is_bot=True)]
    outcome = audit(Tenant(entra=[entra_user(1)], mattermost=accounts), tmp_path)
    assert outcome.fired() == set()


# --- USER_NOT_SELECTED_SERVICE ------------------------------------------------------------------

def test_not_selected_service(tmp_path):
    outcome = audit(Tenant(entra=[entra_user(1)], mattermost=[email_account(1, "user1")]), tmp_path)
    row = only(outcome, "USER_NOT_SELECTED_SERVICE")
    assert row == {**row, "rule_id": "USER_NOT_SELECTED_SERVICE", "severity": "info", "subject_type": "user",
                   "entra_object_id": oid(1), "mattermost_user_id": mm_id(1),
                   "user_principal_name": "user1@contoso.com",
                   "observed": "active accounts on: email", "expected": "an account on saml"}
    assert outcome.status_of(oid(1)) == "not_evaluated"


def test_not_selected_service_names_every_service_once(tmp_path):
    accounts = [email_account(1, "user1"),
                mm_user(2, name="user1.o365", auth_service="office365", auth_data=oid(1), email="x@fabrikam.com")]
    outcome = audit(Tenant(entra=[entra_user(1)], mattermost=accounts), tmp_path)
    row = only(outcome, "USER_NOT_SELECTED_SERVICE")
    assert row["observed"].startswith("active accounts on: ")
    assert sorted(row["observed"].removeprefix("active accounts on: ").split(", ")) == ["email", "office365"]
    assert row["mattermost_user_id"] == mm_id(1)


def test_not_selected_service_email_is_that_of_the_named_account(tmp_path):
    email_login = email_account(1, "user1", id=mm_id(2))
    office365 = mm_user(1, name="user1.o365", auth_service="office365", auth_data=oid(1), email="o365@contoso.com")
    for order, accounts in enumerate(([email_login, office365], [office365, email_login])):
        outcome = audit(Tenant(entra=[entra_user(1)], mattermost=accounts), tmp_path / str(order))
        row = only(outcome, "USER_NOT_SELECTED_SERVICE")
        assert (row["mattermost_user_id"], row["email"]) == (mm_id(1), "o365@contoso.com")


def test_not_selected_service_office365_selected(tmp_path):
    outcome = audit(Tenant(entra=[entra_user(1)], mattermost=[mm_user(1)], config=config("office365")), tmp_path)
    row = only(outcome, "USER_NOT_SELECTED_SERVICE")
    assert (row["observed"], row["expected"]) == ("active accounts on: saml", "an account on office365")


def test_selected_service_account_beside_another_is_evaluated(tmp_path):
    accounts = [mm_user(1, auth_data="user1@contoso.com"), email_account(1, "user1.local", id=mm_id(2))]
    outcome = audit(Tenant(entra=[entra_user(1)], mattermost=accounts), tmp_path)
    assert "USER_NOT_SELECTED_SERVICE" not in outcome.fired()
    assert outcome.fired() == {"USER_AUTHDATA_IS_EMAIL", "USER_DUPLICATE_ACCOUNTS"}


def test_not_selected_service_only_for_targeted_people(tmp_path):
    outcome = audit(Tenant(entra=[entra_user(1), entra_user(2)], mattermost=[email_account(1, "user1"), mm_user(2)],
                           groups={GROUP_A: [member(2)]}), tmp_path)
    assert outcome.fired() == set()


# --- USER_ENTRA_DISABLED ------------------------------------------------------------------------

def test_entra_disabled_with_active_account(tmp_path):
    outcome = audit(Tenant(entra=[entra_user(1, accountEnabled=False), entra_user(2)],
                           mattermost=[mm_user(1), mm_user(2)]), tmp_path)
    row = only(outcome, "USER_ENTRA_DISABLED")
    assert row == {**row, "rule_id": "USER_ENTRA_DISABLED", "severity": "info", "subject_type": "user",
                   "entra_object_id": oid(1), "mattermost_user_id": mm_id(1),
                   "user_principal_name": "user1@contoso.com",
                   "observed": "Entra accountEnabled = false; saml account user1 is active",
                   "expected": "accountEnabled = true, or the Mattermost account deactivated"}
    assert outcome.fired() == {"USER_ENTRA_DISABLED"}
    # not targeted (disabled), but its active account still has a readiness row, carrying the finding
    row = next(r for r in outcome.readiness if r["mattermost_user_id"] == mm_id(1))
    assert row["rule_ids"] == "USER_ENTRA_DISABLED"


def test_entra_disabled_reported_even_when_in_policy_group(tmp_path):
    outcome = audit(Tenant(entra=[entra_user(1, accountEnabled=False)], mattermost=[mm_user(1)],
                           groups={GROUP_A: [member(1)]}), tmp_path)
    assert outcome.fired() == {"USER_ENTRA_DISABLED"}


@pytest.mark.parametrize("account", [
    pytest.param(mm_user(1, delete_at=DELETED_2023_11_14), id="account-deactivated"),
    pytest.param(email_account(1, "user1"), id="account-on-other-service"),
    pytest.param(mm_user(1, is_bot=True), id="bot"),
])
def test_entra_disabled_near_misses(tmp_path, account):
    outcome = audit(Tenant(entra=[entra_user(1, accountEnabled=False)], mattermost=[account]), tmp_path)
    assert outcome.fired() == set()
    assert outcome.readiness == []


def test_entra_disabled_person_without_account_or_license_is_not_reported(tmp_path):
    outcome = audit(Tenant(entra=[entra_user(1, accountEnabled=False, assignedPlans=[])]), tmp_path)
    assert outcome.fired() == set()
