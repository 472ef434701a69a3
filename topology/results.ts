import type { WatchResult } from "./probes/watch.ts";
import type { CheckResult } from "./expect/check.ts";
import type { LogVerdict } from "./logs/types.ts";
import type { Span } from "./trace/timeline.ts";
import type { ToolchainInfo } from "./toolchain/info.ts";

/**
 * What a run of a lab produced: the data every report (text, JSON, JUnit, step summary, repeat
 * summaries) is made from. Types only; report/ and repeat/ import these and nothing that runs a lab.
 */

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
      /** What the step set in motion and did not converge in the time waited for it (the step then fails). */
      unconverged?: string[];
      /** Notes the run made during the step (a daemon that did not answer, an object that could not be named). */
      notes?: string[];
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
  /** The daemons' logs, judged: errors no entry allows fail the scenario; warnings fail it only under `logs: strict`. */
  logs: LogVerdict;
  /** Folder with the per-node state collected when the scenario failed. */
  forensics?: string;
  /** The run left up because the scenario failed and `keepOnFailure` was asked. */
  kept?: string;
  /** Node software the scenario does not use, so its start did not run it (`node (software, …)`). */
  notStarted?: string[];
  /** Where the time went (with `timings`): the start's phases, daemons, steps, convergence waits, probes, teardown. */
  timeline?: Span[];
  /** The scenario's watches: figures and the full timeline of replies, with the steps marked. */
  watches?: WatchResult[];
  /** SVG files drawn from the run (`labwright run`): each watch's timeline, each many-echo ping's RTT distribution. */
  pictures?: string[];
}

export interface LabResult {
  lab: string;
  file: string;
  /** The backend the lab ran on (netns, containers). */
  backend: string;
  /** Versions of the real control-plane software the lab ran (e.g. `{ incus: "6.0.4" }`). */
  software: Record<string, string>;
  /** The toolchain its commands ran in (none: this machine's own files, or real hosts). */
  toolchain?: ToolchainInfo;
  startedAt: string;
  ok: boolean;
  scenarios: ScenarioResult[];
  totals: {
    checks: number;
    passed: number;
    failed: number;
    steps: number;
    stepsAsExpected: number;
    logErrors: number;
    logWarnings: number;
  };
  /** `run --shard i/n`: this result is that share of the lab's scenarios (`labwright merge` joins the shards). */
  shard?: { index: number; count: number };
}
