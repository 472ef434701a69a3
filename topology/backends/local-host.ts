import { spawnSync } from "node:child_process";
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { dirname } from "node:path";
import { run, type CommandResult } from "../run/exec.ts";
import type { Daemon, ExecOptions, Host, SpawnOptions } from "./host.ts";
import { signalProcess, spawnDetached } from "./spawn.ts";

/**
 * A node on this machine (a namespace or a container): commands go in through an argv prefix on
 * this machine (`command`), its files are reached through a path on this machine (`path`), and its
 * processes are this machine's, tracked and signalled by pid and start time.
 */
export abstract class LocalHost implements Host {
  abstract readonly backend: string;
  readonly local = true;
  abstract readonly name: string;
  abstract readonly netns: string;
  abstract readonly stateDir: string;
  protected abstract readonly env: Record<string, string>;

  /** The environment every command in the node gets. */
  get environment(): Record<string, string> {
    return this.env;
  }

  /** argv on this machine that runs `argv` inside the node. */
  abstract command(argv: readonly string[]): string[];
  /** Where a path of the node's view is on this machine. */
  protected abstract path(p: string): string;

  exec(argv: readonly string[], opts: ExecOptions = {}): Promise<CommandResult> {
    return run(this.command(argv), { ...opts, env: { ...this.env, ...opts.env } });
  }

  spawn(name: string, argv: readonly string[], opts: SpawnOptions): Daemon {
    return spawnDetached(name, this.command(argv), opts.log, { ...this.env, ...opts.env });
  }

  signal(d: Daemon, sig: NodeJS.Signals): void {
    signalProcess(d, sig);
  }

  interactive(argv: readonly string[], env: Record<string, string>): number {
    const [file, ...args] = this.command(argv);
    return spawnSync(file!, args, { stdio: "inherit", env: { ...process.env, ...this.env, ...env } }).status ?? 1;
  }

  pipe(argv: readonly string[], fd: number): number {
    const [file, ...args] = this.command(argv);
    return spawnSync(file!, args, { stdio: ["ignore", fd, "inherit"], env: { ...process.env, ...this.env } }).status ?? 1;
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
}
