#!/usr/bin/env bash
# The end-to-end benchmark of BENCHMARKS.md, in one go against one server:
#   1. saturating load over gRPC, with the model's in-process ceiling measured in the same run;
#   2. single-image latency (one client);
#   3. half the saturating throughput offered open-loop, for its p99 latency.
# Reports (text and JSON) go to $OUT. Build first: cargo build --release.
#   tools/bench.sh                       # default model, data/synth-val/images
#   MODELS=tests/fixtures/batching/conv-fixture tools/bench.sh
set -euo pipefail
cd "$(dirname "$0")/.."

MODELS=${MODELS:-models/xray-detector}
IMAGES=${IMAGES:-data/synth-val/images}
DURATION=${DURATION:-60}
CONCURRENCY=${CONCURRENCY:-32}
SERVE_ARGS=${SERVE_ARGS:-}
RUNTIME_ARGS=${RUNTIME_ARGS:-}
OUT=${OUT:-target/bench}
GRPC=127.0.0.1:50090
HTTP=127.0.0.1:18090
BIN=${BIN:-./target/release/xray-screen}
mkdir -p "$OUT"
# A data folder of its own: the database, the development certificate (both ports serve TLS,
# as in production) and the load generator's principal.
DATA=$(mktemp -d)
TOKEN=$("$BIN" principals --data-dir "$DATA" add --name bench-load --role scanner --role risk-system \
  --role observer --portal load | tail -n1)

# shellcheck disable=SC2086
"$BIN" serve --data-dir "$DATA" --models-dir "$MODELS" --grpc-addr "$GRPC" --http-addr "$HTTP" \
  $RUNTIME_ARGS $SERVE_ARGS >"$OUT/serve.out" 2>"$OUT/serve.log" &
server=$!
trap 'kill $server 2>/dev/null || true; rm -rf "$DATA"' EXIT
for _ in $(seq 600); do
  grep -q "listening on grpc://" "$OUT/serve.out" 2>/dev/null && break
  kill -0 $server 2>/dev/null || { cat "$OUT/serve.log"; exit 1; }
  sleep 0.2
done

load() {
  # shellcheck disable=SC2086
  "$BIN" load --target "https://$GRPC" --metrics-url "https://$HTTP/metrics" --token "$TOKEN" \
    --ca-cert "$DATA/tls/ca.pem" --images "$IMAGES" --quiet "$@"
}

echo "== saturating load ($CONCURRENCY clients, ${DURATION}s) and the ceiling, one run"
# shellcheck disable=SC2086
load --concurrency "$CONCURRENCY" --duration "$DURATION" --ceiling --models-dir "$MODELS" $RUNTIME_ARGS \
  --json "$OUT/saturated.json" | tee "$OUT/saturated.txt"

echo "== single-image latency (1 client, 30 s)"
load --concurrency 1 --duration 30 --json "$OUT/single.json" | tee "$OUT/single.txt"

half=$(python3 -c "import json; print(json.load(open('$OUT/saturated.json'))['images_per_second'] / 2)")
echo "== half load: $half scans/s offered (${DURATION}s)"
load --concurrency "$CONCURRENCY" --rate "$half" --duration "$DURATION" --json "$OUT/half.json" \
  | tee "$OUT/half.txt"

python3 - "$OUT" <<'PY'
import json, sys, pathlib
out = pathlib.Path(sys.argv[1])
sat, single, half = (json.loads((out / f"{n}.json").read_text()) for n in ("saturated", "single", "half"))
ratio = sat["ratio_to_ceiling"]
print(f"throughput target (>= 90% of the ceiling): {100 * ratio:.1f}% -> {'met' if ratio >= 0.9 else 'missed'}")
single_ms = single["latency_ms"]["p50"]
p99 = half["latency_ms"]["p99"]
print(f"latency target at half load: p99 {p99:.1f} ms vs 2 x {single_ms:.1f} ms + max_queue_delay")
PY
