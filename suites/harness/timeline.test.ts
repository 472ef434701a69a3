import { describe, expect, it } from "vitest";
import { chromeTrace } from "../../topology/trace/chrome.ts";
import { covered, span, Timeline } from "../../topology/trace/timeline.ts";

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe("the timeline behind --timings and --trace", () => {
  it("spans nest by the async call that made them, also when they run concurrently; a throw marks the span failed", async () => {
    const tl = new Timeline();
    await tl.run(async () => {
      await span("start", "phase", async () => {
        await Promise.all([span("a", "daemon", () => sleep(30), "n1"), span("b", "daemon", () => sleep(10), "n2")]);
      });
      await span("step", "step", () => Promise.reject(new Error("no"))).catch(() => undefined);
    });
    const by = new Map(tl.spans.map((s) => [s.name, s]));
    expect(by.get("a")!.parent).toBe(by.get("start")!.id);
    expect(by.get("b")!.parent).toBe(by.get("start")!.id);
    expect(by.get("step")!.parent).toBeNull();
    expect(by.get("step")!.ok).toBe(false);
    expect(by.get("a")!.endMs - by.get("a")!.startMs).toBeGreaterThanOrEqual(25);
    expect(by.get("start")!.endMs).toBeGreaterThanOrEqual(by.get("a")!.endMs);
  });

  it("without a current timeline a span only runs its function", async () => {
    expect(await span("x", "phase", async () => 42)).toBe(42);
  });

  it("covered() counts overlapping time once", () => {
    const s = (startMs: number, endMs: number) => ({ id: 0, parent: null, name: "", kind: "daemon" as const, startMs, endMs, ok: true });
    expect(covered([s(0, 10), s(5, 15), s(20, 30)])).toBe(25);
    expect(covered([])).toBe(0);
  });

  it("the Chrome trace puts overlapping siblings on separate lanes and children on their parent's", () => {
    const s = (id: number, parent: number | null, name: string, startMs: number, endMs: number) => ({
      id,
      parent,
      name,
      kind: "phase" as const,
      startMs,
      endMs,
      ok: true,
    });
    const t = JSON.parse(
      chromeTrace([
        { name: "sc", spans: [s(1, null, "start", 0, 100), s(2, 1, "a", 10, 60), s(3, 1, "b", 20, 90), s(4, null, "step", 100, 150)] },
      ]),
    ) as {
      traceEvents: { name: string; ph: string; tid: number; ts: number; dur: number }[];
    };
    const lane = (n: string) => t.traceEvents.find((e) => e.ph === "X" && e.name === n)!.tid;
    expect(lane("a")).toBe(lane("start"));
    expect(lane("b")).not.toBe(lane("a"));
    expect(lane("step")).toBe(lane("start"));
    expect(t.traceEvents.find((e) => e.name === "a")).toMatchObject({ ts: 10_000, dur: 50_000 });
    expect(t.traceEvents.filter((e) => e.ph === "M" && e.name === "process_name")).toHaveLength(1);
  });
});
