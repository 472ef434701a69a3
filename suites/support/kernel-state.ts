import { readdirSync, readFileSync, readlinkSync } from "node:fs";

/**
 * Machine-wide state a lab could leave behind in the kernel even when every process, namespace
 * name and run directory is gone — the candidates for an order dependence between suite files:
 * bridge netfilter settings, loaded modules, cgroups, and network namespaces still held by a
 * process (named under /run/netns or not). Compared before and after every suite file
 * (suites/support/per-file.ts).
 */
export interface KernelState {
  /** /proc/sys/net/bridge/* of the root namespace (br_netfilter's switches). */
  bridge: Record<string, string>;
  /** Loaded modules by name ("none" on a kernel without module support). */
  modules: string[];
  /** Cgroup directories (relative to /sys/fs/cgroup). */
  cgroups: string[];
  /** Network namespaces other than this process's, each with the commands of the processes that hold it. */
  heldNamespaces: Record<string, string[]>;
  /** Names under /run/netns. */
  namedNamespaces: string[];
  /** Mount points of this process's mount namespace. */
  mounts: string[];
}

/**
 * State that machine tools make on their first use and keep for as long as they run, whichever file
 * first uses them — never a lab's (measured in the clean-clone CI run of 2026-12-05, where the first
 * file to start a container left exactly these): iproute2's shared `/run/netns` mount (the first `ip
 * netns add` on a machine), dockerd's handle on its own network namespace (`/run/docker/netns/default`,
 * its first container) and runc's parent cgroup `docker` in each hierarchy (its first container). A
 * container's own cgroup (`<ctrl>/docker/<id>`) or rootfs mount still counts.
 */
const TOOL_STATE = { mounts: new Set(["/run/netns", "/run/docker/netns/default"]), cgroup: /^[^/]+\/docker$/ };

/**
 * The cgroups beside this process's own, in each hierarchy where it runs below the root: the ones
 * whatever started the suites makes for its other processes, never a lab's (a lab's daemons start
 * from this process, inside its cgroup, or under dockerd's `docker`). Measured in the clean-clone
 * run of 2026-12-06: this machine's process runner puts each agent's commands in
 * `memory/process_api/<hash>`; two agents started while the kolla suite ran, and their cgroups
 * counted as "left" by that file.
 */
function besideOwn(): (c: string) => boolean {
  const rules = (read("/proc/self/cgroup") ?? "")
    .split("\n")
    .filter(Boolean)
    .flatMap((l) => {
      const [, ctrls, path] = l.split(":") as [string, string, string];
      if (!path || path === "/") return [];
      const hierarchy = ctrls === "" ? "unified" : ctrls.replace(/^name=/, "");
      const parts = path.split("/").filter(Boolean);
      const own = parts.pop()!;
      return [{ prefix: [hierarchy, ...parts].join("/") + "/", own }];
    });
  return (c) => rules.some((r) => c.startsWith(r.prefix) && c.slice(r.prefix.length).split("/")[0] !== r.own);
}

function read(p: string): string | null {
  try {
    return readFileSync(p, "utf8");
  } catch {
    return null;
  }
}

function dirs(root: string, rel = "", depth = 0, out: string[] = []): string[] {
  if (depth > 6) return out;
  let entries;
  try {
    entries = readdirSync(`${root}/${rel}`, { withFileTypes: true });
  } catch {
    return out;
  }
  for (const e of entries) {
    if (!e.isDirectory()) continue;
    const r = rel ? `${rel}/${e.name}` : e.name;
    out.push(r);
    dirs(root, r, depth + 1, out);
  }
  return out;
}

export function kernelState(): KernelState {
  const foreign = besideOwn();
  const bridge: Record<string, string> = {};
  try {
    for (const k of readdirSync("/proc/sys/net/bridge")) bridge[k] = (read(`/proc/sys/net/bridge/${k}`) ?? "").trim();
  } catch {
    /* no bridge module */
  }
  const modulesText = read("/proc/modules");
  const own = readlinkSync("/proc/self/ns/net");
  const heldNamespaces: Record<string, string[]> = {};
  for (const d of readdirSync("/proc")) {
    if (!/^\d+$/.test(d)) continue;
    try {
      const ns = readlinkSync(`/proc/${d}/ns/net`);
      if (ns === own) continue;
      (heldNamespaces[ns] ??= []).push((read(`/proc/${d}/comm`) ?? "?").trim());
    } catch {
      /* gone, or a kernel thread */
    }
  }
  for (const k of Object.keys(heldNamespaces)) heldNamespaces[k]!.sort();
  let named: string[] = [];
  try {
    named = readdirSync("/run/netns").sort();
  } catch {
    /* none */
  }
  return {
    bridge,
    modules:
      modulesText === null
        ? ["none"]
        : modulesText
            .split("\n")
            .filter(Boolean)
            .map((l) => l.split(" ")[0]!)
            .sort(),
    cgroups: dirs("/sys/fs/cgroup")
      .filter((c) => !TOOL_STATE.cgroup.test(c) && !foreign(c))
      .sort(),
    heldNamespaces,
    namedNamespaces: named,
    mounts: (read("/proc/self/mountinfo") ?? "")
      .split("\n")
      .filter(Boolean)
      .map((l) => l.split(" ")[4]!)
      .filter((m) => !TOOL_STATE.mounts.has(m))
      .sort(),
  };
}

/** What differs between two states, one line each (empty when equal). */
export function kernelDiff(a: KernelState, b: KernelState): string[] {
  const out: string[] = [];
  for (const k of new Set([...Object.keys(a.bridge), ...Object.keys(b.bridge)]))
    if (a.bridge[k] !== b.bridge[k]) out.push(`net.bridge.${k}: ${a.bridge[k]} → ${b.bridge[k]}`);
  const added = (x: string[], y: string[]) => y.filter((v) => !x.includes(v));
  for (const m of added(a.modules, b.modules)) out.push(`module loaded: ${m}`);
  for (const c of added(a.cgroups, b.cgroups)) out.push(`cgroup left: ${c}`);
  for (const n of added(a.namedNamespaces, b.namedNamespaces)) out.push(`named namespace left: /run/netns/${n}`);
  for (const [ns, comms] of Object.entries(b.heldNamespaces))
    if (!a.heldNamespaces[ns]) out.push(`network namespace ${ns} still held by: ${[...new Set(comms)].join(", ")}`);
  for (const m of added(a.mounts, b.mounts)) out.push(`mount left: ${m}`);
  for (const m of added(b.mounts, a.mounts)) out.push(`mount gone: ${m}`);
  return out;
}
