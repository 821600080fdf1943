"""GUID forms: every form a directory or Mattermost writes must round-trip to the same bytes."""

from __future__ import annotations

import uuid

import pytest

from reconcile import identifiers as ids

RAW = bytes.fromhex("1ebcff1ea34a9d4fa508d4d81f1f5873")
WINDOWS = "1effbc1e-4aa3-4f9d-a508-d4d81f1f5873"
NAIVE = "1ebcff1e-a34a-9d4f-a508-d4d81f1f5873"
IMMUTABLE = "Hrz/HqNKnU+lCNTYHx9Ycw=="
MM_HEX = r"\1e\bc\ff\1e\a3\4a\9d\4f\a5\08\d4\d8\1f\1f\58\73"


def test_design_worked_example():
    assert ids.guid_windows(RAW) == WINDOWS
    assert ids.guid_naive(RAW) == NAIVE
    assert ids.immutable_id(RAW) == IMMUTABLE
    assert ids.mattermost_hex(RAW) == MM_HEX


@pytest.mark.parametrize("seed", range(200))
def test_every_form_round_trips(seed):
    raw = uuid.UUID(int=(seed * 0x9E3779B97F4A7C15_F39CC0605CEDC834) % (1 << 128)).bytes
    windows = ids.guid_windows(raw)
    assert ids.guid_to_bytes_le(windows) == raw
    assert ids.decode_immutable_id(ids.immutable_id(raw)) == raw
    assert ids.parse_mattermost_hex(ids.mattermost_hex(raw)) == raw
    assert uuid.UUID(ids.guid_naive(raw)).bytes == raw
    assert ids.directory_guid(raw) == windows
    assert ids.directory_guid(windows.upper().encode()) == windows


@pytest.mark.parametrize("text", [
    WINDOWS, WINDOWS.upper(), "{" + WINDOWS + "}", "{" + WINDOWS.upper() + "}", WINDOWS.replace("-", ""),
    "  " + WINDOWS + "\n",
])
def test_parse_guid_accepts_what_directories_write(text):
    assert ids.parse_guid(text) == WINDOWS


@pytest.mark.parametrize("text", [
    None, "", "alice@contoso.com", WINDOWS[:-1], WINDOWS + "0", "{" + WINDOWS, WINDOWS + "}",
    "urn:uuid:" + WINDOWS, "1effbc1e4aa3-4f9d-a508-d4d81f1f5873", "g" * 32, IMMUTABLE, MM_HEX,
])
def test_parse_guid_rejects_everything_else(text):
    assert ids.parse_guid(text) is None


def test_canonical_is_exact():
    assert ids.is_canonical_guid(WINDOWS)
    assert not ids.is_canonical_guid(WINDOWS.upper())
    assert not ids.is_canonical_guid("{" + WINDOWS + "}")


@pytest.mark.parametrize("text", ["employee-42", "AAAA", "Hrz/HqNKnU+lCNTYHx9Y", "not base64 at all!!!!!=="])
def test_immutable_ids_that_are_not_objectguids(text):
    assert ids.decode_immutable_id(text) is None


def test_mattermost_hex_is_case_insensitive_and_exactly_sixteen_bytes():
    assert ids.parse_mattermost_hex(MM_HEX.upper()) == RAW
    assert ids.parse_mattermost_hex(MM_HEX[:-3]) is None
    assert ids.parse_mattermost_hex(MM_HEX + r"\00") is None


def test_directory_guid_forms():
    assert ids.directory_guid(None) is None
    assert ids.directory_guid(b"short") is None
    assert ids.directory_guid("{" + WINDOWS.upper() + "}") == WINDOWS
    with pytest.raises(ValueError):
        ids.guid_windows(b"\x00" * 15)
