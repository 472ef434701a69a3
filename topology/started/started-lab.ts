import { join } from "node:path";
import type { Backend } from "../backends/backend.ts";
import type { Daemon, Host } from "../backends/host.ts";
import { KollaNode } from "../stacks/openstack/kolla/node.ts";
import type { Lab, NodeSpec } from "../model/types.ts";
import type { RunRecord } from "../run/state.ts";
import type { TeardownReport } from "../run/teardown.ts";
import { stopRun } from "../backends/lifecycle.ts";
import { judgeLogs, type LabAllow, scanLogs } from "../logs/scan.ts";
import type { LogFinding, LogSource, LogVerdict } from "../logs/types.ts";
import { incusMembers } from "../stacks/incus/index.ts";
import { kollaNodes } from "../stacks/openstack/index.ts";
import { nodesOf, STACKS, stacksOfNode } from "../stacks/registry.ts";
import { IncusView } from "../stacks/incus/view.ts";
import { NeutronView } from "../stacks/openstack/neutron/view.ts";
import { Addresses } from "./addresses.ts";
import { emulatorHosts } from "../stacks/openstack/kolla/host.ts";
import { Guests } from "./guests.ts";
import { LabProbes } from "./probes.ts";
import { type ActionStep, runStep, type StepResult } from "./steps.ts";
import { Watches } from "./watches.ts";
import { cable, crash, FabricFaults, kill, restart, result } from "./faults.ts";
import { boot, type BootHooks } from "./boot.ts";
import { OVS_RESTARTABLE, restartOvsDaemon } from "../stacks/ovs/restart.ts";
import { restartIncusd } from "../stacks/incus/restart.ts";
import { ovsDir } from "../stacks/ovs/daemons.ts";
import type { CommandResult } from "../run/exec.ts";
import { isAlive } from "../run/process.ts";
import type { WatchResult } from "../probes/watch.ts";
import { stepCommand } from "../model/types.ts";

export type { StepResult };

/** A lab that is up. Dispose of it (`await using`) or call stop(). */
export class StartedLab extends LabProbes implements AsyncDisposable {
  private stopped: Promise<TeardownReport> | null = null;
  /** What the real Incus of the nodes with `software: [incus]` says exists (instances, networks), if any (labs built on this machine; real hosts keep their own instances). */
  readonly incus: IncusView | null;
  /** The versions of the software the lab runs on this machine, by what ({ incus: "6.0.4", neutron: "21.0.0" }). */
  readonly versions: Readonly<Record<string, string>>;
  /** kolla-ansible targets (`software: [kolla]`), by node name. */
  readonly kolla = new Map<string, KollaNode>();
  /** What the real neutron of each kolla node says exists (labs built on this machine). */
  readonly neutron: NeutronView[] = [];
  /** Notes for the run's event log (an object that could not be named, a wait that ran out). */
  readonly notes: string[] = [];
  readonly guests: Guests;
  protected readonly addresses: Addresses;
  protected readonly scratchDir: string;
  /** Every Host of the run: nodes, then guests as steps create them. */
  private readonly hosts: Map<string, Host>;

  /** Real hosts without `--apply`: steps are not run. */
  readonly readOnly: boolean;
  /** Probes kept running through steps (`watch:` steps). */
  readonly watches: Watches;
  /** The fabric (the LAN bridges), in labs labwright builds: where cables are pulled. */
  private readonly fabric?: Host;
  /** Impairments and partitions made by steps (an nftables table in the fabric). */
  private fabricFaults?: FabricFaults;
  /** How a crashed node starts again (labs labwright builds). */
  private readonly bootHooks?: BootHooks;
  /** Nodes a `crash:` step took down and no `boot:` brought back yet. */
  private readonly crashed = new Set<string>();

  constructor(
    readonly lab: Lab,
    readonly record: RunRecord,
    readonly backend: Backend,
    nodes: ReadonlyMap<string, Host>,
    opts: { readOnly?: boolean; versions?: Record<string, string>; fabric?: Host; boot?: BootHooks } = {},
  ) {
    super();
    this.readOnly = opts.readOnly ?? false;
    this.fabric = opts.fabric;
    this.bootHooks = opts.boot;
    this.versions = opts.versions ?? {};
    this.hosts = new Map(nodes);
    this.scratchDir = record.dir;
    this.guests = new Guests(backend, record, this.hosts, (n) => lab.nodes.some((x) => x.name === n));
    const adapters = emulatorHosts(this);
    const members = incusMembers(lab);
    this.incus =
      members.length && backend.builds && !this.readOnly
        ? new IncusView({
            members,
            record,
            host: (n) => this.host(n),
            attach: async (name, of, nsPath, resolvConf) => {
              await this.guests.attach(name, of, nsPath, resolvConf);
            },
            detach: (name) => this.guests.remove(name),
            isAttached: (name) => this.guests.has(name),
            note: (m) => this.notes.push(m),
          })
        : null;
    for (const n of kollaNodes(lab)) {
      const k = new KollaNode(adapters.kolla(n));
      this.kolla.set(n.name, k);
      if (!backend.builds || this.readOnly) continue;
      this.neutron.push(
        new NeutronView({
          node: n.name,
          kolla: k,
          attach: async (name, of, nsPath) => {
            await this.guests.attach(name, of, nsPath, null);
          },
          detach: (name) => this.guests.remove(name),
          isAttached: (name) => this.guests.has(name),
          note: (m) => this.notes.push(m),
        }),
      );
    }
    this.addresses = new Addresses(lab, this.incus, this.neutron, (n) => this.guests.has(n));
    this.watches = new Watches({
      host: (n) => this.host(n),
      addressOf: (from, to) => this.addressOf(from, to),
      record,
      dir: record.dir,
    });
  }

  get runId(): string {
    return this.record.id;
  }

  node(name: string): NodeSpec {
    const n = this.lab.nodes.find((x) => x.name === name);
    if (!n) throw new Error(`lab ${this.lab.name} has no node "${name}" (nodes: ${this.lab.nodes.map((x) => x.name).join(", ")})`);
    return n;
  }

  /** The Host of a node or of a live guest (instance, server, router, DHCP namespace). */
  host(name: string): Host {
    const h = this.hosts.get(name);
    if (!h) {
      this.node(name); // says which nodes exist
      throw new Error(`node ${name} has no host`);
    }
    return h;
  }

  async runStep(step: ActionStep): Promise<StepResult> {
    const start = Date.now();
    try {
      return await runStep(this, step);
    } finally {
      this.watches.mark(step.name ?? `${step.on}$ ${stepCommand(step)}`, step.name, start, Date.now());
    }
  }

  /** A step that is labwright's own action: a watch started, a fault made. */
  async labwrightStep(step: Extract<ActionStep, { kind: "watch" | "fault" }>): Promise<CommandResult> {
    const t0 = performance.now();
    const r = await this.labwrightAction(step);
    return { ...r, durationMs: performance.now() - t0 };
  }

  private labwrightAction(step: Extract<ActionStep, { kind: "watch" | "fault" }>): Promise<CommandResult> {
    if (step.kind === "watch") return this.watches.start(step);
    const ctx = { lab: this.lab, record: this.record, fabric: this.fabric };
    if (step.action === "kill") return Promise.resolve(kill(ctx, step.on, step.target));
    if (step.action === "restart") return this.restartDaemon(step.on, step.target);
    if (step.action === "crash") return crash(ctx, step.on).then((r) => (r.exitCode === 0 && this.crashed.add(step.on), r));
    if (step.action === "boot")
      return boot(ctx, this.bootHooks, this.crashed, step.on).then((r) => (r.exitCode === 0 && this.crashed.delete(step.on), r));
    this.fabricFaults ??= new FabricFaults(ctx);
    if (step.action === "impair") return this.fabricFaults.impair(step.on, step.target, step.loss ?? 0, step.rateKbit);
    if (step.action === "partition") return this.fabricFaults.partition(step.sides!);
    if (step.action === "heal") return this.fabricFaults.heal();
    return cable(ctx, step.on, step.target, step.action === "plug");
  }

  /** A `restart:` step: neutron's daemons on a kolla node as kolla restarts them; OVS/OVN daemons as their systemd units do. */
  private async restartDaemon(node: string, daemon: string): Promise<CommandResult> {
    const kolla = this.kolla.get(node);
    const spec = this.lab.nodes.find((n) => n.name === node);
    const host = this.hosts.get(node);
    const incusd = daemon === "incusd" && spec?.software.includes("incus");
    if (kolla || !spec || !host || !(incusd || (OVS_RESTARTABLE as readonly string[]).includes(daemon)))
      return restart(kolla, node, daemon);
    const started = (d: Daemon) => this.record.update((s) => s.processes.push({ ...d.ref, name: d.name, node }));
    const running = this.record.snapshot.processes.filter((p) => p.node === node && p.name === daemon && isAlive(p)).at(-1);
    const r = incusd
      ? await restartIncusd({ node: spec, host, view: host.machineView?.() ?? host }, this.record.snapshot.processes, started)
      : await restartOvsDaemon(spec, host, ovsDir(host), daemon, running, started);
    const out = (exitCode: number, stdout: string, stderr: string) => result(["labwright", "restart", daemon], exitCode, stdout, stderr);
    if (!r.ok) return out(1, "", `${r.why}\n`);
    const s = (ms: number) => `${(ms / 1000).toFixed(1)} s`;
    return out(
      0,
      `${daemon} on ${node}: stopped in ${s(r.stoppedMs)} (${r.how}), started again, answering ${incusd ? "(incusd waitready)" : "on its control socket"} after ${s(r.readyMs)}\n`,
      "",
    );
  }

  /**
   * Starts a watch from a suite, as a `watch:` step would: `from` probes `to` every `intervalMs`
   * through what the test does next (steps run with runStep are marked on its timeline); read it
   * with watch(name), which stops the running watches. The probe is a ping unless `probe` says
   * `{ tcp: port }`, `{ http: true }` (`to` is the URL) or `{ dns: true }` (`to` is the name).
   */
  async startWatch(
    name: string,
    from: string,
    to: string,
    intervalMs = 100,
    probe: { tcp: number } | { http: true } | { dns: true } | Record<string, never> = {},
  ): Promise<void> {
    const r = await this.watches.start({
      kind: "watch",
      watch: name,
      on: from,
      probe: "tcp" in probe ? "tcp" : "http" in probe ? "http" : "dns" in probe ? "dns" : "ping",
      to,
      ...("tcp" in probe ? { port: probe.tcp } : {}),
      intervalMs,
      should: "succeed",
      origin: { path: "api" },
    });
    if (r.exitCode !== 0) throw new Error(r.stderr);
  }

  /** A watch's figures; asking stops the running watches (their timeline ends here). */
  watch(name: string): Promise<WatchResult | undefined> {
    return this.watches.result(name);
  }

  /**
   * After a step changed OVS on a node: one kernel-datapath pass now (the node's watcher does the
   * same on its own, but the next check must see the result). Returns what it changed.
   */
  async reconcile(node: string): Promise<string[]> {
    const spec = this.lab.nodes.find((n) => n.name === node);
    if (!spec) return [];
    const host = this.host(node);
    // Real hosts have the kernel's own OVS datapath: nothing to stand in for there.
    if (!host.local) return [];
    const view = host.machineView?.() ?? host;
    const changed: string[] = [];
    for (const st of stacksOfNode(spec)) if (st.reconcile) changed.push(...(await st.reconcile(spec, view)));
    return changed;
  }

  /** The log files of every daemon the lab runs on this machine, stack by stack: OVS/OVN, incusd, what kolla deployed (neutron, RabbitMQ, MariaDB). */
  async logSources(): Promise<LogSource[]> {
    if (!this.backend.builds) return [];
    const perStack = await Promise.all(
      STACKS.map((st) => Promise.all(nodesOf(this.lab, st).map((n) => st.logSources?.(this.host(n.name)) ?? []))),
    );
    return perStack.flat(2);
  }

  /** Every warning and error record in the daemons' logs so far, each marked when a built-in entry (topology/logs/allow/) allows it. */
  async logFindings(): Promise<LogFinding[]> {
    return scanLogs(await this.logSources());
  }

  /**
   * The daemons' logs judged: an error record no entry allows (built-in, or `allow`: the lab's own)
   * fails; a warning is reported and fails only when `strict`.
   */
  async logs(allow: readonly LabAllow[] = [], strict = false): Promise<LogVerdict> {
    return judgeLogs(await this.logFindings(), allow, strict);
  }

  /** Removes the lab: processes, namespaces, containers, files. Safe to call more than once. */
  stop(): Promise<TeardownReport> {
    this.stopped ??= (async () => {
      this.record.update((s) => (s.phase = "stopping"));
      await this.backend.close?.();
      return stopRun(this.record.id, this.record.snapshot);
    })();
    return this.stopped;
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.stop();
  }
}
