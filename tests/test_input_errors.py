"""Malformed exports: a clear error naming file, record and expectation; exit 3; nothing written."""

from __future__ import annotations

import hashlib
import json
import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner
from tenant import Tenant, entra_user, ldif_entry, mm_user, oid

from reconcile.cli import main
from reconcile.paths import sample_dir

SAMPLE_METADATA = sample_dir() / "idp_metadata.xml"  # valid metadata, so the capture is what fails


def _tenant() -> Tenant:
    return Tenant(entra=[entra_user(1), entra_user(2)], mattermost=[mm_user(1), mm_user(2)],
                  ldif=ldif_entry("CN=User1,OU=AADDC Users,DC=contoso,DC=com", userPrincipalName="user1@contoso.com",
                                  msDS_aadObjectId=oid(1)))


def _run(export: Path, out: Path, store: Path):
    return CliRunner().invoke(main, ["audit", "--input-dir", str(export), "--output-dir", str(out),
                                     "--store", str(store), "-q"])


def _sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _breakers():
    """(name, how to break the export dir, words the error must contain)."""
    def write(name, text):
        return lambda d: (d / name).write_text(text, encoding="utf-8")

    def saml_capture(name, text):
        def breaker(d):
            (d / "saml").mkdir()
            (d / "saml" / name).write_text(text)
            shutil.copy(SAMPLE_METADATA, d)
        return breaker

    def users_json(users):
        return write("entra_users.json", json.dumps({"value": users}))

    return [
        ("bad json", write("entra_users.json", '{"value": [\n {"id": "x",\n}'),
         ["entra_users.json", "line 3", "invalid JSON"]),
        ("user without id", users_json([entra_user(1), {"userPrincipalName": "a@contoso.com"}]),
         ["entra_users.json", "value[1]", "missing 'id'"]),
        ("id not a guid", users_json([entra_user(1, id="not-a-guid")]),
         ["entra_users.json", "value[0]", "'not-a-guid'", "GUID"]),
        ("duplicate id", users_json([entra_user(1), entra_user(1)]),
         ["entra_users.json", "value[0] and value[1]", "more than once"]),
        ("mm user without id", write("mattermost_users.json", json.dumps([{"username": "x"}])),
         ["mattermost_users.json", "record 1", "missing 'id'"]),
        ("mm single object", write("mattermost_users.json", json.dumps(mm_user(1))),
         ["mattermost_users.json", "expected a JSON array"]),
        ("mm delete_at text", write("mattermost_users.json", json.dumps([mm_user(1, delete_at="yesterday")])),
         ["mattermost_users.json", "record 1", "delete_at"]),
        ("aad object id not a guid",
         write("ldap_users.ldif", "dn: CN=A,DC=contoso,DC=com\nmsDS-aadObjectId: 12345\n\n"),
         ["ldap_users.ldif", "line 1", "msDS-aadObjectId", "expected a GUID"]),
        ("objectguid wrong length", write("ldap_users.ldif", "dn: CN=A,DC=contoso,DC=com\nobjectGUID:: AAEC\n\n"),
         ["ldap_users.ldif", "objectGUID", "16 bytes"]),
        ("truncated ldif", write("ldap_users.ldif", "dn: CN=A,DC=contoso,DC=com\nobjectGUID:: Hrz/HqNKnU+lC"),
         ["ldap_users.ldif", "line 2", "truncated"]),
        ("ldif cut before its trailer", write("ldap_users.ldif", "# extended LDIF\n#\n\ndn: CN=A,DC=contoso,DC=com\n"
                                              "cn: A\n\n# search result\nsearch: 2"),
         ["ldap_users.ldif", "'result:' line", "truncated"]),
        ("size limited ldapsearch", write("ldap_users.ldif",
         "# extended LDIF\n#\n\ndn: CN=A,DC=contoso,DC=com\ncn: A\n\n# search result\nsearch: 2\n"
         "result: 4 Size limit exceeded\n\n"), ["ldap_users.ldif", "Size limit exceeded"]),
        ("config not an object", write("mattermost_config.json", "[]"),
         ["mattermost_config.json", "expected a JSON object"]),
        ("config without settings", write("mattermost_config.json", '{"foo": 1}'),
         ["mattermost_config.json", "Settings"]),
        ("license without IsLicensed", write("mattermost_license.json", '{"SkuShortName": "advanced"}'),
         ["mattermost_license.json", "IsLicensed"]),
        ("group file not named by guid",
         lambda d: ((d / "entra_groups").mkdir(),
                    (d / "entra_groups" / "mobile-users.json").write_text('{"value": []}')),
         ["entra_groups/mobile-users.json", "<group-object-id>.json"]),
        ("empty json", write("mattermost_config.json", ""), ["mattermost_config.json", "empty"]),
        ("csv bad boolean", lambda d: ((d / "entra_users.json").unlink(), (d / "entra_users.csv").write_text(
            "objectId,userPrincipalName,accountEnabled\n" + oid(1) + ",a@contoso.com,maybe\n")),
         ["entra_users.csv", "line 2", "accountEnabled", "'maybe'"]),
        ("csv without objectId", lambda d: ((d / "entra_users.json").unlink(), (d / "entra_users.csv").write_text(
            "userPrincipalName,mail\na@contoso.com,a@contoso.com\n")), ["entra_users.csv", "objectId"]),
        ("saml capture not base64", saml_capture("trace.b64", "%%% not base64 %%%"), ["saml/trace.b64", "base64"]),
        ("saml capture not xml", saml_capture("page.xml", "Sign in failed"), ["saml/page.xml", "XML"]),
        ("idp metadata without certificates", lambda d: (d / "idp_metadata.xml").write_text(
            '<EntityDescriptor xmlns="urn:oasis:names:tc:SAML:2.0:metadata" entityID="x"/>'),
         ["idp_metadata.xml", "certificate"]),
        ("token line not a jwt", write("msal_tokens.txt", "# tokens\neyJ0eXAiOiJKV1QifQ\n"),
         ["msal_tokens.txt", "line 2", "expected a JWT"]),
        ("application without appId", write("entra_application.json", '{"displayName": "x"}'),
         ["entra_application.json", "appId"]),
    ]


@pytest.mark.parametrize(("name", "breaker", "words"), _breakers(), ids=[b[0] for b in _breakers()])
def test_bad_input_stops_with_exit_3_and_changes_nothing(tmp_path, name, breaker, words):
    export = _tenant().write(tmp_path / "export")
    store = tmp_path / "store.duckdb"
    first = _run(export, tmp_path / "first", store)
    assert first.exit_code == 0, first.output
    before = _sha(store)

    breaker(export)
    out = tmp_path / "second"
    result = _run(export, out, store)

    assert result.exit_code == 3, result.output
    for word in words:
        assert word in result.output, f"{word!r} missing from: {result.output}"
    assert "Traceback" not in result.output
    assert not out.exists(), "no report may be written for a bad input"
    assert _sha(store) == before, "the store must not change"


def test_bad_input_on_first_run_creates_no_store(tmp_path):
    export = _tenant().write(tmp_path / "export")
    (export / "entra_users.json").write_text("{", encoding="utf-8")
    result = _run(export, tmp_path / "out", tmp_path / "store.duckdb")
    assert result.exit_code == 3
    assert not (tmp_path / "store.duckdb").exists()
