import type { IncusView } from "../stacks/incus/view.ts";
import { afterStep as afterIncus, incusStep, incusWithInput } from "../stacks/incus/steps.ts";
import { afterStep as afterOpenstack, isKollaStep, kollaOnRealHost, kollaStep } from "../stacks/openstack/steps.ts";
import type { NeutronView } from "../stacks/openstack/neutron/view.ts";
import type { KollaNode } from "../stacks/openstack/kolla/node.ts";
import { type Step, stepCommand } from "../model/types.ts";
import type { CommandResult } from "../run/exec.ts";
import type { Host } from "../backends/host.ts";
import { ConvergenceError } from "../wait/convergence.ts";
import { span } from "../trace/timeline.ts";

export type ActionStep = Exclude<Step, { kind: "check" }>;

export interface StepResult {
  step: ActionStep;
  result: CommandResult;
  /** Did the step do what the lab file said it should (succeed / fail, with the given output)? */
  asExpected: boolean;
  reason?: string;
  /** What labwright's stand-in for the kernel's OVS datapath changed on the node after the step (kernel-datapath.sh's lines). */
  standIn?: string[];
}

/** What running a step needs from the started lab. */
export interface StepContext {
  host(name: string): Host;
  readonly incus: IncusView | null;
  readonly kolla: ReadonlyMap<string, KollaNode>;
  readonly neutron: readonly NeutronView[];
  /** The kernel-datapath behaviour after a step changed OVS on a node. */
  reconcile(node: string): Promise<string[]>;
  /** Real hosts without --apply: no step may run. */
  readonly readOnly: boolean;
  /** Runs a step that is labwright's own action (a watch, a fault). */
  labwrightStep(step: Extract<ActionStep, { kind: "watch" | "fault" }>): Promise<CommandResult>;
}

/**
 * Runs one step as the operator typed it and judges whether it did what the lab file says. Then
 * waits for what the step set in motion (instances' leases, neutron's agents); when that does not
 * converge, throws a ConvergenceError that carries the command's result.
 */
export async function runStep(ctx: StepContext, step: ActionStep): Promise<StepResult> {
  if (ctx.readOnly) throw new Error(`refusing to run a step on real hosts without --apply: ${step.on}$ ${stepCommand(step)}`);
  // A watch or a fault is labwright's own action (a partition or a heal is the fabric's, no node's).
  const own = step.kind === "watch" || step.kind === "fault";
  const host = own ? undefined : ctx.host(step.on);
  const result = await span(
    "command",
    "command",
    () =>
      step.kind === "watch" || step.kind === "fault"
        ? ctx.labwrightStep(step)
        : step.kind === "run"
          ? host!.exec(["bash", "-c", step.run], { timeoutS: step.timeoutS })
          : !host!.local
            ? realStep(host!, step)
            : stackStep(ctx, host!, step),
    step.on,
  );
  let standIn: string[] | undefined;
  try {
    await span(
      "convergence",
      "converge",
      async () => {
        // A watch or a fault is labwright's own: what it sets in motion is what the watches measure.
        if (step.kind === "watch" || step.kind === "fault") return;
        // Independent, so side by side: the OVS kernel-datapath pass after a command on a node, and
        // Incus's view (after a step on a member: `incus list`, `incus network list`).
        const both = await Promise.allSettled([
          step.kind === "run" ? ctx.reconcile(step.on) : undefined,
          ctx.incus ? afterIncus(ctx.incus, step.kind, step.on) : undefined,
        ]);
        for (const r of both) if (r.status === "rejected") throw r.reason;
        if (both[0].status === "fulfilled" && both[0].value?.length) standIn = both[0].value;
        await afterOpenstack(ctx.neutron, step);
      },
      step.on,
    );
  } catch (e) {
    // The command ran; what it set in motion did not follow: the step fails with both.
    if (e instanceof ConvergenceError) e.result = result;
    throw e;
  }
  const timeoutS = step.kind === "run" ? step.timeoutS : 0;
  const succeeded = result.exitCode === 0 && !result.timedOut;
  const output = result.stdout + result.stderr;
  let reason: string | undefined;
  if (step.should === "succeed" && !succeeded)
    reason = result.timedOut
      ? `timed out after ${timeoutS} s`
      : `exited with ${result.exitCode ?? result.signal}${step.kind !== "run" ? `: ${result.stderr.trim() || result.stdout.trim().split("\n").slice(-4).join(" | ")}` : ""}`;
  else if (step.should === "fail" && succeeded) reason = "succeeded, but the lab file says it should fail";
  else if (step.output !== undefined && !output.includes(step.output)) reason = `output does not contain "${step.output}"`;
  return { step, result, asExpected: reason === undefined, reason, ...(standIn ? { standIn } : {}) };
}

/** A step of a stack's own client, run by that stack (incus, kolla-ansible, openstack). */
async function stackStep(
  ctx: StepContext,
  host: Host,
  step: Exclude<ActionStep, { kind: "run" | "watch" | "fault" }>,
): Promise<CommandResult> {
  if (isKollaStep(step)) {
    const k = ctx.kolla.get(step.on);
    if (!k) throw new Error(`${step.on} is not a kolla node`);
    return kollaStep(k, step);
  }
  if (!ctx.incus) throw new Error("this lab has no Incus cluster member");
  return incusStep(ctx.incus, host, step.command, (m) => ctx.reconcile(m), step.stdin);
}

/** On a real host, `incus` and `openstack` steps are the real clients, as typed; kolla-ansible is run by the operator. */
async function realStep(host: Host, step: Exclude<ActionStep, { kind: "run" | "watch" | "fault" }>): Promise<CommandResult> {
  const refused = isKollaStep(step) ? kollaOnRealHost(step) : null;
  if (refused) return refused;
  const withInput = step.kind === "incus" ? incusWithInput(host, step) : null;
  if (withInput) return withInput;
  return host.exec(["bash", "-c", stepCommand(step)], { timeoutS: 300 });
}
