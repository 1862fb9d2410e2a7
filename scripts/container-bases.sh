#!/usr/bin/env bash
# Podman set-up for building and running docker/Dockerfile on a machine with no Docker daemon and no reachable
# container registry (the project's machines and CI): source it and call podman_setup, then base_images.
# Run on its own, it does both and prints the podman command to use.
#
#   podman_setup  installs podman, runc and debootstrap with apt when missing, and sets PODMAN (the command
#                 prefix) and CONTAINERS_CONF (resource limits this host allows containers; see below).
#   base_images   makes sure the Dockerfile's two base images exist locally, for the machine's JDK version N:
#                   eclipse-temurin:N-jre-noble       Debian bookworm (debootstrap) + this machine's JDK
#                   maven:3.9-eclipse-temurin-N       the same + Debian's Maven
#                 tagged with the public names, so that the Dockerfile builds unchanged. Images already present
#                 are kept: on a machine that can reach Docker Hub, `podman pull` the real ones first and they
#                 are used instead. Sets JDK_VERSION to N.
#
# The stand-ins are not the real images (Debian instead of Ubuntu noble, a full JDK instead of a JRE, Maven 3.8
# instead of 3.9); what the image test checks (the commands, the ports, the user, signals) does not depend on that.
#
# Settings (environment): PODMAN (default "podman --runtime runc --cgroup-manager=cgroupfs": this VM has no crun
# and no systemd cgroup manager), DEBIAN_MIRROR (default: the host's apt mirror).

podman_setup() {
  local missing=()
  command -v podman >/dev/null 2>&1 || missing+=(podman)
  command -v runc >/dev/null 2>&1 || missing+=(runc)
  command -v debootstrap >/dev/null 2>&1 || missing+=(debootstrap)
  if [ "${#missing[@]}" -gt 0 ]; then
    apt_install "${missing[@]}" || die "could not install ${missing[*]} (apt-get, as root); install them and run again"
  fi
  PODMAN="${PODMAN:-podman --runtime runc --cgroup-manager=cgroupfs}"
  # Podman asks for larger limits than the host's hard limits (nofile 1048576; nproc over kernel.pid_max), which
  # this VM refuses ("error setting rlimit type 6/7: operation not permitted") for every container, a pod's infra
  # container included. A containers.conf with the host's own limits applies to all of them.
  if [ -z "${CONTAINERS_CONF:-}" ]; then
    local nofile nproc pidmax conf_dir
    nofile="$(ulimit -Hn)"; nproc="$(ulimit -Hu)"; pidmax="$(cat /proc/sys/kernel/pid_max 2>/dev/null || echo 32768)"
    [ "$nofile" = unlimited ] && nofile=1048576
    if [ "$nproc" = unlimited ] || [ "$nproc" -gt "$pidmax" ]; then nproc="$pidmax"; fi
    conf_dir="${TMPDIR:-/tmp}/vllm-router-podman"
    mkdir -p "$conf_dir"
    printf '[containers]\ndefault_ulimits = ["nofile=%s:%s", "nproc=%s:%s"]\n' \
      "$nofile" "$nofile" "$nproc" "$nproc" >"$conf_dir/containers.conf"
    export CONTAINERS_CONF="$conf_dir/containers.conf"
  fi
}

base_images() {
  need_jdk
  JDK_VERSION="$(java_major "$JAVA_HOME/bin/java")"
  local jre="docker.io/library/eclipse-temurin:${JDK_VERSION}-jre-noble"
  local mvn="docker.io/library/maven:3.9-eclipse-temurin-${JDK_VERSION}"
  if $PODMAN image exists "$jre" && $PODMAN image exists "$mvn"; then
    return 0
  fi
  local work t0=$SECONDS
  work="$(mktemp -d "${TMPDIR:-/tmp}/vllm-router-bases.XXXXXX")"
  if ! $PODMAN image exists "$jre"; then
    local mirror="${DEBIAN_MIRROR:-$(awk '/^URIs:/ {print $2; exit}' /etc/apt/sources.list.d/debian.sources 2>/dev/null)}"
    say "base images: Debian bookworm root filesystem (debootstrap ${mirror:-default mirror}), a few minutes"
    debootstrap --variant=minbase bookworm "$work/rootfs" ${mirror:+"$mirror"} >"$work/debootstrap.log" 2>&1 \
      || { tail -20 "$work/debootstrap.log" >&2; rm -rf "$work"; die "debootstrap failed"; }
    tar -C "$work/rootfs" -c . | $PODMAN import -q - localhost/vllm-router-base/debian:bookworm >/dev/null \
      || { rm -rf "$work"; die "podman import failed"; }
    rm -rf "$work/rootfs"
    say "base images: $jre = Debian + $JAVA_HOME"
    mkdir -p "$work/ctx"
    cp -a "$JAVA_HOME" "$work/ctx/jdk"
    # The JDK's trust store is often a symbolic link into the host's /etc; copy what it points at. It also holds
    # whatever CA this machine's outgoing TLS needs, which Maven in the build stage needs to reach its repository.
    local cacerts="$JAVA_HOME/lib/security/cacerts"
    [ -f /etc/ssl/certs/java/cacerts ] && cacerts=/etc/ssl/certs/java/cacerts
    rm -f "$work/ctx/jdk/lib/security/cacerts"
    cp -L "$cacerts" "$work/ctx/jdk/lib/security/cacerts"
    cat >"$work/ctx/Containerfile.jre" <<'EOF'
FROM localhost/vllm-router-base/debian:bookworm
COPY jdk /opt/java/openjdk
ENV JAVA_HOME=/opt/java/openjdk \
    PATH=/opt/java/openjdk/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
    LANG=C.UTF-8
EOF
    $PODMAN build --isolation chroot --network host --pull=never -f "$work/ctx/Containerfile.jre" -t "$jre" \
      "$work/ctx" >"$work/build.log" 2>&1 || { tail -20 "$work/build.log" >&2; rm -rf "$work"; die "building $jre failed"; }
  fi
  if ! $PODMAN image exists "$mvn"; then
    say "base images: $mvn = $jre + Debian's Maven"
    mkdir -p "$work/ctx"
    cat >"$work/ctx/Containerfile.mvn" <<EOF
FROM $jre
RUN apt-get update -qq \\
 && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends maven >/dev/null \\
 && rm -rf /var/lib/apt/lists/*
EOF
    $PODMAN build --isolation chroot --network host --pull=never -f "$work/ctx/Containerfile.mvn" -t "$mvn" \
      "$work/ctx" >"$work/build.log" 2>&1 || { tail -20 "$work/build.log" >&2; rm -rf "$work"; die "building $mvn failed"; }
  fi
  rm -rf "$work"
  say "base images ready in $((SECONDS - t0)) s"
}

if [ "${BASH_SOURCE[0]}" = "$0" ]; then
  set -euo pipefail
  source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
  podman_setup
  base_images
  echo "CONTAINERS_CONF=$CONTAINERS_CONF $PODMAN"
fi
