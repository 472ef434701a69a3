#!/usr/bin/env bash
# Installs what labwright needs on a Debian/Ubuntu machine, as root, without prompts. Idempotent:
# a second run only checks. Usage: scripts/setup.sh [--quiet]
set -euo pipefail
cd "$(dirname "$0")/.."
quiet=${1:-}
say() { [ "$quiet" = --quiet ] || echo "setup: $*"; }

[ "$(id -u)" = 0 ] || { echo "setup: run as root (sudo $0): it installs Debian packages" >&2; exit 3; }

# Debian packages (tool -> package in topology/run/preflight.ts says which tool needs which)
PKGS=(iproute2 iputils-ping traceroute nftables tcpdump dnsmasq-base busybox procps util-linux ca-certificates
      ethtool openvswitch-common openvswitch-switch ovn-common ovn-central ovn-host
      iptables curl iputils-arping
      docker.io debootstrap debian-archive-keyring tar openssh-client libxml2-utils)
# Installing a package must not start its service on this machine (openvswitch-switch, incus...):
# a policy-rc.d that denies every start, for the time of the install, unless one exists already.
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

# The real Incus (incusd + LXC, and the client) for labs with `software: [incus]`. Debian 12: 6.0
# from bookworm-backports (the suite is added if apt has none); Ubuntu 24.04: its own incus-base
# (6.0); Ubuntu 22.04 has no Incus package (labs with Incus members then stop at preflight, exit 3).
if ! { [ -x /usr/libexec/incus/incusd ] && command -v incus >/dev/null; }; then
  export DEBIAN_FRONTEND=noninteractive
  guard_services
  . /etc/os-release
  if [ "${ID:-}" = debian ] && [ "${VERSION_CODENAME:-}" = bookworm ]; then
    if ! grep -rqs "bookworm-backports" /etc/apt/sources.list /etc/apt/sources.list.d/; then
      # (grep exits 2 when one of the files is absent, as /etc/apt/sources.list is on deb822-only systems)
      mirror=$({ grep -hs '^\(URIs:\|deb \)' /etc/apt/sources.list.d/debian.sources /etc/apt/sources.list || true; } | grep -o 'https\?://[^ ]*' | grep -v security | head -1 || true)
      say "adding bookworm-backports (${mirror:-http://deb.debian.org/debian}) for Incus"
      echo "deb ${mirror:-http://deb.debian.org/debian} bookworm-backports main" >/etc/apt/sources.list.d/labwright-bookworm-backports.list
    fi
    say "installing Incus from bookworm-backports (incus-base, incus-client)"
    apt-get update -qq
    apt-get install -y -qq -t bookworm-backports --no-install-recommends incus-base incus-client >/dev/null
  else
    say "installing Incus (incus-base, incus-client)"
    apt-get update -qq
    apt-get install -y -qq --no-install-recommends incus-base incus-client >/dev/null || echo "setup: Incus is not installable here: labs with Incus members will stop at preflight" >&2
  fi
fi

# The real OpenStack networking for labs with `software: [kolla]`: neutron's server and its OVS, L3
# and DHCP agents, the openstack client, and what kolla deploys beside them (MariaDB, RabbitMQ,
# haproxy for the metadata proxies, conntrack for the firewall). Their system services are left
# disabled where a service manager runs: labwright starts its own, inside each lab.
OPENSTACK=(neutron-server neutron-openvswitch-agent neutron-l3-agent neutron-dhcp-agent python3-openstackclient
           mariadb-server python3-pymysql rabbitmq-server haproxy conntrack)
if install_missing "the real OpenStack networking (neutron, its agents, MariaDB, RabbitMQ)" "${OPENSTACK[@]}"; then
  if [ -d /run/systemd/system ]; then
    systemctl disable --now rabbitmq-server mariadb neutron-api neutron-rpc-server neutron-openvswitch-agent neutron-l3-agent \
      neutron-dhcp-agent neutron-metadata-agent haproxy >/dev/null 2>&1 || true
  fi
fi

# nova, placement and glance for labs whose globals.yml sets kolla's enable_nova_fake (their Python
# packages only: labwright runs the daemons; python3-nova pulls open-iscsi, whose services stay off).
NOVA=(python3-nova python3-placement python3-glance python3-fixtures uwsgi-core uwsgi-plugin-python3)
if install_missing "the real nova, placement and glance (for enable_nova_fake)" "${NOVA[@]}"; then
  if [ -d /run/systemd/system ]; then
    systemctl disable --now iscsid.socket iscsid open-iscsi >/dev/null 2>&1 || true
  fi
fi

# The lab image server's image is built from Debian's busybox-static (downloaded, not installed:
# it conflicts with busybox); fetching it now spares the first lab run the download.
if ! ls /var/cache/labwright/incus-images/debian-busybox-*.tar.gz >/dev/null 2>&1; then
  apt-cache policy busybox-static 2>/dev/null | grep -q "Candidate: [0-9]" || apt-get update -qq
fi

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
