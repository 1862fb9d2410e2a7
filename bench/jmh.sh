#!/usr/bin/env bash
# JMH: the cost of one routing decision (Picker.pick) per policy and fleet size, and cache_aware's cost as prompts
# grow. Builds and installs the router (mvn install at the root), builds the bench module, runs JMH, then prints
# JMH's own table followed by compact Markdown summaries (ns per pick, policy x workers).
#
#   bench/jmh.sh                                     # defaults: 32 runs of ~7 s each, about 4 minutes on 2 cores
#   JMH_ARGS="-f 2 -wi 5 -w 2s -i 5 -r 2s" bench/jmh.sh    # longer, steadier runs (~20 minutes)
#   bench/jmh.sh PickBenchmark -p workers=16         # extra arguments go to JMH (a benchmark regex, -p ...)
#
# Env: JMH_ARGS (run settings, default "-f 1 -wi 3 -w 1s -i 3 -r 1s"), JMH_JAVA_OPTS (JVM flags of the forks),
# SKIP_INSTALL=1 (do not rebuild/install the router first).
set -euo pipefail
source "$(dirname "$0")/../scripts/lib.sh"
need_jdk
need_maven

JMH_ARGS="${JMH_ARGS:--f 1 -wi 3 -w 1s -i 3 -r 1s}"
JMH_JAVA_OPTS="${JMH_JAVA_OPTS:--Xms1g -Xmx1g}"
HOST_OPTS=""
if [ "$(java_major "$JAVA_HOME/bin/java")" -ge 24 ] 2>/dev/null; then
  # JMH 1.37 uses sun.misc.Unsafe, which JDK 24+ warns about at every start: harmless, silenced
  HOST_OPTS="--sun-misc-unsafe-memory-access=allow"
  JMH_JAVA_OPTS="$JMH_JAVA_OPTS $HOST_OPTS"
fi
BENCH="$ROOT/bench"
OUT="$BENCH/target/jmh"
mkdir -p "$OUT"

CP="$(bench_classpath "$OUT")"

RESULT="$OUT/result.json"
say "JDK: $("$JAVA_HOME/bin/java" -version 2>&1 | head -1); cores: $(nproc); JMH: $JMH_ARGS ${*:-PickBenchmark CacheAwareBenchmark}"
# shellcheck disable=SC2086
"$JAVA_HOME/bin/java" $HOST_OPTS -cp "$CP" org.openjdk.jmh.Main $JMH_ARGS -jvmArgs "$JMH_JAVA_OPTS" -tu ns -bm avgt \
  -rf json -rff "$RESULT" "${@:-PickBenchmark|CacheAwareBenchmark}"

echo
echo "## Summary: ns per pick (average time; JMH's table above has the error bars)"
echo
echo "JMH settings: \`$JMH_ARGS\`, fork JVM flags \`$JMH_JAVA_OPTS\`; $(nproc) cores; $("$JAVA_HOME/bin/java" -version 2>&1 | head -1)"
echo
"$JAVA_HOME/bin/java" -cp "$CP" dev.vllmrouter.bench.JmhSummary "$RESULT"
