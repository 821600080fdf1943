"""From a job file, the environment and the command line to one RunConfig, and where each value came from.

Precedence: command line > ``RECONCILE_*`` environment > job file > defaults. A value that is missing
where the run needs it, or that is invalid, is an error naming the key path and every place that was
looked at; an unknown key in a job file is an error with the closest known key suggested, because a
misspelt ``base_dn`` silently falling back to a default is a nightly job auditing the wrong directory.
"""

from __future__ import annotations

import difflib
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from reconcile.config.run_config import (
    ConfigError,
    EntraConfig,
    LdapConfig,
    MattermostConfig,
    NotifyConfig,
    RunConfig,
    Secret,
)
from reconcile.config.settings import BY_KEY, ONE_OF, SETTINGS, TABLES, Setting

COMMAND_LINE, ENVIRONMENT, JOB_FILE, DEFAULT, DERIVED = "command line", "environment", "job file", "default", "derived"
_TRUE, _FALSE = {"1", "true", "yes", "on"}, {"0", "false", "no", "off"}


@dataclass
class Resolved:
    """The run configuration plus, per key, its value and where it came from (for ``config show``)."""

    config: RunConfig
    values: dict[str, object] = field(default_factory=dict)
    origins: dict[str, str] = field(default_factory=dict)


def load_job_file(path: Path) -> dict[str, object]:
    """A job file's values by key path (``sources.ldap.base_dn``), checked against the settings table.

    Every problem is collected and raised together: an operator fixing a job file should not have to
    run it once per mistake.
    """
    try:
        with open(path, "rb") as handle:
            document = tomllib.load(handle)
    except FileNotFoundError:
        raise ConfigError(f"job file {path}: no such file") from None
    except OSError as exc:
        raise ConfigError(f"job file {path}: cannot be read ({exc.strerror or exc})") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"job file {path}: not valid TOML: {exc}") from None
    values: dict[str, object] = {}
    problems: list[str] = []
    _walk(document, "", values, problems)
    for key, raw in list(values.items()):
        try:
            values[key] = _from_toml(BY_KEY[key], raw)
        except ValueError as exc:
            problems.append(f"{key}: {exc}")
    if problems:
        raise ConfigError(f"job file {path}:\n  " + "\n  ".join(problems))
    return values


def _walk(table: Mapping, prefix: str, values: dict[str, object], problems: list[str]) -> None:
    for name, value in table.items():
        key = f"{prefix}.{name}" if prefix else name
        if key in BY_KEY:
            values[key] = value
        elif key in TABLES and isinstance(value, dict):
            _walk(value, key, values, problems)
        else:
            problems.append(f"unknown key {key}{_did_you_mean(key)}")


def _did_you_mean(key: str) -> str:
    known = [s.key for s in SETTINGS] + [t for t in TABLES if t]
    close = difflib.get_close_matches(key, known, n=1, cutoff=0.6)
    if not close:  # a right name in the wrong table: ldap.base_dn for sources.ldap.base_dn
        tail = key.rpartition(".")[2]
        close = [s.key for s in SETTINGS if s.name == tail][:1]
    return f" (did you mean {close[0]}?)" if close else ""


def _from_toml(setting: Setting, raw: object) -> object:
    kind = setting.kind
    if kind in ("secret", "dsn"):
        if isinstance(raw, dict):
            return _secret_ref(setting, raw)
        if kind == "dsn" and isinstance(raw, str):
            if dsn_has_password(raw):
                raise ValueError("the connection string holds a password: secrets are never written in a job file; "
                                 "use { env = \"NAME\" } or { file = \"/run/secrets/x\" }, or keep the password in "
                                 "PGPASSWORD or ~/.pgpass")
            return raw
        raise ValueError("a secret is never written in a job file: use { env = \"NAME\" } or "
                         "{ file = \"/run/secrets/x\" }")
    if kind == "bool":
        if not isinstance(raw, bool):
            raise ValueError(f"expected true or false, got {raw!r}")
        return raw
    if kind == "int":
        if isinstance(raw, bool) or not isinstance(raw, int):
            raise ValueError(f"expected a whole number, got {raw!r}")
        return _bounded(setting, raw)
    if kind == "float":
        if isinstance(raw, bool) or not isinstance(raw, int | float):
            raise ValueError(f"expected a number, got {raw!r}")
        return _bounded(setting, float(raw))
    if kind == "list":
        if not isinstance(raw, list) or not all(isinstance(item, str) for item in raw):
            raise ValueError(f"expected a list of strings, got {raw!r}")
        return _listed(setting, tuple(raw))
    if not isinstance(raw, str) or not raw.strip():
        raise ValueError(f"expected a non-empty string, got {raw!r}")
    return _typed_text(setting, raw.strip())


def _secret_ref(setting: Setting, raw: dict) -> Secret:
    if set(raw) not in ({"env"}, {"file"}) or not isinstance(next(iter(raw.values())), str) \
            or not next(iter(raw.values())).strip():
        raise ValueError(f"expected {{ env = \"NAME\" }} or {{ file = \"/path\" }}, got {raw!r}")
    kind, name = next(iter(raw.items()))
    return Secret(kind, name.strip(), setting.key)


def _bounded(setting: Setting, value: float) -> float:
    if setting.minimum is not None and value < setting.minimum:
        raise ValueError(f"expected at least {setting.minimum:g}, got {value:g}")
    if setting.maximum is not None and value > setting.maximum:
        raise ValueError(f"expected at most {setting.maximum:g}, got {value:g}")
    return value


def _listed(setting: Setting, items: tuple[str, ...]) -> tuple[str, ...]:
    items = tuple(item.strip() for item in items if item.strip())
    if setting.choices:
        wrong = [item for item in items if item not in setting.choices]
        if wrong:
            raise ValueError(f"{', '.join(wrong)} not one of {', '.join(setting.choices)}")
    return items


def _typed_text(setting: Setting, text: str) -> object:
    if setting.kind == "choice" and text not in setting.choices:
        raise ValueError(f"expected one of {', '.join(setting.choices)}, got {text!r}")
    if setting.kind == "path":
        return Path(text).expanduser()
    return text


def _from_env(setting: Setting, text: str) -> object:
    kind = setting.kind
    if kind in ("secret", "dsn"):
        return Secret("env", setting.env or "", setting.key)
    if kind == "bool":
        if text.lower() in _TRUE:
            return True
        if text.lower() in _FALSE:
            return False
        raise ValueError(f"expected true or false (1/0, yes/no), got {text!r}")
    if kind in ("int", "float"):
        try:
            number = int(text) if kind == "int" else float(text)
        except ValueError:
            raise ValueError(f"expected a {'whole ' if kind == 'int' else ''}number, got {text!r}") from None
        return _bounded(setting, number)
    if kind == "list":
        return _listed(setting, tuple(text.replace(",", " ").split()))
    return _typed_text(setting, text)


def _from_cli(setting: Setting, value: object) -> object:
    if setting.kind in ("int", "float"):
        return _bounded(setting, value)
    if setting.kind == "list":
        return _listed(setting, tuple(value))
    if isinstance(value, str):
        return _typed_text(setting, value.strip())
    return value


def resolve(cli: Mapping[str, object], environ: Mapping[str, str], job_file: Path | None = None) -> Resolved:
    """The run configuration from ``cli`` (key path -> value given on the command line), the environment
    and the job file. Raises ConfigError listing every problem."""
    job = load_job_file(job_file) if job_file else {}
    values: dict[str, object] = {}
    origins: dict[str, str] = {}
    problems: list[str] = []
    for setting in SETTINGS:
        try:
            value, origin = _one(setting, cli, environ, job, job_file)
        except ValueError as exc:
            problems.append(f"{setting.key}: {exc}")
            continue
        values[setting.key], origins[setting.key] = value, origin
    if problems:
        raise ConfigError("\n  ".join(["invalid settings:", *problems]))
    _one_of(values, origins)
    _derive(values, origins)
    problems = _check(values, origins, job_file)
    if problems:
        raise ConfigError("\n  ".join(["invalid settings:", *problems]) if len(problems) > 1 else problems[0])
    return Resolved(_build(values, job_file), values, origins)


def _one(setting: Setting, cli: Mapping[str, object], environ: Mapping[str, str], job: Mapping[str, object],
         job_file: Path | None) -> tuple[object, str]:
    if setting.key in cli and cli[setting.key] is not None:
        return _from_cli(setting, cli[setting.key]), f"{COMMAND_LINE} ({setting.option})"
    for variable in (setting.env, setting.env_file):
        text = (environ.get(variable) or "").strip() if variable else ""
        if not text:
            continue
        if variable == setting.env_file:
            if setting.env and (environ.get(setting.env) or "").strip():
                raise ValueError(f"both {setting.env} and {setting.env_file} are set; set exactly one")
            return Secret("file", text, setting.key), f"{ENVIRONMENT} ({variable})"
        try:
            return _from_env(setting, text), f"{ENVIRONMENT} ({variable})"
        except ValueError as exc:
            raise ValueError(f"{variable}: {exc}") from None
    if setting.key in job:
        return job[setting.key], f"{JOB_FILE} ({job_file})"
    return setting.default, DEFAULT


def _one_of(values: dict[str, object], origins: dict[str, str]) -> None:
    """A choice given with higher precedence wins as a whole: RECONCILE_ENTRA_ACCESS_TOKEN in the
    environment replaces the job file's client_secret, rather than both reaching Graph."""
    for group in ONE_OF:
        strong = [key for key in group if values[key] is not None
                  and origins[key].startswith((COMMAND_LINE, ENVIRONMENT))]
        if not strong:
            continue
        for key in group:
            if key not in strong and values[key] is not None and origins[key].startswith(JOB_FILE):
                values[key], origins[key] = None, f"{DEFAULT} (the job file's value gives way to {strong[0]} from " \
                                                  f"{origins[strong[0]]})"


def _derive(values: dict[str, object], origins: dict[str, str]) -> None:
    """The source modes a setting implies when not given: a URL means a live read."""
    def default(key: str, value: object, why: str) -> None:
        if values[key] is None:
            values[key], origins[key] = value, f"{DERIVED} ({why})"

    default("sources.ldap.read", "ldap" if values["sources.ldap.url"] else "files",
            "sources.ldap.url is set" if values["sources.ldap.url"] else "no sources.ldap.url")
    default("sources.mattermost.read", "api" if values["sources.mattermost.url"] else "files",
            "sources.mattermost.url is set" if values["sources.mattermost.url"] else "no sources.mattermost.url")
    if values["sources.mattermost.dsn"] is not None:
        default("sources.mattermost.users", "db", "sources.mattermost.dsn is set")
    default("sources.mattermost.users", values["sources.mattermost.read"], "as sources.mattermost.read")


def _looked(setting: Setting, job_file: Path | None) -> str:
    places = []
    if setting.option:
        places.append(f"the command line ({setting.option})")
    variables = " or ".join(v for v in (setting.env, setting.env_file) if v)
    if variables:
        places.append(f"the environment ({variables})")
    table, name = setting.table, setting.name
    where = f"[{table}] {name}" if table else name
    places.append(f"the job file ({job_file}, {where})" if job_file else f"a job file ({where}; none given)")
    return ", ".join(places)


def _check(values: dict[str, object], origins: dict[str, str], job_file: Path | None) -> list[str]:
    problems: list[str] = []

    def missing(key: str, because: str) -> None:
        problems.append(f"{key} is not set, and {because}: looked at {_looked(BY_KEY[key], job_file)}")

    def needs(key: str, other: str, want: str) -> None:
        problems.append(f"{key} = {values[key]!r} (from {origins[key]}) needs {other} = {want!r}, which is "
                        f"{values[other]!r} (from {origins[other]})")

    if values["sources.ldap.read"] == "ldap" and not values["sources.ldap.url"]:
        missing("sources.ldap.url", "sources.ldap.read = \"ldap\" needs it")
    if values["sources.mattermost.read"] == "api" and not values["sources.mattermost.url"]:
        missing("sources.mattermost.url", "sources.mattermost.read = \"api\" needs it")
    users = values["sources.mattermost.users"]
    if users == "db" and values["sources.mattermost.dsn"] is None:
        missing("sources.mattermost.dsn", "sources.mattermost.users = \"db\" needs it")
    if users == "api" and values["sources.mattermost.read"] != "api":
        needs("sources.mattermost.users", "sources.mattermost.read", "api")
    for flag in ("sources.entra.incremental", "sources.entra.full_pull"):
        if values[flag] and values["sources.entra.read"] != "graph":
            needs(flag, "sources.entra.read", "graph")
    if values["sources.entra.full_pull"] and not values["sources.entra.incremental"]:
        needs("sources.entra.full_pull", "sources.entra.incremental", True)
    if "%" in str(values["output_dir"]) and values["store"] is None:
        missing("store", f"output_dir {values['output_dir']!r} has a date pattern, so each run would start a new "
                         "store and drift would never see a previous run")
    if values["fail_on_new_only"] and not values["history"]:
        needs("fail_on_new_only", "history", True)
    if values["shrink_threshold"] >= 1:
        problems.append(f"shrink_threshold = {values['shrink_threshold']:g} (from {origins['shrink_threshold']}): "
                        "expected a share below 1 (0.2 = a fifth of the rows)")
    if not values["formats"]:
        problems.append(f"formats is empty (from {origins['formats']}): give at least one of csv, json, html")
    problems += _check_notify(values, origins, job_file)
    return problems


def _check_notify(values: dict[str, object], origins: dict[str, str], job_file: Path | None) -> list[str]:
    """A bot needs its server and channel; a server or channel without a bot is a job that would never
    post where its author thinks it does. The server must be an http(s) URL (the webhook URL is a secret,
    checked when it is read: ``reconcile sources test`` says so)."""
    problems: list[str] = []
    bot = values["notify.bot_token"] is not None
    for key in ("notify.server", "notify.channel_id"):
        if bot and not values[key]:
            problems.append(f"{key} is not set, and notify.bot_token (from {origins['notify.bot_token']}) needs it: "
                            f"looked at {_looked(BY_KEY[key], job_file)}")
        elif not bot and values[key]:
            problems.append(f"{key} = {values[key]!r} (from {origins[key]}) is only used by a bot, and "
                            f"notify.bot_token is not set: looked at {_looked(BY_KEY['notify.bot_token'], job_file)}")
    server = values["notify.server"]
    if server and not str(server).lower().startswith(("http://", "https://")):
        problems.append(f"notify.server = {server!r} (from {origins['notify.server']}): expected an http:// or "
                        "https:// URL")
    return problems


def dsn_has_password(dsn: str) -> bool:
    """Whether a libpq connection string carries a password (a job file or a command line must not)."""
    from psycopg.conninfo import conninfo_to_dict

    try:
        return bool(conninfo_to_dict(dsn).get("password"))
    except Exception:
        return False


def _build(v: dict[str, object], job_file: Path | None) -> RunConfig:
    return RunConfig(
        input_dir=v["input_dir"], output_dir=str(v["output_dir"]), store=v["store"], formats=tuple(v["formats"]),
        fail_on=v["fail_on"], fail_on_new_only=v["fail_on_new_only"], history=v["history"],
        accept_shrink=v["accept_shrink"], shrink_threshold=v["shrink_threshold"], memory_limit=v["memory_limit"],
        exceptions=v["exceptions"], allow_long_exceptions=v["allow_long_exceptions"],
        metrics_file=v["metrics_file"], enrolled_within=v["enrolled_within"],
        log_format=v["log_format"], lock_timeout=v["lock_timeout"],
        keep_snapshots=v["retention.snapshots"], retention_days=v["retention.days"],
        intune_groups=tuple(v["targeting.intune_groups"]), ios_bundle_ids=tuple(v["targeting.ios_bundle_ids"]),
        mobile_client_ids=tuple(v["targeting.mobile_client_ids"]),
        entra=EntraConfig(
            read=v["sources.entra.read"], app_id=v["sources.entra.app_id"],
            incremental=v["sources.entra.incremental"], full_pull=v["sources.entra.full_pull"],
            tenant_id=v["sources.entra.tenant_id"], client_id=v["sources.entra.client_id"],
            client_secret=v["sources.entra.client_secret"], certificate_path=v["sources.entra.certificate_path"],
            access_token=v["sources.entra.access_token"],
            credential=v["sources.entra.credential"], graph_url=v["sources.entra.graph_url"]),
        ldap=LdapConfig(
            read=v["sources.ldap.read"], url=v["sources.ldap.url"], base_dn=v["sources.ldap.base_dn"],
            filter=v["sources.ldap.filter"], bind_dn=v["sources.ldap.bind_dn"], password=v["sources.ldap.password"],
            ca_file=v["sources.ldap.ca_file"], page_size=v["sources.ldap.page_size"],
            insecure=v["sources.ldap.insecure"]),
        mattermost=MattermostConfig(
            read=v["sources.mattermost.read"], url=v["sources.mattermost.url"], token=v["sources.mattermost.token"],
            insecure=v["sources.mattermost.insecure"], users=v["sources.mattermost.users"],
            dsn=v["sources.mattermost.dsn"]),
        notify=NotifyConfig(
            on=v["notify.on"], detail=v["notify.detail"], channel_id=v["notify.channel_id"],
            server=str(v["notify.server"]).rstrip("/") if v["notify.server"] else None,
            webhook_url=v["notify.webhook_url"], bot_token=v["notify.bot_token"]),
        job_file=job_file,
    )
