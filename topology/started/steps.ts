import type { IncusView } from "./incus-view.ts";
import type { NeutronView } from "./neutron-view.ts";
import type { KollaNode } from "../emulators/openstack/node.ts";
import { type Step, stepCommand } from "../model/types.ts";
import type { CommandResult } from "../run/exec.ts";
import type { Host } from "../backends/host.ts";
import { ConvergenceError } from "../wait/convergence.ts";

export type ActionStep = Exclude<Step, { kind: "check" }>;

export interface StepResult {
  step: ActionStep;
  result: CommandResult;
  /** Did the step do what the lab file said it should (succeed / fail, with the given output)? */
  asExpected: boolean;
  reason?: string;
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
}

/**
 * Runs one step as the operator typed it and judges whether it did what the lab file says. Then
 * waits for what the step set in motion (instances' leases, neutron's agents); when that does not
 * converge, throws a ConvergenceError that carries the command's result.
 */
export async function runStep(ctx: StepContext, step: ActionStep): Promise<StepResult> {
  if (ctx.readOnly) throw new Error(`refusing to run a step on real hosts without --apply: ${step.on}$ ${stepCommand(step)}`);
  const host = ctx.host(step.on);
  const result =
    step.kind === "run"
      ? await host.exec(["bash", "-c", step.run], { timeoutS: step.timeoutS })
      : !host.local
        ? await realStep(host, step)
        : step.kind === "incus"
          ? await incusStep(ctx, host, step)
          : await kollaStep(ctx, step);
  try {
    if (step.kind === "incus") await ctx.incus?.settle();
    if (step.kind === "run") await ctx.reconcile(step.on);
    if (ctx.incus && (step.kind === "incus" || ctx.incus.isMember(step.on))) await ctx.incus.refresh();
    // neutron works on after its API answered: wait for its agents before the next step or check.
    for (const v of ctx.neutron.filter((x) => x.node === step.on)) {
      if (step.kind === "openstack" || step.kind === "kolla") await v.settle(step.kind === "openstack" ? step.command : null);
      else await v.refresh();
    }
  } catch (e) {
    // The command ran; what it set in motion did not follow: the step fails with both.
    if (e instanceof ConvergenceError) e.result = result;
    throw e;
  }
  const timeoutS = step.kind === "run" ? step.timeoutS : 0;
  const succeeded = result.exitCode === 0 && !result.timedOut;
  const output = result.stdout + result.stderr;
  let reason: string | undefined;
  if (step.should === "succeed" && !succeeded) reason = result.timedOut ? `timed out after ${timeoutS} s` : `exited with ${result.exitCode ?? result.signal}${step.kind !== "run" ? `: ${result.stderr.trim() || result.stdout.trim().split("\n").slice(-4).join(" | ")}` : ""}`;
  else if (step.should === "fail" && succeeded) reason = "succeeded, but the lab file says it should fail";
  else if (step.output !== undefined && !output.includes(step.output)) reason = `output does not contain "${step.output}"`;
  return { step, result, asExpected: reason === undefined, reason };
}

/** On a real host, `incus` and `openstack` steps are the real clients, as typed; kolla-ansible is run by the operator. */
async function realStep(host: Host, step: Exclude<ActionStep, { kind: "run" }>): Promise<CommandResult> {
  if (step.kind === "kolla") {
    return { argv: ["kolla-ansible", step.action], exitCode: 2, signal: null, stdout: "", stderr: `labwright does not run kolla-ansible on real hosts: run 'kolla-ansible ${step.action}' on your deploy host with your inventory, then check the result with this lab's expectations\n`, timedOut: false, durationMs: 0 };
  }
  return host.exec(["bash", "-c", `${step.kind} ${step.line}`], { timeoutS: 300 });
}

/**
 * The real `incus` client in the member, with the line's words as its arguments (no shell). Incus
 * changes OVS on every member (its uplink bridges), so each gets a kernel-datapath pass after it.
 * (runStep then waits for the instances it started to get their DHCP lease.)
 */
async function incusStep(ctx: StepContext, host: Host, step: Extract<ActionStep, { kind: "incus" }>): Promise<CommandResult> {
  if (!ctx.incus) throw new Error("this lab has no Incus cluster member");
  const r = await (host.machineView?.() ?? host).exec(["incus", ...step.command.argv], { timeoutS: 300 });
  await Promise.all(ctx.incus.memberNames.map((m) => ctx.reconcile(m)));
  await ctx.incus.refresh();
  return r;
}

async function kollaStep(ctx: StepContext, step: Extract<ActionStep, { kind: "kolla" | "openstack" }>): Promise<CommandResult> {
  const t0 = performance.now();
  const k = ctx.kolla.get(step.on);
  if (!k) throw new Error(`${step.on} is not a kolla node`);
  const argv = step.kind === "openstack" ? ["openstack", step.line] : ["kolla-ansible", step.action];
  if (step.kind === "openstack") return { argv, ...(await k.openstack(step.command)), durationMs: performance.now() - t0 };
  const r = step.action === "precheck" ? await k.precheck(step.globals) : await k.deploy(step.globals, step.ml2Override);
  return { argv, exitCode: r.exitCode, signal: null, stdout: r.stdout, stderr: r.stderr, timedOut: false, durationMs: performance.now() - t0 };
}
