import { isNetnsSysctl, SYSCTL_VALUE } from "../model/names.ts";
import { CommandError, type CommandResult, type RunOptions } from "../run/exec.ts";

/** Sysctls every node gets before its own: the labs are IPv4, and IPv6 autoconfiguration only adds noise. */
export const BASE_SYSCTLS: Record<string, string> = {
  "net.ipv6.conf.all.disable_ipv6": "1",
  "net.ipv6.conf.default.disable_ipv6": "1",
};

type Exec = (argv: string[], opts?: RunOptions) => Promise<CommandResult>;

/**
 * Writes sysctls inside one node's network namespace. Each key was checked at load (a per-namespace
 * family); here it is checked again, and sysctl looks each up in the namespace's own view of
 * /proc/sys: the kernel shows a child namespace only the keys that are its own, so a host-wide key
 * is not found there and the start fails instead of writing it.
 */
export async function applySysctls(exec: Exec, sysctls: Readonly<Record<string, string>>, context: string): Promise<void> {
  const entries = Object.entries(sysctls);
  if (!entries.length) return;
  for (const [k, v] of entries) {
    if (!isNetnsSysctl(k)) throw new Error(`${context}: refusing sysctl ${JSON.stringify(k)}: not a per-network-namespace key`);
    if (!SYSCTL_VALUE.test(v)) throw new Error(`${context}: refusing value ${JSON.stringify(v)} for sysctl ${k}`);
  }
  // sysctl resolves each key in the namespace's own /proc/sys: a key that is not there is not written.
  const w = await exec(["sysctl", "-q", "-w", "--", ...entries.map(([k, v]) => `${k}=${v}`)], { timeoutS: 30 });
  const missing = [...w.stderr.matchAll(/cannot stat \/proc\/sys\/(\S+):/g)].map((m) => m[1]!.replaceAll("/", "."));
  if (missing.length) {
    throw new Error(
      `${context}: sysctl ${missing.join(", ")} does not exist inside the node's network namespace: either the kernel does not know it or it is host-wide (only per-namespace keys can be set on a node; labwright never changes the machine's own settings)`,
    );
  }
  // sysctl exits 0 on some write errors (EINVAL): anything on stderr is a failure.
  if (w.exitCode !== 0 || w.stderr.trim()) throw new CommandError({ ...w, exitCode: w.exitCode || 1 }, context);
}
