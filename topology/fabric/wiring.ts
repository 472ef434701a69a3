import type { Lab, NodeSpec } from "../model/types.ts";
import { batchLine } from "../run/tokens.ts";

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
      const mtu = i.mtu ? ["mtu", i.mtu] : [];
      const mac = i.mac ? ["address", i.mac] : [];
      lines.push(
        batchLine(
          "link",
          "add",
          fabricPort(ni, ii),
          "netns",
          fabricNs,
          "index",
          index++,
          ...mtu,
          "type",
          "veth",
          "peer",
          "name",
          i.name,
          "netns",
          nsOf(n.name),
          ...mac,
          ...mtu,
        ),
      );
    }),
  );
  return lines.join("");
}

export const FABRIC_IFINDEX_BASE = 1000;

/** `ip -n <fabric> -batch` lines: one bridge per LAN, every fabric-side veth end enslaved and up. */
export function fabricBatch(lab: Lab): string {
  const lines: string[] = [batchLine("link", "set", "lo", "up")];
  const lanIndex = new Map(lab.lans.map((l, k) => [l.name, k]));
  lab.lans.forEach((_, k) => {
    lines.push(
      batchLine("link", "add", lanBridge(k), "type", "bridge", "stp_state", 0, "forward_delay", 0),
      batchLine("link", "set", lanBridge(k), "up"),
    );
  });
  lab.nodes.forEach((n, ni) =>
    n.interfaces.forEach((i, ii) => {
      const port = fabricPort(ni, ii);
      lines.push(batchLine("link", "set", port, "master", lanBridge(lanIndex.get(i.lan)!)), batchLine("link", "set", port, "up"));
    }),
  );
  return lines.join("");
}

/** `ip -n <node> -batch` lines: addresses, links up, then routes. */
export function nodeBatch(node: NodeSpec): string {
  const lines = [batchLine("link", "set", "lo", "up")];
  // The node's own Linux bridges (netplan's `bridges:`), each with its NICs as ports; a bridged NIC's address is the bridge's.
  for (const br of new Set(node.interfaces.flatMap((i) => (i.bridge ? [i.bridge] : []))))
    lines.push(batchLine("link", "add", br, "type", "bridge"), batchLine("link", "set", br, "up"));
  for (const i of node.interfaces) {
    if (i.bridge) lines.push(batchLine("link", "set", i.name, "master", i.bridge));
    if (i.address) lines.push(batchLine("addr", "add", `${i.address}/${i.prefix}`, "dev", i.bridge ?? i.name));
    lines.push(batchLine("link", "set", i.name, "up"));
  }
  for (const r of node.routes) {
    lines.push(batchLine("route", "add", r.to, ...(r.via ? ["via", r.via] : []), ...(r.dev ? ["dev", r.dev] : [])));
  }
  return lines.join("");
}

/** Bridge ports not yet forwarding, from `bridge -j link` output. */
export function portsNotForwarding(bridgeJson: string): string[] {
  const ports = JSON.parse(bridgeJson || "[]") as { ifname: string; state?: string }[];
  return ports.filter((p) => p.state !== "forwarding").map((p) => `${p.ifname}:${p.state ?? "?"}`);
}
