#!/usr/bin/env bash
# Builds the container image (docker/Dockerfile) with podman and checks it the way vllm-project/router's image is
# used: no Docker daemon and no container registry needed (scripts/container-bases.sh makes the base images).
#
#   scripts/test-image.sh              build, then test
#   scripts/test-image.sh --no-build   test the image already built (IMAGE)
#
# The checks, all in one pod (the containers share localhost, as in a Kubernetes pod; its ports are published
# on 127.0.0.1 of this machine, so the router must listen on 0.0.0.0 inside):
#   - image settings: /usr/local/bin/vllm-router, ENTRYPOINT, CMD, EXPOSE, USER;
#   - a simulated vLLM worker, run from the image (`sim-worker`);
#   - the router started as Kubernetes `command: ["vllm-router", <upstream flags>]` runs it: readiness, a chat
#     completion, a stream, /metrics on 29000, java as PID 1; then SIGTERM (`podman stop`) while a slow stream is
#     running: /readiness turns 503, the stream completes, the router exits by itself within the grace period
#     with status 0, as vllm-router (137 = SIGKILL, 143 = ended by the signal instead of the drain: both fail);
#   - `podman run IMAGE vllm-router <flags>` (Kubernetes `args:` written for the upstream image),
#     `podman run IMAGE <flags>` (port 30000), `podman run IMAGE` (default command: 0.0.0.0:8080, no workers,
#     POST /add_worker) and `podman run IMAGE demo`.
# Prints PASS/FAIL per check and "N passed, N failed"; exits 1 if any check failed.
#
# Settings (environment): IMAGE (default localhost/vllm-router:test), PODMAN (see container-bases.sh),
# KEEP=1 keeps the pod for a look afterwards (podman pod rm -f NAME to remove it).
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
source "$ROOT/scripts/container-bases.sh"

IMAGE="${IMAGE:-localhost/vllm-router:test}"
BUILD=1
for arg in "$@"; do
  case "$arg" in
    --no-build) BUILD=0 ;;
    -h|--help) sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
    *) die "unknown argument: $arg (see --help)" ;;
  esac
done
command -v curl >/dev/null 2>&1 || apt_install curl || die "curl is needed"

T0=$SECONDS
podman_setup
base_images
T_BASES=$((SECONDS - T0))

if [ "$BUILD" = 1 ]; then
  say "building $IMAGE (JDK $JDK_VERSION; the first build downloads the Maven dependencies)"
  T1=$SECONDS
  LOG="${TMPDIR:-/tmp}/vllm-router-image-build.log"
  # --isolation chroot: no nested namespaces needed; --network host: Maven reaches its repository;
  # --pull=never: the base images are the local ones (a registry is not reachable).
  if ! $PODMAN build --isolation chroot --network host --pull=never --build-arg "JDK_VERSION=$JDK_VERSION" \
      -f "$ROOT/docker/Dockerfile" -t "$IMAGE" "$ROOT" >"$LOG" 2>&1; then
    tail -40 "$LOG" >&2
    die "image build failed (full log: $LOG)"
  fi
  T_BUILD=$((SECONDS - T1))
  say "built $IMAGE in $T_BUILD s (log: $LOG)"
else
  $PODMAN image exists "$IMAGE" || die "$IMAGE does not exist; run without --no-build"
  T_BUILD=0
fi

# ---------------------------------------------------------------------------------------------------------------
PASSED=0
FAILED=0
pass() { echo "PASS: $*"; PASSED=$((PASSED + 1)); }
fail() { echo "FAIL: $*"; FAILED=$((FAILED + 1)); }
check() { # check NAME COMMAND...: PASS when the command succeeds
  local name="$1"; shift
  if "$@"; then pass "$name"; else fail "$name"; fi
}

POD="vllm-router-image-test-$$"
WORK="$(mktemp -d "${TMPDIR:-/tmp}/vllm-router-image-test.XXXXXX")"
cleanup() {
  if [ "${KEEP:-0}" = 1 ]; then
    say "kept pod $POD and $WORK"
  else
    $PODMAN pod rm -f "$POD" >/dev/null 2>&1 || true
    rm -rf "$WORK"
  fi
}
trap cleanup EXIT

T2=$SECONDS
WORKER_PORT=8001
MODEL=test-model
ITL_MS=50          # the worker's time between tokens: a 100-token stream lasts 5 s
GRACE=30           # the router's --shutdown-grace-period-secs (default)

# -- image settings
inspect() { $PODMAN image inspect "$IMAGE" --format "$1"; }
check "image: ENTRYPOINT is [/usr/local/bin/docker-entrypoint.sh]" \
  test "$(inspect '{{json .Config.Entrypoint}}')" = '["/usr/local/bin/docker-entrypoint.sh"]'
check "image: CMD is upstream's [vllm-router --host 0.0.0.0 --port 8080]" \
  test "$(inspect '{{json .Config.Cmd}}')" = '["vllm-router","--host","0.0.0.0","--port","8080"]'
check "image: EXPOSE 8080, 30000, 29000" \
  test "$(inspect '{{range $p, $v := .Config.ExposedPorts}}{{$p}} {{end}}')" = "29000/tcp 30000/tcp 8080/tcp "
check "image: USER 10001:10001" test "$(inspect '{{.Config.User}}')" = "10001:10001"
check "image: vllm-router on PATH is /usr/local/bin/vllm-router" \
  test "$($PODMAN run --rm "$IMAGE" sh -c 'command -v vllm-router' 2>&1)" = /usr/local/bin/vllm-router
check "image: flags go to the router (podman run IMAGE --help)" \
  grep -q -- '--worker-urls' <<<"$($PODMAN run --rm "$IMAGE" --help 2>&1)"

# -- the pod: router ports published on 127.0.0.1 (random host ports)
$PODMAN pod create --name "$POD" -p 127.0.0.1::8080 -p 127.0.0.1::30000 -p 127.0.0.1::29000 \
  -p "127.0.0.1::$WORKER_PORT" >/dev/null
$PODMAN pod start "$POD" >/dev/null
host_port() { # container port -> host port
  $PODMAN port "$($PODMAN pod inspect "$POD" --format '{{.InfraContainerID}}')" "$1/tcp" | sed 's/.*://'
}
P8080="$(host_port 8080)"; P30000="$(host_port 30000)"; P29000="$(host_port 29000)"; PWORKER="$(host_port "$WORKER_PORT")"
say "pod $POD: 8080 -> 127.0.0.1:$P8080, 30000 -> 127.0.0.1:$P30000, 29000 -> 127.0.0.1:$P29000"

status() { curl -s -o /dev/null -w '%{http_code}' -m 5 "$@" || true; }
wait_status() { # wait_status URL CODE SECONDS
  local deadline=$((SECONDS + $3))
  while [ "$SECONDS" -lt "$deadline" ]; do
    [ "$(status "$1")" = "$2" ] && return 0
    sleep 0.5
  done
  return 1
}
running() { [ "$($PODMAN inspect "$1" --format '{{.State.Running}}' 2>/dev/null)" = true ]; }
logs_on_fail() { # the last lines of a container's log, after a failed check
  [ "$FAILED" -gt "${2:-0}" ] && { echo "--- last log lines of $1:"; $PODMAN logs "$1" 2>&1 | tail -15; echo "---"; }
  return 0
}
chat_body() { # chat_body STREAM MAX_TOKENS
  printf '{"model":"%s","stream":%s,"max_tokens":%s,"messages":[{"role":"user","content":"Hello from the image test"}]}' \
    "$MODEL" "$1" "$2"
}
chat() { # chat PORT STREAM MAX_TOKENS -> body on stdout
  curl -sN -m 60 "http://127.0.0.1:$1/v1/chat/completions" -H 'Content-Type: application/json' -d "$(chat_body "$2" "$3")"
}
serves_chat() { # serves_chat PORT: a non-streamed chat completion from the worker's model
  local body; body="$(chat "$1" false 4)"
  grep -q '"object":"chat.completion"' <<<"$body" && grep -q "\"model\":\"$MODEL\"" <<<"$body" \
    && grep -q '"content":"[^"]' <<<"$body"
}
stops_on_sigterm() { # stops_on_sigterm NAME: SIGTERM; the router exits by itself (see EXIT below)
  $PODMAN stop -t $((GRACE + 10)) "$1" >/dev/null 2>&1
  local code; code="$($PODMAN inspect "$1" --format '{{.State.ExitCode}}')"
  [ "$code" = 0 ]
}

# -- a simulated vLLM worker on localhost:8001 of the pod
$PODMAN run -d --pod "$POD" --name "$POD-worker" "$IMAGE" \
  sim-worker --host 0.0.0.0 --port "$WORKER_PORT" --model "$MODEL" --itl-ms "$ITL_MS" >/dev/null
# up before the routers start: a router probes its workers at start every --worker-startup-check-interval (30 s)
check "run IMAGE sim-worker: /health 200" wait_status "http://127.0.0.1:$PWORKER/health" 200 120

# -- 1. Kubernetes `command: ["vllm-router", ...]` with upstream's flags: the entrypoint is replaced
NAME="$POD-command"
n0=$FAILED
$PODMAN run -d --pod "$POD" --name "$NAME" --entrypoint vllm-router "$IMAGE" \
  --worker-urls "http://127.0.0.1:$WORKER_PORT" --host 0.0.0.0 --port 8080 --policy round_robin >/dev/null
check "command vllm-router <flags>: /readiness 200 on 0.0.0.0:8080" \
  wait_status "http://127.0.0.1:$P8080/readiness" 200 120
check "command vllm-router <flags>: java is PID 1" \
  test "$($PODMAN exec "$NAME" cat /proc/1/comm 2>&1)" = java
check "command vllm-router <flags>: chat completion" serves_chat "$P8080"
chat "$P8080" true 4 >"$WORK/stream-short"
check "command vllm-router <flags>: stream (chunks, then [DONE])" \
  sh -c "grep -q '\"object\":\"chat.completion.chunk\"' '$WORK/stream-short' && tail -n 3 '$WORK/stream-short' | grep -qx 'data: \[DONE\]'"
check "command vllm-router <flags>: /metrics on 0.0.0.0:29000" \
  grep -q '^vllm_router_' <<<"$(curl -s -m 5 "http://127.0.0.1:$P29000/metrics")"

# SIGTERM while a 100-token stream (about 5 s) is running
chat "$P8080" true 100 >"$WORK/stream-long" 2>&1 &
STREAM_PID=$!
deadline=$((SECONDS + 30))
until grep -q 'chat.completion.chunk' "$WORK/stream-long" 2>/dev/null || [ "$SECONDS" -ge "$deadline" ]; do sleep 0.1; done
STOP_START=$SECONDS
$PODMAN stop -t $((GRACE + 10)) "$NAME" >/dev/null 2>&1 &
STOP_PID=$!
# While the stream runs, the router drains: not ready. (No podman command here: they wait for `podman stop`.)
ready_during_drain=none
deadline=$((SECONDS + 10))
while [ "$SECONDS" -lt "$deadline" ] && kill -0 "$STOP_PID" 2>/dev/null; do
  ready_during_drain="$(status "http://127.0.0.1:$P8080/readiness")"
  [ "$ready_during_drain" = 503 ] && break
  sleep 0.1
done
wait "$STOP_PID" || true
STOP_SECS=$((SECONDS - STOP_START))
wait "$STREAM_PID" || true
EXIT="$($PODMAN inspect "$NAME" --format '{{.State.ExitCode}}')"
check "SIGTERM: /readiness 503 while draining (got $ready_during_drain)" test "$ready_during_drain" = 503
check "SIGTERM: the running stream completed (100 tokens, then [DONE])" \
  sh -c "[ \"\$(grep -c '\"delta\":{\"content\"' '$WORK/stream-long')\" -ge 100 ] && tail -n 3 '$WORK/stream-long' | grep -qx 'data: \[DONE\]'"
# 0: the router drained on its own and returned, as vllm-router does. 143 would be the JVM ended by the signal, 137
# SIGKILL at the end of the grace period.
check "SIGTERM: the router exited 0 by itself after the drain (status $EXIT)" test "$EXIT" = 0
check "SIGTERM: exited in ${STOP_SECS}s, within the ${GRACE}s grace period" test "$STOP_SECS" -lt "$GRACE"
logs_on_fail "$NAME" "$n0"

# -- 2. `podman run IMAGE vllm-router <flags>`: as written for upstream's image (Kubernetes args: too)
NAME="$POD-args"
n0=$FAILED
$PODMAN run -d --pod "$POD" --name "$NAME" "$IMAGE" \
  vllm-router --worker-urls "http://127.0.0.1:$WORKER_PORT" --host 0.0.0.0 --port 8080 --policy round_robin >/dev/null
check "run IMAGE vllm-router <flags>: /readiness 200 on 8080" wait_status "http://127.0.0.1:$P8080/readiness" 200 120
check "run IMAGE vllm-router <flags>: chat completion" serves_chat "$P8080"
check "run IMAGE vllm-router <flags>: SIGTERM, exits by itself" stops_on_sigterm "$NAME"
logs_on_fail "$NAME" "$n0"

# -- 3. `podman run IMAGE <flags>`: flags straight to the router, its own default port 30000
NAME="$POD-flags"
n0=$FAILED
$PODMAN run -d --pod "$POD" --name "$NAME" "$IMAGE" \
  --worker-urls "http://127.0.0.1:$WORKER_PORT" --policy round_robin >/dev/null
check "run IMAGE <flags>: /readiness 200 on 30000" wait_status "http://127.0.0.1:$P30000/readiness" 200 120
check "run IMAGE <flags>: chat completion" serves_chat "$P30000"
check "run IMAGE <flags>: SIGTERM, exits by itself" stops_on_sigterm "$NAME"
logs_on_fail "$NAME" "$n0"

# -- 4. `podman run IMAGE`: the default command, 0.0.0.0:8080 with no workers; one added through the admin API
NAME="$POD-default"
n0=$FAILED
$PODMAN run -d --pod "$POD" --name "$NAME" "$IMAGE" >/dev/null
check "run IMAGE: /liveness 200 on 8080" wait_status "http://127.0.0.1:$P8080/liveness" 200 120
check "run IMAGE: /readiness 503 with no worker" test "$(status "http://127.0.0.1:$P8080/readiness")" = 503
check "run IMAGE: POST /add_worker" \
  test "$(curl -s -o /dev/null -w '%{http_code}' -m 60 -X POST \
    "http://127.0.0.1:$P8080/add_worker?url=http://127.0.0.1:$WORKER_PORT")" = 200
check "run IMAGE: chat completion" serves_chat "$P8080"
check "run IMAGE: SIGTERM, exits by itself" stops_on_sigterm "$NAME"
logs_on_fail "$NAME" "$n0"

# -- 5. `podman run IMAGE demo`: router on 30000 in front of simulated workers in the same container
NAME="$POD-demo"
n0=$FAILED
$PODMAN run -d --pod "$POD" --name "$NAME" "$IMAGE" demo --model "$MODEL" >/dev/null
check "run IMAGE demo: /readiness 200 on 30000" wait_status "http://127.0.0.1:$P30000/readiness" 200 120
check "run IMAGE demo: chat completion" serves_chat "$P30000"
check "run IMAGE demo: SIGTERM, exits by itself" stops_on_sigterm "$NAME"
logs_on_fail "$NAME" "$n0"

T_TESTS=$((SECONDS - T2))
say "times: base images ${T_BASES}s, build ${T_BUILD}s, checks ${T_TESTS}s, total $((SECONDS - T0))s"
echo "$PASSED passed, $FAILED failed"
[ "$FAILED" = 0 ]
