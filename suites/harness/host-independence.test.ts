import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import type { LabResult } from "../../topology/results.ts";
import { loadToolchain } from "../../topology/toolchain/index.ts";
import { KOLLA_LAB } from "../support/cli.ts";
import { hiddenLabwright } from "../support/hidden-host.ts";

/**
 * The verdict does not depend on this machine's own software: the kolla seed's floating IPs run with
 * every copy of Incus, LXC, OVS, OVN, neutron, nova, MariaDB, RabbitMQ, dnsmasq and busybox on this
 * machine made unreachable (support/hidden-host.ts), and give the verdict they give in their own
 * suite, in the toolchain the report names. The Incus seed's run like this is the whole Incus lab in
 * suites/incus-ovn/physical.test.ts (every scenario, hidden).
 */
async function hiddenRun(
  lab: string,
  scenarios: string[],
): Promise<{ exitCode?: number; stdout: string; stderr: string; result: LabResult }> {
  // A bound on a hung run, not a wait: measured 74 s (kolla's floating-ips).
  const r = await hiddenLabwright(["run", lab, "--scenario", ...scenarios], 400_000);
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
  it("the kolla seed: the floating IPs on the real neutron", async () => {
    const r = await hiddenRun(KOLLA_LAB, ["floating-ips"]);
    expect(r.exitCode, `${r.stdout}\n${r.stderr}`).toBe(0);
    expect(r.result.toolchain?.hash).toBe(loadToolchain("debian-12").hash);
    expect(r.result.software).toEqual({ neutron: "21.0.0" });
    const deploy = r.result.scenarios[0]!.steps.find(
      (st) => st.kind === "run" && st.run.startsWith("kolla-ansible") && st.run.includes("deploy"),
    );
    expect(deploy?.kind === "run" ? deploy.output : "").toContain("neutron is the toolchain's 21.0.0");
    expectAllHold(r.result);
  });
});
