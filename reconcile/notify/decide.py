"""Whether a run posts: the ``on`` setting against the run's summary.

``change`` (the default) is for a channel people read: a night when nothing changed says nothing, but
new, reopened or resolved findings, a partial run (a source failed: the figures are not the whole truth)
and the first run in a store (nothing to compare with yet) do. ``always`` posts every run, ``failure``
only partial and failed runs. A failed run (no summary at all) posts under every setting: a job that
stopped working is news to whoever relied on its posts.
"""

from __future__ import annotations

from collections.abc import Mapping


def should_post(on: str, summary: Mapping | None) -> bool:
    """Whether a run with ``summary`` posts under ``on``; ``summary`` None is a failed run."""
    if on not in ("change", "always", "failure"):
        raise ValueError(f"notify on must be change, always or failure, not {on!r}")
    if summary is None:
        return True
    partial = summary.get("status") != "complete"
    if on == "always":
        return True
    if on == "failure":
        return partial
    if partial or summary.get("previous_run_id") is None:
        return True
    return any(changed(summary).values())


def changed(summary: Mapping) -> dict[str, int]:
    """New, reopened (an exception ran out: open again) and resolved findings since the previous run."""
    drift = summary.get("drift") or {}
    since = summary.get("changes_since_previous") or {}
    return {"new": int(drift.get("new", since.get("new")) or 0),
            "reopened": int(drift.get("reopened") or 0),
            "resolved": int(drift.get("resolved", since.get("resolved")) or 0)}
