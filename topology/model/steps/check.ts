import { expectations } from "../expectations.ts";
import type { Path } from "../problem-list.ts";
import type { RefContext } from "../refs.ts";
import { CheckStep } from "../schema.ts";
import { shape } from "../shape.ts";
import type { Origin, Step } from "../types.ts";

/** `check:` a list of expectations, checked at this point of the scenario. */
export function checkStep(item: object, sat: Path, ctx: RefContext, origin: Origin): Step | undefined {
  const s = shape(CheckStep, item, sat, ctx.problems);
  if (!s) return undefined;
  return { kind: "check", name: s.name, checks: expectations(s.check, [...sat, "check"], ctx), origin };
}
