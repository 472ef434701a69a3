import { readFileSync } from "node:fs";

/** A process as the kernel knows it: pid plus start time, so a recycled pid is never mistaken for ours. */
export interface ProcessRef {
  pid: number;
  start: number;
}

/** Start time of a live, non-zombie process (clock ticks since boot), or null. */
export function processStart(pid: number): number | null {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    // comm may contain spaces and parentheses: fields start after the last ')'
    const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    if (fields[0] === "Z" || fields[0] === "X") return null;
    const start = Number(fields[19]);
    return Number.isFinite(start) ? start : null;
  } catch {
    return null;
  }
}

export function selfRef(): ProcessRef {
  const start = processStart(process.pid);
  if (start === null) throw new Error("cannot read /proc/self/stat: is /proc mounted?");
  return { pid: process.pid, start };
}

export function isAlive(ref: ProcessRef): boolean {
  return processStart(ref.pid) === ref.start;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * Ends the given processes (only if they are still the very processes recorded): SIGTERM, then
 * SIGKILL after graceMs. Returns how many were signalled.
 */
export async function terminate(refs: readonly ProcessRef[], graceMs = 2000): Promise<number> {
  const live = refs.filter(isAlive);
  for (const r of live) signal(r.pid, "SIGTERM");
  const deadline = Date.now() + graceMs;
  while (live.some(isAlive) && Date.now() < deadline) await sleep(1);
  for (const r of live.filter(isAlive)) signal(r.pid, "SIGKILL");
  const hard = Date.now() + 2000;
  while (live.some(isAlive) && Date.now() < hard) await sleep(1);
  return live.length;
}

function signal(pid: number, sig: NodeJS.Signals): void {
  try {
    process.kill(pid, sig);
  } catch {
    /* exited meanwhile */
  }
}
