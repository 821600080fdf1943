"""Mattermost exports: ``mmctl user list --all --json``, API user pages, config.json, client license.

User records keep the API's field names (``id``, ``auth_service``, ``auth_data``, ``delete_at``,
``is_bot``) so the live API and database extractors can yield the very same dicts.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

from reconcile.errors import InputError
from reconcile.sources.jsonfile import iter_object_list, load_json


def read_mattermost_users(path: Path, display_name: str | None = None) -> Iterator[dict]:
    """Users from mmctl's JSON array or from a JSON array of ``GET /api/v4/users`` pages."""
    name = display_name or path.name
    for where, obj in iter_object_list(path, name):
        yield {**obj, "_where": f"{name}: {where}"}


def read_json_object(path: Path, what: str, display_name: str | None = None) -> dict:
    """A single JSON object document (config.json, the client license)."""
    name = display_name or path.name
    doc = load_json(path, name)
    if not isinstance(doc, dict):
        raise InputError(name, None, f"expected a JSON object ({what}), found {type(doc).__name__}")
    return doc
