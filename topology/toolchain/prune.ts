import { readdirSync, rmSync } from "node:fs";
import { join } from "node:path";
import { isDead, listRunIds, readState } from "../run/state.ts";
import { TOOLCHAIN_CACHE } from "./build.ts";
import type { Toolchain } from "./definition.ts";

/**
 * Removes the builds of toolchains' older locks (`<name>-<hash>` whose hash is no longer the
 * file's), their build logs, and nothing while a run is live (its root's lower layer may be one).
 */
export async function pruneToolchains(current: readonly Toolchain[]): Promise<string[]> {
  const live = listRunIds().filter((id) => {
    const s = readState(id);
    return s !== null && !isDead(s);
  });
  if (live.length) throw new Error(`runs ${live.join(", ")} are live: stop them first (a run's root may stand on an older build)`);
  const keep = new Set(current.map((t) => `${t.name}-${t.hash}`));
  const names = current.map((t) => t.name);
  const removed: string[] = [];
  let entries: string[] = [];
  try {
    entries = readdirSync(TOOLCHAIN_CACHE);
  } catch {
    return [];
  }
  for (const e of entries) {
    const base = e.replace(/\.build\.log$/, "");
    const ofToolchain = names.some((n) => new RegExp(`^${n.replace(/\./g, "\\.")}-[0-9a-f]{12}$`).test(base));
    if (!ofToolchain || keep.has(base)) continue;
    rmSync(join(TOOLCHAIN_CACHE, e), { recursive: true, force: true });
    removed.push(e);
  }
  return removed;
}
