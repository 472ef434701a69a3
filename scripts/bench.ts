import { existsSync, mkdtempSync, readdirSync, readFileSync, readlinkSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
// Start-to-first-passing-ping and teardown of the Incus lab through the library, against the same
// topology built with bare `ip -batch` calls (the floor), in the same run. Medians and ratios.
import { fileURLToPath } from "node:url";
import { start } from "../topology/lab.ts";
import { loadLab, parseLab } from "../topology/model/load.ts";
import { type Lab, type Step, stepCommand } from "../topology/model/types.ts";
import type { StartedLab } from "../topology/started/started-lab.ts";
import { covered, type Span, span, Timeline } from "../topology/trace/timeline.ts";
import { fabricBatch, nodeBatch, vethBatch } from "../topology/fabric/wiring.ts";
import { natRuleset } from "../topology/fabric/nat.ts";
import { must, run } from "../topology/run/exec.ts";
import type { RunState } from "../topology/run/state.ts";

const RUNS = Number(process.argv.slice(2).find((a) => /^\d+$/.test(a)) ?? 7);
const LAB = fileURLToPath(new URL("../topology/labs/incus-ovn.yaml", import.meta.url));
const FROM = "pamonha1";
const TO = "203.0.113.1";

async function firstPing(exec: (argv: string[]) => Promise<{ exitCode: number | null }>): Promise<void> {
  for (let k = 0; k < 200; k++) {
    const r = await exec(["ping", "-n", "-c", "1", "-W", "0.5", TO]);
    if (r.exitCode === 0) return;
  }
  throw new Error("no ping after 200 tries");
}

async function library(lab: Lab, backend = "netns"): Promise<[number, number, number]> {
  const t0 = performance.now();
  const s = await start(lab, { backend });
  await firstPing((argv) => s.exec(FROM, argv, { timeoutS: 5 }));
  const t1 = performance.now();
  const mem = pssMiB(runPids(s.record.snapshot));
  const t2 = performance.now();
  await s.stop();
  return [t1 - t0, performance.now() - t2, mem];
}

/** Every process of a run on this machine: those in its namespaces, and each container's shim (the parent of its init). */
function runPids(state: RunState): number[] {
  const inodes = new Set<string>();
  for (const ns of state.namespaces) {
    try {
      inodes.add(`net:[${statSync(`/run/netns/${ns}`).ino}]`);
    } catch {
      /* gone */
    }
  }
  const pids: number[] = [];
  for (const d of readdirSync("/proc")) {
    const pid = Number(d);
    if (!pid || pid === process.pid) continue;
    try {
      if (inodes.has(readlinkSync(`/proc/${pid}/ns/net`))) pids.push(pid);
    } catch {
      /* gone */
    }
  }
  for (const n of Object.values(state.nodes)) {
    if (!n.container) continue;
    try {
      const stat = readFileSync(`/proc/${n.container.pid}/stat`, "utf8");
      pids.push(Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[1]));
    } catch {
      /* gone */
    }
  }
  return [...new Set(pids)];
}

/** The floor: the same namespaces, veths, bridges, addresses, routes, forwarding and NAT, by hand. */
async function bare(lab: Lab, k: number): Promise<[number, number]> {
  const ns = (n?: string) => `lwbench-${process.pid}-${k}${n ? `-${n}` : ""}`;
  const all = [ns(), ...lab.nodes.map((n) => ns(n.name))];
  const t0 = performance.now();
  let t1 = t0;
  try {
    await must(["ip", "-batch", "-"], { input: all.map((n) => `netns add ${n}\n`).join("") + vethBatch(lab, ns, ns()) });
    await Promise.all([
      must(["ip", "-n", ns(), "-batch", "-"], { input: fabricBatch(lab) }),
      ...lab.nodes.map((n) => must(["ip", "-n", ns(n.name), "-batch", "-"], { input: nodeBatch(n) })),
      ...lab.nodes
        .filter((n) => Object.keys(n.sysctls).length)
        .map((n) =>
          must(["ip", "netns", "exec", ns(n.name), "sysctl", "-q", "-w", ...Object.entries(n.sysctls).map(([a, b]) => `${a}=${b}`)]),
        ),
      ...lab.nodes
        .filter((n) => n.nat.length)
        .map((n) => must(["ip", "netns", "exec", ns(n.name), "nft", "-f", "-"], { input: natRuleset(n.nat)! })),
    ]);
    await firstPing((argv) => run(["ip", "netns", "exec", ns(FROM), ...argv], { timeoutS: 5 }));
  } finally {
    t1 = performance.now();
    await run(["ip", "-force", "-batch", "-"], { input: all.map((n) => `netns del ${n}\n`).join("") });
  }
  return [t1 - t0, performance.now() - t1];
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

const lab = loadLab(LAB);
// The physical layer against bare `ip`: without the node software (OVS/OVN, Incus) and Incus's
// image server, which bare `ip` does not start either.
const physical: Lab = {
  ...lab,
  nodes: lab.nodes.map((n) => ({ ...n, software: [], services: n.services.filter((x) => x.type !== "images") })),
};
const lib: [number, number, number][] = [];
const flo: [number, number][] = [];
await library(physical); // warm-up (page cache, module loading)
for (let k = 0; k < RUNS; k++) {
  lib.push(await library(physical));
  flo.push(await bare(physical, k));
}
const row = (name: string, a: number[], b: number[]) =>
  `${name.padEnd(34)} ${median(a).toFixed(1).padStart(8)} ms ${median(b).toFixed(1).padStart(8)} ms ${(median(a) / median(b)).toFixed(2).padStart(6)}×`;
console.log(`labwright bench: ${lab.name} physical layer, ${RUNS} runs each, medians (first ping: ${FROM} → ${TO} through curau's NAT)`);
console.log(`${"".padEnd(34)} ${"library".padStart(11)} ${"bare ip".padStart(11)} ${"ratio".padStart(7)}`);
console.log(
  row(
    "start → first passing ping",
    lib.map((x) => x[0]),
    flo.map((x) => x[0]),
  ),
);
console.log(
  row(
    "teardown",
    lib.map((x) => x[1]),
    flo.map((x) => x[1]),
  ),
);
console.log("floors to beat: start ≤ 1.5×, teardown ≤ 1.5× (issue 22; 3× and 5× before)");

// ---------------------------------------------------------------- scale: a thousand plain nodes

/**
 * A lab of `lans` routed LANs behind one router, `nodes` nodes in all (the router included): hosts
 * h<lan>-<k> with one NIC and a default route via the router, which forwards.
 */
function scaleLab(lans: number, nodes: number): string {
  const hosts = nodes - 1;
  const per = Math.ceil(hosts / lans);
  const lines = ["name: scale", "lans:"];
  for (let l = 1; l <= lans; l++) lines.push(`  l${l}: { cidr: 10.${l}.0.0/24 }`);
  lines.push("nodes:", "  r:", "    interfaces:");
  for (let l = 1; l <= lans; l++) lines.push(`      eth${l - 1}: { lan: l${l}, address: 10.${l}.0.254 }`);
  lines.push("    sysctls: { net.ipv4.ip_forward: 1 }");
  let made = 0;
  for (let l = 1; l <= lans && made < hosts; l++)
    for (let k = 1; k <= per && made < hosts; k++, made++)
      lines.push(
        `  h${l}-${k}:`,
        `    interfaces:`,
        `      eth0: { lan: l${l}, address: 10.${l}.0.${k} }`,
        `    routes: [{ to: default, via: 10.${l}.0.254 }]`,
      );
  return lines.join("\n") + "\n";
}

if (process.argv.includes("--scale")) {
  const text = scaleLab(20, 1000);
  const big = parseLab(text, "scale.yaml");
  const last = big.nodes[big.nodes.length - 1]!;
  const to = last.interfaces[0]!.address!;
  const tl = new Timeline();
  const t0 = performance.now();
  const s = await tl.run(() => start(big));
  const up = performance.now() - t0;
  for (let k = 0; ; k++) {
    const r = await s.exec("h1-1", ["ping", "-n", "-c", "1", "-W", "0.5", to], { timeoutS: 5 });
    if (r.exitCode === 0) break;
    if (k > 200) throw new Error(`scale: no ping from h1-1 to ${to}`);
  }
  const ping = performance.now() - t0;
  const t1 = performance.now();
  await s.stop();
  const down = performance.now() - t1;
  console.log("");
  console.log(`scale: ${big.nodes.length} plain nodes on ${big.lans.length} routed LANs (one run)`);
  console.log(
    `  up ${(up / 1000).toFixed(2)} s (${(up / big.nodes.length).toFixed(1)} ms a node), first ping h1-1 → ${last.name} at ${(ping / 1000).toFixed(2)} s, down ${(down / 1000).toFixed(2)} s`,
  );
  for (const x of tl.spans.filter((x) => x.kind === "phase"))
    console.log(`    ${((x.endMs - x.startMs) / 1000).toFixed(2).padStart(6)} s  ${x.name}`);
  console.log("  floor to beat: 1000 plain nodes up ≤ 10 s");
}

// ---------------------------------------------------------------- the OVN lab against the bash prototype

const PROTOTYPE = fileURLToPath(new URL("../../shared/reference/ovn-lab-prototype.sh", import.meta.url));
const PROTOTYPE_DOWN = fileURLToPath(new URL("../../shared/reference/ovn-lab-prototype-down.sh", import.meta.url));

/** Proportional set size of processes, in MiB (shared pages split between their users). */
export function pssMiB(pids: number[]): number {
  let kb = 0;
  for (const pid of pids) {
    try {
      const m = /^Pss:\s+(\d+) kB/m.exec(readFileSync(`/proc/${pid}/smaps_rollup`, "utf8"));
      kb += Number(m?.[1] ?? 0);
    } catch {
      /* gone */
    }
  }
  return kb / 1024;
}

/** Where a run's time went (the same spans as `run --timings`), kept per run for the breakdown. */
const timelines = new Map<string, Span[][]>();

/** Runs `fn` on a timeline of its own, filed under `what`. */
async function timed<T>(what: string, fn: () => Promise<T>): Promise<T> {
  const tl = new Timeline();
  try {
    return await tl.run(fn);
  } finally {
    timelines.set(what, [...(timelines.get(what) ?? []), tl.spans]);
  }
}

/** A step as the bench runs it: on the timeline, failing the bench when it does not do what the lab says. */
async function benchStep(s: StartedLab, step: Exclude<Step, { kind: "check" }>): Promise<void> {
  const r = await span(`${step.on}$ ${stepCommand(step)}`, "step", () => s.runStep(step), step.on);
  if (!r.asExpected) throw new Error(`bench: ${step.on}: ${r.reason}`);
}

/** The breakdown of the median run of `what` (by its total): wall time by kind, then the longest phases, daemons, plays and steps. */
function breakdown(what: string): void {
  const runs = timelines.get(what) ?? [];
  if (!runs.length) return;
  const total = (ss: Span[]) => Math.max(0, ...ss.map((x) => x.endMs));
  const sorted = [...runs].sort((a, b) => total(a) - total(b));
  const med = sorted[Math.floor((sorted.length - 1) / 2)]!;
  const kinds = ["phase", "daemon", "play", "step", "command", "converge"] as const;
  console.log(`  where the time went (median run, ${(total(med) / 1000).toFixed(1)} s; wall time covered by kind, overlaps once):`);
  console.log("    " + kinds.map((k) => `${k} ${(covered(med.filter((x) => x.kind === k)) / 1000).toFixed(2)} s`).join(" · "));
  const top = med.filter((x) => x.kind !== "command" && x.kind !== "converge").sort((a, b) => b.endMs - b.startMs - (a.endMs - a.startMs));
  for (const x of top.slice(0, 10))
    console.log(
      `    ${((x.endMs - x.startMs) / 1000).toFixed(2).padStart(6)} s  ${x.kind.padEnd(6)} ${x.name}${x.node ? ` [${x.node}]` : ""}`,
    );
}

/** Start (namespaces → the seed's fix applied → first instance→internet ping), memory, teardown. */
async function ovnLibrary(lab: Lab, backend = "netns"): Promise<[number, number, number]> {
  const fix = lab.scenarios.find((s) => s.name === "ovn-fix")!;
  const upto = fix.steps.findIndex((s) => s.kind === "incus" && s.line.startsWith("network create web"));
  const t0 = performance.now();
  const s = await timed(`ovn-${backend}`, async () => {
    const s = await span("start", "phase", () => start(lab, { backend }));
    for (const step of fix.steps.slice(0, upto)) if (step.kind !== "check") await benchStep(s, step);
    await span("first ping", "probe", () => firstPing((argv) => s.exec("c1", argv, { timeoutS: 5 })));
    return s;
  });
  const t1 = performance.now();
  // Every process in the run's namespaces: incusd and what it started (LXC monitors, forkdns, the
  // instances in their own namespaces) as well as the OVS/OVN daemons.
  const mem = pssMiB(runPids(s.record.snapshot));
  const t2 = performance.now();
  await s.stop();
  return [t1 - t0, performance.now() - t2, mem];
}

/** The capacity run of the suites, timed: 200 OVN networks on the seed's 200-address range. */
async function capacity(lab: Lab): Promise<number> {
  const fix = lab.scenarios.find((s) => s.name === "ovn-fix")!;
  const upto = fix.steps.findIndex((s) => s.kind === "incus" && s.line.startsWith("network create test-ovn"));
  const s = await start(lab);
  try {
    for (const step of fix.steps.slice(0, upto))
      if (step.kind !== "check" && !(await s.runStep(step)).asExpected) throw new Error(`bench: ${step.on} failed`);
    const t0 = performance.now();
    for (let k = 1; k <= 200; k++) {
      const r = await s.exec("pamonha1", ["incus", "network", "create", `n${k}`, "--type=ovn", "network=UPLINK"], { timeoutS: 120 });
      if (r.exitCode !== 0) throw new Error(`bench: network n${k}: ${r.stderr.trim()}`);
    }
    return performance.now() - t0;
  } finally {
    await s.stop();
  }
}

async function ovnPrototype(): Promise<[number, number, number]> {
  const dir = mkdtempSync(join(tmpdir(), "lw-bench-proto-"));
  const env = { RUN_DIR: join(dir, "b"), CHECK: "0" };
  const t0 = performance.now();
  const up = await run(["bash", PROTOTYPE], { env, timeoutS: 120 });
  const t1 = performance.now();
  try {
    if (up.exitCode !== 0) throw new Error(`prototype failed: ${up.stderr.trim().split("\n").pop()}`);
    const pids = readdirSync(env.RUN_DIR, { recursive: true })
      .map(String)
      .filter((f) => f.endsWith(".pid"))
      .map((f) => Number(readFileSync(join(env.RUN_DIR, f), "utf8").trim()));
    const mem = pssMiB(pids);
    const t2 = performance.now();
    await must(["bash", PROTOTYPE_DOWN], { env, timeoutS: 60 });
    return [t1 - t0, performance.now() - t2, mem];
  } finally {
    if (existsSync(join(env.RUN_DIR))) await run(["bash", PROTOTYPE_DOWN], { env, timeoutS: 60 });
    rmSync(dir, { recursive: true, force: true });
  }
}

/**
 * The bash prototype runs this machine's own tools (OVS, OVN, ethtool, bc...), which labwright's
 * setup does not install (the labs run the toolchain's): the ones it lacks, by the prototype's own list.
 */
async function prototypeMissing(): Promise<string[]> {
  const need = ["ip", "ethtool", "nft", "bc", "ovsdb-server", "ovs-vswitchd", "ovn-northd", "ovn-controller", "ping", "traceroute"];
  const have = await Promise.all(need.map(async (c) => (await run(["sh", "-c", 'command -v "$0"', c], { timeoutS: 5 })).exitCode === 0));
  return need.filter((_, k) => !have[k]);
}

if (existsSync(PROTOTYPE) && !process.argv.includes("--no-ovn")) {
  const OVN_RUNS = Math.max(3, Math.ceil(RUNS / 2));
  const missing = await prototypeMissing();
  const a: [number, number, number][] = [];
  const b: [number, number, number][] = [];
  for (let k = 0; k < OVN_RUNS; k++) {
    a.push(await ovnLibrary(lab));
    if (!missing.length) b.push(await ovnPrototype());
  }
  console.log("");
  console.log(`OVN lab (${OVN_RUNS} runs each, medians): the seed's fix through two instances, first instance → ${TO} ping`);
  console.log(
    missing.length
      ? `${"".padEnd(34)} ${"library".padStart(12)}   (the bash prototype not run: this machine lacks ${missing.join(", ")}, which it runs from the host)`
      : `${"".padEnd(34)} ${"library".padStart(12)} ${"prototype".padStart(12)} ${"ratio".padStart(7)}`,
  );
  const cell = (x: number[], unit: string) => `${median(x).toFixed(1).padStart(8)} ${unit.padEnd(3)}`;
  for (const [name, k, unit] of [
    ["start → first instance→internet ping", 0, "ms"],
    ["teardown", 1, "ms"],
    ["memory of the lab's daemons (PSS)", 2, "MiB"],
  ] as const) {
    const x = a.map((r) => r[k]);
    const y = b.map((r) => r[k]);
    console.log(
      missing.length
        ? `${name.padEnd(34)} ${cell(x, unit)}`
        : `${name.padEnd(34)} ${cell(x, unit)} ${cell(y, unit)} ${(median(x) / median(y)).toFixed(2).padStart(6)}×`,
    );
  }
  breakdown("ovn-netns");
  if (!missing.length) {
    console.log("floor to beat: start ≤ 1.2× the prototype (../shared/reference/ovn-lab-prototype.sh)");
    console.log("(the emulated Incus this replaced: 2.46 s start, 0.84× the prototype, 80 MiB)");
  }
  if (process.argv.includes("--capacity"))
    console.log(`capacity: 200 OVN networks created in ${((await capacity(lab)) / 1000).toFixed(1)} s (the emulated Incus: about 150 s)`);
}

// ---------------------------------------------------------------- the kolla lab: start to the first floating-IP ping

const KOLLA = fileURLToPath(new URL("../topology/labs/kolla-openstack.yaml", import.meta.url));

/** Start → the floating-ips scenario's steps, one at a time, until the client's first ping to vm1's floating IP passes. */
async function kollaFirstFip(backend = "netns"): Promise<[number, number, number, number]> {
  const klab = loadLab(KOLLA);
  const sc = klab.scenarios.find((x) => x.name === "floating-ips")!;
  const t0 = performance.now();
  let s: StartedLab | undefined;
  try {
    return await timed(`kolla-${backend}`, async () => {
      s = await span("start", "phase", () => start(klab, { backend }));
      const tUp = performance.now() - t0;
      for (const step of sc.steps) {
        if (step.kind === "check") continue;
        await benchStep(s, step);
        let fip: string | undefined;
        try {
          fip = s.addressOf("client", "vm1:floating");
        } catch {
          continue; // no floating IP yet
        }
        const p = await span("ping the floating IP", "probe", () =>
          s!.exec("client", ["ping", "-n", "-c", "1", "-W", "1", fip], { timeoutS: 5 }),
        );
        if (p.exitCode === 0) {
          const t1 = performance.now();
          const mem = pssMiB(runPids(s.record.snapshot));
          return [t1 - t0, tUp, mem, 0] as [number, number, number, number];
        }
      }
      throw new Error("bench: the floating-ips scenario never made vm1's floating IP answer a ping");
    });
  } finally {
    await s?.stop();
  }
}

if (!process.argv.includes("--no-kolla")) {
  const KRUNS = Math.max(1, Math.ceil(RUNS / 3));
  const k: [number, number, number, number][] = [];
  for (let i = 0; i < KRUNS; i++) k.push(await kollaFirstFip());
  console.log("");
  console.log(`kolla lab (${KRUNS} runs, medians): start → the floating-ips scenario's steps → first client → vm1 floating-IP ping`);
  console.log(
    `  start → first floating-IP ping   ${(median(k.map((x) => x[0])) / 1000).toFixed(1).padStart(7)} s   (lab up ${(median(k.map((x) => x[1])) / 1000).toFixed(2)} s)`,
  );
  console.log(
    `  memory of the lab's processes    ${median(k.map((x) => x[2]))
      .toFixed(1)
      .padStart(7)} MiB (PSS, at the first ping)`,
  );
  breakdown("kolla-netns");
}

// ---------------------------------------------------------------- containers against namespaces

const docker = await run(["docker", "info", "--format", "{{.ServerVersion}}"], { timeoutS: 15 }).catch(() => null);
if (docker?.exitCode === 0 && !process.argv.includes("--no-containers")) {
  const CRUNS = Math.max(3, Math.ceil(RUNS / 2));
  await library(physical, "containers"); // warm-up: builds the node images once per machine
  const phys = { netns: [] as [number, number, number][], containers: [] as [number, number, number][] };
  const ovn = { netns: [] as [number, number, number][], containers: [] as [number, number, number][] };
  for (let k = 0; k < CRUNS; k++) {
    for (const b of ["netns", "containers"] as const) phys[b].push(await library(physical, b));
    for (const b of ["netns", "containers"] as const) ovn[b].push(await ovnLibrary(lab, b));
  }
  const crow = (name: string, unit: string, x: number[], y: number[]) =>
    `${name.padEnd(40)} ${median(x).toFixed(1).padStart(8)} ${unit.padEnd(3)} ${median(y).toFixed(1).padStart(8)} ${unit.padEnd(3)} ${(median(x) / median(y)).toFixed(2).padStart(6)}×`;
  console.log("");
  console.log(`Containers against namespaces (${CRUNS} runs each, medians), Docker ${docker.stdout.trim()}`);
  console.log(`${"".padEnd(40)} ${"containers".padStart(12)} ${"namespaces".padStart(12)} ${"ratio".padStart(7)}`);
  for (const [what, m] of [
    ["physical lab", phys],
    ["OVN lab (seed fix, first instance ping)", ovn],
  ] as const) {
    console.log(
      crow(
        `${what}: start`,
        "ms",
        m.containers.map((x) => x[0]),
        m.netns.map((x) => x[0]),
      ),
    );
    console.log(
      crow(
        `${what}: teardown`,
        "ms",
        m.containers.map((x) => x[1]),
        m.netns.map((x) => x[1]),
      ),
    );
    console.log(
      crow(
        `${what}: memory (PSS)`,
        "MiB",
        m.containers.map((x) => x[2]),
        m.netns.map((x) => x[2]),
      ),
    );
  }
  console.log("floor to beat: containers start ≤ 3× namespaces for the physical lab");
}
