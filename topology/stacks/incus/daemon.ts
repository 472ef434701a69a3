import type { LogSource } from "../../logs/types.ts";
import { execFileSync } from "node:child_process";
import { copyFileSync, existsSync } from "node:fs";
import { join, relative, sep } from "node:path";
import type { Daemon, Host } from "../../backends/host.ts";
import { resolvingView } from "../../backends/machine-view.ts";
import { mustIn } from "../../backends/must.ts";
import type { NodeSpec } from "../../model/types.ts";
import { PreflightError, which } from "../../run/preflight.ts";
import { installedPackage } from "../../toolchain/dpkg.ts";
import { upstreamOf } from "../../toolchain/definition.ts";
import { pathExists } from "../../wait/path.ts";
import { logTail, waitFor } from "../../wait/wait.ts";
import { ovsDir } from "../ovs/daemons.ts";

/**
 * The real Incus on a lab's cluster members (`software: [incus]`): one incusd per member, started
 * from this machine inside the member's network namespace, with its own INCUS_DIR under the node's
 * directory and a mount namespace of its own; clustered the way `incus admin init` does it (the
 * first member bootstraps with a preseed, the others join with tokens). labwright adds only what
 * running several members on one machine needs, and says so here:
 * - each incusd runs in a pid namespace of its own (`unshare --kill-child`, a shell as its pid 1),
 *   so ending it ends every process it started (dnsmasq, forkdns, LXC monitors, instances); a
 *   restart (restart.ts) ends incusd alone and starts it again in the same namespaces;
 * - in its mount namespace /run is a fresh tmpfs where /run/openvswitch and /run/ovn are the node's
 *   OVS/OVN directory (Incus's default sockets: the member finds its own switch, as on a real host),
 *   INCUS_DIR is mounted at /run/labwright-incus (instances' unprivileged root can reach it there
 *   while the state tree stays root-only), and the state directory is mounted back; nothing of
 *   this is seen outside;
 * - the client (`incus` steps, `labwright exec` shells) finds the member's daemon by INCUS_DIR and
 *   keeps its configuration in INCUS_CONF, both the node's own; SSL_CERT_FILE is the lab's CA, so the
 *   `images:` remote served inside the lab is trusted and nothing else is.
 */

/**
 * The daemon binary: Debian's path, or another build (LABWRIGHT_INCUSD: a file on this machine,
 * bound into the run's root at the same path, and asked its version itself).
 */
export const INCUSD = process.env.LABWRIGHT_INCUSD ?? "/usr/libexec/incus/incusd";
const OVERRIDE = process.env.LABWRIGHT_INCUSD !== undefined;
const MIN_VERSION = [6, 0];

export function incusDir(stateDir: string): string {
  return join(stateDir, "incus");
}

/** The environment of a member's commands: its daemon, its client configuration, the lab's CA (a copy in the node's directory, which a container node sees too). */
export function incusEnv(stateDir: string): Record<string, string> {
  return { INCUS_DIR: incusDir(stateDir), INCUS_CONF: join(stateDir, "incus-client"), SSL_CERT_FILE: join(stateDir, "lab-ca.crt") };
}

/**
 * The Incus version under `root` (a lab's software: its toolchain, where incusd runs chrooted to
 * say it; "/" for this machine's own), or a PreflightError naming the package to install.
 */
export function incusVersion(root = "/"): string {
  const hint = OVERRIDE
    ? `LABWRIGHT_INCUSD=${INCUSD} is another build than the lab's toolchain's: unset it, or point it at Incus ${MIN_VERSION.join(".")} or newer`
    : root === "/"
      ? "install it with scripts/setup.sh (Debian 12: `apt-get install -t bookworm-backports --no-install-recommends incus-base`; Ubuntu 24.04: `apt-get install --no-install-recommends incus-base`)"
      : "pin incus-base and incus-client 6.0 or newer in the toolchain's file (topology/toolchains/, from bookworm-backports) and lock it again";
  const where = OVERRIDE ? INCUSD : join(root, INCUSD);
  if (!existsSync(where)) throw new PreflightError(`this lab runs the real Incus, and ${where} is missing: ${hint}`);
  let v: string;
  try {
    if (OVERRIDE) v = execFileSync(INCUSD, ["--version"], { encoding: "utf8", timeout: 10_000 }).trim();
    else if (root === "/") {
      v = execFileSync(INCUSD, ["--version"], { encoding: "utf8", timeout: 10_000 }).trim();
      execFileSync("incus", ["--version"], { encoding: "utf8", timeout: 10_000, stdio: "pipe" });
    } else {
      // A toolchain's: its package database says (incusd's own --version prints the upstream version the package carries).
      const pkg = installedPackage(root, "incus-base");
      if (!pkg || !which("incus", root)) throw Object.assign(new Error("not installed"), { path: pkg ? "incus" : "incusd" });
      v = upstreamOf(pkg).replace(/^\d+:/, "");
    }
    if (OVERRIDE && !which("incus", root)) throw Object.assign(new Error("not installed"), { path: "incus" });
  } catch (e) {
    throw new PreflightError(`this lab runs the real Incus, and ${(e as { path?: string }).path ?? "incus"} does not run: ${hint}`);
  }
  const [major = 0, minor = 0] = v.split(".").map(Number);
  if (major < MIN_VERSION[0]! || (major === MIN_VERSION[0] && minor < MIN_VERSION[1]!))
    throw new PreflightError(`Incus ${v} is too old for this lab (needs ${MIN_VERSION.join(".")} or newer): ${hint}`);
  return v;
}

/** The /run entry that holds the state root, remounted inside incusd's fresh /run ("" when the state is elsewhere). */
function keepUnderRun(stateDir: string): string {
  const rel = relative("/run", stateDir);
  return rel.startsWith("..") ? "" : join("/run", rel.split(sep)[0]!);
}

/** INCUS_DIR as incusd and its instances see it (its own mount namespace). */
export const INCUS_DIR_INSIDE = "/run/labwright-incus";

/** Fixed text; its arguments are paths labwright chose. */
const WRAPPER = [
  "set -e",
  'keep=$2; if [ -n "$keep" ]; then cd "$keep"; fi',
  "mount -t tmpfs -o mode=0755 incus-run /run",
  // A container node's sysfs superblock is read-only (Docker mounted the container's /sys so); the
  // kernel lets LXC mount sysfs for an instance only where a writable one is visible. Remounting
  // this view rw changes neither the container's own /sys mount (read-only per mount) nor a
  // namespace node's (already rw).
  "mount -o remount,rw /sys",
  "mkdir -p /run/openvswitch /run/ovn",
  'if [ -n "$keep" ]; then mkdir -p "$keep"; mount -c --rbind . "$keep"; fi',
  'mount --bind "$1" /run/openvswitch',
  'mount --bind "$1" /run/ovn',
  // Unprivileged instances' root (uid 1000000) must traverse the path to their root filesystem:
  // inside incusd's namespace INCUS_DIR is here (0711 under a fresh /run), so the state tree on
  // this machine stays root-only.
  `mkdir -p ${INCUS_DIR_INSIDE}`,
  `mount --bind "$4" ${INCUS_DIR_INSIDE}`,
  `export INCUS_DIR=${INCUS_DIR_INSIDE}`,
  '"$3" --group root &',
  // The namespace's pid 1 stays while incusd runs, reaping the orphans reparented to it. When
  // incusd ends, so does the namespace (its instances with it), unless a restart asked to keep it
  // ($5 exists: systemd's KillMode=process ends incusd alone, and its instances keep running).
  'while :; do wait; [ -e "$5" ] || exit 0; sleep 1; done',
].join("\n");

/** Exists while the namespace of a member's incusd outlives the daemon (a restart was asked). */
export function restartMarker(stateDir: string): string {
  return join(stateDir, "incusd.restarted");
}

export interface Member {
  node: NodeSpec;
  /** Commands as typed in the node (the `incus` client, `run:` steps). */
  host: Host;
  /** Where incusd runs: the node's namespace with this machine's view. */
  view: Host;
}

/** The address a member serves the cluster on: its first interface's (the management network in the seed). */
export function memberAddress(n: NodeSpec): string {
  const a = n.interfaces.find((i) => i.address)?.address;
  if (!a) throw new Error(`Incus member ${n.name} has no address to serve the cluster on: give its first interface an address`);
  return a;
}

/** Starts incusd on one member and waits until it answers. `started` records it before the wait. */
export async function startIncusd(m: Member, caFile: string, started: (d: Daemon) => void): Promise<void> {
  const dir = incusDir(m.host.stateDir);
  copyFileSync(caFile, join(m.host.stateDir, "lab-ca.crt"));
  await mustIn(m.view, ["mkdir", "-p", "-m", "0711", dir, ovsDir(m.host)], "creating INCUS_DIR", { timeoutS: 120 });
  await mustIn(m.view, ["mkdir", "-p", "-m", "0700", join(m.host.stateDir, "incus-client")], "creating INCUS_CONF", { timeoutS: 120 });
  // A container node's namespace seen from this machine: its resolver and hosts, not this machine's.
  await resolvingView(m.host);
  const argv = [
    "unshare",
    "--mount",
    "--pid",
    "--fork",
    "--kill-child",
    "--mount-proc",
    "--propagation",
    "private",
    "sh",
    "-c",
    WRAPPER,
    "incusd",
    ovsDir(m.host),
    keepUnderRun(m.host.stateDir),
    INCUSD,
    dir,
    restartMarker(m.host.stateDir),
  ];
  const d = m.view.spawn("incusd", argv, { log: join(m.host.stateDir, "incusd.log") });
  started(d);
  await waitFor(m.view, d, pathExists(join(dir, "unix.socket")), 30_000);
  await mustIn(m.view, ["incus", "admin", "waitready", "--timeout", "30"], "incus admin waitready", { timeoutS: 120 });
}

/** The first member bootstraps the cluster; each other member joins with a token, one after the other. */
export async function formCluster(members: Member[]): Promise<void> {
  const [first, ...rest] = members;
  if (!first) return;
  const profile = { name: "default", devices: { root: { path: "/", pool: "local", type: "disk" } } };
  const bootstrap = {
    config: { "core.https_address": `${memberAddress(first.node)}:8443` },
    storage_pools: [{ name: "local", driver: "dir" }],
    profiles: [profile],
    cluster: { server_name: first.node.name, enabled: true },
  };
  // JSON is YAML: the preseed needs no YAML writer.
  try {
    await mustIn(first.view, ["incus", "admin", "init", "--preseed"], "bootstrapping the Incus cluster (incus admin init --preseed)", {
      timeoutS: 120,
      input: JSON.stringify(bootstrap),
    });
  } catch (e) {
    throw new Error(`${(e as Error).message}\n  incusd on ${first.node.name}:\n${logTail(join(first.host.stateDir, "incusd.log"))}`);
  }
  if (!rest.length) return;
  // One after the other (joining in parallel measured no faster: about 1.1 s for two either way).
  for (const m of rest) {
    const token = (
      await mustIn(first.view, ["incus", "cluster", "add", m.node.name, "--quiet"], `incus cluster add ${m.node.name}`, { timeoutS: 120 })
    ).trim();
    const preseed = {
      cluster: {
        enabled: true,
        server_name: m.node.name,
        server_address: `${memberAddress(m.node)}:8443`,
        cluster_token: token,
        member_config: [{ entity: "storage-pool", name: "local", key: "source", value: "" }],
      },
    };
    try {
      await mustIn(m.view, ["incus", "admin", "init", "--preseed"], `${m.node.name} joining the Incus cluster`, {
        timeoutS: 120,
        input: JSON.stringify(preseed),
      });
    } catch (e) {
      throw new Error(
        `${(e as Error).message}\n  incusd on ${m.node.name}:\n${logTail(join(m.host.stateDir, "incusd.log"))}\n  incusd on ${first.node.name}:\n${logTail(join(first.host.stateDir, "incusd.log"))}`,
      );
    }
  }
}

/** incusd's log (its standard error, logfmt) of a member, read on this machine. */
export function incusLogSources(host: Host): LogSource[] {
  const file = join(host.stateDir, "incusd.log");
  const view = host.machineView?.() ?? host;
  return [{ node: host.name, daemon: "incusd", file, format: "logfmt", read: () => view.readFile(file) }];
}
