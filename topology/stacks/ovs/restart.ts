import { join } from "node:path";
import type { Daemon, Host } from "../../backends/host.ts";
import type { NodeSpec } from "../../model/types.ts";
import { isAlive, type ProcessRef } from "../../run/process.ts";
import { waitFor } from "../../wait/wait.ts";
import { northd, ovnController, type OvsDaemon, vswitchd } from "./daemons.ts";

/**
 * `systemctl restart <unit>` on an OVS/OVN daemon, as Debian's units do it: ExecStop is ovn-ctl's
 * `stop_controller` / `stop_northd` or ovs-ctl's `stop`, which ask the daemon to `exit` over its
 * control socket (for ovn-controller without `--restart`: it releases its chassis and port bindings
 * on the way out, as a stop does); after TimeoutStopSec (15 s) systemd kills it; then ExecStart
 * runs the same command line. Returns how long each half took.
 */
export const OVS_RESTARTABLE = ["ovn-controller", "ovs-vswitchd", "ovn-northd"] as const;

const STOP_TIMEOUT_MS = 15_000;

function specOf(node: NodeSpec, dir: string, name: string): OvsDaemon | undefined {
  if (name === "ovn-controller" && node.software.includes("ovn-host")) return ovnController(dir);
  if (name === "ovs-vswitchd" && node.software.some((s) => s === "ovn-host" || s === "openvswitch")) return vswitchd(dir);
  if (name === "ovn-northd" && node.software.includes("ovn-central")) return northd(dir, node.ovnCentral);
  return undefined;
}

export async function restartOvsDaemon(
  node: NodeSpec,
  host: Host,
  dir: string,
  name: string,
  running: ProcessRef | undefined,
  started: (d: Daemon) => void,
): Promise<{ ok: true; stoppedMs: number; readyMs: number; how: string } | { ok: false; why: string }> {
  const spec = specOf(node, dir, name);
  if (!spec) return { ok: false, why: `${node.name} does not run ${name} (restartable here: ${OVS_RESTARTABLE.join(", ")})` };
  if (!running || !isAlive(running)) return { ok: false, why: `${name} on ${node.name} is not running` };
  const t0 = performance.now();
  const ctl = name.startsWith("ovn-") ? "ovn-appctl" : "ovs-appctl";
  const socket = join(dir, `${name}.${running.pid}.ctl`);
  const r = await host.exec([ctl, "-t", socket, "exit"], { timeoutS: STOP_TIMEOUT_MS / 1000 });
  let how = `${ctl} -t ${name} exit`;
  const deadline = Date.now() + STOP_TIMEOUT_MS;
  while (isAlive(running) && Date.now() < deadline) await new Promise((x) => setTimeout(x, 50));
  if (isAlive(running)) {
    how += ` (${r.exitCode === 0 ? "still running" : `refused: ${(r.stderr || r.stdout).trim().slice(0, 120)}`} after ${STOP_TIMEOUT_MS / 1000} s: killed)`;
    try {
      process.kill(running.pid, "SIGKILL");
    } catch {
      /* it exited meanwhile */
    }
    while (isAlive(running)) await new Promise((x) => setTimeout(x, 20));
  }
  const stoppedMs = performance.now() - t0;
  const d = host.spawn(spec.name, spec.argv, { log: join(dir, `${spec.name}.out`) });
  started(d);
  await waitFor(host, d, spec.ready, 15_000);
  return { ok: true, stoppedMs, readyMs: performance.now() - t0 - stoppedMs, how };
}
