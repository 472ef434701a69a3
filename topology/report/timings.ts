import type { ScenarioResult } from "../results.ts";
import { covered, type Span, type SpanKind } from "../trace/timeline.ts";

const dur = (ms: number) => (ms >= 1000 ? `${(ms / 1000).toFixed(2)} s` : `${Math.round(ms)} ms`);
const ORDER: SpanKind[] = ["phase", "daemon", "play", "step", "command", "converge", "probe", "logs", "teardown"];

/**
 * Where a scenario's time went (`run --timings`): every span as a tree in start order (when it
 * started and how long it took, indented under what it ran in), then the wall time each kind of
 * work covered (concurrent spans counted once).
 */
export function timingsReport(res: ScenarioResult): string {
  const spans = res.timeline ?? [];
  if (!spans.length) return `Timings — ${res.name}: none recorded\n`;
  const children = new Map<number | null, Span[]>();
  for (const s of spans) children.set(s.parent, [...(children.get(s.parent) ?? []), s]);
  const lines: string[] = [];
  const walk = (parent: number | null, depth: number) => {
    for (const s of (children.get(parent) ?? []).sort((a, b) => a.startMs - b.startMs)) {
      const took = (Number.isFinite(s.endMs) ? s.endMs : s.startMs) - s.startMs;
      const what = `${"  ".repeat(depth)}${s.name}${s.node && !s.name.startsWith(`${s.node}$`) ? ` [${s.node}]` : ""}${s.ok ? "" : "  (failed)"}`;
      lines.push(
        `  ${(s.startMs / 1000).toFixed(2).padStart(7)} s  ${dur(took).padStart(9)}  ${what.length > 110 ? what.slice(0, 109) + "…" : what}`,
      );
      walk(s.id, depth + 1);
    }
  };
  walk(null, 0);
  const end = Math.max(...spans.map((s) => (Number.isFinite(s.endMs) ? s.endMs : s.startMs)));
  const byKind = ORDER.map((k) => [k, spans.filter((s) => s.kind === k)] as const)
    .filter(([, ss]) => ss.length)
    .map(([k, ss]) => `${k} ${dur(covered(ss))} (${ss.length})`);
  return [
    `Timings — ${res.name}${res.runId ? ` (run ${res.runId})` : ""}: ${dur(end)}`,
    `  ${"began".padStart(9)}  ${"took".padStart(9)}  what`,
    ...lines,
    `  wall time by kind (overlaps once): ${byKind.join(" · ")}`,
    "",
  ].join("\n");
}
