#!/bin/sh
# The image's ENTRYPOINT; `docker run IMAGE ARG...` and Kubernetes `args:` arrive here.
#
#   - A first argument that names a program in the image runs that program: the default command
#     `vllm-router --host 0.0.0.0 --port 8080` (the CMD of vllm-project/router's image, which has no entrypoint),
#     `vllm-router --worker-urls ...` written for that image, or `sh`, `java -version` to look around.
#   - Anything else (flags, `demo`, `sim-worker`) goes to vllm-router: `docker run IMAGE --worker-urls ...`.
#
# exec all the way down: java ends up as PID 1 and receives SIGTERM itself.
set -e
if [ "$#" -eq 0 ] || [ "${1#-}" != "$1" ] || ! command -v "$1" >/dev/null 2>&1; then
    set -- vllm-router "$@"
fi
exec "$@"
