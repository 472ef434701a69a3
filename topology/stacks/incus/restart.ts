import { readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import type { Daemon } from "../../backends/host.ts";
import { mustIn } from "../../backends/must.ts";
import { isAlive, processStart, type ProcessRef } from "../../run/process.ts";
import { pathExists } from "../../wait/path.ts";
import { waitFor } from "../../wait/wait.ts";
import { INCUS_DIR_INSIDE, INCUSD, incusDir, type Member, restartMarker } from "./daemon.ts";

/**
 * `systemctl restart incus` on a member, as Debian's incus.service does it: KillMode=process, so
 * SIGTERM goes to incusd alone (Incus reads it as a reload: it waits for its operations, unmounts
 * its image and backup volumes and exits, leaving instances and networks running), SIGKILL after
 * TimeoutStopSec (330 s); then incusd starts again (ExecStart) and the unit is started once
 * `incusd waitready` answers (ExecStartPost). Here the new incusd enters the namespaces the first
 * one ran in (daemon.ts: the pid namespace's keeper holds them and the instances through the
 * restart). Returns how long each half took.
 */
const STOP_TIMEOUT_MS = 330_000;

type Recorded = ProcessRef & { name: string; node: string; hard?: boolean };

function children(pid: number): number[] {
  try {
    return readFileSync(`/proc/${pid}/task/${pid}/children`, "utf8").trim().split(/\s+/).filter(Boolean).map(Number);
  } catch {
    return [];
  }
}

const cmdline = (pid: number) => {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, "utf8").split("\0").filter(Boolean);
  } catch {
    return [];
  }
};

/** The running daemon (not one of its `incusd fork…` helpers): a child of `parent` started as `incusd --group root`. */
function daemonUnder(parent: number): number | undefined {
  return children(parent).find((c) => {
    const a = cmdline(c);
    return a[0] === INCUSD && a[1] === "--group";
  });
}

/**
 * The member's pid-namespace keeper (the recorded `unshare`'s child) and its running incusd: the
 * keeper's own child, or, after an earlier restart, the child of the `nsenter` that started it.
 */
export function locate(processes: readonly Recorded[], member: string): { keeper?: number; incusd?: number } {
  const mine = processes.filter((p) => p.node === member && p.name === "incusd" && isAlive(p));
  const unshare = mine.findLast((p) => p.hard);
  const keeper = unshare ? children(unshare.pid)[0] : undefined;
  if (!keeper) return {};
  const latest = mine.at(-1)!;
  return { keeper, incusd: latest === unshare ? daemonUnder(keeper) : daemonUnder(latest.pid) };
}

export async function restartIncusd(
  m: Member,
  processes: readonly Recorded[],
  started: (d: Daemon) => void,
): Promise<{ ok: true; stoppedMs: number; readyMs: number; how: string } | { ok: false; why: string }> {
  const { keeper, incusd } = locate(processes, m.node.name);
  if (!keeper || !incusd) return { ok: false, why: `incusd on ${m.node.name} is not running` };
  const ref = { pid: incusd, start: processStart(incusd) ?? -1 };
  const t0 = performance.now();
  writeFileSync(restartMarker(m.host.stateDir), "");
  process.kill(incusd, "SIGTERM");
  let how = "SIGTERM to incusd alone (KillMode=process)";
  const deadline = Date.now() + STOP_TIMEOUT_MS;
  while (isAlive(ref) && Date.now() < deadline) await new Promise((x) => setTimeout(x, 50));
  if (isAlive(ref)) {
    how += `, still running after ${STOP_TIMEOUT_MS / 1000} s: killed`;
    process.kill(incusd, "SIGKILL");
    while (isAlive(ref)) await new Promise((x) => setTimeout(x, 20));
  }
  const stoppedMs = performance.now() - t0;
  const dir = incusDir(m.host.stateDir);
  rmSync(join(dir, "unix.socket"), { force: true });
  const argv = ["nsenter", "-t", String(keeper), "-m", "-p", "--", "env", `INCUS_DIR=${INCUS_DIR_INSIDE}`, INCUSD, "--group", "root"];
  const d = m.view.spawn("incusd", argv, { log: join(m.host.stateDir, "incusd.log") });
  started(d);
  await waitFor(m.view, d, pathExists(join(dir, "unix.socket")), 30_000);
  await mustIn(m.view, ["incus", "admin", "waitready", "--timeout", "30"], "incus admin waitready", { timeoutS: 120 });
  return { ok: true, stoppedMs, readyMs: performance.now() - t0 - stoppedMs, how };
}
