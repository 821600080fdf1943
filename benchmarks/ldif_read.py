"""Per-entry cost of reading an LDIF export: reference parser, fast iteration, fast columns().

    python benchmarks/generate_tenant.py /tmp/ldifbench --users 100000 --seed 7
    python benchmarks/ldif_read.py /tmp/ldifbench/ldap_users.ldif

Best of 3 with time.perf_counter; the run fails if the fast path had to hand over to the reference
parser, since then it would time the reference twice.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable
from pathlib import Path

from reconcile.sources.ldif import LdifExport

WANTED = ["msds-aadobjectid", "objectguid", "userprincipalname", "mail", "samaccountname"]


def best(run: Callable[[], int]) -> tuple[int, float]:
    times = []
    count = 0
    for _ in range(3):
        start = time.perf_counter()
        count = run()
        times.append(time.perf_counter() - start)
    return count, min(times)


def iterate(path: Path, fast: bool) -> int:
    export = LdifExport(path, fast=fast)
    count = sum(1 for _ in export)
    assert not export.fell_back, "the fast path handed over to the reference parser"
    return count


def columns(path: Path) -> int:
    export = LdifExport(path)
    count = sum(len(batch["dn"]) for batch in export.columns(WANTED))
    assert not export.fell_back, "the fast path handed over to the reference parser"
    return count


def main() -> None:
    path = Path(sys.argv[1])
    for label, run in (("reference", lambda: iterate(path, False)), ("iteration", lambda: iterate(path, True)),
                       ("columns()", lambda: columns(path))):
        count, seconds = best(run)
        print(f"{label:10} {count} entries  {seconds:.3f} s  {seconds / count * 1e6:.2f} us/entry", flush=True)


if __name__ == "__main__":
    main()
