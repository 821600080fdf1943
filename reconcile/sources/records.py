"""Reading single fields of a record (a Graph, API or export dict) with errors that name the record.

Sources project records onto their raw tables with these; identifier normal forms are not computed
here but in SQL (sql/stage/). ``_where`` is the record's place, "file: where in it".
"""

from __future__ import annotations

from reconcile.errors import InputError


def where_of(record: dict) -> tuple[str, str | None]:
    where = record.get("_where") or "?"
    file, _, pos = where.partition(": ")
    return file, pos or None


def fail(record: dict, problem: str) -> InputError:
    file, pos = where_of(record)
    return InputError(file, pos, problem)


def text(record: dict, key: str, required: bool = False) -> str | None:
    """A string field; None when absent or empty."""
    value = record.get(key)
    if value is None or value == "":
        if required:
            raise fail(record, f"missing '{key}'; expected a non-empty string")
        return None
    if not isinstance(value, str):
        raise fail(record, f"expected '{key}' to be a string, found {type(value).__name__} {value!r}")
    return value


def lower(value: str | None) -> str | None:
    return value.lower() if value else None


def boolean(record: dict, key: str) -> bool | None:
    value = record.get(key)
    if value is None or isinstance(value, bool):
        return value
    if isinstance(value, str) and value.lower() in ("true", "false"):
        return value.lower() == "true"
    raise fail(record, f"expected '{key}' to be true or false, found {value!r}")


def scalar_text(value: object) -> str | None:
    """A scalar as the raw tables hold it: text as is, booleans 'true'/'false', numbers as written.
    The stage checks then say what a value of the wrong kind should have been."""
    if value is None or isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)
