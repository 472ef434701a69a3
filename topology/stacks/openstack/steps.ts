import type { Step } from "../../model/types.ts";
import type { CommandResult } from "../../run/exec.ts";
import type { KollaNode } from "./kolla/node.ts";
import type { NeutronView } from "./neutron/view.ts";

type KollaStep = Extract<Step, { kind: "kolla" | "openstack" }>;

/** A `kolla-ansible` or `openstack` step on a kolla node: kolla's plays, or the real client (nova's two commands: the stand-in). */
export async function kollaStep(k: KollaNode, step: KollaStep): Promise<CommandResult> {
  const t0 = performance.now();
  const argv = step.kind === "openstack" ? ["openstack", step.line] : ["kolla-ansible", step.action];
  if (step.kind === "openstack") return { argv, ...(await k.openstack(step.command)), durationMs: performance.now() - t0 };
  const r = step.action === "precheck" ? await k.precheck(step.globals) : await k.deploy(step.globals, step.overrides);
  return {
    argv,
    exitCode: r.exitCode,
    signal: null,
    stdout: r.stdout,
    stderr: r.stderr,
    timedOut: false,
    durationMs: performance.now() - t0,
  };
}

/** Is this step one a kolla node runs (and kolla-ansible itself, which labwright runs only on the lab's own nodes)? */
export const isKollaStep = (s: Step): s is KollaStep => s.kind === "kolla" || s.kind === "openstack";

/** `kolla-ansible <action>` on a real host: run by the operator, not by labwright (null: an `openstack` step, the real client runs it). */
export function kollaOnRealHost(step: KollaStep): CommandResult | null {
  if (step.kind !== "kolla") return null;
  const action = step.action;
  return {
    argv: ["kolla-ansible", action],
    exitCode: 2,
    signal: null,
    stdout: "",
    stderr: `labwright does not run kolla-ansible on real hosts: run 'kolla-ansible ${action}' on your deploy host with your inventory, then check the result with this lab's expectations\n`,
    timedOut: false,
    durationMs: 0,
  };
}

/** After any step on a kolla node: neutron works on after its API answered; wait for its agents before the next step or check. */
export async function afterStep(views: readonly NeutronView[], step: Exclude<Step, { kind: "check" }>): Promise<void> {
  for (const v of views.filter((x) => x.node === step.on)) {
    if (isKollaStep(step)) await v.settle(step.kind === "openstack" ? step.command : null);
    else await v.refresh();
  }
}
