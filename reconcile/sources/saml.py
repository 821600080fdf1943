"""Reader for captured SAML sign-ins and the IdP federation metadata that vouches for them.

A capture says which objectidentifier (and NameID, UPN, email) the IdP sends for a person, and the
audit compares that with Entra, Mattermost and LDAP. Whoever can write a file into ``saml/`` could
also write any objectidentifier into it, so a capture counts as evidence only if the IdP's own key
signed the very assertion we read. Everything else comes out as ``status: "invalid"`` with a
reason and no identity data; the caller turns that into a SAML_SIGNATURE_INVALID finding.

Why xmlsec directly rather than python3-saml's ``OneLogin_Saml2_Response``:

* captures are old by nature. python3-saml's strict mode fails them on time conditions,
  ``InResponseTo`` and ``Destination``, which the audit must report rather than reject; its
  non-strict mode skips exactly the checks we want to keep.
* real Entra artifacts include a bare ``Assertion`` and a WS-Federation ``RequestSecurityTokenResponse``.
  python3-saml only looks for signatures under a ``samlp:Response`` root, and its ``validate_node_sign``
  neither registers ``ID`` attributes nor accepts a bare base64 certificate, so it reports the real
  Azure AD assertions as failing although they verify (see ../shared/realworld/README.md).
* python3-saml's metadata parser reads the IDPSSODescriptor only; Entra also publishes signing keys
  in its WS-Federation RoleDescriptors.

The structural rules that make an xmlsec "verified" mean "this assertion is authentic" (enveloped
signature on the element itself, reference to that element's own unique ID, only c14n transforms,
identity read only from the covered assertion) are the defences against signature wrapping; they
are written out in :func:`_verify_signature` and :func:`_covered_assertion`.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import unquote

import xmlsec
from lxml import etree

from reconcile.errors import InputError
from reconcile.sources.export_paths import display_name

SAMLP = "urn:oasis:names:tc:SAML:2.0:protocol"
SAML = "urn:oasis:names:tc:SAML:2.0:assertion"
DS = "http://www.w3.org/2000/09/xmldsig#"
MD = "urn:oasis:names:tc:SAML:2.0:metadata"
XML_NS = "http://www.w3.org/XML/1998/namespace"
SAML1 = "urn:oasis:names:tc:SAML:1.0:assertion"
SAML1P = "urn:oasis:names:tc:SAML:1.0:protocol"
# WS-Trust as Entra's WS-Federation endpoint writes it (February 2005), and WS-Trust 1.3.
WST_NAMESPACES = ("http://schemas.xmlsoap.org/ws/2005/02/trust", "http://docs.oasis-open.org/ws-sx/ws-trust/200512")

CAPTURE_SUFFIXES = (".xml", ".b64", ".txt")
_BASE64_SUFFIXES = (".b64", ".txt")

_ENVELOPED = "http://www.w3.org/2000/09/xmldsig#enveloped-signature"
# Canonicalisations a SAML signature may use (SAML core 5.4.3/5.4.4: exclusive c14n; inclusive is legal
# but rare). Comments are dropped by the plain forms; with the #WithComments forms they are signed too.
# Either way identity text is read as the XPath string value, which skips comments, so the NameID
# comment-truncation trick does not shorten what we read.
_C14N = frozenset({
    "http://www.w3.org/2001/10/xml-exc-c14n#",
    "http://www.w3.org/2001/10/xml-exc-c14n#WithComments",
    "http://www.w3.org/TR/2001/REC-xml-c14n-20010315",
    "http://www.w3.org/TR/2001/REC-xml-c14n-20010315#WithComments",
})
_TRANSFORMS = _C14N | {_ENVELOPED}
_SIGNATURE_CHILDREN = {f"{{{DS}}}SignedInfo", f"{{{DS}}}SignatureValue", f"{{{DS}}}KeyInfo"}

_DATETIME_RE = re.compile(
    r"\s*(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})(?:\.(\d+))?(Z|[+-]\d{2}:\d{2})?\s*"
)
_DOCTYPE_RE = re.compile(rb"<!DOCTYPE|<!ENTITY", re.IGNORECASE)
_ELEMENT_START = re.compile(rb"<[^?!]")  # the root element's start tag: the prolog ends there
_HTML_RE = re.compile(rb"\s*(<!DOCTYPE\s+html|<html)", re.IGNORECASE)
_BASE64_CHARS = re.compile(r"[^A-Za-z0-9+/=]")


@dataclass(frozen=True)
class IdpMetadata:
    """What a capture's signature is checked against: the IdP's identity and all its signing certificates."""

    entity_id: str | None  # EntityDescriptor/@entityID; Entra's common metadata says https://sts.windows.net/{tenantid}/
    certificates: tuple[str, ...]  # base64 DER without whitespace, in document order, deduplicated
    file: str


class _Rejected(Exception):
    """A capture that parses but cannot count as evidence; the message is the record's reason."""


# --- metadata ------------------------------------------------------------------------------------


def load_idp_metadata(path: Path, display_name: str = "idp_metadata.xml") -> IdpMetadata:
    """Read the IdP's federation metadata: entityID and every signing certificate it publishes.

    During a certificate rollover Entra publishes the old and the new certificate side by side, and a
    capture may be signed by either, so every certificate is kept. Certificates come from the SAML
    IDPSSODescriptor and from the WS-Federation RoleDescriptors (where Entra lists the same keys), with
    ``use="signing"`` or no ``use``. The metadata's own ``ds:Signature`` is not a source of keys: its
    KeyInfo only says who signed the metadata file.
    """
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise InputError(display_name, None, f"cannot be read: {exc.strerror or exc}") from exc
    root = _parse_xml(data, display_name)
    if root.tag == f"{{{MD}}}EntitiesDescriptor":
        entities = root.findall(f".//{{{MD}}}EntityDescriptor")
        if len(entities) != 1:
            raise InputError(
                display_name, None,
                f"expected the metadata of one IdP, but the EntitiesDescriptor holds {len(entities)} "
                "EntityDescriptors; save Entra's FederationMetadata.xml for the one tenant on its own",
            )
        root = entities[0]
    if root.tag != f"{{{MD}}}EntityDescriptor":
        raise InputError(
            display_name, f"line {root.sourceline}",
            f"expected SAML 2.0 federation metadata (an md:EntityDescriptor), found {_qname(root)}; download it "
            "from the Entra enterprise application's 'Federation Metadata XML' link",
        )
    certificates: list[str] = []
    for role in root:
        if role.tag not in (f"{{{MD}}}IDPSSODescriptor", f"{{{MD}}}RoleDescriptor"):
            continue
        for key in role.findall(f"{{{MD}}}KeyDescriptor"):
            if key.get("use") not in (None, "signing"):
                continue
            for node in key.findall(f"{{{DS}}}KeyInfo/{{{DS}}}X509Data/{{{DS}}}X509Certificate"):
                cert = _metadata_certificate(node, display_name)
                if cert not in certificates:
                    certificates.append(cert)
    if not certificates:
        hint = ""
        if root.find(f"{{{MD}}}SPSSODescriptor") is not None and root.find(f"{{{MD}}}IDPSSODescriptor") is None:
            hint = " (this is a service provider's metadata: it has an SPSSODescriptor and no IDPSSODescriptor)"
        raise InputError(
            display_name, None,
            "has no signing certificate in an IDPSSODescriptor or WS-Federation RoleDescriptor, so no capture "
            f"could be verified{hint}; use the IdP's FederationMetadata.xml",
        )
    return IdpMetadata(root.get("entityID"), tuple(certificates), display_name)


def _metadata_certificate(node: etree._Element, file: str) -> str:
    """One certificate as base64 without whitespace, after checking that xmlsec can load it."""
    text = "".join(node.xpath("string()").split())
    where = f"line {node.sourceline}"
    try:
        der = base64.b64decode(text, validate=True)
    except binascii.Error as exc:
        raise InputError(file, where, f"X509Certificate is not base64 ({exc})") from exc
    try:
        xmlsec.Key.from_memory(der, xmlsec.constants.KeyDataFormatCertDer)
    except xmlsec.Error as exc:
        raise InputError(file, where, f"X509Certificate is not an X.509 certificate ({exc})") from exc
    return text


# --- captures ------------------------------------------------------------------------------------


def read_saml_captures(
    directory: Path, metadata: IdpMetadata, display_prefix: str = "saml"
) -> Iterator[dict]:
    """Yield one record per capture file (``*.xml``, ``*.b64``, ``*.txt``, sorted by name).

    ``status`` is ``"valid"`` only when the assertion read is covered by a signature that verifies with a
    metadata certificate; otherwise ``"invalid"`` with a ``reason`` and every data field empty, so that no
    unauthenticated value can reach a rule. Time conditions, ``InResponseTo``, ``Destination`` and the
    certificate's expiry never invalidate a capture (old captures are the normal case); their values are
    returned for the caller to report: validity never depends on the clock.

    A file that is not base64 (where base64 is expected), not XML, not one of the accepted shapes, or that
    carries a DOCTYPE raises InputError: that is a broken export, not a suspicious sign-in.
    """
    files = sorted(
        (p for p in directory.iterdir() if p.is_file() and p.suffix.lower() in CAPTURE_SUFFIXES),
        key=lambda p: p.name,
    )
    for path in files:
        yield _read_capture(path, f"{display_prefix}/{display_name(path.name)}", metadata)


def _read_capture(path: Path, file: str, metadata: IdpMetadata) -> dict:
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise InputError(file, None, f"cannot be read: {exc.strerror or exc}") from exc
    if path.suffix.lower() in _BASE64_SUFFIXES:
        data = _decode_form_value(data, file)
    root = _parse_xml(data, file)
    kind = _kind(root, file)
    record = _empty_record(file, kind)
    try:
        assertion, signed_element, der = _covered_assertion(root, kind, metadata)
    except _Rejected as exc:
        record["reason"] = str(exc)
        return record
    record.update(_extract(root, kind, assertion, file))
    record.update(status="valid", signed_element=signed_element, certificate_not_after=_der_not_after(der))
    return record


def _empty_record(file: str, kind: str) -> dict:
    return {
        "file": file, "_where": file, "status": "invalid", "reason": None, "kind": kind, "signed_element": None,
        "response_issuer": None, "assertion_issuer": None, "destination": None, "in_response_to": None,
        "recipient": None, "audiences": [], "not_before": None, "not_on_or_after": None,
        "subject_not_on_or_after": None, "issue_instant": None, "assertion_id": None, "name_id": None,
        "name_id_format": None, "attributes": [], "certificate_not_after": None,
    }


def _decode_form_value(raw: bytes, file: str) -> bytes:
    """The ``SAMLResponse`` form value as browser tools copy it, back to the XML bytes it carries.

    Tolerated: surrounding whitespace and line breaks, a leading ``SAMLResponse=`` (and any ``&RelayState=``
    after it), and URL-encoding (``%2B``, ``%2F``, ``%3D``). A literal ``+`` stays ``+``: in a captured base64
    value it is far more likely base64 than a form-encoded space.
    """
    try:
        text = raw.decode("utf-8-sig").strip()
    except UnicodeDecodeError as exc:
        raise InputError(file, None, "expected the base64 SAMLResponse value, but the file is not text") from exc
    if text.startswith("<"):
        raise InputError(
            file, None, "expected the base64 SAMLResponse value, but this looks like XML; name the file .xml"
        )
    if text[:13].lower() == "samlresponse=":
        text = text[13:]
    compact = "".join(text.split("&", 1)[0].split())  # line breaks first: a trace may wrap inside %2B
    if "%" in compact:
        compact = unquote(compact)
    bad = _BASE64_CHARS.search(compact)
    if bad or not compact:
        detail = f"character {bad.group()!r} is not base64" if bad else "the file is empty"
        raise InputError(file, None, f"expected the base64 SAMLResponse value: {detail}")
    try:
        data = base64.b64decode(compact, validate=True)
    except binascii.Error as exc:
        raise InputError(file, None, f"expected the base64 SAMLResponse value: {exc}") from exc
    if not data.lstrip(b"\xef\xbb\xbf \t\r\n").startswith(b"<"):
        raise InputError(file, None, "the base64 value decodes, but not to XML; expected a SAML Response")
    return data


def _parse_xml(data: bytes, file: str) -> etree._Element:
    """Parse untrusted XML without DTDs, entities or network access, keeping the bytes as they were.

    Any DOCTYPE is refused rather than ignored: SAML never uses one, and it is how XXE and entity
    expansion (billion laughs) attacks arrive. Whitespace and comments are kept, because the signature
    is verified over the document exactly as parsed.
    """
    if _HTML_RE.match(data):
        raise InputError(
            file, None,
            "is an HTML page, not a SAML Response; save the SAMLResponse form value the page posts, "
            "or the decoded XML",
        )
    root_start = _ELEMENT_START.search(data)
    match = _DOCTYPE_RE.search(data, 0, root_start.start() if root_start else len(data))
    if match:
        line = data.count(b"\n", 0, match.start()) + 1
        raise InputError(file, f"line {line}", _DTD_REFUSED)
    parser = etree.XMLParser(
        resolve_entities=False, no_network=True, load_dtd=False, dtd_validation=False, huge_tree=False
    )
    try:
        root = etree.fromstring(data, parser)
    except etree.XMLSyntaxError as exc:
        where = f"line {exc.lineno}" if exc.lineno else None
        raise InputError(file, where, f"not XML: {exc.msg}") from exc
    docinfo = root.getroottree().docinfo
    if docinfo.doctype or docinfo.internalDTD is not None:  # e.g. UTF-16, where the byte search above is blind
        raise InputError(file, None, _DTD_REFUSED)
    return root


_DTD_REFUSED = (
    "has a DOCTYPE or entity declaration; SAML documents never do, and they are how XXE and "
    "entity-expansion attacks arrive, so the file is refused"
)


def _kind(root: etree._Element, file: str) -> str:
    """The capture's shape; anything else is not a SAML sign-in and stops the run as an input error."""
    if root.tag == f"{{{SAMLP}}}Response":
        return "response"
    if root.tag == f"{{{SAML}}}Assertion":
        return "assertion"
    if etree.QName(root).namespace in WST_NAMESPACES and etree.QName(root).localname in (
        "RequestSecurityTokenResponse", "RequestSecurityTokenResponseCollection",
    ):
        saml1 = [t for t in _wsfed_tokens(root) if etree.QName(t).namespace == SAML1]
        if saml1:
            raise InputError(
                file, f"line {saml1[0].sourceline}",
                "the WS-Federation token is a SAML 1.1 assertion; expected SAML 2.0 (capture a SAML sign-in instead)",
            )
        return "wsfed"
    if root.tag == f"{{{SAMLP}}}AuthnRequest":
        problem = "is a SAML AuthnRequest (what the service provider sends); capture the IdP's SAMLResponse"
    elif etree.QName(root).namespace in (SAML1, SAML1P):
        problem = "is a SAML 1.1 document; expected SAML 2.0"
    elif etree.QName(root).localname.lower() == "html":
        problem = "is an HTML page, not a SAML Response; save the SAMLResponse form value the page posts"
    else:
        problem = (
            f"the root element is {_qname(root)}; expected a SAML 2.0 samlp:Response, a saml:Assertion or a "
            "WS-Federation RequestSecurityTokenResponse"
        )
    raise InputError(file, f"line {root.sourceline}", problem)


# --- signature checks ----------------------------------------------------------------------------


def _covered_assertion(
    root: etree._Element, kind: str, metadata: IdpMetadata
) -> tuple[etree._Element, str, bytes]:
    """The one assertion whose content a verified signature covers, which element was signed, and the key.

    Every ``ds:Signature`` that sits directly in the Response or in the assertion must verify; at least one
    must be there. Signatures anywhere else are never trusted: they are what signature wrapping relies on.
    """
    _check_unique_ids(root)
    xmlsec.tree.add_ids(root, ["ID"])
    if kind == "response":
        assertion = _response_assertion(root)
        candidates = [("response", root), ("assertion", assertion)]
    elif kind == "assertion":
        assertion = root
        candidates = [("assertion", root)]
    else:
        assertion = _wsfed_assertion(root)
        candidates = [("assertion", assertion)]
    verified: dict[str, bytes] = {}
    for label, element in candidates:
        signatures = element.findall(f"{{{DS}}}Signature")
        if len(signatures) > 1:
            raise _Rejected(f"signature wrapping: the {_label(label)} holds {len(signatures)} ds:Signature elements")
        if signatures:
            verified[label] = _verify_signature(signatures[0], element, label, metadata)
    if not verified:
        raise _Rejected(_unsigned_reason(root, assertion))
    signed = "assertion" if "assertion" in verified else "response"
    return assertion, signed, verified[signed]


def _check_unique_ids(root: etree._Element) -> None:
    """Refuse documents where an ID names two elements: then a reference may resolve to either."""
    seen: dict[str, int] = {}
    for element in root.iter(tag=etree.Element):
        for name, value in element.attrib.items():
            if etree.QName(name).localname == "ID" or name == f"{{{XML_NS}}}id":
                seen[value] = seen.get(value, 0) + 1
    duplicates = [value for value, count in seen.items() if count > 1]
    if duplicates:
        raise _Rejected(
            f"signature wrapping: ID {duplicates[0]!r} is used by {seen[duplicates[0]]} elements, so a signature "
            "reference to it is ambiguous"
        )


def _response_assertion(response: etree._Element) -> etree._Element:
    """The single Assertion directly inside the Response; anything else is refused with the reason."""
    if response.find(f"{{{SAML}}}EncryptedAssertion") is not None:
        raise _Rejected(
            "encrypted assertion: the Response carries a saml:EncryptedAssertion, which this audit cannot read; "
            "capture with token encryption turned off for the test sign-in"
        )
    assertions = response.findall(f"{{{SAML}}}Assertion")
    if len(assertions) > 1:
        raise _Rejected(
            f"not exactly one assertion: the Response holds {len(assertions)} Assertions; a Response carries one, "
            "and with several it is not clear which one the service provider would read"
        )
    if not assertions:
        status = response.find(f"{{{SAMLP}}}Status/{{{SAMLP}}}StatusCode")
        code = status.get("Value") if status is not None else None
        message = response.find(f"{{{SAMLP}}}Status/{{{SAMLP}}}StatusMessage")
        detail = f"; the IdP answered with status {code}" if code else ""
        if message is not None and message.xpath("string()").strip():
            detail += f" ({message.xpath('string()').strip()})"
        elsewhere = list(response.iter(f"{{{SAML}}}Assertion"))
        if elsewhere:
            detail += f"; an Assertion sits at {_path(elsewhere[0])}, where a Response's assertion never is"
        raise _Rejected(f"no assertion: the Response has no Assertion directly inside it{detail}")
    return assertions[0]


def _wsfed_tokens(root: etree._Element) -> list[etree._Element]:
    """The elements inside each RequestedSecurityToken of a WS-Federation response (or collection)."""
    responses = [root] if etree.QName(root).localname == "RequestSecurityTokenResponse" else [
        child for child in root.iterchildren(tag=etree.Element)
        if etree.QName(child).localname == "RequestSecurityTokenResponse"
    ]
    return [
        token
        for rstr in responses
        for holder in rstr.iterchildren(tag=etree.Element)
        if etree.QName(holder).localname == "RequestedSecurityToken"
        for token in holder.iterchildren(tag=etree.Element)
    ]


def _wsfed_assertion(root: etree._Element) -> etree._Element:
    """The one SAML 2.0 Assertion in the RequestedSecurityToken of a WS-Federation response."""
    tokens = _wsfed_tokens(root)
    if any(t.tag == f"{{{SAML}}}EncryptedAssertion" for t in tokens):
        raise _Rejected("encrypted assertion: the WS-Federation token is a saml:EncryptedAssertion, which this "
                        "audit cannot read")
    assertions = [t for t in tokens if t.tag == f"{{{SAML}}}Assertion"]
    if len(assertions) != 1:
        raise _Rejected(
            f"not exactly one assertion: the WS-Federation response carries {len(assertions)} SAML 2.0 Assertions "
            "in RequestedSecurityToken; expected one"
        )
    return assertions[0]


def _verify_signature(signature: etree._Element, parent: etree._Element, label: str, metadata: IdpMetadata) -> bytes:
    """Check the signature's shape, then verify it with each metadata certificate; return the DER that verified.

    The shape rules are what tie "xmlsec says valid" to "this parent element is authentic": one Reference,
    to ``#`` + the parent's own ID (so the signed content is the element we read, not a copy elsewhere),
    and only enveloped-signature and c14n transforms (XPath or XSLT transforms could sign a selection
    of the document instead of all of it).
    """
    name = _label(label)
    parent_id = parent.get("ID")
    if not parent_id:
        raise _Rejected(f"unsupported signature: the {name} has a ds:Signature but no ID attribute to sign")
    extra = [c for c in signature if isinstance(c.tag, str) and c.tag not in _SIGNATURE_CHILDREN]
    if extra:
        hidden = any(e.tag == f"{{{SAML}}}Assertion" for c in extra for e in c.iter())
        prefix = "signature wrapping" if hidden else "unsupported signature"
        raise _Rejected(
            f"{prefix}: the {name}'s ds:Signature contains {_qname(extra[0])}"
            + (" holding an Assertion" if hidden else "") + "; a SAML signature is enveloped and has no such part"
        )
    signed_info = signature.findall(f"{{{DS}}}SignedInfo")
    if len(signed_info) != 1:
        raise _Rejected(f"unsupported signature: the {name}'s ds:Signature has {len(signed_info)} SignedInfo elements")
    c14n = signed_info[0].find(f"{{{DS}}}CanonicalizationMethod")
    if c14n is None or c14n.get("Algorithm") not in _C14N:
        algorithm = None if c14n is None else c14n.get("Algorithm")
        raise _Rejected(f"unsupported signature: the {name}'s SignedInfo canonicalisation {algorithm!r} is not c14n")
    references = signed_info[0].findall(f"{{{DS}}}Reference")
    if len(references) != 1:
        raise _Rejected(
            f"unsupported signature: the {name}'s signature has {len(references)} References; expected exactly one, "
            f"to the {name} itself"
        )
    uri = references[0].get("URI")
    if uri != f"#{parent_id}":
        raise _Rejected(
            f"signature wrapping: the {name}'s signature references {uri!r}, not the {name} it sits in "
            f"('#{parent_id}'), so it does not vouch for what is read"
        )
    for transform in references[0].findall(f"{{{DS}}}Transforms/{{{DS}}}Transform"):
        if transform.get("Algorithm") not in _TRANSFORMS:
            raise _Rejected(
                f"unsupported signature: transform {transform.get('Algorithm')!r} in the {name}'s signature; only "
                "enveloped-signature and c14n are accepted"
            )
    errors: list[str] = []
    for cert in metadata.certificates:
        der = base64.b64decode(cert)
        outcome = _xmlsec_verify(signature, der)
        if outcome is None:
            return der
        errors.append(outcome)
    if "invalid" not in errors:  # no certificate got as far as comparing: the signature itself is the problem
        detail = errors[0]
        raise _Rejected(f"unsupported signature: xmlsec could not process the {name}'s signature ({detail})")
    raise _Rejected(_mismatch_reason(signature, parent, name, metadata))


def _xmlsec_verify(signature: etree._Element, der: bytes) -> str | None:
    """None if the signature verifies with this certificate's key, else "invalid" or xmlsec's complaint."""
    ctx = xmlsec.SignatureContext()
    try:
        ctx.key = xmlsec.Key.from_memory(der, xmlsec.constants.KeyDataFormatCertDer)
    except xmlsec.Error as exc:
        return f"cannot load certificate: {exc}"
    try:
        ctx.verify(signature)
    except xmlsec.VerificationError:
        return "invalid"
    except xmlsec.Error as exc:
        return str(exc)
    return None


def _mismatch_reason(signature: etree._Element, parent: etree._Element, name: str, metadata: IdpMetadata) -> str:
    """Tell "signed by someone else" from "altered after signing", using the certificate the capture carries.

    The embedded certificate is never trusted; it only lets the reason say which of the two happened,
    and its thumbprint is what the Entra portal shows for a SAML signing certificate.
    """
    count = len(metadata.certificates)
    known = {base64.b64decode(c) for c in metadata.certificates}
    issuer = parent.find(f"{{{SAML}}}Issuer")
    claims = f"; it claims issuer {issuer.xpath('string()').strip()!r}" if issuer is not None else ""
    for node in signature.findall(f"{{{DS}}}KeyInfo/{{{DS}}}X509Data/{{{DS}}}X509Certificate"):
        try:
            der = base64.b64decode("".join(node.xpath("string()").split()), validate=True)
        except binascii.Error:
            continue
        if der in known:
            return (
                f"altered after signing: the {name} carries certificate {_thumbprint(der)} from {metadata.file}, "
                "but its signature does not verify with it: the content was changed after the IdP signed it "
                "(or another key signed it and copied the IdP's certificate in)"
            )
        if _xmlsec_verify(signature, der) is None:
            return (
                f"signed by a key that is not in {metadata.file}: the {name}'s signature verifies only with the "
                f"certificate it carries (thumbprint {_thumbprint(der)}), not with any of the {count} signing "
                f"certificate(s) the metadata publishes{claims}"
            )
        return (
            f"altered after signing: the {name}'s signature verifies neither with the {count} certificate(s) in "
            f"{metadata.file} nor with the certificate it carries{claims}"
        )
    return (
        f"signature does not verify: the {name}'s signature verifies with none of the {count} certificate(s) in "
        f"{metadata.file}; it was signed by another key or altered after signing{claims}"
    )


def _unsigned_reason(root: etree._Element, assertion: etree._Element) -> str:
    """Reason for a capture without a usable signature, naming a signed element hidden elsewhere if any."""
    for element in root.iter(f"{{{SAML}}}Assertion"):
        if element is not assertion and element.find(f"{{{DS}}}Signature") is not None:
            return (
                "signature wrapping: the assertion read is not signed, but a signed Assertion sits at "
                f"{_path(element)}, where no assertion is read from"
            )
    stray = next((s for s in root.iter(f"{{{DS}}}Signature")), None)
    if stray is not None:
        return (
            f"signature wrapping: neither the Response nor its assertion is signed, but a ds:Signature sits at "
            f"{_path(stray)}"
        )
    if root.tag == f"{{{SAMLP}}}Response":
        return "not signed: neither the Response nor its Assertion carries a ds:Signature"
    return "not signed: the Assertion carries no ds:Signature"


# --- extraction (only from the covered assertion) ----------------------------------------------


def _extract(root: etree._Element, kind: str, assertion: etree._Element, file: str) -> dict:
    """Values the rules need, read from the covered assertion (and, for a Response, its own attributes).

    Response/@Destination, Response/@InResponseTo and the Response's Issuer are outside the signature when
    only the assertion is signed; they are reported as conditions, never used as identity.
    """
    confirmation = _subject_confirmation_data(assertion)
    conditions = assertion.find(f"{{{SAML}}}Conditions")
    name_id = assertion.find(f"{{{SAML}}}Subject/{{{SAML}}}NameID")
    response_in_response_to = root.get("InResponseTo") if kind == "response" else None
    attributes = [
        (attribute.get("Name", ""), value.xpath("string()"))
        for statement in assertion.findall(f"{{{SAML}}}AttributeStatement")
        for attribute in statement.findall(f"{{{SAML}}}Attribute")
        for value in attribute.findall(f"{{{SAML}}}AttributeValue")
    ]
    return {
        "response_issuer": _text(root.find(f"{{{SAML}}}Issuer")) if kind == "response" else None,
        "assertion_issuer": _text(assertion.find(f"{{{SAML}}}Issuer")),
        "destination": root.get("Destination") if kind == "response" else None,
        "in_response_to": response_in_response_to or (
            confirmation.get("InResponseTo") if confirmation is not None else None
        ),
        "recipient": confirmation.get("Recipient") if confirmation is not None else None,
        "audiences": [
            _text(audience) or ""
            for audience in assertion.findall(f"{{{SAML}}}Conditions/{{{SAML}}}AudienceRestriction/{{{SAML}}}Audience")
        ],
        "not_before": _time(conditions, "NotBefore", file),
        "not_on_or_after": _time(conditions, "NotOnOrAfter", file),
        "subject_not_on_or_after": _time(confirmation, "NotOnOrAfter", file),
        "issue_instant": _time(assertion, "IssueInstant", file),
        "assertion_id": assertion.get("ID"),
        "name_id": name_id.xpath("string()") if name_id is not None else None,
        "name_id_format": name_id.get("Format") if name_id is not None else None,
        "attributes": attributes,
    }


def _subject_confirmation_data(assertion: etree._Element) -> etree._Element | None:
    """The bearer confirmation's data (the one a browser sign-in uses), else the first one present."""
    confirmations = assertion.findall(f"{{{SAML}}}Subject/{{{SAML}}}SubjectConfirmation")
    confirmations.sort(key=lambda c: c.get("Method") != "urn:oasis:names:tc:SAML:2.0:cm:bearer")
    for confirmation in confirmations:
        data = confirmation.find(f"{{{SAML}}}SubjectConfirmationData")
        if data is not None:
            return data
    return None


def _text(element: etree._Element | None) -> str | None:
    """An element's string value without surrounding whitespace (URIs such as issuers and audiences)."""
    return element.xpath("string()").strip() if element is not None else None


def _time(element: etree._Element | None, attribute: str, file: str) -> datetime | None:
    """An xs:dateTime attribute as an aware UTC datetime (Entra writes milliseconds, ADFS up to 7 digits)."""
    value = element.get(attribute) if element is not None else None
    if value is None:
        return None
    match = _DATETIME_RE.fullmatch(value)
    if not match:
        raise InputError(file, f"line {element.sourceline}", f"{attribute}={value!r} is not an xs:dateTime")
    year, month, day, hour, minute, second, fraction, zone = match.groups()
    fraction = (fraction or "0")[:6].ljust(6, "0")  # Python keeps microseconds
    zone = "+00:00" if zone in (None, "Z") else zone  # SAML times are UTC; a missing zone is read as UTC
    try:
        parsed = datetime.fromisoformat(f"{year}-{month}-{day}T{hour}:{minute}:{second}.{fraction}{zone}")
    except ValueError as exc:
        raise InputError(file, f"line {element.sourceline}", f"{attribute}={value!r}: {exc}") from exc
    return parsed.astimezone(UTC)


# --- certificates --------------------------------------------------------------------------------


def _der_not_after(der: bytes) -> datetime | None:
    """notAfter of an X.509 certificate, read from its DER (the ``cryptography`` package is not a dependency).

    Certificate ::= SEQUENCE { tbsCertificate SEQUENCE { [0] version OPTIONAL, serialNumber, signature,
    issuer, validity SEQUENCE { notBefore, notAfter }, ... }, ... }. None if the bytes do not follow that.
    """
    try:
        _, start, _ = _tlv(der, 0, 0x30)
        _, pos, tbs_end = _tlv(der, start, 0x30)
        if der[pos] == 0xA0:  # explicit version
            pos = _tlv(der, pos)[2]
        for expected in (0x02, 0x30, 0x30):  # serialNumber, signature algorithm, issuer
            pos = _tlv(der, pos, expected)[2]
        _, pos, _ = _tlv(der, pos, 0x30)  # validity
        pos = _tlv(der, pos)[2]  # notBefore
        tag, start, end = _tlv(der, pos)
        if end > tbs_end:
            return None
        text = der[start:end].decode("ascii")
    except (IndexError, ValueError, UnicodeDecodeError):
        return None
    try:
        if tag == 0x17:  # UTCTime YYMMDDHHMMSSZ; RFC 5280: YY < 50 is 20YY
            parsed = datetime.strptime(text, "%y%m%d%H%M%SZ")
            if parsed.year >= 2050:
                parsed = parsed.replace(year=parsed.year - 100)
        elif tag == 0x18:  # GeneralizedTime YYYYMMDDHHMMSSZ
            parsed = datetime.strptime(text, "%Y%m%d%H%M%SZ")
        else:
            return None
    except ValueError:
        return None
    return parsed.replace(tzinfo=UTC)


def _tlv(der: bytes, pos: int, expected: int | None = None) -> tuple[int, int, int]:
    """(tag, content start, content end) of the DER element at ``pos``; ValueError if it is not ``expected``."""
    tag = der[pos]
    if expected is not None and tag != expected:
        raise ValueError(f"DER tag {tag:#x} at {pos}, expected {expected:#x}")
    length = der[pos + 1]
    start = pos + 2
    if length & 0x80:
        count = length & 0x7F
        if not 0 < count <= 4:
            raise ValueError("unsupported DER length")
        length = int.from_bytes(der[start:start + count], "big")
        start += count
    end = start + length
    if end > len(der):
        raise ValueError("DER element runs past the end")
    return tag, start, end


def _thumbprint(der: bytes) -> str:
    """SHA-1 thumbprint as the Entra portal shows it for SAML signing certificates."""
    return hashlib.sha1(der).hexdigest().upper()


# --- small helpers -------------------------------------------------------------------------------


_PREFIXES = {SAMLP: "samlp", SAML: "saml", DS: "ds", MD: "md"}


def _qname(element: etree._Element) -> str:
    """A readable element name: samlp:Response, or {namespace}name for namespaces we do not abbreviate."""
    qname = etree.QName(element)
    prefix = _PREFIXES.get(qname.namespace or "")
    if prefix:
        return f"{prefix}:{qname.localname}"
    return f"{{{qname.namespace}}}{qname.localname}" if qname.namespace else qname.localname


def _path(element: etree._Element) -> str:
    """Where an element sits, as prefixed names from the root (samlp:Response/samlp:Extensions/saml:Assertion)."""
    names = [_qname(e) for e in (element, *element.iterancestors())]
    return "/".join(reversed(names))


def _label(label: str) -> str:
    return "Response" if label == "response" else "Assertion"
