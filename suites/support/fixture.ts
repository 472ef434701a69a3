import type { StartedLab } from "../../topology/lab.ts";
import type { Lab, ScenarioSpec } from "../../topology/model/types.ts";
import { useLab as useLabOn } from "../../topology/vitest.ts";

/** The backend the lab suites run on (LABWRIGHT_BACKEND, else namespaces); it is part of every suite's name. */
export const BACKEND = process.env.LABWRIGHT_BACKEND || "netns";

/** The package's own fixture (`labwright/vitest`), on the suites' backend. */
export function useLab(lab: Lab, opts: { logAllow?: ScenarioSpec["logAllow"]; strictLogs?: boolean } = {}): () => StartedLab {
  return useLabOn(lab, { ...opts, backend: BACKEND });
}
