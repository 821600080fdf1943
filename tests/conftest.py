"""Shared fixtures: one audit of the bundled sample tenant per test session."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from saml_helpers import Identity, make_identity
from tenant import Outcome, load_outcome

from reconcile.audit import run_audit
from reconcile.paths import sample_dir


@pytest.fixture(scope="session")
def sample_outcome(tmp_path_factory) -> Outcome:
    base = tmp_path_factory.mktemp("sample")
    result = run_audit(sample_dir(), base / "out", base / "store.duckdb")
    return load_outcome(result)


@pytest.fixture(scope="session")
def keys(tmp_path_factory) -> dict[str, Identity]:
    """Throwaway signing identities: the tenant's IdP, an attacker, and a second (non-Entra) IdP."""
    openssl = shutil.which("openssl") or "/usr/bin/openssl"
    if not Path(openssl).exists():
        pytest.skip("the openssl CLI is needed to make throwaway signing keys")
    directory = tmp_path_factory.mktemp("saml-keys")
    return {name: make_identity(directory, name, openssl) for name in ("idp", "attacker", "other-idp")}
