import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { execa } from "execa";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { start } from "../../topology/lab.ts";
import { loadLab } from "../../topology/model/load.ts";
import { isAlive } from "../../topology/run/process.ts";
import { readState, runDir } from "../../topology/run/state.ts";
import { CLI, INCUS_LAB, labwright } from "../support/cli.ts";
import { bigLab, writeLab } from "../support/labs.ts";
import { scratchDir } from "../support/scratch.ts";
import { listLabNamespaces, rootSnapshot, runIds } from "../support/machine.ts";

let rootBefore: Record<string, unknown>;
beforeAll(async () => {
  rootBefore = await rootSnapshot();
});

/** Starts `labwright up <file>` and waits until its run has created some namespaces (mid-start). */
async function upUntilNamespaces(file: string, atLeast: number) {
  const before = new Set(runIds());
  const child = execa(process.execPath, [CLI, "up", file], { reject: false });
  const deadline = Date.now() + 30_000;
  for (;;) {
    const id = runIds().find((r) => !before.has(r));
    const made = id ? listLabNamespaces().filter((n) => n.startsWith(`lw-${id}`)) : [];
    if (id && made.length >= atLeast) return { child, id, made };
    if (Date.now() > deadline) throw new Error("the run never created its namespaces");
    await new Promise((r) => setTimeout(r, 2));
  }
}

describe("a start that is killed, interrupted or fails leaves nothing behind", () => {
  it("SIGKILL mid-start leaves a dead run that `labwright gc` removes entirely", async () => {
    const { child, id } = await upUntilNamespaces(bigLab(), 3);
    child.kill("SIGKILL");
    await child;
    const state = readState(id)!;
    expect(state.phase).toBe("starting"); // really killed mid-start
    expect(listLabNamespaces().some((n) => n.startsWith(`lw-${id}`))).toBe(true); // it did leave things

    const gc = await labwright(["gc"]);
    expect(gc.exitCode, gc.stderr).toBe(0);
    expect(gc.stdout).toContain(`removed run ${id}`);
    expect(listLabNamespaces().filter((n) => n.startsWith(`lw-${id}`))).toEqual([]);
    expect(existsSync(runDir(id))).toBe(false);
    expect(existsSync(`/etc/netns/lw-${id}-n1`)).toBe(false);
    for (const p of state.processes) expect(isAlive(p)).toBe(false);
  });

  it("Ctrl-C (SIGINT) mid-start unwinds by itself, without gc", async () => {
    const { child, id } = await upUntilNamespaces(bigLab(), 3);
    child.kill("SIGINT");
    const r = await child;
    expect(r.exitCode).toBe(130); // like `run`, and without a stack trace
    expect(String(r.stderr)).toContain("stopping and removing what was built");
    expect(String(r.stderr)).not.toMatch(/\n\s+at /);
    expect(listLabNamespaces().filter((n) => n.startsWith(`lw-${id}`))).toEqual([]);
    expect(existsSync(runDir(id))).toBe(false);
  });

  it("a start that fails part-way (a sysctl the kernel does not know) unwinds what it built and says why", async () => {
    const file = writeLab(
      "bad-sysctl.yaml",
      "name: bad\nlans: { a: { cidr: 10.30.0.0/24 } }\nnodes:\n  x: { interfaces: { eth0: { lan: a, address: 10.30.0.1 } } }\n  y:\n    interfaces: { eth0: { lan: a, address: 10.30.0.2 } }\n    sysctls: { net.ipv4.no_such_knob: 1 }\n",
    );
    const runsBefore = runIds();
    const nsBefore = listLabNamespaces();
    await expect(start(loadLab(file))).rejects.toThrow(/sysctls of node y.*no_such_knob/s);
    expect(runIds()).toEqual(runsBefore);
    expect(listLabNamespaces()).toEqual(nsBefore);
  });
});

describe("runs own what they create and nothing else", () => {
  // Both runs build the whole lab (three incusd each, a cluster, OVS/OVN on every member) and run
  // the scenarios without OVN traffic. The OVN scenarios are not run twice at once: six userspace
  // datapaths on 2 cores starve each other (measured: an instance's image download failed with
  // "no route to host" through a starved ovs-vswitchd), which says nothing about run isolation.
  it("two runs of the same lab at the same time both pass", { timeout: 300_000 }, async () => {
    const only = ["--scenario", "nat-and-dns", "--scenario", "nic-into-bridge"];
    const runs = scratchDir("lw-two-runs-");
    const [a, b] = await Promise.all([
      labwright(["run", INCUS_LAB, ...only, "--quiet", "--json", join(runs, "a.json")]),
      labwright(["run", INCUS_LAB, ...only, "--quiet", "--json", join(runs, "b.json")]),
    ]);
    expect(a.exitCode, a.stdout).toBe(0);
    expect(b.exitCode, b.stdout).toBe(0);
    const ids = (s: string) => [...s.matchAll(/\(run ([0-9a-f]{6})/g)].map((m) => m[1]);
    expect(new Set([...ids(a.stdout), ...ids(b.stdout)]).size).toBe(4); // every scenario of both runs: a run of its own
  });

  it("gc keeps a lab left up on purpose and never touches a namespace no run claims", async () => {
    await execa("ip", ["netns", "add", "lw-abcdef-foreign"]);
    let id: string | undefined;
    try {
      const up = await labwright(["up", INCUS_LAB]);
      expect(up.exitCode, up.stderr).toBe(0);
      id = /run ([0-9a-f]{6}) is up/.exec(up.stdout)![1]!;
      const gc = await labwright(["gc"]);
      expect(gc.stdout).toContain(`kept live runs: ${id}`);
      expect(gc.stdout).toContain("lw-abcdef-foreign");
      expect(existsSync("/run/netns/lw-abcdef-foreign")).toBe(true);
      expect(listLabNamespaces().filter((n) => n.startsWith(`lw-${id}`))).toHaveLength(6);

      const status = await labwright(["status", "--json"]);
      const runs = JSON.parse(status.stdout) as { id: string; phase: string; persistent: boolean }[];
      expect(runs.find((r) => r.id === id)).toMatchObject({ phase: "up", persistent: true });

      const exec = await labwright(["exec", id, "curau", "--", "ip", "-br", "addr", "show", "eth0"]);
      expect(exec.stdout).toContain("203.0.113.2/24");
      const shell = await labwright(["exec", id, "pamonha1"], { input: "ip -br addr show enp3s0\nexit\n" });
      expect(shell.stdout + shell.stderr).toContain("10.10.35.1/24");

      const down = await labwright(["down", id]);
      expect(down.exitCode).toBe(0);
      expect(down.stdout).toMatch(new RegExp(`run ${id} removed: \\d+ processes, 6 namespaces`));
      expect(listLabNamespaces().filter((n) => n.startsWith(`lw-${id}`))).toEqual([]);
    } finally {
      await execa("ip", ["netns", "del", "lw-abcdef-foreign"]);
      // A failed assertion above must not leave the lab up (`down` of a removed run says so and changes nothing).
      if (id) await labwright(["down", id]);
    }
  });
});

describe("the command line", () => {
  it("refuses to run without root, before touching anything, and says so", async () => {
    const r = await execa("setpriv", ["--reuid=65534", "--regid=65534", "--clear-groups", process.execPath, CLI, "run", INCUS_LAB], {
      reject: false,
      env: { HOME: "/tmp" },
    });
    expect(r.exitCode).toBe(3);
    expect(r.stderr).toContain("labwright must run as root");
  });

  it("graph prints the topology as Mermaid", async () => {
    const r = await labwright(["graph", INCUS_LAB]);
    expect(r.exitCode).toBe(0);
    expect(r.stdout).toMatch(/^flowchart LR/);
    expect(r.stdout).toContain('node_pamonha1 ---|"enp3s0 10.10.35.1"| lan_uplink');
  });

  it("a missing tool is named with the Debian package that provides it", async () => {
    const { preflight } = await import("../../topology/run/preflight.ts");
    expect(() => preflight(["no-such-tool-here"])).toThrow(/missing tool: no-such-tool-here\. Install with: apt-get install -y/);
  });

  it("unknown commands and missing arguments exit 2 with the usage", async () => {
    const r = await labwright(["frobnicate"]);
    expect(r.exitCode).toBe(2);
    expect(r.stderr).toContain("Usage:");
    const d = await labwright(["down", "ffffff"]);
    expect(d.exitCode).toBe(2);
    expect(d.stderr).toContain('no run "ffffff"');
  });
});

afterAll(async () => {
  // The root namespace is never configured: links, addresses, routes, rules, nftables, forwarding.
  expect(await rootSnapshot()).toEqual(rootBefore);
});

describe("commands in nodes", () => {
  it("a timeout kills the step's whole process group, not just bash", async () => {
    await using s = await start(loadLab(INCUS_LAB));
    const r = await s.sh("curau", "sleep 300 & sleep 300; wait", { timeoutS: 0.5 });
    expect(r.timedOut).toBe(true);
    expect(r.durationMs).toBeLessThan(5000);
    // Nothing of it is left running inside the node.
    const ps = await execa("ip", ["netns", "pids", s.host("curau").netns!]);
    const comms = ps.stdout
      .split("\n")
      .filter(Boolean)
      .map((pid) => readFileSync(`/proc/${pid}/comm`, "utf8").trim());
    expect(comms.filter((c) => c === "sleep")).toEqual([]);
    expect(comms).toContain("dnsmasq"); // the lab's own daemon is untouched
  });
});
