"""Benchmark the live Entra user pull: GraphSource.users() against plain HTTP on the same fake Graph.

Why it measures this way:

* The fake Graph (tests/fake_graph.py) runs in its own process, so serving pages never competes
  with the client for the GIL; both clients hit the same server, same tenant, same $select/$top.
* Each client runs in its own child process, so its peak RSS (``ru_maxrss``, read with
  ``os.wait4`` for that child alone) includes only its own imports and pages, not the other's.
* The baseline is what the SDK path should be compared with: httpx (the SDK's own transport,
  keep-alive) + orjson, following ``@odata.nextLink`` whole and yielding each user dict. The
  production path is ``GraphSource.users()`` exactly as the audit calls it: SDK request building,
  the bearer-token provider, the middleware pipeline, our retry loop, raw-bytes parsing, ``_where``.
* The server caches each serialized page after the first (untimed, warm-up) pull, so the timed
  pulls measure the clients rather than the fake's JSON encoding (about 4 ms a page, which would
  otherwise be the larger part of the baseline's time and flatter the ratio). ``--no-cache``
  measures with the server building every page.
* Runs alternate (baseline, sdk, baseline, sdk, ...) and the best users/s of each is reported, so a
  noisy neighbour on a shared VM does not decide the ratio. Import time is reported apart from the
  pull. There are no thresholds here; the target (SDK within 1.5x of the baseline) is printed.

Usage: ``python benchmarks/graph_pull.py [--users 100000] [--runs 3]``.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
FAKE = HERE.parent / "tests" / "fake_graph.py"
TOKEN = "benchmark-token"
TARGET_RATIO = 1.5


def child(mode: str, base_url: str) -> None:
    """Pull every user once and print one JSON line of figures (runs in a child process)."""
    started = time.perf_counter()
    if mode == "sdk":
        from reconcile.sources.graph import GraphSettings, GraphSource

        source = GraphSource(GraphSettings(None, None, access_token=TOKEN, base_url=base_url))
        imported = time.perf_counter()
        count = 0
        with source:
            for _user in source.users():
                count += 1
    else:
        import httpx
        import orjson

        from reconcile.sources.graph import USER_SELECT

        imported = time.perf_counter()
        count = 0
        url: str | None = f"{base_url}/users"
        params: dict | None = {"$select": ",".join(USER_SELECT), "$top": "999"}
        with httpx.Client(headers={"Authorization": f"Bearer {TOKEN}"}, timeout=100) as client:
            while url:
                response = client.get(url, params=params)
                response.raise_for_status()
                page = orjson.loads(response.content)
                for _user in page["value"]:
                    count += 1
                url, params = page.get("@odata.nextLink"), None  # the nextLink carries the query
    done = time.perf_counter()
    print(json.dumps({"mode": mode, "users": count, "import_s": imported - started, "pull_s": done - imported}))


def run_child(mode: str, base_url: str) -> dict:
    process = subprocess.Popen([sys.executable, __file__, "--child", mode, "--url", base_url],
                               stdout=subprocess.PIPE, text=True)
    out = process.stdout.read() if process.stdout else ""
    _, status, usage = os.wait4(process.pid, 0)
    process.returncode = os.waitstatus_to_exitcode(status)
    if process.returncode != 0:
        raise SystemExit(f"{mode} child failed with exit code {process.returncode}")
    result = json.loads(out.strip().splitlines()[-1])
    result["peak_mib"] = usage.ru_maxrss / 1024
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--users", type=int, default=100_000)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--no-cache", action="store_true", help="the server builds every page anew")
    parser.add_argument("--child", choices=("sdk", "baseline"), help=argparse.SUPPRESS)
    parser.add_argument("--url", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(args.child, args.url)
        return

    command = [sys.executable, str(FAKE), "--users", str(args.users), "--token", TOKEN]
    server = subprocess.Popen(command + ([] if args.no_cache else ["--cache-pages"]), stdout=subprocess.PIPE,
                              text=True)
    try:
        line = server.stdout.readline() if server.stdout else ""
        if not line.startswith("PORT "):
            raise SystemExit(f"the fake Graph did not start: {line!r}")
        base_url = f"http://127.0.0.1:{int(line.split()[1])}/v1.0"
        results: dict[str, list[dict]] = {"baseline": [], "sdk": []}
        if not args.no_cache:
            run_child("baseline", base_url)  # warm-up: fills the server's page cache, not counted
        for _ in range(args.runs):
            for mode in ("baseline", "sdk"):
                result = run_child(mode, base_url)
                if result["users"] != args.users:
                    raise SystemExit(f"{mode} pulled {result['users']} users, expected {args.users}")
                results[mode].append(result)
    finally:
        server.terminate()
        server.wait()

    print(f"{args.users:,} users from the fake Graph ({'pages built per request' if args.no_cache else 'pages cached'}"
          f"), best of {args.runs} runs per client (Python {sys.version.split()[0]}, {os.cpu_count()} CPUs)")
    print(f"{'client':<34} {'users/s':>10} {'pull s':>8} {'import s':>9} {'peak RSS MiB':>13}")
    best = {}
    for mode, label in (("baseline", "httpx + orjson (plain HTTP)"), ("sdk", "GraphSource.users() (msgraph-sdk)")):
        fastest = min(results[mode], key=lambda r: r["pull_s"])
        best[mode] = args.users / fastest["pull_s"]
        peak = max(r["peak_mib"] for r in results[mode])
        print(f"{label:<34} {best[mode]:>10,.0f} {fastest['pull_s']:>8.2f} {fastest['import_s']:>9.2f} {peak:>13.0f}")
    ratio = best["baseline"] / best["sdk"]
    verdict = "within" if ratio <= TARGET_RATIO else "NOT within"
    print(f"ratio baseline/sdk: {ratio:.2f}x ({verdict} the {TARGET_RATIO}x target)")
    print(f"(this harness: peak RSS {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MiB)")


if __name__ == "__main__":
    main()
