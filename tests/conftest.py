"""Shared fixtures: one audit of the bundled sample tenant per test session."""

from __future__ import annotations

import pytest
from tenant import Outcome, load_outcome

from reconcile.audit import run_audit
from reconcile.paths import sample_dir


@pytest.fixture(scope="session")
def sample_outcome(tmp_path_factory) -> Outcome:
    base = tmp_path_factory.mktemp("sample")
    result = run_audit(sample_dir(), base / "out", base / "store.duckdb")
    return load_outcome(result)
