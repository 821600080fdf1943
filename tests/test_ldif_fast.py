"""The fast LDIF path against the line-by-line reference parser: same entries, same errors, same header.

The fast path is only allowed to accept what the reference accepts and to hand everything else over, so
these tests compare the two on every text of test_ldif.py, on prefixes of them (exports cut anywhere),
and on a generated export with folds, comments, base64 DNs, CRLF and pages read in tiny blocks.
"""

from __future__ import annotations

import base64
import random
from pathlib import Path

import pytest
import test_ldif

from reconcile.errors import InputError
from reconcile.sources import ldif
from reconcile.sources.ldif import LdifExport

WANTED = ["msds-aadobjectid", "objectguid", "userprincipalname", "mail", "samaccountname", "cn"]
BASES = {
    "extended": test_ldif.LDAPSEARCH_EXTENDED,
    "lll": test_ldif.LDAPSEARCH_LLL,
    "ldifde": test_ldif.LDIFDE,
    "ldifde-unicode": test_ldif.LDIFDE_UNICODE,
}


def _marked(test: object) -> list[str]:
    """The LDIF texts a test of test_ldif.py is parametrized with (first argument)."""
    return [args[0] for mark in getattr(test, "pytestmark", []) if mark.name == "parametrize"
            for args in mark.args[1]]


MALFORMED = _marked(test_ldif.test_malformed_lines) + _marked(test_ldif.test_change_file_is_rejected)


def outcome(path: Path, fast: bool) -> tuple[list[dict], str | None, str | None, str | None]:
    export = LdifExport(path, "export.ldif", fast=fast)
    entries: list[dict] = []
    problem = None
    try:
        for entry in export:
            entries.append(entry)
    except InputError as exc:
        problem = str(exc)
    return entries, problem, export.base_dn, export.search_filter


def column_outcome(path: Path, fast: bool, batch_rows: int) -> tuple[list[dict], str | None]:
    export = LdifExport(path, "export.ldif", fast=fast)
    batches: list[dict] = []
    problem = None
    try:
        batches.extend(export.columns(WANTED, batch_rows))
    except InputError as exc:
        problem = str(exc)
    return batches, problem


def assert_same(path: Path) -> bool:
    """Fast == reference for iteration and columns; returns whether the fast path needed the reference."""
    strict = outcome(path, fast=False)
    assert outcome(path, fast=True) == strict
    fell_back = LdifExport(path)
    list(_consume(fell_back))
    for rows in (1, 3, 50_000):
        assert column_outcome(path, True, rows) == column_outcome(path, False, rows)
    return fell_back.fell_back


def _consume(export: LdifExport) -> list[dict]:
    try:
        return list(export)
    except InputError:
        return []


def encode(text: str, variant: str) -> bytes:
    if variant == "crlf":
        return text.replace("\n", "\r\n").encode()
    if variant == "utf-8-bom":
        return b"\xef\xbb\xbf" + text.encode()
    if variant == "utf-16":
        return b"\xff\xfe" + text.replace("\n", "\r\n").encode("utf-16-le")
    return text.encode("latin-1" if variant == "latin-1" else "utf-8")


@pytest.mark.parametrize("variant", ["plain", "crlf", "utf-8-bom", "utf-16"])
@pytest.mark.parametrize("name", sorted(BASES))
def test_exports_and_their_prefixes(tmp_path: Path, name: str, variant: str) -> None:
    """Whole, without the final newline, and cut at every few bytes: fast and reference agree."""
    data = encode(BASES[name], variant)
    path = tmp_path / "export.ldif"
    cuts = sorted({len(data), len(data.rstrip(b"\r\n")), *range(0, len(data), 5)})
    for cut in cuts:
        path.write_bytes(data[:cut])
        assert_same(path)
    path.write_bytes(data)
    if variant != "utf-16" and name in ("lll", "ldifde"):
        assert not assert_same(path)  # common exports do not need the reference parser


@pytest.mark.parametrize("text", MALFORMED)
def test_malformed_texts(tmp_path: Path, text: str) -> None:
    path = tmp_path / "export.ldif"
    path.write_bytes(text.encode("latin-1"))
    assert_same(path)
    assert outcome(path, fast=True)[1] is not None


@pytest.mark.parametrize("text", [
    "dn: CN=x\ncn:\n <notaurl\n",           # a fold right after the colon: 'cn:<notaurl', refused
    "dn: CN=x\ncn:\n :Zm9v\n",              # ... and 'cn::Zm9v', base64
    "dn: CN=x\nobject\n GUID:: AAEC\n",      # a fold inside the name
    "dn: CN=x\ncn: a\n# inner comment\n more\nsn: b\n",
    "dn: CN=x\ncn: a\r\n",                   # mixed line endings
    "dn: CN=x\ncn: a\rb\n",                  # a CR inside a value
    "dn: CN=x\ncn: a\n\n\n\n\ndn: CN=y\n",
    "dn: CN=x\nchangetype: add\nchangetype: add\ncn: x\nchangetype: modify\n",
    "dn: CN=x\nChangeType:: YWRk\ncn: x\n",
    "dn: CN=x\ncn: a\nDN: CN=y\n",
    "DN: CN=x\nCN;lang-en: x\nmail;x-y:: Zm9v \n",
    "version: 1\ndn: CN=x\n\nversion: 1\n\ndn: CN=y\n",
    "dn: CN=x\ncn: Ana N\xc3\n \xbaez\n",     # a UTF-8 sequence split by a fold
    "# c\xe9\ndn: CN=x\n",                   # latin-1 in a comment only
    "dn: CN=x\n  cn: y\n",
    "dn: CN=x\ncn: y\n \n\n",
    "dn: CN=x\ncn: y\n\n \n",
    "# pagedresults: cookie=abc\n\n# pagedresults: cookie=\n",
    "# pagedresults: cookie=abc\n\ndn: CN=x\n",
    "# extended LDIF\n\ndn: CN=x\n\n# search result\nsearch: 2\nresult: 0 Success\n\ndn: CN=y\n",
    "# base <DC=x> with scope subtree\n# filter: (a=b)\n\n",
    "# base <DC=x> wi\n th scope subtree\n#  filter: (a=b)\n\ndn: CN=x\n",
    "dn: CN=x\x00\n",
    "dn:: Q049eA==\nobjectGUID:: Hrz/\n HqNKnU+lCNTYHx9Ycw==\nobjectGUID:: AA==\n",
    "dn: CN=x\ncn:",
    "dn: CN=x\r",
    "\r",
    "dn: CN=x\n\r\n",
])
def test_edge_cases(tmp_path: Path, text: str) -> None:
    path = tmp_path / "export.ldif"
    for variant in ("latin-1", "crlf"):
        path.write_bytes(encode(text, variant) if variant != "crlf" else text.replace("\n", "\r\n").encode("latin-1"))
        assert_same(path)


def generated(count: int, seed: int) -> str:
    """An ldapsearch-like export: folded lines and comments, base64 DNs and values, paging comments."""
    rng = random.Random(seed)
    out = ["# extended LDIF\n#\n# LDAPv3\n# base <OU=Staff,DC=corp,DC=contoso,DC=com> with scope subtree\n"
           "# filter: (objectClass=user)\n#\n\n"]
    for i in range(count):
        name = rng.choice(["Ada Lovelace", "Núñez, Ana María", "Grace Hopper", "Zoë Ødegård"]) + f" {i}"
        dn = f"CN={name},OU=Engineering and Research,OU=Staff,DC=corp,DC=contoso,DC=com"
        lines = [f"# {name}, Staff, corp.contoso.com " + "x" * rng.randrange(0, 90)]
        lines.append("dn:: " + base64.b64encode(dn.encode()).decode() if not dn.isascii() else f"dn: {dn}")
        lines += [f"cn: {name}" if name.isascii() else "cn:: " + base64.b64encode(name.encode()).decode(),
                  f"objectGUID:: {base64.b64encode(rng.randbytes(16)).decode()}",
                  f"userPrincipalName: user{i}@contoso.com",
                  f"{rng.choice(['mail', 'Mail', 'mail;x-opt'])}: user{i}@contoso.com",
                  f"msDS-aadObjectId: {rng.randbytes(16).hex()}",
                  "memberOf: " + ",".join(f"CN=Group {g}" for g in range(rng.randrange(1, 8)))]
        if rng.random() < 0.3:
            lines.append("mail: second@contoso.com")
        if rng.random() < 0.2:
            lines.append("thumbnailPhoto:: " + base64.b64encode(rng.randbytes(rng.randrange(0, 300))).decode())
        folded = []
        for line in lines:
            width = rng.choice([76, 40, 1000])
            folded.append(test_ldif.fold(line, width) if len(line) > width else line)
        out.append("\n".join(folded) + "\n\n")
        if rng.random() < 0.05:
            out.append("# pagedresults: cookie=" + ("abc" if i < count - 1 else "") + "\n\n")
    out.append("# pagedresults: cookie=\n\n# search result\nsearch: 2\nresult: 0 Success\n\n# numEntries: 1\n")
    return "".join(out)


@pytest.mark.parametrize("block", [64, 1000, 1 << 20])
@pytest.mark.parametrize("crlf", [False, True], ids=["lf", "crlf"])
def test_generated_export_in_small_blocks(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, block: int,
                                          crlf: bool) -> None:
    monkeypatch.setattr(ldif, "_BLOCK", block)
    text = generated(300, seed=block)
    path = tmp_path / "export.ldif"
    path.write_bytes(encode(text, "crlf" if crlf else "plain"))
    assert not assert_same(path), "the fast path should read this export alone"
    entries, problem, base, search = outcome(path, fast=True)
    assert problem is None and len(entries) == 300
    assert (base, search) == ("OU=Staff,DC=corp,DC=contoso,DC=com", "(objectClass=user)")
    # cut anywhere: still the reference's verdict
    data = path.read_bytes()
    for cut in random.Random(1).sample(range(len(data)), 40):
        path.write_bytes(data[:cut])
        assert_same(path)


def test_columns_shape_and_header(tmp_path: Path) -> None:
    path = tmp_path / "ldap_users.ldif"
    path.write_text(test_ldif.LDAPSEARCH_EXTENDED, encoding="utf-8")
    export = LdifExport(path)
    (batch,) = export.columns(["objectGUID", "mail", "sAMAccountName", "memberof"])
    assert batch["dn"] == ["CN=Ada Lovelace,OU=Staff,DC=corp,DC=contoso,DC=com", test_ldif.NUNEZ_DN]
    assert batch["line"] == [10, 25]
    assert batch["objectguid"] == [test_ldif.ADA_GUID_BYTES, bytes.fromhex("0123456789abcdef0123456789abcdef")]
    assert batch["mail"] == [b"ada.lovelace@contoso.com", None]
    assert batch["samaccountname"] == [None, None]
    assert batch["memberof"][0] == b"CN=Mattermost Users,OU=Groups,DC=corp,DC=contoso,DC=com"
    assert export.base_dn == "OU=Staff,DC=corp,DC=contoso,DC=com"
    assert export.empty_message().startswith("ldap_users.ldif holds no entries (ldapsearch base")
    assert export.note() is None
    assert [len(b["dn"]) for b in LdifExport(path).columns(["mail"], batch_rows=1)] == [1, 1]
    with pytest.raises(ValueError):
        list(export.columns(["dn"]))


def test_columns_errors_are_the_iteration_errors(tmp_path: Path) -> None:
    path = tmp_path / "export.ldif"
    path.write_text(test_ldif.LDAPSEARCH_EXTENDED.replace("result: 0 Success", "result: 4 Size limit exceeded"))
    with pytest.raises(InputError) as by_rows:
        list(LdifExport(path).columns(["mail"]))
    with pytest.raises(InputError) as by_entries:
        list(LdifExport(path))
    assert str(by_rows.value) == str(by_entries.value)
    assert str(by_rows.value).startswith("export.ldif: line 38: ")
