#!/usr/bin/env bash
# Serves the baseline on HOST:PORT (default 127.0.0.1:8090) as in production: uvicorn with one
# worker process per core (WORKERS overrides), uvloop and httptools, no reload, no access log.
# ORT_INTRA_THREADS sets ONNX Runtime's threads per session (default 1, as the Rust pool).
set -euo pipefail

here="$(cd "$(dirname "$0")" && pwd)"
"$here/setup.sh"
address="${1:-127.0.0.1:8090}"
exec "$here/.venv/bin/uvicorn" app:app --app-dir "$here" \
    --host "${address%:*}" --port "${address##*:}" --workers "${WORKERS:-$(nproc)}" \
    --loop uvloop --http httptools --no-access-log --log-level warning
