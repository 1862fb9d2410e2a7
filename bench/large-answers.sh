#!/usr/bin/env bash
# Memory under large answers: many slow clients each fetch a large plain answer through the router, while one
# unrelated stream runs. The router runs with the container image's JVM flags (-XX:MaxRAMPercentage=75
# -XX:+UseSerialGC -Xms16m -XX:NewSize=12m -XX:+ExitOnOutOfMemoryError) and -XX:MaxRAM standing for the container's memory limit (2g: the Kubernetes
# manifests' limit), so its heap is what it would be in the container. Prints whether the router survived, how many
# clients got their whole answer, whether the unrelated stream ended with [DONE], and the router's peak RSS.
#
#   bench/large-answers.sh                          # 60 clients, 31 MB each, 2 MB/s per client, MaxRAM 2g
#   CLIENTS=60 SIZE=31000000 RATE=2M MAX_RAM=2g bench/large-answers.sh
#   ROUTER_JAR=/path/to/other/vllm-router.jar bench/large-answers.sh   # the router of another build (A/B)
#
# Everything listens on 127.0.0.1 only; every client is bounded by curl's --max-time.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/../scripts/lib.sh"
CLIENTS="${CLIENTS:-60}"
SIZE="${SIZE:-31000000}"
RATE="${RATE:-2M}"
MAX_RAM="${MAX_RAM:-2g}"
WORKER_PORT="${WORKER_PORT:-18301}"
ROUTER_PORT="${ROUTER_PORT:-18300}"
METRICS_PORT="${METRICS_PORT:-18390}"

need_jdk
if jar_is_stale; then need_maven; build_jar; fi
ROUTER_JAR="${ROUTER_JAR:-$JAR}"
JAVA="$JAVA_HOME/bin/java"
WORK="$(mktemp -d /tmp/vllm-router-large.XXXXXX)"
PIDS=()
cleanup() { for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done; wait 2>/dev/null || true; }
trap cleanup EXIT
wait_http() { for _ in $(seq 1 100); do curl -sf -o /dev/null "$1" && return 0; sleep 0.2; done; die "$1 did not come up"; }

# the worker: the simulator of this build (its /sim/bytes route answers SIZE bytes), 10 ms between stream tokens
"$JAVA" -jar "$JAR" sim-worker --port "$WORKER_PORT" --model demo --itl-ms 10 >"$WORK/worker.log" 2>&1 &
PIDS+=($!)
wait_http "http://127.0.0.1:$WORKER_PORT/health"
"$JAVA" -XX:MaxRAM="$MAX_RAM" -XX:MaxRAMPercentage=75 -XX:+UseSerialGC -Xms16m -XX:NewSize=12m -XX:+ExitOnOutOfMemoryError -jar "$ROUTER_JAR" \
  --port "$ROUTER_PORT" --prometheus-port "$METRICS_PORT" --worker-urls "http://127.0.0.1:$WORKER_PORT" \
  --log-level warn >"$WORK/router.log" 2>&1 &
ROUTER_PID=$!
PIDS+=($ROUTER_PID)
wait_http "http://127.0.0.1:$ROUTER_PORT/health"
HEAP_MB=$("$JAVA" -XX:MaxRAM="$MAX_RAM" -XX:MaxRAMPercentage=75 -XX:+PrintFlagsFinal -version 2>/dev/null \
  | awk '/ MaxHeapSize / {printf "%.0f", $4/1048576}')

# the unrelated stream: 1500 tokens, 10 ms apart (~15 s), started first
curl -sN --max-time 300 "http://127.0.0.1:$ROUTER_PORT/v1/completions" -H 'Content-Type: application/json' \
  -d '{"model":"demo","prompt":"hi","max_tokens":1500,"stream":true}' >"$WORK/stream.txt" 2>&1 &
STREAM=$!
for i in $(seq 1 "$CLIENTS"); do
  curl -s --max-time 600 --limit-rate "$RATE" -o /dev/null -w '%{http_code} %{size_download}\n' \
    "http://127.0.0.1:$ROUTER_PORT/sim/bytes?size=$SIZE" >"$WORK/client-$i.txt" 2>/dev/null &
done
wait $STREAM || true
for job in $(jobs -p); do
  case " ${PIDS[*]} " in *" $job "*) ;; *) wait "$job" 2>/dev/null || true ;; esac
done

whole=$(cat "$WORK"/client-*.txt | awk -v s="$SIZE" '$1 == 200 && $2 == s' | wc -l)
alive=no; kill -0 "$ROUTER_PID" 2>/dev/null && alive=yes
done_seen=no; grep -q 'data: \[DONE\]' "$WORK/stream.txt" && done_seen=yes
peak=$( [ "$alive" = yes ] && awk '/VmHWM/ {printf "%d", $2/1024}' "/proc/$ROUTER_PID/status" || echo "-")
echo "large answers — $(date -u +%Y-%m-%dT%H:%MZ); router $(basename "$(dirname "$(dirname "$ROUTER_JAR")")")/$(basename "$ROUTER_JAR")"
echo "router JVM: -XX:MaxRAM=$MAX_RAM -XX:MaxRAMPercentage=75 -XX:+UseSerialGC -Xms16m -XX:NewSize=12m -XX:+ExitOnOutOfMemoryError (max heap ${HEAP_MB} MiB)"
echo "load: $CLIENTS clients x $SIZE bytes at $RATE/s each, plus one 1500-token stream"
echo "router alive at the end: $alive; clients with the whole answer: $whole/$CLIENTS; stream ended with [DONE]: $done_seen; router peak RSS: $peak MiB"
grep -m3 -i "outofmemory\|terminating" "$WORK/router.log" || true
echo "(logs: $WORK)"
