"""Reading the JSON documents that Graph, the Mattermost API and mmctl write, streaming.

Exports arrive in more than one shape: a single Graph response page, an array of pages that a
script collected while following ``@odata.nextLink``, a bare array of objects, mmctl's array, or
older mmctl's one-object-per-line output. All are accepted; each record's position is kept so an
error can say exactly where the bad record is.

Collections are parsed incrementally with ijson (yajl's C parser), so memory is bounded by one
page, not by the directory: a one-million-user Graph export is 1.2 GiB of JSON, and loading it
whole costs about 6 GiB of Python objects.
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import Iterator
from pathlib import Path
from typing import IO, Any

import ijson

from reconcile.errors import InputError

# On a parse error we re-read the file with the json module to give line and column, but only
# when that is affordable; beyond this size the error names the last good record instead.
LOCATE_ERRORS_UP_TO_BYTES = 256 * 1024 * 1024
_BOM = b"\xef\xbb\xbf"


def load_json(path: Path, display_name: str | None = None) -> Any:
    """Parse a small JSON document (config.json, the license) whole."""
    name = display_name or path.name
    try:
        text = path.read_text(encoding="utf-8-sig")
    except UnicodeDecodeError as exc:
        raise InputError(name, f"byte {exc.start}", "expected UTF-8 encoded JSON") from exc
    if not text.strip():
        raise InputError(name, None, "the file is empty; expected a JSON document")
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise InputError(name, f"line {exc.lineno} column {exc.colno}", f"invalid JSON ({exc.msg})") from exc
    except RecursionError:
        raise InputError(name, None, "JSON nested too deeply to be an export (thousands of levels); expected the "
                         "document the file's name promises") from None


def iter_graph_objects(path: Path, name: str) -> Iterator[tuple[str, dict]]:
    """Yield ``(where, object)`` for every object of a Graph collection export.

    Accepts one page (``{"value": [...]}``), a list of pages, or a list of objects.
    """
    with _open(path, name) as (handle, first):
        if first == b"{":
            yield from _single_page(handle, path, name)
        elif first == b"[":
            for index, item in _items(handle, "item", path, name):
                if isinstance(item, dict) and isinstance(item.get("value"), list):
                    yield from _page_values(item["value"], name, f"page {index + 1}, ")
                elif isinstance(item, dict):
                    yield f"record {index + 1}", item
                else:
                    raise InputError(name, f"record {index + 1}",
                                     f"expected an object (or a Graph page), found {_kind(item)}")
        else:
            raise InputError(name, None, "expected a Graph response page, an array of pages or an array of "
                             f"objects, found text starting with {first!r}")


def iter_object_list(path: Path, name: str) -> Iterator[tuple[str, dict]]:
    """Yield ``(where, object)`` from an array of objects, an array of arrays (API pages), or
    objects written one after another (older mmctl)."""
    with _open(path, name) as (handle, first):
        if first == b"[":
            for index, item in _items(handle, "item", path, name):
                if isinstance(item, list):
                    for inner, obj in enumerate(item):
                        where = f"page {index + 1}, item {inner + 1}"
                        if not isinstance(obj, dict):
                            raise InputError(name, where, f"expected an object, found {_kind(obj)}")
                        yield where, obj
                elif isinstance(item, dict):
                    yield f"record {index + 1}", item
                else:
                    raise InputError(name, f"record {index + 1}", f"expected an object, found {_kind(item)}")
        elif first == b"{":
            values = _items(handle, "", path, name, multiple_values=True)
            held = next(values)
            second = next(values, None)
            if second is None:
                raise InputError(name, None, "expected a JSON array of objects (mmctl --json output) "
                                 "or an array of API pages, found a single object")
            for index, obj in (held, second, *values):
                if not isinstance(obj, dict):
                    raise InputError(name, f"record {index + 1}", f"expected an object, found {_kind(obj)}")
                yield f"record {index + 1}", obj
        else:
            raise InputError(name, None, f"expected a JSON array, found text starting with {first!r}")


def first_byte(path: Path) -> bytes:
    """The first significant byte of a JSON file (after a BOM and white space); b"" when there is none."""
    with path.open("rb") as handle:
        head = handle.read(4096)
        while head:
            text = head.removeprefix(_BOM).lstrip()
            if text:
                return text[:1]
            head = handle.read(4096)
    return b""


@contextlib.contextmanager
def _open(path: Path, name: str) -> Iterator[tuple[IO[bytes], bytes]]:
    """Open a JSON export in binary, skip a UTF-8 BOM and report the first significant byte."""
    with path.open("rb") as handle:
        start = 3 if handle.read(3) == _BOM else 0
        handle.seek(start)
        while (byte := handle.read(1)) and byte.isspace():
            start += 1
        if not byte:
            raise InputError(name, None, "the file is empty; expected a JSON document")
        handle.seek(start)
        yield handle, byte


def _items(handle: IO[bytes], prefix: str, path: Path, name: str,
           multiple_values: bool = False) -> Iterator[tuple[int, Any]]:
    """Enumerate ijson items, turning parse errors into InputErrors that say where."""
    index = -1
    try:
        for index, item in enumerate(
                ijson.items(handle, prefix, use_float=True, multiple_values=multiple_values)):
            yield index, item
    except ijson.JSONError as exc:
        raise _parse_error(path, name, index, exc) from exc


def _single_page(handle: IO[bytes], path: Path, name: str) -> Iterator[tuple[str, dict]]:
    count = 0
    for index, item in _items(handle, "value.item", path, name):
        if not isinstance(item, dict):
            raise InputError(name, f"value[{index}]", f"expected an object, found {_kind(item)}")
        count += 1
        yield f"value[{index}]", item
    if count == 0:
        handle.seek(0)
        events = {(prefix, event) for prefix, event, _ in ijson.parse(handle) if prefix in ("", "value")}
        if ("value", "start_array") not in events:
            raise InputError(name, None, "expected a Graph response page with a 'value' array, "
                             "a JSON array of such pages, or a JSON array of objects")


def _page_values(values: list, name: str, prefix: str) -> Iterator[tuple[str, dict]]:
    for index, item in enumerate(values):
        where = f"{prefix}value[{index}]"
        if not isinstance(item, dict):
            raise InputError(name, where, f"expected an object, found {_kind(item)}")
        yield where, item


def _parse_error(path: Path, name: str, last_good: int, exc: Exception) -> InputError:
    if path.stat().st_size <= LOCATE_ERRORS_UP_TO_BYTES:
        try:
            json.loads(path.read_bytes().decode("utf-8-sig"))
        except json.JSONDecodeError as located:
            if located.msg == "Extra data":  # values one after another: json cannot locate it
                return _unlocated(name, last_good, exc)
            return InputError(name, f"line {located.lineno} column {located.colno}",
                              f"invalid JSON ({located.msg})")
        except UnicodeDecodeError as located:
            return InputError(name, f"byte {located.start}", "expected UTF-8 encoded JSON")
    return _unlocated(name, last_good, exc)


def _unlocated(name: str, last_good: int, exc: Exception) -> InputError:
    where = f"after record {last_good + 1}" if last_good >= 0 else "before the first record"
    message = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
    return InputError(name, where, f"invalid JSON ({message})")


def _kind(value: object) -> str:
    return {dict: "an object", list: "an array", str: "a string", bool: "a boolean",
            type(None): "null"}.get(type(value), type(value).__name__)
