#!/bin/bash
# What the openvswitch kernel module would do, on a node whose OVS runs the userspace datapath
# (this machine's kernel has no openvswitch module). Run by labwright inside one node, with the
# node's OVS environment (OVS_RUNDIR...). Fixed text: nothing from a lab file is interpolated; the
# node's NIC names arrive as arguments, already checked against the interface-name grammar.
#
#   kernel-datapath.sh once  NIC...   one pass, then exit (after a step labwright ran)
#   kernel-datapath.sh watch NIC...   a pass now and after every change to the switch database,
#                                     for the life of the node (OVSDB monitors, no polling)
#
# A pass:
# - gives every bridge the netdev datapath (a bridge with the default `system` datapath never gets
#   its interface without the module: Incus's "Bridge interface failed to appear");
# - when external_ids:ovn-encap-ip names an address held by one of the node's NICs, makes that NIC
#   a port of br-phy and puts the address on br-phy too (userspace tunnels only leave through an
#   OVS internal port); the NIC keeps its address as `ip` shows it;
# - when that address is held by a Linux bridge (the how-to's unmanaged bridge that took over the
#   NIC and its address), joins br-phy to the bridge's host side instead: a veth pair whose OVS end
#   is a port of br-phy, and two nftables `fwd` hooks, so that what the Linux bridge delivers to the
#   host goes to br-phy, and what br-phy sends leaves as the host's own frames through the bridge.
#   br-phy takes the bridge's MAC; the bridge keeps its address as `ip` shows it (a kernel-OVS
#   geneve port would send through the bridge, which is what this carries);
# - keeps an ingress drop filter on each NIC that is an OVS port: with the kernel module the bridge
#   takes the NIC's frames and the node's IP stack no longer sees them (with AF_PACKET both would);
# - turns tx checksum offload off on every veth that joins OVS (an instance's NIC): AF_PACKET
#   ports would otherwise forward TCP/UDP with unfilled checksums.
set -u
mode=${1:?once or watch}
pending=0
shift
nics=("$@")
dir=${OVS_RUNDIR:?the node OVS environment}
CARRIER=br-phy
# The veth pair joining br-phy to a Linux bridge's host side: OVS end, host end.
CARRIER_OVS=br-phy-ovs
CARRIER_HOST=br-phy-host
TABLE=labwright_ovsports
FWD_TABLE=labwright_carrier

# A once pass prints what it changed (labwright's event log) and adds it to the watcher's log (opened
# for appending), marked, so the file holds every change to the node in time order.
log() {
  local line
  line="$(date -u +%H:%M:%S.%3N) $*"
  printf '%s\n' "$line"
  [[ $mode == once ]] && printf '%s (a pass after a step)\n' "$line" >>"$dir/kernel-datapath.log"
  return 0
}
vsctl() { ovs-vsctl --timeout=10 "$@"; }
# The nft line that keeps the node's IP stack from receiving what port $1 receives (OVS still does:
# AF_PACKET sees frames before the ingress hook).
drop_chain() { printf 'add chain netdev %s %s { type filter hook ingress device "%s" priority 0; policy drop; }' "$TABLE" "$1" "$1"; }
# Interfaces that are plain devices (NICs, veths): an empty or "system" type.
system_ports() { vsctl -f csv --no-headings --columns=name,type list interface | awk -F, '{ t = $2; gsub(/"/, "", t); n = $1; gsub(/"/, "", n); if (t == "" || t == "system") print n }'; }
is_nic() {
  local n
  for n in "${nics[@]}"; do [[ $n == "$1" ]] && return 0; done
  return 1
}

datapaths() {
  local b
  for b in $(vsctl --bare --columns=name find bridge 'datapath_type!=netdev'); do
    vsctl set bridge "$b" datapath_type=netdev && log "bridge $b: datapath_type=netdev (userspace datapath)"
  done
}

carrier() {
  local ip holder prefix mac routes line port
  ip=$(vsctl --if-exists get open_vswitch . external_ids:ovn-encap-ip 2>/dev/null | tr -d '"')
  [[ -n $ip ]] || return 0
  vsctl br-exists "$CARRIER" && return 0
  read -r holder prefix < <(ip -o -4 addr show | awk -v ip="$ip" '{ split($4, a, "/"); if (a[1] == ip) { print $2, a[2]; exit } }')
  [[ -n ${holder:-} ]] || return 0
  if is_nic "$holder"; then
    grep -qx -- "$holder" <<<"$ports_now" && return 0
    port=$holder
  elif [[ -d /sys/class/net/$holder/bridge ]]; then
    ip link add "$CARRIER_HOST" type veth peer name "$CARRIER_OVS" || return 1
    # The OVS end's drop filter comes before the link is up, not in the filters pass after: once the
    # bridge's host side is forwarded into the veth, every broadcast of the LAN arrives on the OVS end
    # too, and the node's IP stack answered ARP requests for its own address there, with that end's
    # MAC, which no bridge forwards to. Measured: a neighbour on the LAN learned that MAC for the
    # member (26 of 895 replies to an arping every few ms during the move) and lost it for 8 s, its
    # raft connections to the member with it ("no response to inactivity probe").
    printf 'table netdev %s {}\n%s\n' "$TABLE" "$(drop_chain "$CARRIER_OVS")" | nft -f - || return 1
    log "$CARRIER_OVS is an OVS port: the node's IP stack no longer receives its frames"
    ip link set "$CARRIER_HOST" up && ip link set "$CARRIER_OVS" up || return 1
    port=$CARRIER_OVS
  else
    return 0
  fi
  mac=$(cat "/sys/class/net/$holder/address")
  routes=$(ip -4 -o route show dev "$holder")
  vsctl --may-exist add-br "$CARRIER" -- set bridge "$CARRIER" datapath_type=netdev "other_config:hwaddr=$mac" -- --may-exist add-port "$CARRIER" "$port" || return 1
  if [[ $port == "$CARRIER_OVS" ]]; then
    printf 'table netdev %s {\n chain up { type filter hook ingress device "%s" priority 0; fwd to "%s"; }\n chain down { type filter hook ingress device "%s" priority 0; fwd to "%s"; }\n}\n' \
      "$FWD_TABLE" "$holder" "$CARRIER_HOST" "$CARRIER_HOST" "$holder" | nft -f - || log "nft: could not join $CARRIER to bridge $holder"
  fi
  ip addr replace "$ip/$prefix" dev "$CARRIER"
  ip link set "$CARRIER" up
  while read -r line; do
    [[ -n $line ]] || continue
    if [[ $line == *"proto kernel"* ]]; then
      ip route del ${line%% *} dev "$holder" 2>/dev/null
    else
      # `ip route show dev X` leaves `dev X` out of each line: the same route, now through the carrier.
      # shellcheck disable=SC2086 # a route as ip printed it: its words are ip's own
      ip route replace $line dev "$CARRIER" || log "could not move the route '$line' from $holder to $CARRIER"
    fi
  done <<<"$routes"
  moved=1
  if [[ $port == "$CARRIER_OVS" ]]; then
    log "tunnel endpoint $ip: bridge $holder's host side now goes through $CARRIER, which carries the address"
  else
    log "tunnel endpoint $ip: $holder is now a port of $CARRIER, which carries the address"
  fi
}

filters() {
  local ports have p lines=()
  ports=$ports_now
  have=$(nft list table netdev "$TABLE" 2>/dev/null | awk '$1 == "chain" { print $2 }')
  for p in $ports; do
    is_nic "$p" || [[ $p == "$CARRIER_OVS" ]] || continue
    grep -qx -- "$p" <<<"$have" && continue
    lines+=("$(drop_chain "$p")")
    log "$p is an OVS port: the node's IP stack no longer receives its frames"
  done
  for p in $have; do
    grep -qx -- "$p" <<<"$ports" && continue
    lines+=("delete chain netdev $TABLE $p")
    log "$p left OVS: the node's IP stack receives its frames again"
  done
  ((${#lines[@]})) || return 0
  printf 'table netdev %s {}\n%s\n' "$TABLE" "$(printf '%s\n' "${lines[@]}")" | nft -f - || log "nft: could not update the port filters"
}

# The end of a veth that went into an instance: LXC moves it from this namespace into the
# instance's at start, so it is either still here or in the namespace of one of its processes.
# Interface indexes are per namespace: another node's instance can have the same "8: eth0@if9"
# pair, so a device elsewhere counts only if `ip` names this node's namespace as its peer's.
peer_tx_off() {
  local p=$1 idx peer dev me ns path seen=" " mine
  idx=$(cat "/sys/class/net/$p/ifindex")
  peer=$(ethtool -S "$p" 2>/dev/null | awk '$1 == "peer_ifindex:" { print $2 }')
  [[ -n $peer ]] || return 0
  dev=$(ip -o link show | awk -F': ' -v i="$peer" '$1 == i { sub(/@.*/, "", $2); print $2 }')
  if [[ -n $dev ]]; then
    ethtool -K "$dev" tx off >/dev/null 2>&1
    return
  fi
  me=$(readlink /proc/self/ns/net)
  read -r mine _ < <(ip netns identify 2>/dev/null)
  while read -r ns path; do
    [[ $ns == "$me" || $seen == *" $ns "* ]] && continue
    seen+="$ns "
    dev=$(nsenter --net="$path" ip -o link show 2>/dev/null | awk -F': ' -v i="$peer" -v me="@if$idx" -v home="${mine:+link-netns $mine}" \
      '$1 == i && index($2, me) && (home == "" || index($0 " ", home " ")) { sub(/@.*/, "", $2); print $2 }')
    if [[ -n $dev ]]; then
      nsenter --net="$path" ethtool -K "$dev" tx off >/dev/null 2>&1
      return
    fi
  done < <(find /proc -maxdepth 3 -path '/proc/[0-9]*/ns/net' -printf '%l %p\n' 2>/dev/null)
  return 1
}

offload() {
  local p
  pending=0
  for p in $ports_now; do
    is_nic "$p" && continue
    [[ -e /sys/class/net/$p ]] || continue
    [[ -e $dir/offload-$p ]] && continue
    if ethtool -K "$p" tx off >/dev/null 2>&1 && peer_tx_off "$p"; then
      : >"$dir/offload-$p"
      log "$p joined OVS: tx checksum offload off on both ends"
    else
      pending=1
    fi
  done
}

pass() {
  exec 9>"$dir/kernel-datapath.lock"
  flock 9
  datapaths
  ports_now=$(system_ports)
  moved=0
  carrier
  ((moved)) && ports_now=$(system_ports)
  filters
  offload
  flock -u 9
}

case $mode in
once) pass ;;
watch)
  pass
  # One line per change of a bridge, an interface or the OVN settings; a burst is one pass.
  {
    ovsdb-client monitor "unix:$dir/db.sock" Open_vSwitch Bridge name,datapath_type &
    ovsdb-client monitor "unix:$dir/db.sock" Open_vSwitch Interface name,type,ofport &
    ovsdb-client monitor "unix:$dir/db.sock" Open_vSwitch Open_vSwitch external_ids &
    wait
  } | while :; do
    # Wait for a change; while an instance's end of a veth is not yet found, look again each second.
    if read -r -t "$((pending ? 1 : 3600))" _; then
      while read -r -t 0.05 _; do :; done
    elif (($? <= 128)); then
      break # the monitors ended: the switch database is gone
    fi
    pass
  done
  ;;
*) echo "usage: $0 once|watch NIC..." >&2; exit 2 ;;
esac
