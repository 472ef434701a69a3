import { join } from "node:path";
import type { Daemon, Host } from "../backends/host.ts";
import type { NodeSpec } from "../model/types.ts";
import { script } from "../run/tokens.ts";
import { ctlSocket, pathExists } from "../wait/path.ts";
import type { WaitStrategy } from "../wait/strategy.ts";
import { waitFor } from "../wait/wait.ts";
import { startWatcher } from "./kernel-datapath.ts";

/**
 * Open vSwitch and OVN as node software: what installing `ovn-host` / `ovn-central` and starting
 * their services does, inside one node's namespace, with the node's own directory for sockets,
 * databases and logs, and the userspace datapath (this machine's kernel has no openvswitch module).
 * Every workaround from ../shared/notes/ovn-in-netns.md is applied here, never by a lab file.
 */

/** One directory per node for everything OVS and OVN keep: sockets, databases, pid files, logs (in the node's view). */
export function ovsDir(host: Pick<Host, "stateDir">): string {
  return join(host.stateDir, "ovs");
}

/**
 * The environment every command in the node gets, so `ovs-vsctl`, `ovs-appctl`, `ovn-nbctl`,
 * `ovn-sbctl` and `ovn-appctl` typed by an operator find the node's own daemons.
 */
export function ovsEnv(dir: string): Record<string, string> {
  const env: Record<string, string> = {};
  for (const p of ["OVS", "OVN"]) for (const d of ["RUNDIR", "DBDIR", "LOGDIR", "SYSCONFDIR"]) env[`${p}_${d}`] = dir;
  return env;
}

export interface OvsDaemon {
  name: string;
  argv: string[];
  /** When the daemon answers (its socket exists). */
  ready: WaitStrategy;
}

const ctlOf = (dir: string, name: string) => ctlSocket(dir, name);

/** Databases the daemons need, created in the node as the packages' postinst scripts would. */
export async function createDatabases(node: NodeSpec, dir: string, host: Host): Promise<void> {
  const mk = await host.exec(["mkdir", "-p", dir], { timeoutS: 10 });
  if (mk.exitCode !== 0) throw new Error(`creating ${dir} on ${node.name}: ${mk.stderr.trim()}`);
  const dbs: [string, string][] = [];
  if (node.software.some((x) => x === "ovn-host" || x === "openvswitch")) dbs.push(["conf.db", "/usr/share/openvswitch/vswitch.ovsschema"]);
  if (node.software.includes("ovn-central")) {
    dbs.push(["ovnnb_db.db", "/usr/share/ovn/ovn-nb.ovsschema"], ["ovnsb_db.db", "/usr/share/ovn/ovn-sb.ovsschema"]);
  }
  await Promise.all(
    dbs.map(async ([db, schema]) => {
      const r = await host.exec(["ovsdb-tool", "create", join(dir, db), schema], { timeoutS: 30 });
      if (r.exitCode !== 0) throw new Error(`creating ${db} of ${node.name}: ${(r.stderr || r.stdout).trim()}`);
    }),
  );
}

const common = (dir: string, name: string) => ["-vconsole:off", "-vfile:info", `--log-file=${join(dir, `${name}.log`)}`, `--pidfile=${join(dir, `${name}.pid`)}`, "--no-chdir"];

/** ovn-central: the NB and SB database servers and ovn-northd (listening on their unix sockets; remote listeners come from `ovn-nbctl set-connection`). */
export function centralDaemons(dir: string): OvsDaemon[] {
  const db = (d: "nb" | "sb", table: string): OvsDaemon => ({
    name: `ovn${d}_db`,
    argv: [
      "ovsdb-server",
      ...common(dir, `ovsdb-server-${d}`),
      `--remote=punix:${join(dir, `ovn${d}_db.sock`)}`,
      `--remote=db:${table},connections`,
      `--unixctl=${join(dir, `ovn${d}_db.ctl`)}`,
      join(dir, `ovn${d}_db.db`),
    ],
    ready: pathExists(join(dir, `ovn${d}_db.sock`)),
  });
  return [db("nb", "OVN_Northbound,NB_Global"), db("sb", "OVN_Southbound,SB_Global")];
}

export function northd(dir: string): OvsDaemon {
  return {
    name: "ovn-northd",
    argv: ["ovn-northd", ...common(dir, "ovn-northd"), `--ovnnb-db=unix:${join(dir, "ovnnb_db.sock")}`, `--ovnsb-db=unix:${join(dir, "ovnsb_db.sock")}`],
    ready: ctlOf(dir, "ovn-northd"),
  };
}

/** ovn-host, first part: the switch database and the switch. */
export function ovsdbServer(dir: string, remotes: readonly string[] = []): OvsDaemon {
  return {
    name: "ovsdb-server",
    argv: ["ovsdb-server", ...common(dir, "ovsdb-server"), `--remote=punix:${join(dir, "db.sock")}`, ...remotes.map((r) => `--remote=${r}`), "--remote=db:Open_vSwitch,Open_vSwitch,manager_options", join(dir, "conf.db")],
    ready: pathExists(join(dir, "db.sock")),
  };
}

export function vswitchd(dir: string): OvsDaemon {
  return { name: "ovs-vswitchd", argv: ["ovs-vswitchd", ...common(dir, "ovs-vswitchd"), `unix:${join(dir, "db.sock")}`], ready: ctlOf(dir, "ovs-vswitchd") };
}

/** ovn-host, second part: ovn-controller (23.03 rejects --unixctl; its socket is ovn-controller.<pid>.ctl). */
export function ovnController(dir: string): OvsDaemon {
  return { name: "ovn-controller", argv: ["ovn-controller", ...common(dir, "ovn-controller"), `unix:${join(dir, "db.sock")}`], ready: ctlOf(dir, "ovn-controller") };
}

/**
 * What the ovs-ctl start script writes into a fresh switch database, plus the two settings the
 * userspace datapath needs: the chassis is named after the node, and ovn-controller creates br-int
 * with the netdev datapath.
 */
export function initArgs(node: string): string[] {
  return [
    "ovs-vsctl", "--no-wait", "--timeout=10", "init", "--",
    "set", "open_vswitch", ".",
    `external_ids:system-id=${node}`,
    `external_ids:hostname=${node}`,
    "external_ids:ovn-bridge-datapath-type=netdev",
  ];
}



// ---------------------------------------------------------------- logs

export interface LogProblem {
  node: string;
  file: string;
  line: string;
}

/**
 * WARN/ERR lines that are expected in these labs, each with the reason. Anything else fails the run
 * (as OVN's own system tests do at the end of every test).
 */
export const LOG_ALLOWLIST: { re: RegExp; why: string }[] = [
  // A short-lived client (ovs-vsctl; ovn-nbctl typed or run by Incus on another member) that exits
  // while the server still sends it an update: the server sees a reset or a broken pipe.
  { re: /(jsonrpc\|WARN\|(unix#\d+|tcp:[\d.]+:\d+): (receive|send) error: (Connection reset by peer|Broken pipe)|reconnect\|WARN\|(unix#\d+|tcp:[\d.]+:\d+): connection dropped \((Connection reset by peer|Broken pipe)\))/, why: "a command-line client exited mid-update" },
  // ovn-controller polls ovs-vswitchd for features before br-int exists.
  { re: /(ofctl|features|rconn)\|(WARN|INFO)\|.*br-int\.mgmt.*(connection failed|No such file or directory)/, why: "br-int not created yet when ovn-controller starts" },
  // Two cores shared by a dozen daemons and the probes: OVS reports slow loops; not a fault.
  { re: /ovs_rcu\|WARN\|blocked \d+ ms waiting for/, why: "2-core machine under load: an RCU grace period took long" },
  { re: /timeval\|WARN\|(Unreasonably long \d+ms poll interval|context switches|faults:|disk:|\d+ ms waited)/, why: "2-core machine under load: a slow poll loop" },
  // Debian's ovn-controller is built with the representor VIF plug provider, which needs devlink
  // hardware (SmartNICs); a machine without it logs this once at start.
  { re: /vif_plug_provider\|WARN\|failed to initialize representor VIF plug provider class/, why: "no SmartNIC representors on this machine" },
  // When the HA chassis group is (re)assigned, a chassis not hosting the chassisredirect port may be
  // asked to release it (OVN 23.03 logs this; harmless).
  { re: /if_status\|WARN\|Trying to release unknown interface cr-/, why: "gateway port moved between chassis" },
  // A bridge created with OVS's default (kernel) datapath, which this kernel does not have (Incus's
  // uplink bridges): ovs-vswitchd fails to open it until the kernel-datapath watcher gives the
  // bridge the userspace datapath, a few ms later (kernel-datapath.sh).
  { re: /(dpif\|WARN\|failed to (enumerate system datapaths|create datapath ovs-system): No such file or directory|ofproto_dpif\|ERR\|failed to open datapath of type system: No such file or directory|ofproto\|ERR\|failed to open datapath \S+: No such file or directory|bridge\|ERR\|failed to create bridge \S+: No such file or directory)/, why: "a bridge created with the kernel datapath before the watcher gives it the userspace one" },
  // A switch's trunk port carries only its listed VLANs: untagged frames a host sends on the NIC
  // facing it (IGMP reports, ARP before the NIC joins a bridge) are dropped, as on a real switch.
  // (A rate-limit summary does not say which line it stands for; seen once on the kolla node, where
  // this module logs no other allowed line.)
  { re: /ofproto_dpif_xlate\|WARN\|(dropping VLAN 0 packet received on port \S+ not configured for trunking VLAN 0|Dropped \d+ log messages in last \d+ seconds .* due to excessive rate)/, why: "untagged frame on a trunk port" },
  // neutron's L3 and DHCP agents create their ports (qg-, qr-, tap) as OVS internal ports and move
  // them into their qrouter-/qdhcp- namespaces. With the userspace datapath an internal port is a
  // tap device that ovs-vswitchd then cannot query or configure by name from its own namespace
  // (with the kernel datapath it can); the traffic flows all the same (the suites send it).
  // (The same module's rate-limit summaries stand for more of these lines.)
  {
    re: /netdev(_linux)?\|WARN\|((ethtool command ETHTOOL_[A-Z]+ on network device (qg-|qr-|tap)[0-9a-f]{8}-[0-9a-f]{2} failed|failed to set MTU for network device (qg-|qr-|tap)[0-9a-f]{8}-[0-9a-f]{2}): No such device|Dropped \d+ log messages in last \d+ seconds .* due to excessive rate)/,
    why: "neutron moved its internal port into its namespace (userspace datapath)",
  },
  // neutron's OVS agent sets each bridge's OpenFlow controller (tcp:127.0.0.1:6633) and then its
  // connection mode out-of-band (ovs_bridge.py); in between, OVS's in-band code looks for a route to
  // the controller, and on a node without a default route logs that it found none.
  { re: /in_band\|WARN\|br-[a-z0-9-]+: cannot find route for controller \(127\.0\.0\.1\): No such device or address/, why: "a bridge's controller set before neutron makes it out-of-band" },
];

/** Scans the OVS/OVN logs of a node for WARN/ERR lines not on the allowlist. */
export async function scanLogs(host: Host, dir: string): Promise<LogProblem[]> {
  const node = host.name;
  const out: LogProblem[] = [];
  for (const f of (await host.list(dir)).filter((x) => x.endsWith(".log"))) {
    for (const line of ((await host.readFile(join(dir, f))) ?? "").split("\n")) {
      if (!/\|(WARN|ERR|EMER)\|/.test(line)) continue;
      if (LOG_ALLOWLIST.some((a) => a.re.test(line))) continue;
      out.push({ node, file: join(dir, f), line });
    }
  }
  return out;
}

// ---------------------------------------------------------------- kernel-datapath behaviour

/** `ethtool -K <dev> tx off` for each device: AF_PACKET ports leave CHECKSUM_PARTIAL unfilled and TCP would fail. */
export function txOffScript(devs: readonly string[]): string {
  return devs.map((d) => script`ethtool -K ${d} tx off >/dev/null`).join("\n");
}

// ---------------------------------------------------------------- starting a node's stack

/**
 * Starts what the node's packages start: ovn-central (NB/SB databases, then ovn-northd) and
 * ovn-host (switch database, ovs-vswitchd, then ovn-controller), each awaited by its socket.
 * `started` records each daemon (in the run state) before it is awaited. `host` carries the node's
 * OVS/OVN environment; `logDir` is where the daemons' stdout goes, on this machine.
 */
export async function startStack(node: NodeSpec, host: Host, logDir: string, started: (d: Daemon) => void, opts: { ovsdbRemotes?: readonly string[] } = {}): Promise<void> {
  const dir = ovsDir(host);
  await createDatabases(node, dir, host);
  const up = async (d: OvsDaemon) => {
    const daemon = host.spawn(d.name, d.argv, { log: join(logDir, `${d.name}.out`) });
    started(daemon);
    await waitFor(host, daemon, d.ready, 15_000);
  };
  const central = async () => {
    if (!node.software.includes("ovn-central")) return;
    await Promise.all(centralDaemons(dir).map(up));
    await up(northd(dir));
  };
  const hostSide = async () => {
    if (!node.software.some((x) => x === "ovn-host" || x === "openvswitch")) return;
    await up(ovsdbServer(dir, opts.ovsdbRemotes));
    const init = await host.exec(initArgs(node.name), { timeoutS: 30 });
    if (init.exitCode !== 0) throw new Error(`initialising the switch database of ${node.name}: ${init.stderr.trim()}`);
    await up(vswitchd(dir));
    if (node.software.includes("ovn-host")) await up(ovnController(dir));
    startWatcher(node, host.machineView?.() ?? host, started);
  };
  await Promise.all([central(), hostSide()]);
}
