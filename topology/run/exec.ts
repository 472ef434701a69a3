import { execa } from "execa";

/** What one command did. A non-zero exit is a result, not an exception. */
export interface CommandResult {
  argv: readonly string[];
  exitCode: number | null;
  signal: string | null;
  stdout: string;
  stderr: string;
  timedOut: boolean;
  /** The limit that was hit, when timedOut. */
  timeoutS?: number;
  durationMs: number;
}

export interface RunOptions {
  /** Seconds before the whole process group is killed. */
  timeoutS?: number;
  input?: string;
  env?: Record<string, string>;
  /** Working directory (default: this process's). */
  cwd?: string;
}

export class CommandError extends Error {
  constructor(
    readonly result: CommandResult,
    context?: string,
  ) {
    const what = result.timedOut
      ? `was killed at its ${result.timeoutS ?? "?"} s time limit (ran ${(result.durationMs / 1000).toFixed(1)} s)`
      : result.signal
        ? `was killed by ${result.signal}`
        : `exited with code ${result.exitCode}`;
    const detail = (result.stderr || result.stdout).trim().split("\n").slice(-5).join("\n  ");
    super(`${context ? context + ": " : ""}command ${quote(result.argv)} ${what}${detail ? `\n  ${detail}` : ""}`);
    this.name = "CommandError";
  }
}

export function quote(argv: readonly string[]): string {
  return argv.map((a) => (/^[\w@%+=:,./-]+$/.test(a) ? a : `'${a.replaceAll("'", `'\\''`)}'`)).join(" ");
}

/**
 * Runs argv (no shell) in its own process group, so a timeout kills everything it forked.
 */
export async function run(argv: readonly string[], opts: RunOptions = {}): Promise<CommandResult> {
  const [file, ...args] = argv;
  if (!file) throw new Error("run: empty argv");
  const started = performance.now();
  const child = execa(file, args, {
    reject: false,
    detached: true,
    stripFinalNewline: false,
    input: opts.input,
    stdin: opts.input === undefined ? "ignore" : undefined,
    env: opts.env,
    extendEnv: true,
    ...(opts.cwd ? { cwd: opts.cwd } : {}),
  });
  let timedOut = false;
  const timer =
    opts.timeoutS !== undefined
      ? setTimeout(() => {
          timedOut = true;
          if (child.pid) {
            try {
              process.kill(-child.pid, "SIGKILL");
            } catch {
              /* already gone */
            }
          }
        }, opts.timeoutS * 1000)
      : undefined;
  const r = await child;
  if (timer) clearTimeout(timer);
  return {
    argv,
    exitCode: r.exitCode ?? null,
    signal: r.signal ?? null,
    stdout: String(r.stdout ?? ""),
    stderr: String(r.stderr ?? ""),
    timedOut,
    ...(timedOut ? { timeoutS: opts.timeoutS } : {}),
    durationMs: performance.now() - started,
  };
}

/** Like run, but a failure throws a CommandError that says what was run and what it printed. */
export async function must(argv: readonly string[], opts: RunOptions & { context?: string } = {}): Promise<CommandResult> {
  const r = await run(argv, opts);
  if (r.exitCode !== 0 || r.timedOut) throw new CommandError(r, opts.context);
  return r;
}
