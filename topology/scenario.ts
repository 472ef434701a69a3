import { join, resolve } from "node:path";
import { type CheckResult, runCheck } from "./expect/check.ts";
import { collectForensics } from "./report/forensics.ts";
import { type LabEvent, preflightLab, resolveBackend, start, type StartOptions } from "./lab.ts";
import { PreflightError } from "./run/preflight.ts";
import { type Lab, type ScenarioSpec, stepCommand } from "./model/types.ts";
import type { LogProblem } from "./stacks/ovs.ts";
import { incusVersion } from "./stacks/incus.ts";
import { neutronVersion } from "./stacks/openstack.ts";

export type StepRecord =
  | {
      kind: "run";
      name?: string;
      on: string;
      run: string;
      line?: number;
      should: "succeed" | "fail";
      exitCode: number | null;
      output: string;
      durationMs: number;
      ok: boolean;
      reason?: string;
    }
  | { kind: "check"; line?: number; checks: CheckResult[]; ok: boolean }
  | { kind: "skipped"; line?: number; what: string }
  /** A step on real hosts without --apply: listed, not run, not a failure. */
  | { kind: "not-applied"; line?: number; what: string };

export interface ScenarioResult {
  name: string;
  description?: string;
  runId?: string;
  ok: boolean;
  /** Set when the lab could not be built or torn down. */
  error?: string;
  startMs: number;
  stopMs: number;
  steps: StepRecord[];
  checks: CheckResult[];
  /** WARN/ERR lines of the OVS/OVN daemons that are not on the allowlist: any fails the scenario. */
  logProblems: LogProblem[];
  /** Folder with the per-node state collected when the scenario failed. */
  forensics?: string;
  /** The run left up because the scenario failed and `keepOnFailure` was asked. */
  kept?: string;
}


export interface LabResult {
  lab: string;
  file: string;
  /** The backend the lab ran on (netns, containers). */
  backend: string;
  /** Versions of the real control-plane software the lab ran (e.g. `{ incus: "6.0.4" }`). */
  software: Record<string, string>;
  startedAt: string;
  ok: boolean;
  scenarios: ScenarioResult[];
  totals: { checks: number; passed: number; failed: number; steps: number; stepsAsExpected: number };
}

export interface ScenarioOptions extends Omit<StartOptions, "onEvent"> {
  /** Where a failing scenario leaves its forensics bundle (a folder per scenario run). Default results/forensics. */
  forensicsDir?: string;
  /** Leave a failed scenario's lab up for inspection (`run --keep-on-failure`). */
  keepOnFailure?: boolean;
  onEvent?: (e: LabEvent & { scenario: string }) => void;
}

/**
 * One scenario from a fresh start: build the lab, run its steps in order (stopping at the first that
 * does not do what the file says), judge its expectations, tear down — always.
 */
export async function runScenario(lab: Lab, sc: ScenarioSpec, opts: ScenarioOptions = {}): Promise<ScenarioResult> {
  const t0 = performance.now();
  /** Every event carries the seconds since the scenario began (the start's own events count from the same moment). */
  const say = (message: string, t = (performance.now() - t0) / 1000) => opts.onEvent?.({ t, message, scenario: sc.name });
  const res: ScenarioResult = { name: sc.name, description: sc.description, ok: false, startMs: 0, stopMs: 0, steps: [], checks: [], logProblems: [] };
  let started;
  try {
    started = await start(lab, { ...opts, onEvent: (e) => say(e.message) });
  } catch (e) {
    if (e instanceof PreflightError) throw e;
    res.error = (e as Error).message;
    return res;
  }
  res.runId = started.runId;
  res.startMs = performance.now() - t0;
  try {
    let broken = false;
    for (const step of sc.steps) {
      if (broken) {
        res.steps.push({ kind: "skipped", line: step.origin.line, what: step.kind === "check" ? "check" : `${step.on}$ ${stepCommand(step)}` });
        continue;
      }
      opts.signal?.throwIfAborted();
      if (step.kind !== "check" && started.readOnly) {
        res.steps.push({ kind: "not-applied", line: step.origin.line, what: `${step.on}$ ${stepCommand(step)}` });
        say(`${step.on}$ ${stepCommand(step)}  not run (read-only: --apply runs it)`);
      } else if (step.kind !== "check") {
        const r = await started.runStep(step);
        say(`${step.on}$ ${stepCommand(step)}  ${r.asExpected ? "ok" : `NOT AS EXPECTED: ${r.reason}`}`);
        for (const n of started.notes.splice(0)) say(`note: ${n}`);
        res.steps.push({
          kind: "run",
          name: step.name,
          on: step.on,
          run: stepCommand(step),
          line: step.origin.line,
          should: step.should,
          exitCode: r.result.exitCode,
          output: (r.result.stdout + r.result.stderr).trim().slice(0, 4000),
          durationMs: r.result.durationMs,
          ok: r.asExpected,
          reason: r.reason,
        });
        broken = !r.asExpected;
      } else {
        const checks = [];
        for (const c of step.checks) checks.push(await runCheck(started, c));
        res.steps.push({ kind: "check", line: step.origin.line, checks, ok: checks.every((c) => c.ok) });
        for (const c of checks) say(`check: ${c.description}: ${c.ok ? "ok" : "FAILED"} (${c.measured})`);
        res.checks.push(...checks);
      }
    }
    for (const e of sc.expect) {
      opts.signal?.throwIfAborted();
      const c = await runCheck(started, e);
      say(`expect: ${c.description}: ${c.ok ? "ok" : "FAILED"} (${c.measured})`);
      res.checks.push(c);
    }
    res.logProblems = (await started.logProblems()).filter((p) => !sc.logAllow.some((a) => a.match.test(p.line)));
    for (const p of res.logProblems) say(`daemon log: ${p.node}: ${p.line}`);
    res.ok = res.checks.every((c) => c.ok) && res.steps.every((s) => s.kind === "not-applied" || (s.kind !== "skipped" && s.ok)) && res.logProblems.length === 0;
  } catch (e) {
    res.error = (e as Error).message;
  } finally {
    if (!res.ok && !opts.signal?.aborted) {
      try {
        const dir = join(opts.forensicsDir ?? "results/forensics", `${lab.name}-${sc.name}-${started.runId}`);
        res.forensics = await collectForensics(started, res.checks.filter((c) => !c.ok), resolve(dir));
        say(`forensics bundle: ${res.forensics}`);
      } catch (e) {
        say(`could not collect forensics: ${(e as Error).message}`);
      }
    }
    const s0 = performance.now();
    if (!res.ok && opts.keepOnFailure && started.backend.builds && !opts.signal?.aborted) {
      // Left up for inspection: gc keeps it (as a `labwright up` run) until `labwright down`.
      started.record.update((s) => {
        s.phase = "up";
        s.persistent = true;
      });
      res.kept = started.runId;
      say(`kept up for inspection: labwright exec ${started.runId} <node>; labwright down ${started.runId}`);
    } else {
      try {
        await started.stop();
      } catch (e) {
        res.error = `${res.error ? res.error + "; " : ""}teardown: ${(e as Error).message}`;
        res.ok = false;
      }
    }
    res.stopMs = performance.now() - s0;
  }
  if (res.error) res.ok = false;
  return res;
}

export async function runLab(lab: Lab, opts: ScenarioOptions & { only?: string[] } = {}): Promise<LabResult> {
  const backend = resolveBackend(opts.backend);
  await preflightLab(lab, backend);
  opts = { ...opts, backend };
  const startedAt = new Date().toISOString();
  const scenarios: ScenarioResult[] = [];
  for (const sc of lab.scenarios) {
    if (opts.only?.length && !opts.only.includes(sc.name)) continue;
    opts.signal?.throwIfAborted();
    scenarios.push(await runScenario(lab, sc, opts));
  }
  const checks = scenarios.flatMap((s) => s.checks);
  const steps = scenarios.flatMap((s) => s.steps);
  return {
    lab: lab.name,
    file: lab.file,
    backend: backend.name,
    software: backend.builds
      ? {
          ...(lab.nodes.some((n) => n.software.includes("incus")) ? { incus: incusVersion() } : {}),
          ...(lab.nodes.some((n) => n.software.includes("kolla")) ? { neutron: neutronVersion() } : {}),
        }
      : {},
    startedAt,
    ok: scenarios.length > 0 && scenarios.every((s) => s.ok),
    scenarios,
    totals: {
      checks: checks.length,
      passed: checks.filter((c) => c.ok).length,
      failed: checks.filter((c) => !c.ok).length,
      steps: steps.length,
      stepsAsExpected: steps.filter((s) => s.kind !== "skipped" && s.kind !== "not-applied" && s.ok).length,
    },
  };
}
