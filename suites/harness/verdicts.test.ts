import { describe, expect, it } from "vitest";
import { judgeReach } from "../../topology/expect/judge.ts";
import type { PingResult } from "../../topology/probes/ping.ts";
import { summarizeRuns } from "../../topology/repeat/summary.ts";
import { repeatJunit, repeatReport } from "../../topology/report/repeat.ts";
import type { LabResult, ScenarioResult } from "../../topology/scenario.ts";

const ping = (ttls: (number | null)[], rtts: number[] = ttls.map(() => 0.5)): PingResult => {
  const replies = ttls.flatMap((ttl, i) => (ttl === null ? [] : [{ from: "10.0.0.2", seq: i + 1, ttl, rttMs: rtts[i]! }]));
  const s = replies.map((r) => r.rttMs).sort((a, b) => a - b);
  return {
    kind: "ping",
    target: "10.0.0.2",
    address: "10.0.0.2",
    transmitted: ttls.length,
    received: replies.length,
    lossPct: Math.round(((ttls.length - replies.length) / ttls.length) * 100),
    replies,
    rtt: s.length ? { min: s[0]!, avg: s[0]!, p50: s[Math.floor(s.length / 2)]!, p95: s[s.length - 1]!, max: s[s.length - 1]! } : null,
    errors: [],
  };
};

describe("toReach() and a lab file's reach: judge a ping the same way", () => {
  it("one reply of three holds for both without a loss bound; with loss: 0 it fails both, and the matcher's message shows the measured values", () => {
    const m = ping([64, null, null]);
    expect(judgeReach({}, m).ok).toBe(true);
    expect(m).toReach();
    expect(judgeReach({ loss: 0 }, m)).toEqual({ ok: false, reasons: ["loss 67% > 0%"] });
    expect(() => expect(m).toReach({ loss: 0 })).toThrow(/loss 67% > 0% \(measured: .*1\/3 replies/);
  });
});

/** A scenario result with one reach expectation, as runScenario makes it. */
function scenario(ok: boolean, rttMs: number, ttl: number, upMs: number): ScenarioResult {
  const m = ping([ttl, ttl, ttl], [rttMs, rttMs, rttMs]);
  const c = {
    expectation: { kind: "reach" as const, from: "a", to: "b", count: 3 },
    description: "a → b reachable",
    ok,
    reasons: ok ? [] : ["no reply"],
    measured: `3/3 replies, TTL ${ttl}`,
    measurement: m,
    notes: [],
    attempts: 1,
    durationMs: 10,
  };
  return {
    name: "s",
    ok,
    runId: "x",
    startMs: upMs,
    stopMs: 100,
    steps: [{ kind: "run", on: "a", run: "true", should: "succeed", exitCode: 0, output: "", durationMs: 5, ok: true }],
    checks: [c],
    logs: { strict: false, errors: [], warnings: [], allowed: 0, ok: true },
  };
}
const lab = (s: ScenarioResult): LabResult => ({
  lab: "l",
  file: "l.yaml",
  backend: "netns",
  software: {},
  startedAt: "t",
  ok: s.ok,
  scenarios: [s],
  totals: { checks: 1, passed: s.ok ? 1 : 0, failed: s.ok ? 0 : 1, steps: 1, stepsAsExpected: 1, logErrors: 0, logWarnings: 0 },
});

describe("--repeat's summary", () => {
  it("counts passes per expectation, flags one that changed verdict as flaky, and spreads its values across runs", () => {
    const r = summarizeRuns([lab(scenario(true, 0.4, 64, 1000)), lab(scenario(false, 0.9, 63, 3000)), lab(scenario(true, 0.5, 64, 2000))], {
      requested: 3,
      untilFail: false,
    });
    expect(r.ok).toBe(false);
    expect(r.failedRuns).toEqual([2]);
    const reach = r.items.find((t) => t.kind === "expectation")!;
    expect(reach).toMatchObject({ runs: 3, passed: 2, failed: 1, flaky: true, failedIn: [2] });
    expect(reach.spread["RTT p50 ms"]).toEqual({ n: 3, min: 0.4, median: 0.5, max: 0.9 });
    expect(reach.seen["TTL"]).toEqual({ "64": 2, "63": 1 });
    expect(r.scenarios[0]).toMatchObject({ passed: 2, runs: 3, upMs: { min: 1000, median: 2000, max: 3000 } });
    expect(r.flaky).toBe(1);
    const text = repeatReport(r);
    expect(text).toContain("FLAKY 2/3  a → b reachable");
    expect(text).toContain("RTT p50 ms 0.4 / 0.5 / 0.9");
    expect(text).toContain("TTL: 64 (×2), 63 (×1)");
    expect(text).toMatch(/Result: FAIL — 2\/3 runs passed; 1 flaky item/);
    expect(repeatJunit(r)).toContain('<failure message="flaky: failed in 1 of 3 runs (run 2)" type="Flaky">');
  });

  it("a run that always passes: no flaky item, PASS", () => {
    const r = summarizeRuns([lab(scenario(true, 0.4, 64, 1000)), lab(scenario(true, 0.4, 64, 1000))], { requested: 2, untilFail: false });
    expect([r.ok, r.flaky, r.failedRuns]).toEqual([true, 0, []]);
  });
});
