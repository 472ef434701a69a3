import type { Host } from "./host.ts";

/**
 * A command in a node that must succeed: returns its standard output, or throws an Error saying
 * what it was for (`context`), the command, the node and what it printed (or its exit status).
 */
export async function mustIn(
  h: Host,
  argv: readonly string[],
  context: string,
  opts: { input?: string; timeoutS?: number } = {},
): Promise<string> {
  const r = await h.exec([...argv], { timeoutS: opts.timeoutS ?? 30, input: opts.input });
  if (r.exitCode !== 0 || r.timedOut) {
    const why = r.timedOut ? `timed out after ${opts.timeoutS ?? 30} s` : (r.stderr || r.stdout).trim() || `exit ${r.exitCode ?? r.signal}`;
    throw new Error(`${context}: ${argv.join(" ")} failed on ${h.name}: ${why}`);
  }
  return r.stdout;
}
