/**
 * A watch's timeline as a Mermaid `xychart-beta` (GitHub renders it in a step summary): the share of
 * probes answered per time slice, so an outage is a dip to 0 over the seconds it lasted.
 */
import type { WatchResult } from "../../probes/watch.ts";
import { lostProbes, watchTitle } from "./specs.ts";

/** At most this many slices across the watch: enough to show a 1 s outage in a 40 s watch, few enough to read. */
const SLICES = 40;
/** Slice widths (s) that make round axis labels. */
const WIDTHS = [0.05, 0.1, 0.2, 0.25, 0.5, 1, 2, 5, 10, 15, 30, 60, 120, 300, 600];

export function watchXyChart(w: WatchResult): string {
  const seconds = w.durationMs / 1000;
  const width = WIDTHS.find((x) => x >= seconds / SLICES && x >= w.intervalMs / 1000) ?? seconds / SLICES;
  const n = Math.max(1, Math.ceil(seconds / width));
  const sent = new Array<number>(n).fill(0);
  const answered = new Array<number>(n).fill(0);
  const slice = (t: number) => Math.min(n - 1, Math.max(0, Math.floor(t / width)));
  for (const r of w.replies)
    if (r.seq <= w.sent) {
      const k = slice(((r.seq - 1) * w.intervalMs) / 1000);
      sent[k]!++;
      answered[k]!++;
    }
  for (const t of lostProbes(w)) sent[slice(t)]!++;
  const pct = sent.map((s, k) => (s ? Math.round((100 * answered[k]!) / s) : 0));
  const label = (k: number) => `"${Number((k * width).toFixed(2))}"`;
  const quote = (s: string) => s.replace(/"/g, "'");
  return [
    "xychart-beta",
    `  title "${quote(watchTitle(w))}"`,
    `  x-axis "seconds since the watch started" [${pct.map((_, k) => label(k)).join(", ")}]`,
    `  y-axis "% of probes answered" 0 --> 100`,
    `  bar [${pct.join(", ")}]`,
    "",
  ].join("\n");
}
