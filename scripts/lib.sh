# Shared set-up for the project's scripts: source it, then call need_jdk / need_maven / build_jar.
# Finds a JDK >= 21 (JAVA_HOME, /usr/lib/jvm/*, java on PATH; installs openjdk-21 with apt where it can),
# and Maven (installs it with apt when missing).

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
MIN_JAVA=21

say() { echo "[vllm-router] $*" >&2; }
die() { say "error: $*"; exit 1; }

java_major() { # $1 = path to a java binary; prints its feature version or nothing
  # the JDK's release file when it has one (no JVM start, and read with shell built-ins: the launcher's start-up),
  # else ask the JVM
  local release="${1%/bin/java}/release" v="" line
  if [ -f "$release" ]; then
    while IFS= read -r line; do
      case "$line" in JAVA_VERSION=*) v="${line#JAVA_VERSION=\"}"; v="${v%%[!0-9]*}"; break ;; esac
    done <"$release"
  fi
  if [ -z "$v" ]; then
    v="$("$1" -XshowSettings:properties -version 2>&1 | awk -F'= ' '/java.specification.version/ {print $2; exit}' | cut -d. -f1)"
  fi
  echo "$v"
}

try_jdk() { # $1 = a JAVA_HOME candidate
  local home="$1"
  [ -x "$home/bin/java" ] && [ -x "$home/bin/javac" ] || return 1
  local v; v="$(java_major "$home/bin/java")"
  [ -n "$v" ] && [ "$v" -ge "$MIN_JAVA" ] 2>/dev/null || return 1
  export JAVA_HOME="$home"
  export PATH="$JAVA_HOME/bin:$PATH"
  return 0
}

apt_install() {
  command -v apt-get >/dev/null 2>&1 || return 1
  local sudo=""
  if [ "$(id -u)" != "0" ]; then command -v sudo >/dev/null 2>&1 && sudo="sudo -n" || return 1; fi
  say "installing $* with apt-get"
  $sudo apt-get update -qq >/dev/null 2>&1 || true
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "$@" >/dev/null 2>&1
}

need_jdk() {
  if [ -n "${JAVA_HOME:-}" ] && try_jdk "$JAVA_HOME"; then return 0; fi
  try_jdk /usr/lib/jvm/temurin-25-jdk-amd64 && return 0
  local d
  for d in /usr/lib/jvm/*; do try_jdk "$d" && return 0; done
  if command -v javac >/dev/null 2>&1; then
    try_jdk "$(dirname "$(dirname "$(readlink -f "$(command -v javac)")")")" && return 0
  fi
  apt_install openjdk-21-jdk-headless || apt_install openjdk-25-jdk-headless || true
  for d in /usr/lib/jvm/*; do try_jdk "$d" && return 0; done
  die "no JDK >= $MIN_JAVA found. Set JAVA_HOME to a JDK $MIN_JAVA+ (e.g. Temurin 21 or 25) and run again."
}

need_maven() {
  command -v mvn >/dev/null 2>&1 && return 0
  apt_install maven || true
  command -v mvn >/dev/null 2>&1 || die "Maven (mvn) not found and could not be installed; install Maven 3.8+."
}

mvn_cmd() {
  # JDK 24+ warns about Maven's own use of sun.misc.Unsafe; harmless, silenced
  local v; v="$(java_major "$JAVA_HOME/bin/java")"
  if [ "$v" -ge 24 ] 2>/dev/null; then export MAVEN_OPTS="${MAVEN_OPTS:-} --sun-misc-unsafe-memory-access=allow"; fi
  (cd "$ROOT" && mvn -B -ntp "$@")
}

JAR="$ROOT/target/vllm-router.jar"

jar_is_stale() {
  [ -f "$JAR" ] && [ -d "$ROOT/target/libs" ] || return 0
  [ -n "$(find "$ROOT/pom.xml" "$ROOT/src/main" -newer "$JAR" -print -quit 2>/dev/null)" ]
}

build_jar() {
  if jar_is_stale; then
    say "building $JAR (first run or sources changed)"
    mvn_cmd -q -DskipTests package || die "build failed"
  fi
}

# bench_classpath OUT_DIR: installs the router into ~/.m2 (unless SKIP_INSTALL=1), builds the bench module and prints
# its class path (the bench jar and its runtime dependencies); the scripts in bench/ run their Java classes with it.
bench_classpath() {
  local out="$1"
  mkdir -p "$out"
  if [ "${SKIP_INSTALL:-0}" != "1" ]; then
    say "installing the router into ~/.m2 (mvn install -DskipTests)"
    mvn_cmd -q -Dstyle.color=never -DskipTests install >&2 || die "router build failed"
  fi
  say "building the bench module"
  mvn_cmd -q -Dstyle.color=never -f bench/pom.xml package >&2 || die "bench build failed"
  mvn_cmd -q -Dstyle.color=never -f bench/pom.xml dependency:build-classpath -Dmdep.outputFile="$out/classpath.txt" \
    -Dmdep.includeScope=runtime >&2 || die "could not compute the bench classpath"
  echo "$ROOT/bench/target/vllm-router-bench.jar:$(cat "$out/classpath.txt")"
}
