import { join } from "node:path";
import type { Host } from "../host.ts";
import { LocalHost } from "../local-host.ts";
import { NetnsHost } from "../netns.ts";
import type { RunRoot } from "../root.ts";

/**
 * A node that is a Docker container. Commands enter the container's mount, UTS, IPC and network
 * namespaces with nsenter (a few ms, where `docker exec` costs about 46 ms), so the node has its own
 * filesystem, hostname and /etc files; its processes stay in this machine's pid namespace, where
 * labwright can track and end them. Its files are reached through /proc/<init pid>/root.
 */
export class ContainerHost extends LocalHost {
  readonly backend = "containers";
  constructor(
    readonly name: string,
    /** The container's network namespace, attached under /run/netns. */
    readonly netns: string,
    /** The container's init process on this machine. */
    private readonly pid: number,
    readonly stateDir: string,
    protected readonly env: Record<string, string> = {},
    /** The run's root: the machine view's files (where incusd and a kolla node's daemons run beside the container). */
    private readonly root?: RunRoot,
  ) {
    super();
  }

  get softwareRoot(): string {
    return this.path("/");
  }

  machineView(): Host {
    return new NetnsHost(this.name, this.netns, this.stateDir, this.env, this.root);
  }

  command(argv: readonly string[]): string[] {
    return ["nsenter", `--target=${this.pid}`, "--mount", "--uts", "--ipc", "--net", "--", ...argv];
  }

  /** A path in the container's filesystem, seen from this machine. */
  protected path(p: string): string {
    if (!p.startsWith("/")) throw new Error(`${this.name}: not an absolute path: ${p}`);
    return join(`/proc/${this.pid}/root`, p);
  }
}
