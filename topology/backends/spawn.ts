import { spawn } from "node:child_process";
import { closeSync, openSync } from "node:fs";
import { isAlive, processStart } from "../run/process.ts";
import type { Daemon } from "./host.ts";

/**
 * Starts `argv` detached (its own session, so it outlives this process for `labwright up`), output
 * to `log`. `argv` already carries the backend's way into the node (`ip netns exec`, `nsenter`), each
 * of which execs the command, so the pid is the daemon's own.
 */
export function spawnDetached(name: string, argv: readonly string[], log: string, env?: Record<string, string>): Daemon {
  const fd = openSync(log, "a", 0o600);
  try {
    const child = spawn(argv[0]!, argv.slice(1), { detached: true, stdio: ["ignore", fd, fd], env: { ...process.env, ...env } });
    child.unref();
    if (!child.pid) throw new Error(`could not start ${name}`);
    // A freshly forked child may not show its start time for a moment.
    let start = processStart(child.pid);
    for (let k = 0; start === null && k < 100; k++) start = processStart(child.pid);
    return { name, ref: { pid: child.pid, start: start ?? 0 }, proc: `/proc/${child.pid}`, log };
  } finally {
    closeSync(fd);
  }
}

/** Signals a daemon started on this machine, if it is still that very process. */
export function signalProcess(d: Daemon, sig: NodeJS.Signals): void {
  if (!isAlive(d.ref)) return;
  try {
    process.kill(d.ref.pid, sig);
  } catch {
    /* exited meanwhile */
  }
}
