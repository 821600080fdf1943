"""The SQL normal forms (sql/stage/macros.sql) agree with reconcile.identifiers on every kind of value.

Both exist: the SQL runs over whole tables of users, the Python on single values (options, token
and SAML claims). A value one accepts and the other refuses would make a person match on one path
and not the other, so they are checked against each other on the forms directories really write
and on near misses.
"""

from __future__ import annotations

import base64
import random
import uuid

import pytest

from reconcile import identifiers as ids
from reconcile.store import create_staging, open_workspace


@pytest.fixture(scope="module")
def con():
    with open_workspace() as workspace:
        create_staging(workspace)
        yield workspace


def _guid_texts(rng: random.Random) -> list[str]:
    out = []
    for _ in range(300):
        u = uuid.UUID(int=rng.getrandbits(128))
        s = str(u)
        out += [s, s.upper(), "{" + s + "}", "{" + s.upper() + "}", s.replace("-", ""), f"  {s}\t",
                "{" + s, s + "}", s[:-1], s + "0", s.replace("-", "", 1), f"urn:uuid:{s}", s.replace("a", "g", 1),
                s.replace("-", " ")]
    return [*out, "", " ", "x", "{}", "not-a-guid", "0" * 32, "0" * 31, "\u00a0" + "1" * 32]


def test_guid_text_forms_match_parse_guid(con):
    values = _guid_texts(random.Random(1))
    got = con.execute("SELECT t, guid_norm(t) FROM unnest($1::VARCHAR[]) AS v(t)", [values]).fetchall()
    assert {t: g for t, g in got} == {t: ids.parse_guid(t) for t in values}


def test_immutable_ids_decode_like_decode_immutable_id(con):
    rng = random.Random(2)
    values = []
    for _ in range(300):
        raw = rng.randbytes(16)
        b64 = base64.b64encode(raw).decode()
        values += [b64, f" {b64} ", b64.rstrip("="), b64[:-3] + "A==", base64.b64encode(rng.randbytes(15)).decode(),
                   base64.b64encode(rng.randbytes(17)).decode(), b64.replace("+", "-"), "E" + b64[1:]]
    values += ["", "employee-12345", "AAAAAAAAAAAAAAAAAAAAAA=="]
    got = dict(con.execute("SELECT t, guid_windows_hex(immutable_hex(t)) FROM unnest($1::VARCHAR[]) AS v(t)",
                           [values]).fetchall())
    for value in values:
        raw = ids.decode_immutable_id(value)
        assert got[value] == (ids.guid_windows(raw) if raw else None), value


def test_mattermost_hex_and_directory_guids(con):
    rng = random.Random(3)
    raws = [rng.randbytes(16) for _ in range(200)]
    hexes = [ids.mattermost_hex(r) for r in raws] + [ids.mattermost_hex(raws[0]).upper(), "\\1e\\bc", "1ebc"]
    got = dict(con.execute("SELECT t, guid_windows_hex(mattermost_hex(t)) FROM unnest($1::VARCHAR[]) AS v(t)",
                           [hexes]).fetchall())
    for text in hexes:
        raw = ids.parse_mattermost_hex(text)
        assert got[text] == (ids.guid_windows(raw) if raw else None), text
    blobs = [*raws, *(str(uuid.UUID(bytes=r)).encode() for r in raws[:50]), b"\xff\xfe", b"12345", rng.randbytes(15),
             b"{" + str(uuid.UUID(bytes=raws[1])).upper().encode() + b"}"]
    got_blobs = con.execute("SELECT b, directory_guid(b) FROM unnest($1::BLOB[]) AS v(b)", [blobs]).fetchall()
    assert {bytes(b): g for b, g in got_blobs} == {b: ids.directory_guid(b) for b in blobs}
    naive = con.execute("SELECT guid_from_hex(lower(hex($1::BLOB)))", [raws[0]]).fetchall()[0][0]
    assert naive == ids.guid_naive(raws[0])


def test_every_stage_file_runs_and_reads_its_raw_table():
    from reconcile.normalise import STAGES
    from reconcile.paths import sql_dir

    files = sorted(p.name for p in (sql_dir() / "stage").glob("[0-9]*.sql"))
    assert [file for file, _ in STAGES] == files
    for file, raw in STAGES:
        assert f"FROM {raw}" in (sql_dir() / "stage" / file).read_text(encoding="utf-8")
