import { existsSync, mkdirSync, readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { isAlive, type ProcessRef } from "../run/process.ts";
import type { RunRecord } from "../run/state.ts";
import { spawnDetached } from "./spawn.ts";

/**
 * A run's root: a mount namespace whose `/` is an overlay of the toolchain's root filesystem
 * (lower, read-only, shared by every run) and the run's own directory (upper), so every command of
 * the lab runs the toolchain's binaries and a lab's writes to /etc, /var, /root or /tmp land in its
 * run and vanish with it. Bound in from this machine: /proc, /sys, /dev, /run/netns (as a slave, so
 * namespaces made later appear), /etc/netns (the nodes' resolv.conf and hosts), the run directory,
 * and read-only this Node.js binary and labwright's package (the probes' helper, the stacks' scripts).
 *
 * The keeper is one process: `unshare --mount` running a fixed shell text that mounts and
 * pivot_roots, then execs a sleeper (perl, its argv carrying the mark and the run's directory: teardown finds it by them, whatever the run's state file says). Commands enter with `nsenter --mount --root` on it. SIGKILL
 * to it (the run's teardown) and to the run's processes releases the namespace and its mounts.
 */

/** The name the keeper's shell carries (argv 0): how leftover checks recognise a run root. */
export const ROOT_MARK = "labwright-root";

/** Fixed text: $1 lower, $2 upper, $3 work, $4 the mount point, then `rw|ro path` pairs to bind at the same path. */
const WRAPPER = String.raw`set -eu
lower=$1 upper=$2 work=$3 m=$4; shift 4
mkdir -p "$upper" "$work" "$m"
mount -t overlay labwright-root -o "lowerdir=$lower,upperdir=$upper,workdir=$work" "$m"
for d in proc sys dev; do mount --rbind "/$d" "$m/$d"; done
mkdir -p /run/netns "$m/run/netns" /etc/netns "$m/etc/netns"
mount --rbind /run/netns "$m/run/netns"
mount --make-rslave "$m/run/netns"
mount --bind /etc/netns "$m/etc/netns"
while [ $# -gt 0 ]; do
  mode=$1 p=$2; shift 2
  if [ -d "$p" ]; then mkdir -p "$m$p"; else mkdir -p "$m$(dirname "$p")"; [ -e "$m$p" ] || : > "$m$p"; fi
  mount --bind "$p" "$m$p"
  [ "$mode" = rw ] || mount -o remount,bind,ro "$m$p"
done
cd "$m"
mkdir -p .labwright-old
pivot_root . .labwright-old
cd /
umount -l /.labwright-old
rmdir /.labwright-old
exec perl -e 'sleep' labwright-root "$upper"
`;

/**
 * Whether `path` is a shared mount point in this process's mount namespace (/proc/self/mountinfo:
 * the fifth field is the mount point, the optional fields carry `shared:N`). A mount made under a
 * shared mount later reaches the copies other mount namespaces made of it; under a mount that is
 * only a slave (a mount namespace made with `--propagation slave`) it reaches none.
 */
export function isSharedMount(path: string): boolean {
  try {
    return readFileSync("/proc/self/mountinfo", "utf8")
      .split("\n")
      .some((l) => {
        const f = l.split(" ");
        return f[4] === path && f.slice(6, f.indexOf("-")).some((o) => o.startsWith("shared:"));
      });
  } catch {
    return false;
  }
}

export interface RunRoot {
  /** The keeper: commands enter its mount namespace and root. */
  keeper: ProcessRef;
}

/**
 * What labwright's own helpers run from inside a node: this Node.js binary and labwright's package
 * (the directory holding its package.json: the probes' helper, the stacks' scripts).
 */
function helperPaths(): string[] {
  let dir = dirname(fileURLToPath(import.meta.url));
  while (!existsSync(join(dir, "package.json")) && dirname(dir) !== dir) dir = dirname(dir);
  return [process.execPath, dir];
}

/**
 * Starts the run's root over the toolchain root `lower`, with `extra` files of this machine bound
 * read-only at their paths; the keeper is recorded in the run before it starts mounting.
 */
export async function startRoot(rec: RunRecord, lower: string, extra: readonly string[] = []): Promise<RunRoot> {
  const base = join(rec.dir, "root");
  mkdirSync(base, { recursive: true, mode: 0o700 });
  const binds = [["rw", rec.dir], ...[...helperPaths(), ...extra].map((p) => ["ro", p])].flat();
  const argv = [
    "unshare",
    "--mount",
    "--propagation",
    "slave",
    "sh",
    "-c",
    WRAPPER,
    ROOT_MARK,
    lower,
    join(base, "upper"),
    join(base, "work"),
    join(base, "merged"),
    ...binds,
  ];
  const d = spawnDetached("root", argv, join(base, "keeper.log"), {});
  rec.update((s) => {
    s.processes.push({ ...d.ref, name: "root", node: "fabric", hard: true });
    s.root = d.ref;
  });
  await awaitPivot(d.ref, join(base, "keeper.log"));
  return { keeper: d.ref };
}

/**
 * Waits until the keeper exec'd its sleeper, perl (every mount in place and the root pivoted).
 * Measured: 38 ms on this 2-core machine; the 10 s bound only turns a keeper that hangs into an
 * error with its log, it is not a wait the start needs.
 */
async function awaitPivot(ref: ProcessRef, log: string, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (!isAlive(ref)) throw new Error(`the run's root ended during start:\n${tail(log)}`);
    try {
      if (readFileSync(`/proc/${ref.pid}/comm`, "utf8").trim() === "perl") return;
    } catch {
      /* not yet */
    }
    if (Date.now() > deadline) throw new Error(`the run's root was not ready within ${timeoutMs} ms:\n${tail(log)}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

function tail(file: string): string {
  try {
    return readFileSync(file, "utf8").trim().split("\n").slice(-8).join("\n") || "(empty log)";
  } catch {
    return "(no log)";
  }
}

/** argv on this machine that runs `argv` with the run's root as `/`. */
export function inRoot(root: RunRoot, argv: readonly string[]): string[] {
  return ["nsenter", `--target=${root.keeper.pid}`, "--mount", "--root", "--wd", "--", ...argv];
}

/** Where a path of the root is on this machine. */
export function rootPath(root: RunRoot, p: string): string {
  return join(`/proc/${root.keeper.pid}/root`, p);
}
