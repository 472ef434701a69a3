import type { Path } from "../problem-list.ts";
import { nodeRef, type RefContext } from "../refs.ts";
import { RunStep } from "../schema.ts";
import { shape } from "../shape.ts";
import type { Origin, Step } from "../types.ts";

/** `run:` a command, `on:` a node. */
export function runStep(item: object, sat: Path, ctx: RefContext, origin: Origin): Step | undefined {
  const s = shape(RunStep, item, sat, ctx.problems);
  if (!s) return undefined;
  nodeRef(s.on, [...sat, "on"], ctx);
  return { kind: "run", name: s.name, on: s.on, run: s.run, should: s.should, output: s.output, timeoutS: s.timeout, origin };
}
