import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { IPv4, IPv4CidrRange } from "ip-num";
import type { Backend } from "./backends/backend.ts";
import { NetnsBackend } from "./backends/netns.ts";
import { awaitListening, type DaemonSpec, dnsmasq, httpd, spawnDaemon } from "./fabric/daemons.ts";
import { natRuleset } from "./fabric/nat.ts";
import { BASE_SYSCTLS, fabricBatch, nodeBatch, portsNotForwarding, vethBatch } from "./fabric/wiring.ts";
import { isIPv4 } from "./model/load.ts";
import type { Lab, NodeSpec, Step } from "./model/types.ts";
import { type Capture, startCapture } from "./probes/capture.ts";
import { allLinks, type LinkState, linkState } from "./probes/link.ts";
import { type PingOptions, type PingResult, ping } from "./probes/ping.ts";
import { httpGet, type HttpResult, resolveName, type ResolveResult, tcpConnect, type TcpResult } from "./probes/sockets.ts";
import { type TraceResult, traceroute } from "./probes/traceroute.ts";
import type { NodeExec } from "./probes/types.ts";
import { type CommandResult, must, run, type RunOptions } from "./run/exec.ts";
import { preflight } from "./run/preflight.ts";
import { namespaceName, RunRecord } from "./run/state.ts";
import { type TeardownReport, teardown } from "./run/teardown.ts";

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
  step: Extract<Step, { kind: "run" }>;
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
      for (const n of lab.nodes) s.nodes[n.name] = { namespace: nsOf(n.name) };
    });
    await backend.createNamespaces(rec, [fabric, ...lab.nodes.map((n) => nsOf(n.name))]);
    check();

    await Promise.all(
      [fabric, ...lab.nodes.map((n) => nsOf(n.name))].map((ns, k) => {
        const node = k === 0 ? undefined : lab.nodes[k - 1];
        const sysctls = { ...BASE_SYSCTLS, ...(node?.sysctls ?? {}) };
        return must(["ip", "netns", "exec", ns, "sysctl", "-q", "-w", ...Object.entries(sysctls).map(([a, b]) => `${a}=${b}`)], {
          timeoutS: 30,
          context: node ? `sysctls of node ${node.name}` : "sysctls of the fabric",
        });
      }),
    );
    check();

    const links = lab.nodes.reduce((a, n) => a + n.interfaces.length, 0);
    say(`wiring ${links} links on ${lab.lans.length} LANs`);
    if (links) await must(["ip", "-batch", "-"], { input: vethBatch(lab, nsOf, fabric), timeoutS: 60, context: "creating veth pairs" });
    await Promise.all([
      must(["ip", "-n", fabric, "-batch", "-"], { input: fabricBatch(lab), timeoutS: 60, context: "LAN bridges" }),
      ...lab.nodes.map((n) => must(["ip", "-n", nsOf(n.name), "-batch", "-"], { input: nodeBatch(n), timeoutS: 60, context: `addresses and routes of node ${n.name}` })),
    ]);
    await awaitForwarding(fabric, links);
    check();

    await Promise.all(
      lab.nodes.map(async (n) => {
        const rules = natRuleset(n.nat);
        if (rules) await must(["ip", "netns", "exec", nsOf(n.name), "nft", "-f", "-"], { input: rules, timeoutS: 30, context: `NAT rules of node ${n.name}` });
      }),
    );
    // Every node gets its own resolv.conf (bind-mounted by `ip netns exec`): the host's resolver is never used.
    for (const n of lab.nodes) {
      const dir = `/etc/netns/${nsOf(n.name)}`;
      rec.update((s) => s.paths.push(dir));
      mkdirSync(dir, { recursive: true });
      writeFileSync(join(dir, "resolv.conf"), n.resolver ? `nameserver ${n.resolver}\noptions timeout:1 attempts:2\n` : "# no resolver in this lab node\n");
    }
    check();

    const daemons = lab.nodes.flatMap((n) => {
      const dir = join(rec.dir, "nodes", n.name);
      mkdirSync(dir, { recursive: true });
      const specs: DaemonSpec[] = [];
      const dns = dnsmasq(n);
      if (dns) specs.push(dns);
      for (const svc of n.services) specs.push(httpd(n, svc, dir));
      return specs.map((spec) => ({ node: n.name, spec, log: join(dir, `${spec.name.replace(":", "-")}.log`) }));
    });
    if (daemons.length) say(`starting ${daemons.map((d) => `${d.spec.name}@${d.node}`).join(", ")}`);
    await Promise.all(
      daemons.map(async (d) => {
        const ref = spawnDaemon(nsOf(d.node), d.spec, d.log);
        rec.update((s) => s.processes.push({ ...ref, name: d.spec.name, node: d.node }));
        await awaitListening(ref, d.spec, d.log);
      }),
    );
    check();

    rec.update((s) => {
      s.phase = "up";
      s.persistent = opts.persistent ?? false;
    });
    say(`lab ${lab.name} is up (run ${rec.id})`);
    return new StartedLab(lab, rec);
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

  constructor(readonly lab: Lab, readonly record: RunRecord) {}

  get runId(): string {
    return this.record.id;
  }

  node(name: string): NodeSpec {
    const n = this.lab.nodes.find((x) => x.name === name);
    if (!n) throw new Error(`lab ${this.lab.name} has no node "${name}" (nodes: ${this.lab.nodes.map((x) => x.name).join(", ")})`);
    return n;
  }

  namespace(node: string): string {
    this.node(node);
    return namespaceName(this.runId, node);
  }

  /** argv prefix that runs a command inside a node. */
  prefix(node: string): string[] {
    return ["ip", "netns", "exec", this.namespace(node)];
  }

  exec(node: string, argv: string[], opts?: RunOptions): Promise<CommandResult> {
    return run([...this.prefix(node), ...argv], opts);
  }

  /** A command line as an operator types it, run by bash inside the node. */
  sh(node: string, command: string, opts?: RunOptions): Promise<CommandResult> {
    return this.exec(node, ["bash", "-c", command], opts);
  }

  execIn(node: string): NodeExec {
    return (argv, opts) => this.exec(node, argv, opts);
  }

  async runStep(step: Extract<Step, { kind: "run" }>): Promise<StepResult> {
    const result = await this.sh(step.on, step.run, { timeoutS: step.timeoutS });
    const succeeded = result.exitCode === 0 && !result.timedOut;
    const output = result.stdout + result.stderr;
    let reason: string | undefined;
    if (step.should === "succeed" && !succeeded) reason = result.timedOut ? `timed out after ${step.timeoutS} s` : `exited with ${result.exitCode ?? result.signal}`;
    else if (step.should === "fail" && succeeded) reason = "succeeded, but the lab file says it should fail";
    else if (step.output !== undefined && !output.includes(step.output)) reason = `output does not contain "${step.output}"`;
    return { step, result, asExpected: reason === undefined, reason };
  }

  /** The address a target names, seen from `from`: a node's address on a LAN they share (else its first), or the IP itself. */
  addressOf(from: string, to: string): string {
    if (isIPv4(to)) return to;
    const target = this.lab.nodes.find((n) => n.name === to);
    if (!target) return to; // a DNS name: resolved inside the node by the probe itself
    const mine = new Set(this.node(from).interfaces.map((i) => i.lan));
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
    return this.lab.lans.find((l) => IPv4CidrRange.fromCidr(l.cidr).contains(IPv4.fromString(ip)))?.name;
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
