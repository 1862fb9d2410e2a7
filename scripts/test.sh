#!/usr/bin/env bash
# Runs every test (unit and integration, against in-process simulated vLLM workers) and builds the jar.
# Extra arguments go to Maven, e.g. scripts/test.sh -Dtest='ProxyIT'
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
need_jdk
need_maven
say "JDK: $("$JAVA_HOME/bin/java" -version 2>&1 | head -1)"
mvn_cmd verify "$@"
