import { afterAll, beforeAll } from "vitest";
import { start, type StartedLab } from "../../topology/lab.ts";
import type { Lab } from "../../topology/model/types.ts";

/** Starts the lab before the enclosing describe's tests and stops it after them; returns a getter. */
export function useLab(lab: Lab): () => StartedLab {
  let started: StartedLab | undefined;
  beforeAll(async () => {
    started = await start(lab);
  });
  afterAll(async () => {
    await started?.stop();
  });
  return () => {
    if (!started) throw new Error("the lab is not started (did beforeAll fail?)");
    return started;
  };
}
