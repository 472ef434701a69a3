import { join } from "node:path";
import type { Lab, NodeSpec } from "../../model/types.ts";
import { ovsDir, ovsEnv, ovsLogSources } from "../ovs/daemons.ts";
import { kernelDatapathPass } from "../ovs/kernel-datapath.ts";
import { OVS_BASE_TOOLS, OVS_TOOL_PACKAGES } from "../ovs/index.ts";
import { txOff } from "../ovs/switch.ts";
import type { Stack } from "../stack.ts";
import { openstackPaths } from "./kolla/config.ts";
import { kollaEnv } from "./kolla/node.ts";
import { neutronVersion, openstackLogSources } from "./neutron/services.ts";

/**
 * OpenStack as kolla-ansible deploys it (`kolla`): nothing runs until the lab's `kolla: deploy`
 * step, which follows kolla's plays (kolla/) and starts the real MariaDB, RabbitMQ, Open vSwitch and
 * neutron (neutron/); nova, which cannot run here, has a stand-in (standins/nova.ts).
 */
export const openstackStack: Stack = {
  name: "OpenStack (kolla-ansible)",
  software: ["kolla"],
  tools: () => [
    ...OVS_BASE_TOOLS,
    "ovs-vswitchd",
    "ovs-vsctl",
    "ovs-ofctl",
    "ovsdb-client",
    "flock",
    "iptables",
    "curl",
    "busybox",
    "unshare",
    "nsenter",
    "cp",
  ],
  toolPackages: OVS_TOOL_PACKAGES,
  version: (root) => ["neutron", neutronVersion(root)],
  // kolla's openvswitch containers: the node's OVS, found as the ovs stack's; the client's cloud.
  env: (nodeDir) => ({ ...ovsEnv(join(nodeDir, "ovs")), ...kollaEnv(nodeDir) }),
  async start(ctx) {
    // The daemons start at `kolla-ansible deploy`; the node's NICs are made ready for its OVS now.
    for (const n of ctx.nodes) await txOff(n, ctx.host(n), ctx.fabric, ctx.fabricPorts(n));
  },
  reconcile: (n, view) => kernelDatapathPass(n, view),
  logSources: async (host) => [...(await ovsLogSources(host)), ...(await openstackLogSources(host, openstackPaths(host.stateDir).log))],
  // A kolla node: its switch (neutron's bridges and flows) and the hybrid firewall's iptables.
  forensics: () => ["ovs-vsctl show", "ovs-ofctl dump-flows br-int", "iptables-save"],
  forensicLogs: (host) => [
    [ovsDir(host), 40],
    [openstackPaths(host.stateDir).log, 60],
  ],
  container: () => ({ packages: ["openvswitch-switch", "iptables", "curl", "dnsmasq-base"] }),
};

/** The lab's kolla-ansible targets. */
export function kollaNodes(lab: Lab): NodeSpec[] {
  return lab.nodes.filter((n) => n.software.includes("kolla"));
}
