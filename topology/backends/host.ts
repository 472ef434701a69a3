import type { CommandResult } from "../run/exec.ts";
import type { ProcessRef } from "../run/process.ts";

export interface ExecOptions {
  /** Seconds before the command and everything it started are killed. */
  timeoutS?: number;
  input?: string;
  env?: Record<string, string>;
}

/** A long-lived process a Host started (a daemon): waited on by readiness strategies, ended by teardown. */
export interface Daemon {
  readonly name: string;
  /** The process as this machine's kernel knows it (pid + start time), for liveness and teardown. */
  readonly ref: ProcessRef;
  /** `/proc/<pid>` of the process on this machine: its network view is the node's (`net/tcp`, `net/udp`). */
  readonly proc: string;
  /** The file its stdout and stderr go to, on this machine. */
  readonly log: string;
}

/**
 * A part of a node with mount, pid and UTS namespaces of its own, sharing the node's network
 * namespace: where a product's daemons run as on a host of their own (see backends/enclave.ts).
 */
export interface EnclaveSpec {
  /** Names it (its keeper process, messages). */
  name: string;
  /** Its hostname (agents register under it). */
  hostname: string;
  /** Directories that get a fresh, private tmpfs inside (e.g. /run/netns, /tmp). */
  tmpfs: readonly string[];
  /** Environment of every command run in it. */
  env?: Record<string, string>;
  /** The keeper's log, on this machine. */
  log: string;
}

export interface Enclave extends Host {
  /** On this machine: ending it with SIGKILL ends every process in the enclave, and its mounts. */
  readonly keeper: Daemon;
  /** Where a path of the enclave's view is on this machine (/proc/<its init>/root/...). */
  machinePath(p: string): string;
  /** Ends a daemon started here and every process it started (workers, helpers): SIGTERM, SIGKILL after `graceMs`. */
  stop(d: Daemon, graceMs: number): Promise<void>;
}

export interface SpawnOptions {
  env?: Record<string, string>;
  /** Log file on this machine. */
  log: string;
}

/**
 * One node (or guest: an instance, a router or DHCP namespace, a server) as the backend supplies
 * it. Everything above backends/ reaches a node only through this: it never builds `ip netns exec`
 * lines, never touches the node's files or processes by host paths it guessed.
 */
export interface Host {
  /** Node or guest name. */
  readonly name: string;
  /**
   * Where the node's software is on this machine, as a path prefix ("/": this machine's own; a
   * namespace node's is its run's root): the stacks read installed versions under it. None for a
   * real host.
   */
  readonly softwareRoot?: string;
  readonly backend: string;
  /** Does the node run on this machine (so this machine's node binary and probe helper work in it)? */
  readonly local: boolean;
  /**
   * The name of its network namespace under /run/netns, where it has one on this machine (the
   * namespace and container backends); the fabric wires veths into it with `ip -n`.
   */
  readonly netns?: string;
  /**
   * A directory of the node's own for labwright's state in it (OVS/OVN databases, sockets, logs,
   * service roots). On the namespace and container backends it is the same path on this machine.
   */
  readonly stateDir: string;
  /** Runs argv in the node (no shell), with the node's environment. A timeout kills the whole process tree. */
  exec(argv: readonly string[], opts?: ExecOptions): Promise<CommandResult>;
  /** Starts a daemon in the node, detached so it can outlive this process (`labwright up`). */
  spawn(name: string, argv: readonly string[], opts: SpawnOptions): Daemon;
  /** Signals a daemon this Host started (only that very process: pid and start time). */
  signal(d: Daemon, sig: NodeJS.Signals): void;
  /** A file as the node sees it, or null when it does not exist. */
  readFile(path: string): Promise<string | null>;
  /** Writes a file as the node sees it. */
  writeFile(path: string, text: string): Promise<void>;
  /** Does a path exist in the node's view (a socket, a pid file)? */
  exists(path: string): Promise<boolean>;
  /** Names in a directory of the node's view ([] when it does not exist). */
  list(dir: string): Promise<string[]>;
  /**
   * The node's network namespace with this machine's filesystem, tools and processes in view (a
   * namespace node is that already; a container node's is the same namespace beside the container).
   * Daemons that must see this machine's processes (incusd and its instances) run here.
   */
  machineView?(): Host;
  /**
   * Starts an enclave in the node's network namespace (see EnclaveSpec); `started` records its
   * keeper before it is awaited. Hosts without namespaces on this machine (real hosts) have none.
   */
  enclave?(spec: EnclaveSpec, started: (keeper: Daemon) => void): Promise<Enclave>;
  /** Runs argv in the node attached to this terminal (`labwright exec`); returns its exit code. */
  interactive(argv: readonly string[], env: Record<string, string>): number;
  /** Runs argv in the node with its standard output into a file descriptor of this machine (binary-safe: packet captures). */
  pipe(argv: readonly string[], fd: number): number;
}
