import { readFileSync } from "node:fs";

/** A process as the kernel knows it: pid plus start time, so a recycled pid is never mistaken for ours. */
export interface ProcessRef {
  pid: number;
  start: number;
}

/** The kernel's PF_EXITING (include/linux/sched.h), in /proc/<pid>/stat's flags: the process is ending. */
const PF_EXITING = 0x4;

/**
 * Start time of a live process (clock ticks since boot), or null: null for a zombie and for a
 * process already in its exit. The second matters for the init of a pid namespace (an enclave's
 * keeper): killed, it stays in exit until every process of its namespace has been reaped, and
 * orphans are reaped by this machine's pid 1 — here a supervisor that reaps about once a second
 * (measured: the keeper a zombie 19 ms after its SIGKILL when its namespace was empty, gone 1.0 s
 * later; with its namespace's daemons it stayed in exit 1.2-1.9 s, which every kolla teardown
 * waited for). A container without an init never reaps them at all.
 */
export function processStart(pid: number): number | null {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    // comm may contain spaces and parentheses: fields start after the last ')'
    const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    if (fields[0] === "Z" || fields[0] === "X") return null;
    if (Number(fields[6]) & PF_EXITING) return null;
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
