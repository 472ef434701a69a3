import { existsSync, readdirSync, readlinkSync, rmSync, statSync } from "node:fs";
import { run } from "./exec.ts";
import { type ProcessRef, processStart, terminate } from "./process.ts";
import { NS_PREFIX, type RunState, runDir } from "./state.ts";

export interface TeardownReport {
  runId: string;
  processes: number;
  namespaces: number;
  paths: number;
  durationMs: number;
}

export function namespaceExists(ns: string): boolean {
  return existsSync(`/run/netns/${ns}`);
}

/**
 * Every process living in one of these namespaces (ours, since the namespaces are), found by
 * comparing /proc/<pid>/ns/net with the namespace's inode: no process spawned.
 */
function pidsIn(namespaces: readonly string[]): ProcessRef[] {
  const inodes = new Set<string>();
  for (const ns of namespaces) {
    try {
      inodes.add(`net:[${statSync(`/run/netns/${ns}`).ino}]`);
    } catch {
      /* gone */
    }
  }
  if (!inodes.size) return [];
  const refs: ProcessRef[] = [];
  for (const d of readdirSync("/proc")) {
    const pid = Number(d);
    if (!pid || pid === process.pid) continue;
    try {
      if (!inodes.has(readlinkSync(`/proc/${pid}/ns/net`))) continue;
    } catch {
      continue;
    }
    const start = processStart(pid);
    if (start !== null) refs.push({ pid, start });
  }
  return refs;
}

/**
 * Removes everything a run recorded: its processes (by recorded pid and start time, then anything
 * still inside its namespaces), its namespaces, its extra paths and its state directory.
 */
export async function teardown(state: RunState, opts: { keepRunDir?: boolean } = {}): Promise<TeardownReport> {
  const t0 = performance.now();
  const owned = state.namespaces.filter((ns) => ns.startsWith(`${NS_PREFIX}${state.id}`));
  const existing = owned.filter(namespaceExists);
  const recorded = state.processes.map((p) => `${p.pid}:${p.start}`);
  const stragglers = pidsIn(existing).filter((p) => !recorded.includes(`${p.pid}:${p.start}`));
  const processes = await terminate([...state.processes, ...stragglers]);
  if (existing.length) {
    const r = await run(["ip", "-force", "-batch", "-"], {
      input: existing.map((ns) => `netns delete ${ns}\n`).join(""),
      timeoutS: 60,
    });
    const left = existing.filter(namespaceExists);
    if (left.length) throw new Error(`could not delete namespaces ${left.join(", ")}: ${r.stderr.trim()}`);
  }
  let paths = 0;
  for (const p of state.paths) {
    // Only paths named after one of this run's namespaces are ever removed.
    if (!owned.some((ns) => p.includes(`/${ns}`))) continue;
    rmSync(p, { recursive: true, force: true });
    paths++;
  }
  if (!opts.keepRunDir) rmSync(runDir(state.id), { recursive: true, force: true });
  return { runId: state.id, processes, namespaces: existing.length, paths, durationMs: performance.now() - t0 };
}
