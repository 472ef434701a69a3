import { mkdirSync } from "node:fs";
import { join } from "node:path";
import pLimit from "p-limit";
import type { Backend, SoftwareSource } from "./backends/backend.ts";
import { backendNamed, defaultBackend } from "./backends/registry.ts";
import type { Host } from "./backends/host.ts";
import { mustIn } from "./backends/must.ts";
import { serviceDaemons, writeFiles } from "./fabric/daemons.ts";
import { natRuleset } from "./fabric/nat.ts";
import { applySysctlsBatch, BASE_SYSCTLS } from "./fabric/sysctls.ts";
import { ipBatches } from "./fabric/ip-batches.ts";
import { fabricBatch, fabricPort, nodeBatch, portsNotForwarding, vethBatch } from "./fabric/wiring.ts";
import type { Lab, NodeSpec } from "./model/types.ts";
import { must, run } from "./run/exec.ts";
import { preflight } from "./run/preflight.ts";
import { RunRecord } from "./run/state.ts";
import { stopRun } from "./backends/lifecycle.ts";
import { ensureImage } from "./stacks/incus/image.ts";
import {
  containerNeeds,
  nodeEnv,
  nodesOf,
  softwareVersions,
  stackToolPackages,
  rootBindsOf,
  stackTools,
  stacksOfLab,
  type StackStart,
} from "./stacks/registry.ts";
import { createCa, type Pki, serverCert } from "./fabric/pki.ts";
import type { ImageServing } from "./fabric/daemons.ts";
import { StartedLab } from "./started/started-lab.ts";
import { waitFor } from "./wait/wait.ts";
import { span } from "./trace/timeline.ts";

export { StartedLab };
export type { StepResult } from "./started/started-lab.ts";

export interface LabEvent {
  /** Seconds since start() was called. */
  t: number;
  message: string;
}

export interface StartOptions {
  /** The backend, or its name (`netns`, `containers`); default: $LABWRIGHT_BACKEND, else `netns`. */
  backend?: Backend | string;
  /** Leave the lab up after this process exits (`labwright up`). */
  persistent?: boolean;
  /** Real hosts: run the steps too (without it, steps are listed and not run). */
  apply?: boolean;
  signal?: AbortSignal;
  onEvent?: (e: LabEvent) => void;
}

/** How many per-node commands and daemons a start runs at once. */
export const FAN_OUT = 16;

/** The tools a lab needs on this machine, by what it uses. */
export function toolsFor(lab: Lab): string[] {
  const tools = new Set(["ip", "bridge", "sysctl", "bash", "ping", "traceroute", "getent", "tcpdump"]);
  for (const n of lab.nodes) {
    if (n.nat.length) tools.add("nft");
    if (n.dns) tools.add("dnsmasq");
    if (n.services.length) tools.add("busybox");
    for (const t of stackTools(n)) tools.add(t);
  }
  return [...tools];
}

export function resolveBackend(b: Backend | string | undefined): Backend {
  if (b === undefined) return defaultBackend();
  return typeof b === "string" ? backendNamed(b) : b;
}

/** A lab asks for something its backend cannot do: nothing was created. */
export class BackendRefusal extends Error {
  override name = "BackendRefusal";
}

/**
 * Checks this machine for the lab on this backend, before anything is created (throws
 * BackendRefusal, PreflightError or ToolchainError): the lab's tools and daemons where its
 * software comes from (its toolchain, built first if this machine has none). Returns that source.
 */
export async function preflightLab(lab: Lab, backend: Backend, say: (m: string) => void = () => undefined): Promise<SoftwareSource> {
  const refusal = backend.refuses?.(lab);
  if (refusal) throw new BackendRefusal(`${lab.file}: ${refusal} (nothing was created)`);
  await backend.preflight(lab);
  const software: SoftwareSource = (await backend.software?.(lab, say)) ?? { root: "/" };
  if (backend.builds) {
    preflight(toolsFor(lab), stackToolPackages(), software.root);
    softwareVersions(lab, software.root);
  }
  return software;
}

/**
 * Builds the lab on this machine. On any failure, or when `signal` aborts, everything created so
 * far is removed before the error is rethrown.
 */
export async function start(lab: Lab, opts: StartOptions = {}): Promise<StartedLab> {
  const backend = resolveBackend(opts.backend);
  const t0 = performance.now();
  const say = (message: string) => opts.onEvent?.({ t: (performance.now() - t0) / 1000, message });
  const software = await span("preflight", "phase", () => preflightLab(lab, backend, say));
  const rec = RunRecord.create({ lab: lab.name, file: lab.file, backend: backend.name });
  const check = () => opts.signal?.throwIfAborted();
  if (!backend.builds) return attachReal(lab, backend, rec, opts, say);
  try {
    rec.update((s) => {
      for (const n of lab.nodes) {
        const dir = nodeDir(rec, n.name);
        mkdirSync(dir, { recursive: true, mode: 0o700 });
        const env = nodeEnv(n, dir);
        s.nodes[n.name] = { namespace: "", ...(Object.keys(env).length ? { env } : {}) };
      }
    });
    say(`run ${rec.id}: creating ${lab.nodes.length} nodes and the fabric (${backend.name} backend)`);
    const { fabric: f, hosts } = await span(`nodes and fabric (${backend.name})`, "phase", () =>
      backend.up(rec, lab, { signal: opts.signal, say, needs: containerNeeds, binds: rootBindsOf(lab) }),
    );
    if (!f) throw new Error(`the ${backend.name} backend builds labs but gave no fabric`);
    const fabric = f;
    const host = (n: NodeSpec) => hosts.get(n.name)!;
    check();

    // Per-node work runs at most FAN_OUT commands at a time: a lab of thousands of nodes does not fork thousands of processes at once.
    const limit = pLimit(FAN_OUT);
    const eachNode = <T>(fn: (n: NodeSpec) => Promise<T>) => Promise.all(lab.nodes.map((n) => limit(() => fn(n))));
    await span("sysctls", "phase", () =>
      // One process for the fabric and every node, from the fabric (each is a namespace on this machine).
      applySysctlsBatch(
        (argv, o) => fabric.exec(argv, o),
        [
          { netns: netnsOf(fabric), sysctls: BASE_SYSCTLS, context: "sysctls of the fabric" },
          ...lab.nodes.map((n) => ({
            netns: netnsOf(host(n)),
            sysctls: { ...BASE_SYSCTLS, ...n.sysctls },
            context: `sysctls of node ${n.name}`,
          })),
        ],
      ),
    );
    check();

    const links = lab.nodes.reduce((a, n) => a + n.interfaces.length, 0);
    say(`wiring ${links} links on ${lab.lans.length} LANs`);
    const nsOf = (node: string) => netnsOf(hosts.get(node)!);
    if (links)
      await span("veth pairs", "phase", () =>
        must(["ip", "-batch", "-"], { input: vethBatch(lab, nsOf, netnsOf(fabric)), timeoutS: 60, context: "creating veth pairs" }),
      );
    await span("bridges, addresses, routes", "phase", () =>
      ipBatches(join(rec.dir, "batches"), [
        { netns: netnsOf(fabric), input: fabricBatch(lab), context: "LAN bridges" },
        ...lab.nodes.map((n) => ({ netns: nsOf(n.name), input: nodeBatch(n), context: `addresses and routes of node ${n.name}` })),
      ]),
    );
    await span("LAN ports forwarding", "phase", () => awaitForwarding(fabric, links));
    check();

    await span("NAT", "phase", () =>
      eachNode(async (n) => {
        const rules = natRuleset(n.nat);
        if (rules) await mustIn(host(n), ["nft", "-f", "-"], `NAT rules of node ${n.name}`, { input: rules });
      }),
    );
    // Every node gets its own resolv.conf: the machine's resolver is never used.
    await eachNode((n) =>
      host(n).writeFile(
        "/etc/resolv.conf",
        n.resolver ? `nameserver ${n.resolver}\noptions timeout:1 attempts:2\n` : "# no resolver in this lab node\n",
      ),
    );
    // ... and its own hosts file: every node of the lab by name.
    await eachNode((n) => host(n).writeFile("/etc/hosts", hostsFile(lab, n)));
    check();

    // Independent parts, concurrently: the service daemons (with the image server's tree) and each
    // stack the lab uses (OVS/OVN, Incus: incusd needs its node's OVS only once networks exist).
    const imageHosts = [...new Set(lab.nodes.flatMap((n) => n.services.flatMap((x) => (x.type === "images" ? [x.host] : []))))];
    let pkiMade: Promise<Pki> | undefined;
    const pki = () => (pkiMade ??= createCa(rec.dir));

    let images: ImageServing | undefined;
    /** The service daemons of these nodes, started (at the lab's start, and again when a crashed node boots). */
    const startServices = async (nodes: readonly NodeSpec[]) => {
      const daemons = nodes.flatMap((n) => serviceDaemons(n, host(n).stateDir, images).map((spec) => ({ node: n, spec })));
      if (daemons.length) say(`starting ${daemons.map((d) => `${d.spec.name}@${d.node.name}`).join(", ")}`);
      await Promise.all(
        daemons.map((d) =>
          limit(async () => {
            const h = d.spec.onMachine ? (host(d.node).machineView?.() ?? host(d.node)) : host(d.node);
            await writeFiles(h, d.spec);
            const daemon = h.spawn(d.spec.name, d.spec.argv, {
              log: join(nodeDir(rec, d.node.name), `${d.spec.name.replace(":", "-")}.log`),
            });
            rec.update((s) => s.processes.push({ ...daemon.ref, name: d.spec.name, node: d.node.name }));
            await span(d.spec.name, "daemon", () => waitFor(h, daemon, d.spec.ready), d.node.name);
          }),
        ),
      );
    };
    const servicesPart = async () => {
      if (imageHosts.length) {
        say(`building the image server's tree (${imageHosts.join(", ")})`);
        const ca = await pki();
        const [image, ...certs] = await Promise.all([ensureImage(software.root), ...imageHosts.map((h) => serverCert(ca, h))]);
        images = { image: image!, certs: new Map(imageHosts.map((h, k) => [h, certs[k]!])) };
      }
      await startServices(lab.nodes);
    };

    // Started before any stack: a stack whose daemons talk to the lab's services at their start
    // awaits this (StackStart.services).
    const servicesUp = span("services", "phase", servicesPart);
    servicesUp.catch(() => {}); // judged by settleAll below; a stack awaiting it fails with it
    const stackStart = (nodes: NodeSpec[], services: Promise<void> = servicesUp): StackStart => ({
      lab,
      nodes,
      fabric,
      host,
      fabricPorts: (n) => n.interfaces.map((_, ii) => fabricPort(lab.nodes.indexOf(n), ii)),
      limit: (fn) => limit(fn),
      ca: async () => (await pki()).caFile,
      record: (node, d, o) => rec.update((s) => s.processes.push({ ...d.ref, name: d.name, node, ...(o?.hard ? { hard: true } : {}) })),
      say,
      services: () => services,
    });
    const stacks = stacksOfLab(lab);
    await settleAll([
      servicesUp,
      ...stacks.map((st) => (st.start ? span(st.name, "phase", () => st.start!(stackStart(nodesOf(lab, st)))) : Promise.resolve())),
    ]);
    check();

    rec.update((s) => {
      s.phase = "up";
      s.persistent = opts.persistent ?? false;
    });
    say(`lab ${lab.name} is up (run ${rec.id})`);
    return new StartedLab(lab, rec, backend, hosts, {
      versions: softwareVersions(lab, software.root),
      fabric: f,
      boot: { stackStart: (n) => stackStart([n], Promise.resolve()), startServices: (n) => startServices([n]) },
    });
  } catch (e) {
    say(`start failed: unwinding run ${rec.id}`);
    try {
      await stopRun(rec.id, rec.snapshot);
    } catch (te) {
      throw new AggregateError([e, te], `${(e as Error).message}\n(and unwinding failed: ${(te as Error).message}; run 'labwright gc')`);
    }
    throw e;
  }
}

/** Awaits every part, then throws the first failure (no part is left running while the start unwinds). */
async function settleAll(parts: Promise<unknown>[]): Promise<void> {
  const results = await Promise.allSettled(parts);
  const failed = results.find((r) => r.status === "rejected");
  if (failed) throw (failed as PromiseRejectedResult).reason;
}

/** Real hosts: nothing is built; the lab's nodes are the inventory's hosts, read-only unless `apply`. */
async function attachReal(lab: Lab, backend: Backend, rec: RunRecord, opts: StartOptions, say: (m: string) => void): Promise<StartedLab> {
  try {
    say(
      `run ${rec.id}: ${lab.nodes.length} real hosts over ${backend.name}${opts.apply ? " (steps will run: --apply)" : " (read-only: steps are not run)"}`,
    );
    const { hosts } = await backend.up(rec, lab, { signal: opts.signal, say });
    rec.update((s) => {
      s.phase = "up";
      s.persistent = false;
    });
    return new StartedLab(lab, rec, backend, hosts, { readOnly: !opts.apply });
  } catch (e) {
    await backend.close?.();
    await stopRun(rec.id, rec.snapshot);
    throw e;
  }
}

/**
 * /etc/hosts of a node: itself and every other node by name, each at the address it is reached by
 * from this node (one on a LAN they share, else its first), as `addressOf` resolves node names.
 */
export function hostsFile(lab: Lab, self: NodeSpec): string {
  const mine = new Set(self.interfaces.map((i) => i.lan));
  const lines = ["127.0.0.1\tlocalhost", `# the nodes of lab ${lab.name} (written by labwright)`];
  for (const n of lab.nodes) {
    const withAddr = n.interfaces.filter((i) => i.address);
    const pick = withAddr.find((i) => mine.has(i.lan)) ?? withAddr[0];
    if (pick?.address) lines.push(`${pick.address}\t${n.name}`);
  }
  return lines.join("\n") + "\n";
}

/** The run's directory for a node's state on this machine (bind-mounted into containers at the same path). */
export function nodeDir(rec: RunRecord, node: string): string {
  return join(rec.dir, "nodes", node);
}

function netnsOf(h: Host): string {
  if (!h.netns) throw new Error(`${h.name} has no network namespace on this machine: the ${h.backend} backend cannot build a lab`);
  return h.netns;
}

/** Waits until every LAN port of the fabric forwards (carrier seen by the bridge), polling, never sleeping blind. */
async function awaitForwarding(fabric: Host, ports: number, timeoutMs = 5000): Promise<void> {
  if (!ports) return;
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const r = await run(["bridge", "-n", netnsOf(fabric), "-j", "link", "show"], { timeoutS: 10 });
    if (r.exitCode !== 0) throw new Error(`bridge link show in the fabric: ${r.stderr.trim()}`);
    const waiting = portsNotForwarding(r.stdout);
    if (waiting.length === 0) return;
    if (Date.now() > deadline) throw new Error(`LAN ports still not forwarding after ${timeoutMs} ms: ${waiting.join(", ")}`);
    await new Promise((res) => setTimeout(res, 10));
  }
}
