#!/usr/bin/env bash
# Routing quality on a simulated fleet, in virtual time (no sockets, no sleeping, deterministic for a seed): every
# policy's real picker routes a multi-turn chat workload over N workers, each with a model of vLLM's prefix cache,
# next to an oracle with perfect conversation affinity. Prints Markdown tables: fleet prefix-cache hit rate, load
# spread, virtual latency, at the default and at a low concurrency; then the key movement of the hashing policies
# when one worker leaves. Takes about 10 s with the defaults.
#
#   bench/quality.sh                                    # defaults (printed at the top of the output)
#   WORKERS=16 CONVERSATIONS=1000 ACTIVE=64 SEED=7 bench/quality.sh
#   bench/quality.sh capacity_blocks=2048 think_ms=500   # any parameter as name=value (see the printed list)
#
# Env: WORKERS, CONVERSATIONS, TURNS, ACTIVE, LOW_ACTIVE, SEED, CAPACITY_BLOCKS, THINK_MS (arguments win over env);
# QUALITY_JAVA_OPTS (JVM flags); SKIP_INSTALL=1 (do not rebuild/install the router first).
set -euo pipefail
source "$(dirname "$0")/../scripts/lib.sh"
need_jdk
need_maven

BENCH="$ROOT/bench"
OUT="$BENCH/target/quality"
mkdir -p "$OUT"

ARGS=()
add_env() { # $1 = env var, $2 = parameter name
  if [ -n "${!1:-}" ]; then ARGS+=("$2=${!1}"); fi
}
add_env WORKERS workers
add_env CONVERSATIONS conversations
add_env TURNS turns
add_env ACTIVE active
add_env LOW_ACTIVE low_active
add_env SEED seed
add_env CAPACITY_BLOCKS capacity_blocks
add_env THINK_MS think_ms

CP="$(bench_classpath "$OUT")"

# shellcheck disable=SC2086
exec "$JAVA_HOME/bin/java" ${QUALITY_JAVA_OPTS:-} -cp "$CP" dev.vllmrouter.bench.RoutingQuality "${ARGS[@]}" "$@"
