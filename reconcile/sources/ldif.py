"""Streaming reader for LDIF exports of AD / Entra Domain Services (ldapsearch, ldifde -f).

We parse LDIF ourselves rather than use python-ldap's ``ldif`` module or ldif3 because:

* errors must name the line, so the directory team can fix the export without reading our code;
* ldapsearch reports a size- or admin-limited search only in its ``result:`` trailer, a record that
  LDIF libraries skip or reject; an export cut short must not pass as complete, or every user missing
  from it would surface as a finding;
* values stay raw bytes, like ldap3's ``raw_attributes``, so binary attributes such as objectGUID reach
  :mod:`reconcile.identifiers` untouched whatever tool wrote the file.

Two parsers share those rules. The line-by-line one (``_lines`` / ``_unfold`` / ``_Reader``) is the
reference: it is simple enough to check against RFC 2849 by reading, and every message comes from it.
At a million entries it costs tens of seconds, the largest single cost of a run, so exports are read by
a fast path first (``_FastPath``): large blocks cut at blank lines, one regex per record, checks done per
block (NUL, stray CR, UTF-8). The fast path only ever accepts: whenever it meets something it is not
certain of (a line its pattern does not cover, a comment inside a record, a record that is not an
entry, any error at all), it gives up and the reference parser reads the file again from the start,
skipping the entries already produced. So errors, and what is accepted, are the reference parser's by
construction; tests/test_ldif_fast.py checks that the entries are too.
"""

from __future__ import annotations

import base64
import binascii
import codecs
import io
import re
from collections.abc import Callable, Iterable, Iterator, Sequence
from functools import partial
from itertools import islice
from pathlib import Path
from typing import BinaryIO, TypeVar

from reconcile.errors import InputError

_T = TypeVar("_T")

_BOMS = ((b"\xef\xbb\xbf", "utf-8"), (b"\xff\xfe", "utf-16-le"), (b"\xfe\xff", "utf-16-be"))
# RFC 4512 names are letters, digits and '-' (or an OID); '_' tolerates directories that stretch it.
_NAME_RE = re.compile(rb"[A-Za-z0-9][A-Za-z0-9_.-]*")
_COOKIE_RE = re.compile(rb"\bcookie=(\S*)")
_BASE_RE = re.compile(rb"# base <(.*)> with scope \S+")  # ldapsearch's header names what it searched
_FILTER_RE = re.compile(rb"# filter: (.*\S)")
_LIMIT_RESULTS = {3, 4, 11}  # timeLimitExceeded, sizeLimitExceeded, adminLimitExceeded

_CHANGE_FILE = "expected an export (ldapsearch or ldifde -f), but this is an LDIF change file"
_NO_RESULT = (
    "the file starts with ldapsearch's '# extended LDIF' header but does not end with its "
    "'result:' line; the export looks truncated"
)
_CUT_RESULT = "ldapsearch's search result has no 'result:' line; the export looks truncated"
_CUT_LINE = "the file ends in the middle of a line; the export looks truncated"
_MORE_PAGES = (
    "the last paged-results cookie is not empty, so ldapsearch stopped before the last page; "
    "the export is incomplete"
)


def read_ldif(path: Path, display_name: str | None = None) -> Iterator[dict]:
    """Yield one dict per entry: {"dn": str, "attributes": {name: list[bytes]}, "_where": "<name> line N"}.

    Names are lowercased without options; "_where" points at the entry's dn: line. Entries come out as
    soon as their record ends, so memory is bounded by the largest entry rather than by the file.
    Anything that is not a complete export raises InputError naming the file and line. A file with no
    entries at all yields nothing: whether that is a failure is the caller's call (see LdifExport).
    """
    yield from LdifExport(path, display_name)


class LdifExport:
    """One export's entries (iterate, as :func:`read_ldif`), and what its ldapsearch header says was searched.

    The header is known once the file has been read, which is when an empty export needs it: an export
    with no entries is a wrong base DN or filter far more often than an empty directory, and the message
    for it should name both.
    """

    def __init__(self, path: Path, display_name: str | None = None, *, fast: bool = True):
        self.path = path
        self.file = display_name or path.name
        self.fast = fast  # False: only the reference parser (tests compare the two)
        self.base_dn: str | None = None  # from '# base <...> with scope ...', when ldapsearch wrote one
        self.search_filter: str | None = None  # from '# filter: ...'
        self.fell_back = False  # whether the last read had to hand over to the reference parser

    def __iter__(self) -> Iterator[dict]:
        done = 0
        if self.fast:
            self.fell_back = False
            try:
                for entry in _FastPath(self).entries():
                    done += 1
                    yield entry
                return
            except _NotSure:
                self.fell_back = True
        yield from islice(self._strict(), done, None)

    def columns(self, wanted: Sequence[str], batch_rows: int = 50_000) -> Iterator[dict[str, list]]:
        """The entries as column batches, for landing into DuckDB without a dict per entry.

        Each batch holds up to ``batch_rows`` entries: "dn" (str), "line" (the dn: line) and, for each
        attribute name in ``wanted`` (matched like entry attributes: lowercased, without options), the
        entry's first value as bytes (base64 decoded) or None. The whole file is validated exactly as
        iteration validates it, and raises the same errors.
        """
        names = list(dict.fromkeys(name.lower() for name in wanted))
        if {"dn", "line"} & set(names):
            raise ValueError("'dn' and 'line' are always columns; ask only for attributes")
        if batch_rows < 1:
            raise ValueError("batch_rows must be positive")
        slots = {name: i for i, name in enumerate(names, 2)}  # a row is [dn, line, *values]
        rows: list[list] = []
        done = 0  # rows taken from the fast path; the reference parser skips as many entries
        if self.fast:
            self.fell_back = False
            try:
                for chunk in _FastPath(self).rows(slots):
                    done += len(chunk)
                    rows += chunk
                    while len(rows) >= batch_rows:
                        yield _batch(names, rows[:batch_rows])
                        del rows[:batch_rows]
            except _NotSure:
                self.fell_back = True
            else:
                if rows:
                    yield _batch(names, rows)
                return
        for entry in islice(self._strict(), done, None):
            attributes = entry["attributes"]
            row = [entry["dn"], int(entry["_where"].rsplit(" ", 1)[1])]
            for name in names:
                found = attributes.get(name)
                row.append(found[0] if found else None)
            rows.append(row)
            if len(rows) >= batch_rows:
                yield _batch(names, rows)
                rows = []
        if rows:
            yield _batch(names, rows)

    def _strict(self) -> Iterator[dict]:
        reader = _Reader(self.file, self)
        with self.path.open("rb") as raw:
            yield from reader.entries(_unfold(_lines(raw, self.file, reader.cut_at), self.file))

    def note(self) -> str | None:
        return None  # the header describes the export, not the audit; it is shown when it matters (empty)

    def empty_message(self) -> str:
        searched = [f'{what} "{value}"' for what, value in (("base", self.base_dn), ("filter", self.search_filter))
                    if value]
        where = f" (ldapsearch {', '.join(searched)})" if searched else ""
        return f"{self.file} holds no entries{where}; expected the users Mattermost syncs"


def _batch(names: list[str], rows: list[list]) -> dict[str, list]:
    columns = [list(column) for column in zip(*rows, strict=True)] if rows else [[] for _ in range(len(names) + 2)]
    return dict(zip(("dn", "line", *names), columns, strict=True))


class _NotSure(Exception):
    """The fast path met something only the reference parser may judge; it reads the file again."""


_BLOCK = 1 << 20  # 1 MiB: large enough that per-block work is noise, small enough to stream in bounded memory
# One attribute line, unfolded: name (options dropped), ':' or '::' (or ':<', refused later), value.
# ' *' takes the spaces the reference parser strips; the name is _NAME_RE; options never hold a ':'.
_LINE_RE = re.compile(rb"^([A-Za-z0-9][A-Za-z0-9_.-]*)(?:;[^:\n]*)?:([:<]?) *(.*)$", re.M)
# The only comments _Reader._comment acts on (all others are skipped without looking further).
_TOLD = (b"# extended LDIF", b"# search result", b"# pagedresults:", b"# base <", b"# filter: ")


class _FastPath:
    """Whole blocks at a time: what is common in real exports, and nothing else.

    It accepts a record only when it starts with 'dn:' (after comments) and every line matches
    _LINE_RE; comments inside a record, version/search/ref records and records not starting with 'dn:'
    go to the reference parser's own record logic (_Reader._record), fed the same numbered lines; any
    error raises _NotSure, so the message comes from a full reference read.
    """

    def __init__(self, export: LdifExport):
        self.export = export
        self.reader = _Reader(export.file, export)
        self.names: dict[bytes, str] = {}  # raw attribute name -> lowercased str; never "dn"

    def _name(self, raw: bytes) -> str:
        name = raw.decode("ascii").lower()
        if name == "dn":  # a dn: line inside an entry: a missing blank line, reported by the reference
            raise _NotSure
        self.names[raw] = name
        return name

    def _blocks(self) -> Iterator[tuple[int, bytes]]:
        """(number of the first line, text): UTF-8, LF line endings, ending with a blank line.

        Cut at a blank line, so no record spans two blocks. Anything the reference parser would look
        at line by line (NUL, a CR that is not part of CRLF, text that is not UTF-8) is not sure.
        """
        with self.export.path.open("rb") as raw:
            head = raw.read(3)
            bom, encoding = next(((b, e) for b, e in _BOMS if head.startswith(b)), (b"", "utf-8"))
            raw.seek(len(bom))
            reads: Iterator[bytes] = iter(partial(raw.read, _BLOCK), b"")
            if encoding != "utf-8":
                reads = _recoded(reads, encoding)
            line, rest = 1, b""
            for data in reads:
                text = rest + data
                held = b""
                if text.endswith(b"\r"):  # maybe the first half of a CRLF
                    text, held = text[:-1], b"\r"
                if b"\r" in text:
                    text = text.replace(b"\r\n", b"\n")
                    if b"\r" in text:
                        raise _NotSure
                cut = text.rfind(b"\n\n")
                if cut < 0:
                    rest = text + held
                    continue
                block, rest = text[: cut + 2], text[cut + 2 :] + held
                _check(block)
                yield line, block
                line += block.count(b"\n")
            text = rest.removesuffix(b"\r")  # a lone CR at the very end is a line ending cut short
            if text:
                # The last line may lack its ending. If everything parses the export is whole (the reference
                # parser agrees); if not, the reference parser decides whether it was cut.
                if not text.endswith(b"\n"):
                    text += b"\n"
                if not text.endswith(b"\n\n"):
                    text += b"\n"
                _check(text)
                yield line, text

    def _records(self) -> Iterator[tuple[int, bytes] | dict]:
        """(dn line number, unfolded record text starting with 'dn:'), or an entry the reference logic made."""
        reader = self.reader
        for start, block in self._blocks():
            for piece in block.split(b"\n\n"):
                line = start
                start += piece.count(b"\n") + 2
                if not piece:
                    continue
                if piece[0] == 10:  # more blank lines
                    text = piece.lstrip(b"\n")
                    line += len(piece) - len(text)
                    piece = text
                while piece.startswith(b"#"):
                    end = piece.find(b"\n")
                    if end >= 0 and not piece.startswith(b" ", end + 1) and not piece.startswith(_TOLD):
                        line += 1  # the common case: one plain comment line, such as ldapsearch's '# cn, ou, ...'
                        piece = piece[end + 1 :]
                        continue
                    while end >= 0 and piece.startswith(b" ", end + 1):  # a folded comment
                        end = piece.find(b"\n", end + 1)
                    comment, piece = (piece, b"") if end < 0 else (piece[:end], piece[end + 1 :])
                    line += comment.count(b"\n") + 1
                    if b"\n " in comment:
                        comment = comment.replace(b"\n ", b"")
                    if comment.startswith(_TOLD):
                        reader._comment(comment)
                if not piece:
                    continue
                if piece.startswith(b"dn:") and b"\n#" not in piece:
                    if reader.extended:
                        reader.unfinished = _NO_RESULT
                    yield line, piece.replace(b"\n ", b"") if b"\n " in piece else piece
                    continue
                record: list[tuple[int, bytes]] = []
                try:
                    for n, text in _unfold(enumerate(piece.split(b"\n"), line), reader.file):
                        if text is None:
                            continue
                        if text.startswith(b"#"):
                            reader._comment(text)
                        else:
                            record.append((n, text))
                    entry = reader._record(record) if record else None
                except InputError:
                    raise _NotSure from None
                if entry is not None:
                    yield entry
        if reader.unfinished:
            raise _NotSure

    def _fields(self, text: bytes) -> tuple[str, list[tuple[bytes, bytes, bytes]]]:
        """The DN and the (raw name, '' or ':' or '<', value) of every other line, or not sure."""
        fields = _LINE_RE.findall(text)
        if len(fields) != text.count(b"\n") + 1:
            raise _NotSure
        _, flag, value = fields[0]
        if flag:
            if flag != b":":
                raise _NotSure
            value = base64.b64decode(value.rstrip(b" "), validate=True)
        dn = value.decode("utf-8")
        del fields[0]
        while fields and (self.names.get(fields[0][0]) or self._name(fields[0][0])) == "changetype":
            _, flag, value = fields.pop(0)  # ldifde -f: 'changetype: add' before any attribute
            if flag:
                if flag != b":":
                    raise _NotSure
                value = base64.b64decode(value.rstrip(b" "), validate=True)
            if value.strip().lower() != b"add":
                raise _NotSure
        return dn, fields

    def entries(self) -> Iterator[dict]:
        file, names, name_of = self.export.file, self.names, self._name
        for item in self._records():
            if type(item) is dict:
                yield item
                continue
            line, text = item
            try:
                dn, fields = self._fields(text)
                attributes: dict[str, list[bytes]] = {}
                for raw, flag, value in fields:
                    name = names.get(raw) or name_of(raw)
                    if flag:
                        if flag != b":":
                            raise _NotSure
                        value = base64.b64decode(value.rstrip(b" "), validate=True)
                    found = attributes.get(name)
                    if found is None:
                        attributes[name] = [value]
                    else:
                        found.append(value)
            except ValueError:  # binascii.Error, UnicodeDecodeError
                raise _NotSure from None
            yield {"dn": dn, "attributes": attributes, "_where": f"{file} line {line}"}

    def rows(self, slots: dict[str, int]) -> Iterator[list[list]]:
        """Per block, one [dn, dn line, *first values] per entry; slots maps a wanted name to its index."""
        names, name_of, width = self.names, self._name, len(slots) + 2
        slot_of: dict[bytes, int] = {}  # raw name (options included) -> its slot, 0 when not wanted
        blank = [None] * (width - 2)
        rows: list[list] = []
        for item in self._records():
            if type(item) is dict:
                row = [item["dn"], int(item["_where"].rsplit(" ", 1)[1])] + [None] * (width - 2)
                for name, i in slots.items():
                    found = item["attributes"].get(name)
                    if found:
                        row[i] = found[0]
                rows.append(row)
                continue
            line, text = item
            try:
                dn, fields = self._fields(text)
                row = [dn, line, *blank]
                for raw, flag, value in fields:
                    i = slot_of.get(raw)
                    if i is None:  # a raw name not seen yet (checked, so a 'dn' inside the entry is caught)
                        i = slot_of[raw] = slots.get(names.get(raw) or name_of(raw), 0)
                    if flag:
                        if flag != b":":
                            raise _NotSure
                        value = base64.b64decode(value.rstrip(b" "), validate=True)
                    if i and row[i] is None:
                        row[i] = value
            except ValueError:
                raise _NotSure from None
            rows.append(row)
            if len(rows) >= 4096:
                yield rows
                rows = []
        if rows:
            yield rows


def _recoded(reads: Iterable[bytes], encoding: str) -> Iterator[bytes]:
    """UTF-16 blocks (ldifde -u) as UTF-8; a character split between two reads is carried over."""
    decoder = codecs.getincrementaldecoder(encoding)()
    try:
        for data in reads:
            yield decoder.decode(data).encode("utf-8")
        yield decoder.decode(b"", final=True).encode("utf-8")
    except UnicodeDecodeError:
        raise _NotSure from None


def _check(block: bytes) -> None:
    """No NUL, and valid UTF-8 throughout: then every text value and DN in the block is valid UTF-8
    (removing line breaks and ASCII delimiters cannot make a valid sequence invalid)."""
    if b"\0" in block:
        raise _NotSure
    if not block.isascii():
        try:
            block.decode("utf-8")
        except UnicodeDecodeError:
            raise _NotSure from None


def _lines(raw: BinaryIO, file: str, cut_at: Callable[[int], None]) -> Iterator[tuple[int, bytes]]:
    """Numbered lines as UTF-8 bytes without their line ending.

    ldifde -u writes UTF-16 with a BOM; every other tool writes UTF-8 (ldifde without -u base64-encodes
    non-ASCII). Working in bytes keeps base64 values and line numbers exact. A last line without its line
    ending is common (ldifde, editors) and says nothing by itself: it is passed on, and ``cut_at`` told its
    number, so the reader can call it cut if it does not parse.
    """
    head = raw.read(3)
    bom, encoding = next(((b, e) for b, e in _BOMS if head.startswith(b)), (b"", "utf-8"))
    raw.seek(len(bom))
    lines: Iterable[bytes] = raw
    if encoding != "utf-8":
        lines = (text.encode("utf-8") for text in io.TextIOWrapper(raw, encoding=encoding, newline="\n"))
    lineno = 0
    try:
        for lineno, line in enumerate(lines, 1):
            if b"\0" in line:
                raise InputError(
                    file,
                    f"line {lineno}",
                    "contains NUL bytes; expected UTF-8 text (this looks like UTF-16 without a byte-order "
                    "mark: save the export as UTF-8, or as UTF-16 with a BOM as ldifde -u does)",
                )
            if not line.endswith(b"\n"):  # only the last line can lack it
                line = line.removesuffix(b"\r")
                if line:  # a lone CR is a line ending cut short, not a line
                    cut_at(lineno)
                yield lineno, line
                return
            yield lineno, line[:-2] if line.endswith(b"\r\n") else line[:-1]
    except UnicodeDecodeError as exc:
        raise InputError(
            file,
            f"after line {lineno}",
            f"expected {encoding} text, as the file's byte-order mark says: {exc}",
        ) from exc


def _unfold(lines: Iterable[tuple[int, bytes]], file: str) -> Iterator[tuple[int, bytes | None]]:
    """Join folded lines (a leading space continues the previous line, comments included).

    Yields (number of the first physical line, logical line); None stands for a blank line, and one
    more None marks the end of the file so the last record is closed like any other.
    """
    start = lineno = 0
    parts: list[bytes] = []
    for lineno, line in lines:
        if line.startswith(b" "):
            if not parts:
                raise InputError(
                    file,
                    f"line {lineno}",
                    "expected 'attribute: value'; a line starting with a space continues the previous "
                    "line, and there is none to continue",
                )
            parts.append(line[1:])
            continue
        if parts:
            yield start, b"".join(parts)
        start, parts = lineno, [line] if line else []
        if not line:
            yield lineno, None
    if parts:
        yield start, b"".join(parts)
    yield lineno, None


class _Reader:
    """Turns logical lines into entries, remembering what tells a complete export from a cut-off one."""

    def __init__(self, file: str, export: LdifExport | None = None):
        self.file = file
        self.export = export  # told the header's base DN and filter
        self.extended = False  # ldapsearch without -L: its 'result:' trailer must close the file
        self.unfinished: str | None = None  # why the file may not end here, if it may not
        self.unterminated: int | None = None  # the last physical line, when it lacks its line ending
        self.cut_start: int | None = None  # first line of the logical line holding it, while that is parsed

    def cut_at(self, lineno: int) -> None:
        self.unterminated = lineno

    def entries(self, lines: Iterable[tuple[int, bytes | None]]) -> Iterator[dict]:
        record: list[tuple[int, bytes]] = []
        lineno = 0
        last = False  # whether the latest logical line is a record line (not a comment)
        for lineno, line in lines:
            if line is None:
                if self.unterminated is not None and last and record:
                    self.cut_start = record[-1][0]  # this record ends the file, in a line without its ending
                entry = self._record(record) if record else None
                record = []
                if entry is not None:
                    yield entry
            elif line.startswith(b"#"):
                last = False
                self._comment(line)
            else:
                last = True
                record.append((lineno, line))
        if self.unfinished:
            raise InputError(self.file, f"end of file (line {lineno})", self.unfinished)

    def _comment(self, line: bytes) -> None:
        """ldapsearch's comments are the only sign of its output mode and, with -LLL, of paging."""
        if line.rstrip() == b"# extended LDIF":
            self.extended = True
            self.unfinished = _NO_RESULT
        elif line.rstrip() == b"# search result":  # the trailer's own header: its 'result:' line must follow
            self.unfinished = _CUT_RESULT
        elif line.startswith(b"# pagedresults:"):
            self._page_cookie(line)
        elif self.export is not None and (match := _BASE_RE.fullmatch(line.rstrip())):
            self.export.base_dn = match.group(1).decode("utf-8", "replace")
        elif self.export is not None and (match := _FILTER_RE.fullmatch(line.rstrip())):
            self.export.search_filter = match.group(1).decode("utf-8", "replace")

    def _page_cookie(self, text: bytes) -> None:
        """ldapsearch asks for another page while the cookie is non-empty; the last page's is empty."""
        match = _COOKIE_RE.search(text)
        if match and match.group(1):
            self.unfinished = _MORE_PAGES
        elif self.unfinished == _MORE_PAGES:
            self.unfinished = None

    def _record(self, record: list[tuple[int, bytes]]) -> dict | None:
        lineno, line = record[0]
        name, value = self._parse(lineno, line, f"line {lineno}")
        if name == "version":  # allowed at the top; ldapsearch -L repeats it on every page
            if value != b"1":
                raise InputError(self.file, f"line {lineno}", "expected 'version: 1' (RFC 2849)")
            record = record[1:]
            if not record:
                return None
            lineno, line = record[0]
            name, value = self._parse(lineno, line, f"line {lineno}")
        if name in ("search", "extended"):  # ldapsearch's search result, or a message from the server
            self._result(record, closes_search=name == "search")
            return None
        if name == "ref":  # a search reference points at another server; it holds no entry
            return None
        if name != "dn":
            raise InputError(
                self.file, f"line {lineno}", f"expected 'dn:' to start the entry, found '{name}:'"
            )
        dn = self._checked(lineno, lambda: self._text(value, f"line {lineno}", "the DN"))
        attributes: dict[str, list[bytes]] = {}
        for n, line in record[1:]:
            where = f"line {n}, entry {dn}"
            name, value = self._parse(n, line, where)
            if name == "dn":
                raise InputError(self.file, where, "expected a blank line before the next entry's 'dn:'")
            if name == "changetype" and not attributes:
                if value.strip().lower() == b"add":  # ldifde -f writes it into every exported entry
                    continue
                raise InputError(self.file, where, f"{_CHANGE_FILE} ('changetype: {_show(value)}')")
            attributes.setdefault(name, []).append(value)
        if self.extended:
            self.unfinished = _NO_RESULT
        return {"dn": dn, "attributes": attributes, "_where": f"{self.file} line {lineno}"}

    def _result(self, record: list[tuple[int, bytes]], closes_search: bool) -> None:
        """Only ldapsearch's 'result:' line says whether the server returned everything.

        A server message (such as a notice of disconnection) carries a result too, but never ends the search.
        """
        fields = [(n, *self._parse(n, line, f"line {n}")) for n, line in record]
        detail = "".join(f" ({_show(v)})" for _, name, v in fields if name == "text")
        if closes_search and not any(name == "result" for _, name, _ in fields):
            self.unfinished = _CUT_RESULT
        for lineno, name, value in fields:
            if name == "result":
                code = value.split(b" ", 1)[0]
                if not code.isdigit():
                    raise InputError(self.file, f"line {lineno}", "expected 'result: <code> <message>'")
                if int(code) != 0:
                    hint = "Fix what it reports"
                    if int(code) in _LIMIT_RESULTS:
                        hint = "Page the search (ldapsearch -E pr=1000/noprompt) or raise the server's limit"
                    raise InputError(
                        self.file,
                        f"line {lineno}",
                        f"ldapsearch reported 'result: {_show(value)}'{detail}: the server ended the search "
                        f"early, so the export is incomplete. {hint}, then export again",
                    )
                if closes_search:
                    self.unfinished = None
            elif name == "pagedresults":
                self._page_cookie(value)

    def _parse(self, lineno: int, line: bytes, where: str) -> tuple[str, bytes]:
        """Split 'name: text' or 'name:: base64' into the bare lowercased name and the raw value."""
        return self._checked(lineno, lambda: self._split(line, where))

    def _checked(self, lineno: int, parse: Callable[[], _T]) -> _T:
        """Parse the logical line starting at lineno; if it is the one that ends the file without a line
        ending and it does not parse (a base64 value of impossible length, a name without its colon, a
        UTF-8 sequence cut short), the file was cut there. If it parses, its value is complete."""
        try:
            return parse()
        except InputError as exc:
            if lineno != self.cut_start:
                raise
            raise InputError(self.file, f"line {self.unterminated}", _CUT_LINE) from exc

    def _split(self, line: bytes, where: str) -> tuple[str, bytes]:
        if line == b"-":
            raise InputError(self.file, where, f"{_CHANGE_FILE} ('-' separates modifications)")
        raw_name, colon, rest = line.partition(b":")
        if not colon:
            raise InputError(self.file, where, f"expected 'attribute: value', found '{_show(line)}'")
        name = raw_name.split(b";", 1)[0]  # attribute options: objectGUID;binary is objectGUID
        if not _NAME_RE.fullmatch(name):
            problem = (
                "the attribute name is empty" if not name else f"'{_show(raw_name)}' is not an attribute name"
            )
            raise InputError(self.file, where, f"expected 'attribute: value'; {problem}")
        shown = name.decode("ascii")
        if rest.startswith(b":"):
            try:
                return shown.lower(), base64.b64decode(rest[1:].strip(b" "), validate=True)
            except binascii.Error as exc:
                raise InputError(self.file, where, f"expected base64 after '{shown}::' ({exc})") from exc
        if rest.startswith(b"<"):
            raise InputError(
                self.file,
                where,
                f"'{shown}:<' (value read from a URL) is not supported; expected the value inline",
            )
        value = rest.lstrip(b" ")
        self._text(value, where, "the DN" if shown.lower() == "dn" else f"the value of '{shown}'")
        return shown.lower(), value

    def _text(self, value: bytes, where: str, what: str) -> str:
        try:
            return value.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise InputError(
                self.file,
                where,
                f"{what} is not valid UTF-8 ({exc.reason} at byte {exc.start}); expected UTF-8 text, "
                "with binary values base64-encoded as 'name:: ...'",
            ) from exc


def _show(raw: bytes, limit: int = 80) -> str:
    """Bytes for an error message: readable whatever they hold, and never a whole jpegPhoto."""
    text = raw.decode("utf-8", "replace")
    return text if len(text) <= limit else text[:limit] + "..."
