import { inspectRun, isDead, isDeadDamaged, listRunIds, NS_PREFIX, RUN_ID, type RunState } from "./state.ts";
import { labNamespaces, type TeardownReport, teardownRun } from "./teardown.ts";

/** How a dead run is removed: by default its namespaces, processes and files; backends add their own objects. */
export type RemoveRun = (id: string, state: Readonly<RunState> | null) => Promise<TeardownReport>;

export interface GcReport {
  removed: (TeardownReport & { note?: string })[];
  kept: string[];
  /** Namespaces that look like labwright's but that no run directory claims: reported, never touched. */
  unclaimed: string[];
  /** Runs whose state could not be read, and why (each is judged by its owner file instead). */
  damaged: { id: string; why: string }[];
}

/**
 * Removes what dead runs left behind, and nothing else. A run is its directory's name: whatever its
 * state file says (damaged, empty, copied from another run), only objects named after that id are
 * removed, and only when the run's owner is gone.
 */
export async function gc(remove: RemoveRun = (id, state) => teardownRun(id, state)): Promise<GcReport> {
  const report: GcReport = { removed: [], kept: [], unclaimed: [], damaged: [] };
  for (const id of listRunIds()) {
    try {
      const info = inspectRun(id);
      if (info.ok) {
        if (isDead(info.state)) report.removed.push(await remove(id, info.state));
        else report.kept.push(id);
        continue;
      }
      report.damaged.push({ id, why: info.why });
      if (isDeadDamaged(info)) report.removed.push({ ...(await remove(id, null)), note: info.why });
      else report.kept.push(id);
    } catch (e) {
      // One run's trouble never stops gc for the others.
      report.damaged.push({ id, why: `gc failed for this run: ${(e as Error).message}` });
    }
  }
  const claimed = new Set(listRunIds());
  const idOf = new RegExp(`^${NS_PREFIX}([0-9a-f]{6})(-|$)`);
  report.unclaimed = labNamespaces().filter((ns) => {
    const m = idOf.exec(ns);
    return m !== null && RUN_ID.test(m[1]!) && !claimed.has(m[1]!);
  });
  return report;
}
