import { existsSync, rmSync } from "node:fs";
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

/** PIDs of every process living in a namespace (ours, since the namespace is). */
async function pidsIn(ns: string): Promise<ProcessRef[]> {
  const r = await run(["ip", "netns", "pids", ns], { timeoutS: 10 });
  return r.stdout
    .split("\n")
    .map((l) => Number(l.trim()))
    .filter((p) => p > 0 && p !== process.pid)
    .flatMap((pid) => {
      const start = processStart(pid);
      return start === null ? [] : [{ pid, start }];
    });
}

/**
 * Removes everything a run recorded: its processes (by recorded pid and start time, then anything
 * still inside its namespaces), its namespaces, its extra paths and its state directory.
 */
export async function teardown(state: RunState): Promise<TeardownReport> {
  const t0 = performance.now();
  const owned = state.namespaces.filter((ns) => ns.startsWith(`${NS_PREFIX}${state.id}`));
  let processes = await terminate(state.processes);
  const existing = owned.filter(namespaceExists);
  const stragglers = (await Promise.all(existing.map(pidsIn))).flat();
  processes += await terminate(stragglers, 1000);
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
  rmSync(runDir(state.id), { recursive: true, force: true });
  return { runId: state.id, processes, namespaces: existing.length, paths, durationMs: performance.now() - t0 };
}
