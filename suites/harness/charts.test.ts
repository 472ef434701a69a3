import { readFileSync } from "node:fs";
import { join } from "node:path";
import { JSDOM } from "jsdom";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { CheckResult } from "../../topology/expect/check.ts";
import { watchFigures } from "../../topology/probes/watch.ts";
import { watchXyChart } from "../../topology/report/charts/mermaid.ts";
import { writePictures } from "../../topology/report/charts/pictures.ts";
import { rttSpec, watchSpec } from "../../topology/report/charts/specs.ts";
import { renderSvg } from "../../topology/report/charts/svg.ts";
import { markdownSummary } from "../../topology/report/github.ts";
import type { LabResult } from "../../topology/results.ts";
import { loadLab } from "../../topology/model/load.ts";
import { writeLab } from "../support/labs.ts";
import { scratchDir } from "../support/scratch.ts";

/**
 * The pictures of a run, drawn by vega from the figures (no lab: the input is ping -D output as
 * iputils prints it) and read back as a browser reads them: the SVG parsed as XML by jsdom, the
 * step summary's chart by Mermaid's own parser.
 */
const T0 = 1_765_000_000_000;
function watch() {
  const lines = ["PING 10.2.0.2 (10.2.0.2) 56(84) bytes of data."];
  // 150 probes every 20 ms; 26..76 unanswered (a cable pulled at 0.5 s, plugged at 1.5 s).
  for (let seq = 1; seq <= 150; seq++)
    if (seq < 26 || seq > 76)
      lines.push(`[${((T0 + (seq - 1) * 20 + 1) / 1000).toFixed(6)}] 64 bytes from 10.2.0.2: icmp_seq=${seq} ttl=63 time=0.${seq % 9} ms`);
  lines.push("", "--- 10.2.0.2 ping statistics ---", "150 packets transmitted, 99 received");
  return watchFigures({ name: "w1", from: "client", to: "vm1:floating", intervalMs: 20 }, lines.join("\n"), T0, T0 + 3000, [
    { label: "pull the uplink", name: "pull the uplink", start: T0 + 500, end: T0 + 510 },
    { label: "plug it back", name: "plug it back", start: T0 + 1500, end: T0 + 1510 },
    { label: "client$ sleep 1", start: T0 + 1600, end: T0 + 2600 },
  ]);
}

/** An SVG as a browser's XML parser reads it (a parse error is a `parsererror` document, not an exception). */
function parseSvg(svg: string): Document {
  const doc = new new JSDOM("").window.DOMParser().parseFromString(svg, "image/svg+xml");
  expect(doc.getElementsByTagName("parsererror")).toHaveLength(0);
  expect(doc.documentElement.tagName).toBe("svg");
  return doc;
}
const marks = (doc: Document, cls: string) => [...doc.querySelectorAll(`g.${cls} > *`)];
const texts = (doc: Document, cls: string) => marks(doc, cls).map((e) => e.textContent);

describe("a watch's timeline, drawn", () => {
  it("the SVG parses; it has a point per reply, a tick per lost probe, the outage shaded and labelled, a rule per step", async () => {
    const w = watch();
    const doc = parseSvg(await renderSvg(watchSpec(w)));
    expect(marks(doc, "reply_marks")).toHaveLength(99);
    expect(marks(doc, "lost_marks")).toHaveLength(51);
    expect(marks(doc, "outage_marks")).toHaveLength(1);
    expect(texts(doc, "outage_label_marks")).toEqual(["1040 ms"]);
    expect(marks(doc, "step_marks")).toHaveLength(3); // every step, named or not
    expect(texts(doc, "named_step_label_marks")).toEqual(["pull the uplink", "plug it back"]);
    expect(texts(doc, "role-title-text")[0]).toBe(
      'watch w1: client → vm1:floating every 20 ms: 99/150 answered, longest outage 1040 ms during "pull the uplink"',
    );
    // The outage's shading spans its 1.04 s on the 3 s axis (vega's scale: 760 px wide).
    const rect = marks(doc, "outage_marks")[0]!;
    const width = Number(/M[\d.]+,[\d.]+h([\d.]+)/.exec(rect.getAttribute("d") ?? "")?.[1]);
    expect(width).toBeCloseTo((760 * 1.04) / 3, 0);
  });
});

describe("a watch's timeline in the step summary", () => {
  // Mermaid's parser needs a DOM (jsdom's), set for these tests only: with a DOM present, vega would
  // look for a canvas to measure text.
  let parseMermaid: (text: string) => Promise<unknown>;
  beforeAll(async () => {
    const dom = new JSDOM("<!doctype html><html><body></body></html>");
    Object.assign(globalThis, { window: dom.window, document: dom.window.document });
    const m = (await import("mermaid")).default;
    m.initialize({ startOnLoad: false });
    parseMermaid = (text) => m.parse(text);
  });
  afterAll(() => {
    delete (globalThis as { window?: unknown }).window;
    delete (globalThis as { document?: unknown }).document;
  });

  it("the step summary's chart parses with Mermaid; its bars drop to 0 over the outage's slices and nowhere else", async () => {
    const w = watch();
    const chart = watchXyChart(w);
    await expect(parseMermaid(chart)).resolves.toMatchObject({ diagramType: "xychart" });
    const bars = JSON.parse(/bar (\[.*\])/.exec(chart)![1]!) as number[];
    const axis = JSON.parse(/x-axis "[^"]*" (\[.*\])/.exec(chart)![1]!) as string[];
    expect(axis.slice(0, 3)).toEqual(["0", "0.1", "0.2"]);
    expect(bars.map((b, k) => (b === 0 ? axis[k] : null)).filter((x) => x !== null)).toEqual([
      "0.5",
      "0.6",
      "0.7",
      "0.8",
      "0.9",
      "1",
      "1.1",
      "1.2",
      "1.3",
      "1.4",
    ]);
    await expect(parseMermaid(chart.replace("bar [", "bar ["))).resolves.toBeDefined();
    await expect(parseMermaid(chart.replace("bar [", "bar (["))).rejects.toThrow(); // the parser can refuse
  });

  it("the step summary carries each watch's chart; a run without watches has none", () => {
    const file = writeLab(
      "charts.yaml",
      "name: charts\nlans: { m: { cidr: 10.86.0.0/24 } }\nnodes:\n  a: { interfaces: { eth0: { lan: m, address: 10.86.0.1 } } }\n",
    );
    const lab = loadLab(file);
    const result = (watches: LabResult["scenarios"][0]["watches"]): LabResult => ({
      lab: "charts",
      file,
      backend: "netns",
      software: {},
      startedAt: new Date(T0).toISOString(),
      ok: true,
      scenarios: [
        {
          name: "cut",
          ok: true,
          startMs: 0,
          stopMs: 0,
          steps: [],
          checks: [],
          logs: { ok: true, strict: false, errors: [], warnings: [], allowed: 0 },
          watches,
        },
      ],
      totals: { checks: 0, passed: 0, failed: 0, steps: 0, stepsAsExpected: 0, logErrors: 0, logWarnings: 0 },
    });
    const md = markdownSummary(result([watch()]), lab);
    expect(md).toContain("### Watches");
    expect(md).toContain("```mermaid\nxychart-beta\n");
    expect(markdownSummary(result([]), lab)).not.toContain("xychart");
  });
});

describe("pictures beside the results", () => {
  const dir = scratchDir("lw-pictures-");

  it("a watch's timeline and a 20-echo ping's RTT histogram are written as SVG and named in the results; a 3-echo ping draws nothing", async () => {
    const rtts = [0.31, 0.35, 0.33, 0.4, 0.52, 0.33, 0.36, 0.34, 0.9, 0.35, 0.37, 0.33, 0.32, 0.38, 0.41, 0.36, 0.35, 0.34, 0.33, 2.1];
    const ping = (n: number): CheckResult =>
      ({
        expectation: { reach: { from: "client", to: "vm1:floating", count: n } },
        description: `reach client → vm1:floating (${n} echoes)`,
        ok: true,
        reasons: [],
        measured: "",
        notes: [],
        attempts: 1,
        durationMs: 0,
        measurement: {
          kind: "ping",
          target: "vm1:floating",
          transmitted: n,
          received: n,
          lossPct: 0,
          replies: rtts.slice(0, n).map((rttMs, k) => ({ seq: k + 1, from: "138.4.7.217", ttl: 63, rttMs })),
          rtt: null,
          errors: [],
        },
      }) as unknown as CheckResult;
    const result = {
      lab: "k",
      file: "k.yaml",
      backend: "netns",
      software: {},
      startedAt: "",
      ok: true,
      scenarios: [
        {
          name: "floating ips",
          ok: true,
          startMs: 0,
          stopMs: 0,
          steps: [],
          checks: [ping(20), ping(3)],
          logs: { ok: true, strict: false, errors: [], warnings: [], allowed: 0 },
          watches: [watch()],
        },
      ],
      totals: { checks: 2, passed: 2, failed: 0, steps: 0, stepsAsExpected: 0, logErrors: 0, logWarnings: 0 },
    } as LabResult;
    const files = await writePictures(result, join(dir, "k-run"));
    expect(files).toEqual([join(dir, "k-run-floating_ips-watch-w1.svg"), join(dir, "k-run-floating_ips-rtt-1.svg")]);
    expect(result.scenarios[0]!.pictures).toEqual(files);
    const hist = parseSvg(readFileSync(files[1]!, "utf8"));
    expect(texts(hist, "role-title-text")[0]).toBe(
      "reach client → vm1:floating (20 echoes): 20 echoes, RTT min 0.31 / p50 0.35 / p95 0.9 / max 2.1 ms",
    );
    // One bar per RTT bin that holds an echo: 0.3x, 0.4x, 0.5x, 0.9 and 2.1 ms at least five.
    expect(marks(hist, "mark-rect.role-mark").length).toBeGreaterThanOrEqual(5);
    parseSvg(readFileSync(files[0]!, "utf8"));
  });
});
