#!/usr/bin/env bash
# Memory and start-up of the router, in one run, on this machine: for each way of starting it (the launcher
# scripts/vllm-router with its JVM defaults, plain `java -jar` with the JVM's own defaults, and the container image
# when IMAGE is set), it measures
#   - start-up: from starting the process to the first 200 from /liveness (RUNS times; the median is shown, and
#     the CPU time the process used until then), both from the command and from the start of the process that
#     answers (the kernel's start time of it). The worker is already up, so the router's start-up wait for a
#     healthy worker ends at its first probe.
#   - idle RSS: 5 s after start-up, no request served yet;
#   - RSS after load: at the end of a bench/run.sh-like load (wrk, 64 connections, DURATION s of non-streamed and
#     DURATION s of streamed /v1/completions against a zero-latency simulated worker), and the req/s of each;
#   - per 1,000 open streams: the worker is swapped (POST /add_worker, /remove_worker) for one with 1 s between
#     tokens, STREAMS streams are held open (wrk -c STREAMS, each stream 16 s long), and the growth of RSS over the
#     RSS just before them, scaled to 1,000 (the highest of the samples taken while all are open); and the growth
#     of the live heap (in use after a full GC, jcmd GC.run + GC.heap_info) over the same, scaled to 1,000.
#
#   bench/footprint.sh                                   # launcher and java -jar
#   IMAGE=localhost/vllm-router:test bench/footprint.sh  # and the image (podman; scripts/test-image.sh builds it)
#   RUNS=5 STREAMS=2000 DURATION=10 bench/footprint.sh
#
# For the image, start-up is measured from `podman run` (so it includes podman's own container set-up, shown
# apart as "podman run of `true`") and RSS is the container's java process, read from the host's /proc.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/../scripts/lib.sh"
RUNS="${RUNS:-3}"
STREAMS="${STREAMS:-1000}"
DURATION="${DURATION:-10}"
CONNECTIONS="${CONNECTIONS:-64}"
IMAGE="${IMAGE:-}"
ROUTER_PORT="${ROUTER_PORT:-18300}"
METRICS_PORT="${METRICS_PORT:-18390}"
FAST_PORT="${FAST_PORT:-18301}"
SLOW_PORT="${SLOW_PORT:-18302}"
LOAD="$(dirname "$0")/load"

need_jdk
if jar_is_stale; then need_maven; build_jar; fi
command -v wrk >/dev/null 2>&1 || apt_install wrk || die "wrk is needed (apt-get install wrk)"
if [ -n "$IMAGE" ]; then
  source "$ROOT/scripts/container-bases.sh"
  podman_setup
  $PODMAN image exists "$IMAGE" || die "$IMAGE does not exist (scripts/test-image.sh builds it)"
fi
[ "$(ulimit -n)" -gt $((STREAMS * 2 + 100)) ] || ulimit -n $((STREAMS * 2 + 200)) || die "ulimit -n too low for $STREAMS streams"
JAVA="$JAVA_HOME/bin/java"
WORK="$(mktemp -d /tmp/vllm-router-footprint.XXXXXX)"
PIDS=()
CONTAINER=""
cleanup() {
  for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done
  [ -n "$CONTAINER" ] && $PODMAN rm -f -t 0 "$CONTAINER" >/dev/null 2>&1 || true
  wait 2>/dev/null || true
}
trap cleanup EXIT

wait_http() { for _ in $(seq 1 300); do curl -sf -o /dev/null "$1" && return 0; sleep 0.1; done; die "$1 did not come up"; }
rss_mib() { awk '/VmRSS/ {printf "%.0f", $2/1024}' "/proc/$1/status"; }
cpu_ms() { awk -v hz="$(getconf CLK_TCK)" '{printf "%.0f", ($14 + $15) * 1000 / hz}' "/proc/$1/stat"; }
# live_heap_kib <pid>: heap in use after a full GC (jcmd GC.run, then GC.heap_info), in KiB; empty if jcmd fails
live_heap_kib() {
  "$JAVA_HOME/bin/jcmd" "$1" GC.run >/dev/null 2>&1 || return 0
  "$JAVA_HOME/bin/jcmd" "$1" GC.heap_info 2>/dev/null | awk '/total/ && !/ space / {
    for (i = 1; i < NF; i++) if ($i == "used") { v = $(i + 1); sub(/K.*/, "", v); s += v } } END { if (s) print s }'
}
median() { tr ' ' '\n' | grep -v '^$' | sort -n | awk '{a[NR]=$1} END {print (NR % 2) ? a[(NR+1)/2] : int((a[NR/2]+a[NR/2+1])/2)}'; }

"$JAVA" -XX:+UseSerialGC -jar "$JAR" sim-worker --port "$FAST_PORT" --model demo >"$WORK/fast.log" 2>&1 &
PIDS+=($!)
"$JAVA" -XX:+UseSerialGC -jar "$JAR" sim-worker --port "$SLOW_PORT" --model demo --itl-ms 1000 >"$WORK/slow.log" 2>&1 &
PIDS+=($!)
wait_http "http://127.0.0.1:$FAST_PORT/health"
wait_http "http://127.0.0.1:$SLOW_PORT/health"
ARGS=(--port "$ROUTER_PORT" --prometheus-port "$METRICS_PORT" --worker-urls "http://127.0.0.1:$FAST_PORT" --log-level warn)

# start <target>: starts the router in the background; sets RPID (the java process) and STARTED_NS
start() {
  STARTED_NS=$(date +%s%N)
  case "$1" in
    launcher) "$ROOT/scripts/vllm-router" "${ARGS[@]}" >>"$WORK/router.log" 2>&1 & RPID=$! ;;
    java-jar) "$JAVA" -jar "$JAR" "${ARGS[@]}" >>"$WORK/router.log" 2>&1 & RPID=$! ;;
    image)
      CONTAINER="vllm-router-footprint-$$"
      $PODMAN run -d --rm --name "$CONTAINER" --network host "$IMAGE" "${ARGS[@]}" >/dev/null
      RPID="$($PODMAN inspect --format '{{.State.Pid}}' "$CONTAINER")" ;;
  esac
}
stop() {
  if [ "$1" = image ]; then $PODMAN stop -t 30 "$CONTAINER" >/dev/null 2>&1 || true; CONTAINER=""
  else kill "$RPID" 2>/dev/null || true; wait "$RPID" 2>/dev/null || true; fi
}
# proc_age_ms PID: milliseconds since the process started (the kernel's start time: 10 ms steps)
proc_age_ms() {
  local up st
  up=$(cut -d' ' -f1 /proc/uptime); st=$(sed 's/.*) //' "/proc/$1/stat" | awk '{print $20}')
  awk -v u="$up" -v s="$st" -v h="$(getconf CLK_TCK)" 'BEGIN {printf "%d", (u - s / h) * 1000}'
}
# until_live: polls /liveness every 5 ms; prints the milliseconds since STARTED_NS, then the age of the process
# RPID at that moment (for the image: from the start of the container's process, without podman's own set-up)
until_live() {
  for _ in $(seq 1 6000); do
    if curl -sf -o /dev/null "http://127.0.0.1:$ROUTER_PORT/liveness" 2>/dev/null; then
      echo "$(( ($(date +%s%N) - STARTED_NS) / 1000000 )) $(proc_age_ms "$RPID")"; return 0
    fi
    sleep 0.005
  done
  die "the router did not answer /liveness (log: $WORK/router.log)"
}

declare -A START AGE CPU IDLE AFTER RPS_N RPS_S PER1K LIVE1K OPEN
TARGETS=(launcher java-jar)
[ -n "$IMAGE" ] && TARGETS+=(image)
for target in "${TARGETS[@]}"; do
  say "$target: start-up, $RUNS runs after one warm-up (the launcher's first run writes its class-data archive)"
  times=""; cpus=""; ages=""
  for i in $(seq 0 "$RUNS"); do
    start "$target"; read -r t a < <(until_live); c=$(cpu_ms "$RPID"); stop "$target"
    if [ "$i" -gt 0 ]; then times="$times $t"; cpus="$cpus $c"; ages="$ages $a"; fi
  done
  START[$target]=$(echo "$times" | median); CPU[$target]=$(echo "$cpus" | median); AGE[$target]=$(echo "$ages" | median)

  say "$target: memory"
  start "$target"; until_live >/dev/null; sleep 5
  IDLE[$target]=$(rss_mib "$RPID")
  for mode in nonstream stream; do
    wrk -t2 -c"$CONNECTIONS" -d"${DURATION}s" -s "$LOAD/$mode.lua" "http://127.0.0.1:$ROUTER_PORT" >"$WORK/$target-$mode.txt" 2>&1
  done
  RPS_N[$target]=$(awk '/Requests\/sec/ {printf "%.0f", $2}' "$WORK/$target-nonstream.txt")
  RPS_S[$target]=$(awk '/Requests\/sec/ {printf "%.0f", $2}' "$WORK/$target-stream.txt")
  AFTER[$target]=$(rss_mib "$RPID")

  curl -sf -o /dev/null -X POST "http://127.0.0.1:$ROUTER_PORT/add_worker?url=http://127.0.0.1:$SLOW_PORT"
  curl -sf -o /dev/null -X POST "http://127.0.0.1:$ROUTER_PORT/remove_worker?url=http://127.0.0.1:$FAST_PORT"
  sleep 2
  live_before=$(live_heap_kib "$RPID")
  sleep 1
  before=$(rss_mib "$RPID")
  wrk -t2 -c"$STREAMS" -d16s --timeout 30s -s "$LOAD/stream.lua" "http://127.0.0.1:$ROUTER_PORT" >"$WORK/$target-streams.txt" 2>&1 &
  WRK=$!
  peak=0; open=0
  for _ in $(seq 1 10); do
    sleep 1
    r=$(rss_mib "$RPID"); [ "$r" -gt "$peak" ] && peak=$r
    o=$(ss -Htn state established "( sport = :$ROUTER_PORT )" | wc -l); [ "$o" -gt "$open" ] && open=$o
  done
  live_during=$(live_heap_kib "$RPID")
  wait "$WRK" || true
  OPEN[$target]=$open
  PER1K[$target]=$(awk -v p="$peak" -v b="$before" -v n="$STREAMS" 'BEGIN {printf "%.0f", (p - b) * 1000 / n}')
  LIVE1K[$target]=$(awk -v d="$live_during" -v b="$live_before" -v n="$STREAMS" \
    'BEGIN {if (d == "" || b == "") print "-"; else printf "%.1f", (d - b) / 1024 * 1000 / n}')
  stop "$target"
done

if [ -n "$IMAGE" ]; then
  podman_times=""
  for _ in $(seq 1 "$RUNS"); do
    t0=$(date +%s%N); $PODMAN run --rm --network host "$IMAGE" true >/dev/null 2>&1
    podman_times="$podman_times $(( ($(date +%s%N) - t0) / 1000000 ))"
  done
  PODMAN_RUN=$(echo "$podman_times" | median)
fi

echo
echo "vllm-router (Java) memory and start-up — $(date -u +%Y-%m-%dT%H:%MZ)"
echo "machine: $(nproc) cores, $(awk '/MemTotal/ {printf "%.0f GiB", $2/1048576}' /proc/meminfo), $(uname -r); JDK: $("$JAVA" -version 2>&1 | head -1); load average at the end: $(cut -d' ' -f1-3 /proc/loadavg)"
echo "start-up: median of $RUNS; load: wrk -t2 -c$CONNECTIONS, ${DURATION}s non-streamed + ${DURATION}s streamed; streams: $STREAMS held open (1 s between events)"
echo
printf "| %-9s | %12s | %14s | %12s | %14s | %13s | %12s | %22s | %19s | %17s |\n" target "start-up ms" "CPU ms to live" "idle RSS MiB" "RSS after load" "req/s nonstr." "req/s stream" "RSS MiB per 1k streams" "live heap MiB / 1k" "from process ms"
printf "|%s|%s|%s|%s|%s|%s|%s|%s|%s|%s|\n" "-----------" "--------------" "----------------" "--------------" "----------------" "---------------" "--------------" "------------------------" "---------------------" "-------------------"
for target in "${TARGETS[@]}"; do
  printf "| %-9s | %12s | %14s | %12s | %14s | %13s | %12s | %22s | %19s | %17s |\n" "$target" "${START[$target]}" "${CPU[$target]}" \
    "${IDLE[$target]}" "${AFTER[$target]}" "${RPS_N[$target]}" "${RPS_S[$target]}" "${PER1K[$target]} (${OPEN[$target]} open)" \
    "${LIVE1K[$target]}" "${AGE[$target]}"
done
echo "start-up ms: from the command (for the image: podman run, its own set-up included); from process ms: from the start"
echo "of the process that answers (the launcher's shell, java, or the container's first process), in 10 ms steps"
[ -n "$IMAGE" ] && echo "podman run of \`true\` in the image (podman's own share of the image's start-up): ${PODMAN_RUN} ms"
echo "(logs and raw wrk output: $WORK)"
