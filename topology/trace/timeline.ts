import { AsyncLocalStorage } from "node:async_hooks";

/**
 * Where a run's time goes: named spans (a phase of the start, a daemon's start and readiness, a step,
 * its convergence wait, a probe, teardown) with their parents, recorded while a Timeline is current.
 * Code marks a span with `span()`; without a current Timeline it only runs the function, so the marks
 * cost nothing when nobody asked (`run --timings`, `--trace FILE`, `scripts/bench`).
 */

/** What kind of work a span is. */
export type SpanKind = "phase" | "daemon" | "step" | "command" | "converge" | "probe" | "play" | "logs" | "teardown";

export interface Span {
  id: number;
  parent: number | null;
  name: string;
  kind: SpanKind;
  /** The node it ran on, when it ran on one. */
  node?: string;
  /** Milliseconds since the timeline began. */
  startMs: number;
  endMs: number;
  /** False when the work threw. */
  ok: boolean;
}

interface Current {
  timeline: Timeline;
  parent: number | null;
}

const current = new AsyncLocalStorage<Current>();

export class Timeline {
  readonly spans: Span[] = [];
  private readonly t0 = performance.now();
  private nextId = 1;

  /** Runs `fn` with this timeline current: every span() inside (awaited or not) is recorded here. */
  run<T>(fn: () => T): T {
    return current.run({ timeline: this, parent: null }, fn);
  }

  /** Milliseconds since the timeline began. */
  now(): number {
    return performance.now() - this.t0;
  }

  /** @internal */
  open(name: string, kind: SpanKind, parent: number | null, node?: string): Span {
    const s: Span = { id: this.nextId++, parent, name, kind, ...(node ? { node } : {}), startMs: this.now(), endMs: NaN, ok: true };
    this.spans.push(s);
    return s;
  }
}

/** Runs `fn` as a span of the current timeline (if any); spans started inside it are its children. */
export async function span<T>(name: string, kind: SpanKind, fn: () => Promise<T>, node?: string): Promise<T> {
  const c = current.getStore();
  if (!c) return fn();
  const s = c.timeline.open(name, kind, c.parent, node);
  try {
    return await current.run({ timeline: c.timeline, parent: s.id }, fn);
  } catch (e) {
    s.ok = false;
    throw e;
  } finally {
    s.endMs = c.timeline.now();
  }
}

/** Milliseconds of wall time covered by the given spans (overlaps counted once). */
export function covered(spans: readonly Span[]): number {
  const iv = spans.map((s) => [s.startMs, s.endMs] as const).sort((a, b) => a[0] - b[0]);
  let total = 0;
  let [from, to] = [-Infinity, -Infinity];
  for (const [a, b] of iv) {
    if (a > to) {
      if (to > from) total += to - from;
      [from, to] = [a, b];
    } else to = Math.max(to, b);
  }
  if (to > from) total += to - from;
  return total;
}
