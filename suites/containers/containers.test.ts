import { existsSync } from "node:fs";
import { basename } from "node:path";
import { execa } from "execa";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { start, type StartedLab } from "../../topology/lab.ts";
import { loadLab } from "../../topology/model/load.ts";
import { readState, runDir } from "../../topology/run/state.ts";
import { runScenario } from "../../topology/scenario.ts";
import { CLI, INCUS_LAB, KOLLA_LAB, labwright } from "../support/cli.ts";
import { bigLab, writeLab } from "../support/labs.ts";
import { listLabNamespaces, runIds } from "../support/machine.ts";

const B = "containers";

async function containersOf(id: string): Promise<string[]> {
  const r = await execa("docker", ["ps", "-aq", "--filter", `label=labwright.run=${id}`]);
  return r.stdout.split("\n").filter(Boolean);
}

/** The seed scenarios (failure and fix of both labs), on the container backend: every expectation and step as on namespaces. */
describe(`[${B}] the seed scenarios`, () => {
  const cases = [
    [INCUS_LAB, "ovn-on-dedicated-nic"],
    [INCUS_LAB, "ovn-fix"],
    [KOLLA_LAB, "deploy-loses-internet"],
    [KOLLA_LAB, "management-route-workaround"],
  ] as const;
  it.each(cases.map(([file, name]) => [basename(file), name, file] as const))(`[${B}] %s: %s`, async (_, name, file) => {
    const lab = loadLab(file);
    const sc = lab.scenarios.find((s) => s.name === name)!;
    const r = await runScenario(lab, sc, { backend: B });
    const failing = [
      ...r.checks.filter((c) => !c.ok).map((c) => `${c.description}: ${c.measured} ${c.reasons.join("; ")}`),
      ...r.steps.filter((s) => s.kind === "skipped" || s.kind === "not-applied" || !s.ok).map((s) => JSON.stringify(s).slice(0, 400)),
    ];
    expect(r.error, r.error).toBeUndefined();
    expect(failing, failing.join("\n")).toEqual([]);
    expect(r.logs.errors).toEqual([]);
    expect(r.ok).toBe(true);
    expect(r.checks.length).toBe(
      sc.expect.length + sc.steps.filter((s) => s.kind === "check").reduce((a, s) => a + (s.kind === "check" ? s.checks.length : 0), 0),
    );
    expect(await containersOf(r.runId!)).toEqual([]); // torn down
  });
});

describe(`[${B}] each node is a container of its own`, () => {
  let lab: StartedLab;
  beforeAll(async () => {
    lab = await start(
      loadLab(
        writeLab(
          "own.yaml",
          "name: own\nlans: { m: { cidr: 10.79.0.0/24 } }\nnodes:\n  a:\n    interfaces: { eth0: { lan: m, address: 10.79.0.1 } }\n  b:\n    interfaces: { eth0: { lan: m, address: 10.79.0.2 } }\n    resolver: 10.79.0.1\n",
        ),
      ),
      { backend: B },
    );
  });
  afterAll(async () => {
    await lab?.stop();
  });

  it(`[${B}] has its own filesystem, hostname and resolv.conf; a file written in one node is not seen by another`, async () => {
    expect((await lab.sh("a", "echo only-in-a > /tmp/mark && cat /tmp/mark")).stdout.trim()).toBe("only-in-a");
    expect((await lab.sh("b", "cat /tmp/mark")).exitCode).not.toBe(0);
    expect(existsSync("/tmp/mark")).toBe(false);
    expect((await lab.sh("a", "hostname")).stdout.trim()).toBe("a");
    expect((await lab.sh("b", "cat /etc/resolv.conf")).stdout).toContain("nameserver 10.79.0.1");
    expect((await lab.ping("a", "b", { count: 2 })).received).toBe(2);
  });

  it(`[${B}] carries the run id as a label; no Docker network (only lo and the lab's own eth0)`, async () => {
    expect((await containersOf(lab.runId)).length).toBe(2);
    const links = (await lab.links("a")).map((l) => l.dev);
    expect(links).toEqual(["eth0"]);
  });
});

describe(`[${B}] crash safety`, () => {
  it(`[${B}] SIGKILL during a container start, then gc: no container, namespace or run directory of that run remains; other containers are untouched`, async () => {
    const other = await execa("docker", [
      "create",
      "--label",
      "not.labwright=1",
      "--network",
      "none",
      (await execa("docker", ["images", "-q", "labwright-toolchain"])).stdout.split("\n")[0]!,
      "true",
    ]);
    const otherId = other.stdout.trim();
    const before = new Set(runIds());
    const child = execa(process.execPath, [CLI, "up", bigLab(12), "--backend", B], { reject: false });
    let id: string | undefined;
    const deadline = Date.now() + 60_000;
    while (Date.now() < deadline) {
      id = runIds().find((r) => !before.has(r));
      if (id && (await containersOf(id)).length >= 2) break;
      await new Promise((r) => setTimeout(r, 20));
    }
    child.kill("SIGKILL");
    await child;
    expect(id).toBeDefined();
    expect(readState(id!)?.phase).toBe("starting");
    const g = await labwright(["gc"]);
    expect(g.exitCode, g.stderr).toBe(0);
    expect(g.stdout).toContain(`removed run ${id}`);
    expect(await containersOf(id!)).toEqual([]);
    expect(listLabNamespaces().filter((n) => n.startsWith(`lw-${id}`))).toEqual([]);
    expect(existsSync(runDir(id!))).toBe(false);
    expect((await execa("docker", ["inspect", "--format", "{{.Id}}", otherId])).stdout).toContain(otherId);
    await execa("docker", ["rm", "-f", otherId]);
  });

  it(`[${B}] a start that fails part-way removes its containers`, async () => {
    const file = writeLab(
      "fail.yaml",
      "name: fail\nlans: { m: { cidr: 10.79.1.0/24 } }\nnodes:\n  x: { interfaces: { eth0: { lan: m, address: 10.79.1.1 } } }\n  y:\n    interfaces: { eth0: { lan: m, address: 10.79.1.2 } }\n    sysctls: { net.ipv4.no_such_knob: 1 }\n",
    );
    const before = new Set(runIds());
    await expect(start(loadLab(file), { backend: B })).rejects.toThrow(/no_such_knob/);
    expect(runIds().filter((r) => !before.has(r))).toEqual([]);
    const r = await execa("docker", ["ps", "-aq", "--filter", "label=labwright.lab=fail"]);
    expect(r.stdout.trim()).toBe("");
  });
});
