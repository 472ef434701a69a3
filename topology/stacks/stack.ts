import type { Daemon, Host } from "../backends/host.ts";
import type { LogSource } from "../logs/types.ts";
import type { Lab, NodeSpec, Software } from "../model/types.ts";

/**
 * A piece of node software as labwright runs it: what a lab file's `software:` names, what this
 * machine needs for it, how it starts on the lab's nodes, where its daemons log, what to collect when
 * a lab fails. One folder per stack (topology/stacks/<stack>/), one line in registry.ts. The lab's
 * start (topology/lab.ts) loops over the stacks a lab uses and knows none of them by name.
 */
export interface Stack {
  /** Its name in messages. */
  readonly name: string;
  /** The `software:` names it handles (a node runs the stack when it names one of them). */
  readonly software: readonly Software[];
  /** Tools this machine needs for a node of the stack (checked before anything is created). */
  tools(n: NodeSpec): readonly string[];
  /** The Debian package of each of its own tools (named when one is missing). */
  readonly toolPackages?: Readonly<Record<string, string>>;
  /** The version installed under `root` (the lab's software root; "/": this machine's), for the report, as [what, version]; throws PreflightError naming what to install. */
  version?(root: string): [string, string];
  /** Files of this machine its daemons need inside a run's root, bound read-only at the same path (another build named by an environment variable). */
  rootBinds?(): readonly string[];
  /** The environment every command typed in the node gets (paths under the node's directory). */
  env?(nodeDir: string): Record<string, string>;
  /** Starts the stack on its nodes of the lab; resolves when they answer. */
  start?(ctx: StackStart): Promise<void>;
  /**
   * A crashed node powers on again (`boot:`): the stack's daemons on `n` started as the machine's
   * boot starts its services, from the state they left on disk (nothing created or joined anew).
   * A stack without it cannot bring a node back, and a `boot:` of its nodes is refused.
   */
  boot?(ctx: StackStart, n: NodeSpec): Promise<void>;
  /** After a step changed the node's switch: the kernel-datapath pass, returning what it changed. */
  reconcile?(n: NodeSpec, view: Host): Promise<string[]>;
  /** Its daemons' log files on a node of a lab built on this machine. */
  logSources?(host: Host): Promise<LogSource[]>;
  /** What an engineer runs on a node of the stack when a lab fails (shell lines, in the node). */
  forensics?(n: NodeSpec): readonly string[];
  /** Log files whose tails the forensics bundle keeps: [directory in the node's view, lines]. */
  forensicLogs?(host: Host): readonly [string, number][];
  /** What a container node of the stack needs: Debian packages in its image, binaries of this machine bound in. */
  container?(s: Software): { packages: readonly string[]; binaries?: readonly string[] };
}

/** What a stack's start gets from the lab being built. */
export interface StackStart {
  readonly lab: Lab;
  /** The lab's nodes that run this stack, in the lab's order. */
  readonly nodes: readonly NodeSpec[];
  /** The fabric (where the LAN bridges are). */
  readonly fabric: Host;
  host(n: NodeSpec): Host;
  /** The fabric's ends of a node's links, in the order of its interfaces. */
  fabricPorts(n: NodeSpec): string[];
  /** Runs per-node work at most FAN_OUT at a time. */
  limit<T>(fn: () => Promise<T>): Promise<T>;
  /** The lab's certificate authority (made once per run, on first use). */
  ca(): Promise<string>;
  /** Records a daemon of a node in the run state, before it is awaited (`hard`: ended with SIGKILL, with all it started). */
  record(node: string, d: Daemon, opts?: { hard?: boolean }): void;
  say(message: string): void;
  /**
   * Resolves once the lab's service daemons (DNS, the image server, HTTP, ...) answer. A stack whose
   * daemons reach them as they start awaits it, as a machine boots into a network whose router and
   * name server already run (a booting node's services were started just before its stacks).
   */
  services(): Promise<void>;
}
