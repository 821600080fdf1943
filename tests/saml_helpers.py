"""Build and sign Entra-style SAML captures at test time, so the tests never ship a private key.

Keys come from the openssl CLI (throwaway, two days valid); signatures are made with xmlsec, the same
library the reader verifies with, in the shape Entra produces: an enveloped RSA-SHA256 signature right
after the Issuer, exclusive c14n, one Reference to the signed element's own ID, and the certificate in
KeyInfo.
"""

from __future__ import annotations

import base64
import subprocess
import uuid
from copy import deepcopy
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import xmlsec
from lxml import etree

SAMLP = "urn:oasis:names:tc:SAML:2.0:protocol"
SAML = "urn:oasis:names:tc:SAML:2.0:assertion"
DS = "http://www.w3.org/2000/09/xmldsig#"
CLAIMS = "http://schemas.xmlsoap.org/ws/2005/05/identity/claims"
MS_CLAIMS = "http://schemas.microsoft.com/identity/claims"
OID_CLAIM = f"{MS_CLAIMS}/objectidentifier"

TENANT = "72f988bf-86f1-41af-91ab-2d7cd011db47"
ENTRA_ISSUER = f"https://sts.windows.net/{TENANT}/"
SP_ENTITY = "https://chat.example.com/login/sso/saml"
ACS = "https://chat.example.com/login/sso/saml"
REQUEST_ID = "_req-4f2b6c1e"
ALICE_OID = "0f6d2a3c-1111-4c7e-9d1e-5a3b2c1d0e9f"
MALLORY_OID = "6e1b0c52-2222-4d0e-8f00-aaaaaaaaaaaa"


@dataclass(frozen=True)
class Identity:
    """A throwaway signing identity: key and certificate files, plus the certificate as metadata holds it."""

    key_file: Path
    cert_file: Path

    @property
    def cert_b64(self) -> str:
        pem = self.cert_file.read_text()
        return "".join(line for line in pem.splitlines() if line and not line.startswith("-----"))

    @property
    def not_after(self) -> datetime:
        """The certificate's notAfter as openssl reports it (independent of the reader's DER parsing)."""
        out = subprocess.run(
            ["openssl", "x509", "-enddate", "-noout", "-in", str(self.cert_file)],
            check=True, capture_output=True, text=True,
        ).stdout.strip()
        return datetime.strptime(out.split("=", 1)[1], "%b %d %H:%M:%S %Y %Z").replace(tzinfo=UTC)


def make_identity(directory: Path, name: str, openssl: str) -> Identity:
    key, cert = directory / f"{name}.key", directory / f"{name}.crt"
    subprocess.run(
        [openssl, "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", str(key), "-out", str(cert),
         "-days", "2", "-subj", f"/CN={name}"],
        check=True, capture_output=True,
    )
    return Identity(key, cert)


def ts(moment: datetime) -> str:
    """Entra's timestamp form: milliseconds and Z."""
    return moment.strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"


def assertion_element(
    issued: datetime, oid: str | None = ALICE_OID, issuer: str = ENTRA_ISSUER, upn: str = "alice@contoso.com",
    name_id: str | None = None,
) -> etree._Element:
    """An Entra-style Assertion (default namespace, as Entra writes it), unsigned."""
    aid = f"_{uuid.uuid4()}"
    not_before, not_after = issued - timedelta(minutes=5), issued + timedelta(hours=1)
    claims = [(f"{MS_CLAIMS}/tenantid", TENANT)]
    if oid is not None:
        claims.append((OID_CLAIM, oid))
    claims += [(f"{MS_CLAIMS}/displayname", "Alice Example"), (f"{CLAIMS}/name", upn), (f"{CLAIMS}/emailaddress", upn)]
    attributes = "".join(
        f'<Attribute Name="{name}"><AttributeValue>{value}</AttributeValue></Attribute>' for name, value in claims
    )
    xml = (
        f'<Assertion xmlns="{SAML}" ID="{aid}" IssueInstant="{ts(issued)}" Version="2.0">'
        f"<Issuer>{issuer}</Issuer>"
        f'<Subject><NameID Format="urn:oasis:names:tc:SAML:1.1:nameid-format:emailAddress">{name_id or upn}</NameID>'
        f'<SubjectConfirmation Method="urn:oasis:names:tc:SAML:2.0:cm:bearer">'
        f'<SubjectConfirmationData InResponseTo="{REQUEST_ID}" NotOnOrAfter="{ts(not_after)}" Recipient="{ACS}"/>'
        f"</SubjectConfirmation></Subject>"
        f'<Conditions NotBefore="{ts(not_before)}" NotOnOrAfter="{ts(not_after)}"><AudienceRestriction>'
        f"<Audience>{SP_ENTITY}</Audience></AudienceRestriction></Conditions>"
        f"<AttributeStatement>{attributes}</AttributeStatement>"
        f'<AuthnStatement AuthnInstant="{ts(issued)}" SessionIndex="{aid}"><AuthnContext>'
        f"<AuthnContextClassRef>urn:oasis:names:tc:SAML:2.0:ac:classes:Password</AuthnContextClassRef>"
        f"</AuthnContext></AuthnStatement></Assertion>"
    )
    return etree.fromstring(xml.encode())


def response_element(
    assertions: list[etree._Element], issued: datetime, issuer: str = ENTRA_ISSUER
) -> etree._Element:
    """A samlp:Response around the given assertions (copied in), like Entra's POST to the ACS."""
    response = etree.fromstring(
        (
            f'<samlp:Response xmlns:samlp="{SAMLP}" ID="_{uuid.uuid4()}" Version="2.0" IssueInstant="{ts(issued)}" '
            f'Destination="{ACS}" InResponseTo="{REQUEST_ID}">'
            f'<Issuer xmlns="{SAML}">{issuer}</Issuer>'
            f'<samlp:Status><samlp:StatusCode Value="urn:oasis:names:tc:SAML:2.0:status:Success"/></samlp:Status>'
            f"</samlp:Response>"
        ).encode()
    )
    for assertion in assertions:
        response.append(deepcopy(assertion))
    return response


def sign(element: etree._Element, identity: Identity) -> etree._Element:
    """Sign ``element`` in place (enveloped, after its Issuer) and return it."""
    xmlsec.tree.add_ids(element, ["ID"])
    signature = xmlsec.template.create(element, xmlsec.Transform.EXCL_C14N, xmlsec.Transform.RSA_SHA256, ns="ds")
    element.find(f"{{{SAML}}}Issuer").addnext(signature)
    reference = xmlsec.template.add_reference(signature, xmlsec.Transform.SHA256, uri=f"#{element.get('ID')}")
    xmlsec.template.add_transform(reference, xmlsec.Transform.ENVELOPED)
    xmlsec.template.add_transform(reference, xmlsec.Transform.EXCL_C14N)
    xmlsec.template.add_x509_data(xmlsec.template.ensure_key_info(signature))
    key = xmlsec.Key.from_file(str(identity.key_file), xmlsec.KeyFormat.PEM)
    key.load_cert_from_file(str(identity.cert_file), xmlsec.KeyFormat.PEM)
    ctx = xmlsec.SignatureContext()
    ctx.key = key
    ctx.sign(signature)
    return element


def signed_assertion(issued: datetime, identity: Identity, **kwargs) -> etree._Element:
    return sign(assertion_element(issued, **kwargs), identity)


def to_bytes(element: etree._Element) -> bytes:
    return etree.tostring(element.getroottree() if element.getparent() is None else element)


def metadata_xml(certificates: list[str], entity_id: str = ENTRA_ISSUER) -> str:
    """Entra-style FederationMetadata.xml: the keys in a WS-Fed RoleDescriptor and in the IDPSSODescriptor."""
    keys = "".join(
        f'<KeyDescriptor use="signing"><KeyInfo xmlns="{DS}"><X509Data><X509Certificate>{cert}'
        f"</X509Certificate></X509Data></KeyInfo></KeyDescriptor>"
        for cert in certificates
    )
    return (
        f'<?xml version="1.0" encoding="utf-8"?>'
        f'<EntityDescriptor ID="_{uuid.uuid4()}" entityID="{entity_id}" xmlns="urn:oasis:names:tc:SAML:2.0:metadata">'
        f'<RoleDescriptor xsi:type="fed:SecurityTokenServiceType" '
        f'protocolSupportEnumeration="http://docs.oasis-open.org/wsfed/federation/200706" '
        f'xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" '
        f'xmlns:fed="http://docs.oasis-open.org/wsfed/federation/200706">{keys}</RoleDescriptor>'
        f'<IDPSSODescriptor protocolSupportEnumeration="urn:oasis:names:tc:SAML:2.0:protocol">{keys}'
        f'<SingleSignOnService Binding="urn:oasis:names:tc:SAML:2.0:bindings:HTTP-POST" '
        f'Location="https://login.microsoftonline.com/{TENANT}/saml2"/></IDPSSODescriptor>'
        f"</EntityDescriptor>"
    )


def form_value(xml: bytes, prefix: bool = False, url_encode: bool = False, wrap: int | None = None) -> str:
    """The SAMLResponse form value as a browser trace shows it."""
    value = base64.b64encode(xml).decode()
    if url_encode:
        value = value.replace("+", "%2B").replace("/", "%2F").replace("=", "%3D")
    if wrap:
        value = "\n".join(value[i:i + wrap] for i in range(0, len(value), wrap))
    return ("SAMLResponse=" if prefix else "") + value
