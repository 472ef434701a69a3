import { availableParallelism } from "node:os";
import { isNetnsSysctl, SYSCTL_VALUE } from "../model/names.ts";
import { CommandError, type CommandResult, type RunOptions } from "../run/exec.ts";

/** Sysctls every node gets before its own: the labs are IPv4, and IPv6 autoconfiguration only adds noise. */
export const BASE_SYSCTLS: Record<string, string> = {
  "net.ipv6.conf.all.disable_ipv6": "1",
  "net.ipv6.conf.default.disable_ipv6": "1",
};

type Exec = (argv: string[], opts?: RunOptions) => Promise<CommandResult>;

/** Each key and value checked again (they were at load): per-namespace families only, plain values. */
function checked(sysctls: Readonly<Record<string, string>>, context: string): string[] {
  const entries = Object.entries(sysctls);
  for (const [k, v] of entries) {
    if (!isNetnsSysctl(k)) throw new Error(`${context}: refusing sysctl ${JSON.stringify(k)}: not a per-network-namespace key`);
    if (!SYSCTL_VALUE.test(v)) throw new Error(`${context}: refusing value ${JSON.stringify(v)} for sysctl ${k}`);
  }
  return entries.map(([k, v]) => `${k}=${v}`);
}

/** sysctl's answer for one namespace: a key it could not find there, or anything on its error output, fails. */
function judge(r: { exitCode: number | null; stderr: string }, result: CommandResult | null, context: string): void {
  const missing = [...r.stderr.matchAll(/cannot stat \/proc\/sys\/(\S+):/g)].map((m) => m[1]!.replaceAll("/", "."));
  if (missing.length) {
    throw new Error(
      `${context}: sysctl ${missing.join(", ")} does not exist inside the node's network namespace: either the kernel does not know it or it is host-wide (only per-namespace keys can be set on a node; labwright never changes the machine's own settings)`,
    );
  }
  // sysctl exits 0 on some write errors (EINVAL): anything on stderr is a failure.
  if (r.exitCode !== 0 || r.stderr.trim()) {
    if (result) throw new CommandError({ ...result, exitCode: r.exitCode || 1, stderr: r.stderr }, context);
    throw new Error(`${context}: sysctl failed (exit ${r.exitCode}): ${r.stderr.trim()}`);
  }
}

/**
 * Writes sysctls inside one node's network namespace. Each key was checked at load (a per-namespace
 * family); here it is checked again, and sysctl looks each up in the namespace's own view of
 * /proc/sys: the kernel shows a child namespace only the keys that are its own, so a host-wide key
 * is not found there and the start fails instead of writing it.
 */
export async function applySysctls(exec: Exec, sysctls: Readonly<Record<string, string>>, context: string): Promise<void> {
  const words = checked(sysctls, context);
  if (!words.length) return;
  // sysctl resolves each key in the namespace's own /proc/sys: a key that is not there is not written.
  const w = await exec(["sysctl", "-q", "-w", "--", ...words], { timeoutS: 30 });
  judge(w, w, context);
}

/**
 * Fixed text: the sysctls of many namespaces in one process. Arguments: per namespace its name
 * under /run/netns, the number of `key=value` words, the words. `nsenter --net` is enough: the
 * kernel resolves /proc/sys/net in the namespace of the process that opens it (what `ip netns exec`
 * adds, a mount namespace and /sys, sysctl does not need).
 */
const BATCH = [
  "set -u",
  "while (($#)); do",
  "  ns=$1 n=$2; shift 2",
  '  echo "@@ns $ns"',
  '  nsenter "--net=/run/netns/$ns" sysctl -q -w -- "${@:1:n}" 2>&1 || echo "@@exit $?"',
  '  shift "$n"',
  "done",
].join("\n");

/**
 * The same for many namespaces of this machine at once, through `exec` (a shell in any namespace
 * of the run that sees /run/netns): one process instead of one per node. A lab of 1000 nodes
 * spent most of its start in per-node sysctl commands.
 */
export async function applySysctlsBatch(
  exec: Exec,
  jobs: readonly { netns: string; sysctls: Readonly<Record<string, string>>; context: string }[],
): Promise<void> {
  const todo = jobs.map((j) => ({ ...j, words: checked(j.sysctls, j.context) })).filter((j) => j.words.length);
  if (!todo.length) return;
  // One shell per core: each namespace costs a fork of nsenter and of sysctl (3 ms here). 120 s bounds
  // a hung shell, it is not a wait: measured 1.63 s for 1000 nodes on 2 cores (bench --scale).
  const runs = await Promise.all(
    chunks(todo, availableParallelism()).map((part) =>
      exec(["bash", "-c", BATCH, "sysctls", ...part.flatMap((j) => [j.netns, String(j.words.length), ...j.words])], { timeoutS: 120 }),
    ),
  );
  const out = new Map<string, { lines: string[]; exitCode: number }>();
  for (const r of runs) {
    let cur: { lines: string[]; exitCode: number } | undefined;
    for (const line of r.stdout.split("\n")) {
      const m = /^@@ns (\S+)$/.exec(line);
      if (m) out.set(m[1]!, (cur = { lines: [], exitCode: 0 }));
      else if (cur && /^@@exit (\d+)$/.test(line)) cur.exitCode = Number(line.slice(7));
      else if (cur && line.trim()) cur.lines.push(line);
    }
  }
  for (const j of todo) {
    const got = out.get(j.netns);
    if (!got) {
      const r = runs.find((x) => x.exitCode !== 0) ?? runs[0]!;
      throw new Error(`${j.context}: the sysctl batch ended before this node (exit ${r.exitCode}): ${r.stderr.trim().slice(0, 300)}`);
    }
    judge({ exitCode: got.exitCode, stderr: got.lines.join("\n") }, null, j.context);
  }
}

/** `items` in at most `n` consecutive parts of near-equal size. */
export function chunks<T>(items: readonly T[], n: number): T[][] {
  const size = Math.ceil(items.length / Math.max(1, n));
  const out: T[][] = [];
  for (let k = 0; k < items.length; k += size) out.push(items.slice(k, k + size));
  return out;
}
