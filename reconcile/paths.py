"""Where the SQL and the sample tenant live, in a checkout and in an installed wheel."""

from __future__ import annotations

from pathlib import Path

_PACKAGE = Path(__file__).resolve().parent


def _data_dir(name: str) -> Path:
    # A wheel carries them under reconcile/_data; an editable install runs from the checkout.
    for candidate in (_PACKAGE / "_data" / name, _PACKAGE.parent / name):
        if candidate.is_dir():
            return candidate
    raise FileNotFoundError(f"reconcile's {name}/ directory is missing from the installation")


def sql_dir() -> Path:
    return _data_dir("sql")


def sample_dir() -> Path:
    return _data_dir("sample_data")
