"""SAML rules over real signed captures: each rule fires on its case, and forged input says nothing."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from lxml import etree
from saml_helpers import (
    ALICE_OID,
    MALLORY_OID,
    OID_CLAIM,
    SAML,
    assertion_element,
    metadata_xml,
    response_element,
    sign,
    to_bytes,
)
from tenant import Tenant, audit, config, entra_user, mm_user

NOW = datetime.now(UTC)
SITE = {"ServiceSettings": {"SiteURL": "https://chat.example.com"}}
SAML_USER_RULES = {"USER_SAML_OBJECTID_MISSING", "USER_SAML_OBJECTID_MISMATCH", "USER_SAML_AUTHDATA_MISMATCH",
                   "USER_SAML_NAMEID_TRANSIENT"}


def alice(**overrides) -> dict:
    return entra_user(1, "alice", id=ALICE_OID, **overrides)


def capture(keys, signer: str = "idp", issued: datetime = NOW, edit=None, **kwargs) -> bytes:
    """A Response around an Entra-style assertion, ``edit``-ed before the assertion is signed."""
    assertion = assertion_element(issued, **kwargs)
    if edit:
        edit(assertion)
    return to_bytes(response_element([sign(assertion, keys[signer])], issued))


def run(tmp_path, keys, captures: dict[str, bytes], accounts=None, cfg=None, entity_id=None):
    tenant = Tenant(entra=[alice(), entra_user(2)],
                    mattermost=accounts if accounts is not None else [mm_user(1, "alice", auth_data=ALICE_OID),
                                                                      mm_user(2)],
                    config=cfg or config(**SITE), saml=captures,
                    idp_metadata=metadata_xml([keys["idp"].cert_b64],
                                              **({"entity_id": entity_id} if entity_id else {})))
    return audit(tenant, tmp_path)


def rename_claim(old: str, new: str):
    def edit(assertion):
        for attribute in assertion.iter(f"{{{SAML}}}Attribute"):
            if attribute.get("Name") == old:
                attribute.set("Name", new)
    return edit


def test_good_capture_raises_nothing(tmp_path, keys):
    outcome = run(tmp_path, keys, {"alice.xml": capture(keys)})
    assert outcome.fired() & (SAML_USER_RULES | {"SAML_SIGNATURE_INVALID", "SAML_IDP_NOT_ENTRA",
                                                 "SAML_IDATTRIBUTE_NOT_SENT", "SAML_CAPTURE_CONDITIONS"}) == set()
    saml = next(i for i in outcome.result.summary["inputs"] if i["name"] == "saml")
    assert (saml["available"], saml["rows"]) == (True, 1)


def test_forged_capture_is_rejected_and_contributes_nothing(tmp_path, keys):
    forged = capture(keys, oid=ALICE_OID).replace(ALICE_OID.encode(), MALLORY_OID.encode())
    outcome = run(tmp_path, keys, {"forged.xml": forged})
    [row] = outcome.rule("SAML_SIGNATURE_INVALID")
    assert row["subject_type"] == "saml" and row["observed"].startswith("saml/forged.xml: altered after signing")
    assert outcome.fired() & SAML_USER_RULES == set(), "a forged capture must not produce user findings"
    assert outcome.status_of(ALICE_OID) == "ready"


@pytest.mark.parametrize("signer", ["attacker", "other-idp"])
def test_capture_signed_by_another_key_is_rejected(tmp_path, keys, signer):
    outcome = run(tmp_path, keys, {"x.xml": capture(keys, signer=signer, oid=MALLORY_OID)})
    [row] = outcome.rule("SAML_SIGNATURE_INVALID")
    assert "signed by a key that is not in idp_metadata.xml" in row["observed"]
    assert outcome.fired() & SAML_USER_RULES == set()


def test_objectid_missing(tmp_path, keys):
    outcome = run(tmp_path, keys, {"noid.xml": capture(keys, oid=None)})
    [row] = outcome.rule("USER_SAML_OBJECTID_MISSING")
    assert (row["entra_object_id"], row["user_principal_name"]) == (ALICE_OID, "alice@contoso.com")
    assert "SAML_IDATTRIBUTE_NOT_SENT" not in outcome.fired()
    assert outcome.status_of(ALICE_OID) == "will_fail"


def test_objectid_under_a_short_name_is_idattribute_not_sent_not_missing(tmp_path, keys):
    outcome = run(tmp_path, keys, {"short.xml": capture(keys, edit=rename_claim(OID_CLAIM, "objectidentifier"))})
    [row] = outcome.rule("SAML_IDATTRIBUTE_NOT_SENT")
    assert row["subject_type"] == "config"
    assert row["observed"].endswith('the objectId is sent as: "objectidentifier"')
    assert "USER_SAML_OBJECTID_MISSING" not in outcome.fired()


def test_objectid_of_nobody_is_a_mismatch(tmp_path, keys):
    outcome = run(tmp_path, keys, {"m.xml": capture(keys, oid=MALLORY_OID)})
    [row] = outcome.rule("USER_SAML_OBJECTID_MISMATCH")
    assert row["entra_object_id"] == ALICE_OID and row["expected"] == ALICE_OID
    assert row["observed"] == f'saml/m.xml: objectidentifier = "{MALLORY_OID}" (user matched by name)'


def test_uppercase_objectid_is_a_mismatch_the_server_would_make(tmp_path, keys):
    outcome = run(tmp_path, keys, {"u.xml": capture(keys, oid=ALICE_OID.upper())})
    [row] = outcome.rule("USER_SAML_OBJECTID_MISMATCH")
    assert "matched by objectidentifier" in row["observed"]
    [authdata] = outcome.rule("USER_SAML_AUTHDATA_MISMATCH")
    assert authdata["expected"] == ALICE_OID.upper()


def test_authdata_differs_from_what_saml_sends(tmp_path, keys):
    accounts = [mm_user(1, "alice", auth_data="alice@contoso.com"), mm_user(2)]
    outcome = run(tmp_path, keys, {"a.xml": capture(keys)}, accounts=accounts)
    [row] = outcome.rule("USER_SAML_AUTHDATA_MISMATCH")
    assert row["expected"] == ALICE_OID
    assert '"alice@contoso.com"' in row["observed"]
    assert "USER_AUTHDATA_IS_EMAIL" in outcome.fired()


def test_transient_nameid_is_info(tmp_path, keys):
    def transient(assertion):
        assertion.find(f"{{{SAML}}}Subject/{{{SAML}}}NameID").set(
            "Format", "urn:oasis:names:tc:SAML:2.0:nameid-format:transient")
    outcome = run(tmp_path, keys, {"t.xml": capture(keys, edit=transient)})
    [row] = outcome.rule("USER_SAML_NAMEID_TRANSIENT")
    assert row["severity"] == "info" and row["entra_object_id"] == ALICE_OID
    assert outcome.status_of(ALICE_OID) == "ready"


def test_issuer_of_another_tenant(tmp_path, keys):
    other = "https://sts.windows.net/add29489-7269-41f4-8841-b63c95564420/"
    outcome = run(tmp_path, keys, {"o.xml": capture(keys, issuer=other)})
    [row] = outcome.rule("SAML_IDP_NOT_ENTRA")
    assert row["observed"] == f"assertion issuer = {other}"
    assert outcome.status_of(ALICE_OID) == "will_fail"


def test_templated_common_metadata_is_judged_by_its_assertions(tmp_path, keys):
    outcome = run(tmp_path, keys, {"a.xml": capture(keys)}, entity_id="https://sts.windows.net/{tenantid}/")
    assert "SAML_IDP_NOT_ENTRA" not in outcome.fired()


def test_non_entra_idp_metadata(tmp_path, keys):
    outcome = run(tmp_path, keys, {"a.xml": capture(keys)}, entity_id="http://www.okta.com/exk1fcia6d6EMsf331d8")
    [row] = outcome.rule("SAML_IDP_NOT_ENTRA")
    assert row["observed"].startswith("idp_metadata.xml entityID = http://www.okta.com/")


def test_old_capture_is_kept_and_reported(tmp_path, keys):
    outcome = run(tmp_path, keys, {"old.xml": capture(keys, issued=NOW - timedelta(days=400))})
    [row] = outcome.rule("SAML_CAPTURE_CONDITIONS")
    assert row["observed"].startswith("saml/old.xml: expired (Conditions NotOnOrAfter ")
    assert "InResponseTo" in row["observed"]
    assert "SAML_SIGNATURE_INVALID" not in outcome.fired()


def test_capture_addressed_to_another_server(tmp_path, keys):
    cfg = config(ServiceSettings={"SiteURL": "https://mattermost.contoso.com"})
    outcome = run(tmp_path, keys, {"a.xml": capture(keys)}, cfg=cfg)
    [row] = outcome.rule("SAML_CAPTURE_CONDITIONS")
    assert "Destination https://chat.example.com/login/sso/saml is not " \
           "https://mattermost.contoso.com/login/sso/saml" in row["observed"]


def test_captures_without_metadata_are_not_read(tmp_path, keys):
    tenant = Tenant(entra=[alice()], mattermost=[mm_user(1, "alice", auth_data=ALICE_OID)],
                    saml={"a.xml": capture(keys, oid=MALLORY_OID)})
    outcome = audit(tenant, tmp_path)
    saml = next(i for i in outcome.result.summary["inputs"] if i["name"] == "saml")
    assert not saml["available"] and "cannot be verified" in saml["note"]
    skipped = {s["rule_id"] for s in outcome.result.summary["skipped_rules"]}
    assert skipped >= SAML_USER_RULES | {"SAML_SIGNATURE_INVALID"}


REALWORLD = Path(__file__).resolve().parent / "realworld"  # copied from shared/realworld (README there)


def test_real_azure_ad_captures_end_to_end(tmp_path):
    """Azure AD's own signed assertions, its 2017 common metadata and a capture altered after signing."""
    real_oid, real_tenant = "d1ad9ce7-b322-4221-ab74-1e1011e1bbcb", "add29489-7269-41f4-8841-b63c95564420"
    files = ["aad-saml2-assertion-signed-a.xml", "aad-saml2-assertion-signed-b.xml",
             "aad-wsfed-wresult-rstr-saml2.xml", "aad-saml2-assertion-identitymodel.xml"]
    person = entra_user(1, "bob", id=real_oid)
    tenant = Tenant(entra=[person], mattermost=[mm_user(1, "bob", auth_data=real_oid)],
                    config=config(IntuneSettings={"TenantId": real_tenant}),
                    saml={name: (REALWORLD / name).read_bytes() for name in files},
                    idp_metadata=(REALWORLD / "aad-common-federation-metadata-2017.xml").read_text(encoding="utf-8"))
    outcome = audit(tenant, tmp_path)
    [rejected] = outcome.rule("SAML_SIGNATURE_INVALID")
    assert rejected["observed"].startswith("saml/aad-saml2-assertion-identitymodel.xml: ")
    saml = next(i for i in outcome.result.summary["inputs"] if i["name"] == "saml")
    assert saml["rows"] == 3, "three validly signed assertions"
    assert "SAML_IDP_NOT_ENTRA" not in outcome.fired(), "templated metadata, issuer of the configured tenant"
    assert outcome.fired() & {"USER_SAML_OBJECTID_MISSING", "USER_SAML_OBJECTID_MISMATCH"} == set()
    conditions = outcome.rule("SAML_CAPTURE_CONDITIONS")
    assert len(conditions) == 3 and all("expired" in c["observed"] for c in conditions)
    assert all("signing certificate expired 2019-02-14" in c["observed"] for c in conditions)


CUSTOM_ID = "http://contoso.com/claims/entraid"


def add_claim(name: str, value: str):
    def edit(assertion):
        statement = next(assertion.iter(f"{{{SAML}}}AttributeStatement"))
        attribute = etree.SubElement(statement, f"{{{SAML}}}Attribute", Name=name)
        etree.SubElement(attribute, f"{{{SAML}}}AttributeValue").text = value
    return edit


def test_custom_id_attribute_proven_by_signed_captures_is_no_finding(tmp_path, keys):
    """A custom claim name that the signed captures show carrying the person's objectId passes."""
    cfg = config(**SITE, SamlSettings={"IdAttribute": CUSTOM_ID})
    outcome = run(tmp_path, keys, {"alice.xml": capture(keys, edit=add_claim(CUSTOM_ID, ALICE_OID))}, cfg=cfg)
    assert "MM_SAML_IDATTRIBUTE" not in outcome.fired()
    assert "SAML_IDATTRIBUTE_NOT_SENT" not in outcome.fired()


@pytest.mark.parametrize(("value", "why"), [
    ("alice@contoso.com", "carries the UPN"),
    (ALICE_OID.upper(), "the objectId, but not in the form the oid claim carries"),
])
def test_custom_id_attribute_with_other_values_stays_a_warning(tmp_path, keys, value, why):
    cfg = config(**SITE, SamlSettings={"IdAttribute": CUSTOM_ID})
    outcome = run(tmp_path, keys, {"alice.xml": capture(keys, edit=add_claim(CUSTOM_ID, value))}, cfg=cfg)
    [row] = outcome.rule("MM_SAML_IDATTRIBUTE")
    assert row["severity"] == "warning", why
    assert f'signed captures show values that are not the objectId under it, e.g. "{value}"' in row["observed"]


def test_custom_id_attribute_unproven_when_the_capture_is_forged(tmp_path, keys):
    """Only validly signed captures are evidence: an edited one proves nothing."""
    cfg = config(**SITE, SamlSettings={"IdAttribute": CUSTOM_ID})
    forged = capture(keys, edit=add_claim(CUSTOM_ID, ALICE_OID)).replace(b"Alice Example", b"Mallory", 1)
    outcome = run(tmp_path, keys, {"alice.xml": forged}, cfg=cfg)
    [row] = outcome.rule("MM_SAML_IDATTRIBUTE")
    assert row["severity"] == "warning" and "no signed capture shows it" in row["observed"]
