"""Run configuration: job files, ``RECONCILE_*`` variables and options resolved into one RunConfig."""

from reconcile.config.resolve import Resolved, dsn_has_password, load_job_file, resolve
from reconcile.config.run_config import (
    ConfigError,
    EntraConfig,
    LdapConfig,
    MattermostConfig,
    NotifyConfig,
    RunConfig,
    Secret,
)
from reconcile.config.settings import BY_KEY, FAIL_ON_LEVELS, FORMATS, LOG_FORMATS, SETTINGS, Setting

__all__ = ["BY_KEY", "FAIL_ON_LEVELS", "FORMATS", "LOG_FORMATS", "SETTINGS", "ConfigError", "EntraConfig", "LdapConfig",
           "MattermostConfig", "NotifyConfig", "Resolved", "RunConfig", "Secret", "Setting", "dsn_has_password",
           "load_job_file", "resolve"]
