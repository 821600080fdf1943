"""Notifications where the admins are (issue 15): one Markdown post per run to a Mattermost channel.

Why a post and not only files: the people who fix the findings live in Mattermost, and a nightly job
that writes a report nobody opens changes nothing. The post is a pointer with the figures (run, status,
readiness, drift, sources, the report's path); the reports stay where they are, owner-only.

The pieces, each small: :mod:`decide` (whether this run posts), :mod:`message` (what it says, with no
personal data unless ``detail = "names"``), :mod:`names` (the people a "names" post lists, from SQL),
:mod:`post` (an incoming webhook or a bot, with a bounded retry), :mod:`run` (what ``run_configured``
calls, and the ``notify`` record in summary.json) and :mod:`probe` (``reconcile sources test``).
A failed post never changes a run's exit code or its reports: it is logged and recorded.
"""

from reconcile.notify.decide import should_post
from reconcile.notify.names import NewBlocking, new_blocking_people
from reconcile.notify.run import NOTIFY_NOT_SENT, notify_failed, notify_finished, record_notify

__all__ = ["NOTIFY_NOT_SENT", "NewBlocking", "new_blocking_people", "notify_failed", "notify_finished", "record_notify",
           "should_post"]
