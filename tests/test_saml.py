"""SAML capture reader: real Azure AD artifacts, and captures signed here with throwaway keys.

Every rejected capture must come out with a reason and no identity data; only an assertion covered by a
signature that verifies with a metadata certificate may carry an objectidentifier into the audit.
"""

from __future__ import annotations

import base64
import shutil
from copy import deepcopy
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from lxml import etree
from saml_helpers import (
    ACS,
    ALICE_OID,
    DS,
    ENTRA_ISSUER,
    MALLORY_OID,
    OID_CLAIM,
    REQUEST_ID,
    SAML,
    SAMLP,
    SP_ENTITY,
    assertion_element,
    form_value,
    metadata_xml,
    response_element,
    sign,
    signed_assertion,
    to_bytes,
)

from reconcile.errors import InputError
from reconcile.sources.saml import IdpMetadata, load_idp_metadata, read_saml_captures

REALWORLD = Path(__file__).resolve().parent / "realworld"  # copied from shared/realworld (README there)
REAL_OID = "d1ad9ce7-b322-4221-ab74-1e1011e1bbcb"
REAL_ISSUER = "https://sts.windows.net/add29489-7269-41f4-8841-b63c95564420/"
NOW = datetime.now(UTC)
RECORD_KEYS = {
    "file", "_where", "status", "reason", "kind", "signed_element", "response_issuer", "assertion_issuer",
    "destination", "in_response_to", "recipient", "audiences", "not_before", "not_on_or_after",
    "subject_not_on_or_after", "issue_instant", "assertion_id", "name_id", "name_id_format", "attributes",
    "certificate_not_after",
}


def read(tmp_path: Path, captures: dict[str, bytes | str], certificates: list[str]) -> dict[str, dict]:
    """Write metadata and captures into an export directory; return the reader's records by file name."""
    (tmp_path / "idp_metadata.xml").write_text(metadata_xml(certificates))
    folder = tmp_path / "saml"
    folder.mkdir(exist_ok=True)
    for name, content in captures.items():
        path = folder / name
        path.write_bytes(content) if isinstance(content, bytes) else path.write_text(content)
    metadata = load_idp_metadata(tmp_path / "idp_metadata.xml")
    records = list(read_saml_captures(folder, metadata))
    for record in records:
        assert set(record) == RECORD_KEYS
    return {record["file"].removeprefix("saml/"): record for record in records}


def read_one(tmp_path: Path, name: str, content: bytes | str, certificates: list[str]) -> dict:
    return read(tmp_path, {name: content}, certificates)[name]


def oids(record: dict) -> list[str]:
    return [value for name, value in record["attributes"] if name == OID_CLAIM]


def assert_rejected(record: dict, reason_start: str) -> None:
    """Invalid, with the expected reason, and nothing a rule could mistake for identity data."""
    assert record["status"] == "invalid", record
    assert record["reason"].startswith(reason_start), record["reason"]
    assert record["name_id"] is None and record["name_id_format"] is None
    assert record["attributes"] == []
    assert record["assertion_issuer"] is None and record["response_issuer"] is None
    assert record["signed_element"] is None and record["certificate_not_after"] is None
    assert record["assertion_id"] is None and record["audiences"] == []


# --- real Azure AD artifacts ---------------------------------------------------------------------


@pytest.fixture
def realworld() -> Path:
    return REALWORLD


def test_real_azure_ad_captures(realworld, tmp_path):
    folder = tmp_path / "saml"
    folder.mkdir()
    names = [
        "aad-saml2-assertion-signed-a.xml", "aad-saml2-assertion-signed-b.xml",
        "aad-wsfed-wresult-rstr-saml2.xml", "aad-saml2-assertion-identitymodel.xml",
    ]
    for name in names:
        shutil.copyfile(realworld / name, folder / name)
    metadata = load_idp_metadata(realworld / "aad-common-federation-metadata-2017.xml")
    records = {r["file"]: r for r in read_saml_captures(folder, metadata)}
    assert list(records) == sorted(f"saml/{n}" for n in names)

    for name, kind in (("aad-saml2-assertion-signed-a.xml", "assertion"), ("aad-saml2-assertion-signed-b.xml",
                                                                           "assertion"),
                       ("aad-wsfed-wresult-rstr-saml2.xml", "wsfed")):
        record = records[f"saml/{name}"]
        assert record["status"] == "valid", record["reason"]
        assert record["reason"] is None
        assert record["kind"] == kind and record["signed_element"] == "assertion"
        assert record["assertion_issuer"] == REAL_ISSUER
        assert (OID_CLAIM, REAL_OID) in record["attributes"]
        assert record["name_id"] == "RrX3SPSxDw6z4KHaKB2V_mnv0G-LbRZdYvo1RQa1L7s"
        assert record["name_id_format"] == "urn:oasis:names:tc:SAML:2.0:nameid-format:persistent"
        assert record["audiences"] == ["spn:fe78e0b4-6fe7-47e6-812c-fb75cee266a4"]
        # 2017 capture, certificate expired in 2019: reported, not rejected
        assert record["certificate_not_after"] == datetime(2019, 2, 14, tzinfo=UTC)
        assert record["not_on_or_after"] < NOW

    a = records["saml/aad-saml2-assertion-signed-a.xml"]
    assert a["issue_instant"] == datetime(2017, 3, 20, 15, 52, 31, 957000, tzinfo=UTC)
    assert a["not_before"] == datetime(2017, 3, 20, 15, 47, 31, 957000, tzinfo=UTC)
    assert a["assertion_id"] == "_d60bd9ed-8aab-40c8-ba5f-f548c3401ae2"
    assert a["destination"] is None and a["response_issuer"] is None
    assert len(a["attributes"]) == 7

    altered = records["saml/aad-saml2-assertion-identitymodel.xml"]
    assert_rejected(altered, "altered after signing")


def test_real_wsfed_collection_and_saml11_token(realworld, tmp_path):
    """A RequestSecurityTokenResponseCollection around the real RSTR is read; a SAML 1.1 token is refused."""
    rstr = (realworld / "aad-wsfed-wresult-rstr-saml2.xml").read_text()
    collection = (
        '<t:RequestSecurityTokenResponseCollection xmlns:t="http://docs.oasis-open.org/ws-sx/ws-trust/200512">'
        + rstr.replace("http://schemas.xmlsoap.org/ws/2005/02/trust", "http://docs.oasis-open.org/ws-sx/ws-trust/200512")
        + "</t:RequestSecurityTokenResponseCollection>"
    )
    metadata = load_idp_metadata(realworld / "aad-common-federation-metadata-2017.xml")
    folder = tmp_path / "saml"
    folder.mkdir()
    (folder / "collection.xml").write_text(collection)
    [record] = read_saml_captures(folder, metadata)
    assert record["status"] == "valid", record["reason"]
    assert record["kind"] == "wsfed" and (OID_CLAIM, REAL_OID) in record["attributes"]

    saml11 = (
        '<t:RequestSecurityTokenResponse xmlns:t="http://schemas.xmlsoap.org/ws/2005/02/trust"><t:RequestedSecurityToken>'
        '<saml:Assertion xmlns:saml="urn:oasis:names:tc:SAML:1.0:assertion" AssertionID="_a" MajorVersion="1" '
        'MinorVersion="1"/></t:RequestedSecurityToken></t:RequestSecurityTokenResponse>'
    )
    (folder / "collection.xml").unlink()
    (folder / "saml11.xml").write_text(saml11)
    with pytest.raises(InputError, match=r"SAML 1\.1") as caught:
        list(read_saml_captures(folder, metadata))
    assert caught.value.file == "saml/saml11.xml"


def test_real_common_metadata_has_every_signing_certificate(realworld):
    metadata = load_idp_metadata(realworld / "aad-common-federation-metadata-2017.xml")
    assert metadata.entity_id == "https://sts.windows.net/{tenantid}/"
    assert len(metadata.certificates) == 3
    assert metadata.file == "idp_metadata.xml"
    assert all(" " not in c and "\n" not in c for c in metadata.certificates)


def test_recipe_metadata_dedups_roledescriptor_and_idpsso_keys():
    recipe = Path(__file__).resolve().parent / "fixtures" / "entra_idp_metadata.xml"  # shared/recipes/saml
    metadata = load_idp_metadata(recipe)
    assert metadata.entity_id == "https://sts.windows.net/72f988bf-86f1-41af-91ab-2d7cd011db47/"
    assert len(metadata.certificates) == 1


def test_service_provider_metadata_is_an_input_error(realworld):
    with pytest.raises(InputError, match="SPSSODescriptor") as caught:
        load_idp_metadata(realworld / "aad-msonline-federation-metadata-legacy.xml")
    assert caught.value.file == "idp_metadata.xml"


# --- captures signed at test time ----------------------------------------------------------------


def test_valid_response_with_signed_assertion(keys, tmp_path):
    issued = NOW - timedelta(minutes=2)
    response = response_element([signed_assertion(issued, keys["idp"])], issued)
    record = read_one(tmp_path, "alice.xml", to_bytes(response), [keys["idp"].cert_b64])
    assert record["status"] == "valid" and record["reason"] is None
    assert record["file"] == record["_where"] == "saml/alice.xml"
    assert record["kind"] == "response" and record["signed_element"] == "assertion"
    assert record["response_issuer"] == record["assertion_issuer"] == ENTRA_ISSUER
    assert record["destination"] == ACS and record["recipient"] == ACS
    assert record["in_response_to"] == REQUEST_ID
    assert record["audiences"] == [SP_ENTITY]
    assert record["name_id"] == "alice@contoso.com"
    assert record["name_id_format"] == "urn:oasis:names:tc:SAML:1.1:nameid-format:emailAddress"
    assert oids(record) == [ALICE_OID]
    assert record["attributes"][0] == ("http://schemas.microsoft.com/identity/claims/tenantid",
                                       "72f988bf-86f1-41af-91ab-2d7cd011db47")
    assert record["issue_instant"] == issued.replace(microsecond=issued.microsecond // 1000 * 1000)
    assert record["not_on_or_after"] == record["subject_not_on_or_after"] == record["issue_instant"] + timedelta(
        hours=1, minutes=0) and record["not_before"] == record["issue_instant"] - timedelta(minutes=5)
    assert record["assertion_id"] == response.find(f"{{{SAML}}}Assertion").get("ID")
    assert record["certificate_not_after"] == keys["idp"].not_after


def test_valid_response_signed_as_a_whole(keys, tmp_path):
    response = sign(response_element([assertion_element(NOW)], NOW), keys["idp"])
    assert response.find(f"{{{SAML}}}Assertion").find(f"{{{DS}}}Signature") is None
    record = read_one(tmp_path, "signed-response.xml", to_bytes(response), [keys["idp"].cert_b64])
    assert record["status"] == "valid", record["reason"]
    assert record["signed_element"] == "response"
    assert oids(record) == [ALICE_OID]
    assert record["certificate_not_after"] == keys["idp"].not_after


def test_response_and_assertion_both_signed(keys, tmp_path):
    response = sign(response_element([signed_assertion(NOW, keys["idp"])], NOW), keys["idp"])
    record = read_one(tmp_path, "both.xml", to_bytes(response), [keys["idp"].cert_b64])
    assert record["status"] == "valid", record["reason"]
    assert record["signed_element"] == "assertion"


def test_assertion_signed_by_attacker_inside_response_signed_by_idp_is_rejected(keys, tmp_path):
    """Every signature on the read path must verify, not just one of them."""
    response = sign(response_element([signed_assertion(NOW, keys["attacker"], oid=MALLORY_OID)], NOW), keys["idp"])
    record = read_one(tmp_path, "mixed.xml", to_bytes(response), [keys["idp"].cert_b64])
    assert_rejected(record, "signed by a key that is not in idp_metadata.xml")


def test_base64_form_values(keys, tmp_path):
    xml = to_bytes(response_element([signed_assertion(NOW, keys["idp"])], NOW))
    records = read(tmp_path, {
        "plain.b64": form_value(xml, wrap=76) + "\n",
        "trace.txt": "  \n" + form_value(xml, prefix=True, url_encode=True, wrap=64) + "&RelayState=%2Fteam\n",
        "raw.xml": xml,
    }, [keys["idp"].cert_b64])
    assert "%2B" in form_value(xml, url_encode=True) or "%2F" in form_value(xml, url_encode=True)
    assert [r["status"] for r in records.values()] == ["valid", "valid", "valid"]
    assert list(records) == ["plain.b64", "raw.xml", "trace.txt"]  # sorted by name
    assert records["plain.b64"]["attributes"] == records["trace.txt"]["attributes"] == records["raw.xml"]["attributes"]
    assert oids(records["trace.txt"]) == [ALICE_OID]


def test_attribute_changed_after_signing_is_rejected(keys, tmp_path):
    xml = to_bytes(response_element([signed_assertion(NOW, keys["idp"])], NOW))
    forged = xml.replace(ALICE_OID.encode(), MALLORY_OID.encode())
    assert forged != xml
    record = read_one(tmp_path, "forged.xml", forged, [keys["idp"].cert_b64])
    assert_rejected(record, "altered after signing")


def test_signed_by_a_different_key_is_rejected(keys, tmp_path):
    xml = to_bytes(response_element([signed_assertion(NOW, keys["attacker"])], NOW))
    record = read_one(tmp_path, "other-key.xml", xml, [keys["idp"].cert_b64])
    assert_rejected(record, "signed by a key that is not in idp_metadata.xml")
    assert ENTRA_ISSUER in record["reason"]  # the claimed issuer helps the admin; it is not data


def test_response_from_a_second_idp_is_rejected(keys, tmp_path):
    other = "https://idp.partner.example/saml"
    response = response_element([signed_assertion(NOW, keys["other-idp"], issuer=other, oid=MALLORY_OID)], NOW,
                                issuer=other)
    record = read_one(tmp_path, "second-idp.xml", to_bytes(response), [keys["idp"].cert_b64])
    assert_rejected(record, "signed by a key that is not in idp_metadata.xml")
    assert other in record["reason"]


def test_unsigned_response_is_rejected(keys, tmp_path):
    record = read_one(tmp_path, "unsigned.xml", to_bytes(response_element([assertion_element(NOW)], NOW)),
                      [keys["idp"].cert_b64])
    assert_rejected(record, "not signed")


def _xsw(keys, variant: str) -> bytes:
    """Signature wrapping: the signed original is moved out of the way and an evil assertion is read instead."""
    response = response_element([signed_assertion(NOW, keys["idp"])], NOW)
    original = response.find(f"{{{SAML}}}Assertion")
    evil = deepcopy(original)
    evil.find(f"{{{SAML}}}AttributeStatement/{{{SAML}}}Attribute[@Name='{OID_CLAIM}']/{{{SAML}}}AttributeValue"
              ).text = MALLORY_OID
    signature = evil.find(f"{{{DS}}}Signature")
    if variant == "extensions":  # unsigned evil assertion where the original was; original in Extensions
        evil.remove(signature)
        evil.set("ID", "_evil")
    elif variant == "same-id":  # the evil copy keeps the ID, so the reference would be ambiguous
        evil.remove(signature)
    elif variant == "foreign-reference":  # the evil copy keeps the signature, which still points at the original
        evil.set("ID", "_evil")
    extensions = etree.SubElement(response, f"{{{SAMLP}}}Extensions")
    response.find(f"{{{SAML}}}Issuer").addnext(extensions)
    response.remove(original)
    if variant == "object":  # the original hidden in the copied signature's ds:Object
        evil.set("ID", "_evil")
        obj = etree.SubElement(evil.find(f"{{{DS}}}Signature"), f"{{{DS}}}Object")
        obj.append(original)
        response.remove(extensions)
    else:
        extensions.append(original)
    response.append(evil)
    return to_bytes(response)


@pytest.mark.parametrize(
    ("variant", "reason"),
    [
        ("extensions", "signature wrapping: the assertion read is not signed, but a signed Assertion sits at "
                       "samlp:Response/samlp:Extensions/saml:Assertion"),
        ("same-id", "signature wrapping: ID"),
        ("foreign-reference", "signature wrapping: the Assertion's signature references"),
        ("object", "signature wrapping: the Assertion's ds:Signature contains ds:Object holding an Assertion"),
    ],
)
def test_signature_wrapping_is_rejected(keys, tmp_path, variant, reason):
    record = read_one(tmp_path, f"xsw-{variant}.xml", _xsw(keys, variant), [keys["idp"].cert_b64])
    assert_rejected(record, reason)


def test_two_assertions_are_rejected_even_when_the_response_is_signed(keys, tmp_path):
    response = sign(response_element([assertion_element(NOW), assertion_element(NOW, oid=MALLORY_OID)], NOW),
                    keys["idp"])
    record = read_one(tmp_path, "two.xml", to_bytes(response), [keys["idp"].cert_b64])
    assert_rejected(record, "not exactly one assertion: the Response holds 2 Assertions")


def test_encrypted_assertion_is_rejected(keys, tmp_path):
    response = response_element([], NOW)
    etree.SubElement(response, f"{{{SAML}}}EncryptedAssertion")
    record = read_one(tmp_path, "encrypted.xml", to_bytes(sign(response, keys["idp"])), [keys["idp"].cert_b64])
    assert_rejected(record, "encrypted assertion")


def test_error_response_without_assertion_names_the_status(keys, tmp_path):
    response = response_element([], NOW)
    response.find(f"{{{SAMLP}}}Status/{{{SAMLP}}}StatusCode").set(
        "Value", "urn:oasis:names:tc:SAML:2.0:status:Requester")
    record = read_one(tmp_path, "error.xml", to_bytes(response), [keys["idp"].cert_b64])
    assert_rejected(record, "no assertion")
    assert "status:Requester" in record["reason"]


def test_rollover_any_metadata_certificate_may_verify(keys, tmp_path):
    xml = to_bytes(response_element([signed_assertion(NOW, keys["idp"])], NOW))
    record = read_one(tmp_path, "rollover.xml", xml, [keys["other-idp"].cert_b64, keys["idp"].cert_b64])
    assert record["status"] == "valid", record["reason"]
    assert record["certificate_not_after"] == keys["idp"].not_after


def test_expired_capture_stays_valid_and_reports_its_times(keys, tmp_path):
    issued = datetime(2020, 1, 6, 9, 30, 0, 250000, tzinfo=UTC)
    xml = to_bytes(response_element([signed_assertion(issued, keys["idp"])], issued))
    record = read_one(tmp_path, "old.xml", xml, [keys["idp"].cert_b64])
    assert record["status"] == "valid", record["reason"]
    assert record["issue_instant"] == issued
    assert record["not_before"] == issued - timedelta(minutes=5)
    assert record["not_on_or_after"] == record["subject_not_on_or_after"] == issued + timedelta(hours=1)
    assert record["not_on_or_after"] < NOW
    assert record["in_response_to"] == REQUEST_ID and record["destination"] == ACS


def test_comment_inside_name_id_does_not_truncate_it(keys, tmp_path):
    """A comment splits a text node; reading only the first part would yield another user's name."""
    assertion = assertion_element(NOW, name_id="placeholder")
    name_id = assertion.find(f"{{{SAML}}}Subject/{{{SAML}}}NameID")
    name_id.text = "admin@contoso.com"
    comment = etree.Comment("x")
    comment.tail = ".attacker.example"
    name_id.append(comment)
    record = read_one(tmp_path, "comment.xml", to_bytes(response_element([sign(assertion, keys["idp"])], NOW)),
                      [keys["idp"].cert_b64])
    assert record["status"] == "valid", record["reason"]
    assert record["name_id"] == "admin@contoso.com.attacker.example"


def test_bare_signed_assertion_and_other_suffixes_ignored(keys, tmp_path):
    records = read(tmp_path, {
        "bare.xml": to_bytes(signed_assertion(NOW, keys["idp"])),
        "notes.md": "not a capture",
    }, [keys["idp"].cert_b64])
    assert list(records) == ["bare.xml"]
    assert records["bare.xml"]["kind"] == "assertion" and records["bare.xml"]["status"] == "valid"


# --- input errors --------------------------------------------------------------------------------


def _input_error(tmp_path: Path, name: str, content: bytes | str, keys) -> InputError:
    with pytest.raises(InputError) as caught:
        read(tmp_path, {name: content}, [keys["idp"].cert_b64])
    assert caught.value.file == f"saml/{name}"
    return caught.value


def test_not_base64_is_an_input_error(keys, tmp_path):
    error = _input_error(tmp_path, "broken.b64", "SAMLResponse=this is *not* base64!\n", keys)
    assert "base64" in error.problem


def test_base64_of_something_else_is_an_input_error(keys, tmp_path):
    error = _input_error(tmp_path, "gif.txt", base64.b64encode(b"GIF89a\x01\x00").decode(), keys)
    assert "not to XML" in error.problem


def test_html_page_is_an_input_error(keys, tmp_path):
    html = "<!DOCTYPE html>\n<html><body><form method='post'><input name='SAMLResponse'/></form></body></html>"
    error = _input_error(tmp_path, "login-page.xml", html, keys)
    assert "HTML page" in error.problem


def test_not_xml_is_an_input_error(keys, tmp_path):
    error = _input_error(tmp_path, "garbage.xml", "<samlp:Response>\n<unclosed>", keys)
    assert error.problem.startswith("not XML") and error.where.startswith("line ")


def test_authn_request_is_an_input_error(keys, tmp_path):
    request = f'<samlp:AuthnRequest xmlns:samlp="{SAMLP}" ID="_r" Version="2.0" IssueInstant="2026-01-01T00:00:00Z"/>'
    error = _input_error(tmp_path, "request.xml", request, keys)
    assert "AuthnRequest" in error.problem


@pytest.mark.parametrize("encode", [False, True], ids=["xml", "base64"])
def test_doctype_with_entities_is_refused(keys, tmp_path, encode):
    laughs = (
        '<?xml version="1.0"?>\n<!DOCTYPE r [\n<!ENTITY a "lol">\n<!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;">\n]>\n'
        f'<samlp:Response xmlns:samlp="{SAMLP}" ID="_x">&b;</samlp:Response>'
    )
    name = "laughs.b64" if encode else "laughs.xml"
    error = _input_error(tmp_path, name, form_value(laughs.encode()) if encode else laughs, keys)
    assert "DOCTYPE" in error.problem
    if not encode:
        assert error.where == "line 2"


def test_xxe_is_refused(keys, tmp_path):
    xxe = (
        '<!DOCTYPE r [<!ENTITY x SYSTEM "file:///etc/passwd">]>'
        f'<samlp:Response xmlns:samlp="{SAMLP}">&x;</samlp:Response>'
    )
    assert "DOCTYPE" in _input_error(tmp_path, "xxe.xml", xxe, keys).problem


def test_metadata_without_certificates_is_an_input_error(tmp_path):
    path = tmp_path / "idp_metadata.xml"
    path.write_text(metadata_xml([]))
    with pytest.raises(InputError, match="no signing certificate") as caught:
        load_idp_metadata(path)
    assert caught.value.file == "idp_metadata.xml"


@pytest.mark.parametrize("content", ["this is not xml", "<html><body>sign in</body></html>",
                                     '<EntitiesDescriptor xmlns="urn:oasis:names:tc:SAML:2.0:metadata"/>'])
def test_metadata_that_is_not_metadata_is_an_input_error(tmp_path, content):
    path = tmp_path / "downloaded.xml"
    path.write_text(content)
    with pytest.raises(InputError) as caught:
        load_idp_metadata(path)
    assert caught.value.file == "idp_metadata.xml"


def test_encryption_only_certificates_do_not_count(keys, tmp_path):
    path = tmp_path / "idp_metadata.xml"
    path.write_text(metadata_xml([keys["idp"].cert_b64]).replace('use="signing"', 'use="encryption"'))
    with pytest.raises(InputError, match="no signing certificate"):
        load_idp_metadata(path)


def test_metadata_with_unnamed_use_counts_and_dataclass_is_frozen(keys, tmp_path):
    path = tmp_path / "idp_metadata.xml"
    path.write_text(metadata_xml([keys["idp"].cert_b64]).replace(' use="signing"', ""))
    metadata = load_idp_metadata(path)
    assert metadata.certificates == (keys["idp"].cert_b64,)
    with pytest.raises(AttributeError):
        metadata.entity_id = "x"  # type: ignore[misc]
    assert isinstance(metadata, IdpMetadata)
