"""What Intune's registrations (issue 15) cost a run: the same generated tenant audited without and with
an ``intune_app_registrations.json`` of about 1.6 registrations per user.

usage: python benchmarks/outcomes.py [--users 100000] [--seed 7] [--data DIR]

The tenant comes from generate_tenant.py (reused when DIR already holds it). The registrations are
derived from its users without its random stream: 60 % of the users have a Mattermost iOS registration
(one in ten of them stale, older than the 30-day window), 80 % an Outlook one, 20 % an Android one; the
file is Graph pages of 1,000, as a script following @odata.nextLink collects them. Each audit runs in a
child process under /usr/bin/time; wall time and that child's peak RSS are printed as one JSON line per run.
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

HERE = Path(__file__).resolve().parent
IOS, ANDROID = "#microsoft.graph.iosMobileAppIdentifier", "#microsoft.graph.androidMobileAppIdentifier"
PAGE = 1000


def user_ids(export: Path) -> list[str]:
    """The users' ids, read with DuckDB (the export is a GiB at a million users)."""
    import duckdb

    rows = duckdb.sql(f"SELECT unnest(value).id FROM read_json('{export / 'entra_users.json'}', "
                      "format = 'array', columns = {'value': 'STRUCT(id VARCHAR)[]'}, "
                      "maximum_object_size = 67108864)").fetchall()
    return [r[0] for r in rows]


def write_registrations(export: Path, ids: list[str]) -> int:
    now = datetime.now(UTC)
    count = 0
    with (export / "intune_app_registrations.json").open("w", encoding="utf-8") as handle:
        handle.write("[")
        page: list[str] = []

        def flush(last: bool) -> None:
            nonlocal page
            if page:
                handle.write(("" if handle.tell() == 1 else ",\n") + '{"value": [' + ",".join(page) + "]}")
            page = []

        for n, user in enumerate(ids):
            apps = []
            if n % 10 < 6:
                apps.append(({"@odata.type": IOS, "bundleId": "com.mattermost.rn"}, 45 if n % 10 == 0 else n % 20))
            if n % 10 < 8:
                apps.append(({"@odata.type": IOS, "bundleId": "com.microsoft.Office.Outlook"}, 2))
            if n % 5 == 0:
                apps.append(({"@odata.type": ANDROID, "packageId": "com.mattermost.rn"}, 3))
            for app, days in apps:
                synced = now - timedelta(days=days, seconds=n % 86_400)
                page.append(json.dumps({
                    "@odata.type": "#microsoft.graph.iosManagedAppRegistration",
                    "id": str(uuid.uuid5(uuid.NAMESPACE_URL, f"{user}/{app.get('bundleId') or app['packageId']}")),
                    "userId": user, "appIdentifier": app,
                    "createdDateTime": (synced - timedelta(days=90)).strftime("%Y-%m-%dT%H:%M:%S.1234567Z"),
                    "lastSyncDateTime": synced.strftime("%Y-%m-%dT%H:%M:%S.1234567Z"),
                    "applicationVersion": "2.23.1", "platformVersion": "18.1", "deviceName": "iPhone",
                    "flaggedReasons": [], "managementSdkVersion": "19.6.0", "deviceType": "iPhone",
                    "managedDeviceId": None, "azureADDeviceId": None, "version": "3"}))
                count += 1
                if len(page) == PAGE:
                    flush(False)
        flush(True)
        handle.write("]\n")
    return count


def audit(export: Path, out: Path) -> dict:
    """One audit in a child under /usr/bin/time: wall time and that child's own peak RSS (%M, KiB)."""
    shutil.rmtree(out, ignore_errors=True)
    start = time.perf_counter()
    proc = subprocess.run(["/usr/bin/time", "-f", "peak_kib=%M", sys.executable, "-m", "reconcile", "audit",
                           "--input-dir", str(export), "--output-dir", str(out), "--no-history", "-q",
                           "--fail-on", "never"], capture_output=True, text=True)
    seconds = time.perf_counter() - start
    if proc.returncode != 0:
        raise SystemExit(f"audit failed ({proc.returncode}): {proc.stderr[-2000:]}")
    peak = int(proc.stderr.rsplit("peak_kib=", 1)[1].split()[0])
    summary = json.loads((out / "summary.json").read_text())
    return {"seconds": round(seconds, 1), "peak_rss_mib": round(peak / 1024),
            "registrations": summary.get("registrations"), "outcomes": summary.get("outcomes"),
            "phase_seconds": summary["phase_seconds"]}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--users", type=int, default=100_000)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--data", type=Path, default=Path("/tmp/reconcile-bench-outcomes"))
    args = parser.parse_args(argv)
    export = args.data / f"tenant-{args.users}-{args.seed}"
    if not (export / "entra_users.json").is_file():
        subprocess.run([sys.executable, str(HERE / "generate_tenant.py"), str(export), "--users", str(args.users),
                        "--seed", str(args.seed)], check=True, capture_output=True)
    (export / "intune_app_registrations.json").unlink(missing_ok=True)
    print(json.dumps({"users": args.users, "run": "without registrations", **audit(export, args.data / "out")}))
    written = write_registrations(export, user_ids(export))
    size = (export / "intune_app_registrations.json").stat().st_size / 2**20
    print(json.dumps({"users": args.users, "run": "with registrations", "file_mib": round(size),
                      "written": written, **audit(export, args.data / "out")}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
