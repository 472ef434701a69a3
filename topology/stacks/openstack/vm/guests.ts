import { join } from "node:path";
import type { Daemon, Host } from "../../../backends/host.ts";
import type { CommandResult } from "../../../run/exec.ts";
import { script } from "../../../run/tokens.ts";
import type { NeutronApi } from "../neutron/api.ts";

/**
 * A server's "VM" on this machine, for nova's stand-in and for the real nova's fake compute driver
 * alike (neither boots anything): once a port is bound to the node, the plugging os-vif does for the
 * binding neutron returns (vif_type ovs; with ovs_hybrid_plug, the qbr Linux bridge and the qvb/qvo
 * veth pair the iptables firewall needs, else the tap on br-int), the OVS port carrying iface-id,
 * attached-mac, iface-status and vm-uuid for the OVS agent, the tap libvirt would create — and, as
 * the guest, a network namespace named after the server whose eth0 (the tap's peer) has the port's
 * MAC and the network's MTU, configured by neutron's DHCP with busybox udhcpc as a cirros guest is
 * (address, MTU, classless static routes or router, DNS), listening on TCP 22 as cirros's dropbear
 * does (a one-line banner, nothing behind it).
 */

export interface Server {
  name: string;
  id: string;
  portId: string;
  address?: string;
}

export interface GuestHost {
  readonly node: string;
  /** The node's hostname: the binding host neutron's agents report under. */
  readonly hostname: string;
  readonly api: NeutronApi;
  /** A command in the node (its network namespace, with its OVS environment): os-vif's plugging. */
  exec(argv: string[], timeoutS?: number): Promise<CommandResult>;
  /** A namespace of the node, usable by name like a node. */
  createGuest(name: string): Promise<Host>;
  /** A veth pair: `hostIf` in the node, `guestIf` with `mac` in the guest; both up. */
  addPort(guest: string, hostIf: string, guestIf: string, mac: string, mtu: number): Promise<void>;
  removeGuest(name: string): Promise<void>;
  /** Starts a daemon in a guest, recorded for teardown. */
  spawnIn(guest: string, name: string, argv: string[]): Daemon;
}

export interface Port {
  id: string;
  mac_address: string;
  network_id: string;
  status: string;
  device_id: string;
  device_owner: string;
  fixed_ips: { ip_address: string; subnet_id: string }[];
  "binding:host_id": string;
  "binding:vif_type": string;
  "binding:vif_details": { ovs_hybrid_plug?: boolean; bridge_name?: string };
}

/** A server that cannot be given its VM (the message is what the step reports). */
export class VmError extends Error {}

/** The guest's DHCP client script (busybox udhcpc calls it with the lease in its environment). */
const DHCP_SCRIPT = `#!/bin/sh
# labwright's stand-in VM: the lease applied as a cloud image's DHCP client applies it.
case "$1" in
bound|renew)
  ip addr flush dev "$interface"
  ip addr add "$ip/$mask" dev "$interface"
  [ -n "$mtu" ] && ip link set dev "$interface" mtu "$mtu"
  if [ -n "$staticroutes" ]; then
    # option 121 (neutron sends it with its metadata route): the router option is then ignored (RFC 3442)
    set -- $staticroutes
    while [ $# -ge 2 ]; do ip route replace "$1" via "$2" dev "$interface"; shift 2; done
  else
    for r in $router; do ip route replace default via "$r" dev "$interface"; break; done
  fi
  : > /etc/resolv.conf
  [ -n "$domain" ] && echo "search $domain" >> /etc/resolv.conf
  for d in $dns; do echo "nameserver $d" >> /etc/resolv.conf; done
  echo "options timeout:1 attempts:2" >> /etc/resolv.conf
  echo "bound $ip/$mask"
  ;;
esac
`;

export class Guests {
  readonly servers = new Map<string, Server>();
  private readonly guests = new Map<string, Host>();

  constructor(private readonly h: GuestHost) {}

  /**
   * The VM of server `name` on its bound port: plugged, the port ACTIVE (nova's network-vif-plugged),
   * the guest's DHCP lease taken. On failure nothing of it is left.
   */
  async attach(name: string, serverId: string, port: Port): Promise<Server> {
    if (port["binding:vif_type"] !== "ovs") {
      throw new VmError(
        `Build of instance ${serverId} aborted: port ${port.id} binding on ${this.h.hostname}: vif_type ${port["binding:vif_type"]} (neutron could not bind it: is the OVS agent alive and does its bridge_mappings have the network's physical network?)`,
      );
    }
    const server: Server = { name, id: serverId, portId: port.id };
    try {
      const mtu = (await this.h.api.get<{ network: { mtu: number } }>(`/networks/${port.network_id}`)).network.mtu;
      await this.plug(name, serverId, port, mtu);
      await this.awaitActive(port.id);
      this.servers.set(name, server);
      server.address = await this.dhcp(name);
    } catch (e) {
      await this.detach(name, port.id);
      throw e;
    }
    return server;
  }

  /** Unplugs a server's port and removes its VM. */
  async detach(name: string, portId: string): Promise<void> {
    this.servers.delete(name);
    if (this.guests.delete(name)) await this.h.removeGuest(name).catch(() => {});
    await this.unplug(portId);
  }

  /** os-vif's plug for vif_type ovs (hybrid or not), and the tap libvirt would create, its peer the guest's eth0. */
  private async plug(name: string, serverId: string, port: Port, mtu: number): Promise<void> {
    const dev = port.id.slice(0, 11);
    const tap = `tap${dev}`;
    const hybrid = port["binding:vif_details"].ovs_hybrid_plug === true;
    const bridge = port["binding:vif_details"].bridge_name ?? "br-int";
    const ovsPort = hybrid ? `qvo${dev}` : tap;
    this.guests.set(name, await this.h.createGuest(name));
    await this.h.addPort(name, tap, "eth0", port.mac_address, mtu);
    if (hybrid) {
      await this.sh(
        [
          script`ip link add qbr${dev} type bridge`,
          script`ip link set qbr${dev} up`,
          script`ip link add qvb${dev} mtu ${mtu} type veth peer name qvo${dev} mtu ${mtu}`,
          script`ip link set qvb${dev} master qbr${dev}`,
          script`ip link set qvb${dev} up`,
          script`ip link set qvo${dev} up`,
          script`ip link set ${tap} master qbr${dev}`,
        ].join("\n"),
        "os-vif hybrid plug",
      );
    }
    const r = await this.h.exec(
      [
        "ovs-vsctl",
        "--timeout=30",
        "--",
        "--may-exist",
        "add-port",
        bridge,
        ovsPort,
        "--",
        "set",
        "Interface",
        ovsPort,
        `external_ids:iface-id=${port.id}`,
        "external_ids:iface-status=active",
        `external_ids:attached-mac=${port.mac_address}`,
        `external_ids:vm-uuid=${serverId}`,
      ],
      60,
    );
    if (r.exitCode !== 0) throw new Error(`os-vif: ovs-vsctl add-port ${bridge} ${ovsPort}: ${r.stderr.trim()}`);
  }

  private async unplug(portId: string): Promise<void> {
    const dev = portId.slice(0, 11);
    await this.h.exec(
      ["ovs-vsctl", "--timeout=30", "--if-exists", "del-port", `qvo${dev}`, "--", "--if-exists", "del-port", `tap${dev}`],
      60,
    );
    await this.h.exec(
      [
        "bash",
        "-c",
        [script`ip link del qvb${dev}`, script`ip link del qbr${dev}`, script`ip link del tap${dev}`]
          .map((l) => `${l} 2>/dev/null`)
          .join("; ") + "; true",
      ],
      30,
    );
  }

  private async sh(text: string, what: string): Promise<void> {
    const r = await this.h.exec(["bash", "-c", `set -e\n${text}`], 30);
    if (r.exitCode !== 0) throw new Error(`${what} on ${this.h.node}: ${r.stderr.trim()}`);
  }

  /** nova waits for network-vif-plugged: neutron has the port ACTIVE once its agent wired it and DHCP has it. */
  private async awaitActive(portId: string, timeoutMs = 120_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const p = (await this.h.api.get<{ port: Port }>(`/ports/${portId}`)).port;
      if (p.status === "ACTIVE") return;
      if (Date.now() > deadline)
        throw new VmError(
          `Build of instance aborted: port ${portId} still ${p.status} after ${timeoutMs / 1000} s (nova's vif_plugging_timeout: neutron never reported it plugged)`,
        );
      await new Promise((r) => setTimeout(r, 200));
    }
  }

  /** The guest's DHCP client; then its TCP 22 listener. Returns the leased address. */
  private async dhcp(name: string): Promise<string | undefined> {
    const guest = this.guests.get(name);
    if (!guest) throw new Error(`server ${name} has no namespace`);
    const file = join(guest.stateDir, "udhcpc.script");
    await guest.writeFile(file, DHCP_SCRIPT);
    await guest.exec(["chmod", "700", file], { timeoutS: 10 });
    const r = await guest.exec(["busybox", "udhcpc", "-i", "eth0", "-f", "-q", "-n", "-t", "10", "-T", "1", "-A", "1", "-s", file], {
      timeoutS: 60,
    });
    const m = /^bound (\d+\.\d+\.\d+\.\d+)\//m.exec(r.stdout);
    if (r.exitCode !== 0 || !m)
      throw new VmError(`server ${name}: no DHCP answer from neutron's dnsmasq: ${(r.stderr || r.stdout).trim().split("\n").pop()}`);
    this.h.spawnIn(name, "dropbear-standin", ["busybox", "nc", "-ll", "-p", "22", "-e", "/bin/echo", "SSH-2.0-labwright-standin-vm"]);
    return m[1];
  }
}
