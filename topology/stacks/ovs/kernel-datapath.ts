import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import type { Daemon, Host } from "../../backends/host.ts";
import type { NodeSpec } from "../../model/types.ts";
import { ovsDir } from "./daemons.ts";

/**
 * What the openvswitch kernel module does, on nodes whose OVS runs the userspace datapath: a
 * watcher per node (kernel-datapath.sh, an OVSDB monitor) for the life of the lab, so it holds for
 * Incus's own bridges and for what operators type in `labwright exec` shells; and one pass after
 * each step labwright runs, so the next check sees the result.
 *
 * It runs on every kernel, also one with the openvswitch module: the kernel datapath is one per
 * machine, not per network namespace, so nodes would share it; labwright's nodes always use the
 * userspace datapath (br-int included), and a bridge left on the kernel datapath could not be
 * patched to br-int (patch ports join bridges of one datapath type).
 */

const SCRIPT = join(dirname(fileURLToPath(import.meta.url)), "kernel-datapath.sh");

function argv(mode: "once" | "watch", node: NodeSpec): string[] {
  return ["bash", SCRIPT, mode, ...node.interfaces.map((i) => i.name)];
}

/** Starts the node's watcher (after its switch database is up). */
export function startWatcher(node: NodeSpec, host: Host, started: (d: Daemon) => void): void {
  started(host.spawn("kernel-datapath", argv("watch", node), { log: join(ovsDir(host), "kernel-datapath.log") }));
}

/** One pass now: returns what it changed (for the run's event log). */
export async function kernelDatapathPass(node: NodeSpec, host: Host): Promise<string[]> {
  if (!(await host.exists(join(ovsDir(host), "db.sock")))) return [];
  const r = await host.exec(argv("once", node), { timeoutS: 60 });
  if (r.exitCode !== 0) throw new Error(`${node.name}: the kernel-datapath pass failed: ${(r.stderr || r.stdout).trim()}`);
  return r.stdout
    .split("\n")
    .filter(Boolean)
    .map((l) => l.replace(/^\S+ /, ""));
}
