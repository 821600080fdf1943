"""The run configuration the library receives: plain dataclasses, built by reconcile.config.resolve.

Nothing here reads the environment or a file by itself, except a :class:`Secret` when the run asks
it for its value: the secret stays a reference (a variable's name, a file's path) until a source that
needs it is opened, so ``config show`` and logs can name it without ever holding it.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

from reconcile.config.settings import DEFAULT_BUNDLE_ID, FORMATS
from reconcile.errors import ExitCode, ReconcileError


class ConfigError(ReconcileError):
    """A setting is missing, unknown or invalid: nothing ran, nothing was written."""

    exit_code = ExitCode.USAGE


@dataclass(frozen=True)
class Secret:
    """Where a secret is: ``env`` (a variable's name) or ``file`` (a path). ``key`` is its setting."""

    kind: str
    name: str
    key: str = ""

    def describe(self) -> str:
        """What ``config show`` prints: where it is and whether it is there, never the value."""
        if self.kind == "env":
            return f"{{ env = {self.name!r} }} ({'set' if os.environ.get(self.name) else 'NOT SET'})"
        path = Path(self.name)
        state = "readable" if os.access(path, os.R_OK) and path.is_file() else "NOT READABLE"
        return f"{{ file = {self.name!r} }} ({state})"

    def read(self, environ: Mapping[str, str] | None = None) -> str:
        environ = os.environ if environ is None else environ
        if self.kind == "env":
            value = (environ.get(self.name) or "").strip()
            if not value:
                raise ConfigError(f"{self.key}: the secret is {{ env = {self.name!r} }}, and {self.name} is not set")
            return value
        try:
            value = Path(self.name).read_text(encoding="utf-8").strip()
        except (OSError, UnicodeDecodeError) as exc:
            reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else type(exc).__name__
            raise ConfigError(f"{self.key}: the secret is {{ file = {self.name!r} }}, which cannot be read "
                              f"({reason})") from None
        if not value:
            raise ConfigError(f"{self.key}: the secret file {self.name!r} is empty")
        return value


@dataclass(frozen=True)
class EntraConfig:
    read: str = "files"                 # files | graph
    app_id: str | None = None
    incremental: bool = False
    full_pull: bool = False
    tenant_id: str | None = None
    client_id: str | None = None
    client_secret: Secret | None = None
    certificate_path: Path | None = None
    access_token: Secret | None = None
    credential: str | None = None       # "default": DefaultAzureCredential
    graph_url: str | None = None


@dataclass(frozen=True)
class LdapConfig:
    read: str = "files"                 # files | ldap
    url: str | None = None
    base_dn: str | None = None
    filter: str | None = None
    bind_dn: str | None = None
    password: Secret | None = None
    ca_file: Path | None = None
    page_size: int = 500
    insecure: bool = False


@dataclass(frozen=True)
class MattermostConfig:
    read: str = "files"                 # files | api (config and licence)
    url: str | None = None
    token: Secret | None = None
    insecure: bool = False
    users: str = "files"                # files | api | db
    dsn: Secret | str | None = None     # a plain string only when it holds no password


@dataclass(frozen=True)
class NotifyConfig:
    """Where and when a run posts its summary to Mattermost (issue 15, "Notifications"): an incoming
    webhook, a bot, both, or neither (no post). The webhook URL and the bot token are secrets."""

    on: str = "change"                  # change | always | failure
    detail: str = "counts"              # counts (no personal data) | names
    channel_id: str | None = None       # the bot's channel
    server: str | None = None           # the bot's server, not necessarily the audited one
    webhook_url: Secret | None = None
    bot_token: Secret | None = None

    @property
    def configured(self) -> bool:
        """Whether anything would be posted to: a webhook or a bot."""
        return self.webhook_url is not None or self.bot_token is not None


@dataclass(frozen=True)
class RunConfig:
    """One run, whatever described it: a job file, the environment, the command line."""

    input_dir: Path | None = None
    output_dir: str = "reconcile-report"
    store: Path | None = None
    formats: tuple[str, ...] = FORMATS
    fail_on: str = "blocking"
    fail_on_new_only: bool = False
    history: bool = True
    accept_shrink: bool = False
    shrink_threshold: float = 0.2
    exceptions: Path | None = None      # the exceptions file (issue 13)
    allow_long_exceptions: bool = False
    metrics_file: Path | None = None    # Prometheus text exposition of the run (issue 15, "Metrics")
    enrolled_within: int = 30           # days a registration's last sync counts as enrolled (issue 15)
    memory_limit: str | None = None
    log_format: str = "text"
    lock_timeout: float = 10.0
    keep_snapshots: int = 2
    retention_days: int = 0
    intune_groups: tuple[str, ...] = ()
    ios_bundle_ids: tuple[str, ...] = (DEFAULT_BUNDLE_ID,)
    mobile_client_ids: tuple[str, ...] = ()
    entra: EntraConfig = field(default_factory=EntraConfig)
    ldap: LdapConfig = field(default_factory=LdapConfig)
    mattermost: MattermostConfig = field(default_factory=MattermostConfig)
    notify: NotifyConfig = field(default_factory=NotifyConfig)
    job_file: Path | None = None

    def output_path(self, started: datetime) -> Path:
        """The output directory of a run started at ``started`` (UTC): strftime codes expanded."""
        return Path(started.strftime(self.output_dir)) if "%" in self.output_dir else Path(self.output_dir)

    def store_path(self, started: datetime) -> Path:
        return self.store or self.output_path(started) / "reconcile.duckdb"
