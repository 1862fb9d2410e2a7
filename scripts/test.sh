#!/usr/bin/env bash
# Runs every test (unit and integration, against in-process simulated vLLM workers) and builds the jar.
# Extra arguments go to Maven, e.g. scripts/test.sh -Dtest='ProxyIT'
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
need_jdk
need_maven
# the TLS tests make their certificates with openssl; without it they are skipped
command -v openssl >/dev/null 2>&1 || apt_install openssl || say "warning: openssl not found: the TLS tests will be skipped"
say "JDK: $("$JAVA_HOME/bin/java" -version 2>&1 | head -1)"
mvn_cmd verify "$@"
