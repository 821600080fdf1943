"""The job profiles and scheduler units in jobs/: each parsed by its own tool where there is one
(systemd-analyze, PyYAML, tomllib and reconcile's own job-file loader), and checked against each other.

What this does not prove: that the units run under a real systemd as PID 1, or that the image builds
(no container runtime or image registry here). ``systemd-analyze verify`` checks the unit syntax, every
key, the referenced units and that ExecStart is executable (pointed at a stub, since /opt/reconcile is
not installed here); ``systemd-analyze security --offline`` scores the hardening as written.
"""

from __future__ import annotations

import os
import re
import shlex
import shutil
import subprocess
import tomllib
from pathlib import Path

import pytest
import yaml

from reconcile.config import BY_KEY, Secret, load_job_file, resolve

ROOT = Path(__file__).resolve().parent.parent
JOBS = ROOT / "jobs"
SYSTEMD = JOBS / "systemd"
PROFILES = ("nightly", "preflight", "export")
RECONCILE = "/opt/reconcile/.venv/bin/reconcile"
# Profile -> the command every scheduler runs for it, after the program.
COMMANDS = {"nightly": ["run", "--job", "/etc/reconcile/nightly.toml"],
            "preflight": ["run", "--job", "/etc/reconcile/preflight.toml"],
            "export": ["export", "--job", "/etc/reconcile/export.toml"]}
HARDENING = {"UMask": "0077", "ProtectSystem": "strict", "ProtectHome": "yes", "PrivateTmp": "yes",
             "NoNewPrivileges": "yes", "CapabilityBoundingSet": "", "ReadWritePaths": "/var/lib/reconcile",
             "User": "reconcile", "PrivateDevices": "yes", "SystemCallArchitectures": "native",
             "RestrictNamespaces": "yes", "RestrictSUIDSGID": "yes", "LockPersonality": "yes"}


def unit_file(path: Path) -> dict[str, list[tuple[str, str]]]:
    """A systemd unit as {section: [(key, value), ...]}: keys repeat (LoadCredential=), so no dict per section."""
    sections: dict[str, list[tuple[str, str]]] = {}
    current = None
    for line in path.read_text().splitlines():
        line = line.strip()
        if not line or line.startswith(("#", ";")):
            continue
        if line.startswith("["):
            current = sections.setdefault(line.strip("[]"), [])
            continue
        key, _, value = line.partition("=")
        assert current is not None, f"{path}: {line!r} before any section"
        current.append((key.strip(), value.strip()))
    return sections


def values(unit: dict[str, list[tuple[str, str]]], section: str, key: str) -> list[str]:
    return [v for k, v in unit.get(section, []) if k == key]


def one(unit: dict[str, list[tuple[str, str]]], section: str, key: str) -> str:
    found = values(unit, section, key)
    assert len(found) == 1, f"{key}= in [{section}]: expected exactly one, found {found}"
    return found[0]


def service(profile: str) -> dict[str, list[tuple[str, str]]]:
    return unit_file(SYSTEMD / f"reconcile-{profile}.service")


def exec_start(profile: str) -> list[str]:
    return shlex.split(one(service(profile), "Service", "ExecStart"))


def job(profile: str) -> dict:
    with open(JOBS / f"{profile}.toml", "rb") as handle:
        return tomllib.load(handle)


def file_secrets(document: dict, prefix: str = "") -> dict[str, str]:
    """Every ``{ file = ... }`` secret of a job file, by key path."""
    found: dict[str, str] = {}
    for name, value in document.items():
        key = f"{prefix}.{name}" if prefix else name
        if isinstance(value, dict) and set(value) == {"file"}:
            found[key] = value["file"]
        elif isinstance(value, dict):
            found.update(file_secrets(value, key))
    return found


def systemd_analyze() -> str:
    """The tool, or a skip where it cannot be installed; in CI (.ci/run installs it) a missing one fails."""
    tool = shutil.which("systemd-analyze")
    if tool is None:
        if os.environ.get("CI"):
            pytest.fail("systemd-analyze is missing in CI: .ci/run installs the systemd package")
        pytest.skip("systemd-analyze not installed (Debian package systemd)")
    return tool


def units_with_stub(tmp_path: Path) -> list[Path]:
    """Copies of every unit, ExecStart pointed at a stub executable (verify needs the binary to exist)."""
    stub = tmp_path / "bin" / "reconcile"
    stub.parent.mkdir()
    stub.write_text("#!/bin/sh\nexit 0\n")
    stub.chmod(0o755)
    copies = []
    for unit in sorted(SYSTEMD.iterdir()):
        text = unit.read_text()
        if "ExecStart=" in text:
            assert f"ExecStart={RECONCILE} " in text, f"{unit.name}: ExecStart is not {RECONCILE}"
        copy = tmp_path / unit.name
        copy.write_text(text.replace(f"ExecStart={RECONCILE} ", f"ExecStart={stub} "))
        copies.append(copy)
    return copies


# -- systemd ------------------------------------------------------------------------------------------

def test_the_unit_set_is_one_service_per_profile_and_a_timer_for_the_nightly_run():
    assert sorted(p.name for p in SYSTEMD.iterdir()) == [
        "reconcile-export.service", "reconcile-nightly.service", "reconcile-nightly.timer",
        "reconcile-preflight.service"]


def test_every_unit_passes_systemd_analyze_verify(tmp_path):
    tool = systemd_analyze()
    copies = units_with_stub(tmp_path)
    done = subprocess.run([tool, "verify", *map(str, copies)], capture_output=True, text=True, cwd=tmp_path,
                          timeout=120)
    # Unknown keys and bad values are only warnings (exit 0): any output about our units is a failure.
    ours = [line for line in (done.stdout + done.stderr).splitlines() if "reconcile" in line]
    assert done.returncode == 0 and not ours, done.stdout + done.stderr


def test_verify_as_used_here_does_catch_a_broken_unit(tmp_path):
    """The check above can fail: a misspelt key and a missing binary are both reported."""
    tool = systemd_analyze()
    broken = tmp_path / "reconcile-broken.service"
    broken.write_text("[Service]\nType=oneshot\nExecStart=/nonexistent/reconcile run\nUMaks=0077\n")
    done = subprocess.run([tool, "verify", str(broken)], capture_output=True, text=True, cwd=tmp_path, timeout=120)
    output = done.stdout + done.stderr
    assert done.returncode != 0 and "UMaks" in output and "/nonexistent/reconcile" in output, output


@pytest.mark.parametrize("profile", PROFILES)
def test_service_is_hardened(profile, tmp_path):
    unit = service(profile)
    assert one(unit, "Service", "Type") == "oneshot"
    for key, want in HARDENING.items():
        assert one(unit, "Service", key) == want, key
    assert "@system-service" in values(unit, "Service", "SystemCallFilter")
    assert "reconcile" in one(unit, "Service", "StateDirectory").split()
    families = set(one(unit, "Service", "RestrictAddressFamilies").split())
    if profile == "export":  # reads only the store: no network at all
        assert families == {"AF_UNIX"} and one(unit, "Service", "PrivateNetwork") == "yes"
    else:
        assert families == {"AF_INET", "AF_INET6", "AF_UNIX"}
        assert "network-online.target" in one(unit, "Unit", "After").split()
    tool = systemd_analyze()
    copy = next(p for p in units_with_stub(tmp_path) if p.name == f"reconcile-{profile}.service")
    done = subprocess.run([tool, "security", "--offline=true", str(copy)], capture_output=True, text=True,
                          timeout=120)
    level = re.search(r"Overall exposure level for \S+: ([0-9.]+)", done.stdout)
    assert level, done.stdout + done.stderr
    assert float(level.group(1)) <= 2.0, done.stdout  # systemd's "OK" band or better


@pytest.mark.parametrize("profile", PROFILES)
def test_every_secret_of_the_job_file_is_a_credential_of_its_unit(profile):
    unit = service(profile)
    loaded = dict(v.split(":", 1) for v in values(unit, "Service", "LoadCredential"))
    secrets = file_secrets(job(profile))
    names = set()
    for key, path in secrets.items():
        directory, _, name = path.rpartition("/")
        assert directory == f"/run/credentials/reconcile-{profile}.service", f"{profile}.toml {key}: {path}"
        assert name in loaded, f"{profile}.toml {key} needs LoadCredential={name}:..."
        assert loaded[name] == f"/etc/reconcile/credentials/{name}"
        names.add(name)
    assert names == set(loaded), "a LoadCredential= no job-file key uses"
    if profile == "export":
        assert not secrets


def test_exit_1_is_success_only_where_findings_are_not_a_job_failure():
    # preflight: findings are its answer. nightly: exit 1 = new blocking findings, which this profile's
    # fail_on exists to alert on, so the unit fails. export: does not audit.
    assert values(service("preflight"), "Service", "SuccessExitStatus") == ["1"]
    assert values(service("nightly"), "Service", "SuccessExitStatus") == []
    assert values(service("export"), "Service", "SuccessExitStatus") == []


def test_the_export_runs_after_every_nightly_run():
    assert "reconcile-export.service" in one(service("nightly"), "Unit", "Wants").split()
    assert "reconcile-nightly.service" in one(service("export"), "Unit", "After").split()


def test_the_nightly_timer_starts_the_nightly_service_daily():
    timer = unit_file(SYSTEMD / "reconcile-nightly.timer")
    assert one(timer, "Timer", "Unit") == "reconcile-nightly.service"
    assert one(timer, "Timer", "Persistent") == "true"
    assert one(timer, "Install", "WantedBy") == "timers.target"
    tool = systemd_analyze()
    calendar = one(timer, "Timer", "OnCalendar")
    done = subprocess.run([tool, "calendar", "--iterations=2", calendar], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    elapses = re.findall(r"(\d{4}-\d\d-\d\d) 02:30:00 UTC", done.stdout)
    assert len(elapses) == 2 and elapses[0] != elapses[1], done.stdout


# -- cron ---------------------------------------------------------------------------------------------

def cron() -> tuple[dict[str, str], list[str], list[str]]:
    """The crontab's variables, the schedule's five fields and the command's words."""
    env: dict[str, str] = {}
    entries = []
    for line in (JOBS / "reconcile.cron").read_text().splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        if re.fullmatch(r"[A-Z_][A-Z0-9_]*=\S*", line):
            name, _, value = line.partition("=")
            env[name] = value
            continue
        entries.append(line.split(None, 5))
    assert len(entries) == 1, f"expected one cron line, found {entries}"
    fields = entries[0]
    assert len(fields) == 6, f"expected 5 time fields and a command: {fields}"
    return env, fields[:5], shlex.split(fields[5])


def test_the_cron_line_is_five_fields_and_the_nightly_units_command():
    _env, schedule, command = cron()
    limits = [(0, 59), (0, 23), (1, 31), (1, 12), (0, 7)]
    for field, (low, high) in zip(schedule, limits, strict=True):
        assert field == "*" or (field.isdigit() and low <= int(field) <= high), schedule
    assert command == exec_start("nightly")


def test_the_cron_variables_point_every_secret_at_a_file_and_nothing_else():
    env, _schedule, _command = cron()
    secrets = file_secrets(job("nightly"))
    assert set(env) == {BY_KEY[key].env_file for key in secrets}
    resolved = resolve({}, env, JOBS / "nightly.toml").values
    for key in secrets:
        secret = resolved[key]
        assert isinstance(secret, Secret) and secret.kind == "file"
        assert secret.name == f"/etc/reconcile/credentials/{Path(secrets[key]).name}"


# -- Kubernetes ---------------------------------------------------------------------------------------

def kubernetes() -> list[dict]:
    with open(JOBS / "kubernetes" / "cronjob.yaml") as handle:
        return [doc for doc in yaml.safe_load_all(handle) if doc]


def cronjobs() -> dict[str, dict]:
    return {doc["metadata"]["name"].removeprefix("reconcile-"): doc for doc in kubernetes() if doc["kind"] == "CronJob"}


def containerfile() -> list[tuple[str, str]]:
    lines = (ROOT / "Containerfile").read_text().replace("\\\n", " ").splitlines()
    return [tuple(line.strip().split(None, 1)) for line in lines if line.strip() and not line.lstrip().startswith("#")]


def test_one_cronjob_per_profile_with_the_units_command():
    jobs = cronjobs()
    assert set(jobs) == set(PROFILES)
    entrypoint = [v for k, v in containerfile() if k == "ENTRYPOINT"]
    assert entrypoint == ['["reconcile"]']
    for profile, doc in jobs.items():
        container = doc["spec"]["jobTemplate"]["spec"]["template"]["spec"]["containers"][0]
        assert "command" not in container, "the image's ENTRYPOINT is the program"
        program, *args = exec_start(profile)
        assert Path(program).name == "reconcile" and args == COMMANDS[profile] == container["args"]
    assert jobs["preflight"]["spec"]["suspend"] is True  # started by hand only
    assert "suspend" not in jobs["nightly"]["spec"] and "suspend" not in jobs["export"]["spec"]


@pytest.mark.parametrize("profile", PROFILES)
def test_cronjob_security_and_volumes(profile):
    doc = cronjobs()[profile]
    spec = doc["spec"]
    assert spec["concurrencyPolicy"] == "Forbid"
    job_spec = spec["jobTemplate"]["spec"]
    failing = [r for r in job_spec["podFailurePolicy"]["rules"] if r["action"] == "FailJob"]
    assert 1 in failing[0]["onExitCodes"]["values"]  # a retry after findings would hide them
    pod = job_spec["template"]["spec"]
    assert pod["restartPolicy"] == "Never"
    assert pod["securityContext"]["runAsNonRoot"] is True
    user = pod["securityContext"]["runAsUser"]
    assert isinstance(user, int) and user > 0
    assert [v for k, v in containerfile() if k == "USER"] == [f"{user}:{pod['securityContext']['runAsGroup']}"]
    (container,) = pod["containers"]
    security = container["securityContext"]
    assert security["runAsNonRoot"] is True and security["runAsUser"] == user
    assert security["readOnlyRootFilesystem"] is True
    assert security["allowPrivilegeEscalation"] is False
    assert security["capabilities"]["drop"] == ["ALL"]
    volumes = {v["name"]: v for v in pod["volumes"]}
    mounts = {m["mountPath"]: m for m in container["volumeMounts"]}
    assert set(mounts["/tmp"]) >= {"name"} and "emptyDir" in volumes[mounts["/tmp"]["name"]]
    data = volumes[mounts["/var/lib/reconcile"]["name"]]
    claims = {d["metadata"]["name"] for d in kubernetes() if d["kind"] == "PersistentVolumeClaim"}
    assert data["persistentVolumeClaim"]["claimName"] in claims
    config = volumes[mounts["/etc/reconcile"]["name"]]["configMap"]["name"]
    (config_map,) = [d for d in kubernetes() if d["kind"] == "ConfigMap" and d["metadata"]["name"] == config]
    for name in PROFILES:  # the ConfigMap holds the job files verbatim
        assert config_map["data"][f"{name}.toml"] == (JOBS / f"{name}.toml").read_text(), name
    assert mounts["/etc/reconcile"]["readOnly"] is True
    # Every file secret of the job file is pointed, by its RECONCILE_*_FILE variable, at a file of the
    # Secret volume (environment beats the job file), and resolves there.
    secrets = file_secrets(job(profile))
    env = {e["name"]: e["value"] for e in container.get("env", [])}
    secret_volumes = [v for v in pod["volumes"] if "secret" in v]
    if not secrets:
        assert not secret_volumes
        return
    (secret_volume,) = secret_volumes
    (secret_mount,) = [m for m in container["volumeMounts"] if m["name"] == secret_volume["name"]]
    assert secret_mount["readOnly"] is True
    items = {i["key"]: i["path"] for i in secret_volume["secret"]["items"]}
    overrides = {}
    for key, path in secrets.items():
        variable = BY_KEY[key].env_file
        name = Path(path).name
        assert env[variable] == f"{secret_mount['mountPath']}/{items[name]}", variable
        overrides[variable] = env[variable]
    resolved = resolve({}, overrides, JOBS / f"{profile}.toml").values
    for key in secrets:
        assert resolved[key] == Secret("file", env[BY_KEY[key].env_file], key)


# -- Containerfile ------------------------------------------------------------------------------------

def test_containerfile_builds_this_repository_as_a_non_root_user():
    instructions = containerfile()
    froms = [v for k, v in instructions if k == "FROM"]
    assert froms and all(v.split()[0] == "python:3.11-slim" for v in froms)
    runs = " ".join(v for k, v in instructions if k == "RUN")
    assert "pip wheel" in runs and "pip install" in runs and "[graph]" in runs
    assert f"venv {Path(RECONCILE).parent.parent}" in runs  # the units' path, in the image too
    user = [v for k, v in instructions if k == "USER"][-1]
    assert user.split(":")[0].isdigit() and int(user.split(":")[0]) != 0  # numeric: runAsNonRoot can check it
    # The build context copies what the wheel is built from: the package, its readme, force-included data.
    with open(ROOT / "pyproject.toml", "rb") as handle:
        project = tomllib.load(handle)
    copied = {word.rstrip("/").removeprefix("./") for k, v in instructions if k == "COPY" and "--from" not in v
              for word in v.split()[:-1]}
    wheel = project["tool"]["hatch"]["build"]["targets"]["wheel"]
    needed = {"pyproject.toml", project["project"]["readme"], *wheel["packages"], *wheel["force-include"]}
    assert needed <= copied, needed - copied


# -- job files ----------------------------------------------------------------------------------------

@pytest.mark.parametrize("profile", PROFILES)
def test_job_file_loads_with_reconciles_own_loader(profile):
    path = JOBS / f"{profile}.toml"
    assert load_job_file(path)
    resolve({}, {}, path)  # every key known and valid, and the keys agree with each other


def test_nightly_profile():
    config = resolve({}, {}, JOBS / "nightly.toml").config
    assert config.entra.read == "graph" and config.entra.incremental and not config.entra.full_pull
    assert config.ldap.read == "ldap" and config.ldap.url
    assert config.mattermost.read == "api" and config.mattermost.users == "db"
    assert config.history and config.fail_on == "blocking" and config.fail_on_new_only
    assert "%" in config.output_dir and config.store == Path("/var/lib/reconcile/reconcile.duckdb")
    assert "retention" in job("nightly") and config.retention_days > 0


def test_preflight_profile():
    config = resolve({}, {}, JOBS / "preflight.toml").config
    assert config.entra.read == "graph" and not config.entra.incremental
    assert config.ldap.read == "ldap" and config.mattermost.users == "db"
    assert config.fail_on == "never" and set(config.formats) == {"csv", "json", "html"}
    assert config.store != resolve({}, {}, JOBS / "nightly.toml").config.store  # not the nightly's "previous run"


def test_export_profile_reads_the_nightly_store():
    config = resolve({}, {}, JOBS / "export.toml").config
    assert config.formats == ("csv",)
    assert config.store == resolve({}, {}, JOBS / "nightly.toml").config.store
    assert config.output_dir == "/var/lib/reconcile/handover"


@pytest.mark.parametrize("profile", PROFILES)
def test_config_show_of_each_profile_with_the_secrets_pointed_elsewhere(profile, tmp_path):
    """README step 4: outside the unit, RECONCILE_*_FILE points the job file's secrets at other files;
    ``reconcile config show`` resolves the profile, names those files readable and never prints a secret."""
    from click.testing import CliRunner

    from reconcile.cli import main

    env = {}
    for key in file_secrets(job(profile)):
        secret = tmp_path / key.replace(".", "-")
        secret.write_text(f"s3cret-{key}\n")
        env[BY_KEY[key].env_file] = str(secret)
    done = CliRunner().invoke(main, ["config", "show", "--job", str(JOBS / f"{profile}.toml")], env=env)
    assert done.exit_code == 0, done.output
    assert "s3cret" not in done.output
    for key, variable in ((k, BY_KEY[k].env_file) for k in file_secrets(job(profile))):
        (line,) = [line for line in done.output.splitlines() if line.startswith(f"{key} = ")]
        assert f"'{env[variable]}' }} (readable)" in line and variable in line, line
