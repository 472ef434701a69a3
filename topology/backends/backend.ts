import type { Lab, NodeSpec } from "../model/types.ts";
import type { RunRecord, RunState } from "../run/state.ts";
import type { Host } from "./host.ts";
import type { ToolchainInfo } from "../toolchain/info.ts";

/** What a container node needs for its software (the stacks say: topology/stacks/registry.ts). */
export interface NodeNeeds {
  /** Debian packages its image holds. */
  packages: readonly string[];
  /** Binaries of this machine bound into it at the same path. */
  binaries: readonly string[];
}

export interface UpOptions {
  signal?: AbortSignal;
  say?: (m: string) => void;
  /** What each node's software needs in a node the backend makes (a container's image). */
  needs?: (n: NodeSpec) => NodeNeeds;
  /** Files of this machine bound read-only into the run's root at the same path (the stacks': another build of a daemon). */
  binds?: readonly string[];
}

/** What a backend hands the lab once its nodes exist. */
export interface Nodes {
  /** The fabric: where the LAN bridges live (a network namespace of the run); none for real hosts. */
  readonly fabric?: Host;
  readonly hosts: ReadonlyMap<string, Host>;
}

/**
 * What differs between backends: how nodes come to exist and go away, and how a command reaches
 * them. Each step records what it creates in the run state before creating it, so teardown and gc
 * find it after a crash.
 */
/** Where a lab's software comes from on this machine. */
export interface SoftwareSource {
  /** The root filesystem its daemons and tools are under ("/": this machine's own). */
  root: string;
  /** The toolchain that root is (none: this machine's own files, or real hosts'). */
  toolchain?: ToolchainInfo;
}

export interface Backend {
  readonly name: string;
  /** Where this lab's software comes from (a toolchain is built first if this machine has none; progress through `say`). */
  software?(lab: Lab, say: (m: string) => void): Promise<SoftwareSource>;
  /** Does it build the lab (namespaces, containers)? Real hosts are only read, and changed by `--apply` steps. */
  readonly builds: boolean;
  /** What of this lab this backend cannot do, with the reason (refused at start, never skipped). */
  refuses?(lab: Lab): string | null;
  /** Everything this backend needs on this machine for this lab; throws PreflightError naming what to install or start. */
  preflight(lab: Lab): Promise<void>;
  /** Creates the fabric and one Host per node (nothing wired yet). */
  up(rec: RunRecord, lab: Lab, opts: UpOptions): Promise<Nodes>;
  /** A guest of node `of` (an instance, a router or DHCP namespace, a server): a namespace on this machine. */
  guest(rec: RunRecord, name: string, of: string, env?: Record<string, string>): Promise<Host>;
  /** The Host of a node or guest of a live run, from its state (for `labwright exec`, steps after a restart). */
  attach(state: Readonly<RunState>, node: string): Host;
  /** Releases what the backend holds open (SSH connections). */
  close?(): Promise<void>;
}

/** Removes what a backend created for run `id`, found by the run id (and `state` where trusted). */
export interface BackendCleaner {
  readonly name: string;
  removeRun(id: string): Promise<number>;
}
