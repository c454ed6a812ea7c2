#!/usr/bin/env bash
# run_local.sh - what `make run` starts: the registry on 127.0.0.1:8080 with its store in ./data.
set -euo pipefail
cd "$(dirname "$0")/.."
mkdir -p data
chmod 700 data
exec build/svc-registry --data-dir ./data/registry "$@"
