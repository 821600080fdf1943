"""Where the SQL and the sample tenant live, in a checkout and in an installed wheel."""

from __future__ import annotations

from datetime import UTC, datetime
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


SAMPLES = ("tenant", "misconfigured")  # --sample NAME; "tenant" is sample_data/ itself
# A bundled sample (and any copy of it) says when its exports were taken in this file. Its Intune
# registrations (issue 15) were synced before then, so a run on it measures the enrollment window from
# that moment, not from the run's start: otherwise its outcomes would drift towards "not enrolled" as
# the calendar moves on. Real exports have no such file.
SAMPLE_MARKER = "sample_captured_at.txt"


def sample_dir(name: str = "tenant") -> Path:
    """A bundled sample tenant: the correct one (``tenant``) or ``misconfigured`` (every config,
    tenant, policy and token rule fires), which lives in sample_data/misconfigured/."""
    if name not in SAMPLES:
        raise ValueError(f"no sample named {name!r}; known: {SAMPLES}")
    base = _data_dir("sample_data")
    return base if name == "tenant" else base / name


def sample_captured_at(input_dir: Path) -> datetime | None:
    """When the sample in ``input_dir`` was captured (its SAMPLE_MARKER file), else None."""
    marker = input_dir / SAMPLE_MARKER
    if not marker.is_file():
        return None
    text = marker.read_text(encoding="utf-8").strip()
    try:
        moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        moment = None
    if moment is None or moment.tzinfo is None:
        from reconcile.errors import InputError

        raise InputError(SAMPLE_MARKER, None, f"{text!r}; expected the capture time in ISO 8601 with a zone "
                                              "(2026-12-01T06:00:00Z)")
    return moment.astimezone(UTC)
