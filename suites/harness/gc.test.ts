import { cpSync, existsSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { start, type StartedLab } from "../../topology/lab.ts";
import { loadLab } from "../../topology/model/load.ts";
import { gc } from "../../topology/run/gc.ts";
import { isAlive } from "../../topology/run/process.ts";
import { newRunId, runDir } from "../../topology/run/state.ts";
import { namespacesOf } from "../../topology/run/teardown.ts";
import { labwright } from "../support/cli.ts";
import { writeLab } from "../support/labs.ts";

/** A small lab with a daemon (dnsmasq) in one node, so a run has processes as well as namespaces. */
const LAB = writeLab(
  "gc.yaml",
  "name: gclab\nlans: { m: { cidr: 10.78.0.0/24 } }\nnodes:\n  a:\n    interfaces: { eth0: { lan: m, address: 10.78.0.1 } }\n    dns: { records: { x.example: 10.78.0.1 } }\n  b:\n    interfaces: { eth0: { lan: m, address: 10.78.0.2 } }\n    resolver: 10.78.0.1\n",
);

/** A run whose owner is gone: owner.json and state.json point at a process that no longer exists. */
async function deadRun(): Promise<{ id: string; pids: { pid: number; start: number }[] }> {
  const lab = await start(loadLab(LAB));
  const id = lab.runId;
  const pids = lab.record.snapshot.processes.map((p) => ({ pid: p.pid, start: p.start }));
  const dead = { pid: process.pid, start: 1 }; // this pid, another start time: not a live process
  writeFileSync(join(runDir(id), "owner.json"), JSON.stringify(dead));
  const state = JSON.parse(readFileSync(join(runDir(id), "state.json"), "utf8"));
  writeFileSync(join(runDir(id), "state.json"), JSON.stringify({ ...state, owner: dead }));
  return { id, pids };
}

function leftovers(id: string): string[] {
  return [
    ...namespacesOf(id),
    ...(existsSync(runDir(id)) ? [runDir(id)] : []),
    ...(existsSync(`/etc/netns/lw-${id}-a`) ? [`/etc/netns/lw-${id}-a`] : []),
  ];
}

let live: StartedLab | undefined;
const extraDirs: string[] = [];
afterAll(async () => {
  await live?.stop();
  for (const d of extraDirs) if (existsSync(runDir(d))) await labwright(["down", d]);
});

describe("gc with damaged run state beside a live run", () => {
  it("removes dead runs whose state.json is a stale copy, {}, truncated or garbage, and leaves the live run intact", async () => {
    live = await start(loadLab(LAB));
    const liveState = readFileSync(join(live.record.dir, "state.json"), "utf8");
    const liveNs = namespacesOf(live.runId);
    const livePids = live.record.snapshot.processes;

    const stale = await deadRun();
    writeFileSync(join(runDir(stale.id), "state.json"), liveState); // another run's state: gc must not follow its id
    const empty = await deadRun();
    writeFileSync(join(runDir(empty.id), "state.json"), "{}");
    const truncated = await deadRun();
    const t = readFileSync(join(runDir(truncated.id), "state.json"), "utf8");
    writeFileSync(join(runDir(truncated.id), "state.json"), t.slice(0, t.length / 3));
    const garbage = await deadRun();
    writeFileSync(join(runDir(garbage.id), "state.json"), Buffer.from([0xff, 0x00, 0x1b, 0x5b, 0x32, 0x4a, 0x7b]));

    // A whole copy of the live run's directory under another id: its owner is alive, so it is kept.
    const copy = newRunId();
    cpSync(live.record.dir, runDir(copy), { recursive: true });
    extraDirs.push(copy);

    const r = await gc();
    const removed = r.removed.map((x) => x.runId);
    for (const d of [stale, empty, truncated, garbage]) {
      expect(removed, d.id).toContain(d.id);
      expect(leftovers(d.id)).toEqual([]);
      for (const p of d.pids) expect(isAlive(p), `pid ${p.pid} of run ${d.id}`).toBe(false);
    }
    expect(r.damaged.map((d) => d.id).sort()).toEqual([stale.id, empty.id, truncated.id, garbage.id, copy].sort());
    expect(r.kept).toContain(live.runId);
    expect(r.kept).toContain(copy);

    // The live run is untouched: its namespaces, its daemon, its network.
    expect(namespacesOf(live.runId)).toEqual(liveNs);
    for (const p of livePids) expect(isAlive(p)).toBe(true);
    expect((await live.ping("b", "10.78.0.1", { count: 1 })).received).toBe(1);
    expect((await live.resolve("b", "x.example")).addresses).toEqual(["10.78.0.1"]);
  });

  it("`labwright status` and `gc` do not crash on a damaged run; `down` removes it by its id", async () => {
    const d = await deadRun();
    writeFileSync(join(runDir(d.id), "state.json"), "{}");
    writeFileSync(join(runDir(d.id), "owner.json"), "garbage"); // and no usable owner: too young for gc
    const status = await labwright(["status"]);
    expect(status.exitCode, status.stderr).toBe(0);
    expect(status.stdout).toContain(`${d.id}  (damaged: state.json is not a run state`);
    const g = await labwright(["gc"]);
    expect(g.exitCode, g.stderr).toBe(0);
    expect(leftovers(d.id).length).toBeGreaterThan(0); // unknown owner, dir under a minute old: kept
    const down = await labwright(["down", d.id]);
    expect(down.exitCode, down.stderr).toBe(0);
    expect(leftovers(d.id)).toEqual([]);
    for (const p of d.pids) expect(isAlive(p)).toBe(false);
  });
});
