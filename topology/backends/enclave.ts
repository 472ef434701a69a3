import { readFileSync } from "node:fs";
import { join } from "node:path";
import { isAlive, processStart, type ProcessRef, terminate } from "../run/process.ts";
import type { Daemon, Enclave, EnclaveSpec, Host } from "./host.ts";
import { LocalHost } from "./local-host.ts";
import { signalProcess } from "./spawn.ts";

/**
 * An enclave: a part of a node with mount, pid and UTS namespaces of its own, sharing the node's
 * network namespace. It is what a host running several daemons of one product looks like to them
 * (neutron's agents make `qrouter-`/`qdhcp-` namespaces under /run/netns and spawn dnsmasq and
 * haproxy in them): its own /run/netns and /tmp (fresh tmpfs), its own hostname, and a pid
 * namespace whose init reaps orphans. Ending the keeper (`unshare --kill-child`) ends every process
 * in the enclave at once and, with its mount namespace, every namespace mounted in its /run/netns:
 * nothing of it can outlive the run, whatever the daemons inside did.
 */

/** Fixed text: its arguments are the hostname (a lab node name) and directories labwright chose. */
const WRAPPER = [
  "set -e",
  'hostname "$1"',
  "shift",
  'for d in "$@"; do',
  "  case $d in /tmp) m=1777 ;; *) m=0755 ;; esac",
  '  mkdir -p "$d"',
  '  mount -t tmpfs -o "mode=$m" labwright-enclave "$d"',
  "done",
  // pid 1 of the enclave: reaps what is orphaned inside (a daemon whose nsenter is gone) until the end.
  "exec perl -e 'while (1) { wait == -1 and sleep 1 }'",
].join("\n");

/** The name the keeper's shell carries (argv 0): how leftover checks recognise an enclave. */
export const ENCLAVE_MARK = "labwright-enclave";

/** Starts an enclave from a node's machine view (its network namespace with this machine's files and tools). */
export async function startEnclave(view: LocalHost, spec: EnclaveSpec, started: (keeper: Daemon) => void): Promise<Enclave> {
  const keeper = view.spawn(spec.name, keeperArgv(spec), { log: spec.log });
  started(keeper);
  const init = await awaitInit(keeper);
  return new EnclaveHost(view.name, view.backend, view.netns, view.stateDir, { ...view.environment, ...spec.env }, keeper, init);
}

/** The keeper's argv (to run in the node's network namespace). */
export function keeperArgv(spec: EnclaveSpec): string[] {
  return [
    "unshare",
    "--mount",
    "--pid",
    "--uts",
    "--fork",
    "--kill-child",
    "--mount-proc",
    "--propagation",
    "private",
    "sh",
    "-c",
    WRAPPER,
    ENCLAVE_MARK,
    spec.hostname,
    ...spec.tmpfs,
  ];
}

function childrenOf(pid: number): number[] {
  try {
    return readFileSync(`/proc/${pid}/task/${pid}/children`, "utf8").trim().split(/\s+/).filter(Boolean).map(Number);
  } catch {
    return [];
  }
}

function childOf(pid: number): number | undefined {
  return childrenOf(pid)[0];
}

/** A process and all its descendants, as they are now (pid and start time). */
function tree(pid: number): ProcessRef[] {
  const out: ProcessRef[] = [];
  const todo = [pid];
  while (todo.length) {
    const p = todo.pop()!;
    const start = processStart(p);
    if (start === null) continue;
    out.push({ pid: p, start });
    todo.push(...childrenOf(p));
  }
  return out;
}

/** Waits until the keeper's child is the enclave's init (the wrapper exec'd perl, so the mounts are in place). */
export async function awaitInit(keeper: Daemon, timeoutMs = 10_000): Promise<number> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (!isAlive(keeper.ref)) throw new Error(`enclave ${keeper.name} ended during start:\n${tail(keeper.log)}`);
    const init = childOf(keeper.ref.pid);
    if (init !== undefined) {
      try {
        if (readFileSync(`/proc/${init}/comm`, "utf8").trim() === "perl") return init;
      } catch {
        /* not yet */
      }
    }
    if (Date.now() > deadline) throw new Error(`enclave ${keeper.name} not ready within ${timeoutMs} ms:\n${tail(keeper.log)}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

function tail(file: string): string {
  try {
    return readFileSync(file, "utf8").trim().split("\n").slice(-8).join("\n");
  } catch {
    return "(no log)";
  }
}

/**
 * Commands enter the enclave with nsenter (mount, UTS, pid, network namespaces of its init); its
 * files are reached through /proc/<init>/root. A daemon started here is nsenter's child: signals go
 * to that child, the daemon itself.
 */
export class EnclaveHost extends LocalHost implements Enclave {
  constructor(
    readonly name: string,
    readonly backend: string,
    readonly netns: string,
    readonly stateDir: string,
    protected readonly env: Record<string, string>,
    readonly keeper: Daemon,
    /** The enclave's init (pid 1 inside) as this machine numbers it. */
    private readonly init: number,
  ) {
    super();
  }

  command(argv: readonly string[]): string[] {
    return ["nsenter", `--target=${this.init}`, "--mount", "--uts", "--pid", "--net", "--", ...argv];
  }

  /** The enclave's files are its node's (the run's root, or this machine's), seen through its init. */
  get softwareRoot(): string {
    return this.machinePath("/");
  }

  protected path(p: string): string {
    if (!p.startsWith("/")) throw new Error(`${this.name}: not an absolute path: ${p}`);
    return this.machinePath(p);
  }

  machinePath(p: string): string {
    return join(`/proc/${this.init}/root`, p);
  }

  /** The daemon itself (nsenter's child), else nsenter. */
  override signal(d: Daemon, sig: NodeJS.Signals): void {
    const child = isAlive(d.ref) ? childOf(d.ref.pid) : undefined;
    const start = child !== undefined ? processStart(child) : null;
    if (child !== undefined && start !== null) signalProcess({ ...d, ref: { pid: child, start } }, sig);
    else signalProcess(d, sig);
  }

  machineView(): Host {
    return this;
  }

  async stop(d: Daemon, graceMs: number): Promise<void> {
    if (!isAlive(d.ref)) return;
    const all = tree(d.ref.pid);
    this.signal(d, "SIGTERM");
    const deadline = Date.now() + graceMs;
    while (all.some(isAlive) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
    await terminate(all.filter(isAlive), 0);
  }
}
