import type { Host } from "../../backends/host.ts";
import { mustIn } from "../../backends/must.ts";
import type { NodeSpec } from "../../model/types.ts";
import { txOffScript } from "./daemons.ts";

/** The bridges of an `openvswitch` node (the lab's VLAN switch): userspace datapath, access and trunk ports, as argv. */
export function switchCommands(n: NodeSpec): string[][] {
  const cmds: string[][] = [];
  for (const [b, ports] of Object.entries(n.bridges)) {
    cmds.push(["ovs-vsctl", "--timeout=10", "--", "--may-exist", "add-br", b, "--", "set", "bridge", b, "datapath_type=netdev"]);
    for (const [p, v] of Object.entries(ports)) {
      const vlan = v.tag !== undefined ? [`tag=${v.tag}`] : v.trunks ? [`trunks=${v.trunks.join(",")}`] : [];
      cmds.push([
        "ovs-vsctl",
        "--timeout=10",
        "--",
        "--may-exist",
        "add-port",
        b,
        p,
        ...(vlan.length ? ["--", "set", "port", p, ...vlan] : []),
      ]);
    }
    cmds.push(["ip", "link", "set", b, "up"]);
  }
  return cmds;
}

/**
 * tx checksum offload off on both ends of every NIC of an OVS node (AF_PACKET ports leave TCP
 * checksums unfilled): the node's own ends, and the fabric's (`fabricPorts`).
 */
export async function txOff(n: NodeSpec, h: Host, fabric: Host, fabricPorts: readonly string[]): Promise<void> {
  await mustIn(h, ["bash", "-c", txOffScript(n.interfaces.map((i) => i.name))], `ethtool on ${n.name}`);
  await mustIn(fabric, ["bash", "-c", txOffScript(fabricPorts)], `ethtool on the fabric ports of ${n.name}`);
}
