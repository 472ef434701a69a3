import { existsSync, readdirSync, readFileSync, readlinkSync, statSync } from "node:fs";
import { rm } from "node:fs/promises";
import { run } from "./exec.ts";
import { isAlive, type ProcessRef, processStart, terminate } from "./process.ts";
import { NS_PREFIX, ownedBy, removeRunDir, runDir, type RunState } from "./state.ts";
import { batchLine } from "./tokens.ts";

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

/** Every namespace on this machine named like labwright's. */
export function labNamespaces(): string[] {
  try {
    return readdirSync("/run/netns").filter((ns) => ns.startsWith(NS_PREFIX));
  } catch {
    return [];
  }
}

/** Namespaces on this machine named after run `id`, whatever its state file says. */
export function namespacesOf(id: string): string[] {
  return labNamespaces().filter((ns) => ownedBy(id, ns));
}

/**
 * Every process living in one of these namespaces (ours, since the namespaces are), found by
 * comparing /proc/<pid>/ns/net with the namespace's inode: no process spawned.
 */
function inodesOf(namespaces: readonly string[]): Set<string> {
  const inodes = new Set<string>();
  for (const ns of namespaces) {
    try {
      inodes.add(`net:[${statSync(`/run/netns/${ns}`).ino}]`);
    } catch {
      /* gone */
    }
  }
  return inodes;
}

function netnsOf(pid: number): string | null {
  try {
    return readlinkSync(`/proc/${pid}/ns/net`);
  } catch {
    return null;
  }
}

function pidsIn(namespaces: readonly string[]): ProcessRef[] {
  const inodes = inodesOf(namespaces);
  if (!inodes.size) return [];
  const refs: ProcessRef[] = [];
  for (const d of readdirSync("/proc")) {
    const pid = Number(d);
    if (!pid || pid === process.pid) continue;
    const net = netnsOf(pid);
    if (net === null || !inodes.has(net)) continue;
    const start = processStart(pid);
    if (start !== null) refs.push({ pid, start });
  }
  return refs;
}

/**
 * The keeper of run `id`'s root (backends/root.ts), found by its argv: the mark and a path in the
 * run's directory (its shell's, and its sleeper's after the exec). It lives in this machine's
 * network namespace, where pidsIn does not look.
 */
function rootKeepersOf(id: string): ProcessRef[] {
  const dir = `${runDir(id)}/`;
  const refs: ProcessRef[] = [];
  for (const d of readdirSync("/proc")) {
    const pid = Number(d);
    if (!pid || pid === process.pid) continue;
    let argv: string[];
    try {
      argv = readFileSync(`/proc/${pid}/cmdline`, "utf8").split("\0");
    } catch {
      continue;
    }
    if (!argv.includes("labwright-root") || !argv.some((a) => a.startsWith(dir))) continue;
    const start = processStart(pid);
    if (start !== null) refs.push({ pid, start });
  }
  return refs;
}

/** Per-namespace files of run `id` (/etc/netns/<ns>/, bind-mounted over /etc in that namespace). */
function etcPathsOf(id: string): string[] {
  try {
    return readdirSync("/etc/netns")
      .filter((ns) => ownedBy(id, ns))
      .map((ns) => `/etc/netns/${ns}`);
  } catch {
    return [];
  }
}

/**
 * Removes everything of run `id`: the processes inside its namespaces, its namespaces, its
 * /etc/netns entries and its state directory. What is removed is found by the run id (the state
 * directory's name), never by what a state file claims: `state` only adds what it recorded that
 * also belongs to this id, so a damaged or copied state file cannot point teardown at another run.
 */
export async function teardownRun(
  id: string,
  state?: Readonly<RunState> | null,
  /**
   * `endProcesses: false` (with `only`): the namespaces' names go, and no process in them is
   * signalled — for a namespace that is another daemon's (an Incus instance's, neutron's), which
   * labwright only named.
   */
  opts: { keepRunDir?: boolean; only?: readonly string[]; endProcesses?: boolean } = {},
): Promise<TeardownReport> {
  const t0 = performance.now();
  const recorded = (state?.id === id ? state.namespaces : []).filter((ns) => ownedBy(id, ns));
  let namespaces = [...new Set([...recorded, ...namespacesOf(id)])];
  if (opts.only) namespaces = namespaces.filter((ns) => opts.only!.includes(ns));
  const existing = namespaces.filter(namespaceExists);
  const spare = opts.endProcesses === false;
  const found = spare ? [] : pidsIn(existing);
  // Recorded processes outside the run's namespaces (a daemon caught before it entered its
  // namespace) are ended too, unless they live in another run's namespace.
  const others = inodesOf(labNamespaces().filter((ns) => !ownedBy(id, ns)));
  const recordedRefs = (state?.id === id && !opts.only && !spare ? state.processes : []).filter((p) => {
    const net = netnsOf(p.pid);
    return net !== null && !others.has(net) && !found.some((f) => f.pid === p.pid);
  });
  // Processes recorded as `hard` first, with SIGKILL: a pid namespace's keeper (incusd's `unshare
  // --kill-child`) ends its whole namespace at once, where SIGTERM would start a graceful shutdown.
  const hard = [
    ...(state?.id === id && !opts.only && !spare ? state.processes : []).filter((p) => p.hard && isAlive(p)),
    // The run's root keeper, whatever the state file says (a damaged or copied one).
    ...(opts.only || spare ? [] : rootKeepersOf(id).filter((k) => !(state?.id === id && state.processes.some((p) => p.pid === k.pid)))),
  ];
  await terminate(hard, 0);
  const processes = hard.length + (await terminate([...found, ...recordedRefs].filter((p) => !hard.some((h) => h.pid === p.pid))));
  // The nodes' /etc/netns entries go while `ip` deletes the namespaces (independent; 3-9 ms of a
  // 17 ms teardown of the Incus lab's physical layer when one after the other).
  const etc = etcPathsOf(id).filter((p) => !opts.only || opts.only.some((ns) => p === `/etc/netns/${ns}`));
  const removed = Promise.all(etc.map((p) => rm(p, { recursive: true, force: true })));
  if (existing.length) {
    const r = await run(["ip", "-force", "-batch", "-"], {
      input: existing.map((ns) => batchLine("netns", "delete", ns)).join(""),
      timeoutS: 60,
    });
    const left = existing.filter(namespaceExists);
    if (left.length) {
      await removed.catch(() => {});
      throw new Error(`could not delete namespaces ${left.join(", ")}: ${r.stderr.trim()}`);
    }
  }
  await removed;
  const paths = etc.length;
  if (!opts.keepRunDir) removeRunDir(id);
  return { runId: id, processes, namespaces: existing.length, paths, durationMs: performance.now() - t0 };
}

/** Tears down a run from its (trusted) state. */
export function teardown(state: Readonly<RunState>, opts: { keepRunDir?: boolean } = {}): Promise<TeardownReport> {
  return teardownRun(state.id, state, opts);
}

export { NS_PREFIX };
