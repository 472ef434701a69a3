import type { CommandResult } from "../run/exec.ts";
import type { NodeSpec } from "../model/types.ts";
import { STACKS, stacksOfNode, type StackStart } from "../stacks/registry.ts";
import { span } from "../trace/timeline.ts";
import { cable, type FaultContext, result } from "./faults.ts";

/** What the lab's start lends a boot: the same context each stack started with, and the node's service daemons. */
export interface BootHooks {
  stackStart(n: NodeSpec): StackStart;
  startServices(n: NodeSpec): Promise<void>;
}

/**
 * A crashed node powers on again (`boot:`): its cables plugged back in, then what its boot starts —
 * its service daemons, then each stack's daemons in the stacks' order (OVS/OVN before incusd, whose
 * instances plug into the switch), each from the state it left on disk. What the daemons do next
 * (an Incus member rejoining its cluster, incusd starting the instances that were running, OVN
 * moving a gateway back) is theirs. Refused, with nothing changed, for a node that did not crash in
 * this run or runs a stack that cannot start again yet.
 */
export async function boot(
  ctx: FaultContext,
  hooks: BootHooks | undefined,
  crashed: ReadonlySet<string>,
  node: string,
): Promise<CommandResult> {
  const out = (exitCode: number, stdout: string, stderr = "") => result(["labwright", "boot", node], exitCode, stdout, stderr);
  if (!hooks || !ctx.fabric) return out(1, "", "labwright boots only nodes of labs it builds (namespaces, containers), not real hosts\n");
  const spec = ctx.lab.nodes.find((n) => n.name === node);
  if (!spec) return out(1, "", `the lab has no node ${node}\n`);
  if (!crashed.has(node)) return out(1, "", `${node} did not crash in this run: a boot follows a \`crash: ${node}\` step\n`);
  const cannot = stacksOfNode(spec).filter((st) => !st.boot);
  if (cannot.length)
    return out(
      1,
      "",
      `${node} runs ${cannot.map((st) => st.name).join(", ")}, which labwright cannot start again after a crash yet (it can: ${STACKS.filter(
        (st) => st.boot,
      )
        .map((st) => st.name)
        .join(", ")})\n`,
    );
  const lines: string[] = [];
  // A reboot starts with an empty kernel: the sockets the killed daemons left closing in the node
  // (FIN_WAIT, LAST_ACK) are destroyed while the cables are still out, so no late FIN of the dead
  // system reaches a peer; a peer's next segment on an old connection meets a reset, as after a reboot.
  const h = hooks.stackStart(spec).host(spec);
  const ss = await (h.machineView?.() ?? h).exec(["ss", "-K", "-t", "-a", "-n"], { timeoutS: 10 });
  if (ss.exitCode !== 0) return out(1, "", `closing the dead system's sockets on ${node} (ss -K): ${(ss.stderr || ss.stdout).trim()}\n`);
  const orphans = Math.max(0, ss.stdout.trim().split("\n").length - 1);
  for (const i of spec.interfaces) {
    const r = await cable(ctx, node, i.name, true);
    if (r.exitCode !== 0) return out(1, lines.join("\n"), r.stderr);
  }
  lines.push(`${node}: ${orphans} socket(s) of the dead system closed, ${spec.interfaces.length} cable(s) plugged back in`);
  const s = (ms: number) => `${(ms / 1000).toFixed(1)} s`;
  try {
    let t = performance.now();
    await hooks.startServices(spec);
    if (spec.services.length || spec.dns) lines.push(`${node}: its services answer after ${s(performance.now() - t)}`);
    for (const st of stacksOfNode(spec)) {
      t = performance.now();
      await span(`${st.name} boot`, "phase", () => st.boot!(hooks.stackStart(spec), spec), node);
      lines.push(`${node}: ${st.name} started again, answering after ${s(performance.now() - t)}`);
    }
  } catch (e) {
    return out(1, lines.join("\n") + "\n", `booting ${node}: ${(e as Error).message}\n`);
  }
  return out(0, lines.join("\n") + "\n");
}
