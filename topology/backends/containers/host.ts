import { spawnSync } from "node:child_process";
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { run, type CommandResult } from "../../run/exec.ts";
import type { Daemon, ExecOptions, Host, SpawnOptions } from "../host.ts";
import { signalProcess, spawnDetached } from "../spawn.ts";

/**
 * A node that is a Docker container. Commands enter the container's mount, UTS, IPC and network
 * namespaces with nsenter (a few ms, where `docker exec` costs about 46 ms), so the node has its own
 * filesystem, hostname and /etc files; its processes stay in this machine's pid namespace, where
 * labwright can track and end them. Its files are reached through /proc/<init pid>/root.
 */
export class ContainerHost implements Host {
  readonly backend = "containers";
  readonly local = true;
  constructor(
    readonly name: string,
    /** The container's network namespace, attached under /run/netns. */
    readonly netns: string,
    /** The container's init process on this machine. */
    private readonly pid: number,
    readonly stateDir: string,
    private readonly env: Record<string, string> = {},
  ) {}

  /** argv on this machine that runs `argv` inside the container. */
  command(argv: readonly string[]): string[] {
    return ["nsenter", `--target=${this.pid}`, "--mount", "--uts", "--ipc", "--net", "--", ...argv];
  }

  exec(argv: readonly string[], opts: ExecOptions = {}): Promise<CommandResult> {
    return run(this.command(argv), { ...opts, env: { ...this.env, ...opts.env } });
  }

  spawn(name: string, argv: readonly string[], opts: SpawnOptions): Daemon {
    return spawnDetached(name, this.command(argv), opts.log, { ...this.env, ...opts.env });
  }

  signal(d: Daemon, sig: NodeJS.Signals): void {
    signalProcess(d, sig);
  }

  /** A path in the container's filesystem, seen from this machine. */
  private path(p: string): string {
    if (!p.startsWith("/")) throw new Error(`${this.name}: not an absolute path: ${p}`);
    return join(`/proc/${this.pid}/root`, p);
  }

  async readFile(path: string): Promise<string | null> {
    try {
      return readFileSync(this.path(path), "utf8");
    } catch {
      return null;
    }
  }

  async writeFile(path: string, text: string): Promise<void> {
    const p = this.path(path);
    mkdirSync(dirname(p), { recursive: true });
    writeFileSync(p, text);
  }

  async exists(path: string): Promise<boolean> {
    return existsSync(this.path(path));
  }

  async list(dir: string): Promise<string[]> {
    try {
      return readdirSync(this.path(dir));
    } catch {
      return [];
    }
  }

  /** An interactive command with this terminal (`labwright exec`). */
  interactive(argv: readonly string[], env: Record<string, string>): number {
    const [file, ...args] = this.command(argv);
    return spawnSync(file!, args, { stdio: "inherit", env: { ...process.env, ...this.env, ...env } }).status ?? 1;
  }
}
