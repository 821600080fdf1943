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
# When the bundled samples' exports were taken. Their Intune registrations (issue 15) were synced
# before it, so the enrollment window of a run on a sample is measured from it, not from the run's
# start: otherwise the sample's outcomes would drift towards "not enrolled" as the calendar moves on.
SAMPLE_CAPTURED_AT = datetime(2026, 12, 1, 6, 0, tzinfo=UTC)


def sample_dir(name: str = "tenant") -> Path:
    """A bundled sample tenant: the correct one (``tenant``) or ``misconfigured`` (every config,
    tenant, policy and token rule fires), which lives in sample_data/misconfigured/."""
    if name not in SAMPLES:
        raise ValueError(f"no sample named {name!r}; known: {SAMPLES}")
    base = _data_dir("sample_data")
    return base if name == "tenant" else base / name


def sample_captured_at(input_dir: Path) -> datetime | None:
    """SAMPLE_CAPTURED_AT when ``input_dir`` is one of the bundled samples, else None."""
    try:
        here = input_dir.resolve()
        return SAMPLE_CAPTURED_AT if any(here == sample_dir(name).resolve() for name in SAMPLES) else None
    except (OSError, FileNotFoundError):
        return None
