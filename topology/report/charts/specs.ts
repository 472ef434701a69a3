/**
 * The pictures of a run, as Vega-Lite specifications (data in, spec out; no rendering here):
 * - a watch's timeline: each reply's RTT over time, each lost probe as a red tick on the axis, each
 *   outage shaded, each step that ran meanwhile a rule at its start (a named step's labelled);
 * - the RTT distribution of a ping with many echoes (the seed's "surprising delay"): a histogram.
 */
import type { TopLevelSpec } from "vega-lite";
import { ANSWER, type WatchResult } from "../../probes/watch.ts";

/** At most this many points per picture: a 10 ms watch over a minute has 6000 replies, and the SVG would carry each. */
const MAX_POINTS = 3000;

const ms = (x: number) => Math.round(x) / 1000;

/** When each probe that got no reply left, in seconds (iputils numbers from 1; sequence k leaves about (k − 1) × interval in). */
export function lostProbes(w: WatchResult): number[] {
  const got = new Set(w.replies.map((r) => r.seq));
  const lost: number[] = [];
  for (let seq = 1; seq <= w.sent; seq++) if (!got.has(seq)) lost.push(((seq - 1) * w.intervalMs) / 1000);
  return lost;
}

function thin<T>(xs: readonly T[]): T[] {
  if (xs.length <= MAX_POINTS) return [...xs];
  const step = xs.length / MAX_POINTS;
  return Array.from({ length: MAX_POINTS }, (_, i) => xs[Math.floor(i * step)]!);
}

export function watchTitle(w: WatchResult): string {
  const o = w.longest;
  const outage = o ? `longest outage ${Math.round(o.durationMs)} ms${o.duringStep ? ` during "${o.duringStep}"` : ""}` : "no outage";
  return `watch ${w.name}: ${w.from} → ${w.to} every ${w.intervalMs} ms: ${w.received}/${w.sent} answered, ${outage}`;
}

/** A watch's timeline: replies (RTT, ms) over time (s since the watch started), lost probes, outages, steps. */
export function watchSpec(w: WatchResult): TopLevelSpec {
  const x = {
    field: "t",
    type: "quantitative" as const,
    title: "seconds since the watch started",
    scale: { domain: [0, ms(w.durationMs)] },
  };
  // RTTs on a log scale: replies held back through an outage arrive seconds late, next to sub-ms ones.
  const replies = thin(w.replies).map((r) => ({ t: ms(r.atMs), rtt: Math.max(r.rttMs, 0.001) }));
  const lost = thin(lostProbes(w)).map((t) => ({ t }));
  const outages = w.outages.map((o) => ({ t: ms(o.startMs), t2: ms(o.endMs), label: `${Math.round(o.durationMs)} ms` }));
  // Every step a faint rule; the named ones (faults are, usually) a dark one with its name.
  const steps = w.marks.map((m) => ({ t: ms(m.startMs) }));
  const marks = w.marks.filter((m) => m.name).map((m) => ({ t: ms(m.startMs), label: m.name! }));
  return {
    $schema: "https://vega.github.io/schema/vega-lite/v5.json",
    title: { text: watchTitle(w), fontSize: 12, anchor: "start" },
    width: 760,
    height: 220,
    background: "white",
    layer: [
      {
        name: "outage",
        data: { values: outages },
        mark: { type: "rect", color: "#f4a6a6", opacity: 0.45 },
        encoding: { x, x2: { field: "t2" } },
      },
      {
        name: "outage_label",
        data: { values: outages },
        mark: { type: "text", align: "left", baseline: "bottom", dx: 3, dy: -14, color: "#a31515", fontSize: 10 },
        encoding: { x, y: { value: 220 }, text: { field: "label" } },
      },
      {
        name: "named_step",
        data: { values: marks },
        mark: { type: "rule", color: "#555", strokeDash: [4, 3] },
        encoding: { x },
      },
      {
        name: "step",
        data: { values: steps },
        mark: { type: "rule", color: "#bbb", strokeWidth: 0.5 },
        encoding: { x },
      },
      {
        name: "named_step_label",
        data: { values: marks },
        mark: { type: "text", angle: 270, align: "right", baseline: "bottom", dx: -4, dy: -2, fontSize: 9, color: "#333", limit: 200 },
        encoding: { x, y: { value: 0 }, text: { field: "label" } },
      },
      {
        name: "reply",
        data: { values: replies },
        mark: { type: "point", filled: true, size: 8, color: "#1f6fb2" },
        encoding: {
          x,
          y: { field: "rtt", type: "quantitative", title: `${ANSWER[w.probe ?? "ping"].time} (ms, log scale)`, scale: { type: "log" } },
        },
      },
      {
        name: "lost",
        data: { values: lost },
        mark: { type: "tick", color: "#d11", orient: "vertical", thickness: 1, size: 10 },
        encoding: { x, y: { value: 220 } },
      },
    ],
  } as TopLevelSpec;
}

/** The RTT distribution of many echoes: a histogram, its summary in the title. */
export function rttSpec(title: string, rtts: readonly number[]): TopLevelSpec {
  const s = [...rtts].sort((a, b) => a - b);
  const q = (p: number) => s[Math.min(s.length - 1, Math.max(0, Math.ceil(p * s.length) - 1))] ?? 0;
  return {
    $schema: "https://vega.github.io/schema/vega-lite/v5.json",
    title: {
      text: `${title}: ${s.length} echoes, RTT min ${s[0]} / p50 ${q(0.5)} / p95 ${q(0.95)} / max ${s[s.length - 1]} ms`,
      fontSize: 12,
      anchor: "start",
    },
    width: 560,
    height: 180,
    background: "white",
    data: { values: s.map((rtt) => ({ rtt })) },
    mark: { type: "bar", color: "#1f6fb2" },
    encoding: {
      x: { field: "rtt", type: "quantitative", bin: { maxbins: 30 }, title: "RTT (ms)" },
      y: { aggregate: "count", type: "quantitative", title: "echoes", axis: { tickMinStep: 1 } },
    },
  } as TopLevelSpec;
}
