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


SAMPLES = ("tenant", "misconfigured")  # --sample NAME; "tenant" is sample_data/ itself


def sample_dir(name: str = "tenant") -> Path:
    """A bundled sample tenant: the correct one (``tenant``) or ``misconfigured`` (every config,
    tenant, policy and token rule fires), which lives in sample_data/misconfigured/."""
    if name not in SAMPLES:
        raise ValueError(f"no sample named {name!r}; known: {SAMPLES}")
    base = _data_dir("sample_data")
    return base if name == "tenant" else base / name
