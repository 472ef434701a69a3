import type { Path } from "../problem-list.ts";
import type { RefContext } from "../refs.ts";
import type { Origin, Step } from "../types.ts";

/**
 * Reads one raw step item of its kind (`sat`: its path): reports its problems and returns the step,
 * or undefined when it cannot be used.
 */
export type StepHandler = (item: object, sat: Path, ctx: RefContext, origin: Origin) => Step | undefined;
