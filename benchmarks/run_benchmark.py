"""Benchmark the audit end to end on generated tenants: wall time and peak memory of the real CLI.

For each size it generates a tenant (benchmarks/generate_tenant.py, in a child process) into
benchmarks/data/ (gitignored), runs ``reconcile audit --input-dir ... -q`` as a subprocess exactly
as an admin or a scheduler would, and prints one table row per size.

Why it measures this way:

* The CLI runs as a child process so the figures include interpreter start-up, imports and
  report writing, i.e. what a nightly job costs, and so the harness's own memory is not counted.
* Peak RSS is the child's ``ru_maxrss`` (what ``resource.getrusage(RUSAGE_CHILDREN)`` reports
  when there is one child), read with ``os.wait4`` so that each child is measured on its own:
  RUSAGE_CHILDREN is a maximum over every child waited for so far, which would credit the
  generator's or a larger earlier run's peak to the audit.
* Generation is timed separately: it is not part of the audit, and at 1,000,000 users it takes
  longer than the audit itself.
* Each run is also checked against what the generator planted: findings per rule, and readiness
  per status, where the status a planted rule gives a row is read from the rule files (severity
  and ``readiness`` header), as the audit itself does. With ``--truth`` every finding and every
  readiness row is also matched to the person it is about. A fast wrong answer is not a result;
  no check ever looks at timings.

* Beside the audit, two reference points are measured on the same files, each its own child
  process with its own wall time and peak RSS: the naive baseline (benchmarks/naive_baseline.py,
  the pandas script one would write first, whose counts for the user rules it computes are
  checked against the plant too: a baseline computing something else is not a fair comparison)
  and the machine floor (benchmarks/floor.py, DuckDB alone landing the files, no rules). The
  audit's ratio to each is reported. Each has a time limit; a child killed by it, by a signal or
  by running out of memory is recorded with that status instead of a time.
* When the audit's summary.json carries ``phase_seconds``, each phase is shown, with "other" =
  wall time minus their sum (interpreter start-up, imports, report writing).

Usage: ``python benchmarks/run_benchmark.py [--users 100000 1000000] [--seed 7] [--reuse] [--truth]
[--no-baseline] [--no-floor] [--time-limit 900]``.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import platform
import resource
import shutil
import signal
import subprocess
import sys
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from reconcile.rules import Rule, load_rules

sys.path.insert(0, str(Path(__file__).resolve().parent))  # the generator is a script beside this one
from generate_tenant import EXTRAS, PLANT_BY_KIND

HERE = Path(__file__).resolve().parent
GENERATOR = HERE / "generate_tenant.py"
BASELINE = HERE / "naive_baseline.py"
FLOOR = HERE / "floor.py"
DEFAULT_DATA = HERE / "data"


@dataclass
class Measured:
    """One child process: wall seconds, peak RSS in MiB, exit code, and how it ended.

    ``status`` is "ok" (exit 0), "exit N", "timeout" (killed at the time limit), "out of memory"
    (MemoryError, or SIGKILL, which is what the kernel's OOM killer sends) or "signal NAME".
    ``seconds`` is then the time until it ended, not a result.
    """

    seconds: float
    peak_mib: float
    returncode: int
    status: str = "ok"


@dataclass
class Reference:
    """A baseline or floor run beside the audit: its measurement and what it printed."""

    measured: Measured
    output: dict[str, Any] = field(default_factory=dict)
    differences: list[str] = field(default_factory=list)  # baseline counts that differ from the plant


@dataclass
class Row:
    users: int
    generate: Measured | None
    audit: Measured
    rows: dict[str, int]
    findings: int
    export_mib: float
    readiness: dict[str, int]
    problems: list[str] = field(default_factory=list)
    phases: dict[str, float] = field(default_factory=dict)  # summary.json phase_seconds, if any
    baseline: Reference | None = None
    floor: Reference | None = None

    def ratio(self, ref: Reference | None, what: str) -> float | None:
        """audit / reference for ``what`` (seconds or peak_mib); None unless both ran to completion."""
        if ref is None or ref.measured.status != "ok":
            return None
        denominator = getattr(ref.measured, what)
        return round(getattr(self.audit, what) / denominator, 2) if denominator else None


def run_child(argv: list[str], log: Path, time_limit: float | None = None) -> Measured:
    """Run ``argv`` with output to ``log``; wall time by perf_counter, peak RSS of this child alone.

    With ``time_limit`` the child is polled (``os.wait4`` with WNOHANG every 50 ms, so the
    measurement stays the same wait4 as without a limit) and killed when it runs over.
    """
    timed_out = False
    with log.open("wb") as out:
        started = time.perf_counter()
        proc = subprocess.Popen(argv, stdout=out, stderr=subprocess.STDOUT)
        if time_limit is None:
            _, status, usage = os.wait4(proc.pid, 0)
        else:
            while True:
                pid, status, usage = os.wait4(proc.pid, os.WNOHANG)
                if pid:
                    break
                if time.perf_counter() - started > time_limit:
                    timed_out = True
                    proc.kill()
                    _, status, usage = os.wait4(proc.pid, 0)
                    break
                time.sleep(0.05)
        seconds = time.perf_counter() - started
    proc.returncode = os.waitstatus_to_exitcode(status)  # reaped by wait4, so tell Popen
    kib = usage.ru_maxrss if sys.platform != "darwin" else usage.ru_maxrss / 1024  # macOS reports bytes
    code = proc.returncode
    if timed_out:
        how = "timeout"
    elif code == -signal.SIGKILL or (code != 0 and b"MemoryError" in log.read_bytes()[-4000:]):
        how = "out of memory"
    elif code < 0:
        how = f"signal {signal.Signals(-code).name}"
    else:
        how = "ok" if code == 0 else f"exit {code}"
    return Measured(round(seconds, 2), round(kib / 1024, 1), code, how)


def reconcile_command() -> list[str]:
    """The installed console script next to this interpreter, else the one on PATH."""
    beside = Path(sys.executable).with_name("reconcile")
    found = str(beside) if beside.exists() else shutil.which("reconcile")
    if not found:
        raise SystemExit("reconcile is not installed: pip install -e . first")
    return [found]


def dir_mib(path: Path) -> float:
    return round(sum(f.stat().st_size for f in path.rglob("*") if f.is_file()) / 2**20, 1)


def generate(users: int, seed: int, data: Path, reuse: bool,
             truth: bool) -> tuple[Path, dict[str, Any], Measured | None]:
    """Generate (or, with ``reuse``, keep) the tenant for ``users``; returns its export dir and plan."""
    base = data / f"tenant-{users}-seed{seed}"
    export, plan_file = base / "export", base / "generated.json"
    if reuse and plan_file.is_file() and (not truth or (base / "truth.csv").is_file()):
        plan = json.loads(plan_file.read_text(encoding="utf-8"))
        if plan.get("generator_mtime") == GENERATOR.stat().st_mtime_ns:
            return export, plan, None
    base.mkdir(parents=True, exist_ok=True)
    extra = ["--truth", str(base / "truth.csv")] if truth else []
    measured = run_child([sys.executable, str(GENERATOR), str(export), "--users", str(users),
                          "--seed", str(seed), *extra], base / "generate.log")
    if measured.returncode != 0:
        raise SystemExit(f"generator failed ({measured.returncode}); see {base / 'generate.log'}")
    text = (base / "generate.log").read_text(encoding="utf-8")
    plan = json.loads(text[text.index("{"):])
    plan["generator_mtime"] = GENERATOR.stat().st_mtime_ns
    plan_file.write_text(json.dumps(plan, indent=2), encoding="utf-8")
    return export, plan, measured


def audit(users: int, seed: int, data: Path, export: Path) -> tuple[Measured, dict[str, Any]]:
    out = data / f"tenant-{users}-seed{seed}" / "out"
    if out.exists():
        shutil.rmtree(out)  # a fresh store: a nightly run against an old store also diffs, not measured here
    out.mkdir(parents=True)
    measured = run_child([*reconcile_command(), "audit", "--input-dir", str(export), "--output-dir", str(out),
                          "--store", str(out / "store.duckdb"), "-q"], out.parent / "audit.log")
    if measured.returncode not in (0, 1):  # 1 = findings at or above --fail-on: expected here
        raise SystemExit(f"audit failed ({measured.returncode}); see {out.parent / 'audit.log'}")
    measured.status = "ok"  # exit 1 is the audit's answer (findings), not a failure to run
    return measured, json.loads((out / "summary.json").read_text(encoding="utf-8"))


def last_json(log: Path) -> dict[str, Any]:
    """The JSON object a reference script printed last (its stderr shares the log)."""
    for line in reversed(log.read_text(encoding="utf-8", errors="replace").splitlines()):
        if line.startswith("{"):
            try:
                return json.loads(line)
            except json.JSONDecodeError:
                break
    return {}


def reference(script: Path, name: str, export: Path, time_limit: float) -> Reference:
    """Run a reference script (baseline or floor) on ``export`` in its own child process."""
    log = export.parent / f"{name}.log"
    measured = run_child([sys.executable, str(script), str(export)], log, time_limit)
    return Reference(measured, last_json(log) if measured.status == "ok" else {})


def check_baseline(plan: dict[str, Any], ref: Reference) -> list[str]:
    """Rules whose baseline count differs from the plant: the comparison is unfair for those."""
    if ref.measured.status != "ok":
        return []
    counts = ref.output.get("counts", {})
    if not counts:
        return ["the baseline printed no counts"]
    return [f"{rule}: planted {plan['expected_findings'].get(rule, 0)}, baseline {got}"
            for rule, got in sorted(counts.items()) if plan["expected_findings"].get(rule, 0) != got]


def status_for(rule_ids: list[str], rules: dict[str, Rule]) -> str:
    """The readiness status these findings give a row, by the precedence readiness.sql applies."""
    found = [rules[r] for r in rule_ids if r in rules]
    if any(getattr(r, "readiness", "severity") == "not_evaluated" for r in found):
        return "not_evaluated"
    severities = {r.severity for r in found}
    return "will_fail" if "blocking" in severities else "at_risk" if "warning" in severities else "ready"


def expected_readiness(plan: dict[str, Any], rules: dict[str, Rule]) -> dict[str, int]:
    """Readiness rows per status: each row carries the config findings plus at most one planted rule."""
    counts: dict[str, int] = {}
    for rule, rows in plan["readiness_rows"].items():
        status = status_for([*plan["config_findings"], *([rule] if rule else [])], rules)
        counts[status] = counts.get(status, 0) + rows
    return counts


def check(plan: dict[str, Any], summary: dict[str, Any]) -> list[str]:
    """Differences between what was planted and what the audit reported (empty when they agree)."""
    problems = []
    rules = {rule.rule_id: rule for rule in load_rules()}
    unplanted = sorted(set(rules) - set(plan["expected_findings"]))
    if unplanted:  # not a mismatch: a count of 0 is still checked below
        print(f"  note: the generator plants nothing for {', '.join(unplanted)}", flush=True)
    by_rule = summary.get("findings_by_rule", {})
    for rule in sorted(set(by_rule) | set(plan["expected_findings"])):
        want, got = plan["expected_findings"].get(rule, 0), by_rule.get(rule, 0)
        if want != got:
            problems.append(f"{rule}: planted {want}, reported {got}")
    want_readiness = expected_readiness(plan, rules)
    for status in sorted(set(want_readiness) | set(summary.get("readiness", {}))):
        want, got = want_readiness.get(status, 0), summary.get("readiness", {}).get(status, 0)
        if want != got:
            problems.append(f"readiness {status}: expected {want}, reported {got}")
    # The generator writes the directory exports; SAML captures, tokens, the app registration and the
    # Intune App Protection Policies are only added to the sample (benchmarks/sample_extras.py).
    # A rule may be skipped only for those.
    optional = {"saml", "saml_metadata", "msal_tokens", "entra_application", "entra_service_principals",
                "entra_grants", "intune_policies"}
    skipped = [r["rule_id"] for r in summary.get("rules", []) if r.get("status") != "ran"
               and not set((r.get("skip_reason") or "").removeprefix("missing input: ").split(", ")) <= optional]
    if skipped:
        problems.append(f"rules not run: {', '.join(skipped)}")
    return problems


def check_truth(truth_csv: Path, out: Path, config_rules: list[str]) -> list[str]:
    """Match every finding and readiness row to the planted person it is about.

    Catches what counts cannot: a right number of findings about the wrong people (a false positive
    hiding behind a missed case).
    """
    plants = {**PLANT_BY_KIND, **{p.kind: p for p in EXTRAS}}
    by_oid: dict[str, str] = {}
    by_mm: dict[str, str] = {}
    with truth_csv.open(encoding="utf-8", newline="") as handle:
        for row in csv.DictReader(handle):
            if row["entra_object_id"]:
                by_oid[row["entra_object_id"]] = row["kind"]
            for mm_id in row["mattermost_user_ids"].split():
                by_mm[mm_id] = row["kind"]

    def planted_rules(finding: dict[str, str]) -> tuple[str | None, list[str]]:
        kind = by_oid.get(finding["entra_object_id"] or "") or by_mm.get(finding["mattermost_user_id"] or "")
        plant = plants.get(kind or "")
        return kind, [rule for rule, _ in plant.findings] if plant else []

    rules = {rule.rule_id: rule for rule in load_rules()}
    problems = []
    with (out / "findings.csv").open(encoding="utf-8-sig", newline="") as handle:
        for finding in csv.DictReader(handle):
            if finding["subject_type"] == "config":
                continue
            kind, expected = planted_rules(finding)
            if finding["rule_id"] not in expected:
                problems.append(f"unplanted {finding['rule_id']} about a {kind or 'unknown'} person: "
                                f"{finding['user_principal_name'] or finding['email']}: {finding['observed']}")
    with (out / "readiness.csv").open(encoding="utf-8-sig", newline="") as handle:
        for row in csv.DictReader(handle):
            kind, expected = planted_rules(row)
            want = status_for([*config_rules, *expected], rules)
            if row["status"] != want:
                problems.append(f"readiness of a {kind or 'unknown'} row is {row['status']}, expected {want}: "
                                f"{row['user_principal_name'] or row['email']} ({row['rule_ids']})")
    return problems[:50]


def machine() -> str:
    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    mem = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
    try:
        import duckdb
        duck = duckdb.__version__
    except ImportError:
        duck = "?"
    return (f"{os.cpu_count()} cores ({cpu}), {mem:.0f} GiB RAM, {platform.system()} {platform.release()}, "
            f"Python {platform.python_version()}, DuckDB {duck}")


def table(header: tuple[str, ...], body: list[tuple[str, ...]]) -> str:
    widths = [max(len(h), *(len(b[i]) for b in body)) for i, h in enumerate(header)]
    lines = [" | ".join(h.rjust(w) for h, w in zip(header, widths, strict=True))]
    lines.append("-+-".join("-" * w for w in widths))
    lines += [" | ".join(c.rjust(w) for c, w in zip(b, widths, strict=True)) for b in body]
    return "\n".join(lines)


def shown(ref: Reference | None, what: str) -> str:
    """A reference's seconds or peak for the table: the figure, its status, or '-' when skipped."""
    if ref is None:
        return "-"
    if ref.measured.status != "ok" and what == "seconds":
        return f"{ref.measured.status} after {ref.measured.seconds}"
    return f"{getattr(ref.measured, what):,}"


def render(rows: list[Row]) -> str:
    header = ("users", "entra", "mm", "ldap", "export MiB", "findings", "gen s", "gen MiB",
              "audit s", "audit peak MiB", "check")
    body = [(
        f"{r.users:,}", f"{r.rows.get('entra_users', 0):,}", f"{r.rows.get('mattermost_users', 0):,}",
        f"{r.rows.get('ldap', 0):,}", f"{r.export_mib:,}", f"{r.findings:,}",
        f"{r.generate.seconds}" if r.generate else "reused", f"{r.generate.peak_mib}" if r.generate else "-",
        f"{r.audit.seconds}", f"{r.audit.peak_mib:,}", "ok" if not r.problems else "MISMATCH",
    ) for r in rows]
    out = [table(header, body)]
    if any(r.baseline or r.floor for r in rows):
        def ratio(value: float | None) -> str:
            return f"{value}x" if value is not None else "-"
        header = ("users", "audit s", "baseline s", "floor s", "audit/baseline", "audit/floor",
                  "audit MiB", "baseline MiB", "floor MiB", "MiB audit/baseline", "MiB audit/floor",
                  "baseline counts")
        body = [(
            f"{r.users:,}", f"{r.audit.seconds}", shown(r.baseline, "seconds"), shown(r.floor, "seconds"),
            ratio(r.ratio(r.baseline, "seconds")), ratio(r.ratio(r.floor, "seconds")),
            f"{r.audit.peak_mib:,}", shown(r.baseline, "peak_mib"), shown(r.floor, "peak_mib"),
            ratio(r.ratio(r.baseline, "peak_mib")), ratio(r.ratio(r.floor, "peak_mib")),
            "-" if r.baseline is None or r.baseline.measured.status != "ok"
            else "agree" if not r.baseline.differences else "DIFFER (not a fair comparison)",
        ) for r in rows]
        out += ["", table(header, body)]
    phases = list(dict.fromkeys(p for r in rows for p in r.phases))
    if phases:
        header = ("users", "audit s", *phases, "other")
        body = [(f"{r.users:,}", f"{r.audit.seconds}", *(f"{r.phases[p]:.2f}" if p in r.phases else "-"
                                                        for p in phases),
                 f"{r.audit.seconds - sum(r.phases.values()):.2f}" if r.phases else "-") for r in rows]
        out += ["", "audit phases (seconds; other = wall minus the phases: start-up, imports, reports)",
                table(header, body)]
    return "\n".join(out)


def phase_seconds(summary: dict[str, Any]) -> dict[str, float]:
    """summary.json's phase_seconds as floats; empty when the audit does not write them (yet)."""
    raw = summary.get("phase_seconds")
    if not isinstance(raw, dict):
        return {}
    return {str(k): float(v) for k, v in raw.items() if isinstance(v, int | float) and not isinstance(v, bool)}


def reference_json(ref: Reference | None) -> dict[str, Any] | None:
    if ref is None:
        return None
    return {**vars(ref.measured), "output": ref.output, "differences": ref.differences}


def run_json(r: Row) -> dict[str, Any]:
    """One size's results for results.json: audit (with phases), baseline, floor, ratios."""
    other = round(r.audit.seconds - sum(r.phases.values()), 2) if r.phases else None
    baseline = reference_json(r.baseline)
    if baseline is not None and r.baseline is not None:
        # None: it did not finish, so there are no counts to agree or disagree
        baseline["counts_agree"] = not r.baseline.differences if r.baseline.measured.status == "ok" else None
    return {
        "users": r.users, "rows": r.rows, "export_mib": r.export_mib, "findings": r.findings,
        "readiness": r.readiness, "generate": vars(r.generate) if r.generate else None,
        "audit": {**vars(r.audit), "phase_seconds": r.phases or None, "other_seconds": other},
        "problems": r.problems,
        "baseline": baseline,
        "floor": reference_json(r.floor),
        "ratios": {
            "audit_over_baseline_seconds": r.ratio(r.baseline, "seconds"),
            "audit_over_baseline_peak": r.ratio(r.baseline, "peak_mib"),
            "audit_over_floor_seconds": r.ratio(r.floor, "seconds"),
            "audit_over_floor_peak": r.ratio(r.floor, "peak_mib"),
        },
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--users", type=int, nargs="+", default=[100_000],
                        help="tenant sizes (Entra users per tenant; default 100000)")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--data-dir", type=Path, default=DEFAULT_DATA, help="where tenants and outputs go")
    parser.add_argument("--reuse", action="store_true",
                        help="keep an already generated tenant of the same size and seed")
    parser.add_argument("--truth", action="store_true",
                        help="also match every finding and readiness row to its planted person")
    parser.add_argument("--no-baseline", action="store_true", help="skip the naive pandas baseline")
    parser.add_argument("--no-floor", action="store_true", help="skip the DuckDB-only floor")
    parser.add_argument("--time-limit", type=float, default=900.0,
                        help="seconds before the baseline or the floor is killed (default 900)")
    args = parser.parse_args(argv)

    print(f"machine: {machine()}", flush=True)
    rows: list[Row] = []
    for users in args.users:
        export, plan, generated = generate(users, args.seed, args.data_dir, args.reuse, args.truth)
        measured, summary = audit(users, args.seed, args.data_dir, export)
        inputs = {i["name"]: i.get("rows") or 0 for i in summary.get("inputs", [])}
        row = Row(users, generated, measured, inputs, sum(summary.get("findings_by_rule", {}).values()),
                  dir_mib(export), summary.get("readiness", {}), check(plan, summary), phase_seconds(summary))
        if args.truth:
            row.problems += check_truth(export.parent / "truth.csv", export.parent / "out",
                                        plan["config_findings"])
        rows.append(row)
        print(f"{users:,} users: generated in {generated.seconds if generated else 'reused'} s, "
              f"audited in {measured.seconds} s, peak {measured.peak_mib} MiB", flush=True)
        for problem in row.problems:
            print(f"  MISMATCH {problem}", flush=True)
        if not args.no_baseline:
            row.baseline = reference(BASELINE, "baseline", export, args.time_limit)
            row.baseline.differences = check_baseline(plan, row.baseline)
            print(f"  baseline: {row.baseline.measured.status}, {row.baseline.measured.seconds} s, "
                  f"peak {row.baseline.measured.peak_mib} MiB", flush=True)
            for difference in row.baseline.differences:
                print(f"  BASELINE DIFFERS {difference} (the comparison is not like for like)", flush=True)
        if not args.no_floor:
            row.floor = reference(FLOOR, "floor", export, args.time_limit)
            print(f"  floor: {row.floor.measured.status}, {row.floor.measured.seconds} s, "
                  f"peak {row.floor.measured.peak_mib} MiB", flush=True)
    print()
    print(render(rows))
    results = {
        "date": datetime.now(UTC).strftime("%Y-%m-%d"), "machine": machine(), "seed": args.seed,
        "harness_peak_mib": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
        "time_limit_seconds": args.time_limit,
        "runs": [run_json(r) for r in rows],
    }
    args.data_dir.mkdir(parents=True, exist_ok=True)
    (args.data_dir / "results.json").write_text(json.dumps(results, indent=2) + "\n", encoding="utf-8")
    return 1 if any(r.problems for r in rows) else 0


if __name__ == "__main__":
    sys.exit(main())
