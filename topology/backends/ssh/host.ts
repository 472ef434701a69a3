import pLimit from "p-limit";
import type { CommandResult } from "../../run/exec.ts";
import { quote } from "../../run/exec.ts";
import type { Daemon, ExecOptions, Host, SpawnOptions } from "../host.ts";
import type { Connections } from "./connection.ts";
import type { InventoryHost } from "./inventory.ts";

/** OpenSSH's default MaxSessions is 10 channels per connection: stay below it. */
const CHANNELS = 8;

/**
 * A real machine reached over SSH. Commands run through the remote user's shell as one quoted
 * command line; a timeout is enforced twice: by `timeout` on the host (which kills the command's
 * process group) and by closing the channel here. It has no network namespace on this machine and
 * starts no daemons: labwright reads real hosts, and changes them only through `--apply` steps.
 */
export class SshHost implements Host {
  readonly backend = "ssh";
  readonly local = false;
  readonly netns = undefined;
  readonly stateDir = "/var/tmp/labwright";
  private readonly limit = pLimit(CHANNELS);
  /** Set when the connection dropped: every later command fails with this reason at once. */
  private lost: string | undefined;

  constructor(
    readonly name: string,
    private readonly entry: InventoryHost,
    private readonly conns: Connections,
  ) {}

  exec(argv: readonly string[], opts: ExecOptions = {}): Promise<CommandResult> {
    return this.limit(() => this.run(argv, opts));
  }

  private async run(argv: readonly string[], opts: ExecOptions): Promise<CommandResult> {
    const t0 = performance.now();
    const timeoutS = opts.timeoutS ?? this.entry.command_timeout;
    const env = Object.entries(opts.env ?? {}).map(([k, v]) => `${k}=${v}`);
    const line = quote(["timeout", "--kill-after=2", String(timeoutS), ...(env.length ? ["env", ...env] : []), ...argv]);
    const fail = (why: string): CommandResult => ({
      argv,
      exitCode: null,
      signal: null,
      stdout: "",
      stderr: why,
      timedOut: false,
      durationMs: performance.now() - t0,
    });
    if (this.lost) return fail(this.lost);
    let conn;
    try {
      conn = await this.conns.get(this.name);
    } catch (e) {
      this.lost = (e as Error).message;
      return fail(this.lost);
    }
    return new Promise<CommandResult>((resolve) => {
      conn.exec(line, (err, stream) => {
        if (err) {
          this.lost = `${this.name}: the SSH connection failed: ${err.message}`;
          return resolve(fail(this.lost));
        }
        let stdout = "";
        let stderr = "";
        let timedOut = false;
        const guard = setTimeout(
          () => {
            timedOut = true;
            stream.close();
          },
          (timeoutS + 5) * 1000,
        );
        stream.on("data", (d: Buffer) => (stdout += d.toString("utf8")));
        stream.stderr.on("data", (d: Buffer) => (stderr += d.toString("utf8")));
        stream.on("close", (code: number | null, signal?: string) => {
          clearTimeout(guard);
          if (code === undefined && signal === undefined && !timedOut) {
            // The channel closed without an exit status: the connection went away under it.
            this.lost = `${this.name}: the SSH connection dropped mid-run`;
            return resolve(fail(this.lost));
          }
          // coreutils timeout exits 124 (137 after --kill-after) when it had to end the command.
          if (code === 124 || code === 137) timedOut = true;
          resolve({
            argv,
            exitCode: timedOut ? null : (code ?? null),
            signal: signal ?? null,
            stdout,
            stderr,
            timedOut,
            ...(timedOut ? { timeoutS } : {}),
            durationMs: performance.now() - t0,
          });
        });
        if (opts.input !== undefined) stream.end(opts.input);
        else stream.end();
      });
    });
  }

  spawn(name: string, _argv: readonly string[], _opts: SpawnOptions): Daemon {
    throw new Error(`${this.name}: labwright starts no daemon (${name}) on a real host; the lab's services must already run there`);
  }

  signal(_d: Daemon, _sig: NodeJS.Signals): void {
    throw new Error(`${this.name}: labwright signals no process on a real host`);
  }

  async readFile(path: string): Promise<string | null> {
    const r = await this.exec(["cat", "--", path], { timeoutS: 30 });
    return r.exitCode === 0 ? r.stdout : null;
  }

  async writeFile(path: string, text: string): Promise<void> {
    const r = await this.exec(["tee", "--", path], { input: text, timeoutS: 30 });
    if (r.exitCode !== 0) throw new Error(`${this.name}: writing ${path}: ${r.stderr.trim()}`);
  }

  async exists(path: string): Promise<boolean> {
    return (await this.exec(["test", "-e", path], { timeoutS: 30 })).exitCode === 0;
  }

  async list(dir: string): Promise<string[]> {
    const r = await this.exec(["ls", "-1A", "--", dir], { timeoutS: 30 });
    return r.exitCode === 0 ? r.stdout.split("\n").filter(Boolean) : [];
  }

  pipe(argv: readonly string[], _fd: number): number {
    throw new Error(
      `${this.name} is a real host: capture there with ssh ${this.entry.user}@${this.entry.address} -p ${this.entry.port} -- ${quote(argv)} > file.pcap`,
    );
  }

  interactive(argv: readonly string[], _env: Record<string, string>): number {
    throw new Error(
      `${this.name} is a real host: use ssh ${this.entry.user}@${this.entry.address} -p ${this.entry.port}${argv.length ? ` -- ${quote(argv)}` : ""}`,
    );
  }
}
