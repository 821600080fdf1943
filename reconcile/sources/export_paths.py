"""Where an export should be, and what is there instead.

"no entra_users.json" is the wrong message when the file is there but is a directory, a dangling
symlink left by a sync script, or a FIFO: the directory team would look for a file that exists.
Every loader asks here, so absent (fine: the input is not available) and present-but-wrong (an
input error, exit 3) are told apart in one place.
"""

from __future__ import annotations

import os
from pathlib import Path

from reconcile.errors import InputError


def display_name(name: str | os.PathLike[str]) -> str:
    """A file name as text that can be stored, printed and encoded as UTF-8.

    POSIX names are bytes; Python carries undecodable ones as lone surrogates, which DuckDB,
    json and a UTF-8 terminal all refuse. The bytes are shown escaped instead (``\\xff``)."""
    return os.fsencode(name).decode("utf-8", "backslashreplace")


def export_file(input_dir: Path, name: str, label: str | None = None) -> Path | None:
    """``input_dir/name`` if it is a file, None if nothing is there; InputError if something else is.
    ``label`` is how messages name it (default ``name``; e.g. ``entra_groups/<id>.json``)."""
    return _present(input_dir / name, label or name, want_dir=False)


def export_dir(input_dir: Path, name: str) -> Path | None:
    """``input_dir/name`` if it is a directory, None if nothing is there; InputError if something else is."""
    return _present(input_dir / name, f"{name}/", want_dir=True)


def _present(path: Path, label: str, want_dir: bool) -> Path | None:
    expected = "a directory" if want_dir else "a file"
    if path.is_symlink() and not path.exists():
        target = display_name(os.readlink(path))
        raise InputError(label, None, f"is a symlink to {target}, which does not exist; expected {expected}")
    if not path.exists():
        return None
    if want_dir:
        if not path.is_dir():
            raise InputError(label, None, "is a file; expected a directory")
    elif path.is_dir():
        raise InputError(label, None, "is a directory; expected a file")
    elif not path.is_file():
        raise InputError(label, None, "is not a regular file (a pipe, socket or device); expected a file")
    return path
