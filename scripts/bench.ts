// Start-to-first-passing-ping and teardown of the Incus lab through the library, against the same
// topology built with bare `ip -batch` calls (the floor), in the same run. Medians and ratios.
import { fileURLToPath } from "node:url";
import { start } from "../topology/lab.ts";
import { loadLab } from "../topology/model/load.ts";
import { type Lab } from "../topology/model/types.ts";
import { fabricBatch, nodeBatch, vethBatch } from "../topology/fabric/wiring.ts";
import { natRuleset } from "../topology/fabric/nat.ts";
import { must, run } from "../topology/run/exec.ts";

const RUNS = Number(process.argv[2] ?? 7);
const LAB = fileURLToPath(new URL("../topology/labs/incus-ovn.yaml", import.meta.url));
const FROM = "pamonha1";
const TO = "203.0.113.1";

async function firstPing(prefix: string[]): Promise<void> {
  for (let k = 0; k < 200; k++) {
    const r = await run([...prefix, "ping", "-n", "-c", "1", "-W", "0.5", TO], { timeoutS: 5 });
    if (r.exitCode === 0) return;
  }
  throw new Error("no ping after 200 tries");
}

async function library(lab: Lab): Promise<[number, number]> {
  const t0 = performance.now();
  const s = await start(lab);
  await firstPing(s.prefix(FROM));
  const t1 = performance.now();
  await s.stop();
  return [t1 - t0, performance.now() - t1];
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
      ...lab.nodes.filter((n) => Object.keys(n.sysctls).length).map((n) => must(["ip", "netns", "exec", ns(n.name), "sysctl", "-q", "-w", ...Object.entries(n.sysctls).map(([a, b]) => `${a}=${b}`)])),
      ...lab.nodes.filter((n) => n.nat.length).map((n) => must(["ip", "netns", "exec", ns(n.name), "nft", "-f", "-"], { input: natRuleset(n.nat)! })),
    ]);
    await firstPing(["ip", "netns", "exec", ns(FROM)]);
  } finally {
    t1 = performance.now();
    await run(["ip", "-force", "-batch", "-"], { input: all.map((n) => `netns del ${n}\n`).join("") });
  }
  return [t1 - t0, performance.now() - t1];
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

const lab = loadLab(LAB);
const lib: [number, number][] = [];
const flo: [number, number][] = [];
await library(lab); // warm-up (page cache, module loading)
for (let k = 0; k < RUNS; k++) {
  lib.push(await library(lab));
  flo.push(await bare(lab, k));
}
const row = (name: string, a: number[], b: number[]) =>
  `${name.padEnd(34)} ${median(a).toFixed(1).padStart(8)} ms ${median(b).toFixed(1).padStart(8)} ms ${(median(a) / median(b)).toFixed(2).padStart(6)}×`;
console.log(`labwright bench: ${lab.name}, ${RUNS} runs each, medians (first ping: ${FROM} → ${TO} through curau's NAT)`);
console.log(`${"".padEnd(34)} ${"library".padStart(11)} ${"bare ip".padStart(11)} ${"ratio".padStart(7)}`);
console.log(row("start → first passing ping", lib.map((x) => x[0]), flo.map((x) => x[0])));
console.log(row("teardown", lib.map((x) => x[1]), flo.map((x) => x[1])));
console.log("floors to beat: start ≤ 3×, teardown ≤ 5×");
