"""JSON exports landed by DuckDB's reader: every shape Graph and mmctl write gives the same records,
in the same places, as the streaming reader; any other shape is left to the streaming reader."""

from __future__ import annotations

import json

import pytest
from tenant import entra_user, mm_user

from reconcile.sources.entra import ENTRA_USER, land_users_file
from reconcile.sources.entra_files import read_graph_users
from reconcile.sources.json_native import land_collection
from reconcile.sources.mattermost import MM_USER
from reconcile.sources.mattermost_files import read_mattermost_users
from reconcile.store import create_staging, open_workspace


@pytest.fixture
def con():
    with open_workspace() as workspace:
        create_staging(workspace)
        yield workspace


def _landed(con, table: str) -> list[tuple]:
    return con.execute(f"SELECT id, source_ref FROM work.{table} ORDER BY id").fetchall()


def _streamed(records) -> list[tuple]:
    return sorted((r["id"], r["_where"]) for r in records)


USERS = [entra_user(n) for n in range(5)]
GRAPH_SHAPES = {
    "single page": {"@odata.context": "x", "value": USERS, "@odata.nextLink": "https://next"},
    "array of pages": [{"value": USERS[:2], "@odata.nextLink": "n"}, {"value": USERS[2:]}],
    "array of users": USERS,
    "pages and users mixed": [{"value": USERS[:2]}, USERS[2], {"value": []}, {"value": USERS[3:]}],
}


def test_a_byte_order_mark_is_read_past(con, tmp_path):
    path = tmp_path / "entra_users.json"
    path.write_text("\ufeff" + json.dumps(USERS), encoding="utf-8")
    assert land_collection(con, path, "entra_users.json", "raw_entra_users", ENTRA_USER) == len(USERS)
    assert _landed(con, "raw_entra_users") == _streamed(read_graph_users(path))


@pytest.mark.parametrize("shape", GRAPH_SHAPES)
def test_graph_shapes_land_as_the_streaming_reader_reads_them(con, tmp_path, shape):
    path = tmp_path / "entra_users.json"
    path.write_text(json.dumps(GRAPH_SHAPES[shape]))
    assert land_collection(con, path, "entra_users.json", "raw_entra_users", ENTRA_USER) == len(USERS)
    assert _landed(con, "raw_entra_users") == _streamed(read_graph_users(path))


def test_graph_fields_are_landed_as_written(con, tmp_path):
    user = entra_user(1, accountEnabled=False, otherMails=["A@x.example", "b@x.example"],
                      onPremisesImmutableId="Hrz/HqNKnU+lCNTYHx9Ycw==")
    path = tmp_path / "entra_users.json"
    path.write_text(json.dumps({"value": [user, entra_user(2, assignedPlans=[])]}))
    land_users_file(con, path, "entra_users.json")
    rows = con.execute("SELECT account_enabled, other_mails, immutable_id, has_assigned_plans, intune_statuses "
                       "FROM work.raw_entra_users ORDER BY id").fetchall()
    assert rows[0] == ("false", ["A@x.example", "b@x.example"], "Hrz/HqNKnU+lCNTYHx9Ycw==", True, ["Enabled"])
    assert rows[1][3:] == (True, [])


@pytest.mark.parametrize("text", [
    json.dumps({"error": {"code": "Authorization_RequestDenied"}}),  # not a page
    json.dumps([{"value": USERS}])[:-30],               # cut short
    json.dumps([{"value": [1, 2]}]),                    # not objects
])
def test_shapes_it_cannot_take_are_left_whole_to_the_streaming_reader(con, tmp_path, text):
    path = tmp_path / "entra_users.json"
    path.write_text(text, encoding="utf-8")
    assert land_collection(con, path, "entra_users.json", "raw_entra_users", ENTRA_USER) is None
    assert _landed(con, "raw_entra_users") == []


def test_mmctl_array_lands_with_record_numbers_and_api_pages_are_streamed(con, tmp_path):
    users = [mm_user(n) for n in range(4)]
    path = tmp_path / "mattermost_users.json"
    path.write_text(json.dumps(users))
    assert land_collection(con, path, "mattermost_users.json", "raw_mm_users", MM_USER, pages=False) == 4
    assert _landed(con, "raw_mm_users") == _streamed(read_mattermost_users(path))
    for text in (json.dumps([users[:2], users[2:]]), "\n".join(json.dumps(u) for u in users)):
        path.write_text(text)
        assert land_collection(con, path, "mattermost_users.json", "raw_mm_users", MM_USER, pages=False) is None
