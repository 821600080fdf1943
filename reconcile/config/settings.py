"""Every setting a run has, in one table: its key path in a job file, its environment variable, its
command-line option, its type and its default.

One table rather than three parsers, so that a key, a variable and an option can never drift apart,
and so that an error or ``reconcile config show`` can name every place a value was looked for.
"""

from __future__ import annotations

from dataclasses import dataclass

FORMATS = ("csv", "json", "html")
FAIL_ON_LEVELS = ("blocking", "warning", "info", "never")
LOG_FORMATS = ("text", "json")
NOTIFY_ON = ("change", "always", "failure")
NOTIFY_DETAIL = ("counts", "names")
DEFAULT_BUNDLE_ID = "com.mattermost.rn"  # the App Store app; the TestFlight beta is com.mattermost.rnbeta


@dataclass(frozen=True)
class Setting:
    key: str                        # key path in the job file: "sources.ldap.base_dn"
    kind: str                       # text | path | bool | int | float | list | choice | secret | dsn
    default: object = None
    env: str | None = None          # RECONCILE_* variable
    option: str | None = None       # command-line option of `audit` and `run`
    env_file: str | None = None     # for secrets: the variable naming a file that holds it
    choices: tuple[str, ...] = ()
    minimum: float | None = None
    maximum: float | None = None
    help: str = ""

    @property
    def table(self) -> str:
        """The TOML table the key is written in (``sources.ldap``), '' for a top-level key."""
        return self.key.rpartition(".")[0]

    @property
    def name(self) -> str:
        return self.key.rpartition(".")[2]


SETTINGS: tuple[Setting, ...] = (
    Setting("input_dir", "path", None, "RECONCILE_INPUT_DIR", "--input-dir",
            help="export directory: files for every source read from files, SAML captures, tokens"),
    Setting("output_dir", "text", "reconcile-report", "RECONCILE_OUTPUT_DIR", "--output-dir",
            help="where the reports go; strftime codes (%Y-%m-%d) are expanded at the run's start, UTC"),
    Setting("store", "path", None, "RECONCILE_STORE", "--store",
            help="the DuckDB store kept across runs (default OUTPUT_DIR/reconcile.duckdb)"),
    Setting("formats", "list", FORMATS, "RECONCILE_FORMATS", "--format", choices=FORMATS,
            help="reports to write: csv, json, html (summary.json is always written)"),
    Setting("fail_on", "choice", "blocking", "RECONCILE_FAIL_ON", "--fail-on", choices=FAIL_ON_LEVELS,
            help="exit 1 when a finding at or above this severity exists"),
    Setting("fail_on_new_only", "bool", False, "RECONCILE_FAIL_ON_NEW_ONLY", "--fail-on-new-only",
            help="only new findings (drift = new) count for fail_on: a known backlog pages no one"),
    Setting("history", "bool", True, "RECONCILE_HISTORY", "--history",
            help="compare with the stored runs: drift and first_seen columns, resolved.csv"),
    Setting("accept_shrink", "bool", False, "RECONCILE_ACCEPT_SHRINK", "--accept-shrink",
            help="accept a source that lost more than shrink_threshold of its rows since the last complete run"),
    Setting("shrink_threshold", "float", 0.2, "RECONCILE_SHRINK_THRESHOLD", "--shrink-threshold",
            minimum=0.0, maximum=1.0,
            help="share of rows a source may lose since the last complete run before it counts as failed"),
    Setting("exceptions", "path", None, "RECONCILE_EXCEPTIONS", "--exceptions",
            help="TOML file of accepted exceptions: findings a person decided to live with, until a date"),
    Setting("allow_long_exceptions", "bool", False, "RECONCILE_ALLOW_LONG_EXCEPTIONS", "--allow-long-exceptions",
            help="allow exceptions that expire more than 365 days after the run's date"),
    Setting("metrics_file", "path", None, "RECONCILE_METRICS_FILE", "--metrics-file",
            help="also write the run's gauges here in the Prometheus text format (node_exporter's textfile "
                 "collector), replaced atomically, also when the run fails"),
    Setting("enrolled_within", "int", 30, "RECONCILE_ENROLLED_WITHIN", "--enrolled-within", minimum=1,
            maximum=3650, help="days: a Mattermost registration in Intune synced within this many days of the run's "
                               "start counts as enrolled (outcomes, with intune_app_registrations.json or Graph)"),
    Setting("memory_limit", "text", None, "RECONCILE_MEMORY_LIMIT", "--memory-limit",
            help="memory DuckDB may hold before spilling, such as 2GB (default 1300MB)"),
    Setting("lock_timeout", "float", 10.0, "RECONCILE_LOCK_TIMEOUT", "--lock-timeout", minimum=0.0,
            help="seconds to wait for another run holding the store before exiting 3"),
    Setting("log_format", "choice", "text", "RECONCILE_LOG_FORMAT", "--log-format", choices=LOG_FORMATS,
            help="text for people, json (one object per line) for schedulers"),
    Setting("retention.snapshots", "int", 2, "RECONCILE_KEEP_SNAPSHOTS", "--keep-snapshots", minimum=1,
            help="runs whose staging snapshots the store keeps"),
    Setting("retention.days", "int", 0, "RECONCILE_RETENTION_DAYS", "--retention-days", minimum=0,
            help="days findings and readiness are kept (0: for ever)"),
    Setting("targeting.intune_groups", "list", (), "RECONCILE_INTUNE_GROUPS", "--intune-group",
            help="target the members of these groups instead of discovering the policy's groups"),
    Setting("targeting.ios_bundle_ids", "list", (DEFAULT_BUNDLE_ID,), "RECONCILE_IOS_BUNDLE_IDS", "--ios-bundle-id",
            help="the Mattermost iOS apps the organisation deploys"),
    Setting("targeting.mobile_client_ids", "list", (), "RECONCILE_MOBILE_CLIENT_ID", "--mobile-client-id",
            help="client ids that are Mattermost Mobile besides the published ones"),
    Setting("sources.entra.read", "choice", "files", "RECONCILE_ENTRA", "--entra", choices=("files", "graph"),
            help="Entra users, groups, policies and app registration: export files or Microsoft Graph"),
    Setting("sources.entra.app_id", "text", None, "RECONCILE_ENTRA_APP_ID", "--entra-app-id",
            help="the server API app registration to check (default IntuneSettings.ClientId)"),
    Setting("sources.entra.incremental", "bool", False, "RECONCILE_ENTRA_INCREMENTAL", "--incremental",
            help="apply a /users/delta round to the last complete run in the store"),
    Setting("sources.entra.full_pull", "bool", False, "RECONCILE_ENTRA_FULL_PULL", "--full-pull",
            help="with incremental: ignore the stored delta link, pull everything"),
    Setting("sources.entra.tenant_id", "text", None, "RECONCILE_ENTRA_TENANT_ID"),
    Setting("sources.entra.client_id", "text", None, "RECONCILE_ENTRA_CLIENT_ID"),
    Setting("sources.entra.client_secret", "secret", None, "RECONCILE_ENTRA_CLIENT_SECRET",
            env_file="RECONCILE_ENTRA_CLIENT_SECRET_FILE"),
    Setting("sources.entra.access_token", "secret", None, "RECONCILE_ENTRA_ACCESS_TOKEN",
            env_file="RECONCILE_ENTRA_ACCESS_TOKEN_FILE",
            help="a bearer token obtained elsewhere (short-lived: for tests and one-off runs)"),
    Setting("sources.entra.certificate_path", "path", None, "RECONCILE_ENTRA_CERTIFICATE_PATH"),
    Setting("sources.entra.credential", "choice", None, "RECONCILE_ENTRA_CREDENTIAL", choices=("default",),
            help="default: azure-identity's DefaultAzureCredential (managed or workload identity)"),
    Setting("sources.entra.graph_url", "text", None, "RECONCILE_GRAPH_BASE_URL"),
    Setting("sources.ldap.read", "choice", None, "RECONCILE_LDAP", choices=("files", "ldap"),
            help="files (ldap_users.ldif) or ldap (a live directory); default ldap when url is set"),
    Setting("sources.ldap.url", "text", None, "RECONCILE_LDAP_URL", "--ldap"),
    Setting("sources.ldap.base_dn", "text", None, "RECONCILE_LDAP_BASE_DN", "--ldap-base-dn"),
    Setting("sources.ldap.filter", "text", None, "RECONCILE_LDAP_FILTER", "--ldap-filter"),
    Setting("sources.ldap.bind_dn", "text", None, "RECONCILE_LDAP_BIND_DN"),
    Setting("sources.ldap.password", "secret", None, "RECONCILE_LDAP_PASSWORD",
            env_file="RECONCILE_LDAP_PASSWORD_FILE"),
    Setting("sources.ldap.ca_file", "path", None, "RECONCILE_LDAP_CA_FILE"),
    Setting("sources.ldap.page_size", "int", 500, "RECONCILE_LDAP_PAGE_SIZE", minimum=1, maximum=100_000),
    Setting("sources.ldap.insecure", "bool", False, "RECONCILE_LDAP_INSECURE", "--ldap-insecure"),
    Setting("sources.mattermost.read", "choice", None, "RECONCILE_MATTERMOST", choices=("files", "api"),
            help="config and licence (and users unless `users` says otherwise); default api when url is set"),
    Setting("sources.mattermost.url", "text", None, "RECONCILE_MATTERMOST_URL", "--mattermost-url"),
    Setting("sources.mattermost.token", "secret", None, "RECONCILE_MATTERMOST_TOKEN",
            env_file="RECONCILE_MATTERMOST_TOKEN_FILE"),
    Setting("sources.mattermost.insecure", "bool", False, "RECONCILE_MATTERMOST_INSECURE", "--mattermost-insecure"),
    Setting("sources.mattermost.users", "choice", None, "RECONCILE_MATTERMOST_USERS",
            choices=("files", "api", "db"), help="default db when dsn is set, else as `read`"),
    Setting("sources.mattermost.dsn", "dsn", None, "RECONCILE_MATTERMOST_DSN", "--mattermost-dsn",
            env_file="RECONCILE_MATTERMOST_DSN_FILE"),
    Setting("notify.on", "choice", "change", "RECONCILE_NOTIFY_ON", "--notify-on", choices=NOTIFY_ON,
            help="when to post: change (new or resolved findings, a partial run, the store's first run), "
                 "always, or failure (partial or failed runs only)"),
    Setting("notify.detail", "choice", "counts", "RECONCILE_NOTIFY_DETAIL", "--notify-detail",
            choices=NOTIFY_DETAIL,
            help="counts: no personal data; names: also the first 20 new blocking people by UPN and rule"),
    Setting("notify.channel_id", "text", None, "RECONCILE_NOTIFY_CHANNEL_ID", "--notify-channel-id",
            help="the channel a bot posts to (with bot_token)"),
    Setting("notify.server", "text", None, "RECONCILE_NOTIFY_SERVER", "--notify-server",
            help="the Mattermost server a bot posts to, independent of the audited one (with bot_token)"),
    Setting("notify.webhook_url", "secret", None, "RECONCILE_NOTIFY_WEBHOOK_URL",
            env_file="RECONCILE_NOTIFY_WEBHOOK_URL_FILE",
            help="an incoming webhook's URL (a secret: whoever has it can post)"),
    Setting("notify.bot_token", "secret", None, "RECONCILE_NOTIFY_BOT_TOKEN",
            env_file="RECONCILE_NOTIFY_BOT_TOKEN_FILE",
            help="a bot account's access token, posting to channel_id on server"),
)
BY_KEY = {s.key: s for s in SETTINGS}
# Alternatives of one choice: Graph takes exactly one credential. One given in the environment or on
# the command line replaces the job file's, whichever key that used (see resolve._one_of).
ONE_OF = (("sources.entra.client_secret", "sources.entra.certificate_path", "sources.entra.access_token",
           "sources.entra.credential"),)
TABLES = frozenset({"", "retention", "targeting", "sources", "sources.entra", "sources.ldap", "sources.mattermost",
                    "notify"})
