import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import type { Daemon, Enclave, Host } from "../../../backends/host.ts";
import type { KollaOverride } from "../../../model/commands/kolla-overrides.ts";
import type { OpenstackCommand } from "../../../model/commands/openstack.ts";
import type { CommandResult } from "../../../run/exec.ts";
import type { NeutronApi } from "../neutron/api.ts";
import { neutronVersion, OpenstackServices } from "../neutron/services.ts";
import { bridgeMappings, type KollaGlobals, type Play, playsFor, pullError, pullScript } from "./plays.ts";
import { cloudsYaml, type NodeFacts, openstackPaths, ovnConnections, renderNeutronConfig, unusedOverrides } from "./config.ts";
import { createHash } from "node:crypto";
import { ovsDir } from "../../ovs/daemons.ts";
import { Nova } from "../standins/nova.ts";
import { type GuestHost, Guests, type Port, VmError } from "../vm/guests.ts";
import { cellMappingsSql } from "../neutron/db.ts";
import { cellUrls, novaCloudsYaml, novaVersions, renderNovaConfig } from "../nova/config.ts";
import { NovaServices } from "../nova/services.ts";
import { novaRefusal } from "../../../model/commands/openstack.ts";
import type { NovaPart } from "./plays.ts";
import { OBJECT_NAME, OBJECT_NAME_HINT } from "../../../model/names.ts";
import { ConvergenceError } from "../../../wait/convergence.ts";
import { span } from "../../../trace/timeline.ts";
import { OpenstackClient } from "../client/client.ts";

/** What a kolla node needs from the started lab. */
export interface KollaHost extends Omit<GuestHost, "api" | "hostname" | "exec"> {
  /** The node as commands typed in it see it. */
  readonly host: Host;
  /** The node's network namespace with this machine's tools (where the clients and the stand-in for nova run). */
  readonly view: Host;
  /** Starts the openvswitch_db and openvswitch_vswitchd "containers": ovsdb-server and ovs-vswitchd in the node. */
  startOvs(): Promise<void>;
  /**
   * kolla's ovn-db containers: the northbound and southbound databases (raft clusters of one member)
   * with their set-connection listeners on 6641/6642, the southbound relay on 16641 (2025.1), northd.
   */
  startOvnCentral(o: { api: string; relay: boolean }): Promise<void>;
  /** kolla's ovn_controller container, on the node's switch database. */
  startOvnController(): Promise<void>;
  /** Restarts one of those containers' daemons as `docker stop -t <grace>` then a start do. */
  restartOvn(container: string, graceMs: number): Promise<{ stoppedMs: number; readyMs: number }>;
  /** The kernel-datapath behaviour after OVS changes (a NIC in a bridge stops carrying the node's own traffic). */
  reconcile(): Promise<string[]>;
  /** The node's enclave (created on first use, recorded for teardown). */
  enclave(): Promise<Enclave>;
  /** Records a daemon in the run state. */
  record(d: Daemon): void;
}

export interface StepOutput {
  exitCode: number;
  stdout: string;
  stderr: string;
}

/** The OVN containers a `restart:` step restarts on an ML2/OVN node (as kolla's handlers restart them). */
export const OVN_RESTARTABLE = ["ovn-controller", "ovn-northd", "ovn-nb-db", "ovn-sb-db"] as const;

/** Prints ansible's header for a task (`TASK [role : name]`, or `RUNNING HANDLER` for a handler). */
type TaskHeader = (role: string, name: string, handler?: boolean) => void;

/** kolla-ansible's docker_graceful_timeout (group_vars/all.yml): `docker stop -t 60`. */
const KOLLA_GRACEFUL_TIMEOUT_MS = 60_000;

/** Seconds curl waits for a connection per image pull (docker's own dial timeout is 30 s; the labs use less). */
export const PULL_CONNECT_TIMEOUT_S = 4;

/** The client's cloud (kolla's /etc/kolla/clouds.yaml): its environment in the node names it. */
export function kollaEnv(stateDir: string): Record<string, string> {
  return { OS_CLOUD: "kolla-admin", OS_CLIENT_CONFIG_FILE: join(openstackPaths(stateDir).etc, "clouds.yaml") };
}

/**
 * One kolla-ansible target: the all-in-one node of seed 003. `precheck` is labwright's (kolla has
 * none); `deploy` follows kolla's plays (kolla.ts) and starts the real daemons; `openstack` runs the
 * real client, or the stand-in for nova's two commands.
 */
export class KollaNode {
  private ovsStarted = false;
  private ovnStarted = { central: false, controller: false };
  /** The mechanism of the last deploy: ML2/OVS (the agents) or ML2/OVN (OVN's flows). */
  plugin: KollaGlobals["plugin"] = "openvswitch";
  private readonly pulled = new Set<string>();
  private services: OpenstackServices | null = null;
  private deployed = false;
  private nova: Nova | null = null;
  /** With enable_nova_fake: the real nova, placement and glance, and the VMs of the servers it bound here. */
  private novaServices: NovaServices | null = null;
  private novaReady = false;
  private realVms: Guests | null = null;
  /** The last deploy ran the real nova (kolla's enable_nova_fake). */
  novaReal = false;
  /** kolla_internal_vip_address (else the API address) of the last deploy: where the APIs answer. */
  private apiVip = "";
  private enclaveHost: Enclave | null = null;
  /** The node's hostname, under which its agents report (its name). */
  readonly hostname: string;

  /** The node's `openstack` client. */
  private readonly osc: OpenstackClient;

  /** Where the node's OpenStack daemons' software is (its machine view's root): versions are read there. */
  private get softwareRoot(): string {
    return this.k.view.softwareRoot ?? "/";
  }

  constructor(private readonly k: KollaHost) {
    this.hostname = k.node;
    this.osc = new OpenstackClient(k.view, k.host.stateDir, (d) => k.record(d));
  }

  /** A network namespace neutron made in the node's enclave (`qrouter-<id>`), as this machine reaches it, once it exists. */
  namespacePath(name: string): string | null {
    if (!this.enclaveHost) return null;
    const p = this.enclaveHost.machinePath(join("/run/netns", name));
    return existsSync(p) ? p : null;
  }

  /**
   * Waits until the OVS agent ran one whole rpc_loop iteration that began after `since` (ms since
   * the epoch): security group changes reach the firewall in the agent's next iteration.
   */
  async awaitAgentPass(since: number, ms: number): Promise<void> {
    const log = join(this.neutronLogDir, "neutron-openvswitch-agent.log");
    const t0 = Date.now();
    const deadline = t0 + ms;
    for (;;) {
      let text: string;
      try {
        text = readFileSync(log, "utf8");
      } catch (e) {
        throw new ConvergenceError(
          [`neutron-openvswitch-agent on ${this.k.node}: its log cannot be read to see its pass (${(e as Error).message})`],
          Date.now() - t0,
        );
      }
      let begun: string | undefined;
      for (const m of text.matchAll(/^(\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d+) .*Agent rpc_loop - iteration:(\d+) (started|completed)/gm)) {
        if (m[3] === "started" && begun === undefined && Date.parse(m[1]!.replace(" ", "T")) >= since) begun = m[2];
        if (m[3] === "completed" && begun !== undefined && m[2] === begun) return;
      }
      if (Date.now() > deadline) {
        const what =
          begun === undefined
            ? "no rpc_loop iteration started after the change"
            : `rpc_loop iteration ${begun} started after the change but has not completed`;
        throw new ConvergenceError([`neutron-openvswitch-agent on ${this.k.node}: ${what}`], Date.now() - t0);
      }
      await new Promise((r) => setTimeout(r, 200));
    }
  }

  /** Waits until every chassis has caught up with the northbound database (`ovn-nbctl --wait=hv sync`). */
  async awaitOvnSync(ms: number): Promise<void> {
    const t0 = Date.now();
    const s = Math.max(1, Math.floor(ms / 1000));
    const r = await this.k.host.exec(
      ["ovn-nbctl", `--db=unix:${join(ovsDir(this.k.host), "ovnnb_db.sock")}`, `--timeout=${s}`, "--wait=hv", "sync"],
      { timeoutS: s + 5 },
    );
    if (r.exitCode !== 0)
      throw new ConvergenceError(
        [
          `OVN on ${this.k.node}: the chassis did not catch up with the northbound database (ovn-nbctl --wait=hv sync: ${(r.stderr || r.stdout).trim() || `exit ${r.exitCode}`})`,
        ],
        Date.now() - t0,
      );
  }

  /**
   * What neutron's daemons logged about an object (a port's id, also as its tap device's name): the
   * last `n` lines naming it in each daemon's log, then each daemon's last error or warning lines.
   * The evidence a convergence failure carries, so that a CI log shows why, not only what.
   */
  logsAbout(ids: readonly string[], n = 6): string[] {
    const out: string[] = [];
    for (const d of ["neutron-server", "neutron-openvswitch-agent", "neutron-dhcp-agent", "neutron-l3-agent"]) {
      let lines: string[];
      try {
        lines = readFileSync(join(this.neutronLogDir, `${d}.log`), "utf8").split("\n");
      } catch {
        continue;
      }
      const about = lines.filter((l) => ids.some((id) => l.includes(id) || l.includes(`tap${id.slice(0, 11)}`)));
      for (const l of about.slice(-n)) out.push(`${d}.log: ${l.slice(0, 500)}`);
      for (const l of lines.filter((x) => / (ERROR|WARNING) /.test(x)).slice(-3)) out.push(`${d}.log (last warnings): ${l.slice(0, 500)}`);
    }
    return out;
  }

  /** The servers with a VM here (by name): the stand-in's, or the real nova's once their ports are plugged. */
  get servers(): Nova["servers"] {
    return (this.novaReal ? this.realVms?.servers : this.nova?.servers) ?? new Map();
  }

  /** `rabbitmqctl ARGS` against the node's RabbitMQ, once the rabbitmq play ran. */
  rabbitmqctl(args: readonly string[]) {
    if (!this.services) throw new Error(`no RabbitMQ runs on ${this.k.node} yet (no deploy reached the rabbitmq play)`);
    return this.services.rabbitmqctl(args);
  }

  /** The node's RabbitMQ queues and their types, once the rabbitmq play ran. */
  async queues(): Promise<{ name: string; type: string }[]> {
    if (!this.services) throw new Error(`no RabbitMQ runs on ${this.k.node} yet (no deploy reached the rabbitmq play)`);
    return this.services.queues();
  }

  /** neutron's API on this node, once deployed. */
  get api(): NeutronApi | null {
    return this.deployed ? (this.services?.api ?? null) : null;
  }

  get neutronLogDir(): string {
    return openstackPaths(this.k.host.stateDir).log;
  }

  /** Live checks of the node against globals.yml, before anything is deployed. Exit 1 with the findings. */
  async precheck(g: KollaGlobals): Promise<StepOutput> {
    const addrs = await this.addresses();
    const def = await this.defaultRoute();
    const findings: string[] = [];
    const mgmt = addrs.get(g.network_interface);
    if (!mgmt) findings.push(`network_interface ${g.network_interface}: no such interface on ${this.k.node}`);
    else if (!mgmt.length)
      findings.push(
        `network_interface ${g.network_interface} has no IPv4 address: kolla uses it for the APIs, tunnels and DNS, so it must have one`,
      );
    if (g.neutron_bridge_names.length !== g.neutron_external_interfaces.length) {
      findings.push(
        `neutron_bridge_name lists ${g.neutron_bridge_names.length} bridge(s) for ${g.neutron_external_interfaces.length} neutron_external_interface(s): kolla zips them, so ${g.neutron_external_interfaces.slice(g.neutron_bridge_names.length).join(", ") || g.neutron_bridge_names.slice(g.neutron_external_interfaces.length).join(", ")} would be left out`,
      );
    }
    for (const nic of g.neutron_external_interfaces) {
      const a = addrs.get(nic);
      if (a === undefined) {
        findings.push(`neutron_external_interface ${nic}: no such interface on ${this.k.node}`);
        continue;
      }
      if (nic === g.network_interface)
        findings.push(
          `neutron_external_interface ${nic} is also network_interface: its address ${mgmt?.join(", ") || ""} carries the APIs, and becomes unusable once ${nic} is an OVS port`,
        );
      if (def?.dev === nic) {
        findings.push(
          `neutron_external_interface ${nic} holds the default route (default via ${def.via ?? "?"}): the openvswitch play makes ${nic} an OVS port, the node loses its way out and every later image pull fails. Move the default route to another interface (seed 003: via ${g.network_interface} to a node that forwards and NATs)`,
        );
      }
      if (a.length) {
        findings.push(
          `neutron_external_interface ${nic} holds ${a.join(", ")}: "Even though an IP address can exist on this interface, it will be unusable in most configurations" (kolla's globals.yml); traffic from this node to ${a.map((x) => this.networkOf(x)).join(", ")} would go into ${nic} and never come back. Remove the address (ip addr flush dev ${nic})`,
        );
      }
    }
    if (!findings.length) {
      return {
        exitCode: 0,
        stdout: `precheck: ok: ${g.neutron_external_interfaces.join(", ")} hold no address and no default route; network_interface ${g.network_interface} has ${mgmt!.join(", ")}\n`,
        stderr: "",
      };
    }
    return { exitCode: 1, stdout: "", stderr: findings.map((f) => `precheck: ${f}`).join("\n") + "\n" };
  }

  /**
   * `kolla-ansible deploy`: the release's plays in order. Each task that needs an image not yet on
   * the node pulls it from the registry over the node's own routes; the mariadb, rabbitmq,
   * openvswitch and neutron plays start the real daemons. Stops at the first failing task, as
   * ansible does. A second deploy pulls nothing again and restarts the neutron daemons whose
   * configuration changed (kolla's handlers).
   */
  async deploy(g: KollaGlobals, overrides: readonly KollaOverride[] = []): Promise<StepOutput> {
    const out: string[] = [];
    let ok = 0;
    let changed = 0;
    const node = this.k.node;
    const recap = (failed: number) => {
      out.push(
        "",
        "PLAY RECAP " + "*".repeat(60),
        `${node.padEnd(26)} : ok=${ok}    changed=${changed}    unreachable=0    failed=${failed}    skipped=0    rescued=0    ignored=0`,
      );
      return out.join("\n") + "\n";
    };
    const fail = (msg: string): StepOutput => {
      out.push(`fatal: [${node}]: FAILED! => {"changed": true, "msg": ${JSON.stringify(msg)}}`);
      return { exitCode: 2, stdout: recap(1), stderr: "" };
    };
    const task = (role: string, name: string, handler = false) => {
      const head = `${handler ? "RUNNING HANDLER" : "TASK"} [${role} : ${name}] `;
      out.push("", head + "*".repeat(Math.max(3, 78 - head.length)));
    };
    if (g.ignored.length) out.push(`[labwright] globals.yml keys with no effect labwright models: ${g.ignored.join(", ")}`);
    out.push(
      `[labwright] kolla-ansible ${g.release} (${g.rel.kollaAnsible}): the plays of its site.yml; image pulls fetch manifests from ${g.docker_registry}; MariaDB, RabbitMQ, Open vSwitch${g.plugin === "ovn" ? ", OVN" : ""} and neutron${g.plugin === "ovn" ? " (ML2/OVN)" : ""} are the real daemons, configured as ${g.release} renders them`,
      `[labwright] neutron is ${this.softwareRoot === "/" ? "this machine's" : "the toolchain's"} ${neutronVersion(this.softwareRoot)} (Debian 12's); ${g.release}'s images carry neutron ${g.rel.neutron}`,
    );
    if (g.novaFake) {
      let versions: string;
      try {
        versions = novaVersions(this.softwareRoot);
      } catch (e) {
        return fail((e as Error).message);
      }
      out.push(
        `[labwright] enable_nova_fake: nova, placement and glance are the real daemons too: ${versions} (Debian 12's), nova-compute with the fake driver`,
      );
    }

    // The client's imports load while the plays run (its first command would wait for them otherwise).
    this.osc.start().catch(() => undefined);
    const addrs = await this.addresses();
    const mgmt = addrs.get(g.network_interface);
    out.push("", "PLAY [Gather facts for all hosts] " + "*".repeat(44), "", "TASK [Gather facts] " + "*".repeat(58), `ok: [${node}]`);
    ok++;
    if (!mgmt) return fail(`Interface '${g.network_interface}' not present on host '${node}'`);
    if (!mgmt.length) return fail(`Address family 'IPv4' undefined on network interface '${g.network_interface}' on host '${node}'`);
    const apiAddress = mgmt[0]!.split("/")[0]!;
    const facts: NodeFacts = { apiAddress, vip: g.kolla_internal_vip_address ?? apiAddress, hostname: this.hostname };
    this.apiVip = facts.vip;

    // One play: null when it went through, else what failed (kolla's "fatal" message).
    const runPlay = async (play: Play): Promise<string | null> => {
      out.push("", `PLAY [${play.name}] ` + "*".repeat(Math.max(3, 72 - play.name.length)));
      // ovn-controller's deploy.yml runs setup-ovs.yml (through the kolla-toolbox already on the node)
      // before its handler pulls and starts the container.
      if (play.real === "ovn-controller") {
        const err = await this.ovnSetupOvs(g, facts, task, out);
        if (err) return err;
      }
      // One script per play: each image in the order its task needs it, up to the first that fails.
      const pulls = play.pulls.filter((p) => !this.pulled.has(p.image));
      if (pulls.length) {
        const r = await this.k.host.exec(
          [
            "bash",
            "-c",
            pullScript(
              g,
              pulls.map((p) => p.image),
              PULL_CONNECT_TIMEOUT_S,
            ),
          ],
          { timeoutS: PULL_CONNECT_TIMEOUT_S * 2 * pulls.length + 30 },
        );
        if (r.exitCode !== 0) return `image pull script failed: ${r.stderr.trim()}`;
        const results = new Map(
          r.stdout
            .trim()
            .split("\n")
            .filter(Boolean)
            .map((l) => {
              const [img, ...rest] = l.split(" ");
              return [img!, rest] as const;
            }),
        );
        for (const p of pulls) {
          task(play.role, p.task, p.handler);
          const [rc, code, ...err] = results.get(p.image) ?? ["?", "?"];
          if (rc !== "0" || code !== "200")
            return `'Traceback (most recent call last):\\n ... ${pullError(g, p.image, Number(rc), code ?? "", err.join(" "))}\\n'`;
          this.pulled.add(p.image);
          out.push(`changed: [${node}]`);
          changed++;
          ok++;
        }
      }
      if (play.real) {
        const err = await this.realPart(play, g, facts, overrides, task, out);
        if (err) return err;
        ok++;
        changed++;
      }
      if (play.nova && g.novaFake) {
        const err = await this.novaPart(play.nova, g, facts, task, out);
        if (err) return err;
        ok++;
        changed++;
      }
      return null;
    };
    this.plugin = g.plugin;
    this.novaReal = g.novaFake;
    for (const play of playsFor(g.release, g.plugin)) {
      const err = await span(`play ${play.name}`, "play", () => runPlay(play), node);
      if (err) return fail(err);
    }
    this.deployed = true;
    return { exitCode: 0, stdout: recap(0), stderr: "" };
  }

  /** What a play does for real here; an error message when it fails. */
  private async realPart(
    play: Play,
    g: KollaGlobals,
    facts: NodeFacts,
    overrides: readonly KollaOverride[],
    task: TaskHeader,
    out: string[],
  ): Promise<string | null> {
    const node = this.k.node;
    try {
      switch (play.real) {
        case "mariadb":
          task("mariadb", "Starting first MariaDB container", true);
          await (
            await this.stack(facts)
          ).startDatabase(neutronVersion(this.softwareRoot), g.novaFake ? novaVersions(this.softwareRoot) : undefined);
          out.push(`changed: [${node}]`);
          return null;
        case "rabbitmq":
          task("rabbitmq", "Restart first rabbitmq container", true);
          (await this.stack(facts)).startRabbit();
          out.push(`changed: [${node}]`);
          return null;
        case "openvswitch":
          return await this.openvswitchPlay(g, task, out);
        case "ovn-controller":
          if (!this.ovnStarted.controller) {
            task("ovn-controller", "Restart ovn-controller container", true);
            await this.k.startOvnController();
            this.ovnStarted.controller = true;
            out.push(`changed: [${node}]`);
          }
          return null;
        case "ovn-db":
          if (!this.ovnStarted.central) {
            await this.k.startOvnCentral({ api: facts.apiAddress, relay: g.release === "2025.1" });
            this.ovnStarted.central = true;
          }
          task("ovn-db", "Configure OVN NB connection settings");
          out.push(`changed: [${node}]`);
          task("ovn-db", "Configure OVN SB connection settings");
          out.push(`changed: [${node}]`);
          return null;
        case "neutron": {
          if (g.plugin === "ovn") {
            const note = await this.chassisForNeutron21();
            out.push(`[labwright] ${note}`);
          }
          const stack = await this.stack(facts);
          const paths = openstackPaths(this.k.host.stateDir);
          await this.k.view.writeFile(join(paths.etc, "clouds.yaml"), g.novaFake ? novaCloudsYaml(facts.vip) : cloudsYaml(facts.vip));
          for (const o of unusedOverrides(g, overrides))
            out.push(
              `[labwright] /etc/kolla/config/${o.path}: no container of this deploy reads ${o.service ?? o.file} (${g.plugin === "ovn" ? "ML2/OVN runs neutron-server and the OVN metadata agent only" : "ML2/OVS runs neutron-server and the OVS, L3, DHCP and metadata agents"}): kolla merges it into nothing, so it has no effect`,
            );
          const { started, timings } = await stack.applyNeutron(renderNeutronConfig(g, facts, paths, overrides));
          for (const d of started) {
            task("neutron", `Restart ${d} container`, true);
            out.push(`changed: [${node}]`);
          }
          out.push(
            "",
            started.length
              ? `[labwright] neutron ${neutronVersion(this.softwareRoot)}: ${timings.join("; ")}`
              : `[labwright] neutron: no configuration changed, no daemon restarted`,
          );
          const guestHost: GuestHost = {
            ...this.k,
            hostname: facts.hostname,
            api: stack.api,
            exec: (argv, timeoutS) => this.k.view.exec(argv, { timeoutS: timeoutS ?? 30 }),
          };
          this.nova ??= new Nova(guestHost);
          this.realVms ??= new Guests(guestHost);
          return null;
        }
        default:
          return null;
      }
    } catch (e) {
      return (e as Error).message;
    }
  }

  /**
   * With `enable_nova_fake`: what the glance, placement and nova plays start for real (nova/): the
   * files, glance-api, placement, the cells pointed at this node's database and broker (the
   * bootstrap's map_cell0 and create_cell), nova's scheduler and API, then its conductor and fake
   * compute, awaited as kolla's nova-cell play awaits them, and the compute host discovered.
   */
  private async novaPart(part: NovaPart, g: KollaGlobals, facts: NodeFacts, task: TaskHeader, out: string[]): Promise<string | null> {
    const node = this.k.node;
    try {
      const stack = await this.stack(facts);
      const paths = openstackPaths(this.k.host.stateDir);
      this.novaServices ??= new NovaServices(this.enclaveHost!, paths, facts, (d) => this.k.record(d));
      const ns = this.novaServices;
      switch (part) {
        case "glance":
          ns.write(renderNovaConfig(g, facts, paths));
          task("glance", "Restart glance-api container", true);
          ns.start("glance-api");
          break;
        case "placement":
          task("placement", "Restart placement-api container", true);
          ns.start("placement-api");
          break;
        case "nova-bootstrap":
          task("nova", "Create cell0 mappings");
          await stack.sql(cellMappingsSql(cellUrls(facts)));
          break;
        case "nova":
          // kolla's rabbitmq play ends once the broker answers (its handler's `rabbitmqctl wait`);
          // labwright awaits it where a daemon first needs it. nova's RPC services started before it
          // listens log ECONNREFUSED as ERROR (measured: a run of 2026-12-06 06:32:21, nova-conductor
          // and nova-scheduler 0.5 s after the broker's start, before it listened).
          await span("rabbitmq (ready)", "daemon", () => stack.rabbitReady(), node);
          task("nova", "Restart nova-scheduler container", true);
          ns.start("nova-scheduler");
          out.push(`changed: [${node}]`);
          task("nova", "Restart nova-api container", true);
          ns.start("nova-api");
          break;
        case "nova-cell": {
          task("nova-cell", "Restart nova-conductor container", true);
          ns.start("nova-conductor");
          out.push(`changed: [${node}]`);
          // nova-compute's start pings the conductor over RPC and logs a WARNING when that times out
          // ("Timed out waiting for nova-conductor … did this service start before nova-conductor?",
          // 10 s after its start in the same run). kolla's handlers between the two (novncproxy,
          // nova-ssh, nova-libvirt and its wait) take seconds; labwright waits for the conductor to
          // consume its topic instead.
          if (!this.novaReady)
            await span(
              "nova-conductor consuming conductor",
              "daemon",
              () => stack.awaitTopics(ns.daemon("nova-conductor"), ["conductor"], () => ns.tails(["nova-conductor"])),
              node,
            );
          task("nova-cell", "Restart nova-compute-fake containers", true);
          ns.start("nova-compute");
          out.push(`changed: [${node}]`);
          if (!this.novaReady) {
            const timings = await ns.ready();
            this.novaReady = true;
            task("nova-cell", "Discover nova hosts");
            out.push(`changed: [${node}]`, "", `[labwright] nova: ${timings.join("; ")}`);
            return null;
          }
          break;
        }
      }
      out.push(`changed: [${node}]`);
      return null;
    } catch (e) {
      return (e as Error).message;
    }
  }

  private async stack(facts: NodeFacts): Promise<OpenstackServices> {
    this.enclaveHost ??= await this.k.enclave();
    this.services ??= new OpenstackServices(this.enclaveHost, openstackPaths(this.k.host.stateDir), facts, (d) => this.k.record(d));
    return this.services;
  }

  private async openvswitchPlay(g: KollaGlobals, task: TaskHeader, out: string[]): Promise<string | null> {
    if (!this.ovsStarted) {
      await this.k.startOvs();
      this.ovsStarted = true;
    }
    const addrs = await this.addresses();
    const pairs = bridgeMappings(g);
    task("openvswitch", "Set system-id and hw-offload");
    out.push(`ok: [${this.k.node}] => (item={'col': 'external_ids', 'name': 'system-id', 'value': '${this.k.node}'})`);
    task("openvswitch", "Ensuring OVS bridge is properly setup");
    for (const p of pairs) {
      if (!addrs.has(p.nic))
        return `non-zero return code: ovs-vsctl: cannot add ${p.nic} to ${p.bridge}: no such network device on ${this.k.node}`;
      // kolla_ensure_openvswitch_configured <bridge> <interface>
      const r = await this.k.host.exec(
        [
          "ovs-vsctl",
          "--timeout=10",
          "--",
          "--may-exist",
          "add-br",
          p.bridge,
          "--",
          "set",
          "bridge",
          p.bridge,
          "datapath_type=netdev",
          "--",
          "--may-exist",
          "add-port",
          p.bridge,
          p.nic,
        ],
        { timeoutS: 30 },
      );
      if (r.exitCode !== 0) return `non-zero return code: ${r.stderr.trim()}`;
      out.push(`changed: [${this.k.node}] => (item=['${p.bridge}', '${p.nic}'])`);
    }
    for (const c of await this.k.reconcile()) out.push(`[labwright] ${c}`);
    return null;
  }

  /**
   * The ovn-controller play's setup-ovs.yml (before its handler starts the container): br-int in
   * secure mode, and the chassis' settings in the switch database's external_ids. On an all-in-one
   * node the chassis is a gateway (the network group's `enable-chassis-as-gw`), and its bridge
   * mappings are kolla's physnet:bridge pairs.
   */
  private async ovnSetupOvs(g: KollaGlobals, facts: NodeFacts, task: TaskHeader, out: string[]): Promise<string | null> {
    const node = this.k.node;
    const maps = bridgeMappings(g);
    const conn = ovnConnections(g, facts);
    task("ovn-controller", "Create br-int bridge on OpenvSwitch");
    const br = await this.k.host.exec(
      [
        "ovs-vsctl",
        "--timeout=10",
        "--may-exist",
        "add-br",
        "br-int",
        "--",
        "set",
        "bridge",
        "br-int",
        "fail_mode=secure",
        // labwright: the userspace datapath (kolla: the system datapath, the kernel module this machine lacks)
        "datapath_type=netdev",
      ],
      { timeoutS: 30 },
    );
    if (br.exitCode !== 0) return `non-zero return code: ${br.stderr.trim()}`;
    out.push(`changed: [${node}]`);
    task("ovn-controller", "Configure OVN in OVSDB");
    const ids: [string, string][] = [
      ["ovn-encap-ip", facts.apiAddress],
      ["ovn-encap-type", "geneve"],
      ["ovn-remote", conn.sb],
      ["ovn-remote-probe-interval", "60000"],
      ["ovn-openflow-probe-interval", "60"],
      ["ovn-monitor-all", "false"],
      ["ovn-bridge-mappings", maps.map((m) => `${m.physnet}:${m.bridge}`).join(",")],
      ["ovn-chassis-mac-mappings", maps.map((m) => `${m.physnet}:${chassisMac(node + m.bridge)}`).join(",")],
      ["ovn-cms-options", "enable-chassis-as-gw"],
    ];
    const set = await this.k.host.exec(
      ["ovs-vsctl", "--timeout=10", "set", "open_vswitch", ".", ...ids.map(([k, v]) => `external_ids:${k}="${v}"`)],
      { timeoutS: 30 },
    );
    if (set.exitCode !== 0) return `non-zero return code: ${set.stderr.trim()}`;
    for (const [k, v] of ids) out.push(`changed: [${node}] => (item={'name': '${k}', 'value': '${v}'})`);
    return null;
  }

  /**
   * neutron 21 (Debian 12's) reads a chassis' `ovn-bridge-mappings` and `ovn-cms-options` from the
   * southbound Chassis row's external_ids, where OVN up to 22.06 put them; OVN 23.03 (Debian 12's,
   * and kolla's) writes them to other_config only, and neutron 22 on (the neutron of every modelled
   * kolla release) reads other_config. Without them neutron 21 sees no gateway chassis and no
   * physnet, and a router's gateway port is never scheduled. labwright copies the two keys, as
   * ovn-controller wrote them, before neutron-server starts: the one change made for the version
   * skew, reported in the deploy's output.
   */
  private async chassisForNeutron21(timeoutMs = 30_000): Promise<string> {
    const sb = ["ovn-sbctl", "--timeout=10", `--db=${ovnConnectionsFromNode(this.k)}`];
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const r = await this.k.host.exec(
        [...sb, "--format=json", "--columns=name,other_config", "find", "Chassis", `hostname=${this.hostname}`],
        { timeoutS: 20 },
      );
      const row = r.exitCode === 0 ? (JSON.parse(r.stdout) as { data: [string, ["map", [string, string][]]][] }).data[0] : undefined;
      const other = new Map(row?.[1][1] ?? []);
      if (row && other.has("ovn-bridge-mappings") && other.has("ovn-cms-options")) {
        const keys = ["ovn-bridge-mappings", "ovn-cms-options"].map((k) => `external_ids:${k}="${other.get(k)}"`);
        const set = await this.k.host.exec([...sb, "set", "Chassis", row[0], ...keys], { timeoutS: 20 });
        if (set.exitCode !== 0) throw new Error(`copying chassis ${row[0]}'s settings for neutron 21: ${set.stderr.trim()}`);
        return `chassis ${row[0]}: ovn-bridge-mappings and ovn-cms-options copied from other_config (OVN 23.03 writes them there) to external_ids, where neutron 21 reads them`;
      }
      if (Date.now() > deadline)
        throw new Error(
          `ovn-controller on ${this.k.node} did not register its chassis in the southbound database within ${timeoutMs / 1000} s${r.exitCode === 0 ? "" : `: ${r.stderr.trim()}`}`,
        );
      await new Promise((res) => setTimeout(res, 200));
    }
  }

  /**
   * `openstack ...`: the real client in the node, its `$(...)` substitutions run first; `server
   * create` and `server add floating ip` go to the stand-in for nova.
   */
  /** A `restart:` step: one of neutron's daemons restarted as its container would be. */
  async restart(daemon: string): Promise<StepOutput> {
    const can = OpenstackServices.RESTARTABLE;
    if (!this.services || !this.deployed)
      return { exitCode: 1, stdout: "", stderr: `nothing is deployed on ${this.hostname} yet: run kolla-ansible deploy first\n` };
    if (this.plugin === "ovn" && (OVN_RESTARTABLE as readonly string[]).includes(daemon)) {
      const t = await this.k.restartOvn(daemon, KOLLA_GRACEFUL_TIMEOUT_MS);
      const s = (ms: number) => `${(ms / 1000).toFixed(1)} s`;
      return {
        exitCode: 0,
        stdout: `${daemon} on ${this.hostname}: stopped in ${s(t.stoppedMs)} (SIGTERM, as docker stop -t 60), started again, answering on its control socket after ${s(t.readyMs)}\n`,
        stderr: "",
      };
    }
    if (this.plugin === "ovn" && daemon !== "neutron-server")
      return {
        exitCode: 1,
        stdout: "",
        stderr: `labwright restarts on ${this.hostname} (ML2/OVN): neutron-server, ${OVN_RESTARTABLE.join(", ")} (not "${daemon}")\n`,
      };
    if (!(can as readonly string[]).includes(daemon))
      return {
        exitCode: 1,
        stdout: "",
        stderr: `labwright restarts neutron's daemons on ${this.hostname}: ${can.join(", ")} (not "${daemon}")\n`,
      };
    const t = await this.services.restart(daemon as (typeof can)[number]);
    const s = (ms: number) => `${(ms / 1000).toFixed(1)} s`;
    return {
      exitCode: 0,
      stdout: `${daemon} on ${this.hostname}: stopped in ${s(t.stoppedMs)} (SIGTERM), started again, ${daemon === "neutron-server" ? "answering and consuming its RPC topics" : "reporting alive"} after ${s(t.readyMs)}\n`,
      stderr: "",
    };
  }

  async openstack(c: OpenstackCommand): Promise<Omit<CommandResult, "argv" | "durationMs">> {
    const refused = [c, ...c.substitutions].map((x) => (this.novaReal ? undefined : novaRefusal(x))).find((x) => x !== undefined);
    if (refused !== undefined) return { exitCode: 2, signal: null, stdout: "", stderr: `${refused}\n`, timedOut: false };
    const values: string[] = [];
    for (const inner of c.substitutions) {
      const r = await this.client(inner.argv);
      if (r.exitCode !== 0) return r;
      values.push(r.stdout.trim());
    }
    const fill = (w: string) => w.replace(/\u0000(\d+)/g, (_, k: string) => values[Number(k)]!);
    if (this.novaReal) {
      const r = await this.client(c.argv.map(fill));
      if (c.service === "compute") return this.withVms(r);
      return r;
    }
    if (c.nova) {
      if (!this.nova)
        return {
          exitCode: 1,
          signal: null,
          stdout: "",
          stderr: `labwright stands in for nova once neutron runs: kolla-ansible deploy has not completed on ${this.k.node}\n`,
          timedOut: false,
        };
      const n =
        c.nova.verb === "server add floating ip"
          ? { ...c.nova, address: fill(c.nova.address) }
          : { ...c.nova, ...(c.nova.network ? { network: fill(c.nova.network) } : {}) };
      return this.nova.run(n);
    }
    return this.client(c.argv.map(fill));
  }

  /**
   * After a nova command on the real nova: each port nova bound to this node gets its VM (vm/guests.ts:
   * os-vif's plug, the guest namespace named after the server, its DHCP lease), as libvirt and os-vif
   * would give it one; a server whose port is gone loses its VM. What could not be done is added to
   * the command's output; the command's own exit code stands.
   */
  private async withVms(r: CommandResult): Promise<CommandResult> {
    const notes = await this.syncVms().catch((e: Error) => [`labwright: ${e.message}`]);
    return notes.length ? { ...r, stderr: `${r.stderr}${notes.join("\n")}\n` } : r;
  }

  private async syncVms(): Promise<string[]> {
    const api = this.services?.api;
    const vms = this.realVms;
    if (!api || !vms) return [];
    // nova builds a server after answering (202): its port is bound once the compute has claimed it.
    // The VM is there when the server has left BUILD, as a guest would be booting by then.
    const deadline = Date.now() + 120_000;
    for (;;) {
      const building = ((await this.novaGet<{ servers: { name: string; status: string }[] }>("/servers/detail"))?.servers ?? []).filter(
        (x) => x.status === "BUILD",
      );
      if (!building.length) break;
      if (Date.now() > deadline)
        return [`labwright: nova still building ${building.map((x) => x.name).join(", ")} after 120 s: no VM for it yet`];
      await new Promise((r) => setTimeout(r, 200));
    }
    const ports = (await api.get<{ ports: Port[] }>("/ports")).ports.filter(
      (p) => p.device_owner.startsWith("compute:") && p["binding:host_id"] === this.hostname,
    );
    const notes: string[] = [];
    for (const [name, s] of [...vms.servers]) if (!ports.some((p) => p.id === s.portId)) await vms.detach(name, s.portId);
    for (const p of ports) {
      if ([...vms.servers.values()].some((s) => s.portId === p.id)) continue;
      const name = await this.serverName(p.device_id);
      if (name === undefined) continue;
      if (!OBJECT_NAME.test(name) || vms.servers.has(name)) {
        notes.push(
          `labwright: server ${JSON.stringify(name)} (${p.device_id}) gets no VM here: ${vms.servers.has(name) ? "another server has that name" : OBJECT_NAME_HINT}`,
        );
        continue;
      }
      try {
        await vms.attach(name, p.device_id, p);
      } catch (e) {
        if (!(e instanceof VmError)) throw e;
        notes.push(`labwright: ${e.message}`);
      }
    }
    return notes;
  }

  /** A server's name from nova's API (undefined when nova does not know the ID). */
  private async serverName(id: string): Promise<string | undefined> {
    return (await this.novaGet<{ server?: { name: string } }>(`/servers/${encodeURIComponent(id)}`))?.server?.name;
  }

  /** GET on nova's API (undefined when it does not answer 200 with JSON). */
  private async novaGet<T>(path: string): Promise<T | undefined> {
    const r = await this.k.view.exec(
      [
        "curl",
        "-sS",
        "--max-time",
        "20",
        "-H",
        "Accept: application/json",
        "-w",
        "\n%{http_code}",
        `http://${this.apiVip}:8774/v2.1${path}`,
      ],
      { timeoutS: 30 },
    );
    const nl = r.stdout.lastIndexOf("\n");
    if (r.exitCode !== 0 || r.stdout.slice(nl + 1) !== "200") return undefined;
    try {
      return JSON.parse(r.stdout.slice(0, nl)) as T;
    } catch {
      return undefined;
    }
  }

  /** The real client, as typed in the node (imported once per node: client/client.ts). */
  client(argv: readonly string[]): Promise<CommandResult> {
    return this.osc.run(argv, 300);
  }

  private async addresses(): Promise<Map<string, string[]>> {
    const r = await this.k.host.exec(["ip", "-j", "addr", "show"], { timeoutS: 10 });
    const list = JSON.parse(r.stdout || "[]") as { ifname: string; addr_info: { family: string; local: string; prefixlen: number }[] }[];
    return new Map(
      list
        .filter((l) => l.ifname !== "lo")
        .map((l) => [l.ifname, l.addr_info.filter((a) => a.family === "inet").map((a) => `${a.local}/${a.prefixlen}`)]),
    );
  }

  private async defaultRoute(): Promise<{ dev: string; via?: string } | undefined> {
    const r = await this.k.host.exec(["ip", "-j", "-4", "route", "show", "default"], { timeoutS: 10 });
    const d = (JSON.parse(r.stdout || "[]") as { dev: string; gateway?: string }[])[0];
    return d ? { dev: d.dev, via: d.gateway } : undefined;
  }

  private networkOf(cidr: string): string {
    const [ip, p] = cidr.split("/");
    const n = ip!.split(".").reduce((a, b) => a * 256 + Number(b), 0);
    const mask = Number(p) === 0 ? 0 : (0xffffffff << (32 - Number(p))) >>> 0;
    const net = (n & mask) >>> 0;
    return `${[24, 16, 8, 0].map((s) => (net >>> s) & 255).join(".")}/${p}`;
  }
}

/**
 * kolla's `ovn_base_mac | random_mac(seed=inventory_hostname + bridge)`: a MAC under 52:54:00 that
 * depends only on the seed (ansible's own random stream is not reproduced: another MAC, same form).
 */
function chassisMac(seed: string): string {
  const h = createHash("sha256").update(seed).digest();
  return ["52", "54", "00", ...[0, 1, 2].map((k) => h[k]!.toString(16).padStart(2, "0"))].join(":");
}

/** The node's southbound database, on its unix socket (the node's own OVS directory). */
function ovnConnectionsFromNode(k: KollaHost): string {
  return `unix:${join(ovsDir(k.host), "ovnsb_db.sock")}`;
}
