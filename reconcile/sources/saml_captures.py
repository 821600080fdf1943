"""The SAML source: signed captures in ``saml/`` checked against ``idp_metadata.xml``.

Only validly signed assertions contribute identity data; a capture that fails verification is
kept as rejected (SAML_SIGNATURE_INVALID), never read for claims. Signature checks are Python's
work (python3-saml / xmlsec, reconcile.sources.saml), so the claims of the few captures are
projected here too.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator

import duckdb

from reconcile import identifiers as ids
from reconcile.sources.base import InputInfo, RunContext
from reconcile.sources.records import lower
from reconcile.store import load_rows

SAML_DIR = "saml"
IDP_METADATA = "idp_metadata.xml"
SAML_SUFFIXES = (".xml", ".b64", ".txt")

CLAIMS = "http://schemas.xmlsoap.org/ws/2005/05/identity/claims"
MS_CLAIMS = "http://schemas.microsoft.com/identity/claims"
SAML_CLAIM_URIS = {
    "objectidentifier": ids.OBJECTIDENTIFIER_CLAIM,
    "tenantid": f"{MS_CLAIMS}/tenantid",
    "name": f"{CLAIMS}/name",
    "emailaddress": f"{CLAIMS}/emailaddress",
    "upn": f"{CLAIMS}/upn",
    "immutableid": "http://schemas.microsoft.com/LiveID/Federation/2008/05/ImmutableID",
}
SAML_ASSERTION_COLUMNS = (
    "file", "kind", "signed_element", "response_issuer", "assertion_issuer", "destination", "in_response_to",
    "recipient", "audiences", "not_before", "not_on_or_after", "subject_not_on_or_after", "issue_instant",
    "certificate_not_after", "name_id", "name_id_format", "objectidentifier", "objectidentifier_norm", "tenantid",
    "claim_name", "claim_name_lower", "emailaddress_lower", "upn_lower", "immutableid", "id_attribute_value",
    "source_ref",
)
SAML_ATTRIBUTE_COLUMNS = ("file", "name", "value")
SAML_REJECTED_COLUMNS = ("file", "reason")


def saml_rows(records: Iterable[dict], id_attribute: str | None,
              ) -> Iterator[tuple[str, tuple, list[tuple]]]:
    """("valid", assertion row, attribute rows) or ("invalid", rejected row, []) per capture file.

    Claims are looked up by their exact name, as Mattermost does: a claim sent under another name
    is not the claim (SAML_IDATTRIBUTE_NOT_SENT reads saml_attributes to say so).
    """
    for rec in records:
        if rec["status"] != "valid":
            yield "invalid", (rec["file"], rec.get("reason") or "rejected"), []
            continue
        first: dict[str, str] = {}
        for name, value in rec["attributes"]:
            first.setdefault(name, value)
        claim = {key: first.get(uri) for key, uri in SAML_CLAIM_URIS.items()}
        row = (
            rec["file"], rec.get("kind"), rec.get("signed_element"), rec.get("response_issuer"),
            rec.get("assertion_issuer"), rec.get("destination"), rec.get("in_response_to"), rec.get("recipient"),
            " ".join(rec.get("audiences") or []) or None, rec.get("not_before"), rec.get("not_on_or_after"),
            rec.get("subject_not_on_or_after"), rec.get("issue_instant"), rec.get("certificate_not_after"),
            rec.get("name_id"), rec.get("name_id_format"), claim["objectidentifier"],
            ids.parse_guid(claim["objectidentifier"]), claim["tenantid"], claim["name"], lower(claim["name"]),
            lower(claim["emailaddress"]), lower(claim["upn"]), claim["immutableid"],
            first.get(id_attribute) if id_attribute else None, rec.get("_where"),
        )
        yield "valid", row, [(rec["file"], name, value) for name, value in rec["attributes"]]


class SamlSource:
    name = "saml"
    inputs = ("saml_metadata", "saml")
    tables = ("saml_metadata", "saml_assertions", "saml_attributes", "saml_rejected")

    def land(self, con: duckdb.DuckDBPyConnection, ctx: RunContext) -> list[InputInfo]:
        folder, metadata_path = ctx.input_dir / SAML_DIR, ctx.input_dir / IDP_METADATA
        files = sorted(p for p in folder.iterdir() if p.suffix.lower() in SAML_SUFFIXES) if folder.is_dir() else []
        if not metadata_path.is_file():
            note = f"no {IDP_METADATA}" + (f": the {len(files)} capture(s) in {SAML_DIR}/ cannot be verified and "
                                           "were not read" if files else "")
            return [InputInfo("saml_metadata", False, note=note), InputInfo("saml", False, note=note)]
        from reconcile.sources.saml import load_idp_metadata, read_saml_captures  # xmlsec: only when needed

        metadata = load_idp_metadata(metadata_path)
        load_rows(con, "saml_metadata", ("file", "entity_id", "certificate_count"),
                  [(IDP_METADATA, metadata.entity_id, len(metadata.certificates))])
        meta_info = InputInfo("saml_metadata", True, IDP_METADATA, 1)
        if not files:
            return [meta_info, InputInfo("saml", False, note=f"no captures in {SAML_DIR}/")]
        settings = (ctx.config or {}).get("SamlSettings")
        id_attribute = settings.get("IdAttribute") if isinstance(settings, dict) else None
        attributes: list[tuple] = []
        rejected: list[tuple] = []

        def valid_rows() -> Iterator[tuple]:
            for status, row, attrs in saml_rows(read_saml_captures(folder, metadata), id_attribute or None):
                if status == "valid":
                    attributes.extend(attrs)
                    yield row
                else:
                    rejected.append(row)

        valid = load_rows(con, "saml_assertions", SAML_ASSERTION_COLUMNS, valid_rows())
        load_rows(con, "saml_attributes", SAML_ATTRIBUTE_COLUMNS, attributes)
        load_rows(con, "saml_rejected", SAML_REJECTED_COLUMNS, rejected)
        note = f"{len(rejected)} capture(s) rejected (SAML_SIGNATURE_INVALID)" if rejected else None
        return [meta_info, InputInfo("saml", True, f"{SAML_DIR}/ ({valid + len(rejected)} files)", valid, note)]
