import type { Span } from "./timeline.ts";

/**
 * Spans as a Chrome trace (the JSON Object Format: opens in Perfetto and chrome://tracing): one
 * process per timeline (a scenario of a run), complete ("X") events on lanes: a span goes on the first
 * lane where it nests in what is open there or where nothing is open, so concurrent work (daemons
 * starting side by side) gets lanes of its own and every lane nests properly.
 */
export function chromeTrace(timelines: readonly { name: string; spans: readonly Span[] }[]): string {
  const events: object[] = [];
  timelines.forEach((tl, k) => {
    const pid = k + 1;
    events.push({ name: "process_name", ph: "M", pid, tid: 0, args: { name: tl.name } });
    const lanes: number[][] = [];
    for (const s of [...tl.spans].sort((a, b) => a.startMs - b.startMs || b.endMs - a.endMs)) {
      const end = Number.isFinite(s.endMs) ? s.endMs : s.startMs;
      let lane = lanes.findIndex((open) => {
        while (open.length && open[open.length - 1]! <= s.startMs) open.pop();
        return !open.length || open[open.length - 1]! >= end;
      });
      if (lane < 0) lane = lanes.push([]) - 1;
      lanes[lane]!.push(end);
      events.push({
        name: s.name,
        cat: s.kind,
        ph: "X",
        pid,
        tid: lane + 1,
        ts: Math.round(s.startMs * 1000),
        dur: Math.max(1, Math.round((end - s.startMs) * 1000)),
        args: { ...(s.node ? { node: s.node } : {}), ...(s.ok ? {} : { failed: true }) },
      });
    }
    lanes.forEach((_, i) => events.push({ name: "thread_name", ph: "M", pid, tid: i + 1, args: { name: `lane ${i + 1}` } }));
  });
  return JSON.stringify({ traceEvents: events, displayTimeUnit: "ms" });
}
