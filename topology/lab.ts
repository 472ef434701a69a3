import { existsSync, mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { IPv4, IPv4CidrRange } from "ip-num";
import type { Backend } from "./backends/backend.ts";
import { NetnsBackend } from "./backends/netns.ts";
import { awaitListening, type DaemonSpec, dnsmasq, httpd, registry, spawnDaemon } from "./fabric/daemons.ts";
import { natRuleset } from "./fabric/nat.ts";
import { fabricBatch, fabricPort, nodeBatch, portsNotForwarding, vethBatch } from "./fabric/wiring.ts";
import { applySysctls, BASE_SYSCTLS } from "./fabric/sysctls.ts";
import pLimit from "p-limit";
import { IncusCluster, type IncusHost } from "./emulators/incus/cluster.ts";
import { type KollaHost, KollaNode } from "./emulators/openstack/node.ts";
import { isIPv4, NETWORK_REF } from "./model/load.ts";
import { ovsDir, ovsEnv, reconcile, scanLogs, startStack, txOffScript, type LogProblem } from "./stacks/ovs.ts";
import type { Lab, NodeSpec, Step } from "./model/types.ts";
import { type Capture, startCapture } from "./probes/capture.ts";
import { allLinks, type LinkState, linkState } from "./probes/link.ts";
import { type PingOptions, type PingResult, ping } from "./probes/ping.ts";
import { httpGet, type HttpResult, resolveName, type ResolveResult, tcpConnect, type TcpResult } from "./probes/sockets.ts";
import { type TraceResult, traceroute } from "./probes/traceroute.ts";
import type { NodeExec } from "./probes/types.ts";
import { type CommandResult, must, run, type RunOptions } from "./run/exec.ts";
import { preflight } from "./run/preflight.ts";
import { script } from "./run/tokens.ts";
import { namespaceName, RunRecord } from "./run/state.ts";
import { type TeardownReport, teardown, teardownRun } from "./run/teardown.ts";

export interface LabEvent {
  /** Seconds since start() was called. */
  t: number;
  message: string;
}

export interface StartOptions {
  backend?: Backend;
  /** Leave the lab up after this process exits (`labwright up`). */
  persistent?: boolean;
  signal?: AbortSignal;
  onEvent?: (e: LabEvent) => void;
}

export interface StepResult {
  step: Exclude<Step, { kind: "check" }>;
  result: CommandResult;
  /** Did the step do what the lab file said it should (succeed / fail, with the given output)? */
  asExpected: boolean;
  reason?: string;
}

/** The tools a lab needs, by what it uses. */
export function toolsFor(lab: Lab): string[] {
  const tools = new Set(["ip", "bridge", "sysctl", "bash", "ping", "traceroute", "getent", "tcpdump"]);
  for (const n of lab.nodes) {
    if (n.nat.length) tools.add("nft");
    if (n.dns) tools.add("dnsmasq");
    if (n.services.length) tools.add("busybox");
    if (n.software.length) for (const t of ["ovsdb-tool", "ovsdb-server", "ethtool", "nft"]) tools.add(t);
    if (n.software.includes("ovn-host")) for (const t of ["ovs-vswitchd", "ovs-vsctl", "ovn-controller"]) tools.add(t);
    if (n.software.includes("ovn-central")) for (const t of ["ovn-northd", "ovn-nbctl", "ovn-sbctl"]) tools.add(t);
    if (n.software.includes("incus")) for (const t of ["busybox", "ovn-nbctl"]) tools.add(t);
    if (n.software.includes("openvswitch")) for (const t of ["ovs-vswitchd", "ovs-vsctl"]) tools.add(t);
    if (n.software.includes("kolla")) for (const t of ["ovs-vswitchd", "ovs-vsctl", "ovs-ofctl", "iptables-restore", "curl", "dnsmasq", "busybox", "arping"]) tools.add(t);
  }
  return [...tools];
}

/**
 * Builds the lab on this machine. On any failure, or when `signal` aborts, everything created so
 * far is removed before the error is rethrown.
 */
export async function start(lab: Lab, opts: StartOptions = {}): Promise<StartedLab> {
  preflight(toolsFor(lab));
  const backend = opts.backend ?? new NetnsBackend();
  const t0 = performance.now();
  const say = (message: string) => opts.onEvent?.({ t: (performance.now() - t0) / 1000, message });
  const rec = RunRecord.create({ lab: lab.name, file: lab.file, backend: backend.name });
  const fabric = namespaceName(rec.id);
  const nsOf = (node: string) => namespaceName(rec.id, node);
  const check = () => opts.signal?.throwIfAborted();
  try {
    say(`run ${rec.id}: creating ${lab.nodes.length + 1} namespaces (${backend.name} backend)`);
    rec.update((s) => {
      for (const n of lab.nodes) s.nodes[n.name] = { namespace: nsOf(n.name), ...(n.software.length ? { env: ovsEnv(ovsDir(rec.dir, n.name)) } : {}) };
    });
    await backend.createNamespaces(rec, [fabric, ...lab.nodes.map((n) => nsOf(n.name))]);
    check();

    // Per-node work runs at most FAN_OUT commands at a time: a lab of thousands of nodes does not fork thousands of processes at once.
    const limit = pLimit(FAN_OUT);
    const eachNode = <T>(fn: (n: NodeSpec) => Promise<T>) => Promise.all(lab.nodes.map((n) => limit(() => fn(n))));
    await applySysctls((argv, o) => run(["ip", "netns", "exec", fabric, ...argv], o), BASE_SYSCTLS, "sysctls of the fabric");
    await eachNode((n) => applySysctls((argv, o) => run(["ip", "netns", "exec", nsOf(n.name), ...argv], o), { ...BASE_SYSCTLS, ...n.sysctls }, `sysctls of node ${n.name}`));
    check();

    const links = lab.nodes.reduce((a, n) => a + n.interfaces.length, 0);
    say(`wiring ${links} links on ${lab.lans.length} LANs`);
    if (links) await must(["ip", "-batch", "-"], { input: vethBatch(lab, nsOf, fabric), timeoutS: 60, context: "creating veth pairs" });
    await Promise.all([
      must(["ip", "-n", fabric, "-batch", "-"], { input: fabricBatch(lab), timeoutS: 60, context: "LAN bridges" }),
      eachNode((n) => must(["ip", "-n", nsOf(n.name), "-batch", "-"], { input: nodeBatch(n), timeoutS: 60, context: `addresses and routes of node ${n.name}` })),
    ]);
    await awaitForwarding(fabric, links);
    check();

    await eachNode(async (n) => {
      const rules = natRuleset(n.nat);
      if (rules) await must(["ip", "netns", "exec", nsOf(n.name), "nft", "-f", "-"], { input: rules, timeoutS: 30, context: `NAT rules of node ${n.name}` });
    });
    // Every node gets its own resolv.conf (bind-mounted by `ip netns exec`): the host's resolver is never used.
    for (const n of lab.nodes) {
      const dir = `/etc/netns/${nsOf(n.name)}`;
      rec.update((s) => s.paths.push(dir));
      mkdirSync(dir, { recursive: true });
      writeFileSync(join(dir, "resolv.conf"), n.resolver ? `nameserver ${n.resolver}\noptions timeout:1 attempts:2\n` : "# no resolver in this lab node\n");
    }
    check();

    const stacks = lab.nodes.filter((n) => n.software.some((x) => x === "ovn-host" || x === "ovn-central" || x === "openvswitch"));
    if (stacks.length) {
      say(`starting OVS/OVN on ${stacks.map((n) => `${n.name} (${n.software.join(", ")})`).join(", ")}`);
      await Promise.all(
        stacks.map((n) => limit(async () => {
          const env = ovsEnv(ovsDir(rec.dir, n.name));
          if (n.software.some((x) => x === "ovn-host" || x === "openvswitch")) await txOff(lab, n.name, nsOf, fabric);
          await startStack(n, ovsDir(rec.dir, n.name), {
            spawn: (d, log) => {
              const ref = spawnDaemon(nsOf(n.name), d, log, env);
              rec.update((s) => s.processes.push({ ...ref, name: d.name, node: n.name }));
              return ref;
            },
            exec: (argv) => run(["ip", "netns", "exec", nsOf(n.name), ...argv], { env, timeoutS: 30 }),
          });
          const exec = (argv: string[]) => run(["ip", "netns", "exec", nsOf(n.name), ...argv], { env, timeoutS: 30 });
          for (const argv of switchCommands(n)) {
            const r = await exec(argv);
            if (r.exitCode !== 0) throw new Error(`bridges of ${n.name}: ${r.stderr.trim()}`);
          }
          await reconcile(n, exec);
        })),
      );
      check();
    }
    for (const n of lab.nodes.filter((x) => x.software.includes("kolla"))) await txOff(lab, n.name, nsOf, fabric);

    const daemons = lab.nodes.flatMap((n) => {
      const dir = join(rec.dir, "nodes", n.name);
      mkdirSync(dir, { recursive: true });
      const specs: DaemonSpec[] = [];
      const dns = dnsmasq(n);
      if (dns) specs.push(dns);
      for (const svc of n.services) specs.push(svc.type === "registry" ? registry(svc, dir) : httpd(n, svc, dir));
      return specs.map((spec) => ({ node: n.name, spec, log: join(dir, `${spec.name.replace(":", "-")}.log`) }));
    });
    if (daemons.length) say(`starting ${daemons.map((d) => `${d.spec.name}@${d.node}`).join(", ")}`);
    await Promise.all(
      daemons.map((d) =>
        limit(async () => {
          const ref = spawnDaemon(nsOf(d.node), d.spec, d.log);
          rec.update((s) => s.processes.push({ ...ref, name: d.spec.name, node: d.node }));
          await awaitListening(ref, d.spec, d.log);
        }),
      ),
    );
    check();

    rec.update((s) => {
      s.phase = "up";
      s.persistent = opts.persistent ?? false;
    });
    say(`lab ${lab.name} is up (run ${rec.id})`);
    return new StartedLab(lab, rec, backend);
  } catch (e) {
    say(`start failed: unwinding run ${rec.id}`);
    try {
      await teardown(rec.snapshot);
    } catch (te) {
      throw new AggregateError([e, te], `${(e as Error).message}\n(and unwinding failed: ${(te as Error).message}; run 'labwright gc')`);
    }
    throw e;
  }
}

/** The bridges of an `openvswitch` node (the lab's VLAN switch): userspace datapath, access and trunk ports, as argv. */
function switchCommands(n: NodeSpec): string[][] {
  const cmds: string[][] = [];
  for (const [b, ports] of Object.entries(n.bridges)) {
    cmds.push(["ovs-vsctl", "--timeout=10", "--", "--may-exist", "add-br", b, "--", "set", "bridge", b, "datapath_type=netdev"]);
    for (const [p, v] of Object.entries(ports)) {
      const vlan = v.tag !== undefined ? [`tag=${v.tag}`] : v.trunks ? [`trunks=${v.trunks.join(",")}`] : [];
      cmds.push(["ovs-vsctl", "--timeout=10", "--", "--may-exist", "add-port", b, p, ...(vlan.length ? ["--", "set", "port", p, ...vlan] : [])]);
    }
    cmds.push(["ip", "link", "set", b, "up"]);
  }
  return cmds;
}

/** How many per-node commands and daemons a start runs at once. */
export const FAN_OUT = 16;

/** tx checksum offload off on both ends of every NIC of an OVS node (AF_PACKET ports leave TCP checksums unfilled). */
async function txOff(lab: Lab, node: string, nsOf: (n: string) => string, fabric: string): Promise<void> {
  const ni = lab.nodes.findIndex((n) => n.name === node);
  const spec = lab.nodes[ni]!;
  await must(["ip", "netns", "exec", nsOf(node), "bash", "-c", txOffScript(spec.interfaces.map((i) => i.name))], { timeoutS: 30, context: `ethtool on ${node}` });
  await must(["ip", "netns", "exec", fabric, "bash", "-c", txOffScript(spec.interfaces.map((_, ii) => fabricPort(ni, ii)))], { timeoutS: 30, context: `ethtool on the fabric ports of ${node}` });
}

/** Waits until every LAN port of the fabric forwards (carrier seen by the bridge), polling, never sleeping blind. */
async function awaitForwarding(fabric: string, ports: number, timeoutMs = 5000): Promise<void> {
  if (!ports) return;
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const r = await must(["bridge", "-n", fabric, "-j", "link", "show"], { timeoutS: 10 });
    const waiting = portsNotForwarding(r.stdout);
    if (waiting.length === 0) return;
    if (Date.now() > deadline) throw new Error(`LAN ports still not forwarding after ${timeoutMs} ms: ${waiting.join(", ")}`);
    await new Promise((res) => setTimeout(res, 10));
  }
}

/** A lab that is up. Dispose of it (`await using`) or call stop(). */
export class StartedLab implements AsyncDisposable {
  private stopped: Promise<TeardownReport> | null = null;
  /** The Incus cluster formed by the nodes with `software: [incus]`, if any. */
  readonly incus: IncusCluster | null;
  /** kolla-ansible targets (`software: [kolla]`), by node name. */
  readonly kolla = new Map<string, KollaNode>();

  constructor(readonly lab: Lab, readonly record: RunRecord, private readonly backend: Backend = new NetnsBackend()) {
    const members = lab.nodes.filter((n) => n.software.includes("incus"));
    this.incus = members.length ? new IncusCluster(this.incusHost(members)) : null;
    for (const n of lab.nodes.filter((x) => x.software.includes("kolla"))) this.kolla.set(n.name, new KollaNode(this.kollaHost(n)));
  }

  private kollaHost(n: NodeSpec): KollaHost {
    const dir = join(this.record.dir, "nodes", n.name);
    mkdirSync(dir, { recursive: true });
    return {
      node: n.name,
      dir,
      exec: (where, argv, timeoutS) => this.exec(where, argv, { timeoutS: timeoutS ?? 30 }),
      createGuest: (name) => this.createGuest(name, n.name),
      addPort: async (guest, hostIf, guestIf, mac, mtu) => {
        await must(["ip", "-n", this.namespace(n.name), "link", "add", hostIf, "mtu", String(mtu), "type", "veth", "peer", "name", guestIf, "netns", this.namespace(guest), "address", mac, "mtu", String(mtu)], { timeoutS: 10, context: `port ${hostIf} of ${guest}` });
        await must(["ip", "netns", "exec", this.namespace(n.name), "bash", "-c", `${txOffScript([hostIf])}\n${script`ip link set ${hostIf} up`}`], { timeoutS: 10 });
        await must(["ip", "netns", "exec", this.namespace(guest), "bash", "-c", `${txOffScript([guestIf])}\n${script`ip link set ${guestIf} up`}`], { timeoutS: 10 });
      },
      spawnUdp: async (guest, name, argv, port) => {
        const spec: DaemonSpec = { name, argv, listens: { proto: "udp", port } };
        const log = join(dir, `${name.replace(/[:/]/g, "-")}.log`);
        const ref = spawnDaemon(this.namespace(guest), spec, log);
        this.record.update((s) => s.processes.push({ ...ref, name, node: guest }));
        await awaitListening(ref, spec, log);
        return ref.pid;
      },
      startOvs: async () => {
        const odir = ovsDir(this.record.dir, n.name);
        const env = ovsEnv(odir);
        await startStack({ ...n, software: ["openvswitch"] }, odir, {
          spawn: (d, log) => {
            const ref = spawnDaemon(this.namespace(n.name), d, log, env);
            this.record.update((s) => s.processes.push({ ...ref, name: d.name, node: n.name }));
            return ref;
          },
          exec: (argv) => this.exec(n.name, argv, { timeoutS: 30 }),
        });
      },
      reconcile: () => this.reconcile(n.name),
    };
  }

  /** A namespace that belongs to a node (a router, a DHCP server, a server): usable by name like a node. */
  private async createGuest(name: string, of: string): Promise<void> {
    if (this.lab.nodes.some((n) => n.name === name) || this.record.snapshot.nodes[name]) throw new Error(`${name} is already a node or instance of the lab`);
    const ns = namespaceName(this.runId, name);
    const etc = `/etc/netns/${ns}`;
    this.record.update((s) => {
      s.nodes[name] = { namespace: ns, instanceOf: of };
      s.paths.push(etc);
    });
    await this.backend.createNamespaces(this.record, [ns]);
    mkdirSync(etc, { recursive: true });
    writeFileSync(join(etc, "resolv.conf"), "# written by the guest's DHCP client\n");
    await applySysctls((argv, o) => run(["ip", "netns", "exec", ns, ...argv], o), BASE_SYSCTLS, `sysctls of ${name}`);
    await must(["ip", "-n", ns, "link", "set", "lo", "up"], { timeoutS: 10 });
  }

  private incusHost(members: NodeSpec[]): IncusHost {
    return {
      members,
      usedCidrs: this.lab.lans.flatMap((l) => (l.cidr ? [l.cidr] : [])),
      exec: (node, argv, timeoutS) => this.exec(node, argv, { timeoutS: timeoutS ?? 30 }),
      reconcile: async (node) => {
        await this.reconcile(node);
      },
      createInstance: (name, member, hostIf, mac, mtu) => this.createInstance(name, member, hostIf, mac, mtu),
      deleteInstance: (name) => this.deleteInstance(name),
    };
  }

  /** An instance: its own namespace with eth0, the peer left in the member for br-int. */
  private async createInstance(name: string, member: string, hostIf: string, mac: string, mtu: number): Promise<void> {
    await this.createGuest(name, member);
    const ns = namespaceName(this.runId, name);
    await must(["ip", "-n", this.namespace(member), "link", "add", hostIf, "mtu", String(mtu), "type", "veth", "peer", "name", "eth0", "netns", ns, "address", mac, "mtu", String(mtu)], { timeoutS: 10, context: `instance ${name}` });
    await must(["ip", "netns", "exec", this.namespace(member), "bash", "-c", `${txOffScript([hostIf])}\n${script`ip link set ${hostIf} up`}`], { timeoutS: 10 });
    await must(["ip", "netns", "exec", ns, "bash", "-c", `${txOffScript(["eth0"])}\nip link set lo up; ip link set eth0 up`], { timeoutS: 10 });
  }

  private async deleteInstance(name: string): Promise<void> {
    const ns = namespaceName(this.runId, name);
    await teardownRun(this.runId, null, { keepRunDir: true, only: [ns] });
    this.record.update((s) => {
      s.namespaces = s.namespaces.filter((x) => x !== ns);
      delete s.nodes[name];
    });
  }

  /** After OVS changes on a node: the kernel-datapath behaviour (port filters, tunnel endpoint). */
  async reconcile(node: string): Promise<string[]> {
    const spec = this.lab.nodes.find((n) => n.name === node);
    if (!spec?.software.some((x) => x === "ovn-host" || x === "openvswitch" || x === "kolla")) return [];
    if (spec.software.includes("kolla") && !existsSync(join(ovsDir(this.record.dir, node), "db.sock"))) return [];
    return reconcile(spec, (argv) => this.exec(node, argv, { timeoutS: 30 }));
  }

  /** WARN/ERR lines in the OVS/OVN logs of every node that are not on the allowlist. */
  logProblems(): LogProblem[] {
    return this.lab.nodes.filter((n) => n.software.length).flatMap((n) => scanLogs(n.name, ovsDir(this.record.dir, n.name)));
  }

  get runId(): string {
    return this.record.id;
  }

  node(name: string): NodeSpec {
    const n = this.lab.nodes.find((x) => x.name === name);
    if (!n) throw new Error(`lab ${this.lab.name} has no node "${name}" (nodes: ${this.lab.nodes.map((x) => x.name).join(", ")})`);
    return n;
  }

  /** Namespace of a node or of a live guest (instance, server, router, DHCP namespace). */
  namespace(node: string): string {
    if (!this.record.snapshot.nodes[node]?.instanceOf) this.node(node);
    return namespaceName(this.runId, node);
  }

  /** argv prefix that runs a command inside a node. */
  prefix(node: string): string[] {
    return ["ip", "netns", "exec", this.namespace(node)];
  }

  exec(node: string, argv: string[], opts?: RunOptions): Promise<CommandResult> {
    const env = this.record.snapshot.nodes[node]?.env;
    return run([...this.prefix(node), ...argv], env ? { ...opts, env: { ...env, ...opts?.env } } : opts);
  }

  /** A command line as an operator types it, run by bash inside the node. */
  sh(node: string, command: string, opts?: RunOptions): Promise<CommandResult> {
    return this.exec(node, ["bash", "-c", command], opts);
  }

  execIn(node: string): NodeExec {
    return (argv, opts) => this.exec(node, argv, opts);
  }

  async runStep(step: Exclude<Step, { kind: "check" }>): Promise<StepResult> {
    const result = step.kind === "run" ? await this.sh(step.on, step.run, { timeoutS: step.timeoutS }) : step.kind === "incus" ? await this.incusStep(step) : await this.kollaStep(step);
    if (step.kind === "run") await this.reconcile(step.on);
    const timeoutS = step.kind === "run" ? step.timeoutS : 0;
    const succeeded = result.exitCode === 0 && !result.timedOut;
    const output = result.stdout + result.stderr;
    let reason: string | undefined;
    if (step.should === "succeed" && !succeeded) reason = result.timedOut ? `timed out after ${timeoutS} s` : `exited with ${result.exitCode ?? result.signal}${step.kind !== "run" ? `: ${result.stderr.trim() || result.stdout.trim().split("\n").slice(-4).join(" | ")}` : ""}`;
    else if (step.should === "fail" && succeeded) reason = "succeeded, but the lab file says it should fail";
    else if (step.output !== undefined && !output.includes(step.output)) reason = `output does not contain "${step.output}"`;
    return { step, result, asExpected: reason === undefined, reason };
  }

  private async incusStep(step: Extract<Step, { kind: "incus" }>): Promise<CommandResult> {
    const t0 = performance.now();
    if (!this.incus) throw new Error("this lab has no Incus cluster member");
    const r = await this.incus.run(step.on, step.command);
    return { argv: ["incus", step.line], exitCode: r.exitCode, signal: null, stdout: r.stdout, stderr: r.stderr, timedOut: false, durationMs: performance.now() - t0 };
  }

  private async kollaStep(step: Extract<Step, { kind: "kolla" | "openstack" }>): Promise<CommandResult> {
    const t0 = performance.now();
    const k = this.kolla.get(step.on);
    if (!k) throw new Error(`${step.on} is not a kolla node`);
    const r = step.kind === "openstack" ? await k.openstack(step.command) : step.action === "precheck" ? await k.precheck(step.globals) : await k.deploy(step.globals, step.ml2Override);
    const argv = step.kind === "openstack" ? ["openstack", step.line] : ["kolla-ansible", step.action];
    return { argv, exitCode: r.exitCode, signal: null, stdout: r.stdout, stderr: r.stderr, timedOut: false, durationMs: performance.now() - t0 };
  }

  /** `<name>:<what>` references: an Incus network's, an OpenStack router's or server's address. */
  private refAddress(name: string, what: string): string {
    if (this.incus?.networks.has(name) && (what === "gateway" || what === "uplink")) return this.incus.refAddress(name, what);
    for (const k of this.kolla.values()) {
      const a = k.neutron?.refAddress(name, what);
      if (a) return a;
    }
    throw new Error(`${name}:${what}: no Incus network, OpenStack router or server of that name has such an address`);
  }

  /** The address a target names, seen from `from`: a node's address on a LAN they share (else its first), an instance's, a network reference's, or the IP itself. */
  addressOf(from: string, to: string): string {
    if (isIPv4(to)) return to;
    const ref = NETWORK_REF.exec(to);
    if (ref) return this.refAddress(ref[1]!, ref[2]!);
    const inst = this.incus?.instances.get(to);
    if (inst) {
      if (!inst.address) throw new Error(`instance ${to} has no address`);
      return inst.address;
    }
    for (const k of this.kolla.values()) {
      const a = k.neutron?.serverAddress(to);
      if (a) return a;
    }
    const target = this.lab.nodes.find((n) => n.name === to);
    if (!target) return to; // a DNS name: resolved inside the node by the probe itself
    const mine = new Set(this.record.snapshot.nodes[from]?.instanceOf ? [] : this.node(from).interfaces.map((i) => i.lan));
    const withAddr = target.interfaces.filter((i) => i.address);
    const pick = withAddr.find((i) => mine.has(i.lan)) ?? withAddr[0];
    if (!pick?.address) throw new Error(`node ${to} has no address to reach it by`);
    return pick.address;
  }

  /** The node that holds an address in the lab file, if any. */
  ownerOf(ip: string): string | undefined {
    return this.lab.nodes.find((n) => n.interfaces.some((i) => i.address === ip))?.name;
  }

  /** The LAN an address belongs to, if any. */
  lanOf(ip: string): string | undefined {
    if (!isIPv4(ip)) return undefined;
    return this.lab.lans.find((l) => l.cidr && IPv4CidrRange.fromCidr(l.cidr).contains(IPv4.fromString(ip)))?.name;
  }

  ping(from: string, to: string, opts?: PingOptions): Promise<PingResult> {
    return ping(this.execIn(from), this.addressOf(from, to), opts);
  }
  trace(from: string, to: string, maxHops?: number): Promise<TraceResult> {
    return traceroute(this.execIn(from), this.addressOf(from, to), maxHops);
  }
  link(node: string, dev: string): Promise<LinkState> {
    return linkState(this.execIn(node), dev);
  }
  links(node: string): Promise<LinkState[]> {
    return allLinks(this.execIn(node));
  }
  tcp(from: string, to: string, port: number, timeoutMs?: number): Promise<TcpResult> {
    return tcpConnect(this.execIn(from), this.addressOf(from, to), port, timeoutMs);
  }
  http(from: string, url: string, timeoutMs?: number): Promise<HttpResult> {
    return httpGet(this.execIn(from), url, timeoutMs);
  }
  resolve(node: string, name: string): Promise<ResolveResult> {
    return resolveName(this.execIn(node), name);
  }
  capture(node: string, filter: string): Promise<Capture> {
    return startCapture(this.prefix(node), filter);
  }

  /** Removes the lab: processes, namespaces, files. Safe to call more than once. */
  stop(): Promise<TeardownReport> {
    this.stopped ??= (async () => {
      this.record.update((s) => (s.phase = "stopping"));
      return teardown(this.record.snapshot);
    })();
    return this.stopped;
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.stop();
  }
}
