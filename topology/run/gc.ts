import { readdirSync, rmSync, statSync } from "node:fs";
import { listRunIds, NS_PREFIX, readState, runDir, isDead } from "./state.ts";
import { type TeardownReport, teardown } from "./teardown.ts";

export interface GcReport {
  removed: TeardownReport[];
  kept: string[];
  /** Namespaces that look like labwright's but that no run state claims: reported, never touched. */
  unclaimed: string[];
}

/** Removes what dead runs left behind, and nothing else. */
export async function gc(): Promise<GcReport> {
  const removed: TeardownReport[] = [];
  const kept: string[] = [];
  for (const id of listRunIds()) {
    const state = readState(id);
    if (!state) {
      // A directory without state.json: a run that died in its first millisecond. Nothing else exists for it.
      const age = Date.now() - statSync(runDir(id)).mtimeMs;
      if (age > 60_000) rmSync(runDir(id), { recursive: true, force: true });
      continue;
    }
    if (isDead(state)) removed.push(await teardown(state));
    else kept.push(id);
  }
  const claimed = new Set(listRunIds());
  let unclaimed: string[] = [];
  try {
    unclaimed = readdirSync("/run/netns").filter((ns) => {
      const m = new RegExp(`^${NS_PREFIX}([0-9a-f]{6})(-|$)`).exec(ns);
      return m !== null && !claimed.has(m[1]!);
    });
  } catch {
    /* no /run/netns */
  }
  return { removed, kept, unclaimed };
}
