import { join, resolve } from "node:path";
import { runCheck, summarize } from "./expect/check.ts";
import type { LabResult, ScenarioResult, StepRecord } from "./results.ts";
import { collectForensics } from "./started/forensics.ts";
import { type LabEvent, preflightLab, resolveBackend, start, type StartOptions } from "./lab.ts";
import { PreflightError } from "./run/preflight.ts";
import { type Lab, type ScenarioSpec, stepCommand } from "./model/types.ts";
import type { LogVerdict } from "./logs/types.ts";
import { failingFindings, findingLine } from "./logs/scan.ts";
import { ConvergenceError } from "./wait/convergence.ts";
import { softwareVersions } from "./stacks/registry.ts";
import { span, Timeline } from "./trace/timeline.ts";
import { describe } from "./expect/judge.ts";
import type { Expectation } from "./model/schema.ts";
import type { Located } from "./model/types.ts";
import { labFor } from "./model/software.ts";
import { labTotals, type Shard, shardOf } from "./shard/shard.ts";

/** An expectation's name on the timeline. */
const checkName = (e: Located<Expectation> | Expectation) => describe(e);

export type { LabResult, ScenarioResult, StepRecord } from "./results.ts";

export interface ScenarioOptions extends Omit<StartOptions, "onEvent"> {
  /** Where a failing scenario leaves its forensics bundle (a folder per scenario run). Default results/forensics. */
  forensicsDir?: string;
  /** Leave a failed scenario's lab up for inspection (`run --keep-on-failure`). */
  keepOnFailure?: boolean;
  /** Daemon-log warnings fail the scenario too (`run --strict-logs`; the lab file's `logs: strict`). */
  strictLogs?: boolean;
  onEvent?: (e: LabEvent & { scenario: string }) => void;
  /** Record where the time goes (`run --timings`, `--trace`): each result gets its `timeline`. */
  timings?: boolean;
}

/**
 * One scenario from a fresh start: build the lab, run its steps in order (stopping at the first that
 * does not do what the file says), judge its expectations, tear down — always.
 */
export async function runScenario(lab: Lab, sc: ScenarioSpec, opts: ScenarioOptions = {}): Promise<ScenarioResult> {
  if (!opts.timings) return scenario(lab, sc, opts);
  const tl = new Timeline();
  const res = await tl.run(() => scenario(lab, sc, opts));
  res.timeline = tl.spans;
  return res;
}

async function scenario(lab: Lab, sc: ScenarioSpec, opts: ScenarioOptions): Promise<ScenarioResult> {
  const t0 = performance.now();
  /** Every event carries the seconds since the scenario began (the start's own events count from the same moment). */
  // Also kept with wall-clock times, for a failure's forensics bundle (events.txt): the daemons' logs are in wall-clock time.
  const events: string[] = [];
  const say = (message: string, t = (performance.now() - t0) / 1000) => {
    events.push(`${new Date().toISOString()} +${t.toFixed(3)}s ${message}`);
    opts.onEvent?.({ t, message, scenario: sc.name });
  };
  const strict = opts.strictLogs ?? lab.logs === "strict";
  const res: ScenarioResult = {
    name: sc.name,
    description: sc.description,
    ok: false,
    startMs: 0,
    stopMs: 0,
    steps: [],
    checks: [],
    logs: { strict, errors: [], warnings: [], allowed: 0, ok: true },
  };
  let started;
  try {
    // Only the node software the scenario uses is started (model/software.ts, softwareUsedBy); said, so nobody wonders.
    const used = labFor(lab, sc);
    const unused = lab.nodes.flatMap((n, k) => {
      const off = n.software.filter((x) => !used.nodes[k]!.software.includes(x));
      return off.length ? [`${n.name} (${off.join(", ")})`] : [];
    });
    if (unused.length) res.notStarted = unused;
    if (unused.length)
      say(`not started, the scenario does not use it: ${unused.join(", ")} (a scenario with \`software: all\` starts everything)`, 0);
    started = await span("start", "phase", () => start(used, { ...opts, onEvent: (e) => say(e.message) }));
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
        res.steps.push({
          kind: "skipped",
          line: step.origin.line,
          what: step.kind === "check" ? "check" : `${step.on}$ ${stepCommand(step)}`,
        });
        continue;
      }
      opts.signal?.throwIfAborted();
      if (step.kind !== "check" && started.readOnly) {
        res.steps.push({ kind: "not-applied", line: step.origin.line, what: `${step.on}$ ${stepCommand(step)}` });
        say(`${step.on}$ ${stepCommand(step)}  not run (read-only: --apply runs it)`);
      } else if (step.kind !== "check") {
        let r: Awaited<ReturnType<typeof started.runStep>>;
        let unconverged: string[] | undefined;
        try {
          r = await span(`${step.on}$ ${stepCommand(step)}`, "step", () => started.runStep(step), step.on);
        } catch (e) {
          if (!(e instanceof ConvergenceError) || !e.result) throw e;
          unconverged = [...e.pending];
          r = { step, result: e.result, asExpected: false, reason: e.message };
        }
        for (const line of r.standIn ?? []) say(`${step.on}: the userspace-datapath stand-in after the step: ${line}`);
        say(`${step.on}$ ${stepCommand(step)}  ${r.asExpected ? "ok" : `NOT AS EXPECTED: ${r.reason}`}`);
        const notes = started.notes.splice(0);
        for (const n of notes) say(`note: ${n}`);
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
          ...(unconverged ? { unconverged } : {}),
          ...(notes.length ? { notes } : {}),
        });
        broken = !r.asExpected;
      } else {
        const checks = [];
        for (const c of step.checks) checks.push(await span(checkName(c), "probe", () => runCheck(started, c)));
        res.steps.push({ kind: "check", line: step.origin.line, checks, ok: checks.every((c) => c.ok) });
        for (const c of checks) say(`check: ${c.description}: ${c.ok ? "ok" : "FAILED"} (${c.measured})`);
        res.checks.push(...checks);
      }
    }
    // The steps are done: the watches' timelines end here.
    if (started.watches.active) await span("watches stopped", "probe", () => started!.watches.stopAll());
    res.watches = started.watches.results();
    for (const w of res.watches) say(`watch ${w.name}: ${summarize(w)}`);
    for (const e of sc.expect) {
      opts.signal?.throwIfAborted();
      const c = await span(checkName(e), "probe", () => runCheck(started, e));
      say(`expect: ${c.description}: ${c.ok ? "ok" : "FAILED"} (${c.measured})`);
      res.checks.push(c);
    }
    res.logs = await span("daemon logs", "logs", () => started.logs(sc.logAllow, strict));
    for (const f of res.logs.errors) say(`daemon log error: ${findingLine(f)}`);
    for (const f of res.logs.warnings) say(`daemon log warning: ${findingLine(f)}`);
    res.ok =
      res.checks.every((c) => c.ok) && res.steps.every((s) => s.kind === "not-applied" || (s.kind !== "skipped" && s.ok)) && res.logs.ok;
  } catch (e) {
    res.error = (e as Error).message;
  } finally {
    if (!res.ok && !opts.signal?.aborted) {
      try {
        const dir = join(opts.forensicsDir ?? "results/forensics", `${lab.name}-${sc.name}-${started.runId}`);
        res.forensics = await span("forensics", "phase", () =>
          collectForensics(
            started,
            res.checks.filter((c) => !c.ok),
            resolve(dir),
            { logFindings: failingFindings(res.logs), events },
          ),
        );
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
        await span("teardown", "teardown", () => started!.stop());
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

export async function runLab(lab: Lab, opts: ScenarioOptions & { only?: string[]; shard?: Shard } = {}): Promise<LabResult> {
  const backend = resolveBackend(opts.backend);
  // A machine without the lab's toolchain builds it here (minutes): its progress is the run's first events.
  const t0 = performance.now();
  await preflightLab(lab, backend, (message) => opts.onEvent?.({ t: (performance.now() - t0) / 1000, message, scenario: "preflight" }));
  opts = { ...opts, backend };
  const startedAt = new Date().toISOString();
  const scenarios: ScenarioResult[] = [];
  const chosen = lab.scenarios.filter((sc) => !opts.only?.length || opts.only.includes(sc.name));
  for (const sc of opts.shard ? shardOf(chosen, opts.shard) : chosen) {
    opts.signal?.throwIfAborted();
    scenarios.push(await runScenario(lab, sc, opts));
  }
  // Found, not built: the scenarios' starts built it.
  const source = backend.builds ? await backend.software?.(lab, () => undefined).catch(() => undefined) : undefined;
  return {
    lab: lab.name,
    file: lab.file,
    backend: backend.name,
    software: backend.builds ? softwareVersions(lab, source?.root ?? "/") : {},
    ...(source?.toolchain ? { toolchain: source.toolchain } : {}),
    startedAt,
    // A shard may hold no scenario (more shards than scenarios): nothing failed there.
    ok: (scenarios.length > 0 || opts.shard !== undefined) && scenarios.every((s) => s.ok),
    scenarios,
    totals: labTotals(scenarios),
    ...(opts.shard ? { shard: opts.shard } : {}),
  };
}
