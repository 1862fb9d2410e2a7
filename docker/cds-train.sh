#!/bin/bash
# Training run for class-data sharing, run once when the image is built (docker/Dockerfile). It starts the router
# exactly as /usr/local/bin/vllm-router does, in front of a simulated worker, sends it the usual requests, stops it
# with SIGTERM, and keeps what the JVM wrote at exit:
#   JDK 25+:   /app/vllm-router.aot, an AOT cache (-XX:AOTCacheOutput, JEP 514/515): classes loaded and linked,
#              plus method profiles
#   JDK 21-24: /app/vllm-router.jsa, a dynamic CDS archive (-XX:ArchiveClassesAtExit)
# and writes the option that uses it into /app/cds.options (read by /usr/local/bin/vllm-router). Then it starts the
# JVM once more with the archive required (-XX:AOTMode=on / -Xshare:on), so that an unusable archive fails the
# build instead of silently slowing every start.
set -euo pipefail
major="$(sed -n 's/^JAVA_VERSION="\([0-9]*\).*/\1/p' "$JAVA_HOME/release")"
: > /app/cds.options
if [ "$major" -ge 25 ]; then
  out=/app/vllm-router.aot
  train="-XX:AOTCacheOutput=$out -Xlog:aot=error"
  use="-XX:AOTCache=$out -Xlog:aot*=off"
  check="-XX:AOTCache=$out -XX:AOTMode=on"
else
  out=/app/vllm-router.jsa
  train="-XX:ArchiveClassesAtExit=$out -Xlog:cds=error"
  use="-XX:SharedArchiveFile=$out -Xlog:cds=off -Xlog:cds+dynamic=off"
  check="-XX:SharedArchiveFile=$out -Xshare:on"
fi

ROUTER=18000; METRICS=18090; WORKER=18001
java -jar /app/vllm-router.jar sim-worker --port "$WORKER" --model demo >/tmp/train-worker.log 2>&1 &
worker=$!

# One HTTP/1.1 request over bash's /dev/tcp (the image has no curl); reads the answer to its end (Content-Length
# or chunked). Fails when the connection cannot be made.
export LC_ALL=C
http() { # method port path [body]
  local body="${4:-}" line len="" chunked="" size
  exec 3<>"/dev/tcp/127.0.0.1/$2" || return 1
  printf '%s %s HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\nContent-Length: %d\r\n\r\n%s' \
    "$1" "$3" "${#body}" "$body" >&3
  while IFS= read -r -t 30 line <&3; do
    line="${line%$'\r'}"
    [ -z "$line" ] && break
    case "${line,,}" in
      content-length:*) len="${line#*:}"; len="${len// /}" ;;
      transfer-encoding:*chunked*) chunked=1 ;;
    esac
  done
  if [ -n "$chunked" ]; then
    while IFS= read -r -t 30 size <&3; do
      size="${size%$'\r'}"; size="${size%%;*}"
      [ "$((16#$size))" -eq 0 ] && break
      read -r -N "$((16#$size))" -t 30 _ <&3
      read -r -t 30 _ <&3
    done
  elif [ -n "$len" ] && [ "$len" -gt 0 ]; then
    read -r -N "$len" -t 30 _ <&3
  fi
  exec 3<&-
}
until http GET "$WORKER" /health 2>/dev/null; do sleep 0.2; done

JDK_JAVA_OPTIONS="$train" /usr/local/bin/vllm-router --worker-urls "http://127.0.0.1:$WORKER" --port "$ROUTER" \
  --prometheus-port "$METRICS" --log-level warn >/tmp/train-router.log 2>&1 &
router=$!
until http GET "$ROUTER" /liveness 2>/dev/null; do sleep 0.2; done
for _ in $(seq 1 40); do
  http POST "$ROUTER" /v1/completions '{"model":"demo","prompt":"The quick brown fox","max_tokens":16}'
  http POST "$ROUTER" /v1/completions '{"model":"demo","prompt":"The quick brown fox","max_tokens":16,"stream":true}'
  http POST "$ROUTER" /v1/chat/completions '{"model":"demo","messages":[{"role":"user","content":"Hello there"}]}'
  http POST "$ROUTER" /v1/chat/completions '{"model":"demo","messages":[{"role":"user","content":"Hello"}],"stream":true}'
  http POST "$ROUTER" /v1/chat/completions '{"model":"demo","messages":'
  http GET "$ROUTER" /v1/models
  http GET "$ROUTER" /readiness
  http GET "$ROUTER" /health
  http GET "$METRICS" /metrics
done
kill -TERM "$router"
wait "$router" || { cat /tmp/train-router.log >&2; exit 1; }
kill -TERM "$worker"; wait "$worker" || true
test -s "$out" || { cat /tmp/train-router.log >&2; echo "no archive written" >&2; exit 1; }
echo "$use" > /app/cds.options
# the check: the same JVM settings as the launcher, with the archive required
# shellcheck disable=SC2086
java -XX:MaxRAMPercentage=75 -XX:+UseSerialGC -Xms16m -XX:NewSize=12m @/app/jdk.options $check -jar /app/vllm-router.jar --version
echo "JRE $major: $(du -h "$out" | cut -f1) archive $out, options: $(cat /app/cds.options)"
rm -f /tmp/train-worker.log /tmp/train-router.log
