"""Reading the JSON documents that Graph, the Mattermost API and mmctl write.

Exports arrive in more than one shape: a single Graph response page, an array of pages that a
script collected while following ``@odata.nextLink``, a bare array of objects, mmctl's array, or
older mmctl's one-object-per-line output. All are accepted; the record's position is kept so an
error can say exactly where the bad record is.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from reconcile.errors import InputError


def load_json(path: Path, display_name: str | None = None) -> Any:
    """Parse a JSON file, accepting concatenated/line-delimited documents as a list of them."""
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
        if exc.msg != "Extra data":
            raise _decode_error(name, exc) from exc
    # Several JSON values one after another (mmctl before 7.x printed one object per line).
    decoder = json.JSONDecoder()
    values, pos = [], 0
    while True:
        while pos < len(text) and text[pos].isspace():
            pos += 1
        if pos >= len(text):
            return values
        try:
            value, pos = decoder.raw_decode(text, pos)
        except json.JSONDecodeError as exc:
            raise _decode_error(name, exc) from exc
        values.append(value)


def _decode_error(name: str, exc: json.JSONDecodeError) -> InputError:
    return InputError(name, f"line {exc.lineno} column {exc.colno}", f"invalid JSON ({exc.msg})")


def iter_graph_objects(doc: Any, name: str) -> Iterator[tuple[str, dict]]:
    """Yield ``(where, object)`` for every object in a Graph collection export.

    Accepts one page (``{"value": [...]}``), a list of pages, or a list of objects.
    """
    if isinstance(doc, dict):
        if "value" not in doc:
            raise InputError(name, None, "expected a Graph response page with a 'value' array, "
                             "a JSON array of such pages, or a JSON array of objects")
        yield from _page_items(doc, name, None)
        return
    if not isinstance(doc, list):
        raise InputError(name, None, f"expected a JSON object or array, found {type(doc).__name__}")
    for index, item in enumerate(doc):
        if isinstance(item, dict) and isinstance(item.get("value"), list):
            yield from _page_items(item, name, index + 1)
        elif isinstance(item, dict):
            yield f"record {index + 1}", item
        else:
            raise InputError(name, f"record {index + 1}",
                             f"expected an object (or a Graph page), found {type(item).__name__}")


def _page_items(page: dict, name: str, page_no: int | None) -> Iterator[tuple[str, dict]]:
    values = page.get("value")
    prefix = f"page {page_no}, " if page_no else ""
    if not isinstance(values, list):
        raise InputError(name, f"{prefix}'value'".strip(", "), "expected 'value' to be an array")
    for index, item in enumerate(values):
        where = f"{prefix}value[{index}]"
        if not isinstance(item, dict):
            raise InputError(name, where, f"expected an object, found {type(item).__name__}")
        yield where, item


def iter_object_list(doc: Any, name: str) -> Iterator[tuple[str, dict]]:
    """Yield ``(where, object)`` from an array of objects or an array of such arrays (API pages)."""
    if isinstance(doc, dict):
        raise InputError(name, None, "expected a JSON array of objects (mmctl --json output) "
                         "or an array of API pages, found a single object")
    if not isinstance(doc, list):
        raise InputError(name, None, f"expected a JSON array, found {type(doc).__name__}")
    for index, item in enumerate(doc):
        if isinstance(item, list):
            for inner, obj in enumerate(item):
                where = f"page {index + 1}, item {inner + 1}"
                if not isinstance(obj, dict):
                    raise InputError(name, where, f"expected an object, found {type(obj).__name__}")
                yield where, obj
        elif isinstance(item, dict):
            yield f"record {index + 1}", item
        else:
            raise InputError(name, f"record {index + 1}",
                             f"expected an object, found {type(item).__name__}")
