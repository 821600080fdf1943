"""What each Mattermost account is bound by today (the matching steps of issue 2) and the
USER_AUTHDATA_* / USER_NO_ENTRA_MATCH findings that follow from it.

Every account here is active, on the selected service (saml unless said otherwise) and not a bot,
unless the test is about exactly that."""

from __future__ import annotations

import pytest
from tenant import Tenant, audit, config, entra_user, ldif_entry, mm_id, mm_user, oid

# The worked example of DESIGN.md: one objectGUID in every form it reaches Mattermost in.
GUID_BYTES = bytes.fromhex("1ebcff1ea34a9d4fa508d4d81f1f5873")
WINDOWS_FORM = "1effbc1e-4aa3-4f9d-a508-d4d81f1f5873"
NAIVE_FORM = "1ebcff1e-a34a-9d4f-a508-d4d81f1f5873"
HEX_FORM = "\\1e\\bc\\ff\\1e\\a3\\4a\\9d\\4f\\a5\\08\\d4\\d8\\1f\\1f\\58\\73"
IMMUTABLE_ID = "Hrz/HqNKnU+lCNTYHx9Ycw=="
ELSEWHERE = "someone.else@fabrikam.com"  # an account email that links to nobody (no step 8)
USER_RULES = {"USER_AUTHDATA_IS_EMAIL", "USER_AUTHDATA_IS_UPN", "USER_AUTHDATA_IS_IMMUTABLEID",
              "USER_AUTHDATA_IS_OBJECTGUID", "USER_AUTHDATA_NOT_EXACT", "USER_AUTHDATA_MISMATCH",
              "USER_NO_ENTRA_MATCH"}


def only(outcome, rule_id: str) -> dict:
    rows = outcome.rule(rule_id)
    assert len(rows) == 1, f"expected one {rule_id} finding, found {outcome.findings}"
    return rows[0]


def assert_bound_by(outcome, rule_id: str, n: int, auth_data: str, link_kind: str,
                    service: str = "saml", upn: str | None = None) -> dict:
    """The finding names the account, its person, what auth_data holds and what it must hold."""
    row = only(outcome, rule_id)
    assert row["rule_id"] == rule_id
    assert row["severity"] == "blocking"
    assert row["subject_type"] == "user"
    assert row["entra_object_id"] == oid(n)
    assert row["mattermost_user_id"] == mm_id(n)
    assert row["user_principal_name"] == (upn or f"user{n}@contoso.com")
    assert row["observed"] == f'auth_data = "{auth_data}" ({service} account user{n}, linked by {link_kind})'
    assert row["expected"] == oid(n)
    assert row["predicted_error"].startswith("User mismatch")
    assert oid(n) in row["remediation"] and mm_id(n) in row["remediation"]
    assert outcome.status_of(oid(n)) == "will_fail"
    return row


def test_account_bound_by_exact_object_id_is_ready(tmp_path):
    outcome = audit(Tenant(entra=[entra_user(1)], mattermost=[mm_user(1, email=ELSEWHERE)]), tmp_path)
    assert outcome.fired() == set()
    assert outcome.status_of(oid(1)) == "ready"


# --- USER_AUTHDATA_NOT_EXACT (step 2) ------------------------------------------------------------

@pytest.mark.parametrize("auth_data", [
    pytest.param(oid(1).upper(), id="uppercase"),
    pytest.param("{" + oid(1) + "}", id="braces"),
    pytest.param(oid(1).replace("-", ""), id="no-hyphens"),
    pytest.param("{" + oid(1).upper() + "}", id="braces-uppercase"),
])
def test_not_exact_object_id(tmp_path, auth_data):
    outcome = audit(Tenant(entra=[entra_user(1)], mattermost=[mm_user(1, auth_data=auth_data)]), tmp_path)
    assert_bound_by(outcome, "USER_AUTHDATA_NOT_EXACT", 1, auth_data, "objectid_normalised")
    # the near miss of the issue: a case difference is not a mismatch nor an unmatched account
    assert outcome.fired() == {"USER_AUTHDATA_NOT_EXACT"}


# --- USER_AUTHDATA_IS_EMAIL (step 3) and USER_AUTHDATA_IS_UPN (step 4) ---------------------------

def test_is_email_when_mail_differs_from_upn(tmp_path):
    person = entra_user(1, userPrincipalName="u1@contoso.onmicrosoft.com")
    outcome = audit(Tenant(entra=[person], mattermost=[mm_user(1, auth_data="user1@contoso.com")]), tmp_path)
    assert_bound_by(outcome, "USER_AUTHDATA_IS_EMAIL", 1, "user1@contoso.com", "email",
                    upn="u1@contoso.onmicrosoft.com")
    assert outcome.fired() == {"USER_AUTHDATA_IS_EMAIL"}


def test_is_email_not_upn_when_mail_equals_upn(tmp_path):
    outcome = audit(Tenant(entra=[entra_user(1)], mattermost=[mm_user(1, auth_data="user1@contoso.com")]),
                    tmp_path)
    assert_bound_by(outcome, "USER_AUTHDATA_IS_EMAIL", 1, "user1@contoso.com", "email")
    assert "USER_AUTHDATA_IS_UPN" not in outcome.fired()


def test_is_email_ignores_case(tmp_path):
    outcome = audit(Tenant(entra=[entra_user(1)],
                           mattermost=[mm_user(1, auth_data="User1@CONTOSO.com", email=ELSEWHERE)]), tmp_path)
    assert_bound_by(outcome, "USER_AUTHDATA_IS_EMAIL", 1, "User1@CONTOSO.com", "email")


def test_is_email_through_other_mails(tmp_path):
    person = entra_user(1, otherMails=["Jane.Private@fabrikam.com"])
    outcome = audit(Tenant(entra=[person], mattermost=[mm_user(1, auth_data="jane.private@fabrikam.com",
                                                               email=ELSEWHERE)]), tmp_path)
    assert_bound_by(outcome, "USER_AUTHDATA_IS_EMAIL", 1, "jane.private@fabrikam.com", "email")


def test_is_upn(tmp_path):
    person = entra_user(1, mail="jane.doe@contoso.com")
    outcome = audit(Tenant(entra=[person], mattermost=[mm_user(1, auth_data="USER1@contoso.com")]), tmp_path)
    assert_bound_by(outcome, "USER_AUTHDATA_IS_UPN", 1, "USER1@contoso.com", "upn")
    assert outcome.fired() == {"USER_AUTHDATA_IS_UPN"}


def test_is_upn_when_person_has_no_mail(tmp_path):
    person = entra_user(1, mail=None)
    outcome = audit(Tenant(entra=[person], mattermost=[mm_user(1, auth_data="user1@contoso.com")]), tmp_path)
    assert_bound_by(outcome, "USER_AUTHDATA_IS_UPN", 1, "user1@contoso.com", "upn")


# --- USER_AUTHDATA_IS_IMMUTABLEID (step 5) -------------------------------------------------------

def test_is_immutable_id(tmp_path):
    person = entra_user(1, onPremisesImmutableId=IMMUTABLE_ID)
    outcome = audit(Tenant(entra=[person], mattermost=[mm_user(1, auth_data=IMMUTABLE_ID, email=ELSEWHERE)]),
                    tmp_path)
    assert_bound_by(outcome, "USER_AUTHDATA_IS_IMMUTABLEID", 1, IMMUTABLE_ID, "immutable_id")
    assert outcome.fired() == {"USER_AUTHDATA_IS_IMMUTABLEID"}


def test_is_immutable_id_of_another_source_anchor(tmp_path):
    """An immutableId that is not base64 of a GUID (an employee id anchor) still binds by immutableId."""
    person = entra_user(1, onPremisesImmutableId="EMP-000042")
    outcome = audit(Tenant(entra=[person], mattermost=[mm_user(1, auth_data="EMP-000042", email=ELSEWHERE)]),
                    tmp_path)
    assert_bound_by(outcome, "USER_AUTHDATA_IS_IMMUTABLEID", 1, "EMP-000042", "immutable_id")


def test_immutable_id_compares_exactly(tmp_path):
    """base64 is case-sensitive: a lowercased immutableId is not the person's, so only the email links."""
    person = entra_user(1, onPremisesImmutableId=IMMUTABLE_ID)
    outcome = audit(Tenant(entra=[person], mattermost=[mm_user(1, auth_data=IMMUTABLE_ID.lower())]), tmp_path)
    assert outcome.fired() == {"USER_AUTHDATA_MISMATCH"}
    assert_bound_by(outcome, "USER_AUTHDATA_MISMATCH", 1, IMMUTABLE_ID.lower(), "mattermost_email")


# --- USER_AUTHDATA_IS_OBJECTGUID (step 6) --------------------------------------------------------

def ldap_person(n: int = 1, **attrs) -> str:
    return ldif_entry(f"CN=User {n},OU=Staff,DC=corp,DC=contoso,DC=com",
                      userPrincipalName=f"user{n}@contoso.com", sAMAccountName=f"u{n}", **attrs)


GUID_FORMS = [pytest.param(WINDOWS_FORM, id="windows"), pytest.param(NAIVE_FORM, id="naive"),
              pytest.param(HEX_FORM, id="backslash-hex"), pytest.param(WINDOWS_FORM.upper(), id="windows-upper")]


@pytest.mark.parametrize("auth_data", GUID_FORMS)
def test_is_object_guid_from_ldap_entry(tmp_path, auth_data):
    tenant = Tenant(entra=[entra_user(1)], mattermost=[mm_user(1, auth_data=auth_data, email=ELSEWHERE)],
                    ldif=ldap_person(1, objectGUID=GUID_BYTES, msDS_aadObjectId=oid(1)))
    outcome = audit(tenant, tmp_path)
    assert_bound_by(outcome, "USER_AUTHDATA_IS_OBJECTGUID", 1, auth_data, "object_guid")
    assert outcome.fired() == {"USER_AUTHDATA_IS_OBJECTGUID"}


@pytest.mark.parametrize("auth_data", GUID_FORMS)
def test_is_object_guid_decoded_from_immutable_id(tmp_path, auth_data):
    person = entra_user(1, onPremisesImmutableId=IMMUTABLE_ID)
    outcome = audit(Tenant(entra=[person], mattermost=[mm_user(1, auth_data=auth_data, email=ELSEWHERE)]),
                    tmp_path)
    assert_bound_by(outcome, "USER_AUTHDATA_IS_OBJECTGUID", 1, auth_data, "object_guid")
    assert outcome.fired() == {"USER_AUTHDATA_IS_OBJECTGUID"}


def test_is_object_guid_from_ldap_entry_found_by_upn(tmp_path):
    """An entry without msDS-aadObjectId still belongs to the person with its UPN."""
    tenant = Tenant(entra=[entra_user(1)], mattermost=[mm_user(1, auth_data=WINDOWS_FORM, email=ELSEWHERE)],
                    ldif=ldap_person(1, objectGUID=GUID_BYTES))
    outcome = audit(tenant, tmp_path)
    assert_bound_by(outcome, "USER_AUTHDATA_IS_OBJECTGUID", 1, WINDOWS_FORM, "object_guid")
    assert outcome.fired() == {"USER_AUTHDATA_IS_OBJECTGUID", "USER_LDAP_AADOBJECTID_MISSING"}


def test_is_object_guid_from_ldap_entry_found_by_mail(tmp_path):
    entry = ldif_entry("CN=User 1,OU=Staff,DC=corp,DC=contoso,DC=com", mail="USER1@contoso.com",
                       objectGUID=GUID_BYTES)
    person = entra_user(1, userPrincipalName="u1@contoso.onmicrosoft.com")
    outcome = audit(Tenant(entra=[person], mattermost=[mm_user(1, auth_data=HEX_FORM, email=ELSEWHERE)],
                           ldif=entry), tmp_path)
    assert_bound_by(outcome, "USER_AUTHDATA_IS_OBJECTGUID", 1, HEX_FORM, "object_guid",
                    upn="u1@contoso.onmicrosoft.com")


def test_object_guid_of_another_person_links_to_that_person(tmp_path):
    """The GUID is user 2's: the account is reported against user 2, whose objectId it must hold."""
    tenant = Tenant(entra=[entra_user(1), entra_user(2, onPremisesImmutableId=IMMUTABLE_ID)],
                    mattermost=[mm_user(1), mm_user(2, auth_data=NAIVE_FORM, email=ELSEWHERE)])
    outcome = audit(tenant, tmp_path)
    assert_bound_by(outcome, "USER_AUTHDATA_IS_OBJECTGUID", 2, NAIVE_FORM, "object_guid")
    assert outcome.status_of(oid(1)) == "ready"


# --- USER_NO_ENTRA_MATCH and the objectGUID that cannot be ruled out ----------------------------

def assert_no_entra_match(outcome, n: int, auth_data: str, service: str = "saml") -> dict:
    row = only(outcome, "USER_NO_ENTRA_MATCH")
    assert row["severity"] == "blocking"
    assert row["subject_type"] == "user"
    assert row["entra_object_id"] is None
    assert row["mattermost_user_id"] == mm_id(n)
    assert row["observed"] == f'auth_data = "{auth_data}" ({service} account user{n})'
    assert row["expected"] == "the objectId of an Entra user"
    assert outcome.status_of(mattermost_user_id=mm_id(n)) == "will_fail"
    return row


def test_no_entra_match_for_an_unknown_identifier(tmp_path):
    outcome = audit(Tenant(entra=[entra_user(1)],
                           mattermost=[mm_user(1), mm_user(2, auth_data="legacy-42", email=ELSEWHERE)]), tmp_path)
    row = assert_no_entra_match(outcome, 2, "legacy-42")
    assert "objectGUID" not in row["remediation"]
    assert row["email"] == ELSEWHERE
    assert outcome.fired() == {"USER_NO_ENTRA_MATCH"}


def test_no_entra_match_with_empty_auth_data(tmp_path):
    outcome = audit(Tenant(entra=[entra_user(1)], mattermost=[mm_user(1), mm_user(2, auth_data="",
                                                                                  email=ELSEWHERE)]), tmp_path)
    assert_no_entra_match(outcome, 2, "")


@pytest.mark.parametrize("auth_data", [pytest.param(WINDOWS_FORM, id="windows"),
                                       pytest.param(NAIVE_FORM, id="naive")])
def test_guid_shaped_unmatched_without_ldif_cannot_rule_out_object_guid(tmp_path, auth_data):
    tenant = Tenant(entra=[entra_user(1)], mattermost=[mm_user(1, auth_data=auth_data, email=ELSEWHERE)])
    outcome = audit(tenant, tmp_path)
    row = assert_no_entra_match(outcome, 1, auth_data)
    assert "objectGUID" in row["remediation"]
    assert "could not be ruled out without ldap_users.ldif" in row["remediation"]
    assert outcome.fired() == {"USER_NO_ENTRA_MATCH", "USER_SAML_UNPROVISIONED"}


def test_backslash_hex_unmatched_without_ldif_cannot_rule_out_object_guid(tmp_path):
    tenant = Tenant(entra=[entra_user(1)], mattermost=[mm_user(1, auth_data=HEX_FORM, email=ELSEWHERE)])
    outcome = audit(tenant, tmp_path)
    row = assert_no_entra_match(outcome, 1, HEX_FORM)
    assert "objectGUID" in row["remediation"]


def test_same_guid_with_ldif_is_object_guid_binding(tmp_path):
    """The near miss of the one above: with the LDIF, the GUID is recognised as the person's objectGUID."""
    tenant = Tenant(entra=[entra_user(1)], mattermost=[mm_user(1, auth_data=WINDOWS_FORM, email=ELSEWHERE)],
                    ldif=ldap_person(1, objectGUID=GUID_BYTES, msDS_aadObjectId=oid(1)))
    outcome = audit(tenant, tmp_path)
    assert "USER_NO_ENTRA_MATCH" not in outcome.fired()
    assert_bound_by(outcome, "USER_AUTHDATA_IS_OBJECTGUID", 1, WINDOWS_FORM, "object_guid")


def test_guid_shaped_unmatched_with_ldif_is_plainly_unmatched(tmp_path):
    other_guid = bytes.fromhex("00112233445566778899aabbccddeeff")
    tenant = Tenant(entra=[entra_user(1)], mattermost=[mm_user(1, auth_data=WINDOWS_FORM, email=ELSEWHERE)],
                    ldif=ldap_person(1, objectGUID=other_guid, msDS_aadObjectId=oid(1)))
    outcome = audit(tenant, tmp_path)
    row = assert_no_entra_match(outcome, 1, WINDOWS_FORM)
    assert "ruled out" not in row["remediation"]
    assert row["remediation"].startswith("Find the person in Entra")


# --- USER_AUTHDATA_MISMATCH (steps 7 and 8) ------------------------------------------------------

def test_mismatch_through_ldap_id_attribute(tmp_path):
    """Step 7: auth_data is the LdapSettings.IdAttribute value (sAMAccountName) of the person's entry."""
    cfg = config(LdapSettings={"Enable": True, "IdAttribute": "sAMAccountName"})
    tenant = Tenant(entra=[entra_user(1)], mattermost=[mm_user(1, auth_data="U1", email=ELSEWHERE)],
                    config=cfg, ldif=ldap_person(1, msDS_aadObjectId=oid(1)))
    outcome = audit(tenant, tmp_path)
    assert_bound_by(outcome, "USER_AUTHDATA_MISMATCH", 1, "U1", "ldap_id_attribute")
    assert outcome.fired() == {"USER_AUTHDATA_MISMATCH", "MM_LDAP_IDATTRIBUTE"}


def test_ldap_id_attribute_value_without_ldif_is_unmatched(tmp_path):
    cfg = config(LdapSettings={"Enable": True, "IdAttribute": "sAMAccountName"})
    tenant = Tenant(entra=[entra_user(1)], mattermost=[mm_user(1, auth_data="u1", email=ELSEWHERE)], config=cfg)
    outcome = audit(tenant, tmp_path)
    assert "USER_AUTHDATA_MISMATCH" not in outcome.fired()
    assert_no_entra_match(outcome, 1, "u1")


def test_mismatch_through_mattermost_email(tmp_path):
    """Step 8: nothing in auth_data is the person's, but the account's email is their mail."""
    outcome = audit(Tenant(entra=[entra_user(1)], mattermost=[mm_user(1, auth_data="legacy-42")]), tmp_path)
    assert_bound_by(outcome, "USER_AUTHDATA_MISMATCH", 1, "legacy-42", "mattermost_email")
    assert outcome.fired() == {"USER_AUTHDATA_MISMATCH"}


def test_mismatch_through_mattermost_email_equal_to_upn(tmp_path):
    person = entra_user(1, mail="jane.doe@contoso.com")
    outcome = audit(Tenant(entra=[person], mattermost=[mm_user(1, auth_data="", email="USER1@contoso.com")]),
                    tmp_path)
    assert_bound_by(outcome, "USER_AUTHDATA_MISMATCH", 1, "", "mattermost_email")


def test_mismatch_with_a_stale_guid_is_linked_by_email(tmp_path):
    """A foreign GUID with the person's email is the person's account, not an unmatched one."""
    stale = "0f0f0f0f-1111-4222-8333-444444444444"
    outcome = audit(Tenant(entra=[entra_user(1)], mattermost=[mm_user(1, auth_data=stale)]), tmp_path)
    assert_bound_by(outcome, "USER_AUTHDATA_MISMATCH", 1, stale, "mattermost_email")
    assert "USER_NO_ENTRA_MATCH" not in outcome.fired()


def test_guid_shaped_mismatch_without_ldif_cannot_rule_out_object_guid(tmp_path):
    outcome = audit(Tenant(entra=[entra_user(1)], mattermost=[mm_user(1, auth_data=WINDOWS_FORM)]), tmp_path)
    row = assert_bound_by(outcome, "USER_AUTHDATA_MISMATCH", 1, WINDOWS_FORM, "mattermost_email")
    assert "objectGUID" in row["remediation"]


# --- who is evaluated at all --------------------------------------------------------------------

def test_bots_are_never_evaluated(tmp_path):
    bots = [mm_user(1, auth_data="user1@contoso.com", is_bot=True),
            mm_user(2, auth_data="legacy-42", email=ELSEWHERE, is_bot=True)]
    outcome = audit(Tenant(entra=[entra_user(1, accountEnabled=False)], mattermost=bots), tmp_path)
    assert outcome.fired() == set()
    assert outcome.readiness == []


def test_deactivated_accounts_are_not_evaluated_by_auth_data_rules(tmp_path):
    old = 1_700_000_000_000
    accounts = [mm_user(1),  # the person's active account is fine
                mm_user(2, name="user1.old", auth_data="user1@contoso.com", delete_at=old),
                mm_user(3, auth_data="legacy-42", email=ELSEWHERE, delete_at=old)]
    outcome = audit(Tenant(entra=[entra_user(1)], mattermost=accounts), tmp_path)
    assert outcome.fired() == set()
    assert outcome.status_of(oid(1)) == "ready"
    assert len(outcome.readiness) == 1


@pytest.mark.parametrize("account", [
    pytest.param(mm_user(1, auth_service="office365", auth_data="user1@contoso.com"), id="office365-by-email"),
    pytest.param(mm_user(1, auth_service="ldap", auth_data="u1"), id="ldap-by-samaccountname"),
    pytest.param(mm_user(1, auth_service="", auth_data=""), id="email-password"),
])
def test_account_of_another_service_is_not_evaluated_by_auth_data_rules(tmp_path, account):
    outcome = audit(Tenant(entra=[entra_user(1)], mattermost=[account]), tmp_path)
    assert not outcome.fired() & USER_RULES
    # what fires instead: the person is on another service, which Intune MAM does not evaluate
    assert outcome.fired() == {"USER_NOT_SELECTED_SERVICE"}
    assert outcome.status_of(oid(1)) == "not_evaluated"


def test_unmatched_account_of_another_service_is_not_reported(tmp_path):
    outcome = audit(Tenant(entra=[entra_user(1)],
                           mattermost=[mm_user(1), mm_user(2, auth_service="gitlab", auth_data="4711",
                                                           email=ELSEWHERE)]), tmp_path)
    assert outcome.fired() == set()
    assert [r["mattermost_user_id"] for r in outcome.readiness] == [mm_id(1)]


def test_office365_selected_evaluates_office365_accounts_only(tmp_path):
    accounts = [mm_user(1, auth_service="office365", auth_data=oid(1).upper()),
                mm_user(2, auth_service="office365", auth_data="user2@contoso.com"),
                mm_user(3, auth_service="saml", auth_data="legacy-42", email=ELSEWHERE)]
    outcome = audit(Tenant(entra=[entra_user(1), entra_user(2)], mattermost=accounts,
                           config=config("office365")), tmp_path)
    assert_bound_by(outcome, "USER_AUTHDATA_NOT_EXACT", 1, oid(1).upper(), "objectid_normalised",
                    service="office365")
    assert_bound_by(outcome, "USER_AUTHDATA_IS_EMAIL", 2, "user2@contoso.com", "email", service="office365")
    assert outcome.fired() == {"USER_AUTHDATA_NOT_EXACT", "USER_AUTHDATA_IS_EMAIL"}


def test_auth_data_rules_skipped_without_mattermost_users(tmp_path):
    outcome = audit(Tenant(entra=[entra_user(1)], mattermost=None), tmp_path)
    skipped = {s["rule_id"]: s["reason"] for s in outcome.result.summary["skipped_rules"]}
    for rule_id in USER_RULES:
        assert skipped[rule_id] == "missing input: mattermost_users"
    assert outcome.fired() == set()


def test_auth_data_rules_skipped_without_entra_users(tmp_path):
    """Without Entra, every account would be 'unmatched': the rules are skipped instead."""
    outcome = audit(Tenant(entra=None, mattermost=[mm_user(1, auth_data="legacy-42")]), tmp_path)
    skipped = {s["rule_id"]: s["reason"] for s in outcome.result.summary["skipped_rules"]}
    for rule_id in USER_RULES:
        assert skipped[rule_id].startswith("missing input: entra_users")
    assert outcome.fired() == set()


def test_base64_of_ldap_object_guid_is_immutable_id_binding(tmp_path):
    """Step 5 also knows the immutableId Entra Connect would derive from the LDAP objectGUID."""
    immutable = "Hrz/HqNKnU+lCNTYHx9Ycw=="
    tenant = Tenant(entra=[entra_user(1)], mattermost=[mm_user(1, auth_data=immutable, email=ELSEWHERE)],
                    ldif=ldap_person(1, objectGUID=GUID_BYTES, msDS_aadObjectId=oid(1)))
    outcome = audit(tenant, tmp_path)
    assert_bound_by(outcome, "USER_AUTHDATA_IS_IMMUTABLEID", 1, immutable, "immutable_id")
    assert "USER_NO_ENTRA_MATCH" not in outcome.fired()
