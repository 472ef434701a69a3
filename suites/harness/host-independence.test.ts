import { readFileSync } from "node:fs";
import { execa } from "execa";
import { describe, expect, it } from "vitest";
import { loadToolchain } from "../../topology/toolchain/index.ts";
import type { LabResult } from "../../topology/results.ts";
import { CLI, INCUS_LAB, KOLLA_LAB, ROOT } from "../support/cli.ts";
import { withHostSoftwareHidden } from "../support/hidden-host.ts";

/**
 * The verdict does not depend on this machine's own software: the seed scenarios run with every
 * copy of Incus, LXC, OVS, OVN, neutron, nova, MariaDB, RabbitMQ, dnsmasq and busybox on this
 * machine made unreachable (support/hidden-host.ts), and give the verdict they give in their own
 * suites, in the toolchain the report names.
 */
async function hiddenRun(
  lab: string,
  scenarios: string[],
): Promise<{ exitCode?: number; stdout: string; stderr: string; result: LabResult }> {
  const { argv } = withHostSoftwareHidden([process.execPath, CLI, "run", lab, "--scenario", ...scenarios]);
  // A bound on a hung run, not a wait: measured 32 s (the two Incus scenarios) and 74 s (kolla's floating-ips).
  const r = await execa(argv[0]!, argv.slice(1), { reject: false, cwd: ROOT, env: { NO_COLOR: "1" }, timeout: 400_000 });
  const json = /Details: (\S+\.json)/.exec(r.stdout)?.[1];
  expect(json, `${r.stdout}\n${r.stderr}`).toBeDefined();
  return { exitCode: r.exitCode, stdout: r.stdout, stderr: r.stderr, result: JSON.parse(readFileSync(json!, "utf8")) as LabResult };
}

function expectAllHold(result: LabResult): void {
  for (const s of result.scenarios) {
    expect(s.error, s.name).toBeUndefined();
    expect(
      s.checks.filter((c) => !c.ok).map((c) => c.description),
      s.name,
    ).toEqual([]);
    expect(
      s.steps.flatMap((st) => (st.kind === "run" && !st.ok ? [st.run] : st.kind === "check" && !st.ok ? ["a check step"] : [])),
      s.name,
    ).toEqual([]);
    expect(s.checks.length, s.name).toBeGreaterThan(0);
    expect(s.ok, s.name).toBe(true);
  }
}

describe("the same verdict with this machine's own copies of the lab software unreachable", () => {
  const hash = loadToolchain("debian-12").hash;

  it("the Incus seed: NAT and DNS, and the fix (UPLINK on the bare NIC, instances across members, SNAT, a forward)", async () => {
    const r = await hiddenRun(INCUS_LAB, ["nat-and-dns", "ovn-fix"]);
    expect(r.exitCode, `${r.stdout}\n${r.stderr}`).toBe(0);
    expect(r.stdout).toMatch(new RegExp(`^toolchain debian-12 \\(lock ${hash}\\): incus-base 6\\.0\\.4`, "m"));
    expect(r.result.toolchain?.hash).toBe(hash);
    expect(r.result.software).toEqual({ incus: "6.0.4" });
    expect(r.result.scenarios.map((s) => s.name)).toEqual(["nat-and-dns", "ovn-fix"]);
    expectAllHold(r.result);
  });

  it("the kolla seed: the floating IPs on the real neutron", async () => {
    const r = await hiddenRun(KOLLA_LAB, ["floating-ips"]);
    expect(r.exitCode, `${r.stdout}\n${r.stderr}`).toBe(0);
    expect(r.result.software).toEqual({ neutron: "21.0.0" });
    const deploy = r.result.scenarios[0]!.steps.find(
      (st) => st.kind === "run" && st.run.startsWith("kolla-ansible") && st.run.includes("deploy"),
    );
    expect(deploy?.kind === "run" ? deploy.output : "").toContain("neutron is the toolchain's 21.0.0");
    expectAllHold(r.result);
  });
});
