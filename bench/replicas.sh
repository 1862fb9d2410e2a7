#!/usr/bin/env bash
# Router replicas as real processes (issue 14): 4 simulated workers (separate processes publishing KV events,
# tokenizing with Qwen3's files) and 1 or 3 routers started with scripts/vllm-router, a client spreading each
# request over the routers at random as a Kubernetes Service does. Runs: tree x1, tree x3, KV index x1, KV index x3,
# KV index x3 with one router SIGKILLed after a third of the requests and another rolled after two thirds.
# Prints one Markdown table (ReplicaBench). Takes 3-5 minutes on 2 cores.
#
#   bench/replicas.sh
#   bench/replicas.sh conversations=48 lanes=16 cache_blocks=2048      # any parameter as name=value
#
# Parameters: workers (4), conversations (96), turns (6), lanes (24), think_ms (300), cache_blocks (1024),
# base_port (18300; workers on 127.0.0.2.. at that port, routers at +50.., their metrics at +60..).
# Env: SKIP_INSTALL=1 (do not rebuild/install the router first).
set -euo pipefail
source "$(dirname "$0")/../scripts/lib.sh"
need_jdk
need_maven

BENCH="$ROOT/bench"
OUT="$BENCH/target/replicas"
rm -rf "$OUT" && mkdir -p "$OUT/qwen3"

CP="$(bench_classpath "$OUT")"

# Qwen3's tokenizer files, as the tests use them
gunzip -c "$ROOT/src/test/resources/tokenize/qwen3/tokenizer.json.gz" > "$OUT/qwen3/tokenizer.json"
cp "$ROOT/src/test/resources/tokenize/qwen3/tokenizer_config.json" "$OUT/qwen3/"

say "JDK: $("$JAVA_HOME/bin/java" -version 2>&1 | head -1); cores: $(nproc); logs in $OUT"
exec "$JAVA_HOME/bin/java" -cp "$CP" dev.vllmrouter.bench.ReplicaBench "launcher=$ROOT/scripts/vllm-router" \
  "tokenizer=$OUT/qwen3" "work=$OUT" "$@"
