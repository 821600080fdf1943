"""JSON exports in every shape Graph, mmctl and the API produce, read as a stream."""

from __future__ import annotations

import json
import tracemalloc

import pytest
from tenant import entra_user, mm_user

from reconcile.errors import InputError
from reconcile.sources import jsonfile
from reconcile.sources.entra_files import read_graph_users
from reconcile.sources.mattermost_files import read_mattermost_users


def _ids(records):
    return [(r["_where"], r["id"]) for r in records]


def test_graph_single_page_array_of_pages_and_array_of_users(tmp_path):
    users = [entra_user(n) for n in range(3)]
    page = tmp_path / "page.json"
    page.write_text(json.dumps({"@odata.context": "x", "value": users, "@odata.nextLink": "https://n"}))
    pages = tmp_path / "pages.json"
    pages.write_text(json.dumps([{"value": users[:2], "@odata.nextLink": "n"}, {"value": users[2:]}]))
    bare = tmp_path / "bare.json"
    bare.write_text("\ufeff" + json.dumps(users), encoding="utf-8")
    assert [w for w, _ in _ids(read_graph_users(page, "p"))] == ["p: value[0]", "p: value[1]", "p: value[2]"]
    assert [w for w, _ in _ids(read_graph_users(pages, "p"))] == [
        "p: page 1, value[0]", "p: page 1, value[1]", "p: page 2, value[0]"]
    assert [i for _, i in _ids(read_graph_users(bare, "b"))] == [u["id"] for u in users]


def test_graph_page_without_value_is_refused(tmp_path):
    path = tmp_path / "x.json"
    path.write_text(json.dumps({"error": {"code": "Authorization_RequestDenied"}}))
    with pytest.raises(InputError, match="'value' array"):
        list(read_graph_users(path))
    path.write_text(json.dumps({"value": []}))
    assert list(read_graph_users(path)) == []


def test_mattermost_array_api_pages_and_concatenated_objects(tmp_path):
    users = [mm_user(n) for n in range(4)]
    array = tmp_path / "a.json"
    array.write_text(json.dumps(users))
    api_pages = tmp_path / "p.json"
    api_pages.write_text(json.dumps([users[:3], users[3:], []]))
    lines = tmp_path / "l.json"
    lines.write_text("\n".join(json.dumps(u) for u in users) + "\n")
    for path, first_where in ((array, "record 1"), (api_pages, "page 1, item 1"), (lines, "record 1")):
        records = list(read_mattermost_users(path, "mm"))
        assert [r["id"] for r in records] == [u["id"] for u in users]
        assert records[0]["_where"] == f"mm: {first_where}"


def test_truncated_json_names_the_last_good_record_when_too_big_to_locate(tmp_path, monkeypatch):
    path = tmp_path / "mattermost_users.json"
    path.write_text(json.dumps([mm_user(n) for n in range(5)])[:-40])
    with pytest.raises(InputError, match=r"line 1 column \d+: invalid JSON"):
        list(read_mattermost_users(path))
    monkeypatch.setattr(jsonfile, "LOCATE_ERRORS_UP_TO_BYTES", 10)
    with pytest.raises(InputError, match="after record 4: invalid JSON"):
        list(read_mattermost_users(path))


def test_graph_export_streams_with_bounded_memory(tmp_path):
    """50,000 users (20 MiB of JSON, several times that as Python objects) are read a page at a time."""
    path = tmp_path / "entra_users.json"
    with path.open("w") as handle:
        handle.write("[")
        for page in range(50):
            handle.write("," if page else "")
            json.dump({"value": [entra_user(page * 1000 + n) for n in range(1000)]}, handle)
        handle.write("]")
    assert path.stat().st_size > 15 * 2**20
    tracemalloc.start()
    try:
        count = sum(1 for _ in read_graph_users(path))
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert count == 50_000
    assert peak < 8 * 2**20, f"peak {peak / 2**20:.1f} MiB: the export is being held whole"
