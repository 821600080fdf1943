#!/usr/bin/env bash
# Audit, then hand the directory team exactly which accounts to fix and how.
# usage: jobs/export-for-directory-team.sh EXPORT_DIR HANDOVER_DIR
set -euo pipefail
export_dir=${1:?usage: export-for-directory-team.sh EXPORT_DIR HANDOVER_DIR}
handover=${2:?usage: export-for-directory-team.sh EXPORT_DIR HANDOVER_DIR}
umask 077
report=$(mktemp -d)
status=0
reconcile audit --input-dir "$export_dir" --output-dir "$report" --fail-on never -q || status=$?
if [ "$status" -ne 0 ]; then rm -rf "$report"; exit "$status"; fi
mkdir -p "$handover"
cp "$report/findings.csv" "$report/readiness.csv" "$report/summary.json" "$handover/"
rm -rf "$report"
echo "wrote $handover/findings.csv and $handover/readiness.csv"
