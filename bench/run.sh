#!/usr/bin/env bash
# Load benchmark: direct-to-worker vs through the router vs through nginx, in one run, on this machine.
# Non-streaming and streaming (16 SSE events) /v1/completions against one simulated vLLM worker with zero latency,
# so what is measured is the proxy's own cost. Prints req/s, p50, p99, the router's CPU per request and RSS,
# and the ratios router/nginx and router/direct.
#
#   bench/run.sh                      # defaults: 64 connections, 10 s per run, 25 s warm-up each (the JVM still compiles after 10 s)
#   CONNECTIONS=128 DURATION=20 bench/run.sh
#   ROUTER_JAVA_OPTS="-XX:+UseG1GC" bench/run.sh   # JVM options for the router, after scripts/vllm-router's defaults
#
# Installs wrk and nginx with apt when they are missing. Everything listens on 127.0.0.1 only.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/../scripts/lib.sh"
CONNECTIONS="${CONNECTIONS:-64}"
THREADS="${THREADS:-2}"
DURATION="${DURATION:-10}"
WARMUP="${WARMUP:-25}"
WORKER_PORT="${WORKER_PORT:-18101}"
ROUTER_PORT="${ROUTER_PORT:-18100}"
NGINX_PORT="${NGINX_PORT:-18102}"
METRICS_PORT="${METRICS_PORT:-18190}"
ROUTER_JAVA_OPTS="${ROUTER_JAVA_OPTS:-}"

need_jdk
if jar_is_stale; then need_maven; build_jar; fi
command -v wrk >/dev/null 2>&1 || apt_install wrk || die "wrk is needed (apt-get install wrk)"
NGINX="$(command -v nginx || echo /usr/sbin/nginx)"
[ -x "$NGINX" ] || { apt_install nginx || die "nginx is needed (apt-get install nginx)"; NGINX=/usr/sbin/nginx; }

WORK="$(mktemp -d /tmp/vllm-router-bench.XXXXXX)"
PIDS=()
cleanup() {
  for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done
  [ -f "$WORK/nginx.pid" ] && kill "$(cat "$WORK/nginx.pid")" 2>/dev/null || true
  wait 2>/dev/null || true
}
trap cleanup EXIT

wait_http() { # url
  for _ in $(seq 1 100); do curl -sf -o /dev/null "$1" && return 0; sleep 0.2; done
  die "$1 did not come up"
}

JAVA="$JAVA_HOME/bin/java"
"$JAVA" -jar "$JAR" sim-worker --port "$WORKER_PORT" --model demo >"$WORK/worker.log" 2>&1 &
PIDS+=($!)
WORKER_PID=$!
wait_http "http://127.0.0.1:$WORKER_PORT/health"

# the router through its launcher, so that it runs with the launcher's JVM defaults (docs/architecture.md, "Memory
# and start-up"); ROUTER_JAVA_OPTS comes after them and wins
JAVA_OPTS="$ROUTER_JAVA_OPTS" "$ROOT/scripts/vllm-router" --port "$ROUTER_PORT" --prometheus-port "$METRICS_PORT" \
  --worker-urls "http://127.0.0.1:$WORKER_PORT" --log-level warn >"$WORK/router.log" 2>&1 &
PIDS+=($!)
ROUTER_PID=$!
wait_http "http://127.0.0.1:$ROUTER_PORT/health"

sed -e "s|@DIR@|$WORK|g" -e "s|@WORKER_PORT@|$WORKER_PORT|g" -e "s|@NGINX_PORT@|$NGINX_PORT|g" \
  "$(dirname "$0")/load/nginx.conf.template" >"$WORK/nginx.conf"
"$NGINX" -c "$WORK/nginx.conf" -p "$WORK" -e "$WORK/nginx-error.log" 2>>"$WORK/nginx-error.log"
wait_http "http://127.0.0.1:$NGINX_PORT/health"
NGINX_WORKER_PID="$(pgrep -P "$(cat "$WORK/nginx.pid")" | head -1)"

cpu_ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }
rss_kb() { awk '/VmRSS/ {print $2}' "/proc/$1/status"; }
hwm_kb() { awk '/VmHWM/ {print $2}' "/proc/$1/status"; }
TICK=$(getconf CLK_TCK)

# run <name> <port> <script> -> prints "rps p50_ms p99_ms requests"
run_wrk() {
  local port="$1" script="$2" secs="$3"
  wrk -t"$THREADS" -c"$CONNECTIONS" -d"${secs}s" --latency -s "$(dirname "$0")/load/$script" \
    "http://127.0.0.1:$port" 2>&1
}
to_ms() { # wrk latency like 1.23ms / 456.00us / 1.02s -> ms
  awk -v v="$1" 'BEGIN { if (v ~ /us$/) { sub(/us$/,"",v); printf "%.3f", v/1000 }
    else if (v ~ /ms$/) { sub(/ms$/,"",v); printf "%.3f", v }
    else if (v ~ /s$/) { sub(/s$/,"",v); printf "%.3f", v*1000 } else print v }'
}

declare -A RPS P50 P99 CPU
RESULTS="$WORK/results.txt"
for mode in nonstream stream; do
  for target in direct router nginx; do
    case $target in direct) port=$WORKER_PORT ;; router) port=$ROUTER_PORT ;; nginx) port=$NGINX_PORT ;; esac
    run_wrk "$port" "$mode.lua" "$WARMUP" >/dev/null
    case $target in router) pid=$ROUTER_PID ;; nginx) pid=$NGINX_WORKER_PID ;; *) pid=$WORKER_PID ;; esac
    before=$(cpu_ticks "$pid")
    out="$(run_wrk "$port" "$mode.lua" "$DURATION")"
    after=$(cpu_ticks "$pid")
    echo "== $mode $target" >>"$RESULTS"; echo "$out" >>"$RESULTS"
    if echo "$out" | grep -q "Non-2xx\|Socket errors"; then say "warning: $mode/$target: $(echo "$out" | grep -E 'Non-2xx|Socket errors')"; fi
    rps=$(echo "$out" | awk '/Requests\/sec/ {print $2}')
    reqs=$(echo "$out" | awk '/requests in/ {print $1}')
    RPS[$mode,$target]=$rps
    P50[$mode,$target]=$(to_ms "$(echo "$out" | awk '$1=="50%" {print $2}')")
    P99[$mode,$target]=$(to_ms "$(echo "$out" | awk '$1=="99%" {print $2}')")
    # CPU of the proxy process (for direct: the worker itself) per request
    CPU[$mode,$target]=$(awk -v t=$((after - before)) -v hz="$TICK" -v n="$reqs" 'BEGIN { printf "%.0f", t / hz * 1e6 / n }')
  done
done

echo
echo "vllm-router (Java) load benchmark — $(date -u +%Y-%m-%dT%H:%MZ)"
echo "machine: $(nproc) cores, $(awk '/MemTotal/ {printf "%.0f GiB", $2/1048576}' /proc/meminfo), $(uname -r); JDK: $("$JAVA" -version 2>&1 | head -1)"
echo "load: wrk -t$THREADS -c$CONNECTIONS -d${DURATION}s (after ${WARMUP}s warm-up), one simulated worker (zero latency); wrk, worker and proxy share the machine"
echo
printf "| %-9s | %-6s | %10s | %9s | %9s | %14s |\n" mode target "req/s" "p50 ms" "p99 ms" "CPU us/req (*)"
printf "|%s|%s|%s|%s|%s|%s|\n" "-----------" "--------" "------------" "-----------" "-----------" "----------------"
for mode in nonstream stream; do
  for target in direct router nginx; do
    printf "| %-9s | %-6s | %10s | %9s | %9s | %14s |\n" "$mode" "$target" "${RPS[$mode,$target]}" \
      "${P50[$mode,$target]}" "${P99[$mode,$target]}" "${CPU[$mode,$target]}"
  done
done
echo "(*) CPU time per request of the proxy process (router JVM, or nginx's worker); for direct, of the worker itself"
echo
for mode in nonstream stream; do
  awk -v m="$mode" -v r="${RPS[$mode,router]}" -v n="${RPS[$mode,nginx]}" -v d="${RPS[$mode,direct]}" \
    -v rc="${CPU[$mode,router]}" -v nc="${CPU[$mode,nginx]}" \
    'BEGIN { printf "%-9s throughput router/nginx %.2f, router/direct %.2f; CPU per request router/nginx %.1f\n", m, r/n, r/d, rc/nc }'
done
echo "router RSS now $(( $(rss_kb "$ROUTER_PID") / 1024 )) MiB, peak $(( $(hwm_kb "$ROUTER_PID") / 1024 )) MiB"
echo "(raw wrk output: $RESULTS)"
