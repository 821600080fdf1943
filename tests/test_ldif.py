"""LDIF exports as ldapsearch and ldifde really write them, and the ways they arrive broken."""

from __future__ import annotations

import base64
import tracemalloc
from pathlib import Path

import pytest

from reconcile.errors import InputError
from reconcile.identifiers import directory_guid, guid_windows
from reconcile.sources.ldif import LdifExport, read_ldif

ADA_GUID_BYTES = bytes.fromhex("1ebcff1ea34a9d4fa508d4d81f1f5873")
NUNEZ_DN = r"CN=Núñez\, Ana María,OU=Engineering and Research,OU=Staff,DC=corp,DC=contoso,DC=com"

# ldapsearch -x -H ldaps://dc1.corp.contoso.com -b OU=Staff,... '(objectClass=user)' ... (no -L):
# default 76-column folding, the objectGUID folded by hand (any fold point is legal LDIF).
LDAPSEARCH_EXTENDED = """\
# extended LDIF
#
# LDAPv3
# base <OU=Staff,DC=corp,DC=contoso,DC=com> with scope subtree
# filter: (&(objectCategory=person)(objectClass=user))
# requesting: cn displayName description mail userPrincipalName objectGUID msDS-aadObjectId memberOf
#

# Ada Lovelace, Staff, corp.contoso.com
dn: CN=Ada Lovelace,OU=Staff,DC=corp,DC=contoso,DC=com
cn: Ada Lovelace
displayName: Ada Lovelace
description: Seconded to the Lisbon office until the end of the quarter; con
 tact the service desk before changing her mailbox
mail: ada.lovelace@contoso.com
userPrincipalName: ada.lovelace@contoso.com
objectGUID:: Hrz/HqNK
 nU+lCNTYHx9Ycw==
msDS-aadObjectId: 3f2504e0-4f89-41d3-9a0c-0305e82c3301
memberOf: CN=Mattermost Users,OU=Groups,DC=corp,DC=contoso,DC=com
memberOf: CN=Intune MAM Pilot - Engineering and Research,OU=Groups,DC=corp,D
 C=contoso,DC=com

# Núñez\\, Ana María, Engineering and Research, Staff, corp.contoso.com
dn:: Q049TsO6w7FlelwsIEFuYSBNYXLDrWEsT1U9RW5naW5lZXJpbmcgYW5kIFJlc2VhcmNoLE9
 VPVN0YWZmLERDPWNvcnAsREM9Y29udG9zbyxEQz1jb20=
cn:: TsO6w7FleiwgQW5hIE1hcsOtYQ==
displayName:: QW5hIE7DusOxZXo=
userPrincipalName: ana.nunez@contoso.com
objectGUID:: ASNFZ4mrze8BI0VniavN7w==

# search reference
ref: ldap://DomainDnsZones.corp.contoso.com/DC=DomainDnsZones,DC=corp,DC=con
 toso,DC=com

# search result
search: 2
result: 0 Success

# numResponses: 4
# numEntries: 2
# numReferences: 1
"""

# ldapsearch -LLL -o ldif-wrap=no -E pr=2/noprompt: no header, no trailer, one line per value,
# and a paged-results comment after every page (the last one with an empty cookie).
LDAPSEARCH_LLL = """\
dn: CN=Ada Lovelace,OU=Staff,DC=corp,DC=contoso,DC=com
objectGUID:: Hrz/HqNKnU+lCNTYHx9Ycw==
memberOf: CN=Intune MAM Pilot - Engineering and Research,OU=Groups,DC=corp,DC=contoso,DC=com
userCertificate;binary:: MIIBAA==

dn: CN=Grace Hopper,OU=Staff,DC=corp,DC=contoso,DC=com
objectGUID:: ASNFZ4mrze8BI0VniavN7w==

# pagedresults: cookie=6BkAAAAAAAAAAAAAAAAAAAAAAAA=
dn: CN=Katherine Johnson,OU=Staff,DC=corp,DC=contoso,DC=com
description:

# pagedresults: cookie=
"""

# ldifde -f users.ldf -d OU=Staff,... (written with CRLF): a blank first line, changetype: add in
# every record, and non-ASCII values base64-encoded.
LDIFDE = """
dn: CN=Ada Lovelace,OU=Staff,DC=corp,DC=contoso,DC=com
changetype: add
objectClass: top
objectClass: person
objectClass: organizationalPerson
objectClass: user
cn: Ada Lovelace
displayName: Ada Lovelace
userPrincipalName: ada.lovelace@contoso.com
objectGUID:: Hrz/HqNKnU+lCNTYHx9Ycw==
msDS-aadObjectId: 3f2504e0-4f89-41d3-9a0c-0305e82c3301

dn:: Q049TsO6w7FlelwsIEFuYSBNYXLDrWEsT1U9RW5naW5lZXJpbmcgYW5kIFJlc2VhcmNoLE9
 VPVN0YWZmLERDPWNvcnAsREM9Y29udG9zbyxEQz1jb20=
changetype: add
objectClass: top
objectClass: person
objectClass: organizationalPerson
objectClass: user
displayName:: QW5hIE7DusOxZXo=
objectGUID:: ASNFZ4mrze8BI0VniavN7w==

"""

# The same export with ldifde -u: UTF-16LE with a BOM, non-ASCII text written as is.
LDIFDE_UNICODE = LDIFDE.replace(
    "dn:: Q049TsO6w7FlelwsIEFuYSBNYXLDrWEsT1U9RW5naW5lZXJpbmcgYW5kIFJlc2VhcmNoLE9\n"
    " VPVN0YWZmLERDPWNvcnAsREM9Y29udG9zbyxEQz1jb20=\n",
    f"dn: {NUNEZ_DN}\n",
).replace("displayName:: QW5hIE7DusOxZXo=", "displayName: Ana Núñez")


def write(
    tmp_path: Path, text: str, *, crlf: bool = False, encoding: str = "utf-8", bom: bytes = b""
) -> Path:
    path = tmp_path / "export.ldif"
    path.write_bytes(bom + (text.replace("\n", "\r\n") if crlf else text).encode(encoding))
    return path


def fold(line: str, width: int = 76) -> str:
    """Fold a line the way ldapsearch does by default: 76 columns, continuations start with a space."""
    parts = [line[:width]] + [line[i : i + width - 1] for i in range(width, len(line), width - 1)]
    return "\n ".join(parts)


def read(path: Path) -> list[dict]:
    return list(read_ldif(path))


def error(path: Path) -> str:
    with pytest.raises(InputError) as caught:
        read(path)
    return str(caught.value)


def test_ldapsearch_extended_export(tmp_path: Path) -> None:
    ada, nunez = read(write(tmp_path, LDAPSEARCH_EXTENDED))

    assert ada["dn"] == "CN=Ada Lovelace,OU=Staff,DC=corp,DC=contoso,DC=com"
    assert ada["_where"] == "export.ldif line 10"
    attrs = ada["attributes"]
    assert attrs["objectguid"] == [ADA_GUID_BYTES]
    assert guid_windows(attrs["objectguid"][0]) == "1effbc1e-4aa3-4f9d-a508-d4d81f1f5873"
    assert attrs["msds-aadobjectid"] == [b"3f2504e0-4f89-41d3-9a0c-0305e82c3301"]
    assert directory_guid(attrs["msds-aadobjectid"][0]) == "3f2504e0-4f89-41d3-9a0c-0305e82c3301"
    assert attrs["memberof"] == [
        b"CN=Mattermost Users,OU=Groups,DC=corp,DC=contoso,DC=com",
        b"CN=Intune MAM Pilot - Engineering and Research,OU=Groups,DC=corp,DC=contoso,DC=com",
    ]
    assert attrs["description"] == [
        b"Seconded to the Lisbon office until the end of the quarter; "
        b"contact the service desk before changing her mailbox"
    ]
    assert all(isinstance(v, bytes) for values in attrs.values() for v in values)

    assert nunez["dn"] == NUNEZ_DN
    assert nunez["_where"] == "export.ldif line 25"
    assert nunez["attributes"]["displayname"] == ["Ana Núñez".encode()]
    assert nunez["attributes"]["cn"] == ["Núñez, Ana María".encode()]
    assert guid_windows(nunez["attributes"]["objectguid"][0]) == "67452301-ab89-efcd-0123-456789abcdef"


def test_display_name_is_used_in_where_and_errors(tmp_path: Path) -> None:
    path = write(tmp_path, LDAPSEARCH_EXTENDED)
    assert next(read_ldif(path, "ad-users.ldif"))["_where"] == "ad-users.ldif line 10"
    broken = write(tmp_path, "dn: CN=x\nno colon here\n")
    with pytest.raises(InputError, match=r"^ad-users\.ldif: line 2, entry CN=x: "):
        list(read_ldif(broken, "ad-users.ldif"))


def test_ldapsearch_lll_paged_export(tmp_path: Path) -> None:
    entries = read(write(tmp_path, LDAPSEARCH_LLL))

    assert [e["dn"].split(",")[0] for e in entries] == [
        "CN=Ada Lovelace",
        "CN=Grace Hopper",
        "CN=Katherine Johnson",
    ]
    assert entries[0]["attributes"]["usercertificate"] == [base64.b64decode("MIIBAA==")]
    assert entries[0]["attributes"]["objectguid"] == [ADA_GUID_BYTES]
    assert entries[2]["attributes"]["description"] == [b""]
    assert entries[2]["_where"] == "export.ldif line 10"


def test_ldapsearch_stopped_between_pages_is_incomplete(tmp_path: Path) -> None:
    cut = LDAPSEARCH_LLL[: LDAPSEARCH_LLL.index("dn: CN=Katherine")]
    message = error(write(tmp_path, cut))
    assert "export.ldif: end of file (line 9)" in message
    assert "cookie is not empty" in message


def test_ldapsearch_paged_extended_export_repeats_header_and_trailer(tmp_path: Path) -> None:
    page = """\
# extended LDIF
#
# LDAPv3
# base <OU=Staff,DC=corp,DC=contoso,DC=com> with scope subtree
# filter: (objectClass=user)
# requesting: objectGUID
# with pagedResults control: size=1
#

# {name}, Staff, corp.contoso.com
dn: CN={name},OU=Staff,DC=corp,DC=contoso,DC=com
objectGUID:: Hrz/HqNKnU+lCNTYHx9Ycw==

# search result
search: {search}
result: 0 Success
control: 1.2.840.113556.1.4.319 false {control}
pagedresults: cookie={cookie}
"""
    first = page.format(name="Ada", search=2, control="MBwCAQAEFwQVAAAA", cookie="FwQVAAAA")
    last = page.format(name="Grace", search=3, control="MAUCAQAEAA==", cookie="")
    entries = read(write(tmp_path, first + last + "\n# numResponses: 4\n# numEntries: 2\n"))
    assert [e["_where"] for e in entries] == ["export.ldif line 11", "export.ldif line 29"]

    assert "cookie is not empty" in error(write(tmp_path, first))


@pytest.mark.parametrize("result", ["4 Size limit exceeded", "11 Administrative limit exceeded"])
def test_ldapsearch_result_limit_exceeded(tmp_path: Path, result: str) -> None:
    limited = LDAPSEARCH_EXTENDED.replace("result: 0 Success", f"result: {result}")
    message = error(write(tmp_path, limited))
    assert message.startswith("export.ldif: line 38: ")
    assert f"result: {result}" in message
    assert "incomplete" in message
    assert "-E pr=1000/noprompt" in message


def test_ldapsearch_result_text_is_quoted(tmp_path: Path) -> None:
    limited = LDAPSEARCH_EXTENDED.replace(
        "result: 0 Success", "result: 4 Size limit exceeded\ntext: 0000208D: SvcErr: DSID-03100241"
    )
    assert "(0000208D: SvcErr: DSID-03100241)" in error(write(tmp_path, limited))


def test_server_disconnect_notice_is_incomplete(tmp_path: Path) -> None:
    cut = LDAPSEARCH_EXTENDED[: LDAPSEARCH_EXTENDED.index("# search reference")]
    notice = (
        "# extended result response\nextended: 1.3.6.1.4.1.1466.20036\nresult: 52 Server is unavailable\n"
    )
    message = error(write(tmp_path, cut + notice))
    assert message.startswith("export.ldif: line 34: ")
    assert "result: 52 Server is unavailable" in message
    assert "Fix what it reports" in message


def test_extended_ldif_without_trailer_is_truncated(tmp_path: Path) -> None:
    cut = LDAPSEARCH_EXTENDED[: LDAPSEARCH_EXTENDED.index("# search result")]
    message = error(write(tmp_path, cut))
    assert message.startswith("export.ldif: end of file (line 35): ")
    assert "'result:' line" in message
    assert "truncated" in message


def test_file_cut_mid_line_is_truncated(tmp_path: Path) -> None:
    cut = LDAPSEARCH_EXTENDED[: LDAPSEARCH_EXTENDED.index("Ycw==")]
    message = error(write(tmp_path, cut))
    assert message == (
        "export.ldif: line 18: the file ends in the middle of a line; the export looks truncated"
    )


@pytest.mark.parametrize(("text", "crlf"), [(LDAPSEARCH_EXTENDED, False), (LDAPSEARCH_LLL, False), (LDIFDE, True)],
                         ids=["ldapsearch", "ldapsearch-LLL", "ldifde"])
def test_complete_export_without_final_newline_is_accepted(tmp_path: Path, text: str, crlf: bool) -> None:
    """ldifde and hand edits leave the last line without its line ending; the export is still whole."""
    complete = read(write(tmp_path, text, crlf=crlf))
    (tmp_path / "export.ldif").unlink()
    unterminated = read(write(tmp_path, text.rstrip("\n"), crlf=crlf))
    assert unterminated == complete and len(complete) >= 2


def test_lone_carriage_return_at_the_end_is_accepted(tmp_path: Path) -> None:
    path = tmp_path / "export.ldif"
    path.write_bytes(LDIFDE.rstrip("\n").replace("\n", "\r\n").encode() + b"\r")
    assert [e["dn"] for e in read(path)] == [e["dn"] for e in read(write(tmp_path, LDIFDE))]


@pytest.mark.parametrize(("tail", "line"), [
    ("objectGUID:: ASNFZ4mrze8BI0V", 11),                   # base64 of impossible length
    ("objectGUID:: ASNFZ4mrze8BI0VniavN7w=", 11),           # padding cut short
    ("objectGUID:: ASNFZ4mrze8B\n I0VniavN7w=", 12),        # a folded value cut in its continuation
    ("userPrincipalNa", 11),                                 # the attribute name, before its colon
    ("displayName: Ana N\u00fa\u00f1".encode()[:-1].decode("latin-1"), 11),  # inside a UTF-8 sequence
], ids=["base64-length", "base64-padding", "continuation", "name", "utf-8"])
def test_export_cut_in_its_last_line_is_truncated(tmp_path: Path, tail: str, line: int) -> None:
    """Without its line ending, a last line that does not parse was cut there, whatever else is wrong with it."""
    head = LDAPSEARCH_LLL[: LDAPSEARCH_LLL.index("description:")]
    path = tmp_path / "export.ldif"
    path.write_bytes(head.encode() + tail.encode("latin-1"))
    assert error(path) == f"export.ldif: line {line}: the file ends in the middle of a line; the export looks truncated"


def test_unterminated_last_line_is_judged_alone(tmp_path: Path) -> None:
    """A broken line before the unterminated last one is reported as what it is, not as a cut."""
    message = error(write(tmp_path, "dn: CN=x\ncn:: not base64!\ncn: x"))
    assert message.startswith("export.ldif: line 2, entry CN=x: expected base64")


@pytest.mark.parametrize("tail", ["# search result\n", "# search result\nsearch: 2\n", "# search result\nsearch: 2"],
                         ids=["header-only", "no-result-line", "no-result-line-unterminated"])
def test_search_result_without_its_result_line_is_truncated(tmp_path: Path, tail: str) -> None:
    """The trailer's header promises a 'result:' line; an export cut before it is incomplete, even without the
    '# extended LDIF' header that announces the trailer."""
    text = LDAPSEARCH_EXTENDED
    body = text[text.index("# Ada Lovelace"): text.index("# search result")]
    message = error(write(tmp_path, body + tail))
    assert "export.ldif: end of file" in message and "'result:' line" in message and "truncated" in message


def test_empty_export_names_what_ldapsearch_searched(tmp_path: Path) -> None:
    header = LDAPSEARCH_EXTENDED[: LDAPSEARCH_EXTENDED.index("# Ada Lovelace")]
    export = LdifExport(write(tmp_path, header + "# search result\nsearch: 2\nresult: 0 Success\n\n# numEntries: 0\n"),
                        "ldap_users.ldif")
    assert list(export) == []
    assert export.empty_message() == (
        'ldap_users.ldif holds no entries (ldapsearch base "OU=Staff,DC=corp,DC=contoso,DC=com", filter '
        '"(&(objectCategory=person)(objectClass=user))"); expected the users Mattermost syncs')
    (tmp_path / "export.ldif").unlink()
    bare = LdifExport(write(tmp_path, ""), "ldap_users.ldif")
    assert list(bare) == []
    assert bare.empty_message() == "ldap_users.ldif holds no entries; expected the users Mattermost syncs"


def test_entries_stream_before_a_later_error(tmp_path: Path) -> None:
    path = write(tmp_path, "dn: CN=first\ncn: first\n\ndn: CN=second\ncn:: not base64!\n")
    entries = read_ldif(path)
    assert next(entries)["dn"] == "CN=first"
    with pytest.raises(InputError, match="line 5"):
        next(entries)


def test_ldifde_export_with_crlf(tmp_path: Path) -> None:
    ada, nunez = read(write(tmp_path, LDIFDE, crlf=True))

    assert ada["_where"] == "export.ldif line 2"
    assert "changetype" not in ada["attributes"]
    assert ada["attributes"]["objectclass"] == [b"top", b"person", b"organizationalPerson", b"user"]
    assert guid_windows(ada["attributes"]["objectguid"][0]) == "1effbc1e-4aa3-4f9d-a508-d4d81f1f5873"
    assert ada["attributes"]["msds-aadobjectid"] == [b"3f2504e0-4f89-41d3-9a0c-0305e82c3301"]
    assert nunez["dn"] == NUNEZ_DN
    assert nunez["attributes"]["displayname"] == ["Ana Núñez".encode()]


@pytest.mark.parametrize(
    ("encoding", "bom"),
    [("utf-16-le", b"\xff\xfe"), ("utf-16-be", b"\xfe\xff"), ("utf-8", b"\xef\xbb\xbf")],
)
def test_ldifde_unicode_export_with_bom(tmp_path: Path, encoding: str, bom: bytes) -> None:
    ada, nunez = read(write(tmp_path, LDIFDE_UNICODE, crlf=True, encoding=encoding, bom=bom))

    assert ada["attributes"]["objectguid"] == [ADA_GUID_BYTES]
    assert nunez["dn"] == NUNEZ_DN
    assert nunez["_where"] == "export.ldif line 14"
    assert nunez["attributes"]["displayname"] == ["Ana Núñez".encode()]


def test_utf16_without_bom_is_rejected(tmp_path: Path) -> None:
    message = error(write(tmp_path, LDIFDE_UNICODE, crlf=True, encoding="utf-16-le"))
    assert message.startswith("export.ldif: line 1: ")
    assert "UTF-16 without a byte-order mark" in message


def test_invalid_utf16_is_rejected(tmp_path: Path) -> None:
    path = tmp_path / "export.ldif"
    path.write_bytes(
        b"\xff\xfe" + "dn: CN=x\r\ncn: ".encode("utf-16-le") + b"\x00\xd8" + "\r\n".encode("utf-16-le")
    )
    assert "expected utf-16-le text" in error(path)


@pytest.mark.parametrize(
    ("text", "where", "expected"),
    [
        ("dn: CN=x\ncn: x\nno colon here\n", "line 3, entry CN=x", "expected 'attribute: value'"),
        ("dn: CN=x\nobjectGUID:: Hrz/HqNK*U+lCNTYHx9Ycw==\n", "line 2, entry CN=x", "expected base64"),
        ("dn: CN=x\n: orphan value\n", "line 2, entry CN=x", "attribute name is empty"),
        ("dn: CN=x\njpegPhoto:< file:///tmp/ada.jpg\n", "line 2, entry CN=x", "URL"),
        ("dn: CN=x\ncn: Ana N\xfa\xf1ez\n", "line 2, entry CN=x", "not valid UTF-8"),
        ("dn: CN=N\xfa\xf1ez\n", "line 1", "the DN is not valid UTF-8"),
        ("dn:: Tv1uZXo=\n", "line 1", "the DN is not valid UTF-8"),
        ("cn: x\ndn: CN=x\n", "line 1", "expected 'dn:' to start the entry, found 'cn:'"),
        (" dn: CN=x\n", "line 1", "none to continue"),
        ("version: 2\n\ndn: CN=x\n", "line 1", "expected 'version: 1'"),
        ("dn: CN=a\ncn: a\ndn: CN=b\n", "line 3, entry CN=a", "expected a blank line before"),
    ],
)
def test_malformed_lines(tmp_path: Path, text: str, where: str, expected: str) -> None:
    path = tmp_path / "export.ldif"
    path.write_bytes(text.encode("latin-1"))
    message = error(path)
    assert message.startswith(f"export.ldif: {where}: ")
    assert expected in message


@pytest.mark.parametrize(
    ("text", "where"),
    [
        ("dn: CN=x\nchangetype: modify\nreplace: mail\nmail: x@contoso.com\n-\n", "line 2, entry CN=x"),
        ("dn: CN=x\nchangetype: delete\n", "line 2, entry CN=x"),
        ("dn: CN=x\nchangetype: moddn\nnewrdn: CN=y\ndeleteoldrdn: 1\n", "line 2, entry CN=x"),
        ("dn: CN=x\nreplace: mail\nmail: x@contoso.com\n-\n", "line 4, entry CN=x"),
    ],
)
def test_change_file_is_rejected(tmp_path: Path, text: str, where: str) -> None:
    message = error(write(tmp_path, text))
    assert message.startswith(f"export.ldif: {where}: ")
    assert "change file" in message


def test_empty_and_comment_only_files_yield_nothing(tmp_path: Path) -> None:
    """No entries is not an error of the file; the caller fails the source (see test_empty_sources.py)."""
    assert read(write(tmp_path, "")) == []
    assert read(write(tmp_path, "\n\n")) == []
    assert read(write(tmp_path, "# nothing exported yet\n# continued\n comment fold\n")) == []
    assert read(write(tmp_path, "version: 1\n\n# numEntries: 0\n")) == []


def test_version_line_may_precede_the_first_entry_directly(tmp_path: Path) -> None:
    (entry,) = read(write(tmp_path, "version: 1\ndn: CN=x\ncn: x\n"))
    assert entry["_where"] == "export.ldif line 2"


def test_large_export_streams_in_bounded_memory(tmp_path: Path) -> None:
    """A 50,000-entry export (tens of MiB) is read with a small, constant amount of memory."""
    entries, bound = 50_000, 10 * 1024 * 1024
    photo = bytes(range(256)) * 2  # unfolded, as with -o ldif-wrap=no: big file, few lines, a quick test
    path = tmp_path / "big.ldif"
    with path.open("w", encoding="utf-8", newline="\n") as out:
        out.write("# extended LDIF\n#\n# LDAPv3\n#\n\n")
        for i in range(entries):
            out.write(
                f"# user{i}, Staff, corp.contoso.com\n"
                f"dn: CN=user{i},OU=Staff,DC=corp,DC=contoso,DC=com\n"
                f"userPrincipalName: user{i}@contoso.com\n"
                f"objectGUID:: {base64.b64encode(i.to_bytes(16, 'little')).decode()}\n"
                f"thumbnailPhoto:: {base64.b64encode(photo).decode()}\n\n"
            )
        out.write(f"# search result\nsearch: 2\nresult: 0 Success\n\n# numEntries: {entries}\n")
    size = path.stat().st_size
    assert size > 2 * bound

    count, last = 0, None
    tracemalloc.start()
    try:
        for entry in read_ldif(path):
            count += 1
            last = entry
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
        path.unlink()

    assert count == entries
    assert last is not None
    assert last["attributes"]["objectguid"] == [(entries - 1).to_bytes(16, "little")]
    assert last["attributes"]["thumbnailphoto"] == [photo]
    assert peak < bound, f"peak {peak / 2**20:.1f} MiB while streaming a {size / 2**20:.0f} MiB file"
