import type { Lab, NodeSpec } from "../model/types.ts";

/** Names of the fabric's own devices: short, unique within the run's fabric namespace. */
export const lanBridge = (lanIndex: number) => `br${lanIndex}`;
export const fabricPort = (nodeIndex: number, ifIndex: number) => `n${nodeIndex}i${ifIndex}`;

/**
 * `ip -batch` lines, run in the root namespace, that create each veth pair with one end directly in
 * the fabric namespace and the other in the node's namespace (the root namespace never holds them).
 *
 * Fabric ends get explicit ifindexes from 1000 up. A veth whose ifindex equals its peer's (easy when
 * both sit in fresh namespaces) has its carrier changes treated as non-urgent by the kernel's
 * linkwatch and delayed up to a second, which loses the lab's first packets.
 */
export function vethBatch(lab: Lab, nsOf: (node: string) => string, fabricNs: string): string {
  const lines: string[] = [];
  let index = FABRIC_IFINDEX_BASE;
  lab.nodes.forEach((n, ni) =>
    n.interfaces.forEach((i, ii) => {
      const mtu = i.mtu ? ` mtu ${i.mtu}` : "";
      lines.push(
        `link add ${fabricPort(ni, ii)} netns ${fabricNs} index ${index++}${mtu} type veth peer name ${i.name} netns ${nsOf(n.name)}${i.mac ? ` address ${i.mac}` : ""}${mtu}`,
      );
    }),
  );
  return lines.map((l) => l + "\n").join("");
}

export const FABRIC_IFINDEX_BASE = 1000;

/** `ip -n <fabric> -batch` lines: one bridge per LAN, every fabric-side veth end enslaved and up. */
export function fabricBatch(lab: Lab): string {
  const lines: string[] = ["link set lo up"];
  const lanIndex = new Map(lab.lans.map((l, k) => [l.name, k]));
  lab.lans.forEach((_, k) => {
    lines.push(`link add ${lanBridge(k)} type bridge stp_state 0 forward_delay 0`, `link set ${lanBridge(k)} up`);
  });
  lab.nodes.forEach((n, ni) =>
    n.interfaces.forEach((i, ii) => {
      const port = fabricPort(ni, ii);
      lines.push(`link set ${port} master ${lanBridge(lanIndex.get(i.lan)!)}`, `link set ${port} up`);
    }),
  );
  return lines.map((l) => l + "\n").join("");
}

/** `ip -n <node> -batch` lines: addresses, links up, then routes. */
export function nodeBatch(node: NodeSpec): string {
  const lines = ["link set lo up"];
  for (const i of node.interfaces) {
    if (i.address) lines.push(`addr add ${i.address}/${i.prefix} dev ${i.name}`);
    lines.push(`link set ${i.name} up`);
  }
  for (const r of node.routes) {
    lines.push(`route add ${r.to}${r.via ? ` via ${r.via}` : ""}${r.dev ? ` dev ${r.dev}` : ""}`);
  }
  return lines.map((l) => l + "\n").join("");
}

/** Sysctls every node gets before its own: the labs are IPv4, and IPv6 autoconfiguration only adds noise. */
export const BASE_SYSCTLS: Record<string, string> = {
  "net.ipv6.conf.all.disable_ipv6": "1",
  "net.ipv6.conf.default.disable_ipv6": "1",
};

/** Bridge ports not yet forwarding, from `bridge -j link` output. */
export function portsNotForwarding(bridgeJson: string): string[] {
  const ports = JSON.parse(bridgeJson || "[]") as { ifname: string; state?: string }[];
  return ports.filter((p) => p.state !== "forwarding").map((p) => `${p.ifname}:${p.state ?? "?"}`);
}
