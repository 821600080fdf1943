"""Writing report files: owner-only, atomically (a reader never sees half a file)."""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator
from pathlib import Path
from typing import IO

OWNER_ONLY = 0o600


@contextlib.contextmanager
def owner_only_file(path: Path, mode: str = "w", **kwargs) -> Iterator[IO]:
    """Open ``path.tmp`` readable by the owner only, and move it over ``path`` when complete."""
    tmp = path.with_name(path.name + ".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, OWNER_ONLY)
    try:
        with os.fdopen(fd, mode, **kwargs) as handle:
            yield handle
        os.chmod(tmp, OWNER_ONLY)
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            tmp.unlink()
        raise
