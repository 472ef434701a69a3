import { join } from "node:path";
import type { Host } from "../../backends/host.ts";
import type { Lab, NodeSpec } from "../../model/types.ts";
import type { Stack } from "../stack.ts";
import { ovsDir, ovsEnv, ovsLogSources, startStack } from "./daemons.ts";
import { kernelDatapathPass } from "./kernel-datapath.ts";
import { mustIn } from "../../backends/must.ts";
import { switchCommands, txOff } from "./switch.ts";

/** The tools of every node that runs Open vSwitch (its databases, the stand-in's ethtool and nft). */
export const OVS_BASE_TOOLS = ["ovsdb-tool", "ovsdb-server", "ethtool", "nft"] as const;

/** The Debian package of each OVS/OVN tool. */
export const OVS_TOOL_PACKAGES: Readonly<Record<string, string>> = {
  "ovsdb-tool": "openvswitch-common",
  "ovsdb-server": "openvswitch-switch",
  "ovs-vswitchd": "openvswitch-switch",
  "ovs-vsctl": "openvswitch-switch",
  "ovs-ofctl": "openvswitch-common",
  "ovsdb-client": "openvswitch-common",
  "ovn-controller": "ovn-host",
  "ovn-northd": "ovn-central",
  "ovn-nbctl": "ovn-common",
  "ovn-sbctl": "ovn-common",
};

const hostSide = (n: NodeSpec) => n.software.includes("ovn-host") || n.software.includes("openvswitch");

/**
 * Open vSwitch and OVN (`ovn-host`, `ovn-central`, `openvswitch`): the daemons each package starts,
 * in the node, with the userspace datapath and the kernel-datapath stand-in (kernel-datapath.ts).
 */
export const ovsStack: Stack = {
  name: "Open vSwitch / OVN",
  software: ["ovn-host", "ovn-central", "openvswitch"],
  tools(n) {
    const t: string[] = [...OVS_BASE_TOOLS];
    if (n.software.includes("ovn-host")) t.push("ovs-vswitchd", "ovs-vsctl", "ovn-controller");
    if (n.software.includes("ovn-central")) t.push("ovn-northd", "ovn-nbctl", "ovn-sbctl");
    if (n.software.includes("openvswitch")) t.push("ovs-vswitchd", "ovs-vsctl");
    return t;
  },
  toolPackages: OVS_TOOL_PACKAGES,
  env: (nodeDir) => ovsEnv(join(nodeDir, "ovs")),
  async start(ctx) {
    ctx.say(`starting OVS/OVN on ${ctx.nodes.map((n) => `${n.name} (${n.software.join(", ")})`).join(", ")}`);
    await Promise.all(
      ctx.nodes.map((n) =>
        ctx.limit(async () => {
          const h = ctx.host(n);
          if (hostSide(n)) await txOff(n, h, ctx.fabric, ctx.fabricPorts(n));
          await startStack(n, h, ovsDir(h), (d) => ctx.record(n.name, d));
          for (const argv of switchCommands(n)) await mustIn(h, argv, `bridges of ${n.name}`);
          await kernelDatapathPass(n, h.machineView?.() ?? h);
        }),
      ),
    );
  },
  async boot(ctx, n) {
    const h = ctx.host(n);
    // A boot starts with an empty /run: the dead daemons' sockets and pid files go (each daemon is
    // awaited by its socket's appearance, which a stale one would fake).
    await mustIn(
      h,
      ["find", ovsDir(h), "-maxdepth", "1", "-regextype", "egrep", "-regex", ".*\\.(sock|ctl|pid|mgmt|snoop)", "-delete"],
      `run-state files of ${n.name}`,
    );
    await startStack(n, h, ovsDir(h), (d) => ctx.record(n.name, d), { boot: true });
    if (hostSide(n)) await kernelDatapathPass(n, h.machineView?.() ?? h);
  },
  reconcile: (n, view) => (hostSide(n) ? kernelDatapathPass(n, view) : Promise.resolve([])),
  logSources: (host) => ovsLogSources(host),
  forensics(n) {
    const cmds: string[] = [];
    if (n.software.includes("ovn-host"))
      cmds.push("ovs-vsctl show", "ovs-ofctl dump-flows br-int", "ovn-appctl -t ovn-controller connection-status");
    // --no-leader-only: a clustered database's follower answers too (reads may lag the leader by a moment).
    if (n.software.includes("ovn-central")) cmds.push("ovn-nbctl --no-leader-only show", "ovn-sbctl --no-leader-only show");
    if (n.ovnCentral?.nb.clusterLocal) cmds.push('ovn-appctl -t "$OVN_RUNDIR/ovnnb_db.ctl" cluster/status OVN_Northbound');
    if (n.ovnCentral?.sb.clusterLocal) cmds.push('ovn-appctl -t "$OVN_RUNDIR/ovnsb_db.ctl" cluster/status OVN_Southbound');
    return cmds;
  },
  forensicLogs: (host: Host) => [[ovsDir(host), 40]],
  container: (s) => ({ packages: s === "openvswitch" ? ["openvswitch-switch"] : ["openvswitch-switch", s] }),
};

/** The lab's OVN central node (where ovn-trace can run), if it has one. */
export function ovnCentral(lab: Lab): NodeSpec | undefined {
  return lab.nodes.find((n) => n.software.includes("ovn-central"));
}
