import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { runCheck } from "../../topology/expect/check.ts";
import { start, type StartedLab } from "../../topology/lab.ts";
import { loadLab } from "../../topology/model/load.ts";
import { labwright } from "../support/cli.ts";
import { scenario } from "../support/steps.ts";

const FIXES = fileURLToPath(new URL("../../topology/labs/kolla-host-fixes.yaml", import.meta.url));
const B = "containers";

describe(`[${B}] host checks: seed 003's docker.service drop-in`, () => {
  const lab = loadLab(FIXES);
  const sc = scenario(lab, "docker-dropin");
  const [unitAsInstalled, fix] = sc.steps.filter((s) => s.kind === "run");
  const fixed = sc.expect.find((e) => e.kind === "unit")!;
  let s: StartedLab;
  beforeAll(async () => {
    s = await start(lab, { backend: B });
  });
  afterAll(async () => {
    await s?.stop();
  });

  it(`[${B}] the fixed ExecStart check fails on the node as the docker package leaves it, and says what it measured`, async () => {
    expect((await s.runStep(unitAsInstalled!)).asExpected).toBe(true);
    const c = await runCheck(s, fixed);
    expect(c.ok).toBe(false);
    expect(c.reasons.join()).toContain(
      'effective ExecStart is "/usr/bin/dockerd -H fd:// --containerd=/run/containerd/containerd.sock", expected "/usr/bin/dockerd"',
    );
  });

  it(`[${B}] after the seed's drop-in the same check passes: ExecStart= resets, then /usr/bin/dockerd`, async () => {
    expect((await s.runStep(fix!)).asExpected).toBe(true);
    const c = await runCheck(s, fixed);
    expect(c.ok, c.reasons.join()).toBe(true);
    expect(c.measured).toContain("/etc/systemd/system/docker.service.d/docker.conf");
  });

  it(`[${B}] package, sysctl and apparmor checks read the node itself`, async () => {
    expect((await runCheck(s, { kind: "package", on: "openstack", name: "iproute2", installed: true })).ok).toBe(true);
    const missing = await runCheck(s, { kind: "package", on: "openstack", name: "docker-ce", installed: true });
    expect(missing.ok).toBe(false);
    expect(missing.reasons.join()).toContain("docker-ce is not installed");
    expect((await runCheck(s, { kind: "sysctl", on: "openstack", key: "net.ipv6.conf.all.disable_ipv6", value: "1" })).ok).toBe(true);
    const aa = await runCheck(s, { kind: "apparmor", on: "openstack", profile: "libvirtd", loaded: true });
    expect(aa.ok).toBe(false); // this machine's kernel has no AppArmor (where it has one, the profile is not loaded in a fresh node)
  });

  it(`[${B}] the whole lab passes on containers; the namespace backend refuses it, saying why (exit 2, nothing created)`, async () => {
    const ok = await labwright(["run", FIXES, "--backend", B, "--quiet"]);
    expect(ok.exitCode, ok.stdout).toBe(0);
    const ns = await labwright(["run", FIXES]);
    expect(ns.exitCode).toBe(2);
    expect(ns.stderr).toContain("the netns backend cannot judge file, unit expectations: namespace nodes share their files and packages");
  });
});
