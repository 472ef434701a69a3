import type { RunState } from "../run/state.ts";
import { removeRunDir } from "../run/state.ts";
import { type TeardownReport, teardownRun } from "../run/teardown.ts";
import { removeRunContainers } from "./containers/backend.ts";

/**
 * Removes every object of run `id`, on every backend that may have created some: its processes and
 * namespaces (found by the id), its containers (found by label), then its directory. `state` is used
 * only where it is trusted (its id is the directory's); a run with damaged state is looked for on
 * every backend.
 */
export async function stopRun(id: string, state: Readonly<RunState> | null): Promise<TeardownReport & { containers: number }> {
  const report = await teardownRun(id, state, { keepRunDir: true });
  const trusted = state?.id === id;
  // A run that finished starting recorded every container; any other is looked for by its label.
  const recorded =
    trusted && state.phase !== "starting" ? Object.values(state.nodes).flatMap((n) => (n.container ? [n.container.id] : [])) : undefined;
  const containers = !trusted || state.backend === "containers" ? await removeRunContainers(id, recorded) : 0;
  removeRunDir(id);
  return { ...report, containers };
}
