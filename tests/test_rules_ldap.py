"""LDAP entries (ldap_users.ldif) and their msDS-aadObjectId: USER_LDAP_AADOBJECTID_MISSING and
USER_LDAP_AADOBJECTID_MISMATCH. The LDAP links used for matching are tested in test_rules_binding.py."""

from __future__ import annotations

import uuid

import pytest
from tenant import Tenant, audit, config, entra_user, ldif_entry, mm_id, mm_user, oid

from reconcile import identifiers as ids

DN = "CN=User 1,OU=Staff,DC=corp,DC=contoso,DC=com"
UNKNOWN_OID = "0f0f0f0f-1111-4222-8333-444444444444"


def only(outcome, rule_id: str) -> dict:
    rows = outcome.rule(rule_id)
    assert len(rows) == 1, f"expected one {rule_id} finding, found {outcome.findings}"
    return rows[0]


def tenant(ldif: str) -> Tenant:
    """Two people whose Mattermost accounts are fine: only the LDAP export can be wrong."""
    return Tenant(entra=[entra_user(1), entra_user(2)], mattermost=[mm_user(1), mm_user(2)], ldif=ldif)


# --- USER_LDAP_AADOBJECTID_MISSING --------------------------------------------------------------

@pytest.mark.parametrize(("attrs", "how"), [
    pytest.param({"userPrincipalName": "User1@Contoso.com"}, "upn", id="by-upn"),
    pytest.param({"mail": "USER1@contoso.com"}, "mail", id="by-mail"),
    pytest.param({"userPrincipalName": "user1@contoso.com", "mail": "user2@contoso.com"}, "upn",
                 id="upn-wins-over-mail"),
])
def test_aad_object_id_missing(tmp_path, attrs, how):
    outcome = audit(tenant(ldif_entry(DN, sAMAccountName="u1", **attrs)), tmp_path)
    row = only(outcome, "USER_LDAP_AADOBJECTID_MISSING")
    assert row == {**row, "rule_id": "USER_LDAP_AADOBJECTID_MISSING", "severity": "warning",
                   "subject_type": "user", "entra_object_id": oid(1), "mattermost_user_id": None,
                   "user_principal_name": "user1@contoso.com",
                   "observed": f"{DN} has no msDS-aadObjectId (matched by {how})",
                   "expected": f"msDS-aadObjectId = {oid(1)}"}
    assert outcome.fired() == {"USER_LDAP_AADOBJECTID_MISSING"}
    assert outcome.status_of(oid(1)) == "at_risk"
    assert outcome.status_of(oid(2)) == "ready"


def test_aad_object_id_present_is_not_missing(tmp_path):
    outcome = audit(tenant(ldif_entry(DN, userPrincipalName="user1@contoso.com", msDS_aadObjectId=oid(1))),
                    tmp_path)
    assert outcome.fired() == set()
    assert outcome.status_of(oid(1)) == "ready"


def test_entry_of_nobody_in_entra_is_not_reported(tmp_path):
    ldif = ldif_entry("CN=Service Account,OU=Services,DC=corp,DC=contoso,DC=com",
                      userPrincipalName="svc-backup@corp.contoso.com", sAMAccountName="svc-backup")
    outcome = audit(tenant(ldif), tmp_path)
    assert outcome.fired() == set()


def test_ldap_rules_need_no_mattermost_input(tmp_path):
    """The directory team can audit its LDAP export against Entra alone."""
    outcome = audit(Tenant(entra=[entra_user(1)], mattermost=None, config=None, license=None,
                           ldif=ldif_entry(DN, userPrincipalName="user1@contoso.com")), tmp_path)
    assert [f["entra_object_id"] for f in outcome.rule("USER_LDAP_AADOBJECTID_MISSING")] == [oid(1)]


# --- USER_LDAP_AADOBJECTID_MISMATCH -------------------------------------------------------------

@pytest.mark.parametrize(("stored", "why"), [
    pytest.param(oid(2), "another Entra user's objectId", id="another-users"),
    pytest.param(UNKNOWN_OID, "no Entra user has this objectId", id="unknown"),
    pytest.param(oid(1).upper(), "differs only in case or format", id="uppercase"),
    pytest.param("{" + oid(1) + "}", "differs only in case or format", id="braces"),
])
def test_aad_object_id_mismatch(tmp_path, stored, why):
    ldif = ldif_entry(DN, userPrincipalName="user1@contoso.com", msDS_aadObjectId=stored)
    outcome = audit(tenant(ldif), tmp_path)
    row = only(outcome, "USER_LDAP_AADOBJECTID_MISMATCH")
    assert row == {**row, "rule_id": "USER_LDAP_AADOBJECTID_MISMATCH", "severity": "warning",
                   "subject_type": "user", "entra_object_id": oid(1), "mattermost_user_id": None,
                   "user_principal_name": "user1@contoso.com", "email": "user1@contoso.com",
                   "observed": f'{DN} msDS-aadObjectId = "{stored}" ({why}; entry matched by upn)',
                   "expected": oid(1)}
    assert outcome.fired() == {"USER_LDAP_AADOBJECTID_MISMATCH"}
    assert outcome.status_of(oid(1)) == "at_risk"


def test_aad_object_id_mismatch_found_by_mail(tmp_path):
    ldif = ldif_entry(DN, mail="user1@contoso.com", msDS_aadObjectId=UNKNOWN_OID)
    outcome = audit(tenant(ldif), tmp_path)
    row = only(outcome, "USER_LDAP_AADOBJECTID_MISMATCH")
    assert row["entra_object_id"] == oid(1)
    assert row["observed"].endswith("entry matched by mail)")


@pytest.mark.parametrize("ldif", [
    pytest.param(ldif_entry(DN, userPrincipalName="user1@contoso.com", msDS_aadObjectId=oid(1)), id="text"),
    pytest.param(ldif_entry(DN, userPrincipalName="user1@contoso.com",
                            msDS_aadObjectId=uuid.UUID(oid(1)).bytes_le), id="sixteen-bytes"),
    pytest.param(ldif_entry(DN, userPrincipalName="renamed@contoso.com", msDS_aadObjectId=oid(1)),
                 id="renamed-entry-with-right-id"),
])
def test_aad_object_id_equal_to_object_id_is_no_mismatch(tmp_path, ldif):
    outcome = audit(tenant(ldif), tmp_path)
    assert outcome.fired() == set()


def test_ldap_rules_skipped_without_ldif(tmp_path):
    outcome = audit(Tenant(entra=[entra_user(1)], mattermost=[mm_user(1)]), tmp_path)
    skipped = {s["rule_id"]: s["reason"] for s in outcome.result.summary["skipped_rules"]}
    assert skipped["USER_LDAP_AADOBJECTID_MISSING"] == "missing input: ldap"
    assert skipped["USER_LDAP_AADOBJECTID_MISMATCH"] == "missing input: ldap"
    assert outcome.fired() == set()
    # optional input: the LDAP warnings not being checked does not hold anyone back
    assert outcome.status_of(oid(1)) == "ready"


def test_ldap_warning_beside_blocking_finding_is_will_fail(tmp_path):
    ldif = ldif_entry(DN, userPrincipalName="user1@contoso.com")
    outcome = audit(Tenant(entra=[entra_user(1)], mattermost=[mm_user(1, auth_data=oid(1).upper())], ldif=ldif),
                    tmp_path)
    assert outcome.fired() == {"USER_LDAP_AADOBJECTID_MISSING", "USER_AUTHDATA_NOT_EXACT"}
    assert outcome.status_of(oid(1)) == "will_fail"
    rules = outcome.readiness[0]["rule_ids"].split(";")
    assert rules == ["USER_AUTHDATA_NOT_EXACT", "USER_LDAP_AADOBJECTID_MISSING"]


@pytest.mark.parametrize("other", [1, 3], ids=["other-sorts-first", "other-sorts-last"])
def test_disputed_ldap_link_does_not_steal_an_objectguid_bound_account(tmp_path, other):
    """Pat's LDAP entry holds Quinn's objectId; Pat's account is bound by Pat's objectGUID.

    Entra's own immutableId says the objectGUID is Pat's; the entry's msDS-aadObjectId link to
    Quinn is what USER_LDAP_AADOBJECTID_MISMATCH disputes. Which objectId sorts first must not matter.
    """
    raw = bytes.fromhex("1ebcff1ea34a9d4fa508d4d81f1f5873")
    pat = entra_user(2, "pat", onPremisesImmutableId=ids.immutable_id(raw))
    quinn = entra_user(other, "quinn")
    ldif = (ldif_entry("CN=pat,OU=U,DC=x", userPrincipalName="pat@contoso.com", objectGUID=raw,
                       msDS_aadObjectId=oid(other))
            + ldif_entry("CN=quinn,OU=U,DC=x", userPrincipalName="quinn@contoso.com",
                         objectGUID=bytes(range(16)), msDS_aadObjectId=oid(other)))
    tenant = Tenant(entra=[pat, quinn], ldif=ldif,
                    mattermost=[mm_user(2, "pat", auth_data=ids.guid_windows(raw)), mm_user(other, "quinn")],
                    config=config(LdapSettings={"Enable": True, "IdAttribute": "msDS-aadObjectId"}))
    outcome = audit(tenant, tmp_path)
    bound = outcome.rule("USER_AUTHDATA_IS_OBJECTGUID")
    assert [(f["entra_object_id"], f["mattermost_user_id"]) for f in bound] == [(oid(2), mm_id(2))]
    assert "USER_SAML_UNPROVISIONED" not in outcome.fired()
    assert "USER_DUPLICATE_ACCOUNTS" not in outcome.fired()
    assert outcome.status_of(oid(other)) == "ready"
