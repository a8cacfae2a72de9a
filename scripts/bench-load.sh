#!/usr/bin/env bash
# The load part of `make bench`: scantriage and the Python baseline (benches/baseline/) under the
# same load generator, one after the other on this machine, with 40 ft dual-energy scans.
#   1. closed loop at CONCURRENCY for DURATION: the sustained throughput;
#   2. open loop at 80 % of that throughput for DURATION: latency below saturation.
# Reports (JSON, Markdown, SVG plots) and the side-by-side table go to OUT.
set -euo pipefail
cd "$(dirname "$0")/.."

OUT=${OUT:-target/bench-load}
DURATION=${DURATION:-30s}
CONCURRENCY=${CONCURRENCY:-4}
STATIONS=${STATIONS:-4}
BIN=target/release/scantriage
mkdir -p "$OUT"

timeout 1800 cargo build --release --bin scantriage
if [ ! -d "$OUT/scans" ]; then
    # PNGs at the best level: the uploads docs/benchmarks.md's load figures were measured with.
    "$BIN" simulate --out "$OUT/scans" --count 8 --seed 8000 --container 40 --png-compression best >/dev/null
fi

wait_for_port() { # FILE
    for _ in $(seq 600); do [ -s "$1" ] && return 0; sleep 0.1; done
    echo "bench-load: the service did not start" >&2; return 1
}
wait_for_health() { # URL
    for _ in $(seq 600); do curl -sf "$1/healthz" >/dev/null && return 0; sleep 0.1; done
    echo "bench-load: $1 did not answer" >&2; return 1
}
sustained() { # REPORT.json → 80 % of its verdicts per second
    python3 -c 'import json, sys; print(round(0.8 * json.load(open(sys.argv[1]))["throughput_per_s"], 2))' "$1"
}
runs() { # URL LABEL [loadgen options…]
    local url=$1 label=$2; shift 2
    "$BIN" loadgen --url "$url" --label "$label" --name "$label-closed" --out "$OUT" --samples "$OUT/scans" \
        --stations "$STATIONS" --concurrency "$CONCURRENCY" --duration "$DURATION" "$@"
    "$BIN" loadgen --url "$url" --label "$label" --name "$label-open" --out "$OUT" --samples "$OUT/scans" \
        --stations "$STATIONS" --rate "$(sustained "$OUT/$label-closed.json")" --duration "$DURATION" "$@"
}

data=$(mktemp -d)
trap 'kill $(jobs -p) 2>/dev/null || true; rm -rf "$data"' EXIT
"$BIN" serve --data-dir "$data" --listen 127.0.0.1:0 --port-file "$data/port" 2>"$OUT/scantriage-serve.log" &
service=$!
wait_for_port "$data/port"
url="http://127.0.0.1:$(cat "$data/port")"
runs "$url" scantriage --data-dir "$data"
kill "$service"; wait "$service" || true

benches/baseline/setup.sh
benches/baseline/run.sh 127.0.0.1:8090 2>"$OUT/baseline-serve.log" &
baseline=$!
wait_for_health http://127.0.0.1:8090
runs http://127.0.0.1:8090 baseline
kill "$baseline"; wait "$baseline" || true

{
    echo "# Load benchmark, $(date -u +%Y-%m-%dT%H:%MZ)"
    echo
    echo "40 ft dual-energy scans ($OUT/scans), $STATIONS stations, $(nproc) cores."
    echo "Closed loop at concurrency $CONCURRENCY, then open loop at 80 % of the closed loop's throughput, $DURATION each."
    echo
    "$BIN" loadreport "$OUT"/scantriage-closed.json "$OUT"/baseline-closed.json "$OUT"/scantriage-open.json "$OUT"/baseline-open.json
    echo
    for run in scantriage-closed scantriage-open baseline-closed baseline-open; do
        tail -n +2 "$OUT/$run.md" | sed 's/^## /### /'
        echo
    done
} >"$OUT/report.md"
echo "bench-load: report in $OUT/report.md"
