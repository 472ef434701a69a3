import { join } from "node:path";
import type { Daemon, Host } from "../../backends/host.ts";
import type { NodeSpec } from "../../model/types.ts";
import type { OvnCentralSettings, OvnDbSettings } from "../../model/commands/ovn-ctl.ts";
import type { LogSource } from "../../logs/types.ts";
import { script } from "../../run/tokens.ts";
import { ctlSocket } from "../../wait/path.ts";
import { unixListening } from "../../wait/listening.ts";
import type { WaitStrategy } from "../../wait/strategy.ts";
import { waitFor } from "../../wait/wait.ts";
import { span } from "../../trace/timeline.ts";
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

/** The switch database an `ovn-host`/`openvswitch` node needs, created as the package's postinst would. */
export async function createDatabases(node: NodeSpec, dir: string, host: Host): Promise<void> {
  const mk = await host.exec(["mkdir", "-p", dir], { timeoutS: 10 });
  if (mk.exitCode !== 0) throw new Error(`creating ${dir} on ${node.name}: ${mk.stderr.trim()}`);
  const creates: string[][] = [];
  if (node.software.some((x) => x === "ovn-host" || x === "openvswitch"))
    creates.push(["ovsdb-tool", "create", join(dir, "conf.db"), "/usr/share/openvswitch/vswitch.ovsschema"]);
  if (node.software.includes("ovn-central")) for (const d of CENTRAL_DBS) creates.push(centralDbCreate(dir, d, node.ovnCentral?.[d.key]));
  await Promise.all(
    creates.map(async (argv) => {
      const r = await host.exec(argv, { timeoutS: 30 });
      if (r.exitCode !== 0) throw new Error(`${argv.slice(0, 2).join(" ")} on ${node.name}: ${(r.stderr || r.stdout).trim()}`);
    }),
  );
}

/** The two OVN databases of `ovn-central`: their file names, schemas and the table holding their remotes. */
interface CentralDb {
  key: "nb" | "sb";
  schemaName: string;
  schema: string;
  table: string;
  ctl: string;
}
const CENTRAL_DBS: readonly CentralDb[] = [
  { key: "nb", schemaName: "OVN_Northbound", schema: "/usr/share/ovn/ovn-nb.ovsschema", table: "NB_Global", ctl: "ovn-nbctl" },
  { key: "sb", schemaName: "OVN_Southbound", schema: "/usr/share/ovn/ovn-sb.ovsschema", table: "SB_Global", ctl: "ovn-sbctl" },
];

/**
 * How ovn-ctl creates a database file (ovs-lib's create_cluster / join_cluster, or a standalone
 * file): a clustered database when /etc/default/ovn-central gives a cluster-local address, joining
 * the member at the cluster-remote address when one is given. Joining is offline: the file names
 * the member to contact, and the ovsdb-server started on it does the joining.
 */
function centralDbCreate(dir: string, d: CentralDb, s: OvnDbSettings | undefined): string[] {
  const file = join(dir, `ovn${d.key}_db.db`);
  const local = s?.clusterLocal;
  if (!local) return ["ovsdb-tool", "create", file, d.schema];
  const tcp = (a: { addr: string; port: number }) => `tcp:${a.addr}:${a.port}`;
  return s.clusterRemote
    ? ["ovsdb-tool", "join-cluster", file, d.schemaName, tcp(local), tcp(s.clusterRemote)]
    : ["ovsdb-tool", "create-cluster", file, d.schema, tcp(local)];
}

const common = (dir: string, name: string) => [
  "-vconsole:off",
  "-vfile:info",
  `--log-file=${join(dir, `${name}.log`)}`,
  `--pidfile=${join(dir, `${name}.pid`)}`,
  "--no-chdir",
];

/**
 * ovn-central: the NB and SB database servers, with the argv `ovn-ctl run_nb_ovsdb|run_sb_ovsdb`
 * builds from the node's OVN_CTL_OPTS (ovn-ctl's start_ovsdb__; without the file: unix sockets only,
 * plus the remotes `set-connection` writes, as the package starts them).
 */
export function centralDaemons(dir: string, settings?: OvnCentralSettings): OvsDaemon[] {
  return CENTRAL_DBS.map((d) => {
    const s = settings?.[d.key];
    return {
      name: `ovn${d.key}_db`,
      argv: [
        "ovsdb-server",
        ...common(dir, `ovsdb-server-${d.key}`),
        `--remote=punix:${join(dir, `ovn${d.key}_db.sock`)}`,
        `--unixctl=${join(dir, `ovn${d.key}_db.ctl`)}`,
        ...(s?.remoteInDb === false ? [] : [`--remote=db:${d.schemaName},${d.table},connections`]),
        ...(s?.insecureRemote ? [`--remote=ptcp:${s.port}:${s.addr}`] : []),
        join(dir, `ovn${d.key}_db.db`),
      ],
      ready: unixListening(join(dir, `ovn${d.key}_db.sock`)),
    };
  });
}

/**
 * What ovn-ctl runs once a database server is up, unless it joins a cluster: `ovn-nbctl init` /
 * `ovn-sbctl init` on its unix socket (a clustered database's first member is its leader).
 */
export function centralInits(dir: string, settings?: OvnCentralSettings): string[][] {
  return CENTRAL_DBS.filter((d) => !settings?.[d.key].clusterRemote).map((d) => [
    d.ctl,
    "--no-leader-only",
    "--timeout=30",
    `--db=unix:${join(dir, `ovn${d.key}_db.sock`)}`,
    "init",
  ]);
}

export function northd(dir: string, settings?: OvnCentralSettings): OvsDaemon {
  return {
    name: "ovn-northd",
    argv: [
      "ovn-northd",
      ...common(dir, "ovn-northd"),
      `--ovnnb-db=${settings?.northdNb ?? `unix:${join(dir, "ovnnb_db.sock")}`}`,
      `--ovnsb-db=${settings?.northdSb ?? `unix:${join(dir, "ovnsb_db.sock")}`}`,
    ],
    ready: ctlOf(dir, "ovn-northd"),
  };
}

/**
 * An OVN southbound relay (ovsdb-server's relay service model, OVS 2.16 on): it serves the
 * southbound database to its clients at `listen`, replicating it from `source`.
 */
export function sbRelay(dir: string, name: string, listen: string, source: string): OvsDaemon {
  return {
    name,
    argv: [
      "ovsdb-server",
      ...common(dir, name),
      `--remote=punix:${join(dir, `${name}.sock`)}`,
      `--unixctl=${join(dir, `${name}.ctl`)}`,
      `--remote=${listen}`,
      `relay:OVN_Southbound:${source}`,
    ],
    ready: unixListening(join(dir, `${name}.sock`)),
  };
}

/** ovn-host, first part: the switch database and the switch. */
export function ovsdbServer(dir: string, remotes: readonly string[] = []): OvsDaemon {
  return {
    name: "ovsdb-server",
    argv: [
      "ovsdb-server",
      ...common(dir, "ovsdb-server"),
      `--remote=punix:${join(dir, "db.sock")}`,
      ...remotes.map((r) => `--remote=${r}`),
      "--remote=db:Open_vSwitch,Open_vSwitch,manager_options",
      join(dir, "conf.db"),
    ],
    ready: unixListening(join(dir, "db.sock")),
  };
}

export function vswitchd(dir: string): OvsDaemon {
  return {
    name: "ovs-vswitchd",
    argv: ["ovs-vswitchd", ...common(dir, "ovs-vswitchd"), `unix:${join(dir, "db.sock")}`],
    ready: ctlOf(dir, "ovs-vswitchd"),
  };
}

/** ovn-host, second part: ovn-controller (23.03 rejects --unixctl; its socket is ovn-controller.<pid>.ctl). */
export function ovnController(dir: string): OvsDaemon {
  return {
    name: "ovn-controller",
    argv: ["ovn-controller", ...common(dir, "ovn-controller"), `unix:${join(dir, "db.sock")}`],
    ready: ctlOf(dir, "ovn-controller"),
  };
}

/**
 * What the ovs-ctl start script writes into a fresh switch database, plus the two settings the
 * userspace datapath needs: the chassis is named after the node, and ovn-controller creates br-int
 * with the netdev datapath.
 */
export function initArgs(node: string): string[] {
  return [
    "ovs-vsctl",
    "--no-wait",
    "--timeout=10",
    "init",
    "--",
    "set",
    "open_vswitch",
    ".",
    `external_ids:system-id=${node}`,
    `external_ids:hostname=${node}`,
    "external_ids:ovn-bridge-datapath-type=netdev",
  ];
}

// ---------------------------------------------------------------- logs

/**
 * The OVS/OVN daemons' logs of a node (vlog format). The three database servers share one
 * allowlist (`ovsdb-server`); the built-in entries are in topology/logs/allow/.
 */
export async function ovsLogSources(host: Host): Promise<LogSource[]> {
  const dir = ovsDir(host);
  return (await host.list(dir))
    .filter((f) => f.endsWith(".log"))
    .map((f) => ({
      node: host.name,
      daemon: f.slice(0, -4).replace(/^ovsdb-server-(nb|sb)$/, "ovsdb-server"),
      file: join(dir, f),
      format: "vlog" as const,
      read: () => host.readFile(join(dir, f)),
    }));
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
 * OVS/OVN environment; `logDir` is where the daemons' stdout goes, on this machine. `boot`: the
 * node starts again after a crash, with the databases it had; what ovn-ctl and ovs-ctl run at
 * every start (`ovn-nbctl|sbctl init`, `ovs-vsctl init` with the node's ids) runs again, as they do.
 */
export async function startStack(
  node: NodeSpec,
  host: Host,
  logDir: string,
  started: (d: Daemon) => void,
  opts: { ovsdbRemotes?: readonly string[]; boot?: boolean } = {},
): Promise<void> {
  const dir = ovsDir(host);
  // A boot finds the databases the daemons left (the packages' scripts create them only when missing).
  if (!opts.boot) await createDatabases(node, dir, host);
  const up = async (d: OvsDaemon) => {
    const daemon = host.spawn(d.name, d.argv, { log: join(logDir, `${d.name}.out`) });
    started(daemon);
    await span(d.name, "daemon", () => waitFor(host, daemon, d.ready, 15_000), node.name);
  };
  const central = async () => {
    if (!node.software.includes("ovn-central")) return;
    await Promise.all(centralDaemons(dir, node.ovnCentral).map(up));
    for (const argv of centralInits(dir, node.ovnCentral)) {
      const r = await host.exec(argv, { timeoutS: 40 });
      if (r.exitCode !== 0) throw new Error(`${argv[0]} init on ${node.name}: ${(r.stderr || r.stdout).trim()}`);
    }
    await up(northd(dir, node.ovnCentral));
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
