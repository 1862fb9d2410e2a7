#!/usr/bin/env bash
# The cost of asking a worker's POST /tokenize for every request's token ids (the alternative to --tokenizer-path):
# starts two simulated workers (one with the simulator's own tokenization, so the figure is the round trip and the
# JSON alone; one with Qwen3's real tokenizer files, so the worker's side costs what vLLM's tokenization would), then
# times 2, 32 and 128 KiB chats one at a time from one thread (TokenizeRoundTrip). About a minute.
#
#   bench/tokenize-rtt.sh               # 200 calls per size
#   REQUESTS=500 bench/tokenize-rtt.sh
#
# Env: REQUESTS, SKIP_INSTALL=1 (do not rebuild/install the router first).
set -euo pipefail
source "$(dirname "$0")/../scripts/lib.sh"
need_jdk
need_maven

BENCH="$ROOT/bench"
OUT="$BENCH/target/tokenize-rtt"
mkdir -p "$OUT"
CP="$(bench_classpath "$OUT")"

TOK="$OUT/qwen3"
mkdir -p "$TOK"
gunzip -c "$ROOT/src/test/resources/tokenize/qwen3/tokenizer.json.gz" > "$TOK/tokenizer.json"
cp "$ROOT/src/test/resources/tokenize/qwen3/tokenizer_config.json" "$TOK/"

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }
PLAIN_PORT=$(free_port)
REAL_PORT=$(free_port)
"$JAVA_HOME/bin/java" -cp "$CP" dev.vllmrouter.Main sim-worker --port "$PLAIN_PORT" > "$OUT/plain.log" 2>&1 &
PLAIN=$!
"$JAVA_HOME/bin/java" -cp "$CP" dev.vllmrouter.Main sim-worker --port "$REAL_PORT" --tokenizer-path "$TOK" \
  > "$OUT/real.log" 2>&1 &
REAL=$!
trap 'kill $PLAIN $REAL 2>/dev/null || true' EXIT
for port in "$PLAIN_PORT" "$REAL_PORT"; do
  for _ in $(seq 1 100); do
    curl -sf "http://127.0.0.1:$port/health" > /dev/null && break
    sleep 0.2
  done
done
say "load average: $(cut -d' ' -f1-3 /proc/loadavg); cores: $(nproc); $("$JAVA_HOME/bin/java" -version 2>&1 | head -1)"
echo "### simulator's tokenization (round trip + JSON only)"
echo
"$JAVA_HOME/bin/java" -cp "$CP" dev.vllmrouter.bench.TokenizeRoundTrip "http://127.0.0.1:$PLAIN_PORT" "${REQUESTS:-200}"
echo
echo "### Qwen3's tokenizer in the worker (what vLLM's /tokenize also does: template + encode)"
echo
"$JAVA_HOME/bin/java" -cp "$CP" dev.vllmrouter.bench.TokenizeRoundTrip "http://127.0.0.1:$REAL_PORT" "${REQUESTS:-200}"
