import type { CheckResult } from "../expect/check.ts";
import type { LabResult, ScenarioResult } from "../results.ts";

/**
 * The same lab run N times, summed up: for every expectation, step and scenario-level verdict, how
 * many runs it held in and how its measured values spread (TTLs, RTT p50/p95, hop lists, step
 * times). One that held in some runs and not in others is flaky. Pure: it reads results only.
 */

/** Low / median / high of one measured value across the runs that measured it. */
export interface Spread {
  n: number;
  min: number;
  median: number;
  max: number;
}

export interface Tally {
  scenario: string;
  kind: "expectation" | "step" | "logs" | "lab";
  /** What it is, as the single-run report names it. */
  name: string;
  /** The lab file's line, where it has one. */
  line?: number;
  runs: number;
  passed: number;
  failed: number;
  /** Held in some runs and not in others. */
  flaky: boolean;
  /** The runs (1-based) it failed in. */
  failedIn: number[];
  /** Measured values across runs: numbers as spreads, the rest as distinct values with their counts. */
  spread: Record<string, Spread>;
  seen: Record<string, Record<string, number>>;
}

export interface RepeatSummary {
  lab: string;
  file: string;
  backend: string;
  software: Record<string, string>;
  /** Runs asked for, and runs made (fewer with --until-fail). */
  requested: number;
  runs: number;
  untilFail: boolean;
  failedRuns: number[];
  ok: boolean;
  /** When the first run began. */
  startedAt: string;
  /** Per scenario: its time to be up and its whole time, across runs (ms), and its whole time summed. */
  scenarios: { name: string; passed: number; runs: number; upMs: Spread | null; totalMs: Spread | null; sumMs: number }[];
  items: Tally[];
  flaky: number;
}

export function spreadOf(values: readonly number[]): Spread | null {
  if (!values.length) return null;
  const s = [...values].sort((a, b) => a - b);
  const mid = s.length % 2 ? s[(s.length - 1) / 2]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2;
  const r = (x: number) => Math.round(x * 1000) / 1000;
  return { n: s.length, min: r(s[0]!), median: r(mid), max: r(s[s.length - 1]!) };
}

/** The measured values of one check that are worth comparing across runs. */
function valuesOf(c: CheckResult): { nums: Record<string, number>; strs: Record<string, string> } {
  const m = c.measurement;
  const nums: Record<string, number> = {};
  const strs: Record<string, string> = {};
  if (m.kind === "ping") {
    nums["loss %"] = m.lossPct;
    if (m.rtt) {
      nums["RTT p50 ms"] = m.rtt.p50;
      nums["RTT p95 ms"] = m.rtt.p95;
    }
    if (m.replies.length) strs["TTL"] = [...new Set(m.replies.map((r) => r.ttl))].sort((a, b) => a - b).join("/");
  } else if (m.kind === "trace") {
    strs["hops"] = m.hops.map((h) => h.address ?? "*").join(" → ") || "(none)";
  } else strs["measured"] = c.measured.slice(0, 120);
  return { nums, strs };
}

class Tallies {
  private readonly map = new Map<string, Tally & { nums: Record<string, number[]> }>();

  add(
    key: string,
    base: Omit<Tally, "runs" | "passed" | "failed" | "flaky" | "failedIn" | "spread" | "seen">,
    run: number,
    ok: boolean,
    nums: Record<string, number> = {},
    strs: Record<string, string> = {},
  ): void {
    let t = this.map.get(key);
    if (!t) {
      t = { ...base, runs: 0, passed: 0, failed: 0, flaky: false, failedIn: [], spread: {}, seen: {}, nums: {} };
      this.map.set(key, t);
    }
    t.runs++;
    if (ok) t.passed++;
    else {
      t.failed++;
      t.failedIn.push(run);
    }
    for (const [k, v] of Object.entries(nums)) (t.nums[k] ??= []).push(v);
    for (const [k, v] of Object.entries(strs)) {
      const seen = (t.seen[k] ??= {});
      seen[v] = (seen[v] ?? 0) + 1;
    }
  }

  done(): Tally[] {
    return [...this.map.values()].map(({ nums, ...t }) => {
      const spread: Record<string, Spread> = {};
      for (const [k, v] of Object.entries(nums)) spread[k] = spreadOf(v)!;
      return { ...t, spread, flaky: t.passed > 0 && t.failed > 0 };
    });
  }
}

function tallyScenario(t: Tallies, s: ScenarioResult, run: number): void {
  if (s.error)
    t.add(
      `${s.name}\u0000lab`,
      { scenario: s.name, kind: "lab", name: "the lab itself (start, teardown)" },
      run,
      false,
      {},
      { error: s.error.split("\n")[0]!.slice(0, 120) },
    );
  s.steps.forEach((st, i) => {
    if (st.kind === "run") {
      t.add(
        `${s.name}\u0000step\u0000${i}`,
        { scenario: s.name, kind: "step", name: `${st.on}$ ${st.run.split("\n")[0]}`, ...(st.line !== undefined ? { line: st.line } : {}) },
        run,
        st.ok,
        { seconds: st.durationMs / 1000 },
        st.ok ? {} : { why: (st.reason ?? "").slice(0, 120) },
      );
    } else if (st.kind === "skipped")
      t.add(
        `${s.name}\u0000step\u0000${i}`,
        { scenario: s.name, kind: "step", name: st.what.split("\n")[0]!, ...(st.line !== undefined ? { line: st.line } : {}) },
        run,
        false,
        {},
        { why: "skipped: an earlier step failed" },
      );
  });
  s.checks.forEach((c, i) => {
    const line = "origin" in c.expectation ? c.expectation.origin.line : undefined;
    const v = valuesOf(c);
    t.add(
      `${s.name}\u0000check\u0000${i}\u0000${c.description}`,
      { scenario: s.name, kind: "expectation", name: c.description, ...(line !== undefined ? { line } : {}) },
      run,
      c.ok,
      v.nums,
      v.strs,
    );
  });
  const strs: Record<string, string> = {};
  for (const f of [...s.logs.errors, ...s.logs.warnings])
    strs[`${f.severity} (${f.daemon})`] = f.line.replace(/^\S+\|\d+\||^\S+ \S+ \d+ /, "").slice(0, 120);
  t.add(
    `${s.name}\u0000logs`,
    { scenario: s.name, kind: "logs", name: "daemon logs" },
    run,
    s.logs.ok,
    { errors: s.logs.errors.length, warnings: s.logs.warnings.length },
    strs,
  );
}

export function summarizeRuns(results: readonly LabResult[], opts: { requested: number; untilFail: boolean }): RepeatSummary {
  const first = results[0];
  if (!first) throw new Error("no run to sum up");
  const t = new Tallies();
  results.forEach((r, k) => {
    for (const s of r.scenarios) tallyScenario(t, s, k + 1);
  });
  const names = [...new Set(results.flatMap((r) => r.scenarios.map((s) => s.name)))];
  const items = t.done();
  return {
    lab: first.lab,
    file: first.file,
    backend: first.backend,
    software: first.software,
    startedAt: first.startedAt,
    requested: opts.requested,
    runs: results.length,
    untilFail: opts.untilFail,
    failedRuns: results.flatMap((r, k) => (r.ok ? [] : [k + 1])),
    ok: results.every((r) => r.ok),
    scenarios: names.map((name) => {
      const runs = results.flatMap((r) => r.scenarios.filter((s) => s.name === name));
      const whole = runs.map(
        (s) =>
          s.startMs +
          s.stopMs +
          s.steps.reduce((a, st) => a + (st.kind === "run" ? st.durationMs : 0), 0) +
          s.checks.reduce((a, c) => a + c.durationMs, 0),
      );
      return {
        name,
        runs: runs.length,
        passed: runs.filter((s) => s.ok).length,
        upMs: spreadOf(runs.filter((s) => s.runId).map((s) => s.startMs)),
        totalMs: spreadOf(whole),
        sumMs: whole.reduce((a, b) => a + b, 0),
      };
    }),
    items,
    flaky: items.filter((i) => i.flaky).length,
  };
}
