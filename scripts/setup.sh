#!/usr/bin/env bash
# Installs what labwright needs on a Debian/Ubuntu machine, as root, without prompts: a few tools
# (no daemon of the labs: they run from labwright's toolchain, which the first lab run or the
# suites build), Docker's engine, and the npm dependencies. Idempotent: a second run only checks.
# Usage: scripts/setup.sh [--quiet]
set -euo pipefail
cd "$(dirname "$0")/.."
quiet=${1:-}
say() { [ "$quiet" = --quiet ] || echo "setup: $*"; }

[ "$(id -u)" = 0 ] || { echo "setup: run as root (sudo $0): it installs Debian packages" >&2; exit 3; }

# What this machine itself needs (topology/run/preflight.ts says which tool needs which): the
# namespaces, veths and bridges and the runs' roots (iproute2, util-linux), the lab's CA (openssl), building the toolchain
# (debootstrap and Debian's keyring; tar and zstd for its export), the container backend's engine,
# and what the suites read on this machine (tcpdump for captures, xmllint for JUnit, ssh-keygen,
# nft and sysctl for the root namespace's snapshot). The labs' own software (Incus, LXC, OVS, OVN,
# neutron, nova, MariaDB, RabbitMQ, dnsmasq, busybox...) is not installed here: it is the
# toolchain's (topology/toolchains/), built once per machine under /var/cache/labwright/toolchain.
# ping, traceroute and getent stay for labs with `toolchain: host` (this machine's own tools).
PKGS=(iproute2 util-linux mount procps nftables tcpdump iputils-ping traceroute ca-certificates
      openssl debootstrap debian-archive-keyring tar zstd docker.io openssh-client libxml2-utils)
# Installing a package must not start its service on this machine (docker.io's, where a service
# manager runs): a policy-rc.d that denies every start, for the time of the install, unless one exists already.
guard_services() {
  [ -e /usr/sbin/policy-rc.d ] && return 0
  printf '#!/bin/sh\n# labwright setup: no service starts while packages install\nexit 101\n' >/usr/sbin/policy-rc.d
  chmod 755 /usr/sbin/policy-rc.d
  trap 'rm -f /usr/sbin/policy-rc.d' EXIT
}

# Installs those of the given packages that are not installed yet; returns 1 when none was missing.
# (Called from conditions, where `set -e` does not act: a failed apt-get ends the script here.)
install_missing() {
  local what=$1 p missing=()
  shift
  # One dpkg-query for all of them (one per package cost 0.9 s of every `scripts/labwright` call).
  local installed
  installed=$(dpkg-query -W -f='${Package} ${Status}\n' "$@" 2>/dev/null | awk '/ ok installed$/ { print $1 }' || true)
  for p in "$@"; do grep -qxF "$p" <<<"$installed" || missing+=("$p"); done
  [ ${#missing[@]} -gt 0 ] || return 1
  say "installing $what: ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  guard_services
  apt-get update -qq || { echo "setup: apt-get update failed" >&2; exit 1; }
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null || { echo "setup: installing ${missing[*]} failed" >&2; exit 1; }
}

install_missing "Debian packages" "${PKGS[@]}" || true

# The container backend's Docker engine. Where no service manager started one, start dockerd here,
# configured never to touch the root namespace: no iptables rules, no ip_forward, no docker0 bridge
# (labwright's containers have no Docker network: the lab's own veths are moved into them).
if ! docker info >/dev/null 2>&1; then
  if command -v dockerd >/dev/null; then
    say "starting dockerd (no iptables, no forwarding, no bridge; log: /var/log/labwright-dockerd.log)"
    setsid dockerd --iptables=false --ip6tables=false --ip-forward=false --ip-masq=false --bridge=none \
      >>/var/log/labwright-dockerd.log 2>&1 </dev/null &
    for _ in $(seq 1 100); do docker info >/dev/null 2>&1 && break; sleep 0.2; done
    docker info >/dev/null 2>&1 || echo "setup: dockerd did not start (see /var/log/labwright-dockerd.log): the container backend will be unavailable" >&2
  fi
fi

# Node.js >= 20.19 (Debian 12's nodejs is 18: too old)
if ! command -v node >/dev/null; then
  echo "setup: Node.js >= 20.19 is required and not installed (Debian 12's 'nodejs' package is 18.x; use Node 20, 22 or 24 from nodejs.org or your distribution's backports)" >&2
  exit 3
fi
if ! node -e 'const [a,b]=process.versions.node.split(".").map(Number); process.exit(a>20||(a===20&&b>=19)?0:1)'; then
  echo "setup: Node.js $(node --version) is too old: labwright needs >= 20.19" >&2
  exit 3
fi

# npm dependencies, from the lock file
if [ ! -d node_modules ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  say "installing npm dependencies (npm ci)"
  npm ci --no-audit --no-fund --loglevel=error >/dev/null
fi
say "ready"
