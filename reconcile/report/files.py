"""Writing report files atomically (a reader never sees half a file): owner-only, as personal data
must be, or with other permissions for a file that holds none (the metrics file)."""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator
from pathlib import Path
from typing import IO

OWNER_ONLY = 0o600


def owner_only_file(path: Path, mode: str = "w", **kwargs) -> contextlib.AbstractContextManager[IO]:
    """Open ``path.tmp`` readable by the owner only, and move it over ``path`` when complete."""
    return atomic_file(path, mode, OWNER_ONLY, **kwargs)


@contextlib.contextmanager
def atomic_file(path: Path, mode: str = "w", permissions: int = OWNER_ONLY, **kwargs) -> Iterator[IO]:
    """Open ``path.tmp`` with ``permissions`` and move it over ``path`` when the block completes; on an
    error the temporary file is removed and ``path`` is left as it was."""
    tmp = path.with_name(path.name + ".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, permissions)
    try:
        with os.fdopen(fd, mode, **kwargs) as handle:
            yield handle
        os.chmod(tmp, permissions)
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            tmp.unlink()
        raise
