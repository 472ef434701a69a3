import type { Path } from "../problem-list.ts";
import { nodeRef, type RefContext, targetRef } from "../refs.ts";
import { WatchStep } from "../schema.ts";
import { shape } from "../shape.ts";
import type { Origin, Step } from "../types.ts";

/** `watch: <name>`, `on:` a node or guest, `ping:` a target: a probe that runs through the later steps. */
export function watchStep(item: object, sat: Path, ctx: RefContext, origin: Origin): Step | undefined {
  const s = shape(WatchStep, item, sat, ctx.problems);
  if (!s) return undefined;
  nodeRef(s.on, [...sat, "on"], ctx);
  targetRef(s.ping, [...sat, "ping"], ctx);
  return { kind: "watch", name: s.name, watch: s.watch, on: s.on, ping: s.ping, intervalMs: s.interval_ms, should: "succeed", origin };
}
