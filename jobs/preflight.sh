#!/usr/bin/env bash
# One-off audit before enabling Intune MAM: "will anyone fail?"
# usage: jobs/preflight.sh EXPORT_DIR [REPORT_DIR]
set -euo pipefail
export_dir=${1:?usage: preflight.sh EXPORT_DIR [REPORT_DIR]}
report_dir=${2:-reconcile-preflight-$(date -u +%Y%m%d)}
exec reconcile audit --input-dir "$export_dir" --output-dir "$report_dir" --fail-on blocking
