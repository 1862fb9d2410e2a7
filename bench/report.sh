#!/usr/bin/env bash
# Issue 15's targets in one table, from one run on this machine of bench/run.sh (load: direct vs router vs nginx),
# bench/footprint.sh (start-up, memory) and bench/streams.sh (thousands of concurrent streams), with the machine it ran
# on. Each script's own output is kept in bench/target/report/ for the details. Takes 12-15 minutes on 2 cores.
#
#   bench/report.sh
#   DURATION=20 STREAMS=4000 bench/report.sh
#
#   IMAGE=localhost/vllm-router:test bench/report.sh   # item 4 with the image (scripts/test-image.sh builds it)
#
# Env: DURATION (run.sh, 10), RUNS (footprint.sh start-ups, 3), STREAMS (9500), ITL_MS (1000), TTFT_MS (8000), IMAGE;
# REPORT_ONLY=1 prints the table again from the outputs the last run kept.
# Pinning (item 6) is checked by the test run (scripts/test.sh: NoMonitorsTest, the JFR PinningDetector), not here.
set -euo pipefail
source "$(dirname "$0")/../scripts/lib.sh"
need_jdk
OUT="$ROOT/bench/target/report"
mkdir -p "$OUT"

if [ "${REPORT_ONLY:-0}" != "1" ]; then
  say "1/3 bench/run.sh"
  DURATION="${DURATION:-10}" "$ROOT/bench/run.sh" > "$OUT/run.txt"
  say "2/3 bench/footprint.sh"
  RUNS="${RUNS:-3}" "$ROOT/bench/footprint.sh" > "$OUT/footprint.txt"
  say "3/3 bench/streams.sh"
  STREAMS="${STREAMS:-9500}" ITL_MS="${ITL_MS:-1000}" TTFT_MS="${TTFT_MS:-8000}" "$ROOT/bench/streams.sh" > "$OUT/streams.txt"
fi

# run.sh: "| mode | target | req/s | p50 | p99 | CPU |" rows and the ratio lines
cell() { awk -F'|' -v m="$2" -v t="$3" -v c="$4" '{gsub(/ /, "", $2); gsub(/ /, "", $3)} $2 == m && $3 == t {gsub(/ /, "", $c); print $c}' "$1"; }
ratio() { awk -v m="$2" -v k="$3" '$1 == m { for (i = 1; i <= NF; i++) if ($i == k) { v = $(i + 1); gsub(/[,;]/, "", v); print v } }' "$1"; }
NS_TPUT=$(ratio "$OUT/run.txt" nonstream router/nginx | head -1)
NS_CPU=$(ratio "$OUT/run.txt" nonstream router/nginx | tail -1)
S_TPUT=$(ratio "$OUT/run.txt" stream router/nginx | head -1)
S_CPU=$(ratio "$OUT/run.txt" stream router/nginx | tail -1)
NS_P99_R=$(cell "$OUT/run.txt" nonstream router 6); NS_P99_N=$(cell "$OUT/run.txt" nonstream nginx 6)
S_P99_R=$(cell "$OUT/run.txt" stream router 6); S_P99_N=$(cell "$OUT/run.txt" stream nginx 6)
# footprint.sh: the launcher's row
fp() { fpr "$1" launcher; }
fpr() { awk -F'|' -v c="$1" -v r="$2" '{t = $2; gsub(/ /, "", t)} t == r {v = $c; gsub(/^ +| +$/, "", v); print v}' "$OUT/footprint.txt"; }
IDLE=$(fp 5); AFTER=$(fp 6); PER1K=$(fp 9); LIVE1K=$(fp 10)
# start-up from the start of the process that answers (footprint.sh's last column)
AGE_L=$(fpr 11 launcher); AGE_J=$(fpr 11 java-jar); AGE_I=$(fpr 11 image)
# streams.sh: "| path | streams | completed | failed | events | p50 | p99 | max | RSS | CPU |"
st() { awk -F'|' -v p="$1" -v c="$2" '{t = $2; gsub(/ /, "", t)} t == p {v = $c; gsub(/^ +| +$/, "", v); print v}' "$OUT/streams.txt"; }
N=$(st router 3); DONE=$(st router 4); FAILED=$(st router 5); P99_D=$(st direct 8); P99_R=$(st router 8)
ADDED=$(awk -v d="$P99_D" -v r="$P99_R" 'BEGIN {printf "%.1f", r - d}')
ITL="${ITL_MS:-1000}"
# the added gap means something only where the worker and the client alone keep the token interval
if awk -v d="$P99_D" -v i="$ITL" 'BEGIN {exit !(d > 1.5 * i)}'; then
  GAP_MET="not measurable here: without the router the p99 gap is already ${P99_D} ms for ${ITL} ms between tokens"
else
  GAP_MET=$(awk -v a="$ADDED" 'BEGIN {print (a <= 5) ? "yes" : "no"}')
fi
PER1K_MIB="${PER1K%% *}"; PER1K_OPEN="${PER1K#* }"

verdict() { awk "BEGIN {print ($1) ? \"yes\" : \"no\"}"; }
echo
echo "vllm-router (Java): issue 15's targets — $(date -u +%Y-%m-%dT%H:%MZ)"
echo "machine: $(nproc) cores, $(awk '/MemTotal/ {printf "%.0f GiB", $2/1048576}' /proc/meminfo), $(uname -r); JDK: $("$JAVA_HOME/bin/java" -version 2>&1 | head -1); load average at the end: $(cut -d' ' -f1-3 /proc/loadavg)"
echo
echo "| item | target | measured | met |"
echo "|---|---|---|---|"
echo "| 1 | non-streamed: router CPU per request ≤ 1.2× nginx's | ${NS_CPU}× | $(verdict "$NS_CPU <= 1.2") |"
echo "| 1 | non-streamed: throughput ≥ 1.0× nginx's | ${NS_TPUT}× | $(verdict "$NS_TPUT >= 1.0") |"
echo "| 1 | streams: throughput ≥ 1.0× nginx's at ≤ 1.1× its CPU | ${S_TPUT}× at ${S_CPU}× | $(verdict "$S_TPUT >= 1.0 && $S_CPU <= 1.1") |"
echo "| 2 | idle RSS ≤ 100 MiB (launcher) | ${IDLE} MiB | $(verdict "$IDLE <= 100") |"
echo "| 2 | RSS after the load run ≤ 200 MiB (launcher) | ${AFTER} MiB | $(verdict "$AFTER <= 200") |"
echo "| 2 | memory per 1,000 open streams (stated) | RSS ${PER1K_MIB} MiB, live heap ${LIVE1K} MiB ${PER1K_OPEN} | — |"
if [ "$DONE" = "$N" ] && [ "$N" -lt 10000 ]; then
  STREAMS_MET="all of them, but fewer than 10,000 (each stream takes 2 descriptors: ulimit -n is $(ulimit -n) here)"
else
  STREAMS_MET=$(verdict "$DONE == $N")
fi
echo "| 3 | 10,000 concurrent streams all complete | ${DONE} of ${N} (${FAILED} failed) | ${STREAMS_MET} |"
echo "| 3 | router adds ≤ 5 ms to the p99 gap between events | ${ADDED} ms (${P99_R} against ${P99_D} direct) | ${GAP_MET} |"
if [ -n "$AGE_I" ]; then
  echo "| 4 | start-up to /liveness ≤ 1 s with the image (from the container's process) | ${AGE_I} ms (launcher ${AGE_L} ms, java -jar ${AGE_J} ms) | $(verdict "$AGE_I <= 1000") |"
else
  echo "| 4 | start-up to /liveness ≤ 1 s (launcher; IMAGE not given) | ${AGE_L} ms (java -jar ${AGE_J} ms) | $(verdict "$AGE_L <= 1000") |"
fi
echo "| 5 | p99 ≤ nginx's, non-streamed | ${NS_P99_R} against ${NS_P99_N} ms | $(verdict "$NS_P99_R <= $NS_P99_N") |"
echo "| 5 | p99 ≤ nginx's, streams | ${S_P99_R} against ${S_P99_N} ms | $(verdict "$S_P99_R <= $S_P99_N") |"
echo "| 6 | no pinned carrier on the request path | checked by scripts/test.sh (NoMonitorsTest, PinningDetector) | — |"
echo
echo "(each script's full output: $OUT/run.txt, footprint.txt, streams.txt)"
