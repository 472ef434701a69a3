import { createHash, randomBytes } from "node:crypto";
import { execFileSync } from "node:child_process";
import { chmodSync, existsSync, mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import type { Daemon, Enclave, Host } from "../../../backends/host.ts";
import { type NeutronDaemon, type NodeFacts, type OpenstackPaths, PASSWORDS, type RenderedConfig } from "../kolla/config.ts";
import { isAlive } from "../../../run/process.ts";
import { PreflightError, which } from "../../../run/preflight.ts";
import { listening } from "../../../wait/listening.ts";
import { logMessage } from "../../../wait/log-message.ts";
import { logTail, waitFor } from "../../../wait/wait.ts";
import { span } from "../../../trace/timeline.ts";
import { NeutronApi } from "./api.ts";
import { copyDatabase, ensureDbTemplate, myCnf } from "./db.ts";
import type { LogSource } from "../../../logs/types.ts";

/**
 * The real OpenStack networking of a kolla node: MariaDB, RabbitMQ, neutron-server and the Open
 * vSwitch, L3 and DHCP agents, the daemons kolla's containers run, here in the node's enclave (its
 * network namespace, with mount, pid and UTS namespaces of its own: neutron's qrouter-/qdhcp-
 * namespaces live in the enclave's /run/netns, its dnsmasq and haproxy in its pid namespace, and
 * all of it ends with the enclave). Each daemon is awaited the way its clients need it: the
 * database and the bus by their ports, neutron-server by its API and its RPC consumers on the bus
 * (an agent's first report sent before them would be lost for a minute), the agents by reporting
 * themselves alive to the server.
 */

const RABBITMQ = "/usr/lib/rabbitmq/bin/rabbitmq-server";
const RABBITMQCTL = "/usr/lib/rabbitmq/bin/rabbitmqctl";

/** Binaries the stack runs, with the Debian package of each (scripts/setup.sh installs them). */
const BINARIES: [string, string][] = [
  ["neutron-server", "neutron-server"],
  ["neutron-openvswitch-agent", "neutron-openvswitch-agent"],
  ["neutron-l3-agent", "neutron-l3-agent"],
  ["neutron-dhcp-agent", "neutron-dhcp-agent"],
  ["neutron-metadata-agent", "neutron-common"],
  ["neutron-db-manage", "neutron-common"],
  ["privsep-helper", "python3-oslo.privsep"],
  ["openstack", "python3-openstackclient"],
  ["mariadbd", "mariadb-server"],
  ["mariadb-install-db", "mariadb-server"],
  [RABBITMQ, "rabbitmq-server"],
  ["haproxy", "haproxy"],
  ["conntrack", "conntrack"],
  ["perl", "perl-base"],
];

function onPath(bin: string, root: string): boolean {
  return bin.startsWith("/") ? existsSync(join(root, bin)) : which(bin, root) !== null;
}

const versions = new Map<string, string>();

/**
 * The neutron version under `root` (a lab's software: its toolchain, or "/" for this machine's
 * own), or a PreflightError naming the packages to install.
 */
export function neutronVersion(root = "/"): string {
  const known = versions.get(root);
  if (known) return known;
  const missing = BINARIES.filter(([b]) => !onPath(b, root));
  if (missing.length) {
    throw new PreflightError(
      `this lab runs the real neutron, and ${missing.map(([b]) => b.split("/").pop()).join(", ")} ${missing.length > 1 ? "are" : "is"} missing${root === "/" ? "" : ` from ${root}`}: install with scripts/setup.sh (Debian 12: apt-get install --no-install-recommends ${[...new Set(missing.map(([, p]) => p))].join(" ")})`,
    );
  }
  // The installed neutron's own package metadata says its version in a millisecond;
  // `neutron-server --version` imports neutron to print the same (3.3 s of CPU here, measured).
  let version = installedVersion(join(root, "/usr/lib/python3/dist-packages"), "neutron");
  if (version) {
    versions.set(root, version);
    return version;
  }
  if (root !== "/") throw new PreflightError(`${root} has neutron-server but no neutron package metadata: rebuild the toolchain`);
  try {
    version = execFileSync("neutron-server", ["--version"], { encoding: "utf8", timeout: 60_000, stdio: ["ignore", "pipe", "pipe"] })
      .trim()
      .replace(/^neutron-server\s+/, "");
  } catch (e) {
    throw new PreflightError(
      `neutron-server --version failed: ${(e as Error).message.split("\n")[0]}: reinstall neutron-server (scripts/setup.sh)`,
    );
  }
  versions.set(root, version);
  return version;
}

/** A Python distribution's version from its metadata in `dir` (`<name>-<v>.egg-info/PKG-INFO` or `.dist-info/METADATA`), if there is exactly one. */
export function installedVersion(dir: string, name: string): string | undefined {
  let entries: string[];
  try {
    entries = readdirSync(dir).filter((e) => new RegExp(`^${name}-[^-]+\\.(egg|dist)-info$`).test(e));
  } catch {
    return undefined;
  }
  if (entries.length !== 1) return undefined;
  const e = entries[0]!;
  try {
    const meta = readFileSync(join(dir, e, e.endsWith(".egg-info") ? "PKG-INFO" : "METADATA"), "utf8");
    return /^Version:\s*(\S+)$/m.exec(meta)?.[1];
  } catch {
    return undefined;
  }
}

/** kolla-ansible's docker_graceful_timeout (group_vars/all.yml, 2023.1): its units stop a container with `docker stop -t 60`. */
const KOLLA_GRACEFUL_TIMEOUT_MS = 60_000;
/** kolla-ansible's `rabbitmq_server_additional_erl_args` (roles/rabbitmq/defaults/main.yml, 16.0.0-20.0.0). */
export const KOLLA_RABBITMQ_ERL_ARGS = "+S 2:2 +sbwt none +sbwtdcpu none +sbwtdio none";

const AGENT_TYPES: Record<Exclude<NeutronDaemon, "neutron-server">, string> = {
  "neutron-openvswitch-agent": "Open vSwitch agent",
  "neutron-l3-agent": "L3 agent",
  "neutron-dhcp-agent": "DHCP agent",
  "neutron-metadata-agent": "Metadata agent",
  "neutron-ovn-metadata-agent": "OVN Metadata agent",
};

/**
 * The line an agent logs once its first sync with neutron-server is over: the OVS agent's first
 * rpc_loop iteration (tunnel_sync, then every port on br-int), the DHCP agent's sync_state
 * (get_active_networks_info), both at INFO; the L3 agent's first full sync (get_router_ids and
 * get_routers, right at its start), at DEBUG: kolla/config.ts sets that one module's level to DEBUG
 * (oslo.log ends a DEBUG line with its function, file and line number). The metadata agent makes
 * no call but its first state report (what `alive` already shows).
 */
const FIRST_SYNC: Partial<Record<NeutronDaemon, RegExp>> = {
  "neutron-openvswitch-agent": / Agent rpc_loop - iteration:0 completed\./,
  "neutron-dhcp-agent": / Synchronizing state complete$/m,
  "neutron-l3-agent": / DEBUG neutron\.agent\.l3\.agent \[[^\]]*\] periodic_sync_routers_task successfully completed \w+ \S+:\d+$/,
};

/**
 * The end of ML2/OVN neutron-server's start-up sync with OVN's northbound database (neutron 21's
 * ovn_db_sync.py, run 10 s after the maintenance worker starts; its last step's DEBUG line, or the
 * line it logs instead when `[ovn] neutron_sync_mode = off`), logged once kolla/config.ts sets that
 * module's level to DEBUG (oslo.log ends a DEBUG line with its function, file and line number).
 */
const OVN_NB_SYNC_END =
  / DEBUG neutron\.plugins\.ml2\.drivers\.ovn\.mech_driver\.ovsdb\.ovn_db_sync \[[^\]]*\] (Floating IP QoS policies migration task finished|Neutron sync mode is off) \w+ \S+:\d+$/;

interface Running {
  daemon: Daemon;
  /** Its log's size when it started: what it logged since is after that offset. */
  logFrom?: number;
  /** Hash of the config files it read when it started. */
  config: string;
  /** Those files (in the node's etc directory), in its command's order. */
  files: string[];
}

export class OpenstackServices {
  private readonly running = new Map<string, Running>();
  private rabbit: Promise<void> | null = null;
  /**
   * The RPC topics neutron-server consumes once it serves its agents: ML2's q-plugin and
   * q-reports-plugin, and the L3 router plugin's q-l3-plugin (ML2/OVN's ovn-router has no RPC side).
   */
  private topics: string[] = ["q-plugin", "q-reports-plugin", "q-l3-plugin"];
  /** neutron-server logs its OVN DB sync (RenderedConfig.ovnSyncLogged): its start ends with it. */
  private ovnSyncLogged = false;
  readonly api: NeutronApi;

  constructor(
    private readonly enclave: Enclave,
    private readonly paths: OpenstackPaths,
    private readonly facts: NodeFacts,
    /** Records a daemon in the run state (teardown ends it with the enclave anyway). */
    private readonly record: (d: Daemon) => void,
  ) {
    for (const d of [paths.etc, paths.log, paths.state]) mkdirSync(d, { recursive: true, mode: 0o700 });
    this.api = new NeutronApi(enclave, `http://${facts.vip}:9696`);
  }

  private spawn(name: string, argv: string[], env?: Record<string, string>): Daemon {
    const d = this.enclave.spawn(name, argv, { log: join(this.paths.log, `${name}.out`), ...(env ? { env } : {}) });
    this.record(d);
    return d;
  }

  /**
   * The mariadb play: the node's copy of the migrated database, and mariadbd on the API address.
   * `nova`: the versions of nova, placement and glance, whose databases it then has too.
   */
  async startDatabase(neutronVersion: string, nova?: string): Promise<void> {
    if (this.running.has("mariadb")) return;
    const base = this.paths.mysql;
    const datadir = join(base, "data");
    if (!existsSync(datadir)) {
      mkdirSync(base, { recursive: true, mode: 0o700 });
      await copyDatabase(await ensureDbTemplate(neutronVersion, nova, { host: this.enclave, scratch: base }), datadir);
    }
    const cnf = join(base, "my.cnf");
    writeFileSync(cnf, myCnf(datadir, join(base, "mysqld.sock"), this.facts.apiAddress, join(this.paths.log, "mariadb.log")));
    const d = this.spawn("mariadb", ["mariadbd", `--defaults-file=${cnf}`]);
    this.running.set("mariadb", { daemon: d, config: "", files: [cnf] });
    await span("mariadb", "daemon", () => waitFor(this.enclave, d, listening("tcp", 3306), 60_000), this.enclave.name).catch((e) => {
      throw withLog(e, join(this.paths.log, "mariadb.log"));
    });
  }

  /** Runs SQL as MariaDB's root on its socket (a bootstrap's own statements). */
  async sql(statement: string): Promise<void> {
    const r = await this.enclave.exec(["mariadb", "-S", join(this.paths.mysql, "mysqld.sock"), "-e", statement], { timeoutS: 60 });
    if (r.exitCode !== 0) throw new Error(`mariadb: ${(r.stderr || r.stdout).trim()}`);
  }

  /** The rabbitmq play: starts the broker; `rabbitReady` awaits it (the plays between run meanwhile). */
  startRabbit(): void {
    if (this.rabbit) return;
    const base = this.paths.rabbitmq;
    mkdirSync(base, { recursive: true, mode: 0o700 });
    writeFileSync(join(base, "rabbitmq.conf"), `default_user = openstack\ndefault_pass = ${PASSWORDS.rabbitmq}\nloopback_users = none\n`);
    writeFileSync(join(base, "enabled_plugins"), "[].\n");
    const cookie = join(base, ".erlang.cookie");
    if (!existsSync(cookie)) {
      writeFileSync(cookie, randomBytes(10).toString("hex").toUpperCase());
      chmodSync(cookie, 0o400);
    }
    const d = this.spawn("rabbitmq", [RABBITMQ], this.rabbitEnv());
    this.running.set("rabbitmq", { daemon: d, config: "", files: [] });
    this.rabbit = waitFor(this.enclave, d, listening("tcp", 5672), 120_000).catch((e) => {
      throw withLog(e, join(this.paths.log, "rabbitmq.log"));
    });
    this.rabbit.catch(() => {}); // awaited by the neutron play; a deploy that stops earlier never asks
  }

  /**
   * `rabbitmqctl ARGS` against the node's broker (its node name and cookie), as an operator runs it in
   * kolla's container. The 60 s bounds a broker that does not answer (a hung command would hold the
   * deploy forever); it waits for nothing: the loop that awaits neutron-server's RPC consumers with
   * it has its own deadline, and a check reading the queues fails with the command's own error.
   */
  rabbitmqctl(args: readonly string[]) {
    return this.enclave.exec([RABBITMQCTL, ...args], { timeoutS: 60, env: this.rabbitEnv() });
  }

  /** The broker's queues with their type (classic, quorum, stream), as `rabbitmqctl list_queues name type` gives them. */
  async queues(): Promise<{ name: string; type: string }[]> {
    const q = await this.rabbitmqctl(["list_queues", "--quiet", "--no-table-headers", "name", "type"]);
    if (q.exitCode !== 0) throw new Error(`rabbitmqctl list_queues: ${(q.stderr || q.stdout).trim().slice(0, 300)}`);
    return q.stdout
      .split("\n")
      .map((l) => l.trim().split(/\s+/))
      .filter((x) => x.length === 2)
      .map(([name, type]) => ({ name: name!, type: type! }));
  }

  private rabbitEnv(): Record<string, string> {
    const base = this.paths.rabbitmq;
    return {
      HOME: base,
      RABBITMQ_NODENAME: "rabbit@localhost",
      RABBITMQ_NODE_IP_ADDRESS: this.facts.apiAddress,
      RABBITMQ_NODE_PORT: "5672",
      RABBITMQ_MNESIA_BASE: join(base, "mnesia"),
      RABBITMQ_LOG_BASE: this.paths.log,
      RABBITMQ_LOGS: join(this.paths.log, "rabbitmq.log"),
      RABBITMQ_CONFIG_FILE: join(base, "rabbitmq"),
      RABBITMQ_ENABLED_PLUGINS_FILE: join(base, "enabled_plugins"),
      RABBITMQ_PID_FILE: join(base, "rabbitmq.pid"),
      // kolla's rabbitmq-env.conf: its role's rabbitmq_server_additional_erl_args (the same in
      // 2023.1-2025.1): two schedulers whatever the machine's cores, none busy-waiting for work
      // (RabbitMQ 3.10's own defaults already turn the busy-waiting off; the schedulers' count is
      // kolla's alone).
      RABBITMQ_SERVER_ADDITIONAL_ERL_ARGS: KOLLA_RABBITMQ_ERL_ARGS,
      ERL_EPMD_ADDRESS: "127.0.0.1",
    };
  }

  async rabbitReady(): Promise<void> {
    if (!this.rabbit) throw new Error("RabbitMQ was not started (the rabbitmq play did not run)");
    await this.rabbit;
  }

  /**
   * The neutron play: writes the rendered files, then (re)starts each daemon whose files changed
   * (kolla's handlers restart a container when its config changed) and awaits them. On failure the
   * daemons this call started are ended and the error carries their logs. Returns what it started
   * and how long each part took.
   */
  async applyNeutron(config: RenderedConfig): Promise<{ started: string[]; timings: string[] }> {
    for (const [f, text] of Object.entries(config.files)) writeFileSync(join(this.paths.etc, f), text, { mode: 0o600 });
    this.topics = ["q-plugin", "q-reports-plugin", ...(config.daemons["neutron-l3-agent"] ? ["q-l3-plugin"] : [])];
    this.ovnSyncLogged = config.ovnSyncLogged;
    const hash = (d: NeutronDaemon) =>
      createHash("sha256")
        .update(config.daemons[d]!.map((f) => `${f}\0${config.files[f] ?? ""}`).join("\0"))
        .digest("hex");
    const todo = (Object.keys(config.daemons) as NeutronDaemon[]).filter(
      (d) => this.running.get(d)?.config !== hash(d) || !isAlive(this.running.get(d)!.daemon.ref),
    );
    const started: string[] = [];
    const timings: string[] = [];
    let t = performance.now();
    const lap = (what: string) => {
      timings.push(`${what} ${((performance.now() - t) / 1000).toFixed(1)} s`);
      t = performance.now();
    };
    try {
      await span("rabbitmq (ready)", "daemon", () => this.rabbitReady(), this.enclave.name);
      lap("RabbitMQ ready after");
      if (todo.includes("neutron-server")) {
        const staying = [...this.running.keys()].filter((d) => !todo.includes(d as NeutronDaemon)) as NeutronDaemon[];
        await span("agents' first sync", "daemon", () => this.awaitFirstSync(staying), this.enclave.name);
      }
      // kolla's handlers: `docker stop -t 60`, then the container again.
      for (const d of todo) await this.stop(d, KOLLA_GRACEFUL_TIMEOUT_MS);
      if (todo.includes("neutron-server")) {
        this.startDaemon("neutron-server", hash("neutron-server"), config.daemons["neutron-server"]!);
        started.push("neutron-server");
        await span("neutron-server", "daemon", () => this.awaitServer(), this.enclave.name);
        lap("neutron-server answering and consuming its RPC topics in");
      }
      const agents = todo.filter((d): d is Exclude<NeutronDaemon, "neutron-server"> => d !== "neutron-server");
      for (const a of agents) {
        this.startDaemon(a, hash(a), config.daemons[a]!);
        started.push(a);
      }
      await span(
        agents.length ? agents.join(", ") : "agents (none restarted)",
        "daemon",
        () => this.awaitAgents(agents),
        this.enclave.name,
      );
      if (agents.length) lap(`${agents.join(", ")} reporting alive in`);
      if (todo.includes("neutron-server") && this.ovnSyncLogged) {
        await span("neutron-server's OVN DB sync", "daemon", () => this.awaitOvnSync(), this.enclave.name);
        lap("neutron-server's OVN DB sync over after");
      }
      return { started, timings };
    } catch (e) {
      for (const d of started) await this.stop(d as NeutronDaemon);
      throw e;
    }
  }

  /** The neutron daemons a `restart:` step can restart. */
  static readonly RESTARTABLE: readonly NeutronDaemon[] = [
    "neutron-server",
    "neutron-openvswitch-agent",
    "neutron-l3-agent",
    "neutron-dhcp-agent",
  ];

  /**
   * A container restart as kolla-ansible 2023.1 makes it (what `kolla-ansible reconfigure` does when
   * a file changed): its systemd unit's `ExecStop=docker stop <name> -t 60` (docker_graceful_timeout)
   * — SIGTERM, SIGKILL after 60 s — then the same command line again, awaited as a deploy awaits it
   * (the server by its API and RPC consumers, an agent by its report after the restart). Returns how
   * long the stop and the start took.
   */
  async restart(d: NeutronDaemon): Promise<{ stoppedMs: number; readyMs: number }> {
    const r = this.running.get(d);
    if (!r) throw new Error(`${d} is not running (was it deployed?)`);
    const t0 = performance.now();
    if (d === "neutron-server") await this.awaitFirstSync([...this.running.keys()] as NeutronDaemon[]);
    await this.stop(d, KOLLA_GRACEFUL_TIMEOUT_MS);
    const stoppedMs = performance.now() - t0;
    this.startDaemon(d, r.config, r.files);
    if (d === "neutron-server") {
      await this.awaitServer();
      if (this.ovnSyncLogged) await span("neutron-server's OVN DB sync", "daemon", () => this.awaitOvnSync(), this.enclave.name);
    } else await this.awaitAgents([d]);
    return { stoppedMs, readyMs: performance.now() - t0 - stoppedMs };
  }

  private startDaemon(d: NeutronDaemon, config: string, files: string[]): void {
    const argv = [d, ...files.filter((f) => f !== "dnsmasq.conf").flatMap((f) => ["--config-file", join(this.paths.etc, f)])];
    const log = join(this.paths.log, `${d}.log`);
    const logFrom = existsSync(log) ? statSync(log).size : 0;
    this.running.set(d, { daemon: this.spawn(d, argv), logFrom, config, files });
  }

  /**
   * Before neutron-server stops (a redeploy whose files changed, a `restart:` step): each running
   * agent has finished its first sync with the server (FIRST_SYNC). A call in flight when the server
   * stops gets no answer: the agent waits rpc_response_timeout (60 s), logs `Timeout in RPC method
   * tunnel_sync. Waiting for N seconds`, and sleeps a random part of it again (measured: 42 s, the
   * VLAN scenario 137 s instead of 65 s, ci40). A deploy ends when the agents report alive, and the
   * OVS agent's first rpc_loop iteration starts about 1.4 s after that: in the VLAN scenario (deploy,
   * one refused `network create`, deploy again) it ended 0.4 s before the redeploy's SIGTERM to the
   * server (2026-12-05, 23:50:16.960 and 17.360). An operator's second deploy comes minutes later.
   */
  private async awaitFirstSync(agents: readonly NeutronDaemon[], timeoutMs = 180_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    for (const a of agents) {
      const marker = FIRST_SYNC[a];
      const r = this.running.get(a);
      if (!marker || !r) continue;
      const log = join(this.paths.log, `${a}.log`);
      const what = `finish its first sync with neutron-server (log ${marker.source})`;
      await waitFor(this.enclave, r.daemon, logMessage(log, marker, r.logFrom ?? 0, what), Math.max(0, deadline - Date.now()));
    }
  }

  /**
   * ML2/OVN: neutron-server's start-up sync with OVN's northbound database is over (OVN_NB_SYNC_END).
   * It compares neutron's networks, ports and routers with OVN's and warns of each difference; a
   * command that creates one of them while it reads both sides is a difference for it (measured: a
   * run's first `network create` 9.6 s after the maintenance worker started, 0.4 s before the sync,
   * made it warn "Missing metadata port found in Neutron for network …", the network being created).
   * An operator's first command after a deploy or a restart comes long after the sync.
   * The sync ends 10.3-11.3 s after the worker starts (measured: 0.17 s of work after a deploy,
   * 0.9 s after a restart with a router); the 120 s bound is awaitServer's, for a hung server.
   */
  private async awaitOvnSync(timeoutMs = 120_000): Promise<void> {
    const r = this.running.get("neutron-server")!;
    const log = join(this.paths.log, "neutron-server.log");
    const what = `end its start-up OVN DB sync (log ${OVN_NB_SYNC_END.source})`;
    await waitFor(this.enclave, r.daemon, logMessage(log, OVN_NB_SYNC_END, r.logFrom ?? 0, what), timeoutMs).catch((e: Error) => {
      throw new Error(`${e.message}\n${this.tails(["neutron-server"])}`);
    });
  }

  /** Ends one daemon and everything it started (neutron-server's workers, an agent's privsep helpers), SIGKILL after `graceMs`. */
  private async stop(name: string, graceMs = 10_000): Promise<void> {
    const r = this.running.get(name);
    if (!r) return;
    this.running.delete(name);
    await this.enclave.stop(r.daemon, graceMs);
  }

  /** neutron-server answers its API and consumes its RPC topics on the bus. */
  private async awaitServer(timeoutMs = 120_000): Promise<void> {
    const d = this.running.get("neutron-server")!.daemon;
    const fail = (what: string) => new Error(`neutron-server ${what}:\n${this.tails(["neutron-server"])}`);
    const deadline = Date.now() + timeoutMs;
    await span(
      "listening on tcp/9696",
      "daemon",
      () =>
        waitFor(this.enclave, d, listening("tcp", 9696), timeoutMs).catch(() => {
          throw fail(isAlive(d.ref) ? `did not listen on tcp/9696 within ${timeoutMs / 1000} s` : "exited during start");
        }),
      this.enclave.name,
    );
    await span(`consuming ${this.topics.join(", ")}`, "daemon", () => this.awaitConsumers(d, deadline, timeoutMs, fail), this.enclave.name);
  }

  /** A daemon (not neutron's: nova's conductor) consumes these RPC topics on the node's bus. */
  async awaitTopics(d: Daemon, topics: readonly string[], tails: () => string, timeoutMs = 120_000): Promise<void> {
    const fail = (what: string) => new Error(`${d.name} ${what}:\n${tails()}`);
    await this.awaitConsumers(d, Date.now() + timeoutMs, timeoutMs, fail, topics);
  }

  private async awaitConsumers(
    d: Daemon,
    deadline: number,
    timeoutMs: number,
    fail: (what: string) => Error,
    topics: readonly string[] = this.topics,
  ): Promise<void> {
    for (;;) {
      if (!isAlive(d.ref)) throw fail("exited during start");
      const q = await this.rabbitmqctl(["list_queues", "--quiet", "--no-table-headers", "name", "consumers"]);
      const consumers = new Map(
        q.stdout
          .split("\n")
          .map((l) => l.trim().split(/\s+/))
          .filter((x) => x.length === 2)
          .map(([n, c]) => [n!, Number(c)]),
      );
      if (topics.every((n) => (consumers.get(n) ?? 0) > 0)) return;
      if (Date.now() > deadline)
        throw fail(
          `did not consume its RPC topics within ${timeoutMs / 1000} s (rabbitmqctl: ${(q.stderr || q.stdout).trim().slice(0, 300)})`,
        );
      await new Promise((r) => setTimeout(r, 250));
    }
  }

  /** Each agent has reported itself alive to the server. */
  private async awaitAgents(agents: Exclude<NeutronDaemon, "neutron-server">[], timeoutMs = 180_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    const startedAt = Date.now();
    for (;;) {
      for (const a of agents) {
        const d = this.running.get(a)?.daemon;
        if (d && !isAlive(d.ref)) throw new Error(`${a} exited during start:\n${this.tails([a])}`);
      }
      const list = (
        await this.api.get<{ agents: { agent_type: string; host: string; alive: boolean; heartbeat_timestamp: string }[] }>("/agents")
      ).agents;
      const ovnRegistered = agents.includes("neutron-ovn-metadata-agent") && (await this.ovnMetadataRegistered());
      const waiting = agents.filter((a) => {
        const x = list.find((l) => l.agent_type === AGENT_TYPES[a] && l.host === this.facts.hostname);
        // The OVN metadata agent: see ovnMetadataRegistered.
        if (a === "neutron-ovn-metadata-agent") return !ovnRegistered;
        // A restarted agent counts once it reported after its restart.
        return !x?.alive || Date.parse(x.heartbeat_timestamp + "Z") < startedAt - 2000;
      });
      if (!waiting.length) return;
      if (Date.now() > deadline)
        throw new Error(`${waiting.join(", ")} did not report to neutron-server within ${timeoutMs / 1000} s:\n${this.tails(waiting)}`);
      await new Promise((r) => setTimeout(r, 250));
    }
  }

  /**
   * The OVN metadata agent is up once it has registered on its chassis: its id in the node's
   * Chassis_Private row (neutron:ovn-metadata-id), read from the southbound database. neutron 21's
   * API lists the agent only later: neutron-server adds it to its agent cache when the agent's
   * sb-cfg changes, which the agent writes when SB_Global's nb_cfg next changes, and neutron-server
   * bumps nb_cfg (its liveness check, on `agent list`) at most every agent_down_time / 2 = 37 s.
   * Measured: 37.6-37.8 s from the agent's start to its listing (2026-12-06, three deploys).
   * kolla's deploy does not wait for either.
   */
  private async ovnMetadataRegistered(): Promise<boolean> {
    const r = await this.enclave.exec(
      [
        "ovn-sbctl",
        "--timeout=10",
        `--db=tcp:${this.facts.apiAddress}:6642`,
        "--bare",
        "--columns=external_ids",
        "find",
        "Chassis_Private",
        `name=${this.facts.hostname}`,
      ],
      { timeoutS: 20 },
    );
    return r.exitCode === 0 && r.stdout.includes("neutron:ovn-metadata-id=");
  }

  /** The last lines of each daemon's own log and of its output. */
  tails(daemons: readonly string[]): string {
    return daemons
      .map(
        (d) =>
          `  ${d}.log:\n${logTail(join(this.paths.log, `${d}.log`), 12)}\n  ${d} output:\n${logTail(join(this.paths.log, `${d}.out`), 4)}`,
      )
      .join("\n");
  }
}

function withLog(e: unknown, log: string): Error {
  return new Error(`${(e as Error).message}\n  ${log.split("/").pop()}:\n${logTail(log, 12)}`);
}

// ---------------------------------------------------------------- logs

/**
 * The logs of what kolla deployed on a node: neutron's server and agents, and with enable_nova_fake
 * nova's, glance's and placement's (oslo.log), RabbitMQ and MariaDB, read as the node sees them.
 */
export async function openstackLogSources(host: Host, logDir: string): Promise<LogSource[]> {
  const format = (f: string): LogSource["format"] | null =>
    /^(neutron-.*|nova-(api|conductor|scheduler|compute)|glance-api|placement-api)\.log$/.test(f)
      ? "oslo"
      : f === "rabbitmq.log"
        ? "rabbitmq"
        : f === "mariadb.log"
          ? "mariadb"
          : null;
  return (await host.list(logDir)).flatMap((f) => {
    const fmt = format(f);
    return fmt
      ? [
          {
            node: host.name,
            daemon: f === "mariadb.log" ? "mariadb" : f.slice(0, -4),
            file: join(logDir, f),
            format: fmt,
            read: () => host.readFile(join(logDir, f)),
          },
        ]
      : [];
  });
}
