import { rmSync } from "node:fs";
import { join } from "node:path";
import type { Lab, NodeSpec } from "../../model/types.ts";
import { OVS_TOOL_PACKAGES } from "../ovs/index.ts";
import type { Stack } from "../stack.ts";
import { span } from "../../trace/timeline.ts";
import {
  formCluster,
  INCUSD,
  incusDir,
  incusEnv,
  restartMarker,
  incusLogSources,
  incusVersion,
  type Member,
  startIncusd,
} from "./daemon.ts";

/**
 * The real Incus (`incus`): one incusd per member, clustered as `incus admin init` does it
 * (daemon.ts); what it says exists after each step is read by view.ts.
 */
export const incusStack: Stack = {
  name: "Incus",
  software: ["incus"],
  tools: () => ["unshare", "nsenter", "flock", "ovsdb-client"],
  toolPackages: OVS_TOOL_PACKAGES,
  version: (root) => ["incus", incusVersion(root)],
  // Another build of incusd (LABWRIGHT_INCUSD) is a file of this machine: bound into the run's root.
  rootBinds: () => (process.env.LABWRIGHT_INCUSD ? [INCUSD] : []),
  env: (nodeDir) => incusEnv(nodeDir),
  async start(ctx) {
    const ca = await ctx.ca();
    const ms: Member[] = ctx.nodes.map((n) => ({ node: n, host: ctx.host(n), view: ctx.host(n).machineView?.() ?? ctx.host(n) }));
    // incusd runs in the member's machine view: the version is of the Incus there.
    const version = incusVersion(ms[0]?.view.softwareRoot ?? "/");
    ctx.say(`starting Incus ${version} on ${ctx.nodes.map((n) => n.name).join(", ")} and forming the cluster`);
    // incusd fetches the instance types from images.linuxcontainers.org as it starts (a daily task
    // whose first run is at once), through the lab's DNS to the lab's image server. Started before
    // those answered, all three logged `Failed updating instance types ... read udp
    // 192.168.35.x->192.168.35.254:53: connection refused` as errors: measured whenever the image
    // server's tree was built first (a cold image cache, as in CI's first Incus lab), the services
    // then starting seconds after incusd.
    await span("services (awaited by incusd)", "phase", () => ctx.services());
    await Promise.all(
      ms.map((m) =>
        ctx.limit(() => span("incusd", "daemon", () => startIncusd(m, ca, (d) => ctx.record(m.node.name, d, { hard: true })), m.node.name)),
      ),
    );
    await span("cluster formation", "phase", () => formCluster(ms));
  },
  // incusd started again on its INCUS_DIR: the member rejoins the cluster from its own database,
  // and incusd itself starts the instances that were running when it went down.
  async boot(ctx, n) {
    const m: Member = { node: n, host: ctx.host(n), view: ctx.host(n).machineView?.() ?? ctx.host(n) };
    // incusd replaces its socket at start; labwright awaits the new one's appearance.
    rmSync(join(incusDir(m.host.stateDir), "unix.socket"), { force: true });
    rmSync(restartMarker(m.host.stateDir), { force: true }); // a new namespace: an earlier restart's does not hold it
    await span("incusd", "daemon", async () => startIncusd(m, await ctx.ca(), (d) => ctx.record(n.name, d, { hard: true })), n.name);
  },
  logSources: async (host) => incusLogSources(host),
  // incusd's own log (incusd.log in the node's directory): what a member did when a step failed
  // (ci45: an `incus exec` forwarded to another member got EOF, and the bundle had no incusd line to say why).
  forensicLogs: (host) => [[host.stateDir, 120]],
  // The member's incusd runs beside a container node; what is typed in the node reaches it with this machine's client (it needs only the C library).
  container: () => ({ packages: ["openvswitch-switch", "ovn-common"], binaries: ["/usr/bin/incus"] }),
};

/** The lab's Incus cluster members. */
export function incusMembers(lab: Lab): NodeSpec[] {
  return lab.nodes.filter((n) => n.software.includes("incus"));
}
