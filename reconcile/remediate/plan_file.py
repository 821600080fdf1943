"""PLAN.json and PLAN.csv: the reviewed plan, for the machine and for the people who review it.

Why a digest: the plan is read by a person between ``plan`` and ``apply``, and the one thing that must
not happen is that an edited file (a changed ``auth_data_after``, a row pasted in from another plan) is
applied as if it had been reviewed. ``digest`` is sha256 over the canonical JSON of ``changes`` (keys
sorted, no whitespace, UTF-8); ``load_plan`` refuses a plan whose digest does not match, or of a version
it does not know, before anything talks to a server. Manual steps are not digested: nothing applies them.
"""

from __future__ import annotations

import csv
import hashlib
import json
from dataclasses import asdict, dataclass, field
from pathlib import Path

from reconcile.errors import ExitCode, ReconcileError
from reconcile.report.csv_report import safe_cell
from reconcile.report.files import owner_only_file

PLAN_VERSION = 1
CHANGE_KEYS = ("mattermost_user_id", "username", "auth_service", "auth_data_before", "auth_data_after",
               "entra_object_id", "user_principal_name", "rule_id", "basis")
MANUAL_KEYS = ("owner", "rule_id", "subject", "step")
OWNERS = ("directory_team", "mattermost_admin")
CSV_COLUMNS = ("kind", "owner", "rule_id", "mattermost_user_id", "username", "user_principal_name",
               "entra_object_id", "auth_service", "auth_data_before", "auth_data_after", "basis", "subject",
               "step")


class PlanError(ReconcileError):
    """The plan file is unreadable, of an unknown version, or not the plan that was reviewed."""

    exit_code = ExitCode.INPUT_ERROR


@dataclass(frozen=True)
class Change:
    """One account's auth_data set from ``auth_data_before`` to ``auth_data_after``, auth_service kept."""

    mattermost_user_id: str
    username: str | None
    auth_service: str
    auth_data_before: str | None
    auth_data_after: str
    entra_object_id: str
    user_principal_name: str | None
    rule_id: str
    basis: str            # the identifier that linked the account to the person (link kind)


@dataclass(frozen=True)
class ManualStep:
    owner: str            # directory_team | mattermost_admin
    rule_id: str
    subject: str          # who or what: an account, a person, the config
    step: str             # the exact change


@dataclass
class Plan:
    created_at: str
    run_id: str
    auth_service: str | None
    changes: list[Change] = field(default_factory=list)
    manual: list[ManualStep] = field(default_factory=list)
    version: int = PLAN_VERSION
    notes: list[str] = field(default_factory=list)  # what the plan left alone and why (not digested)

    @property
    def digest(self) -> str:
        return digest_of([asdict(c) for c in self.changes])

    def as_json(self) -> dict:
        return {"version": self.version, "created_at": self.created_at, "run_id": self.run_id,
                "auth_service": self.auth_service, "changes": [asdict(c) for c in self.changes],
                "manual": [asdict(m) for m in self.manual], "notes": self.notes, "digest": self.digest}


def digest_of(changes: list[dict]) -> str:
    canonical = json.dumps(changes, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()


def csv_path_for(plan_path: Path) -> Path:
    """PLAN.csv beside PLAN.json."""
    return plan_path.with_suffix(".csv")


def journal_path_for(plan_path: Path) -> Path:
    """The default journal: PLAN.journal.jsonl beside PLAN.json."""
    return plan_path.with_name(plan_path.stem + ".journal.jsonl")


def write_plan(plan: Plan, path: Path) -> Path:
    """Write PLAN.json and PLAN.csv (owner-only, each atomically); returns the CSV's path. A directory
    that cannot be made or written is a PlanError naming it."""
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        return _write_plan(plan, path)
    except OSError as exc:
        raise PlanError(f"plan {path}: cannot be written ({exc.strerror or exc})") from exc


def _write_plan(plan: Plan, path: Path) -> Path:
    with owner_only_file(path, "w", encoding="utf-8") as handle:
        json.dump(plan.as_json(), handle, indent=2, ensure_ascii=False)
        handle.write("\n")
    csv_path = csv_path_for(path)
    with owner_only_file(csv_path, "w", encoding="utf-8-sig", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(CSV_COLUMNS)
        for c in plan.changes:
            step = (f"PUT /api/v4/users/{c.mattermost_user_id}/auth "
                    f'{{"auth_data": "{c.auth_data_after}", "auth_service": "{c.auth_service}"}}')
            writer.writerow(safe_cell(v) for v in (
                "change", "mattermost_admin", c.rule_id, c.mattermost_user_id, c.username, c.user_principal_name,
                c.entra_object_id, c.auth_service, c.auth_data_before, c.auth_data_after, c.basis,
                f"{c.auth_service} account {c.username or c.mattermost_user_id}", step))
        for m in plan.manual:
            writer.writerow(safe_cell(v) for v in (
                "manual", m.owner, m.rule_id, None, None, None, None, None, None, None, None, m.subject, m.step))
    return csv_path


def load_plan(path: Path) -> Plan:
    """Read and check a plan; raises PlanError naming the file and what is wrong."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise PlanError(f"plan {path}: no such file") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise PlanError(f"plan {path}: cannot be read ({exc})") from None
    except json.JSONDecodeError as exc:
        raise PlanError(f"plan {path}: not valid JSON (line {exc.lineno}, column {exc.colno}: {exc.msg})") from None
    if not isinstance(data, dict):
        raise PlanError(f"plan {path}: expected a JSON object written by `reconcile remediate plan`")
    if data.get("version") != PLAN_VERSION:
        raise PlanError(f"plan {path}: version {data.get('version')!r} is not one this release knows "
                        f"({PLAN_VERSION}); make the plan again with this release")
    for key in ("created_at", "run_id", "changes", "manual", "digest"):
        if key not in data:
            raise PlanError(f"plan {path}: the key {key!r} is missing")
    changes, manual = data["changes"], data["manual"]
    if not isinstance(changes, list) or not isinstance(manual, list):
        raise PlanError(f"plan {path}: changes and manual must be arrays")
    if digest_of(changes) != data["digest"]:
        raise PlanError(f"plan {path}: its changes do not match its digest: the file was edited after it was "
                        "written. Review a fresh plan (reconcile remediate plan) instead of editing one")
    parsed, seen = [], set()
    for n, change in enumerate(changes, 1):
        if not isinstance(change, dict) or set(change) != set(CHANGE_KEYS):
            raise PlanError(f"plan {path}: change {n} must have exactly the keys {', '.join(CHANGE_KEYS)}")
        for key in ("mattermost_user_id", "auth_service", "auth_data_after", "entra_object_id", "rule_id", "basis"):
            if not isinstance(change[key], str) or not change[key]:
                raise PlanError(f"plan {path}: change {n}: {key} must be a non-empty string")
        if change["mattermost_user_id"] in seen:
            raise PlanError(f"plan {path}: change {n}: account {change['mattermost_user_id']} is planned twice")
        seen.add(change["mattermost_user_id"])
        parsed.append(Change(**change))
    steps = []
    for n, step in enumerate(manual, 1):
        if not isinstance(step, dict) or not set(MANUAL_KEYS) <= set(step):
            raise PlanError(f"plan {path}: manual step {n} must have the keys {', '.join(MANUAL_KEYS)}")
        steps.append(ManualStep(**{k: step[k] for k in MANUAL_KEYS}))
    return Plan(created_at=data["created_at"], run_id=data["run_id"], auth_service=data.get("auth_service"),
                changes=parsed, manual=steps, notes=list(data.get("notes") or []))
