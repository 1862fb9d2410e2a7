#!/usr/bin/env bash
# Many concurrent streams through one router (issue 15 item 3), and the same directly against the worker, in one run:
# STREAMS client connections are opened (ramped), then all send a streamed /v1/completions within one token interval
# (spread evenly over ITL_MS, as unsynchronised clients are); the simulated worker (sim-worker, its own process) waits
# TTFT_MS before the first token, so every stream is open at the same time, then sends TOKENS tokens ITL_MS apart
# (+ [DONE]). Prints a Markdown table: completed and failed streams, the
# gap between consecutive events as the client saw it (p50, p99, max; ITL_MS is the floor), what the router adds to
# the p99 gap, the router's RSS before, at the peak and after, and its CPU time over the run.
#
#   bench/streams.sh                      # 9,500 streams (see below), 15 tokens 50 ms apart
#   STREAMS=2000 bench/streams.sh
#
# Each stream takes two descriptors in the router (client and worker side); the router's limit is `ulimit -n`
# (20,000 here, and not raisable in this container), so 10,000 streams need a limit above ~20,100.
# Env: STREAMS (9500), TOKENS (15), ITL_MS (50), TTFT_MS (6000), SKIP_INSTALL=1, ROUTER_JAVA_OPTS.
set -euo pipefail
source "$(dirname "$0")/../scripts/lib.sh"
need_jdk
need_maven
STREAMS="${STREAMS:-9500}"
TOKENS="${TOKENS:-15}"
ITL_MS="${ITL_MS:-50}"
TTFT_MS="${TTFT_MS:-6000}"
WORKER_PORT="${WORKER_PORT:-18401}"
ROUTER_PORT="${ROUTER_PORT:-18400}"
METRICS_PORT="${METRICS_PORT:-18490}"

BENCH="$ROOT/bench"
OUT="$BENCH/target/streams"
mkdir -p "$OUT"
CP="$(bench_classpath "$OUT")"

PIDS=()
cleanup() { for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done; wait 2>/dev/null || true; }
trap cleanup EXIT
wait_http() { for _ in $(seq 1 300); do curl -sf -o /dev/null "$1" && return 0; sleep 0.1; done; die "$1 did not come up"; }
rss_mib() { awk '/VmRSS/ {printf "%.0f", $2/1024}' "/proc/$1/status"; }
cpu_s() { awk -v hz="$(getconf CLK_TCK)" '{printf "%.1f", ($14 + $15) / hz}' "/proc/$1/stat"; }

"$ROOT/scripts/vllm-router" sim-worker --port "$WORKER_PORT" --ttft-ms "$TTFT_MS" --itl-ms "$ITL_MS" \
  --max-tokens "$TOKENS" > "$OUT/worker.log" 2>&1 &
PIDS+=($!)
wait_http "http://127.0.0.1:$WORKER_PORT/health"
# shellcheck disable=SC2086
JAVA_OPTS="${ROUTER_JAVA_OPTS:-}" "$ROOT/scripts/vllm-router" --port "$ROUTER_PORT" --prometheus-port "$METRICS_PORT" \
  --worker-urls "http://127.0.0.1:$WORKER_PORT" > "$OUT/router.log" 2>&1 &
ROUTER=$!
PIDS+=($ROUTER)
wait_http "http://127.0.0.1:$ROUTER_PORT/readiness"
# a short warm-up of the stream path (JIT), not measured
"$JAVA_HOME/bin/java" -cp "$CP" dev.vllmrouter.bench.StreamsBench "target=127.0.0.1:$ROUTER_PORT" streams=200 \
  "tokens=$TOKENS" > /dev/null
say "JDK: $("$JAVA_HOME/bin/java" -version 2>&1 | head -1); cores: $(nproc); $STREAMS streams, $TOKENS tokens ${ITL_MS} ms apart"
DIRECT=$("$JAVA_HOME/bin/java" -cp "$CP" dev.vllmrouter.bench.StreamsBench "target=127.0.0.1:$WORKER_PORT" \
  "streams=$STREAMS" "tokens=$TOKENS" "spread_ms=$ITL_MS")
RSS_BEFORE=$(rss_mib "$ROUTER"); CPU_BEFORE=$(cpu_s "$ROUTER")
ROUTED=$("$JAVA_HOME/bin/java" -cp "$CP" dev.vllmrouter.bench.StreamsBench "target=127.0.0.1:$ROUTER_PORT" \
  "streams=$STREAMS" "tokens=$TOKENS" "pid=$ROUTER" "spread_ms=$ITL_MS")
RSS_AFTER=$(rss_mib "$ROUTER"); CPU_AFTER=$(cpu_s "$ROUTER")
field() { echo "$1" | tr ' ' '\n' | awk -F= -v k="$2" '$1 == k {print $2}'; }
echo
echo "| path | streams | completed | failed | events | gap p50 ms | gap p99 ms | gap max ms | router RSS before / peak / after MiB | router CPU s |"
echo "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|"
for row in "direct:$DIRECT" "router:$ROUTED"; do
  name="${row%%:*}"; line="${row#*:}"
  rss="—"; cpu="—"
  if [ "$name" = router ]; then
    rss="$RSS_BEFORE / $(field "$line" peak_rss_mib) / $RSS_AFTER"
    cpu=$(awk -v a="$CPU_BEFORE" -v b="$CPU_AFTER" 'BEGIN {printf "%.1f", b - a}')
  fi
  echo "| $name | $(field "$line" streams) | $(field "$line" completed) | $(field "$line" failed) | $(field "$line" events) | $(field "$line" gap_p50_ms) | $(field "$line" gap_p99_ms) | $(field "$line" gap_max_ms) | $rss | $cpu |"
done
echo
awk -v d="$(field "$DIRECT" gap_p99_ms)" -v r="$(field "$ROUTED" gap_p99_ms)" \
  'BEGIN {printf "The router adds %.1f ms to the p99 gap between events.\n", r - d}'
